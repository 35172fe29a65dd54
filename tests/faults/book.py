"""A generated book on a PostgreSQL database of its own, run by real ``hub worker`` processes, and
what the fault tests compare and check after each scenario."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, generate, run_hub, write_config

AS_OF = "2025-06-30"
QUEUE = """
[risk]
as_of = "2025-06-30"

[queue]
heartbeat_seconds = 0.3
stalled_after_seconds = 1.5
retry_seconds = 0.2
retry_max_seconds = 1

[outbox]
backoff_seconds = 0.1
backoff_max_seconds = 0.5
max_attempts = 30
lease_seconds = 3
"""


@contextmanager
def pg_database(admin: sa.Engine) -> Iterator[str]:
    name = f"hub_fault_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        # Bounded: a DROP DATABASE waits for every backend of the server to take its signal, and one
        # stuck elsewhere on a shared server must not hang the suite; a database left behind is harmless.
        with admin.connect() as conn:
            conn.exec_driver_sql("SET statement_timeout = '20s'")
            with suppress(sa.exc.OperationalError):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql("RESET statement_timeout")


def make_book(folder: Path) -> Path:
    """A small generated book: enough for every step to take dozens of statements."""
    return generate(folder, seed=7, customers=25, invoices=250, receipts=60)


def prepare(folder: Path, book: Path, db_url: str, *, extra: str = "", sink: str | None = "out/flags.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("customers.csv", "invoices.csv", "statement.xml"):
        target = folder / name
        if not target.exists():
            target.symlink_to(book / name)
    write_config(folder, db_url, sink=sink, extra=QUEUE + extra)
    run_hub("init", cwd=folder)
    return folder


def enqueue(folder: Path, env: dict[str, str] | None = None) -> None:
    run_hub("run", "--queue", cwd=folder, env=env)


def worker(folder: Path, *, faults: str = "", trace: Path | None = None, env: dict[str, str] | None = None) -> int:
    """Run ``hub worker --until-idle`` to its end; its exit code (-9 when a fault killed it)."""
    extra = {"HUB_FAULTS": faults} if faults else {}
    if trace is not None:
        extra["HUB_FAULT_TRACE"] = str(trace)
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--log-level", "info", "worker", "--until-idle"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), **extra},
        timeout=180,
    )
    (folder / "worker.log").open("a").write(proc.stderr)
    if proc.returncode not in (0, -9):
        raise AssertionError(f"hub worker exited {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}")
    return proc.returncode


def trace_counts(trace: Path) -> dict[tuple[str, str], int]:
    """Statements and commits per step of an uninterrupted run (the largest seen per job)."""
    counts: dict[tuple[str, str], int] = {}
    for line in trace.read_text().splitlines():
        step, kind, n = line.split()
        counts[(step, kind)] = max(counts.get((step, kind), 0), int(n))
    return counts


@dataclass
class Outcome:
    """What a run left in the store and in the sink, in a form two runs can be compared by."""

    records: dict[str, int]
    allocations: list[tuple[Any, ...]]
    invoices: list[tuple[Any, ...]]
    receipts: list[tuple[Any, ...]]
    flags: list[tuple[Any, ...]]
    outbox: list[tuple[Any, ...]]
    delivered_lines: Counter[str]
    jobs: dict[str, int]


def outcome(db_url: str, sink_file: Path | None) -> Outcome:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:

            def rows(sql: str) -> list[tuple[Any, ...]]:
                return sorted(tuple(r) for r in conn.exec_driver_sql(sql))

            records = {
                t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one())
                for t in ("customer", "invoice", "receipt")
            }
            allocations = rows(
                "SELECT r.external_id, i.external_id, a.amount, a.status, a.kind FROM allocation a"
                " JOIN receipt r ON r.id = a.receipt_id JOIN invoice i ON i.id = a.invoice_id"
            )
            invoices = rows("SELECT external_id, open_amount, status FROM invoice")
            receipts = rows("SELECT external_id, match_status FROM receipt")
            flags = rows("SELECT customer_id, code, active, version FROM risk_flag")
            outbox = rows("SELECT sink, event_id, status FROM outbox")
            jobs = dict(conn.exec_driver_sql("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1").all())
    finally:
        engine.dispose()
    lines: Counter[str] = Counter()
    if sink_file is not None and sink_file.exists():
        from hub_connectors.json_file import read_events

        lines.update(r["event_id"] for r in read_events(sink_file))
    return Outcome(records, allocations, invoices, receipts, flags, outbox, lines, jobs)


def check_invariants(db_url: str, result: Outcome, *, failed_jobs: int = 0) -> None:
    """Whatever happened: allocations never exceed a receipt or an invoice; no record is stored twice
    by its natural key; every change queued for a sink is delivered, pending or dead-lettered, and
    delivered once; no job failed for good (but the ``failed_jobs`` a scenario makes fail)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            over_receipt = conn.exec_driver_sql(
                "SELECT r.external_id, r.amount, sum(a.amount) FROM allocation a JOIN receipt r ON r.id = a.receipt_id"
                " WHERE a.status IN ('auto', 'confirmed') AND a.kind <> 'write_off'"
                " GROUP BY r.id, r.external_id, r.amount"
                " HAVING sum(a.amount) > abs(r.amount)"
            ).all()
            over_invoice = conn.exec_driver_sql(
                "SELECT i.external_id, i.amount, sum(a.amount) FROM allocation a JOIN invoice i ON i.id = a.invoice_id"
                " WHERE a.status IN ('auto', 'confirmed') GROUP BY i.id, i.external_id, i.amount"
                " HAVING sum(a.amount) > abs(i.amount)"
            ).all()
            negative_open = conn.exec_driver_sql("SELECT count(*) FROM invoice WHERE open_amount < 0").scalar_one()
            flag_changes = conn.exec_driver_sql("SELECT count(*) FROM flag_event").scalar_one()
            unqueued = conn.exec_driver_sql(
                "SELECT count(*) FROM flag_event f"
                " WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = f.event_id)"
            ).scalar_one()
            twice = {
                table: conn.exec_driver_sql(
                    f"SELECT source, external_id, count(*) FROM {table} GROUP BY 1, 2 HAVING count(*) > 1"
                ).all()
                for table in ("customer", "invoice", "receipt")
            }
    finally:
        engine.dispose()
    assert over_receipt == [], f"receipts allocated beyond their amount: {over_receipt[:5]}"
    assert over_invoice == [], f"invoices allocated beyond their amount: {over_invoice[:5]}"
    assert negative_open == 0
    assert not any(twice.values()), f"records stored twice: {twice}"
    assert {status for _, _, status in result.outbox} <= {"delivered", "pending", "failed", "dead"}
    assert flag_changes == 0 or result.outbox, "flag changes were made but none was queued for the sink"
    assert unqueued == 0 or not result.outbox, f"{unqueued} flag changes never queued for a sink"
    duplicates = {k: n for k, n in result.delivered_lines.items() if n > 1}
    assert duplicates == {}, f"delivered twice: {list(duplicates)[:5]}"
    delivered = {event for _, event, status in result.outbox if status == "delivered"}
    assert delivered <= set(result.delivered_lines), "marked delivered but not in the sink"
    assert result.jobs.get("failed", 0) == failed_jobs, f"jobs failed: {result.jobs}"
    assert set(result.jobs) <= {"succeeded", "failed"}, f"jobs left unfinished: {result.jobs}"


def amounts(values: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(str(Decimal(v)) if isinstance(v, Decimal) else v for v in row) for row in values]
