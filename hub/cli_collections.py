"""``hub collections ...``: the collection ledger, promises to pay and the steps due (``docs/collections.md``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.markup import escape

from hub.errors import HubError
from hub.model import CollectionChannel
from hub.store import schema

# ``hub.cli`` imports this module while it is being set up (and once more when run as ``python -m
# hub.cli``), so its helpers are imported when a command runs, not here.
By = Annotated[str | None, typer.Option("--by", help="Who acts (default: $HUB_USER or the login name).")]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HubError(f"{option} must be an ISO date (YYYY-MM-DD), got {value!r}") from None


def _time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise HubError(
            f"--at must be an ISO date or time (2024-03-05 or 2024-03-05T14:30+01:00), got {value!r}"
        ) from None


def _amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except (InvalidOperation, ValueError):
        raise HubError(f"--promise-amount must be an amount like 1250.00, got {value!r}") from None
    if not amount.is_finite():
        raise HubError(f"--promise-amount must be an amount like 1250.00, got {value!r}")
    return amount


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
    from hub import cli as hubcli
    from hub.risk import collection as coll

    when = _time(at)
    day = _date(promise_date, "--promise-date")
    amount = _amount(promise_amount)
    with hubcli.session() as hub:
        hub.store.check_ready()
        action_id = coll.record_action(
            hub.store,
            customer_id=customer,
            channel=channel.strip().lower(),
            at=when,
            content=content,
            outcome=outcome,
            promise_date=day,
            promise_amount=amount,
            promise_currency=currency,
            invoice_numbers=invoice or [],
            author=hubcli._actor(by),
            master_source=hub.master_source(),
        )
        with hub.store.connect() as conn:
            entry = next(e for e in coll.ledger(conn, customer, master_source=hub.master_source())
                         if e["id"] == action_id)
    promise = entry["promise"]
    promised = f"{promise['amount']} {promise['currency']} by {promise['date']}" if promise else "-"
    hubcli.emit(
        {"logged": {"customer_id": customer, **entry}},
        hubcli.table(
            f"logged for {customer}",
            ["id", "at (UTC)", "channel", "by", "invoices", "promise", "content"],
            [[entry["id"], _short(entry["at"]), entry["channel"], entry["author"] or "-",
              " ".join(entry["invoices"]) or "-", promised, entry["content"]]],
        ),
    )


def _short(iso_time: str) -> str:
    """``2024-02-02 08:30`` from an ISO time in UTC."""
    return iso_time[:16].replace("T", " ")


def _due(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="List steps due on or before this day (default: today).")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only steps of this owner (e.g. collector).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many.")] = None,
) -> None:
    """Collection steps due, most valuable first (overdue in the base currency), as planned by the last risk run."""
    from hub import cli as hubcli
    from hub.risk import collection as coll

    day = _date(as_of, "--as-of")
    with hubcli.session() as hub:
        hub.store.check_ready()
        on_or_before = hub.as_of(day)
        e = schema.exposure
        with hub.store.connect() as conn:
            rows = conn.execute(
                sa.select(e.c.customer_id, e.c.name, e.c.as_of, e.c.next_action).where(e.c.next_action.is_not(None))
            ).all()
            assessed = conn.execute(sa.select(sa.func.count()).select_from(e)).scalar_one()
    found = coll.due_actions(rows, on_or_before=on_or_before, owner=owner, limit=limit)
    hubcli.emit(
        {"as_of": on_or_before.isoformat(), "due": found},
        hubcli.table(
            f"collection steps due by {on_or_before} ({len(found)})",
            ["customer", "name", "action", "owner", "due_on", "days late", "overdue", "in base"],
            [[x["customer_id"], x["name"] or "", x["action"], x["owner"], x["due_on"], x["days_past_due"],
              f"{x['overdue']} {x['currency']}", f"{x['open_base'] or '-'} {x['base_currency']}"] for x in found],
        ),
    )
    if hubcli.state.json:
        return
    for x in found:  # the reasons are sentences: below the table, where they need not wrap in a narrow column
        hubcli.out.print(f"[bold]{escape(x['customer_id'])}[/bold]: {escape(x['reason'])}", highlight=False)
    if not assessed:
        hubcli.err.print("no risk run stored yet: run 'hub risk' to plan the collection steps", highlight=False)


def _ledger(
    customer: Annotated[str, typer.Argument(help="Canonical customer id.")],
) -> None:
    """A customer's collection ledger, newest first, from the hub and every CRM, with each promise and its status."""
    from hub import cli as hubcli
    from hub.risk import collection as coll

    with hubcli.session() as hub:
        hub.store.check_ready()
        with hub.store.connect() as conn:
            entries = coll.ledger(conn, customer, master_source=hub.master_source())
    rows: list[list[Any]] = []
    for x in entries:
        p = x["promise"]
        promise = "-"
        if p:
            promise = f"{p['amount']} {p['currency']} by {p['date']}: {p['status']}"
            if p["status"] == "kept" and p["settled_on"]:
                promise += f" on {p['settled_on']}"
            elif p["received"] not in (None, "0.00") and p["status"] != "kept":
                promise += f" ({p['received']} received)"
        who = x["author"] or "-"
        if x["source"] != coll.HUB_SOURCE:
            who += f" via {x['source']}"
        rows.append([_short(x["at"]), x["channel"], who, " ".join(x["invoices"]) or "-", x["content"],
                     x["outcome"] or "-", promise])
    hubcli.emit(
        {"customer_id": customer, "ledger": entries},
        hubcli.table(
            f"collection ledger of {customer} ({len(entries)})",
            ["at (UTC)", "channel", "by", "invoices", "content", "outcome", "promise"],
            rows,
        ),
    )


