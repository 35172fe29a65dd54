#!/usr/bin/env python3
"""Benchmark: one queued run (sync, identity, reconcile, bureaus, risk, push) on PostgreSQL done by
1, 2... ``hub worker`` processes; optionally the same book inline on SQLite (``--sqlite``).

For each worker count: an emptied PostgreSQL database, ``hub init``, ``hub run --queue``, N workers
started with ``--until-idle``. Reports the wall time (with the workers' start and their idle check),
the run's time (first job started to last job done: what the speedup is taken on), each step's time from the job events
(procrastinate_events: first start to last success of the step's jobs) with its throughput
(records synced/s, receipts reconciled/s, customers assessed/s, changes pushed/s), the scaling
efficiency against one worker, the workers' peak RSS, and whether the outcome (allocations, open
amounts, outbox) is identical to the first run's.

Usage:
  python bench/bench_workers.py --database postgresql://postgres@127.0.0.1:5432/hub_bench \\
      [--invoices 50000] [--receipts 10000] [--customers 2000] [--workers 1 2] [--sqlite] [--workdir DIR]
      [--partitions N] [--baseline PATH | --no-baseline] [--timeout SECONDS]

Beside the runs, the shared ERP-rule baseline (``../shared/bench/baseline_match.py``, which stores
nothing) on the same files, with each run's reconcile time over the baseline's (issue 19's goal on
SQLite: at most 1.6). Progress goes to stderr, each worker's log to ``worker-N-I.log`` in the work
folder, and the results also to ``results.json`` there after every run.

The database named is emptied (its public schema dropped) before each run: give it a bench database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BASELINE = HERE.parent.parent / "shared" / "bench" / "baseline_match.py"
STEPS = ("sync", "identity", "match", "reconcile", "bureaus", "risk", "push")


def engine(url: str) -> Any:
    import sqlalchemy as sa

    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def empty_postgres(url: str) -> None:
    eng = engine(url)
    with eng.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    eng.dispose()


def config(url: str, partitions: int = 1) -> str:
    return (
        f"[reconcile]\npartitions = {partitions}\n"
        f'[database]\nurl = "{url}"\n[connectors.erp]\ntype = "csv"\ncustomers = "customers.csv"\n'
        'invoices = "invoices.csv"\n[connectors.bank]\ntype = "bank-files"\npath = "statement.xml"\n'
        '[connectors.flags]\ntype = "json-file"\npath = "out/flags.jsonl"\n[risk]\nas_of = "2025-06-30"\n'
        "[queue]\nheartbeat_seconds = 2\nstalled_after_seconds = 30\n"
    )


def say(message: str) -> None:
    """Progress on stderr (a run at 1,000,000 invoices takes minutes); the results go to stdout."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def hub(*args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "hub.cli", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"hub {' '.join(args)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _plain(value: Any) -> Any:
    # Money is millionths: Numeric(38, 0) on PostgreSQL (a Decimal), an integer on SQLite; the same
    # number must hash the same on both so the SQLite run can be compared with the workers' runs.
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def fingerprint(url: str) -> str:
    """A hash of what the run decided: allocations, open amounts, the outbox.

    Streamed (a server-side cursor on PostgreSQL, 20,000 rows at a time) so 1,000,000 invoices are
    never all in memory at once; the orders are total (by natural keys) so both stores hash alike.
    """
    eng = engine(url)
    digest = hashlib.sha256()
    with eng.connect() as conn:
        conn = conn.execution_options(stream_results=True, yield_per=20_000)
        for sql in (
            "SELECT r.external_id, i.external_id, a.amount, a.status FROM allocation a"
            " JOIN receipt r ON r.id = a.receipt_id JOIN invoice i ON i.id = a.invoice_id"
            " ORDER BY 1, 2, 3, 4",
            "SELECT external_id, open_amount FROM invoice ORDER BY 1",
            "SELECT sink, event_id, status FROM outbox ORDER BY 1, 2",
        ):
            for row in conn.exec_driver_sql(sql):
                digest.update(repr(tuple(_plain(v) for v in row)).encode())
    eng.dispose()
    return digest.hexdigest()[:16]


def job_times(url: str) -> dict[str, float]:
    """Seconds from start to success of each job, by step and key (``sync:erp``, ``sync:bank``...):
    the two syncs overlap when there are two workers, so the step's time alone hides which is long."""
    eng = engine(url)
    with eng.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT j.task_name, j.args->>'key', min(e.at) FILTER (WHERE e.type = 'started'),"
            " max(e.at) FILTER (WHERE e.type = 'succeeded')"
            " FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id"
            " WHERE j.args->>'run_id' IS NOT NULL AND j.args->>'key' IS NOT NULL GROUP BY j.id"
        ).all()
    eng.dispose()
    return {
        f"{task.removeprefix('hub:')}:{key}": round((end - start).total_seconds(), 2)
        for task, key, start, end in rows
        if start and end
    }


