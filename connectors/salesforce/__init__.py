"""``salesforce`` connector: Accounts in (SOQL), risk band, flags and credit limit out (sObject Collections upsert).

Configure an instance::

    [connectors.sfdc]
    type = "salesforce"
    login_url = "https://acme.my.salesforce.com"     # your My Domain URL (client credentials need it)
    client_id = { env = "SF_CLIENT_ID" }
    client_secret = { env = "SF_CLIENT_SECRET" }
    api_version = "62.0"
    external_id_field = "ERP_Id__c"                 # Account field holding the ERP customer id
    external_id_source = "erp"                      # ...of this connector instance (default: canonical id)
    risk_band_field = "Risk_Band__c"                # picklist or text; "" to not write bands
    flags_field = "Risk_Flags__c"                   # multi-select picklist or text, codes joined by ";"
    credit_limit_field = "Credit_Limit__c"          # currency/number; "" to not write limits

**Auth**: OAuth 2.0 client credentials against ``<login_url>/services/oauth2/token``; the token
response's ``instance_url`` is where the REST API lives. A ``401 INVALID_SESSION_ID`` fetches a new
token once and repeats the call.

**Source** (stream ``customers``, mapping ``salesforce-accounts``): ``SELECT Id, Name, ... FROM
Account WHERE SystemModstamp >= :since ORDER BY SystemModstamp, Id``, following ``nextRecordsUrl``.
Each page's cursor is the last ``SystemModstamp`` and the ids seen at exactly that instant, so a
resumed or incremental read asks for ``SystemModstamp >=`` that second and skips what it already
has: nothing is missed, nothing is stored twice. Besides the Account fields the raw record carries
``_credit_limit``, ``_currency`` and ``_links`` (``{external_id_source: <external id>}``), so the
mapping does not depend on the configured field names.

**Sink**: per batch (at most 200 Accounts, the sObject Collections limit) one SOQL query reads the
current flags of the Accounts by external id, then one ``PATCH
/composite/sobjects/Account/<external_id_field>`` with ``allOrNone=false`` upserts the new values.
Each Account's ``UpsertResult`` decides the result of every event for it: ``UNABLE_TO_LOCK_ROW``
and other transient codes are retried, validation errors (``INVALID_FIELD``,
``FIELD_CUSTOM_VALIDATION_EXCEPTION``, ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``...) are
permanent. An Account that does not exist (yet) is not created: its events fail and are retried.
Setting a field to the value it already has is harmless, so a re-delivered event takes effect once.

**Limits**: ``REQUEST_LIMIT_EXCEEDED`` arrives as HTTP 403 and means "later": the sync stops with
a SourceError (it resumes from the saved cursor) and a push raises SinkError (the outbox retries
the batch); neither is permanent. Every response's ``Sforce-Limit-Info: api-usage=n/m`` is read;
at ``slow_down_at`` (default 90 %) of the daily allocation each call waits ``slow_down_seconds``.
429 and 5xx answers are retried by :mod:`hub.http` with ``Retry-After``; still failing after those
tries, the error is retryable and keeps the last ``Retry-After`` on its cause (the HTTP error), so
the outbox waits that long. Any other 4xx (``400 INVALID_FIELD`` or ``MALFORMED_QUERY``, ``403``
but for the request limit, ``404 NOT_FOUND``, a login refused) is a refusal that sending again
cannot change: the error is not retryable, as :class:`hub.HttpError` is not for those statuses, and
a push's batch goes to the dead letters at once with Salesforce's message.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
from pydantic import Field

from hub import (
    RETRY_STATUSES,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    DeliveryResult,
    HttpClient,
    HttpError,
    JSONValue,
    KeyedBatchSink,
    NextLinkPaginator,
    OutboxEvent,
    Page,
    RetryPolicy,
    ServiceError,
    SinkError,
    Source,
    SourceError,
    StreamSpec,
    get_logger,
    hookimpl,
)

log = get_logger(__name__)

SYSTEM = "Salesforce"
TYPE_NAME = "salesforce"
MAX_COLLECTION = 200
#: UpsertResult error codes worth retrying; every other code is a permanent refusal.
RETRYABLE_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT", "REQUEST_LIMIT_EXCEEDED"}
)
#: 4xx answers the connector reads itself (408, 425 and 429 stay with hub.http's retries).
CLIENT_ERRORS = frozenset(range(400, 500)) - RETRY_STATUSES
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceConfig(ConnectorConfig):
    login_url: str = Field(description="My Domain URL, e.g. https://acme.my.salesforce.com")
    client_id: str
    client_secret: str
    api_version: str = Field(default="62.0", pattern=r"^\d+\.\d$")
    streams: list[str] = Field(default_factory=lambda: ["customers"], description="[] for a sink-only instance.")
    push: bool = Field(default=True, description="Write risk changes back (the sink).")
    external_id_field: str = "ERP_Id__c"
    external_id_source: str | None = Field(
        default=None, description="Connector whose customer id the external-id field holds; default: canonical id."
    )
    risk_band_field: str = "Risk_Band__c"
    flags_field: str = "Risk_Flags__c"
    flags_separator: str = ";"
    credit_limit_field: str = "Credit_Limit__c"
    currency_field: str = Field(default="", description="CurrencyIsoCode in multi-currency orgs.")
    extra_fields: list[str] = Field(default_factory=list, description="More Account fields for custom mappings.")
    page_size: int = Field(default=2000, ge=200, le=2000)
    batch_size: int = Field(default=MAX_COLLECTION, ge=1, le=MAX_COLLECTION)
    slow_down_at: float = Field(default=0.9, gt=0, le=1)
    slow_down_seconds: float = Field(default=2.0, ge=0)
    timeout: float = Field(default=30.0, gt=0)


class SalesforceError(ServiceError):
    """Salesforce refused or failed a call; the message names the system and the connector instance
    (``status``, and whether it is retryable: :class:`hub.ServiceError`)."""


class SalesforceThrottled(SalesforceError):
    """``REQUEST_LIMIT_EXCEEDED``: try again later, nothing is wrong with the data (a 403 that passes)."""

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return True


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        return []
    if isinstance(body, list):
        return [e for e in body if isinstance(e, dict)]
    return [body] if isinstance(body, dict) else []


def _describe(response: httpx.Response) -> str:
    found = _errors(response)
    if found:
        parts = []
        for e in found:
            code = e.get("errorCode") or e.get("error") or ""
            text = e.get("message") or e.get("error_description") or ""
            parts.append(f"{code}: {text}".strip(": "))
        return "; ".join(parts)
    return response.text[:200] or response.reason_phrase


def dumps(value: Any) -> bytes:
    """JSON with Decimals written as JSON numbers, digit for digit (never through float)."""
    marks: list[str] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            marks.append(format(obj, "f"))
            return f"\x00DEC{len(marks) - 1}\x00"
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    text = json.dumps(value, default=default, separators=(",", ":"))
    return re.sub(r'"\\u0000DEC(\d+)\\u0000"', lambda m: marks[int(m.group(1))], text).encode("utf-8")


def soql_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SalesforceClient:
    """Token handling, the REST base path, limit tracking and error translation."""

    def __init__(
        self,
        name: str,
        config: SalesforceConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.sleep = sleep
        self.http = HttpClient(
            "", name=name, timeout=config.timeout, retry=RetryPolicy(attempts=4), transport=transport, sleep=sleep
        )
        self._token: str | None = None
        self.instance_url: str | None = None
        self.usage: tuple[int, int] | None = None

    def error(
        self, text: str, kind: type[SalesforceError] = SalesforceError, *, status: int | None = None
    ) -> SalesforceError:
        """``text`` as a :class:`SalesforceError` naming the connector; ``status`` decides whether it is retryable."""
        return kind(f"{SYSTEM} (connector {self.name}): {text}", status=status)

    def token(self) -> str:
        if self._token is None:
            url = self.config.login_url.rstrip("/") + "/services/oauth2/token"
            response = self._guard(
                lambda: self.http.post(
                    url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.config.client_id,
                        "client_secret": self.config.client_secret,
                    },
                    ok=(400, 401, 403),
                )
            )
            if response.status_code != 200:
                raise self.error(
                    f"login refused (HTTP {response.status_code}): {_describe(response)}", status=response.status_code
                )
            body = response.json()
            self._token, self.instance_url = body["access_token"], body["instance_url"].rstrip("/")
        return self._token

    def _guard(self, call: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            return call()
        except SalesforceError:
            raise
        except SourceError as exc:  # hub.http.HttpError: retries exhausted, transport errors
            raise self.error(str(exc), status=exc.status if isinstance(exc, HttpError) else None) from exc

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """An authenticated API call; ``url`` is absolute or relative to the instance URL."""
        extra = headers or {}
        if self.near_cap():
            self.sleep(self.config.slow_down_seconds)
        refreshed = False
        while True:
            full = url if url.startswith("http") else f"{self._instance()}{url}"
            sent = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json", **extra}
            if "content" in kwargs:
                sent["Content-Type"] = "application/json"
            response = self._send(method, full, sent, kwargs)
            self._note_usage(response)
            if response.status_code == 401 and not refreshed:
                self._token, refreshed = None, True  # INVALID_SESSION_ID: the token expired; once
                continue
            break
        if response.status_code < 400:
            return response
        codes = {e.get("errorCode") for e in _errors(response)}
        if response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in codes:
            raise self.error(
                f"API request limit exceeded, retry later: {_describe(response)}", SalesforceThrottled, status=403
            )
        raise self.error(
            f"{method} {httpx.URL(full).path}: HTTP {response.status_code}: {_describe(response)}",
            status=response.status_code,
        )

    def _send(self, method: str, url: str, headers: dict[str, str], kwargs: dict[str, Any]) -> httpx.Response:
        return self._guard(lambda: self.http.request(method, url, headers=headers, ok=CLIENT_ERRORS, **kwargs))

    def _instance(self) -> str:
        self.token()
        assert self.instance_url is not None
        return self.instance_url

    def near_cap(self) -> bool:
        """Whether the last ``Sforce-Limit-Info`` showed the daily allocation at ``slow_down_at`` or above."""
        return bool(self.usage and self.usage[1] and self.usage[0] / self.usage[1] >= self.config.slow_down_at)

    def _note_usage(self, response: httpx.Response) -> None:
        match = _LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            was = self.near_cap()
            self.usage = (int(match.group(1)), int(match.group(2)))
            if self.near_cap() and not was:
                log.warning("salesforce.limit", connector=self.name, used=self.usage[0], allocation=self.usage[1])

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Pages of a SOQL query (``nextRecordsUrl`` followed)."""
        headers = {"Sforce-Query-Options": f"batchSize={self.config.page_size}"}

        def fetch(next_url: str | None) -> dict[str, Any]:
            if next_url is None:
                url, params = f"/services/data/v{self.config.api_version}/query", {"q": soql}
            else:
                url, params = next_url, None
            body: dict[str, Any] = json.loads(
                self.request("GET", url, params=params, headers=headers).text, parse_float=Decimal
            )
            return body

        paginator = NextLinkPaginator(
            "nextRecordsUrl", done=lambda body: body.get("done", True), what=f"{SYSTEM} query (connector {self.name})"
        )
        yield from paginator.pages(fetch)

    def close(self) -> None:
        self.http.close()


