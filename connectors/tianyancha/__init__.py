"""``tianyancha`` connector: Tianyancha (天眼查) as a credit bureau for Chinese customers.

Configure an instance::

    [connectors.tyc]
    type = "tianyancha"
    token = { env = "TIANYANCHA_TOKEN" }    # the open platform's token (控制台 -> 我的数据)

**Auth**: every call is ``GET https://open.api.tianyancha.com/services/open/<api>`` with the token
as the ``Authorization`` header (the bare token, no scheme).

**Envelope**: ``{"error_code": 0, "reason": "ok", "result": ...}``. An HTTP 200 may carry one of the
platform's codes instead of a result, read so:

=========================================  ===================================================
300000 经查无结果 (no result)               a search: no candidates; a report: BureauNotFound;
                                            a list: nothing listed
300002 账号失效, 300003 账号过期,             BureauAuthError, never retried
300005 无权限访问此api, 300009 账号信息有误,
300011 此IP无权限访问此api
300004 访问频率过快 (rate limited)           waited out (1, 2, 4 ... s) and asked again, up to
                                            ``throttle_retries`` times; then a retryable BureauError
300006 余额不足, 300007 剩余次数不足          BureauError, not retryable: the account is spent
anything else (300001 请求失败 ...)          BureauError naming the call, the code and the reason
=========================================  ===================================================

HTTP 429 and 5xx are retried by :class:`hub.HttpClient` (``Retry-After`` honoured).

**Search**: with a USCC (统一社会信用代码), ``ic/baseinfo/normal?keyword=<uscc>`` (one candidate);
otherwise ``search/2.0?word=<name>`` (candidates in the bureau's order, its ``<em>`` highlights
removed). The company id is Tianyancha's numeric company id.

**Report**: ``ic/baseinfo/normal`` (name, registration status, registered capital), then the lists
(first page, ``page_size`` items; the score counts the bureau's ``total``): dishonest debtors
``jr/dishonest/2.0`` (失信被执行人), consumption restrictions ``jr/consumptionRestriction/2.0``
(限制高消费), abnormal operations ``mr/abnormal/2.0`` (经营异常; listings since removed are no
event), enforcement ``jr/zhixinginfo/2.0`` (被执行人, with the amount enforced) and lawsuits
``jr/lawSuit/2.0`` (裁判文书; ``lawsuits = false`` leaves them out). Tianyancha publishes no
score: :mod:`.score` derives one (start 80, points off per listing; the rule is documented there
and in docs/bureau-connectors.md) and a band A-E from it; no recommended limit. Dates in
milliseconds are midnights in Beijing and read as such. The payloads are kept in ``raw`` with the
score's reasons under ``hub_score``. A payload without the fields the documentation promises is a
BureauError naming the call: no report is returned half-built.

**Cost**: every answer with ``error_code`` 0 is charged and counted in ``paid_calls`` (a report is
six calls, five without lawsuits); 经查无结果 is not charged.
"""

from __future__ import annotations

import datetime as dt
import re
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
    TokenBucket,
    get_logger,
    hookimpl,
    register_secret,
)

from ..cn_bureau_score import CHINA, assess, parse_amount, parse_capital, parse_date

log = get_logger(__name__)

SYSTEM = "Tianyancha"
TYPE_NAME = "tianyancha"
NO_RESULT = 300000
THROTTLED = 300004
AUTH_CODES = frozenset({300002, 300003, 300005, 300009, 300011})
SPENT_CODES = frozenset({300006, 300007})
_TAGS = re.compile(r"</?em>")


class TianyanchaConfig(ConnectorConfig):
    token: str
    base_url: str = "https://open.api.tianyancha.com/services/open/"
    lawsuits: bool = Field(default=True, description="Read the lawsuits list too (one more paid call per report).")
    page_size: int = Field(default=20, ge=1, le=20, description="Items read of each list (its first page).")
    throttle_retries: int = Field(default=3, ge=0, description="Waits after 300004 (访问频率过快) before giving up.")
    requests_per_second: float | None = Field(
        default=None, gt=0, description="Calls per second at most, where the contract sets a limit."
    )
    timeout: float = Field(default=30.0, gt=0)


class TianyanchaThrottled(BureauError):
    """Still rate limited (300004) after the waits: trying again later can help."""

    retryable = True


class TianyanchaSpent(BureauError):
    """The account's balance or calls are used up (300006, 300007): no call helps until it is topped up."""

    retryable = False


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = _TAGS.sub("", str(value)).strip()
    return text or None


