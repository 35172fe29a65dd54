"""The console: server-rendered pages (Jinja2 + htmx, no JavaScript build, nothing from the internet) for
finance, credit, sales and IT, in English and Simplified Chinese.

Every page acts through the hub's services, exactly as the command line does; :func:`register` adds
the pages to the web application (:func:`hub.web.app.create_app` calls it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def register(app: FastAPI) -> None:
    """Add the console's pages to ``app``."""
    from hub.web.console import (
        audit,
        cases,
        collections,
        comms,
        connectors,
        customers,
        dashboard,
        language,
        limits,
        receipts,
    )

    for module in (dashboard, receipts, customers, cases, collections, comms, limits, connectors, audit, language):
        app.include_router(module.router)
