"""What a run teaches itself about payer accounts: an account no customer is known to own, from which other
payments of the same run were matched automatically to a customer's invoices, identifies that customer for
the run's payments from it that name nothing (the run's second look), as confirming those matches would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hub_plugins.matching import PayerAccountMatcher, PayerNameMatcher, ReferenceMatcher

from hub.recon import MatchDesk, ReconcileEngine
from hub.store import Store, schema

from . import test_fees as fees
from .test_fees import status_of

#: The account the payments come from: in no customer's master data, learned from no confirmation.
NEW_ACCOUNT = "DE75512108001245126199"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """C1 and C2, who share a name, each with an open invoice of 2,000.00 and others: a payment of 2,000.00
    that names nothing and comes from an account neither is known by could be either's."""
    s = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    s.migrate()
    for customer, parent in (("C1", None), ("C2", None), ("C3", "C1")):
        fees.add_customer(s, customer, "Keystone Manufacturing Corp.", parent)
    with s.begin() as conn:
        for number, customer, amount in (
            ("90000001", "C1", "1000.00"),
            ("90000002", "C1", "2000.00"),
            ("80000001", "C2", "2000.00"),
            ("80000002", "C2", "650.00"),
            ("70000001", "C3", "420.00"),
        ):
            fees.add_invoice(conn, number, amount, customer)
    yield s
    s.dispose()


def add_receipt(
    store: Store,
    ref: str,
    amount: str,
    text: str,
    *,
    account: str = NEW_ACCOUNT,
    day: int = 2,
    payer: str = "Keystone Manufacturing Corp.",
) -> None:
    fees.add_receipt(store, ref, amount, text, payer=payer, account=account, day=day)


def run(store: Store, block: int = 5000) -> None:
    ReconcileEngine(store, [ReferenceMatcher(), PayerNameMatcher(), PayerAccountMatcher()], block=block).run()


def paid(store: Store, ref: str) -> set[str]:
    a, r, i = schema.allocation, schema.receipt, schema.invoice
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(i.c.number)
            .select_from(a.join(r, a.c.receipt_id == r.c.id).join(i, a.c.invoice_id == i.c.id))
            .where(r.c.bank_ref == ref, a.c.status == "auto")
        ).all()
    return {number for (number,) in rows}


def reasons_of(store: Store, ref: str, locale: str = "en") -> list[str]:
    return [r for a in MatchDesk(store).explain(ref, locale=locale)["allocations"] for r in a["reasons"]]


def test_a_payment_naming_nothing_from_an_unknown_account_is_only_suggested(store: Store) -> None:
    add_receipt(store, "R1", "2000.00", "payment")
    run(store)
    assert status_of(store, "R1") == "suggested"


@pytest.mark.parametrize("block", [1, 5000])
@pytest.mark.parametrize("named_day", [1, 3], ids=["named-before", "named-after"])
def test_an_account_that_paid_a_customers_named_invoice_in_the_run_identifies_it_for_a_payment_naming_nothing(
    store: Store, block: int, named_day: int
) -> None:
    add_receipt(store, "R1", "2000.00", "payment")
    add_receipt(store, "R2", "1000.00", "90000001", day=named_day)
    run(store, block)
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("matched", "matched")
    assert paid(store, "R1") == {"90000002"}
    said = f"payer account {NEW_ACCOUNT} paid 1 other payment of this run matched to C1's invoices"
    assert any(said in r for r in reasons_of(store, "R1"))
    assert any(f"付款账户{NEW_ACCOUNT}" in r and "C1" in r for r in reasons_of(store, "R1", "zh_CN"))
    # What was written is what a second run leaves alone.
    run(store)
    assert paid(store, "R1") == {"90000002"}


def test_an_account_that_paid_named_invoices_of_two_customers_in_the_run_teaches_nothing(store: Store) -> None:
    # A factor or a payment provider pays for several customers: its account says nothing about whom.
    add_receipt(store, "R1", "2000.00", "payment")
    add_receipt(store, "R2", "1000.00", "90000001")
    add_receipt(store, "R3", "650.00", "80000002")
    run(store)
    assert (status_of(store, "R2"), status_of(store, "R3")) == ("matched", "matched")
    assert status_of(store, "R1") == "suggested"


def alias_c1(store: Store) -> None:
    """C1 known by a name of its own besides the one it shares."""
    with store.begin() as conn:
        conn.execute(
            schema.customer.update().where(schema.customer.c.external_id == "C1").values(aliases=["Keystone Works Ulm"])
        )


def test_an_account_a_payment_matched_by_the_payers_own_name_came_from_identifies_the_customer(store: Store) -> None:
    # R2 names nothing: the payer's name, one of C1's own, and the amount make it automatic. The payer's
    # name and account are one party's: what a confirmation of R2 would teach, the run learns.
    alias_c1(store)
    add_receipt(store, "R1", "2000.00", "payment")
    add_receipt(store, "R2", "1000.00", "payment", payer="Keystone Works Ulm")
    run(store)
    assert status_of(store, "R2") == "matched"
    assert paid(store, "R1") == {"90000002"}


@pytest.mark.parametrize(
    ("payer", "text"),
    [("PayFlow Ltd OBO Keystone Works Ulm", "90000001"), ("Li Na", "代付Keystone Works Ulm货款 90000001")],
    ids=["obo", "daifu"],
)
def test_an_account_of_a_payer_that_pays_for_the_customer_teaches_nothing(store: Store, payer: str, text: str) -> None:
    # A provider or a third party pays for others too: what its account is says nothing about whom the
    # next payment from it is for, as a confirmation would not learn it.
    alias_c1(store)
    add_receipt(store, "R1", "2000.00", "payment", payer=payer.split(" OBO ")[0])
    add_receipt(store, "R2", "1000.00", text, payer=payer)
    run(store)
    assert status_of(store, "R2") == "matched"
    assert status_of(store, "R1") != "matched"


def test_an_account_the_customer_master_gives_another_customer_is_not_taught(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(schema.customer.update().where(schema.customer.c.external_id == "C2").values(ibans=[NEW_ACCOUNT]))
    add_receipt(store, "R1", "2000.00", "payment")
    add_receipt(store, "R2", "1000.00", "90000001")
    run(store)
    assert paid(store, "R1") != {"90000002"}
