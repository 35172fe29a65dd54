"""Book 5 (held out): a UK and Irish wholesale distributor (electrical and plumbing supplies) invoicing
trade customers in GBP and EUR, a few in USD.

This book is a held-out measurement: the matcher is not tuned on it. Change it for realism, never to
move a figure. What differs from the other books, and why a credit control team in the UK and
Ireland sees it:

* two numberings from an ERP migration on 1 April 2026: ``INV184523`` and credit notes ``CRN012345``
  before it, ``SI-0012345`` and ``SCN-0001234`` after it (both rising with the issue date); customer
  account codes ``HAR001`` (the first letters of the name, Sage style) that payers quote instead of an
  invoice number; customers' own purchase order numbers, and sole traders' job addresses, as PO;
* most receipts are Faster Payments and BACS credits whose reference holds 18 characters in the
  BACS character set (upper case, no apostrophes, brackets or commas): payers squeeze numbers in
  (``12345 12367 12390``), drop the prefix and zeros, write ``INV 12345`` for ``SI-0012345``, quote
  their account code, their PO, their own name, their payment run number, ``REMITTANCE TO FOLL`` (the
  bank cut it) or nothing; payer names come cut at 18 characters too (``HARRINGTON ELECTRI``), with
  the bank account's ``LTD`` for the master's ``Limited`` or the bank's abbreviations (``ELEC``, ``SVCS``);
  the payer's account arrives as a sort code and account number, not the IBAN the master holds;
* Irish customers pay by SEPA from online banking (18 characters) or from a payables file (140
  characters, an end-to-end id, sometimes structured document numbers); Irish names (Ó Súilleabháin,
  Mac Cárthaigh, fadas) come folded to ASCII, and O'Neill as ONEILL or O NEILL; CHAPS for large sums;
  SWIFT from Ireland in GBP and from US customers in USD, with intermediary fees deducted (SHA) and the
  remittance sometimes only in the additional transaction information;
* sole traders (``David Wilson T/A Wilson Plumbing & Heating``) pay from personal or joint accounts
  (``MR D WILSON``, ``MR D & MRS K WILSON``) and type numbers by hand, with errors;
* payment runs of 2 to 15 invoices oldest first, or a whole month's statement (``AUG STATEMENT``),
  netting credit notes; remittance advices said to come apart (``SEE REMITTANCE ADVICE``); part
  payments and instalments; round sums ``ON ACCOUNT`` from customers on a payment plan, applied
  oldest first; short payments for a disputed or missing line; overpayments; a 2% or 2.5% settlement
  discount for payment within 10 days, sometimes taken late; duplicate payments of an invoice already
  paid; cheques paid in at the counter without a payer name;
* group companies paying for subsidiaries (several sharing a name stem), supply-chain finance and
  B2B trade-credit providers paying for customers; price-list amounts (a distributor sells standard
  items) repeated across invoices;
* receipts that pay no invoice: HMRC and Revenue VAT repayments, bank interest, insurance claims,
  supplier rebates and refunds quoting the supplier's own document numbers, card-terminal
  settlements, pro-forma prepayments, transfers from our own euro account and returned payments.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import accumulate

from books.common import (
    Book,
    Customer,
    Invoice,
    OpenPool,
    Receipt,
    by_customer,
    fold_ascii,
    lognormal_amount,
    money,
    spread_dates,
    zipf_weights,
)

NAME = "distributor"
TITLE = "UK and Irish distributor (held out)"

#: The ERP migration: INV/CRN numbers before it, SI-/SCN- after it.
MIGRATION = dt.date(2026, 4, 1)

#: Region -> (weight among customers, country).
REGIONS = {"ENG": (52, "GB"), "SCO": (7, "GB"), "WAL": (4, "GB"), "NIR": (6, "GB"), "IE": (27, "IE"), "US": (4, "US")}
STEMS = {
    "ENG": [
        "Smith",
        "Jones",
        "Taylor",
        "Brown",
        "Wilson",
        "Harrington",
        "Patel",
        "Walker",
        "Wright",
        "Clarke",
        "Hughes",
        "Green",
        "Turner",
        "Cooper",
        "Ward",
        "Harrison",
        "Khan",
        "Bennett",
        "Pennington",
        "Whitmore",
        "Ashworth",
        "Sutcliffe",
        "Greenhalgh",
        "Mistry",
        "Singh",
        "Edwards",
        "Jackson",
        "Fairbrother",
    ],
    "SCO": ["MacDonald", "Campbell", "Stewart", "Robertson", "MacLeod", "Fraser", "Mackenzie", "Cameron"],
    "WAL": ["Davies", "Griffiths", "Llewellyn", "Pritchard", "Morgan", "Rees", "Powell"],
    "NIR": ["McAllister", "O'Neill", "McCann", "McKeown", "Magee", "O'Hare", "McCormick", "Doherty", "Quinn"],
    "IE": [
        "Murphy",
        "Kelly",
        "O'Sullivan",
        "Walsh",
        "O'Brien",
        "Byrne",
        "Ryan",
        "McCarthy",
        "Doyle",
        "Fitzgerald",
        "Ó Súilleabháin",
        "Ó Briain",
        "Mac Cárthaigh",
        "Ó Ceallaigh",
        "Ó Dónaill",
        "Mac Giolla Phádraig",
        "Ó Máille",
        "Breathnach",
    ],
    "US": ["Redwood", "Lakeshore", "Keystone", "Ironbridge", "Bluewater", "Summit"],
}
REGIONAL = {
    "ENG": ["Northern", "Midland", "Pennine", "Thames Valley", "Severn", "Solent", "Wessex", "Anglia"],
    "SCO": ["Highland", "Lothian", "Clyde", "Caledonian"],
    "WAL": ["Celtic", "Cambrian", "Gwent"],
    "NIR": ["Ulster", "Lagan", "Mourne"],
    "IE": ["Atlantic", "Shannon", "Liffey", "Munster", "Connacht"],
    "US": ["Great Lakes", "Tri-State"],
}
PLACES = {
    "ENG": ["Bristol", "Leeds", "Manchester", "Birmingham", "Sheffield", "Nottingham", "Croydon", "Reading", "Hull"],
    "SCO": ["Glasgow", "Edinburgh", "Aberdeen", "Dundee", "Inverness"],
    "WAL": ["Cardiff", "Swansea", "Wrexham", "Bangor"],
    "NIR": ["Belfast", "Derry", "Newry", "Lisburn"],
    "IE": ["Dublin", "Cork", "Galway", "Limerick", "Waterford", "Dún Laoghaire", "Conamara", "Trá Lí"],
    "US": ["Boston", "Chicago", "Newark"],
}
TRADES = [
    "Electrical",
    "Electrical",
    "Electrical Contractors",
    "Electrical Services",
    "Plumbing & Heating",
    "Plumbing & Heating",
    "Heating Services",
    "Building Services",
    "M&E Services",
    "Mechanical & Electrical",
    "Property Maintenance",
    "Gas Services",
    "Renewables",
    "Facilities Management",
    "Construction",
    "Bathrooms",
    "Lighting",
]
TRADES_IE = ["Seirbhísí Leictreacha", "Pluiméireacht agus Téamh"]
TRADES_US = ["Electric Supply", "Mechanical", "Electrical Contractors", "Plumbing Supply"]
FORMS = {
    "GB": (["Ltd", "Limited", "PLC", "LLP"], [50, 40, 2, 3]),
    "IE": (["Ltd", "Limited", "DAC", "Teoranta"], [45, 40, 8, 7]),
    "US": (["Inc.", "LLC", "Corp."], [50, 35, 15]),
}
FIRST = {
    "GB": ["David", "John", "Paul", "Mark", "Gary", "Steven", "Lee", "Darren", "Sarah", "Karen", "Imran", "Rajesh"],
    "GB2": ["Tomasz", "Gareth", "Callum", "Ewan", "Rhys", "Dafydd", "Kieran", "Connor"],
    "IE": ["Seán", "Pádraig", "Siobhán", "Ciarán", "Eoin", "Niamh", "Dónal", "Máire", "Aoife", "Séamus", "Colm"],
}
SPOUSES = ["K", "S", "J", "L", "M", "A"]
STREETS = ["ELM RD", "HIGH ST", "CHURCH LANE", "MILL ST", "STATION RD", "PARK AVE", "THE GREEN", "MAIN ST"]
#: Banks' codes in an IBAN and the first two digits of their sort codes.
BANKS = {
    "GB": [
        ("NWBK", "60"),
        ("BARC", "20"),
        ("LOYD", "30"),
        ("HBUK", "40"),
        ("ABBY", "09"),
        ("RBOS", "16"),
        ("TSBS", "77"),
        ("BOFS", "80"),
        ("CLYD", "82"),
        ("SRLG", "60"),
        ("MONZ", "04"),
    ],
    "NIR": [("ULSB", "98"), ("DABA", "95"), ("BOFI", "90"), ("FTBK", "93")],
    "IE": [("AIBK", "93"), ("BOFI", "90"), ("IPBS", "99"), ("REVO", "99")],
}
#: Payment providers' pooled GB accounts a customer's payment can come from (Wise, Revolut).
PROVIDER_BANKS = [("TRWI", "231470"), ("REVO", "040075")]
#: What a bank account's name holds for the master's words.
ABBREVIATIONS = {
    "ELECTRICAL": "ELEC",
    "SERVICES": "SVCS",
    "CONTRACTORS": "CONTRS",
    "PLUMBING": "PLUMB",
    "HEATING": "HTG",
    "BUILDING": "BLDG",
    "MAINTENANCE": "MAINT",
    "MANAGEMENT": "MGMT",
    "CONSTRUCTION": "CONSTR",
    "MECHANICAL": "MECH",
}
#: Supply-chain finance and B2B trade-credit providers paying for customers.
FINANCIERS = ["KRIYA FINANCE LTD", "HOKODO SERVICES LTD", "TAULIA UK LTD", "IWOCA LTD", "BARCLAYS BANK SCF"]
#: Fees on SWIFT transfers (SHA): each payer's bank keeps its own, in the payment currency.
SWIFT_FEES = {
    "EUR": ["10.00", "12.50", "15.00", "20.00", "25.00"],
    "GBP": ["6.00", "8.00", "10.00", "12.00", "15.00", "20.00"],
    "USD": ["15.00", "18.00", "20.00", "25.00", "30.00", "35.00", "40.00", "45.00"],
}
CORRESPONDENT = {
    "EUR": ["7.00", "10.00", "15.00"],
    "GBP": ["5.00", "8.00"],
    "USD": ["10.00", "15.00", "20.00", "25.00"],
}
#: What our bank takes from an incoming SEPA credit (rarely).
SEPA_FEES = ["1.00", "2.00", "2.50", "5.00"]
#: Price-list and typical amounts in each currency, per pound.
SCALE = {"GBP": Decimal(1), "EUR": Decimal("1.16"), "USD": Decimal("1.27")}
VAT = {"GB": Decimal("0.20"), "IE": Decimal("0.23"), "US": Decimal(0)}
SHORT_CHANNELS = ("bacs", "fps", "sepa-online")
BANK_NARRATIVE = {
    "bacs": "BACS CREDIT",
    "fps": "FASTER PAYMENTS RECEIPT",
    "chaps": "CHAPS CREDIT",
    "sepa-online": "SEPA CREDIT TRANSFER",
    "sepa-file": "SEPA CREDIT TRANSFER",
    "swift": "INTERNATIONAL PAYMENT",
    "cheque": "CHEQUE DEPOSIT",
    "bank": "INTEREST",
}
_BACS_BAD = re.compile(r"[^A-Z0-9 .&/-]")


def sizes(invoices: int) -> tuple[int, int]:
    """Customers and receipts for ``invoices`` invoices: a trade account per 10 invoices, a receipt per 5.5."""
    return max(invoices // 10, 20), max(invoices * 2 // 11, 10)


# -- identifiers -----------------------------------------------------------------------------------


def _iban(rng: random.Random, country: str, bank: tuple[str, str] | None = None) -> str:
    """A GB or IE IBAN: bank code, six-digit sort code (NSC), eight-digit account, valid check digits."""
    code, prefix = bank or rng.choice(BANKS["IE" if country == "IE" else "GB"])
    sort = prefix + "".join(str(rng.randint(0, 9)) for _ in range(6 - len(prefix)))
    bban = code + sort + "".join(str(rng.randint(0, 9)) for _ in range(8))
    cc = "IE" if country == "IE" else "GB"
    moved = "".join(str(int(ch, 36)) for ch in bban + cc + "00")
    return f"{cc}{98 - int(moved) % 97:02d}{bban}"


def _gb_vat(rng: random.Random) -> str:
    body = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(6)]
    total = sum(d * w for d, w in zip(body, range(8, 1, -1), strict=True))
    return "GB" + "".join(map(str, body)) + f"{-total % 97:02d}"


def _ie_vat(rng: random.Random) -> str:
    """An Irish VAT number: seven digits and a check letter, since 2013 with a second letter."""
    alphabet = "WABCDEFGHIJKLMNOPQRSTUV"
    digits = "".join(str(rng.randint(0, 9)) for _ in range(7))
    total = sum((8 - i) * int(d) for i, d in enumerate(digits))
    if rng.random() < 0.3:
        second = rng.choice("AH")
        return f"IE{digits}{alphabet[(total + 9 * alphabet.index(second)) % 23]}{second}"
    return f"IE{digits}{alphabet[total % 23]}"


def _code_letters(basis: str) -> str:
    letters = re.sub(r"[^A-Z]", "", fold_ascii(basis.removeprefix("The ")))
    return (letters + "XXX")[:3]


# -- names -----------------------------------------------------------------------------------------


def _country(region: str) -> str:
    return REGIONS[region][1]


def _trade(rng: random.Random, region: str) -> str:
    if region == "US":
        return rng.choice(TRADES_US)
    if region == "IE" and rng.random() < 0.08:
        return rng.choice(TRADES_IE)
    return rng.choice(TRADES)


def _form(rng: random.Random, country: str) -> str:
    forms, weights = FORMS[country]
    return rng.choices(forms, weights)[0]


def _company_name(rng: random.Random, region: str, stem: str) -> str:
    country, trade, form = _country(region), _trade(rng, region), _form(rng, _country(region))
    r = rng.random()
    if r < 0.22:
        core = f"{stem} {trade} ({rng.choice(PLACES[region])})"
    elif r < 0.32 and country != "US":
        core = f"{stem} & Sons" if rng.random() < 0.6 else f"{stem} Bros {trade}"
    elif r < 0.42:
        core = f"{stem} & {rng.choice(STEMS[region])} {trade}"
    elif r < 0.55:
        core = f"{rng.choice(REGIONAL[region])} {trade}"
    else:
        core = f"{stem} {trade}"
    return f"{core} {form}"


def _first(rng: random.Random, region: str) -> str:
    if region in ("IE", "NIR") and rng.random() < 0.7:
        return rng.choice(FIRST["IE"])
    return rng.choice(FIRST["GB"] if rng.random() < 0.75 else FIRST["GB2"])


def _sole_name(rng: random.Random, region: str, stem: str) -> tuple[str, str, str]:
    """A sole trader in the master: (name, account-code basis, first name)."""
    first, trade = _first(rng, region), _trade(rng, region)
    trading = f"{stem} {trade}" if rng.random() < 0.8 else f"{rng.choice(REGIONAL[region])} {trade}"
    r = rng.random()
    if r < 0.45:
        return f"{first} {stem} T/A {trading}", trading, first
    if r < 0.8:
        return trading, trading, first
    return f"{first} {stem}", stem, first


def account_name(rng: random.Random, name: str) -> tuple[str, list[str]]:
    """The name the payer's bank account holds (upper case, ASCII): the master's, ``LTD`` for
    ``Limited`` or back, and sometimes the bank's abbreviations."""
    out = fold_ascii(name)
    tags: list[str] = []
    if out.endswith(" LIMITED") and rng.random() < 0.35:
        out, tags = out[: -len("LIMITED")] + "LTD", ["name-ltd-limited"]
    elif out.endswith(" LTD") and rng.random() < 0.15:
        out, tags = out[: -len("LTD")] + "LIMITED", ["name-ltd-limited"]
    if rng.random() < 0.2:
        short = " ".join(ABBREVIATIONS.get(w, w) for w in out.split())
        if short != out:
            out = short
            tags.append("name-abbreviated")
    return out, tags


