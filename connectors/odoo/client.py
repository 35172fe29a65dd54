"""Odoo's external JSON-RPC API (``POST /jsonrpc``), on the hub's shared HTTP layer.

Every call is one JSON-RPC 2.0 request::

    {"jsonrpc": "2.0", "method": "call", "id": 7,
     "params": {"service": "object", "method": "execute_kw",
                "args": [db, uid, password, model, method, args, kwargs]}}

Odoo answers HTTP 200 for application errors too, with an ``error`` member instead of ``result``
(``{"code": 200, "message": "Odoo Server Error", "data": {"name": "odoo.exceptions.AccessError",
"message": ..., "arguments": [...], "context": {}, "debug": traceback}}``); :class:`OdooRpcError`
carries its ``name`` and ``message``. Transport errors, 429 and 5xx (an Odoo behind a proxy or a
load balancer) are retried by :class:`hub.http.HttpClient`, honouring ``Retry-After``.

Logging in is ``common.authenticate(db, login, password, {})``: it returns the user id, or
``False`` when the login, password (or API key) or database user is wrong. The password travels in
every ``execute_kw`` call (the endpoint is stateless); it is never logged and never put in an error.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from hub import HttpClient, HttpError, RetryPolicy, SourceError, TokenBucket

ENDPOINT = "/jsonrpc"

#: Odoo exceptions that say "this request can never succeed as sent": a retry cannot help.
PERMANENT_ERRORS = frozenset(
    {
        "odoo.exceptions.AccessError",
        "odoo.exceptions.MissingError",
        "odoo.exceptions.ValidationError",
        "odoo.exceptions.UserError",
        "odoo.exceptions.RedirectWarning",
        "odoo.exceptions.except_orm",
        "builtins.ValueError",
        "builtins.TypeError",
        "builtins.KeyError",
        "builtins.AttributeError",
    }
)
ACCESS_DENIED = "odoo.exceptions.AccessDenied"


class OdooRpcError(SourceError):
    """Odoo answered a call with a JSON-RPC ``error`` member."""

    def __init__(self, call: str, code: int | None, name: str, message: str) -> None:
        self.call = call
        self.code = code
        self.name = name
        self.message = message
        short = name.rsplit(".", 1)[-1] if name else "error"
        super().__init__(f"{call}: {short}: {message}")

    @property
    def permanent(self) -> bool:
        """True when sending the same call again cannot succeed (access rights, missing record, validation)."""
        return self.name in PERMANENT_ERRORS


class OdooAuthError(SourceError):
    """The login, password or API key (or the database name) is wrong."""


class OdooUnavailable(SourceError):
    """Odoo (or the proxy in front of it) did not answer usably: connection errors, timeouts, 429 and
    5xx after every retry, or another HTTP error status."""


def _error_text(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _pause(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time


class OdooClient:
    """Calls on one Odoo database as one user. Logs in lazily, once."""

    def __init__(
        self,
        url: str,
        database: str,
        username: str,
        password: str,
        *,
        name: str = "odoo",
        timeout: float = 30.0,
        rate: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.username = username
        self._password = password
        self.name = name
        self.label = "Odoo" if name.lower() == "odoo" else f"Odoo ({name})"
        self.http = HttpClient(
            self.url + "/",
            name=name,
            timeout=timeout,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            rate=rate,
            retry=retry,
            transport=transport,
            sleep=sleep if sleep is not None else _pause,
        )
        self._ids = itertools.count(1)
        self._uid: int | None = None

    # -- transport ------------------------------------------------------------------------------------

    def call(self, service: str, method: str, args: list[Any], *, what: str) -> Any:
        """One JSON-RPC call; ``what`` names it in errors (never the arguments: they hold the password)."""
        request_id = next(self._ids)
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": args},
            "id": request_id,
        }
        try:
            response = self.http.post(ENDPOINT.lstrip("/"), content=json.dumps(body))
        except HttpError as exc:
            down = OdooUnavailable(f"{self.label}: {what}: {exc}")
            down.retryable = exc.retryable  # a 5xx or 429 may pass; a 400 or 403 will not by itself
            raise down from exc
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SourceError(
                f"{self.label}: {what}: {self.url}{ENDPOINT} did not answer JSON-RPC "
                f"(HTTP {response.status_code}, {response.headers.get('Content-Type', 'no content type')})"
            ) from None
        if not isinstance(data, dict) or ("result" not in data and "error" not in data):
            raise SourceError(f"{self.label}: {what}: not a JSON-RPC answer from {self.url}{ENDPOINT}")
        error = data.get("error")
        if error is not None:
            detail = error.get("data") if isinstance(error, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            name = str(detail.get("name", "")) if isinstance(detail, dict) else ""
            message = detail.get("message") if isinstance(detail, dict) else None
            if not message:
                message = error.get("message") if isinstance(error, dict) else error
            raise OdooRpcError(
                f"{self.label}: {what}", code if isinstance(code, int) else None, name, _error_text(message)
            )
        return data["result"]

    # -- session --------------------------------------------------------------------------------------

    def login(self) -> int:
        """The user id, logging in on first use; :class:`OdooAuthError` when Odoo refuses the credentials."""
        if self._uid is not None:
            return self._uid
        where = f"database {self.database!r} at {self.url}"
        try:
            uid = self.call("common", "authenticate", [self.database, self.username, self._password, {}], what="login")
        except OdooRpcError as exc:
            if exc.name == ACCESS_DENIED:
                raise OdooAuthError(
                    f"{self.label}: login as {self.username!r} on {where} refused: {exc.message}"
                ) from exc
            raise OdooAuthError(f"{self.label}: cannot log in on {where}: {exc.message}") from exc
        if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
            raise OdooAuthError(
                f"{self.label}: login as {self.username!r} on {where} refused "
                "(wrong username, password or API key, or the user is archived)"
            )
        self._uid = uid
        return uid

    def execute_kw(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any] | None = None) -> Any:
        uid = self.login()
        try:
            return self.call(
                "object",
                "execute_kw",
                [self.database, uid, self._password, model, method, args, kwargs or {}],
                what=f"{model}.{method}",
            )
        except OdooRpcError as exc:
            if exc.name == ACCESS_DENIED:  # the password or API key was changed or revoked since login
                self._uid = None
                raise OdooAuthError(
                    f"{self.label}: {model}.{method}: Odoo refused the credentials: {exc.message}"
                ) from exc
            raise

    def field_types(self, model: str, wanted: list[str]) -> dict[str, str]:
        """``{field: type}`` for those of ``wanted`` the model has (modules add fields: ``credit_limit``...)."""
        info = self.execute_kw(model, "fields_get", [wanted], {"attributes": ["type"]})
        if not isinstance(info, dict):
            raise SourceError(f"{self.label}: {model}.fields_get answered {type(info).__name__}, not an object")
        return {name: str(meta.get("type")) for name, meta in info.items() if isinstance(meta, dict)}

    def close(self) -> None:
        self.http.close()
