"""A partial index of open invoices by customer: one customer's open invoices (console, API) without
reading the whole book.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 18:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_invoice_open_customer",
        "invoice",
        ["source", "customer_external_id"],
        sqlite_where=sa.text("open_amount != 0"),
        postgresql_where=sa.text("open_amount != 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_invoice_open_customer", table_name="invoice")
