"""``example-webhook`` sink: each batch of hub events (flag, band, credit-limit changes) POSTed as JSON.

A small but complete third-party connector, installed with ``pip`` and found by the hub through the
``hub`` entry-point group (see this package's ``pyproject.toml``). Configure an instance with::

    [connectors.alerts]
    type = "example-webhook"
    url = "https://hooks.example.com/receivables"
    token = { env = "ALERTS_TOKEN" }        # optional: sent as "Authorization: Bearer <token>"

What the receiver gets, per batch::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <sha256 of the batch's event ids>
    Authorization: Bearer <token>           (only with a token)

    {"changes": [{"event_id": "C1:OVER_LIMIT:v1", "customer_id": "C1", "code": "OVER_LIMIT",
                  "action": "raised", "version": 1, "reason": "...", "at": "...", "links": {...}}]}

How the answer is read:

- **2xx**: every change is delivered, unless the body is JSON with a ``results`` list
  (``[{"event_id": ..., "ok": true|false, "error": "...", "permanent": false}]``); then each change
  gets the result named for it, and a change the list leaves out is retried.
- **408, 429, 5xx, timeouts, connection errors**: :class:`hub.errors.SinkError`; the outbox keeps
  the whole batch and retries it with backoff.
- **any other 4xx**: the receiver refused the request itself, so sending it again cannot help:
  every change in the batch fails *permanently* and goes to the dead-letter table (``hub outbox``;
  ``hub outbox replay`` after fixing the cause, e.g. a wrong token).

Idempotency: the outbox delivers at least once, so a batch may arrive twice after a crash or a
timeout. The ``Idempotency-Key`` header is the same for the same batch, and every change carries its
``event_id``, so the receiver can apply each change once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import Field, field_validator

from hub import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    DeliveryResult,
    OutboxEvent,
    Sink,
    SinkError,
    hookimpl,
)

__all__ = ["CONNECTOR_TYPE", "WebhookConfig", "WebhookSink", "hub_register_connectors", "idempotency_key"]
__version__ = "0.1.0"

TYPE_NAME = "example-webhook"
#: Status codes that mean "try again later" even though they are 4xx.
TRANSIENT_4XX = frozenset({408, 425, 429})
_EXCERPT = 200


class WebhookConfig(ConnectorConfig):
    """``[connectors.NAME]`` of type ``example-webhook``."""

    url: str
    token: str | None = None
    timeout: float = Field(default=10.0, gt=0, description="Seconds to wait for the receiver to answer.")
    batch_size: int = Field(default=100, ge=1, le=1000, description="Flag changes per POST.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value


def idempotency_key(changes: Sequence[OutboxEvent]) -> str:
    """The same key for the same set of changes, whatever their order: sha256 of the sorted event ids."""
    joined = "\n".join(sorted(c.event_id for c in changes))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


class WebhookSink(Sink):
    """POSTs batches of events; see the module docstring for the protocol."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0, batch_size: int = 100) -> None:
        self.url = url
        self.batch_size = batch_size
        headers = {"User-Agent": f"hub-connector-example/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(headers=headers, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self.client.close()

    def deliver(self, changes: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        if not changes:
            return []
        body = {"changes": [c.model_dump(mode="json") for c in changes]}
        try:
            response = self.client.post(self.url, json=body, headers={"Idempotency-Key": idempotency_key(changes)})
        except httpx.TimeoutException:
            raise SinkError(f"{self.url}: no answer within {self.client.timeout.read}s") from None
        except httpx.HTTPError as exc:
            raise SinkError(f"{self.url}: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if response.is_success:
            return _results(changes, response)
        reason = f"HTTP {status} from {self.url}: {_excerpt(response)}"
        if 400 <= status < 500 and status not in TRANSIENT_4XX:
            return [DeliveryResult(c.event_id, False, error=reason, permanent=True) for c in changes]
        raise SinkError(reason)


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    if not text:
        return response.reason_phrase or "(empty body)"
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 3] + "..."


def _results(changes: Sequence[OutboxEvent], response: httpx.Response) -> list[DeliveryResult]:
    """Per-change results from a 2xx answer: the body's ``results`` when it has them, else all delivered."""
    try:
        data: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    reported = data.get("results") if isinstance(data, dict) else None
    if not isinstance(reported, list):
        return [DeliveryResult(c.event_id, True) for c in changes]
    by_id: dict[str, dict[str, Any]] = {
        item["event_id"]: item for item in reported if isinstance(item, dict) and isinstance(item.get("event_id"), str)
    }
    out = []
    for change in changes:
        item = by_id.get(change.event_id)
        if item is None:
            out.append(DeliveryResult(change.event_id, False, error="the webhook reported no result for this change"))
        elif item.get("ok") is True:
            out.append(DeliveryResult(change.event_id, True))
        else:
            error = item.get("error")
            out.append(
                DeliveryResult(
                    change.event_id,
                    False,
                    error=str(error) if error else "rejected by the webhook",
                    permanent=item.get("permanent") is True,
                )
            )
    return out


def _create(name: str, config: WebhookConfig, context: ConnectorContext) -> Connector:
    sink = WebhookSink(config.url, token=config.token, timeout=config.timeout, batch_size=config.batch_size)
    return Connector(name=name, type=TYPE_NAME, sink=sink, close=sink.close)


CONNECTOR_TYPE = ConnectorType(
    TYPE_NAME, "Flag changes POSTed as JSON to a webhook URL (example plugin).", WebhookConfig, _create
)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [CONNECTOR_TYPE]
