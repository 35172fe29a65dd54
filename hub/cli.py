"""The ``hub`` command line (typer). Every command has ``--help``; failures exit non-zero with one line."""

from __future__ import annotations

import atexit
import csv
import datetime as dt
import functools
import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.markup import escape

from hub.app import Hub
from hub.config import load_config
from hub.errors import HubError
from hub.log import RedactingStream, configure_logging
from hub.plugins import PluginHost, load_plugins
from hub.store import LockBusy, describe_db_error, schema

# What only some commands use is imported by them (progress bars, tables, exposure's buckets), so
# that starting the command line stays cheap.
if TYPE_CHECKING:
    from rich.table import Table

    from hub.config import HubConfig
    from hub.outbox import PushStats

app = typer.Typer(
    help="Receivables integration hub: sync, reconcile, score and push.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
matches_app = typer.Typer(help="Allocations of receipts to invoices.", no_args_is_help=True)
exposure_app = typer.Typer(help="Exposure and risk per customer.", no_args_is_help=True)
outbox_app = typer.Typer(
    help="Events (flag, band, credit-limit changes) waiting for delivery to sinks, failed, or dead-lettered.",
    invoke_without_command=True,
)
app.add_typer(matches_app, name="matches")
app.add_typer(exposure_app, name="exposure")
app.add_typer(outbox_app, name="outbox")

# Every line the command line prints passes through a stream that replaces registered secrets (a
# server may echo a token back in the error body that ends up in the final "error:" line).
out = Console(file=cast(IO[str], RedactingStream("stdout")))
err = Console(file=cast(IO[str], RedactingStream("stderr")), soft_wrap=True)  # one error, one line: never wrapped
F = TypeVar("F", bound=Callable[..., Any])

#: Exit code of a command whose job is already running elsewhere (sysexits' EX_TEMPFAIL): a
#: scheduler can tell "try again later" from a failure.
EXIT_BUSY = 75


class State:
    config_path: Path | None = None
    json: bool = False
    log_level: str | None = None
    wait: float | None = None


state = State()


@app.callback()
def _root(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", envvar="HUB_CONFIG", help="Config file (default ./hub.toml).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON summaries.")] = False,
    log_level: Annotated[
        str | None, typer.Option(help="Log level: debug, info, warning, error (default: config's).")
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for the same job (sync of a connector, reconcile, risk...) running in another "
            "process, then give up with exit code 75 (default: the config's database.lock_wait_seconds).",
        ),
    ] = None,
) -> None:
    state.config_path = config
    state.json = json_output
    state.log_level = log_level
    state.wait = wait


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with one red line (secrets redacted) and a non-zero exit code."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def handled(fn: F) -> F:
    """Turn HubError (and any database error) into one red line and a non-zero exit code: 75 when
    the job is already running elsewhere, 1 otherwise."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LockBusy as exc:
            fail(str(exc), EXIT_BUSY)
        except HubError as exc:
            fail(str(exc))
        except sa.exc.SQLAlchemyError as exc:
            fail(describe_db_error(exc))

    return wrapper  # type: ignore[return-value]


def _config(required: bool = True) -> HubConfig:
    configure_logging(state.log_level or "warning")
    config = load_config(state.config_path, required=required)
    configure_logging(state.log_level or config.logging.level, config.logging.format)
    return config


def _waiting(job: str, holder: str | None) -> None:
    who = f" (held by {holder})" if holder else ""
    err.print(f"[yellow]waiting:[/yellow] {escape(job)} is already running{escape(who)}", highlight=False)


@contextmanager
def _hub() -> Iterator[Hub]:
    config = _config()
    hub = Hub(
        config,
        plugins=_loaded_plugins(config.plugins.allow, config.plugins.deny),
        lock_wait=state.wait,
        on_lock_wait=_waiting,
    )
    try:
        yield hub
    finally:
        hub.close()


class _RichProgress:
    """Adapts rich's progress bar to the sync engine's Progress protocol (only on a terminal)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self.task: Any = None

    def start(self, label: str, total: int | None) -> None:
        self.progress.start()
        self.task = self.progress.add_task(label, total=total)

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)

    def finish(self) -> None:
        self.progress.stop()


def _progress() -> Callable[[], _RichProgress] | None:
    return _RichProgress if err.is_terminal and not state.json else None


def _emit(data: Any, table: Table | None = None) -> None:
    if state.json:
        out.print_json(json.dumps(data, default=str))
    elif table is not None:
        out.print(table)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(
            c,
            justify="right"
            if c in {"read", "inserted", "updated", "unchanged", "quarantined", "closed", "count", "seconds", "value"}
            else "left",
        )
    for r in rows:
        table.add_row(*[str(x) for x in r])
    return table


# -- jobs ------------------------------------------------------------------------------------------


