"""The message ids of the reasons cash application stores by key (``allocation.reasons``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_key",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("msgid", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("message_key")
