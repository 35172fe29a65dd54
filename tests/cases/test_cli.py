"""``hub cases ...`` and ``hub interest ...`` as a person types them (the real command line, a subprocess):
what they print, and one line with a non-zero exit on bad input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from hub.store import Store

from ..conftest import run_hub
from .conftest import EU_RATES, add_customer, add_invoice


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = Store(url)
    store.migrate()
    with store.begin() as conn:
        add_customer(conn, "A1", "C1")
        add_invoice(conn, "INV-1", "A1", dt.date(2024, 1, 31), "10000.00")
    store.dispose()
    (tmp_path / "hub.toml").write_text(
        f'[database]\nurl = "{url}"\n\n[connectors.flags]\ntype = "json-file"\npath = "out/flags.jsonl"\n{EU_RATES}',
        encoding="utf-8",
    )
    return tmp_path


def refused(folder: Path, *args: str) -> str:
    proc = run_hub(*args, cwd=folder, check=False)
    assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
    line = proc.stderr.strip()
    assert line and "\n" not in line and "Traceback" not in line, proc.stderr
    return line


def test_the_commands_work_and_bad_input_is_one_line_and_a_non_zero_exit(folder: Path) -> None:
    assert "kind must be one of litigation, arbitration, agency" in refused(
        folder, "cases", "open", "C1", "--kind", "lawsuit"
    )
    opened = json.loads(
        run_hub(
            "--json", "cases", "open", "C1", "--kind", "litigation", "--court", "LG Berlin", "--by", "ann", cwd=folder
        ).stdout
    )
    case_id = str(opened["case"]["id"])
    assert "already has a running litigation case" in refused(folder, "cases", "open", "C1", "--kind", "litigation")
    assert "status must be one of open, filed" in refused(folder, "cases", "status", case_id, "bogus")
    assert "can move to filed, settled, closed, written_off, not judgment" in refused(
        folder, "cases", "status", case_id, "judgment"
    )
    assert "no case 999" in refused(folder, "cases", "show", "999")
    assert "AMOUNT must be an amount like 1250.00" in refused(folder, "cases", "cost", case_id, "abc")
    assert "AMOUNT must be an amount above zero" in refused(folder, "cases", "cost", case_id, "--", "-5")
    assert "status must be one of" in refused(folder, "cases", "list", "--status", "bogus")
    assert "language must be one of en, zh_CN" in refused(
        folder, "cases", "handover", case_id, "--out", "x.xlsx", "--lang", "fr"
    )
    assert "no file" in refused(folder, "cases", "document", case_id, "missing.pdf")

    run_hub("cases", "status", case_id, "filed", "--case-number", "12 O 34/24", cwd=folder)
    run_hub("cases", "cost", case_id, "350.00", "--kind", "court_fee", "--date", "2024-03-01", cwd=folder)
    (folder / "claim.pdf").write_bytes(b"%PDF claim")
    run_hub("cases", "document", case_id, "claim.pdf", cwd=folder)
    recovery = json.loads(
        run_hub(
            "--json", "cases", "recovery", case_id, "2500", "--ref", "LG-1", "--date", "2024-03-31", cwd=folder
        ).stdout
    )
    assert recovery["allocated"] == [{"invoice": "INV-1", "amount": "2500"}] and recovery["recovered"] == "2500.00"
    assert "history" in run_hub("cases", "show", case_id, "--as-of", "2024-03-31", cwd=folder).stdout
    shown = json.loads(run_hub("--json", "cases", "show", case_id, "--as-of", "2024-03-31", cwd=folder).stdout)
    assert shown["case_number"] == "12 O 34/24" and shown["documents"][0]["name"] == "claim.pdf"
    assert shown["recoveries"][0]["ref"] == "LG-1" and shown["costs_total"] == "350.00"
    listed = json.loads(run_hub("--json", "cases", "list", "--status", "active", cwd=folder).stdout)
    assert [c["status"] for c in listed["cases"]] == ["filed"]

    run_hub(
        "cases", "handover", case_id, "--out", "handover.xlsx", "--lang", "zh_CN", "--as-of", "2024-03-31", cwd=folder
    )
    assert openpyxl.load_workbook(folder / "handover.xlsx").sheetnames[0] == "发票"

    interest = json.loads(run_hub("--json", "interest", "show", "C1", "--as-of", "2024-03-31", cwd=folder).stdout)
    # the recovery booked on Mar 31 still bears interest that day: 10000 x 12.5 % x 60 / 365 = 205.48; 7500 open
    (line,) = interest["lines"]
    assert (line["interest"], line["principal"], interest["totals"]) == ("205.48", "7500.00", {"EUR": "245.48"})
    first = run_hub("interest", "invoice", "C1", "--as-of", "2024-03-31", cwd=folder).stdout
    again = run_hub("interest", "invoice", "C1", "--as-of", "2024-03-31", cwd=folder).stdout
    assert "interest invoice 2024-03 for C1" in first and "already queued" in again
    assert "--as-of" in refused(folder, "interest", "show", "C1", "--as-of", "yesterday")
