"""The Creditsafe Connect client: login, company search, credit reports, portfolio monitoring.

**Auth**: ``POST /authenticate {"username", "password"}`` gives a JWT valid for one hour, sent as
``Authorization: Bearer``. The client logs in again ``token_refresh_margin`` seconds before the hour
is up, and once more when a call answers 401 mid-run (the token expired early); a second 401 right
after a new login is an error. A 401 or 403 *at login* means the credentials are wrong: the client
raises :class:`~hub.BureauAuthError` and refuses every further call without asking Creditsafe again,
because repeated failed logins lock the account (Creditsafe answers 429, then locks it for five
minutes; a 429 at login is therefore never retried either).

**Search**: ``GET /companies?countries=<cc>&regNo=`` first, then ``vatNo=``, then ``name=`` (each a
paid call, only while nothing was found). **Report**: ``GET /companies/{connectId}`` (a paid call).
**Monitoring**: ``POST /monitoring/portfolios/{portfolio_id}/companies`` per company (a 409, already
in the portfolio, is fine) and ``GET /monitoring/notificationEvents`` page by page.

429 (with ``Retry-After``), 5xx and timeouts are retried by :class:`hub.HttpClient`; what is left is
one line naming Creditsafe, the connector, the call and the reason, with no password or token.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from hub import (
    BUREAU_CLIENT_ERRORS,
    BearerBureauClient,
    BureauCompany,
    BureauNotFound,
    BureauQuery,
    BureauReport,
    HttpError,
    MonitoringEvent,
    PayloadError,
    body_text,
    payload_object,
)

from . import normalise
from .config import CreditsafeConfig


class CreditsafeClient(BearerBureauClient):
    """One Creditsafe Connect account (see the module docstring)."""

    system = "Creditsafe"
    renewal = "a new login"

    def __init__(
        self,
        config: CreditsafeConfig,
        *,
        name: str = "creditsafe",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.config = config
        self._today = today
        self._connect(
            config.base_url.rstrip("/") + "/",
            name=name,
            secrets=[config.password],
            timeout=config.timeout,
            requests_per_second=config.requests_per_second,
            retries=config.retries,
            refresh_margin=config.token_refresh_margin,
            transport=transport,
            sleep=sleep,
            clock=clock,
        )

    # -- plumbing -----------------------------------------------------------------------------------

    def _detail(self, response: httpx.Response) -> str:
        """What an error answer says: ``message`` and ``details`` of Creditsafe's error body."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and (body.get("message") or body.get("details")):
            parts = [str(body[k]) for k in ("message", "details") if body.get(k)]
            return " - ".join(parts)[:300]
        return body_text(response)

    def _fetch_token(self) -> tuple[str, float]:
        call = "authenticate"
        try:
            response = self.http.post(
                "authenticate",
                json={"username": self.config.username, "password": self.config.password},
                ok=BUREAU_CLIENT_ERRORS | {429},
            )
        except HttpError as exc:
            raise self._failed(call, exc) from None
        status = response.status_code
        if status in (401, 403):
            self._refuse(
                call,
                f"HTTP {status}: the username or password was refused ({self._detail(response)}); not retried, "
                "since repeated failed logins lock the account: correct the credentials",
            )
        if status == 429:
            self._refuse(
                call,
                "HTTP 429: too many login attempts; Creditsafe locks the account for 5 minutes after repeated "
                "failed logins, so the client does not try again in this run",
            )
        if status >= 400:
            raise self._error(call, f"HTTP {status}: {self._detail(response)}", retryable=False)
        return self._token_in(call, self._json(call, response), "token"), self.config.token_lifetime

    def _send(
        self, call: str, method: str, url: str, *, paid: bool = False, accept: Sequence[int] = (), **kwargs: Any
    ) -> httpx.Response:
        return self._send_bearer(
            call,
            lambda headers: self.http.request(method, url, headers=headers, ok=BUREAU_CLIENT_ERRORS, **kwargs),
            paid=paid,
            accept=accept,
        )

    def _body(self, call: str, response: httpx.Response) -> dict[str, Any]:
        body = self._json(call, response)
        if not isinstance(body, dict):
            raise self._error(call, "malformed answer: not a JSON object", retryable=False)
        return body

    # -- the bureau ---------------------------------------------------------------------------------

    def search(self, query: BureauQuery) -> Sequence[BureauCompany]:
        call = f"search {query.customer_id}"
        country = query.country or self.config.default_country
        if not country:
            raise self._error(
                call, "no country to search in: the customer has none and default_country is not set", retryable=False
            )
        for key, value in (("regNo", query.registration_number), ("vatNo", query.vat_number), ("name", query.name)):
            if not value:
                continue
            params = {"countries": country.upper(), key: value, "page": 1, "pageSize": self.config.search_page_size}
            try:
                response = self._send(call, "GET", "companies", params=params, paid=True)
            except BureauNotFound:
                continue
            body = self._body(call, response)
            items = body.get("companies") or []
            try:
                if not isinstance(items, list):
                    raise PayloadError("'companies' is not a list")
                found = [normalise.company(self.name, item) for item in items]
            except PayloadError as exc:
                raise self._error(call, f"malformed answer: {exc}", retryable=False) from None
            if found:
                return found
        return []

    def report(self, company_id: str) -> BureauReport:
        call = f"report {company_id}"
        response = self._send(call, "GET", f"companies/{quote(company_id, safe='')}", paid=True)
        body = self._json(call, response)
        try:
            return normalise.report(self.name, body, self._today())
        except PayloadError as exc:
            raise self._error(call, f"malformed answer: {exc}", retryable=False) from None

    def register_monitoring(self, company_ids: Iterable[str]) -> None:
        call = "register monitoring"
        portfolio = self.config.portfolio_id
        if not portfolio:
            raise self._error(call, "no portfolio_id is configured to add companies to", retryable=False)
        for company_id in company_ids:
            self._send(
                f"{call} {company_id}",
                "POST",
                f"monitoring/portfolios/{quote(portfolio, safe='')}/companies",
                json={"id": company_id, "personalReference": "", "freeText": "", "personalLimit": ""},
                accept=(409,),  # already in the portfolio
            )

    def monitoring_events(self, cursor: str | None) -> Iterator[tuple[list[MonitoringEvent], str | None]]:
        """Notification events from ``startDate`` on, page by page (``page`` from 0).

        The cursor is JSON: ``start`` (the date to ask from), ``page`` (the next page of that walk)
        and ``skip`` (events of the start date already seen); a finished walk starts the next one
        from the latest event date it saw, skipping the events of that date it already returned.
        """
        call = "monitoring events"
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        start: str | None = state.get("start", self.config.monitoring_start)
        page = int(state.get("page", 0))
        skip = set(state.get("skip", []))
        latest: str | None = state.get("latest")
        at_latest = set(state.get("at_latest", []))
        size = self.config.monitoring_page_size
        while True:
            params: dict[str, Any] = {"page": page, "pageSize": size, "sortBy": "eventDate", "sortDir": "asc"}
            if start:
                params["startDate"] = start
            body = self._body(call, self._send(call, "GET", "monitoring/notificationEvents", params=params))
            data = body.get("data") or []
            try:
                if not isinstance(data, list):
                    raise PayloadError("'data' is not a list")
                events = [normalise.notification(self.name, item) for item in data]
            except PayloadError as exc:
                raise self._error(call, f"malformed answer: {exc}", retryable=False) from None
            for event in events:
                day = event.date.isoformat() if event.date else None
                if day is not None and (latest is None or day > latest):
                    latest, at_latest = day, set()
                if day is not None and day == latest:
                    at_latest.add(event.event_id)
            fresh = [e for e in events if e.event_id not in skip]
            paging = payload_object(body.get("paging"), "paging") if isinstance(body.get("paging"), dict) else {}
            if data and "next" in paging:
                more = paging["next"] is not None
            else:
                more = bool(data) and (page + 1) * size < int(body.get("totalCount") or 0)
            if more:
                after = {"start": start, "page": page + 1, "skip": sorted(skip), "latest": latest}
                after["at_latest"] = sorted(at_latest)
            else:
                after = {"start": latest or start, "page": 0, "skip": sorted(at_latest if latest else skip)}
            yield fresh, json.dumps(after, sort_keys=True)
            if not more:
                return
            page += 1

    def close(self) -> None:
        self.http.close()
