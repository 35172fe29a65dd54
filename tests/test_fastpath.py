"""The compiled row builder stores exactly what the generic path (mapping, pydantic, SQLAlchemy) stores."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from hub.errors import RecordError
from hub.mapping import load_mapping
from hub.model import Invoice
from hub.store import schema
from hub.store.bulk import BulkWriter, record_hash
from hub.sync import _StreamContext
from hub.validation import RecordValidator

HEADER = [
    "invoice_number",
    "customer_id",
    "issue_date",
    "due_date",
    "currency",
    "amount",
    "open_amount",
    "po_number",
    "_row",
]
GOOD = ["INV-2026-000001", "C000001", "2026-05-01", "2026-06-01", "EUR", "1234.56", "1234.56", "", 7]

cells = st.one_of(
    st.text(max_size=10),
    st.just(""),
    st.just(" EUR"),
    st.sampled_from(["2026-02-30", "2026-1-5", " 2026-01-05", "0001-01-01", "9999-12-31"]),
    st.sampled_from(
        [
            "-0.50",
            "12.5",
            "1e3",
            "NaN",
            "0.1234567",
            "1.000001",
            " 7.25 ",
            "12,50",
            "+5",
            ".5",
            "-12",
            "999999999999.99",
            "0",
            "-0",
        ]
    ),
    st.sampled_from(["eur", "EURO", "gbp", "E1R", "INV\x1f", "\u00a0X"]),
)


def _context(dialect: Any) -> _StreamContext:
    """The invoice stream's context for ``dialect``, built once: its row builders are compiled on first
    use and then serve every row, as in a sync (compiling them anew for each example took most of the
    suite's time here)."""
    return _contexts(dialect.name, "invoices")


def _receipt_context(dialect: Any) -> _StreamContext:
    """The receipt stream's context for ``dialect``, built once (see :func:`_context`)."""
    return _contexts(dialect.name, "receipts")


@functools.cache
def _contexts(dialect_name: str, stream: str) -> _StreamContext:
    dialect = {"sqlite": sqlite.dialect(), "postgresql": postgresql.psycopg.dialect()}[dialect_name]
    return _new_context(dialect) if stream == "invoices" else _new_receipt_context(dialect)


def _new_context(dialect: Any) -> _StreamContext:
    from hub.connector import StreamSpec

    columns = [c for c in Invoice.model_fields if c in schema.invoice.c] + ["record_hash", "synced_at"]
    writer = BulkWriter(dialect, schema.invoice, columns, "merge")
    return _StreamContext(
        "erp",
        StreamSpec("invoices", "invoice", "csv-invoices"),
        load_mapping("csv-invoices"),
        RecordValidator(Invoice),
        writer,
        None,
    )


def _generic(ctx: _StreamContext, row: list[Any]) -> tuple[Any, ...] | None:
    record = dict(zip(HEADER, row, strict=True))
    mapped = ctx.mapping.apply(record)
    mapped["source"] = "erp"
    digest = record_hash(mapped.values())
    try:
        valid = ctx.validator.validate_slow(mapped)
    except RecordError:
        return None
    valid["record_hash"] = digest
    valid["synced_at"] = NOW
    return ctx.writer.params(valid)


NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()], ids=["sqlite", "postgresql"])
@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, 7), value=cells)
def test_fast_row_equals_the_generic_row(dialect: Any, position: int, value: Any) -> None:
    ctx = _context(dialect)
    fast = ctx.builder(HEADER)
    assert fast is not None
    key, build = fast.key, fast.build
    row = list(GOOD)
    row[position] = value
    ext, digest = key(row)
    generic = _generic(ctx, row)
    built = build(row, digest, ctx.writer.db_value("synced_at", NOW))
    if built is not None:  # the fast path only accepts what the generic path accepts, identically
        assert built == generic
    assert ext == ctx.mapping.apply(dict(zip(HEADER, row, strict=True))).get("external_id")


