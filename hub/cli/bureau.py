"""``hub bureau ...``: credit bureaus (``docs/bureaus.md``): search, links, refresh, calls, screenings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hub import fmt
from hub.cli.common import By, actor, emit, err, fail, handled, out, session, state, table, warn

if TYPE_CHECKING:
    from hub.bureaus import BureauRunStats

Bureau = Annotated[str | None, typer.Option("--bureau", help="The bureau connector (its name in the config).")]


def _search(
    customer: Annotated[str, typer.Argument(help="The customer's canonical id.")],
    bureau: Bureau = None,
) -> None:
    """Search a bureau for a customer now (a paid call): the one candidate sharing an id is linked, others proposed."""
    with session() as hub:
        found = hub.bureaus.search(customer, bureau=bureau)
    emit(
        found,
        table(
            f"{found['bureau']} candidates for {found['customer_id']} ({fmt.count(len(found['candidates']))})",
            ["company id", "name", "country", "status", "method"],
            [
                [c["company_id"], c["company_name"] or "-", c["country"] or "-", c["status"], c["method"]]
                for c in found["candidates"]
            ],
        ),
    )
    if not state.json and not found["candidates"]:
        err.print(f"{escape(found['bureau'])} has no new candidate for {escape(customer)}", highlight=False)


def _links(
    status: Annotated[str | None, typer.Option("--status", help="proposed, linked or rejected (default: all).")] = None,
    bureau: Bureau = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
) -> None:
    """Customers' links to bureau companies, and the proposals waiting for a person."""
    with session() as hub:
        rows = hub.bureaus.links(status=status, bureau=bureau, customer_id=customer)
    emit(
        {"links": rows},
        table(
            f"bureau links ({fmt.count(len(rows))})",
            ["customer", "name", "bureau", "company id", "company", "status", "method", "reported"],
            [
                [
                    r["customer_id"],
                    r["customer_name"] or "-",
                    r["bureau"],
                    r["company_id"],
                    r["company_name"] or "-",
                    r["status"],
                    r["method"],
                    (r["reported_at"] or "-")[:10],
                ]
                for r in rows
            ],
        ),
    )
    if not state.json and any(r["status"] == "proposed" for r in rows):
        err.print("decide with 'hub bureau accept CUSTOMER COMPANY_ID' or 'hub bureau reject ...'", highlight=False)


def _accept(
    customer: Annotated[str, typer.Argument(help="The customer's canonical id.")],
    company_id: Annotated[str, typer.Argument(help="The bureau's company id (from 'hub bureau links').")],
    bureau: Bureau = None,
    by: By = None,
) -> None:
    """Link a customer to a bureau company (a proposal, or by hand); its other links at that bureau are set aside."""
    with session() as hub:
        done = hub.bureaus.accept(customer, company_id, bureau=bureau, actor=actor(by))
    emit({"accepted": done}, None)
    if not state.json:
        out.print(
            f"linked {escape(done['customer_id'])} to {escape(done['bureau'])} company {escape(done['company_id'])}",
            highlight=False,
        )


def _reject(
    customer: Annotated[str, typer.Argument(help="The customer's canonical id.")],
    company_id: Annotated[str, typer.Argument(help="The bureau's company id.")],
    bureau: Bureau = None,
    by: By = None,
) -> None:
    """Reject a proposal or undo a link: that company is never linked to the customer automatically again."""
    with session() as hub:
        done = hub.bureaus.reject(customer, company_id, bureau=bureau, actor=actor(by))
    emit({"rejected": done}, None)
    if not state.json:
        out.print(
            f"rejected {escape(done['bureau'])} company {escape(done['company_id'])} for {escape(done['customer_id'])}",
            highlight=False,
        )


def bureau_rows(stats: BureauRunStats) -> list[list[Any]]:
    return [
        [
            b.bureau,
            fmt.count(b.due),
            fmt.count(b.paid_calls),
            fmt.count(b.stored),
            f"{fmt.count(b.linked)} / {fmt.count(b.proposed)}",
            fmt.count(b.screened),
            fmt.count(b.events),
            f"{fmt.count(b.used_this_month)} of {fmt.count(b.budget)}",
            fmt.count(len(b.left_out)),
        ]
        for b in stats.bureaus
    ]


