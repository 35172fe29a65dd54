"""Dynamics 365 connector against a respx fake shaped like the Dataverse Web API documentation.

The fake: Entra ID client-credentials tokens (``{"token_type", "expires_in", "ext_expires_in",
"access_token"}``; ``{"error": "invalid_client", "error_description": "AADSTS7000215: ..."}`` on a
wrong secret); ``GET accounts`` with ``$select``/``$filter``/``$orderby`` and ``Prefer:
odata.maxpagesize`` (``{"@odata.context", "value": [...], "@odata.nextLink"}``, each row with
``"@odata.etag": "W/\\"<version>\\""``); ``POST $batch`` parsed with Python's own MIME parser (an
independent check of the request the connector builds) and answered in the documented
``batchresponse_``/``changesetresponse_`` layout; ``PATCH`` with ``If-Match`` answering 204 or
``412`` (``{"error": {"code": "0x80060882", ...}}``); throttling as ``429`` with ``Retry-After``
(``0x80072322``), of a whole call or of one request inside a ``$batch``; refusals as the documented
OData error body ``{"error": {"code", "message"}}`` with 400, 403 or 404.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import email.utils
import json
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import sqlalchemy as sa
from hub_connectors import dynamics as dyn

from hub.app import Hub
from hub.config import load_config
from hub.connector import Connector, DeliveryResult
from hub.errors import RETRY_AFTER_CEILING, SinkError, retry_after
from hub.model import OutboxEvent
from hub.outbox import Outbox, enqueue
from hub.store import Store, schema, utcnow

from .contract import ConnectorContract, FaultQueue, read_all
from .events import band, flag, limit

ORG = "https://contoso.crm4.dynamics.com"
API = f"{ORG}/api/data/v9.2"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TOKEN_URL = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
SECRET = "Qx8Q~client-secret-value"
CHOICES = {"A": 100000000, "B": 100000001, "C": 100000002, "D": 100000003, "E": 100000004}


def stamp(minute: int) -> str:
    return f"2026-02-01T10:{minute:02d}:00Z"


class FakeDataverse:
    system = "Dynamics 365"
    secrets = (SECRET,)
    stream = "customers"

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.accounts: list[dict[str, Any]] = []
        self.faults = FaultQueue()
        self.tokens: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.stale: set[str] = set()  # accountnumbers whose next PATCH meets a newer row version
        self.refuse: dict[str, str] = {}  # accountnumber -> validation message
        self.throttle_patch: dict[str, int] = {}  # accountnumber -> Retry-After of its PATCH's 429 in a $batch
        self.batches: list[list[dict[str, Any]]] = []  # per $batch: the parsed requests
        self.batch_headers: list[httpx.Headers] = []
        self.clock = 30
        self.version = 468000
        for n in range(1, 6):
            self.add(f"C{n}", f"Customer {n} BV", minute=n)
        self.router = respx.mock(assert_all_called=False)
        self.router.post(TOKEN_URL).mock(side_effect=self._token)
        self.router.get(f"{API}/accounts").mock(side_effect=self._accounts)
        self.router.get(url__regex=rf"^{re.escape(API)}/accounts\([0-9a-f-]+\)").mock(side_effect=self._account)
        self.router.post(f"{API}/$batch").mock(side_effect=self._batch)

    def add(self, number: str, name: str, *, minute: int) -> dict[str, Any]:
        self.version += 1
        account = {
            "accountid": str(uuid.UUID(int=0xA000 + len(self.accounts) + 1)),
            "name": name,
            "accountnumber": number,
            "creditlimit": Decimal("50000.0000"),
            "creditonhold": False,
            "new_riskband": None,
            "address1_country": "Netherlands",
            "_parentaccountid_value": None,
            "modifiedon": stamp(minute),
            "versionnumber": self.version,
            "transactioncurrencyid": {
                "isocurrencycode": "EUR",
                "transactioncurrencyid": "7a1f3e00-0000-0000-0000-0000000000e1",
            },
        }
        self.accounts.append(account)
        return account

    def by_number(self, number: str) -> dict[str, Any]:
        return next(a for a in self.accounts if a["accountnumber"] == number)

    # -- contract hooks ---------------------------------------------------------------------------------

    def record_id(self, raw: Any) -> str:
        return str(raw["accountid"])

    def full_ids(self) -> set[str]:
        return {a["accountid"] for a in self.accounts}

    def change(self) -> set[str]:
        touched = self.by_number("C2")
        touched["name"], touched["modifiedon"] = "Customer 2 NV", stamp(40)
        added = self.add("C6", "Customer 6 BV", minute=40)
        return {touched["accountid"], added["accountid"]}

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self.faults.push(
            httpx.Response(status, json={"error": {"code": "0x80040216", "message": "An unexpected error occurred."}}),
            times,
        )

    def throttle_next(self, seconds: int) -> None:
        self.faults.push(
            httpx.Response(
                429,
                headers={"Retry-After": str(seconds)},
                json={
                    "error": {
                        "code": "0x80072322",
                        "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
                    }
                },
            )
        )

    def go_down(self) -> None:
        self.faults.down = True

    def sink_events(self) -> tuple[list[OutboxEvent], set[str]]:
        self.refuse["C3"] = (
            "A validation error occurred. The value 100000003 of 'new_riskband' is outside the valid range."
        )
        events: list[OutboxEvent] = [band("C1", "B"), band("C3", "D"), flag("C2", "CREDIT_HOLD", "raised")]
        return events, {events[1].event_id}

    # -- routes -----------------------------------------------------------------------------------------

    def _gate(self, request: httpx.Request) -> httpx.Response | None:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return httpx.Response(401, json={"error": {"code": "", "message": "The user is not authenticated."}})
        return self.faults.take()

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        self.token_requests.append(form)
        if form.get("client_secret") != SECRET:
            return httpx.Response(
                401,
                json={
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being "
                    "sent in the request is the client secret value.\r\nTrace ID: 0000\r\nCorrelation ID: 1111",
                    "error_codes": [7000215],
                },
            )
        token = f"eyJ0eXAiOiJKV1QiLCJhbGciOi.token{len(self.token_requests)}"
        self.tokens.add(token)
        return httpx.Response(
            200, json={"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        )

    def _row(self, account: dict[str, Any], columns: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {"@odata.etag": f'W/"{account["versionnumber"]}"'}
        for c in columns:
            value = account.get(c)
            row[c] = float(value) if isinstance(value, Decimal) else value
        return row

    def _accounts(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        params = request.url.params
        columns = params["$select"].split(",")
        rows = list(self.accounts)
        flt = params.get("$filter")
        if flt:
            if since := re.fullmatch(r"modifiedon ge (\S+)", flt):
                rows = [a for a in rows if a["modifiedon"] >= since.group(1)]
            else:
                wanted = re.findall(r"accountnumber eq '((?:[^']|'')*)'", flt)
                assert " or ".join(f"accountnumber eq '{w}'" for w in wanted) == flt, flt
                rows = [a for a in rows if a["accountnumber"] in wanted]
        if params.get("$orderby"):
            assert params["$orderby"] == "modifiedon asc,accountid asc"
            rows.sort(key=lambda a: (a["modifiedon"], a["accountid"]))
        skip = int(params.get("$skiptoken", "0"))
        prefer = request.headers.get("Prefer", "")
        size = int(m.group(1)) if (m := re.search(r"odata\.maxpagesize=(\d+)", prefer)) else 5000
        size = min(size, self.page_size)
        page, more = rows[skip : skip + size], skip + size < len(rows)
        body: dict[str, Any] = {"@odata.context": f"{API}/$metadata#accounts", "value": []}
        for a in page:
            row = self._row(a, columns)
            if "transactioncurrencyid" in params.get("$expand", ""):
                row["transactioncurrencyid"] = {"isocurrencycode": a["transactioncurrencyid"]["isocurrencycode"]}
            body["value"].append(row)
        if more:
            next_params = dict(params) | {"$skiptoken": str(skip + size)}
            body["@odata.nextLink"] = str(httpx.URL(f"{API}/accounts", params=next_params))
        return httpx.Response(
            200, json=body, headers={"Preference-Applied": f"odata.maxpagesize={size}"} if prefer else {}
        )

    def _account(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        aid = re.search(r"accounts\(([0-9a-f-]+)\)", request.url.path)
        found = next((a for a in self.accounts if aid and a["accountid"] == aid.group(1)), None)
        if found is None:
            return httpx.Response(
                404, json={"error": {"code": "0x80040217", "message": "account With Id = ... Does Not Exist"}}
            )
        return httpx.Response(200, json=self._row(found, request.url.params["$select"].split(",")))

    def _batch(self, request: httpx.Request) -> httpx.Response:
        if (refused := self._gate(request)) is not None:
            return refused
        self.batch_headers.append(request.headers)
        head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
        assert message.is_multipart()
        parsed: list[dict[str, Any]] = []
        out = [f"--batchresponse_{'f27ef42d-51b0-4685-bac9-f468f844de2f'}"]
        for changeset in message.iter_parts():
            assert changeset.get_content_type() == "multipart/mixed"
            [part] = list(changeset.iter_parts())
            assert part["Content-Type"] == "application/http" and part["Content-Transfer-Encoding"] == "binary"
            raw = part.get_payload(decode=True).decode()
            line, _, rest = raw.partition("\r\n")
            head_text, _, body = rest.partition("\r\n\r\n")
            method, url, _ = line.split(" ")
            headers = dict(h.split(": ", 1) for h in head_text.split("\r\n") if h)
            req = {
                "content_id": part["Content-ID"],
                "method": method,
                "url": url,
                "headers": headers,
                "body": json.loads(body),
            }
            parsed.append(req)
            status, answer = self._patch(req)
            reason = {
                204: "No Content",
                400: "Bad Request",
                412: "Precondition Failed",
                404: "Not Found",
                429: "Too Many Requests",
            }[status]
            wait = [f"Retry-After: {answer.pop('retry_after')}"] if answer and "retry_after" in answer else []
            if status == 204:
                out += [
                    "Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff",
                    "",
                    "--changesetresponse_64cc3fff",
                    "Content-Type: application/http",
                    "Content-Transfer-Encoding: binary",
                    f"Content-ID: {req['content_id']}",
                    "",
                    "HTTP/1.1 204 No Content",
                    "OData-Version: 4.0",
                    f"OData-EntityId: {url}",
                    "",
                    "",
                    "--changesetresponse_64cc3fff--",
                ]
            else:  # a failed change set answers with the single failing response
                out += [
                    "Content-Type: application/http",
                    "Content-Transfer-Encoding: binary",
                    f"Content-ID: {req['content_id']}",
                    "",
                    f"HTTP/1.1 {status} {reason}",
                    *wait,
                    "REQ_ID: de4c5227-4a28-4ebd-8ced-3392ece1697b",
                    "Content-Type: application/json; odata.metadata=minimal",
                    "OData-Version: 4.0",
                    "",
                    json.dumps(answer),
                ]
            out.append("--batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f")
        out[-1] += "--"
        self.batches.append(parsed)
        return httpx.Response(
            200,
            content=("\r\n".join(out) + "\r\n").encode(),
            headers={
                "Content-Type": "multipart/mixed; boundary=batchresponse_f27ef42d-51b0-4685-bac9-f468f844de2f",
                "OData-Version": "4.0",
            },
        )

    def _patch(self, req: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        assert req["method"] == "PATCH"
        aid = re.search(r"accounts\(([0-9a-f-]+)\)$", req["url"])
        account = next((a for a in self.accounts if aid and a["accountid"] == aid.group(1)), None)
        if account is None:
            return 404, {"error": {"code": "0x80040217", "message": "account Does Not Exist"}}
        if account["accountnumber"] in self.stale:
            self.stale.discard(account["accountnumber"])
            self.version += 1
            account["versionnumber"] = self.version  # someone else saved the row meanwhile
        if req["headers"].get("If-Match") != f'W/"{account["versionnumber"]}"':
            return 412, {
                "error": {
                    "code": "0x80060882",
                    "message": "The version of the existing record doesn't match the RowVersion property provided.",
                }
            }
        if account["accountnumber"] in self.refuse:
            return 400, {"error": {"code": "0x80044331", "message": self.refuse[account["accountnumber"]]}}
        if account["accountnumber"] in self.throttle_patch:
            return 429, {
                "retry_after": self.throttle_patch[account["accountnumber"]],  # a header line, not in the body
                "error": {
                    "code": "0x80072321",
                    "message": "Combined execution time of incoming requests exceeded limit of 1,200,000 "
                    "milliseconds over time window of 300 seconds.",
                },
            }
        account.update(req["body"])
        self.version += 1
        self.clock += 1
        account["versionnumber"], account["modifiedon"] = self.version, stamp(self.clock)
        return 204, None


def throttled(retry_after: str) -> httpx.Response:
    """Dataverse's service protection answer (a request count limit) asking to wait ``retry_after``."""
    return httpx.Response(
        429,
        headers={"Retry-After": retry_after},
        json={
            "error": {
                "code": "0x80072322",
                "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
            }
        },
    )


