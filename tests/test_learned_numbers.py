"""What confirmed matches teach about how a customer's payers write its invoice numbers: a payer that wrote the
sequence number alone ("Zahlung 95" for RE-2026-000095) in a payment finance confirmed has its next bare number
read as one of the customer's invoice numbers, as after an invoice word; shown in the reasons, in English and
Chinese, and forgotten on request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_plugins.matching import PayerAccountMatcher, PayerNameMatcher, ReferenceMatcher

from hub.recon import MatchDesk, ReconcileEngine
from hub.store import Store

from . import test_fees as fees
from .conftest import run_hub, write_config
from .test_fees import status_of
from .test_run_accounts import paid, reasons_of

IBAN = "DE44500105175407324931"
HABIT = "a bare number, as this customer's payers wrote 1 of its invoice numbers in payments finance confirmed"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """C1, known by its account, with invoices in pairs of one amount: only the number written tells them apart."""
    s = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    s.migrate()
    fees.add_customer(s, "C1", "Brightwater Logistics GmbH", ibans=[IBAN])
    with s.begin() as conn:
        for number, amount in (
            ("RE-2026-000095", "500.00"),
            ("RE-2026-000099", "500.00"),
            ("RE-2026-000096", "880.10"),
            ("RE-2026-000097", "880.10"),
            ("RE-2026-000101", "312.40"),
            ("RE-2026-000102", "312.40"),
        ):
            fees.add_invoice(conn, number, amount, "C1")
    yield s
    s.dispose()


def run(store: Store) -> None:
    ReconcileEngine(store, [ReferenceMatcher(), PayerNameMatcher(), PayerAccountMatcher()]).run()


def pays(store: Store, ref: str, amount: str, text: str) -> None:
    fees.add_receipt(store, ref, amount, text, payer="Brightwater Logistics GmbH", account=IBAN)


def confirm_first(store: Store) -> None:
    """The payer writes "Zahlung 95" for RE-2026-000095: a bare two-digit number names nothing, so finance
    confirms which of the two invoices of the amount it pays."""
    pays(store, "R1", "500.00", "Zahlung 95")
    run(store)
    assert status_of(store, "R1") == "suggested"
    MatchDesk(store).confirm("R1", ["RE-2026-000095"], actor="alice")


def test_a_bare_short_number_names_nothing_from_a_payer_never_confirmed(store: Store) -> None:
    pays(store, "R2", "880.10", "Zahlung 97")
    run(store)
    assert status_of(store, "R2") == "suggested"


def test_a_confirmed_payment_teaches_that_its_payers_write_the_sequence_number_alone(store: Store) -> None:
    confirm_first(store)
    with store.connect() as conn:
        book = ReconcileEngine(store, []).load_book(conn)
    assert book.customers["C1"].written == (("RE-2026-000095", ("Zahlung 95",)),)


def test_the_next_bare_number_from_that_customers_payer_is_read_as_its_invoice_number(store: Store) -> None:
    confirm_first(store)
    pays(store, "R2", "880.10", "Zahlung 97")
    run(store)
    assert paid(store, "R2") == {"RE-2026-000097"}
    assert any(HABIT in r for r in reasons_of(store, "R2"))
    chinese = "在财务已确认的付款中，该客户的付款人曾如此书写其1个发票号"  # noqa: RUF001 - Chinese punctuation
    assert any(chinese in r for r in reasons_of(store, "R2", "zh_CN"))


def test_a_year_written_bare_stays_no_number_for_a_payer_with_the_habit(store: Store) -> None:
    confirm_first(store)
    pays(store, "R2", "312.40", "Zahlung 2026")
    run(store)
    assert status_of(store, "R2") == "suggested"


def test_forgetting_the_numbers_undoes_the_habit(store: Store) -> None:
    confirm_first(store)
    forgotten = MatchDesk(store).forget("C1", numbers=True, actor="bob")
    assert forgotten["forgotten"] == [{"kind": "numbers", "value": "RE-2026-000095"}]
    pays(store, "R2", "880.10", "Zahlung 97")
    run(store)
    assert status_of(store, "R2") == "suggested"
    with pytest.raises(Exception, match="nothing learned about C1 to forget"):
        MatchDesk(store).forget("C1", numbers=True, actor="bob")


def test_a_payment_confirmed_after_forgetting_teaches_the_habit_again(store: Store) -> None:
    confirm_first(store)
    MatchDesk(store).forget("C1", numbers=True, actor="bob")
    pays(store, "R3", "312.40", "Zahlung 101")  # a bare number of three digits: read, but the amount is twice open
    run(store)
    MatchDesk(store).confirm("R3", ["RE-2026-000101"], actor="alice")
    pays(store, "R2", "880.10", "Zahlung 97")
    run(store)
    assert paid(store, "R2") == {"RE-2026-000097"}
    # Forgotten again: one payment learned, as the first time.
    again = MatchDesk(store).forget("C1", numbers=True, actor="bob")
    assert again["forgotten"] == [{"kind": "numbers", "value": "RE-2026-000101"}]


def test_cli_forget_takes_the_numbers(store: Store, tmp_path: Path) -> None:
    confirm_first(store)
    write_config(tmp_path, store.url, customers=None, invoices=None, statements=None, sink=None)
    done = run_hub("--json", "matches", "forget", "C1", "--numbers", "--by", "bob", cwd=tmp_path).stdout
    assert '"kind": "numbers"' in done
