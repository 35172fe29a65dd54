"""Fixtures for the web console and REST API: a hub on the sample book (``hub demo``'s), users of every
role, a TestClient, and helpers to log in and call the API.

The sample book is built and run (sync, identities, reconcile, risk) once per test session into a
template folder; each test gets its own copy of the folder (SQLite file included), so tests never
see each other's writes and run in any order.

- ``web_hub``: a :class:`hub.app.Hub` on the copy (closed afterwards).
- ``app``: ``create_app(web_hub)``; ``client``: a ``starlette.testclient.TestClient`` on it.
- ``login(client, "fiona")``: logs in through the login form; returns the session's CSRF token.
- ``bearer(web_hub, "finance")``: a new API token with these roles, as request headers.
- ``USERS``: name -> roles; every user's password is ``PASSWORD``.
- ``WEBHOOK_SECRET``: the shared secret of ``[web.webhooks.bank]``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # starlette 0.50 suggests httpx2, which is not packaged here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from hub.app import Hub
from hub.config import load_config

PASSWORD = "correct horse battery"
WEBHOOK_SECRET = "test-webhook-secret-0123456789"
USERS: dict[str, tuple[str, ...]] = {
    "fiona": ("finance",),
    "carl": ("credit",),
    "cora": ("credit",),
    "sam": ("sales",),
    "vera": ("viewer",),
    "ada": ("admin",),
    "lin": ("finance", "credit"),
}
#: The day the sample book is dated from (fixed, so that tests see the same book every day).
SAMPLE_DAY = dt.date(2026, 12, 5)
WEB_SETTINGS = """
[web]
secure_cookies = false

[web.webhooks.bank]
secret = { file = "webhook-secret.txt" }
"""


def build_book(folder: Path, db_url: str | None = None) -> None:
    """The sample book in ``folder`` (its SQLite file, or ``db_url``) after a full run, with the users."""
    from hub.cli.demo import DEMO_CONFIG
    from hub.sample import RATES, build_sample

    build_sample(folder / "data", SAMPLE_DAY)
    rates = "{ " + ", ".join(f'{ccy} = "{rate}"' for ccy, rate in sorted(RATES.items())) + " }"
    config = DEMO_CONFIG.replace("{rates}", rates) + WEB_SETTINGS
    if db_url is not None:
        config = config.replace('url = "sqlite:///hub.db"', f'url = "{db_url}"')
    (folder / "hub.toml").write_text(config, encoding="utf-8")
    (folder / "webhook-secret.txt").write_text(WEBHOOK_SECRET, encoding="utf-8")
    hub = Hub(load_config(folder / "hub.toml"), lock_wait=0)
    try:
        hub.init()
        hub.sync()
        hub.resolve_identities()
        hub.reconcile()
        hub.risk(SAMPLE_DAY)
        for name, roles in USERS.items():
            hub.users.add(name, PASSWORD, roles, actor="test-setup", display_name=name.title())
    finally:
        hub.close()


@pytest.fixture(scope="session")
def sample_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample book after a full run, with the users: a template folder (not to be written)."""
    folder = tmp_path_factory.mktemp("web-sample")
    build_book(folder)
    return folder


@pytest.fixture
def web_hub(sample_book: Path, tmp_path: Path) -> Iterator[Hub]:
    """A hub on a private copy of the sample book."""
    folder = tmp_path / "book"
    shutil.copytree(sample_book, folder, ignore=shutil.ignore_patterns("*.lock"))
    hub = Hub(load_config(folder / "hub.toml"), lock_wait=0)
    yield hub
    hub.close()


@pytest.fixture
def app(web_hub: Hub) -> FastAPI:
    from hub.web.app import create_app

    return create_app(web_hub)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def login_csrf(client: TestClient) -> str:
    """Open the login page; the login form's CSRF token (also set as its cookie)."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the login form carries a csrf_token field"
    return found.group(1)


def login(client: TestClient, user: str, password: str = PASSWORD) -> str:
    """Log ``user`` in through the login form; the session's CSRF token (for X-CSRF-Token)."""
    token = login_csrf(client)
    answer = client.post("/login", data={"username": user, "password": password, "csrf_token": token, "next": "/"})
    assert answer.status_code == 303, answer.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    csrf = me.json()["csrf_token"]
    assert isinstance(csrf, str)
    return csrf


def bearer(hub: Hub, *roles: str, name: str | None = None) -> dict[str, str]:
    """Headers with a new API token carrying ``roles``."""
    token, _record = hub.tokens.create(name or f"test-{'-'.join(roles)}", roles, actor="test-setup")
    return {"Authorization": f"Bearer {token}"}


def first(items: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    """The first item whose fields equal ``match``."""
    for item in items:
        if all(item.get(k) == v for k, v in match.items()):
            return item
    raise AssertionError(f"no item with {match} among {len(items)}")
