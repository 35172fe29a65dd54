"""The SQLite bulk write with constant columns as literals stores exactly what plain executemany stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from hub.store import schema
from hub.store.bulk import BulkWriter

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
