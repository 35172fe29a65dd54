"""Streaming, safe reader for ISO 20022 bank-to-customer messages: camt.052, camt.053, camt.054.

Why our own parser: the Python camt libraries we tried drop remittance text, mix entry and detail
currencies, or do not read camt.054 at all. This one reads every version (.001.02 to .001.13) by
local element names, keeps entry and transaction amounts each with its currency, turns batch
entries into one receipt per transaction, and streams with ``lxml.etree.iterparse`` so a 120 MB
statement stays in bounded memory. DTDs are refused outright (no entity expansion, no external
entities, no network), files above a size limit are refused before parsing, and every problem is a
:class:`~hub.errors.StatementError` naming the file and the line.

Use::

    reader = CamtReader(path)            # nothing is read yet
    for receipt in reader:               # one dict per transaction, see below
        ...
    reader.summary                       # CamtSummary, filled progressively, complete at the end

    for receipt in iter_camt(path): ...  # the same without the summary

Amounts (``amount``, ``currency``) are what the receipt moved on the account:

* an entry with one transaction (or none) is one receipt of the *entry's* ``Amt`` and
  ``CdtDbtInd``; the detail's own amount, which banks and the ISO samples fill with other
  currencies or even ``0``, is kept in ``tx_amount`` / ``tx_currency``;
* a batch entry (several ``TxDtls``) is one receipt per transaction, of the transaction's
  ``Amt`` (else ``AmtDtls/TxAmt/Amt``) and its ``CdtDbtInd`` (else the entry's);
* a batch whose transactions do not all carry an amount is one receipt of the entry amount with
  every transaction's remittance and references, and a warning in the summary.

So per currency, the credits minus debits of a statement's receipts are its balance movement.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from hub_connectors.bank_files.common import ReceiptKeys, StatementSummary, new_receipt
from lxml import etree

from hub.errors import StatementError

DEFAULT_MAX_BYTES = 2_000_000_000
#: The part before the root element (where a DOCTYPE would be) must fit in this many bytes; it is
#: checked before parsing, and lxml's docinfo is checked again at the first event.
HEAD_BYTES = 65536

_CAMT_NS = re.compile(r"camt\.05[234]\.001\.[0-9]{2}")
_CONTAINERS = frozenset({"Stmt", "Ntfctn", "Rpt"})
_MESSAGES = {"BkToCstmrStmt": "camt.053", "BkToCstmrDbtCdtNtfctn": "camt.054", "BkToCstmrAcctRpt": "camt.052"}
_DETECT = re.compile(
    r"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\.001\.[0-9]{2}"
    r"|<(?:[A-Za-z_][\w.-]*:)?(?:BkToCstmrStmt|BkToCstmrDbtCdtNtfctn|BkToCstmrAcctRpt)[\s>]"
)
#: The only elements that raise (C-filtered) iterparse events; everything inside an entry is read
#: from its finished subtree.
_ITERPARSE_TAGS = ["{*}GrpHdr", *(f"{{*}}{name}" for name in sorted(_CONTAINERS)), "{*}Ntry"]
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+").fullmatch
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_DATE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
_DIRECTIONS = {"CRDT": "credit", "DBIT": "debit"}
_ZERO = Decimal(0)


def _head_text(head: bytes) -> str:
    """The first bytes as text: UTF-16 (with a BOM or detected from ``<`` and NUL bytes), else UTF-8."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", errors="replace")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", errors="replace")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def _prolog_problem(text: str, *, whole_file: bool) -> str | None:
    """Why the part before the root element is refused (a DTD, or too long to check), else None.

    Only the XML declaration, processing instructions, comments and white space may precede the
    root element; a DOCTYPE (the only place entities can be declared) never reaches the parser.
    """
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= end:
            return None if whole_file else f"more than {HEAD_BYTES} bytes before the root element"
        if text.startswith("<?", pos):
            close = text.find("?>", pos + 2)
            pos = close + 2 if close >= 0 else end
        elif text.startswith("<!--", pos):
            close = text.find("-->", pos + 4)
            pos = close + 3 if close >= 0 else end
        elif text.startswith("<!", pos):
            return "DTDs and entity declarations are not allowed in bank statements"
        else:
            return None  # the root element (or garbage the parser will report)


