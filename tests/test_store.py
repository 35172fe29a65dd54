"""The store: migrations create exactly the schema the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub.errors import StoreError
from hub.model import RECORD_TYPES
from hub.store import Store, schema


def test_migrations_match_the_table_definitions(store: Store) -> None:
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), schema.metadata)
    assert diff == []


def test_migrate_is_idempotent_and_commands_refuse_an_uninitialised_database(db_url: str) -> None:
    s = Store(db_url)
    with pytest.raises(StoreError, match="run 'hub init'"):
        s.check_ready()
    assert s.migrate() == s.migrate()
    s.check_ready()
    s.dispose()


def test_every_model_field_has_a_column() -> None:
    for name, model in RECORD_TYPES.items():
        table = schema.RECORD_TABLES[name]
        assert set(model.model_fields) <= set(table.c.keys()), name


@pytest.mark.parametrize("value", ["0.01", "1234567890.12", "-5.5", "8.850", "0.000001", "1000.00"])
def test_money_round_trips_exactly(store: Store, value: str) -> None:
    t = schema.exposure
    with store.begin() as conn:
        conn.execute(
            t.insert().values(
                customer_id="c",
                as_of=sa.func.current_date(),
                currency="EUR",
                open_amount=Decimal(value),
                overdue_amount=Decimal(0),
                buckets={},
                unapplied_cash=Decimal(0),
                max_days_past_due=0,
                signals=[],
                flags=[],
                computed_at=sa.func.current_timestamp(),
            )
        )
        got = conn.execute(sa.select(t.c.open_amount, sa.func.sum(t.c.open_amount)).group_by(t.c.open_amount)).one()
    assert got[0] == Decimal(value)
    assert got[1] == Decimal(value)  # SUM keeps the Money type: exact on both engines


def test_unreachable_database_is_a_store_error() -> None:
    s = Store("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="cannot"):
        s.check_ready()
