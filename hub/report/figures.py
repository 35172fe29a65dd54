"""The figures of the HTML report, read from the store: the only part of :mod:`hub.report` that queries.

:func:`collect_report` reads the portfolio as the last risk run left it (``exposure``,
``exposure_group``, ``risk_flag``) and the state of cash application (``receipt``, ``allocation``)
into a :class:`Report` of plain values, which :mod:`hub.report.html` turns into the page.

Amounts in the base currency are the risk run's own: each customer's ``open_base``, and its overdue
amount and ageing buckets converted at the same ratio (``amount * open_base / open``), rounded to
cents per customer. A customer whose currency had no rate to the base currency is left out of
those totals and counted in :attr:`Report.no_rate`, never added at face value. Receipts and groups
(kept in their own currencies) are converted with :class:`hub.fx.Rates` (the source's rates, then
``[fx] rates``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from hub.errors import HubError
from hub.fmt import ordered_labels
from hub.fx import Rates
from hub.risk.exposure import bucket_labels, bureau_views
from hub.store import Store, schema, utcnow
from hub.store.money import money_sum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
GROUPS_SHOWN = 10
NO_EXPOSURE = "no exposure computed yet: run 'hub risk' (or 'hub run') first"

#: How each receipt counts for the match rate, in the order the page lists them
#: (:data:`hub.report.html.MATCH_TITLES` names them).
MATCH_KINDS = ("auto", "confirmed", "suggested", "open")
MATCHED = ("auto", "confirmed")


@dataclass
class CustomerLine:
    customer_id: str
    name: str | None
    currency: str
    band: str | None
    score: float | None
    open_amount: Decimal
    overdue_amount: Decimal
    credit_limit: Decimal | None
    recommended_limit: Decimal | None
    utilisation: float | None
    flags: list[str]
    next_action: dict[str, Any] | None
    #: open, overdue and each bucket in the base currency; None when the currency had no rate
    open_base: Decimal | None
    overdue_base: Decimal | None
    buckets_base: dict[str, Decimal] | None


@dataclass
class GroupLine:
    group_id: str
    name: str | None
    currency: str
    members: int
    open_amount: Decimal
    overdue_amount: Decimal
    credit_limit: Decimal | None
    utilisation: float | None
    open_base: Decimal | None


@dataclass
class BureauLine:
    """One bureau's latest view of a customer, beside the hub's own score and band."""

    customer_id: str
    name: str | None
    hub_score: float | None
    hub_band: str | None
    bureau: str
    report_date: dt.date
    score: float | None
    band: str | None
    previous_score: float | None
    previous_band: str | None
    previous_date: dt.date | None
    recommended_limit: Decimal | None
    currency: str | None
    #: each event as (kind, date, description, court, case number, amount, currency)
    events: list[tuple[str, dt.date | None, str, str | None, str | None, Decimal | None, str | None]]


@dataclass
class MatchLine:
    kind: str
    count: int = 0
    amount_base: Decimal = ZERO


@dataclass
class Report:
    """Everything the page shows, computed from the store (see :func:`collect_report`)."""

    as_of: dt.date
    base_currency: str
    generated_at: dt.datetime
    exposure_dates: list[dt.date]
    computed_at: dt.datetime | None
    labels: list[str]
    customers: list[CustomerLine]
    open_base: Decimal
    overdue_base: Decimal
    buckets_base: dict[str, Decimal]
    #: customers left out of the base-currency totals: currency -> (customers, open amount)
    no_rate: dict[str, tuple[int, Decimal]]
    #: amounts inside customers' exposure that had no rate to the customer's currency
    unconverted: dict[str, Decimal]
    bands: list[tuple[str | None, int, Decimal]]
    flags: list[tuple[str, int]]
    flagged_customers: int
    top: list[CustomerLine]
    groups: list[GroupLine]
    group_count: int
    matches: list[MatchLine]
    receipts_no_rate: dict[str, tuple[int, Decimal]]
    due: list[CustomerLine]
    due_by_owner: list[tuple[str, str, int]]
    paused: int
    planned: int
    #: every bureau's latest view of each customer, the lowest bureau scores first
    bureaus: list[BureauLine] = field(default_factory=list)

    @property
    def receipt_count(self) -> int:
        return sum(m.count for m in self.matches)

    @property
    def matched_count(self) -> int:
        return sum(m.count for m in self.matches if m.kind in MATCHED)

    @property
    def receipt_amount(self) -> Decimal:
        """Incoming receipts in the base currency (those in a currency without a rate left out)."""
        return sum((m.amount_base for m in self.matches), ZERO)

    @property
    def matched_amount(self) -> Decimal:
        return sum((m.amount_base for m in self.matches if m.kind in MATCHED), ZERO)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def collect_report(
    store: Store,
    *,
    as_of: dt.date,
    base_currency: str,
    top: int = 20,
    bucket_bounds: Sequence[int] | None = None,
    fx_rates: Mapping[str, Decimal] | None = None,
    generated_at: dt.datetime | None = None,
) -> Report:
    """Read the store and compute every figure of the report; HubError when no risk run is stored."""
    if top < 1:
        raise HubError(f"the number of top exposures must be at least 1, got {top}")
    base = base_currency.upper()
    with store.connect() as conn:
        e = schema.exposure
        rows = conn.execute(sa.select(e).order_by(e.c.customer_id)).all()
        if not rows:
            raise HubError(NO_EXPOSURE)
        other_base = sorted({r.base_currency for r in rows if r.base_currency and r.base_currency != base})
        if other_base:
            raise HubError(
                f"the last risk run computed base-currency amounts in {', '.join(other_base)}, but the base "
                f"currency is now {base}: run 'hub risk' again before the report"
            )
        rates = Rates.load(conn, base, dict(fx_rates or {}), as_of)
        group_rows = conn.execute(sa.select(schema.exposure_group)).all()
        f = schema.risk_flag
        flag_rows = conn.execute(
            sa.select(f.c.code, sa.func.count()).where(f.c.active.is_(True)).group_by(f.c.code)
        ).all()
        receipt_rows = _receipt_totals(conn)
        views = bureau_views(conn)

    stored = {k for r in rows for k in (r.buckets or {})}
    configured = set(bucket_labels(bucket_bounds)) if bucket_bounds else set()
    # The configured buckets (empty ones too) when the stored run used them; else the run's own.
    labels = ordered_labels(configured if stored <= configured else stored)
    customers = [_customer_line(r, base) for r in rows]

    open_base, overdue_base = ZERO, ZERO
    buckets_base = dict.fromkeys(labels, ZERO)
    no_rate: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
    for c in customers:
        if c.open_base is None or c.overdue_base is None or c.buckets_base is None:
            no_rate[c.currency][0] += 1
            no_rate[c.currency][1] += c.open_amount
            continue
        open_base += c.open_base
        overdue_base += c.overdue_base
        for label, amount in c.buckets_base.items():
            buckets_base[label] += amount
    unconverted: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        for ccy, amount in (r.unconverted or {}).items():
            unconverted[ccy] += Decimal(str(amount))

    per_band: dict[str | None, list[Any]] = defaultdict(lambda: [0, ZERO])
    for c in customers:
        per_band[c.band][0] += 1
        per_band[c.band][1] += c.open_base or ZERO
    bands = [(b, n, amount) for b, (n, amount) in sorted(per_band.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))]

    ranked = sorted(customers, key=lambda c: (c.open_base is None, -(c.open_base or ZERO), c.customer_id))
    names = {c.customer_id: c.name for c in customers}
    groups = [_group_line(g, names.get(g.group_id), rates) for g in group_rows]
    groups.sort(key=lambda g: (g.open_base is None, -(g.open_base or ZERO), g.group_id))

    matches = {kind: MatchLine(kind) for kind in MATCH_KINDS}
    receipts_no_rate: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
    for kind, ccy, count, amount in receipt_rows:
        line = matches.setdefault(kind, MatchLine(kind))
        line.count += count  # every receipt counts by number; by amount only those with a rate
        converted = rates.convert(amount, ccy, base)
        if converted is None:
            receipts_no_rate[ccy][0] += count
            receipts_no_rate[ccy][1] += amount
        else:
            line.amount_base += converted

    planned = [c for c in customers if c.next_action]
    due = [c for c in planned if _due_on(c) is not None and str(_due_on(c)) <= as_of.isoformat()]
    due.sort(key=lambda c: (str(_due_on(c)), c.customer_id))
    by_owner: dict[tuple[str, str], int] = defaultdict(int)
    for c in due:
        plan = c.next_action or {}
        by_owner[(str(plan.get("owner") or "-"), str(plan.get("action") or "-"))] += 1

    by_id = {c.customer_id: c for c in customers}
    bureaus = [_bureau_line(by_id.get(cid), cid, v) for cid, per_customer in views.items() for v in per_customer]
    bureaus.sort(key=lambda b: (b.score is None, b.score if b.score is not None else 0.0, b.customer_id, b.bureau))

    computed = [r.computed_at for r in rows if r.computed_at is not None]
    return Report(
        as_of=as_of,
        base_currency=base,
        generated_at=generated_at or utcnow(),
        exposure_dates=sorted({r.as_of for r in rows}),
        computed_at=max(computed) if computed else None,
        labels=labels,
        customers=customers,
        open_base=open_base,
        overdue_base=overdue_base,
        buckets_base=buckets_base,
        no_rate={k: (n, a) for k, (n, a) in sorted(no_rate.items())},
        unconverted=dict(sorted((k, v) for k, v in unconverted.items() if v)),
        bands=bands,
        flags=sorted(((str(code), int(n)) for code, n in flag_rows), key=lambda x: (-x[1], x[0])),
        flagged_customers=sum(1 for c in customers if c.flags),
        top=ranked[:top],
        groups=groups[:GROUPS_SHOWN],
        group_count=len(groups),
        matches=list(matches.values()),  # the kinds of MATCH_KINDS in order, then any other
        receipts_no_rate={k: (n, a) for k, (n, a) in sorted(receipts_no_rate.items())},
        due=due,
        due_by_owner=sorted(((o, a, n) for (o, a), n in by_owner.items()), key=lambda x: (-x[2], x[0], x[1])),
        paused=sum(1 for c in planned if (c.next_action or {}).get("paused_until")),
        planned=len(planned),
        bureaus=bureaus,
    )


def _bureau_line(c: CustomerLine | None, cid: str, v: Any) -> BureauLine:
    return BureauLine(
        customer_id=cid,
        name=c.name if c else None,
        hub_score=c.score if c else None,
        hub_band=c.band if c else None,
        bureau=v.bureau,
        report_date=v.report_date,
        score=v.score,
        band=v.band,
        previous_score=v.previous_score,
        previous_band=v.previous_band,
        previous_date=v.previous_date,
        recommended_limit=v.recommended_limit,
        currency=v.recommended_limit_currency,
        events=[
            (str(e.kind), e.date, e.description, e.court, e.case_number, e.amount, e.currency) for e in v.legal_events
        ],
    )


def _due_on(c: CustomerLine) -> str | None:
    value = (c.next_action or {}).get("due_on")
    return str(value) if value else None


def _customer_line(r: Any, base: str) -> CustomerLine:
    open_amount: Decimal = r.open_amount
    overdue: Decimal = r.overdue_amount
    buckets = {k: Decimal(str(v)) for k, v in (r.buckets or {}).items()}
    ratio: Decimal | None
    if r.currency == base:
        ratio = Decimal(1)
    elif open_amount and r.open_base:
        ratio = r.open_base / open_amount
    elif not open_amount:
        ratio = Decimal(0)  # nothing open: nothing to convert
    else:
        ratio = None  # open, but the risk run found no rate to the base currency
    return CustomerLine(
        customer_id=r.customer_id,
        name=r.name,
        currency=r.currency,
        band=r.band,
        score=r.score,
        open_amount=open_amount,
        overdue_amount=overdue,
        credit_limit=r.credit_limit,
        recommended_limit=r.recommended_limit,
        utilisation=r.utilisation,
        flags=list(r.flags or []),
        next_action=r.next_action or None,
        open_base=None if ratio is None else (open_amount if r.currency == base else r.open_base),
        overdue_base=None if ratio is None else _cents(overdue * ratio),
        buckets_base=None if ratio is None else {k: _cents(v * ratio) for k, v in buckets.items()},
    )


def _group_line(g: Any, name: str | None, rates: Rates) -> GroupLine:
    return GroupLine(
        group_id=g.group_id,
        name=name,
        currency=g.currency,
        members=g.members,
        open_amount=g.open_amount,
        overdue_amount=g.overdue_amount,
        credit_limit=g.credit_limit,
        utilisation=g.utilisation,
        open_base=rates.convert(g.open_amount, g.currency, rates.base),
    )


def _receipt_totals(conn: sa.Connection) -> list[tuple[str, str, int, Decimal]]:
    """Incoming receipts (credits, not reversals) per kind and currency: count and amount.

    The kind is the receipt's match status, with matched receipts split by their allocations:
    ``confirmed`` when a person confirmed one of them, else ``auto``.
    """
    r, a = schema.receipt, schema.allocation
    confirmed = sa.exists().where(a.c.receipt_id == r.c.id, a.c.status == "confirmed")
    kind = sa.case(
        (sa.and_(r.c.match_status == "matched", confirmed), sa.literal("confirmed")),
        (r.c.match_status == "matched", sa.literal("auto")),
        else_=r.c.match_status,
    )
    per_receipt = (
        sa.select(kind.label("kind"), r.c.currency, r.c.amount)
        .where(r.c.direction == "credit", r.c.reversal.is_(False))
        .subquery()
    )
    rows = conn.execute(
        sa.select(per_receipt.c.kind, per_receipt.c.currency, sa.func.count(), money_sum(per_receipt.c.amount))
        .group_by(per_receipt.c.kind, per_receipt.c.currency)
        .order_by(per_receipt.c.kind, per_receipt.c.currency)
    ).all()
    return [(str(k), str(c), int(n), amount if amount is not None else ZERO) for k, c, n, amount in rows]
