"""What each customer owes, how late, and how it has paid: the inputs of the risk run.

:func:`load_customers` reads the store once and builds one :class:`hub.risk.CustomerRisk` per
canonical customer:

- open receivables: open and disputed invoices less live (automatic and confirmed) allocations,
  aged into the configured buckets by days past due at the as-of date;
- unapplied cash: money received from the customer (its allocated receipts' remainder, or a
  receipt from one of its known accounts) that is not applied to an invoice;
- open orders, and guarantees or collateral still valid at the as-of date;
- the payment history: each live payment allocation (receipt booking date against the invoice's
  due date), and invoices the ERP reports paid (``paid_date``) that the hub did not match itself;
- DSO: open receivables over the invoicing of the last ``[risk] dso_days`` days, times those days;
- bureau reports (latest and previous per bureau) and earlier daily assessments.

Amounts in another currency than the customer's are converted (:mod:`hub.fx`); what has no rate is
kept apart in ``Exposure.unconverted`` and named, never added at face value. Groups (a parent and
every level of subsidiaries) are rolled up in the parent's currency by :func:`roll_up_groups`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hub.fx import Rates
from hub.model import Exposure, LegalEvent
from hub.recon.types import APPLIED, LIVE
from hub.risk.types import BureauView, CustomerRisk, PastAssessment, Payment
from hub.store import schema
from hub.store.money import money_positive, money_sub, money_sum, money_value

ZERO = Decimal("0.00")
DEFAULT_BOUNDS = (30, 60, 90, 180)


def bucket_labels(bounds: Sequence[int] = DEFAULT_BOUNDS) -> list[str]:
    """``not_due``, then ``d1_30``-style labels for each configured bound, then ``d{last}_plus``."""
    labels = ["not_due"]
    low = 1
    for high in bounds:
        labels.append(f"d{low}_{high}")
        low = high + 1
    labels.append(f"d{bounds[-1] if bounds else 0}_plus")
    return labels


def check_bounds(bounds: Sequence[int]) -> None:
    if not bounds or any(b < 1 for b in bounds) or list(bounds) != sorted(set(bounds)):
        from hub.errors import ConfigError

        raise ConfigError(f"[risk] buckets must be increasing day counts of at least 1, got {list(bounds)}")


def bucket_of(days_past_due: int, bounds: Sequence[int] = DEFAULT_BOUNDS) -> str:
    """The label of the bucket a number of days past due falls in (0 or less: not due)."""
    if days_past_due <= 0:
        return "not_due"
    low = 1
    for high in bounds:
        if days_past_due <= high:
            return f"d{low}_{high}"
        low = high + 1
    return f"d{bounds[-1]}_plus"


@dataclass
class _Customer:
    cid: str
    name: str | None = None
    currency: str | None = None
    limit: Decimal | None = None
    terms: int | None = None
    parent: str | None = None
    links: dict[str, str] = field(default_factory=dict)


@dataclass
class _Acc:
    """Running totals of one customer while the store is read."""

    currency: str
    buckets: dict[str, Decimal]
    open_orders: Decimal = ZERO
    secured: Decimal = ZERO
    unapplied: Decimal = ZERO
    sales: Decimal = ZERO
    oldest: dt.date | None = None
    max_dpd: int = 0
    unconverted: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    rates: dict[str, str] = field(default_factory=dict)


class CustomerIndex:
    """Canonical customers and how other records name them.

    A record from source S naming customer X belongs to the canonical customer of the customer
    record (S, X); failing that, to X when X is itself a canonical id; else to ``S:X`` (the same
    rule as :data:`hub.store.schema.invoice_customer_id`).
    """

    def __init__(self, conn: sa.Connection, master_source: str | None = None) -> None:
        c = schema.customer
        self.by_key: dict[tuple[str, str], str] = {}
        self.customers: dict[str, _Customer] = {}
        parents: dict[str, tuple[str, str]] = {}
        rows = list(
            conn.execute(
                sa.select(
                    c.c.canonical_id,
                    c.c.source,
                    c.c.external_id,
                    c.c.legal_name,
                    c.c.currency,
                    c.c.credit_limit,
                    c.c.payment_terms_days,
                    c.c.parent_external_id,
                    c.c.links,
                ).order_by(c.c.id)
            )
        )
        # The master's record speaks first for name, currency, limit and parent; others fill gaps.
        rows.sort(key=lambda r: r[1] != master_source)
        for cid, source, ext, name, ccy, limit, terms, parent, links in rows:
            self.by_key[(source, ext)] = cid
            cust = self.customers.setdefault(cid, _Customer(cid))
            cust.name = cust.name or name
            cust.currency = cust.currency or ccy
            cust.limit = cust.limit if cust.limit is not None else limit
            cust.terms = cust.terms if cust.terms is not None else terms
            cust.links.setdefault(source, ext)
            for k, v in (links or {}).items():
                cust.links.setdefault(k, v)
            if parent and cid not in parents:
                parents[cid] = (source, parent)
        for cid, key in parents.items():
            parent_cid = self.by_key.get(key) or (key[1] if key[1] in self.customers else None)
            if parent_cid and parent_cid != cid:
                self.customers[cid].parent = parent_cid

    def resolve(self, source: str, external_id: str) -> str:
        cid = self.by_key.get((source, external_id))
        if cid is not None:
            return cid
        if external_id in self.customers:
            return external_id
        return f"{source}:{external_id}"

    def top_of(self, cid: str) -> str:
        """The top-most ancestor (the group's parent); a cycle stops where it closes."""
        seen = {cid}
        while (parent := self.customers[cid].parent if cid in self.customers else None) and parent not in seen:
            seen.add(parent)
            cid = parent
        return cid


@dataclass
class Book:
    """The risk run's input: one :class:`hub.risk.CustomerRisk` per customer, plus lookups."""

    customers: list[Any]  # list[hub.risk.CustomerRisk]; Any avoids an import cycle
    index: CustomerIndex
    rates: Rates
    labels: list[str]


def load_customers(
    conn: sa.Connection,
    as_of: dt.date,
    *,
    bounds: Sequence[int],
    rates: Rates,
    payments_window: int,
    dso_days: int,
    history_days: int,
    master_source: str | None = None,
) -> Book:
    """Read the store once into one :class:`hub.risk.CustomerRisk` per canonical customer (see the module
    docstring for what each figure counts)."""
    check_bounds(bounds)
    labels = bucket_labels(bounds)
    ledger = _Ledger(CustomerIndex(conn, master_source), labels, rates)
    _open_receivables(conn, ledger, as_of, bounds, dso_days)
    payments = _payment_history(conn)
    _unapplied_cash(conn, ledger)
    _open_orders(conn, ledger)
    _guarantees(conn, ledger, as_of)
    bureaus = _bureau_views(conn, ledger.index, BureauView)
    history = _past_assessments(conn, as_of, history_days)
    out = []
    for cid in sorted(set(ledger.index.customers) | set(ledger.accs)):
        info = ledger.index.customers.get(cid) or _Customer(cid)
        acc = ledger.accs.get(cid)
        if acc is None:
            if info.currency is None:
                continue  # a customer with no currency and no invoices has no exposure to report
            acc = _Acc(info.currency, dict.fromkeys(labels, ZERO))
        recent = sorted(payments.get(cid, ()), key=lambda p: (p.paid_date, p.due_date), reverse=True)
        recent = recent[: 2 * payments_window]
        out.append(
            CustomerRisk(
                exposure=_exposure(cid, info, acc, recent, payments_window, as_of, rates, dso_days),
                payments=recent,
                bureaus=bureaus.get(cid, []),
                history=history.get(cid, []),
                terms_days=info.terms,
            )
        )
    return Book(out, ledger.index, rates, labels)


class _Ledger:
    """Each customer's running totals (:class:`_Acc`) while the store is read, in the customer's currency."""

    def __init__(self, index: CustomerIndex, labels: list[str], rates: Rates) -> None:
        self.index = index
        self.labels = labels
        self.rates = rates
        self.accs: dict[str, _Acc] = {}

    def acc_for(self, cid: str, fallback_ccy: str) -> _Acc:
        """The customer's totals, opened in its master currency (else ``fallback_ccy``) on first use."""
        acc = self.accs.get(cid)
        if acc is None:
            cust = self.index.customers.get(cid)
            ccy = (cust.currency if cust else None) or fallback_ccy
            acc = self.accs[cid] = _Acc(ccy, dict.fromkeys(self.labels, ZERO))
        return acc

    def add(self, acc: _Acc, amount: Decimal, ccy: str) -> Decimal | None:
        """``amount`` in the customer's currency, or None (counted as unconverted)."""
        if ccy == acc.currency:
            return amount
        converted = self.rates.convert(amount, ccy, acc.currency)
        if converted is None:
            acc.unconverted[ccy] += amount
            return None
        acc.rates[ccy] = self.rates.describe(ccy, acc.currency)
        return converted


def _open_receivables(
    conn: sa.Connection, ledger: _Ledger, as_of: dt.date, bounds: Sequence[int], dso_days: int
) -> None:
    """Add each customer's open receivables per ageing bucket, oldest due date and days past due, and its
    invoicing of the last ``dso_days`` days (``sales``, for DSO). Reads ``invoice`` less live ``allocation``s,
    grouped by the database; a customer without a master currency takes its most used one."""
    groups = conn.execute(_invoice_totals(as_of, bounds, ledger.labels, dso_days)).all()
    index = ledger.index
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for source, ext, ccy, _, n, *_ in groups:
        counts[(index.by_key.get((source, ext)) or f"{source}:{ext}", ccy)] += n
    for cid, ccy in sorted(counts, key=lambda k: (k[0], -counts[k], k[1])):
        ledger.acc_for(cid, ccy)  # a customer without a master currency takes its most used one
    acc_for, add = ledger.acc_for, ledger.add
    for source, ext, ccy, label, _, sales, amount, oldest in groups:
        acc = acc_for(index.by_key.get((source, ext)) or f"{source}:{ext}", ccy)
        if sales and (value := add(acc, money_value(sales), ccy)) is not None:
            acc.sales += value
        if not amount or (value := add(acc, money_value(amount), ccy)) is None:
            continue
        acc.buckets[label] += value
        if label != "not_due":
            acc.max_dpd = max(acc.max_dpd, (as_of - oldest).days)
            acc.oldest = oldest if acc.oldest is None else min(acc.oldest, oldest)


def _invoice_totals(as_of: dt.date, bounds: Sequence[int], labels: list[str], dso_days: int) -> sa.Select[Any]:
    """The query of :func:`_open_receivables`: per source, customer key, currency and bucket, the invoices'
    count, recent invoicing, open amount (in exact millionths) and oldest open due date."""
    inv, alloc = schema.invoice, schema.allocation
    since = as_of - dt.timedelta(days=dso_days)
    # The database aggregates (a million invoices become a row per customer, currency and bucket);
    # money stays in exact integer millionths until converted here.
    # (hub.store.money: exact sums and differences of millionths on both databases, IDR-sized too)
    micros = sa.BigInteger()
    applied = (
        sa.select(alloc.c.invoice_id, money_sum(sa.type_coerce(alloc.c.amount, micros)).label("amount"))
        .where(alloc.c.status.in_(LIVE))
        .group_by(alloc.c.invoice_id)
        .subquery()
    )
    remaining = money_sub(sa.type_coerce(inv.c.open_amount, micros), sa.func.coalesce(applied.c.amount, 0))
    is_open = sa.and_(
        inv.c.status.in_(("open", "disputed")), money_positive(inv.c.open_amount), money_positive(remaining)
    )
    issued_recently = sa.and_(inv.c.issue_date > since, inv.c.issue_date <= as_of, money_positive(inv.c.amount))
    bucket = sa.case(
        (inv.c.due_date >= as_of, "not_due"),
        *((inv.c.due_date >= as_of - dt.timedelta(days=high), bucket_of(high, bounds)) for high in bounds),
        else_=labels[-1],
    )
    # One scan of the invoices, grouped by the source's own customer key (no join: the canonical
    # id is looked up here, by the rule of schema.invoice_customer_id).
    return (
        sa.select(
            inv.c.source,
            inv.c.customer_external_id,
            inv.c.currency,
            bucket,
            sa.func.count(),
            money_sum(sa.case((issued_recently, sa.type_coerce(inv.c.amount, micros)), else_=0)),
            money_sum(sa.case((is_open, remaining), else_=0)),
            sa.func.min(sa.case((is_open, inv.c.due_date))),
        )
        .select_from(inv.outerjoin(applied, applied.c.invoice_id == inv.c.id))
        .where(inv.c.status != "cancelled")
        .group_by(inv.c.source, inv.c.customer_external_id, inv.c.currency, bucket)
    )


def _payment_history(conn: sa.Connection) -> dict[str, list[Any]]:
    """Each customer's payments (:class:`hub.risk.Payment`), in no order: every live payment allocation
    (``allocation``, ``receipt``: the booking date against the invoice's due date), and the invoices the ERP
    reports paid (``invoice.paid_date``) that the hub did not match itself."""
    inv, cust, alloc, rec = schema.invoice, schema.customer, schema.allocation, schema.receipt
    canonical = schema.invoice_customer_id
    erp_paid: dict[int, tuple[str, Any]] = {
        invoice_id: (cid, Payment(number, due, paid, amount, ccy))
        for invoice_id, cid, number, due, paid, amount, ccy in conn.execute(
            sa.select(inv.c.id, canonical, inv.c.number, inv.c.due_date, inv.c.paid_date, inv.c.amount, inv.c.currency)
            .select_from(inv.outerjoin(cust, schema.invoice_customer))
            .where(inv.c.status != "cancelled", inv.c.paid_date.is_not(None))
        )
    }
    payments: dict[str, list[Any]] = defaultdict(list)
    matched_invoices: set[int] = set()
    for invoice_id, cid, number, due, booked, amount, ccy in conn.execute(
        sa.select(inv.c.id, canonical, inv.c.number, inv.c.due_date, rec.c.booking_date, alloc.c.amount, inv.c.currency)
        .select_from(
            alloc.join(rec, rec.c.id == alloc.c.receipt_id)
            .join(inv, inv.c.id == alloc.c.invoice_id)
            .outerjoin(cust, schema.invoice_customer)
        )
        .where(alloc.c.status.in_(LIVE), alloc.c.kind == "payment")
    ):
        matched_invoices.add(invoice_id)
        payments[cid].append(Payment(number, due, booked, amount, ccy))
    for invoice_id, (cid, payment) in erp_paid.items():
        if invoice_id not in matched_invoices:
            payments[cid].append(payment)
    return payments


def _open_orders(conn: sa.Connection, ledger: _Ledger) -> None:
    """Add each customer's open sales orders (``sales_order``) to its ``open_orders``."""
    so = schema.sales_order
    for source, ext, ccy, amount in conn.execute(
        sa.select(so.c.source, so.c.customer_external_id, so.c.currency, so.c.open_amount).where(
            so.c.status == "open", money_positive(so.c.open_amount)
        )
    ):
        acc = ledger.acc_for(ledger.index.resolve(source, ext), ccy)
        if (value := ledger.add(acc, amount, ccy)) is not None:
            acc.open_orders += value


def _guarantees(conn: sa.Connection, ledger: _Ledger, as_of: dt.date) -> None:
    """Add each customer's guarantees and collateral still valid at ``as_of`` (``guarantee``) to ``secured``."""
    g = schema.guarantee
    for source, ext, ccy, amount in conn.execute(
        sa.select(g.c.source, g.c.customer_external_id, g.c.currency, g.c.amount).where(
            sa.or_(g.c.expiry_date.is_(None), g.c.expiry_date >= as_of), g.c.missing_since.is_(None)
        )
    ):
        acc = ledger.acc_for(ledger.index.resolve(source, ext), ccy)
        if (value := ledger.add(acc, amount, ccy)) is not None:
            acc.secured += value


def _past_assessments(conn: sa.Connection, as_of: dt.date, history_days: int) -> dict[str, list[Any]]:
    """Each customer's daily assessments (``risk_assessment``) of the ``history_days`` before ``as_of``, newest
    first."""
    history: dict[str, list[Any]] = defaultdict(list)
    ra = schema.risk_assessment
    for cid, day, score, band in conn.execute(
        sa.select(ra.c.customer_id, ra.c.as_of, ra.c.score, ra.c.band)
        .where(ra.c.as_of < as_of, ra.c.as_of >= as_of - dt.timedelta(days=history_days))
        .order_by(ra.c.as_of.desc())
    ):
        history[cid].append(PastAssessment(day, score, band))
    return history


def _exposure(
    cid: str,
    info: _Customer,
    acc: _Acc,
    recent: list[Any],
    payments_window: int,
    as_of: dt.date,
    rates: Rates,
    dso_days: int,
) -> Exposure:
    """One customer's :class:`hub.model.Exposure` from its totals and its ``recent`` payments (newest first, at
    most two windows: the lateness of the first window, and its trend against the second)."""
    open_amount = sum(acc.buckets.values(), ZERO)
    gross = open_amount + acc.open_orders
    limit = info.limit
    window = recent[:payments_window]
    avg_late = sum(p.days_late for p in window) / len(window) if window else None
    older = recent[payments_window:]
    trend = (avg_late - sum(p.days_late for p in older) / len(older)) if older and avg_late is not None else None
    open_base = rates.convert(open_amount, acc.currency, rates.base)
    exposure = Exposure(
        customer_id=cid,
        name=info.name,
        as_of=as_of,
        currency=acc.currency,
        open_amount=open_amount,
        overdue_amount=open_amount - acc.buckets["not_due"],
        buckets=acc.buckets,
        unapplied_cash=acc.unapplied,
        open_orders=acc.open_orders,
        secured_amount=acc.secured,
        net_exposure=max(ZERO, gross - acc.unapplied - acc.secured),
        credit_limit=limit,
        utilisation=float(gross / limit) if limit else None,
        oldest_due_date=acc.oldest,
        max_days_past_due=acc.max_dpd,
        dso=float(open_amount / acc.sales * dso_days) if acc.sales > 0 else None,
        avg_days_late=avg_late,
        days_late_trend=trend,
        payments_counted=len(window),
        open_base=open_base if open_base is not None else ZERO,
        base_currency=rates.base,
        fx_rates=acc.rates,
        unconverted=dict(acc.unconverted),
    )
    if open_base is None and open_amount:
        exposure.unconverted = {**exposure.unconverted, f"{acc.currency}->{rates.base}": open_amount}
    return exposure


def _unapplied_cash(conn: sa.Connection, ledger: _Ledger) -> None:
    """Credits not (fully) applied, attributed to a customer when the hub can tell whose they are:
    the customer of the invoices the receipt is partly applied to, else the owner of the payer's
    account (from the master data or learned from confirmed matches)."""
    rec, alloc, inv, cust = schema.receipt, schema.allocation, schema.invoice, schema.customer
    used: dict[int, Decimal] = defaultdict(Decimal)
    owner: dict[int, str] = {}
    for receipt_id, amount, cid in conn.execute(
        sa.select(alloc.c.receipt_id, alloc.c.amount, schema.invoice_customer_id)
        .select_from(alloc.join(inv, inv.c.id == alloc.c.invoice_id).outerjoin(cust, schema.invoice_customer))
        .where(alloc.c.status.in_(LIVE), alloc.c.kind.in_(APPLIED))  # a credit note deducted is no cash left over
    ):
        used[receipt_id] += amount
        owner.setdefault(receipt_id, cid)
    accounts: dict[str, set[str]] = defaultdict(set)
    for cid, ibans in conn.execute(sa.select(cust.c.canonical_id, cust.c.ibans)):
        for iban in ibans or ():
            accounts[_norm_account(iban)].add(cid)
    alias = schema.customer_alias
    for cid, value in conn.execute(sa.select(alias.c.customer_id, alias.c.value).where(alias.c.kind == "account")):
        accounts[_norm_account(value)].add(cid)
    for receipt_id, amount, ccy, payer_account in conn.execute(
        sa.select(rec.c.id, rec.c.amount, rec.c.currency, rec.c.payer_account).where(
            rec.c.direction == "credit", rec.c.reversal.is_(False)
        )
    ):
        remaining = amount - used.get(receipt_id, ZERO)
        if remaining <= 0:
            continue
        cid = owner.get(receipt_id)
        if cid is None and payer_account:
            owners = accounts.get(_norm_account(payer_account), set())
            cid = next(iter(owners)) if len(owners) == 1 else None
        if cid is None:
            continue
        acc = ledger.acc_for(cid, ccy)
        if (value := ledger.add(acc, remaining, ccy)) is not None:
            acc.unapplied += value


def _norm_account(value: str) -> str:
    return "".join(value.split()).upper()


def _bureau_views(conn: sa.Connection, index: CustomerIndex, view: Any) -> dict[str, list[Any]]:
    cr = schema.credit_report
    per: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in conn.execute(
        sa.select(
            cr.c.source,
            cr.c.customer_external_id,
            cr.c.bureau,
            cr.c.report_date,
            cr.c.score,
            cr.c.band,
            cr.c.recommended_limit,
            cr.c.recommended_limit_currency,
            cr.c.legal_events,
        ).order_by(cr.c.report_date.desc(), cr.c.id.desc())
    ):
        per[(index.resolve(row.source, row.customer_external_id), row.bureau)].append(row)
    out: dict[str, list[Any]] = defaultdict(list)
    for (cid, bureau), reports in sorted(per.items()):
        latest = reports[0]
        previous = reports[1] if len(reports) > 1 else None
        out[cid].append(
            view(
                bureau=bureau,
                report_date=latest.report_date,
                score=latest.score,
                band=latest.band,
                previous_score=previous.score if previous else None,
                previous_band=previous.band if previous else None,
                previous_date=previous.report_date if previous else None,
                recommended_limit=latest.recommended_limit,
                recommended_limit_currency=latest.recommended_limit_currency,
                legal_events=tuple(LegalEvent.model_validate(e) for e in latest.legal_events or ()),
            )
        )
    return out


def bureau_views(conn: sa.Connection, master_source: str | None = None) -> dict[str, list[BureauView]]:
    """Each canonical customer's bureau views (the latest report per bureau, with the one before it),
    by bureau name: what the risk run reads, for ``hub exposure show`` and the report to show beside
    the hub's own score."""
    return _bureau_views(conn, CustomerIndex(conn, master_source), BureauView)


def roll_up_groups(book: Book, labels: Iterable[str]) -> list[dict[str, Any]]:
    """One row per group of two or more customers, in the parent's currency (``exposure_group``)."""
    by_id = {c.exposure.customer_id: c.exposure for c in book.customers}
    members: dict[str, list[Exposure]] = defaultdict(list)
    for exp in by_id.values():
        members[book.index.top_of(exp.customer_id)].append(exp)
    rows = []
    for top, group in sorted(members.items()):
        if len(group) < 2 or top not in by_id:
            continue
        head = by_id[top]
        ccy = head.currency
        totals = dict.fromkeys(["open_amount", "overdue_amount", "open_orders", "secured_amount", "net_exposure"], ZERO)
        buckets = dict.fromkeys(labels, ZERO)
        unconverted: dict[str, Decimal] = defaultdict(Decimal)
        for exp in group:
            exp.group_id = top
            rate = book.rates.rate(exp.currency, ccy)
            if rate is None:
                unconverted[exp.currency] += exp.open_amount
                continue

            def conv(amount: Decimal, exp: Exposure = exp, ccy: str = ccy) -> Decimal:
                value = book.rates.convert(amount, exp.currency, ccy)
                assert value is not None  # the rate exists (checked above)
                return value

            for key in totals:
                totals[key] += conv(getattr(exp, key))
            for label, amount in exp.buckets.items():
                buckets[label] = buckets.get(label, ZERO) + conv(amount)
        limit = head.credit_limit
        gross = totals["open_amount"] + totals["open_orders"]
        rows.append(
            {
                "group_id": top,
                "currency": ccy,
                "members": len(group),
                **totals,
                "buckets": {k: str(v) for k, v in buckets.items()},
                "credit_limit": limit,
                "utilisation": float(gross / limit) if limit else None,
                "unconverted": {k: str(v) for k, v in unconverted.items()},
            }
        )
    return rows


def stored_exposures(conn: sa.Connection, customer_id: str | None = None) -> list[Any]:
    """The last risk run's exposure rows (every column), by customer id; one customer's if given."""
    e = schema.exposure
    query = sa.select(e).order_by(e.c.customer_id)
    if customer_id is not None:
        query = query.where(e.c.customer_id == customer_id)
    return list(conn.execute(query))


def stored_groups(conn: sa.Connection) -> list[Any]:
    """The last risk run's group rows (a parent and its subsidiaries), by group id."""
    g = schema.exposure_group
    return list(conn.execute(sa.select(g).order_by(g.c.group_id)))


def active_flags(conn: sa.Connection, customer_id: str | None = None) -> list[Any]:
    """Flags in force (customer_id, code, reason, version, changed_at, message), by code and customer."""
    f = schema.risk_flag
    query = (
        sa.select(f.c.customer_id, f.c.code, f.c.reason, f.c.version, f.c.changed_at, f.c.message)
        .where(f.c.active.is_(True))
        .order_by(f.c.code, f.c.customer_id)
    )
    if customer_id is not None:
        query = query.where(f.c.customer_id == customer_id)
    return list(conn.execute(query))
