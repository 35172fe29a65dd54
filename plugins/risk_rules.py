"""The built-in risk signals and flag policies, registered through ``hub_register_risk_signals`` and
``hub_register_flag_policies``. Every threshold comes from ``[risk]`` (``context.settings``).

Signals report a severity from 0 (no concern) to 1; the ``[risk.scorecard]`` weight of the signal's
name turns it into points off 100. A signal with nothing to report returns None, so the score's
breakdown lists only what took points off.

* ``payment-behaviour``: the average days late of the last ``payments_window`` payments beyond
  ``late_grace_days``, rising from 0 within the grace to 1 at 60 days late; plus, at the same rate,
  how many days later (beyond the grace) that is than the window before it (counted when that
  window has at least four payments, or is full).
* ``ageing``: the share of the balance overdue (full from half the balance; the balance counted at
  most up to the credit limit, so debt not yet due beyond the limit does not dilute it) times the
  age of the oldest overdue invoice (full from 90 days past due).
* ``utilisation``: (open + open orders - what guarantees secure) / credit limit: 0 up to 80%,
  rising to 1 at 150%; owing anything against a limit of zero is 1.
* ``broken-promises``: promises to pay broken (promised date) in the last ``broken_promise_days``:
  one is 0.6, two or more 1.0.
* ``bureau``: the newest scored bureau report: (100 - score) / 100, plus the points it fell since
  that bureau's report before, / 100.
* ``legal-events``: the worst legal event the bureaus report, dated within ``legal_event_days``
  (undated ones always count): insolvency or dishonest-debtor listing 1.0, lawsuit 0.6, other 0.3.
* ``concentration``: the customer's share of all open receivables (base currency) above
  ``concentration_share``, rising to 1 at three times that share.

Policies, one per flag (``hub.model.FlagCode``):

* ``OVERDUE_30/60/90``: more than N days past due, only the highest N of ``overdue_days`` passed.
* ``OVER_LIMIT``: open + open orders - secured > credit limit (no limit: never); the reason says
  what guarantees secure.
* ``BUREAU_DOWNGRADE``: a bureau's latest score is ``bureau_downgrade_points`` or more below its
  previous one, or its band got worse. Letter bands (``A`` best, ``+``/``-`` modifiers) are
  compared directly; for other bands (numeric, words) the direction differs by bureau, so a change
  counts as worse only when the score fell with it, and is ignored when either score is unknown.
* ``LEGAL_EVENT``: a legal event within ``legal_event_days`` (undated ones count).
* ``BROKEN_PROMISE``: a promise to pay broken in the last ``broken_promise_days``.
* ``CREDIT_HOLD``: band in ``credit_hold_bands``, or open + orders - secured above
  ``credit_hold_over_limit`` times the limit, or more than ``credit_hold_overdue_days`` past due.
* ``PREPAYMENT_REQUIRED``: band in ``prepayment_bands``, or an insolvency or dishonest-debtor
  listing within ``legal_event_days``.
* early warnings: ``SCORE_DROP`` (the score is ``score_drop_points`` or more below its best of the
  earlier assessments within ``score_drop_window_days``); ``FIRST_LATE_PAYMENT`` (the newest
  payment day brought a payment later than ``late_grace_days``, after at least
  ``clean_history_payments`` payments, none of them late, on earlier days); ``PAYMENT_PATTERN_CHANGE``
  (the window of the last ``payments_window`` payments split into a newest and an older half of
  equal size, at least four payments each: the newest half averages ``pattern_change_days`` or more
  later than the older half).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal

from hub import (
    N_,
    Amount,
    BureauView,
    CustomerRisk,
    Day,
    Days,
    Exposure,
    FlagCode,
    FlagPolicy,
    Join,
    LegalEvent,
    LegalEventKind,
    Message,
    Payment,
    PromiseView,
    RiskContext,
    RiskFlag,
    RiskSignal,
    Share,
    SignalResult,
    format_money,
    hookimpl,
)

ZERO = Decimal(0)

#: Severity of each kind of legal event.
LEGAL_SEVERITY: dict[LegalEventKind, float] = {
    LegalEventKind.INSOLVENCY: 1.0,
    LegalEventKind.DISHONEST_DEBTOR: 1.0,
    LegalEventKind.CONSUMPTION_RESTRICTION: 0.8,  # a court's order: the company ignored a judgment
    LegalEventKind.ENFORCEMENT: 0.7,  # a judgment being enforced: money owed to someone else first
    LegalEventKind.LAWSUIT: 0.6,
    LegalEventKind.ABNORMAL_OPERATION: 0.4,  # a regulator's listing (missing filings, unreachable address)
    LegalEventKind.OTHER: 0.3,
}
_LEGAL_WORDS = {
    LegalEventKind.INSOLVENCY: N_("an insolvency"),
    LegalEventKind.DISHONEST_DEBTOR: N_("a dishonest-debtor listing"),
    LegalEventKind.CONSUMPTION_RESTRICTION: N_("a consumption restriction order"),
    LegalEventKind.ENFORCEMENT: N_("an enforcement of a judgment"),
    LegalEventKind.ABNORMAL_OPERATION: N_("an abnormal-operations listing"),
    LegalEventKind.LAWSUIT: N_("a lawsuit"),
    LegalEventKind.OTHER: N_("a legal event"),
}
SEVERE_LEGAL = frozenset({LegalEventKind.INSOLVENCY, LegalEventKind.DISHONEST_DEBTOR})


# -- how figures are written ------------------------------------------------------------------------


def money(amount: Decimal, currency: str) -> str:
    """``54,000.00 EUR`` (:func:`hub.model.format_money`)."""
    return format_money(amount, currency)


def number(value: float) -> str:
    """``23``, ``22.5``: a figure rounded to one decimal, without a trailing ``.0``."""
    rounded = round(float(value), 1)
    return f"{rounded + 0.0:g}"  # + 0.0 turns -0.0 into 0.0


def days(value: float) -> str:
    """``1 day``, ``23 days``, ``22.5 days``."""
    text = number(value)
    return f"{text} day" if text in ("1", "-1") else f"{text} days"


def lateness(avg_days_late: float) -> str:
    """``23 days late``, ``4 days early``, ``on the due date``."""
    return lateness_message(avg_days_late).english()


def lateness_message(avg_days_late: float) -> Message:
    """:func:`lateness` as a message."""
    if number(avg_days_late) == "0":
        return Message(N_("on the due date"))
    if avg_days_late > 0:
        return Message(N_("%(days)s late"), days=Days(avg_days_late))
    return Message(N_("%(days)s early"), days=Days(-avg_days_late))


def _signal(name: str, severity: float, reason: Message) -> SignalResult:
    return SignalResult(name, severity, reason.english(), reason.to_json())


def owed_message(exposure: Exposure) -> Message | Amount:
    """What the customer owes, with its open orders when it has any (a message any locale renders)."""
    ccy = exposure.currency
    if exposure.open_orders:
        return Message(
            N_("%(open)s plus %(orders)s in open orders"),
            open=Amount(exposure.open_amount, ccy),
            orders=Amount(exposure.open_orders, ccy),
        )
    return Amount(exposure.open_amount, ccy)


def owed(exposure: Exposure) -> str:
    """What the customer owes, with its open orders when it has any."""
    return render_english(owed_message(exposure))


def against_limit_message(exposure: Exposure) -> tuple[Decimal, Message | Amount]:
    """What counts against the credit limit, and how it is said: open receivables plus open orders,
    less what guarantees secure (a customer fully covered by a bank guarantee is not over its limit)."""
    gross = exposure.open_amount + exposure.open_orders
    secured = exposure.secured_amount
    if secured <= 0:
        return gross, owed_message(exposure)
    net = max(ZERO, gross - secured)
    ccy = exposure.currency
    return net, Message(
        N_("%(net)s net of %(secured)s secured by guarantees (owes %(owed)s)"),
        net=Amount(net, ccy),
        secured=Amount(secured, ccy),
        owed=owed_message(exposure),
    )


def against_limit(exposure: Exposure) -> tuple[Decimal, str]:
    """:func:`against_limit_message` in English."""
    used, said = against_limit_message(exposure)
    return used, render_english(said)


def render_english(value: Message | Amount) -> str:
    return value.english() if isinstance(value, Message) else money(value.amount, value.currency or "")


def _flag(customer: CustomerRisk, code: str, reason: Message) -> list[RiskFlag]:
    return [RiskFlag(customer_id=customer.customer_id, code=code, reason=reason.english(), message=reason.to_json())]


def _mean(payments: Sequence[Payment]) -> float:
    return sum(p.days_late for p in payments) / len(payments)


# -- what several rules share -----------------------------------------------------------------------


def recent_broken_promises(customer: CustomerRisk, context: RiskContext) -> list[PromiseView]:
    """Promises broken whose promised date is within ``broken_promise_days`` before ``as_of``, newest first."""
    since = context.as_of - dt.timedelta(days=context.settings.broken_promise_days)
    broken = [p for p in customer.promises if p.status == "broken" and since <= p.promised_date <= context.as_of]
    return sorted(broken, key=lambda p: (p.promised_date, p.made_on), reverse=True)


def recent_legal_events(customer: CustomerRisk, context: RiskContext) -> list[tuple[str, LegalEvent]]:
    """``(bureau, event)`` for every legal event dated within ``legal_event_days`` up to ``as_of``, or undated.

    The same event reported by two bureaus counts once (the first bureau by name names it); the
    worst kind comes first, then the newest.
    """
    since = context.as_of - dt.timedelta(days=context.settings.legal_event_days)
    seen: set[tuple[str, dt.date | None, str]] = set()
    found: list[tuple[str, LegalEvent]] = []
    for view in sorted(customer.bureaus, key=lambda b: b.bureau):
        for event in view.legal_events:
            if event.date is not None and not since <= event.date <= context.as_of:
                continue
            key = (event.kind.value, event.date, event.description.casefold())
            if key not in seen:
                seen.add(key)
                found.append((view.bureau, event))
    found.sort(key=lambda item: (-LEGAL_SEVERITY[item[1].kind], -(item[1].date or dt.date.min).toordinal()))
    return found


def legal_event_message(bureau: str, event: LegalEvent) -> Message:
    """``Creditsafe reports an insolvency on 2026-03-01: proceedings opened``, as a message."""
    what = Message(_LEGAL_WORDS[event.kind])
    if event.date and event.description:
        return Message(
            N_("%(bureau)s reports %(event)s on %(date)s: %(description)s"),
            bureau=bureau,
            event=what,
            date=Day(event.date),
            description=event.description,
        )
    if event.date:
        return Message(N_("%(bureau)s reports %(event)s on %(date)s"), bureau=bureau, event=what, date=Day(event.date))
    if event.description:
        return Message(
            N_("%(bureau)s reports %(event)s (undated): %(description)s"),
            bureau=bureau,
            event=what,
            description=event.description,
        )
    return Message(N_("%(bureau)s reports %(event)s (undated)"), bureau=bureau, event=what)


def describe_legal_event(bureau: str, event: LegalEvent) -> str:
    """``Creditsafe reports an insolvency on 2026-03-01: proceedings opened``."""
    return legal_event_message(bureau, event).english()


def latest_bureau(customer: CustomerRisk) -> BureauView | None:
    """The newest bureau report with a score (the first bureau by name on the same day)."""
    scored = [b for b in customer.bureaus if b.score is not None]
    return min(scored, key=lambda b: (-b.report_date.toordinal(), b.bureau), default=None)


_LETTER_BAND = re.compile(r"^([A-Z])([+-]?)$")


def _letter_rank(band: str) -> tuple[int, int] | None:
    found = _LETTER_BAND.match(band)
    if found is None:
        return None
    return ord(found[1]) - ord("A"), {"+": 0, "": 1, "-": 2}[found[2]]


def band_worsened(
    previous: str | None, current: str | None, previous_score: float | None = None, score: float | None = None
) -> bool:
    """Whether a bureau band got worse.

    Letter bands (``A`` best, ``B+`` better than ``B`` better than ``B-``) are compared directly.
    Whether a higher numeric (or worded) band is better depends on the bureau, so such a change
    counts as worse only when the score fell with it; without both scores it is ignored.
    """
    if previous is None or current is None:
        return False
    before, now = previous.strip().upper(), current.strip().upper()
    if not before or not now or before == now:
        return False
    rank_before, rank_now = _letter_rank(before), _letter_rank(now)
    if rank_before is not None and rank_now is not None:
        return rank_now > rank_before
    return previous_score is not None and score is not None and score < previous_score


def bureau_downgrade(view: BureauView, points: float) -> str | None:
    """Why a bureau's latest report is a downgrade of its previous one (a sentence), or None when it is not."""
    found = bureau_downgrade_message(view, points)
    return None if found is None else found.english()


