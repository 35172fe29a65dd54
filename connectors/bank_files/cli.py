"""``hub receipts import PATH...``: the bank-files plugin's command.

Listed under the ``hub.commands`` entry-point group, so the command line loads this module (and not
the connector with its parsers) to build itself.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from hub import cli as hubcli, hookimpl


def _import(
    paths: Annotated[list[str], typer.Argument(help="Statement files, or folders of them.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="auto (from content), camt, mt940, bai2, ofx or tabular.")
    ] = "auto",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and count only; store nothing.")] = False,
    connector: Annotated[
        str | None, typer.Option(help="The bank-files connector to import under (default: the only one).")
    ] = None,
) -> None:
    """Import bank statement files: per file the format, statements, receipts, totals and warnings."""
    from .importer import import_receipts

    with hubcli.session() as hub:
        reports = import_receipts(
            hub, paths, fmt=format, dry_run=dry_run, connector=connector, progress=hubcli.progress_factory()
        )
    rows = []
    for r in reports:
        for w in r.warnings:
            hubcli.err.print(f"[yellow]warning:[/yellow] {escape(f'{r.file}: {w}')}", highlight=False)
        if r.error:
            hubcli.err.print(f"[red]error:[/red] {escape(r.error)}", highlight=False)
        totals = ", ".join(f"{amount} {ccy}" for ccy, amount in r.totals.items())
        rows.append(
            [
                r.file,
                r.message_type or r.format or "-",
                r.statements,
                r.receipts,
                r.new,
                r.duplicates,
                totals or "-",
                len(r.warnings),
                "failed" if r.error else ("dry run" if r.dry_run else "ok"),
            ]
        )
    title = "receipts import (dry run: nothing stored)" if dry_run else "receipts import"
    hubcli.emit(
        {"receipts_import": [r.as_dict() for r in reports], "dry_run": dry_run},
        hubcli.table(
            title,
            ["file", "format", "statements", "receipts", "new", "duplicates", "total", "warnings", "result"],
            rows,
        ),
    )
    if any(r.error for r in reports):
        raise typer.Exit(1)


def _import_advices(
    paths: Annotated[list[str], typer.Argument(help="Advice files, or folders of them.")],
    format: Annotated[str, typer.Option("--format", "-f", help="auto (from content), remt or csv.")] = "auto",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and count only; store nothing.")] = False,
    connector: Annotated[
        str | None, typer.Option(help="The bank-files connector to import under (default: the only one).")
    ] = None,
) -> None:
    """Import remittance advices payers send apart from their payments (ISO 20022 remt.001, or CSV):
    per file the advices, the documents they list, how many are new and how many were held already.
    The next 'hub reconcile' reads each advice with the payment it describes."""
    from .advice import AdviceError, read_advices
    from .importer import _connector_config, expand

    rows: list[list[object]] = []
    reports: list[dict[str, object]] = []
    failed = False
    with hubcli.session() as hub:
        name, _ = _connector_config(hub, connector)
        for path in expand(paths):
            try:
                advices = read_advices(path, format)
            except AdviceError as exc:
                failed = True
                reports.append({"file": str(path), "error": str(exc)})
                hubcli.err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
                rows.append([str(path), "-", "-", "-", "-", "failed"])
                continue
            # A dry run reads and counts only: what is new is known by storing.
            new, held = (None, None) if dry_run else hub.store_advices(name, str(path), advices)
            documents = sum(len(a["documents"]) for a in advices)
            reports.append(
                {"file": str(path), "advices": len(advices), "documents": documents, "new": new, "held": held}
            )
            shown = ("-", "-", "dry run") if dry_run else (new, held, "ok")
            rows.append([str(path), len(advices), documents, *shown])
    title = "advices import (dry run: nothing stored)" if dry_run else "advices import"
    hubcli.emit(
        {"advices_import": reports, "dry_run": dry_run},
        hubcli.table(title, ["file", "advices", "documents", "new", "held already", "result"], rows),
    )
    if failed:
        raise typer.Exit(1)


def _list_advices(
    unlinked: Annotated[
        bool, typer.Option("--unlinked", help="Only the advices no receipt is linked to (yet).")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
) -> None:
    """The remittance advices held, latest payment date first: payer, amount, date, how many documents,
    and the receipt the next 'hub reconcile' reads each with (how it was linked), or none."""
    with hubcli.session() as hub:
        advices = hub.matches.advices(unlinked=unlinked, limit=limit)
    rows = [
        [
            a["number"],
            a["payer_name"] or a["payer_account"] or "-",
            f"{a['amount']} {a['currency']}" if a["amount"] is not None else a["currency"],
            a["payment_date"] or "-",
            a["documents"],
            a["receipt"] or "-",
            (a["linked_by"] or "").replace("_", " ") or "-",
        ]
        for a in advices
    ]
    title = "remittance advices without a receipt" if unlinked else "remittance advices"
    hubcli.emit(
        {"advices": advices},
        hubcli.table(title, ["advice", "payer", "amount", "date", "documents", "receipt", "linked by"], rows),
    )


@hookimpl
def hub_register_commands(cli: typer.Typer) -> None:
    receipts = typer.Typer(help="Receipts from bank statement files.", no_args_is_help=True)
    receipts.command("import")(hubcli.handled(_import))
    cli.add_typer(receipts, name="receipts")
    advices = typer.Typer(help="Remittance advices payers send apart from their payments.", no_args_is_help=True)
    advices.command("import")(hubcli.handled(_import_advices))
    advices.command("list")(hubcli.handled(_list_advices))
    cli.add_typer(advices, name="advices")