def step_times(url: str) -> dict[str, float]:
    """Seconds from the first start to the last success of each step's jobs."""
    eng = engine(url)
    with eng.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT j.task_name, min(e.at) FILTER (WHERE e.type = 'started'),"
            " max(e.at) FILTER (WHERE e.type = 'succeeded')"
            " FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id"
            " WHERE j.args->>'run_id' IS NOT NULL GROUP BY 1"
        ).all()
    eng.dispose()
    out = {}
    starts = [start for _, start, _ in rows if start]
    ends = [end for _, _, end in rows if end]
    if starts and ends:
        out["first_start_to_last_success"] = (max(ends) - min(starts)).total_seconds()
    spans = {}
    for task, start, end in rows:
        step = task.removeprefix("hub:")
        if step in STEPS and start and end:
            out[step] = (end - start).total_seconds()
            spans[step] = (start, end)
    if "match" in spans and "reconcile" in spans:  # the partitions decided, then written: reconcile in all
        out["match+reconcile"] = (spans["reconcile"][1] - spans["match"][0]).total_seconds()
    return out


def volumes(url: str) -> dict[str, int]:
    eng = engine(url)
    with eng.connect() as conn:

        def n(sql: str) -> int:
            return int(conn.exec_driver_sql(sql).scalar_one())

        out = {
            "sync": n(
                "SELECT (SELECT count(*) FROM invoice) + (SELECT count(*) FROM customer)"
                " + (SELECT count(*) FROM receipt)"
            ),
            "reconcile": n("SELECT count(*) FROM receipt"),
            "risk": n("SELECT count(*) FROM customer"),
            "push": n("SELECT count(*) FROM outbox"),
        }
    eng.dispose()
    return out


def wait_all(procs: list[subprocess.Popen[bytes]], timeout: float, what: str) -> list[int]:
    """Wait for every process; the peak RSS (kB) of each. Past the timeout all are killed and the
    bench stops with one line (a hung worker must not hold a bench run forever)."""
    deadline = time.monotonic() + timeout
    peaks: dict[int, int] = {}
    while len(peaks) < len(procs):
        for p in procs:
            if p.pid in peaks:
                continue
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid == 0:
                continue
            p.returncode = os.waitstatus_to_exitcode(status)
            peaks[p.pid] = usage.ru_maxrss
            if p.returncode != 0:
                for other in procs:
                    if other.returncode is None:
                        other.kill()
                        other.wait()
                raise SystemExit(f"{what} exited {p.returncode}; see its log in the work folder")
        if time.monotonic() > deadline:
            for p in procs:
                if p.returncode is None:
                    p.kill()
                    p.wait()
            raise SystemExit(f"{what} did not finish within {timeout:.0f} s; killed")
        time.sleep(0.2)
    return [peaks[p.pid] for p in procs]


def run_queued(work: Path, url: str, workers: int, timeout: float, partitions: int = 1) -> dict[str, Any]:
    say(f"{workers} worker(s): emptying the database, init, run --queue")
    empty_postgres(url)
    (work / "hub.toml").write_text(config(url, partitions), encoding="utf-8")
    hub("init", cwd=work)
    hub("run", "--queue", cwd=work)
    started = time.perf_counter()
    logs = [(work / f"worker-{workers}-{i}.log").open("wb") for i in range(workers)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "worker", "--until-idle"],
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        peaks = wait_all(procs, timeout, "a worker")
    finally:
        for log in logs:
            log.close()
    wall = time.perf_counter() - started
    say(f"{workers} worker(s): done in {wall:.1f} s; reading the job events and the outcome")
    times = step_times(url)
    sizes = volumes(url)
    started = time.perf_counter()
    outcome = fingerprint(url)
    say(f"{workers} worker(s): outcome {outcome} (hashed in {time.perf_counter() - started:.1f} s)")
    return {
        "workers": workers,
        "wall_s": round(wall, 2),
        "run_s": round(times.get("first_start_to_last_success", 0.0), 2),
        "steps_s": {s: round(times[s], 2) for s in (*STEPS, "match+reconcile") if s in times},
        "jobs_s": job_times(url),
        "per_s": {s: round(sizes[s] / times[s]) for s in sizes if times.get(s)},
        "peak_rss_mb_per_worker": [round(kb / 1024) for kb in peaks],
        "outcome": outcome,
    }


