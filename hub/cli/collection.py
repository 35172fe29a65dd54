"""``hub collections ...``: the collection ledger, promises to pay and the steps due (``docs/collections.md``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from hub import fmt
from hub.cli.common import (
    By,
    actor,
    check_choice,
    emit,
    err,
    handled,
    out,
    parse_amount,
    parse_date,
    parse_time,
    session,
    short_time,
    state,
    table,
)
from hub.codes import HUB_SOURCE, PROMISE_STATUSES, CollectionChannel


def _log(
    customer: Annotated[str, typer.Argument(help="Canonical customer id (the customer_id of 'hub exposure export').")],
    channel: Annotated[
        str,
        typer.Option(
            "--channel", help=f"How the customer was contacted: {', '.join(c.value for c in CollectionChannel)}."
        ),
    ],
    content: Annotated[str, typer.Option("--content", help="What was said or sent.")],
    outcome: Annotated[str | None, typer.Option("--outcome", help="What came of it, in a few words.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="When (ISO date or time; no offset means UTC). Default: now.")
    ] = None,
    promise_date: Annotated[
        str | None, typer.Option("--promise-date", help="The day the customer promised to pay by (ISO date).")
    ] = None,
    promise_amount: Annotated[str | None, typer.Option("--promise-amount", help="The amount promised.")] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Currency of the promise (default: the customer's).")
    ] = None,
    invoice: Annotated[
        list[str] | None, typer.Option("--invoice", help="An invoice number the contact was about (repeatable).")
    ] = None,
    by: By = None,
) -> None:
    """Write one line of the collection ledger (a call, an email, a visit...), with a promise to pay if one was made."""
    when = parse_time(at)
    day = parse_date(promise_date, "--promise-date")
    amount = parse_amount(promise_amount, "--promise-amount")
    with session() as hub:
        entry = hub.collections.log(
            customer,
            channel=channel,
            content=content,
            outcome=outcome,
            at=when,
            promise_date=day,
            promise_amount=amount,
            promise_currency=currency,
            invoices=invoice or [],
            actor=actor(by),
        )
    promise = entry["promise"]
    promised = f"{fmt.money(promise['amount'], promise['currency'])} by {promise['date']}" if promise else "-"
    emit(
        {"logged": {"customer_id": customer, **entry}},
        table(
            f"logged for {customer}",
            ["id", "at (UTC)", "channel", "by", "invoices", "promise", "content"],
            [
                [
                    entry["id"],
                    short_time(entry["at"]),
                    entry["channel"],
                    entry["author"] or "-",
                    " ".join(entry["invoices"]) or "-",
                    promised,
                    entry["content"],
                ]
            ],
        ),
    )


def _due(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="List steps due on or before this day (default: today).")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only steps of this owner (e.g. collector).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many.")] = None,
) -> None:
    """Collection steps due, most valuable first (overdue in the base currency), as planned by the last risk run."""
    with session() as hub:
        due = hub.collections.due(parse_date(as_of), owner=owner, limit=limit)
    found = due.steps
    emit(
        {"as_of": due.as_of.isoformat(), "due": found},
        table(
            f"collection steps due by {due.as_of} ({fmt.count(len(found))})",
            ["customer", "name", "action", "owner", "due on", "days late", "overdue", "in base currency"],
            [
                [
                    x["customer_id"],
                    x["name"] or "",
                    x["action"],
                    x["owner"],
                    x["due_on"],
                    fmt.count(x["days_past_due"]),
                    fmt.money(x["overdue"], x["currency"]),
                    fmt.money(x["open_base"], x["base_currency"]) if x["open_base"] is not None else "no rate",
                ]
                for x in found
            ],
            numeric=["days late", "overdue", "in base currency"],
        ),
    )
    if state.json:
        return
    for x in found:  # the reasons are sentences: below the table, where they need not wrap in a narrow column
        out.print(f"[bold]{escape(x['customer_id'])}[/bold]: {escape(x['reason'])}", highlight=False)
    if not due.assessed:
        err.print("no risk run stored yet: run 'hub risk' to plan the collection steps", highlight=False)


def _promise_text(p: dict[str, Any] | None) -> str:
    if not p:
        return "-"
    text = f"{fmt.money(p['amount'], p['currency'])} by {p['date']}: {p['status']}"
    if p["status"] == "kept" and p["settled_on"]:
        text += f" on {p['settled_on']}"
    elif p["received"] not in (None, "0.00") and p["status"] != "kept":
        text += f" ({fmt.money(p['received'])} received)"
    return text


def _ledger(customer: Annotated[str, typer.Argument(help="Canonical customer id.")]) -> None:
    """A customer's collection ledger, newest first, from the hub and every CRM, with each promise and its status."""
    with session() as hub:
        entries = hub.collections.ledger(customer)
    rows: list[list[Any]] = []
    for x in entries:
        who = x["author"] or "-"
        if x["source"] != HUB_SOURCE:
            who += f" via {x['source']}"
        rows.append(
            [
                short_time(x["at"]),
                x["channel"],
                who,
                " ".join(x["invoices"]) or "-",
                x["content"],
                x["outcome"] or "-",
                _promise_text(x["promise"]),
            ]
        )
    emit(
        {"customer_id": customer, "ledger": entries},
        table(
            f"collection ledger of {customer} ({fmt.count(len(entries))})",
            ["at (UTC)", "channel", "by", "invoices", "content", "outcome", "promise"],
            rows,
        ),
    )


def _promises(
    status: Annotated[str | None, typer.Option("--status", help="Only open, kept or broken promises.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's promises.")] = None,
) -> None:
    """Promises to pay, newest first, with what has been received against them (as of the last risk run)."""
    check_choice("--status", status, PROMISE_STATUSES)
    with session() as hub:
        data = hub.collections.promises(status=status, customer_id=customer)
    emit(
        {"promises": data},
        table(
            f"promises to pay ({fmt.count(len(data))})",
            ["customer", "made on", "promised", "amount", "status", "received", "settled on", "by"],
            [
                [
                    d["customer_id"],
                    d["made_on"],
                    d["promised_date"],
                    fmt.money(d["amount"], d["currency"]),
                    d["status"],
                    fmt.money(d["received"]),
                    d["settled_on"] or "-",
                    d["author"] or d["source"],
                ]
                for d in data
            ],
            numeric=["amount", "received"],
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``hub collections`` (log, due, ledger, promises) to the hub command line."""
    group = typer.Typer(
        help="The collection ledger, promises to pay and the collection steps due.", no_args_is_help=True
    )
    group.command("log")(handled(_log))
    group.command("due")(handled(_due))
    group.command("ledger")(handled(_ledger))
    group.command("promises")(handled(_promises))
    app.add_typer(group, name="collections")
