"""``bank-files`` connector: receipts from bank statement files in a folder (or one file).

Reads ISO 20022 camt.052/053/054, SWIFT MT940/MT942, BAI2, OFX 1.x/2.x, and CSV/XLSX exports
through a layout file (``mappings/bank-export-*.toml`` ship as examples). The format is detected
from content, not the file name. Each file is one atomic unit: all its receipts are stored or none;
a malformed file is reported (file, position, reason) and the other files still import. The
cursor remembers the content hash of every imported file, and receipts are inserted once per stable
key (the bank's reference, else a hash of account, date, amount, counterparty and text), so
importing a statement twice, or an intraday report and then the day's statement, adds nothing::

    [connectors.bank]
    type = "bank-files"
    path = "data/statements/"     # a file or a folder (not recursive)
    format = "auto"               # or camt, mt940, bai2, ofx, tabular
    layouts = ["my-bank.toml"]    # extra CSV/XLSX layouts, tried before the shipped ones
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from hub import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    JSONValue,
    Page,
    Source,
    SourceError,
    StatementError,
    StreamSpec,
    hookimpl,
)

from .common import RECEIPT_FIELDS, StatementReader, StatementSummary

HEAD_BYTES = 8192

FormatName = Literal["auto", "camt", "mt940", "bai2", "ofx", "tabular"]


@dataclass(frozen=True)
class StatementFormat:
    """A statement family: how to recognise it from a file's first bytes and which reader reads it."""

    name: str
    description: str
    module: str  # module under hub_connectors.bank_files holding detect and reader
    detect: str
    reader: str

    def load(self) -> tuple[Callable[[bytes], bool], type[Any]]:
        module = importlib.import_module(f".{self.module}", __package__)
        return getattr(module, self.detect), getattr(module, self.reader)


#: In detection order: the XML families first (camt is recognised by its namespace or message
#: element, OFX by its header or root), then the SWIFT and BAI text formats; spreadsheets last,
#: since only a layout's header columns recognise them.
FORMATS: dict[str, StatementFormat] = {
    f.name: f
    for f in (
        StatementFormat("camt", "ISO 20022 camt.052/053/054", "camt", "detect_camt", "CamtReader"),
        StatementFormat("ofx", "OFX 1.x (SGML) and 2.x (XML)", "ofx", "detect_ofx", "OfxReader"),
        StatementFormat("mt940", "SWIFT MT940/MT942", "mt940", "detect_mt940", "Mt940Reader"),
        StatementFormat("bai2", "BAI2 (cash management balance reporting)", "bai2", "detect_bai2", "Bai2Reader"),
    )
}


def detect_format(head: bytes) -> str | None:
    """The statement format of a file from its first bytes (not spreadsheets, see open_statement)."""
    for fmt in FORMATS.values():
        detect, _ = fmt.load()
        if detect(head):
            return fmt.name
    return None


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(HEAD_BYTES)
    except OSError as exc:
        raise StatementError(str(path), None, f"cannot read: {exc.strerror or exc}") from None


def open_statement(
    path: Path,
    max_bytes: int | None = None,
    *,
    fmt: str = "auto",
    layouts: Sequence[Any] | None = None,
) -> StatementReader:
    """A reader for one statement file, chosen from its content (or ``fmt``).

    ``layouts`` are CSV/XLSX export layouts (``tabular.Layout``) tried before the shipped ones.
    ``max_bytes`` limits the file's size; by default each reader's own limit applies (the streaming
    camt reader takes far larger files than the readers that build a tree or read a file whole).
    Raises StatementError when the file cannot be read or is in no known format.
    """
    limit: dict[str, Any] = {} if max_bytes is None else {"max_bytes": max_bytes}  # else each reader's own
    if fmt == "tabular":
        from . import tabular

        return tabular.TabularReader(path, **limit, layouts=_all_layouts(layouts))
    if fmt != "auto":
        if fmt not in FORMATS:
            raise StatementError(str(path), None, f"unknown format {fmt!r}; known: auto, {', '.join(FORMATS)}, tabular")
        _, reader = FORMATS[fmt].load()
        result: StatementReader = reader(path, **limit)
        return result
    head = _read_head(path)
    name = detect_format(head)
    if name is not None:
        _, reader = FORMATS[name].load()
        result = reader(path, **limit)
        return result
    from . import tabular

    candidates = _all_layouts(layouts)
    if tabular.detect_tabular(head):
        layout = tabular.match_layout(path, candidates)
        if layout is not None:
            return tabular.TabularReader(path, **limit, layout=layout)
    raise StatementError(
        str(path),
        None,
        "not a recognised bank statement (camt.052/053/054, MT940/MT942, BAI2, OFX, or a CSV/XLSX export "
        f"matching one of the layouts: {', '.join(layout.name for layout in candidates) or 'none'})",
    )


def _all_layouts(extra: Sequence[Any] | None) -> list[Any]:
    from . import tabular

    return [*(extra or []), *tabular.shipped_layouts()]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class BankFilesConfig(ConnectorConfig):
    path: str
    pattern: str = "*"
    format: FormatName = "auto"
    layouts: list[str] = Field(default_factory=list)
    max_file_bytes: int | None = None  # None: each format's own limit
    page_size: int = 10_000


