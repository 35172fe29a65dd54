"""What a credit bureau is to the hub: the public API bureau connectors build on.

A bureau (Creditsafe, D&B Direct+, Experian, Tianyancha, Qichacha, a bureau's batch file) answers
three questions, each a paid call or a file read:

* :meth:`BureauClient.search`: which of its companies is this customer? By registration number,
  VAT or tax id, USCC (统一社会信用代码), DUNS first, by name and country only where there is no id.
  The answer is a list of :class:`BureauCompany` candidates; the hub links a customer to one only
  when the identity rules make it certain, and proposes the rest for a person to accept.
* :meth:`BureauClient.report`: the bureau's current view of one company, normalised into a
  :class:`BureauReport` (score 0-100 where higher is safer, band, recommended limit, events) with
  the raw payload kept for audit.
* :meth:`BureauClient.monitoring_events`: what the bureau's portfolio monitoring noticed since a
  cursor (a rating change, a new court case), so that only those customers are refreshed.

Each client states ``name`` (the bureau key used in config, the store and reports) and counts
what it was charged for in :attr:`BureauClient.paid_calls` (search and report calls usually cost
money; token and monitoring calls usually do not). A client never decides whom to ask about: the
hub's bureau service chooses the customers (exposure above a threshold, a monitoring event, a
report older than the bureau's TTL, a new customer to screen) and stops at the monthly budget.

Errors a client raises are :class:`~hub.errors.SourceError` subclasses (an ``HttpError`` from
:class:`hub.http.HttpClient`, or :class:`BureauError`), with a message naming the bureau, the call
and what went wrong, and never a secret.
"""

from __future__ import annotations

import abc
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hub.codes import LegalEventKind
from hub.errors import SourceError


class BureauError(SourceError):
    """A bureau answered, but not with what was asked: an error inside an HTTP 200 envelope, a
    payload without the fields its documentation promises, an account locked after a failed login."""


class BureauAuthError(BureauError):
    """The bureau refused the credentials. Never retried: repeated bad logins lock the account."""

    retryable = False


class BureauNotFound(BureauError):
    """The bureau has no company (or no report) for what was asked."""

    retryable = False


class PayloadError(ValueError):
    """A bureau's payload lacks what its documentation promises; the message names the path. A
    client turns it into a :class:`BureauError` naming the call, and returns nothing half-built."""


# Reading a bureau's JSON payload: every client reads optional objects, texts, numbers written as
# digits or as numbers, bounded whole numbers and ISO dates the same way.


def payload_object(value: Any, path: str, *, required: bool = False) -> dict[str, Any]:
    """``value`` as an object; ``{}`` when absent (unless required); PayloadError when it is something else."""
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"'{path}' is missing" if value is None else f"'{path}' is not an object")
    return value


def payload_text(value: Any) -> str | None:
    """A text stripped of spaces; None when absent or empty."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def payload_number(value: Any) -> Decimal | None:
    """A number written as a number or as digits ("50000", "50,000.00"); None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    cleaned = str(value).strip().replace(",", "")
    return Decimal(cleaned) if _NUMBER.fullmatch(cleaned) else None


def payload_whole(value: Any, path: str, low: int, high: int) -> int | None:
    """An integer in ``low..high``; None when absent; PayloadError when it is something else."""
    if value is None or value == "":
        return None
    parsed = payload_number(value)
    if parsed is None or parsed != parsed.to_integral_value() or not low <= parsed <= high:
        raise PayloadError(f"'{path}' is {value!r}, not a whole number from {low} to {high}")
    return int(parsed)


def payload_date(value: Any) -> dt.date | None:
    """The date an ISO date or timestamp starts with; None when absent or not a date."""
    raw = payload_text(value)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class BureauQuery:
    """What the hub knows of a customer to find it at a bureau: ids first, then name and country."""

    customer_id: str
    name: str
    country: str | None = None
    registration_number: str | None = None
    vat_number: str | None = None
    uscc: str | None = None
    """统一社会信用代码, the 18-character unified social credit code of a Chinese company."""
    duns: str | None = None
    city: str | None = None


@dataclass(frozen=True)
class BureauCompany:
    """One company a bureau's search returned."""

    bureau: str
    company_id: str
    """The bureau's id: Creditsafe connectId, DUNS, Experian BIN, Tianyancha id, Qichacha KeyNo."""
    name: str
    country: str | None = None
    registration_number: str | None = None
    vat_number: str | None = None
    uscc: str | None = None
    duns: str | None = None
    address: str | None = None
    status: str | None = None
    """Active, dissolved, 存续, 注销 ... as the bureau writes it."""


@dataclass(frozen=True)
class BureauEvent:
    """A legal or negative event a bureau reports: insolvency, a lawsuit, a listing as a dishonest
    debtor (失信被执行人), a consumption restriction (限制高消费), abnormal operations (经营异常)."""

    kind: LegalEventKind
    date: dt.date | None
    description: str
    court: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    case_number: str | None = None
    event_id: str | None = None
    """The bureau's id of the event, where it has one (so that the same event is never counted twice)."""


@dataclass(frozen=True)
class BureauReport:
    """A bureau's view of one company, normalised.

    ``score`` is 0-100, higher is safer, mapped from the bureau's own scale as its documentation
    defines it (each client documents its mapping); ``None`` where the bureau does not rate the
    company ("Not Rated"). ``raw_score`` keeps the bureau's own value as it wrote it, and ``raw``
    the whole payload, for audit.
    """

    bureau: str
    company_id: str
    report_date: dt.date
    score: float | None
    raw_score: str | None
    band: str | None
    """The bureau's own band or class as it writes it: Creditsafe A-E, D&B failure class 1-5,
    Experian risk class, a Chinese bureau's rating."""
    recommended_limit: Decimal | None = None
    recommended_limit_currency: str | None = None
    limit_note: str | None = None
    """A limit the bureau gave as a sentence instead of a number ("Cash transactions only")."""
    events: tuple[BureauEvent, ...] = ()
    previous_score: float | None = None
    """The bureau's previous rating, where the report carries one."""
    company_name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitoringEvent:
    """Something a bureau's portfolio monitoring noticed about a company."""

    bureau: str
    company_id: str
    event_id: str
    date: dt.date | None
    kind: str
    description: str


class BureauClient(abc.ABC):
    """One bureau account. Built by a bureau connector from its config (credentials as secret
    references); tests pass a ``transport`` (respx or ``httpx.MockTransport``)."""

    name: str = "bureau"
    paid_calls: int = 0
    """Calls this client made that the bureau charges for (searches, reports), since it was built."""

    @abc.abstractmethod
    def search(self, query: BureauQuery) -> Sequence[BureauCompany]:
        """Candidates for the customer, best first; empty when the bureau has none."""

    @abc.abstractmethod
    def report(self, company_id: str) -> BureauReport:
        """The current report on one company. Raises :class:`BureauNotFound` if there is none."""

    def register_monitoring(self, company_ids: Iterable[str]) -> None:  # noqa: B027 - optional
        """Add companies to the account's monitoring portfolio (bureaus that offer one)."""

    def monitoring_events(self, cursor: str | None) -> Iterator[tuple[list[MonitoringEvent], str | None]]:
        """Pages of monitoring events after ``cursor``, each with the cursor valid after it.
        Bureaus without monitoring yield nothing."""
        return iter(())

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""
