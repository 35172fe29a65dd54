"""The canonical customer-exposure model.

Every connector maps its records into these types and every plugin reads them. Money is a
:class:`~decimal.Decimal` with an ISO 4217 currency, never a float. Records that come from a
source carry ``source`` (the connector instance's name), ``external_id`` (its id there) and
``source_updated_at``. Derived records (exposure, risk) carry the canonical customer id.

Validation errors name the field and the offending value: pydantic's own messages do, and
:func:`describe_validation_error` turns them into one line for the quarantine table.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from hub.codes import (  # re-exported: the model's vocabularies live in a light module
    AllocationKind as AllocationKind,
    AllocationStatus as AllocationStatus,
    CollectionChannel as CollectionChannel,
    Direction as Direction,
    FlagCode as FlagCode,
    GuaranteeKind as GuaranteeKind,
    InvoiceStatus as InvoiceStatus,
    LegalEventKind as LegalEventKind,
)
from hub.fmt import format_money as format_money  # re-exported: the model's reasons and events write money so

# -- value types -----------------------------------------------------------------------------

#: The store keeps money with six decimal places (see ``hub.store.schema.Money``); more would be
#: rounded silently, so it is refused here instead.
MONEY_DECIMALS = 6
#: ...and up to 18 digits before the point (ISO 20022's 18 digits; IDR and VND ledgers need them).
MONEY_DIGITS = 18
MONEY_LIMIT = Decimal(10) ** MONEY_DIGITS


def _parse_decimal(value: Any) -> Any:
    """Accept ``"1 234,50"``-free plain decimal text, ints and Decimals; refuse floats.

    A float has already lost the cents it was meant to carry, so it is refused rather than guessed.
    """
    if isinstance(value, float):
        raise ValueError("money must not be a float; pass a string or Decimal")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("money must not be empty")
        return text
    return value


def _check_total(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(f"money must be a finite number, got {value}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MONEY_DECIMALS:
        raise ValueError(f"money has more than {MONEY_DECIMALS} decimal places: {value}")
    return value


def _check_money(value: Decimal) -> Decimal:
    _check_total(value)
    if abs(value) >= MONEY_LIMIT:
        raise ValueError(f"money has more than {MONEY_DIGITS} digits before the decimal point: {value}")
    return value


def _check_currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ValueError(f"currency must be a three-letter ISO 4217 code, got {value!r}")
    return code


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Money = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_money)]
#: A sum of amounts (a customer's open total, a group's exposure): exact like Money, and not held to
#: the 18 digits of a single amount (the store keeps more: see ``hub.store.schema``).
Total = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_total)]
Currency = Annotated[str, AfterValidator(_check_currency)]
OptionalText = Annotated[str | None, BeforeValidator(_empty_to_none)]
OptionalDate = Annotated[dt.date | None, BeforeValidator(_empty_to_none)]
OptionalMoney = Annotated[
    Decimal | None,
    BeforeValidator(_empty_to_none),
    BeforeValidator(_parse_decimal),
    AfterValidator(lambda v: None if v is None else _check_money(v)),
]


class HubModel(BaseModel):
    """Base of every canonical type: strict about unknown fields, strips text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


class SourceRecord(HubModel):
    """Fields every record pulled from a source carries."""

    source: str = Field(description="Name of the connector instance the record came from.")
    external_id: str = Field(min_length=1, description="The record's id in the source system.")
    source_updated_at: dt.datetime | None = Field(
        default=None, description="When the source last changed the record, if it says."
    )


# -- master and transactional data -------------------------------------------------------------


class TaxId(HubModel):
    """A tax or registration id: ``scheme`` is e.g. ``vat``, ``uscc``, ``ein``, ``duns``.

    A bare string is accepted as a ``tax`` id of unknown scheme (identity resolution refines it).
    """

    scheme: str = "tax"
    value: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        return {"value": data} if isinstance(data, str) else data


class Customer(SourceRecord):
    """A debtor as one source knows it. Identity resolution links the same debtor across sources."""

    legal_name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    tax_ids: list[TaxId] = Field(default_factory=list)
    country: OptionalText = None
    currency: Currency | None = None
    parent_external_id: OptionalText = None
    ibans: list[str] = Field(default_factory=list)
    credit_limit: OptionalMoney = None
    payment_terms_days: int | None = Field(default=None, ge=0)
    links: Annotated[dict[str, str], BeforeValidator(lambda v: {} if v is None else v)] = Field(
        default_factory=dict, description="Ids of the same customer in other systems, by connector name."
    )


class Invoice(SourceRecord):
    """A customer invoice (or credit note, with a negative amount) as the ERP knows it."""

    number: str = Field(min_length=1)
    customer_external_id: str = Field(min_length=1)
    issue_date: dt.date
    due_date: dt.date
    currency: Currency
    amount: Money
    open_amount: Money
    status: InvoiceStatus = InvoiceStatus.OPEN
    po_number: OptionalText = None
    payment_reference: OptionalText = Field(
        default=None, description="Structured creditor reference (ISO 11649 RF, QRR) when the ERP issues one."
    )
    paid_date: OptionalDate = Field(
        default=None, description="When the ERP saw the invoice paid in full; feeds the payment history."
    )