def file_info(path: Path, summary: StatementSummary | None) -> dict[str, Any]:
    """A file's report for ``Page.info``: what its reader found (plain JSON)."""
    info: dict[str, Any] = {"file": str(path)}
    if summary is not None:
        info.update(
            format=summary.format,
            message_type=summary.message_type,
            statements=summary.statements,
            entries=summary.entries,
            receipts=summary.receipts,
            totals={ccy: str(amount) for ccy, amount in sorted(summary.totals.items())},
            warnings=list(summary.warnings),
        )
    return info


class BankFilesSource(Source):
    """Pages of receipts, one atomic unit per file; the last page of a file carries its report
    (``Page.info``, see :func:`file_info`).

    ``skip_known`` leaves out files whose content was imported before (the cursor keeps their
    hashes); without it every file is read again and its receipts de-duplicate on their keys.
    ``paths`` replaces the configured path with these files (``hub receipts import``).
    """

    def __init__(
        self,
        name: str,
        config: BankFilesConfig,
        context: ConnectorContext,
        *,
        skip_known: bool = True,
        paths: Sequence[Path] | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.path = context.resolve_path(config.path)
        self.paths = list(paths) if paths is not None else None
        self.skip_known = skip_known
        self._layout_paths = [context.resolve_path(p) for p in config.layouts]
        self._layouts: list[Any] | None = None

    def layouts(self) -> list[Any]:
        if self._layouts is None and not self._layout_paths:
            self._layouts = []
        if self._layouts is None:
            from . import tabular

            try:
                self._layouts = [tabular.load_layout(p) for p in self._layout_paths]
            except StatementError as exc:
                raise SourceError(f"connector {self.name}: {exc}") from exc
        return self._layouts

    def streams(self) -> Sequence[StreamSpec]:
        return [StreamSpec("receipts", "receipt", "bank-receipts", "append", invalid_records="fail_unit")]

    def check(self) -> None:
        for path in self.paths if self.paths is not None else [self.path]:
            if not path.exists():
                raise SourceError(f"connector {self.name}: {path} does not exist")
        self.layouts()

    def files(self) -> list[Path]:
        if self.paths is not None:
            return self.paths
        if self.path.is_file():
            return [self.path]
        return sorted(p for p in self.path.glob(self.config.pattern) if p.is_file() and not p.name.startswith("."))

    def open(self, path: Path) -> StatementReader:
        return open_statement(path, self.config.max_file_bytes, fmt=self.config.format, layouts=self.layouts())

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        done: dict[str, str] = dict((cursor or {}).get("files", {})) if isinstance(cursor, dict) else {}
        imported_hashes = set(done.values())
        size = self.config.page_size
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-files-sha256") as hashing:
            for path in self.files():
                yield from self._read_file(path, size, done, imported_hashes, hashing)

    def _read_file(
        self, path: Path, size: int, done: dict[str, str], imported_hashes: set[str], hashing: ThreadPoolExecutor
    ) -> Iterator[Page]:
        def failed(exc: OSError) -> Page:
            error = str(StatementError(str(path), None, f"cannot read: {exc.strerror or exc}"))
            return Page([], {"files": dict(done)}, label=path.name, errors=[error], info=file_info(path, None))

        digest: str | Future[str]
        try:
            if self.skip_known:  # needed first: a file imported before is not read again
                digest = _sha256(path)
                if digest in imported_hashes:
                    return
            else:
                # only the cursor needs it, at the end: hashed alongside the reading (hashlib
                # releases the GIL), not before it
                digest = hashing.submit(_sha256, path)
        except OSError as exc:
            yield failed(exc)
            return
        # One file is one atomic unit: its pages are "continued" up to the last, so the engine
        # commits them together, while only a page of receipts is in memory at a time.
        chunk: list[Any] = []
        reader: StatementReader | None = None
        try:
            reader = self.open(path)
            # A reader that gives rows (tuples in RECEIPT_FIELDS order, in batches) is read so:
            # cheaper than dicts, to make, to send between processes and to map.
            batches = getattr(reader, "row_batches", None)
            columns = RECEIPT_FIELDS if batches is not None else None
            for batch in batches() if batches is not None else ([receipt] for receipt in reader):
                chunk.extend(batch)
                while len(chunk) >= size:
                    yield Page(chunk[:size], {"files": dict(done)}, label=path.name, continued=True, columns=columns)
                    chunk = chunk[size:]
        except StatementError as exc:
            info = file_info(path, reader.summary if reader is not None else None)
            yield Page([], {"files": dict(done)}, label=path.name, errors=[str(exc)], info=info)
            return
        if isinstance(digest, Future):
            try:
                digest = digest.result()
            except OSError as exc:
                yield failed(exc)
                return
        done[path.name] = digest
        imported_hashes.add(digest)
        yield Page(
            chunk,
            {"files": dict(done)},
            label=path.name,
            warnings=[f"{path.name}: {w}" for w in reader.summary.warnings],
            info=file_info(path, reader.summary),
            columns=columns,
        )


def _create(name: str, config: BankFilesConfig, context: ConnectorContext) -> Connector:
    return Connector(name=name, type="bank-files", source=BankFilesSource(name, config, context))


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            "bank-files",
            "Receipts from bank statement files (camt.052/053/054, MT940/MT942, BAI2, OFX, CSV/XLSX exports).",
            BankFilesConfig,
            _create,
        )
    ]
