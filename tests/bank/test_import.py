"""Importing statement files into the store: every format, once, atomically, and ``hub receipts import``.

The per-format tests (test_camt, test_mt940, test_bai2, test_ofx, test_tabular) check each reader's
counts against the raw files; these check what the hub keeps of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hub_connectors.bank_files import detect_format, open_statement
from hub_connectors.bank_files.importer import import_receipts

from hub.app import Hub
from hub.config import load_config
from hub.errors import StatementError
from hub.store import schema

from ..conftest import generate, run_hub, write_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"
FORMATS = ["camt053", "camt054", "mt940", "bai2", "ofx", "tabular"]
ALL_FILES = sorted(p for fmt in FORMATS for p in (FIXTURES / fmt).glob("*") if p.is_file() and p.name != "SOURCES.md")


def _expected(path: Path) -> tuple[int, list[str]] | StatementError:
    """What the reader finds in a file (its own tests check that against the raw file)."""
    try:
        reader = open_statement(path)
        keys = [r["external_id"] for r in reader]
    except StatementError as exc:
        return exc
    return reader.summary.receipts, keys


VALID = [p for p in ALL_FILES if not isinstance(_expected(p), StatementError)]
INVALID = [p for p in ALL_FILES if isinstance(_expected(p), StatementError)]


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    write_config(tmp_path, db_url, customers=None, invoices=None, statements="statements", sink=None)
    (tmp_path / "statements").mkdir()
    h = Hub(load_config(tmp_path / "hub.toml"))
    h.init()
    yield h
    h.close()


def _stored(hub: Hub) -> list[str]:
    with hub.store.connect() as conn:
        return list(conn.execute(sa.select(schema.receipt.c.external_id)).scalars())


def test_fixture_set_has_every_format_and_both_valid_and_invalid_files() -> None:
    kinds = {detect_format(p.read_bytes()[:8192]) for p in VALID}
    assert {"camt", "mt940", "bai2", "ofx"} <= kinds
    assert any(p.parent.name == "tabular" for p in VALID)
    assert len(INVALID) >= 3


def test_every_valid_fixture_imports_each_receipt_once_and_reimport_adds_nothing(hub: Hub) -> None:
    reports = import_receipts(hub, VALID)
    assert [r.error for r in reports] == [None] * len(VALID)
    stored = _stored(hub)
    assert len(stored) == len(set(stored))
    for path, report in zip(VALID, reports, strict=True):
        count, _keys = _expected(path)  # type: ignore[misc]
        assert report.receipts == count, path.name
        assert report.new + report.duplicates == count, path.name
    assert sum(r.new for r in reports) == len(stored)

    again = import_receipts(hub, VALID)
    assert sum(r.new for r in again) == 0
    assert [r.duplicates for r in again] == [r.receipts for r in again]
    assert len(_stored(hub)) == len(stored)


def test_camt_receipts_stored_from_rows_equal_those_stored_from_dicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The camt reader hands the engine tuples (cheaper); every other reader gives dicts.
    from hub_connectors.bank_files.camt import CamtReader

    camt_files = [p for p in VALID if p.parent.name.startswith("camt")]

    def imported(folder: Path) -> list[tuple[object, ...]]:
        folder.mkdir()
        write_config(
            folder, f"sqlite:///{folder / 'hub.db'}", customers=None, invoices=None, statements="statements", sink=None
        )
        (folder / "statements").mkdir()
        h = Hub(load_config(folder / "hub.toml"))
        try:
            h.init()
            assert [r.error for r in import_receipts(h, camt_files)] == [None] * len(camt_files)
            r = schema.receipt
            with h.store.connect() as conn:
                return sorted(
                    tuple(row)
                    for row in conn.execute(sa.select(*(c for c in r.c if c.name not in ("id", "synced_at"))))
                )
        finally:
            h.close()

    from_rows = imported(tmp_path / "rows")
    monkeypatch.delattr(CamtReader, "row_batches")
    with pytest.raises(AttributeError):
        CamtReader(camt_files[0]).row_batches  # noqa: B018
    from_dicts = imported(tmp_path / "dicts")
    assert from_rows == from_dicts and len(from_rows) >= 48


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_an_invalid_fixture_fails_with_file_and_reason_and_stores_nothing(hub: Hub, path: Path) -> None:
    (report,) = import_receipts(hub, [path])
    assert report.error is not None
    assert path.name in report.error
    assert report.new == 0
    assert _stored(hub) == []


def test_a_bad_file_among_good_ones_fails_alone(hub: Hub) -> None:
    good = [p for p in VALID if p.parent.name in ("mt940", "bai2")][:4]
    reports = import_receipts(hub, [good[0], INVALID[0], *good[1:]])
    assert [r.error is None for r in reports] == [True, False, True, True, True][: len(reports)]
    assert len(_stored(hub)) == sum(r.new for r in reports) > 0


def test_dry_run_counts_what_would_be_new_and_stores_nothing(hub: Hub) -> None:
    files = [p for p in VALID if p.parent.name == "camt053"]
    dry = import_receipts(hub, files, dry_run=True)
    assert _stored(hub) == []
    assert all(r.dry_run for r in dry)
    real = import_receipts(hub, files)
    assert [r.new for r in dry] == [r.new for r in real]
    assert [(r.format, r.statements, r.receipts, r.totals) for r in dry] == [
        (r.format, r.statements, r.receipts, r.totals) for r in real
    ]
    after = import_receipts(hub, files, dry_run=True)
    assert sum(r.new for r in after) == 0
    assert sum(r.duplicates for r in after) == sum(r.receipts for r in real)


def test_an_intraday_report_then_the_days_statement_adds_no_duplicate(hub: Hub, tmp_path: Path) -> None:
    # The end-of-day camt.053 and, made from it, the same bookings reported intraday as a camt.052.
    statement = (FIXTURES / "camt053" / "postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml").read_text("utf-8")
    intraday = statement.replace("camt.053.001.04", "camt.052.001.04").replace("BkToCstmrStmt", "BkToCstmrAcctRpt")
    intraday = re.sub(r"<(/?)Stmt>", r"<\1Rpt>", intraday)
    (tmp_path / "intraday.xml").write_text(intraday, "utf-8")
    (first,) = import_receipts(hub, [tmp_path / "intraday.xml"])
    assert first.message_type == "camt.052.001.04" and first.new == 32
    (second,) = import_receipts(hub, [FIXTURES / "camt053" / "postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml"])
    assert second.new == 0 and second.duplicates == 32


def test_format_can_be_forced_and_a_wrong_forced_format_fails_clearly(hub: Hub) -> None:
    path = next(p for p in VALID if p.parent.name == "mt940")
    (report,) = import_receipts(hub, [path], fmt="mt940")
    assert report.error is None and report.format == "mt940"
    (wrong,) = import_receipts(hub, [path], fmt="camt")
    assert wrong.error is not None and path.name in wrong.error


def test_cli_imports_files_and_folders_and_reports_per_file(tmp_path: Path, db_url: str) -> None:
    generate(tmp_path, customers=10, invoices=50, receipts=25)
    write_config(tmp_path, db_url, customers=None, invoices=None, statements="statements", sink=None)
    (tmp_path / "statements").mkdir()
    run_hub("init", cwd=tmp_path)
    dry = json.loads(run_hub("receipts", "import", "statement.xml", "--dry-run", "--json", cwd=tmp_path).stdout)
    assert dry["dry_run"] is True
    (file_report,) = dry["receipts_import"]
    assert file_report["file"] == "statement.xml"
    assert file_report["format"] == "camt" and file_report["message_type"] == "camt.053.001.02"
    assert file_report["receipts"] == file_report["new"] == 25
    truth = open_statement(tmp_path / "statement.xml")
    list(truth)
    assert file_report["totals"] == {ccy: str(total) for ccy, total in sorted(truth.summary.totals.items())}

    done = json.loads(run_hub("receipts", "import", "statement.xml", "--json", cwd=tmp_path).stdout)
    assert done["receipts_import"][0]["new"] == 25
    # The configured folder connector then finds nothing new in the same statement.
    (tmp_path / "statements" / "copy.xml").write_bytes((tmp_path / "statement.xml").read_bytes())
    synced = json.loads(run_hub("--json", "sync", cwd=tmp_path).stdout)["sync"][0]
    assert synced["inserted"] == 0 and synced["read"] == 0  # the same content was imported: not read again
    forced = json.loads(run_hub("--json", "sync", "--full-refresh", cwd=tmp_path).stdout)["sync"][0]
    assert forced["inserted"] == 0 and forced["unchanged"] == 25

    table = run_hub("receipts", "import", str(FIXTURES / "mt940"), cwd=tmp_path, check=False)
    assert "MT94" in table.stdout
    bad = run_hub("receipts", "import", str(INVALID[0]), cwd=tmp_path, check=False)
    assert bad.returncode == 1
    assert INVALID[0].name in bad.stderr
