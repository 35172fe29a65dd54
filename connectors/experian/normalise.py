"""Experian Business Information payloads -> the hub's bureau model.

**Score** (0-100, higher is safer), from ``results.commercialScore`` of the Intelliscore Plus model:

* ``percentileRanking`` (1-100: the share of businesses that are riskier) as it is.
* without it, the Intelliscore ``score`` itself (1-100, higher is lower risk).
* without either, the midpoint of the score range of the risk class (``riskClass.code`` 1-5,
  1 the lowest risk): 1 (76-100) 88, 2 (51-75) 63, 3 (26-50) 38, 4 (11-25) 18, 5 (1-10) 5.5.
* none of them: no score.

``band`` is the risk class code as written ("1".."5"; its ``definition``, "LOW TO MEDIUM RISK", and
the score factors stay in ``raw``), ``raw_score`` the Intelliscore. The recommended limit is
``recommendedCreditLimitAmount`` in the configured currency (Experian US: USD). The payload is kept
whole in ``raw`` (score factors and trends included) for audit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub import (
    BureauCompany,
    BureauReport,
    PayloadError as Malformed,
    payload_number as number,
    payload_object as obj,
    payload_text as text,
    payload_whole as whole,
)

#: Midpoints of the Intelliscore Plus score range of each risk class (1 = lowest risk).
CLASS_MIDPOINTS: dict[int, float] = {1: 88.0, 2: 63.0, 3: 38.0, 4: 18.0, 5: 5.5}


def address(value: Any) -> str | None:
    a = value if isinstance(value, dict) else {}
    return ", ".join(str(a[k]) for k in ("street", "city", "state", "zip") if a.get(k)) or None


def company(bureau: str, item: Any) -> BureauCompany:
    found = obj(item, "results[]", required=True)
    bin_, name = text(found.get("bin")), text(found.get("businessName"))
    if bin_ is None or name is None:
        raise Malformed("'results[].bin' or '.businessName' is missing")
    return BureauCompany(bureau=bureau, company_id=bin_, name=name, country="US", address=address(found.get("address")))


def report(bureau: str, asked: str, payload: Any, today: dt.date, currency: str) -> BureauReport:
    body = obj(payload, "body", required=True)
    results = obj(body.get("results"), "results", required=True)
    path = "results.commercialScore"
    commercial = obj(results.get("commercialScore"), path, required=True)
    percentile = whole(commercial.get("percentileRanking"), f"{path}.percentileRanking", 0, 100)
    intelliscore = whole(commercial.get("score"), f"{path}.score", 0, 100)
    risk = obj(commercial.get("riskClass"), f"{path}.riskClass")
    klass = whole(risk.get("code"), f"{path}.riskClass.code", 1, 5)
    if percentile is not None:
        score: float | None = float(percentile)
    elif intelliscore is not None:
        score = float(intelliscore)
    else:
        score = CLASS_MIDPOINTS.get(klass) if klass is not None else None
    limit = number(commercial.get("recommendedCreditLimitAmount"))
    header = obj(results.get("businessHeader"), "results.businessHeader")
    return BureauReport(
        bureau=bureau,
        company_id=text(header.get("bin")) or asked,
        report_date=today,
        score=score,
        raw_score=str(intelliscore) if intelliscore is not None else None,
        band=str(klass) if klass is not None else text(risk.get("definition")),
        recommended_limit=limit,
        recommended_limit_currency=currency if limit is not None else None,
        company_name=text(header.get("businessName")),
        raw=body,
    )
