"""Operations: connectors with their last sync and push status (everyone reads); the outbox and dead
letters, replay, and the audit log (``admin``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from hub.web.api.common import Limit, Offset, Search
from hub.web.api.models import AuditOut, ConnectorOut, OutboxOut, Page, ReplayIn, ReplayOut
from hub.web.auth import Admin, AnyUser, hub_of

router = APIRouter(tags=["operations"])
OutboxStatus = Literal["pending", "failed", "dead", "delivered", "not_linked"]
AuditSort = Literal["id", "-id", "at", "-at", "actor", "-actor", "action", "-action"]


@router.get("/connectors", response_model=list[ConnectorOut], summary="Connectors: last sync, deliveries, notices")
def connectors(request: Request, _user: AnyUser) -> list[ConnectorOut]:
    return [ConnectorOut.model_validate(c) for c in hub_of(request).connector_status.status()]


@router.get("/outbox", response_model=OutboxOut, summary="The outbox by sink and status, and its rows")
def outbox(
    request: Request,
    _user: Admin,
    status: Annotated[list[OutboxStatus] | None, Query()] = None,
    sink: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
) -> OutboxOut:
    view = hub_of(request).deliveries.view(status or ["failed", "dead"], sink=sink, limit=limit)
    return OutboxOut.model_validate({"summary": view.summary, "rows": view.rows})


@router.post("/outbox/replay", response_model=ReplayOut, summary="Queue dead letters again, make failed rows due")
def replay(body: ReplayIn, request: Request, user: Admin) -> ReplayOut:
    stats = hub_of(request).deliveries.replay(sink=body.sink, ids=body.ids, actor=user.actor)
    return ReplayOut(stats=stats.as_dict())


@router.get("/audit", response_model=Page[AuditOut], summary="The audit log")
def audit(
    request: Request,
    _user: Admin,
    actor: Annotated[str | None, Query(max_length=255)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    object_id: Annotated[str | None, Query(max_length=400)] = None,
    q: Search = None,
    sort: AuditSort = "-id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditOut]:
    page = hub_of(request).audit.page(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        q=q,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return Page[AuditOut](
        items=[AuditOut.model_validate(r) for r in page.items], total=page.total, limit=limit, offset=offset
    )
