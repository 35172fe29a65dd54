"""The SQLite bulk write with constant columns as literals stores exactly what plain executemany stores."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from hub.store import schema
from hub.store.bulk import BulkWriter
from tests.conftest import PG_ADMIN_URL

COLUMNS = [
    "source",
    "external_id",
    "record_hash",
    "synced_at",
    "bank_ref",
    "statement_id",
    "booking_date",
    "amount",
    "currency",
    "direction",
    "reversal",
    "references",
    "additional_remittance",
    "payer_name",
    "remittance",
]

texts = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "x",
            "it's",
            "O'Brien; DROP TABLE receipt;--",
            "a\nb",
            "ünïcödé",
            "\x00nul",
            "'",
            "''",
            "x" * 250,
            "%s ? :name",
            "123",
            "1e3",
            " padded ",
        ]
    ),
    st.text(max_size=8),
)
ints = st.one_of(
    st.sampled_from([0, 1, -1, (1 << 62) - 1, -(1 << 62) + 1, 1 << 62, -(1 << 63), (1 << 63) - 1]),
    st.integers(-(1 << 63), (1 << 63) - 1),
)


def _row(i: int, draw_text: Any, draw_int: Any, order: list[str]) -> tuple[Any, ...]:
    values = {
        "source": "bank",
        "external_id": f"k{i}",
        "record_hash": draw_int,
        "synced_at": "2026-11-29 00:00:00.000000",
        "bank_ref": draw_text,
        "statement_id": draw_text,
        "booking_date": "2026-11-28",
        "amount": draw_int,
        "currency": "EUR",
        "direction": "credit",
        "reversal": 0,
        "references": "[]",
        "additional_remittance": "[]",
        "payer_name": draw_text,
        "remittance": draw_text,
    }
    return tuple(values[c] for c in order)


def _stored(url: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        cols = ", ".join(f'"{c}"' for c in COLUMNS)
        rows = conn.exec_driver_sql(
            f"SELECT id, {cols}, typeof(record_hash), typeof(amount) FROM receipt ORDER BY id"
        ).fetchall()
    engine.dispose()
    return [tuple(r) for r in rows]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 160),
    text=texts,
    number=ints,
    varying=st.lists(st.tuples(texts, ints), min_size=1, max_size=3),
)
def test_shaped_write_stores_exactly_what_executemany_stores(
    tmp_path_factory: Any, n: int, text: Any, number: int, varying: list[tuple[Any, int]]
) -> None:
    urls = []
    for shaped in (True, False):
        folder: Path = tmp_path_factory.mktemp("db")
        url = f"sqlite:///{folder / 'hub.db'}"
        engine = sa.create_engine(url)
        schema.metadata.create_all(engine, tables=[schema.receipt])
        writer = BulkWriter(engine.dialect, schema.receipt, COLUMNS, "append")
        assert writer._values is not None
        rows = [_row(i, *(varying[i % len(varying)] if i % 3 else (text, number)), writer.order) for i in range(n)]
        with engine.begin() as conn:
            if shaped:
                writer.write(conn, rows)
            else:
                conn.exec_driver_sql(writer.sql, rows)
        engine.dispose()
        urls.append(url)
    assert _stored(urls[0]) == _stored(urls[1])


def test_a_large_page_takes_the_shaped_write(tmp_path: Path, monkeypatch: Any) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    schema.metadata.create_all(engine, tables=[schema.receipt])
    writer = BulkWriter(engine.dialect, schema.receipt, COLUMNS, "append")
    calls = []
    original = BulkWriter._write_shaped
    monkeypatch.setattr(
        BulkWriter, "_write_shaped", lambda self, conn, rows: calls.append(len(rows)) or original(self, conn, rows)
    )
    with engine.begin() as conn:
        writer.write(conn, [_row(i, "it's", i, writer.order) for i in range(120)])
    engine.dispose()
    assert calls == [120]
    assert len(_stored(str(engine.url))) == 120


CUSTOMER_COLUMNS = [
    "source",
    "external_id",
    "record_hash",
    "synced_at",
    "canonical_id",
    "legal_name",
    "aliases",
    "tax_ids",
    "ibans",
    "links",
    "credit_limit",
    "country",
]


def _customer_rows(writer: BulkWriter, keys: range, *, name: str, canonical: str) -> list[tuple[Any, ...]]:
    synced = dt.datetime(2026, 11, 29, 12, 0, 0)
    return [
        writer.params(
            {
                "source": "erp",
                "external_id": f"C{i:04d}",
                "record_hash": i * 7919 - (1 << 40),
                "synced_at": synced,
                "canonical_id": f"{canonical}{i}",
                "legal_name": f"{name} {i} O'Brien\tGmbH \\ 有限公司",
                "aliases": [f"{name}\n{i}"] if i % 3 else [],
                "tax_ids": {"vat": f"DE{i:09d}"},
                "ibans": [],
                "links": {"erp": f"C{i:04d}"},
                "credit_limit": Decimal(i) * Decimal("1000.05") if i % 4 else None,
                "country": None,
            }
        )
        for i in keys
    ]


@pytest.fixture
def pg_database(pg_admin: sa.Engine) -> Iterator[sa.Engine]:
    """An empty database of its own on the PostgreSQL server, with the customer table."""
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(sa.make_url(PG_ADMIN_URL).set(database=name))
    schema.metadata.create_all(engine, tables=[schema.customer])
    yield engine
    engine.dispose()
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pages_written(engine: sa.Engine, disposition: str) -> list[Any]:
    writer = BulkWriter(
        engine.dialect, schema.customer, CUSTOMER_COLUMNS, disposition, keep_on_update=("canonical_id",)
    )
    with engine.begin() as conn:
        writer.write(conn, _customer_rows(writer, range(120), name="Alpha", canonical="first"))
    with engine.begin() as conn:  # a second page over the first: 60 keys already stored, 60 new
        writer.write(conn, _customer_rows(writer, range(60, 180), name="Beta", canonical="second"))
    with engine.connect() as conn:
        cols = ", ".join(f'"{c}"' for c in CUSTOMER_COLUMNS)
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {cols} FROM customer ORDER BY id").all()]


@pytest.mark.postgres
@pytest.mark.parametrize("disposition", ["merge", "append"])
def test_postgres_copy_write_stores_what_the_row_statement_stores(
    pg_database: sa.Engine, pg_admin: sa.Engine, disposition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages written through COPY and a staging table hold the same rows, in the same order, as
    pages written row by row: merged over stored keys with canonical_id kept, or skipped."""
    copies: list[int] = []
    original = BulkWriter._write_copy

    def counted(self: BulkWriter, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        copies.append(len(rows))
        original(self, conn, rows)

    monkeypatch.setattr(BulkWriter, "_write_copy", counted)
    with_copy = _pages_written(pg_database, disposition)
    assert copies == [120, 120]

    monkeypatch.setattr("hub.store.bulk._COPY_MIN_ROWS", 10**9)  # every page row by row
    with pg_database.begin() as conn:
        conn.exec_driver_sql("TRUNCATE customer RESTART IDENTITY")
    row_by_row = _pages_written(pg_database, disposition)

    assert with_copy == row_by_row
    assert len(with_copy) == 180
    by_key = {r[1]: r for r in with_copy}
    assert by_key["C0061"][4] == "first61"  # canonical_id is kept on update
    assert by_key["C0061"][5].startswith("Beta" if disposition == "merge" else "Alpha")
    assert by_key["C0150"][4] == "second150"


@pytest.mark.postgres
def test_postgres_copy_write_rolled_back_leaves_nothing_and_the_next_write_works(pg_database: sa.Engine) -> None:
    writer = BulkWriter(pg_database.dialect, schema.customer, CUSTOMER_COLUMNS, "merge")
    with pg_database.connect() as conn:
        with conn.begin() as tx:
            writer.write(conn, _customer_rows(writer, range(100), name="Lost", canonical="x"))
            tx.rollback()  # the staging table made in this transaction goes with it
        with conn.begin():
            writer.write(conn, _customer_rows(writer, range(50, 150), name="Kept", canonical="y"))
        with conn.begin():  # the same connection again: its staging table is reused, empty
            writer.write(conn, _customer_rows(writer, range(140, 200), name="More", canonical="z"))
        names = conn.exec_driver_sql("SELECT legal_name FROM customer ORDER BY id").scalars().all()
    assert len(names) == 150
    assert not any(n.startswith("Lost") for n in names)
    assert names[-1].startswith("More")
