"""``qichacha`` connector: Qichacha (企查查) as a credit bureau for Chinese customers.

Configure an instance::

    [connectors.qcc]
    type = "qichacha"
    app_key = { env = "QICHACHA_APP_KEY" }
    secret_key = { env = "QICHACHA_SECRET_KEY" }

**Auth**: every call is ``GET https://api.qichacha.com/<api>?key=<AppKey>&...`` with the headers
``Timespan`` (Unix seconds, now) and ``Token`` = upper(MD5(AppKey + Timespan + SecretKey)); the
secret key itself never leaves the hub. Each call (and each retry after a throttling status) is
signed afresh.

**Envelope**: ``{"Status": "200", "Message", "OrderNumber", "Paging", "Result"}``. A ``Status``
other than ``"200"`` is an answer too, inside an HTTP 200 (codes of openapi.qcc.com/services/after/status):

=====================================================  ===========================================
201 查询无结果                                          a search: no candidates; a report:
                                                        BureauNotFound; a check: nothing listed
101 KEY无效, 103 KEY被暂停, 104 KEY异常, 107 IP or       BureauAuthError, never retried
signature refused, 111 接口权限未开通, 115 身份验证错误,
119 账号异常
102 KEY已欠费, 112 剩余使用量不足, 109/116 daily limits   BureauError, not retryable (the account or
                                                        the day is spent)
120 系统流量异常, 122 超过系统并发限制                    waited out (1, 2, 4 ... s), signed and asked
                                                        again, up to ``throttle_retries`` times; then
                                                        a retryable BureauError
anything else (202 参数错误, 110, 199 ...)               BureauError naming the call and the status
=====================================================  ===========================================

HTTP 429 and 5xx are retried by :class:`hub.HttpClient`.

**Search**: with a USCC, ``ECIV4/GetBasicDetailsByName?keyword=<uscc>`` (one candidate); otherwise
``FuzzySearch/GetList?searchKey=<name>``. The company id is the company's USCC (CreditCode), which
every check accepts as ``searchKey``; a company without one keeps its Qichacha ``KeyNo``.

**Report**: ``ECIV4/GetBasicDetailsByName`` (name, status, registered capital), then the checks
(first page; the score counts ``Paging.TotalRecords``): ``ShixinCheck/GetList`` (失信被执行人),
``SumptuaryCheck/GetList`` (限制高消费), ``ExceptionCheck/GetList`` (经营异常; removed listings
are no event) and ``ZhixingCheck/GetList`` (被执行人, with the amount enforced, ``Biaodi``).
Lawsuits are not read: Qichacha sells them as separate document checks whose fields this client
does not know yet. The score and band follow the rule Tianyancha uses (``hub_connectors.cn_bureau_score``:
start 80, points off per listing). A payload without the documented fields is a BureauError naming
the call; nothing is returned half-built.

**Cost**: each ``Status`` 200 answer is charged and counted in ``paid_calls`` (five per report); 201
查询无结果 is not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import Field

from hub import (
    BureauAuthError,
    BureauClient,
    BureauCompany,
    BureauError,
    BureauEvent,
    BureauNotFound,
    BureauQuery,
    BureauReport,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    HttpClient,
    LegalEventKind,
    RetryPolicy,
    get_logger,
    hookimpl,
    register_secret,
)

from ..cn_bureau_score import CHINA, assess, parse_amount, parse_capital, parse_date

log = get_logger(__name__)

SYSTEM = "Qichacha"
TYPE_NAME = "qichacha"
OK = "200"
NO_RESULT = "201"
AUTH = frozenset({"101", "103", "104", "107", "111", "115", "119"})
SPENT = frozenset({"102", "112", "109", "116"})
THROTTLED = frozenset({"120", "122"})
BASIC_API = "ECIV4/GetBasicDetailsByName"


class QichachaConfig(ConnectorConfig):
    app_key: str
    secret_key: str
    base_url: str = "https://api.qichacha.com/"
    page_size: int = Field(default=20, ge=1, le=50, description="Items read of each check (its first page).")
    throttle_retries: int = Field(default=3, ge=0)
    timeout: float = Field(default=30.0, gt=0)


class QichachaThrottled(BureauError):
    """Still over the traffic or concurrency limit (120, 122) after the waits."""

    retryable = True


class QichachaSpent(BureauError):
    """The key is in arrears, its calls used up, or the day's limit reached (102, 112, 109, 116)."""

    retryable = False


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def signature(app_key: str, timespan: str, secret_key: str) -> str:
    """The ``Token`` header: upper-case hex MD5 of AppKey + Timespan + SecretKey."""
    return hashlib.md5((app_key + timespan + secret_key).encode("utf-8")).hexdigest().upper()


