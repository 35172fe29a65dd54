"""The store's bulk write path: statements compiled once by SQLAlchemy, rows sent straight to the driver.

Used by the sync engine for pages of thousands of records, where SQLAlchemy's per-row bookkeeping
would cost more than the database itself. Also the content hash that tells a changed record from
an unchanged one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from itertools import chain
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


#: Largest number of ids in one ``IN (...)`` lookup (SQLite's default variable limit is 32766).
LOOKUP_CHUNK = 5000


def key_in(dialect: Any, column: Any, name: str) -> Any:
    """``column IN`` the list bound as ``name``: on PostgreSQL ``= ANY`` of one array parameter, elsewhere
    an expanding parameter (not a list of literals, each of which SQLAlchemy would coerce).

    Why the array: an expanding list of 5,000 ids is 5,000 placeholders that SQLAlchemy renders with
    a cast each and psycopg splits again, on every page; it made a full re-read into PostgreSQL
    slower than the database work itself.
    """
    if dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


def stored_hashes(conn: Connection, table: sa.Table, source: str, ids: Sequence[str]) -> dict[str, int]:
    """The content hash of each of ``ids`` that ``table`` holds for ``source``, in chunked queries."""
    found: dict[str, int] = {}
    query = sa.select(table.c.external_id, table.c.record_hash).where(
        table.c.source == source, key_in(conn.dialect, table.c.external_id, "ids")
    )
    for i in range(0, len(ids), LOOKUP_CHUNK):
        found.update(conn.execute(query, {"ids": list(ids[i : i + LOOKUP_CHUNK])}).all())
    return found


def dialect_insert(dialect: Any, table: sa.Table) -> Any:
    """An INSERT of ``table`` in the dialect's own form, which has ``on_conflict_do_update`` and
    ``on_conflict_do_nothing`` (PostgreSQL's and SQLite's share them; SQLAlchemy's generic one has
    neither)."""
    return (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)


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
        insert: Any = dialect_insert(dialect, table)
        stmt = _on_conflict(insert.values({c: sa.bindparam(c) for c in columns}), columns, disposition, keep_on_update)
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positiontup is not None and dialect.paramstyle in ("qmark", "numeric", "format")
        #: Parameter order of a row tuple (what :meth:`params` returns and row builders emit).
        self.order = list(compiled.positiontup) if self.positional and compiled.positiontup else list(columns)
        # SQLite with one "?" per column: the statement split around its VALUES tuple, for write().
        self._values: tuple[str, str] | None = None
        marker = "(" + ", ".join("?" * len(self.order)) + ")"
        if dialect.name == "sqlite" and dialect.paramstyle == "qmark" and self.sql.count(marker) == 1:
            before, after = self.sql.split(marker)
            if before.endswith(" VALUES ") and "?" not in before + after:
                self._values = (before, after)
        self.table = table
        self.dialect = dialect
        # PostgreSQL: the same write as a COPY into a staging table and one INSERT ... SELECT, for write().
        self._copy: tuple[str, str, str, str] | None = None
        self._copy_types: list[int] | None = None
        if dialect.name == "postgresql" and not self.positional:
            self._copy = _copy_statements(dialect, table, self.order, disposition, keep_on_update)
        self._processors = {c: table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns}

    def db_value(self, column: str, value: Any) -> Any:
        """``value`` as the driver receives it for ``column`` (after the type's bind processor)."""
        proc = self._processors[column]
        return value if proc is None else proc(value)

    def db_json(self, text: str) -> Any:
        """A JSON column's value already written as JSON text, as the driver receives it: the text itself
        (what the type's bind processor would have made of the document on SQLite), or for psycopg
        wrapped to be sent as it is. For a run writing the same document on many rows, serialized once."""
        if self.dialect.name == "postgresql":
            from psycopg.types.json import Json

            return Json(text, dumps=_as_is)
        return text

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """A validated row (Python values) as a driver parameter tuple in :attr:`order`."""
        procs = self._processors
        return tuple(row[c] if (p := procs[c]) is None else p(row[c]) for c in self.order)

    def write(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self._values is not None and len(rows) >= _SHAPED_MIN_ROWS:
            self._write_shaped(conn, rows)
            return
        if self._copy is not None and len(rows) >= _COPY_MIN_ROWS:
            self._write_copy(conn, rows)
            return
        params: list[Any] = rows if self.positional else [dict(zip(self.order, r, strict=True)) for r in rows]
        conn.exec_driver_sql(self.sql, params)

    def _write_copy(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL: the rows COPYed into a temporary staging table, then moved by one INSERT ...
        SELECT with the same ON CONFLICT clause as the plain statement.

        Why: ``executemany`` of an upsert sends and plans one statement per row (even pipelined by
        psycopg), which made a first sync into PostgreSQL less than half as fast as into SQLite.
        COPY is PostgreSQL's bulk path; the staging table keeps the upsert's semantics (merge or
        skip on the key, the columns kept on update), which COPY alone does not have. The caller
        gives each key once per call (a page's later copy of a record has already replaced an
        earlier one), as ON CONFLICT DO UPDATE requires of one statement. The staging table lives
        as long as the connection and is emptied after each page; created in the caller's
        transaction, it disappears with a rollback and is made again by the next write.
        """
        assert self._copy is not None
        create, copy_sql, move, stage = self._copy
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(create)
            if self._copy_types is None:
                self._copy_types = _staging_types(cursor, stage)
            with cursor.copy(copy_sql) as copy:
                # the columns' types told once: no dumper looked up per value
                copy.set_types(self._copy_types)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(move)
        finally:
            cursor.close()

    def _write_shaped(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        """SQLite: the same rows with fewer parameters, in statements of many rows.

        Why: the sqlite3 module spends about 0.2 microseconds binding each parameter, more than
        SQLite spends storing it, and a page of bank receipts has 41 columns of which most hold the
        same value in every row (the source, the statement, the sync time) or none at all. A column
        whose value is the same ``None``, ``int`` or short plain ASCII ``str`` in every row of the
        page is written as an SQL literal, which SQLite stores exactly as the bound value (same
        type, same affinity rules); the others stay parameters, several rows to a statement (fewer
        calls into SQLite). The rows are stored in the same order, so with the same ids. This
        halves the cost of writing a page of receipts (about 10 to 5 microseconds a row).
        """
        assert self._values is not None
        before, after = self._values
        values = []
        kept = []
        for column in zip(*rows, strict=True):
            literal = _literal(column)
            if literal is None:
                values.append("?")
                kept.append(column)
            else:
                values.append(literal)
        if not kept:  # every row the same: nothing to gain
            conn.exec_driver_sql(self.sql, rows)
            return
        one = "(" + ", ".join(values) + ")"
        data = list(zip(*kept, strict=True))
        per = max(1, min(_ROWS_PER_STATEMENT, _MAX_PARAMETERS // len(kept)))
        full = len(data) // per * per
        if per > 1 and full:
            width = per * len(kept)
            flat = list(chain.from_iterable(data[:full]))
            conn.exec_driver_sql(
                f"{before}{', '.join([one] * per)}{after}",
                [tuple(flat[j : j + width]) for j in range(0, len(flat), width)],
            )
            data = data[full:]
        if data:
            conn.exec_driver_sql(f"{before}{one}{after}", data)


#: Pages smaller than this are written with the plain statement.
def _as_is(text: Any) -> Any:
    return text


_SHAPED_MIN_ROWS = 50
#: PostgreSQL: pages smaller than this are written with the plain statement, not through COPY.
_COPY_MIN_ROWS = 50


def _on_conflict(insert: Any, columns: Sequence[str], disposition: str, keep_on_update: Sequence[str]) -> Any:
    """``insert`` merging into (``merge``: every column but the key and ``keep_on_update``) or skipping
    (``append``) a row already stored under the same ``(source, external_id)``; ``insert`` adds every row
    as a new one (a table with no natural key, such as the allocations a run decides)."""
    if disposition == "insert":
        return insert
    key = ["source", "external_id"]
    if disposition == "merge":
        update = {c: insert.excluded[c] for c in columns if c not in key and c not in keep_on_update}
        return insert.on_conflict_do_update(index_elements=key, set_=update)
    return insert.on_conflict_do_nothing(index_elements=key)


def _copy_statements(
    dialect: Any, table: sa.Table, order: Sequence[str], disposition: str, keep_on_update: Sequence[str]
) -> tuple[str, str, str, str]:
    """PostgreSQL's staging-table statements for :meth:`BulkWriter._write_copy`: create the staging
    table if this connection has none (the target's column types, no constraints), COPY into it,
    and move its rows into the target with the same conflict clause as the plain statement,
    emptying it; and the staging table's name."""
    quote = dialect.identifier_preparer.quote
    stage = f"hub_stage_{table.name}"
    cols = ", ".join(quote(c) for c in order)
    create = (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(stage)} AS SELECT {cols} FROM {quote(table.name)} WITH NO DATA"
    )
    staging = sa.table(stage, *(sa.column(c) for c in order))
    insert = postgresql.insert(table).from_select(list(order), sa.select(*(staging.c[c] for c in order)))
    move = str(_on_conflict(insert, order, disposition, keep_on_update).compile(dialect=dialect))
    return create, f"COPY {quote(stage)} ({cols}) FROM STDIN", f"{move}; TRUNCATE {quote(stage)}", stage


def _staging_types(cursor: Any, stage: str) -> list[int]:
    """The type oid of each column of the staging table, in order."""
    cursor.execute(
        "SELECT atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        (stage,),
    )
    return [oid for (oid,) in cursor.fetchall()]


#: Rows in one statement of :meth:`BulkWriter._write_shaped`, and the parameters it may hold
#: (SQLite's limit was 999 before 3.32).
_ROWS_PER_STATEMENT = 50
_MAX_PARAMETERS = 999
#: Integers written as literals stay well inside 64 bits (``-9223372036854775808`` would be read as
#: minus a REAL).
_SAFE_INT = 1 << 62


def _literal(column: tuple[Any, ...]) -> str | None:
    """The SQL literal of a column whose rows all hold the same None, int or plain ASCII text, else None."""
    first = column[0]
    if first is None:
        return "NULL" if column.count(None) == len(column) else None
    if type(first) is str:
        text: str = first
        # only a str equals a str: an equal count means the same text in every row
        if len(text) > 200 or not (text.isascii() and text.isprintable()) or column.count(text) != len(column):
            return None
        return "'" + text.replace("'", "''") + "'"
    # 1 == True == 1.0: every value must be an int too
    if (
        type(first) is int
        and -_SAFE_INT < first < _SAFE_INT
        and column.count(first) == len(column)
        and set(map(type, column)) == {int}
    ):
        return str(first)
    return None
