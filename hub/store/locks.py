"""Named locks that make a job run once at a time per store, across processes and machines.

``hub sync`` of one connector, ``hub reconcile``, ``hub risk``, identity resolution and ``hub init``
each hold a named lock while they run, so a scheduler, a person and a worker starting the same job
together do not run it twice: the second waits (up to ``wait`` seconds) and then either runs, with
nothing left to do, or fails with :class:`LockBusy` naming who holds the lock.

The locks die with their holder, however it ends (``kill -9`` included), so no lease has to expire
after a crash:

* PostgreSQL: a session advisory lock on a connection of its own, held while the job runs; the
  server releases it when the connection closes. The connection's ``application_name`` says who
  holds it (``pg_stat_activity``).
* SQLite: ``flock`` on a file beside the database (``<db>-locks/<name>.lock``); the kernel releases
  it when the process ends. The holder writes who it is into the file. Written with the standard
  library's ``fcntl`` rather than a lock package: those truncate the file when they open it (the
  holder's note would be lost) and add fallbacks this needs none of.
* SQLite in memory: a lock inside the process (nothing else can see the database).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.errors import LockBusy as LockBusy, StoreError
from hub.store.diagnose import describe_db_error

#: First key of the hub's PostgreSQL advisory locks (``pg_locks.classid``): "hu" in ASCII.
PG_LOCK_CLASS = 0x6875
_POLL_SECONDS = 0.2


def holder_note(name: str) -> dict[str, Any]:
    """Who takes a lock: enough for a person to find the process."""
    return {
        "lock": name,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def describe(note: dict[str, Any] | None) -> str | None:
    if not note:
        return None
    return f"pid {note.get('pid')} on {note.get('host')} since {note.get('since')}"


def _key(name: str) -> int:
    """A stable 31-bit key for a lock name (``pg_locks.objid``)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big") & 0x7FFF_FFFF


def _file_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]
    return f"{safe}-{_key(name):08x}.lock"


_memory_locks: dict[str, threading.Lock] = {}
_memory_guard = threading.Lock()


def _wait_loop(try_once: Callable[[], bool], wait: float, on_wait: Callable[[], None] | None) -> float | None:
    """Call ``try_once`` until it succeeds or ``wait`` seconds pass; the seconds waited, or None."""
    started = time.monotonic()
    told = False
    while True:
        if try_once():
            return time.monotonic() - started
        waited = time.monotonic() - started
        if waited >= wait:
            return None
        if not told and on_wait is not None:
            on_wait()
            told = True
        time.sleep(min(_POLL_SECONDS, max(0.0, wait - waited)))


@contextmanager
def sqlite_file_lock(
    path: Path, name: str, *, wait: float, on_wait: Callable[[str | None], None] | None = None
) -> Iterator[None]:
    import fcntl

    folder = path.parent / f"{path.name}-locks"
    try:
        folder.mkdir(exist_ok=True)
        fd = os.open(folder / _file_name(name), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"cannot create the lock file for {name} in {folder}: {exc.strerror}") from None

    def try_once() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def read_note() -> str | None:
        try:
            return describe(json.loads(os.pread(fd, 4096, 0) or b"{}"))
        except (OSError, ValueError):
            return None

    try:
        waited = _wait_loop(try_once, wait, (lambda: on_wait(read_note())) if on_wait else None)
        if waited is None:
            raise LockBusy(name, read_note(), wait)
        note = json.dumps(holder_note(name)).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, note, 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def memory_lock(name: str, *, wait: float) -> Iterator[None]:
    with _memory_guard:
        lock = _memory_locks.setdefault(name, threading.Lock())
    acquired = lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)
    if not acquired:
        raise LockBusy(name, f"this process (pid {os.getpid()})", wait)
    try:
        yield
    finally:
        lock.release()


@contextmanager
def pg_advisory_lock(
    engine: sa.Engine, name: str, *, wait: float, on_wait: Callable[[str | None], None] | None = None
) -> Iterator[None]:
    key = _key(name)
    note = holder_note(name)
    label = f"hub {name} pid {note['pid']}@{note['host']}"[:63]
    try:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(describe_db_error(exc, engine.url.render_as_string(hide_password=True))) from None
    try:
        conn.execute(sa.text("SELECT set_config('application_name', :label, false)"), {"label": label})

        def try_once() -> bool:
            return bool(
                conn.execute(sa.text("SELECT pg_try_advisory_lock(:c, :o)"), {"c": PG_LOCK_CLASS, "o": key}).scalar()
            )

        def holder() -> str | None:
            row = conn.execute(
                sa.text(
                    "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a "
                    "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = :c AND l.objid = :o "
                    "AND l.granted AND l.pid <> pg_backend_pid()"
                ),
                {"c": PG_LOCK_CLASS, "o": key},
            ).first()
            if row is None:
                return None
            since = row.backend_start.astimezone(dt.UTC).isoformat(timespec="seconds") if row.backend_start else "?"
            return f"{row.application_name or 'another session'} since {since}"

        waited = _wait_loop(try_once, wait, (lambda: on_wait(holder())) if on_wait else None)
        if waited is None:
            raise LockBusy(name, holder(), wait)
        try:
            yield
        finally:
            # Released at once (the server notices a closed connection only a moment later)...
            conn.execute(sa.text("SELECT pg_advisory_unlock(:c, :o)"), {"c": PG_LOCK_CLASS, "o": key})
    finally:
        # ...and the connection is discarded, never handed back to the pool with its application_name,
        # or still holding the lock if the unlock above failed.
        conn.invalidate()
        conn.close()


def transaction_lock(conn: sa.Connection, name: str) -> None:
    """Serialise the writers of ``name`` until the caller's transaction ends.

    PostgreSQL: a transaction-level advisory lock. SQLite: nothing to do, since a write transaction
    (``Store.begin``) already holds the database's only write lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(PG_LOCK_CLASS, _key(name))))
