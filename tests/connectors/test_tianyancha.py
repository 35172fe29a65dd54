"""Tianyancha (天眼查) client against a respx fake shaped like its open platform's documentation.

Shapes the fake answers with: every call ``GET https://open.api.tianyancha.com/services/open/<api>``
with the token in ``Authorization`` (no scheme); the envelope ``{"error_code": 0, "reason": "ok",
"result": ...}``, where an HTTP 200 carries the platform's own codes (300000 经查无结果, 300002
账号失效, 300004 访问频率过快, 300006 余额不足, 300007 剩余次数不足 ...); ``ic/baseinfo/normal``
(``id, name, regStatus, creditCode, regCapital "5000万人民币", estiblishTime`` in ms);
``search/2.0`` (``{"total", "items": [{"id", "name" with <em> highlights, "creditCode", "regStatus"}]}``);
and the lists ``{"total", "items": [...]}``: ``jr/dishonest/2.0`` (``iname, casecode, courtname,
regdate, publishdate, disruptTypeName, performance, duty``), ``jr/consumptionRestriction/2.0``
(``id, caseCode, qyinfo, xname, filingDate, publishDate``), ``mr/abnormal/2.0`` (``putDate,
putReason, putDepartment, removeDate, removeReason, removeDepartment``), ``jr/zhixinginfo/2.0``
(``caseCode, execCourtName, caseCreateTime, execMoney``), ``jr/lawSuit/2.0`` (``id, title, caseno,
court, submittime, casereason``). Millisecond timestamps are midnights in Beijing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from hub_connectors import tianyancha as tyc

from hub import BureauAuthError, BureauError, BureauNotFound, BureauQuery, LegalEventKind, SourceError
from hub.connector import ConnectorContext

BASE = "https://open.api.tianyancha.com/services/open/"
TOKEN = "5c1a6b5e-2f4e-4bd3-9c2a-77e0d1f8a9b1"
USCC = "91310115MA1K3XYZ0Q"
COMPANY_ID = 3065442118


def ms(day: str) -> int:
    """Midnight of ``day`` in Beijing, as Tianyancha writes it (16:00 UTC the day before)."""
    midnight = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return int(midnight.timestamp() * 1000)


def envelope(result: Any, code: int = 0, reason: str = "ok") -> dict[str, Any]:
    return {"error_code": code, "reason": reason, "result": result}


BASEINFO = {
    "id": COMPANY_ID,
    "name": "上海华东精密机械有限公司",
    "regStatus": "存续",
    "creditCode": USCC,
    "regNumber": "310115003456789",
    "regCapital": "5000万人民币",
    "regLocation": "上海市浦东新区张江路88号",
    "legalPersonName": "王建国",
    "estiblishTime": ms("2016-05-12"),
    "base": "sh",
}
DISHONEST = {
    "total": 1,
    "items": [
        {
            "iname": "上海华东精密机械有限公司",
            "casecode": "(2024)沪0115执1234号",
            "courtname": "上海市浦东新区人民法院",
            "regdate": ms("2024-01-08"),
            "publishdate": ms("2024-03-05"),
            "disruptTypeName": "有履行能力而拒不履行生效法律文书确定义务",
            "performance": "全部未履行",
            "duty": "支付货款人民币1,250,000元及利息",
            "areaname": "上海",
        }
    ],
}
CONSUMPTION = {
    "total": 1,
    "items": [
        {
            "id": 88123,
            "caseCode": "(2024)沪0115执1234号",
            "qyinfo": "上海华东精密机械有限公司",
            "xname": "王建国",
            "filingDate": ms("2024-01-08"),
            "publishDate": ms("2024-03-20"),
        }
    ],
}
ABNORMAL = {
    "total": 2,
    "items": [
        {
            "putDate": "2023-07-14",
            "putReason": "通过登记的住所或者经营场所无法联系的",
            "putDepartment": "上海市浦东新区市场监督管理局",
            "removeDate": None,
            "removeReason": None,
            "removeDepartment": None,
        },
        {
            "putDate": "2019-06-28",
            "putReason": "未依照规定报送年度报告",
            "putDepartment": "上海市浦东新区市场监督管理局",
            "removeDate": "2019-10-10",
            "removeReason": "补报了未报年份的年度报告并公示",
            "removeDepartment": "上海市浦东新区市场监督管理局",
        },
    ],
}
ZHIXING = {
    "total": 1,
    "items": [
        {
            "caseCode": "(2024)沪0115执1234号",
            "execCourtName": "上海市浦东新区人民法院",
            "pname": "上海华东精密机械有限公司",
            "caseCreateTime": ms("2024-01-08"),
            "execMoney": "1250000",
        }
    ],
}
LAWSUITS = {
    "total": 1,
    "items": [
        {
            "id": 51234,
            "title": "江苏恒力钢材有限公司与上海华东精密机械有限公司买卖合同纠纷一审民事判决书",
            "caseno": "(2023)沪0115民初45678号",
            "court": "上海市浦东新区人民法院",
            "submittime": ms("2023-11-20"),
            "casereason": "买卖合同纠纷",
            "doctype": "判决书",
        }
    ],
}
EMPTY = (300000, "经查无结果")


class FakeTianyancha:
    def __init__(self) -> None:
        self.answers: dict[str, Any] = {
            "ic/baseinfo/normal": BASEINFO,
            "search/2.0": {
                "total": 2,
                "items": [
                    {
                        "id": COMPANY_ID,
                        "name": "上海<em>华东精密</em>机械有限公司",
                        "creditCode": USCC,
                        "regStatus": "存续",
                    },
                    {"id": 77, "name": "苏州<em>华东精密</em>机械有限公司", "creditCode": "", "regStatus": "注销"},
                ],
            },
            "jr/dishonest/2.0": DISHONEST,
            "jr/consumptionRestriction/2.0": CONSUMPTION,
            "mr/abnormal/2.0": ABNORMAL,
            "jr/zhixinginfo/2.0": ZHIXING,
            "jr/lawSuit/2.0": LAWSUITS,
        }
        self.queue: list[httpx.Response] = []  # answered first, one per call
        self.calls: list[httpx.Request] = []
        self.router = respx.mock(assert_all_called=False)
        self.router.get(url__startswith=BASE).mock(side_effect=self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if request.headers.get("Authorization") != TOKEN:
            return httpx.Response(200, json=envelope(None, 300002, "账号失效"))
        if self.queue:
            return self.queue.pop(0)
        api = request.url.path.removeprefix("/services/open/")
        answer = self.answers.get(api)
        if isinstance(answer, tuple):
            return httpx.Response(200, json=envelope(None, *answer))
        if isinstance(answer, httpx.Response):
            return answer
        if answer is None:
            return httpx.Response(200, json=envelope(None, 300010, "URL不存在"))
        return httpx.Response(200, json=envelope(answer))

    def apis(self) -> list[str]:
        return [r.url.path.removeprefix("/services/open/") for r in self.calls]


@pytest.fixture
def fake() -> Iterator[FakeTianyancha]:
    server = FakeTianyancha()
    with server.router:
        yield server


def client(token: str = TOKEN, sleeps: list[float] | None = None, **config: Any) -> tyc.TianyanchaClient:
    cfg = tyc.TianyanchaConfig(type="tianyancha", token=token, **config)
    return tyc.TianyanchaClient("tyc", cfg, sleep=(sleeps if sleeps is not None else []).append)


# -- search ------------------------------------------------------------------------------------------


def test_search_by_uscc_asks_the_base_info_with_the_token_as_the_authorization_header(fake: FakeTianyancha) -> None:
    found = client().search(BureauQuery("C1", "华东精密", country="CN", uscc=USCC))
    assert [(c.bureau, c.company_id, c.name, c.uscc, c.status) for c in found] == [
        ("tianyancha", str(COMPANY_ID), "上海华东精密机械有限公司", USCC, "存续")
    ]
    (call,) = fake.calls
    assert call.url.path == "/services/open/ic/baseinfo/normal"
    assert call.url.params["keyword"] == USCC
    assert call.headers["Authorization"] == TOKEN  # the bare token, no "Bearer"


def test_search_by_name_strips_the_highlight_tags_and_keeps_the_order(fake: FakeTianyancha) -> None:
    found = client().search(BureauQuery("C1", "华东精密机械", country="CN"))
    assert [c.name for c in found] == ["上海华东精密机械有限公司", "苏州华东精密机械有限公司"]
    assert found[1].uscc is None and found[1].status == "注销"
    assert fake.calls[0].url.params["word"] == "华东精密机械"


def test_a_search_without_result_is_empty_not_an_error(fake: FakeTianyancha) -> None:
    fake.answers["ic/baseinfo/normal"] = EMPTY
    bureau = client()
    assert bureau.search(BureauQuery("C1", "x", uscc=USCC)) == []
    assert bureau.paid_calls == 0  # 经查无结果 is not charged


# -- report and normalisation -----------------------------------------------------------------------


def test_the_report_scores_the_listings_by_the_documented_rule(fake: FakeTianyancha) -> None:
    report = client().report(str(COMPANY_ID))
    # 80 - 30 (dishonest) - 15 (restriction) - 10 (one abnormal listing still open) - 5 (1.25m of a
    # 50m capital is 2.5%: 1 point, at least 5) - 2 (one lawsuit) = 18
    assert report.score == 18
    assert report.band == "E"
    assert report.raw_score is None and report.recommended_limit is None
    assert report.company_name == "上海华东精密机械有限公司"
    assert report.raw["hub_score"]["reasons"][0] == "1 dishonest-debtor listing (失信被执行人): -30"
    assert set(report.raw) >= {"baseinfo", "dishonest", "consumption_restriction", "abnormal", "enforcement"}


def test_events_carry_beijing_dates_courts_case_numbers_and_amounts(fake: FakeTianyancha) -> None:
    events = {e.kind: e for e in client().report(str(COMPANY_ID)).events}
    dishonest = events[LegalEventKind.DISHONEST_DEBTOR]
    assert dishonest.date == dt.date(2024, 3, 5)  # the listing's publication, a Beijing midnight
    assert dishonest.court == "上海市浦东新区人民法院"
    assert dishonest.case_number == "(2024)沪0115执1234号"
    assert "全部未履行" in dishonest.description
    enforcement = events[LegalEventKind.ENFORCEMENT]
    assert (enforcement.amount, enforcement.currency) == (Decimal("1250000"), "CNY")
    assert events[LegalEventKind.CONSUMPTION_RESTRICTION].date == dt.date(2024, 3, 20)
    assert events[LegalEventKind.ABNORMAL_OPERATION].description.startswith("经营异常: 通过登记的住所")
    assert events[LegalEventKind.LAWSUIT].case_number == "(2023)沪0115民初45678号"


def test_an_abnormal_listing_that_was_removed_is_no_event(fake: FakeTianyancha) -> None:
    abnormal = [e for e in client().report(str(COMPANY_ID)).events if e.kind == LegalEventKind.ABNORMAL_OPERATION]
    assert [e.date for e in abnormal] == [dt.date(2023, 7, 14)]


def test_a_company_with_nothing_listed_scores_80_band_a(fake: FakeTianyancha) -> None:
    for api in ("jr/dishonest/2.0", "jr/consumptionRestriction/2.0", "mr/abnormal/2.0", "jr/zhixinginfo/2.0"):
        fake.answers[api] = EMPTY
    fake.answers["jr/lawSuit/2.0"] = {"total": 0, "items": []}
    report = client().report(str(COMPANY_ID))
    assert (report.score, report.band, report.events) == (80, "A", ())


def test_a_deregistered_company_scores_0(fake: FakeTianyancha) -> None:
    fake.answers["ic/baseinfo/normal"] = {**BASEINFO, "regStatus": "注销"}
    for api in ("jr/dishonest/2.0", "jr/consumptionRestriction/2.0", "mr/abnormal/2.0", "jr/zhixinginfo/2.0"):
        fake.answers[api] = EMPTY
    report = client().report(str(COMPANY_ID))
    assert (report.score, report.band) == (0, "E")
    assert "status 注销 (deregistered): at most 0" in report.raw["hub_score"]["reasons"]


def test_each_charged_answer_is_a_paid_call(fake: FakeTianyancha) -> None:
    fake.answers["jr/lawSuit/2.0"] = EMPTY
    bureau = client()
    bureau.report(str(COMPANY_ID))
    assert len(fake.calls) == 6 and bureau.paid_calls == 5


# -- errors ------------------------------------------------------------------------------------------


def test_a_refused_token_is_an_auth_error_asked_once_and_never_shown(fake: FakeTianyancha) -> None:
    with pytest.raises(BureauAuthError) as caught:
        client(token="wrong-token-0000").report(str(COMPANY_ID))
    assert len(fake.calls) == 1
    assert "Tianyancha" in str(caught.value) and "300002" in str(caught.value) and "账号失效" in str(caught.value)
    assert "wrong-token-0000" not in str(caught.value) and not caught.value.retryable


def test_rate_limited_inside_an_http_200_waits_and_asks_again(fake: FakeTianyancha) -> None:
    fake.queue = [httpx.Response(200, json=envelope(None, 300004, "访问频率过快"))] * 2
    sleeps: list[float] = []
    found = client(sleeps=sleeps).search(BureauQuery("C1", "x", uscc=USCC))
    assert [c.company_id for c in found] == [str(COMPANY_ID)]
    assert sleeps == [1.0, 2.0] and len(fake.calls) == 3


def test_still_rate_limited_after_the_retries_is_a_retryable_error(fake: FakeTianyancha) -> None:
    fake.queue = [httpx.Response(200, json=envelope(None, 300004, "访问频率过快"))] * 5
    sleeps: list[float] = []
    with pytest.raises(BureauError) as caught:
        client(sleeps=sleeps, throttle_retries=2).search(BureauQuery("C1", "x", uscc=USCC))
    assert caught.value.retryable and "rate limited" in str(caught.value)
    assert len(fake.calls) == 3


def test_an_http_429_is_waited_out_by_the_http_layer(fake: FakeTianyancha) -> None:
    fake.queue = [httpx.Response(429, headers={"Retry-After": "7"})]
    sleeps: list[float] = []
    assert client(sleeps=sleeps).search(BureauQuery("C1", "x", uscc=USCC))
    assert sleeps == [7.0]


@pytest.mark.parametrize("code, reason", [(300006, "余额不足"), (300007, "剩余次数不足")])
def test_a_spent_quota_stops_without_retrying(fake: FakeTianyancha, code: int, reason: str) -> None:
    fake.queue = [httpx.Response(200, json=envelope(None, code, reason))]
    with pytest.raises(BureauError) as caught:
        client().report(str(COMPANY_ID))
    assert not caught.value.retryable and reason in str(caught.value) and len(fake.calls) == 1


def test_a_report_on_an_unknown_company_is_not_found(fake: FakeTianyancha) -> None:
    fake.answers["ic/baseinfo/normal"] = EMPTY
    with pytest.raises(BureauNotFound, match="经查无结果"):
        client().report("999")
    assert len(fake.calls) == 1  # no list is bought for a company that is not there


@pytest.mark.parametrize(
    "api, answer, says",
    [
        ("ic/baseinfo/normal", httpx.Response(200, text="<html>502 Bad Gateway</html>"), "not JSON"),
        ("ic/baseinfo/normal", httpx.Response(200, json={"result": BASEINFO}), "error_code"),
        ("ic/baseinfo/normal", envelope({**BASEINFO, "name": None}), "name"),
        ("jr/dishonest/2.0", envelope({"total": 1, "items": {"iname": "x"}}), "items"),
        (
            "jr/dishonest/2.0",
            envelope({"total": 1, "items": [{**DISHONEST["items"][0], "publishdate": "soon"}]}),
            "soon",
        ),
        ("jr/zhixinginfo/2.0", envelope({"total": 1, "items": [{**ZHIXING["items"][0], "execMoney": "很多"}]}), "很多"),
    ],
)
def test_a_malformed_answer_is_a_bureau_error_and_no_report(
    fake: FakeTianyancha, api: str, answer: Any, says: str
) -> None:
    fake.answers[api] = answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)
    with pytest.raises(BureauError) as caught:
        client().report(str(COMPANY_ID))
    assert says in str(caught.value) and "Tianyancha" in str(caught.value)
    assert api in str(caught.value)


def test_an_error_in_an_http_200_names_the_call_and_the_code(fake: FakeTianyancha) -> None:
    fake.answers["jr/dishonest/2.0"] = (300005, "无权限访问此api")
    with pytest.raises(BureauAuthError) as caught:
        client().report(str(COMPANY_ID))
    assert "jr/dishonest/2.0" in str(caught.value) and "300005 无权限访问此api" in str(caught.value)


def test_an_http_error_is_a_source_error_without_the_token(fake: FakeTianyancha) -> None:
    fake.queue = [httpx.Response(403, text=json.dumps({"message": f"bad {TOKEN}"}))]
    with pytest.raises(SourceError) as caught:
        client().report(str(COMPANY_ID))
    assert TOKEN not in str(caught.value)


# -- the connector type ----------------------------------------------------------------------------


def test_the_connector_type_builds_a_bureau(tmp_path: Any) -> None:
    (kind,) = tyc.hub_register_connectors()
    assert kind.name == "tianyancha"
    config = kind.config_model.model_validate({"type": "tianyancha", "token": TOKEN})
    connector = kind.factory("tyc", config, ConnectorContext(tmp_path))
    assert connector.bureau is not None and connector.bureau.name == "tianyancha"
    assert connector.source is None and connector.sink is None
    connector.close()
