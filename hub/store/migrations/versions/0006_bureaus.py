"""Credit bureaus: links of customers to bureau companies, calls (the budget), monitoring cursor and
events, admission screening; the raw payload and a worded limit kept with each credit report.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-12 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.store.schema import Money

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("credit_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("limit_note", sa.Text(), nullable=True))
    op.create_table(
        "bureau_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("bureau", sa.String(length=100), nullable=False),
        sa.Column("company_id", sa.String(length=255), nullable=False),
        sa.Column("company_name", sa.String(length=500), nullable=True),
        sa.Column("country", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=30), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("monitored", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("reported_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_link")),
        sa.UniqueConstraint(
            "customer_id", "bureau", "company_id", name=op.f("uq_bureau_link_customer_id_bureau_company_id")
        ),
    )
    with op.batch_alter_table("bureau_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bureau_link_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_bureau_link_bureau_company_id", ["bureau", "company_id"], unique=False)
    op.create_table(
        "bureau_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=True),
        sa.Column("company_id", sa.String(length=255), nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_call")),
    )
    with op.batch_alter_table("bureau_call", schema=None) as batch_op:
        batch_op.create_index("ix_bureau_call_bureau_at", ["bureau", "at"], unique=False)
    op.create_table(
        "bureau_state",
        sa.Column("bureau", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("bureau", name=op.f("pk_bureau_state")),
    )
    op.create_table(
        "bureau_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bureau", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("company_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("handled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_event")),
        sa.UniqueConstraint("bureau", "event_id", name=op.f("uq_bureau_event_bureau_event_id")),
    )
    with op.batch_alter_table("bureau_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bureau_event_customer_id"), ["customer_id"], unique=False)
    op.create_table(
        "bureau_screening",
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("bureau", sa.String(length=100), nullable=True),
        sa.Column("screened_at", TS, nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=20), nullable=True),
        sa.Column("bureau_band", sa.String(length=50), nullable=True),
        sa.Column("recommended_limit", Money(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("terms_days", sa.Integer(), nullable=True),
        sa.Column("prepayment", sa.Boolean(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("waiting", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_bureau_screening")),
    )


def downgrade() -> None:
    op.drop_table("bureau_screening")
    with op.batch_alter_table("bureau_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bureau_event_customer_id"))
    op.drop_table("bureau_event")
    op.drop_table("bureau_state")
    with op.batch_alter_table("bureau_call", schema=None) as batch_op:
        batch_op.drop_index("ix_bureau_call_bureau_at")
    op.drop_table("bureau_call")
    with op.batch_alter_table("bureau_link", schema=None) as batch_op:
        batch_op.drop_index("ix_bureau_link_bureau_company_id")
        batch_op.drop_index(batch_op.f("ix_bureau_link_customer_id"))
    op.drop_table("bureau_link")
    with op.batch_alter_table("credit_report", schema=None) as batch_op:
        batch_op.drop_column("limit_note")
        batch_op.drop_column("raw")
