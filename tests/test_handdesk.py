"""Allocating by hand when two ERPs (sources) both have an invoice with the number named: the desk never
picks one silently; ``SOURCE:NUMBER`` says which."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.allocate import HandDesk, Line
from hub.errors import MatchError
from hub.recon import MatchDesk
from hub.store import Store, schema, utcnow
from tests import rows

DAY = dt.date(2026, 11, 2)


def add_customer(conn: sa.Connection, source: str, ext: str, name: str, ibans: list[str]) -> None:
    rows.customer(conn, ext, source=source, name=name, ccy=None, ibans=ibans, links=[])


def add_invoice(conn: sa.Connection, source: str, number: str, customer: str, amount: str) -> None:
    rows.invoice(
        conn,
        number,
        customer,
        DAY + dt.timedelta(days=30),
        amount,
        source=source,
        external_id=f"{source}-{number}",
        issued=DAY,
    )


def add_receipt(conn: sa.Connection, ref: str, amount: str, *, account: str | None = None) -> None:
    rows.receipt(conn, DAY, amount, ref=ref, payer_name="Somebody", payer_account=account)


@pytest.fixture
def two_erps(store: Store) -> Store:
    """erp1 bills Alpha (C1) 1,000.00 as INV-1001; erp2 bills Beta (C2) 400.00 as INV-1001 and 250.00 as INV-2002.
    R-400's payer is unknown; R-ALPHA comes from Alpha's account (written with spaces, in lower case)."""
    with store.begin() as conn:
        add_customer(conn, "erp1", "C1", "Alpha GmbH", ["DE11111111111111111111"])
        add_customer(conn, "erp2", "C2", "Beta SA", ["FR2222222222222222222222222"])
        add_invoice(conn, "erp1", "INV-1001", "C1", "1000.00")
        add_invoice(conn, "erp2", "INV-1001", "C2", "400.00")
        add_invoice(conn, "erp2", "INV-2002", "C2", "250.00")
        add_receipt(conn, "R-400", "400.00")
        add_receipt(conn, "R-ALPHA", "400.00", account="de11 1111 1111 1111 1111 11")
    return store


def allocated(store: Store, ref: str) -> list[tuple[str, str, Decimal]]:
    a, i, r = schema.allocation, schema.invoice, schema.receipt
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(i.c.source, i.c.number, a.c.amount)
            .select_from(a.join(i, i.c.id == a.c.invoice_id).join(r, r.c.id == a.c.receipt_id))
            .where(r.c.external_id == ref, a.c.status == "confirmed")
            .order_by(a.c.id)
        )
        return [tuple(row) for row in rows]


def test_a_number_two_erps_share_is_refused_naming_the_sources_and_how_to_say_which(two_erps: Store) -> None:
    with pytest.raises(MatchError) as refused:
        HandDesk(two_erps).allocate("R-400", [Line("INV-1001", Decimal("400.00"))], actor="ann")
    text = str(refused.value)
    assert "INV-1001" in text and "erp1" in text and "erp2" in text and "C1" in text and "C2" in text
    assert "erp2:INV-1001" in text or "SOURCE:NUMBER" in text
    assert allocated(two_erps, "R-400") == []


def test_a_qualified_number_allocates_that_sources_invoice(two_erps: Store) -> None:
    result = HandDesk(two_erps).allocate("R-400", [Line("erp2:INV-1001", Decimal("400.00"))], actor="ann")
    assert allocated(two_erps, "R-400") == [("erp2", "INV-1001", Decimal("400.00"))]
    assert result.unapplied == 0


def test_a_qualified_number_its_source_does_not_have_is_no_invoice(two_erps: Store) -> None:
    for name in ("erp1:INV-2002", "erp3:INV-1001"):
        with pytest.raises(MatchError, match=f"no invoice {name}"):
            HandDesk(two_erps).allocate("R-400", [Line(name, Decimal("100.00"))], actor="ann")
    assert allocated(two_erps, "R-400") == []


def test_a_shared_number_goes_to_the_invoice_of_the_customer_the_receipt_is_proposed_for(two_erps: Store) -> None:
    a, i, r = schema.allocation, schema.invoice, schema.receipt
    now = utcnow()
    with two_erps.begin() as conn:
        receipt_id = conn.execute(sa.select(r.c.id).where(r.c.external_id == "R-400")).scalar_one()
        invoice_id = conn.execute(sa.select(i.c.id).where(i.c.number == "INV-2002")).scalar_one()
        conn.execute(
            a.insert().values(
                receipt_id=receipt_id,
                invoice_id=invoice_id,
                amount=Decimal("250.00"),
                kind="payment",
                method="amount",
                confidence=0.6,
                status="suggested",
                rank=1,
                reasons=[],
                created_at=now,
                decided_by="hub",
                decided_at=now,
            )
        )
    HandDesk(two_erps).allocate("R-400", [Line("INV-1001", Decimal("400.00"))], actor="ann")
    assert allocated(two_erps, "R-400") == [("erp2", "INV-1001", Decimal("400.00"))]


def test_a_shared_number_goes_to_the_invoice_of_the_customer_whose_account_paid(two_erps: Store) -> None:
    HandDesk(two_erps).allocate("R-ALPHA", [Line("INV-1001", Decimal("400.00"))], actor="ann")
    assert allocated(two_erps, "R-ALPHA") == [("erp1", "INV-1001", Decimal("400.00"))]


def test_a_shared_number_goes_to_the_customer_the_caller_knows_the_receipt_pays(two_erps: Store) -> None:
    HandDesk(two_erps).allocate("R-400", [Line("INV-1001", Decimal("400.00"))], actor="ann", customer="C1")
    assert allocated(two_erps, "R-400") == [("erp1", "INV-1001", Decimal("400.00"))]


def test_the_same_invoice_named_plainly_and_qualified_is_refused(two_erps: Store) -> None:
    lines = [Line("INV-2002", Decimal("100.00")), Line("erp2:INV-2002", Decimal("100.00"))]
    with pytest.raises(MatchError, match="once"):
        HandDesk(two_erps).allocate("R-400", lines, actor="ann")
    assert allocated(two_erps, "R-400") == []


def test_both_erps_invoices_with_the_number_can_be_allocated_each_qualified(two_erps: Store) -> None:
    lines = [Line("erp1:INV-1001", Decimal("150.00")), Line("erp2:INV-1001", Decimal("250.00"))]
    HandDesk(two_erps).allocate("R-400", lines, actor="ann")
    assert allocated(two_erps, "R-400") == [
        ("erp1", "INV-1001", Decimal("150.00")),
        ("erp2", "INV-1001", Decimal("250.00")),
    ]


def test_confirming_named_invoices_refuses_a_shared_number_and_takes_a_qualified_one(two_erps: Store) -> None:
    with pytest.raises(MatchError, match="SOURCE:NUMBER"):
        MatchDesk(two_erps).confirm("R-400", ["INV-1001"], actor="ann")
    assert allocated(two_erps, "R-400") == []
    MatchDesk(two_erps).confirm("R-400", ["erp2:INV-1001"], actor="ann")
    assert allocated(two_erps, "R-400") == [("erp2", "INV-1001", Decimal("400.00"))]


def test_confirming_a_shared_number_goes_to_the_invoice_of_the_customer_whose_account_paid(two_erps: Store) -> None:
    MatchDesk(two_erps).confirm("R-ALPHA", ["INV-1001"], actor="ann")
    assert allocated(two_erps, "R-ALPHA") == [("erp1", "INV-1001", Decimal("400.00"))]


def _suggest(store: Store, ref: str, *invoices: tuple[str, str, str]) -> None:
    """Suggestions for receipt ``ref``, one proposal per (source, number, amount), ranked in order."""
    a, i, r = schema.allocation, schema.invoice, schema.receipt
    now = utcnow()
    with store.begin() as conn:
        rid = conn.execute(sa.select(r.c.id).where(r.c.external_id == ref)).scalar_one()
        for rank, (source, number, amount) in enumerate(invoices, 1):
            iid = conn.execute(sa.select(i.c.id).where(i.c.source == source, i.c.number == number)).scalar_one()
            conn.execute(
                a.insert().values(
                    receipt_id=rid,
                    invoice_id=iid,
                    amount=Decimal(amount),
                    kind="payment",
                    method="amount",
                    confidence=0.5,
                    status="suggested",
                    rank=rank,
                    reasons=["by amount"],
                    created_at=now,
                    decided_by="hub",
                    decided_at=now,
                )
            )
        conn.execute(r.update().where(r.c.id == rid).values(match_status="suggested"))


def proposals(store: Store, ref: str) -> list[tuple[str, str, str]]:
    a, i, r = schema.allocation, schema.invoice, schema.receipt
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(i.c.source, i.c.number, a.c.status)
            .select_from(a.join(i, i.c.id == a.c.invoice_id).join(r, r.c.id == a.c.receipt_id))
            .where(r.c.external_id == ref)
            .order_by(a.c.rank)
        )
        return [tuple(row) for row in rows]


def test_rejecting_a_qualified_number_rejects_only_that_sources_proposal(two_erps: Store) -> None:
    _suggest(two_erps, "R-400", ("erp1", "INV-1001", "400.00"), ("erp2", "INV-1001", "400.00"))
    MatchDesk(two_erps).reject("R-400", ["erp1:INV-1001"], actor="ann")
    assert proposals(two_erps, "R-400") == [("erp1", "INV-1001", "rejected"), ("erp2", "INV-1001", "suggested")]
    with pytest.raises(MatchError, match="no open proposal for erp1:INV-1001"):
        MatchDesk(two_erps).reject("R-400", ["erp1:INV-1001"], actor="ann")
    # the plain number still names whatever open proposal has it
    MatchDesk(two_erps).reject("R-400", ["INV-1001"], actor="ann")
    assert proposals(two_erps, "R-400") == [("erp1", "INV-1001", "rejected"), ("erp2", "INV-1001", "rejected")]
