"""Late-payment interest and fixed compensation per invoice (``[interest]``, docs/cases.md).

The one call templates, letters and pages need::

    from hub.interest import interest_for

    lines = interest_for(hub, "C1042", dt.date(2024, 3, 31))     # a Hub: its [interest] settings
    lines = interest_for(conn, "C1042", as_of, settings=config)   # a connection or a Store, and settings

It returns one :class:`InterestLine` per overdue invoice of the customer that is still open at
``as_of`` (oldest due date first): ``invoice``, ``currency``, ``due_date``, ``days_late``,
``principal`` (open at ``as_of``), ``rate`` (percent a year in force at ``as_of``), ``interest``,
``compensation``, ``total`` and the ``periods`` the interest was computed over. ``line.as_dict()``
gives strings for JSON. With ``rule = "off"`` (the default) the list is empty.

The rules:

- ``eu``: the reference rate of the period (``reference_rates``, the row with the latest ``from`` on
  or before each day) plus ``margin`` points (8); ``fixed``: ``fixed_rate`` a year.
- Simple interest on the open amount, actual days / 365, from the day after the due date plus
  ``grace_days`` up to and including ``as_of``. A payment (any live allocation: payment, credit note,
  write-off) booked on day P still bears interest on day P and reduces the amount from day P+1, so
  an invoice paid P - due days late bears interest for exactly those days.
- The sum over the periods (between payments and rate changes) is kept exact and rounded half up
  to cents once per invoice.
- Fixed compensation per late invoice: ``compensation`` (40, in the invoice's currency), or
  ``compensation_by_currency`` where it differs.

Open amounts follow the risk run's rule, read by :func:`hub.openitems.customer_invoices` (the reader of
reminders and cases too): the ERP's open amount less the live allocations the hub made, those booked
after ``as_of`` added back. Invoices already paid in full are not charged here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from itertools import pairwise
from typing import Any

import sqlalchemy as sa

from hub.config import InterestConfig
from hub.errors import ConfigError
from hub.openitems import OPEN_STATUSES, customer_invoices
from hub.store import Store, schema

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAYS_IN_YEAR = Decimal(365)
#: Invoice statuses that can bear interest (paid, cancelled and closed ones cannot).
CHARGEABLE = OPEN_STATUSES


@dataclass(frozen=True)
class Period:
    """Days with one open amount and one rate: ``start`` to ``end`` inclusive."""

    start: dt.date
    end: dt.date
    days: int
    principal: Decimal
    rate: Decimal
    interest: Decimal
    """Exact (not rounded): the invoice's total is rounded once."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "principal": str(self.principal),
            "rate": str(self.rate),
            "interest": str(self.interest.quantize(CENT, ROUND_HALF_UP)),
        }


@dataclass(frozen=True)
class InterestLine:
    """One overdue invoice's interest and compensation at ``as_of``."""

    invoice: str
    currency: str
    due_date: dt.date
    days_late: int
    principal: Decimal
    rate: Decimal
    interest: Decimal
    compensation: Decimal
    periods: tuple[Period, ...] = field(default=())

    @property
    def total(self) -> Decimal:
        return self.interest + self.compensation

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoice": self.invoice,
            "currency": self.currency,
            "due_date": self.due_date.isoformat(),
            "days_late": self.days_late,
            "principal": str(self.principal),
            "rate": str(self.rate),
            "interest": str(self.interest),
            "compensation": str(self.compensation),
            "total": str(self.total),
            "periods": [p.as_dict() for p in self.periods],
        }


class RateTable:
    """The annual rate in percent on any day under one ``[interest]`` rule."""

    def __init__(self, settings: InterestConfig) -> None:
        self.rule = settings.rule
        self.margin = settings.margin_points()
        self.fixed = settings.fixed_percent()
        self.rows = settings.rate_table() if settings.rule == "eu" else []
        if self.rule == "eu" and not self.rows:
            raise ConfigError("[interest] rule 'eu' needs reference_rates: [{from = 2024-07-01, rate = '4.25'}, ...]")

    def on(self, day: dt.date) -> Decimal:
        if self.rule == "fixed":
            return self.fixed
        found = None
        for start, rate in self.rows:
            if start <= day:
                found = rate
            else:
                break
        if found is None:
            raise ConfigError(
                f"[interest] reference_rates has no rate for {day.isoformat()} (the first is from {self.rows[0][0]})"
            )
        return found + self.margin

    def changes(self, after: dt.date, until: dt.date) -> list[dt.date]:
        """Days in ``(after, until]`` on which the rate changes."""
        return [d for d, _ in self.rows if after < d <= until] if self.rule == "eu" else []


