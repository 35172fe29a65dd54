"""What the risk stage works with: a customer's risk picture, signals, policies, run statistics.

The leaf of the ``hub.risk`` package: exposure, collections, credit limits and the engine build on
these types, and signal and policy plugins see them (re-exported by :mod:`hub`).
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from hub.config import RiskConfig
from hub.model import Exposure, LegalEvent, RiskFlag

ZERO = Decimal("0.00")
#: ``flag_event.code`` of band changes (the risk event log keeps them beside the flags).
#: How an unrated customer (nothing to rate yet) is counted among the bands.
UNRATED = "unrated"
BAND_CODE = "BAND"


@dataclass(frozen=True)
class RiskContext:
    """What every signal and policy may read besides the customer: the date and the settings."""

    as_of: dt.date
    settings: RiskConfig = field(default_factory=RiskConfig)
    base_currency: str = "EUR"
    #: Open receivables of all customers together, in the base currency (for concentration).
    portfolio_open: Decimal = ZERO

    @property
    def overdue_days(self) -> tuple[int, ...]:
        return tuple(self.settings.overdue_days)


@dataclass(frozen=True)
class Payment:
    """One payment of an invoice (an allocated receipt, or the ERP's paid date): how late it came."""

    invoice_number: str
    due_date: dt.date
    paid_date: dt.date
    amount: Decimal
    currency: str

    @property
    def days_late(self) -> int:
        """Days after the due date (negative when paid early)."""
        return (self.paid_date - self.due_date).days


@dataclass(frozen=True)
class BureauView:
    """A bureau's latest report on the customer and, when there is one, the report before it."""

    bureau: str
    report_date: dt.date
    score: float | None
    band: str | None
    previous_score: float | None = None
    previous_band: str | None = None
    previous_date: dt.date | None = None
    recommended_limit: Decimal | None = None
    recommended_limit_currency: str | None = None
    legal_events: tuple[LegalEvent, ...] = ()


@dataclass(frozen=True)
class PromiseView:
    """A promise to pay from the collection ledger and how it turned out (open, kept or broken)."""

    made_on: dt.date
    promised_date: dt.date
    amount: Decimal
    currency: str
    status: str
    received: Decimal
    settled_on: dt.date | None = None


@dataclass(frozen=True)
class PastAssessment:
    as_of: dt.date
    score: float
    band: str


@dataclass
class CustomerRisk:
    """Everything known about one customer's risk, handed to every signal and then every policy.

    ``payments`` are newest first (at most twice ``[risk] payments_window``); ``history`` holds the
    earlier daily assessments within ``[risk] score_drop_window_days``, newest first. ``score``,
    ``band`` and ``signals`` are filled in after scoring, before the policies run.
    """

    exposure: Exposure
    payments: list[Payment] = field(default_factory=list)
    bureaus: list[BureauView] = field(default_factory=list)
    promises: list[PromiseView] = field(default_factory=list)
    history: list[PastAssessment] = field(default_factory=list)
    terms_days: int | None = None
    score: float | None = None
    band: str | None = None
    signals: list[ScoredSignal] = field(default_factory=list)

    @property
    def customer_id(self) -> str:
        return self.exposure.customer_id

    @property
    def rated(self) -> bool:
        """Whether there is anything to rate: something owed or ordered, a payment, a bureau report or
        a promise. A customer known only from a CRM, with none of these, is *unrated* (no score, no
        band pushed), not a perfect A."""
        exp = self.exposure
        return bool(exp.open_amount or exp.open_orders or self.payments or self.bureaus or self.promises)


@dataclass(frozen=True)
class SignalResult:
    """A signal's finding: ``severity`` from 0 (no concern) to 1 (as bad as this signal gets), and why.

    The scorecard turns severity into points: ``weight x severity`` off a perfect 100.
    """

    signal: str
    severity: float
    reason: str
    #: The reason as a message id and values (:meth:`hub.Message.to_json`), for a reader in another
    #: language; ``reason`` is its English text. A signal may leave it out (its reason reads English).
    message: dict[str, Any] | None = None


@dataclass(frozen=True)
class ScoredSignal:
    """A signal's contribution to a score: the points it took off and the sentence explaining it."""

    signal: str
    severity: float
    points: float
    reason: str
    message: dict[str, Any] | None = None


class RiskSignal(abc.ABC):
    """One input to the risk score; registered through ``hub_register_risk_signals``."""

    name: str = "signal"
    #: Points at severity 1.0 when ``[risk.scorecard] weights`` does not name this signal.
    default_weight: float = 10.0

    @abc.abstractmethod
    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> SignalResult | None:
        """Return the signal's finding for this customer, or None when it does not apply."""


class FlagPolicy(abc.ABC):
    """Decides which flags hold for a customer; registered through ``hub_register_flag_policies``.

    Policies run after scoring, so ``customer.score`` and ``customer.band`` are set.
    """

    name: str = "policy"

    @abc.abstractmethod
    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        """Return the flags this policy raises for the customer now (absent ones are cleared)."""


@dataclass
class RiskStats:
    customers: int = 0
    flagged_customers: int = 0
    raised: int = 0
    cleared: int = 0
    band_changes: int = 0
    limit_changes: int = 0
    collection_actions_due: int = 0
    groups: int = 0
    outbox_rows: int = 0
    seconds: float = 0.0
    flag_counts: dict[str, int] = field(default_factory=dict)
    band_counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def band_of(score: float, cutoffs: dict[str, float]) -> str:
    """The best band whose lowest score the score reaches; below every cut-off, the lowest band."""
    for band, lowest in sorted(cutoffs.items(), key=lambda kv: -kv[1]):
        if score >= lowest:
            return band
    return sorted(cutoffs.items(), key=lambda kv: kv[1])[0][0]
