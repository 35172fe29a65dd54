"""Workers killed with ``kill -9`` at seeded points inside sync, reconcile (its commit included) and
push, restarted until the run is done: the store and the sink end exactly as after a run nobody
interrupted. Plus a database connection dropped mid-transaction (the job is retried) and a sink that
fails in every way for a while (the push is retried until it delivers).

The kill points are checkpoints counted inside each step (hub.queue.faults): the N-th SQL
statement, the N-th COMMIT (the transaction dies with the process) or the statement after it (the
work is stored, what follows is not). They are drawn from a seeded generator within the numbers an
uninterrupted run took, so a failure replays exactly.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.loopback import _serving, example_plugin_path

from .book import (
    Outcome,
    amounts,
    check_invariants,
    enqueue,
    make_book,
    outcome,
    pg_database,
    prepare,
    trace_counts,
    worker,
)

SEED = 19


@dataclass
class Baseline:
    book: Path
    counts: dict[tuple[str, str], int]
    result: Outcome


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, pg_admin: sa.Engine) -> Iterator[Baseline]:
    """One run nobody interrupts: what every scenario must end with, and how many statements and
    commits each step takes (the range the kill points are drawn from)."""
    root = tmp_path_factory.mktemp("faults")
    book = make_book(root / "book")
    with pg_database(pg_admin) as db:
        folder = prepare(root / "clean", book, db)
        enqueue(folder)
        trace = root / "trace.txt"
        assert worker(folder, trace=trace) == 0
        result = outcome(db, folder / "out" / "flags.jsonl")
        check_invariants(db, result)
    assert result.allocations and result.outbox, "the book must give reconcile and push work to do"
    yield Baseline(book, trace_counts(trace), result)


def same_as(result: Outcome, expected: Outcome) -> None:
    assert result.records == expected.records
    assert amounts(result.allocations) == amounts(expected.allocations)
    assert amounts(result.invoices) == amounts(expected.invoices)
    assert result.receipts == expected.receipts
    assert [f[:3] for f in result.flags] == [f[:3] for f in expected.flags]
    assert result.outbox == expected.outbox
    assert set(result.delivered_lines) == set(expected.delivered_lines)


#: Each chain (a database of its own) kills one worker after another in the steps named, in order,
#: then lets a last worker finish. Four chains of seven: 28 kills planned; a planned point past what
#: a re-run still has to do does not fire, and the test requires 20 that did.
CHAINS = [
    ["sync", "sync", "reconcile", "reconcile", "reconcile", "push", "push"],
    ["sync", "reconcile", "reconcile", "reconcile", "risk", "push", "push"],
    ["sync", "sync", "sync", "reconcile", "reconcile", "push", "push"],
    ["reconcile", "reconcile", "reconcile", "reconcile", "push", "push", "push"],
]
KINDS = ("statement", "commit", "after-commit")


def _point(rng: random.Random, counts: dict[tuple[str, str], int], step: str) -> str:
    kind = rng.choice(KINDS)
    total = counts.get((step, "commit" if kind != "statement" else "statement"), 1)
    # the first half of what an uninterrupted run took: a re-run after a kill does less
    n = rng.randint(1, max(1, total // 2))
    return f"{step}:{kind}:{n}"


def _kill_along(folder: Path, steps: list[str], rng: random.Random, counts: dict[tuple[str, str], int]) -> list[str]:
    """Start a worker with a kill point drawn in each step in turn; the points that fired."""
    return [point for step in steps if worker(folder, faults=(point := _point(rng, counts, step))) == -9]


def test_workers_killed_at_more_than_twenty_points_end_as_an_uninterrupted_run(
    baseline: Baseline, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    fired: Counter[str] = Counter()
    for chain, steps in enumerate(CHAINS):
        rng = random.Random(SEED * 100 + chain)
        with pg_database(pg_admin) as db:
            folder = prepare(tmp_path / f"chain{chain}", baseline.book, db)
            enqueue(folder)
            points = _kill_along(folder, steps, rng, baseline.counts)
            fired.update(point.split(":")[0] for point in points)
            assert worker(folder) == 0
            result = outcome(db, folder / "out" / "flags.jsonl")
            try:
                check_invariants(db, result)
                same_as(result, baseline.result)
            except AssertionError as exc:
                raise AssertionError(f"chain {chain}, killed at {points}: {exc}") from exc
    assert sum(fired.values()) >= 20, fired
    assert fired["sync"] and fired["reconcile"] and fired["push"], fired


PARTITIONS = "\n[reconcile]\npartitions = 2\n"
PARTITIONED_CHAIN = ["match", "match", "reconcile", "match", "reconcile", "reconcile"]


def test_workers_killed_while_partitions_are_decided_and_written_end_as_an_uninterrupted_partitioned_run(
    baseline: Baseline, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    """Two partitions: a job each decides and keeps its partition's decisions, one job writes them. Kills
    before and after a partition kept its decisions, and in and after the write."""
    with pg_database(pg_admin) as db:
        folder = prepare(tmp_path / "clean", baseline.book, db, extra=PARTITIONS)
        enqueue(folder)
        trace = tmp_path / "trace.txt"
        assert worker(folder, trace=trace) == 0
        expected = outcome(db, folder / "out" / "flags.jsonl")
        check_invariants(db, expected)
    counts = trace_counts(trace)
    assert counts.get(("match", "commit")), "each partition's job keeps its decisions in a transaction"
    rng = random.Random(SEED * 100 + len(CHAINS))
    with pg_database(pg_admin) as db:
        folder = prepare(tmp_path / "killed", baseline.book, db, extra=PARTITIONS)
        enqueue(folder)
        points = _kill_along(folder, PARTITIONED_CHAIN, rng, counts)
        fired = Counter(point.split(":")[0] for point in points)
        assert worker(folder) == 0
        result = outcome(db, folder / "out" / "flags.jsonl")
        try:
            check_invariants(db, result)
            same_as(result, expected)
        except AssertionError as exc:
            raise AssertionError(f"killed at {points}: {exc}") from exc
        with sa.create_engine(db).connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM reconcile_stage")).scalar_one() == 0
    assert fired["match"] and fired["reconcile"], fired


def test_a_connection_dropped_mid_transaction_is_retried_and_the_run_ends_the_same(
    baseline: Baseline, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    with pg_database(pg_admin) as db:
        folder = prepare(tmp_path, baseline.book, db)
        enqueue(folder)
        assert worker(folder, faults="sync:terminate:7,reconcile:terminate:5,risk:terminate:9,push:terminate:3") == 0
        result = outcome(db, folder / "out" / "flags.jsonl")
        check_invariants(db, result)
        same_as(result, baseline.result)
        engine = sa.create_engine(db)
        with engine.connect() as conn:
            tried = dict(
                conn.exec_driver_sql(
                    "SELECT task_name, max(attempts) FROM procrastinate_jobs WHERE task_name <> 'hub:run' GROUP BY 1"
                ).all()
            )
        engine.dispose()
    # every job whose connection was cut ran a second time, and succeeded then
    assert tried["hub:reconcile"] == 2 and tried["hub:risk"] == 2 and tried["hub:push"] == 2, tried
    assert "hub:run" not in tried


class FlakySink:
    """A webhook receiver that fails in every way a sink does, in turn, before it accepts: HTTP 500,
    429 with Retry-After, no answer within the client's timeout, a reset connection. Counts what it
    accepted by event id."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = list(failures)
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        self.seen: list[str] = []

    def handler(self) -> Any:
        import json
        import socket
        from http.server import BaseHTTPRequestHandler

        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ids = [c["event_id"] for c in body["changes"]]
                with sink.lock:
                    failure = sink.failures.pop(0) if sink.failures else None
                    sink.seen.append(failure or "ok")
                if failure == "500":
                    return self._answer(500, {"error": "internal"})
                if failure == "429":
                    self.send_response(429)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if failure == "timeout":
                    time.sleep(1.5)  # the sink's timeout is 0.5 s
                    return None
                if failure == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    return None
                with sink.lock:
                    sink.accepted.update(ids)
                return self._answer(200, {"results": [{"event_id": i, "ok": True} for i in ids]})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def test_a_sink_that_fails_times_out_resets_and_throttles_gets_every_change_once(
    baseline: Baseline, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    flaky = FlakySink(["500", "500", "429", "timeout", "reset", "429", "500"])
    with pg_database(pg_admin) as db, _serving(flaky.handler()) as url:
        extra = f'\n[connectors.hook]\ntype = "example-webhook"\nurl = "{url}/hook"\ntimeout = 0.5\nbatch_size = 20\n'
        env = {"PYTHONPATH": example_plugin_path(tmp_path / "site")}
        folder = prepare(tmp_path / "run", baseline.book, db, extra=extra)
        run_env = env
        from tests.conftest import run_hub

        run_hub("init", cwd=folder, env=run_env)
        enqueue(folder, env=run_env)
        assert worker(folder, env=run_env) == 0
        result = outcome(db, folder / "out" / "flags.jsonl")
        check_invariants(db, result)
    hook_rows = {event: status for sink, event, status in result.outbox if sink == "hook"}
    assert hook_rows and set(hook_rows.values()) == {"delivered"}, Counter(hook_rows.values())
    assert set(flaky.accepted) == set(hook_rows)
    assert max(flaky.accepted.values()) == 1, "an event was accepted twice"
    assert flaky.failures == [] and flaky.seen.count("ok") >= 1