def bureau_downgrade_message(view: BureauView, points: float) -> Message | None:
    """:func:`bureau_downgrade` as a message any locale can say."""
    found: list[Message] = []
    if view.score is not None and view.previous_score is not None:
        fall = round(view.previous_score - view.score, 2)
        if fall >= points:
            found.append(
                Message(
                    N_(
                        "its score from %(before)s to %(after)s "
                        "(%(fall)s points down; %(points)s or more is a downgrade)"
                    ),
                    before=number(view.previous_score),
                    after=number(view.score),
                    fall=number(fall),
                    points=number(points),
                )
            )
    if band_worsened(view.previous_band, view.band, view.previous_score, view.score):
        found.append(
            Message(N_("its band from %(before)s to %(after)s"), before=str(view.previous_band), after=str(view.band))
        )
    if not found:
        return None
    what = Join(tuple(found), " and ")
    if view.previous_date:
        return Message(
            N_("%(bureau)s's report of %(day)s lowers %(what)s, against its report of %(before)s"),
            bureau=view.bureau,
            day=Day(view.report_date),
            what=what,
            before=Day(view.previous_date),
        )
    return Message(
        N_("%(bureau)s's report of %(day)s lowers %(what)s"), bureau=view.bureau, day=Day(view.report_date), what=what
    )


