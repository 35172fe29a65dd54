"""Cash application: receipts matched to open invoices.

``types`` holds what the stage works with (the leaf), ``matching`` the evidence matchers and the
combiner that turns evidence into proposals, ``engine`` the run that decides and stores them, and
``desk`` what finance does with them (confirm, reject, unmatch, explain). Dependencies run one way:
types <- matching <- engine <- desk.

The types are imported with the package; the rest on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.lazy import lazy_names
from hub.recon.types import (
    ADVICE_MATCHER,
    LIVE,
    TEXT_LIMIT,
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
    "ADVICE_MATCHER",
    "LIVE",
    "TEXT_LIMIT",
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
    "amount_by_chance",
    "decide",
    "live_allocated",
    "lock_allocations",
    "sets_adding_up",
    "sets_by_chance",
]

_LAZY = {
    "ActionResult": "hub.recon.desk",
    "MatchDesk": "hub.recon.desk",
    "ReconcileEngine": "hub.recon.engine",
    "decide": "hub.recon.engine",
    "live_allocated": "hub.recon.engine",
    "lock_allocations": "hub.recon.engine",
    "Combiner": "hub.recon.matching",
    "Evidence": "hub.recon.matching",
    "EvidenceMatcher": "hub.recon.matching",
    "Found": "hub.recon.matching",
    "amount_by_chance": "hub.recon.matching",
    "sets_adding_up": "hub.recon.matching",
    "sets_by_chance": "hub.recon.matching",
}


__getattr__ = lazy_names(__name__, _LAZY, globals())


if TYPE_CHECKING:
    from hub.recon.desk import ActionResult, MatchDesk
    from hub.recon.engine import ReconcileEngine, decide, live_allocated, lock_allocations
    from hub.recon.matching import (
        Combiner,
        Evidence,
        EvidenceMatcher,
        Found,
        amount_by_chance,
        sets_adding_up,
        sets_by_chance,
    )
