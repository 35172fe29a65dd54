"""Security of the web console and the REST API, tried as an attacker would."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import Depends
from starlette.testclient import TestClient

from hub.accounts import sign
from hub.app import Hub
from hub.config import WebConfig
from hub.web.app import create_app
from hub.web.auth import WebUser, current_user
from tests.web.conftest import PASSWORD, WEBHOOK_SECRET, bearer, login, login_csrf


def _suggested(client: TestClient, headers: dict[str, str] | None = None) -> str:
    found = client.get("/api/v1/receipts", params={"status": "suggested"}, headers=headers or {}).json()["items"]
    assert found, "the sample book has a suggested match"
    return str(found[0]["ref"])


def _table(hub: Hub, name: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(hub.store.url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {name}"))]
    finally:
        engine.dispose()


# -- not signed in ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/receipts"),
        ("GET", "/api/v1/customers"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/receipts/X/confirm"),
        ("POST", "/api/v1/limits/requests"),
        ("POST", "/api/v1/outbox/replay"),
    ],
)
def test_unauthenticated_api_requests_get_401_json(client: TestClient, method: str, path: str) -> None:
    answer = client.request(method, path, json={})
    assert answer.status_code == 401
    assert answer.json()["error"] == "not_authenticated"
    assert answer.json()["message"]
    assert answer.headers["www-authenticate"] == "Bearer"


def test_an_unauthenticated_page_request_is_sent_to_the_login_page(web_hub: Hub) -> None:
    app = create_app(web_hub)

    @app.get("/private-page")
    def private(user: WebUser = Depends(current_user)) -> dict[str, str]:  # noqa: B008
        return {"name": user.name}

    with TestClient(app, follow_redirects=False) as client:
        answer = client.get("/private-page")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/private-page"


def test_the_401_message_follows_the_browser_language(client: TestClient) -> None:
    english = client.get("/api/v1/receipts", headers={"Accept-Language": "en"}).json()["message"]
    chinese = client.get("/api/v1/receipts", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()["message"]
    assert english == "log in first"
    assert chinese != english and chinese


def test_a_bad_or_unknown_bearer_token_is_refused(client: TestClient) -> None:
    for header in ("Bearer hub_not-a-real-token", "Bearer nonsense", "Basic dXNlcjpwYXNz"):
        answer = client.get("/api/v1/me", headers={"Authorization": header})
        assert answer.status_code == 401, header


# -- roles ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "method", "path", "body"),
    [
        (("viewer",), "POST", "/api/v1/receipts/{ref}/confirm", {}),
        (("credit",), "POST", "/api/v1/receipts/{ref}/reject", {}),
        (("sales",), "POST", "/api/v1/receipts/{ref}/unmatch", {}),
        (("finance",), "POST", "/api/v1/limits/requests", {"customer_id": "C001", "amount": "1", "reason": "x"}),
        (("sales",), "POST", "/api/v1/limits/proposals/1/approve", {}),
        (("viewer",), "POST", "/api/v1/customers/C001/ledger", {"channel": "phone", "content": "hello"}),
        (("finance",), "POST", "/api/v1/outbox/replay", {}),
        (("credit",), "GET", "/api/v1/audit", None),
        (("finance", "credit", "sales", "viewer"), "GET", "/api/v1/outbox", None),
    ],
)
def test_a_role_that_may_not_gets_403(
    client: TestClient, web_hub: Hub, roles: tuple[str, ...], method: str, path: str, body: Any
) -> None:
    headers = bearer(web_hub, *roles)
    ref = _suggested(client, headers)
    answer = client.request(method, path.format(ref=ref), json=body, headers=headers)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "forbidden"


def test_a_signed_in_user_without_the_role_gets_403_and_nothing_changes(client: TestClient) -> None:
    csrf = login(client, "vera")
    ref = _suggested(client)
    answer = client.post(f"/api/v1/receipts/{ref}/confirm", json={}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 403
    assert _suggested(client) == ref


# -- CSRF ------------------------------------------------------------------------------------------------


def test_a_form_post_without_the_csrf_token_fails(client: TestClient) -> None:
    csrf = login(client, "fiona")
    ref = _suggested(client)
    without = client.post(f"/api/v1/receipts/{ref}/confirm", json={})
    assert without.status_code == 403
    assert without.json()["error"] == "csrf"
    wrong = client.post(f"/api/v1/receipts/{ref}/confirm", json={}, headers={"X-CSRF-Token": csrf[::-1]})
    assert wrong.status_code == 403
    form = client.post("/logout", data={"csrf_token": "forged"})
    assert form.status_code == 403
    done = client.post(f"/api/v1/receipts/{ref}/confirm", json={}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text


def test_logout_with_the_form_token_ends_the_session(client: TestClient) -> None:
    csrf = login(client, "fiona")
    answer = client.post("/logout", data={"csrf_token": csrf})
    assert answer.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_the_login_form_needs_its_own_csrf_token(client: TestClient) -> None:
    login_csrf(client)
    answer = client.post("/login", data={"username": "fiona", "password": PASSWORD, "csrf_token": "forged"})
    assert answer.status_code == 403
    assert "hub_session" not in answer.cookies


def test_api_tokens_need_no_csrf_token(client: TestClient, web_hub: Hub) -> None:
    headers = bearer(web_hub, "finance")
    ref = _suggested(client, headers)
    assert client.post(f"/api/v1/receipts/{ref}/confirm", json={}, headers=headers).status_code == 200


# -- login, sessions, cookies ---------------------------------------------------------------------------


def test_login_is_throttled_after_five_failures_even_with_the_right_password(client: TestClient) -> None:
    for _ in range(5):
        token = login_csrf(client)
        wrong = client.post("/login", data={"username": "carl", "password": "wrong password!", "csrf_token": token})
        assert wrong.status_code == 401
    token = login_csrf(client)
    right = client.post("/login", data={"username": "carl", "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429
    assert "try again in" in right.text
    assert "hub_session" not in right.cookies


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_when_configured(web_hub: Hub) -> None:
    app = create_app(web_hub, settings=WebConfig(secure_cookies=True))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        token = login_csrf(client)
        answer = client.post("/login", data={"username": "fiona", "password": PASSWORD, "csrf_token": token})
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("hub_session="))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags


def test_the_session_id_is_stored_only_as_its_hash(client: TestClient, web_hub: Hub) -> None:
    login(client, "fiona")
    session_id = client.cookies["hub_session"]
    stored = _table(web_hub, "web_session")
    assert [row["id_hash"] for row in stored] == [hashlib.sha256(session_id.encode()).hexdigest()]


def test_login_redirects_only_to_this_site(client: TestClient) -> None:
    for target, expected in (("//evil.example/x", "/"), ("https://evil.example/", "/"), ("/customers", "/customers")):
        client.cookies.clear()
        token = login_csrf(client)
        answer = client.post(
            "/login", data={"username": "fiona", "password": PASSWORD, "csrf_token": token, "next": target}
        )
        assert answer.headers["location"] == expected


def test_a_disabled_user_is_signed_out_and_cannot_log_in(client: TestClient, web_hub: Hub) -> None:
    login(client, "fiona")
    web_hub.users.update("fiona", actor="ada", disabled=True)
    assert client.get("/api/v1/me").status_code == 401
    token = login_csrf(client)
    answer = client.post("/login", data={"username": "fiona", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 401


def test_passwords_are_stored_as_argon2id_hashes(web_hub: Hub) -> None:
    rows = _table(web_hub, "web_user")
    assert rows
    for row in rows:
        assert row["password_hash"].startswith("$argon2id$")
        assert PASSWORD not in row["password_hash"]


# -- tokens ---------------------------------------------------------------------------------------------


def test_tokens_are_stored_hashed_and_shown_once(web_hub: Hub) -> None:
    token, record = web_hub.tokens.create("erp-sync", ["viewer"], actor="ada")
    assert token.startswith("hub_") and len(token) > 40
    rows = _table(web_hub, "api_token")
    assert [row["token_hash"] for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert not any(token in json.dumps(row, default=str) for row in rows)
    assert "token" not in record and record["prefix"] == token[:10]


def test_a_revoked_token_is_refused(client: TestClient, web_hub: Hub) -> None:
    headers = bearer(web_hub, "viewer", name="reporting")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    web_hub.tokens.revoke("reporting", actor="ada")
    answer = client.get("/api/v1/me", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "not_authenticated"


def test_a_token_records_when_it_was_last_used(client: TestClient, web_hub: Hub) -> None:
    headers = bearer(web_hub, "viewer", name="dashboard")
    assert web_hub.tokens.list()[0]["last_used_at"] is None
    client.get("/api/v1/me", headers=headers)
    assert web_hub.tokens.list()[0]["last_used_at"] is not None


# -- four eyes -----------------------------------------------------------------------------------------


def test_a_user_cannot_approve_their_own_limit_request(client: TestClient) -> None:
    csrf = login(client, "carl")
    made = client.post(
        "/api/v1/limits/requests",
        json={"customer_id": "C001", "amount": "900000", "reason": "new framework contract"},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending" and made.json()["four_eyes"] is True
    rid = made.json()["id"]
    own = client.post(f"/api/v1/limits/requests/{rid}/approve", json={}, headers={"X-CSRF-Token": csrf})
    assert own.status_code == 403
    assert own.json()["error"] == "four_eyes"
    assert "second credit user" in own.json()["message"]
    client.cookies.clear()
    other = login(client, "cora")
    done = client.post(f"/api/v1/limits/requests/{rid}/approve", json={"note": "ok"}, headers={"X-CSRF-Token": other})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "approved" and done.json()["decided_by"] == "cora"


# -- webhooks -------------------------------------------------------------------------------------------


def _hook(
    client: TestClient, body: bytes, *, secret: str = WEBHOOK_SECRET, ts: int | None = None, **headers: str
) -> Any:
    stamp = str(int(time.time()) if ts is None else ts)
    signature = sign(secret, stamp, body)
    return client.post(
        "/api/v1/webhooks/bank",
        content=body,
        headers={"X-Hub-Timestamp": stamp, "X-Hub-Signature": f"sha256={signature}", **headers},
    )


def test_a_signed_webhook_is_recorded_and_shows_on_the_connector(client: TestClient, web_hub: Hub) -> None:
    answer = _hook(client, b'{"type": "statement.available"}')
    assert answer.status_code == 202, answer.text
    status = client.get("/api/v1/connectors", headers=bearer(web_hub, "viewer")).json()
    bank = next(c for c in status if c["name"] == "bank")
    assert bank["webhook_notices"] == 1
    web_hub.sync("bank")
    status = client.get("/api/v1/connectors", headers=bearer(web_hub, "viewer", name="again")).json()
    assert next(c for c in status if c["name"] == "bank")["webhook_notices"] == 0


def test_a_tampered_webhook_signature_fails(client: TestClient) -> None:
    stamp = str(int(time.time()))
    signature = sign(WEBHOOK_SECRET, stamp, b'{"type": "a"}')
    answer = client.post(
        "/api/v1/webhooks/bank",
        content=b'{"type": "b"}',
        headers={"X-Hub-Timestamp": stamp, "X-Hub-Signature": signature},
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "bad_signature"
    assert _hook(client, b"{}", secret="another secret").status_code == 401


def test_a_replayed_webhook_fails(client: TestClient) -> None:
    body = b'{"type": "customer.updated", "id": "42"}'
    stamp = int(time.time())
    assert _hook(client, body, ts=stamp).status_code == 202
    again = _hook(client, body, ts=stamp)
    assert again.status_code == 409
    assert again.json()["error"] == "replayed"


def test_an_old_webhook_fails(client: TestClient) -> None:
    answer = _hook(client, b"{}", ts=int(time.time()) - 301)
    assert answer.status_code == 401
    assert answer.json()["error"] == "stale"


def test_a_webhook_for_a_connector_without_a_secret_is_not_found(client: TestClient) -> None:
    stamp = str(int(time.time()))
    answer = client.post(
        "/api/v1/webhooks/erp",
        content=b"{}",
        headers={"X-Hub-Timestamp": stamp, "X-Hub-Signature": sign(WEBHOOK_SECRET, stamp, b"{}")},
    )
    assert answer.status_code == 404


def test_an_error_while_the_store_is_not_ready_is_a_503_not_a_crash(web_hub: Hub, tmp_path: Any) -> None:
    from hub.config import load_config

    config = load_config(web_hub.config.base_dir / "hub.toml")
    config.database.url = f"sqlite:///{tmp_path / 'empty.db'}"
    empty = Hub(config)
    try:
        with TestClient(create_app(empty)) as client:
            client.cookies.set("hub_session", "whatever")
            answer = client.get("/api/v1/receipts", headers={"Accept-Language": "zh-CN"})
    finally:
        empty.close()
    assert answer.status_code == 503
    assert answer.json()["error"] == "store_unavailable"


def test_an_htmx_request_without_a_session_is_told_to_go_to_the_login_page(client: TestClient) -> None:
    answer = client.get(
        "/api/v1/receipts", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/receipts"}
    )
    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == "/login?next=/receipts"
