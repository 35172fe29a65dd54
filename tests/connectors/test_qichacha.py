"""Qichacha (企查查) client against a respx fake shaped like its open platform's documentation.

The fake checks every request as Qichacha does: ``?key=<AppKey>`` plus the headers ``Timespan``
(Unix seconds) and ``Token`` = upper(MD5(AppKey + Timespan + SecretKey)), recomputed here from the
request itself; a wrong signature gets ``Status`` 107 (被禁止的IP或者签名错误) inside an HTTP 200.
Envelope: ``{"Status": "200", "Message": "【有效请求】查询成功", "OrderNumber", "Paging": {"PageSize",
"PageIndex", "TotalRecords"}, "Result": ...}``; status codes from openapi.qcc.com/services/after/status
(201 查询无结果, 101/103/107/115 key or signature refused, 102/112 account spent, 109/116 daily
limits, 120/122 traffic and concurrency limits). ``ECIV4/GetBasicDetailsByName`` (``KeyNo, Name,
CreditCode, Status, RegistCapi "5000万元人民币", No, Address``), ``FuzzySearch/GetList`` (a list of
``KeyNo, Name, CreditCode, Status, No, OperName, StartDate``), and the checks ``{"VerifyResult": 1,
"Data": [...]}``: ``ShixinCheck/GetList`` (``Id, Liandate, Anno, Executegov, Executestatus,
Publicdate, Executeno``), ``ExceptionCheck/GetList`` (``AddReason, AddDate, RomoveReason`` (sic),
``RemoveDate, DecisionOffice``), ``SumptuaryCheck/GetList`` (``Id, CaseNo, CompanyName,
PersonName, JudgeDate, PublishDate, Applicant``), ``ZhixingCheck/GetList`` (``Id, Anno, ExecuteGov,
Biaodi, Liandate``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from hub_connectors import qichacha as qcc

from hub import BureauAuthError, BureauError, BureauNotFound, BureauQuery, LegalEventKind
from hub.connector import ConnectorContext

BASE = "https://api.qichacha.com/"
APP_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
SECRET = "9F8E7D6C5B4A39281706F5E4D3C2B1A0"
USCC = "91440300MA5FXYZ12K"
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


def sign(key: str, timespan: str, secret: str) -> str:
    return hashlib.md5((key + timespan + secret).encode()).hexdigest().upper()


def envelope(result: Any, status: str = "200", message: str = "【有效请求】查询成功", total: int | None = None) -> Any:
    paging = None if total is None else {"PageSize": 10, "PageIndex": 1, "TotalRecords": total}
    return {"Status": status, "Message": message, "OrderNumber": "SHIXINCHECK2026010108000012345678", "Paging": paging,
            "Result": result}  # fmt: skip


BASIC = {
    "KeyNo": "f3a5c1d2e4b6a7988c0d1e2f3a4b5c6d",
    "Name": "深圳南山电子科技有限公司",
    "No": "440301112233445",
    "CreditCode": USCC,
    "OperName": "李明",
    "Status": "存续",
    "StartDate": "2018-04-09 00:00:00",
    "RegistCapi": "1000万元人民币",
    "Address": "深圳市南山区科技园南区高新南七道",
    "EconKind": "有限责任公司",
}
SHIXIN = {
    "VerifyResult": 1,
    "Data": [
        {
            "Id": "b8e2c8f3a6d04c41a0b1c2d3e4f5a6b7",
            "Liandate": "2024-05-06 00:00:00",
            "Anno": "(2024)粤0305执5678号",
            "Executegov": "深圳市南山区人民法院",
            "Executestatus": "全部未履行",
            "Publicdate": "2024-08-19 00:00:00",
            "Executeno": "(2023)粤0305民初9876号",
        }
    ],
}
EXCEPTION = {
    "VerifyResult": 1,
    "Data": [
        {
            "AddReason": "未依照《企业信息公示暂行条例》第八条规定的期限公示年度报告的",
            "AddDate": "2024-07-01 00:00:00",
            "RomoveReason": "",
            "RemoveDate": "",
            "DecisionOffice": "深圳市市场监督管理局",
            "RemoveDecisionOffice": "",
        }
    ],
}
SUMPTUARY = {
    "VerifyResult": 1,
    "Data": [
        {
            "Id": "c0ffee0000000000000000000000abcd",
            "CaseNo": "(2024)粤0305执5678号",
            "CompanyName": "深圳南山电子科技有限公司",
            "PersonName": "李明",
            "JudgeDate": "2024-06-02 00:00:00",
            "PublishDate": "2024-06-10 00:00:00",
            "Applicant": "东莞长安五金制品有限公司",
        }
    ],
}
ZHIXING = {
    "VerifyResult": 1,
    "Data": [
        {
            "Id": "d00d0000000000000000000000001234",
            "Anno": "(2024)粤0305执5678号",
            "ExecuteGov": "深圳市南山区人民法院",
            "Biaodi": "860000",
            "Liandate": "2024-05-06 00:00:00",
        }
    ],
}
NO_RESULT = ("201", "【有效请求】查询无结果")
CHECKS = ("ShixinCheck/GetList", "SumptuaryCheck/GetList", "ExceptionCheck/GetList", "ZhixingCheck/GetList")


class FakeQichacha:
    def __init__(self) -> None:
        self.answers: dict[str, Any] = {
            "ECIV4/GetBasicDetailsByName": BASIC,
            "FuzzySearch/GetList": [
                {k: BASIC[k] for k in ("KeyNo", "Name", "CreditCode", "Status", "No", "OperName", "StartDate")},
                {"KeyNo": "0d0e", "Name": "深圳南山电子有限公司", "CreditCode": "", "Status": "注销", "No": "44"},
            ],
            "ShixinCheck/GetList": SHIXIN,
            "SumptuaryCheck/GetList": SUMPTUARY,
            "ExceptionCheck/GetList": EXCEPTION,
            "ZhixingCheck/GetList": ZHIXING,
        }
        self.queue: list[httpx.Response] = []
        self.calls: list[httpx.Request] = []
        self.refused = 0
        self.router = respx.mock(assert_all_called=False)
        self.router.get(url__startswith=BASE).mock(side_effect=self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        key = request.url.params.get("key", "")
        timespan = request.headers.get("Timespan", "")
        if key != APP_KEY:
            return httpx.Response(200, json=envelope(None, "101", "【无效请求】当前的KEY无效或者还未生效中"))
        if (
            not timespan.isdigit()
            or abs(int(timespan) - NOW) > 300
            or request.headers.get("Token") != sign(key, timespan, SECRET)
        ):
            self.refused += 1
            return httpx.Response(200, json=envelope(None, "107", "【无效请求】被禁止的IP或者签名错误"))
        if self.queue:
            return self.queue.pop(0)
        api = request.url.path.strip("/")
        answer = self.answers.get(api)
        if isinstance(answer, tuple):
            return httpx.Response(200, json=envelope(None, *answer))
        if isinstance(answer, httpx.Response):
            return answer
        total = len(answer["Data"]) if isinstance(answer, dict) and "Data" in answer else None
        return httpx.Response(200, json=envelope(answer, total=total))

    def apis(self) -> list[str]:
        return [r.url.path.strip("/") for r in self.calls]


@pytest.fixture
def fake() -> Iterator[FakeQichacha]:
    server = FakeQichacha()
    with server.router:
        yield server


def client(
    key: str = APP_KEY, secret: str = SECRET, sleeps: list[float] | None = None, **config: Any
) -> qcc.QichachaClient:
    cfg = qcc.QichachaConfig(type="qichacha", app_key=key, secret_key=secret, **config)
    return qcc.QichachaClient("qcc", cfg, sleep=(sleeps if sleeps is not None else []).append, clock=lambda: NOW)


# -- the signature -----------------------------------------------------------------------------------


def test_every_call_is_signed_with_the_upper_case_md5_of_key_timespan_and_secret(fake: FakeQichacha) -> None:
    client().report(USCC)
    assert fake.refused == 0 and len(fake.calls) == 5
    for call in fake.calls:
        assert call.url.params["key"] == APP_KEY
        assert call.headers["Timespan"] == str(NOW)
        assert call.headers["Token"] == sign(APP_KEY, str(NOW), SECRET)
        assert call.headers["Token"].isupper()
        assert SECRET not in str(call.url) and SECRET not in str(call.headers)


def test_a_wrong_secret_fails_the_signature_and_is_an_auth_error(fake: FakeQichacha) -> None:
    with pytest.raises(BureauAuthError) as caught:
        client(secret="0" * 32).search(BureauQuery("C1", "x", uscc=USCC))
    assert fake.refused == 1 and len(fake.calls) == 1
    assert "Qichacha" in str(caught.value) and "107" in str(caught.value) and "签名错误" in str(caught.value)
    assert "0" * 32 not in str(caught.value)


def test_an_unknown_key_is_an_auth_error_never_retried(fake: FakeQichacha) -> None:
    with pytest.raises(BureauAuthError, match="101"):
        client(key="f" * 32).report(USCC)
    assert len(fake.calls) == 1


# -- search ------------------------------------------------------------------------------------------


def test_search_by_uscc_reads_the_basic_details(fake: FakeQichacha) -> None:
    (found,) = client().search(BureauQuery("C9", "南山电子", country="CN", uscc=USCC))
    assert (found.bureau, found.company_id, found.name, found.uscc, found.status) == (
        "qichacha",
        USCC,
        "深圳南山电子科技有限公司",
        USCC,
        "存续",
    )
    assert fake.apis() == ["ECIV4/GetBasicDetailsByName"]
    assert fake.calls[0].url.params["keyword"] == USCC


def test_search_by_name_lists_the_fuzzy_candidates(fake: FakeQichacha) -> None:
    found = client().search(BureauQuery("C9", "南山电子"))
    assert [(c.company_id, c.name, c.status) for c in found] == [
        (USCC, "深圳南山电子科技有限公司", "存续"),
        ("0d0e", "深圳南山电子有限公司", "注销"),  # no credit code: its KeyNo is the id
    ]
    assert fake.calls[0].url.params["searchKey"] == "南山电子"


def test_a_search_without_result_is_empty(fake: FakeQichacha) -> None:
    fake.answers["FuzzySearch/GetList"] = NO_RESULT
    bureau = client()
    assert bureau.search(BureauQuery("C9", "没有这家公司")) == []
    assert bureau.paid_calls == 0


# -- report ------------------------------------------------------------------------------------------


def test_the_report_scores_the_checks_by_the_shared_rule(fake: FakeQichacha) -> None:
    report = client().report(USCC)
    # 80 - 30 (失信) - 15 (限高) - 10 (经营异常) - 5 (860,000 of a 10m capital: 8.6% -> 3.4, at least 5) = 20
    assert (report.score, report.band) == (20, "E")
    assert report.company_name == "深圳南山电子科技有限公司"
    assert report.raw["hub_score"]["reasons"][-1].startswith("1 enforcement case (被执行人) for 860,000.00 CNY")
    assert report.raw["basic"]["KeyNo"] == BASIC["KeyNo"]


def test_report_events_have_dates_courts_case_numbers_and_amounts(fake: FakeQichacha) -> None:
    events = {e.kind: e for e in client().report(USCC).events}
    shixin = events[LegalEventKind.DISHONEST_DEBTOR]
    assert (shixin.date, shixin.court, shixin.case_number) == (
        dt.date(2024, 8, 19),
        "深圳市南山区人民法院",
        "(2024)粤0305执5678号",
    )
    assert "全部未履行" in shixin.description and shixin.event_id == SHIXIN["Data"][0]["Id"]
    assert events[LegalEventKind.CONSUMPTION_RESTRICTION].date == dt.date(2024, 6, 10)
    assert "东莞长安五金制品有限公司" in events[LegalEventKind.CONSUMPTION_RESTRICTION].description
    assert events[LegalEventKind.ABNORMAL_OPERATION].court == "深圳市市场监督管理局"
    assert (events[LegalEventKind.ENFORCEMENT].amount, events[LegalEventKind.ENFORCEMENT].currency) == (
        Decimal("860000"),
        "CNY",
    )


def test_a_clean_company_scores_80_and_unknown_checks_are_nothing_listed(fake: FakeQichacha) -> None:
    for api in CHECKS:
        fake.answers[api] = NO_RESULT
    bureau = client()
    report = bureau.report(USCC)
    assert (report.score, report.band, report.events) == (80, "A", ())
    assert bureau.paid_calls == 1  # 查询无结果 is not charged


def test_a_revoked_company_scores_0(fake: FakeQichacha) -> None:
    fake.answers["ECIV4/GetBasicDetailsByName"] = {**BASIC, "Status": "吊销，未注销"}  # noqa: RUF001 (Chinese punctuation)
    report = client().report(USCC)
    assert (report.score, report.band) == (0, "E")


def test_a_report_on_an_unknown_company_is_not_found(fake: FakeQichacha) -> None:
    fake.answers["ECIV4/GetBasicDetailsByName"] = NO_RESULT
    with pytest.raises(BureauNotFound, match="查询无结果"):
        client().report("91440300000000000X")
    assert len(fake.calls) == 1


# -- throttling and quota ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, message",
    [("120", "【无效请求】系统流量异常，请稍后再试"), ("122", "【无效请求】请求超过系统并发限制")],  # noqa: RUF001 (Chinese punctuation)
)
def test_a_traffic_limit_inside_an_http_200_is_waited_out_and_signed_again(
    fake: FakeQichacha, status: str, message: str
) -> None:
    fake.queue = [httpx.Response(200, json=envelope(None, status, message))]
    sleeps: list[float] = []
    assert client(sleeps=sleeps).search(BureauQuery("C9", "x", uscc=USCC))
    assert sleeps == [1.0] and len(fake.calls) == 2 and fake.refused == 0


def test_still_throttled_after_the_waits_is_a_retryable_error(fake: FakeQichacha) -> None:
    fake.queue = [httpx.Response(200, json=envelope(None, "122", "【无效请求】请求超过系统并发限制"))] * 4
    with pytest.raises(BureauError) as caught:
        client(throttle_retries=1).search(BureauQuery("C9", "x", uscc=USCC))
    assert caught.value.retryable and "rate limited" in str(caught.value) and len(fake.calls) == 2


@pytest.mark.parametrize(
    "status, message",
    [
        ("112", "【无效请求】您的账号剩余使用量已不足或已过期"),
        ("102", "【无效请求】当前KEY已欠费"),
        ("109", "【无效请求】请求超过每日系统限制"),
    ],
)
def test_a_spent_account_or_daily_limit_stops_without_retrying(fake: FakeQichacha, status: str, message: str) -> None:
    fake.queue = [httpx.Response(200, json=envelope(None, status, message))]
    with pytest.raises(BureauError) as caught:
        client().report(USCC)
    assert not caught.value.retryable and status in str(caught.value) and len(fake.calls) == 1


def test_an_http_429_is_waited_out(fake: FakeQichacha) -> None:
    fake.queue = [httpx.Response(429, headers={"Retry-After": "3"})]
    sleeps: list[float] = []
    assert client(sleeps=sleeps).search(BureauQuery("C9", "x", uscc=USCC))
    assert sleeps == [3.0]


# -- malformed answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "api, answer, says",
    [
        ("ECIV4/GetBasicDetailsByName", httpx.Response(200, text="Service Unavailable"), "not JSON"),
        ("ECIV4/GetBasicDetailsByName", httpx.Response(200, json={"Result": BASIC}), "Status"),
        ("ECIV4/GetBasicDetailsByName", httpx.Response(200, json=envelope({**BASIC, "Name": ""})), "name"),
        ("ShixinCheck/GetList", httpx.Response(200, json=envelope({"VerifyResult": 1, "Data": "x"})), "Data"),
        (
            "ShixinCheck/GetList",
            httpx.Response(200, json=envelope({"VerifyResult": 1, "Data": [{"Publicdate": "昨天"}]})),
            "昨天",
        ),
        (
            "ZhixingCheck/GetList",
            httpx.Response(200, json=envelope({"VerifyResult": 1, "Data": [{"Biaodi": "n/a"}]})),
            "n/a",
        ),
    ],
)
def test_a_malformed_answer_is_a_bureau_error_and_no_report(
    fake: FakeQichacha, api: str, answer: httpx.Response, says: str
) -> None:
    fake.answers[api] = answer
    with pytest.raises(BureauError) as caught:
        client().report(USCC)
    assert says in str(caught.value) and api in str(caught.value) and "Qichacha" in str(caught.value)


def test_an_error_status_inside_an_http_200_names_the_call(fake: FakeQichacha) -> None:
    fake.answers["SumptuaryCheck/GetList"] = ("202", "【有效请求】查询参数错误，请检查")  # noqa: RUF001 (Chinese punctuation)
    with pytest.raises(BureauError) as caught:
        client().report(USCC)
    assert "SumptuaryCheck/GetList" in str(caught.value) and "202" in str(caught.value)
    assert not isinstance(caught.value, BureauNotFound)


def test_the_connector_type_builds_a_bureau(tmp_path: Any) -> None:
    (kind,) = qcc.hub_register_connectors()
    config = kind.config_model.model_validate({"type": "qichacha", "app_key": APP_KEY, "secret_key": SECRET})
    connector = kind.factory("qcc", config, ConnectorContext(tmp_path))
    assert kind.name == "qichacha" and connector.bureau is not None and connector.bureau.name == "qichacha"
    connector.close()
