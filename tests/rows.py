"""Rows written straight into a migrated store, for tests that need a small book of their own without a
sync: a customer, an invoice, a receipt, a payment (a receipt allocated to an invoice).

One place for what each table requires, so a new NOT NULL column is added here once, not in every test
module that builds rows. Each function takes a connection in a transaction and the few values a test
cares about; everything else gets a plain default.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hub.store import schema, utcnow


def customer(
    conn: sa.Connection,
    ext: str,
    canonical: str | None = None,
    *,
    source: str = "erp",
    name: str = "Alpha GmbH",
    ccy: str | None = "EUR",
    ibans: Sequence[str] = (),
    **more: Any,
) -> None:
    """Customer ``ext`` of ``source``, resolved to ``canonical`` (``ext`` itself if not given);
    ``more`` sets any other column (``tax_ids``, ``country``, ``payment_terms_days``...)."""
    values: dict[str, Any] = {
        "source": source,
        "external_id": ext,
        "record_hash": 0,
        "synced_at": utcnow(),
        "canonical_id": canonical or ext,
        "legal_name": name,
        "aliases": [],
        "tax_ids": [],
        "ibans": list(ibans),
        "links": {},
        "currency": ccy,
    }
    conn.execute(schema.customer.insert().values({**values, **more}))


def invoice(
    conn: sa.Connection,
    number: str,
    customer: str,
    due: dt.date,
    amount: str,
    *,
    source: str = "erp",
    external_id: str | None = None,
    issued: dt.date | None = None,
    ccy: str = "EUR",
) -> int:
    """Open invoice ``number`` of customer ``customer`` (its id in ``source``) for ``amount``, issued 30
    days before it is due unless ``issued`` says; returns its id."""
    return int(
        conn.execute(
            schema.invoice.insert().values(
                source=source,
                external_id=external_id or number,
                record_hash=0,
                synced_at=utcnow(),
                number=number,
                customer_external_id=customer,
                issue_date=issued or due - dt.timedelta(days=30),
                due_date=due,
                currency=ccy,
                amount=Decimal(amount),
                open_amount=Decimal(amount),
                status="open",
            )
        ).inserted_primary_key[0]
    )


def receipt(
    conn: sa.Connection,
    booked: dt.date,
    amount: str,
    *,
    ref: str | None = None,
    ccy: str = "EUR",
    match_status: str = "open",
    **more: Any,
) -> int:
    """A credit of ``amount`` booked on ``booked`` (its bank id ``ref``, else a random one); ``more`` sets
    any other column (``payer_name``, ``payer_account``, ``remittance``...). Returns its id."""
    values: dict[str, Any] = {
        "source": "bank",
        "external_id": ref or uuid.uuid4().hex,
        "record_hash": 0,
        "synced_at": utcnow(),
        "booking_date": booked,
        "amount": Decimal(amount),
        "currency": ccy,
        "direction": "credit",
        "reversal": False,
        "references": [],
        "additional_remittance": [],
        "match_status": match_status,
    }
    return int(conn.execute(schema.receipt.insert().values({**values, **more})).inserted_primary_key[0])


def payment(
    conn: sa.Connection,
    invoice_id: int,
    booked: dt.date,
    amount: str,
    *,
    status: str = "auto",
    kind: str = "payment",
    ccy: str = "EUR",
    match_status: str = "open",
) -> int:
    """A receipt of ``amount`` booked on ``booked``, allocated to invoice ``invoice_id`` (an allocation
    of ``kind`` and ``status``); returns the receipt's id."""
    receipt_id = receipt(conn, booked, amount, ccy=ccy, match_status=match_status)
    now = utcnow()
    conn.execute(
        schema.allocation.insert().values(
            receipt_id=receipt_id,
            invoice_id=invoice_id,
            amount=Decimal(amount),
            kind=kind,
            method="test",
            confidence=1.0,
            status=status,
            reasons=[],
            created_at=now,
            decided_by="test",
            decided_at=now,
        )
    )
    return receipt_id
