"""Sets of invoices: credit notes netted, large payment runs, the reach and the bounds of the search.

Books are built with the helpers of ``tests/test_matching.py`` (one receipt, the production
thresholds); the store-level cases write rows straight into a migrated store and run the real
``ReconcileEngine``, the match desk and the exposure over them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hub_plugins.matching import PayerAccountMatcher, PayerNameMatcher, ReferenceMatcher
from hypothesis import given, settings, strategies as st

from hub.config import FxConfig, RiskConfig
from hub.errors import MatchError
from hub.recon import Combiner, CustomerView, MatchDesk, MatchProposal, ProposalLine, ReconcileEngine, decide
from hub.recon.matching import DFS_POOL, LARGE_POOL, _searched_sizes, subset_sums
from hub.risk import RiskEngine
from hub.store import Store, schema, utcnow

from .test_matching import ACME_IBAN, OTHER, acme, book, inv, lines, rcpt, run, text_of

D = Decimal


def credit_note_lines(p: MatchProposal) -> list[tuple[int, Decimal, str]]:
    return [x for x in lines(p) if x[2] == "credit_note"]


# -- credit notes netted -----------------------------------------------------------------------------


def test_named_invoices_less_a_named_credit_note_are_automatic_and_consume_the_credit_note() -> None:
    items = book(
        [
            inv(1, "RE-2026-0001", "C-ACME", "1200.00"),
            inv(2, "RE-2026-0002", "C-ACME", "800.00"),
            inv(3, "GS-2026-0007", "C-ACME", "-150.00"),
            inv(4, "RE-2026-0003", "C-ACME", "999.00"),
        ],
        [acme()],
    )
    decision, _ = run(rcpt("1850.00", account=ACME_IBAN, text="RE-2026-0001, RE-2026-0002, GS-2026-0007"), items)
    assert decision.status == "auto"
    (best,) = decision.proposals
    assert sorted(lines(best)) == [
        (1, D("1200.00"), "payment"),
        (2, D("800.00"), "payment"),
        (3, D("-150.00"), "credit_note"),
    ]
    assert best.total == D("1850.00")  # the receipt's amount is the sum of its lines
    assert "less credit note GS-2026-0007 (-150.00)" in text_of(best)
    # in Chinese the credit note and its amount are said the Chinese way too, not kept as English text
    assert "减去贷项通知单GS-2026-0007（-150.00）" in "".join(best.reason_texts("zh_CN"))  # noqa: RUF001


def test_a_named_credit_note_stays_a_credit_note_line_when_a_bank_fee_is_written_off_besides() -> None:
    items = book(
        [
            inv(1, "RE-2026-0001", "C-ACME", "1200.00"),
            inv(2, "RE-2026-0002", "C-ACME", "800.00"),
            inv(3, "GS-2026-0007", "C-ACME", "-150.00"),
        ],
        [acme()],
    )
    decision, _ = run(rcpt("1835.00", account=ACME_IBAN, text="RE-2026-0001, RE-2026-0002, GS-2026-0007"), items)
    (best,) = decision.proposals
    assert best.method == "reference+fee"
    assert sorted(lines(best)) == [
        (1, D("15.00"), "write_off"),
        (1, D("1185.00"), "payment"),
        (2, D("800.00"), "payment"),
        (3, D("-150.00"), "credit_note"),
    ]


def test_a_credit_note_the_payment_does_not_name_makes_up_the_difference_when_it_is_the_customers_only_fit() -> None:
    items = book(
        [
            inv(1, "RE-2026-0001", "C-ACME", "1200.00"),
            inv(2, "RE-2026-0002", "C-ACME", "800.00"),
            inv(3, "GS-2026-0007", "C-ACME", "-153.27"),
            inv(4, "GS-2026-0009", "C-ACME", "-60.00"),
        ],
        [acme()],
    )
    decision, _ = run(rcpt("1846.73", account=ACME_IBAN, text="RE-2026-0001 RE-2026-0002"), items)
    assert decision.status == "auto"
    (best,) = decision.proposals
    assert best.method == "reference+credit"
    assert credit_note_lines(best) == [(3, D("-153.27"), "credit_note")]
    assert "GS-2026-0007 (-153.27), not named" in text_of(best)
    assert "the only set of the customer's 2 open credit notes" in text_of(best)


def test_a_list_cut_short_is_made_up_by_unnamed_invoices_less_an_unnamed_credit_note() -> None:
    items = book(
        [
            inv(1, "RE-2026-0001", "C-ACME", "1200.00"),
            inv(2, "RE-2026-0002", "C-ACME", "800.00"),
            inv(3, "RE-2026-0003", "C-ACME", "433.19"),
            inv(4, "RE-2026-0004", "C-ACME", "2710.55"),
            inv(5, "GS-2026-0007", "C-ACME", "-91.40"),
        ],
        [acme()],
    )
    # RE-0001 and RE-0002 named; the rest is RE-0003 less GS-0007.
    _, proposals = run(rcpt("2341.79", account=ACME_IBAN, text="RE-2026-0001, RE-2026-0002, RE-"), items)
    p = next(p for p in proposals if p.method == "reference+subset")
    assert sorted(lines(p)) == [
        (1, D("1200.00"), "payment"),
        (2, D("800.00"), "payment"),
        (3, D("433.19"), "payment"),
        (5, D("-91.40"), "credit_note"),
    ]
    assert p.total == D("2341.79")


def test_a_set_less_a_credit_note_is_found_among_a_customers_few_open_invoices() -> None:
    items = book(
        [
            inv(1, "RE-2026-0001", "C-ACME", "1234.56"),
            inv(2, "RE-2026-0002", "C-ACME", "2345.67"),
            inv(3, "RE-2026-0003", "C-ACME", "3456.78"),
            inv(4, "RE-2026-0004", "C-ACME", "987.65"),
            inv(5, "GS-2026-0001", "C-ACME", "-111.11"),
        ],
        [acme()],
    )
    decision, proposals = run(rcpt("4580.23", account=ACME_IBAN, text="payment"), items)  # 1234.56 + 3456.78 - 111.11
    p = next(p for p in proposals if p.method == "amount+subset")
    assert sorted(lines(p)) == [
        (1, D("1234.56"), "payment"),
        (3, D("3456.78"), "payment"),
        (5, D("-111.11"), "credit_note"),
    ]
    assert decision.status == "auto"


def test_a_credit_note_line_larger_than_the_credit_left_is_never_automatic() -> None:
    items = book([inv(1, "RE-1", "C-ACME", "500.00"), inv(2, "GS-1", "C-ACME", "-50.00")], [acme()], {2: D("-30.00")})
    receipt = rcpt("450.00")
    p = MatchProposal([ProposalLine(1, D("500.00")), ProposalLine(2, D("-50.00"), "credit_note")], 0.999, "hand")
    assert decide(receipt, [p], items, auto_threshold=0.95, suggest_threshold=0.3).status == "suggested"
    fits = MatchProposal([ProposalLine(1, D("470.00")), ProposalLine(2, D("-20.00"), "credit_note")], 0.999, "hand")
    assert decide(receipt, [fits], items, auto_threshold=0.95, suggest_threshold=0.3).status == "auto"


def test_open_credit_notes_are_not_paid_as_invoices() -> None:
    items = book([inv(1, "RE-1", "C-ACME", "500.00"), inv(2, "GS-1", "C-ACME", "-500.00")], [acme()])
    assert items.open_amounts([1, 2]) == {1: D("500.00")}
    assert items.open_credits([1, 2]) == {2: D("-500.00")}
    items.allocate(2, D("-500.00"))
    assert items.open_credits([1, 2]) == {}


# -- large groups ---------------------------------------------------------------------------------------


def _amounts(n: int, seed: int) -> list[str]:
    """Invoice amounts as they come (a few hundred to a few thousand, with cents), reproducibly."""
    rng = random.Random(seed)
    return [f"{rng.randint(200, 6000)}.{rng.randint(0, 99):02d}" for _ in range(n)]


def _run_of(n: int, start: int = 1) -> list:
    return [inv(start + k, f"RE-2026-{start + k:04d}", "C-ACME", a) for k, a in enumerate(_amounts(n, start))]


def test_a_payment_run_of_twelve_invoices_named_in_full_is_automatic() -> None:
    invoices = _run_of(12) + _run_of(5, 100)
    items = book(invoices, [acme()])
    paid = invoices[:12]
    text = ", ".join(i.number for i in paid)
    decision, _ = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text=text), items)
    assert decision.status == "auto"
    assert {ln.invoice_id for ln in decision.proposals[0].lines} == {i.id for i in paid}


def test_a_set_of_seven_unnamed_invoices_unique_among_twelve_open_ones_is_automatic() -> None:
    invoices = [inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(12, 7), 1)]
    items = book(invoices, [acme()])
    paid = [invoices[k] for k in (0, 2, 3, 5, 7, 9, 11)]
    decision, proposals = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="payment"), items)
    p = next(p for p in proposals if p.method == "amount+subset")
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert "the only set of the customer's open invoices" in text_of(p)
    assert "a set of 7 among 12 open invoices: about 1 in" in text_of(p)
    assert decision.status == "auto"


def test_a_large_group_beyond_the_reach_of_the_search_in_a_large_pool_is_never_automatic() -> None:
    invoices = [inv(k, f"RE-{k}", "C-ACME", f"{300 + (k * 211) % 2700}.{k % 7 + 10}") for k in range(1, 61)]
    items = book(invoices, [acme()])
    paid = invoices[0:60:7]  # nine invoices, no run of them
    decision, _ = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="Sammelzahlung"), items)
    assert decision.status != "auto"


def _with_round_twins(n: int) -> list:
    """``n`` invoices as they come, then 10,000.00, 5,000.00 and 5,000.00 (ids n+1 to n+3), reproducibly."""
    invoices = [inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(n, 11), 1)]
    return (
        invoices
        + [inv(n + 1, f"RE-{n + 1}", "C-ACME", "10000.00")]
        + [inv(n + k, f"RE-{n + k}", "C-ACME", "5000.00") for k in (2, 3)]
    )


def test_a_set_with_an_invoice_two_others_left_open_add_up_to_is_not_the_only_set() -> None:
    """Four invoices among 34 add up to the payment, one of them 10,000.00; 5,000.00 and 5,000.00 are open too,
    so those two in its place make a set of five, which the search in so large a pool does not reach: the
    set of four is not proven the only one. (A book of round contract sums paid so: the hub took the four,
    the payer had paid the five.)"""
    invoices = _with_round_twins(31)
    items = book(invoices, [acme()])
    paid = [invoices[k] for k in (2, 9, 20)] + [invoices[31]]  # three as they come and the 10,000.00
    assert len(invoices) > 30 and max(_searched_sizes(len(invoices), 20, 2)) == 4
    decision, proposals = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="payment"), items)
    p = next(p for p in proposals if p.method == "amount+subset")
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert "RE-32 (10000.00) equals RE-33 and RE-34 together, also open" in text_of(p)
    assert decision.status != "auto"


def test_a_set_of_invoices_as_they_come_with_round_ones_open_besides_is_still_the_only_set() -> None:
    invoices = _with_round_twins(31)
    items = book(invoices, [acme()])
    paid = [invoices[k] for k in (27, 10, 5, 13)]  # the four largest as they come: rarely a coincidence
    decision, proposals = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="payment"), items)
    p = next(p for p in proposals if p.method == "amount+subset")
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert "the only set of the customer's open invoices" in text_of(p)
    assert decision.status == "auto"


def _due(invoices: list, start: dt.date) -> list:
    """The invoices due a week apart from ``start``, in the order given."""
    return [i._replace(due_date=start + dt.timedelta(days=7 * k)) for k, i in enumerate(invoices)]


def test_the_customers_oldest_invoices_adding_up_beyond_the_reach_of_the_search_are_a_payment_run_applied() -> None:
    # 60 open invoices: sets of nine are beyond any search, and other sets may add up as well, but a payment
    # run pays what is due, oldest first: that the nine due first add up to the amount to the cent is a
    # coincidence about as rare as one of sixty prefixes landing on it.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    invoices.reverse()  # the book's order is not the order of due dates
    items = book(invoices, [acme()])
    paid = invoices[-9:]  # the nine due first
    decision, _proposals = run(
        rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="Sammelzahlung"), items
    )
    assert decision.status == "auto"
    p = decision.proposals[0]
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert p.method == "amount+run"
    assert "the customer's 9 oldest open invoices add up to" in text_of(p)
    assert "as a payment run pays what is due, oldest first" in text_of(p)


def test_the_customers_oldest_invoices_less_a_bank_fee_are_a_payment_run_suggested_with_the_fee_written_off() -> None:
    # Suggested, never automatic: each shortfall a fee could be is one more amount a run could land on.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    paid = invoices[:9]
    gross = sum(i.open_amount for i in paid)
    receipt = rcpt(str(gross - D("25.00")), account=ACME_IBAN, text="Zahlung")
    decision, _ = run(receipt, book(invoices, [acme()]), fee=D("100.00"))  # the default ceiling
    assert decision.status == "suggested"
    p = decision.proposals[0]
    assert p.method == "amount+run+fee"
    assert not p.automatic
    assert {ln.invoice_id for ln in p.lines if ln.kind == "payment"} == {i.id for i in paid}
    assert [ln.amount for ln in p.lines if ln.kind == "write_off"] == [D("25.00")]
    assert f"the customer's 9 oldest open invoices, {gross} less a bank fee of 25.00, make" in text_of(p)


def test_the_customers_oldest_invoices_less_a_cash_discount_are_a_payment_run_suggested() -> None:
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 21), 1)], dt.date(2026, 1, 5))
    paid = invoices[:7]
    gross = sum(i.open_amount for i in paid)
    discount = (gross * D("0.02")).quantize(D("0.01"))
    decision, _ = run(rcpt(str(gross - discount), account=ACME_IBAN, text="Zahlung"), book(invoices, [acme()]))
    assert decision.status == "suggested"
    p = decision.proposals[0]
    assert {ln.invoice_id for ln in p.lines if ln.kind == "payment"} == {i.id for i in paid}
    assert [ln.amount for ln in p.lines if ln.kind == "write_off"] == [discount]
    assert "less a cash discount (Skonto) of 2% " in text_of(p)


def test_the_oldest_invoices_short_by_an_odd_amount_are_not_a_payment_run() -> None:
    # 17.23 short: no fee reads so, and no discount: a deduction or a part payment, for a person to read.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    amount = sum(i.open_amount for i in invoices[:9]) - D("17.23")
    receipt = rcpt(str(amount), account=ACME_IBAN, text="Zahlung")
    decision, proposals = run(receipt, book(invoices, [acme()]), fee=D("100.00"))
    assert decision.status != "auto"
    assert not any(p.method.startswith("amount+run") for p in proposals)


def test_the_oldest_invoices_adding_up_are_no_proof_where_one_has_a_twin_of_the_same_amount_left_open() -> None:
    # The payer may have paid the newer of two equal invoices (the older disputed): which, nothing says.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    invoices[40] = invoices[40]._replace(open_amount=invoices[3].open_amount)
    items = book(invoices, [acme()])
    paid = invoices[:9]
    decision, _ = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="Sammelzahlung"), items)
    assert decision.status == "suggested"


def test_named_invoices_and_the_customers_oldest_open_ones_besides_making_up_the_rest_are_applied() -> None:
    # Two invoices named, three more paid unnamed: the customer's three oldest open ones make up the rest.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 21), 1)], dt.date(2026, 1, 5))
    items = book(invoices, [acme()])
    paid = [invoices[30], invoices[31], *invoices[:3]]
    text = f"{invoices[30].number} {invoices[31].number}"
    decision, _ = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text=text), items)
    assert decision.status == "auto"
    p = decision.proposals[0]
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert "and the customer's 3 oldest open invoices besides (RE-1, RE-2, RE-3) make up the rest" in text_of(p)


def test_a_run_in_the_middle_of_the_customers_open_invoices_is_found_too() -> None:
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 12), 1)], dt.date(2026, 1, 5))
    items = book(invoices, [acme()])
    paid = invoices[20:32]  # the oldest were paid by a payment not yet matched
    decision, _ = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="Zahlung"), items)
    assert decision.status == "suggested"
    assert {ln.invoice_id for ln in decision.proposals[0].lines} == {i.id for i in paid}


def test_a_payment_run_passes_over_an_invoice_the_payer_paid_in_part_before_and_is_applied() -> None:
    # The oldest invoice was paid short (a deduction in dispute): what is left of it stays open, and the payer's
    # next run pays the oldest of the rest, as accounts payable keeps a disputed invoice out of its runs.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    disputed = invoices[0]
    items = book(invoices, [acme()], {disputed.id: disputed.open_amount - D("269.36")})
    paid = invoices[1:10]
    decision, _ = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="Sammelzahlung"), items)
    assert decision.status == "auto"
    p = decision.proposals[0]
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert "the customer's 9 oldest open invoices add up to" in text_of(p)
    assert "passing over RE-1, paid in part before and still open" in text_of(p)
    assert "跳过此前已部分付款、仍有余额未结的RE-1" in "".join(p.reason_texts("zh_CN"))


def test_a_payment_run_passing_over_a_part_paid_invoice_is_no_proof_where_the_run_taking_it_adds_up_too() -> None:
    # Two readings of the payer's run, one taking what is left of the invoice paid in part and one passing
    # over it: which the payer paid, nothing says.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    rest = invoices[9].open_amount  # what is left of the first equals the tenth: both runs add up
    items = book(invoices, [acme()], {invoices[0].id: invoices[0].open_amount - rest})
    amount = sum(i.open_amount for i in invoices[1:10])
    decision, _ = run(rcpt(str(amount), account=ACME_IBAN, text="Sammelzahlung"), items)
    assert decision.status != "auto"


def _issued(invoices: list, start: dt.date, terms: tuple[int, ...] = (10, 60, 30, 90)) -> list:
    """The invoices issued two days apart from ``start``, in the order given, each due after the terms of its own
    order (a customer buying on several terms): the invoice issued first is not the one due first."""
    return [
        i._replace(
            issue_date=start + dt.timedelta(days=2 * k),
            due_date=start + dt.timedelta(days=2 * k + terms[k % len(terms)]),
        )
        for k, i in enumerate(invoices)
    ]


def test_the_customers_invoices_issued_first_adding_up_are_a_payment_run_applied_where_terms_differ() -> None:
    # The payer's run pays the oldest invoices first by invoice date: the nine issued first are due on
    # scattered dates among sixty, so no run by due date adds up, and sets of nine are beyond the search.
    invoices = _issued([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    paid = invoices[:9]
    by_due = sorted(invoices, key=lambda i: i.due_date)
    assert {i.id for i in by_due[:9]} != {i.id for i in paid}
    invoices.reverse()  # the book's order is not the order of issue
    decision, _ = run(
        rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="Sammelzahlung"), book(invoices, [acme()])
    )
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert p.method == "amount+run"
    assert "the customer's 9 open invoices issued first add up to" in text_of(p)
    assert "as a payment run pays the oldest invoices first" in text_of(p)


def test_invoice_ids_far_apart_are_ordered_alike() -> None:
    # A long-lived database's ids (a PostgreSQL sequence after years of syncs): the numbering's ranks are kept in a
    # dict, not an array as long as the largest id.
    invoices = _issued([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    invoices = [i._replace(id=i.id * 10**9) for i in invoices]
    paid = invoices[:9]
    receipt = rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="Sammelzahlung")
    decision, _ = run(receipt, book(invoices, [acme()]))
    assert decision.status == "auto"
    assert {ln.invoice_id for ln in decision.proposals[0].lines} == {i.id for i in paid}


def test_named_invoices_and_those_issued_first_besides_making_up_the_rest_are_applied() -> None:
    invoices = _issued([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 21), 1)], dt.date(2026, 1, 5))
    paid = [invoices[30], invoices[31], *invoices[:3]]
    text = f"{invoices[30].number} {invoices[31].number}"
    decision, _ = run(
        rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text=text), book(invoices, [acme()])
    )
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert "and the customer's 3 open invoices issued first besides (RE-1, RE-2, RE-3) make up the rest" in text_of(p)


def test_a_run_in_the_middle_by_invoice_date_is_found_where_terms_differ_by_invoice() -> None:
    invoices = _issued([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 12), 1)], dt.date(2026, 1, 5))
    paid = invoices[20:32]  # the oldest were paid by a payment not yet matched
    decision, _ = run(
        rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text="Zahlung"), book(invoices, [acme()])
    )
    assert decision.status == "suggested"
    (p,) = decision.proposals
    assert {ln.invoice_id for ln in p.lines} == {i.id for i in paid}
    assert "the only run of consecutive open invoices of the customer (in order of invoice date)" in text_of(p)


def test_the_oldest_by_due_date_and_the_oldest_by_invoice_date_adding_up_alike_prove_neither() -> None:
    # Issued first: seven invoices on 90 days; due first: the next seven, of the same amounts, on 5 days.
    start = dt.date(2026, 1, 5)
    amounts = _amounts(7, 5)

    def dated(k: int, amount: str, day: int, terms: int):  # type: ignore[no-untyped-def]
        issued = start + dt.timedelta(days=day)
        return inv(k, f"RE-{k}", "C-ACME", amount)._replace(
            issue_date=issued, due_date=issued + dt.timedelta(days=terms)
        )

    invoices = [dated(k, a, k, 90) for k, a in enumerate(amounts, 1)]
    invoices += [dated(k + 7, a, k + 7, 5) for k, a in enumerate(reversed(amounts), 1)]
    invoices += [dated(k, a, k, 90) for k, a in enumerate(_amounts(46, 6), 15)]
    decision, proposals = run(
        rcpt(str(sum(Decimal(a) for a in amounts)), account=ACME_IBAN, text="Zahlung"), book(invoices, [acme()])
    )
    assert decision.status == "suggested"
    runs = {frozenset(ln.invoice_id for ln in p.lines) for p in proposals if p.method == "amount+run"}
    assert runs == {frozenset(range(1, 8)), frozenset(range(8, 15))}
    assert not any(p.automatic for p in proposals)


def _with_credit_notes(invoices: list, *amounts: str) -> list:
    """The invoices and open credit notes of the customer of the given (negative) amounts, issued before them."""
    first = min(i.issue_date or dt.date(2026, 1, 5) for i in invoices)
    return invoices + [
        inv(900 + k, f"GS-2026-{k:04d}", "C-ACME", a)._replace(issue_date=first - dt.timedelta(days=k))
        for k, a in enumerate(amounts, 1)
    ]


def test_the_customers_oldest_invoices_less_an_open_credit_note_are_a_payment_run_applied() -> None:
    # The payer's run nets what the payee owes it: nine oldest invoices less one of two open credit notes.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    items = book(_with_credit_notes(invoices, "-374.60", "-1210.05"), [acme()])
    paid = invoices[:9]
    amount = sum(i.open_amount for i in paid) - D("374.60")
    decision, _ = run(rcpt(str(amount), account=ACME_IBAN, text="Sammelzahlung"), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert p.method == "amount+run"
    assert {ln.invoice_id for ln in p.lines if ln.kind == "payment"} == {i.id for i in paid}
    assert credit_note_lines(p) == [(901, D("-374.60"), "credit_note")]
    assert "less credit note GS-2026-0001 (-374.60), not named: the customer's 9 oldest open invoices" in text_of(p)


def test_the_oldest_invoices_less_the_oldest_of_many_open_credit_notes_are_a_payment_run_applied() -> None:
    # Twelve open credit notes, the oldest the smallest: a run nets the oldest first, whatever its size.
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 11), 1)], dt.date(2026, 1, 5))
    credits = [f"-{300 + 37 * k}.{k:02d}" for k in range(11, 0, -1)] + ["-15.27"]  # issued newest first
    items = book(_with_credit_notes(invoices, *credits), [acme()])
    oldest = 900 + len(credits)
    paid = invoices[:9]
    decision, _ = run(rcpt(str(sum(i.open_amount for i in paid) - D("15.27")), account=ACME_IBAN), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert {ln.invoice_id for ln in p.lines if ln.kind == "payment"} == {i.id for i in paid}
    assert credit_note_lines(p) == [(oldest, D("-15.27"), "credit_note")]


def test_a_run_in_the_middle_less_an_open_credit_note_is_suggested() -> None:
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(_amounts(60, 12), 1)], dt.date(2026, 1, 5))
    items = book(_with_credit_notes(invoices, "-374.60"), [acme()])
    paid = invoices[20:32]  # the oldest were paid by a payment not yet matched
    amount = sum(i.open_amount for i in paid) - D("374.60")
    decision, _ = run(rcpt(str(amount), account=ACME_IBAN, text="Zahlung"), items)
    assert decision.status == "suggested"
    p = decision.proposals[0]
    assert {ln.invoice_id for ln in p.lines if ln.kind == "payment"} == {i.id for i in paid}
    assert credit_note_lines(p) == [(901, D("-374.60"), "credit_note")]
    assert "the only run of consecutive open invoices of the customer" in text_of(p)


def test_of_two_runs_adding_up_to_the_amount_neither_is_the_only_run() -> None:
    amounts = _amounts(40, 13)
    amounts[30:36] = amounts[0:6]  # invoices 31-36 repeat 1-6: two runs of six add up alike
    invoices = _due([inv(k, f"RE-{k}", "C-ACME", a) for k, a in enumerate(amounts, 1)], dt.date(2026, 1, 5))
    items = book(invoices, [acme()])
    _, proposals = run(rcpt(str(sum(i.open_amount for i in invoices[:6])), account=ACME_IBAN), items)
    runs = [p for p in proposals if p.method == "amount+run"]
    assert len(runs) == 2
    assert all("but not the only set that does" in text_of(p) for p in runs)


def test_the_default_set_size_covers_payment_runs_of_twenty_but_the_search_reaches_them_only_in_small_pools() -> None:
    assert Combiner().max_subset_size >= 20
    assert _searched_sizes(DFS_POOL, Combiner().max_subset_size, 2) == range(2, DFS_POOL + 1)
    assert _searched_sizes(25, Combiner().max_subset_size, 2) == range(2, 6)
    assert _searched_sizes(200, Combiner().max_subset_size, 2) == range(2, 5)


def test_meet_in_the_middle_reports_a_unique_set_within_its_reach_as_complete() -> None:
    items = [(k, int(D(a) * 100)) for k, a in enumerate(_amounts(40, 3))]
    target = items[3][1] + items[17][1] + items[29][1]
    found, complete = subset_sums(items, target, target, max_size=20, budget=200_000)
    assert found == [tuple(sorted((3, 17, 29), key=lambda k: -items[k][1]))]
    assert complete


def _every_set(items: list[tuple[int, int]], low: int, high: int, sizes: range) -> set[tuple[int, ...]]:
    """Every set of ``items`` of ``sizes`` whose sum lies in [low, high], each as subset_sums gives it
    (ids in descending order of amount): the plain enumeration the search must agree with."""
    ordered = sorted(items, key=lambda x: -x[1])
    return {
        tuple(i for i, _ in chosen)
        for size in sizes
        for chosen in itertools.combinations(ordered, size)
        if low <= sum(c for _, c in chosen) <= high
    }


@settings(max_examples=100, deadline=None)
@given(
    cents=st.lists(st.integers(1, 60), min_size=DFS_POOL + 1, max_size=LARGE_POOL + 6),
    picks=st.lists(st.integers(0, LARGE_POOL + 5), min_size=1, max_size=5),
    fee=st.sampled_from([0, 0, 1, 3]),
)
def test_meet_in_the_middle_finds_what_enumerating_every_set_within_its_reach_finds(
    cents: list[int], picks: list[int], fee: int
) -> None:
    # Few distinct amounts (1-60 cents), so most targets have several sets, some none and some one: the
    # search must report none, the one, or two of them, and never a set that does not add up.
    items = [(100 + k, c) for k, c in enumerate(cents)]
    target = sum(cents[k % len(cents)] for k in set(picks))
    expected = _every_set(items, target - fee, target, _searched_sizes(len(items), 20, 1))
    found, complete = subset_sums(items, target - fee, target, max_size=20, budget=10**9)
    assert complete
    assert set(found) <= expected
    assert len(found) == min(len(expected), 2)
    if len(expected) == 1:
        assert found == list(expected)


def test_hundreds_of_open_invoices_cannot_stall_the_search() -> None:
    # 400 invoices have 79,800 pairs, more than the budget of 20,000 steps: the search gives up at once
    # and says so (a suggestion at most), instead of walking them.
    items = [(k, 10_000 + (k * 7_919) % 50_000) for k in range(400)]
    found, complete = subset_sums(items, 1_234_567, 1_234_567, max_size=20, budget=20_000)
    assert not complete
    assert len(found) <= 1
    _, complete = subset_sums(items, 1_234_567, 1_234_567, max_size=20, budget=200_000)
    assert complete  # with the budget to walk them, the same search finishes


# -- in the store: a netted credit note closes both, everywhere ------------------------------------------


def _customer(conn: sa.Connection) -> None:
    conn.execute(
        schema.customer.insert().values(
            source="erp",
            external_id="C-ACME",
            record_hash=0,
            synced_at=utcnow(),
            canonical_id="C-ACME",
            legal_name="Acme Logistics GmbH",
            aliases=[],
            tax_ids=[],
            ibans=[ACME_IBAN],
            links={},
            currency="EUR",
        )
    )


def _invoice(conn: sa.Connection, number: str, amount: str) -> int:
    due = dt.date(2026, 3, 31)
    return int(
        conn.execute(
            schema.invoice.insert().values(
                source="erp",
                external_id=number,
                record_hash=0,
                synced_at=utcnow(),
                number=number,
                customer_external_id="C-ACME",
                issue_date=due - dt.timedelta(days=30),
                due_date=due,
                currency="EUR",
                amount=D(amount),
                open_amount=D(amount),
                status="open",
            )
        ).inserted_primary_key[0]
    )


def _receipt(conn: sa.Connection, ref: str, amount: str, text: str) -> None:
    conn.execute(
        schema.receipt.insert().values(
            source="bank",
            external_id=uuid.uuid4().hex,
            record_hash=0,
            synced_at=utcnow(),
            bank_ref=ref,
            booking_date=dt.date(2026, 4, 2),
            amount=D(amount),
            currency="EUR",
            direction="credit",
            reversal=False,
            payer_name="Acme Logistics GmbH",
            payer_account=ACME_IBAN,
            remittance=text,
            references=[],
            additional_remittance=[],
        )
    )


def _left(store: Store) -> dict[str, Decimal]:
    """Each invoice's open amount less its live allocations."""
    a, i = schema.allocation, schema.invoice
    with store.connect() as conn:
        taken: dict[int, Decimal] = {}
        for invoice_id, amount in conn.execute(
            sa.select(a.c.invoice_id, a.c.amount).where(a.c.status.in_(("auto", "confirmed")))
        ):
            taken[invoice_id] = taken.get(invoice_id, D(0)) + amount
        return {
            n: amount - taken.get(iid, D(0))
            for iid, n, amount in conn.execute(sa.select(i.c.id, i.c.number, i.c.open_amount))
        }


