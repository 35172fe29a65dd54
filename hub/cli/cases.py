"""``hub interest ...`` and ``hub cases ...``: late-payment interest, and the litigation, arbitration and
agency cases after the collection ladder (``docs/cases.md``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hub import fmt
from hub.cli.common import (
    By,
    Note,
    actor,
    emit,
    facts,
    handled,
    parse_amount,
    parse_date,
    session,
    short_time,
    table,
)
from hub.errors import HubError

CaseId = Annotated[int, typer.Argument(help="The case's number (the id of 'hub cases list').")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="The day to compute for (default: today).")]


def _amount(value: str, option: str) -> Any:
    amount = parse_amount(value, option)
    if amount is None or amount <= 0:
        raise HubError(f"{option} must be an amount above zero, got {value!r}")
    return amount


# -- hub interest ------------------------------------------------------------------------------------------


def _interest_show(
    customer: Annotated[str, typer.Argument(help="Canonical customer id.")],
    as_of: AsOf = None,
) -> None:
    """A customer's late-payment interest and fixed compensation per overdue invoice ([interest] rule)."""
    with session() as hub:
        data = hub.interest.show(customer, parse_date(as_of))
    rows = [
        [
            x["invoice"],
            x["due_date"],
            fmt.count(x["days_late"]),
            fmt.money(x["principal"], x["currency"]),
            f"{x['rate']} %",
            fmt.money(x["interest"]),
            fmt.money(x["compensation"]),
            fmt.money(x["total"]),
        ]
        for x in data["lines"]
    ]
    totals = ", ".join(fmt.money(v, ccy) for ccy, v in data["totals"].items()) or "nothing"
    emit(
        data,
        table(
            f"late-payment interest of {customer} at {data['as_of']} (rule {data['rule']})",
            ["invoice", "due", "days late", "open", "rate", "interest", "compensation", "total"],
            rows,
            numeric=["days late", "open", "rate", "interest", "compensation", "total"],
            caption=f"due in all: {totals}",
        ),
    )


def _interest_invoice(
    customer: Annotated[str, typer.Argument(help="Canonical customer id.")],
    as_of: AsOf = None,
    period: Annotated[
        str | None, typer.Option("--period", help="The period invoiced (default: the as-of month, e.g. 2024-03).")
    ] = None,
    by: By = None,
) -> None:
    """Queue an interest invoice for the ERP sinks ([interest] sinks), once per customer and period."""
    with session() as hub:
        charge = hub.interest.invoice(customer, actor=actor(by), as_of=parse_date(as_of), period=period)
    totals = ", ".join(fmt.money(v, ccy) for ccy, v in charge.totals.items())
    emit(
        {
            "customer_id": charge.customer_id,
            "period": charge.period,
            "event_id": charge.event_id,
            "created": charge.created,
            "totals": charge.totals,
            "lines": charge.lines,
            "sinks": charge.sinks,
        },
        facts(
            f"interest invoice {charge.period} for {customer}"
            + ("" if charge.created else " (already queued: nothing new)"),
            [
                ("event", charge.event_id),
                ("invoices", fmt.count(len(charge.lines))),
                ("total", totals),
                ("sinks", ", ".join(charge.sinks) or "-"),
            ],
        ),
    )


# -- hub cases ---------------------------------------------------------------------------------------------


def _case_table(title: str, cases: list[dict[str, Any]]) -> Any:
    return table(
        title,
        [
            "case",
            "customer",
            "kind",
            "status",
            "court / agency",
            "reference",
            "claimed",
            "costs",
            "recovered",
            "opened",
        ],
        [
            [
                c["id"],
                c["customer_id"],
                c["kind"],
                c["status"],
                c["court"] or c["agency"] or "-",
                c["case_number"] or c["agency_ref"] or "-",
                fmt.money(c["claimed"], c["currency"]),
                fmt.money(c["costs_total"] if "costs_total" in c else c["costs"]),
                fmt.money(c["recovered"]),
                short_time(c["opened_at"].isoformat()),
            ]
            for c in cases
        ],
        numeric=["case", "claimed", "costs", "recovered"],
    )


def _open(
    customer: Annotated[str, typer.Argument(help="Canonical customer id.")],
    kind: Annotated[str, typer.Option("--kind", help="litigation, arbitration or agency.")],
    invoice: Annotated[
        list[str] | None, typer.Option("--invoice", help="An invoice the case covers (repeatable; default: all open).")
    ] = None,
    court: Annotated[str | None, typer.Option("--court", help="The court or arbitration body.")] = None,
    case_number: Annotated[str | None, typer.Option("--case-number", help="The court's case number.")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="The collection agency's name.")] = None,
    agency_ref: Annotated[str | None, typer.Option("--agency-ref", help="The agency's reference.")] = None,
    note: Note = None,
    by: By = None,
) -> None:
    """Open a litigation, arbitration or agency case for a customer (one running case per customer and kind)."""
    with session() as hub:
        case = hub.cases.open(
            customer,
            kind=kind.strip().lower(),
            actor=actor(by),
            invoices=invoice or [],
            court=court,
            case_number=case_number,
            agency=agency,
            agency_ref=agency_ref,
            note=note,
        )
    emit({"case": case}, _case_table(f"opened case {case['id']}", [case]))


