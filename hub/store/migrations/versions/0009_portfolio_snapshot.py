"""Portfolio snapshot: the book as each day's risk run left it (open, overdue by bucket, DSO), for the
console's dashboard trends.

Revision ID: 0009
Revises: 0007 (0008 once issue 18 merges: see the console report)
Create Date: 2026-12-05 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.store.schema import Money

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portfolio_snapshot",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("base_currency", sa.String(length=3), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("open_base", Money(), nullable=False),
        sa.Column("overdue_base", Money(), nullable=False),
        sa.Column("buckets", sa.JSON(), nullable=False),
        sa.Column("dso", sa.Float(), nullable=True),
        sa.Column("computed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("as_of", name=op.f("pk_portfolio_snapshot")),
    )


def downgrade() -> None:
    op.drop_table("portfolio_snapshot")
