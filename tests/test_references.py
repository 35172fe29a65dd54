"""What a payment names, read as payers write it: invoice numbers written partly (the sequence number
alone, with or without the year, prefix or zero padding, with OCR confusions), customer numbers
written instead of invoice numbers, and numbers that name a stranger's invoice.

Small hand-written books driven like the engine (see tests/test_matching.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hub_plugins.matching import CustomerNumberMatcher, ReferenceMatcher, mentions, serial_of

from hub.recon import Found, ReconcileEngine, decide
from tests.test_matching import ACME_IBAN, FEE, D, acme, book, cust, inv, lines, rcpt, text_of

OTHER_IBAN = "GB33BUKB20201555555555"


def matchers() -> list:
    from hub_plugins.matching import PayerAccountMatcher, PayerNameMatcher

    return [ReferenceMatcher(), PayerNameMatcher(), PayerAccountMatcher(), CustomerNumberMatcher()]


def gather(receipt, items) -> Found:
    found = Found()
    for m in sorted(matchers(), key=lambda m: m.stage):
        for ev in m.evidence(receipt, items, found):
            found.add(ev)
    return found


def run(receipt, items, *, fee: Decimal = FEE):
    engine = ReconcileEngine(store=None, matchers=matchers(), fee_tolerance=fee)  # type: ignore[arg-type]
    proposals = engine.proposals(receipt, items)
    decision = decide(receipt, proposals, items, auto_threshold=0.95, suggest_threshold=0.3, margin=2.0)
    return decision, proposals


def reasons(found: Found, invoice_id: int) -> str:
    return " | ".join(str(e.reason) for e in found.invoices.get(invoice_id, ()))


def acme_book(*numbers: tuple[int, str, str], others: tuple = ()) -> object:
    """Acme's invoices (id, number, amount) and a stranger's, in one book."""
    return book(
        [inv(i, n, "C-ACME", a) for i, n, a in numbers] + [inv(i, n, "C-OTHER", a) for i, n, a in others],
        [acme(), cust("C-OTHER", "Blue Harbour Trading Ltd", ibans=(OTHER_IBAN,))],
    )


# -- the sequence number alone -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Rg 891",
        "inv 891",
        "Rg.-Nr. 891",
        "fact. 2026/891",
        "891/26",
        "2026 / 891",
        "inv. 2026 891",
        "Zahlung KW 42 Auftrag 69478 Rechnung 891 Kd 1447",
        "/INV/Rg.-Nr. 891/PO 4537593234",
        "Rg 89l",  # OCR: l for 1
        "Fattura n. 89l",
    ],
)
def test_sequence_number_alone_names_the_identified_customers_invoice_even_short_by_a_fee(text: str) -> None:
    items = acme_book((1, "RE-2026-0000891", "1250.95"), (2, "RE-2026-0000892", "980.00"))
    receipt = rcpt("1235.95", account=ACME_IBAN, text=text)  # short by a bank fee: the amount alone does not tell
    found = gather(receipt, items)
    assert list(found.invoices) == [1]
    assert "RE-2026-0000891" in reasons(found, 1)
    assert "C-ACME" in reasons(found, 1)  # says it was read within the identified customer
    decision, _ = run(receipt, items)
    assert decision.status == "auto"
    assert lines(decision.proposals[0])[0] == (1, D("1235.95"), "payment")


def test_a_credit_note_written_by_its_sequence_number_and_year_is_netted_from_the_invoices_named() -> None:
    # The payer lists the invoices it pays by their last digits and ends with the credit note it deducts, written
    # "58/26" (GS-2026-000058): the credit note is read as named, as it would be written in full.
    items = acme_book(
        (1, "90001617", "5159.67"),
        (2, "90001631", "3838.93"),
        (3, "90001852", "2104.20"),
        (4, "GS-2026-000058", "-412.80"),
        (5, "GS-2026-000071", "-98.15"),
        (6, "90001900", "1200.00"),
    )
    amount = D("5159.67") + D("3838.93") + D("2104.20") - D("412.80")
    receipt = rcpt(str(amount), account=ACME_IBAN, text="01617, 01631, 01852, 58/26")
    found = gather(receipt, items)
    assert set(found.invoices) == {1, 2, 3, 4}
    assert "GS-2026-000058 written by its sequence number (58/2026, the year agreeing" in reasons(found, 4)
    decision, _ = run(receipt, items)
    assert decision.status == "auto"
    assert sorted(lines(decision.proposals[0])) == [
        (1, D("5159.67"), "payment"),
        (2, D("3838.93"), "payment"),
        (3, D("2104.20"), "payment"),
        (4, D("-412.80"), "credit_note"),
    ]


def test_written_year_picks_the_invoice_of_that_year() -> None:
    items = acme_book((1, "RE-2025-0000153", "500.00"), (2, "RE-2026-0000153", "700.00"))
    for text, want in (("fact. 2026/153", 2), ("153/25", 1), ("2025 - 153", 1)):
        found = gather(rcpt("100.00", account=ACME_IBAN, text=text), items)
        assert list(found.invoices) == [want], text
        assert "year" in reasons(found, want)


def test_sequence_number_shared_by_two_of_the_customers_invoices_is_ambiguous() -> None:
    items = acme_book((1, "RE-2025-0000153", "500.00"), (2, "RE-2026-0000153", "700.00"))
    found = gather(rcpt("100.00", account=ACME_IBAN, text="Rg 153"), items)
    assert set(found.invoices) == {1, 2}
    assert all(e.weight < 4.0 for evs in found.invoices.values() for e in evs)


def test_leading_zeros_of_a_compact_number_written_mean_its_last_digits() -> None:
    items = acme_book((1, "90002678", "500.00"), (2, "90002767", "700.00"))
    found = gather(rcpt("1200.00", account=ACME_IBAN, text="02678, 02767"), items)
    assert set(found.invoices) == {1, 2}


@pytest.mark.parametrize("text", ["KW 42", "Auftrag 891", "PO 891", "Lieferung vom 24.05.", "DDT 891 del 25/3"])
def test_numbers_after_order_week_or_delivery_words_and_dates_are_not_invoice_numbers(text: str) -> None:
    items = acme_book((1, "RE-2026-0000891", "1250.95"), (2, "RE-2026-0000042", "1.00"), (3, "RE-2026-0000024", "2"))
    found = gather(rcpt("1235.95", account=ACME_IBAN, text=text), items)
    assert not found.invoices


def test_sequence_number_is_not_read_in_a_strangers_invoices_without_the_amount() -> None:
    items = acme_book((1, "RE-2026-0000891", "1250.95"))
    found = gather(rcpt("77.00", payer="Unknown Payer Ltd", text="Rechnung 891"), items)
    assert not found.invoices


def _big_book(amount_of_124: str, same_amount: int) -> object:
    invoices = [inv(1, "VR25000124", "C-ACME", amount_of_124), inv(2, "VR26000124", "C-OTHER", "88.10")]
    invoices += [inv(10 + k, f"VR26{k + 1000:06d}", "C-OTHER", f"{100 + k}.{k % 89:02d}") for k in range(3000)]
    invoices += [inv(1000 + k, f"VR27{k + 5000:06d}", "C-OTHER", amount_of_124) for k in range(same_amount)]
    return book(invoices, [acme(), cust("C-OTHER", "Blue Harbour Trading Ltd", ibans=(OTHER_IBAN,))])


def test_sequence_number_with_the_exact_amount_names_the_invoice_book_wide() -> None:
    items = _big_book("416.23", 0)
    receipt = rcpt("416.23", payer="PKO Faktoring S.A.", text="Rechnung 124")
    found = gather(receipt, items)
    assert list(found.invoices) == [1]
    assert "amount" in reasons(found, 1)
    decision, _ = run(receipt, items)
    assert decision.status == "auto"
    assert lines(decision.proposals[0]) == [(1, D("416.23"), "payment")]


def test_sequence_number_with_an_amount_many_invoices_have_is_not_automatic() -> None:
    items = _big_book("119.00", 40)  # a price-list amount
    receipt = rcpt("119.00", payer="PKO Faktoring S.A.", text="Rechnung 124")
    decision, _ = run(receipt, items)
    assert decision.status != "auto"


def test_bare_number_weighs_less_the_more_open_invoices_the_customer_has() -> None:
    small = acme_book((1, "RE-2026-0000891", "1250.95"))
    many = [(k, f"RE-2026-{k:07d}", "10.00") for k in range(2, 150)]
    large = acme_book((891, "RE-2026-0000891", "1250.95"), *many)
    receipt = rcpt("1250.95", account=ACME_IBAN, text="Zahlung 891")
    w_small = max(e.weight for e in gather(receipt, small).invoices[1])
    w_large = max(e.weight for e in gather(receipt, large).invoices[891])
    assert w_small > w_large


# -- the last number of a cut text -----------------------------------------------------------------------------


def test_last_number_of_a_text_cut_at_140_characters_names_nothing_whole() -> None:
    items = acme_book((1, "2026/1665", "100.00"), (2, "2026/2048", "200.00"), others=((3, "2026/20", "300.00"),))
    listed = "2026/1665, 2026/20"  # the bank cut 2026/2048 after its first two digits
    text = "Zahlung " + "x" * (140 - 9 - len(listed)) + " " + listed
    assert len(text) == 140
    found = gather(rcpt("300.00", account=ACME_IBAN, text=text), items)
    assert 3 not in found.invoices


@pytest.mark.parametrize(
    ("number", "serial", "year"),
    [
        ("2026/2001", "2001", "2026"),
        ("2026/1007", "1007", "2026"),
        ("RE-2026-0000096", "96", "2026"),
        ("2026/96", "96", "2026"),
        ("VR25000124", "124", "2025"),
        ("90002678", "2678", None),
        ("12345678", None, None),
    ],
)
def test_an_invoices_sequence_number_and_year_are_read_from_its_number(
    number: str, serial: str | None, year: str | None
) -> None:
    assert serial_of(number) == (serial, year)


def test_a_sequence_number_with_zeros_in_it_names_its_invoice_not_the_one_its_last_digit_is() -> None:
    items = acme_book((1, "2026/2001", "17535.23"), (2, "2026/1", "900.00"), (3, "2026/1999", "80.00"))
    decision, _ = run(rcpt("17196.92", account=ACME_IBAN, text="2001/26 minus damaged goods"), items)
    assert [ln[0] for ln in lines(decision.proposals[0]) if ln[2] == "payment"] == [1]


@pytest.mark.parametrize(
    "text",
    [
        "Laskut 3681165/3681170/3681196",
        "/RFB/2424241353 /REMI/3681165/3681170/3681196",
        "FAKTURAER 3681165/3681170/3681196 BEST.NR 843218",
        "RE-2026-3681165/RE-2026-3681170/RE-2026-3681196",
    ],
)
def test_numbers_of_one_shape_joined_by_slashes_name_each_invoice(text: str) -> None:
    numbers = [(1, "3681165", "3146.08"), (2, "3681170", "259.50"), (3, "3681196", "1200.00")]
    if text.startswith("RE-"):
        numbers = [(i, f"RE-2026-{n}", a) for i, n, a in numbers]
    items = acme_book(*numbers, (4, "3681198", "4605.58"))
    decision, _ = run(rcpt("4605.58", payer="Acme Logistics GmbH", text=text), items)
    assert decision.status == "auto"
    assert [ln[0] for ln in lines(decision.proposals[0])] == [1, 2, 3]  # not 3681198, of the whole amount


@pytest.mark.parametrize("text", ["fact. 2026/1665", "FA2026/01665", "891/26", "12/05/2026 2026/1665"])
def test_a_number_written_with_a_slash_in_it_is_not_read_as_two(text: str) -> None:
    items = acme_book((1, "2026/1665", "100.00"), others=((2, "01665", "100.00"), (3, "FA2026", "100.00")))
    found = gather(rcpt("100.00", account=ACME_IBAN, text=text), items)
    assert 2 not in found.invoices and 3 not in found.invoices


# -- customer numbers -------------------------------------------------------------------------------------


def _customers_book() -> object:
    return book(
        [inv(1, "VR26008212", "K100330", "480.64"), inv(2, "VR26008213", "K100331", "77.00")],
        [cust("K100330", "Perrin Plomberie SARL"), cust("K100331", "Schulz Heizungsbau GmbH")],
    )


@pytest.mark.parametrize(
    "text", ["Kundennr. K100330", "Kd-Nr 100330", "customer 100330", "Debitor 100330", "klient K100330"]
)
def test_customer_number_with_its_word_identifies_the_customer_whose_invoice_has_the_amount(text: str) -> None:
    items = _customers_book()
    receipt = rcpt("480.64", payer="PKO Faktoring S.A.", text=text)
    found = gather(receipt, items)
    assert found.customer_weight("K100330", payer_only=True) >= 4.5
    assert "customer number" in str(found.customers["K100330"][0].reason)
    decision, _ = run(receipt, items)
    assert decision.status == "auto"
    assert lines(decision.proposals[0]) == [(1, D("480.64"), "payment")]
    assert "customer number" in text_of(decision.proposals[0])


def test_bare_number_equal_to_a_customer_number_is_weaker_than_one_with_its_word() -> None:
    items = _customers_book()
    bare = gather(rcpt("480.64", payer="x", text="Zahlung 100330"), items).customer_weight("K100330")
    said = gather(rcpt("480.64", payer="x", text="Kd-Nr 100330"), items).customer_weight("K100330")
    assert 0 < bare < said
    decision, _ = run(rcpt("480.64", payer="x", text="Zahlung 100330"), items)
    assert decision.status != "auto"


def test_mentions_read_context_year_and_ocr() -> None:
    got = [(m.context, m.serial, m.year) for m in mentions("Kd-Nr. 10023 fact. 2O26/l53, 2026 / 1850 KW 42")]
    assert got == [
        ("customer", "10023", None),
        ("invoice", "153", "2026"),
        ("invoice", "1850", "2026"),
        ("other", "42", None),
    ]


# -- a digit left out or written twice ------------------------------------------------------------------------

# Acme's invoices: three of 450.00 (a price it bills often) and one of another amount.
SAME_PRICE = ((1, "3677464", "450.00"), (2, "3677959", "450.00"), (3, "3678768", "450.00"), (4, "3679128", "4280.15"))


@pytest.mark.parametrize(
    ("text", "how"),
    [
        ("LASKU NRO 367764", "a digit left out (367764)"),  # 3677464 without its second 4
        ("LASKU NRO 36774464", "a digit too many (36774464)"),  # 3677464 with its 4 written twice
        ("FAKTURA 36779959", "a digit too many (36779959)"),  # 3677959 with its 9 written twice
    ],
)
def test_a_number_with_a_digit_left_out_or_written_twice_names_the_one_invoice_of_the_amount_it_comes_from(
    text: str, how: str
) -> None:
    # The payer is Acme, which has three open invoices of 450.00: the amount alone cannot choose among
    # them, the number written can, though a digit is missing or doubled.
    items = acme_book(*SAME_PRICE)
    receipt = rcpt("450.00", account=ACME_IBAN, payer="Acme Logistics GmbH", text=text)
    found = gather(receipt, items)
    meant = 2 if "9959" in text else 1
    assert list(found.invoices) == [meant]
    assert how in reasons(found, meant)
    assert "the only such invoice with the amount" in reasons(found, meant)
    decision, _ = run(receipt, items)
    assert decision.status in ("auto", "suggested")
    assert lines(decision.proposals[0]) == [(meant, D("450.00"), "payment")]
    assert how in text_of(decision.proposals[0])


def test_a_strangers_number_one_digit_from_the_payers_invoice_of_the_amount_is_read_as_the_payers() -> None:
    # Acme pays 450.00 and writes 3102681: that is a stranger's invoice, of 1482.72. Acme has three
    # invoices of 450.00, and one of them, 3102691, is 3102681 with one digit different.
    items = acme_book(
        (1, "3102691", "450.00"),
        (2, "3101540", "450.00"),
        (3, "3104418", "450.00"),
        others=((4, "3102681", "1482.72"),),
    )
    receipt = rcpt("450.00", account=ACME_IBAN, payer="Acme Logistics GmbH", text="Lasku 3102681 ordre 1167461")
    found = gather(receipt, items)
    assert "one digit different (3102681)" in reasons(found, 1)
    assert "is C-OTHER's and the payer is identified as C-ACME" in reasons(found, 4)
    decision, _ = run(receipt, items)
    assert lines(decision.proposals[0]) == [(1, D("450.00"), "payment")]


@pytest.mark.parametrize(
    ("written", "slip"),
    [
        ("3677464", None),  # the number itself
        ("3677465", "wrong"),
        ("3674764", "swapped"),
        ("367764", "left out"),
        ("677464", "left out"),  # the first digit
        ("367746", "left out"),  # the last
        ("36774464", "too many"),
        ("36777464", "too many"),
        ("39774640", None),  # a digit too many and one wrong
        ("3647764", None),  # two apart swapped
        ("36764", None),  # two left out
    ],
)
def test_a_slip_of_the_pen_is_one_digit_wrong_two_swapped_one_left_out_or_one_too_many(
    written: str, slip: str | None
) -> None:
    from hub_plugins.matching import _slip

    assert _slip("3677464", written) == slip


def test_a_number_a_digit_away_from_two_invoices_of_the_amount_names_neither() -> None:
    # 367764 is 3677464 with a 4 left out, and 3676764 with a 7 left out: both of 450.00.
    items = acme_book((1, "3677464", "450.00"), (2, "3676764", "450.00"), (3, "3678768", "450.00"))
    found = gather(rcpt("450.00", account=ACME_IBAN, text="LASKU NRO 367764"), items)
    assert not found.invoices


def test_a_number_a_digit_away_from_an_invoice_of_another_amount_is_no_clue() -> None:
    # The one invoice 367764 could come from is of 4280.15: a slip of the pen that also changed the amount is
    # no reading, and the payment is of 450.00.
    items = acme_book((1, "3679128", "4280.15"), (2, "3677959", "450.00"), (3, "3678768", "450.00"))
    found = gather(rcpt("450.00", account=ACME_IBAN, text="LASKU NRO 367928"), items)
    assert not found.invoices


def test_a_number_a_digit_away_from_a_strangers_invoice_is_no_clue() -> None:
    # Unknown payer, no customer identified: a dropped digit is read only among the identified customers'.
    items = acme_book(*SAME_PRICE)
    found = gather(rcpt("450.00", payer="Unknown Payer Ltd", text="LASKU NRO 367764"), items)
    assert not found.invoices


# -- a number naming a stranger's invoice -------------------------------------------------------------------


def test_number_naming_a_strangers_invoice_while_account_and_name_say_acme_is_not_automatic() -> None:
    # The payer typed 4712 for Acme's 4711 (exactly the amount): 4712 is another customer's invoice.
    items = acme_book((1, "INV-2026-004711", "1000.00"), others=((2, "INV-2026-004712", "1000.00"),))
    receipt = rcpt("1000.00", account=ACME_IBAN, payer="Acme Logistics GmbH", text="INV-2026-004712")
    found = gather(receipt, items)
    assert "identified as C-ACME" in reasons(found, 2)
    decision, _ = run(receipt, items)
    assert not (decision.status == "auto" and lines(decision.proposals[0])[0][0] == 2)
    assert 1 in found.invoices  # Acme's invoice one digit away is read as well
    assert "one digit" in reasons(found, 1)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Lieferung vom 08.11. l375 Kd 2840", [(None, "1375", None), ("customer", "2840", None)]),
        ("Pagamento 60/26 DDT 547 del 4/11", [(None, "60", "2026"), ("other", "547", None)]),
        ("2001/26 minus damaged goods", [(None, "26", "2001"), (None, "2001", "2026")]),
        ("Zahlung 2026-03-15 Rg 12, 2% Skonto", [("invoice", "12", None)]),
    ],
)
def test_mentions_tell_dates_from_numbers_with_a_year(text: str, want: list) -> None:
    assert [(m.context, m.serial, m.year) for m in mentions(text)] == want


def test_several_sequence_numbers_all_naming_one_customers_invoices_identify_it_book_wide() -> None:
    invoices = [inv(1, "VR26002333", "C-ACME", "100.00"), inv(2, "VR26006064", "C-ACME", "200.00")]
    invoices += [inv(3, "VR25002333", "C-OTHER", "300.00"), inv(4, "VR25006064", "C-THIRD", "400.00")]
    invoices += [inv(10 + k, f"VR24{k + 1000:06d}", f"C-{k % 50}", f"{10 + k}.00") for k in range(3000)]
    customers = [acme(), cust("C-OTHER", "Blue Harbour Trading Ltd"), cust("C-THIRD", "Third Ltd")]
    items = book(invoices, customers + [cust(f"C-{k}", f"Customer {k}") for k in range(50)])
    receipt = rcpt("300.00", payer="Dabrowski Elektro Sp. z o.o. Nieder", text="Rechnung 2333 Rechnung 6064")
    found = gather(receipt, items)
    assert set(found.invoices) == {1, 2}
    assert "all name invoices of C-ACME" in reasons(found, 1)
    decision, _ = run(receipt, items)
    assert decision.status == "auto"
    assert sorted(ln[0] for ln in lines(decision.proposals[0])) == [1, 2]


def test_two_sequence_numbers_naming_invoices_of_different_customers_identify_nobody() -> None:
    items = book(
        [inv(1, "VR26002333", "C-ACME", "100.00"), inv(2, "VR26006064", "C-OTHER", "200.00")],
        [acme(), cust("C-OTHER", "Blue Harbour Trading Ltd")],
    )
    found = gather(rcpt("300.00", payer="Nobody", text="Rechnung 2333 Rechnung 6064"), items)
    assert not found.invoices


def test_an_invoices_structured_reference_typed_into_the_free_text_names_it() -> None:
    items = book(
        [
            inv(1, "3110987", "C-ACME", "111.32", ref="RF8331109873"),
            inv(2, "3108210", "C-ACME", "109.09"),
        ],
        [acme()],
    )
    receipt = rcpt("109.09", payer="ACME LOGISTICS", account=ACME_IBAN, text="Ref RF8331109873")
    found = gather(receipt, items)
    assert found.invoice_weight(1) > 0
    assert "payment reference of 3110987 written in the text" in " ".join(str(e.reason) for e in found.invoices[1])
    decision, _ = run(receipt, items)  # 2% discount on 111.32, not the other invoice of exactly 109.09
    assert decision.status == "auto"
    assert {ln.invoice_id for ln in decision.proposals[0].lines} == {1}


def test_a_norwegian_kid_written_in_the_text_names_its_invoice() -> None:
    items = book(
        [inv(1, "4471203", "C-ACME", "450.00", ref="44712035"), inv(2, "4471204", "C-ACME", "450.00")], [acme()]
    )
    decision, _ = run(rcpt("450.00", payer="Someone", text="KID 44712035"), items)
    assert decision.status == "auto"
    assert [ln.invoice_id for ln in decision.proposals[0].lines] == [1]


def test_sequence_numbers_are_read_back_as_invoice_and_year_in_the_order_added() -> None:
    """The serial index holds each number's value and the invoice's id (the year is read again from the
    number when asked); what is read back is every invoice of the number with its year, per customer
    and book-wide, and a number written with a leading zero is not another number's value."""
    from hub_plugins.matching import _References

    items = book(
        [
            inv(7, "RE-2026-0000096", "ACME", "10"),
            inv(-3, "2025/96", "ACME", "20"),
            inv(9, "INV-96", "BETA", "30"),
            inv(11, "90002678", "BETA", "5"),
        ],
        [cust("ACME", "Acme GmbH"), cust("BETA", "Beta AG")],
    )
    refs = _References(items)
    assert list(refs.serials_of(items, "ACME").of("96")) == [(7, "2026"), (-3, "2025")]
    assert list(refs.serials(items).of("96")) == [(7, "2026"), (-3, "2025"), (9, None)]
    assert list(refs.serials(items).of("2678")) == [(11, None)]
    assert list(refs.serials(items).of("97")) == []
    assert list(refs.serials(items).of("096")) == []
    assert list(refs.serials_of(items, "ACME").of("096")) == []
    assert refs.alike(items, "ACME", "96", "2026") == 1