def _engine(store: Store) -> ReconcileEngine:
    return ReconcileEngine(store, [ReferenceMatcher(), PayerNameMatcher(), PayerAccountMatcher()])


def test_a_netted_credit_note_closes_the_invoices_and_the_credit_note_in_the_store(store: Store) -> None:
    with store.begin() as conn:
        _customer(conn)
        _invoice(conn, "RE-2026-0001", "1200.00")
        _invoice(conn, "RE-2026-0002", "800.00")
        _invoice(conn, "GS-2026-0007", "-150.00")
        _invoice(conn, "RE-2026-0003", "999.00")
        _receipt(conn, "BANK-1", "1850.00", "RE-2026-0001 RE-2026-0002 GS-2026-0007")
    stats = _engine(store).run()
    assert (stats.auto, stats.allocations) == (1, 3)
    left = _left(store)
    assert (left["RE-2026-0001"], left["RE-2026-0002"], left["GS-2026-0007"]) == (0, 0, 0)
    assert left["RE-2026-0003"] == D("999.00")
    desk = MatchDesk(store)
    explained = desk.explain("BANK-1")
    kinds = {(x["invoice"], x["kind"], x["amount"]) for x in explained["allocations"]}
    assert ("GS-2026-0007", "credit_note", "-150.00") in kinds
    # The exposure: only RE-2026-0003 is open, and no cash is left unapplied.
    risk = RiskEngine(store, [], [], sinks=[], settings=RiskConfig(), fx=FxConfig())
    with store.connect() as conn:
        (exposure,) = [e for e in risk.exposures(conn, dt.date(2026, 4, 30)) if e.customer_id == "C-ACME"]
    assert exposure.open_amount == D("999.00")
    assert exposure.unapplied_cash == 0
    # A second payment naming the same credit note cannot take it again (it pays RE-2026-0003 in part).
    with store.begin() as conn:
        _receipt(conn, "BANK-2", "849.00", "RE-2026-0003 GS-2026-0007")
    _engine(store).run()
    assert _left(store)["GS-2026-0007"] == 0
    assert _left(store)["RE-2026-0003"] == D("150.00")


