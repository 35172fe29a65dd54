"""Events for sink tests of the cloud CRM connectors (Salesforce, HubSpot, Dynamics): the same shapes,
all linked to the ``erp`` source by the customer id."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hub.model import BandChange, CreditLimitChange, FlagChange

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def flag(cid: str, code: str, action: str, version: int = 1) -> FlagChange:
    return FlagChange(
        event_id=f"{cid}:{code}:v{version}",
        customer_id=cid,
        code=code,
        action=action,  # type: ignore[arg-type]
        version=version,
        reason="test",
        at=AT,
        links={"erp": cid},
    )


def band(cid: str, letter: str, version: int = 1) -> BandChange:
    return BandChange(
        event_id=f"{cid}:BAND:v{version}",
        customer_id=cid,
        band=letter,
        previous=None,
        score=50.0,
        reason="t",
        at=AT,
        links={"erp": cid},
    )


def limit(cid: str, amount: str) -> CreditLimitChange:
    return CreditLimitChange(
        event_id=f"{cid}:LIMIT:1",
        customer_id=cid,
        amount=Decimal(amount),
        currency="EUR",
        approved_by="cfo",
        reason="t",
        at=AT,
        links={"erp": cid},
    )
