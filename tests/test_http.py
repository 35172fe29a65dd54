"""The shared HTTP layer: retries, Retry-After, rate limits, clear errors, nothing secret in logs."""

from __future__ import annotations

import email.utils
import io
import time

import httpx
import pytest
import respx

from hub.http import HttpClient, HttpError, RetryPolicy, TokenBucket, retry_after_seconds
from hub.log import configure_logging, register_secret

BASE = "https://api.example.test"


def _client(waits: list[float], **kw: object) -> HttpClient:
    policy = RetryPolicy(attempts=4, backoff=1.0, max_wait=30.0, jitter=lambda low, high: high)
    return HttpClient(BASE, name="test", retry=policy, sleep=waits.append, **kw)  # type: ignore[arg-type]


@respx.mock
def test_server_errors_are_retried_with_growing_waits_until_success() -> None:
    route = respx.get(f"{BASE}/things").mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"ok": True})]
    )
    waits: list[float] = []
    response = _client(waits).get("/things")
    assert response.json() == {"ok": True}
    assert route.call_count == 3
    assert waits == [1.0, 2.0]


@respx.mock
def test_retry_after_in_seconds_is_honoured() -> None:
    respx.get(f"{BASE}/x").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"policyName": "TEN_SECONDLY_ROLLING"}),
            httpx.Response(200),
        ]
    )
    waits: list[float] = []
    _client(waits).get("/x")
    assert waits == [7.0]


def test_retry_after_as_an_http_date() -> None:
    now = time.time()
    when = email.utils.formatdate(now + 12, usegmt=True)
    seconds = retry_after_seconds(httpx.Response(503, headers={"Retry-After": when}), now=now)
    assert seconds is not None and 11 <= seconds <= 12
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"})) is None


@respx.mock
def test_a_huge_retry_after_is_capped() -> None:
    respx.get(f"{BASE}/x").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "86400"}), httpx.Response(200)]
    )
    waits: list[float] = []
    _client(waits).get("/x")
    assert waits == [30.0]


@respx.mock
def test_exhausted_retries_name_the_request_and_the_status_without_the_query() -> None:
    respx.get(f"{BASE}/accounts").mock(return_value=httpx.Response(429, json={"message": "daily limit"}))
    waits: list[float] = []
    with pytest.raises(HttpError) as exc:
        _client(waits).get("/accounts", params={"hapikey": "q-secret-123"})
    assert exc.value.status == 429
    assert str(exc.value).startswith(f"GET {BASE}/accounts: HTTP 429: still failing after 4 attempts")
    assert "q-secret-123" not in str(exc.value)
    assert len(waits) == 3


@respx.mock
def test_a_source_still_throttling_after_the_retries_says_how_long_it_asked_to_be_left_alone() -> None:
    respx.get(f"{BASE}/accounts").mock(return_value=httpx.Response(429, headers={"Retry-After": "600"}))
    with pytest.raises(HttpError) as exc:
        _client([]).get("/accounts")
    assert exc.value.retry_after == 600.0  # what a queued job's next try waits for (hub.queue.tasks)
    respx.get(f"{BASE}/down").mock(return_value=httpx.Response(503))
    with pytest.raises(HttpError) as exc:
        _client([]).get("/down")
    assert exc.value.retry_after is None


@respx.mock
def test_client_errors_are_not_retried() -> None:
    route = respx.patch(f"{BASE}/a/1").mock(return_value=httpx.Response(400, json={"errorCode": "INVALID_FIELD"}))
    with pytest.raises(HttpError, match=r"HTTP 400: .*INVALID_FIELD"):
        _client([]).patch("/a/1", json={})
    assert route.call_count == 1


@respx.mock
def test_a_status_the_caller_expects_is_returned_not_raised() -> None:
    respx.get(f"{BASE}/a/1").mock(return_value=httpx.Response(412))
    assert _client([]).get("/a/1", ok=[412]).status_code == 412


@respx.mock
def test_timeouts_are_retried_then_reported() -> None:
    route = respx.get(f"{BASE}/slow").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(HttpError, match=r"ReadTimeout after 4 attempts"):
        _client([]).get("/slow")
    assert route.call_count == 4


def test_token_bucket_spaces_calls_to_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket.per_window(10, 10.0, clock=lambda: now[0], sleep=sleep)  # 1 call/s, burst 10
    for _ in range(10):
        assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(1.0)
    assert now[0] == pytest.approx(1.0)
    now[0] += 5
    waits = [bucket.acquire() for _ in range(6)]
    assert waits[:5] == [0.0] * 5 and waits[5] == pytest.approx(1.0)


@respx.mock
def test_secrets_in_headers_and_queries_never_reach_the_log() -> None:
    token = "Bearer tok-SECRET-777"
    register_secret("tok-SECRET-777")
    buffer = io.StringIO()
    configure_logging("debug", "json", stream=buffer)
    respx.get(f"{BASE}/x").mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200)])
    _client([], headers={"Authorization": token}).get("/x", params={"token": "tok-SECRET-777"})
    text = buffer.getvalue()
    assert "http.request" in text and "http.error" in text
    assert "tok-SECRET-777" not in text


def test_retry_after_with_a_fraction_of_a_second_is_honoured_not_ignored() -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "1.5"})) == 1.5
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "-3"})) is None
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "nan"})) is None


def test_retry_after_as_an_http_date_without_a_zone_is_read_as_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Shanghai")  # eight hours east of UTC
    time.tzset()
    try:
        now = time.time()
        when = email.utils.formatdate(now + 120)  # "... -0000": UTC, zone unknown
        assert when.endswith("-0000")
        seconds = retry_after_seconds(httpx.Response(429, headers={"Retry-After": when}), now=now)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert seconds is not None and 119 <= seconds <= 120


def test_a_body_that_arrives_garbled_is_retried_like_a_cut_connection() -> None:
    answers = [
        # a "gzip" answer mangled on the way: httpx fails while it decodes the body
        httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip at all")),
        httpx.Response(200, json={"ok": True}),
    ]
    waits: list[float] = []
    client = _client(waits, transport=httpx.MockTransport(lambda request: answers.pop(0)))
    assert client.get("/x").json() == {"ok": True}
    assert len(waits) == 1


def test_a_body_that_stays_garbled_is_an_http_error_worth_trying_later() -> None:
    def garbled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip at all"))

    with pytest.raises(HttpError, match=r"DecodingError after 4 attempts") as exc:
        _client([], transport=httpx.MockTransport(garbled)).get("/x")
    assert exc.value.retryable
