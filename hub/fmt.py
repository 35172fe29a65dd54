"""How the hub writes numbers for people: money, counts, shares, days, durations and ageing buckets.

One module, so the command line, the report and (later) the web console say ``54,000.00 EUR``,
``1,204`` and ``1-30 days`` the same way. A leaf: it imports nothing of the hub, so the command
line can use it without loading the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
DASH = "\u2013"


def format_money(amount: Decimal | int | str, currency: str | None = None) -> str:
    """``54,000.00 EUR``: cents, thousands separated, the currency after the number; without a
    currency just the number."""
    value = amount if isinstance(amount, Decimal) else Decimal(amount)
    text = f"{value.quantize(CENT, rounding=ROUND_HALF_EVEN):,.2f}"
    return f"{text} {currency}" if currency else text


def money(amount: Decimal | int | str | None, currency: str | None = None) -> str:
    """:func:`format_money`, or a dash when there is no amount."""
    return DASH if amount is None else format_money(amount, currency)


def count(n: int | None) -> str:
    """``1,204``; a dash for none."""
    return DASH if n is None else f"{n:,}"


def share(value: float | Decimal | None, places: int = 0) -> str:
    """``83%`` for 0.83; a dash for none."""
    return DASH if value is None else f"{float(value):.{places}%}"


def number(value: float | Decimal | None, places: int = 1, *, sign: bool = False) -> str:
    """A measure such as a score or an average (``71.5``, ``+3.0`` with ``sign``); a dash for none."""
    return DASH if value is None else f"{float(value):{'+' if sign else ''},.{places}f}"


def days(n: int | float | None) -> str:
    """``1 day``, ``15 days``, ``2.5 days``; a dash for none."""
    if n is None:
        return DASH
    text = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{text} day" if n in (1, -1) else f"{text} days"


def seconds(value: float) -> str:
    """``0.77 s``, ``12.3 s``, ``2 min 05 s``: a duration as a person reads it."""
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


def bucket_title(label: str) -> str:
    """``1-30 days`` (with an en dash) for the stored label ``d1_30``, ``over 90 days`` for ``d90_plus``, ``not yet
    due`` for ``not_due``: the label a person reads."""
    if label == "not_due":
        return "not yet due"
    m = re.fullmatch(r"d(\d+)_(\d+)", label)
    if m:
        return f"{m.group(1)}{DASH}{m.group(2)} days"
    m = re.fullmatch(r"d(\d+)_plus", label)
    if m:
        return f"over {m.group(1)} days"
    return label


def ordered_labels(keys: Iterable[str]) -> list[str]:
    """Bucket labels in ageing order: ``not_due``, ``d1_30``, ``d31_60``..., ``dN_plus`` last."""

    def key(label: str) -> tuple[int, int, str]:
        if label == "not_due":
            return (0, 0, label)
        m = re.fullmatch(r"d(\d+)_(\d+)", label)
        if m:
            return (1, int(m.group(1)), label)
        m = re.fullmatch(r"d(\d+)_plus", label)
        if m:
            return (2, int(m.group(1)), label)
        return (3, 0, label)

    return sorted(set(keys), key=key)