def test_reference_indexes_find_each_number_by_exactly_the_keys_they_found_as_text() -> None:
    """The number, digit and PO indexes keep their keys as ints where the text allows: a lookup still
    finds exactly the invoices the text names, leading zeros, case and length included."""
    from hub_plugins.matching import _References

    long_number = "PROJ-" + "7" * 45
    items = book(
        [
            inv(1, "INV-2026-000123", "ACME", "10"),
            inv(2, "0123A", "ACME", "20"),
            inv(3, "123A", "ACME", "30"),
            inv(4, long_number, "ACME", "40"),
            inv(5, "Rechnung-Ä-4711", "ACME", "50"),
            inv(6, "X-000456789", "BETA", "60"),
            inv(7, "Y-456789", "BETA", "70"),
            inv(8, "INV-2026-000123", "BETA", "80"),
        ],
        [cust("ACME", "Acme GmbH"), cust("BETA", "Beta AG")],
    )
    refs = _References(items)
    assert list(refs.numbers.of("INV2026000123")) == [1, 8]
    assert "INV2026000123" in refs.numbers
    assert "inv2026000123" not in refs.numbers and list(refs.numbers.of("inv2026000123")) == []
    assert (list(refs.numbers.of("0123A")), list(refs.numbers.of("123A"))) == ([2], [3])
    assert list(refs.numbers.of("PROJ" + "7" * 45)) == [4]
    assert list(refs.numbers.of("RECHNUNG4711")) == [5]
    assert "INV-2026-000123" not in refs.numbers and 123 not in refs.numbers
    assert (list(refs.digits.of("000456789")), list(refs.digits.of("456789"))) == ([6], [7])
    assert list(refs.digits.of("2026000123")) == [1, 8]
    assert "\uff14\uff15\uff16\uff17\uff18\uff19" not in refs.digits and "0456789" not in refs.digits


