"""Tables of the canonical store (SQLAlchemy Core).

The same metadata serves SQLite (embedded default) and PostgreSQL (production); Alembic
migrations under ``migrations/versions`` create it, and a test checks they agree.

Money is stored as an exact count of millionths (:class:`Money`), never a float. Ledgers in
currencies such as IDR or VND hold amounts that a 64-bit count of millionths cannot (it ends at
about 9.2e12), so the store holds the 18 digits before the point that ``hub.model.Money`` allows: on
PostgreSQL as ``NUMERIC(38, 0)``; on SQLite, which has no exact type wider than 64 bits, as an
INTEGER where it fits and otherwise as a BLOB of the decimal digits (:func:`db_micros`). Sums and
differences of money in SQL go through :mod:`hub.store.money`, which is exact on both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

MONEY_SCALE = 6
#: Millionths stored as INTEGER on SQLite: the difference of two always fits 64 bits (hub.store.money).
NATIVE_MICROS = 1 << 62


class Money(sa.types.TypeDecorator[Decimal]):
    """A Decimal amount stored as an exact count of millionths (see the module's docstring)."""

    impl = sa.BigInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Numeric(38, 0))
        return dialect.type_descriptor(sa.BigInteger())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | bytes | None:
        return None if value is None else db_micros(to_micros(value), dialect.name)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_micros(micros_of(value))


def to_micros(value: Decimal | int) -> int:
    """Exact conversion; refuses amounts with more than six decimals instead of rounding them."""
    scaled = Decimal(value).scaleb(MONEY_SCALE)
    integral = int(scaled)
    if scaled != integral:
        raise ValueError(f"amount {value} has more than {MONEY_SCALE} decimal places")
    return integral


def db_micros(micros: int, dialect: str) -> int | bytes:
    """Millionths as the database stores them: on SQLite a BLOB of digits beyond 2^62."""
    if dialect == "sqlite" and not -NATIVE_MICROS < micros < NATIVE_MICROS:
        return str(micros).encode("ascii")
    return micros


def micros_of(value: Any) -> int:
    """Millionths as a driver returns them (an int, SQLite's BLOB of digits, PostgreSQL's Decimal)."""
    if type(value) is int:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return int(bytes(value).decode("ascii"))
    return int(value)


