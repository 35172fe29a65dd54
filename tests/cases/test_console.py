"""The console's Cases pages and the interest table of a customer's page, in English and Chinese."""

from __future__ import annotations

import io
import re
import shutil
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from hub.app import Hub
from hub.config import load_config

from ..web.conftest import login, sample_book  # noqa: F401  (the session's sample book, built once)
from ..web.test_console_i18n import console_msgids, english_left

INTEREST = '\n[interest]\nrule = "fixed"\nfixed_rate = "9.5"\n'


@pytest.fixture
def hub(sample_book: Path, tmp_path: Path) -> Iterator[Hub]:  # noqa: F811
    folder = tmp_path / "book"
    shutil.copytree(sample_book, folder, ignore=shutil.ignore_patterns("*.lock"))
    with (folder / "hub.toml").open("a", encoding="utf-8") as f:
        f.write(INTEREST)
    h = Hub(load_config(folder / "hub.toml"), lock_wait=0)
    yield h
    h.close()


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    from hub.web.app import create_app

    with TestClient(create_app(hub), follow_redirects=False) as c:
        yield c


def _overdue_customer(hub: Hub) -> str:
    for row in hub.exposures.page(sort="-open_base", limit=50).items:
        if hub.interest.lines(row["customer_id"]):
            return str(row["customer_id"])
    raise AssertionError("the sample book has an overdue customer")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_cases_pages_and_the_interest_table_render_and_act(hub: Hub, client: TestClient, locale: str) -> None:
    customer = _overdue_customer(hub)
    case = hub.cases.open(customer, kind="agency", actor="ann", agency="Inkasso AG", agency_ref="IA-9")
    csrf = login(client, "lin")
    assert client.post("/language", data={"csrf_token": csrf, "locale": locale, "next": "/"}).status_code == 303
    ids = console_msgids()
    lang = "zh-Hans-CN" if locale == "zh_CN" else "en"
    for path in ["/cases", "/cases?status=active&kind=agency", f"/cases/{case['id']}", f"/customers/{customer}"]:
        page = client.get(path)
        assert page.status_code == 200, path
        assert f'<html lang="{lang}">' in page.text
        if locale == "zh_CN":
            assert english_left(page.text, ids) == set(), path
    listing = client.get("/cases").text
    assert f'href="/cases/{case["id"]}"' in listing and "Inkasso AG" in listing
    assert ("案件" if locale == "zh_CN" else "Cases") in listing
    assert 'hx-get="/customers/' in client.get(f"/customers/{customer}").text

    fragment = client.get(f"/customers/{customer}/interest")
    assert fragment.status_code == 200 and 'id="interest-lines"' in fragment.text
    assert ("逾期利息" if locale == "zh_CN" else "Late-payment interest") in fragment.text
    if locale == "zh_CN":
        assert english_left(fragment.text, ids) == set()

    moved = client.post(f"/cases/{case['id']}/status", data={"csrf_token": csrf, "status": "settled", "note": "paid"})
    assert moved.status_code == 303
    cost = client.post(
        f"/cases/{case['id']}/cost", data={"csrf_token": csrf, "kind": "agency_commission", "amount": "75.00"}
    )
    assert cost.status_code == 303
    detail = client.get(f"/cases/{case['id']}").text
    assert 'id="case-costs"' in detail and re.search(r"75[.,]00", detail)
    assert hub.cases.show(case["id"])["status"] == "settled"
    refused = client.post(f"/cases/{case['id']}/status", data={"csrf_token": csrf, "status": "filed"})
    assert refused.status_code == 409 and 'class="flash error"' in refused.text
    assert client.get("/cases/99999").status_code == 404


def test_a_case_is_opened_from_the_cases_page_and_its_handover_file_downloads(hub: Hub, client: TestClient) -> None:
    customer = _overdue_customer(hub)
    csrf = login(client, "carl")
    form = {"csrf_token": csrf, "customer": customer, "kind": "agency", "where": "Inkasso AG", "ref": "IA-5"}
    opened = client.post("/cases/open", data=form)
    assert opened.status_code == 303 and opened.headers["location"].startswith("/cases/")
    case_id = int(opened.headers["location"].rsplit("/", 1)[1])
    case = hub.cases.show(case_id)
    assert (case["customer_id"], case["agency"], case["agency_ref"], case["opened_by"]) == (
        customer,
        "Inkasso AG",
        "IA-5",
        "carl",
    )
    again = client.post("/cases/open", data=form)
    assert again.status_code == 409 and "already has a running agency case" in again.text
    assert client.post("/language", data={"csrf_token": csrf, "locale": "zh_CN", "next": "/"}).status_code == 303
    answer = client.get(f"/cases/{case_id}/handover")
    assert answer.status_code == 200 and "attachment" in answer.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames[0] == "发票"
    zipped = client.get(f"/cases/{case_id}/handover?fmt=csv&lang=en")
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as z:
        assert z.read("invoices.csv").decode("utf-8-sig").startswith("Invoice number,")


def test_a_viewer_reads_cases_but_cannot_change_them(hub: Hub, client: TestClient) -> None:
    customer = _overdue_customer(hub)
    case = hub.cases.open(customer, kind="litigation", actor="ann", court="District Court")
    csrf = login(client, "vera")
    page = client.get(f"/cases/{case['id']}")
    assert page.status_code == 200 and 'id="status-form"' not in page.text
    answer = client.post(f"/cases/{case['id']}/status", data={"csrf_token": csrf, "status": "filed"})
    assert answer.status_code == 403
    assert 'id="open-case"' not in client.get("/cases").text
    assert (
        client.post("/cases/open", data={"csrf_token": csrf, "customer": customer, "kind": "agency"}).status_code == 403
    )
    assert hub.cases.show(case["id"])["status"] == "open"