class StructuredReference(HubModel):
    type: str | None = None
    value: str
    issuer: str | None = None


class Receipt(SourceRecord):
    """One bank transaction. ``external_id`` is its stable de-duplication key.

    Debits (refunds, returns) are kept, with ``direction = "debit"``, and never matched as payments.
    """

    bank_ref: OptionalText = Field(default=None, description="The bank's reference, shown to users.")
    statement_id: OptionalText = None
    statement_seq: OptionalText = None
    message_id: OptionalText = None
    account: OptionalText = Field(default=None, description="Our account the money arrived on (IBAN).")
    account_currency: Currency | None = None
    booking_date: dt.date
    value_date: OptionalDate = None
    amount: Money = Field(gt=0)
    currency: Currency
    entry_amount: OptionalMoney = None
    entry_currency: Currency | None = None
    tx_amount: OptionalMoney = Field(default=None, description="The transaction detail's own amount, if given.")
    tx_currency: Currency | None = None
    instructed_amount: OptionalMoney = None
    instructed_currency: Currency | None = None
    direction: Direction = Direction.CREDIT
    reversal: bool = False
    status: OptionalText = None
    bank_tx_code: OptionalText = None
    payer_name: OptionalText = None
    payer_account: OptionalText = None
    ultimate_payer_name: OptionalText = None
    payer_bic: OptionalText = None
    remittance: OptionalText = None
    references: list[StructuredReference] = Field(default_factory=list)
    additional_remittance: list[str] = Field(default_factory=list)
    end_to_end_id: OptionalText = None
    instruction_id: OptionalText = None
    tx_id: OptionalText = None
    mandate_id: OptionalText = None
    uetr: OptionalText = None
    additional_entry_info: OptionalText = None
    additional_tx_info: OptionalText = None
    return_reason: OptionalText = None
    purpose: OptionalText = None


class Allocation(HubModel):
    """Part of a receipt applied to an invoice.

    Status changes are events (``allocation_event`` in the store); nothing is overwritten, so
    un-matching leaves the earlier decision visible.
    """

    receipt_id: int
    invoice_id: int
    amount: Money
    kind: AllocationKind = AllocationKind.PAYMENT
    method: str
    confidence: float = Field(ge=0, le=1)
    status: AllocationStatus
    reasons: list[str] = Field(default_factory=list)
    decided_by: str = "hub"
    decided_at: dt.datetime | None = None


class LegalEvent(HubModel):
    kind: LegalEventKind
    date: dt.date | None = None
    description: str = ""
    court: OptionalText = None
    amount: OptionalMoney = None
    currency: Currency | None = None
    case_number: OptionalText = None


class CreditReport(SourceRecord):
    """A bureau's view of a customer, its score normalised to 0-100 (higher is safer)."""

    customer_external_id: str
    bureau: str
    bureau_company_id: str
    score: float | None = Field(default=None, ge=0, le=100)
    raw_score: OptionalText = None
    band: OptionalText = None
    recommended_limit: OptionalMoney = None
    recommended_limit_currency: Currency | None = None
    legal_events: list[LegalEvent] = Field(default_factory=list)
    report_date: dt.date


class CollectionAction(SourceRecord):
    """One line of the collection ledger: who contacted the debtor, how, and what was promised."""

    customer_external_id: str
    invoice_numbers: list[str] = Field(default_factory=list)
    channel: CollectionChannel
    at: dt.datetime
    content: Annotated[str, BeforeValidator(lambda v: "" if v is None else v)] = ""
    outcome: OptionalText = None
    promise_date: OptionalDate = None
    promise_amount: OptionalMoney = None
    promise_currency: Currency | None = None
    author: OptionalText = None


class Guarantee(SourceRecord):
    """Security held against a customer's debt; reduces its net exposure until ``expiry_date``."""

    customer_external_id: str = Field(min_length=1)
    kind: GuaranteeKind
    amount: Money = Field(gt=0)
    currency: Currency
    expiry_date: OptionalDate = None
    issuer: OptionalText = None


class SalesOrder(SourceRecord):
    """An order confirmed but not yet invoiced: exposure the credit limit must already cover."""

    number: str = Field(min_length=1)
    customer_external_id: str = Field(min_length=1)
    order_date: dt.date
    currency: Currency
    open_amount: Money = Field(ge=0, description="The part not invoiced yet.")
    status: str = "open"


class FxRate(SourceRecord):
    """One unit of ``currency`` is worth ``rate`` units of ``base`` on ``date``."""

    currency: Currency
    base: Currency
    rate: Decimal = Field(gt=0)
    date: dt.date


# -- derived -------------------------------------------------------------------------------------

#: Default ageing buckets: (label, first day past due, last day past due or None for open-ended).
DEFAULT_BUCKETS: tuple[tuple[str, int | None, int | None], ...] = (
    ("not_due", None, 0),
    ("d1_30", 1, 30),
    ("d31_60", 31, 60),
    ("d61_90", 61, 90),
    ("d91_180", 91, 180),
    ("d180_plus", 181, None),
)


