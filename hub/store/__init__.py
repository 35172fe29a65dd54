"""The canonical store: engine set-up, migrations, transactions, locks and the few write paths that must be fast.

``Store(url)`` opens SQLite (WAL, foreign keys on) or PostgreSQL. ``migrate()`` brings the schema to
the newest Alembic revision (``hub init``); every other command first checks the schema is current
and says ``run 'hub init'`` when it is not.

Transactions: :meth:`Store.begin` is a *write* transaction and :meth:`Store.connect` a read. On
SQLite a write transaction starts with ``BEGIN IMMEDIATE``, so it holds the database's write lock
from its first statement: what it reads to decide a write (an invoice's remaining amount, an outbox
row's claim) cannot change before it commits. Other writers wait for it (``busy_timeout``); readers
never do (WAL). pysqlite's own transaction handling is switched off for this: it would begin a
transaction only at the first write, after the reads that decided it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from hub.errors import StoreError
from hub.log import register_secret
from hub.store import schema
from hub.store.diagnose import describe_db_error
from hub.store.locks import LockBusy, memory_lock, pg_advisory_lock, sqlite_file_lock

if TYPE_CHECKING:  # alembic is imported only to migrate (``hub init``), not to check the schema is current
    from alembic.config import Config as AlembicConfig

__all__ = ["LockBusy", "Store", "describe_db_error", "schema", "utcnow"]

VERSION_TABLE = "alembic_version"  # alembic's default: env.py configures no other
#: The newest migration's revision: what every command checks the database against without
#: importing alembic (tests/test_startup.py checks it is alembic's head; a new migration bumps it).
HEAD_REVISION = "0015"
#: Every revision this version of the hub knows, oldest first (a database at another one was
#: written by a newer hub).
KNOWN_REVISIONS = tuple(f"{n:04d}" for n in range(1, int(HEAD_REVISION) + 1))
#: How long a write waits for another writer's transaction on SQLite before giving up.
DEFAULT_BUSY_TIMEOUT = 300.0
#: Execution option marking a connection whose transactions write (``BEGIN IMMEDIATE`` on SQLite).
_WRITE = "hub_write"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


SQLITE_CACHE_KIB = 65536
"""SQLite's page cache per connection, in KiB (64 MB; SQLite's default is 2 MB)."""


def _sqlite_setup(busy_timeout: float) -> Callable[[Any, Any], None]:
    def setup(dbapi_connection: Any, _record: Any) -> None:
        from hub.store.money import register_sqlite_functions

        dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 64 MB of page cache (SQLite's default is 2 MB): a file imported as one transaction (a
        # million invoice rows) spilled dirty pages to the WAL mid-transaction, 15% of a first sync.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    return setup


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


class Store:
    """Database access for the hub. One per process; cheap to create."""

    def __init__(self, url: str, *, echo: bool = False, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise StoreError(f"invalid database URL: {exc}") from None
        if parsed.password:
            register_secret(str(parsed.password))
        if parsed.drivername == "postgresql":  # prefer psycopg 3, which the project depends on
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            self.engine: Engine = sa.create_engine(parsed, echo=echo, future=True)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, ValueError, TypeError) as exc:
            shown = parsed.render_as_string(hide_password=True)
            raise StoreError(f"invalid database URL {shown}: {exc}") from None
        self.dialect = self.engine.dialect.name
        self.shown_url = parsed.render_as_string(hide_password=True)
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_setup(busy_timeout))
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        elif self.dialect != "postgresql":
            raise StoreError(f"unsupported database {self.dialect!r} in {self.shown_url}: use sqlite or postgresql")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None (PostgreSQL, or SQLite in memory)."""
        if self.dialect != "sqlite":
            return None
        database = self.engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database).resolve()

    # -- schema ------------------------------------------------------------------------------

    def _alembic_config(self) -> AlembicConfig:
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(resources.files("hub.store") / "migrations"))
        cfg.attributes["engine"] = self.engine
        return cfg

    def migrate(self, *, wait: float = 0.0, on_wait: Callable[[str | None], None] | None = None) -> str:
        """Upgrade the schema to the newest revision; returns it. Safe to run repeatedly and at once.

        All migrations run in one transaction: a failure leaves the database as it was. A database
        that a newer hub wrote, or that holds tables the hub did not create, is refused untouched.
        """
        from alembic import command

        with self.lock("hub init", wait=wait, on_wait=on_wait):
            current = self.current_revision()
            self._check_known(current)
            if current is None:
                self._check_empty()
            try:
                command.upgrade(self._alembic_config(), "head")
            except sa.exc.SQLAlchemyError as exc:
                raise StoreError(
                    f"cannot migrate the database {self.shown_url}: {describe_db_error(exc)}; nothing was changed"
                ) from None
        return self.head_revision()

    def _check_known(self, current: str | None) -> None:
        if current is not None and current not in KNOWN_REVISIONS:
            raise StoreError(
                f"the database {self.shown_url} is at schema revision {current}, which a newer version of the "
                f"hub wrote (this one knows up to {HEAD_REVISION}): upgrade the hub, or point [database] url "
                "at another database"
            )

    def _check_empty(self) -> None:
        """A database without the hub's version table must hold no tables at all."""
        try:
            with self.engine.connect() as conn:
                tables = sorted(sa.inspect(conn).get_table_names())
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(describe_db_error(exc, self.shown_url)) from None
        if tables:
            listed = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
            raise StoreError(
                f"the database {self.shown_url} already holds tables the hub did not create ({listed}); "
                "give [database] url a new file or an empty database"
            )

    def head_revision(self) -> str:
        """The newest migration's revision id (:data:`HEAD_REVISION`)."""
        return HEAD_REVISION

    def current_revision(self) -> str | None:
        """The revision the database is at (alembic's version table), ``None`` when not initialised."""
        try:
            with self.engine.connect() as conn:
                if not sa.inspect(conn).has_table(VERSION_TABLE):
                    return None
                versions = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(describe_db_error(exc, self.shown_url)) from None
        if len(versions) > 1:
            raise StoreError(
                f"the database {self.shown_url} records several schema revisions "
                f"({', '.join(sorted(versions))}); it was not migrated by the hub"
            )
        return versions[0] if versions else None

    def check_ready(self) -> None:
        """Raise :class:`StoreError` unless the schema is at the newest revision."""
        current = self.current_revision()
        self._check_known(current)
        if current != self.head_revision():
            state = "is not initialised" if current is None else f"is at revision {current}"
            raise StoreError(f"the database {state}; run 'hub init'")

    # -- access --------------------------------------------------------------------------------

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one write transaction, committed on success, rolled back on error.

        On SQLite the transaction holds the write lock from its start (``BEGIN IMMEDIATE``).
        """
        with self.writer() as conn, conn.begin():
            yield conn

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        """A connection whose transactions write (for code that begins and commits them itself)."""
        with self.open_writer() as conn:
            yield conn

    def open_writer(self) -> Connection:
        """:meth:`writer` for a caller that closes it itself (a transaction spanning many pages)."""
        conn = self.engine.connect()
        conn.execution_options(**{_WRITE: True})
        return conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading (on SQLite its statements share one snapshot until it ends)."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def lock(
        self, name: str, *, wait: float = 0.0, on_wait: Callable[[str | None], None] | None = None
    ) -> Iterator[None]:
        """Hold the named lock of this store while the block runs (see :mod:`hub.store.locks`).

        Waits up to ``wait`` seconds for another holder (``on_wait`` is told once, with who holds
        it), then raises :class:`LockBusy`.
        """
        if self.dialect == "postgresql":
            with pg_advisory_lock(self.engine, name, wait=wait, on_wait=on_wait):
                yield
        elif (path := self.sqlite_path) is not None:
            with sqlite_file_lock(path, name, wait=wait, on_wait=on_wait):
                yield
        else:
            with memory_lock(f"{id(self.engine)}:{name}", wait=wait):
                yield

    def audit(
        self, conn: Connection, actor: str, action: str, object_type: str, object_id: str, **details: Any
    ) -> None:
        """Append one audit-log entry in the caller's transaction."""
        conn.execute(
            schema.audit_log.insert().values(
                at=utcnow(),
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                details=details,
            )
        )

    def dispose(self) -> None:
        self.engine.dispose()