@app.command()
@handled
def init() -> None:
    """Create or upgrade the database schema (runs the migrations)."""
    with _hub() as hub:
        revision = hub.init()
        _emit({"database": hub.store.url.split("@")[-1], "revision": revision})
        if not state.json:
            out.print(f"database ready at revision {revision}")


def _sync(hub: Hub, connector: str | None, full_refresh: bool) -> list[dict[str, Any]]:
    stats = hub.sync(connector, full_refresh=full_refresh, progress=_progress())
    rows = [s.as_dict() for s in stats]
    for s in stats:
        for w in s.warnings:
            err.print(f"[yellow]warning:[/yellow] {escape(f'{s.connector}/{s.stream}: {w}')}", highlight=False)
        for e in s.errors:
            err.print(f"[red]error:[/red] {escape(f'{s.connector}/{s.stream}: {e}')}", highlight=False)
    return rows


@app.command()
@handled
def sync(
    connector: Annotated[str | None, typer.Option(help="Only this connector.")] = None,
    full_refresh: Annotated[bool, typer.Option(help="Ignore saved cursors and re-read everything.")] = False,
) -> None:
    """Pull records from every source (or one) into the store."""
    with _hub() as hub:
        rows = _sync(hub, connector, full_refresh)
    _emit(
        {"sync": rows},
        _table(
            "sync",
            ["connector", "stream", "read", "inserted", "updated", "unchanged", "quarantined", "closed", "seconds"],
            [
                [
                    r["connector"],
                    r["stream"],
                    r["read"],
                    r["inserted"],
                    r["updated"],
                    r["unchanged"],
                    r["quarantined"],
                    r["closed"],
                    f"{r['seconds']:.2f}",
                ]
                for r in rows
            ],
        ),
    )
    if any(r["errors"] for r in rows):
        raise typer.Exit(1)


@app.command()
@handled
def reconcile() -> None:
    """Match receipts to open invoices."""
    with _hub() as hub:
        stats = hub.reconcile().as_dict()
    _emit({"reconcile": stats}, _table("reconcile", ["what", "value"], [[k, v] for k, v in stats.items()]))


def _as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HubError(f"--as-of must be an ISO date (YYYY-MM-DD), got {value!r}") from None


@app.command()
@handled
def risk(
    as_of: Annotated[str | None, typer.Option(help="Age invoices as of this date (default today).")] = None,
) -> None:
    """Assess every customer: exposure, score and band, flags, promises, next collection step, credit limits.

    Flag, band and credit-limit changes are queued for the sinks ('hub push' delivers them).
    """
    with _hub() as hub:
        stats = hub.risk(_as_of(as_of)).as_dict()
    _emit({"risk": stats}, _table("risk", ["what", "value"], [[k, v] for k, v in stats.items()]))


def _push_problem(stats: PushStats) -> str | None:
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
    with _hub() as hub:
        stats = hub.push(sink)
    data = stats.as_dict()
    _emit(
        {"push": data},
        _table(
            "push",
            ["sink", "delivered", "failed", "dead", "not linked", "pending"],
            [[s.sink, s.delivered, s.failed, s.dead, s.not_linked, s.pending] for s in stats.sinks],
        ),
    )
    for s in stats.sinks:
        for e in s.errors[1:3]:
            err.print(f"[yellow]warning:[/yellow] {escape(f'{s.sink}: {e}')}", highlight=False)
    if (problem := _push_problem(stats)) is not None:
        fail(problem)


@app.command()
@handled
def run(
    as_of: Annotated[str | None, typer.Option(help="Age invoices as of this date (default today).")] = None,
    full_refresh: Annotated[bool, typer.Option(help="Ignore saved cursors when syncing.")] = False,
) -> None:
    """sync, resolve identities, reconcile, risk and push, in that order."""
    with _hub() as hub:
        sync_rows = _sync(hub, None, full_refresh)
        ident = hub.resolve_identities().as_dict()
        rec = hub.reconcile().as_dict()
        rk = hub.risk(_as_of(as_of)).as_dict()
        push_stats = hub.push()
        pushed = push_stats.as_dict()
    summary = {"sync": sync_rows, "identity": ident, "reconcile": rec, "risk": rk, "push": pushed}
    table = _table(
        "hub run",
        ["step", "result"],
        [
            [
                "sync",
                ", ".join(
                    f"{r['connector']}/{r['stream']}: +{r['inserted']} ~{r['updated']} "
                    f"={r['unchanged']} !{r['quarantined']}"
                    for r in sync_rows
                ),
            ],
            [
                "identity",
                f"{ident['linked']} customer records linked, {ident['proposed']} proposed for review",
            ],
            [
                "reconcile",
                f"{rec['considered']} receipts: {rec['auto']} auto, {rec['suggested']} suggested, "
                f"{rec['unmatched']} open",
            ],
            [
                "risk",
                f"{rk['customers']} customers, {rk['flagged_customers']} flagged; "
                f"{rk['raised']} flags raised, {rk['cleared']} cleared; {rk['band_changes']} band changes; "
                f"{rk['collection_actions_due']} collection steps due",
            ],
            ["push", f"{pushed['delivered']} delivered, {pushed['failed']} failed, {pushed['pending']} pending"],
        ],
    )
    _emit(summary, table)
    failed_streams = [f"{r['connector']}/{r['stream']}" for r in sync_rows if r["errors"]]
    problem = _push_problem(push_stats)
    if failed_streams or problem:
        parts = [f"sync failed for {', '.join(failed_streams)}"] if failed_streams else []
        fail("; ".join([*parts, *([problem] if problem else [])]))


