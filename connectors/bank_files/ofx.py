"""Reader for OFX bank and credit-card statements: OFX 1.x (SGML) and OFX 2.x (XML), built on ``ofxparse``.

Use::

    reader = OfxReader(path)             # nothing is read yet
    for receipt in reader:               # one dict per STMTTRN (see common.RECEIPT_FIELDS)
        ...
    reader.summary                       # StatementSummary: "OFX 102", statements, entries, totals, warnings

What comes from ofxparse and what is read by hand, and why:

* The tree: ofxparse's way of reading SGML is kept - every element that is never closed anywhere in
  the file is closed before the next tag (``OfxPreprocessedFile``), and the result goes to
  ofxparse's ``soup_maker`` (BeautifulSoup with ``html.parser``, which copes with CDATA, entity
  references and the half-closed files banks send). The closing step is re-implemented here with a
  set instead of ofxparse's list: ofxparse's is quadratic (``name not in list`` for every unclosed
  tag), 3 s for an 8000-transaction SGML file and minutes beyond.
* The header: ofxparse stops at a leading blank line (so it reads no header at all from files that
  start with one), splits ``KEY:VALUE`` with a bare ``split(":")`` that raises on any other line, never
  reads the ``<?OFX ...?>`` declaration of OFX 2.x, decodes XML files as ASCII whatever their
  ``encoding`` says, and fails with ``UnboundLocalError`` on an unknown ENCODING value. So the
  header and the decoding are done here (SGML ``ENCODING``/``CHARSET``, the XML ``encoding``).
* Status: ofxparse looks only at the first statement response's STATUS and never fails on it (a
  ``2000 General Server Error`` file parses as zero accounts). Every SONRS / STMTTRNRS / CCSTMTTRNRS
  status is checked here.
* Fields: ofxparse shifts DTPOSTED to UTC (which can move the posting to another day), accepts
  ``00000000`` as "no date", parses the first 8 characters with ``strptime`` (lax), turns amounts like
  ``1.000,5`` / ``1 025,53`` / ``NaN`` / ``1E3`` into numbers, fails a whole file on an empty NAME,
  FITID or CURDEF, and never reads DTAVAIL, CURRENCY/ORIGCURRENCY, REFNUM, SRVRTID or the PAYEE
  aggregate. Every field is therefore read from the tree by hand, strictly where money and dates
  are concerned, leniently for optional text.

Mapping of one ``STMTTRN`` to a receipt:

* ``amount`` = TRNAMT without its sign (``,`` as decimal separator becomes ``.``; no thousands
  separators), ``direction`` = ``debit`` when TRNAMT is negative, else ``credit``;
* ``currency`` = ``CURRENCY/CURSYM`` when the transaction has a CURRENCY aggregate (its amounts are in
  that currency), else the statement's CURDEF. An ``ORIGCURRENCY`` aggregate means the amounts were
  already converted to CURDEF (OFX spec, "Currency"), so the currency stays CURDEF and the original
  currency and rate go to ``additional_tx_info``;
* ``booking_date`` = the calendar date of DTPOSTED as written (time and time zone ignored),
  ``value_date`` = DTAVAIL when present;
* ``bank_ref`` = FITID (unique per account by the OFX spec), ``tx_id`` = SRVRTID;
* ``payer_name`` = NAME, else PAYEE/NAME, else EXTDNAME; ``remittance`` = MEMO; ``additional_tx_info``
  = NAME and EXTDNAME (each once: they often describe the transaction) and a PAYEE/NAME other than
  ``payer_name``, then the lines below, one a line;
  ``payer_account`` = the BANKACCTTO/CCACCTTO account unless it is the statement's own;
* ``bank_tx_code`` = TRNTYPE (upper case); ``purpose`` = SIC, with its MCC description from
  ``ofxparse.mcc`` in ``additional_tx_info``;
* ``references``: CHECKNUM (unless all zeros), REFNUM, PAYEEID and CORRECTFITID, each as
  ``{"type": <tag>, "value", "issuer": None}``; a correction's CORRECTACTION is ``status``;
* ``account`` = ``BANKID/BRANCHID/ACCTID`` of BANKACCTFROM (empty parts left out, so
  ``BANKID/ACCTID`` without a branch) or the ACCTID of CCACCTFROM; ``account_currency`` = CURDEF;
  ``statement_id`` = the response's TRNUID, ``message_id`` = the NEWFILEUID header when given.

Errors (:class:`~hub.errors.StatementError`, never another exception): a DTD or entity declaration
anywhere, a file over ``max_bytes``, an undecodable file, no ``<OFX>`` element or no bank/credit-card
statement, a non-zero STATUS (unless its severity is INFO/WARN and the statement is there: then a
warning), a statement without ACCTID, and a transaction with a missing or unparseable TRNAMT or
DTPOSTED or without any currency (named by FITID and line). Warnings: an empty or missing LEDGERBAL
(the transactions still import), an empty CURDEF when every transaction has its own currency, an
empty FITID (keyed by content), an unreadable DTAVAIL, ``null`` amounts (skipped), a charset
declared single-byte whose text is UTF-8, a file without a declared encoding that is not UTF-8.

The whole file is read and checked before the first receipt is yielded, so an error never comes
after receipts. Memory: the BeautifulSoup tree takes roughly 45 times the file size, hence the
smaller :data:`DEFAULT_MAX_BYTES` than the streaming camt reader.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bs4.element import CData, NavigableString, Tag
from ofxparse import mcc as _mcc
from ofxparse.ofxparse import soup_maker

from hub import StatementError

from .common import ReceiptKeys, StatementSummary, new_receipt, read_limited, skip_prolog

#: 32 MB is about 150,000 transactions; the tree of such a file takes about 1.5 GB.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024

#: The summary of an OFX file (``format`` is ``"ofx"``).
OfxSummary = StatementSummary

_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b", re.IGNORECASE)
_DTD_BYTES = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b", re.IGNORECASE)
_SGML_HEADER = re.compile(r"OFXHEADER[ \t]*:", re.IGNORECASE)
_HEADER_FIELD = re.compile(r"([A-Za-z][A-Za-z0-9_.]*)[ \t]*:[ \t]*(\S*)")
_PI_ATTR = re.compile(r"""([A-Za-z_][\w.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_OFX_ROOT = re.compile(r"<OFX\s*>", re.IGNORECASE)
_OFX_PI = re.compile(r"<\?OFX[\s?]", re.IGNORECASE)
_TAG_SPLIT = re.compile(r"(</?[A-Za-z0-9_.]+>)")
#: TRNAMT / BALAMT: an optional sign, digits with ``.`` or ``,`` as decimal point, no grouping.
_AMOUNT = re.compile(r"([+-]?)[ \t]*([0-9]{1,20}(?:[.,][0-9]{0,12})?|[.,][0-9]{1,12})")
#: OFX date-time: YYYYMMDD, optionally HHMMSS, fraction (``.XXX``; some banks write ``:XXX``) and
#: ``[offset:TZ]``; only the calendar date is used.
_DATETIME = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{2})?)?)?(?:[.:][0-9]{1,6})?"
    r"\s*(?:\[[^\]]{0,20}\])?"
)
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_STATEMENTS = ("stmtrs", "ccstmtrs")
_RESPONSES = ("stmttrnrs", "ccstmttrnrs")
_OWNERS = frozenset({"stmtrs", "ccstmtrs", "invstmtrs"})
#: A STMTTRN sits 2 levels below its statement (BANKTRANLIST, or INVBANKTRAN); 32 is generous.
_MAX_DEPTH = 32
_SINGLE_BYTE = frozenset({"cp1252", "iso8859-1", "latin-1", "latin_1", "ascii", "us-ascii"})


