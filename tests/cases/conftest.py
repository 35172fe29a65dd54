"""Rows for the cases and interest tests, written straight into a migrated store (``store`` runs each
test on SQLite and on PostgreSQL), and a Hub on a config of one's own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from tests import rows


def add_customer(conn: sa.Connection, ext: str, canonical: str, *, name: str = "Alpha GmbH", ccy: str = "EUR") -> None:
    rows.customer(
        conn,
        ext,
        canonical,
        name=name,
        ccy=ccy,
        tax_ids=[{"scheme": "VAT", "value": "DE123456789"}],
        country="DE",
        payment_terms_days=30,
    )


def add_invoice(conn: sa.Connection, number: str, customer: str, due: dt.date, amount: str, *, ccy: str = "EUR") -> int:
    return rows.invoice(conn, number, customer, due, amount, ccy=ccy)


def add_payment(conn: sa.Connection, invoice_id: int, booked: dt.date, amount: str, *, ccy: str = "EUR") -> None:
    rows.payment(conn, invoice_id, booked, amount, status="confirmed", ccy=ccy, match_status="matched")


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