def _promises(
    status: Annotated[str | None, typer.Option("--status", help="Only open, kept or broken promises.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's promises.")] = None,
) -> None:
    """Promises to pay, newest first, with what has been received against them (as of the last risk run)."""
    from hub import cli as hubcli
    from hub.risk import collection as coll

    if status is not None and status not in coll.PROMISE_STATUSES:
        raise HubError(f"--status must be one of {', '.join(coll.PROMISE_STATUSES)}, got {status!r}")
    with hubcli.session() as hub:
        hub.store.check_ready()
        with hub.store.connect() as conn:
            found = coll.promise_rows(conn, status=status, customer_id=customer)
    data = [
        {
            "customer_id": r.customer_id,
            "made_on": r.made_on.isoformat(),
            "promised_date": r.promised_date.isoformat(),
            "amount": str(r.amount),
            "currency": r.currency,
            "status": r.status,
            "received": str(r.received),
            "settled_on": r.settled_on.isoformat() if r.settled_on else None,
            "channel": r.channel,
            "author": r.author,
            "source": r.source,
            "action_id": r.action_id,
        }
        for r in found
    ]
    hubcli.emit(
        {"promises": data},
        hubcli.table(
            f"promises to pay ({len(data)})",
            ["customer", "made_on", "promised", "amount", "status", "received", "settled_on", "by"],
            [[d["customer_id"], d["made_on"], d["promised_date"], f"{d['amount']} {d['currency']}", d["status"],
              d["received"], d["settled_on"] or "-", d["author"] or d["source"]] for d in data],
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``hub collections`` (log, due, ledger, promises) to the hub command line."""
    from hub import cli as hubcli

    group = typer.Typer(help="The collection ledger, promises to pay and the collection steps due.",
                        no_args_is_help=True)
    group.command("log")(hubcli.handled(_log))
    group.command("due")(hubcli.handled(_due))
    group.command("ledger")(hubcli.handled(_ledger))
    group.command("promises")(hubcli.handled(_promises))
    app.add_typer(group, name="collections")
