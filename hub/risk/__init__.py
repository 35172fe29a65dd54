"""Credit risk and collections: exposure, scores, flags, the collection ledger and credit limits.

``types`` holds what the stage works with (the leaf); ``exposure`` reads what each customer owes
and how late; ``collection`` keeps the ledger, promises and the escalation ladder; ``credit`` sizes
credit limits and their approvals; ``engine`` runs them all and queues the changes. Dependencies run
one way: types <- exposure <- collection, credit <- engine.
"""

from hub.risk.engine import RiskEngine, score_customer
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
