"""Credit limit recommendations, and their approval (``docs/credit-limits.md`` explains them for users).

The risk run calls :func:`recommend_limits` in its transaction, after scoring. Each customer's
recommendation is ``months x average monthly invoicing``: the months come from its risk band
(``[credit] band_months``; 0 means prepayment or guarantees only), the invoicing is what was
invoiced over the last ``[credit] history_months`` months, in the customer's exposure currency.
The lowest limit a bureau recommends in that currency caps it, and it is rounded down to a multiple
of ``[credit] rounding``.

A recommendation that differs from the current limit becomes a ``credit_limit_proposal``. A small
change (at most ``approval_ratio`` of the current limit and at most ``approval_amount``) is
``applied`` by policy at once; anything larger, and every first limit, waits ``pending`` until a
person approves (:func:`approve`) or rejects (:func:`reject`) it. An applied or approved limit
becomes a :class:`hub.model.CreditLimitChange` with one outbox row per sink, in the same transaction
as its audit-log entry, so the ERP (and CRMs) receive exactly what was decided.

LimitProposal statuses: ``pending`` -> ``approved`` | ``rejected`` | ``superseded`` (a newer
recommendation replaced it, or the current limit came to equal it); ``applied`` (decided by policy).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub import codes
from hub.config import CreditConfig
from hub.errors import HubError
from hub.i18n import N_, Amount, Day, Join, Message, stored, stored_english, stored_text
from hub.log import get_logger
from hub.model import CreditLimitChange, format_money
from hub.store import Store, schema, utcnow
from hub.store.money import money_sum

if TYPE_CHECKING:
    from hub.risk.types import CustomerRisk

log = get_logger(__name__)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
STATUSES = codes.LIMIT_STATUSES
DECIDED = ("approved", "applied", "rejected")
#: Who decides the small changes that need no approval (``decided_by``, ``approved_by``, audit actor).
POLICY = "policy"
#: Days in the "month" the payment-terms warning counts with.
DAYS_PER_MONTH = 30


@dataclass
class Recommendation:
    """The limit recommended for one customer and what became of it in this run.

    ``status`` is ``unchanged`` (the current limit already equals it; no proposal), else the status
    of the proposal that carries it: ``pending``, ``applied``, or an earlier ``approved`` or
    ``rejected`` proposal of the same amount that is kept instead of proposing it again.
    """

    customer_id: str
    amount: Decimal
    currency: str
    messages: list[Message] = field(default_factory=list)
    """The sentences explaining it, as messages any locale can say."""
    status: str = "unchanged"
    proposal_id: int | None = None

    @property
    def reasons(self) -> list[str]:
        """The sentences explaining it, in English."""
        return [m.english() for m in self.messages]


@dataclass(frozen=True)
class LimitProposal:
    """One row of ``credit_limit_proposal``."""

    id: int
    customer_id: str
    as_of: dt.date
    currency: str
    current_limit: Decimal | None
    recommended: Decimal
    reasons: list[str]
    """The sentences explaining it, in English (as the command line and the API show them)."""
    status: str
    created_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None
    stored_reasons: tuple[Any, ...] = ()
    """The reasons as the row keeps them: messages (:func:`hub.i18n.stored`), or plain English strings
    of a row written before messages; :meth:`reason_texts` says them in a locale."""

    def reason_texts(self, locale: str) -> list[str]:
        """The reasons in ``locale``; an old row's English sentences as they are."""
        items = self.stored_reasons or tuple(self.reasons)
        return [stored_text(locale, item) for item in items]

    @property
    def change(self) -> Decimal | None:
        return None if self.current_limit is None else self.recommended - self.current_limit

    @property
    def decision(self) -> str:
        """``pending``, or what was decided, by whom and when (``approved by ana on 2024-03-05``)."""
        if self.status == "pending":
            return "pending"
        by = f" by {self.decided_by}" if self.decided_by else ""
        on = f" on {self.decided_at.date().isoformat()}" if self.decided_at else ""
        return f"{self.status}{by}{on}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            "current_limit": None if self.current_limit is None else str(self.current_limit),
            "recommended": str(self.recommended),
            "change": None if self.change is None else str(self.change),
            "status": self.status,
            "reasons": list(self.reasons),
            "created_at": self.created_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "note": self.note,
        }


def money(amount: Decimal, currency: str) -> str:
    """``54,000.00 EUR`` (:func:`hub.model.format_money`)."""
    return format_money(amount, currency)


def cents(amount: Decimal) -> Decimal:
    """``20000`` as ``20000.00`` (as the store gives it back); more decimals than two are kept."""
    rounded = amount.quantize(CENT)
    return rounded if rounded == amount else amount


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day when it is shorter)."""
    years, index = divmod(day.month - 1 - months, 12)
    year, month = day.year + years, index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def invoicing(conn: sa.Connection, since: dt.date, until: dt.date) -> dict[str, dict[str, Decimal]]:
    """What each customer invoiced from the day after ``since`` to ``until``: customer -> currency -> total.

    One grouped query over all invoices (cancelled ones left out, credit notes netted), keyed by
    the canonical customer id of :data:`hub.store.schema.invoice_customer_id`.
    """
    inv, cust = schema.invoice, schema.customer
    canonical = {
        (src, ext): cid
        for src, ext, cid in conn.execute(sa.select(cust.c.source, cust.c.external_id, cust.c.canonical_id))
    }
    # Grouped by the invoices' own customer key, without a join (a million invoices group several
    # times faster so); the canonical id is looked up here by the rule of invoice_customer_id.
    rows = conn.execute(
        sa.select(inv.c.source, inv.c.customer_external_id, inv.c.currency, money_sum(inv.c.amount))
        .where(inv.c.issue_date > since, inv.c.issue_date <= until, inv.c.status != "cancelled")
        .group_by(inv.c.source, inv.c.customer_external_id, inv.c.currency)
    )
    out: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for source, ext, currency, total in rows:
        if total is not None:
            customer_id = canonical.get((source, ext)) or f"{source}:{ext}"
            out[customer_id][currency] = out[customer_id].get(currency, Decimal(0)) + Decimal(total)
    return dict(out)


def _rate(described: str | None) -> tuple[Decimal, str] | None:
    """The rate at the front of an exposure's ``fx_rates`` note (``"0.85 (config)"``), and the note."""
    if not described:
        return None
    try:
        rate = Decimal(described.split()[0])
    except (InvalidOperation, IndexError):
        return None
    return (rate, described) if rate.is_finite() and rate > 0 else None


