"""Collection communications: contacts, disputes and the queue of emails and letters (hub.comms).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.store.schema import Money

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "comms_contact",
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("opt_out", sa.JSON(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_comms_contact")),
    )
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("invoice_number", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amount", Money(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("open_key", sa.String(length=600), nullable=True),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("opened_by", sa.String(length=255), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by", sa.String(length=255), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
        sa.UniqueConstraint("open_key", name=op.f("uq_dispute_open_key")),
    )
    op.create_index("ix_dispute_customer_status", "dispute", ["customer_id", "status"])
    op.create_table(
        "comms_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("invoice_numbers", sa.JSON(), nullable=False),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("attachment_name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claim_expires_at", TS, nullable=True),
        sa.Column("action_id", sa.Integer(), nullable=True),
        sa.Column("resent_from", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comms_message")),
        sa.UniqueConstraint("message_id", name=op.f("uq_comms_message_message_id")),
    )
    op.create_index("ix_comms_message_status", "comms_message", ["status", "next_attempt_at"])
    op.create_index("ix_comms_message_customer", "comms_message", ["customer_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_comms_message_customer", table_name="comms_message")
    op.drop_index("ix_comms_message_status", table_name="comms_message")
    op.drop_table("comms_message")
    op.drop_index("ix_dispute_customer_status", table_name="dispute")
    op.drop_table("dispute")
    op.drop_table("comms_contact")
