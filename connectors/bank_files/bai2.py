"""BAI2 (cash management balance reporting, version 2) reader: one receipt per ``16`` transaction detail.

Use::

    reader = Bai2Reader(path)            # nothing is read yet
    for receipt in reader:               # one dict per 16 record with a credit or debit type code
        ...
    reader.summary                       # StatementSummary, complete once iteration ends

What the PyPI ``bai2`` library (0.15) is used for, and why not its parser: we take its vocabulary,
which is sound -- the record codes (:class:`bai2.constants.RecordCode`), the funds types
(:class:`~bai2.constants.FundsType`), the type-code table with each code's description and side
(``bai2.constants.TypeCodes``) and its ``YYMMDD`` date parsing (:func:`bai2.utils.parse_date`). Its
parser (``bai2.bai2.parse_from_string``, also with ``check_integrity=False``) is not used, because on
real files it fails exactly where the records are split and joined, the layer every other part
rests on:

* it takes each physical line as one record, so a file with several records on one line
  (``.../ 16,142,...``) fails with a ValueError;
* it joins an ``88`` continuation onto the previous field without a separator whenever the comma
  count before the ``/`` happens to be a multiple of four, so ``...,190/`` + ``88,500000,...`` in the
  BAI2 specification's own sample becomes type code ``190500000`` (NotSupportedYetException);
* it glues the ``88`` lines of a transaction text together with spaces, so tagged lines such as
  ``REMI: ...`` / ``EREF: ...`` can no longer be told apart from free text;
* any type code missing from its table raises, although 900-999 are the banks' own codes;
* its errors carry no line numbers, and its integrity checks are all-or-nothing exceptions.

So records, fields and continuations are read here (see :func:`_lex` and :class:`_Fields`):

* a record starts with a record code and a comma at the start of a line or right after a record's
  ``/`` terminator; a ``/`` ends a record when only blanks or the next record follow it. Inside a
  transaction text (a ``16`` record and its ``88`` continuations) the next record must be set off by
  at least one blank, so ``08/18/23`` or ``AB/GS/RP0001`` in a reference or a text survive;
* an ``88`` continuation starts a new field (the ``/`` before it ends the field); in a ``16`` record
  each ``88`` after the start of the text field is a new text line, joined with ``"\\n"``, except
  when the previous line filled the whole physical record (80 characters, or the length declared
  in the ``01`` header) -- then the text was wrapped mid-word and continues without a separator;
* a line that starts with no record code (a record broken over two lines) continues the record
  before it, with a warning; ``88:`` instead of ``88,`` is read as a continuation, with a warning;
* funds types ``S`` (three amounts), ``V`` (value date, time) and ``D`` (count, then day/amount
  pairs) are read so that the bank and customer references after them land in the right fields.

Receipts: ``amount`` is the ``16`` amount in the currency's minor units made a decimal string
(two implied decimals unless the currency has 0 or 3, e.g. JPY or KWD); ``currency`` the ``03``
account's currency, else the ``02`` group's, else USD; ``direction`` from the BAI type-code ranges
(credits 100-399 and the banks' 920-959, debits 400-699 and 960-999; a code outside them is
read from the library's table when it names a side, with a warning, and otherwise is not a
receipt, with a warning); ``booking_date`` the group's as-of date; ``value_date`` the ``V`` funds
type's date; ``bank_ref`` and ``tx_id`` the bank and customer reference numbers;
``additional_entry_info`` the type code's description; ``additional_tx_info`` the whole text.
Tagged text lines are split (Goldman Sachs ``REMI:``, ``EREF:``, ``DBNM:``, ...; Citi UK ``PY:``,
``TRID:``, ``BO:``/``BO1:``, ``OB:``/``OB3:``, ...; see :func:`_read_text`); untagged lines are the
remittance when no ``REMI``/``PY`` tag gives one.

The file's own control totals and counts (``49``, ``98``, ``99``) are checked here: a mismatch is a
warning naming it (``account 123: trailer 49 says 12 records, file has 11``), never a failure. A
file that cannot be read as BAI2 raises :class:`~hub.errors.StatementError` with ``line N``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bai2.constants import FundsType, RecordCode, TypeCodes, TypeCodeTransaction
from bai2.utils import parse_date

from hub import StatementError

from .common import ReceiptKeys, StatementSummary, new_receipt, read_limited

DEFAULT_MAX_BYTES = 256 * 1024 * 1024

#: The physical record length when the 01 header declares none (the 80 columns of the card era,
#: still what NatWest wraps its 88 texts at).
DEFAULT_RECORD_LENGTH = 80

_CODES = "|".join(code.value for code in RecordCode)  # 01|02|03|16|49|88|98|99
_RECORD = re.compile(rf"(?:{_CODES}),")
_ANY_CODE = re.compile(r"[0-9]{2},")
# A "/" that ends a record: blanks and the end of the line, or the next record after it.
_END = re.compile(rf"/[ \t]*(?:$|(?=(?:{_CODES}),))")
# The same inside a transaction text, where the next record must be set off by a blank.
_END_IN_TEXT = re.compile(rf"/(?:[ \t]*$|[ \t]+(?=(?:{_CODES}),))")
_LINES = re.compile(r"\r\n|\r|\n")
_DETECT = re.compile(rb"01,[^,\r\n]*,[^,\r\n]*,[0-9]{6},")

_TYPE_CODE = re.compile(r"[0-9]{3}")
# At most 30 digits: far above any amount, and below what int() refuses to convert.
_UNSIGNED = re.compile(r"\+?[0-9]{1,30}")
_SIGNED = re.compile(r"[+-]?[0-9]{1,30}")
_DATE = re.compile(r"[0-9]{6}")
_CURRENCY = re.compile(r"[A-Z]{3}")

#: ISO 4217 currencies without two minor-unit digits (BAI2 amounts carry the currency's decimals implied).
_DECIMALS = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}

_SIDES = {TypeCodeTransaction.credit: "credit", TypeCodeTransaction.debit: "debit"}
_FUNDS_TYPES = {ft.value for ft in FundsType}
#: The most distributions a ``D`` funds type may announce (the spec's examples have a handful).
_MAX_DISTRIBUTIONS = 1000

# -- tagged transaction texts -----------------------------------------------------------------------

_TAG_LINE = re.compile(r"([A-Z][A-Z0-9]{1,3}):[ \t]?(.*)", re.DOTALL)
#: Tags read into receipt fields or kept as references; any other "XXXX:" line is free text.
_GOLDMAN_TAGS = frozenset(
    {"REMI", "EREF", "DBNM", "CRNM", "DACT", "CACT", "DBIC", "CBIC", "DABA", "CABA", "CREF", "IDNM", "CHKN"}
)
_CITI_TAGS = frozenset({"FR", "ENDT", "TRID", "PY", "BI", "OB", "BO"})
_SUB_TAGGED = frozenset({"OB", "BO"})  # Citi puts "OB3:" inside the "OB:" line, "BO1:" inside "BO:"
_REMITTANCE_TAGS = ("REMI", "PY")
#: The parties of a transaction (names, accounts, bank ids of either side): receipt fields, not references.
_PARTY_TAGS = frozenset({"DBNM", "CRNM", "DACT", "CACT", "DBIC", "CBIC", "DABA", "CABA"})
_LOCKBOX = re.compile(r"\bLOCK ?BOX\b[ \t]*(?:NO\b\.?|NUMBER\b|#)?[ \t:]*([A-Z0-9][A-Z0-9-]*)", re.IGNORECASE)
_SORT_CODE = re.compile(r"([0-9]{6})\b")
_ACCOUNT_NUMBER = re.compile(r"([0-9]{6,})\b")


def detect_bai2(head: bytes) -> bool:
    """True when the first bytes are a BAI2 file: a ``01`` file header record first (after a BOM or blanks).

    Decided from content: ``01,<sender>,<receiver>,<YYMMDD>,`` must open the file.
    """
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return _DETECT.match(head.lstrip()) is not None


# -- records ----------------------------------------------------------------------------------------


@dataclass
class _Part:
    """One physical record: the primary record or one of its 88 continuations."""

    line: int
    body: str
    width: int | None  # length of the physical line when the part fills it and has no "/", else None


@dataclass
class _Record:
    """A logical record: its code and the physical records (parts) it spans."""

    code: str
    line: int
    parts: list[_Part]


def _lex(text: str, error: Callable[[str | None, str], StatementError], warnings: list[str]) -> list[_Record]:
    """The file's logical records (a record with its 88 continuations), with line numbers."""
    records: list[_Record] = []
    current: _Record | None = None
    for number, line in enumerate(_LINES.split(text), 1):
        pos = len(line) - len(line.lstrip())
        if pos == len(line):
            continue
        whole_line = True  # the part being read started at the start of the line
        if _RECORD.match(line, pos):
            code, pos = line[pos : pos + 2], pos + 3
            if code == RecordCode.continuation.value:
                if current is None:
                    raise error(f"line {number}", "88 continuation record with no record before it")
                current.parts.append(part := _Part(number, "", None))
            else:
                current = _Record(code, number, [part := _Part(number, "", None)])
                records.append(current)
        elif line.startswith("88:", pos) and current is not None:
            warnings.append(f"line {number}: '88:' read as the continuation record '88,'")
            pos += 3
            current.parts.append(part := _Part(number, "", None))
        elif _ANY_CODE.match(line, pos):
            raise error(
                f"line {number}",
                f"unknown record code {line[pos : pos + 2]!r} (BAI2 records are "
                f"{', '.join(code.value for code in RecordCode)})",
            )
        elif current is None:
            raise error(f"line {number}", "not a BAI2 record: a record starts with its two-digit code and a comma")
        else:
            # A record broken over two lines: the line continues the record before it.
            warnings.append(
                f"line {number}: the line starts with no record code; read as the continuation of "
                f"the record on line {current.parts[-1].line}"
            )
            part = current.parts[-1]
            separator = "" if part.width == DEFAULT_RECORD_LENGTH else " "
            part.body += separator
            part.width = None
            whole_line = False
        while True:
            in_text = current is not None and current.code == RecordCode.transaction_detail.value
            end = (_END_IN_TEXT if in_text else _END).search(line, pos)
            if end is None:
                part.body += line[pos:]
                if whole_line:
                    part.width = len(line)
                break
            part.body += line[pos : end.start()]
            pos = end.end()
            if pos >= len(line):
                break
            # The next record on the same line (the terminator's lookahead found its code).
            code, pos = line[pos : pos + 2], pos + 3
            whole_line = False
            if code == RecordCode.continuation.value:
                assert current is not None
                current.parts.append(part := _Part(number, "", None))
            else:
                current = _Record(code, number, [part := _Part(number, "", None)])
                records.append(current)
    return records


