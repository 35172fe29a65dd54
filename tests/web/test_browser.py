"""The console as people use it, in Debian's Chromium driven by Playwright against the hub served on loopback.

- finance confirms a suggested match with one click and sees the invoice leave the customer's open
  invoices at once, then (after the risk run, as ``hub run`` does) its open amount fall and its
  OVER_LIMIT flag go;
- credit requests a limit above the four-eyes size; the requester cannot approve it, a second credit
  user does;
- every page in both languages: in Chinese no English text of the console's catalogue is left; a
  screenshot of each page in each language is saved under ``test-artifacts/screenshots/`` (or
  ``$HUB_TEST_ARTIFACTS/screenshots``).

Each test serves its own copy of the sample book (uvicorn in a thread on a free loopback port).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hub.app import Hub
from hub.config import load_config

from .conftest import PASSWORD, SAMPLE_DAY
from .test_console_i18n import Texts, console_msgids

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]


def artifacts() -> Path:
    base = Path(os.environ.get("HUB_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder = base / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    hub: Hub
    folder: Path


@pytest.fixture
def served(sample_book: Path, tmp_path: Path) -> Iterator[Served]:
    """The hub on a private copy of the sample book, served by uvicorn on loopback while the test runs;
    the risk run is played a week apart over three weeks first, so the dashboard has a history."""
    import uvicorn

    from hub.web.app import create_app

    folder = tmp_path / "book"
    shutil.copytree(sample_book, folder, ignore=shutil.ignore_patterns("*.lock"))
    hub = Hub(load_config(folder / "hub.toml"), lock_wait=0)
    for weeks in (3, 2, 1, 0):
        hub.risk(SAMPLE_DAY - dt.timedelta(weeks=weeks))
    server = uvicorn.Server(
        uvicorn.Config(create_app(hub), host="127.0.0.1", port=free_port(), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Served(f"http://127.0.0.1:{port}", hub, folder)
    server.should_exit = True
    thread.join(timeout=10)
    hub.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def sign_in(browser: Any, served: Served, user: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page.goto(f"{served.url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{served.url}/")
    return page


def set_limit_in_erp(served: Served, customer_id: str, limit: str) -> None:
    """The ERP's customer file gives the customer a new credit limit (synced as ``hub run`` would)."""
    path = served.folder / "data" / "customers.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["customer_id"] == customer_id:
            row["credit_limit"] = limit
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    served.hub.sync("erp")
    served.hub.risk(SAMPLE_DAY)


def open_amount(page: Any) -> Decimal:
    text = page.inner_text("#open-amount")
    return Decimal("".join(c for c in text if c.isdigit() or c == "."))


def test_finance_confirms_a_suggested_match_and_sees_the_customers_open_amount_and_flags_change(
    served: Served, browser: Any
) -> None:
    suggestion = served.hub.matches.receipts(status="suggested", limit=1).items[0]
    customer = suggestion["allocations"][0]["customer_id"]
    invoice = suggestion["allocations"][0]["invoice"]
    # its limit in the ERP is below what it owes, but above what it will owe once this payment is applied
    owed = served.hub.exposures.customer(customer).exposure["open_amount"]
    set_limit_in_erp(served, customer, str((owed - suggestion["amount"] / 2).quantize(Decimal("1"))))

    page = sign_in(browser, served, "fiona")
    page.goto(f"{served.url}/customers/{customer}")
    before = open_amount(page)
    assert "OVER_LIMIT" in page.inner_html("#flags")
    assert page.locator("#open-invoices", has_text=invoice).count() == 1

    page.goto(f"{served.url}/receipts?tab=suggested")
    row = page.locator(f"#receipt-{suggestion['id']}")
    row.get_by_role("button", name="Confirm").click()
    row.locator("text=Confirmed.").wait_for()  # the row itself, replaced in place by htmx
    assert "confirmed" in row.inner_text()
    assert page.url.endswith("/receipts?tab=suggested")  # no page load

    page.goto(f"{served.url}/customers/{customer}")
    assert page.locator("#open-invoices", has_text=invoice).count() == 0  # at once: the invoice is paid

    served.hub.risk(SAMPLE_DAY)  # the scheduled run ('hub run') reassesses the customer
    page.reload()
    assert open_amount(page) == before - suggestion["amount"]
    assert "OVER_LIMIT" not in page.inner_html("#flags")
    assert served.hub.audit.page(actor="fiona", limit=1).items[0]["action"].startswith("match.")


