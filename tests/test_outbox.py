"""Outbox delivery: retries with backoff, dead letters, replay, and effects exactly once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from hub_connectors.json_file import JsonFileSink

from hub.connector import DeliveryResult, Sink
from hub.errors import SinkError
from hub.model import FlagChange
from hub.outbox import Outbox, enqueue
from hub.store import Store, schema, utcnow


def _queue(store: Store, sink: str, n: int) -> list[FlagChange]:
    now = utcnow()
    changes = [
        FlagChange(
            event_id=f"C{i}:OVER_LIMIT:v1",
            customer_id=f"C{i}",
            code="OVER_LIMIT",
            action="raised",
            version=1,
            reason="r",
            at=now,
        )
        for i in range(n)
    ]
    with store.begin() as conn:
        enqueue(conn, changes, [sink], now)
    return changes


class FlakySink(Sink):
    """Down for the first ``failures`` calls, then delivers."""

    batch_size = 4

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.received: list[str] = []

    def deliver(self, changes: Sequence[FlagChange]) -> Sequence[DeliveryResult]:
        self.calls += 1
        if self.calls <= self.failures:
            raise SinkError("503 Service Unavailable")
        self.received.extend(c.event_id for c in changes)
        return [DeliveryResult(c.event_id, True) for c in changes]


def _statuses(store: Store) -> dict[str, int]:
    o = schema.outbox
    with store.connect() as conn:
        return dict(conn.execute(sa.select(o.c.status, sa.func.count()).group_by(o.c.status)).all())


def test_sink_that_fails_three_times_then_recovers_receives_everything_once(store: Store) -> None:
    changes = _queue(store, "crm", 10)
    sink = FlakySink(failures=3)
    outbox = Outbox(store, max_attempts=8, backoff_seconds=0)
    for _ in range(3):
        stats = outbox.push({"crm": sink})
        assert stats.delivered == 0 and stats.failed == 4  # one batch tried, the sink is down: stop
    stats = outbox.push({"crm": sink})
    assert stats.delivered == 10
    assert sorted(sink.received) == sorted(c.event_id for c in changes)
    assert _statuses(store) == {"delivered": 10}


def test_backoff_delays_the_next_attempt(store: Store) -> None:
    _queue(store, "crm", 2)
    sink = FlakySink(failures=1)
    outbox = Outbox(store, backoff_seconds=60)
    outbox.push({"crm": sink})
    assert outbox.push({"crm": sink}).delivered == 0  # not due yet
    later = utcnow() + dt.timedelta(minutes=5)
    assert outbox.push({"crm": sink}, now=later).delivered == 2


class RejectingSink(Sink):
    def deliver(self, changes: Sequence[FlagChange]) -> Sequence[DeliveryResult]:
        return [
            DeliveryResult(c.event_id, c.customer_id != "C1", error="400 INVALID_FIELD", permanent=True)
            for c in changes
        ]


def test_permanent_failures_go_to_dead_letter_and_replay_requeues_them(store: Store) -> None:
    _queue(store, "crm", 3)
    outbox = Outbox(store, backoff_seconds=0)
    stats = outbox.push({"crm": RejectingSink()})
    assert (stats.delivered, stats.sinks[0].dead) == (2, 1)
    dead = outbox.rows("dead")
    assert [r["event_id"] for r in dead] == ["C1:OVER_LIMIT:v1"]
    assert dead[0]["last_error"] == "400 INVALID_FIELD"
    assert outbox.replay(sink="crm") == 1
    sink = FlakySink(failures=0)
    assert outbox.push({"crm": sink}).delivered == 1
    assert sink.received == ["C1:OVER_LIMIT:v1"]


def test_retries_stop_after_max_attempts(store: Store) -> None:
    _queue(store, "crm", 1)
    outbox = Outbox(store, max_attempts=3, backoff_seconds=0)
    sink = FlakySink(failures=100)
    for _ in range(5):
        outbox.push({"crm": sink})
    assert sink.calls == 3
    assert _statuses(store) == {"dead": 1}


def test_json_file_sink_ignores_a_redelivered_change_and_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "flags.jsonl"
    now = utcnow()
    change = FlagChange(
        event_id="C1:OVER_LIMIT:v1", customer_id="C1", code="OVER_LIMIT", action="raised", version=1, reason="r", at=now
    )
    JsonFileSink(path).deliver([change])
    with path.open("a") as f:
        f.write('{"event_id": "C2:OVER')  # a crash mid-write
    fresh = JsonFileSink(path)  # a new process reads what is there
    other = change.model_copy(update={"event_id": "C2:OVER_LIMIT:v1", "customer_id": "C2"})
    results = fresh.deliver([change, other])
    assert all(r.ok for r in results)
    ids = []
    for line in path.read_text().splitlines():
        try:
            ids.append(json.loads(line)["event_id"])
        except ValueError:
            continue
    assert ids == ["C1:OVER_LIMIT:v1", "C2:OVER_LIMIT:v1"]


class UnreachableSink(FlakySink):
    def check(self) -> None:
        raise SinkError("connection refused")


def test_unreachable_sink_is_skipped_without_using_up_attempts(store: Store) -> None:
    _queue(store, "crm", 2)
    outbox = Outbox(store, max_attempts=1, backoff_seconds=0)
    stats = outbox.push({"crm": UnreachableSink(failures=0)})
    assert stats.sinks[0].errors == ["connection refused"]
    assert _statuses(store) == {"pending": 2}
