"""The canonical store: engine set-up, migrations and the few write paths that must be fast.

``Store(url)`` opens SQLite (WAL, foreign keys on) or PostgreSQL. ``migrate()`` brings the schema to
the newest Alembic revision (``hub init``); every other command first checks the schema is current
and says ``run 'hub init'`` when it is not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from hub.errors import StoreError
from hub.log import register_secret
from hub.store import schema

if TYPE_CHECKING:  # alembic is imported only to migrate (``hub init``), not to check the schema is current
    from alembic.config import Config as AlembicConfig

__all__ = ["Store", "schema", "utcnow"]

VERSION_TABLE = "alembic_version"  # alembic's default: env.py configures no other
#: The newest migration's revision: what every command checks the database against without
#: importing alembic (tests/test_startup.py checks it is alembic's head; a new migration bumps it).
HEAD_REVISION = "0004"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Store:
    """Database access for the hub. One per process; cheap to create."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except sa.exc.ArgumentError as exc:
            raise StoreError(f"invalid database URL: {exc}") from None
        if parsed.password:
            register_secret(str(parsed.password))
        if parsed.drivername == "postgresql":  # prefer psycopg 3, which the project depends on
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.engine: Engine = sa.create_engine(parsed, echo=echo, future=True)
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    # -- schema ------------------------------------------------------------------------------

    def _alembic_config(self) -> AlembicConfig:
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(resources.files("hub.store") / "migrations"))
        cfg.attributes["engine"] = self.engine
        return cfg

    def migrate(self) -> str:
        """Upgrade the schema to the newest revision; returns it. Safe to run repeatedly."""
        from alembic import command

        try:
            command.upgrade(self._alembic_config(), "head")
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot migrate database: {exc.orig}") from None
        return self.head_revision()

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
                if len(versions) <= 1:
                    return versions[0] if versions else None
                from alembic.runtime.migration import MigrationContext

                return MigrationContext.configure(conn).get_current_revision()  # raises: several heads
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open database: {exc.orig}") from None

    def check_ready(self) -> None:
        """Raise :class:`StoreError` unless the schema is at the newest revision."""
        current = self.current_revision()
        if current != self.head_revision():
            state = "is not initialised" if current is None else f"is at revision {current}"
            raise StoreError(f"the database {state}; run 'hub init'")

    # -- access --------------------------------------------------------------------------------

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside one transaction, committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

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