def _head_text(head: bytes) -> str:
    """The first bytes as text: UTF-16 (BOM or ``<`` with NUL bytes), else latin-1 (never fails)."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", errors="replace")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", errors="replace")
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    return head.decode("latin-1")


def _skip_prolog(text: str, pos: int) -> int:
    """Position after white space, ``<?...?>`` instructions and comments from ``pos``."""
    return skip_prolog(text, pos, " \t\r\n\f\v\ufeff\x00")[0]


def detect_ofx(head: bytes) -> bool:
    """True when the first bytes (a few KB) are an OFX file.

    Decided from content, never the file name: an OFX 1.x ``OFXHEADER:`` header (possibly after
    blank lines), an OFX 2.x ``<?OFX ...?>`` declaration, or (headerless files) an ``<OFX>`` root
    element after at most an XML declaration and comments.
    """
    text = _head_text(head)
    start = _skip_prolog(text, 0)
    if _SGML_HEADER.match(text, start) or _OFX_ROOT.match(text, start):
        return True
    return _OFX_PI.search(text, 0, start + 5) is not None


# -- header and decoding ------------------------------------------------------------------------------


@dataclass
class _Header:
    kind: str  # "sgml", "xml" or "none"
    fields: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None  # a Python codec name; None: not declared
    declared_by: str = ""
    body: int = 0  # offset (in the text the header was read from) where the body starts


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def _sgml_encoding(fields: dict[str, str]) -> tuple[str | None, str]:
    """(codec, what declared it) from an OFX 1.x header; codec None when it names nothing usable."""
    encoding = fields.get("ENCODING", "").upper()
    charset = fields.get("CHARSET", "").strip()
    if encoding in ("UTF-8", "UTF8", "UNICODE"):
        return "utf-8", f"ENCODING:{fields['ENCODING']}"
    if encoding not in ("", "USASCII", "NONE"):
        return None, f"ENCODING:{fields['ENCODING']}"
    declared = f"CHARSET:{charset or 'NONE'}"
    if charset.upper() in ("", "NONE"):
        return "cp1252", declared  # what ofxparse (and most banks) assume
    if charset.isdigit():
        return _codec(f"cp{charset}"), declared
    if re.fullmatch(r"8859-[0-9]{1,2}", charset):
        return _codec(f"iso{charset}"), declared
    return _codec(charset), declared


class OfxReader:
    """Iterate an OFX statement file's receipts; :attr:`summary` is complete once iteration ends.

    Built as ``OfxReader(path, max_bytes=...)``; nothing is read before the first ``next()``. Each
    receipt is a dict with exactly the keys of :data:`~hub_connectors.bank_files.common.RECEIPT_FIELDS`
    (see the module docstring for the mapping). Every problem with the file raises
    :class:`~hub.errors.StatementError` before any receipt is yielded.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.max_bytes = max_bytes
        self.summary = OfxSummary()
        self._keys = ReceiptKeys(self.summary)
        self._first_line = 1
        self._message_id: str | None = None

    def _error(self, position: str | int | None, reason: str) -> StatementError:
        return StatementError(self.file, position, reason)

    def _warn(self, position: str | None, text: str) -> None:
        self.summary.warnings.append(f"{position}: {text}" if position else text)

    # -- the stream ----------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[dict[str, Any]]:
        s = self.summary  # reset in place: a reference taken before iterating stays live
        s.reset("ofx")
        self._keys = ReceiptKeys(s)
        try:
            receipts = self._read()
        except StatementError:
            raise
        except Exception as exc:  # whatever ofxparse / BeautifulSoup raise on a broken file
            # bs4's ParserRejectedMarkup puts html.parser's own reason on the last line.
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            detail = lines[-1] if lines else ""
            raise self._error(None, f"malformed OFX ({type(exc).__name__}: {detail[:200]})") from None
        for r in receipts:
            s.count(r)
            yield r

    def _read(self) -> list[dict[str, Any]]:
        self._first_line = 1
        try:
            if not stat.S_ISREG(self.path.stat().st_mode):
                raise self._error(None, "not a regular file")
        except OSError as exc:
            raise self._error(None, f"cannot read: {exc.strerror or exc}") from None
        data = read_limited(self.path, self.max_bytes)
        match = _DTD_BYTES.search(data)
        if match:
            line = data.count(b"\n", 0, match.start()) + 1
            raise self._error(f"line {line}", "DTDs and entity declarations are not allowed in bank statements")
        header, body = self._decode(data)
        found = _DTD.search(body)
        if found:
            raise self._error(
                self._line_at(body, found.start()), "DTDs and entity declarations are not allowed in bank statements"
            )
        if not _OFX_ROOT.search(body):
            raise self._error(None, "no <OFX> element after the header")
        version = header.fields.get("VERSION", "").strip()
        self.summary.message_type = f"OFX {version}" if version else "OFX"
        uid = header.fields.get("NEWFILEUID", "").strip()
        self._message_id = uid if uid and uid.upper() != "NONE" else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bs4's "looks like XML" / "looks like a file name" hints
            soup = soup_maker(_close_elements(body))
        return self._walk(soup)

    def _decode(self, data: bytes) -> tuple[_Header, str]:
        """The header and the body text (from the first ``<`` after the header); sets ``_first_line``."""
        utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"<\x00", b"\x00<"))
        if utf16:
            try:
                text = data.decode(
                    "utf-16"
                    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
                    else "utf-16-le"
                    if data[:1] == b"<"
                    else "utf-16-be"
                )
            except UnicodeDecodeError as exc:
                raise self._error(None, f"not valid UTF-16 text (byte {exc.start})") from None
            header = self._header(text.lstrip("\ufeff"))
            text = text.lstrip("\ufeff")
            self._first_line = text.count("\n", 0, header.body) + 1
            return header, text[header.body :]
        if data.startswith(codecs.BOM_UTF8):
            data = data[3:]
            bom = True
        else:
            bom = False
        # The header is ASCII in every OFX version; latin-1 maps byte offsets to character offsets.
        header = self._header(data.decode("latin-1"))
        self._first_line = data.count(b"\n", 0, header.body) + 1
        raw = data[header.body :]
        encoding = "utf-8" if bom else header.encoding
        if encoding is not None and encoding.startswith(("utf-16", "utf-32")):
            # Declared, but the bytes are not UTF-16/32 (those are recognised above): ignore it.
            self._warn(None, f"the file declares {header.declared_by} but is not UTF-16/32 encoded")
            encoding, header.declared_by = None, ""
        if encoding is None and header.declared_by:
            raise self._error(None, f"unknown or unsupported character set ({header.declared_by})")
        if encoding is None:
            # Nothing declared: UTF-8 (the XML default), else the Windows code page banks export in.
            try:
                return header, raw.decode("utf-8")
            except UnicodeDecodeError:
                self._warn(None, "no character set declared and the file is not UTF-8; read as Windows-1252")
                return header, raw.decode("cp1252", errors="replace")
        if encoding in _SINGLE_BYTE and not raw.isascii():
            # A header saying 1252 / ASCII over UTF-8 text is a common export bug; valid UTF-8 with
            # non-ASCII characters is practically never meant as Windows-1252.
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                self._warn(None, f"the file declares {header.declared_by} but its text is UTF-8; read as UTF-8")
                return header, text
        try:
            return header, raw.decode(encoding)
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, header.body + exc.start) + 1
            raise self._error(
                f"line {line}", f"not valid {encoding} text ({header.declared_by}): byte 0x{raw[exc.start]:02x}"
            ) from None

    def _header(self, text: str) -> _Header:
        """The OFX 1.x ``KEY:VALUE`` header, or the XML declaration and ``<?OFX?>`` of OFX 2.x."""
        start = _skip_prolog(text, 0)
        if _SGML_HEADER.match(text, start):
            end = text.find("<", start)
            end = len(text) if end < 0 else end
            region = text[start:end]
            fields = {m.group(1).upper(): m.group(2) for m in _HEADER_FIELD.finditer(region)}
            leftover = _HEADER_FIELD.sub("", region).strip()
            if leftover:
                offset = start + region.find(leftover[:20])
                raise self._error(self._line_at(text, offset), f"malformed OFX header near {leftover[:40]!r}")
            encoding, declared = _sgml_encoding(fields)
            return _Header("sgml", fields, encoding, declared, end)
        if not text.startswith("<", start):
            raise self._error(
                None, "not an OFX file: expected an OFXHEADER header, an <?OFX?> declaration or an <OFX> element"
            )
        # XML or headerless: read the instructions before the root element.
        header = _Header("none")
        pos, end = 0, len(text)
        while True:
            while pos < end and text[pos] in " \t\r\n\f\v\ufeff\x00":
                pos += 1
            if text.startswith("<?", pos):
                close = text.find("?>", pos + 2)
                if close < 0:
                    break
                pi = text[pos + 2 : close]
                name = pi.split(None, 1)[0].lower() if pi.strip() else ""
                attrs = {
                    m.group(1).upper(): m.group(2) if m.group(2) is not None else m.group(3)
                    for m in _PI_ATTR.finditer(pi)
                }
                if name == "xml" and "ENCODING" in attrs:
                    header.declared_by = f'encoding="{attrs["ENCODING"]}"'
                    header.encoding = _codec(attrs["ENCODING"].strip())
                elif name == "ofx":
                    header.kind = "xml"
                    header.fields.update(attrs)
                pos = close + 2
            elif text.startswith("<!--", pos):
                close = text.find("-->", pos + 4)
                if close < 0:
                    break
                pos = close + 3
            else:
                break
        header.body = pos
        return header

    def _line_at(self, text: str, offset: int) -> str:
        return f"line {self._first_line + text.count(chr(10), 0, offset)}"

    def _line(self, el: Tag) -> str | None:
        line = getattr(el, "sourceline", None)
        return f"line {self._first_line + line - 1}" if isinstance(line, int) else None

    # -- the tree ------------------------------------------------------------------------------------

    def _walk(self, soup: Any) -> list[dict[str, Any]]:
        s = self.summary
        ofx = soup.find("ofx")
        if ofx is None:
            raise self._error(None, "no <OFX> element")
        sonrs = ofx.find("sonrs")
        if sonrs is not None:
            self._check_status(sonrs, "sign-on response (SONRS)", has_statement=True)
        for response in ofx.find_all(_RESPONSES):
            trnuid = _child_text(response, "trnuid")
            what = f"{response.name.upper()} TRNUID {trnuid}" if trnuid else response.name.upper()
            self._check_status(
                response,
                f"statement response {what}",
                has_statement=response.find(_STATEMENTS, recursive=False) is not None,
            )
        statements = ofx.find_all(_STATEMENTS)
        investment = ofx.find("invstmtrs") is not None
        if not statements:
            if investment:
                raise self._error(
                    None,
                    "investment statements (INVSTMTRS) are not supported, and the file holds "
                    "no bank or credit card statement",
                )
            raise self._error(None, "no bank or credit card statement (STMTRS or CCSTMTRS) in the file")
        if investment:
            self._warn(None, "investment statements (INVSTMTRS) are not supported and were skipped")
        # One pass over the transactions, each given to its nearest statement (a bounded walk up, so
        # a hostile file of deeply nested statements costs linear time, not statements x elements).
        owned: dict[int, list[Tag]] = {}
        for trn in ofx.find_all("stmttrn"):
            owner = _owner(trn)
            if owner is None:
                raise self._error(
                    self._line(trn),
                    "STMTTRN outside a bank or credit card statement (STMTRS or "
                    f"CCSTMTRS), or nested more than {_MAX_DEPTH} elements deep in one",
                )
            if owner.name != "invstmtrs":
                owned.setdefault(id(owner), []).append(trn)
        receipts: list[dict[str, Any]] = []
        for stmt in statements:
            s.statements += 1
            receipts.extend(self._statement(stmt, owned.get(id(stmt), [])))
        return receipts

    def _check_status(self, parent: Tag, what: str, *, has_statement: bool) -> None:
        status = parent.find("status", recursive=False)
        if status is None:
            if parent.name != "sonrs":
                self._warn(self._line(parent), f"{what} has no STATUS")
            return
        code = _child_text(status, "code")
        if code is None or not code.isdigit():
            raise self._error(self._line(status), f"{what}: STATUS CODE {code!r} is not a number")
        if int(code) == 0:
            return
        severity = (_child_text(status, "severity") or "no SEVERITY").upper()
        message = _child_text(status, "message")
        described = f"status {int(code)} ({severity})" + (f": {message}" if message else "")
        if has_statement and severity in ("INFO", "WARN"):
            self._warn(self._line(status), f"{what} reports {described}; its statement was imported")
            return
        raise self._error(self._line(status), f"{what} failed with {described}")

    def _statement(self, stmt: Tag, transactions: list[Tag]) -> list[dict[str, Any]]:
        kind = stmt.name.upper()
        line = self._line(stmt)
        response = stmt.parent if stmt.parent is not None and stmt.parent.name in _RESPONSES else None
        trnuid = _child_text(response, "trnuid") if response is not None else None
        acct = stmt.find("ccacctfrom" if kind == "CCSTMTRS" else "bankacctfrom", recursive=False)
        acctid = _child_text(acct, "acctid") if acct is not None else None
        if not acctid:
            raise self._error(line, f"{kind} without an account number (ACCTID)")
        if kind == "CCSTMTRS":
            account = acctid
        else:
            parts = (_child_text(acct, "bankid"), _child_text(acct, "branchid"), acctid)
            account = "/".join(p for p in parts if p)
        where = f"{kind} of account {account}"
        curdef_raw = _child_text(stmt, "curdef")
        curdef = None
        if curdef_raw:
            if not _CURRENCY.fullmatch(curdef_raw):
                raise self._error(line, f"{where}: CURDEF {curdef_raw!r} is not a currency code")
            curdef = curdef_raw.upper()
        self._check_balance(stmt, where)
        if curdef is None:
            if any(t.find("currency", recursive=False) is None for t in transactions):
                # The currency of those transactions is unknown: refusing beats guessing.
                first = next(t for t in transactions if t.find("currency", recursive=False) is None)
                fitid = _child_text(first, "fitid")
                raise self._error(
                    self._line(first),
                    f"{where}: CURDEF is empty or missing and STMTTRN "
                    f"{'FITID ' + repr(fitid) if fitid else 'without FITID'} has no CURRENCY "
                    "of its own, so its currency is unknown",
                )
            self._warn(line, f"{where}: CURDEF is empty or missing; each transaction's own CURRENCY is used")
        ctx = {"account": account, "curdef": curdef, "trnuid": trnuid, "where": where}
        out = []
        for trn in transactions:
            self.summary.entries += 1
            r = self._transaction(trn, ctx)
            if r is not None:
                out.append(r)
        return out

    def _check_balance(self, stmt: Tag, where: str) -> None:
        """LEDGERBAL is required and AVAILBAL optional; a bad one is a warning (no receipt depends on it)."""
        for name, required in (("ledgerbal", True), ("availbal", False)):
            bal = stmt.find(name, recursive=False)
            if bal is None:
                if required:
                    self._warn(self._line(stmt), f"{where} has no LEDGERBAL (closing balance)")
                continue
            amount = _child_text(bal, "balamt")
            if amount is None or _AMOUNT.fullmatch(amount) is None:
                self._warn(
                    self._line(bal),
                    f"{where}: {name.upper()} has no valid BALAMT ({amount or ''!r}); "
                    "the balance is unknown, the transactions were imported",
                )

    def _transaction(self, trn: Tag, ctx: dict[str, Any]) -> dict[str, Any] | None:
        line = self._line(trn)
        children: dict[str, Tag] = {}
        twice = []
        for c in trn.find_all(True, recursive=False):
            first = children.setdefault(c.name, c)
            if first is not c and c.name in ("trnamt", "dtposted", "fitid") and _own_text(c) != _own_text(first):
                twice.append(c.name.upper())

        def text(name: str) -> str | None:
            el = children.get(name)
            return _own_text(el) if el is not None else None

        fitid = text("fitid")
        label = f"STMTTRN FITID {fitid!r}" if fitid else "STMTTRN without FITID"
        problems = [f"{name} given twice with different values" for name in twice]
        raw_amount = text("trnamt")
        amount = negative = None
        if raw_amount is None:
            problems.append("no TRNAMT (amount)")
        elif raw_amount.lower() in ("null", "-null", "+null"):
            # ofxparse's note: some banks list interest-rate changes as a transaction of "null".
            self._warn(line, f"{label}: TRNAMT is {raw_amount!r} (no amount); skipped")
            return None
        else:
            parsed = _parse_amount(raw_amount)
            if parsed is None:
                problems.append(f"TRNAMT {raw_amount!r} is not an amount")
            else:
                amount, negative = parsed
        raw_posted = text("dtposted")
        booking = _parse_date(raw_posted) if raw_posted else None
        if raw_posted is None:
            problems.append("no DTPOSTED (posting date)")
        elif booking is None:
            problems.append(f"DTPOSTED {raw_posted!r} is not a date")
        currency = ctx["curdef"]
        info = []
        for name in ("currency", "origcurrency"):
            agg = children.get(name)
            if agg is None:
                continue
            sym = _child_text(agg, "cursym")
            rate = _child_text(agg, "currate")
            if not sym or not _CURRENCY.fullmatch(sym):
                problems.append(f"{name.upper()}/CURSYM {sym!r} is not a currency code")
            elif name == "currency":
                currency = sym.upper()
            else:
                info.append(f"original currency {sym.upper()}" + (f" at rate {rate}" if rate else ""))
        if currency is None and not problems:
            problems.append("no currency (CURDEF is empty and there is no CURRENCY)")
        if problems:
            raise self._error(line, f"{ctx['where']}: {label}: " + "; ".join(problems))
        value = None
        raw_avail = text("dtavail")
        if raw_avail:
            value = _parse_date(raw_avail)
            if value is None:
                self._warn(line, f"{label}: DTAVAIL {raw_avail!r} is not a date; no value date")
        if not fitid:
            self._warn(line, f"{ctx['where']}: STMTTRN without FITID; keyed by its content")
        payee = children.get("payee")
        payee_name = _child_text(payee, "name") if payee is not None else None
        given, extended = text("name"), text("extdname")
        payer = given or payee_name or extended
        # NAME and EXTDNAME are "name of payee or description of transaction" (OFX spec), and banks
        # write the description there ("RETURNED CHECK FEE, CHECK # 319"): texts read for references
        # too, first in the transaction information; so is a PAYEE/NAME that is not the payer's name.
        described = (given, extended, payee_name if payee_name != payer else None)
        info[:0] = [t for t in dict.fromkeys(described) if t]
        references = []
        checknum = text("checknum")
        if checknum and checknum.strip("0"):
            references.append({"type": "CHECKNUM", "value": checknum, "issuer": None})
        for tag in ("refnum", "payeeid", "correctfitid"):
            ref = text(tag)
            if ref:
                references.append({"type": tag.upper(), "value": ref, "issuer": None})
        sic = text("sic")
        if sic:
            described = _mcc.codes.get(sic, {}).get("combined description")
            if described:
                info.append(f"SIC {sic}: {described}")
        other = children.get("bankacctto")
        if other is None:
            other = children.get("ccacctto")
        payer_account = None
        if other is not None:
            other_id = _child_text(other, "acctid")
            if other_id:
                parts = (_child_text(other, "bankid"), _child_text(other, "branchid"), other_id)
                payer_account = "/".join(p for p in parts if p)
                if payer_account == ctx["account"]:
                    payer_account = None
        action = text("correctaction")
        trntype = text("trntype")
        r: dict[str, Any] = new_receipt(
            bank_ref=fitid or None,
            statement_id=ctx["trnuid"],
            message_id=self._message_id,
            account=ctx["account"],
            account_currency=ctx["curdef"],
            booking_date=booking,
            value_date=value,
            amount=amount,
            currency=currency,
            entry_amount=amount,
            entry_currency=currency,
            direction="debit" if negative else "credit",
            status=action.upper() if action else None,
            bank_tx_code=trntype.upper() if trntype else None,
            payer_name=payer,
            payer_account=payer_account,
            remittance=text("memo"),
            references=references,
            tx_id=text("srvrtid"),
            purpose=sic,
            additional_tx_info="\n".join(info) or None,
        )
        self._keys.assign(r, line or "?")
        return r


