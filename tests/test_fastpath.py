"""The compiled row builder stores exactly what the generic path (mapping, pydantic, SQLAlchemy) stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
