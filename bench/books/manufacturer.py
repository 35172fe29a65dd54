"""Book 1: a continental manufacturer (machine parts) selling across Europe and overseas.

What differs from the shared generator, and why a finance team sees it:

* three invoice numberings from three billing entities (an ERP migration and a foreign branch):
  ``RE-2026-0004467`` (German entity), ``2026/153`` (Italian and Spanish entity, per-year sequence
  without padding), plain sequence numbers ``90012345`` (the rest); credit notes ``GS-2026-000123``;
* remittance that writes numbers partly: ``Rg 4467``, ``inv 153``, ``fact. 2026/153``, ``153/26``,
  inside longer text next to other numbers (order numbers, calendar weeks, dates), with OCR
  confusions (O/0, I/1, S/5, B/8); some in the structured referred-document field, some only in
  the additional transaction information a SWIFT transfer carries, some with no number at all;
* each payer keeps its own habit (the same style on every transfer);
* fees: SEPA transfers none; SWIFT transfers (non-EUR, or from outside the SEPA area) with SHA
  charges deduct each payer bank's own fee (5 to 45 in the payment currency), sometimes plus a
  correspondent's fee; some banks charge a percentage (0.1% to 0.25%, with a minimum and maximum);
* cash discount (Skonto 2% or 3%) taken, disputes deducted, instalments, overpayments (rounded up,
  or an old credit balance added);
* large customers pay 6 to 20 invoices at once (with or without the numbers in the text), and net
  open credit notes against them;
* receipts that pay nothing: tax refunds, interest, insurance, supplier refunds that quote their own
  document numbers.
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
    iban,
    lognormal_amount,
    money,
    ocr,
    spread_dates,
    take_open,
    zipf_weights,
)

NAME = "manufacturer"
TITLE = "Continental manufacturer"

STEMS = {
    "DE": [
        "Müller",
        "Schäfer",
        "Hoffmann",
        "Becker",
        "Wagner",
        "Krüger",
        "Brandt",
        "Vogel",
        "Lorenz",
        "Franke",
        "Weiß",
        "Köhler",
        "Seidel",
        "Zimmermann",
        "Hartmann",
        "Baumgärtner",
    ],
    "AT": ["Gruber", "Huber", "Pichler", "Moser", "Steiner", "Hofer", "Leitner"],
    "IT": ["Rossi", "Bianchi", "Colombo", "Ferrari", "Esposito", "Ricci", "Marino", "Greco", "Bruno", "Galli"],
    "ES": ["García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro"],
    "FR": ["Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Fontaine", "Chevalier"],
    "PL": ["Nowak", "Kowalczyk", "Wiśniewski", "Zieliński", "Wójcik"],
    "NL": ["de Vries", "van Dijk", "Bakker", "Visser", "Smit", "Meijer"],
    "CH": ["Keller", "Meier", "Brunner", "Baumann", "Frei"],
    "US": ["Redwood", "Lakeshore", "Keystone", "Ironbridge", "Prairie", "Bluewater"],
    "GB": ["Ashford", "Pennington", "Whitmore", "Blackwood", "Harrow"],
}
TRADES = {
    "DE": ["Maschinenbau", "Antriebstechnik", "Fördertechnik", "Werkzeugbau", "Hydraulik", "Stahlbau", "Automation"],
    "AT": ["Anlagenbau", "Metallbau", "Technik"],
    "IT": ["Meccanica", "Oleodinamica", "Automazione", "Componenti Industriali"],
    "ES": ["Industrial", "Maquinaria", "Componentes"],
    "FR": ["Mécanique", "Industrie", "Équipements"],
    "PL": ["Maszyny", "Technika", "Metal"],
    "NL": ["Machinebouw", "Techniek", "Industrie"],
    "CH": ["Präzisionstechnik", "Maschinen", "Engineering"],
    "US": ["Machinery", "Industrial Supply", "Manufacturing", "Fluid Power"],
    "GB": ["Engineering", "Industrial", "Precision Components"],
}
FORMS = {
    "DE": ["GmbH", "GmbH & Co. KG", "AG", "KG"],
    "AT": ["GmbH", "Ges.m.b.H."],
    "IT": ["S.p.A.", "S.r.l."],
    "ES": ["S.A.", "S.L."],
    "FR": ["SAS", "S.A."],
    "PL": ["Sp. z o.o."],
    "NL": ["B.V."],
    "CH": ["AG", "GmbH"],
    "US": ["Inc.", "LLC", "Corp."],
    "GB": ["Ltd", "PLC"],
}
COUNTRY_WEIGHTS = {"DE": 30, "AT": 8, "IT": 12, "ES": 7, "FR": 9, "PL": 6, "NL": 6, "CH": 7, "US": 9, "GB": 6}
CURRENCY = {"CH": "CHF", "US": "USD", "GB": "GBP", "PL": "PLN"}
SEPA = {"DE", "AT", "IT", "ES", "FR", "NL", "PL"}
ENTITY = {"DE": "RE", "AT": "RE", "CH": "RE", "IT": "YS", "ES": "YS"}  # the rest: plain sequence
#: Fees (SHA) a payer's bank deducts, in the payment currency: each payer bank keeps one.
FIXED_FEES = [
    "5.50",
    "8.00",
    "9.90",
    "12.50",
    "17.50",
    "18.00",
    "20.00",
    "22.35",
    "25.00",
    "27.50",
    "30.00",
    "35.00",
    "38.00",
    "45.00",
]
PERCENT_FEES = [
    (Decimal("0.001"), Decimal("8.00"), Decimal("60.00")),
    (Decimal("0.0015"), Decimal("12.00"), Decimal("90.00")),
    (Decimal("0.0025"), Decimal("15.00"), Decimal("150.00")),
]
CORRESPONDENT = ["10.00", "15.00", "20.00", "25.00"]


def sizes(invoices: int) -> tuple[int, int]:
    """Customers and receipts for a book of ``invoices`` invoices: fewer, larger customers."""
    return max(invoices // 40, 20), max(invoices // 6, 10)


class _Numbering:
    def __init__(self) -> None:
        self.seq: dict[tuple[str, int], int] = {}
        self.plain = 90_000_000
        self.credit: dict[int, int] = {}

    def next(self, scheme: str, year: int) -> str:
        if scheme == "PL":
            self.plain += 1
            return str(self.plain)
        n = self.seq[scheme, year] = self.seq.get((scheme, year), 0) + 1
        return f"RE-{year}-{n:07d}" if scheme == "RE" else f"{year}/{n}"

    def credit_note(self, year: int) -> str:
        n = self.credit[year] = self.credit.get(year, 0) + 1
        return f"GS-{year}-{n:06d}"


def scheme_of(customer: Customer) -> str:
    return ENTITY.get(customer.country, "PL")


def seq_part(number: str) -> tuple[str, str, str]:
    """(year, sequence without padding, prefix) of one of our numbers."""
    if number.startswith(("RE-", "GS-")):
        prefix, year, seq = number.split("-")
        return year, str(int(seq)), prefix
    if "/" in number:
        year, seq = number.split("/")
        return year, seq, ""
    return "", number, ""


STYLES = ["full", "full", "full", "rg", "inv", "fact", "shortyear", "long", "ocr", "none", "structured", "swift"]


def write_number(rng: random.Random, style: str, number: str) -> str:
    """How one payer writes one of our invoice numbers."""
    year, seq, _ = seq_part(number)
    if style == "full" or (style in ("rg", "inv") and not year and len(seq) >= 8):
        return number if rng.random() < 0.7 else number.replace("-", " ").replace("/", " / ")
    if style == "rg":
        return rng.choice([f"Rg {seq}", f"Rg.-Nr. {seq}", f"Rechnung {seq}", f"RNr {seq}"])
    if style == "inv":
        return rng.choice([f"inv {seq}", f"INV NO {seq}", f"invoice #{seq}", f"inv. {year} {seq}".strip()])
    if style == "fact":
        return rng.choice(
            [
                f"fact. {year}/{seq}" if year else f"fact. {seq}",
                f"Fattura n. {seq}",
                f"Factura {seq}/{year[2:]}" if year else f"Factura {seq}",
                f"facture {seq}",
            ]
        )
    if style == "shortyear":
        return f"{seq}/{year[2:]}" if year else seq[-5:]
    if style == "ocr":
        return ocr(rng, number if rng.random() < 0.6 else seq, rate=0.4)
    return number


def _customers(rng: random.Random, n: int) -> list[Customer]:
    countries = list(COUNTRY_WEIGHTS)
    weights = list(COUNTRY_WEIGHTS.values())
    out = []
    seen: set[str] = set()
    for i in range(n):
        country = rng.choices(countries, weights)[0]
        for _ in range(20):
            name = f"{rng.choice(STEMS[country])} {rng.choice(TRADES[country])} {rng.choice(FORMS[country])}"
            if rng.random() < 0.25:
                name = f"{rng.choice(STEMS[country])} & {name}"
            if name not in seen:
                break
        seen.add(name)
        out.append(
            Customer(
                customer_id=f"D{10000 + i * 7}",
                name=name,
                tax_id=f"{country}{rng.randint(10**8, 10**9 - 1)}",
                country=country,
                currency=CURRENCY.get(country, "EUR"),
                credit_limit=money(rng.choice([20, 50, 100, 200, 500, 1000]) * 1000),
                iban=iban(rng, country if country not in ("US",) else "GB"),
            )
        )
    return out


def generate(seed: int, invoices: int, today: dt.date = dt.date(2026, 10, 15)) -> Book:
    rng = random.Random(f"manufacturer-{seed}")
    n_customers, n_receipts = sizes(invoices)
    customers = _customers(rng, n_customers)
    weights = zipf_weights(len(customers), 0.9)
    numbering = _Numbering()
    book = Book(customers=customers, name=NAME, today=today)
    # invoices in issue-date order so numbers rise with dates, as an ERP numbers them
    drafts = sorted(
        ((spread_dates(rng, today), rng.choices(customers, weights)[0]) for _ in range(invoices)), key=lambda d: d[0]
    )
    for issued, c in drafts:
        if rng.random() < 0.03:  # a credit note (returns, price corrections)
            number = numbering.credit_note(issued.year)
            amount = -lognormal_amount(rng, 180.0, 0.9, 15.0, 5000.0)
        else:
            number = numbering.next(scheme_of(c), issued.year)
            amount = lognormal_amount(rng, 2400.0, 1.25, 35.0, 250_000.0)
        book.invoices.append(
            Invoice(
                number,
                c.customer_id,
                issued,
                issued + dt.timedelta(days=rng.choice([10, 30, 30, 60, 90])),
                c.currency,
                amount,
                f"4500{rng.randint(100000, 999999)}" if rng.random() < 0.5 else "",
            )
        )
    _receipts(rng, book, n_receipts, today)
    return book


def _fee(rng: random.Random, c: Customer, habit: dict[str, object], paid: Decimal) -> tuple[Decimal, list[str]]:
    if c.country in SEPA and c.currency == "EUR":
        return Decimal(0), []
    if habit["charges"] == "OUR":
        return (money(rng.choice(CORRESPONDENT)), ["fee-correspondent"]) if rng.random() < 0.1 else (Decimal(0), [])
    kind = habit["fee"]
    if isinstance(kind, tuple):
        rate, low, high = kind
        fee, tags = money(min(max(paid * rate, low), high)), ["fee-percent"]
    else:
        fee, tags = Decimal(str(kind)), ["fee-fixed"]
    if rng.random() < 0.2:
        fee += Decimal(rng.choice(CORRESPONDENT))
        tags.append("fee-correspondent")
    if fee > Decimal("15.00"):
        tags.append("fee-over-15")
    return fee, tags


def _receipts(rng: random.Random, book: Book, n: int, today: dt.date) -> None:
    invoices = by_customer(book.invoices)
    for pool in invoices.values():
        pool.sort(key=lambda i: i.issue_date)
    customers = [c for c in book.customers if c.customer_id in invoices]
    weights = [len(invoices[c.customer_id]) for c in customers]
    habits: dict[str, dict[str, object]] = {}
    for c in customers:
        swift = not (c.country in SEPA and c.currency == "EUR")
        habits[c.customer_id] = {
            "style": rng.choice(STYLES if swift else [s for s in STYLES if s != "swift"]),
            "charges": rng.choice(["SHA", "SHA", "OUR"]) if swift else "SEPA",
            "fee": rng.choice(PERCENT_FEES) if rng.random() < 0.25 else rng.choice(FIXED_FEES),
            "skonto": rng.random() < 0.25,
            "iban": c.iban if rng.random() < 0.85 else iban(rng, c.country if c.country != "US" else "GB"),
        }
    used: set[str] = set()
    for k in range(n):
        ref = f"MF{today:%y%m%d}{k + 1:07d}"
        if rng.random() < 0.05:
            _not_ours(rng, book, ref, today)
            continue
        c = rng.choices(customers, weights)[0]
        habit = habits[c.customer_id]
        pool = invoices[c.customer_id]
        tags: list[str] = [f"style-{habit['style']}"]
        r = rng.random()
        big = len(pool) >= 60
        if big and r < 0.35:
            group = take_open(rng, pool, used, rng.randint(6, 20))
            tags.append("group-6-20")
        elif r < 0.15:
            group = take_open(rng, pool, used, rng.randint(2, 5))
            tags.append("group-2-5")
        else:
            group = take_open(rng, pool, used, 1, oldest_first=rng.random() < 0.5)
        if not group:
            continue
        if len(group) >= 2:
            tags = [
                t if t not in ("group-2-5", "group-6-20") else ("group-6-20" if len(group) >= 6 else "group-2-5")
                for t in tags
            ]
        paid_lines = [(inv, inv.amount) for inv in group]
        credits = [i for i in pool if i.amount < 0 and i.number not in used]
        if len(group) >= 3 and credits and rng.random() < 0.5:
            note = credits[0]
            used.add(note.number)
            paid_lines.append((note, note.amount))
            tags.append("credit-note-netted")
        gross = sum((a for _, a in paid_lines), Decimal(0))
        amount = gross
        words: list[str] = []
        shape = rng.random()
        if habit["skonto"] and shape < 0.5:
            pct = rng.choice([Decimal("0.02"), Decimal("0.03")])
            amount = gross - money(gross * pct)
            words.append(f"abzgl. {int(pct * 100)}% Skonto")
            tags.append("skonto")
        elif shape < 0.06 and len(group) == 1:
            part = money(gross * Decimal(rng.choice(["0.3", "0.5", "0.5", "0.6"])))
            paid_lines = [(group[0], part)]
            amount = part
            words.append(rng.choice(["Teilzahlung", "1. Rate", "acconto", "partial payment"]))
            tags.append("partial")
        elif shape < 0.10:
            deduction = money(rng.uniform(20, 800) if gross > 1000 else rng.uniform(3, float(gross) / 4))
            amount = gross - deduction
            words.append(rng.choice(["abzgl. Reklamation", "minus damaged goods", "less freight", ""]))
            tags.append("short-deduction")
        elif shape < 0.13:
            amount = (gross / 100).to_integral_value(rounding="ROUND_CEILING") * 100 if gross > 500 else gross + 1
            amount = money(amount if amount > gross else gross + Decimal("0.50"))
            tags.append("overpayment")
        fee, fee_tags = _fee(rng, c, habit, amount)
        sent = money(amount)
        if fee and amount - fee > 0:
            amount -= fee
            tags.extend(fee_tags)
        receipt = Receipt(ref, money(amount), c.currency, _payer(rng, c), str(habit["iban"]), sent=sent, said=words)
        _remit(rng, receipt, str(habit["style"]), [inv for inv, _ in paid_lines], words, tags)
        book.add(receipt, paid_lines, *tags)


def _payer(rng: random.Random, c: Customer) -> str:
    r = rng.random()
    if r < 0.55:
        return c.name
    if r < 0.8:
        return c.name.upper()
    if r < 0.9:
        return c.name.rsplit(" ", 1)[0]
    return c.name[:35]


def _remit(rng: random.Random, r: Receipt, style: str, paid: list[Invoice], words: list[str], tags: list[str]) -> None:
    numbers = [inv.number for inv in paid]
    if style == "none" or (len(numbers) >= 6 and rng.random() < 0.4):
        r.text = rng.choice(
            [
                "Zahlung",
                "Zahlung lt. Avis",
                "Sammelzahlung siehe Zahlungsavis",
                "payment",
                "Pagamento",
                "",
                f"Avis {rng.randint(100000, 999999)}",
            ]
        )
        tags.append("no-reference")
    elif style == "structured":
        r.documents = numbers
        r.text = " ".join(words)
        tags.append("structured-refs")
    else:
        inner = {"swift": "full", "long": rng.choice(["full", "rg", "inv", "fact"])}.get(style, style)
        written = [write_number(rng, inner, n) for n in numbers]
        body = ", ".join(written)
        if style == "long" or rng.random() < 0.25:  # inside longer text with other numbers in it
            body = rng.choice(
                [
                    f"Zahlung KW {rng.randint(1, 52)} Auftrag {rng.randint(40000, 99999)} {body}",
                    f"Lieferung vom {rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}. {body} "
                    f"Kd {rng.randint(1000, 9999)}",
                    f"Pagamento {body} DDT {rng.randint(100, 999)} del {rng.randint(1, 28)}/{rng.randint(1, 12)}",
                    f"/INV/{body}/PO {rng.randint(4500000000, 4599999999)}",
                ]
            )
            tags.append("number-in-long-text")
        text = " ".join(x for x in (body, *words) if x)
        if style == "swift":  # an MT103 relayed: the remittance arrives in the additional information only
            r.tx_info = f"/RFB/{rng.randint(10**9, 10**10 - 1)} /REMI/{text}"
            r.text = ""
            tags.append("reference-in-addtl-info")
        else:
            r.text = text
        if len(text) > 140 and style != "swift":
            r.text = text[:140]
            tags.append("text-cut-140")
        if inner in ("rg", "inv", "fact", "shortyear"):
            tags.append("number-partly-written")
        if style == "ocr":
            tags.append("ocr-confusion")


NOT_OURS = [
    ("FINANZAMT MUENCHEN", "Erstattung USt 2026/{m:02d} StNr 143/{a}/{b}", "tax-refund"),
    ("", "Habenzinsen {y}", "interest"),
    ("ALLIANZ VERSICHERUNGS-AG", "Schadenregulierung {a}{b}", "insurance"),
    ("{supplier}", "Gutschrift zu Ihrer Bestellung, unsere Rg {s}", "supplier-refund"),
    ("{supplier}", "Rueckerstattung Ueberzahlung Beleg {y}/{s}", "supplier-refund"),
    ("ADYEN N.V.", "Settlement batch {a}{b}", "card-settlement"),
]
SUPPLIERS = ["Stahlhandel Nord GmbH", "Logistik Partner AG", "Elektro Weber KG", "Office Supply Europe BV"]


def _not_ours(rng: random.Random, book: Book, ref: str, today: dt.date) -> None:
    payer, text, kind = rng.choice(NOT_OURS)
    values = {
        "m": rng.randint(1, 12),
        "a": rng.randint(100, 999),
        "b": rng.randint(1000, 9999),
        "y": today.year,
        "s": rng.randint(1, 3000),
        "supplier": rng.choice(SUPPLIERS),
    }
    receipt = Receipt(
        ref,
        money(rng.lognormvariate(5.5, 1.3) + 1),
        "EUR",
        payer.format(**values) or "",
        iban(rng, "DE"),
        text.format(**values),
    )
    book.add(receipt, [], "not-a-customer-payment", kind)
