"""The collection ledger: who contacted a debtor, what was promised, and which step of the ladder is next.

Three things live here (``docs/collections.md`` explains them for users):

- :func:`record_action` writes one line of the ledger from the command line (``hub collections
  log``): a :class:`hub.model.CollectionAction` with source ``hub``, an audit-log entry and, when
  the line carries a promise to pay, a ``promise`` row. CRM connectors sync their own collection
  activities into the same table through the sync engine.
- :func:`evaluate_promises` (called by the risk run, in its transaction) creates the ``promise`` rows
  of synced actions and decides each open promise from live payment allocations: ``kept`` once the
  customer's payments booked from the day of the promise to the promised date plus the grace days
  reach the amount, ``broken`` when that day has passed without it, else still ``open``.
- :func:`plan_next_actions` (also called by the risk run) walks each overdue customer's escalation
  ladder (``[collections] ladders``) against the ledger and says which step is due, by whom and why;
  the run stores the answer in ``exposure.next_action``, which ``hub collections due`` lists.

Which customer a record names is decided by :func:`canonical_customer_ids`, the same rule the rest
of the risk run uses (:class:`hub.exposure.CustomerIndex`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from hub import codes
from hub.config import CollectionsConfig, LadderStep
from hub.errors import CollectionError
from hub.i18n import N_, Amount, Day, Days, Join, Message, Value
from hub.log import get_logger
from hub.model import CollectionAction, CollectionChannel, describe_validation_error, format_money
from hub.openitems import customer_invoices
from hub.recon.types import LIVE
from hub.risk.exposure import CustomerIndex
from hub.risk.types import CustomerRisk, PromiseView
from hub.store import Store, schema, utcnow
from hub.store.bulk import record_hash

log = get_logger(__name__)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
#: ``source`` of the ledger lines written in the hub itself (``hub collections log``).
HUB_SOURCE = codes.HUB_SOURCE
PROMISE_STATUSES = codes.PROMISE_STATUSES
CHANNELS = tuple(c.value for c in CollectionChannel)


# -- helpers ---------------------------------------------------------------------------------------


def canonical_customer_ids(conn: sa.Connection, master_source: str | None = None) -> Callable[[str, str], str]:
    """``resolve(source, customer_external_id) -> canonical customer id`` for records naming a customer.

    The customer record ``(source, customer_external_id)`` gives its canonical id; failing that, the
    id itself when it is a canonical id; else ``"source:customer_external_id"``. This is
    :meth:`hub.exposure.CustomerIndex.resolve`, so collection actions land on the same customer as
    the rest of the risk run. Ledger lines written in the hub (source ``hub``) name the canonical id
    itself, also of a customer known only from its invoices (``erp:Z9``).
    """
    return resolver(CustomerIndex(conn, master_source))


def resolver(index: CustomerIndex) -> Callable[[str, str], str]:
    """:func:`canonical_customer_ids` on an index already read (the risk run's ``book.index``)."""

    def resolve(source: str, external_id: str) -> str:
        if source == HUB_SOURCE and (source, external_id) not in index.by_key:
            return external_id
        return index.resolve(source, external_id)

    return resolve


def action_day(at: dt.datetime) -> dt.date:
    """The calendar day (UTC) of an action's time; the store keeps times in UTC, naive ones are UTC."""
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC)
    return at.date()


def as_utc(at: dt.datetime) -> dt.datetime:
    """A time with its zone made explicit: naive times are taken as UTC."""
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def money(amount: Decimal, currency: str) -> str:
    """``54,000.00 EUR`` (:func:`hub.model.format_money`)."""
    return format_money(amount, currency)


def days(n: int) -> str:
    """``1 day``, ``15 days``."""
    return f"{n} day" if n in (1, -1) else f"{n} days"


def _grace(n: int) -> Message:
    return Message(N_("1 day's grace")) if n == 1 else Message(N_("%(days)s days' grace"), days=n)


