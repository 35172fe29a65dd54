"""Fault injection for the fault suite (tests/faults): die, or lose the database connection, at a
chosen point inside a job. Off unless ``HUB_FAULTS`` is set; costs nothing then.

``HUB_FAULTS="STEP:KIND:N"`` (several separated by ``,``): at the ``N``-th event of ``KIND`` while
the worker runs ``STEP`` (``sync``, ``reconcile``, ``push``..., or ``*`` for any), or while a
command of that name runs (``hub push``: step ``push``):

- ``statement``: before the N-th SQL statement the hub's store sends (mid-transaction);
- ``commit``: just before the N-th COMMIT (the transaction is lost with the process);
- ``after-commit``: at the first statement after the N-th COMMIT (the work is stored, what follows
  is not);
- ``terminate``: before the N-th statement, the server ends this connection
  (``pg_terminate_backend`` from another connection): the statement fails as if the network dropped.

Dying is ``SIGKILL`` to itself: exactly ``kill -9``, no handler, no clean-up. ``HUB_FAULT_TRACE``
names a file where each job appends ``step kind count`` lines as it ends, for a test to learn how
many statements a step takes. Hooks are SQLAlchemy engine events registered on the ``Engine``
class, so they reach every store the worker opens without a line in the engines themselves.
"""

from __future__ import annotations

import contextvars
import os
import signal
import threading
from collections import Counter
from typing import Any

_step: contextvars.ContextVar[str | None] = contextvars.ContextVar("hub_fault_step", default=None)
_counts: Counter[tuple[str, str]] = Counter()
_guard = threading.Lock()
_plan: list[tuple[str, str, int]] = []
_fired: set[int] = set()
_after_commit: set[tuple[str, int]] = set()
_installed = False


def parse(spec: str) -> list[tuple[str, str, int]]:
    plan = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        step, kind, n = part.split(":")
        if kind not in ("statement", "commit", "after-commit", "terminate"):
            raise ValueError(f"HUB_FAULTS: unknown kind {kind!r}")
        plan.append((step, kind, int(n)))
    return plan


def install() -> None:
    """Register the hooks when ``HUB_FAULTS`` or ``HUB_FAULT_TRACE`` is set; once per process."""
    global _installed
    spec = os.environ.get("HUB_FAULTS", "")
    if _installed or not (spec or os.environ.get("HUB_FAULT_TRACE")):
        return
    import sqlalchemy as sa

    _plan.extend(parse(spec))
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _before_statement)
    sa.event.listen(sa.engine.Engine, "commit", _before_commit)
    _installed = True


def enter(step: str) -> contextvars.Token[str | None]:
    return _step.set(step)


def leave(token: contextvars.Token[str | None]) -> None:
    step = _step.get()
    _step.reset(token)
    trace = os.environ.get("HUB_FAULT_TRACE")
    if trace and step is not None:
        with _guard, open(trace, "a", encoding="utf-8") as f:
            for kind in ("statement", "commit"):
                f.write(f"{step} {kind} {_counts[(step, kind)]}\n")


def _count(kind: str) -> tuple[str | None, int]:
    step = _step.get()
    if step is None:
        return None, 0
    with _guard:
        _counts[(step, kind)] += 1
        return step, _counts[(step, kind)]


def _due(step: str, kind: str, n: int) -> bool:
    for i, (s, k, at) in enumerate(_plan):
        if k == kind and s in (step, "*") and at == n and i not in _fired:
            _fired.add(i)
            return True
    return False


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _before_statement(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    step, n = _count("statement")
    if step is None:
        return
    if any(s == step for s, _ in _after_commit):
        _die()
    if _due(step, "statement", n):
        _die()
    if _due(step, "terminate", n) and conn.dialect.name == "postgresql":
        _terminate(conn)


def _before_commit(conn: Any) -> None:
    step, n = _count("commit")
    if step is None:
        return
    if _due(step, "commit", n):
        _die()
    if _due(step, "after-commit", n):
        _after_commit.add((step, n))


def _terminate(conn: Any) -> None:
    """End this connection from another one, as a server restart or a network cut would."""
    import psycopg

    info = conn.connection.dbapi_connection.info
    pid = info.backend_pid
    params = {k: v for k, v in info.get_parameters().items() if k in ("host", "port", "user", "dbname")}
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
