"""Receipts and matches: the payments by match status with their allocations; confirm, allocate by hand,
reject, unmatch (role ``finance``); the evidence of a match (``explain``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from hub.web.api.common import Limit, Offset, Search
from hub.web.api.models import ActionIn, ActionOut, AllocateIn, ExplainOut, Page, ReceiptOut, UnmatchIn
from hub.web.auth import AnyUser, Finance, hub_of, refuse_unless

router = APIRouter(prefix="/receipts", tags=["receipts"])
ReceiptSort = Literal["id", "-id", "booking_date", "-booking_date", "amount", "-amount", "payer_name", "-payer_name"]


@router.get("", response_model=Page[ReceiptOut], summary="Customer payments by match status")
def receipts(
    request: Request,
    _user: AnyUser,
    status: Annotated[Literal["open", "suggested", "matched"] | None, Query()] = None,
    q: Search = None,
    sort: ReceiptSort = "-id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ReceiptOut]:
    page = hub_of(request).matches.receipts(status=status, q=q, sort=sort, limit=limit, offset=offset)
    return Page[ReceiptOut](
        items=[ReceiptOut.model_validate(r) for r in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/{ref}/explain", response_model=ExplainOut, summary="Every proposal for a receipt with its evidence")
def explain(
    ref: str,
    request: Request,
    _user: AnyUser,
    considered: Annotated[
        bool,
        Query(
            description="Also what the matchers weigh now for an open receipt, below the suggestion threshold "
            "too (reads the whole open book, as a run does; stores nothing). Role finance."
        ),
    ] = False,
) -> ExplainOut:
    if considered:  # a run's memory and time per request: for those who act on it
        refuse_unless(_user, "finance")
    return ExplainOut.model_validate(hub_of(request).matches.explain(ref, considered=considered))


@router.post("/{ref}/confirm", response_model=ActionOut, summary="Confirm the proposal, or allocate to invoices")
def confirm(ref: str, body: ActionIn, request: Request, user: Finance) -> ActionOut:
    result = hub_of(request).matches.confirm(ref, body.invoices, actor=user.actor, note=body.note)
    return ActionOut.model_validate(result.as_dict())


@router.post("/{ref}/allocate", response_model=ActionOut, summary="Allocate by hand, with amounts and write-offs")
def allocate(ref: str, body: AllocateIn, request: Request, user: Finance) -> ActionOut:
    lines = [(line.invoice, line.amount, line.write_off) for line in body.lines]
    result = hub_of(request).matches.allocate(ref, lines, actor=user.actor, reason=body.reason, note=body.note)
    return ActionOut.model_validate(result.as_dict())


@router.post("/{ref}/reject", response_model=ActionOut, summary="Reject the proposals (never proposed again)")
def reject(ref: str, body: ActionIn, request: Request, user: Finance) -> ActionOut:
    result = hub_of(request).matches.reject(ref, body.invoices, actor=user.actor, note=body.note)
    return ActionOut.model_validate(result.as_dict())


@router.post("/{ref}/unmatch", response_model=ActionOut, summary="Undo automatic or confirmed allocations")
def unmatch(ref: str, body: UnmatchIn, request: Request, user: Finance) -> ActionOut:
    result = hub_of(request).matches.unmatch(ref, actor=user.actor, note=body.note)
    return ActionOut.model_validate(result.as_dict())
