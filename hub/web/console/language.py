"""The language switch in the console's header: the reader's own setting (and a cookie before signing in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hub import i18n
from hub.errors import AccessError
from hub.i18n import N_
from hub.web import security
from hub.web.auth import hub_of, optional_user, settings_of

router = APIRouter(include_in_schema=False)


@router.post("/language")
async def switch(
    request: Request,
    *,
    locale: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Speak ``locale`` from now on: saved as the signed-in person's setting (audited), else in a cookie."""
    chosen = i18n.normalize(locale) or i18n.DEFAULT_LOCALE
    user = optional_user(request)
    if user is not None and user.kind == "user":
        if not security.same(await security.submitted_csrf(request), user.csrf_token):
            raise AccessError(N_("the form has expired or did not come from the hub; reload the page"), code="csrf")
        hub_of(request).users.update(user.name, actor=user.actor, locale=chosen)
    response = RedirectResponse(security.safe_next(next), status_code=303)
    response.set_cookie(
        security.LOCALE_COOKIE, chosen, max_age=365 * 86400, **security.cookie_options(settings_of(request))
    )
    return response
