"""D&B Direct+ payloads -> the hub's bureau model.

**Score** (0-100, higher is safer), from ``organization.dnbAssessment.failureScore``:

* ``nationalPercentile`` (1-100, where 1 is the highest risk in the country) as it is: it already
  reads "higher is safer".
* without a percentile, the failure score class (``classScore`` 1-5, 1 the lowest risk) maps to the
  midpoint of the percentile range D&B gives each class: 1 (91-100) 95.5, 2 (71-90) 80.5,
  3 (31-70) 50.5, 4 (11-30) 20.5, 5 (1-10) 5.5.
* neither (an empty ``{}`` sub-object, as some countries send): no score.

``band`` is the failure class as written ("1".."5"), ``raw_score`` the percentile (or the class).
The recommended limit is ``creditLimitRecommendation.maximumRecommendedLimit`` (``{}`` in some
countries: no limit). ``legalEvents.hasOpenBankruptcy`` is an insolvency event. The delinquency
score, PAYDEX and standard rating ("5A2") stay in ``raw`` for audit and display.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from hub import (
    BureauCompany,
    BureauEvent,
    BureauReport,
    LegalEventKind,
    PayloadError as Malformed,
    payload_date as date,
    payload_number as number,
    payload_object as obj,
    payload_text as text,
    payload_whole as whole,
)

#: Midpoints of the national percentile range of each failure score class (1 = lowest risk).
CLASS_MIDPOINTS: dict[int, float] = {1: 95.5, 2: 80.5, 3: 50.5, 4: 20.5, 5: 5.5}


def part(value: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A descriptive sub-object (an address line, a status) or ``{}``: never worth failing a search for."""
    inner = value.get(key)
    return inner if isinstance(inner, dict) else {}


def address(a: Mapping[str, Any]) -> str | None:
    region = part(a, "addressRegion")
    parts = [
        part(a, "streetAddress").get("line1"),
        part(a, "addressLocality").get("name"),
        region.get("abbreviatedName") or region.get("name"),
        a.get("postalCode"),
    ]
    return ", ".join(str(p) for p in parts if p) or None


def company(bureau: str, candidate: Any) -> BureauCompany:
    found = obj(candidate, "matchCandidates[]", required=True)
    org = obj(found.get("organization"), "matchCandidates[].organization", required=True)
    duns, name = text(org.get("duns")), text(org.get("primaryName"))
    if duns is None or name is None:
        raise Malformed("'matchCandidates[].organization.duns' or '.primaryName' is missing")
    numbers = org.get("registrationNumbers")
    listed = numbers if isinstance(numbers, list) else []
    first = next((text(n.get("registrationNumber")) for n in listed if isinstance(n, dict)), None)
    place = part(org, "primaryAddress")
    country = text(org.get("countryISOAlpha2Code")) or text(part(place, "addressCountry").get("isoAlpha2Code"))
    status = text(part(part(org, "dunsControlStatus"), "operatingStatus").get("description"))
    return BureauCompany(
        bureau=bureau,
        company_id=duns,
        name=name,
        country=country,
        registration_number=first,
        duns=duns,
        address=address(place),
        status=status,
    )


def report(bureau: str, payload: Any, today: dt.date) -> BureauReport:
    body = obj(payload, "body", required=True)
    org = obj(body.get("organization"), "organization", required=True)
    duns = text(org.get("duns"))
    if duns is None:
        raise Malformed("'organization.duns' is missing")
    assessment = obj(org.get("dnbAssessment"), "organization.dnbAssessment")
    path = "organization.dnbAssessment.failureScore"
    failure = obj(assessment.get("failureScore"), path)
    percentile = whole(failure.get("nationalPercentile"), f"{path}.nationalPercentile", 1, 100)
    klass = whole(failure.get("classScore"), f"{path}.classScore", 1, 5)
    if percentile is not None:
        score: float | None = float(percentile)
    else:
        score = CLASS_MIDPOINTS.get(klass) if klass is not None else None
    raw_score = str(percentile) if percentile is not None else (str(klass) if klass is not None else None)
    path = "organization.dnbAssessment.creditLimitRecommendation"
    recommendation = obj(assessment.get("creditLimitRecommendation"), path)
    limit = obj(recommendation.get("maximumRecommendedLimit"), f"{path}.maximumRecommendedLimit")
    amount = number(limit.get("value"))
    stamp = obj(body.get("transactionDetail"), "transactionDetail").get("transactionTimestamp")
    return BureauReport(
        bureau=bureau,
        company_id=duns,
        report_date=date(stamp) or today,
        score=score,
        raw_score=raw_score,
        band=str(klass) if klass is not None else None,
        recommended_limit=amount,
        recommended_limit_currency=text(limit.get("currency")) if amount is not None else None,
        events=tuple(events(org)),
        company_name=text(org.get("primaryName")),
        raw=body,
    )


def events(org: Mapping[str, Any]) -> Iterator[BureauEvent]:
    legal = obj(org.get("legalEvents"), "organization.legalEvents")
    if legal.get("hasOpenBankruptcy") is True:
        filed = obj(legal.get("bankruptcy"), "organization.legalEvents.bankruptcy")
        yield BureauEvent(
            kind=LegalEventKind.INSOLVENCY,
            date=date(filed.get("mostRecentFilingDate")),
            description="Open bankruptcy on file (D&B legalEvents.hasOpenBankruptcy)",
        )
