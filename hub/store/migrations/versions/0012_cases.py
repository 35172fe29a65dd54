"""Cases after the collection ladder (litigation, arbitration, agency) with their status history, costs,
documents and recoveries; interest invoices queued once per customer and period.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hub.store.schema import Money

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ACTIVE = sa.text("status IN ('open', 'filed', 'judgment')")


def upgrade() -> None:
    op.create_table(
        "collection_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("court", sa.String(length=255), nullable=True),
        sa.Column("case_number", sa.String(length=255), nullable=True),
        sa.Column("agency", sa.String(length=255), nullable=True),
        sa.Column("agency_ref", sa.String(length=255), nullable=True),
        sa.Column("invoices", sa.JSON(), nullable=False),
        sa.Column("claimed", Money(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=255), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.CheckConstraint("kind IN ('litigation', 'arbitration', 'agency')", name="ck_collection_case_kind"),
        sa.CheckConstraint(
            "status IN ('open', 'filed', 'judgment', 'settled', 'closed', 'written_off')",
            name="ck_collection_case_status",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_case")),
    )
    op.create_index(op.f("ix_collection_case_customer_id"), "collection_case", ["customer_id"])
    op.create_index(
        "uq_collection_case_active",
        "collection_case",
        ["customer_id", "kind"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "case_status_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_case.id"], name=op.f("fk_case_status_event_case_id_collection_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_status_event")),
    )
    op.create_index(op.f("ix_case_status_event_case_id"), "case_status_event", ["case_id"])
    op.create_table(
        "case_cost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=255), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["collection_case.id"], name=op.f("fk_case_cost_case_id_collection_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_cost")),
    )
    op.create_index(op.f("ix_case_cost_case_id"), "case_cost", ["case_id"])
    op.create_table(
        "case_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("added_by", sa.String(length=255), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_case.id"], name=op.f("fk_case_document_case_id_collection_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_document")),
        sa.UniqueConstraint("case_id", "sha256", name=op.f("uq_case_document_case_id_sha256")),
    )
    op.create_index(op.f("ix_case_document_case_id"), "case_document", ["case_id"])
    op.create_table(
        "case_recovery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=255), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["collection_case.id"], name=op.f("fk_case_recovery_case_id_collection_case")
        ),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"], name=op.f("fk_case_recovery_receipt_id_receipt")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_recovery")),
        sa.UniqueConstraint("case_id", "ref", name=op.f("uq_case_recovery_case_id_ref")),
    )
    op.create_index(op.f("ix_case_recovery_case_id"), "case_recovery", ["case_id"])
    op.create_table(
        "interest_charge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(length=400), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interest_charge")),
        sa.UniqueConstraint("customer_id", "period", name=op.f("uq_interest_charge_customer_id_period")),
        sa.UniqueConstraint("event_id", name=op.f("uq_interest_charge_event_id")),
    )


def downgrade() -> None:
    op.drop_table("interest_charge")
    op.drop_index(op.f("ix_case_recovery_case_id"), table_name="case_recovery")
    op.drop_table("case_recovery")
    op.drop_index(op.f("ix_case_document_case_id"), table_name="case_document")
    op.drop_table("case_document")
    op.drop_index(op.f("ix_case_cost_case_id"), table_name="case_cost")
    op.drop_table("case_cost")
    op.drop_index(op.f("ix_case_status_event_case_id"), table_name="case_status_event")
    op.drop_table("case_status_event")
    op.drop_index("uq_collection_case_active", table_name="collection_case")
    op.drop_index(op.f("ix_collection_case_customer_id"), table_name="collection_case")
    op.drop_table("collection_case")