def bacs_text(text: str, apostrophe: str = "") -> str:
    """Text in the BACS and Faster Payments character set: upper case A-Z 0-9 . / & - and space."""
    folded = fold_ascii(text.replace("'", apostrophe).replace("\u2019", apostrophe))
    return " ".join(_BACS_BAD.sub("", folded).split())


def sent_name(name: str, channel: str, apostrophe: str) -> str:
    """A payer's account name as its payment arrives: 18 characters on BACS and Faster Payments,
    35 on SWIFT (no ampersand), 70 in SEPA and CHAPS."""
    if channel in ("bacs", "fps"):
        return bacs_text(name, apostrophe)[:18].strip()
    folded = " ".join(fold_ascii(name).split())
    if channel == "swift":
        return folded.replace("&", "AND")[:35].strip()
    return folded[:70].strip()


def _name_tags(master: str, held: str, channel: str) -> list[str]:
    """What happened to a company's name on its way: folded to ASCII, punctuation dropped, cut."""
    tags = []
    if not master.isascii():
        tags.append("name-folded")
    if channel in ("bacs", "fps"):
        if any(ch in master for ch in "'()"):
            tags.append("name-punctuation-dropped")
        if len(bacs_text(held)) > 18:
            tags.append("name-cut-18")
    elif channel == "swift" and len(held) > 35:
        tags.append("name-cut-35")
    return tags


