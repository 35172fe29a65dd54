"""Who is asking, and may they: the FastAPI dependencies every page and API route uses, and the login
and logout routes.

A request is made by a **signed-in person** (the ``hub_session`` cookie of a browser session) or a
**program** (``Authorization: Bearer hub_...``, an API token). ``current_user`` says which (a
:class:`WebUser`), ``require("finance")`` refuses anyone without one of the roles named (403) and
checks the CSRF token of a cookie session's unsafe request (POST, PUT, PATCH, DELETE): the form
field ``csrf_token`` or the header ``X-CSRF-Token``. Tokens carry no cookie, so a page cannot make a
browser send one: they need no CSRF token.

Not signed in: API requests (``/api/...``) get 401 JSON, pages a redirect to ``/login``.

Console routes use them like this::

    @router.post("/receipts/{ref}/confirm")
    def confirm(ref: str, request: Request, user: WebUser = Depends(require("finance"))) -> Response:
        hub_of(request).matches.confirm(ref, actor=user.actor)
        ...

and render templates with :func:`render`, which gives every template ``_`` (gettext in the request's
locale), ``locale``, ``user`` and ``csrf_token``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from hub import i18n
from hub.errors import AccessError, HubError
from hub.i18n import N_
from hub.web import security

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.config import WebConfig

ROLES = ("finance", "credit", "sales", "viewer", "admin")
TEMPLATES = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))


@dataclass(frozen=True)
class WebUser:
    """Who is acting: a person (``kind`` ``user``) or a program's API token (``token``)."""

    name: str
    display_name: str
    roles: tuple[str, ...]
    locale: str | None = None
    kind: str = "user"
    csrf_token: str | None = None
    """The browser session's CSRF token, for forms (None for a token)."""

    @property
    def actor(self) -> str:
        """The name the audit log records: the user's, or ``token:NAME``."""
        return self.name if self.kind == "user" else f"token:{self.name}"

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def settings_of(request: Request) -> WebConfig:
    settings: WebConfig = request.app.state.web_settings
    return settings


def _web_user(account: Any) -> WebUser:
    return WebUser(
        account.name, account.display_name, tuple(account.roles), account.locale, account.kind, account.csrf_token
    )