def unknown_customer(index: CustomerIndex, wanted: str) -> CollectionError:
    """The error for a customer id the hub does not know, naming the closest ids (by id and by name)."""
    ids = sorted(index.customers)
    close = difflib.get_close_matches(wanted, ids, n=3, cutoff=0.6)
    by_name: dict[str, str] = {}
    for cid, info in index.customers.items():
        if info.name:
            by_name.setdefault(info.name.casefold(), cid)
    for name in difflib.get_close_matches(wanted.casefold(), list(by_name), n=3, cutoff=0.6):
        if by_name[name] not in close:
            close.append(by_name[name])
    if close:
        shown = ", ".join(f"{cid} ({index.customers[cid].name})" if index.customers[cid].name else cid for cid in close)
        hint = Message(N_("did you mean %(customers)s?"), customers=shown)
    elif ids:
        hint = Message(N_("give the customer's canonical id (the customer_id of 'hub exposure export')"))
    else:
        hint = Message(N_("the hub has no customers yet; run 'hub sync' first"))
    return CollectionError(
        N_("no customer %(customer)r in the hub; %(hint)s"), values={"customer": wanted, "hint": hint}
    )


# -- the ledger ------------------------------------------------------------------------------------


def record_action(
    store: Store,
    *,
    customer_id: str,
    channel: str,
    at: dt.datetime | None = None,
    content: str = "",
    outcome: str | None = None,
    promise_date: dt.date | None = None,
    promise_amount: Decimal | None = None,
    promise_currency: str | None = None,
    invoice_numbers: Sequence[str] = (),
    author: str | None = None,
    master_source: str | None = None,
) -> int:
    """Store one ledger line written in the hub (source ``hub``) and, with a promise, its promise row.

    ``customer_id`` is the canonical id; an unknown one is refused with the closest ids. A promise
    needs both ``promise_date`` and ``promise_amount``; its currency defaults to the customer's.
    ``invoice_numbers`` must be invoices of the customer. ``at`` defaults to now (naive means UTC).
    Returns the new ``collection_action`` id.
    """
    if channel not in CHANNELS:
        raise CollectionError(
            N_("unknown channel %(channel)r; use one of: %(allowed)s"),
            values={"channel": channel, "allowed": ", ".join(CHANNELS)},
        )
    when = as_utc(at) if at is not None else utcnow()
    if (promise_date is None) != (promise_amount is None):
        raise CollectionError(
            N_("a promise to pay needs both a date and an amount (--promise-date and --promise-amount)")
        )
    if promise_amount is None and promise_currency:
        raise CollectionError(
            N_("a currency applies to a promise to pay only; give --promise-date and --promise-amount")
        )
    if promise_amount is not None and (not promise_amount.is_finite() or promise_amount <= 0):
        raise CollectionError(
            N_("a promised amount must be above zero, got %(amount)s"), values={"amount": promise_amount}
        )
    if promise_date is not None and promise_date < action_day(when):
        raise CollectionError(
            N_("the promised date %(promised)s is before the day of the action (%(day)s)"),
            values={"promised": Day(promise_date), "day": Day(action_day(when))},
        )
    numbers = list(dict.fromkeys(n.strip() for n in invoice_numbers if n.strip()))
    with store.begin() as conn:
        index = CustomerIndex(conn, master_source)
        if not _known(conn, index, customer_id):
            raise unknown_customer(index, customer_id)
        currency = promise_currency
        if promise_amount is not None and not currency:
            known = index.customers.get(customer_id)
            currency = (known.currency if known else None) or _invoice_currency(conn, customer_id)
            if currency is None:
                raise CollectionError(
                    N_("customer %(customer)s has no currency on record; give the promise's currency (--currency)"),
                    values={"customer": customer_id},
                )
        _check_invoices(conn, customer_id, numbers)
        try:
            action = CollectionAction(
                source=HUB_SOURCE,
                external_id=uuid.uuid4().hex,
                customer_external_id=customer_id,
                invoice_numbers=numbers,
                channel=CollectionChannel(channel),
                at=when,
                content=content,
                outcome=outcome,
                promise_date=promise_date,
                promise_amount=promise_amount,
                promise_currency=currency if promise_amount is not None else None,
                author=author,
            )
        except ValidationError as exc:
            raise CollectionError(
                N_("cannot record the action: %(problem)s"), values={"problem": describe_validation_error(exc)}
            ) from None
        now = utcnow()
        values = action.model_dump()
        values["channel"] = action.channel.value
        ca = schema.collection_action
        inserted = conn.execute(
            ca.insert().values(
                **values,
                record_hash=record_hash(action.model_dump(mode="json").values()),
                synced_at=now,
            )
        ).inserted_primary_key
        assert inserted is not None
        action_id = int(inserted[0])
        details: dict[str, Any] = {"customer": customer_id, "channel": action.channel.value, "at": when.isoformat()}
        if numbers:
            details["invoices"] = numbers
        if action.promise_date is not None and action.promise_amount is not None:
            assert action.promise_currency is not None
            conn.execute(
                schema.promise.insert().values(
                    action_id=action_id,
                    customer_id=customer_id,
                    made_on=action_day(when),
                    promised_date=action.promise_date,
                    amount=action.promise_amount,
                    currency=action.promise_currency,
                    status="open",
                    received=ZERO,
                    settled_on=None,
                    updated_at=now,
                )
            )
            details["promise"] = {
                "date": action.promise_date.isoformat(),
                "amount": str(action.promise_amount),
                "currency": action.promise_currency,
            }
        store.audit(conn, author or "unknown", "collections.log", "collection_action", action.external_id, **details)
    return action_id


