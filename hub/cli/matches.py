"""``hub matches ...``: the allocations of receipts to invoices, and what finance does with them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hub import fmt
from hub.cli.common import (
    By,
    Note,
    actor,
    check_choice,
    check_format,
    emit,
    handled,
    out,
    session,
    shown,
    state,
    table,
    write_csv,
)
from hub.codes import MATCH_STATUSES as STATUSES

if TYPE_CHECKING:
    from hub.recon import ActionResult

matches_app = typer.Typer(help="Allocations of receipts to invoices.", no_args_is_help=True)

#: Columns of ``hub matches export`` (and the keys of ``hub matches list --json``).
MATCH_COLUMNS = ["receipt_ref", "invoice_number", "amount", "currency", "kind", "status", "confidence", "customer_id"]
Receipt = Annotated[str, typer.Argument(help="The receipt (receipt_ref of 'hub matches list').")]

#: How a person reads an allocation's kind: a bank fee written off is not a second payment.
KIND_LABEL = {"payment": "payment", "write_off": "fee written off", "credit_note": "credit note deducted"}


def _export_row(r: dict[str, Any]) -> list[Any]:
    return [
        r["receipt_ref"],
        r["invoice_number"],
        r["amount"],
        r["currency"],
        r["kind"],
        r["status"],
        f"{r['confidence']:.3f}",
        r["customer_id"],
    ]


@matches_app.command("export")
@handled
def matches_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt_name: Annotated[str, typer.Option("--format", help="Output format.")] = "csv",
) -> None:
    """Write one row per allocation (auto, suggested, confirmed): amount, currency, kind (payment,
    write_off or credit_note)."""
    check_format(fmt_name)
    with session() as hub:
        rows, _ = hub.matches.rows()
    write_csv(output, MATCH_COLUMNS, [_export_row(r) for r in rows])
    emit({"rows": len(rows), "file": str(output)})
    if not state.json:
        out.print(f"{fmt.count(len(rows))} allocations written to {output}")


@matches_app.command("list")
@handled
def matches_list(
    status: Annotated[str | None, typer.Option(help=f"{', '.join(STATUSES)} (default: the first three).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
) -> None:
    """Show allocations: receipt, invoice, amount and currency, payment or fee written off, status, confidence."""
    check_choice("--status", status, STATUSES)
    with session() as hub:
        rows, total = hub.matches.rows((status,) if status else hub.matches.CURRENT, limit=limit)
    what = f"{status} matches" if status else "matches"
    emit(
        {"matches": [dict(zip(MATCH_COLUMNS, _export_row(r), strict=True)) for r in rows], "total": total},
        table(
            f"{what} ({shown(len(rows), total)})",
            ["receipt", "invoice", "amount", "kind", "status", "confidence", "customer"],
            [
                [
                    r["receipt_ref"],
                    r["invoice_number"],
                    fmt.money(r["amount"], r["currency"]),
                    KIND_LABEL.get(r["kind"], r["kind"]),
                    r["status"],
                    fmt.share(r["confidence"], 1),
                    r["customer_id"],
                ]
                for r in rows
            ],
            numeric=["amount", "confidence"],
            caption=f"{fmt.count(total - len(rows))} more: raise --limit or use 'hub matches export'"
            if len(rows) < total
            else None,
        ),
    )


def _action(result: ActionResult) -> None:
    data = result.as_dict()
    emit(
        {"matches": data},
        table(
            f"{data['action']} {data['receipt_ref']}",
            ["invoice", "amount", "kind", "status"],
            [
                [c["invoice"], fmt.money(c["amount"]), KIND_LABEL.get(c["kind"], c["kind"]), c["status"]]
                for c in data["changed"]
            ],
            numeric=["amount"],
        ),
    )
    if not state.json:
        for learned in data["learned"]:
            out.print(
                f"learned: {learned['value']} pays for {learned['customer']}"
                if learned["kind"] == "payer"
                else f"learned: {learned['kind']} {learned['value']!r} belongs to {learned['customer']}",
                highlight=False,
            )
        if data["action"] == "confirm" and result.unapplied:
            out.print(f"unapplied: {fmt.money(result.unapplied)}")


@matches_app.command("confirm")
@handled
def matches_confirm(
    receipt_ref: Receipt,
    invoices: Annotated[
        list[str] | None,
        typer.Argument(help="Invoice numbers (SOURCE:NUMBER when two ERPs share one); default: the best proposal."),
    ] = None,
    by: By = None,
    note: Note = None,
) -> None:
    """Confirm a receipt's proposal, or allocate it to the invoices named (in that order)."""
    with session() as hub:
        _action(hub.matches.confirm(receipt_ref, invoices or (), actor=actor(by), note=note))


