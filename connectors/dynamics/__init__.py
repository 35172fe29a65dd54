"""``dynamics`` connector: Dynamics 365 / Dataverse accounts in; credit limit, credit hold and risk band out.

Configure an instance::

    [connectors.d365]
    type = "dynamics"
    url = "https://contoso.crm4.dynamics.com"     # the environment (organization) URL
    tenant_id = "00000000-0000-0000-0000-000000000000"
    client_id = { env = "D365_CLIENT_ID" }
    client_secret = { env = "D365_CLIENT_SECRET" }
    match_field = "accountnumber"                 # account column holding the ERP customer id
    external_id_source = "erp"                    # ...of this connector instance (default: canonical id)
    band_field = "new_riskband"                   # custom column; "" to not write bands
    band_choices = { A = 100000000, B = 100000001, C = 100000002, D = 100000003, E = 100000004 }

**Auth**: Microsoft Entra ID client credentials (``POST
https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token``, scope ``<url>/.default``); the token
is renewed a minute before ``expires_in`` runs out, and once more on a ``401``.

**Source** (stream ``customers``, mapping ``dynamics-accounts``): ``GET
/api/data/v9.2/accounts?$select=...&$filter=modifiedon ge <last seen>&$orderby=modifiedon,accountid``
with ``Prefer: odata.maxpagesize=<page_size>``, following ``@odata.nextLink``. Each page's cursor is
the last ``modifiedon`` and the account ids seen at that instant. The account's currency comes from
``$expand=transactioncurrencyid($select=isocurrencycode)``.

**Sink**: for each account in a batch the connector reads the row first (``accountid``, the match
column and the ``@odata.etag``), then sends all updates in one ``POST /api/data/v9.2/$batch``
(``multipart/mixed``), each account's ``PATCH accounts(<id>)`` with ``If-Match: <etag>`` in a change
set of its own and ``Prefer: odata.continue-on-error``, so one refused account does not stop the
others; the batch response is read part by part (``Content-ID``). ``412 Precondition Failed`` (the
row changed since it was read) reads the row again and sends the update once more. If-Match also
keeps a PATCH from creating an account that was deleted meanwhile. Written columns: ``creditlimit``
(CreditLimitChange), ``creditonhold`` (true while CREDIT_HOLD is raised) and the band column (an
integer choice value through ``band_choices``, or the letter for a text column). Setting a column to
the value it has is harmless, so a re-delivered event takes effect once.

**Limits**: Dataverse service protection answers ``429`` with ``Retry-After``; :mod:`hub.http`
waits that long (up to ``max_retry_wait`` seconds) and tries again. Still throttled after those
tries, the batch fails retryable with the last ``Retry-After`` on its cause (the HTTP error), and an
account whose own request in a ``$batch`` was throttled fails with the ``Retry-After`` of its part:
the outbox does not try either again sooner than Dataverse asked.

**Errors**: classified as :class:`hub.HttpError` is. 408, 425, 429, 5xx and no answer at all are
worth another try; any other 4xx (``400`` for a payload or query Dataverse cannot take, ``403`` for
a missing privilege, ``404`` for an entity set or version that is not there, a token refused) is
not: the sink's error is not retryable and the outbox moves the batch's events to the dead letters
at once, with Dataverse's code and message, instead of retrying them until they die.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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
    retry_after_seconds,
    retryable_status,
)

log = get_logger(__name__)

SYSTEM = "Dynamics 365"
TYPE_NAME = "dynamics"
CLIENT_ERRORS = frozenset(range(400, 500)) - RETRY_STATUSES
ACCOUNT_COLUMNS = ("accountid", "name", "accountnumber", "creditlimit", "address1_country", "_parentaccountid_value")


class DynamicsConfig(ConnectorConfig):
    url: str = Field(description="Environment URL, e.g. https://contoso.crm4.dynamics.com")
    tenant_id: str
    client_id: str
    client_secret: str
    authority: str = "https://login.microsoftonline.com"
    api_version: str = "9.2"
    streams: list[str] = Field(default_factory=lambda: ["customers"], description="[] for a sink-only instance.")
    push: bool = True
    match_field: str = "accountnumber"
    external_id_source: str | None = None
    band_field: str = ""
    band_choices: dict[str, int] = Field(default_factory=dict, description="Band letter -> choice value.")
    write_credit_limit: bool = True
    write_credit_hold: bool = True
    extra_columns: list[str] = Field(default_factory=list)
    page_size: int = Field(default=500, ge=1, le=5000)
    batch_size: int = Field(default=100, ge=1, le=1000)
    max_retry_wait: float = Field(default=300.0, gt=0)
    timeout: float = Field(default=60.0, gt=0)


class DynamicsError(ServiceError):
    """Dataverse refused or failed a call; the message names the system and the connector instance
    (``status``, and whether it is retryable: :class:`hub.ServiceError`)."""


def dumps(value: Any) -> str:
    """JSON with Decimals written as JSON numbers, digit for digit (never through float)."""
    marks: list[str] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            marks.append(format(obj, "f"))
            return f"\x00DEC{len(marks) - 1}\x00"
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

    text = json.dumps(value, default=default, separators=(",", ":"))
    return re.sub(r'"\\u0000DEC(\d+)\\u0000"', lambda m: marks[int(m.group(1))], text)


def odata_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _error_text(status: int, text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:200] or f"HTTP {status}"
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return f"{err.get('code', '')}: {err.get('message', '')}".strip(": ")
        if isinstance(err, str):  # Entra ID token endpoint
            description = str(body.get("error_description") or "").splitlines()
            return f"{err}: {description[0]}" if description else err
    return text.strip()[:200]


# -- $batch: multipart/mixed -------------------------------------------------------------------------


@dataclass
class BatchRequest:
    method: str
    url: str
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class BatchResponse:
    status: int
    headers: dict[str, str]
    body: str
    content_id: str | None = None


def build_batch(requests: Sequence[BatchRequest], boundary: str) -> str:
    """A ``$batch`` body with one change set per request (Content-ID = its 1-based position)."""
    lines: list[str] = []
    for number, req in enumerate(requests, 1):
        changeset = f"changeset_{boundary}_{number}"
        lines += [f"--batch_{boundary}", f"Content-Type: multipart/mixed; boundary={changeset}", ""]
        lines += [f"--{changeset}", "Content-Type: application/http", "Content-Transfer-Encoding: binary"]
        lines += [f"Content-ID: {number}", "", f"{req.method} {req.url} HTTP/1.1"]
        headers = dict(req.headers)
        if req.body is not None:
            headers.setdefault("Content-Type", "application/json; type=entry")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += ["", req.body or "", f"--{changeset}--", ""]
    lines += [f"--batch_{boundary}--", ""]
    return "\r\n".join(lines)


def _boundary(content_type: str) -> str:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError(f"no boundary in {content_type!r}")
    return match.group(1)


def _split(body: str, boundary: str) -> list[str]:
    """The parts between ``--boundary`` lines (the preamble and the closing part dropped)."""
    parts = re.split(rf"(?:\r?\n)?--{re.escape(boundary)}(?:--)?[ \t]*(?:\r?\n|$)", body)
    return [p for p in parts[1:] if p.strip()]


def _headers_and_rest(text: str) -> tuple[dict[str, str], str]:
    """MIME or HTTP headers (lower-cased names) and what follows the blank line after them."""
    match = re.search(r"\r?\n\r?\n", text)
    head, rest = (text[: match.start()], text[match.end() :]) if match else (text, "")
    headers: dict[str, str] = {}
    for line in head.splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def parse_batch(body: str, content_type: str) -> list[BatchResponse]:
    """Every embedded response of a ``$batch`` answer in order, change sets flattened."""
    out: list[BatchResponse] = []
    for part in _split(body, _boundary(content_type)):
        headers, rest = _headers_and_rest(part)
        if headers.get("content-type", "").startswith("multipart/mixed"):
            out.extend(parse_batch(rest, headers["content-type"]))
            continue
        status_line, _, after = rest.partition("\n")
        match = re.match(r"HTTP/\d\.\d\s+(\d{3})", status_line.strip())
        if not match:
            raise ValueError(f"not an HTTP response in the batch: {status_line.strip()[:80]!r}")
        inner_headers, inner_body = _headers_and_rest(after)
        out.append(BatchResponse(int(match.group(1)), inner_headers, inner_body.strip(), headers.get("content-id")))
    return out


# -- client -------------------------------------------------------------------------------------------


class DynamicsClient:
    def __init__(
        self,
        name: str,
        config: DynamicsConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.clock = clock
        self.base = f"{config.url.rstrip('/')}/api/data/v{config.api_version}"
        self.http = HttpClient(
            "",
            name=name,
            timeout=config.timeout,
            retry=RetryPolicy(attempts=5, max_wait=config.max_retry_wait),
            transport=transport,
            sleep=sleep,
        )
        self._token: str | None = None
        self._expires = 0.0

    def error(self, text: str, *, status: int | None = None) -> DynamicsError:
        """``text`` as a :class:`DynamicsError` naming the connector; ``status`` decides whether it is retryable."""
        return DynamicsError(f"{SYSTEM} (connector {self.name}): {text}", status=status)

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, ok=CLIENT_ERRORS, **kwargs)
        except SourceError as exc:  # retries exhausted (its Retry-After stays on the cause), transport errors
            raise self.error(str(exc), status=exc.status if isinstance(exc, HttpError) else None) from exc

    def token(self) -> str:
        if self._token is None or self.clock() >= self._expires:
            cfg = self.config
            response = self._call(
                "POST",
                f"{cfg.authority.rstrip('/')}/{cfg.tenant_id}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": cfg.client_id,
                    "client_secret": cfg.client_secret,
                    "scope": f"{cfg.url.rstrip('/')}/.default",
                },
            )
            if response.status_code != 200:
                raise self.error(
                    f"Entra ID refused the client credentials (HTTP {response.status_code}): "
                    f"{_error_text(response.status_code, response.text)}",
                    status=response.status_code,
                )
            body = response.json()
            self._token = str(body["access_token"])
            self._expires = self.clock() + float(body.get("expires_in", 3599)) - 60
        return self._token

    def request(
        self, method: str, url: str, *, ok: Sequence[int] = (), headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        full = url if url.startswith("http") else f"{self.base}/{url.lstrip('/')}"
        for attempt in (1, 2):
            sent = {
                "Authorization": f"Bearer {self.token()}",
                "Accept": "application/json",
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
                **(headers or {}),
            }
            response = self._call(method, full, headers=sent, **kwargs)
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: one fresh token
                continue
            break
        if response.status_code < 400 or response.status_code in ok:
            return response
        raise self.error(
            f"{method} {httpx.URL(full).path}: HTTP {response.status_code}: "
            f"{_error_text(response.status_code, response.text)}",
            status=response.status_code,
        )

    def close(self) -> None:
        self.http.close()


# -- source -------------------------------------------------------------------------------------------


class DynamicsSource(Source):
    def __init__(self, client: DynamicsClient) -> None:
        self.client = client
        self.config = client.config

    def streams(self) -> Sequence[StreamSpec]:
        if "customers" not in self.config.streams:
            return []
        return [StreamSpec("customers", "customer", "dynamics-accounts", "merge")]

    def check(self) -> None:
        self.client.request("GET", "accounts", params={"$select": "accountid", "$top": "1"})

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        since: str | None = cursor.get("since") if isinstance(cursor, dict) else None
        seen: set[str] = set(cursor.get("seen", [])) if isinstance(cursor, dict) else set()
        columns = list(
            dict.fromkeys([*ACCOUNT_COLUMNS, self.config.match_field, *self.config.extra_columns, "modifiedon"])
        )
        params: dict[str, str] = {
            "$select": ",".join(columns),
            "$expand": "transactioncurrencyid($select=isocurrencycode)",
            "$orderby": "modifiedon asc,accountid asc",
        }
        if since:
            params["$filter"] = f"modifiedon ge {since}"
        prefer = {"Prefer": f"odata.maxpagesize={self.config.page_size}"}

        def fetch(next_link: str | None) -> dict[str, Any]:
            url, query = ("accounts", params) if next_link is None else (next_link, None)
            body: dict[str, Any] = json.loads(
                self.client.request("GET", url, params=query, headers=prefer).text, parse_float=Decimal
            )
            return body

        paginator = NextLinkPaginator("@odata.nextLink", what=f"{SYSTEM} accounts (connector {self.client.name})")
        for body in paginator.pages(fetch):
            records = []
            for account in body.get("value", []):
                stamp, aid = str(account.get("modifiedon")), str(account["accountid"])
                if since and (stamp < since or (stamp == since and aid in seen)):
                    continue
                if stamp != since:
                    since, seen = stamp, set()
                seen.add(aid)
                records.append(self._raw(account))
            yield Page(records, {"since": since, "seen": sorted(seen)} if since else None, label=f"{SYSTEM} accounts")

    def _raw(self, account: dict[str, Any]) -> dict[str, Any]:
        cfg = self.config
        raw = {k: v for k, v in account.items() if not k.startswith("@")}
        ext = account.get(cfg.match_field)
        raw["_links"] = {cfg.external_id_source: str(ext)} if ext and cfg.external_id_source else {}
        return raw


# -- sink ---------------------------------------------------------------------------------------------


class DynamicsSink(KeyedBatchSink[str]):
    """Credit limit, credit hold and band onto accounts by the match column: one ``$batch`` per delivery."""

    def __init__(self, client: DynamicsClient, boundary: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        self.client = client
        self.config = client.config
        self.batch_size = client.config.batch_size
        self.boundary = boundary

    def check(self) -> None:
        try:
            self.client.token()
        except SourceError as exc:
            raise SinkError(str(exc), retryable=exc.retryable) from exc

    def handles(self, event: OutboxEvent) -> bool:
        cfg = self.config
        if event.kind == "flag":
            return cfg.write_credit_hold and event.code == "CREDIT_HOLD"
        if event.kind == "band":
            return bool(cfg.band_field)
        return cfg.write_credit_limit

    def key(self, event: OutboxEvent) -> str | None:
        source = self.config.external_id_source
        return event.links.get(source) if source else event.customer_id

    def unlinked_reason(self, event: OutboxEvent) -> str:
        return f"customer {event.customer_id} has no {self.config.match_field}"

    def _changes(self, events: Sequence[OutboxEvent]) -> tuple[dict[str, Any], str | None]:
        """The columns to set for one account's events (in order: the latest wins), or an error."""
        cfg = self.config
        changes: dict[str, Any] = {}
        for e in events:
            if e.kind == "flag":
                changes["creditonhold"] = e.action == "raised"
            elif e.kind == "credit_limit":
                changes["creditlimit"] = e.amount
            elif e.kind == "band":
                if cfg.band_choices:
                    if e.band not in cfg.band_choices:
                        return {}, f"band {e.band!r} has no value in band_choices"
                    changes[cfg.band_field] = cfg.band_choices[e.band]
                else:
                    changes[cfg.band_field] = e.band
        return changes, None

    def _read(self, keys: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Match value -> (accountid, etag), 25 accounts per query."""
        field_ = self.config.match_field
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(keys), 25):
            chunk = keys[start : start + 25]
            params = {
                "$select": f"accountid,{field_}",
                "$filter": " or ".join(f"{field_} eq {odata_quote(k)}" for k in chunk),
            }

            def fetch(next_link: str | None, params: dict[str, str] = params) -> dict[str, Any]:
                url, query = ("accounts", params) if next_link is None else (next_link, None)
                body: dict[str, Any] = self.client.request("GET", url, params=query).json()
                return body

            paginator = NextLinkPaginator("@odata.nextLink", what=f"{SYSTEM} accounts by {field_}")
            for body in paginator.pages(fetch):
                for row in body.get("value", []):
                    found[str(row.get(field_))] = (str(row["accountid"]), str(row["@odata.etag"]))
        return found

    def _reread(self, account_id: str) -> str | None:
        response = self.client.request("GET", f"accounts({account_id})", params={"$select": "accountid"}, ok=(404,))
        return None if response.status_code == 404 else str(response.json()["@odata.etag"])

    def write(self, by_key: Mapping[str, Sequence[OutboxEvent]]) -> dict[str, DeliveryResult]:
        results: dict[str, DeliveryResult] = {}

        def settle(
            key: str, ok: bool, error: str | None = None, permanent: bool = False, wait: float | None = None
        ) -> None:
            for e in by_key[key]:
                results[e.event_id] = DeliveryResult(e.event_id, ok, error, permanent, retry_after=wait)

        rows = self._read(list(by_key))
        pending: list[tuple[str, str, str, dict[str, Any]]] = []  # key, accountid, etag, changes
        for key, events in by_key.items():
            changes, problem = self._changes(events)
            if problem:
                settle(key, False, problem, True)
            elif key not in rows:
                for e in events:
                    results[e.event_id] = DeliveryResult.unlinked(
                        e.event_id, f"no {SYSTEM} account with {self.config.match_field} = {key!r}"
                    )
            else:
                pending.append((key, *rows[key], changes))
        for round_ in (1, 2):
            if not pending:
                break
            answers = self._batch(pending)
            retry: list[tuple[str, str, str, dict[str, Any]]] = []
            for (key, account_id, _etag, changes), answer in zip(pending, answers, strict=True):
                if answer.status < 300:
                    settle(key, True)
                elif answer.status == 412 and round_ == 1:
                    fresh = self._reread(account_id)  # changed since we read it: read again, send once more
                    if fresh is None:
                        settle(key, False, f"{SYSTEM} account {account_id} was deleted")
                    else:
                        retry.append((key, account_id, fresh, changes))
                else:  # a 412 the second time may pass later; another 4xx as hub.http classifies it
                    text = _error_text(answer.status, answer.body)
                    permanent = (
                        400 <= answer.status < 500 and answer.status != 412 and not retryable_status(answer.status)
                    )
                    wait = retry_after_seconds(httpx.Response(answer.status, headers=answer.headers))
                    error = f"{SYSTEM} refused the update (HTTP {answer.status}): {text}"
                    settle(key, False, error, permanent, wait)
            pending = retry
        return results

    def _batch(self, pending: Sequence[tuple[str, str, str, dict[str, Any]]]) -> list[BatchResponse]:
        boundary = self.boundary()
        requests = [
            BatchRequest("PATCH", f"{self.client.base}/accounts({account_id})", dumps(changes), {"If-Match": etag})
            for _, account_id, etag, changes in pending
        ]
        response = self.client.request(
            "POST",
            "$batch",
            content=build_batch(requests, boundary).encode("utf-8"),
            headers={
                "Content-Type": f"multipart/mixed; boundary=batch_{boundary}",
                "Prefer": "odata.continue-on-error",
            },
            ok=(400,),
        )
        content_type = response.headers.get("Content-Type", "")
        if response.status_code == 400 and not content_type.lower().startswith("multipart/"):
            # Refused as a whole (an OData error body, not the answers of its requests): the same
            # batch is refused again, so the events go to the dead letters with Dataverse's reason.
            raise self.client.error(
                f"POST {httpx.URL(self.client.base + '/$batch').path}: HTTP 400: {_error_text(400, response.text)}",
                status=400,
            )
        try:
            answers = parse_batch(response.text, content_type)
        except ValueError as exc:
            raise self.client.error(f"unreadable $batch response: {exc}") from None
        by_id = {a.content_id: a for a in answers if a.content_id}
        ordered = [by_id.get(str(i)) for i in range(1, len(requests) + 1)]
        if all(ordered):
            return [a for a in ordered if a is not None]
        if len(answers) == len(requests):
            return answers
        # Without continue-on-error honoured, the batch stops at the first failure: that answer is the
        # failing request's; the ones after it were not processed.
        out = []
        for i in range(len(requests)):
            got = ordered[i] or (answers[i] if i < len(answers) else None)
            out.append(got or BatchResponse(503, {}, "not processed: the batch stopped at an earlier failure"))
        return out


def create(
    name: str,
    config: DynamicsConfig,
    context: ConnectorContext | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    transport: httpx.BaseTransport | None = None,
    boundary: Callable[[], str] | None = None,
) -> Connector:
    client = DynamicsClient(name, config, sleep=sleep, clock=clock, transport=transport)
    sink = None
    if config.push:
        sink = DynamicsSink(client, boundary) if boundary else DynamicsSink(client)
    return Connector(
        name=name,
        type=TYPE_NAME,
        source=DynamicsSource(client) if config.streams else None,
        sink=sink,
        close=client.close,
    )


def _create(name: str, config: DynamicsConfig, context: ConnectorContext) -> Connector:
    return create(name, config, context)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "Dynamics 365 / Dataverse accounts in; credit limit, credit hold and risk band out (Web API $batch).",
            DynamicsConfig,
            _create,
        )
    ]
