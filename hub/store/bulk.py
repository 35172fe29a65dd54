"""The store's bulk write path: statements compiled once by SQLAlchemy, rows sent straight to the driver.

Used by the sync engine for pages of thousands of records, where SQLAlchemy's per-row bookkeeping
would cost more than the database itself. Also the content hash that tells a changed record from
an unchanged one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def hash_token(value: Any) -> str:
    """One value's part of a record hash: text as is, None and other types marked apart from text."""
    if type(value) is str:
        return value
    return "\x00" if value is None else "\x02" + repr(value)


def hash_text(text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def record_hash(values: Iterable[Any]) -> int:
    """A stable 64-bit content hash of a mapped record (Python's ``hash`` is salted per process).

    Values are joined with the unit separator; text that itself contains one could collide with
    another split of the same characters, which only makes an edited record look unchanged in data
    crafted for it.
    """
    return hash_text("\x1f".join(map(hash_token, values)))


class BulkWriter:
    """Writes validated rows of one table with a statement compiled once by SQLAlchemy.

    Rows go through the column types' own bind processors and then straight to the driver's
    ``executemany``: the same SQL and the same conversions SQLAlchemy would apply, without its
    per-row bookkeeping, which costs more than the database itself for bulk loads.
    """

    def __init__(
        self,
        dialect: Any,
        table: sa.Table,
        columns: Sequence[str],
        disposition: str,
        keep_on_update: Sequence[str] = (),
    ) -> None:
        insert: Any = (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)
        insert = insert.values({c: sa.bindparam(c) for c in columns})
        key = ["source", "external_id"]
        if disposition == "merge":
            update = {c: insert.excluded[c] for c in columns if c not in key and c not in keep_on_update}
            stmt = insert.on_conflict_do_update(index_elements=key, set_=update)
        else:
            stmt = insert.on_conflict_do_nothing(index_elements=key)
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positiontup is not None and dialect.paramstyle in ("qmark", "numeric", "format")
        #: Parameter order of a row tuple (what :meth:`params` returns and row builders emit).
        self.order = list(compiled.positiontup) if self.positional and compiled.positiontup else list(columns)
        self.table = table
        self.dialect = dialect
        self._processors = {c: table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns}

    def db_value(self, column: str, value: Any) -> Any:
        """``value`` as the driver receives it for ``column`` (after the type's bind processor)."""
        proc = self._processors[column]
        return value if proc is None else proc(value)

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """A validated row (Python values) as a driver parameter tuple in :attr:`order`."""
        procs = self._processors
        return tuple(row[c] if (p := procs[c]) is None else p(row[c]) for c in self.order)

    def write(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        params: list[Any] = rows if self.positional else [dict(zip(self.order, r, strict=True)) for r in rows]
        conn.exec_driver_sql(self.sql, params)
