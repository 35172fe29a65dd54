"""Collection emails through a real SMTP server on loopback (aiosmtpd): content, language, retries,
5xx rejections, and two deliverers at once."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from hub.app import Hub
from hub.config import load_config
from hub.errors import ComplianceBlock

from .conftest import Smtp, at, body_text, free_port, make_hub


def ledger_lines(hub: Hub, customer: str) -> list[dict[str, object]]:
    return [x for x in hub.collections.ledger(customer) if x["external_id"].startswith("comms-")]


def test_a_chinese_reminder_arrives_parsed_and_the_ledger_holds_its_message_id(
    tmp_path: Path, db_url: str, smtp: Smtp
) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", language="zh_CN", time_zone="Asia/Shanghai")
    row = hub.comms.send("C1", actor="ann", step="friendly reminder", now=at(15))
    assert row["status"] == "pending" and smtp.inbox.messages == []
    stats = hub.comms.deliver(now=at(15))
    assert stats.sent == 1 and not stats.unreachable
    (msg,) = smtp.inbox.messages
    assert str(msg["Message-ID"]).strip() == row["message_id"]
    assert "友情提醒" in str(msg["Subject"]) and msg["To"] == "ap@buyer.example"
    assert "ar@seller.example" in str(msg["From"]) and msg["Reply-To"] == "collections@seller.example"
    text = body_text(msg)
    # both invoices overdue on day 12: amounts, due dates, days late and the total, in Chinese
    assert "INV-1" in text and "INV-2" in text and "逾期天数" in text and "未付合计" in text
    assert "15" in text and "5" in text and "2,000.00" in text
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and "<table" in str(html.get_content())
    (line,) = ledger_lines(hub, "C1")
    assert line["channel"] == "email" and line["author"] == "ann"
    assert row["message_id"] in str(line["content"]) and line["invoices"] == ["INV-1", "INV-2"]
    assert hub.comms.messages(customer_id="C1")[0]["status"] == "sent"


def test_an_english_customer_gets_english(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C2", actor="ann", email="ap@alpha.example", time_zone="Europe/Berlin")
    hub.comms.send("C2", actor="ann", step="second_reminder", now=at(15, tz="Europe/Berlin"), deliver_now=True)
    (msg,) = smtp.inbox.messages
    assert str(msg["Subject"]).startswith("Second reminder") and "Days late" in body_text(msg)


def test_smtp_down_is_recorded_retried_with_backoff_and_delivered_once(tmp_path: Path, db_url: str) -> None:
    server = Smtp(free_port())  # not started yet: nothing listens on its port
    hub = make_hub(tmp_path, db_url, server.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    row = hub.comms.send("C1", actor="ann", now=at(15))
    first = hub.comms.deliver(now=at(15))
    assert first.unreachable and first.failed == 1 and first.sent == 0
    (failed,) = hub.comms.messages()
    assert failed["status"] == "failed" and failed["attempts"] == 1 and failed["last_error"]
    assert hub.comms.deliver(now=at(15)).failed == 0  # waits for its backoff (30-60 s)
    server.start()
    try:
        later = hub.comms.deliver(now=at(15) + dt.timedelta(minutes=5))
        assert later.sent == 1
        assert server.inbox.ids() == [row["message_id"]]
        assert hub.comms.deliver(now=at(15) + dt.timedelta(hours=5)).sent == 0
    finally:
        server.stop()
    assert len(ledger_lines(hub, "C1")) == 1


def test_a_550_rejection_is_dead_at_once_and_logs_nothing(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="nobody@buyer.example", time_zone="Asia/Shanghai")
    smtp.inbox.reject = "550 5.1.1 mailbox unavailable"
    hub.comms.send("C1", actor="ann", now=at(15))
    stats = hub.comms.deliver(now=at(15))
    assert stats.dead == 1 and stats.failed == 0 and not stats.unreachable
    (dead,) = hub.comms.messages()
    assert dead["status"] == "dead" and "550" in dead["last_error"]
    assert hub.comms.deliver(now=at(20)).sent == 0
    assert ledger_lines(hub, "C1") == []


def test_two_deliverers_at_once_never_send_a_message_twice(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port, extra="frequency = []")
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    queued = [hub.comms.send("C1", actor="ann", now=at(15))["message_id"] for _ in range(8)]
    hubs = [Hub(load_config(tmp_path / "hub.toml"), lock_wait=30) for _ in range(2)]
    results: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(h: Hub) -> None:
        try:
            start.wait()
            for _ in range(4):
                results.append(h.comms.deliver(now=at(15), limit=3).sent)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(h,)) for h in hubs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sorted(smtp.inbox.ids()) == sorted(queued)  # each once, none twice
    assert sum(results) == 8
    assert len(ledger_lines(hub, "C1")) == 8
    for h in hubs:
        h.close()


@pytest.mark.parametrize("attach", [True])
def test_an_email_can_carry_the_statement_pdf(tmp_path: Path, db_url: str, smtp: Smtp, attach: bool) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    hub.comms.send("C1", actor="ann", step="statement", attach_statement=attach, now=at(15), deliver_now=True)
    (msg,) = smtp.inbox.messages
    (pdf,) = list(msg.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content().startswith(b"%PDF")


def test_a_queued_email_waits_out_the_quiet_hours_and_an_opt_out_blocks_it(
    tmp_path: Path, db_url: str, smtp: Smtp
) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port, extra="frequency = []")
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    evening = hub.comms.send("C1", actor="ann", now=at(15, hour=19))
    late = hub.comms.deliver(now=at(15, hour=21))  # deliver runs at 21:00 Shanghai time: not now
    assert late.postponed == 1 and late.sent == 0 and smtp.inbox.messages == []
    (waiting,) = hub.comms.messages()
    assert waiting["status"] == "pending" and waiting["next_attempt_at"] == at(16, hour=8).isoformat()
    assert hub.comms.deliver(now=at(16, hour=9)).sent == 1
    assert smtp.inbox.ids() == [evening["message_id"]]
    hub.comms.send("C1", actor="ann", now=at(16, hour=10))
    hub.comms.contact("C1", actor="ann", opt_out=["email"])
    blocked = hub.comms.deliver(now=at(16, hour=10))
    assert blocked.blocked == 1 and len(smtp.inbox.messages) == 1
    assert hub.comms.messages(status="blocked")[0]["last_error"].startswith("OPT_OUT")


def test_a_blocked_send_is_in_the_audit_log(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai", opt_out=["email"])
    with pytest.raises(ComplianceBlock):
        hub.comms.send("C1", actor="ann", now=at(15))
    (entry,) = hub.audit.page(action="comms.blocked").items
    assert entry["details"]["rule"] == "OPT_OUT" and entry["actor"] == "ann" and entry["object_id"] == "C1"


def test_a_message_another_deliverer_took_over_after_our_lease_ran_out_is_not_sent_twice(
    tmp_path: Path, db_url: str, smtp: Smtp
) -> None:
    """A slow run outlives its lease and a second deliverer claims the message still waiting: the first
    renews its claim before each send, finds the message gone and leaves it to the other."""
    import sqlalchemy as sa

    from hub.store import schema, utcnow

    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    hub.comms.contact("C2", actor="ann", email="ap@alpha.example", time_zone="Asia/Shanghai")
    first = hub.comms.send("C1", actor="ann", now=at(15))
    second = hub.comms.send("C2", actor="ann", now=at(15))
    m = schema.comms_message
    received = smtp.inbox.handle_DATA

    async def take_over_the_second(server: object, session: object, envelope: object) -> str:
        with hub.store.begin() as conn:  # meanwhile, the other deliverer's claim
            conn.execute(
                m.update()
                .where(m.c.message_id == second["message_id"])
                .values(claimed_by="other", claim_expires_at=utcnow() + dt.timedelta(hours=1))
            )
        return await received(server, session, envelope)

    smtp.inbox.handle_DATA = take_over_the_second  # type: ignore[method-assign]
    stats = hub.comms.deliver(now=at(15))
    assert stats.sent == 1 and smtp.inbox.ids() == [first["message_id"]]
    with hub.store.connect() as conn:
        row = conn.execute(sa.select(m.c.status, m.c.claimed_by).where(m.c.message_id == second["message_id"])).one()
    assert tuple(row) == ("pending", "other")
