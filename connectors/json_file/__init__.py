"""``json-file`` sink: flag changes appended to a JSON Lines file, for demos, tests and scripting.

Idempotent on ``event_id``: the ids already in the file are read once, and a change that is
delivered again (after a crash or a retry) is acknowledged without a second line. Each batch is
flushed and fsynced before it is reported delivered.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from hub import hookimpl
from hub.connector import Connector, ConnectorConfig, ConnectorContext, ConnectorType, DeliveryResult, Sink
from hub.errors import SinkError
from hub.model import FlagChange


class JsonFileConfig(ConnectorConfig):
    path: str


class JsonFileSink(Sink):
    batch_size = 500

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] | None = None

    def _load_seen(self) -> set[str]:
        if self._seen is None:
            seen: set[str] = set()
            if self.path.exists():
                with self.path.open(encoding="utf-8") as f:
                    for line in f:
                        if not line.strip():
                            continue
                        try:
                            seen.add(json.loads(line)["event_id"])
                        except (ValueError, KeyError, TypeError):
                            # A torn last line from a crash mid-write: it was never acknowledged,
                            # so the outbox will deliver that change again.
                            continue
            self._seen = seen
        return self._seen

    def check(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot create folder for {self.path}: {exc.strerror}") from None

    def deliver(self, changes: Sequence[FlagChange]) -> Sequence[DeliveryResult]:
        self.check()
        seen = self._load_seen()
        fresh = [c for c in changes if c.event_id not in seen]
        try:
            with self.path.open("a", encoding="utf-8") as f:
                if f.tell() > 0 and not _ends_with_newline(self.path):
                    f.write("\n")  # never glue a new line onto a torn one
                for change in fresh:
                    f.write(change.model_dump_json() + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror}") from None
        seen.update(c.event_id for c in fresh)
        return [DeliveryResult(c.event_id, True) for c in changes]


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _create(name: str, config: JsonFileConfig, context: ConnectorContext) -> Connector:
    return Connector(name=name, type="json-file", sink=JsonFileSink(context.resolve_path(config.path)))


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [ConnectorType("json-file", "Flag changes appended to a JSON Lines file.", JsonFileConfig, _create)]
