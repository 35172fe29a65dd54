"""CSV and XLSX bank exports (account transaction downloads), read through a layout file.

Many banks, most Chinese banks' online banking among them, offer only a spreadsheet download of an
account's transactions. Each bank's shape is described by a *layout*, a TOML file like
``mappings/bank-export-cn-gb18030.toml``::

    name = "cn-gb18030"
    file_types = ["csv"]                      # csv, xlsx
    encoding = ["utf-8-sig", "gb18030"]       # CSV: tried in order
    delimiter = [",", "\\t"]                   # CSV: tried in order
    header_search_rows = 30                   # the header row is searched in these first rows
    required = ["booking_date", "debit", "credit"]   # [columns] the header must show
    date_formats = ["%Y-%m-%d", "%Y%m%d"]
    default_currency = "CNY"                  # when neither a column nor the preamble gives one
    footer = ["合计", "Total"]                 # a row whose first cell starts so ends the data

    [preamble]                                # regexes over the lines above the header (group 1)
    account = '账号\\s*[:\\uff1a]\\s*([0-9 ]+)'    # \\uff1a: the full-width colon
    currency = '币种\\s*[:\\uff1a]\\s*(\\S+)'

    [currency_names]                          # currency words to ISO codes
    "人民币" = "CNY"

    [amounts]
    convention = "split"                      # "signed" | "split" | "direction"
    credit_sign = "positive"                  # signed: the sign of a credit
    credit_values = ["贷", "CR"]              # direction: the direction column's words
    debit_values = ["借", "DR"]
    decimal_separator = "."
    thousands_separator = ","
    currency_symbols = ["¥"]
    parentheses_negative = false              # "(12.50)" is -12.50

    [columns]                                 # receipt field = title, or a list of alternatives
    booking_date = ["交易日期", "记账日期"]
    debit = "借方发生额(支取)"
    credit = "贷方发生额(收入)"
    balance = "余额"
    bank_ref = "交易流水号"

    [remittance]                              # columns joined into the remittance text
    columns = ["摘要", ["附言/用途", "附言"]]
    separator = "\\n"

``[columns]`` keys are ``amount``, ``credit``, ``debit``, ``direction``, ``balance`` and the text
fields of a receipt (:data:`COLUMN_FIELDS`). Titles are compared after Unicode NFKC (full-width
brackets equal ASCII ones), without white space, ignoring case.

Which layout reads a file is decided from its content (:func:`match_layout`): XLSX is a ZIP with
``xl/`` entries, anything else is CSV; the layout whose required titles appear in one of the first
rows wins (the one recognising most columns when several do). Use::

    reader = TabularReader(path)              # nothing is read yet; shipped layouts are tried
    for receipt in reader: ...                # one dict per transaction row (RECEIPT_FIELDS)
    reader.summary                            # complete once iteration ends

A file is read whole before its first receipt is yielded, so a bad row fails the file before
anything is handed out. Every problem is a :class:`~hub.errors.StatementError` naming the file,
the row and the column with its value.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import math
import os
import re
import tomllib
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from hub import MappingError, StatementError

from .common import (
    ReceiptKeys,
    StatementSummary,
    new_receipt,
    read_limited,
    xml_prolog_problem,
)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: An XLSX is refused when its entries declare more than this many bytes uncompressed in total.
DEFAULT_MAX_UNCOMPRESSED = 256 * 1024 * 1024
#: ... or when one entry above 1 MiB declares a compression ratio above this.
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_ENTRIES = 10_000
#: Cells beyond this column are ignored; rows beyond Excel's last row are refused.
MAX_COLUMNS = 256
MAX_ROWS = 1_048_576
_BATCH_ROWS = 256

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

#: Receipt fields a layout may fill from a column (besides the amount columns and ``remittance``).
COLUMN_FIELDS: frozenset[str] = frozenset(
    {
        "bank_ref",
        "statement_id",
        "account",
        "currency",
        "booking_date",
        "value_date",
        "payer_name",
        "payer_account",
        "ultimate_payer_name",
        "payer_bic",
        "bank_tx_code",
        "end_to_end_id",
        "instruction_id",
        "tx_id",
        "mandate_id",
        "additional_entry_info",
        "additional_tx_info",
        "purpose",
        "return_reason",
        "status",
    }
)
AMOUNT_COLUMNS: frozenset[str] = frozenset({"amount", "credit", "debit", "direction", "balance"})
_CONVENTION_COLUMNS = {"signed": ("amount",), "split": ("credit", "debit"), "direction": ("amount", "direction")}

#: Minor-unit digits of currencies that do not use 2 (ISO 4217); amounts show at least this many.
_CURRENCY_DECIMALS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}
#: The store keeps six decimal places (hub.model.MONEY_DECIMALS).
_MAX_DECIMALS = 6
_MAX_INTEGER_DIGITS = 15
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_DIGITS = re.compile(r"[0-9]+")
_MINUS = ("-", "\u2212", "\u2012", "\u2013", "\ufe63", "\uff0d")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']+")


def _norm(title: str) -> str:
    """A column title or marker as compared: NFKC, no white space, case-folded."""
    return "".join(unicodedata.normalize("NFKC", title).split()).casefold()


# -- the layout ----------------------------------------------------------------------------------


def _as_tuple(value: Any) -> Any:
    return (value,) if isinstance(value, str) else value


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Amounts(_Part):
    """How a row's amount and direction are written."""

    convention: Literal["signed", "split", "direction"]
    credit_sign: Literal["positive", "negative"] = "positive"
    credit_values: tuple[str, ...] = ()
    debit_values: tuple[str, ...] = ()
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal[",", ".", " ", "'", ""] = ","
    currency_symbols: tuple[str, ...] = ()
    parentheses_negative: bool = False

    _tuples = field_validator("credit_values", "debit_values", "currency_symbols", mode="before")(_as_tuple)

    @model_validator(mode="after")
    def _check(self) -> Amounts:
        if self.decimal_separator == self.thousands_separator:
            raise ValueError("decimal_separator and thousands_separator must differ")
        if self.convention == "direction" and not (self.credit_values and self.debit_values):
            raise ValueError("convention 'direction' needs credit_values and debit_values")
        overlap = {_norm(v) for v in self.credit_values} & {_norm(v) for v in self.debit_values}
        if overlap:
            raise ValueError(f"credit_values and debit_values share {sorted(overlap)}")
        return self


