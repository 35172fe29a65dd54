"""Outbox delivery: flag, band and credit-limit changes to sinks, at least once, with effects exactly once.

Rows are written by the risk run (and credit approvals) in the same transaction as the events they
carry. ``push`` hands due rows to each sink in batches, records each per-record result, retries
failures with exponential backoff and jitter, and moves a row that fails ``max_attempts`` times (or
permanently) into the ``outbox_dead_letter`` table, in the same transaction that records the failure,
so the pending scan never reads poison rows again. A sink that throttles (HTTP ``Retry-After`` on
the answer that failed the batch or the event, after the HTTP layer's own tries) is not tried again
before it asked: the row's next attempt is the later of its backoff and that wait
(:meth:`Outbox.retry_delay`), so a sink throttling for minutes does not use up a row's attempts in
seconds and send it to the dead letters; out of attempts, a row whose last try was throttled waits
as asked while it is younger than ``throttle_patience_seconds`` (a daily allowance used up).
``hub outbox`` shows dead letters and ``replay`` moves them back. Sinks are idempotent on
``event_id``, so a crash between delivering and recording the result only causes a harmless second
delivery.

Several pushers may run at once (a scheduler, a person, workers). Each **claims** the rows of a batch
before delivering them: in one write transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
write lock on SQLite) it marks them with its name and a lease (``[outbox] lease_seconds``). Another
pusher skips claimed rows, so each event goes to each sink once however many pushers run; results
are recorded only on rows still claimed by the pusher that delivered them. A pusher that dies
leaves its claims behind; they expire with the lease and the rows are delivered by the next push.

Order: a sink receives each customer's events in the order they were queued. A row is claimed only
when no earlier row of the same sink and customer is still undelivered (pending, failing, or
claimed by someone else), so a "cleared" never overtakes its "raised", even when the "raised" failed
and waits for its retry, or is being delivered by another pusher.

Payloads are decoded with :data:`hub.model.OutboxEvent` (a union on ``kind``); payloads written
before events had a ``kind`` are flag changes.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError

from hub import codes
from hub.connector import DeliveryResult, Sink
from hub.errors import RETRY_AFTER_CEILING, HubError, retry_after
from hub.i18n import DEFAULT_LOCALE, Message, flag_label
from hub.log import get_logger, redact
from hub.model import (
    BandChange,
    CreditLimitChange,
    FlagChange,
    InterestInvoice,
    OutboxEvent,
    describe_validation_error,
)
from hub.store import Store, schema, utcnow
from hub.store.locks import transaction_lock

log = get_logger(__name__)

#: Outbox statuses ``push`` picks up when due. Dead rows live in ``outbox_dead_letter`` instead.
RETRYABLE = ("pending", "failed")
#: Every status ``hub outbox`` reports (:data:`hub.codes.OUTBOX_STATUSES`).
STATUSES = codes.OUTBOX_STATUSES
#: Longest error text kept per row.
ERROR_CHARS = 2000
#: Ids per ``IN (...)`` list: well below SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500

EVENT_ADAPTER: TypeAdapter[OutboxEvent] = TypeAdapter(OutboxEvent)


def decode_event(payload: Any) -> OutboxEvent:
    """An outbox payload as its event. A payload without ``kind`` (written before there were other
    kinds) is a flag change. Raises :class:`pydantic.ValidationError` for anything else unreadable."""
    if isinstance(payload, Mapping) and "kind" not in payload:
        payload = {**payload, "kind": "flag"}
    return EVENT_ADAPTER.validate_python(payload)


def localize(event: OutboxEvent, locale: str) -> OutboxEvent:
    """``event`` as a sink speaking ``locale`` receives it: the reason rendered from its message id
    and values (an event stored without one keeps its English reason) and a flag's name."""
    update: dict[str, Any] = {}
    message = Message.from_json(event.message)
    if message is not None:
        update["reason"] = message.render(locale)
    if isinstance(event, FlagChange):
        update["label"] = flag_label(event.code, locale)
    return event.model_copy(update=update) if update else event