def _account_fields(config: SalesforceConfig) -> list[str]:
    fields = ["Id", "Name", "AccountNumber", "BillingCountry", "ParentId"]
    for extra in (config.external_id_field, config.credit_limit_field, config.currency_field, *config.extra_fields):
        if extra and extra not in fields:
            fields.append(extra)
    return [*fields, "SystemModstamp"]


def _soql_datetime(stamp: str) -> str:
    """``2024-05-01T10:00:00.000+0000`` -> ``2024-05-01T10:00:00Z`` (SOQL literal, whole seconds)."""
    return stamp[:19] + "Z"


class SalesforceSource(Source):
    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self.config = client.config

    def streams(self) -> Sequence[StreamSpec]:
        return (
            [StreamSpec("customers", "customer", "salesforce-accounts", "merge")]
            if ("customers" in self.config.streams)
            else []
        )

    def check(self) -> None:
        next(self.client.query("SELECT Id FROM Account LIMIT 1"))

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        since = cursor.get("since") if isinstance(cursor, dict) else None
        seen: set[str] = set(cursor.get("seen", [])) if isinstance(cursor, dict) else set()
        where = f" WHERE SystemModstamp >= {_soql_datetime(since)}" if since else ""
        soql = f"SELECT {', '.join(_account_fields(self.config))} FROM Account{where} ORDER BY SystemModstamp, Id"
        for body in self.client.query(soql):
            records = []
            for raw in body.get("records", []):
                stamp, rid = str(raw["SystemModstamp"]), str(raw["Id"])
                if since and (stamp < since or (stamp == since and rid in seen)):
                    continue  # committed by an earlier page or sync
                if stamp != since:
                    since, seen = stamp, set()
                seen.add(rid)
                records.append(self._raw(raw))
            yield Page(
                records,
                {"since": since, "seen": sorted(seen)} if since else None,
                label=f"{SYSTEM} Account",
                size_hint=body.get("totalSize"),
            )

    def _raw(self, record: dict[str, Any]) -> dict[str, Any]:
        raw = {k: v for k, v in record.items() if k != "attributes"}
        cfg = self.config
        raw["_credit_limit"] = raw.get(cfg.credit_limit_field) if cfg.credit_limit_field else None
        raw["_currency"] = raw.get(cfg.currency_field) if cfg.currency_field else None
        ext = raw.get(cfg.external_id_field)
        raw["_links"] = {cfg.external_id_source: str(ext)} if ext and cfg.external_id_source else {}
        return raw


