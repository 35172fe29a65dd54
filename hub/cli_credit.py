"""``hub limits ...``: credit limit recommendations and their approval (``docs/credit-limits.md``)."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
import typer

from hub.errors import HubError
from hub.risk import credit
from hub.store import schema

# ``hub.cli`` imports this module while it is being set up, so its helpers are imported when a
# command runs, not here.
Ref = Annotated[
    str,
    typer.Argument(
        metavar="ID_OR_CUSTOMER",
        help="A proposal as 'hub limits list' shows it (#17), or a customer id (its latest pending proposal)."
    ),
]
By = Annotated[str, typer.Option("--by", help="Who decides (required; recorded in the audit log).")]
Note = Annotated[str | None, typer.Option("--note", help="Why, for the audit log and the ERP.")]


def _amount(value: Any, currency: str) -> str:
    return "-" if value is None else credit.money(value, currency)


def _change(p: credit.LimitProposal) -> str:
    change = p.change
    if change is None:
        return "first limit"
    return ("+" if change > 0 else "-") + credit.money(abs(change), p.currency)


def _names(conn: sa.Connection, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    e = schema.exposure
    query = sa.select(e.c.customer_id, e.c.name)
    if len(ids) <= 1000:  # else all of them: one scan beats a huge IN list
        query = query.where(e.c.customer_id.in_(sorted(ids)))
    return {cid: name or "" for cid, name in conn.execute(query) if cid in ids}


def _list(
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only proposals of this status: {', '.join(credit.STATUSES)}.")
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's proposals.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many.")] = None,
) -> None:
    """Credit limit proposals, newest first: current and recommended limit, the change, and who decided."""
    from hub import cli as hubcli

    if status is not None and status not in credit.STATUSES:
        raise HubError(f"--status must be one of {', '.join(credit.STATUSES)}, got {status!r}")
    with hubcli.session() as hub:
        hub.store.check_ready()
        with hub.store.connect() as conn:
            found = credit.proposals(conn, status=status, customer_id=customer, limit=limit)
            names = _names(conn, {p.customer_id for p in found})
    what = " ".join(x for x in (status, "credit limit proposals") if x)
    named = any(names.values())
    hubcli.emit(
        {"proposals": [{**p.as_dict(), "name": names.get(p.customer_id)} for p in found]},
        hubcli.table(
            f"{what}{f' of {customer}' if customer else ''} ({len(found)})",
            ["id", "customer", *(["name"] if named else []), "as_of", "current", "recommended", "change", "status",
             "decided by", "on"],
            [
                [f"#{p.id}", p.customer_id, *([names.get(p.customer_id, "")] if named else []), p.as_of,
                 _amount(p.current_limit, p.currency), credit.money(p.recommended, p.currency), _change(p), p.status,
                 p.decided_by or "-", p.decided_at.date().isoformat() if p.decided_at else "-"]
                for p in found
            ],
        ),
    )


def _approve(ref: Ref, by: By, note: Note = None) -> None:
    """Approve a pending proposal: the audit log records who and why, and every sink is sent the new limit."""
    from hub import cli as hubcli

    with hubcli.session() as hub:
        hub.store.check_ready()
        sinks = sorted(hub.sinks())
        proposal, event = credit.approve(
            hub.store, ref, by=by, note=note, sinks=sinks, master_source=hub.master_source()
        )
    hubcli.emit(
        {"approved": proposal.as_dict(), "event_id": event.event_id, "sinks": sinks},
        hubcli.table(
            f"approved proposal {proposal.id} for {proposal.customer_id}",
            ["id", "customer", "current", "approved", "by", "note", "sent to"],
            [[f"#{proposal.id}", proposal.customer_id, _amount(proposal.current_limit, proposal.currency),
              credit.money(proposal.recommended, proposal.currency), proposal.decided_by, proposal.note or "-",
              ", ".join(sinks) or "-"]],
        ),
    )
    if not sinks and not hubcli.state.json:
        hubcli.err.print("no sink is configured: the approval is recorded but no system is sent the new limit",
                         highlight=False)


def _reject(ref: Ref, by: By, note: Note = None) -> None:
    """Reject a pending proposal: the limit stays, and the same amount is not proposed again until things change."""
    from hub import cli as hubcli

    with hubcli.session() as hub:
        hub.store.check_ready()
        proposal = credit.reject(hub.store, ref, by=by, note=note)
    hubcli.emit(
        {"rejected": proposal.as_dict()},
        hubcli.table(
            f"rejected proposal {proposal.id} for {proposal.customer_id}",
            ["id", "customer", "current", "rejected", "by", "note"],
            [[f"#{proposal.id}", proposal.customer_id, _amount(proposal.current_limit, proposal.currency),
              credit.money(proposal.recommended, proposal.currency), proposal.decided_by, proposal.note or "-"]],
        ),
    )


def _explain(
    customer: Annotated[
        str, typer.Argument(metavar="CUSTOMER", help="Customer id (its latest proposal), or a proposal id as #17.")
    ],
) -> None:
    """Why the latest proposal for a customer recommends its limit, sentence by sentence, and what became of it."""
    from hub import cli as hubcli

    with hubcli.session() as hub:
        hub.store.check_ready()
        with hub.store.connect() as conn:
            proposal = credit.find(conn, customer)
    p = proposal
    hubcli.emit(
        {"proposal": p.as_dict()},
        hubcli.table(
            f"proposal {p.id} for {p.customer_id} as of {p.as_of}: {credit.decision_text(p)}",
            ["#", "reason"],
            [[i, reason] for i, reason in enumerate(p.reasons, 1)] + ([["note", p.note]] if p.note else []),
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``hub limits`` (list, approve, reject, explain) to the hub command line."""
    from hub import cli as hubcli

    group = typer.Typer(help="Credit limit recommendations and their approval.", no_args_is_help=True)
    group.command("list")(hubcli.handled(_list))
    group.command("approve")(hubcli.handled(_approve))
    group.command("reject")(hubcli.handled(_reject))
    group.command("explain")(hubcli.handled(_explain))
    app.add_typer(group, name="limits")