@matches_app.command("reject")
@handled
def matches_reject(
    receipt_ref: Receipt,
    invoices: Annotated[
        list[str] | None,
        typer.Argument(help="Only proposals naming these invoices (a number, or SOURCE:NUMBER for one ERP's)."),
    ] = None,
    by: By = None,
    note: Note = None,
) -> None:
    """Reject a receipt's proposals; the same pairing is never proposed again."""
    with session() as hub:
        _action(hub.matches.reject(receipt_ref, invoices or (), actor=actor(by), note=note))


@matches_app.command("unmatch")
@handled
def matches_unmatch(receipt_ref: Receipt, by: By = None, note: Note = None) -> None:
    """Undo a receipt's automatic or confirmed allocations; its invoices are open again."""
    with session() as hub:
        _action(hub.matches.unmatch(receipt_ref, actor=actor(by), note=note))


@matches_app.command("forget")
@handled
def matches_forget(
    customer: Annotated[str, typer.Argument(help="The customer (canonical id, as 'hub matches list' shows).")],
    fee: Annotated[
        list[str] | None, typer.Option("--fee", help="A learned fee size to forget, e.g. 12.50 (repeatable).")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="A learned payer account (repeatable).")
    ] = None,
    name: Annotated[list[str] | None, typer.Option("--name", help="A learned payer name (repeatable).")] = None,
    payer: Annotated[
        list[str] | None,
        typer.Option("--payer", help="A customer learned to pay for this one (canonical id, repeatable)."),
    ] = None,
    numbers: Annotated[
        bool,
        typer.Option("--numbers", help="How its payers write its invoice numbers (the sequence number alone)."),
    ] = False,
    by: By = None,
    note: Note = None,
) -> None:
    """Forget what matches taught the hub about a customer: fee sizes, payer accounts, names, the customers that
    pay for it, how its payers write its invoice numbers (all, if none named)."""
    from decimal import Decimal, InvalidOperation

    try:
        fees = [Decimal(f) for f in fee or ()]
    except InvalidOperation:
        raise typer.BadParameter(f"--fee must be amounts, got {fee}") from None
    with session() as hub:
        done = hub.matches.forget(
            customer,
            fees=fees,
            accounts=account or (),
            names=name or (),
            payers=payer or (),
            numbers=numbers,
            actor=actor(by),
            note=note,
        )
    emit(
        {"forget": done},
        table(
            f"forgotten about {done['customer']}",
            ["learned", "value"],
            [[x["kind"], x["value"]] for x in done["forgotten"]],
        ),
    )


