"""Collections: today's planned steps by owner, most valuable first; log a call or a promise in place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from hub import i18n
from hub.errors import HubError
from hub.i18n import N_
from hub.web.auth import WebUser, current_user, hub_of, require
from hub.web.console.common import Paging, locale_for, page_slice, render
from hub.web.console.customers import CHANNELS, log_contact

router = APIRouter(include_in_schema=False)


@router.get("/collections")
def collections(request: Request, *, owner: str = "", user: Annotated[WebUser, Depends(current_user)]) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    page = Paging.of(request, sort="value", allowed=("value",), locale=locale)
    due = hub.collections.due()
    owners = sorted({str(s.get("owner") or "") for s in due.steps} - {""})
    steps = [s for s in due.steps if not owner or s.get("owner") == owner]
    if page.q:
        needle = page.q.lower()
        steps = [s for s in steps if needle in f"{s['customer_id']} {s.get('name') or ''}".lower()]
    return render(
        request,
        "console/collections.html",
        user,
        title=i18n.gettext(locale, N_("Collections")),
        active="collections",
        as_of=due.as_of,
        assessed=due.assessed,
        steps=page_slice(steps, page),
        page=page,
        owners=owners,
        owner=owner,
        channels=CHANNELS,
        can_log=user.has("credit", "sales", "finance"),
        can_send=user.has("credit", "finance"),
    )


@router.post("/collections/{customer_id}/log")
async def log(
    customer_id: str, request: Request, *, user: Annotated[WebUser, Depends(require("credit", "sales", "finance"))]
) -> Response:
    """Log the call (and a promise) against a due step: htmx gets the step's row back marked as logged."""
    locale = locale_for(request)
    try:
        line = await log_contact(request, user, customer_id)
    except HubError as exc:
        message = i18n.error_text(locale, exc)
        if "HX-Request" in request.headers:
            return render(request, "console/flash_row.html", user, message=message, colspan=7)
        return RedirectResponse("/collections", status_code=303)
    if "HX-Request" in request.headers:
        return render(request, "console/collection_logged.html", user, customer_id=customer_id, line=line)
    return RedirectResponse("/collections", status_code=303)


#: What each outcome of a batch send is called on the page.
OUTCOMES = {
    "queued": N_("queued"),
    "planned": N_("would be queued"),
    "blocked": N_("blocked"),
    "already": N_("sent already"),
    "skipped": N_("left to a person"),
    "failed": N_("failed"),
}


@router.post("/collections/send-due")
async def send_due(request: Request, *, user: Annotated[WebUser, Depends(require("credit", "finance"))]) -> Response:
    """Queue the message of every due step (emails and letters; the compliance rules decide) and show
    what became of each: the console's 'hub comms send-due'."""
    locale = locale_for(request)
    form = await request.form()
    owner = str(form.get("owner") or "") or None
    dry_run = form.get("dry_run") == "1"
    try:
        outcomes = hub_of(request).comms.send_due(actor=user.actor, owner=owner, dry_run=dry_run, locale=locale)
    except HubError as exc:
        return render(
            request,
            "console/collections_sent.html",
            user,
            status_code=409,
            title=i18n.gettext(locale, N_("Collections")),
            active="collections",
            error=i18n.error_text(locale, exc),
            outcomes=[],
            outcome_labels=OUTCOMES,
            dry_run=dry_run,
            owner=owner or "",
        )
    return render(
        request,
        "console/collections_sent.html",
        user,
        title=i18n.gettext(locale, N_("Collections")),
        active="collections",
        error=None,
        outcomes=outcomes,
        outcome_labels=OUTCOMES,
        dry_run=dry_run,
        owner=owner or "",
    )
