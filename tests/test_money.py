"""Money the size real ledgers hold: 18 digits before the point (IDR, VND), exact on both databases.

A 64-bit count of millionths ends at about 9.2e12; these amounts go past it. The store keeps them
exactly (PostgreSQL NUMERIC, SQLite BLOBs of digits beyond 2^62) and sums them exactly in SQL
(hub.store.money); what the model refuses (19 digits and more) is quarantined, the rest stored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.recon import live_allocated
from hub.store import Store, schema, utcnow
from hub.store.money import money_positive, money_sub, money_sum, money_value

from .conftest import write_config

HEADER = "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
CUSTOMERS = (
    "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n"
    "C1,PT Besar Tbk,,ID,IDR,50000000000000.00,,\n"
)


def _row(number: str, amount: str, open_amount: str | None = None) -> str:
    return f"{number},C1,2026-01-05,2026-02-04,IDR,{amount},{open_amount or amount},\n"


def _hub(folder: Path, db_url: str, invoices: list[str]) -> Hub:
    (folder / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (folder / "invoices.csv").write_text(HEADER + "".join(invoices), encoding="utf-8")
    write_config(folder, db_url, statements=None, sink=None)
    hub = Hub(load_config(folder / "hub.toml"))
    hub.init()
    return hub


def test_amounts_beyond_64_bit_millionths_are_stored_and_summed_exactly(tmp_path: Path, db_url: str) -> None:
    amounts = ["9300000000000.00", "999999999999999999.99", "123456789012345678.123456", "0.01"]
    hub = _hub(tmp_path, db_url, [_row(f"INV-{i}", a) for i, a in enumerate(amounts)])
    try:
        (_, invoices) = hub.sync()
        assert (invoices.inserted, invoices.quarantined) == (4, 0)
        with hub.store.connect() as conn:
            stored = dict(conn.execute(sa.select(schema.invoice.c.number, schema.invoice.c.amount)).all())
            limit = conn.execute(sa.select(schema.customer.c.credit_limit)).scalar_one()
        assert stored == {f"INV-{i}": Decimal(a) for i, a in enumerate(amounts)}
        assert limit == Decimal("50000000000000.00")
        hub.risk(dt.date(2026, 3, 1))
        with hub.store.connect() as conn:
            exposure = conn.execute(sa.select(schema.exposure).where(schema.exposure.c.customer_id == "C1")).one()
        total = sum((Decimal(a) for a in amounts), Decimal(0))
        assert exposure.open_amount == total  # 1,123,456,789,012,345,677.123456: 19 digits, exact
        assert exposure.overdue_amount == total
    finally:
        hub.close()


def test_an_amount_with_more_than_18_digits_is_quarantined_and_the_rest_of_the_file_stored(
    tmp_path: Path, db_url: str
) -> None:
    hub = _hub(
        tmp_path,
        db_url,
        [_row("INV-1", "1000.00"), _row("INV-2", "1e30"), _row("INV-3", "1000000000000000000"), _row("INV-4", "2.00")],
    )
    try:
        (_, invoices) = hub.sync()
        assert (invoices.inserted, invoices.quarantined, invoices.errors) == (2, 2, [])
        q = schema.quarantine
        with hub.store.connect() as conn:
            reasons = dict(conn.execute(sa.select(q.c.external_id, q.c.reason)).all())
            numbers = set(conn.execute(sa.select(schema.invoice.c.number)).scalars())
        assert numbers == {"INV-1", "INV-4"}
        assert set(reasons) == {"INV-2", "INV-3"}
        assert all("more than 18 digits before the decimal point" in r for r in reasons.values())
    finally:
        hub.close()


def _values(store: Store, amounts: list[str]) -> None:
    """Allocations carrying ``amounts`` (a money column to sum), on one receipt and invoice."""
    now = utcnow()
    with store.begin() as conn:
        conn.execute(
            schema.receipt.insert().values(
                source="bank",
                external_id="R1",
                record_hash=0,
                synced_at=now,
                booking_date=dt.date(2026, 1, 1),
                amount=Decimal(1),
                currency="IDR",
                direction="credit",
                reversal=False,
                references=[],
                additional_remittance=[],
            )
        )
        conn.execute(
            schema.invoice.insert().values(
                source="erp",
                external_id="I1",
                record_hash=0,
                synced_at=now,
                number="I1",
                customer_external_id="C1",
                issue_date=dt.date(2026, 1, 1),
                due_date=dt.date(2026, 1, 1),
                currency="IDR",
                amount=Decimal(1),
                open_amount=Decimal(1),
                status="open",
            )
        )
        conn.execute(
            schema.allocation.insert(),
            [
                {
                    "receipt_id": 1,
                    "invoice_id": 1,
                    "amount": Decimal(a),
                    "kind": "payment",
                    "method": "t",
                    "confidence": 1.0,
                    "status": "auto",
                    "reasons": [],
                    "created_at": now,
                    "decided_by": "t",
                    "decided_at": now,
                }
                for a in amounts
            ],
        )


@pytest.mark.parametrize(
    "amounts",
    [
        ["1.00", "2.50", "-0.75"],  # every value native
        ["999999999999999999.999999", "999999999999999999.999999", "-1.000001"],  # wide values, a wide sum
        ["4000000000000.000001", "4000000000000.000001", "4000000000000.000001"],  # native values, a wide sum
        ["-999999999999999999.5", "-999999999999999999.5", "0.25"],  # wide and negative
    ],
)
def test_money_sum_sub_and_sign_are_exact_for_native_and_wide_values(store: Store, amounts: list[str]) -> None:
    _values(store, amounts)
    a = schema.allocation
    micros = sa.BigInteger()
    raw = sa.type_coerce(a.c.amount, micros)
    with store.connect() as conn:
        total = conn.execute(sa.select(money_sum(a.c.amount))).scalar_one()
        raw_total = conn.execute(sa.select(money_sum(raw))).scalar_one()
        differences = [
            money_value(v)
            for v in conn.execute(sa.select(money_sub(raw, sa.literal(1_000_000))).order_by(a.c.id)).scalars()
        ]
        positive = list(conn.execute(sa.select(money_positive(raw)).order_by(a.c.id)).scalars())
        empty = conn.execute(sa.select(money_sum(a.c.amount)).where(a.c.id < 0)).scalar_one()
    expected = sum((Decimal(x) for x in amounts), Decimal(0))
    with store.connect() as conn:
        assert live_allocated(conn) == {1: expected}  # what reconcile and finance read
    assert total == expected
    assert money_value(raw_total) == expected
    assert differences == [Decimal(x) - 1 for x in amounts]
    assert [bool(p) for p in positive] == [Decimal(x) > 0 for x in amounts]
    assert empty is None
