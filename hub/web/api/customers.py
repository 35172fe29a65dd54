"""Customers: the list with exposure and band; one customer's exposure, score breakdown, flags, bureau
view, invoices, ledger (read: everyone; add: ``credit``, ``sales``), promises and collection steps due."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from hub.web.api.common import Limit, Offset, Search
from hub.web.api.models import (
    CustomerOut,
    CustomerRowOut,
    DueOut,
    FlagOut,
    InvoiceOut,
    LedgerIn,
    LedgerOut,
    Page,
    PromiseOut,
)
from hub.web.auth import AnyUser, CreditOrSales, hub_of

router = APIRouter(tags=["customers"])
CustomerSort = Literal[
    "customer_id",
    "-customer_id",
    "name",
    "-name",
    "open_amount",
    "-open_amount",
    "overdue_amount",
    "-overdue_amount",
    "open_base",
    "-open_base",
    "score",
    "-score",
    "max_days_past_due",
    "-max_days_past_due",
    "utilisation",
    "-utilisation",
]
InvoiceSort = Literal["due_date", "-due_date", "issue_date", "-issue_date", "number", "-number", "amount", "-amount"]


@router.get("/customers", response_model=Page[CustomerRowOut], summary="Customers with exposure and band")
def customers(
    request: Request,
    _user: AnyUser,
    q: Search = None,
    band: Annotated[str | None, Query(max_length=20)] = None,
    flagged: bool | None = None,
    sort: CustomerSort = "-open_base",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CustomerRowOut]:
    page = hub_of(request).exposures.page(q=q, band=band, flagged=flagged, sort=sort, limit=limit, offset=offset)
    return Page[CustomerRowOut](
        items=[CustomerRowOut.model_validate(r) for r in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut, summary="Exposure, score, flags, bureaus")
def customer(customer_id: str, request: Request, _user: AnyUser) -> CustomerOut:
    found = hub_of(request).exposures.customer(customer_id)
    exposure = found.exposure
    return CustomerOut(
        customer_id=customer_id,
        exposure={k: v for k, v in exposure.items() if k not in ("signals", "next_action")},
        buckets=found.buckets,
        score=exposure.get("score"),
        band=exposure.get("band"),
        score_breakdown=list(exposure.get("signals") or []),
        flags=[FlagOut.model_validate(f) for f in found.flags],
        bureaus=found.bureaus,
        next_action=exposure.get("next_action"),
    )


@router.get("/customers/{customer_id}/invoices", response_model=Page[InvoiceOut], summary="A customer's invoices")
def invoices(
    customer_id: str,
    request: Request,
    _user: AnyUser,
    status: Literal["open", "paid", "all"] = "open",
    q: Search = None,
    sort: InvoiceSort = "due_date",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[InvoiceOut]:
    page = hub_of(request).exposures.invoices(customer_id, status=status, q=q, sort=sort, limit=limit, offset=offset)
    return Page[InvoiceOut](
        items=[InvoiceOut.model_validate(r) for r in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/customers/{customer_id}/ledger", response_model=Page[LedgerOut], summary="The collection ledger")
def ledger(
    customer_id: str,
    request: Request,
    _user: AnyUser,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[LedgerOut]:
    # (one customer's ledger: its own calls and notes, read whole by the service and paged here)
    rows = hub_of(request).collections.ledger(customer_id)
    return Page[LedgerOut](
        items=[LedgerOut.model_validate(r) for r in rows[offset : offset + limit]],
        total=len(rows),
        limit=limit,
        offset=offset,
    )


@router.post(
    "/customers/{customer_id}/ledger",
    response_model=LedgerOut,
    status_code=201,
    summary="Log a call, an email, a visit (with a promise to pay)",
)
def log_action(customer_id: str, body: LedgerIn, request: Request, user: CreditOrSales) -> LedgerOut:
    promise = body.promise
    entry = hub_of(request).collections.log(
        customer_id,
        channel=body.channel.value,
        content=body.content,
        actor=user.actor,
        outcome=body.outcome,
        promise_date=promise.date if promise else None,
        promise_amount=promise.amount if promise else None,
        promise_currency=promise.currency if promise else None,
        invoices=body.invoices,
    )
    return LedgerOut.model_validate(entry)


@router.get("/promises", response_model=Page[PromiseOut], summary="Promises to pay")
def promises(
    request: Request,
    _user: AnyUser,
    status: Annotated[Literal["open", "kept", "broken"] | None, Query()] = None,
    customer_id: Annotated[str | None, Query(max_length=255)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[PromiseOut]:
    page = hub_of(request).collections.promise_page(status=status, customer_id=customer_id, limit=limit, offset=offset)
    return Page[PromiseOut](
        items=[PromiseOut.model_validate(r) for r in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/collections/due", response_model=DueOut, summary="Collection steps due, most valuable first")
def due(
    request: Request,
    _user: AnyUser,
    as_of: dt.date | None = None,
    owner: Annotated[str | None, Query(max_length=255)] = None,
    limit: Limit = 50,
) -> DueOut:
    found = hub_of(request).collections.due(as_of, owner=owner, limit=limit)
    return DueOut(as_of=found.as_of, assessed=found.assessed, steps=found.steps)
