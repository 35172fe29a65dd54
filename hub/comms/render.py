"""Collection emails, letters and statements rendered from Jinja2 templates, and letters as PDF.

A template is found by its key (``friendly_reminder``...), channel and language: the file
``KEY.CHANNEL.LANG.html``, else ``KEY.LANG.html``, first in ``[comms] templates_dir`` (a person's
own), then among the shipped ones (``hub/comms/templates``). Each template has a ``subject`` block
and a ``body`` block; the text part of an email is the HTML body's text.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import jinja2
import lxml.html
import sqlalchemy as sa

from hub import i18n, openitems
from hub.errors import CommsError
from hub.i18n import N_

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The shipped templates, in ladder order.
TEMPLATE_KEYS = (
    "friendly_reminder",
    "second_reminder",
    "final_notice",
    "lawyer_letter",
    "statement",
    "promise_confirmation",
)
#: Templates about overdue invoices (a dispute takes its invoices out of them); the others list every open one.
DUNNING = ("friendly_reminder", "second_reminder", "final_notice", "lawyer_letter")
LANGUAGES = ("en", "zh_CN")
CHANNELS = ("email", "letter")
#: Ladder step names (their ``action``) that name a template without any config.
STEP_TEMPLATES = {
    "friendly reminder": "friendly_reminder",
    "reminder": "friendly_reminder",
    "second reminder": "second_reminder",
    "final notice": "final_notice",
    "lawyer's letter": "lawyer_letter",
    "lawyer letter": "lawyer_letter",
    "statement": "statement",
    "statement of account": "statement",
    "promise confirmation": "promise_confirmation",
}
#: Days the customer is given to pay in reminders and notices.
PAY_WITHIN_DAYS = 7


@dataclass(frozen=True)
class OpenInvoice:
    number: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    amount: Decimal
    open_amount: Decimal
    days_late: int
    disputed: bool = False


@dataclass(frozen=True)
class InterestLine:
    """Late-payment interest or a fee on one invoice (from the ``interest_for`` hook)."""

    invoice_number: str
    currency: str
    amount: Decimal
    label: str = ""


class InterestHook(Protocol):
    """What the late-payment interest computation gives a message: per-invoice lines, or none.

    ``hub.interest`` (issue 20, the cases part) supplies the real one; without it no interest is shown.
    """

    def __call__(self, customer_id: str, invoices: Sequence[OpenInvoice], as_of: dt.date) -> Sequence[InterestLine]: ...


def no_interest(customer_id: str, invoices: Sequence[OpenInvoice], as_of: dt.date) -> Sequence[InterestLine]:
    return ()


@dataclass
class Rendered:
    template: str
    channel: str
    language: str
    subject: str
    html: str
    text: str
    invoices: list[str] = field(default_factory=list)


def template_for(step: str | None, mapping: dict[str, str]) -> str:
    """The template key for a ladder step name or a template key; unknown ones are refused."""
    wanted = (step or "friendly_reminder").strip()
    key = mapping.get(wanted) or STEP_TEMPLATES.get(wanted.casefold()) or wanted.replace("-", "_").replace(" ", "_")
    if key not in TEMPLATE_KEYS:
        raise CommsError(
            N_("no template for step %(step)r; use one of: %(allowed)s (or map the step in [comms] steps)"),
            values={"step": wanted, "allowed": ", ".join(TEMPLATE_KEYS)},
        )
    return key


@functools.cache
def environment(templates_dir: Path | None) -> jinja2.Environment:
    """One environment per templates folder, so each template is compiled once per process, not once
    per message (the loaders still notice a template edited since)."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def open_invoices(conn: sa.Connection, customer_id: str, as_of: dt.date, disputed: set[str]) -> list[OpenInvoice]:
    """The customer's open invoices (open in the hub above zero: the ERP's open amount less the hub's live
    allocations, :mod:`hub.openitems`), oldest due first."""
    return [
        OpenInvoice(
            number=i.number,
            issue_date=i.issue_date,
            due_date=i.due_date,
            currency=i.currency,
            amount=i.amount,
            open_amount=i.open,
            days_late=max(0, (as_of - i.due_date).days),
            disputed=i.number in disputed,
        )
        for i in openitems.customer_invoices(conn, customer_id)
        if i.open > 0
    ]


def covered(template: str, invoices: list[OpenInvoice], chosen: Sequence[str]) -> list[OpenInvoice]:
    """The invoices a message is about: those named, else for a reminder or notice the overdue ones not in
    dispute, else (statement, promise confirmation) every open one."""
    if chosen:
        by_number = {i.number: i for i in invoices}
        missing = [n for n in chosen if n not in by_number]
        if missing:
            raise CommsError(
                N_("the customer has no open invoice %(invoices)s"), values={"invoices": ", ".join(missing)}
            )
        return [by_number[n] for n in chosen]
    if template in DUNNING:
        return [i for i in invoices if i.days_late > 0 and not i.disputed]
    return invoices