def test_finance_confirms_a_payment_naming_a_credit_note_by_hand_and_it_is_deducted_first(store: Store) -> None:
    with store.begin() as conn:
        _customer(conn)
        _invoice(conn, "RE-2026-0001", "1200.00")
        _invoice(conn, "GS-2026-0007", "-150.00")
        _receipt(conn, "BANK-1", "1050.00", "thanks")
    desk = MatchDesk(store)
    result = desk.confirm("BANK-1", ["RE-2026-0001", "GS-2026-0007"], actor="anna")
    assert result.unapplied == 0
    assert _left(store)["GS-2026-0007"] == 0 and _left(store)["RE-2026-0001"] == 0
    with store.begin() as conn:
        _receipt(conn, "BANK-2", "10.00", "again")
    with pytest.raises(MatchError, match="no credit left open"):
        desk.confirm("BANK-2", ["GS-2026-0007"], actor="anna")


def test_unnamed_credit_notes_are_not_deducted_for_a_payer_who_is_not_the_customer() -> None:
    items = book(
        [
            inv(1, "RE-2026-0001", "C-ACME", "1200.00"),
            inv(2, "RE-2026-0002", "C-ACME", "800.00"),
            inv(3, "GS-2026-0007", "C-ACME", "-153.27"),
        ],
        [acme()],
    )
    receipt = rcpt("1846.73", payer="Someone Else Ltd", text="Refund RE-2026-0001 RE-2026-0002")
    _, proposals = run(receipt, items)
    assert not any(p.method == "reference+credit" for p in proposals)