def config(**overrides: Any) -> dyn.DynamicsConfig:
    values: dict[str, Any] = {
        "type": "dynamics",
        "url": ORG,
        "tenant_id": TENANT,
        "client_id": "51f81489-12ee-4a9e-aaae-a2591f45987d",
        "client_secret": SECRET,
        "external_id_source": "erp",
        "band_field": "new_riskband",
        "band_choices": CHOICES,
    }
    return dyn.DynamicsConfig.model_validate(values | overrides)


def build(sleeps: list[float], **overrides: Any) -> Connector:
    return dyn.create("d365", config(**overrides), sleep=sleeps.append, boundary=lambda: "b1")


@pytest.fixture
def fake() -> Iterator[FakeDataverse]:
    server = FakeDataverse()
    with server.router:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def conn(fake: FakeDataverse, sleeps: list[float]) -> Iterator[Connector]:
    c = build(sleeps)
    yield c
    c.close()


class TestDynamicsContract(ConnectorContract):
    @pytest.fixture
    def server(self) -> Iterator[FakeDataverse]:
        server = FakeDataverse()
        with server.router:
            yield server

    @pytest.fixture
    def connector(self, server: FakeDataverse, sleeps: list[float]) -> Iterator[Connector]:
        c = build(sleeps)
        yield c
        c.close()

    @pytest.fixture
    def bad_connector(self, server: FakeDataverse, sleeps: list[float]) -> Iterator[Connector]:
        c = build(sleeps, client_secret="expired-secret")
        yield c
        c.close()


