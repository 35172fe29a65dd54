"""A command that could not do its job says why in one line and exits non-zero; no line shows a secret.

A scheduler reads exit codes: ``hub push`` with a sink down, or events failing, must not exit 0
while changes sit undelivered, and ``hub run`` neither. Servers that echo the request's
Authorization header in their error bodies exist; whatever reaches a line the command line prints
(or the outbox's stored error) has every credential replaced.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa

from hub.model import FlagChange
from hub.outbox import enqueue
from hub.store import Store, schema, utcnow

from .conftest import generate, run_hub, write_config
from .loopback import echoing_server, example_plugin_path, webhook_receiver

AT = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
TOKEN = "pat-na1-0b7d6c5e-hub-test-secret"
CLIENT_SECRET = "sf-client-secret-4f3e2d1c0b"
RUNTIME_TOKEN = "00Druntime!ARtokenOfThisRun.9f8e7d6c5b4a"


def _flag(customer: str) -> FlagChange:
    return FlagChange(
        event_id=f"{customer}:OVER_LIMIT:v1",
        customer_id=customer,
        code="OVER_LIMIT",
        action="raised",
        version=1,
        reason="over the limit",
        at=AT,
    )


def _queue(url: str, sinks: list[str], customers: int = 3) -> None:
    store = Store(url)
    store.migrate()
    with store.begin() as conn:
        enqueue(conn, [_flag(f"C{n}") for n in range(customers)], sinks, utcnow())
    store.dispose()


def _webhook(folder: Path, url: str) -> dict[str, str]:
    extra = f'[connectors.alerts]\ntype = "example-webhook"\nurl = "{url}"\n[outbox]\nbackoff_seconds = 3600\n'
    write_config(
        folder, f"sqlite:///{folder / 'hub.db'}", customers=None, invoices=None, statements=None, sink=None, extra=extra
    )
    return {"PYTHONPATH": example_plugin_path(folder / "site")}


def test_push_to_an_unreachable_sink_exits_1_naming_it_and_what_is_pending(tmp_path: Path) -> None:
    env = _webhook(tmp_path, "http://127.0.0.1:1/hook")  # nothing listens there
    _queue(f"sqlite:///{tmp_path / 'hub.db'}", ["alerts"])
    first = run_hub("--json", "push", cwd=tmp_path, check=False, env=env)
    assert first.returncode == 1
    last = first.stderr.strip().splitlines()[-1]
    assert last.startswith("error: not every change reached its system: alerts: ")
    assert "3 events pending" in last
    assert json.loads(first.stdout)["push"]["pending"] == 3
    # The next scheduled push has nothing due (the events wait for their retry): still not a success.
    again = run_hub("push", cwd=tmp_path, check=False, env=env)
    assert again.returncode == 1
    assert "alerts: 3 events waiting to be retried after failing; 3 events pending" in again.stderr


def test_push_exits_0_once_every_change_is_delivered(tmp_path: Path) -> None:
    with webhook_receiver() as receiver:
        env = _webhook(tmp_path, f"{receiver.url}/hook")
        _queue(f"sqlite:///{tmp_path / 'hub.db'}", ["alerts"])
        done = run_hub("--json", "push", cwd=tmp_path, env=env)
    assert json.loads(done.stdout)["push"]["pending"] == 0
    assert sum(receiver.events.values()) == 3


def test_hub_run_exits_1_when_its_push_cannot_deliver(tmp_path: Path) -> None:
    generate(tmp_path, customers=20, invoices=200, receipts=40)
    extra = '[connectors.alerts]\ntype = "example-webhook"\nurl = "http://127.0.0.1:1/hook"\n'
    write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", sink=None, extra=extra)
    env = {"PYTHONPATH": example_plugin_path(tmp_path / "site")}
    run_hub("init", cwd=tmp_path)
    proc = run_hub("run", cwd=tmp_path, check=False, env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: not every change reached its system: alerts:")


def test_credentials_a_server_echoes_back_never_reach_a_printed_line_or_the_outbox(tmp_path: Path) -> None:
    with echoing_server() as url:
        extra = (
            f'[connectors.crm]\ntype = "hubspot"\nbase_url = "{url}"\ntoken = {{ env = "HUBSPOT_TOKEN" }}\n'
            f'[connectors.sfdc]\ntype = "salesforce"\nlogin_url = "{url}"\nclient_id = "hub-client"\n'
            'client_secret = { env = "SF_SECRET" }\n'
            "[outbox]\nmax_attempts = 1\n"
        )
        write_config(
            tmp_path,
            f"sqlite:///{tmp_path / 'hub.db'}",
            customers=None,
            invoices=None,
            statements=None,
            sink=None,
            extra=extra,
        )
        env = {"HUBSPOT_TOKEN": TOKEN, "SF_SECRET": CLIENT_SECRET}
        run_hub("init", cwd=tmp_path, env=env)
        outputs = []
        for connector in ("crm", "sfdc"):
            synced = run_hub("sync", "--connector", connector, cwd=tmp_path, check=False, env=env)
            assert synced.returncode == 1
            assert "error:" in synced.stderr
            outputs.append(synced.stdout + synced.stderr)
        _queue(f"sqlite:///{tmp_path / 'hub.db'}", ["crm", "sfdc"])
        pushed = run_hub("push", cwd=tmp_path, check=False, env=env)
        assert pushed.returncode == 1
        outputs.append(pushed.stdout + pushed.stderr)
        for status in ("failed", "dead"):
            shown = run_hub("outbox", "--status", status, cwd=tmp_path, env=env)
            outputs.append(shown.stdout + shown.stderr)
    assert any("Authentication failed for Authorization" in text for text in outputs)  # the echo was shown
    for text in outputs:
        for secret in (TOKEN, CLIENT_SECRET, RUNTIME_TOKEN):
            assert secret not in text
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    with store.connect() as conn:
        stored = " ".join(
            str(v) for row in conn.execute(sa.select(schema.outbox.c.last_error)) for v in row
        ) + " ".join(str(v) for row in conn.execute(sa.select(schema.outbox_dead_letter.c.last_error)) for v in row)
        stored += " ".join(str(v) for row in conn.execute(sa.select(schema.sync_run.c.error)) for v in row)
    store.dispose()
    assert "Authentication failed" in stored
    for secret in (TOKEN, CLIENT_SECRET, RUNTIME_TOKEN):
        assert secret not in stored


def test_the_outbox_is_read_and_replayed_without_the_sinks_secret(tmp_path: Path) -> None:
    extra = '[connectors.crm]\ntype = "hubspot"\ntoken = { env = "UNSET_HUBSPOT_TOKEN" }\n'
    write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'hub.db'}",
        customers=None,
        invoices=None,
        statements=None,
        sink=None,
        extra=extra,
    )
    run_hub("init", cwd=tmp_path)
    _queue(f"sqlite:///{tmp_path / 'hub.db'}", ["crm"])
    shown = run_hub("--json", "outbox", cwd=tmp_path)
    assert json.loads(shown.stdout)["summary"] == [{"sink": "crm", "status": "pending", "count": 3}]
    run_hub("outbox", "replay", "--sink", "crm", cwd=tmp_path)
    pushed = run_hub("push", cwd=tmp_path, check=False)  # delivering does need it: one clear line
    assert pushed.returncode == 1
    assert "connectors.crm.token: environment variable UNSET_HUBSPOT_TOKEN is not set" in pushed.stderr