# -- signals ------------------------------------------------------------------------------------------


class PaymentBehaviourSignal(RiskSignal):
    """How late the customer pays, and whether it pays later than it used to."""

    name = "payment-behaviour"
    default_weight = 25.0
    #: Average days late (beyond the grace) at which lateness alone is severity 1.
    full_late_days = 60
    #: Payments the window before needs for a trend (fewer only when the window itself is smaller).
    min_trend_payments = 4

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> SignalResult | None:
        size = context.settings.payments_window
        window = customer.payments[:size]
        if not window:
            return None
        grace = context.settings.late_grace_days
        span = self.full_late_days - grace
        avg = _mean(window)
        late = max(0.0, avg - grace)
        severity = late / span if span > 0 else float(late > 0)
        older = customer.payments[size : 2 * size]
        comparable = len(older) >= min(self.min_trend_payments, size)
        if comparable:
            worsening = late - max(0.0, _mean(older) - grace)
            if worsening > 0:
                severity += worsening / span if span > 0 else 1.0
        severity = min(1.0, severity)
        if severity <= 0:
            return None
        when = lateness_message(avg)
        paid = (
            Message(N_("paid its last invoice %(when)s"), when=when)
            if len(window) == 1
            else Message(N_("paid its last %(count)s invoices %(when)s on average"), count=len(window), when=when)
        )
        if not comparable:
            return _signal(self.name, severity, paid)
        diff = avg - _mean(older)
        before = (
            Message(N_("the one before")) if len(older) == 1 else Message(N_("the %(count)s before"), count=len(older))
        )
        if number(diff) == "0":
            trend = Message(N_("%(paid)s, as late as %(before)s"), paid=paid, before=before)
        elif diff > 0:
            trend = Message(N_("%(paid)s, %(days)s later than %(before)s"), paid=paid, days=Days(diff), before=before)
        else:
            trend = Message(
                N_("%(paid)s, %(days)s earlier than %(before)s"), paid=paid, days=Days(-diff), before=before
            )
        return _signal(self.name, severity, trend)


