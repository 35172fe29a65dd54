"""What an operator checks: ``hub plugins`` (what is installed and loaded) and ``hub quarantine``
(records that failed mapping or validation)."""

from __future__ import annotations

from typing import Annotated

import typer

from hub import fmt
from hub.cli.common import app, emit, handled, load, out, session, shown, state, table


@app.command()
@handled
def plugins() -> None:
    """List loaded plugins, the hooks they implement, the commands they add and the connector types available."""
    from hub.cli.commands import command_plugins
    from hub.plugins import load_plugins

    config = load(required=False)
    host = load_plugins(config.plugins.allow, config.plugins.deny)
    types = host.connector_types()
    commands = command_plugins(config.plugins.allow, config.plugins.deny)
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
        "commands": [{"name": c.name, "module": c.value} for c in commands],
        "connector_types": {n: t.description for n, t in sorted(types.items())},
    }
    emit(
        data,
        table(
            "plugins",
            ["name", "distribution", "version", "hooks"],
            [[i.name, i.distribution or "-", i.version or "-", ", ".join(i.hooks)] for i in host.infos],
        ),
    )
    if state.json:
        return
    if commands:
        out.print(table("command plugins", ["name", "module"], [[c.name, c.value] for c in commands]))
    out.print(table("connector types", ["type", "description"], [[n, t.description] for n, t in sorted(types.items())]))


@app.command()
@handled
def quarantine(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
    show_all: Annotated[bool, typer.Option("--all", help="Include entries a later valid record resolved.")] = False,
) -> None:
    """Records that failed mapping or validation, with the reason and the raw record."""
    with session() as hub:
        rows, total = hub.quarantined(limit=limit, include_resolved=show_all)
    emit(
        {"quarantine": rows, "total": total},
        table(
            f"quarantine ({shown(len(rows), total)})",
            ["id", "connector", "stream", "external_id", "seen", "reason"],
            [
                [
                    r["id"],
                    r["connector"],
                    r["stream"],
                    r["external_id"] or "-",
                    fmt.count(r["occurrences"]),
                    r["reason"],
                ]
                for r in rows
            ],
            numeric=["seen"],
        ),
    )