def run_sqlite(work: Path, timeout: float, partitions: int = 1) -> dict[str, Any]:
    folder = work / "sqlite"
    folder.mkdir(exist_ok=True)
    for name in ("customers.csv", "invoices.csv", "statement.xml"):
        if not (folder / name).exists():
            (folder / name).symlink_to(work / name)
    (folder / "hub.toml").write_text(config("sqlite:///hub.db", partitions), encoding="utf-8")
    for leftover in folder.glob("hub.db*"):
        if leftover.is_file():
            leftover.unlink()
    say("SQLite: init, hub run inline")
    hub("init", cwd=folder)
    started = time.perf_counter()
    with (folder / "run.json").open("wb") as out, (folder / "run.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--json", "run"], cwd=folder, stdout=out, stderr=log)
        # This process's own peak, not RUSAGE_CHILDREN's (the largest of every child, workers included).
        (peak_kb,) = wait_all([proc], timeout, "hub run on SQLite")
    wall = time.perf_counter() - started
    say(f"SQLite: done in {wall:.1f} s")
    summary = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    # The steps' own seconds as `hub --json run` reports them (push reports none: the rest of the wall).
    steps = {"sync": sum(float(r["seconds"]) for r in summary["sync"])}
    for step in STEPS[1:]:
        if isinstance(summary.get(step), dict) and "seconds" in summary[step]:
            steps[step] = float(summary[step]["seconds"])
    return {
        "sqlite_inline_wall_s": round(wall, 2),
        "sqlite_steps_s": {s: round(v, 2) for s, v in steps.items()},
        "sqlite_peak_rss_mb": round(peak_kb / 1024),
        "sqlite_outcome": fingerprint(f"sqlite:///{folder / 'hub.db'}"),
    }


def run_baseline(work: Path, baseline: Path, timeout: float) -> dict[str, Any]:
    """The shared ERP-rule baseline on the same files (it stores nothing): the figure issue 19 puts
    beside reconcile's."""
    say("baseline: baseline_match.py on the same files")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(baseline), str(work), str(work / "baseline.csv")],
        cwd=work,
        stdout=subprocess.DEVNULL,
    )
    (peak_kb,) = wait_all([proc], timeout, "the baseline")
    return {"baseline_wall_s": round(time.perf_counter() - started, 2), "baseline_peak_rss_mb": round(peak_kb / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", required=True, help="a PostgreSQL bench database (emptied before each run)")
    ap.add_argument("--invoices", type=int, default=50_000)
    ap.add_argument("--receipts", type=int, default=10_000)
    ap.add_argument("--customers", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="worker counts; none: SQLite only")
    ap.add_argument("--sqlite", action="store_true", help="also the same book inline on SQLite")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--baseline", type=Path, default=BASELINE, help="the shared ERP-rule baseline script")
    ap.add_argument("--no-baseline", dest="baseline", action="store_const", const=None)
    ap.add_argument(
        "--partitions", type=int, default=1, help="[reconcile] partitions: jobs that decide the receipts at once"
    )
    ap.add_argument("--timeout", type=float, default=3600, help="seconds one run may take before it is killed")
    a = ap.parse_args()
    if a.baseline is not None and not a.baseline.exists():
        # ../shared is beside the main checkout; a worktree elsewhere names it with --baseline.
        raise SystemExit(f"no baseline at {a.baseline}: name it with --baseline PATH, or --no-baseline")
    work = a.workdir or Path(tempfile.mkdtemp(prefix="hub-bench-workers-"))
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "invoices.csv").exists():
        say(f"generating {a.invoices} invoices, {a.receipts} receipts, {a.customers} customers in {work}")
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_receivables.py"),
                str(work),
                "--seed",
                str(a.seed),
                "--customers",
                str(a.customers),
                "--invoices",
                str(a.invoices),
                "--receipts",
                str(a.receipts),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    results: dict[str, Any] = {
        "invoices": a.invoices,
        "receipts": a.receipts,
        "customers": a.customers,
        "partitions": a.partitions,
        "runs": [],
    }
    for n in a.workers:
        results["runs"].append(run_queued(work, a.database, n, a.timeout, a.partitions))
        # Each run's figures as soon as it ends: a later run that fails or is killed loses only itself.
        (work / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    base = results["runs"][0] if results["runs"] else None
    for r in results["runs"]:
        r["speedup"] = round(base["run_s"] / r["run_s"], 2) if r["run_s"] else None
        r["efficiency"] = round(r["speedup"] * base["workers"] / r["workers"], 2) if r["speedup"] else None
        r["same_outcome_as_first"] = r["outcome"] == base["outcome"]
    if a.baseline is not None:
        results.update(run_baseline(work, a.baseline, a.timeout))
        for r in results["runs"]:
            took = r["steps_s"].get("match+reconcile") or r["steps_s"].get("reconcile")
            if took:
                r["reconcile_to_baseline"] = round(took / results["baseline_wall_s"], 2)
    if a.sqlite:
        results.update(run_sqlite(work, a.timeout, a.partitions))
        if base is not None:
            results["sqlite_same_outcome_as_first"] = results["sqlite_outcome"] == base["outcome"]
        if results.get("baseline_wall_s") and results["sqlite_steps_s"].get("reconcile"):
            results["sqlite_reconcile_to_baseline"] = round(
                results["sqlite_steps_s"]["reconcile"] / results["baseline_wall_s"], 2
            )
    (work / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