class QichachaClient(BureauClient):
    """One Qichacha account (see the module's docstring)."""

    name = TYPE_NAME

    def __init__(
        self,
        instance: str,
        config: QichachaConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.instance = instance
        self.config = config
        self.sleep = sleep
        self.clock = clock
        self.paid_calls = 0
        register_secret(config.app_key)
        register_secret(config.secret_key)
        self.http = HttpClient(
            config.base_url,
            name=instance,
            timeout=config.timeout,
            headers={"Accept": "application/json"},
            retry=RetryPolicy(attempts=4),
            transport=transport,
            sleep=sleep,
        )

    def error(self, api: str, text: str, kind: type[BureauError] = BureauError) -> BureauError:
        return kind(f"{SYSTEM} (connector {self.instance}) {api}: {text}")

    def call(self, api: str, params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
        """``(Result, Paging)`` of one call; ``(None, {})`` for 查询无结果; BureauError for other statuses."""
        waits = 0
        while True:
            timespan = str(int(self.clock()))
            headers = {"Timespan": timespan, "Token": signature(self.config.app_key, timespan, self.config.secret_key)}
            response = self.http.get(api, params={"key": self.config.app_key, **params}, headers=headers)
            try:
                body = response.json()
            except ValueError:
                raise self.error(api, f"the answer is not JSON: {response.text[:80]!r}") from None
            if not isinstance(body, dict) or not isinstance(body.get("Status"), str | int):
                raise self.error(api, "the answer has no Status (not the documented envelope)")
            status, message = str(body["Status"]), str(body.get("Message") or "")
            if status == OK:
                self.paid_calls += 1
                paging = body.get("Paging")
                return body.get("Result"), paging if isinstance(paging, dict) else {}
            if status == NO_RESULT:
                return None, {}
            what = f"Status {status} {message}".strip()
            if status in THROTTLED:
                if waits >= self.config.throttle_retries:
                    raise self.error(api, f"still rate limited after {waits} waits ({what})", QichachaThrottled)
                wait = float(2**waits)
                waits += 1
                log.info("qichacha.throttled", connector=self.instance, api=api, wait=wait)
                self.sleep(wait)
                continue
            if status in AUTH:
                raise self.error(
                    api,
                    f"the key or its signature was refused ({what}); check [connectors.{self.instance}] "
                    "app_key and secret_key, and the machine's clock",
                    BureauAuthError,
                )
            if status in SPENT:
                raise self.error(api, f"no more calls for now ({what})", QichachaSpent)
            raise self.error(api, f"error {what}")

    # -- BureauClient ---------------------------------------------------------------------------

    def search(self, query: BureauQuery) -> list[BureauCompany]:
        if query.uscc:
            basic, _ = self.call(BASIC_API, {"keyword": query.uscc})
            return [] if basic is None else [self._company(BASIC_API, basic)]
        api = "FuzzySearch/GetList"
        found, _ = self.call(api, {"searchKey": query.name, "pageIndex": 1, "pageSize": 20})
        if found is None:
            return []
        if not isinstance(found, list):
            raise self.error(api, "Result is not a list (not the documented shape)")
        return [self._company(api, item) for item in found]

    def _company(self, api: str, data: Any) -> BureauCompany:
        if (
            not isinstance(data, dict)
            or not _text(data.get("Name"))
            or not (_text(data.get("CreditCode")) or _text(data.get("KeyNo")))
        ):
            raise self.error(api, "a company without name, CreditCode or KeyNo (not the documented shape)")
        uscc = _text(data.get("CreditCode"))
        return BureauCompany(
            bureau=self.name,
            company_id=uscc or str(_text(data.get("KeyNo"))),
            name=str(_text(data.get("Name"))),
            country="CN",
            registration_number=_text(data.get("No")),
            uscc=uscc,
            address=_text(data.get("Address")),
            status=_text(data.get("Status")),
        )

    def check(self, api: str, search_key: str) -> tuple[list[dict[str, Any]], int]:
        result, paging = self.call(api, {"searchKey": search_key, "pageIndex": 1, "pageSize": self.config.page_size})
        if result is None:
            return [], 0
        data = result.get("Data") if isinstance(result, dict) else None
        if data is None and isinstance(result, dict) and result.get("VerifyResult") == 0:
            return [], 0
        if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
            raise self.error(api, "Result.Data is not a list of objects (not the documented shape)")
        total = paging.get("TotalRecords")
        return data, total if isinstance(total, int) and total >= len(data) else len(data)

    def report(self, company_id: str) -> BureauReport:
        basic, _ = self.call(BASIC_API, {"keyword": company_id})
        if basic is None:
            raise self.error(BASIC_API, f"no company {company_id} (201 查询无结果)", BureauNotFound)
        company = self._company(BASIC_API, basic)
        raw: dict[str, Any] = {"basic": basic}
        events: list[BureauEvent] = []
        counts: dict[LegalEventKind, int] = {}
        checks: list[tuple[str, str, LegalEventKind, Callable[[dict[str, Any]], BureauEvent | None]]] = [
            ("shixin", "ShixinCheck/GetList", LegalEventKind.DISHONEST_DEBTOR, _shixin),
            ("sumptuary", "SumptuaryCheck/GetList", LegalEventKind.CONSUMPTION_RESTRICTION, _sumptuary),
            ("exception", "ExceptionCheck/GetList", LegalEventKind.ABNORMAL_OPERATION, _exception),
            ("zhixing", "ZhixingCheck/GetList", LegalEventKind.ENFORCEMENT, _zhixing),
        ]
        for key, api, kind, read in checks:
            items, total = self.check(api, company_id)
            raw[key] = {"total": total, "items": items}
            try:
                events += [e for e in (read(item) for item in items) if e is not None]
            except (ValueError, TypeError) as exc:
                raise self.error(api, f"an item that cannot be read: {exc}") from None
            if kind != LegalEventKind.ABNORMAL_OPERATION:  # removed listings are in the total too
                counts[kind] = total
        assessment = assess(
            company.status, events, registered_capital=parse_capital(basic.get("RegistCapi")), counts=counts
        )
        raw["hub_score"] = assessment.as_raw()
        return BureauReport(
            bureau=self.name,
            company_id=company.company_id,
            report_date=dt.datetime.now(CHINA).date(),
            score=assessment.score,
            raw_score=None,
            band=assessment.band,
            events=tuple(events),
            company_name=company.name,
            raw=raw,
        )

    def close(self) -> None:
        self.http.close()


def _shixin(item: dict[str, Any]) -> BureauEvent:
    status = _text(item.get("Executestatus"))
    basis = _text(item.get("Executeno"))
    return BureauEvent(
        kind=LegalEventKind.DISHONEST_DEBTOR,
        date=parse_date(item.get("Publicdate")) or parse_date(item.get("Liandate")),
        description="失信被执行人"
        + (f"; 履行情况: {status}" if status else "")
        + (f"; 执行依据: {basis}" if basis else ""),
        court=_text(item.get("Executegov")),
        case_number=_text(item.get("Anno")),
        event_id=_text(item.get("Id")),
    )


def _sumptuary(item: dict[str, Any]) -> BureauEvent:
    applicant = _text(item.get("Applicant"))
    person = _text(item.get("PersonName"))
    parts = ["限制高消费", f"限制对象: {person}" if person else None, f"申请人: {applicant}" if applicant else None]
    return BureauEvent(
        kind=LegalEventKind.CONSUMPTION_RESTRICTION,
        date=parse_date(item.get("PublishDate")) or parse_date(item.get("JudgeDate")),
        description="; ".join(p for p in parts if p),
        case_number=_text(item.get("CaseNo")),
        event_id=_text(item.get("Id")),
    )


def _exception(item: dict[str, Any]) -> BureauEvent | None:
    if _text(item.get("RemoveDate")):
        return None  # removed from the list
    reason = _text(item.get("AddReason"))
    return BureauEvent(
        kind=LegalEventKind.ABNORMAL_OPERATION,
        date=parse_date(item.get("AddDate")),
        description="经营异常" + (f": {reason}" if reason else ""),
        court=_text(item.get("DecisionOffice")),
        event_id=_text(item.get("Id")),
    )


def _zhixing(item: dict[str, Any]) -> BureauEvent:
    amount = parse_amount(item.get("Biaodi"))
    return BureauEvent(
        kind=LegalEventKind.ENFORCEMENT,
        date=parse_date(item.get("Liandate")),
        description="被执行人",
        court=_text(item.get("ExecuteGov")) or _text(item.get("Executegov")),
        amount=amount,
        currency="CNY" if amount is not None else None,
        case_number=_text(item.get("Anno")),
        event_id=_text(item.get("Id")),
    )


def create(
    name: str,
    config: QichachaConfig,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> Connector:
    client = QichachaClient(name, config, sleep=sleep, clock=clock, transport=transport)
    return Connector(name=name, type=TYPE_NAME, bureau=client, close=client.close)


def _create(name: str, config: QichachaConfig, context: ConnectorContext) -> Connector:
    return create(name, config)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "Qichacha (企查查): Chinese company register, dishonest debtors, restrictions, abnormal operations.",
            QichachaConfig,
            _create,
        )
    ]
