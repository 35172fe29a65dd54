"""The built-in risk signals and flag policies (``plugins/risk_rules.py``) on hand-built customers.

Each signal's severity is pinned at its boundaries, each flag at the point where it starts to hold,
and every reason that a credit controller reads is checked word for word at least once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from hub_plugins import risk_rules as rr

from hub.config import RiskConfig, ScorecardConfig
from hub.model import Exposure, FlagCode, LegalEvent, LegalEventKind
from hub.plugins import load_plugins
from hub.risk import (
    BureauView,
    CustomerRisk,
    FlagPolicy,
    PastAssessment,
    Payment,
    PromiseView,
    RiskContext,
    RiskSignal,
    score_customer,
)

AS_OF = dt.date(2026, 6, 30)


def days_before(n: int) -> dt.date:
    return AS_OF - dt.timedelta(days=n)


def exposure(
    open_amount: str = "0.00",
    overdue: str = "0.00",
    *,
    dpd: int = 0,
    limit: str | None = None,
    orders: str = "0.00",
    open_base: str | None = None,
) -> Exposure:
    open_, late = Decimal(open_amount), Decimal(overdue)
    return Exposure(
        customer_id="C1",
        as_of=AS_OF,
        currency="EUR",
        open_amount=open_,
        overdue_amount=late,
        buckets={"not_due": open_ - late, "d1_30": late},
        open_orders=Decimal(orders),
        credit_limit=None if limit is None else Decimal(limit),
        max_days_past_due=dpd,
        open_base=open_ if open_base is None else Decimal(open_base),
        base_currency="EUR",
    )


def customer(exp: Exposure | None = None, **kwargs: Any) -> CustomerRisk:
    return CustomerRisk(exposure=exp or exposure(), **kwargs)


def context(portfolio_open: str = "0.00", **settings: Any) -> RiskContext:
    return RiskContext(
        as_of=AS_OF, settings=RiskConfig(**settings), base_currency="EUR", portfolio_open=Decimal(portfolio_open)
    )


def payments(*days_late: int) -> list[Payment]:
    """Payments newest first, one a day back from ``AS_OF``; the newest is the highest invoice number."""
    out = []
    for i, late in enumerate(days_late):
        paid = days_before(i)
        out.append(Payment(f"INV-{len(days_late) - i}", paid - dt.timedelta(days=late), paid, Decimal("100.00"), "EUR"))
    return out


def promise(promised: dt.date, status: str = "broken", amount: str = "1000.00", received: str = "0.00") -> PromiseView:
    return PromiseView(
        made_on=promised - dt.timedelta(days=7),
        promised_date=promised,
        amount=Decimal(amount),
        currency="EUR",
        status=status,
        received=Decimal(received),
    )


def bureau(
    score: float | None,
    previous: float | None = None,
    *,
    name: str = "creditsafe",
    band: str | None = None,
    previous_band: str | None = None,
    on: dt.date = dt.date(2026, 6, 1),
    events: Sequence[LegalEvent] = (),
) -> BureauView:
    return BureauView(
        bureau=name,
        report_date=on,
        score=score,
        band=band,
        previous_score=previous,
        previous_band=previous_band,
        previous_date=dt.date(2026, 3, 1) if previous is not None or previous_band is not None else None,
        legal_events=tuple(events),
    )


def legal(kind: LegalEventKind, on: dt.date | None, description: str = "") -> LegalEvent:
    return LegalEvent(kind=kind, date=on, description=description)


def severity(signal: RiskSignal, risk: CustomerRisk, ctx: RiskContext | None = None) -> float | None:
    result = signal.evaluate(risk, ctx or context())
    if result is None:
        return None
    assert result.signal == signal.name
    return result.severity


def reason_of(signal: RiskSignal, risk: CustomerRisk, ctx: RiskContext | None = None) -> str:
    result = signal.evaluate(risk, ctx or context())
    assert result is not None
    return result.reason


def codes(policy: FlagPolicy, risk: CustomerRisk, ctx: RiskContext | None = None) -> list[str]:
    flags = policy.evaluate(risk, ctx or context())
    assert all(f.customer_id == "C1" for f in flags)
    return [f.code for f in flags]


def flag_reason(policy: FlagPolicy, risk: CustomerRisk, ctx: RiskContext | None = None) -> str:
    (flag,) = policy.evaluate(risk, ctx or context())
    return flag.reason


# -- the plugin as a whole ------------------------------------------------------------------------------


def test_every_signal_is_named_after_a_scorecard_weight_and_defaults_to_that_weight() -> None:
    weights = ScorecardConfig().weights
    signals = rr.hub_register_risk_signals()
    assert {s.name: s.default_weight for s in signals} == weights


def test_the_plugin_registers_its_signals_and_policies_through_the_plugin_manager() -> None:
    host = load_plugins(allow=[], extra=[("risk-rules", rr)])
    assert [s.name for s in host.risk_signals()] == [
        "payment-behaviour",
        "ageing",
        "utilisation",
        "broken-promises",
        "bureau",
        "legal-events",
        "concentration",
    ]
    names = [p.name for p in host.flag_policies()]
    assert len(names) == len(set(names)) == 10


def _all_bad() -> list[tuple[CustomerRisk, RiskContext]]:
    """Customers that between them should raise every flag the hub knows."""
    severe = (
        legal(LegalEventKind.INSOLVENCY, days_before(10)),
        legal(LegalEventKind.LAWSUIT, days_before(20)),
    )
    worst = customer(
        exposure("13000.00", "13000.00", dpd=120, limit="10000.00"),
        bureaus=[bureau(30.0, 70.0, band="E", previous_band="B", events=severe)],
        promises=[promise(days_before(5))],
        history=[PastAssessment(days_before(1), 80.0, "A")],
        score=10.0,
        band="E",
        # 6 payments all 30 days late on the newest day, after 6 on time: first late and a pattern change
        payments=[
            *(Payment(f"N{i}", days_before(30), AS_OF, Decimal("10.00"), "EUR") for i in range(6)),
            *payments(0, 0, 0, 0, 0, 0, 0)[1:],
        ],
    )
    return [
        (worst, context()),
        (customer(exposure("100.00", "100.00", dpd=31)), context()),
        (customer(exposure("100.00", "100.00", dpd=61)), context()),
    ]


def test_every_flag_code_is_raised_by_some_policy() -> None:
    policies = rr.hub_register_flag_policies()
    raised = {flag.code for risk, ctx in _all_bad() for policy in policies for flag in policy.evaluate(risk, ctx)}
    assert raised == {code.value for code in FlagCode}


def test_a_customer_with_nothing_against_it_gets_no_signal_and_no_flag() -> None:
    clean = customer(
        exposure("5000.00", limit="10000.00", open_base="5000.00"),
        payments=payments(*[0] * 24),
        bureaus=[bureau(100.0, 100.0, band="A", previous_band="A")],
        promises=[promise(days_before(5), status="kept")],
        history=[PastAssessment(days_before(1), 100.0, "A")],
        score=100.0,
        band="A",
    )
    ctx = context(portfolio_open="100000.00")
    assert [s.evaluate(clean, ctx) for s in rr.hub_register_risk_signals()] == [None] * 7
    assert [f for p in rr.hub_register_flag_policies() for f in p.evaluate(clean, ctx)] == []


def test_scorecard_takes_each_severity_times_its_weight_off_100() -> None:
    risk = customer(exposure("1150.00", "1150.00", dpd=90, limit="1000.00"))
    settings = RiskConfig()
    score_customer(
        risk, rr.hub_register_risk_signals(), context(), settings.scorecard.weights, settings.scorecard.bands
    )
    # ageing 1.0 x 30, utilisation 0.5 x 15
    assert [(s.signal, s.points) for s in risk.signals] == [("ageing", 30.0), ("utilisation", 7.5)]
    assert (risk.score, risk.band) == (62.5, "B")


# -- payment-behaviour ---------------------------------------------------------------------------------


def test_payment_behaviour_is_silent_without_payments_or_when_paid_within_the_grace() -> None:
    signal = rr.PaymentBehaviourSignal()
    assert severity(signal, customer()) is None
    assert severity(signal, customer(payments=payments(*[0] * 12))) is None
    assert severity(signal, customer(payments=payments(*[-5] * 12))) is None
    assert severity(signal, customer(payments=payments(*[5] * 12)), context(late_grace_days=5)) is None


@pytest.mark.parametrize(
    ("late", "grace", "expected"),
    [(1, 0, 1 / 60), (30, 0, 0.5), (59, 0, 59 / 60), (60, 0, 1.0), (90, 0, 1.0), (6, 5, 1 / 55), (35, 10, 0.5)],
)
def test_payment_behaviour_grows_from_the_grace_to_one_at_60_days_late(late: int, grace: int, expected: float) -> None:
    risk = customer(payments=payments(*[late] * 12))
    assert severity(rr.PaymentBehaviourSignal(), risk, context(late_grace_days=grace)) == pytest.approx(expected)


def test_payment_behaviour_averages_only_the_window_of_the_last_payments() -> None:
    risk = customer(payments=payments(*[30] * 4))
    assert severity(rr.PaymentBehaviourSignal(), risk, context(payments_window=4)) == pytest.approx(0.5)
    # the 4 before the window: no worsening against 30 days late
    risk = customer(payments=payments(*[30] * 4, *[30] * 4, *[90] * 4))
    assert severity(rr.PaymentBehaviourSignal(), risk, context(payments_window=4)) == pytest.approx(0.5)


def test_payment_behaviour_adds_the_worsening_against_the_window_before() -> None:
    risk = customer(payments=payments(*[23] * 12, *[14] * 12))
    result = rr.PaymentBehaviourSignal().evaluate(risk, context())
    assert result is not None
    assert result.severity == pytest.approx((23 + 9) / 60)
    assert result.reason == "paid its last 12 invoices 23 days late on average, 9 days later than the 12 before"


def test_payment_behaviour_counts_the_worsening_only_beyond_the_grace() -> None:
    # from 20 days early to on time: later, but never late
    assert severity(rr.PaymentBehaviourSignal(), customer(payments=payments(*[0] * 12, *[-20] * 12))) is None
    # from 10 days early to 10 days late: only the 10 days late count, once for lateness and once as worsening
    risk = customer(payments=payments(*[10] * 12, *[-10] * 12))
    assert severity(rr.PaymentBehaviourSignal(), risk) == pytest.approx(20 / 60)


def test_payment_behaviour_improvement_adds_nothing_and_says_so() -> None:
    risk = customer(payments=payments(*[20] * 12, *[30] * 12))
    assert severity(rr.PaymentBehaviourSignal(), risk) == pytest.approx(20 / 60)
    assert reason_of(rr.PaymentBehaviourSignal(), risk) == (
        "paid its last 12 invoices 20 days late on average, 10 days earlier than the 12 before"
    )


def test_payment_behaviour_needs_four_earlier_payments_for_a_trend() -> None:
    three = customer(payments=payments(*[30] * 12, 0, 0, 0))
    assert severity(rr.PaymentBehaviourSignal(), three) == pytest.approx(0.5)
    assert reason_of(rr.PaymentBehaviourSignal(), three) == "paid its last 12 invoices 30 days late on average"
    four = customer(payments=payments(*[30] * 12, 0, 0, 0, 0))
    assert severity(rr.PaymentBehaviourSignal(), four) == pytest.approx(1.0)
    assert reason_of(rr.PaymentBehaviourSignal(), four) == (
        "paid its last 12 invoices 30 days late on average, 30 days later than the 4 before"
    )


def test_payment_behaviour_reason_for_a_single_payment() -> None:
    risk = customer(payments=payments(15))
    assert reason_of(rr.PaymentBehaviourSignal(), risk) == "paid its last invoice 15 days late"


# -- ageing ----------------------------------------------------------------------------------------------


def test_ageing_is_silent_when_nothing_is_overdue() -> None:
    assert severity(rr.AgeingSignal(), customer(exposure("1000.00"))) is None
    assert severity(rr.AgeingSignal(), customer(exposure())) is None


@pytest.mark.parametrize(
    ("overdue", "dpd", "expected"),
    [
        ("500.00", 90, 1.0),  # half the balance, 90 days: as bad as it gets
        ("1000.00", 120, 1.0),
        ("500.00", 91, 1.0),
        ("500.00", 45, 0.5),
        ("250.00", 90, 0.5),
        ("250.00", 45, 0.25),
        ("1000.00", 1, 1 / 90),
        ("0.10", 90, 0.0002),
    ],
)
def test_ageing_is_the_share_overdue_times_the_age_of_the_oldest_invoice(
    overdue: str, dpd: int, expected: float
) -> None:
    risk = customer(exposure("1000.00", overdue, dpd=dpd))
    assert severity(rr.AgeingSignal(), risk) == pytest.approx(expected)


def test_ageing_reason_names_the_share_the_amounts_and_the_days() -> None:
    risk = customer(exposure("54000.00", "45900.00", dpd=97))
    assert reason_of(rr.AgeingSignal(), risk) == (
        "85% of the balance (45,900.00 EUR of 54,000.00 EUR) is overdue and the oldest invoice is 97 days past due"
    )


# -- utilisation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("open_amount", "orders", "expected"),
    [
        ("800.00", "0.00", None),
        ("500.00", "300.00", None),
        ("800.07", "0.00", 0.0001),
        ("1150.00", "0.00", 0.5),
        ("1000.00", "150.00", 0.5),
        ("1500.00", "0.00", 1.0),
        ("900.00", "1100.00", 1.0),
    ],
)
def test_utilisation_counts_orders_and_rises_from_80_to_150_percent(
    open_amount: str, orders: str, expected: float | None
) -> None:
    risk = customer(exposure(open_amount, limit="1000.00", orders=orders))
    got = severity(rr.UtilisationSignal(), risk)
    assert got == (None if expected is None else pytest.approx(expected))


def test_utilisation_needs_a_limit_and_treats_a_zero_limit_as_fully_used() -> None:
    assert severity(rr.UtilisationSignal(), customer(exposure("5000.00"))) is None
    assert severity(rr.UtilisationSignal(), customer(exposure("0.00", limit="0.00"))) is None
    zero = customer(exposure("0.01", limit="0.00"))
    assert severity(rr.UtilisationSignal(), zero) == 1.0
    assert reason_of(rr.UtilisationSignal(), zero) == "owes 0.01 EUR although its credit limit is 0.00 EUR"


def test_utilisation_reason_names_orders_ratio_and_limit() -> None:
    risk = customer(exposure("50000.00", limit="40000.00", orders="4000.00"))
    assert severity(rr.UtilisationSignal(), risk) == pytest.approx(0.55 / 0.7)
    assert reason_of(rr.UtilisationSignal(), risk) == (
        "owes 50,000.00 EUR plus 4,000.00 EUR in open orders, 135% of its 40,000.00 EUR credit limit"
    )


# -- broken-promises -------------------------------------------------------------------------------------


def test_broken_promises_one_is_0_6_and_two_are_1() -> None:
    signal = rr.BrokenPromisesSignal()
    assert severity(signal, customer()) is None
    assert severity(signal, customer(promises=[promise(days_before(3))])) == 0.6
    assert severity(signal, customer(promises=[promise(days_before(3)), promise(days_before(40))])) == 1.0
    three = [promise(days_before(3)), promise(days_before(40)), promise(days_before(60))]
    assert severity(signal, customer(promises=three)) == 1.0


def test_broken_promises_count_within_the_window_and_only_broken_ones() -> None:
    signal = rr.BrokenPromisesSignal()
    assert severity(signal, customer(promises=[promise(days_before(90))])) == 0.6
    assert severity(signal, customer(promises=[promise(days_before(91))])) is None
    assert severity(signal, customer(promises=[promise(days_before(91))]), context(broken_promise_days=91)) == 0.6
    kept_and_open = [promise(days_before(3), status="kept"), promise(days_before(1), status="open")]
    assert severity(signal, customer(promises=kept_and_open)) is None


def test_broken_promises_reason_lists_amounts_dates_and_what_came() -> None:
    risk = customer(promises=[promise(days_before(90), received="200.00"), promise(days_before(10), amount="500.00")])
    assert reason_of(rr.BrokenPromisesSignal(), risk) == (
        "broke 2 promises to pay in the last 90 days: 500.00 EUR by 2026-06-20 (nothing received), "
        "1,000.00 EUR by 2026-04-01 (200.00 EUR received)"
    )


# -- bureau -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "previous", "expected"),
    [
        (100.0, None, None),
        (100.0, 100.0, None),
        (70.0, None, 0.3),
        (0.0, None, 1.0),
        (60.0, 80.0, 0.6),  # 0.4 for the score, 0.2 for the fall
        (80.0, 70.0, 0.2),  # a rise adds nothing
        (10.0, 60.0, 1.0),
    ],
)
def test_bureau_severity_is_the_missing_score_plus_the_fall(
    score: float, previous: float | None, expected: float | None
) -> None:
    got = severity(rr.BureauSignal(), customer(bureaus=[bureau(score, previous)]))
    assert got == (None if expected is None else pytest.approx(expected))


def test_bureau_uses_the_newest_scored_report() -> None:
    risk = customer(
        bureaus=[
            bureau(90.0, name="creditsafe", on=dt.date(2026, 5, 1)),
            bureau(40.0, name="dnb", on=dt.date(2026, 6, 1)),
            bureau(None, name="experian", on=dt.date(2026, 6, 15)),
        ]
    )
    assert severity(rr.BureauSignal(), risk) == pytest.approx(0.6)
    assert reason_of(rr.BureauSignal(), risk) == "dnb scores it 40 of 100 on 2026-06-01"
    assert severity(rr.BureauSignal(), customer(bureaus=[bureau(None)])) is None


def test_bureau_reason_names_bureau_scores_and_dates() -> None:
    risk = customer(bureaus=[bureau(60.0, 80.0)])
    assert (
        reason_of(rr.BureauSignal(), risk) == "creditsafe scores it 60 of 100 on 2026-06-01, down from 80 on 2026-03-01"
    )
    risk = customer(bureaus=[bureau(72.5, 70.0)])
    assert (
        reason_of(rr.BureauSignal(), risk) == "creditsafe scores it 72.5 of 100 on 2026-06-01, up from 70 on 2026-03-01"
    )


# -- legal-events ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (LegalEventKind.INSOLVENCY, 1.0),
        (LegalEventKind.DISHONEST_DEBTOR, 1.0),
        (LegalEventKind.CONSUMPTION_RESTRICTION, 0.8),
        (LegalEventKind.ENFORCEMENT, 0.7),
        (LegalEventKind.LAWSUIT, 0.6),
        (LegalEventKind.ABNORMAL_OPERATION, 0.4),
        (LegalEventKind.OTHER, 0.3),
    ],
)
def test_legal_event_severity_by_kind(kind: LegalEventKind, expected: float) -> None:
    risk = customer(bureaus=[bureau(80.0, events=[legal(kind, days_before(30))])])
    assert severity(rr.LegalEventsSignal(), risk) == expected


def test_every_kind_of_legal_event_has_a_severity_and_words() -> None:
    for kind in LegalEventKind:
        risk = customer(bureaus=[bureau(80.0, events=[legal(kind, days_before(30))])])
        assert severity(rr.LegalEventsSignal(), risk) == rr.LEGAL_SEVERITY[kind]
        assert rr.describe_legal_event("tianyancha", legal(kind, days_before(30))).startswith("tianyancha reports a")


def test_legal_events_count_within_the_window_and_undated_ones_always() -> None:
    def sev(on: dt.date | None, **settings: Any) -> float | None:
        risk = customer(bureaus=[bureau(80.0, events=[legal(LegalEventKind.LAWSUIT, on)])])
        return severity(rr.LegalEventsSignal(), risk, context(**settings))

    assert sev(days_before(365)) == 0.6
    assert sev(days_before(366)) is None
    assert sev(days_before(366), legal_event_days=366) == 0.6
    assert sev(None) == 0.6
    assert sev(AS_OF + dt.timedelta(days=1)) is None  # not yet happened on the as-of date


def test_legal_events_take_the_worst_and_name_each_once() -> None:
    events = [legal(LegalEventKind.LAWSUIT, dt.date(2026, 2, 10)), legal(LegalEventKind.OTHER, None, "tax lien")]
    risk = customer(
        bureaus=[
            bureau(80.0, name="dnb", events=events),
            bureau(70.0, name="creditsafe", events=[legal(LegalEventKind.LAWSUIT, dt.date(2026, 2, 10))]),
        ]
    )
    result = rr.LegalEventsSignal().evaluate(risk, context())
    assert result is not None and result.severity == 0.6
    assert result.reason == "creditsafe reports a lawsuit on 2026-02-10; dnb reports a legal event (undated): tax lien"


# -- concentration -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mine", "expected"),
    [("100.00", None), ("100.02", 0.0001), ("200.00", 0.5), ("300.00", 1.0), ("800.00", 1.0)],
)
def test_concentration_rises_from_the_threshold_to_one_at_three_times_it(mine: str, expected: float | None) -> None:
    risk = customer(exposure(mine, open_base=mine))
    got = severity(rr.ConcentrationSignal(), risk, context(portfolio_open="1000.00"))
    assert got == (None if expected is None else pytest.approx(expected))


def test_concentration_uses_the_base_amount_and_the_configured_share() -> None:
    risk = customer(exposure("900.00", open_base="200.00"))  # 900 in its own currency, 200 in the base
    ctx = context(portfolio_open="1000.00", concentration_share=0.2)
    assert severity(rr.ConcentrationSignal(), risk, ctx) is None
    ctx = context(portfolio_open="1000.00", concentration_share=0.05)
    assert severity(rr.ConcentrationSignal(), risk, ctx) == 1.0
    assert severity(rr.ConcentrationSignal(), risk, context()) is None  # an empty portfolio


def test_concentration_reason_names_the_share_and_the_portfolio() -> None:
    risk = customer(exposure("200000.00", open_base="200000.00"))
    assert reason_of(rr.ConcentrationSignal(), risk, context(portfolio_open="1000000.00")) == (
        "owes 200,000.00 EUR, 20% of all open receivables (1,000,000.00 EUR); more than 10% is a concentration"
    )


# -- OVERDUE_30/60/90 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dpd", "expected"),
    [
        (0, []),
        (30, []),
        (31, ["OVERDUE_30"]),
        (60, ["OVERDUE_30"]),
        (61, ["OVERDUE_60"]),
        (90, ["OVERDUE_60"]),
        (91, ["OVERDUE_90"]),
        (400, ["OVERDUE_90"]),
    ],
)
def test_overdue_raises_only_the_highest_threshold_passed(dpd: int, expected: list[str]) -> None:
    assert codes(rr.OverduePolicy(), customer(exposure("100.00", "100.00", dpd=dpd))) == expected


def test_overdue_thresholds_come_from_the_config_and_the_reason_has_the_figures() -> None:
    risk = customer(exposure("5000.00", "1234.50", dpd=46))
    assert codes(rr.OverduePolicy(), risk, context(overdue_days=[45])) == ["OVERDUE_45"]
    assert flag_reason(rr.OverduePolicy(), risk) == (
        "the oldest unpaid invoice is 46 days past due (more than 30); 1,234.50 EUR overdue in all"
    )


# -- OVER_LIMIT -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("open_amount", "orders", "limit", "raised"),
    [
        ("10000.00", "0.00", "10000.00", False),
        ("10000.01", "0.00", "10000.00", True),
        ("9000.00", "1000.00", "10000.00", False),
        ("9000.00", "1000.01", "10000.00", True),
        ("99999.00", "0.00", None, False),
        ("0.00", "0.00", "0.00", False),
        ("0.01", "0.00", "0.00", True),
    ],
)
def test_over_limit_is_open_plus_orders_above_the_limit(
    open_amount: str, orders: str, limit: str | None, raised: bool
) -> None:
    risk = customer(exposure(open_amount, limit=limit, orders=orders))
    assert codes(rr.OverLimitPolicy(), risk) == (["OVER_LIMIT"] if raised else [])


def test_over_limit_reason_names_what_is_owed_and_by_how_much() -> None:
    assert flag_reason(rr.OverLimitPolicy(), customer(exposure("10000.01", limit="10000.00"))) == (
        "owes 10,000.01 EUR, 0.01 EUR over its 10,000.00 EUR credit limit"
    )
    assert flag_reason(rr.OverLimitPolicy(), customer(exposure("50000.00", limit="40000.00", orders="4000.00"))) == (
        "owes 50,000.00 EUR plus 4,000.00 EUR in open orders, 54,000.00 EUR in all, "
        "14,000.00 EUR over its 40,000.00 EUR credit limit"
    )


# -- BUREAU_DOWNGRADE -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "raised"),
    [
        (bureau(60.01, 70.0), False),  # 9.99 points
        (bureau(60.0, 70.0), True),  # 10 points
        (bureau(80.0, 70.0), False),
        (bureau(None, 70.0), False),
        (bureau(70.0, None), False),
        (bureau(65.0, 70.0, band="C", previous_band="B"), True),
        (bureau(75.0, 70.0, band="B", previous_band="C"), False),
        (bureau(69.0, 70.0, band="B-", previous_band="B"), True),
        (bureau(69.0, 70.0, band="B", previous_band="B+"), True),
        (bureau(69.0, 70.0, band="b", previous_band="B"), False),
        (bureau(69.0, 70.0, band="d", previous_band="c"), True),
        (bureau(67.0, 70.0, band="3", previous_band="2"), True),  # the score fell with it: worse
        (bureau(72.0, 70.0, band="3", previous_band="2"), False),  # the score rose: this bureau counts up
        (bureau(67.0, 70.0, band="1", previous_band="2"), True),
        (bureau(None, None, band="3", previous_band="2"), False),  # no way to tell
        (bureau(67.0, 70.0, band="High risk", previous_band="Moderate risk"), True),
        (bureau(67.0, 70.0, band="C", previous_band=None), False),
    ],
)
def test_bureau_downgrade_on_a_score_fall_or_a_worse_band(view: BureauView, raised: bool) -> None:
    assert codes(rr.BureauDowngradePolicy(), customer(bureaus=[view])) == (["BUREAU_DOWNGRADE"] if raised else [])


def test_bureau_downgrade_points_come_from_the_config() -> None:
    risk = customer(bureaus=[bureau(65.0, 70.0)])
    assert codes(rr.BureauDowngradePolicy(), risk) == []
    assert codes(rr.BureauDowngradePolicy(), risk, context(bureau_downgrade_points=5)) == ["BUREAU_DOWNGRADE"]


def test_bureau_downgrade_reason_names_each_bureau_that_downgraded() -> None:
    risk = customer(
        bureaus=[
            bureau(60.0, 70.0, band="C", previous_band="B"),
            bureau(55.0, 60.0, name="dnb"),  # 5 points: not a downgrade
            bureau(40.0, 50.0, name="atradius", on=dt.date(2026, 6, 10)),
        ]
    )
    assert flag_reason(rr.BureauDowngradePolicy(), risk) == (
        "atradius's report of 2026-06-10 lowers its score from 50 to 40 (10 points down; 10 or more is a downgrade), "
        "against its report of 2026-03-01; "
        "creditsafe's report of 2026-06-01 lowers its score from 70 to 60 (10 points down; 10 or more is a downgrade) "
        "and its band from B to C, against its report of 2026-03-01"
    )


# -- LEGAL_EVENT and BROKEN_PROMISE -------------------------------------------------------------------------


def test_legal_event_flag_within_the_window_with_each_event_named() -> None:
    def risk(on: dt.date | None) -> CustomerRisk:
        event = legal(LegalEventKind.DISHONEST_DEBTOR, on, "listed by the court of Shenzhen")
        return customer(bureaus=[bureau(50.0, name="tianyancha", events=[event])])

    assert codes(rr.LegalEventPolicy(), risk(days_before(365))) == ["LEGAL_EVENT"]
    assert codes(rr.LegalEventPolicy(), risk(days_before(366))) == []
    assert codes(rr.LegalEventPolicy(), risk(None)) == ["LEGAL_EVENT"]
    assert codes(rr.LegalEventPolicy(), customer()) == []
    assert flag_reason(rr.LegalEventPolicy(), risk(dt.date(2026, 5, 2))) == (
        "tianyancha reports a dishonest-debtor listing on 2026-05-02: listed by the court of Shenzhen"
    )


def test_broken_promise_flag_within_the_window() -> None:
    assert codes(rr.BrokenPromisePolicy(), customer(promises=[promise(days_before(90))])) == ["BROKEN_PROMISE"]
    assert codes(rr.BrokenPromisePolicy(), customer(promises=[promise(days_before(91))])) == []
    assert codes(rr.BrokenPromisePolicy(), customer(promises=[promise(days_before(1), status="open")])) == []
    assert flag_reason(rr.BrokenPromisePolicy(), customer(promises=[promise(days_before(9))])) == (
        "broke a promise to pay in the last 90 days: 1,000.00 EUR by 2026-06-21 (nothing received)"
    )


# -- CREDIT_HOLD ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "raised"),
    [
        (customer(band="E", score=19.99), True),
        (customer(band="D", score=20.0), False),
        (customer(exposure("12000.00", limit="10000.00")), False),  # exactly 1.2 times the limit
        (customer(exposure("12000.01", limit="10000.00")), True),
        (customer(exposure("11000.00", limit="10000.00", orders="1000.01")), True),
        (customer(exposure("99999.00")), False),
        (customer(exposure("100.00", "100.00", dpd=90)), False),
        (customer(exposure("100.00", "100.00", dpd=91)), True),
    ],
)
def test_credit_hold_on_a_hold_band_far_over_the_limit_or_very_late(risk: CustomerRisk, raised: bool) -> None:
    assert codes(rr.CreditHoldPolicy(), risk) == (["CREDIT_HOLD"] if raised else [])


def test_credit_hold_settings_come_from_the_config() -> None:
    ctx = context(credit_hold_bands=["D", "E"], credit_hold_over_limit=1.5, credit_hold_overdue_days=120)
    assert codes(rr.CreditHoldPolicy(), customer(band="D", score=30.0), ctx) == ["CREDIT_HOLD"]
    assert codes(rr.CreditHoldPolicy(), customer(exposure("15000.00", limit="10000.00")), ctx) == []
    assert codes(rr.CreditHoldPolicy(), customer(exposure("15000.01", limit="10000.00")), ctx) == ["CREDIT_HOLD"]
    assert codes(rr.CreditHoldPolicy(), customer(exposure("100.00", "100.00", dpd=120)), ctx) == []


def test_credit_hold_reason_says_which_and_recommends_stopping_deliveries() -> None:
    risk = customer(exposure("13000.00", "13000.00", dpd=120, limit="10000.00"), band="E", score=12.5)
    assert flag_reason(rr.CreditHoldPolicy(), risk) == (
        "recommend stopping deliveries: risk band E (score 12.5) is a hold band; "
        "owes 13,000.00 EUR, more than 1.2 times its 10,000.00 EUR credit limit; "
        "the oldest unpaid invoice is 120 days past due (hold after 90 days)"
    )
    assert flag_reason(rr.CreditHoldPolicy(), customer(exposure("100.00", "100.00", dpd=91))) == (
        "recommend stopping deliveries: the oldest unpaid invoice is 91 days past due (hold after 90 days)"
    )


# -- PREPAYMENT_REQUIRED ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("band", "event", "raised"),
    [
        ("D", None, True),
        ("E", None, True),
        ("C", None, False),
        (None, None, False),
        ("A", legal(LegalEventKind.INSOLVENCY, days_before(10)), True),
        ("A", legal(LegalEventKind.DISHONEST_DEBTOR, None), True),
        ("A", legal(LegalEventKind.LAWSUIT, days_before(10)), False),
        ("A", legal(LegalEventKind.OTHER, days_before(10)), False),
        ("A", legal(LegalEventKind.INSOLVENCY, days_before(366)), False),
    ],
)
def test_prepayment_on_a_prepayment_band_or_insolvency(
    band: str | None, event: LegalEvent | None, raised: bool
) -> None:
    risk = customer(band=band, score=50.0, bureaus=[bureau(80.0, events=[event] if event else [])])
    assert codes(rr.PrepaymentPolicy(), risk) == (["PREPAYMENT_REQUIRED"] if raised else [])


def test_prepayment_reason_names_band_and_event() -> None:
    risk = customer(
        band="D",
        score=30.0,
        bureaus=[bureau(20.0, events=[legal(LegalEventKind.INSOLVENCY, dt.date(2026, 6, 2), "proceedings opened")])],
    )
    assert flag_reason(rr.PrepaymentPolicy(), risk) == (
        "ask for payment before delivering: risk band D (score 30) sells on prepayment only; "
        "creditsafe reports an insolvency on 2026-06-02: proceedings opened"
    )


# -- SCORE_DROP ---------------------------------------------------------------------------------------------------


def _history(*scores: tuple[int, float, str]) -> list[PastAssessment]:
    return [PastAssessment(days_before(n), score, band) for n, score, band in scores]


@pytest.mark.parametrize(("now", "raised"), [(65.1, False), (65.0, True), (64.0, True), (85.0, False)])
def test_score_drop_against_the_best_earlier_score(now: float, raised: bool) -> None:
    risk = customer(history=_history((1, 70.0, "B"), (30, 80.0, "A"), (60, 75.0, "B")), score=now, band="B")
    assert codes(rr.ScoreDropPolicy(), risk) == (["SCORE_DROP"] if raised else [])


def test_score_drop_looks_only_within_the_window() -> None:
    def risk(days_back: int) -> CustomerRisk:
        return customer(history=_history((days_back, 90.0, "A"), (1, 70.0, "B")), score=70.0, band="B")

    assert codes(rr.ScoreDropPolicy(), risk(90)) == ["SCORE_DROP"]
    assert codes(rr.ScoreDropPolicy(), risk(91)) == []
    assert codes(rr.ScoreDropPolicy(), risk(91), context(score_drop_window_days=91)) == ["SCORE_DROP"]
    assert codes(rr.ScoreDropPolicy(), risk(10), context(score_drop_points=20.01)) == []
    assert codes(rr.ScoreDropPolicy(), customer(score=10.0, band="E")) == []
    assert codes(rr.ScoreDropPolicy(), customer(history=_history((1, 90.0, "A")))) == []  # not scored


def test_score_drop_reason_names_both_scores_and_dates() -> None:
    risk = customer(history=_history((1, 70.0, "B"), (30, 80.0, "A")), score=62.5, band="B")
    assert flag_reason(rr.ScoreDropPolicy(), risk) == (
        "the score fell 17.5 points, from 80 (band A) on 2026-05-31 to 62.5 (band B) on 2026-06-30; "
        "a fall of 15 within 90 days is a warning"
    )


# -- FIRST_LATE_PAYMENT ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("late", "raised"),
    [
        ((12, 0, 0, 0, 0, 0, 0), True),
        ((12, 0, 0, 0, 0, 0), False),  # 5 on time before: not enough history
        ((12, 0, -3, 0, 0, 0, 0, 0, 0), True),  # early counts as on time
        ((12, 0, 0, 0, 0, 0, 0, 1), False),  # an earlier payment was late
        ((0, 12, 0, 0, 0, 0, 0, 0), False),  # the newest is on time
        ((1, 0, 0, 0, 0, 0, 0), True),
        ((0, 0, 0, 0, 0, 0, 0), False),
        ((), False),
    ],
)
def test_first_late_payment_after_a_clean_history(late: tuple[int, ...], raised: bool) -> None:
    assert codes(rr.FirstLatePaymentPolicy(), customer(payments=payments(*late))) == (
        ["FIRST_LATE_PAYMENT"] if raised else []
    )


def test_first_late_payment_respects_the_grace_and_the_history_length() -> None:
    policy = rr.FirstLatePaymentPolicy()
    ctx = context(late_grace_days=3)
    assert codes(policy, customer(payments=payments(3, 3, 3, 3, 3, 3, 3)), ctx) == []
    assert codes(policy, customer(payments=payments(4, 3, 3, 3, 3, 3, 3)), ctx) == ["FIRST_LATE_PAYMENT"]
    assert codes(policy, customer(payments=payments(4, 0, 0)), context(clean_history_payments=2)) == [
        "FIRST_LATE_PAYMENT"
    ]


def test_first_late_payment_looks_at_every_payment_of_the_newest_day() -> None:
    same_day = [
        Payment("INV-9", AS_OF, AS_OF, Decimal("300.00"), "EUR"),
        Payment("INV-8", days_before(12), AS_OF, Decimal("1200.00"), "EUR"),
        *payments(0, 0, 0, 0, 0, 0, 0)[1:],
    ]
    assert codes(rr.FirstLatePaymentPolicy(), customer(payments=same_day)) == ["FIRST_LATE_PAYMENT"]
    assert flag_reason(rr.FirstLatePaymentPolicy(), customer(payments=same_day)) == (
        "paid invoice INV-8 (1,200.00 EUR, 12 days late) on 2026-06-30, the first late payment after 6 on time"
    )
    ctx = context(late_grace_days=1, clean_history_payments=3)
    assert flag_reason(rr.FirstLatePaymentPolicy(), customer(payments=payments(5, 1, 0, 0)), ctx) == (
        "paid invoice INV-4 (100.00 EUR, 5 days late) on 2026-06-30, the first payment more than 1 day late "
        "after 3 on time"
    )


# -- PAYMENT_PATTERN_CHANGE ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("late", "raised"),
    [
        ((20, 20, 20, 20, 5, 5, 5, 5), True),  # 15 days later
        ((20, 20, 20, 19, 5, 5, 5, 5), False),  # 14.75
        ((10, 10, 10, 10, -5, -5, -5, -5), True),  # from early to late
        ((50, 50, 50, 5, 5, 5, 5), False),  # 3 in a half: too few
        ((30, 30, 30, 30, 30, 30, 0, 0, 0, 0, 0, 0, 99, 99), True),  # beyond the window of 12: not looked at
        ((5, 5, 5, 5, 20, 20, 20, 20), False),  # earlier, not later
    ],
)
def test_payment_pattern_change_compares_the_halves_of_the_window(late: tuple[int, ...], raised: bool) -> None:
    assert codes(rr.PaymentPatternChangePolicy(), customer(payments=payments(*late))) == (
        ["PAYMENT_PATTERN_CHANGE"] if raised else []
    )


def test_payment_pattern_change_leaves_out_the_oldest_of_an_odd_window() -> None:
    risk = customer(payments=payments(20, 20, 20, 20, 5, 5, 5, 5, 100))
    assert codes(rr.PaymentPatternChangePolicy(), risk, context(payments_window=9)) == ["PAYMENT_PATTERN_CHANGE"]
    assert codes(rr.PaymentPatternChangePolicy(), risk, context(pattern_change_days=15.01)) == []


def test_payment_pattern_change_reason_has_both_averages() -> None:
    risk = customer(payments=payments(*[30] * 6, *[2, 3, 0, -1, 2, 0]))
    assert flag_reason(rr.PaymentPatternChangePolicy(), risk) == (
        "paid its last 6 invoices 30 days late on average against 1 day late for the 6 before, "
        "29 days later (a change of 15 days is a warning)"
    )


# -- the three flags whose reasons were English only: now messages any locale says -----------------------------


@pytest.mark.parametrize(
    ("policy", "risk"),
    [
        (rr.BureauDowngradePolicy(), lambda: customer(bureaus=[bureau(60.0, 70.0, band="C", previous_band="B")])),
        (rr.FirstLatePaymentPolicy(), lambda: customer(payments=payments(4, 0, 0, 0, 0, 0, 0))),
        (rr.PaymentPatternChangePolicy(), lambda: customer(payments=payments(20, 20, 20, 20, 5, 5, 5, 5))),
    ],
)
def test_downgrade_first_late_payment_and_pattern_change_reasons_are_messages_said_in_chinese(
    policy: FlagPolicy, risk: Any
) -> None:
    from hub.i18n import Message

    (flag,) = policy.evaluate(risk(), context())
    said = Message.from_json(flag.message)
    assert said is not None and said.english() == flag.reason
    chinese = said.render("zh_CN")
    assert re.search(r"[\u4e00-\u9fff]", chinese)
    # what is left in Latin letters is names and codes (a bureau, an invoice number), never a sentence
    assert not re.search(r"[A-Za-z]{3,} [a-z]{2,} [a-z]{2,}", chinese), chinese
