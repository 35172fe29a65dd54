"""D&B Direct+ client against a respx fake shaped like the Direct+ documentation.

Shapes: ``POST /v2/token`` with ``Authorization: Basic base64(key:secret)`` and ``{"grant_type":
"client_credentials"}`` -> ``{"access_token", "expiresIn": 86400}``; ``GET /v1/match/cleanseMatch?
countryISOAlpha2Code&registrationNumber|name|duns`` -> ``{"transactionDetail", "inquiryDetail",
"candidatesMatchedQuantity", "matchCandidates": [{"displaySequence", "organization": {"duns",
"primaryName", "primaryAddress", "registrationNumbers", "dunsControlStatus"}, "matchQualityInformation":
{"confidenceCode", "matchGrade"}}]}``; ``GET /v1/data/duns/{duns}?blockIDs=...`` -> ``{"transactionDetail",
"inquiryDetail", "organization": {"duns", "primaryName", "dnbAssessment": {"failureScore": {"classScore",
"nationalPercentile", ...}, "delinquencyScore", "standardRating", "creditLimitRecommendation":
{"maximumRecommendedLimit": {"value", "currency"}}}, "businessTrading": [{"summary": [{"paydexScore"}]}],
"legalEvents": {"hasOpenBankruptcy"}}}``; errors ``{"transactionDetail", "error": {"errorCode",
"errorMessage", "errorDetails"}}`` (00004: not authorised; a DUNS or match not found with 404).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hub_connectors import dnb

from hub import BureauAuthError, BureauError, BureauNotFound, BureauQuery, LegalEventKind
from hub.app import Hub
from hub.config import load_config

BASE = "https://plus.dnb.com"
KEY = "dnb-consumer-key-1234"
SECRET = "dnb-consumer-s3cret-5678"
DUNS = "217634872"


def transaction() -> dict[str, Any]:
    return {
        "transactionID": "rrt-0fd2b8c0e2f1a1b3c-b-ea-26393-109683519-1",
        "transactionTimestamp": "2026-02-03T09:30:12.345Z",
        "inLanguage": "en-US",
        "serviceVersion": "1",
    }


def organization(duns: str = DUNS, **overrides: Any) -> dict[str, Any]:
    org: dict[str, Any] = {
        "duns": duns,
        "primaryName": "Gorman Manufacturing Company, Inc.",
        "countryISOAlpha2Code": "US",
        "primaryAddress": {
            "streetAddress": {"line1": "492 Koller St"},
            "addressLocality": {"name": "San Francisco"},
            "addressRegion": {"abbreviatedName": "CA"},
            "postalCode": "94110",
            "addressCountry": {"isoAlpha2Code": "US"},
        },
        "registrationNumbers": [{"registrationNumber": "123456789", "typeDnBCode": 6863, "typeDescription": "EIN"}],
        "dunsControlStatus": {"operatingStatus": {"description": "Active", "dnbCode": 9074}},
        "dnbAssessment": {
            "failureScore": {
                "classScore": 2,
                "classScoreDescription": "Low to Moderate Risk",
                "nationalPercentile": 84,
                "rawScore": 1520,
                "scoreDate": "2026-01-28",
                "scoreModel": {"description": "US Financial Stress Score v2", "dnbCode": 26620},
            },
            "delinquencyScore": {"classScore": 3, "nationalPercentile": 55, "scoreDate": "2026-01-28"},
            "standardRating": {
                "rating": "5A2",
                "financialStrength": "5A",
                "riskSegment": "2",
                "scoreDate": "2026-01-28",
            },
            "creditLimitRecommendation": {
                "assessmentDate": "2026-01-28",
                "averageRecommendedLimit": {"value": 250000, "currency": "USD"},
                "maximumRecommendedLimit": {"value": 400000, "currency": "USD"},
            },
        },
        "businessTrading": [{"summaryDate": "2026-01-31", "summary": [{"paydexScore": 78, "dataCoverage": "Full"}]}],
        "legalEvents": {"hasOpenBankruptcy": False, "hasBankruptcy": False},
    }
    org.update(overrides)
    return org


def data_body(org: dict[str, Any]) -> dict[str, Any]:
    return {
        "transactionDetail": transaction(),
        "inquiryDetail": {
            "duns": org.get("duns"),
            "blockIDs": ["companyinfo_L2_v1", "financialstrengthinsight_L2_v1", "paymentinsight_L1_v1"],
        },
        "organization": org,
    }


def error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"transactionDetail": transaction(), "error": {"errorCode": code, "errorMessage": message}}
    )


class FakeDnb:
    def __init__(self) -> None:
        self.tokens_issued = 0
        self.valid: set[str] = set()
        self.bad_secret = False
        self.expires_in = 86400
        self.token_bodies: list[dict[str, Any]] = []
        self.orgs: dict[str, dict[str, Any]] = {DUNS: organization()}
        self.matches: list[dict[str, str]] = []
        self.data_queries: list[dict[str, str]] = []
        self.faults: dict[str, list[httpx.Response | Exception]] = {}
        self.router = respx.mock(assert_all_called=False)
        self.router.post(f"{BASE}/v2/token").mock(side_effect=self._token)
        self.router.get(f"{BASE}/v1/match/cleanseMatch").mock(side_effect=self._match)
        self.router.get(url__regex=rf"^{BASE}/v1/data/duns/\d+").mock(side_effect=self._data)

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

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.tokens_issued += 1
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        self.token_bodies.append(json.loads(request.content))
        if self.bad_secret or request.headers.get("Authorization") != expected:
            return error(401, "00041", "Invalid Credentials")
        token = f"dnb-access-token-{self.tokens_issued:04d}-xyz"
        self.valid.add(token)
        return httpx.Response(200, json={"access_token": token, "expiresIn": self.expires_in})

    def _authorised(self, request: httpx.Request) -> bool:
        return request.headers.get("Authorization", "").removeprefix("Bearer ") in self.valid

    def _match(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return error(401, "00004", "You are not currently authorised to access this product.")
        if (fault := self._fault("match")) is not None:
            return fault
        params = dict(request.url.params)
        self.matches.append(params)
        found = [
            o
            for o in self.orgs.values()
            if ("duns" not in params or params["duns"] == o["duns"])
            and (
                "registrationNumber" not in params
                or params["registrationNumber"] in {r["registrationNumber"] for r in o["registrationNumbers"]}
            )
            and ("name" not in params or params["name"].lower() in o["primaryName"].lower())
        ]
        if not found:
            return error(404, "20502", "No Match found for the given input criteria")
        candidates = [
            {
                "displaySequence": n,
                "organization": {k: o[k] for k in ("duns", "primaryName", "primaryAddress", "registrationNumbers")}
                | {"dunsControlStatus": o["dunsControlStatus"]},
                "matchQualityInformation": {"confidenceCode": 10, "matchGrade": "AAAAAAAAAFA"},
            }
            for n, o in enumerate(found, start=1)
        ]
        return httpx.Response(
            200,
            json={
                "transactionDetail": transaction(),
                "inquiryDetail": params,
                "candidatesMatchedQuantity": len(candidates),
                "matchDataCriteria": "Name and Address Lookup",
                "matchCandidates": candidates,
            },
        )

    def _data(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return error(401, "00004", "You are not currently authorised to access this product.")
        if (fault := self._fault("data")) is not None:
            return fault
        self.data_queries.append(dict(request.url.params))
        duns = request.url.path.rsplit("/", 1)[-1]
        if duns not in self.orgs:
            return error(404, "10001", "No match found for the requested Duns number.")
        return httpx.Response(200, json=data_body(self.orgs[duns]))


@pytest.fixture
def fake() -> Iterator[FakeDnb]:
    f = FakeDnb()
    with f.router:
        yield f


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def client(*, sleeps: list[float] | None = None, clock: Clock | None = None, **overrides: Any) -> dnb.DnbClient:
    config = dnb.DnbConfig.model_validate(
        {"type": "dnb", "client_key": KEY, "client_secret": SECRET, "base_url": BASE, **overrides}
    )
    return dnb.DnbClient(
        config,
        name="dnb",
        sleep=(sleeps if sleeps is not None else []).append,
        clock=clock or Clock(),
        today=lambda: dt.date(2026, 2, 3),
    )


def query(**kw: Any) -> BureauQuery:
    return BureauQuery(customer_id="C7", name=kw.pop("name", "Gorman Manufacturing"), country="US", **kw)


# -- search -------------------------------------------------------------------------------------------


def test_search_by_registration_number_uses_cleanse_match_and_counts_a_paid_call(fake: FakeDnb) -> None:
    c = client()
    [found] = c.search(query(registration_number="123456789"))
    assert fake.matches == [
        {"countryISOAlpha2Code": "US", "registrationNumber": "123456789", "candidateMaximumQuantity": "5"}
    ]
    assert (found.bureau, found.company_id, found.duns) == ("dnb", DUNS, DUNS)
    assert (found.name, found.country, found.registration_number) == (
        "Gorman Manufacturing Company, Inc.",
        "US",
        "123456789",
    )
    assert found.address == "492 Koller St, San Francisco, CA, 94110"
    assert found.status == "Active"
    assert c.paid_calls == 1


def test_search_asks_by_duns_first_and_by_name_and_country_last(fake: FakeDnb) -> None:
    c = client()
    assert [f.duns for f in c.search(query(duns=DUNS, registration_number="999"))] == [DUNS]
    assert fake.matches[0]["duns"] == DUNS
    fake.matches.clear()
    assert [f.duns for f in c.search(query(registration_number="999", vat_number="888"))] == [DUNS]
    assert [m.get("registrationNumber") or m.get("name") for m in fake.matches] == [
        "999",
        "888",
        "Gorman Manufacturing",
    ]
    assert c.paid_calls == 4


def test_search_with_no_match_is_empty_not_an_error(fake: FakeDnb) -> None:
    assert client().search(query(name="Nobody Such Inc")) == []


# -- report and normalisation -------------------------------------------------------------------------


def test_report_normalises_failure_score_percentile_class_and_maximum_limit(fake: FakeDnb) -> None:
    c = client()
    r = c.report(DUNS)
    assert fake.data_queries == [{"blockIDs": "companyinfo_L2_v1,financialstrengthinsight_L2_v1,paymentinsight_L1_v1"}]
    assert (r.bureau, r.company_id, r.company_name) == ("dnb", DUNS, "Gorman Manufacturing Company, Inc.")
    assert r.report_date == dt.date(2026, 2, 3)
    assert (r.score, r.raw_score, r.band) == (84.0, "84", "2")
    assert (r.recommended_limit, r.recommended_limit_currency, r.limit_note) == (Decimal("400000"), "USD", None)
    assert r.events == ()
    assert r.raw == data_body(fake.orgs[DUNS])
    assert c.paid_calls == 1


@pytest.mark.parametrize(("klass", "score"), [(1, 95.5), (2, 80.5), (3, 50.5), (4, 20.5), (5, 5.5)])
def test_without_a_percentile_the_failure_class_maps_to_its_percentile_band_midpoint(
    fake: FakeDnb, klass: int, score: float
) -> None:
    fake.orgs[DUNS]["dnbAssessment"]["failureScore"] = {"classScore": klass}
    r = client().report(DUNS)
    assert (r.score, r.band, r.raw_score) == (score, str(klass), str(klass))


def test_empty_sub_objects_of_some_countries_give_none_values_without_a_crash(fake: FakeDnb) -> None:
    fake.orgs[DUNS] = organization(
        dnbAssessment={
            "failureScore": {},
            "delinquencyScore": {},
            "standardRating": {},
            "creditLimitRecommendation": {"maximumRecommendedLimit": {}},
        },
        businessTrading=[],
        legalEvents={},
    )
    r = client().report(DUNS)
    assert (r.score, r.raw_score, r.band) == (None, None, None)
    assert (r.recommended_limit, r.recommended_limit_currency, r.limit_note) == (None, None, None)
    assert r.events == ()
    fake.orgs[DUNS] = organization(dnbAssessment={})
    assert client().report(DUNS).score is None


def test_an_open_bankruptcy_is_an_insolvency_event(fake: FakeDnb) -> None:
    fake.orgs[DUNS]["legalEvents"] = {
        "hasOpenBankruptcy": True,
        "hasBankruptcy": True,
        "bankruptcy": {"mostRecentFilingDate": "2025-12-01"},
    }
    [event] = client().report(DUNS).events
    assert event.kind == LegalEventKind.INSOLVENCY
    assert event.date == dt.date(2025, 12, 1)
    assert "open bankruptcy" in event.description.lower()


def test_unknown_duns_is_bureau_not_found(fake: FakeDnb) -> None:
    with pytest.raises(BureauNotFound, match=r"D&B Direct\+ \(connector dnb\): report 000000000: HTTP 404: 10001"):
        client().report("000000000")


def test_malformed_data_names_what_is_missing(fake: FakeDnb) -> None:
    fake.fault("data", httpx.Response(200, json={"transactionDetail": transaction()}))
    with pytest.raises(BureauError, match=r"D&B Direct\+ \(connector dnb\): report 217634872: .*'organization'"):
        client().report(DUNS)
    fake.orgs[DUNS]["dnbAssessment"]["failureScore"] = {"classScore": "two", "nationalPercentile": "high"}
    with pytest.raises(BureauError, match=r"failureScore"):
        client().report(DUNS)


# -- auth ---------------------------------------------------------------------------------------------


def test_token_uses_basic_auth_and_is_refreshed_before_it_expires(fake: FakeDnb) -> None:
    clock = Clock()
    fake.expires_in = 3600
    c = client(clock=clock)
    c.report(DUNS)
    clock.now += 3000
    c.report(DUNS)
    assert fake.tokens_issued == 1
    assert fake.token_bodies == [{"grant_type": "client_credentials"}]
    clock.now += 400  # within five minutes of expiry
    c.report(DUNS)
    assert fake.tokens_issued == 2


def test_expired_token_mid_run_gets_a_new_token_once_and_retries(fake: FakeDnb) -> None:
    c = client()
    c.report(DUNS)
    fake.valid.clear()
    assert c.report(DUNS).score == 84.0
    assert fake.tokens_issued == 2


def test_bad_credentials_stop_at_the_first_token_request_and_say_so(fake: FakeDnb) -> None:
    fake.bad_secret = True
    c = client()
    with pytest.raises(BureauAuthError) as caught:
        c.report(DUNS)
    assert "D&B Direct+ (connector dnb): token: HTTP 401" in str(caught.value)
    assert "00041" in str(caught.value)
    assert SECRET not in str(caught.value)
    with pytest.raises(BureauAuthError):
        c.search(query(registration_number="123456789"))
    assert fake.tokens_issued == 1
    assert c.paid_calls == 0


def test_a_product_the_contract_does_not_cover_is_an_auth_error_after_one_new_token(fake: FakeDnb) -> None:
    refused = error(401, "00004", "You are not currently authorised to access this product.")
    fake.fault("data", refused, refused)
    with pytest.raises(BureauAuthError, match=r"report 217634872: HTTP 401.*00004"):
        client().report(DUNS)
    assert fake.tokens_issued == 2


# -- throttling and failures --------------------------------------------------------------------------


def test_throttling_on_contract_limits_waits_then_succeeds(fake: FakeDnb) -> None:
    sleeps: list[float] = []
    fake.fault("data", httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"errorCode": "00047"}}))
    assert client(sleeps=sleeps).report(DUNS).score == 84.0
    assert sleeps == [3.0]


def test_server_errors_and_timeouts_name_bureau_call_and_reason(fake: FakeDnb) -> None:
    fake.fault("data", *[httpx.Response(502, text="Bad Gateway")] * 4)
    with pytest.raises(BureauError, match=r"^D&B Direct\+ \(connector dnb\): report 217634872: HTTP 502") as caught:
        client().report(DUNS)
    assert caught.value.retryable is True
    fake.fault("match", *[httpx.ConnectTimeout("timed out")] * 4)
    with pytest.raises(BureauError, match=r"search C7: no answer: ConnectTimeout"):
        client().search(query(registration_number="123456789"))


# -- the connector type --------------------------------------------------------------------------------


def test_connector_type_builds_from_config_with_secret_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DNB_SECRET", SECRET)
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n[plugins]\nallow = ["dnb"]\n\n'
        f'[connectors.dnb]\ntype = "dnb"\nclient_key = "{KEY}"\nclient_secret = {{ env = "DNB_SECRET" }}\n',
        encoding="utf-8",
    )
    hub = Hub(load_config(path))
    try:
        conn = hub.connector("dnb")
        assert (conn.type, conn.source, conn.sink) == ("dnb", None, None)
        assert isinstance(conn.bureau, dnb.DnbClient)
        assert conn.bureau.config.client_secret == SECRET
    finally:
        hub.close()


def test_the_documented_example_is_a_valid_config() -> None:
    from hub import validate_config

    from .test_creditsafe import documented_section

    assert isinstance(validate_config(dnb.DnbConfig, "dnb", documented_section("dnb")), dnb.DnbConfig)
