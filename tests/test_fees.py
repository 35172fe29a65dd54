"""Bank fees, cash discounts (Skonto) and deductions, and what the hub learns from confirmed matches.

Small hand-written books driven as ``tests/test_matching.py`` drives them (its helpers), with the
production thresholds; then the same through the store: reconcile, confirm, reconcile again, forget.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hub_plugins.matching import PayerAccountMatcher, PayerNameMatcher, ReferenceMatcher

from hub.config import ReconcileConfig
from hub.recon import CustomerView, MatchDesk, ReconcileEngine, decide
from hub.recon.matching import DEFAULT_FEE_CEILING, FEE_MAX_SHARE
from hub.store import Store, schema

from .conftest import run_hub, write_config
from .test_matching import ACME_IBAN, acme, book, inv, lines, rcpt, run, text_of

D = Decimal
CEILING = DEFAULT_FEE_CEILING


def run_wide(receipt, items):  # type: ignore[no-untyped-def]
    """``run`` with the default fee ceiling (the matching tests' FEE is 15.00)."""
    return run(receipt, items, fee=CEILING)


# -- the ceiling ----------------------------------------------------------------------------------------


def test_default_fee_ceiling_comes_from_correspondent_bank_practice_not_fifteen() -> None:
    assert D(ReconcileConfig().bank_fee_tolerance) == CEILING
    assert D("80.00") <= CEILING  # charges of a receiving bank and one or two intermediaries


def test_correspondent_fee_of_45_on_a_named_invoice_is_auto_with_the_fee_written_off() -> None:
    items = book([inv(1, "INV-2026-000123", "C-ACME", "4318.51")], [acme()])
    decision, _ = run_wide(rcpt("4273.51", account=ACME_IBAN, text="INV-2026-000123"), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert lines(p) == [(1, D("4273.51"), "payment"), (1, D("45.00"), "write_off")]


def test_correspondent_fee_of_45_on_the_only_fitting_invoice_of_a_known_payer_is_auto() -> None:
    items = book(
        [
            inv(1, "A-1", "C-ACME", "4318.51"),
            inv(2, "A-2", "C-ACME", "912.40"),
            inv(3, "A-3", "C-ACME", "15230.07"),
        ],
        [acme()],
    )
    decision, _ = run_wide(rcpt("4273.51", account=ACME_IBAN, text="Zahlung"), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert lines(p) == [(1, D("4273.51"), "payment"), (1, D("45.00"), "write_off")]
    assert p.method == "amount+fee"
    assert "sets could" not in text_of(p)
    assert "by chance" in text_of(p)  # the coincidence is in the reasons


def test_the_fee_ceiling_in_the_base_currency_is_converted_to_the_receipts_currency() -> None:
    # 175.00 DKK is a Danish bank's fee for a foreign payment: about 23 EUR, within a ceiling of 100 EUR
    # (746 DKK), but above 100 read as kroner.
    items = book([inv(1, "INV-2026-000123", "C-ACME", "40318.50", currency="DKK")], [acme()])
    receipt = rcpt("40143.50", account=ACME_IBAN, text="INV-2026-000123", currency="DKK")
    engine = ReconcileEngine(store=None, matchers=[ReferenceMatcher(), PayerNameMatcher(), PayerAccountMatcher()])  # type: ignore[arg-type]
    engine.combiner.fee_units = {"DKK": D("7.46")}  # kroner a euro is worth
    decision = decide(receipt, engine.proposals(receipt, items), items, auto_threshold=0.95, suggest_threshold=0.3)
    assert decision.status == "auto"
    assert lines(decision.proposals[0]) == [(1, D("40143.50"), "payment"), (1, D("175.00"), "write_off")]
    # Without a rate for the currency the ceiling is taken as it is: 175.00 is no fee.
    _, proposals = run_wide(receipt, items)
    assert all(ln.kind == "payment" for p in proposals for ln in p.lines)


def test_a_run_converts_the_fee_ceiling_by_the_config_rates_and_a_synced_rate_wins(store: Store) -> None:
    # The invoices are in USD. 1 USD = 0.50 EUR (a made-up rate): the 100 EUR ceiling is 200 USD.
    add_receipt(store, "R1", "1850.00", "90000002")  # 150.00 short of 2,000.00
    ReconcileEngine(store, matchers(), fx=("EUR", {"USD": D("0.50")})).run()
    assert allocated(store, "R1") == {("payment", D("1850.00")), ("write_off", D("150.00"))}

    # A rate synced from a source (dated before the run) wins over the config's: 1 USD = 0.92 EUR
    # makes the ceiling 109 USD, and 150.00 is no fee.
    with store.begin() as conn:
        conn.execute(
            schema.fx_rate.insert().values(
                source="erp",
                external_id="USD-1",
                record_hash=1,
                synced_at=T0,
                currency="USD",
                base="EUR",
                rate=D("0.92"),
                date=dt.date(2026, 4, 1),
            )
        )
        add_invoice(conn, "90000004", "2000.00")
    add_receipt(store, "R2", "1850.00", "90000004")  # as R1
    ReconcileEngine(store, matchers(), fx=("EUR", {"USD": D("0.50")})).run()
    assert allocated(store, "R2") == {("payment", D("1850.00"))}


def test_the_hub_gives_its_reconcile_engine_the_fx_base_and_rates(tmp_path: Path) -> None:
    from hub.app import Hub
    from hub.config import load_config

    write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", extra='[fx]\nbase = "EUR"\nrates = { USD = "0.92" }\n')
    hub = Hub(load_config(tmp_path / "hub.toml"))
    assert hub.reconcile_engine().fx == ("EUR", {"USD": D("0.92")})
    hub.store.dispose()


def test_a_fee_above_the_ceiling_is_not_written_off() -> None:
    items = book([inv(1, "INV-2026-000123", "C-ACME", "4318.51")], [acme()])
    _, proposals = run(rcpt("4273.51", account=ACME_IBAN, text="INV-2026-000123"), items, fee=D("40.00"))
    assert all(ln.kind == "payment" for p in proposals for ln in p.lines)


def test_a_wider_fee_window_weighs_a_fee_from_the_customers_invoices_less_where_many_invoices_could_fit() -> None:
    few = book([inv(1, "A-1", "C-ACME", "4318.51"), inv(2, "A-2", "C-ACME", "912.40")], [acme()])
    many = book(
        [inv(1, "A-1", "C-ACME", "4318.51")]
        + [inv(k, f"A-{k}", "C-ACME", f"{3000 + 37 * k}.{k % 97:02d}") for k in range(2, 80)],
        [acme()],
    )
    receipt = rcpt("4273.51", account=ACME_IBAN)

    def fee_confidence(items) -> float:  # type: ignore[no-untyped-def]
        _, proposals = run_wide(receipt, items)
        return max(p.confidence for p in proposals if p.method == "amount+fee" and p.lines[0].invoice_id == 1)

    assert fee_confidence(many) < fee_confidence(few)


def test_an_odd_shortfall_within_the_ceiling_is_never_auto_even_from_a_known_payer() -> None:
    items = book([inv(1, "INV-2026-000123", "C-ACME", "4318.51")], [acme()])
    decision, proposals = run_wide(rcpt("4295.17", account=ACME_IBAN, text="INV-2026-000123"), items)
    assert decision.status != "auto" or decision.proposals[0].method == "reference+partial"
    fee = next(p for p in proposals if p.method == "reference+fee")
    assert "an odd shortfall" in text_of(fee)
    assert not fee.automatic


def test_a_price_list_fee_ending_in_90_counts_as_a_tariff_fee() -> None:
    items = book([inv(1, "INV-2026-000123", "C-ACME", "1000.00")], [acme()])
    decision, _ = run_wide(rcpt("990.10", account=ACME_IBAN, text="INV-2026-000123"), items)
    assert decision.status == "auto"
    assert lines(decision.proposals[0]) == [(1, D("990.10"), "payment"), (1, D("9.90"), "write_off")]


def test_a_percentage_fee_on_the_amount_is_recognised_to_the_cent() -> None:
    # 0.1 % of 24,207.30 is 24.21: an odd amount, but exactly a percentage charge.
    items = book([inv(1, "INV-2026-000123", "C-ACME", "24207.30")], [acme()])
    decision, _ = run_wide(rcpt("24183.09", account=ACME_IBAN, text="INV-2026-000123"), items)
    assert decision.status == "auto"
    p = decision.proposals[0]
    assert lines(p) == [(1, D("24183.09"), "payment"), (1, D("24.21"), "write_off")]
    assert "0.1% of" in text_of(p)


def test_a_fee_that_is_a_large_share_of_a_small_invoice_weighs_less() -> None:
    small = book([inv(1, "INV-2026-000123", "C-ACME", "60.00")], [acme()])
    large = book([inv(1, "INV-2026-000123", "C-ACME", "6000.00")], [acme()])
    _, a = run_wide(rcpt("35.00", account=ACME_IBAN, text="INV-2026-000123"), small)
    _, b = run_wide(rcpt("5975.00", account=ACME_IBAN, text="INV-2026-000123"), large)
    fee_small = [p for p in a if p.method == "reference+fee"]
    fee_large = next(p for p in b if p.method == "reference+fee")
    assert not fee_small or fee_small[0].confidence < fee_large.confidence


@pytest.mark.parametrize(
    ("paid", "invoices", "ceiling"),
    [
        ("44.50", ["49.00", "89.00", "299.00"], "100.00"),  # 49.00 + 89.00 = 138.00, "less a fee" of 93.50
        # half of 789.77 paid, in CZK: 789.77 + 791.62 "less a fee" of 1,186.50, within 100 EUR in CZK
        ("394.89", ["789.77", "791.62", "3200.00"], "2433.00"),
        # within a third of the three, but more than the largest of them: nothing left paid on it
        ("200.20", ["100.10", "100.35", "100.75"], "150.00"),
    ],
)
def test_a_set_of_the_customers_invoices_is_not_read_as_paid_less_a_fee_above_a_third_of_it_or_above_one_of_them(
    paid: str, invoices: list[str], ceiling: str
) -> None:
    # A payment from the customer's account, naming nothing, less than any two of its invoices: one of them
    # paid in part. A bank fee is a few units, or a few percent of what was sent: one larger than a third of
    # what was due is no fee (as for one invoice), however wide the ceiling in a currency of small units.
    # Read so, the fee took more than the invoice it was deducted from: a payment line below zero.
    items = book([inv(k, f"A-{k}", "C-ACME", a) for k, a in enumerate(invoices, 1)], [acme()])
    decision, proposals = run(rcpt(paid, account=ACME_IBAN), items, fee=D(ceiling))
    assert decision.status != "auto"
    assert all(ln.amount > 0 for p in proposals for ln in p.lines if ln.kind == "payment")
    assert not any(
        ln.kind == "write_off" and ln.amount > FEE_MAX_SHARE * sum(x.amount for x in p.lines)  # of what was due
        for p in proposals
        for ln in p.lines
    )


# -- deductions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["abzgl. Reklamation", "minus damaged goods", "less freight"])
def test_a_stated_deduction_is_never_written_off_as_a_fee_automatically(text: str) -> None:
    items = book([inv(1, "INV-2026-000123", "C-ACME", "1000.00")], [acme()])
    decision, proposals = run_wide(rcpt("960.00", account=ACME_IBAN, text=f"INV-2026-000123 {text}"), items)
    fee = next(p for p in proposals if p.method == "reference+fee")
    assert not fee.automatic
    assert "states a deduction" in text_of(fee)
    if decision.status == "auto":  # a part payment leaves the rest open for the dispute: no write-off
        assert all(ln.kind == "payment" for ln in decision.proposals[0].lines)


# -- Skonto ---------------------------------------------------------------------------------------------


def test_skonto_on_the_only_fitting_invoice_of_a_known_payer_naming_nothing_is_auto() -> None:
    items = book(
        [inv(1, "RE-1", "C-ACME", "3393.70"), inv(2, "RE-2", "C-ACME", "1200.00"), inv(3, "RE-3", "C-ACME", "870.15")],
        [acme()],
    )
    decision, _ = run_wide(rcpt("3325.83", account=ACME_IBAN, text="inv 163 abzgl. 2% Skonto"), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert lines(p) == [(1, D("3325.83"), "payment"), (1, D("67.87"), "write_off")]
    assert "the text states 2% Skonto" in text_of(p)


@pytest.mark.parametrize(
    "text",
    ["abzgl. 3% Skonto", "minus 3% discount", "3 % Skonto", "Skontoabzug 3%", "escompte 3%", "sconto 3%"],
)
def test_the_discount_stated_in_the_text_is_read(text: str) -> None:
    items = book([inv(1, "RE-2026-0000001", "C-ACME", "1000.00")], [acme()])
    decision, _ = run_wide(rcpt("970.00", account=ACME_IBAN, text=f"RE-2026-0000001 {text}"), items)
    assert decision.status == "auto"
    assert "the text states 3%" in text_of(decision.proposals[0])


def test_skonto_at_a_stated_rate_outside_the_usual_ones_is_applied() -> None:
    items = book([inv(1, "RE-2026-0000001", "C-ACME", "1000.00")], [acme()])
    decision, _ = run_wide(rcpt("975.00", account=ACME_IBAN, text="RE-2026-0000001 abzgl. 2,5% Skonto"), items)
    assert decision.status == "auto"
    assert lines(decision.proposals[0]) == [(1, D("975.00"), "payment"), (1, D("25.00"), "write_off")]


def test_skonto_together_with_a_bank_fee_writes_off_both() -> None:
    # 3 % of 10,000.00 is 300.00; the payer's bank took 25.00 besides.
    items = book([inv(1, "RE-2026-0000001", "C-ACME", "10000.00")], [acme()])
    decision, _ = run_wide(rcpt("9675.00", account=ACME_IBAN, text="RE-2026-0000001 abzgl. 3% Skonto"), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert sorted(lines(p)) == [
        (1, D("25.00"), "write_off"),
        (1, D("300.00"), "write_off"),
        (1, D("9675.00"), "payment"),
    ]
    assert "a bank fee of 25.00" in text_of(p)


def test_skonto_on_each_invoice_rounded_is_recognised() -> None:
    items = book(
        [inv(1, "RE-2026-0000001", "C-ACME", "333.35"), inv(2, "RE-2026-0000002", "C-ACME", "333.35")], [acme()]
    )
    # 2 % of each is 6.667 -> 6.67, twice 13.34; 2 % of the total would be 13.33.
    decision, _ = run_wide(
        rcpt("653.36", account=ACME_IBAN, text="RE-2026-0000001 RE-2026-0000002 abzgl. 2% Skonto"), items
    )
    assert decision.status == "auto"
    assert sum(ln.amount for ln in decision.proposals[0].lines if ln.kind == "write_off") == D("13.34")


def test_skonto_taken_on_the_invoices_less_the_credit_note_netted_is_recognised() -> None:
    # 3 % of what is paid, 2,000.00 + 1,500.00 less the credit note's 300.00 = 3,200.00, is 96.00
    # (3 % of the invoices alone would be 105.00).
    items = book(
        [
            inv(1, "RE-2026-0000001", "C-ACME", "2000.00"),
            inv(2, "RE-2026-0000002", "C-ACME", "1500.00"),
            inv(3, "GS-2026-0000009", "C-ACME", "-300.00"),
        ],
        [acme()],
    )
    text = "RE-2026-0000001 RE-2026-0000002 GS-2026-0000009 abzgl. 3% Skonto"
    decision, _ = run_wide(rcpt("3104.00", account=ACME_IBAN, text=text), items)
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert p.method == "reference+discount"
    assert sum(ln.amount for ln in p.lines if ln.kind == "write_off") == D("96.00")
    assert sorted((ln.invoice_id, ln.kind) for ln in p.lines if ln.kind != "write_off") == [
        (1, "payment"),
        (2, "payment"),
        (3, "credit_note"),
    ]


def test_a_stated_rate_that_does_not_fit_the_shortfall_is_not_auto() -> None:
    items = book([inv(1, "RE-2026-0000001", "C-ACME", "1000.00")], [acme()])
    decision, _ = run_wide(rcpt("980.00", account=ACME_IBAN, text="RE-2026-0000001 abzgl. 3% Skonto"), items)
    assert decision.status != "auto" or all(ln.kind == "payment" for ln in decision.proposals[0].lines)


# -- learned fees ---------------------------------------------------------------------------------------


def learned(fee: str, currency: str = "EUR", times: int = 2) -> CustomerView:
    """Acme, whose bank deducted ``fee`` on ``times`` earlier payments (as ``load_book`` finds it)."""
    return CustomerView(
        "C-ACME", "Acme Logistics GmbH", (), ("DE89 3704 0044 0532 0130 00",), None, ((currency, D(fee), times),)
    )


def test_a_fee_this_payers_bank_deducted_before_is_strong_evidence_and_says_so() -> None:
    # 22.35: a converted fee, odd on its own; known for this payer it is the fee it always is.
    items = book([inv(1, "INV-2026-000123", "C-ACME", "1000.00")], [learned("22.35")])
    decision, _ = run_wide(rcpt("977.65", account=ACME_IBAN, text="INV-2026-000123"), items)
    assert decision.status == "auto"
    p = decision.proposals[0]
    assert lines(p) == [(1, D("977.65"), "payment"), (1, D("22.35"), "write_off")]
    assert "C-ACME's bank deducted 22.35 EUR before" in text_of(p)


def test_a_learned_fee_in_another_currency_does_not_count() -> None:
    items = book([inv(1, "INV-2026-000123", "C-ACME", "1000.00")], [learned("22.35", "USD")])
    decision, _ = run_wide(rcpt("977.65", account=ACME_IBAN, text="INV-2026-000123"), items)
    assert decision.status != "auto" or decision.proposals[0].method == "reference+partial"


# -- through the store: reconcile, confirm, reconcile, forget --------------------------------------------

T0 = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
_ids = itertools.count(1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    s.migrate()
    with s.begin() as conn:
        conn.execute(
            schema.customer.insert().values(
                source="erp",
                external_id="C1",
                record_hash=1,
                synced_at=T0,
                canonical_id="C1",
                legal_name="Keystone Manufacturing Corp.",
                aliases=[],
                tax_ids=[],
                ibans=["GB78292084417867433940"],
                links=[],
            )
        )
        for number, amount in (("90000001", "1000.00"), ("90000002", "2000.00"), ("90000003", "700.00")):
            add_invoice(conn, number, amount)
    yield s
    s.dispose()


def add_invoice(conn: sa.Connection, number: str, amount: str, customer: str = "C1") -> None:
    conn.execute(
        schema.invoice.insert().values(
            source="erp",
            external_id=number,
            record_hash=next(_ids),
            synced_at=T0,
            number=number,
            customer_external_id=customer,
            issue_date=dt.date(2026, 3, 1),
            due_date=dt.date(2026, 3, 31),
            currency="USD",
            amount=D(amount),
            open_amount=D(amount),
            status="open",
        )
    )


def add_receipt(
    store: Store,
    ref: str,
    amount: str,
    text: str,
    *,
    payer: str = "Someone Unknown",
    account: str = "GB00999999999999999999",
    ultimate: str | None = None,
    day: int = 2,
) -> None:
    with store.begin() as conn:
        n = next(_ids)
        conn.execute(
            schema.receipt.insert().values(
                source="bank",
                external_id=ref,
                bank_ref=ref,
                record_hash=n,
                synced_at=T0,
                booking_date=dt.date(2026, 4, day),
                amount=D(amount),
                currency="USD",
                direction="credit",
                reversal=False,
                payer_name=payer,
                payer_account=account,
                ultimate_payer_name=ultimate,
                remittance=text,
                references=[],
                additional_remittance=[],
            )
        )


def matchers() -> list:  # type: ignore[type-arg]
    return [ReferenceMatcher(), PayerNameMatcher(), PayerAccountMatcher()]


def engine(store: Store) -> ReconcileEngine:
    return ReconcileEngine(store, matchers())


def allocated(store: Store, ref: str) -> set[tuple[str, Decimal]]:
    a, r = schema.allocation, schema.receipt
    with store.connect() as conn:
        rows = conn.execute(sa.select(a.c.kind, a.c.amount).join(r).where(r.c.bank_ref == ref)).all()
    return {(kind, amount) for kind, amount in rows}


def status_of(store: Store, ref: str) -> str:
    r = schema.receipt
    with store.connect() as conn:
        return str(conn.execute(sa.select(r.c.match_status).where(r.c.bank_ref == ref)).scalar_one())


def test_a_confirmed_fee_is_learned_shown_in_the_next_match_and_can_be_forgotten(store: Store) -> None:
    # An unknown payer names an invoice and is 22.35 short: a converted fee is an odd amount, so the
    # first time it is only suggested; confirmed, the next payment short by 22.35 is automatic.
    add_receipt(store, "R1", "977.65", "90000001")
    engine(store).run()
    assert status_of(store, "R1") == "suggested"
    desk = MatchDesk(store)
    result = desk.confirm("R1", actor="alice")
    assert {"customer": "C1", "kind": "fee", "value": "22.35 USD"} in result.learned
    with store.connect() as conn:
        assert ("USD", D("22.35"), 1) in engine(store).load_book(conn).customers["C1"].fees

    add_receipt(store, "R2", "1977.65", "90000002")
    engine(store).run()
    assert status_of(store, "R2") == "matched"
    reasons = [r for a in desk.explain("R2")["allocations"] for r in a["reasons"]]
    assert any("C1's bank deducted 22.35 USD before" in r for r in reasons)

    forgotten = desk.forget("C1", fees=[D("22.35")], actor="bob")
    assert {"kind": "fee", "value": "22.35"} in forgotten["forgotten"]
    with store.connect() as conn:
        assert engine(store).load_book(conn).customers["C1"].fees == ()
        actions = [row.action for row in conn.execute(sa.select(schema.audit_log))]
    assert "match.forget" in actions

    # Forgotten, 22.35 is an odd shortfall again: the payment is applied and nothing is written off.
    add_receipt(store, "R3", "677.65", "90000003")
    engine(store).run()
    with store.connect() as conn:
        kinds = conn.execute(
            sa.select(schema.allocation.c.kind, schema.allocation.c.status)
            .join(schema.receipt)
            .where(schema.receipt.c.bank_ref == "R3")
        ).all()
    assert {kind for kind, _ in kinds} == {"payment"}
    assert not any("deducted 22.35 USD before" in r for a in desk.explain("R3")["allocations"] for r in a["reasons"])


# -- what a run teaches itself: a fee size other payments of the payer were short by ---------------------

KEYSTONE_IBAN = "GB78292084417867433940"


def many_invoices(store: Store) -> dict[str, str]:
    """Eighty more open invoices of C1: too many for a fee found among them to be more than a suggestion."""
    amounts = {f"9100{k:04d}": f"{3000 + 37 * k}.{k % 97:02d}" for k in range(1, 81)}
    with store.begin() as conn:
        for number, amount in amounts.items():
            add_invoice(conn, number, amount)
    return amounts


def less(amount: str, fee: str) -> str:
    return str(D(amount) - D(fee))


def reasons_of(store: Store, ref: str) -> list[str]:
    return [r for a in MatchDesk(store).explain(ref)["allocations"] for r in a["reasons"]]


def test_a_payment_naming_nothing_short_by_a_fee_among_many_invoices_is_only_suggested(store: Store) -> None:
    amounts = many_invoices(store)
    add_receipt(store, "R1", less(amounts["91000005"], "45.00"), "payment", account=KEYSTONE_IBAN)
    engine(store).run()
    assert status_of(store, "R1") == "suggested"


@pytest.mark.parametrize("block", [1, 5000])
def test_payments_of_one_run_short_by_the_same_fee_teach_each_other_the_fee_their_bank_charges(
    store: Store, block: int
) -> None:
    amounts = many_invoices(store)
    add_receipt(store, "R1", less(amounts["91000005"], "45.00"), "payment", account=KEYSTONE_IBAN)
    add_receipt(store, "R2", less(amounts["91000009"], "45.00"), "Zahlung", account=KEYSTONE_IBAN)
    stats = ReconcileEngine(store, matchers(), block=block).run()
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("matched", "matched")
    assert stats.auto == 2
    assert allocated(store, "R1") == {("payment", D(less(amounts["91000005"], "45.00"))), ("write_off", D("45.00"))}
    said = "C1's bank deducted 45.00 USD from 1 other payment of this run as well"
    assert any(said in r for r in reasons_of(store, "R2"))
    # What was written is what a second run leaves alone: nothing decided twice.
    assert engine(store).run().auto == 0


def test_a_fee_written_off_on_a_named_invoice_later_in_the_run_teaches_an_earlier_payment_naming_nothing(
    store: Store,
) -> None:
    amounts = many_invoices(store)
    add_receipt(store, "R1", less(amounts["91000005"], "45.00"), "payment", account=KEYSTONE_IBAN)
    add_receipt(store, "R2", less(amounts["91000030"], "45.00"), "91000030", account=KEYSTONE_IBAN)
    engine(store).run()
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("matched", "matched")


def test_payments_of_one_run_short_by_different_fees_teach_nothing(store: Store) -> None:
    amounts = many_invoices(store)
    add_receipt(store, "R1", less(amounts["91000005"], "45.00"), "payment", account=KEYSTONE_IBAN)
    add_receipt(store, "R2", less(amounts["91000009"], "30.00"), "payment", account=KEYSTONE_IBAN)
    engine(store).run()
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("suggested", "suggested")


def test_the_second_look_leaves_alone_a_set_that_is_the_only_one_only_because_later_receipts_took_the_other(
    store: Store,
) -> None:
    # R1 pays 333.33: two pairs of the customer's invoices add up to it, so it is a suggestion. R2, later,
    # names its invoice and is 45.00 short (the customer's bank's size, for the second look); R3 names
    # 91000003, one of the other pair. At the end of the pass one pair is left for R1,
    # but the fee learned says nothing about R1: it stays as the pass decided it.
    with store.begin() as conn:
        for number, amount in (("91000001", "111.11"), ("91000002", "222.22"), ("91000003", "133.33")):
            add_invoice(conn, number, amount)
        add_invoice(conn, "91000004", "200.00")
    add_receipt(store, "R1", "333.33", "payment", account=KEYSTONE_IBAN)
    add_receipt(store, "R2", "955.00", "90000001", account=KEYSTONE_IBAN)
    add_receipt(store, "R3", "133.33", "91000003", account=KEYSTONE_IBAN)
    engine(store).run()
    assert (status_of(store, "R2"), status_of(store, "R3")) == ("matched", "matched")
    assert ("write_off", D("45.00")) in allocated(store, "R2")
    assert status_of(store, "R1") == "suggested"


# -- what a confirmation does not teach ----------------------------------------------------------------


def add_customer(
    store: Store, external_id: str, name: str, parent: str | None = None, *, ibans: Sequence[str] = ()
) -> None:
    with store.begin() as conn:
        conn.execute(
            schema.customer.insert().values(
                source="erp",
                external_id=external_id,
                record_hash=next(_ids),
                synced_at=T0,
                canonical_id=external_id,
                parent_external_id=parent,
                legal_name=name,
                aliases=[],
                tax_ids=[],
                ibans=list(ibans),
                links=[],
            )
        )


def learned_kinds(store: Store, ref: str, invoice: str) -> set[str]:
    return {x["kind"] for x in MatchDesk(store).confirm(ref, [invoice], actor="alice").learned}


@pytest.mark.parametrize(
    ("payer", "ultimate", "text"),
    [
        ("Bibby Financial Services GmbH", None, "90000001 Abtretung Keystone Manufacturing"),
        ("PayFlow Ltd", "Keystone Manufacturing Corp.", "90000001"),
        ("PayFlow Ltd OBO Keystone Manufacturing", None, "90000001"),
        ("Keystone Holding", None, "90000001 on behalf of Keystone Manufacturing"),
    ],
)
def test_the_name_and_account_of_a_payer_that_pays_for_the_customer_are_not_learned(
    store: Store, payer: str, ultimate: str | None, text: str
) -> None:
    # A factor, a payment provider, a parent: it pays for other customers too, and what it is says
    # nothing about who the next payment from it is for.
    add_receipt(store, "R1", "1000.00", text, payer=payer, account="DE44500105175407324931", ultimate=ultimate)
    engine(store).run()
    assert learned_kinds(store, "R1", "90000001") == set()
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.customer_alias)).scalar() == 0


def test_an_order_number_after_the_word_auftrag_is_no_third_party(store: Store) -> None:
    add_receipt(store, "R1", "1000.00", "Zahlung Auftrag 43320 90000001", payer="Keystone Mfg")
    engine(store).run()
    assert learned_kinds(store, "R1", "90000001") == {"account", "name"}


def test_a_payer_name_that_is_another_customers_name_is_not_learned(store: Store) -> None:
    add_customer(store, "C2", "Harbour Trading Ltd")
    add_receipt(store, "R1", "1000.00", "90000001", payer="HARBOUR TRADING LTD")
    engine(store).run()
    assert learned_kinds(store, "R1", "90000001") == {"account"}


def test_a_name_cut_at_35_characters_that_begins_other_customers_names_is_not_learned(store: Store) -> None:
    add_customer(store, "C2", "Przedsiębiorstwo Produkcyjno-Handlowe Kowalski Sp. z o.o.")
    add_customer(store, "C3", "Przedsiębiorstwo Produkcyjno-Handlowe Nowak Sp. z o.o.")
    cut = "PRZEDSIEBIORSTWO PRODUKCYJNO-HANDLO"
    assert len(cut) == 35
    add_receipt(store, "R1", "1000.00", "90000001", payer=cut)
    engine(store).run()
    assert learned_kinds(store, "R1", "90000001") == {"account"}


def _teach(store: Store, customers: tuple[str, ...]) -> None:
    with store.begin() as conn:
        for customer in customers:
            for kind, value in (("account", "DE44500105175407324931"), ("name", "Bibby Financial Services")):
                conn.execute(
                    schema.customer_alias.insert().values(
                        customer_id=customer,
                        kind=kind,
                        value=value,
                        origin="confirmed-match",
                        created_by="alice",
                        created_at=T0,
                    )
                )
        conn.execute(
            schema.customer_alias.insert().values(
                customer_id="C1",
                kind="account",
                value="GB11111111111111111111",
                origin="confirmed-match",
                created_by="alice",
                created_at=T0,
            )
        )


def test_a_payer_learned_for_two_customers_identifies_neither(store: Store) -> None:
    # Learned before these rules, or a payer that pays for two customers without saying so: the alias of
    # two customers is an intermediary's and no evidence for either.
    add_customer(store, "C2", "Harbour Trading Ltd")
    _teach(store, ("C1", "C2"))
    with store.connect() as conn:
        customers = engine(store).load_book(conn).customers
    for customer in ("C1", "C2"):
        assert "DE44500105175407324931" not in customers[customer].ibans
        assert "Bibby Financial Services" not in customers[customer].aliases
    assert "GB11111111111111111111" in customers["C1"].ibans


def test_a_payer_learned_for_two_subsidiaries_of_one_parent_stays_shared_by_them(store: Store) -> None:
    add_customer(store, "C2", "Keystone Tooling Ltd", parent="C0")
    add_customer(store, "C3", "Keystone Castings Ltd", parent="C0")
    _teach(store, ("C2", "C3"))
    with store.connect() as conn:
        customers = engine(store).load_book(conn).customers
    for customer in ("C2", "C3"):
        assert "DE44500105175407324931" in customers[customer].ibans
        assert "Bibby Financial Services" in customers[customer].aliases


def test_forgetting_everything_learned_removes_learned_accounts_and_names_too(store: Store) -> None:
    add_receipt(store, "R1", "977.65", "90000001")
    engine(store).run()
    desk = MatchDesk(store)
    learned_kinds = {x["kind"] for x in desk.confirm("R1", actor="alice").learned}
    assert {"account", "name", "fee"} <= learned_kinds
    forgotten = desk.forget("C1", actor="bob")
    assert {x["kind"] for x in forgotten["forgotten"]} == {"account", "name", "fee"}
    with store.connect() as conn:
        loaded = engine(store).load_book(conn).customers["C1"]
    assert loaded.fees == ()
    assert "GB00999999999999999999" not in loaded.ibans
    assert "Someone Unknown" not in loaded.aliases


def test_engine_default_ceiling_is_the_configs() -> None:
    eng = ReconcileEngine(store=None, matchers=[])  # type: ignore[arg-type]
    assert eng.combiner.fee_tolerance == CEILING


def test_cli_forget_a_learned_fee_and_a_round_fee_not_doubted_by_a_discount_split(store: Store, tmp_path: Path) -> None:
    add_receipt(store, "R1", "977.65", "90000001")
    engine(store).run()
    MatchDesk(store).confirm("R1", actor="alice")
    write_config(
        tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", customers=None, invoices=None, statements=None, sink=None
    )
    done = json.loads(
        run_hub("--json", "matches", "forget", "C1", "--fee", "22.35", "--by", "bob", cwd=tmp_path).stdout
    )
    assert done["forget"]["forgotten"] == [{"kind": "fee", "value": "22.35"}]
    again = run_hub("matches", "forget", "C1", "--fee", "22.35", cwd=tmp_path, check=False)
    assert again.returncode == 1 and "nothing learned about C1" in again.stderr


def test_a_round_fee_on_a_named_invoice_is_not_rivalled_by_a_discount_and_fee_split_nobody_wrote() -> None:
    # 37.50 short of 1,499.57: also 1% (15.00) plus 22.50; without a word of a discount, a fee it is.
    items = book([inv(1, "90001474", "C-ACME", "1499.57")], [acme()])
    decision, proposals = run_wide(rcpt("1462.07", account=ACME_IBAN, text="90001474"), items)
    assert decision.status == "auto"
    assert [p.method for p in proposals] == ["reference+fee"]


def test_several_invoices_named_short_by_a_correspondent_size_fee_that_may_be_a_netted_credit_note_stay_open() -> None:
    items = book([inv(1, "90000420", "C-ACME", "6000.00"), inv(2, "90000490", "C-ACME", "6803.12")], [acme()])
    decision, proposals = run_wide(
        rcpt("12758.12", account=ACME_IBAN, text="90000420, 90000490, GS 2026 000344"), items
    )
    fee = next(p for p in proposals if p.method == "reference+fee")
    assert "the shortfall may be a credit note netted" in text_of(fee)
    assert not fee.automatic
    # The money is applied as named; the 45.00 is not written off but left open for the credit note.
    assert decision.status == "auto"
    (p,) = decision.proposals
    assert p.method == "reference+short"
    assert sorted(lines(p)) == [(1, D("6000.00"), "payment"), (2, D("6758.12"), "payment")]
    # A size this payer's bank deducted before is a fee, named invoices or not.
    items = book([inv(1, "90000420", "C-ACME", "6000.00"), inv(2, "90000490", "C-ACME", "6803.12")], [learned("45.00")])
    decision, _ = run_wide(rcpt("12758.12", account=ACME_IBAN, text="90000420, 90000490"), items)
    assert decision.status == "auto"


def test_a_fee_found_among_many_invoices_that_could_fit_by_chance_is_only_suggested() -> None:
    many = book(
        [inv(1, "A-1", "C-ACME", "4318.51")]
        + [inv(k, f"A-{k}", "C-ACME", f"{3000 + 37 * k}.{k % 97:02d}") for k in range(2, 80)],
        [acme()],
    )
    decision, proposals = run_wide(rcpt("4273.51", account=ACME_IBAN), many)
    assert decision.status != "auto"
    fee = next(p for p in proposals if p.method == "amount+fee" and p.lines[0].invoice_id == 1)
    assert not fee.automatic


def test_an_odd_shortfall_larger_than_a_receiving_banks_fee_leaves_a_part_payment_unrivalled() -> None:
    items = book([inv(1, "INV-2026-005172", "C-ACME", "174.21")], [acme()])
    decision, proposals = run_wide(rcpt("130.66", account=ACME_IBAN, text="INV-2026-005172"), items)
    assert [p.method for p in proposals] == ["reference+partial"]
    assert decision.status == "auto"