class SalesforceSink(KeyedBatchSink[str]):
    """Band, flags and credit limit onto Accounts by external id, up to 200 Accounts per upsert."""

    chunk_size = MAX_COLLECTION

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self.config = client.config
        self.batch_size = client.config.batch_size

    def check(self) -> None:
        try:
            self.client.token()
        except SourceError as exc:
            raise SinkError(str(exc), retryable=exc.retryable) from exc

    def handles(self, event: OutboxEvent) -> bool:
        return bool(self._field(event))  # "" in the config: this instance does not write that kind

    def key(self, event: OutboxEvent) -> str | None:
        source = self.config.external_id_source
        return event.links.get(source) if source else event.customer_id

    def unlinked_reason(self, event: OutboxEvent) -> str:
        return (
            f"customer {event.customer_id} has no id from {self.config.external_id_source} to match "
            f"{self.config.external_id_field}"
        )

    def _field(self, event: OutboxEvent) -> str:
        cfg = self.config
        return {"flag": cfg.flags_field, "band": cfg.risk_band_field, "credit_limit": cfg.credit_limit_field}[
            event.kind
        ]

    def _current_flags(self, keys: Sequence[str]) -> dict[str, set[str]]:
        cfg = self.config
        fields = ["Id", cfg.external_id_field] + ([cfg.flags_field] if cfg.flags_field else [])
        soql = (
            f"SELECT {', '.join(fields)} FROM Account WHERE {cfg.external_id_field} IN "
            f"({', '.join(soql_quote(k) for k in keys)})"
        )
        found: dict[str, set[str]] = {}
        for body in self.client.query(soql):
            for rec in body.get("records", []):
                text = rec.get(cfg.flags_field) if cfg.flags_field else None
                found[str(rec[cfg.external_id_field])] = {
                    f.strip() for f in str(text or "").split(cfg.flags_separator) if f.strip()
                }
        return found

    def write(self, chunk: Mapping[str, Sequence[OutboxEvent]]) -> dict[str, DeliveryResult]:
        cfg = self.config
        current = self._current_flags(list(chunk))
        results: dict[str, DeliveryResult] = {}
        records: list[dict[str, Any]] = []
        sent: list[str] = []
        for key, events in chunk.items():
            if key not in current:
                for e in events:
                    results[e.event_id] = DeliveryResult.unlinked(
                        e.event_id, f"no {SYSTEM} Account with {cfg.external_id_field} = {key!r}"
                    )
                continue
            flags = set(current[key])
            record: dict[str, Any] = {"attributes": {"type": "Account"}, cfg.external_id_field: key}
            for e in events:  # in outbox order: the latest change of each field wins
                if e.kind == "flag":
                    self.apply_flag(flags, e)
                    record[cfg.flags_field] = cfg.flags_separator.join(sorted(flags))
                elif e.kind == "band":
                    record[cfg.risk_band_field] = e.band
                elif e.kind == "credit_limit":
                    record[cfg.credit_limit_field] = e.amount
            records.append(record)
            sent.append(key)
        if not records:
            return results
        response = self.client.request(
            "PATCH",
            f"/services/data/v{cfg.api_version}/composite/sobjects/Account/{cfg.external_id_field}",
            content=dumps({"allOrNone": False, "records": records}),
        )
        answers = json.loads(response.text)
        for i, key in enumerate(sent):
            answer = answers[i] if isinstance(answers, list) and i < len(answers) else None
            for e in chunk[key]:
                results[e.event_id] = _result(e.event_id, answer)
        return results