# -- inspection --------------------------------------------------------------------------------------


@app.command()
@handled
def plugins() -> None:
    """List loaded plugins, the hooks they implement and the connector types available."""
    config = _config(required=False)
    host = _loaded_plugins(config.plugins.allow, config.plugins.deny) or load_plugins(
        config.plugins.allow, config.plugins.deny
    )
    types = host.connector_types()
    data = {
        "plugins": [
            {
                "name": i.name,
                "module": i.module,
                "distribution": i.distribution,
                "version": i.version,
                "hooks": list(i.hooks),
            }
            for i in host.infos
        ],
        "connector_types": {n: t.description for n, t in sorted(types.items())},
    }
    _emit(
        data,
        _table(
            "plugins",
            ["name", "distribution", "version", "hooks"],
            [[i.name, i.distribution or "-", i.version or "-", ", ".join(i.hooks)] for i in host.infos],
        ),
    )
    if not state.json:
        out.print(
            _table("connector types", ["type", "description"], [[n, t.description] for n, t in sorted(types.items())])
        )


@app.command()
@handled
def quarantine(
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 50,
    show_all: Annotated[bool, typer.Option("--all", help="Include entries a later valid record resolved.")] = False,
) -> None:
    """Records that failed mapping or validation, with the reason and the raw record."""
    with _hub() as hub:
        hub.store.check_ready()
        q = schema.quarantine
        with hub.store.connect() as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(
                        q.c.id,
                        q.c.connector,
                        q.c.stream,
                        q.c.external_id,
                        q.c.reason,
                        q.c.occurrences,
                        q.c.last_seen,
                        q.c.resolved_at,
                        q.c.raw,
                    )
                    .where(sa.true() if show_all else q.c.resolved_at.is_(None))
                    .order_by(q.c.id)
                    .limit(limit)
                )
            ]
    _emit(
        {"quarantine": rows},
        _table(
            f"quarantine ({len(rows)})",
            ["id", "connector", "stream", "external_id", "reason"],
            [[r["id"], r["connector"], r["stream"], r["external_id"] or "-", r["reason"]] for r in rows],
        ),
    )


def _check_format(fmt: str) -> None:
    if fmt != "csv":
        raise HubError(f"unsupported format {fmt!r}; only csv")


MATCH_COLUMNS = ["receipt_ref", "invoice_number", "amount", "status", "confidence", "customer_id"]


def _match_rows(hub: Hub, statuses: tuple[str, ...]) -> list[list[Any]]:
    a, r, i, c = schema.allocation, schema.receipt, schema.invoice, schema.customer
    customer = schema.invoice_customer_id
    query = (
        sa.select(r.c.bank_ref, r.c.external_id, i.c.number, a.c.amount, a.c.status, a.c.confidence, customer)
        .select_from(
            a.join(r, r.c.id == a.c.receipt_id).join(i, i.c.id == a.c.invoice_id).outerjoin(c, schema.invoice_customer)
        )
        .where(a.c.status.in_(statuses))
        .order_by(r.c.id, a.c.rank, a.c.id)
    )
    with hub.store.connect() as conn:
        return [
            [ref or ext, num, amount, status, f"{conf:.3f}", cust]
            for ref, ext, num, amount, status, conf, cust in conn.execute(query)
        ]


@matches_app.command("export")
@handled
def matches_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="Output format.")] = "csv",
) -> None:
    """Write one row per allocation (auto, suggested, confirmed)."""
    _check_format(fmt)
    with _hub() as hub:
        hub.store.check_ready()
        rows = _match_rows(hub, ("auto", "suggested", "confirmed"))
    _write_csv(output, MATCH_COLUMNS, rows)
    _emit({"rows": len(rows), "file": str(output)})
    if not state.json:
        out.print(f"{len(rows)} allocations written to {output}")


@matches_app.command("list")
@handled
def matches_list(
    status: Annotated[str | None, typer.Option(help="auto, suggested, confirmed or rejected.")] = None,
    limit: Annotated[int, typer.Option()] = 50,
) -> None:
    """Show allocations."""
    with _hub() as hub:
        hub.store.check_ready()
        rows = _match_rows(hub, (status,) if status else ("auto", "suggested", "confirmed"))[:limit]
    _emit({"matches": [dict(zip(MATCH_COLUMNS, r, strict=True)) for r in rows]}, _table("matches", MATCH_COLUMNS, rows))