def compute(
    *,
    invoice: str,
    currency: str,
    due_date: dt.date,
    open_now: Decimal,
    payments: list[tuple[dt.date, Decimal]],
    as_of: dt.date,
    rates: RateTable,
    grace_days: int,
    compensation: Decimal,
) -> InterestLine | None:
    """One invoice's line, or None when it bears nothing at ``as_of``.

    ``open_now`` is the open amount after every payment in ``payments`` (booking day, amount) that is
    booked up to ``as_of``; before a payment's day + 1 the amount was that much higher.
    """
    start = due_date + dt.timedelta(days=grace_days + 1)
    if as_of < start or open_now <= 0:
        return None
    paid = sorted((day, amount) for day, amount in payments if day <= as_of)
    # the open amount on a day = open_now + what was paid from that day on (a payment on P counts from P+1)
    cuts = {start, as_of + dt.timedelta(days=1)}
    cuts.update(day + dt.timedelta(days=1) for day, _ in paid if start < day + dt.timedelta(days=1) <= as_of)
    cuts.update(rates.changes(start, as_of))
    bounds = sorted(cuts)
    periods: list[Period] = []
    with localcontext(Context(prec=50)):
        for low, high in pairwise(bounds):
            principal = open_now + sum((amount for day, amount in paid if day >= low), ZERO)
            if principal <= 0:
                continue
            rate = rates.on(low)
            days = (high - low).days
            interest = principal * rate / 100 * days / DAYS_IN_YEAR
            periods.append(Period(low, high - dt.timedelta(days=1), days, principal, rate, interest))
        total = sum((p.interest for p in periods), Decimal(0))
    return InterestLine(
        invoice=invoice,
        currency=currency,
        due_date=due_date,
        days_late=(as_of - due_date).days,
        principal=open_now,
        rate=rates.on(as_of),
        interest=total.quantize(CENT, ROUND_HALF_UP),
        compensation=compensation.quantize(CENT, ROUND_HALF_UP),
        periods=tuple(periods),
    )


def interest_for(
    conn_or_book: Any, customer_id: str, as_of: dt.date, *, settings: InterestConfig | None = None
) -> list[InterestLine]:
    """The customer's interest lines at ``as_of`` (see the module's docstring).

    ``conn_or_book``: a :class:`hub.app.Hub` (its store and ``[interest]`` settings), a
    :class:`hub.store.Store` or an open SQLAlchemy connection (then pass ``settings``; without them
    the rule is off and the list empty).
    """
    if settings is None:
        config = getattr(conn_or_book, "config", None)
        settings = getattr(config, "interest", None) or InterestConfig()
    if settings.rule == "off":
        return []
    store = getattr(conn_or_book, "store", conn_or_book)
    if isinstance(store, Store):
        with store.connect() as conn:
            return _lines(conn, customer_id, as_of, settings)
    return _lines(conn_or_book, customer_id, as_of, settings)


def _lines(conn: sa.Connection, customer_id: str, as_of: dt.date, settings: InterestConfig) -> list[InterestLine]:
    rates = RateTable(settings)
    out = []
    for item in customer_invoices(conn, customer_id):
        if item.status not in CHARGEABLE or item.erp_open <= 0 or item.due_date >= as_of:
            continue
        # what is open in the hub at as_of: today's open amount plus what was paid after as_of
        payments = [(day, amount) for day, amount in item.payments if day <= as_of]
        open_now = item.open + sum((amount for day, amount in item.payments if day > as_of), ZERO)
        line = compute(
            invoice=item.number,
            currency=item.currency,
            due_date=item.due_date,
            open_now=open_now,
            payments=payments,
            as_of=as_of,
            rates=rates,
            grace_days=settings.grace_days,
            compensation=settings.compensation_for(item.currency),
        )
        if line is not None:
            out.append(line)
    return out


