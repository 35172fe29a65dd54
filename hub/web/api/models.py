"""The REST API's request and response shapes (pydantic), so that its OpenAPI description is precise.

Money is a decimal string (``"1250.00"``), never a float; times are ISO 8601 with their offset.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from hub.codes import CollectionChannel

T = TypeVar("T")

Amount = Decimal
"""Money in and out: a decimal (strings in JSON)."""


class Out(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="null")


class ErrorOut(Out):
    error: str = Field(
        description="A stable code: not_authenticated, forbidden, csrf, four_eyes, throttled, "
        "not_found, refused, invalid, invalid_request, busy, ..."
    )
    message: str = Field(description="What went wrong, in the request's language.")


class Page(Out, Generic[T]):
    items: list[T]
    total: int = Field(description="How many match the filter in all.")
    limit: int
    offset: int


class Me(Out):
    name: str
    display_name: str
    roles: list[str]
    locale: str
    kind: str = Field(description="user (a person's session) or token (a program).")
    csrf_token: str | None = Field(
        default=None, description="A browser session's CSRF token, for the X-CSRF-Token header of its writes."
    )


# -- receipts ------------------------------------------------------------------------------------------


class AllocationOut(Out):
    id: int
    invoice: str
    amount: Decimal
    currency: str
    kind: str = Field(description="payment, write_off or credit_note")
    status: str = Field(description="auto, suggested or confirmed")
    rank: int
    confidence: float
    method: str
    customer_id: str | None


class ReceiptOut(Out):
    id: int
    ref: str = Field(description="The bank reference (else the receipt's key): what the actions take.")
    key: str
    source: str
    booking_date: dt.date
    amount: Decimal
    currency: str
    payer_name: str | None
    payer_account: str | None
    remittance: str | None
    match_status: str = Field(description="open, suggested or matched")
    allocations: list[AllocationOut] = Field(default_factory=list)


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoices: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="Confirm: the invoices (a proposal naming exactly these, or a new "
        "allocation over them in order). Reject: only the proposals naming these.",
    )
    note: str | None = Field(default=None, max_length=2000)


class UnmatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice: str = Field(min_length=1, max_length=255)
    amount: Decimal = Field(ge=0, max_digits=24, decimal_places=6, description="Of the receipt, to this invoice.")
    write_off: Decimal = Field(
        default=Decimal(0),
        ge=0,
        max_digits=24,
        decimal_places=6,
        description="Of this invoice, written off (not paid by the receipt).",
    )


class AllocateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    reason: str | None = Field(
        default=None,
        description="Why amounts are written off: bank_fee, discount, "
        "small_balance, dispute_settled, other (required with a write-off).",
    )
    note: str | None = Field(default=None, max_length=2000)


class ChangedOut(Out):
    allocation: int
    invoice: str
    amount: Decimal
    kind: str
    status: str


class ActionOut(Out):
    receipt_ref: str
    action: str
    changed: list[ChangedOut]
    learned: list[dict[str, str]]
    unapplied: Decimal


class ExplainOut(Out):
    receipt: dict[str, Any]
    allocations: list[dict[str, Any]]
    suggest_threshold: float = Field(description="The confidence a proposal had to reach to be stored")
    considered: list[dict[str, Any]] | None = Field(
        default=None,
        description="Asked for: what the matchers weigh now for an open receipt, best first, however unsure "
        "(lines, confidence, method, reasons); null where the receipt is not open or it was not asked for",
    )


# -- customers ----------------------------------------------------------------------------------------


class CustomerRowOut(Out):
    customer_id: str
    name: str | None
    currency: str
    open_amount: Decimal
    overdue_amount: Decimal
    open_base: Decimal
    base_currency: str | None
    credit_limit: Decimal | None
    utilisation: float | None
    score: float | None
    band: str | None
    max_days_past_due: int
    flags: list[Any]
    as_of: dt.date


class FlagOut(Out):
    code: str
    reason: str
    version: int
    changed_at: dt.datetime


class CustomerOut(Out):
    customer_id: str
    exposure: dict[str, Any] = Field(description="The last risk run's assessment: amounts, buckets, limit, DSO...")
    buckets: list[str] = Field(description="The ageing buckets, youngest first (keys of exposure.buckets).")
    score: float | None
    band: str | None
    score_breakdown: list[dict[str, Any]] = Field(description="The signals the score is made of, with reasons.")
    flags: list[FlagOut]
    bureaus: list[dict[str, Any]] = Field(description="Each bureau's latest view of the customer.")
    next_action: dict[str, Any] | None


class InvoiceOut(Out):
    id: int
    number: str
    source: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    amount: Decimal
    open_amount: Decimal
    allocated: Decimal = Field(description="Taken by live (automatic or confirmed) allocations.")
    remaining: Decimal = Field(description="What a new allocation may still take.")
    status: str
    payment_reference: str | None


class PromiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date
    amount: Decimal = Field(gt=0, max_digits=24, decimal_places=6)
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class LedgerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: CollectionChannel = Field(description="How the customer was reached.")
    content: str = Field(min_length=1, max_length=5000)
    outcome: str | None = Field(default=None, max_length=200)
    invoices: list[str] = Field(default_factory=list, max_length=200)
    promise: PromiseIn | None = None


class LedgerOut(Out):
    id: int
    at: str
    channel: str
    content: str | None
    outcome: str | None
    author: str | None
    invoices: list[str]
    source: str | None
    external_id: str | None
    promise: dict[str, Any] | None


class PromiseOut(Out):
    customer_id: str
    made_on: str
    promised_date: str
    amount: Decimal
    currency: str
    status: str
    received: Decimal
    settled_on: str | None
    channel: str | None
    author: str | None
    source: str | None
    action_id: int | None


class DueOut(Out):
    as_of: dt.date
    assessed: int
    steps: list[dict[str, Any]]


# -- limits -------------------------------------------------------------------------------------------


class ProposalOut(Out):
    id: int
    customer_id: str
    customer_name: str | None = None
    as_of: dt.date
    currency: str
    current_limit: Decimal | None
    recommended: Decimal
    change: Decimal | None
    status: str
    reasons: list[str]
    created_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


class ApprovalOut(Out):
    proposal: ProposalOut
    event_id: str
    sinks: list[str]


class LimitRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(min_length=1, max_length=255)
    amount: Decimal = Field(ge=0, max_digits=20, decimal_places=2)
    reason: str = Field(min_length=1, max_length=2000)


class LimitRequestOut(Out):
    id: int
    customer_id: str
    currency: str
    current_limit: Decimal | None
    requested: Decimal
    change: Decimal
    reason: str
    status: str = Field(description="pending, applied (within the four-eyes threshold), approved, rejected, withdrawn")
    four_eyes: bool = Field(description="Whether a second credit user must (or had to) approve it.")
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str | None
    event_id: str | None


# -- operations ---------------------------------------------------------------------------------------


class RunOut(Out):
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    stats: dict[str, Any]
    error: str | None


class ConnectorOut(Out):
    name: str
    type: str | None
    configured: bool
    last_run: RunOut | None
    last_failure: RunOut | None
    outbox: dict[str, int] = Field(description="Outbox rows by status (pending, failed, dead, delivered...).")
    last_delivered_at: dt.datetime | None
    last_delivery_error: str | None
    webhook_notices: int = Field(description="Change notices waiting for the connector's next sync.")
    webhook_waiting_since: dt.datetime | None


class OutboxSummaryOut(Out):
    sink: str
    status: str
    count: int


class OutboxOut(Out):
    summary: list[OutboxSummaryOut]
    rows: dict[str, list[dict[str, Any]]]


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sink: str | None = Field(default=None, max_length=100)
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        default=None, max_length=1000, description="Only these dead letters."
    )


class ReplayOut(Out):
    stats: dict[str, Any]


class AuditOut(Out):
    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]


class WebhookOut(Out):
    notice: int
    message: str