def test_a_customer_with_many_open_credit_notes_has_the_one_that_alone_makes_up_the_difference_deducted() -> None:
    """A large customer keeps many credit notes open: a payment naming its invoices and deducting one
    without naming it (a list cut short) finds it, singles only (pairs of many make up any shortfall)."""
    credits = [inv(10 + k, f"GS-2026-{k:04d}", "C-ACME", f"-{a}") for k, a in enumerate(_amounts(20, 5))]
    items = book(
        [inv(1, "RE-2026-0001", "C-ACME", "9000.00"), inv(2, "RE-2026-0002", "C-ACME", "4100.00"), *credits], [acme()]
    )
    receipt = rcpt(str(D("13100.00") + credits[3].open_amount), account=ACME_IBAN, text="RE-2026-0001, RE-2026-0002")
    decision, _ = run(receipt, items)
    assert decision.status == "auto"
    best = decision.proposals[0]
    assert best.method == "reference+credit"
    assert credit_note_lines(best) == [(13, credits[3].open_amount, "credit_note")]
    assert "the only set of the customer's 20 open credit notes" in text_of(best)


#: Three invoices a payment names ("90000004 90000006 90000008"), 8,407.24 together.
NAMED_THREE = [
    inv(1, "90000004", "C-ACME", "3460.42"),
    inv(2, "90000006", "C-ACME", "4375.50"),
    inv(3, "90000008", "C-ACME", "571.32"),
]


