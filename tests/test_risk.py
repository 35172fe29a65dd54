"""Exposure, flags and their versioned changes into the outbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.risk import bucket_of
from hub.store import schema

from .conftest import write_config

AS_OF = dt.date(2026, 11, 27)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "not_due"),
        (0, "not_due"),
        (1, "d1_30"),
        (30, "d1_30"),
        (31, "d31_60"),
        (60, "d31_60"),
        (61, "d61_90"),
        (90, "d61_90"),
        (91, "d91_180"),
        (180, "d91_180"),
        (181, "d180_plus"),
        (999, "d180_plus"),
    ],
)
def test_bucket_boundaries(days: int, bucket: str) -> None:
    assert bucket_of(days) == bucket


def _write(tmp_path: Path, customers: list[str], invoices: list[str]) -> None:
    (tmp_path / "customers.csv").write_text(
        "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n" + "\n".join(customers) + "\n"
    )
    (tmp_path / "invoices.csv").write_text(
        "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
        + "\n".join(invoices)
        + "\n"
    )


def _flags(hub: Hub) -> set[tuple[str, str]]:
    f = schema.risk_flag
    with hub.store.connect() as conn:
        return {(c, code) for c, code in conn.execute(sa.select(f.c.customer_id, f.c.code).where(f.c.active.is_(True)))}


def test_flags_raise_and_clear_as_versioned_events_with_one_outbox_row_per_sink(tmp_path: Path, db_url: str) -> None:
    _write(
        tmp_path,
        ["A,Alpha GmbH,DE1,DE,EUR,1000.00,,", "B,Beta Ltd,GB1,GB,GBP,,,", "C,Gamma SARL,FR1,FR,EUR,5000.00,,"],
        [
            "A1,A,2026-08-01,2026-08-20,EUR,800.00,800.00,",  # 99 days late
            "A2,A,2026-11-01,2026-12-01,EUR,300.00,300.00,",  # not due; A owes 1100 > 1000
            "B1,B,2026-10-01,2026-10-28,GBP,50.00,50.00,",  # 30 days: not yet OVERDUE_30
            "C1,C,2026-09-01,2026-09-27,EUR,100.00,100.00,",
        ],
    )  # 61 days
    write_config(
        tmp_path, db_url, statements=None, extra='[connectors.audit]\ntype = "json-file"\npath = "out/audit.jsonl"\n'
    )
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    hub.sync()
    stats = hub.risk(AS_OF)
    assert _flags(hub) == {("A", "OVERDUE_90"), ("A", "OVER_LIMIT"), ("C", "OVERDUE_60")}
    assert (stats.raised, stats.cleared, stats.outbox_rows) == (3, 0, 6)

    with hub.store.connect() as conn:
        exp = {r.customer_id: r for r in conn.execute(sa.select(schema.exposure))}
    assert exp["A"].open_amount == Decimal("1100.00")
    assert exp["A"].overdue_amount == Decimal("800.00")
    assert exp["A"].buckets["d91_180"] == "800.00"
    assert exp["B"].max_days_past_due == 30
    assert exp["A"].band > exp["B"].band  # A (late, over limit) ranks worse than B

    # Re-running changes nothing.
    again = hub.risk(AS_OF)
    assert (again.raised, again.cleared, again.outbox_rows) == (0, 0, 0)

    # A pays down the late invoice: OVERDUE_90 and OVER_LIMIT clear, at version 2.
    text = (
        (tmp_path / "invoices.csv")
        .read_text()
        .replace("A1,A,2026-08-01,2026-08-20,EUR,800.00,800.00,", "A1,A,2026-08-01,2026-08-20,EUR,800.00,0.00,")
    )
    (tmp_path / "invoices.csv").write_text(text)
    hub.sync()
    cleared = hub.risk(AS_OF)
    assert (cleared.raised, cleared.cleared) == (0, 2)
    with hub.store.connect() as conn:
        events = conn.execute(
            sa.select(schema.flag_event.c.event_id, schema.flag_event.c.action)
            .where(schema.flag_event.c.customer_id == "A")
            .order_by(schema.flag_event.c.id)
        ).all()
        sinks = conn.execute(sa.select(schema.outbox.c.sink, sa.func.count()).group_by(schema.outbox.c.sink)).all()
    assert [e.event_id for e in events] == ["A:OVERDUE_90:v1", "A:OVER_LIMIT:v1", "A:OVERDUE_90:v2", "A:OVER_LIMIT:v2"]
    assert [e.action for e in events][-2:] == ["cleared", "cleared"]
    assert dict(sinks) == {"audit": 5, "flags": 5}
    hub.close()
