"""A sink failure keeps its cause: the SinkError a push records is chained (``__cause__``) to the HTTP
error that made the batch fail, so a traceback shows what the server said, and the outbox finds the
``Retry-After`` of a throttling server on that chain; the messages along the chain stay free of the
credentials the requests carried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hub_connectors import bottlecrm, dynamics, hubspot, odoo, salesforce, tryton

from hub import Connector, HttpError, OutboxEvent, SinkError, retry_after

from .events import flag

TOKEN = "pat-na1-0123456789-secret"


def down(request: httpx.Request) -> httpx.Response:
    """Every call fails with a 503 whose body echoes the request's Authorization header (some proxies do)."""
    return httpx.Response(503, text=f"upstream unavailable for {request.headers.get('Authorization', 'anonymous')}")


def throttled(request: httpx.Request) -> httpx.Response:
    """Every call is throttled for ten minutes (a JSON body no vendor would mistake for its daily limit)."""
    return httpx.Response(429, headers={"Retry-After": "600"}, json={"message": "Too many requests"})


def transport(answer: Callable[[httpx.Request], httpx.Response] = down) -> httpx.MockTransport:
    return httpx.MockTransport(answer)


def no_wait(seconds: float) -> None:
    return None


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes, outermost first."""
    found = [exc]
    while found[-1].__cause__ is not None:
        found.append(found[-1].__cause__)
    return found


def linked(links: dict[str, str]) -> OutboxEvent:
    return flag("C1", "CREDIT_HOLD", "raised").model_copy(update={"links": links})


Answer = Callable[[httpx.Request], httpx.Response]

CONNECTORS: dict[str, tuple[Callable[[Answer], Connector], OutboxEvent]] = {
    "salesforce": (
        lambda answer: salesforce.create(
            "sfdc",
            salesforce.SalesforceConfig(
                type="salesforce", login_url="https://acme.my.salesforce.com", client_id="id", client_secret=TOKEN
            ),
            sleep=no_wait,
            transport=transport(answer),
        ),
        linked({}),
    ),
    "hubspot": (
        lambda answer: hubspot.create(
            "hubspot", hubspot.HubSpotConfig(type="hubspot", token=TOKEN), sleep=no_wait, transport=transport(answer)
        ),
        linked({}),
    ),
    "dynamics": (
        lambda answer: dynamics.create(
            "d365",
            dynamics.DynamicsConfig(
                type="dynamics",
                url="https://contoso.crm4.dynamics.com",
                tenant_id="t",
                client_id="id",
                client_secret=TOKEN,
            ),
            sleep=no_wait,
            transport=transport(answer),
        ),
        linked({}),
    ),
    "tryton": (
        lambda answer: tryton.build(
            "erp",
            tryton.TrytonConfig(
                type="tryton", url="https://erp.example.test/", database="db", username="hub", password=TOKEN
            ),
            sleep=no_wait,
            transport=transport(answer),
        ),
        linked({"erp": "7"}),
    ),
    "odoo": (
        lambda answer: odoo.build(
            "odoo",
            odoo.OdooConfig(type="odoo", url="https://odoo.example.test", database="db", username="hub", api_key=TOKEN),
            sleep=no_wait,
            transport=transport(answer),
        ),
        linked({"odoo": "7"}),
    ),
    "bottlecrm": (
        lambda answer: bottlecrm.build(
            "crm",
            bottlecrm.BottleCrmConfig(type="bottlecrm", url="https://crm.example.test", token=TOKEN),
            sleep=no_wait,
            transport=transport(answer),
        ),
        linked({"crm": "acc-1"}),
    ),
}


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_a_sink_failure_is_caused_by_the_http_error(name: str) -> None:
    factory, event = CONNECTORS[name]
    connector = factory(down)
    assert connector.sink is not None
    try:
        with pytest.raises(SinkError) as caught:
            connector.sink.deliver([event])
    finally:
        connector.close()
    causes = chain(caught.value)
    http = [c for c in causes if isinstance(c, HttpError)]
    assert http, f"no HttpError among the causes: {[type(c).__name__ for c in causes]}"
    assert http[0].status == 503
    assert causes[-1] is http[0]  # the HTTP error is where the chain starts
    assert caught.value.retryable


def test_the_bottlecrm_sink_failure_has_the_http_error_as_its_direct_cause() -> None:
    factory, event = CONNECTORS["bottlecrm"]
    connector = factory(down)
    assert connector.sink is not None
    with pytest.raises(SinkError) as caught:
        connector.sink.deliver([event])
    connector.close()
    assert isinstance(caught.value.__cause__, HttpError)


@pytest.mark.parametrize("name", ["hubspot", "bottlecrm"])
def test_no_message_along_the_chain_shows_the_token_the_server_echoed(name: str) -> None:
    factory, event = CONNECTORS[name]
    connector = factory(down)
    assert connector.sink is not None
    with pytest.raises(SinkError) as caught:
        connector.sink.deliver([event])
    connector.close()
    messages: list[Any] = [str(c) for c in chain(caught.value)]
    assert any("upstream unavailable" in m for m in messages)  # the body is there...
    assert not [m for m in messages if TOKEN in m]  # ...without the token


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_a_sink_still_throttled_keeps_the_servers_retry_after_on_its_failure(name: str) -> None:
    factory, event = CONNECTORS[name]
    connector = factory(throttled)
    assert connector.sink is not None
    try:
        with pytest.raises(SinkError) as caught:
            connector.sink.deliver([event])
    finally:
        connector.close()
    assert caught.value.retryable
    assert retry_after(caught.value) == 600.0  # what the outbox waits before the batch's next attempt


def refused(request: httpx.Request) -> httpx.Response:
    """Every call is refused as malformed: sending it again cannot help."""
    return httpx.Response(400, json={"message": "Bad request: the payload is not valid"})


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_a_sink_refused_for_good_says_it_is_not_worth_trying_again(name: str) -> None:
    """A 400 is not a throttle or an outage: the batch (or, where the sink answers per event, the event)
    goes to the dead letters with what the server said, not round the retries until it dies there."""
    factory, event = CONNECTORS[name]
    connector = factory(refused)
    assert connector.sink is not None
    try:
        results = connector.sink.deliver([event])
    except SinkError as exc:
        assert not exc.retryable
        assert any("400" in str(c) for c in chain(exc))
    else:
        assert [(r.ok, r.permanent) for r in results] == [(False, True)]
        assert "400" in (results[0].error or "")
    finally:
        connector.close()
