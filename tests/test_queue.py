"""The job queue (procrastinate on PostgreSQL): ``hub run --queue``, ``hub worker``, ``hub jobs``,
schedules, retries, SIGTERM, metrics. The fault suite (tests/faults) kills workers; these run them
as a person would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.errors import SinkError, StoreError
from hub.queue.tasks import TransientRetry, transient

from .conftest import generate, run_hub, write_config
from .faults.book import QUEUE, outcome, pg_database


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    with pg_database(pg_admin) as url:
        yield url


def _book(folder: Path, db_url: str, extra: str = "") -> Path:
    generate(folder, seed=3, customers=15, invoices=150, receipts=30)
    write_config(folder, db_url, extra=QUEUE + extra)
    run_hub("init", cwd=folder)
    return folder


def _unknown_message_keys(db_url: str) -> set[str]:
    """The message keys stored reasons name that the store's ``message_key`` table does not hold."""

    def keys(item: object) -> Iterator[str]:
        if isinstance(item, dict):
            if "k" in item:
                yield str(item["k"])
            for value in item.values():
                yield from keys(value)
        elif isinstance(item, list):
            for value in item:
                yield from keys(value)

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        held = set(conn.execute(sa.text("SELECT key FROM message_key")).scalars())
        named = {k for (reasons,) in conn.execute(sa.text("SELECT reasons FROM allocation")) for k in keys(reasons)}
    engine.dispose()
    assert named, "the run must store reasons by key"
    return named - held


