"""Creditsafe Connect payloads -> the hub's bureau model.

**Score** (0-100, higher is safer), from ``creditScore.currentCreditRating``:

* ``providerValue.value`` as it is, when it is a number on the 0-100 scale
  (``minValue`` "0", ``maxValue`` "100"): Creditsafe's international score already reads "higher
  is safer" on that scale.
* ``providerValue.value`` "Not Rated" (or any other text): no score (``None``).
* otherwise (a provider value on a local scale, or none): the midpoint of the common value band,
  A (71-100) 85.5, B (51-70) 60.5, C (30-50) 40, D (1-29) 15; E (not scored) gives ``None``.

``band`` is the common value (A-E) as written; ``raw_score`` the provider value as written (or the
common value when there is no provider value). ``previousCreditRating`` maps the same way into
``previous_score``. ``creditLimit.value`` is the recommended limit when it is a number, and the
``limit_note`` when it is a sentence ("Credit Limit not applicable").

**Events**: each County Court Judgment in ``negativeInformation`` (a lawsuit, with court, date,
amount and case number), and a company status whose description speaks of liquidation,
administration, receivership, insolvency or bankruptcy (an insolvency).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hub import (
    BureauCompany,
    BureauEvent,
    BureauReport,
    LegalEventKind,
    MonitoringEvent,
    PayloadError as Malformed,
    payload_date as date,
    payload_number as number,
    payload_object as obj,
    payload_text as text,
)

#: Midpoints of Creditsafe's common value bands (A 71-100, B 51-70, C 30-50, D 1-29; E is not scored).
BAND_MIDPOINTS: dict[str, float] = {"A": 85.5, "B": 60.5, "C": 40.0, "D": 15.0}
_INSOLVENT = re.compile(r"liquidat|administration|receiver|insolven|bankrupt|winding.up|dissolution", re.I)


def rating_score(rating: Mapping[str, Any], path: str) -> tuple[float | None, str | None, str | None]:
    """(score, raw score, band) of a ``currentCreditRating`` / ``previousCreditRating`` object."""
    band = text(rating.get("commonValue"))
    provider = obj(rating.get("providerValue"), f"{path}.providerValue")
    raw = text(provider.get("value"))
    if raw is not None:
        value = number(raw)
        if value is None:  # "Not Rated", or another sentence: the bureau does not rate the company
            return None, raw, band
        if number(provider.get("minValue")) == 0 and number(provider.get("maxValue")) == 100 and 0 <= value <= 100:
            return float(value), raw, band
    score = BAND_MIDPOINTS.get((band or "").upper())
    return score, raw or band, band


def company(bureau: str, item: Any) -> BureauCompany:
    found = obj(item, "companies[]", required=True)
    connect_id = text(found.get("id"))
    name = text(found.get("name"))
    if connect_id is None or name is None:
        raise Malformed("'companies[].id' or '.name' is missing")
    vat = found.get("vatNo")
    if isinstance(vat, list):
        vat = next((v for v in vat if text(v)), None)
    address = found.get("address")
    if isinstance(address, dict):
        address = address.get("simpleValue") or ", ".join(
            str(address[k]) for k in ("street", "city", "postCode") if address.get(k)
        )
    return BureauCompany(
        bureau=bureau,
        company_id=connect_id,
        name=name,
        country=text(found.get("country")),
        registration_number=text(found.get("regNo")),
        vat_number=text(vat),
        address=text(address),
        status=text(found.get("status")),
    )


def report(bureau: str, payload: Any, today: dt.date) -> BureauReport:
    body = obj(payload, "body", required=True)
    rep = obj(body.get("report"), "report", required=True)
    connect_id = text(rep.get("companyId"))
    if connect_id is None:
        raise Malformed("'report.companyId' is missing")
    summary = obj(rep.get("companySummary"), "report.companySummary")
    credit = obj(rep.get("creditScore"), "report.creditScore")
    current = obj(credit.get("currentCreditRating"), "report.creditScore.currentCreditRating")
    previous = obj(credit.get("previousCreditRating"), "report.creditScore.previousCreditRating")
    score, raw_score, band = rating_score(current, "report.creditScore.currentCreditRating")
    previous_score = rating_score(previous, "report.creditScore.previousCreditRating")[0] if previous else None
    limit = obj(current.get("creditLimit"), "report.creditScore.currentCreditRating.creditLimit")
    amount = number(limit.get("value"))
    note = None if amount is not None else text(limit.get("value"))
    return BureauReport(
        bureau=bureau,
        company_id=connect_id,
        report_date=date(body.get("dateOfOrder")) or today,
        score=score,
        raw_score=raw_score,
        band=band,
        recommended_limit=amount,
        recommended_limit_currency=text(limit.get("currency")) if amount is not None else None,
        limit_note=note,
        events=tuple(events(rep, summary)),
        previous_score=previous_score,
        company_name=text(summary.get("businessName")),
        raw=body,
    )


def _judgments(value: Any) -> Iterator[dict[str, Any]]:
    """The judgment records under ``countyCourtJudgements``: a list, or lists inside an object
    (``{"registered": {"exact": [...]}}`` in some reports)."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield item
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _judgments(inner)


def events(rep: Mapping[str, Any], summary: Mapping[str, Any]) -> Iterator[BureauEvent]:
    negative = obj(rep.get("negativeInformation"), "report.negativeInformation")
    default_currency = text(obj(negative.get("ccjSummary"), "report.negativeInformation.ccjSummary").get("currency"))
    for ccj in _judgments(negative.get("countyCourtJudgements")):
        state = text(ccj.get("ccjStatus") or ccj.get("status"))
        yield BureauEvent(
            kind=LegalEventKind.LAWSUIT,
            date=date(ccj.get("ccjDate") or ccj.get("date")),
            description="County Court Judgment" + (f" ({state})" if state else ""),
            court=text(ccj.get("court")),
            amount=number(ccj.get("ccjAmount") if ccj.get("ccjAmount") is not None else ccj.get("amount")),
            currency=text(ccj.get("currency")) or default_currency,
            case_number=text(ccj.get("caseNumber")),
        )
    status = obj(summary.get("companyStatus"), "report.companySummary.companyStatus")
    wording = " ".join(t for t in (text(status.get("description")), text(status.get("providerStatus"))) if t)
    if _INSOLVENT.search(wording):
        yield BureauEvent(
            kind=LegalEventKind.INSOLVENCY,
            date=None,
            description=f"Company status: {text(status.get('status')) or '?'} - {wording}",
        )


def notification(bureau: str, item: Any) -> MonitoringEvent:
    event = obj(item, "data[]", required=True)
    firm = obj(event.get("company"), "data[].company", required=True)
    event_id = text(event.get("eventId"))
    company_id = text(firm.get("id")) or text(firm.get("safeNumber"))
    if event_id is None or company_id is None:
        raise Malformed("'data[].eventId' or 'data[].company.id' is missing")
    rule = text(event.get("ruleName")) or "notification"
    old, new = text(event.get("oldValue")), text(event.get("newValue"))
    change = f": {old or '-'} -> {new or '-'}" if old or new else ""
    return MonitoringEvent(
        bureau=bureau,
        company_id=company_id,
        event_id=event_id,
        date=date(event.get("eventDate")),
        kind=text(event.get("ruleCode")) or rule,
        description=f"{rule}{change}",
    )
