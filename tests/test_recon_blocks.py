"""Reconcile reads and decides its receipts in blocks and writes them in one transaction: whatever the
block size, the same outcome."""

from __future__ import annotations

import weakref
from typing import Any

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.store import schema


def _outcome(hub: Hub) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every allocation (receipt, invoice, amount, kind, method, confidence, status, rank, reasons) and
    every receipt's status, in a stable order."""
    a, r, i = schema.allocation, schema.receipt, schema.invoice
    with hub.store.connect() as conn:
        allocations = sorted(
            (ref, number, str(amount), kind, method, confidence, status, rank, tuple(reasons or ()))
            for ref, number, amount, kind, method, confidence, status, rank, reasons in conn.execute(
                sa.select(
                    r.c.bank_ref,
                    i.c.number,
                    a.c.amount,
                    a.c.kind,
                    a.c.method,
                    a.c.confidence,
                    a.c.status,
                    a.c.rank,
                    a.c.reasons,
                )
                .join(r, r.c.id == a.c.receipt_id)
                .join(i, i.c.id == a.c.invoice_id)
            )
        )
        statuses = sorted(tuple(row) for row in conn.execute(sa.select(r.c.bank_ref, r.c.match_status)))
    return allocations, statuses


def _events_per_allocation(hub: Hub) -> set[int]:
    a, e = schema.allocation, schema.allocation_event
    with hub.store.connect() as conn:
        counts = conn.execute(
            sa.select(sa.func.count(e.c.id)).select_from(a.outerjoin(e, e.c.allocation_id == a.c.id)).group_by(a.c.id)
        ).scalars()
        return set(counts)


def _forget(hub: Hub) -> None:
    """Back to the synced book: no allocation, every receipt never looked at."""
    with hub.store.begin() as conn:
        conn.execute(schema.allocation_event.delete())
        conn.execute(schema.allocation.delete())
        conn.execute(schema.receipt.update().values(match_status="open", reconciled_at=None))


def test_reconcile_in_blocks_of_any_size_stores_the_same_allocations_statuses_and_reasons(book_hub: Hub) -> None:
    outcomes = []
    for block in (10_000, 1, 3, 7):
        _forget(book_hub)
        engine = book_hub.reconcile_engine()
        engine.block = block
        stats = engine.run()
        assert stats.considered == 240 and stats.changed_meanwhile == 0
        outcomes.append((_outcome(book_hub), stats.auto, stats.suggested, stats.allocations))
        assert _events_per_allocation(book_hub) == {1}, "one event per allocation, whatever the blocks"
    assert outcomes[0][1] > 100, "the book must give the engine automatic matches to make"
    assert all(o == outcomes[0] for o in outcomes[1:])


def test_a_second_run_in_blocks_finds_nothing_left_to_decide(book_hub: Hub) -> None:
    engine = book_hub.reconcile_engine()
    engine.block = 4
    first = engine.run()
    again = engine.run()
    assert first.considered == 240
    assert again.considered == 0 and again.allocations == 0


def test_a_run_of_many_blocks_writes_its_decisions_in_one_transaction(book_hub: Hub) -> None:
    """A run killed before its commit leaves nothing, as one of a single block does (tests/faults)."""
    writes: list[int] = []
    allocations = schema.allocation

    def counted(conn: sa.Connection, *_: Any) -> None:
        writes.append(1)

    def allocations_now() -> int:
        with book_hub.store.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(allocations)).scalar_one())

    engine = book_hub.reconcile_engine()
    engine.block = 5
    sa.event.listen(book_hub.store.engine, "commit", counted)
    try:
        stats = engine.run()
    finally:
        sa.event.remove(book_hub.store.engine, "commit", counted)
    assert stats.considered == 240 and allocations_now() == stats.allocations > 0
    assert len(writes) == 1, f"{len(writes)} commits for one run"


def test_a_run_frees_the_book_and_its_indexes_before_it_writes(book_hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most of a run's memory is the book: the write's objects take its place, not add to it."""
    engine = book_hub.reconcile_engine()
    load, write = engine.load_book, engine._write
    books: list[weakref.ref[Any]] = []
    alive_when_writing: list[bool] = []

    def loaded(conn: sa.Connection) -> Any:
        items = load(conn)
        books.append(weakref.ref(items))
        return items

    def writing(*args: Any, **kwargs: Any) -> int:
        alive_when_writing.append(books[0]() is not None)
        return write(*args, **kwargs)

    monkeypatch.setattr(engine, "load_book", loaded)
    monkeypatch.setattr(engine, "_write", writing)
    assert engine.run().allocations > 0
    assert alive_when_writing == [False]


def test_a_run_reads_with_sqlites_page_cache_small_and_gives_the_store_its_own_back(
    book_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.store import SQLITE_CACHE_KIB

    if book_hub.store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")
    engine = book_hub.reconcile_engine()
    load = engine.load_book
    sizes: list[int] = []

    def loaded(conn: sa.Connection) -> Any:
        sizes.append(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
        return load(conn)

    monkeypatch.setattr(engine, "load_book", loaded)
    engine.run()
    with book_hub.store.connect() as conn:
        sizes.append(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    assert sizes == [-2000, -SQLITE_CACHE_KIB]


def test_a_receipt_looked_at_again_is_left_for_the_next_run_if_someone_decided_it_meanwhile(book_hub: Hub) -> None:
    """A run holds the state each receipt was read in (a new one's, or an open one's with when it was
    last looked at) and writes only the receipts still in it: one decided by someone else between the
    read and the write is left as they left it."""
    from hub.store import utcnow

    r, i = schema.receipt, schema.invoice
    first = book_hub.reconcile_engine().run()
    assert first.unmatched > 1
    with book_hub.store.begin() as conn:  # a newer invoice: open receipts get another look
        newest = conn.execute(sa.select(sa.func.max(i.c.id))).scalar_one()
        conn.execute(i.update().where(i.c.id == newest).values(synced_at=utcnow()))
        left = conn.execute(sa.select(r.c.id).where(r.c.match_status == "open").order_by(r.c.id)).scalars().all()
    engine = book_hub.reconcile_engine()
    read = engine.refused

    def read_then_someone_decides(conn: sa.Connection) -> Any:
        found = read(conn)
        with book_hub.store.begin() as other:
            other.execute(r.update().where(r.c.id == left[0]).values(match_status="suggested"))
        return found

    engine.refused = read_then_someone_decides  # type: ignore[method-assign]
    engine.block = 3
    again = engine.run()
    assert (again.changed_meanwhile, again.considered) == (1, len(left) - 1)
    with book_hub.store.connect() as conn:
        assert conn.execute(sa.select(r.c.match_status).where(r.c.id == left[0])).scalar_one() == "suggested"


def test_a_run_whose_temporary_folder_is_full_says_so_in_one_line_and_stores_nothing(
    book_hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import io

    from hub.errors import MatchError
    from hub.recon import engine as recon_engine

    class Full(io.BytesIO):
        def write(self, data: Any) -> int:
            if self.tell() > 1000:  # a few blocks in, as a disk fills during a run
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    monkeypatch.setattr(recon_engine.tempfile, "TemporaryFile", lambda **_: Full())
    before = _outcome(book_hub)
    engine = book_hub.reconcile_engine()
    engine.block = 5
    with pytest.raises(MatchError, match=r"temporary file in .*: No space left on device .*nothing was written"):
        engine.run()
    assert _outcome(book_hub) == before  # no allocation, every receipt as it was
    monkeypatch.undo()
    assert book_hub.reconcile().considered == 240  # with room again, the run does it all