def _actor(by: str | None) -> str:
    if by:
        return by
    import getpass

    try:
        return os.environ.get("HUB_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


By = Annotated[str | None, typer.Option("--by", help="Who acts (default: $HUB_USER or the login name).")]
Note = Annotated[str | None, typer.Option("--note", help="Why, for the audit log.")]


def _action(result: Any) -> None:
    data = result.as_dict()
    rows = [[c["invoice"], c["amount"], c["kind"], c["status"]] for c in data["changed"]]
    _emit({"matches": data}, _table(f"{data['action']} {data['receipt_ref']}", ["invoice", "amount", "kind", "status"],
                                    rows))
    if not state.json:
        for learned in data["learned"]:
            out.print(f"learned: {learned['kind']} {learned['value']!r} belongs to {learned['customer']}")
        if data["action"] == "confirm" and result.unapplied:
            out.print(f"unapplied: {data['unapplied']}")


@matches_app.command("confirm")
@handled
def matches_confirm(
    receipt_ref: Annotated[str, typer.Argument(help="The receipt (receipt_ref of 'hub matches list').")],
    invoices: Annotated[list[str] | None, typer.Argument(help="Invoice numbers; default: the best proposal.")] = None,
    by: By = None,
    note: Note = None,
) -> None:
    """Confirm a receipt's proposal, or allocate it to the invoices named (in that order)."""
    from hub.recon import MatchDesk

    with _hub() as hub:
        hub.store.check_ready()
        _action(MatchDesk(hub.store).confirm(receipt_ref, invoices or (), actor=_actor(by), note=note))


@matches_app.command("reject")
@handled
def matches_reject(
    receipt_ref: Annotated[str, typer.Argument(help="The receipt (receipt_ref of 'hub matches list').")],
    invoices: Annotated[list[str] | None, typer.Argument(help="Only proposals naming these invoices.")] = None,
    by: By = None,
    note: Note = None,
) -> None:
    """Reject a receipt's proposals; the same pairing is never proposed again."""
    from hub.recon import MatchDesk

    with _hub() as hub:
        hub.store.check_ready()
        _action(MatchDesk(hub.store).reject(receipt_ref, invoices or (), actor=_actor(by), note=note))


@matches_app.command("unmatch")
@handled
def matches_unmatch(
    receipt_ref: Annotated[str, typer.Argument(help="The receipt (receipt_ref of 'hub matches list').")],
    by: By = None,
    note: Note = None,
) -> None:
    """Undo a receipt's automatic or confirmed allocations; its invoices are open again."""
    from hub.recon import MatchDesk

    with _hub() as hub:
        hub.store.check_ready()
        _action(MatchDesk(hub.store).unmatch(receipt_ref, actor=_actor(by), note=note))


@matches_app.command("explain")
@handled
def matches_explain(
    receipt_ref: Annotated[str, typer.Argument(help="The receipt (receipt_ref of 'hub matches list').")],
) -> None:
    """Why a receipt was matched (or not): every proposal with its evidence, and who did what."""
    from hub.recon import MatchDesk

    with _hub() as hub:
        hub.store.check_ready()
        data = MatchDesk(hub.store).explain(receipt_ref)
    if state.json:
        _emit(data)
        return
    r = data["receipt"]
    out.print(f"[bold]receipt {escape(r['ref'])}[/bold]: {r['amount']} {r['currency']} on {r['booking_date']} "
              f"from {escape(str(r['payer_name']))} ({escape(str(r['payer_account']))}); status {r['match_status']}")
    if r["remittance"]:
        out.print(f"  text: {escape(r['remittance'])}")
    if not data["allocations"]:
        out.print("  no proposal: no customer identified and no invoice named, or nothing fits the amount")
    # The lines of one proposal share its rank, method and reasons: show those once per proposal.
    proposals: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for a in data["allocations"]:
        proposals.setdefault((a["rank"], a["method"], tuple(a["reasons"])), []).append(a)
    for (rank, method, reasons), lines in proposals.items():
        statuses = sorted({a["status"] for a in lines})
        out.print(f"[bold]proposal {rank}[/bold] ({', '.join(statuses)}) by {method}, "
                  f"confidence {lines[0]['confidence']:.4f}:")
        for a in lines:
            out.print(f"  {a['invoice']}  {a['amount']}  {a['kind']}  {a['status']}")
        for reason in reasons:
            out.print(f"    {escape(reason)}")
        for ev in lines[0]["events"]:
            out.print(f"    [dim]{ev['at']:%Y-%m-%d %H:%M} {ev['status']} by {escape(ev['actor'])}"
                      + (f": {escape(ev['note'])}" if ev["note"] else "") + "[/dim]")


def _fmt(value: Any, places: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, places or ".4f")
    return str(value)


def exposure_columns(labels: list[str]) -> list[str]:
    """Columns of ``hub exposure export``: the issue's list first, then the rest of the assessment."""
    return [
        *("customer_id", "currency", "open", "overdue"),
        *labels,
        *("limit", "utilisation", "score", "band", "flags", "name", "group_id", "unapplied_cash", "open_orders"),
        *("secured", "net_exposure", "dso", "avg_days_late", "days_late_trend", "payments_counted"),
        *("recommended_limit", "base_currency", "open_base", "next_action", "next_action_due", "next_action_owner"),
        *("fx_rates", "unconverted"),
    ]


def exposure_row(x: Any, labels: list[str]) -> list[Any]:
    action = x.next_action or {}
    return (
        [x.customer_id, x.currency, x.open_amount, x.overdue_amount]
        + [x.buckets.get(b, "0.00") for b in labels]
        + [_fmt(x.credit_limit), _fmt(x.utilisation), _fmt(x.score, ".1f"), x.band or "", " ".join(x.flags)]
        + [x.name or "", x.group_id or "", x.unapplied_cash, x.open_orders, x.secured_amount, x.net_exposure]
        + [_fmt(x.dso, ".1f"), _fmt(x.avg_days_late, ".1f"), _fmt(x.days_late_trend, ".1f"), x.payments_counted]
        + [_fmt(x.recommended_limit), x.base_currency or "", x.open_base]
        + [action.get("action", ""), action.get("due_on", ""), action.get("owner", "")]
        + [json.dumps(x.fx_rates or {}, sort_keys=True) if x.fx_rates else ""]
        + [json.dumps(x.unconverted or {}, sort_keys=True) if x.unconverted else ""]
    )


GROUP_COLUMNS = ["group_id", "currency", "members", "open", "overdue", "limit", "utilisation", "open_orders",
                 "secured", "net_exposure", "unconverted"]


@exposure_app.command("export")
@handled
def exposure_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="Output format.")] = "csv",
    groups: Annotated[bool, typer.Option("--groups", help="One row per group (parent and subsidiaries).")] = False,
) -> None:
    """Write one row per customer (or group): open, overdue, ageing buckets, limit, score, band, flags and more."""
    _check_format(fmt)
    with _hub() as hub:
        from hub.risk.exposure import bucket_labels

        hub.store.check_ready()
        labels = bucket_labels(hub.config.risk.buckets)
        with hub.store.connect() as conn:
            if groups:
                g = schema.exposure_group
                header = GROUP_COLUMNS[:5] + labels + GROUP_COLUMNS[5:]
                rows = [
                    [x.group_id, x.currency, x.members, x.open_amount, x.overdue_amount]
                    + [x.buckets.get(b, "0.00") for b in labels]
                    + [_fmt(x.credit_limit), _fmt(x.utilisation), x.open_orders, x.secured_amount, x.net_exposure,
                       json.dumps(x.unconverted, sort_keys=True) if x.unconverted else ""]
                    for x in conn.execute(sa.select(g).order_by(g.c.group_id))
                ]
            else:
                e = schema.exposure
                header = exposure_columns(labels)
                rows = [exposure_row(x, labels) for x in conn.execute(sa.select(e).order_by(e.c.customer_id))]
    _write_csv(output, header, rows)
    _emit({"rows": len(rows), "file": str(output)})
    if not state.json:
        out.print(f"{len(rows)} {'groups' if groups else 'customers'} written to {output}")