class AgeingSignal(RiskSignal):
    """How much of the balance is overdue, and how long the oldest invoice has been."""

    name = "ageing"
    default_weight = 30.0
    #: Days past due at which the age counts fully.
    full_days = 90
    #: Share of the balance overdue at which the share counts fully.
    full_share = Decimal("0.5")

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> SignalResult | None:
        exp = customer.exposure
        dpd = exp.max_days_past_due
        if exp.open_amount <= 0 or exp.overdue_amount <= 0 or dpd <= 0:
            return None
        # The overdue share of the balance, the balance counted at most up to the credit limit: new
        # invoices not yet due beyond the limit must not dilute what is overdue (more debt over the
        # limit would otherwise make a better score).
        limit = exp.credit_limit
        capped = limit is not None and limit < exp.open_amount
        base = max(limit, exp.overdue_amount) if capped and limit is not None else exp.open_amount
        share = exp.overdue_amount / base
        severity = min(Decimal(1), share / self.full_share) * min(Decimal(1), Decimal(dpd) / self.full_days)
        ccy = exp.currency
        of = (
            Message(
                N_("%(overdue)s against its %(limit)s credit limit"),
                overdue=Amount(exp.overdue_amount, ccy),
                limit=Amount(limit, ccy),
            )
            if capped and limit is not None
            else Message(
                N_("%(overdue)s of %(open)s"),
                overdue=Amount(exp.overdue_amount, ccy),
                open=Amount(exp.open_amount, ccy),
            )
        )
        return _signal(
            self.name,
            float(severity),
            Message(
                N_("%(share)s of the balance (%(of)s) is overdue and the oldest invoice is %(days)s past due"),
                share=Share(float(share)),
                of=of,
                days=Days(dpd),
            ),
        )


