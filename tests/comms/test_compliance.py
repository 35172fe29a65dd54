"""Each compliance rule blocks a send and says which rule stopped it, in English and Chinese."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from hub import i18n
from hub.config import CollectionsConfig
from hub.errors import ComplianceBlock
from hub.model import Exposure
from hub.risk import CustomerRisk
from hub.risk.collection import plan_next_actions

from .conftest import D, Smtp, at, make_hub


def blocked(hub: object, **kwargs: object) -> ComplianceBlock:
    with pytest.raises(ComplianceBlock) as caught:
        hub.comms.send("C1", actor="ann", **kwargs)  # type: ignore[attr-defined]
    return caught.value


def test_the_frequency_limit_blocks_the_contact_too_many(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port, extra='frequency = [{ channel = "email", max = 2, days = 7 }]')
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    hub.comms.send("C1", actor="ann", now=at(15))
    hub.comms.send("C1", actor="ann", now=at(15), deliver_now=True)
    exc = blocked(hub, now=at(16))
    assert exc.code == "FREQUENCY" and "2 times in the last 7 days" in str(exc)
    assert "FREQUENCY" in i18n.error_text("zh_CN", exc) and "天" in i18n.error_text("zh_CN", exc)
    assert hub.comms.send("C1", actor="ann", now=at(22))["status"] == "pending"  # the window has moved on


def test_quiet_hours_in_the_customers_time_zone_block_an_email(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    # 22:00 in Shanghai is 15:00 in Berlin: quiet for the customer whatever the sender's clock says
    exc = blocked(hub, now=at(15, hour=22))
    assert exc.code == "QUIET_HOURS" and "22:00" in str(exc) and "Asia/Shanghai" in str(exc)
    assert "免打扰" in i18n.error_text("zh_CN", exc)
    # a letter is not an interruption: quiet hours apply to the email channel only
    assert hub.comms.send("C1", actor="ann", channel="letter", now=at(15, hour=22))["status"] == "sent"


def test_the_weekend_blocks_an_email(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    exc = blocked(hub, now=at(12, hour=11))  # D + 12 is a Saturday
    assert exc.code == "WEEKEND"


def test_an_opt_out_blocks_its_channel_only(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai", opt_out=["email"])
    exc = blocked(hub, now=at(15))
    assert exc.code == "OPT_OUT" and "email" in str(exc)
    assert hub.comms.send("C1", actor="ann", channel="letter", now=at(15))["status"] == "sent"
    hub.comms.contact("C1", actor="ann", opt_in=["email"])
    assert hub.comms.send("C1", actor="ann", now=at(16))["status"] == "pending"


def test_an_open_dispute_blocks_a_reminder_about_its_invoice(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    d = hub.disputes.open("C1", actor="ann", invoice="INV-1", reason="goods damaged", amount=Decimal("300"))
    exc = blocked(hub, now=at(15), invoices=["INV-1"])
    assert exc.code == "DISPUTE_OPEN" and "INV-1" in str(exc)
    assert "争议" in i18n.error_text("zh_CN", exc)
    # without naming invoices, a reminder leaves the disputed one out
    row = hub.comms.send("C1", actor="ann", now=at(15))
    assert row["invoices"] == ["INV-2"]
    # a dispute on the whole account stops every reminder
    hub.disputes.open("C1", actor="ann", reason="contests the contract")
    assert blocked(hub, now=at(16)).code == "DISPUTE_OPEN"
    hub.disputes.resolve(d["id"], actor="ann", resolution="credit note 300")
    assert [x["status"] for x in hub.disputes.list(customer_id="C1")] == ["open", "resolved"]


def test_the_customer_wide_dispute_rule_is_a_setting(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port, extra="dispute_blocks_customer = true")
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    hub.disputes.open("C1", actor="ann", invoice="INV-1", reason="price")
    assert blocked(hub, now=at(15), invoices=["INV-2"]).code == "DISPUTE_OPEN"


def exposure(overdue: str, oldest: dt.date, as_of: dt.date) -> CustomerRisk:
    return CustomerRisk(
        exposure=Exposure(
            customer_id="C1",
            as_of=as_of,
            currency="EUR",
            open_amount=Decimal("2000.00"),
            overdue_amount=Decimal(overdue),
            buckets={},
            oldest_due_date=oldest,
            max_days_past_due=(as_of - oldest).days,
        )
    )


def test_a_dispute_pauses_the_ladder_for_its_invoice(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    as_of = D + dt.timedelta(days=40)
    settings = CollectionsConfig()
    with hub.store.connect() as conn:
        before = plan_next_actions(conn, [exposure("2000.00", D, as_of)], settings, as_of)["C1"]
    assert before["action"] == "visit" and before["overdue"] == "2000.00"
    hub.disputes.open("C1", actor="ann", invoice="INV-1", reason="goods damaged")
    with hub.store.connect() as conn:
        after = plan_next_actions(conn, [exposure("2000.00", D, as_of)], settings, as_of)["C1"]
    # planned from INV-2 alone (due D + 10, 800.00): 30 days past due, the visit is not yet due
    assert after["overdue"] == "800.00" and after["disputed"] == ["INV-1"]
    assert after["oldest_due_date"] == (D + dt.timedelta(days=10)).isoformat() and after["days_past_due"] == 30
    hub.disputes.open("C1", actor="ann", invoice="INV-2", reason="never delivered")
    with hub.store.connect() as conn:
        both = plan_next_actions(conn, [exposure("2000.00", D, as_of)], settings, as_of)["C1"]
    assert both["paused_by_dispute"] and "step" not in both and both["disputed"] == ["INV-1", "INV-2"]


def test_emails_a_crm_logged_count_towards_the_frequency_limit(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    from hub.store import schema, utcnow

    from .conftest import add_customer

    hub = make_hub(tmp_path, db_url, smtp.port, extra='frequency = [{ channel = "email", max = 1, days = 7 }]')
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    with hub.store.begin() as conn:
        conn.execute(schema.customer.delete().where(schema.customer.c.source == "crm"))
        add_customer(conn, "acc-77", "C1", "Shanghai Example Trading")
        conn.execute(schema.customer.update().where(schema.customer.c.external_id == "acc-77").values(source="crm"))
        conn.execute(
            schema.collection_action.insert().values(
                source="crm",
                external_id="task-1",
                record_hash=0,
                synced_at=utcnow(),
                customer_external_id="acc-77",
                invoice_numbers=[],
                channel="email",
                at=at(14),
                content="reminder sent from the CRM",
            )
        )
    assert blocked(hub, now=at(15)).code == "FREQUENCY"