# -- $batch format ----------------------------------------------------------------------------------------


def test_batch_body_has_one_change_set_per_request_in_the_documented_layout() -> None:
    body = dyn.build_batch(
        [dyn.BatchRequest("PATCH", f"{API}/accounts(1)", '{"creditonhold":true}', {"If-Match": 'W/"7"'})], "b1"
    )
    assert body == "\r\n".join(
        [
            "--batch_b1",
            "Content-Type: multipart/mixed; boundary=changeset_b1_1",
            "",
            "--changeset_b1_1",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "Content-ID: 1",
            "",
            f"PATCH {API}/accounts(1) HTTP/1.1",
            'If-Match: W/"7"',
            "Content-Type: application/json; type=entry",
            "",
            '{"creditonhold":true}',
            "--changeset_b1_1--",
            "",
            "--batch_b1--",
            "",
        ]
    )


def test_batch_response_parser_reads_the_documented_examples() -> None:
    # The "Handling errors" example of the Dataverse docs (continue-on-error, no change sets), LF only.
    text = """--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 400 Bad Request
REQ_ID: de4c5227-4a28-4ebd-8ced-3392ece1697b
Content-Type: application/json; odata.metadata=minimal
OData-Version: 4.0

{"error":{"code":"0x80044331","message":"A validation error occurred."}}
--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139
Content-Type: multipart/mixed; boundary=changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15

--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0
OData-EntityId: [Organization Uri]/api/data/v9.2/tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)


--changesetresponse_64cc3fff-023a-45b0-b29d-df21583ffa15--
--batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139--
"""
    answers = dyn.parse_batch(text, "multipart/mixed; boundary=batchresponse_f44bd09d-573f-4a30-bca0-2e500ee7e139")
    assert [(a.status, a.content_id) for a in answers] == [(400, None), (204, "1")]
    assert json.loads(answers[0].body)["error"]["code"] == "0x80044331"
    assert answers[1].headers["odata-entityid"].endswith("tasks(e73ffc82-e292-ed11-aad1-000d3a9933c9)")


