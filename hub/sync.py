"""The sync engine: source pages in, canonical records stored, exactly once.

For each stream of a source: read pages after the saved cursor, map each raw record through the
stream's mapping, skip records whose content hash is unchanged, validate the rest, and write the
page's records, its quarantined records and the new cursor in **one transaction**. A crash at any
point therefore resumes from the last committed page: nothing is lost, nothing is stored twice
(records are keyed on ``(source, external_id)`` and upserted or inserted-once per the stream's
write disposition).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import json
import marshal
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from queue import Empty, Full
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hub.connector import Connector, JSONValue, Page, Source, StreamSpec
from hub.errors import HubError, RecordError, SourceError, retry_after
from hub.fastpath import RowFunctions, compile_row_builder
from hub.log import get_logger, redact, redact_all
from hub.mapping import RecordMapping, load_mapping
from hub.model import RECORD_TYPES
from hub.store import Store, schema, utcnow
from hub.store.bulk import (
    LOOKUP_CHUNK,
    BulkWriter,
    dialect_insert,
    hash_text,
    hash_token,
    key_in,
    record_hash,
    stored_hashes,
)
from hub.validation import RecordValidator

log = get_logger(__name__)

#: Pages a reader process may prepare ahead of the writer (bounds memory).
READER_QUEUE_PAGES = 3


def default_workers() -> int:
    """Two processes (reader and writer) where there are two cores and ``fork``; else one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if cores >= 2 and "fork" in multiprocessing.get_all_start_methods() else 1


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """Pause the cyclic garbage collector while a stream loads.

    A page allocates tens of thousands of short-lived dicts and no reference cycles; letting the
    collector walk them over and over costs about a fifth of a bulk sync. Reference counting still
    frees everything; the collector is switched back on afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Progress(Protocol):
    def start(self, label: str, total: int | None) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self) -> None: ...


@dataclass
class StreamStats:
    connector: str
    stream: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    closed: int = 0
    """Records a complete read of a snapshot stream no longer had (closed)..."""
    reopened: int = 0
    """...and closed records that came back."""
    pages: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Parts of the stream that failed as a whole (e.g. one malformed statement file); the rest synced."""
    units: list[dict[str, Any]] = field(default_factory=list)
    """One entry per unit whose last page carried ``info`` (a statement file): the info, the unit's
    ``label``, ``status`` (``ok`` or ``failed``), and for ``ok`` its read/inserted/updated/unchanged."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


#: Longest text of a quarantined record kept as it is (a 10 MB field is kept as its start).
QUARANTINE_TEXT = 2000
_QUARANTINE_ID = 255  # schema.quarantine.c.external_id
#: The column a tabular source may add with each record's line in its file (named in errors).
LINE_KEY = "_line"


def _shortened(value: Any) -> Any:
    if isinstance(value, str) and len(value) > QUARANTINE_TEXT:
        return f"{value[:QUARANTINE_TEXT]}... ({len(value):,} characters)"
    return value


def _record_name(record: Mapping[str, Any], ext: Any) -> str:
    """A record named for an error message: its line, its reference, its key."""
    if record.get(LINE_KEY) is not None:
        return f"line {record[LINE_KEY]}"
    ref = record.get("bank_ref") or ext or record.get("external_id")
    return f"entry {ref}" if ref else "a record"


class _UnitFailed(HubError):
    """A record of a unit failed and the stream says its unit fails with it."""


@dataclass
class _StreamContext:
    connector: str
    spec: StreamSpec
    mapping: RecordMapping
    validator: RecordValidator
    writer: BulkWriter
    canonical_prefix: str | None  # customers only: None = master source (ids are canonical)
    builders: dict[tuple[str, ...] | None, RowFunctions | None] = field(default_factory=dict)
    open_quarantine: bool = False
    """The stream has unresolved quarantine entries that a valid record may now resolve."""
    max_lengths: dict[str, int] = field(default_factory=dict)
    """Text columns the store limits, and their length (a longer value quarantines its record)."""
    unit_keys: dict[Any, int | None] = field(default_factory=dict)
    """For streams with unique keys: each id of the unit read so far and its content hash..."""
    unit_places: list[Any] = field(default_factory=list)
    """...and where each was, in the same order."""
    unit_records: int = 0
    """Records of the current unit read so far (to name a record that has no line of its own)."""
    read_keys: set[str] = field(default_factory=set)
    """For snapshot streams: every id of the read so far (what is missing from it is closed)."""

    def builder(self, header: Sequence[str] | None) -> RowFunctions | None:
        """The compiled fast path for pages with this header (or of dicts), built once."""
        key = tuple(header) if header is not None else None
        if key not in self.builders:
            model = RECORD_TYPES[self.spec.record_type]
            defaults = {
                name: self.writer.db_value(name, value)
                for name, value in self.validator.defaults.items()
                if name in self.writer.table.c
            }
            self.builders[key] = compile_row_builder(
                self.mapping,
                model,
                self.connector,
                self.writer.order,
                dialect=self.writer.dialect.name,
                defaults=defaults,
                header=header,
                hash_text=hash_text,
                hash_token=hash_token,
                bind=self.writer.db_value,
                max_lengths=self.max_lengths,
            )
        return self.builders[key]

    def places(self, page: Page) -> tuple[str, Sequence[Any]]:
        """Where each record of ``page`` is: ``("line", its line in the file)``, else its place in the
        unit, ``("record", n)``."""
        if page.columns is not None:
            if LINE_KEY in page.columns:
                at = list(page.columns).index(LINE_KEY)
                return "line", [raw[at] for raw in page.records]
        elif page.records and isinstance(page.records[0], Mapping) and LINE_KEY in page.records[0]:
            return "line", [raw.get(LINE_KEY) for raw in page.records]
        return "record", range(self.unit_records + 1, self.unit_records + len(page.records) + 1)


@dataclass
class _Prepared:
    page: Page
    keys: list[tuple[Any, int | None]]
    """Each record's mapped external id and content hash; the hash is None where only the id was
    computed (the writing process then builds the row, hash included, in one pass)."""
    rows: list[tuple[Any, ...] | None] | None
    now: dt.datetime
    skipped: int = 0
    """Records the reader process found unchanged and did not send."""
    stored: dict[str, int] = field(default_factory=dict)
    """Content hashes the reader found stored for the records it sent..."""
    lookup: list[str] | None = None
    """...and the keys that lookup is not valid for (carried by an earlier page of the run, so the
    writer looks them up itself); None: look every key up."""
    tried: bool = False
    """The fast path was tried on every record without a row and a hash given (it declined them)."""
    mapped: list[dict[str, Any]] | None = None
    """On the generic path, each record already mapped for its key, so it is not mapped twice."""
    conflict: str | None = None
    """Set when the page repeats an id of its unit with other content (streams with unique keys):
    the unit fails with this reason."""
    missing: list[str] | None = None
    """On the page that ends a complete read of a snapshot stream: the stored records it lacked..."""
    returned: list[str] | None = None
    """...and the records closed before that it has again."""

    def pack(self) -> tuple[_Prepared, bytes | None]:
        """For the trip between processes: the bulky parts as one ``marshal`` blob where they allow it.

        The keys, rows and records of a page are plain strings, numbers and containers; marshal
        reads them back about twice as fast as pickle.
        """
        try:
            blob = marshal.dumps((self.keys, self.rows, list(self.page.records), self.mapped))
        except ValueError:  # a value marshal does not know (a date, a Decimal): pickle it all
            return self, None
        light = dataclasses.replace(
            self, keys=[], rows=None, mapped=None, page=dataclasses.replace(self.page, records=[])
        )
        return light, blob

    @staticmethod
    def unpack(light: _Prepared, blob: bytes | None) -> _Prepared:
        if blob is None:
            return light
        keys, rows, records, mapped = marshal.loads(blob)
        return dataclasses.replace(
            light, keys=keys, rows=rows, mapped=mapped, page=dataclasses.replace(light.page, records=records)
        )


class _Unit:
    """One atomic unit of a stream: the pages up to one that is not ``continued``, in one transaction.

    A unit is usually one page; a bank statement file spans several, so that it imports wholly or
    not at all while only a page of it is in memory at a time. The counters of a unit that is
    rolled back are taken back out of the stream's stats.
    """

    def __init__(self, store: Store, stats: StreamStats, table: sa.Table) -> None:
        self.conn = store.open_writer()
        self.transaction = self.conn.begin()
        self.before = (stats.read, stats.inserted, stats.updated, stats.unchanged, stats.quarantined, stats.pages)
        # SQLite: a first load into an empty table builds its secondary indexes once at the end, in
        # the same transaction (a rollback brings them back): maintaining them row by row made a first
        # sync of a million invoices 40% slower than building them after it. Not on PostgreSQL, where
        # dropping an index locks the table against the reads of the sync's own reader process.
        self.deferred: list[sa.Index] = []
        indexes = schema.BULK_DEFERRED_INDEXES.get(table.name, ()) if store.dialect == "sqlite" else ()
        if indexes and self.conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None:
            for index in indexes:
                index.drop(self.conn)
                self.deferred.append(index)

    def commit(self) -> None:
        for index in self.deferred:
            index.create(self.conn)
        self.transaction.commit()
        self.conn.close()

    def counts(self, stats: StreamStats) -> dict[str, int]:
        """What this unit added to the stream's counters."""
        read, inserted, updated, unchanged, quarantined, _ = self.before
        return {
            "read": stats.read - read,
            "inserted": stats.inserted - inserted,
            "updated": stats.updated - updated,
            "unchanged": stats.unchanged - unchanged,
            "quarantined": stats.quarantined - quarantined,
        }

    def rollback(self, stats: StreamStats) -> None:
        self.transaction.rollback()
        self.conn.close()
        stats.read, stats.inserted, stats.updated, stats.unchanged, stats.quarantined, stats.pages = self.before


