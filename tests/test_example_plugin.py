"""The example third-party connector (``examples/hub-connector-example``): a webhook sink, and a real install.

The sink is tested against respx standing in for the webhook; the slow test installs the package
with pip into a folder of its own and checks that ``hub plugins`` lists it, found through its entry
point like any third-party plugin.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from pydantic import ValidationError

from hub.app import Hub
from hub.config import load_config
from hub.errors import SinkError
from hub.model import FlagChange
from hub.outbox import Outbox, enqueue
from hub.plugins import load_plugins
from hub.store import Store, schema, utcnow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = ROOT / "examples" / "hub-connector-example"
URL = "https://hooks.example.test/receivables"
TOKEN = "example-token-9f3b"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example package, imported from its source folder (the slow test installs it for real)."""
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    return importlib.import_module("hub_connector_example")


@pytest.fixture
def sink(example: ModuleType) -> Iterator[Any]:
    s = example.WebhookSink(URL, token=TOKEN, timeout=2.0)
    yield s
    s.close()


def change(customer: str, code: str = "OVER_LIMIT", version: int = 1) -> FlagChange:
    return FlagChange(
        event_id=f"{customer}:{code}:v{version}",
        customer_id=customer,
        code=code,
        action="raised",
        version=version,
        reason=f"{customer} owes more than its credit limit",
        at=dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC),
        links={"erp": customer},
    )


CHANGES = [change("C1"), change("C2"), change("C3", "OVERDUE_90")]


def summary(results: Any) -> list[tuple[str, bool, bool]]:
    return [(r.event_id, r.ok, r.permanent) for r in results]


# -- the sink ----------------------------------------------------------------------------------------


@respx.mock
def test_batch_is_posted_as_json_with_bearer_token_and_idempotency_key(sink: Any, example: ModuleType) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(200, json={"received": 3}))
    results = sink.deliver(CHANGES)
    assert summary(results) == [(c.event_id, True, False) for c in CHANGES]
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == example.idempotency_key(CHANGES)
    body = json.loads(request.content)
    assert [c["event_id"] for c in body["changes"]] == [c.event_id for c in CHANGES]
    assert body["changes"][0] == CHANGES[0].model_dump(mode="json")


@respx.mock
def test_a_retried_batch_carries_the_same_idempotency_key_in_any_order(sink: Any) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(204))
    sink.deliver(CHANGES)
    sink.deliver(list(reversed(CHANGES)))
    sink.deliver(CHANGES[:2])
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys[0] == keys[1] != keys[2]
    assert len(keys[0]) == 64


@respx.mock
def test_per_change_results_in_the_response_are_reported_per_change(sink: Any) -> None:
    respx.post(URL).mock(
        return_value=httpx.Response(
            207,
            json={
                "results": [
                    {"event_id": "C1:OVER_LIMIT:v1", "ok": True},
                    {"event_id": "C2:OVER_LIMIT:v1", "ok": False, "error": "unknown customer", "permanent": True},
                ]
            },
        )
    )
    results = sink.deliver(CHANGES)
    assert summary(results) == [
        ("C1:OVER_LIMIT:v1", True, False),
        ("C2:OVER_LIMIT:v1", False, True),
        ("C3:OVERDUE_90:v1", False, False),  # not acknowledged: retried
    ]
    assert results[1].error == "unknown customer"


@respx.mock
def test_server_error_raises_sink_error_so_the_whole_batch_is_retried(sink: Any) -> None:
    respx.post(URL).mock(return_value=httpx.Response(500, text="upstream exploded"))
    with pytest.raises(SinkError, match=r"HTTP 500 .*upstream exploded"):
        sink.deliver(CHANGES)


@respx.mock
def test_timeout_raises_sink_error(sink: Any) -> None:
    respx.post(URL).mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(SinkError, match=r"no answer within 2\.0s"):
        sink.deliver(CHANGES)


@respx.mock
def test_unreachable_server_raises_sink_error(sink: Any) -> None:
    respx.post(URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(SinkError, match="ConnectError: connection refused"):
        sink.deliver(CHANGES)


@respx.mock
def test_too_many_requests_is_retried_later_not_dead_lettered(sink: Any) -> None:
    respx.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "30"}))
    with pytest.raises(SinkError, match="HTTP 429"):
        sink.deliver(CHANGES)


@respx.mock
def test_bad_request_fails_every_change_permanently(sink: Any) -> None:
    respx.post(URL).mock(return_value=httpx.Response(400, json={"detail": "field 'code' not allowed"}))
    results = sink.deliver(CHANGES)
    assert summary(results) == [(c.event_id, False, True) for c in CHANGES]
    assert all("HTTP 400" in r.error and "field 'code' not allowed" in r.error for r in results)


@respx.mock
def test_rejected_token_dead_letters_the_batch_without_showing_the_token(sink: Any) -> None:
    respx.post(URL).mock(return_value=httpx.Response(401, text=""))
    results = sink.deliver(CHANGES)
    assert {(r.ok, r.permanent) for r in results} == {(False, True)}
    assert all(TOKEN not in (r.error or "") for r in results)


@respx.mock
def test_without_a_token_no_authorization_header_is_sent(example: ModuleType) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(200))
    sink = example.WebhookSink(URL)
    try:
        sink.deliver(CHANGES[:1])
    finally:
        sink.close()
    assert "Authorization" not in route.calls.last.request.headers


