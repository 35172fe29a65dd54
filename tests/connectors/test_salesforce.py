"""Salesforce connector against a respx fake shaped like the REST API documentation.

The fake answers what the docs show: the OAuth token response with ``instance_url``; SOQL query
results (``totalSize``, ``done``, ``nextRecordsUrl``, ``records`` with ``attributes``); sObject
Collections upsert results (``[{"id", "success", "errors": [{"statusCode", "message", "fields"}],
"created"}]``, in request order, HTTP 200 even when records fail); errors as
``[{"message", "errorCode"}]`` (``INVALID_SESSION_ID`` with 401, ``REQUEST_LIMIT_EXCEEDED`` with
403); and ``Sforce-Limit-Info: api-usage=n/m`` on every API response.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from hub_connectors import salesforce as sf

from hub.app import Hub
from hub.config import load_config
from hub.connector import Connector
from hub.errors import SinkError, SourceError
from hub.model import OutboxEvent
from hub.store import schema

from .contract import ConnectorContract, FaultInjector, FaultQueue, read_all
from .events import band, flag, limit

LOGIN = "https://acme.my.salesforce.com"
INSTANCE = "https://acme--eu45.my.salesforce.com"
API = f"{INSTANCE}/services/data/v62.0"
SECRET = "s3cr3t-client-secret"


def stamp(minute: int) -> str:
    return f"2026-02-01T10:{minute:02d}:00.000+0000"


class FakeSalesforce:
    """In-memory Accounts behind respx routes; see the module docstring for the shapes."""

    system = "Salesforce"
    secrets = (SECRET,)
    stream = "customers"

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.accounts: list[dict[str, Any]] = []
        self.faults = FaultQueue()
        self.tokens: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.locators: dict[str, list[dict[str, Any]]] = {}
        self.usage = 1200
        self.cap = 15000
        self.refuse: dict[str, tuple[str, str, list[str]]] = {}  # ERP id -> statusCode, message, fields
        self.upserts: list[dict[str, Any]] = []
        self.queries: list[str] = []
        self.query_headers: list[str | None] = []
        self.clock = 30
        for n in range(1, 6):
            self.add(f"C{n}", f"Customer {n} GmbH", minute=n)
        self.router = respx.mock(assert_all_called=False)
        self.router.post(f"{LOGIN}/services/oauth2/token").mock(side_effect=self._token)
        self.router.get(url__regex=rf"^{re.escape(API)}/query(/.*)?").mock(side_effect=self._query)
        self.router.patch(url__regex=rf"^{re.escape(API)}/composite/sobjects/Account/\w+$").mock(
            side_effect=self._upsert
        )

    def add(self, erp_id: str, name: str, *, minute: int, **fields: Any) -> dict[str, Any]:
        account = {
            "Id": f"001D000000Ab{len(self.accounts) + 1:04d}AAA",
            "Name": name,
            "AccountNumber": erp_id,
            "BillingCountry": "Germany",
            "ParentId": None,
            "ERP_Id__c": erp_id,
            "Credit_Limit__c": 50000.0,
            "Risk_Band__c": None,
            "Risk_Flags__c": None,
            "SystemModstamp": stamp(minute),
            **fields,
        }
        self.accounts.append(account)
        return account

    def by_erp(self, erp_id: str) -> dict[str, Any]:
        return next(a for a in self.accounts if a["ERP_Id__c"] == erp_id)

    # -- contract hooks ---------------------------------------------------------------------------------

    def record_id(self, raw: Any) -> str:
        return str(raw["Id"])

    def full_ids(self) -> set[str]:
        return {a["Id"] for a in self.accounts}

    def change(self) -> set[str]:
        touched = self.by_erp("C2")
        touched["Name"] = "Customer 2 AG"
        touched["SystemModstamp"] = stamp(40)
        added = self.add("C6", "Customer 6 SA", minute=40)
        return {touched["Id"], added["Id"]}

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self.faults.push(
            httpx.Response(status, json=[{"message": "Service Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]), times
        )

    def throttle_next(self, seconds: int) -> None:
        self.faults.push(httpx.Response(429, headers={"Retry-After": str(seconds)}, json=[]))

    def go_down(self) -> None:
        self.faults.down = True

    def sink_events(self) -> tuple[list[OutboxEvent], set[str]]:
        self.refuse["C3"] = ("INVALID_FIELD", "No such column 'Risk_Band__c' on sobject of type Account", [])
        events: list[OutboxEvent] = [band("C1", "B"), band("C3", "D"), flag("C2", "OVER_LIMIT", "raised")]
        return events, {events[1].event_id}

    # -- routes -----------------------------------------------------------------------------------------

    def _limit_headers(self) -> dict[str, str]:
        self.usage += 1
        return {"Sforce-Limit-Info": f"api-usage={self.usage}/{self.cap}"}

    def _authorised(self, request: httpx.Request) -> httpx.Response | None:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return httpx.Response(
                401, json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        return self.faults.take()

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        self.token_requests.append(form)
        if form.get("grant_type") != "client_credentials" or form.get("client_secret") != SECRET:
            return httpx.Response(
                400, json={"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        token = f"00DD0000000AbCd!AQ4AQ.token{len(self.token_requests)}"
        self.tokens.add(token)
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "signature": "m0pKVGY=",
                "scope": "api",
                "instance_url": INSTANCE,
                "id": f"{LOGIN}/id/00DD0000000AbCdMAK/005D0000001AbCdIAK",
                "token_type": "Bearer",
                "issued_at": "1767261600000",
            },
        )

    def _query(self, request: httpx.Request) -> httpx.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        locator = request.url.path.rsplit("/query/", 1)[-1] if "/query/" in request.url.path else None
        if locator:
            rows = self.locators.pop(locator)
            offset = int(locator.rsplit("-", 1)[1])
        else:
            offset = 0
            soql = request.url.params["q"]
            self.queries.append(soql)
            self.query_headers.append(request.headers.get("Sforce-Query-Options"))
            rows = self._run(soql)
        total = offset + len(rows)
        page, rest = rows[: self.page_size], rows[self.page_size :]
        body: dict[str, Any] = {"totalSize": total, "done": not rest, "records": page}
        if rest:
            key = f"01gD0000002HU6KIAW-{offset + self.page_size}"
            self.locators[key] = rest
            body["nextRecordsUrl"] = f"/services/data/v62.0/query/{key}"
        return httpx.Response(200, json=body, headers=self._limit_headers())

    def _run(self, soql: str) -> list[dict[str, Any]]:
        m = re.fullmatch(r"SELECT (.+?) FROM Account(?: WHERE (.+?))?(?: ORDER BY (.+?))?(?: LIMIT (\d+))?", soql)
        assert m, soql
        fields = [f.strip() for f in m.group(1).split(",")]
        rows = list(self.accounts)
        where = m.group(2)
        if where:
            if since := re.fullmatch(r"SystemModstamp >= (\S+)", where):
                literal = since.group(1)
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", literal), literal
                rows = [a for a in rows if a["SystemModstamp"][:19] >= literal[:19]]
            elif within := re.fullmatch(r"(\w+) IN \((.*)\)", where):
                values = re.findall(r"'((?:[^'\\]|\\.)*)'", within.group(2))
                rows = [a for a in rows if a.get(within.group(1)) in values]
            else:
                raise AssertionError(f"unexpected WHERE: {where}")
        if m.group(3):
            rows.sort(key=lambda a: (a["SystemModstamp"], a["Id"]))
        if m.group(4):
            rows = rows[: int(m.group(4))]
        return [
            {"attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{a['Id']}"}}
            | {f: a.get(f) for f in fields}
            for a in rows
        ]

    def _upsert(self, request: httpx.Request) -> httpx.Response:
        refused = self._authorised(request)
        if refused is not None:
            return refused
        ext_field = request.url.path.rsplit("/", 1)[-1]
        body = json.loads(request.content, parse_float=Decimal)
        self.upserts.append(body)
        assert body["allOrNone"] is False and len(body["records"]) <= 200
        results = []
        for record in body["records"]:
            assert record["attributes"] == {"type": "Account"}
            key = record[ext_field]
            if key in self.refuse:
                code, message, fields = self.refuse[key]
                results.append(
                    {
                        "id": None,
                        "success": False,
                        "errors": [{"statusCode": code, "message": message, "fields": fields}],
                    }
                )
                continue
            account = next((a for a in self.accounts if a.get(ext_field) == key), None)
            if account is None:
                results.append(
                    {
                        "id": None,
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "REQUIRED_FIELD_MISSING",
                                "message": "Required fields are missing: [Name]",
                                "fields": ["Name"],
                            }
                        ],
                    }
                )
                continue
            for k, v in record.items():
                if k != "attributes":
                    account[k] = v
            self.clock += 1
            account["SystemModstamp"] = stamp(self.clock)
            results.append({"id": account["Id"], "success": True, "errors": [], "created": False})
        return httpx.Response(200, json=results, headers=self._limit_headers())


def config(**overrides: Any) -> sf.SalesforceConfig:
    values: dict[str, Any] = {
        "type": "salesforce",
        "login_url": LOGIN,
        "client_id": "3MVG9-consumer-key",
        "client_secret": SECRET,
        "external_id_source": "erp",
    }
    return sf.SalesforceConfig.model_validate(values | overrides)


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    server = FakeSalesforce()
    with server.router:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def conn(fake: FakeSalesforce, sleeps: list[float]) -> Iterator[Connector]:
    c = sf.create("sfdc", config(), sleep=sleeps.append)
    yield c
    c.close()


class TestSalesforceContract(ConnectorContract):
    @pytest.fixture
    def server(self) -> Iterator[FakeSalesforce]:
        server = FakeSalesforce()
        with server.router:
            yield server

    @pytest.fixture
    def connector(self, server: FakeSalesforce, sleeps: list[float]) -> Iterator[Connector]:
        c = sf.create("sfdc", config(), sleep=sleeps.append)
        yield c
        c.close()

    @pytest.fixture
    def bad_connector(self, server: FakeSalesforce, sleeps: list[float]) -> Iterator[Connector]:
        c = sf.create("sfdc", config(client_secret="wrong-" + SECRET[::-1]), sleep=sleeps.append)
        yield c
        c.close()


# -- source ---------------------------------------------------------------------------------------------


def test_login_uses_client_credentials_and_queries_on_the_instance_url(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.source is not None
    records, _ = read_all(conn.source, "customers")
    assert fake.token_requests == [
        {"grant_type": "client_credentials", "client_id": "3MVG9-consumer-key", "client_secret": SECRET}
    ]
    query_calls = [c for c in fake.router.calls if "/query" in c.request.url.path]
    assert {c.request.url.host for c in query_calls} == {"acme--eu45.my.salesforce.com"}
    assert fake.queries[0] == (
        "SELECT Id, Name, AccountNumber, BillingCountry, ParentId, ERP_Id__c, Credit_Limit__c, SystemModstamp "
        "FROM Account ORDER BY SystemModstamp, Id"
    )
    assert fake.query_headers == ["batchSize=2000"]
    first = records[0]
    assert first["Name"] == "Customer 1 GmbH" and "attributes" not in first
    assert first["_links"] == {"erp": "C1"}
    assert first["_credit_limit"] == Decimal("50000.0") and isinstance(first["_credit_limit"], Decimal)


def test_query_pages_follow_next_records_url_with_a_cursor_per_page(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.source is not None
    spec = conn.source.streams()[0]
    pages = list(conn.source.read(spec, None))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert [p.cursor for p in pages] == [
        {"since": stamp(2), "seen": [fake.by_erp("C2")["Id"]]},
        {"since": stamp(4), "seen": [fake.by_erp("C4")["Id"]]},
        {"since": stamp(5), "seen": [fake.by_erp("C5")["Id"]]},
    ]
    assert [c.request.url.path for c in fake.router.calls if "/query" in c.request.url.path][1:] == [
        "/services/data/v62.0/query/01gD0000002HU6KIAW-2",
        "/services/data/v62.0/query/01gD0000002HU6KIAW-4",
    ]


def test_resuming_mid_second_skips_only_the_records_already_seen(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.source is not None
    twin = fake.add("C9", "Same Second Ltd", minute=2)  # changed in the same second as C2, not yet seen
    cursor = {"since": stamp(2), "seen": [fake.by_erp("C2")["Id"]]}
    records, _ = read_all(conn.source, "customers", cursor)
    assert fake.queries[-1].endswith("WHERE SystemModstamp >= 2026-02-01T10:02:00Z ORDER BY SystemModstamp, Id")
    assert [r["ERP_Id__c"] for r in records] == ["C9", "C3", "C4", "C5"]
    assert twin["Id"] in {r["Id"] for r in records}


def test_an_expired_session_gets_exactly_one_new_token(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.source is not None
    conn.source.check()
    fake.tokens.clear()  # the session expired
    read_all(conn.source, "customers")
    assert len(fake.token_requests) == 2


def test_a_session_refused_twice_is_a_clear_error(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.source is not None
    fake.tokens.clear()
    original = fake._token

    def token_then_forget(request: httpx.Request) -> httpx.Response:
        response = original(request)
        fake.tokens.clear()  # every token is already invalid when used
        return response

    fake.router.routes[0].side_effect = token_then_forget
    with pytest.raises(SourceError, match=r"Salesforce \(connector sfdc\).*HTTP 401: INVALID_SESSION_ID"):
        conn.source.check()
    assert len(fake.token_requests) == 2


def test_request_limit_exceeded_403_stops_the_sync_to_retry_later(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.source is not None
    fake.faults.push(
        httpx.Response(403, json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    )
    with pytest.raises(sf.SalesforceThrottled, match="limit exceeded, retry later"):
        read_all(conn.source, "customers")
    assert fake.faults.served == 1  # a 403 is not hammered with retries


def test_near_the_daily_allocation_every_call_slows_down(
    fake: FakeSalesforce, conn: Connector, sleeps: list[float]
) -> None:
    assert conn.source is not None
    read_all(conn.source, "customers")
    assert sleeps == []  # 1203/15000: far from the cap
    fake.usage = 13600  # the next answers report more than 90 % used
    read_all(conn.source, "customers")
    assert sleeps == [2.0, 2.0]  # the second and third page of that query each waited
    assert conn.source.client.usage == (13603, 15000)  # type: ignore[attr-defined]


# -- sink -----------------------------------------------------------------------------------------------


def test_upsert_writes_band_flags_and_limit_by_external_id(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.sink is not None
    fake.by_erp("C1")["Risk_Flags__c"] = "OVERDUE_90"
    events: list[OutboxEvent] = [
        flag("C1", "OVER_LIMIT", "raised"),
        band("C1", "D"),
        flag("C1", "OVERDUE_90", "cleared"),
        limit("C2", "125000.50"),
    ]
    results = conn.sink.deliver(events)
    assert all(r.ok for r in results)
    assert fake.queries == ["SELECT Id, ERP_Id__c, Risk_Flags__c FROM Account WHERE ERP_Id__c IN ('C1', 'C2')"]
    patch = next(c.request for c in fake.router.calls if c.request.method == "PATCH")
    assert patch.url.path == "/services/data/v62.0/composite/sobjects/Account/ERP_Id__c"
    assert patch.content == (
        b'{"allOrNone":false,"records":['
        b'{"attributes":{"type":"Account"},"ERP_Id__c":"C1","Risk_Flags__c":"OVER_LIMIT","Risk_Band__c":"D"},'
        b'{"attributes":{"type":"Account"},"ERP_Id__c":"C2","Credit_Limit__c":125000.50}]}'
    )
    assert fake.by_erp("C1")["Risk_Flags__c"] == "OVER_LIMIT"


def test_redelivering_the_same_events_changes_nothing_more(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.sink is not None
    events: list[OutboxEvent] = [flag("C1", "OVER_LIMIT", "raised"), flag("C1", "CREDIT_HOLD", "raised")]
    conn.sink.deliver(events)
    first = dict(fake.by_erp("C1"))
    conn.sink.deliver(events)  # after a crash before the outbox recorded the results
    assert fake.by_erp("C1")["Risk_Flags__c"] == first["Risk_Flags__c"] == "CREDIT_HOLD;OVER_LIMIT"


def test_per_record_errors_are_permanent_for_validation_and_retried_for_locks(
    fake: FakeSalesforce, conn: Connector
) -> None:
    assert conn.sink is not None
    fake.refuse["C2"] = (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "bad value for restricted picklist field: Z",
        ["Risk_Band__c"],
    )
    fake.refuse["C3"] = ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", [])
    results = {
        r.event_id: r for r in conn.sink.deliver([band("C1", "A"), band("C2", "Z"), band("C3", "B"), band("C9", "C")])
    }
    assert results["C1:BAND:v1"].ok
    assert not results["C2:BAND:v1"].ok and results["C2:BAND:v1"].permanent
    assert results["C2:BAND:v1"].error == (
        "Salesforce refused the Account: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: "
        "bad value for restricted picklist field: Z (Risk_Band__c)"
    )
    assert not results["C3:BAND:v1"].ok and not results["C3:BAND:v1"].permanent
    assert "UNABLE_TO_LOCK_ROW" in (results["C3:BAND:v1"].error or "")
    # C9 is not in Salesforce: not created by an upsert without a Name, retried later instead
    assert results["C9:BAND:v1"] == sf.DeliveryResult.unlinked(
        "C9:BAND:v1", "no Salesforce Account with ERP_Id__c = 'C9'"
    )
    records = fake.upserts[0]["records"]
    assert [r["ERP_Id__c"] for r in records] == ["C1", "C2", "C3"]


def test_more_than_200_accounts_go_in_several_collections(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.sink is not None
    for n in range(6, 206):
        fake.add(f"C{n}", f"Customer {n}", minute=50)
    results = conn.sink.deliver([band(f"C{n}", "B") for n in range(1, 206)])
    assert len(results) == 205 and all(r.ok for r in results)
    assert [len(u["records"]) for u in fake.upserts] == [200, 5]


def test_request_limit_exceeded_fails_the_batch_for_a_later_retry_not_permanently(
    fake: FakeSalesforce, conn: Connector
) -> None:
    assert conn.sink is not None
    fake.faults.push(
        httpx.Response(403, json=[{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    )
    with pytest.raises(SinkError, match=r"Salesforce.*REQUEST_LIMIT_EXCEEDED") as caught:
        conn.sink.deliver([band("C1", "A")])
    assert caught.value.retryable


NO_SUCH_COLUMN = (
    "\nSELECT Id, ERP_Id__c, Risk_Flags__c FROM Account WHERE ERP_Id__c IN ('C1')\n           ^\n"
    "ERROR at Row:1:Column:12\nNo such column 'ERP_Id__c' on entity 'Account'. If you are attempting to use a "
    "custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, {"message": NO_SUCH_COLUMN, "errorCode": "INVALID_FIELD"}),
        (403, {"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG"}),
        (404, {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}),
    ],
    ids=["400", "403", "404"],
)
def test_a_client_error_fails_the_batch_for_good_not_for_a_retry(
    fake: FakeSalesforce, conn: Connector, sleeps: list[float], status: int, error: dict[str, str]
) -> None:
    assert conn.sink is not None
    fake.faults.push(httpx.Response(status, json=[error]))
    with pytest.raises(SinkError) as caught:
        conn.sink.deliver([band("C1", "A")])
    assert not caught.value.retryable  # the outbox sends the batch to the dead letters at once
    assert f"HTTP {status}: {error['errorCode']}: {error['message']}" in str(caught.value)
    assert fake.faults.served == 1 and sleeps == []  # asked once, not hammered


def test_a_server_still_failing_after_the_retries_fails_the_batch_for_a_retry(
    fake: FakeSalesforce, conn: Connector
) -> None:
    assert conn.sink is not None
    fake.fail_next(503, times=4)
    with pytest.raises(SinkError, match="HTTP 503") as caught:
        conn.sink.deliver([band("C1", "A")])
    assert caught.value.retryable


def test_kinds_without_a_configured_field_are_acknowledged_without_a_call(fake: FakeSalesforce) -> None:
    c = sf.create("sfdc", config(risk_band_field="", credit_limit_field=""))
    assert c.sink is not None
    results = c.sink.deliver([band("C1", "A"), limit("C1", "10")])
    assert all(r.ok for r in results)
    assert fake.router.calls.call_count == 0


def test_an_event_without_the_erp_link_is_parked_as_not_linked(fake: FakeSalesforce, conn: Connector) -> None:
    assert conn.sink is not None
    event = band("C1", "A").model_copy(update={"links": {"bank": "X"}})
    [result] = conn.sink.deliver([event])
    assert not result.ok and result.not_linked and "no id from erp" in (result.error or "")


# -- through the hub ------------------------------------------------------------------------------------


CUSTOMERS = """customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban
C1,Customer 1 GmbH,DE111111111,DE,EUR,10000,,
C2,Customer 2 GmbH,DE222222222,DE,EUR,500000,,
"""
INVOICES = """invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number
INV-1,C1,2026-01-02,2026-02-01,EUR,30000,30000,
INV-2,C2,2026-05-01,2026-06-15,EUR,1000,1000,
"""


def hub_config(tmp_path: Path, crm: str) -> Path:
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
        '[plugins]\nallow = ["csv", "matching", "risk-rules", "salesforce"]\n\n'
        '[connectors.erp]\ntype = "csv"\ncustomers = "customers.csv"\ninvoices = "invoices.csv"\n\n'
        f"{crm}\n",
        encoding="utf-8",
    )
    return path


def test_hub_pipeline_pushes_flags_band_and_limit_to_salesforce(
    tmp_path: Path, fake: FakeSalesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_SECRET", SECRET)
    path = hub_config(
        tmp_path,
        '[connectors.sfdc]\ntype = "salesforce"\n'
        f'login_url = "{LOGIN}"\nclient_id = "3MVG9-consumer-key"\nclient_secret = {{ env = "SF_SECRET" }}\n'
        'streams = []\nexternal_id_source = "erp"\n',
    )
    hub = Hub(load_config(path))
    try:
        hub.init()
        hub.sync()
        hub.risk(dt.date(2026, 6, 1))
        stats = hub.push()
    finally:
        hub.close()
    assert fake.queries == ["SELECT Id, ERP_Id__c, Risk_Flags__c FROM Account WHERE ERP_Id__c IN ('C1', 'C2')"]
    [body] = fake.upserts
    assert body == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Account"},
                "ERP_Id__c": "C1",
                "Risk_Flags__c": "CREDIT_HOLD;OVERDUE_90;OVER_LIMIT",
                "Risk_Band__c": "C",
            },
            {"attributes": {"type": "Account"}, "ERP_Id__c": "C2", "Risk_Band__c": "A"},
        ],
    }
    assert fake.by_erp("C1")["Risk_Flags__c"] == "CREDIT_HOLD;OVERDUE_90;OVER_LIMIT"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.connect() as db:
        rows = db.execute(sa.select(schema.outbox.c.event_id, schema.outbox.c.status).order_by(schema.outbox.c.id))
        outbox = dict(rows.all())
    engine.dispose()
    assert set(outbox.values()) == {"delivered"}
    assert stats.delivered == len(outbox) == 5


def test_fault_injector_passes_through_to_a_real_server_except_armed_faults() -> None:
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"real")

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        with FaultInjector(base) as injector:
            injector.fail_next(502)
            injector.throttle_next(3)
            with httpx.Client() as client:
                assert client.get(f"{base}/x").status_code == 502
                throttled = client.get(f"{base}/x")
                assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
                assert client.get(f"{base}/x").text == "real"
                injector.go_down()
                assert client.get(f"{base}/x").status_code == 503
    finally:
        httpd.shutdown()
        httpd.server_close()