@pytest.mark.parametrize("short", ["60.00", "37.41"])  # a fee, or a credit note netted; an odd amount
def test_named_invoices_short_by_what_may_be_a_fee_are_applied_and_the_shortfall_left_open(short: str) -> None:
    """Three invoices named, short by an amount within the bank fee ceiling that is no fee for certain: where
    the money goes is not in doubt, so it is applied automatically, and the shortfall stays open on the
    largest invoice, not written off."""
    items = book([*NAMED_THREE, inv(5, "90000011", "C-ACME", "2990.00")], [acme()])
    amount = D("8407.24") - D(short)
    decision, proposals = run(
        rcpt(str(amount), account=ACME_IBAN, text="90000004 90000006 90000008"), items, fee=D("100")
    )
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert p.method == "reference+short"
    assert sorted(lines(p)) == [
        (1, D("3460.42"), "payment"),
        (2, D("4375.50") - D(short), "payment"),
        (3, D("571.32"), "payment"),
    ]
    assert f"90000006 stays open for {short}" in text_of(p)
    fee = next(p for p in proposals if p.method == "reference+fee")  # still shown, never automatic
    assert not fee.automatic


def test_named_invoices_short_by_a_small_amount_in_a_text_the_bank_may_have_cut_are_only_suggested() -> None:
    # 140 characters: the list may go on (an invoice and a credit note cut off make up the shortfall as
    # well), so what it names is not all the payment pays.
    items = book([*NAMED_THREE, inv(5, "90000011", "C-ACME", "2990.00")], [acme()])
    text = "Zahlung lt. Rechnungen 90000004 90000006 90000008 ".ljust(139, ".") + ","
    assert len(text) == 140
    decision, proposals = run(rcpt(str(D("8407.24") - D("60.00")), account=ACME_IBAN, text=text), items, fee=D("100"))
    assert decision.status == "suggested"
    assert not any(p.automatic for p in proposals if p.method == "reference+short")


