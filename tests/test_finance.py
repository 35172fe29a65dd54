"""Finance actions on matches: confirm, reject, unmatch, explain; audit trail and learned aliases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.errors import MatchError
from hub.recon import MatchDesk
from hub.store import schema

from .conftest import generate, run_hub, write_config


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    generate(tmp_path, seed=11, customers=40, invoices=600, receipts=150)
    write_config(tmp_path, db_url, sink=None)
    h = Hub(load_config(tmp_path / "hub.toml"))
    h.init()
    h.sync()
    h.reconcile()
    yield h
    h.close()


def _refs(hub: Hub, status: str) -> list[str]:
    a, r = schema.allocation, schema.receipt
    with hub.store.connect() as conn:
        return list(
            conn.execute(
                sa.select(r.c.bank_ref)
                .join(a, a.c.receipt_id == r.c.id)
                .where(a.c.status == status)
                .group_by(r.c.bank_ref)
                .order_by(r.c.bank_ref)
            ).scalars()
        )


def _statuses(hub: Hub, ref: str) -> dict[str, set[str]]:
    a, r, i = schema.allocation, schema.receipt, schema.invoice
    out: dict[str, set[str]] = {}
    with hub.store.connect() as conn:
        for number, status in conn.execute(
            sa.select(i.c.number, a.c.status)
            .join(a, a.c.invoice_id == i.c.id)
            .join(r, r.c.id == a.c.receipt_id)
            .where(r.c.bank_ref == ref)
        ):
            out.setdefault(status, set()).add(number)
    return out


def _audit(hub: Hub) -> list[tuple[str, str]]:
    with hub.store.connect() as conn:
        return [(x.actor, x.action) for x in conn.execute(sa.select(schema.audit_log).order_by(schema.audit_log.c.id))]


def test_confirming_a_suggestion_makes_it_live_records_who_and_learns_the_payer(hub: Hub) -> None:
    ref = _refs(hub, "suggested")[0]
    desk = MatchDesk(hub.store)
    before = desk.explain(ref)
    best = min(a["rank"] for a in before["allocations"] if a["status"] == "suggested")
    expected = {a["invoice"] for a in before["allocations"] if a["rank"] == best and a["status"] == "suggested"}
    result = desk.confirm(ref, actor="alice", note="remittance checked")
    assert {c["invoice"] for c in result.changed if c["status"] == "confirmed"} == expected
    assert _statuses(hub, ref)["confirmed"] == expected
    assert ("alice", "match.confirm") in _audit(hub)
    events = [e for a in desk.explain(ref)["allocations"] for e in a["events"] if e["status"] == "confirmed"]
    assert events and all(e["actor"] == "alice" and e["note"] == "remittance checked" for e in events)
    receipt = before["receipt"]
    learned = {(x["kind"], x["value"]) for x in result.learned}
    if receipt["payer_account"]:
        assert ("account", receipt["payer_account"]) in learned or _alias_known(hub, receipt["payer_account"])
    # Confirmed allocations count as live: the receipt is no longer open and is not re-matched.
    stats = hub.reconcile()
    assert stats.considered == 0


def _alias_known(hub: Hub, value: str) -> bool:
    with hub.store.connect() as conn:
        return (
            conn.execute(sa.select(schema.customer_alias).where(schema.customer_alias.c.value == value)).first()
            is not None
        )


def test_confirming_named_invoices_allocates_the_receipt_over_them_in_order(hub: Hub) -> None:
    desk = MatchDesk(hub.store)
    ref = _refs(hub, "suggested")[0]
    receipt = desk.explain(ref)["receipt"]
    i = schema.invoice
    with hub.store.connect() as conn:
        # an open invoice in the receipt's currency, not allocated anywhere yet
        taken = sa.select(schema.allocation.c.invoice_id).where(schema.allocation.c.status.in_(("auto", "confirmed")))
        number, open_amount = conn.execute(
            sa.select(i.c.number, i.c.open_amount)
            .where(i.c.currency == receipt["currency"], i.c.id.not_in(taken))
            .order_by(i.c.id)
        ).first()
    result = desk.confirm(ref, [number], actor="bob")
    line = next(c for c in result.changed if c["invoice"] == number)
    assert Decimal(line["amount"]) == min(Decimal(receipt["amount"]), open_amount)
    assert result.unapplied == Decimal(receipt["amount"]) - Decimal(line["amount"])
    assert _statuses(hub, ref)["confirmed"] == {number}
    # The earlier suggestions for this receipt were set aside, not deleted.
    assert "suggested" not in _statuses(hub, ref)


def test_an_invoice_is_never_allocated_beyond_its_open_amount(hub: Hub) -> None:
    desk = MatchDesk(hub.store)
    a, i = schema.allocation, schema.invoice
    with hub.store.connect() as conn:
        # an invoice the automatic matches took in full
        taken, currency = conn.execute(
            sa.select(i.c.number, i.c.currency)
            .join(a, a.c.invoice_id == i.c.id)
            .where(a.c.status == "auto")
            .group_by(i.c.id, i.c.number, i.c.currency, i.c.open_amount)
            .having(sa.func.sum(a.c.amount) >= i.c.open_amount)
            .order_by(i.c.number)
        ).first()
        r = schema.receipt
        other = (
            conn.execute(
                sa.select(r.c.bank_ref)
                .where(r.c.currency == currency, r.c.direction == "credit", r.c.match_status.in_(("open", "suggested")))
                .order_by(r.c.id)
            )
            .scalars()
            .first()
        )
    before = _statuses(hub, other)
    with pytest.raises(MatchError, match="nothing left open"):
        desk.confirm(other, [taken], actor="carol")
    assert _statuses(hub, other) == before  # the failed action changed nothing


def test_rejected_proposal_is_not_proposed_again(hub: Hub) -> None:
    desk = MatchDesk(hub.store)
    ref = _refs(hub, "suggested")[0]
    rejected = _statuses(hub, ref)["suggested"]
    desk.reject(ref, actor="dave", note="wrong customer")
    assert _statuses(hub, ref).get("rejected") == rejected
    hub.reconcile()  # looks at the receipt again
    again = _statuses(hub, ref)
    assert not (again.get("suggested", set()) | again.get("auto", set())) & rejected
    assert ("dave", "match.reject") in _audit(hub)


def test_unmatch_reopens_the_receipt_and_its_invoices(hub: Hub) -> None:
    desk = MatchDesk(hub.store)
    ref = _refs(hub, "auto")[0]
    invoices = _statuses(hub, ref)["auto"]
    desk.unmatch(ref, actor="erin")
    assert _statuses(hub, ref)["unmatched"] >= invoices
    assert desk.explain(ref)["receipt"]["match_status"] == "open"
    with hub.store.connect() as conn:
        a = schema.allocation
        live = conn.execute(
            sa.select(sa.func.count())
            .select_from(a)
            .join(schema.receipt)
            .where(schema.receipt.c.bank_ref == ref, a.c.status.in_(("auto", "confirmed")))
        ).scalar()
    assert live == 0
    with pytest.raises(MatchError, match="no automatic or confirmed allocation"):
        desk.unmatch(ref, actor="erin")
    # The same pairing is not automatic again.
    hub.reconcile()
    assert not _statuses(hub, ref).get("auto", set()) & invoices


def test_confirm_of_an_unknown_receipt_or_invoice_fails_clearly(hub: Hub) -> None:
    desk = MatchDesk(hub.store)
    with pytest.raises(MatchError, match="no receipt 'NOPE'"):
        desk.confirm("NOPE", actor="x")
    ref = _refs(hub, "suggested")[0]
    with pytest.raises(MatchError, match="no invoice INV-0000"):
        desk.confirm(ref, ["INV-0000"], actor="x")


def test_explain_shows_every_proposal_with_its_evidence(hub: Hub) -> None:
    ref = _refs(hub, "auto")[0]
    data = MatchDesk(hub.store).explain(ref)
    assert data["receipt"]["ref"] == ref
    (first, *_) = data["allocations"]
    assert any("confidence" in reason for reason in first["reasons"])
    assert any("(+" in reason for reason in first["reasons"])  # each evidence with its weight
    assert first["events"][0]["actor"] == "hub"


def test_a_learned_account_identifies_the_next_payment_from_it(hub: Hub) -> None:
    desk = MatchDesk(hub.store)
    a, r, i = schema.allocation, schema.receipt, schema.invoice
    ref = _refs(hub, "suggested")[0]
    result = desk.confirm(ref, actor="frank")
    if not any(x["kind"] == "account" for x in result.learned):
        pytest.skip("the payer account was already known")
    account = next(x["value"] for x in result.learned if x["kind"] == "account")
    customer = next(x["customer"] for x in result.learned if x["kind"] == "account")
    book = hub.store
    from hub.recon import ReconcileEngine

    with book.connect() as conn:
        loaded = ReconcileEngine(book, []).load_book(conn)
    assert account in loaded.customers[customer].ibans
    del a, r, i


def test_cli_confirm_reject_unmatch_explain(tmp_path: Path, db_url: str) -> None:
    generate(tmp_path, seed=12, customers=30, invoices=400, receipts=80)
    write_config(tmp_path, db_url, sink=None)
    run_hub("init", cwd=tmp_path)
    run_hub("run", cwd=tmp_path)
    listed = json.loads(run_hub("--json", "matches", "list", "--status", "auto", cwd=tmp_path).stdout)["matches"]
    ref = listed[0]["receipt_ref"]
    explained = json.loads(run_hub("--json", "matches", "explain", ref, cwd=tmp_path).stdout)
    assert explained["allocations"][0]["status"] == "auto"
    text = run_hub("matches", "explain", ref, cwd=tmp_path).stdout
    assert "proposal 1" in text and "confidence" in text
    done = json.loads(run_hub("--json", "matches", "confirm", ref, "--by", "gina", cwd=tmp_path).stdout)
    assert {c["status"] for c in done["matches"]["changed"]} == {"confirmed"}
    undone = json.loads(run_hub("--json", "matches", "unmatch", ref, "--by", "gina", cwd=tmp_path).stdout)
    assert {c["status"] for c in undone["matches"]["changed"]} == {"unmatched"}
    bad = run_hub("matches", "reject", ref, cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "no open proposal" in bad.stderr


def test_an_invoice_synced_later_is_matched_to_the_receipt_waiting_for_it(tmp_path: Path, db_url: str) -> None:
    import csv

    generate(tmp_path, seed=13, customers=30, invoices=300, receipts=60)
    truth = {}
    for row in csv.DictReader((tmp_path / "truth.csv").open(encoding="utf-8")):
        truth.setdefault(row["receipt_ref"], []).append(row["invoice_number"])
    # a receipt paying exactly one invoice; hold that invoice back from the first sync
    ref, (number,) = next((r, n) for r, n in truth.items() if len(n) == 1 and n[0])
    lines = (tmp_path / "invoices.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    held = [line for line in lines if line.startswith(number + ",")]
    (tmp_path / "invoices.csv").write_text("".join(x for x in lines if x not in held), encoding="utf-8")
    write_config(tmp_path, db_url, sink=None)
    h = Hub(load_config(tmp_path / "hub.toml"))
    try:
        h.init()
        h.sync()
        h.reconcile()
        assert number not in _statuses(h, ref).get("auto", set())
        (tmp_path / "invoices.csv").write_text("".join(lines), encoding="utf-8")
        h.sync()
        stats = h.reconcile()
        assert stats.considered >= 1
        assert _statuses(h, ref).get("auto") == {number}
        assert h.reconcile().considered == 0  # and then nothing more to do
    finally:
        h.close()
