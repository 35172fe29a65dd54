"""The benchmark books (bench/books): deterministic, importable without quarantine, truthful, and
carrying the phenomena they are built from. No match-quality or speed figure is asserted here."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import bench_books
from books import BOOKS, chinese, collisions, distributor, manufacturer, nordic
from books.common import Book, advices, fold_ascii, iban, money, write_book

SMALL = 400  # invoices


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _paying(book: Book) -> dict[str, list[tuple[str, str, str]]]:
    out: dict[str, list[tuple[str, str, str]]] = {}
    for row in book.truth:
        if row[1]:
            out.setdefault(row[0], []).append(row)
    return out


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_each_book_is_deterministic_per_seed(name: str, tmp_path: Path) -> None:
    gen = BOOKS[name].generate
    for folder, seed in (("a", 3), ("b", 3), ("c", 4)):
        write_book(gen(seed, SMALL), tmp_path / folder)
    for file in ("customers.csv", "invoices.csv", "statement.xml", "truth.csv", "phenomena.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file
    assert (tmp_path / "a" / "truth.csv").read_bytes() != (tmp_path / "c" / "truth.csv").read_bytes()


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_truth_names_only_existing_invoices_and_every_receipt(name: str, tmp_path: Path) -> None:
    write_book(BOOKS[name].generate(2, SMALL), tmp_path)
    invoices = {r["invoice_number"]: r for r in _rows(tmp_path / "invoices.csv")}
    customers = {r["customer_id"] for r in _rows(tmp_path / "customers.csv")}
    assert len(invoices) == len(_rows(tmp_path / "invoices.csv"))  # numbers are unique
    assert {r["customer_id"] for r in invoices.values()} <= customers
    truth = _rows(tmp_path / "truth.csv")
    assert {r["invoice_number"] for r in truth if r["invoice_number"]} <= set(invoices)
    refs = re.findall(
        r"<Ntry><Amt[^>]*>[^<]*</Amt>.*?<AcctSvcrRef>([^<]+)</AcctSvcrRef>",
        (tmp_path / "statement.xml").read_text(encoding="utf-8"),
    )
    assert len(refs) == len(set(refs)) > SMALL // 8
    assert {r["receipt_ref"] for r in truth} == set(refs)
    # an invoice is paid by one receipt at most, and never for more than it is open
    paid: dict[str, Decimal] = {}
    for r in truth:
        if r["invoice_number"]:
            assert r["invoice_number"] not in paid
            paid[r["invoice_number"]] = Decimal(r["amount"])
            open_amount = Decimal(invoices[r["invoice_number"]]["open_amount"])
            assert abs(paid[r["invoice_number"]]) <= abs(open_amount)
    # receipts that pay nothing are there, with an empty invoice number
    assert any(not r["invoice_number"] for r in truth)
    assert {r["receipt_ref"] for r in _rows(tmp_path / "phenomena.csv")} == set(refs)


@pytest.mark.parametrize("name", ["shared", *sorted(BOOKS)])
def test_the_hub_imports_every_book_without_quarantine_and_the_bench_scores_it(name: str, tmp_path: Path) -> None:
    result = bench_books.run_one(name, 300, 1, tmp_path)  # sync raises on any quarantined record
    work = Path(str(result["work"]))
    assert result["receipts"] == len({r["receipt_ref"] for r in _rows(work / "truth.csv")})
    assert result["customers"] == len(_rows(work / "customers.csv"))
    quarantine = json.loads(bench_books.hub("--json", "quarantine", cwd=work))
    assert quarantine["total"] == 0
    assert result["unknown_receipt_refs"] == 0
    assert (work / "misses.csv").exists()


def test_bench_books_runs_from_the_command_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_books.py"),
            "--books",
            "chinese",
            "--scales",
            "200",
            "--seeds",
            "5",
            "--workdir",
            str(tmp_path),
            "--phenomena",
            "--json",
            str(tmp_path / "runs.json"),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.startswith("| book | invoices |")
    assert "| Chinese book (names only) (seed 5) | 200 |" in out
    assert "paying receipts per phenomenon" in out
    assert json.loads((tmp_path / "runs.json").read_text())[0]["book"] == "chinese"


# -- the phenomena occur -------------------------------------------------------------------------------


def test_manufacturer_has_large_groups_big_fees_partial_numbers_and_credit_notes() -> None:
    book = manufacturer.generate(1, 4000)
    paying = _paying(book)
    assert max(len(rows) for rows in paying.values()) >= 6
    assert all(len(rows) <= 21 for rows in paying.values())  # up to 20 invoices and a credit note
    # fees above the shared generator's largest (15.00): receipts short by only a fee
    receipts = {r.ref: r for r in book.receipts}
    fee_only = [
        ref
        for ref, tags in book.tags.items()
        if "fee-over-15" in tags and not {"skonto", "short-deduction", "partial", "overpayment"} & set(tags)
    ]
    fees = {receipts[ref].amount - sum(Decimal(a) for _, _, a in paying[ref]) for ref in fee_only}
    assert fees and min(fees) < Decimal("-15.00")
    assert any(-fee > Decimal("30.00") for fee in fees)
    # three numberings, and numbers written without prefix, year or padding, or with OCR letters
    numbers = [i.number for i in book.invoices]
    assert any(n.startswith("RE-") for n in numbers) and any("/" in n for n in numbers)
    assert any(n.isdigit() for n in numbers)
    texts = [r.text for r in book.receipts if r.text]
    assert any(re.search(r"\bRg\.?(-Nr\.)? \d{1,6}\b", t) for t in texts)
    assert any(re.search(r"\b(inv|INV NO|invoice #)\.? ?\d{1,6}\b", t) for t in texts)
    assert any(re.search(r"RE-2[0O]2[5S6]-[0O]", t) for t in texts)  # OCR confusions in a full number
    assert any(r.tx_info and not r.text for r in book.receipts)  # remittance only in AddtlTxInf
    assert any(r.documents for r in book.receipts)  # structured referred-document numbers
    # credit notes netted against a group
    credit = {i.number for i in book.invoices if i.amount < 0}
    assert any(credit & {n for _, n, _ in rows} for rows in paying.values())


def test_collisions_book_has_shared_stems_cut_transliterated_and_third_party_payers() -> None:
    book = collisions.generate(1, 4000)
    stems: dict[str, set[str]] = {}
    for c in book.customers:
        stems.setdefault(" ".join(c.name.split()[:2]), set()).add(c.name)
    assert sum(1 for names in stems.values() if len(names) > 1) > 20  # same stem, other form or city
    by_ref = {r.ref: r for r in book.receipts}
    payers = [r.payer for r in book.receipts]
    assert any(len(p) == 35 for p in payers) and any("OBO" in p for p in payers)
    assert any(p.startswith(("i.A. ", "per pro ", "pp ")) or p.endswith(" i.A.") for p in payers)
    assert any(r.ultimate for r in book.receipts)  # provider as debtor, the customer as ultimate debtor
    names = {c.name for c in book.customers}
    folded = [p for p in payers if p.isascii() and p not in names and p.upper() == p]
    assert any(p in {fold_ascii(n) for n in names if not n.isascii()} for p in folded)
    assert fold_ascii("Łódź Straße Søren Æble") == "LODZ STRASSE SOREN AEBLE"
    parents = {c.customer_id: c for c in book.customers if any(s.parent_id == c.customer_id for s in book.customers)}
    assert parents
    invoice_owner = {i.number: i.customer_id for i in book.invoices}
    by_id = {c.customer_id: c for c in book.customers}
    parent_paid = [
        ref
        for ref, rows in _paying(book).items()
        if by_id[invoice_owner[rows[0][1]]].parent_id
        and by_ref[ref].payer == by_id[by_id[invoice_owner[rows[0][1]]].parent_id].name
    ]
    assert parent_paid


def test_chinese_book_pays_by_name_only_without_legal_forms_and_through_third_parties() -> None:
    book = chinese.generate(1, 4000)
    names = {c.name for c in book.customers}
    assert all(re.search(r"[\u4e00-\u9fff]", n) for n in names)
    assert any(chinese.FW_OPEN in n for n in names)  # branches with full-width brackets in the master
    paying = _paying(book)
    by_ref = {r.ref: r for r in book.receipts}
    payers = [by_ref[ref].payer for ref in paying]
    assert any(p not in names and chinese.strip_form(p) == p and p + "有限公司" in names for p in payers)
    assert any(p.endswith(tuple(chinese.DEPARTMENTS)) for p in payers)
    assert any("(" in p and p in {chinese.swap_brackets(n) for n in names} for p in payers)
    assert any("代" in by_ref[ref].text for ref in paying)
    numbers = {i.number for i in book.invoices}
    assert not any(n in r.text or n in " ".join(r.documents) for r in book.receipts for n in numbers if r.text)
    assert {r.currency for r in book.receipts} == {"CNY"}
    assert any(not t[1] for t in book.truth)  # receipts that pay nothing


def test_iban_check_digits_are_valid() -> None:
    import random

    rng = random.Random(1)
    for country in ("DE", "PL", "FR", "NO"):
        value = iban(rng, country)
        moved = value[4:] + "".join(str(ord(ch) - 55) if ch.isalpha() else ch for ch in value[:4])
        assert int(moved) % 97 == 1


def test_nordic_book_has_its_references_names_fees_and_receipts_that_pay_nothing() -> None:
    from stdnum import iban as stdnum_iban, iso11649, luhn

    from hub.identity import tax_key

    book = nordic.generate(1, 6000)
    invoices = {i.number: i for i in book.invoices}
    customers = {c.customer_id: c for c in book.customers}
    receipts = {r.ref: r for r in book.receipts}
    paying = _paying(book)
    # a customer per 25 invoices; four currencies, each receipt in its invoices' currency
    assert len(book.customers) == 6000 // 25
    assert {i.currency for i in book.invoices} == {"EUR", "SEK", "NOK", "DKK"}
    assert all(receipts[ref].currency == invoices[rows[0][1]].currency for ref, rows in paying.items())
    # plain seven-digit numbers, each with its country's reference and a valid check digit
    assert all(re.fullmatch(r"\d{7}", n) for n in invoices)
    kinds: set[str] = set()
    for inv in book.invoices:
        ref, country = inv.payment_reference, customers[inv.customer_id].country
        if ref.startswith("RF"):
            assert iso11649.is_valid(ref)
            kinds.add("rf")
        elif country in ("FI", "EE"):
            assert ref == inv.number + nordic.ref_731(inv.number)
            kinds.add("731")
        else:
            assert luhn.is_valid(ref) and inv.number in ref
            kinds.add(country)
    assert kinds == {"rf", "731", "NO", "SE", "DK"}
    # names with the region's letters and legal forms, valid IBANs and VAT numbers in the master
    names = [c.name for c in book.customers]
    assert all(any(ch in "".join(names) for ch in letters) for letters in ("å", "ä", "ö", "ø", "æ"))
    words = {w.strip('"„“') for n in names for w in n.split()}
    assert {"AB", "AS", "ASA", "Oy", "Oyj", "ApS", "A/S", "SIA", "UAB", "OÜ"} <= words
    for c in book.customers:
        assert not c.iban or stdnum_iban.is_valid(c.iban)
        tax_key("tax", c.tax_id, c.country)
    # banks write names in upper case, folded to ASCII and cut at 35 characters
    payers = {r.payer for r in book.receipts}
    folded = {nordic.bank_name(n, "fold") for n in names}
    assert any(p in folded and p.isascii() and len(p) == 35 for p in payers)
    assert nordic.bank_name("Bjørnstad Tømmer og Bygg Ålesund AS", "fold") == "BJORNSTAD TOMMER OG BYGG ALESUND AS"
    assert nordic.bank_name("Bæk Trælast A/S", "fold-long") == "BAEK TRAELAST A/S"
    assert nordic.bank_name('SIA "Kalniņš Koks"', "fold") == "SIA KALNINS KOKS"
    # every phenomenon of the brief occurs on paying receipts
    tags = {t for ref in paying for t in book.tags[ref]}
    assert {
        "structured-reference",
        "kid",
        "se-ocr",
        "fik",
        "rf",
        "national-ref",
        "number-in-text",
        "reference-in-text",
        "number-with-error",
        "no-reference",
        "new-account",
        "group-2-4",
        "group-5-12",
        "group-named",
        "group-partly-named",
        "group-unnamed",
        "partial",
        "fee-fixed",
        "fee-percent",
        "fee-two-banks",
        "discount-2pct",
        "paid-by-parent",
        "factor-pays",
        "customer-in-ultimate-debtor",
        "customer-in-text",
        "reference-in-addtl-info",
        "name-folded",
        "name-cut-35",
    } <= tags
    assert all(len(rows) <= 13 for rows in paying.values())  # up to 12 invoices and a credit note
    assert max(len(rows) for rows in paying.values()) >= 10
    # structured references are the invoices' own; free-text prefixes; AddtlTxInf without text
    for ref in paying:
        r = receipts[ref]
        assert set(r.creditor_refs) <= {invoices[n].payment_reference for _, n, _ in paying[ref]}
    texts = " ".join(r.text for r in book.receipts)
    assert all(p in texts.upper() for p in ("FAKTURA ", "FAKT NR ", "LASKU ", "INV "))
    assert any(r.tx_info and not r.text and "/REMI/" in r.tx_info for r in book.receipts)
    # a number typed with one error is no longer the number (as a whole word)
    for ref, rows in paying.items():
        if "number-with-error" in book.tags[ref] and len(rows) == 1:
            words_of = set(re.findall(r"\w+", receipts[ref].text + receipts[ref].tx_info))
            assert rows[0][1] not in words_of
    # fees: receipts short by exactly a bank's fee, from 3.50 to 35.00 in EUR
    fee_only = [
        ref
        for ref in paying
        if "fee-fixed" in book.tags[ref]
        and not {"discount-2pct", "partial", "fee-two-banks"} & set(book.tags[ref])
        and receipts[ref].currency == "EUR"
    ]
    fees = {sum(Decimal(a) for _, _, a in paying[ref]) - receipts[ref].amount for ref in fee_only}
    assert min(fees) == Decimal("3.50") and max(fees) >= Decimal("25.00")
    # the factor pays: its name as debtor, the customer as ultimate debtor
    factored = [receipts[ref] for ref in paying if "customer-in-ultimate-debtor" in book.tags[ref]]
    assert all(r.payer in {f.upper() for f in nordic.FACTORS} and r.ultimate for r in factored)
    # receipts that pay nothing, of every kind
    kinds_nothing = {t for r, rows in book.tags.items() if "not-a-customer-payment" in rows for t in rows}
    assert {"tax-refund", "interest", "supplier-refund", "employee-refund", "prepayment-no-invoice"} <= kinds_nothing


def test_nordic_creditor_references_reach_the_hub(tmp_path: Path) -> None:
    import sqlite3

    result = bench_books.run_one("nordic", 400, 2, tmp_path)
    conn = sqlite3.connect(Path(str(result["work"])) / "hub.db")
    refs = [json.loads(x) for (x,) in conn.execute('SELECT "references" FROM receipt') if x]
    conn.close()
    values = [r for rs in refs for r in rs if r.get("type") == "SCOR"]
    assert any(r["value"].startswith("RF") and r["issuer"] == "ISO" for r in values)
    assert any(r["value"].isdigit() for r in values)


def test_nordic_reference_check_digits() -> None:
    assert nordic.ref_731("123") == "2" and nordic.ref_731("123456") == "1"  # Finnish references 1232, 1234561
    assert nordic.rf("539007547034") == "RF18539007547034"  # ISO 11649's own example
    assert nordic.luhn("7992739871") == "3"
    assert nordic.grouped("RF18539007547034") == "RF18 5390 0754 7034"


# -- the UK and Irish distributor (held out) -----------------------------------------------------------


def test_distributor_book_money_adds_up_per_receipt_and_numbers_are_unique() -> None:
    book = distributor.generate(1, 3000)
    assert (len(book.customers), len(book.invoices)) == (300, 3000)
    assert len(book.receipts) > 450  # a receipt per 5.5 invoices, a few drawn for customers with nothing open
    refs = [r.ref for r in book.receipts]
    assert len(refs) == len(set(refs)) and all(re.fullmatch(r"UKD\d{12}", ref) for ref in refs)
    numbers = [i.number for i in book.invoices]
    assert len(numbers) == len(set(numbers))
    # two numberings rising with the issue date (the ERP migration), credit notes of each
    for pattern in (r"INV\d{6}", r"SI-\d{7}", r"CRN\d{6}", r"SCN-\d{7}"):
        assert any(re.fullmatch(pattern, n) for n in numbers), pattern
    for scheme in ("INV", "SI-"):
        mine = [i for i in book.invoices if i.number.startswith(scheme)]
        by_date = [i.number for i in sorted(mine, key=lambda i: (i.issue_date, i.number))]
        assert by_date == sorted(i.number for i in mine)
    assert all(i.issue_date < distributor.MIGRATION for i in book.invoices if i.number.startswith(("INV", "CRN")))
    # what each receipt carries is what it pays, less or more what its tags say
    paying = _paying(book)
    for r in book.receipts:
        tags = set(book.tags[r.ref])
        if r.ref not in paying:
            assert r.amount > 0 and tags & {"not-a-customer-payment", "duplicate-payment"}
            continue
        total = sum(Decimal(a) for _, _, a in paying[r.ref])
        assert r.sent is not None and r.amount > 0
        fee = r.sent - r.amount
        assert (fee > 0) == bool(tags & {"fee-fixed", "fee-percent"}), (r.ref, tags)
        if "settlement-discount" in tags:
            rate = Decimal("0.025") if "discount-2.5pct" in tags else Decimal("0.02")
            assert r.sent == total - money(total * rate)
        elif "short-deduction" in tags:
            assert 0 < total - r.sent < total
        elif "overpayment" in tags:
            assert r.sent > total
        else:  # untouched, paid in part or on account: exactly what the truth says
            assert r.sent == total, (r.ref, tags)
    # part payments pay less than the invoice; a round sum on account pays the oldest in full first
    invoices = {i.number: i for i in book.invoices}
    for ref, rows in paying.items():
        if "partial" in book.tags[ref]:
            assert len(rows) == 1 and Decimal(rows[0][2]) < invoices[rows[0][1]].amount
        if "on-account-round-sum" in book.tags[ref]:
            assert [Decimal(a) for _, _, a in rows[:-1]] == [invoices[n].amount for _, n, _ in rows[:-1]]
            assert sum(Decimal(a) for _, _, a in rows) % 50 == 0
    assert all(len(rows) <= 16 for rows in paying.values())  # up to 15 invoices and a credit note
    assert max(len(rows) for rows in paying.values()) >= 8


def test_distributor_book_has_uk_and_irish_names_references_and_receipts_that_pay_nothing() -> None:
    from stdnum import iban as stdnum_iban
    from stdnum.gb import vat as gb_vat
    from stdnum.ie import vat as ie_vat

    book = distributor.generate(1, 6000)
    customers = {c.customer_id: c for c in book.customers}
    paying = _paying(book)
    # the master: account codes, valid VAT numbers and IBANs, Irish names, sole traders, groups
    assert all(re.fullmatch(r"[A-Z]{3}\d{3,4}", cid) for cid in customers)
    for c in book.customers:
        assert not c.iban or stdnum_iban.is_valid(c.iban)
        assert gb_vat.is_valid(c.tax_id) if c.country == "GB" else ie_vat.is_valid(c.tax_id) or c.country == "US"
    names = [c.name for c in book.customers]
    assert any(n.startswith(("Ó ", "Mac ")) for n in names) and any(" T/A " in n for n in names)
    assert {c.currency for c in book.customers} == {"GBP", "EUR", "USD"}
    assert any(c.parent_id for c in book.customers)
    stems = Counter(n.split()[0] for n in names)
    assert stems.most_common(1)[0][1] >= 10  # several customers share a name stem
    # Faster Payments and BACS: 18 characters of reference and name, in the BACS character set
    receipts = {r.ref: r for r in book.receipts}
    short = [r for r in book.receipts if {"fps", "bacs"} & set(book.tags[r.ref])]
    assert short and all(len(r.text) <= 18 and len(r.payer) <= 18 for r in short)
    assert all(re.fullmatch(r"[A-Z0-9 .&/-]*", r.text + r.payer) for r in short)
    assert all(r.payer.isascii() and r.text.isascii() for r in book.receipts)
    assert all(len(r.text) <= 140 for r in book.receipts)
    # UK banks report the payer's sort code and account number, not the IBAN the master holds
    ibans = {c.iban[8:]: c for c in book.customers if c.iban.startswith("GB")}
    assert any(r.account in ibans for r in short)
    # customers' account codes, numbers without prefix, advices said to follow
    texts = [receipts[ref].text for ref in paying]
    assert any(t in customers or t.startswith(("ACC ", "A/C ")) for t in texts)
    assert any(re.fullmatch(r"\d{4,6}", t) for t in texts)
    assert any("ADVICE" in t for t in texts)
    assert any(r.tx_info.startswith("/RFB/") and not r.text for r in book.receipts)
    tags = {t for ref in paying for t in book.tags[ref]}
    assert {
        "fps",
        "bacs",
        "sepa-online",
        "sepa-file",
        "swift",
        "cheque",
        "number-in-text",
        "number-short",
        "number-reformatted",
        "number-with-error",
        "account-code",
        "po-number",
        "payer-own-ref",
        "name-as-reference",
        "no-reference",
        "remittance-advice-said",
        "ref-cut-18",
        "statement-payment",
        "group-2-5",
        "group-6-15",
        "group-named",
        "group-partly-named",
        "group-unnamed",
        "credit-note-netted",
        "partial",
        "on-account-round-sum",
        "short-deduction",
        "overpayment",
        "settlement-discount",
        "fee-fixed",
        "paid-by-parent",
        "finance-pays",
        "personal-account",
        "trading-as",
        "name-cut-18",
        "name-folded",
        "name-punctuation-dropped",
        "account-domestic",
        "new-account",
        "no-account-in-master",
        "same-amount-open",
    } <= tags
    # receipts that pay nothing, of every kind
    nothing = {t for r in book.receipts if r.ref not in paying for t in book.tags[r.ref]}
    assert {"tax-refund", "interest", "insurance", "supplier-rebate", "supplier-refund", "duplicate-payment"} <= nothing
    assert {"HMRC VAT", "REVENUE COMMISSIONERS"} & {r.payer for r in book.receipts}


def test_distributor_book_writes_files_that_parse(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    book = distributor.generate(3, 3000)
    write_book(book, tmp_path)
    ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"}
    entries = ET.parse(tmp_path / "statement.xml").getroot().findall(".//c:Ntry", ns)
    assert len(entries) == len(book.receipts)
    assert sum(Decimal(e.findtext("c:Amt", namespaces=ns) or "0") for e in entries) == sum(
        r.amount for r in book.receipts
    )
    assert len(_rows(tmp_path / "invoices.csv")) == 3000
    assert len(_rows(tmp_path / "customers.csv")) == len(book.customers)
    assert {r["receipt_ref"] for r in _rows(tmp_path / "truth.csv")} == {r.ref for r in book.receipts}
    assert all(r["tags"] for r in _rows(tmp_path / "phenomena.csv"))
    remt = ET.parse(tmp_path / "advice.xml").getroot()
    assert remt.findall(".//{urn:iso:std:iso:20022:tech:xsd:remt.001.001.04}RmtInf")
    assert advices(book)  # payments that say an advice follows get one, mostly
