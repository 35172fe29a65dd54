"""Outbox delivery: every event kind, backoff, the dead-letter table, replay, and ``hub outbox``.

Crash safety (a killed ``hub push``, a flaky sink, poison records, old payloads) is in
``tests/test_push_crash.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hub_connectors.json_file import JsonFileSink, read_events

from hub.connector import DeliveryResult, Sink
from hub.errors import RETRY_AFTER_CEILING, HttpError, HubError, SinkError
from hub.model import BandChange, CreditLimitChange, FlagChange, OutboxEvent
from hub.outbox import Outbox, ReplayStats, enqueue
from hub.store import Store, schema, utcnow
from tests.conftest import run_hub, write_config

AT = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def flag(i: int, code: str = "OVER_LIMIT") -> FlagChange:
    return FlagChange(
        event_id=f"C{i}:{code}:v1",
        customer_id=f"C{i}",
        code=code,
        action="raised",
        version=1,
        reason=f"C{i} owes more than its credit limit.",
        at=AT,
    )


BAND = BandChange(
    event_id="C7:band:2026-03-02",
    customer_id="C7",
    band="high",
    previous="medium",
    score=38.5,
    reason="Score fell from 55 to 38.5: 42 days late on average over the last 6 payments.",
    at=AT,
    links={"crm": "CRM-7"},
)
LIMIT = CreditLimitChange(
    event_id="C7:credit_limit:12",
    customer_id="C7",
    amount=Decimal("12500.00"),
    currency="EUR",
    previous=Decimal("20000.00"),
    approved_by="maria",
    reason="Approved by maria. Limit lowered to EUR 12,500.00: exposure exceeded the limit for 30 days.",
    at=AT,
)


def _queue(store: Store, sink: str, events: Sequence[FlagChange | BandChange | CreditLimitChange]) -> None:
    with store.begin() as conn:
        enqueue(conn, events, [sink], utcnow())


class RecordingSink(Sink):
    """Down for the first ``failures`` calls; refuses ``refuse`` event ids (permanently if ``permanent``)."""

    batch_size = 4

    def __init__(self, failures: int = 0, refuse: Sequence[str] = (), permanent: bool = True) -> None:
        self.failures = failures
        self.refuse = set(refuse)
        self.permanent = permanent
        self.calls = 0
        self.received: list[OutboxEvent] = []

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        self.calls += 1
        if self.calls <= self.failures:
            raise SinkError("503 Service Unavailable")
        results = []
        for e in events:
            if e.event_id in self.refuse:
                results.append(DeliveryResult(e.event_id, False, error="400 INVALID_FIELD", permanent=self.permanent))
            else:
                self.received.append(e)
                results.append(DeliveryResult(e.event_id, True))
        return results


def _statuses(store: Store) -> dict[str, str]:
    o = schema.outbox
    with store.connect() as conn:
        return dict(conn.execute(sa.select(o.c.event_id, o.c.status).order_by(o.c.id)).all())


def _dead(store: Store) -> dict[str, dict[str, Any]]:
    dl = schema.outbox_dead_letter
    with store.connect() as conn:
        return {r.event_id: dict(r._mapping) for r in conn.execute(sa.select(dl).order_by(dl.c.id))}


# -- every event kind ----------------------------------------------------------------------------------


def test_push_hands_the_sink_each_kind_as_its_own_typed_event(store: Store) -> None:
    _queue(store, "erp", [flag(1), BAND, LIMIT])
    sink = RecordingSink()
    stats = Outbox(store, backoff_seconds=0).push({"erp": sink})
    assert (stats.delivered, stats.failed, stats.dead) == (3, 0, 0)
    assert [type(e) for e in sink.received] == [FlagChange, BandChange, CreditLimitChange]
    # as queued, a flag named in the sink's language (English here) for people reading the CRM
    assert sink.received == [flag(1).model_copy(update={"label": "Over the credit limit"}), BAND, LIMIT]
    limit = sink.received[2]
    assert isinstance(limit, CreditLimitChange)
    assert (limit.amount, limit.previous) == (Decimal("12500.00"), Decimal("20000.00"))
    assert _statuses(store) == {
        "C1:OVER_LIMIT:v1": "delivered",
        BAND.event_id: "delivered",
        LIMIT.event_id: "delivered",
    }


def test_json_file_sink_writes_one_line_per_event_of_every_kind(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "out" / "events.jsonl"
    _queue(store, "file", [flag(1), BAND, LIMIT])
    assert Outbox(store).push({"file": JsonFileSink(path)}).delivered == 3
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(r["kind"], r["event_id"]) for r in lines] == [
        ("flag", "C1:OVER_LIMIT:v1"),
        ("band", "C7:band:2026-03-02"),
        ("credit_limit", "C7:credit_limit:12"),
    ]
    assert (lines[1]["band"], lines[1]["previous"], lines[1]["links"]) == ("high", "medium", {"crm": "CRM-7"})
    assert (lines[2]["amount"], lines[2]["currency"], lines[2]["previous"]) == ("12500.00", "EUR", "20000.00")


def test_json_file_sink_writes_an_event_repeated_in_one_batch_once(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    results = JsonFileSink(path).deliver([flag(1), BAND, flag(1)])
    assert [(r.event_id, r.ok) for r in results] == [
        ("C1:OVER_LIMIT:v1", True),
        (BAND.event_id, True),
        ("C1:OVER_LIMIT:v1", True),
    ]
    assert [r["event_id"] for r in read_events(path)] == ["C1:OVER_LIMIT:v1", BAND.event_id]


def test_json_file_sink_ignores_a_redelivered_change_and_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "flags.jsonl"
    JsonFileSink(path).deliver([flag(1)])
    with path.open("a") as f:
        f.write('{"kind": "flag", "event_id": "C2:OVER')  # a crash mid-write
    fresh = JsonFileSink(path)  # a new process reads what is there
    results = fresh.deliver([flag(1), flag(2)])
    assert all(r.ok for r in results)
    lines = path.read_text().splitlines()
    assert lines[1] == '{"kind": "flag", "event_id": "C2:OVER'  # left as it was, on a line of its own
    assert [r["event_id"] for r in read_events(path)] == ["C1:OVER_LIMIT:v1", "C2:OVER_LIMIT:v1"]


# -- retries -------------------------------------------------------------------------------------------


def test_backoff_delays_the_next_attempt(store: Store) -> None:
    _queue(store, "crm", [flag(1), flag(2)])
    sink = RecordingSink(failures=1)
    outbox = Outbox(store, backoff_seconds=60)
    outbox.push({"crm": sink})
    assert outbox.push({"crm": sink}).delivered == 0  # not due yet
    later = utcnow() + dt.timedelta(minutes=5)
    assert outbox.push({"crm": sink}, now=later).delivered == 2


class ThrottledSink(RecordingSink):
    """Answers every batch as a sink still throttled after the HTTP layer's tries does: a SinkError
    raised from the HttpError that carries the last answer's ``Retry-After`` (as the connectors'
    KeyedBatchSink does), or, with ``per_event``, a failed result per event carrying it."""

    def __init__(self, asked: float, *, per_event: bool = False) -> None:
        super().__init__()
        self.asked = asked
        self.per_event = per_event

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        self.calls += 1
        if self.per_event:
            return [DeliveryResult(e.event_id, False, "429 Too Many Requests", retry_after=self.asked) for e in events]
        throttled = HttpError("POST", "https://crm.example.test/api/batch", 429, "still failing after 5 attempts")
        throttled.retry_after = self.asked
        try:
            raise throttled
        except HttpError as exc:
            raise SinkError(f"crm: {exc}") from exc


def _next_attempts(outbox: Outbox) -> list[dt.datetime]:
    return [r["next_attempt_at"] for r in outbox.rows("failed")]


@pytest.mark.parametrize("per_event", [False, True], ids=["batch", "event"])
def test_a_sink_asking_to_wait_600_seconds_is_not_tried_again_before(store: Store, per_event: bool) -> None:
    _queue(store, "crm", [flag(1), flag(2)])
    outbox = Outbox(store, backoff_seconds=1)  # the backoff alone would try again within a second
    moment = utcnow()
    stats = outbox.push({"crm": ThrottledSink(600, per_event=per_event)}, now=moment)
    assert (stats.failed, stats.dead) == (2, 0)
    assert _statuses(store) == {"C1:OVER_LIMIT:v1": "failed", "C2:OVER_LIMIT:v1": "failed"}
    assert [r["attempts"] for r in outbox.rows("failed")] == [1, 1]
    assert all(at >= moment + dt.timedelta(seconds=600) for at in _next_attempts(outbox))
    sink = RecordingSink()
    assert outbox.push({"crm": sink}, now=moment + dt.timedelta(seconds=599)).delivered == 0  # not before it asked
    assert outbox.push({"crm": sink}, now=moment + dt.timedelta(seconds=601)).delivered == 2


def test_a_retry_after_longer_than_the_ceiling_waits_the_ceiling(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, backoff_seconds=1, backoff_max_seconds=60)
    moment = utcnow()
    outbox.push({"crm": ThrottledSink(86_400)}, now=moment)  # a day: an hour, then it counts as failing
    assert _next_attempts(outbox) == [moment + dt.timedelta(seconds=RETRY_AFTER_CEILING)]


def test_a_backoff_cap_longer_than_the_ceiling_lets_a_retry_after_wait_that_long(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, backoff_seconds=1, backoff_max_seconds=6 * 3600)
    moment = utcnow()
    outbox.push({"crm": ThrottledSink(86_400)}, now=moment)
    assert _next_attempts(outbox) == [moment + dt.timedelta(hours=6)]


def test_a_retry_after_shorter_than_the_backoff_does_not_bring_the_next_attempt_forward(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, backoff_seconds=600)  # first retry in 300 to 600 seconds (jitter)
    moment = utcnow()
    outbox.push({"crm": ThrottledSink(5)}, now=moment)
    [at] = _next_attempts(outbox)
    assert at >= moment + dt.timedelta(seconds=300)


def test_a_throttling_sink_uses_one_attempt_per_wait_not_its_attempts_in_seconds(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, max_attempts=3, backoff_seconds=1)
    moment = utcnow()
    sink = ThrottledSink(600)
    for minutes in range(0, 10):  # a scheduler pushing every minute for ten minutes
        outbox.push({"crm": sink}, now=moment + dt.timedelta(minutes=minutes))
    assert sink.calls == 1  # asked once, then left alone for the 600 seconds it asked for
    assert _statuses(store) == {"C1:OVER_LIMIT:v1": "failed"} and _dead(store) == {}


@pytest.mark.parametrize("per_event", [False, True], ids=["batch", "event"])
def test_a_sink_throttling_for_a_day_keeps_its_rows_waiting_not_dead_until_its_patience_runs_out(
    store: Store, per_event: bool
) -> None:
    # A daily API allowance used up at nine in the morning comes back at midnight: tried every hour
    # (the longest wait honoured), the row runs out of its attempts long before; it waits instead.
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, max_attempts=3, backoff_seconds=1, throttle_patience_seconds=48 * 3600)
    moment = utcnow()
    sink = ThrottledSink(3600, per_event=per_event)
    for hours in range(0, 15):  # a scheduler pushing every hour until midnight
        outbox.push({"crm": sink}, now=moment + dt.timedelta(hours=hours, seconds=1 + hours))
    assert sink.calls == 15 and _dead(store) == {}
    (row,) = outbox.rows("failed")
    assert row["attempts"] == 15  # every try counted, as tries
    assert "429" in row["last_error"]
    assert outbox.push({"crm": RecordingSink()}, now=moment + dt.timedelta(hours=16)).delivered == 1


def test_a_throttled_row_older_than_the_patience_goes_to_the_dead_letters_as_any_other(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, max_attempts=2, backoff_seconds=1, throttle_patience_seconds=3600)
    moment = utcnow()
    sink = ThrottledSink(600)
    outbox.push({"crm": sink}, now=moment + dt.timedelta(seconds=1))
    outbox.push({"crm": sink}, now=moment + dt.timedelta(minutes=11))  # out of attempts, but young: waits
    assert _dead(store) == {}
    outbox.push({"crm": sink}, now=moment + dt.timedelta(minutes=61))  # throttled past the hour: dead
    assert set(_dead(store)) == {"C1:OVER_LIMIT:v1"}


def test_a_failing_sink_still_uses_up_a_rows_attempts_whatever_its_patience_for_throttles(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, max_attempts=2, backoff_seconds=0, throttle_patience_seconds=48 * 3600)
    sink = RecordingSink(failures=5)
    outbox.push({"crm": sink})
    outbox.push({"crm": sink})
    assert set(_dead(store)) == {"C1:OVER_LIMIT:v1"}


class UnreachableSink(RecordingSink):
    def check(self) -> None:
        raise SinkError("connection refused")


def test_unreachable_sink_is_skipped_without_using_up_attempts(store: Store) -> None:
    _queue(store, "crm", [flag(1), flag(2)])
    outbox = Outbox(store, max_attempts=1, backoff_seconds=0)
    stats = outbox.push({"crm": UnreachableSink()})
    assert stats.sinks[0].errors == ["connection refused"]
    assert _statuses(store) == {"C1:OVER_LIMIT:v1": "pending", "C2:OVER_LIMIT:v1": "pending"}
    assert _dead(store) == {}


def test_an_event_the_sink_reports_nothing_for_is_retried_with_a_reason(store: Store) -> None:
    class SilentSink(RecordingSink):
        def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
            return [DeliveryResult(e.event_id, True) for e in events if e.event_id != "C2:OVER_LIMIT:v1"]

    _queue(store, "crm", [flag(1), flag(2)])
    outbox = Outbox(store, backoff_seconds=0)
    stats = outbox.push({"crm": SilentSink()})
    assert (stats.delivered, stats.failed) == (1, 1)
    assert [(r["event_id"], r["attempts"], r["last_error"]) for r in outbox.rows("failed")] == [
        ("C2:OVER_LIMIT:v1", 1, "crm reported no result for it")
    ]


def test_an_unreadable_stored_event_goes_to_dead_letter_without_reaching_the_sink(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    with store.begin() as conn:
        conn.execute(
            schema.outbox.insert().values(
                sink="crm",
                event_id="X1",
                payload={"kind": "invoice_paid", "event_id": "X1"},
                status="pending",
                attempts=0,
                next_attempt_at=utcnow(),
                created_at=utcnow(),
            )
        )
    sink = RecordingSink()
    stats = Outbox(store, backoff_seconds=0).push({"crm": sink})
    assert (stats.delivered, stats.sinks[0].dead) == (1, 1)
    assert [e.event_id for e in sink.received] == ["C1:OVER_LIMIT:v1"]
    dead = _dead(store)["X1"]
    assert dead["permanent"] is True and dead["attempts"] == 1
    assert dead["last_error"].startswith("the stored event cannot be read: ")
    assert "invoice_paid" in dead["last_error"]
    assert _statuses(store) == {"C1:OVER_LIMIT:v1": "delivered"}


# -- dead letters and replay ---------------------------------------------------------------------------


def test_summary_and_rows_report_pending_failed_dead_and_delivered(store: Store) -> None:
    _queue(store, "crm", [flag(1), flag(2), flag(3)])
    _queue(store, "erp", [flag(1), LIMIT])
    outbox = Outbox(store, max_attempts=5, backoff_seconds=3600)
    outbox.push({"crm": RecordingSink(refuse=["C2:OVER_LIMIT:v1"]), "erp": RecordingSink(failures=1)})
    assert outbox.summary() == [
        {"sink": "crm", "status": "dead", "count": 1},
        {"sink": "crm", "status": "delivered", "count": 2},
        {"sink": "erp", "status": "failed", "count": 2},
    ]
    _queue(store, "erp", [BAND])
    assert {"sink": "erp", "status": "pending", "count": 1} in outbox.summary()
    dead = outbox.rows("dead")
    assert [
        (r["sink"], r["event_id"], r["kind"], r["status"], r["attempts"], r["last_error"], r["permanent"]) for r in dead
    ] == [("crm", "C2:OVER_LIMIT:v1", "flag", "dead", 1, "400 INVALID_FIELD", True)]
    failed = outbox.rows("failed", sink="erp")
    assert [(r["event_id"], r["kind"], r["attempts"], r["last_error"]) for r in failed] == [
        ("C1:OVER_LIMIT:v1", "flag", 1, "503 Service Unavailable"),
        (LIMIT.event_id, "credit_limit", 1, "503 Service Unavailable"),
    ]
    assert all(r["next_attempt_at"] > utcnow() + dt.timedelta(minutes=29) for r in failed)  # jitter: 30-60 min
    assert [r["event_id"] for r in outbox.rows("delivered")] == ["C1:OVER_LIMIT:v1", "C3:OVER_LIMIT:v1"]
    assert outbox.rows("failed", sink="crm") == []
    with pytest.raises(HubError, match="unknown outbox status 'lost'"):
        outbox.rows("lost")


def test_replay_by_dead_letter_id_moves_only_those_back_and_leaves_failed_rows(store: Store) -> None:
    _queue(store, "crm", [flag(1), flag(2), flag(3)])
    outbox = Outbox(store, max_attempts=5, backoff_seconds=3600)
    outbox.push({"crm": RecordingSink(refuse=["C1:OVER_LIMIT:v1", "C2:OVER_LIMIT:v1"])})
    _queue(store, "crm", [flag(4)])
    outbox.push({"crm": RecordingSink(failures=1)})
    dead_ids = {r["event_id"]: r["id"] for r in outbox.rows("dead")}
    assert sorted(dead_ids) == ["C1:OVER_LIMIT:v1", "C2:OVER_LIMIT:v1"]

    stats = outbox.replay(ids=[dead_ids["C2:OVER_LIMIT:v1"]], actor="maria")
    assert stats == ReplayStats(dead_letters=1, failed=0, already_queued=0)
    assert list(_dead(store)) == ["C1:OVER_LIMIT:v1"]
    o = schema.outbox
    with store.connect() as conn:
        back = conn.execute(sa.select(o).where(o.c.event_id == "C2:OVER_LIMIT:v1")).one()
    assert (back.status, back.attempts, back.last_error) == ("pending", 0, None)
    assert back.payload == flag(2).model_dump(mode="json")
    (failed,) = outbox.rows("failed")
    assert (failed["event_id"], failed["attempts"]) == ("C4:OVER_LIMIT:v1", 1)
    assert failed["next_attempt_at"] > utcnow() + dt.timedelta(minutes=29)  # untouched: still backing off

    sink = RecordingSink()
    assert outbox.push({"crm": sink}).delivered == 1
    assert [e.event_id for e in sink.received] == ["C2:OVER_LIMIT:v1"]


def test_replay_without_ids_requeues_every_dead_letter_and_makes_failed_rows_due_now_with_an_audit_entry(
    store: Store,
) -> None:
    _queue(store, "crm", [flag(1), flag(2)])
    _queue(store, "erp", [flag(1)])
    outbox = Outbox(store, max_attempts=5, backoff_seconds=3600)
    outbox.push({"crm": RecordingSink(refuse=["C1:OVER_LIMIT:v1"])})
    outbox.push({"crm": RecordingSink(failures=0), "erp": RecordingSink(refuse=["C1:OVER_LIMIT:v1"])})
    _queue(store, "crm", [flag(3)])
    outbox.push({"crm": RecordingSink(failures=1)})
    assert outbox.summary() == [
        {"sink": "crm", "status": "failed", "count": 1},
        {"sink": "crm", "status": "dead", "count": 1},
        {"sink": "crm", "status": "delivered", "count": 1},
        {"sink": "erp", "status": "dead", "count": 1},
    ]

    stats = outbox.replay(sink="crm", actor="maria")
    assert (stats.dead_letters, stats.failed, stats.total) == (1, 1, 2)
    assert [r["sink"] for r in outbox.rows("dead")] == ["erp"]  # another sink's dead letter stays
    sink = RecordingSink()
    assert outbox.push({"crm": sink}).delivered == 2  # due now, without waiting for the backoff
    assert sorted(e.event_id for e in sink.received) == ["C1:OVER_LIMIT:v1", "C3:OVER_LIMIT:v1"]

    a = schema.audit_log
    with store.connect() as conn:
        entry = conn.execute(sa.select(a).where(a.c.action == "outbox.replay")).one()
    assert (entry.actor, entry.object_type, entry.object_id) == ("maria", "outbox", "crm")
    assert entry.details == {
        "sink": "crm",
        "ids": [],
        "event_ids": ["C1:OVER_LIMIT:v1"],
        "dead_letters": 1,
        "failed": 1,
        "already_queued": 0,
        "total": 2,
    }


def test_replay_of_an_id_that_is_not_a_dead_letter_is_refused_and_changes_nothing(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, backoff_seconds=0)
    outbox.push({"crm": RecordingSink(refuse=["C1:OVER_LIMIT:v1"])})
    (dead,) = outbox.rows("dead")
    with pytest.raises(HubError, match=rf"no dead letter with id {dead['id'] + 100}; 'hub outbox --status dead'"):
        outbox.replay(ids=[dead["id"], dead["id"] + 100])
    with pytest.raises(HubError, match=rf"no dead letter with id {dead['id']} for sink 'erp'"):
        outbox.replay(sink="erp", ids=[dead["id"]])
    assert list(_dead(store)) == ["C1:OVER_LIMIT:v1"]
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.audit_log)).scalar_one() == 0


def test_a_dead_letter_whose_event_was_queued_again_is_dropped_on_replay_not_duplicated(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, backoff_seconds=0)
    outbox.push({"crm": RecordingSink(refuse=["C1:OVER_LIMIT:v1"])})
    _queue(store, "crm", [flag(1)])  # the outbox holds the event again (re-queued by hand)
    stats = outbox.replay()
    assert stats == ReplayStats(dead_letters=0, failed=0, already_queued=1)
    assert _dead(store) == {}
    assert _statuses(store) == {"C1:OVER_LIMIT:v1": "pending"}


def test_an_event_that_dies_again_after_replay_replaces_its_old_dead_letter(store: Store) -> None:
    _queue(store, "crm", [flag(1)])
    outbox = Outbox(store, backoff_seconds=0)
    outbox.push({"crm": RecordingSink(refuse=["C1:OVER_LIMIT:v1"])})
    outbox.replay()
    outbox.push({"crm": RecordingSink(refuse=["C1:OVER_LIMIT:v1"])})
    assert [(r["event_id"], r["attempts"]) for r in outbox.rows("dead")] == [("C1:OVER_LIMIT:v1", 1)]
    assert _statuses(store) == {}


def test_rows_marked_dead_inside_the_outbox_by_an_older_hub_move_to_the_dead_letter_table(store: Store) -> None:
    _queue(store, "crm", [flag(1), flag(2)])
    o = schema.outbox
    with store.begin() as conn:
        conn.execute(
            o.update().where(o.c.event_id == "C1:OVER_LIMIT:v1").values(status="dead", attempts=8, last_error="timeout")
        )
    outbox = Outbox(store)
    assert {"sink": "crm", "status": "dead", "count": 1} in outbox.summary()
    sink = RecordingSink()
    assert outbox.push({"crm": sink}).delivered == 1
    assert [e.event_id for e in sink.received] == ["C2:OVER_LIMIT:v1"]
    dead = _dead(store)["C1:OVER_LIMIT:v1"]
    assert (dead["attempts"], dead["last_error"], dead["permanent"]) == (8, "timeout", False)
    assert _statuses(store) == {"C2:OVER_LIMIT:v1": "delivered"}


# -- the command line ------------------------------------------------------------------------------------


def test_hub_outbox_lists_counts_and_failed_and_dead_rows_and_replay_queues_them_again(
    tmp_path: Path, db_url: str
) -> None:
    write_config(
        tmp_path,
        db_url,
        customers=None,
        invoices=None,
        statements=None,
        sink="out/flags.jsonl",
        extra="[outbox]\nbackoff_seconds = 3600\n",
    )
    store = Store(db_url)
    store.migrate()
    try:
        _queue(store, "crm", [flag(1), flag(2), LIMIT])
        outbox = Outbox(store, backoff_seconds=3600)
        outbox.push({"crm": RecordingSink(refuse=[LIMIT.event_id])})
        _queue(store, "crm", [flag(3)])
        outbox.push({"crm": RecordingSink(failures=1)})
        (dead,) = outbox.rows("dead")
    finally:
        store.dispose()

    shown = json.loads(run_hub("-c", "hub.toml", "--json", "outbox", cwd=tmp_path).stdout)
    assert shown["summary"] == [
        {"sink": "crm", "status": "failed", "count": 1},
        {"sink": "crm", "status": "dead", "count": 1},
        {"sink": "crm", "status": "delivered", "count": 2},
    ]
    assert [(r["status"], r["event_id"], r["kind"], r["attempts"], r["last_error"]) for r in shown["rows"]] == [
        ("failed", "C3:OVER_LIMIT:v1", "flag", 1, "503 Service Unavailable"),
        ("dead", LIMIT.event_id, "credit_limit", 1, "400 INVALID_FIELD"),
    ]
    table = run_hub("-c", "hub.toml", "outbox", cwd=tmp_path, env={"COLUMNS": "200"}).stdout
    assert "dead letters" in table and "dead-letter id" in table
    assert "400 INVALID_FIELD (permanent)" in table and "503 Service Unavailable" in table

    bad = run_hub("-c", "hub.toml", "outbox", "--status", "lost", cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "--status must be one of pending, failed, not_linked, dead, delivered" in bad.stderr
    unknown = run_hub("-c", "hub.toml", "outbox", "replay", "--id", str(dead["id"] + 7), cwd=tmp_path, check=False)
    assert unknown.returncode == 1 and f"no dead letter with id {dead['id'] + 7}" in unknown.stderr
    nosink = run_hub("-c", "hub.toml", "outbox", "replay", "--sink", "crmm", cwd=tmp_path, check=False)
    assert nosink.returncode == 1 and "no sink named 'crmm'" in nosink.stderr
    assert "dead-letter id" in run_hub("-c", "hub.toml", "outbox", "replay", "--help", cwd=tmp_path).stdout

    replayed = run_hub("-c", "hub.toml", "outbox", "replay", "--id", str(dead["id"]), "--by", "maria", cwd=tmp_path)
    assert "1 dead letter(s) and 0 failed row(s) queued again" in replayed.stdout
    after = json.loads(run_hub("-c", "hub.toml", "--json", "outbox", cwd=tmp_path).stdout)
    assert after["summary"] == [
        {"sink": "crm", "status": "pending", "count": 1},
        {"sink": "crm", "status": "failed", "count": 1},
        {"sink": "crm", "status": "delivered", "count": 2},
    ]
    everything = json.loads(run_hub("-c", "hub.toml", "--json", "outbox", "replay", cwd=tmp_path).stdout)
    assert everything == {"replayed": 1, "dead_letters": 0, "failed": 1, "already_queued": 0, "total": 1}


class PartlyLinkedSink(RecordingSink):
    """Knows customers C1 and C2 only: events for the others are not linked."""

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        self.received.extend(events)
        return [
            DeliveryResult(e.event_id, True)
            if e.customer_id in ("C1", "C2")
            else DeliveryResult.unlinked(e.event_id, f"no CRM account for {e.customer_id}")
            for e in events
        ]


def test_events_for_customers_the_sink_does_not_know_are_parked_as_not_linked_not_dead(store: Store) -> None:
    _queue(store, "crm", [flag(i) for i in range(1, 6)])
    outbox = Outbox(store, max_attempts=1, backoff_seconds=0)
    stats = outbox.push({"crm": PartlyLinkedSink()})
    (sink,) = stats.sinks
    assert (sink.delivered, sink.not_linked, sink.failed, sink.dead, sink.pending) == (2, 3, 0, 0, 0)
    assert sink.problem is None  # a scheduled push succeeds: nothing failed
    assert {(s["status"], s["count"]) for s in outbox.summary()} == {("delivered", 2), ("not_linked", 3)}
    parked = outbox.rows("not_linked")
    assert [(r["event_id"], r["last_error"]) for r in parked][:1] == [("C3:OVER_LIMIT:v1", "no CRM account for C3")]
    assert outbox.rows("dead") == []
    # Not pushed again on their own; replay queues them (after the accounts were created, say).
    assert outbox.push({"crm": PartlyLinkedSink()}).sinks[0].not_linked == 0
    assert outbox.replay(sink="crm").failed == 3
    assert outbox.push({"crm": RecordingSink()}).sinks[0].delivered == 3