# -- values and tree helpers ------------------------------------------------------------------------------


def _close_elements(text: str) -> str:
    """ofxparse's SGML preprocessing (``OfxPreprocessedFile``) in linear time.

    An element whose name is closed nowhere in the file (an SGML leaf such as ``<TRNAMT>-5.50``) is
    closed before the next tag; everything else is left as it is. ofxparse does the same with a list
    lookup per tag, which is quadratic in the file size.
    """
    closed = {name.upper() for name in re.findall(r"</([A-Za-z0-9_.]+)>", text)}
    parts = _TAG_SPLIT.split(text)
    out = []
    pending = None
    for i, token in enumerate(parts):
        if i % 2:  # a tag
            if pending is not None:
                out.append(f"</{pending}>")
                pending = None
            if token[1] != "/":
                name = token[1:-1]
                if name.upper() not in closed:
                    pending = name
        out.append(token)
    if pending is not None:
        out.append(f"</{pending}>")
    return "".join(out)


def _owner(trn: Tag) -> Tag | None:
    """The nearest STMTRS, CCSTMTRS or INVSTMTRS around a STMTTRN (at most ``_MAX_DEPTH`` levels up)."""
    parent = trn.parent
    for _ in range(_MAX_DEPTH):
        if parent is None:
            return None
        if parent.name in _OWNERS:
            return parent
        parent = parent.parent
    return None


