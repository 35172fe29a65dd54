"""``hub outbox``: events waiting for delivery to the sinks, failed or dead-lettered; ``hub outbox replay``."""

from __future__ import annotations

from typing import Annotated

import typer

from hub import fmt
from hub.cli.common import By, actor, check_choice, emit, handled, out, session, state, table
from hub.codes import OUTBOX_STATUSES as STATUSES

outbox_app = typer.Typer(
    help="Events (flag, band, credit-limit changes) waiting for delivery to sinks, failed, or dead-lettered.",
    invoke_without_command=True,
)


@outbox_app.callback()
@handled
def outbox_show(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help=f"List rows with this status: {', '.join(STATUSES)}.")] = None,
    sink: Annotated[str | None, typer.Option(help="Only rows of this sink.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most rows listed per status.")] = 100,
) -> None:
    """Show outbox counts per sink and status, and the failed and dead rows with attempts and last error.

    Dead rows are in the dead-letter table: their id is a dead-letter id ('hub outbox replay --id').
    """
    if ctx.invoked_subcommand is not None:
        return
    check_choice("--status", status, STATUSES)
    shown = (status,) if status else ("failed", "not_linked", "dead")
    with session() as hub:
        view = hub.deliveries.view(shown, sink=sink, limit=limit)
    if state.json:
        emit({"summary": view.summary, "rows": [r for s in shown for r in view.rows[s]]})
        return
    counts: dict[str, dict[str, int]] = {}
    for s in view.summary:
        counts.setdefault(s["sink"], {})[s["status"]] = s["count"]
    out.print(
        table(
            "outbox",
            ["sink", *STATUSES],
            [[name, *(fmt.count(by_status.get(st, 0)) for st in STATUSES)] for name, by_status in counts.items()],
            numeric=STATUSES,
        )
    )
    if not counts:
        out.print("the outbox is empty")
    for st in shown:
        found = view.rows[st]
        if not found:
            continue
        if st == "dead":
            title, id_label, when_label, when_key = "dead letters", "dead-letter id", "died (UTC)", "died_at"
        elif st == "delivered":
            title, id_label, when_label, when_key = "delivered", "outbox id", "delivered (UTC)", "delivered_at"
        else:
            title, id_label, when_label, when_key = (
                st.replace("_", " "),
                "outbox id",
                "next attempt (UTC)",
                "next_attempt_at",
            )
        out.print(
            table(
                f"{title} (first {limit})" if len(found) >= limit else title,
                [id_label, "sink", "event_id", "kind", "attempts", when_label, "last error"],
                [
                    [
                        r["id"],
                        r["sink"],
                        r["event_id"],
                        r["kind"],
                        r["attempts"],
                        f"{r[when_key]:%Y-%m-%d %H:%M:%S}" if r.get(when_key) else "",
                        (r["last_error"] or "") + (" (permanent)" if r.get("permanent") else ""),
                    ]
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
    with session() as hub:
        stats = hub.deliveries.replay(sink=sink, ids=row_id, actor=actor(by))
    emit({"replayed": stats.total, **stats.as_dict()})
    if not state.json:
        out.print(
            f"{fmt.count(stats.dead_letters)} dead letter(s) and {fmt.count(stats.failed)} failed row(s) queued again"
        )
        if stats.already_queued:
            out.print(
                f"{fmt.count(stats.already_queued)} dead letter(s) dropped: the same event is already in the outbox"
            )


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")
