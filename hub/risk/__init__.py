"""Credit risk and collections: exposure, scores, flags, the collection ledger and credit limits.

``types`` holds what the stage works with (the leaf); ``exposure`` reads what each customer owes
and how late; ``collection`` keeps the ledger, promises and the escalation ladder; ``credit`` sizes
credit limits and their approvals; ``engine`` runs them all and queues the changes. Dependencies run
one way: types <- exposure <- collection, credit <- engine.

The types are imported with the package; the engine on first use (a plugin that names
``hub.risk.RiskSignal`` does not pay for the engine and what it imports).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.lazy import lazy_names
from hub.risk.types import (
    BAND_CODE,
    UNRATED,
    BureauView,
    CustomerRisk,
    FlagPolicy,
    PastAssessment,
    Payment,
    PromiseView,
    RiskContext,
    RiskSignal,
    RiskStats,
    ScoredSignal,
    SignalResult,
    band_of,
)

__all__ = [
    "BAND_CODE",
    "UNRATED",
    "BureauView",
    "CustomerRisk",
    "FlagPolicy",
    "PastAssessment",
    "Payment",
    "PromiseView",
    "RiskContext",
    "RiskEngine",
    "RiskSignal",
    "RiskStats",
    "ScoredSignal",
    "SignalResult",
    "band_of",
    "score_customer",
]

_LAZY = {"RiskEngine": "hub.risk.engine", "score_customer": "hub.risk.engine"}


__getattr__ = lazy_names(__name__, _LAZY, globals())


if TYPE_CHECKING:
    from hub.risk.engine import RiskEngine, score_customer
