"""HubSpot connector against a respx fake shaped like the CRM v3 documentation.

Shapes the fake answers with: list ``{"results": [{"id", "properties", "createdAt", "updatedAt",
"archived"}], "paging": {"next": {"after", "link"}}}``; search (same, with ``total``); batch read
and batch upsert ``{"status": "COMPLETE", "results": [...], "startedAt", "completedAt"}`` and, on a
partial failure, HTTP 207 with ``"numErrors"`` and ``"errors": [{"status": "error", "category",
"message", "context": {"ids": [...]}}]``; properties ``GET/POST/PATCH /crm/v3/properties/companies``;
errors ``{"status": "error", "message", "correlationId", "category"}``; 429 ``{"status": "error",
"message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT",
"correlationId", "policyName": "TEN_SECONDLY_ROLLING" | "DAILY"}``; and the
``X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds`` headers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from hub_connectors import hubspot as hs

from hub.app import Hub
from hub.config import load_config
from hub.connector import Connector, DeliveryResult
from hub.errors import SinkError, SourceError, retry_after
from hub.model import OutboxEvent
from hub.store import schema

from .contract import ConnectorContract, FaultQueue, read_all
from .events import band, flag

BASE = "https://api.hubapi.com"
TOKEN = "pat-eu1-11111111-2222-3333-4444-555555555555"
CORRELATION = "aeb5f871-7f07-4993-9211-075dc63e7cbf"


def stamp(minute: int) -> str:
    return f"2026-02-01T10:{minute:02d}:00.000Z"


class FakeHubSpot:
    system = "HubSpot"
    secrets = (TOKEN,)
    stream = "customers"

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.companies: list[dict[str, Any]] = []
        self.properties: dict[str, dict[str, Any]] = {
            "erp_customer_id": {"name": "erp_customer_id", "type": "string", "hasUniqueValue": True, "options": []}
        }
        self.faults = FaultQueue()
        self.remaining = 99
        self.date: str | None = None  # the Date header, when set
        self.refuse: dict[str, tuple[str, str]] = {}  # erp id -> category, message
        self.refuse_batch: dict[str, str] = {}  # erp id -> message: the whole batch gets a 400
        self.upserts: list[dict[str, Any]] = []
        self.searches: list[dict[str, Any]] = []
        self.clock = 30
        for n in range(1, 6):
            self.add(f"C{n}", f"Customer {n} Ltd", minute=n)
        self.router = respx.mock(assert_all_called=False)
        r = self.router
        r.get(f"{BASE}/crm/v3/objects/companies").mock(side_effect=self._list)
        r.post(f"{BASE}/crm/v3/objects/companies/search").mock(side_effect=self._search)
        r.post(f"{BASE}/crm/v3/objects/companies/batch/read").mock(side_effect=self._batch_read)
        r.post(f"{BASE}/crm/v3/objects/companies/batch/upsert").mock(side_effect=self._upsert)
        r.get(url__regex=rf"^{BASE}/crm/v3/properties/companies/\w+$").mock(side_effect=self._get_property)
        r.post(f"{BASE}/crm/v3/properties/companies").mock(side_effect=self._create_property)
        r.patch(url__regex=rf"^{BASE}/crm/v3/properties/companies/\w+$").mock(side_effect=self._patch_property)

    def add(self, erp_id: str, name: str, *, minute: int) -> dict[str, Any]:
        company = {
            "id": str(5120 + len(self.companies) + 1),
            "properties": {
                "name": name,
                "domain": f"{erp_id.lower()}.example.com",
                "country": "United Kingdom",
                "erp_customer_id": erp_id,
                "hs_lastmodifieddate": stamp(minute),
                "hs_object_id": str(5120 + len(self.companies) + 1),
            },
            "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": stamp(minute),
            "archived": False,
        }
        self.companies.append(company)
        return company

    def by_erp(self, erp_id: str) -> dict[str, Any]:
        return next(c for c in self.companies if c["properties"].get("erp_customer_id") == erp_id)

    # -- contract hooks ---------------------------------------------------------------------------------

    def record_id(self, raw: Any) -> str:
        return str(raw["id"])

    def full_ids(self) -> set[str]:
        return {c["id"] for c in self.companies}

    def change(self) -> set[str]:
        touched = self.by_erp("C2")
        touched["properties"]["name"] = "Customer 2 Holdings"
        touched["properties"]["hs_lastmodifieddate"] = stamp(40)
        added = self.add("C6", "Customer 6 plc", minute=41)
        return {touched["id"], added["id"]}

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self.faults.push(httpx.Response(status, json={"status": "error", "message": "internal error"}), times)

    def throttle_next(self, seconds: int) -> None:
        self.faults.push(self._429("TEN_SECONDLY_ROLLING", {"Retry-After": str(seconds)}))

    def go_down(self) -> None:
        self.faults.down = True

    def sink_events(self) -> tuple[list[OutboxEvent], set[str]]:
        self.refuse["C3"] = ("VALIDATION_ERROR", "Property values were not valid")
        events: list[OutboxEvent] = [band("C1", "B"), band("C3", "D"), flag("C2", "OVER_LIMIT", "raised")]
        return events, {events[1].event_id}

    # -- routes -----------------------------------------------------------------------------------------

    @staticmethod
    def _429(policy: str, headers: dict[str, str] | None = None) -> httpx.Response:
        limit = "ten_secondly_rolling" if policy == "TEN_SECONDLY_ROLLING" else "daily"
        return httpx.Response(
            429,
            headers=headers or {},
            json={
                "status": "error",
                "message": f"You have reached your {limit} limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": CORRELATION,
                "policyName": policy,
            },
        )

    def _gate(self, request: httpx.Request) -> httpx.Response | None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return httpx.Response(
                401,
                json={
                    "status": "error",
                    "message": "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                    "correlationId": CORRELATION,
                    "category": "INVALID_AUTHENTICATION",
                },
            )
        return self.faults.take()

    def _ok(self, body: dict[str, Any], status: int = 200) -> httpx.Response:
        self.remaining = max(0, self.remaining - 1)
        headers = {
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Remaining": str(self.remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
        if self.date:
            headers["Date"] = self.date
        return httpx.Response(status, json=body, headers=headers)

    def _shape(self, company: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
        props = company["properties"]
        return company | {"properties": {k: props.get(k) for k in wanted}}

    def _list(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        params = request.url.params
        wanted = params.get("properties", "").split(",")
        ordered = sorted(self.companies, key=lambda c: int(c["id"]))
        start = int(params.get("after", "0"))
        limit = min(int(params["limit"]), self.page_size)
        page = [c for c in ordered if int(c["id"]) > start][:limit]
        body: dict[str, Any] = {"results": [self._shape(c, wanted) for c in page]}
        if page and page[-1] is not ordered[-1]:
            after = page[-1]["id"]
            body["paging"] = {"next": {"after": after, "link": f"{BASE}/crm/v3/objects/companies?after={after}"}}
        return self._ok(body)

    def _search(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        query = json.loads(request.content)
        self.searches.append(query)
        [group] = query["filterGroups"]
        [flt] = group["filters"]
        assert (flt["propertyName"], flt["operator"]) == ("hs_lastmodifieddate", "GTE")
        since = dt.datetime.fromtimestamp(int(flt["value"]) / 1000, dt.UTC)
        hits = [
            c
            for c in self.companies
            if dt.datetime.fromisoformat(c["properties"]["hs_lastmodifieddate"].replace("Z", "+00:00")) >= since
        ]
        hits.sort(key=lambda c: c["properties"]["hs_lastmodifieddate"])
        start = int(query.get("after", 0))
        page = hits[start : start + min(query["limit"], self.page_size)]
        body: dict[str, Any] = {"total": len(hits), "results": [self._shape(c, query["properties"]) for c in page]}
        if start + len(page) < len(hits):
            body["paging"] = {"next": {"after": str(start + len(page))}}
        return self._ok(body)

    def _batch_read(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        query = json.loads(request.content)
        prop = query["idProperty"]
        results, missing = [], []
        for item in query["inputs"]:
            found = next((c for c in self.companies if c["properties"].get(prop) == item["id"]), None)
            if found is None:
                missing.append(item["id"])
            else:
                results.append(self._shape(found, query["properties"]))
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": stamp(0),
            "completedAt": stamp(0),
        }
        if missing:
            body |= {
                "numErrors": 1,
                "errors": [
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "Could not get some COMPANY objects, they may be deleted or not exist.",
                        "context": {"ids": missing},
                    }
                ],
            }
        return self._ok(body, 207 if missing else 200)

    def _upsert(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        body = json.loads(request.content)
        self.upserts.append(body)
        inputs = body["inputs"]
        assert len(inputs) <= 100
        for item in inputs:
            if item["id"] in self.refuse_batch:
                return httpx.Response(
                    400,
                    json={
                        "status": "error",
                        "message": self.refuse_batch[item["id"]],
                        "correlationId": CORRELATION,
                        "category": "VALIDATION_ERROR",
                    },
                )
        results, errors = [], []
        for item in inputs:
            prop = item["idProperty"]
            if item["id"] in self.refuse:
                category, message = self.refuse[item["id"]]
                errors.append(
                    {"status": "error", "category": category, "message": message, "context": {"ids": [item["id"]]}}
                )
                continue
            for name, value in item["properties"].items():
                spec = self.properties.get(name)
                assert spec is not None, f"property {name} does not exist"
                allowed = {o["value"] for o in spec["options"]}
                if spec["type"] == "enumeration" and not set(value.split(";")) - {""} <= allowed:
                    errors.append(
                        {
                            "status": "error",
                            "category": "VALIDATION_ERROR",
                            "message": f"{value} was not one of the allowed options",
                            "context": {"ids": [item["id"]]},
                        }
                    )
                    break
            else:
                company = next(c for c in self.companies if c["properties"].get(prop) == item["id"])
                company["properties"].update(item["properties"])
                self.clock += 1
                company["properties"]["hs_lastmodifieddate"] = stamp(self.clock)
                results.append(company | {"properties": {prop: item["id"], **item["properties"]}, "new": False})
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": stamp(0),
            "completedAt": stamp(0),
        }
        if errors:
            answer |= {"numErrors": len(errors), "errors": errors}
        return self._ok(answer, 207 if errors else 200)

    def _get_property(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        name = request.url.path.rsplit("/", 1)[-1]
        if name not in self.properties:
            return httpx.Response(
                404,
                json={
                    "status": "error",
                    "message": f"Unable to find property {name}",
                    "correlationId": CORRELATION,
                    "category": "OBJECT_NOT_FOUND",
                },
            )
        return self._ok(self.properties[name])

    def _create_property(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        spec = json.loads(request.content)
        self.properties[spec["name"]] = spec
        return self._ok(spec, 201)

    def _patch_property(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        name = request.url.path.rsplit("/", 1)[-1]
        self.properties[name].update(json.loads(request.content))
        return self._ok(self.properties[name])


def config(**overrides: Any) -> hs.HubSpotConfig:
    return hs.HubSpotConfig.model_validate({"type": "hubspot", "token": TOKEN, "external_id_source": "erp"} | overrides)


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    server = FakeHubSpot()
    with server.router:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def conn(fake: FakeHubSpot, sleeps: list[float]) -> Iterator[Connector]:
    c = hs.create("hubspot", config(), sleep=sleeps.append, clock=lambda: 0.0)
    yield c
    c.close()


class TestHubSpotContract(ConnectorContract):
    @pytest.fixture
    def server(self) -> Iterator[FakeHubSpot]:
        server = FakeHubSpot()
        with server.router:
            yield server

    @pytest.fixture
    def connector(self, server: FakeHubSpot, sleeps: list[float]) -> Iterator[Connector]:
        c = hs.create("hubspot", config(), sleep=sleeps.append, clock=lambda: 0.0)
        yield c
        c.close()

    @pytest.fixture
    def bad_connector(self, server: FakeHubSpot, sleeps: list[float]) -> Iterator[Connector]:
        c = hs.create("hubspot", config(token="pat-eu1-revoked"), sleep=sleeps.append, clock=lambda: 0.0)
        yield c
        c.close()


# -- source ---------------------------------------------------------------------------------------------


def test_first_read_lists_companies_with_after_paging(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.source is not None
    pages = list(conn.source.read(conn.source.streams()[0], None))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    calls = [c.request.url for c in fake.router.calls]
    assert [u.params.get("after") for u in calls] == [None, "5122", "5124"]
    assert calls[0].params["properties"] == "name,domain,country,hs_lastmodifieddate,erp_customer_id"
    assert pages[-1].cursor == {"since": stamp(5), "seen": ["5125"], "after": None}
    first = pages[0].records[0]
    assert (first["id"], first["name"], first["_links"]) == ("5121", "Customer 1 Ltd", {"erp": "C1"})


def test_later_reads_search_by_last_modified_date_ascending(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.source is not None
    _, cursor = read_all(conn.source, "customers")
    fake.change()
    records, _ = read_all(conn.source, "customers", cursor)
    assert [r["name"] for r in records] == ["Customer 2 Holdings", "Customer 6 plc"]
    first = fake.searches[0]
    assert first["filterGroups"] == [
        {"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "1769940300000"}]}
    ]
    assert first["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]


def test_a_daily_limit_429_stops_at_once(fake: FakeHubSpot, conn: Connector, sleeps: list[float]) -> None:
    assert conn.source is not None
    fake.faults.push(fake._429("DAILY"))
    with pytest.raises(hs.HubSpotDailyLimit, match=r"HubSpot \(connector hubspot\): daily API limit reached"):
        read_all(conn.source, "customers")
    assert sleeps == [] and fake.faults.served == 1


def test_a_ten_secondly_429_without_retry_after_waits_the_interval(
    fake: FakeHubSpot, conn: Connector, sleeps: list[float]
) -> None:
    assert conn.source is not None
    fake.faults.push(fake._429("TEN_SECONDLY_ROLLING", {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}))
    records, _ = read_all(conn.source, "customers")
    assert len(records) == 5
    assert sleeps == [10.0]


def test_remaining_zero_waits_for_the_next_window(fake: FakeHubSpot, conn: Connector, sleeps: list[float]) -> None:
    assert conn.source is not None
    fake.remaining = 2  # the second answer says 0 left
    read_all(conn.source, "customers")
    assert sleeps == [10.0]


def test_the_client_keeps_to_100_requests_per_10_seconds(fake: FakeHubSpot) -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    c = hs.create("hubspot", config(), sleep=sleep, clock=lambda: now[0])
    assert c.source is not None
    fake.remaining = 10_000
    for _ in range(101):
        c.source.check()
    assert sum(waits) == pytest.approx(0.1)  # the 101st call waited for one token (10 s / 100)
    c.close()


# -- sink -----------------------------------------------------------------------------------------------


def test_missing_properties_are_created_before_the_first_upsert(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.sink is not None
    results = conn.sink.deliver([band("C1", "C"), flag("C1", "OVER_LIMIT", "raised")])
    assert all(r.ok for r in results)
    created = [
        json.loads(c.request.content) for c in fake.router.calls if c.request.url.path == "/crm/v3/properties/companies"
    ]
    assert [(p["name"], p["type"], p["fieldType"]) for p in created] == [
        ("risk_band", "enumeration", "select"),
        ("risk_flags", "enumeration", "checkbox"),
    ]
    assert [o["value"] for o in created[0]["options"]] == ["A", "B", "C", "D", "E"]
    patched = [json.loads(c.request.content) for c in fake.router.calls if c.request.method == "PATCH"]
    assert [o["value"] for o in patched[0]["options"]] == ["OVER_LIMIT"]
    assert fake.upserts == [
        {
            "inputs": [
                {
                    "id": "C1",
                    "idProperty": "erp_customer_id",
                    "properties": {"risk_band": "C", "risk_flags": "OVER_LIMIT"},
                }
            ]
        }
    ]
    assert fake.by_erp("C1")["properties"]["risk_flags"] == "OVER_LIMIT"


def test_flags_are_merged_with_those_already_on_the_company(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.sink is not None
    conn.sink.deliver([flag("C1", "OVERDUE_90", "raised")])
    conn.sink.deliver([flag("C1", "OVER_LIMIT", "raised"), flag("C1", "OVER_LIMIT", "raised")])
    assert fake.by_erp("C1")["properties"]["risk_flags"] == "OVERDUE_90;OVER_LIMIT"
    conn.sink.deliver([flag("C1", "OVERDUE_90", "cleared", version=2)])
    assert fake.by_erp("C1")["properties"]["risk_flags"] == "OVER_LIMIT"


def test_a_207_multi_status_gives_per_company_results(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.sink is not None
    fake.refuse["C2"] = ("VALIDATION_ERROR", 'Property values were not valid: [{"name":"risk_band"}]')
    results = {r.event_id: r for r in conn.sink.deliver([band("C1", "A"), band("C2", "B"), band("C9", "C")])}
    assert results["C1:BAND:v1"] == DeliveryResult("C1:BAND:v1", True)
    assert results["C2:BAND:v1"] == DeliveryResult(
        "C2:BAND:v1",
        False,
        'HubSpot refused: VALIDATION_ERROR: Property values were not valid: [{"name":"risk_band"}]',
        permanent=True,
    )
    # C9 has no company: an upsert would create one, so it is not sent; parked as not linked instead
    assert results["C9:BAND:v1"] == DeliveryResult.unlinked(
        "C9:BAND:v1", "no HubSpot company with erp_customer_id = 'C9'"
    )
    assert [i["id"] for i in fake.upserts[0]["inputs"]] == ["C1", "C2"]


def test_a_batch_refused_as_a_whole_is_retried_company_by_company(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.sink is not None
    fake.refuse_batch["C2"] = "Property values were not valid"
    results = conn.sink.deliver([band("C1", "A"), band("C2", "B"), band("C3", "B")])
    assert [(r.ok, r.permanent) for r in results] == [(True, False), (False, True), (True, False)]
    assert [[i["id"] for i in u["inputs"]] for u in fake.upserts] == [["C1", "C2", "C3"], ["C1"], ["C2"], ["C3"]]


def test_more_than_100_companies_go_in_several_batches(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.sink is not None
    fake.remaining = 10_000
    for n in range(6, 131):
        fake.add(f"C{n}", f"Customer {n}", minute=50)
    results = conn.sink.deliver([band(f"C{n}", "B") for n in range(1, 131)])
    assert all(r.ok for r in results)
    assert [len(u["inputs"]) for u in fake.upserts] == [100, 30]


def test_a_daily_limit_fails_the_batch_for_later_not_permanently(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.sink is not None
    fake.faults.push(fake._429("DAILY"))
    with pytest.raises(SinkError, match="daily API limit reached, retry tomorrow") as caught:
        conn.sink.deliver([band("C1", "A")])
    # no Retry-After: an hour asked, so the outbox keeps the rows waiting rather than spending their attempts
    assert caught.value.retryable and retry_after(caught.value) == hs.DAILY_LIMIT_WAIT == 3600.0


def test_a_batch_still_rate_limited_after_its_waits_fails_for_later_with_the_retry_after(
    fake: FakeHubSpot, conn: Connector, sleeps: list[float]
) -> None:
    assert conn.sink is not None
    for _ in range(4):  # the first answer and one per wait (throttle_retries = 3)
        fake.throttle_next(600)
    with pytest.raises(SinkError, match=r"still rate limited \(TEN_SECONDLY_ROLLING\) after 3 waits") as caught:
        conn.sink.deliver([band("C1", "A")])
    assert caught.value.retryable
    assert retry_after(caught.value) == 600.0  # the outbox leaves HubSpot alone that long
    assert sleeps == [600.0] * 3


def test_a_daily_limit_with_retry_after_passes_it_on(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.sink is not None
    fake.faults.push(fake._429("DAILY", {"Retry-After": "36000"}))
    with pytest.raises(SinkError, match="daily API limit reached") as caught:
        conn.sink.deliver([band("C1", "A")])
    assert caught.value.retryable and retry_after(caught.value) == 36000.0


MISSING_SCOPES = {
    "status": "error",
    "message": "This app hasn't been granted all required scopes to make this call. Read more about required "
    "scopes here: https://developers.hubspot.com/scopes.",
    "correlationId": CORRELATION,
    "errors": [
        {
            "message": "One or more of the following scopes are required.",
            "context": {"requiredGranularScopes": ["crm.objects.companies.read"]},
        }
    ],
    "links": {"scopes": "https://developers.hubspot.com/scopes"},
    "category": "MISSING_SCOPES",
}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, MISSING_SCOPES),
        (
            400,
            {
                "status": "error",
                "message": "Invalid input JSON",
                "correlationId": CORRELATION,
                "category": "VALIDATION_ERROR",
            },
        ),
        (
            404,
            {
                "status": "error",
                "message": "resource not found",
                "correlationId": CORRELATION,
                "category": "OBJECT_NOT_FOUND",
            },
        ),
    ],
    ids=["403", "400", "404"],
)
def test_a_client_error_fails_the_batch_for_good_not_for_a_retry(
    fake: FakeHubSpot, conn: Connector, sleeps: list[float], status: int, body: dict[str, Any]
) -> None:
    assert conn.sink is not None
    assert conn.sink.deliver([band("C1", "A")])[0].ok  # the properties are checked: the next call reads companies
    fake.faults.push(httpx.Response(status, json=body))
    with pytest.raises(SinkError) as caught:
        conn.sink.deliver([band("C2", "B")])
    assert "/crm/v3/objects/companies/batch/read" in str(caught.value)
    assert not caught.value.retryable  # the outbox sends the batch to the dead letters at once
    assert f"HTTP {status}: {body['category']}: {body['message']}" in str(caught.value)
    assert fake.faults.served == 1 and sleeps == []  # asked once, not hammered


def test_a_throttled_or_failing_server_still_fails_the_batch_for_a_retry(fake: FakeHubSpot, conn: Connector) -> None:
    assert conn.sink is not None
    fake.fail_next(503, times=4)
    with pytest.raises(SinkError, match="HTTP 503") as caught:
        conn.sink.deliver([band("C1", "A")])
    assert caught.value.retryable


def test_without_create_properties_a_missing_property_is_a_clear_error(fake: FakeHubSpot) -> None:
    c = hs.create("hubspot", config(create_properties=False))
    assert c.sink is not None
    with pytest.raises(SinkError, match="company property 'risk_band' does not exist"):
        c.sink.deliver([band("C1", "A")])


def test_bad_token_names_hubspot_and_not_the_token(fake: FakeHubSpot) -> None:
    c = hs.create("hubspot", config(token="pat-eu1-wrong"))
    assert c.source is not None
    with pytest.raises(SourceError) as caught:
        c.source.check()
    assert str(caught.value) == (
        "HubSpot (connector hubspot): GET /crm/v3/objects/companies: HTTP 401: INVALID_AUTHENTICATION: "
        "Authentication credentials not found. This API supports OAuth 2.0 authentication."
    )


# -- through the hub ------------------------------------------------------------------------------------

CUSTOMERS = """customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban
C1,Customer 1 Ltd,GB111111111,GB,GBP,10000,,
C2,Customer 2 Ltd,GB222222222,GB,GBP,500000,,
"""
INVOICES = """invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number
INV-1,C1,2026-01-02,2026-02-01,GBP,30000,30000,
INV-2,C2,2026-05-01,2026-06-15,GBP,1000,1000,
"""


def test_hub_pipeline_pushes_band_and_flags_to_hubspot(
    tmp_path: Path, fake: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN)
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
        '[plugins]\nallow = ["csv", "matching", "risk-rules", "hubspot"]\n\n'
        '[connectors.erp]\ntype = "csv"\ncustomers = "customers.csv"\ninvoices = "invoices.csv"\n\n'
        '[connectors.hubspot]\ntype = "hubspot"\ntoken = { env = "HUBSPOT_TOKEN" }\nstreams = []\n'
        'external_id_source = "erp"\n',
        encoding="utf-8",
    )
    hub = Hub(load_config(path))
    try:
        hub.init()
        hub.sync()
        hub.risk(dt.date(2026, 6, 1))
        stats = hub.push()
    finally:
        hub.close()
    reads = [json.loads(c.request.content) for c in fake.router.calls if c.request.url.path.endswith("/batch/read")]
    assert reads == [
        {
            "idProperty": "erp_customer_id",
            "inputs": [{"id": "C1"}, {"id": "C2"}],
            "properties": ["erp_customer_id", "risk_flags"],
        }
    ]
    assert fake.upserts == [
        {
            "inputs": [
                {
                    "id": "C1",
                    "idProperty": "erp_customer_id",
                    "properties": {"risk_flags": "CREDIT_HOLD;OVERDUE_90;OVER_LIMIT", "risk_band": "C"},
                },
                {"id": "C2", "idProperty": "erp_customer_id", "properties": {"risk_band": "A"}},
            ]
        }
    ]
    assert fake.properties["risk_flags"]["options"] == [
        {"label": code, "value": code, "displayOrder": i, "hidden": False}
        for i, code in enumerate(["CREDIT_HOLD", "OVERDUE_90", "OVER_LIMIT"])
    ]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.connect() as db:
        outbox = dict(db.execute(sa.select(schema.outbox.c.event_id, schema.outbox.c.status)).all())
    engine.dispose()
    assert set(outbox.values()) == {"delivered"} and stats.delivered == len(outbox) == 5


def test_a_search_near_the_10000_result_limit_starts_a_new_query_from_the_last_change(
    fake: FakeHubSpot, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hs, "SEARCH_LIMIT", 3)  # as if 3 were HubSpot's 10,000
    c = hs.create("hubspot", config(page_size=2), sleep=sleeps.append, clock=lambda: 0.0)
    assert c.source is not None
    cursor = {"since": stamp(1), "seen": [fake.by_erp("C1")["id"]]}
    records, last = read_all(c.source, "customers", cursor)
    assert [r["name"] for r in records] == ["Customer 2 Ltd", "Customer 3 Ltd", "Customer 4 Ltd", "Customer 5 Ltd"]
    assert [s.get("after") for s in fake.searches] == [None] * 4  # each query restarted, none paged on
    assert [s["filterGroups"][0]["filters"][0]["value"] for s in fake.searches] == [
        "1769940060000",  # 10:01
        "1769940120000",  # 10:02
        "1769940180000",  # 10:03
        "1769940240000",  # 10:04
    ]
    assert last == {"since": stamp(5), "seen": [fake.by_erp("C5")["id"]]}
    c.close()


def test_a_company_changed_while_the_first_list_runs_is_read_again_next_time(
    fake: FakeHubSpot, conn: Connector
) -> None:
    assert conn.source is not None
    fake.date = "Sun, 01 Feb 2026 10:03:00 GMT"  # the list begins at 10:03 (server clock)
    fake.by_erp("C5")["properties"]["hs_lastmodifieddate"] = stamp(5)
    pages = conn.source.read(conn.source.streams()[0], None)
    first = next(pages)  # C1 and C2 listed ...
    fake.by_erp("C1")["properties"]["name"] = "Customer 1 Renamed"  # ... then C1 changes at 10:04
    fake.by_erp("C1")["properties"]["hs_lastmodifieddate"] = stamp(4)
    rest = list(pages)
    cursor = rest[-1].cursor
    assert [r["name"] for r in first.records] == ["Customer 1 Ltd", "Customer 2 Ltd"]
    assert cursor == {"since": "2026-02-01T10:03:00.000Z", "seen": [], "after": None}
    records, _ = read_all(conn.source, "customers", cursor)
    # everything changed since the list began comes again (stored unchanged ones are skipped by hash)
    assert [r["name"] for r in records] == ["Customer 3 Ltd", "Customer 1 Renamed", "Customer 4 Ltd", "Customer 5 Ltd"]