@exposure_app.command("show")
@handled
def exposure_show(customer: Annotated[str, typer.Argument(help="Canonical customer id.")]) -> None:
    """One customer's exposure, score with every signal's contribution, flags and next collection step."""
    with _hub() as hub:
        from hub.risk.exposure import bucket_labels

        hub.store.check_ready()
        labels = bucket_labels(hub.config.risk.buckets)
        e, f = schema.exposure, schema.risk_flag
        with hub.store.connect() as conn:
            x = conn.execute(sa.select(e).where(e.c.customer_id == customer)).first()
            if x is None:
                raise HubError(f"no exposure for customer {customer!r}: unknown id, or run 'hub risk' first")
            flags = conn.execute(
                sa.select(f.c.code, f.c.reason, f.c.version, f.c.changed_at)
                .where(f.c.customer_id == customer, f.c.active.is_(True))
                .order_by(f.c.code)
            ).all()
    data = {
        **{k: v for k, v in x._mapping.items() if k not in ("signals", "flags")},
        "signals": x.signals,
        "flags": [dict(r._mapping) for r in flags],
    }
    if state.json:
        _emit(data)
        return
    ccy = x.currency
    out.print(f"[bold]{escape(customer)}[/bold] {escape(x.name or '')}  as of {x.as_of}"
              + (f"  group {escape(x.group_id)}" if x.group_id else ""))
    out.print(f"open {x.open_amount} {ccy}, overdue {x.overdue_amount} {ccy}; orders {x.open_orders}, "
              f"unapplied cash {x.unapplied_cash}, secured {x.secured_amount}; net exposure {x.net_exposure} {ccy}")
    limit = f"{x.credit_limit} {ccy} ({x.utilisation:.0%} used)" if x.credit_limit is not None else "none"
    out.print(f"credit limit {limit}; recommended {_fmt(x.recommended_limit) or '-'}")
    out.print(_table("ageing", labels, [[x.buckets.get(b, "0.00") for b in labels]]))
    out.print(f"DSO {_fmt(x.dso, '.0f') or '-'} days; average days late {_fmt(x.avg_days_late, '.1f') or '-'} "
              f"over {x.payments_counted} payments (trend {_fmt(x.days_late_trend, '+.1f') or '-'})")
    out.print(f"[bold]score {x.score:g}, band {x.band}[/bold] (100 minus each signal's points):")
    for sig in x.signals:
        out.print(f"  -{sig['points']:g}  {escape(sig['signal'])}: {escape(sig['reason'])}")
    for flag in flags:
        out.print(f"  [red]{flag.code}[/red] v{flag.version}: {escape(flag.reason)}")
    na = x.next_action or {}
    if na.get("action"):
        out.print(f"next collection step: {escape(str(na['action']))} by {escape(str(na.get('owner')))}, "
                  f"due {na.get('due_on')}: {escape(str(na.get('reason', '')))}")
    elif na:
        out.print(f"collections: {escape(str(na.get('reason', '')))}")


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    except OSError as exc:
        raise HubError(f"cannot write {path}: {exc.strerror}") from None


