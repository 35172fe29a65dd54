"""A customer walked through the collection ladder over simulated days (the clock is passed in, nothing
sleeps): the emails arrive at a loopback SMTP server in Chinese, a quiet hour blocks a send, a dispute
takes one invoice out of the ladder, the final notice carries the late-payment interest of the EU rule,
the lawyer's letter is a PDF, and an agency gets the case's handover file and recovers part of the debt,
which is allocated like a receipt. The ledger holds every contact."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pypdf
import pytest

from hub.config import CollectionsConfig
from hub.errors import ComplianceBlock
from hub.model import Exposure
from hub.risk import CustomerRisk
from hub.risk.collection import plan_next_actions

from .conftest import D, Smtp, at, body_text, make_hub


def risk(as_of: dt.date) -> CustomerRisk:
    return CustomerRisk(
        exposure=Exposure(
            customer_id="C1",
            as_of=as_of,
            currency="EUR",
            open_amount=Decimal("2000.00"),
            overdue_amount=Decimal("2000.00"),
            buckets={},
            oldest_due_date=D,
            max_days_past_due=(as_of - D).days,
        )
    )


def test_a_customer_from_friendly_reminder_to_lawyers_letter(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    # the EU rule: reference rate 2.15% + 8 points, 40 EUR compensation per late invoice
    interest = '[interest]\nrule = "eu"\nreference_rates = [{ from = 2026-01-01, rate = "2.15" }]\n'
    hub = make_hub(tmp_path, db_url, smtp.port, extra=interest)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", language="zh_CN", time_zone="Asia/Shanghai")
    sent: list[str] = []

    # day 3 (Thursday, 10:00 in Shanghai): the friendly reminder, by email, in Chinese
    sent.append(hub.comms.send("C1", actor="ann", step="friendly reminder", now=at(3), deliver_now=True)["message_id"])
    first = smtp.inbox.messages[-1]
    assert "友情提醒" in str(first["Subject"]) and "INV-1" in body_text(first) and "INV-2" not in body_text(first)

    # day 17: the second reminder; both invoices are overdue by now
    sent.append(hub.comms.send("C1", actor="ann", step="second_reminder", now=at(17), deliver_now=True)["message_id"])
    second = smtp.inbox.messages[-1]
    assert "第二次提醒" in str(second["Subject"]) and "INV-2" in body_text(second)

    # day 24, 22:00 in Shanghai: the final notice is blocked by the quiet hours
    with pytest.raises(ComplianceBlock) as caught:
        hub.comms.send("C1", actor="ann", step="final_notice", now=at(24, hour=22))
    assert caught.value.code == "QUIET_HOURS"

    # the customer disputes INV-2: the ladder is planned without it
    hub.disputes.open("C1", actor="ann", invoice="INV-2", reason="short delivery", amount=Decimal("800.00"))
    as_of = D + dt.timedelta(days=25)
    with hub.store.connect() as conn:
        plan = plan_next_actions(conn, [risk(as_of)], CollectionsConfig(), as_of)["C1"]
    assert plan["disputed"] == ["INV-2"] and plan["overdue"] == "1200.00"
    hub.risk(as_of)  # the risk run stores the same plan
    stored = hub.exposures.customer("C1").exposure["next_action"]
    assert stored["disputed"] == ["INV-2"] and stored["overdue"] == "1200.00"

    # day 25, 10:00: the final notice goes out, about INV-1 alone
    row = hub.comms.send("C1", actor="ann", step="final_notice", now=at(25), deliver_now=True)
    sent.append(row["message_id"])
    assert row["invoices"] == ["INV-1"] and "最后通知" in str(smtp.inbox.messages[-1]["Subject"])
    # INV-1 (1,200.00, due D) is 25 days late at 10.15%: 1200 x 0.1015 x 25 / 365 = 8.34, plus 40.00
    assert "逾期利息及费用：€48.34" in body_text(smtp.inbox.messages[-1]).replace("\u00a0", "")  # noqa: RUF001

    # day 62: the lawyer's letter, as a PDF to print
    letter = hub.comms.send("C1", actor="legal", step="lawyer's letter", channel="letter", now=at(62))
    sent.append(letter["message_id"])
    _, _, pdf = hub.comms.message(letter["message_id"])
    assert pdf is not None
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "律师函" in text and "INV-1" in text and "INV-2" not in text

    # the SMTP server got each email once; the ledger holds every contact with its Message-ID
    assert smtp.inbox.ids() == sent[:3]
    lines = sorted(
        (x for x in hub.collections.ledger("C1") if x["external_id"].startswith("comms-")), key=lambda x: x["at"]
    )
    assert [x["channel"] for x in lines] == ["email", "email", "email", "lawyer_letter"]
    assert all(mid in str(x["content"]) for mid, x in zip(sent, lines, strict=True))
    assert [x["author"] for x in lines] == ["ann", "ann", "ann", "legal"]

    # day 90: the ladder is done; an agency takes the case and gets the handover file in Chinese
    case = hub.cases.open("C1", kind="agency", actor="legal", agency="Inkasso Nord", agency_ref="IN-7731")
    assert [i["number"] for i in hub.cases.show(case["id"])["invoices"]] == ["INV-1"]
    handover = tmp_path / "handover.xlsx"
    hub.cases.handover(case["id"], str(handover), language="zh_CN", as_of=D + dt.timedelta(days=90), actor="legal")
    book = openpyxl.load_workbook(handover)
    ledger = list(book["催收记录"].iter_rows(values_only=True))[1:]
    assert sorted(r[1] for r in ledger) == ["律师函", "电子邮件", "电子邮件", "电子邮件"]
    assert all(any(mid in str(r[4]) for r in ledger) for mid in sent)
    invoices = list(book["发票"].iter_rows(values_only=True))
    assert [r[0] for r in invoices[1:]] == ["INV-1"]

    # day 120: the agency recovers 700.00, less its 15% commission; the money is allocated to INV-1
    done = hub.cases.recovery(
        case["id"],
        Decimal("700.00"),
        ref="IN-7731-1",
        actor="legal",
        booked_on=D + dt.timedelta(days=120),
        commission=Decimal("105.00"),
    )
    assert done.problem is None and done.allocated == [("INV-1", Decimal("700.00"))]
    shown = hub.cases.show(case["id"])
    assert shown["recovered"] == Decimal("700.00") and [i["open"] for i in shown["invoices"]] == [Decimal("500.00")]