def event_kind(payload: Any) -> str:
    """The ``kind`` a stored payload declares (``flag`` when it has none), without validating it."""
    kind = payload.get("kind", "flag") if isinstance(payload, Mapping) else None
    return str(kind) if kind is not None else "?"


@dataclass
class SinkStats:
    sink: str
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    not_linked: int = 0
    """Events for customers the sink's system has no record of (parked, see ``DeliveryResult``)."""
    errors: list[str] = field(default_factory=list)
    unreachable: str | None = None
    """Why the sink could not be reached at all (nothing was attempted), else None."""
    pending: int = 0
    """Events for this sink still undelivered after the push (due later, failing, or being delivered
    by another pusher)."""
    retrying: int = 0
    """Of those, events whose last attempt failed (waiting for their retry)."""

    @property
    def problem(self) -> str | None:
        """Why this sink is not up to date after the push, in a few words, or None."""
        if self.unreachable:
            return f"unreachable ({self.unreachable})"
        first = f": {self.errors[0]}" if self.errors else ""
        if self.failed or self.dead:
            parts = [f"{n} {what}" for n, what in ((self.failed, "failed"), (self.dead, "dead-lettered")) if n]
            return f"{' and '.join(parts)} this push{first}"
        if self.retrying:
            return f"{self.retrying} events waiting to be retried after failing"
        return None


@dataclass
class PushStats:
    sinks: list[SinkStats] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(s.delivered for s in self.sinks)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.sinks)

    @property
    def dead(self) -> int:
        return sum(s.dead for s in self.sinks)

    @property
    def not_linked(self) -> int:
        return sum(s.not_linked for s in self.sinks)

    @property
    def pending(self) -> int:
        return sum(s.pending for s in self.sinks)

    @property
    def problems(self) -> dict[str, str]:
        """Sinks that are not up to date after the push, and why."""
        return {s.sink: problem for s in self.sinks if (problem := s.problem) is not None}

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "failed": self.failed,
            "dead": self.dead,
            "not_linked": self.not_linked,
            "pending": self.pending,
            "problems": self.problems,
            "sinks": [{**asdict(s), "problem": s.problem} for s in self.sinks],
        }


@dataclass(frozen=True)
class ReplayStats:
    """What :meth:`Outbox.replay` queued again."""

    dead_letters: int = 0
    """Dead letters moved back into the outbox as pending, attempts reset to 0."""
    failed: int = 0
    """Failed and not-linked outbox rows made due now (their attempts are kept)."""
    already_queued: int = 0
    """Dead letters dropped because the outbox already holds the same event for the same sink."""

    @property
    def total(self) -> int:
        return self.dead_letters + self.failed

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


@dataclass(frozen=True)
class _Row:
    id: int
    sink: str
    event_id: str
    payload: Any
    attempts: int
    created_at: dt.datetime


def enqueue(
    conn: sa.Connection,
    events: Sequence[FlagChange | BandChange | CreditLimitChange | InterestInvoice],
    sinks: Sequence[str],
    now: dt.datetime,
) -> int:
    """Queue each event for each sink, in the caller's transaction. Returns the rows written.

    Every kind of :data:`hub.model.OutboxEvent` is accepted; the payload keeps its ``kind`` so
    ``push`` hands each sink the same typed event. ``(sink, event_id)`` is unique: an event is
    queued once per sink (event ids carry a version, so a new change has a new id).
    """
    rows = [
        {
            "sink": sink,
            "event_id": e.event_id,
            "payload": e.model_dump(mode="json"),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "subject": e.customer_id,
        }
        for e in events
        for sink in sinks
    ]
    if rows:
        conn.execute(schema.outbox.insert(), rows)
    return len(rows)


