"""Exact money arithmetic in SQL, on PostgreSQL and SQLite alike.

Money columns hold millionths (:class:`hub.store.schema.Money`). PostgreSQL keeps them as
``NUMERIC(38, 0)``, whose ``sum`` and ``-`` are exact at any size. SQLite has nothing exact beyond
64 bits: its ``sum`` of integers fails past 2^63 and its ``-`` turns into floating point, while an
IDR or VND ledger reaches those sizes (a 10^12 IDR invoice is 10^18 millionths). So on SQLite:

* an amount beyond 2^62 millionths is stored as a BLOB of its digits (``schema.db_micros``), so
  the difference of two INTEGER amounts never leaves 64 bits;
* :func:`money_sum` adds the whole units and the millionths of the INTEGER values apart (two native
  sums that cannot overflow for any amounts the model accepts) and the rare BLOB values in Python,
  then joins the parts: native speed for every row, exact for every size;
* :func:`money_sub` and :func:`money_positive` are native for INTEGER operands and go to Python
  only for BLOB ones.

Written by hand: SQLite offers no exact wide arithmetic (its ``decimal`` extension is not compiled
into Python's sqlite3), and no library adds one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement, ReturnTypeFromArgs

from hub.store.schema import db_micros, from_micros, micros_of

_UNIT = 1_000_000


class money_sum(ReturnTypeFromArgs[Any]):
    """``sum()`` of a money expression, exact on every database (NULL when no row has a value).

    Of the argument's type, like ``sum``: a Money column sums to Decimals, raw millionths
    (``type_coerce(..., BigInteger())``) to what the driver returns (see :func:`money_value`).
    """

    inherit_cache = True
    name = "money_sum"


class money_sub(ReturnTypeFromArgs[Any]):
    """``a - b`` of two money expressions, exact on every database."""

    inherit_cache = True
    name = "money_sub"


class money_positive(FunctionElement[Any]):
    """``x > 0`` for a money expression, exact on every database."""

    type = sa.Boolean()
    inherit_cache = True
    name = "money_positive"


def money_value(raw: Any) -> Decimal:
    """A raw money expression's value (millionths, as the driver returns them: an expression of
    ``type_coerce(..., BigInteger())``) as a Decimal; NULL is 0. Expressions of a Money column are
    Decimals already."""
    return Decimal(0) if raw is None else from_micros(micros_of(raw))


def _args(element: FunctionElement[Any], compiler: Any, **kw: Any) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


@compiles(money_sum)
def _sum(element: money_sum, compiler: Any, **kw: Any) -> str:
    (x,) = _args(element, compiler, **kw)
    return f"sum({x})"


@compiles(money_sum, "sqlite")
def _sum_sqlite(element: money_sum, compiler: Any, **kw: Any) -> str:
    # Each occurrence compiles the expression again, so its bound parameters are listed each time.
    x = [_args(element, compiler, **kw)[0] for _ in range(6)]
    return (
        f"hub_money_join(sum(({x[0]}) / {_UNIT}) FILTER (WHERE typeof({x[1]}) = 'integer'), "
        f"sum(({x[2]}) % {_UNIT}) FILTER (WHERE typeof({x[3]}) = 'integer'), "
        f"hub_money_wide_sum({x[4]}) FILTER (WHERE typeof({x[5]}) NOT IN ('integer', 'null')))"
    )


@compiles(money_sub)
def _sub(element: money_sub, compiler: Any, **kw: Any) -> str:
    a, b = _args(element, compiler, **kw)
    return f"({a} - {b})"


@compiles(money_sub, "sqlite")
def _sub_sqlite(element: money_sub, compiler: Any, **kw: Any) -> str:
    a1, b1 = _args(element, compiler, **kw)
    a2, b2 = _args(element, compiler, **kw)
    a3, b3 = _args(element, compiler, **kw)
    return (
        f"(CASE WHEN typeof({a1}) = 'integer' AND typeof({b1}) = 'integer' THEN {a2} - {b2} "
        f"ELSE hub_money_sub({a3}, {b3}) END)"
    )


@compiles(money_positive)
def _positive(element: money_positive, compiler: Any, **kw: Any) -> str:
    (x,) = _args(element, compiler, **kw)
    return f"({x} > 0)"


@compiles(money_positive, "sqlite")
def _positive_sqlite(element: money_positive, compiler: Any, **kw: Any) -> str:
    x1, x2, x3 = (_args(element, compiler, **kw)[0] for _ in range(3))
    return f"(CASE WHEN typeof({x1}) = 'integer' THEN {x2} > 0 ELSE hub_money_sign({x3}) > 0 END)"


# -- the SQLite side: functions registered on every connection (``register_sqlite_functions``) ------


def _exact(value: Any) -> int | None:
    """A money operand as millionths: an INTEGER, or a BLOB of digits; a REAL or TEXT is an error
    (inexact arithmetic crept into a money expression)."""
    if value is None:
        return None
    if isinstance(value, float | str):
        raise ValueError(f"inexact money value {value!r} in a money expression")
    return micros_of(value)


class _WideSum:
    """``sum`` of the BLOB values (the money expression's FILTER leaves only those: rows are rare)."""

    def __init__(self) -> None:
        self.total: int | None = None

    def step(self, value: Any) -> None:
        micros = _exact(value)
        if micros is not None:
            self.total = (self.total or 0) + micros

    def finalize(self) -> int | bytes | None:
        return None if self.total is None else db_micros(self.total, "sqlite")


def _join(units: int | None, micros: int | None, wide: Any) -> int | bytes | None:
    if units is None and wide is None:
        return None
    total = (units or 0) * _UNIT + (micros or 0) + (micros_of(wide) if wide is not None else 0)
    return db_micros(total, "sqlite")


def _sub_py(a: Any, b: Any) -> int | bytes | None:
    x, y = _exact(a), _exact(b)
    if x is None or y is None:
        return None
    return db_micros(x - y, "sqlite")


def _sign(value: Any) -> int | None:
    x = _exact(value)
    return None if x is None else (x > 0) - (x < 0)


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Make the functions the SQLite forms above call available on a new sqlite3 connection."""
    dbapi_connection.create_function("hub_money_join", 3, _join, deterministic=True)
    dbapi_connection.create_function("hub_money_sub", 2, _sub_py, deterministic=True)
    dbapi_connection.create_function("hub_money_sign", 1, _sign, deterministic=True)
    dbapi_connection.create_aggregate("hub_money_wide_sum", 1, _WideSum)
