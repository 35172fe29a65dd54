"""Cases after the ladder (``hub.cases`` through ``hub.cases`` the service): lifecycle, one running
case per customer and kind under concurrency, documents, costs, recoveries reconciled like receipts,
and the handover file read back in English and Chinese."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import threading
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.errors import CaseError, HubError
from hub.store import Store, schema

from .conftest import add_customer, add_invoice, make_hub

AS_OF = dt.date(2024, 3, 31)


@pytest.fixture
def hub(store: Store, db_url: str, tmp_path: Path) -> Hub:
    with store.begin() as conn:
        add_customer(conn, "A1", "C1")
        add_invoice(conn, "INV-1", "A1", dt.date(2024, 1, 31), "1000.00")
        add_invoice(conn, "INV-2", "A1", dt.date(2024, 2, 29), "500.00")
        add_customer(conn, "B1", "C2", name="Beta Ltd")
        add_invoice(conn, "INV-9", "B1", dt.date(2024, 2, 1), "700.00")
    h = make_hub(tmp_path, db_url, extra='\n[risk]\nas_of = "2024-03-31"\n' + _interest())
    yield h
    h.close()


def _interest() -> str:
    from .conftest import EU_RATES

    return EU_RATES


def test_a_case_moves_forward_through_its_statuses_and_keeps_its_history(hub: Hub) -> None:
    case = hub.cases.open("C1", kind="litigation", actor="ann", court="Amtsgericht Berlin", note="after the letter")
    assert (case["status"], case["currency"], case["claimed"]) == ("open", "EUR", Decimal("1500.00"))
    assert case["invoices"][0]["number"] == "INV-1" and case["invoices"][0]["days_late"] == 60
    assert case["next"] == ["filed", "settled", "closed", "written_off"]
    hub.cases.set_status(case["id"], "filed", actor="ann", case_number="12 C 345/24")
    with pytest.raises(CaseError, match="it can move to judgment, settled, closed, written_off, not open"):
        hub.cases.set_status(case["id"], "open", actor="ann")
    hub.cases.set_status(case["id"], "judgment", actor="bob", note="won")
    hub.cases.set_status(case["id"], "closed", actor="bob")
    shown = hub.cases.show(case["id"])
    assert shown["case_number"] == "12 C 345/24" and shown["closed_at"] is not None
    assert [(h["from"], h["to"], h["actor"]) for h in shown["history"]] == [
        (None, "open", "ann"),
        ("open", "filed", "ann"),
        ("filed", "judgment", "bob"),
        ("judgment", "closed", "bob"),
    ]
    assert shown["next"] == []
    with hub.store.connect() as conn:
        actions = list(
            conn.execute(sa.select(schema.audit_log.c.action).where(schema.audit_log.c.object_type == "case")).scalars()
        )
    assert actions == ["case.open", "case.status", "case.status", "case.status"]
    # closed: a new litigation case may be opened
    assert hub.cases.open("C1", kind="litigation", actor="ann")["id"] != case["id"]


def test_one_running_case_per_customer_and_kind(hub: Hub) -> None:
    first = hub.cases.open("C1", kind="agency", actor="ann", agency="Inkasso AG", agency_ref="IA-1")
    with pytest.raises(CaseError, match=f"already has a running agency case: {first['id']} \\(open\\)"):
        hub.cases.open("C1", kind="agency", actor="bob")
    assert hub.cases.open("C1", kind="litigation", actor="bob")["kind"] == "litigation"
    with pytest.raises(CaseError, match="an agency case has an agency"):
        hub.cases.open("C2", kind="agency", actor="bob", court="X")
    with pytest.raises(CaseError, match="kind must be one of"):
        hub.cases.open("C2", kind="lawsuit", actor="bob")
    with pytest.raises(CaseError, match="no customer 'C404'"):
        hub.cases.open("C404", kind="agency", actor="bob")
    with pytest.raises(CaseError, match="has no invoice INV-404"):
        hub.cases.open("C2", kind="agency", actor="bob", invoices=["INV-404"])
    with pytest.raises(CaseError, match="can move to settled, closed, written_off, not filed"):
        hub.cases.set_status(first["id"], "filed", actor="ann")
    assert [c["id"] for c in hub.cases.list(status="active", kind="agency")] == [first["id"]]


def test_two_people_opening_a_case_at_once_get_one_case(hub: Hub, db_url: str) -> None:
    """Eight threads, each with its own connection pool, open the same case at the same moment."""
    barrier = threading.Barrier(8)
    results: list[object] = []

    def attempt(n: int) -> None:
        store = Store(db_url)
        from hub.cases import open_case

        try:
            barrier.wait()
            results.append(open_case(store, "C1", kind="litigation", actor=f"user{n}"))
        except CaseError as exc:
            results.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    opened = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, CaseError)]
    assert len(opened) == 1 and len(refused) == 7, results
    assert all("already has a running litigation case" in str(e) for e in refused)
    assert len(hub.cases.list(customer_id="C1")) == 1


def test_costs_and_documents_with_their_sha256(hub: Hub, tmp_path: Path) -> None:
    case = hub.cases.open("C1", kind="litigation", actor="ann")
    hub.cases.add_cost(case["id"], Decimal("120.50"), kind="court_fee", actor="ann", incurred_on=AS_OF)
    with pytest.raises(CaseError, match="kind must be one of court_fee"):
        hub.cases.add_cost(case["id"], Decimal("1"), kind="coffee", actor="ann")
    with pytest.raises(CaseError, match="must be above zero"):
        hub.cases.add_cost(case["id"], Decimal("-1"), kind="other", actor="ann")
    claim = tmp_path / "claim.pdf"
    claim.write_bytes(b"%PDF-1.4 statement of claim")
    doc = hub.cases.add_document(case["id"], str(claim), actor="ann")
    assert doc["sha256"] == hashlib.sha256(claim.read_bytes()).hexdigest() and doc["size"] == claim.stat().st_size
    with pytest.raises(CaseError, match="already has this file"):
        hub.cases.add_document(case["id"], str(claim), actor="bob")
    with pytest.raises(CaseError, match="no file"):
        hub.cases.add_document(case["id"], str(tmp_path / "missing.pdf"), actor="bob")
    shown = hub.cases.show(case["id"])
    assert shown["costs_total"] == Decimal("120.50") and [d["name"] for d in shown["documents"]] == ["claim.pdf"]
    assert hub.cases.list()[0]["costs"] == Decimal("120.50")


def test_a_recovery_is_a_receipt_allocated_to_the_oldest_open_invoices_and_lowers_the_exposure(hub: Hub) -> None:
    case = hub.cases.open("C1", kind="agency", actor="ann", agency="Inkasso AG")
    rec = hub.cases.recovery(
        case["id"], Decimal("1200.00"), ref="IA-2024-7", actor="ann", booked_on=AS_OF, commission=Decimal("180.00")
    )
    assert rec.allocated == [("INV-1", Decimal("1000.00")), ("INV-2", Decimal("200.00"))]
    assert (rec.unapplied, rec.recovered) == (Decimal("0.00"), Decimal("1200.00"))
    with pytest.raises(CaseError, match=r"recovery IA-2024-7 of case \d+ is already recorded"):
        hub.cases.recovery(case["id"], Decimal("1200.00"), ref="IA-2024-7", actor="ann", booked_on=AS_OF)
    shown = hub.cases.show(case["id"])
    assert shown["recovered"] == Decimal("1200.00") and shown["open_now"] == Decimal("300.00")
    assert [(c["kind"], c["amount"]) for c in shown["costs"]] == [("agency_commission", Decimal("180.00"))]
    assert shown["recoveries"][0]["match_status"] == "matched"
    explained = hub.matches.explain(rec.receipt)
    assert explained is not None
    # a second recovery larger than what is left: the rest stays on the receipt as unapplied cash
    more = hub.cases.recovery(case["id"], Decimal("500.00"), ref="IA-2024-8", actor="ann", booked_on=AS_OF)
    assert more.allocated == [("INV-2", Decimal("300.00"))] and more.unapplied == Decimal("200.00")
    hub.risk(AS_OF)
    exposure = hub.exposures.customer("C1").exposure
    assert exposure["open_amount"] == Decimal("0.00")
    assert exposure["unapplied_cash"] == Decimal("200.00")


def test_a_recovery_pays_the_cases_customers_invoice_when_another_erp_has_the_same_number(
    hub: Hub, store: Store
) -> None:
    case = hub.cases.open("C1", kind="agency", actor="ann", agency="Inkasso AG")
    with store.begin() as conn:
        twin = conn.execute(sa.select(schema.invoice).where(schema.invoice.c.number == "INV-1")).one()._mapping
        values = {k: v for k, v in twin.items() if k != "id"}
        conn.execute(schema.invoice.insert().values({**values, "source": "erp2", "customer_external_id": "Z9"}))
    rec = hub.cases.recovery(case["id"], Decimal("1000.00"), ref="IA-2024-9", actor="ann", booked_on=AS_OF)
    assert rec.problem is None and rec.allocated == [("INV-1", Decimal("1000.00"))]
    a, i = schema.allocation, schema.invoice
    with store.connect() as conn:
        paid = conn.execute(
            sa.select(i.c.source, i.c.customer_external_id)
            .join(a, a.c.invoice_id == i.c.id)
            .where(a.c.status == "confirmed")
        ).all()
    assert [tuple(row) for row in paid] == [("erp", "A1")]


def test_the_handover_workbook_reads_back_in_english_and_chinese(hub: Hub, tmp_path: Path) -> None:
    case = hub.cases.open("C1", kind="agency", actor="ann", agency="Inkasso AG", agency_ref="IA-1")
    hub.collections.log(
        "C1", channel="phone", content="Promised to pay", actor="ann", at=dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC)
    )
    done = hub.cases.handover(case["id"], str(tmp_path / "en.xlsx"), language="en", as_of=AS_OF)
    book = openpyxl.load_workbook(done["path"])
    assert book.sheetnames == ["Invoices", "Ledger", "Promises", "Contacts", "Case summary"]
    sheet = book["Invoices"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Invoice number",
        "Issue date",
        "Due date",
        "Currency",
        "Amount",
        "Open",
        "Days late",
        "Interest",
        "Compensation",
    )
    # INV-1: 1000 x 12.5 % x 60 / 365 = 20.5479... -> 20.55, and 40 compensation
    assert rows[1][0] == "INV-1" and rows[1][6] == 60 and Decimal(str(rows[1][7])) == Decimal("20.55")
    assert rows[1][2].date() == dt.date(2024, 1, 31) and Decimal(str(rows[1][5])) == Decimal("1000")
    assert list(book["Ledger"].iter_rows(values_only=True))[1][4] == "Promised to pay"
    assert list(book["Contacts"].iter_rows(values_only=True))[1][2] == "Alpha GmbH"
    summary = dict(list(book["Case summary"].iter_rows(values_only=True))[1:])
    assert summary["Agency"] == "Inkasso AG" and summary["Kind"] == "collection agency"

    zh = openpyxl.load_workbook(
        hub.cases.handover(case["id"], str(tmp_path / "zh.xlsx"), language="zh_CN", as_of=AS_OF)["path"]
    )
    assert zh.sheetnames == ["发票", "催收记录", "付款承诺", "联系信息", "案件摘要"]
    assert next(zh["发票"].iter_rows(values_only=True))[:3] == ("发票号", "开票日期", "到期日")
    assert dict(list(zh["案件摘要"].iter_rows(values_only=True))[1:])["类型"] == "催收机构"

    archive = hub.cases.handover(case["id"], str(tmp_path / "zh.zip"), fmt="csv", language="zh_CN", as_of=AS_OF)
    with zipfile.ZipFile(archive["path"]) as z:
        assert sorted(z.namelist()) == ["contacts.csv", "invoices.csv", "ledger.csv", "promises.csv", "summary.csv"]
        text = z.read("invoices.csv").decode("utf-8-sig")
    header, first = list(csv.reader(io.StringIO(text)))[:2]
    assert header[0] == "发票号" and first[0] == "INV-1"
    with pytest.raises(HubError, match="language must be one of en, zh_CN"):
        hub.cases.handover(case["id"], str(tmp_path / "x.xlsx"), language="fr")


def test_two_recoveries_at_once_never_allocate_more_than_is_open(hub: Hub, db_url: str) -> None:
    from hub.cases import record_recovery

    case = hub.cases.open("C1", kind="agency", actor="ann", agency="Inkasso AG")
    barrier = threading.Barrier(2)
    results: list[object] = []

    def attempt(ref: str) -> None:
        store = Store(db_url)
        try:
            barrier.wait()
            results.append(record_recovery(store, case["id"], Decimal("800.00"), booked_on=AS_OF, ref=ref, actor=ref))
        finally:
            store.dispose()

    threads = [threading.Thread(target=attempt, args=(ref,)) for ref in ("R-1", "R-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    allocated = sum((a for r in results for _n, a in r.allocated), Decimal(0))  # type: ignore[attr-defined]
    unapplied = sum((r.unapplied for r in results), Decimal(0))  # type: ignore[attr-defined]
    assert (allocated, unapplied) == (Decimal("1500.00"), Decimal("100.00"))
    shown = hub.cases.show(case["id"])
    assert shown["open_now"] == Decimal("0.00") and shown["recovered"] == Decimal("1600.00")
