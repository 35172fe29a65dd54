"""Sources that fail: a Dataverse API on loopback (tests/faults/sources.py) read by the real
``dynamics`` connector answers 500 and 503, times out, resets the connection, sends an answer that is
not JSON and throttles with 429 + ``Retry-After`` for minutes, on any page of a listing.

- ``hub sync`` rides out what passes (the shared HTTP layer retries), and a page that keeps failing
  stops the sync with one line naming the connector and the page, exit 1, the pages before it kept;
  the next sync resumes after them without reading them again or storing anything twice.
- Throttling for minutes is waited out on a fake clock (the connector's ``sleep`` and ``clock``
  seams, in this process): the waits are what ``Retry-After`` says, capped by ``max_retry_wait``.
- On the queue (``hub worker``): a sync job whose source fails is retried and the run ends as one
  nobody disturbed; a source down for longer than the job's tries fails the job (``hub jobs``) and the
  run's later steps do not run on the partial data; the next run picks up where it stopped.

The invariants (tests/faults/book.py) are checked after every scenario.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from hub_connectors import dynamics

from hub.errors import retry_after
from hub.store import Store
from hub.sync import SyncEngine
from tests.conftest import run_hub, write_config

from .book import Outcome, amounts, check_invariants, enqueue, make_book, outcome, pg_database, prepare, worker
from .sources import FaultyDataverse, dataverse

PAGE_3 = 20  # the first account of page 3 (pages of ten, fifty accounts: five pages)


@dataclass
class FakeClock:
    """Time that passes only when the code under test sleeps; the waits it was asked for."""

    now: float = 0.0
    waits: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def _stored(db_url: str, source: str = "d365") -> list[str]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [
                str(r[0])
                for r in conn.exec_driver_sql(
                    "SELECT external_id FROM customer WHERE source = %(s)s ORDER BY external_id", {"s": source}
                )
            ]
    finally:
        engine.dispose()


def _accounts(api: FaultyDataverse, first: int, last: int) -> list[str]:
    return sorted(str(a["accountid"]) for a in api.accounts[first:last])


def _sync_folder(folder: Path, db: str, api: FaultyDataverse) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_config(folder, db, customers=None, invoices=None, statements=None, sink=None, extra=api.config())
    run_hub("init", cwd=folder)
    return folder


# -- hub sync -------------------------------------------------------------------------------------------


def test_a_source_that_fails_times_out_resets_and_throttles_is_read_whole_once(
    pg_admin: sa.Engine, tmp_path: Path
) -> None:
    api = FaultyDataverse(
        faults={
            0: ["500"],
            10: ["timeout", "reset"],
            20: ["503", "429:1"],
            30: ["429-date:0"],
            40: ["reset", "500"],
        }
    )
    with pg_database(pg_admin) as db, dataverse(api):
        folder = _sync_folder(tmp_path, db, api)
        run_hub("sync", "--connector", "d365", cwd=folder)
        assert _stored(db) == _accounts(api, 0, 50)
        check_invariants(db, outcome(db, None))
    assert api.faults == {0: [], 10: [], 20: [], 30: [], 40: []}, "every planned fault was served"
    assert api.served() == [0, 10, 20, 30, 40], "each page was stored from one answer"


@pytest.mark.parametrize("failure", ["503", "malformed"])
def test_page_3_of_5_failing_for_good_stops_the_sync_naming_it_and_the_next_sync_resumes_there(
    failure: str, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    api = FaultyDataverse(faults={PAGE_3: [failure] * 20})
    with pg_database(pg_admin) as db, dataverse(api):
        folder = _sync_folder(tmp_path, db, api)
        failed = run_hub("sync", "--connector", "d365", cwd=folder, check=False)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        said = [line for line in failed.stderr.splitlines() if "d365/customers" in line]
        assert said and "page 3 of this sync failed (2 stored before it stay" in said[0], failed.stderr
        assert ("HTTP 503" if failure == "503" else "JSONDecodeError") in said[0], said
        assert _stored(db) == _accounts(api, 0, PAGE_3), "the two pages before the failure stay stored"

        api.faults[PAGE_3] = []  # the server is fixed
        before = len(api.log)
        run_hub("sync", "--connector", "d365", cwd=folder)
        assert _stored(db) == _accounts(api, 0, 50)
        check_invariants(db, outcome(db, None))
    # resumed at page 3 ("modifiedon ge" the last account stored: it comes again, and is skipped)
    assert [p for p, _ in api.log[before:]] == [PAGE_3 - 1, 29, 39, 49], api.log


# -- throttled for minutes, on a fake clock -----------------------------------------------------------------


def _connector(api: FaultyDataverse, clock: FakeClock, *, max_retry_wait: float) -> dynamics.Connector:
    section = tomllib.loads(api.config(max_retry_wait=max_retry_wait))["connectors"]["d365"]
    config = dynamics.DynamicsConfig.model_validate(section)
    return dynamics.create("d365", config, sleep=clock.sleep, clock=clock.time)


@pytest.fixture
def store(pg_admin: sa.Engine) -> Iterator[Store]:
    with pg_database(pg_admin) as db:
        store = Store(db)
        store.migrate()
        try:
            yield store
        finally:
            store.engine.dispose()


@pytest.mark.parametrize("as_date", [False, True], ids=["seconds", "http-date"])
def test_a_source_throttled_for_minutes_is_waited_out_as_retry_after_says_capped(as_date: bool, store: Store) -> None:
    clock = FakeClock()
    api = FaultyDataverse(clock=clock.time, throttle_until=200.0, retry_after_date=as_date)
    with dataverse(api):
        connector = _connector(api, clock, max_retry_wait=60)
        try:
            (stats,) = SyncEngine(store, workers=1).sync(connector)
        finally:
            connector.close()
    assert stats.inserted == 50 and not stats.errors
    # 200 s of 429s: three waits of the 60 s cap, then what is left of the window
    assert clock.waits[:3] == [60.0, 60.0, 60.0]
    if as_date:  # a date says whole seconds: the server adds up to two (tests/faults/sources.py)
        assert len(clock.waits) == 4 and 20.0 < clock.waits[3] <= 22.0, clock.waits
    else:
        assert clock.waits == [60.0, 60.0, 60.0, 20.0]
    assert [what for _, what in api.log] == ["throttle"] * 4 + ["ok"] * 5


def test_a_source_throttled_longer_than_a_sync_retries_fails_it_retryably_and_the_next_sync_reads_it(
    store: Store,
) -> None:
    clock = FakeClock()
    # five minutes of 429s from page 3 on: more than five tries 60 s apart can wait out
    api = FaultyDataverse(clock=clock.time, throttle_from=PAGE_3, throttle_for=300.0)
    with dataverse(api):
        connector = _connector(api, clock, max_retry_wait=60)
        try:
            engine = SyncEngine(store, workers=1)
            with pytest.raises(dynamics.DynamicsError) as exc:
                engine.sync(connector)
            assert exc.value.retryable, "throttling passes: the queue tries the job again later"
            asked = retry_after(exc.value)  # and the queue's next try waits as long as the source still asks
            assert asked is not None and 0 < asked <= 300.0
            assert "d365/customers: page 3 of this sync failed (2 stored before it stay" in str(exc.value)
            assert "HTTP 429" in str(exc.value)
            assert clock.waits == [60.0] * 4
            with store.connect() as conn:
                assert conn.exec_driver_sql("SELECT count(*) FROM customer").scalar_one() == 20
            assert api.throttle_until is not None
            clock.now = api.throttle_until  # the window is over
            (stats,) = engine.sync(connector)
        finally:
            connector.close()
    assert stats.inserted == 30 and stats.updated == 0 and stats.unchanged == 0
    assert api.served() == [0, 10, 19, 29, 39, 49], "resumed at page 3 (from the last account stored)"


def test_a_throttled_sources_wish_to_be_left_alone_comes_back_from_the_reader_process_too(store: Store) -> None:
    # Two processes: the page is read (and its 429s waited on) in a forked reader, whose error is
    # rebuilt in the writer; how long the source asked to wait must survive that, as its retryable flag does.
    clock = FakeClock()
    api = FaultyDataverse(clock=clock.time, throttle_from=PAGE_3, throttle_for=300.0)
    with dataverse(api):
        connector = _connector(api, clock, max_retry_wait=60)
        try:
            with pytest.raises(Exception) as exc:
                SyncEngine(store, workers=2).sync(connector)
        finally:
            connector.close()
    assert getattr(exc.value, "retryable", False) and "HTTP 429" in str(exc.value)
    asked = retry_after(exc.value)
    assert asked is not None and 0 < asked <= 300.0


# -- on the queue ---------------------------------------------------------------------------------------------


@dataclass
class Baseline:
    book: Path
    result: Outcome


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, pg_admin: sa.Engine) -> Iterator[Baseline]:
    """The book plus a Dataverse source, run by a worker with nothing failing."""
    root = tmp_path_factory.mktemp("sources")
    book = make_book(root / "book")
    api = FaultyDataverse()
    with pg_database(pg_admin) as db, dataverse(api):
        folder = prepare(root / "clean", book, db, extra=api.config())
        enqueue(folder)
        assert worker(folder) == 0
        result = outcome(db, folder / "out" / "flags.jsonl")
        check_invariants(db, result)
    assert result.records["customer"] > 50 and result.allocations and result.outbox
    yield Baseline(book, result)


def _same_as(result: Outcome, expected: Outcome) -> None:
    assert result.records == expected.records
    assert amounts(result.allocations) == amounts(expected.allocations)
    assert amounts(result.invoices) == amounts(expected.invoices)
    assert result.receipts == expected.receipts
    assert [f[:3] for f in result.flags] == [f[:3] for f in expected.flags]
    assert result.outbox == expected.outbox
    assert set(result.delivered_lines) == set(expected.delivered_lines)


def _jobs(db_url: str) -> list[tuple[str, str, str, int]]:
    """(step, key, status, tries) of every job, as ``hub jobs`` reads them."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT task_name, args->>'key', status::text, attempts FROM procrastinate_jobs ORDER BY id"
            ).all()
    finally:
        engine.dispose()
    return [(str(t).removeprefix("hub:"), str(k), str(s), int(n)) for t, k, s, n in rows]


