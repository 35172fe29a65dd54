"""``hubspot`` connector: companies in (CRM v3), risk band and flags out (batch upsert by a unique property).

Configure an instance::

    [connectors.hubspot]
    type = "hubspot"
    token = { env = "HUBSPOT_TOKEN" }        # private app access token
    id_property = "erp_customer_id"         # unique company property holding the ERP customer id
    external_id_source = "erp"              # ...of this connector instance (default: canonical id)
    band_property = "risk_band"             # enumeration (select), created if missing; "" to not write
    flags_property = "risk_flags"           # enumeration (checkboxes), created if missing; "" to not write
    credit_limit_property = ""              # a number property to write approved limits to, if any

**Auth**: ``Authorization: Bearer <token>`` (scopes ``crm.objects.companies.read``/``.write`` and
``crm.schemas.companies.read``/``.write`` for the property creation).

**Source** (stream ``customers``, mapping ``hubspot-companies``): a first read lists
``GET /crm/v3/objects/companies`` page by page (``after``); later reads search
``POST /crm/v3/objects/companies/search`` for ``hs_lastmodifieddate >= <last seen>``, sorted by it,
so only changed companies come back. Each page's cursor is the last modification time and the ids
seen at exactly that instant. The search stops at 10,000 results per query, so the connector starts
a new query from the last modification time before it gets there.

**Sink**: once per run the band and flags properties are checked
(``GET /crm/v3/properties/companies/<name>``) and created when missing (``POST``), and a flag code
that is not yet an option of the flags property is added to it (``PATCH``). Per batch of at most 100
companies, ``POST .../batch/read`` by ``idProperty`` reads the current flags (and tells which
companies exist: a company is never created from a risk event; its events fail and are retried),
then ``POST .../batch/upsert`` by ``idProperty`` writes the new values. A ``207 Multi-Status`` answer
is read per company (``errors[].context.ids``); a batch refused as a whole with ``400`` is sent again
one company at a time, so one bad value does not hold up the others.

**Limits**: a token bucket keeps to ``requests_per_10s`` (default 100, the Free/Starter limit;
190 for Professional/Enterprise) and searches to 4 a second. ``X-HubSpot-RateLimit-Remaining: 0``
waits for the window (``X-HubSpot-RateLimit-Interval-Milliseconds``). A ``429`` whose
``policyName`` is ``TEN_SECONDLY_ROLLING`` (or any other short window) waits ``Retry-After`` or the
window and tries again; ``DAILY`` stops: SourceError for a sync, SinkError for a push, never a
permanent failure, asking to wait ``Retry-After`` or an hour (HubSpot resets the allowance at
midnight in the account's time zone and says neither): the outbox keeps the rows waiting, tried
each hour, for up to ``[outbox] throttle_patience_seconds`` (two days) instead of spending their
attempts. A 429 still answered after ``throttle_retries``
waits fails the same way, and both errors carry the last answer's ``Retry-After``, so the outbox (or
a queued job) does not try again sooner than HubSpot asked. Any other 4xx (``400``, ``403
MISSING_SCOPES``, ``404``) is a refusal that sending again cannot change: the error is not
retryable, as :class:`hub.HttpError` is not for those statuses, and a push's batch goes to the dead
letters at once with HubSpot's message instead of being retried until it dies.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx
from pydantic import Field

from hub import (
    RETRY_STATUSES,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    CursorPaginator,
    DeliveryResult,
    HttpClient,
    HttpError,
    JSONValue,
    KeyedBatchSink,
    OutboxEvent,
    Page,
    RetryPolicy,
    ServiceError,
    SinkError,
    Source,
    SourceError,
    StreamSpec,
    TokenBucket,
    get_logger,
    hookimpl,
    retry_after_seconds,
)

log = get_logger(__name__)

SYSTEM = "HubSpot"
TYPE_NAME = "hubspot"
MAX_BATCH = 100
SEARCH_LIMIT = 10_000
BANDS = ("A", "B", "C", "D", "E")
#: Statuses hub.http retries by itself; 429 is HubSpot's own business here (policyName decides).
RETRY = RETRY_STATUSES - {429}
CLIENT_ERRORS = frozenset(range(400, 500)) - RETRY
COMPANY_PROPERTIES = ("name", "domain", "country", "hs_lastmodifieddate")
#: Where list and search answers name the next page.
NEXT_PAGE = ("paging", "next", "after")


class HubSpotConfig(ConnectorConfig):
    token: str
    base_url: str = "https://api.hubapi.com"
    streams: list[str] = Field(default_factory=lambda: ["customers"], description="[] for a sink-only instance.")
    push: bool = True
    id_property: str = "erp_customer_id"
    external_id_source: str | None = None
    band_property: str = "risk_band"
    flags_property: str = "risk_flags"
    credit_limit_property: str = ""
    create_properties: bool = True
    property_group: str = "companyinformation"
    extra_properties: list[str] = Field(default_factory=list)
    page_size: int = Field(default=100, ge=1, le=100)
    batch_size: int = Field(default=MAX_BATCH, ge=1, le=MAX_BATCH)
    requests_per_10s: int = Field(default=100, ge=1)
    throttle_retries: int = Field(default=3, ge=0)
    timeout: float = Field(default=30.0, gt=0)


class HubSpotError(ServiceError):
    """HubSpot refused or failed a call; the message names the system and the connector instance
    (``status``, and whether it is retryable: :class:`hub.ServiceError`)."""


DAILY_LIMIT_WAIT = 3600.0
"""Seconds to wait after ``policyName: DAILY`` without a ``Retry-After``, then try again."""


class HubSpotDailyLimit(HubSpotError):
    """The account's daily API allowance is used up: nothing more until tomorrow."""


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _http_date(value: str | None) -> str | None:
    """An HTTP ``Date`` header as HubSpot writes datetimes (``2026-02-01T10:05:00.000Z``), or None."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _millis(stamp: str) -> str:
    """``2024-05-01T10:00:00.123Z`` -> ``"1714557600123"`` (what search filters on datetimes take)."""
    when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return str(int(when.timestamp() * 1000))


class HubSpotClient:
    def __init__(
        self,
        name: str,
        config: HubSpotConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.sleep = sleep
        self.http = HttpClient(
            config.base_url,
            name=name,
            timeout=config.timeout,
            headers={"Authorization": f"Bearer {config.token}", "Accept": "application/json"},
            rate=TokenBucket.per_window(config.requests_per_10s, 10.0, clock=clock, sleep=sleep),
            retry=RetryPolicy(attempts=4, statuses=RETRY),
            transport=transport,
            sleep=sleep,
        )
        self.search_rate = TokenBucket(4.0, burst=4, clock=clock, sleep=sleep)
        self.window: float | None = None  # seconds to wait before the next call (the window is spent)

    def error(
        self,
        text: str,
        kind: type[HubSpotError] = HubSpotError,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> HubSpotError:
        """``text`` as a :class:`HubSpotError` naming the connector; ``status`` decides whether it is
        retryable, ``retry_after`` is what the answer's ``Retry-After`` asked for."""
        error = kind(f"{SYSTEM} (connector {self.name}): {text}", status=status)
        error.retry_after = retry_after
        return error

    def request(self, method: str, url: str, *, ok: Sequence[int] = (), **kwargs: Any) -> httpx.Response:
        if url.endswith("/search"):
            self.search_rate.acquire()
        throttled = 0
        while True:
            if self.window:
                self.sleep(self.window)
                self.window = None
            try:
                response = self.http.request(method, url, ok=CLIENT_ERRORS | {429}, **kwargs)
            except SourceError as exc:  # retries exhausted, transport errors: the HttpError says how retryable
                raise self.error(str(exc), status=exc.status if isinstance(exc, HttpError) else None) from exc
            self._note_limits(response)
            if response.status_code != 429:
                break
            body = _body(response)
            policy = str(body.get("policyName", ""))
            asked = retry_after_seconds(response)
            if policy == "DAILY":
                raise self.error(
                    f"daily API limit reached, retry tomorrow: {body.get('message')}",
                    HubSpotDailyLimit,
                    status=429,
                    # HubSpot says neither when nor in which time zone the allowance comes back: asked
                    # to wait an hour, so the outbox keeps the rows waiting (a throttle, not a failure).
                    retry_after=asked if asked is not None else DAILY_LIMIT_WAIT,
                )
            throttled += 1
            if throttled > self.config.throttle_retries:
                raise self.error(
                    f"still rate limited ({policy or 'HTTP 429'}) after {throttled - 1} waits",
                    status=429,
                    retry_after=asked,
                )
            wait = asked
            if wait is None:
                wait = self._interval(response)
            log.info("hubspot.throttled", connector=self.name, policy=policy, wait=wait)
            self.sleep(wait)
        if response.status_code < 400 or response.status_code in ok:
            return response
        body = _body(response)
        detail = f"{body.get('category', '')}: {body.get('message', '')}".strip(": ") or response.text[:200]
        raise self.error(
            f"{method} {httpx.URL(url).path}: HTTP {response.status_code}: {detail}", status=response.status_code
        )

    @staticmethod
    def _interval(response: httpx.Response) -> float:
        try:
            return int(response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")) / 1000
        except ValueError:
            return 10.0

    def _note_limits(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-HubSpot-RateLimit-Remaining")
        if remaining is not None and remaining.strip().isdigit() and int(remaining) <= 0:
            self.window = self._interval(response)

    def json(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        return _body(self.request(method, url, **kwargs))

    def close(self) -> None:
        self.http.close()


class HubSpotSource(Source):
    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self.config = client.config

    def streams(self) -> Sequence[StreamSpec]:
        if "customers" not in self.config.streams:
            return []
        return [StreamSpec("customers", "customer", "hubspot-companies", "merge")]

    def properties(self) -> list[str]:
        cfg = self.config
        wanted = [*COMPANY_PROPERTIES, cfg.id_property, cfg.credit_limit_property, *cfg.extra_properties]
        return list(dict.fromkeys(p for p in wanted if p))

    def check(self) -> None:
        self.client.request("GET", "/crm/v3/objects/companies", params={"limit": 1})

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        state = cursor if isinstance(cursor, dict) else {}
        since: str | None = state.get("since")
        seen: set[str] = set(state.get("seen", []))
        if state.get("after") is not None or since is None:
            yield from self._list(state.get("after"), since, seen, state.get("began"))
        else:
            yield from self._search(since, seen)

    def _list(self, after: str | None, since: str | None, seen: set[str], began: str | None) -> Iterator[Page]:
        """The first, full read: every company, page by page (in id order, not by change).

        A company changed while the list is being read may already have been listed with its old
        values, so the incremental reads that follow start from when the list began (the server's
        ``Date``) if that is earlier than the newest change seen.
        """
        paginator = CursorPaginator(NEXT_PAGE, what=f"{SYSTEM} companies (connector {self.client.name})")
        paginator.start(after)
        while True:
            params: dict[str, Any] = {"limit": self.config.page_size, "properties": ",".join(self.properties())}
            if after:
                params["after"] = after
            response = self.client.request("GET", "/crm/v3/objects/companies", params=params)
            if began is None:
                began = _http_date(response.headers.get("Date"))
            body = _body(response)
            results = body.get("results", [])
            for company in results:
                stamp = self._stamp(company)
                if since is None or stamp > since:
                    since, seen = stamp, set()
                if stamp == since:
                    seen.add(str(company["id"]))
            after = paginator.advance(body)
            cursor: dict[str, Any] = {"since": since, "seen": sorted(seen), "after": after, "began": began}
            if not after:
                if began and since and began < since:
                    cursor["since"], cursor["seen"] = began, []
                del cursor["began"]
            yield Page([self._raw(c) for c in results], cursor, label=f"{SYSTEM} companies")
            if not after:
                return

    def _search(self, since: str, seen: set[str]) -> Iterator[Page]:
        """Changed companies, oldest change first; a new query before the 10,000-result search limit."""
        after: str | None = None
        start = since  # the filter stays the same for every page of one query
        paginator = CursorPaginator(NEXT_PAGE, what=f"{SYSTEM} company search (connector {self.client.name})")
        while True:
            payload: dict[str, Any] = {
                "filterGroups": [
                    {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": _millis(start)}]}
                ],
                "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                "properties": self.properties(),
                "limit": self.config.page_size,
            }
            if after:
                payload["after"] = after
            body = self.client.json("POST", "/crm/v3/objects/companies/search", json=payload)
            records = []
            for company in body.get("results", []):
                stamp, cid = self._stamp(company), str(company["id"])
                if stamp < since or (stamp == since and cid in seen):
                    continue
                if stamp != since:
                    since, seen = stamp, set()
                seen.add(cid)
                records.append(self._raw(company))
            yield Page(records, {"since": since, "seen": sorted(seen)}, label=f"{SYSTEM} companies (changed)")
            after = paginator.advance(body)
            if not after:
                return
            if int(after) + self.config.page_size > SEARCH_LIMIT:
                after, start = None, since  # a new query from `since`: the seen ids keep it from repeating
                paginator.reset()

    @staticmethod
    def _stamp(company: dict[str, Any]) -> str:
        props = company.get("properties") or {}
        return str(props.get("hs_lastmodifieddate") or company.get("updatedAt") or "")

    def _raw(self, company: dict[str, Any]) -> dict[str, Any]:
        cfg = self.config
        props = dict(company.get("properties") or {})
        raw: dict[str, Any] = {**props, "id": str(company["id"]), "updatedAt": company.get("updatedAt")}
        raw["_credit_limit"] = props.get(cfg.credit_limit_property) if cfg.credit_limit_property else None
        ext = props.get(cfg.id_property)
        raw["_links"] = {cfg.external_id_source: str(ext)} if ext and cfg.external_id_source else {}
        return raw


class HubSpotSink(KeyedBatchSink[str]):
    """Band, flags and credit limit onto companies by a unique property, up to 100 companies per upsert."""

    chunk_size = MAX_BATCH

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self.config = client.config
        self.batch_size = client.config.batch_size
        self._options: dict[str, set[str]] | None = None  # property -> option values, once checked

    def check(self) -> None:
        try:
            self.client.request("GET", f"/crm/v3/properties/companies/{self.config.id_property}")
        except SourceError as exc:
            raise SinkError(str(exc), retryable=exc.retryable) from exc

    def handles(self, event: OutboxEvent) -> bool:
        return bool(self._property(event))  # "" in the config: this instance does not write that kind

    def key(self, event: OutboxEvent) -> str | None:
        source = self.config.external_id_source
        return event.links.get(source) if source else event.customer_id

    def unlinked_reason(self, event: OutboxEvent) -> str:
        return (
            f"customer {event.customer_id} has no id from {self.config.external_id_source} "
            f"to match {self.config.id_property}"
        )

    def _property(self, event: OutboxEvent) -> str:
        cfg = self.config
        return {"flag": cfg.flags_property, "band": cfg.band_property, "credit_limit": cfg.credit_limit_property}[
            event.kind
        ]

    def prepare(self, groups: Mapping[str, Sequence[OutboxEvent]]) -> None:
        self._ensure_properties({e.code for events in groups.values() for e in events if e.kind == "flag"})

    # -- properties ---------------------------------------------------------------------------------

    def _ensure_properties(self, codes: set[str]) -> None:
        cfg = self.config
        if self._options is None:
            options: dict[str, set[str]] = {}
            for name, field_type, values in (
                (cfg.band_property, "select", set(BANDS)),
                (cfg.flags_property, "checkbox", set()),
            ):
                if not name:
                    continue
                response = self.client.request("GET", f"/crm/v3/properties/companies/{name}", ok=(404,))
                if response.status_code == 404:
                    if not cfg.create_properties:
                        raise self.client.error(f"company property {name!r} does not exist (create_properties = false)")
                    self.client.request(
                        "POST", "/crm/v3/properties/companies", json=self._definition(name, field_type, values)
                    )
                    options[name] = set(values)
                else:
                    options[name] = {str(o.get("value")) for o in _body(response).get("options", [])}
            self._options = options
        flags = cfg.flags_property
        if flags and flags in self._options and not codes <= self._options[flags]:
            wanted = sorted(self._options[flags] | codes)
            self.client.request("PATCH", f"/crm/v3/properties/companies/{flags}", json={"options": _options(wanted)})
            self._options[flags] = set(wanted)

    def _definition(self, name: str, field_type: str, values: set[str]) -> dict[str, Any]:
        label = "Risk band" if field_type == "select" else "Risk flags"
        return {
            "name": name,
            "label": label,
            "type": "enumeration",
            "fieldType": field_type,
            "groupName": self.config.property_group,
            "description": "Written by the receivables hub.",
            "options": _options(sorted(values)),
        }

    # -- records ------------------------------------------------------------------------------------

    def _current(self, keys: Sequence[str]) -> dict[str, set[str]]:
        cfg = self.config
        body = self.client.json(
            "POST",
            "/crm/v3/objects/companies/batch/read",
            json={
                "idProperty": cfg.id_property,
                "inputs": [{"id": k} for k in keys],
                "properties": [p for p in (cfg.id_property, cfg.flags_property) if p],
            },
        )
        found: dict[str, set[str]] = {}
        for company in body.get("results", []):
            props = company.get("properties") or {}
            text = props.get(cfg.flags_property) if cfg.flags_property else None
            found[str(props.get(cfg.id_property))] = {f for f in str(text or "").split(";") if f}
        return found

    def write(self, chunk: Mapping[str, Sequence[OutboxEvent]]) -> dict[str, DeliveryResult]:
        cfg = self.config
        current = self._current(list(chunk))
        results: dict[str, DeliveryResult] = {}
        inputs: dict[str, dict[str, Any]] = {}
        for key, events in chunk.items():
            if key not in current:
                for e in events:
                    results[e.event_id] = DeliveryResult.unlinked(
                        e.event_id, f"no {SYSTEM} company with {cfg.id_property} = {key!r}"
                    )
                continue
            flags = set(current[key])
            props: dict[str, str] = {}
            for e in events:
                if e.kind == "flag":
                    self.apply_flag(flags, e)
                    props[cfg.flags_property] = ";".join(sorted(flags))
                elif e.kind == "band":
                    props[cfg.band_property] = e.band
                elif e.kind == "credit_limit":
                    props[cfg.credit_limit_property] = format(e.amount, "f")
            inputs[key] = {"id": key, "idProperty": cfg.id_property, "properties": props}
        outcome = self._send(list(inputs.values())) if inputs else {}
        for key in inputs:
            ok, error, permanent = outcome.get(key, (False, f"{SYSTEM} reported nothing for this company", False))
            for e in chunk[key]:
                results[e.event_id] = DeliveryResult(e.event_id, ok, error, permanent)
        return results

    def _send(self, inputs: list[dict[str, Any]]) -> dict[str, tuple[bool, str | None, bool]]:
        """Upsert; per id property value: (ok, error, permanent)."""
        response = self.client.request(
            "POST", "/crm/v3/objects/companies/batch/upsert", json={"inputs": inputs}, ok=(400,)
        )
        body = _body(response)
        if response.status_code == 400:
            if len(inputs) > 1:  # the batch was refused as a whole: find the bad ones one by one
                out: dict[str, tuple[bool, str | None, bool]] = {}
                for one in inputs:
                    out.update(self._send([one]))
                return out
            return {inputs[0]["id"]: (False, f"{SYSTEM} refused: {_message(body)}", True)}
        out = {}
        for company in body.get("results", []):
            value = (company.get("properties") or {}).get(self.config.id_property)
            if value is not None:
                out[str(value)] = (True, None, False)
        unexplained = [i["id"] for i in inputs if i["id"] not in out]
        for error in body.get("errors", []):
            ids = [str(i) for i in (error.get("context") or {}).get("ids", [])] or unexplained
            permanent = error.get("category") in ("VALIDATION_ERROR", "INVALID_OPTION", "PROPERTY_DOESNT_EXIST")
            for value in ids:
                out[value] = (False, f"{SYSTEM} refused: {_message(error)}", permanent)
        if len(inputs) == 1 and response.status_code < 300 and not body.get("errors") and not out:
            out[inputs[0]["id"]] = (True, None, False)  # a lone upsert answered without echoing the id property
        return out


def _message(body: dict[str, Any]) -> str:
    text = f"{body.get('category', '')}: {body.get('message', '')}".strip(": ")
    return text or json.dumps(body)[:200]


def _options(values: Sequence[str]) -> list[dict[str, Any]]:
    return [{"label": v, "value": v, "displayOrder": i, "hidden": False} for i, v in enumerate(values)]


def create(
    name: str,
    config: HubSpotConfig,
    context: ConnectorContext | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    transport: httpx.BaseTransport | None = None,
) -> Connector:
    client = HubSpotClient(name, config, sleep=sleep, clock=clock, transport=transport)
    return Connector(
        name=name,
        type=TYPE_NAME,
        source=HubSpotSource(client) if config.streams else None,
        sink=HubSpotSink(client) if config.push else None,
        close=client.close,
    )


def _create(name: str, config: HubSpotConfig, context: ConnectorContext) -> Connector:
    return create(name, config, context)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "HubSpot companies in (CRM v3); risk band and flags out (batch upsert by a unique property).",
            HubSpotConfig,
            _create,
        )
    ]