@outbox_app.callback()
@handled
def outbox_show(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="List rows with this status: pending, failed, dead or delivered.")
    ] = None,
    sink: Annotated[str | None, typer.Option(help="Only rows of this sink.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most rows listed per status.")] = 100,
) -> None:
    """Show outbox counts per sink and status, and the failed and dead rows with attempts and last error.

    Dead rows are in the dead-letter table: their id is a dead-letter id ('hub outbox replay --id').
    """
    if ctx.invoked_subcommand is not None:
        return
    from hub.outbox import STATUSES

    if status is not None and status not in STATUSES:
        raise HubError(f"--status must be one of {', '.join(STATUSES)}, got {status!r}")
    with _hub() as hub:
        hub.store.check_ready()
        ob = hub.outbox()
        summary = ob.summary()
        shown = (status,) if status else ("failed", "not_linked", "dead")
        rows = {s: ob.rows(s, limit, sink=sink) for s in shown}
    if sink:
        summary = [s for s in summary if s["sink"] == sink]
    if state.json:
        _emit({"summary": summary, "rows": [r for s in shown for r in rows[s]]})
        return
    counts: dict[str, dict[str, int]] = {}
    for s in summary:
        counts.setdefault(s["sink"], {})[s["status"]] = s["count"]
    out.print(
        _table(
            "outbox",
            ["sink", *STATUSES],
            [[name, *(by_status.get(st, 0) for st in STATUSES)] for name, by_status in counts.items()],
        )
    )
    if not counts:
        out.print("the outbox is empty")
    for st in shown:
        found = rows[st]
        if not found:
            continue
        if st == "dead":
            title, id_label, when_label, when_key = "dead letters", "dead-letter id", "died (UTC)", "died_at"
        elif st == "delivered":
            title, id_label, when_label, when_key = "delivered", "outbox id", "delivered (UTC)", "delivered_at"
        else:
            title, id_label, when_label, when_key = st, "outbox id", "next attempt (UTC)", "next_attempt_at"
        out.print(
            _table(
                f"{title} (first {limit})" if len(found) >= limit else title,
                [id_label, "sink", "event_id", "kind", "attempts", when_label, "last error"],
                [
                    [r["id"], r["sink"], r["event_id"], r["kind"], r["attempts"],
                     f"{r[when_key]:%Y-%m-%d %H:%M:%S}" if r.get(when_key) else "",
                     (r["last_error"] or "") + (" (permanent)" if r.get("permanent") else "")]
                    for r in found
                ],
            )
        )