class _Fields:
    """The comma-separated fields of a record across its parts (each 88 continuation starts a new field)."""

    def __init__(self, parts: list[_Part]) -> None:
        self.parts = parts
        self.split = [p.body.split(",") for p in parts]
        self.i = 0  # part
        self.j = 0  # field within the part

    def next(self) -> str | None:
        """The next field, stripped; None when the record has no more fields."""
        while self.i < len(self.split):
            fields = self.split[self.i]
            if self.j < len(fields):
                self.j += 1
                return fields[self.j - 1].strip()
            self.i += 1
            self.j = 0
        return None

    def text_lines(self) -> list[tuple[str, _Part]]:
        """The rest of the record as text: the rest of the current part (commas kept), then each later part."""
        lines = []
        if self.i < len(self.split) and self.j < len(self.split[self.i]):
            lines.append((",".join(self.split[self.i][self.j :]), self.parts[self.i]))
        lines.extend((p.body, p) for p in self.parts[self.i + 1 :])
        self.i = len(self.split)
        return lines


# -- the reader ---------------------------------------------------------------------------------------


@dataclass
class _Group:
    line: int
    number: int
    as_of: str
    currency: str
    records: int = 0
    accounts: int = 0
    totals: int = 0  # the account trailers' control totals


@dataclass
class _Account:
    line: int
    number: str
    currency: str
    statement_id: str
    records: int = 0
    total: int = 0  # summary amounts and detail amounts


