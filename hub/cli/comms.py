"""``hub comms ...`` and ``hub disputes ...``: collection emails, letters, statements and disputes
(``docs/communications.md``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.common import By, actor, emit, fail, handled, out, parse_amount, parse_time, session, state, table
from hub.errors import ComplianceBlock

Customer = Annotated[str, typer.Argument(help="Canonical customer id (the customer_id of 'hub exposure export').")]
Step = Annotated[
    str | None,
    typer.Option(
        "--step",
        help="Template or ladder step: friendly_reminder, second_reminder, final_notice, lawyer_letter, statement, "
        "promise_confirmation (default: the step the last risk run planned).",
    ),
]
Lang = Annotated[str | None, typer.Option("--lang", help="en or zh_CN (default: the customer's).")]
Channel = Annotated[str, typer.Option("--channel", help="email or letter.")]
Invoices = Annotated[list[str] | None, typer.Option("--invoice", help="Only this invoice (repeatable).")]
At = Annotated[str | None, typer.Option("--at", help="The clock (ISO time; default now).")]


def _row(m: dict[str, Any]) -> list[Any]:
    return [
        m["id"],
        m["message_id"],
        m["customer_id"],
        m["template"],
        m["channel"],
        m["language"],
        m["status"],
        m["attempts"],
        (m["last_error"] or "")[:60],
    ]


COLUMNS = ["#", "message id", "customer", "template", "channel", "lang", "status", "attempts", "last error"]


def _preview(
    customer: Customer,
    step: Step = None,
    lang: Lang = None,
    channel: Channel = "email",
    invoice: Invoices = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write it to this file: .pdf as a PDF, else the HTML.")
    ] = None,
    at: At = None,
) -> None:
    """Show a message as it would go out (nothing is sent or stored)."""
    want_pdf = out_file is not None and out_file.suffix.lower() == ".pdf"
    with session() as hub:
        found = hub.comms.preview(
            customer,
            step=step,
            language=lang,
            channel=channel,
            invoices=invoice or [],
            now=parse_time(at),
            pdf=want_pdf,
        )
    if out_file is not None:
        if want_pdf:
            out_file.write_bytes(found.pop("pdf"))
        else:
            out_file.write_text(found["html"], encoding="utf-8")
    found.pop("pdf", None)
    emit(found)
    if not state.json:
        out.print(f"To: {found['to'] or '-'}\nSubject: {found['subject']}\n\n{found['text']}", highlight=False)


def _send(
    customer: Customer,
    step: Step = None,
    lang: Lang = None,
    channel: Channel = "email",
    invoice: Invoices = None,
    attach_statement: Annotated[
        bool, typer.Option("--attach-statement", help="Attach the statement of account as a PDF.")
    ] = False,
    now: Annotated[bool, typer.Option("--now", help="Deliver the email at once instead of queueing it.")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="A letter: write its PDF here.")] = None,
    at: At = None,
    by: By = None,
) -> None:
    """Check the compliance rules and queue the message (a letter is made at once, as a PDF)."""
    with session() as hub:
        try:
            row = hub.comms.send(
                customer,
                actor=actor(by),
                step=step,
                language=lang,
                channel=channel,
                invoices=invoice or [],
                attach_statement=attach_statement,
                now=parse_time(at),
                deliver_now=now,
            )
        except ComplianceBlock as exc:
            fail(f"blocked by {exc.code}: {exc}", 3)
        if out_file is not None and row["attachment"]:
            _, _, pdf = hub.comms.message(str(row["id"]))
            if pdf is not None:
                out_file.write_bytes(pdf)
    emit({"message": row}, table("message", COLUMNS, [_row(row)]))
    delivery = row.get("delivery")
    if delivery and delivery.get("unreachable"):
        fail(f"SMTP server unreachable: {delivery['unreachable']} (queued; 'hub comms deliver' retries)")
    if row["status"] in ("dead", "failed") and delivery:
        fail(f"not delivered: {row['last_error']}")


def _send_due(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Steps due by this day (default: today).")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only the steps this role or person owns.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be queued; queue nothing.")] = False,
    at: At = None,
    by: By = None,
) -> None:
    """Queue the message of every collection step due (emails and letters; run 'hub risk' first).

    A step a person does (call, visit) is left to them; a step a compliance rule blocks is listed with
    the rule; a step whose message went out already is not sent again. Exits 1 when a step failed.
    """
    import datetime as dt

    with session() as hub:
        try:
            day = dt.date.fromisoformat(as_of) if as_of else None
        except ValueError:
            fail(f"--as-of must be a day (YYYY-MM-DD), got {as_of!r}")
        found = hub.comms.send_due(actor=actor(by), as_of=day, owner=owner, now=parse_time(at), dry_run=dry_run)
    rows = [
        [
            x["customer_id"],
            x.get("action") or "",
            x.get("template") or "",
            x["outcome"],
            x.get("message_id") or x.get("rule") or "",
            (x.get("reason") or "")[:70],
        ]
        for x in found
    ]
    emit(found, table(f"due steps ({len(found)})", ["customer", "step", "template", "outcome", "", "why"], rows))
    failed = [x for x in found if x["outcome"] == "failed"]
    if failed:
        first = failed[0]
        fail(f"{len(failed)} of {len(found)} due steps failed; first: {first['customer_id']}: {first['reason']}")


def _deliver(
    limit: Annotated[int, typer.Option("--limit", min=1, help="Send at most this many.")] = 100,
    at: At = None,
) -> None:
    """Hand the queued emails that are due to the SMTP server (retries with backoff; 5xx is dead)."""
    with session() as hub:
        stats = hub.comms.deliver(now=parse_time(at), limit=limit)
    emit(
        stats.as_dict(),
        table(
            "delivery",
            ["sent", "failed", "dead", "blocked", "postponed"],
            [[stats.sent, stats.failed, stats.dead, stats.blocked, stats.postponed]],
        ),
    )
    if stats.unreachable:
        fail(f"SMTP server unreachable: {stats.unreachable}")


def _resend(
    message: Annotated[str, typer.Argument(help="The Message-ID (or the # of 'hub comms list').")],
    at: At = None,
    by: By = None,
) -> None:
    """Queue a message again with a new Message-ID (the rules are checked again)."""
    with session() as hub:
        try:
            row = hub.comms.resend(message, actor=actor(by), now=parse_time(at))
        except ComplianceBlock as exc:
            fail(f"blocked by {exc.code}: {exc}", 3)
    emit({"message": row}, table("message", COLUMNS, [_row(row)]))


def _list(
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="pending, failed, sent, dead or blocked.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 100,
) -> None:
    """Messages, newest first."""
    with session() as hub:
        rows = hub.comms.messages(customer_id=customer, status=status, limit=limit)
    emit(rows, table(f"messages ({len(rows)})", COLUMNS, [_row(m) for m in rows]))


def _contact(
    customer: Customer,
    email: Annotated[str | None, typer.Option("--email", help="Where collection emails go.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="en or zh_CN.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="IANA time zone, e.g. Asia/Shanghai.")] = None,
    opt_out: Annotated[list[str] | None, typer.Option("--opt-out", help="A channel not to use (repeatable).")] = None,
    opt_in: Annotated[list[str] | None, typer.Option("--opt-in", help="Use this channel again (repeatable).")] = None,
    by: By = None,
) -> None:
    """Set a customer's contact email, language, time zone and opt-outs (without options: show them)."""
    with session() as hub:
        if email is None and lang is None and tz is None and not opt_out and not opt_in:
            found = hub.comms.contact_of(customer)
        else:
            found = hub.comms.contact(
                customer,
                actor=actor(by),
                email=email,
                language=lang,
                time_zone=tz,
                opt_out=opt_out or [],
                opt_in=opt_in or [],
            )
    emit(
        found,
        table(
            f"contact of {customer}",
            ["email", "language", "time zone", "opted out of"],
            [[found["email"] or "-", found["language"] or "-", found["time_zone"] or "-", ", ".join(found["opt_out"])]],
        ),
    )


