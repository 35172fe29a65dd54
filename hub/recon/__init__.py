"""Cash application: receipts matched to open invoices.

``types`` holds what the stage works with (the leaf), ``matching`` the evidence matchers and the
combiner that turns evidence into proposals, ``engine`` the run that decides and stores them, and
``desk`` what finance does with them (confirm, reject, unmatch, explain). Dependencies run one way:
types <- matching <- engine <- desk.
"""

from hub.recon.desk import ActionResult, MatchDesk
from hub.recon.engine import ReconcileEngine, decide, live_allocated, lock_allocations
from hub.recon.matching import Combiner, Evidence, EvidenceMatcher, Found
from hub.recon.types import (
    LIVE,
    CustomerView,
    Decision,
    Matcher,
    MatchProposal,
    OpenInvoice,
    OpenItems,
    ProposalLine,
    ReceiptView,
    ReconcileStats,
)

__all__ = [
    "LIVE",
    "ActionResult",
    "Combiner",
    "CustomerView",
    "Decision",
    "Evidence",
    "EvidenceMatcher",
    "Found",
    "MatchDesk",
    "MatchProposal",
    "Matcher",
    "OpenInvoice",
    "OpenItems",
    "ProposalLine",
    "ReceiptView",
    "ReconcileEngine",
    "ReconcileStats",
    "decide",
    "live_allocated",
    "lock_allocations",
]
