"""``hub worker`` (procrastinate workers on PostgreSQL) and ``hub jobs`` (what is queued, running,
failed and retried). ``hub run --queue`` (in :mod:`hub.cli.jobs`) queues a run for the workers.

See docs/workers.md.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hub import fmt
from hub.cli.common import app, emit, handled, out, session, state, table

JOB_STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting", "aborted")


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


@app.command()
@handled
def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, max=64, help="Jobs run at once (default: the config's queue.concurrency, 1).")
    ] = None,
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queues",
            help="Only jobs of these queues: run, sync, reconcile, bureaus, risk, push (comma-separated or repeated; "
            "default every queue).",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Serve /metrics, /healthz and /readyz on 127.0.0.1 at this port."),
    ] = None,
    until_idle: Annotated[
        bool, typer.Option(help="Stop when no job is queued or running (a batch, a test, a benchmark).")
    ] = False,
) -> None:
    """Run queued jobs (PostgreSQL). SIGTERM or Ctrl-C: the running job finishes, then the worker stops.

    A worker that dies (kill -9, a lost machine) stops beating: after queue.stalled_after_seconds
    another worker runs its jobs again.
    """
    with session() as hub:
        hub.queue.work(concurrency=concurrency, queues=_split(queues), until_idle=until_idle, metrics_port=metrics_port)


@app.command()
@handled
def jobs(
    status: Annotated[
        list[str] | None,
        typer.Option(help=f"Only jobs in these states: {', '.join(JOB_STATUSES)} (comma-separated or repeated)."),
    ] = None,
    retried: Annotated[bool, typer.Option(help="Only jobs tried more than once.")] = False,
    run: Annotated[str | None, typer.Option(help="Only the jobs of this run id.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most jobs listed.")] = 50,
) -> None:
    """Queued, running, failed and retried jobs (newest first), and the count of every job by state."""
    with session() as hub:
        rows, counts = hub.queue.jobs(status=_split(status), retried=retried, run_id=run, limit=limit)
    if state.json:
        emit({"counts": counts, "jobs": rows})
        return
    shown = [s for s in (*JOB_STATUSES, "retried") if counts.get(s)]
    out.print(table("jobs", [*shown] or ["jobs"], [[fmt.count(counts[s]) for s in shown] or ["none"]], numeric=shown))
    if rows:
        out.print(
            table(
                "newest jobs",
                ["id", "task", "key", "status", "tries", "run", "last change (UTC)"],
                [
                    [
                        str(r["id"]),
                        r["task"],
                        r["key"] or fmt.DASH,
                        r["status"],
                        str(r["attempts"]),
                        r["run_id"] or fmt.DASH,
                        f"{r['last_event']:%Y-%m-%d %H:%M:%S}" if r["last_event"] else fmt.DASH,
                    ]
                    for r in rows
                ],
                numeric=["id", "tries"],
            )
        )