def test_fast_path_is_compiled_for_invoices_but_not_for_customers() -> None:
    ctx = _context(sqlite.dialect())
    assert ctx.builder(HEADER) is not None
    from hub.connector import StreamSpec
    from hub.model import Customer

    cols = [c for c in Customer.model_fields if c in schema.customer.c] + ["record_hash", "synced_at", "canonical_id"]
    cctx = _StreamContext(
        "erp",
        StreamSpec("customers", "customer", "csv-customers"),
        load_mapping("csv-customers"),
        RecordValidator(Customer),
        BulkWriter(sqlite.dialect(), schema.customer, cols, "merge"),
        None,
    )
    assert cctx.builder(["customer_id", "name"]) is None


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()], ids=["sqlite", "postgresql"])
def test_clean_record_takes_the_fast_path_with_the_generic_result(dialect: Any) -> None:
    ctx = _context(dialect)
    fast = ctx.builder(HEADER)
    assert fast is not None
    key, build = fast.key, fast.build
    _, digest = key(GOOD)
    built = build(GOOD, digest, ctx.writer.db_value("synced_at", NOW))
    assert built is not None
    assert built == _generic(ctx, GOOD)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()], ids=["sqlite", "postgresql"])
@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, 7), value=cells)
def test_key_and_build_in_one_pass_equal_the_two_functions(dialect: Any, position: int, value: Any) -> None:
    ctx = _context(dialect)
    fast = ctx.builder(HEADER)
    assert fast is not None
    row = list(GOOD)
    row[position] = value
    synced_at = ctx.writer.db_value("synced_at", NOW)
    ext, digest = fast.key(row)
    assert fast.key_build(row, synced_at) == (ext, digest, fast.build(row, digest, synced_at))


# -- receipts: dict records with a bool, a list of texts and a list of structured references ------

RECEIPT = {
    "external_id": "CH00:REF-1",
    "bank_ref": "REF-1",
    "statement_id": "S1",
    "statement_seq": "7",
    "message_id": "M1",
    "account": "CH9300762011623852957",
    "account_currency": "CHF",
    "booking_date": "2026-11-27",
    "value_date": "2026-11-27",
    "amount": "120.50",
    "currency": "CHF",
    "entry_amount": "120.50",
    "entry_currency": "CHF",
    "tx_amount": None,
    "tx_currency": None,
    "instructed_amount": None,
    "instructed_currency": None,
    "direction": "credit",
    "reversal": False,
    "status": "BOOK",
    "bank_tx_code": "PMNT/RCDT/ESCT",
    "payer_name": "Müller AG",
    "payer_account": None,
    "ultimate_payer_name": None,
    "payer_bic": None,
    "remittance": "INV-1",
    "end_to_end_id": None,
    "references": [{"type": "QRR", "value": "210000000003139471430009017", "issuer": None}],
    "additional_remittance": ["note"],
    "instruction_id": None,
    "tx_id": None,
    "mandate_id": None,
    "uetr": None,
    "additional_entry_info": None,
    "additional_tx_info": None,
    "return_reason": None,
    "purpose": None,
}

receipt_values = st.one_of(
    cells,
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.lists(
        st.dictionaries(
            st.sampled_from(["type", "value", "issuer", "other"]),
            st.one_of(st.none(), st.text(max_size=6), st.integers()),
            max_size=4,
        ),
        max_size=3,
    ),
)


def _new_receipt_context(dialect: Any) -> _StreamContext:
    from hub.connector import StreamSpec
    from hub.model import Receipt

    columns = [c for c in Receipt.model_fields if c in schema.receipt.c] + ["record_hash", "synced_at"]
    return _StreamContext(
        "bank",
        StreamSpec("receipts", "receipt", "bank-receipts", "append"),
        load_mapping("bank-receipts"),
        RecordValidator(Receipt),
        BulkWriter(dialect, schema.receipt, columns, "append"),
        None,
    )