def test_an_invoices_digits_are_read_from_its_number() -> None:
    from hub_plugins.matching import _References

    items = book(
        [inv(7, "RE-2026-0000096", "ACME", "10"), inv(8, "\uff12\uff10\uff12\uff16/ab-12", "ACME", "20")],
        [cust("ACME", "Acme")],
    )
    refs = _References(items)
    assert (refs.invoice_digits[7], refs.invoice_digits[8]) == ("20260000096", "12")
    assert refs.of_customer(items, "ACME") == [(7, "20260000096"), (8, "12")]


def test_the_packed_reference_index_never_mixes_two_keys_of_one_hash_and_keeps_the_order_added() -> None:
    # Two int keys one modulus apart have the same hash in CPython: the index must tell them apart by the
    # invoice's own key, and give an index's invoices of one key in the order they were added.
    from array import array

    from hub_plugins.matching import _Packed

    modulus = 2**61 - 1
    keys = {1: 10**15, 2: 10**15 + modulus, 3: 10**15, 4: 7}
    assert hash(keys[1]) == hash(keys[2])
    index = _Packed(array("q", (hash(keys[i]) for i in (3, 2, 4, 1))), array("q", (3, 2, 4, 1)), keys.__getitem__)
    assert list(index._find(10**15)) == [3, 1]
    assert list(index._find(10**15 + modulus)) == [2]
    assert list(index._find(7)) == [4]
    assert list(index._find(8)) == []


@pytest.mark.parametrize("kind", ["text", "int"])
def test_the_packed_reference_index_finds_every_key_it_holds_and_none_it_does_not(kind: str) -> None:
    # Text keys hash to negative numbers as often as to positive ones; the hashes are bisected as signed.
    from array import array

    from hub_plugins.matching import _Packed

    def key(k: int) -> object:
        return f"RE{k * 7919:08d}" if kind == "text" else 10**12 + k * 7919

    held = {i: key(i) for i in range(1, 5001)}
    index = _Packed(array("q", (hash(k) for k in held.values())), array("q", held), held.__getitem__)
    assert all(list(index._find(k)) == [i] for i, k in held.items())
    assert not any(index._find(key(k)) for k in range(5001, 15001))