def optional_user(request: Request) -> WebUser | None:
    """The person or program making the request, or None; a bad bearer token is refused (401)."""
    if "user" in request.state._state:
        found: WebUser | None = request.state.user
        return found
    hub = hub_of(request)
    user: WebUser | None = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        account = hub.tokens.account(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise AccessError(N_("the API token is unknown, revoked or expired"), code="not_authenticated")
        user = _web_user(account)
    elif session_id := request.cookies.get(security.SESSION_COOKIE):
        account = hub.users.session(session_id)
        user = None if account is None else _web_user(account)
    request.state.user = user
    return user


def current_user(request: Request) -> WebUser:
    """The signed-in person or the token's program; 401 (API) or a redirect to the login page (pages) if none."""
    user = optional_user(request)
    if user is None:
        raise AccessError(N_("log in first"), code="not_authenticated")
    return user


async def csrf_protect(request: Request, user: Annotated[WebUser, Depends(current_user)]) -> WebUser:
    """Refuse an unsafe request of a browser session without its CSRF token (403)."""
    if (
        request.method not in security.SAFE_METHODS
        and user.kind == "user"
        and not security.same(await security.submitted_csrf(request), user.csrf_token)
    ):
        raise AccessError(N_("the form has expired or did not come from the hub; reload the page"), code="csrf")
    return user


def refuse_unless(user: WebUser, *roles: str) -> None:
    """403 unless ``user`` has one of ``roles`` (none named: any role): :func:`require`'s check, for a part of an
    endpoint that needs more than the endpoint does."""
    if not user.roles or (roles and not user.has(*roles)):
        raise AccessError(
            N_("this needs the role %(roles)s"),
            values={"roles": " / ".join(roles) if roles else " / ".join(ROLES)},
            code="forbidden",
        )


def require(*roles: str) -> Callable[..., Awaitable[WebUser]]:
    """A dependency: the user, if they have one of ``roles`` (none named: any role), with the CSRF check of
    :func:`csrf_protect` on unsafe methods; 403 otherwise."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def dependency(user: Annotated[WebUser, Depends(csrf_protect)]) -> WebUser:
        refuse_unless(user, *roles)
        return user

    dependency.__name__ = f"require_{'_'.join(roles) or 'any'}"
    return dependency


def locale_of(request: Request) -> str:
    """The request's language: the user's own setting, else a language chosen on the login page
    (cookie), else the browser's ``Accept-Language``; English when the hub speaks none of them."""
    try:
        user = optional_user(request)
    except HubError:  # a refused token, or a store that cannot be read: the browser's language then
        user = None
    preferred = (user.locale if user else None) or request.cookies.get(security.LOCALE_COOKIE)
    return i18n.negotiate(request.headers.get("accept-language"), preferred)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """A template with ``_`` (gettext in the request's locale, ``%(name)s`` values as keywords), ``locale``,
    ``user`` and ``csrf_token`` (the session's, for forms)."""
    locale = locale_of(request)
    try:
        user = optional_user(request)
    except HubError:
        user = None

    def translate(message: str, **values: object) -> str:
        return i18n.gettext(locale, message, **values)

    full = {
        "_": translate,
        "locale": locale,
        "locales": i18n.LOCALE_NAMES,
        "user": user,
        "csrf_token": user.csrf_token if user else None,
        **(context or {}),
    }
    return templates.TemplateResponse(request, name, full, status_code=status_code)


#: Route parameters: ``user: AnyUser`` (any role), ``user: Finance`` ...
AnyUser = Annotated[WebUser, Depends(require())]
Finance = Annotated[WebUser, Depends(require("finance"))]
Credit = Annotated[WebUser, Depends(require("credit"))]
CreditOrSales = Annotated[WebUser, Depends(require("credit", "sales"))]
Admin = Annotated[WebUser, Depends(require("admin"))]

# -- login and logout ---------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request, *, error: str | None = None, next_url: str = "/", status_code: int = 200
) -> HTMLResponse:
    token = security.new_token()
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "error": error, "next": security.safe_next(next_url)},
        status_code=status_code,
    )
    response.set_cookie(
        security.LOGIN_CSRF_COOKIE, token, max_age=3600, **security.cookie_options(settings_of(request))
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    try:
        user = optional_user(request)
    except AccessError:
        user = None
    if user is not None and user.kind == "user":
        return RedirectResponse(security.safe_next(next), status_code=303)
    return _login_page(request, next_url=next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
) -> Response:
    locale = locale_of(request)
    if not security.same(csrf_token, request.cookies.get(security.LOGIN_CSRF_COOKIE)):
        message = i18n.gettext(locale, N_("the form has expired or did not come from the hub; reload the page"))
        return _login_page(request, error=message, next_url=next, status_code=403)
    hub = hub_of(request)
    try:
        account = hub.users.login(username, password, ip=security.client_ip(request))
    except AccessError as exc:
        status = 429 if exc.code == "throttled" else 401
        return _login_page(request, error=i18n.error_text(locale, exc), next_url=next, status_code=status)
    session_id, _csrf = hub.users.start_session(account.name, ip=security.client_ip(request))
    response = RedirectResponse(security.safe_next(next), status_code=303)
    security.set_session_cookie(response, session_id, settings_of(request))
    response.delete_cookie(security.LOGIN_CSRF_COOKIE, **security.cookie_options(settings_of(request)))
    return response


@router.post("/logout")
def logout(request: Request, user: Annotated[WebUser, Depends(csrf_protect)]) -> Response:
    session_id = request.cookies.get(security.SESSION_COOKIE)
    if session_id:
        hub_of(request).users.logout(session_id)
    response = RedirectResponse("/login", status_code=303)
    security.clear_session_cookie(response, settings_of(request))
    return response