def _result(event_id: str, answer: Any) -> DeliveryResult:
    if not isinstance(answer, dict):
        return DeliveryResult(event_id, False, f"{SYSTEM} returned no result for this Account")
    if answer.get("success"):
        return DeliveryResult(event_id, True)
    errors = [e for e in answer.get("errors") or [] if isinstance(e, dict)]
    codes = {str(e.get("statusCode")) for e in errors}
    text = "; ".join(
        f"{e.get('statusCode')}: {e.get('message')}" + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
        for e in errors
    )
    permanent = bool(codes) and not codes & RETRYABLE_CODES
    return DeliveryResult(event_id, False, f"{SYSTEM} refused the Account: {text or 'no reason given'}", permanent)


def create(
    name: str,
    config: SalesforceConfig,
    context: ConnectorContext | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> Connector:
    client = SalesforceClient(name, config, sleep=sleep, transport=transport)
    return Connector(
        name=name,
        type=TYPE_NAME,
        source=SalesforceSource(client) if config.streams else None,
        sink=SalesforceSink(client) if config.push else None,
        close=client.close,
    )


def _create(name: str, config: SalesforceConfig, context: ConnectorContext) -> Connector:
    return create(name, config, context)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "Salesforce Accounts in (SOQL); risk band, flags and credit limit out (sObject Collections upsert).",
            SalesforceConfig,
            _create,
        )
    ]
