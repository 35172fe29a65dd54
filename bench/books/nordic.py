"""Book 4 (held out): a Nordic and Baltic wholesaler (building supplies) invoicing in EUR, SEK, NOK, DKK.

This book is a held-out measurement: the matcher is not tuned on it. Change it for realism, never to
move a figure. What differs from the other books, and why a finance team in the region sees it:

* one numbering for invoices and credit notes: plain seven-digit numbers (``4471203``) rising with
  the issue date; every invoice carries the payment reference its country's banks use, derived from
  the invoice number with a check digit: a Norwegian KID (customer number, invoice number, MOD10),
  a Swedish Bankgiro OCR number (length digit and MOD10), a Danish FIK 71 payment id (15 digits,
  MOD10), a Finnish or Estonian reference number (7-3-1), or an ISO 11649 RF creditor reference
  (Latvia, Lithuania, and Finnish invoices issued since the switch to RF);
* customer names with å ä ö ø æ õ š ž ņ and the region's legal forms (AB, AS, ASA, Oy, Oyj, ApS, A/S,
  SIA, UAB, OÜ), which payers' banks send in upper case, folded to ASCII (ø -> O, æ -> AE, å -> A, or
  the older å -> AA, ø -> OE) and cut at 35 characters, often without the legal form;
* each payer keeps its habit: the structured creditor reference (most Norwegian, Swedish and
  Finnish payers pay with it), the invoice number in free text (``Faktura``, ``Fakt nr``,
  ``Lasku``, ``Arve nr``, ``inv``) with other numbers around it, the reference typed into the free
  text, numbers typed by hand (one digit wrong, swapped, dropped, or an OCR letter), nothing at all,
  or a SWIFT transfer whose remittance arrives only in the additional transaction information;
* payments of 2 to 12 invoices (every one named, a few named, or none), partial payments, a 2%
  early-payment discount (kassarabatt, käteisalennus), fees deducted by the payer's and
  correspondent banks on SWIFT transfers (3.50 to 35 units in EUR, 25 to 250 in crowns, or a
  percentage), accounts not in the master, parents paying for subsidiaries, supply-chain financiers
  (factors) paying with the customer as ultimate debtor or named in the text;
* receipts that pay no invoice: tax refunds (one quoting a Finnish reference number), interest,
  insurance, supplier refunds quoting their own seven-digit credit notes, employees' expense
  refunds from people with a customer's surname, and customers' prepayments for orders not yet
  invoiced.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
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

NAME = "nordic"
TITLE = "Nordic wholesaler (held out)"

#: Country -> (weight among customers, currency).
COUNTRIES = {
    "SE": (26, "SEK"),
    "NO": (20, "NOK"),
    "DK": (14, "DKK"),
    "FI": (22, "EUR"),
    "EE": (6, "EUR"),
    "LV": (5, "EUR"),
    "LT": (7, "EUR"),
}
STEMS = {
    "SE": [
        "Åkesson",
        "Öberg",
        "Bäckström",
        "Sjögren",
        "Ström",
        "Lindqvist",
        "Hällström",
        "Näslund",
        "Ekström",
        "Löfgren",
        "Sandberg",
        "Åström",
        "Norrlands",
        "Mälardalens",
        "Västkustens",
    ],
    "NO": [
        "Bjørnstad",
        "Sæther",
        "Løken",
        "Haugen",
        "Frøland",
        "Østby",
        "Kværner",
        "Skårdal",
        "Nygård",
        "Brødrene Dahl",
        "Fjeldstad",
        "Solbakken",
        "Trøndelag",
    ],
    "DK": ["Jørgensen", "Sørensen", "Kjær", "Bæk", "Møller", "Lærkholm", "Nørgaard", "Søgaard", "Holm", "Fyns"],
    "FI": [
        "Mäkinen",
        "Hämäläinen",
        "Järvinen",
        "Virtanen",
        "Kärkkäinen",
        "Nieminen",
        "Heikkilä",
        "Lähde",
        "Pohjolan",
        "Keski-Suomen",
        "Länsi-Uudenmaan",
        "Savon",
    ],
    "EE": ["Tamm", "Saar", "Mägi", "Kask", "Õunapuu", "Pärna", "Lõuna", "Järve"],
    "LV": ["Kalniņš", "Ozoliņš", "Bērziņš", "Liepa", "Zariņš", "Kurzemes", "Vidzemes"],
    "LT": ["Kazlauskas", "Jankauskas", "Petrauskas", "Žukauskas", "Šimkus", "Baltijos", "Žemaitijos"],
}
TRADES = {
    "SE": ["Bygghandel", "Järn & Trä", "Byggvaror", "VVS-Grossist", "Trävaruhandel", "Elgrossist", "Plåtslageri"],
    "NO": ["Byggvarer", "Trelast", "Rørleggerservice", "Maskin", "Byggevarehus", "Elektro", "Tømmer og Bygg"],
    "DK": ["Tømmerhandel", "Byggemarked", "VVS", "Jern og Metal", "Trælast", "Maskinfabrik"],
    "FI": ["Rautakauppa", "Rakennustarvike", "Sähkö", "Puutavara", "LVI-Tukku", "Konepaja", "Rakennus"],
    "EE": ["Ehitus", "Puit", "Metall", "Ehitusmaterjalid", "Elekter"],
    "LV": ["Būvmateriāli", "Koks", "Metāls", "Celtniecība"],
    "LT": ["Statyba", "Mediena", "Metalas", "Statybinės medžiagos"],
}
PLACES = {
    "SE": ["Göteborg", "Umeå", "Luleå", "Västerås", "Norrköping", "Örebro", "Jönköping", "Malmö"],
    "NO": ["Tromsø", "Bodø", "Ålesund", "Førde", "Lillestrøm", "Sandnes", "Nord-Norge", "Vestlandet"],
    "DK": ["Århus", "Ålborg", "Næstved", "Køge", "Vejle", "Esbjerg"],
    "FI": ["Jyväskylä", "Hämeenlinna", "Seinäjoki", "Kuopio", "Oulu", "Pori"],
    "EE": ["Tartu", "Pärnu", "Võru"],
    "LV": ["Rīga", "Liepāja", "Jūrmala"],
    "LT": ["Kaunas", "Šiauliai", "Klaipėda"],
}
#: Legal forms; "{}" marks where the name goes (SIA, UAB and Estonian AS come first, names quoted).
FORMS = {
    "SE": ["{} AB", "{} AB", "{} AB", "{} Aktiebolag", "{} AB (publ)"],
    "NO": ["{} AS", "{} AS", "{} AS", "{} ASA"],
    "DK": ["{} ApS", "{} A/S", "{} A/S"],
    "FI": ["{} Oy", "{} Oy", "{} Oy", "{} Oyj", "Oy {} Ab"],
    "EE": ["{} OÜ", "{} OÜ", "AS {}"],
    "LV": ['SIA "{}"', 'SIA "{}"', 'AS "{}"'],
    "LT": ["UAB „{}“", "UAB „{}“", "AB „{}“"],
}
GROUP_WORDS = {
    "SE": "Koncernen",
    "NO": "Gruppen",
    "DK": "Holding",
    "FI": "Yhtymä",
    "EE": "Grupp",
    "LV": "Grupa",
    "LT": "Grupė",
}
FIRST_NAMES = ["Lars", "Anna", "Mikko", "Sanna", "Ole", "Kari", "Jānis", "Tõnu", "Rasa", "Søren", "Åsa", "Päivi"]

#: How payers write an invoice number in free text, per country (the number is "{}").
PREFIXES = {
    "SE": ["Faktura {}", "Fakt nr {}", "Fakturanr {}", "Fakt. {}", "Faktura nr: {}"],
    "NO": ["Faktura {}", "Fakturanr. {}", "Fakt nr {}", "Faktnr {}", "Faktura nr {}"],
    "DK": ["Faktura {}", "Fakt.nr. {}", "Faktura nr. {}", "Fakt {}"],
    "FI": ["Lasku {}", "Lasku nro {}", "Laskunro {}", "Lasku no {}", "Lasku {} "],
    "EE": ["Arve {}", "Arve nr {}", "Arve nr. {}"],
    "LV": ["Rēķins Nr. {}", "Rēķ. {}", "Par rēķinu {}"],
    "LT": ["Sąskaita faktūra Nr. {}", "SF {}", "Sąskaita {}"],
    "*": ["inv {}", "Invoice {}", "INV {}", "{}", "Inv.no {}"],
}
PLURAL = {
    "SE": "Fakturor",
    "NO": "Fakturaer",
    "DK": "Fakturaer",
    "FI": "Laskut",
    "EE": "Arved",
    "LV": "Rēķini",
    "LT": "Sąskaitos",
    "*": "Invoices",
}
NO_REFERENCE = {
    "SE": ["Betalning", "Leverantörsbetalning", "Betalning enl. avi", ""],
    "NO": ["Betaling", "Innbetaling", "Betaling iht. avtale", ""],
    "DK": ["Betaling", "Overførsel", "Betaling jf. aftale", ""],
    "FI": ["Maksu", "Maksu laskuista", "Tilisiirto", ""],
    "EE": ["Makse", "Ülekanne", ""],
    "LV": ["Maksājums", "Apmaksa", ""],
    "LT": ["Mokėjimas", "Apmokėjimas", ""],
}
GROUP_UNNAMED = {
    "SE": ["Samlingsbetalning enl. specifikation", "Betalning se bifogad spec"],
    "NO": ["Samlebetaling, se spesifikasjon", "Betaling flere fakturaer"],
    "DK": ["Samlet betaling, se specifikation", "Betaling af flere fakturaer"],
    "FI": ["Maksuerittely erikseen", "Useita laskuja"],
    "EE": ["Mitme arve tasumine", "Koondmakse"],
    "LV": ["Vairāku rēķinu apmaksa"],
    "LT": ["Kelių sąskaitų apmokėjimas"],
}
REFERENCE_WORDS = {"NO": "KID", "SE": "OCR", "DK": "FIK", "FI": "Viite", "EE": "Viitenumber", "LV": "Ref", "LT": "Ref"}
PARTIAL_WORDS = {
    "SE": ["Delbetalning", "a conto"],
    "NO": ["Delbetaling", "a konto"],
    "DK": ["Delbetaling", "a conto"],
    "FI": ["Osamaksu"],
    "EE": ["Osamakse"],
    "LV": ["Daļējs maksājums"],
    "LT": ["Dalinis mokėjimas"],
    "*": ["partial payment", "part payment"],
}
DISCOUNT_WORDS = {
    "SE": ["-2% kassarabatt", "kassarabatt 2%", ""],
    "NO": ["minus 2% kontantrabatt", "2% rabatt", ""],
    "DK": ["-2% kontantrabat", ""],
    "FI": ["käteisalennus 2%", "-2% kassa-ale", ""],
    "EE": ["2% allahindlus", ""],
    "LV": ["2% atlaide", ""],
    "LT": ["2% nuolaida", ""],
    "*": ["less 2% discount", ""],
}
#: Supply-chain financiers paying on customers' behalf; each has one account per currency.
FACTORS = [
    "Svea Bank AB",
    "Nordea Finance Finland Ltd",
    "DNB Bank ASA Factoring",
    "Collector Bank AB",
    "OP Yrityspankki Oyj Rahoitus",
    "Danske Bank A/S Factoring",
    "SG Finans AS",
    "Luminor Bank AS Faktooring",
]
#: Fees deducted on SWIFT transfers: fixed per payer bank, in the payment currency.
FEES = {
    "EUR": ["3.50", "7.00", "7.00", "12.00", "15.00", "25.00", "35.00"],
    "SEK": ["25.00", "35.00", "50.00", "75.00", "100.00", "150.00", "250.00"],
    "NOK": ["25.00", "35.00", "50.00", "80.00", "125.00", "200.00"],
    "DKK": ["25.00", "35.00", "50.00", "75.00", "100.00", "175.00"],
}
PERCENT_FEES = [Decimal("0.001"), Decimal("0.0015"), Decimal("0.002"), Decimal("0.005")]
#: Per-country habits: the share of payers using the structured creditor reference.
STRUCTURED_SHARE = {"NO": 0.55, "SE": 0.45, "FI": 0.5, "DK": 0.3, "EE": 0.35, "LV": 0.3, "LT": 0.3}
OTHER_STYLES = {"text": 0.45, "manual": 0.14, "ref-in-text": 0.12, "none": 0.19, "addtl": 0.10}
#: Finnish invoices issued from this day carry an RF reference instead of the national one.
RF_SWITCH = dt.date(2026, 4, 1)
_IBAN_BBAN = {"SE": 20, "NO": 11, "DK": 14, "FI": 14, "EE": 16, "LV": 17, "LT": 16}
_LV_BANKS = ["HABA", "UNLA", "PARX", "RIKO", "NDEA"]


def sizes(invoices: int) -> tuple[int, int]:
    """Customers and receipts for a book of ``invoices`` invoices: a customer per 25 invoices."""
    return max(invoices // 25, 20), max(invoices // 5, 10)


# -- check digits ----------------------------------------------------------------------------------


def luhn(digits: str) -> str:
    """MOD10 (Luhn) check digit: Norwegian KID, Swedish OCR, Danish FIK."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str(-total % 10)


