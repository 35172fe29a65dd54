"""Reader for payers' remittance advices: ISO 20022 remt.001 messages and the hub's own CSV layout.

A remittance advice is the message a customer sends apart from the bank transfer itself, listing
which invoices (and credit notes) the transfer pays. The bank statement shows one receipt of the
total; the advice says how to split it over the open items.

Use::

    for advice in read_advices(path):          # fmt="auto" (from content), "remt" or "csv"
        advice["external_id"], advice["amount"], advice["documents"]

Every advice is a dict with the keys of :data:`ADVICE_FIELDS`, every document one with the keys of
:data:`DOCUMENT_FIELDS` (see :func:`read_advices`). Money is :class:`~decimal.Decimal`, never
float; dates are :class:`datetime.date`.

remt.001 files are read by local element names, so every version (.001.01 to .001.06) reads, with
``lxml.etree.iterparse`` one ``RmtInf`` at a time, each cleared once read: a file of tens of MB
stays in bounded memory (but for the advices returned). As for bank statements (see
:mod:`.camt`), DTDs are refused outright: no entity expansion, no external entities, no network.

Every problem with a file is an :class:`AdviceError` whose one-line message names the file, where
(line and element path, or CSV line and column) and why.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from .common import element_text, skip_prolog, xml_head_text

#: The keys of every advice dict, in this order.
ADVICE_FIELDS: tuple[str, ...] = (
    "external_id",  # remt RmtId (else "<MsgId>/<position>"); CSV advice_id
    "message_id",  # remt GrpHdr/MsgId; None for CSV
    "payer_name",
    "payer_account",  # IBAN or other account id, without spaces, upper-case
    "end_to_end_id",  # None when absent or NOTPROVIDED
    "amount",  # the payment's amount (Decimal), None when the advice does not say
    "currency",
    "payment_date",  # datetime.date or None
    "texts",  # free texts (Ustrd, Strd/AddtlRmtInf; CSV text), in document order
    "documents",  # [{DOCUMENT_FIELDS}], in document order
)
#: The keys of every document dict.
DOCUMENT_FIELDS: tuple[str, ...] = ("number", "kind", "amount", "discount", "due", "date")
KINDS: tuple[str, ...] = ("invoice", "credit_note", "debit_note", "other")
FORMATS: tuple[str, ...] = ("auto", "remt", "csv")

#: The first bytes read to tell the format, and the most the part before an XML root may take.
HEAD_BYTES = 65536

#: Safe settings for every parse (the same as :mod:`.camt`): no DTD, no entities, no network.
_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
#: The only elements that raise iterparse events; an advice is read from its finished subtree.
_ITERPARSE_TAGS = ["{*}RmtAdvc", "{*}GrpHdr", "{*}RmtInf"]

#: ISO document type codes (DocumentType6Code) with a kind of their own; every other code is "other".
_DOCUMENT_CODES = {"CINV": "invoice", "CREN": "credit_note", "DEBN": "debit_note"}
_BLANKS = " \t\r\n\ufeff"
_XML_AMOUNT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_DOCUMENT_CODE = re.compile(r"[A-Za-z]{4}")
_XML_DATE = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
_MESSAGE_TYPE = re.compile(r"\b([a-z]{4}\.[0-9]{3})\.[0-9]{3}\.[0-9]{2}\b")
#: What the ISO 20022 messages most often mistaken for an advice are.
_NOT_ADVICES = {
    "camt.052": "is an account report: import it with 'hub receipts import'",
    "camt.053": "is a statement: import it with 'hub receipts import'",
    "camt.054": "is a debit/credit notification: import it with 'hub receipts import'",
    "pain.001": "is a payment order (credit transfer initiation), not a remittance advice",
    "pain.002": "is a payment status report, not a remittance advice",
    "pain.008": "is a direct debit order, not a remittance advice",
    "remt.002": "is a remittance location advice (where the details are kept), not the remittance advice itself",
}

# CSV: the columns read (any other column is ignored), and the accepted number and date forms.
_CSV_COLUMNS = (
    "advice_id",
    "payer_name",
    "payer_account",
    "end_to_end_id",
    "payment_amount",
    "payment_date",
    "currency",
    "text",
    "document",
    "document_type",
    "amount",
    "discount",
    "due",
    "document_date",
)
_CSV_REQUIRED = ("advice_id", "currency", "document")
_CSV_DELIMITERS = ",;\t"
#: "1234.56" (dot decimal), "1.234,56" (dot thousands, decimal comma), "1234,56" (decimal comma);
#: a minus sign only where a negative makes sense (document amounts).
_CSV_NUMBER = re.compile(
    r"(?P<sign>-?)(?:(?P<dot>[0-9]+(?:\.[0-9]+)?)|(?P<grouped>[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+)|(?P<comma>[0-9]+,[0-9]+))"
)
_CSV_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})|([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})")
_CSV_KINDS = {
    "invoice": "invoice",
    "credit_note": "credit_note",
    "debit_note": "debit_note",
    "other": "other",
}


class AdviceError(Exception):
    """A file that cannot be read as advices: message says which file and where (element path or CSV line) and why.

    The message reads ``<file>:<position>: <reason>`` (``<file>: <reason>`` when the problem is the
    whole file), on one line; ``file``, ``position`` and ``reason`` are kept as attributes.
    """

    def __init__(self, file: str, position: str | None, reason: str) -> None:
        self.file = file
        self.position = position
        self.reason = " ".join(reason.splitlines())
        where = f"{file}:{position}" if position else file
        super().__init__(f"{where}: {self.reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file, self.position, self.reason))


def read_advices(path: str | os.PathLike[str], fmt: str = "auto") -> list[dict[str, Any]]:
    """Every advice in the file.

    fmt: "auto" (XML whose root element's namespace contains "remt.001" -> remt; a file whose first
    non-blank char is '<' but is not remt.001 -> AdviceError saying what it is, e.g. "camt.053 is a
    statement: import it with 'hub receipts import'"; else CSV), "remt" or "csv".

    Each advice is a dict with the keys of :data:`ADVICE_FIELDS`; ``documents`` holds one dict per
    referred document (``number``, ``kind`` one of :data:`KINDS`, ``amount``, ``discount``, ``due``
    as Decimal or None, ``date`` as a date or None). Advices come in file order. The whole file is
    checked before anything is returned: any problem raises :class:`AdviceError`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    file = os.fspath(path)
    source = Path(path)
    head = _head(file, source)
    if fmt == "auto":
        fmt = _detect(file, source, head)
    if fmt == "remt":
        return _RemtReader(file, source, head).read()
    return _CsvReader(file, source).read()


def _head(file: str, path: Path) -> bytes:
    """The file's first bytes; an empty (or blank) file is refused here, whatever the format."""
    try:
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as exc:
        raise AdviceError(file, None, f"cannot read: {exc.strerror or exc}") from None
    if len(head) < HEAD_BYTES and not xml_head_text(head).strip(_BLANKS):
        raise AdviceError(file, None, "empty file")
    return head


def _detect(file: str, path: Path, head: bytes) -> str:
    """The format ("remt" or "csv") from the content, never the file name; other XML is refused, named."""
    if not xml_head_text(head).lstrip(_BLANKS).startswith("<"):
        return "csv"
    _check_prolog(file, head)
    namespace, name = _root(file, path)
    if "remt.001" in namespace:
        return "remt"
    raise AdviceError(file, None, _what_xml(namespace, name))


def _what_xml(namespace: str, name: str) -> str:
    """Why an XML document with this root is not a remittance advice."""
    match = _MESSAGE_TYPE.search(namespace)
    if match:
        kind = match.group(1)
        return f"{kind} {_NOT_ADVICES.get(kind, 'is not a remittance advice (remt.001)')}"
    where = f"in namespace {namespace!r}" if namespace else "without namespace"
    return f"XML with root element <{name}> {where} is not a remittance advice (ISO 20022 remt.001)"


def _check_prolog(file: str, head: bytes) -> None:
    """Only the XML declaration, comments, processing instructions and white space may precede the
    root element: a DOCTYPE (where entities are declared) never reaches the parser."""
    text = xml_head_text(head)
    pos, ended = skip_prolog(text)
    if not ended and len(head) >= HEAD_BYTES:
        raise AdviceError(file, None, f"more than {HEAD_BYTES} bytes before the root element")
    if text.startswith("<!", pos):
        raise AdviceError(file, None, "DTDs and entity declarations are not allowed in remittance advices")


def _check_docinfo(file: str, el: Any) -> None:
    """At the first event: no DTD anywhere before the root (the prolog check's second line)."""
    info = el.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise AdviceError(file, None, "DTDs and entity declarations are not allowed in remittance advices")


def _root(file: str, path: Path) -> tuple[str, str]:
    """(namespace, local name) of the root element; parses only as far as its start tag."""
    try:
        with path.open("rb") as f:
            for _event, el in etree.iterparse(f, events=("start",), **_PARSER_OPTIONS):
                _check_docinfo(file, el)
                qname = etree.QName(el)
                return qname.namespace or "", qname.localname
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(file, exc) from None
    except etree.LxmlError as exc:
        raise AdviceError(file, None, f"malformed XML: {exc}") from None
    except OSError as exc:
        raise AdviceError(file, None, f"cannot read: {exc.strerror or exc}") from None
    raise AdviceError(file, None, "malformed XML: no root element")


def _syntax_error(file: str, exc: etree.XMLSyntaxError) -> AdviceError:
    return AdviceError(file, f"line {exc.lineno}" if exc.lineno else None, f"malformed XML: {exc.msg}")


# -- element helpers ------------------------------------------------------------------------------


def _local(el: Any) -> str:
    """The local name of an element ("" for an entity reference)."""
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(el: Any, name: str) -> Any:
    if el is None:
        return None
    for c in el:
        if _local(c) == name:
            return c
    return None


def _child_text(el: Any, name: str) -> str | None:
    c = _child(el, name)
    return element_text(c) if c is not None else None


def _party_name(party: Any) -> str | None:
    """``Nm`` of a party (``Pty/Nm`` in the versions that nest it)."""
    name = _child_text(party, "Nm")
    if name is None:
        name = _child_text(_child(party, "Pty"), "Nm")
    return _collapse(name)


def _account_id(acct: Any) -> str | None:
    """``Id/IBAN`` else ``Id/Othr/Id`` of an account element."""
    ident = _child(acct, "Id")
    value = _child_text(ident, "IBAN")
    if value is None:
        value = _child_text(_child(ident, "Othr"), "Id")
    return _account(value)


# -- values shared by both formats ----------------------------------------------------------------


def _collapse(text: str | None) -> str | None:
    """White space runs as one space; None when nothing is left."""
    return (" ".join(text.split()) or None) if text else None


def _account(text: str | None) -> str | None:
    """An account id without white space, upper-case."""
    return ("".join(text.split()).upper() or None) if text else None


def _end_to_end(text: str | None) -> str | None:
    """An end-to-end id; the payment schemes' placeholder NOTPROVIDED is no id."""
    if not text:
        return None
    text = text.strip()
    return None if not text or text.upper() == "NOTPROVIDED" else text


def _document(
    number: str, kind: str, amount: Decimal | None, discount: Decimal | None, due: Decimal | None, date: dt.date | None
) -> dict[str, Any]:
    return {"number": number, "kind": kind, "amount": amount, "discount": discount, "due": due, "date": date}


# -- remt.001 -------------------------------------------------------------------------------------


class _RemtReader:
    """One pass over a remt.001 file (see :func:`read_advices`)."""

    def __init__(self, file: str, path: Path, head: bytes) -> None:
        self.file = file
        self.path = path
        self.head = head
        self._rmt: Any = None  # the RmtInf being read, and its position
        self._n = 0
        self._doc_ccy: str | None = None  # the currency of its first document amount

    def read(self) -> list[dict[str, Any]]:
        _check_prolog(self.file, self.head)
        try:
            with self.path.open("rb") as f:
                context = etree.iterparse(f, events=("start", "end"), tag=_ITERPARSE_TAGS, **_PARSER_OPTIONS)
                return self._walk(context)
        except etree.XMLSyntaxError as exc:
            raise _syntax_error(self.file, exc) from None
        except etree.LxmlError as exc:
            raise AdviceError(self.file, None, f"malformed XML: {exc}") from None
        except OSError as exc:
            raise AdviceError(self.file, None, f"cannot read: {exc.strerror or exc}") from None

    def _walk(self, context: Any) -> list[dict[str, Any]]:
        advices: list[dict[str, Any]] = []
        seen: dict[str, str] = {}  # external_id -> where it was first
        checked = False
        messages = 0
        advc: Any = None  # the RmtAdvc being read
        message_id: str | None = None
        for event, el in context:
            if not checked:
                _check_docinfo(self.file, el)
                checked = True
            name = _local(el)
            if name == "RmtAdvc":
                if event == "start":
                    messages += 1
                    advc, message_id = el, None
                else:
                    advc = None
                    el.clear(keep_tail=False)
                continue
            if event == "start":
                continue
            if advc is None or el.getparent() is not advc:
                if name == "RmtInf":
                    raise AdviceError(
                        self.file, f"line {el.sourceline}", "remittance information (RmtInf) outside an RmtAdvc"
                    )
                continue  # a GrpHdr of something else
            if name == "GrpHdr":
                message_id = _child_text(el, "MsgId")
            else:
                self._n += 1
                self._rmt = el
                advice = self._advice(el, message_id)
                key = advice["external_id"]
                here = f"RmtInf[{self._n}] (line {el.sourceline})"
                if key in seen:
                    raise AdviceError(
                        self.file,
                        f"line {el.sourceline}, RmtInf[{self._n}]",
                        f"advice id {key!r} repeats the one of {seen[key]}",
                    )
                seen[key] = here
                advices.append(advice)
            # Bounded memory: drop the element's subtree and every earlier sibling.
            el.clear(keep_tail=False)
            while el.getprevious() is not None:
                del advc[0]
        if messages == 0:
            root = getattr(context, "root", None)
            found = ""
            if root is not None:
                qname = etree.QName(root)
                found = f"; the document is <{qname.localname}>"
                found += f" in namespace {qname.namespace!r}" if qname.namespace else " without namespace"
            raise AdviceError(self.file, None, f"no remittance advice (RmtAdvc) in this XML{found}")
        if not advices:
            raise AdviceError(
                self.file, None, "the remittance advice (RmtAdvc) holds no remittance information (RmtInf)"
            )
        return advices

    # -- one advice ---------------------------------------------------------------------------------

    def _where(self, el: Any) -> str:
        """``line N, RmtInf[n]/...`` for an element of the RmtInf being read."""
        parts: list[str] = []
        node = el
        while node is not None and node is not self._rmt:
            name = _local(node)
            parent = node.getparent()
            same = [s for s in parent if _local(s) == name] if parent is not None else [node]
            parts.append(f"{name}[{same.index(node) + 1}]" if len(same) > 1 else name)
            node = parent
        parts.append(f"RmtInf[{self._n}]")
        return f"line {el.sourceline}, {'/'.join(reversed(parts))}"

    def _error(self, el: Any, reason: str) -> AdviceError:
        return AdviceError(self.file, self._where(el), reason)

    def _advice(self, rmt: Any, message_id: str | None) -> dict[str, Any]:
        self._doc_ccy = None
        rmt_id: str | None = None
        texts: list[str] = []
        documents: list[dict[str, Any]] = []
        original: Any = None
        for c in rmt:
            name = _local(c)
            if name == "RmtId":
                rmt_id = element_text(c)
            elif name == "Ustrd":
                text = element_text(c)
                if text:
                    texts.append(text)
            elif name == "Strd":
                self._structured(c, texts, documents)
            elif name == "OrgnlPmtInf":
                original = c
        if rmt_id:
            external_id = rmt_id
        elif message_id:
            external_id = f"{message_id}/{self._n}"
        else:
            raise self._error(rmt, "no advice id: neither RmtId nor a message id (GrpHdr/MsgId)")
        if not documents:
            if original is None:
                raise self._error(
                    rmt, f"advice {external_id!r} has no original payment (OrgnlPmtInf) and lists no document"
                )
            raise self._error(rmt, f"advice {external_id!r} lists no document (Strd/RfrdDocInf or Strd/CdtrRefInf)")
        advice = {
            "external_id": external_id,
            "message_id": message_id,
            "payer_name": None,
            "payer_account": None,
            "end_to_end_id": None,
            "amount": None,
            "currency": None,
            "payment_date": None,
            "texts": texts,
            "documents": documents,
        }
        if original is not None:
            self._payment(original, advice)
        if advice["currency"] is None:
            advice["currency"] = self._doc_ccy
        if advice["currency"] is None:
            raise self._error(rmt, f"advice {external_id!r} has no currency (no amount with a Ccy)")
        return advice

    def _payment(self, original: Any, advice: dict[str, Any]) -> None:
        """The fields of ``OrgnlPmtInf``: the payment the advice belongs to."""
        for c in original:
            name = _local(c)
            if name == "Refs":
                advice["end_to_end_id"] = _end_to_end(_child_text(c, "EndToEndId"))
            elif name == "Amt":
                amt = _child(c, "InstdAmt")
                if amt is None:
                    amt = _child(_child(c, "EqvtAmt"), "Amt")
                if amt is not None:
                    amount, ccy = self._amount(amt)
                    if amount < 0:
                        raise self._error(amt, f"negative payment amount {amount}")
                    advice["amount"], advice["currency"] = amount, ccy
            elif name == "ReqdExctnDt":
                # Dt or DtTm (.04 and later); the date directly in older versions
                holder = _child(c, "Dt")
                if holder is None:
                    holder = _child(c, "DtTm")
                advice["payment_date"] = self._date(holder if holder is not None else c)
            elif name == "Dbtr":
                advice["payer_name"] = _party_name(c)
            elif name == "DbtrAcct":
                advice["payer_account"] = _account_id(c)

    def _structured(self, strd: Any, texts: list[str], documents: list[dict[str, Any]]) -> None:
        """One ``Strd`` block: its documents (its amounts belong to the first) and its texts."""
        infos: list[Any] = []
        amounts: Any = None
        creditor_ref: Any = None
        for c in strd:
            name = _local(c)
            if name == "RfrdDocInf":
                infos.append(c)
            elif name == "RfrdDocAmt":
                amounts = c
            elif name == "CdtrRefInf":
                creditor_ref = c
            elif name == "AddtlRmtInf":
                text = element_text(c)
                if text:
                    texts.append(text)
        amount = discount = due = None
        if amounts is not None:
            for c in amounts:
                name = _local(c)
                if name == "RmtdAmt":
                    amount = self._amount(c)[0]
                elif name == "DuePyblAmt":
                    due = self._amount(c)[0]
                elif name == "DscntApldAmt":
                    # Tp and Amt (.03 and later), the amount directly in the oldest version
                    inner = _child(c, "Amt")
                    value = self._amount(inner if inner is not None else c)[0]
                    discount = value if discount is None else discount + value
        if not infos:
            ref = _child_text(creditor_ref, "Ref")
            if ref:
                documents.append(_document(ref, "other", amount, discount, due, None))
            return
        for i, info in enumerate(infos):
            number = _child_text(info, "Nb")
            if not number:
                raise self._error(info, "referred document without a number (Nb)")
            tp = _child(info, "Tp")
            if tp is None:
                kind = "invoice"
            else:
                code = _child_text(_child(tp, "CdOrPrtry"), "Cd")
                kind = _DOCUMENT_CODES.get(code.upper(), "other") if code else "other"
            related = _child(info, "RltdDt")
            date = None
            if related is not None:
                # an ISODate up to .04, DateAndType (Tp, Dt) in later versions
                holder = _child(related, "Dt")
                date = self._date(holder if holder is not None else related)
            if i == 0:
                documents.append(_document(number, kind, amount, discount, due, date))
            else:
                documents.append(_document(number, kind, None, None, None, date))

    def _amount(self, amt: Any) -> tuple[Decimal, str | None]:
        """(amount, upper-case currency or None) of an amount element; the first document currency
        is noted for advices whose payment has no amount."""
        text = element_text(amt)
        if not text or _XML_AMOUNT.fullmatch(text) is None:
            raise self._error(amt, f"{text!r} is not an amount")
        ccy = amt.get("Ccy")
        if ccy is not None:
            ccy = ccy.strip()
            if not _CURRENCY.fullmatch(ccy):
                raise self._error(amt, f"currency (Ccy) {ccy!r} is not a currency code")
            ccy = ccy.upper()
            if self._doc_ccy is None:
                self._doc_ccy = ccy
        return Decimal(text), ccy

    def _date(self, holder: Any) -> dt.date:
        text = element_text(holder)
        match = _XML_DATE.fullmatch(text) if text else None
        if match:
            try:
                return dt.date.fromisoformat(match.group(1))
            except ValueError:
                pass
        raise self._error(holder, f"{text!r} is not a date")


# -- the hub's CSV layout -------------------------------------------------------------------------


class _CsvAdvice:
    """An advice being gathered from its rows, and where its agreed values came from."""

    def __init__(self, external_id: str) -> None:
        self.advice: dict[str, Any] = {
            "external_id": external_id,
            "message_id": None,
            "payer_name": None,
            "payer_account": None,
            "end_to_end_id": None,
            "amount": None,
            "currency": None,
            "payment_date": None,
            "texts": [],
            "documents": [],
        }
        self.lines: dict[str, int] = {}  # column -> the line that gave its value


class _CsvReader:
    """A CSV file of advices, one row per document (see :func:`read_advices`)."""

    def __init__(self, file: str, path: Path) -> None:
        self.file = file
        self.path = path
        self._line = 0  # physical lines read so far

    def read(self) -> list[dict[str, Any]]:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise AdviceError(self.file, None, f"cannot read: {exc.strerror or exc}") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise AdviceError(self.file, f"line {line}", "not UTF-8 text") from None
        try:
            return self._read(io.StringIO(text, newline=""))
        except csv.Error as exc:
            raise AdviceError(self.file, f"line {self._line}", f"unreadable CSV: {exc}") from None

    def _counted(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            self._line += 1
            yield line

    def _read(self, f: io.StringIO) -> list[dict[str, Any]]:
        lines = self._counted(f)
        header_line = next((line for line in lines if line.strip(_BLANKS)), None)
        if header_line is None:
            raise AdviceError(self.file, None, "empty file")
        header_at = self._line
        delimiter = _sniff(header_line)
        rows = csv.reader(_chain(header_line, lines), delimiter=delimiter)
        header = next(rows)
        columns = self._columns(header, header_at)
        width = len(header)
        groups: dict[str, _CsvAdvice] = {}
        while True:
            start = self._line + 1
            row = next(rows, None)
            if row is None:
                break
            if not any(v.strip() for v in row):
                continue
            if len(row) > width and any(v.strip() for v in row[width:]):
                raise AdviceError(self.file, f"line {start}", f"{len(row)} fields but the header names {width}")
            values = {name: row[i].strip() if i < len(row) else "" for name, i in columns.items()}
            self._row(values, start, groups)
        return [g.advice for g in groups.values()]

    def _columns(self, header: list[str], line: int) -> dict[str, int]:
        """Column name -> index, for the columns this reader knows."""
        columns: dict[str, int] = {}
        for i, raw in enumerate(header):
            name = raw.strip(_BLANKS).lower()
            if name in _CSV_COLUMNS:
                if name in columns:
                    raise AdviceError(self.file, f"line {line}", f"column {name!r} appears twice in the header")
                columns[name] = i
        missing = [name for name in _CSV_REQUIRED if name not in columns]
        if missing:
            found = ", ".join(repr(h.strip()) for h in header if h.strip()) or "nothing"
            raise AdviceError(
                self.file, f"line {line}", f"missing required column(s) {', '.join(missing)} (the header has {found})"
            )
        return columns

    def _error(self, line: int, column: str, reason: str) -> AdviceError:
        return AdviceError(self.file, f"line {line}, column {column}", reason)

    def _row(self, values: dict[str, str], line: int, groups: dict[str, _CsvAdvice]) -> None:
        for name in _CSV_REQUIRED:
            if not values[name]:
                raise self._error(line, name, "empty")
        key = values["advice_id"]
        group = groups.get(key)
        if group is None:
            group = groups[key] = _CsvAdvice(key)
        advice = group.advice

        ccy = values["currency"]
        if not _CURRENCY.fullmatch(ccy):
            raise self._error(line, "currency", f"{ccy!r} is not a currency code")
        self._agree(group, "currency", "currency", ccy.upper(), line)
        if values.get("payment_amount"):
            amount = self._number(values["payment_amount"], line, "payment_amount")
            if amount < 0:
                raise self._error(line, "payment_amount", f"negative payment amount {amount}")
            self._agree(group, "amount", "payment_amount", amount, line)
        if values.get("payment_date"):
            self._agree(
                group, "payment_date", "payment_date", self._date(values["payment_date"], line, "payment_date"), line
            )
        if advice["payer_name"] is None:
            advice["payer_name"] = _collapse(values.get("payer_name"))
        if advice["payer_account"] is None:
            advice["payer_account"] = _account(values.get("payer_account"))
        if advice["end_to_end_id"] is None:
            advice["end_to_end_id"] = _end_to_end(values.get("end_to_end_id"))
        text = values.get("text")
        if text and text not in advice["texts"]:
            advice["texts"].append(text)

        kind = self._kind(values.get("document_type", ""), line)
        amounts = {}
        for column in ("amount", "discount", "due"):
            value = values.get(column)
            amounts[column] = self._number(value, line, column) if value else None
        date = values.get("document_date")
        advice["documents"].append(
            _document(
                values["document"],
                kind,
                amounts["amount"],
                amounts["discount"],
                amounts["due"],
                self._date(date, line, "document_date") if date else None,
            )
        )

    def _agree(self, group: _CsvAdvice, key: str, column: str, value: Any, line: int) -> None:
        """Set an advice-wide value; every row that gives it must give the same."""
        advice = group.advice
        if advice[key] is None:
            advice[key] = value
            group.lines[column] = line
        elif advice[key] != value:
            raise self._error(
                line,
                column,
                f"{value} differs from {advice[key]} on line {group.lines[column]} "
                f"(the rows of advice {advice['external_id']!r} must agree)",
            )

    def _kind(self, value: str, line: int) -> str:
        if not value:
            return "invoice"
        word = value.lower().replace(" ", "_").replace("-", "_")
        if word in _CSV_KINDS:
            return _CSV_KINDS[word]
        if _DOCUMENT_CODE.fullmatch(value):
            return _DOCUMENT_CODES.get(value.upper(), "other")
        raise self._error(
            line,
            "document_type",
            f"{value!r} is not a document type (invoice, credit_note, debit_note, other, or an ISO code such as CINV)",
        )

    def _number(self, value: str, line: int, column: str) -> Decimal:
        match = _CSV_NUMBER.fullmatch(value)
        if match is None:
            raise self._error(line, column, f"{value!r} is not an amount (write 1234.56, 1.234,56 or 1234,56)")
        if match["dot"] is not None:
            digits = match["dot"]
        elif match["grouped"] is not None:
            digits = match["grouped"].replace(".", "").replace(",", ".")
        else:
            digits = match["comma"].replace(",", ".")
        return Decimal(match["sign"] + digits)

    def _date(self, value: str, line: int, column: str) -> dt.date:
        match = _CSV_DATE.fullmatch(value)
        if match:
            if match[1] is not None:
                year, month, day = match[1], match[2], match[3]
            else:
                year, month, day = match[6], match[5], match[4]
            try:
                return dt.date(int(year), int(month), int(day))
            except ValueError:
                pass
        raise self._error(line, column, f"{value!r} is not a date (write 2024-03-31 or 31.03.2024)")


def _sniff(line: str) -> str:
    """The delimiter of a header line: whichever of , ; and tab occurs most outside quotes (comma
    when none does)."""
    counts = dict.fromkeys(_CSV_DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
