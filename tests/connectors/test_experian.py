"""Experian Business Information client against a respx fake shaped like Experian's documentation.

Shapes: ``POST /oauth2/v1/token`` with headers ``client_id``, ``client_secret`` and body
``{"username", "password"}`` -> ``{"issued_at", "expires_in": "1800", "token_type": "Bearer",
"access_token", "refresh_token"}``; ``POST /businessinformation/businesses/v1/search`` ->
``{"requestId", "success": true, "comments", "results": [{"bin", "reliabilityCode", "businessName",
"phone", "address": {"street", "city", "state", "zip", "zipExtension"}, ...}]}``;
``POST /businessinformation/businesses/v1/scores`` -> ``{"requestId", "success": true, "results":
{"businessHeader": {...}, "commercialScore": {"modelCode", "modelTitle": "INTELLISCORE PLUS V2",
"customModelCode", "score", "percentileRanking", "recommendedCreditLimitAmount", "riskClass":
{"code", "definition"}}, "commercialScoreFactors": [{"code", "definition"}], "commercialScoreTrends"}}``;
errors ``{"requestId", "success": false, "errors": [{"errorType", "message"}]}``.
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
from hub_connectors import experian as ex

from hub import BureauAuthError, BureauError, BureauNotFound, BureauQuery
from hub.app import Hub
from hub.config import load_config

BASE = "https://sandbox-us-api.experian.com"
CLIENT_ID = "exp-client-id-0001"
CLIENT_SECRET = "exp-client-s3cret-0002"
USERNAME = "ar.team@example.com"
PASSWORD = "Exp3rian-Passw0rd!"
SUBCODE = "0517614"
BIN = "807205801"
REQUEST_ID = "rrt-0bcd1efab3e2f4c2a-c-wo-27014-28137913-1"


def header() -> dict[str, Any]:
    return {
        "bin": BIN,
        "businessName": "EXPERIAN INFORMATION SOLUTIONS, INC",
        "address": {"street": "475 ANTON BLVD", "city": "COSTA MESA", "state": "CA", "zip": "92626"},
        "phone": "+17148307000",
        "taxId": "",
        "customerDisputeIndicator": False,
    }


def scores_body(**score: Any) -> dict[str, Any]:
    commercial = {
        "modelCode": "000224",
        "modelTitle": "INTELLISCORE PLUS V2",
        "customModelCode": "02",
        "score": 71,
        "percentileRanking": 70,
        "recommendedCreditLimitAmount": 60600,
        "riskClass": {"code": 2, "definition": "LOW TO MEDIUM RISK"},
    }
    commercial.update(score)
    return {
        "requestId": REQUEST_ID,
        "success": True,
        "results": {
            "businessHeader": header(),
            "commercialScore": commercial,
            "commercialScoreFactors": [
                {"code": "029", "definition": "AVERAGE BALANCE OF RECENTLY DELINQUENT COMMERCIAL ACCOUNTS"},
                {"code": "050", "definition": "NUMBER OF COMMERCIAL ACCOUNTS WITH HIGH UTILIZATION"},
            ],
            "commercialScoreTrends": [{"quarter": "DEC-FEB", "score": 68}],
        },
    }


def errors(status: int, kind: str, message: str) -> httpx.Response:
    return httpx.Response(
        status, json={"requestId": REQUEST_ID, "success": False, "errors": [{"errorType": kind, "message": message}]}
    )


class FakeExperian:
    def __init__(self) -> None:
        self.tokens = 0
        self.valid: set[str] = set()
        self.bad_password = False
        self.expires_in = "1800"
        self.scores: dict[str, dict[str, Any]] = {BIN: scores_body()}
        self.searches: list[dict[str, Any]] = []
        self.score_requests: list[dict[str, Any]] = []
        self.faults: dict[str, list[httpx.Response | Exception]] = {}
        self.router = respx.mock(assert_all_called=False)
        self.router.post(f"{BASE}/oauth2/v1/token").mock(side_effect=self._token)
        self.router.post(f"{BASE}/businessinformation/businesses/v1/search").mock(side_effect=self._search)
        self.router.post(f"{BASE}/businessinformation/businesses/v1/scores").mock(side_effect=self._scores)

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
        self.tokens += 1
        body = json.loads(request.content)
        headers_ok = (
            request.headers.get("client_id") == CLIENT_ID and request.headers.get("client_secret") == CLIENT_SECRET
        )
        if self.bad_password or not headers_ok or body != {"username": USERNAME, "password": PASSWORD}:
            return errors(401, "Unauthorized", "Invalid username or password")
        token = f"eyJraWQiOiJ.experian-access-{self.tokens:04d}.sig"
        self.valid.add(token)
        return httpx.Response(
            200,
            json={
                "issued_at": "1770109812000",
                "expires_in": self.expires_in,
                "token_type": "Bearer",
                "access_token": token,
                "refresh_token": f"refresh-{self.tokens:04d}-abcdef",
            },
        )

    def _authorised(self, request: httpx.Request) -> bool:
        return request.headers.get("Authorization", "").removeprefix("Bearer ") in self.valid

    def _search(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return errors(401, "Unauthorized", "Access token expired")
        if (fault := self._fault("search")) is not None:
            return fault
        body = json.loads(request.content)
        self.searches.append(body)
        results = []
        if "experian" in body.get("name", "").lower():
            results.append(
                {
                    "bin": BIN,
                    "reliabilityCode": 91.0,
                    "businessName": "EXPERIAN INFORMATION SOLUTIONS, INC",
                    "phone": "+17148307000",
                    "address": {
                        "street": "475 ANTON BLVD",
                        "city": "COSTA MESA",
                        "state": "CA",
                        "zip": "92626",
                        "zipExtension": "7037",
                    },
                    "numberOfTradelines": 145,
                    "financialStatementIndicator": False,
                    "keyFactsIndicator": True,
                    "inquiryIndicator": True,
                    "bankDataIndicator": False,
                    "governmentDataIndicator": False,
                    "executiveSummaryIndicator": True,
                    "uccIndicator": True,
                }
            )
        return httpx.Response(200, json={"requestId": REQUEST_ID, "success": True, "comments": "", "results": results})

    def _scores(self, request: httpx.Request) -> httpx.Response:
        if not self._authorised(request):
            return errors(401, "Unauthorized", "Access token expired")
        if (fault := self._fault("scores")) is not None:
            return fault
        body = json.loads(request.content)
        self.score_requests.append(body)
        if body["bin"] not in self.scores:
            return errors(404, "Not Found", f"No business found for BIN {body['bin']}")
        return httpx.Response(200, json=self.scores[body["bin"]])


@pytest.fixture
def fake() -> Iterator[FakeExperian]:
    f = FakeExperian()
    with f.router:
        yield f


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def client(*, sleeps: list[float] | None = None, clock: Clock | None = None, **overrides: Any) -> ex.ExperianClient:
    config = ex.ExperianConfig.model_validate(
        {
            "type": "experian",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "username": USERNAME,
            "password": PASSWORD,
            "subcode": SUBCODE,
            "base_url": BASE,
            **overrides,
        }
    )
    return ex.ExperianClient(
        config,
        name="experian",
        sleep=(sleeps if sleeps is not None else []).append,
        clock=clock or Clock(),
        today=lambda: dt.date(2026, 2, 3),
    )


def query(**kw: Any) -> BureauQuery:
    return BureauQuery(customer_id="C9", name=kw.pop("name", "Experian Information Solutions"), country="US", **kw)


# -- search -------------------------------------------------------------------------------------------


def test_business_search_returns_bins_and_counts_a_paid_call(fake: FakeExperian) -> None:
    c = client()
    [found] = c.search(query(city="Costa Mesa", registration_number="12-3456789"))
    assert fake.searches == [
        {
            "name": "Experian Information Solutions",
            "city": "Costa Mesa",
            "taxId": "123456789",
            "subcode": SUBCODE,
            "geo": True,
        }
    ]
    assert (found.bureau, found.company_id, found.name) == ("experian", BIN, "EXPERIAN INFORMATION SOLUTIONS, INC")
    assert found.address == "475 ANTON BLVD, COSTA MESA, CA, 92626"
    assert found.country == "US"
    assert c.paid_calls == 1


def test_search_with_no_results_is_empty(fake: FakeExperian) -> None:
    assert client().search(query(name="Nobody Such LLC")) == []


def test_search_outside_the_us_asks_nothing(fake: FakeExperian) -> None:
    c = client()
    assert c.search(BureauQuery(customer_id="C9", name="Experian Ltd", country="GB")) == []
    assert (fake.searches, fake.tokens, c.paid_calls) == ([], 0, 0)


# -- report and normalisation -------------------------------------------------------------------------


def test_intelliscore_report_maps_percentile_risk_class_and_recommended_limit(fake: FakeExperian) -> None:
    c = client()
    r = c.report(BIN)
    assert fake.score_requests == [
        {
            "bin": BIN,
            "subcode": SUBCODE,
            "commercialScore": True,
            "fsrScore": False,
            "modelCode": "000224",
            "commercialScoreFactors": True,
            "commercialScoreTrends": False,
        }
    ]
    assert (r.bureau, r.company_id, r.company_name) == ("experian", BIN, "EXPERIAN INFORMATION SOLUTIONS, INC")
    assert r.report_date == dt.date(2026, 2, 3)
    assert (r.score, r.raw_score, r.band) == (70.0, "71", "2")
    assert (r.recommended_limit, r.recommended_limit_currency) == (Decimal("60600"), "USD")
    assert r.raw == fake.scores[BIN]
    assert r.raw["results"]["commercialScoreFactors"][0]["code"] == "029"
    assert c.paid_calls == 1


@pytest.mark.parametrize(("code", "score"), [(1, 88.0), (2, 63.0), (3, 38.0), (4, 18.0), (5, 5.5)])
def test_without_percentile_or_score_the_risk_class_maps_to_its_score_range_midpoint(
    fake: FakeExperian, code: int, score: float
) -> None:
    fake.scores[BIN] = scores_body(score=None, percentileRanking=None, riskClass={"code": code, "definition": "X"})
    r = client().report(BIN)
    assert (r.score, r.band) == (score, str(code))


def test_without_a_percentile_the_intelliscore_itself_is_used(fake: FakeExperian) -> None:
    fake.scores[BIN] = scores_body(percentileRanking=None)
    assert client().report(BIN).score == 71.0


def test_a_business_experian_does_not_score_has_no_score(fake: FakeExperian) -> None:
    fake.scores[BIN] = scores_body(
        score=None, percentileRanking=None, recommendedCreditLimitAmount=None, riskClass={"code": None}
    )
    r = client().report(BIN)
    assert (r.score, r.raw_score, r.band, r.recommended_limit) == (None, None, None, None)


def test_unknown_bin_is_bureau_not_found(fake: FakeExperian) -> None:
    with pytest.raises(BureauNotFound, match=r"Experian \(connector experian\): report 000000000: HTTP 404: Not Found"):
        client().report("000000000")


def test_an_error_inside_an_http_200_is_a_bureau_error_naming_the_error_type(fake: FakeExperian) -> None:
    fake.fault("scores", errors(200, "Bad Request", "subcode is not authorized for this product"))
    with pytest.raises(BureauError, match=r"report 807205801: Bad Request: subcode is not authorized"):
        client().report(BIN)


def test_malformed_scores_name_what_is_missing(fake: FakeExperian) -> None:
    fake.fault("scores", httpx.Response(200, json={"requestId": REQUEST_ID, "success": True, "results": {}}))
    with pytest.raises(
        BureauError, match=r"Experian \(connector experian\): report 807205801: .*'results.commercialScore'"
    ):
        client().report(BIN)
    fake.scores[BIN] = scores_body(percentileRanking="seventy")
    with pytest.raises(BureauError, match=r"percentileRanking"):
        client().report(BIN)


# -- auth ---------------------------------------------------------------------------------------------


def test_token_is_refreshed_before_its_half_hour_is_up(fake: FakeExperian) -> None:
    clock = Clock()
    c = client(clock=clock)
    c.report(BIN)
    clock.now += 20 * 60
    c.report(BIN)
    assert fake.tokens == 1
    clock.now += 6 * 60
    c.report(BIN)
    assert fake.tokens == 2


def test_expired_token_mid_run_gets_a_new_one_once_and_retries(fake: FakeExperian) -> None:
    c = client()
    c.report(BIN)
    fake.valid.clear()
    assert c.report(BIN).score == 70.0
    assert fake.tokens == 2


def test_bad_credentials_stop_at_the_first_token_request_and_say_so(fake: FakeExperian) -> None:
    fake.bad_password = True
    c = client()
    with pytest.raises(BureauAuthError) as caught:
        c.report(BIN)
    message = str(caught.value)
    assert message.startswith("Experian (connector experian): token: HTTP 401: Unauthorized")
    assert PASSWORD not in message and CLIENT_SECRET not in message
    with pytest.raises(BureauAuthError):
        c.search(query())
    assert fake.tokens == 1
    assert c.paid_calls == 0


# -- throttling and failures --------------------------------------------------------------------------


def test_throttling_waits_then_succeeds(fake: FakeExperian) -> None:
    sleeps: list[float] = []
    fake.fault(
        "scores", httpx.Response(429, headers={"Retry-After": "2"}, json={"errors": [{"errorType": "Throttled"}]})
    )
    assert client(sleeps=sleeps).report(BIN).score == 70.0
    assert sleeps == [2.0]


def test_server_errors_and_timeouts_name_bureau_call_and_reason(fake: FakeExperian) -> None:
    fake.fault("scores", *[errors(500, "Internal Server Error", "upstream unavailable")] * 4)
    with pytest.raises(BureauError, match=r"^Experian \(connector experian\): report 807205801: HTTP 500"):
        client().report(BIN)
    fake.fault("search", *[httpx.ReadTimeout("timed out")] * 4)
    with pytest.raises(BureauError, match=r"search C9: no answer: ReadTimeout"):
        client().search(query())


# -- the connector type --------------------------------------------------------------------------------


def test_connector_type_builds_from_config_with_secret_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXP_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("EXP_PASSWORD", PASSWORD)
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n[plugins]\nallow = ["experian"]\n\n'
        f'[connectors.experian]\ntype = "experian"\nclient_id = "{CLIENT_ID}"\n'
        'client_secret = { env = "EXP_SECRET" }\n'
        f'username = "{USERNAME}"\npassword = {{ env = "EXP_PASSWORD" }}\nsubcode = "{SUBCODE}"\n',
        encoding="utf-8",
    )
    hub = Hub(load_config(path))
    try:
        conn = hub.connector("experian")
        assert (conn.type, conn.source, conn.sink) == ("experian", None, None)
        assert isinstance(conn.bureau, ex.ExperianClient)
        assert (conn.bureau.config.client_secret, conn.bureau.config.password) == (CLIENT_SECRET, PASSWORD)
    finally:
        hub.close()


def test_the_documented_example_is_a_valid_config() -> None:
    from hub import validate_config

    from .test_creditsafe import documented_section

    config = validate_config(ex.ExperianConfig, "experian", documented_section("experian"))
    assert isinstance(config, ex.ExperianConfig)
