"""Remittance advices sent apart from the payment (``remittance_advice``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.store.schema import Money

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remittance_advice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("file", sa.String(length=1000), nullable=True),
        sa.Column("payer_name", sa.String(length=500), nullable=True),
        sa.Column("payer_account", sa.String(length=100), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=255), nullable=True),
        sa.Column("amount", Money(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittance_advice")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_remittance_advice_source_external_id")),
    )


def downgrade() -> None:
    op.drop_table("remittance_advice")
