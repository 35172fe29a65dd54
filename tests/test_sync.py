"""The sync engine: idempotent, resumable after a crash, bad records quarantined."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.connector import Connector, Page, Source, StreamSpec
from hub.errors import SourceError
from hub.store import Store, schema
from hub.sync import SyncEngine

from .conftest import generate, run_hub, sibling_db, write_config


def _hub(folder: Path) -> Hub:
    return Hub(load_config(folder / "hub.toml"))


def _rows(store: Store, table: sa.Table) -> set[tuple[object, ...]]:
    skip = {"id", "synced_at"}
    cols = [c for c in table.c if c.name not in skip]
    with store.connect() as conn:
        return {
            tuple(json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v for v in r)
            for r in conn.execute(sa.select(*cols))
        }


@pytest.mark.parametrize("workers", [1, 2])
def test_resync_of_unchanged_files_imports_nothing(tmp_path: Path, db_url: str, workers: int) -> None:
    generate(tmp_path, invoices=300, customers=30)
    write_config(tmp_path, db_url, statements=None, sink=None, extra=f"[sync]\nworkers = {workers}\n")
    hub = _hub(tmp_path)
    hub.init()
    first = {s.stream: s for s in hub.sync()}
    assert first["customers"].inserted == 30
    assert first["invoices"].inserted == 300
    second = hub.sync()
    assert sum(s.inserted + s.updated for s in second) == 0
    refreshed = hub.sync(full_refresh=True)
    assert sum(s.inserted + s.updated for s in refreshed) == 0
    assert sum(s.unchanged for s in refreshed) == 330
    hub.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_changed_invoice_is_updated_and_others_left_alone(tmp_path: Path, db_url: str, workers: int) -> None:
    generate(tmp_path, invoices=100, customers=10)
    write_config(tmp_path, db_url, statements=None, sink=None, extra=f"[sync]\nworkers = {workers}\n")
    hub = _hub(tmp_path)
    hub.init()
    hub.sync()
    path = tmp_path / "invoices.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[5]["open_amount"] = "1.00"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    stats = {s.stream: s for s in hub.sync()}
    assert (stats["invoices"].updated, stats["invoices"].inserted, stats["invoices"].unchanged) == (1, 0, 99)
    with hub.store.connect() as conn:
        open_amount = conn.execute(
            sa.select(schema.invoice.c.open_amount).where(schema.invoice.c.number == rows[5]["invoice_number"])
        ).scalar_one()
    assert str(open_amount) == "1.00"
    hub.close()


def test_bad_rows_are_quarantined_with_reason_and_the_sync_goes_on(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "invoices.csv").write_text(
        "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
        "INV-1,C1,2026-01-05,2026-02-04,EUR,100.00,100.00,\n"
        "INV-2,C1,2026-13-05,2026-02-04,EUR,100.00,100.00,\n"
        "INV-3,C1,2026-01-05,2026-02-04,EURO,100.00,100.00,\n"
        "INV-4,C1,2026-01-05,2026-02-04,EUR,12.5.0,100.00,\n"
        "INV-5,C1,2026-01-05,2026-02-04,EUR,7.25,7.25,PO1\n",
        encoding="utf-8",
    )
    write_config(tmp_path, db_url, customers=None, statements=None, sink=None)
    hub = _hub(tmp_path)
    hub.init()
    (stats,) = hub.sync()
    assert (stats.inserted, stats.quarantined) == (2, 3)
    with hub.store.connect() as conn:
        rows = conn.execute(
            sa.select(schema.quarantine.c.external_id, schema.quarantine.c.reason, schema.quarantine.c.raw).order_by(
                schema.quarantine.c.external_id
            )
        ).all()
    reasons = {r.external_id: r.reason for r in rows}
    assert "issue_date='2026-13-05'" in reasons["INV-2"]
    assert "currency='EURO'" in reasons["INV-3"]
    assert "amount='12.5.0'" in reasons["INV-4"]
    assert rows[0].raw["_line"] == 3  # the line of the file (the header is line 1)
    # Seen again: still three entries, counted twice.
    hub.sync(full_refresh=True)
    with hub.store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count(), sa.func.sum(schema.quarantine.c.occurrences))).one() == (3, 6)
    out = run_hub("quarantine", cwd=tmp_path)
    assert "INV-3" in out.stdout
    hub.close()


def test_file_with_another_layout_fails_once_with_the_missing_columns(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "invoices.csv").write_text("Rechnung,Kunde,Betrag\nR1,K1,10.00\n", encoding="utf-8")
    write_config(tmp_path, db_url, customers=None, statements=None, sink=None)
    hub = _hub(tmp_path)
    hub.init()
    with pytest.raises(SourceError, match=r"missing column.*customer_id.*invoice_number"):
        hub.sync()
    hub.close()


def test_custom_mapping_file_reads_another_layout(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "rechnungen.csv").write_text(
        "Rechnung;Kunde;Datum;Faellig;Betrag;Offen\nR-1;K1;05.01.2026;04.02.2026;1.234,50;1.234,50\n",
        encoding="utf-8",
    )
    (tmp_path / "my-erp.toml").write_text(
        'record = "invoice"\n[fields]\nexternal_id = "Rechnung"\nnumber = "Rechnung"\n'
        'customer_external_id = "Kunde"\n'
        'issue_date = { from = "Datum", transform = ["date:%d.%m.%Y"] }\n'
        'due_date = { from = "Faellig", transform = ["date:%d.%m.%Y"] }\n'
        'currency = { const = "EUR" }\n'
        'amount = { from = "Betrag", transform = ["decimal_comma"] }\n'
        'open_amount = { from = "Offen", transform = ["decimal_comma"] }\n',
        encoding="utf-8",
    )
    write_config(
        tmp_path,
        db_url,
        customers=None,
        invoices="rechnungen.csv",
        statements=None,
        sink=None,
        extra='delimiter = ";"\n',
    )
    text = (
        (tmp_path / "hub.toml")
        .read_text()
        .replace(
            'invoices = "rechnungen.csv"\n', 'invoices = "rechnungen.csv"\nmappings = { invoices = "my-erp.toml" }\n'
        )
    )
    (tmp_path / "hub.toml").write_text(
        text.replace('\ndelimiter = ";"\n', "").replace('type = "csv"\n', 'type = "csv"\ndelimiter = ";"\n')
    )
    hub = _hub(tmp_path)
    hub.init()
    (stats,) = hub.sync()
    assert stats.inserted == 1, stats
    with hub.store.connect() as conn:
        row = conn.execute(sa.select(schema.invoice)).one()
    assert (str(row.amount), row.due_date.isoformat(), row.currency) == ("1234.50", "2026-02-04", "EUR")
    hub.close()


@pytest.mark.slow
def test_sync_killed_inside_a_file_stores_none_of_it_and_the_next_sync_equals_an_uninterrupted_one(
    tmp_path: Path, db_url: str
) -> None:
    data = generate(tmp_path / "data", invoices=60000, customers=300, receipts=10)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    killed.mkdir()
    clean.mkdir()
    small_pages = "page_size = 500\n"
    for folder, url in ((killed, db_url), (clean, sibling_db(db_url, tmp_path))):
        write_config(
            folder,
            url,
            customers=str(data / "customers.csv"),
            invoices=str(data / "invoices.csv"),
            statements=None,
            sink=None,
        )
        text = (folder / "hub.toml").read_text().replace('type = "csv"\n', 'type = "csv"\n' + small_pages)
        (folder / "hub.toml").write_text(text)
        run_hub("init", cwd=folder)

    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "sync"], cwd=killed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    store = Store(db_url)
    run = schema.sync_run
    deadline = time.monotonic() + 120
    inside = False
    while time.monotonic() < deadline and proc.poll() is None:
        with store.connect() as conn:
            inside = (
                conn.execute(
                    sa.select(run.c.id).where(
                        run.c.status == "running", run.c.stats["stream"].as_string() == "invoices"
                    )
                ).first()
                is not None
            )
        if inside:
            time.sleep(0.3)  # some pages of the file are written in its (uncommitted) unit
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert inside, "the sync must be killed inside the invoices file for this test to mean anything"
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.invoice)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.customer)).scalar_one() == 300

    run_hub("sync", cwd=killed)
    run_hub("sync", cwd=clean)
    clean_store = Store(sibling_db(db_url, tmp_path))
    for table in (schema.customer, schema.invoice):
        assert _rows(store, table) == _rows(clean_store, table)
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.invoice)).scalar_one() == 60000
        statuses = [s for (s,) in conn.execute(sa.select(schema.sync_run.c.status))]
    assert "interrupted" in statuses
    store.dispose()
    clean_store.dispose()


INVOICE_HEADER = "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"


def _paged_csv_hub(tmp_path: Path, db_url: str, workers: int, rows: list[str]) -> Hub:
    (tmp_path / "invoices.csv").write_text(INVOICE_HEADER + "".join(rows))
    write_config(tmp_path, db_url, customers=None, statements=None, sink=None, extra=f"[sync]\nworkers = {workers}\n")
    text = (tmp_path / "hub.toml").read_text().replace('type = "csv"\n', 'type = "csv"\npage_size = 10\n')
    (tmp_path / "hub.toml").write_text(text)
    hub = _hub(tmp_path)
    hub.init()
    return hub


def _open_amounts(hub: Hub) -> dict[str, str]:
    with hub.store.connect() as conn:
        return {n: str(a) for n, a in conn.execute(sa.select(schema.invoice.c.number, schema.invoice.c.open_amount))}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("later", [4, 24], ids=["same page", "later page"])
def test_one_invoice_number_on_two_lines_with_different_amounts_refuses_the_file_naming_both_lines(
    tmp_path: Path, db_url: str, workers: int, later: int
) -> None:
    rows = [f"INV-{i},C1,2026-01-05,2026-02-04,EUR,10.00,10.00,\n" for i in range(25)]
    hub = _paged_csv_hub(tmp_path, db_url, workers, rows)
    hub.sync()
    # INV-1 changes (line 3), INV-3 appears twice with different amounts (line 5 and another).
    changed = [*rows]
    changed[1] = "INV-1,C1,2026-01-05,2026-02-04,EUR,10.00,7.00,\n"
    changed.insert(later, "INV-3,C1,2026-01-05,2026-02-04,EUR,10.00,1.00,\n")
    (tmp_path / "invoices.csv").write_text(INVOICE_HEADER + "".join(changed))
    (stats,) = hub.sync()
    (error,) = stats.errors
    assert f"invoices.csv: line 5 and line {later + 2} both carry the invoice 'INV-3' with different values" in error
    assert "nothing of invoices.csv was stored" in error
    assert set(_open_amounts(hub).values()) == {"10.00"}  # not even INV-1's change: the file is one unit
    assert (stats.inserted, stats.updated) == (0, 0)
    # Corrected, the file imports; the first run's failure did not mark it done.
    del changed[later]
    (tmp_path / "invoices.csv").write_text(INVOICE_HEADER + "".join(changed))
    (stats,) = hub.sync()
    assert (stats.errors, stats.updated) == ([], 1)
    assert _open_amounts(hub)["INV-1"] == "7.00"
    hub.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_identical_copies_of_a_row_are_stored_once(tmp_path: Path, db_url: str, workers: int) -> None:
    rows = [f"INV-{i},C1,2026-01-05,2026-02-04,EUR,10.00,10.00,\n" for i in range(25)]
    hub = _paged_csv_hub(tmp_path, db_url, workers, [*rows, rows[3], rows[0]])
    (stats,) = hub.sync()
    assert (stats.errors, stats.inserted) == ([], 25)
    hub.close()


class _ApiPages(Source):
    """A source whose records may repeat across pages (an API read while records change)."""

    def __init__(self, pages: list[list[dict[str, str]]]) -> None:
        self.pages = pages

    def streams(self) -> list[StreamSpec]:
        return [StreamSpec("invoices", "invoice", "csv-invoices")]

    def read(self, stream: StreamSpec, cursor: object) -> Iterator[Page]:
        for i, records in enumerate(self.pages):
            yield Page(records, {"page": i})


@pytest.mark.parametrize("workers", [1, 2])
def test_a_record_an_api_repeats_in_a_later_page_with_other_content_ends_as_the_last_one(
    tmp_path: Path, db_url: str, workers: int
) -> None:
    def invoice(number: str, open_amount: str) -> dict[str, str]:
        return {
            "invoice_number": number,
            "customer_id": "C1",
            "issue_date": "2026-01-05",
            "due_date": "2026-02-04",
            "currency": "EUR",
            "amount": "10.00",
            "open_amount": open_amount,
            "po_number": "",
        }

    store = Store(db_url)
    store.migrate()
    engine = SyncEngine(store, workers=workers)
    source = _ApiPages([[invoice("INV-1", "10.00"), invoice("INV-2", "10.00")], [invoice("INV-1", "4.00")]])
    (stats,) = engine.sync(Connector(name="api", type="test", source=source))
    assert (stats.errors, stats.inserted) == ([], 2)
    with store.connect() as conn:
        amounts = dict(conn.execute(sa.select(schema.invoice.c.number, schema.invoice.c.open_amount)).all())
    assert {k: str(v) for k, v in amounts.items()} == {"INV-1": "4.00", "INV-2": "10.00"}
    store.dispose()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_corrected_record_resolves_its_quarantine_entry(tmp_path: Path, db_url: str, workers: int) -> None:
    header = "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
    (tmp_path / "invoices.csv").write_text(
        header + "INV-1,C1,2026-01-05,2026-02-04,EUR,10.00,10.00,\nINV-2,C1,2026-01-05,2026-02-31,EUR,5.00,5.00,\n"
    )
    write_config(tmp_path, db_url, customers=None, statements=None, sink=None, extra=f"[sync]\nworkers = {workers}\n")
    hub = _hub(tmp_path)
    hub.init()
    (stats,) = hub.sync()
    assert stats.quarantined == 1
    assert "INV-2" in run_hub("quarantine", cwd=tmp_path).stdout
    (tmp_path / "invoices.csv").write_text(
        header + "INV-1,C1,2026-01-05,2026-02-04,EUR,10.00,10.00,\nINV-2,C1,2026-01-05,2026-02-28,EUR,5.00,5.00,\n"
    )
    (stats,) = hub.sync()
    assert (stats.inserted, stats.quarantined) == (1, 0)
    shown = json.loads(run_hub("--json", "quarantine", cwd=tmp_path).stdout)["quarantine"]
    assert shown == []
    everything = json.loads(run_hub("--json", "quarantine", "--all", cwd=tmp_path).stdout)["quarantine"]
    assert [(q["external_id"], q["resolved_at"] is not None) for q in everything] == [("INV-2", True)]
    hub.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_invoice_that_leaves_a_complete_export_is_closed_and_reopened_when_it_returns(
    tmp_path: Path, db_url: str, workers: int
) -> None:
    rows = [f"INV-{i},C1,2026-01-05,2026-02-04,EUR,10.00,10.00,\n" for i in range(25)]
    hub = _paged_csv_hub(tmp_path, db_url, workers, rows)
    hub.sync()
    # INV-3 and INV-17 are paid and archived in the ERP: gone from the next export.
    (tmp_path / "invoices.csv").write_text(INVOICE_HEADER + "".join(r for i, r in enumerate(rows) if i not in (3, 17)))
    (stats,) = hub.sync()
    assert (stats.closed, stats.reopened, stats.inserted, stats.updated) == (2, 0, 0, 0)
    with hub.store.connect() as conn:
        status = dict(conn.execute(sa.select(schema.invoice.c.number, schema.invoice.c.status)).all())
        audit = conn.execute(
            sa.select(schema.audit_log.c.action, schema.audit_log.c.object_id, schema.audit_log.c.details).order_by(
                schema.audit_log.c.object_id
            )
        ).all()
    assert {n for n, s in status.items() if s == "closed"} == {"INV-3", "INV-17"}
    assert [(a.action, a.object_id) for a in audit] == [("record.closed", "INV-17"), ("record.closed", "INV-3")]
    assert audit[0].details["reason"] == "not in the complete read of invoices.csv"
    # Its exposure is gone too: only the 23 open invoices count.
    hub.risk(dt.date(2026, 3, 1))
    with hub.store.connect() as conn:
        assert conn.execute(sa.select(schema.exposure.c.open_amount)).scalar_one() == Decimal("230.00")
    # INV-3 comes back unchanged (the payment was reversed): open again.
    (tmp_path / "invoices.csv").write_text(INVOICE_HEADER + "".join(r for i, r in enumerate(rows) if i != 17))
    (stats,) = hub.sync()
    assert (stats.closed, stats.reopened, stats.updated) == (0, 1, 1)
    with hub.store.connect() as conn:
        status = dict(conn.execute(sa.select(schema.invoice.c.number, schema.invoice.c.status)).all())
        gone = (
            conn.execute(sa.select(schema.invoice.c.number).where(schema.invoice.c.missing_since.is_not(None)))
            .scalars()
            .all()
        )
    assert (status["INV-3"], status["INV-17"], gone) == ("open", "closed", ["INV-17"])
    hub.close()


def test_an_incremental_source_closes_nothing(tmp_path: Path, db_url: str) -> None:
    store = Store(db_url)
    store.migrate()
    engine = SyncEngine(store, workers=1)
    invoice = {
        "invoice_number": "INV-1",
        "customer_id": "C1",
        "issue_date": "2026-01-05",
        "due_date": "2026-02-04",
        "currency": "EUR",
        "amount": "10.00",
        "open_amount": "10.00",
        "po_number": "",
    }
    engine.sync(Connector(name="api", type="test", source=_ApiPages([[invoice]])))
    (stats,) = engine.sync(Connector(name="api", type="test", source=_ApiPages([[]])))
    assert stats.closed == 0
    with store.connect() as conn:
        assert conn.execute(sa.select(schema.invoice.c.status)).scalar_one() == "open"
    store.dispose()


def _indexes(store: Store) -> set[str]:
    with store.connect() as conn:
        return {i["name"] for i in sa.inspect(conn).get_indexes("invoice") if i["name"]}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_first_load_builds_the_open_invoice_index_at_its_end_and_a_failed_one_keeps_it(
    tmp_path: Path, db_url: str, workers: int
) -> None:
    """A first load into an empty invoice table (SQLite) drops the open-invoice index and builds it once
    at the end, in the load's transaction: after a load, and after a load that failed, the index is
    there (on PostgreSQL it is kept up to date all along)."""
    rows = [f"INV-{i},C1,2026-01-05,2026-02-04,EUR,10.00,10.00,\n" for i in range(25)]
    bad = [*rows, "INV-3,C1,2026-01-05,2026-02-04,EUR,10.00,1.00,\n"]  # one number, two amounts: refused
    (tmp_path / "invoices.csv").write_text(INVOICE_HEADER + "".join(bad))
    hub = _paged_csv_hub(tmp_path, db_url, workers, bad)
    (stats,) = hub.sync()
    assert stats.errors and stats.inserted == 0
    assert "ix_invoice_open_customer" in _indexes(hub.store)
    (tmp_path / "invoices.csv").write_text(INVOICE_HEADER + "".join(rows))
    ddl: list[str] = []
    sa.event.listen(
        hub.store.engine, "before_cursor_execute", lambda _c, _k, statement, *_: ddl.append(statement.split()[0])
    )
    (stats,) = hub.sync()
    assert (stats.errors, stats.inserted) == ([], 25)
    assert "ix_invoice_open_customer" in _indexes(hub.store)
    assert ("DROP" in ddl and "CREATE" in ddl) == (hub.store.dialect == "sqlite")
    hub.store.check_ready()
    with hub.store.connect() as conn:
        plan = (
            conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM invoice WHERE source = 'erp' AND customer_external_id = 'C1' "
                "AND open_amount != 0"
            ).all()
            if hub.store.dialect == "sqlite"
            else [("ix_invoice_open_customer",)]
        )
    assert any("ix_invoice_open_customer" in str(row) for row in plan)
    hub.close()


class _FailingAfter(Source):
    """Two pages of one invoice each, then the third page fails with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def streams(self) -> list[StreamSpec]:
        return [StreamSpec("invoices", "invoice", "csv-invoices")]

    def read(self, stream: StreamSpec, cursor: object) -> Iterator[Page]:
        done = cursor["page"] if isinstance(cursor, dict) else 0
        for i in range(done, 2):
            yield Page([_invoice(f"INV-{i}")], {"page": i + 1})
        raise self.error


