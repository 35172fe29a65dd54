"""Delivery survives crashes and bad sinks: every event reaches every sink exactly once in effect.

- a real ``hub push`` killed with SIGKILL in the middle of delivering, then run again;
- a sink that is down three times and then recovers (registered through the plugin manager);
- a poison record that a sink refuses for good: dead letter, replay, delivered once fixed;
- a record that keeps failing until ``max_attempts``: dead letter;
- an outbox payload written before events had a ``kind``: still a flag change.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hub_connectors.json_file import JsonFileSink, read_events

from hub import hookimpl
from hub.app import Hub
from hub.config import load_config
from hub.connector import Connector, ConnectorConfig, ConnectorContext, ConnectorType, DeliveryResult, Sink
from hub.errors import SinkError
from hub.model import FlagChange, OutboxEvent
from hub.outbox import Outbox, enqueue
from hub.plugins import load_plugins
from hub.store import Store, schema, utcnow
from tests.conftest import run_hub, write_config

AT = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def flag(customer: str, code: str = "OVER_LIMIT", version: int = 1) -> FlagChange:
    return FlagChange(
        event_id=f"{customer}:{code}:v{version}",
        customer_id=customer,
        code=code,
        action="raised",
        version=version,
        reason=f"{customer} owes EUR 12,400.00 against a credit limit of EUR 10,000.00.",
        at=AT,
        links={"erp": customer},
    )


def _statuses(store: Store) -> dict[str, int]:
    o = schema.outbox
    with store.connect() as conn:
        return {s: int(n) for s, n in conn.execute(sa.select(o.c.status, sa.func.count()).group_by(o.c.status))}


def _dead_letters(store: Store) -> list[dict[str, Any]]:
    dl = schema.outbox_dead_letter
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(dl).order_by(dl.c.id))]


# -- (a) a real hub push, killed mid-delivery ----------------------------------------------------------

EVENTS_PER_ROUND = 2500
BATCH = 5  # small batches: one write, fsync and commit each, so a kill lands between (or inside) them
LEASE = 2  # seconds a pusher's claim lasts: a killed pusher's batch is delivered by a push after that


def _complete_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _push_and_kill(folder: Path, sink_file: Path, after: int, total: int) -> tuple[bool, int]:
    """Start ``hub push`` and SIGKILL it once the file has more than ``after`` but fewer than ``total`` lines.

    Returns (killed, lines when killed); not killed when the push finished before the kill landed.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "-c", "hub.toml", "push"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            lines = _complete_lines(sink_file)
            if after < lines < total:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=60)
                return proc.returncode == -signal.SIGKILL, lines
            time.sleep(0.002)
        assert proc.poll() is not None, "hub push neither finished nor wrote within 300 s"
        return False, _complete_lines(sink_file)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)


def _push_dying_at(folder: Path, fault: str) -> bool:
    """Run ``hub push`` with the fault suite's kill point ``fault`` (``HUB_FAULTS``): it kills itself
    with SIGKILL there. False when the push ended before reaching it."""
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "-c", "hub.toml", "push"],
        cwd=folder,
        env={**os.environ, "HUB_FAULTS": fault},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    return done.returncode == -signal.SIGKILL


