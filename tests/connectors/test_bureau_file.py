"""The bureau-file connector: credit reports from CSV and JSON deliveries, through a mapping, into the store.

The sample files in tests/fixtures/bureau/ are what a bureau's portfolio export and a hand-typed
report look like; each test copies what it needs into its own folder.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hub_connectors.bureau_file import scaled

from hub.app import Hub
from hub.config import load_config
from hub.store import schema
from hub.sync import quarantined

from ..conftest import run_hub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bureau"
REPORTS_HEADER = (
    "report_id,customer_id,bureau,company_id,score,raw_score,scale,band,recommended_limit,currency,report_date"
)


def workspace(tmp_path: Path, *, customers: bool = False) -> Hub:
    (tmp_path / "bureau").mkdir(exist_ok=True)
    config = f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
    if customers:
        (tmp_path / "customers.csv").write_text(
            "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n"
            "C1,上海华东精密机械有限公司,91310115MA1K3XYZ0Q,CN,CNY,500000.00,,\n"
            "C2,Albatros Metallbau GmbH,,DE,EUR,60000.00,,\n",
            encoding="utf-8",
        )
        (tmp_path / "invoices.csv").write_text(
            "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number,status,paid_date\n"
            "INV-1,C1,2026-02-01,2026-03-03,CNY,120000.00,120000.00,,open,\n"
            "INV-2,C2,2026-02-10,2026-03-12,EUR,8000.00,8000.00,,open,\n",
            encoding="utf-8",
        )
        config += '[connectors.erp]\ntype = "csv"\ncustomers = "customers.csv"\ninvoices = "invoices.csv"\n\n'
    config += '[connectors.bureau]\ntype = "bureau-file"\npath = "bureau"\n'
    (tmp_path / "hub.toml").write_text(config, encoding="utf-8")
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    return hub


def reports(hub: Hub) -> dict[str, Any]:
    cr = schema.credit_report
    with hub.store.connect() as conn:
        return {r.external_id: r for r in conn.execute(sa.select(cr).order_by(cr.c.external_id))}


def sync(hub: Hub) -> Any:
    (stats,) = [s for s in hub.sync() if s.connector == "bureau"]
    return stats


def test_a_portfolio_export_with_an_events_file_lands_as_credit_reports(tmp_path: Path) -> None:
    hub = workspace(tmp_path)
    for name in ("portfolio-2026-03.csv", "portfolio-2026-03.events.csv"):
        shutil.copy(FIXTURES / name, tmp_path / "bureau" / name)
    stats = sync(hub)
    assert (stats.inserted, stats.quarantined, stats.errors) == (4, 0, [])
    got = reports(hub)
    first = got["CS-2026-03-001"]
    assert (first.customer_external_id, first.bureau, first.bureau_company_id) == ("C1", "tianyancha", "3065442118")
    assert (first.score, first.band, first.report_date) == (50.0, "C", dt.date(2026, 3, 1))
    assert (first.recommended_limit, first.recommended_limit_currency) == (Decimal("300000"), "CNY")
    (event,) = first.legal_events
    assert event == {
        "kind": "dishonest_debtor",
        "date": "2026-02-20",
        "description": "失信被执行人: 有履行能力而拒不履行生效法律文书确定义务",
        "court": "上海市浦东新区人民法院",
        "amount": "1250000",
        "currency": "CNY",
        "case_number": "(2026)沪0115执1234号",
    }
    assert got["CS-2026-03-002"].legal_events == []


def test_a_raw_score_is_read_on_its_named_scale(tmp_path: Path) -> None:
    hub = workspace(tmp_path)
    (tmp_path / "bureau" / "scales.csv").write_text(
        REPORTS_HEADER + "\n"
        "R1,C1,experian,BIN1,,650,0-1000,,,,2026-03-01\n"
        "R2,C2,dnb,DUNS2,,2,5-1,2,,,2026-03-01\n"
        "R3,C3,creditsafe,GB1,,B,A-E,B,,,2026-03-01\n"
        "R4,C4,creditsafe,GB2,,E,A-E,E,,,2026-03-01\n",
        encoding="utf-8",
    )
    sync(hub)
    got = reports(hub)
    assert [(got[k].score, got[k].raw_score) for k in ("R1", "R2", "R3", "R4")] == [
        (65.0, "650"),
        (75.0, "2"),
        (60.0, "B"),
        (None, "E"),  # not rated
    ]


@pytest.mark.parametrize(
    "raw, scale, says",
    [("650", "", "without a scale"), ("650", "FICO", "unknown scale 'FICO'"), ("1200", "0-1000", "outside its scale")],
)
def test_a_raw_score_that_cannot_be_read_says_why(raw: str, scale: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        scaled(raw, scale)


def test_bad_rows_are_quarantined_with_their_reason_and_the_rest_stored(tmp_path: Path) -> None:
    hub = workspace(tmp_path)
    (tmp_path / "bureau" / "mixed.csv").write_text(
        REPORTS_HEADER + ",event_kind,event_date\n"
        "R1,C1,tianyancha,1,70,,,B,,,2026-03-01,,\n"
        "R2,C2,experian,2,,abc,0-1000,,,,2026-03-01,,\n"
        "R3,C3,tianyancha,3,120,,,,,,2026-03-01,,\n"
        "R4,C4,tianyancha,4,40,,,D,,,2026-03-01,被告,2026-02-01\n",
        encoding="utf-8",
    )
    stats = sync(hub)
    assert (stats.inserted, stats.quarantined) == (1, 3)
    with hub.store.connect() as conn:
        rows, _ = quarantined(conn, limit=10)
    reasons = sorted(r["reason"] for r in rows)
    assert "mixed.csv line 3: raw score 'abc' is not a number on the scale 0-1000" in reasons
    assert any("score=" in r and "less than or equal to 100" in r for r in reasons)
    assert any("legal_events.0.kind='被告'" in r for r in reasons)


def test_each_delivery_is_read_once_and_a_new_one_adds_its_reports(tmp_path: Path) -> None:
    hub = workspace(tmp_path)
    shutil.copy(FIXTURES / "portfolio-2026-03.csv", tmp_path / "bureau")
    assert sync(hub).inserted == 4
    assert sync(hub).read == 0  # the same file is not read again
    (tmp_path / "bureau" / "alerts-2026-04-02.csv").write_text(
        REPORTS_HEADER + "\nALERT-1,C2,creditsafe,DE001,31,,,D,5000,EUR,2026-04-02\n", encoding="utf-8"
    )
    again = sync(hub)
    assert (again.read, again.inserted) == (1, 1)
    assert set(reports(hub)) >= {"CS-2026-03-001", "ALERT-1"}


def test_a_json_delivery_carries_its_events_in_each_report(tmp_path: Path) -> None:
    hub = workspace(tmp_path)
    shutil.copy(FIXTURES / "manual-reports.json", tmp_path / "bureau")
    sync(hub)
    (report,) = reports(hub).values()
    assert report.external_id == "C7:qichacha:91440300MA5FXYZ12K:2026-03-15"  # no report id: its natural key
    assert (report.score, report.band, report.recommended_limit) == (35.0, "D", Decimal("80000.5"))
    assert [e["kind"] for e in report.legal_events] == ["consumption_restriction", "abnormal_operation"]
    assert report.legal_events[0]["court"] == "深圳市南山区人民法院"


def test_an_event_on_the_report_row_itself(tmp_path: Path) -> None:
    hub = workspace(tmp_path)
    (tmp_path / "bureau" / "typed.csv").write_text(
        REPORTS_HEADER + ",event_kind,event_date,event_court,event_amount,event_currency,event_case_number\n"
        'M1,C2,creditsafe,DE001,22,,,D,,,2026-03-10,insolvency,2026-03-08,Amtsgericht Köln,"45,000.00",eur,'
        "73 IN 112/26\n",
        encoding="utf-8",
    )
    sync(hub)
    (event,) = reports(hub)["M1"].legal_events
    assert (event["kind"], event["court"], event["amount"], event["currency"], event["case_number"]) == (
        "insolvency",
        "Amtsgericht Köln",
        "45000.00",
        "EUR",
        "73 IN 112/26",
    )


def test_an_event_for_a_report_the_file_lacks_is_a_warning(tmp_path: Path) -> None:
    hub = workspace(tmp_path)
    (tmp_path / "bureau" / "a.csv").write_text(REPORTS_HEADER + "\nR1,C1,x,1,70,,,,,,2026-03-01\n", encoding="utf-8")
    (tmp_path / "bureau" / "a.events.csv").write_text(
        "report_id,kind,date\nR1,lawsuit,2026-02-01\nR9,lawsuit,2026-02-02\n", encoding="utf-8"
    )
    stats = sync(hub)
    assert stats.warnings == ["a.events.csv line 3: an event for report 'R9', which a.csv does not have: not stored"]
    assert len(reports(hub)["R1"].legal_events) == 1


def test_a_file_that_cannot_be_read_is_reported_and_the_others_import(tmp_path: Path) -> None:
    hub = workspace(tmp_path)
    shutil.copy(FIXTURES / "portfolio-2026-03.csv", tmp_path / "bureau")
    (tmp_path / "bureau" / "broken.json").write_text('{"reports": [{"customer_id": "C1",', encoding="utf-8")
    (tmp_path / "bureau" / "other-layout.csv").write_text("kunde,auskunftei\nC1,x\n", encoding="utf-8")
    stats = sync(hub)
    assert stats.inserted == 4
    assert len(stats.errors) == 2
    assert any("broken.json: not JSON" in e for e in stats.errors)
    assert any(
        "other-layout.csv: missing column(s) bureau, company_id, customer_id, report_date" in e for e in stats.errors
    )


def test_a_later_lower_report_and_a_listing_raise_bureau_downgrade_and_legal_event(tmp_path: Path) -> None:
    hub = workspace(tmp_path, customers=True)
    (tmp_path / "bureau" / "history.csv").write_text(
        REPORTS_HEADER + "\n"
        "H1,C1,tianyancha,3065442118,80,,,A,,,2026-01-05\n"
        "H2,C2,creditsafe,DE001,74,,,A,40000,EUR,2026-01-05\n",
        encoding="utf-8",
    )
    sync(hub)
    shutil.copy(FIXTURES / "portfolio-2026-03.csv", tmp_path / "bureau")
    shutil.copy(FIXTURES / "portfolio-2026-03.events.csv", tmp_path / "bureau")
    hub.sync()
    hub.resolve_identities()
    hub.risk(dt.date(2026, 3, 20))
    flags = {(c, code): reason for c, code, reason in hub.exposures.flags()}
    c1 = next(cid for cid, code in flags if code == "LEGAL_EVENT")
    assert "dishonest-debtor listing on 2026-02-20" in flags[(c1, "LEGAL_EVENT")]
    assert "失信被执行人" in flags[(c1, "LEGAL_EVENT")]
    assert "tianyancha's report of 2026-03-01 lowers its score from 80 to 50" in flags[(c1, "BUREAU_DOWNGRADE")]
    shown = hub.exposures.customer(c1)
    assert {s["signal"] for s in shown.exposure["signals"]} >= {"bureau", "legal-events"}  # the score moved


def test_the_shipped_layout_reads_the_shipped_samples() -> None:
    header = (FIXTURES / "portfolio-2026-03.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == REPORTS_HEADER
    data = json.loads((FIXTURES / "manual-reports.json").read_text(encoding="utf-8"))
    assert isinstance(data["reports"], list)


def _assessed_with_a_downgrade_and_a_listing(tmp_path: Path) -> tuple[Hub, str]:
    hub = workspace(tmp_path, customers=True)
    (tmp_path / "bureau" / "history.csv").write_text(
        REPORTS_HEADER + "\nH1,C1,tianyancha,3065442118,80,,,A,,,2026-01-05\n", encoding="utf-8"
    )
    sync(hub)
    shutil.copy(FIXTURES / "portfolio-2026-03.csv", tmp_path / "bureau")
    shutil.copy(FIXTURES / "portfolio-2026-03.events.csv", tmp_path / "bureau")
    hub.sync()
    hub.resolve_identities()
    hub.risk(dt.date(2026, 3, 20))
    c1 = next(c for c, code, _ in hub.exposures.flags() if code == "LEGAL_EVENT")
    return hub, c1


def test_exposure_show_gives_each_bureaus_latest_view_beside_the_hubs_own(tmp_path: Path) -> None:
    hub, c1 = _assessed_with_a_downgrade_and_a_listing(tmp_path)
    (view,) = hub.exposures.customer(c1).bureaus
    assert (view["bureau"], view["score"], view["band"], view["previous_score"], view["previous_band"]) == (
        "tianyancha",
        50.0,
        "C",
        80.0,
        "A",
    )
    assert (view["recommended_limit"], view["recommended_limit_currency"]) == (Decimal("300000"), "CNY")
    assert view["events"][0]["court"] == "上海市浦东新区人民法院"
    text = run_hub("exposure", "show", c1, cwd=tmp_path, env={"COLUMNS": "200"}).stdout
    assert "bureaus (the hub's own score:" in text
    assert "tianyancha" in text and "50.0 (was 80.0 on 2026-01-05)" in text and "C (was A)" in text
    assert "dishonest_debtor on 2026-02-20: 失信被执行人" in text and "(2026)沪0115执1234号" in text
    shown = json.loads(run_hub("--json", "exposure", "show", c1, cwd=tmp_path).stdout)
    assert shown["bureaus"][0]["events"][0]["case_number"] == "(2026)沪0115执1234号"


def test_the_html_report_shows_the_bureau_view_beside_the_hubs(tmp_path: Path) -> None:
    hub, c1 = _assessed_with_a_downgrade_and_a_listing(tmp_path)
    figures = hub.report(tmp_path / "report.html", as_of=dt.date(2026, 3, 20))
    line = next(b for b in figures.bureaus if b.customer_id == c1)
    assert (line.bureau, line.score, line.previous_score, line.band, line.previous_band) == (
        "tianyancha",
        50.0,
        80.0,
        "C",
        "A",
    )
    assert line.hub_band is not None and line.events[0][0] == "dishonest_debtor"
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="bureaus"') :]
    section = section[: section.index("</section>")]
    assert f'data-customer="{c1}" data-bureau="tianyancha"' in section
    assert "was 80.0 on 2026-01-05" in section and "失信被执行人" in section and "上海市浦东新区人民法院" in section