def test_credit_requests_a_big_limit_the_requester_cannot_approve_it_a_second_credit_user_does(
    served: Served, browser: Any
) -> None:
    customer = served.hub.exposures.page(sort="-open_base", limit=1).items[0]
    carl = sign_in(browser, served, "carl")
    carl.goto(f"{served.url}/limits")
    carl.fill("#customer", customer["customer_id"])
    carl.fill("#amount", "900000")
    carl.fill("#reason", "Framework contract signed for 2027")
    carl.get_by_role("button", name="Request", exact=True).click()
    carl.locator(".flash.ok", has_text="waits for a second credit user").wait_for()
    pending = served.hub.limits.requests(status="pending")[0][0]
    mine = carl.locator(f"#request-{pending.id}")
    assert mine.get_by_role("button", name="Approve").is_disabled()
    assert "You asked for it" in mine.inner_text()
    carl.close()

    cora = sign_in(browser, served, "cora")
    cora.goto(f"{served.url}/limits")
    cora.locator(f"#request-{pending.id}").get_by_role("button", name="Approve").click()
    cora.locator(".flash.ok", has_text="approved").wait_for()
    assert cora.locator(f"#request-{pending.id}").count() == 0
    decided = served.hub.limits.requests(customer_id=customer["customer_id"])[0][0]
    assert (decided.status, decided.requested_by, decided.decided_by) == ("approved", "carl", "cora")


PAGES = {
    "dashboard": "/",
    "receipts": "/receipts?tab=suggested",
    "receipts-matched": "/receipts?tab=matched",
    "customers": "/customers",
    "customer": "/customers/{customer}",
    "receipt": "/receipts/{receipt}",
    "collections": "/collections",
    "comms": "/customers/{customer}/comms",
    "disputes": "/disputes",
    "limits": "/limits",
    "connectors": "/connectors",
    "audit": "/audit",
}


def visible_texts(page: Any) -> list[str]:
    parser = Texts()
    parser.feed(page.content())
    return parser.texts


def test_every_page_in_both_languages_with_a_screenshot_and_no_english_left_in_chinese(
    served: Served, browser: Any
) -> None:
    folder = artifacts()
    customer = served.hub.exposures.page(sort="-open_base", limit=1).items[0]["customer_id"]
    receipt = served.hub.matches.receipts(status="suggested", limit=1).items[0]["key"]
    english = {m for m in console_msgids() if "%(" not in m}
    page = sign_in(browser, served, "ada")
    login_page = browser.new_page(viewport={"width": 1280, "height": 900})
    for locale in ("en", "zh_CN"):
        if locale == "zh_CN":
            page.get_by_role("button", name="简体中文").click()
            page.wait_for_load_state()
            assert page.locator("html").get_attribute("lang") == "zh-Hans-CN"
        for name, path in PAGES.items():
            page.goto(served.url + path.format(customer=customer, receipt=receipt))
            assert page.locator("h1").count() == 1, name
            page.screenshot(path=str(folder / f"{name}-{locale}.png"), full_page=True)
            if locale == "zh_CN":
                left = {t for t in visible_texts(page) if t in english and t != _zh(t)}
                assert left == set(), (name, left)
                nav = page.locator("nav.main").inner_text()
                assert "Receipts" not in nav and "收款" in nav
        login_page.context.add_cookies([{"name": "hub_locale", "value": locale, "url": served.url}])
        login_page.goto(f"{served.url}/login")
        login_page.screenshot(path=str(folder / f"login-{locale}.png"), full_page=True)
    for locale in ("en", "zh_CN"):
        assert all((folder / f"{name}-{locale}.png").stat().st_size > 5000 for name in PAGES)


def _zh(text: str) -> str:
    from hub import i18n

    return i18n.gettext("zh_CN", text)