def test_hub_push_killed_mid_delivery_and_run_again_delivers_every_change_exactly_once(
    tmp_path: Path, db_url: str
) -> None:
    write_config(
        tmp_path,
        db_url,
        customers=None,
        invoices=None,
        statements=None,
        sink=None,
        extra=f'[connectors.flags]\ntype = "json-file"\npath = "out/flags.jsonl"\nbatch_size = {BATCH}\n'
        f"[outbox]\nlease_seconds = {LEASE}\n",
    )
    sink_file = tmp_path / "out" / "flags.jsonl"
    store = Store(db_url)
    store.migrate()
    rng = random.Random()
    # A push commits once before its first batch, then twice per batch: its claim, then the record of
    # what the sink took. Dying just before commit 2k+1 is dying after the sink wrote batch k and
    # before the outbox recorded it: the window a kill from outside hits only by luck.
    batch_k = rng.randint(10, EVENTS_PER_ROUND // BATCH - 10)
    kills_at = [
        f"push:commit:{2 * batch_k + 1}",  # between the sink's write and the outbox's record
        f"push:statement:{rng.randint(20, 2000)}",  # anywhere: in a claim, a record or between
        None,  # from outside, at whatever moment the file has grown by ten batches
    ]
    queued: list[str] = []
    kills = 0
    unrecorded: dict[str | None, int] = {}  # per kill: events the sink holds that the outbox had not recorded
    try:
        for round_no, fault in enumerate(kills_at):
            events = [flag(f"R{round_no}C{i:05d}") for i in range(EVENTS_PER_ROUND)]
            with store.begin() as conn:
                assert enqueue(conn, events, ["flags"], utcnow()) == EVENTS_PER_ROUND
            queued += [e.event_id for e in events]
            if fault is None:
                # Some batches in: the sink writes batch k+1 only after batch k is recorded, so some are delivered.
                after = _complete_lines(sink_file) + 10 * BATCH
                killed, _ = _push_and_kill(tmp_path, sink_file, after, len(queued))
            else:
                killed = _push_dying_at(tmp_path, fault)
                assert killed, f"hub push ended before its kill point {fault}"
            if not killed:
                continue
            statuses = _statuses(store)
            written = {r["event_id"] for r in read_events(sink_file)} if sink_file.exists() else set()
            assert len(written) < len(queued)  # the kill really landed before the end
            assert statuses.get("pending", 0) > 0 and statuses.get("delivered", 0) > 0
            o = schema.outbox
            with store.connect() as conn:
                delivered = set(conn.execute(sa.select(o.c.event_id).where(o.c.status == "delivered")).scalars())
            # The sink writes (and fsyncs) before the outbox records: nothing recorded delivered is missing.
            assert delivered <= written, fault
            kills += 1
            unrecorded[fault] = len(written - delivered)
        assert kills >= 2
        # The kill before the record's commit left one batch in the file that the outbox had not recorded:
        # the next run delivers it again, and the sink's idempotency is what keeps it single.
        assert unrecorded[kills_at[0]] == BATCH, kills_at[0]

        # The killed pushes' claims on the batch they were delivering expire with the lease; then
        # those rows are delivered again.
        time.sleep(LEASE + 0.5)
        finished = run_hub("-c", "hub.toml", "--json", "push", cwd=tmp_path)
        assert json.loads(finished.stdout)["push"]["failed"] == 0
    finally:
        store.dispose()

    check = Store(db_url)
    try:
        assert _statuses(check) == {"delivered": len(queued)}
        assert _dead_letters(check) == []
    finally:
        check.dispose()
    lines = sink_file.read_text(encoding="utf-8").splitlines()
    records: list[str] = []
    torn: list[str] = []
    for line in lines:
        try:
            records.append(json.loads(line)["event_id"])
        except ValueError:
            torn.append(line)
    assert sorted(records) == sorted(queued)  # every change once: none lost, none twice
    assert len(records) == len(set(records))
    assert [r["event_id"] for r in read_events(sink_file)] == records
    # A line torn by a kill is never a complete record: it is the start of a line written in full later.
    assert len(torn) <= kills
    assert all(t and any(full.startswith(t) and full != t for full in lines) for t in torn)


# -- (b) a sink that is down three times, registered like any third-party connector ---------------------


class FlakyConfig(ConnectorConfig):
    failures: int = 0


class FlakySink(Sink):
    """Raises SinkError on the first ``failures`` deliver calls, then records what it receives."""

    batch_size = 4

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.received: list[str] = []

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        self.calls += 1
        if self.calls <= self.failures:
            raise SinkError("HTTP 503 from https://crm.example.test: Service Unavailable")
        self.received.extend(e.event_id for e in events)
        return [DeliveryResult(e.event_id, True) for e in events]


def _create_flaky(name: str, config: FlakyConfig, context: ConnectorContext) -> Connector:
    return Connector(name=name, type="flaky", sink=FlakySink(config.failures))


class FlakyPlugin:
    @hookimpl
    def hub_register_connectors(self) -> list[ConnectorType]:
        return [ConnectorType("flaky", "A CRM that is down for a while.", FlakyConfig, _create_flaky)]


def test_a_sink_down_three_times_then_back_receives_everything_exactly_once(tmp_path: Path, db_url: str) -> None:
    config = write_config(
        tmp_path,
        db_url,
        customers=None,
        invoices=None,
        statements=None,
        sink=None,
        extra='[connectors.crm]\ntype = "flaky"\nfailures = 3\n\n[outbox]\nbackoff_seconds = 0\nmax_attempts = 8\n',
    )
    hub = Hub(load_config(config), plugins=load_plugins(allow=[], extra=[("flaky", FlakyPlugin())]))
    try:
        hub.store.migrate()
        events = [flag(f"C{i}") for i in range(10)]
        with hub.store.begin() as conn:
            enqueue(conn, events, ["crm"], utcnow())
        sink = hub.sinks()["crm"]
        assert isinstance(sink, FlakySink)
        for attempt in range(1, 4):
            stats = hub.push()
            # The first batch fails, the sink is down: the push stops, four rows used one attempt each.
            assert (stats.delivered, stats.failed, stats.dead) == (0, 4, 0)
            assert stats.sinks[0].errors == ["HTTP 503 from https://crm.example.test: Service Unavailable"]
            assert sink.calls == attempt
        assert _statuses(hub.store) == {"failed": 4, "pending": 6}
        stats = hub.push()
        assert (stats.delivered, stats.failed, stats.dead) == (10, 0, 0)
        assert sorted(sink.received) == sorted(e.event_id for e in events)
        assert len(sink.received) == len(set(sink.received))
        assert _statuses(hub.store) == {"delivered": 10}
        o = schema.outbox
        with hub.store.connect() as conn:
            attempts = dict(conn.execute(sa.select(o.c.event_id, o.c.attempts)).all())
        assert sorted(attempts.values()) == [1] * 6 + [4] * 4  # the first batch: three failures, then delivered
        assert hub.push().delivered == 0  # nothing is sent twice
        assert sink.calls == 3 + 3  # three failed calls, then three batches of at most four
    finally:
        hub.close()


# -- (c) a poison record ------------------------------------------------------------------------------


class RefusingSink(Sink):
    """Refuses ``refused`` permanently (the target says the record is invalid) and takes the rest."""

    batch_size = 3

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused
        self.received: list[str] = []

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        results = []
        for e in events:
            if e.event_id in self.refused:
                results.append(DeliveryResult(e.event_id, False, "HTTP 422: customer C2 is archived", permanent=True))
            else:
                self.received.append(e.event_id)
                results.append(DeliveryResult(e.event_id, True))
        return results


def test_a_poison_record_goes_to_dead_letter_and_replay_delivers_it_once_the_sink_is_fixed(store: Store) -> None:
    events = [flag(f"C{i}") for i in range(1, 8)]
    with store.begin() as conn:
        enqueue(conn, events, ["crm"], utcnow())
    o = schema.outbox
    with store.connect() as conn:
        poison_row = conn.execute(sa.select(o).where(o.c.event_id == "C2:OVER_LIMIT:v1")).one()
    outbox = Outbox(store, max_attempts=8, backoff_seconds=0)
    sink = RefusingSink({"C2:OVER_LIMIT:v1"})

    stats = outbox.push({"crm": sink})
    assert (stats.delivered, stats.failed, stats.dead) == (6, 0, 1)
    assert sink.received == [e.event_id for e in events if e.event_id != "C2:OVER_LIMIT:v1"]
    (dead,) = _dead_letters(store)
    assert (dead["outbox_id"], dead["sink"], dead["event_id"], dead["attempts"], dead["permanent"]) == (
        poison_row.id,
        "crm",
        "C2:OVER_LIMIT:v1",
        1,
        True,
    )
    assert dead["last_error"] == "HTTP 422: customer C2 is archived"
    assert dead["payload"] == poison_row.payload
    with store.connect() as conn:
        assert conn.execute(sa.select(o.c.id).where(o.c.event_id == "C2:OVER_LIMIT:v1")).all() == []
    assert _statuses(store) == {"delivered": 6}
    assert outbox.push({"crm": sink}).dead == 0  # the pending scan never sees it again

    replayed = outbox.replay(sink="crm", actor="maria")
    assert (replayed.dead_letters, replayed.failed) == (1, 0)
    assert _dead_letters(store) == []
    assert _statuses(store) == {"delivered": 6, "pending": 1}

    sink.refused.clear()  # the customer was restored in the CRM
    stats = outbox.push({"crm": sink})
    assert (stats.delivered, stats.dead) == (1, 0)
    assert sorted(sink.received) == sorted(e.event_id for e in events)
    assert _statuses(store) == {"delivered": 7}


# -- (d) too many attempts ------------------------------------------------------------------------------


def test_a_record_that_fails_max_attempts_times_goes_to_dead_letter(store: Store) -> None:
    with store.begin() as conn:
        enqueue(conn, [flag("C1")], ["crm"], utcnow())
    outbox = Outbox(store, max_attempts=3, backoff_seconds=0)
    sink = FlakySink(failures=100)
    pushes = [outbox.push({"crm": sink}) for _ in range(5)]
    assert [(p.failed, p.dead) for p in pushes] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    assert sink.calls == 3
    (dead,) = _dead_letters(store)
    assert (dead["event_id"], dead["attempts"], dead["permanent"]) == ("C1:OVER_LIMIT:v1", 3, False)
    assert dead["last_error"] == "HTTP 503 from https://crm.example.test: Service Unavailable"
    assert _statuses(store) == {}
    assert outbox.summary() == [{"sink": "crm", "status": "dead", "count": 1}]


# -- (e) a payload from before events had a kind --------------------------------------------------------


def test_an_outbox_payload_without_kind_is_delivered_as_a_flag_change(store: Store, tmp_path: Path) -> None:
    change = flag("C9", "OVERDUE_90", version=3)
    old_payload = change.model_dump(mode="json", exclude={"kind"})
    assert "kind" not in old_payload
    now = utcnow()
    with store.begin() as conn:
        conn.execute(
            schema.outbox.insert(),
            [
                {
                    "sink": sink,
                    "event_id": change.event_id,
                    "payload": old_payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for sink in ("crm", "file")
            ],
        )

    class KeepingSink(Sink):
        def __init__(self) -> None:
            self.received: list[OutboxEvent] = []

        def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
            self.received.extend(events)
            return [DeliveryResult(e.event_id, True) for e in events]

    keeping = KeepingSink()
    path = tmp_path / "flags.jsonl"
    stats = Outbox(store).push({"crm": keeping, "file": JsonFileSink(path)})
    assert (stats.delivered, stats.failed, stats.dead) == (2, 0, 0)
    named = change.model_copy(update={"label": "More than 90 days overdue"})  # the flag's name, for people
    assert keeping.received == [named]
    assert isinstance(keeping.received[0], FlagChange)
    (line,) = list(read_events(path))
    assert line == named.model_dump(mode="json")
    assert line["kind"] == "flag"