@dataclass
class _ReaderState:
    store: Store
    seen: set[str] = field(default_factory=set)
    """Keys sent to the writer so far in this run."""
    empty: bool = False
    """The store held no record of this source and stream when the run began: a key not seen in
    this run cannot be stored, so there is nothing to look up (a first sync)."""


def _source_pages(source: Source, ctx: _StreamContext, cursor: JSONValue | None) -> Iterator[Page]:
    """``source.read`` where anything it raises that is not a :class:`HubError` (an answer that is not
    JSON, a connector's own slip) becomes a :class:`SourceError` naming the connector and stream,
    as the reader process does (:func:`_read_in_process`): one clear line, and a job worth retrying."""
    pages = iter(source.read(ctx.spec, cursor))
    while True:
        try:
            page = next(pages)
        except StopIteration:
            return
        except (HubError, OSError):
            raise
        except Exception as exc:
            raise SourceError(f"{ctx.connector}/{ctx.spec.name}: {type(exc).__name__}: {exc}") from exc
        yield page


def _read_in_process(
    engine: SyncEngine, source: Source, ctx: _StreamContext, cursor: JSONValue | None
) -> Iterator[_Prepared]:
    """Read and prepare pages in a forked reader process while this one writes.

    Why: on two cores the sync is bound by Python work on both sides of the database call, so
    reading, mapping, hashing and row building move to a second process. The writer still commits
    every page with its cursor in order, so crash safety is unchanged. The reader exits when the
    writer goes away (it watches its parent), and the writer stops the reader when it fails.
    """
    mp = multiprocessing.get_context("fork")
    queue: Any = mp.Queue(maxsize=READER_QUEUE_PAGES)
    parent = os.getpid()

    def put(item: tuple[str, Any]) -> None:
        while True:
            try:
                queue.put(item, timeout=1)
                return
            except Full:
                if os.getppid() != parent:
                    os._exit(1)  # the writer is gone (killed): nobody will read this

    def reader() -> None:
        engine.store.engine.dispose(close=False)  # never touch the parent's connections
        state = _ReaderState(Store(engine.store.url))
        table = ctx.writer.table
        with state.store.connect() as conn:
            state.empty = (
                conn.execute(sa.select(sa.literal(1)).where(sa.exists().where(table.c.source == ctx.connector))).first()
                is None
            )
        try:
            for page in source.read(ctx.spec, cursor):
                # Balance the two processes: while the writer has pages waiting, this process builds
                # the rows; while the writer waits for pages (reading is the slower side, as for a
                # large bank statement), it sends the records and the writer builds their rows.
                try:
                    build = queue.qsize() >= 2
                except NotImplementedError:  # pragma: no cover - platforms without sem_getvalue
                    build = True
                put(("page", engine._prepare(ctx, page, reader=state, build=build).pack()))
            put(("done", None))
        except BaseException as exc:
            kind = "hub" if isinstance(exc, HubError) else "other"
            # whether trying again can help travels with the message (a refused token must not be retried)
            retryable = exc.retryable if isinstance(exc, HubError) else True
            wait = retry_after(exc)  # and how long the source asked to be left alone
            put(("error", (kind, type(exc).__name__, str(exc), retryable, wait)))

    process = mp.Process(target=reader, name=f"hub-reader-{ctx.connector}-{ctx.spec.name}", daemon=True)
    process.start()
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=5)
            except Empty:
                if not process.is_alive():
                    raise SourceError(
                        f"{ctx.connector}/{ctx.spec.name}: the reader process died (exit code {process.exitcode})"
                    ) from None
                continue
            if kind == "page":
                yield _Prepared.unpack(*payload)
            elif kind == "done":
                return
            else:
                origin, name, message, retryable, wait = payload
                where = f"{ctx.connector}/{ctx.spec.name}: {name}: "
                error = SourceError(message if origin == "hub" else where + message)
                error.retryable = retryable
                error.retry_after = wait
                raise error
    finally:
        if process.is_alive():
            process.terminate()
        process.join(timeout=10)
        queue.close()