@outbox_app.command("replay")
@handled
def outbox_replay(
    sink: Annotated[str | None, typer.Option(help="Only this sink's dead letters and failed rows.")] = None,
    row_id: Annotated[
        list[int] | None,
        typer.Option(
            "--id",
            help="Only these dead letters, by dead-letter id (the id column of 'hub outbox --status dead'; "
            "not outbox row ids). Failed rows are then left as they are.",
        ),
    ] = None,
    by: By = None,
) -> None:
    """Queue dead letters again (attempts reset to 0) and make failed rows due now; 'hub push' delivers them.

    Without --id, every dead letter (of --sink) moves back and every failed row is retried at the next push.

    The audit log records who replayed what, and how many rows moved.
    """
    with _hub() as hub:
        hub.store.check_ready()
        ob = hub.outbox()
        # (the config's names, not the sinks themselves: building them would need their secrets)
        known = set(hub.config.connectors) | {s["sink"] for s in ob.summary()}
        if sink and sink not in known:
            have = ", ".join(sorted(known)) or "none"
            raise HubError(f"no sink named {sink!r} in the config or the outbox; have: {have}")
        stats = ob.replay(sink=sink, ids=row_id, actor=_actor(by))
    _emit({"replayed": stats.total, **stats.as_dict()})
    if not state.json:
        out.print(f"{stats.dead_letters} dead letter(s) and {stats.failed} failed row(s) queued again")
        if stats.already_queued:
            out.print(f"{stats.already_queued} dead letter(s) dropped: the same event is already in the outbox")


# -- demo ----------------------------------------------------------------------------------------------

DEMO_CONFIG = """\
# The demo's workspace: a sample book written by 'hub demo' (hub/sample.py), dated from the day it runs.
[database]
url = "sqlite:///hub.db"

[connectors.erp]
type = "csv"
customers = "data/customers.csv"
invoices = "data/invoices.csv"
orders = "data/orders.csv"
guarantees = "data/guarantees.csv"
collections = "data/collections.csv"

[connectors.bank]
type = "bank-files"
path = "data/statements/"

[connectors.flags]
type = "json-file"
path = "out/flags.jsonl"

[fx]
base = "EUR"
rates = {rates}
"""


