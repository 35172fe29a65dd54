"""The sample book ``hub demo`` runs on: a plausible wholesaler's receivables, dated from the day it runs.

Forty fictitious customers (no real company or person) of a EUR-based wholesaler, most of them
paying on time, a few slipping, two in trouble; their open invoices as the ERP exports them, four
weekly camt.053 bank statements of the weeks just gone (the ERP has not booked those receipts yet:
that is the hub's work), a guarantee, an open order book and the collection notes of the last
months. Everything is dated relative to ``today``, so the demo tells the same story whenever it
runs; the same ``seed`` gives the same book.

The story, for the demo's output to make sense:

* 32 customers pay on time or a few days late: what fell due before the statements is paid (the
  export holds the last year's invoices with their status); what fell due during them is paid in
  them, mostly by reference.
* 4 customers slip: they pay 20 to 40 days late, and one is over its limit.
* 2 customers are in trouble: they stopped paying five months ago, invoices up to 150 days past
  due, over the limit, a promise to pay broken.
* 1 customer is over its limit on paper, but a bank guarantee covers it.
* 1 customer is new: its first invoices are not due yet.
* A few receipts are hard: a short payment (a bank fee), two invoices in one transfer, a
  reference with its digits swapped, a payer without a reference, a partial payment, strangers.
* A bureau's batch file (``bureau/bureau-reports.csv`` with its events file, read by the
  bureau-file connector): Creditsafe ratings of a handful of customers; a downgrade of the first
  customer in trouble (two reports, the later one lower); and the Chinese importer, which pays on
  time, listed by a court as a dishonest debtor (失信被执行人) in Tianyancha's latest report.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

CENT = Decimal("0.01")
#: The rates the demo's config gives (1 unit = this many EUR): every total can be converted.
RATES = {"USD": "0.92", "GBP": "1.17", "CNY": "0.13"}

_NAMES = [
    ("Albatros Metallbau GmbH", "DE"),
    ("Brightwater Components Ltd", "GB"),
    ("Castello Forniture S.r.l.", "IT"),
    ("Delta Logistiek B.V.", "NL"),
    ("Edelweiss Sanitär AG", "AT"),
    ("Fjord Marine Supplies AS", "NO"),
    ("Garonne Emballages SAS", "FR"),
    ("Hansa Kältetechnik GmbH", "DE"),
    ("Iberia Hidráulica S.L.", "ES"),
    ("宁波港联国际贸易有限公司", "CN"),  # Ningbo Ganglian International Trading: a Chinese importer
    ("Kestrel Engineering Ltd", "GB"),
    ("Lumen Elektro GmbH", "DE"),
    ("Mistral Outillage SARL", "FR"),
    ("Nordlicht Druck GmbH", "DE"),
    ("Oakridge Tools LLC", "US"),
    ("Polaris Automatyka Sp. z o.o.", "PL"),
    ("Quattro Pneumatica S.p.A.", "IT"),
    ("Rheinblick Bau GmbH", "DE"),
    ("Sabre Fasteners Ltd", "GB"),
    ("Tannenhof Holzwerk GmbH", "DE"),
    ("Umbria Ceramiche S.r.l.", "IT"),
    ("Vltava Strojírny s.r.o.", "CZ"),
    ("Westerkade Installatie B.V.", "NL"),
    ("Xanten Filtertechnik GmbH", "DE"),
    ("Ypres Textiles SA", "BE"),
    ("Zugspitz Seilbahnbedarf GmbH", "DE"),
    ("Atlantic Pumps Inc.", "US"),
    ("Bohemia Glas a.s.", "CZ"),
    ("Cedar Point Supply LLC", "US"),
    ("Donau Antriebe GmbH", "AT"),
    ("Elbe Verpackung GmbH", "DE"),
    ("Flandria Staal NV", "BE"),
    ("Gironde Robinetterie SA", "FR"),
    ("Harbour Street Electrical Ltd", "GB"),
    ("Isar Medizintechnik GmbH", "DE"),
    ("Jura Präzision AG", "CH"),
    ("Karpaty Budownictwo S.A.", "PL"),
    ("Loire Agroéquipement SAS", "FR"),
    ("Mersey Hydraulics Ltd", "GB"),
    ("Neckar Feinmechanik GmbH", "DE"),
]
_CURRENCY = {"GB": "GBP", "US": "USD", "CN": "CNY"}
#: The Chinese customer's unified social credit code (统一社会信用代码), fictitious but well formed.
_USCC = {"CN": "91330206MA2H7Q5K3D"}


@dataclass
class _Customer:
    id: str
    name: str
    country: str
    currency: str
    iban: str
    kind: str  # good | slow | trouble | guaranteed | new
    monthly: Decimal
    limit: Decimal
    invoices: list[dict[str, str]] = field(default_factory=list)


def build_sample(folder: Path, today: dt.date, *, seed: int = 11) -> dict[str, Path]:
    """Write the sample book into ``folder`` (``customers.csv``, ``invoices.csv``, ``orders.csv``,
    ``guarantees.csv``, ``collections.csv``, ``statements/*.xml`` and the bureau's batch file
    ``bureau/bureau-reports.csv`` with ``bureau/bureau-reports.events.csv``); returns the files by name."""
    rng = random.Random(seed)
    customers = _customers(rng)
    receipts: list[dict[str, str]] = []
    for c in customers:
        receipts += _invoices_and_payments(rng, c, today)
    receipts += _strangers(rng, today) + _puzzles(customers, today)
    folder.mkdir(parents=True, exist_ok=True)
    statements = folder / "statements"
    statements.mkdir(exist_ok=True)
    for old in statements.glob("*.xml"):
        old.unlink()
    files = {
        "customers": _write(
            folder / "customers.csv",
            ["customer_id", "name", "tax_id", "country", "currency", "credit_limit", "parent_id", "iban"],
            [
                [c.id, c.name, _USCC.get(c.country, ""), c.country, c.currency, f"{c.limit:.2f}", "", c.iban]
                for c in customers
            ],
        ),
        "invoices": _write(
            folder / "invoices.csv",
            [
                "invoice_number",
                "customer_id",
                "issue_date",
                "due_date",
                "currency",
                "amount",
                "open_amount",
                "po_number",
                "status",
                "paid_date",
            ],
            [
                [
                    i[k]
                    for k in (
                        "number",
                        "customer",
                        "issued",
                        "due",
                        "currency",
                        "amount",
                        "open",
                        "po",
                        "status",
                        "paid",
                    )
                ]
                for c in customers
                for i in c.invoices
            ],
        ),
        "orders": _write(
            folder / "orders.csv",
            ["order_number", "customer_id", "order_date", "currency", "open_amount", "status"],
            _orders(rng, customers, today),
        ),
        "guarantees": _write(
            folder / "guarantees.csv",
            ["guarantee_id", "customer_id", "kind", "amount", "currency", "expiry_date", "issuer"],
            [
                [
                    f"BG-{c.id}",
                    c.id,
                    "bank_guarantee",
                    f"{(c.limit * 3).quantize(CENT):.2f}",
                    c.currency,
                    (today + dt.timedelta(days=270)).isoformat(),
                    "Sparkasse Rhein-Neckar",
                ]
                for c in customers
                if c.kind == "guaranteed"
            ],
        ),
        "collections": _write(
            folder / "collections.csv",
            [
                "action_id",
                "customer_id",
                "channel",
                "at",
                "content",
                "outcome",
                "promise_date",
                "promise_amount",
                "promise_currency",
                "author",
                "invoices",
            ],
            _collection_notes(customers, today),
        ),
    }
    bureau = folder / "bureau"
    bureau.mkdir(exist_ok=True)
    reports, events = _bureau_reports(customers, today)
    files["bureau"] = _write(bureau / "bureau-reports.csv", BUREAU_COLUMNS, reports)
    files["bureau_events"] = _write(bureau / "bureau-reports.events.csv", BUREAU_EVENT_COLUMNS, events)
    weeks = sorted({r["booked"] for r in receipts})
    for number, monday in enumerate(sorted({_week(d) for d in weeks}), 1):
        week = [r for r in receipts if _week(r["booked"]) == monday]
        path = statements / f"camt053-week-{number}.xml"
        path.write_text(_camt053(week, monday, number), encoding="utf-8")
        files[path.stem] = path
    return files


def _customers(rng: random.Random) -> list[_Customer]:
    kinds = ["good"] * 32 + ["slow"] * 4 + ["trouble"] * 2 + ["guaranteed", "new"]
    rng.shuffle(kinds)
    out = []
    for n, ((name, country), kind) in enumerate(zip(_NAMES, kinds, strict=True), 1):
        monthly = Decimal(rng.choice([4, 6, 8, 12, 15, 20, 30, 45])) * 1000
        limit = monthly * 3  # three months of invoicing: what the hub recommends for band A
        if kind == "guaranteed":
            limit = monthly  # far too small for what it buys: a bank guarantee secures the rest
        elif kind == "new":
            limit = Decimal(10000)
        iban = f"DE{rng.randrange(10, 99)}{rng.randrange(10**17, 10**18)}"
        out.append(_Customer(f"C{n:03d}", name, country, _CURRENCY.get(country, "EUR"), iban, kind, monthly, limit))
    return out


def _amount(rng: random.Random, around: Decimal) -> Decimal:
    return (around * Decimal(rng.uniform(0.6, 1.4))).quantize(CENT, ROUND_HALF_UP)


def _invoices_and_payments(rng: random.Random, c: _Customer, today: dt.date) -> list[dict[str, str]]:
    """The customer's invoices of the last year as the ERP exports them, and the receipts of the
    last four weeks (in the bank statements, not yet booked in the ERP) that pay some of them."""
    receipts: list[dict[str, str]] = []
    statements_from = today - dt.timedelta(days=28)
    every = 14 if c.monthly < 20000 else 7
    first = 14 if c.kind == "new" else 365
    late = {"good": (-2, 4), "slow": (20, 40), "trouble": (25, 45), "guaranteed": (0, 5), "new": (0, 0)}[c.kind]
    for k, back in enumerate(range(first, 0, -every)):
        issued = today - dt.timedelta(days=back)
        due = issued + dt.timedelta(days=30)
        amount = _amount(rng, c.monthly * every / 30)
        number = f"INV-{issued:%y}{int(c.id[1:]):03d}{k:03d}"
        invoice = {
            "number": number,
            "customer": c.id,
            "issued": issued.isoformat(),
            "due": due.isoformat(),
            "currency": c.currency,
            "amount": f"{amount:.2f}",
            "open": f"{amount:.2f}",
            "po": f"PO-{rng.randrange(10000, 99999)}" if rng.random() < 0.5 else "",
            "status": "open",
            "paid": "",
        }
        paid_on = due + dt.timedelta(days=rng.randint(*late))
        if c.kind == "trouble" and due > today - dt.timedelta(days=150):
            paid_on = today + dt.timedelta(days=1)  # stopped paying: up to 150 days past due
        c.invoices.append(invoice)
        if paid_on < statements_from:  # paid before the statements: booked in the ERP
            invoice.update(open="0.00", status="paid", paid=paid_on.isoformat())
        elif paid_on <= today - dt.timedelta(days=1):
            receipts.append(_receipt(rng, c, [invoice], paid_on))
    # The harder receipts of the sample: two invoices in one transfer.
    if c.kind == "good" and rng.random() < 0.25 and len(receipts) >= 2:
        a, b = receipts.pop(), receipts.pop()
        receipts.append(_joined(a, b))
    return receipts


def _receipt(rng: random.Random, c: _Customer, invoices: list[dict[str, str]], booked: dt.date) -> dict[str, str]:
    amount = sum((Decimal(i["amount"]) for i in invoices), Decimal(0))
    numbers = [i["number"] for i in invoices]
    roll = rng.random()
    if roll < 0.07:
        amount -= Decimal(rng.choice(["7.50", "12.00", "15.00"]))  # a correspondent bank's fee
        text = f"Invoice {numbers[0]}"
    elif roll < 0.12:
        text = f"Rechnung {numbers[0][:-3]}{numbers[0][-1]}{numbers[0][-2]}"  # digits swapped
    elif roll < 0.17:
        text = "Payment, thank you"  # no reference: the payer's account and the amount tell
    elif roll < 0.22:
        text = f"Teilzahlung {numbers[0]}"
        amount = (amount / 2).quantize(CENT)
    else:
        text = " ".join(numbers)
    return {
        "amount": f"{amount:.2f}",
        "currency": c.currency,
        "payer": c.name.upper()[:35],
        "iban": c.iban,
        "text": text,
        "booked": booked.isoformat(),
    }


def _joined(a: dict[str, str], b: dict[str, str]) -> dict[str, str]:
    total = Decimal(a["amount"]) + Decimal(b["amount"])
    booked = max(a["booked"], b["booked"])
    return {**a, "amount": f"{total:.2f}", "text": f"{a['text']} / {b['text']}", "booked": booked}


def _strangers(rng: random.Random, today: dt.date) -> list[dict[str, str]]:
    """Receipts from nobody in the book (a refund from a supplier, a deposit): they stay open."""
    return [
        {
            "amount": "1250.00",
            "currency": "EUR",
            "payer": "STADTWERKE HEIDELBERG",
            "iban": "DE44500105175407324931",
            "text": "Erstattung Abschlag 2026",
            "booked": (today - dt.timedelta(days=9)).isoformat(),
        },
        {
            "amount": "480.00",
            "currency": "EUR",
            "payer": "M. KOWALSKI",
            "iban": "PL61109010140000071219812874",
            "text": "deposit order 4471",
            "booked": (today - dt.timedelta(days=3)).isoformat(),
        },
    ]


def _puzzles(customers: list[_Customer], today: dt.date) -> list[dict[str, str]]:
    """Receipts a person has to look at: a round payment on account from a slow payer; a parent
    company paying a subsidiary's invoice from its own account, without a reference; and a payment
    without a reference of an amount two open invoices of its customer share (which one?)."""
    slow = next(c for c in customers if c.kind == "slow")
    good = [c for c in customers if c.kind == "good" and sum(i["status"] == "open" for i in c.invoices) >= 3]
    child = good[-1]
    invoice = next(i for i in child.invoices if i["status"] == "open")
    twins = good[0]
    first, second = [i for i in twins.invoices if i["status"] == "open"][-2:]
    second.update(amount=first["amount"], open=first["open"])  # a fixed monthly fee, say
    return [
        {
            "amount": first["amount"],
            "currency": twins.currency,
            "payer": twins.name.upper()[:35],
            "iban": twins.iban,
            "text": "Zahlung",
            "booked": (today - dt.timedelta(days=1)).isoformat(),
        },
        {
            "amount": "5000.00",
            "currency": slow.currency,
            "payer": slow.name.upper()[:35],
            "iban": slow.iban,
            "text": "payment on account",
            "booked": (today - dt.timedelta(days=2)).isoformat(),
        },
        {
            "amount": invoice["amount"],
            "currency": invoice["currency"],
            "payer": f"{child.name.split()[0].upper()} HOLDING",
            "iban": "DE02120300000000202051",
            "text": "",
            "booked": (today - dt.timedelta(days=4)).isoformat(),
        },
    ]


def _orders(rng: random.Random, customers: list[_Customer], today: dt.date) -> list[list[str]]:
    rows = []
    for c in customers:
        if rng.random() < 0.3:
            amount = _amount(rng, c.monthly / 2)
            rows.append(
                [
                    f"SO-{c.id}-{rng.randrange(100, 999)}",
                    c.id,
                    (today - dt.timedelta(days=5)).isoformat(),
                    c.currency,
                    f"{amount:.2f}",
                    "open",
                ]
            )
    return rows


def _collection_notes(customers: list[_Customer], today: dt.date) -> list[list[str]]:
    """The trouble customers' history: reminders, a call, a promise to pay that was not kept."""
    rows = []
    for c in customers:
        if c.kind != "trouble":
            continue
        oldest = min(dt.date.fromisoformat(i["due"]) for i in c.invoices)
        steps = [
            (5, "email", "Friendly payment reminder sent", "", "", ""),
            (
                20,
                "phone",
                "Called accounts payable; cash flow problems, promised to pay by the end of the month",
                "promise",
                (oldest + dt.timedelta(days=35)).isoformat(),
                f"{(c.monthly / 2).quantize(CENT):.2f}",
            ),
            (45, "letter", "Second reminder by letter, promise not kept", "", "", ""),
        ]
        for n, (after, channel, content, outcome, promise_date, promise_amount) in enumerate(steps, 1):
            at = dt.datetime.combine(oldest + dt.timedelta(days=after), dt.time(10, 30), dt.UTC)
            rows.append(
                [
                    f"{c.id}-N{n}",
                    c.id,
                    channel,
                    at.isoformat(),
                    content,
                    outcome,
                    promise_date,
                    promise_amount,
                    c.currency if promise_amount else "",
                    "ar-clerk",
                    "",
                ]
            )
    return rows


BUREAU_COLUMNS = [
    "report_id",
    "customer_id",
    "bureau",
    "company_id",
    "score",
    "raw_score",
    "scale",
    "band",
    "recommended_limit",
    "currency",
    "report_date",
]
BUREAU_EVENT_COLUMNS = ["report_id", "kind", "date", "court", "amount", "currency", "case_number", "description"]


def _bureau_reports(customers: list[_Customer], today: dt.date) -> tuple[list[list[str]], list[list[str]]]:
    """The bureau's batch file (mappings/bureau-reports.toml's layout) and its events, from ``today``.

    Creditsafe rates every fifth customer in good standing (A, 78-92 of 100, a limit of four
    months of its invoicing); the first customer in trouble was rated B four months ago and D now
    (a downgrade); the Chinese importer had a clean Tianyancha report five months ago and is listed
    as a dishonest debtor in the latest (80 -> 50 by the rule of hub_connectors.cn_bureau_score).
    Nothing here draws on the sample's random numbers, so the rest of the book is as it was.
    """

    def day(days_ago: int) -> str:
        return (today - dt.timedelta(days=days_ago)).isoformat()

    reports: list[list[str]] = []
    events: list[list[str]] = []
    good = [c for c in customers if c.kind == "good" and c.country != "CN"]
    for n, c in enumerate(good[::5]):
        score = 78 + (n * 5) % 15
        limit = (c.monthly * 4).quantize(CENT)
        row = [f"CS-{c.id}-1", c.id, "creditsafe", f"{c.country}-{c.id}", str(score), str(score), "0-100", "A"]
        reports.append([*row, f"{limit:.2f}", c.currency, day(30)])
    trouble = next(c for c in customers if c.kind == "trouble")
    for suffix, score, band, limit, ago in (("1", 64, "B", trouble.limit, 120), ("2", 27, "D", trouble.limit / 4, 8)):
        row = [f"CS-{trouble.id}-{suffix}", trouble.id, "creditsafe", f"{trouble.country}-{trouble.id}", str(score)]
        reports.append([*row, str(score), "0-100", band, f"{limit:.2f}", trouble.currency, day(ago)])
    chinese = next((c for c in customers if c.country == "CN"), None)
    if chinese is not None:
        uscc = _USCC["CN"]
        reports.append([f"TYC-{chinese.id}-1", chinese.id, "tianyancha", uscc, "80", "", "", "A", "", "", day(150)])
        reports.append([f"TYC-{chinese.id}-2", chinese.id, "tianyancha", uscc, "50", "", "", "C", "", "", day(6)])
        listed = today - dt.timedelta(days=20)
        events.append(
            [
                f"TYC-{chinese.id}-2",
                "dishonest_debtor",
                listed.isoformat(),
                "宁波市北仑区人民法院",
                "1860000.00",
                "CNY",
                f"({listed.year})浙0206执{1000 + int(chinese.id[1:]) * 7}号",
                "失信被执行人: 有履行能力而拒不履行生效法律文书确定义务 (全部未履行)",
            ]
        )
    return reports, events


def _week(day: str) -> dt.date:
    d = dt.date.fromisoformat(day)
    return d - dt.timedelta(days=d.weekday())


def _camt053(receipts: list[dict[str, str]], monday: dt.date, number: int) -> str:
    """One camt.053.001.02 statement (the standard's own element names) of the week from ``monday``."""
    created = (monday + dt.timedelta(days=6)).isoformat()
    entries = []
    for n, r in enumerate(sorted(receipts, key=lambda r: (r["booked"], r["payer"])), 1):
        ref = f"SMPL{monday:%y%m%d}{n:04d}"
        entries.append(
            f'<Ntry><Amt Ccy="{r["currency"]}">{r["amount"]}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
            f"<BookgDt><Dt>{r['booked']}</Dt></BookgDt><ValDt><Dt>{r['booked']}</Dt></ValDt>"
            f"<AcctSvcrRef>{ref}</AcctSvcrRef><BkTxCd><Prtry><Cd>NTRF</Cd></Prtry></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{ref}</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f'<AmtDtls><TxAmt><Amt Ccy="{r["currency"]}">{r["amount"]}</Amt></TxAmt></AmtDtls>'
            f"<RltdPties><Dbtr><Nm>{escape(r['payer'])}</Nm></Dbtr><DbtrAcct><Id><IBAN>{r['iban']}</IBAN></Id>"
            f"</DbtrAcct></RltdPties><RmtInf><Ustrd>{escape(r['text'])}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    total = sum((Decimal(r["amount"]) for r in receipts), Decimal(0))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>SAMPLE-{monday:%Y%m%d}</MsgId><CreDtTm>{created}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>SAMPLE-STMT-{monday:%Y%m%d}</Id><ElctrncSeqNb>{number}</ElctrncSeqNb>"
        f"<CreDtTm>{created}T18:00:00</CreDtTm>"
        "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"<TxsSummry><TtlNtries><NbOfNtries>{len(receipts)}</NbOfNtries><Sum>{total}</Sum></TtlNtries></TxsSummry>"
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>\n"
    )


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path