def _utc(at: dt.datetime) -> dt.datetime:
    """Timestamps read back from SQLite are naive UTC: make every one aware."""
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def pusher_name() -> str:
    """Who claims outbox rows: host, process and a random part (two pushes of one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:200]


THROTTLE_PATIENCE = 48 * 3600.0
"""How long (seconds) a row a sink keeps throttling waits before its attempts count as failures: two
daily allowances reset in that time (HubSpot's resets at midnight in the account's time zone)."""


class Outbox:
    def __init__(
        self,
        store: Store,
        *,
        max_attempts: int = 8,
        backoff_seconds: float = 30.0,
        backoff_max_seconds: float = 3600.0,
        lease_seconds: float = 600.0,
        throttle_patience_seconds: float = THROTTLE_PATIENCE,
    ) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.throttle_patience = dt.timedelta(seconds=throttle_patience_seconds)
        self.lease = dt.timedelta(seconds=lease_seconds)

    def backoff(self, attempts: int) -> dt.timedelta:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))
        return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling) if ceiling else 0)

    @property
    def retry_after_ceiling(self) -> float:
        """The longest ``Retry-After`` a row's next attempt honours, in seconds: a queued job's ceiling
        (:data:`hub.errors.RETRY_AFTER_CEILING`, an hour), or ``backoff_max_seconds`` when that is longer.

        Not less than the job's hour, however short the backoff is configured: the wait protects the
        row's attempts, and a sink throttling for ten minutes tried every minute would send its rows to
        the dead letters. Not capped at the hour when the backoff may already wait longer: whoever set
        ``backoff_max_seconds`` to six hours accepts rows that wait six hours, and a sink that asks
        for that long is better waited for than given up on. A sink asking for more than the ceiling
        is tried when the ceiling is up, and still refusing then costs the row one more attempt.
        """
        return max(RETRY_AFTER_CEILING, self.backoff_max_seconds)

    def retry_delay(self, attempts: int, asked: float | None = None) -> dt.timedelta:
        """How long a row that failed its ``attempts``-th attempt waits: its :meth:`backoff`, or the
        ``asked`` seconds of the sink's ``Retry-After`` (up to :attr:`retry_after_ceiling`) when longer.
        Never less than the backoff: a sink asking for a second after a failure gets the backoff."""
        wait = self.backoff(attempts)
        if asked is not None:
            wait = max(wait, dt.timedelta(seconds=min(asked, self.retry_after_ceiling)))
        return wait

    # -- delivery -----------------------------------------------------------------------------------

    def push(self, sinks: Mapping[str, Sink], *, now: dt.datetime | None = None) -> PushStats:
        """Deliver every due row to its sink; ``now`` (default: the clock) decides what is due."""
        stats = PushStats()
        owner = pusher_name()
        for name, sink in sinks.items():
            stats.sinks.append(self._push_sink(name, sink, now, owner))
        return stats

    def claim(self, name: str, now: dt.datetime, limit: int, owner: str, after_id: int = 0) -> tuple[list[_Row], int]:
        """Claim up to ``limit`` due rows of sink ``name`` after ``after_id`` for ``owner`` until
        ``now`` + the lease; returns them and the last id looked at (a push moves on through the
        outbox: what failed or had to wait is tried again by the next push).

        A row is due when it is pending or failed with its next attempt at or before ``now`` and not
        claimed by a live lease. It is claimed only together with every earlier undelivered row of
        its customer, so never while one of those waits for a retry or is claimed by another pusher.
        Claims on one sink are made one at a time (the write lock on SQLite, a transaction-level
        advisory lock on PostgreSQL), so each sees the others' claims.
        """
        o = schema.outbox
        candidates = (
            sa.select(o.c.id, o.c.sink, o.c.event_id, o.c.payload, o.c.attempts, o.c.created_at, o.c.subject)
            .where(
                o.c.sink == name,
                o.c.id > after_id,
                o.c.status.in_(RETRYABLE),
                o.c.next_attempt_at <= now,
                sa.or_(o.c.claim_expires_at.is_(None), o.c.claim_expires_at <= now),
            )
            .order_by(o.c.id)
            .limit(2 * limit)  # some may have to wait for an earlier event of their customer
        )
        with self.store.begin() as conn:
            transaction_lock(conn, f"outbox claim {name}")
            if conn.dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True, of=o)
            found = conn.execute(candidates).all()
            if not found:
                return [], after_id
            undelivered = self._undelivered_before(conn, name, {r.subject for r in found} - {None}, found[-1].id)
            taken: set[int] = set()
            rows: list[_Row] = []
            last = after_id
            for r in found:
                if len(rows) >= limit:
                    break
                last = r.id
                if r.subject is not None and any(i not in taken for i in undelivered.get(r.subject, ()) if i < r.id):
                    continue  # an earlier event of this customer is not delivered yet
                taken.add(r.id)
                rows.append(_Row(*r[:6]))
            for chunk in _chunks([r.id for r in rows]):
                conn.execute(
                    o.update().where(o.c.id.in_(chunk)).values(claimed_by=owner, claim_expires_at=now + self.lease)
                )
        return rows, last

    @staticmethod
    def _undelivered_before(conn: sa.Connection, sink: str, subjects: set[str], below: int) -> dict[str, list[int]]:
        """The ids of undelivered rows of ``sink`` for each of ``subjects``, below ``below``."""
        o = schema.outbox
        out: dict[str, list[int]] = {}
        for chunk in _chunks(sorted(subjects)):
            for subject, row_id in conn.execute(
                sa.select(o.c.subject, o.c.id).where(
                    o.c.sink == sink, o.c.subject.in_(chunk), o.c.status.in_(RETRYABLE), o.c.id < below
                )
            ):
                out.setdefault(subject, []).append(row_id)
        return out

    def _push_sink(self, name: str, sink: Sink, now: dt.datetime | None, owner: str) -> SinkStats:
        stats = SinkStats(name)
        try:
            sink.check()
        except (HubError, OSError) as exc:  # unreachable: nothing was attempted, so nothing is counted
            stats.unreachable = str(exc)
            stats.errors.append(str(exc))
            log.warning("outbox.sink_unavailable", sink=name, error=str(exc))
            self._count_pending(name, stats)
            return stats
        with self.store.begin() as conn:
            self._adopt_legacy_dead(conn, name)
        last_id = 0
        while True:
            moment = now or utcnow()
            rows, examined = self.claim(name, moment, max(1, sink.batch_size), owner, last_id)
            if examined == last_id:
                break  # nothing left to look at
            last_id = examined
            if not rows:
                continue
            batch: list[tuple[_Row, OutboxEvent]] = []
            unreadable: list[tuple[_Row, str]] = []
            for row in rows:
                try:
                    batch.append((row, decode_event(row.payload)))
                except ValidationError as exc:
                    unreadable.append((row, f"the stored event cannot be read: {describe_validation_error(exc)}"))
            if unreadable:  # poison: no sink can take it, and retrying will not change it
                with self.store.begin() as conn:
                    for row, error in unreadable:
                        self._fail(conn, row, error, moment, owner, permanent=True, stats=stats)
            if not batch:
                continue
            try:
                language = getattr(sink, "language", DEFAULT_LOCALE)
                results = {r.event_id: r for r in sink.deliver([localize(event, language) for _, event in batch])}
            except (HubError, OSError) as exc:
                # The whole batch failed: the sink is down (count an attempt and stop for now), or it
                # refuses the batch for good (the error says it is not retryable: dead letters). A
                # sink that throttles says how long on the error or one it was raised from.
                error = str(exc)
                stats.errors.append(error)
                permanent = isinstance(exc, HubError) and not exc.retryable
                asked = retry_after(exc)
                with self.store.begin() as conn:
                    for row, _ in batch:
                        self._fail(conn, row, error, moment, owner, permanent=permanent, stats=stats, retry_after=asked)
                log.warning("outbox.sink_down", sink=name, error=error, batch=len(batch), retry_after=asked)
                break
            self._record(name, [row for row, _ in batch], results, moment, owner, stats)
        self._count_pending(name, stats)
        log.info(
            "outbox.pushed",
            sink=name,
            delivered=stats.delivered,
            failed=stats.failed,
            dead=stats.dead,
            pending=stats.pending,
        )
        return stats

    def _count_pending(self, name: str, stats: SinkStats) -> None:
        o = schema.outbox
        with self.store.connect() as conn:
            for status, count in conn.execute(
                sa.select(o.c.status, sa.func.count())
                .where(o.c.sink == name, o.c.status.in_(RETRYABLE))
                .group_by(o.c.status)
            ):
                stats.pending += int(count)
                if status == "failed":
                    stats.retrying += int(count)

    def _record(
        self,
        name: str,
        rows: list[_Row],
        results: Mapping[str, DeliveryResult],
        now: dt.datetime,
        owner: str,
        stats: SinkStats,
    ) -> None:
        """Record one batch's per-record results in one transaction, on the rows this pusher still claims."""
        o = schema.outbox
        delivered = [row.id for row in rows if (r := results.get(row.event_id)) is not None and r.ok]
        with self.store.begin() as conn:
            for chunk in _chunks(delivered):
                done = conn.execute(
                    o.update()
                    .where(o.c.id.in_(chunk), o.c.claimed_by == owner)
                    .values(
                        status="delivered",
                        delivered_at=utcnow(),
                        attempts=o.c.attempts + 1,
                        last_error=None,
                        claimed_by=None,
                        claim_expires_at=None,
                    )
                )
                stats.delivered += int(done.rowcount)
            for row in rows:
                result = results.get(row.event_id)
                if result is not None and result.ok:
                    continue
                if result is not None and result.not_linked:  # parked: not the sink's failure
                    reason = result.error or f"{name} has no record for this customer"
                    parked = conn.execute(
                        o.update()
                        .where(o.c.id == row.id, o.c.claimed_by == owner)
                        .values(
                            status="not_linked",
                            attempts=o.c.attempts + 1,
                            claimed_by=None,
                            claim_expires_at=None,
                            last_error=redact(reason)[:ERROR_CHARS],
                        )
                    )
                    stats.not_linked += int(parked.rowcount)
                    continue
                error = result.error if result is not None and result.error else f"{name} reported no result for it"
                self._fail(
                    conn,
                    row,
                    error,
                    now,
                    owner,
                    permanent=bool(result is not None and result.permanent),
                    stats=stats,
                    retry_after=result.retry_after if result is not None else None,
                )

    def _fail(
        self,
        conn: sa.Connection,
        row: _Row,
        error: str,
        now: dt.datetime,
        owner: str,
        *,
        permanent: bool,
        stats: SinkStats,
        retry_after: float | None = None,
    ) -> None:
        """Count a failed attempt: retry later, or (permanent, or out of attempts and not a throttle within
        the patience) move to dead letter.

        The retry is due after :meth:`retry_delay`: the backoff, or the sink's ``retry_after`` seconds
        when it asked for longer. Only while ``owner`` still claims the row: a row whose lease ran out
        and that another pusher took over is that pusher's to record.
        """
        o = schema.outbox
        attempts = row.attempts + 1
        # A sink that asked to wait (throttling, a daily allowance used up) has not refused the change:
        # out of attempts, the row waits as asked while it is younger than the patience.
        waiting = retry_after is not None and now - _utc(row.created_at) < self.throttle_patience
        if permanent or (attempts >= self.max_attempts and not waiting):
            if self._bury(conn, row, attempts, error, permanent=permanent, owner=owner):
                stats.dead += 1
            return
        changed = conn.execute(
            o.update()
            .where(o.c.id == row.id, o.c.claimed_by == owner)
            .values(
                status="failed",
                attempts=attempts,
                last_error=redact(error)[:ERROR_CHARS],
                next_attempt_at=now + self.retry_delay(attempts, retry_after),
                claimed_by=None,
                claim_expires_at=None,
            )
        )
        stats.failed += int(changed.rowcount)

    @staticmethod
    def _bury(
        conn: sa.Connection, row: _Row, attempts: int, error: str | None, *, permanent: bool, owner: str | None = None
    ) -> bool:
        """Move an outbox row to the dead-letter table, in the caller's transaction (if ``owner`` is
        given, only while it claims the row). Returns whether the row moved."""
        dl, o = schema.outbox_dead_letter, schema.outbox
        cond = o.c.id == row.id if owner is None else sa.and_(o.c.id == row.id, o.c.claimed_by == owner)
        if not conn.execute(o.delete().where(cond)).rowcount:
            return False
        # An older dead letter of the same event (replayed, re-queued and dead again) is replaced.
        conn.execute(dl.delete().where(dl.c.sink == row.sink, dl.c.event_id == row.event_id))
        conn.execute(
            dl.insert().values(
                outbox_id=row.id,
                sink=row.sink,
                event_id=row.event_id,
                payload=row.payload,
                attempts=attempts,
                last_error=redact(error)[:ERROR_CHARS] if error else None,
                permanent=permanent,
                created_at=row.created_at,
                died_at=utcnow(),
            )
        )
        log.warning("outbox.dead_letter", sink=row.sink, event_id=row.event_id, attempts=attempts, error=error)
        return True

    def _adopt_legacy_dead(self, conn: sa.Connection, sink: str | None = None) -> int:
        """Move rows marked ``dead`` inside the outbox (before the dead-letter table existed) into it."""
        o = schema.outbox
        cond: sa.ColumnElement[bool] = o.c.status == "dead"
        if sink is not None:
            cond = sa.and_(o.c.sink == sink, cond)
        rows = conn.execute(
            sa.select(o.c.id, o.c.sink, o.c.event_id, o.c.payload, o.c.attempts, o.c.created_at, o.c.last_error)
            .where(cond)
            .order_by(o.c.id)
        ).all()
        for r in rows:
            self._bury(conn, _Row(*r[:6]), r.attempts, r.last_error, permanent=False)
        return len(rows)

    # -- reporting ----------------------------------------------------------------------------------

    def summary(self) -> list[dict[str, Any]]:
        """Rows per sink and status (``pending``, ``failed``, ``dead``, ``delivered``), dead letters included."""
        o, dl = schema.outbox, schema.outbox_dead_letter
        counts: dict[tuple[str, str], int] = {}
        with self.store.connect() as conn:
            for sink, status, count in conn.execute(
                sa.select(o.c.sink, o.c.status, sa.func.count()).group_by(o.c.sink, o.c.status)
            ):
                counts[(sink, status)] = counts.get((sink, status), 0) + int(count)
            for sink, count in conn.execute(sa.select(dl.c.sink, sa.func.count()).group_by(dl.c.sink)):
                counts[(sink, "dead")] = counts.get((sink, "dead"), 0) + int(count)
        order = {s: i for i, s in enumerate(STATUSES)}
        return [
            {"sink": sink, "status": status, "count": count}
            for (sink, status), count in sorted(counts.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99)))
        ]

    def rows(self, status: str, limit: int = 100, *, sink: str | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` rows with ``status``, oldest first. ``dead`` rows come from the dead-letter
        table: their ``id`` is the dead-letter id (what ``replay(ids=...)`` takes)."""
        if status not in STATUSES:
            raise HubError(f"unknown outbox status {status!r}; expected one of {', '.join(STATUSES)}")
        table: sa.Table
        if status == "dead":
            table = schema.outbox_dead_letter
            names = [
                "id",
                "outbox_id",
                "sink",
                "event_id",
                "payload",
                "attempts",
                "last_error",
                "permanent",
                "created_at",
                "died_at",
            ]
            cond: sa.ColumnElement[bool] = sa.true()
        else:
            table = schema.outbox
            names = [
                "id",
                "sink",
                "event_id",
                "payload",
                "attempts",
                "last_error",
                "next_attempt_at",
                "created_at",
                "delivered_at",
            ]
            cond = table.c.status == status
        if sink:
            cond = sa.and_(cond, table.c.sink == sink)
        query = sa.select(*(table.c[n] for n in names)).where(cond).order_by(table.c.id)
        with self.store.connect() as conn:
            found = [dict(r._mapping) for r in conn.execute(query.limit(limit))]
        out = []
        for r in found:
            payload = r.pop("payload")
            rest = {k: _utc(v) if isinstance(v, dt.datetime) else v for k, v in r.items()}
            out.append(
                {
                    "id": rest.pop("id"),
                    "sink": rest.pop("sink"),
                    "event_id": rest.pop("event_id"),
                    "kind": event_kind(payload),
                    "status": status,
                    **rest,
                }
            )
        return out

    # -- replay -------------------------------------------------------------------------------------

    def replay(self, *, sink: str | None = None, ids: Sequence[int] | None = None, actor: str = "cli") -> ReplayStats:
        """Queue dead letters again: each moves back into the outbox as pending, attempts 0, due now.

        ``ids`` are dead-letter ids (``rows("dead")``); without them every dead letter (of ``sink``,
        if given) moves back and every failed row is made due now as well. Writes one audit-log entry.
        Raises :class:`HubError` naming ids that are not dead letters (of ``sink``).
        """
        o, dl = schema.outbox, schema.outbox_dead_letter
        wanted = sorted(set(ids or ()))
        now = utcnow()
        with self.store.begin() as conn:
            if not wanted:
                self._adopt_legacy_dead(conn, sink)
            query = sa.select(dl.c.id, dl.c.sink, dl.c.event_id, dl.c.payload, dl.c.created_at).order_by(dl.c.id)
            if sink:
                query = query.where(dl.c.sink == sink)
            if wanted:
                found = [r for chunk in _chunks(wanted) for r in conn.execute(query.where(dl.c.id.in_(chunk)))]
                missing = sorted(set(wanted) - {r.id for r in found})
                if missing:
                    where = f" for sink {sink!r}" if sink else ""
                    raise HubError(
                        f"no dead letter with id {', '.join(map(str, missing))}{where}; "
                        "'hub outbox --status dead' lists them"
                    )
            else:
                found = list(conn.execute(query))
            queued: set[tuple[str, str]] = set()
            for chunk in _chunks(sorted({r.event_id for r in found})):
                queued.update(
                    (s, e) for s, e in conn.execute(sa.select(o.c.sink, o.c.event_id).where(o.c.event_id.in_(chunk)))
                )
            back = [
                {
                    "sink": r.sink,
                    "event_id": r.event_id,
                    "payload": r.payload,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": r.created_at,
                    "subject": r.payload.get("customer_id") if isinstance(r.payload, Mapping) else None,
                }
                for r in found
                if (r.sink, r.event_id) not in queued
            ]
            if back:
                conn.execute(o.insert(), back)
            for chunk in _chunks([r.id for r in found]):
                conn.execute(dl.delete().where(dl.c.id.in_(chunk)))
            failed = 0
            if not wanted:
                cond: sa.ColumnElement[bool] = o.c.status.in_(("failed", "not_linked"))
                if sink:
                    cond = sa.and_(o.c.sink == sink, cond)
                reset = conn.execute(o.update().where(cond).values(status="pending", next_attempt_at=now))
                failed = int(reset.rowcount)
            stats = ReplayStats(dead_letters=len(back), failed=failed, already_queued=len(found) - len(back))
            self.store.audit(
                conn,
                actor,
                "outbox.replay",
                "outbox",
                sink or "*",
                sink=sink,
                ids=wanted,
                event_ids=[r.event_id for r in found][:100],
                **stats.as_dict(),
            )
        log.info("outbox.replayed", sink=sink, actor=actor, **stats.as_dict())
        return stats
