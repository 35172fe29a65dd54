"""``bureau-file`` connector: credit reports from files (a bureau's scheduled delivery, or typed in by hand).

Many companies get their bureau data as files: a portfolio export every month, a monitoring alert
file every morning, a report someone typed in from a PDF. This source reads them into
``credit_report`` records, which the risk run reads like any bureau's (score, band, recommended
limit, legal events)::

    [connectors.bureau]
    type = "bureau-file"
    path = "data/bureau/"        # a file or a folder (not recursive); CSV (.csv) and JSON (.json)
    pattern = "*"
    encoding = "utf-8-sig"       # CSV files' encoding (gb18030 for a Chinese export)
    mappings = { reports = "my-bureau-layout.toml" }   # another column layout

**Layout** (``mappings/bureau-reports.toml``, the default): one report per CSV row or JSON object
with ``report_id, customer_id, bureau, company_id, score, raw_score, scale, band, recommended_limit,
currency, report_date``. ``score`` is on the hub's scale (0-100, higher is safer); a file that has
the bureau's own value instead gives ``raw_score`` and its ``scale``:

* ``LOW-HIGH``, numbers: a straight line from LOW (0) to HIGH (100): ``0-1000`` reads 650 as 65;
  ``5-1`` is a class where 1 is best (5 reads 0, 1 reads 100, 2 reads 75);
* ``A-E``: a letter rating, A best: A 85, B 60, C 40, D 15 (Creditsafe's bands' middles), E not
  rated (no score).

``report_id`` may be empty: the report is then known by customer, bureau, company and date, so that
two reports on one customer are two records (the later one lower is a downgrade).

**Legal events** (kind, date, court, amount, currency, case number, description): rows of
``NAME.events.csv`` (or ``NAME-events.csv``) next to ``NAME.csv``, each naming its ``report_id``;
an ``events`` list in each JSON object; or one event on the report's own row, in the same columns
with the prefix ``event_``. Kinds are the hub's (``insolvency``, ``dishonest_debtor``,
``consumption_restriction``, ``abnormal_operation``, ``enforcement``, ``lawsuit``, ``other``) or
their Chinese names (失信被执行人, 限制高消费, 经营异常, 被执行人, 破产, 诉讼). The mapping file's
``[report]`` and ``[events]`` tables name these columns for another layout.

**Bad rows**: a row whose raw score cannot be read on its scale is quarantined with the reason
(file, line, value); one that fails validation (an unknown event kind, a date that is not a date)
too, by the sync engine; the other rows are stored. A file that cannot be read at all (not JSON,
a CSV without the columns the mapping needs) is reported and the other files still import.

**Each file once**: a file is one unit, and the cursor keeps the content hash of every file read
(with its events file), so a delivery is read once; ``hub sync --full-refresh`` reads them all
again (unchanged reports are then skipped by content hash).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from hub import (
    ConfigError,
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

TYPE_NAME = "bureau-file"
STREAM = "reports"
MAPPING = "bureau-reports"
#: Columns this source adds to each record for the mapping.
SYNTHETIC = frozenset({"_key", "_score", "_raw_score", "_events", "_line"})
EVENT_FIELDS = ("kind", "date", "court", "amount", "currency", "case_number", "description")
LETTERS = {"A": 85.0, "B": 60.0, "C": 40.0, "D": 15.0, "E": None}
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*$")
#: What event kinds files call them -> the hub's kinds.
KIND_NAMES = {
    "失信被执行人": "dishonest_debtor",
    "失信": "dishonest_debtor",
    "dishonest": "dishonest_debtor",
    "dishonest debtor": "dishonest_debtor",
    "限制高消费": "consumption_restriction",
    "限高": "consumption_restriction",
    "经营异常": "abnormal_operation",
    "被执行人": "enforcement",
    "破产": "insolvency",
    "bankruptcy": "insolvency",
    "诉讼": "lawsuit",
    "裁判文书": "lawsuit",
    "court case": "lawsuit",
}


class BureauFileConfig(ConnectorConfig):
    path: str
    pattern: str = "*"
    encoding: str = "utf-8-sig"
    delimiter: str = ","


@dataclass(frozen=True)
class Layout:
    """The ``[report]`` and ``[events]`` tables of a bureau-file mapping: which columns hold what."""

    report_id: str = "report_id"
    score: str = "score"
    raw_score: str = "raw_score"
    scale: str = "scale"
    events: dict[str, str] = field(default_factory=lambda: {f: f for f in EVENT_FIELDS})
    event_report: str = "report_id"
    prefix: str = "event_"


def load_layout(ref: str, base_dir: Path) -> Layout:
    """The layout of the mapping ``ref`` (a built-in name, or a ``.toml`` path relative to ``base_dir``)."""
    try:
        if ref.endswith(".toml"):
            path = Path(ref).expanduser()
            text = (path if path.is_absolute() else base_dir / path).read_text(encoding="utf-8")
        else:
            text = (resources.files("hub_mappings") / f"{ref}.toml").read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"bureau-file mapping {ref}: {exc}") from None
    report = data.get("report", {})
    events = dict(data.get("events", {}))
    prefix = str(events.pop("prefix", "event_"))
    event_report = str(events.pop("report", "report_id"))
    unknown = set(events) - set(EVENT_FIELDS)
    if unknown:
        raise ConfigError(f"bureau-file mapping {ref}: [events] has no field {', '.join(sorted(unknown))}")
    return Layout(
        report_id=str(report.get("id", "report_id")),
        score=str(report.get("score", "score")),
        raw_score=str(report.get("raw_score", "raw_score")),
        scale=str(report.get("scale", "scale")),
        events={f: str(events.get(f, f)) for f in EVENT_FIELDS},
        event_report=event_report,
        prefix=prefix,
    )


def scaled(raw: str, scale: str) -> float | None:
    """A bureau's score on the hub's 0-100 scale (see the module docstring); ValueError saying why not."""
    name = scale.strip().upper()
    if not name:
        raise ValueError(f"raw score {raw!r} without a scale (give scale, e.g. 0-1000 or A-E)")
    if name == "A-E":
        letter = raw.strip().upper()
        if letter not in LETTERS:
            raise ValueError(f"raw score {raw!r} is not a letter A-E")
        return LETTERS[letter]
    bounds = _RANGE.match(name)
    if bounds is None:
        raise ValueError(f"unknown scale {scale!r}: give LOW-HIGH (0-1000; 5-1 where 1 is best) or A-E")
    low, high = Decimal(bounds[1]), Decimal(bounds[2])
    if low == high:
        raise ValueError(f"scale {scale!r} has no range")
    try:
        value = Decimal(raw.strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"raw score {raw!r} is not a number on the scale {scale}") from None
    if not min(low, high) <= value <= max(low, high):
        raise ValueError(f"raw score {raw} is outside its scale {scale}")
    return round(float((value - low) / (high - low) * 100), 1)


def _kind(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    return KIND_NAMES.get(text.casefold(), KIND_NAMES.get(text, text.casefold().replace(" ", "_").replace("-", "_")))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sha256(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


class _FileError(Exception):
    """A whole file cannot be read."""


class BureauFileSource(Source):
    def __init__(self, name: str, config: BureauFileConfig, context: ConnectorContext) -> None:
        self.name = name
        self.config = config
        self.path = context.resolve_path(config.path)
        self.layout = load_layout(config.mappings.get(STREAM, MAPPING), context.base_dir)
        self.required: set[str] = set()

    def streams(self) -> Sequence[StreamSpec]:
        return [StreamSpec(STREAM, "credit_report", MAPPING, "merge", unique_keys=True)]

    def check(self) -> None:
        if not self.path.exists():
            raise SourceError(f"connector {self.name}: {self.path} does not exist")

    def check_stream(self, stream: StreamSpec, required_fields: set[str]) -> None:
        # Checked per file when it is read: one file of another layout fails alone.
        self.required = set(required_fields) - SYNTHETIC

    @staticmethod
    def _events_file_of(path: Path) -> Path | None:
        for name in (f"{path.stem}.events{path.suffix}", f"{path.stem}-events{path.suffix}"):
            candidate = path.with_name(name)
            if candidate.is_file():
                return candidate
        return None

    def files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        return sorted(
            p
            for p in self.path.glob(self.config.pattern)
            if p.is_file()
            and not p.name.startswith(".")
            and not p.stem.endswith((".events", "-events"))
            and p.suffix.lower() in (".csv", ".json")
        )

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        done: dict[str, str] = dict((cursor or {}).get("files", {})) if isinstance(cursor, dict) else {}
        for path in self.files():
            events_path = self._events_file_of(path) if path.suffix.lower() == ".csv" else None
            try:
                digest = _sha256(path, *([events_path] if events_path else []))
            except OSError as exc:
                yield Page([], {"files": dict(done)}, label=path.name, errors=[f"{path}: cannot read: {exc.strerror}"])
                continue
            if digest in done.values():
                continue
            try:
                records, rejected, warnings = self._read_file(path, events_path)
            except _FileError as exc:
                yield Page([], {"files": dict(done)}, label=path.name, errors=[f"{path}: {exc}"])
                continue
            done[path.name] = digest
            info: dict[str, JSONValue] = {
                "file": str(path),
                "reports": len(records) + len(rejected),
                "events": sum(len(r["_events"]) for r in records),
            }
            if events_path is not None:
                info["events_file"] = str(events_path)
            yield Page(records, {"files": dict(done)}, label=path.name, warnings=warnings, rejected=rejected, info=info)

    # -- one file ---------------------------------------------------------------------------------

    def _read_file(
        self, path: Path, events_path: Path | None
    ) -> tuple[list[dict[str, Any]], list[tuple[Mapping[str, Any], str]], list[str]]:
        warnings: list[str] = []
        rows = self._json_rows(path) if path.suffix.lower() == ".json" else self._csv_rows(path, self.required)
        by_report: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        if events_path is not None:
            wanted = {self.layout.event_report, self.layout.events["kind"]}
            for where, row in self._csv_rows(events_path, wanted):
                report_id = str(row.get(self.layout.event_report) or "").strip()
                by_report.setdefault(report_id, []).append((where, row))
        records: list[dict[str, Any]] = []
        rejected: list[tuple[Mapping[str, Any], str]] = []
        used: set[str] = set()
        for where, row in rows:
            try:
                record = self._record(row)
            except ValueError as exc:
                rejected.append(({**row, "_line": where}, f"{where}: {exc}"))
                continue
            report_id = str(row.get(self.layout.report_id) or "").strip()
            if report_id and report_id in by_report:
                used.add(report_id)
                record["_events"] += [self._event(r, "") for _, r in by_report[report_id]]
            record["_line"] = where
            records.append(record)
        for report_id, rows_of in by_report.items():
            if report_id not in used:
                what = f"report {report_id!r}, which {path.name} does not have" if report_id else "no report_id"
                for where, _ in rows_of:
                    warnings.append(f"{where}: an event for {what}: not stored")
        return records, rejected, warnings

    def _record(self, row: Mapping[str, Any]) -> dict[str, Any]:
        lay = self.layout
        record = dict(row)
        score, raw_score = row.get(lay.score), row.get(lay.raw_score)
        if not _blank(score):
            record["_score"] = score.strip() if isinstance(score, str) else score
        elif not _blank(raw_score):
            record["_score"] = scaled(str(raw_score), str(row.get(lay.scale) or ""))
        else:
            record["_score"] = None
        record["_raw_score"] = None if _blank(raw_score) else str(raw_score).strip()
        report_id = row.get(lay.report_id)
        if _blank(report_id):
            parts = [row.get(k) for k in ("customer_id", "bureau", "company_id", "report_date")]
            report_id = ":".join("" if p is None else str(p).strip() for p in parts)
        record["_key"] = str(report_id).strip()
        events = []
        nested = row.get("events")
        if isinstance(nested, list):
            events += [self._event(e, "") if isinstance(e, Mapping) else e for e in nested]
        elif nested is not None and not isinstance(nested, str):
            raise ValueError(f"events is not a list: {nested!r}")
        if not _blank(row.get(lay.prefix + lay.events["kind"])):
            events.append(self._event(row, lay.prefix))
        record["_events"] = events
        return record

    def _event(self, row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        event: dict[str, Any] = {}
        for name, column in self.layout.events.items():
            value = row.get(prefix + column)
            if isinstance(value, str):
                value = value.strip()
            if name == "kind":
                value = _kind(value)
            elif name == "amount" and isinstance(value, str):
                value = value.replace(",", "")
            elif name == "currency" and isinstance(value, str):
                value = value.upper()
            if not _blank(value):
                event[name] = value
        return event

    def _csv_rows(self, path: Path, required: set[str]) -> list[tuple[str, dict[str, Any]]]:
        try:
            with path.open(newline="", encoding=self.config.encoding) as f:
                reader = csv.reader(f, delimiter=self.config.delimiter)
                header = [h.strip() for h in next(reader, [])]
                if not header:
                    raise _FileError("the file is empty (no header row)")
                missing = sorted(required - set(header))
                if missing:
                    raise _FileError(
                        f"missing column(s) {', '.join(missing)} (set [connectors.{self.name}] mappings = "
                        "{reports = ...} for another layout)"
                    )
                rows = []
                line = reader.line_num + 1
                for cells in reader:
                    start, line = line, reader.line_num + 1
                    if not any(c.strip() for c in cells):
                        continue
                    cells = (cells + [""] * len(header))[: len(header)]
                    rows.append((f"{path.name} line {start}", dict(zip(header, cells, strict=True))))
                return rows
        except UnicodeDecodeError as exc:
            raise _FileError(
                f"byte 0x{exc.object[exc.start]:02X} is not {self.config.encoding} text (set encoding)"
            ) from None
        except csv.Error as exc:
            raise _FileError(str(exc)) from None
        except OSError as exc:
            raise _FileError(f"cannot read: {exc.strerror}") from None

    def _json_rows(self, path: Path) -> list[tuple[str, dict[str, Any]]]:
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise _FileError(f"cannot read: {exc.strerror}") from None
        except ValueError as exc:
            raise _FileError(f"not JSON: {exc}") from None
        if isinstance(data, dict):
            data = data.get("reports")
        if not isinstance(data, list):
            raise _FileError('expected a list of reports, or {"reports": [...]}')
        rows = []
        for n, item in enumerate(data, 1):
            if not isinstance(item, dict):
                raise _FileError(f"report {n} is not an object")
            rows.append((f"{path.name} report {n}", _as_text(item)))
        return rows


def _as_text(item: dict[str, Any]) -> dict[str, Any]:
    """A JSON object's numbers as text, as a CSV cell would hold them (``50000.5`` stays exact, never a
    float amount); lists of objects (``events``) likewise."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if isinstance(value, bool):
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = str(value)
        elif isinstance(value, list):
            out[key] = [_as_text(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _create(name: str, config: BureauFileConfig, context: ConnectorContext) -> Connector:
    return Connector(name=name, type=TYPE_NAME, source=BureauFileSource(name, config, context))


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "Credit reports from files: a bureau's portfolio export or alert file, or reports typed in by hand.",
            BureauFileConfig,
            _create,
        )
    ]
