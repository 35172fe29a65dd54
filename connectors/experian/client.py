"""The Experian Business Information client: OAuth2 token, business search, Intelliscore Plus.

**Auth**: ``POST /oauth2/v1/token`` with headers ``client_id`` and ``client_secret`` and body
``{"username", "password"}`` gives ``{"access_token", "expires_in"}`` (seconds, as text: 1800).
The client asks for a new token ``token_refresh_margin`` seconds before it expires, and once more
when a call answers 401 mid-run; a second 401 right after a new token is an error. A 400, 401 or
403 *at the token endpoint* means the credentials are wrong: :class:`~hub.BureauAuthError`, and
every further call is refused without asking again (repeated failed logins lock the user).

**Search**: ``POST /businessinformation/businesses/v1/search`` with the name, city, state, tax id
(digits of the registration or VAT number) and ``geo: true``: one paid call; customers in a country
the account does not cover (``countries``, US by default) are not searched. **Report**:
``POST /businessinformation/businesses/v1/scores`` for the BIN with the Intelliscore Plus model,
its score factors included (a paid call).

Errors come as ``{"success": false, "errors": [{"errorType", "message"}]}``, with an HTTP error
status or inside an HTTP 200; 429, 5xx and timeouts are retried by :class:`hub.HttpClient`. What is
left is one line naming Experian, the connector, the call and the reason, with no secret in it.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from hub import (
    BUREAU_CLIENT_ERRORS,
    BearerBureauClient,
    BureauCompany,
    BureauNotFound,
    BureauQuery,
    BureauReport,
    HttpError,
    PayloadError,
    body_text,
)

from . import normalise
from .config import ExperianConfig

SEARCH = "/businessinformation/businesses/v1/search"
SCORES = "/businessinformation/businesses/v1/scores"


def _errors(body: Any) -> str | None:
    """Experian's ``errors[]`` as one line (``errorType: message; ...``), or None when there are none."""
    found = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(found, list) or not found:
        return None
    parts = []
    for e in found:
        if isinstance(e, dict):
            kind, message = e.get("errorType") or e.get("errorCode") or "", e.get("message") or ""
            parts.append(f"{kind}: {message}".strip(": "))
    return "; ".join(p for p in parts if p)[:300] or "unspecified error"


class ExperianClient(BearerBureauClient):
    """One Experian Business Information account (see the module docstring)."""

    system = "Experian"

    def __init__(
        self,
        config: ExperianConfig,
        *,
        name: str = "experian",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.config = config
        self._today = today
        self._connect(
            config.base_url.rstrip("/"),
            name=name,
            secrets=[config.client_secret, config.password],
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
        try:
            body = response.json()
        except ValueError:
            body = None
        return _errors(body) or body_text(response)

    def _fetch_token(self) -> tuple[str, float]:
        call = "token"
        try:
            response = self.http.post(
                self.config.token_path,
                json={"username": self.config.username, "password": self.config.password},
                headers={
                    "client_id": self.config.client_id,
                    "client_secret": self.config.client_secret,
                    "Content-Type": "application/json",
                },
                ok=BUREAU_CLIENT_ERRORS,
            )
        except HttpError as exc:
            raise self._failed(call, exc) from None
        status = response.status_code
        if status in (400, 401, 403):
            self._refuse(
                call,
                f"HTTP {status}: {self._detail(response)}; the client id, secret, username or password was "
                "refused; not retried, since repeated failed logins lock the user: correct the credentials",
            )
        if status >= 400:
            raise self._error(call, f"HTTP {status}: {self._detail(response)}", retryable=False)
        body = self._json(call, response)
        token = self._token_in(call, body, "access_token")
        lifetime = str(body.get("expires_in", ""))
        return token, float(lifetime) if lifetime.isdigit() else 1800.0

    def _send(self, call: str, url: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` (a paid call) and return the answer's JSON object once it says ``success``."""
        response = self._send_bearer(
            call,
            lambda headers: self.http.post(url, json=payload, headers=headers, ok=BUREAU_CLIENT_ERRORS),
            paid=True,
        )
        body = self._json(call, response)
        if not isinstance(body, dict):
            raise self._error(call, "malformed answer: not a JSON object", retryable=False)
        problem = _errors(body)
        if body.get("success") is False or problem:
            reason = problem or "success is false without errors"
            if "not found" in reason.lower():
                raise BureauNotFound(self._message(call, reason))
            raise self._error(call, reason, retryable=False)
        return body

    # -- the bureau ---------------------------------------------------------------------------------

    def search(self, query: BureauQuery) -> Sequence[BureauCompany]:
        call = f"search {query.customer_id}"
        covered = {c.upper() for c in self.config.countries}
        if query.country and query.country.upper() not in covered:
            return []
        payload: dict[str, Any] = {"name": query.name}
        if query.city:
            payload["city"] = query.city
        tax_id = next((re.sub(r"\D", "", n) for n in (query.registration_number, query.vat_number) if n), "")
        if tax_id:
            payload["taxId"] = tax_id
        payload.update(subcode=self.config.subcode, geo=True)
        try:
            body = self._send(call, SEARCH, payload)
        except BureauNotFound:
            return []
        results = body.get("results") or []
        try:
            if not isinstance(results, list):
                raise PayloadError("'results' is not a list")
            return [normalise.company(self.name, item) for item in results]
        except PayloadError as exc:
            raise self._error(call, f"malformed answer: {exc}", retryable=False) from None

    def report(self, company_id: str) -> BureauReport:
        call = f"report {company_id}"
        body = self._send(
            call,
            SCORES,
            {
                "bin": company_id,
                "subcode": self.config.subcode,
                "commercialScore": True,
                "fsrScore": False,
                "modelCode": self.config.model_code,
                "commercialScoreFactors": True,
                "commercialScoreTrends": False,
            },
        )
        try:
            return normalise.report(self.name, company_id, body, self._today(), self.config.currency)
        except PayloadError as exc:
            raise self._error(call, f"malformed answer: {exc}", retryable=False) from None

    def close(self) -> None:
        self.http.close()
