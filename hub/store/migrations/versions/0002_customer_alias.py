"""Learned payer accounts and names per customer (customer_alias).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_alias",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("origin", sa.String(length=50), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "kind", "value"),
    )
    op.create_index(op.f("ix_customer_alias_customer_id"), "customer_alias", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_alias_customer_id"), table_name="customer_alias")
    op.drop_table("customer_alias")