def _proposals(allocations: Sequence[dict[str, Any]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """The allocations grouped by proposal: the lines of one share its rank, method and reasons."""
    found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for a in allocations:
        found.setdefault((a["rank"], a["method"], tuple(a["reasons"])), []).append(a)
    return found


@matches_app.command("explain")
@handled
def matches_explain(
    receipt_ref: Receipt,
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the evidence: en or zh_CN (the rest stays English).")
    ] = "en",
    considered: Annotated[
        bool,
        typer.Option(
            "--considered",
            help="For an open receipt, also what the matchers weigh now, below the suggestion threshold too "
            "(reads the whole open book, as a run does; stores nothing).",
        ),
    ] = False,
) -> None:
    """Why a receipt was matched (or not): every proposal with its evidence, how it adds up, and who did what."""
    from hub.i18n import LOCALES

    if lang not in LOCALES:
        raise typer.BadParameter(f"the evidence is said in {' or '.join(LOCALES)}, not {lang!r}", param_hint="--lang")
    with session() as hub:
        data = hub.matches.explain(receipt_ref, locale=lang, considered=considered)
    if state.json:
        emit(data)
        return
    r = data["receipt"]
    ccy = r["currency"]
    out.print(
        f"[bold]receipt {escape(r['ref'])}[/bold]: {fmt.money(r['amount'], ccy)} on {r['booking_date']} "
        f"from {escape(str(r['payer_name'] or '-'))} ({escape(str(r['payer_account'] or 'no account'))}); "
        f"status {r['match_status']}",
        highlight=False,
    )
    if r["texts"]:
        out.print("  texts read:", highlight=False)
    for t in r["texts"]:
        lines = t["text"].splitlines() or [""]
        if len(lines) == 1:
            out.print(f"    {escape(t['label'])}: {escape(lines[0])}", highlight=False, soft_wrap=True)
        else:  # each line of a multi-line text as the bank gave it, indented under its label
            out.print(f"    {escape(t['label'])}:", highlight=False)
            for line in lines:
                out.print(f"      {escape(line)}", highlight=False, soft_wrap=True)
    if not data["allocations"]:
        out.print(
            f"  no proposal reached the suggestion threshold ({data['suggest_threshold']:.2f})"
            + ("" if considered else "; --considered shows what the matchers weigh now"),
            highlight=False,
            soft_wrap=True,
        )
    for (rank, method, reasons), lines in _proposals(data["allocations"]).items():
        statuses = sorted({a["status"] for a in lines})
        _print_reading(
            f"[bold]proposal {rank}[/bold] ({', '.join(statuses)}) by {escape(method)}, "
            f"confidence {fmt.share(lines[0]['confidence'], 2)}:",
            lines,
            ccy,
            reasons,
        )
        for ev in lines[0]["events"]:
            out.print(
                f"    [dim]{ev['at']:%Y-%m-%d %H:%M} {ev['status']} by {escape(ev['actor'])}"
                + (f": {escape(ev['note'])}" if ev["note"] else "")
                + "[/dim]",
                highlight=False,
            )
    if considered:
        _print_considered(data["considered"], ccy)


def _print_considered(considered: list[dict[str, Any]] | None, ccy: str) -> None:
    """``explain --considered``: what the matchers weigh now, each reading with its lines and evidence."""
    if considered is None:
        out.print(
            "  only an open receipt is weighed again: what its allocations took is no longer open", soft_wrap=True
        )
        return
    if not considered:
        out.print(
            "  nothing to propose: no customer identified and no invoice named, or nothing fits the amount",
            soft_wrap=True,
        )
    for rank, p in enumerate(considered, 1):
        _print_reading(
            f"[bold]reading {rank}[/bold], considered now (not stored), by {escape(p['method'])}, "
            f"confidence {fmt.share(p['confidence'], 2)}:",
            p["lines"],
            ccy,
            p["reasons"],
        )


def _print_reading(title: str, lines: Iterable[Mapping[str, Any]], ccy: str, reasons: Iterable[str]) -> None:
    """One reading of a receipt, stored or weighed now: ``title``, each invoice with its amount, kind and (a stored
    allocation's) status, then its evidence."""
    out.print(title, highlight=False)
    for ln in lines:
        status = f"  {ln['status']}" if "status" in ln else ""
        out.print(
            f"  {escape(str(ln['invoice']))}  {fmt.money(ln['amount'], ccy)}  "
            f"{KIND_LABEL.get(ln['kind'], ln['kind'])}{status}",
            highlight=False,
        )
    out.print("  evidence (weights in log-odds):")
    for reason in reasons:
        out.print(f"    {escape(reason)}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(matches_app, name="matches")
