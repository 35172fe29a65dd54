"""The risk model's numbers a credit controller can trust: worse never looks better.

- More overdue, or more exposure over the limit, never improves a customer's score or band, all
  else equal (a property test over the built-in signals).
- A customer with nothing to rate (known only from a CRM) is unrated: no score, no band pushed.
- Flags about the limit count what guarantees secure, and say so.
- A limit is never raised by policy for a customer over its limit or with debts 90+ days overdue.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from hub_plugins import risk_rules as rr
from hypothesis import assume, given, settings, strategies as st

from hub.app import Hub
from hub.config import CreditConfig, RiskConfig, load_config
from hub.model import Exposure
from hub.risk import CustomerRisk, RiskContext, band_of, score_customer
from hub.risk.credit import _decision
from hub.store import schema

from .conftest import write_config

AS_OF = dt.date(2026, 6, 30)
SIGNALS = [
    rr.PaymentBehaviourSignal(),
    rr.AgeingSignal(),
    rr.UtilisationSignal(),
    rr.BrokenPromisesSignal(),
    rr.BureauSignal(),
    rr.LegalEventsSignal(),
    rr.ConcentrationSignal(),
]
BANDS = {"A": 80.0, "B": 60.0, "C": 40.0, "D": 20.0, "E": 0.0}
WEIGHTS = RiskConfig().scorecard.weights


def _exposure(not_due: Decimal, overdue: Decimal, dpd: int, limit: Decimal | None, secured: Decimal) -> Exposure:
    open_amount = not_due + overdue
    return Exposure(
        customer_id="C1",
        as_of=AS_OF,
        currency="EUR",
        open_amount=open_amount,
        overdue_amount=overdue,
        buckets={"not_due": not_due, "d1_30": overdue},
        credit_limit=limit,
        max_days_past_due=dpd if overdue else 0,
        secured_amount=secured,
        open_base=open_amount,
        base_currency="EUR",
    )


def _score(exp: Exposure, portfolio: Decimal) -> tuple[float, str]:
    customer = CustomerRisk(exposure=exp)
    context = RiskContext(as_of=AS_OF, settings=RiskConfig(), base_currency="EUR", portfolio_open=portfolio)
    score_customer(customer, SIGNALS, context, WEIGHTS, BANDS)
    assert customer.score is not None and customer.band is not None
    return customer.score, customer.band


amounts = st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(
    not_due=amounts,
    overdue=amounts,
    more=st.decimals(min_value="0.01", max_value=10_000_000, places=2),
    dpd=st.integers(1, 400),
    limit=st.one_of(st.none(), amounts),
    secured=amounts,
    others=st.decimals(min_value=0, max_value=100_000_000, places=2),
)
def test_more_overdue_or_more_exposure_over_the_limit_never_improves_the_score_or_band(
    not_due: Decimal,
    overdue: Decimal,
    more: Decimal,
    dpd: int,
    limit: Decimal | None,
    secured: Decimal,
    others: Decimal,
) -> None:
    assume(not_due + overdue > 0)  # something to rate
    before = _exposure(not_due, overdue, dpd, limit, secured)
    score, band = _score(before, others + before.open_amount)
    # more overdue (the rest unchanged)
    late = _exposure(not_due, overdue + more, dpd, limit, secured)
    late_score, late_band = _score(late, others + late.open_amount)
    assert late_score <= score and late_band >= band  # "A" < "B": a later letter is a worse band
    # more exposure not yet due, once over the limit (net of what is secured)
    if limit is not None and not_due + overdue - secured > limit:
        bigger = _exposure(not_due + more, overdue, dpd, limit, secured)
        big_score, big_band = _score(bigger, others + bigger.open_amount)
        assert big_score <= score and big_band >= band


def test_a_big_invoice_not_yet_due_far_over_the_limit_does_not_lift_the_band() -> None:
    # Found on a real Tryton book: an invoice at 4.7 times the limit diluted the overdue share, B -> A.
    # Already at 160% of its limit, half of it overdue; then an invoice of 4.7 times the limit, not due.
    limit = Decimal("10000.00")
    before = _exposure(Decimal("8000.00"), Decimal("8000.00"), 90, limit, Decimal(0))
    after = _exposure(Decimal("8000.00") + Decimal("4.7") * limit, Decimal("8000.00"), 90, limit, Decimal(0))
    (score, band), (later, later_band) = _score(before, Decimal(0)), _score(after, Decimal(0))
    assert (score, band) == (55.0, "C")
    assert (later, later_band) == (55.0, "C")  # was 77.4, band B: the overdue share diluted by debt not yet due


def test_a_customer_with_nothing_to_rate_is_unrated() -> None:
    customer = CustomerRisk(exposure=_exposure(Decimal(0), Decimal(0), 0, None, Decimal(0)))
    context = RiskContext(as_of=AS_OF, settings=RiskConfig(), base_currency="EUR", portfolio_open=Decimal(0))
    score_customer(customer, SIGNALS, context, WEIGHTS, BANDS)
    assert (customer.rated, customer.score, customer.band, customer.signals) == (False, None, None, [])
    assert band_of(100.0, BANDS) == "A"  # a rated customer with nothing against it is still an A


def test_crm_only_accounts_are_pushed_no_band(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "customers.csv").write_text(
        "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n"
        "C1,Alpha GmbH,,DE,EUR,10000.00,,\nC2,Beta GmbH,,DE,EUR,,,\n"
    )
    (tmp_path / "invoices.csv").write_text(
        "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
        "A1,C1,2026-05-01,2026-05-31,EUR,800.00,800.00,\n"
    )
    write_config(tmp_path, db_url, statements=None)
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    hub.sync()
    stats = hub.risk(AS_OF)
    hub.push()
    hub.close()
    assert stats.band_counts == {"A": 1, "unrated": 1} or stats.band_counts.get("unrated") == 1
    events = [json.loads(line) for line in (tmp_path / "out" / "flags.jsonl").read_text().splitlines()]
    assert {e["customer_id"] for e in events if e["kind"] == "band"} == {"C1"}
    store = hub.store
    with store.connect() as conn:
        row = conn.execute(
            sa.select(schema.exposure.c.score, schema.exposure.c.band).where(schema.exposure.c.customer_id == "C2")
        ).one()
        history = conn.execute(sa.select(schema.risk_assessment.c.customer_id)).scalars().all()
    assert (row.score, row.band) == (None, None)
    assert history == ["C1"]


def _customer(
    open_amount: str, *, limit: str, secured: str = "0.00", orders: str = "0.00", dpd: int = 0
) -> CustomerRisk:
    exp = _exposure(Decimal(open_amount), Decimal(0), dpd, Decimal(limit), Decimal(secured))
    exp = exp.model_copy(update={"open_orders": Decimal(orders), "max_days_past_due": dpd})
    return CustomerRisk(exposure=exp, band="B", score=70.0)


def _context() -> RiskContext:
    return RiskContext(as_of=AS_OF, settings=RiskConfig(), base_currency="EUR", portfolio_open=Decimal(0))


def test_a_customer_a_guarantee_covers_is_not_over_its_limit_nor_on_hold() -> None:
    covered = _customer("30000.00", limit="10000.00", secured="25000.00")
    assert rr.OverLimitPolicy().evaluate(covered, _context()) == []
    assert rr.CreditHoldPolicy().evaluate(covered, _context()) == []
    assert rr.UtilisationSignal().evaluate(covered, _context()) is None


def test_the_limit_flags_count_what_a_guarantee_secures_and_say_so() -> None:
    partly = _customer("30000.00", limit="10000.00", secured="5000.00")
    (flag,) = rr.OverLimitPolicy().evaluate(partly, _context())
    assert flag.reason == (
        "owes 25,000.00 EUR net of 5,000.00 EUR secured by guarantees (owes 30,000.00 EUR), "
        "15,000.00 EUR over its 10,000.00 EUR credit limit"
    )
    (hold,) = rr.CreditHoldPolicy().evaluate(partly, _context())
    assert "net of 5,000.00 EUR secured by guarantees" in hold.reason


def test_a_limit_is_never_raised_by_policy_for_a_customer_over_it_or_90_days_late() -> None:
    settings = CreditConfig(approval_ratio=0.5, approval_amount="100000")
    fine = _customer("5000.00", limit="10000.00")
    assert _decision(fine, Decimal("10000.00"), Decimal("12000.00"), settings)[0] == "applied"
    over = _customer("12000.00", limit="10000.00")
    status, why = _decision(over, Decimal("10000.00"), Decimal("12000.00"), settings)
    assert status == "pending"
    assert "it owes 12,000.00 EUR, more than its current limit" in why
    late = _customer("5000.00", limit="10000.00", dpd=95)
    status, why = _decision(late, Decimal("10000.00"), Decimal("12000.00"), settings)
    assert (status, "its oldest unpaid invoice is 95 days past due" in why) == ("pending", True)
    # A decrease is applied by policy as before.
    assert _decision(over, Decimal("10000.00"), Decimal("9000.00"), settings)[0] == "applied"
