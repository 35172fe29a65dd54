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

The files are full snapshots. The cursor remembers the file's content hash and how many rows are
committed, so an interrupted sync resumes mid-file, and an unchanged file is not read again
(``hub sync --full-refresh`` re-reads it; unchanged rows are then skipped by content hash).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from hub import hookimpl
from hub.connector import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    JSONValue,
    Page,
    Source,
    StreamSpec,
)
from hub.errors import SourceError

PAGE_SIZE = 10_000
ROW_KEY = "_row"  # the data row number (1 = first row after the header), kept for quarantine
KEY = "_key"  # a composite id for files without an id column: the key columns joined by ":"
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
    page_size: int = PAGE_SIZE


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
        return [StreamSpec(s, record, mapping, "merge") for s, (record, mapping) in STREAMS.items() if s in self.files]

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

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        path = self.files[stream.name]
        fingerprint = file_fingerprint(path)
        skip = 0
        if isinstance(cursor, dict) and cursor.get("fingerprint") == fingerprint:
            if cursor.get("complete"):
                return  # unchanged since the last complete sync
            skip = int(cursor.get("row", 0))
        try:
            with path.open(newline="", encoding=self.config.encoding) as f:
                yield from self._pages(stream.name, path, f, fingerprint, skip)
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path}: not {self.config.encoding} text ({exc.reason} at byte {exc.start})") from None
        except csv.Error as exc:
            raise SourceError(f"{path}: {exc}") from None

    def _pages(self, stream: str, path: Path, f: Any, fingerprint: str, skip: int) -> Iterator[Page]:
        reader = csv.reader(f, delimiter=self.config.delimiter)
        header = next(reader, None)
        if header is None:
            raise SourceError(f"{path}: the file is empty (no header row)")
        header = [h.strip() for h in header]
        key_columns = self.config.keys.get(stream, DEFAULT_KEYS.get(stream, []))
        missing = [k for k in key_columns if k not in header]
        if missing:
            raise SourceError(f"{path}: missing key column(s) {', '.join(missing)}")
        key_at = [header.index(k) for k in key_columns]
        row_no = 0
        for _ in range(skip):
            if next(reader, None) is None:
                break
            row_no += 1
        columns = [*header, ROW_KEY, *([KEY] if key_at else [])]
        width = len(header)
        batch: list[list[Any]] = []
        size = self.config.page_size

        def page(complete: bool) -> Page:
            cursor = {"fingerprint": fingerprint, "row": row_no, "complete": complete}
            return Page(batch, cursor, label=path.name, columns=columns)

        for row in reader:
            row_no += 1
            if not row:
                continue
            if len(row) != width:  # short rows read as empty cells, surplus cells are ignored
                row = (row + [""] * width)[:width]
            row.append(row_no)
            if key_at:
                row.append(":".join(row[i].strip() for i in key_at))
            batch.append(row)
            if len(batch) >= size:
                yield page(complete=False)
                batch = []
        yield page(complete=True)

    def header(self, stream: str) -> list[str]:
        with self.files[stream].open(newline="", encoding=self.config.encoding) as f:
            return [h.strip() for h in next(csv.reader(f, delimiter=self.config.delimiter), [])]


def _create(name: str, config: CsvConfig, context: ConnectorContext) -> Connector:
    return Connector(name=name, type="csv", source=CsvSource(name, config, context))


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [ConnectorType("csv", "Customers and invoices from CSV files (ERP exports).", CsvConfig, _create)]
