"""Risk history, groups, promises, credit-limit proposals, dead letters; guarantees, orders, FX rates.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 04:33:15.610514
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "credit_limit_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("current_limit", sa.BigInteger(), nullable=True),
        sa.Column("recommended", sa.BigInteger(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_limit_proposal")),
    )
    with op.batch_alter_table("credit_limit_proposal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_limit_proposal_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "exposure_group",
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("open_amount", sa.BigInteger(), nullable=False),
        sa.Column("overdue_amount", sa.BigInteger(), nullable=False),
        sa.Column("buckets", sa.JSON(), nullable=False),
        sa.Column("open_orders", sa.BigInteger(), nullable=False),
        sa.Column("secured_amount", sa.BigInteger(), nullable=False),
        sa.Column("net_exposure", sa.BigInteger(), nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), nullable=True),
        sa.Column("utilisation", sa.Float(), nullable=True),
        sa.Column("unconverted", sa.JSON(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_exposure_group")),
    )
    op.create_table(
        "fx_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_hash", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("base", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=24, scale=10), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rate")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_fx_rate_source_external_id")),
    )
    op.create_table(
        "guarantee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_hash", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_external_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("issuer", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantee")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_guarantee_source_external_id")),
    )
    op.create_table(
        "outbox_dead_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("sink", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=400), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("died_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_dead_letter")),
        sa.UniqueConstraint("sink", "event_id", name=op.f("uq_outbox_dead_letter_sink_event_id")),
    )
    op.create_table(
        "risk_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("band", sa.String(length=10), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessment")),
        sa.UniqueConstraint("customer_id", "as_of", name=op.f("uq_risk_assessment_customer_id_as_of")),
    )
    op.create_table(
        "sales_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_hash", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("number", sa.String(length=255), nullable=False),
        sa.Column("customer_external_id", sa.String(length=255), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("open_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_order")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_sales_order_source_external_id")),
    )
    op.create_table(
        "promise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["collection_action.id"], name=op.f("fk_promise_action_id_collection_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promise")),
        sa.UniqueConstraint("action_id", name=op.f("uq_promise_action_id")),
    )
    with op.batch_alter_table("promise", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_promise_customer_id"), ["customer_id"], unique=False)

    with op.batch_alter_table("exposure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("group_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("open_orders", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("secured_amount", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("net_exposure", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("dso", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("avg_days_late", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("days_late_trend", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("payments_counted", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("open_base", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("base_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("fx_rates", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("unconverted", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("recommended_limit", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("next_action", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_exposure_group_id"), ["group_id"], unique=False)

    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid_date", sa.Date(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("paid_date")

    with op.batch_alter_table("exposure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exposure_group_id"))
        batch_op.drop_column("next_action")
        batch_op.drop_column("recommended_limit")
        batch_op.drop_column("unconverted")
        batch_op.drop_column("fx_rates")
        batch_op.drop_column("base_currency")
        batch_op.drop_column("open_base")
        batch_op.drop_column("payments_counted")
        batch_op.drop_column("days_late_trend")
        batch_op.drop_column("avg_days_late")
        batch_op.drop_column("dso")
        batch_op.drop_column("net_exposure")
        batch_op.drop_column("secured_amount")
        batch_op.drop_column("open_orders")
        batch_op.drop_column("group_id")
        batch_op.drop_column("name")

    with op.batch_alter_table("promise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promise_customer_id"))

    op.drop_table("promise")
    op.drop_table("sales_order")
    op.drop_table("risk_assessment")
    op.drop_table("outbox_dead_letter")
    op.drop_table("guarantee")
    op.drop_table("fx_rate")
    op.drop_table("exposure_group")
    with op.batch_alter_table("credit_limit_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_limit_proposal_customer_id"))

    op.drop_table("credit_limit_proposal")
