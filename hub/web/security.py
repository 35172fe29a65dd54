"""The web layer's security settings in one place: cookie names and flags, CSRF checks, safe redirects,
and the headers every answer carries.

Kept small and explicit rather than a middleware library: the rules are few (one session cookie,
one CSRF token per session, a double-submit token for the login form) and each is tested.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.config import WebConfig

SESSION_COOKIE = "hub_session"
#: The login form's CSRF token (double submit: the cookie and the form field must agree).
LOGIN_CSRF_COOKIE = "hub_login_csrf"
#: A language chosen before logging in (the console's language switch).
LOCALE_COOKIE = "hub_locale"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

#: Sent with every answer: no framing, no sniffing, no referrer leaks; scripts and styles only from the hub.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'self'",
}


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (False when either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def cookie_options(settings: WebConfig) -> dict[str, Any]:
    """HttpOnly, SameSite=Lax, Secure unless ``[web] secure_cookies = false`` (plain http on loopback)."""
    return {"httponly": True, "samesite": "lax", "secure": settings.secure_cookies, "path": "/"}


def set_session_cookie(response: Response, session_id: str, settings: WebConfig) -> None:
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=int(settings.session_hours * 3600), **cookie_options(settings)
    )


def clear_session_cookie(response: Response, settings: WebConfig) -> None:
    response.delete_cookie(SESSION_COOKIE, **cookie_options(settings))


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token a request carries: the ``X-CSRF-Token`` header, else the form field ``csrf_token``."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    kind = request.headers.get("content-type", "")
    if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # (starlette keeps it: the route reads the same form)
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to go after logging in: a path on this site only (no ``//host``, no scheme), else ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


def client_ip(request: Request) -> str:
    """The address the request came from (the hub listens on loopback; a proxy in front is not trusted)."""
    return request.client.host if request.client else "unknown"
