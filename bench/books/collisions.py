"""Book 2: a large wholesaler's book of many small customers whose names collide.

What differs from the shared generator, and why a finance team sees it:

* many customers share a stem: the same name with another legal form (``GmbH``, ``GmbH & Co. KG``,
  ``e.K.``), or another city (``Schmidt Haustechnik Köln GmbH``); long legal names (Polish
  ``Spółka Jawna`` names, ``Inh.`` owners) that banks cut at 35 or 70 characters;
* payer names transliterated by banks that send ASCII only (``Łódź`` -> ``LODZ``, ``ß`` -> ``SS``,
  ``ø``, ``æ``, ``ł`` folded), upper-cased, cut;
* payments through payment providers and factors (``PAYONEER OBO Kowalski``, the provider as
  debtor and the customer as ultimate debtor, ``Abtretung`` texts), ``i.A.`` and ``per pro``
  prefixes; holding companies paying for their subsidiaries from the holding's account; payer
  accounts that changed (new bank, not in the master);
* invoices from a price list (the same amounts across hundreds of customers), remittance that
  gives the customer number instead of the invoice number, or nothing at all;
* receipts that pay nothing, among them private persons whose surname is a customer's stem.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from books.common import (
    Book,
    Customer,
    Invoice,
    Receipt,
    by_customer,
    fold_ascii,
    iban,
    lognormal_amount,
    money,
    spread_dates,
    take_open,
)

NAME = "collisions"
TITLE = "Large book, name collisions"

STEMS = {
    "DE": [
        "Schmidt",
        "Schneider",
        "Fischer",
        "Meyer",
        "Weber",
        "Schulz",
        "Wagner",
        "Becker",
        "Groß",
        "Weiß",
        "Krause",
        "Koch",
        "Bauer",
        "Richter",
        "Klein",
        "Wolf",
        "Schröder",
        "Neumann",
        "Schwarz",
        "Jäger",
    ],
    "AT": ["Gruber", "Huber", "Wimmer", "Eder", "Fuchs"],
    "PL": [
        "Kowalski",
        "Nowak",
        "Wiśniewski",
        "Wójcik",
        "Kamiński",
        "Lewandowski",
        "Zieliński",
        "Szymański",
        "Woźniak",
        "Dąbrowski",
        "Kozłowski",
        "Jankowski",
    ],
    "DK": ["Jørgensen", "Sørensen", "Møller", "Hansen", "Nielsen", "Kjær", "Mæhle"],
    "NO": ["Ødegård", "Strøm", "Bjørnstad", "Haugen", "Løvås"],
    "FR": ["Lefèvre", "Müller-Hébert", "Bérénger", "Gauthier", "Perrin"],
    "CZ": ["Dvořák", "Novák", "Černý", "Procházka", "Kučera"],
}
TRADES = {
    "DE": [
        "Haustechnik",
        "Elektrotechnik",
        "Sanitär",
        "Bau",
        "Dachdeckerei",
        "Heizungsbau",
        "Metallbau",
        "Malerbetrieb",
    ],
    "AT": ["Installationen", "Bau", "Elektro"],
    "PL": ["Instalacje", "Budownictwo", "Elektro", "Usługi Techniczne"],
    "DK": ["VVS", "El-service", "Byg"],
    "NO": ["Rør", "Elektro", "Bygg"],
    "FR": ["Plomberie", "Électricité", "Bâtiment"],
    "CZ": ["Stavby", "Elektro", "Instalace"],
}
FORMS = {
    "DE": ["GmbH", "GmbH & Co. KG", "e.K.", "KG", "OHG", "UG (haftungsbeschränkt)"],
    "AT": ["GmbH", "KG", "e.U."],
    "PL": ["Sp. z o.o.", "Spółka Jawna", "Spółka Komandytowa", "S.A."],
    "DK": ["ApS", "A/S", "I/S"],
    "NO": ["AS", "ANS"],
    "FR": ["SARL", "SAS", "EURL"],
    "CZ": ["s.r.o.", "a.s."],
}
CITIES = {
    "DE": ["Köln", "München", "Düsseldorf", "Nürnberg", "Lübeck", "Göttingen", "Würzburg", "Straßburg", "Berlin"],
    "AT": ["Wien", "Graz", "Linz", "Klagenfurt"],
    "PL": ["Łódź", "Kraków", "Gdańsk", "Wrocław", "Poznań", "Białystok", "Rzeszów", "Toruń"],
    "DK": ["Århus", "København", "Ålborg", "Næstved"],
    "NO": ["Tromsø", "Bodø", "Førde", "Ålesund"],
    "FR": ["Besançon", "Orléans", "Nîmes"],
    "CZ": ["Plzeň", "České Budějovice", "Brno"],
}
COUNTRY_WEIGHTS = {"DE": 40, "AT": 7, "PL": 22, "DK": 9, "NO": 6, "FR": 9, "CZ": 7}
CURRENCY = {"DK": "DKK", "NO": "NOK", "PL": "PLN", "CZ": "CZK"}
PRICE_LIST = ["49.00", "89.00", "119.00", "149.00", "238.00", "299.00", "357.00", "595.00", "1190.00"]
PROVIDERS = ["PAYONEER EUROPE LTD", "STRIPE TECHNOLOGY EUROPE LTD", "WISE EUROPE SA", "PAYPAL EUROPE S.A R.L. ET CIE"]
FACTORS = ["Deutsche Factoring Bank GmbH & Co. KG", "Bibby Financial Services GmbH", "PKO Faktoring S.A."]
FIRST_NAMES = ["Jan", "Anna", "Piotr", "Thomas", "Søren", "Katarzyna", "Jörg", "Lars", "Marie", "Tomáš"]


def sizes(invoices: int) -> tuple[int, int]:
    """Customers and receipts: a customer for every six invoices (many small accounts)."""
    return max(invoices // 6, 20), max(invoices // 5, 10)


def _name(rng: random.Random, country: str) -> str:
    stem, trade, form = rng.choice(STEMS[country]), rng.choice(TRADES[country]), rng.choice(FORMS[country])
    r = rng.random()
    if r < 0.25:
        return f"{stem} {trade} {rng.choice(CITIES[country])} {form}"
    if r < 0.4:
        return f"{stem} {trade} {form} Niederlassung {rng.choice(CITIES[country])}"
    if r < 0.5 and country == "PL":
        other = rng.choice(STEMS[country])
        return (
            f"Przedsiębiorstwo Produkcyjno-Handlowo-Usługowe {trade} {stem} i {other} {form} "
            f"{rng.choice(CITIES[country])}"
        )
    if r < 0.55 and country in ("DE", "AT"):
        return f"{stem} {trade} e.K. Inh. {rng.choice(FIRST_NAMES)} {stem}"
    return f"{stem} {trade} {form}"


def generate(seed: int, invoices: int, today: dt.date = dt.date(2026, 9, 30)) -> Book:
    rng = random.Random(f"collisions-{seed}")
    n_customers, n_receipts = sizes(invoices)
    countries, cw = list(COUNTRY_WEIGHTS), list(COUNTRY_WEIGHTS.values())
    customers: list[Customer] = []
    for i in range(n_customers):
        country = rng.choices(countries, cw)[0]
        customers.append(
            Customer(
                f"K{100000 + i}",
                _name(rng, country),
                f"{country}{rng.randint(10**8, 10**9 - 1)}",
                country,
                CURRENCY.get(country, "EUR"),
                money(rng.choice([2, 5, 10, 15, 25]) * 1000),
                iban(rng, country),
            )
        )
    # holdings: one customer in 40 is a group's parent with two to five subsidiaries of its country
    holdings = rng.sample(customers, max(n_customers // 40, 1))
    for h in holdings:
        h.name = f"{h.name.split()[0]} Holding {FORMS[h.country][0]}"
        for sub in rng.sample(customers, rng.randint(2, 5)):
            if sub is not h and not sub.parent_id and sub not in holdings and sub.country == h.country:
                sub.parent_id = h.customer_id
    book = Book(customers=customers, name=NAME, today=today)
    year_seq: dict[int, int] = {}
    for issued in sorted(spread_dates(rng, today, 330) for _ in range(invoices)):
        c = rng.choice(customers)
        seq = year_seq[issued.year] = year_seq.get(issued.year, 0) + 1
        amount = (
            Decimal(rng.choice(PRICE_LIST))
            if rng.random() < 0.35
            else lognormal_amount(rng, 380.0, 0.95, 12.0, 40_000.0)
        )
        book.invoices.append(
            Invoice(
                f"VR{issued:%y}{seq:06d}",
                c.customer_id,
                issued,
                issued + dt.timedelta(days=rng.choice([8, 14, 14, 30])),
                c.currency,
                amount,
            )
        )
    _receipts(rng, book, n_receipts, today)
    return book


def _payer(rng: random.Random, c: Customer, by_id: dict[str, Customer]) -> tuple[str, str, str, str, list[str]]:
    """(payer name, account, ultimate debtor, extra text, tags) of one transfer."""
    own = c.iban
    r = rng.random()
    parent = by_id.get(c.parent_id)
    if parent is not None and r < 0.45:
        return parent.name, parent.iban, "", f"fuer {c.name}" if rng.random() < 0.4 else "", ["parent-pays"]
    r = rng.random()
    name = c.name
    tags: list[str] = []
    if r < 0.3:
        pass
    elif r < 0.55:
        name = fold_ascii(name)
        tags.append("transliterated" if name != c.name.upper() else "upper-case")
    elif r < 0.62:
        name = rng.choice([f"i.A. {name}", f"{name} i.A.", f"per pro {name}", f"pp {name}"])
        tags.append("on-behalf-prefix")
    elif r < 0.70:
        provider = rng.choice(PROVIDERS)
        if rng.random() < 0.5:
            return f"{provider} OBO {fold_ascii(c.name)}"[:70], iban(rng, "LU"), "", "", ["provider-obo"]
        return provider, iban(rng, "IE"), c.name, "", ["provider-ultimate-debtor"]
    elif r < 0.74:
        return rng.choice(FACTORS), iban(rng, "DE"), "", f"Abtretung {c.name}", ["factor-pays"]
    if len(name) > 35 and rng.random() < 0.7:
        cut = rng.choice([35, 35, 70]) if len(name) > 70 else 35
        name = fold_ascii(name)[:cut] if rng.random() < 0.6 else name[:cut]
        tags.append(f"name-cut-{cut}")
    account_r = rng.random()
    if account_r < 0.3:
        own = iban(rng, c.country)
        tags.append("account-changed")
    elif account_r < 0.35:
        own = ""
        tags.append("no-account")
    return name, own, "", "", tags


def _receipts(rng: random.Random, book: Book, n: int, today: dt.date) -> None:
    invoices = by_customer(book.invoices)
    for pool in invoices.values():
        pool.sort(key=lambda i: i.issue_date)
    by_id = {c.customer_id: c for c in book.customers}
    paying = [c for c in book.customers if c.customer_id in invoices]
    shared = {}
    for c in book.customers:
        shared.setdefault(" ".join(c.name.split()[:2]), []).append(c)
    used: set[str] = set()
    for k in range(n):
        ref = f"CB{k + 1:09d}"
        if rng.random() < 0.06:
            _not_ours(rng, book, ref)
            continue
        c = rng.choice(paying)
        group = take_open(
            rng,
            invoices[c.customer_id],
            used,
            rng.randint(2, 4) if rng.random() < 0.12 else 1,
            oldest_first=rng.random() < 0.6,
        )
        if not group:
            continue
        tags = ["group-2-4"] if len(group) > 1 else []
        if len(shared[" ".join(c.name.split()[:2])]) > 1:
            tags.append("stem-shared")
        if any(inv.amount in {Decimal(p) for p in PRICE_LIST} for inv in group):
            tags.append("price-list-amount")
        paid = [(inv, inv.amount) for inv in group]
        amount = sum((a for _, a in paid), Decimal(0))
        if len(group) == 1 and rng.random() < 0.05:
            # half of it, or a third where half is the amount of another open invoice of the customer
            # (then nobody could tell the part payment from that invoice's payment)
            others = {i.amount for i in invoices[c.customer_id] if i.number not in used}
            amount = money(amount / 2) if money(amount / 2) not in others else money(amount / 3)
            paid = [(group[0], amount)]
            tags.append("partial")
        payer, account, ultimate, extra, payer_tags = _payer(rng, c, by_id)
        tags.extend(payer_tags)
        r = rng.random()
        if r < 0.45:
            text = " ".join(inv.number for inv in group)
        elif r < 0.55:
            text = " ".join(f"Rechnung {int(inv.number[4:])}" for inv in group)
            tags.append("number-partly-written")
        elif r < 0.7:
            text = rng.choice([f"Kd-Nr {c.customer_id[1:]}", f"Kundennr. {c.customer_id}", f"klient {c.customer_id}"])
            tags.append("customer-number-only")
        else:
            text = rng.choice(["Rechnung", "Zahlung", "Faktura", "Betaling", "", "Ausgleich Konto", "Faktura VAT"])
            tags.append("no-reference")
        text = " ".join(x for x in (text, extra) if x)
        book.add(Receipt(ref, amount, c.currency, payer, account, text[:140], ultimate=ultimate), paid, *tags)


def _not_ours(rng: random.Random, book: Book, ref: str) -> None:
    r = rng.random()
    stem = rng.choice(STEMS["DE"] + STEMS["PL"])
    if r < 0.35:  # a private person with a customer's surname: a refund, a deposit, a mistake
        payer, text, tag = (
            f"{rng.choice(FIRST_NAMES)} {stem}",
            rng.choice(["Kaution", "Rueckzahlung", "", "Miete"]),
            "private-person-customer-surname",
        )
    elif r < 0.6:
        payer, text, tag = "", rng.choice(["Zinsen", "Habenzinsen Q2"]), "interest"
    elif r < 0.8:
        payer, text, tag = "Bundeszentralamt fuer Steuern", f"Erstattung {rng.randint(10**7, 10**8 - 1)}", "tax-refund"
    else:
        payer, text, tag = rng.choice(PROVIDERS), f"Payout {rng.randint(10**5, 10**6 - 1)}", "provider-payout"
    amount = money(rng.choice(PRICE_LIST)) if rng.random() < 0.3 else money(rng.lognormvariate(5.0, 1.2) + 1)
    book.add(Receipt(ref, amount, "EUR", payer, iban(rng, "DE"), text), [], "not-a-customer-payment", tag)
