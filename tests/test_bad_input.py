"""Bad input gets one clear line and loses nothing: files in another encoding, oversized fields,
bank entries beyond range, databases that are not the hub's, and malformed database URLs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.errors import StoreError
from hub.store import KNOWN_REVISIONS, Store, schema

from .conftest import run_hub, write_config

HEADER = "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
CUSTOMERS = "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n"
FIXTURES = Path(__file__).parent / "fixtures"


def _csv_hub(folder: Path, db_url: str, extra: str = "", **files: bytes) -> Hub:
    for name, content in files.items():
        (folder / f"{name}.csv").write_bytes(content)
    write_config(
        folder,
        db_url,
        customers="customers.csv" if "customers" in files else None,
        invoices="invoices.csv" if "invoices" in files else None,
        statements=None,
        sink=None,
    )
    if extra:
        text = (folder / "hub.toml").read_text().replace('type = "csv"\n', f'type = "csv"\n{extra}')
        (folder / "hub.toml").write_text(text)
    hub = Hub(load_config(folder / "hub.toml"))
    hub.init()
    return hub


def _quarantine(hub: Hub) -> dict[str | None, tuple[str, dict[str, object]]]:
    q = schema.quarantine
    with hub.store.connect() as conn:
        rows = conn.execute(sa.select(q.c.external_id, q.c.reason, q.c.raw))
        return {ext: (reason, raw) for ext, reason, raw in rows}


# -- encodings -----------------------------------------------------------------------------------------


def test_a_byte_that_is_not_utf8_quarantines_its_row_naming_line_column_and_byte(tmp_path: Path, db_url: str) -> None:
    rows = [
        b"INV-1,C1,2026-01-05,2026-02-04,EUR,10.00,10.00,\n",
        b"INV-2,C1,2026-01-05,2026-02-04,EUR,10.00,10.00,Bestellung M\xfcller\n",  # cp1252 ü
        b"INV-3,C1,2026-01-05,2026-02-04,EUR,10.00,10.00,\n",
    ]
    hub = _csv_hub(tmp_path, db_url, invoices=HEADER.encode() + b"".join(rows))
    try:
        (stats,) = hub.sync()
        assert (stats.inserted, stats.quarantined, stats.errors) == (2, 1, [])
        ((reason, raw),) = _quarantine(hub).values()
        assert reason.startswith("line 3: byte 0xFC in column 'po_number' is not utf-8-sig text")
        assert "encoding" in reason
        assert raw["po_number"] == "Bestellung M\\xfcller"  # the byte shown, not lost
    finally:
        hub.close()


def test_a_file_in_a_named_encoding_is_read_as_text(tmp_path: Path, db_url: str) -> None:
    customers = CUSTOMERS + "C1,深圳市华强电子有限公司,,CN,CNY,100000.00,,\nC2,Müller GmbH,,DE,EUR,5000.00,,\n"
    hub = _csv_hub(
        tmp_path, db_url, extra='encodings = { customers = "gb18030" }\n', customers=customers.encode("gb18030")
    )
    try:
        (stats,) = hub.sync()
        assert (stats.inserted, stats.quarantined) == (2, 0)
        with hub.store.connect() as conn:
            names = set(conn.execute(sa.select(schema.customer.c.legal_name)).scalars())
        assert names == {"深圳市华强电子有限公司", "Müller GmbH"}
    finally:
        hub.close()


def test_an_unknown_encoding_is_a_config_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "invoices.csv").write_text(HEADER)
    write_config(tmp_path, "sqlite:///hub.db", customers=None, statements=None, sink=None)
    text = (tmp_path / "hub.toml").read_text().replace('type = "csv"\n', 'type = "csv"\nencoding = "klingon"\n')
    (tmp_path / "hub.toml").write_text(text)
    run_hub("init", cwd=tmp_path)
    proc = run_hub("sync", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert "unknown encoding 'klingon'" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- oversized fields ----------------------------------------------------------------------------------


def test_a_10_mb_field_quarantines_only_its_record(tmp_path: Path, db_url: str) -> None:
    huge = "X" * (10 * 1024 * 1024)
    invoices = (
        HEADER
        + "INV-1,C1,2026-01-05,2026-02-04,EUR,10.00,10.00,PO-1\n"
        + f"INV-2,C1,2026-01-05,2026-02-04,EUR,10.00,10.00,{huge}\n"
        + "INV-3,C1,2026-01-05,2026-02-04,EUR,10.00,10.00,PO-3\n"
    )
    hub = _csv_hub(tmp_path, db_url, invoices=invoices.encode())
    try:
        (stats,) = hub.sync()
        assert (stats.inserted, stats.quarantined, stats.errors) == (2, 1, [])
        reason, raw = _quarantine(hub)["INV-2"]
        assert "po_number is 10,485,760 characters long; the store keeps at most 255" in reason
        assert len(str(raw["po_number"])) < 3000  # the quarantine keeps the start, not 10 MB
    finally:
        hub.close()


# -- bank entries beyond range -------------------------------------------------------------------------


def test_a_bank_entry_beyond_the_stores_range_fails_its_file_naming_the_entry(tmp_path: Path, db_url: str) -> None:
    source = FIXTURES / "bank" / "camt053" / "genkgo_camt.053.001.08.xml"
    text = source.read_text(encoding="utf-8")
    first = text.index("<Ntry>")
    amount = text.index("<Amt", first)
    close = text.index("</Amt>", amount)
    opening = text.index(">", amount) + 1
    (tmp_path / "big.xml").write_text(text[:opening] + "99999999999999999999.85" + text[close:], encoding="utf-8")
    (tmp_path / "fine.xml").write_text(text, encoding="utf-8")
    write_config(tmp_path, db_url, customers=None, invoices=None, statements=".", sink=None)
    text_config = (tmp_path / "hub.toml").read_text().replace('path = "."\n', 'path = "."\npattern = "*.xml"\n')
    (tmp_path / "hub.toml").write_text(text_config)
    run_hub("init", cwd=tmp_path)
    proc = run_hub("sync", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "big.xml: entry " in errors[0]
    assert "more than 18 digits before the decimal point" in errors[0]
    assert "nothing of big.xml was stored" in errors[0]
    store = Store(db_url)
    try:
        with store.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(schema.receipt)).scalar_one()
        assert stored > 0  # fine.xml imported; big.xml not at all
        assert stored == len(list(_receipts(tmp_path / "fine.xml")))
    finally:
        store.dispose()


def _receipts(path: Path) -> list[object]:
    from hub_connectors.bank_files.camt import CamtReader

    return list(CamtReader(path))


# -- databases that are not (yet) the hub's ------------------------------------------------------------


def _hub_cli(folder: Path, url: str, *args: str) -> tuple[int, str]:
    (folder / "hub.toml").write_text(f'[database]\nurl = "{url}"\n')
    proc = run_hub(*args, cwd=folder, check=False)
    return proc.returncode, proc.stderr


def test_init_on_a_store_from_a_newer_hub_says_so_in_one_line_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    assert _hub_cli(tmp_path, f"sqlite:///{db}", "init")[0] == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    for command in ("init", "reconcile"):
        code, stderr = _hub_cli(tmp_path, f"sqlite:///{db}", command)
        assert code == 1
        assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
        assert "schema revision 0099, which a newer version of the hub wrote" in stderr
        assert f"this one knows up to {KNOWN_REVISIONS[-1]}" in stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0099",)]


def test_init_on_a_foreign_sqlite_file_refuses_and_leaves_no_half_schema(tmp_path: Path) -> None:
    db = tmp_path / "accounting.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE invoice (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoice (total) VALUES (12.5)")
    code, stderr = _hub_cli(tmp_path, f"sqlite:///{db}", "init")
    assert code == 1
    assert "already holds tables the hub did not create (invoice)" in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    with sqlite3.connect(db) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"invoice"}
        assert conn.execute("SELECT total FROM invoice").fetchall() == [(12.5,)]


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    from alembic import command

    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    command.upgrade(store._alembic_config(), "0004")
    with store.begin() as conn:  # an object in the way of the last migration, which fails half-way
        conn.exec_driver_sql("CREATE INDEX ix_outbox_sink_subject ON outbox (sink)")
    with pytest.raises(StoreError, match="nothing was changed"):
        store.migrate()
    assert store.current_revision() == "0004"
    with store.connect() as conn:
        assert "subject" not in {c["name"] for c in sa.inspect(conn).get_columns("outbox")}
    store.dispose()


def test_a_corrupt_database_file_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    db.write_bytes(b"this is not an SQLite database, it is a spreadsheet" * 100)
    for command in ("init", "sync", "outbox"):
        code, stderr = _hub_cli(tmp_path, f"sqlite:///{db}", command)
        assert code == 1, command
        assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
        assert "is not an SQLite database or is damaged" in stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://user@host:notaport/db",
        "not a url at all",
        "mysql+nodriver://x/y",
        "sqlite:////no/such/folder/hub.db",
    ],
)
def test_a_malformed_or_unusable_database_url_is_one_line(tmp_path: Path, url: str) -> None:
    code, stderr = _hub_cli(tmp_path, url, "init")
    assert code == 1
    assert stderr.startswith("error: ") and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