class TianyanchaClient(BureauClient):
    """One Tianyancha account (see the module's docstring)."""

    name = TYPE_NAME

    def __init__(
        self,
        instance: str,
        config: TianyanchaConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.instance = instance
        self.config = config
        self.sleep = sleep
        self.paid_calls = 0
        register_secret(config.token)
        self.http = HttpClient(
            config.base_url,
            name=instance,
            timeout=config.timeout,
            headers={"Authorization": config.token, "Accept": "application/json"},
            rate=TokenBucket(config.requests_per_second) if config.requests_per_second else None,
            retry=RetryPolicy(attempts=4),
            transport=transport,
            sleep=sleep,
        )

    def error(self, api: str, text: str, kind: type[BureauError] = BureauError) -> BureauError:
        return kind(f"{SYSTEM} (connector {self.instance}) {api}: {text}")

    # -- the envelope ---------------------------------------------------------------------------

    def call(self, api: str, params: Mapping[str, Any]) -> Any:
        """The ``result`` of one call, or None for 经查无结果; raises BureauError for any other code."""
        waits = 0
        while True:
            response = self.http.get(api, params=dict(params))
            try:
                body = response.json()
            except ValueError:
                raise self.error(api, f"the answer is not JSON: {response.text[:80]!r}") from None
            if not isinstance(body, dict) or not isinstance(body.get("error_code"), int):
                raise self.error(api, "the answer has no error_code (not the documented envelope)")
            code, reason = body["error_code"], str(body.get("reason") or "")
            if code == 0:
                self.paid_calls += 1
                return body.get("result")
            if code == NO_RESULT:
                return None
            what = f"{code} {reason}".strip()
            if code == THROTTLED:
                if waits >= self.config.throttle_retries:
                    raise self.error(api, f"still rate limited after {waits} waits ({what})", TianyanchaThrottled)
                wait = float(2**waits)
                waits += 1
                log.info("tianyancha.throttled", connector=self.instance, api=api, wait=wait)
                self.sleep(wait)
                continue
            if code in AUTH_CODES:
                raise self.error(
                    api, f"the token was refused ({what}); check [connectors.{self.instance}] token", BureauAuthError
                )
            if code in SPENT_CODES:
                raise self.error(api, f"the account is spent ({what}); top it up to ask again", TianyanchaSpent)
            raise self.error(api, f"error {what}")

    def items(self, api: str, keyword: str, size: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """A list's first page and the bureau's total (nothing listed: ``([], 0)``)."""
        result = self.call(api, {"keyword": keyword, "pageSize": size or self.config.page_size, "pageNum": 1})
        if result is None:
            return [], 0
        if not isinstance(result, dict) or not isinstance(result.get("items", []), list):
            raise self.error(api, "result.items is not a list (not the documented shape)")
        items = result.get("items") or []
        if not all(isinstance(i, dict) for i in items):
            raise self.error(api, "result.items holds something that is not an object")
        total = result.get("total")
        return items, total if isinstance(total, int) and total >= len(items) else len(items)

    # -- BureauClient ---------------------------------------------------------------------------

    def search(self, query: BureauQuery) -> list[BureauCompany]:
        if query.uscc:
            base = self.call("ic/baseinfo/normal", {"keyword": query.uscc})
            return [] if base is None else [self._company("ic/baseinfo/normal", base)]
        result = self.call("search/2.0", {"word": query.name, "pageSize": 20, "pageNum": 1})
        if result is None:
            return []
        if not isinstance(result, dict) or not isinstance(result.get("items", []), list):
            raise self.error("search/2.0", "result.items is not a list (not the documented shape)")
        return [self._company("search/2.0", item) for item in result.get("items") or []]

    def _company(self, api: str, data: Any) -> BureauCompany:
        if not isinstance(data, dict) or data.get("id") in (None, "") or not _text(data.get("name")):
            raise self.error(api, "a company without id or name (not the documented shape)")
        return BureauCompany(
            bureau=self.name,
            company_id=str(data["id"]),
            name=str(_text(data["name"])),
            country="CN",
            registration_number=_text(data.get("regNumber")),
            uscc=_text(data.get("creditCode")),
            address=_text(data.get("regLocation")),
            status=_text(data.get("regStatus")),
        )

    def report(self, company_id: str) -> BureauReport:
        api = "ic/baseinfo/normal"
        base = self.call(api, {"keyword": company_id})
        if base is None:
            raise self.error(api, f"no company {company_id} (300000 经查无结果)", BureauNotFound)
        company = self._company(api, base)
        raw: dict[str, Any] = {"baseinfo": base}
        events: list[BureauEvent] = []
        counts: dict[LegalEventKind, int] = {}
        readers: list[tuple[str, str, LegalEventKind, Callable[[dict[str, Any]], BureauEvent | None]]] = [
            ("dishonest", "jr/dishonest/2.0", LegalEventKind.DISHONEST_DEBTOR, _dishonest),
            (
                "consumption_restriction",
                "jr/consumptionRestriction/2.0",
                LegalEventKind.CONSUMPTION_RESTRICTION,
                _restriction,
            ),
            ("abnormal", "mr/abnormal/2.0", LegalEventKind.ABNORMAL_OPERATION, _abnormal),
            ("enforcement", "jr/zhixinginfo/2.0", LegalEventKind.ENFORCEMENT, _enforcement),
        ]
        if self.config.lawsuits:
            readers.append(("lawsuits", "jr/lawSuit/2.0", LegalEventKind.LAWSUIT, _lawsuit))
        for key, list_api, kind, read in readers:
            items, total = self.items(list_api, company_id)
            raw[key] = {"total": total, "items": items}
            try:
                found = [e for e in (read(item) for item in items) if e is not None]
            except (ValueError, TypeError, KeyError) as exc:
                raise self.error(list_api, f"an item that cannot be read: {exc}") from None
            events += found
            if kind != LegalEventKind.ABNORMAL_OPERATION:  # removed listings are in the total too
                counts[kind] = total
        assessment = assess(
            company.status, events, registered_capital=parse_capital(base.get("regCapital")), counts=counts
        )
        raw["hub_score"] = assessment.as_raw()
        return BureauReport(
            bureau=self.name,
            company_id=company.company_id,
            report_date=_today(),
            score=assessment.score,
            raw_score=None,
            band=assessment.band,
            events=tuple(events),
            company_name=company.name,
            raw=raw,
        )

    def close(self) -> None:
        self.http.close()


def _today() -> dt.date:
    """Today in Beijing, where the bureau's registers are kept."""
    return dt.datetime.now(CHINA).date()


def _dishonest(item: dict[str, Any]) -> BureauEvent:
    parts = ["失信被执行人", _text(item.get("disruptTypeName")), _text(item.get("performance"))]
    duty = _text(item.get("duty"))
    return BureauEvent(
        kind=LegalEventKind.DISHONEST_DEBTOR,
        date=parse_date(item.get("publishdate")) or parse_date(item.get("regdate")),
        description="; ".join(p for p in parts if p) + (f"; 义务: {duty}" if duty else ""),
        court=_text(item.get("courtname")),
        case_number=_text(item.get("casecode")),
        event_id=_text(item.get("casecode")),
    )


def _restriction(item: dict[str, Any]) -> BureauEvent:
    who = _text(item.get("xname"))
    return BureauEvent(
        kind=LegalEventKind.CONSUMPTION_RESTRICTION,
        date=parse_date(item.get("publishDate")) or parse_date(item.get("filingDate")),
        description="限制高消费" + (f": {_text(item.get('qyinfo')) or ''} ({who})" if who else ""),
        case_number=_text(item.get("caseCode")),
        event_id=_text(item.get("id")) or _text(item.get("caseCode")),
    )


def _abnormal(item: dict[str, Any]) -> BureauEvent | None:
    if _text(item.get("removeDate")):
        return None  # removed from the list: history, not a current listing
    return BureauEvent(
        kind=LegalEventKind.ABNORMAL_OPERATION,
        date=parse_date(item.get("putDate")),
        description=f"经营异常: {_text(item.get('putReason')) or ''}".rstrip(": "),
        court=_text(item.get("putDepartment")),
    )


def _enforcement(item: dict[str, Any]) -> BureauEvent:
    amount = parse_amount(item.get("execMoney"))
    return BureauEvent(
        kind=LegalEventKind.ENFORCEMENT,
        date=parse_date(item.get("caseCreateTime")),
        description="被执行人",
        court=_text(item.get("execCourtName")),
        amount=amount,
        currency="CNY" if amount is not None else None,
        case_number=_text(item.get("caseCode")),
        event_id=_text(item.get("caseCode")),
    )


def _lawsuit(item: dict[str, Any]) -> BureauEvent:
    reason = _text(item.get("casereason"))
    title = _text(item.get("title"))
    return BureauEvent(
        kind=LegalEventKind.LAWSUIT,
        date=parse_date(item.get("submittime")),
        description="; ".join(p for p in (reason, title) if p),
        court=_text(item.get("court")),
        case_number=_text(item.get("caseno")),
        event_id=_text(item.get("id")) or _text(item.get("caseno")),
    )


def create(
    name: str,
    config: TianyanchaConfig,
    *,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> Connector:
    client = TianyanchaClient(name, config, sleep=sleep, transport=transport)
    return Connector(name=name, type=TYPE_NAME, bureau=client, close=client.close)


def _create(name: str, config: TianyanchaConfig, context: ConnectorContext) -> Connector:
    return create(name, config)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "Tianyancha (天眼查): Chinese company register, dishonest debtors, restrictions, abnormal operations.",
            TianyanchaConfig,
            _create,
        )
    ]
