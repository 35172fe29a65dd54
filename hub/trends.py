"""Trends of the book over time, for the console's dashboard: DSO, overdue by ageing bucket, the
automatic match rate by day, promises kept, and cash collected per week.

Each series is computed by SQL from what the store keeps:

* cash collected and the automatic match rate from the receipts (their booking dates) and their
  allocations (``allocation_event`` says which ones the matcher decided alone);
* promises kept and broken from the ``promise`` table, by the week they were due;
* DSO and overdue by bucket from ``portfolio_snapshot``: the ``exposure`` table holds only the latest
  risk run, so each risk run also writes one snapshot row for its as-of day (:func:`write_snapshot`,
  called by :mod:`hub.risk.engine` in the run's transaction). These two series start on the day the
  first snapshot was written and grow by one point per day the risk run runs.

Queries are bounded by a window of days or weeks and grouped in SQL, so the dashboard reads a few
hundred rows whatever the size of the book.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hub.fx import Rates
from hub.store import schema
from hub.store.money import money_sum

ZERO = Decimal(0)


@dataclass(frozen=True)
class Snapshot:
    as_of: dt.date
    open_base: Decimal
    overdue_base: Decimal
    buckets: dict[str, Decimal]
    dso: float | None
    customers: int


@dataclass(frozen=True)
class DayMatches:
    day: dt.date
    receipts: int
    automatic: int
    matched: int
    """Matched in any way (automatically or confirmed by a person)."""

    @property
    def auto_rate(self) -> float | None:
        return self.automatic / self.receipts if self.receipts else None


@dataclass(frozen=True)
class WeekPromises:
    week: dt.date
    """The Monday of the week the promises were due."""
    kept: int
    broken: int
    open: int

    @property
    def kept_rate(self) -> float | None:
        decided = self.kept + self.broken
        return self.kept / decided if decided else None


@dataclass(frozen=True)
class WeekCash:
    week: dt.date
    amount: Decimal
    """In the base currency (what could be converted)."""
    receipts: int
    unconverted: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Trends:
    as_of: dt.date
    base_currency: str
    buckets: list[str]
    snapshots: list[Snapshot]
    matches: list[DayMatches]
    promises: list[WeekPromises]
    cash: list[WeekCash]


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def write_snapshot(conn: sa.Connection, as_of: dt.date, now: dt.datetime, base_currency: str) -> None:
    """Record the book as the ``exposure`` table now holds it as ``as_of``'s snapshot (replacing that day's).

    Each customer's buckets are in its own currency; they are brought to the base currency in the
    proportion its ``open_base`` bears to its ``open_amount`` (the rates the risk run used)."""
    e = schema.exposure
    buckets: dict[str, Decimal] = defaultdict(lambda: ZERO)
    open_total = overdue_total = ZERO
    weighted = ZERO
    weight = ZERO
    customers = 0
    rows = conn.execute(sa.select(e.c.open_amount, e.c.overdue_amount, e.c.open_base, e.c.buckets, e.c.dso))
    for open_amount, overdue_amount, open_base, row_buckets, dso in rows:
        customers += 1
        if not open_amount:
            continue
        factor = Decimal(open_base) / Decimal(open_amount)
        open_total += open_base
        overdue_total += Decimal(overdue_amount) * factor
        for label, amount in (row_buckets or {}).items():
            buckets[label] += Decimal(amount) * factor
        if dso is not None and open_base > 0:
            weighted += Decimal(str(dso)) * open_base
            weight += open_base
    cent = Decimal("0.01")
    s = schema.portfolio_snapshot
    conn.execute(s.delete().where(s.c.as_of == as_of))
    conn.execute(
        s.insert().values(
            as_of=as_of,
            base_currency=base_currency,
            customers=customers,
            open_base=open_total.quantize(cent),
            overdue_base=overdue_total.quantize(cent),
            buckets={k: str(v.quantize(cent)) for k, v in buckets.items()},
            dso=float(weighted / weight) if weight else None,
            computed_at=now,
        )
    )


def snapshots(conn: sa.Connection, *, since: dt.date, until: dt.date) -> list[Snapshot]:
    s = schema.portfolio_snapshot
    rows = conn.execute(sa.select(s).where(s.c.as_of >= since, s.c.as_of <= until).order_by(s.c.as_of))
    return [
        Snapshot(
            r.as_of,
            r.open_base,
            r.overdue_base,
            {k: Decimal(v) for k, v in (r.buckets or {}).items()},
            r.dso,
            r.customers,
        )
        for r in rows
    ]


def _payments(r: sa.Table) -> Any:
    """Customer payments: money in, not reversals (as ``hub demo`` counts the book's receipts)."""
    return sa.and_(r.c.direction == "credit", r.c.reversal.is_(False))


def match_rates(conn: sa.Connection, *, since: dt.date, until: dt.date) -> list[DayMatches]:
    """Per booking day: customer payments, how many the matcher allocated alone, how many are matched."""
    r, a, e = schema.receipt, schema.allocation, schema.allocation_event
    automatic = (
        sa.select(sa.literal(1))
        .select_from(a.join(e, e.c.allocation_id == a.c.id))
        .where(a.c.receipt_id == r.c.id, e.c.status == "auto")
        .exists()
    )
    query = (
        sa.select(
            r.c.booking_date,
            sa.func.count(),
            sa.func.sum(sa.case((automatic, 1), else_=0)),
            sa.func.sum(sa.case((r.c.match_status == "matched", 1), else_=0)),
        )
        .where(_payments(r), r.c.booking_date >= since, r.c.booking_date <= until)
        .group_by(r.c.booking_date)
        .order_by(r.c.booking_date)
    )
    return [DayMatches(day, int(n), int(auto or 0), int(matched or 0)) for day, n, auto, matched in conn.execute(query)]


def promise_weeks(conn: sa.Connection, *, since: dt.date, until: dt.date) -> list[WeekPromises]:
    """Promises by the week they were due: kept, broken, still open."""
    p = schema.promise
    counts: dict[dt.date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    query = (
        sa.select(p.c.promised_date, p.c.status, sa.func.count())
        .where(p.c.promised_date >= since, p.c.promised_date <= until)
        .group_by(p.c.promised_date, p.c.status)
    )
    for day, status, n in conn.execute(query):
        counts[monday(day)][status] += int(n)
    return [
        WeekPromises(week, c.get("kept", 0), c.get("broken", 0), c.get("open", 0)) for week, c in sorted(counts.items())
    ]


def cash_weeks(conn: sa.Connection, *, since: dt.date, until: dt.date, rates: Rates) -> list[WeekCash]:
    """Customer payments received per week (Monday first), in the base currency."""
    r = schema.receipt
    query = (
        sa.select(r.c.booking_date, r.c.currency, money_sum(r.c.amount), sa.func.count())
        .where(_payments(r), r.c.booking_date >= since, r.c.booking_date <= until)
        .group_by(r.c.booking_date, r.c.currency)
    )
    amounts: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
    counts: dict[dt.date, int] = defaultdict(int)
    unconverted: dict[dt.date, dict[str, Decimal]] = defaultdict(dict)
    for day, currency, total, n in conn.execute(query):
        week = monday(day)
        counts[week] += int(n)
        value = rates.convert(Decimal(total or 0), currency, rates.base)
        if value is None:
            unconverted[week][currency] = unconverted[week].get(currency, ZERO) + Decimal(total or 0)
        else:
            amounts[week] += value
    weeks = []
    week = monday(since)
    while week <= until:
        weeks.append(WeekCash(week, amounts.get(week, ZERO), counts.get(week, 0), unconverted.get(week, {})))
        week += dt.timedelta(days=7)
    return weeks


def trends(
    conn: sa.Connection,
    *,
    as_of: dt.date,
    base_currency: str,
    rates: dict[str, Decimal],
    buckets: list[str],
    days: int = 30,
    weeks: int = 12,
) -> Trends:
    """Every dashboard series up to ``as_of``: daily ones over ``days`` days, weekly ones over ``weeks`` weeks."""
    day_since = as_of - dt.timedelta(days=days - 1)
    week_since = monday(as_of) - dt.timedelta(weeks=weeks - 1)
    fx = Rates.load(conn, base_currency, rates, as_of)
    return Trends(
        as_of=as_of,
        base_currency=base_currency,
        buckets=buckets,
        snapshots=snapshots(conn, since=day_since, until=as_of),
        matches=match_rates(conn, since=day_since, until=as_of),
        promises=promise_weeks(conn, since=week_since, until=monday(as_of) + dt.timedelta(days=6)),
        cash=cash_weeks(conn, since=week_since, until=as_of, rates=fx),
    )
