"""``odoo`` connector: customers and invoices from Odoo 16/17, risk tags and credit limits back to it.

Through Odoo's external JSON-RPC API (``POST <url>/jsonrpc``, ``execute_kw``)::

    [connectors.odoo]
    type = "odoo"
    url = "https://mycompany.odoo.com"
    database = "mycompany"
    username = "hub@mycompany.com"
    api_key = { env = "ODOO_API_KEY" }     # or password = {...}; an API key is the usual choice
    page_size = 500                         # records per search_read
    streams = ["customers", "invoices"]     # [] for a sink only
    write_back = true                       # false: read only, no sink

Source (:mod:`.source`): streams ``customers`` (``res.partner``) and ``invoices`` (``account.move``
customer invoices and credit notes), incremental by ``write_date``. Sink (:mod:`.sink`): partner
tags ``Risk: <band>`` and one per flag, and approved credit limits. See docs/connectors/odoo.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from hub import Connector, ConnectorConfig, ConnectorContext, ConnectorType, RetryPolicy, TokenBucket, hookimpl

from .client import OdooAuthError, OdooClient, OdooRpcError, OdooUnavailable
from .sink import OdooSink, flag_tag_name
from .source import DEFAULT_CUSTOMER_DOMAIN, OdooSource

__all__ = [
    "DEFAULT_CUSTOMER_DOMAIN",
    "OdooAuthError",
    "OdooClient",
    "OdooConfig",
    "OdooRpcError",
    "OdooSink",
    "OdooSource",
    "OdooUnavailable",
    "build",
    "flag_tag_name",
    "hub_register_connectors",
]

TYPE_NAME = "odoo"
StreamName = Literal["customers", "invoices"]
_ALL_STREAMS: tuple[StreamName, ...] = ("customers", "invoices")


class OdooConfig(ConnectorConfig):
    """``[connectors.NAME]`` of type ``odoo``."""

    url: str = Field(description="The Odoo server, e.g. https://mycompany.odoo.com (without /jsonrpc).")
    database: str = Field(min_length=1)
    username: str = Field(min_length=1, description="The API user's login.")
    password: str | None = Field(default=None, description="The user's password (prefer api_key).")
    api_key: str | None = Field(default=None, description="An API key of the user (Preferences > Account Security).")
    page_size: int = Field(default=500, ge=1, le=10_000, description="Records per search_read.")
    streams: list[StreamName] = Field(default_factory=lambda: list(_ALL_STREAMS))
    customer_domain: list[Any] | None = Field(
        default=None, description="Odoo domain selecting the partners read as customers (default: see docs)."
    )
    write_back: bool = Field(default=True, description="Offer a sink: risk tags and credit limits onto partners.")
    band_tag_prefix: str = Field(default="Risk: ", min_length=1)
    flag_tags: dict[str, str] = Field(default_factory=dict, description="Tag name per flag code, e.g. CREDIT_HOLD.")
    id_from: str | None = Field(
        default=None,
        description="Connector instance whose customer ids are this Odoo's partner ids (default: this one).",
    )
    batch_size: int = Field(default=100, ge=1, le=1000, description="Events per sink delivery.")
    timeout: float = Field(default=30.0, gt=0)
    requests_per_second: float = Field(default=5.0, gt=0, description="Proactive limit on calls to Odoo.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        if url.path.rstrip("/").endswith("/jsonrpc"):
            raise ValueError("give the server's address without /jsonrpc")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> OdooConfig:
        if (self.password is None) == (self.api_key is None):
            raise ValueError("set exactly one of password or api_key")
        if not self.streams and not self.write_back:
            raise ValueError("no streams and write_back = false: the connector would do nothing")
        return self

    @property
    def secret(self) -> str:
        return self.api_key if self.api_key is not None else str(self.password)


def build(
    name: str,
    config: OdooConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
    retry: RetryPolicy | None = None,
) -> Connector:
    """The connector instance; ``transport``, ``sleep`` and ``retry`` are test seams."""
    client = OdooClient(
        config.url,
        config.database,
        config.username,
        config.secret,
        name=name,
        timeout=config.timeout,
        rate=TokenBucket(config.requests_per_second, burst=max(1, int(config.requests_per_second))),
        retry=retry,
        transport=transport,
        sleep=sleep,
    )
    source = (
        OdooSource(
            name, client, streams=config.streams, page_size=config.page_size, customer_domain=config.customer_domain
        )
        if config.streams
        else None
    )
    sink = (
        OdooSink(
            name,
            client,
            band_prefix=config.band_tag_prefix,
            flag_tags=config.flag_tags,
            id_from=config.id_from,
            batch_size=config.batch_size,
        )
        if config.write_back
        else None
    )
    return Connector(name=name, type=TYPE_NAME, source=source, sink=sink, close=client.close)


def _create(name: str, config: OdooConfig, context: ConnectorContext) -> Connector:
    return build(name, config)


CONNECTOR_TYPE = ConnectorType(
    TYPE_NAME,
    "Odoo 16/17 (JSON-RPC): partners and customer invoices in; risk tags and credit limits out.",
    OdooConfig,
    _create,
)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [CONNECTOR_TYPE]
