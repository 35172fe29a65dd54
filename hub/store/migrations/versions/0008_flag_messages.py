"""Flag reasons as message ids and values: ``risk_flag.message`` and ``flag_event.message`` keep the
structured reason (:class:`hub.i18n.Message`) beside its English text, so a page can say a flag's
reason in the reader's language. Rows written before stay without one (they read English).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("risk_flag", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message", sa.JSON(), nullable=True))
    with op.batch_alter_table("flag_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("flag_event", schema=None) as batch_op:
        batch_op.drop_column("message")
    with op.batch_alter_table("risk_flag", schema=None) as batch_op:
        batch_op.drop_column("message")