DISPUTE_COLUMNS = ["#", "customer", "invoice", "amount", "status", "opened", "by", "reason"]


def _drow(d: dict[str, Any]) -> list[Any]:
    amount = f"{d['amount']} {d['currency'] or ''}".strip() if d["amount"] else "-"
    return [
        d["id"],
        d["customer_id"],
        d["invoice"] or "(account)",
        amount,
        d["status"],
        d["opened_at"][:16],
        d["opened_by"] or "-",
        d["reason"],
    ]


def _dispute_open(
    customer: Customer,
    reason: Annotated[str, typer.Option("--reason", help="What the customer contests.")],
    invoice: Annotated[
        str | None, typer.Option("--invoice", help="The contested invoice (default: the whole account).")
    ] = None,
    amount: Annotated[str | None, typer.Option("--amount", help="The amount contested (a deduction).")] = None,
    at: At = None,
    by: By = None,
) -> None:
    """Record a dispute: the ladder pauses for the invoice and no reminder is sent about it."""
    with session() as hub:
        d = hub.disputes.open(
            customer,
            actor=actor(by),
            reason=reason,
            invoice=invoice,
            amount=parse_amount(amount, "--amount"),
            at=parse_time(at),
        )
    emit({"dispute": d}, table("dispute opened", DISPUTE_COLUMNS, [_drow(d)]))


def _dispute_resolve(
    dispute: Annotated[int, typer.Argument(help="The dispute's # ('hub disputes list').")],
    resolution: Annotated[str, typer.Option("--resolution", help="How it was settled.")],
    at: At = None,
    by: By = None,
) -> None:
    """Close a dispute; the ladder resumes for its invoice."""
    with session() as hub:
        d = hub.disputes.resolve(dispute, actor=actor(by), resolution=resolution, at=parse_time(at))
    emit({"dispute": d}, table("dispute resolved", DISPUTE_COLUMNS, [_drow(d)]))


def _dispute_list(
    status: Annotated[str | None, typer.Option("--status", help="open or resolved.")] = None,
    customer: Annotated[str | None, typer.Option("--customer")] = None,
) -> None:
    """Disputes, newest first."""
    with session() as hub:
        rows = hub.disputes.list(status=status, customer_id=customer)
    emit(rows, table(f"disputes ({len(rows)})", DISPUTE_COLUMNS, [_drow(d) for d in rows]))


def register(app: typer.Typer) -> None:
    """Add ``hub comms`` and ``hub disputes`` to the hub command line."""
    group = typer.Typer(help="Collection emails, letters and statements.", no_args_is_help=True)
    group.command("preview")(handled(_preview))
    group.command("send")(handled(_send))
    group.command("send-due")(handled(_send_due))
    group.command("deliver")(handled(_deliver))
    group.command("resend")(handled(_resend))
    group.command("list")(handled(_list))
    group.command("contact")(handled(_contact))
    app.add_typer(group, name="comms")
    disputes = typer.Typer(help="Disputes and deductions: contested invoices pause the ladder.", no_args_is_help=True)
    disputes.command("open")(handled(_dispute_open))
    disputes.command("resolve")(handled(_dispute_resolve))
    disputes.command("list")(handled(_dispute_list))
    app.add_typer(disputes, name="disputes")