class Exposure(HubModel):
    """What a customer owes and how late, as of ``as_of``, in ``currency``.

    Amounts in other currencies are converted at the rates named in ``fx_rates`` (currency ->
    rate into ``currency``); what could not be converted is counted in ``unconverted`` and left out,
    never mixed in at face value. ``open_base`` is ``open_amount`` in the hub's base currency, for
    ranking and portfolio totals.
    """

    customer_id: str
    name: str | None = None
    group_id: str | None = None
    as_of: dt.date
    currency: Currency
    open_amount: Total
    overdue_amount: Total
    buckets: dict[str, Decimal]
    unapplied_cash: Total = Decimal(0)
    open_orders: Total = Decimal(0)
    secured_amount: Total = Decimal(0)
    net_exposure: Total = Decimal(0)
    credit_limit: OptionalMoney = None
    utilisation: float | None = None
    oldest_due_date: dt.date | None = None
    max_days_past_due: int = 0
    dso: float | None = None
    avg_days_late: float | None = None
    days_late_trend: float | None = None
    payments_counted: int = 0
    open_base: Total = Decimal(0)
    base_currency: Currency | None = None
    fx_rates: dict[str, str] = Field(default_factory=dict)
    unconverted: dict[str, Decimal] = Field(default_factory=dict)


class RiskFlag(HubModel):
    """A flag a policy raises on a customer, with the sentence that explains it."""

    customer_id: str
    code: str
    reason: str
    #: The reason as a message id and values (:meth:`hub.i18n.Message.to_json`), so a sink or a page
    #: can say it in another language; ``reason`` is its English text.
    message: dict[str, Any] | None = None


class FlagChange(HubModel):
    """A flag raised or cleared: the event that sinks receive. ``event_id`` is the idempotency key."""

    kind: Literal["flag"] = "flag"
    event_id: str
    customer_id: str
    code: str
    action: Literal["raised", "cleared"]
    version: int
    reason: str
    at: dt.datetime
    links: dict[str, str] = Field(default_factory=dict)
    #: The reason as a message id and values; the outbox renders ``reason`` in each sink's language.
    message: dict[str, Any] | None = None
    #: The flag's name in the sink's language (``More than 60 days overdue``), set by the outbox.
    label: str | None = None


class BandChange(HubModel):
    """A customer's risk band changed (``previous`` is None on its first assessment)."""

    kind: Literal["band"] = "band"
    event_id: str
    customer_id: str
    band: str
    previous: str | None
    score: float
    reason: str
    at: dt.datetime
    links: dict[str, str] = Field(default_factory=dict)
    #: The reason as a message id and values; the outbox renders ``reason`` in each sink's language.
    message: dict[str, Any] | None = None


class CreditLimitChange(HubModel):
    """A credit limit approved in the hub, for the ERP (and CRMs) to apply."""

    kind: Literal["credit_limit"] = "credit_limit"
    event_id: str
    customer_id: str
    amount: Money
    currency: Currency
    previous: OptionalMoney = None
    approved_by: str
    reason: str
    at: dt.datetime
    links: dict[str, str] = Field(default_factory=dict)
    #: The reason as a message id and values; the outbox renders ``reason`` in each sink's language.
    message: dict[str, Any] | None = None


class InterestInvoiceLine(HubModel):
    """One invoice's late-payment interest (and fixed compensation) billed in an interest invoice."""

    invoice: str
    currency: Currency
    days_late: int
    principal: Money
    rate: Decimal
    interest: Money
    compensation: Money


class InterestInvoice(HubModel):
    """Late-payment interest for one customer and period, for the ERP to invoice (``hub interest invoice``)."""

    kind: Literal["interest_invoice"] = "interest_invoice"
    event_id: str
    customer_id: str
    period: str
    as_of: dt.date
    lines: list[InterestInvoiceLine]
    #: Per currency, what the lines add up to (interest plus compensation), as decimal strings.
    totals: dict[str, str]
    requested_by: str
    at: dt.datetime
    links: dict[str, str] = Field(default_factory=dict)
    message: dict[str, Any] | None = None


#: Everything the outbox carries to sinks; ``kind`` tells them apart. A sink acknowledges kinds it
#: does not handle (``DeliveryResult(ok=True)``) so they do not pile up for it.
OutboxEvent = Annotated[FlagChange | BandChange | CreditLimitChange | InterestInvoice, Field(discriminator="kind")]


RECORD_TYPES: dict[str, type[SourceRecord]] = {
    "customer": Customer,
    "invoice": Invoice,
    "receipt": Receipt,
    "credit_report": CreditReport,
    "collection_action": CollectionAction,
    "guarantee": Guarantee,
    "sales_order": SalesOrder,
    "fx_rate": FxRate,
}


def describe_validation_error(error: ValidationError) -> str:
    """One line naming each failing field and the value it had."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "record"
        value = item.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        if len(shown) > 80:
            shown = shown[:77] + "..."
        parts.append(f"{where}={shown}: {item['msg']}")
    return "; ".join(parts)
