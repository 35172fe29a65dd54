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
