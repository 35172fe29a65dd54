"""``hub report --html FILE``: the portfolio as one self-contained HTML page (:mod:`hub.report`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub import fmt
from hub.cli.common import emit, handled, out, parse_date, session, state


def _report(
    html: Annotated[Path, typer.Option("--html", help="HTML file to write (folders are created).")],
    top: Annotated[int, typer.Option("--top", min=1, help="How many of the largest exposures to list.")] = 20,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Count collection steps due by this day (default: risk as_of, else today)."),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of the page: en or zh_CN (default: [report] language, else en)."),
    ] = None,
) -> None:
    """Write the last risk run as one self-contained HTML page that opens in any browser and prints well.

    Key figures in the base currency, ageing, risk bands, flags, largest exposures and groups, match rate, steps due.
    Run 'hub risk' first.
    """
    from hub.i18n import LOCALES

    day = parse_date(as_of)
    if lang is not None and lang not in LOCALES:
        raise typer.BadParameter(f"the report speaks {' or '.join(LOCALES)}, not {lang!r}", param_hint="--lang")
    with session() as hub:
        figures = hub.report(html, as_of=day, top=top, language=lang)
    path = html.resolve()
    base = figures.base_currency
    emit(
        {
            "file": str(path),
            "as_of": figures.as_of.isoformat(),
            "base_currency": base,
            "customers": len(figures.customers),
            "open": str(figures.open_base),
            "overdue": str(figures.overdue_base),
            "collection_steps_due": len(figures.due),
        }
    )
    if not state.json:
        out.print(
            f"report written to {path} ({fmt.count(len(figures.customers))} customers, "
            f"{fmt.money(figures.open_base, base)} open, {fmt.money(figures.overdue_base, base)} overdue, "
            f"as of {figures.as_of})",
            highlight=False,
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add ``hub report`` to the hub command line."""
    app.command("report")(handled(_report))
