"""The web app's probes and figures: liveness, readiness, and /metrics for a signed-in caller."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hub.app import Hub
from tests.web.conftest import bearer


def test_liveness_and_readiness_answer_without_a_login(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok\n"
    ready = client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready\n")


def test_readiness_fails_with_the_reason_when_the_store_is_behind(client: TestClient, web_hub: Hub) -> None:
    from alembic import command

    command.downgrade(web_hub.store._alembic_config(), "0008")
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "hub init" in ready.text


def test_metrics_need_a_caller_and_give_the_books_figures(client: TestClient, web_hub: Hub) -> None:
    assert client.get("/metrics").status_code == 401
    answer = client.get("/metrics", headers=bearer(web_hub, "viewer"))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = answer.text.splitlines()
    assert any(line.startswith('hub_records{connector="erp",type="invoice"}') for line in lines)
    assert any(line.startswith("hub_match_rate ") for line in lines)