def detect_camt(head: bytes) -> bool:
    """True when the first bytes (a few KB) are a camt.052/053/054 document.

    Decided from content, never the file name: an XML document whose namespace is
    ``urn:iso:std:iso:20022:tech:xsd:camt.05[234].001.xx`` or that holds one of the three
    bank-to-customer message elements (``BkToCstmrStmt``, ``BkToCstmrDbtCdtNtfctn``, ``BkToCstmrAcctRpt``).
    """
    text = _head_text(head).lstrip()
    return text.startswith("<") and _DETECT.search(text) is not None


#: The summary of a camt file (``format`` is ``"camt"``).
CamtSummary = StatementSummary


# -- element helpers (hot path: plain functions, local names cached per tag) -----------------------

_LOCAL: dict[Any, str] = {}


def _local_slow(tag: Any) -> str:
    name = sys.intern(tag.rpartition("}")[2]) if isinstance(tag, str) else ""
    if len(_LOCAL) >= 4096:  # a hostile file cannot grow the cache without bound
        _LOCAL.clear()
    _LOCAL[tag] = name
    return name


def _text(el: Any) -> str | None:
    text = el.text
    if text:
        text = text.strip()
    return text or None


def _child(el: Any, name: str) -> Any:
    for c in el:
        if (_LOCAL.get(c.tag) or _local_slow(c.tag)) == name:
            return c
    return None


def _child_text(el: Any, name: str) -> str | None:
    if el is None:
        return None
    for c in el:
        if (_LOCAL.get(c.tag) or _local_slow(c.tag)) == name:
            return _text(c)
    return None


def _code(el: Any) -> str | None:
    """``Cd`` else ``Prtry`` (a code-or-proprietary choice such as ``CdOrPrtry`` or ``Rsn``)."""
    if el is None:
        return None
    return _child_text(el, "Cd") or _child_text(el, "Prtry")


def _account_id(acct: Any) -> str | None:
    """``Id/IBAN`` else ``Id/Othr/Id`` of an account element."""
    ident = _child(acct, "Id") if acct is not None else None
    if ident is None:
        return None
    return _child_text(ident, "IBAN") or _child_text(_child(ident, "Othr"), "Id")


def _party_name(party: Any) -> str | None:
    """``Nm`` (up to .07) or ``Pty/Nm`` (.08 and later) of a party."""
    if party is None:
        return None
    for c in party:
        name = _LOCAL.get(c.tag) or _local_slow(c.tag)
        if name == "Nm":
            return _text(c)
        if name == "Pty":
            return _child_text(c, "Nm")
    return None


def _bic(agent: Any) -> str | None:
    fin = _child(agent, "FinInstnId") if agent is not None else None
    if fin is None:
        return None
    return _child_text(fin, "BICFI") or _child_text(fin, "BIC")


class _LimitedReader:
    """A binary file for ``iterparse`` that refuses to deliver more than ``limit`` bytes.

    The size is checked before parsing; this also stops a file that grows while it is read.
    """

    def __init__(self, f: Any, limit: int, reader: CamtReader) -> None:
        self._f = f
        self._left = limit
        self._reader = reader

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size if size is not None and size >= 0 else 1 << 16)
        self._left -= len(data)
        if self._left < 0:
            raise self._reader._error(None, f"file grew over the limit of {self._reader.max_bytes} bytes while read")
        return data  # type: ignore[no-any-return]

    def close(self) -> None:
        self._f.close()