WAGNER = CustomerView("C-WAGNER", "Wagner Automation GmbH & Co. KG", (), ("DE34713180573550402344",), None)
SANCHEZ = CustomerView("C-SANCHEZ", "Sanchez & Romero Maquinaria S.L.", (), ("ES0756208265855604897311",), None)


def test_the_payers_own_invoices_among_short_numbers_that_read_as_other_customers_too_are_what_it_pays() -> None:
    """Eight invoices written by their sequence numbers ("inv 231"), each also the sequence number of
    another customer's invoice numbered otherwise (2026/231): of everything named, the eight of the
    customer the payer's account is add up to the amount to the cent, and that is the payment."""
    own = {
        "220": "843.05",
        "231": "5092.95",
        "258": "2239.33",
        "270": "7252.67",
        "293": "20650.42",
        "302": "1382.55",
        "322": "1989.35",
        "340": "4978.05",
    }
    invoices = [inv(k, f"RE-2026-0000{n}", "C-WAGNER", a) for k, (n, a) in enumerate(own.items(), 1)]
    invoices += [inv(100 + k, f"RE-2026-0000{400 + k}", "C-WAGNER", f"{900 + 131 * k}.{k:02d}") for k in range(30)]
    theirs = {"220": "1218.11", "231": "1012.84", "270": "12171.56", "302": "6118.45", "322": "2207.90"}
    invoices += [inv(200 + k, f"2026/{n}", "C-SANCHEZ", a) for k, (n, a) in enumerate(theirs.items())]
    invoices += [inv(300 + k, f"2025/{n}", "C-SANCHEZ", a) for k, (n, a) in enumerate(theirs.items())]
    items = book(invoices, [WAGNER, SANCHEZ])
    text = (
        "Zahlung KW 38 Auftrag 62540 inv. 2026 220, inv 231, invoice #258, inv 270, invoice #293, inv 302, "
        "inv. 2026 322, INV NO 340"
    )
    decision, _ = run(
        rcpt("44428.37", account="DE34713180573550402344", payer="Wagner Automation GmbH & Co. KG", text=text), items
    )
    assert decision.status == "auto"
    assert sorted(ln.invoice_id for ln in decision.proposals[0].lines) == list(range(1, 9))
    assert decision.proposals[0].method == "reference"


