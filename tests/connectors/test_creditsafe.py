"""Creditsafe Connect client against a respx fake shaped like the Connect API documentation.

Shapes the fake answers with (doc.creditsafe.com, Connect API 1.10): ``POST /authenticate
{"username", "password"}`` -> ``{"token"}`` (a JWT valid for one hour); ``GET /companies?countries=
&regNo=|vatNo=|name=`` -> ``{"totalSize", "companies": [{"id", "country", "regNo", "vatNo",
"safeNo", "name", "address": {"simpleValue", ...}, "status", ...}]}``; ``GET /companies/{id}`` ->
``{"correlationId", "dateOfOrder", "report": {"companyId", "companySummary": {"businessName",
"companyStatus": {"status", "description"}, ...}, "creditScore": {"currentCreditRating":
{"commonValue", "commonDescription", "creditLimit": {"currency", "value"}, "providerValue":
{"minValue", "maxValue", "value"}, "providerDescription"}, "previousCreditRating": {...},
"latestRatingChangeDate"}, "negativeInformation": {...}}}``; monitoring ``POST
/monitoring/portfolios/{id}/companies {"id", "personalReference", "freeText", "personalLimit"}``
and ``GET /monitoring/notificationEvents?startDate&page&pageSize`` -> ``{"totalCount", "data":
[{"company": {"id", "safeNumber", "name", "countryCode", "portfolioId"}, "eventId", "eventDate",
"newValue", "oldValue", "ruleCode", "ruleName", ...}], "paging": {"size", "prev", "next", "last"}}``;
errors ``{"correlationId", "message", "details"}``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hub_connectors import creditsafe as cs

from hub import BureauAuthError, BureauError, BureauNotFound, BureauQuery, LegalEventKind
from hub.app import Hub
from hub.config import load_config

BASE = "https://connect.sandbox.creditsafe.com/v1"
USERNAME = "acme_integration"
PASSWORD = "Pa55-cs-secret-2026!"
CORRELATION = "23921650-c073-11ea-860f-06bc8182190e"
CONNECT_ID = "GB-0-09565115"


def rating(common: str, provider: str, *, limit: Any = "50000", description: str = "Very Low Risk") -> dict[str, Any]:
    return {
        "commonValue": common,
        "commonDescription": description,
        "creditLimit": {"currency": "GBP", "value": limit},
        "providerValue": {"maxValue": "100", "minValue": "0", "value": provider},
        "providerDescription": description,
    }


def report_body(
    connect_id: str = CONNECT_ID,
    *,
    current: dict[str, Any] | None = None,
    previous: dict[str, Any] | None = None,
    status: dict[str, str] | None = None,
    negative: dict[str, Any] | None = None,
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "companyId": connect_id,
        "language": "EN",
        "companySummary": {
            "businessName": "WIDGET WORKS LIMITED",
            "country": "GB",
            "companyNumber": "UK13646240",
            "companyRegistrationNumber": "09565115",
            "companyStatus": status or {"status": "Active", "description": "Active - Accounts Filed"},
            "creditRating": current or rating("A", "88"),
        },
        "creditScore": {
            "currentCreditRating": current or rating("A", "88"),
            "currentContractLimit": {"currency": "GBP", "value": 60000},
            "previousCreditRating": previous or rating("B", "64", limit="30000", description="Low Risk"),
            "latestRatingChangeDate": "2026-01-14T00:00:00Z",
        },
    }
    if negative is not None:
        report["negativeInformation"] = negative
    return {"correlationId": CORRELATION, "dateOfOrder": "2026-02-03T09:12:44.000Z", "report": report}


def company(connect_id: str, name: str, reg_no: str, vat: str | None = None) -> dict[str, Any]:
    return {
        "id": connect_id,
        "country": "GB",
        "regNo": reg_no,
        "vatNo": [vat] if vat else [],
        "safeNo": "UK13646240",
        "name": name,
        "address": {"simpleValue": "1 HIGH STREET, LONDON, EC1A 1AA", "city": "LONDON", "postCode": "EC1A 1AA"},
        "status": "Active",
        "type": "Ltd",
        "officeType": "HeadOffice",
        "dateOfLatestChange": "2026-01-10T00:00:00Z",
    }


class FakeCreditsafe:
    def __init__(self) -> None:
        self.logins = 0
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.bad_password = False
        self.reports: dict[str, dict[str, Any]] = {CONNECT_ID: report_body()}
        self.companies = [company(CONNECT_ID, "WIDGET WORKS LIMITED", "09565115", "GB123456789")]
        self.searches: list[dict[str, str]] = []
        self.faults: dict[str, list[httpx.Response | Exception]] = {}
        self.portfolio_adds: list[tuple[str, dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []
        self.event_queries: list[dict[str, str]] = []
        self.router = respx.mock(assert_all_called=False)
        r = self.router
        r.post(f"{BASE}/authenticate").mock(side_effect=self._authenticate)
        r.get(f"{BASE}/companies").mock(side_effect=self._search)
        r.get(url__regex=rf"^{BASE}/companies/[^/?]+$").mock(side_effect=self._report)
        r.post(url__regex=rf"^{BASE}/monitoring/portfolios/\d+/companies$").mock(side_effect=self._add)
        r.get(f"{BASE}/monitoring/notificationEvents").mock(side_effect=self._events)

    def fault(self, route: str, *answers: httpx.Response | Exception) -> None:
        self.faults.setdefault(route, []).extend(answers)

    def _fault(self, route: str) -> httpx.Response | None:
        queue = self.faults.get(route)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return None

    @staticmethod
    def error(status: int, message: str, details: str = "") -> httpx.Response:
        return httpx.Response(status, json={"correlationId": CORRELATION, "message": message, "details": details})

    def _authorised(self, request: httpx.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.valid

    def _authenticate(self, request: httpx.Request) -> httpx.Response:
        self.logins += 1
        if (fault := self._fault("authenticate")) is not None:
            return fault
        body = json.loads(request.content)
        if self.bad_password or body != {"username": USERNAME, "password": PASSWORD}:
            return self.error(401, "Unauthorized", "Invalid username or password")
        token = f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhY21lIn0.sig-{self.logins:04d}-abcdefgh"
        self.issued.append(token)
        self.valid.add(token)
        return httpx.Response(200, json={"token": token})

    def expire_tokens(self) -> None:
        self.valid.clear()

    def _search(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return self.error(401, "Unauthorized", "Token has expired")
        if (fault := self._fault("search")) is not None:
            return fault
        params = dict(request.url.params)
        self.searches.append(params)
        found = [
            c
            for c in self.companies
            if params.get("countries") == c["country"]
            and ("regNo" not in params or params["regNo"] == c["regNo"])
            and ("vatNo" not in params or params["vatNo"] in c["vatNo"])
            and ("name" not in params or params["name"].upper() in c["name"])
        ]
        return httpx.Response(200, json={"correlationId": CORRELATION, "totalSize": len(found), "companies": found})

    def _report(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return self.error(401, "Unauthorized", "Token has expired")
        if (fault := self._fault("report")) is not None:
            return fault
        connect_id = request.url.path.rsplit("/", 1)[-1]
        if connect_id not in self.reports:
            return self.error(404, "Report unavailable", f"No company found for {connect_id}")
        return httpx.Response(200, json=self.reports[connect_id])

    def _add(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return self.error(401, "Unauthorized", "Token has expired")
        body = json.loads(request.content)
        portfolio = request.url.path.split("/")[-2]
        if any(p == portfolio and b["id"] == body["id"] for p, b in self.portfolio_adds):
            return self.error(409, "Conflict", "Company already exists in portfolio")
        self.portfolio_adds.append((portfolio, body))
        return httpx.Response(201, json={"correlationId": CORRELATION, "message": "Company added to portfolio"})

    def _events(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return self.error(401, "Unauthorized", "Token has expired")
        params = dict(request.url.params)
        self.event_queries.append(params)
        start = params.get("startDate")
        chosen = [e for e in self.events if start is None or e["eventDate"][:10] >= start]
        chosen.sort(key=lambda e: (e["eventDate"], e["eventId"]))
        page, size = int(params.get("page", "0")), int(params.get("pageSize", "50"))
        last = max(0, (len(chosen) - 1) // size)
        data = chosen[page * size : (page + 1) * size]
        paging = {"size": len(data), "prev": page - 1 if page else None, "next": page + 1 if page < last else None}
        paging["last"] = last
        return httpx.Response(
            200, json={"correlationId": CORRELATION, "totalCount": len(chosen), "data": data, "paging": paging}
        )

    def add_event(self, event_id: int, date: str, rule: str = "International Rating Change") -> None:
        self.events.append(
            {
                "company": {
                    "id": CONNECT_ID,
                    "safeNumber": "UK13646240",
                    "name": "WIDGET WORKS LIMITED",
                    "countryCode": "GB",
                    "portfolioId": 1081,
                    "creditLimit": "30000",
                },
                "eventId": event_id,
                "eventDate": f"{date}T06:00:00",
                "newValue": "C",
                "oldValue": "A",
                "notificationEventId": 90000 + event_id,
                "ruleCode": 101,
                "ruleName": rule,
                "isProcessed": False,
                "createdDate": f"{date}T07:00:00",
            }
        )


@pytest.fixture
def fake() -> Iterator[FakeCreditsafe]:
    f = FakeCreditsafe()
    with f.router:
        yield f


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(*, sleeps: list[float] | None = None, clock: Clock | None = None, **overrides: Any) -> cs.CreditsafeClient:
    settings: dict[str, Any] = {
        "type": "creditsafe",
        "username": USERNAME,
        "password": PASSWORD,
        "base_url": BASE,
        "portfolio_id": "1081",
        **overrides,
    }
    config = cs.CreditsafeConfig.model_validate(settings)
    return cs.CreditsafeClient(
        config,
        name="cs",
        sleep=(sleeps if sleeps is not None else []).append,
        clock=clock or Clock(),
        today=lambda: dt.date(2026, 2, 3),
    )


def query(**kw: Any) -> BureauQuery:
    return BureauQuery(customer_id="C1", name=kw.pop("name", "Widget Works"), country=kw.pop("country", "GB"), **kw)


# -- search -------------------------------------------------------------------------------------------


def test_search_by_registration_number_returns_the_company_and_counts_one_paid_call(fake: FakeCreditsafe) -> None:
    c = client()
    [found] = c.search(query(registration_number="09565115", vat_number="GB123456789"))
    assert fake.searches == [{"countries": "GB", "regNo": "09565115", "page": "1", "pageSize": "10"}]
    assert found.bureau == "cs"
    assert found.company_id == CONNECT_ID
    assert (found.name, found.country, found.registration_number) == ("WIDGET WORKS LIMITED", "GB", "09565115")
    assert found.vat_number == "GB123456789"
    assert found.address == "1 HIGH STREET, LONDON, EC1A 1AA"
    assert found.status == "Active"
    assert c.paid_calls == 1


def test_search_falls_back_to_vat_then_name_and_country_each_a_paid_call(fake: FakeCreditsafe) -> None:
    c = client()
    found = c.search(query(registration_number="00000000", vat_number="GB000000000", name="widget works"))
    assert [s.get("regNo") or s.get("vatNo") or s.get("name") for s in fake.searches] == [
        "00000000",
        "GB000000000",
        "widget works",
    ]
    assert [f.company_id for f in found] == [CONNECT_ID]
    assert c.paid_calls == 3


def test_search_without_ids_asks_by_name_and_country_only(fake: FakeCreditsafe) -> None:
    c = client()
    assert [f.company_id for f in c.search(query(name="Widget"))] == [CONNECT_ID]
    assert fake.searches == [{"countries": "GB", "name": "Widget", "page": "1", "pageSize": "10"}]


def test_search_with_nothing_found_is_empty_not_an_error(fake: FakeCreditsafe) -> None:
    assert client().search(query(name="Nobody Such Ltd")) == []


def test_search_without_a_country_uses_the_configured_default_or_says_what_is_missing(fake: FakeCreditsafe) -> None:
    assert client(default_country="GB").search(query(country=None, name="Widget"))
    with pytest.raises(BureauError, match=r"Creditsafe \(connector cs\): search C1: .*country"):
        client().search(query(country=None, name="Widget"))


# -- report and normalisation -------------------------------------------------------------------------


def test_report_normalises_provider_value_band_limit_and_previous_rating(fake: FakeCreditsafe) -> None:
    c = client()
    r = c.report(CONNECT_ID)
    assert r.bureau == "cs"
    assert r.company_id == CONNECT_ID
    assert r.company_name == "WIDGET WORKS LIMITED"
    assert r.report_date == dt.date(2026, 2, 3)
    assert (r.score, r.raw_score, r.band) == (88.0, "88", "A")
    assert (r.recommended_limit, r.recommended_limit_currency, r.limit_note) == (Decimal("50000"), "GBP", None)
    assert r.previous_score == 64.0
    assert r.events == ()
    assert r.raw == fake.reports[CONNECT_ID]
    assert c.paid_calls == 1


def test_not_rated_provider_value_gives_no_score_but_keeps_band_and_raw_value(fake: FakeCreditsafe) -> None:
    fake.reports[CONNECT_ID] = report_body(current=rating("E", "Not Rated", limit="", description="Not Rated"))
    r = client().report(CONNECT_ID)
    assert (r.score, r.raw_score, r.band) == (None, "Not Rated", "E")
    assert (r.recommended_limit, r.limit_note) == (None, None)


def test_provider_value_on_another_scale_maps_from_the_common_value_band_midpoint(fake: FakeCreditsafe) -> None:
    other = rating("C", "4", description="Moderate Risk")
    other["providerValue"].update(minValue="1", maxValue="10")
    fake.reports[CONNECT_ID] = report_body(current=other, previous=rating("B", "Not Rated"))
    r = client().report(CONNECT_ID)
    assert (r.score, r.raw_score, r.band) == (40.0, "4", "C")
    assert r.previous_score is None


@pytest.mark.parametrize(("band", "score"), [("A", 85.5), ("B", 60.5), ("C", 40.0), ("D", 15.0), ("E", None)])
def test_common_value_band_midpoints(fake: FakeCreditsafe, band: str, score: float | None) -> None:
    only_band = rating(band, "")
    del only_band["providerValue"]
    fake.reports[CONNECT_ID] = report_body(current=only_band)
    assert client().report(CONNECT_ID).score == score


def test_a_credit_limit_given_as_a_sentence_becomes_the_limit_note(fake: FakeCreditsafe) -> None:
    fake.reports[CONNECT_ID] = report_body(current=rating("D", "12", limit="Credit Limit not applicable"))
    r = client().report(CONNECT_ID)
    assert (r.recommended_limit, r.recommended_limit_currency) == (None, None)
    assert r.limit_note == "Credit Limit not applicable"
    assert r.score == 12.0


def test_negative_information_and_an_insolvent_status_become_events(fake: FakeCreditsafe) -> None:
    negative = {
        "ccjSummary": {"exactRegistered": 1, "numberOfExact": 1, "currency": "GBP"},
        "countyCourtJudgements": [
            {
                "caseNumber": "K9QZ1234",
                "ccjDate": "2025-11-20T00:00:00Z",
                "court": "COUNTY COURT BUSINESS CENTRE",
                "ccjAmount": 4200,
                "ccjStatus": "Judgment",
                "currency": "GBP",
            }
        ],
    }
    status = {"status": "NonActive", "description": "Liquidation", "providerStatus": "In Liquidation"}
    fake.reports[CONNECT_ID] = report_body(negative=negative, status=status)
    ccj, insolvency = client().report(CONNECT_ID).events
    assert ccj.kind == LegalEventKind.LAWSUIT
    assert (ccj.date, ccj.court, ccj.amount, ccj.currency) == (
        dt.date(2025, 11, 20),
        "COUNTY COURT BUSINESS CENTRE",
        Decimal("4200"),
        "GBP",
    )
    assert ccj.case_number == "K9QZ1234"
    assert "County Court Judgment" in ccj.description
    assert insolvency.kind == LegalEventKind.INSOLVENCY
    assert "Liquidation" in insolvency.description


def test_unknown_company_is_bureau_not_found(fake: FakeCreditsafe) -> None:
    c = client()
    with pytest.raises(BureauNotFound, match=r"Creditsafe \(connector cs\): report GB-0-00000000: .*404"):
        c.report("GB-0-00000000")
    assert c.paid_calls == 1  # the bureau answered: counted against the budget


def test_malformed_report_names_what_is_missing_and_returns_nothing(fake: FakeCreditsafe) -> None:
    fake.reports[CONNECT_ID] = {"correlationId": CORRELATION}
    with pytest.raises(BureauError, match=r"Creditsafe \(connector cs\): report GB-0-09565115: .*'report'"):
        client().report(CONNECT_ID)
    broken = report_body()
    broken["report"]["creditScore"]["currentCreditRating"] = "A"
    fake.reports[CONNECT_ID] = broken
    with pytest.raises(BureauError, match=r"creditScore\.currentCreditRating"):
        client().report(CONNECT_ID)


def test_a_body_that_is_not_json_is_a_bureau_error(fake: FakeCreditsafe) -> None:
    fake.fault("report", httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(BureauError, match=r"Creditsafe \(connector cs\): report .*not JSON"):
        client().report(CONNECT_ID)


# -- auth ---------------------------------------------------------------------------------------------


def test_token_is_reused_then_refreshed_before_its_hour_is_up(fake: FakeCreditsafe) -> None:
    clock = Clock()
    c = client(clock=clock)
    c.report(CONNECT_ID)
    clock.now += 30 * 60
    c.report(CONNECT_ID)
    assert fake.logins == 1
    clock.now += 26 * 60  # 56 minutes after the login: inside the refresh margin
    c.report(CONNECT_ID)
    assert fake.logins == 2


def test_expired_token_mid_run_logs_in_again_once_and_retries_the_call(fake: FakeCreditsafe) -> None:
    c = client()
    c.report(CONNECT_ID)
    fake.expire_tokens()
    assert c.report(CONNECT_ID).score == 88.0
    assert fake.logins == 2
    assert c.paid_calls == 2


def test_a_token_refused_right_after_a_new_login_is_an_auth_error_not_a_loop(fake: FakeCreditsafe) -> None:
    c = client()
    c.report(CONNECT_ID)
    fake.expire_tokens()
    fake.fault("report", fake.error(401, "Unauthorized", "Token has expired"))
    fake.fault("report", fake.error(401, "Unauthorized", "Token has expired"))
    with pytest.raises(BureauAuthError, match=r"Creditsafe \(connector cs\): report .*401"):
        c.report(CONNECT_ID)
    assert fake.logins == 2


def test_bad_credentials_stop_at_the_first_login_and_say_so(fake: FakeCreditsafe) -> None:
    fake.bad_password = True
    c = client()
    with pytest.raises(BureauAuthError) as first:
        c.report(CONNECT_ID)
    message = str(first.value)
    assert "Creditsafe (connector cs): authenticate" in message
    assert "HTTP 401" in message and "not retried" in message
    assert PASSWORD not in message
    with pytest.raises(BureauAuthError):
        c.search(query(registration_number="09565115"))
    with pytest.raises(BureauAuthError):
        c.report(CONNECT_ID)
    assert fake.logins == 1
    assert c.paid_calls == 0
    assert first.value.retryable is False


def test_a_429_at_login_is_not_retried_since_failed_logins_lock_the_account(fake: FakeCreditsafe) -> None:
    sleeps: list[float] = []
    fake.fault("authenticate", httpx.Response(429, headers={"Retry-After": "300"}, json={"message": "Too Many"}))
    c = client(sleeps=sleeps)
    with pytest.raises(BureauAuthError, match=r"authenticate: .*HTTP 429.*lock"):
        c.report(CONNECT_ID)
    assert (fake.logins, sleeps) == (1, [])


# -- throttling and failures --------------------------------------------------------------------------


def test_throttling_waits_what_retry_after_says_then_succeeds(fake: FakeCreditsafe) -> None:
    sleeps: list[float] = []
    fake.fault("report", httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Too Many Requests"}))
    r = client(sleeps=sleeps).report(CONNECT_ID)
    assert r.score == 88.0
    assert sleeps == [7.0]


def test_a_server_error_that_persists_names_bureau_call_and_status(fake: FakeCreditsafe) -> None:
    fake.fault("report", *[fake.error(503, "Service Unavailable")] * 4)
    with pytest.raises(BureauError) as caught:
        client().report(CONNECT_ID)
    message = str(caught.value)
    assert message.startswith("Creditsafe (connector cs): report GB-0-09565115: ")
    assert "HTTP 503" in message and "\n" not in message
    assert caught.value.retryable is True


def test_a_timeout_names_bureau_and_call(fake: FakeCreditsafe) -> None:
    fake.fault("search", *[httpx.ReadTimeout("timed out")] * 4)
    with pytest.raises(BureauError, match=r"Creditsafe \(connector cs\): search C1: .*ReadTimeout"):
        client().search(query(registration_number="09565115"))


def test_no_token_or_password_appears_in_any_error(fake: FakeCreditsafe) -> None:
    c = client()
    c.report(CONNECT_ID)
    token = fake.issued[0]
    fake.fault("report", *[httpx.Response(500, text=f"internal error for Bearer {token} / {PASSWORD}")] * 4)
    with pytest.raises(BureauError) as caught:
        c.report(CONNECT_ID)
    assert token not in str(caught.value)
    assert PASSWORD not in str(caught.value)


# -- monitoring ---------------------------------------------------------------------------------------


def test_register_monitoring_adds_each_company_to_the_portfolio_once(fake: FakeCreditsafe) -> None:
    c = client()
    c.register_monitoring([CONNECT_ID, "GB-0-01234567"])
    c.register_monitoring([CONNECT_ID])  # already there: a 409 is fine
    assert fake.portfolio_adds == [
        ("1081", {"id": CONNECT_ID, "personalReference": "", "freeText": "", "personalLimit": ""}),
        ("1081", {"id": "GB-0-01234567", "personalReference": "", "freeText": "", "personalLimit": ""}),
    ]
    assert c.paid_calls == 0


def test_register_monitoring_without_a_portfolio_says_so(fake: FakeCreditsafe) -> None:
    with pytest.raises(BureauError, match=r"Creditsafe \(connector cs\): register monitoring: .*portfolio_id"):
        client(portfolio_id=None).register_monitoring([CONNECT_ID])


def test_monitoring_events_come_page_by_page_with_a_cursor_to_resume_from(fake: FakeCreditsafe) -> None:
    for n, day in enumerate(["2026-01-05", "2026-01-06", "2026-01-06", "2026-01-07", "2026-01-07"], start=1):
        fake.add_event(n, day)
    c = client(monitoring_page_size=2, monitoring_start="2026-01-01")
    pages = list(c.monitoring_events(None))
    assert [[e.event_id for e in events] for events, _ in pages] == [["1", "2"], ["3", "4"], ["5"]]
    first = pages[0][0][0]
    assert (first.bureau, first.company_id, first.date, first.kind) == ("cs", CONNECT_ID, dt.date(2026, 1, 5), "101")
    assert first.description == "International Rating Change: A -> C"
    assert [q["page"] for q in fake.event_queries] == ["0", "1", "2"]
    assert fake.event_queries[0]["startDate"] == "2026-01-01"
    # resuming from the last cursor sees only what came later, never an event twice
    fake.add_event(6, "2026-01-07")
    fake.add_event(7, "2026-01-08")
    later = list(c.monitoring_events(pages[-1][1]))
    assert [e.event_id for events, _ in later for e in events] == ["6", "7"]
    # resuming from a cursor in the middle of a walk goes on from the next page
    fake.event_queries.clear()
    middle = list(c.monitoring_events(pages[0][1]))
    assert fake.event_queries[0]["page"] == "1"
    assert [e.event_id for events, _ in middle for e in events][:2] == ["3", "4"]
    assert c.paid_calls == 0


# -- the connector type --------------------------------------------------------------------------------


def test_connector_type_builds_from_config_with_secret_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CS_PASSWORD", PASSWORD)
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
        '[plugins]\nallow = ["creditsafe"]\n\n'
        f'[connectors.cs]\ntype = "creditsafe"\nusername = "{USERNAME}"\npassword = {{ env = "CS_PASSWORD" }}\n'
        f'base_url = "{BASE}"\nportfolio_id = "1081"\n',
        encoding="utf-8",
    )
    hub = Hub(load_config(path))
    try:
        conn = hub.connector("cs")
        assert (conn.type, conn.source, conn.sink) == ("creditsafe", None, None)
        assert isinstance(conn.bureau, cs.CreditsafeClient)
        assert conn.bureau.name == "cs"
        assert conn.bureau.config.password == PASSWORD
    finally:
        hub.close()


def test_config_rejects_unknown_keys_naming_them(tmp_path: Path) -> None:
    from hub import ConfigError, validate_config

    with pytest.raises(ConfigError, match=r"\[connectors.cs\] .*passwrod: Extra inputs"):
        validate_config(cs.CreditsafeConfig, "cs", {"type": "creditsafe", "username": "u", "passwrod": "x"})


def documented_section(type_name: str) -> dict[str, Any]:
    """The ``[connectors.*]`` example of ``type_name`` in docs/bureau-connectors.md, secrets resolved to text."""
    import re
    import tomllib

    docs = (Path(__file__).resolve().parents[2] / "docs" / "bureau-connectors.md").read_text(encoding="utf-8")
    for block in re.findall(r"```toml\n(.*?)```", docs, re.S):
        parsed = tomllib.loads(block)
        for section in parsed.get("connectors", {}).values():
            if section.get("type") == type_name:
                return {k: "secret" if isinstance(v, dict) else v for k, v in section.items()}
    raise AssertionError(f"no documented example for {type_name}")


def test_the_documented_example_is_a_valid_config() -> None:
    from hub import validate_config

    config = validate_config(cs.CreditsafeConfig, "cs", documented_section("creditsafe"))
    assert isinstance(config, cs.CreditsafeConfig)
