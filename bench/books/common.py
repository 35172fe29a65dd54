"""What every book shares: its records, and writing them in the shared generator's file formats.

A book is customers, open invoices (credit notes with a negative amount), bank receipts and the
truth of what each receipt pays. :func:`write_book` writes them exactly as
``shared/bench/gen_receivables.py`` does (so the hub's ``csv`` mapping and camt importer read them
unchanged):

  customers.csv   customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban
  invoices.csv    invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number
  statement.xml   ISO 20022 camt.053.001.02, one credit entry (Ntry) per receipt
  truth.csv       receipt_ref,invoice_number,amount (an empty invoice_number: pays no open invoice)

and one file the shared generator does not write, for the benchmark's breakdown only:

  phenomena.csv   receipt_ref,tags   (what was done to this receipt, ``;``-separated)

The camt entries may carry more than the shared generator's: an ultimate debtor, structured
referred-document numbers, an end-to-end id, additional transaction or entry information, as banks
send them.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

TWO = Decimal("0.01")
#: Our own account the statement is for (a valid German IBAN, not the shared generator's).
OUR_IBAN = "DE02120300000000202051"


@dataclass
class Customer:
    customer_id: str
    name: str
    tax_id: str
    country: str
    currency: str
    credit_limit: Decimal
    iban: str
    parent_id: str = ""


@dataclass
class Invoice:
    number: str
    customer_id: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    amount: Decimal
    po_number: str = ""
    payment_reference: str = ""  # KID, OCR, RF...: written as a column only when a book has any


@dataclass
class Receipt:
    ref: str
    amount: Decimal
    currency: str
    payer: str
    account: str  # IBAN, or another account id (written as Othr/Id)
    text: str = ""  # RmtInf/Ustrd (cut into 140-character pieces)
    ultimate: str = ""  # UltmtDbtr/Nm
    documents: list[str] = field(default_factory=list)  # RmtInf/Strd/RfrdDocInf/Nb
    creditor_refs: list[str] = field(default_factory=list)  # RmtInf/Strd/CdtrRefInf/Ref (SCOR; RF: issuer ISO)
    end_to_end: str = "NOTPROVIDED"
    tx_info: str = ""  # AddtlTxInf
    entry_info: str = ""  # AddtlNtryInf
    booked: dt.date | None = None
    sent: Decimal | None = None  # what the payer sent, where banks deducted fees on the way (else amount)
    said: list[str] = field(default_factory=list)  # what the payer says of deductions ("abzgl. 3% Skonto")


@dataclass
class Book:
    """One generated book; ``truth`` rows are (receipt_ref, invoice_number, amount)."""

    customers: list[Customer] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    truth: list[tuple[str, str, str]] = field(default_factory=list)
    tags: dict[str, list[str]] = field(default_factory=dict)
    name: str = "book"
    today: dt.date = dt.date(2026, 10, 1)  # the statement's booking date

    def add(self, receipt: Receipt, paid: Sequence[tuple[Invoice, Decimal]], *tags: str) -> None:
        """A receipt with what it truly pays (nothing: a receipt that must stay unmatched)."""
        self.receipts.append(receipt)
        if paid:
            self.truth.extend((receipt.ref, inv.number, str(amount)) for inv, amount in paid)
        else:
            self.truth.append((receipt.ref, "", str(receipt.amount)))
        self.tags[receipt.ref] = sorted(set(tags))


def money(x: float | Decimal) -> Decimal:
    return Decimal(str(x)).quantize(TWO, rounding=ROUND_HALF_UP)


def lognormal_amount(rng: random.Random, median: float, sigma: float, low: float, high: float) -> Decimal:
    """An invoice amount: log-normal around ``median``, kept within [low, high]."""
    return money(min(max(rng.lognormvariate(math.log(median), sigma), low), high))


def zipf_weights(n: int, s: float) -> list[float]:
    """Weights 1/k^s: a few customers get most invoices, as in a real book."""
    return [1.0 / (k**s) for k in range(1, n + 1)]


def spread_dates(rng: random.Random, today: dt.date, days: int = 365) -> dt.date:
    """An issue date within the last ``days`` days, more of them recent (older ones are paid)."""
    back = int(days * (rng.random() ** 1.6))
    return today - dt.timedelta(days=max(back, 1))


_IBAN_LENGTH = {
    "DE": 22,
    "AT": 20,
    "FR": 27,
    "IT": 27,
    "ES": 24,
    "NL": 18,
    "BE": 16,
    "PL": 28,
    "CH": 21,
    "GB": 22,
    "DK": 18,
    "NO": 15,
    "SE": 24,
    "CZ": 24,
    "FI": 18,
    "LU": 20,
    "PT": 25,
    "IE": 22,
}


def iban(rng: random.Random, country: str) -> str:
    """An IBAN with correct check digits (ISO 13616); digits-only BBAN."""
    length = _IBAN_LENGTH.get(country, 22)
    bban = "".join(str(rng.randint(0, 9)) for _ in range(length - 4))
    moved = bban + "".join(str(ord(ch) - 55) for ch in country) + "00"
    return f"{country}{98 - int(moved) % 97:02d}{bban}"


def cn_account(rng: random.Random) -> str:
    """A Chinese bank account number (16 to 19 digits, no IBAN)."""
    return str(rng.choice([6, 3, 4, 1])) + "".join(str(rng.randint(0, 9)) for _ in range(rng.choice([15, 16, 18])))


def _account(number: str) -> str:
    if len(number) > 4 and number[:2].isalpha() and number[2:4].isdigit():
        return f"<DbtrAcct><Id><IBAN>{number}</IBAN></Id></DbtrAcct>"
    return f"<DbtrAcct><Id><Othr><Id>{escape(number)}</Id></Othr></Id></DbtrAcct>"


def _entry(r: Receipt, booked: str) -> str:
    day = r.booked.isoformat() if r.booked else booked
    parties = f"<Dbtr><Nm>{escape(r.payer[:140])}</Nm></Dbtr>" if r.payer else ""
    parties += _account(r.account) if r.account else ""
    if r.ultimate:
        parties += f"<UltmtDbtr><Nm>{escape(r.ultimate[:140])}</Nm></UltmtDbtr>"
    remittance = "".join(f"<Ustrd>{escape(r.text[i : i + 140])}</Ustrd>" for i in range(0, len(r.text), 140))
    if r.documents:
        remittance += "".join(
            f"<Strd><RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp><Nb>{escape(nb)}</Nb></RfrdDocInf></Strd>"
            for nb in r.documents
        )
    remittance += "".join(
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry>"
        + ("<Issr>ISO</Issr>" if ref.startswith("RF") else "")
        + f"</Tp><Ref>{escape(ref)}</Ref></CdtrRefInf></Strd>"
        for ref in r.creditor_refs
    )
    return (
        f'<Ntry><Amt Ccy="{r.currency}">{r.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{r.ref}</AcctSvcrRef><BkTxCd><Prtry><Cd>NTRF</Cd></Prtry></BkTxCd>"
        f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>{r.ref}</AcctSvcrRef>"
        f"<EndToEndId>{escape(r.end_to_end or 'NOTPROVIDED')}</EndToEndId></Refs>"
        f'<AmtDtls><TxAmt><Amt Ccy="{r.currency}">{r.amount}</Amt></TxAmt></AmtDtls>'
        f"<RltdPties>{parties}</RltdPties>"
        + (f"<RmtInf>{remittance}</RmtInf>" if remittance else "")
        + (f"<AddtlTxInf>{escape(r.tx_info[:500])}</AddtlTxInf>" if r.tx_info else "")
        + "</TxDtls></NtryDtls>"
        + (f"<AddtlNtryInf>{escape(r.entry_info[:500])}</AddtlNtryInf>" if r.entry_info else "")
        + "</Ntry>"
    )


def camt053(receipts: Sequence[Receipt], today: dt.date, label: str) -> str:
    booked = today.isoformat()
    total = sum((r.amount for r in receipts), Decimal(0))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{label}-{booked}</MsgId><CreDtTm>{booked}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{label}-STMT-{booked}</Id><CreDtTm>{booked}T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id></Acct>"
        f"<TxsSummry><TtlNtries><NbOfNtries>{len(receipts)}</NbOfNtries><Sum>{total}</Sum></TtlNtries></TxsSummry>"
        + "".join(_entry(r, booked) for r in receipts)
        + "</Stmt></BkToCstmrStmt></Document>\n"
    )


def _write_csv(path: Path, header: list[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_book(book: Book, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(
        out_dir / "customers.csv",
        ["customer_id", "name", "tax_id", "country", "currency", "credit_limit", "parent_id", "iban"],
        [
            (c.customer_id, c.name, c.tax_id, c.country, c.currency, c.credit_limit, c.parent_id, c.iban)
            for c in book.customers
        ],
    )
    references = any(i.payment_reference for i in book.invoices)
    _write_csv(
        out_dir / "invoices.csv",
        ["invoice_number", "customer_id", "issue_date", "due_date", "currency", "amount", "open_amount", "po_number"]
        + (["payment_reference"] if references else []),
        [
            (
                i.number,
                i.customer_id,
                i.issue_date.isoformat(),
                i.due_date.isoformat(),
                i.currency,
                i.amount,
                i.amount,
                i.po_number,
            )
            + ((i.payment_reference,) if references else ())
            for i in book.invoices
        ],
    )
    _write_csv(out_dir / "truth.csv", ["receipt_ref", "invoice_number", "amount"], book.truth)
    _write_csv(
        out_dir / "phenomena.csv",
        ["receipt_ref", "tags"],
        [(r.ref, ";".join(book.tags.get(r.ref, []))) for r in book.receipts],
    )
    (out_dir / "statement.xml").write_text(camt053(book.receipts, book.today, book.name.upper()), encoding="utf-8")
    (out_dir / "advice.xml").write_text(remt001(advices(book), book.today, book.name.upper()), encoding="utf-8")


# -- remittance advices -------------------------------------------------------------------------------
#
# A payer that writes "siehe Zahlungsavis", "se specifikation" or "Maksuerittely erikseen" in a payment
# sends the list of what it pays apart: an advice (ISO 20022 remt.001, or a spreadsheet). Not always:
# some never arrive. Long lists cut by the bank come with one less often, and some advices describe
# payments that are not on this statement (sent later, or to another account).

#: Words a payment says its list comes apart with.
ADVICE_SAID = re.compile(r"avis|spec|spesifikasjon|erittely|advice", re.IGNORECASE)
#: How often an advice arrives: for a payment that says one comes, for a list the bank cut or a large
#: group, and advices of payments not on the statement (per receipt).
ADVICE_SENT, ADVICE_LONG, ADVICE_ELSEWHERE = 0.85, 0.5, 0.02


@dataclass
class Advice:
    number: str
    payer: str
    account: str
    amount: Decimal
    currency: str
    date: dt.date
    documents: list[tuple[str, Decimal, Decimal | None]]  # number, amount paid (a credit note's negative), discount
    texts: list[str]


def advices(book: Book) -> list[Advice]:
    """The advices the payers of ``book`` sent (drawn with their own random numbers: the book's
    records are the same with or without them)."""
    rng = random.Random(f"advice:{book.name}:{book.today}:{len(book.receipts)}")
    paid: dict[str, list[tuple[str, Decimal]]] = {}
    for ref, number, amount in book.truth:
        if number:
            paid.setdefault(ref, []).append((number, Decimal(amount)))
    out: list[Advice] = []
    for r in book.receipts:
        lines = paid.get(r.ref)
        if not lines:
            continue
        said = ADVICE_SAID.search(" ".join((r.text, r.tx_info, r.entry_info)))
        chance = ADVICE_SENT if said else ADVICE_LONG if ("text-cut-140" in book.tags[r.ref] or len(lines) >= 6) else 0
        if rng.random() >= chance:
            continue
        number = re.search(r"Avis (\d{6})", r.text)
        sent = r.sent if r.sent is not None else r.amount
        out.append(
            Advice(
                number.group(1) if number else f"RA{r.ref}",
                r.payer,
                r.account,
                sent,
                r.currency,
                (r.booked or book.today) - dt.timedelta(days=rng.randint(0, 3)),
                _itemised(lines, sent, book.tags[r.ref]),
                list(r.said),
            )
        )
    names = {c.customer_id: c for c in book.customers}
    truly_paid = {number for _, number, _ in book.truth}
    pools = by_customer([i for i in book.invoices if i.amount > 0 and i.number not in truly_paid])
    owners = sorted(pools)
    for k in range(int(len(book.receipts) * ADVICE_ELSEWHERE)):
        c = names[rng.choice(owners)]
        docs = rng.sample(pools[c.customer_id], min(len(pools[c.customer_id]), rng.randint(2, 8)))
        out.append(
            Advice(
                f"RX{k + 1:06d}",
                c.name,
                c.iban,
                sum((i.amount for i in docs), Decimal(0)),
                c.currency,
                book.today - dt.timedelta(days=rng.randint(0, 3)),
                [(i.number, i.amount, None) for i in docs],
                [],
            )
        )
    rng.shuffle(out)
    return out


def _itemised(
    lines: list[tuple[str, Decimal]], sent: Decimal, tags: list[str]
) -> list[tuple[str, Decimal, Decimal | None]]:
    """The documents as a payer's payables system lists them: what it pays of each. A cash discount
    is taken on each invoice (its share of the whole, to the cent) and said; a deduction (a claim,
    damaged goods) is taken off the largest invoice. Anything else (an overpayment) is listed as the
    invoices are, and the lines do not add up to what was sent, as such advices do not."""
    short = sum((a for _, a in lines), Decimal(0)) - sent
    invoices = [(n, a) for n, a in lines if a > 0]
    if short <= 0 or not invoices:
        return [(n, a, None) for n, a in lines]
    if any(t in tags for t in ("skonto", "discount-2pct")):
        base = sum((a for _, a in invoices), Decimal(0))
        shares = {n: money(a * short / base) for n, a in invoices}
        largest = max(invoices, key=lambda x: x[1])[0]
        shares[largest] += short - sum(shares.values(), Decimal(0))
        return [(n, a - shares[n], shares[n]) if n in shares else (n, a, None) for n, a in lines]
    if "short-deduction" in tags:
        largest = max(invoices, key=lambda x: x[1])[0]
        return [(n, a - short if n == largest else a, None) for n, a in lines]
    return [(n, a, None) for n, a in lines]


def remt001(advices: Sequence[Advice], today: dt.date, label: str) -> str:
    """The advices as one ISO 20022 remt.001.001.04 message, an ``RmtInf`` each."""

    def info(a: Advice) -> str:
        docs = "".join(
            f"<Strd><RfrdDocInf><Tp><CdOrPrtry><Cd>{'CREN' if amount < 0 else 'CINV'}</Cd></CdOrPrtry></Tp>"
            f"<Nb>{escape(number)}</Nb></RfrdDocInf><RfrdDocAmt>"
            + (f'<DscntApldAmt><Amt Ccy="{a.currency}">{discount}</Amt></DscntApldAmt>' if discount else "")
            + f'<RmtdAmt Ccy="{a.currency}">{abs(amount)}</RmtdAmt></RfrdDocAmt></Strd>'
            for number, amount, discount in a.documents
        )
        account = (
            f"<IBAN>{escape(a.account)}</IBAN>"
            if a.account[:2].isalpha() and a.account[2:4].isdigit()
            else f"<Othr><Id>{escape(a.account)}</Id></Othr>"
        )
        return (
            f"<RmtInf><RmtId>{escape(a.number)}</RmtId>"
            + "".join(f"<Ustrd>{escape(t)}</Ustrd>" for t in a.texts if t)
            + docs
            + "<OrgnlPmtInf><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f'<Amt><InstdAmt Ccy="{a.currency}">{a.amount}</InstdAmt></Amt>'
            f"<ReqdExctnDt><Dt>{a.date.isoformat()}</Dt></ReqdExctnDt>"
            f"<Dbtr><Nm>{escape(a.payer)}</Nm></Dbtr><DbtrAcct><Id>{account}</Id></DbtrAcct>"
            "</OrgnlPmtInf></RmtInf>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:remt.001.001.04"><RmtAdvc>'
        f"<GrpHdr><MsgId>{label}-ADVICES-{today.isoformat()}</MsgId><CreDtTm>{today.isoformat()}T18:00:00</CreDtTm>"
        f"<InitgPty><Nm>{label}</Nm></InitgPty></GrpHdr>"
        + "".join(info(a) for a in advices)
        + "</RmtAdvc></Document>\n"
    )


def by_customer(invoices: Sequence[Invoice]) -> dict[str, list[Invoice]]:
    out: dict[str, list[Invoice]] = {}
    for inv in invoices:
        out.setdefault(inv.customer_id, []).append(inv)
    return out


class OpenPool:
    """A customer's open invoices (oldest first) and credit notes, and how often each amount is open: what a book's
    payments take them from."""

    def __init__(self, pool: list[Invoice]) -> None:
        self.invoices = sorted((i for i in pool if i.amount > 0), key=lambda i: i.issue_date)
        self.credits = sorted((i for i in pool if i.amount < 0), key=lambda i: i.issue_date)
        self.amounts = Counter(i.amount for i in self.invoices)

    def _taken(self, got: list[Invoice]) -> list[Invoice]:
        self.amounts.subtract(i.amount for i in got)
        return got

    def oldest(self, k: int) -> list[Invoice]:
        got = self.invoices[:k]
        del self.invoices[:k]
        return self._taken(got)

    def any(self, rng: random.Random) -> list[Invoice]:
        if not self.invoices:
            return []
        return self._taken([self.invoices.pop(rng.randrange(len(self.invoices)))])

    def since(self, day: dt.date) -> list[Invoice]:
        """The oldest open invoice issued on or after ``day``."""
        at = len(self.invoices)
        while at and self.invoices[at - 1].issue_date >= day:
            at -= 1
        return self._taken([self.invoices.pop(at)]) if at < len(self.invoices) else []

    def credit(self, until: dt.date | None = None) -> Invoice | None:
        """The oldest open credit note (issued by ``until``)."""
        if not self.credits or (until and self.credits[0].issue_date > until):
            return None
        return self.credits.pop(0)


def take_open(
    rng: random.Random, pool: list[Invoice], used: set[str], k: int, oldest_first: bool = True
) -> list[Invoice]:
    """Up to ``k`` of a customer's invoices not yet paid: the oldest (how most payers pay) or any."""
    free = [i for i in pool if i.number not in used and i.amount > 0]
    if not oldest_first:
        rng.shuffle(free)
    got = free[:k]
    used.update(i.number for i in got)
    return got


def ocr(rng: random.Random, text: str, rate: float = 0.5) -> str:
    """OCR or typing confusions: 0->O, 1->I or l, 5->S, 8->B, each digit with probability ``rate``."""
    table = {"0": "O", "1": rng.choice("Il"), "5": "S", "8": "B"}
    out = [table[ch] if ch in table and rng.random() < rate else ch for ch in text]
    if out == list(text):  # at least one confusion where there is one to make
        for i, ch in enumerate(text):
            if ch in table:
                out[i] = table[ch]
                break
    return "".join(out)


def fold_ascii(text: str) -> str:
    """What a bank that only sends ASCII makes of a name: Łódź -> LODZ, ß -> SS, ø -> O, æ -> AE."""
    import unicodedata

    special = str.maketrans(
        {
            "ł": "l",
            "Ł": "L",
            "ß": "ss",
            "ø": "o",
            "Ø": "O",
            "æ": "ae",
            "Æ": "AE",
            "đ": "d",
            "Đ": "D",
            "œ": "oe",
            "Œ": "OE",
            "þ": "th",
            "å": "aa",
            "Å": "AA",
        }
    )
    text = unicodedata.normalize("NFKD", text.translate(special))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).upper()
