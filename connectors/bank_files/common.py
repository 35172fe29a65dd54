"""What every statement reader shares: the receipt record, the file summary and the stable key.

Every format's reader (camt, MT940/MT942, BAI2, OFX, CSV/XLSX exports) is a class built as
``Reader(path, *, max_bytes=...)`` that reads nothing until iterated, yields one receipt dict per
transaction with exactly the keys of :data:`RECEIPT_FIELDS`, and fills :attr:`summary` (a
:class:`StatementSummary`) while it goes, complete once iteration ends. Every problem with the
file is a :class:`~hub.errors.StatementError` naming the file, the position and the reason.

Receipt values are plain JSON: amounts are decimal strings without sign (``direction`` says
``credit`` or ``debit``), dates ISO ``YYYY-MM-DD``, ``references`` a list of
``{"type", "value", "issuer"}`` dicts and ``additional_remittance`` a list of strings.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from hub import StatementError

RECEIPT_FIELDS: tuple[str, ...] = (
    "external_id",  # the stable key: "<account>:<bank_ref>" or "h:<content hash>" (see ReceiptKeys)
    "bank_ref",  # the bank's own reference of the transaction (camt AcctSvcrRef, MT940 :61: //ref ...)
    "statement_id",
    "statement_seq",  # statement (sequence) number: camt ElctrncSeqNb / LglSeqNb, MT940 :28C:
    "message_id",
    "account",  # the statement's own account (IBAN or other id)
    "account_currency",
    "booking_date",
    "value_date",
    "amount",  # what the receipt moved on the account, unsigned
    "currency",
    "entry_amount",
    "entry_currency",
    "tx_amount",
    "tx_currency",
    "instructed_amount",
    "instructed_currency",
    "direction",  # "credit" or "debit"
    "reversal",  # bool: a reversal (storno) of an earlier booking
    "status",
    "bank_tx_code",
    "payer_name",  # the counterparty: debtor of a credit, creditor of a debit
    "payer_account",
    "ultimate_payer_name",
    "payer_bic",
    "remittance",  # unstructured remittance text, lines joined with "\n"
    "references",  # structured references: [{"type": "SCOR" | "QRR" | "ESR" | "RF" | ..., "value", "issuer"}]
    "additional_remittance",
    "end_to_end_id",
    "instruction_id",
    "tx_id",
    "mandate_id",
    "uetr",
    "additional_entry_info",
    "additional_tx_info",
    "return_reason",
    "purpose",
)

_EMPTY: dict[str, Any] = dict.fromkeys(RECEIPT_FIELDS)
_EMPTY["reversal"] = False


def element_text(el: Any) -> str | None:
    """An XML element's own text, stripped; None where it has none (camt statements, remt advices)."""
    text = el.text
    if text:
        text = text.strip()
    return text or None


def new_receipt(**values: Any) -> dict[str, Any]:
    """A receipt dict with every field, empty but for ``values`` (unknown names are an error)."""
    unknown = values.keys() - _EMPTY.keys()
    if unknown:
        raise TypeError(f"not receipt fields: {sorted(unknown)}")
    r = {**_EMPTY, "references": [], "additional_remittance": []}
    r.update(values)
    return r


@dataclass
class StatementSummary:
    """What a file held; a reader fills it while it is read, complete at the end."""

    format: str = ""  # "camt", "mt940", "bai2", "ofx", "tabular"
    message_type: str = ""  # "camt.053.001.02", "MT940", "MT942", "BAI2", "OFX 1.02", "csv:icbc" ...
    statements: int = 0  # statements, notifications, reports, accounts of a BAI2 or OFX file
    entries: int = 0  # booked entries (a batch entry counts once)
    receipts: int = 0  # dicts yielded
    totals: dict[str, Decimal] = field(default_factory=dict)  # per currency: credits minus debits
    warnings: list[str] = field(default_factory=list)

    def reset(self, fmt: str) -> None:
        """Empty in place, so a reference taken before iterating stays live."""
        self.format, self.message_type = fmt, ""
        self.statements = self.entries = self.receipts = 0
        self.totals.clear()
        self.warnings.clear()

    def count(self, receipt: dict[str, Any]) -> None:
        """Add one yielded receipt to the count and to its currency's total."""
        self.receipts += 1
        amount = Decimal(receipt["amount"])
        ccy = receipt["currency"]
        self.totals[ccy] = self.totals.get(ccy, Decimal(0)) + (amount if receipt["direction"] == "credit" else -amount)


class StatementReader(Protocol):
    """The shape of every format's reader (see the module docstring)."""

    path: Path
    summary: StatementSummary

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = ...) -> None: ...

    def __iter__(self) -> Iterator[dict[str, Any]]: ...


def content_key(
    account: str | None,
    booking_date: str | None,
    amount: str | None,
    currency: str | None,
    payer_name: str | None,
    payer_account: str | None,
    text: str | None,
) -> str:
    """The key of a receipt without a bank reference: a hash of what identifies it on the account."""
    parts = [
        account or "",
        booking_date or "",
        amount or "",
        currency or "",
        payer_name or "",
        payer_account or "",
        text or "",
    ]
    return "h:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


