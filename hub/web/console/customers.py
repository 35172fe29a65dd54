"""Customers: the list (searchable by id and name, by band and flags, sortable, paged) and one customer's
page: exposure, ageing chart, score with its reasons, bureau view, flags, ledger (log a contact in
place), promises, next collection step, limit history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from hub import i18n
from hub.errors import HubError
from hub.i18n import N_
from hub.web.auth import WebUser, current_user, hub_of, require
from hub.web.charts import AGEING_COLOURS, Series, bar_chart
from hub.web.console.common import Paging, bucket_title, locale_for, render

router = APIRouter(include_in_schema=False)

SORTS = (
    "customer_id",
    "name",
    "open_amount",
    "overdue_amount",
    "open_base",
    "score",
    "max_days_past_due",
    "utilisation",
)
CHANNELS = ("phone", "email", "visit", "letter", "sms", "other")


@router.get("/customers")
def customers(
    request: Request, *, band: str = "", flagged: str = "", user: Annotated[WebUser, Depends(current_user)]
) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    page = Paging.of(request, sort="-open_base", allowed=SORTS, locale=locale)
    band = band if band in ("A", "B", "C", "D", "E") else ""
    only_flagged = {"yes": True, "no": False}.get(flagged)
    found = hub.exposures.page(
        q=page.q, band=band or None, flagged=only_flagged, sort=page.sort, limit=page.limit, offset=page.offset
    )
    page.total = found.total
    return render(
        request,
        "console/customers.html",
        user,
        title=i18n.gettext(locale, N_("Customers")),
        active="customers",
        rows=found.items,
        page=page,
        band=band,
        flagged=flagged if only_flagged is not None else "",
    )


def ageing_chart(exposure: dict[str, Any], buckets: list[str], locale: str) -> str:
    """The customer's open amount by days past due, as SVG bars with the amounts written above."""
    values = [float(Decimal(str((exposure.get("buckets") or {}).get(b, 0)))) for b in buckets]
    currency = exposure.get("currency")
    return bar_chart(
        [bucket_title(b, locale) for b in buckets],
        [Series(i18n.gettext(locale, N_("Open")), values)],
        aria=i18n.gettext(locale, N_("Open amount by days past due")),
        colours=AGEING_COLOURS,
        value_labels=[i18n.money(Decimal(str(v)), currency, locale) for v in values],
        y_format=lambda v: i18n.number(v, locale),
        width=560,
        height=240,
        empty=i18n.gettext(locale, N_("Nothing open.")),
    )


def _limit_history(hub: Any, customer_id: str, locale: str) -> list[dict[str, Any]]:
    """Proposals of the risk run and requests of people, newest first, as rows of one table; ``why`` is a
    list of sentences in the reader's language (a proposal's first two reasons), shown one per line."""
    rows: list[dict[str, Any]] = []
    proposals, _total, _names = hub.limits.proposal_page(customer_id=customer_id, limit=50)
    for p in proposals:
        rows.append(
            {
                "date": p.as_of,
                "current": p.current_limit,
                "amount": p.recommended,
                "currency": p.currency,
                "status": p.status,
                "by": p.decided_by,
                "why": p.reason_texts(locale)[:2],
            }
        )
    requests, _total = hub.limits.requests(customer_id=customer_id, limit=50)
    for r in requests:
        rows.append(
            {
                "date": r.requested_at,
                "current": r.current_limit,
                "amount": r.requested,
                "currency": r.currency,
                "status": r.status,
                "by": r.decided_by or r.requested_by,
                "why": [r.reason],  # a person's own words, as written
            }
        )
    rows.sort(key=lambda r: _aware(r["date"]), reverse=True)
    return rows


def _aware(value: dt.datetime | dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _page(
    request: Request, user: WebUser, customer_id: str, *, flashes: list[tuple[str, str]] | None = None
) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    found = hub.exposures.customer(customer_id)
    exposure = found.exposure
    try:
        ledger = hub.collections.ledger(customer_id)
    except HubError:
        ledger = []
    invoices = hub.exposures.invoices(customer_id, status="open", sort="due_date", limit=50)
    return render(
        request,
        "console/customer.html",
        user,
        title=exposure.get("name") or customer_id,
        active="customers",
        cid=customer_id,
        e=exposure,
        flags=found.flags,
        bureaus=found.bureaus,
        ageing_chart=ageing_chart(exposure, found.buckets, locale),
        ledger=ledger,
        invoices=[i for i in invoices.items if i["remaining"] != 0],
        invoices_total=invoices.total,
        promises=hub.collections.promise_page(customer_id=customer_id, limit=50).items,
        limits=_limit_history(hub, customer_id, locale),
        channels=CHANNELS,
        can_log=user.has("credit", "sales", "finance"),
        flashes=flashes or [],
    )


@router.get("/customers/{customer_id}")
def customer(customer_id: str, request: Request, *, user: Annotated[WebUser, Depends(current_user)]) -> Response:
    return _page(request, user, customer_id)


def parse_amount(text: str | None) -> Decimal | None:
    value = (text or "").strip().replace(",", "")
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise HubError(N_("%(value)s is not an amount"), values={"value": value}) from None
    if not amount.is_finite() or amount <= 0:
        raise HubError(N_("%(value)s is not an amount"), values={"value": value})
    return amount


def parse_day(text: str | None) -> dt.date | None:
    value = (text or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HubError(N_("%(value)s is not a date (YYYY-MM-DD)"), values={"value": value}) from None


async def log_contact(request: Request, user: WebUser, customer_id: str) -> dict[str, Any]:
    """Write the ledger line the form describes (a call, a visit... with a promise, if any)."""
    form = await request.form()
    channel = str(form.get("channel") or "phone")
    if channel not in CHANNELS:
        raise HubError(N_("channel must be one of %(allowed)s"), values={"allowed": ", ".join(CHANNELS)})
    content = str(form.get("content") or "").strip()
    if not content:
        raise HubError(N_("say what was said"))
    promise_date = parse_day(str(form.get("promise_date") or ""))
    promise_amount = parse_amount(str(form.get("promise_amount") or ""))
    if (promise_date is None) != (promise_amount is None):
        raise HubError(N_("a promise needs both a date and an amount"))
    line: dict[str, Any] = hub_of(request).collections.log(
        customer_id,
        channel=channel,
        content=content,
        actor=user.actor,
        outcome=str(form.get("outcome") or "").strip() or None,
        promise_date=promise_date,
        promise_amount=promise_amount,
    )
    return line


@router.post("/customers/{customer_id}/ledger")
async def add_ledger_line(
    customer_id: str, request: Request, *, user: Annotated[WebUser, Depends(require("credit", "sales", "finance"))]
) -> Response:
    """Log a contact: htmx gets the new ledger row (put at the top in place), a form the customer's page."""
    locale = locale_for(request)
    try:
        line = await log_contact(request, user, customer_id)
    except HubError as exc:
        message = i18n.error_text(locale, exc)
        if "HX-Request" in request.headers:
            return render(request, "console/flash_row.html", user, message=message, colspan=5, status_code=200)
        return _page(request, user, customer_id, flashes=[("error", message)])
    if "HX-Request" in request.headers:
        return render(request, "console/ledger_row.html", user, line={**line, "new": True})
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)