class UtilisationSignal(RiskSignal):
    """How much of its credit limit the customer uses, open orders included."""

    name = "utilisation"
    default_weight = 15.0
    start = Decimal("0.8")
    full = Decimal("1.5")

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> SignalResult | None:
        exp = customer.exposure
        limit = exp.credit_limit
        used, said = against_limit_message(exp)
        if limit is None or used <= 0:
            return None
        if limit <= 0:
            return _signal(
                self.name,
                1.0,
                Message(
                    N_("owes %(owed)s although its credit limit is %(limit)s"),
                    owed=said,
                    limit=Amount(limit, exp.currency),
                ),
            )
        ratio = used / limit
        if ratio <= self.start:
            return None
        severity = min(Decimal(1), (ratio - self.start) / (self.full - self.start))
        return _signal(
            self.name,
            float(severity),
            Message(
                N_("owes %(owed)s, %(share)s of its %(limit)s credit limit"),
                owed=said,
                share=Share(float(ratio)),
                limit=Amount(limit, exp.currency),
            ),
        )


class BrokenPromisesSignal(RiskSignal):
    """Promises to pay the customer broke lately."""

    name = "broken-promises"
    default_weight = 15.0

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> SignalResult | None:
        broken = recent_broken_promises(customer, context)
        if not broken:
            return None
        return _signal(self.name, 0.6 if len(broken) == 1 else 1.0, broken_promise_message(broken, context))


def _broken_reason(broken: Sequence[PromiseView], context: RiskContext) -> str:
    return broken_promise_message(broken, context).english()


def broken_promise_message(broken: Sequence[PromiseView], context: RiskContext) -> Message:
    def one(p: PromiseView) -> Message:
        got = (
            Message(N_("%(amount)s received"), amount=Amount(p.received, p.currency))
            if p.received > 0
            else Message(N_("nothing received"))
        )
        return Message(
            N_("%(amount)s by %(date)s (%(received)s)"),
            amount=Amount(p.amount, p.currency),
            date=Day(p.promised_date),
            received=got,
        )

    promises = Join(tuple(one(p) for p in broken), ", ")
    window = Days(context.settings.broken_promise_days)
    if len(broken) == 1:
        return Message(
            N_("broke a promise to pay in the last %(window)s: %(promises)s"), window=window, promises=promises
        )
    return Message(
        N_("broke %(count)s promises to pay in the last %(window)s: %(promises)s"),
        count=len(broken),
        window=window,
        promises=promises,
    )