class CamtReader:
    """Iterate a camt.052/053/054 file's receipts; :attr:`summary` is complete once iteration ends.

    Each receipt is a dict with these keys (``None`` where the file has nothing; ``references`` and
    ``additional_remittance`` are lists): ``external_id``, ``bank_ref``, ``statement_id``,
    ``statement_seq``, ``message_id``, ``account``, ``account_currency``, ``booking_date``,
    ``value_date``, ``amount``, ``currency``, ``entry_amount``, ``entry_currency``, ``tx_amount``,
    ``tx_currency``, ``instructed_amount``, ``instructed_currency``, ``direction``, ``reversal``,
    ``status``, ``bank_tx_code``, ``payer_name``, ``payer_account``, ``ultimate_payer_name``,
    ``payer_bic``, ``remittance``, ``references``, ``additional_remittance``, ``end_to_end_id``,
    ``instruction_id``, ``tx_id``, ``mandate_id``, ``uetr``, ``additional_entry_info``,
    ``additional_tx_info``, ``return_reason``, ``purpose``. Amounts are strings as written (never
    negative; the sign is ``direction``), dates ``YYYY-MM-DD``.

    :attr:`summary` is one :class:`CamtSummary` object, filled while the receipts are yielded
    (iterating again re-reads the file and resets it). Nothing is read before the first
    ``next()``; every problem with the file raises :class:`~hub.errors.StatementError`, possibly
    after some receipts were yielded, so a caller that wants a file wholly or not at all collects
    the receipts first (``list(reader)``).
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.max_bytes = max_bytes
        self.summary = CamtSummary()
        self._dates: dict[str, str] = {}
        self._currencies: dict[str, str] = {}
        self._keys = ReceiptKeys(self.summary)

    # -- errors and pre-checks ---------------------------------------------------------------------

    def _error(self, position: str | int | None, reason: str) -> StatementError:
        return StatementError(self.file, position, reason)

    def _check_file(self) -> None:
        try:
            info = self.path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise self._error(None, "not a regular file")
            size = info.st_size
            if size > self.max_bytes:
                raise self._error(None, f"file is {size} bytes, over the limit of {self.max_bytes} bytes")
            with self.path.open("rb") as f:
                head = f.read(HEAD_BYTES)
        except OSError as exc:
            raise self._error(None, f"cannot read: {exc.strerror or exc}") from None
        problem = _prolog_problem(_head_text(head), whole_file=len(head) < HEAD_BYTES)
        if problem:
            raise self._error(None, problem)

    def _check_document(self, el: Any) -> None:
        """At the first event: no DTD anywhere before the root, and a camt.05x message."""
        tree = el.getroottree()
        info = tree.docinfo
        if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
            raise self._error(None, "DTDs and entity declarations are not allowed in bank statements")
        root = tree.getroot()
        match = _CAMT_NS.search(etree.QName(root).namespace or "")
        if match:
            self.summary.message_type = match.group(0)
            return
        parent = el.getparent()
        kind = _MESSAGES.get(_LOCAL.get(parent.tag) or _local_slow(parent.tag)) if parent is not None else None
        if kind is None:
            raise self._error(f"line {root.sourceline}", "not a camt.05x message (camt.052/053/054 namespace or "
                              f"message element expected, found <{etree.QName(root).localname}>)")
        self.summary.message_type = kind

    # -- the stream ----------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[dict[str, Any]]:
        s = self.summary  # reset in place: a reference taken before iterating stays live
        s.reset("camt")
        self._dates = {}
        self._currencies = {}
        self._keys = ReceiptKeys(s)
        self._check_file()
        try:
            source = _LimitedReader(self.path.open("rb"), self.max_bytes, self)
        except OSError as exc:
            raise self._error(None, f"cannot read: {exc.strerror or exc}") from None
        try:
            context = etree.iterparse(
                source, events=("start", "end"), tag=_ITERPARSE_TAGS, resolve_entities=False,
                no_network=True, huge_tree=False, load_dtd=False, remove_comments=True, remove_pis=True,
            )
            yield from self._walk(context)
        except etree.XMLSyntaxError as exc:
            raise self._error(f"line {exc.lineno}" if exc.lineno else None, f"malformed XML: {exc.msg}") from None
        except etree.LxmlError as exc:
            raise self._error(None, f"malformed XML: {exc}") from None
        except OSError as exc:
            raise self._error(None, f"cannot read: {exc.strerror or exc}") from None
        finally:
            source.close()

    def _walk(self, context: Any) -> Iterator[dict[str, Any]]:
        s = self.summary
        header: dict[str, str | None] = {"message_id": None, "created": None}
        stmt: dict[str, Any] | None = None  # the container being read
        checked = False
        for event, el in context:
            if not checked:
                self._check_document(el)
                checked = True
            name = _LOCAL.get(el.tag) or _local_slow(el.tag)
            if name == "Ntry":
                if event == "start":
                    continue
                if stmt is None or el.getparent() is not stmt["el"]:
                    raise self._error(f"line {el.sourceline}", "entry (Ntry) outside a Stmt, Ntfctn or Rpt")
                if "account" not in stmt:
                    self._read_container(stmt, header)
                s.entries += 1
                stmt["entries"] += 1
                receipts = self._entry(el, stmt)
                # Bounded memory: drop the entry's subtree and every earlier sibling (previous
                # entries, balances, the statement header fields already read).
                el.clear(keep_tail=False)
                parent = stmt["el"]
                while el.getprevious() is not None:
                    del parent[0]
                totals = s.totals
                for r in receipts:
                    s.receipts += 1
                    amount = Decimal(r["amount"])
                    ccy = r["currency"]
                    totals[ccy] = totals.get(ccy, _ZERO) + (amount if r["direction"] == "credit" else -amount)
                    yield r
            elif name == "GrpHdr":
                parent = el.getparent() if event == "end" else None
                if parent is not None and (_LOCAL.get(parent.tag) or _local_slow(parent.tag)) in _MESSAGES:
                    header["message_id"] = _child_text(el, "MsgId")
                    header["created"] = _child_text(el, "CreDtTm")
            elif event == "start":
                parent = el.getparent()
                if parent is not None and (_LOCAL.get(parent.tag) or _local_slow(parent.tag)) in _MESSAGES:
                    if stmt is not None:
                        raise self._error(f"line {el.sourceline}", f"{name} inside another statement")
                    s.statements += 1
                    stmt = {"el": el, "entries": 0}
            elif stmt is not None and el is stmt["el"]:
                if "account" not in stmt:
                    self._read_container(stmt, header)
                expected = stmt.get("declared_entries")
                if expected is not None and (not expected.isdigit() or int(expected) != stmt["entries"]):
                    s.warnings.append(f"line {el.sourceline}: {name} {stmt['statement_id']} declares {expected} "
                                      f"entries (TxsSummry/TtlNtries/NbOfNtries) but holds {stmt['entries']}")
                stmt = None
                el.clear(keep_tail=False)
                parent = el.getparent()
                while el.getprevious() is not None:
                    del parent[0]
        if not checked:
            root = getattr(context, "root", None)
            found = f" (found <{etree.QName(root).localname}>)" if root is not None else ""
            raise self._error(None, f"not a camt.05x message: no statement, notification or report{found}")
        if s.statements == 0:
            raise self._error(None, "not a camt.05x message: no statement, notification or report (Stmt/Ntfctn/Rpt)")

    def _read_container(self, stmt: dict[str, Any], header: dict[str, str | None]) -> None:
        """Statement-level fields; they precede the entries, so they are complete at the first entry."""
        stmt.update(statement_id=None, statement_seq=None, created=None, account=None, account_currency=None,
                    declared_entries=None, message_id=header["message_id"])
        electronic = legal = None
        for c in stmt["el"]:
            name = _LOCAL.get(c.tag) or _local_slow(c.tag)
            if name == "Ntry":
                break
            if name == "Id":
                stmt["statement_id"] = _text(c)
            elif name == "ElctrncSeqNb":
                electronic = _text(c)
            elif name == "LglSeqNb":
                legal = _text(c)
            elif name == "CreDtTm":
                stmt["created"] = _text(c)
            elif name == "Acct":
                stmt["account"] = _account_id(c)
                stmt["account_currency"] = _child_text(c, "Ccy")
            elif name == "TxsSummry":
                stmt["declared_entries"] = _child_text(_child(c, "TtlNtries"), "NbOfNtries")
        stmt["statement_seq"] = electronic or legal
        stmt["created"] = stmt["created"] or header["created"]

    # -- values --------------------------------------------------------------------------------------

    def _amount(self, amt: Any, what: str) -> tuple[str, str]:
        """(amount as written, upper-case currency) of an ``Amt`` element; checked."""
        text = amt.text
        if text:
            text = text.strip()
        ccy = amt.get("Ccy")
        if not text or _AMOUNT(text) is None:
            raise self._error(f"line {amt.sourceline}", f"{what}: {text!r} is not an amount")
        if ccy not in self._currencies:
            if not ccy or not _CURRENCY.fullmatch(ccy.strip()):
                raise self._error(f"line {amt.sourceline}", f"{what}: currency (Ccy) {ccy!r} is not a currency code")
            if len(self._currencies) < 1024:
                self._currencies[ccy] = ccy.strip().upper()
            return text, ccy.strip().upper()
        return text, self._currencies[ccy]

    def _date(self, holder: Any, what: str) -> str:
        """``Dt`` or ``DtTm`` of a date holder (``BookgDt``, ``ValDt``) as ``YYYY-MM-DD``."""
        text = None
        for c in holder:
            if (_LOCAL.get(c.tag) or _local_slow(c.tag)) in ("Dt", "DtTm"):
                text = c.text
                break
        got = self._dates.get(text) if text else None
        if got is None:
            got = self._parse_date(text.strip()) if text else None
            if got is None:
                raise self._error(f"line {holder.sourceline}", f"{what}: {text!r} is not a date")
            if len(self._dates) < 4096:
                self._dates[text] = got
        return got

    @staticmethod
    def _parse_date(text: str) -> str | None:
        match = _DATE.fullmatch(text)
        if not match:
            return None
        try:
            return dt.date.fromisoformat(match.group(1)).isoformat()
        except ValueError:
            return None

    def _where(self, ntry: Any, stmt: dict[str, Any]) -> tuple[str, str]:
        return f"line {ntry.sourceline}", f"entry {stmt['entries']} of {stmt['statement_id'] or 'the statement'}"

    # -- one entry -----------------------------------------------------------------------------------

    def _entry(self, ntry: Any, stmt: dict[str, Any]) -> list[dict[str, Any]]:
        local, slow = _LOCAL.get, _local_slow
        amt = indicator = sts = booked = valued = entry_ref = ntry_ref = reversal = code = info = None
        txs: list[Any] = []
        for c in ntry:
            tag = c.tag
            name = local(tag) or slow(tag)
            if name == "Amt":
                amt = c
            elif name == "CdtDbtInd":
                indicator = c.text
            elif name == "Sts":
                sts = c
            elif name == "BookgDt":
                booked = c
            elif name == "ValDt":
                valued = c
            elif name == "AcctSvcrRef":
                entry_ref = c.text
                if entry_ref:
                    entry_ref = entry_ref.strip() or None
            elif name == "NtryRef":
                ntry_ref = c.text
                if ntry_ref:
                    ntry_ref = ntry_ref.strip() or None
            elif name == "RvslInd":
                reversal = c.text
            elif name == "BkTxCd":
                code = c
            elif name == "AddtlNtryInf":
                info = _text(c)
            elif name == "NtryDtls":
                for d in c:
                    tag = d.tag
                    if (local(tag) or slow(tag)) == "TxDtls":
                        txs.append(d)
        if amt is None:
            line, where = self._where(ntry, stmt)
            raise self._error(line, f"{where}: Ntry without Amt")
        entry_amount, entry_ccy = self._amount(amt, "Ntry/Amt")
        direction = _DIRECTIONS.get(indicator.strip() if indicator else "")
        if direction is None:
            line, where = self._where(ntry, stmt)
            raise self._error(line, f"{where}: Ntry/CdtDbtInd {indicator!r} is not CRDT or DBIT")
        status = None
        if sts is not None:
            status = _text(sts) or _child_text(sts, "Cd") or _child_text(sts, "Prtry")
        value = self._date(valued, "Ntry/ValDt") if valued is not None else None
        booking = self._date(booked, "Ntry/BookgDt") if booked is not None else value
        if booking is None:
            booking = self._undated(ntry, stmt)
        bank_tx_code = _bank_tx_code(code) if code is not None else None
        details = [self._transaction(tx, direction) for tx in txs]
        if len(details) > 1 and any(d["tx_amount"] is None for d in details):
            line, where = self._where(ntry, stmt)
            self.summary.warnings.append(
                f"{line}: {where} is a batch of {len(details)} transactions without an amount for each; "
                "imported as one receipt of the entry amount with every transaction's remittance")
            details = [_merge(details)]
        batch = len(details) > 1
        if batch:
            self._check_batch(details, entry_amount, entry_ccy, direction, ntry, stmt)
        if not details:
            details = [_no_transaction()]
        out = []
        for n, r in enumerate(details, 1):
            ref = entry_ref or r["bank_ref"] or ntry_ref
            if batch:
                r["bank_ref"] = f"{ref}/{n}" if ref else None
                r["amount"], r["currency"] = r["tx_amount"], r["tx_currency"]
            else:
                # One transaction: the receipt is what was booked on the account, so the entry's
                # amount and indicator (the detail's own amount stays in tx_amount / tx_currency).
                r["bank_ref"] = ref
                r["amount"], r["currency"], r["direction"] = entry_amount, entry_ccy, direction
            r["statement_id"] = stmt["statement_id"]
            r["statement_seq"] = stmt["statement_seq"]
            r["message_id"] = stmt["message_id"]
            r["account"] = stmt["account"]
            r["account_currency"] = stmt["account_currency"]
            r["booking_date"] = booking
            r["value_date"] = value
            r["entry_amount"] = entry_amount
            r["entry_currency"] = entry_ccy
            r["reversal"] = reversal is not None and reversal.strip().lower() in ("true", "1")
            r["status"] = status
            r["bank_tx_code"] = bank_tx_code
            r["additional_entry_info"] = info
            self._keyed(r, ntry)
            out.append(r)
        return out

    def _check_batch(self, details: list[dict[str, Any]], amount: str, ccy: str, direction: str, ntry: Any,
                     stmt: dict[str, Any]) -> None:
        """Warn when a batch's transactions (all in the entry currency) do not add up to the entry."""
        if any(d["tx_currency"] != ccy for d in details):
            return
        total = sum((Decimal(d["tx_amount"]) if d["direction"] == direction else -Decimal(d["tx_amount"])
                     for d in details), _ZERO)
        if total != Decimal(amount):
            line, where = self._where(ntry, stmt)
            self.summary.warnings.append(f"{line}: {where} books {amount} {ccy} but its {len(details)} "
                                         f"transactions add up to {total} {ccy}")

    def _undated(self, ntry: Any, stmt: dict[str, Any]) -> str:
        """Notifications of pending items may carry neither date: the creation date of the
        statement (else of the message) is the best there is, and a warning says so."""
        line, where = self._where(ntry, stmt)
        created = stmt["created"]
        booking = self._parse_date(created) if created else None
        if booking is None:
            raise self._error(line, f"{where}: no booking date, value date or creation date")
        self.summary.warnings.append(f"{line}: {where} has no booking or value date; dated {booking} "
                                     "from the creation time")
        return booking

    def _transaction(self, tx: Any, entry_direction: str) -> dict[str, Any]:
        local, slow = _LOCAL.get, _local_slow
        amt = tx_amt = instd = indicator = None
        e2e = instr = tx_id = mandate = uetr = ref = None
        dbtr = dbtr_acct = ult_dbtr = cdtr = cdtr_acct = ult_cdtr = dbtr_agt = cdtr_agt = None
        texts: list[str] = []
        references: list[dict[str, str | None]] = []
        additional: list[str] = []
        purpose = return_reason = info = None
        for c in tx:
            tag = c.tag
            name = local(tag) or slow(tag)
            if name == "Refs":
                for x in c:
                    tag = x.tag
                    kind = local(tag) or slow(tag)
                    text = x.text
                    if text:
                        text = text.strip() or None
                    if kind == "EndToEndId":
                        e2e = text
                    elif kind == "AcctSvcrRef":
                        ref = text
                    elif kind == "InstrId":
                        instr = text
                    elif kind == "TxId":
                        tx_id = text
                    elif kind == "MndtId":
                        mandate = text
                    elif kind == "UETR":
                        uetr = text
            elif name == "Amt":
                amt = c
            elif name == "CdtDbtInd":
                indicator = c.text
            elif name == "AmtDtls":
                for x in c:
                    tag = x.tag
                    kind = local(tag) or slow(tag)
                    if kind == "TxAmt":
                        tx_amt = _child(x, "Amt")
                    elif kind == "InstdAmt":
                        instd = _child(x, "Amt")
            elif name == "RltdPties":
                for x in c:
                    tag = x.tag
                    kind = local(tag) or slow(tag)
                    if kind == "Dbtr":
                        dbtr = x
                    elif kind == "DbtrAcct":
                        dbtr_acct = x
                    elif kind == "Cdtr":
                        cdtr = x
                    elif kind == "CdtrAcct":
                        cdtr_acct = x
                    elif kind == "UltmtDbtr":
                        ult_dbtr = x
                    elif kind == "UltmtCdtr":
                        ult_cdtr = x
            elif name == "RmtInf":
                for x in c:
                    tag = x.tag
                    kind = local(tag) or slow(tag)
                    if kind == "Ustrd":
                        text = x.text
                        if text:
                            text = text.strip()
                            if text:
                                texts.append(text)
                    elif kind == "Strd":
                        _structured(x, references, additional)
            elif name == "RltdAgts":
                for x in c:
                    tag = x.tag
                    kind = local(tag) or slow(tag)
                    if kind == "DbtrAgt":
                        dbtr_agt = x
                    elif kind == "CdtrAgt":
                        cdtr_agt = x
            elif name == "Purp":
                purpose = _child_text(c, "Cd")
            elif name == "RtrInf":
                return_reason = _code(_child(c, "Rsn"))
            elif name == "AddtlTxInf":
                info = _text(c)
        if amt is None:
            amt = tx_amt
        tx_amount = tx_ccy = instructed = instructed_ccy = None
        if amt is not None:
            tx_amount, tx_ccy = self._amount(amt, "TxDtls amount")
        if instd is not None:
            instructed, instructed_ccy = self._amount(instd, "TxDtls/AmtDtls/InstdAmt/Amt")
        if indicator is None:
            direction = entry_direction
        else:
            direction = _DIRECTIONS.get(indicator.strip())
            if direction is None:
                raise self._error(f"line {tx.sourceline}", f"TxDtls/CdtDbtInd {indicator!r} is not CRDT or DBIT")
        if direction == "credit":
            payer, payer_acct, ultimate, agent = dbtr, dbtr_acct, ult_dbtr, dbtr_agt
        else:
            payer, payer_acct, ultimate, agent = cdtr, cdtr_acct, ult_cdtr, cdtr_agt
        return {
            "external_id": None,
            "bank_ref": ref,  # the transaction's own AcctSvcrRef until _entry decides
            "statement_id": None,
            "statement_seq": None,
            "message_id": None,
            "account": None,
            "account_currency": None,
            "booking_date": None,
            "value_date": None,
            "amount": tx_amount,
            "currency": tx_ccy,
            "entry_amount": None,
            "entry_currency": None,
            "tx_amount": tx_amount,
            "tx_currency": tx_ccy,
            "instructed_amount": instructed,
            "instructed_currency": instructed_ccy,
            "direction": direction,
            "reversal": False,
            "status": None,
            "bank_tx_code": None,
            "payer_name": _party_name(payer) if payer is not None else None,
            "payer_account": _account_id(payer_acct) if payer_acct is not None else None,
            "ultimate_payer_name": _party_name(ultimate) if ultimate is not None else None,
            "payer_bic": _bic(agent) if agent is not None else None,
            "remittance": "\n".join(texts) if texts else None,
            "references": references,
            "additional_remittance": additional,
            "end_to_end_id": None if e2e == "NOTPROVIDED" else e2e,
            "instruction_id": instr,
            "tx_id": tx_id,
            "mandate_id": mandate,
            "uetr": uetr,
            "additional_entry_info": None,
            "additional_tx_info": info,
            "return_reason": return_reason,
            "purpose": purpose,
        }

    def _keyed(self, r: dict[str, Any], ntry: Any) -> None:
        """Set ``external_id``: the bank's reference on the account, else a content hash (see ReceiptKeys)."""
        self._keys.assign(r, f"line {ntry.sourceline}")


