"""Receivables integration hub: the core (model, hooks, store, sync, reconciliation, risk, outbox, CLI)."""

from hub.hookspecs import hookimpl

__version__ = "0.1.0"
__all__ = ["__version__", "hookimpl"]