# -- source ---------------------------------------------------------------------------------------------


def test_accounts_are_read_with_select_orderby_and_max_page_size(fake: FakeDataverse, conn: Connector) -> None:
    assert conn.source is not None
    pages = list(conn.source.read(conn.source.streams()[0], None))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    first = fake.router.calls[1].request
    assert first.headers["Prefer"] == "odata.maxpagesize=500"
    assert first.url.params["$select"] == (
        "accountid,name,accountnumber,creditlimit,address1_country,_parentaccountid_value,modifiedon"
    )
    assert first.url.params["$expand"] == "transactioncurrencyid($select=isocurrencycode)"
    assert "$filter" not in first.url.params
    later = [c.request for c in fake.router.calls][2:]
    assert [r.url.params["$skiptoken"] for r in later] == ["2", "4"]
    assert all(r.headers["Prefer"] == "odata.maxpagesize=500" for r in later)
    raw = pages[0].records[0]
    assert raw["creditlimit"] == Decimal("50000.0") and raw["_links"] == {"erp": "C1"}
    assert raw["transactioncurrencyid"] == {"isocurrencycode": "EUR"} and "@odata.etag" not in raw
    assert pages[-1].cursor == {"since": stamp(5), "seen": [fake.by_number("C5")["accountid"]]}