class Preamble(_Part):
    """Regexes searched in the lines above the header; group 1 is the value."""

    account: str | None = None
    currency: str | None = None

    @field_validator("account", "currency")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
            if pattern.groups < 1:
                raise ValueError("the regular expression needs a group (the value)")
        return value


class Remittance(_Part):
    """Columns joined into the remittance text; each a title or a list of alternative titles."""

    columns: tuple[tuple[str, ...], ...] = ()
    separator: str = "\n"

    @field_validator("columns", mode="before")
    @classmethod
    def _alternatives(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple(_as_tuple(v) for v in value)
        return value


class Layout(_Part):
    """One bank export's shape (see the module docstring for the TOML format)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    file_types: tuple[Literal["csv", "xlsx"], ...] = Field(default=("csv",), min_length=1)
    encoding: tuple[str, ...] = Field(default=("utf-8-sig",), min_length=1)
    delimiter: tuple[str, ...] = Field(default=(",",), min_length=1)
    header_search_rows: int = Field(default=30, ge=1, le=1000)
    required: tuple[str, ...] = ()
    date_formats: tuple[str, ...] = Field(default=("%Y-%m-%d",), min_length=1)
    default_currency: str | None = None
    currency_names: dict[str, str] = Field(default_factory=dict)
    footer: tuple[str, ...] = ()
    preamble: Preamble = Preamble()
    amounts: Amounts
    columns: dict[str, tuple[str, ...]]
    remittance: Remittance = Remittance()
    _currency_keys: dict[str, str] = PrivateAttr(default_factory=dict)

    _tuples = field_validator(
        "file_types", "encoding", "delimiter", "required", "date_formats", "footer", mode="before"
    )(_as_tuple)

    @field_validator("columns", mode="before")
    @classmethod
    def _alternatives(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _as_tuple(v) for k, v in value.items()}
        return value

    @field_validator("encoding")
    @classmethod
    def _encodings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import codecs

        for name in value:
            try:
                codecs.lookup(name)
            except LookupError:
                raise ValueError(f"unknown encoding {name!r}") from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _delimiters(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for d in value:
            if len(d) != 1 or d in '\r\n"':
                raise ValueError(f"a delimiter is one character other than a quote or line break, got {d!r}")
        return value

    @field_validator("date_formats")
    @classmethod
    def _dates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for fmt in value:
            if "%" not in fmt:
                raise ValueError(f"date format {fmt!r} has no % directive")
        return value

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not _CURRENCY_CODE.fullmatch(value):
            raise ValueError(f"a currency is three upper-case letters (ISO 4217), got {value!r}")
        return value

    @field_validator("currency_names")
    @classmethod
    def _currency_names(cls, value: dict[str, str]) -> dict[str, str]:
        for word, code in value.items():
            if not _CURRENCY_CODE.fullmatch(code):
                raise ValueError(f"{word!r} maps to {code!r}, not three upper-case letters (ISO 4217)")
        return value

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for key, titles in value.items():
            if key not in COLUMN_FIELDS and key not in AMOUNT_COLUMNS:
                known = ", ".join(sorted(COLUMN_FIELDS | AMOUNT_COLUMNS))
                raise ValueError(f"{key!r} is not a column field (known: {known})")
            if not titles or any(not _norm(t) for t in titles):
                raise ValueError(f"{key}: give a non-empty title or list of titles")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Layout:
        cols = self.columns
        if "booking_date" not in cols:
            raise ValueError("columns: booking_date is required")
        needed = _CONVENTION_COLUMNS[self.amounts.convention]
        missing = [c for c in needed if c not in cols]
        if missing:
            raise ValueError(f"columns: convention {self.amounts.convention!r} needs {', '.join(missing)}")
        unknown = [r for r in self.required if r not in cols]
        if unknown:
            raise ValueError(f"required: {', '.join(unknown)} not in [columns]")
        if not self.required:
            object.__setattr__(self, "required", ("booking_date", *needed))
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._currency_keys = {_norm(k): v for k, v in self.currency_names.items()}

    def currency_code(self, text: str) -> str | None:
        """An ISO code from a currency cell or preamble value (``CNY``, ``cny``, ``人民币``), else None."""
        key = _norm(text)
        code = self._currency_keys.get(key) or key.upper()
        return code if _CURRENCY_CODE.fullmatch(code) else None


def _layout_error(source: str, exc: ValidationError) -> MappingError:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {msg}")
    return MappingError(f"layout {source}: " + "; ".join(problems))


def parse_layout(data: dict[str, Any], source: str) -> Layout:
    """A :class:`Layout` from parsed TOML; a :class:`~hub.errors.MappingError` names ``source`` and the key."""
    try:
        return Layout.model_validate(data)
    except ValidationError as exc:
        raise _layout_error(source, exc) from None


def _layout_from_text(text: str, source: str) -> Layout:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"layout {source}: {exc}") from None
    return parse_layout(data, source)


def load_layout(path_or_name: str | os.PathLike[str]) -> Layout:
    """A layout from a ``.toml`` file, or a shipped one by name (``cn-gb18030`` or ``bank-export-cn-gb18030``)."""
    ref = os.fspath(path_or_name)
    if isinstance(path_or_name, os.PathLike) or ref.endswith(".toml") or os.sep in ref:
        path = Path(ref).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(f"layout file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        return _layout_from_text(text, str(path))
    stem = ref if ref.startswith("bank-export-") else f"bank-export-{ref}"
    resource = resources.files("hub_mappings") / f"{stem}.toml"
    if not resource.is_file():
        known = ", ".join(layout.name for layout in shipped_layouts())
        raise MappingError(f"no shipped bank export layout named {ref!r} (shipped: {known})")
    return _layout_from_text(resource.read_text(encoding="utf-8"), f"{stem}.toml")


@functools.lru_cache(maxsize=1)
def _shipped() -> tuple[Layout, ...]:
    found = sorted(
        (
            r
            for r in resources.files("hub_mappings").iterdir()
            if r.name.startswith("bank-export-") and r.name.endswith(".toml")
        ),
        key=lambda r: r.name,
    )
    return tuple(_layout_from_text(r.read_text(encoding="utf-8"), r.name) for r in found)


def shipped_layouts() -> list[Layout]:
    """Every layout shipped in ``mappings/bank-export-*.toml``, by file name."""
    return list(_shipped())


# -- detection -----------------------------------------------------------------------------------

_NOT_TABULAR = re.compile(rb"\s*(?:<|\{1:|:20:|OFXHEADER|01,[^\r\n]*/\s*$)", re.MULTILINE)


def _decode_head(head: bytes) -> str | None:
    """The first bytes as UTF-8 or GB18030 text; a character cut at the end of ``head`` is dropped."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return head.decode(enc)
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3:
                try:
                    return head[: exc.start].decode(enc)
                except UnicodeDecodeError:
                    continue
    return None


def detect_tabular(head: bytes) -> bool:
    """Cheap check of a file's first bytes: an XLSX (ZIP) or text that looks like a delimited table.

    True for a ZIP, or for text that decodes as UTF-8/UTF-16 (with BOM)/GB18030 and has a comma,
    semicolon, tab or bar on one of its first lines; False for XML, SWIFT MT, OFX and BAI2 heads.
    Whether a layout reads the file is decided by :func:`match_layout`.
    """
    if head.startswith(ZIP_MAGIC):
        return True
    if not head or head.startswith(OLE_MAGIC):
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        if b"\x00" in head:
            return False
        decoded = _decode_head(head)
        if decoded is None:
            return False
        text = decoded
    text = text.lstrip("\ufeff")
    if _NOT_TABULAR.match(text.encode("utf-8", "ignore")[:512]):
        return False
    lines = [line for line in text.splitlines()[:40] if line.strip()]
    return any(d in line for line in lines for d in ",;\t|")


# -- reading values ------------------------------------------------------------------------------


def _cell_text(value: Any) -> str | None:
    """A cell as stripped text (``="0123"`` Excel-guards removed); None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith('="') and text.endswith('"') and len(text) >= 3:
            text = text[2:-1].strip()
        return text or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() or None


def _places(currency: str) -> int:
    return _CURRENCY_DECIMALS.get(currency, 2)


def _canonical(value: Decimal, currency: str) -> str:
    """An unsigned amount with at least the currency's decimals: ``100`` -> ``100.00``."""
    value = abs(value).normalize()
    places = _places(currency)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent < places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return f"{value:f}"


class _BadValue(ValueError):
    """A cell that is not what its column needs; turned into a StatementError with row and column."""


class _Numbers:
    """Amount parsing for one layout's number format."""

    def __init__(self, amounts: Amounts) -> None:
        self.decimal = amounts.decimal_separator
        self.thousands = amounts.thousands_separator
        self.symbols = sorted((s for s in amounts.currency_symbols if s), key=len, reverse=True)
        self.parentheses = amounts.parentheses_negative
        sep = " " if self.thousands in (" ", "'") else re.escape(self.thousands)
        self._grouped = re.compile(rf"[0-9]{{1,3}}(?:{sep}[0-9]{{3}})+")

    def _strip_symbols(self, text: str) -> str:
        changed = True
        while changed and text:
            changed = False
            for s in self.symbols:
                if text.startswith(s):
                    text, changed = text[len(s) :].strip(), True
                elif text.endswith(s):
                    text, changed = text[: -len(s)].strip(), True
        return text

    def parse_text(self, raw: str) -> Decimal:
        text = raw.strip()
        negative = False
        if self.parentheses and text.startswith("(") and text.endswith(")"):
            negative, text = True, text[1:-1].strip()
        text = self._strip_symbols(text)
        if text[:1] in _MINUS or text[:1] == "+":
            negative, text = (negative != (text[:1] != "+")), text[1:].strip()
        elif text[-1:] in _MINUS or text[-1:] == "+":
            negative, text = (negative != (text[-1:] != "+")), text[:-1].strip()
        text = self._strip_symbols(text)
        if self.thousands in (" ", "'"):
            text = _SPACES.sub(" ", text)
        integer, dec_sep, fraction = text.partition(self.decimal)
        if dec_sep and (not fraction or not _DIGITS.fullmatch(fraction)):
            raise _BadValue("not an amount")
        if (self.thousands and self.thousands in integer) or (self.thousands in (" ", "'") and " " in integer):
            if not self._grouped.fullmatch(integer):
                raise _BadValue("not an amount (thousands separators misplaced)")
            integer = integer.replace(self.thousands, "").replace(" ", "")
        if not integer and dec_sep:
            integer = "0"
        if not _DIGITS.fullmatch(integer):
            raise _BadValue("not an amount")
        if len(integer.lstrip("0")) > _MAX_INTEGER_DIGITS:
            raise _BadValue("amount too large")
        if len(fraction) > _MAX_DECIMALS:
            raise _BadValue(f"more than {_MAX_DECIMALS} decimal places")
        value = Decimal(f"{integer}.{fraction}" if fraction else integer)
        return -value if negative else value

    def parse(self, raw: Any, currency: str | None) -> Decimal:
        """A signed Decimal from a cell: text in the layout's format, or an XLSX int/float."""
        if isinstance(raw, bool):
            raise _BadValue("not an amount")
        if isinstance(raw, int):
            if len(str(abs(raw))) > _MAX_INTEGER_DIGITS:
                raise _BadValue("amount too large")
            return Decimal(raw)
        if isinstance(raw, float):
            return _from_float(raw, currency)
        text = _cell_text(raw)
        if text is None:
            raise _BadValue("empty")
        return self.parse_text(text)


def _from_float(value: float, currency: str | None) -> Decimal:
    """A spreadsheet number as the amount it stands for: ``980.3500000000004`` -> ``980.35``.

    The float's shortest repr is exact for typed values; a computed one may carry binary noise,
    which is rounded off at the currency's decimals (else at six) when that is all it is.
    """
    if not math.isfinite(value):
        raise _BadValue("not a finite number")
    if abs(value) >= 10.0**_MAX_INTEGER_DIGITS:
        raise _BadValue("amount too large")
    exact = Decimal(repr(value))
    tolerance = max(Decimal("1e-9"), abs(exact) * Decimal("1e-14"))
    for places in (_places(currency or ""), _MAX_DECIMALS):
        rounded = exact.quantize(Decimal(1).scaleb(-places))
        if abs(exact - rounded) <= tolerance:
            return rounded
    raise _BadValue(f"more than {_MAX_DECIMALS} decimal places")


def _parse_date(raw: Any, formats: Sequence[str]) -> str:
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _BadValue("not a date")
    text = _cell_text(raw)
    if text is None:
        raise _BadValue("empty")
    candidates = [text]
    head = text.split()[0] if " " in text or "\t" in text else None
    if head and head != text:
        candidates.append(head)
    if "T" in text:
        candidates.append(text.split("T", 1)[0])
    for candidate in candidates:
        for fmt in formats:
            try:
                return dt.datetime.strptime(candidate, fmt).date().isoformat()
            except ValueError:
                continue
    raise _BadValue(f"not a date in the layout's formats ({', '.join(formats)})")


# -- the file ------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """Where a layout found its header in a file."""

    layout: Layout
    kind: str  # "csv" | "xlsx"
    table: tuple[str, str] | str  # (encoding, delimiter) of a CSV, sheet title of an XLSX
    header_row: int  # 1-based
    titles: list[str]  # the header cells as written
    columns: dict[str, int]
    remittance: list[int]
    preamble: list[tuple[int, list[str]]]
    score: int


def _header_match(layout: Layout, cells: Sequence[Any]) -> tuple[dict[str, int], list[int]] | None:
    index: dict[str, int] = {}
    for i, value in enumerate(cells):
        text = _cell_text(value)
        if text:
            index.setdefault(_norm(text), i)
    if not index:
        return None
    columns: dict[str, int] = {}
    for key, titles in layout.columns.items():
        for title in titles:
            at = index.get(_norm(title))
            if at is not None:
                columns[key] = at
                break
    if any(r not in columns for r in layout.required):
        return None
    remittance = []
    for alternatives in layout.remittance.columns:
        for title in alternatives:
            at = index.get(_norm(title))
            if at is not None:
                remittance.append(at)
                break
    return columns, remittance


def _find_header(layout: Layout, kind: str, table: tuple[str, str] | str, head: list[list[Any]]) -> _Plan | None:
    for i, cells in enumerate(head[: layout.header_search_rows]):
        found = _header_match(layout, cells)
        if found is not None:
            columns, remittance = found
            preamble = [(n + 1, [t for t in map(_cell_text, row) if t]) for n, row in enumerate(head[:i])]
            titles = [_cell_text(c) or "" for c in cells]
            return _Plan(
                layout, kind, table, i + 1, titles, columns, remittance, preamble, len(columns) + len(remittance)
            )
    return None


class _File:
    """One file's bytes, opened as CSV text or as an XLSX workbook, with its first rows cached."""

    def __init__(self, path: Path, max_bytes: int, max_uncompressed: int, head_rows: int) -> None:
        self.path = path
        self.file = str(path)
        self.head_rows = head_rows
        data = read_limited(path, max_bytes)
        if not data:
            raise self.error(None, "empty file")
        if data.startswith(OLE_MAGIC):
            raise self.error(
                None,
                "a legacy Excel .xls (or password-protected) workbook: not supported; "
                "export the account transactions as .xlsx or CSV",
            )
        self.data = data
        self.kind = "xlsx" if data.startswith(ZIP_MAGIC) else "csv"
        self._texts: dict[str, str | None] = {}
        self._heads: dict[Any, list[list[Any]]] = {}
        self.workbook: Any = None
        if self.kind == "xlsx":
            self._check_zip(max_uncompressed)
            self._open_workbook()

    def error(self, position: str | None, reason: str) -> StatementError:
        return StatementError(self.file, position, reason)

    def close(self) -> None:
        if self.workbook is not None:
            with contextlib.suppress(Exception):  # closing a damaged archive must not hide the real error
                self.workbook.close()
            self.workbook = None

    # -- XLSX ------------------------------------------------------------------------------------

    def _check_zip(self, max_uncompressed: int) -> None:
        """Refuse zip bombs and DTDs before openpyxl sees the archive (declared sizes are enforced
        by :mod:`zipfile` while reading: an entry never yields more than it declares)."""
        try:
            with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
                infos = archive.infolist()
                if len(infos) > MAX_ZIP_ENTRIES:
                    raise self.error(None, f"XLSX archive has {len(infos)} entries, above {MAX_ZIP_ENTRIES}")
                total = sum(i.file_size for i in infos)
                if total > max_uncompressed:
                    raise self.error(
                        None,
                        f"XLSX archive declares {total} bytes uncompressed, above the limit of "
                        f"{max_uncompressed} (a zip bomb?)",
                    )
                for info in infos:
                    if info.file_size > 1 << 20 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                        raise self.error(
                            None,
                            f"XLSX entry {info.filename!r} expands {info.file_size} bytes from "
                            f"{info.compress_size} (a zip bomb?)",
                        )
                    if info.flag_bits & 0x1:
                        raise self.error(None, "XLSX archive is encrypted")
                if not any(i.filename.startswith("xl/") for i in infos):
                    raise self.error(None, "a ZIP archive without xl/ entries is not an XLSX workbook")
                for info in infos:
                    if info.filename.endswith((".xml", ".rels", ".vml")):
                        with archive.open(info) as member:
                            head = member.read(65536)
                        problem = xml_prolog_problem(head, whole=len(head) < 65536)
                        if problem:
                            raise self.error(None, f"XLSX entry {info.filename!r}: {problem}")
        except StatementError:
            raise
        except Exception as exc:  # zipfile raises BadZipFile, zlib.error, struct.error, EOFError... on damage
            raise self.error(None, f"not a readable XLSX (ZIP) file: {type(exc).__name__}: {exc}") from None

    def _open_workbook(self) -> None:
        import openpyxl

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.workbook = openpyxl.load_workbook(
                    io.BytesIO(self.data), read_only=True, data_only=True, keep_links=False, keep_vba=False
                )
        except Exception as exc:  # openpyxl raises anything on damaged files; all are "cannot read"
            raise self.error(None, f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None

    def sheets(self) -> list[str]:
        try:
            return [ws.title for ws in self.workbook.worksheets]
        except Exception as exc:
            raise self.error(None, f"not a readable XLSX workbook: {type(exc).__name__}: {exc}") from None

    def sheet_rows(self, title: str) -> Iterator[tuple[int, Sequence[Any]]]:
        """A worksheet's rows (1-based numbers, values), streamed; openpyxl errors become StatementError."""
        try:
            ws = self.workbook[title]
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # a wrong <dimension> must not cut rows off
            rows = ws.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        except Exception as exc:
            raise self.error(None, f"unreadable worksheet {title!r}: {type(exc).__name__}: {exc}") from None
        n = 0
        done = False
        while not done:
            # Rows are pulled in batches: openpyxl's warnings about features it drops (data
            # validation, extensions) are silenced without a yield inside catch_warnings.
            batch: list[Sequence[Any]] = []
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    for _ in range(_BATCH_ROWS):
                        batch.append(next(rows))
            except StopIteration:
                done = True
            except Exception as exc:  # openpyxl raises anything on a damaged sheet; all are "cannot read"
                raise self.error(
                    f"row {n + len(batch) + 1}", f"unreadable worksheet {title!r}: {type(exc).__name__}: {exc}"
                ) from None
            for row in batch:
                n += 1
                if n > MAX_ROWS:
                    raise self.error(f"row {n}", f"worksheet {title!r} has more than {MAX_ROWS} rows")
                yield n, row

    # -- CSV -------------------------------------------------------------------------------------

    def text(self, encoding: str) -> str | None:
        if encoding not in self._texts:
            try:
                self._texts[encoding] = self.data.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError:
                self._texts[encoding] = None
        return self._texts[encoding]

    def csv_rows(self, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
        text = self.text(encoding)
        if text is None:
            return
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        n = 0
        try:
            for row in reader:
                n += 1
                if n > MAX_ROWS:
                    raise self.error(f"row {n}", f"more than {MAX_ROWS} rows")
                yield n, row[:MAX_COLUMNS]
        except csv.Error as exc:
            raise self.error(f"row {n + 1}", f"malformed CSV: {exc}") from None

    # -- probing ---------------------------------------------------------------------------------

    def head(self, table: tuple[str, str] | str) -> list[list[Any]]:
        """The first rows of a CSV decoding (encoding, delimiter) or of a worksheet; [] when unreadable."""
        if table not in self._heads:
            rows: list[list[Any]] = []
            try:
                source = self.csv_rows(*table) if isinstance(table, tuple) else self.sheet_rows(table)
                for _, row in source:
                    rows.append(list(row))
                    if len(rows) >= self.head_rows:
                        break
            except StatementError:
                pass  # a row that cannot be parsed ends the head: no header there
            self._heads[table] = rows
        return self._heads[table]

    def probe(self, layout: Layout) -> _Plan | None:
        """Where ``layout`` finds its header in this file, or None."""
        if self.kind not in layout.file_types:
            return None
        if self.kind == "xlsx":
            for title in self.sheets():
                plan = _find_header(layout, "xlsx", title, self.head(title))
                if plan is not None:
                    return plan
            return None
        for encoding in layout.encoding:
            if self.text(encoding) is None:
                continue
            for delimiter in layout.delimiter:
                table = (encoding, delimiter)
                plan = _find_header(layout, "csv", table, self.head(table))
                if plan is not None:
                    return plan
        return None

    def best(self, layouts: Iterable[Layout]) -> _Plan | None:
        """The plan of the layout recognising most columns (the first of equals)."""
        best: _Plan | None = None
        for layout in layouts:
            plan = self.probe(layout)
            if plan is not None and (best is None or plan.score > best.score):
                best = plan
        return best

    def found_headers(self, layouts: Sequence[Layout]) -> list[str]:
        """For an error message: the fullest of the first rows, as the file shows it."""
        tables: list[tuple[str, str] | str] = []
        if self.kind == "xlsx":
            tables = list(self.sheets())
        else:
            encodings = list(dict.fromkeys([e for lt in layouts for e in lt.encoding] + ["utf-8-sig", "gb18030"]))
            delimiters = list(dict.fromkeys([d for lt in layouts for d in lt.delimiter] + [",", ";", "\t"]))
            decoded = next((e for e in encodings if self.text(e) is not None), None)
            if decoded is None:
                return []
            tables = [(decoded, d) for d in delimiters]
        best: list[str] = []
        for table in tables:
            for row in self.head(table):
                cells = [t for t in map(_cell_text, row) if t]
                if len(cells) > len(best):
                    best = cells
        return best


def match_layout(
    path: str | os.PathLike[str],
    layouts: Sequence[Layout] | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
) -> Layout | None:
    """The layout that reads ``path`` (among ``layouts``, default the shipped ones), decided from content.

    None when no layout's required columns appear in the file's first rows. A file that cannot be
    read at all (missing, above ``max_bytes``, a zip bomb, a damaged XLSX) is a StatementError.
    """
    candidates = shipped_layouts() if layouts is None else list(layouts)
    rows = max((lt.header_search_rows for lt in candidates), default=1)
    f = _File(Path(path), max_bytes, max_uncompressed, rows)
    try:
        plan = f.best(candidates)
    finally:
        f.close()
    return plan.layout if plan is not None else None


# -- the reader ----------------------------------------------------------------------------------


@dataclass
class _Chain:
    """Balance chaining of one account and currency, in file order: (row, signed amount, balance)."""

    rows: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)


#: Cells of an amount column that mean "nothing here" in the split convention.
_EMPTY_MARKS = frozenset({"-", "--", "—", "/", "n/a"})


class _Row:
    """One data row being read: its cells by layout key, and errors naming the row and the column."""

    __slots__ = ("cells", "file", "n", "plan")

    def __init__(self, file: str, plan: _Plan, n: int, cells: Sequence[Any]) -> None:
        self.file, self.plan, self.n, self.cells = file, plan, n, cells

    def raw(self, key: str) -> Any:
        i = self.plan.columns.get(key)
        return self.cells[i] if i is not None and i < len(self.cells) else None

    def text(self, key: str) -> str | None:
        return _cell_text(self.raw(key))

    def title(self, key: str) -> str:
        i = self.plan.columns[key]
        titles = self.plan.titles
        return titles[i] if i < len(titles) and titles[i] else f"column {i + 1}"

    def error(self, reason: str) -> StatementError:
        return StatementError(self.file, f"row {self.n}", reason)

    def bad(self, key: str, problem: str) -> StatementError:
        return self.error(f"column {self.title(key)!r} value {self.raw(key)!r}: {problem}")


class TabularReader:
    """Iterate a CSV/XLSX bank export's receipts; :attr:`summary` is complete once iteration ends.

    ``layout`` reads the file with that layout only; otherwise the best match among ``layouts``
    (default: :func:`shipped_layouts`) is used. Nothing is read before the first ``next()``. The
    whole file is parsed before the first receipt is yielded, so a bad row (a date, an amount,
    both or neither of the credit and debit columns) fails the file as a whole with a
    :class:`~hub.errors.StatementError` naming the row, the column and its value.

    Receipts: ``booking_date`` (and ``value_date`` if mapped), ``amount`` unsigned with at least
    the currency's decimals, ``direction``, ``currency`` (column, else preamble, else the layout's
    default), ``account`` (column, else preamble), counterparty fields, ``remittance`` (the
    layout's remittance columns joined), ``bank_ref`` (the serial number column, if any) and
    ``external_id`` (see :class:`~hub_connectors.bank_files.common.ReceiptKeys`). Rows from the
    first footer row (``合计``, ``Total``) on are not transactions; blank rows are skipped.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        layout: Layout | None = None,
        layouts: Sequence[Layout] | None = None,
        max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
    ) -> None:
        self.path = Path(path)
        self.file = str(path)
        self.max_bytes = max_bytes
        self.max_uncompressed = max_uncompressed
        self.layout = layout
        self.layouts = list(layouts) if layouts is not None else None
        self.summary = StatementSummary()
        #: The layout that read the file, set once iteration has started.
        self.used_layout: Layout | None = None

    def _error(self, position: str | None, reason: str) -> StatementError:
        return StatementError(self.file, position, reason)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        s = self.summary  # reset in place: a reference taken before iterating stays live
        s.reset("tabular")
        self.used_layout = None
        for r in self._read():
            s.count(r)
            yield r

    def _read(self) -> list[dict[str, Any]]:
        if self.layout is not None:
            candidates = [self.layout]
        else:
            candidates = self.layouts if self.layouts is not None else shipped_layouts()
        head_rows = max((lt.header_search_rows for lt in candidates), default=1)
        f = _File(self.path, self.max_bytes, self.max_uncompressed, head_rows)
        try:
            plan = f.best(candidates)
            if plan is None:
                raise self._no_layout(f, candidates)
            self.used_layout = plan.layout
            rows = f.csv_rows(*plan.table) if isinstance(plan.table, tuple) else f.sheet_rows(plan.table)
            return self._receipts(plan, rows)
        finally:
            f.close()

    def _no_layout(self, f: _File, candidates: Sequence[Layout]) -> StatementError:
        names = ", ".join(lt.name for lt in candidates) or "none"
        if f.kind == "csv":
            encodings = list(dict.fromkeys(e for lt in candidates if "csv" in lt.file_types for e in lt.encoding))
            if encodings and all(f.text(e) is None for e in encodings):
                return self._error(None, f"cannot decode the file as any layout's encoding ({', '.join(encodings)})")
        found = f.found_headers(candidates)
        shown = ", ".join(repr(t[:40]) for t in found[:30]) if found else "none"
        return self._error(
            None,
            f"no bank export layout matches this {f.kind.upper()} file; headers found: {shown} "
            f"(layouts tried: {names})",
        )

    def _preamble(self, plan: _Plan) -> tuple[str | None, str | None]:
        """Account and currency from the lines above the header (the layout's [preamble] regexes)."""
        layout = plan.layout
        account = currency = None
        for n, cells in plan.preamble:
            line = " ".join(cells)
            if account is None and layout.preamble.account:
                m = re.search(layout.preamble.account, line)
                if m and m.group(1):
                    account = "".join(m.group(1).split()).replace("-", "") or None
            if currency is None and layout.preamble.currency:
                m = re.search(layout.preamble.currency, line)
                if m and m.group(1):
                    currency = layout.currency_code(m.group(1))
                    if currency is None:
                        raise self._error(
                            f"row {n}",
                            f"preamble currency {m.group(1)!r} is not a currency code "
                            "(add it to the layout's [currency_names])",
                        )
        return account, currency

    def _receipts(self, plan: _Plan, rows: Iterator[tuple[int, Sequence[Any]]]) -> list[dict[str, Any]]:
        s = self.summary
        layout = plan.layout
        s.message_type = f"{plan.kind}:{layout.name}"
        keys = ReceiptKeys(s)
        numbers = _Numbers(layout.amounts)
        cols = plan.columns
        footer = tuple(_norm(f) for f in layout.footer)
        account_default, currency_default = self._preamble(plan)
        currency_default = currency_default or layout.default_currency
        text_fields = [
            k for k in cols if k in COLUMN_FIELDS and k not in ("booking_date", "value_date", "currency", "account")
        ]
        accounts: set[str | None] = set()
        chains: dict[tuple[str | None, str], _Chain] = {}
        sums = {"credit": Decimal(0), "debit": Decimal(0)}
        currencies: set[str] = set()
        footer_row: _Row | None = None
        out: list[dict[str, Any]] = []
        for n, cells in rows:
            if n <= plan.header_row or cells.count(None) == len(cells):
                continue
            first = next((t for t in map(_cell_text, cells) if t), None)
            if first is None:
                continue  # a blank row
            row = _Row(self.file, plan, n, cells)
            if footer and _norm(first).startswith(footer):
                footer_row = row
                break

            currency = currency_default  # first: XLSX float amounts are rounded at its decimals
            if "currency" in cols and row.text("currency") is not None:
                currency = layout.currency_code(row.text("currency") or "")
                if currency is None:
                    raise row.bad("currency", "not a currency code")
            if currency is None:
                raise row.error(
                    "no currency: the row has none, the preamble has none and the layout has no default_currency"
                )
            booking = self._date(row, "booking_date")
            value_date = self._date(row, "value_date") if row.text("value_date") is not None else None
            signed = self._amount(row, numbers, currency)
            direction = "credit" if signed > 0 else "debit"
            amount = _canonical(signed, currency)
            account = account_default
            if row.text("account") is not None:
                account = "".join((row.text("account") or "").split())
            accounts.add(account)
            currencies.add(currency)
            sums[direction] += abs(signed)
            if row.text("balance") is not None:
                try:
                    balance = numbers.parse(row.raw("balance"), currency)
                except _BadValue as exc:
                    raise row.bad("balance", str(exc)) from None
                chains.setdefault((account, currency), _Chain()).rows.append((n, signed, balance))

            r = new_receipt(
                account=account,
                account_currency=currency,
                booking_date=booking,
                value_date=value_date,
                amount=amount,
                currency=currency,
                entry_amount=amount,
                entry_currency=currency,
                direction=direction,
            )
            for key in text_fields:
                value = row.text(key)
                if value is not None and key == "payer_account":
                    value = "".join(value.split())
                r[key] = value
            parts = (_cell_text(cells[i]) if i < len(cells) else None for i in plan.remittance)
            r["remittance"] = layout.remittance.separator.join(p for p in parts if p) or None
            keys.assign(r, f"row {n}")
            out.append(r)

        s.statements = max(1, len(accounts))
        s.entries = len(out)
        self._check_balances(chains)
        if footer_row is not None and len(currencies) <= 1:
            self._check_footer(footer_row, numbers, sums, next(iter(currencies), currency_default))
        return out

    @staticmethod
    def _date(row: _Row, key: str) -> str:
        try:
            return _parse_date(row.raw(key), row.plan.layout.date_formats)
        except _BadValue as exc:
            raise row.bad(key, str(exc)) from None

    @staticmethod
    def _amount(row: _Row, numbers: _Numbers, currency: str) -> Decimal:
        """The row's signed amount: positive for a credit, negative for a debit."""
        amounts = row.plan.layout.amounts
        if amounts.convention == "split":
            values: dict[str, Decimal] = {}
            for key in ("credit", "debit"):
                text = row.text(key)
                if text is None or text.casefold() in _EMPTY_MARKS:
                    continue
                try:
                    value = numbers.parse(row.raw(key), currency)
                except _BadValue as exc:
                    raise row.bad(key, str(exc)) from None
                if value < 0 and key == "credit":
                    raise row.bad(key, "negative in the credit column")
                if value != 0:
                    values[key] = abs(value)
            if len(values) == 2:
                raise row.error(
                    f"both columns {row.title('credit')!r} ({row.raw('credit')!r}) and "
                    f"{row.title('debit')!r} ({row.raw('debit')!r}) hold an amount; a row is a credit "
                    "or a debit"
                )
            if not values:
                raise row.error(
                    f"neither column {row.title('credit')!r} ({row.raw('credit')!r}) nor "
                    f"{row.title('debit')!r} ({row.raw('debit')!r}) holds an amount"
                )
            return values["credit"] if "credit" in values else -values["debit"]
        try:
            value = numbers.parse(row.raw("amount"), currency)
        except _BadValue as exc:
            raise row.bad("amount", str(exc)) from None
        if value == 0:
            raise row.bad("amount", "zero; a receipt needs an amount")
        if amounts.convention == "signed":
            return value if amounts.credit_sign == "positive" else -value
        word = _norm(row.text("direction") or "")
        if word in {_norm(v) for v in amounts.credit_values}:
            if value < 0:
                raise row.bad("amount", "negative, with a credit direction")
            return value
        if word in {_norm(v) for v in amounts.debit_values}:
            return -abs(value)
        expected = ", ".join(repr(v) for v in (*amounts.credit_values, *amounts.debit_values))
        raise row.bad("direction", f"not a credit or debit marker ({expected})")

    def _check_balances(self, chains: dict[tuple[str | None, str], _Chain]) -> None:
        """Warn when a balance column does not chain, in file order nor newest first."""
        for (account, currency), chain in chains.items():
            rows = chain.rows
            forward = [
                (rows[i][0], rows[i - 1][2] + rows[i][1], rows[i][2])
                for i in range(1, len(rows))
                if rows[i - 1][2] + rows[i][1] != rows[i][2]
            ]
            backward = [i for i in range(1, len(rows)) if rows[i][2] + rows[i - 1][1] != rows[i - 1][2]]
            if forward and backward:
                n, expected, found = forward[0]
                more = f" ({len(forward)} rows do not chain)" if len(forward) > 1 else ""
                where = f"account {account} in " if account else ""
                self.summary.warnings.append(
                    f"row {n}: the balance column does not chain for {where}{currency}: the previous balance plus "
                    f"this row's amount is {expected}, the row shows {found}{more}"
                )

    def _check_footer(self, row: _Row, numbers: _Numbers, sums: dict[str, Decimal], currency: str | None) -> None:
        """Warn when a footer (合计 / Total) row's amounts differ from what the rows add up to."""
        amounts = row.plan.layout.amounts
        checks: list[tuple[str, Decimal]] = []
        if amounts.convention == "split":
            checks = [("credit", sums["credit"]), ("debit", sums["debit"])]
        elif amounts.convention == "signed":
            net = sums["credit"] - sums["debit"]
            checks = [("amount", net if amounts.credit_sign == "positive" else -net)]
        for key, expected in checks:
            if row.text(key) is None:
                continue
            try:
                shown = numbers.parse(row.raw(key), currency)
            except _BadValue:
                continue  # a footer's own layout is not checked
            if key == "debit":
                shown = abs(shown)
            if shown != expected:
                self.summary.warnings.append(
                    f"row {row.n}: footer column {row.title(key)!r} shows {row.text(key)} "
                    f"but the rows add up to {expected}"
                )


def iter_tabular(
    path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES, layout: Layout | None = None
) -> Iterator[dict[str, Any]]:
    """Yield a CSV/XLSX export's receipts (use :class:`TabularReader` for the summary)."""
    yield from TabularReader(path, max_bytes=max_bytes, layout=layout)
