"""Rows for the cases and interest tests, written straight into a migrated store (``store`` runs each
test on SQLite and on PostgreSQL), and a Hub on a config of one's own."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.store import schema, utcnow


def add_customer(conn: sa.Connection, ext: str, canonical: str, *, name: str = "Alpha GmbH", ccy: str = "EUR") -> None:
    conn.execute(
        schema.customer.insert().values(
            source="erp",
            external_id=ext,
            record_hash=0,
            synced_at=utcnow(),
            canonical_id=canonical,
            legal_name=name,
            aliases=[],
            tax_ids=[{"scheme": "VAT", "value": "DE123456789"}],
            ibans=[],
            links={},
            currency=ccy,
            country="DE",
            payment_terms_days=30,
        )
    )


def add_invoice(conn: sa.Connection, number: str, customer: str, due: dt.date, amount: str, *, ccy: str = "EUR") -> int:
    return int(
        conn.execute(
            schema.invoice.insert().values(
                source="erp",
                external_id=number,
                record_hash=0,
                synced_at=utcnow(),
                number=number,
                customer_external_id=customer,
                issue_date=due - dt.timedelta(days=30),
                due_date=due,
                currency=ccy,
                amount=Decimal(amount),
                open_amount=Decimal(amount),
                status="open",
            )
        ).inserted_primary_key[0]
    )


def add_payment(conn: sa.Connection, invoice_id: int, booked: dt.date, amount: str, *, ccy: str = "EUR") -> None:
    now = utcnow()
    receipt_id = conn.execute(
        schema.receipt.insert().values(
            source="bank",
            external_id=uuid.uuid4().hex,
            record_hash=0,
            synced_at=now,
            booking_date=booked,
            amount=Decimal(amount),
            currency=ccy,
            direction="credit",
            reversal=False,
            references=[],
            additional_remittance=[],
            match_status="matched",
        )
    ).inserted_primary_key[0]
    conn.execute(
        schema.allocation.insert().values(
            receipt_id=receipt_id,
            invoice_id=invoice_id,
            amount=Decimal(amount),
            kind="payment",
            method="test",
            confidence=1.0,
            status="confirmed",
            reasons=[],
            created_at=now,
            decided_by="test",
            decided_at=now,
        )
    )


EU_RATES = """
[interest]
rule = "eu"
reference_rates = [
  { from = 2023-07-01, rate = "4.50" },
  { from = 2024-01-01, rate = "4.50" },
  { from = 2024-07-01, rate = "4.25" },
]
compensation_by_currency = { CNY = "300" }
sinks = ["flags"]
"""


def make_hub(folder: Path, db_url: str, extra: str = EU_RATES) -> Hub:
    """A Hub on ``db_url`` (already migrated) with a JSON-file sink named ``flags`` and ``extra`` settings."""
    (folder / "hub.toml").write_text(
        f'[database]\nurl = "{db_url}"\n\n[connectors.flags]\ntype = "json-file"\npath = "out/flags.jsonl"\n{extra}',
        encoding="utf-8",
    )
    return Hub(load_config(folder / "hub.toml"), lock_wait=0)
