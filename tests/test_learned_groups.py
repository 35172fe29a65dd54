"""What a confirmed match teaches about a payer's group: a customer whose invoices another customer paid from
its own account (a parent, a sister company, a shared service centre the customer master does not link it to)
is paid for by that customer, as a subsidiary by its parent; shown in the reasons, and forgotten on request."""

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

#: The holding's own account, in the customer master.
HOLDING_IBAN = "DE89370400440532013000"
#: Another group's treasury account, in the customer master.
OTHER_IBAN = "FR7630006000011234567890189"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """H1, a holding with invoices of its own, and S1, a customer the master links to no group, each with
    invoices of amounts nobody else has."""
    s = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    s.migrate()
    fees.add_customer(s, "H1", "Northwind Holding AG", ibans=[HOLDING_IBAN])
    fees.add_customer(s, "S1", "Brightwater Logistics GmbH")
    with s.begin() as conn:
        for number, customer, amount in (
            ("60000001", "H1", "5000.00"),
            ("60000002", "H1", "1712.40"),
            ("50000001", "S1", "1234.56"),
            ("50000002", "S1", "880.10"),
            ("50000003", "S1", "3310.75"),
        ):
            fees.add_invoice(conn, number, amount, customer)
    yield s
    s.dispose()


def run(store: Store) -> None:
    ReconcileEngine(store, [ReferenceMatcher(), PayerNameMatcher(), PayerAccountMatcher()]).run()


def from_holding(store: Store, ref: str, amount: str, text: str, account: str = HOLDING_IBAN) -> None:
    fees.add_receipt(store, ref, amount, text, payer="Northwind Holding AG", account=account)


def confirm_first(store: Store) -> list[dict[str, str]]:
    """The holding pays S1's 50000001, naming it; finance confirms it."""
    from_holding(store, "R1", "1234.56", "Rechnung 50000001")
    run(store)
    return MatchDesk(store).confirm("R1", ["50000001"], actor="alice").learned


def test_a_payment_from_another_customers_account_naming_nothing_is_not_applied_to_a_stranger(store: Store) -> None:
    from_holding(store, "R2", "880.10", "Zahlung")
    run(store)
    assert status_of(store, "R2") != "matched"


def test_a_confirmed_payment_from_another_customers_account_teaches_that_it_pays_for_the_customer(
    store: Store,
) -> None:
    assert {"customer": "S1", "kind": "payer", "value": "H1"} in confirm_first(store)
    with store.connect() as conn:
        book = ReconcileEngine(store, []).load_book(conn)
    assert book.customers["S1"].paid_by == ("H1",)
    assert book.group("S1") == "H1"


def test_the_next_payment_from_that_account_naming_nothing_is_applied_to_the_customers_invoice(store: Store) -> None:
    confirm_first(store)
    from_holding(store, "R2", "880.10", "Zahlung")
    run(store)
    assert paid(store, "R2") == {"50000002"}
    assert any("paid by H1, which paid S1's invoices before (a confirmed match)" in r for r in reasons_of(store, "R2"))
    chinese = "H1此前已为S1的发票付款（经确认的核销）"  # noqa: RUF001 - Chinese punctuation
    assert any(chinese in r for r in reasons_of(store, "R2", "zh_CN"))


def test_the_holdings_own_invoices_stay_its_own(store: Store) -> None:
    confirm_first(store)
    from_holding(store, "R2", "1712.40", "Zahlung")
    run(store)
    assert paid(store, "R2") == {"60000002"}
    assert not any("paid S1's invoices before" in r for r in reasons_of(store, "R2"))


def test_forgetting_the_payer_undoes_it(store: Store) -> None:
    confirm_first(store)
    forgotten = MatchDesk(store).forget("S1", payers=["H1"], actor="bob")
    assert forgotten["forgotten"] == [{"kind": "payer", "value": "H1"}]
    from_holding(store, "R2", "880.10", "Zahlung")
    run(store)
    assert status_of(store, "R2") != "matched"


def test_forgetting_everything_learned_about_a_customer_forgets_its_payers_too(store: Store) -> None:
    confirm_first(store)
    forgotten = MatchDesk(store).forget("S1", actor="bob")
    assert {"kind": "payer", "value": "H1"} in forgotten["forgotten"]
    with store.connect() as conn:
        assert ReconcileEngine(store, []).load_book(conn).customers["S1"].paid_by == ()


def test_nothing_is_learned_where_the_master_puts_the_customer_in_another_group(store: Store) -> None:
    # The master knows S2's group: a payment from outside it (a factor that is a customer too, a mistake)
    # says nothing about the next one.
    fees.add_customer(store, "P2", "Eastgate Group plc")
    fees.add_customer(store, "S2", "Eastgate Freight Ltd", parent="P2")
    with store.begin() as conn:
        fees.add_invoice(conn, "40000001", "777.77", "S2")
    from_holding(store, "R1", "777.77", "Invoice 40000001")
    run(store)
    learned = MatchDesk(store).confirm("R1", ["40000001"], actor="alice").learned
    assert not any(x["kind"] == "payer" for x in learned)


def test_nothing_is_learned_from_a_payer_within_the_customers_own_group(store: Store) -> None:
    fees.add_customer(store, "S3", "Northwind Services GmbH", parent="H1")
    with store.begin() as conn:
        fees.add_invoice(conn, "30000001", "432.10", "S3")
    from_holding(store, "R1", "432.10", "Invoice 30000001")
    run(store)
    learned = MatchDesk(store).confirm("R1", ["30000001"], actor="alice").learned
    assert not any(x["kind"] == "payer" for x in learned)


def test_nothing_is_learned_from_an_account_no_customer_owns(store: Store) -> None:
    from_holding(store, "R1", "1234.56", "Rechnung 50000001", account="GB00999999999999999999")
    run(store)
    learned = MatchDesk(store).confirm("R1", ["50000001"], actor="alice").learned
    assert not any(x["kind"] == "payer" for x in learned)


def test_payers_of_two_groups_learned_for_one_customer_make_it_neither_groups(store: Store) -> None:
    # Two groups paying one customer's invoices: an intermediary's work or a mistake, not a group.
    fees.add_customer(store, "H2", "Southwind Treasury SA", ibans=[OTHER_IBAN])
    confirm_first(store)
    from_holding(store, "R3", "3310.75", "Facture 50000003", account=OTHER_IBAN)
    run(store)
    MatchDesk(store).confirm("R3", ["50000003"], actor="alice")
    with store.connect() as conn:
        book = ReconcileEngine(store, []).load_book(conn)
    assert book.customers["S1"].paid_by == ()
    assert book.group("S1") == "S1"


def test_cli_confirm_says_what_was_learned_and_forget_takes_a_payer(store: Store, tmp_path: Path) -> None:
    from_holding(store, "R1", "1234.56", "Rechnung 50000001")
    run(store)
    write_config(tmp_path, store.url, customers=None, invoices=None, statements=None, sink=None)
    said = run_hub("matches", "confirm", "R1", "50000001", "--by", "alice", cwd=tmp_path).stdout
    assert "learned: H1 pays for S1" in said
    done = run_hub("--json", "matches", "forget", "S1", "--payer", "H1", "--by", "bob", cwd=tmp_path).stdout
    assert '"kind": "payer"' in done
