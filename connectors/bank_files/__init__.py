"""``bank-files`` connector: receipts from bank statement files in a folder (or one file).

Formats are detected from content, not the file name. Each file is one page, so it imports
wholly or not at all; a malformed file is reported (file, position, reason) and the other files
still import. The cursor remembers the content hash of every imported file, and receipts are
inserted once per stable key (the bank's reference, else a hash of account, date, amount,
counterparty and text), so importing a statement twice adds nothing::

    [connectors.bank]
    type = "bank-files"
    path = "data/statements/"     # a file or a folder (not recursive)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hub_connectors.bank_files.camt import CamtReader, detect_camt

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
from hub.errors import SourceError, StatementError

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
HEAD_BYTES = 8192


class BankFilesConfig(ConnectorConfig):
    path: str
    pattern: str = "*"
    max_file_bytes: int = DEFAULT_MAX_BYTES
    page_size: int = 10_000


def detect_format(head: bytes) -> str | None:
    """The statement format of a file from its first bytes, or None."""
    if detect_camt(head):
        return "camt"
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def open_statement(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> CamtReader:
    """A reader for one statement file, chosen from its content. Raises StatementError for bad input."""
    try:
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as exc:
        raise StatementError(str(path), None, f"cannot read: {exc.strerror}") from None
    if detect_format(head) is None:
        raise StatementError(str(path), None, "not a recognised bank statement format (expected camt.052/053/054)")
    return CamtReader(path, max_bytes=max_bytes)


class BankFilesSource(Source):
    def __init__(self, name: str, config: BankFilesConfig, context: ConnectorContext) -> None:
        self.name = name
        self.config = config
        self.path = context.resolve_path(config.path)

    def streams(self) -> Sequence[StreamSpec]:
        return [StreamSpec("receipts", "receipt", "bank-receipts", "append")]

    def check(self) -> None:
        if not self.path.exists():
            raise SourceError(f"connector {self.name}: {self.path} does not exist")

    def files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        return sorted(p for p in self.path.glob(self.config.pattern) if p.is_file() and not p.name.startswith("."))

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        done: dict[str, str] = dict((cursor or {}).get("files", {})) if isinstance(cursor, dict) else {}
        imported_hashes = set(done.values())
        size = self.config.page_size
        for path in self.files():
            digest = _sha256(path)
            if digest in imported_hashes:
                continue
            # One file is one atomic unit: its pages are "continued" up to the last, so the engine
            # commits them together, while only a page of receipts is in memory at a time.
            chunk: list[dict[str, Any]] = []
            try:
                reader = open_statement(path, self.config.max_file_bytes)
                for receipt in reader:
                    chunk.append(receipt)
                    if len(chunk) >= size:
                        yield Page(chunk, {"files": dict(done)}, label=path.name, continued=True)
                        chunk = []
            except StatementError as exc:
                yield Page([], {"files": dict(done)}, label=path.name, errors=[str(exc)])
                continue
            done[path.name] = digest
            imported_hashes.add(digest)
            yield Page(
                chunk,
                {"files": dict(done)},
                label=path.name,
                warnings=[f"{path.name}: {w}" for w in reader.summary.warnings],
            )


def _create(name: str, config: BankFilesConfig, context: ConnectorContext) -> Connector:
    return Connector(name=name, type="bank-files", source=BankFilesSource(name, config, context))


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType("bank-files", "Receipts from bank statement files (camt.053/.054).", BankFilesConfig, _create)
    ]