def test_a_sync_job_whose_source_fails_is_retried_and_the_run_ends_as_an_undisturbed_one(
    baseline: Baseline, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    # try 1: page 3 fails five times in a row (the HTTP layer's tries); try 2: its answer is not JSON;
    # try 3: a 429 for a second, then it is served
    api = FaultyDataverse(faults={PAGE_3: ["timeout", "reset", "500", "503", "500", "malformed", "429:1"]})
    with pg_database(pg_admin) as db, dataverse(api):
        folder = prepare(tmp_path, baseline.book, db, extra=api.config())
        enqueue(folder)
        assert worker(folder) == 0
        result = outcome(db, folder / "out" / "flags.jsonl")
        check_invariants(db, result)
        _same_as(result, baseline.result)
        tries = {(step, key): n for step, key, _, n in _jobs(db)}
    assert tries[("sync", "d365")] == 3, tries
    assert api.faults[PAGE_3] == []
    assert api.served() == [0, 10, 19, 29, 39, 49], "each page served once, the retries resumed at page 3"


def test_a_source_down_longer_than_the_job_tries_fails_the_job_visibly_and_nothing_runs_on_partial_data(
    baseline: Baseline, pg_admin: sa.Engine, tmp_path: Path
) -> None:
    api = FaultyDataverse(down_from=PAGE_3)
    with pg_database(pg_admin) as db, dataverse(api):
        folder = prepare(tmp_path, baseline.book, db, extra=api.config())
        enqueue(folder)
        assert worker(folder) == 0  # the worker stays up; the job is what failed
        jobs = _jobs(db)
        failed = [(step, key, n) for step, key, status, n in jobs if status == "failed"]
        assert failed == [("sync", "d365", 5)], jobs  # queue.max_attempts (5) tries
        assert {step for step, *_ in jobs} == {"run", "sync"}, "no step after sync was queued"
        assert _stored(db) == _accounts(api, 0, PAGE_3), "the pages before the outage stay"
        stopped = outcome(db, folder / "out" / "flags.jsonl")
        assert stopped.allocations == [] and stopped.outbox == [] and stopped.flags == []
        check_invariants(db, stopped, failed_jobs=1)
        shown = run_hub("jobs", "--status", "failed", cwd=folder).stdout
        assert "d365" in shown and "failed" in shown, shown

        api.down_from = None  # the source is back: the next run finishes the work
        enqueue(folder)
        assert worker(folder) == 0
        result = outcome(db, folder / "out" / "flags.jsonl")
        check_invariants(db, result, failed_jobs=1)
        _same_as(result, baseline.result)
    assert api.served() == [0, 10, 19, 29, 39, 49], "the second run resumed at page 3"
