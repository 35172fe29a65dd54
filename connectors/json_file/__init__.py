"""``json-file`` sink: every outbox event appended to a JSON Lines file, for demos, tests and scripting.

One line per event, whatever its kind (``flag``, ``band``, ``credit_limit``: the ``kind`` field tells
them apart). Idempotent on ``event_id``: the ids already in the file are read once, and an event that
is delivered again (after a crash or a retry) is acknowledged without a second line. Each batch is
flushed and fsynced before it is reported delivered. A crash mid-write can leave a torn last line:
it is never a complete record (it lacks its closing brace), readers skip it, and the next delivery
starts a fresh line and writes that event again. ``batch_size`` (default 500) bounds the events per
write and fsync.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from hub import hookimpl
from hub.connector import Connector, ConnectorConfig, ConnectorContext, ConnectorType, DeliveryResult, Sink
from hub.errors import SinkError
from hub.model import OutboxEvent


class JsonFileConfig(ConnectorConfig):
    path: str
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Events per write and fsync.")


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """Each complete record in a file the sink wrote, in order; a torn line (a crash mid-write) is skipped."""
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # torn by a crash: never acknowledged, so the outbox delivers that event again
            if isinstance(record, dict) and isinstance(record.get("event_id"), str):
                yield record


class JsonFileSink(Sink):
    def __init__(self, path: Path, *, batch_size: int = 500) -> None:
        self.path = path
        self.batch_size = batch_size
        self._seen: set[str] | None = None

    def _load_seen(self) -> set[str]:
        if self._seen is None:
            self._seen = {r["event_id"] for r in read_events(self.path)} if self.path.exists() else set()
        return self._seen

    def check(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot create folder for {self.path}: {exc.strerror}") from None

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        self.check()
        seen = self._load_seen()
        fresh: dict[str, OutboxEvent] = {}  # the same event twice in one batch is written once
        for event in events:
            if event.event_id not in seen:
                fresh.setdefault(event.event_id, event)
        try:
            with self.path.open("a", encoding="utf-8") as f:
                if f.tell() > 0 and not _ends_with_newline(self.path):
                    f.write("\n")  # never glue a new line onto a torn one
                f.writelines(event.model_dump_json() + "\n" for event in fresh.values())
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            self._seen = None  # some lines may have landed: read the file again before the retry
            raise SinkError(f"cannot write {self.path}: {exc.strerror}") from None
        seen.update(fresh)
        return [DeliveryResult(e.event_id, True) for e in events]


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _create(name: str, config: JsonFileConfig, context: ConnectorContext) -> Connector:
    sink = JsonFileSink(context.resolve_path(config.path), batch_size=config.batch_size)
    return Connector(name=name, type="json-file", sink=sink)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            "json-file",
            "Flag, band and credit-limit changes appended to a JSON Lines file.",
            JsonFileConfig,
            _create,
        )
    ]
