"""Damage real statement files at random, for the importers' property tests.

Every reader must either read a damaged file or refuse it with a StatementError naming the file;
nothing else may escape. One mutator for every format, with a format's own tokens mixed in so the
damage also looks plausible to the parser (a stray ``:61:`` in MT940, ``88,`` in BAI2...).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from hub_connectors.bank_files.common import RECEIPT_FIELDS

from hub.errors import StatementError


def mutate(data: bytes, rnd: random.Random, tokens: Sequence[bytes] = ()) -> bytes:
    """One random change: delete, insert, overwrite or swap bytes, swap or duplicate lines, insert a
    format token, or truncate."""
    if not data:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 16)))
    kind = rnd.randrange(8 if tokens else 7)
    i, j = sorted(rnd.randrange(len(data) + 1) for _ in range(2))
    if kind == 0:
        return data[:i] + data[j:]
    if kind == 1:
        return data[:i] + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 16))) + data[i:]
    if kind == 2:
        return data[:i] + bytes([rnd.randrange(256)]) + data[i + 1 :]
    if kind == 3:
        k = rnd.randrange(j, len(data) + 1)
        return data[:i] + data[j:k] + data[i:j] + data[k:]
    if kind in (4, 5):
        lines = data.split(b"\n")
        a, b = rnd.randrange(len(lines)), rnd.randrange(len(lines))
        if kind == 4:
            lines[a], lines[b] = lines[b], lines[a]
        else:
            lines.insert(a, lines[a])
        return b"\n".join(lines)
    if kind == 7:
        return data[:i] + rnd.choice(list(tokens)) + data[i:]
    return data[:i]


def read_mutated(
    reader: Callable[[Path], Iterable[dict[str, Any]]],
    source: Path,
    target: Path,
    seed: int,
    rounds: int,
    tokens: Sequence[bytes] = (),
) -> None:
    """Damage ``source`` ``rounds`` times into ``target`` and read it: receipts well formed, or a
    StatementError naming ``target``."""
    rnd = random.Random(seed)
    data = source.read_bytes()
    for _ in range(rounds):
        data = mutate(data, rnd, tokens)
    target.write_bytes(data)
    try:
        for r in reader(target):
            assert tuple(r) == RECEIPT_FIELDS
            assert r["direction"] in ("credit", "debit")
            assert Decimal(r["amount"]) >= 0
    except StatementError as exc:
        assert str(exc).startswith(str(target))