def test_named_invoices_short_by_an_amount_no_stated_discount_explains_are_only_suggested() -> None:
    # The payer says it took 3% Skonto, but 60.00 is no 3% of anything named: a number not read, a credit
    # note written oddly... a person looks.
    items = book(NAMED_THREE, [acme()])
    text = "90000004 90000006 90000008 abzgl. 3% Skonto"
    decision, proposals = run(rcpt("8347.24", account=ACME_IBAN, text=text), items, fee=D("100"))
    assert decision.status == "suggested"
    assert not any(p.automatic for p in proposals if p.method == "reference+short")


def test_named_invoices_short_by_what_an_open_credit_note_with_a_fee_could_make_up_are_only_suggested() -> None:
    # 60.00 short: the customer's open credit note of 45.00, netted, and a fee of 15.00 make it up as well.
    items = book([*NAMED_THREE, inv(4, "GS-2026-000077", "C-ACME", "-45.00")], [acme()])
    decision, proposals = run(
        rcpt("8347.24", account=ACME_IBAN, text="90000004 90000006 90000008"), items, fee=D("100")
    )
    assert decision.status == "suggested"
    short = next(p for p in proposals if p.method == "reference+short")
    assert not short.automatic


def test_named_invoices_paid_short_by_a_stated_deduction_are_suggested_with_the_rest_left_open() -> None:
    """A payment run naming its invoices and a credit note, less a reclamation larger than any bank fee:
    the invoices named are what it pays, short by the deduction, which finance books (a suggestion, never
    automatic); the largest invoice stays open by the shortfall."""
    items = book(
        [
            inv(1, "90000004", "C-ACME", "3460.42"),
            inv(2, "90000006", "C-ACME", "4375.50"),
            inv(3, "90000008", "C-ACME", "571.32"),
            inv(4, "GS-2025-000003", "C-ACME", "-91.27"),
            inv(5, "90000011", "C-ACME", "2990.00"),
        ],
        [acme()],
    )
    text = "Pagamento 90000004, 90000006, 90000008, GS-2025-000003 abzgl. Reklamation"
    decision, _ = run(rcpt("8046.61", account=ACME_IBAN, text=text), items)
    assert decision.status == "suggested"
    best = decision.proposals[0]
    assert best.method == "reference+short" and not best.automatic
    assert sorted(lines(best)) == [
        (1, D("3460.42"), "payment"),
        (2, D("4106.14"), "payment"),  # 4375.50 less the 269.36 short: the rest stays open
        (3, D("571.32"), "payment"),
        (4, D("-91.27"), "credit_note"),
    ]
    assert best.total == D("8046.61")
    said = text_of(best)
    assert "is 269.36 short of the open total 8315.97" in said and "90000006 stays open for 269.36" in said
    assert "the text states a deduction (Reklamation)" in said
    assert "90000006仍有269.36未结" in "".join(best.reason_texts("zh_CN"))


def test_a_customer_with_many_open_credit_notes_has_none_deducted_unnamed() -> None:
    credits = [inv(10 + k, f"GS-2026-{k:04d}", "C-ACME", f"-{a}") for k, a in enumerate(_amounts(20, 5))]
    items = book([inv(1, "RE-2026-0001", "C-ACME", "9000.00"), *credits], [acme()])
    short = credits[3].open_amount + credits[7].open_amount
    _, proposals = run(rcpt(str(D("9000.00") + short), account=ACME_IBAN, text="RE-2026-0001"), items)
    assert not any(p.method == "reference+credit" for p in proposals)


def test_one_of_two_readings_of_a_number_less_the_cash_discount_the_payment_states_is_automatic() -> None:
    """'2026/1B17 abzgl. 2% Skonto': the number read two ways names two invoices (2026/1817 with the letter
    read as a digit, another customer's 2026/1 cut at the letter); one of them less exactly the 2% the
    payer states is the amount. That discount is written off as a discount, not a bank fee."""
    items = book([inv(1, "2026/1817", "C-ACME", "915.60"), inv(2, "2026/1", "C-OTHER", "4410.00")], [acme(), OTHER])
    decision, _ = run(rcpt("897.29", account=ACME_IBAN, text="2026/1B17 abzgl. 2% Skonto"), items, fee=D("100"))
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert p.method == "reference+discount"
    assert sorted(lines(p)) == [(1, D("18.31"), "write_off"), (1, D("897.29"), "payment")]
    assert "less the 2% cash discount (Skonto) stated" in text_of(p)


def test_one_of_the_named_invoices_less_a_discount_at_another_rate_than_stated_is_not_automatic() -> None:
    items = book([inv(1, "2026/1817", "C-ACME", "915.60"), inv(2, "2026/1", "C-OTHER", "4410.00")], [acme(), OTHER])
    decision, _ = run(rcpt("888.13", account=ACME_IBAN, text="2026/1B17 abzgl. 2% Skonto"), items, fee=D("100"))
    assert decision.status != "auto"  # 3% of 915.60 is 27.47: not the rate the payer states


# -- a list the bank cut goes on in number order ---------------------------------------------------------


def _cut_list(invoices: list, named: int) -> str:
    """The first ``named`` numbers listed as a payment run writes them, cut where banks cut (140 characters)."""
    text = ", ".join(i.number for i in invoices[:named]) + ", " + ", ".join(i.number for i in invoices[named:])
    return text[:140]


def test_a_list_the_bank_cut_goes_on_with_the_customers_next_open_invoices_in_number_order() -> None:
    # Fifty open invoices: the rest (three invoices) is beyond proof among them as a set, but the payer's list
    # is sorted by number, and the next three open invoices after the last one shown make it up to the cent.
    invoices = _run_of(50)
    items = book(invoices, [acme()])
    paid = invoices[10:23]
    text = _cut_list(paid, 10)
    assert len(text) == 140 and paid[9].number in text and paid[10].number not in text
    decision, _proposals = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text=text), items)
    assert decision.status == "auto"
    assert {ln.invoice_id for ln in decision.proposals[0].lines} == {i.id for i in paid}
    said = text_of(decision.proposals[0])
    assert f"the next 3 open invoices of the customer after {paid[9].number}" in said
    assert "the list the bank cut at 140 characters goes on in number order" in said


