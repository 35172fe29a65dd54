#!/usr/bin/env python3
# Copied from the team workload tools (shared/bench) so tests and benchmarks run from a clean clone.
"""Synthetic receivables workload: customers, open invoices and a camt.053 bank statement.

Writes, into OUT_DIR:
  customers.csv   customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban
  invoices.csv    invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number
  statement.xml   ISO 20022 camt.053.001.02, one credit entry (Ntry) per receipt
  truth.csv       receipt_ref,invoice_number,amount   (one row per allocation; an empty
                  invoice_number means the receipt pays no open invoice and must stay unmatched)

Noise mix: exact references, references without prefix or with a typo, several invoices in one
payment (listed or not), partial payments, bank fees deducted, payer names that differ from the
customer master, and receipts that are not customer payments at all.

Standard library only; deterministic for a given --seed. Scale with --customers/--invoices/--receipts.
Example: python gen_receivables.py out/ --customers 2000 --invoices 40000 --receipts 8000 --seed 7
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

STEMS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
         "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Pied Piper", "Blue Sun",
         "Monarch", "Dunder", "Sterling", "Kessler", "Aurora", "Helios", "Boreal", "Quantum", "Nimbus",
         "Orion", "Atlas", "Zenith", "Falcon", "Cedar", "Harbor", "Summit", "Granite", "Silver Oak"]
TRADES = ["Logistics", "Foods", "Steel", "Textiles", "Pharma", "Motors", "Electronics", "Paper",
          "Chemicals", "Retail", "Construction", "Energy", "Plastics", "Machinery", "Software"]
SUFFIX = {"DE": "GmbH", "FR": "SARL", "NL": "B.V.", "GB": "Ltd", "US": "Inc.", "IT": "S.r.l."}
CCY = {"DE": "EUR", "FR": "EUR", "NL": "EUR", "GB": "GBP", "US": "USD", "IT": "EUR"}
TWO = Decimal("0.01")


def money(x: float) -> Decimal:
    return Decimal(str(round(x, 2))).quantize(TWO)


def iban(rng: random.Random, country: str) -> str:
    return country + f"{rng.randint(10, 99)}" + "".join(str(rng.randint(0, 9)) for _ in range(18))


def make_customers(rng: random.Random, n: int) -> list[dict]:
    out = []
    for i in range(n):
        country = rng.choice(list(SUFFIX))
        name = f"{rng.choice(STEMS)} {rng.choice(TRADES)} {SUFFIX[country]}"
        if rng.random() < 0.3:
            name = f"{rng.choice(STEMS)} {name}"
        out.append({
            "customer_id": f"C{i + 1:06d}",
            "name": name,
            "tax_id": f"{country}{rng.randint(10**8, 10**9 - 1)}",
            "country": country,
            "currency": CCY[country],
            "credit_limit": str(money(rng.choice([5, 10, 25, 50, 100, 250]) * 1000.0)),
            "parent_id": "",
            "iban": iban(rng, country),
        })
    return out


def make_invoices(rng: random.Random, customers: list[dict], n: int, today: dt.date) -> list[dict]:
    out = []
    for i in range(n):
        c = rng.choice(customers)
        issued = today - dt.timedelta(days=rng.randint(1, 200))
        amount = money(min(rng.lognormvariate(7.0, 1.1), 90000.0) + 10)
        out.append({
            "invoice_number": f"INV-{issued.year}-{i + 1:06d}",
            "customer_id": c["customer_id"],
            "issue_date": issued.isoformat(),
            "due_date": (issued + dt.timedelta(days=rng.choice([14, 30, 30, 45, 60]))).isoformat(),
            "currency": c["currency"],
            "amount": str(amount),
            "open_amount": str(amount),
            "po_number": f"PO{rng.randint(100000, 999999)}" if rng.random() < 0.4 else "",
        })
    return out


def typo(rng: random.Random, s: str) -> str:
    digits = [i for i, ch in enumerate(s) if ch.isdigit()]
    if len(digits) < 2:
        return s
    i = rng.choice(digits[:-1])
    return s[:i] + s[i + 1] + s[i] + s[i + 2:] if s[i + 1].isdigit() else s


def ref_variant(rng: random.Random, number: str) -> str:
    """How a customer writes an invoice number into a transfer."""
    r = rng.random()
    if r < 0.55:
        return number
    if r < 0.75:
        return number.replace("INV-", "").replace("-", "")
    if r < 0.88:
        return number.replace("-", " ").lower()
    return typo(rng, number)


def payer_variant(rng: random.Random, name: str) -> str:
    r = rng.random()
    if r < 0.6:
        return name
    if r < 0.8:
        return name.upper()
    return " ".join(name.split()[:-1])  # legal-form suffix dropped


def make_receipts(rng: random.Random, customers: list[dict], invoices: list[dict], n: int,
                  today: dt.date) -> tuple[list[dict], list[tuple[str, str, str]]]:
    by_id = {c["customer_id"]: c for c in customers}
    by_customer: dict[str, list[dict]] = {}
    for inv in invoices:
        by_customer.setdefault(inv["customer_id"], []).append(inv)
    unused = invoices[:]
    rng.shuffle(unused)
    used: set[str] = set()
    receipts, truth = [], []
    for k in range(n):
        ref = f"RCPT{k + 1:08d}"
        kind = rng.random()
        if kind < 0.06 or not unused:  # not a customer payment: refund, interest, unknown sender
            amount = money(rng.uniform(5, 5000))
            receipts.append({"ref": ref, "amount": amount, "ccy": rng.choice(["EUR", "USD", "GBP"]),
                             "payer": rng.choice(["TAX OFFICE REFUND", "INTEREST", "J SMITH", "CARD SETTLEMENT"]),
                             "iban": iban(rng, "DE"), "text": rng.choice(["Refund", "Interest Q3", "", "Settlement 8812"])})
            truth.append((ref, "", str(amount)))
            continue
        inv = unused.pop()
        while inv["invoice_number"] in used and unused:
            inv = unused.pop()
        used.add(inv["invoice_number"])
        cust = by_id[inv["customer_id"]]
        group = [inv]
        if kind < 0.22:  # one payment for several invoices of the same customer
            pool = [x for x in by_customer[cust["customer_id"]] if x["invoice_number"] not in used]
            for extra in pool[: rng.randint(1, 4)]:
                used.add(extra["invoice_number"])
                group.append(extra)
        alloc = [(g, Decimal(g["amount"])) for g in group]
        paid = sum(a for _, a in alloc)
        if 0.22 <= kind < 0.30:  # partial payment
            part = money(float(paid) * rng.choice([0.25, 0.5, 0.5, 0.75]))
            alloc, paid = [(inv, part)], part
        fee = Decimal(0)
        if rng.random() < 0.07:  # bank fee deducted by the payer's bank
            fee = rng.choice([Decimal("5.00"), Decimal("7.50"), Decimal("15.00")])
        amount = paid - fee if paid - fee > 0 else paid
        r = rng.random()
        if r < 0.1:
            text = ""
        elif r < 0.2 and any(g["po_number"] for g in group):
            text = "Order " + " ".join(g["po_number"] for g in group if g["po_number"])
        else:
            text = "Payment " + ", ".join(ref_variant(rng, g["invoice_number"]) for g in group)
        receipts.append({"ref": ref, "amount": amount, "ccy": cust["currency"],
                         "payer": payer_variant(rng, cust["name"]),
                         "iban": cust["iban"] if rng.random() < 0.8 else iban(rng, cust["country"]),
                         "text": text[:140]})
        for g, a in alloc:
            truth.append((ref, g["invoice_number"], str(a)))
    return receipts, truth


def camt053(receipts: list[dict], today: dt.date) -> str:
    booked = today.isoformat()
    entries = []
    for r in receipts:
        entries.append(
            f"<Ntry><Amt Ccy=\"{r['ccy']}\">{r['amount']}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>{booked}</Dt></ValDt>"
            f"<AcctSvcrRef>{r['ref']}</AcctSvcrRef><BkTxCd><Prtry><Cd>NTRF</Cd></Prtry></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{r['ref']}</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f"<AmtDtls><TxAmt><Amt Ccy=\"{r['ccy']}\">{r['amount']}</Amt></TxAmt></AmtDtls>"
            f"<RltdPties><Dbtr><Nm>{escape(r['payer'][:70])}</Nm></Dbtr><DbtrAcct><Id><IBAN>{r['iban']}</IBAN></Id></DbtrAcct></RltdPties>"
            f"<RmtInf><Ustrd>{escape(r['text'])}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>")
    total = sum(r["amount"] for r in receipts)
    return (
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>"
        f"<GrpHdr><MsgId>BENCH-{booked}</MsgId><CreDtTm>{booked}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>STMT-{booked}</Id><CreDtTm>{booked}T18:00:00</CreDtTm>"
        "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>"
        f"<TxsSummry><TtlNtries><NbOfNtries>{len(receipts)}</NbOfNtries><Sum>{total}</Sum></TtlNtries></TxsSummry>"
        + "".join(entries) + "</Stmt></BkToCstmrStmt></Document>\n")


def write_csv(path: Path, rows: list[dict] | list[tuple], header: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow([row[h] for h in header] if isinstance(row, dict) else row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--customers", type=int, default=500)
    ap.add_argument("--invoices", type=int, default=10000)
    ap.add_argument("--receipts", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--today", default="2026-11-27")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    today = dt.date.fromisoformat(a.today)
    a.out_dir.mkdir(parents=True, exist_ok=True)
    customers = make_customers(rng, a.customers)
    invoices = make_invoices(rng, customers, a.invoices, today)
    receipts, truth = make_receipts(rng, customers, invoices, a.receipts, today)
    write_csv(a.out_dir / "customers.csv", customers, list(customers[0]))
    write_csv(a.out_dir / "invoices.csv", invoices, list(invoices[0]))
    write_csv(a.out_dir / "truth.csv", truth, ["receipt_ref", "invoice_number", "amount"])
    (a.out_dir / "statement.xml").write_text(camt053(receipts, today), encoding="utf-8")
    print(f"{len(customers)} customers, {len(invoices)} invoices, {len(receipts)} receipts -> {a.out_dir}")


if __name__ == "__main__":
    main()
