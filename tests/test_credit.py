"""Credit limit recommendations: sizing, approval thresholds, proposals, approvals and the CLI."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import CreditConfig
from hub.errors import ConfigError, HubError
from hub.model import CreditLimitChange, Exposure
from hub.risk import BureauView, CustomerRisk, credit
from hub.store import Store, schema, utcnow
from tests.conftest import run_hub, write_config

AS_OF = dt.date(2026, 11, 27)
D = Decimal
SINKS = ["crm", "erp"]
_ids = itertools.count(1)


def put(conn: sa.Connection, table: sa.Table, **values: Any) -> int:
    """Insert one source row, filling the bookkeeping columns."""
    values = {"source": "erp", "record_hash": next(_ids), "synced_at": utcnow(), **values}
    if table.name == "customer":
        values = {
            "aliases": [],
            "tax_ids": [],
            "ibans": [],
            "links": {},
            "canonical_id": values["external_id"],
            "legal_name": f"{values['external_id']} Ltd",
            **values,
        }
    if table.name == "invoice":
        values = {
            "number": values["external_id"],
            "open_amount": values["amount"],
            "status": "open",
            "due_date": values["issue_date"] + dt.timedelta(days=30),
            **values,
        }
    return int(conn.execute(table.insert().values(**values)).inserted_primary_key[0])


def customer(store: Store, cid: str, ccy: str = "EUR", **kw: Any) -> None:
    with store.begin() as conn:
        put(conn, schema.customer, external_id=cid, currency=ccy, **kw)


def invoices(store: Store, cid: str, *amounts: str, ccy: str = "EUR", issued: dt.date | None = None, **kw: Any) -> None:
    """One invoice per amount, issued ``issued`` (default: 10 days before AS_OF)."""
    with store.begin() as conn:
        for amount in amounts:
            n = next(_ids)
            put(
                conn,
                schema.invoice,
                external_id=f"INV-{n}",
                customer_external_id=cid,
                currency=ccy,
                amount=D(amount),
                issue_date=issued or AS_OF - dt.timedelta(days=10),
                **kw,
            )


def risk(
    cid: str,
    band: str,
    limit: str | None = None,
    *,
    ccy: str = "EUR",
    bureaus: list[BureauView] | None = None,
    fx_rates: dict[str, str] | None = None,
    terms: int | None = None,
) -> CustomerRisk:
    exposure = Exposure(
        customer_id=cid,
        as_of=AS_OF,
        currency=ccy,
        open_amount=D("0"),
        overdue_amount=D("0"),
        buckets={},
        credit_limit=D(limit) if limit is not None else None,
        fx_rates=fx_rates or {},
    )
    return CustomerRisk(exposure=exposure, bureaus=bureaus or [], terms_days=terms, band=band, score=50.0)


def bureau(name: str, limit: str, ccy: str | None = "EUR") -> BureauView:
    return BureauView(
        bureau=name,
        report_date=dt.date(2026, 10, 1),
        score=60.0,
        band="B",
        recommended_limit=D(limit),
        recommended_limit_currency=ccy,
    )


def recommend(
    store: Store, *customers: CustomerRisk, settings: CreditConfig | None = None, as_of: dt.date = AS_OF
) -> tuple[dict[str, credit.Recommendation], list[CreditLimitChange]]:
    with store.begin() as conn:
        return credit.recommend_limits(
            conn,
            customers,
            settings or CreditConfig(),
            as_of,
            utcnow(),
            sinks=SINKS,
            links={c.customer_id: {"erp": c.customer_id} for c in customers},
        )


def proposal_rows(store: Store) -> list[tuple[int, str, str, Decimal | None, Decimal, str | None, str | None]]:
    p = schema.credit_limit_proposal
    with store.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(
                    p.c.id, p.c.customer_id, p.c.status, p.c.current_limit, p.c.recommended, p.c.decided_by, p.c.note
                ).order_by(p.c.id)
            )
        ]


def outbox_rows(store: Store) -> list[tuple[str, str, dict[str, Any]]]:
    o = schema.outbox
    with store.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(o.c.sink, o.c.event_id, o.c.payload).order_by(o.c.id))]


def audit_rows(store: Store) -> list[tuple[str, str, str, dict[str, Any]]]:
    a = schema.audit_log
    with store.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(a.c.actor, a.c.action, a.c.object_id, a.c.details)
                .where(a.c.action.like("credit_limit.%"))
                .order_by(a.c.id)
            )
        ]


# -- sizing ------------------------------------------------------------------------------------------


def test_limit_is_the_bands_months_of_average_monthly_invoicing_over_the_history(store: Store) -> None:
    for cid in ("A1", "B1", "D1"):
        customer(store, cid)
        invoices(store, cid, "60000", "60000")  # 120,000 in 12 months: 10,000 a month
    invoices(store, "A1", "500000", issued=dt.date(2025, 11, 27))  # the day the 12 months start: too old
    invoices(store, "A1", "12000", issued=dt.date(2025, 11, 28))  # the first day inside them
    invoices(store, "A1", "900000", status="cancelled")
    invoices(store, "A1", "900000", issued=AS_OF + dt.timedelta(days=1))  # after the as-of date
    recs, _ = recommend(store, risk("A1", "A"), risk("B1", "B"), risk("D1", "D"))
    assert recs["A1"].amount == D("33000.00")  # 132,000 / 12 = 11,000 x 3
    assert recs["B1"].amount == D("20000.00")
    assert recs["D1"].amount == D("5000.00")
    assert recs["B1"].reasons[:3] == [
        "Recommended credit limit: 20,000.00 EUR.",
        "Average monthly invoicing over the 12 months from 2025-11-28 to 2026-11-27: 10,000.00 EUR "
        "(120,000.00 EUR in total).",
        "Risk band B allows 2 months of invoicing: 20,000.00 EUR.",
    ]
    assert recs["D1"].reasons[2] == "Risk band D allows 0.5 months of invoicing: 5,000.00 EUR."


def test_invoices_of_another_customer_record_count_for_the_canonical_customer(store: Store) -> None:
    customer(store, "B1")
    customer(store, "crm-77", canonical_id="B1", source="crm")
    invoices(store, "B1", "60000")
    with store.begin() as conn:
        put(
            conn,
            schema.invoice,
            source="crm",
            external_id="X-1",
            customer_external_id="crm-77",
            currency="EUR",
            amount=D("60000"),
            issue_date=AS_OF - dt.timedelta(days=3),
        )
    recs, _ = recommend(store, risk("B1", "B"))
    assert recs["B1"].amount == D("20000.00")


def test_the_lowest_bureau_limit_in_the_customers_currency_caps_the_recommendation(store: Store) -> None:
    customer(store, "A1")
    invoices(store, "A1", "120000")
    bureaus = [bureau("creditsafe", "28000"), bureau("dnb", "26000"), bureau("experian", "5000", "USD")]
    recs, _ = recommend(store, risk("A1", "A", bureaus=bureaus))
    assert recs["A1"].amount == D("26000.00")
    assert "Capped at 26,000.00 EUR, the lowest limit a bureau recommends (dnb, report of 2026-10-01)." in (
        recs["A1"].reasons
    )
    assert "The limit experian recommends (5,000.00 USD) is not in EUR, so it caps nothing." in recs["A1"].reasons


def test_a_bureau_limit_above_the_recommendation_is_mentioned_but_changes_nothing(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "120000")
    recs, _ = recommend(store, risk("B1", "B", bureaus=[bureau("creditsafe", "50000")]))
    assert recs["B1"].amount == D("20000.00")
    assert "Within the lowest limit a bureau recommends, 50,000.00 EUR (creditsafe, report of 2026-10-01)." in (
        recs["B1"].reasons
    )


def test_the_recommendation_is_rounded_down_to_the_configured_step(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "121481.40")  # 10,123.45 a month, x 2 = 20,246.90
    recs, _ = recommend(store, risk("B1", "B"))
    assert recs["B1"].amount == D("20000.00")
    assert "Rounded down to a multiple of 1,000.00 EUR." in recs["B1"].reasons
    recs, _ = recommend(store, risk("B1", "B"), settings=CreditConfig(rounding="500"))
    assert recs["B1"].amount == D("20000.00")
    recs, _ = recommend(store, risk("B1", "B"), settings=CreditConfig(rounding="100"))
    assert recs["B1"].amount == D("20200.00")


def test_band_e_gets_no_credit_prepayment_or_guarantees_only(store: Store) -> None:
    customer(store, "E1")
    invoices(store, "E1", "120000")
    recs, _ = recommend(store, risk("E1", "E", "15000"))
    assert recs["E1"].amount == D("0.00")
    assert recs["E1"].reasons[:2] == [
        "Recommended credit limit: 0.00 EUR.",
        "Risk band E allows no credit: sell on prepayment or guarantees only.",
    ]
    assert recs["E1"].status == "pending"  # a cut of 15,000 is above the threshold of 3,000


def test_invoices_in_other_currencies_are_converted_at_the_exposure_rate_or_left_out_and_said(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "60000")
    invoices(store, "B1", "75000", ccy="USD")  # x 0.8 = 60,000.00
    invoices(store, "B1", "9999", ccy="GBP")
    recs, _ = recommend(store, risk("B1", "B", fx_rates={"USD": "0.8 (source 2026-11-20)"}))
    assert recs["B1"].amount == D("20000.00")
    assert "75,000.00 USD invoiced in USD counts as 60,000.00 EUR at 0.8 (source 2026-11-20)." in recs["B1"].reasons
    assert "9,999.00 GBP invoiced in GBP is left out: the risk run had no GBP to EUR rate." in recs["B1"].reasons


def test_a_customer_with_no_invoicing_in_the_history_gets_no_recommendation(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "50000", issued=dt.date(2024, 1, 1))
    recs, events = recommend(store, risk("B1", "B", "10000"))
    assert recs == {} and events == []
    assert proposal_rows(store) == []


def test_short_payment_terms_warning_when_invoices_not_yet_due_exceed_the_limit(store: Store) -> None:
    customer(store, "D1")
    invoices(store, "D1", "120000")
    recs, _ = recommend(store, risk("D1", "D", terms=60))
    assert (
        "On 60-day payment terms about 20,000.00 EUR of invoices are normally not yet due, more than this limit: "
        "orders may be held although nothing is overdue." in recs["D1"].reasons
    )


def test_a_band_missing_from_band_months_is_a_config_error(store: Store) -> None:
    customer(store, "X1")
    invoices(store, "X1", "1000")
    with pytest.raises(ConfigError, match=r"\[credit\] band_months has no entry for band 'Z'"):
        recommend(store, risk("X1", "Z"))


def test_rounding_must_be_a_positive_amount() -> None:
    with pytest.raises(ConfigError, match=r"\[credit\] rounding must be more than zero, got '0'"):
        CreditConfig(rounding="0").rounding_step()
    with pytest.raises(ConfigError, match=r"\[credit\] approval_amount must be an amount, got 'ten'"):
        CreditConfig(approval_amount="ten").approval_limit()


# -- proposals ---------------------------------------------------------------------------------------


def test_a_small_change_is_applied_by_policy_with_an_audit_entry_and_an_event_per_sink(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "132000")  # 11,000 a month, x 2 = 22,000
    recs, events = recommend(store, risk("B1", "B", "20000"))  # threshold: min(20% of 20,000, 10,000) = 4,000
    rec = recs["B1"]
    assert (rec.amount, rec.status) == (D("22000.00"), "applied")
    assert rec.reasons[-1] == (
        "The increase from 20,000.00 EUR to 22,000.00 EUR (2,000.00 EUR) is within the approval threshold of "
        "4,000.00 EUR (the smaller of 20% of the current limit and 10,000.00 EUR), so it was applied without an "
        "approval."
    )
    [row] = proposal_rows(store)
    assert row == (rec.proposal_id, "B1", "applied", D("20000.00"), D("22000.00"), "policy", None)
    event_id = f"B1:credit_limit:{rec.proposal_id}"
    assert [(e.event_id, e.amount, e.previous, e.approved_by, e.links) for e in events] == [
        (event_id, D("22000.00"), D("20000.00"), "policy", {"erp": "B1"})
    ]
    outbox = outbox_rows(store)
    assert [(sink, eid) for sink, eid, _ in outbox] == [("crm", event_id), ("erp", event_id)]
    payload = outbox[0][2]
    assert (payload["kind"], payload["amount"], payload["previous"], payload["currency"]) == (
        "credit_limit",
        "22000.00",
        "20000.00",
        "EUR",
    )
    [audit] = audit_rows(store)
    assert audit[:3] == ("policy", "credit_limit.apply", str(rec.proposal_id))
    assert (audit[3]["previous"], audit[3]["new"], audit[3]["event_id"]) == ("20000.00", "22000.00", event_id)


def test_a_large_change_waits_for_approval_and_sends_nothing(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "180000")  # 15,000 a month, x 2 = 30,000
    recs, events = recommend(store, risk("B1", "B", "20000"))
    assert (recs["B1"].amount, recs["B1"].status) == (D("30000.00"), "pending")
    assert recs["B1"].reasons[-1] == (
        "The increase from 20,000.00 EUR to 30,000.00 EUR (10,000.00 EUR) is above the approval threshold of "
        "4,000.00 EUR (the smaller of 20% of the current limit and 10,000.00 EUR) and waits for an approval."
    )
    assert events == [] and outbox_rows(store) == [] and audit_rows(store) == []
    assert [r[2] for r in proposal_rows(store)] == ["pending"]


def test_the_approval_amount_caps_the_threshold_for_large_limits(store: Store) -> None:
    customer(store, "A1")
    invoices(store, "A1", "2520000")  # 210,000 a month, x 3 = 630,000; 20% of 600,000 would be 120,000
    recs, _ = recommend(store, risk("A1", "A", "600000"))
    assert recs["A1"].status == "pending"  # 30,000 > the approval amount of 10,000


def test_a_customer_without_a_limit_always_waits_for_approval(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "1200")  # 100 a month: rounds down to 0
    recs, events = recommend(store, risk("B1", "B"))
    assert (recs["B1"].amount, recs["B1"].status) == (D("0.00"), "pending")
    assert recs["B1"].reasons[-1] == "The customer has no credit limit yet, so this first limit waits for an approval."
    assert events == []


def test_a_recommendation_equal_to_the_current_limit_writes_nothing_and_supersedes_pending(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "180000")
    recs, _ = recommend(store, risk("B1", "B", "10000"))
    pending_id = recs["B1"].proposal_id
    recs, events = recommend(store, risk("B1", "B", "30000"))  # the ERP set the limit by hand
    assert (recs["B1"].status, recs["B1"].proposal_id, events) == ("unchanged", None, [])
    assert recs["B1"].reasons[-1] == "The current limit is already 30,000.00 EUR: nothing to change."
    assert proposal_rows(store) == [
        (
            pending_id,
            "B1",
            "superseded",
            D("10000.00"),
            D("30000.00"),
            "policy",
            "The current limit came to equal this recommendation (30,000.00 EUR).",
        )
    ]


def test_rerunning_with_the_same_recommendation_keeps_the_pending_proposal(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "180000")
    first, _ = recommend(store, risk("B1", "B", "10000"))
    again, _ = recommend(store, risk("B1", "B", "10000"), as_of=AS_OF + dt.timedelta(days=1))
    assert again["B1"].status == "pending"
    assert again["B1"].proposal_id == first["B1"].proposal_id
    assert len(proposal_rows(store)) == 1


def test_a_changed_recommendation_supersedes_the_pending_proposal(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "180000")
    first, _ = recommend(store, risk("B1", "B", "10000"))
    invoices(store, "B1", "60000")  # now 20,000 a month: 40,000
    second, _ = recommend(store, risk("B1", "B", "10000"))
    old, new = first["B1"].proposal_id, second["B1"].proposal_id
    assert new != old
    assert proposal_rows(store) == [
        (old, "B1", "superseded", D("10000.00"), D("30000.00"), "policy", f"Superseded by proposal {new}."),
        (new, "B1", "pending", D("10000.00"), D("40000.00"), None, None),
    ]


def test_an_applied_limit_is_not_applied_again_while_the_erp_still_reports_the_old_one(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "132000")
    first, _ = recommend(store, risk("B1", "B", "20000"))
    again, events = recommend(store, risk("B1", "B", "20000"), as_of=AS_OF + dt.timedelta(days=1))
    assert (again["B1"].status, again["B1"].proposal_id, events) == ("applied", first["B1"].proposal_id, [])
    assert len(proposal_rows(store)) == 1 and len(outbox_rows(store)) == 2
    assert again["B1"].reasons[-1].endswith("the ERP has not reported the new limit yet.")


def test_a_rejected_amount_is_not_proposed_again_until_the_current_limit_changes(store: Store) -> None:
    customer(store, "B1")
    invoices(store, "B1", "180000")
    first, _ = recommend(store, risk("B1", "B", "10000"))
    credit.reject(store, "B1", by="alice", note="Waiting for the annual accounts.")
    again, _ = recommend(store, risk("B1", "B", "10000"))
    assert (again["B1"].status, again["B1"].proposal_id) == ("rejected", first["B1"].proposal_id)
    assert len(proposal_rows(store)) == 1
    moved, _ = recommend(store, risk("B1", "B", "12000"))
    assert moved["B1"].status == "pending" and moved["B1"].proposal_id != first["B1"].proposal_id


# -- approving and rejecting ---------------------------------------------------------------------------


def _pending(store: Store) -> int:
    customer(store, "B1", links={"hubspot": "hs-9"})
    invoices(store, "B1", "180000")
    recs, _ = recommend(store, risk("B1", "B", "10000"))
    pid = recs["B1"].proposal_id
    assert pid is not None
    return pid


def test_approving_records_who_and_why_and_queues_the_new_limit_for_every_sink(store: Store) -> None:
    pid = _pending(store)
    proposal, event = credit.approve(store, pid, by="alice", note="Annual accounts are fine.", sinks=SINKS)
    assert (proposal.status, proposal.decided_by, proposal.note) == ("approved", "alice", "Annual accounts are fine.")
    assert [r[2] for r in proposal_rows(store)] == ["approved"]
    event_id = f"B1:credit_limit:{pid}"
    assert (event.event_id, event.amount, event.previous, event.approved_by, event.links) == (
        event_id,
        D("30000.00"),
        D("10000.00"),
        "alice",
        {"erp": "B1", "hubspot": "hs-9"},
    )
    assert event.reason == "Approved by alice: Annual accounts are fine. Recommended credit limit: 30,000.00 EUR."
    assert [(sink, eid) for sink, eid, _ in outbox_rows(store)] == [("crm", event_id), ("erp", event_id)]
    [audit] = audit_rows(store)
    assert audit[:3] == ("alice", "credit_limit.approve", str(pid))
    assert {k: audit[3][k] for k in ("customer_id", "previous", "new", "note", "currency")} == {
        "customer_id": "B1",
        "previous": "10000.00",
        "new": "30000.00",
        "note": "Annual accounts are fine.",
        "currency": "EUR",
    }


def test_approving_by_customer_takes_its_pending_proposal_and_twice_is_refused(store: Store) -> None:
    pid = _pending(store)
    credit.approve(store, "B1", by="alice", note=None, sinks=SINKS)
    with pytest.raises(HubError, match=rf"proposal {pid} for customer B1 is approved by alice on .*, not pending"):
        credit.approve(store, pid, by="bob", note=None, sinks=SINKS)
    with pytest.raises(HubError, match=r"customer B1 has no pending credit limit proposal; its latest, .* approved"):
        credit.approve(store, "B1", by="bob", note=None, sinks=SINKS)
    assert len(outbox_rows(store)) == 2 and len(audit_rows(store)) == 1


def test_a_superseded_or_rejected_proposal_cannot_be_approved(store: Store) -> None:
    pid = _pending(store)
    credit.reject(store, f"#{pid}", by="carol", note="No.")
    with pytest.raises(HubError, match=r"is rejected by carol on .*only a pending proposal can be approved"):
        credit.approve(store, pid, by="alice", note=None, sinks=SINKS)
    assert outbox_rows(store) == []
    assert audit_rows(store)[0][:3] == ("carol", "credit_limit.reject", str(pid))


def test_approval_needs_a_name(store: Store) -> None:
    pid = _pending(store)
    with pytest.raises(HubError, match="--by NAME is required and must not be empty"):
        credit.approve(store, pid, by="  ", note=None, sinks=SINKS)
    assert [r[2] for r in proposal_rows(store)] == ["pending"]


def test_unknown_proposal_or_customer_is_a_clear_error(store: Store) -> None:
    with pytest.raises(HubError, match="there is no credit limit proposal 99"):
        credit.approve(store, 99, by="alice", note=None, sinks=SINKS)
    with pytest.raises(HubError, match="there is no credit limit proposal for customer 'NOPE'"):
        credit.reject(store, "NOPE", by="alice")


def test_a_number_naming_both_a_proposal_and_a_customer_is_refused_as_ambiguous(store: Store) -> None:
    pid = _pending(store)
    customer(store, str(pid))
    invoices(store, str(pid), "180000")
    recommend(store, risk(str(pid), "B", "10000"))
    with pytest.raises(HubError, match=rf"write #{pid} for the proposal"):
        credit.approve(store, str(pid), by="alice", note=None, sinks=SINKS)
    _, event = credit.approve(store, f"#{pid}", by="alice", note=None, sinks=SINKS)
    assert event.customer_id == "B1"


# -- command line ------------------------------------------------------------------------------------


def test_cli_lists_explains_and_approves_proposals(tmp_path: Path, db_url: str) -> None:
    write_config(tmp_path, db_url, customers=None, invoices=None, statements=None, sink="out/flags.jsonl")
    store = Store(db_url)
    store.migrate()
    try:
        pid = _pending(store)
        listed = json.loads(run_hub("--json", "limits", "list", "--status", "pending", cwd=tmp_path).stdout)
        assert [(p["id"], p["customer_id"], p["recommended"], p["current_limit"]) for p in listed["proposals"]] == [
            (pid, "B1", "30000.00", "10000.00")
        ]
        explained = run_hub("limits", "explain", "B1", cwd=tmp_path).stdout
        assert "Recommended credit limit: 30,000.00 EUR." in explained
        approved = json.loads(
            run_hub("--json", "limits", "approve", "B1", "--by", "alice", "--note", "ok", cwd=tmp_path).stdout
        )
        assert (approved["approved"]["status"], approved["event_id"], approved["sinks"]) == (
            "approved",
            f"B1:credit_limit:{pid}",
            ["flags"],
        )
        assert [(sink, eid) for sink, eid, _ in outbox_rows(store)] == [("flags", f"B1:credit_limit:{pid}")]
        again = run_hub("limits", "approve", str(pid), "--by", "alice", cwd=tmp_path, check=False)
        assert again.returncode == 1
        assert f"proposal {pid} for customer B1 is approved by alice" in again.stderr
        missing_by = run_hub("limits", "reject", "B1", cwd=tmp_path, check=False)
        assert missing_by.returncode != 0 and "--by" in missing_by.stderr
        bad_status = run_hub("limits", "list", "--status", "done", cwd=tmp_path, check=False)
        assert bad_status.returncode == 1 and "--status must be one of pending, approved" in bad_status.stderr
    finally:
        store.dispose()