def _known(conn: sa.Connection, index: CustomerIndex, customer_id: str) -> bool:
    """A customer with a customer record, or one that so far only invoices name (``source:id``)."""
    if customer_id in index.customers:
        return True
    inv = schema.invoice
    return (
        conn.execute(
            sa.select(inv.c.id)
            .select_from(inv.outerjoin(schema.customer, schema.invoice_customer))
            .where(schema.invoice_customer_id == customer_id)
            .limit(1)
        ).first()
        is not None
    )


def _invoice_currency(conn: sa.Connection, customer_id: str) -> str | None:
    """The currency of the customer's latest invoice (for a promise when the customer has none)."""
    inv = schema.invoice
    row = conn.execute(
        sa.select(inv.c.currency)
        .select_from(inv.outerjoin(schema.customer, schema.invoice_customer))
        .where(schema.invoice_customer_id == customer_id)
        .order_by(inv.c.issue_date.desc(), inv.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


def _check_invoices(conn: sa.Connection, customer_id: str, numbers: list[str]) -> None:
    if not numbers:
        return
    inv = schema.invoice
    known = set(
        conn.execute(
            sa.select(inv.c.number)
            .select_from(inv.outerjoin(schema.customer, schema.invoice_customer))
            .where(schema.invoice_customer_id == customer_id, inv.c.number.in_(numbers))
        ).scalars()
    )
    missing = [n for n in numbers if n not in known]
    if missing:
        raise CollectionError(
            N_("customer %(customer)s has no invoice %(invoices)s"),
            values={"customer": customer_id, "invoices": ", ".join(missing)},
        )


# -- promises to pay -------------------------------------------------------------------------------


def evaluate_promises(
    conn: sa.Connection,
    as_of: dt.date,
    grace_days: int,
    *,
    master_source: str | None = None,
    index: CustomerIndex | None = None,
) -> dict[str, list[PromiseView]]:
    """Bring every promise to pay up to date as of ``as_of``; return them all per customer, newest first.

    First the ledger lines carrying a promise (from any source) get their ``promise`` row, and open
    rows follow edits of their line (a synced action whose promise was changed or withdrawn). Then
    each open promise is decided from live payment allocations (``auto`` or ``confirmed``, kind
    ``payment``) to the customer's invoices in the promise's currency, from receipts booked from the
    day the promise was made (``made_on``) to ``promised_date + grace_days`` (and not after
    ``as_of``): once they add up to the amount the promise is ``kept`` (``settled_on`` is the booking
    day that reached it); when ``as_of`` is past ``promised_date + grace_days`` without that, it is
    ``broken``; otherwise it stays ``open`` with what was ``received`` so far. Kept and broken are final.

    ``index`` (the risk run's ``book.index``) saves reading the customers again.
    """
    now = utcnow()
    _sync_promise_rows(conn, index, master_source, now)
    p = schema.promise
    grace = dt.timedelta(days=grace_days)
    open_rows = conn.execute(sa.select(p).where(p.c.status == "open")).all()
    if open_rows:
        payments = _payments(
            conn,
            {r.customer_id for r in open_rows},
            since=min(r.made_on for r in open_rows),
            until=min(as_of, max(r.promised_date for r in open_rows) + grace),
        )
        for row in open_rows:
            deadline = row.promised_date + grace
            received, settled_on = ZERO, None
            for booked, amount in payments.get((row.customer_id, row.currency), []):
                if booked < row.made_on or booked > deadline or booked > as_of:
                    continue
                received += amount
                if settled_on is None and received >= row.amount:
                    settled_on = booked
            if settled_on is not None:
                status = "kept"
            elif as_of > deadline:
                status = "broken"
            else:
                status = "open"
            if (status, received, settled_on) != (row.status, row.received, row.settled_on):
                conn.execute(
                    p.update()
                    .where(p.c.id == row.id)
                    .values(status=status, received=received, settled_on=settled_on, updated_at=now)
                )
    out: dict[str, list[PromiseView]] = defaultdict(list)
    for row in conn.execute(sa.select(p).order_by(p.c.made_on.desc(), p.c.id.desc())):
        out[row.customer_id].append(
            PromiseView(
                made_on=row.made_on,
                promised_date=row.promised_date,
                amount=row.amount,
                currency=row.currency,
                status=row.status,
                received=row.received,
                settled_on=row.settled_on,
            )
        )
    return dict(out)


def _sync_promise_rows(
    conn: sa.Connection, index: CustomerIndex | None, master_source: str | None, now: dt.datetime
) -> None:
    """A ``promise`` row for every ledger line with a promise; open rows follow their line's edits."""
    ca, p = schema.collection_action, schema.promise
    rows = conn.execute(
        sa.select(
            ca.c.id,
            ca.c.source,
            ca.c.customer_external_id,
            ca.c.at,
            ca.c.promise_date,
            ca.c.promise_amount,
            ca.c.promise_currency,
            p.c.id.label("promise_id"),
            p.c.status,
            p.c.customer_id,
            p.c.made_on,
            p.c.promised_date,
            p.c.amount,
            p.c.currency,
        )
        .select_from(ca.outerjoin(p, p.c.action_id == ca.c.id))
        # a line with a promise and no row yet, or an open row (its line may have changed); kept and broken
        # rows are final and not read
        .where(
            sa.or_(
                sa.and_(ca.c.promise_date.is_not(None), ca.c.promise_amount.is_not(None), p.c.id.is_(None)),
                p.c.status == "open",
            )
        )
    ).all()
    if not rows:
        return
    index = index or CustomerIndex(conn, master_source)
    resolve = resolver(index)
    withdrawn: list[int] = []
    for row in rows:
        has_promise = row.promise_date is not None and row.promise_amount is not None and row.promise_amount > 0
        if not has_promise:
            if row.promise_id is not None and row.status == "open":
                withdrawn.append(row.promise_id)
            if row.promise_amount is not None and row.promise_amount <= 0:
                log.warning("collections.promise_without_amount", action_id=row.id, amount=str(row.promise_amount))
            continue
        cid = resolve(row.source, row.customer_external_id)
        currency = row.promise_currency or (index.customers[cid].currency if cid in index.customers else None)
        currency = currency or _invoice_currency(conn, cid)
        if currency is None:
            log.warning("collections.promise_without_currency", action_id=row.id, customer=cid)
            continue
        wanted = {
            "customer_id": cid,
            "made_on": action_day(row.at),
            "promised_date": row.promise_date,
            "amount": row.promise_amount,
            "currency": currency,
        }
        if row.promise_id is None:
            conn.execute(
                schema.promise.insert().values(
                    action_id=row.id, status="open", received=ZERO, settled_on=None, updated_at=now, **wanted
                )
            )
        elif row.status == "open" and any(getattr(row, k) != v for k, v in wanted.items()):
            conn.execute(p.update().where(p.c.id == row.promise_id).values(updated_at=now, **wanted))
    if withdrawn:
        conn.execute(p.delete().where(p.c.id.in_(withdrawn)))


def _payments(
    conn: sa.Connection, customers: set[str], *, since: dt.date, until: dt.date
) -> dict[tuple[str, str], list[tuple[dt.date, Decimal]]]:
    """Live payment allocations booked in ``[since, until]`` per (customer, invoice currency), by day."""
    a, r, inv = schema.allocation, schema.receipt, schema.invoice
    out: dict[tuple[str, str], list[tuple[dt.date, Decimal]]] = defaultdict(list)
    if until < since:
        return out
    rows = conn.execute(
        sa.select(schema.invoice_customer_id, inv.c.currency, r.c.booking_date, a.c.amount)
        .select_from(
            a.join(r, r.c.id == a.c.receipt_id)
            .join(inv, inv.c.id == a.c.invoice_id)
            .outerjoin(schema.customer, schema.invoice_customer)
        )
        .where(
            a.c.status.in_(LIVE),
            a.c.kind == "payment",
            r.c.booking_date >= since,
            r.c.booking_date <= until,
        )
        .order_by(r.c.booking_date, a.c.id)
    )
    for cid, ccy, booked, amount in rows:
        if cid in customers:
            out[(cid, ccy)].append((booked, amount))
    return out


# -- the escalation ladder -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Logged:
    day: dt.date
    channel: str


def plan_next_actions(
    conn: sa.Connection,
    customers: Sequence[CustomerRisk],
    settings: CollectionsConfig,
    as_of: dt.date,
    *,
    index: CustomerIndex | None = None,
) -> dict[str, dict[str, Any]]:
    """The next collection step of every customer with more than ``[collections] min_overdue`` overdue.

    Per customer a JSON-able dict (stored in ``exposure.next_action``) with ``days_past_due``,
    ``oldest_due_date``, ``overdue``, ``currency``, ``open_base`` (the overdue amount in the base
    currency, for ranking), ``base_currency``, ``band``, ``steps`` (the ladder's length) and a
    ``reason`` sentence, plus exactly one of:

    - the next step: ``step`` (1-based), ``action``, ``channel``, ``owner``, ``after_days``, ``due_on``
      and ``escalated`` (true when a broken promise brought it forward); it is due when ``due_on`` is
      on or before ``as_of``, else it is the step coming up;
    - ``paused_until`` (and ``promised_date``): a promise to pay is open and not yet past its grace days;
    - ``ladder_done``: every step has been logged.

    The rule (``docs/collections.md``): the ladder ``[collections] ladders[band]`` (else
    ``"default"``) is walked from the oldest overdue invoice's due date ``D``. Step *k* falls due on
    ``D + after_days``; it is done when an action by its channel, or by the channel of a later step,
    was logged on or after that day (actions from before are about an earlier stage). A promise
    broken after the previous step was logged, and before step *k* would fall due, brings step *k*
    forward to the day the promise broke. The first step not done is the next one.

    ``index`` (the risk run's ``book.index``) saves reading the customers again.
    """
    minimum = settings.min_overdue_amount()
    grace = dt.timedelta(days=settings.promise_grace_days)
    targets = [c for c in customers if c.exposure.overdue_amount > minimum and c.exposure.oldest_due_date is not None]
    if not targets:
        return {}
    paused: dict[str, dict[str, Any]] = {}
    targets = _without_disputed(conn, targets, as_of, minimum, paused)
    if not targets:
        return paused
    logged = _logged_actions(
        conn,
        resolver(index) if index is not None else canonical_customer_ids(conn),
        {c.customer_id for c in targets},
        since=min(c.exposure.oldest_due_date for c in targets if c.exposure.oldest_due_date is not None),
        until=as_of,
    )
    plans = {
        c.customer_id: _plan(c, settings.ladder(c.band), logged.get(c.customer_id, []), grace, as_of) for c in targets
    }
    for c in targets:
        if c.customer_id in paused:  # some invoices disputed: the plan says which were left out
            plans[c.customer_id]["disputed"] = paused.pop(c.customer_id)["disputed"]
    return {**paused, **plans}


def _without_disputed(
    conn: sa.Connection,
    targets: list[CustomerRisk],
    as_of: dt.date,
    minimum: Decimal,
    paused: dict[str, dict[str, Any]],
) -> list[CustomerRisk]:
    """The customers with their disputed invoices' overdue amounts taken out (hub.comms disputes pause the
    ladder for those invoices). A customer left with nothing overdue, or disputing its whole account, gets
    a plan saying the ladder waits for the dispute (in ``paused``); one with some invoices disputed is
    planned from the rest and noted in ``paused`` with the invoices left out."""
    d = schema.dispute
    wanted = {c.customer_id for c in targets}
    open_rows = [
        r
        for r in conn.execute(sa.select(d.c.customer_id, d.c.invoice_number).where(d.c.status == "open"))
        if r[0] in wanted
    ]
    if not open_rows:
        return targets
    disputed: dict[str, set[str | None]] = defaultdict(set)
    for cid, number in open_rows:
        disputed[cid].add(number)
    # what is open in the hub (the ERP's open amount less live allocations), as the exposure counts it
    overdue = {cid: [i for i in customer_invoices(conn, cid) if i.open > 0 and i.due_date < as_of] for cid in disputed}
    out = []
    for c in targets:
        numbers = disputed.get(c.customer_id)
        if not numbers:
            out.append(c)
            continue
        exp = c.exposure
        rest = [r for r in overdue[c.customer_id] if r.number not in numbers]
        left_out = sorted(r.number for r in overdue[c.customer_id] if r.number in numbers)
        amount = ZERO
        for r in rest:
            rate = Decimal(1) if r.currency == exp.currency else Decimal(exp.fx_rates.get(r.currency, "0") or "0")
            amount += r.open * rate
        amount = amount.quantize(CENT, ROUND_HALF_UP)
        if None in numbers or not rest or amount <= minimum:
            said = Message(
                N_(
                    "Every overdue invoice of the customer is disputed (%(invoices)s); "
                    "the ladder waits for the dispute."
                ),
                invoices=", ".join(left_out) or "account",
            )
            plan: dict[str, Any] = {
                "overdue": str(exp.overdue_amount),
                "currency": exp.currency,
                "band": c.band,
                "disputed": left_out,
                "paused_by_dispute": True,
            }
            _say(plan, said)
            paused[c.customer_id] = plan
            continue
        oldest = min(r.due_date for r in rest)
        paused[c.customer_id] = {"disputed": left_out}
        out.append(
            dataclasses.replace(
                c,
                exposure=exp.model_copy(
                    update={
                        "overdue_amount": amount,
                        "oldest_due_date": oldest,
                        "max_days_past_due": (as_of - oldest).days,
                    }
                ),
            )
        )
    return out


def _logged_actions(
    conn: sa.Connection, resolve: Callable[[str, str], str], customers: set[str], *, since: dt.date, until: dt.date
) -> dict[str, list[_Logged]]:
    """Each customer's ledger lines from ``since`` to ``until`` (UTC days), oldest first."""
    ca = schema.collection_action
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    out: dict[str, list[_Logged]] = defaultdict(list)
    for source, ext, at, channel in conn.execute(
        sa.select(ca.c.source, ca.c.customer_external_id, ca.c.at, ca.c.channel)
        .where(ca.c.at >= start, ca.c.at < end)
        .order_by(ca.c.at, ca.c.id)
    ):
        cid = resolve(source, ext)
        day = action_day(at)
        if cid in customers and since <= day <= until:
            out[cid].append(_Logged(day, channel))
    return out


def _plan(
    customer: CustomerRisk, ladder: list[LadderStep], logged: list[_Logged], grace: dt.timedelta, as_of: dt.date
) -> dict[str, Any]:
    exp = customer.exposure
    start = exp.oldest_due_date
    assert start is not None
    dpd = exp.max_days_past_due
    ccy = exp.currency
    plan: dict[str, Any] = {
        "days_past_due": dpd,
        "oldest_due_date": start.isoformat(),
        "overdue": str(exp.overdue_amount),
        "currency": ccy,
        "open_base": _overdue_in_base(customer),
        "base_currency": exp.base_currency or ccy,
        "band": customer.band,
        "steps": len(ladder),
    }
    head = Message(
        N_("Oldest invoice %(days)s past due (%(overdue)s overdue)"),
        days=Days(dpd),
        overdue=Amount(exp.overdue_amount, ccy),
    )
    since_due = [a for a in logged if a.day >= start]
    last = (
        [
            Message(
                N_("Last contact: %(channel)s on %(day)s."),
                channel=Message(since_due[-1].channel),
                day=Day(since_due[-1].day),
            )
        ]
        if since_due
        else []
    )

    pending = [p for p in customer.promises if p.status == "open" and as_of <= p.promised_date + grace]
    if pending:
        promise = max(pending, key=lambda p: (p.promised_date, p.made_on))
        until = promise.promised_date + grace
        plan.update(paused_until=until.isoformat(), promised_date=promise.promised_date.isoformat())
        _say(
            plan,
            Message(
                N_(
                    "%(head)s; a promise to pay %(amount)s by %(promised)s is open, "
                    "so the ladder waits until %(until)s (%(grace)s)."
                ),
                head=head,
                amount=Amount(promise.amount, promise.currency),
                promised=Day(promise.promised_date),
                until=Day(until),
                grace=_grace(grace.days),
            ),
        )
        return plan

    broken = sorted(
        (
            (p.promised_date + grace + dt.timedelta(days=1), p)
            for p in customer.promises
            if p.status == "broken" and p.promised_date + grace + dt.timedelta(days=1) >= start
        ),
        key=lambda item: item[0],
    )
    horizon = start + dt.timedelta(days=dpd)
    done_on: dt.date | None = None  # the day the previous step was done
    for k, step in enumerate(ladder):
        due = start + dt.timedelta(days=step.after_days)
        breach = next(((day, p) for day, p in broken if (done_on is None or day > done_on) and day < due), None)
        if breach is not None:
            due = breach[0]
        channels = {s.channel for s in ladder[k:]}
        done = next((a.day for a in since_due if a.day >= due and a.channel in channels), None)
        if done is not None:
            done_on = done
            continue
        # An old debt starts at the step its age has reached: the steps it has overtaken (all due,
        # none logged) are not offered one by one, months late.
        overtaken = []
        if breach is None:
            while k + 1 < len(ladder) and start + dt.timedelta(days=ladder[k + 1].after_days) <= horizon:
                overtaken.append(step)
                k += 1
                step = ladder[k]
                due = start + dt.timedelta(days=step.after_days)
        where = Message(N_("step %(step)s of %(steps)s"), step=k + 1, steps=len(ladder))
        plan.update(
            step=k + 1,
            action=step.action,
            channel=step.channel,
            owner=step.owner,
            after_days=step.after_days,
            due_on=due.isoformat(),
            escalated=breach is not None,
        )
        # a step's name is a label: the built-in ladder's are translated, a ladder of one's own reads as written
        action = Message(step.action)
        if due > horizon:
            said = Message(
                N_("%(head)s; nothing is due yet: %(step)s (%(where)s) falls due at +%(after)s, on %(due)s."),
                head=head,
                step=action,
                where=where,
                after=Days(step.after_days),
                due=Day(due),
            )
        elif breach is not None:
            day, p = breach
            said = Message(
                N_(
                    "%(head)s; the promise to pay %(amount)s by %(promised)s was broken on %(day)s, "
                    "so %(step)s (%(where)s, normally at +%(after)s) is due at once."
                ),
                head=head,
                amount=Amount(p.amount, p.currency),
                promised=Day(p.promised_date),
                day=Day(day),
                step=action,
                where=where,
                after=Days(step.after_days),
            )
        else:
            said = Message(
                N_("%(head)s; %(step)s (%(where)s, due at +%(after)s on %(due)s) not yet logged since then."),
                head=head,
                step=action,
                where=where,
                after=Days(step.after_days),
                due=Day(due),
            )
        sentences: list[Value] = [said, *last]
        if overtaken:
            plan["overtaken"] = [s.action for s in overtaken]
            sentences.append(
                Message(
                    N_("The debt is past the earlier steps, not logged: %(steps)s."),
                    steps=Join(
                        tuple(
                            Message(N_("%(step)s (+%(after)s)"), step=Message(s.action), after=Days(s.after_days))
                            for s in overtaken
                        ),
                        ", ",
                    ),
                )
            )
        _say(plan, Message("%(sentences)s", sentences=Join(tuple(sentences), " ")))
        return plan
    plan["ladder_done"] = True
    _say(
        plan,
        Message(
            N_(
                "%(head)s; every step of the ladder has been logged, the last (%(step)s) "
                "on %(day)s; nothing further is planned."
            ),
            head=head,
            step=Message(ladder[-1].action),
            day=Day(done_on) if done_on is not None else str(done_on),
        ),
    )
    return plan


def _say(plan: dict[str, Any], reason: Message) -> None:
    """The plan's ``reason``: its English sentence (``hub collections due``, ``hub exposure show``) and,
    as ``message``, the same as a message a page says in its reader's language
    (``hub.i18n.reason_text(locale, plan["message"], plan["reason"])``)."""
    plan["reason"] = reason.english()
    plan["message"] = reason.to_json()


def _overdue_in_base(customer: CustomerRisk) -> str | None:
    """The overdue amount in the base currency (the exposure's open_base share), or None without a rate."""
    exp = customer.exposure
    if exp.open_amount > 0 and exp.open_base > 0:
        return str((exp.overdue_amount * exp.open_base / exp.open_amount).quantize(CENT, ROUND_HALF_UP))
    if exp.base_currency in (None, exp.currency):
        return str(exp.overdue_amount)
    return None


def promise_rows(conn: sa.Connection, *, status: str | None = None, customer_id: str | None = None) -> list[Any]:
    """Promise rows with their ledger line (channel, time, author, source), newest promise first."""
    p, ca = schema.promise, schema.collection_action
    query = (
        sa.select(p, ca.c.channel, ca.c.at, ca.c.author, ca.c.source, ca.c.external_id)
        .join(ca, ca.c.id == p.c.action_id)
        .order_by(p.c.made_on.desc(), p.c.id.desc())
    )
    if status is not None:
        query = query.where(p.c.status == status)
    if customer_id is not None:
        query = query.where(p.c.customer_id == customer_id)
    return list(conn.execute(query))


def ledger(conn: sa.Connection, customer_id: str, *, master_source: str | None = None) -> list[dict[str, Any]]:
    """A customer's ledger lines (from every source), newest first, each with its promise if it has one.

    A promise a synced line carries has its status once a risk run has evaluated it; until then its
    ``status`` is ``"not evaluated"``. Raises :class:`CollectionError` for a customer the hub knows
    nothing about.
    """
    ca, p = schema.collection_action, schema.promise
    index = CustomerIndex(conn, master_source)
    resolve = resolver(index)
    keys = [key for key, cid in index.by_key.items() if cid == customer_id]
    names: list[Any] = [ca.c.customer_external_id == customer_id]
    names += [sa.and_(ca.c.source == s, ca.c.customer_external_id == e) for s, e in keys]
    if ":" in customer_id:
        source, _, ext = customer_id.partition(":")
        names.append(sa.and_(ca.c.source == source, ca.c.customer_external_id == ext))
    rows = [
        row
        for row in conn.execute(
            sa.select(
                ca,
                p.c.status.label("promise_status"),
                p.c.received.label("promise_received"),
                p.c.settled_on.label("promise_settled_on"),
                p.c.currency.label("promise_row_currency"),
            )
            .select_from(ca.outerjoin(p, p.c.action_id == ca.c.id))
            .where(sa.or_(*names))
            .order_by(ca.c.at.desc(), ca.c.id.desc())
        )
        if resolve(row.source, row.customer_external_id) == customer_id
    ]
    if not rows and not _known(conn, index, customer_id):
        raise unknown_customer(index, customer_id)
    out = []
    for row in rows:
        entry: dict[str, Any] = {
            "id": row.id,
            "at": as_utc(row.at).isoformat(),
            "channel": row.channel,
            "content": row.content,
            "outcome": row.outcome,
            "author": row.author,
            "invoices": list(row.invoice_numbers or []),
            "source": row.source,
            "external_id": row.external_id,
            "promise": None,
        }
        if row.promise_date is not None and row.promise_amount is not None:
            entry["promise"] = {
                "date": row.promise_date.isoformat(),
                "amount": str(row.promise_amount),
                "currency": row.promise_row_currency or row.promise_currency,
                "status": row.promise_status or "not evaluated",
                "received": None if row.promise_received is None else str(row.promise_received),
                "settled_on": None if row.promise_settled_on is None else row.promise_settled_on.isoformat(),
            }
        out.append(entry)
    return out


def planned_steps(conn: sa.Connection) -> tuple[list[Any], int]:
    """The last risk run's planned collection steps (exposure rows with a next action), and how many
    customers it assessed."""
    e = schema.exposure
    rows = list(
        conn.execute(
            sa.select(e.c.customer_id, e.c.name, e.c.as_of, e.c.next_action).where(e.c.next_action.is_not(None))
        )
    )
    assessed = conn.execute(sa.select(sa.func.count()).select_from(e)).scalar_one()
    return rows, int(assessed)


def due_actions(
    rows: Iterable[Any], *, on_or_before: dt.date, owner: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Planned steps (``exposure`` rows with ``next_action``) due on or before a day, most valuable first.

    Value is the overdue amount in the base currency (``open_base``); steps without a rate come last.
    """
    found = []
    for row in rows:
        plan = row.next_action or {}
        due_on = plan.get("due_on")
        if not due_on or due_on > on_or_before.isoformat():
            continue
        if owner is not None and plan.get("owner") != owner:
            continue
        found.append({"customer_id": row.customer_id, "name": row.name, "planned_on": str(row.as_of), **plan})
    found.sort(
        key=lambda x: (
            x.get("open_base") is None,
            -Decimal(x["open_base"]) if x.get("open_base") is not None else ZERO,
            x["due_on"],
            x["customer_id"],
        )
    )
    return found[:limit] if limit is not None else found
