"""``hub limits ...``: credit limit recommendations and their approval (``docs/credit-limits.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hub import fmt
from hub.cli.common import check_choice, emit, err, handled, session, state, table
from hub.codes import LIMIT_STATUSES

if TYPE_CHECKING:
    from hub.risk.credit import LimitProposal

Ref = Annotated[
    str,
    typer.Argument(
        metavar="ID_OR_CUSTOMER",
        help="A proposal as 'hub limits list' shows it (#17), or a customer id (its latest pending proposal).",
    ),
]
By = Annotated[str, typer.Option("--by", help="Who decides (required; recorded in the audit log).")]
Note = Annotated[str | None, typer.Option("--note", help="Why, for the audit log and the ERP.")]


def _change(p: LimitProposal) -> str:
    change = p.change
    if change is None:
        return "first limit"
    return ("+" if change > 0 else "-") + fmt.money(abs(change), p.currency)


def _list(
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only proposals of this status: {', '.join(LIMIT_STATUSES)}.")
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's proposals.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Show at most this many.")] = None,
) -> None:
    """Credit limit proposals, newest first: current and recommended limit, the change, and who decided."""
    check_choice("--status", status, LIMIT_STATUSES)
    with session() as hub:
        found, names = hub.limits.proposals(status=status, customer_id=customer, limit=limit)
    what = " ".join(x for x in (status, "credit limit proposals") if x)
    named = any(names.values())
    emit(
        {"proposals": [{**p.as_dict(), "name": names.get(p.customer_id)} for p in found]},
        table(
            f"{what}{f' of {customer}' if customer else ''} ({fmt.count(len(found))})",
            [
                "id",
                "customer",
                *(["name"] if named else []),
                "as of",
                "current",
                "recommended",
                "change",
                "status",
                "decided by",
                "on",
            ],
            [
                [
                    f"#{p.id}",
                    p.customer_id,
                    *([names.get(p.customer_id, "")] if named else []),
                    p.as_of,
                    fmt.money(p.current_limit, p.currency),
                    fmt.money(p.recommended, p.currency),
                    _change(p),
                    p.status,
                    p.decided_by or "-",
                    p.decided_at.date().isoformat() if p.decided_at else "-",
                ]
                for p in found
            ],
            numeric=["current", "recommended", "change"],
        ),
    )


def _approve(ref: Ref, by: By, note: Note = None) -> None:
    """Approve a pending proposal: the audit log records who and why, and every sink is sent the new limit."""
    with session() as hub:
        done = hub.limits.approve(ref, by=by, note=note)
    p = done.proposal
    emit(
        {"approved": p.as_dict(), "event_id": done.event.event_id, "sinks": done.sinks},
        table(
            f"approved proposal #{p.id} for {p.customer_id}",
            ["id", "customer", "current", "approved", "by", "note", "sent to"],
            [
                [
                    f"#{p.id}",
                    p.customer_id,
                    fmt.money(p.current_limit, p.currency),
                    fmt.money(p.recommended, p.currency),
                    p.decided_by,
                    p.note or "-",
                    ", ".join(done.sinks) or "-",
                ]
            ],
            numeric=["current", "approved"],
        ),
    )
    if not done.sinks and not state.json:
        err.print(
            "no sink is configured: the approval is recorded but no system is sent the new limit", highlight=False
        )


def _reject(ref: Ref, by: By, note: Note = None) -> None:
    """Reject a pending proposal: the limit stays, and the same amount is not proposed again until things change."""
    with session() as hub:
        p = hub.limits.reject(ref, by=by, note=note)
    emit(
        {"rejected": p.as_dict()},
        table(
            f"rejected proposal #{p.id} for {p.customer_id}",
            ["id", "customer", "current", "rejected", "by", "note"],
            [
                [
                    f"#{p.id}",
                    p.customer_id,
                    fmt.money(p.current_limit, p.currency),
                    fmt.money(p.recommended, p.currency),
                    p.decided_by,
                    p.note or "-",
                ]
            ],
            numeric=["current", "rejected"],
        ),
    )


def _explain(
    customer: Annotated[
        str, typer.Argument(metavar="CUSTOMER", help="Customer id (its latest proposal), or a proposal id as #17.")
    ],
) -> None:
    """Why the latest proposal for a customer recommends its limit, sentence by sentence, and what became of it."""
    with session() as hub:
        p = hub.limits.explain(customer)
    emit(
        {"proposal": p.as_dict()},
        table(
            f"proposal #{p.id} for {p.customer_id} as of {p.as_of}: {p.decision}",
            ["#", "reason"],
            [[i, reason] for i, reason in enumerate(p.reasons, 1)] + ([["note", p.note]] if p.note else []),
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``hub limits`` (list, approve, reject, explain) to the hub command line."""
    group = typer.Typer(help="Credit limit recommendations and their approval.", no_args_is_help=True)
    group.command("list")(handled(_list))
    group.command("approve")(handled(_approve))
    group.command("reject")(handled(_reject))
    group.command("explain")(handled(_explain))
    app.add_typer(group, name="limits")