def size_limit(
    customer: CustomerRisk,
    totals: dict[str, Decimal],
    settings: CreditConfig,
    since: dt.date,
    until: dt.date,
) -> tuple[Decimal, list[Message]] | None:
    """The recommended limit of one scored customer and the sentences explaining it (messages any
    locale can say; ``.english()`` is the sentence as the command line shows it).

    None when the band allows credit but there is no invoicing to size it on.
    """
    exposure = customer.exposure
    ccy = exposure.currency
    if customer.band is None:  # unrated: nothing to size a limit on
        return None
    band = customer.band
    months = settings.months(band)
    if months == 0:
        return ZERO, [
            recommended_message(ZERO, ccy),
            Message(N_("Risk band %(band)s allows no credit: sell on prepayment or guarantees only."), band=band),
        ]
    notes: list[Message] = []
    total = ZERO
    for other, amount in sorted(totals.items()):
        if other == ccy:
            total += amount
            continue
        found = _rate(exposure.fx_rates.get(other))
        if found is None:
            notes.append(
                Message(
                    N_(
                        "%(amount)s invoiced in %(currency)s is left out: "
                        "the risk run had no %(currency)s to %(base)s rate."
                    ),
                    amount=Amount(amount, other),
                    currency=other,
                    base=ccy,
                )
            )
            continue
        rate, described = found
        converted = (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
        total += converted
        notes.append(
            Message(
                N_("%(amount)s invoiced in %(currency)s counts as %(converted)s at %(rate)s."),
                amount=Amount(amount, other),
                currency=other,
                converted=Amount(converted, ccy),
                rate=described,
            )
        )
    if total <= 0:
        return None
    history = settings.history_months
    average = (total / history).quantize(CENT, rounding=ROUND_HALF_EVEN)
    raw = (average * months).quantize(CENT, rounding=ROUND_FLOOR)
    reasons = [
        Message(
            N_(
                "Average monthly invoicing over the %(months)s months from %(start)s to %(end)s: "
                "%(average)s (%(total)s in total)."
            ),
            months=history,
            start=Day(since + dt.timedelta(days=1)),
            end=Day(until),
            average=Amount(average, ccy),
            total=Amount(total, ccy),
        ),
        *notes,
        Message(
            N_("Risk band %(band)s allows %(months)s month of invoicing: %(amount)s.")
            if months == 1
            else N_("Risk band %(band)s allows %(months)s months of invoicing: %(amount)s."),
            band=band,
            months=f"{months.normalize():f}",
            amount=Amount(raw, ccy),
        ),
    ]
    amount = raw
    bureau_limits = [
        b for b in customer.bureaus if b.recommended_limit is not None and b.recommended_limit_currency == ccy
    ]
    for b in customer.bureaus:
        if b.recommended_limit is not None and b.recommended_limit_currency != ccy:
            given: Amount | Message = (
                Amount(b.recommended_limit, b.recommended_limit_currency)
                if b.recommended_limit_currency
                else Message(N_("%(amount)s with no currency"), amount=f"{b.recommended_limit:,.2f}")
            )
            reasons.append(
                Message(
                    N_("The limit %(bureau)s recommends (%(given)s) is not in %(currency)s, so it caps nothing."),
                    bureau=b.bureau,
                    given=given,
                    currency=ccy,
                )
            )
    if bureau_limits:
        lowest = min(bureau_limits, key=lambda b: (b.recommended_limit, b.bureau))
        assert lowest.recommended_limit is not None
        cap = lowest.recommended_limit
        where = Message(N_("%(bureau)s, report of %(day)s"), bureau=lowest.bureau, day=Day(lowest.report_date))
        if cap < amount:
            amount = cap
            reasons.append(
                Message(
                    N_("Capped at %(amount)s, the lowest limit a bureau recommends (%(where)s)."),
                    amount=Amount(cap, ccy),
                    where=where,
                )
            )
        else:
            reasons.append(
                Message(
                    N_("Within the lowest limit a bureau recommends, %(amount)s (%(where)s)."),
                    amount=Amount(cap, ccy),
                    where=where,
                )
            )
    step = settings.rounding_step()
    rounded = ((amount / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(CENT)
    if rounded != amount:
        reasons.append(Message(N_("Rounded down to a multiple of %(step)s."), step=Amount(step, ccy)))
    terms = customer.terms_days
    if terms:
        not_due = (average * terms / DAYS_PER_MONTH).quantize(CENT, rounding=ROUND_HALF_EVEN)
        if rounded < not_due:
            reasons.append(
                Message(
                    N_(
                        "On %(terms)s-day payment terms about %(amount)s of invoices are normally not yet due, "
                        "more than this limit: orders may be held although nothing is overdue."
                    ),
                    terms=terms,
                    amount=Amount(not_due, ccy),
                )
            )
    return rounded, [recommended_message(rounded, ccy), *reasons]


def recommended_message(amount: Decimal, currency: str) -> Message:
    """``Recommended credit limit: 50,000.00 CNY.``, the first of a recommendation's reasons."""
    return Message(N_("Recommended credit limit: %(amount)s."), amount=Amount(amount, currency))


def _threshold(current: Decimal, settings: CreditConfig) -> Decimal:
    return min((settings.approval_share() * current).quantize(CENT, rounding=ROUND_FLOOR), settings.approval_limit())


def _decision(
    customer: CustomerRisk, current: Decimal | None, recommended: Decimal, settings: CreditConfig
) -> tuple[str, str]:
    """``applied`` or ``pending``, and the sentence that says why."""
    status, why = _decision_message(customer, current, recommended, settings)
    return status, why.english()


def _decision_message(
    customer: CustomerRisk, current: Decimal | None, recommended: Decimal, settings: CreditConfig
) -> tuple[str, Message]:
    """:func:`_decision` with the sentence as a message any locale can say."""
    ccy = customer.exposure.currency
    if current is None:
        return "pending", Message(
            N_("The customer has no credit limit yet, so this first limit waits for an approval.")
        )
    change = recommended - current
    threshold = _threshold(current, settings)
    share = f"{(settings.approval_share() * 100).normalize():f}%"
    rule = Message(
        N_("the smaller of %(share)s of the current limit and %(amount)s"),
        share=share,
        amount=Amount(settings.approval_limit(), ccy),
    )
    what = Message(
        N_("The increase from %(current)s to %(new)s (%(change)s)")
        if change > 0
        else N_("The decrease from %(current)s to %(new)s (%(change)s)"),
        current=Amount(current, ccy),
        new=Amount(recommended, ccy),
        change=Amount(abs(change), ccy),
    )
    if change > 0 and (held := _no_raise(customer, current, settings)):
        return "pending", Message(
            N_("%(what)s waits for an approval: %(why)s; a limit is never raised by policy then."), what=what, why=held
        )
    if abs(change) <= threshold:
        return "applied", Message(
            N_(
                "%(what)s is within the approval threshold of %(threshold)s (%(rule)s), so it was "
                "applied without an approval."
            ),
            what=what,
            threshold=Amount(threshold, ccy),
            rule=rule,
        )
    return "pending", Message(
        N_("%(what)s is above the approval threshold of %(threshold)s (%(rule)s) and waits for an approval."),
        what=what,
        threshold=Amount(threshold, ccy),
        rule=rule,
    )


def _no_raise(customer: CustomerRisk, current: Decimal, settings: CreditConfig) -> Join | None:
    """Why this customer's limit must not go up without a person deciding, or None."""
    exposure = customer.exposure
    used = max(ZERO, exposure.open_amount + exposure.open_orders - exposure.secured_amount)
    why: list[Message] = []
    if used > current:
        why.append(
            Message(N_("it owes %(amount)s, more than its current limit"), amount=Amount(used, exposure.currency))
        )
    if exposure.max_days_past_due >= settings.hold_raise_overdue_days:
        why.append(Message(N_("its oldest unpaid invoice is %(days)s days past due"), days=exposure.max_days_past_due))
    return Join(tuple(why), " and ") if why else None


def _row_proposal(row: Any) -> LimitProposal:
    return LimitProposal(
        id=row.id,
        customer_id=row.customer_id,
        as_of=row.as_of,
        currency=row.currency,
        current_limit=row.current_limit,
        recommended=row.recommended,
        reasons=[stored_english(item) for item in row.reasons or []],
        status=row.status,
        created_at=row.created_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        stored_reasons=tuple(row.reasons or ()),
    )


def recommend_limits(
    conn: sa.Connection,
    customers: Sequence[CustomerRisk],
    settings: CreditConfig,
    as_of: dt.date,
    now: dt.datetime,
    *,
    sinks: list[str],
    links: dict[str, dict[str, str]],
) -> tuple[dict[str, Recommendation], list[CreditLimitChange]]:
    """Recommend a limit for every scored customer and write what changed, in the caller's transaction.

    Per customer: equal to the current limit -> nothing (pending proposals are superseded); a
    pending proposal of the same amount, or an approved, applied or rejected one of the same amount
    made against the same current limit -> kept, not proposed again; otherwise older pending
    proposals are superseded and a new proposal is written, ``applied`` by policy (audit-log entry,
    :class:`CreditLimitChange` returned and queued for every sink) when the change is within the
    approval threshold, else ``pending``. Returns the recommendations by customer and the events.
    """
    since = months_before(as_of, settings.history_months)
    totals = invoicing(conn, since, as_of)
    earlier = _EarlierProposals.read(conn)
    run = _LimitRun(as_of, now)
    for customer in customers:
        sized = size_limit(customer, totals.get(customer.customer_id, {}), settings, since, as_of)
        if sized is not None:
            _recommend(run, customer, *sized, earlier, settings)
    _insert_proposals(conn, run)
    _supersede(conn, run)
    events = _apply_by_policy(conn, run, sinks, links)
    log.info(
        "credit.recommended",
        customers=len(run.out),
        proposed=len(run.new_rows),
        applied=len(events),
        superseded=len(run.supersede),
    )
    return run.out, events


@dataclass
class _EarlierProposals:
    """The proposals earlier runs left: pending ones per customer (id, amount, oldest first), and each
    customer's latest decided (approved, applied or rejected) one."""

    pending: dict[str, list[tuple[int, Decimal]]]
    decided: dict[str, Any]

    @classmethod
    def read(cls, conn: sa.Connection) -> _EarlierProposals:
        """Reads ``credit_limit_proposal``."""
        p = schema.credit_limit_proposal
        pending: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
        for pid, cid, recommended in conn.execute(
            sa.select(p.c.id, p.c.customer_id, p.c.recommended).where(p.c.status == "pending").order_by(p.c.id)
        ):
            pending[cid].append((pid, recommended))
        latest = (
            sa.select(sa.func.max(p.c.id).label("id"))
            .where(p.c.status.in_(DECIDED))
            .group_by(p.c.customer_id)
            .subquery()
        )
        decided = {
            row.customer_id: row
            for row in conn.execute(
                sa.select(
                    p.c.id,
                    p.c.customer_id,
                    p.c.recommended,
                    p.c.current_limit,
                    p.c.status,
                    p.c.decided_by,
                    p.c.decided_at,
                ).join(latest, latest.c.id == p.c.id)
            )
        }
        return cls(pending, decided)


@dataclass
class _LimitRun:
    """What one run of :func:`recommend_limits` decides, gathered customer by customer before it is written."""

    as_of: dt.date
    now: dt.datetime
    out: dict[str, Recommendation] = field(default_factory=dict)
    #: pending proposals to supersede: ``pid`` and ``pnote``, or ``new``: the customer whose new proposal replaces it
    supersede: list[dict[str, Any]] = field(default_factory=list)
    #: the new proposals (``credit_limit_proposal`` rows)
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    #: the decision sentence of each new proposal, by customer, as a message (for the pushed event)
    decisions: dict[str, Message] = field(default_factory=dict)


def _recommend(
    run: _LimitRun,
    customer: CustomerRisk,
    amount: Decimal,
    reasons: list[Message],
    earlier: _EarlierProposals,
    settings: CreditConfig,
) -> None:
    """Decide what becomes of one customer's recommended ``amount``: nothing (it equals the current
    limit), an earlier proposal of that amount kept, or a new proposal; adds to ``run`` the
    recommendation, the pending proposals it supersedes and the new proposal's row."""
    cid = customer.customer_id
    ccy = customer.exposure.currency
    current = customer.exposure.credit_limit
    rec = run.out[cid] = Recommendation(cid, amount, ccy, reasons)
    waiting = earlier.pending.get(cid, [])
    if current is not None and amount == current:
        reasons.append(
            Message(N_("The current limit is already %(amount)s: nothing to change."), amount=Amount(current, ccy))
        )
        run.supersede.extend(
            {"pid": pid, "pnote": f"The current limit came to equal this recommendation ({money(current, ccy)})."}
            for pid, _ in waiting
        )
        return
    status, decided = _decision_message(customer, current, amount, settings)
    same = [pid for pid, recommended in waiting if recommended == amount]
    if same:
        reasons.append(decided)
        keep = same[-1]
        rec.status, rec.proposal_id = "pending", keep
        run.supersede.extend(
            {"pid": pid, "pnote": f"Superseded by proposal {keep} of the same amount."}
            for pid, _ in waiting
            if pid != keep
        )
        return
    before = earlier.decided.get(cid)
    if before is not None and before.recommended == amount and before.current_limit == current:
        _keep_decided(rec, before)
        run.supersede.extend(
            {"pid": pid, "pnote": "Superseded: the recommendation changed back."} for pid, _ in waiting
        )
        return
    reasons.append(decided)
    run.decisions[cid] = decided
    rec.status = status
    run.supersede.extend({"pid": pid, "new": cid} for pid, _ in waiting)
    run.new_rows.append(
        {
            "customer_id": cid,
            "as_of": run.as_of,
            "currency": ccy,
            "current_limit": current,
            "recommended": amount,
            # each reason's English sentence beside its message (hub.i18n.stored): the command line reads
            # the sentence, a page says the message in its reader's language
            "reasons": [stored(m) for m in reasons],
            "status": status,
            "created_at": run.now,
            "decided_by": POLICY if status == "applied" else None,
            "decided_at": run.now if status == "applied" else None,
            "note": None,
        }
    )


def _keep_decided(rec: Recommendation, before: Any) -> None:
    """The recommendation stays with an earlier decided proposal of the same amount and current limit;
    its reasons say who decided it and when."""
    rec.status, rec.proposal_id = before.status, before.id
    when = Day(before.decided_at.date()) if before.decided_at else Message(N_("an earlier run"))
    if before.status == "rejected":
        rec.messages.append(
            Message(
                N_(
                    "Proposal %(id)s of this amount was rejected by %(who)s on %(day)s; it is not "
                    "proposed again until the recommendation or the current limit changes."
                ),
                id=before.id,
                who=str(before.decided_by),
                day=when,
            )
        )
    else:
        rec.messages.append(
            Message(
                N_(
                    "Proposal %(id)s of this amount was %(status)s by %(who)s on %(day)s; "
                    "the ERP has not reported the new limit yet."
                ),
                id=before.id,
                status=Message(VERBS.get(before.status, before.status)),
                who=str(before.decided_by),
                day=when,
            )
        )


def _insert_proposals(conn: sa.Connection, run: _LimitRun) -> None:
    """Write the new proposals (``credit_limit_proposal``) and give each recommendation its proposal's id."""
    if not run.new_rows:
        return
    p = schema.credit_limit_proposal
    # A plain executemany, then the ids by creation time: INSERT .. RETURNING of 20,000 rows is four
    # times slower on psycopg. Each customer gets at most one proposal per run, stamped ``now``.
    conn.execute(p.insert(), run.new_rows)
    for pid, cid in conn.execute(sa.select(p.c.id, p.c.customer_id).where(p.c.created_at == run.now).order_by(p.c.id)):
        if cid in run.out:
            run.out[cid].proposal_id = pid


def _supersede(conn: sa.Connection, run: _LimitRun) -> None:
    """Mark the replaced pending proposals ``superseded`` by policy (``credit_limit_proposal``), each with its note;
    after :func:`_insert_proposals`, so a note can name the new proposal."""
    if not run.supersede:
        return
    p = schema.credit_limit_proposal
    conn.execute(
        p.update()
        .where(p.c.id == sa.bindparam("pid"), p.c.status == "pending")
        .values(status="superseded", decided_by=POLICY, decided_at=run.now, note=sa.bindparam("pnote")),
        [
            {"pid": s["pid"], "pnote": s.get("pnote") or f"Superseded by proposal {run.out[s['new']].proposal_id}."}
            for s in run.supersede
        ],
    )


def _apply_by_policy(
    conn: sa.Connection, run: _LimitRun, sinks: list[str], links: dict[str, dict[str, str]]
) -> list[CreditLimitChange]:
    """For each new proposal applied by policy: a :class:`CreditLimitChange`, its ``audit_log`` entry and one
    outbox row per sink. Returns the events."""
    events: list[CreditLimitChange] = []
    audit_rows: list[dict[str, Any]] = []
    for row in run.new_rows:
        if row["status"] != "applied":
            continue
        cid = row["customer_id"]
        pid = run.out[cid].proposal_id
        assert pid is not None
        event = _event(
            cid,
            pid,
            row["recommended"],
            row["currency"],
            row["current_limit"],
            POLICY,
            " ".join([row["reasons"][0]["text"], row["reasons"][-1]["text"]]),
            run.now,
            links.get(cid, {}),
            Join((recommended_message(row["recommended"], row["currency"]), run.decisions[cid]), " "),
        )
        events.append(event)
        audit_rows.append(
            {
                "at": run.now,
                "actor": POLICY,
                "action": "credit_limit.apply",
                "object_type": "credit_limit_proposal",
                "object_id": str(pid),
                "details": _audit_details(
                    cid, row["currency"], row["current_limit"], row["recommended"], None, event.event_id, sinks
                ),
            }
        )
    if audit_rows:
        conn.execute(schema.audit_log.insert(), audit_rows)
    if events:
        from hub.outbox import enqueue  # here, not at the top: the command line starts without the outbox

        enqueue(conn, events, sinks, run.now)
    return events


def _event(
    cid: str,
    pid: int,
    amount: Decimal,
    currency: str,
    previous: Decimal | None,
    by: str,
    reason: str,
    at: dt.datetime,
    links: dict[str, str],
    message: Join | Message | None = None,
) -> CreditLimitChange:
    if isinstance(message, Join):
        message = Message("%(parts)s", parts=message)
    return CreditLimitChange(
        event_id=f"{cid}:credit_limit:{pid}",
        customer_id=cid,
        amount=cents(amount),
        currency=currency,
        previous=None if previous is None else cents(previous),
        approved_by=by,
        reason=reason,
        at=at,
        links=links,
        message=message.to_json() if message is not None else None,
    )


def _audit_details(
    cid: str,
    currency: str,
    previous: Decimal | None,
    new: Decimal,
    note: str | None,
    event_id: str,
    sinks: Sequence[str],
) -> dict[str, Any]:
    return {
        "customer_id": cid,
        "currency": currency,
        "previous": None if previous is None else str(cents(previous)),
        "new": str(cents(new)),
        "note": note,
        "event_id": event_id,
        "sinks": list(sinks),
    }


# -- reading and deciding proposals -----------------------------------------------------------------


def proposals(
    conn: sa.Connection,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[LimitProposal]:
    """Proposals, newest first, optionally of one status and/or one customer (``offset``: after that many)."""
    p = schema.credit_limit_proposal
    query = sa.select(p).where(*_proposal_filter(status, customer_id)).order_by(p.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return [_row_proposal(r) for r in conn.execute(query)]


def _proposal_filter(status: str | None, customer_id: str | None) -> list[sa.ColumnElement[bool]]:
    p = schema.credit_limit_proposal
    if status is not None and status not in STATUSES:
        raise HubError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    where: list[sa.ColumnElement[bool]] = []
    if status is not None:
        where.append(p.c.status == status)
    if customer_id is not None:
        where.append(p.c.customer_id == customer_id)
    return where


def count_proposals(conn: sa.Connection, *, status: str | None = None, customer_id: str | None = None) -> int:
    """How many proposals :func:`proposals` would list without a limit."""
    p = schema.credit_limit_proposal
    query = sa.select(sa.func.count()).select_from(p).where(*_proposal_filter(status, customer_id))
    return int(conn.execute(query).scalar_one())


def _by_id(conn: sa.Connection, pid: int) -> LimitProposal | None:
    p = schema.credit_limit_proposal
    row = conn.execute(sa.select(p).where(p.c.id == pid)).first()
    return None if row is None else _row_proposal(row)


def decision_text(proposal: LimitProposal) -> str:
    return proposal.decision


#: How a decision on a proposal is said (its status, and the verb of a refused decision).
VERBS = {
    "pending": N_("pending"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "applied": N_("applied"),
    "superseded": N_("superseded"),
}


def decision_message(proposal: LimitProposal) -> Message:
    """:attr:`LimitProposal.decision` as a message any locale can say."""
    status = Message(VERBS.get(proposal.status, proposal.status))
    if proposal.status == "pending":
        return status
    if proposal.decided_by and proposal.decided_at:
        return Message(
            N_("%(status)s by %(who)s on %(day)s"),
            status=status,
            who=proposal.decided_by,
            day=Day(proposal.decided_at.date()),
        )
    if proposal.decided_by:
        return Message(N_("%(status)s by %(who)s"), status=status, who=proposal.decided_by)
    if proposal.decided_at:
        return Message(N_("%(status)s on %(day)s"), status=status, day=Day(proposal.decided_at.date()))
    return status


def find(conn: sa.Connection, ref: str | int, *, pending: bool = False) -> LimitProposal:
    """The proposal ``ref`` names: a proposal id (``17``, ``"#17"``) or a customer id.

    For a customer, its latest pending proposal when ``pending``, else its latest proposal. A
    number that is both a proposal id and a customer with proposals is refused as ambiguous.
    """
    if isinstance(ref, int):
        found = _by_id(conn, ref)
        if found is None:
            raise HubError(N_("there is no credit limit proposal %(id)s"), values={"id": ref})
        return found
    text = ref.strip()
    if not text:
        raise HubError(N_("name a proposal id or a customer id"))
    if text.startswith("#") and text[1:].isdigit():
        return find(conn, int(text[1:]), pending=pending)
    own = proposals(conn, customer_id=text)
    by_number = _by_id(conn, int(text)) if text.isdigit() else None
    if own and by_number is not None:
        raise HubError(
            N_(
                "%(ref)r is both proposal %(ref)s (customer %(customer)s) and a customer with proposals; "
                "write #%(ref)s for the proposal, or the customer's proposal number (latest: #%(latest)s)"
            ),
            values={"ref": text, "customer": by_number.customer_id, "latest": own[0].id},
        )
    if by_number is not None:
        return by_number
    if not own:
        raise HubError(
            N_(
                "there is no credit limit proposal for customer %(customer)r (nor with that number); "
                "'hub limits list' shows the proposals"
            ),
            values={"customer": text},
        )
    if not pending:
        return own[0]
    waiting = [x for x in own if x.status == "pending"]
    if not waiting:
        latest = own[0]
        raise HubError(
            N_(
                "customer %(customer)s has no pending credit limit proposal; its latest, %(id)s "
                "(%(amount)s), is %(decision)s"
            ),
            values={
                "customer": text,
                "id": latest.id,
                "amount": Amount(latest.recommended, latest.currency),
                "decision": decision_message(latest),
            },
        )
    return waiting[0]


def _who(by: str) -> str:
    who = (by or "").strip()
    if not who:
        raise HubError(N_("say who decides: --by NAME is required and must not be empty"))
    return who


def _decide(
    conn: sa.Connection, ref: str | int, status: str, verb: str, by: str, note: str | None, now: dt.datetime
) -> LimitProposal:
    proposal = find(conn, ref, pending=True)
    if proposal.status != "pending":
        raise HubError(
            N_(
                "proposal %(id)s for customer %(customer)s is %(decision)s, not pending: "
                "only a pending proposal can be %(verb)s"
            ),
            values={
                "id": proposal.id,
                "customer": proposal.customer_id,
                "decision": decision_message(proposal),
                "verb": Message(VERBS.get(verb, verb)),
            },
        )
    p = schema.credit_limit_proposal
    done = conn.execute(
        p.update()
        .where(p.c.id == proposal.id, p.c.status == "pending")
        .values(status=status, decided_by=by, decided_at=now, note=note)
    ).rowcount
    if done != 1:  # decided (or superseded by a risk run) since it was read
        raise HubError(
            N_("proposal %(id)s was decided by someone else meanwhile; look again with 'hub limits list'"),
            values={"id": proposal.id},
        )
    return replace(proposal, status=status, decided_by=by, decided_at=now, note=note)


def customer_links(conn: sa.Connection, customer_id: str, master_source: str | None = None) -> dict[str, str]:
    """The customer's id in every connected system (as :class:`hub.exposure.CustomerIndex` builds them)."""
    c = schema.customer
    rows = list(
        conn.execute(
            sa.select(c.c.source, c.c.external_id, c.c.links).where(c.c.canonical_id == customer_id).order_by(c.c.id)
        )
    )
    rows.sort(key=lambda r: r[0] != master_source)
    out: dict[str, str] = {}
    for source, ext, links in rows:
        out.setdefault(source, ext)
        for k, v in (links or {}).items():
            out.setdefault(k, v)
    return out


def approve(
    store: Store,
    proposal_or_customer: str | int,
    *,
    by: str,
    note: str | None = None,
    sinks: list[str],
    master_source: str | None = None,
) -> tuple[LimitProposal, CreditLimitChange]:
    """Approve a pending proposal (by id, or the customer's latest pending one).

    In one transaction: the proposal becomes ``approved`` (who, when, note), the audit log records
    who approved which change (old and new limit, note), and a :class:`CreditLimitChange` is queued
    for every sink. Anything but a pending proposal is refused.
    """
    who = _who(by)
    now = utcnow()
    with store.begin() as conn:
        proposal = _decide(conn, proposal_or_customer, "approved", "approved", who, note, now)
        cid = proposal.customer_id
        reason = f"Approved by {who}" + (f": {note.strip()}" if note and note.strip() else ".")
        if not reason.endswith((".", "!", "?")):
            reason += "."
        summary = proposal.reasons[0] if proposal.reasons else ""
        said = note.strip() if note and note.strip() else ""
        approved = (
            Message(N_("Approved by %(who)s: %(note)s"), who=who, note=reason[len(f"Approved by {who}: ") :])
            if said
            else Message(N_("Approved by %(who)s."), who=who)
        )
        event = _event(
            cid,
            proposal.id,
            proposal.recommended,
            proposal.currency,
            proposal.current_limit,
            who,
            f"{reason} {summary}".strip(),
            now,
            customer_links(conn, cid, master_source),
            Join((approved, recommended_message(proposal.recommended, proposal.currency)), " ")
            if proposal.reasons
            else approved,
        )
        store.audit(
            conn,
            who,
            "credit_limit.approve",
            "credit_limit_proposal",
            str(proposal.id),
            **_audit_details(
                cid, proposal.currency, proposal.current_limit, proposal.recommended, note, event.event_id, sinks
            ),
        )
        from hub.outbox import enqueue

        enqueue(conn, [event], sinks, now)
    log.info("credit.approved", proposal=proposal.id, customer=cid, by=who, sinks=len(sinks))
    return proposal, event


def reject(store: Store, proposal_or_customer: str | int, *, by: str, note: str | None = None) -> LimitProposal:
    """Reject a pending proposal (by id, or the customer's latest pending one); the limit stays as it is.

    The same amount is not proposed again until the recommendation or the current limit changes.
    """
    who = _who(by)
    now = utcnow()
    with store.begin() as conn:
        proposal = _decide(conn, proposal_or_customer, "rejected", "rejected", who, note, now)
        store.audit(
            conn,
            who,
            "credit_limit.reject",
            "credit_limit_proposal",
            str(proposal.id),
            customer_id=proposal.customer_id,
            currency=proposal.currency,
            current=None if proposal.current_limit is None else str(cents(proposal.current_limit)),
            recommended=str(proposal.recommended),
            note=note,
        )
    log.info("credit.rejected", proposal=proposal.id, customer=proposal.customer_id, by=who)
    return proposal


def customer_names(conn: sa.Connection, ids: set[str]) -> dict[str, str]:
    """The names the last risk run stored for these customers (``""`` when it had none)."""
    if not ids:
        return {}
    e = schema.exposure
    query = sa.select(e.c.customer_id, e.c.name)
    if len(ids) <= 1000:  # else all of them: one scan beats a huge IN list
        query = query.where(e.c.customer_id.in_(sorted(ids)))
    return {cid: name or "" for cid, name in conn.execute(query) if cid in ids}


# -- limits people request (four eyes) ---------------------------------------------------------------

REQUEST_STATUSES = ("pending", "applied", "approved", "rejected", "withdrawn")


@dataclass(frozen=True)
class LimitRequest:
    """One row of ``credit_limit_request``: a limit a person asked for, and what became of it."""

    id: int
    customer_id: str
    currency: str
    current_limit: Decimal | None
    requested: Decimal
    reason: str
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None
    event_id: str | None = None
    four_eyes: bool = False
    """Whether it needed (or needs) a second credit user's approval."""

    @property
    def change(self) -> Decimal:
        return self.requested - (self.current_limit or ZERO)


def _row_request(row: Any, four_eyes: bool | None = None) -> LimitRequest:
    return LimitRequest(
        id=row.id,
        customer_id=row.customer_id,
        currency=row.currency,
        current_limit=row.current_limit,
        requested=row.requested,
        reason=row.reason,
        status=row.status,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
        event_id=row.event_id,
        four_eyes=row.status != "applied" if four_eyes is None else four_eyes,
    )


def four_eyes_threshold(current: Decimal | None, settings: CreditConfig) -> Decimal | None:
    """The largest change a person may make alone: ``[credit] four_eyes_amount``, else the approval
    threshold of proposals; None for a first limit under the default rule (it always waits)."""
    fixed = settings.four_eyes_limit()
    if fixed is not None:
        return fixed
    return None if current is None else _threshold(current, settings)


def request_limit(
    store: Store,
    customer_id: str,
    amount: Decimal,
    *,
    by: str,
    reason: str,
    settings: CreditConfig,
    sinks: list[str],
    master_source: str | None = None,
) -> LimitRequest:
    """A person asks for a credit limit. A change within the four-eyes threshold is applied at once
    (audited, queued for every sink); a larger one, or a first limit, waits ``pending`` for a second
    credit user (:func:`decide_request`). One pending request per customer at a time."""
    from hub.errors import NotFoundError
    from hub.i18n import N_

    who = _who(by)
    text = (reason or "").strip()
    if not text:
        raise HubError(N_("say why: a limit request needs a reason"))
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        raise HubError(
            N_("a limit is an amount of zero or more with at most two decimals, got %(amount)s"),
            values={"amount": str(amount)},
        )
    now = utcnow()
    e, q = schema.exposure, schema.credit_limit_request
    with store.begin() as conn:
        found = conn.execute(sa.select(e.c.currency, e.c.credit_limit).where(e.c.customer_id == customer_id)).first()
        if found is None:
            raise NotFoundError(
                N_("no customer %(customer)s in the last risk run (unknown id, or run 'hub risk' first)"),
                values={"customer": customer_id},
            )
        waiting = conn.execute(
            sa.select(q.c.id).where(q.c.customer_id == customer_id, q.c.status == "pending")
        ).scalar_one_or_none()
        if waiting is not None:
            raise HubError(
                N_("customer %(customer)s already has a pending limit request (#%(id)s): decide it first"),
                values={"customer": customer_id, "id": waiting},
            )
        currency, current = found.currency, found.credit_limit
        if current is not None and amount == current:
            raise HubError(
                N_("the limit of %(customer)s is already %(amount)s"),
                values={"customer": customer_id, "amount": money(current, currency)},
            )
        threshold = four_eyes_threshold(current, settings)
        change = abs(amount - (current or ZERO))
        needs_two = threshold is None or change > threshold
        inserted = conn.execute(
            q.insert().values(
                customer_id=customer_id,
                currency=currency,
                current_limit=current,
                requested=amount,
                reason=text,
                status="pending" if needs_two else "applied",
                requested_by=who,
                requested_at=now,
                decided_by=None if needs_two else who,
                decided_at=None if needs_two else now,
            )
        ).inserted_primary_key
        assert inserted is not None
        rid = int(inserted[0])
        details = {
            "customer_id": customer_id,
            "currency": currency,
            "previous": None if current is None else str(cents(current)),
            "new": str(cents(amount)),
            "reason": text,
            "four_eyes": needs_two,
            "threshold": None if threshold is None else str(threshold),
        }
        store.audit(conn, who, "credit_limit.request", "credit_limit_request", str(rid), **details)
        if not needs_two:
            _apply_request(conn, store, rid, who, f"Set by {who}: {text}", now, sinks, master_source)
        row = conn.execute(sa.select(q).where(q.c.id == rid)).one()
    log.info("credit.requested", request=rid, customer=customer_id, by=who, four_eyes=needs_two)
    return _row_request(row, needs_two)


def _apply_request(
    conn: sa.Connection,
    store: Store,
    rid: int,
    by: str,
    reason: str,
    now: dt.datetime,
    sinks: list[str],
    master_source: str | None,
) -> CreditLimitChange:
    q = schema.credit_limit_request
    row = conn.execute(sa.select(q).where(q.c.id == rid)).one()
    cid = row.customer_id
    if not reason.endswith((".", "!", "?")):
        reason += "."
    event = _event(
        cid,
        rid,
        row.requested,
        row.currency,
        row.current_limit,
        by,
        reason,
        now,
        customer_links(conn, cid, master_source),
    ).model_copy(update={"event_id": f"{cid}:credit_limit_request:{rid}"})
    conn.execute(q.update().where(q.c.id == rid).values(event_id=event.event_id))
    store.audit(
        conn,
        by,
        "credit_limit.apply",
        "credit_limit_request",
        str(rid),
        **_audit_details(cid, row.currency, row.current_limit, row.requested, None, event.event_id, sinks),
    )
    from hub.outbox import enqueue

    enqueue(conn, [event], sinks, now)
    return event


def decide_request(
    store: Store,
    request_id: int,
    *,
    approve: bool,
    by: str,
    note: str | None = None,
    sinks: list[str],
    master_source: str | None = None,
) -> LimitRequest:
    """Approve or reject a pending limit request. Its requester can never approve it (four eyes), only
    withdraw it (a rejection by the requester is recorded as ``withdrawn``)."""
    from hub.errors import AccessError, NotFoundError
    from hub.i18n import N_

    who = _who(by)
    now = utcnow()
    q = schema.credit_limit_request
    with store.begin() as conn:
        row = conn.execute(sa.select(q).where(q.c.id == request_id)).first()
        if row is None:
            raise NotFoundError(N_("there is no limit request %(id)s"), values={"id": request_id})
        if row.status != "pending":
            raise HubError(
                N_("limit request %(id)s is %(status)s, not pending"), values={"id": request_id, "status": row.status}
            )
        own = row.requested_by == who
        if approve and own:
            raise AccessError(
                N_(
                    "you requested this limit, so you cannot approve it: a second credit user must (four eyes); "
                    "you may withdraw it"
                ),
                code="four_eyes",
            )
        status = "approved" if approve else ("withdrawn" if own else "rejected")
        done = conn.execute(
            q.update()
            .where(q.c.id == request_id, q.c.status == "pending")
            .values(status=status, decided_by=who, decided_at=now, note=note)
        ).rowcount
        if done != 1:
            raise HubError(N_("limit request %(id)s was decided by someone else meanwhile"), values={"id": request_id})
        store.audit(
            conn,
            who,
            f"credit_limit.request_{status}",
            "credit_limit_request",
            str(request_id),
            customer_id=row.customer_id,
            requested_by=row.requested_by,
            requested=str(cents(row.requested)),
            note=note,
        )
        if approve:
            reason = f"Requested by {row.requested_by} ({row.reason.rstrip('.')}), approved by {who}"
            if note and note.strip():
                reason += f": {note.strip()}"
            _apply_request(conn, store, request_id, who, reason, now, sinks, master_source)
        out = conn.execute(sa.select(q).where(q.c.id == request_id)).one()
    log.info("credit.request_decided", request=request_id, status=status, by=who)
    return _row_request(out, True)


def limit_requests(
    conn: sa.Connection,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[LimitRequest], int]:
    """Limit requests, newest first, and how many match in all."""
    from hub.i18n import N_

    q = schema.credit_limit_request
    if status is not None and status not in REQUEST_STATUSES:
        raise HubError(N_("status must be one of %(allowed)s"), values={"allowed": ", ".join(REQUEST_STATUSES)})
    where: list[sa.ColumnElement[bool]] = []
    if status is not None:
        where.append(q.c.status == status)
    if customer_id is not None:
        where.append(q.c.customer_id == customer_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(q).where(*where)).scalar_one()
    rows = conn.execute(sa.select(q).where(*where).order_by(q.c.id.desc()).limit(limit).offset(offset))
    return [_row_request(r) for r in rows], int(total)
