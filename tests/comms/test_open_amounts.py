"""What a message says is owed is what is open in the hub: the ERP's open amount less the receipts the hub
has allocated (live allocations), as the risk run, interest and cases count it, though the ERP has not
booked the receipt yet."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.errors import CommsError
from hub.store import schema, utcnow

from .conftest import D, Smtp, at, make_hub


def add_receipt(hub: Hub, ref: str, amount: str) -> None:
    with hub.store.begin() as conn:
        conn.execute(
            schema.receipt.insert().values(
                source="bank",
                external_id=ref,
                record_hash=0,
                synced_at=utcnow(),
                booking_date=D + dt.timedelta(days=12),
                amount=Decimal(amount),
                currency="EUR",
                direction="credit",
                reversal=False,
                references=[],
                additional_remittance=[],
                match_status="open",
            )
        )


def paid_in_the_hub(tmp_path: Path, db_url: str, port: int) -> Hub:
    """C1 owes INV-1 (1,200.00, due D) and INV-2 (800.00, due D+10); a receipt of 1,500.00 the hub allocated
    pays INV-1 in full and 300.00 of INV-2. C2's only invoice, INV-9 (50.00), is paid in full. The ERP's
    open amounts are unchanged."""
    hub = make_hub(tmp_path, db_url, port)
    add_receipt(hub, "R-1500", "1500.00")
    add_receipt(hub, "R-50", "50.00")
    hub.matches.allocate(
        "R-1500", [("INV-1", Decimal("1200.00"), Decimal(0)), ("INV-2", Decimal("300.00"), Decimal(0))], actor="ann"
    )
    hub.matches.allocate("R-50", [("INV-9", Decimal("50.00"), Decimal(0))], actor="ann")
    with hub.store.connect() as conn:
        erp = dict(conn.execute(sa.select(schema.invoice.c.number, schema.invoice.c.open_amount)).all())
    assert erp == {"INV-1": Decimal("1200.00"), "INV-2": Decimal("800.00"), "INV-9": Decimal("50.00")}
    return hub


def test_a_reminder_lists_only_what_the_hubs_allocations_leave_open(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = paid_in_the_hub(tmp_path, db_url, smtp.port)
    found = hub.comms.preview("C1", step="friendly_reminder", language="en", now=at(20))
    assert found["invoices"] == ["INV-2"]
    assert "INV-1" not in found["text"]
    assert "€500.00" in found["text"] and "Total open: €500.00" in found["text"]
    assert "€800.00" not in found["text"] and "€2,000.00" not in found["text"]

    chinese = hub.comms.preview("C1", step="friendly_reminder", language="zh_CN", now=at(20))
    assert chinese["invoices"] == ["INV-2"] and chinese["subject"]
    assert "INV-1" not in chinese["text"] and "未付合计\uff1a€500.00" in chinese["text"]


def test_an_invoice_paid_in_full_in_the_hub_leaves_the_reminder(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = paid_in_the_hub(tmp_path, db_url, smtp.port)
    with pytest.raises(CommsError, match="no overdue invoices"):
        hub.comms.preview("C2", step="friendly_reminder", now=at(20))
    with pytest.raises(CommsError, match="no open invoice INV-1"):
        hub.comms.preview("C1", step="friendly_reminder", invoices=["INV-1"], now=at(20))


def test_a_statement_shows_what_is_open_in_the_hub(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = paid_in_the_hub(tmp_path, db_url, smtp.port)
    for language, total in (("en", "Total open: €500.00"), ("zh_CN", "未付合计\uff1a€500.00")):
        statement = hub.comms.preview("C1", step="statement", language=language, channel="letter", now=at(20))
        assert statement["invoices"] == ["INV-2"] and total in statement["text"]


def test_send_due_sends_nothing_to_a_customer_the_hub_knows_has_paid(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    day = D + dt.timedelta(days=3)
    hub = make_hub(tmp_path, db_url, smtp.port)
    for customer in ("C1", "C2"):
        hub.comms.contact(customer, actor="ann", email=f"ap@{customer.lower()}.example", time_zone="Asia/Shanghai")
    hub.risk(day)  # planned before the receipt was allocated: both customers get a friendly reminder
    assert {x["customer_id"] for x in hub.comms.send_due(actor="cron", as_of=day, dry_run=True)} == {"C1", "C2"}
    add_receipt(hub, "R-50", "50.00")
    hub.matches.allocate("R-50", [("INV-9", Decimal("50.00"), Decimal(0))], actor="ann")

    stale = {x["customer_id"]: x for x in hub.comms.send_due(actor="cron", as_of=day, now=at(3))}
    assert stale["C1"]["outcome"] == "queued"
    assert stale["C2"]["outcome"] == "skipped" and "no overdue invoices" in stale["C2"]["reason"]
    assert [m["customer_id"] for m in hub.comms.messages()] == ["C1"]

    hub.risk(day)  # the collections plan itself counts the hub's allocations (the risk run's exposure)
    assert {x["customer_id"] for x in hub.comms.send_due(actor="cron", as_of=day, dry_run=True)} == {"C1"}


def planned(hub: Hub, customer_id: str) -> dict[str, object]:
    e = schema.exposure
    with hub.store.connect() as conn:
        plan = conn.execute(sa.select(e.c.next_action).where(e.c.customer_id == customer_id)).scalar_one()
    assert isinstance(plan, dict)
    return plan


def test_a_plan_around_a_dispute_counts_what_the_hub_allocated(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = paid_in_the_hub(tmp_path, db_url, smtp.port)
    hub.disputes.open("C1", actor="ann", invoice="INV-1", reason="goods damaged")
    hub.risk(D + dt.timedelta(days=20))
    plan = planned(hub, "C1")
    # planned from the 500.00 left of INV-2; the disputed INV-1 is paid in the hub, so nothing is left out
    assert plan["overdue"] == "500.00" and plan["disputed"] == [] and "step" in plan


def test_a_dispute_of_the_only_invoice_the_hub_has_not_seen_paid_pauses_the_ladder(
    tmp_path: Path, db_url: str, smtp: Smtp
) -> None:
    hub = paid_in_the_hub(tmp_path, db_url, smtp.port)
    hub.disputes.open("C1", actor="ann", invoice="INV-2", reason="short delivery")
    hub.risk(D + dt.timedelta(days=20))
    plan = planned(hub, "C1")
    assert plan.get("paused_by_dispute") and "step" not in plan and plan["disputed"] == ["INV-2"]
