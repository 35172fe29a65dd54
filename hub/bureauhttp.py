"""The plumbing bureau clients that log in for a bearer token share: the public base
:class:`BearerBureauClient`.

A subclass states ``system`` (the bureau's name in messages), builds itself with :meth:`_connect`
and implements :meth:`~BearerBureauClient._fetch_token` (one login: the token and its lifetime in
seconds) and, to read the bureau's error bodies, :meth:`~BearerBureauClient._detail`. The base
then keeps the token, asks for a new one ``refresh_margin`` seconds before it expires and once
more when a call answers 401 (the token expired early); credentials the bureau refused
(:meth:`~BearerBureauClient._refuse`) are remembered, so that no later call reaches the bureau,
since repeated failed logins lock accounts. Every secret and token is registered with the log
redaction and stripped from the one-line messages the client raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import httpx

from hub.bureau import BureauAuthError, BureauClient, BureauError, BureauNotFound
from hub.errors import HttpError
from hub.http import RETRY_STATUSES, HttpClient, RetryPolicy, TokenBucket
from hub.log import register_secret

#: 4xx answers a bureau client reads itself (408, 425 and 429 stay with hub.http's retries).
BUREAU_CLIENT_ERRORS = frozenset(range(400, 500)) - RETRY_STATUSES


def http_reason(exc: HttpError) -> str:
    """Why a call failed for good, for a bureau client's message: the status and detail."""
    return f"HTTP {exc.status}: {exc.detail}" if exc.status is not None else f"no answer: {exc.detail}"


def body_text(response: httpx.Response) -> str:
    """The start of an error answer's body on one line, or its reason phrase when it is empty."""
    return response.text.strip().replace("\n", " ")[:300] or response.reason_phrase


class BearerBureauClient(BureauClient):
    """A bureau account reached with a bearer token (see the module docstring)."""

    system: str = "bureau"
    """The bureau's name at the start of every message (``Creditsafe``, ``D&B Direct+``)."""
    renewal: str = "a new token"
    """What the client got before a second 401 (``a new login``), for that error's message."""

    http: HttpClient

    def _connect(
        self,
        base_url: str,
        *,
        name: str,
        secrets: Iterable[str],
        timeout: float,
        requests_per_second: float | None,
        retries: int,
        refresh_margin: float,
        transport: httpx.BaseTransport | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        """Set up the account: its secrets, the HTTP client and an empty token cache."""
        self.name = name
        self.paid_calls = 0
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._secrets: set[str] = set()
        for secret in secrets:
            self._add_secret(secret)
        self.http = HttpClient(
            base_url,
            name=name,
            timeout=timeout,
            headers={"Accept": "application/json"},
            rate=TokenBucket(requests_per_second, burst=1, sleep=sleep) if requests_per_second else None,
            retry=RetryPolicy(attempts=retries),
            transport=transport,
            sleep=sleep,
        )
        self._token: str | None = None
        self._expires = 0.0
        self._refused: BureauAuthError | None = None

    # -- messages -----------------------------------------------------------------------------------

    def _add_secret(self, secret: str) -> None:
        register_secret(secret)
        self._secrets.add(secret)

    def _message(self, call: str, reason: str) -> str:
        """One line naming the bureau, the connector and the call, with no secret or token in it."""
        message = f"{self.system} (connector {self.name}): {call}: {reason}".replace("\n", " ")
        for secret in sorted(self._secrets, key=len, reverse=True):
            message = message.replace(secret, "***")
        return message

    def _error(self, call: str, reason: str, *, retryable: bool | None = None) -> BureauError:
        exc = BureauError(self._message(call, reason))
        if retryable is not None:
            exc.retryable = retryable
        return exc

    def _failed(self, call: str, exc: HttpError) -> BureauError:
        """The error for a call :class:`hub.HttpClient` gave up on."""
        return self._error(call, http_reason(exc), retryable=exc.retryable)

    def _detail(self, response: httpx.Response) -> str:
        """What an error answer says; a subclass reads its bureau's error body."""
        return body_text(response)

    def _json(self, call: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._error(call, f"the answer (HTTP {response.status_code}) is not JSON", retryable=False) from None

    # -- the token ----------------------------------------------------------------------------------

    def _refuse(self, call: str, reason: str) -> NoReturn:
        """The bureau refused the credentials: raise, now and on every later call."""
        self._refused = BureauAuthError(self._message(call, reason))
        raise self._refused

    def _token_in(self, call: str, body: Any, key: str) -> str:
        """The token under ``key`` of a login answer."""
        token = body.get(key) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise self._error(call, f"malformed answer: '{key}' is missing", retryable=False)
        return token

    def _fetch_token(self) -> tuple[str, float]:
        """Log in once: the token and its lifetime in seconds."""
        raise NotImplementedError

    def _login(self) -> str:
        if self._refused is not None:
            raise self._refused
        if self._token is not None and self._clock() < self._expires - self._refresh_margin:
            return self._token
        self._token = None
        token, lifetime = self._fetch_token()
        self._add_secret(token)
        self._token, self._expires = token, self._clock() + lifetime
        return token

    def _send_bearer(
        self,
        call: str,
        request: Callable[[dict[str, str]], httpx.Response],
        *,
        paid: bool = False,
        accept: Sequence[int] = (),
    ) -> httpx.Response:
        """``request(headers)`` with the token, once more with a new one after a 401. Counts a paid
        call when the bureau answered (found or not) and raises for an error status not in ``accept``."""
        refreshed = False
        while True:
            token = self._login()
            try:
                response = request({"Authorization": f"Bearer {token}"})
            except HttpError as exc:
                raise self._failed(call, exc) from None
            if response.status_code == 401 and not refreshed:
                self._token, refreshed = None, True  # the token expired early: log in once more
                continue
            break
        status = response.status_code
        if paid and (status < 400 or status == 404):  # answered, found or not: a call the account pays for
            self.paid_calls += 1
        if status < 400 or status in accept:
            return response
        if status == 401:
            raise BureauAuthError(self._message(call, f"HTTP 401 right after {self.renewal}: {self._detail(response)}"))
        if status == 404:
            raise BureauNotFound(self._message(call, f"HTTP 404: {self._detail(response)}"))
        raise self._error(call, f"HTTP {status}: {self._detail(response)}", retryable=False)