def test_an_incremental_read_filters_on_modifiedon(fake: FakeDataverse, conn: Connector) -> None:
    assert conn.source is not None
    _, cursor = read_all(conn.source, "customers")
    fake.change()
    records, _ = read_all(conn.source, "customers", cursor)
    assert [r["name"] for r in records] == ["Customer 2 NV", "Customer 6 BV"]
    assert fake.router.calls[-1].request.url.params["$filter"] == f"modifiedon ge {stamp(5)}"


def test_the_token_is_requested_for_the_environment_scope_and_reused(fake: FakeDataverse, conn: Connector) -> None:
    assert conn.source is not None
    read_all(conn.source, "customers")
    assert fake.token_requests == [
        {
            "grant_type": "client_credentials",
            "client_id": "51f81489-12ee-4a9e-aaae-a2591f45987d",
            "client_secret": SECRET,
            "scope": f"{ORG}/.default",
        }
    ]


def test_an_expiring_token_is_renewed_before_it_runs_out(fake: FakeDataverse) -> None:
    now = [0.0]
    c = dyn.create("d365", config(), clock=lambda: now[0])
    assert c.source is not None
    c.source.check()
    now[0] = 3599 - 60  # a minute before expires_in
    c.source.check()
    assert len(fake.token_requests) == 2


def test_a_wrong_secret_names_entra_id_and_not_the_secret(fake: FakeDataverse, sleeps: list[float]) -> None:
    c = build(sleeps, client_secret="wrong")
    assert c.source is not None
    with pytest.raises(dyn.DynamicsError) as caught:
        c.source.check()
    assert str(caught.value) == (
        "Dynamics 365 (connector d365): Entra ID refused the client credentials (HTTP 401): "
        "invalid_client: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value."
    )


# -- sink -----------------------------------------------------------------------------------------------


def test_updates_read_the_etag_then_patch_with_if_match_in_one_batch(fake: FakeDataverse, conn: Connector) -> None:
    assert conn.sink is not None
    events: list[OutboxEvent] = [
        flag("C1", "CREDIT_HOLD", "raised"),
        band("C1", "D"),
        flag("C1", "OVER_LIMIT", "raised"),  # not a column here: acknowledged
        limit("C2", "75000.50"),
    ]
    results = conn.sink.deliver(events)
    assert all(r.ok for r in results)
    read = fake.router.calls[1].request
    assert read.url.params["$filter"] == "accountnumber eq 'C1' or accountnumber eq 'C2'"
    assert fake.batch_headers[0]["Prefer"] == "odata.continue-on-error"
    assert fake.batch_headers[0]["Content-Type"] == "multipart/mixed; boundary=batch_b1"
    c1, c2 = fake.by_number("C1"), fake.by_number("C2")
    assert fake.batches == [
        [
            {
                "content_id": "1",
                "method": "PATCH",
                "url": f"{API}/accounts({c1['accountid']})",
                "headers": {"If-Match": 'W/"468001"', "Content-Type": "application/json; type=entry"},
                "body": {"creditonhold": True, "new_riskband": 100000003},
            },
            {
                "content_id": "2",
                "method": "PATCH",
                "url": f"{API}/accounts({c2['accountid']})",
                "headers": {"If-Match": 'W/"468002"', "Content-Type": "application/json; type=entry"},
                "body": {"creditlimit": 75000.5},
            },
        ]
    ]
    patch_body = fake.router.calls[2].request.content.decode()
    assert '{"creditlimit":75000.50}' in patch_body  # the exact decimal, never through a float
    assert (c1["creditonhold"], c1["new_riskband"]) == (True, 100000003)