def _own_text(el: Tag) -> str | None:
    """The element's own text (CDATA included, not its children's), stripped; None when empty."""
    text = "".join(str(c) for c in el.children if type(c) is NavigableString or type(c) is CData).strip()
    return text or None


def _child_text(el: Tag | None, name: str) -> str | None:
    if el is None:
        return None
    child = el.find(name, recursive=False)
    return _own_text(child) if child is not None else None


def _parse_amount(text: str) -> tuple[str, bool] | None:
    """(unsigned amount with ``.`` as decimal point, negative) of an OFX amount; None when it is none."""
    match = _AMOUNT.fullmatch(text)
    if match is None:
        return None
    digits = match.group(2).replace(",", ".")
    if digits.startswith("."):
        digits = "0" + digits
    return digits.rstrip(".") if digits.endswith(".") else digits, match.group(1) == "-"


def _parse_date(text: str) -> str | None:
    """``YYYY-MM-DD`` of an OFX date-time as written (no time-zone shift); None when it is none."""
    match = _DATETIME.fullmatch(text)
    if match is None:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
    except ValueError:
        return None


def iter_ofx(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[dict[str, Any]]:
    """Yield an OFX file's receipts (use :class:`OfxReader` for the summary)."""
    yield from OfxReader(path, max_bytes=max_bytes)
