"""The hub's vocabularies: statuses, kinds, channels and flag codes, as string enums.

A leaf module without pydantic, so that the command line (its help texts) and the web console can
name them without loading the model; :mod:`hub.model` uses and re-exports them.
"""

from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CANCELLED = "cancelled"
    DISPUTED = "disputed"
    CLOSED = "closed"
    """Gone from a complete read of its source (paid and archived, or deleted there): no longer open."""


class Direction(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"


class AllocationStatus(StrEnum):
    AUTO = "auto"
    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNMATCHED = "unmatched"


class AllocationKind(StrEnum):
    PAYMENT = "payment"
    WRITE_OFF = "write_off"
    CREDIT_NOTE = "credit_note"  # an open credit note the payer deducted (a negative amount)


class LegalEventKind(StrEnum):
    INSOLVENCY = "insolvency"
    """Bankruptcy, insolvency or liquidation proceedings (破产)."""
    DISHONEST_DEBTOR = "dishonest_debtor"
    """Listed as a dishonest judgment debtor (失信被执行人)."""
    CONSUMPTION_RESTRICTION = "consumption_restriction"
    """Under a court's consumption restriction order (限制高消费)."""
    ABNORMAL_OPERATION = "abnormal_operation"
    """Listed for abnormal operations by the market regulator (经营异常)."""
    ENFORCEMENT = "enforcement"
    """A judgment being enforced against the company (被执行人)."""
    LAWSUIT = "lawsuit"
    """A court case or arbitration the company is a defendant in."""
    OTHER = "other"


class CollectionChannel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    LETTER = "letter"
    VISIT = "visit"
    LAWYER_LETTER = "lawyer_letter"
    ARBITRATION = "arbitration"
    LITIGATION = "litigation"
    AGENCY = "agency"


def N_(text: str) -> str:
    """Marks a text for translation (:func:`hub.i18n.N_`, kept here so this module stays a leaf)."""
    return text


#: What a ledger line's channel is called where a person reads it (translated where shown).
CHANNEL_LABELS: dict[str, str] = {
    "phone": N_("phone"),
    "email": N_("email"),
    "visit": N_("visit"),
    "letter": N_("letter"),
    "sms": N_("SMS"),
    "other": N_("other"),
    "lawyer_letter": N_("lawyer's letter"),
    "arbitration": N_("arbitration"),
    "litigation": N_("litigation"),
    "agency": N_("collection agency"),
}


class GuaranteeKind(StrEnum):
    BANK_GUARANTEE = "bank_guarantee"
    LETTER_OF_CREDIT = "letter_of_credit"
    CREDIT_INSURANCE = "credit_insurance"
    PARENT_GUARANTEE = "parent_guarantee"
    COLLATERAL = "collateral"
    OTHER = "other"


class FlagCode(StrEnum):
    OVER_LIMIT = "OVER_LIMIT"
    OVERDUE_30 = "OVERDUE_30"
    OVERDUE_60 = "OVERDUE_60"
    OVERDUE_90 = "OVERDUE_90"
    BUREAU_DOWNGRADE = "BUREAU_DOWNGRADE"
    LEGAL_EVENT = "LEGAL_EVENT"
    BROKEN_PROMISE = "BROKEN_PROMISE"
    CREDIT_HOLD = "CREDIT_HOLD"
    PREPAYMENT_REQUIRED = "PREPAYMENT_REQUIRED"
    # early warnings: deterioration before the hard flags fire
    SCORE_DROP = "SCORE_DROP"
    FIRST_LATE_PAYMENT = "FIRST_LATE_PAYMENT"
    PAYMENT_PATTERN_CHANGE = "PAYMENT_PATTERN_CHANGE"


# -- the statuses an action can leave a thing in (what a command or the console may filter by) -------

#: A promise to pay: still running, kept (paid in full by its date), or broken.
PROMISE_STATUSES = ("open", "kept", "broken")
#: A credit limit proposal, from waiting for an approval to applied in the ERP (or replaced by a newer one).
LIMIT_STATUSES = ("pending", "approved", "rejected", "applied", "superseded")
#: A customer record's link to a canonical customer, as identity resolution or a person left it.
LINK_STATUSES = ("applied", "manual", "proposed", "rejected", "unlinked", "superseded")
#: An outbox row, in the order it goes through them. ``not_linked``: the sink's system has no record
#: for the customer (parked, not retried; a replay queues it again). Dead rows live in dead letters.
OUTBOX_STATUSES = ("pending", "failed", "not_linked", "dead", "delivered")
#: The allocations of receipts to invoices, as the engine or a person left them.
MATCH_STATUSES = ("auto", "suggested", "confirmed", "rejected", "unmatched")
#: ``source`` of the collection ledger lines written in the hub itself (``hub collections log``).
HUB_SOURCE = "hub"
