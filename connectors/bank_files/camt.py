"""Streaming, safe reader for ISO 20022 bank-to-customer messages: camt.052, camt.053, camt.054.

Why our own parser: the Python camt libraries we tried drop remittance text, mix entry and detail
currencies, or do not read camt.054 at all. This one reads every version (.001.02 to .001.13) by
local element names, keeps entry and transaction amounts each with its currency, turns batch
entries into one receipt per transaction, and streams so a 120 MB statement stays in bounded
memory: the common entry shapes are read from the file's own text with one regular expression
each while libxml2 checks every byte (raw mode, see ``_RawScanner``), and ``lxml.etree.iterparse``
reads the rest. DTDs are refused outright (no entity expansion, no external entities, no
network), files above a size limit are refused before parsing, and every problem is a
:class:`~hub.errors.StatementError` naming the file and the line.

Use::

    reader = CamtReader(path)            # nothing is read yet
    for receipt in reader:               # one dict per transaction, see below
        ...
    reader.summary                       # CamtSummary, filled progressively, complete at the end
    for row in reader.rows(): ...        # the same receipts as tuples in RECEIPT_FIELDS order

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

import codecs
import datetime as dt
import os
import queue
import re
import secrets
import stat
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from lxml import etree

from hub import StatementError

from .common import (
    RECEIPT_FIELDS,
    ReceiptKeys,
    StatementSummary,
    element_text,
    new_receipt,
    skip_prolog,
    xml_head_text,
    xml_prolog_problem,
)

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


def detect_camt(head: bytes) -> bool:
    """True when the first bytes (a few KB) are a camt.052/053/054 document.

    Decided from content, never the file name: an XML document whose namespace is
    ``urn:iso:std:iso:20022:tech:xsd:camt.05[234].001.xx`` or that holds one of the three
    bank-to-customer message elements (``BkToCstmrStmt``, ``BkToCstmrDbtCdtNtfctn``, ``BkToCstmrAcctRpt``).
    """
    text = xml_head_text(head).lstrip()
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
            return element_text(c)
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
            return element_text(c)
        if name == "Pty":
            return _child_text(c, "Nm")
    return None


def _bic(agent: Any) -> str | None:
    fin = _child(agent, "FinInstnId") if agent is not None else None
    if fin is None:
        return None
    return _child_text(fin, "BICFI") or _child_text(fin, "BIC")


# -- the fast path for common entry shapes ---------------------------------------------------------
#
# Why: walking an entry's ~30 elements in Python costs two to three times what libxml2 spends
# parsing it (about 25 against 9 microseconds).
# libxml2 serialises a finished entry in one C call into a canonical text (double-quoted attributes,
# empty elements as ``<X/>``, only ``&amp; &lt; &gt; &#13;`` escaped in text), and one compiled
# regular expression reads the fields of the common shapes from it: one transaction (or none), the
# elements in schema order, each at most once. An entry in any other shape, or with any value the
# checks below would refuse, goes to ``_entry`` (the reference), which raises the same errors as
# before; the fast path has no side effect until it has accepted the entry. ``_FAST_PATH = False``
# turns it off (the tests compare both).

_FAST_PATH = True
#: Raw mode (see _RawScanner); off, the fast path reads libxml2's serialisation of each entry.
_RAW = True
_W = "[ \t\n]*"  # white space between elements (\r is serialised as &#13;, so never here)

#: The names of the captured groups, in order (the pattern builder checks it).
_FAST_GROUPS = (
    "ntry_ref",
    "e_amt_ccy",
    "e_amt",
    "e_ind",
    "rvsl",
    "sts_text",
    "sts_cd",
    "booked",
    "valued",
    "e_ref",
    "dom_cd",
    "fmly_cd",
    "sub_cd",
    "prtry_cd",
    "has_tx",
    "r_acct_svcr_ref",
    "r_instr",
    "r_e2e",
    "r_uetr",
    "r_tx_id",
    "r_mndt",
    "t_amt_ccy",
    "t_amt",
    "t_ind",
    "i_amt_ccy",
    "i_amt",
    "x_amt_ccy",
    "x_amt",
    "dbtr_nm",
    "dbtr_iban",
    "dbtr_othr",
    "udbtr_nm",
    "cdtr_nm",
    "cdtr_iban",
    "cdtr_othr",
    "ucdtr_nm",
    "dbtr_bic",
    "cdtr_bic",
    "purp",
    "ustrd",
    "strd",
    "rsn_cd",
    "rsn_prtry",
    "tx_info",
    "e_info",
)
#: ... and of one item of a ``Strd`` block.
_STRD_GROUPS = ("k_ref", "ref_cd", "ref_prtry", "ref_issr", "ref", "k_doc", "doc_cd", "doc_prtry", "nb", "addtl")


class _Patterns:
    """Pieces of the fast-path expressions for elements carrying ``prefix`` ('' or 'ns:').

    ``tight``: no white space between elements and no element the readers skip: two to three times
    faster to match, so it is tried first (machine-written files have that shape).
    """

    def __init__(self, prefix: str, *, capture: bool = True, tight: bool = False) -> None:
        self.prefix = prefix
        self.p = re.escape(prefix)
        self.capture = capture
        self.tight = tight
        self.w = "" if tight else _W
        #: The expression of each captured group (see ``_FastPath.specialise``).
        self.groups: dict[str, str] = {}

    def group(self, name: str, value: str) -> str:
        if not self.capture:
            return f"(?:{value})"
        self.groups[name] = value
        return f"(?P<{name}>{value})"

    def cap(self, name: str, value: str | None = None) -> str:
        """A text, captured. Tight: only a text without white space at either end (``\\s`` is
        ``str.isspace``, so it is already what ``str.strip()`` gives); else any text, stripped later."""
        if value is None:
            value = r"[^<\s][^<]*(?<!\s)" if self.tight else "[^<]*"
        return self.group(name, value)

    def leaf(self, tag: str, name: str, *, required: bool = False) -> str:
        """An element holding only text, captured (None for ``<X/>`` unless ``required``, as ``.text``)."""
        p = self.p
        closed = "" if required else f"|<{p}{tag}/>"
        return f"(?:<{p}{tag}>{self.cap(name)}</{p}{tag}>{closed}){self.w}"

    def el(self, tag: str, inner: str) -> str:
        return f"<{self.p}{tag}>{self.w}{inner}</{self.p}{tag}>{self.w}"

    def tag(self, tag: str, name: str) -> str:
        """An opening tag, captured as a marker."""
        return self.group(name, f"<{self.p}{tag}>")

    @staticmethod
    def opt(inner: str) -> str:
        return f"(?:{inner})?"

    def one(self, *tags: str) -> str:
        """One of these elements, content unread. The content may not hold the same tag again, so the
        first closing tag found is this element's own (the serialised text is well-formed)."""
        if self.tight:
            return "(?!)"
        alts = []
        for tag in tags:
            t = f"{self.p}{tag}"
            alts.append(f"<{t}(?: [^>]*)?/>|<{t}(?: [^>]*)?>(?:[^<]|<(?!/?{t}[ />]))*</{t}>")
        return f"(?:{'|'.join(alts)}){self.w}"

    def skip(self, *tags: str) -> str:
        """Any number of these elements, content unread."""
        return "" if self.tight else f"(?:{self.one(*tags)})*"

    def strd_item(self) -> str:
        """One child of ``RmtInf/Strd``: what ``_structured`` reads, or an element it ignores."""
        el, leaf, opt = self.el, self.leaf, self.opt

        def code(name: str) -> str:
            return opt(el("CdOrPrtry", f"(?:{leaf('Cd', name + '_cd')}|{leaf('Prtry', name + '_prtry')})"))

        creditor_type = opt(el("Tp", code("ref") + opt(leaf("Issr", "ref_issr"))))
        creditor = (
            f"{self.tag('CdtrRefInf', 'k_ref')}{self.w}{creditor_type}"
            f"{opt(leaf('Ref', 'ref'))}</{self.p}CdtrRefInf>{self.w}"
        )
        document = (
            f"{self.tag('RfrdDocInf', 'k_doc')}{self.w}{opt(el('Tp', code('doc') + self.skip('Issr')))}"
            f"{opt(leaf('Nb', 'nb'))}{self.skip('RltdDt', 'LineDtls')}</{self.p}RfrdDocInf>{self.w}"
        )
        other = self.one("RfrdDocAmt", "Invcr", "Invcee", "TaxRmt", "GrnshmtRmt")
        return f"(?:{creditor}|{document}|{leaf('AddtlRmtInf', 'addtl')}|{other})"

    def entry(self) -> str:
        p, el, leaf, opt, skip, cap = self.p, self.el, self.leaf, self.opt, self.skip, self.cap

        def amount(name: str) -> str:
            # only what _AMOUNT accepts (anything else goes to _entry, which refuses it)
            number = cap(name, r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
            return f'<{p}Amt Ccy="{self.group(name + "_ccy", "[A-Za-z]{3}")}">{number}</{p}Amt>{self.w}'

        def party(tag: str, name: str) -> str:
            # Nm directly (up to .07) or in Pty (.08 and later); nothing else holds a name at this level
            rest = skip("PstlAdr") + opt(el("Id", skip("OrgId", "PrvtId"))) + skip("CtryOfRes", "CtctDtls")
            return el(tag, f"(?:<{p}Pty>{self.w})?{opt(leaf('Nm', name))}{rest}(?:</{p}Pty>{self.w})?")

        def account(tag: str, name: str) -> str:
            other = el("Othr", leaf("Id", name + "_othr") + skip("SchmeNm", "Issr"))
            return el(tag, el("Id", f"(?:{leaf('IBAN', name + '_iban')}|{other})") + skip("Tp", "Ccy", "Nm", "Prxy"))

        def agent(tag: str, name: str) -> str:
            fin = opt(f"<{p}(?:BICFI|BIC)>{cap(name)}</{p}(?:BICFI|BIC)>{self.w}") + skip(
                "ClrSysMmbId", "LEI", "Nm", "PstlAdr", "Othr"
            )
            return el(tag, el("FinInstnId", fin) + skip("BrnchId"))

        domain = el("Domn", leaf("Cd", "dom_cd") + el("Fmly", leaf("Cd", "fmly_cd") + leaf("SubFmlyCd", "sub_cd")))
        bank_tx_code = el("BkTxCd", opt(domain) + opt(el("Prtry", leaf("Cd", "prtry_cd") + skip("Issr"))))
        status = f"(?:<{p}Sts>(?:{cap('sts_text')}|{self.w}{leaf('Cd', 'sts_cd')})</{p}Sts>|<{p}Sts/>){self.w}"
        booked = el("BookgDt", f"<{p}(?:Dt|DtTm)>{cap('booked')}</{p}(?:Dt|DtTm)>{self.w}")
        valued = el("ValDt", f"<{p}(?:Dt|DtTm)>{cap('valued')}</{p}(?:Dt|DtTm)>{self.w}")
        head = (
            opt(leaf("NtryRef", "ntry_ref"))
            + amount("e_amt")
            + leaf("CdtDbtInd", "e_ind", required=True)
            + opt(leaf("RvslInd", "rvsl"))
            + opt(status)
            + opt(booked)
            + opt(valued)
            + opt(leaf("AcctSvcrRef", "e_ref"))
            + skip("Avlbty")
            + opt(bank_tx_code)
            + skip("ComssnWvrInd", "AddtlInfInd", "AmtDtls", "Chrgs", "TechInptChanl", "Intrst", "CardTx")
        )
        refs = el(
            "Refs",
            skip("MsgId")
            + opt(leaf("AcctSvcrRef", "r_acct_svcr_ref"))
            + skip("PmtInfId")
            + opt(leaf("InstrId", "r_instr"))
            + opt(leaf("EndToEndId", "r_e2e"))
            + opt(leaf("UETR", "r_uetr"))
            + opt(leaf("TxId", "r_tx_id"))
            + opt(leaf("MndtId", "r_mndt"))
            + skip("ChqNb", "ClrSysRef", "AcctOwnrTxId", "AcctSvcrTxId", "MktInfrstrctrTxId", "PrcgId", "Prtry"),
        )
        amounts = el(
            "AmtDtls",
            opt(el("InstdAmt", amount("i_amt") + skip("CcyXchg")))
            + opt(el("TxAmt", amount("x_amt") + skip("CcyXchg")))
            + skip("CntrValAmt", "AnncdPstngAmt", "PrtryAmt"),
        )
        parties = el(
            "RltdPties",
            skip("InitgPty")
            + opt(party("Dbtr", "dbtr_nm"))
            + opt(account("DbtrAcct", "dbtr"))
            + opt(party("UltmtDbtr", "udbtr_nm"))
            + opt(party("Cdtr", "cdtr_nm"))
            + opt(account("CdtrAcct", "cdtr"))
            + opt(party("UltmtCdtr", "ucdtr_nm"))
            + skip("TradgPty", "Prtry"),
        )
        agents = el(
            "RltdAgts",
            opt(agent("DbtrAgt", "dbtr_bic"))
            + opt(agent("CdtrAgt", "cdtr_bic"))
            + skip("IntrmyAgt1", "IntrmyAgt2", "IntrmyAgt3", "RcvgAgt", "DlvrgAgt", "IssgAgt", "SttlmPlc", "Prtry"),
        )
        # every Ustrd, and every Strd, each as one serialised block read again below
        unstructured = self.group("ustrd", f"(?:(?:<{p}Ustrd>[^<]*</{p}Ustrd>|<{p}Ustrd/>){self.w})*")
        item = _Patterns(self.prefix, capture=False).strd_item()
        structured = self.group("strd", f"(?:<{p}Strd>{self.w}(?:{item})*</{p}Strd>{self.w})*")
        remittance = el("RmtInf", unstructured + structured)
        returned = el(
            "RtrInf",
            skip("OrgnlBkTxCd", "Orgtr")
            + opt(el("Rsn", f"(?:{leaf('Cd', 'rsn_cd')}|{leaf('Prtry', 'rsn_prtry')})"))
            + skip("AddtlInf"),
        )
        tx = (
            opt(refs)
            + opt(amount("t_amt"))
            + opt(leaf("CdtDbtInd", "t_ind", required=True))
            + opt(amounts)
            + skip("Avlbty", "BkTxCd", "Chrgs", "Intrst")
            + opt(parties)
            + opt(agents)
            + skip("LclInstrm")
            + opt(el("Purp", leaf("Cd", "purp")))
            + skip("RltdRmtInf")
            + opt(remittance)
            + skip("RltdDts", "RltdPric", "RltdQties", "FinInstrmId", "Tax")
            + opt(returned)
            + skip("CorpActn", "SfkpgAcct", "CshDpst", "CardTx")
            + opt(leaf("AddtlTxInf", "tx_info"))
            + skip("SplmtryData")
        )
        details = el("NtryDtls", skip("Btch") + opt(f"{self.tag('TxDtls', 'has_tx')}{self.w}{tx}</{p}TxDtls>{self.w}"))
        return f"{self.open_tag()}{self.w}{head}{opt(details)}{opt(leaf('AddtlNtryInf', 'e_info'))}</{p}Ntry>"

    def open_tag(self) -> str:
        return f"<{self.p}Ntry(?: [^>]*)?>"


def _compiled(pattern: str, groups: tuple[str, ...]) -> re.Pattern[str]:
    compiled = re.compile(pattern)
    names = tuple(sorted(compiled.groupindex, key=compiled.groupindex.__getitem__))
    if names != groups or compiled.groups != len(names):  # pragma: no cover - a programming error
        raise AssertionError(f"fast-path groups out of order: {names}")
    return compiled


class _FastPath:
    """The compiled expressions for entries whose elements carry one prefix."""

    def __init__(self, prefix: str) -> None:
        self.patterns = _Patterns(prefix, tight=True)
        self.tight = _compiled(self.patterns.entry(), _FAST_GROUPS).fullmatch
        general = _Patterns(prefix)
        self.general = _compiled(general.entry(), _FAST_GROUPS).fullmatch
        self.strd_items = _compiled(general.strd_item(), _STRD_GROUPS).finditer

    def specialise(self, m: Any) -> tuple[Any, Any, Any]:
        """From an entry the tight expression matched, one for entries of exactly its shape, and how
        to get the tight expression's groups from its match.

        Why: most of the tight expression's time goes into trying the elements an entry does not
        have; a file's entries mostly have the same shape, and the expression of that shape (its
        tags as they are, its texts as the same groups) runs about twice as fast. Where it matches,
        the tight one matches the same texts the same way (the tags decide every choice in it).
        """
        text = m.string
        parts = [self.patterns.open_tag()]
        position = text.index(">") + 1  # the opening tag, whatever its attributes
        order = []  # each group of the tight expression: its place in the new one, or past the end
        count = 0
        for name in _FAST_GROUPS:
            start, end = m.span(name)
            if start < 0:
                order.append(-1)
                continue
            parts.append(re.escape(text[position:start]))
            parts.append(f"({self.patterns.groups[name]})")
            position = end
            order.append(count)
            count += 1
        parts.append(re.escape(text[position:]))
        getter = itemgetter(*(count if i < 0 else i for i in order))
        present = [name for name, i in zip(_FAST_GROUPS, order, strict=True) if i >= 0]
        return re.compile("".join(parts)).fullmatch, getter, _shape_receipt(present)


def _shape_receipt(present: list[str]) -> Callable[..., tuple[str | None, tuple[Any, ...]] | None] | None:
    """``_fast_receipt``'s reading of a clean entry of one shape (these groups present, all others
    absent), written out for that shape; None where the shape is left to ``_fast_receipt`` itself.

    Why: an entry's receipt is mostly decided by which elements it has; ``_fast_receipt`` asks that
    of all 45 groups for every entry, this code only reads the groups the shape has. It returns
    None (``_fast_receipt`` then reads the entry) where a currency or date is not cached yet, where
    an indicator is unknown, where the entry has structured remittance, and for shapes without any
    date. (The Ustrd and Strd groups are in every shape with remittance, empty where the entry has none.)
    """
    has = set(present).__contains__
    if not (has("booked") or has("valued")):
        return None

    def first(*names: str) -> str:
        found = [n for n in names if has(n)]
        return " or ".join(found) if found else "None"

    code = [
        "def receipt(g, currencies, dates):",
        f"    {', '.join(present)}, = g",
        *(["    if strd: return None"] if has("strd") else []),
        "    entry_ccy = currencies.get(e_amt_ccy)",
        "    if entry_ccy is None: return None",
        "    direction = _DIRECTIONS.get(e_ind)",
        "    if direction is None: return None",
    ]
    if has("valued"):
        code += ["    value = dates.get(valued)", "    if value is None: return None"]
    else:
        code.append("    value = None")
    if has("booked"):
        code += ["    booking = dates.get(booked)", "    if booking is None: return None"]
    else:
        code.append("    booking = value")
    parts = [n for n in ("dom_cd", "fmly_cd", "sub_cd") if has(n)]
    code.append(f"    code = '/'.join(({', '.join(parts)},))" if parts else f"    code = {first('prtry_cd')}")
    tx = [
        "tx_amount",
        "tx_ccy",
        "instructed",
        "instructed_ccy",
        "payer",
        "payer_account",
        "ultimate",
        "bic",
        "remittance",
    ]
    if has("has_tx"):
        amount = next(((a, c) for a, c in (("t_amt", "t_amt_ccy"), ("x_amt", "x_amt_ccy")) if has(a)), None)
        if amount is None:
            code.append("    tx_amount = tx_ccy = None")
        else:
            code += [
                f"    tx_amount = {amount[0]}",
                f"    tx_ccy = currencies.get({amount[1]})",
                "    if tx_ccy is None: return None",
            ]
        if has("i_amt"):
            code += [
                "    instructed = i_amt",
                "    instructed_ccy = currencies.get(i_amt_ccy)",
                "    if instructed_ccy is None: return None",
            ]
        else:
            code.append("    instructed = instructed_ccy = None")
        if has("t_ind"):
            code += ["    tx_direction = _DIRECTIONS.get(t_ind)", "    if tx_direction is None: return None"]
        else:
            code.append("    tx_direction = direction")
        code += [
            "    if tx_direction == 'credit':",
            f"        payer, payer_account = {first('dbtr_nm')}, {first('dbtr_iban', 'dbtr_othr')}",
            f"        ultimate, bic = {first('udbtr_nm')}, {first('dbtr_bic')}",
            "    else:",
            f"        payer, payer_account = {first('cdtr_nm')}, {first('cdtr_iban', 'cdtr_othr')}",
            f"        ultimate, bic = {first('ucdtr_nm')}, {first('cdtr_bic')}",
        ]
        if has("ustrd"):
            code += [
                "    texts = [t for t in map(str.strip, _TEXTS(ustrd)) if t] if ustrd else None",
                "    remittance = '\\n'.join(texts) if texts else None",
            ]
        else:
            code.append("    remittance = None")
    else:
        code.append(f"    {' = '.join(tx)} = None")
    reversal = "rvsl.lower() in ('true', '1')" if has("rvsl") else "False"
    e2e = "None if r_e2e == 'NOTPROVIDED' else r_e2e" if has("r_e2e") else "None"
    code.append(
        f"    return {first('e_ref', 'r_acct_svcr_ref', 'ntry_ref')}, (booking, value, e_amt, entry_ccy, e_amt, "
        f"entry_ccy, tx_amount, tx_ccy, instructed, instructed_ccy, direction, {reversal}, "
        f"{first('sts_text', 'sts_cd')}, code, payer, payer_account, ultimate, bic, remittance, [], [], {e2e}, "
        f"{first('r_instr')}, {first('r_tx_id')}, {first('r_mndt')}, {first('r_uetr')}, {first('e_info')}, "
        f"{first('tx_info')}, {first('rsn_cd', 'rsn_prtry')}, {first('purp')})"
    )
    namespace: dict[str, Any] = {"_DIRECTIONS": _DIRECTIONS, "_TEXTS": _TEXTS}
    exec(compile("\n".join(code), "<camt entry shape>", "exec"), namespace)
    function: Callable[..., tuple[str | None, tuple[Any, ...]] | None] = namespace["receipt"]
    return function


def _unescape(text: str) -> str | None:
    """Serialised text back to the element's text (None: an escape the fast path does not know)."""
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&#13;", "\r")
    if text.count("&") != text.count("&amp;"):
        return None
    return text.replace("&amp;", "&")


#: The texts of a serialised block of ``Ustrd`` (``<Ustrd>a</Ustrd><Ustrd>b</Ustrd>``).
_TEXTS = re.compile(">([^<]*)</").findall
#: Compiled fast-path expressions per element prefix (a hostile file cannot grow it without bound).
_FAST_MATCH: dict[str | None, _FastPath] = {}
#: Entry shapes a reader keeps expressions for, and how many it may compile per file.
_SHAPES = 4
_SHAPE_BUDGET = 32


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


# -- raw mode: the file's own text, libxml2 only to check it ------------------------------------------
#
# Why: building libxml2's tree of every entry, handing each to Python and serialising it again costs
# about three times what libxml2 spends merely checking the same bytes. In raw mode the reader reads
# the file's text itself: each ``<Ntry>...</Ntry>`` that the fast-path expressions read completely
# is taken out, and ``iterparse`` parses what is left (the skeleton: message header, statements,
# balances, and every entry the expressions could not read, as it is), with a placeholder where the
# taken entries were (one per run, with their line breaks, so line numbers stay right). A parser
# without callbacks checks every byte of the file for well-formedness on the side, so a damaged file
# fails exactly as it does in the element walk. The text is read this way only while nothing can hide
# markup from a plain search: no comment, CDATA section or processing instruction after the root
# element starts, and UTF-8 (declared or by default). From the first such construct on, and for
# any other encoding, the rest of the file goes to ``iterparse`` as it is.

_RAW_CHUNK = 1 << 20
_RAW_ENTRY = re.compile(r"<((?:[A-Za-z_][\w.-]*:)?)Ntry>")
_XML_ENCODING = re.compile(r"""<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_RAW_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def _reference(m: re.Match[str]) -> str:
    name, decimal, hexadecimal = m.groups()
    if name:
        return _ENTITIES[name]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"  # out of range: libxml2 refuses the file anyway


def _unescape_raw(text: str) -> str | None:
    """A text as written in the file to the element's text (None: an ``&`` that is no reference)."""
    result, n = _RAW_REFERENCE.subn(_reference, text)
    return result if n == text.count("&") else None


class _Checker:
    """A parser target without callbacks: libxml2 checks the bytes and builds nothing."""

    def close(self) -> None:
        return None


class _Checking(threading.Thread):
    """The checking parser, fed in a thread of its own.

    Why: libxml2 releases the GIL for much of its work, so on a second core the check costs the
    reading thread almost nothing (the import's writing process leaves that core partly idle).
    ``error`` is the parser's exception, raised by the reading thread at its next chunk or at the end.
    """

    def __init__(self) -> None:
        super().__init__(name="camt-check", daemon=True)
        # lxml calls only the target methods there are; the stubs' ParserTarget lists them all.
        target = cast("etree.ParserTarget", _Checker())
        self.parser = etree.XMLParser(
            target=target, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        self.chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            data = self.chunks.get()
            if self.error is not None:
                if data is None:
                    return
                continue  # failed: drain until the end so that the reading thread never blocks
            try:
                if data is None:
                    self.parser.close()
                    return
                self.parser.feed(data)
            except BaseException as exc:  # handed to the reading thread as it is
                self.error = exc
                if data is None:
                    return

    def finish(self) -> None:
        """Wait for the check of everything fed; raise what it found."""
        if self.is_alive():
            self.chunks.put(None)
            self.join()
        if self.error is not None:
            raise self.error


class _RawScanner:
    """The file ``iterparse`` reads in raw mode: the skeleton of the real file (see above).

    It reads the real file in chunks of ``_RAW_CHUNK`` bytes (refusing more than ``limit``), feeds
    each to the checking parser, and turns each entry the reader's fast path reads into a receipt
    (without the statement's fields) queued in :attr:`runs`, one list per placeholder.
    """

    def __init__(self, f: Any, limit: int, reader: CamtReader) -> None:
        self._f = _LimitedReader(f, limit, reader)
        self._reader = reader
        self._checker: _Checking | None = _Checking()
        self._unchecked: list[bytes] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""  # decoded, not yet scanned (normalised line ends)
        self._out = b""  # skeleton not yet handed to iterparse
        self._at = 0
        self._started = False  # the root element has been reached
        self._raw = False  # pass the rest of the file through as it is
        self._eof = False
        self._fast: _FastPath | None = None
        self._open = self._close = self._placeholder = ""
        self._line = 1  # the line of self._text[0]
        self.nonce = secrets.token_hex(8)
        self.runs: deque[list[tuple[str | None, tuple[Any, ...], int]]] = deque()

    def read(self, size: int = -1) -> bytes:
        while self._at >= len(self._out) and not self._eof:
            self._fill()
        if size is None or size < 0:
            size = len(self._out) - self._at
        data = self._out[self._at : self._at + size]
        self._at += len(data)
        return data

    def close(self) -> None:
        if self._checker is not None and self._checker.is_alive():
            self._checker.chunks.put(None)  # stop it (it drains, so this never blocks for long)
        self._f.close()

    # -- filling -----------------------------------------------------------------------------------

    def _fill(self) -> None:
        data = self._f.read(_RAW_CHUNK)
        self._out, self._at = b"", 0
        if not data:
            self._eof = True
            if not self._raw:
                pending = self._decoder.getstate()[0]
                try:
                    self._out = (self._text + self._decoder.decode(b"", final=True)).encode("utf-8")
                except UnicodeDecodeError:  # cut inside a character: libxml2 says so
                    self._out = self._text.encode("utf-8") + pending
                self._text = ""
            if self._started:
                self._check()
                if self._checker is not None:
                    self._checker.finish()
            return
        # The checking parser sees the bytes only once the prolog is known to hold no DTD (a DTD
        # goes, with the rest of the file, to iterparse, whose first event refuses it).
        self._unchecked.append(data)
        if self._started or self._raw:
            self._check()
        if self._raw:
            self._out = data
            return
        pending = self._decoder.getstate()[0]
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError:
            self._pass_through(self._text.encode("utf-8") + pending + data)
            return
        text = self._text + text
        if "\r" in text:  # as XML does before parsing; a \r at the end may be the first half of \r\n
            keep = text.endswith("\r")
            text = text[:-1] if keep else text
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            self._text = "\r" if keep else ""
        else:
            self._text = ""
        self._scan(text)

    def _check(self) -> None:
        checker = self._checker
        if checker is not None:
            if checker.error is not None:
                raise checker.error
            if not checker.is_alive():
                checker.start()
            for data in self._unchecked:
                checker.chunks.put(data)
        self._unchecked.clear()

    def _pass_through(self, data: bytes) -> None:
        if not self._started:  # the prolog is unknown: the checking parser never sees any of it
            self._checker = None
            self._unchecked.clear()
        self._raw = True
        self._text = ""
        self._out = data

    def _scan(self, text: str) -> None:
        pos = 0
        if not self._started:
            root = _root_start(text)
            if root is None:  # the root element is not in this chunk yet (the prolog is bounded)
                self._text = text + self._text
                return
            match = _XML_ENCODING.match(text.lstrip("\ufeff \t\n"))
            if match and match.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
                # another encoding (bytes that merely decode as UTF-8 are not its text): libxml2 reads it
                self._pass_through(text.encode("utf-8") + self._text.encode("utf-8") + self._decoder.getstate()[0])
                return
            self._started = True
            if text.startswith("<!", root):  # a DOCTYPE: never for the checking parser
                self._checker = None
                self._pass_through(text.encode("utf-8") + self._text.encode("utf-8") + self._decoder.getstate()[0])
                return
            self._check()
            pos = root
        # nothing may hide markup from the search: at the first <! or <? the rest goes through as is
        limit = len(text)
        for construct in ("<!", "<?"):
            at = text.find(construct, pos)
            if 0 <= at < limit:
                limit = at
        parts: list[str] = []
        if pos:
            parts.append(text[:pos])
        if self._fast is None:
            match = _RAW_ENTRY.search(text, pos, limit)
            if match is not None:
                prefix = match.group(1)
                self._fast = self._reader._fast_path(prefix[:-1] or None)
                if self._fast is not None:
                    self._open, self._close = f"<{prefix}Ntry>", f"</{prefix}Ntry>"
                    self._placeholder = f'<{prefix}Ntry hub-fast="{self.nonce}"/>'
        find, receipt = text.find, self._reader._raw_receipt
        fast, opening, closing = self._fast, self._open, self._close
        line, counted = self._line, 0  # the line of text[counted]
        lines = "\n" in text  # else every entry of the chunk is on one line: nothing to count
        run: list[tuple[str | None, tuple[Any, ...], int]] = []
        breaks = 0  # line breaks inside the run
        carry = -1  # where the text kept for the next chunk starts
        while fast is not None:
            start = find(opening, pos, limit)
            if start < 0:
                break
            end = find(closing, start, limit)
            if end < 0:
                carry = start
                break
            end += len(closing)
            gap = text[pos:start] if start > pos else ""
            segment = text[start:end]
            if lines:
                line += text.count("\n", counted, start)
                counted = start
            r = receipt(segment, fast)
            if r is None:  # left to the element walk, as it is
                if run:
                    parts.append(self._placeholder + "\n" * breaks)
                    self.runs.append(run)
                    run, breaks = [], 0
                parts.append(gap)
                parts.append(segment)
            else:
                if run and (not gap or gap.isspace()):
                    if gap and lines:
                        breaks += gap.count("\n")
                else:
                    if run:
                        parts.append(self._placeholder + "\n" * breaks)
                        self.runs.append(run)
                        run, breaks = [], 0
                    parts.append(gap)
                run.append((*r, line))
                if lines:
                    breaks += segment.count("\n")
            pos = end
        if run:
            parts.append(self._placeholder + "\n" * breaks)
            self.runs.append(run)
        if limit < len(text):
            # a comment, CDATA section or processing instruction: the rest of the file as it is
            parts.append(text[pos:])
            self._pass_through(
                "".join(parts).encode("utf-8") + self._text.encode("utf-8") + self._decoder.getstate()[0]
            )
            return
        if carry < 0:
            # keep what could be the start of an entry's opening tag
            carry = max(pos, len(text) - max(len(opening), 64))
        parts.append(text[pos:carry])
        self._line = line + (text.count("\n", counted, carry) if lines else 0)
        self._text = text[carry:] + self._text
        self._out = "".join(parts).encode("utf-8")


def _root_start(text: str) -> int | None:
    """Where the root element starts in the beginning of a document, else None (not in ``text``)."""
    pos, ended = skip_prolog(text)
    return pos if ended else None


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
        self._shapes: list[tuple[Any, Any, Any]] = []
        self._shape_budget = _SHAPE_BUDGET

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
        problem = xml_prolog_problem(head, whole=len(head) < HEAD_BYTES)
        if problem:
            raise self._error(None, problem)

    def _syntax_error(self, exc: etree.XMLSyntaxError) -> StatementError:
        """The parser's complaint as a statement error. A DTD in the prolog is the reason given
        whatever libxml2 stumbled on first (entity amplification, an undefined entity...)."""
        try:
            with self.path.open("rb") as f:
                head = f.read(HEAD_BYTES)
        except OSError:
            head = b""
        problem = xml_prolog_problem(head, whole=len(head) < HEAD_BYTES)
        if problem:
            return self._error(None, problem)
        return self._error(f"line {exc.lineno}" if exc.lineno else None, f"malformed XML: {exc.msg}")

    def _well_formedness_error(self) -> StatementError | None:
        """The file's first well-formedness error, or None (read again in full: only on an error path)."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            with self.path.open("rb") as f:
                while chunk := f.read(1 << 20):
                    parser.feed(chunk)
            parser.close()
        except etree.XMLSyntaxError as exc:
            return self._syntax_error(exc)
        except (etree.LxmlError, OSError):
            return None
        return None

    def _check_document(self, el: Any) -> None:
        """At the first event: no DTD anywhere before the root, and a camt.05x message."""
        tree = el.getroottree()
        info = tree.docinfo
        if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
            raise self._error(None, "DTDs and entity declarations are not allowed in bank statements")
        root = tree.getroot()
        namespace, _, _ = str(root.tag).rpartition("}")
        match = _CAMT_NS.search(namespace)
        if match:
            self.summary.message_type = match.group(0)
            return
        parent = el.getparent()
        kind = _MESSAGES.get(_LOCAL.get(parent.tag) or _local_slow(parent.tag)) if parent is not None else None
        if kind is None:
            raise self._error(
                f"line {root.sourceline}",
                "not a camt.05x message (camt.052/053/054 namespace or "
                f"message element expected, found <{_local_slow(root.tag)}>)",
            )
        self.summary.message_type = kind

    # -- the stream ----------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for batch in self._batches():
            for row in batch:
                yield dict(zip(RECEIPT_FIELDS, row, strict=True))

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The receipts as tuples of their values in ``RECEIPT_FIELDS`` order (what iterating
        gives as dicts); cheaper to make, to send to another process and to read."""
        for batch in self._batches():
            yield from batch

    def row_batches(self) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of :meth:`rows` in lists as they are read (an entry's, or a run's of entries)."""
        return self._batches()

    def _batches(self) -> Iterator[list[tuple[Any, ...]]]:
        s = self.summary  # reset in place: a reference taken before iterating stays live
        s.reset("camt")
        self._dates = {}
        self._currencies = {}
        self._keys = ReceiptKeys(s)
        self._shapes = []
        self._shape_budget = _SHAPE_BUDGET
        self._check_file()
        source: _LimitedReader | _RawScanner
        try:
            f = self.path.open("rb")
        except OSError as exc:
            raise self._error(None, f"cannot read: {exc.strerror or exc}") from None
        raw = _FAST_PATH and _RAW
        source = _RawScanner(f, self.max_bytes, self) if raw else _LimitedReader(f, self.max_bytes, self)
        try:
            context = etree.iterparse(
                source,
                events=("start", "end"),
                tag=_ITERPARSE_TAGS,
                resolve_entities=False,
                no_network=True,
                huge_tree=False,
                load_dtd=False,
                remove_comments=True,
                remove_pis=True,
            )
            yield from self._walk(context, source if isinstance(source, _RawScanner) else None)
        except etree.XMLSyntaxError as exc:
            raise self._syntax_error(exc) from None
        except etree.LxmlError as exc:
            raise self._error(None, f"malformed XML: {exc}") from None
        except StatementError as exc:
            # Which problem a damaged file shows first must not depend on how it is read (raw mode,
            # chunk sizes): a file that is not well-formed XML is reported as such, whatever else
            # is wrong with it before that point.
            if exc.reason.startswith("malformed XML"):
                raise
            raise self._well_formedness_error() or exc from None
        except OSError as exc:
            raise self._error(None, f"cannot read: {exc.strerror or exc}") from None
        finally:
            source.close()

    def _walk(self, context: Any, scanner: _RawScanner | None) -> Iterator[list[tuple[Any, ...]]]:
        s = self.summary
        header: dict[str, str | None] = {"message_id": None, "created": None}
        stmt: dict[str, Any] | None = None  # the container being read
        checked = False
        nonce = scanner.nonce if scanner is not None else None
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
                if nonce is not None and el.get("hub-fast") == nonce:
                    # a run of entries the raw scanner has read (see _RawScanner)
                    assert scanner is not None
                    run = scanner.runs.popleft()
                    s.entries += len(run)
                    stmt["entries"] += len(run)
                    yield self._placed(run, stmt)
                    el.clear(keep_tail=False)
                    parent = stmt["el"]
                    while el.getprevious() is not None:
                        del parent[0]
                    continue
                s.entries += 1
                stmt["entries"] += 1
                receipts = (_FAST_PATH and self._entry_fast(el, stmt)) or self._entry(el, stmt)
                # Bounded memory: drop the entry's subtree and every earlier sibling (previous
                # entries, balances, the statement header fields already read).
                el.clear(keep_tail=False)
                parent = stmt["el"]
                while el.getprevious() is not None:
                    del parent[0]
                totals = s.totals
                batch = []
                for r in receipts:
                    s.receipts += 1
                    amount = Decimal(r["amount"])
                    ccy = r["currency"]
                    totals[ccy] = totals.get(ccy, _ZERO) + (amount if r["direction"] == "credit" else -amount)
                    batch.append(_as_row(r))
                yield batch
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
                    s.warnings.append(
                        f"line {el.sourceline}: {name} {stmt['statement_id']} declares {expected} "
                        f"entries (TxsSummry/TtlNtries/NbOfNtries) but holds {stmt['entries']}"
                    )
                stmt = None
                el.clear(keep_tail=False)
                parent = el.getparent()
                while el.getprevious() is not None:
                    del parent[0]
        if not checked:
            root = getattr(context, "root", None)
            found = f" (found <{_local_slow(root.tag)}>)" if root is not None else ""
            raise self._error(None, f"not a camt.05x message: no statement, notification or report{found}")
        if s.statements == 0:
            raise self._error(None, "not a camt.05x message: no statement, notification or report (Stmt/Ntfctn/Rpt)")

    def _placed(
        self, run: list[tuple[str | None, tuple[Any, ...], int]], stmt: dict[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The receipts of a run of entries read in raw mode (rows in RECEIPT_FIELDS order), given
        their statement's fields and keys."""
        s = self.summary
        totals = s.totals
        keys = self._keys
        by_ref, by_content = keys.ref_key, keys.key
        statement_id, statement_seq, message_id = stmt["statement_id"], stmt["statement_seq"], stmt["message_id"]
        account, account_currency = stmt["account"], stmt["account_currency"]
        prefix = f"{account or ''}:"
        out: list[tuple[Any, ...]] = []
        append = out.append
        for bank_ref, tail, line in run:
            # tail: booking_date 0, value_date 1, amount 2, currency 3, direction 10, payer_name 14,
            # payer_account 15, remittance 18
            amount, ccy = tail[2], tail[3]
            if bank_ref:
                external_id = by_ref(
                    prefix + bank_ref, bank_ref, account, (tail[0], amount, ccy, tail[14], tail[15], tail[18]), line
                )
            else:
                external_id = by_content(account, bank_ref, tail[0], amount, ccy, tail[14], tail[15], tail[18], line)
            value = Decimal(amount)
            totals[ccy] = totals.get(ccy, _ZERO) + (value if tail[10] == "credit" else -value)
            append((external_id, bank_ref, statement_id, statement_seq, message_id, account, account_currency, *tail))
        s.receipts += len(out)
        return out

    def _raw_receipt(self, text: str, fast: _FastPath) -> tuple[str | None, tuple[Any, ...]] | None:
        """The receipt of an entry as written in the file (raw mode), else None; see _RawScanner."""
        return self._fast_receipt(text, fast, _unescape_raw)

    def _read_container(self, stmt: dict[str, Any], header: dict[str, str | None]) -> None:
        """Statement-level fields; they precede the entries, so they are complete at the first entry."""
        stmt.update(
            statement_id=None,
            statement_seq=None,
            created=None,
            account=None,
            account_currency=None,
            declared_entries=None,
            message_id=header["message_id"],
        )
        electronic = legal = None
        for c in stmt["el"]:
            name = _LOCAL.get(c.tag) or _local_slow(c.tag)
            if name == "Ntry":
                break
            if name == "Id":
                stmt["statement_id"] = element_text(c)
            elif name == "ElctrncSeqNb":
                electronic = element_text(c)
            elif name == "LglSeqNb":
                legal = element_text(c)
            elif name == "CreDtTm":
                stmt["created"] = element_text(c)
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
            if text and len(self._dates) < 4096:
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

    def _entry_fast(self, ntry: Any, stmt: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The receipt of an entry of a common shape, else None (``_entry`` reads it); see ``_Patterns``.

        The same values as ``_entry``/``_transaction`` give (the patterns capture texts stripped, and
        amounts only in the form ``_AMOUNT`` accepts); where one of their checks would fail, this
        returns None before any side effect, and ``_entry`` raises.
        """
        fast = self._fast_path(ntry.prefix)
        if fast is None:
            return None
        read = self._fast_receipt(etree.tostring(ntry, encoding=str, with_tail=False), fast, _unescape)
        if read is None:
            return None
        bank_ref, tail = read
        r = dict(
            zip(
                RECEIPT_FIELDS,
                (
                    None,
                    bank_ref,
                    stmt["statement_id"],
                    stmt["statement_seq"],
                    stmt["message_id"],
                    stmt["account"],
                    stmt["account_currency"],
                    *tail,
                ),
                strict=True,
            )
        )
        self._keys.assign(r, ntry.sourceline)
        return [r]

    @staticmethod
    def _fast_path(prefix: str | None) -> _FastPath | None:
        """The expressions for entries whose elements carry ``prefix`` (None: no prefix)."""
        fast = _FAST_MATCH.get(prefix or None)
        if fast is None:
            if len(_FAST_MATCH) >= 16:
                return None
            fast = _FAST_MATCH[prefix or None] = _FastPath(f"{prefix}:" if prefix else "")
        return fast

    def _fast_receipt(
        self, text: str, fast: _FastPath, unescape: Callable[[str], str | None]
    ) -> tuple[str | None, tuple[Any, ...]] | None:
        """The receipt of one entry's text (libxml2's serialisation, or the file's own text in raw
        mode, each with its ``unescape``) as its bank reference and its fields from ``booking_date``
        on; the statement's fields and the key are the caller's. None: not a shape read here."""
        clean = True  # the tight expressions take texts already stripped
        escaped = "&" in text
        for match, getter, shaped in self._shapes:
            m = match(text)
            if m is not None:
                if shaped is not None and not escaped:
                    read = shaped(m.groups(), self._currencies, self._dates)
                    if read is not None:
                        return read  # type: ignore[no-any-return]
                groups = getter((*m.groups(), None))
                break
        else:
            m = fast.tight(text)
            if m is None:
                clean = False
                m = fast.general(text)
                if m is None:
                    return None
            elif self._shape_budget > 0:
                self._shape_budget -= 1
                self._shapes.insert(0, fast.specialise(m))
                del self._shapes[_SHAPES:]
            groups = m.groups()
        if escaped or not clean:
            values = []
            for v in groups:
                if v == "":
                    v = None  # <X></X> as written in raw mode: what <X/> is in the serialisation
                elif v and v[0] != "<":  # the Ustrd and Strd blocks are read below
                    if escaped and "&" in v:
                        v = unescape(v)
                        if v is None:
                            return None
                    v = v.strip()  # as _text (&#13; is white space too)
                    if not v:
                        return None  # blank: None for most elements, an error for some; _entry knows
                values.append(v)
            groups = tuple(values)
        (
            ntry_ref,
            e_ccy,
            entry_amount,
            e_ind,
            rvsl,
            sts_text,
            sts_cd,
            booked,
            valued,
            entry_ref,
            dom_cd,
            fmly_cd,
            sub_cd,
            prtry_cd,
            has_tx,
            tx_ref,
            instruction,
            r_e2e,
            uetr,
            tx_id,
            mandate,
            t_ccy,
            t_amt,
            t_ind,
            i_ccy,
            instructed,
            x_ccy,
            x_amt,
            dbtr_nm,
            dbtr_iban,
            dbtr_othr,
            udbtr_nm,
            cdtr_nm,
            cdtr_iban,
            cdtr_othr,
            ucdtr_nm,
            dbtr_bic,
            cdtr_bic,
            purpose,
            ustrd,
            strd,
            rsn_cd,
            rsn_prtry,
            tx_info,
            entry_info,
        ) = groups
        currencies = self._currencies
        # the entry, as _entry reads it
        entry_ccy = currencies.get(e_ccy)
        if entry_ccy is None:
            entry_ccy = e_ccy.upper()  # the pattern took three ASCII letters
            if len(currencies) < 1024:
                currencies[e_ccy] = entry_ccy
        direction = _DIRECTIONS.get(e_ind)
        if direction is None:
            return None
        dates = self._dates
        value = booking = None
        if valued is not None:
            value = dates.get(valued)
            if value is None:
                value = self._parse_date(valued)
                if value is None:
                    return None
                if len(dates) < 4096:
                    dates[valued] = value
        if booked is not None:
            booking = dates.get(booked)
            if booking is None:
                booking = self._parse_date(booked)
                if booking is None:
                    return None
                if len(dates) < 4096:
                    dates[booked] = booking
        else:
            booking = value
        if booking is None:
            return None  # undated: _entry dates it from the creation time, with a warning
        # Domn/Cd, Fmly/Cd and Fmly/SubFmlyCd joined, else Prtry/Cd (as _bank_tx_code)
        if dom_cd is None and fmly_cd is None and sub_cd is None:
            code = prtry_cd
        else:
            code = "/".join([part for part in (dom_cd, fmly_cd, sub_cd) if part])
        # the transaction, as _transaction reads it
        tx_amount = tx_ccy = instructed_ccy = payer = payer_account = ultimate = bic = remittance = None
        references: list[dict[str, str | None]] = []
        additional: list[str] = []
        if has_tx is not None:
            if t_amt is None:
                t_amt, t_ccy = x_amt, x_ccy
            if t_amt is not None:
                tx_amount = t_amt
                tx_ccy = currencies.get(t_ccy)
                if tx_ccy is None:
                    tx_ccy = t_ccy.upper()
                    if len(currencies) < 1024:
                        currencies[t_ccy] = tx_ccy
            if instructed is not None:
                instructed_ccy = currencies.get(i_ccy)
                if instructed_ccy is None:
                    instructed_ccy = i_ccy.upper()
                    if len(currencies) < 1024:
                        currencies[i_ccy] = instructed_ccy
            tx_direction = direction
            if t_ind is not None:
                stated = _DIRECTIONS.get(t_ind)
                if stated is None:
                    return None
                tx_direction = stated
            if tx_direction == "credit":
                payer, payer_account, ultimate, bic = dbtr_nm, dbtr_iban or dbtr_othr, udbtr_nm, dbtr_bic
            else:
                payer, payer_account, ultimate, bic = cdtr_nm, cdtr_iban or cdtr_othr, ucdtr_nm, cdtr_bic
            if ustrd:
                texts = []
                for t in _TEXTS(ustrd):
                    if escaped and "&" in t:
                        t = unescape(t)
                        if t is None:
                            return None
                    t = t.strip()
                    if t:
                        texts.append(t)
                remittance = "\n".join(texts) or None
            if strd and not self._strd_fast(fast.strd_items(strd), escaped, unescape, references, additional):
                return None
        # bank_ref, and the receipt's fields from booking_date on (RECEIPT_FIELDS order); the
        # statement's fields and the key come with the run (_placed) or the entry (_entry_fast)
        return entry_ref or tx_ref or ntry_ref, (
            booking,
            value,
            entry_amount,
            entry_ccy,
            entry_amount,
            entry_ccy,
            tx_amount,
            tx_ccy,
            instructed,
            instructed_ccy,
            direction,
            rvsl is not None and rvsl.lower() in ("true", "1"),
            sts_text or sts_cd,
            code,
            payer,
            payer_account,
            ultimate,
            bic,
            remittance,
            references,
            additional,
            None if r_e2e == "NOTPROVIDED" else r_e2e,
            instruction,
            tx_id,
            mandate,
            uetr,
            entry_info,
            tx_info,
            rsn_cd or rsn_prtry,
            purpose,
        )

    @staticmethod
    def _strd_fast(
        items: Iterator[Any],
        escaped: bool,
        unescape: Callable[[str], str | None],
        references: list[dict[str, str | None]],
        additional: list[str],
    ) -> bool:
        """The items of serialised ``Strd`` blocks, as ``_structured`` reads them; False to leave the entry to it."""
        for item in items:
            values = []
            for v in item.groups():
                if v is not None:
                    if escaped and "&" in v:
                        v = unescape(v)
                        if v is None:
                            return False
                    v = v.strip() or None  # as _text
                values.append(v)
            k_ref, ref_cd, ref_prtry, ref_issr, ref, k_doc, doc_cd, doc_prtry, nb, addtl = values
            if k_ref is not None:
                if ref:
                    references.append({"type": ref_cd or ref_prtry, "value": ref, "issuer": ref_issr})
            elif k_doc is not None:
                if nb:
                    references.append({"type": f"RDI:{doc_cd or doc_prtry or 'doc'}", "value": nb, "issuer": None})
            elif addtl:
                additional.append(addtl)
        return True

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
                info = element_text(c)
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
            status = element_text(sts) or _child_text(sts, "Cd") or _child_text(sts, "Prtry")
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
                "imported as one receipt of the entry amount with every transaction's remittance"
            )
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

    def _check_batch(
        self, details: list[dict[str, Any]], amount: str, ccy: str, direction: str, ntry: Any, stmt: dict[str, Any]
    ) -> None:
        """Warn when a batch's transactions (all in the entry currency) do not add up to the entry."""
        if any(d["tx_currency"] != ccy for d in details):
            return
        total = sum(
            (Decimal(d["tx_amount"]) if d["direction"] == direction else -Decimal(d["tx_amount"]) for d in details),
            _ZERO,
        )
        if total != Decimal(amount):
            line, where = self._where(ntry, stmt)
            self.summary.warnings.append(
                f"{line}: {where} books {amount} {ccy} but its {len(details)} transactions add up to {total} {ccy}"
            )

    def _undated(self, ntry: Any, stmt: dict[str, Any]) -> str:
        """Notifications of pending items may carry neither date: the creation date of the
        statement (else of the message) is the best there is, and a warning says so."""
        line, where = self._where(ntry, stmt)
        created = stmt["created"]
        booking = self._parse_date(created) if created else None
        if booking is None:
            raise self._error(line, f"{where}: no booking date, value date or creation date")
        self.summary.warnings.append(
            f"{line}: {where} has no booking or value date; dated {booking} from the creation time"
        )
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
                info = element_text(c)
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
            stated = _DIRECTIONS.get(indicator.strip())
            if stated is None:
                raise self._error(f"line {tx.sourceline}", f"TxDtls/CdtDbtInd {indicator!r} is not CRDT or DBIT")
            direction = stated
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
        self._keys.assign(r, ntry.sourceline)


def _structured(strd: Any, references: list[dict[str, str | None]], additional: list[str]) -> None:
    """One ``RmtInf/Strd`` block: creditor references, referred documents, additional texts."""
    for x in strd:
        kind = _LOCAL.get(x.tag) or _local_slow(x.tag)
        if kind == "CdtrRefInf":
            tp = _child(x, "Tp")
            value = _child_text(x, "Ref")
            if value:
                references.append(
                    {
                        "type": _code(_child(tp, "CdOrPrtry")) if tp is not None else None,
                        "value": value,
                        "issuer": _child_text(tp, "Issr"),
                    }
                )
        elif kind == "RfrdDocInf":
            number = _child_text(x, "Nb")
            if number:
                tp = _child(x, "Tp")
                code = _code(_child(tp, "CdOrPrtry")) if tp is not None else None
                references.append({"type": f"RDI:{code or 'doc'}", "value": number, "issuer": None})
        elif kind == "AddtlRmtInf":
            text = element_text(x)
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
    # The receipt has one end-to-end id and one ultimate payer: the first transaction's (else the
    # first given); the others' stay in the transaction information, named, so no text is lost.
    info: list[str] = []
    for key in ("end_to_end_id", "ultimate_payer_name"):
        merged[key] = next((d[key] for d in details if d[key]), None)
    for d in details:
        party = "UltmtDbtr" if d["direction"] == "credit" else "UltmtCdtr"
        for key, name in (("end_to_end_id", "EndToEndId"), ("ultimate_payer_name", party)):
            if d[key] and d[key] != merged[key]:
                info.append(f"{name} {d[key]}")
        if d["additional_tx_info"]:
            info.append(d["additional_tx_info"])
    merged["additional_tx_info"] = "\n".join(dict.fromkeys(info)) or None
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
        parts: list[str | None] = []
        for c in domain:
            name = _LOCAL.get(c.tag) or _local_slow(c.tag)
            if name == "Cd":
                parts.insert(0, element_text(c))
            elif name == "Fmly":
                for f in c:
                    name = _LOCAL.get(f.tag) or _local_slow(f.tag)
                    if name == "Cd" or name == "SubFmlyCd":
                        parts.append(element_text(f))
        joined = "/".join(p for p in parts if p)
        if joined:
            return joined
    return _child_text(proprietary, "Cd")


#: A receipt dict's values in RECEIPT_FIELDS order.
_as_row = itemgetter(*RECEIPT_FIELDS)


def iter_camt(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[dict[str, Any]]:
    """Yield a camt file's receipts, one dict per transaction (use :class:`CamtReader` for the summary)."""
    yield from CamtReader(path, max_bytes=max_bytes)
