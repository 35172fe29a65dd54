"""Audit: every write, who made it and when; searchable, sortable, paged (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub import i18n
from hub.i18n import N_
from hub.web.auth import WebUser, hub_of, require
from hub.web.console.common import Paging, locale_for, render

router = APIRouter(include_in_schema=False)


@router.get("/audit")
def audit(
    request: Request, *, actor: str = "", action: str = "", user: Annotated[WebUser, Depends(require("admin"))]
) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    page = Paging.of(request, sort="-id", allowed=("at", "actor", "action", "id"), locale=locale)
    found = hub.audit.page(
        actor=actor.strip() or None,
        action=action.strip() or None,
        q=page.q,
        sort=page.sort,
        limit=page.limit,
        offset=page.offset,
    )
    page.total = found.total
    return render(
        request,
        "console/audit.html",
        user,
        title=i18n.gettext(locale, N_("Audit")),
        active="audit",
        rows=found.items,
        page=page,
        actor=actor,
        action=action,
    )