@respx.mock
def test_an_empty_batch_sends_nothing(sink: Any) -> None:
    route = respx.post(URL)
    assert sink.deliver([]) == []
    assert not route.called


# -- config and registration -----------------------------------------------------------------------------


def test_config_needs_an_http_url_and_refuses_unknown_keys(example: ModuleType) -> None:
    config = example.WebhookConfig.model_validate({"type": "example-webhook", "url": URL})
    assert (config.url, config.token, config.timeout, config.batch_size) == (URL, None, 10.0, 100)
    with pytest.raises(ValidationError, match="http:// or https://"):
        example.WebhookConfig.model_validate({"type": "example-webhook", "url": "ftp://example.test/x"})
    with pytest.raises(ValidationError, match="urll"):
        example.WebhookConfig.model_validate({"type": "example-webhook", "url": URL, "urll": URL})


def test_connector_type_registers_through_the_plugin_manager(example: ModuleType) -> None:
    host = load_plugins(allow=[], extra=[("example-webhook", example)])
    assert list(host.connector_types()) == ["example-webhook"]
    assert host.infos[0].hooks == ("hub_register_connectors",)


def test_hub_builds_the_sink_from_config_with_the_token_from_the_environment(
    example: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXAMPLE_WEBHOOK_TOKEN", TOKEN)
    (tmp_path / "hub.toml").write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
        f'[connectors.alerts]\ntype = "example-webhook"\nurl = "{URL}"\n'
        'token = { env = "EXAMPLE_WEBHOOK_TOKEN" }\nbatch_size = 2\n',
        encoding="utf-8",
    )
    hub = Hub(load_config(tmp_path / "hub.toml"), plugins=load_plugins(allow=[], extra=[("example-webhook", example)]))
    try:
        sink = hub.sinks()["alerts"]
        assert isinstance(sink, example.WebhookSink)
        assert sink.batch_size == 2
        assert sink.client.headers["Authorization"] == f"Bearer {TOKEN}"
    finally:
        hub.close()
    assert sink.client.is_closed


# -- through the outbox ------------------------------------------------------------------------------------


def _queue(store: Store, sink_name: str, changes: list[FlagChange]) -> None:
    with store.begin() as conn:
        enqueue(conn, changes, [sink_name], utcnow())


def _statuses(store: Store) -> dict[str, str]:
    o, dead = schema.outbox, schema.outbox_dead_letter
    with store.connect() as conn:
        found = dict(conn.execute(sa.select(o.c.event_id, o.c.status).order_by(o.c.id)).all())
        found.update({e: "dead" for e in conn.execute(sa.select(dead.c.event_id)).scalars()})
    return found


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    yield store
    store.dispose()


@respx.mock
def test_outbox_retries_a_server_error_and_dead_letters_a_refused_batch(sqlite_store: Store, sink: Any) -> None:
    _queue(sqlite_store, "alerts", CHANGES)
    outbox = Outbox(sqlite_store, max_attempts=5, backoff_seconds=0)
    route = respx.post(URL)

    route.mock(return_value=httpx.Response(503))
    assert outbox.push({"alerts": sink}).failed == 3
    assert set(_statuses(sqlite_store).values()) == {"failed"}

    route.mock(return_value=httpx.Response(200, json={"results": [{"event_id": "C1:OVER_LIMIT:v1", "ok": True}]}))
    outbox.push({"alerts": sink})
    assert _statuses(sqlite_store)["C1:OVER_LIMIT:v1"] == "delivered"

    route.mock(return_value=httpx.Response(422, json={"detail": "unknown flag code"}))
    outbox.push({"alerts": sink})
    assert _statuses(sqlite_store) == {
        "C1:OVER_LIMIT:v1": "delivered",
        "C2:OVER_LIMIT:v1": "dead",
        "C3:OVERDUE_90:v1": "dead",
    }


# -- a real installation ------------------------------------------------------------------------------


def _pip_install(source: Path, site: Path, *, isolated: bool) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--no-input"]
    if not isolated:
        command.append("--no-build-isolation")
    command += ["--target", str(site), str(source)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_example_package_installs_with_pip_and_is_listed_by_hub_plugins(tmp_path: Path) -> None:
    # Build from a copy: pip writes build/ and *.egg-info next to the sources it builds.
    source = tmp_path / "src"
    shutil.copytree(EXAMPLE_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp_path / "site"
    installed = _pip_install(source, site, isolated=False)
    if installed.returncode != 0 and "wheel" in installed.stdout + installed.stderr:
        # This setuptools cannot build wheels without the 'wheel' package: let pip fetch the
        # build requirements into an isolated environment instead.
        installed = _pip_install(source, site, isolated=True)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (site / "hub_connector_example" / "__init__.py").is_file()

    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    workdir = tmp_path / "work"
    workdir.mkdir()  # no hub.toml here: every installed plugin loads
    listed = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--json", "plugins"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    data = json.loads(listed.stdout)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["example-webhook"]["distribution"] == "hub-connector-example"
    assert plugins["example-webhook"]["module"] == "hub_connector_example"
    assert plugins["example-webhook"]["version"] == "0.1.0"
    assert plugins["example-webhook"]["hooks"] == ["hub_register_connectors"]
    assert "example-webhook" in data["connector_types"]
    assert {"csv", "bank-files", "json-file"} <= set(data["connector_types"])