def _invoice(number: str) -> dict[str, str]:
    return {
        "invoice_number": number,
        "customer_id": "C1",
        "issue_date": "2026-01-05",
        "due_date": "2026-02-04",
        "currency": "EUR",
        "amount": "10.00",
        "open_amount": "10.00",
        "po_number": "",
    }


@pytest.mark.parametrize("workers", [1, 2])
def test_a_source_failing_mid_listing_is_reported_by_page_with_the_pages_before_it_kept(
    tmp_path: Path, db_url: str, workers: int
) -> None:
    from hub.errors import HttpError

    store = Store(db_url)
    store.migrate()
    engine = SyncEngine(store, workers=workers)
    down = HttpError("GET", "https://api.example.test/invoices", 503, "still failing after 5 attempts")
    with pytest.raises(SourceError) as exc:
        engine.sync(Connector(name="api", type="test", source=_FailingAfter(down)))
    assert str(exc.value).startswith(
        "api/invoices: page 3 of this sync failed (2 stored before it stay; the next sync resumes after them): "
        "GET https://api.example.test/invoices: HTTP 503"
    )
    assert exc.value.retryable
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.invoice)).scalar_one() == 2
    store.dispose()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_source_refused_for_good_stays_not_worth_retrying_whichever_process_read_it(
    tmp_path: Path, db_url: str, workers: int
) -> None:
    from hub.errors import HttpError

    store = Store(db_url)
    store.migrate()
    engine = SyncEngine(store, workers=workers)
    refused = HttpError("GET", "https://api.example.test/invoices", 401, "invalid token")
    with pytest.raises(SourceError) as exc:
        engine.sync(Connector(name="api", type="test", source=_FailingAfter(refused)))
    assert "HTTP 401" in str(exc.value)
    assert not exc.value.retryable, "a refused token does not pass by trying again (the queue must not retry it)"
    store.dispose()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_answer_a_source_cannot_decode_fails_the_sync_naming_the_connector_whichever_process_read_it(
    tmp_path: Path, db_url: str, workers: int
) -> None:
    store = Store(db_url)
    store.migrate()
    engine = SyncEngine(store, workers=workers)
    garbled = json.JSONDecodeError("Expecting value", '{"value": [', 11)
    with pytest.raises(SourceError) as exc:
        engine.sync(Connector(name="api", type="test", source=_FailingAfter(garbled)))
    assert "api/invoices: page 3 of this sync failed" in str(exc.value)
    assert "JSONDecodeError: Expecting value" in str(exc.value)
    assert exc.value.retryable
    store.dispose()
