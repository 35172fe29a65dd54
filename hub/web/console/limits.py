"""Limits: credit limits waiting for an approval (the risk run's proposals and people's requests), a request
for a new limit, approve and reject. The four-eyes rule is the service's: a request above the size set
in ``[credit]`` waits for a second credit user, and its requester can never approve it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from hub import i18n
from hub.errors import HubError
from hub.i18n import N_
from hub.web.auth import WebUser, current_user, hub_of, require
from hub.web.console.common import Paging, locale_for, render
from hub.web.console.customers import parse_amount

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, user: WebUser, *, flashes: list[tuple[str, str]] | None = None, status_code: int = 200
) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    page = Paging.of(request, sort="-date", allowed=("date",), locale=locale)
    proposals, page.total, names = hub.limits.proposal_page(
        status="pending", customer_id=page.q, limit=page.limit, offset=page.offset
    )
    requests, _total = hub.limits.requests(status="pending", limit=200)
    recent, _n = hub.limits.requests(limit=20)
    return render(
        request,
        "console/limits.html",
        user,
        title=i18n.gettext(locale, N_("Limits")),
        active="limits",
        proposals=proposals,
        names=names,
        page=page,
        requests=requests,
        recent=[r for r in recent if r.status != "pending"],
        can_decide=user.has("credit"),
        flashes=flashes or [],
        status_code=status_code,
    )


@router.get("/limits")
def limits(request: Request, *, user: Annotated[WebUser, Depends(current_user)]) -> Response:
    return _page(request, user)


def _done(request: Request, user: WebUser, message: str) -> Response:
    return _page(request, user, flashes=[("ok", message)])


def _refused(request: Request, user: WebUser, exc: HubError) -> Response:
    return _page(request, user, flashes=[("error", i18n.error_text(locale_for(request), exc))], status_code=409)


@router.post("/limits/request")
def request_limit(
    request: Request,
    *,
    customer: Annotated[str, Form()] = "",
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    user: Annotated[WebUser, Depends(require("credit"))],
) -> Response:
    locale = locale_for(request)
    try:
        value = parse_amount(amount)
        if value is None:
            raise HubError(N_("%(value)s is not an amount"), values={"value": amount})
        made = hub_of(request).limits.request(customer.strip(), value, by=user.actor, reason=reason.strip())
    except HubError as exc:
        return _refused(request, user, exc)
    if made.status == "pending":
        message = i18n.gettext(
            locale, N_("Limit request #%(id)s waits for a second credit user's approval."), id=made.id
        )
    else:
        message = i18n.gettext(locale, N_("Limit request #%(id)s applied."), id=made.id)
    return _done(request, user, message)


#: A decision form names its choice; a post without one (or with any other word) is refused, never read as
#: a rejection.
Decision = Literal["approve", "reject"]


@router.post("/limits/requests/{request_id}/decide")
def decide(
    request_id: int,
    request: Request,
    *,
    decision: Annotated[Decision, Form()],
    note: Annotated[str, Form()] = "",
    user: Annotated[WebUser, Depends(require("credit"))],
) -> Response:
    locale = locale_for(request)
    try:
        done = hub_of(request).limits.decide_request(
            request_id, approve=decision == "approve", by=user.actor, note=note.strip() or None
        )
    except HubError as exc:
        return _refused(request, user, exc)
    text = {"approved": N_("Limit request #%(id)s approved."), "withdrawn": N_("Limit request #%(id)s withdrawn.")}
    return _done(
        request, user, i18n.gettext(locale, text.get(done.status, N_("Limit request #%(id)s rejected.")), id=done.id)
    )


@router.post("/limits/proposals/{proposal_id}/decide")
def decide_proposal(
    proposal_id: int,
    request: Request,
    *,
    decision: Annotated[Decision, Form()],
    note: Annotated[str, Form()] = "",
    user: Annotated[WebUser, Depends(require("credit"))],
) -> Response:
    locale = locale_for(request)
    hub = hub_of(request)
    try:
        if decision == "approve":
            hub.limits.approve(f"#{proposal_id}", by=user.actor, note=note.strip() or None)
            message = i18n.gettext(locale, N_("Proposal #%(id)s approved."), id=proposal_id)
        else:
            hub.limits.reject(f"#{proposal_id}", by=user.actor, note=note.strip() or None)
            message = i18n.gettext(locale, N_("Proposal #%(id)s rejected."), id=proposal_id)
    except HubError as exc:
        return _refused(request, user, exc)
    return _done(request, user, message)


@router.get("/limits/request")
def request_form(request: Request, *, user: Annotated[WebUser, Depends(current_user)]) -> Response:
    return RedirectResponse("/limits#request", status_code=303)