# -- numbers as payers write them ------------------------------------------------------------------


def digits_of(number: str) -> str:
    """``SI-0012345`` -> ``12345``: the number without prefix and leading zeros."""
    return re.sub(r"\D", "", number).lstrip("0") or "0"


def variant(number: str, pick: int) -> str:
    """One payer's own way of writing our number (``pick`` keeps each payer's way)."""
    d = digits_of(number)
    if number.startswith("SI-"):
        forms = [f"SI{d}", f"INV {d}", f"SI {d}", f"INV{d}", number.replace("-", ""), f"SI-{d}"]
    elif number.startswith("INV"):
        forms = [f"INV {d}", f"INV-{d}", f"IN{d}", f"I{d}", f"INV.{d}", f"INV {number[3:]}"]
    else:  # credit notes
        forms = [f"CN {d}", f"SCN{d}", f"CRN {d}", f"CR {d}", f"CN{d}", number.replace("-", "")]
    return forms[pick % len(forms)]


def typo(rng: random.Random, text: str) -> str:
    """One error of a person typing a number: two digits swapped, one dropped, one doubled or wrong."""
    spots = [i for i, ch in enumerate(text) if ch.isdigit()]
    if len(spots) < 2:
        return text + "1"
    kind = rng.choice(["swap", "swap", "drop", "double", "digit"])
    i = rng.choice(spots[:-1])
    if kind == "swap" and text[i + 1].isdigit() and text[i] != text[i + 1]:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    if kind == "double":
        return text[: i + 1] + text[i:]
    return text[:i] + rng.choice([d for d in "0123456789" if d != text[i]]) + text[i + 1 :]


def fit(parts: list[str], limit: int, sep: str = " ") -> tuple[str, int]:
    """As many of ``parts`` as fit in ``limit`` characters, and how many did."""
    out, k = "", 0
    for p in parts:
        joined = f"{out}{sep}{p}" if out else p
        if len(joined) > limit:
            break
        out, k = joined, k + 1
    return out, k


# -- the book --------------------------------------------------------------------------------------


class _Draft:
    __slots__ = ("basis", "country", "currency", "first", "name", "region", "sole", "stem")

    def __init__(self, region: str, name: str, basis: str, stem: str, sole: bool, first: str) -> None:
        self.region, self.name, self.basis, self.stem, self.sole, self.first = region, name, basis, stem, sole, first
        self.country = _country(region)
        self.currency = {"GB": "GBP", "IE": "EUR", "US": "USD"}[self.country]


