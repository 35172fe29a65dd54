"""Outbox delivery: flag changes to sinks, at least once, with effects exactly once.

Rows are written by the risk run in the same transaction as the flag changes. ``push`` hands due
rows to each sink in batches, records each per-record result, retries failures with exponential
backoff and jitter, and moves a row that fails ``max_attempts`` times (or permanently) to ``dead``,
where ``hub outbox`` shows it and ``replay`` puts it back. Sinks are idempotent on ``event_id``, so a
crash between delivering and recording the result only causes a harmless second delivery.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from hub.connector import Sink
from hub.errors import HubError
from hub.log import get_logger
from hub.model import FlagChange
from hub.store import Store, schema, utcnow

log = get_logger(__name__)
RETRYABLE = ("pending", "failed")


@dataclass
class SinkStats:
    sink: str
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class PushStats:
    sinks: list[SinkStats] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return sum(s.delivered for s in self.sinks)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.sinks)

    def as_dict(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed": self.failed, "sinks": [asdict(s) for s in self.sinks]}


def enqueue(conn: sa.Connection, changes: list[FlagChange], sinks: list[str], now: dt.datetime) -> int:
    """Queue each change for each sink, in the caller's transaction. Returns the rows written."""
    rows = [
        {
            "sink": sink,
            "event_id": c.event_id,
            "payload": c.model_dump(mode="json"),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for c in changes
        for sink in sinks
    ]
    if rows:
        conn.execute(schema.outbox.insert(), rows)
    return len(rows)


class Outbox:
    def __init__(
        self, store: Store, *, max_attempts: int = 8, backoff_seconds: float = 30.0, backoff_max_seconds: float = 3600.0
    ) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds

    def backoff(self, attempts: int) -> dt.timedelta:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))
        return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling) if ceiling else 0)

    def push(self, sinks: Mapping[str, Sink], *, now: dt.datetime | None = None) -> PushStats:
        stats = PushStats()
        for name, sink in sinks.items():
            stats.sinks.append(self._push_sink(name, sink, now))
        return stats

    def _due(
        self, name: str, now: dt.datetime, limit: int, after_id: int
    ) -> list[tuple[int, str, dict[str, Any], int]]:
        o = schema.outbox
        with self.store.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    sa.select(o.c.id, o.c.event_id, o.c.payload, o.c.attempts)
                    .where(o.c.sink == name, o.c.status.in_(RETRYABLE), o.c.next_attempt_at <= now, o.c.id > after_id)
                    .order_by(o.c.id)
                    .limit(limit)
                )
            ]

    def _push_sink(self, name: str, sink: Sink, now: dt.datetime | None) -> SinkStats:
        stats = SinkStats(name)
        o = schema.outbox
        try:
            sink.check()
        except (HubError, OSError) as exc:  # unreachable: nothing was attempted, so nothing is counted
            stats.errors.append(str(exc))
            log.warning("outbox.sink_unavailable", sink=name, error=str(exc))
            return stats
        last_id = 0
        while True:
            moment = now or utcnow()
            rows = self._due(name, moment, sink.batch_size, last_id)
            if not rows:
                break
            last_id = rows[-1][0]
            changes = [FlagChange.model_validate(payload) for _, _, payload, _ in rows]
            try:
                results = {r.event_id: r for r in sink.deliver(changes)}
            except (HubError, OSError) as exc:
                # The whole batch failed: the sink is down. Count an attempt and stop for now.
                error = str(exc)
                stats.errors.append(error)
                with self.store.begin() as conn:
                    for row_id, _, _, attempts in rows:
                        self._fail(conn, row_id, attempts, error, moment, permanent=False, stats=stats)
                log.warning("outbox.sink_down", sink=name, error=error, batch=len(rows))
                break
            with self.store.begin() as conn:
                for row_id, event_id, _, attempts in rows:
                    result = results.get(event_id)
                    if result is not None and result.ok:
                        conn.execute(
                            o.update()
                            .where(o.c.id == row_id)
                            .values(status="delivered", delivered_at=utcnow(), attempts=attempts + 1, last_error=None)
                        )
                        stats.delivered += 1
                    else:
                        error = result.error if result is not None and result.error else "no result reported by sink"
                        permanent = bool(result is not None and result.permanent)
                        self._fail(conn, row_id, attempts, error, moment, permanent=permanent, stats=stats)
        log.info("outbox.pushed", sink=name, delivered=stats.delivered, failed=stats.failed, dead=stats.dead)
        return stats

    def _fail(
        self,
        conn: sa.Connection,
        row_id: int,
        attempts: int,
        error: str,
        now: dt.datetime,
        *,
        permanent: bool,
        stats: SinkStats,
    ) -> None:
        o = schema.outbox
        attempts += 1
        dead = permanent or attempts >= self.max_attempts
        conn.execute(
            o.update()
            .where(o.c.id == row_id)
            .values(
                status="dead" if dead else "failed",
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=now + self.backoff(attempts),
            )
        )
        if dead:
            stats.dead += 1
        else:
            stats.failed += 1

    def summary(self) -> list[dict[str, Any]]:
        o = schema.outbox
        with self.store.connect() as conn:
            return [
                {"sink": sink, "status": status, "count": count}
                for sink, status, count in conn.execute(
                    sa.select(o.c.sink, o.c.status, sa.func.count())
                    .group_by(o.c.sink, o.c.status)
                    .order_by(o.c.sink, o.c.status)
                )
            ]

    def rows(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        o = schema.outbox
        query = (
            sa.select(o.c.id, o.c.sink, o.c.event_id, o.c.status, o.c.attempts, o.c.last_error, o.c.next_attempt_at)
            .order_by(o.c.id)
            .limit(limit)
        )
        if status:
            query = query.where(o.c.status == status)
        with self.store.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def replay(self, *, sink: str | None = None, ids: list[int] | None = None, actor: str = "cli") -> int:
        """Put dead (and failed) rows back to pending, due now. Returns how many."""
        o = schema.outbox
        cond: sa.ColumnElement[bool] = o.c.status.in_(("dead", "failed"))
        if sink:
            cond = sa.and_(cond, o.c.sink == sink)
        if ids:
            cond = sa.and_(cond, o.c.id.in_(ids))
        with self.store.begin() as conn:
            count = conn.execute(o.update().where(cond).values(status="pending", next_attempt_at=utcnow())).rowcount
            self.store.audit(conn, actor, "outbox.replay", "outbox", sink or "*", ids=ids or [], count=count)
        return int(count or 0)
