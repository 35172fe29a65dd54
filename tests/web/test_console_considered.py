"""A receipt left open on the console: its page says no proposal reached the suggestion threshold and offers
what the matchers weigh now (stored nowhere), in English and Chinese, and the hand match then lists the
open invoices of the best reading's customer. Also the API's ``explain?considered=true``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.app import Hub
from hub.config import load_config

from ..conftest import write_config
from ..test_advice_match import ACME_IBAN, CUSTOMERS, camt
from ..test_explain_considered import INVOICES
from .conftest import PASSWORD, bearer, login
from .test_console_i18n_reasons import chinese


@pytest.fixture
def web_hub(tmp_path: Path) -> Iterator[Hub]:
    """In place of the sample book (the ``app`` and ``client`` fixtures are on it): Acme with four open invoices
    of 238.00 and a payment of 238.00 from its account naming none, left open."""
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    payment = {"ref": "BANK-1", "amount": "238.00", "name": "ACME INDUSTRIES GMBH", "iban": ACME_IBAN, "text": "x"}
    (tmp_path / "statement.xml").write_text(camt([payment]), encoding="utf-8")
    write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", sink=None)
    with (tmp_path / "hub.toml").open("a", encoding="utf-8") as config:
        config.write("\n[web]\nsecure_cookies = false\n")  # the test client speaks plain HTTP
    hub = Hub(load_config(tmp_path / "hub.toml"), lock_wait=0)
    hub.init()
    hub.sync()
    hub.reconcile()
    for name, roles in {"fiona": ("finance",), "lin": ("finance", "credit"), "vera": ("viewer",)}.items():
        hub.users.add(name, PASSWORD, roles, actor="test-setup")
    yield hub
    hub.close()


def _key(hub: Hub) -> str:
    (row,) = hub.matches.receipts(status="open").items
    return str(row["key"])


def test_an_open_receipts_page_offers_what_the_matchers_weigh_now_and_that_customers_invoices(
    client: TestClient, web_hub: Hub
) -> None:
    login(client, "fiona")
    key = _key(web_hub)
    page = client.get(f"/receipts/{key}")
    assert page.status_code == 200, page.text[:800]
    assert "No proposal reached the suggestion threshold (30%)" in page.text
    assert '?considered=1">What the matchers weigh now</a>' in page.text
    weighed = client.get(f"/receipts/{key}?considered=1")
    assert weighed.status_code == 200, weighed.text[:800]
    assert "What the matchers weigh now" in weighed.text and "stored nowhere" in weighed.text
    assert "none of the 4 is named" in weighed.text and "log-odds" in weighed.text
    assert '?considered=1">What the matchers weigh now</a>' not in weighed.text  # no link to itself
    assert 'id="customer" name="customer" value="C-ACME"' in weighed.text  # the hand match's customer
    assert weighed.text.count('name="invoice"') == 5  # Acme's five open invoices to pick from
    assert web_hub.matches.rows(("auto", "suggested"))[1] == 0  # weighing stored nothing


def test_a_receipt_finance_unmatched_is_open_again_and_offers_the_readings_weighed_now(
    client: TestClient, web_hub: Hub
) -> None:
    login(client, "fiona")
    key = _key(web_hub)
    web_hub.matches.confirm(key, ["VR-2"], actor="fiona")
    web_hub.matches.unmatch(key, actor="fiona", note="paid VR-3 after all")
    page = client.get(f"/receipts/{key}")
    assert '?considered=1">What the matchers weigh now</a>' in page.text  # its history shown above it
    assert "What the matchers weigh now</h2>" in client.get(f"/receipts/{key}?considered=1").text
    readings = web_hub.matches.explain(key, considered=True)["considered"]
    assert [r["lines"][0]["invoice"] for r in readings][:2] == ["VR-1", "VR-3"]  # not the one finance undid


def test_a_viewer_is_not_offered_the_readings_weighed_now(client: TestClient, web_hub: Hub) -> None:
    login(client, "vera")
    key = _key(web_hub)
    assert "What the matchers weigh now" not in client.get(f"/receipts/{key}").text
    page = client.get(f"/receipts/{key}?considered=1")
    assert page.status_code == 200 and "What the matchers weigh now" not in page.text


def test_the_readings_weighed_now_read_in_chinese(client: TestClient, web_hub: Hub) -> None:
    chinese(client, login(client, "lin"))
    weighed = client.get(f"/receipts/{_key(web_hub)}?considered=1")
    assert weighed.status_code == 200, weighed.text[:800]
    assert "匹配器当前的权衡" in weighed.text
    assert "这4张发票均未被提及" in weighed.text
    assert "What the matchers weigh now" not in weighed.text


def test_the_api_gives_the_readings_weighed_now_when_asked(client: TestClient, web_hub: Hub) -> None:
    headers = bearer(web_hub, "finance")
    key = _key(web_hub)
    plain = client.get(f"/api/v1/receipts/{key}/explain", headers=headers)
    assert plain.status_code == 200, plain.text
    assert plain.json()["considered"] is None and plain.json()["suggest_threshold"] == 0.3
    asked = client.get(f"/api/v1/receipts/{key}/explain", params={"considered": "true"}, headers=headers)
    assert asked.status_code == 200, asked.text
    readings = asked.json()["considered"]
    assert [r["lines"][0]["invoice"] for r in readings] == ["VR-1", "VR-2", "VR-3"]
    assert all(0.2 < r["confidence"] < 0.3 for r in readings)
    # A run's memory and time per request: only for those who act on it.
    viewer = bearer(web_hub, "viewer")
    refused = client.get(f"/api/v1/receipts/{key}/explain", params={"considered": "true"}, headers=viewer)
    assert refused.status_code == 403, refused.text
    assert client.get(f"/api/v1/receipts/{key}/explain", headers=viewer).status_code == 200