def test_a_list_the_bank_cut_after_a_separator_goes_on_though_the_import_stripped_its_last_space() -> None:
    # The bank cut at 140 characters just after "RE-2026-0020, ": the statement's reader strips the trailing
    # space, and 139 characters are left. The list goes on all the same.
    invoices = _run_of(50)
    items = book(invoices, [acme()])
    paid = invoices[10:23]
    text = _cut_list(paid, 10)
    assert text.endswith(", ")
    text = text.rstrip()
    assert len(text) == 139
    decision, _proposals = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text=text), items)
    assert decision.status == "auto"
    assert {ln.invoice_id for ln in decision.proposals[0].lines} == {i.id for i in paid}
    assert "the list the bank cut at 140 characters goes on in number order" in text_of(decision.proposals[0])


def test_a_list_the_bank_cut_goes_on_with_the_next_open_invoices_less_the_credit_note_it_ends_with() -> None:
    # The payer's list ends with the credit note it nets; the bank cut it before the last invoices.
    invoices = _run_of(50)
    items = book(_with_credit_notes(invoices, "-212.40", "-98.15"), [acme()])
    paid = invoices[10:23]
    text = _cut_list(paid, 10)
    amount = sum(i.open_amount for i in paid) - D("98.15")
    decision, _ = run(rcpt(str(amount), account=ACME_IBAN, text=text), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert {ln.invoice_id for ln in p.lines if ln.kind == "payment"} == {i.id for i in paid}
    assert credit_note_lines(p) == [(902, D("-98.15"), "credit_note")]
    assert "less credit note GS-2026-0002 (-98.15), not named) make up the rest" in text_of(p)
    assert "the list the bank cut at 140 characters goes on in number order" in text_of(p)


def test_a_list_the_bank_cut_goes_on_less_any_one_of_many_open_credit_notes_not_only_the_largest() -> None:
    # A large customer keeps ten credit notes open; the one the payer's list ended with is the newest and
    # smallest (83.02), neither among the largest nor the oldest. The rest of a cut list has few readings (the
    # next invoices in number order), so every credit note is tried alone.
    invoices = _run_of(50)
    big = [f"-{300 + 25 * k}.{k:02d}" for k in range(9)]
    items = book(_with_credit_notes(invoices, "-83.02", *big), [acme()])
    paid = invoices[10:23]
    amount = sum(i.open_amount for i in paid) - D("83.02")
    decision, _ = run(rcpt(str(amount), account=ACME_IBAN, text=_cut_list(paid, 10)), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert {ln.invoice_id for ln in p.lines if ln.kind == "payment"} == {i.id for i in paid}
    assert credit_note_lines(p) == [(901, D("-83.02"), "credit_note")]
    assert "the list the bank cut at 140 characters goes on in number order" in text_of(p)


def test_a_list_the_bank_cut_goes_on_only_with_the_invoices_after_the_last_one_shown() -> None:
    # The rest is made of three invoices numbered before the list: no reading of a list that goes on.
    invoices = _run_of(50)
    items = book(invoices, [acme()])
    paid = invoices[10:20] + invoices[2:5]
    decision, proposals = run(
        rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text=_cut_list(paid, 10)), items
    )
    assert decision.status != "auto"
    assert not any("goes on in number order" in text_of(p) for p in proposals)


def test_a_list_the_bank_did_not_cut_does_not_go_on() -> None:
    invoices = _run_of(50)
    items = book(invoices, [acme()])
    paid = invoices[10:13]
    text = ", ".join(i.number for i in paid[:2])
    _decision, proposals = run(rcpt(str(sum(i.open_amount for i in paid)), account=ACME_IBAN, text=text), items)
    assert not any("goes on in number order" in text_of(p) for p in proposals)


def _forty_invoices(conn: sa.Connection) -> list[str]:
    """The customer and forty invoices RE-2026-0001.. of amounts as they come, due alike (in number order)."""
    _customer(conn)
    amounts = _amounts(40, 11)
    for k, amount in enumerate(amounts, 1):
        _invoice(conn, f"RE-2026-{k:04d}", amount)
    return amounts


def test_a_payment_run_passes_over_the_invoices_an_earlier_payment_of_the_run_left_to_finance_reads(
    store: Store,
) -> None:
    # BANK-1 names the five oldest invoices and pays 250.00 more: what the rest is for is for finance to read, its
    # invoices left open with a suggestion. BANK-2 names nothing and pays the next nine to the cent: the payer's run
    # paid the oldest of those BANK-1 did not.
    with store.begin() as conn:
        amounts = _forty_invoices(conn)
        first = sum(D(a) for a in amounts[:5])
        _receipt(conn, "BANK-1", str(first + D("250.00")), " ".join(f"RE-2026-{k:04d}" for k in range(1, 6)))
        _receipt(conn, "BANK-2", str(sum(D(a) for a in amounts[5:14])), "Sammelzahlung")
    stats = _engine(store).run()
    assert stats.auto == 1
    explained = MatchDesk(store).explain("BANK-2")
    assert {x["status"] for x in explained["allocations"]} == {"auto"}
    assert {x["invoice"] for x in explained["allocations"]} == {f"RE-2026-{k:04d}" for k in range(6, 15)}
    (why,) = {r for x in explained["allocations"] for r in x["reasons"] if r.startswith("passing over")}
    assert why.startswith(
        "passing over RE-2026-0001, RE-2026-0002, RE-2026-0003, RE-2026-0004, RE-2026-0005, which another payment "
        "of this run (BANK-1) reads as its own"
    )
    assert MatchDesk(store).explain("BANK-1")["receipt"]["match_status"] == "suggested"


def test_a_payment_run_is_decided_again_once_later_payments_of_the_run_took_the_invoices_before_it(
    store: Store,
) -> None:
    # BANK-1 names nothing and pays the nine invoices after the five oldest to the cent; BANK-2, later in the
    # statement, names the five oldest and pays them. When the pass meets BANK-1 the five are still open, and a
    # run in the middle of the customer's invoices is a suggestion; once BANK-2 took them, BANK-1's invoices are
    # the customer's oldest open ones, the run a payment run pays, whichever of the two the bank booked first.
    with store.begin() as conn:
        amounts = _forty_invoices(conn)
        _receipt(conn, "BANK-1", str(sum(D(a) for a in amounts[5:14])), "Sammelzahlung")
        _receipt(conn, "BANK-2", str(sum(D(a) for a in amounts[:5])), " ".join(f"RE-2026-{k:04d}" for k in range(1, 6)))
    stats = _engine(store).run()
    assert stats.auto == 2
    explained = MatchDesk(store).explain("BANK-1")
    assert {x["status"] for x in explained["allocations"]} == {"auto"}
    assert {x["invoice"] for x in explained["allocations"]} == {f"RE-2026-{k:04d}" for k in range(6, 15)}
    assert any("the customer's 9 oldest open invoices add up to" in r for r in explained["allocations"][0]["reasons"])
