"""Streaming, safe reader for ISO 20022 bank-to-customer messages: camt.052, camt.053, camt.054.

Why our own parser: the Python camt libraries we tried drop remittance text, mix entry and detail
currencies, or do not read camt.054 at all. This one reads every version (.001.02 to .001.13) by
local element names, keeps entry and transaction amounts each with its currency, turns batch
entries into one receipt per transaction, and streams with ``lxml.etree.iterparse`` so a 120 MB
statement stays in bounded memory. DTDs are refused outright (no entity expansion, no external
entities, no network), files above a size limit are refused before parsing, and every problem is a
:class:`~hub.errors.StatementError` naming the file and the line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from hub.errors import StatementError

DEFAULT_MAX_BYTES = 2_000_000_000
_CAMT_NS = re.compile(rb"camt\.05[234]\.001\.\d\d")
_CONTAINERS = {"Stmt": "camt.053", "Ntfctn": "camt.054", "Rpt": "camt.052"}
_MESSAGES = {"BkToCstmrStmt": "camt.053", "BkToCstmrDbtCdtNtfctn": "camt.054", "BkToCstmrAcctRpt": "camt.052"}


def detect_camt(head: bytes) -> bool:
    """True when the first bytes are a camt.052/053/054 document (by namespace or message element)."""
    if _CAMT_NS.search(head):
        return True
    return any(f"<{m}".encode() in head or f":{m}".encode() in head for m in _MESSAGES)


@dataclass
class CamtSummary:
    """What a file held, filled while it is read."""

    message_type: str = ""
    statements: int = 0
    entries: int = 0
    receipts: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rpartition("}")[2]


class _View:
    """An element and the index of every element below it by path of local names.

    One Python pass over a subtree builds the index; every field is then a dict lookup. This is
    several times faster than ``find`` with paths, which lxml evaluates in Python per call.
    """

    __slots__ = ("el", "index", "path")

    def __init__(self, el: Any, index: dict[str, list[Any]], path: str) -> None:
        self.el = el
        self.index = index
        self.path = path

    @classmethod
    def of(cls, el: Any, stop: str = "") -> _View:
        index: dict[str, list[Any]] = {}

        def walk(node: Any, prefix: str) -> None:
            for child in node:
                tag = child.tag
                if not isinstance(tag, str):
                    continue
                key = prefix + tag.rpartition("}")[2]
                index.setdefault(key, []).append(child)
                if len(child) and key != stop:
                    walk(child, key + "/")

        walk(el, "")
        return cls(el, index, "")

    def find(self, path: str) -> _View | None:
        full = f"{self.path}/{path}" if self.path else path
        found = self.index.get(full)
        return _View(found[0], self.index, full) if found else None

    def findall(self, path: str) -> list[Any]:
        return self.index.get(f"{self.path}/{path}" if self.path else path, [])

    def get(self, attribute: str) -> Any:
        return self.el.get(attribute)

    @property
    def sourceline(self) -> int | None:
        return self.el.sourceline  # type: ignore[no-any-return]


class _Paths:
    """Element paths in one document's namespace, cached: ``find`` with exact names runs in C."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"{{{namespace}}}" if namespace else ""
        self._cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        got = self._cache.get(path)
        if got is None:
            got = self._cache[path] = "/".join(self.prefix + part for part in path.split("/"))
        return got