@app.command()
@handled
def demo(
    workspace: Annotated[
        Path | None, typer.Option(help="Keep the demo here (run it again to see the book as it stands).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Play the demo as of this date (default today): the sample is dated from it.")
    ] = None,
) -> None:
    """Run the whole flow on a sample book dated from today, and show where the book stands."""
    from hub.sample import RATES, build_sample

    temporary = workspace is None
    base = workspace or Path(tempfile.mkdtemp(prefix="hub-demo-"))
    today = _as_of(as_of) or dt.date.today()
    anchor = base / "data" / "sample-date.txt"  # a workspace run again keeps its book, and ages
    try:
        built = dt.date.fromisoformat(anchor.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        built = today
    build_sample(base / "data", built)
    anchor.write_text(built.isoformat(), encoding="utf-8")
    rates = "{ " + ", ".join(f'{ccy} = "{rate}"' for ccy, rate in sorted(RATES.items())) + " }"
    (base / "hub.toml").write_text(DEMO_CONFIG.replace("{rates}", rates), encoding="utf-8")
    state.config_path = base / "hub.toml"
    with _hub() as hub:
        hub.init()
        sync_rows = _sync(hub, None, False)
        hub.resolve_identities()
        rec = hub.reconcile()
        rk = hub.risk(today)
        pushed = hub.push()
        report = hub.report(base / "report.html", as_of=today)
        book = hub.book_state()
        flags = hub.active_flags()
    receipts = sum(r["inserted"] for r in sync_rows if r["stream"] == "receipts")
    flags_file = base / "out" / "flags.jsonl"
    summary = {
        "workspace": str(base),
        "temporary": temporary,
        "as_of": today.isoformat(),
        "sample_dated": built.isoformat(),
        "receipts_imported": receipts,
        "auto_matched": rec.auto,
        "suggested": rec.suggested,
        "left_open": rec.unmatched,
        "book_receipts": book.receipts,
        "customers": rk.customers,
        "flagged_customers": rk.flagged_customers,
        "flags": rk.flag_counts,
        "bands": rk.band_counts,
        "collection_steps_due": rk.collection_actions_due,
        "pending_limit_approvals": book.pending_limits,
        "unconverted": {ccy: str(amount) for ccy, amount in book.unconverted.items()},
        "events_written": pushed.delivered,
        "flags_file": str(flags_file),
        "report": str(base / "report.html"),
    }
    if state.json:
        _emit(summary)
        return
    in_book = book.receipts
    out.print(
        _table(
            "hub demo: this run",
            ["what", "value"],
            [
                ["receipts imported", receipts],
                ["matched automatically", rec.auto],
                ["suggested for review", rec.suggested],
                ["left open", rec.unmatched],
                ["flags raised / cleared", f"{rk.raised} / {rk.cleared}"],
                ["flag, band and limit changes written", f"{pushed.delivered} to {flags_file}"],
            ],
        )
    )
    out.print(
        _table(
            "where the book stands",
            ["what", "value"],
            [
                ["customer payments in the book",
                 f"{sum(in_book.values())}: {in_book['matched']} matched, {in_book['suggested']} suggested "
                 f"for review, {in_book['open']} open"],
                ["customers scored", rk.customers],
                ["risk bands", ", ".join(f"{b} {n}" for b, n in sorted(rk.band_counts.items()))],
                ["customers flagged", rk.flagged_customers],
                ["collection steps due", rk.collection_actions_due],
                ["credit limits waiting for approval", book.pending_limits],
                ["report", f"{base / 'report.html'} ({len(report.customers)} customers)"],
            ],
        )
    )
    if book.unconverted:
        amounts = ", ".join(f"{amount:,.2f} {ccy}" for ccy, amount in sorted(book.unconverted.items()))
        err.print(f"[bold yellow]warning:[/bold yellow] {book.unconverted_customers} customers' totals leave out "
                  f"{amounts}: no exchange rate (add it under [fx] rates)", highlight=False)
    per_code: dict[str, int] = {}
    shown = []
    for customer, code, reason in flags:  # a few examples of every flag, not ten of the commonest
        per_code[code] = per_code.get(code, 0) + 1
        if per_code[code] <= 2:
            shown.append([customer, code, reason])
    if shown:
        title = f"flags in force: {', '.join(f'{c} {n}' for c, n in per_code.items())} (examples)"
        out.print(_table(title, ["customer", "flag", "why"], shown))
    cfg = base / "hub.toml"
    kept = "a temporary folder: delete it when done" if temporary else "kept: run 'hub demo' on it again later"
    out.print(f"workspace: {base} ({kept}); config {cfg}")
    out.print(f"next: hub -c {cfg} matches list --status suggested, then hub -c {cfg} matches explain RECEIPT_REF;")
    out.print(f"      hub -c {cfg} collections due; hub -c {cfg} exposure show CUSTOMER;")
    if book.pending_limits:
        out.print(f"      hub -c {cfg} limits list --status pending ({book.pending_limits} waiting for approval);")
    out.print(f"      open {base / 'report.html'} in a browser")


# What plugin commands (``hub_register_commands``) use, so they read the same config and print,
# fail and report progress the same way as the built-in ones.
session = _hub
emit = _emit
table = _table
progress_factory = _progress


_core_registered = False


def register_core_commands() -> None:
    """Add the core's command groups kept in their own modules (collections, limits, report); once.

    Called by :func:`main`, not at import: those modules import this one for its helpers.
    """
    global _core_registered
    if _core_registered:
        return
    _core_registered = True
    from hub import cli_collections, cli_credit, cli_customers, cli_report

    for module in (cli_collections, cli_credit, cli_customers, cli_report):
        module.register(app)


def _register_plugin_commands() -> tuple[list[str] | None, list[str], PluginHost] | None:
    """Let plugins add sub-commands (``hub_register_commands``) before the command line is parsed.

    The plugin allow/deny lists come from the config named by ``HUB_CONFIG`` or ``./hub.toml``; a
    config that cannot be read is reported by the command that needs it, not here. Returns the
    allow and deny lists and the plugins loaded, or ``None`` when that config could not be read.
    """
    try:
        config = load_config(required=False)
        host = load_plugins(config.plugins.allow, config.plugins.deny)
    except HubError:
        return None
    host.hook.hub_register_commands(cli=app)
    return config.plugins.allow, config.plugins.deny, host


# The plugins :func:`main` loaded to build the command line, with the allow and deny lists they were
# loaded for: the command it runs uses them again when its config names the same lists, instead of
# loading every plugin a second time. Only while :func:`main` runs.
_main_plugins: tuple[list[str] | None, list[str], PluginHost] | None = None


def _loaded_plugins(allow: list[str] | None, deny: list[str]) -> PluginHost | None:
    if _main_plugins is not None and _main_plugins[:2] == (allow, deny):
        return _main_plugins[2]
    return None


def main() -> None:
    global _main_plugins
    register_core_commands()
    loaded = _register_plugin_commands()
    # ``--json`` belongs to ``hub`` itself; accept it after the command too (``hub plugins --json``).
    args = sys.argv[1:]
    if "--json" in args[1:] and "--" not in args:
        args = ["--json", *(a for a in args if a != "--json")]
    _main_plugins = loaded
    try:
        app(args=args)
    finally:
        _main_plugins = None


def entry() -> None:
    """The ``hub`` command: :func:`main`, then a quick exit.

    Why: tearing the interpreter down (freeing every module and object one at a time) takes about a
    tenth of a second after the work is done and its output written. The exit functions still run
    (logging, multiprocessing, temporary directories), other threads are waited for, and the hub has
    closed its database connections; only that teardown is skipped.
    """
    try:
        main()
        code: int = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # a message: printed as the interpreter would
            print(exc.code, file=sys.stderr)
            code = 1
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    # Run the importable ``hub.cli`` module, not this ``__main__`` copy of it: plugin commands use
    # ``hub.cli``'s state (``--json``, ``--config``) and helpers.
    from hub.cli import entry as _entry

    _entry()