@dataclass
class _File:
    file_id: str | None
    record_length: int
    records: int = 0
    groups: int = 0
    totals: int = 0  # the group trailers' control totals
    accounts: int = 0
    group: _Group | None = None
    account: _Account | None = None
    done: bool = False
    last_line: int = 0


class Bai2Reader:
    """Iterate a BAI2 file's receipts (one per credit or debit ``16`` record); :attr:`summary` fills as it goes.

    Each receipt has exactly the keys of :data:`~hub_connectors.bank_files.common.RECEIPT_FIELDS`.
    Nothing is read before the first ``next()``; the whole file is read then (at most ``max_bytes``).
    Every problem with the file raises :class:`~hub.errors.StatementError` (``line N``), possibly
    after some receipts were yielded; wrong control totals or record counts are warnings.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.max_bytes = max_bytes
        self.summary = StatementSummary()
        self._keys = ReceiptKeys(self.summary)

    def _error(self, position: str | None, reason: str) -> StatementError:
        return StatementError(self.file, position, reason)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        s = self.summary  # reset in place: a reference taken before iterating stays live
        s.reset("bai2")
        s.message_type = "BAI2"
        self._keys = ReceiptKeys(s)
        data = read_limited(self.path, self.max_bytes)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")  # BAI2 is ASCII; a stray byte must not make the file unreadable
        text = text.removeprefix("\ufeff")
        records = _lex(text, self._error, s.warnings)
        if not records:
            raise self._error(None, "empty file: no BAI2 records")
        yield from self._walk(records)

    # -- structure ---------------------------------------------------------------------------------

    def _walk(self, records: list[_Record]) -> Iterator[dict[str, Any]]:
        first = records[0]
        if first.code != RecordCode.file_header.value:
            raise self._error(
                f"line {first.line}", f"a BAI2 file starts with a 01 file header, not a {first.code} record"
            )
        f = self._file_header(first)
        for rec in records[1:]:
            where = f"line {rec.line}"
            f.last_line = rec.parts[-1].line
            if f.done:
                raise self._error(where, f"{rec.code} record after the 99 file trailer")
            n = len(rec.parts)
            f.records += n
            code = rec.code
            if code == RecordCode.transaction_detail.value:
                if f.account is None:
                    raise self._error(where, "16 transaction detail outside an account (no 03 record before it)")
                f.account.records += n
                self.summary.entries += 1
                receipt = self._detail(rec, f)
                if receipt is not None:
                    self.summary.count(receipt)
                    yield receipt
            elif code == RecordCode.account_identifier.value:
                if f.group is None:
                    raise self._error(where, "03 account record outside a group (no 02 record before it)")
                if f.account is not None:
                    raise self._error(
                        where,
                        f"03 account record before the 49 trailer of account "
                        f"{f.account.number} (line {f.account.line})",
                    )
                f.account = self._account(rec, f)
                f.account.records += n
                self.summary.statements += 1
            elif code == RecordCode.account_trailer.value:
                if f.account is None:
                    raise self._error(where, "49 account trailer without an account")
                f.account.records += n
                assert f.group is not None
                f.group.records += f.account.records
                self._account_trailer(rec, f.account, f.group)
                f.account = None
            elif code == RecordCode.group_header.value:
                if f.group is not None:
                    raise self._error(
                        where, f"02 group header before the 98 trailer of the group on line {f.group.line}"
                    )
                f.groups += 1
                f.group = self._group_header(rec, f.groups)
                f.group.records += n
            elif code == RecordCode.group_trailer.value:
                if f.account is not None:
                    raise self._error(
                        where,
                        f"98 group trailer before the 49 trailer of account {f.account.number} (line {f.account.line})",
                    )
                if f.group is None:
                    raise self._error(where, "98 group trailer without a group")
                f.group.records += n
                self._group_trailer(rec, f.group, f)
                f.group = None
            elif code == RecordCode.file_trailer.value:
                if f.group is not None:
                    raise self._error(
                        where, f"99 file trailer before the 98 trailer of the group on line {f.group.line}"
                    )
                self._file_trailer(rec, f)
                f.done = True
            else:  # a second 01
                raise self._error(where, "second 01 file header")
        if not f.done:
            raise self._error(f"line {f.last_line}", "the file ends before its 99 file trailer (truncated?)")

    def _file_header(self, rec: _Record) -> _File:
        fields = _Fields(rec.parts)
        values = [fields.next() for _ in range(8)]
        _sender, _receiver, created, _time, file_id, length, _block, version = values
        if version != "2":
            found = f"version {version!r}" if version else "no version number"
            raise self._error(f"line {rec.line}", f"the 01 file header has {found}; only BAI version 2 is read")
        self._date(created, rec.line, "01 file creation date")
        record_length = int(length) if length and _UNSIGNED.fullmatch(length) else 0
        record_length = record_length or DEFAULT_RECORD_LENGTH
        f = _File(file_id or None, record_length)
        f.records = len(rec.parts)
        f.last_line = rec.parts[-1].line
        return f

    def _group_header(self, rec: _Record, number: int) -> _Group:
        fields = _Fields(rec.parts)
        _receiver, originator, status, as_of, _time, currency, _modifier = (fields.next() for _ in range(7))
        booking = self._date(as_of, rec.line, "02 group as-of date")
        if booking is None:
            raise self._error(f"line {rec.line}", "02 group header without an as-of date")
        if status in ("2", "3", "4"):
            kind = {"2": "a deletion", "3": "a correction", "4": "test only"}[status]
            self.summary.warnings.append(
                f"line {rec.line}: group {number} ({originator}) is marked {kind} (group status {status})"
            )
        return _Group(rec.line, number, booking, self._currency(currency, "USD", rec.line))

    def _account(self, rec: _Record, f: _File) -> _Account:
        assert f.group is not None
        fields = _Fields(rec.parts)
        number = fields.next() or ""
        currency = self._currency(fields.next(), f.group.currency, rec.line)
        f.accounts += 1
        account = _Account(rec.line, number, currency, f"{f.file_id or ''}:{f.accounts}")
        while (code := fields.next()) is not None:
            if not code:
                continue  # an empty summary, or the comma some banks put before the "/"
            if not _TYPE_CODE.fullmatch(code):
                raise self._error(f"line {rec.line}", f"03 summary type code {code!r} is not a 3-digit BAI type code")
            amount = self._int(fields.next(), _SIGNED, rec.line, f"03 amount of type code {code}")
            self._int(fields.next(), _UNSIGNED, rec.line, f"03 item count of type code {code}")
            self._availability(fields, rec.line, f"03 type code {code}")
            account.total += amount or 0
        return account

    def _account_trailer(self, rec: _Record, account: _Account, group: _Group) -> None:
        fields = _Fields(rec.parts)
        total = self._trailer_int(fields.next(), rec.line, "49 account control total")
        records = self._trailer_int(fields.next(), rec.line, "49 number of records")
        where = f"line {rec.line}: account {account.number}"
        if total is not None and total != account.total:
            self.summary.warnings.append(
                f"{where}: trailer 49 says control total {total}, the account's amounts add up to {account.total}"
            )
        if records is not None and records != account.records:
            self.summary.warnings.append(f"{where}: trailer 49 says {records} records, file has {account.records}")
        group.accounts += 1
        group.totals += account.total if total is None else total

    def _group_trailer(self, rec: _Record, group: _Group, f: _File) -> None:
        fields = _Fields(rec.parts)
        total = self._trailer_int(fields.next(), rec.line, "98 group control total")
        accounts = self._trailer_int(fields.next(), rec.line, "98 number of accounts")
        records = self._trailer_int(fields.next(), rec.line, "98 number of records")
        where = f"line {rec.line}: group {group.number}"
        if total is not None and total != group.totals:
            self.summary.warnings.append(
                f"{where}: trailer 98 says control total {total}, its account trailers add up to {group.totals}"
            )
        if accounts is not None and accounts != group.accounts:
            self.summary.warnings.append(f"{where}: trailer 98 says {accounts} accounts, file has {group.accounts}")
        if records is not None and records != group.records:
            self.summary.warnings.append(f"{where}: trailer 98 says {records} records, file has {group.records}")
        f.totals += group.totals if total is None else total

    def _file_trailer(self, rec: _Record, f: _File) -> None:
        fields = _Fields(rec.parts)
        total = self._trailer_int(fields.next(), rec.line, "99 file control total")
        groups = self._trailer_int(fields.next(), rec.line, "99 number of groups")
        records = self._trailer_int(fields.next(), rec.line, "99 number of records")
        where = f"line {rec.line}: file"
        if total is not None and total != f.totals:
            self.summary.warnings.append(
                f"{where}: trailer 99 says control total {total}, its group trailers add up to {f.totals}"
            )
        if groups is not None and groups != f.groups:
            self.summary.warnings.append(f"{where}: trailer 99 says {groups} groups, file has {f.groups}")
        if records is not None and records != f.records:
            self.summary.warnings.append(f"{where}: trailer 99 says {records} records, file has {f.records}")

    # -- transaction details -----------------------------------------------------------------------

    def _detail(self, rec: _Record, f: _File) -> dict[str, Any] | None:
        account, group = f.account, f.group
        assert account is not None and group is not None
        where = f"line {rec.line}"
        fields = _Fields(rec.parts)
        code = fields.next() or ""
        if not _TYPE_CODE.fullmatch(code):
            raise self._error(where, f"16 type code {code!r} is not a 3-digit BAI type code")
        raw_amount = fields.next()
        if raw_amount and raw_amount.startswith("-"):
            raise self._error(
                where,
                f"16 amount {raw_amount!r} is signed; BAI2 detail amounts are unsigned (the type code gives the side)",
            )
        amount = self._int(raw_amount, _UNSIGNED, rec.line, "16 amount")
        value_date = self._availability(fields, rec.line, "16 record")
        bank_ref, customer_ref = fields.next(), fields.next()
        lines = fields.text_lines()
        account.total += amount or 0
        direction = self._direction(code, rec.line)
        if direction is None:
            return None
        if amount is None:
            raise self._error(where, "16 transaction detail without an amount")
        currency = account.currency
        amount_text = str(Decimal(amount).scaleb(-_DECIMALS.get(currency, 2)))
        text = _read_text(lines, f.record_length, direction)
        if customer_ref:
            text["tx_id"] = customer_ref  # else Citi's TRID tag, if any
        r = new_receipt(
            bank_ref=bank_ref or None,
            statement_id=account.statement_id,
            message_id=f.file_id,
            account=account.number or None,
            account_currency=currency,
            booking_date=group.as_of,
            value_date=value_date,
            amount=amount_text,
            currency=currency,
            entry_amount=amount_text,
            entry_currency=currency,
            direction=direction,
            bank_tx_code=code,
            additional_entry_info=TypeCodes[code].description if code in TypeCodes else None,
        )
        r.update(text)
        self._keys.assign(r, where)
        return r

    def _direction(self, code: str, line: int) -> str | None:
        """``credit`` or ``debit`` from the BAI type-code ranges; None (with a warning) for neither."""
        n = int(code)
        if 100 <= n <= 399 or 920 <= n <= 959:
            return "credit"
        if 400 <= n <= 699 or 960 <= n <= 999:
            return "debit"
        known = TypeCodes.get(code)
        side = _SIDES.get(known.transaction) if known is not None else None
        if known is not None and side is not None:
            self.summary.warnings.append(
                f"line {line}: type code {code} is outside the BAI credit and debit ranges; "
                f"read as a {side} ({known.description})"
            )
            return side
        what = f" ({known.description})" if known else ""
        self.summary.warnings.append(
            f"line {line}: type code {code}{what} is neither a credit nor a debit (credits "
            "are 100-399 and 920-959, debits 400-699 and 960-999); the detail is not a "
            "receipt"
        )
        return None

    # -- fields ------------------------------------------------------------------------------------

    def _availability(self, fields: _Fields, line: int, what: str) -> str | None:
        """Read a funds type and the fields it brings; the value date (``V``) as ISO, else None."""
        funds = fields.next()
        if not funds:
            return None
        funds = funds.upper()
        if funds not in _FUNDS_TYPES:
            raise self._error(
                f"line {line}", f"{what}: unknown funds type {funds!r} (one of {', '.join(sorted(_FUNDS_TYPES))})"
            )
        kind = FundsType(funds)
        if kind is FundsType.distributed_availability_simple:
            for day in ("immediate", "one-day", "two-or-more-day"):
                self._int(fields.next(), _SIGNED, line, f"{what}: {day} amount of funds type S")
        elif kind is FundsType.value_dated:
            value_date = self._date(fields.next(), line, f"{what}: value date of funds type V")
            fields.next()  # the value time: not kept
            return value_date
        elif kind is FundsType.distributed_availability:
            count = self._int(fields.next(), _UNSIGNED, line, f"{what}: number of distributions of funds type D")
            if count is None or count > _MAX_DISTRIBUTIONS:
                raise self._error(
                    f"line {line}",
                    f"{what}: funds type D needs a number of distributions (0 to {_MAX_DISTRIBUTIONS}), got {count!r}",
                )
            for _ in range(count):
                self._int(fields.next(), _UNSIGNED, line, f"{what}: availability days of funds type D")
                self._int(fields.next(), _SIGNED, line, f"{what}: amount of funds type D")
        return None

    def _int(self, value: str | None, pattern: re.Pattern[str], line: int, what: str) -> int | None:
        if not value:
            return None
        if not pattern.fullmatch(value):
            raise self._error(f"line {line}", f"{what} {value!r} is not a whole number")
        return int(value)

    def _trailer_int(self, value: str | None, line: int, what: str) -> int | None:
        """A trailer's total or count; a malformed one is a warning (the file's data is still read)."""
        if not value:
            return None
        if not _SIGNED.fullmatch(value):
            self.summary.warnings.append(f"line {line}: {what} {value!r} is not a whole number; not checked")
            return None
        return int(value)

    def _date(self, value: str | None, line: int, what: str) -> str | None:
        if not value:
            return None
        if _DATE.fullmatch(value):
            try:
                day: dt.date = parse_date(value)
                return day.isoformat()
            except ValueError:
                pass
        raise self._error(f"line {line}", f"{what} {value!r} is not a date (YYMMDD)")

    def _currency(self, value: str | None, default: str, line: int) -> str:
        if not value:
            return default
        value = value.upper()
        if not _CURRENCY.fullmatch(value):
            raise self._error(f"line {line}", f"currency code {value!r} is not a 3-letter ISO 4217 code")
        return value


# -- transaction texts ---------------------------------------------------------------------------------


def _tagged(line: str) -> list[tuple[str, str]] | None:
    """The ``(tag, value)`` pairs of a tagged text line, or None for free text."""
    m = _TAG_LINE.fullmatch(line.strip())
    if m is None or (m.group(1) not in _GOLDMAN_TAGS and m.group(1) not in _CITI_TAGS):
        return None
    tag, value = m.group(1), m.group(2)
    if tag not in _SUB_TAGGED:
        return [(tag, value.strip())]
    pieces = re.split(rf"[ \t]+(?={tag}[0-9]:)", value)
    pairs = [(tag, pieces[0].strip())]
    for piece in pieces[1:]:
        sub, _, sub_value = piece.partition(":")
        pairs.append((sub, sub_value.strip()))
    return pairs


def _read_text(lines: list[tuple[str, _Part]], record_length: int, direction: str) -> dict[str, Any]:
    """Receipt fields from a transaction's text lines (the 16 text field and its 88 continuations).

    Goldman Sachs writes one ``TAG: value`` per 88 line (``REMI`` remittance, ``EREF`` end-to-end id,
    ``DBNM``/``DACT``/``DBIC`` debtor name, account and BIC, ``CRNM``/``CACT``/``CBIC`` the creditor's,
    ``CREF``, ``IDNM``, ``CHKN`` references); Citi UK Faster Payments ``TAG:value`` (``PY`` payment
    reference, ``TRID`` transaction id, ``BO:<account> BO1:<name>`` by order of, ``OB:<sort code>
    <branch> OB3:<bank>`` originating bank, ``FR``, ``ENDT``, ``BI``). The payer is the debtor of a
    credit and the creditor of a debit. Tags that are neither parties nor mapped to a field are kept
    in ``references`` with the tag as type; a lockbox number in the text is a ``lockbox`` reference.
    """
    joined: list[list[str]] = []  # text lines, each with the (wrapped) pieces it was written in
    previous: _Part | None = None
    for text, part in lines:
        if (
            previous is not None
            and previous.width == record_length
            and part is not previous
            and _tagged(text) is None
            and joined
        ):
            joined[-1].append(text)  # wrapped at the physical record length: the same line goes on
        else:
            joined.append([text])
        previous = part
    texts = [t for t in ("".join(pieces).rstrip() for pieces in joined) if t.strip()]
    tags: list[tuple[str, str]] = []
    free: list[str] = []
    for text in texts:
        pairs = _tagged(text)
        if pairs is None:
            free.append(text.strip())
        else:
            tags.extend((tag, value) for tag, value in pairs if value)
    first: dict[str, str] = {}
    for tag, value in tags:
        first.setdefault(tag, value)
    remittance = [value for tag, value in tags if tag in _REMITTANCE_TAGS] or free
    if direction == "credit":
        name, account, bic = first.get("DBNM") or first.get("BO1"), first.get("DACT"), first.get("DBIC")
        if account is None and "BO" in first:
            number = _ACCOUNT_NUMBER.match(first["BO"])
            sort_code = _SORT_CODE.match(first.get("OB", ""))
            if number:
                account = f"{sort_code.group(1)} {number.group(1)}" if sort_code else number.group(1)
    else:
        name, account, bic = first.get("CRNM"), first.get("CACT"), first.get("CBIC")
    mapped = {*_REMITTANCE_TAGS, "EREF", *_PARTY_TAGS, "OB", "BO"}
    references: list[dict[str, str | None]] = [
        {"type": tag, "value": value, "issuer": None}
        for tag, value in tags
        if tag not in mapped and not (tag[:-1] in _SUB_TAGGED and tag[-1].isdigit())
    ]
    for text in free:
        references.extend({"type": "lockbox", "value": m.group(1), "issuer": None} for m in _LOCKBOX.finditer(text))
    return {
        "payer_name": name,
        "payer_account": account,
        "payer_bic": bic,
        "remittance": "\n".join(remittance) or None,
        "references": references,
        "end_to_end_id": first.get("EREF"),
        "additional_tx_info": "\n".join(texts) or None,
        "tx_id": first.get("TRID"),
    }


def iter_bai2(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[dict[str, Any]]:
    """Yield a BAI2 file's receipts (use :class:`Bai2Reader` for the summary)."""
    yield from Bai2Reader(path, max_bytes=max_bytes)