class SyncEngine:
    """Runs syncs for connectors against one store.

    ``workers=2`` (the default where there are two cores or more) reads and prepares pages in a
    second process while this one writes; ``workers=1`` does everything in this process.
    """

    def __init__(
        self,
        store: Store,
        *,
        hook: Any = None,
        master_source: str | None = None,
        mapping_overrides: Mapping[str, Mapping[str, str]] | None = None,
        base_dir: Any = None,
        progress: Callable[[], Progress] | None = None,
        workers: int | None = None,
    ) -> None:
        self.store = store
        self.workers = workers if workers is not None else default_workers()
        self.hook = hook
        self.master_source = master_source
        self.mapping_overrides = mapping_overrides or {}
        self.base_dir = base_dir
        self.progress_factory = progress

    # -- public --------------------------------------------------------------------------------

    def sync(
        self, connector: Connector, *, full_refresh: bool = False, streams: Sequence[str] | None = None
    ) -> list[StreamStats]:
        source = connector.source
        if source is None:
            return []
        specs = [s for s in source.streams() if streams is None or s.name in streams]
        if self.hook is not None:
            self.hook.hub_before_sync(connector=connector.name, streams=[s.name for s in specs])
        source.check()
        results = []
        for spec in specs:
            results.append(self.sync_stream(connector, spec, full_refresh=full_refresh))
        if self.hook is not None:
            self.hook.hub_after_sync(connector=connector.name, stats=results)
        return results

    def sync_stream(self, connector: Connector, spec: StreamSpec, *, full_refresh: bool = False) -> StreamStats:
        assert connector.source is not None
        ctx = self._context(connector.name, spec)
        stats = StreamStats(connector.name, spec.name)
        started = time.perf_counter()
        connector.source.check_stream(spec, ctx.mapping.required_inputs())
        q = schema.quarantine
        with self.store.connect() as conn:
            ctx.open_quarantine = (
                conn.execute(
                    sa.select(sa.literal(1)).where(
                        sa.exists().where(
                            q.c.connector == ctx.connector, q.c.stream == spec.name, q.c.resolved_at.is_(None)
                        )
                    )
                ).first()
                is not None
            )
        run_id = self._start_run(connector.name, spec.name)
        cursor = None if full_refresh else self._load_cursor(connector.name, spec.name)
        progress = self.progress_factory() if self.progress_factory else None
        unit: _Unit | None = None
        failed_unit: list[str] | None = None  # the errors of a unit whose remaining pages are skipped
        try:
            started_progress = False
            with _bulk_allocation():
                for prepared in self._prepared_pages(connector.source, ctx, cursor):
                    page = prepared.page
                    if progress is not None and not started_progress:
                        progress.start(f"{connector.name}/{spec.name}", page.size_hint)
                        started_progress = True
                    stats.warnings.extend(page.warnings)
                    errors = failed_unit or list(page.errors)
                    where = page.label or spec.name
                    if not errors and prepared.conflict is not None:
                        errors = [f"{where}: {prepared.conflict}; nothing of {where} was stored"]
                    if not errors:
                        if unit is None:
                            unit = _Unit(self.store, stats, ctx.writer.table)
                        try:
                            self._commit(ctx, prepared, stats, unit.conn)
                        except _UnitFailed as exc:
                            errors = [f"{where}: {exc}; nothing of {where} was stored"]
                    if errors:
                        # The unit failed as a whole: nothing of it stays, and its cursor is not saved.
                        if unit is not None:
                            unit.rollback(stats)
                            unit = None
                        if page.continued:  # the rest of the unit is read, and dropped
                            failed_unit = errors
                            continue
                        failed_unit = None
                        stats.errors.extend(errors)
                        if page.info is not None:
                            stats.units.append(
                                {**page.info, "label": page.label, "status": "failed", "error": "; ".join(errors)}
                            )
                        continue
                    assert unit is not None
                    stats.pages += 1
                    if prepared.missing or prepared.returned:
                        self._apply_snapshot(unit.conn, ctx, prepared, stats)
                    if not page.continued:
                        self._save_cursor(unit.conn, ctx.connector, ctx.spec.name, page.cursor, prepared.now)
                        unit.commit()
                        if page.info is not None:
                            stats.units.append({**page.info, "label": page.label, "status": "ok", **unit.counts(stats)})
                        unit = None
                    if progress is not None:
                        progress.advance(len(prepared.keys) + prepared.skipped)
            if unit is not None or failed_unit is not None:
                raise SourceError(f"{connector.name}/{spec.name}: the source ended inside a continued page")
        except (HubError, OSError) as exc:
            if unit is not None:
                unit.rollback(stats)
                unit = None
            stats.seconds = time.perf_counter() - started
            error = exc if isinstance(exc, HubError) else SourceError(f"{connector.name}/{spec.name}: {exc}")
            # Say which page failed and that the ones before it stay: the next sync resumes after them.
            where = f"{connector.name}/{spec.name}: "
            error.args = (
                f"{where}page {stats.pages + 1} of this sync failed ({stats.pages} stored before it stay; "
                f"the next sync resumes after them): {str(error).removeprefix(where)}",
            )
            stats.errors.append(str(error))
            self._finish_run(run_id, "failed", stats, str(error))
            log.error(
                "sync.failed", connector=connector.name, stream=spec.name, error=str(error), committed_pages=stats.pages
            )
            if self.hook is not None:
                self.hook.hub_on_sync_error(connector=connector.name, stream=spec.name, error=error)
            if error is exc:
                raise  # as it came, its causes kept (``from exc`` made it its own cause and lost them)
            raise error from exc
        finally:
            if progress is not None:
                progress.finish()
        stats.seconds = time.perf_counter() - started
        self._finish_run(run_id, "failed" if stats.errors else "ok", stats, "; ".join(stats.errors) or None)
        log.info(
            "sync.stream_done",
            **{k: v for k, v in stats.as_dict().items() if k not in ("warnings", "errors", "units")},
        )
        return stats

    # -- internals -----------------------------------------------------------------------------

    def _context(self, connector: str, spec: StreamSpec) -> _StreamContext:
        ref = self.mapping_overrides.get(connector, {}).get(spec.name, spec.mapping)
        mapping = load_mapping(ref, self.base_dir)
        if mapping.record_type != spec.record_type:
            raise HubError(
                f"mapping {ref} maps {mapping.record_type} records but stream {spec.name} carries {spec.record_type}"
            )
        model = RECORD_TYPES[spec.record_type]
        table = schema.RECORD_TABLES[spec.record_type]
        columns = [c for c in model.model_fields if c in table.c] + ["record_hash", "synced_at"]
        prefix: str | None = None
        if spec.record_type == "customer":
            columns.append("canonical_id")
            prefix = None if connector == (self.master_source or connector) else f"{connector}:"
        writer = BulkWriter(
            self.store.engine.dialect, table, columns, spec.write_disposition, keep_on_update=("canonical_id",)
        )
        lengths = {
            c: length
            for c in columns
            if isinstance(column_type := table.c[c].type, sa.String) and (length := column_type.length)
        }
        return _StreamContext(connector, spec, mapping, RecordValidator(model), writer, prefix, max_lengths=lengths)

    def _existing(self, conn: Connection, ctx: _StreamContext, ids: list[str]) -> dict[str, int]:
        return stored_hashes(conn, ctx.writer.table, ctx.connector, ids)

    def _prepare(
        self, ctx: _StreamContext, page: Page, *, reader: _ReaderState | None = None, build: bool = True
    ) -> _Prepared:
        """Keys and content hashes of a page's records.

        In a reader process (``reader`` given) it also drops the records the store already has
        unchanged and, with ``build``, builds the rows of the others, so the writing process only
        writes; without ``build`` it leaves what it can to the writing process (see ``_Prepared.keys``).
        """
        now = utcnow()
        header = page.columns
        fast = ctx.builder(header)
        records = page.records
        synced_at = ctx.writer.db_value("synced_at", now)
        built: list[tuple[Any, ...] | None] | None = None
        mapped: list[dict[str, Any]] | None = None
        append_only = ctx.spec.write_disposition == "append"
        keys: list[tuple[Any, int | None]]
        if fast is not None and reader is not None and (reader.empty or append_only):
            if reader.empty and build:
                # A first sync: every record is new, so its row is built in the same pass as its key.
                triples = fast.key_build_page(records, synced_at)
                keys = [(ext, digest) for ext, digest, _ in triples]
                built = [row for _, _, row in triples]
            elif ctx.spec.unique_keys:  # a repeated id is told apart by its content
                keys = [fast.key(raw) for raw in records]
            else:
                # Nothing stored to compare a hash with (a first sync, or records inserted once):
                # the id alone says which records to send; their hashes come with their rows.
                keys = [(fast.ext(raw), None) for raw in records]
        elif fast is not None:
            keys = [fast.key(raw) for raw in records]
        else:
            mapped = [self._map(ctx, self._as_mapping(raw, header)) for raw in records]
            keys = [(m.get("external_id"), record_hash(m.values())) for m in mapped]
        conflict = self._repeated_keys(ctx, page, keys) if ctx.spec.unique_keys else None
        snapshot: tuple[list[str], list[str]] | None = None
        if ctx.spec.snapshot:
            ctx.read_keys.update(ext for ext, _ in keys if isinstance(ext, str))
            if page.complete:
                snapshot = self._snapshot_changes(ctx, reader.store if reader is not None else self.store)
        if reader is None:
            prepared = _Prepared(page, keys, None, now, mapped=mapped, conflict=conflict)
            prepared.missing, prepared.returned = snapshot or (None, None)
            return prepared
        existing: dict[str, int] = {}
        if not reader.empty:
            with reader.store.connect() as conn:
                existing = self._existing(conn, ctx, [ext for ext, _ in keys if isinstance(ext, str)])
        seen = reader.seen
        if not existing and built is None and mapped is None and not (fast is not None and build):
            exts = [ext for ext, _ in keys]
            unique = set(exts)
            if len(unique) == len(exts) and set(map(type, exts)) == {str} and unique.isdisjoint(seen):
                # Nothing stored, nothing sent before, no id twice: every record goes as it is (what
                # the loop below gives, without a step per record).
                seen.update(unique)
                return _Prepared(
                    page, keys, [None] * len(keys), now, 0, {}, [], False, None, conflict, *(snapshot or (None, None))
                )
        kept_records, kept_keys, kept_rows, kept_mapped = [], [], [], []
        stored: dict[str, int] = {}
        lookup: list[str] = []
        for index, (raw, (ext, digest)) in enumerate(zip(records, keys, strict=True)):
            if isinstance(ext, str):
                # A key already sent to the writer (by a page still in flight, or earlier in this page)
                # may change in the store before this record lands: the writer decides for it.
                if ext in seen:
                    lookup.append(ext)
                else:
                    old = existing.get(ext)
                    if old is not None:
                        if append_only or old == digest:
                            continue
                        stored[ext] = old
                    seen.add(ext)
            kept_records.append(raw)
            kept_keys.append((ext, digest))
            if built is not None:
                kept_rows.append(built[index])
            if mapped is not None:
                kept_mapped.append(mapped[index])
        rows: list[tuple[Any, ...] | None] = [None] * len(kept_keys)
        if built is not None:
            rows = kept_rows
        elif fast is not None and build:
            for index, (raw, (ext, digest)) in enumerate(zip(kept_records, kept_keys, strict=True)):
                if digest is None:
                    _, digest, rows[index] = fast.key_build(raw, synced_at)
                    kept_keys[index] = (ext, digest)
                else:
                    rows[index] = fast.build(raw, digest, synced_at)
        # Raw records travel back only where the writer has to look at them.
        page = dataclasses.replace(
            page, records=[raw if row is None else None for raw, row in zip(kept_records, rows, strict=True)]
        )
        return _Prepared(
            page,
            kept_keys,
            rows,
            now,
            len(keys) - len(kept_keys),
            stored,
            lookup,
            fast is not None and build,
            kept_mapped if mapped is not None else None,
            conflict,
            *(snapshot or (None, None)),
        )

    @staticmethod
    def _snapshot_changes(ctx: _StreamContext, store: Store) -> tuple[list[str], list[str]]:
        """At the end of a complete read: the stored records it did not have (to close), and the
        closed ones it had again (to reopen). Read from what is committed, before this unit."""
        table, seen = ctx.writer.table, ctx.read_keys
        missing: list[str] = []
        returned: list[str] = []
        with store.connect() as conn:
            stored = conn.execute(
                sa.select(table.c.external_id, table.c.missing_since.is_not(None)).where(
                    table.c.source == ctx.connector
                )
            ).all()  # (at once: a row at a time costs a driver call per row, a million of them)
            for ext, gone in stored:
                if gone:
                    if ext in seen:
                        returned.append(ext)
                elif ext not in seen:
                    missing.append(ext)
        seen.clear()
        return missing, returned

    @staticmethod
    def _repeated_keys(ctx: _StreamContext, page: Page, keys: list[tuple[Any, int | None]]) -> str | None:
        """The first id of this page that its unit already had with other content, said in a
        sentence; remembers every id of the page (the unit's ids are forgotten when it ends).

        Written set-wise (dicts built and merged in C): the common page, whose ids are all new, costs
        a few milliseconds per 10,000 records. The place of each id is kept in the order the ids
        were first seen, and looked up only for a conflict.
        """
        seen, places = ctx.unit_keys, ctx.unit_places
        where, here = ctx.places(page)
        page_keys = dict(keys)
        conflict = None
        if len(page_keys) == len(keys) and page_keys.keys().isdisjoint(seen.keys()):
            seen.update(page_keys)
            places.extend(here)
        else:
            for place, (ext, digest) in zip(here, keys, strict=True):
                if ext not in seen:
                    seen[ext] = digest
                    places.append(place)
                elif seen[ext] != digest and ext is not None:
                    earlier = places[list(seen).index(ext)]
                    kind = ctx.spec.record_type.replace("_", " ")
                    conflict = (
                        f"{where} {earlier} and {where} {place} both carry the {kind} {ext!r} with different "
                        "values (correct the file, or name the columns that identify a row: [connectors.NAME] keys)"
                    )
                    break
        ctx.unit_records += len(keys)
        if not page.continued:
            seen.clear()
            places.clear()
            ctx.unit_records = 0
        return conflict

    def _commit(self, ctx: _StreamContext, prepared: _Prepared, stats: StreamStats, conn: Connection) -> None:
        """Write a prepared page's new and changed records and its quarantine in the unit's transaction."""
        page, keys, now = prepared.page, prepared.keys, prepared.now
        header = page.columns
        fast = ctx.builder(header)
        retry = not prepared.tried  # the fast path is still to be tried on records without a row
        built = prepared.rows if prepared.rows is not None else [None] * len(keys)
        stats.read += len(keys) + prepared.skipped
        stats.unchanged += prepared.skipped
        # What the reader process already looked up need not be looked up again.
        existing = dict(prepared.stored)
        lookup = prepared.lookup
        if lookup is None:
            lookup = [ext for ext, _ in keys if isinstance(ext, str)]
        existing.update(self._existing(conn, ctx, lookup))
        synced_at = ctx.writer.db_value("synced_at", now)
        rows: dict[str, tuple[Any, ...]] = {}
        bad: list[tuple[Mapping[str, Any], str, str | None]] = []
        append_only = ctx.spec.write_disposition == "append"
        mapped_records = prepared.mapped if prepared.mapped is not None else [None] * len(keys)
        # The reader sent ids alone (a first import): every hash and row is made here, a page at once.
        whole: list[Any] = [None] * len(keys)
        if fast is not None and all(digest is None for _, digest in keys) and all(r is None for r in built):
            whole = fast.key_build_page(page.records, synced_at)
        all_made: dict[str, tuple[Any, ...]] | None = None
        if not existing and whole and whole[0] is not None:
            # every row made and none stored: what the loop below gives, without a step per record
            made_rows = [triple[2] for triple in whole]
            exts = [ext for ext, _ in keys]
            if None not in made_rows and set(map(type, exts)) == {str}:
                all_made = dict(zip(exts, made_rows, strict=True))
        if all_made is not None:
            rows = all_made
        else:
            for raw, (ext, digest), row, mapped, made in zip(
                page.records, keys, built, mapped_records, whole, strict=True
            ):
                tried = not retry
                if digest is None:  # the reader sent the id alone: the hash (and the row) are computed here
                    if made is not None:
                        _, digest, row = made
                        tried = True
                    elif fast is not None:
                        _, digest, row = fast.key_build(raw, synced_at)
                        tried = True
                    else:  # pragma: no cover - the reader sends the id alone only where it has the fast path
                        mapped = self._map(ctx, self._as_mapping(raw, header))
                        digest = record_hash(mapped.values())
                old = existing.get(ext) if isinstance(ext, str) else None
                if old is not None and (append_only or old == digest):
                    stats.unchanged += 1
                    if not append_only:
                        rows.pop(ext, None)  # an earlier copy in this page must not win over this one
                    continue
                if row is None and fast is not None and not tried:
                    row = fast.build(raw, digest, synced_at)
                if row is None:
                    record = self._as_mapping(raw, header)
                    try:
                        row = self._generic_row(ctx, mapped or self._map(ctx, record), digest, now)
                    except RecordError as exc:
                        bad.append((record, exc.reason, ext if isinstance(ext, str) else None))
                        continue
                # The same record twice in one page: the later one wins.
                rows[ext] = row
        bad.extend((record, reason, None) for record, reason in page.rejected)
        if bad and ctx.spec.invalid_records == "fail_unit":
            record, reason, ext = bad[0]
            raise _UnitFailed(f"{_record_name(record, ext)}: {reason}")
        updated = sum(1 for key in rows if key in existing) if existing else 0
        stats.updated += updated
        stats.inserted += len(rows) - updated
        ctx.writer.write(conn, list(rows.values()))
        if ctx.open_quarantine and rows:
            self._resolve_quarantine(conn, ctx, list(rows), now)
        for record, reason, ext in bad:
            self._quarantine(conn, ctx, record, reason, ext, now)
        if bad:
            ctx.open_quarantine = True
        stats.quarantined += len(bad)

    def _apply_snapshot(self, conn: Connection, ctx: _StreamContext, prepared: _Prepared, stats: StreamStats) -> None:
        """Close what a complete read lacked and reopen what came back, with an audit event each, in
        the unit's transaction. A closed record's content hash is cleared, so that when it comes
        back it is written again whatever it holds."""
        table, now = ctx.writer.table, prepared.now
        actor = f"sync {ctx.connector}"
        where = prepared.page.label or ctx.spec.name
        closing: dict[str, Any] = {"missing_since": now, "record_hash": 0}
        if "status" in table.c:
            closing["status"] = "closed"
        events: list[dict[str, Any]] = []
        for action, ids, values, reason in (
            ("record.closed", prepared.missing or [], closing, f"not in the complete read of {where}"),
            ("record.reopened", prepared.returned or [], {"missing_since": None}, f"back in {where}"),
        ):
            for i in range(0, len(ids), LOOKUP_CHUNK):
                chunk = ids[i : i + LOOKUP_CHUNK]
                conn.execute(
                    table.update()
                    .where(table.c.source == ctx.connector, table.c.external_id.in_(chunk))
                    .values(**values)
                )
            events += [
                {
                    "at": now,
                    "actor": actor,
                    "action": action,
                    "object_type": ctx.spec.record_type,
                    "object_id": ext,
                    "details": {"stream": ctx.spec.name, "reason": reason},
                }
                for ext in ids
            ]
        if events:
            conn.execute(schema.audit_log.insert(), events)
        stats.closed += len(prepared.missing or [])
        stats.reopened += len(prepared.returned or [])
        log.info(
            "sync.snapshot", connector=ctx.connector, stream=ctx.spec.name, closed=stats.closed, reopened=stats.reopened
        )

    def _prepared_pages(self, source: Source, ctx: _StreamContext, cursor: JSONValue | None) -> Iterator[_Prepared]:
        if self.workers < 2:
            for page in _source_pages(source, ctx, cursor):
                yield self._prepare(ctx, page)
            return
        yield from _read_in_process(self, source, ctx, cursor)

    @staticmethod
    def _as_mapping(raw: Any, header: Sequence[str] | None) -> Mapping[str, Any]:
        if header is None:
            return raw  # type: ignore[no-any-return]
        return dict(zip(header, raw, strict=False))

    @staticmethod
    def _map(ctx: _StreamContext, record: Mapping[str, Any]) -> dict[str, Any]:
        """A raw record through the stream's mapping, with its source; its values make the content hash."""
        mapped = ctx.mapping.apply(record)
        mapped["source"] = ctx.connector
        return mapped

    @staticmethod
    def _generic_row(ctx: _StreamContext, mapped: dict[str, Any], digest: int, now: Any) -> tuple[Any, ...]:
        """The reference path: validate the mapped record with the model, convert with SQLAlchemy's processors."""
        valid = ctx.validator.validate(mapped)
        for name, limit in ctx.max_lengths.items():
            value = valid.get(name)
            if isinstance(value, str) and len(value) > limit:
                raise RecordError(
                    f"{name} is {len(value):,} characters long; the store keeps at most {limit}", field=name
                )
        valid["record_hash"] = digest
        valid["synced_at"] = now
        if ctx.spec.record_type == "customer":
            valid["canonical_id"] = (ctx.canonical_prefix or "") + valid["external_id"]
        return ctx.writer.params(valid)

    def _quarantine(
        self, conn: Connection, ctx: _StreamContext, raw: Mapping[str, Any], reason: str, ext: str | None, now: Any
    ) -> None:
        safe = _json_safe({k: _shortened(v) for k, v in raw.items()})
        if isinstance(ext, str) and len(ext) > _QUARANTINE_ID:
            ext = None  # no valid record can have it (the raw record keeps its start)
        digest = record_hash([json.dumps(safe, sort_keys=True)])
        q = schema.quarantine
        insert: Any = dialect_insert(conn.dialect, q)
        stmt = insert.values(
            connector=ctx.connector,
            stream=ctx.spec.name,
            external_id=ext,
            raw=safe,
            raw_hash=digest,
            reason=reason,
            first_seen=now,
            last_seen=now,
            occurrences=1,
        ).on_conflict_do_update(
            index_elements=["connector", "stream", "raw_hash"],
            set_={"last_seen": now, "reason": reason, "occurrences": q.c.occurrences + 1, "resolved_at": None},
        )
        conn.execute(stmt)
        log.warning("sync.quarantined", connector=ctx.connector, stream=ctx.spec.name, external_id=ext, reason=reason)

    def _resolve_quarantine(self, conn: Connection, ctx: _StreamContext, keys: list[str], now: Any) -> None:
        """A valid record has arrived: its earlier quarantine entries are resolved (and kept)."""
        q = schema.quarantine
        stmt = (
            q.update()
            .where(
                q.c.connector == ctx.connector,
                q.c.stream == ctx.spec.name,
                q.c.resolved_at.is_(None),
                key_in(conn.dialect, q.c.external_id, "ids"),
            )
            .values(resolved_at=now)
        )
        for i in range(0, len(keys), LOOKUP_CHUNK):
            conn.execute(stmt, {"ids": keys[i : i + LOOKUP_CHUNK]})

    def _load_cursor(self, connector: str, stream: str) -> JSONValue | None:
        with self.store.connect() as conn:
            return conn.execute(
                sa.select(schema.sync_state.c.cursor).where(
                    schema.sync_state.c.connector == connector, schema.sync_state.c.stream == stream
                )
            ).scalar_one_or_none()

    def _save_cursor(self, conn: Connection, connector: str, stream: str, cursor: JSONValue, now: Any) -> None:
        st = schema.sync_state
        insert: Any = dialect_insert(conn.dialect, st)
        conn.execute(
            insert.values(connector=connector, stream=stream, cursor=cursor, updated_at=now).on_conflict_do_update(
                index_elements=["connector", "stream"], set_={"cursor": cursor, "updated_at": now}
            )
        )

    def _start_run(self, connector: str, stream: str) -> int:
        with self.store.begin() as conn:
            # A run still marked "running" was killed: say so instead of leaving it dangling.
            conn.execute(
                schema.sync_run.update()
                .where(schema.sync_run.c.connector == connector, schema.sync_run.c.status == "running")
                .values(status="interrupted", finished_at=utcnow())
            )
            result = conn.execute(
                schema.sync_run.insert().values(
                    connector=connector, started_at=utcnow(), status="running", stats={"stream": stream}
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            return int(pk[0])

    def _finish_run(self, run_id: int, status: str, stats: StreamStats, error: str | None) -> None:
        with self.store.begin() as conn:
            conn.execute(
                schema.sync_run.update()
                .where(schema.sync_run.c.id == run_id)
                .values(
                    status=status,
                    finished_at=utcnow(),
                    stats=_json_safe(redact_all(stats.as_dict())),
                    error=redact(error) if error else None,
                )
            )


def quarantined(conn: Connection, *, limit: int, include_resolved: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Records that failed mapping or validation (oldest first, up to ``limit``), with the reason and
    the raw record, and how many there are; without ``include_resolved``, only those no later valid
    record has resolved."""
    q = schema.quarantine
    where = sa.true() if include_resolved else q.c.resolved_at.is_(None)
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            sa.select(
                q.c.id,
                q.c.connector,
                q.c.stream,
                q.c.external_id,
                q.c.reason,
                q.c.occurrences,
                q.c.last_seen,
                q.c.resolved_at,
                q.c.raw,
            )
            .where(where)
            .order_by(q.c.id)
            .limit(limit)
        )
    ]
    total = conn.execute(sa.select(sa.func.count()).select_from(q).where(where)).scalar_one()
    return rows, int(total)
