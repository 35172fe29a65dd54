"""Workload generators of our own ("books"), unlike the shared generator, for cash application.

Each module has ``NAME``, ``TITLE``, ``sizes(invoices) -> (customers, receipts)`` and
``generate(seed, invoices) -> Book``; :func:`books.common.write_book` writes a book in the shared
generator's file formats. ``bench/bench_books.py`` runs the hub on them.
"""

from __future__ import annotations

from types import ModuleType

from books import chinese, collisions, distributor, manufacturer, nordic

BOOKS: dict[str, ModuleType] = {m.NAME: m for m in (manufacturer, collisions, chinese, nordic, distributor)}
#: Books the matcher is measured on but never tuned on: leave them out of the default runs you tune
#: against, and do not read their misses while changing the matcher.
HELD_OUT: frozenset[str] = frozenset({nordic.NAME, distributor.NAME})
