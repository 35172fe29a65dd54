"""'hub comms send-due': the message of every collection step the risk run planned, queued once, with
the steps a person does, the blocked ones and the customers without an address said so."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest

from hub.app import Hub
from hub.errors import HubError

from ..conftest import run_hub
from .conftest import D, Smtp, at, make_hub


def test_due_reminders_are_queued_once_and_the_rest_is_said(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    with pytest.raises(HubError, match="run 'hub risk' first"):
        hub.comms.send_due(actor="cron", as_of=D + dt.timedelta(days=3))
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", language="zh_CN", time_zone="Asia/Shanghai")
    hub.risk(
        D + dt.timedelta(days=3)
    )  # both customers' oldest invoice is 3 days late: the friendly reminder (a Thursday)

    planned = hub.comms.send_due(actor="cron", as_of=D + dt.timedelta(days=3), dry_run=True)
    assert {(x["customer_id"], x["template"], x["outcome"]) for x in planned} == {
        ("C1", "friendly_reminder", "planned"),
        ("C2", "friendly_reminder", "planned"),
    }
    assert hub.comms.messages() == []
    night = {
        x["customer_id"]: x
        for x in hub.comms.send_due(actor="cron", as_of=D + dt.timedelta(days=3), now=at(3, hour=22))
    }
    assert night["C1"]["outcome"] == "blocked" and night["C1"]["rule"] == "QUIET_HOURS"
    assert hub.comms.messages() == []

    first = {x["customer_id"]: x for x in hub.comms.send_due(actor="cron", as_of=D + dt.timedelta(days=3), now=at(3))}
    assert first["C1"]["outcome"] == "queued" and first["C1"]["channel"] == "email"
    assert first["C2"]["outcome"] == "skipped" and "no email" in first["C2"]["reason"]
    again = {x["customer_id"]: x for x in hub.comms.send_due(actor="cron", as_of=D + dt.timedelta(days=3), now=at(3))}
    assert again["C1"] == {**again["C1"], "outcome": "already", "message_id": first["C1"]["message_id"]}
    assert len(hub.comms.messages(customer_id="C1")) == 1

    assert hub.comms.deliver(now=at(3)).sent == 1
    assert "友情提醒" in str(smtp.inbox.messages[-1]["Subject"])

    # day 20: the reminder is in the ledger, so the ladder's next step is a call, which a person makes
    hub.risk(D + dt.timedelta(days=20))
    later = {x["customer_id"]: x for x in hub.comms.send_due(actor="cron", as_of=D + dt.timedelta(days=20), now=at(20))}
    assert later["C1"]["action"] == "call" and later["C1"]["outcome"] == "skipped"
    assert "done by a person" in later["C1"]["reason"]


def test_two_runs_at_once_queue_each_message_once(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    for customer in ("C1", "C2"):
        hub.comms.contact(customer, actor="ann", email=f"ap@{customer.lower()}.example", time_zone="Asia/Shanghai")
    hub.risk(D + dt.timedelta(days=3))
    results: list[list[dict[str, object]]] = []
    errors: list[BaseException] = []

    def run() -> None:
        other = Hub(hub.config, lock_wait=30)  # its own connections, as a second process would have
        try:
            results.append(other.comms.send_due(actor="cron", as_of=D + dt.timedelta(days=3), now=at(3)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            other.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    outcomes = sorted(str(x["outcome"]) for r in results for x in r)
    assert outcomes == ["already", "already", "queued", "queued"]
    assert len(hub.comms.messages()) == 2


def test_the_command_lists_the_steps_and_exits_zero(tmp_path: Path, db_url: str, smtp: Smtp) -> None:
    hub = make_hub(tmp_path, db_url, smtp.port)
    hub.risk(D + dt.timedelta(days=3))
    hub.close()
    day = str(D + dt.timedelta(days=3))
    done = run_hub("--json", "comms", "send-due", "--as-of", day, "--dry-run", cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert {x["customer_id"] for x in json.loads(done.stdout)} == {"C1", "C2"}
    bad = run_hub("comms", "send-due", "--as-of", "tomorrow", cwd=tmp_path, check=False)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "--as-of" in bad.stderr