class BureauSignal(RiskSignal):
    """The newest bureau score, and how far it fell since that bureau's report before."""

    name = "bureau"
    default_weight = 25.0

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> SignalResult | None:
        view = latest_bureau(customer)
        if view is None or view.score is None:
            return None
        score = min(100.0, max(0.0, view.score))
        severity = (100.0 - score) / 100.0
        reason = Message(
            N_("%(bureau)s scores it %(score)s of 100 on %(day)s"),
            bureau=view.bureau,
            score=number(score),
            day=Day(view.report_date),
        )
        if view.previous_score is not None:
            fall = view.previous_score - score
            severity += max(0.0, fall) / 100.0
            was = number(view.previous_score)
            if number(fall) == "0":
                change = Message(N_("unchanged from %(score)s"), score=was)
            elif fall > 0:
                change = Message(N_("down from %(score)s"), score=was)
            else:
                change = Message(N_("up from %(score)s"), score=was)
            if view.previous_date:
                change = Message(N_("%(change)s on %(day)s"), change=change, day=Day(view.previous_date))
            reason = Message("%(reason)s, %(change)s", reason=reason, change=change)
        severity = min(1.0, severity)
        if severity <= 0:
            return None
        return _signal(self.name, severity, reason)


class LegalEventsSignal(RiskSignal):
    """Insolvency, dishonest-debtor listings, lawsuits and other legal events the bureaus report."""

    name = "legal-events"
    default_weight = 40.0

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> SignalResult | None:
        events = recent_legal_events(customer, context)
        if not events:
            return None
        return _signal(
            self.name,
            max(LEGAL_SEVERITY[e.kind] for _, e in events),
            Message("%(events)s", events=Join(tuple(legal_event_message(bureau, e) for bureau, e in events))),
        )


class ConcentrationSignal(RiskSignal):
    """One customer owing a large share of all open receivables."""

    name = "concentration"
    default_weight = 5.0

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> SignalResult | None:
        total = context.portfolio_open
        mine = customer.exposure.open_base
        if total <= 0 or mine <= 0:
            return None
        share = mine / total
        threshold = Decimal(str(context.settings.concentration_share))
        if share <= threshold:
            return None
        severity = min(Decimal(1), (share - threshold) / (2 * threshold))
        base = context.base_currency
        return _signal(
            self.name,
            float(severity),
            Message(
                N_(
                    "owes %(owed)s, %(share)s of all open receivables (%(total)s); "
                    "more than %(threshold)s is a concentration"
                ),
                owed=Amount(mine, base),
                share=Share(float(share)),
                total=Amount(total, base),
                threshold=Share(float(threshold)),
            ),
        )


# -- flag policies ------------------------------------------------------------------------------------


class OverduePolicy(FlagPolicy):
    """``OVERDUE_30/60/90``: only the highest threshold passed, so a customer carries one overdue flag."""

    name = "overdue"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        exp = customer.exposure
        dpd = exp.max_days_past_due
        passed = [d for d in sorted(context.overdue_days) if dpd > d]
        if not passed:
            return []
        return _flag(
            customer,
            f"OVERDUE_{passed[-1]}",
            Message(
                N_(
                    "the oldest unpaid invoice is %(days)s past due (more than %(threshold)s); "
                    "%(overdue)s overdue in all"
                ),
                days=Days(dpd),
                threshold=passed[-1],
                overdue=Amount(exp.overdue_amount, exp.currency),
            ),
        )


class OverLimitPolicy(FlagPolicy):
    """``OVER_LIMIT``: open receivables plus open orders above the credit limit."""

    name = "over-limit"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        exp = customer.exposure
        limit = exp.credit_limit
        used, said = against_limit_message(exp)
        if limit is None or used <= limit:
            return []
        ccy = exp.currency
        over, limit_amount = Amount(used - limit, ccy), Amount(limit, ccy)
        if exp.open_orders and not exp.secured_amount:
            reason = Message(
                N_("owes %(owed)s, %(total)s in all, %(over)s over its %(limit)s credit limit"),
                owed=said,
                total=Amount(used, ccy),
                over=over,
                limit=limit_amount,
            )
        else:
            reason = Message(
                N_("owes %(owed)s, %(over)s over its %(limit)s credit limit"), owed=said, over=over, limit=limit_amount
            )
        return _flag(customer, FlagCode.OVER_LIMIT.value, reason)


