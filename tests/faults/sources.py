"""A Dataverse (Dynamics 365) Web API on loopback that fails the way sources fail: HTTP 500 and 503,
no answer within the client's timeout, a reset connection, an answer that is not JSON, and 429 with
``Retry-After`` (in seconds or as an HTTP date) for as long as a throttle window lasts.

A real HTTP server, not respx: the fault tests run the real ``hub`` command and ``hub worker`` in
other processes. It serves the ``dynamics`` connector's calls: the client-credentials token, the
one-row check and the accounts listing (``$filter=modifiedon ge``, ``$orderby``,
``Prefer: odata.maxpagesize`` and ``@odata.nextLink`` with a ``$skiptoken``).

Faults are planned per page, a page being named by the position of its first account in the whole
listing (0, 10, 20... for pages of ten); they hit any page that holds that account, so a walk that
resumes after page 2 (``modifiedon ge`` the last account stored: its first page starts one account
earlier, at 19) meets the faults planned for page 3. Every listing request is logged with the
position of its page's first account and what the server did.
"""

from __future__ import annotations

import email.utils
import json
import math
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.loopback import _serving

TENANT = "fault-tenant"
API = "/api/data/v9.2"
#: The seconds a "timeout" answer waits: longer than the ``timeout`` the tests configure (0.5 s).
SLOW = 1.5


def stamp(n: int) -> str:
    return f"2025-05-{1 + n // 24:02d}T{n % 24:02d}:00:00Z"


def account(n: int) -> dict[str, Any]:
    return {
        "accountid": str(uuid.UUID(int=0xD000 + n)),
        "name": f"Dataverse Account {n:02d} GmbH",
        "accountnumber": None,
        "creditlimit": 10000 + n,
        "address1_country": "DE",
        "_parentaccountid_value": None,
        "modifiedon": stamp(n),
        "transactioncurrencyid": {"isocurrencycode": "EUR"},
    }


@dataclass
class FaultyDataverse:
    """``faults[position]``: what the requests for the page starting at account ``position`` get, in
    turn, before it is served ("500", "503", "429:<s>", "429-date:<s>", "timeout", "reset",
    "malformed"). ``down_from``: every page that holds that account or a later one answers 503, until set to None.
    ``throttle_until``: every listing request answers 429 while ``clock()`` is before it, with
    ``Retry-After`` the seconds left (``retry_after_date``: as an HTTP date)."""

    size: int = 50
    page_size: int = 10
    faults: dict[int, list[str]] = field(default_factory=dict)
    down_from: int | None = None
    throttle_until: float | None = None
    throttle_from: int | None = None
    """Throttle for ``throttle_for`` seconds from the first request for a page at or after this account."""
    throttle_for: float = 0.0
    retry_after_date: bool = False
    clock: Callable[[], float] = time.monotonic
    log: list[tuple[int, str]] = field(default_factory=list)
    """(position of the page's first account, what the server answered) per listing request."""
    url: str = ""

    def __post_init__(self) -> None:
        self.accounts = [account(n) for n in range(self.size)]
        self.lock = threading.Lock()

    def served(self) -> list[int]:
        """The positions of the pages served whole, in order."""
        return [p for p, what in self.log if what == "ok"]

    def _fault(self, position: int, count: int) -> str | None:
        """What to answer for the page of ``count`` accounts from ``position`` (None: the page)."""
        with self.lock:
            if self.throttle_from is not None and position >= self.throttle_from and self.throttle_until is None:
                self.throttle_until = self.clock() + self.throttle_for
            if self.throttle_until is not None and self.clock() < self.throttle_until:
                return f"throttle:{self.throttle_until - self.clock()}"
            if self.down_from is not None and position + max(count, 1) > self.down_from:
                return "503"
            for at, planned in self.faults.items():
                if position <= at < position + max(count, 1) and planned:
                    return planned.pop(0)
            return None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == f"/{TENANT}/oauth2/v2.0/token":
                    return self._json(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": "fault-token"})
                return self._json(404, {"error": {"code": "0x0", "message": "no such route"}})

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != f"{API}/accounts":
                    return self._json(404, {"error": {"code": "0x0", "message": "no such route"}})
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                if params.get("$top") == "1":  # the connector's check
                    return self._json(200, {"value": [{"accountid": api.accounts[0]["accountid"]}]})
                rows = sorted(api.accounts, key=lambda a: (a["modifiedon"], a["accountid"]))
                if since := params.get("$filter", "").removeprefix("modifiedon ge "):
                    rows = [a for a in rows if a["modifiedon"] >= since]
                skip = int(params.get("$skiptoken", "0"))
                page = rows[skip : skip + api.page_size]
                position = api.accounts.index(page[0]) if page else len(api.accounts)
                fault = api._fault(position, len(page))
                with api.lock:
                    api.log.append((position, (fault or "ok").split(":")[0]))
                if fault is not None:
                    return self._fail(fault)
                body: dict[str, Any] = {"value": page}
                if skip + api.page_size < len(rows):
                    query = {k: v for k, v in params.items() if k != "$skiptoken"} | {
                        "$skiptoken": str(skip + api.page_size)
                    }
                    body["@odata.nextLink"] = f"{api.url}{API}/accounts?{urlencode(query)}"
                return self._json(200, body)

            def _fail(self, fault: str) -> None:
                kind, _, arg = fault.partition(":")
                if kind in ("500", "503"):
                    # Retry-After 0: the client tries again at once instead of its backoff (a fast test)
                    error = {"error": {"code": "0x80040216", "message": "An unexpected error occurred."}}
                    return self._json(int(kind), error, {"Retry-After": "0"})
                if kind in ("429", "429-date", "throttle"):
                    seconds = math.ceil(float(arg))
                    if kind == "429-date" or (kind == "throttle" and api.retry_after_date):
                        # a date says whole seconds: one more, so that however late the client reads
                        # it (into the next second) the wait never ends before the window does
                        after = email.utils.formatdate(math.ceil(time.time()) + seconds + 1, usegmt=True)
                    else:
                        after = str(seconds)
                    message = "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
                    error = {"error": {"code": "0x80072322", "message": message}}
                    return self._json(429, error, {"Retry-After": after})
                if kind == "timeout":
                    time.sleep(SLOW)
                    return None
                if kind == "reset":
                    linger = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close sends RST
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.connection.close()
                    return None
                if kind == "malformed":
                    data = b'{"@odata.context": "$metadata#accounts", "value": [{"accountid": '
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json; odata.metadata=minimal")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return None
                raise AssertionError(f"unknown fault {fault!r}")

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; odata.metadata=minimal")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def config(self, name: str = "d365", *, timeout: float = 0.5, max_retry_wait: float = 2.0) -> str:
        """The ``[connectors.<name>]`` section of a ``dynamics`` source on this server (no sink)."""
        return (
            f'\n[connectors.{name}]\ntype = "dynamics"\nurl = "{self.url}"\nauthority = "{self.url}"\n'
            f'tenant_id = "{TENANT}"\nclient_id = "hub"\nclient_secret = "fault-client-secret"\npush = false\n'
            f"page_size = {self.page_size}\ntimeout = {timeout}\nmax_retry_wait = {max_retry_wait}\n"
        )


@contextmanager
def dataverse(api: FaultyDataverse) -> Iterator[FaultyDataverse]:
    """``api`` served on a loopback port (``api.url``) until the block ends."""
    with _serving(api.handler()) as url:
        api.url = url
        yield api
