"""A run's second look at payments that name invoices: one left to finance because an invoice it does not name
might have been in its overpayment is decided again once a later payment of the run took that invoice
automatically. Readings of the amount alone are not, nor a rest of a list that its amount alone picked: a set or
an invoice that is the only one left once another payment took its rival may still be a coincidence. Except one
of invoices alike that a later payment named: had the pass met that payment first, the one left was the only one
of the amount, as any other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import Store

from . import test_fees as fees
from .test_fees import status_of
from .test_run_accounts import paid, reasons_of, run

C1_IBAN = "DE02120300000000202051"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """C1, paying from its own account: an invoice of 746.94, two of 500.00 alike, one of 730.00, one of 40.00,
    and ten others of amounts none of whose sets makes 500.00 or 40.43."""
    s = keystone(tmp_path)
    yield s
    s.dispose()


def keystone(tmp_path: Path) -> Store:
    """The :func:`store` fixture's store (the caller disposes of it)."""
    s = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    s.migrate()
    fees.add_customer(s, "C1", "Keystone Manufacturing Corp.", ibans=[C1_IBAN])
    with s.begin() as conn:
        for number, amount in (("90000001", "746.94"), ("90000002", "500.00"), ("90000003", "500.00")):
            fees.add_invoice(conn, number, amount, "C1")
        fees.add_invoice(conn, "90000004", "730.00", "C1")
        fees.add_invoice(conn, "90000005", "40.00", "C1")
        for k, amount in enumerate(("1234.56", "2871.09", "3310.47", "4102.88"), start=6):
            fees.add_invoice(conn, f"9000000{k}", amount, "C1")
        for k, amount in enumerate(("7342.61", "8113.05", "9260.34", "10417.77", "11893.28", "12650.19"), start=11):
            fees.add_invoice(conn, f"900000{k}", amount, "C1")
    return s


def pay(store: Store, ref: str, amount: str, text: str, day: int) -> None:
    fees.add_receipt(store, ref, amount, text, payer="Keystone Manufacturing Corp.", account=C1_IBAN, day=day)


@pytest.mark.parametrize("block", [1, 5000])
def test_a_named_overpayment_is_decided_again_once_a_later_payment_took_the_invoice_that_might_have_been_its_rest(
    store: Store, block: int
) -> None:
    # 787.37 for 90000001 (746.94): the 40.00 invoice could have been in the rest, so the pass left it to finance.
    pay(store, "R1", "787.37", "90000001", day=1)
    pay(store, "R2", "40.00", "90000005", day=3)  # a later payment names and pays that invoice
    run(store, block)
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("matched", "matched")
    assert paid(store, "R2") == {"90000005"}
    assert paid(store, "R1") == {"90000001"}
    said = "no other open invoice of the customer could be in the rest: 40.43 stays unapplied"
    assert any(said in r for r in reasons_of(store, "R1"))
    run(store)  # what was written is what a second run leaves alone
    assert paid(store, "R1") == {"90000001"}


def test_a_named_overpayment_stays_with_finance_where_no_later_payment_took_that_invoice(store: Store) -> None:
    pay(store, "R1", "787.37", "90000001", day=1)
    pay(store, "R2", "730.00", "90000004", day=3)  # takes another invoice of the customer
    run(store)
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("suggested", "matched")


def test_a_rest_its_amount_alone_picked_is_not_taken_though_a_later_payment_took_its_rival(store: Store) -> None:
    # 746.94 named and one of the two 500.00: a later payment names the first, but the other is only the set
    # its amount picks; both could have been coincidences.
    pay(store, "R1", "1246.94", "90000001", day=1)
    pay(store, "R2", "500.00", "90000002", day=3)
    run(store)
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("suggested", "matched")


@pytest.mark.parametrize("block", [1, 5000])
def test_a_payment_of_invoices_alike_is_decided_again_once_a_later_payment_named_and_took_one(
    store: Store, block: int
) -> None:
    # Had the pass met R2 first, 90000003 would have been the only 500.00 left when it met R1.
    pay(store, "R1", "500.00", "Zahlung", day=1)  # one of the two 500.00, nothing named
    pay(store, "R2", "500.00", "90000002", day=3)
    run(store, block)
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("matched", "matched")
    assert paid(store, "R1") == {"90000003"}
    run(store)  # what was written is what a second run leaves alone
    assert paid(store, "R1") == {"90000003"}
