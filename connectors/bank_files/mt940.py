"""Reader for SWIFT MT940 (statement) and MT942 (interim report) files, built on the ``mt-940`` library.

The library (import name ``mt940``) parses the tags: the ``:61:`` statement line, the balances, the
statement number, ``:NS:``, ``:13D:``, ``:34F:``, ``:90D:``/``:90C:``. What it gets wrong on real bank
files is done here instead:

* **file structure**: ``mt940.parse`` flattens several statements into one list, keeps the balances
  of the last one only and gives transactions no statement number, attaches a statement-level
  ``:86:`` (after the closing balance, as ING sends it) to the last transaction, and reads trailers
  such as ``-XXX`` as narrative. Here the file is cut into tags and statements first (with line
  numbers), each tag is handed to the library's parser for that tag, and every receipt keeps its
  statement's ``:20:``, ``:28C:``, ``:25:`` and currency;
* **text**: bytes are decoded here (see :func:`_decode`), control characters (SOH/ETX...) and the
  SWIFT ``{1:}{2:}{4:`` envelope are removed, CRLF and CR are line ends, and a tag the bank wrapped
  across lines (``:`` alone, then ``86:...``) is joined again;
* **:61:**: ASN Bank's customer references longer than 16 characters are read with the library's
  ``StatementASNB`` pattern, and GLS-style long references before ``//`` with ``StatementGLS``, each
  only when the standard pattern does not fit; a date that does not exist (value date ``160230``,
  the 30/360 month end German banks book fees on) is read as the last day of that month *with a
  warning*, never silently; any other impossible date is a :class:`~hub.errors.StatementError`;
* **:86:**: decoded here (the library cuts long narratives and drops characters at line ends):
  German ZKA/DK subfields ``?00``..``?63`` with the SEPA keywords ``EREF+``, ``KREF+``, ``MREF+``,
  ``SVWZ+``, ``ABWA+``... (Triodos writes ``>`` for ``?``), the Dutch ``/EREF/ /REMI/ /NAME/ /IBAN/
  ...`` structure, and free text otherwise. A narrative sent under the wrong tag (``:25:`` after a
  ``:61:``, as in ``betterplace_DE_edge_broken-tag.sta``) is read as the ``:86:`` it is, with a
  warning; a ``:86:`` that belongs to no transaction is a warning too, never silence.

Use::

    reader = Mt940Reader(path)      # nothing is read yet
    for receipt in reader:          # one dict per :61:, keys RECEIPT_FIELDS
        ...
    reader.summary                  # StatementSummary: message_type "MT940" or "MT942", warnings...

The whole file is read and checked before the first receipt is yielded (MT940 files are small), so
a broken file fails before anything is imported. Each statement's opening balance plus its
movements must equal its closing balance, else the summary gets a warning naming the statement.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import mt940
from mt940 import models as mt940_models, tags as mt940_tags

from hub import StatementError

from .common import ReceiptKeys, StatementSummary, new_receipt, read_limited

#: MT940 files are read whole (they are small: a busy account's day is a few hundred KB).
DEFAULT_MAX_BYTES = 100_000_000
#: How much of a file :func:`detect_mt940` needs.
HEAD_BYTES = 8192

#: The summary of an MT940/MT942 file (``format`` is ``"mt940"``).
Mt940Summary = StatementSummary

_OPTIONS = mt940.Options.all()  # RC signed as the debit it is, lower-case marks, :13D: offsets as HHMM...
_TAGS = mt940_tags.TAG_BY_ID
_STATEMENT_LINE = _TAGS[61]
_STATEMENT_ASNB = mt940_tags.StatementASNB()
_STATEMENT_GLS = mt940_tags.StatementGLS()

_LINE_END = re.compile(r"\r\n|\r|\n")
#: Control characters other than TAB (line ends are split off before): SOH/ETX envelopes, NUL, C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TAG = re.compile(r":([0-9]{2}[A-Z]?|NS):")
_WRAPPED_TAG = re.compile(r"([0-9]{2}[A-Z]?|NS):")
#: End of a message: "-", "-}" / "-}{5:...}" / "{5:...}" (SWIFT envelope), "-XXX" (ING's trailer).
_MESSAGE_END = re.compile(r"-(?:\}.*|XXX.*)?|\{5:.*")
_ENVELOPE_START = re.compile(r"\{[1-4]:")
_ENVELOPE_TYPE = re.compile(r"\{2:[IO]?(94[0-2])")
_HEADER_TYPE = re.compile(r":?(94[0-2]):?(?:\s.*)?")
_AMOUNT = re.compile(r"[0-9]+(?:,[0-9]*)?|,[0-9]+")
_CURRENCY = re.compile(r"[A-Z]{3}")
_STATEMENT_TAGS = frozenset({"25", "28", "28C", "21"})  # may come once per statement, before the :61: lines
_OPENING = frozenset({"60F", "60M", "60"})
_CLOSING = frozenset({"62F", "62M", "62"})
_DIRECTIONS = {"C": ("credit", False), "D": ("debit", False), "RC": ("debit", True), "RD": ("credit", True)}
_ZERO = Decimal(0)

# -- :86: structures ---------------------------------------------------------------------------------

#: ZKA/DK structured narrative: a 3-digit business transaction code (GVC), then ?NN subfields.
#: Triodos writes ">" instead of "?".
_ZKA = re.compile(r"([0-9]{3})([?>])[0-9]{2}")
#: A ZKA remittance subfield (?20..?29, ?60..?63) holds 27 characters; a full one continues in the next.
_ZKA_WIDTH = 27
#: Banks wrap narratives at 65 characters; a space that falls on the wrap is content, not padding.
_LINE_WIDTH = 65
_SEPA_KEYS = (
    "EREF",
    "KREF",
    "MREF",
    "CRED",
    "DEBT",
    "SVWZ",
    "ABWA",
    "ABWE",
    "IBAN",
    "BIC",
    "PURP",
    "COAM",
    "OAMT",
    "MDAT",
    "SQTP",
    "ORCR",
    "ORMR",
    "DDAT",
    "BREF",
    "RREF",
)
_SEPA_KEY = re.compile("(?:" + "|".join(_SEPA_KEYS) + r")\+")
_KEYWORD_ONLY = re.compile(r"[A-Z]{4}\+|EREF|PREF|MARF|KREF|MREF")
_NO_REFERENCE = frozenset({"NONREF", "NOTPROVIDED", "NONE", ""})
#: Dutch structured :86: (ING, ABN AMRO, Rabobank SEPA format): /KEY/value/KEY/value...
_NL_KEYS = (
    "TRTP",
    "EREF",
    "PREF",
    "MARF",
    "CSID",
    "CNTP",
    "IBAN",
    "BIC",
    "NAME",
    "ADDR",
    "REMI",
    "ULTC",
    "ULTD",
    "ULTB",
    "ORDP",
    "BENM",
    "ISDT",
    "RTRN",
    "PURP",
    "SVCL",
    "CDTRREFTP",
    "CDTRREF",
    "OCMT",
    "EXCH",
    "CHGS",
    "BUSP",
    "RTYP",
)
_NL_KEY = re.compile("/(" + "|".join(_NL_KEYS) + ")/")
#: Dutch keys naming a party, whose NAME and ADDR may follow as sub-keys (see _dutch).
_NL_PARTIES = frozenset({"ORDP", "BENM", "ULTD", "ULTC", "ULTB"})


def detect_mt940(head: bytes) -> bool:
    """True when the first bytes (a few KB) are an MT940/MT942 file.

    Decided from content, never the file name: a SWIFT ``{1:...}{2:...}{4:`` envelope holding
    tags, or lines starting with ``:20:``, ``:25:``, ``:28C:``/``:28:``, a ``:60F:`` balance or a
    ``:61:`` statement line, possibly after control characters (SOH) or non-SWIFT header lines
    (ING). XML, OFX, BAI2 (``01,``) and CSV files are not.
    """
    text = _CONTROL.sub("", head[:HEAD_BYTES].decode("latin-1")).lstrip("\ufeff\u00ef\u00bb\u00bf \t\r\n")
    if text.startswith(("<", "OFXHEADER", "01,")) or not text:
        return False
    envelope = re.search(r"\{1:[^}]*\}(?:\{2:[^}]*\})?(?:\{3:[^}]*\})?\{4:\s*:", text)
    if envelope is not None:
        return True
    return (
        re.search(r"^:(?:20:.|25:.|28C?:[0-9]|6[02][FM]?:[CD][0-9]{6}[A-Z]{3}|61:[0-9]{6})", text, re.MULTILINE)
        is not None
    )


# -- decoding ------------------------------------------------------------------------------------------

#: Code pages tried when a file is not UTF-8, in order of preference on a tie (see _decode).
_CODEPAGES = ("cp852", "cp1252", "cp1250", "latin-1")


def _plausible(text: str) -> int:
    """+1 for each non-ASCII letter that fits (not a capital right after a small letter), -1 for any other."""
    score = 0
    for i, c in enumerate(text):
        if c < "\x80":
            continue
        score += 1 if c.isalpha() and not (c.isupper() and i and text[i - 1].islower()) else -1
    return score


def _decode(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a file's bytes.

    UTF-8 first: the SWIFT character set is ASCII, non-ASCII text is a bank extension, and a file in a
    single-byte code page practically never happens to be valid UTF-8 (its accented letters would have
    to come in exactly UTF-8's lead/continuation byte pairs), so a strict UTF-8 decode that succeeds is
    right. Otherwise the order of fallbacks cannot decide alone, because cp852 and latin-1 decode any
    byte: each candidate decodes the non-ASCII bytes and the one turning the most of them into letters
    that fit their word wins (cp852 reads the Raiffeisen HU file's 0xA0 0x82 0x94 as "á é ö" where
    latin-1 gives NBSP and C1 controls; a latin-1 "Straße" gives "▀" in cp852, a French "Crédit" the
    capital in "CrÚdit"). A tie goes to the earlier code page: cp852 first (DOS Central European,
    what Hungarian/Polish/Czech bank host systems export, and the mt-940 library's own fallback), then
    cp1252 (Windows Western, the most common legacy encoding; German umlauts and French accents are
    letters in cp1250 too, so only the order can keep "è" from becoming "č"), then cp1250 (Windows
    Central European: its ł ą ż ś are symbols in cp1252, so Polish text still wins on the score),
    latin-1 last (never fails).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    runs = re.findall(rb"[\x00-\x7f]?[\x80-\xff]+", data)  # non-ASCII bytes with the character before
    best: tuple[int, int, str] | None = None
    for rank, codepage in enumerate(_CODEPAGES):
        try:
            score = sum(_plausible(run.decode(codepage)) for run in runs)
        except UnicodeDecodeError:
            continue
        if best is None or (score, -rank) > (best[0], best[1]):
            best = (score, -rank, codepage)
    codepage = best[2] if best else "latin-1"
    return data.decode(codepage, errors="replace"), codepage


# -- file structure ------------------------------------------------------------------------------------


@dataclass
class _Tag:
    name: str  # "20", "28C", "61", "NS" ...
    line: int  # where the tag starts
    lines: list[str]  # the value: first line after ":XX:", then continuation lines (blank lines dropped)

    @property
    def prefix(self) -> int:
        return len(self.name) + 2

    def value(self) -> str:
        """Lines without trailing blanks, joined with newlines, stripped."""
        return "\n".join(line.rstrip() for line in self.lines).strip()


@dataclass
class _Statement:
    tags: list[_Tag] = field(default_factory=list)


def _tokens(text: str) -> tuple[list[_Tag | None], set[str]]:
    """The tags of a decoded file in order, ``None`` marking the end of a message; and the message
    types (``940``/``942``) announced by envelopes or header lines."""
    lines = [_CONTROL.sub("", line) for line in _LINE_END.split(text)]
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    out: list[_Tag | None] = []
    announced: set[str] = set()
    current: _Tag | None = None
    n = 0
    while n < len(lines):
        line, number = lines[n], n + 1
        n += 1
        if _ENVELOPE_START.match(line):  # SWIFT envelope: {1:...}{2:O940...}{3:...}{4:
            match = _ENVELOPE_TYPE.search(line)
            if match:
                announced.add(match.group(1))
            if current is not None or (out and out[-1] is not None):
                out.append(None)
            current = None
            start = line.find("{4:")
            line = line[start + 3 :] if start >= 0 else ""
        stripped = line.strip()
        if not stripped:
            continue
        if _MESSAGE_END.fullmatch(stripped):
            if out and out[-1] is not None:
                out.append(None)
            current = None
            continue
        if stripped == ":" and n < len(lines) and _WRAPPED_TAG.match(lines[n]):
            line = ":" + lines[n]  # a tag the bank wrapped after its first colon
            n += 1
        match = _TAG.match(line)
        if match:
            current = _Tag(match.group(1), number, [line[match.end() :]])
            out.append(current)
        elif current is not None:
            current.lines.append(line)
        else:  # a header line before the first tag or between messages (ABN AMRO, ING, Rabobank ":940:")
            header = _HEADER_TYPE.fullmatch(stripped)
            if header:
                announced.add(header.group(1))
    return out, announced


def _statements(tokens: list[_Tag | None]) -> list[_Statement]:
    """Tags grouped into statements: each :20: starts one, and so does a tag after the end of a message."""
    statements: list[_Statement] = []
    current: _Statement | None = None
    for tag in tokens:
        if tag is None:
            current = None
            continue
        if current is None or (tag.name == "20" and any(t.name in ("20", "61") for t in current.tags)):
            current = _Statement()
            statements.append(current)
        current.tags.append(tag)
    return statements


# -- :86: narratives -----------------------------------------------------------------------------------


def _joined(tags: list[_Tag]) -> str:
    """A structured narrative's physical lines joined without separator, as wrapped by the bank.

    Trailing blanks are padding except on a line of the full wrap width, where the space is part of
    the text (``...Fuellzeichen `` + ``xxxx``).
    """
    parts = []
    for tag in tags:
        for i, line in enumerate(tag.lines):
            width = len(line) + (tag.prefix if i == 0 else 0)
            parts.append(line if width >= _LINE_WIDTH else line.rstrip())
    return "".join(parts).strip()


def _free_lines(tags: list[_Tag]) -> str:
    """A narrative's lines as the bank gave them: trailing blanks and blank lines dropped, joined with newlines."""
    return "\n".join(line.rstrip() for tag in tags for line in tag.lines if line.strip()).strip()


def _account(value: str | None) -> str | None:
    value = re.sub(r"\s+", "", value) if value else None
    return value or None


def _text(value: str | None) -> str | None:
    value = value.strip() if value else None
    return value or None


def _reference(value: str | None) -> str | None:
    value = _text(value)
    return None if value is None or value.upper() in _NO_REFERENCE else value


def _name(first: str, second: str) -> str | None:
    """The counterparty name from ?32 and ?33: split at 27 characters, with blanks at a subfield's end cut
    (DK rules), so a short ?32 ended in a space (``Zeichen`` + ``Beginn``); a full one is joined as is."""
    if first and second and len(first) < _ZKA_WIDTH and not second[:1].isspace() and not first[-1:].isspace():
        return _text(first + " " + second)
    return _text(first + second)


def _sepa_pieces(subfields: list[str]) -> list[tuple[str | None, str]]:
    """Remittance subfields split at the SEPA keywords: [(keyword or None, text)] in order.

    Per the DK rules each keyword starts a new subfield and a value too long for its 27-character
    subfield goes on in the next one without a keyword. So a subfield without a keyword continues the
    previous value only when that subfield was full; otherwise it is text of its own (``MTLG:...``
    after a short ``EREF+``). Without keywords at all (pre-SEPA), the same rule joins a word split
    across full subfields (Triodos ``KOS`` + ``TEN``) and keeps short subfields as separate lines.
    """
    pieces: list[list[Any]] = []
    full = False
    for text in subfields:
        cuts = [m.start() for m in _SEPA_KEY.finditer(text)]
        head = text[: cuts[0]] if cuts else text
        if head:
            if pieces and full:
                pieces[-1][1] += head
            else:
                pieces.append([None, head])
        for i, start in enumerate(cuts):
            end = cuts[i + 1] if i + 1 < len(cuts) else len(text)
            key, _, value = text[start:end].partition("+")
            pieces.append([key, value])
        full = len(text) == _ZKA_WIDTH
    return [(key, value) for key, value in pieces]


def _zka(text: str, separator: str, r: dict[str, Any]) -> str:
    """Fill ``r`` from a ZKA/DK narrative (``166?00GUTSCHRIFT?10...?20EREF+...``); its GVC is returned."""
    gvc = text[:3]
    parts = re.split(re.escape(separator) + r"([0-9]{2})", text[3:])
    fields: list[tuple[str, str]] = list(zip(parts[1::2], parts[2::2], strict=True))
    by_id: dict[str, str] = {}
    for key, value in fields:
        by_id[key] = by_id.get(key, "") + value
    remittance_lines = [value for key, value in fields if "20" <= key <= "29" or "60" <= key <= "63"]
    keyed: dict[str, str] = {}
    free: list[str] = []
    additional: list[str] = []
    # The ultimate party on the payer's side is the ultimate payer: ABWA+ (abweichender Auftraggeber)
    # of a credit, ABWE+ (abweichender Empfaenger) of a debit; the other side's is kept as text.
    ultimate = "ABWA" if r["direction"] == "credit" else "ABWE"
    for keyword, text_ in _sepa_pieces(remittance_lines):
        if keyword is None or keyword == "SVWZ":
            if text_.strip():
                free.append(text_.strip())
        elif keyword in keyed:
            keyed[keyword] += "\n" + text_
        else:
            keyed[keyword] = text_
        # What no other field of the receipt holds, and the customer's and the mandate's references
        # (KREF+, MREF+: they carry invoice and customer numbers, and only these texts are read for
        # them), as "KEY+value"; the end-to-end id, counterparty, code and ultimate payer have fields.
        if keyword not in (None, "SVWZ", "EREF", ultimate, "IBAN", "BIC", "PURP") and _reference(text_):
            additional.append(f"{keyword}+{text_.strip()}")
    r["remittance"] = "\n".join(free) or None
    r["end_to_end_id"] = _reference(keyed.get("EREF"))
    r["instruction_id"] = _reference(keyed.get("KREF"))
    r["mandate_id"] = _reference(keyed.get("MREF"))
    r["purpose"] = _text(keyed.get("PURP"))
    r["ultimate_payer_name"] = _text(keyed.get(ultimate))
    r["additional_remittance"] = additional
    r["payer_bic"] = _text(by_id.get("30")) or _text(keyed.get("BIC"))
    r["payer_account"] = _account(by_id.get("38")) or _account(by_id.get("31")) or _account(keyed.get("IBAN"))
    r["payer_name"] = _name(by_id.get("32", ""), by_id.get("33", ""))
    reason = _text(by_id.get("34"))
    r["return_reason"] = reason if reason and re.fullmatch(r"9[0-9]{2}", reason) else None
    r["additional_entry_info"] = _text(by_id.get("00"))
    return gvc


def _dutch(text: str, r: dict[str, Any]) -> None:
    """Fill ``r`` from a Dutch structured narrative (``/TRTP/.../IBAN/.../NAME/.../REMI/.../EREF/...``).

    A party (``/ORDP/``, ``/BENM/``, ``/ULTD/``, ``/ULTC/``, ``/ULTB/``) is written either as its value
    (ING: ``/ULTD/name/id/``) or with sub-keys (Rabobank: ``/ORDP//NAME/.../ADDR/...``,
    ``/ULTD//NAME/.../ID/...``): then ``NAME`` and ``ADDR`` are the party's. A creditor reference is
    ``/CDTRREFTP//CD/SCOR/ISSR/CUR/CDTRREF/RF.../`` (ABN AMRO, Rabobank).
    """
    matches = list(_NL_KEY.finditer(text))
    values: dict[str, str] = {}
    parties: dict[str, dict[str, str]] = {}
    party: dict[str, str] | None = None
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[m.end() : end]
        if value.endswith("/"):  # ING and Rabobank close each value with "/" ("...//REMI/")
            value = value[:-1]
        key = m.group(1)
        if key in _NL_PARTIES and not value:  # "/ORDP//NAME/...": the party's sub-keys follow
            party = parties.setdefault(key, {})
            continue
        if party is not None and key in ("NAME", "ADDR"):
            party.setdefault(key, value.split("/ID/")[0])
            continue
        party = None
        values.setdefault(key, value)
    counterparty = values.get("CNTP", "").split("/")  # account/BIC/name/city
    counterparty += [""] * (4 - len(counterparty))
    credit = r["direction"] == "credit"
    payer_party, ultimate_party = ("ORDP", "ULTD") if credit else ("BENM", "ULTC")
    r["payer_account"] = _account(values.get("IBAN")) or _account(counterparty[0])
    r["payer_bic"] = _text(values.get("BIC")) or _text(counterparty[1])
    r["payer_name"] = (
        _text(values.get("NAME")) or _text(counterparty[2]) or _text(parties.get(payer_party, {}).get("NAME"))
    )
    r["end_to_end_id"] = _reference(values.get("EREF"))
    r["mandate_id"] = _reference(values.get("MARF"))
    r["instruction_id"] = _reference(values.get("PREF"))
    r["return_reason"] = _text(values.get("RTRN", "").strip("/").split("/")[0])
    r["purpose"] = _text(values.get("PURP", "").strip("/").split("/")[0])
    ultimate = values.get(ultimate_party) or values.get("ULTD") or ""
    r["ultimate_payer_name"] = _text(ultimate.strip("/").split("/")[0]) or _text(
        parties.get(ultimate_party, {}).get("NAME")
    )
    r["additional_entry_info"] = _text(values.get("TRTP"))
    r["additional_remittance"] = [f"CSID/{values['CSID'].strip()}"] if _text(values.get("CSID")) else []
    # every other party's name stays as text ("BENM/NAME/..." of a credit: our own side, an ultimate
    # party that is not the payer's)
    for key, fields in parties.items():
        name = _text(fields.get("NAME"))
        if name and name not in (r["payer_name"], r["ultimate_payer_name"]):
            r["additional_remittance"].append(f"{key}/NAME/{name}")
    creditor_ref = _reference(values.get("CDTRREF", "").strip("/"))
    if creditor_ref:
        kind = values.get("CDTRREFTP", "")
        code = re.search(r"(?:^|/)CD/([^/]+)", kind)
        issued = re.search(r"(?:^|/)ISSR/([^/]+)", kind)
        r["references"] = [
            {
                "type": code.group(1) if code else "SCOR",
                "value": creditor_ref,
                "issuer": issued.group(1) if issued else None,
            }
        ]
    remi = values.get("REMI")
    if remi is None:
        return
    if remi.startswith("USTD/"):
        r["remittance"] = _text(remi[5:].lstrip("/"))
    elif remi.startswith("STRD/"):
        parts = remi[5:].split("/", 1)
        issuer, ref = [*parts, ""][:2]
        ref = ref.strip().strip("/")
        if ref and all(x["value"] != ref for x in r["references"]):
            r["references"].append({"type": "SCOR", "value": ref, "issuer": _text(issuer)})
    else:
        r["remittance"] = _text(remi)


def _narrative(tags: list[_Tag], r: dict[str, Any]) -> str | None:
    """Fill ``r``'s remittance, counterparty and references from the :86: narrative; its GVC is returned."""
    r["additional_tx_info"] = _free_lines(tags) or None
    joined = _joined(tags)
    zka = _ZKA.match(joined)
    if zka:
        return _zka(joined, zka.group(2), r)
    if _NL_KEY.match(joined):
        _dutch(joined, r)
    else:
        r["remittance"] = r["additional_tx_info"]
    return None


def _looks_like_narrative(tag: _Tag) -> bool:
    """A mistagged :86:: ZKA or Dutch structure, or text no header tag would hold."""
    joined = _joined([tag])
    return bool(_ZKA.match(joined) or _NL_KEY.match(joined) or len(tag.lines) > 1 or len(joined) > 35)


# -- the reader ----------------------------------------------------------------------------------------


@dataclass
class _Entry:
    tag: _Tag
    narrative: list[_Tag] = field(default_factory=list)
    extra: list[_Tag] = field(default_factory=list)  # :NS: lines of the transaction


def _plain(amount: Decimal) -> str:
    return format(abs(amount), "f")


class Mt940Reader:
    """Iterate an MT940/MT942 file's receipts; :attr:`summary` is complete once iteration ends.

    One receipt per ``:61:``, a dict with exactly the keys of
    :data:`~hub_connectors.bank_files.common.RECEIPT_FIELDS`:

    * ``amount`` unsigned with ``.`` (``300,`` is ``"300"``), ``currency`` and ``account_currency``
      the statement's (its opening balance, else closing balance, else ``:34F:``/``:90C:``);
      ``direction`` ``credit`` for ``C`` and ``RD`` (reversal of a debit), ``debit`` for ``D`` and
      ``RC``, ``reversal`` true for ``RC``/``RD``;
    * ``value_date`` from ``:61:``, ``booking_date`` its entry date (year taken from the value date,
      across a year end) else the value date;
    * ``statement_id`` (``:20:``), ``statement_seq`` (``:28C:``/``:28:`` as written, ``"00004/00002"``),
      ``account`` (``:25:``);
    * ``bank_ref`` the bank's reference after ``//`` unless ``NONREF``. The customer reference
      ("reference for the account owner") is **not** used as ``bank_ref``, because it is the key re-imports
      de-duplicate on and in real files that field holds the counterparty's IBAN (ASN, SNS, Rabobank),
      a code repeated on every line (PostFinance ``01916``) or a placeholder (``KREF+``): keying on it
      would merge different payments. It goes to ``instruction_id`` (unless a ``KREF+`` gives one);
    * ``bank_tx_code`` the ``:61:`` transaction type (``NTRF``), with the ZKA business code after a
      slash when there is one (``NTRF/166``); ``status`` ``BOOK`` in an MT940, None in an MT942;
    * from ``:86:``: ``remittance``, ``end_to_end_id``, ``mandate_id``, ``payer_*``, ``references``,
      ``return_reason``, ``purpose``... (see the module docstring); ``additional_tx_info`` is the whole
      narrative as written, ``additional_entry_info`` the booking text (``?00``, ``/TRTP/``), the
      ``:61:`` supplementary details and any ``:NS:`` lines.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.max_bytes = max_bytes
        self.summary = Mt940Summary()
        self._keys = ReceiptKeys(self.summary)
        self._collection = mt940_models.Transactions(options=_OPTIONS)

    def _error(self, line: int | None, reason: str) -> StatementError:
        return StatementError(self.file, f"line {line}" if line is not None else None, reason)

    def _warn(self, line: int, text: str) -> None:
        self.summary.warnings.append(f"line {line}: {text}")

    def __iter__(self) -> Iterator[dict[str, Any]]:
        s = self.summary  # reset in place: a reference taken before iterating stays live
        s.reset("mt940")
        self._keys = ReceiptKeys(s)
        self._collection = mt940_models.Transactions(options=_OPTIONS)
        receipts = self._read()
        for r in receipts:
            s.count(r)
            yield r

    def _read(self) -> list[dict[str, Any]]:
        """Every receipt of the file, checked; fills the summary but the receipt count and totals."""
        s = self.summary
        text, encoding = _decode(read_limited(self.path, self.max_bytes))
        tokens, announced = _tokens(text)
        statements = _statements(tokens)
        if not statements:
            raise self._error(1, "not an MT940/MT942 file: no SWIFT tags (:20:, :25:, :61: ...) found")
        if encoding != "utf-8":
            s.warnings.append(f"the file is not UTF-8; read as {encoding}")
        if "\ufffd" in text:
            s.warnings.append(
                "the file holds U+FFFD replacement characters: some of its text was damaged before it reached us"
            )
        receipts: list[dict[str, Any]] = []
        kinds: set[str] = set()
        for statement in statements:
            kind, found = self._statement(statement, announced)
            kinds.add(kind)
            receipts.extend(found)
        s.message_type = "MT942" if kinds == {"MT942"} else "MT940"
        return receipts

    # -- one statement ---------------------------------------------------------------------------------

    def _statement(self, st: _Statement, announced: set[str]) -> tuple[str, list[dict[str, Any]]]:
        s = self.summary
        s.statements += 1
        first = st.tags[0].line
        statement_id = seq = account = None
        opening = closing = None  # (signed amount, currency, line)
        other_currency: str | None = None
        interim = False
        sums: dict[str, tuple[int | None, Decimal, int]] = {}
        entries: list[_Entry] = []
        closed = False
        for tag in st.tags:
            name = tag.name
            if name == "20":
                statement_id = _text(tag.value())
            elif name in _STATEMENT_TAGS and entries:
                self._stray_header(tag, entries[-1], closed)
            elif name == "25":
                if account is None:
                    account = _text(tag.value())
                else:
                    self._warn(tag.line, f"second :25: account {tag.value()!r} in one statement ignored")
            elif name in ("28", "28C"):
                seq = self._statement_number(tag)
            elif name == "21":
                pass
            elif name in _OPENING:
                if opening is None:
                    opening = self._balance(tag)
                else:
                    self._warn(tag.line, f"second opening balance :{name}: ignored")
            elif name == "61":
                if closed:
                    self._warn(tag.line, ":61: after the closing balance")
                    closed = False
                entries.append(_Entry(tag))
            elif name == "86":
                if entries and not closed:
                    entries[-1].narrative.append(tag)
                elif not entries:
                    self._warn(
                        tag.line,
                        f":86: before any :61: belongs to no transaction; ignored ({_free_lines([tag])[:60]!r})",
                    )
                # else: after the closing balance, information for the whole statement (SWIFT field 86)
            elif name == "NS":
                if entries and not closed:
                    entries[-1].extra.append(tag)
            elif name in _CLOSING:
                if closing is None:
                    closing = self._balance(tag)
                closed = True
            elif name in ("64", "65"):
                self._optional(tag)
            elif name in ("13", "13D"):
                interim = True
                self._optional(tag)
            elif name in ("34", "34F"):
                interim = True
                if self._optional(tag) and _CURRENCY.fullmatch(tag.value()[:3]):
                    other_currency = other_currency or tag.value()[:3]
            elif name in ("90", "90C", "90D"):
                interim = True
                parsed = self._optional(tag)
                if parsed:
                    for key, amount in parsed.items():
                        number = amount.number if isinstance(amount.number, str) else ""
                        sums[key] = (int(number) if number.isdigit() else None, abs(amount.amount), tag.line)
                        if _CURRENCY.fullmatch(amount.currency or ""):
                            other_currency = other_currency or amount.currency
            else:
                self._warn(tag.line, f"unknown tag :{name}: ignored")
        if "942" in announced and "940" not in announced:
            kind = "MT942"
        elif "940" in announced:
            kind = "MT940"
        else:  # no envelope or header: an MT942 has no opening balance but :13D:, :34F:, :90D:/:90C:
            kind = "MT942" if interim and opening is None else "MT940"
        where = f"statement {statement_id or '(no :20:)'}" + (f" ({seq})" if seq else "")
        currency = opening[1] if opening else closing[1] if closing else other_currency
        if entries and currency is None:
            raise self._error(
                entries[0].tag.line,
                f"{where}: no currency for its transactions: the statement "
                "has no balance (:60F:/:62F:) and no :34F: floor limit",
            )
        if entries and statement_id is None:
            self._warn(first, f"{where} has no :20: transaction reference")
        if entries and account is None:
            self._warn(first, f"{where} has no :25: account")
        s.entries += len(entries)
        context = {
            "statement_id": statement_id,
            "statement_seq": seq,
            "account": account,
            "account_currency": currency,
            "currency": currency,
            "status": "BOOK" if kind == "MT940" else None,
        }
        receipts = [self._receipt(e, context) for e in entries]
        self._check_balances(where, first, opening, closing, receipts, kind)
        self._check_sums(where, sums, receipts)
        return kind, receipts

    def _stray_header(self, tag: _Tag, entry: _Entry, closed: bool) -> None:
        """A statement header tag after the transactions: a mistagged :86: narrative, else ignored."""
        if not closed and _looks_like_narrative(tag):
            entry.narrative.append(tag)
            self._warn(
                tag.line,
                f":{tag.name}: after the :61: on line {entry.tag.line} holds transaction details; "
                "read as that transaction's :86: (mistagged)",
            )
        else:
            self._warn(tag.line, f":{tag.name}: {tag.value()[:40]!r} after the transactions ignored")

    # -- tags --------------------------------------------------------------------------------------------

    def _library(self, tag: _Tag, value: str, library_tag: Any, *, what: str) -> dict[str, Any]:
        """The library's reading of one tag value; its exceptions become a StatementError on the tag's line."""
        match = library_tag.re.match(value)
        if match is None:
            raise self._error(tag.line, f":{tag.name}: {value[:80]!r} is not a valid {what}")
        try:
            parsed: dict[str, Any] = library_tag(self._collection, match.groupdict())
        except (ValueError, ArithmeticError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
            raise self._error(tag.line, f":{tag.name}: {value[:80]!r} is not a valid {what} ({exc})") from None
        return parsed

    def _library_tag(self, tag: _Tag) -> Any:
        return _TAGS.get(tag.name) or _TAGS[int(tag.name[:2])]

    def _currency(self, tag: _Tag, ccy: str | None) -> str:
        if not ccy or not _CURRENCY.fullmatch(ccy):
            raise self._error(tag.line, f":{tag.name}: currency {ccy!r} is not a currency code")
        return ccy

    def _balance(self, tag: _Tag) -> tuple[Decimal, str, int]:
        value = tag.value()
        match = re.match(r"[CD][0-9]{6}(.{3})([0-9,]*)", value)
        if match is None or not _AMOUNT.fullmatch(match.group(2)):
            raise self._error(
                tag.line, f":{tag.name}: {value[:80]!r} is not a balance (C/D mark, YYMMDD date, currency, amount)"
            )
        ccy = self._currency(tag, match.group(1))
        parsed = self._library(tag, value, self._library_tag(tag), what="balance")
        balance = next(iter(parsed.values()))
        return balance.amount.amount, ccy, tag.line

    def _statement_number(self, tag: _Tag) -> str | None:
        value = tag.value()
        if not _TAGS[28].re.match(value):
            self._warn(tag.line, f":{tag.name}: statement number {value!r} is not NNNNN[/NNNNN]; kept as written")
        return _text(value)

    def _optional(self, tag: _Tag) -> dict[str, Any] | None:
        """A tag the receipts do not need (:64:, :65:, :13D:, :34F:, :90C:): a warning if it does not parse."""
        try:
            return self._library(tag, tag.value(), self._library_tag(tag), what=f":{tag.name}: value")
        except StatementError as exc:
            self.summary.warnings.append(f"line {tag.line}: {exc.reason}; ignored")
            return None

    def _date(self, tag: _Tag, year: int, month: int, day: int, what: str, raw: str) -> dt.date:
        """A date; a day past the end of its month (30 February) is the month's last day, with a warning."""
        if not 1 <= month <= 12 or not 1 <= day <= 31:
            raise self._error(tag.line, f":61: {what} {raw!r} is not a date")
        last = calendar.monthrange(year, month)[1]
        if day > last:
            self._warn(
                tag.line,
                f":61: {what} {raw!r} does not exist ({year}-{month:02d} has {last} days); "
                f"read as {year}-{month:02d}-{last:02d}",
            )
            day = last
        return dt.date(year, month, day)

    def _statement_line(self, tag: _Tag) -> dict[str, Any]:
        """The :61: groups by the library's pattern: the standard one, else ASN Bank's or GLS's long references."""
        value = tag.value()
        match = _STATEMENT_LINE.re.match(value)
        if match is not None and match.group("bank_reference") is None and "//" in value.split("\n", 1)[0]:
            match = _STATEMENT_GLS.re.match(value) or match  # customer reference over 16 characters, then //
        if match is None:
            match = _STATEMENT_ASNB.re.match(value)  # ASN Bank: an IBAN (up to 34x) as customer reference
        if match is None:
            raise self._error(
                tag.line,
                f":61: {value[:80]!r} is not a statement line (value date, [entry date], "
                "D/C/RD/RC, amount, type, reference)",
            )
        groups: dict[str, Any] = match.groupdict()
        customer = groups.get("customer_reference") or ""
        if groups.get("bank_reference") is None and "//" in customer:
            groups["customer_reference"], groups["bank_reference"] = customer.split("//", 1)
        return groups

    # -- one receipt -------------------------------------------------------------------------------------

    def _receipt(self, entry: _Entry, context: dict[str, Any]) -> dict[str, Any]:
        tag = entry.tag
        g = self._statement_line(tag)
        mark = (g.get("status") or "").upper()
        if mark not in _DIRECTIONS:
            raise self._error(tag.line, f":61: debit/credit mark {g.get('status')!r} is not C, D, RC or RD")
        if not _AMOUNT.fullmatch(g.get("amount") or ""):
            raise self._error(tag.line, f":61: amount {g.get('amount')!r} is not an amount")
        direction, reversal = _DIRECTIONS[mark]
        raw_date = f"{g['year']}{g['month']}{g['day']}"
        value_date = self._date(tag, 2000 + int(g["year"]), int(g["month"]), int(g["day"]), "value date", raw_date)
        booking_date = value_date
        entry_month, entry_day = (g.get("entry_month") or "").strip(), (g.get("entry_day") or "").strip()
        if entry_month.isdigit() and entry_day.isdigit():
            booking_date = self._entry_date(tag, value_date, int(entry_month), int(entry_day), entry_month + entry_day)
        lib = dict(g, day=f"{value_date.day:02d}", entry_month=None, entry_day=None, status=mark)
        try:
            parsed = _STATEMENT_LINE(self._collection, lib)
        except (ValueError, ArithmeticError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
            raise self._error(tag.line, f":61: {tag.value()[:80]!r} is not a valid statement line ({exc})") from None
        amount = _plain(parsed["amount"].amount)
        bank_ref = _reference(g.get("bank_reference"))
        customer = _reference(g.get("customer_reference"))
        if customer is not None and _KEYWORD_ONLY.fullmatch(customer):
            customer = None  # "KREF+" (DK), "EREF" / "PREF" (ING): names the reference that is in :86:
        r = new_receipt(**context)
        r.update(
            bank_ref=bank_ref,
            booking_date=booking_date.isoformat(),
            value_date=value_date.isoformat(),
            amount=amount,
            entry_amount=amount,
            entry_currency=context["currency"],
            direction=direction,
            reversal=reversal,
        )
        narrative = entry.narrative
        gvc = _narrative(narrative, r) if narrative else None
        if r["instruction_id"] is None:
            r["instruction_id"] = customer
        kind = _text(g.get("id"))
        r["bank_tx_code"] = "/".join(p for p in (kind, gvc) if p) or None
        extra = [r["additional_entry_info"], _text(g.get("extra_details")), *(_free_lines([t]) for t in entry.extra)]
        r["additional_entry_info"] = "\n".join(p for p in extra if p) or None
        self._keys.assign(r, f"line {tag.line}")
        return r

    def _entry_date(self, tag: _Tag, value_date: dt.date, month: int, day: int, raw: str) -> dt.date:
        """The entry date MMDD in the year that puts it nearest the value date (Dec 31 / Jan 2 across New Year)."""
        if not 1 <= month <= 12 or not 1 <= day <= 31:
            raise self._error(tag.line, f":61: entry date {raw!r} is not a date")
        candidates = []
        for year in (value_date.year - 1, value_date.year, value_date.year + 1):
            last = calendar.monthrange(year, month)[1]
            candidates.append(dt.date(year, month, min(day, last)))
        nearest = min(candidates, key=lambda d: abs((d - value_date).days))
        return self._date(tag, nearest.year, month, day, "entry date", raw)

    # -- checks ------------------------------------------------------------------------------------------

    def _check_balances(
        self,
        where: str,
        line: int,
        opening: tuple[Decimal, str, int] | None,
        closing: tuple[Decimal, str, int] | None,
        receipts: list[dict[str, Any]],
        kind: str,
    ) -> None:
        if opening is None or closing is None:
            if kind == "MT940":
                missing = "opening" if opening is None else "closing"
                self._warn(line, f"{where} has no {missing} balance; its movements cannot be checked")
            return
        if opening[1] != closing[1]:
            self._warn(closing[2], f"{where}: opening balance in {opening[1]} but closing balance in {closing[1]}")
            return
        movement = sum(
            (Decimal(r["amount"]) if r["direction"] == "credit" else -Decimal(r["amount"]) for r in receipts), _ZERO
        )
        if opening[0] + movement != closing[0]:
            self._warn(
                closing[2],
                f"{where}: opening balance {opening[0]} {opening[1]} plus movements {movement} "
                f"is {opening[0] + movement}, but the closing balance is {closing[0]}",
            )

    def _check_sums(
        self, where: str, sums: dict[str, tuple[int | None, Decimal, int]], receipts: list[dict[str, Any]]
    ) -> None:
        """MT942 :90D:/:90C: (number and sum of debit/credit entries) against the receipts."""
        for key, direction in (("sum_debit_entries", "debit"), ("sum_credit_entries", "credit")):
            if key not in sums:
                continue
            number, total, line = sums[key]
            mine = [Decimal(r["amount"]) for r in receipts if r["direction"] == direction]
            if (number is not None and number != len(mine)) or total != sum(mine, _ZERO):
                self._warn(
                    line,
                    f"{where}: declares {number} {direction} entries of {total} but holds "
                    f"{len(mine)} of {sum(mine, _ZERO)}",
                )


def iter_mt940(path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[dict[str, Any]]:
    """Yield an MT940/MT942 file's receipts (use :class:`Mt940Reader` for the summary)."""
    yield from Mt940Reader(path, max_bytes=max_bytes)
