"""``hub receipts import``: import statement files given on the command line, one report per file.

Files are imported through the same sync engine as a configured ``bank-files`` connector, under
that connector's name, so receipts imported by hand and receipts synced from the folder share
their keys: whichever comes second adds nothing. Each file is its own atomic unit, and is read
even when the same content was imported before, so the report says how many of its receipts were
new and how many were already stored. ``dry_run`` parses and counts without writing anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hub import ConfigError, Connector, ConnectorContext, Hub, HubError, Progress, StatementError, validate_config

from .connector import BankFilesConfig, BankFilesSource, file_info

DEFAULT_CONNECTOR = "bank"


@dataclass
class FileImport:
    """The report of one file: what it held and what became of it."""

    file: str
    format: str | None = None
    message_type: str | None = None
    statements: int = 0
    receipts: int = 0
    new: int = 0
    duplicates: int = 0
    totals: dict[str, str] = field(default_factory=dict)  # per currency, credits minus debits
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named, and the visible files directly in folders named, in a stable order."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")))
        elif p.exists():
            files.append(p)
        else:
            raise HubError(f"{p}: no such file or folder")
    return files


def _connector_config(hub: Hub, name: str | None) -> tuple[str, dict[str, Any]]:
    """The bank-files connector to import under: the one named, else the only one configured."""
    sections = {n: s for n, s in hub.config.connectors.items() if s.get("type") == "bank-files"}
    if name is not None:
        if name not in sections:
            raise ConfigError(
                f"no bank-files connector named {name!r} in the config; have: {', '.join(sections) or 'none'}"
            )
        return name, dict(sections[name])
    if len(sections) == 1:
        only = next(iter(sections))
        return only, dict(sections[only])
    if len(sections) > 1:
        raise ConfigError(f"several bank-files connectors ({', '.join(sections)}); choose one with --connector")
    return DEFAULT_CONNECTOR, {"type": "bank-files", "path": "."}


def import_receipts(
    hub: Hub,
    paths: Sequence[str | os.PathLike[str]],
    *,
    fmt: str = "auto",
    dry_run: bool = False,
    connector: str | None = None,
    progress: Callable[[], Progress] | None = None,
) -> list[FileImport]:
    """Import (or with ``dry_run`` only read) each statement file; one :class:`FileImport` per file."""
    name, section = _connector_config(hub, connector)
    files = expand(paths)
    context = ConnectorContext(base_dir=hub.config.base_dir)
    config = validate_config(BankFilesConfig, name, {**section, "format": fmt})
    assert isinstance(config, BankFilesConfig)
    given = {f.resolve(): str(f) for f in files}  # reports name files as the user did
    source = BankFilesSource(name, config, context, skip_known=False, paths=list(given))
    source.layouts()
    if dry_run:
        return [_dry_run(hub, source, path, given[path]) for path in source.files()]
    hub.store.check_ready()
    stats = hub.sync_engine(progress).sync_stream(
        Connector(name=name, type="bank-files", source=source), source.streams()[0]
    )
    reports = []
    for unit in stats.units:
        report = FileImport(given.get(Path(unit["file"]), unit["file"]), error=unit.get("error"))
        _describe(report, unit)
        if unit["status"] == "ok":
            report.new, report.duplicates = unit["inserted"], unit["unchanged"]
        reports.append(report)
    return reports


def _describe(report: FileImport, info: dict[str, Any]) -> None:
    report.format = info.get("format")
    report.message_type = info.get("message_type")
    report.statements = info.get("statements", 0)
    report.receipts = info.get("receipts", 0)
    report.totals = info.get("totals", {})
    report.warnings = info.get("warnings", [])


def _dry_run(hub: Hub, source: BankFilesSource, path: Path, label: str) -> FileImport:
    """Read the file and count what an import would add, writing nothing."""
    report = FileImport(label, dry_run=True)
    reader = None
    try:
        reader = source.open(path)
        keys = [r["external_id"] for r in reader]
    except StatementError as exc:
        report.error = str(exc)
        _describe(report, file_info(path, reader.summary if reader is not None else None))
        return report
    _describe(report, file_info(path, reader.summary))
    known = hub.stored_keys(source.name, "receipt", keys)
    report.duplicates = sum(1 for k in keys if k in known)
    report.new = len(set(keys) - known)
    return report
