"""Credit limits: the risk run's proposals (approve, reject: ``credit``) and limits people request, with
the four-eyes rule: a change above ``[credit] four_eyes_amount`` waits for a second credit user, and
the requester can never approve their own request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from hub.web.api.common import Limit, Offset
from hub.web.api.models import (
    ApprovalOut,
    DecisionIn,
    LimitRequestIn,
    LimitRequestOut,
    Page,
    ProposalOut,
)
from hub.web.auth import AnyUser, Credit, hub_of

router = APIRouter(prefix="/limits", tags=["limits"])
ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _proposal(p: Any, names: dict[str, str] | None = None) -> ProposalOut:
    return ProposalOut.model_validate({**p.as_dict(), "customer_name": (names or {}).get(p.customer_id)})


def _request(r: Any) -> LimitRequestOut:
    return LimitRequestOut(
        id=r.id,
        customer_id=r.customer_id,
        currency=r.currency,
        current_limit=r.current_limit,
        requested=r.requested,
        change=r.change,
        reason=r.reason,
        status=r.status,
        four_eyes=r.four_eyes,
        requested_by=r.requested_by,
        requested_at=r.requested_at,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        note=r.note,
        event_id=r.event_id,
    )


@router.get("/proposals", response_model=Page[ProposalOut], summary="The risk run's limit proposals")
def proposals(
    request: Request,
    _user: AnyUser,
    status: Annotated[Literal["pending", "approved", "rejected", "applied", "superseded"] | None, Query()] = None,
    customer_id: Annotated[str | None, Query(max_length=255)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ProposalOut]:
    found, total, names = hub_of(request).limits.proposal_page(
        status=status, customer_id=customer_id, limit=limit, offset=offset
    )
    return Page[ProposalOut](items=[_proposal(p, names) for p in found], total=total, limit=limit, offset=offset)


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, summary="A proposal and its reasons")
def proposal(proposal_id: ProposalId, request: Request, _user: AnyUser) -> ProposalOut:
    return _proposal(hub_of(request).limits.explain(proposal_id))


@router.post("/proposals/{proposal_id}/approve", response_model=ApprovalOut, summary="Approve a pending proposal")
def approve(proposal_id: ProposalId, body: DecisionIn, request: Request, user: Credit) -> ApprovalOut:
    done = hub_of(request).limits.approve(proposal_id, by=user.actor, note=body.note)
    return ApprovalOut(proposal=_proposal(done.proposal), event_id=done.event.event_id, sinks=done.sinks)


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalOut, summary="Reject a pending proposal")
def reject(proposal_id: ProposalId, body: DecisionIn, request: Request, user: Credit) -> ProposalOut:
    return _proposal(hub_of(request).limits.reject(proposal_id, by=user.actor, note=body.note))


@router.get("/requests", response_model=Page[LimitRequestOut], summary="Limits people requested")
def requests(
    request: Request,
    _user: AnyUser,
    status: Annotated[Literal["pending", "applied", "approved", "rejected", "withdrawn"] | None, Query()] = None,
    customer_id: Annotated[str | None, Query(max_length=255)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LimitRequestOut]:
    found, total = hub_of(request).limits.requests(status=status, customer_id=customer_id, limit=limit, offset=offset)
    return Page[LimitRequestOut](items=[_request(r) for r in found], total=total, limit=limit, offset=offset)


@router.post(
    "/requests",
    response_model=LimitRequestOut,
    status_code=201,
    summary="Request a limit (applied at once within the four-eyes threshold, else pending)",
)
def request_limit(body: LimitRequestIn, request: Request, user: Credit) -> LimitRequestOut:
    return _request(hub_of(request).limits.request(body.customer_id, body.amount, by=user.actor, reason=body.reason))


@router.post(
    "/requests/{request_id}/approve",
    response_model=LimitRequestOut,
    summary="Approve a pending request (a second credit user; never the requester)",
)
def approve_request(request_id: ProposalId, body: DecisionIn, request: Request, user: Credit) -> LimitRequestOut:
    return _request(hub_of(request).limits.decide_request(request_id, approve=True, by=user.actor, note=body.note))


@router.post(
    "/requests/{request_id}/reject",
    response_model=LimitRequestOut,
    summary="Reject a pending request (the requester withdraws it)",
)
def reject_request(request_id: ProposalId, body: DecisionIn, request: Request, user: Credit) -> LimitRequestOut:
    return _request(hub_of(request).limits.decide_request(request_id, approve=False, by=user.actor, note=body.note))
