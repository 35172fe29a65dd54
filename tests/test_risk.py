"""Exposure, flags and their versioned changes into the outbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.risk.exposure import bucket_of
from hub.store import schema

from .conftest import generate, run_hub, write_config

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
        tmp_path,
        db_url,
        statements=None,
        extra='[connectors.audit]\ntype = "json-file"\npath = "out/audit.jsonl"\n'
        # only the overdue and over-limit policies decide here (hold and prepayment have their own tests)
        "[risk]\ncredit_hold_overdue_days = 365\ncredit_hold_bands = []\nprepayment_bands = []\n",
    )
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    hub.sync()
    stats = hub.risk(AS_OF)
    assert _flags(hub) == {("A", "OVERDUE_90"), ("A", "OVER_LIMIT"), ("C", "OVERDUE_60")}
    # 3 flags raised and 3 first bands, each queued for both sinks
    assert (stats.raised, stats.cleared, stats.band_changes, stats.outbox_rows) == (3, 0, 3, 12)

    with hub.store.connect() as conn:
        exp = {r.customer_id: r for r in conn.execute(sa.select(schema.exposure))}
    assert exp["A"].open_amount == Decimal("1100.00")
    assert exp["A"].overdue_amount == Decimal("800.00")
    assert exp["A"].buckets["d91_180"] == "800.00"
    assert exp["B"].max_days_past_due == 30
    assert exp["A"].band > exp["B"].band  # A (late, over limit) ranks worse than B

    # Re-running changes nothing.
    again = hub.risk(AS_OF)
    assert (again.raised, again.cleared, again.band_changes, again.outbox_rows) == (0, 0, 0, 0)

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
            .where(schema.flag_event.c.customer_id == "A", schema.flag_event.c.code != "BAND")
            .order_by(schema.flag_event.c.id)
        ).all()
        sinks = conn.execute(sa.select(schema.outbox.c.sink, sa.func.count()).group_by(schema.outbox.c.sink)).all()
    assert [e.event_id for e in events] == ["A:OVERDUE_90:v1", "A:OVER_LIMIT:v1", "A:OVERDUE_90:v2", "A:OVER_LIMIT:v2"]
    assert [e.action for e in events][-2:] == ["cleared", "cleared"]
    bands = 3 + cleared.band_changes
    assert dict(sinks) == {"audit": 5 + bands, "flags": 5 + bands}
    hub.close()


@pytest.mark.slow
def test_on_the_generated_workload_over_limit_and_buckets_agree_with_the_invoices(tmp_path: Path, db_url: str) -> None:
    """Acceptance: after `hub run`, OVER_LIMIT is on exactly the customers whose open amount exceeds
    their limit, and each customer's buckets equal its open invoice amounts by days past due, as
    computed here straight from the invoice and allocation tables."""
    generate(tmp_path, seed=11, customers=150, invoices=3000, receipts=600)
    write_config(tmp_path, db_url)
    run_hub("init", cwd=tmp_path)
    run_hub("run", "--as-of", AS_OF.isoformat(), cwd=tmp_path)
    hub = Hub(load_config(tmp_path / "hub.toml"))
    inv, alloc, cust = schema.invoice, schema.allocation, schema.customer
    with hub.store.connect() as conn:
        applied = dict(
            conn.execute(
                sa.select(alloc.c.invoice_id, sa.func.sum(alloc.c.amount))
                .where(alloc.c.status.in_(("auto", "confirmed")))
                .group_by(alloc.c.invoice_id)
            ).all()
        )
        assert applied, "the run matched nothing: the check below would be trivial"
        limits = dict(conn.execute(sa.select(cust.c.external_id, cust.c.credit_limit)).all())
        expected: dict[str, dict[str, Decimal]] = {c: {} for c in limits}
        for invoice_id, cid, open_amount, due in conn.execute(
            sa.select(inv.c.id, inv.c.customer_external_id, inv.c.open_amount, inv.c.due_date)
        ):
            left = open_amount - applied.get(invoice_id, Decimal(0))
            if left > 0:
                label = bucket_of((AS_OF - due).days)
                expected[cid][label] = expected[cid].get(label, Decimal(0)) + left
        rows = {r.customer_id: r for r in conn.execute(sa.select(schema.exposure))}
    hub.close()
    assert set(rows) == set(limits)
    over = 0
    for cid, row in rows.items():
        got = {k: Decimal(v) for k, v in row.buckets.items() if Decimal(v)}
        assert got == expected[cid], cid
        is_over = limits[cid] is not None and sum(expected[cid].values(), Decimal(0)) > limits[cid]
        over += is_over
        assert ("OVER_LIMIT" in row.flags) == is_over, (cid, row.open_amount, limits[cid])
    assert 0 < over < len(rows)


def test_flags_of_a_customer_no_longer_assessed_are_cleared(tmp_path: Path, db_url: str) -> None:
    """A customer that stops being assessed (here its records are re-pointed to another canonical
    customer, as identity resolution does) must not keep its flags in every connected system."""
    _write(
        tmp_path,
        ["A,Alpha GmbH,DE1,DE,EUR,100.00,,", "B,Beta GmbH,DE2,DE,EUR,,,"],
        ["A1,A,2026-08-01,2026-08-20,EUR,800.00,800.00,"],
    )
    write_config(tmp_path, db_url, statements=None)
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    hub.sync()
    hub.risk(AS_OF)
    assert ("A", "OVER_LIMIT") in _flags(hub)
    with hub.store.begin() as conn:  # A is found to be B
        conn.execute(schema.customer.update().where(schema.customer.c.external_id == "A").values(canonical_id="B"))
    stats = hub.risk(AS_OF)
    assert not {f for f in _flags(hub) if f[0] == "A"}
    with hub.store.connect() as conn:
        reasons = (
            conn.execute(
                sa.select(schema.flag_event.c.reason).where(
                    schema.flag_event.c.customer_id == "A", schema.flag_event.c.action == "cleared"
                )
            )
            .scalars()
            .all()
        )
    assert reasons and all("no longer assessed" in r for r in reasons)
    assert stats.cleared >= 1
    hub.close()


def test_a_system_linked_since_the_last_run_is_sent_the_flags_and_band_already_in_force(
    tmp_path: Path, db_url: str
) -> None:
    _write(tmp_path, ["A,Alpha GmbH,DE1,DE,EUR,100.00,,"], ["A1,A,2026-08-01,2026-08-20,EUR,800.00,800.00,"])
    write_config(tmp_path, db_url, statements=None)
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    hub.sync()
    hub.risk(AS_OF)
    assert hub.risk(AS_OF).outbox_rows == 0  # nothing new: nothing sent
    with hub.store.begin() as conn:  # the customer's CRM account becomes known (identity resolution)
        conn.execute(schema.customer.update().values(links={"crm": "0011A"}))
    stats = hub.risk(AS_OF)
    with hub.store.connect() as conn:
        rows = conn.execute(sa.select(schema.outbox.c.event_id, schema.outbox.c.payload).order_by(schema.outbox.c.id))
        latest = {r.event_id: r.payload for r in rows}
    resent = {e: p for e, p in latest.items() if p["links"].get("crm") == "0011A"}
    active = {code for cid, code in _flags(hub) if cid == "A"}
    assert active >= {"OVER_LIMIT", "OVERDUE_90"}
    assert {p["code"] for p in resent.values() if p["kind"] == "flag"} == active
    assert all(p["action"] == "raised" and p["version"] == 2 for p in resent.values() if p["kind"] == "flag")
    assert [p["kind"] for p in resent.values()].count("band") == 1
    assert stats.band_changes == 0  # the band itself did not change
    assert hub.risk(AS_OF).outbox_rows == 0  # and only once
    hub.close()