def totals(lines: list[InterestLine]) -> dict[str, Decimal]:
    """Interest plus compensation per currency."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        out[line.currency] += line.total
    return dict(out)


# -- invoicing through the ERP sink ------------------------------------------------------------------------


@dataclass(frozen=True)
class Charge:
    """An interest invoice queued for a customer and period (``created``: by this call)."""

    customer_id: str
    period: str
    event_id: str
    lines: list[dict[str, Any]]
    totals: dict[str, str]
    created: bool
    sinks: list[str]


def queue_invoice(
    store: Store,
    settings: InterestConfig,
    customer_id: str,
    *,
    period: str,
    as_of: dt.date,
    actor: str,
    sinks: list[str],
    master_source: str | None = None,
) -> Charge:
    """Queue an ``interest_invoice`` outbox event for the customer and ``period`` once (idempotent).

    What earlier periods invoiced is deducted per invoice (interest, and the compensation once per
    invoice), so each period bills only what accrued since. The ``interest_charge`` row is unique per
    customer and period: a second call (or two at once) returns the first's charge, ``created=False``.
    Raises :class:`hub.errors.HubError` when nothing is due.
    """
    from hub.errors import HubError
    from hub.i18n import N_
    from hub.model import InterestInvoice, InterestInvoiceLine
    from hub.outbox import enqueue
    from hub.risk.credit import customer_links
    from hub.store import utcnow

    ic = schema.interest_charge
    existing = _charge(store, customer_id, period)
    if existing is not None:
        return existing
    now = utcnow()
    try:
        with store.begin() as conn:
            lines = _lines(conn, customer_id, as_of, settings)
            before: dict[str, tuple[Decimal, bool]] = {}
            # what other periods billed (the same period's row, if another process just wrote it, is
            # not "earlier": the insert below then fails on the unique key and returns that row)
            earlier_rows = conn.execute(
                sa.select(ic.c.lines).where(ic.c.customer_id == customer_id, ic.c.period != period)
            )
            for (earlier,) in earlier_rows:
                for item in earlier:
                    interest, compensated = before.get(item["invoice"], (ZERO, False))
                    before[item["invoice"]] = (
                        interest + Decimal(item["interest"]),
                        compensated or Decimal(item["compensation"]) > 0,
                    )
            billed: list[InterestInvoiceLine] = []
            for line in lines:
                interest, compensated = before.get(line.invoice, (ZERO, False))
                due = max(line.interest - interest, ZERO)
                fee = ZERO if compensated else line.compensation
                if due > 0 or fee > 0:
                    billed.append(
                        InterestInvoiceLine(
                            invoice=line.invoice,
                            currency=line.currency,
                            days_late=line.days_late,
                            principal=line.principal,
                            rate=line.rate,
                            interest=due,
                            compensation=fee,
                        )
                    )
            if not billed:
                if (found := _charge_in(conn, customer_id, period)) is not None:
                    return found
                raise HubError(
                    N_("no late-payment interest is due from %(customer)s at %(day)s"),
                    values={"customer": customer_id, "day": as_of.isoformat()},
                )
            sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for item in billed:
                sums[item.currency] += item.interest + item.compensation
            event = InterestInvoice(
                event_id=f"interest:{customer_id}:{period}",
                customer_id=customer_id,
                period=period,
                as_of=as_of,
                lines=billed,
                totals={ccy: str(v) for ccy, v in sorted(sums.items())},
                requested_by=actor,
                at=now,
                links=customer_links(conn, customer_id, master_source),
            )
            payload_lines = [item.model_dump(mode="json") for item in billed]
            conn.execute(
                ic.insert().values(
                    customer_id=customer_id,
                    period=period,
                    as_of=as_of,
                    event_id=event.event_id,
                    lines=payload_lines,
                    totals=event.totals,
                    created_by=actor,
                    created_at=now,
                )
            )
            enqueue(conn, [event], sinks, now)
            store.audit(conn, actor, "interest.invoice", "customer", customer_id, period=period, totals=event.totals)
    except sa.exc.IntegrityError:
        found = _charge(store, customer_id, period)
        if found is None:
            raise
        return found
    return Charge(customer_id, period, event.event_id, payload_lines, event.totals, True, list(sinks))


def _charge(store: Store, customer_id: str, period: str) -> Charge | None:
    with store.connect() as conn:
        return _charge_in(conn, customer_id, period)


def _charge_in(conn: sa.Connection, customer_id: str, period: str) -> Charge | None:
    ic, ob = schema.interest_charge, schema.outbox
    row = conn.execute(sa.select(ic).where(ic.c.customer_id == customer_id, ic.c.period == period)).first()
    if row is None:
        return None
    sinks = sorted(conn.execute(sa.select(ob.c.sink).where(ob.c.event_id == row.event_id)).scalars())
    return Charge(customer_id, period, row.event_id, list(row.lines), dict(row.totals), False, sinks)
