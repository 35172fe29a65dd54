"""Money up to 18 digits before the point (NUMERIC on PostgreSQL); outbox claims and per-customer order;
records missing from a complete read of their source.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: Every money column (millionths): BIGINT before, NUMERIC(38, 0) on PostgreSQL now. SQLite keeps
#: its INTEGER columns, which store wide amounts as BLOBs of digits (hub.store.schema.db_micros).
MONEY_COLUMNS = {
    "collection_action": ["promise_amount"],
    "credit_limit_proposal": ["current_limit", "recommended"],
    "credit_report": ["recommended_limit"],
    "customer": ["credit_limit"],
    "exposure": [
        "open_amount",
        "overdue_amount",
        "unapplied_cash",
        "credit_limit",
        "open_orders",
        "secured_amount",
        "net_exposure",
        "open_base",
        "recommended_limit",
    ],
    "exposure_group": [
        "open_amount",
        "overdue_amount",
        "open_orders",
        "secured_amount",
        "net_exposure",
        "credit_limit",
    ],
    "guarantee": ["amount"],
    "invoice": ["amount", "open_amount"],
    "receipt": ["amount", "entry_amount", "tx_amount", "instructed_amount"],
    "sales_order": ["open_amount"],
    "allocation": ["amount"],
    "promise": ["amount", "received"],
}


#: Tables of source records: each gets ``missing_since`` (snapshot streams).
SOURCE_TABLES = (
    "customer",
    "invoice",
    "receipt",
    "credit_report",
    "collection_action",
    "guarantee",
    "sales_order",
    "fx_rate",
)


def upgrade() -> None:
    bind = op.get_bind()
    for table in SOURCE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True))
    if bind.dialect.name == "postgresql":
        for table, columns in MONEY_COLUMNS.items():
            for column in columns:
                op.alter_column(
                    table,
                    column,
                    type_=sa.Numeric(38, 0),
                    existing_type=sa.BigInteger(),
                    postgresql_using=f"{column}::numeric(38, 0)",
                )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_sink_subject", ["sink", "subject", "id"], unique=False)
    # Rows queued before: their customer, so each customer's events keep their order.
    customer = (
        "payload::json ->> 'customer_id'"
        if bind.dialect.name == "postgresql"
        else "json_extract(payload, '$.customer_id')"
    )
    op.execute(f"UPDATE outbox SET subject = {customer} WHERE subject IS NULL")


def downgrade() -> None:
    for table in SOURCE_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("missing_since")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_sink_subject")
        batch_op.drop_column("claim_expires_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("subject")
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in MONEY_COLUMNS.items():
            for column in columns:
                op.alter_column(
                    table,
                    column,
                    type_=sa.BigInteger(),
                    existing_type=sa.Numeric(38, 0),
                    postgresql_using=f"{column}::bigint",
                )