def from_micros(value: int) -> Decimal:
    """Millionths back to a Decimal with two places, or as many as the amount really has."""
    if value % 10_000 == 0:  # whole cents, nearly every amount: the cheap way (a million per load)
        return Decimal(value // 10_000).scaleb(-2)
    return Decimal(value).scaleb(-MONEY_SCALE).normalize()


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.DateTime(timezone=True)


def _source_columns() -> list[sa.Column[Any]]:
    """Columns every table of source records has (see ``hub.model.SourceRecord``)."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("source_updated_at", TS),
        sa.Column("record_hash", sa.BigInteger, nullable=False),
        sa.Column("synced_at", TS, nullable=False),
        # Set when a complete read of a snapshot stream no longer had the record; cleared when it returns.
        sa.Column("missing_since", TS),
    ]


customer = sa.Table(
    "customer",
    metadata,
    *_source_columns(),
    sa.Column("canonical_id", sa.String(255), nullable=False, index=True),
    sa.Column("legal_name", sa.String(500), nullable=False),
    sa.Column("aliases", sa.JSON, nullable=False),
    sa.Column("tax_ids", sa.JSON, nullable=False),
    sa.Column("country", sa.String(2)),
    sa.Column("currency", sa.String(3)),
    sa.Column("parent_external_id", sa.String(255)),
    sa.Column("ibans", sa.JSON, nullable=False),
    sa.Column("credit_limit", Money),
    sa.Column("payment_terms_days", sa.Integer),
    sa.Column("links", sa.JSON, nullable=False),
    sa.UniqueConstraint("source", "external_id"),
)

invoice = sa.Table(
    "invoice",
    metadata,
    *_source_columns(),
    sa.Column("number", sa.String(255), nullable=False),
    sa.Column("customer_external_id", sa.String(255), nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("open_amount", Money, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("po_number", sa.String(255)),
    sa.Column("payment_reference", sa.String(255)),
    sa.Column("paid_date", sa.Date),
    # Besides the natural key, only a customer's open invoices are indexed (for the console and the
    # API, which show one customer's at a time): a partial index, so a book of mostly paid history
    # pays little for it at sync. Reconciliation and risk read open invoices in full anyway.
    sa.UniqueConstraint("source", "external_id"),
)
_open = sa.text("open_amount != 0")
invoice_open_customer = sa.Index(
    "ix_invoice_open_customer",
    invoice.c.source,
    invoice.c.customer_external_id,
    sqlite_where=_open,
    postgresql_where=_open,
)
"""One customer's open invoices (console, API); :mod:`hub.lists` writes the same predicate as a literal."""

receipt = sa.Table(
    "receipt",
    metadata,
    *_source_columns(),
    sa.Column("bank_ref", sa.String(255), index=True),
    sa.Column("statement_id", sa.String(255)),
    sa.Column("statement_seq", sa.String(50)),
    sa.Column("message_id", sa.String(255)),
    sa.Column("account", sa.String(100)),
    sa.Column("account_currency", sa.String(3)),
    sa.Column("booking_date", sa.Date, nullable=False),
    sa.Column("value_date", sa.Date),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("entry_amount", Money),
    sa.Column("entry_currency", sa.String(3)),
    sa.Column("tx_amount", Money),
    sa.Column("tx_currency", sa.String(3)),
    sa.Column("instructed_amount", Money),
    sa.Column("instructed_currency", sa.String(3)),
    sa.Column("direction", sa.String(6), nullable=False),
    sa.Column("reversal", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(20)),
    sa.Column("bank_tx_code", sa.String(100)),
    sa.Column("payer_name", sa.String(500)),
    sa.Column("payer_account", sa.String(100)),
    sa.Column("ultimate_payer_name", sa.String(500)),
    sa.Column("payer_bic", sa.String(20)),
    sa.Column("remittance", sa.Text),
    sa.Column("references", sa.JSON, nullable=False),
    sa.Column("additional_remittance", sa.JSON, nullable=False),
    sa.Column("end_to_end_id", sa.String(255)),
    sa.Column("instruction_id", sa.String(255)),
    sa.Column("tx_id", sa.String(255)),
    sa.Column("mandate_id", sa.String(255)),
    sa.Column("uetr", sa.String(64)),
    sa.Column("additional_entry_info", sa.Text),
    sa.Column("additional_tx_info", sa.Text),
    sa.Column("return_reason", sa.String(50)),
    sa.Column("purpose", sa.String(50)),
    # Reconciliation bookkeeping: "open" (nothing proposed), "suggested", "matched".
    sa.Column("match_status", sa.String(20), nullable=False, server_default="open"),
    sa.Column("reconciled_at", TS),
    sa.UniqueConstraint("source", "external_id"),
)

credit_report = sa.Table(
    "credit_report",
    metadata,
    *_source_columns(),
    sa.Column("customer_external_id", sa.String(255), nullable=False),
    sa.Column("bureau", sa.String(100), nullable=False),
    sa.Column("bureau_company_id", sa.String(255), nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("raw_score", sa.String(50)),
    sa.Column("band", sa.String(50)),
    sa.Column("recommended_limit", Money),
    sa.Column("recommended_limit_currency", sa.String(3)),
    sa.Column("legal_events", sa.JSON, nullable=False),
    sa.Column("report_date", sa.Date, nullable=False),
    # what the bureau sent, as it sent it (audit), and a limit it gave as a sentence: from the bureau service
    sa.Column("raw", sa.JSON),
    sa.Column("limit_note", sa.Text),
    sa.UniqueConstraint("source", "external_id"),
)

collection_action = sa.Table(
    "collection_action",
    metadata,
    *_source_columns(),
    sa.Column("customer_external_id", sa.String(255), nullable=False),
    sa.Column("invoice_numbers", sa.JSON, nullable=False),
    sa.Column("channel", sa.String(30), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("outcome", sa.String(255)),
    sa.Column("promise_date", sa.Date),
    sa.Column("promise_amount", Money),
    sa.Column("promise_currency", sa.String(3)),
    sa.Column("author", sa.String(255)),
    sa.UniqueConstraint("source", "external_id"),
)

guarantee = sa.Table(
    "guarantee",
    metadata,
    *_source_columns(),
    sa.Column("customer_external_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("expiry_date", sa.Date),
    sa.Column("issuer", sa.String(255)),
    sa.UniqueConstraint("source", "external_id"),
)

sales_order = sa.Table(
    "sales_order",
    metadata,
    *_source_columns(),
    sa.Column("number", sa.String(255), nullable=False),
    sa.Column("customer_external_id", sa.String(255), nullable=False),
    sa.Column("order_date", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("open_amount", Money, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.UniqueConstraint("source", "external_id"),
)

fx_rate = sa.Table(
    "fx_rate",
    metadata,
    *_source_columns(),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("base", sa.String(3), nullable=False),
    sa.Column("rate", sa.Numeric(24, 10), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.UniqueConstraint("source", "external_id"),
)

allocation = sa.Table(
    "allocation",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("receipt_id", sa.Integer, sa.ForeignKey("receipt.id"), nullable=False, index=True),
    sa.Column("invoice_id", sa.Integer, sa.ForeignKey("invoice.id"), nullable=False, index=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("method", sa.String(100), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("rank", sa.Integer, nullable=False, server_default="1"),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("decided_by", sa.String(255), nullable=False),
    sa.Column("decided_at", TS, nullable=False),
)

message_key = sa.Table(
    "message_key",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("msgid", sa.Text, nullable=False),
)
"""The message id of each key a stored reason names (``allocation.reasons``: hub.i18n.messages_json)."""

reconcile_stage = sa.Table(
    "reconcile_stage",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("part", sa.Integer, primary_key=True),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("block", sa.Integer, primary_key=True),
    sa.Column("decided", sa.LargeBinary, nullable=False),
    sa.Column("rows", sa.LargeBinary, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)
"""What each partition of a queued run's reconcile decided, a block of receipts a row (compressed JSON:
the decisions with the states their receipts were read in, and the allocation rows), kept until the
run's one write (``ReconcileEngine.stage`` and ``commit_staged``)."""

remittance_advice = sa.Table(
    "remittance_advice",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("message_id", sa.String(255)),
    sa.Column("file", sa.String(1000)),
    sa.Column("payer_name", sa.String(500)),
    sa.Column("payer_account", sa.String(100)),
    sa.Column("end_to_end_id", sa.String(255)),
    sa.Column("amount", Money),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("payment_date", sa.Date),
    sa.Column("texts", sa.JSON, nullable=False),
    sa.Column("documents", sa.JSON, nullable=False),
    sa.Column("imported_at", TS, nullable=False),
    sa.UniqueConstraint("source", "external_id"),
)
"""Remittance advices: what a payer says a transfer pays, sent apart from it (ISO 20022 remt.001, a
CSV or spreadsheet export), each listing its documents (``[{"number", "kind", "amount", "discount",
"due", "date"}]``, amounts as text). The matcher reads an advice's documents and texts with the
receipt it is linked to (:mod:`hub.recon.advice`); importing a file again adds nothing."""

allocation_event = sa.Table(
    "allocation_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("allocation_id", sa.Integer, sa.ForeignKey("allocation.id"), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("note", sa.Text),
)

exposure = sa.Table(
    "exposure",
    metadata,
    sa.Column("customer_id", sa.String(255), primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("open_amount", Money, nullable=False),
    sa.Column("overdue_amount", Money, nullable=False),
    sa.Column("buckets", sa.JSON, nullable=False),
    sa.Column("unapplied_cash", Money, nullable=False),
    sa.Column("credit_limit", Money),
    sa.Column("utilisation", sa.Float),
    sa.Column("oldest_due_date", sa.Date),
    sa.Column("max_days_past_due", sa.Integer, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("band", sa.String(10)),
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("flags", sa.JSON, nullable=False),
    sa.Column("computed_at", TS, nullable=False),
    sa.Column("name", sa.String(500)),
    sa.Column("group_id", sa.String(255), index=True),
    sa.Column("open_orders", Money, nullable=False, server_default="0"),
    sa.Column("secured_amount", Money, nullable=False, server_default="0"),
    sa.Column("net_exposure", Money, nullable=False, server_default="0"),
    sa.Column("dso", sa.Float),
    sa.Column("avg_days_late", sa.Float),
    sa.Column("days_late_trend", sa.Float),
    sa.Column("payments_counted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("open_base", Money, nullable=False, server_default="0"),
    sa.Column("base_currency", sa.String(3)),
    sa.Column("fx_rates", sa.JSON),
    sa.Column("unconverted", sa.JSON),
    sa.Column("recommended_limit", Money),
    sa.Column("next_action", sa.JSON),
    # the systems this customer is known in ({connector: id}) when it was assessed: a system linked
    # since gets the flags and band already in force re-sent
    sa.Column("links", sa.JSON),
)
"""The latest assessment per customer (replaced by every risk run); history is in risk_assessment."""

exposure_group = sa.Table(
    "exposure_group",
    metadata,
    sa.Column("group_id", sa.String(255), primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("members", sa.Integer, nullable=False),
    sa.Column("open_amount", Money, nullable=False),
    sa.Column("overdue_amount", Money, nullable=False),
    sa.Column("buckets", sa.JSON, nullable=False),
    sa.Column("open_orders", Money, nullable=False),
    sa.Column("secured_amount", Money, nullable=False),
    sa.Column("net_exposure", Money, nullable=False),
    sa.Column("credit_limit", Money),
    sa.Column("utilisation", sa.Float),
    sa.Column("unconverted", sa.JSON),
    sa.Column("computed_at", TS, nullable=False),
)
"""Exposure of each group (a parent and its subsidiaries, all levels), in the parent's currency."""

risk_assessment = sa.Table(
    "risk_assessment",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("band", sa.String(10), nullable=False),
    sa.Column("flags", sa.JSON, nullable=False),
    sa.Column("signals", sa.JSON, nullable=False),
    sa.Column("computed_at", TS, nullable=False),
    sa.UniqueConstraint("customer_id", "as_of"),
)
"""One assessment per customer and day (a re-run that day replaces it): the history early warnings read."""

promise = sa.Table(
    "promise",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("action_id", sa.Integer, sa.ForeignKey("collection_action.id"), nullable=False, unique=True),
    sa.Column("customer_id", sa.String(255), nullable=False, index=True),
    sa.Column("made_on", sa.Date, nullable=False),
    sa.Column("promised_date", sa.Date, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    # open -> kept | broken, decided from matched receipts by the risk run
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("received", Money, nullable=False),
    sa.Column("settled_on", sa.Date),
    sa.Column("updated_at", TS, nullable=False),
)

credit_limit_proposal = sa.Table(
    "credit_limit_proposal",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False, index=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("current_limit", Money),
    sa.Column("recommended", Money, nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    # pending (needs approval) | approved | rejected | applied (small change, approved by policy) | superseded
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("decided_by", sa.String(255)),
    sa.Column("decided_at", TS),
    sa.Column("note", sa.Text),
)

risk_flag = sa.Table(
    "risk_flag",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False),
    sa.Column("code", sa.String(50), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("changed_at", TS, nullable=False),
    sa.UniqueConstraint("customer_id", "code"),
    # the reason as a message id and values (hub.i18n.Message.to_json), for readers of other languages
    sa.Column("message", sa.JSON),
)

flag_event = sa.Table(
    "flag_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.String(400), nullable=False, unique=True),
    sa.Column("customer_id", sa.String(255), nullable=False, index=True),
    sa.Column("code", sa.String(50), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("message", sa.JSON),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sink", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(400), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    # pending -> delivered | failed (will retry) -> dead (after max attempts); replay resets to pending
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("delivered_at", TS),
    # The customer the event is about: a sink receives each customer's events in the order queued.
    sa.Column("subject", sa.String(255)),
    # A pusher's claim on the row while it delivers it (``hub.outbox``): who, and until when.
    sa.Column("claimed_by", sa.String(200)),
    sa.Column("claim_expires_at", TS),
    sa.UniqueConstraint("sink", "event_id"),
    sa.Index("ix_outbox_sink_status", "sink", "status", "next_attempt_at"),
    sa.Index("ix_outbox_sink_subject", "sink", "subject", "id"),
)

outbox_dead_letter = sa.Table(
    "outbox_dead_letter",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("outbox_id", sa.Integer, nullable=False),
    sa.Column("sink", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(400), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("permanent", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("died_at", TS, nullable=False),
    sa.UniqueConstraint("sink", "event_id"),
)
"""Poison records: outbox rows that failed permanently or too often; ``hub outbox replay`` moves them back."""

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("connector", sa.String(100), nullable=False),
    sa.Column("stream", sa.String(100), nullable=False),
    sa.Column("external_id", sa.String(255)),
    sa.Column("raw", sa.JSON, nullable=False),
    sa.Column("raw_hash", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("first_seen", TS, nullable=False),
    sa.Column("last_seen", TS, nullable=False),
    sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
    # Set when a valid record with the same external id arrives from the same stream.
    sa.Column("resolved_at", TS),
    sa.UniqueConstraint("connector", "stream", "raw_hash"),
)

sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("connector", sa.String(100), primary_key=True),
    sa.Column("stream", sa.String(100), primary_key=True),
    sa.Column("cursor", sa.JSON),
    sa.Column("updated_at", TS, nullable=False),
)

sync_run = sa.Table(
    "sync_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("connector", sa.String(100), nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("stats", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
)

customer_alias = sa.Table(
    "customer_alias",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False, index=True),  # canonical id
    sa.Column("kind", sa.String(20), nullable=False),  # account | name
    sa.Column("value", sa.String(500), nullable=False),
    sa.Column("origin", sa.String(50), nullable=False),  # confirmed-match | manual
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("customer_id", "kind", "value"),
)
"""Payer accounts and names learned for a customer (from confirmed matches), beside the master's own."""

customer_link = sa.Table(
    "customer_link",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("canonical_id", sa.String(255), nullable=False),
    sa.Column("method", sa.String(30), nullable=False),  # tax_id | external_link | iban | name | manual
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    # applied | manual | proposed | rejected | unlinked | superseded
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("decided_by", sa.String(255)),
    sa.Column("decided_at", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("source", "external_id", "canonical_id"),
)
"""Identity resolution's links and proposals: customer record (source, external_id) -> canonical id."""

bureau_link = sa.Table(
    "bureau_link",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False, index=True),  # canonical id
    sa.Column("bureau", sa.String(100), nullable=False),  # the bureau connector's instance name
    sa.Column("company_id", sa.String(255), nullable=False),
    sa.Column("company_name", sa.String(500)),
    sa.Column("country", sa.String(10)),
    # proposed (for a person) | linked | rejected
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("method", sa.String(30), nullable=False),  # duns | uscc | vat | registration | name | manual
    sa.Column("evidence", sa.JSON, nullable=False),
    sa.Column("monitored", sa.Boolean, nullable=False, server_default=sa.false()),
    # when its latest report was fetched (the cache's age)
    sa.Column("reported_at", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("decided_by", sa.String(255)),
    sa.Column("decided_at", TS),
    sa.UniqueConstraint("customer_id", "bureau", "company_id"),
    sa.Index("ix_bureau_link_bureau_company_id", "bureau", "company_id"),
)
"""Which bureau company each customer is, per bureau connector: linked by an id, or proposed for a person."""

bureau_call = sa.Table(
    "bureau_call",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("bureau", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # search | report | monitoring
    sa.Column("customer_id", sa.String(255)),
    sa.Column("company_id", sa.String(255)),
    sa.Column("at", TS, nullable=False),
    # pending (claimed, under way) | ok | none (nothing found) | not_found | malformed | auth | error
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("paid", sa.Boolean, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Index("ix_bureau_call_bureau_at", "bureau", "at"),
)
"""Every call made to a bureau, paid or not: the monthly budget counts the paid ones (and those under way)."""

bureau_state = sa.Table(
    "bureau_state",
    metadata,
    sa.Column("bureau", sa.String(100), primary_key=True),
    sa.Column("cursor", sa.JSON),
    sa.Column("updated_at", TS, nullable=False),
)
"""Per bureau connector, the monitoring cursor; the row ``*admission*`` marks that screening has started."""

bureau_event = sa.Table(
    "bureau_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("bureau", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(255), nullable=False),
    sa.Column("company_id", sa.String(255), nullable=False),
    sa.Column("customer_id", sa.String(255), index=True),
    sa.Column("date", sa.Date),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("handled_at", TS),
    sa.UniqueConstraint("bureau", "event_id"),
)
"""Monitoring events; a customer with one not handled yet is refreshed on the next run."""

bureau_screening = sa.Table(
    "bureau_screening",
    metadata,
    sa.Column("customer_id", sa.String(255), primary_key=True),
    # pending (to screen) | screened | existing (known before screening started: not screened)
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("first_seen", TS, nullable=False),
    sa.Column("bureau", sa.String(100)),
    sa.Column("screened_at", TS),
    sa.Column("score", sa.Float),
    sa.Column("band", sa.String(20)),
    sa.Column("bureau_band", sa.String(50)),
    sa.Column("recommended_limit", Money),
    sa.Column("currency", sa.String(3)),
    sa.Column("terms_days", sa.Integer),
    sa.Column("prepayment", sa.Boolean),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("waiting", sa.Text),
)
"""Admission screening (客户准入): each customer once, when it first appears; its terms by band."""

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", TS, nullable=False, index=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("object_type", sa.String(50), nullable=False),
    sa.Column("object_id", sa.String(400), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

web_user = sa.Table(
    "web_user",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id, PHC string
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("locale", sa.String(20)),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)
"""People who log in to the console and the API (``hub users``)."""

web_session = sa.Table(
    "web_session",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # SHA-256 of the cookie's random id
    sa.Column("user_id", sa.Integer, sa.ForeignKey("web_user.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(100), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_seen_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False, index=True),
    sa.Column("ip", sa.String(64)),
)
"""Browser sessions; the cookie holds the id, the store only its hash."""

api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("prefix", sa.String(20), nullable=False),  # the first characters, to recognise it in a list
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 of the whole token
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_used_at", TS),
    sa.Column("expires_at", TS),
    sa.Column("revoked_at", TS),
    sa.Column("revoked_by", sa.String(255)),
)
"""Tokens of programs calling the REST API (``hub tokens``); only their hashes are kept."""

login_attempt = sa.Table(
    "login_attempt",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("user_name", sa.String(100), nullable=False),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Index("ix_login_attempt_user_name_at", "user_name", "at"),
    sa.Index("ix_login_attempt_ip_at", "ip", "at"),
)
"""Logins tried, for throttling (failures of a name or from an address within a window)."""

credit_limit_request = sa.Table(
    "credit_limit_request",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False, index=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("current_limit", Money),
    sa.Column("requested", Money, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    # pending -> approved | rejected | withdrawn; applied: within the four-eyes threshold, at once
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("requested_by", sa.String(255), nullable=False),
    sa.Column("requested_at", TS, nullable=False),
    sa.Column("decided_by", sa.String(255)),
    sa.Column("decided_at", TS),
    sa.Column("note", sa.Text),
    sa.Column("event_id", sa.String(400)),
)
"""Credit limits people ask for; a change above the four-eyes threshold waits for a second credit user."""

webhook_notice = sa.Table(
    "webhook_notice",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("connector", sa.String(100), nullable=False),
    sa.Column("signature", sa.String(64), nullable=False),  # seen signatures: a replay is refused
    sa.Column("signed_at", TS, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("event_type", sa.String(200)),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("handled_at", TS),  # set by the next sync of the connector
    sa.UniqueConstraint("connector", "signature"),
    sa.Index("ix_webhook_notice_connector_handled_at", "connector", "handled_at"),
)
"""Changes a CRM or bank pushed in (signed webhooks): the next sync of that connector reads them."""

#: The customer record an invoice belongs to (same source), for outer joins.
invoice_customer = sa.and_(
    customer.c.source == invoice.c.source, customer.c.external_id == invoice.c.customer_external_id
)
#: An invoice's canonical customer id; ``source:customer_external_id`` while its customer is unknown.
invoice_customer_id = sa.func.coalesce(customer.c.canonical_id, invoice.c.source + ":" + invoice.c.customer_external_id)

#: Record type name (as in ``hub.model.RECORD_TYPES``) -> its table.
RECORD_TABLES: dict[str, sa.Table] = {
    "customer": customer,
    "invoice": invoice,
    "receipt": receipt,
    "credit_report": credit_report,
    "collection_action": collection_action,
    "guarantee": guarantee,
    "sales_order": sales_order,
    "fx_rate": fx_rate,
}

portfolio_snapshot = sa.Table(
    "portfolio_snapshot",
    metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("base_currency", sa.String(3), nullable=False),
    sa.Column("customers", sa.Integer, nullable=False),
    sa.Column("open_base", Money, nullable=False),
    sa.Column("overdue_base", Money, nullable=False),
    # ageing bucket label -> amount in the base currency (a decimal string)
    sa.Column("buckets", sa.JSON, nullable=False),
    # days sales outstanding of the book: the customers' DSO weighted by what each owes
    sa.Column("dso", sa.Float),
    sa.Column("computed_at", TS, nullable=False),
)
"""The book as each day's risk run left it (one row per as-of day; a re-run replaces it): the history
the dashboard's DSO and overdue-by-bucket trends read (``exposure`` holds only the latest run)."""


#: Secondary indexes a first load into an empty table drops and builds once at its end (hub.sync).
BULK_DEFERRED_INDEXES: dict[str, tuple[sa.Index, ...]] = {
    "invoice": (invoice_open_customer,),
}


# -- collection communications (hub.comms, docs/communications.md) ------------------------------------

comms_contact = sa.Table(
    "comms_contact",
    metadata,
    sa.Column("customer_id", sa.String(255), primary_key=True),
    sa.Column("email", sa.String(320)),
    sa.Column("language", sa.String(10)),
    sa.Column("time_zone", sa.String(64)),
    # channels the customer asked not to be contacted by (email, letter...)
    sa.Column("opt_out", sa.JSON, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", sa.String(255)),
)
"""How to reach a customer for collections: email, language, time zone and opt-outs (``hub comms contact``)."""

dispute = sa.Table(
    "dispute",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False),
    # the contested invoice; NULL: the customer contests its account as a whole
    sa.Column("invoice_number", sa.String(255)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("amount", Money),
    sa.Column("currency", sa.String(3)),
    sa.Column("status", sa.String(20), nullable=False),  # open | resolved
    # "customer|invoice" while open, NULL once resolved: one open dispute per invoice, whoever opens it
    sa.Column("open_key", sa.String(600), unique=True),
    sa.Column("opened_at", TS, nullable=False),
    sa.Column("opened_by", sa.String(255)),
    sa.Column("resolved_at", TS),
    sa.Column("resolved_by", sa.String(255)),
    sa.Column("resolution", sa.Text),
    sa.Index("ix_dispute_customer_status", "customer_id", "status"),
)
"""Disputes and deductions: a customer contests an invoice (or its account); open ones pause the ladder."""

comms_message = sa.Table(
    "comms_message",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.String(255), nullable=False, unique=True),
    sa.Column("customer_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False),  # email | letter
    sa.Column("template", sa.String(60), nullable=False),
    sa.Column("language", sa.String(10), nullable=False),
    sa.Column("to_address", sa.String(320)),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("body_html", sa.Text, nullable=False),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("invoice_numbers", sa.JSON, nullable=False),
    sa.Column("attachment", sa.LargeBinary),
    sa.Column("attachment_name", sa.String(200)),
    # pending -> sent | failed (will retry) -> dead (5xx rejection or too many tries); blocked at delivery
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TS, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(255)),
    sa.Column("sent_at", TS),
    sa.Column("claimed_by", sa.String(200)),
    sa.Column("claim_expires_at", TS),
    # the collection ledger line the send wrote (collection_action.id)
    sa.Column("action_id", sa.Integer),
    sa.Column("resent_from", sa.Integer),
    sa.Index("ix_comms_message_status", "status", "next_attempt_at"),
    sa.Index("ix_comms_message_customer", "customer_id", "created_at"),
)
"""Collection emails and letters: queued, delivered with retries and claims, each send one ledger line."""


# -- cases after the ladder, late-payment interest (hub.cases, hub.interest; migration 0012) -------------

#: Statuses of a case that is still running: one such case per customer and kind.
CASE_ACTIVE_STATUSES = ("open", "filed", "judgment")
_case_active = sa.text("status IN ('open', 'filed', 'judgment')")

collection_case = sa.Table(
    "collection_case",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False, index=True),  # canonical id
    sa.Column("kind", sa.String(20), nullable=False),  # litigation | arbitration | agency
    # open -> filed -> judgment -> settled | closed | written_off
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("court", sa.String(255)),
    sa.Column("case_number", sa.String(255)),
    sa.Column("agency", sa.String(255)),
    sa.Column("agency_ref", sa.String(255)),
    sa.Column("invoices", sa.JSON, nullable=False),  # invoice numbers the case covers
    sa.Column("claimed", Money, nullable=False),  # what the covered invoices had open when it was opened
    sa.Column("note", sa.Text),
    sa.Column("opened_by", sa.String(255), nullable=False),
    sa.Column("opened_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("closed_at", TS),
    sa.CheckConstraint("kind IN ('litigation', 'arbitration', 'agency')", name="ck_collection_case_kind"),
    sa.CheckConstraint(
        "status IN ('open', 'filed', 'judgment', 'settled', 'closed', 'written_off')", name="ck_collection_case_status"
    ),
)
collection_case_active = sa.Index(
    "uq_collection_case_active",
    collection_case.c.customer_id,
    collection_case.c.kind,
    unique=True,
    sqlite_where=_case_active,
    postgresql_where=_case_active,
)
"""One running case per customer and kind: two people opening one at once get one case."""

case_status_event = sa.Table(
    "case_status_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("collection_case.id"), nullable=False, index=True),
    sa.Column("from_status", sa.String(20)),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("note", sa.Text),
)
"""Every status a case went through, who set it and when (the first row: opened)."""

case_cost = sa.Table(
    "case_cost",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("collection_case.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(30), nullable=False),  # court_fee | lawyer_fee | agency_commission | other
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("incurred_on", sa.Date, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("recorded_by", sa.String(255), nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
)

case_document = sa.Table(
    "case_document",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("collection_case.id"), nullable=False, index=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("added_by", sa.String(255), nullable=False),
    sa.Column("added_at", TS, nullable=False),
    sa.UniqueConstraint("case_id", "sha256"),
)
"""Files of a case (claims, judgments, letters): where they are and their SHA-256, so a changed file shows."""

case_recovery = sa.Table(
    "case_recovery",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("collection_case.id"), nullable=False, index=True),
    sa.Column("ref", sa.String(255), nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("booked_on", sa.Date, nullable=False),
    sa.Column("receipt_id", sa.Integer, sa.ForeignKey("receipt.id"), nullable=False),
    sa.Column("recorded_by", sa.String(255), nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
    sa.UniqueConstraint("case_id", "ref"),
)
"""Money an agency or lawyer collected: each is a receipt (source ``case``) that reconciles like any other."""

interest_charge = sa.Table(
    "interest_charge",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(255), nullable=False),
    sa.Column("period", sa.String(20), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("event_id", sa.String(400), nullable=False, unique=True),
    sa.Column("lines", sa.JSON, nullable=False),
    sa.Column("totals", sa.JSON, nullable=False),
    sa.Column("created_by", sa.String(255), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("customer_id", "period"),
)
"""Interest invoices queued for the ERP, once per customer and period (``hub interest invoice``)."""
