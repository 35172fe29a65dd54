"""The console's pages as each role sees them (TestClient): every page renders, writes need the right role
and the CSRF token, lists search, sort and page."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from hub.app import Hub

from .conftest import USERS, login

PAGES = ["/", "/receipts", "/receipts?tab=matched", "/receipts?tab=open", "/customers", "/collections", "/limits"]
ADMIN_PAGES = ["/connectors", "/audit"]


def test_a_page_without_a_login_sends_the_browser_to_the_login_page(client: TestClient) -> None:
    for path in [*PAGES, *ADMIN_PAGES]:
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login"), path


@pytest.mark.parametrize("user", sorted(USERS))
def test_every_page_renders_for_every_role_with_the_navigation_it_may_use(client: TestClient, user: str) -> None:
    login(client, user)
    for path in PAGES:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert '<nav class="main"' in answer.text
    audit = client.get("/audit")
    assert audit.status_code == (200 if "admin" in USERS[user] else 403)
    assert ('href="/audit"' in client.get("/").text) == ("admin" in USERS[user])
    connectors = client.get("/connectors")
    assert connectors.status_code == (403 if USERS[user] == ("sales",) else 200)


def test_a_customer_page_shows_exposure_ageing_chart_score_and_ledger(client: TestClient, web_hub: Hub) -> None:
    login(client, "vera")
    customer = web_hub.exposures.page(sort="-open_base", limit=1).items[0]["customer_id"]
    page = client.get(f"/customers/{customer}")
    assert page.status_code == 200, page.text[:800]
    for part in ('id="open-amount"', "<svg", "Ageing", "Score and its reasons", "Collection ledger", "Limit history"):
        assert part in page.text, part
    assert 'hx-post="/customers/' not in page.text  # a viewer logs nothing


def test_every_receipt_page_explains_its_evidence(client: TestClient, web_hub: Hub) -> None:
    login(client, "fiona")
    key = web_hub.matches.receipts(status="suggested", limit=1).items[0]["key"]
    page = client.get(f"/receipts/{key}")
    assert page.status_code == 200, page.text[:800]
    assert "Proposals and evidence" in page.text and "log-odds" in page.text
    assert "Match by hand" in page.text and 'name="invoice"' in page.text  # the customer's open invoices


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


@pytest.mark.parametrize("user", sorted(USERS))
def test_a_page_shows_only_the_actions_the_users_roles_may_take(client: TestClient, web_hub: Hub, user: str) -> None:
    login(client, user)
    roles = set(USERS[user])
    customer = web_hub.exposures.page(limit=1).items[0]["customer_id"]
    assert ('hx-post="/receipts/' in client.get("/receipts").text) == ("finance" in roles)
    can_log = bool(roles & {"credit", "sales", "finance"})
    assert ("/ledger" in client.get(f"/customers/{customer}").text) == can_log
    assert ('action="/limits/request"' in client.get("/limits").text) == ("credit" in roles)
