"""``POST /api/v1/webhooks/{connector}``: a CRM or a bank says something changed.

The call is signed with a secret shared with the hub (``[web.webhooks.NAME] secret``): header
``X-Hub-Timestamp`` (Unix seconds) and ``X-Hub-Signature`` (hex HMAC-SHA256 of ``timestamp + "." +
body``, optionally prefixed ``sha256=``). A wrong signature, a call signed more than
``[web] webhook_max_age_seconds`` away from now, or the same signature twice is refused.

What it does, honestly: it records a **change notice** for the connector (its body kept as sent).
The hub does not sync inside the request: the next ``hub sync`` / ``hub run`` of that connector reads
the changes incrementally (from its cursor) and marks the notices handled; ``GET /api/v1/connectors``
shows how many notices wait and since when, so a scheduler can run the sync early when they pile up.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request

from hub import i18n
from hub.i18n import N_
from hub.web.api import ERRORS
from hub.web.api.models import WebhookOut
from hub.web.auth import hub_of, locale_of

router = APIRouter(prefix="/api/v1", tags=["webhooks"], responses=ERRORS)
MAX_BODY = 1_000_000


@router.post(
    "/webhooks/{connector}",
    response_model=WebhookOut,
    status_code=202,
    summary="A signed change notice from a CRM or a bank (read by the connector's next sync)",
)
async def webhook(
    request: Request,
    connector: Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")],
    x_hub_timestamp: Annotated[str, Header(max_length=20)],
    x_hub_signature: Annotated[str, Header(max_length=100)],
) -> WebhookOut:
    body = await request.body()
    if len(body) > MAX_BODY:
        from hub.errors import HubError

        raise HubError(N_("the webhook body is larger than %(max)s bytes"), values={"max": MAX_BODY})
    notice = hub_of(request).webhooks.receive(connector, body, timestamp=x_hub_timestamp, signature=x_hub_signature)
    message = i18n.gettext(
        locale_of(request), N_("recorded; the next sync of %(name)s reads the change"), name=connector
    )
    return WebhookOut(notice=notice, message=message)