def test_a_412_reads_the_row_again_and_retries_once(fake: FakeDataverse, conn: Connector) -> None:
    assert conn.sink is not None
    fake.stale.add("C1")
    [result] = conn.sink.deliver([flag("C1", "CREDIT_HOLD", "raised")])
    assert result.ok
    assert len(fake.batches) == 2
    assert fake.batches[1][0]["headers"]["If-Match"] == f'W/"{fake.by_number("C1")["versionnumber"] - 1}"'
    reread = [c.request for c in fake.router.calls if re.search(r"accounts\([0-9a-f-]+\)$", c.request.url.path)]
    assert len(reread) == 1


def test_a_second_412_is_left_for_a_later_retry(
    fake: FakeDataverse, conn: Connector, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert conn.sink is not None
    original = fake._account

    def read_then_change(request: httpx.Request) -> httpx.Response:
        response = original(request)
        fake.stale.add("C1")  # it changes again right after every read
        return response

    fake.router.routes[2].side_effect = read_then_change
    fake.stale.add("C1")
    [result] = conn.sink.deliver([flag("C1", "CREDIT_HOLD", "raised")])
    assert not result.ok and not result.permanent
    assert result.error == (
        "Dynamics 365 refused the update (HTTP 412): 0x80060882: "
        "The version of the existing record doesn't match the RowVersion property provided."
    )


def test_one_refused_account_does_not_hold_up_the_others(fake: FakeDataverse, conn: Connector) -> None:
    assert conn.sink is not None
    fake.refuse["C2"] = "A validation error occurred."
    results = conn.sink.deliver([band("C1", "A"), band("C2", "B"), band("C3", "C"), band("C9", "D")])
    assert results == [
        DeliveryResult("C1:BAND:v1", True),
        DeliveryResult(
            "C2:BAND:v1",
            False,
            "Dynamics 365 refused the update (HTTP 400): 0x80044331: A validation error occurred.",
            True,
        ),
        DeliveryResult("C3:BAND:v1", True),
        DeliveryResult.unlinked("C9:BAND:v1", "no Dynamics 365 account with accountnumber = 'C9'"),
    ]
    assert fake.by_number("C3")["new_riskband"] == CHOICES["C"]


def test_a_band_without_a_choice_value_is_refused_permanently_without_a_call(
    fake: FakeDataverse, conn: Connector
) -> None:
    assert conn.sink is not None
    [result] = conn.sink.deliver([band("C1", "X")])
    assert (result.ok, result.permanent, result.error) == (False, True, "band 'X' has no value in band_choices")
    assert fake.batches == []


def test_a_cleared_credit_hold_sets_creditonhold_false(fake: FakeDataverse, conn: Connector) -> None:
    assert conn.sink is not None
    conn.sink.deliver([flag("C1", "CREDIT_HOLD", "raised")])
    conn.sink.deliver([flag("C1", "CREDIT_HOLD", "cleared", version=2)])
    assert fake.by_number("C1")["creditonhold"] is False


def test_a_throttled_batch_waits_retry_after(fake: FakeDataverse, conn: Connector, sleeps: list[float]) -> None:
    assert conn.sink is not None
    fake.faults.push(httpx.Response(401, json={"error": {"code": "", "message": "expired"}}))  # token expired: once
    conn.sink.deliver([band("C1", "A")])  # the read got a new token
    fake.throttle_next(120)
    assert conn.sink.deliver([band("C2", "A")])[0].ok
    assert 120.0 in sleeps
    assert len(fake.token_requests) == 2


def test_a_dataverse_that_stays_down_raises_sink_error(fake: FakeDataverse, conn: Connector) -> None:
    assert conn.sink is not None
    fake.go_down()
    with pytest.raises(SinkError, match=r"Dynamics 365 \(connector d365\).*HTTP 503"):
        conn.sink.deliver([band("C1", "A")])


def test_a_throttled_request_inside_a_batch_fails_for_a_retry_after_its_retry_after(
    fake: FakeDataverse, conn: Connector
) -> None:
    assert conn.sink is not None
    fake.throttle_patch["C2"] = 300
    results = conn.sink.deliver([band("C1", "A"), band("C2", "B")])
    assert results[0].ok
    assert (results[1].ok, results[1].permanent, results[1].retry_after) == (False, False, 300.0)
    assert "HTTP 429" in (results[1].error or "")


# -- through the outbox: a throttling Dataverse is waited for, a refusal is a dead letter at once -------------


def _outbox_push(store: Store, conn: Connector, moment: dt.datetime, **settings: Any) -> tuple[Outbox, dict[str, str]]:
    """Queue a band change for C1 to the connector's sink and push it once at ``moment``; the outbox and
    the statuses of its rows by event id."""
    assert conn.sink is not None
    with store.begin() as db:
        enqueue(db, [band("C1", "A")], ["d365"], moment)
    outbox = Outbox(store, **({"backoff_seconds": 1} | settings))  # the backoff alone: again within a second
    outbox.push({"d365": conn.sink}, now=moment)
    with store.connect() as db:
        statuses = dict(db.execute(sa.select(schema.outbox.c.event_id, schema.outbox.c.status)).all())
    return outbox, statuses


def test_a_dataverse_still_throttling_is_not_tried_again_before_its_retry_after(
    store: Store, fake: FakeDataverse, conn: Connector, sleeps: list[float]
) -> None:
    fake.faults.push(throttled("600"), 5)  # the HTTP layer's five tries all throttled
    moment = utcnow()
    outbox, statuses = _outbox_push(store, conn, moment)
    assert statuses == {"C1:BAND:v1": "failed"} and outbox.rows("dead") == []
    [row] = outbox.rows("failed")
    assert row["attempts"] == 1 and "HTTP 429" in row["last_error"]
    assert row["next_attempt_at"] >= moment + dt.timedelta(seconds=600)
    assert sleeps == [300.0] * 4  # inside the push, the HTTP layer waited max_retry_wait at most


def test_a_retry_after_given_as_an_http_date_is_honoured(store: Store, fake: FakeDataverse, conn: Connector) -> None:
    moment = utcnow()
    when = email.utils.format_datetime(moment + dt.timedelta(minutes=30), usegmt=True)
    fake.faults.push(throttled(when), 5)
    outbox, _ = _outbox_push(store, conn, moment)
    [row] = outbox.rows("failed")
    assert row["next_attempt_at"] >= moment + dt.timedelta(minutes=20)  # half an hour, less the test's own time


def test_a_retry_after_longer_than_the_ceiling_waits_the_ceiling(
    store: Store, fake: FakeDataverse, conn: Connector
) -> None:
    fake.faults.push(throttled("86400"), 5)
    moment = utcnow()
    outbox, _ = _outbox_push(store, conn, moment, backoff_max_seconds=60)
    [row] = outbox.rows("failed")
    assert row["next_attempt_at"] == moment + dt.timedelta(seconds=RETRY_AFTER_CEILING)


def test_a_dataverse_answering_503_is_retried_with_the_backoff(
    store: Store, fake: FakeDataverse, conn: Connector
) -> None:
    fake.go_down()
    moment = utcnow()
    outbox, statuses = _outbox_push(store, conn, moment, backoff_seconds=60)
    assert statuses == {"C1:BAND:v1": "failed"} and outbox.rows("dead") == []
    [row] = outbox.rows("failed")
    assert row["attempts"] == 1 and "HTTP 503" in row["last_error"]
    assert moment + dt.timedelta(seconds=30) <= row["next_attempt_at"] <= moment + dt.timedelta(seconds=60)


REFUSALS = {
    400: (
        "0x80060888",
        "Could not find a property named 'accountnumbr' on type 'Microsoft.Dynamics.CRM.account'.",
    ),
    403: (
        "0x80040220",
        "Principal user (Id=51f81489-12ee-4a9e-aaae-a2591f45987d, type=8, roleCount=1, privilegeCount=0, "
        "accessMode=4), is missing prvReadAccount privilege (Id=886b280c-6396-4d56-a0a3-2c1b0a50ceb0) on OTC=1 "
        "for entity 'account'.",
    ),
    404: ("0x80060888", "Resource not found for the segment 'accounts'."),
}


@pytest.mark.parametrize("status", sorted(REFUSALS))
def test_a_refused_call_is_a_dead_letter_at_the_first_attempt_with_dataverses_message(
    store: Store, fake: FakeDataverse, conn: Connector, sleeps: list[float], status: int
) -> None:
    code, message = REFUSALS[status]
    fake.faults.push(httpx.Response(status, json={"error": {"code": code, "message": message}}))
    outbox, statuses = _outbox_push(store, conn, utcnow())
    assert statuses == {}
    [dead] = outbox.rows("dead")
    assert (dead["event_id"], dead["attempts"], dead["permanent"]) == ("C1:BAND:v1", 1, True)
    assert dead["last_error"] == (
        f"Dynamics 365 (connector d365): GET /api/data/v9.2/accounts: HTTP {status}: {code}: {message}"
    )
    assert fake.faults.served == 1 and sleeps == []  # asked once: a refusal is not worth a second call


def test_a_batch_refused_as_a_whole_is_a_dead_letter_at_the_first_attempt(
    store: Store, fake: FakeDataverse, conn: Connector
) -> None:
    message = (
        "Error identified in Payload provided by the user for Entity :'', For more information on this error "
        "please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293"
    )
    fake.router.routes[3].side_effect = lambda request: httpx.Response(
        400, json={"error": {"code": "0x80048d19", "message": message}}
    )
    outbox, statuses = _outbox_push(store, conn, utcnow())
    assert statuses == {}
    [dead] = outbox.rows("dead")
    assert (dead["attempts"], dead["permanent"]) == (1, True)
    assert dead["last_error"] == (
        f"Dynamics 365 (connector d365): POST /api/data/v9.2/$batch: HTTP 400: 0x80048d19: {message}"
    )


def test_a_refused_call_fails_the_sink_not_retryable_and_a_throttled_one_retryable(
    fake: FakeDataverse, conn: Connector
) -> None:
    assert conn.sink is not None
    fake.faults.push(httpx.Response(403, json={"error": {"code": REFUSALS[403][0], "message": REFUSALS[403][1]}}))
    with pytest.raises(SinkError) as refused:
        conn.sink.deliver([band("C1", "A")])
    assert not refused.value.retryable
    fake.faults.push(throttled("120"), 5)
    with pytest.raises(SinkError) as throttled_error:
        conn.sink.deliver([band("C1", "A")])
    assert throttled_error.value.retryable and retry_after(throttled_error.value) == 120.0


# -- through the hub ------------------------------------------------------------------------------------

CUSTOMERS = """customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban
C1,Customer 1 BV,NL111111111B01,NL,EUR,10000,,
C2,Customer 2 BV,NL222222222B01,NL,EUR,500000,,
"""
INVOICES = """invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number
INV-1,C1,2026-01-02,2026-02-01,EUR,30000,30000,
INV-2,C2,2026-05-01,2026-06-15,EUR,1000,1000,
"""


def test_hub_pipeline_puts_credit_hold_and_band_on_dynamics_accounts(
    tmp_path: Path, fake: FakeDataverse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("D365_SECRET", SECRET)
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    choices = ", ".join(f"{k} = {v}" for k, v in CHOICES.items())
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
        '[plugins]\nallow = ["csv", "matching", "risk-rules", "dynamics"]\n\n'
        '[connectors.erp]\ntype = "csv"\ncustomers = "customers.csv"\ninvoices = "invoices.csv"\n\n'
        f'[connectors.d365]\ntype = "dynamics"\nurl = "{ORG}"\ntenant_id = "{TENANT}"\n'
        'client_id = "51f81489-12ee-4a9e-aaae-a2591f45987d"\nclient_secret = { env = "D365_SECRET" }\n'
        f'streams = []\nexternal_id_source = "erp"\nband_field = "new_riskband"\nband_choices = {{ {choices} }}\n',
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
    c1, c2 = fake.by_number("C1"), fake.by_number("C2")
    assert [[(r["url"], r["headers"]["If-Match"], r["body"]) for r in batch] for batch in fake.batches] == [
        [
            (f"{API}/accounts({c1['accountid']})", 'W/"468001"', {"creditonhold": True, "new_riskband": CHOICES["C"]}),
            (f"{API}/accounts({c2['accountid']})", 'W/"468002"', {"new_riskband": CHOICES["A"]}),
        ]
    ]
    assert (c1["creditonhold"], c2["creditonhold"]) == (True, False)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.connect() as db:
        outbox = dict(db.execute(sa.select(schema.outbox.c.event_id, schema.outbox.c.status)).all())
    engine.dispose()
    assert set(outbox.values()) == {"delivered"} and stats.delivered == len(outbox) == 5
