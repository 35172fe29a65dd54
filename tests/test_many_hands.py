"""Many hands at once: a scheduler, a person and workers running the same commands together.

Each test runs the real ``hub`` command line in several processes at the same time, on SQLite and
on PostgreSQL, and checks the store and the sinks end as one run leaves them: every amount allocated
once, every event delivered once per sink (in each customer's order), each connector synced by one
process at a time; a run killed in its commit loses and duplicates nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.model import BandChange, FlagChange
from hub.outbox import enqueue
from hub.recon import LIVE
from hub.store import Store, schema, utcnow

from .conftest import generate, run_hub, sibling_db, write_config
from .loopback import example_plugin_path, webhook_receiver

PROCESSES = 3


def _spawn(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        out.append((proc.returncode, stdout, stderr))
    return out


def _book(tmp_path: Path, url: str, folder_name: str, data: Path, extra: str = "") -> Path:
    folder = tmp_path / folder_name
    folder.mkdir()
    write_config(
        folder,
        url,
        customers=str(data / "customers.csv"),
        invoices=str(data / "invoices.csv"),
        statements=str(data / "statement.xml"),
        sink=None,
        extra=extra,
    )
    run_hub("init", cwd=folder)
    return folder


def _synced_twins(tmp_path: Path, db_url: str, data: Path) -> tuple[Path, Path]:
    """The same book synced twice: into ``db_url``, and into a sibling database to compare with."""
    folders = (_book(tmp_path, db_url, "book", data), _book(tmp_path, sibling_db(db_url, tmp_path), "twin", data))
    for folder in folders:
        run_hub("sync", cwd=folder)
    return folders


def _allocations(url: str) -> Counter[tuple[Any, ...]]:
    a, r, i = schema.allocation, schema.receipt, schema.invoice
    store = Store(url)
    try:
        with store.connect() as conn:
            return Counter(
                map(
                    tuple,
                    conn.execute(
                        sa.select(r.c.external_id, i.c.number, a.c.amount, a.c.kind, a.c.status, a.c.rank)
                        .join(r, r.c.id == a.c.receipt_id)
                        .join(i, i.c.id == a.c.invoice_id)
                    ),
                )
            )
    finally:
        store.dispose()


def _assert_nothing_allocated_twice(url: str) -> None:
    a, i, r = schema.allocation, schema.invoice, schema.receipt
    store = Store(url)
    try:
        with store.connect() as conn:
            live = sa.select(a.c.receipt_id, a.c.invoice_id, a.c.kind).where(a.c.status.in_(LIVE))
            pairs = Counter(map(tuple, conn.execute(live)))
            assert [p for p, n in pairs.items() if n > 1] == []
            taken: dict[int, Decimal] = {}
            for invoice_id, amount in conn.execute(sa.select(a.c.invoice_id, a.c.amount).where(a.c.status.in_(LIVE))):
                taken[invoice_id] = taken.get(invoice_id, Decimal(0)) + amount
            open_amounts = {n: amount for n, amount in conn.execute(sa.select(i.c.id, i.c.open_amount))}
            assert [n for n, amount in taken.items() if amount > open_amounts[n]] == []
            paid: dict[int, Decimal] = {}
            for receipt_id, amount in conn.execute(
                sa.select(a.c.receipt_id, a.c.amount).where(a.c.status.in_(LIVE), a.c.kind == "payment")
            ):
                paid[receipt_id] = paid.get(receipt_id, Decimal(0)) + amount
            amounts = {n: amount for n, amount in conn.execute(sa.select(r.c.id, r.c.amount))}
            assert [n for n, amount in paid.items() if amount > amounts[n]] == []
    finally:
        store.dispose()


# -- reconcile ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_reconciles_run_at_once_leave_the_store_one_reconcile_leaves(tmp_path: Path, db_url: str) -> None:
    data = generate(tmp_path / "data", customers=400, invoices=8000, receipts=2000)
    many, one = _synced_twins(tmp_path, db_url, data)
    results = _finish([_spawn(many, "reconcile") for _ in range(PROCESSES)])
    assert [code for code, _, _ in results] == [0] * PROCESSES, results
    run_hub("reconcile", cwd=one)
    assert _allocations(db_url) == _allocations(sibling_db(db_url, tmp_path))
    _assert_nothing_allocated_twice(db_url)


def test_two_runs_that_read_the_same_book_allocate_each_amount_once(tmp_path: Path, db_url: str) -> None:
    # Past the job lock (two engines in one process, as a bug or a future worker might): both read and
    # decide on the same book; the second's write finds its receipts decided meanwhile and drops them.
    data = generate(tmp_path / "data", customers=60, invoices=1000, receipts=200)
    folder = _book(tmp_path, db_url, "book", data)
    run_hub("sync", cwd=folder)
    hub = Hub(load_config(folder / "hub.toml"))
    engines = [hub.reconcile_engine(), hub.reconcile_engine()]
    barrier = threading.Barrier(2, timeout=60)
    for engine in engines:
        read = engine.refused

        def refused_then_wait(conn: sa.Connection, read: Any = read) -> Any:
            found = read(conn)
            barrier.wait()  # both runs have read everything before either writes
            return found

        engine.refused = refused_then_wait  # type: ignore[method-assign]
    stats: list[Any] = []
    threads = [threading.Thread(target=lambda e=e: stats.append(e.run())) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    hub.close()
    assert len(stats) == 2
    first, second = stats
    assert first.considered == 200 and first.auto > 100
    assert (second.considered, second.auto, second.changed_meanwhile) == (0, 0, 200)
    _assert_nothing_allocated_twice(db_url)


def _reconcile_with_fault(folder: Path, fault: str) -> tuple[int, str]:
    """Run ``hub reconcile`` with the fault suite's kill point ``fault`` (``HUB_FAULTS``, see
    hub/queue/faults.py), where it kills itself as ``kill -9`` would: its exit code and error output."""
    proc = _spawn(folder, "reconcile", env={"HUB_FAULTS": fault})
    _, stderr = proc.communicate(timeout=600)
    return proc.returncode, stderr


@pytest.mark.slow
def test_reconcile_killed_in_its_commit_loses_and_duplicates_nothing(tmp_path: Path, db_url: str) -> None:
    killed, clean = _synced_twins(
        tmp_path, db_url, generate(tmp_path / "data", customers=1000, invoices=40000, receipts=10000)
    )
    # A run writes every decision in one transaction, its first commit: killed just before it, nothing of
    # the write survives ...
    code, stderr = _reconcile_with_fault(killed, "reconcile:commit:1")
    assert code == -signal.SIGKILL, stderr
    assert _allocations(db_url) == Counter()
    # ... and a run asked to die at its second commit never gets there: the first was the write of
    # every decision (so the kill above landed in it), the same as an uninterrupted run's.
    run_hub("reconcile", cwd=clean)
    expected = _allocations(sibling_db(db_url, tmp_path))
    assert sum(expected.values()) > 5000
    code, stderr = _reconcile_with_fault(killed, "reconcile:commit:2")
    assert code == 0, stderr
    assert _allocations(db_url) == expected
    # Run again, each decides what it left to finance the same way, and allocates nothing twice.
    run_hub("reconcile", cwd=killed)
    run_hub("reconcile", cwd=clean)
    assert _allocations(db_url) == _allocations(sibling_db(db_url, tmp_path))
    _assert_nothing_allocated_twice(db_url)


# -- push --------------------------------------------------------------------------------------------


def _events(customers: int) -> list[FlagChange | BandChange]:
    """Three events per customer, in the order a sink must apply them."""
    at = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
    out: list[FlagChange | BandChange] = []
    for n in range(customers):
        cid = f"C{n:05d}"
        out += [
            FlagChange(
                event_id=f"{cid}:OVER_LIMIT:v1",
                customer_id=cid,
                code="OVER_LIMIT",
                action="raised",
                version=1,
                reason="over the limit",
                at=at,
            ),
            BandChange(
                event_id=f"{cid}:band:v1", customer_id=cid, band="C", previous="B", score=55.0, reason="worse", at=at
            ),
            FlagChange(
                event_id=f"{cid}:OVER_LIMIT:v2",
                customer_id=cid,
                code="OVER_LIMIT",
                action="cleared",
                version=2,
                reason="paid",
                at=at,
            ),
        ]
    return out


@pytest.mark.slow
def test_pushes_run_at_once_deliver_each_event_once_per_sink_in_each_customers_order(
    tmp_path: Path, db_url: str
) -> None:
    with webhook_receiver() as receiver:
        extra = (
            '[connectors.flags]\ntype = "json-file"\npath = "out/flags.jsonl"\nbatch_size = 20\n'
            f'[connectors.alerts]\ntype = "example-webhook"\nurl = "{receiver.url}/hook"\n'
        )
        write_config(tmp_path, db_url, customers=None, invoices=None, statements=None, sink=None, extra=extra)
        store = Store(db_url)
        store.migrate()
        events = _events(1000)
        with store.begin() as conn:
            enqueue(conn, events, ["flags", "alerts"], utcnow())
        store.dispose()
        env = {"PYTHONPATH": example_plugin_path(tmp_path / "site")}
        results = _finish([_spawn(tmp_path, "push", env=env) for _ in range(PROCESSES + 1)])
        assert [code for code, _, _ in results] == [0] * (PROCESSES + 1), results
        queued = [e.event_id for e in events]
        assert receiver.events == Counter(queued)  # each event once: none lost, none twice
        written = [json.loads(line)["event_id"] for line in (tmp_path / "out" / "flags.jsonl").read_text().splitlines()]
        assert Counter(written) == Counter(queued)
        for received in (written, list(receiver.order)):
            position = {event_id: n for n, event_id in enumerate(received)}
            assert all(
                position[a] < position[b] for a, b in itertools.pairwise(queued) if a.split(":")[0] == b.split(":")[0]
            )  # each customer's events in order
    store = Store(db_url)
    o = schema.outbox
    with store.connect() as conn:
        rows = Counter(map(tuple, conn.execute(sa.select(o.c.status, o.c.attempts, o.c.claimed_by))))
    store.dispose()
    assert rows == Counter({("delivered", 1, None): 2 * len(events)})  # delivered by one pusher each


def _comparable(rows: Any) -> Counter[tuple[Any, ...]]:
    return Counter(
        tuple(json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v for v in row) for row in rows
    )


# -- sync --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_syncs_of_one_connector_run_one_at_a_time_and_leave_the_store_one_sync_leaves(
    tmp_path: Path, db_url: str
) -> None:
    data = generate(tmp_path / "data", customers=500, invoices=20000, receipts=3000)
    many = _book(tmp_path, db_url, "many", data)
    one = _book(tmp_path, sibling_db(db_url, tmp_path), "one", data)
    results = _finish([_spawn(many, "sync") for _ in range(PROCESSES)])
    assert [code for code, _, _ in results] == [0] * PROCESSES, results
    run_hub("sync", cwd=one)
    store, clean = Store(db_url), Store(sibling_db(db_url, tmp_path))
    run = schema.sync_run
    try:
        for table in (schema.customer, schema.invoice, schema.receipt):
            columns = [c for c in table.c if c.name not in ("id", "synced_at")]
            with store.connect() as a, clean.connect() as b:
                assert _comparable(a.execute(sa.select(*columns))) == _comparable(b.execute(sa.select(*columns)))
        with store.connect() as conn:
            runs = conn.execute(
                sa.select(run.c.connector, run.c.started_at, run.c.finished_at, run.c.status).order_by(run.c.started_at)
            ).all()
    finally:
        store.dispose()
        clean.dispose()
    assert {r.status for r in runs} == {"ok"}
    for connector in ("erp", "bank"):
        mine = [r for r in runs if r.connector == connector]
        # one process at a time: each run of a connector's streams starts after the one before ended
        assert len(mine) >= PROCESSES
        assert all(later.started_at >= earlier.finished_at for earlier, later in itertools.pairwise(mine))


def test_a_second_sync_that_may_not_wait_exits_75_naming_the_holder(tmp_path: Path) -> None:
    header = "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
    (tmp_path / "invoices.csv").write_text(header)
    write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", customers=None, statements=None, sink=None)
    run_hub("init", cwd=tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    with store.lock("sync erp"):
        proc = run_hub("--wait", "0", "sync", cwd=tmp_path, check=False)
        waited = run_hub("--wait", "1", "sync", cwd=tmp_path, check=False)
    store.dispose()
    assert proc.returncode == 75
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(f"error: sync erp is already running (held by pid {os.getpid()} on ")
    ), proc.stderr
    assert waited.returncode == 75
    assert "waiting: sync erp is already running" in waited.stderr
    assert "waited 1 s" in waited.stderr
    assert run_hub("--wait", "0", "sync", cwd=tmp_path).returncode == 0  # released: it runs