class CamtReader:
    """Iterate a camt file's receipts; :attr:`summary` is complete once the iteration ends.

    ``for receipt in CamtReader(path): ...`` yields one dict per transaction with the keys of the
    canonical :class:`hub.model.Receipt` (``bank_ref``, ``amount``, ``remittance``, ``references``...).
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.summary = CamtSummary()
        self.q = _Paths("")

    def _find(self, el: Any, path: str) -> Any:
        if el is None:
            return None
        if isinstance(el, _View):
            return el.find(path)
        return el.find(self.q(path))

    def _text(self, el: Any, path: str | None = None) -> str | None:
        if el is None:
            return None
        if path is not None:
            el = self._find(el, path)
            if el is None:
                return None
        text = el.el.text if isinstance(el, _View) else el.text
        if text is None:
            return None
        text = text.strip()
        return text or None

    def _name(self, party: Any) -> str | None:
        """A party's name: ``Nm`` (up to .07) or ``Pty/Nm`` (.08 and later)."""
        return self._text(party, "Nm") or self._text(party, "Pty/Nm")

    def _account(self, acct: Any) -> str | None:
        return self._text(acct, "Id/IBAN") or self._text(acct, "Id/Othr/Id")

    def _error(self, position: str | int | None, reason: str) -> StatementError:
        return StatementError(str(self.path), position, reason)

    def _check_file(self) -> None:
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as f:
                head = f.read(65536)
        except OSError as exc:
            raise self._error(None, f"cannot read: {exc.strerror}") from None
        if size > self.max_bytes:
            raise self._error(None, f"file is {size} bytes, over the limit of {self.max_bytes}")
        if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
            raise self._error(None, "DTDs and entity declarations are not allowed in bank statements")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self._check_file()
        # Only the elements the reader acts on raise Python-level events; everything inside an
        # entry is read from the finished subtree with C-level ``find``.
        context = etree.iterparse(
            str(self.path),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            tag=["{*}GrpHdr", "{*}Stmt", "{*}Ntfctn", "{*}Rpt", "{*}Ntry"],
        )
        try:
            yield from self._walk(context)
        except etree.XMLSyntaxError as exc:
            line = exc.lineno if exc.lineno else None
            raise self._error(f"line {line}" if line else None, f"malformed XML: {exc.msg}") from None

    def _walk(self, context: Any) -> Iterator[dict[str, Any]]:
        s = self.summary
        header: dict[str, str | None] = {"message_id": None, "created": None}
        stmt: dict[str, Any] = {}
        checked = False
        for event, el in context:
            if not checked:
                self._check_root(el.getroottree().getroot())
                checked = True
            name = _local(el.tag)
            if name == "Ntry":
                if event == "start":
                    if not stmt.get("read"):
                        self._read_container(el.getparent(), stmt)
                    continue
                s.entries += 1
                entry = _View.of(el, stop="NtryDtls")
                txs = [_View.of(tx) for tx in el.iterfind(self.q("NtryDtls/TxDtls"))]
                for receipt in self._entry(
                    entry, txs, stmt, header["message_id"], stmt.get("created") or header["created"]
                ):
                    s.receipts += 1
                    sign = 1 if receipt["direction"] == "credit" else -1
                    ccy = receipt["currency"]
                    s.totals[ccy] = s.totals.get(ccy, Decimal(0)) + sign * Decimal(receipt["amount"])
                    yield receipt
                parent = el.getparent()
                el.clear(keep_tail=False)
                while el.getprevious() is not None:
                    del parent[0]
            elif name in _CONTAINERS:
                if event == "start":
                    stmt = {}
                    s.statements += 1
                elif not stmt.get("read"):
                    self._read_container(el, stmt)  # a statement without entries
            elif name == "GrpHdr" and event == "end":
                header["message_id"] = self._text(el, "MsgId")
                header["created"] = self._text(el, "CreDtTm")
        if not checked:
            raise self._error(None, "not a camt.05x message (no statement, notification or report found)")
        if s.statements == 0:
            raise self._error(None, "not a camt.05x message (no statement, notification or report found)")

    def _check_root(self, root: Any) -> None:
        ns = etree.QName(root).namespace or ""
        self.q = _Paths(ns)
        match = re.search(r"camt\.05[234]\.001\.\d\d", ns)
        self.summary.message_type = match.group(0) if match else ""
        if not self.summary.message_type:
            first = next(iter(root), None)
            kind = _MESSAGES.get(_local(first.tag)) if first is not None else None
            if kind is None:
                raise self._error(f"line {root.sourceline}", "not a camt.05x message")
            self.summary.message_type = kind

    def _read_container(self, container: Any, stmt: dict[str, Any]) -> None:
        """Statement-level fields; they precede the entries, so they are complete at the first entry."""
        stmt["read"] = True
        stmt["statement_id"] = self._text(container, "Id")
        stmt["created"] = self._text(container, "CreDtTm")
        stmt["statement_seq"] = self._text(container, "ElctrncSeqNb") or self._text(container, "LglSeqNb")
        acct = self._find(container, "Acct")
        stmt["account"] = self._account(acct)
        stmt["account_currency"] = self._text(acct, "Ccy")

    # -- one entry ---------------------------------------------------------------------------------

    def _amount(self, amt: Any, what: str) -> tuple[str, str]:
        text = self._text(amt)
        ccy = amt.get("Ccy") if amt is not None else None
        if text is None or ccy is None:
            raise self._error(
                f"line {amt.sourceline if amt is not None else '?'}", f"{what} without amount or currency"
            )
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise self._error(f"line {amt.sourceline}", f"{what} {text!r} is not a number") from None
        if not value.is_finite() or value < 0:
            raise self._error(f"line {amt.sourceline}", f"{what} {text!r} must be a non-negative number")
        return text, ccy.strip().upper()

    def _date(self, el: Any, what: str) -> str | None:
        if el is None:
            return None
        text = self._text(el, "Dt") or self._text(el, "DtTm")
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            raise self._error(f"line {el.sourceline}", f"{what} {text!r} is not a date") from None

    def _entry(
        self, ntry: _View, txs: list[_View], stmt: dict[str, Any], message_id: str | None, created: str | None
    ) -> list[dict[str, Any]]:
        line = f"line {ntry.sourceline}"
        amt = self._find(ntry, "Amt")
        if amt is None:
            raise self._error(line, "entry (Ntry) without Amt")
        entry_amount, entry_ccy = self._amount(amt, "entry amount")
        direction = {"CRDT": "credit", "DBIT": "debit"}.get(self._text(ntry, "CdtDbtInd") or "")
        if direction is None:
            raise self._error(line, "entry without a valid CdtDbtInd (CRDT or DBIT)")
        sts = self._find(ntry, "Sts")
        status = (self._text(sts, "Cd") or self._text(sts)) if sts is not None else None
        booking = self._date(self._find(ntry, "BookgDt"), "booking date")
        value = self._date(self._find(ntry, "ValDt"), "value date")
        if booking is None:
            booking = value
        if booking is None and created:
            # Notifications of pending items may carry neither date: the message's creation date
            # is the best date there is, and the warning says so.
            try:
                booking = dt.date.fromisoformat(created[:10]).isoformat()
            except ValueError:
                booking = None
            self.summary.warnings.append(
                f"{line}: entry without booking or value date; dated {booking} from the message's creation time"
            )
        if booking is None:
            raise self._error(line, "entry without booking or value date")
        domain = self._find(ntry, "BkTxCd/Domn")
        if domain is not None:
            bank_tx_code = "/".join(
                x
                for x in (self._text(domain, "Cd"), self._text(domain, "Fmly/Cd"), self._text(domain, "Fmly/SubFmlyCd"))
                if x
            )
        else:
            bank_tx_code = self._text(ntry, "BkTxCd/Prtry/Cd")
        entry_ref = self._text(ntry, "AcctSvcrRef")
        ntry_ref = self._text(ntry, "NtryRef")
        base = {
            "statement_id": stmt.get("statement_id"),
            "statement_seq": stmt.get("statement_seq"),
            "message_id": message_id,
            "account": stmt.get("account"),
            "account_currency": stmt.get("account_currency"),
            "booking_date": booking,
            "value_date": value,
            "entry_amount": entry_amount,
            "entry_currency": entry_ccy,
            "reversal": (self._text(ntry, "RvslInd") or "").lower() == "true",
            "status": status,
            "bank_tx_code": bank_tx_code or None,
            "additional_entry_info": self._text(ntry, "AddtlNtryInf"),
        }
        tx_amounts = [self._tx_amount(tx) for tx in txs]
        details = [self._transaction(tx, direction) for tx in txs] or [self._transaction(None, direction)]
        if len(txs) > 1 and any(a is None for a in tx_amounts):
            self.summary.warnings.append(
                f"{line}: batch entry of {len(txs)} transactions without amounts per transaction; "
                "imported as one receipt of the entry amount with every transaction's remittance"
            )
            details = [_merge(details)]
            tx_amounts = [None]
        out = []
        batch = len(details) > 1
        for n, (r_tx, tx_amount) in enumerate(zip(details, tx_amounts or [None], strict=True), 1):
            r = dict(base)
            r.update(r_tx)
            r["tx_amount"], r["tx_currency"] = tx_amount if tx_amount is not None else (None, None)
            if batch and tx_amount is not None:
                r["amount"], r["currency"] = tx_amount
            else:
                # A single transaction: what was booked on the account is the entry (its details
                # may be in another currency, zero, or even carry the other indicator).
                r["amount"], r["currency"] = entry_amount, entry_ccy
                r["direction"] = direction
            ref = entry_ref or r.pop("_tx_ref") or ntry_ref
            r.pop("_tx_ref", None)
            r["bank_ref"] = f"{ref}/{n}" if ref and batch else ref
            r["external_id"] = self._key(r)
            out.append(r)
        return out

    def _tx_amount(self, tx: Any) -> tuple[str, str] | None:
        amt = self._find(tx, "Amt")
        if amt is None:
            amt = self._find(tx, "AmtDtls/TxAmt/Amt")
        return self._amount(amt, "transaction amount") if amt is not None else None

    def _transaction(self, tx: Any, entry_direction: str) -> dict[str, Any]:
        r: dict[str, Any] = {
            "direction": entry_direction,
            "payer_name": None,
            "payer_account": None,
            "ultimate_payer_name": None,
            "payer_bic": None,
            "remittance": None,
            "references": [],
            "additional_remittance": [],
            "end_to_end_id": None,
            "instruction_id": None,
            "tx_id": None,
            "mandate_id": None,
            "uetr": None,
            "additional_tx_info": None,
            "return_reason": None,
            "purpose": None,
            "instructed_amount": None,
            "instructed_currency": None,
            "_tx_ref": None,
        }
        if tx is None:
            return r
        text, find = self._text, self._find
        direction = {"CRDT": "credit", "DBIT": "debit"}.get(text(tx, "CdtDbtInd") or "")
        if direction:
            r["direction"] = direction
        refs = find(tx, "Refs")
        if refs is not None:
            e2e = text(refs, "EndToEndId")
            r["end_to_end_id"] = None if e2e in (None, "NOTPROVIDED") else e2e
            r["instruction_id"] = text(refs, "InstrId")
            r["tx_id"] = text(refs, "TxId")
            r["mandate_id"] = text(refs, "MndtId")
            r["uetr"] = text(refs, "UETR")
            r["_tx_ref"] = text(refs, "AcctSvcrRef")
        instd = find(tx, "AmtDtls/InstdAmt/Amt")
        if instd is not None:
            r["instructed_amount"], r["instructed_currency"] = self._amount(instd, "instructed amount")
        counterparty, ultimate = ("Dbtr", "UltmtDbtr") if r["direction"] == "credit" else ("Cdtr", "UltmtCdtr")
        parties = find(tx, "RltdPties")
        if parties is not None:
            r["payer_name"] = self._name(find(parties, counterparty))
            r["payer_account"] = self._account(find(parties, counterparty + "Acct"))
            r["ultimate_payer_name"] = self._name(find(parties, ultimate))
        agent = find(tx, f"RltdAgts/{counterparty}Agt/FinInstnId")
        if agent is not None:
            r["payer_bic"] = text(agent, "BICFI") or text(agent, "BIC")
        rmt = find(tx, "RmtInf")
        if rmt is not None:
            ustrd = [t for u in rmt.findall("Ustrd") if (t := text(u))]
            r["remittance"] = "\n".join(ustrd) or None
            for strd in rmt.findall("Strd"):
                for raw_part in strd:
                    part = _View.of(raw_part)
                    kind = _local(raw_part.tag)
                    if kind == "CdtrRefInf":
                        ref = text(part, "Ref")
                        if ref:
                            tp = find(part, "Tp")
                            r["references"].append(
                                {
                                    "type": text(tp, "CdOrPrtry/Cd") or text(tp, "CdOrPrtry/Prtry"),
                                    "value": ref,
                                    "issuer": text(tp, "Issr"),
                                }
                            )
                    elif kind == "RfrdDocInf":
                        number = text(part, "Nb")
                        if number:
                            tp = find(part, "Tp")
                            code = text(tp, "CdOrPrtry/Cd") or text(tp, "CdOrPrtry/Prtry") or "doc"
                            r["references"].append({"type": f"RDI:{code}", "value": number, "issuer": None})
                    elif kind == "AddtlRmtInf" and (t := text(part)):
                        r["additional_remittance"].append(t)
        r["additional_tx_info"] = text(tx, "AddtlTxInf")
        rtr = find(tx, "RtrInf/Rsn")
        if rtr is not None:
            r["return_reason"] = text(rtr, "Cd") or text(rtr, "Prtry")
        r["purpose"] = text(tx, "Purp/Cd")
        return r

    @staticmethod
    def _key(r: dict[str, Any]) -> str:
        """Stable de-duplication key: the bank's reference on the account, else a content hash."""
        account = r.get("account") or ""
        if r.get("bank_ref"):
            return f"{account}:{r['bank_ref']}"
        parts = [
            account,
            r["booking_date"],
            r["amount"],
            r["currency"],
            r["direction"],
            r.get("payer_name") or "",
            r.get("payer_account") or "",
            r.get("remittance") or "",
            r.get("end_to_end_id") or "",
        ]
        return "h:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _merge(details: list[dict[str, Any]]) -> dict[str, Any]:
    """One receipt's details from several transactions that carry no amounts of their own."""
    merged = dict(details[0])
    texts = [d["remittance"] for d in details if d["remittance"]]
    merged["remittance"] = "\n".join(texts) or None
    merged["references"] = [ref for d in details for ref in d["references"]]
    merged["additional_remittance"] = [t for d in details for t in d["additional_remittance"]]
    return merged


def iter_camt(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[dict[str, Any]]:
    """Yield a camt file's receipts (see :class:`CamtReader` for the summary)."""
    return iter(CamtReader(path, max_bytes=max_bytes))