def _structured(strd: Any, references: list[dict[str, str | None]], additional: list[str]) -> None:
    """One ``RmtInf/Strd`` block: creditor references, referred documents, additional texts."""
    for x in strd:
        kind = _LOCAL.get(x.tag) or _local_slow(x.tag)
        if kind == "CdtrRefInf":
            tp = _child(x, "Tp")
            value = _child_text(x, "Ref")
            if value:
                references.append({"type": _code(_child(tp, "CdOrPrtry")) if tp is not None else None,
                                   "value": value, "issuer": _child_text(tp, "Issr")})
        elif kind == "RfrdDocInf":
            number = _child_text(x, "Nb")
            if number:
                tp = _child(x, "Tp")
                code = _code(_child(tp, "CdOrPrtry")) if tp is not None else None
                references.append({"type": f"RDI:{code or 'doc'}", "value": number, "issuer": None})
        elif kind == "AddtlRmtInf":
            text = _text(x)
            if text:
                additional.append(text)


def _no_transaction() -> dict[str, Any]:
    """The receipt fields of an entry without transaction details."""
    return new_receipt()


def _merge(details: list[dict[str, Any]]) -> dict[str, Any]:
    """One receipt's details from several transactions that do not each carry an amount."""
    merged = dict(details[0])
    merged["tx_amount"] = merged["tx_currency"] = None
    texts = [d["remittance"] for d in details if d["remittance"]]
    merged["remittance"] = "\n".join(texts) or None
    merged["references"] = [ref for d in details for ref in d["references"]]
    merged["additional_remittance"] = [t for d in details for t in d["additional_remittance"]]
    merged["bank_ref"] = next((d["bank_ref"] for d in details if d["bank_ref"]), None)
    return merged


def _bank_tx_code(code: Any) -> str | None:
    """``BkTxCd`` as ``Domn/Fmly/SubFmlyCd`` (e.g. ``PMNT/RCDT/ESCT``), else its ``Prtry/Cd``."""
    domain = proprietary = None
    for c in code:
        name = _LOCAL.get(c.tag) or _local_slow(c.tag)
        if name == "Domn":
            domain = c
        elif name == "Prtry":
            proprietary = c
    if domain is not None:
        parts = []
        for c in domain:
            name = _LOCAL.get(c.tag) or _local_slow(c.tag)
            if name == "Cd":
                parts.insert(0, _text(c))
            elif name == "Fmly":
                for f in c:
                    name = _LOCAL.get(f.tag) or _local_slow(f.tag)
                    if name == "Cd" or name == "SubFmlyCd":
                        parts.append(_text(f))
        joined = "/".join(p for p in parts if p)
        if joined:
            return joined
    return _child_text(proprietary, "Cd")


def iter_camt(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[dict[str, Any]]:
    """Yield a camt file's receipts, one dict per transaction (use :class:`CamtReader` for the summary)."""
    yield from CamtReader(path, max_bytes=max_bytes)
