"""The whole flow as a user drives it: generated workload, `hub init && hub run`, exports, demo."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, generate, run_hub, write_config

sys.path.insert(0, str(ROOT / "bench"))
from score_matches import load_truth, score


def _truth(path: Path) -> dict[str, set[str]]:
    return load_truth(str(path))


@pytest.mark.slow
def test_run_on_generated_workload_matches_exact_references_correctly(tmp_path: Path, db_url: str) -> None:
    generate(tmp_path, seed=5, customers=200, invoices=4000, receipts=800)
    write_config(tmp_path, db_url)
    run_hub("init", cwd=tmp_path)
    proc = run_hub("--json", "run", "--as-of", "2026-11-27", cwd=tmp_path)
    summary = json.loads(proc.stdout)
    assert summary["sync"][2]["inserted"] == 800  # receipts
    assert summary["reconcile"]["auto"] > 0
    run_hub("matches", "export", "--format", "csv", "-o", "matches.csv", cwd=tmp_path)
    rows = list(csv.DictReader((tmp_path / "matches.csv").open(encoding="utf-8")))
    assert list(rows[0]) == [
        "receipt_ref",
        "invoice_number",
        "amount",
        "currency",
        "kind",
        "status",
        "confidence",
        "customer_id",
    ]
    assert {r["kind"] for r in rows} <= {"payment", "write_off"}
    truth = _truth(tmp_path / "truth.csv")
    auto = {}
    for r in rows:
        if r["status"] == "auto":
            auto.setdefault(r["receipt_ref"], set()).add(r["invoice_number"])
    assert auto
    wrong = {ref: got for ref, got in auto.items() if truth.get(ref) != got}
    assert wrong == {}
    result = score(truth, str(tmp_path / "matches.csv"))
    assert result["auto_precision"] == 1.0
    assert result["unknown_receipt_refs"] == 0

    # The flag and band changes reached the json-file sink, once each.
    lines = [json.loads(x) for x in (tmp_path / "out" / "flags.jsonl").read_text().splitlines()]
    flags = [x for x in lines if x["kind"] == "flag"]
    bands = [x for x in lines if x["kind"] == "band"]
    assert len(flags) == summary["risk"]["raised"] > 0
    assert len(bands) == summary["risk"]["band_changes"] == summary["risk"]["customers"]  # first assessment
    assert len({x["event_id"] for x in lines}) == len(lines) == summary["push"]["delivered"]

    # Over-limit customers are exactly those whose open amount exceeds their limit.
    run_hub("exposure", "export", "--format", "csv", "-o", "exposure.csv", cwd=tmp_path)
    for r in csv.DictReader((tmp_path / "exposure.csv").open(encoding="utf-8")):
        over = r["limit"] != "" and float(r["open"]) > float(r["limit"])
        assert ("OVER_LIMIT" in r["flags"].split()) == over, r

    # Running everything again changes nothing.
    again = json.loads(run_hub("--json", "run", "--as-of", "2026-11-27", cwd=tmp_path).stdout)
    assert all(s["inserted"] == 0 and s["updated"] == 0 for s in again["sync"])
    assert again["reconcile"]["auto"] == 0
    assert again["risk"]["raised"] == again["risk"]["cleared"] == 0
    assert again["push"]["delivered"] == 0


def test_statement_imported_twice_adds_no_receipt(tmp_path: Path, db_url: str) -> None:
    generate(tmp_path, customers=10, invoices=50, receipts=30)
    (tmp_path / "statements").mkdir()
    (tmp_path / "statements" / "a.xml").write_bytes((tmp_path / "statement.xml").read_bytes())
    write_config(tmp_path, db_url, customers=None, invoices=None, statements="statements", sink=None)
    run_hub("init", cwd=tmp_path)
    first = json.loads(run_hub("--json", "sync", cwd=tmp_path).stdout)["sync"][0]
    assert first["inserted"] == 30
    (tmp_path / "statements" / "b-copy.xml").write_bytes((tmp_path / "statement.xml").read_bytes())
    second = json.loads(run_hub("--json", "sync", "--full-refresh", cwd=tmp_path).stdout)["sync"][0]
    assert second["inserted"] == 0
    assert second["unchanged"] == 30


def test_malformed_statement_is_reported_and_the_good_ones_still_import(tmp_path: Path, db_url: str) -> None:
    generate(tmp_path, customers=10, invoices=50, receipts=12)
    folder = tmp_path / "statements"
    folder.mkdir()
    (folder / "good.xml").write_bytes((tmp_path / "statement.xml").read_bytes())
    (folder / "broken.xml").write_bytes((tmp_path / "statement.xml").read_bytes()[:2000])
    write_config(tmp_path, db_url, customers=None, invoices=None, statements="statements", sink=None)
    run_hub("init", cwd=tmp_path)
    proc = run_hub("sync", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert "broken.xml" in proc.stderr
    data = json.loads(run_hub("--json", "sync", cwd=tmp_path, check=False).stdout)["sync"][0]
    assert data["inserted"] == 0  # good.xml was already imported and is remembered
    (folder / "broken.xml").unlink()
    assert run_hub("sync", cwd=tmp_path).returncode == 0


def _demo(tmp_path: Path, name: str, *args: str) -> dict[str, Any]:
    proc = run_hub("--json", "demo", "--workspace", str(tmp_path / name), *args, cwd=tmp_path)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _story(summary: dict[str, Any]) -> tuple[Any, ...]:
    return (
        summary["receipts_imported"],
        summary["auto_matched"],
        summary["suggested"],
        summary["bands"],
        summary["flags"],
        summary["pending_limit_approvals"],
    )


@pytest.mark.slow
def test_the_demo_tells_the_same_plausible_story_a_month_apart(tmp_path: Path) -> None:
    now = _demo(tmp_path, "now", "--as-of", "2026-12-05")
    later = _demo(tmp_path, "later", "--as-of", "2027-01-04")
    for summary in (now, later):
        assert summary["customers"] == 40
        assert summary["bands"].get("A", 0) >= 30  # most customers are fine...
        assert 1 <= summary["flagged_customers"] <= 6  # ...a few are in trouble
        assert summary["bands"].get("unrated", 0) == 0
        assert summary["pending_limit_approvals"] <= 8  # not every limit cut by 99%
        assert summary["receipts_imported"] >= 80
        assert summary["auto_matched"] >= 0.9 * (summary["receipts_imported"] - summary["left_open"])
        assert summary["suggested"] >= 1  # something for finance to look at
        assert summary["unconverted"] == {}  # the demo carries the rates its currencies need
        assert summary["collection_steps_due"] <= 15
        # the bureau's batch file: ratings, a downgrade and a court listing move the score and raise flags
        assert summary["bureau_reports_imported"] >= 5
        assert summary["flags"].get("BUREAU_DOWNGRADE", 0) >= 1
        assert summary["flags"].get("LEGAL_EVENT", 0) >= 1
    assert abs(now["flagged_customers"] - later["flagged_customers"]) <= 1
    assert now["bands"].keys() == later["bands"].keys()


def test_the_demo_run_again_shows_the_book_not_just_what_changed(tmp_path: Path) -> None:
    first = _demo(tmp_path, "demo")
    again = _demo(tmp_path, "demo")
    assert first["receipts_imported"] > 0 and again["receipts_imported"] == 0
    assert first["bureau_reports_imported"] > 0 and again["bureau_reports_imported"] == 0  # each delivery once
    assert again["book_receipts"] == first["book_receipts"]
    assert sum(first["book_receipts"].values()) == first["receipts_imported"]
    assert (first["temporary"], again["sample_dated"]) == (False, first["sample_dated"])
    assert Path(first["flags_file"]).read_text().count("\n") == first["events_written"]
    assert "<svg" in Path(first["report"]).read_text(encoding="utf-8")
    text = run_hub("demo", "--workspace", str(tmp_path / "demo"), cwd=tmp_path).stdout
    assert "where the book stands" in text and "credit limits waiting for approval" in text
    assert "BUREAU_DOWNGRADE" in text and "失信被执行人" in text  # the bureau's view, in Chinese where it is
    assert "kept: run 'hub demo' on it again later" in text


def test_the_demo_in_a_temporary_folder_says_so(tmp_path: Path) -> None:
    text = run_hub("demo", cwd=tmp_path, env={"TMPDIR": str(tmp_path)}).stdout
    assert "a temporary folder: delete it when done" in text


def test_unknown_connector_type_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text('[connectors.x]\ntype = "sap"\n')
    run_hub("init", cwd=tmp_path)
    proc = run_hub("sync", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: [connectors.x] type 'sap' is not installed; available: bank-files, bottlecrm, bureau-file, creditsafe, "
        "csv, dnb, dynamics, experian, hubspot, json-file, odoo, qichacha, salesforce, tianyancha, tryton "
        "(see 'hub plugins')"
    ]


def test_commands_before_init_say_to_run_init(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text('[database]\nurl = "sqlite:///hub.db"\n')
    proc = run_hub("reconcile", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert "run 'hub init'" in proc.stderr


def test_json_flag_works_before_or_after_the_command(tmp_path: Path) -> None:
    before = json.loads(run_hub("--json", "plugins", cwd=tmp_path).stdout)
    after = json.loads(run_hub("plugins", "--json", cwd=tmp_path).stdout)
    assert before == after
    assert "csv" in after["connector_types"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_statement_read_in_pages_imports_wholly_or_not_at_all(tmp_path: Path, db_url: str, workers: int) -> None:
    generate(tmp_path, customers=10, invoices=50, receipts=40)
    folder = tmp_path / "statements"
    folder.mkdir()
    data = (tmp_path / "statement.xml").read_bytes()
    (folder / "a-good.xml").write_bytes(data)
    (folder / "b-broken-at-the-end.xml").write_bytes(data.replace(b"RCPT", b"RCPX")[:-60])
    write_config(
        tmp_path,
        db_url,
        customers=None,
        invoices=None,
        statements="statements",
        sink=None,
        extra=f"[sync]\nworkers = {workers}\n",
    )
    text = (tmp_path / "hub.toml").read_text().replace('type = "bank-files"\n', 'type = "bank-files"\npage_size = 7\n')
    (tmp_path / "hub.toml").write_text(text)
    run_hub("init", cwd=tmp_path)
    proc = run_hub("--json", "sync", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    stats = json.loads(proc.stdout)["sync"][0]
    assert stats["inserted"] == 40  # every receipt of a-good.xml, none of the broken file
    assert "b-broken-at-the-end.xml" in stats["errors"][0]
    (folder / "b-broken-at-the-end.xml").write_bytes(data.replace(b"RCPT", b"RCPX"))
    again = json.loads(run_hub("--json", "sync", cwd=tmp_path).stdout)["sync"][0]
    assert again["inserted"] == 40