def _list(
    status: Annotated[
        str | None, typer.Option("--status", help="open, filed, judgment, settled, closed, written_off or active.")
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's cases.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only litigation, arbitration or agency cases.")] = None,
) -> None:
    """Cases, newest first, with their costs and what was recovered."""
    with session() as hub:
        cases = hub.cases.list(status=status, customer_id=customer, kind=kind)
    emit({"cases": cases}, _case_table(f"cases ({fmt.count(len(cases))})", cases))


def _show(case_id: CaseId, as_of: AsOf = None) -> None:
    """One case: its invoices, costs, recoveries, documents and status history."""
    with session() as hub:
        case = hub.cases.show(case_id, parse_date(as_of))
    if emit_json(case):
        return
    ccy = case["currency"]
    emit(None, _case_table(f"case {case_id}", [case]))
    emit(
        None,
        table(
            "invoices",
            ["invoice", "due", "days late", "amount", "open"],
            [
                [
                    i["number"],
                    i["due_date"],
                    fmt.count(i["days_late"]),
                    fmt.money(i["amount"], i["currency"]),
                    fmt.money(i["open"]),
                ]
                for i in case["invoices"]
            ],
            numeric=["days late", "amount", "open"],
        ),
    )
    emit(
        None,
        table(
            "costs",
            ["on", "kind", "amount", "description", "by"],
            [
                [
                    c["incurred_on"],
                    c["kind"],
                    fmt.money(c["amount"], c["currency"]),
                    c["description"] or "",
                    c["recorded_by"],
                ]
                for c in case["costs"]
            ],
            numeric=["amount"],
        ),
    )
    emit(
        None,
        table(
            "recoveries",
            ["booked", "ref", "amount", "receipt", "status"],
            [
                [x["booked_on"], x["ref"], fmt.money(x["amount"], x["currency"]), x["receipt"], x["match_status"]]
                for x in case["recoveries"]
            ],
            numeric=["amount"],
        ),
    )
    emit(
        None,
        table(
            "documents",
            ["name", "sha256", "size", "path"],
            [[d["name"], d["sha256"][:16], fmt.count(d["size"]), d["path"]] for d in case["documents"]],
        ),
    )
    emit(
        None,
        table(
            "history",
            ["at (UTC)", "from", "to", "by", "note"],
            [
                [short_time(h["at"].isoformat()), h["from"] or "-", h["to"], h["actor"], h["note"] or ""]
                for h in case["history"]
            ],
        ),
    )
    emit(
        None,
        facts(
            "totals",
            [
                ("open now", fmt.money(case["open_now"], ccy)),
                ("costs", fmt.money(case["costs_total"], ccy)),
                ("recovered", fmt.money(case["recovered"], ccy)),
                ("next status", ", ".join(case["next"]) or "-"),
            ],
        ),
    )


def emit_json(data: Any) -> bool:
    from hub.cli.common import state

    if state.json:
        emit(data)
        return True
    return False


def _status(
    case_id: CaseId,
    status: Annotated[str, typer.Argument(help="filed, judgment, settled, closed or written_off.")],
    court: Annotated[str | None, typer.Option("--court", help="Set the court (e.g. when filing).")] = None,
    case_number: Annotated[str | None, typer.Option("--case-number", help="Set the court's case number.")] = None,
    note: Note = None,
    by: By = None,
) -> None:
    """Move a case to its next status (kept in its history and the audit log)."""
    with session() as hub:
        case = hub.cases.set_status(
            case_id, status.strip().lower(), actor=actor(by), note=note, court=court, case_number=case_number
        )
    emit({"case": case}, facts(f"case {case_id}", [("status", case["status"]), ("customer", case["customer_id"])]))


def _cost(
    case_id: CaseId,
    amount: Annotated[str, typer.Argument(help="The amount (in the case's currency unless --currency).")],
    kind: Annotated[str, typer.Option("--kind", help="court_fee, lawyer_fee, agency_commission or other.")] = "other",
    date: Annotated[str | None, typer.Option("--date", help="When it was incurred (default: today).")] = None,
    description: Annotated[str | None, typer.Option("--description", help="What it was for.")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Its currency (default: the case's).")] = None,
    by: By = None,
) -> None:
    """Record a cost of a case (court fee, lawyer's or agency's fee)."""
    value = _amount(amount, "AMOUNT")
    day = parse_date(date, "--date")
    with session() as hub:
        cost_id = hub.cases.add_cost(
            case_id,
            value,
            kind=kind.strip().lower(),
            actor=actor(by),
            incurred_on=day,
            description=description,
            currency=currency,
        )
    emit({"case_id": case_id, "cost_id": cost_id}, facts(f"case {case_id}", [("cost recorded", fmt.money(value))]))


def _document(
    case_id: CaseId,
    path: Annotated[str, typer.Argument(help="The file to attach (its path and SHA-256 are kept).")],
    name: Annotated[str | None, typer.Option("--name", help="A name to show (default: the file's).")] = None,
    by: By = None,
) -> None:
    """Attach a document to a case (its path, size and SHA-256)."""
    with session() as hub:
        doc = hub.cases.add_document(case_id, path, actor=actor(by), name=name)
    emit(doc, facts(f"case {case_id}", [("document", doc["name"]), ("sha256", doc["sha256"])]))


def _recovery(
    case_id: CaseId,
    amount: Annotated[str, typer.Argument(help="The amount collected, in the case's currency.")],
    ref: Annotated[str, typer.Option("--ref", help="The agency's or lawyer's reference of the payment.")],
    date: Annotated[str | None, typer.Option("--date", help="The day it was booked (default: today).")] = None,
    commission: Annotated[
        str | None, typer.Option("--commission", help="The agency's commission on it (recorded as a cost).")
    ] = None,
    by: By = None,
) -> None:
    """Record money the agency or lawyer collected: a receipt allocated to the case's oldest open invoices."""
    value = _amount(amount, "AMOUNT")
    fee = _amount(commission, "--commission") if commission is not None else None
    day = parse_date(date, "--date")
    with session() as hub:
        rec = hub.cases.recovery(case_id, value, ref=ref, actor=actor(by), booked_on=day, commission=fee)
    emit(
        {
            "case_id": rec.case_id,
            "ref": rec.ref,
            "receipt": rec.receipt,
            "amount": str(rec.amount),
            "currency": rec.currency,
            "allocated": [{"invoice": n, "amount": str(a)} for n, a in rec.allocated],
            "unapplied": str(rec.unapplied),
            "recovered": str(rec.recovered),
            "problem": rec.problem,
        },
        facts(
            f"recovery {rec.ref} of case {case_id}",
            [
                ("amount", fmt.money(rec.amount, rec.currency)),
                ("allocated", ", ".join(f"{n} {fmt.money(a)}" for n, a in rec.allocated) or "-"),
                ("unapplied", fmt.money(rec.unapplied)),
                ("recovered in all", fmt.money(rec.recovered, rec.currency)),
                ("receipt", rec.receipt),
                *([("not allocated", rec.problem)] if rec.problem else []),
            ],
        ),
    )


def _handover(
    case_id: CaseId,
    out: Annotated[str, typer.Option("--out", help="The file to write (.xlsx, or .zip of CSVs).")],
    file_format: Annotated[str | None, typer.Option("--format", help="xlsx or csv (default: from --out).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Sheet names and headers: en or zh_CN.")] = "en",
    as_of: AsOf = None,
    by: By = None,
) -> None:
    """Write the handover file for the agency or lawyer: invoices, ledger, promises, contacts, case summary."""
    chosen = file_format or ("csv" if out.lower().endswith((".zip", ".csv")) else "xlsx")
    with session() as hub:
        done = hub.cases.handover(case_id, out, fmt=chosen, language=lang, as_of=parse_date(as_of), actor=actor(by))
    emit(
        done,
        facts(
            f"handover of case {case_id}",
            [("file", done["path"]), *((k, fmt.count(v)) for k, v in done["rows"].items())],
        ),
    )


def register(app: typer.Typer) -> None:
    """Add ``hub interest`` (show, invoice) and ``hub cases`` to the hub command line."""
    interest = typer.Typer(help="Late-payment interest and fixed compensation ([interest]).", no_args_is_help=True)
    interest.command("show")(handled(_interest_show))
    interest.command("invoice")(handled(_interest_invoice))
    app.add_typer(interest, name="interest")
    cases = typer.Typer(help="Litigation, arbitration and agency cases after the ladder.", no_args_is_help=True)
    cases.command("open")(handled(_open))
    cases.command("list")(handled(_list))
    cases.command("show")(handled(_show))
    cases.command("status")(handled(_status))
    cases.command("cost")(handled(_cost))
    cases.command("document")(handled(_document))
    cases.command("recovery")(handled(_recovery))
    cases.command("handover")(handled(_handover))
    app.add_typer(cases, name="cases")