def render(
    env: jinja2.Environment,
    *,
    template: str,
    channel: str,
    language: str,
    customer_id: str,
    customer_name: str | None,
    invoices: list[OpenInvoice],
    as_of: dt.date,
    interest: Callable[[str, Sequence[OpenInvoice], dt.date], Sequence[InterestLine]] = no_interest,
    promise: dict[str, Any] | None = None,
    sender: dict[str, str] | None = None,
) -> Rendered:
    """One message: the template filled with the customer's invoices, amounts, days late and totals."""
    if language not in LANGUAGES:
        raise CommsError(
            N_("unknown language %(language)r; use one of: %(allowed)s"),
            values={"language": language, "allowed": ", ".join(LANGUAGES)},
        )
    if channel not in CHANNELS:
        raise CommsError(
            N_("unknown channel %(channel)r; use one of: %(allowed)s"),
            values={"channel": channel, "allowed": ", ".join(CHANNELS)},
        )
    try:
        tmpl = env.select_template([f"{template}.{channel}.{language}.html", f"{template}.{language}.html"])
    except jinja2.TemplateNotFound:
        raise CommsError(
            N_("no template %(template)s for %(language)s"), values={"template": template, "language": language}
        ) from None
    lines = list(interest(customer_id, invoices, as_of))
    per_invoice: dict[str, list[InterestLine]] = {}
    for line in lines:
        per_invoice.setdefault(line.invoice_number, []).append(line)

    def money(amount: Decimal, currency: str) -> str:
        return i18n.money(amount, currency, language)

    totals: dict[str, Decimal] = {}
    for inv in invoices:
        totals[inv.currency] = totals.get(inv.currency, Decimal(0)) + inv.open_amount
    interest_totals: dict[str, Decimal] = {}
    for line in lines:
        interest_totals[line.currency] = interest_totals.get(line.currency, Decimal(0)) + line.amount
    context: dict[str, Any] = {
        "lang": language,
        "channel": channel,
        "customer": {"id": customer_id, "name": customer_name or customer_id},
        "today": i18n.date(as_of, language, style="long"),
        "as_of": as_of,
        "pay_by": i18n.date(as_of + dt.timedelta(days=PAY_WITHIN_DAYS), language, style="long"),
        "invoices": [
            {
                "number": inv.number,
                "issued": i18n.date(inv.issue_date, language),
                "due": i18n.date(inv.due_date, language),
                "days_late": inv.days_late,
                "open": money(inv.open_amount, inv.currency),
                "amount": money(inv.amount, inv.currency),
                "disputed": inv.disputed,
                "interest": ", ".join(money(x.amount, x.currency) for x in per_invoice.get(inv.number, [])),
            }
            for inv in invoices
        ],
        "totals": [money(v, k) for k, v in sorted(totals.items())],
        "interest": bool(lines),
        "interest_lines": [
            {"invoice": x.invoice_number, "amount": money(x.amount, x.currency), "label": x.label} for x in lines
        ],
        "interest_totals": [money(v, k) for k, v in sorted(interest_totals.items())],
        "promise": promise,
        "company": "",
        "company_address": "",
        "from_name": "",
        **(sender or {}),
    }
    try:
        subject = "".join(tmpl.blocks["subject"](tmpl.new_context(context))).strip()
        html = tmpl.render(context)
    except (jinja2.TemplateError, KeyError) as exc:
        raise CommsError(
            N_("template %(template)s cannot be rendered: %(problem)s"),
            values={"template": tmpl.name or template, "problem": str(exc)},
        ) from None
    return Rendered(
        template=template,
        channel=channel,
        language=language,
        subject=" ".join(subject.split()),
        html=html,
        text=html_text(html),
        invoices=[i.number for i in invoices],
    )


def html_text(html: str) -> str:
    """The text of an HTML message, one paragraph or table row a line (the text/plain part of an email)."""
    doc: Any = lxml.html.document_fromstring(html)
    for bad in doc.xpath("//style|//title|//head"):
        bad.drop_tree()
    for cell in doc.xpath("//td|//th"):
        cell.tail = "\t" + (cell.tail or "")
    for block in doc.xpath("//p|//tr|//h2|//br|//table"):
        block.tail = "\n" + (block.tail or "")
    text = str(doc.text_content())
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip() + "\n"


#: Han characters: a letter with them needs a font that has them, or it prints empty boxes.
_HAN = re.compile(r"[\u3400-\u9fff]")


@functools.cache
def _han_font_installed() -> bool | None:
    """Whether fontconfig knows a font for Chinese (None: no ``fc-list`` to ask, as off Linux)."""
    try:
        found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(found.stdout.strip())


def pdf(html: str) -> bytes:
    """A message as a printable PDF (WeasyPrint; Chinese needs the Noto CJK fonts of Debian's fonts-noto-cjk).

    Raises :class:`CommsError` saying what to install when WeasyPrint's Pango library is missing, or
    when the text is Chinese and no installed font has Chinese characters (it would print boxes).
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise CommsError(
            N_("letters need Pango (Debian: apt install libpango-1.0-0 libpangoft2-1.0-0): %(error)s"),
            values={"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__},
        ) from None
    if _HAN.search(html) and _han_font_installed() is False:
        raise CommsError(N_("no installed font has Chinese characters (Debian: apt install fonts-noto-cjk)"))
    out = weasyprint.HTML(string=html).write_pdf()
    assert out is not None
    return bytes(out)
