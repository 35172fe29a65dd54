"""The REST API, ``/api/v1``: one router per area, each route one call of a service (``docs/web-api.md``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hub.web.api import admin, customers, limits, receipts
from hub.web.api.models import ErrorOut, Me
from hub.web.auth import AnyUser, locale_of

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "Not possible as asked"),
        (401, "Not authenticated"),
        (403, "Not allowed (role, CSRF, four eyes)"),
        (404, "Not found"),
        (409, "Refused in the current state"),
        (422, "Invalid request"),
        (503, "The store is busy or unavailable"),
    )
}

router = APIRouter(prefix="/api/v1", responses=ERRORS)


@router.get("/me", response_model=Me, tags=["me"], summary="Who is asking")
def me(request: Request, user: AnyUser) -> Me:
    return Me(
        name=user.name,
        display_name=user.display_name,
        roles=list(user.roles),
        locale=locale_of(request),
        kind=user.kind,
        csrf_token=user.csrf_token,
    )


router.include_router(receipts.router)
router.include_router(customers.router)
router.include_router(limits.router)
router.include_router(admin.router)