def ref_731(digits: str) -> str:
    """The Finnish and Estonian reference number's check digit (weights 7, 3, 1 from the right)."""
    total = sum(int(ch) * (7, 3, 1)[i % 3] for i, ch in enumerate(reversed(digits)))
    return str(-total % 10)


def rf(body: str) -> str:
    """An ISO 11649 creditor reference ``RFkk<body>``."""
    moved = "".join(str(int(ch, 36)) for ch in body.upper() + "RF00")
    return f"RF{98 - int(moved) % 97:02d}{body}"


def payment_reference(country: str, customer_id: str, number: str, issued: dt.date) -> str:
    """The reference printed on an invoice, as the wholesaler's ERP derives it from the number."""
    if country == "NO":  # KID: customer number, invoice number, MOD10
        body = customer_id + number
        return body + luhn(body)
    if country == "SE":  # Bankgiro OCR with length digit
        body = number + str((len(number) + 2) % 10)
        return body + luhn(body)
    if country == "DK":  # FIK 71: a 15-digit payment id
        body = number.zfill(14)
        return body + luhn(body)
    if country in ("FI", "EE"):
        national = number + ref_731(number)
        return rf(national) if country == "FI" and issued >= RF_SWITCH else national
    return rf(number)


def _iban(rng: random.Random, country: str) -> str:
    """A valid IBAN of the country (Norwegian account numbers with their MOD11 check digit)."""
    if country == "LV":
        bban = rng.choice(_LV_BANKS) + "".join(str(rng.randint(0, 9)) for _ in range(13))
    elif country == "NO":
        while True:
            body = "".join(str(rng.randint(0, 9)) for _ in range(10))
            check = -sum(int(ch) * w for ch, w in zip(body, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
            if check < 10:
                bban = body + str(check)
                break
    else:
        bban = "".join(str(rng.randint(0, 9)) for _ in range(_IBAN_BBAN[country]))
    moved = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{country}{98 - int(moved) % 97:02d}{bban}"


def _vat(rng: random.Random, country: str) -> str:
    """A VAT number with a valid check digit."""
    while True:
        if country == "SE":
            body = "55" + "".join(str(rng.randint(0, 9)) for _ in range(7))
            return f"SE{body}{luhn(body)}01"
        if country == "NO":
            body = str(rng.choice([8, 9])) + "".join(str(rng.randint(0, 9)) for _ in range(7))
            check = -sum(int(ch) * w for ch, w in zip(body, (3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
            if check < 10:
                return f"NO{body}{check}MVA"
        elif country == "DK":
            body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(6))
            check = -sum(int(ch) * w for ch, w in zip(body, (2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
            if check < 10:
                return f"DK{body}{check}"
        elif country == "FI":
            body = "".join(str(rng.randint(0, 9)) for _ in range(7))
            check = -sum(int(ch) * w for ch, w in zip(body, (7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
            if check < 10:
                return f"FI{body}{check}"
        elif country == "EE":
            body = "10" + "".join(str(rng.randint(0, 9)) for _ in range(6))
            return f"EE{body}{-sum(int(ch) * w for ch, w in zip(body, (3, 7, 1, 3, 7, 1, 3, 7), strict=True)) % 10}"
        elif country == "LV":
            body = "4" + "".join(str(rng.randint(0, 9)) for _ in range(9))
            weights = (9, 1, 4, 8, 3, 10, 2, 5, 7, 6)
            check = (3 - sum(int(ch) * w for ch, w in zip(body, weights, strict=True))) % 11
            if check < 10:
                return f"LV{body}{check}"
        else:  # LT: nine digits, the eighth a 1
            body = "".join(str(rng.randint(0, 9)) for _ in range(7)) + "1"
            check = sum(int(ch) * (1 + i % 9) for i, ch in enumerate(body)) % 11
            if check == 10:
                check = sum(int(ch) * (1 + (i + 2) % 9) for i, ch in enumerate(body)) % 11
            return f"LT{body}{check % 10}"


# -- names as banks write them ---------------------------------------------------------------------

_FOLD_SHORT = str.maketrans(
    {"å": "a", "Å": "A", "ä": "a", "Ä": "A", "ö": "o", "Ö": "O", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE"}
)
_FOLD_LONG = str.maketrans(
    {"å": "aa", "Å": "AA", "ä": "ae", "Ä": "AE", "ö": "oe", "Ö": "OE", "ø": "oe", "Ø": "OE", "æ": "ae", "Æ": "AE"}
)
_QUOTES = str.maketrans({'"': "", "„": "", "“": "", "”": ""})


def bank_name(name: str, habit: str) -> str:
    """A name as the payer's bank sends it: as written, upper case, or folded to ASCII; cut at 35."""
    if habit == "keep":
        return name
    if habit == "upper":
        return name.upper()[:35]
    table = _FOLD_SHORT if habit == "fold" else _FOLD_LONG
    return " ".join(fold_ascii(name.translate(_QUOTES).translate(table)).split())[:35]


def without_form(name: str) -> str:
    """The name without its legal form (what a payer's own ERP often sends)."""
    for form in ("AB (publ)", "Aktiebolag", "ASA", "AS", "AB", "ApS", "A/S", "Oyj", "Oy", "Ab", "OÜ", "SIA", "UAB"):
        name = name.replace(f" {form}", "").replace(f"{form} ", "")
    return name.translate(_QUOTES).strip()


def _customer_name(rng: random.Random, country: str) -> str:
    stem, trade = rng.choice(STEMS[country]), rng.choice(TRADES[country])
    r = rng.random()
    if r < 0.25:
        core = f"{stem} {trade} {rng.choice(PLACES[country])}"
    elif r < 0.35:
        joiner = {"SE": "och", "NO": "og", "DK": "og", "FI": "ja", "EE": "ja", "LV": "un", "LT": "ir"}[country]
        core = f"{stem} {trade} {joiner} {rng.choice(TRADES[country])} {rng.choice(PLACES[country])}"
    elif r < 0.45:
        core = f"{stem} & {rng.choice(STEMS[country])} {trade}"
    else:
        core = f"{stem} {trade}"
    return rng.choice(FORMS[country]).format(core)


# -- errors in hand-typed numbers ------------------------------------------------------------------


def typo(rng: random.Random, number: str) -> tuple[str, str]:
    """One error a person or OCR makes in a number, and its kind."""
    kind = rng.choice(["swap", "swap", "digit", "digit", "drop", "double", "ocr"])
    i = rng.randrange(len(number) - 1)
    if kind == "swap" and number[i] != number[i + 1]:
        return number[:i] + number[i + 1] + number[i] + number[i + 2 :], kind
    if kind == "drop":
        return number[:i] + number[i + 1 :], kind
    if kind == "double":
        return number[: i + 1] + number[i:], kind
    if kind == "ocr":
        table = {"0": "O", "1": "I", "5": "S", "8": "B", "6": "G", "2": "Z"}
        spots = [j for j, ch in enumerate(number) if ch in table]
        if spots:
            j = rng.choice(spots)
            return number[:j] + table[number[j]] + number[j + 1 :], kind
    j = rng.randrange(len(number))
    return number[:j] + rng.choice([d for d in "0123456789" if d != number[j]]) + number[j + 1 :], "digit"


def grouped(reference: str) -> str:
    """A reference as printed for reading: RF in groups of four, national ones in groups of five."""
    size = 4 if reference.startswith("RF") else 5
    if size == 5:
        head = len(reference) % 5
        parts = ([reference[:head]] if head else []) + [reference[i : i + 5] for i in range(head, len(reference), 5)]
        return " ".join(parts)
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


# -- the book --------------------------------------------------------------------------------------


def generate(seed: int, invoices: int, today: dt.date = dt.date(2026, 9, 25)) -> Book:
    rng = random.Random(f"nordic-{seed}")
    n_customers, n_receipts = sizes(invoices)
    countries = list(COUNTRIES)
    weights = [w for w, _ in COUNTRIES.values()]
    customers: list[Customer] = []
    seen: set[str] = set()
    for i in range(n_customers):
        country = rng.choices(countries, weights)[0]
        for _ in range(20):
            name = _customer_name(rng, country)
            if name not in seen:
                break
        seen.add(name)
        customers.append(
            Customer(
                customer_id=str(10_000 + i * 3),
                name=name,
                tax_id=_vat(rng, country),
                country=country,
                currency=COUNTRIES[country][1],
                credit_limit=money(
                    rng.choice([25, 50, 100, 250, 500]) * (10_000 if country in ("SE", "NO", "DK") else 1_000)
                ),
                iban=_iban(rng, country) if rng.random() < 0.93 else "",
            )
        )
    # groups: one customer in 30 is a parent (renamed to a group name) of two to six others
    parents = rng.sample(customers, max(n_customers // 30, 1))
    for p in parents:
        stem = p.name.translate(_QUOTES).split()[0 if p.country not in ("LV", "LT") else 1]
        if p.country == "EE" and p.name.startswith("AS "):
            stem = p.name.split()[1]
        p.name = rng.choice(FORMS[p.country]).format(f"{stem} {GROUP_WORDS[p.country]}")
        for sub in rng.sample(customers, rng.randint(2, 6)):
            if sub is not p and not sub.parent_id and sub not in parents:
                sub.parent_id = p.customer_id
    book = Book(customers=customers, name=NAME, today=today)
    cw = zipf_weights(n_customers, 0.8)
    rng.shuffle(cw)  # parents are not necessarily the largest accounts
    cum = list(accumulate(cw))
    fixed_fee = {c.customer_id: _standing_amount(rng, c) for c in customers if rng.random() < 0.08}
    number = rng.randint(3_100_000, 4_600_000)
    for issued in sorted(spread_dates(rng, today) for _ in range(invoices)):
        c = rng.choices(customers, cum_weights=cum)[0]
        number += 1 if rng.random() < 0.97 else 2  # a cancelled draft leaves a gap
        scale = 10 if c.currency != "EUR" else 1
        if rng.random() < 0.025:
            amount = -lognormal_amount(rng, 120.0 * scale, 0.9, 10.0 * scale, 4000.0 * scale)
        elif c.customer_id in fixed_fee and rng.random() < 0.35:
            amount = fixed_fee[c.customer_id]  # the monthly equipment rental: the same amount again
        else:
            amount = lognormal_amount(rng, 950.0 * scale, 1.15, 25.0 * scale, 180_000.0 * scale)
        book.invoices.append(
            Invoice(
                str(number),
                c.customer_id,
                issued,
                issued + dt.timedelta(days=rng.choice([14, 14, 30, 30, 45, 60])),
                c.currency,
                amount,
                rng.choice([f"{rng.randint(100000, 999999)}", f"PO{rng.randint(1000, 99999)}"])
                if rng.random() < 0.3
                else "",
                payment_reference(c.country, c.customer_id, str(number), issued),
            )
        )
    _receipts(rng, book, n_receipts, today)
    return book


def _standing_amount(rng: random.Random, c: Customer) -> Decimal:
    return money(rng.choice([450, 890, 1250, 1990, 2400]) * (10 if c.currency != "EUR" else 1))


def _habits(rng: random.Random, c: Customer) -> dict[str, object]:
    structured = STRUCTURED_SHARE[c.country]
    styles = {"structured": structured, **{k: v * (1 - structured) for k, v in OTHER_STYLES.items()}}
    swift = rng.random() < (0.12 if c.country in ("FI", "EE", "LV", "LT") else 0.2)
    style = rng.choices(list(styles), list(styles.values()))[0]
    if style == "addtl" and not swift:
        swift = True  # a relayed SWIFT transfer is where remittance ends up in AddtlTxInf
    fee: object = rng.choice(PERCENT_FEES) if rng.random() < 0.2 else Decimal(rng.choice(FEES[c.currency]))
    return {
        "style": style,
        "bank": rng.choices(["keep", "upper", "fold", "fold-long"], [15, 15, 55, 15])[0],
        "without_form": rng.random() < 0.15,
        "swift": swift,
        "fee": fee,
        "discount": rng.random() < 0.15,
        "account": c.iban if c.iban and rng.random() < 0.88 else _iban(rng, c.country),
        "lang": c.country if rng.random() < 0.8 else "*",
        "factor": rng.randrange(len(FACTORS)) if rng.random() < 0.04 else None,
        "noise": rng.random() < 0.25,
    }


def _receipts(rng: random.Random, book: Book, n: int, today: dt.date) -> None:
    invoices = by_customer(book.invoices)
    open_items = {cid: OpenPool(pool) for cid, pool in invoices.items()}
    by_id = {c.customer_id: c for c in book.customers}
    paying = [c for c in book.customers if c.customer_id in invoices]
    cum = list(accumulate(len(invoices[c.customer_id]) for c in paying))
    habits = {c.customer_id: _habits(rng, c) for c in book.customers}
    factor_accounts = {(f, ccy): _iban(rng, rng.choice(["SE", "FI", "NO", "DK"])) for f in FACTORS for ccy in FEES}
    recent = today - dt.timedelta(days=10)
    for k in range(n):
        ref = f"NB{today:%y%m%d}{k + 1:06d}"
        if rng.random() < 0.065:
            _not_ours(rng, book, ref, today, habits)
            continue
        c = rng.choices(paying, cum_weights=cum)[0]
        habit = habits[c.customer_id]
        pool = invoices[c.customer_id]
        items = open_items[c.customer_id]
        tags: list[str] = [f"ccy-{c.currency}"]
        discount = bool(habit["discount"]) and rng.random() < 0.6
        r = rng.random()
        if r < (0.22 if len(pool) >= 50 else 0.1):
            group = items.oldest(rng.randint(2, 12 if len(pool) >= 50 else 5))
        elif discount:  # the discount is taken on an invoice paid within ten days
            group = items.since(recent) or items.oldest(1)
        else:
            group = items.oldest(1) if rng.random() < 0.7 else items.any(rng)
        if not group:
            continue
        if len(group) > 1:
            tags.append("group-2-4" if len(group) <= 4 else "group-5-12")
        paid = [(inv, inv.amount) for inv in group]
        if len(group) >= 3 and items.credits and rng.random() < 0.4:
            note = items.credit()
            assert note is not None  # it has credit notes open
            paid.append((note, note.amount))
            tags.append("credit-note-netted")
        gross = sum((a for _, a in paid), Decimal(0))
        amount = gross
        words: list[str] = []
        if discount and len(group) == 1 and group[0].issue_date >= recent:
            amount = gross - money(gross * Decimal("0.02"))
            words.append(rng.choice(DISCOUNT_WORDS[str(habit["lang"])]))
            tags.append("discount-2pct")
        elif len(group) == 1 and rng.random() < 0.045:
            if rng.random() < 0.6:
                part = money(gross * Decimal(rng.choice(["0.25", "0.4", "0.5", "0.5", "0.6", "0.75"])))
            else:  # a round sum on account
                step = Decimal(1000 if c.currency != "EUR" else 100)
                part = max((gross / 2 / step).to_integral_value(rounding="ROUND_FLOOR") * step, step)
            if part < gross:
                amount = part
                paid = [(group[0], part)]
                words.append(rng.choice(PARTIAL_WORDS[str(habit["lang"])]))
                tags.append("partial")
        if any(items.amounts[inv.amount] > 0 for inv in group):
            tags.append("same-amount-open")
        sent = money(amount)
        if habit["swift"] and rng.random() < 0.85:
            fee = habit["fee"]
            if isinstance(fee, Decimal) and fee < 1:  # a percentage, with the bank's minimum
                floor = Decimal(10 if c.currency == "EUR" else 100)
                deducted, tag = max(money(amount * fee), floor), "fee-percent"
            else:
                deducted, tag = Decimal(str(fee)), "fee-fixed"
            tags.append(tag)
            if rng.random() < 0.15:
                deducted += Decimal(rng.choice(FEES[c.currency][:4]))
                tags.append("fee-two-banks")
            if deducted < amount:
                amount -= deducted
            else:
                tags = [t for t in tags if not t.startswith("fee-")]
        receipt, remitter = _payer(rng, c, by_id, habits, factor_accounts, ref, money(amount), tags)
        receipt.sent, receipt.said = sent, list(words)
        _remit(rng, receipt, c, habits[remitter], [inv for inv, _ in paid], words, tags)
        book.add(receipt, paid, *tags)


def _payer(
    rng: random.Random,
    c: Customer,
    by_id: dict[str, Customer],
    habits: dict[str, dict[str, object]],
    factor_accounts: dict[tuple[str, str], str],
    ref: str,
    amount: Decimal,
    tags: list[str],
) -> tuple[Receipt, str]:
    """The transfer's payer, and whose habit writes its remittance (a parent's treasury writes its own)."""
    habit = habits[c.customer_id]
    e2e = "NOTPROVIDED" if rng.random() < 0.5 else str(rng.randint(10**9, 10**10 - 1))
    parent = by_id.get(c.parent_id)
    if habit["factor"] is not None and rng.random() < 0.7:
        factor = FACTORS[int(str(habit["factor"]))]
        tags.append("factor-pays")
        receipt = Receipt(ref, amount, c.currency, factor.upper(), factor_accounts[factor, c.currency], end_to_end=e2e)
        if rng.random() < 0.6:
            receipt.ultimate = bank_name(c.name, str(habit["bank"]))
            tags.append("customer-in-ultimate-debtor")
        else:
            receipt.entry_info = f"On behalf of {bank_name(c.name, 'fold')}"
            tags.append("customer-in-text")
        return receipt, c.customer_id
    payer = c
    if parent is not None and rng.random() < 0.55:
        payer = parent
        tags.append("paid-by-parent")
    ph = habits[payer.customer_id]
    name = without_form(payer.name) if ph["without_form"] else payer.name
    written = bank_name(name, str(ph["bank"]))
    if ph["without_form"]:
        tags.append("name-without-form")
    if ph["bank"] in ("fold", "fold-long") and written != name.upper()[:35]:
        tags.append("name-folded")
    elif ph["bank"] != "keep":
        tags.append("name-upper")
    if len(name) > 35 and ph["bank"] != "keep":
        tags.append("name-cut-35")
    account = str(ph["account"])
    if account != payer.iban:
        tags.append("new-account" if payer.iban else "no-account-in-master")
    return Receipt(ref, amount, c.currency, written, account, end_to_end=e2e), payer.customer_id


def _remit(
    rng: random.Random,
    r: Receipt,
    c: Customer,
    habit: dict[str, object],
    paid: list[Invoice],
    words: list[str],
    tags: list[str],
) -> None:
    style = str(habit["style"])
    lang = str(habit["lang"])
    invoices = [inv for inv in paid if inv.amount > 0]
    if len(paid) > 1:
        shape = rng.random()
        if shape < 0.3:
            tags.append("group-unnamed")
            style = "group-unnamed"
        elif shape < 0.45:
            invoices = rng.sample(invoices, max(1, len(invoices) // 3))
            tags.append("group-partly-named")
        else:
            tags.append("group-named")
            invoices = list(paid)
    elif style != "none" and rng.random() < 0.05:
        style = "none"  # a payer who usually quotes the number did not this time
    if "paid-by-parent" in tags and rng.random() < 0.4:
        words.append(rng.choice(["för", "for", "puolesta", "obo"]) + f" {without_form(c.name)}")
        tags.append("subsidiary-named")
    text = ""
    if style == "structured":
        r.creditor_refs = [inv.payment_reference for inv in invoices]
        kind = {"NO": "kid", "SE": "se-ocr", "DK": "fik"}.get(c.country, "national-ref")
        tags += ["structured-reference", "rf" if invoices[0].payment_reference.startswith("RF") else kind]
    elif style in ("text", "manual", "addtl"):
        numbers = [inv.number for inv in invoices]
        if style == "manual":
            k = rng.randrange(len(numbers))
            numbers[k], kind = typo(rng, numbers[k])
            tags += ["number-with-error", f"typo-{kind}"]
        if len(numbers) == 1:
            text = rng.choice(PREFIXES.get(lang, PREFIXES["*"]) + PREFIXES["*"][:2]).format(numbers[0]).strip()
        else:
            sep = rng.choice([", ", " ", "/", "; "])
            text = f"{PLURAL[lang]} {sep.join(numbers)}" if rng.random() < 0.6 else sep.join(numbers)
        if habit["noise"]:
            text = rng.choice(
                [
                    f"{text} Kundnr {c.customer_id}",
                    f"Vår ref {rng.choice(FIRST_NAMES)} {text}",
                    f"{text} ordre {rng.randint(1_000_000, 9_999_999)}",
                    f"{text} tilaus {rng.randint(10000, 99999)} {rng.randint(1, 28)}.{rng.randint(1, 12)}.2026",
                    f"Best.nr {rng.randint(100000, 999999)} {text}",
                ]
            )
            tags.append("other-numbers-in-text")
        if style != "addtl":
            tags.append("number-in-text")
    elif style == "ref-in-text":
        refs = [inv.payment_reference for inv in invoices]
        word = REFERENCE_WORDS[c.country] if lang != "*" else "Ref"
        text = f"{word} " + " ".join(grouped(x) if rng.random() < 0.4 else x for x in refs)
        tags.append("reference-in-text")
    elif style == "group-unnamed":
        text = rng.choice(GROUP_UNNAMED.get(lang, ["Payment of several invoices"]))
    else:
        text = rng.choice(NO_REFERENCE.get(lang, ["Payment", ""]))
        tags.append("no-reference")
    text = " ".join(x for x in (text, *words) if x)
    if habit["bank"] in ("fold", "fold-long"):  # an ASCII-only bank folds the message as well
        text = fold_ascii(text.translate(_FOLD_SHORT))
    if style == "addtl":
        r.tx_info = f"/RFB/{rng.randint(10**9, 10**10 - 1)} /REMI/{text}"
        tags.append("reference-in-addtl-info")
    else:
        r.text = text[:140]


NOT_OURS = [
    ("SKATTEVERKET", "Återbetalning skattekonto {orgnr}", "tax-refund", "SEK"),
    ("SKATTEETATEN", "Tilbakebetaling merverdiavgift termin {t} {y}", "tax-refund", "NOK"),
    ("VEROHALLINTO", "Veronpalautus {y} viite {fiviite}", "tax-refund", "EUR"),
    ("SKATTESTYRELSEN", "Moms tilbagebetaling {t}. kvt {y}", "tax-refund", "DKK"),
    ("MAKSU- JA TOLLIAMET", "Tagastus {a}", "tax-refund", "EUR"),
    ("", "Ränta {y}-{m:02d}", "interest", "SEK"),
    ("", "Kreditrenter {m:02d}.{y}", "interest", "NOK"),
    ("", "Korko {m}/{y}", "interest", "EUR"),
    ("{supplier}", "Kreditnota {doc} återbetalning", "supplier-refund", "SEK"),
    ("{supplier}", "Hyvityslasku {doc}", "supplier-refund", "EUR"),
    ("{supplier}", "Kreditnota {doc}", "supplier-refund", "NOK"),
    ("{supplier}", "Faktura {doc} kreditering", "supplier-refund", "DKK"),
    ("GJENSIDIGE FORSIKRING ASA", "Skadeoppgjør {a}", "insurance", "NOK"),
    ("IF SKADEFORSAKRING AB", "Skadeersättning {a}", "insurance", "SEK"),
    ("NETS DENMARK A/S", "Kortindløsning {d}", "card-settlement", "DKK"),
]
SUPPLIERS = ["Stora Enso Wood Products Oy", "Moelven Industrier ASA", "Ahlsell Sverige AB", "Rockwool A/S", "Bauhof AS"]


def _not_ours(rng: random.Random, book: Book, ref: str, today: dt.date, habits: dict[str, dict[str, object]]) -> None:
    r = rng.random()
    if r < 0.12:  # a customer's prepayment for an order not yet invoiced: no open invoice is paid
        c = rng.choice(book.customers)
        text = rng.choice(["Forskudd ordre {}", "Förskott order {}", "Ennakkomaksu tilaus {}", "Ettemaks {}"])
        receipt = Receipt(
            ref,
            money(rng.choice([5000, 10000, 20000, 25000]) * (1 if c.currency != "EUR" else Decimal("0.1"))),
            c.currency,
            bank_name(c.name, str(habits[c.customer_id]["bank"])),
            str(habits[c.customer_id]["account"]),
            text.format(rng.randint(100000, 999999)),
        )
        book.add(receipt, [], "not-a-customer-payment", "prepayment-no-invoice")
        return
    if r < 0.27:  # an employee's expense refund: a person named like a customer
        country = rng.choice(list(STEMS))
        stem = rng.choice(STEMS[country]).split()[0]
        receipt = Receipt(
            ref,
            money(rng.lognormvariate(6.0, 0.8)),
            COUNTRIES[country][1],
            bank_name(f"{rng.choice(FIRST_NAMES)} {stem}", rng.choice(["keep", "fold"])),
            _iban(rng, country),
            rng.choice(["Reiseregning refusjon", "Utlägg tillbaka", "Kulukorvaus palautus", ""]),
        )
        book.add(receipt, [], "not-a-customer-payment", "employee-refund")
        return
    payer, text, kind, ccy = rng.choice(NOT_OURS)
    fiviite = str(rng.randint(10**6, 10**8))
    values = {
        "orgnr": f"55{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "t": rng.randint(1, 6),
        "y": today.year,
        "m": rng.randint(1, 12),
        "a": rng.randint(10**6, 10**8),
        "d": today.isoformat(),
        "doc": rng.randint(1_000_000, 9_999_999),  # a supplier's seven-digit number, like ours
        "fiviite": fiviite + ref_731(fiviite),
        "supplier": rng.choice(SUPPLIERS),
    }
    scale = 10 if ccy != "EUR" else 1
    receipt = Receipt(
        ref,
        money(rng.lognormvariate(5.0, 1.3) * scale + 1),
        ccy,
        payer.format(**values).upper(),
        _iban(rng, rng.choice(["SE", "NO", "DK", "FI"])),
        text.format(**values),
    )
    book.add(receipt, [], "not-a-customer-payment", kind)
