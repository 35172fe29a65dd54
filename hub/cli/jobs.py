"""The jobs a scheduler runs: ``hub init``, ``sync``, ``reconcile``, ``risk``, ``push`` and ``run``.

Each exits non-zero with one line when it could not do its job (a stream failed, a sink is not up
to date), and with 75 when the same job is already running elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub import fmt
from hub.cli.common import (
    app,
    emit,
    error_line,
    facts,
    fail,
    handled,
    out,
    parse_date,
    progress_factory,
    session,
    state,
    table,
    warn,
)

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.identity import IdentityStats
    from hub.outbox import PushStats
    from hub.recon import ReconcileStats
    from hub.risk import RiskStats

AsOf = Annotated[str | None, typer.Option(help="Age invoices as of this date (default today).")]


@app.command()
@handled
def init() -> None:
    """Create or upgrade the database schema (runs the migrations)."""
    with session() as hub:
        revision = hub.init()
        emit({"database": hub.database, "revision": revision})
    if not state.json:
        out.print(f"database ready at revision {revision}")


def sync_rows(hub: Hub, connector: str | None, full_refresh: bool) -> list[dict[str, Any]]:
    """Sync, print each stream's warnings and errors, and return the streams' stats as dicts."""
    stats = hub.sync(connector, full_refresh=full_refresh, progress=progress_factory())
    for s in stats:
        for w in s.warnings:
            warn(f"{s.connector}/{s.stream}: {w}")
        for e in s.errors:
            error_line(f"{s.connector}/{s.stream}: {e}")
    return [s.as_dict() for s in stats]


SYNC_COLUMNS = ["connector", "stream", "read", "inserted", "updated", "unchanged", "quarantined", "closed", "seconds"]


@app.command()
@handled
def sync(
    connector: Annotated[str | None, typer.Option(help="Only this connector.")] = None,
    full_refresh: Annotated[bool, typer.Option(help="Ignore saved cursors and re-read everything.")] = False,
) -> None:
    """Pull records from every source (or one) into the store."""
    with session() as hub:
        rows = sync_rows(hub, connector, full_refresh)
    emit(
        {"sync": rows},
        table(
            "sync",
            SYNC_COLUMNS,
            [
                [r["connector"], r["stream"], *(fmt.count(r[k]) for k in SYNC_COLUMNS[2:-1]), fmt.seconds(r["seconds"])]
                for r in rows
            ],
        ),
    )
    if any(r["errors"] for r in rows):
        raise typer.Exit(1)  # each failure has had its one "error:" line above


def reconcile_facts(stats: ReconcileStats) -> list[tuple[str, str]]:
    rows = [
        ("receipts considered", fmt.count(stats.considered)),
        ("matched automatically", fmt.count(stats.auto)),
        ("suggested for review", fmt.count(stats.suggested)),
        ("left open", fmt.count(stats.unmatched)),
        ("allocations written", fmt.count(stats.allocations)),
    ]
    if stats.changed_meanwhile:
        rows.append(("left for the next run (changed meanwhile)", fmt.count(stats.changed_meanwhile)))
    return [*rows, ("time", fmt.seconds(stats.seconds))]


@app.command()
@handled
def reconcile() -> None:
    """Match receipts to open invoices."""
    with session() as hub:
        stats = hub.reconcile()
    emit({"reconcile": stats.as_dict()}, facts("reconcile", reconcile_facts(stats)))


def risk_facts(stats: RiskStats) -> list[tuple[str, str]]:
    return [
        ("customers assessed", fmt.count(stats.customers)),
        ("groups", fmt.count(stats.groups)),
        ("risk bands", ", ".join(f"{b} {fmt.count(n)}" for b, n in sorted(stats.band_counts.items())) or fmt.DASH),
        ("customers flagged", fmt.count(stats.flagged_customers)),
        ("flags in force", ", ".join(f"{c} {fmt.count(n)}" for c, n in sorted(stats.flag_counts.items())) or fmt.DASH),
        ("flags raised / cleared", f"{fmt.count(stats.raised)} / {fmt.count(stats.cleared)}"),
        ("band changes", fmt.count(stats.band_changes)),
        ("credit limit changes", fmt.count(stats.limit_changes)),
        ("collection steps due", fmt.count(stats.collection_actions_due)),
        ("changes queued for the sinks", fmt.count(stats.outbox_rows)),
        ("time", fmt.seconds(stats.seconds)),
    ]


@app.command()
@handled
def risk(as_of: AsOf = None) -> None:
    """Assess every customer: exposure, score and band, flags, promises, next collection step, credit limits.

    Flag, band and credit-limit changes are queued for the sinks ('hub push' delivers them).
    """
    with session() as hub:
        stats = hub.risk(parse_date(as_of))
    emit({"risk": stats.as_dict()}, facts("risk", risk_facts(stats)))


def push_problem(stats: PushStats) -> str | None:
    """One line saying which sinks are not up to date after a push, and how much waits, or None."""
    problems = stats.problems
    if not problems:
        return None
    named = "; ".join(f"{sink}: {why}" for sink, why in problems.items())
    return f"not every change reached its system: {named}; {stats.pending} events pending ('hub outbox' lists them)"


@app.command()
@handled
def push(sink: Annotated[list[str] | None, typer.Option(help="Only these sinks.")] = None) -> None:
    """Deliver queued flag, band and credit-limit changes to the sinks.

    Exits non-zero when a sink could not be reached, or events failed or wait for a retry.
    """
    with session() as hub:
        stats = hub.push(sink)
    emit(
        {"push": stats.as_dict()},
        table(
            "push",
            ["sink", "delivered", "failed", "dead", "not linked", "pending"],
            [[s.sink, *map(fmt.count, (s.delivered, s.failed, s.dead, s.not_linked, s.pending))] for s in stats.sinks],
        ),
    )
    for s in stats.sinks:
        for e in s.errors[1:3]:
            warn(f"{s.sink}: {e}")
    if (problem := push_problem(stats)) is not None:
        fail(problem)


def _identity_line(ident: IdentityStats) -> str:
    return f"{fmt.count(ident.linked)} customer records linked, {fmt.count(ident.proposed)} proposed for review"


@app.command()
@handled
def run(
    as_of: AsOf = None,
    full_refresh: Annotated[bool, typer.Option(help="Ignore saved cursors when syncing.")] = False,
    queue: Annotated[
        bool, typer.Option("--queue", help="Queue the run for 'hub worker' (PostgreSQL) instead of running it here.")
    ] = False,
) -> None:
    """sync, resolve identities, reconcile, bureaus, risk and push, in that order.

    The bureau step asks the credit bureaus only about the customers due (docs/bureaus.md), within each
    bureau's monthly budget.
    """
    from hub.cli.bureau import report_run

    if queue:
        with session() as hub:
            queued = hub.queue.enqueue_run(as_of=parse_date(as_of), full_refresh=full_refresh)
        emit(queued, facts("hub run --queue", [("run", queued["run_id"]), ("job", str(queued["job_id"]))]))
        return
    with session() as hub:
        synced = sync_rows(hub, None, full_refresh)
        ident = hub.resolve_identities()
        rec = hub.reconcile()
        bur = hub.bureaus.refresh()
        rk = hub.risk(parse_date(as_of))
        pushed = hub.push()
    summary = {
        "sync": synced,
        "identity": ident.as_dict(),
        "reconcile": rec.as_dict(),
        "bureaus": bur.as_dict(),
        "risk": rk.as_dict(),
        "push": pushed.as_dict(),
    }
    emit(
        summary,
        table(
            "hub run",
            ["step", "result"],
            [
                [
                    "sync",
                    "; ".join(
                        f"{r['connector']}/{r['stream']}: {fmt.count(r['inserted'])} new, {fmt.count(r['updated'])} "
                        f"updated, {fmt.count(r['quarantined'])} quarantined"
                        for r in synced
                    )
                    or "no sources",
                ],
                ["identity", _identity_line(ident)],
                [
                    "reconcile",
                    f"{fmt.count(rec.considered)} receipts: {fmt.count(rec.auto)} matched, "
                    f"{fmt.count(rec.suggested)} suggested, {fmt.count(rec.unmatched)} open",
                ],
                [
                    "bureaus",
                    "; ".join(
                        f"{b.bureau}: {fmt.count(b.paid_calls)} paid calls, {fmt.count(b.stored)} reports stored, "
                        f"{fmt.count(b.screened)} screened, {fmt.count(len(b.left_out))} left out"
                        for b in bur.bureaus
                    )
                    or "no bureau connector",
                ],
                [
                    "risk",
                    f"{fmt.count(rk.customers)} customers, {fmt.count(rk.flagged_customers)} flagged; "
                    f"{fmt.count(rk.raised)} flags raised, {fmt.count(rk.cleared)} cleared; "
                    f"{fmt.count(rk.band_changes)} band changes; "
                    f"{fmt.count(rk.collection_actions_due)} collection steps due",
                ],
                [
                    "push",
                    f"{fmt.count(pushed.delivered)} delivered, {fmt.count(pushed.failed)} failed, "
                    f"{fmt.count(pushed.pending)} pending",
                ],
            ],
        ),
    )
    failed_streams = [f"{r['connector']}/{r['stream']}" for r in synced if r["errors"]]
    problem = push_problem(pushed)
    bureau_problem = report_run(bur)
    if failed_streams or problem or bureau_problem:
        parts = [f"sync failed for {', '.join(failed_streams)}"] if failed_streams else []
        if bureau_problem:
            parts.append(f"bureaus: {bureau_problem}")
        fail("; ".join([*parts, *([problem] if problem else [])]))
