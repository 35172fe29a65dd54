"""The D&B Direct+ client: OAuth2 client credentials, cleanseMatch search, data blocks by DUNS.

**Auth**: ``POST /v2/token`` with ``Authorization: Basic base64(key:secret)`` and
``{"grant_type": "client_credentials"}`` gives ``{"access_token", "expiresIn"}`` (seconds; a day).
The client asks for a new token ``token_refresh_margin`` seconds before it expires, and once more
when a call answers 401 mid-run; a second 401 right after a new token means the contract does not
cover the product (D&B error 00004). A 401 or 403 *at the token endpoint* means the key or secret
is wrong: :class:`~hub.BureauAuthError`, and every further call is refused without asking again.

**Search** (Identity Resolution): ``GET /v1/match/cleanseMatch`` by ``duns`` first, then
``registrationNumber`` (the registration number, then the VAT or tax id), then ``name`` with
``countryISOAlpha2Code``; each a paid call, only while nothing matched (a 404 "no match" is an
empty answer). **Report**: ``GET /v1/data/duns/{duns}?blockIDs=...`` (a paid call).

429 on contract limits (with ``Retry-After``), 5xx and timeouts are retried by
:class:`hub.HttpClient`; what is left is one line naming D&B, the connector, the call and the
reason (D&B's ``errorCode`` and ``errorMessage``), with no key, secret or token.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Callable, Sequence
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
    PayloadError,
    body_text,
    payload_object,
)

from . import normalise
from .config import DnbConfig


class DnbClient(BearerBureauClient):
    """One D&B Direct+ account (see the module docstring)."""

    system = "D&B Direct+"

    def __init__(
        self,
        config: DnbConfig,
        *,
        name: str = "dnb",
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.config = config
        self._today = today
        basic = base64.b64encode(f"{config.client_key}:{config.client_secret}".encode()).decode()
        self._basic = f"Basic {basic}"
        self._connect(
            config.base_url.rstrip("/"),
            name=name,
            secrets=[config.client_secret, basic],
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
        """D&B's ``error.errorCode`` and ``error.errorMessage``, or the start of the body."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and (error.get("errorCode") or error.get("errorMessage")):
            return " ".join(str(error[k]) for k in ("errorCode", "errorMessage") if error.get(k))[:300]
        return body_text(response)

    def _fetch_token(self) -> tuple[str, float]:
        call = "token"
        try:
            response = self.http.post(
                self.config.token_path,
                json={"grant_type": "client_credentials"},
                headers={"Authorization": self._basic, "Content-Type": "application/json"},
                ok=BUREAU_CLIENT_ERRORS,
            )
        except HttpError as exc:
            raise self._failed(call, exc) from None
        status = response.status_code
        if status in (400, 401, 403):
            self._refuse(
                call,
                f"HTTP {status}: the API key or secret was refused ({self._detail(response)}); "
                "not retried: correct the credentials",
            )
        if status >= 400:
            raise self._error(call, f"HTTP {status}: {self._detail(response)}", retryable=False)
        body = self._json(call, response)
        token = self._token_in(call, body, "access_token")
        lifetime = body.get("expiresIn", body.get("expires_in"))
        seconds = float(lifetime) if isinstance(lifetime, (int, float, str)) and str(lifetime).isdigit() else 3600.0
        return token, seconds

    def _send(self, call: str, method: str, url: str, *, paid: bool = False, **kwargs: Any) -> httpx.Response:
        return self._send_bearer(
            call,
            lambda headers: self.http.request(method, url, headers=headers, ok=BUREAU_CLIENT_ERRORS, **kwargs),
            paid=paid,
        )

    # -- the bureau ---------------------------------------------------------------------------------

    def search(self, query: BureauQuery) -> Sequence[BureauCompany]:
        call = f"search {query.customer_id}"
        country = (query.country or self.config.default_country or "").upper() or None
        asks: list[dict[str, Any]] = []
        if query.duns:
            asks.append({"duns": query.duns})
        if country:
            for number in (query.registration_number, query.vat_number):
                if number:
                    asks.append({"registrationNumber": number})
            if query.name:
                asks.append({"name": query.name})
        elif not asks:
            raise self._error(
                call, "no country to match in: the customer has none and default_country is not set", retryable=False
            )
        for ask in asks:
            params: dict[str, Any] = {"countryISOAlpha2Code": country} if country else {}
            params.update(ask)
            params["candidateMaximumQuantity"] = self.config.candidate_maximum
            if self.config.confidence_lower_level is not None:
                params["confidenceLowerLevelThresholdValue"] = self.config.confidence_lower_level
            try:
                response = self._send(call, "GET", "/v1/match/cleanseMatch", params=params, paid=True)
            except BureauNotFound:
                continue
            body = self._json(call, response)
            try:
                candidates = payload_object(body, "body", required=True).get("matchCandidates") or []
                if not isinstance(candidates, list):
                    raise PayloadError("'matchCandidates' is not a list")
                found = [normalise.company(self.name, c) for c in candidates]
            except PayloadError as exc:
                raise self._error(call, f"malformed answer: {exc}", retryable=False) from None
            if found:
                return found
        return []

    def report(self, company_id: str) -> BureauReport:
        call = f"report {company_id}"
        response = self._send(
            call,
            "GET",
            f"/v1/data/duns/{quote(company_id, safe='')}",
            params={"blockIDs": ",".join(self.config.block_ids)},
            paid=True,
        )
        body = self._json(call, response)
        try:
            return normalise.report(self.name, body, self._today())
        except PayloadError as exc:
            raise self._error(call, f"malformed answer: {exc}", retryable=False) from None

    def close(self) -> None:
        self.http.close()