def _generic_receipt(ctx: _StreamContext, record: dict[str, Any]) -> tuple[Any, ...] | None:
    mapped = ctx.mapping.apply(record)
    mapped["source"] = "bank"
    digest = record_hash(mapped.values())
    try:
        valid = ctx.validator.validate_slow(mapped)
    except RecordError:
        return None
    valid["record_hash"] = digest
    valid["synced_at"] = NOW
    return ctx.writer.params(valid)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()], ids=["sqlite", "postgresql"])
@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(sorted(RECEIPT)), value=receipt_values)
def test_fast_receipt_row_equals_the_generic_row(dialect: Any, field: str, value: Any) -> None:
    ctx = _receipt_context(dialect)
    fast = ctx.builder(None)
    assert fast is not None
    record = {**RECEIPT, field: value}
    synced_at = ctx.writer.db_value("synced_at", NOW)
    _ext, digest, built = fast.key_build(record, synced_at)
    assert digest == record_hash([*ctx.mapping.apply(record).values(), "bank"])
    if built is not None:
        assert _plain(built) == _plain(_generic_receipt(ctx, record))


def test_a_clean_receipt_takes_the_fast_path() -> None:
    ctx = _receipt_context(sqlite.dialect())
    fast = ctx.builder(None)
    assert fast is not None
    _, _digest, built = fast.key_build(RECEIPT, ctx.writer.db_value("synced_at", NOW))
    assert built is not None and _plain(built) == _plain(_generic_receipt(ctx, RECEIPT))


def _plain(row: tuple[Any, ...] | None) -> Any:
    """psycopg's Json wrappers compare by identity: compare what they wrap."""
    return None if row is None else tuple(getattr(v, "obj", v) for v in row)


# -- a page at once: columns that hold one value in every row are checked once -------------------

RECEIPT_HEADER = tuple(RECEIPT)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()], ids=["sqlite", "postgresql"])
@settings(max_examples=150, deadline=None)
@given(
    constant=st.dictionaries(st.sampled_from(sorted(RECEIPT)), receipt_values, max_size=4),
    varying=st.lists(st.tuples(st.integers(0, 99), st.sampled_from(sorted(RECEIPT)), receipt_values), max_size=6),
    bools=st.sampled_from([None, 0, 1, 0.0]),
)
def test_a_page_builds_exactly_what_each_row_builds(
    dialect: Any, constant: dict[str, Any], varying: list[tuple[int, str, Any]], bools: Any
) -> None:
    # 100 rows alike but for the changes: a value set in every row (constant), values set in some
    # rows only, and a number where the other rows hold a boolean (0 == False, yet not a boolean)
    ctx = _receipt_context(dialect)
    fast = ctx.builder(RECEIPT_HEADER)
    assert fast is not None
    rows = []
    for n in range(100):
        record = {**RECEIPT, **constant, "external_id": f"CH00:REF-{n}", "amount": f"{n + 1}.25"}
        for at, field, value in varying:
            if at == n:
                record[field] = value
        if bools is not None and n == 50:
            record["reversal"] = bools
        rows.append(tuple(record[f] for f in RECEIPT_HEADER))
    synced_at = ctx.writer.db_value("synced_at", NOW)
    page = fast.key_build_page(rows, synced_at)
    each = [fast.key_build(row, synced_at) for row in rows]
    assert [(ext, digest, _plain(row)) for ext, digest, row in page] == [
        (ext, digest, _plain(row)) for ext, digest, row in each
    ]


def test_a_page_of_clean_receipts_is_built_with_its_constant_columns_checked_once() -> None:
    ctx = _new_receipt_context(sqlite.dialect())  # its own: the count of compiled page shapes starts at 0
    fast = ctx.builder(RECEIPT_HEADER)
    assert fast is not None
    rows = [tuple({**RECEIPT, "external_id": f"CH00:REF-{n}"}[f] for f in RECEIPT_HEADER) for n in range(200)]
    page = fast.key_build_page(rows, ctx.writer.db_value("synced_at", NOW))
    assert all(row is not None for _, _, row in page)
    assert len(fast.key_build_page.compiled) == 1  # type: ignore[attr-defined]