class BureauDowngradePolicy(FlagPolicy):
    """``BUREAU_DOWNGRADE``: a bureau's latest report scores or bands the customer worse than its previous one."""

    name = "bureau-downgrade"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        points = context.settings.bureau_downgrade_points
        views = sorted(customer.bureaus, key=lambda b: b.bureau)
        found = [reason for reason in (bureau_downgrade_message(v, points) for v in views) if reason]
        if not found:
            return []
        return _flag(customer, FlagCode.BUREAU_DOWNGRADE.value, Message("%(reasons)s", reasons=Join(tuple(found))))


class LegalEventPolicy(FlagPolicy):
    """``LEGAL_EVENT``: any legal event within ``legal_event_days`` (or undated)."""

    name = "legal-event"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        events = recent_legal_events(customer, context)
        if not events:
            return []
        return _flag(
            customer,
            FlagCode.LEGAL_EVENT.value,
            Message("%(events)s", events=Join(tuple(legal_event_message(b, e) for b, e in events))),
        )


class BrokenPromisePolicy(FlagPolicy):
    """``BROKEN_PROMISE``: a promise to pay broken within ``broken_promise_days``."""

    name = "broken-promise"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        broken = recent_broken_promises(customer, context)
        if not broken:
            return []
        return _flag(customer, FlagCode.BROKEN_PROMISE.value, broken_promise_message(broken, context))


class CreditHoldPolicy(FlagPolicy):
    """``CREDIT_HOLD``: a hold band, far over the limit, or very late; the reason names each that holds."""

    name = "credit-hold"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        settings, exp = context.settings, customer.exposure
        found: list[Message] = []
        if customer.band is not None and customer.band in settings.credit_hold_bands:
            found.append(
                Message(
                    N_("risk band %(band)s (score %(score)s) is a hold band"),
                    band=customer.band,
                    score=number(customer.score or 0),
                )
            )
        limit = exp.credit_limit
        factor = Decimal(str(settings.credit_hold_over_limit))
        used, said = against_limit_message(exp)
        if limit is not None and used > limit * factor:
            found.append(
                Message(
                    N_("owes %(owed)s, more than %(factor)s times its %(limit)s credit limit"),
                    owed=said,
                    factor=f"{factor:f}",
                    limit=Amount(limit, exp.currency),
                )
            )
        if exp.max_days_past_due > settings.credit_hold_overdue_days:
            found.append(
                Message(
                    N_("the oldest unpaid invoice is %(days)s past due (hold after %(hold)s)"),
                    days=Days(exp.max_days_past_due),
                    hold=Days(settings.credit_hold_overdue_days),
                )
            )
        if not found:
            return []
        return _flag(
            customer,
            FlagCode.CREDIT_HOLD.value,
            Message(N_("recommend stopping deliveries: %(reasons)s"), reasons=Join(tuple(found))),
        )


class PrepaymentPolicy(FlagPolicy):
    """``PREPAYMENT_REQUIRED``: a prepayment band, or an insolvency or dishonest-debtor listing."""

    name = "prepayment-required"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        found: list[Message] = []
        if customer.band is not None and customer.band in context.settings.prepayment_bands:
            found.append(
                Message(
                    N_("risk band %(band)s (score %(score)s) sells on prepayment only"),
                    band=customer.band,
                    score=number(customer.score or 0),
                )
            )
        events = recent_legal_events(customer, context)
        found += [legal_event_message(b, e) for b, e in events if e.kind in SEVERE_LEGAL]
        if not found:
            return []
        return _flag(
            customer,
            FlagCode.PREPAYMENT_REQUIRED.value,
            Message(N_("ask for payment before delivering: %(reasons)s"), reasons=Join(tuple(found))),
        )


class ScoreDropPolicy(FlagPolicy):
    """``SCORE_DROP``: the score fell ``score_drop_points`` or more below its best within the window."""

    name = "score-drop"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        settings = context.settings
        since = context.as_of - dt.timedelta(days=settings.score_drop_window_days)
        earlier = [h for h in customer.history if since <= h.as_of < context.as_of]
        if customer.score is None or not earlier:
            return []
        best = max(earlier, key=lambda h: (h.score, h.as_of))
        drop = round(best.score - customer.score, 2)
        if drop < settings.score_drop_points:
            return []
        return _flag(
            customer,
            FlagCode.SCORE_DROP.value,
            Message(
                N_(
                    "the score fell %(drop)s points, from %(best)s (band %(best_band)s) on %(best_day)s to "
                    "%(score)s (band %(band)s) on %(day)s; a fall of %(points)s within %(window)s is a warning"
                ),
                drop=f"{drop:g}",
                best=f"{best.score:g}",
                best_band=best.band,
                best_day=Day(best.as_of),
                score=f"{customer.score:g}",
                band=str(customer.band),
                day=Day(context.as_of),
                points=number(settings.score_drop_points),
                window=Days(settings.score_drop_window_days),
            ),
        )


