"""Connectors: each one's health (last sync run, last failure, deliveries waiting or failed), the records in
quarantine, the dead letters; replaying dead letters is for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from hub import i18n
from hub.errors import HubError
from hub.i18n import N_
from hub.web.auth import WebUser, hub_of, require
from hub.web.console.common import locale_for, render

router = APIRouter(include_in_schema=False)

READERS = ("admin", "finance", "credit", "viewer")


def _page(request: Request, user: WebUser, *, flashes: list[tuple[str, str]] | None = None) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    connectors = hub.connector_status.status()
    for c in connectors:
        run, failure = c.get("last_run"), c.get("last_failure")
        if c.get("last_delivery_error") or (run and run["status"] not in ("ok", "running")):
            c["health"] = "error"
        elif c["outbox"].get("dead") or c["outbox"].get("failed"):
            c["health"] = "failed"
        else:
            c["health"] = "ok"
        c["recent_failure"] = failure
    quarantine, quarantined = hub.quarantined(limit=50)
    dead = hub.deliveries.view(["dead"], limit=50).rows.get("dead", [])
    return render(
        request,
        "console/connectors.html",
        user,
        title=i18n.gettext(locale, N_("Connectors")),
        active="connectors",
        connectors=connectors,
        quarantine=quarantine,
        quarantined=quarantined,
        dead=dead,
        can_replay=user.has("admin"),
        flashes=flashes or [],
    )


@router.get("/connectors")
def connectors(request: Request, *, user: Annotated[WebUser, Depends(require(*READERS))]) -> Response:
    return _page(request, user)


@router.post("/connectors/replay")
def replay(
    request: Request,
    *,
    sink: Annotated[str, Form()] = "",
    dead_letter: Annotated[list[int] | None, Form()] = None,
    user: Annotated[WebUser, Depends(require("admin"))],
) -> Response:
    """Queue dead letters again (the ones ticked, else every one of the sink named, else all)."""
    locale = locale_for(request)
    try:
        stats = hub_of(request).deliveries.replay(sink=sink or None, ids=dead_letter or None, actor=user.actor)
    except HubError as exc:
        return _page(request, user, flashes=[("error", i18n.error_text(locale, exc))])
    message = i18n.gettext(
        locale,
        N_("Queued again: %(dead)s dead letters, %(failed)s failed deliveries."),
        dead=stats.dead_letters,
        failed=stats.failed,
    )
    return _page(request, user, flashes=[("ok", message)])
