"""The one HTTP layer every connector uses: timeouts, retries, rate limits, no secrets in logs.

- Retries with jittered exponential backoff on transport errors and on 429/5xx (tenacity),
  honouring ``Retry-After`` in seconds or as an HTTP date, capped so a bad header cannot stall a sync.
- A proactive call budget (:class:`TokenBucket`) keeps a sync under a vendor's published limit
  instead of bouncing off 429s.
- Every request is logged with method, host, path, status, attempt and time; query strings and
  headers are not logged, and registered secrets are redacted by the logging processor anyway.
- Errors the caller should see are :class:`~hub.errors.HttpError` (a :class:`~hub.errors.SourceError`,
  ``retryable`` by status) naming the method, the URL without its query, the status and the start
  of the body.

``transport`` is the test seam: pass ``httpx.MockTransport`` or use respx.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from hub.errors import RETRYABLE_STATUSES, HttpError
from hub.log import REDACTED, get_logger, register_secret

log = get_logger(__name__)

RETRY_STATUSES = RETRYABLE_STATUSES


#: Failures of the exchange itself, worth another try: no answer, a reset or cut connection, a
#: timeout (transport errors), and a body that arrived garbled (a compressed answer cut short:
#: httpx raises DecodingError, which is not a TransportError, while it reads the body).
_TRANSIENT = (httpx.TransportError, httpx.DecodingError)


class _RetryableResponse(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class TokenBucket:
    """At most ``rate`` calls per second on average, with bursts of up to ``burst`` calls.

    ``acquire`` blocks until a token is free. Thread-safe; ``clock`` and ``sleep`` are injectable
    so tests do not wait.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    @classmethod
    def per_window(cls, calls: int, seconds: float, **kw: Any) -> TokenBucket:
        """E.g. HubSpot's 100 requests per 10 seconds: ``TokenBucket.per_window(100, 10)``."""
        return cls(calls / seconds, burst=calls, **kw)

    def acquire(self) -> float:
        """Take a token, waiting if needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return waited
                delay = (1 - self._tokens) / self.rate
            self._sleep(delay)
            waited += delay


def retry_after_seconds(response: httpx.Response, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)  # RFC 9110 says whole seconds; some servers send "1.5"
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" (or no zone): the date is in UTC, not in this machine's local time
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class RetryPolicy:
    attempts: int = 5
    backoff: float = 0.5
    """First wait in seconds; doubles per attempt, with full jitter."""
    max_wait: float = 60.0
    """No single wait is longer, whatever ``Retry-After`` says."""
    statuses: frozenset[int] = RETRY_STATUSES
    jitter: Callable[[float, float], float] = field(default=random.uniform)

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _RetryableResponse):
            hinted = retry_after_seconds(exc.response)
            if hinted is not None:
                return min(hinted, self.max_wait)
        ceiling = min(self.max_wait, self.backoff * 2 ** (state.attempt_number - 1))
        return self.jitter(ceiling / 2, ceiling)


class HttpClient:
    """A connector's HTTP client. One per connector instance; close it with the connector."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str = "http",
        timeout: float = 30.0,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | None = None,
        rate: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.rate = rate
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.client = httpx.Client(
            base_url=base_url, timeout=timeout, headers=headers, auth=auth, transport=transport, follow_redirects=False
        )

    def request(self, method: str, url: str, *, ok: Iterable[int] = (), **kwargs: Any) -> httpx.Response:
        """Send with retries. Returns 2xx responses and those whose status is in ``ok``; raises HttpError otherwise."""
        accepted = set(ok)
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self.retry.wait,
            retry=retry_if_exception_type((_RetryableResponse, *_TRANSIENT)),
            sleep=self._sleep,
            reraise=True,
        )
        request_url = self.client.base_url.join(url)
        try:
            for attempt in retrying:
                with attempt:
                    response = self._send(method, url, attempt.retry_state.attempt_number, **kwargs)
                    if response.status_code in self.retry.statuses and response.status_code not in accepted:
                        raise _RetryableResponse(response)
        except _RetryableResponse as exc:
            failed = HttpError(
                method,
                request_url,
                exc.response.status_code,
                f"still failing after {self.retry.attempts} attempts: {_excerpt(exc.response)}",
            )
            failed.retry_after = retry_after_seconds(exc.response)  # for a queued job's next try
            raise failed from None
        except _TRANSIENT as exc:
            raise HttpError(
                method, request_url, None, f"{type(exc).__name__} after {self.retry.attempts} attempts"
            ) from None
        if response.is_success or response.status_code in accepted:
            return response
        raise HttpError(method, request_url, response.status_code, _excerpt(response))

    def _send(self, method: str, url: str, attempt: int, **kwargs: Any) -> httpx.Response:
        waited = self.rate.acquire() if self.rate is not None else 0.0
        started = time.perf_counter()
        request = self.client.build_request(method, url, **kwargs)
        # Tokens obtained at run time (OAuth) are secrets too: no log line or error shows them.
        for secret in credential_values(request.headers):
            register_secret(secret)
        try:
            response = self.client.send(request)
        except _TRANSIENT as exc:
            log.warning(
                "http.error",
                connector=self.name,
                method=method,
                path=_path(self.client, url),
                attempt=attempt,
                error=type(exc).__name__,
            )
            raise
        log.debug(
            "http.request",
            connector=self.name,
            method=method,
            path=_path(self.client, url),
            status=response.status_code,
            attempt=attempt,
            seconds=round(time.perf_counter() - started, 3),
            rate_wait=round(waited, 3),
        )
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def close(self) -> None:
        self.client.close()


def _path(client: httpx.Client, url: str) -> str:
    full = client.base_url.join(url)
    return f"{full.host}{full.path}"


#: Request headers whose values are credentials, whatever the connector calls its secret.
_SENSITIVE = re.compile(r"authorization|cookie|token|secret|api[-_]?key|password|signature", re.IGNORECASE)


def credential_values(headers: httpx.Headers) -> list[str]:
    """The credentials a request carries in its headers: whole values and their token part
    (``Bearer abc`` -> ``abc``), longest first."""
    found: set[str] = set()
    for name, value in headers.items():
        if _SENSITIVE.search(name) and value:
            found.add(value)
            found.update(part for part in value.split() if len(part) >= 8)
    return sorted(found, key=len, reverse=True)


def _excerpt(response: httpx.Response, limit: int = 300) -> str:
    """The start of a response body for an error message, without the credentials the request
    carried (some servers echo the Authorization header back in their error body)."""
    text = response.text.strip().replace("\n", " ")
    try:
        secrets = credential_values(response.request.headers)
    except RuntimeError:  # a response built without its request (tests)
        secrets = []
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text[:limit] + ("..." if len(text) > limit else "") if text else response.reason_phrase