def _customers(rng: random.Random, n: int) -> tuple[list[Customer], dict[str, _Draft]]:
    regions = list(REGIONS)
    weights = [w for w, _ in REGIONS.values()]
    stem_weights = {r: zipf_weights(len(STEMS[r]), 0.7) for r in regions}
    drafts: list[_Draft] = []
    seen: set[str] = set()
    for _ in range(n):
        region = rng.choices(regions, weights)[0]
        sole = region != "US" and rng.random() < 0.18
        for _ in range(30):
            stem = rng.choices(STEMS[region], stem_weights[region])[0]
            if sole:
                name, basis, first = _sole_name(rng, region, stem)
            else:
                name = basis = _company_name(rng, region, stem)
                first = ""
            if name not in seen:
                break
        seen.add(name)
        d = _Draft(region, name, basis, stem, sole, first)
        if region == "NIR" and rng.random() < 0.15:
            d.currency = "EUR"  # a Northern Irish firm trading across the border
        elif region == "IE" and rng.random() < 0.08:
            d.currency = "GBP"  # an Irish firm invoiced in sterling
        drafts.append(d)
    # groups: one company in 35 is a parent of two to five others, half of which carry its stem
    companies = [i for i, d in enumerate(drafts) if not d.sole]
    parent_of: dict[int, int] = {}
    parents = rng.sample(companies, min(len(companies), max(n // 35, 1)))
    for p in parents:
        d = drafts[p]
        group = rng.choice(["Group Holdings", "Group", "Holdings", "Group Services"])
        renamed = f"{d.stem} {group} {_form(rng, d.country) if d.country != 'GB' else rng.choice(['Ltd', 'Limited'])}"
        if renamed not in seen:
            seen.add(renamed)
            d.name = d.basis = renamed
        for s in rng.sample(companies, min(len(companies), rng.randint(2, 5))):
            sub = drafts[s]
            if s == p or s in parents or s in parent_of or sub.country != d.country:
                continue
            parent_of[s] = p
            if rng.random() < 0.5:
                name = (
                    f"{d.stem} {_trade(rng, sub.region)} ({rng.choice(PLACES[sub.region])}) {_form(rng, sub.country)}"
                )
                if name not in seen:
                    seen.add(name)
                    sub.name, sub.basis, sub.stem = name, name, d.stem
    # account codes: the name's first three letters and a sequence per letters
    counters: Counter[str] = Counter()
    ids: list[str] = []
    for d in drafts:
        letters = _code_letters(d.basis)
        counters[letters] += 1
        ids.append(f"{letters}{counters[letters]:03d}")
    customers: list[Customer] = []
    meta: dict[str, _Draft] = {}
    for i, d in enumerate(drafts):
        if d.country == "US":
            tax, account = f"US{rng.randint(10**8, 10**9 - 1)}", ""
        else:
            tax = _gb_vat(rng) if d.country == "GB" else _ie_vat(rng)
            bank = rng.choice(BANKS["NIR"]) if d.region == "NIR" else None
            account = _iban(rng, d.country, bank) if rng.random() < (0.85 if d.sole else 0.93) else ""
        customers.append(
            Customer(
                customer_id=ids[i],
                name=d.name,
                tax_id=tax,
                country=d.country,
                currency=d.currency,
                credit_limit=money(rng.choice([1, 2.5, 5, 10, 25, 50, 100]) * 1000 * (1 if not d.sole else 0.5)),
                iban=account,
                parent_id=ids[parent_of[i]] if i in parent_of else "",
            )
        )
        meta[ids[i]] = d
    return customers, meta


def _price(rng: random.Random) -> Decimal:
    """A list price (net), ending as price lists end: .99, .95, .50, .00 or any five pence."""
    base = rng.lognormvariate(math.log(32.0), 1.05)
    end = rng.choice(["0.99", "0.95", "0.50", "0.00", "5p"])
    if end == "5p":
        return money(max(round(base * 20) / 20, 0.35))
    return money(max(math.floor(base), 0) + float(end) if float(end) else max(round(base), 1))


class _Numbering:
    def __init__(self, rng: random.Random) -> None:
        self.old = rng.randint(150_000, 420_000)
        self.old_credit = rng.randint(9_000, 30_000)
        self.new = 10_000
        self.new_credit = 1_000

    def invoice(self, rng: random.Random, issued: dt.date) -> str:
        step = 1 if rng.random() < 0.98 else 2  # a cancelled draft leaves a gap
        if issued < MIGRATION:
            self.old += step
            return f"INV{self.old}"
        self.new += step
        return f"SI-{self.new:07d}"

    def credit(self, issued: dt.date) -> str:
        if issued < MIGRATION:
            self.old_credit += 1
            return f"CRN{self.old_credit:06d}"
        self.new_credit += 1
        return f"SCN-{self.new_credit:07d}"


def _due(issued: dt.date, terms: str) -> dt.date:
    if terms == "eom30":  # 30 days end of month: the end of the following month
        nxt = (issued.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        return (nxt + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return issued + dt.timedelta(days={"net30": 30, "net60": 60, "net14": 14}[terms])


def _po(rng: random.Random, style: str) -> str:
    if style == "po":
        return f"PO{rng.randint(10000, 99999)}"
    if style == "sap":
        return f"4500{rng.randint(100000, 999999)}"
    if style == "job":
        return f"JOB {rng.randint(1000, 9999)}"
    if style == "address":
        return f"{rng.randint(1, 150)} {rng.choice(STREETS)}"
    return f"PO-{rng.randint(100000, 999999)}"


def generate(seed: int, invoices: int, today: dt.date = dt.date(2026, 10, 2)) -> Book:
    rng = random.Random(f"distributor-{seed}")
    n_customers, n_receipts = sizes(invoices)
    customers, meta = _customers(rng, n_customers)
    book = Book(customers=customers, name=NAME, today=today)
    prices = [_price(rng) for _ in range(90)]
    price_weights = zipf_weights(len(prices), 0.9)
    terms = {}
    po_style = {}
    for c in customers:
        d = meta[c.customer_id]
        terms[c.customer_id] = (
            "net14" if d.sole and rng.random() < 0.4 else rng.choices(["eom30", "net30", "net60"], [55, 35, 10])[0]
        )
        po_style[c.customer_id] = (
            ("address" if rng.random() < 0.5 else "")
            if d.sole
            else rng.choices(["po", "sap", "job", "us", ""], [40, 15, 15, 5 if d.country == "US" else 0, 25])[0]
        )
    cw = zipf_weights(n_customers, 0.85)
    rng.shuffle(cw)
    cum = list(accumulate(cw))
    numbering = _Numbering(rng)
    for issued in sorted(spread_dates(rng, today) for _ in range(invoices)):
        c = rng.choices(customers, cum_weights=cum)[0]
        d = meta[c.customer_id]
        scale = SCALE[c.currency]
        vat = VAT[c.country]
        if rng.random() < 0.04:  # a credit note: returns, a price correction
            number = numbering.credit(issued)
            amount = -lognormal_amount(rng, 85.0 * float(scale), 0.9, 2.5, 4000.0)
        else:
            number = numbering.invoice(rng, issued)
            if rng.random() < 0.22:  # standard items from the price list
                net = rng.choices(prices, price_weights)[0] * rng.choice([1, 1, 1, 2, 3, 5, 10])
                amount = money(money(net * scale) * (1 + vat))
            else:
                median = 170.0 if d.sole else 420.0
                amount = lognormal_amount(rng, median * float(scale), 1.2, 4.5, 90_000.0 * float(scale))
        style = po_style[c.customer_id]
        book.invoices.append(
            Invoice(
                number,
                c.customer_id,
                issued,
                _due(issued, terms[c.customer_id]),
                c.currency,
                amount,
                _po(rng, style) if style and rng.random() < 0.75 else "",
            )
        )
    _Receipts(rng, book, meta, prices).run(n_receipts)
    return book


# -- how each customer pays ------------------------------------------------------------------------

SHORT_STYLES = {
    "company": (["number", "short", "variant", "code", "po", "name", "own", "none"], [30, 13, 9, 15, 7, 9, 9, 8]),
    "sole": (["number", "short", "variant", "code", "po", "name", "none"], [28, 15, 8, 10, 10, 19, 10]),
    "ie": (["number", "short", "variant", "code", "po", "name", "none"], [36, 12, 8, 10, 5, 14, 15]),
}
LONG_STYLES = (["number", "structured", "code", "po", "advice", "none"], [52, 14, 6, 8, 12, 8])
STYLE_TAG = {"number": "number-in-text", "short": "number-short", "variant": "number-reformatted"}
ADVICE_WORDS = ["REMITTANCE ADVICE", "SEE REMITTANCE ADVICE", "REMITTANCE TO FOLLOW", "ADVICE TO FOLLOW"]


@dataclass
class _Habit:
    """How one customer pays, the same way every time."""

    channel: str
    style: str
    account: str  # the account its payments come from (IBAN, or a US account number)
    account_tags: list[str]
    name: str  # the name its bank account holds
    name_tags: list[str]
    person: bool  # the account is a person's own
    apostrophe: str  # what its bank makes of an apostrophe on BACS
    variant: int  # its own way of writing our numbers
    typo: float
    statement: bool  # pays a month's statement
    discount: Decimal | None  # its settlement discount terms
    discount_late: bool  # takes the discount after the ten days too
    on_account: float  # share of its payments that are round sums on account
    finance: str  # the financier paying for it ("" if none)
    noise: bool  # adds its PO to the reference
    fee: Decimal | None  # its bank's SWIFT fee (None: a percentage)
    own_prefix: str


def _habit(rng: random.Random, c: Customer, d: _Draft) -> _Habit:
    if c.country == "US":
        channel = "swift"
    elif c.currency == "EUR":
        channel = "sepa-online" if d.sole else rng.choices(["sepa-online", "sepa-file", "swift"], [45, 45, 10])[0]
    elif c.country == "IE":  # sterling from Ireland: SWIFT, or Faster Payments through a payment provider
        channel = rng.choice(["swift", "fps"])
    else:
        channel = "fps" if d.sole else rng.choices(["bacs", "fps", "chaps"], [52, 45, 3])[0]
    if channel in SHORT_CHANNELS:
        styles, weights = SHORT_STYLES["ie" if channel == "sepa-online" else "sole" if d.sole else "company"]
    else:
        styles, weights = LONG_STYLES
    style = rng.choices(styles, weights)[0]
    if style == "structured" and channel == "swift":
        style = "number"
    # the account its payments come from: the master's, another one, a provider's or a person's own
    account_tags: list[str] = []
    person = False
    if channel == "fps" and c.country == "IE":
        account, account_tags = _iban(rng, "GB", rng.choice(PROVIDER_BANKS)), ["via-payment-provider"]
    elif c.country == "US":
        account = f"{rng.randint(10**9, 10**12 - 1)}"
    elif d.sole and rng.random() < 0.4:
        account, person = _iban(rng, c.country), True
    elif c.iban and rng.random() < 0.87:
        account = c.iban
    else:
        account = _iban(rng, c.country)
    if person:
        surname, first = fold_ascii(d.stem), fold_ascii(d.first or "John")
        raw = f"{d.first} {d.stem}"
        name = rng.choice(
            [
                f"MR {first[0]} {surname}",
                f"{first} {surname}",
                f"{surname} {first[0]}",
                f"MR {first[0]} & MRS {rng.choice(SPOUSES)} {surname}",
                f"{first[0]} {surname}",
            ]
        )
        name_tags = ["personal-account"] + (["name-folded"] if not raw.isascii() else [])
        if "'" in raw and channel in ("bacs", "fps"):
            name_tags.append("name-punctuation-dropped")
        if len(bacs_text(name)) > 18 and channel in ("bacs", "fps"):
            name_tags.append("name-cut-18")
    else:
        name, name_tags = account_name(rng, c.name)
    discount = rng.random() < 0.14
    return _Habit(
        channel=channel,
        style=style,
        account=account,
        account_tags=account_tags,
        name=name,
        name_tags=name_tags,
        person=person,
        apostrophe=rng.choice(["", "", " "]),
        variant=rng.randrange(6),
        typo=0.12 if d.sole else 0.05 if channel in ("fps", "sepa-online") else 0.0,
        statement=channel == "bacs" and rng.random() < 0.18,
        discount=rng.choice([Decimal("0.025"), Decimal("0.02")]) if discount else None,
        discount_late=discount and rng.random() < 0.15,
        on_account=0.3 if rng.random() < (0.2 if d.sole else 0.04) else 0.0,
        finance=rng.choice(FINANCIERS) if not d.sole and c.country == "GB" and rng.random() < 0.03 else "",
        noise=rng.random() < 0.25,
        fee=None if c.currency == "USD" and rng.random() < 0.15 else Decimal(rng.choice(SWIFT_FEES[c.currency])),
        own_prefix=rng.choice(["BACS", "PAYRUN", "SUPP", "PYMT", "REMIT", "BP"]),
    )


class _Open(OpenPool):
    """:class:`OpenPool`, and a month's statement."""

    def month(self) -> tuple[list[Invoice], dt.date | None]:
        """The oldest month's open invoices (at most 15), and that month's last day."""
        if not self.invoices:
            return [], None
        first = self.invoices[0].issue_date
        k = 0
        while k < min(len(self.invoices), 15) and self.invoices[k].issue_date.month == first.month:
            k += 1
        end = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return self.oldest(k), end


class _Receipts:
    def __init__(self, rng: random.Random, book: Book, meta: dict[str, _Draft], prices: list[Decimal]) -> None:
        self.rng, self.book, self.meta, self.prices = rng, book, meta, prices
        self.pools = by_customer(book.invoices)
        self.open = {cid: _Open(pool) for cid, pool in self.pools.items()}
        self.by_id = {c.customer_id: c for c in book.customers}
        self.habits = {c.customer_id: _habit(rng, c, meta[c.customer_id]) for c in book.customers}
        self.paying = [c for c in book.customers if c.customer_id in self.pools]
        self.cum = list(accumulate(len(self.pools[c.customer_id]) for c in self.paying))
        self.financier_accounts = {f: _iban(rng, "GB") for f in FINANCIERS}
        self.recent = book.today - dt.timedelta(days=10)
        self.paid_once: list[Receipt] = []  # single invoices paid in full, that an AP system may pay again

    def run(self, n: int) -> None:
        rng, today = self.rng, self.book.today
        for k in range(n):
            ref = f"UKD{today:%y%m%d}{k + 1:06d}"
            x = rng.random()
            if x < 0.062:
                _not_ours(rng, self.book, ref, self.habits)
            elif x < 0.067 and self.paid_once:
                self._duplicate(ref)
            else:
                self._payment(ref)

    def _duplicate(self, ref: str) -> None:
        """An invoice paid a second time (the payer's AP system paid it twice): no open invoice is paid."""
        first = self.rng.choice(self.paid_once)
        again = Receipt(
            ref,
            first.amount,
            first.currency,
            first.payer,
            first.account,
            first.text,
            end_to_end=first.end_to_end,
            entry_info=first.entry_info,
        )
        self.book.add(again, [], "duplicate-payment", f"ccy-{first.currency}")

    def _group(self, c: Customer, h: _Habit, tags: list[str]) -> tuple[list[Invoice], dt.date | None, bool]:
        """The invoices a payment pays, the month its statement closed (a statement payment), and
        whether they were issued within the discount days."""
        rng, items = self.rng, self.open[c.customer_id]
        big = len(self.pools[c.customer_id]) >= 40
        shape = rng.random()
        if h.statement and shape < 0.6:
            group, end = items.month()
            tags.append("statement-payment")
            return group, end, False
        if shape < (0.3 if big else 0.12):
            return items.oldest(rng.randint(2, 15 if big else 5)), None, False
        if h.discount is not None and rng.random() < 0.7:
            fresh = items.since(self.recent)
            if fresh:
                return fresh, None, True
        return (items.oldest(1) if rng.random() < 0.7 else items.any(rng)), None, False

    def _on_account(self, c: Customer) -> list[tuple[Invoice, Decimal]]:
        """A round sum on account from a customer on a payment plan, applied to the oldest invoices."""
        items = self.open[c.customer_id]
        head = items.invoices[:4]
        total = sum((i.amount for i in head), Decimal(0))
        rounds = [Decimal(x) for x in ("100", "150", "200", "250", "300", "500", "750", "1000", "2000")]
        rounds = [x for x in rounds if x < total]
        if not rounds:
            return []
        left = self.rng.choice(rounds)
        paid: list[tuple[Invoice, Decimal]] = []
        for inv in head:
            if left <= 0:
                break
            paid.append((inv, min(inv.amount, left)))
            left -= inv.amount
        items.oldest(len(paid))
        return paid

    def _payment(self, ref: str) -> None:
        rng = self.rng
        c = rng.choices(self.paying, cum_weights=self.cum)[0]
        h = self.habits[c.customer_id]
        items = self.open[c.customer_id]
        tags: list[str] = [f"ccy-{c.currency}"]
        words: list[str] = []
        fresh = False
        if h.on_account and rng.random() < h.on_account:
            paid = self._on_account(c)
            if not paid:
                return
            tags.append("on-account-round-sum")
            words.append("ON ACCOUNT")
            group = [inv for inv, _ in paid]
        else:
            group, month_end, fresh = self._group(c, h, tags)
            if not group:
                return
            paid = [(inv, inv.amount) for inv in group]
            if len(group) >= 2 and rng.random() < (0.8 if month_end else 0.4):
                note = items.credit(month_end)
                if note is not None and sum((a for _, a in paid), Decimal(0)) + note.amount > 0:
                    paid.append((note, note.amount))
                    tags.append("credit-note-netted")
                elif note is not None:
                    items.credits.insert(0, note)
            if len(group) > 1:
                tags.append("group-2-5" if len(group) <= 5 else "group-6-15")
        gross = sum((a for _, a in paid), Decimal(0))
        amount = gross
        shape = rng.random()
        if "on-account-round-sum" in tags:
            pass
        elif h.discount is not None and (fresh or (h.discount_late and shape < 0.3)):
            amount = gross - money(gross * h.discount)
            label = "2.5" if h.discount == Decimal("0.025") else "2"
            words.append(rng.choice([f"LESS {label}% DISC", f"LESS {label}PC SETT DISC", "LESS DISCOUNT"]))
            tags += ["settlement-discount", f"discount-{label}pct"] + ([] if fresh else ["discount-taken-late"])
        elif shape < 0.04 and len(group) == 1 and gross > 150:
            if rng.random() < 0.6:
                part = money(gross * Decimal(rng.choice(["0.25", "0.3333", "0.5", "0.5"])))
                words.append(rng.choice(["PART PAYMENT", "PART PMT", "INSTALMENT 1", "1ST INSTALMENT"]))
                if "INSTAL" in words[-1]:
                    tags.append("instalment")
            else:  # a round half
                step = Decimal(100 if gross > 400 else 50)
                part = max((gross / 2 / step).to_integral_value(rounding=ROUND_FLOOR) * step, step)
                words.append(rng.choice(["PART PAYMENT", "ON ACCOUNT", ""]))
            amount = part
            paid = [(group[0], part)]
            tags.append("partial")
        elif shape < 0.07 and gross > 60:  # a disputed or missing line, or a credit the payer expects
            line = money(money(rng.choice(self.prices) * SCALE[c.currency]) * (1 + VAT[c.country]))
            deduction = line if line < gross / 2 else money(rng.uniform(2.5, min(float(gross) / 4, 400.0)))
            amount = gross - deduction
            words.append(rng.choice(["LESS CREDIT DUE", "SHORT DELIVERED", "LESS DAMAGED", "PRICE DIFF", ""]))
            tags.append("short-deduction")
        elif shape < 0.09:
            if gross > 200 and rng.random() < 0.6:  # rounded up
                amount = (gross / 10).to_integral_value(rounding=ROUND_CEILING) * 10
                amount = amount if amount > gross else gross + 10
            else:  # carriage the payer thought was charged
                amount = gross + Decimal(rng.choice(["9.50", "11.40", "7.95", "12.00"]))
            tags.append("overpayment")
        if any(items.amounts[inv.amount] > 0 for inv in group):
            tags.append("same-amount-open")
        sent = money(amount)
        receipt, channel, ph = self._payer(c, h, ref, sent, tags)
        receipt.amount = sent - self._fee(c, ph, channel, sent, tags)
        receipt.sent, receipt.said = sent, [w for w in words if w]
        self._remit(receipt, c, ph, channel, [inv for inv, _ in paid], words, tags)
        self.book.add(receipt, paid, *tags)
        if len(paid) == 1 and "partial" not in tags and channel in SHORT_CHANNELS:
            self.paid_once.append(receipt)

    def _fee(self, c: Customer, h: _Habit, channel: str, sent: Decimal, tags: list[str]) -> Decimal:
        """What the banks on the way took: SWIFT fees (SHA), rarely our bank's fee on a SEPA credit."""
        rng = self.rng
        if channel in ("sepa-online", "sepa-file"):
            fee = Decimal(rng.choice(SEPA_FEES)) if rng.random() < 0.05 else Decimal(0)
            if fee and fee < sent / 2:
                tags.append("fee-fixed")
                return fee
            return Decimal(0)
        if channel != "swift" or rng.random() >= 0.85:
            return Decimal(0)
        if h.fee is None:  # 0.1%, at least 20 and at most 80
            fee, tag = min(max(money(sent * Decimal("0.001")), Decimal("20.00")), Decimal("80.00")), "fee-percent"
        else:
            fee, tag = h.fee, "fee-fixed"
        extra = []
        if rng.random() < 0.2:
            fee += Decimal(rng.choice(CORRESPONDENT[c.currency]))
            extra = ["fee-two-banks"]
        if fee >= sent / 2:
            return Decimal(0)
        tags += [tag, *extra]
        return fee

    def _payer(self, c: Customer, h: _Habit, ref: str, amount: Decimal, tags: list[str]) -> tuple[Receipt, str, _Habit]:
        """Who sends the money, from which account and how (and whose habit writes the reference)."""
        rng = self.rng
        channel = h.channel
        if channel in ("bacs", "fps") and rng.random() < 0.025:  # a cheque paid in at the branch
            tags += ["cheque", "no-payer-name"]
            info = f"{BANK_NARRATIVE['cheque']} {rng.randint(100, 999999):06d}"
            return Receipt(ref, amount, c.currency, "", "", entry_info=info), "cheque", h
        if h.finance and rng.random() < 0.7:
            channel = "chaps" if rng.random() < 0.4 else "bacs"
            tags += ["finance-pays", channel, "account-domestic"]
            receipt = Receipt(
                ref,
                amount,
                c.currency,
                sent_name(h.finance, channel, ""),
                self.financier_accounts[h.finance][8:],
                entry_info=BANK_NARRATIVE[channel],
            )
            if channel == "bacs":
                tags.append("customer-not-named")
            elif rng.random() < 0.6:
                receipt.ultimate = fold_ascii(c.name)
                tags.append("customer-in-ultimate-debtor")
            else:
                receipt.tx_info = f"OBO {fold_ascii(c.name)}"
                tags.append("customer-in-text")
            return receipt, channel, h
        payer, ph = c, h
        parent = self.by_id.get(c.parent_id)
        if parent is not None and parent.currency == c.currency and rng.random() < 0.55:
            payer, ph = parent, self.habits[parent.customer_id]
            channel = ph.channel
            tags.append("paid-by-parent")
        if channel in ("bacs", "fps") and amount >= 20_000 and not ph.person and rng.random() < 0.6:
            channel = "chaps"  # a large sum goes same-day by CHAPS
        tags.append(channel)
        account = ph.account
        tags += ph.account_tags
        if not ph.person and not ph.account_tags:
            if not payer.iban:
                tags.append("no-account-in-master")
            elif account != payer.iban:
                tags.append("new-account")
        name = sent_name(ph.name, channel, ph.apostrophe)
        tags += ph.name_tags + ([] if ph.person else _name_tags(payer.name, ph.name, channel))
        if " T/A " in payer.name and not ph.person:
            tags.append("trading-as")
        if channel in ("bacs", "fps", "chaps") and account.startswith("GB"):
            if channel == "bacs" and rng.random() < 0.12:
                account = ""
                tags[:] = [t for t in tags if t not in ("new-account", "no-account-in-master")]
                tags.append("no-debtor-account")
            else:
                account = account[8:]  # sort code and account number, as a UK bank reports them
                tags.append("account-domestic")
        e2e = "NOTPROVIDED"
        if channel == "sepa-file":
            e2e = f"{rng.choice(['PMT', 'E2E', 'AP'])}{rng.randint(10**7, 10**8 - 1)}"
        receipt = Receipt(ref, amount, c.currency, name, account, end_to_end=e2e, entry_info=BANK_NARRATIVE[channel])
        if payer is not c and channel in ("sepa-file", "chaps") and rng.random() < 0.3:
            receipt.ultimate = fold_ascii(c.name)
            tags.append("customer-in-ultimate-debtor")
        return receipt, channel, ph

    def _numbers(self, h: _Habit, numbers: list[str], tags: list[str]) -> list[str]:
        """Our numbers as this payer writes them (one typed wrong, now and then)."""
        if h.style == "short":
            written = [digits_of(n) for n in numbers]
        elif h.style == "variant":
            written = [variant(n, h.variant) for n in numbers]
        else:
            written = list(numbers)
        tags.append(STYLE_TAG.get(h.style, "number-in-text"))
        if self.rng.random() < h.typo:
            written[0] = typo(self.rng, written[0])
            tags.append("number-with-error")
        return written

    def _remit(
        self,
        r: Receipt,
        c: Customer,
        h: _Habit,
        channel: str,
        paid: list[Invoice],
        words: list[str],
        tags: list[str],
    ) -> None:
        """The payment's reference: what this payer writes, in what its channel carries."""
        rng = self.rng
        if channel == "cheque":
            r.text = rng.choice([f"CHQ {rng.randint(100000, 999999)}", "", f"PAYING IN {rng.randint(1000, 99999)}"])
            tags.append("no-reference")
            return
        invoices = [inv for inv in paid if inv.amount > 0]
        numbers = [inv.number for inv in invoices]
        if "finance-pays" in tags:
            if rng.random() < 0.6:
                r.text = " ".join(numbers)[:140] if channel == "chaps" else fit(numbers, 18)[0]
                tags.append("number-in-text")
            else:
                r.text = f"{h.finance.split()[0]} {rng.randint(10**6, 10**8)}"[:18]
                tags.append("payer-own-ref")
            return
        short = channel in SHORT_CHANNELS
        group = len(paid) > 1
        style = h.style
        if style == "structured" and channel not in ("sepa-file", "chaps"):
            style = "number"
        if style in ("number", "short", "variant") and group and rng.random() < (0.35 if short else 0.2):
            style = "advice"  # a run too long to name: the advice lists it
        elif style not in ("none", "advice") and rng.random() < 0.05:
            style = "none"  # this time the payer wrote nothing
        code = c.customer_id
        text = ""
        if "on-account-round-sum" in tags:
            text = rng.choice(["", code, f"{code} PAYMENT PLAN", "WEEKLY PAYMENT", bacs_text(h.name)])
            words[:] = [w for w in words if w != "ON ACCOUNT"] + (["ON ACCOUNT"] if rng.random() < 0.7 else [])
        elif "statement-payment" in tags:
            month, year = invoices[0].issue_date.strftime("%b").upper(), invoices[0].issue_date.strftime("%y")
            text = rng.choice([f"{month} STATEMENT", f"{code} {month} STMT", f"STMT {month} {year}", f"{month} STMT"])
            tags.append("group-unnamed" if group else "number-not-quoted")
        elif style == "structured":
            r.documents = [inv.number for inv in paid]
            tags += ["structured-refs"] + (["group-named"] if group else [])
        elif style in ("number", "short", "variant"):
            written = self._numbers(h, numbers, tags)
            if group:
                credits = [inv.number for inv in paid if inv.amount < 0]
                if not short and credits and rng.random() < 0.5:
                    written += [f"LESS {n}" for n in credits]
                if short:
                    text, k = fit(written, 18, rng.choice([" ", "/"]))
                    tags.append("group-named" if k == len(written) else "group-partly-named")
                else:
                    lead = rng.choice(["", "INV ", "Invoices ", "Payment of "])
                    text = lead + rng.choice([", ", " ", "; "]).join(written)
                    tags.append("group-named")
            else:
                one = written[0]
                if short:
                    text = rng.choice([one, one, f"{one} {code}", f"{code} {one}", f"PAYMENT {one}", f"INV {one}"])
                    text = one if "INV INV" in text else text
                else:
                    text = rng.choice(
                        [f"INV {one}", f"Invoice {one}", one, f"Payment of invoice {one}", f"{code} {one}"]
                    )
                    text = one if text == f"INV {one}" and one.startswith("INV") else text
                po = invoices[0].po_number
                if h.noise and po:
                    text = f"{text} {po}" if rng.random() < 0.5 else f"{po} {text}"
                    tags.append("other-numbers-in-text")
        elif style == "code":
            text = rng.choice([code, code, f"ACC {code}", f"{code} PAYMENT", f"A/C {code}"])
            tags += ["account-code"] + (["group-unnamed"] if group else [])
        elif style == "po":
            po = invoices[0].po_number
            if po:
                text = po if len(invoices) == 1 or rng.random() < 0.5 else f"{po} ETC"
                tags += ["po-number"] + (["group-partly-named"] if group else [])
            else:  # an order number the payer never gave us
                text = f"PO {rng.randint(1000, 99999)}"
                tags += ["payer-own-ref"] + (["group-unnamed"] if group else [])
        elif style == "name":
            text = bacs_text(h.name) if rng.random() < 0.7 else f"FROM {bacs_text(h.name)}"
            tags += ["name-as-reference"] + (["group-unnamed"] if group else [])
        elif style == "own":
            text = f"{h.own_prefix} {rng.randint(1, 99999):05d}"
            tags += ["payer-own-ref"] + (["group-unnamed"] if group else [])
        elif style == "advice" or (style == "none" and (len(paid) > 3 or r.amount > 5000) and rng.random() < 0.5):
            text = rng.choice([*ADVICE_WORDS, "PAYMENT AS PER REMITTANCE ADVICE", "REMITTANCE ADVICE EMAILED"])
            tags += ["remittance-advice-said", "group-unnamed" if group else "number-not-quoted"]
        else:
            text = rng.choice(["", "PAYMENT", "SUPPLIER PAYMENT", "ONLINE PAYMENT", "BILL PAYMENT", "INVOICE"])
            tags += ["no-reference"] + (["group-unnamed"] if group else [])
        if "paid-by-parent" in tags and rng.random() < 0.4:  # the subsidiary's account code or name
            text = f"{text} {code}" if short else f"{text} OBO {fold_ascii(c.name)}"
            tags.append("subsidiary-named")
        text = " ".join(x for x in (text, *words) if x)
        if short:
            text = bacs_text(text) if channel != "sepa-online" else " ".join(fold_ascii(text).split())
            if len(text) > 18:
                text = text[:18].rstrip()
                tags.append("ref-cut-18")
        elif len(text) > 140:
            text = text[:140]
            tags.append("text-cut-140")
        if channel == "swift":
            text = fold_ascii(text)
            if rng.random() < 0.45:  # a relayed MT103: the remittance only in the additional information
                r.tx_info = f"/RFB/{rng.randint(10**9, 10**10 - 1)} /REMI/{text}"
                tags.append("reference-in-addtl-info")
                return
        r.text = text


# -- receipts that pay no invoice ------------------------------------------------------------------

#: The distributor itself, moving money from its Irish euro account.
OURSELVES = "BRIGHTWIRE DISTRIBUTION IRELAND LTD"
NOT_OURS = [
    ("HMRC VAT", "VAT REPAYMENT {q}", "tax-refund", "GBP", "bacs", 7.0),
    ("HMRC VAT", "{vrn}", "tax-refund", "GBP", "bacs", 7.0),
    ("REVENUE COMMISSIONERS", "VAT REPAYMENT {ieper} {ievat}", "tax-refund", "EUR", "sepa-file", 6.8),
    ("", "GROSS INTEREST TO {end}", "interest", "GBP", "bank", 3.0),
    ("", "CREDIT INTEREST {mon}", "interest", "EUR", "bank", 2.0),
    ("AVIVA INSURANCE LTD", "CLAIM {claim}", "insurance", "GBP", "bacs", 7.5),
    ("AXA INSURANCE UK PLC", "CLM {claim}", "insurance", "GBP", "fps", 7.0),
    ("ZURICH INSURANCE PLC", "Claim settlement {claim}", "insurance", "EUR", "sepa-file", 7.0),
    ("{supplier}", "REBATE {period}", "supplier-rebate", "GBP", "bacs", 7.8),
    ("{supplier}", "RETRO REBATE {doc}", "supplier-rebate", "GBP", "bacs", 7.8),
    ("WAVIN IRELAND LTD", "Volume rebate {period}", "supplier-rebate", "EUR", "sepa-file", 7.5),
    ("{supplier}", "CREDIT NOTE {doc}", "supplier-refund", "GBP", "fps", 5.5),
    ("{supplier}", "REFUND {doc}", "supplier-refund", "GBP", "bacs", 5.5),
    ("WORLDPAY (UK) LTD", "MERCHANT {mid} {d}", "card-settlement", "GBP", "bacs", 6.5),
    ("BARCLAYCARD MERCHANT SVCS", "BCARD {mid}", "card-settlement", "GBP", "bacs", 6.5),
    (OURSELVES, "Transfer from EUR account", "internal-transfer", "EUR", "sepa-file", 9.0),
    ("{supplier}", "RETURNED PAYMENT {doc}", "returned-payment", "GBP", "bacs", 6.0),
]
SUPPLIERS = [
    "SCHNEIDER ELECTRIC LTD",
    "HAGER LTD",
    "IDEAL BOILERS LTD",
    "POLYPIPE LTD",
    "MK ELECTRIC",
    "GROHE LTD",
    "PRYSMIAN CABLES",
    "WAVIN UK",
]


def _not_ours(rng: random.Random, book: Book, ref: str, habits: dict[str, _Habit]) -> None:
    if rng.random() < 0.14:  # a cash-with-order customer's pro-forma payment: no invoice yet
        c = rng.choice(book.customers)
        h = habits[c.customer_id]
        channel = h.channel
        text = rng.choice(["PROFORMA {}", "PRO FORMA {}", "PF{}", "ORDER {}", "CASH WITH ORDER"]).format(
            rng.randint(1000, 99999)
        )
        account = h.account
        receipt = Receipt(
            ref,
            money(rng.lognormvariate(math.log(350), 0.9)),
            c.currency,
            sent_name(h.name, channel, h.apostrophe),
            account[8:] if channel in ("bacs", "fps", "chaps") and account.startswith("GB") else account,
            text[:18] if channel in SHORT_CHANNELS else text,
            entry_info=BANK_NARRATIVE[channel],
        )
        book.add(receipt, [], "not-a-customer-payment", "prepayment-no-invoice", f"ccy-{c.currency}")
        return
    payer, text, kind, ccy, channel, mu = rng.choice(NOT_OURS)
    q = rng.randint(1, 4)
    values = {
        "q": f"{rng.choice(['03', '06', '09', '12'])}{book.today:%y}",
        "vrn": f"VAT {rng.randint(100, 999)} {rng.randint(1000, 9999)} {rng.randint(10, 99)}",
        "ieper": f"{q * 2 - 1:02d}-{q * 2:02d}/{book.today:%Y}",
        "ievat": f"{rng.randint(1000000, 9999999)}{rng.choice('ABCDEFGHW')}",
        "mon": book.today.strftime("%b %Y").upper(),
        "end": (book.today.replace(day=1) - dt.timedelta(days=1)).strftime("%d%b").upper(),
        "claim": f"{rng.randint(10**7, 10**8 - 1)}",
        "period": rng.choice(["Q1 2026", "Q2 2026", "H1 26", "JAN-JUN 26", "2025"]),
        # the supplier's own numbers, written as ours are
        "doc": rng.choice(
            [f"INV{rng.randint(100000, 499999)}", f"CN{rng.randint(10000, 99999)}", f"{rng.randint(10**5, 10**6)}"]
        ),
        "mid": f"{rng.randint(10**7, 10**8 - 1)}",
        "d": book.today.strftime("%d%m"),
        "supplier": rng.choice(SUPPLIERS),
    }
    name = payer.format(**values)
    account = ""
    if name:
        account = _iban(rng, "IE" if ccy == "EUR" else "GB")
        account = account if channel not in ("bacs", "fps") else account[8:]
    body = text.format(**values)
    if channel in ("bacs", "fps"):
        name, body = sent_name(name, channel, ""), bacs_text(body)[:18]
    receipt = Receipt(
        ref,
        money(rng.lognormvariate(mu, 1.1) + 1),
        ccy,
        name,
        account,
        body,
        entry_info=BANK_NARRATIVE[channel],
    )
    book.add(receipt, [], "not-a-customer-payment", kind, f"ccy-{ccy}")
