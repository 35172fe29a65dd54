"""The web application: the REST API under ``/api/v1`` (with its OpenAPI description at ``/openapi.json``),
the login pages, the webhooks, and the console's pages (:mod:`hub.web.console`).

``create_app(hub)`` builds it on a :class:`hub.app.Hub`; ``hub serve`` runs it with uvicorn on
loopback. Every route acts through the hub's services, as the command line does.

Errors answer as JSON ``{"error": CODE, "message": TEXT}`` with the text in the request's language
(:func:`hub.i18n.error_text`); a page that needs a login redirects to ``/login`` instead of a 401.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub import i18n
from hub.config import WebConfig
from hub.errors import (
    AccessError,
    CollectionError,
    HubError,
    IdentityError,
    LockBusy,
    MatchError,
    NotFoundError,
    StoreError,
)
from hub.i18n import N_
from hub.web import auth, security

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from hub.app import Hub

#: The settings ``create_app`` takes (the hub config's ``[web]`` section).
WebSettings = WebConfig
log = logging.getLogger("hub.web")

#: HTTP status of each AccessError code.
ACCESS_STATUS = {
    "not_authenticated": 401,
    "forbidden": 403,
    "csrf": 403,
    "four_eyes": 403,
    "throttled": 429,
    "bad_signature": 401,
    "stale": 401,
    "replayed": 409,
}
STATIC = auth.TEMPLATES.parent / "static"


def error_response(request: Request, status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


def _wants_page(request: Request) -> bool:
    """A person's browser asking for a page (redirect it to the login), not a program or htmx."""
    path = request.url.path
    return (
        not path.startswith("/api/")
        and path != "/metrics"
        and request.method in ("GET", "HEAD")
        and "HX-Request" not in request.headers
        and "authorization" not in request.headers
    )


def create_app(hub: Hub, *, settings: WebSettings | None = None) -> FastAPI:
    """The web application on ``hub`` (``settings``: default the hub config's ``[web]``)."""
    from hub.web.api import router as api_router
    from hub.web.webhooks import router as webhook_router

    app = FastAPI(
        title="Receivables integration hub",
        version="1",
        description="REST API of the hub: receipts and matches, customers, limits, connectors, outbox, audit. "
        "Authenticate with `Authorization: Bearer hub_...` (see docs/web-api.md). Errors: "
        '`{"error": code, "message": text}`, the text in the language of `Accept-Language`.',
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.hub = hub
    app.state.web_settings = settings or hub.config.web

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in security.SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(("/api/", "/login")) or "set-cookie" in response.headers:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(AccessError)
    async def access_error(request: Request, exc: AccessError) -> Response:
        if exc.code == "not_authenticated" and _wants_page(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        response = error_response(
            request, ACCESS_STATUS.get(exc.code, 403), exc.code, i18n.error_text(auth.locale_of(request), exc)
        )
        if exc.code == "not_authenticated":
            response.headers["WWW-Authenticate"] = "Bearer"
            if "HX-Request" in request.headers:  # htmx: the whole page goes to the login
                page = urlsplit(request.headers.get("HX-Current-URL", "/")).path or "/"
                response.headers["HX-Redirect"] = f"/login?next={quote(page)}"
        return response

    @app.exception_handler(HubError)
    async def hub_error(request: Request, exc: HubError) -> Response:
        locale = auth.locale_of(request)
        if isinstance(exc, NotFoundError):
            status, code = 404, "not_found"
        elif isinstance(exc, LockBusy):
            status, code = 503, "busy"
        elif isinstance(exc, StoreError):
            status, code = 503, "store_unavailable"
        elif isinstance(exc, (MatchError, CollectionError, IdentityError)):
            status, code = 409, "refused"
        else:
            status, code = 400, "invalid"
        return error_response(request, status, code, i18n.error_text(locale, exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        locale = auth.locale_of(request)
        details = [
            {"where": ".".join(str(p) for p in err.get("loc", ())), "problem": str(err.get("msg", ""))}
            for err in exc.errors()
        ]
        return error_response(
            request, 422, "invalid_request", i18n.gettext(locale, N_("the request is not valid")), details=details
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        locale = auth.locale_of(request)
        if exc.status_code == 404:
            code, message = "not_found", i18n.gettext(locale, N_("there is nothing here"))
        elif exc.status_code == 405:
            code, message = "method_not_allowed", i18n.gettext(locale, N_("this method is not allowed here"))
        else:
            code, message = "http_error", str(exc.detail)
        return error_response(request, exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        from hub.app import describe_failure

        described = describe_failure(exc)
        log.error("web.error %s %s: %s", request.method, request.url.path, described or repr(exc), exc_info=exc)
        locale = auth.locale_of(request)
        return error_response(request, 500, "server_error", i18n.gettext(locale, N_("something went wrong in the hub")))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        """The process answers (liveness)."""
        return Response("ok\n", media_type="text/plain")

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> Response:
        """The store answers and is at this hub's schema (readiness): 200, else 503 with the reason."""
        ok, why = auth.hub_of(request).ready()
        return Response(f"{why}\n", status_code=200 if ok else 503, media_type="text/plain")

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request, _user: auth.AnyUser) -> Response:
        """The operations figures in the Prometheus text format (docs/workers.md), for a signed-in user or
        an API token (Prometheus sends it as ``authorization: credentials``)."""
        status, body, content_type = auth.hub_of(request).metrics().scrape()
        return Response(body, status_code=status, media_type=content_type)

    app.include_router(auth.router)
    app.include_router(api_router)
    app.include_router(webhook_router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    from hub.web import console  # (the pages import the API's helpers: loaded once the routers are)

    console.register(app)
    return app
