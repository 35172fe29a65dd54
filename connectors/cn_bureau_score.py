"""How a Chinese bureau's answer becomes a 0-100 score: the rule Tianyancha and Qichacha share.

Neither Tianyancha (天眼查) nor Qichacha (企查查) publishes a credit score: they report what the
registers hold (the company's registration status, 登记状态) and the listings against it. The hub
derives a score from those with one rule, the same for both bureaus, so that a person can redo it
by hand:

* **Start at 80**: a company in good standing (存续, 在业, 在营, 开业...) with nothing against it.
  80, not 100: a clean register says nothing of how a company pays.
* **Status**: deregistered (注销), licence revoked (吊销), cancelled (撤销), ordered closed
  (责令关闭) or bankrupt (破产): the score is **0**. In liquidation (清算), suspended (停业, 歇业):
  at most **10**. A status the rule does not know leaves the score as it is, and says so.
* **Dishonest-debtor listings** (失信被执行人): 30 points off for the first, 10 for each more, at
  most 50.
* **Consumption restrictions** (限制高消费): 15 off for the first, 5 for each more, at most 25.
* **Abnormal operations** still listed (经营异常, not yet removed): 10 off each, at most 20.
* **Open enforcement** (被执行人): the amounts enforced against the company relative to its
  registered capital (in CNY): 40 points times that share, at least 5 and at most 20; where either
  is unknown, 5 off per case, at most 15.
* **Lawsuits** (裁判文书): 2 off each, at most 10 (a large company is in court often, as plaintiff
  too).
* **Insolvency** proceedings (破产案件): the score is 0.

The score is kept between 0 and 100. Band: **A** 80 and above, **B** 65-79, **C** 50-64, **D**
30-49, **E** below 30 (letters, so that a band falling from A to C reads as a downgrade). Each
step that moved the score is written as a sentence (``Assessment.reasons``), which the clients keep
in the report's raw payload under ``hub_score``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hub import BureauEvent, LegalEventKind

START = 80.0
#: Statuses that end a company, and the highest score each leaves (the first match wins).
STATUS_CAPS: tuple[tuple[str, float, str], ...] = (
    ("吊销", 0.0, "business licence revoked"),  # before 注销: "吊销, 未注销" is revoked, not deregistered
    ("注销", 0.0, "deregistered"),
    ("撤销", 0.0, "registration cancelled"),
    ("责令关闭", 0.0, "ordered closed"),
    ("破产", 0.0, "bankrupt"),
    ("清算", 10.0, "in liquidation"),
    ("停业", 10.0, "suspended"),
    ("歇业", 10.0, "suspended"),
)
#: Statuses of a company in good standing.
ACTIVE = ("存续", "在业", "在营", "开业", "正常", "登记成立", "在册", "迁入", "迁出")

#: Points off per kind: (first listing, each further one, at most).
DEDUCTIONS: dict[LegalEventKind, tuple[float, float, float]] = {
    LegalEventKind.DISHONEST_DEBTOR: (30.0, 10.0, 50.0),
    LegalEventKind.CONSUMPTION_RESTRICTION: (15.0, 5.0, 25.0),
    LegalEventKind.ABNORMAL_OPERATION: (10.0, 10.0, 20.0),
    LegalEventKind.LAWSUIT: (2.0, 2.0, 10.0),
}
ENFORCEMENT_PER_CASE, ENFORCEMENT_CASES_MAX = 5.0, 15.0
ENFORCEMENT_SHARE_WEIGHT, ENFORCEMENT_MIN, ENFORCEMENT_MAX = 40.0, 5.0, 20.0
#: Band floors, best first.
BANDS: tuple[tuple[float, str], ...] = ((80.0, "A"), (65.0, "B"), (50.0, "C"), (30.0, "D"), (0.0, "E"))
WORDS = {
    LegalEventKind.DISHONEST_DEBTOR: "dishonest-debtor listing (失信被执行人)",
    LegalEventKind.CONSUMPTION_RESTRICTION: "consumption restriction (限制高消费)",
    LegalEventKind.ABNORMAL_OPERATION: "abnormal-operations listing (经营异常)",
    LegalEventKind.LAWSUIT: "lawsuit (裁判文书)",
    LegalEventKind.ENFORCEMENT: "enforcement case (被执行人)",
}
#: Beijing time: the bureaus' millisecond timestamps are midnights there (16:00 UTC the day before).
CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


@dataclass(frozen=True)
class Assessment:
    score: float
    band: str
    reasons: tuple[str, ...]

    def as_raw(self) -> dict[str, Any]:
        """What the report's raw payload keeps of it (``raw["hub_score"]``)."""
        return {"rule": "start 80, points off per listing (docs/bureau-connectors.md)", "reasons": list(self.reasons)}


def band_for(score: float) -> str:
    return next(band for floor, band in BANDS if score >= floor)


