"""``csv`` connector: customers, invoices (and orders, guarantees, FX rates, collection notes) from CSV.

The default mappings read the layout that ``shared/bench/gen_receivables.py`` writes
(``mappings/csv-customers.toml``, ``mappings/csv-invoices.toml``); another layout needs only a
mapping file::

    [connectors.erp]
    type = "csv"
    customers = "data/customers.csv"
    invoices = "data/invoices.csv"
    orders = "data/open-orders.csv"          # optional: order_number,customer_id,order_date,currency,open_amount,status
    guarantees = "data/guarantees.csv"      # optional: guarantee_id,customer_id,kind,amount,currency,expiry_date,issuer
    rates = "data/fx-rates.csv"             # optional: date,currency,base,rate (1 currency = rate base)
    collections = "data/collection-log.csv" # optional: see mappings/csv-collections.toml
    mappings = { invoices = "mappings/my-erp-invoices.toml" }

The files are full snapshots (a record no longer in its file is closed: an invoice that left the
export, paid and archived in the ERP, stops counting as open), and each file imports as one unit:
wholly or not at all. A row that
fails mapping or validation is quarantined with its reason and the rest is stored; the same id on
two rows with different values refuses the file, naming both lines (which row is right cannot be
known). The cursor remembers the file's content hash, so an unchanged file is not read again
(``hub sync --full-refresh`` re-reads it; unchanged rows are then skipped by content hash).

Encoding: ``encoding`` (default UTF-8, with or without a BOM), per stream with ``encodings =
{invoices = "gb18030"}``. A row holding bytes that are not text in that encoding is quarantined,
its reason naming the line, column and byte; the other rows are stored.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from hub import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    JSONValue,
    Page,
    Source,
    SourceError,
    StreamSpec,
    hookimpl,
)

PAGE_SIZE = 10_000
LINE_KEY = "_line"  # the line of the file a row starts on (the header is line 1), kept for errors
KEY = "_key"  # a composite id for files without an id column: the key columns joined by ":"
#: Largest field a row may have (csv's own default, 128 KiB, would refuse the whole file for one
#: oversized cell; a longer text is quarantined by validation, with its record only).
FIELD_LIMIT = 64 * 1024 * 1024
#: Streams whose usual files have no id column, and the columns that identify a row in them.
DEFAULT_KEYS: dict[str, list[str]] = {"rates": ["date", "currency", "base"]}


#: Config key (and stream name) -> canonical record type and default mapping file.
STREAMS: dict[str, tuple[str, str]] = {
    "customers": ("customer", "csv-customers"),
    "invoices": ("invoice", "csv-invoices"),
    "orders": ("sales_order", "csv-orders"),
    "guarantees": ("guarantee", "csv-guarantees"),
    "rates": ("fx_rate", "csv-fx-rates"),
    "collections": ("collection_action", "csv-collections"),
}


class CsvConfig(ConnectorConfig):
    customers: str | None = None
    invoices: str | None = None
    orders: str | None = None
    guarantees: str | None = None
    rates: str | None = None
    collections: str | None = None
    keys: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per stream, columns that together identify a row (as column _key) when the file has no id.",
    )
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    encodings: dict[str, str] = Field(
        default_factory=dict, description="Per stream, the file's encoding where it is not `encoding` (gb18030...)."
    )
    page_size: int = PAGE_SIZE

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        _check_encoding(value)
        return value

    @field_validator("encodings")
    @classmethod
    def _known_encodings(cls, value: dict[str, str]) -> dict[str, str]:
        for encoding in value.values():
            _check_encoding(encoding)
        return value


def _check_encoding(name: str) -> None:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} (e.g. utf-8, gb18030, cp1252, latin-1)") from None


# Undecodable bytes are kept as lone surrogates (as "surrogateescape" does) and counted, so rows are
# checked for them only once a file has had one: a clean file costs nothing.
_undecodable = 0


def _count_and_escape(exc: UnicodeError) -> tuple[str, int]:
    global _undecodable
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _undecodable += 1
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error("hub-csv-escape", _count_and_escape)
_ESCAPED = re.compile("[\udc80-\udcff]")


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class CsvSource(Source):
    def __init__(self, name: str, config: CsvConfig, context: ConnectorContext) -> None:
        self.name = name
        self.config = config
        self.files: dict[str, Path] = {}
        for stream in STREAMS:
            if value := getattr(config, stream):
                self.files[stream] = context.resolve_path(value)
        if not self.files:
            raise SourceError(f"connector {name}: set at least one of {', '.join(STREAMS)} to a CSV file")

    def streams(self) -> Sequence[StreamSpec]:
        return [
            StreamSpec(s, record, mapping, "merge", unique_keys=True, snapshot=True)
            for s, (record, mapping) in STREAMS.items()
            if s in self.files
        ]

    def check(self) -> None:
        for stream, path in self.files.items():
            if not path.is_file():
                raise SourceError(f"connector {self.name}: {stream} file {path} not found")

    def check_stream(self, stream: StreamSpec, required_fields: set[str]) -> None:
        synthetic = {KEY} if self.config.keys.get(stream.name, DEFAULT_KEYS.get(stream.name)) else set()
        missing = sorted(required_fields - set(self.header(stream.name)) - synthetic)
        if missing:
            raise SourceError(
                f"{self.files[stream.name]}: missing column(s) {', '.join(missing)} that the {stream.name} "
                "mapping needs (set [connectors.NAME] mappings = {...} for another layout)"
            )

    def encoding(self, stream: str) -> str:
        return self.config.encodings.get(stream, self.config.encoding)

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        path = self.files[stream.name]
        fingerprint = file_fingerprint(path)
        if isinstance(cursor, dict) and cursor.get("fingerprint") == fingerprint and cursor.get("complete"):
            return  # unchanged since the last complete sync
        encoding = self.encoding(stream.name)
        csv.field_size_limit(FIELD_LIMIT)
        try:
            with path.open(newline="", encoding=encoding, errors="hub-csv-escape") as f:
                yield from self._pages(stream.name, path, f, fingerprint, encoding)
        except csv.Error as exc:
            raise SourceError(f"{path}: {exc}") from None

    def _pages(self, stream: str, path: Path, f: Any, fingerprint: str, encoding: str) -> Iterator[Page]:
        reader = csv.reader(f, delimiter=self.config.delimiter)
        undecodable = _undecodable
        header = next(reader, None)
        if header is None:
            raise SourceError(f"{path}: the file is empty (no header row)")
        header = [h.strip() for h in header]
        if _undecodable != undecodable and any(_ESCAPED.search(h) for h in header):
            raise SourceError(f"{path}: line 1 (the header): {_decoding_problem(header, header, encoding)}")
        key_columns = self.config.keys.get(stream, DEFAULT_KEYS.get(stream, []))
        missing = [k for k in key_columns if k not in header]
        if missing:
            raise SourceError(f"{path}: missing key column(s) {', '.join(missing)}")
        key_at = [header.index(k) for k in key_columns]
        columns = [*header, LINE_KEY, *([KEY] if key_at else [])]
        width = len(header)
        batch: list[list[Any]] = []
        rejected: list[tuple[Any, str]] = []
        size = self.config.page_size
        line = reader.line_num + 1  # where the next row starts

        def page(last: bool) -> Page:
            # One file, one unit: every page but the last is "continued", so the engine commits the
            # file's rows together (and the cursor, saved with the last, marks the file done).
            cursor = {"fingerprint": fingerprint, "complete": True}
            return Page(
                batch, cursor, label=path.name, columns=columns, continued=not last, complete=last, rejected=rejected
            )

        cells: list[str]
        for cells in reader:
            row: list[Any] = cells  # the cells, then the line number and the key appended
            start, line = line, reader.line_num + 1
            if not row:
                continue
            if len(row) != width:  # short rows read as empty cells, surplus cells are ignored
                row = (row + [""] * width)[:width]
            if _undecodable != undecodable and any(_ESCAPED.search(cell) for cell in row):
                reason = f"line {start}: {_decoding_problem(row, header, encoding)}"
                rejected.append(({**dict(zip(header, map(_shown, row), strict=True)), LINE_KEY: start}, reason))
                continue
            row.append(start)
            if key_at:
                row.append(":".join(row[i].strip() for i in key_at))
            batch.append(row)
            if len(batch) >= size:
                yield page(last=False)
                batch, rejected = [], []
        yield page(last=True)

    def header(self, stream: str) -> list[str]:
        with self.files[stream].open(newline="", encoding=self.encoding(stream), errors="replace") as f:
            return [h.strip() for h in next(csv.reader(f, delimiter=self.config.delimiter), [])]


def _decoding_problem(row: Sequence[str], header: Sequence[str], encoding: str) -> str:
    """Which cell holds the first byte that is not text in ``encoding``, and what to do."""
    for name, cell in zip(header, row, strict=False):
        found = _ESCAPED.search(cell)
        if found:
            byte = ord(found.group()) - 0xDC00
            return (
                f"byte 0x{byte:02X} in column {name!r} is not {encoding} text (name the file's encoding: "
                '[connectors.NAME] encoding, or encodings = {STREAM = "gb18030"})'
            )
    return f"bytes that are not {encoding} text"


def _shown(cell: str) -> str:
    """A cell with its undecodable bytes written as \\xNN (what the quarantine keeps)."""
    return cell.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _create(name: str, config: CsvConfig, context: ConnectorContext) -> Connector:
    return Connector(name=name, type="csv", source=CsvSource(name, config, context))


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [ConnectorType("csv", "Customers and invoices from CSV files (ERP exports).", CsvConfig, _create)]
