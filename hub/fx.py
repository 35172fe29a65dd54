"""Currency conversion for exposure: rates from a source (``fx_rate`` records) or from ``[fx] rates``.

Every rate is held as "units of the base currency per unit of the currency". A rate synced from a
source wins over the config's when it is dated on or before the as-of date (the latest such one);
a source rate quoted the other way round (base -> currency) is inverted. A pair with no rate is not
guessed: :meth:`Rates.convert` returns None and the caller reports the amount as unconverted.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

import sqlalchemy as sa

from hub.store import schema

CENT = Decimal("0.01")
#: Rates are applied with this many significant digits before the result is rounded to cents.
_PLACES = Decimal("0.0000000001")


class Rates:
    def __init__(self, base: str, table: dict[str, Decimal], sources: dict[str, tuple[Decimal, dt.date]] | None = None):
        self.base = base.upper()
        self.table = {k.upper(): v for k, v in table.items()}
        self.sources = dict(sources or {})

    @classmethod
    def load(cls, conn: sa.Connection, base: str, table: dict[str, Decimal], as_of: dt.date) -> Rates:
        """The config's rates plus the latest source rate per currency dated on or before ``as_of``."""
        f = schema.fx_rate
        base = base.upper()
        latest: dict[str, tuple[Decimal, dt.date]] = {}
        rows = conn.execute(
            sa.select(f.c.currency, f.c.base, f.c.rate, f.c.date)
            .where(f.c.date <= as_of, sa.or_(f.c.base == base, f.c.currency == base))
            .order_by(f.c.date)
        )
        for ccy, quote_base, rate, day in rows:
            rate = Decimal(rate)
            if rate <= 0:
                continue
            if quote_base == base:
                latest[ccy] = (rate, day)
            elif quote_base != ccy:  # base -> other: invert to other -> base
                latest[quote_base] = (Decimal(1) / rate, day)
        return cls(base, table, latest)

    def to_base(self, currency: str) -> Decimal | None:
        """Units of the base currency per unit of ``currency``; None when unknown."""
        if currency == self.base:
            return Decimal(1)
        if currency in self.sources:
            return self.sources[currency][0]
        return self.table.get(currency)

    def rate(self, source: str, target: str) -> Decimal | None:
        if source == target:
            return Decimal(1)
        a, b = self.to_base(source), self.to_base(target)
        if a is None or b is None:
            return None
        return (a / b).quantize(_PLACES)

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal | None:
        if source == target:
            return amount
        rate = self.rate(source, target)
        if rate is None:
            return None
        return (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)

    def describe(self, source: str, target: str) -> str:
        """How a rate was found, for the exposure's ``fx_rates`` note: ``"0.85 (source 2026-11-26)"``."""
        rate = self.rate(source, target)
        if rate is None:
            return "no rate"
        origin = [
            f"source {self.sources[c][1].isoformat()}" if c in self.sources else "config"
            for c in (source, target)
            if c != self.base
        ]
        return f"{rate.normalize()} ({', '.join(dict.fromkeys(origin))})"