class ReceiptKeys:
    """Give each receipt of one file its stable ``external_id``, the key re-imports de-duplicate on.

    The bank's reference on the account when there is one (``<account>:<bank_ref>``), else a hash of
    account, booking date, amount, currency, counterparty and text. Two receipts of one file with
    the same hash (same payer, amount, day and text, no reference) are both real: the second gets
    ``:2``, the third ``:3``... in file order, so re-reading the file gives the same keys.

    Banks do reuse references (MT940 files with one reference for a whole batch, ``55555`` in a
    German sample): a reference seen before in the file keys the later receipt by reference *and*
    content hash, with a warning, so different bookings stay apart and none is lost, while an
    identical booking listed twice is still stored once.
    """

    def __init__(self, summary: StatementSummary) -> None:
        self.summary = summary
        self._refs: dict[str, tuple[Any, ...]] = {}  # key -> what identifies its first receipt
        self._hashes: set[str] = set()

    def assign(self, r: dict[str, Any], position: str | int) -> None:
        """Set ``r["external_id"]``; ``position`` (a text, or a line number) only names the receipt
        in warnings (a line number is formatted only then: the common case needs no text)."""
        r["external_id"] = self.key(
            r["account"],
            r["bank_ref"],
            r["booking_date"],
            r["amount"],
            r["currency"],
            r["payer_name"],
            r["payer_account"],
            r["remittance"],
            position,
        )

    def key(
        self,
        account: str | None,
        ref: str | None,
        booking_date: str | None,
        amount: str | None,
        currency: str | None,
        payer_name: str | None,
        payer_account: str | None,
        remittance: str | None,
        position: str | int,
    ) -> str:
        """The key of the next receipt of the file, from the fields that identify it (see ``assign``)."""
        account = account or ""
        if ref:
            content = (booking_date, amount, currency, payer_name, payer_account, remittance)
            return self.ref_key(f"{account}:{ref}", ref, account, content, position)
        key = content_key(account, booking_date, amount, currency, payer_name, payer_account, remittance)
        if key in self._hashes:
            n = 2
            while f"{key}:{n}" in self._hashes:
                n += 1
            key = f"{key}:{n}"
        self._hashes.add(key)
        return key

    def ref_key(self, key: str, ref: str, account: str | None, content: tuple[Any, ...], position: str | int) -> str:
        """``key`` of a receipt with a bank reference (``<account>:<ref>``, from :meth:`key`), given
        ``content``: what identifies it (booking date, amount, currency, payer name and account, text)."""
        first = self._refs.setdefault(key, content)
        if first is content:
            return key
        if first == content:
            self.summary.warnings.append(
                f"{_position(position)}: the booking with bank reference {ref!r} is listed twice in this "
                "file; stored once"
            )
            return key
        key = f"{key}:{content_key(account or '', *content)[2:18]}"
        self._refs.setdefault(key, content)
        self.summary.warnings.append(
            f"{_position(position)}: bank reference {ref!r} appears more than once in this file; "
            "this receipt is keyed by reference and content"
        )
        return key


def _position(position: str | int) -> str:
    return f"line {position}" if isinstance(position, int) else position


def read_limited(path: Path, max_bytes: int) -> bytes:
    """A whole (small-format) file's bytes, refused with a StatementError above ``max_bytes``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise StatementError(str(path), None, f"file is {size} bytes, above the limit of {max_bytes}")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise StatementError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise StatementError(str(path), None, f"file is above the limit of {max_bytes} bytes")
    return data


def xml_head_text(head: bytes) -> str:
    """The first bytes of an XML file as text: UTF-16 (with a BOM or detected from ``<`` and NUL
    bytes), else UTF-8."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", errors="replace")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", errors="replace")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def skip_prolog(text: str, pos: int = 0, blanks: str = " \t\r\n\ufeff") -> tuple[int, bool]:
    """Where the white space, XML declaration, processing instructions and comments from ``pos``
    end, and whether they end inside ``text`` (False: one runs past its end, or ``text`` ends first)."""
    end = len(text)
    while True:
        while pos < end and text[pos] in blanks:
            pos += 1
        if pos >= end:
            return pos, False
        if text.startswith("<?", pos):
            close, length = text.find("?>", pos + 2), 2
        elif text.startswith("<!--", pos):
            close, length = text.find("-->", pos + 4), 3
        else:
            return pos, True
        if close < 0:
            return pos, False
        pos = close + length


def xml_prolog_problem(head: bytes, *, whole: bool) -> str | None:
    """Why the part of an XML file before its root element is refused, else None.

    Only the XML declaration, processing instructions, comments and white space may precede the
    root element; a DOCTYPE (the only place entities can be declared) never reaches a parser.
    ``whole``: ``head`` is the whole file; otherwise a prolog running past it is refused too.
    """
    text = xml_head_text(head)
    pos, ended = skip_prolog(text)
    if not ended:
        return None if whole else f"more than {len(head)} bytes before the root element"
    if text.startswith("<!", pos):
        return "DTDs and entity declarations are not allowed in bank statements"
    return None  # the root element (or garbage the parser will report)
