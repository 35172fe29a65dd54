"""``json-file`` sink: every outbox event appended to a JSON Lines file, for demos, tests and scripting.

One line per event, whatever its kind (``flag``, ``band``, ``credit_limit``: the ``kind`` field tells
them apart). Idempotent on ``event_id``: the ids already in the file are read once, and an event that
is delivered again (after a crash or a retry) is acknowledged without a second line. Each batch is
flushed and fsynced before it is reported delivered. A crash mid-write can leave a torn last line:
it is never a complete record (it lacks its closing brace), readers skip it, and the next delivery
starts a fresh line and writes that event again. ``batch_size`` (default 500) bounds the events per
write and fsync.

Several pushers may append to one file at once (each delivers the events it claimed): a batch is
written under an exclusive ``flock`` on the file, and what others appended since is read first, so
lines never interleave and an event already in the file is not written again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from hub import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    DeliveryResult,
    OutboxEvent,
    Sink,
    SinkError,
    hookimpl,
)


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
        self._seen: set[str] = set()
        self._read_to = 0  # how far the file has been read into _seen

    def _catch_up(self, f: Any) -> None:
        """Read into ``_seen`` the ids of the lines written since this sink last looked (by another
        pusher, or before this process started); ``f`` is open for appending, locked."""
        end = f.seek(0, os.SEEK_END)
        if end < self._read_to:  # the file was replaced: read it all again
            self._seen, self._read_to = set(), 0
        if end == self._read_to:
            return
        with self.path.open("rb") as r:
            r.seek(self._read_to)
            chunk = r.read(end - self._read_to)
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a torn last line is read when it is completed
        for line in complete.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("event_id"), str):
                self._seen.add(record["event_id"])
        self._read_to += len(complete)

    def check(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(f"cannot create folder for {self.path}: {exc.strerror}") from None

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        import fcntl

        self.check()
        try:
            with self.path.open("ab") as f:
                fcntl.flock(f, fcntl.LOCK_EX)  # released when the file is closed
                self._catch_up(f)
                fresh: dict[str, OutboxEvent] = {}  # the same event twice in one batch is written once
                for event in events:
                    if event.event_id not in self._seen:
                        fresh.setdefault(event.event_id, event)
                data = b"".join(event.model_dump_json().encode() + b"\n" for event in fresh.values())
                if f.tell() > 0 and not _ends_with_newline(self.path):
                    data = b"\n" + data  # never glue a new line onto a torn one
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                self._seen.update(fresh)
                self._read_to = f.tell()
        except OSError as exc:
            self._read_to = 0  # some lines may have landed: read the file again before the retry
            self._seen = set()
            raise SinkError(f"cannot write {self.path}: {exc.strerror}") from None
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
