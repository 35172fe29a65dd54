"""``bank-files`` connector: receipts from bank statement files (camt, MT940, BAI2, OFX, CSV/XLSX).

The connector lives in :mod:`.connector` (the ``hub`` entry point), the readers in one module per
format, and the ``hub receipts import`` command in :mod:`.cli` (the ``hub.commands`` entry point).
Starting the command line imports this package to reach :mod:`.cli`, so it imports nothing itself:
the names below load :mod:`.connector` (pydantic, the hub's connector API) on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_CONNECTOR = f"{__name__}.connector"

#: Names importable from the package, each loaded from :mod:`.connector` on first use.
__all__ = [
    "FORMATS",
    "HEAD_BYTES",
    "RECEIPT_FIELDS",
    "BankFilesConfig",
    "BankFilesSource",
    "FormatName",
    "StatementFormat",
    "StatementReader",
    "StatementSummary",
    "detect_format",
    "file_info",
    "hub_register_connectors",
    "open_statement",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_CONNECTOR), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


if TYPE_CHECKING:
    from .common import RECEIPT_FIELDS, StatementReader, StatementSummary
    from .connector import (
        FORMATS,
        HEAD_BYTES,
        BankFilesConfig,
        BankFilesSource,
        FormatName,
        StatementFormat,
        detect_format,
        file_info,
        hub_register_connectors,
        open_statement,
    )