def _worker(folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "--log-level", "info", "worker", *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# -- without a database --------------------------------------------------------------------------------


def test_a_dropped_connection_a_timeout_and_a_retryable_hub_error_are_transient() -> None:
    dropped = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    assert transient(dropped)
    try:
        try:
            raise dropped
        except sa.exc.OperationalError:
            raise StoreError("cannot reach the database") from None
    except StoreError as wrapped:
        assert transient(wrapped)  # the cause chain is read
    assert transient(TimeoutError()) and transient(ConnectionResetError())
    assert transient(SinkError("HTTP 503"))
    assert not transient(SinkError("HTTP 400: refused", retryable=False))
    assert not transient(ValueError("a bug"))


def test_retries_back_off_exponentially_up_to_the_cap_and_stop_after_the_last_attempt() -> None:
    from procrastinate.jobs import Job

    strategy = TransientRetry(max_attempts=4, wait=2.0, cap=5.0)

    def wait(attempts: int) -> float | None:
        job = Job(id=1, queue="sync", lock=None, queueing_lock=None, task_name="hub:sync", attempts=attempts)
        decision = strategy.get_retry_decision(exception=TimeoutError(), job=job)
        if decision is None:
            return None
        assert decision.retry_at is not None
        return round((decision.retry_at - time_now()).total_seconds())

    assert [wait(0), wait(1), wait(2), wait(3)] == [2, 4, 5, None]
    job = Job(id=1, queue="sync", lock=None, queueing_lock=None, task_name="hub:sync", attempts=0)
    assert strategy.get_retry_decision(exception=ValueError(), job=job) is None


def test_a_retry_waits_at_least_as_long_as_a_throttling_source_asked_up_to_an_hour() -> None:
    from procrastinate.jobs import Job

    from hub.errors import SourceError
    from hub.http import HttpError
    from hub.queue.tasks import RETRY_AFTER_CEILING

    strategy = TransientRetry(max_attempts=4, wait=2.0, cap=5.0)
    job = Job(id=1, queue="sync", lock=None, queueing_lock=None, task_name="hub:sync", attempts=1)

    def wait(asked: float | None) -> float:
        throttled = HttpError("GET", "https://api.example.test/accounts", 429, "still failing after 5 attempts")
        throttled.retry_after = asked
        try:  # as a connector raises it: its own error, from the HTTP one
            raise SourceError("crm/accounts: page 3 failed") from throttled
        except SourceError as exc:
            decision = strategy.get_retry_decision(exception=exc, job=job)
        assert decision is not None and decision.retry_at is not None
        return round((decision.retry_at - time_now()).total_seconds())

    assert wait(None) == 4  # no wish: the backoff
    assert wait(1.0) == 4  # a shorter wish than the backoff: the backoff
    assert wait(600.0) == 600  # longer than the cap of the backoff: as asked
    assert wait(86_400.0) == RETRY_AFTER_CEILING  # a day: an hour, then the job fails visibly after its tries


def time_now():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def test_hub_run_queue_on_sqlite_fails_with_one_line(tmp_path: Path) -> None:
    write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", customers=None, invoices=None, statements=None)
    run_hub("init", cwd=tmp_path)
    for args in (["run", "--queue"], ["worker"], ["jobs"]):
        proc = run_hub(*args, cwd=tmp_path, check=False)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: the job queue needs PostgreSQL"), proc.stderr


def test_a_schedule_that_is_not_cron_or_not_a_step_is_refused(tmp_path: Path) -> None:
    write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", extra='[queue.schedule]\nrun = "every hour"\n')
    proc = run_hub("jobs", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and "not a cron expression" in proc.stderr


# -- on PostgreSQL ----------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("partitions", [1, 3])
def test_a_queued_run_done_by_two_workers_ends_exactly_as_the_inline_run(
    partitions: int, pg_url: str, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    """With three partitions, three jobs decide the receipts at once and one writes them: the same
    outcome as ``hub run`` deciding the three partitions one after another."""
    setting = f"\n[reconcile]\npartitions = {partitions}\n"
    queued = _book(tmp_path / "queued", pg_url, extra=setting)
    out = json.loads(run_hub("--json", "run", "--queue", cwd=queued).stdout)
    assert out["run_id"] and out["job_id"]
    again = run_hub("run", "--queue", cwd=queued, check=False)
    assert again.returncode == 1 and "a run is already waiting in the queue" in again.stderr
    workers = [_worker(queued, "--until-idle", "--concurrency", "2") for _ in range(2)]
    for w in workers:
        _, log = w.communicate(timeout=300)
        assert w.returncode == 0, log[-3000:]
    jobs = json.loads(run_hub("--json", "jobs", cwd=queued).stdout)
    # run, 2 syncs, 4 steps, 1 push, and a job per partition when there are more than one
    assert jobs["counts"]["succeeded"] == 8 + (partitions if partitions > 1 else 0) and jobs["counts"]["failed"] == 0
    tasks = {"run", "sync", "identity", "reconcile", "bureaus", "risk", "push"}
    assert {j["task"] for j in jobs["jobs"]} == tasks | ({"match"} if partitions > 1 else set())
    assert {j["run_id"] for j in jobs["jobs"]} == {out["run_id"]}
    with pg_database(pg_admin) as inline_url:
        inline = tmp_path / "inline"
        inline.mkdir()
        for name in ("customers.csv", "invoices.csv", "statement.xml"):
            (inline / name).write_bytes((queued / name).read_bytes())
        write_config(inline, inline_url, extra=QUEUE + setting)
        run_hub("init", cwd=inline)
        run_hub("run", cwd=inline)
        expected = outcome(inline_url, inline / "out" / "flags.jsonl")
    got = outcome(pg_url, queued / "out" / "flags.jsonl")
    assert _unknown_message_keys(pg_url) == set(), "every reason's message can be said where it was written"
    assert (got.records, got.allocations, got.invoices, got.receipts) == (
        expected.records,
        expected.allocations,
        expected.invoices,
        expected.receipts,
    )
    assert got.outbox == expected.outbox and got.delivered_lines == expected.delivered_lines


@pytest.mark.slow
@pytest.mark.postgres
def test_sigterm_lets_the_running_job_finish_and_leaves_the_rest_queued(pg_url: str, tmp_path: Path) -> None:
    folder = _book(tmp_path, pg_url)
    run_hub("run", "--queue", cwd=folder)
    proc = _worker(folder)
    assert proc.stderr is not None
    started = None
    for line in proc.stderr:
        if '"job.started"' in line and '"task": "sync"' in line:
            started = json.loads(line)
            proc.send_signal(signal.SIGTERM)
            break
    assert started is not None
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 0, rest
    jobs = json.loads(run_hub("--json", "jobs", cwd=folder).stdout)
    by_id = {j["id"]: j for j in jobs["jobs"]}
    assert by_id[started["job_id"]]["status"] == "succeeded"  # finished, not abandoned
    assert jobs["counts"]["doing"] == 0
    assert jobs["counts"]["todo"] >= 1  # the rest waits for the next worker
    run_hub("worker", "--until-idle", cwd=folder)
    assert json.loads(run_hub("--json", "jobs", cwd=folder).stdout)["counts"]["todo"] == 0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_scheduled_run_happens_and_metrics_health_and_readiness_are_served(pg_url: str, tmp_path: Path) -> None:
    folder = _book(tmp_path, pg_url, extra='\n[queue.schedule]\nrun = "* * * * * */2"\n')
    proc = _worker(folder, "--metrics-port", "0")  # any free port: the worker says which
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line)
        if '"metrics.serving"' in line:
            base = json.loads(line)["url"].removesuffix("/metrics")
            break
    else:
        raise AssertionError("".join(lines))
    drain = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
    drain.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            jobs = json.loads(run_hub("--json", "jobs", "--status", "succeeded", cwd=folder).stdout)
            if any(j["task"] == "push" for j in jobs["jobs"]):
                break
            time.sleep(1)
        else:
            raise AssertionError("no scheduled run reached its push")
        assert _get(f"{base}/healthz") == (200, "ok\n")
        assert _get(f"{base}/readyz") == (200, "ready\n")
        status, text = _get(f"{base}/metrics")
        assert status == 200
        for name in (
            'hub_records{connector="erp",type="invoice"} 150.0',
            "hub_match_rate ",
            'hub_outbox_rows{sink="flags",status="delivered"}',
            "hub_outbox_oldest_pending_age_seconds",
            'hub_jobs{status="succeeded",task="hub:scheduled"}',
            "hub_sync_runs_total{",
            "hub_jobs_retried ",
        ):
            assert name in text, name
        assert _get(f"{base}/nothing")[0] == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        drain.join(timeout=10)
        (tmp_path / "worker.log").write_text("".join(lines))
    assert proc.returncode == 0, "".join(lines)[-3000:]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{base}/healthz", timeout=2)
    assert os.path.exists(folder / "out" / "flags.jsonl")