def report_run(stats: BureauRunStats) -> str | None:
    """Warnings for what needs a person (budget reached, links waiting); the one-line problem, if any."""
    for b in stats.bureaus:
        if b.budget_reached and not b.left_out:
            warn(f"{b.bureau}: the monthly budget of {b.budget} paid calls is reached")
        if b.waiting:
            warn(f"{b.bureau}: {len(b.waiting)} customers wait for a link decision ('hub bureau links')")
    return stats.problem()


def _refresh(
    customers: Annotated[
        list[str] | None, typer.Argument(help="Customers to refresh now, whatever their cache.")
    ] = None,
    all_customers: Annotated[
        bool, typer.Option("--all", help="Every customer whose report is older than the TTL (paid calls for each).")
    ] = False,
) -> None:
    """Ask the bureaus about the customers due: monitoring events, new customers, exposure above the threshold
    with an expired report; or about the customers named.

    Exits non-zero when customers due were left out (the monthly budget, a refused login) or a call failed.
    """
    with session() as hub:
        stats = hub.bureaus.refresh(customers or (), all_customers=all_customers)
    emit(
        stats.as_dict(),
        table(
            "bureau refresh",
            [
                "bureau",
                "due",
                "paid calls",
                "reports stored",
                "linked / proposed",
                "screened",
                "events",
                "budget",
                "left out",
            ],
            bureau_rows(stats),
            numeric=["due", "paid calls", "reports stored", "screened", "events", "left out"],
            caption=None if stats.bureaus else "no bureau connector configured",
        ),
    )
    if (problem := report_run(stats)) is not None:
        fail(problem)


def _calls(
    month: Annotated[str | None, typer.Option("--month", help="Only this month, YYYY-MM (UTC).")] = None,
) -> None:
    """Calls made to each bureau by month: the paid ones by kind, and the budget left."""
    with session() as hub:
        rows = hub.bureaus.calls(month=month)
    emit(
        {"calls": rows},
        table(
            "bureau calls",
            ["month", "bureau", "calls", "paid", "searches", "reports", "budget", "remaining", "outcomes"],
            [
                [
                    r["month"],
                    r["bureau"],
                    fmt.count(r["calls"]),
                    fmt.count(r["paid"]),
                    fmt.count(r["by_kind"].get("search", 0)),
                    fmt.count(r["by_kind"].get("report", 0)),
                    "-" if r["budget"] is None else fmt.count(r["budget"]),
                    "-" if r["remaining"] is None else fmt.count(r["remaining"]),
                    ", ".join(f"{k} {v}" for k, v in sorted(r["by_outcome"].items())),
                ]
                for r in rows
            ],
            numeric=["calls", "paid", "searches", "reports", "budget", "remaining"],
        ),
    )


def _screenings(
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer.")] = None,
) -> None:
    """Admission screenings of new customers: band, recommended limit, payment terms, prepayment, reasons."""
    with session() as hub:
        rows = hub.bureaus.screenings(customer_id=customer)
    emit(
        {"screenings": rows},
        table(
            f"admission screenings ({fmt.count(len(rows))})",
            ["customer", "status", "bureau", "band", "limit", "terms", "prepayment"],
            [
                [
                    r["customer_id"],
                    r["status"],
                    r["bureau"] or "-",
                    r["band"] or ("unrated" if r["status"] == "screened" else "-"),
                    f"{r['recommended_limit']} {r['currency']}" if r["recommended_limit"] is not None else "-",
                    "-" if r["terms_days"] is None else f"{r['terms_days']} days",
                    {True: "yes", False: "no"}.get(r["prepayment"], "-"),
                ]
                for r in rows
            ],
        ),
    )
    if state.json:
        return
    for r in rows:
        why = "; ".join(r["reasons"]) or r["waiting"]
        if why:
            out.print(f"[bold]{escape(r['customer_id'])}[/bold]: {escape(why)}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``hub bureau`` (search, links, accept, reject, refresh, calls, screenings) to the hub command line."""
    group = typer.Typer(help="Credit bureaus: company links, refreshes within budget, calls.", no_args_is_help=True)
    group.command("search")(handled(_search))
    group.command("links")(handled(_links))
    group.command("accept")(handled(_accept))
    group.command("reject")(handled(_reject))
    group.command("refresh")(handled(_refresh))
    group.command("calls")(handled(_calls))
    group.command("screenings")(handled(_screenings))
    app.add_typer(group, name="bureau")
