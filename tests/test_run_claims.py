"""Two payments of one run reading the same invoice: one of whole hundreds that pays exactly its amount, nothing
named, is not taken automatically where an earlier payment of the run reads that invoice among its suggestions
(a sum on account or a part payment equals a round invoice as often as it pays it: which of the two paid it is for
finance). One to the cent is, and so is one that names the invoice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import Store

from . import test_fees as fees
from .test_fees import status_of
from .test_run_accounts import paid, reasons_of, run
from .test_second_look_taken import keystone, pay


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """C1's invoices (:func:`keystone`: two of 500.00 alike among them, one of 730.00) and a round one of 2,000.00."""
    s = keystone(tmp_path)
    with s.begin() as conn:
        fees.add_invoice(conn, "90000017", "2000.00", "C1")
    yield s
    s.dispose()


@pytest.mark.parametrize("block", [1, 5000])
def test_a_round_amount_is_not_automatic_where_an_earlier_payment_of_the_run_suggests_its_invoice(
    store: Store, block: int
) -> None:
    # 2,500.00 naming nothing: 2,000.00 and one of the two 500.00, two ways: suggestions, 90000017 in both.
    pay(store, "R1", "2500.00", "Zahlung", day=1)
    pay(store, "R2", "2000.00", "Zahlung", day=3)  # exactly 90000017, nothing named
    run(store, block)
    assert status_of(store, "R1") == "suggested"
    assert status_of(store, "R2") == "suggested"
    said = "another payment of this run (R1) reads 90000017 among its suggestions"
    assert any(said in r for r in reasons_of(store, "R2"))


def test_a_round_amount_no_other_payment_reads_is_automatic(store: Store) -> None:
    pay(store, "R1", "1246.94", "Zahlung", day=1)  # 746.94 and one of the two 500.00: 90000017 in neither
    pay(store, "R2", "2000.00", "Zahlung", day=3)
    run(store)
    assert status_of(store, "R2") == "matched"
    assert paid(store, "R2") == {"90000017"}


def test_an_amount_to_the_cent_is_automatic_though_another_payment_suggests_its_invoice(store: Store) -> None:
    # 1,230.00: 730.00 and one of the two 500.00, two ways; 730.00 paid exactly is no round sum
    pay(store, "R1", "1230.00", "Zahlung", day=1)
    pay(store, "R2", "730.00", "Zahlung", day=3)
    run(store)
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("suggested", "matched")
    assert paid(store, "R2") == {"90000004"}


def test_a_payment_naming_the_invoice_another_payment_suggests_is_automatic(store: Store) -> None:
    pay(store, "R1", "2500.00", "Zahlung", day=1)
    pay(store, "R2", "2000.00", "90000017", day=3)
    run(store)
    assert (status_of(store, "R1"), status_of(store, "R2")) == ("suggested", "matched")
    assert paid(store, "R2") == {"90000017"}
