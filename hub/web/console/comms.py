"""Communications on the customer's page: preview a message in a frame, send it, resend, the history;
and the disputes list."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub import i18n
from hub.errors import HubError
from hub.i18n import N_
from hub.web.auth import WebUser, current_user, hub_of, require
from hub.web.console.common import locale_for, render

router = APIRouter(include_in_schema=False)
#: The templates (hub.comms.render.TEMPLATE_KEYS) and what the page calls them.
STEPS = {
    "friendly_reminder": N_("friendly reminder"),
    "second_reminder": N_("second reminder"),
    "final_notice": N_("final notice"),
    "lawyer_letter": N_("lawyer's letter"),
    "statement": N_("statement of account"),
    "promise_confirmation": N_("promise confirmation"),
}


@router.get("/customers/{customer_id}/comms")
def comms_page(
    customer_id: str, request: Request, *, user: Annotated[WebUser, Depends(current_user)], done: str = ""
) -> Response:
    """The customer's messages and disputes; ``done=1`` after a send or resend says it was queued."""
    locale = locale_for(request)
    return _page(request, user, customer_id, i18n.gettext(locale, N_("Queued.")) if done else "")


def _page(request: Request, user: WebUser, customer_id: str, flash: str, status_code: int = 200) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    return render(
        request,
        "console/comms.html",
        user,
        title=i18n.gettext(locale, N_("Communications")),
        active="customers",
        customer_id=customer_id,
        contact=hub.comms.contact_of(customer_id),
        messages=hub.comms.messages(customer_id=customer_id, limit=50),
        disputes=hub.disputes.list(customer_id=customer_id),
        steps=STEPS,
        can_send=user.has("credit", "finance"),
        flash=flash,
        status_code=status_code,
    )


@router.get("/customers/{customer_id}/comms/preview")
def comms_preview(
    customer_id: str,
    request: Request,
    *,
    user: Annotated[WebUser, Depends(current_user)],
    step: str = "",
    lang: str = "",
    channel: str = "email",
) -> Response:
    """The message as it would go out, for the preview frame."""
    try:
        found = hub_of(request).comms.preview(customer_id, step=step or None, language=lang or None, channel=channel)
    except HubError as exc:
        return HTMLResponse(f"<p>{escape(i18n.error_text(locale_for(request), exc))}</p>", status_code=422)
    return HTMLResponse(found["html"])


@router.post("/customers/{customer_id}/comms/send")
async def comms_send(
    customer_id: str, request: Request, *, user: Annotated[WebUser, Depends(require("credit", "finance"))]
) -> Response:
    form = await request.form()
    try:
        hub_of(request).comms.send(
            customer_id,
            actor=user.actor,
            step=str(form.get("step") or "") or None,
            language=str(form.get("lang") or "") or None,
            channel=str(form.get("channel") or "email"),
        )
    except HubError as exc:  # the page again, saying which rule (or what) stopped it
        return _page(request, user, customer_id, i18n.error_text(locale_for(request), exc), 422)
    return RedirectResponse(f"/customers/{quote(customer_id, safe='')}/comms?done=1", status_code=303)


@router.post("/comms/{message}/resend")
async def comms_resend(
    message: str, request: Request, *, user: Annotated[WebUser, Depends(require("credit", "finance"))]
) -> Response:
    hub = hub_of(request)
    found, _, _ = hub.comms.message(message)
    try:
        hub.comms.resend(message, actor=user.actor)
    except HubError as exc:
        return _page(request, user, found["customer_id"], i18n.error_text(locale_for(request), exc), 422)
    return RedirectResponse(f"/customers/{quote(found['customer_id'], safe='')}/comms?done=1", status_code=303)


@router.get("/disputes")
def disputes_page(
    request: Request, *, user: Annotated[WebUser, Depends(current_user)], status: str = "open"
) -> Response:
    locale = locale_for(request)
    return render(
        request,
        "console/comms_disputes.html",
        user,
        title=i18n.gettext(locale, N_("Disputes")),
        active="disputes",
        disputes=hub_of(request).disputes.list(status=status or None),
        status=status,
    )