def _points(n: int, first: float, more: float, most: float) -> float:
    return 0.0 if n <= 0 else min(most, first + more * (n - 1))


def assess(
    status: str | None,
    events: Sequence[BureauEvent],
    *,
    registered_capital: tuple[Decimal, str] | None = None,
    counts: Mapping[LegalEventKind, int] | None = None,
) -> Assessment:
    """The score, band and reasons for a company with this ``status`` and these ``events``.

    ``counts`` gives the number of listings of a kind where the bureau reported more than the
    events read (a list read one page deep); otherwise the events are counted.
    """
    reasons: list[str] = []
    score = START
    total = {kind: sum(1 for e in events if e.kind == kind) for kind in LegalEventKind}
    for kind, n in (counts or {}).items():
        total[kind] = max(total[kind], n)
    for kind, (first, more, most) in DEDUCTIONS.items():
        off = _points(total[kind], first, more, most)
        if off:
            score -= off
            plural = "s" if total[kind] > 1 else ""
            reasons.append(f"{total[kind]} {WORDS[kind]}{plural}: -{off:g}")
    cases = total[LegalEventKind.ENFORCEMENT]
    if cases:
        enforced = [e.amount for e in events if e.kind == LegalEventKind.ENFORCEMENT and e.amount is not None]
        if registered_capital and registered_capital[1] == "CNY" and registered_capital[0] > 0 and enforced:
            owed = sum(enforced, Decimal(0))
            share = owed / registered_capital[0]
            off = min(ENFORCEMENT_MAX, max(ENFORCEMENT_MIN, float(share) * ENFORCEMENT_SHARE_WEIGHT))
            reasons.append(
                f"{cases} enforcement case{'s' if cases > 1 else ''} (被执行人) for {owed:,.2f} CNY, "
                f"{float(share):.0%} of the registered capital: -{off:g}"
            )
        else:
            off = min(ENFORCEMENT_CASES_MAX, ENFORCEMENT_PER_CASE * cases)
            reasons.append(
                f"{cases} enforcement case{'s' if cases > 1 else ''} (被执行人), amount or capital unknown: -{off:g}"
            )
        score -= off
    text = (status or "").strip()
    if total[LegalEventKind.INSOLVENCY]:
        score = 0.0
        reasons.append("insolvency proceedings (破产): score 0")
    for word, cap, meaning in STATUS_CAPS:
        if word in text:
            if score > cap:
                score = cap
            reasons.append(f"status {text} ({meaning}): at most {cap:g}")
            break
    else:
        if not text:
            reasons.append("no registration status reported: scored on the listings alone")
        elif not any(word in text for word in ACTIVE):
            reasons.append(f"status {text} is not one the rule knows: scored on the listings alone")
    score = max(0.0, min(100.0, score))
    if not reasons:
        reasons.append(f"status {text}, nothing listed against the company: {START:g}")
    return Assessment(score, band_for(score), tuple(reasons))


_CAPITAL = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(万|亿)?\s*(.*?)\s*$")
_CURRENCIES = {
    "": "CNY",
    "元": "CNY",
    "人民币": "CNY",
    "元人民币": "CNY",
    "万元": "CNY",
    "美元": "USD",
    "港元": "HKD",
    "港币": "HKD",
    "欧元": "EUR",
    "日元": "JPY",
    "英镑": "GBP",
}


def parse_capital(text: Any) -> tuple[Decimal, str] | None:
    """``"77800.32万人民币"`` -> ``(Decimal("778003200"), "CNY")``; None when it cannot be read."""
    if not isinstance(text, str):
        return None
    found = _CAPITAL.match(text)
    if found is None:
        return None
    try:
        value = Decimal(found[1].replace(",", ""))
    except InvalidOperation:
        return None
    unit = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}.get(found[2] or "", Decimal(1))
    currency = _CURRENCIES.get(found[3])
    if currency is None:
        return None
    return value * unit, currency


def parse_date(value: Any) -> dt.date | None:
    """A bureau's date: milliseconds since 1970 (Beijing time), ``2024-03-05`` or ``2024-03-05 00:00:00``;
    None for nothing. Raises ValueError for something else (a malformed payload)."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / 1000, tz=CHINA).date()
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and len(text) >= 10:
            return dt.datetime.fromtimestamp(int(text) / 1000, tz=CHINA).date()
        return dt.date.fromisoformat(text[:10].replace("/", "-"))
    raise ValueError(f"not a date: {value!r}")


def parse_amount(value: Any) -> Decimal | None:
    """An amount as the bureaus write it (``"1234567"``, ``"1,234.50"``, ``1234``; in yuan); None for nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        found = parse_capital(value)
        if found is None:
            raise ValueError(f"not an amount: {value!r}")
        return found[0]
    raise ValueError(f"not an amount: {value!r}")
