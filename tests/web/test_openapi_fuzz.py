"""schemathesis against the app's own OpenAPI description: no generated request gets a server error.

Every operation is called with an API token that carries every role (so the fuzzing reaches the
routes' work, not only the 403s), on a private copy of the sample book. Few examples per operation
keep the run to a minute or two; ``HUB_FUZZ_EXAMPLES`` raises it.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from hub.app import Hub
from hub.config import DatabaseConfig, HubConfig
from hub.web.app import create_app
from tests.web.conftest import bearer

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "12"))


@pytest.fixture
def fuzz_app(web_hub: Hub) -> FastAPI:
    app = create_app(web_hub)
    app.state.fuzz_headers = bearer(web_hub, "finance", "credit", "sales", "viewer", "admin", name="fuzz")
    return app


def _operations() -> list[tuple[str, str]]:
    """Every (path, method) of the OpenAPI description (read from an app on an unused in-memory hub)."""
    hub = Hub(HubConfig(database=DatabaseConfig(url="sqlite://")))
    try:
        spec = create_app(hub).openapi()
    finally:
        hub.close()
    return [(path, method.upper()) for path, item in spec["paths"].items() for method in item]


@pytest.mark.slow
@pytest.mark.parametrize(("path", "method"), _operations())
def test_no_generated_request_gets_a_server_error(path: str, method: str, fuzz_app: FastAPI) -> None:
    # (schemathesis' pytest plugin, from_fixture, does not run on this pytest: the operation's strategy
    # is driven by hypothesis here instead)
    operation = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)[path][method]
    token = dict(fuzz_app.state.fuzz_headers)

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def run(case: Any) -> None:
        headers = {**(case.headers or {}), **token}
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])

    run()