class FirstLatePaymentPolicy(FlagPolicy):
    """``FIRST_LATE_PAYMENT``: a customer that always paid on time paid late on its newest payment day.

    The payments of the newest payment day are checked (one receipt often pays several invoices);
    the flag needs at least ``clean_history_payments`` payments on earlier days and none of them
    late. It clears with the next payment day, on time or not (a second late one is a pattern).
    """

    name = "first-late-payment"

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        payments = customer.payments
        if not payments:
            return []
        grace = context.settings.late_grace_days
        newest_day = max(p.paid_date for p in payments)
        late = [p for p in payments if p.paid_date == newest_day and p.days_late > grace]
        before = [p for p in payments if p.paid_date < newest_day]
        if not late or len(before) < context.settings.clean_history_payments:
            return []
        if any(p.days_late > grace for p in before):
            return []
        which = Join(
            tuple(
                Message(
                    N_("%(invoice)s (%(amount)s, %(days)s late)"),
                    invoice=p.invoice_number,
                    amount=Amount(p.amount, p.currency),
                    days=Days(p.days_late),
                )
                for p in late
            ),
            ", ",
        )
        first = (
            Message(N_("the first payment more than %(grace)s late"), grace=Days(grace))
            if grace
            else Message(N_("the first late payment"))
        )
        return _flag(
            customer,
            FlagCode.FIRST_LATE_PAYMENT.value,
            Message(
                N_("paid invoice %(invoices)s on %(day)s, %(first)s after %(count)s on time")
                if len(late) == 1
                else N_("paid invoices %(invoices)s on %(day)s, %(first)s after %(count)s on time"),
                invoices=which,
                day=Day(newest_day),
                first=first,
                count=len(before),
            ),
        )


class PaymentPatternChangePolicy(FlagPolicy):
    """``PAYMENT_PATTERN_CHANGE``: the newer half of the payment window is much later than the older half.

    The last ``payments_window`` payments are split into two halves of equal size (with an odd count
    the oldest payment is left out); each half needs at least ``min_half`` payments.
    """

    name = "payment-pattern-change"
    min_half = 4

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        window = customer.payments[: context.settings.payments_window]
        half = len(window) // 2
        if half < self.min_half:
            return []
        newer, older = window[:half], window[half : 2 * half]
        total_change = sum(p.days_late for p in newer) - sum(p.days_late for p in older)
        threshold = context.settings.pattern_change_days
        if total_change < threshold * half:
            return []
        return _flag(
            customer,
            FlagCode.PAYMENT_PATTERN_CHANGE.value,
            Message(
                N_(
                    "paid its last %(count)s invoices %(newer)s on average against %(older)s for the %(count)s "
                    "before, %(change)s later (a change of %(threshold)s is a warning)"
                ),
                count=half,
                newer=lateness_message(_mean(newer)),
                older=lateness_message(_mean(older)),
                change=Days(total_change / half),
                threshold=Days(threshold),
            ),
        )


@hookimpl
def hub_register_risk_signals() -> list[RiskSignal]:
    return [
        PaymentBehaviourSignal(),
        AgeingSignal(),
        UtilisationSignal(),
        BrokenPromisesSignal(),
        BureauSignal(),
        LegalEventsSignal(),
        ConcentrationSignal(),
    ]


@hookimpl
def hub_register_flag_policies() -> list[FlagPolicy]:
    return [
        OverduePolicy(),
        OverLimitPolicy(),
        BureauDowngradePolicy(),
        LegalEventPolicy(),
        BrokenPromisePolicy(),
        CreditHoldPolicy(),
        PrepaymentPolicy(),
        ScoreDropPolicy(),
        FirstLatePaymentPolicy(),
        PaymentPatternChangePolicy(),
    ]
