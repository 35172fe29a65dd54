"""The order of a queued run, kept in the database (engine: reads procrastinate's tables).

A run is a chain of steps: ``sync`` (one job per connector with a source), ``identity``, ``match``
(one job per partition of the receipts, ``[reconcile] partitions``; none when there is one),
``reconcile`` (writes what the partitions decided, or decides and writes every receipt when there is
one partition), ``bureaus``, ``risk``, ``push`` (one job per sink). Every job carries its run's id in
its arguments. When a job finishes its work it calls :func:`finish`, which, under a transaction
lock on the run:

1. records the job as done (``hub_queue_done``): procrastinate marks a job succeeded only after
   the task returned, so two sync jobs finishing together would each see the other still running
   and neither would start the next step;
2. if every job of the step is done (or succeeded), and no job of the next step exists yet, defers
   the next step's jobs.

Each of these is safe to repeat, so a job killed anywhere (before its work committed, between its
work and :func:`finish`, or after :func:`finish` but before procrastinate recorded the success) is
simply run again: the hub's jobs are idempotent (a sync stores what is new, a reconcile matches what
is open, a push delivers what is pending), and the next step is deferred once, whoever gets there.

Written by hand because procrastinate has no job dependencies; the state it needs beyond
procrastinate's own is one row per finished job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hub.errors import HubError
from hub.store import Store, schema, utcnow

#: A run's steps, in order.
STEPS = ("sync", "identity", "match", "reconcile", "bureaus", "risk", "push")
#: The namespace of the hub's tasks in procrastinate (``hub:sync``, ``hub:reconcile``...).
NAMESPACE = "hub"
#: Our one table beside procrastinate's: the jobs of a run that have done their work.
DONE_TABLE = "hub_queue_done"
#: First key of the run locks (``pg_locks.classid``): "hq".
_RUN_LOCK_CLASS = 0x6871
#: Job states as procrastinate names them, in the order ``hub jobs`` shows them.
STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted")
#: A job tried more than once: procrastinate counts a try when it ends (``attempts``), so a finished
#: job tried once has 1, a job waiting for its retry or running it has 1 or more.
RETRIED = "(j.attempts > 1 OR (j.status IN ('todo', 'doing') AND j.attempts > 0))"


def task_name(step: str) -> str:
    return f"{NAMESPACE}:{step}"


def next_step(step: str) -> str | None:
    i = STEPS.index(step)
    return STEPS[i + 1] if i + 1 < len(STEPS) else None


def _lock_key(run_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(run_id.encode(), digest_size=4).digest(), "big") & 0x7FFF_FFFF


def require_postgres(store: Store) -> None:
    if store.dialect != "postgresql":
        raise HubError(
            f"the job queue needs PostgreSQL; {store.shown_url} is SQLite: run the jobs inline ('hub run'), or "
            "set [database] url to a PostgreSQL database"
        )


# -- schema ------------------------------------------------------------------------------------------


def ensure_schema(store: Store, procrastinate_schema: Callable[[], str]) -> bool:
    """Create procrastinate's tables and ours unless they exist (``hub init`` on PostgreSQL); True
    when created. Idempotent and safe to run at once from two places (a transaction lock)."""
    require_postgres(store)
    with store.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_RUN_LOCK_CLASS, 0)))
        created = False
        if conn.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
            # Several statements with functions and $$ bodies: sent as they are, without parameters.
            conn.connection.driver_connection.execute(procrastinate_schema())  # type: ignore[union-attr]
            created = True
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {DONE_TABLE} ("
            " job_id bigint PRIMARY KEY,"
            " run_id varchar(64) NOT NULL,"
            " step varchar(32) NOT NULL,"
            " finished_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix_{DONE_TABLE}_run ON {DONE_TABLE} (run_id)")
    return created


def has_schema(store: Store) -> bool:
    if store.dialect != "postgresql":
        return False
    with store.connect() as conn:
        return conn.execute(sa.text(f"SELECT to_regclass('{DONE_TABLE}')")).scalar() is not None


def check_schema(store: Store) -> None:
    require_postgres(store)
    store.check_ready()
    if not has_schema(store):
        raise HubError("the job queue's tables are missing; run 'hub init'")


# -- the chain -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """A job to defer: its step, key (connector, sink or ``all``) and arguments."""

    step: str
    key: str
    kwargs: dict[str, Any]


def _jobs_of(conn: sa.Connection, run_id: str, step: str) -> list[tuple[int, str]]:
    return [
        (int(i), str(s))
        for i, s in conn.execute(
            sa.text(
                "SELECT j.id, CASE WHEN d.job_id IS NULL THEN j.status::text ELSE 'done' END"
                " FROM procrastinate_jobs j LEFT JOIN hub_queue_done d ON d.job_id = j.id"
                " WHERE j.task_name = :task AND j.args->>'run_id' = :run"
            ),
            {"task": task_name(step), "run": run_id},
        )
    ]


def finish(
    store: Store,
    run_id: str,
    step: str,
    job_id: int | None,
    plan: Callable[[str], Sequence[JobSpec]],
    defer: Callable[[Sequence[JobSpec]], None],
) -> str | None:
    """Record job ``job_id`` of ``step`` as done and, when it is the step's last, defer the next
    step's jobs (``plan(step)`` lists them; a step with none is passed over). Returns the step
    deferred, ``"done"`` when the run has no step left, or ``None`` while others of the step run."""
    with store.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_RUN_LOCK_CLASS, _lock_key(run_id))))
        if job_id is not None:
            conn.execute(
                sa.text(f"INSERT INTO {DONE_TABLE} (job_id, run_id, step) VALUES (:j, :r, :s) ON CONFLICT DO NOTHING"),
                {"j": job_id, "r": run_id, "s": step},
            )
            if any(state not in ("done", "succeeded") for _, state in _jobs_of(conn, run_id, step)):
                return None
        following = next_step(step) if job_id is not None else step
        while following is not None:
            if _jobs_of(conn, run_id, following):
                return following  # deferred already (by a run of this job that died after it)
            specs = plan(following)
            if specs:
                defer(specs)  # committed on procrastinate's connection while we hold the run lock
                return following
            following = next_step(following)
        return "done"


def run_in_progress(store: Store) -> str | None:
    """The id of a run with a job still queued or running, if any."""
    with store.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT args->>'run_id' FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                " AND args->>'run_id' IS NOT NULL LIMIT 1"
            )
        ).scalar()
    return None if found is None else str(found)


# -- reading the queue ---------------------------------------------------------------------------------


def job_counts(conn: sa.Connection) -> dict[tuple[str, str], int]:
    """Jobs by (task, status)."""
    return {
        (str(t), str(s)): int(n)
        for t, s, n in conn.execute(
            sa.text("SELECT task_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2")
        )
    }


def retried_count(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text(f"SELECT count(*) FROM procrastinate_jobs j WHERE {RETRIED}")).scalar_one())


def list_jobs(
    store: Store, *, status: Sequence[str] = (), retried: bool = False, run_id: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The newest jobs (``status`` filters; ``retried``: tried more than once) and the count of
    every job by status (``retried`` counted apart)."""
    check_schema(store)
    where = ["TRUE"]
    params: dict[str, Any] = {"limit": limit}
    if status:
        where.append("j.status::text = ANY(:status)")
        params["status"] = list(status)
    if retried:
        where.append(RETRIED)
    if run_id:
        where.append("j.args->>'run_id' = :run")
        params["run"] = run_id
    sql = (
        "SELECT j.id, j.task_name, j.status::text AS status, j.attempts, j.queue_name, j.lock,"
        " j.args->>'run_id' AS run_id, j.args->>'key' AS key, j.scheduled_at, j.worker_id,"
        " (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS last_event"
        f" FROM procrastinate_jobs j WHERE {' AND '.join(where)} ORDER BY j.id DESC LIMIT :limit"
    )
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for (_, s), n in job_counts(conn).items():
            counts[s] = counts.get(s, 0) + n
        counts["retried"] = retried_count(conn)
    for r in rows:
        r["task"] = str(r.pop("task_name")).removeprefix(f"{NAMESPACE}:")
    return rows, counts


def next_outbox_attempt(store: Store, sink: str) -> dt.datetime | None:
    """When the earliest row of ``sink`` that waits for a retry is due, or None when none waits."""
    o = schema.outbox
    # a row claimed by a pusher (alive, or killed: its lease runs out) is due when the claim ends
    due = sa.func.greatest(o.c.next_attempt_at, sa.func.coalesce(o.c.claim_expires_at, o.c.next_attempt_at))
    with store.connect() as conn:
        at = conn.execute(
            sa.select(sa.func.min(due)).where(o.c.sink == sink, o.c.status.in_(("pending", "failed")))
        ).scalar()
    if not isinstance(at, dt.datetime):
        return None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def now() -> dt.datetime:
    return utcnow()
