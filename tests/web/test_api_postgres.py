"""The key flows of the REST API on PostgreSQL: login and a confirmed match, four eyes, webhook replay."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.accounts import sign
from hub.app import Hub
from hub.config import load_config
from hub.web.app import create_app
from tests.conftest import PG_ADMIN_URL
from tests.web.conftest import WEBHOOK_SECRET, build_book, login

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_client(pg_admin: sa.Engine, tmp_path: Path) -> Iterator[TestClient]:
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        build_book(tmp_path, url)
        hub = Hub(load_config(tmp_path / "hub.toml"), lock_wait=0)
        with TestClient(create_app(hub), follow_redirects=False) as client:
            yield client
        hub.close()
    finally:
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_key_flows_on_postgresql(pg_client: TestClient) -> None:
    client = pg_client
    csrf = login(client, "fiona")
    receipt = client.get("/api/v1/receipts", params={"status": "suggested"}).json()["items"][0]
    assert client.post(f"/api/v1/receipts/{receipt['ref']}/confirm", json={}).status_code == 403  # no CSRF token
    done = client.post(f"/api/v1/receipts/{receipt['ref']}/confirm", json={}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text

    client.cookies.clear()
    carl = login(client, "carl")
    customer = next(
        c for c in client.get("/api/v1/customers", params={"limit": 500}).json()["items"] if c["credit_limit"]
    )
    body = {"customer_id": customer["customer_id"], "amount": str(Decimal(customer["credit_limit"]) * 3), "reason": "x"}
    made = client.post("/api/v1/limits/requests", json=body, headers={"X-CSRF-Token": carl}).json()
    assert made["status"] == "pending"
    own = client.post(f"/api/v1/limits/requests/{made['id']}/approve", json={}, headers={"X-CSRF-Token": carl})
    assert own.status_code == 403
    client.cookies.clear()
    cora = login(client, "cora")
    approved = client.post(f"/api/v1/limits/requests/{made['id']}/approve", json={}, headers={"X-CSRF-Token": cora})
    assert approved.json()["status"] == "approved"

    stamp = str(int(time.time()))
    headers = {"X-Hub-Timestamp": stamp, "X-Hub-Signature": sign(WEBHOOK_SECRET, stamp, b"{}")}
    assert client.post("/api/v1/webhooks/bank", content=b"{}", headers=headers).status_code == 202
    assert client.post("/api/v1/webhooks/bank", content=b"{}", headers=headers).status_code == 409
