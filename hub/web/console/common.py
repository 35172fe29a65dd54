"""What every console page shares: the Jinja2 templates, the page context (the signed-in user, the
locale, the CSRF token, the navigation, locale-aware formatting) and the paging of lists.

Every text goes through ``_()`` (``hub.i18n.gettext`` in the reader's locale); amounts, numbers and
dates through the locale's formatting. The language a person picks with the switch in the header is
kept in a cookie and wins over their account's setting and their browser's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from hub import i18n
from hub.codes import CHANNEL_LABELS
from hub.i18n import N_

#: The pages in the navigation: key, path, label, and the roles that see it (None: everyone signed in).
NAV: tuple[tuple[str, str, str, tuple[str, ...] | None], ...] = (
    ("dashboard", "/", N_("Dashboard"), None),
    ("receipts", "/receipts", N_("Receipts"), None),
    ("customers", "/customers", N_("Customers"), None),
    ("collections", "/collections", N_("Collections"), None),
    ("disputes", "/disputes", N_("Disputes"), None),
    ("cases", "/cases", N_("Cases"), None),
    ("limits", "/limits", N_("Limits"), None),
    ("connectors", "/connectors", N_("Connectors"), ("admin", "finance", "credit", "viewer")),
    ("audit", "/audit", N_("Audit"), ("admin",)),
)

#: Texts for the codes the store holds (statuses, buckets, channels), translated where shown.
LABELS: dict[str, str] = {
    "auto": N_("automatic"),
    "suggested": N_("suggested"),
    "confirmed": N_("confirmed"),
    "open": N_("still open"),
    "matched": N_("matched"),
    "rejected": N_("rejected"),
    "unmatched": N_("unmatched"),
    "superseded": N_("superseded"),
    "pending": N_("pending"),
    "approved": N_("approved"),
    "applied": N_("applied"),
    "withdrawn": N_("withdrawn"),
    "kept": N_("kept"),
    "broken": N_("broken"),
    "not evaluated": N_("not evaluated"),
    "delivered": N_("delivered"),
    "failed": N_("failed"),
    "dead": N_("dead"),
    "ok": N_("ok"),
    "error": N_("error"),
    "running": N_("running"),
    **CHANNEL_LABELS,
    # the built-in escalation ladder's steps and owners (hub.config): a ladder of one's own shows as written
    "friendly reminder": N_("friendly reminder"),
    "call": N_("call"),
    "lawyer's letter": N_("lawyer's letter"),
    "litigation or agency": N_("litigation or agency"),
    "ar-clerk": N_("AR clerk"),
    "collector": N_("collector"),
    "account-manager": N_("account manager"),
    "legal": N_("legal"),
    # the scorecard's signals (hub.risk)
    "payment-behaviour": N_("payment behaviour"),
    "ageing": N_("ageing"),
    "utilisation": N_("limit used"),
    "broken-promises": N_("broken promises"),
    "bureau": N_("bureau"),
    "legal-events": N_("legal events"),
    "concentration": N_("concentration"),
    "other": N_("other"),
    "not_due": N_("not yet due"),
    "remittance": N_("remittance"),
    "end_to_end_id": N_("end-to-end id"),
    "references": N_("structured reference"),
    "additional_remittance": N_("additional remittance"),
    "additional_tx_info": N_("additional transaction information"),
    "additional_entry_info": N_("additional entry information"),
    "ultimate_payer_name": N_("ultimate payer"),
    "payment": N_("payment"),
    "credit_note": N_("credit note"),
    "write_off": N_("write-off"),
    "bank_fee": N_("bank charges"),
    "discount": N_("discount taken"),
    "small_balance": N_("small balance"),
    "dispute_settled": N_("dispute settled"),
    "d180_plus": N_("over 180 days"),
}


def bucket_title(label: str, locale: str) -> str:
    """``d1_30`` -> "1-30 days" (an en dash between); ``not_due`` -> "not yet due"; ``d180_plus`` -> "over 180 days"."""
    if label in LABELS:
        return i18n.gettext(locale, LABELS[label])
    if label.startswith("d") and "_" in label:
        low, _sep, high = label[1:].partition("_")
        if high == "plus":
            return i18n.gettext(locale, "over %(days)s days", days=low)
        return i18n.gettext(locale, "%(low)s\u2013%(high)s days", low=low, high=high)
    return label


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("hub.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = lambda name: f"/static/{name}"
    return env


class Formats:
    """Locale-aware formatting for templates (``fmt.money(amount, ccy)``, ``fmt.date(d)`` ...)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def money(self, amount: Decimal | int | str | None, currency: str | None = None) -> str:
        return i18n.money(amount, currency, self.locale)

    def number(self, value: Decimal | float | int | None, places: int = 0) -> str:
        return i18n.number(value, self.locale, places=places)

    def percent(self, value: Decimal | float | None, places: int = 0) -> str:
        return i18n.percent(value, self.locale, places=places)

    def date(self, value: dt.date | str | None) -> str:
        day: dt.date | None
        if isinstance(value, str):
            try:
                day = dt.date.fromisoformat(value[:10])
            except ValueError:
                return value
        else:
            day = value.date() if isinstance(value, dt.datetime) else value
        return i18n.date(day, self.locale)

    def datetime(self, value: dt.datetime | str | None) -> str:
        moment: dt.datetime | None
        if isinstance(value, str):
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
        else:
            moment = value
        return i18n.datetime(moment, self.locale, style="short")


@dataclass
class Paging:
    """A list's page as the query string asks for it: search text, sort key (``-key``: descending),
    page number and size; and the links to other pages and sorts."""

    path: str
    params: dict[str, str]
    q: str | None
    sort: str
    page: int
    size: int
    total: int = 0
    locale: str = "en"

    @classmethod
    def of(cls, request: Request, *, sort: str, allowed: Sequence[str], size: int = 25, locale: str = "en") -> Paging:
        query = request.query_params
        wanted = query.get("sort") or sort
        if wanted.lstrip("-") not in allowed:
            wanted = sort
        try:
            page = max(1, int(query.get("page", "1")))
        except ValueError:
            page = 1
        with contextlib.suppress(ValueError):
            size = min(200, max(5, int(query.get("size", str(size)))))
        q = (query.get("q") or "").strip()[:200] or None
        params = {k: v for k, v in query.items() if k not in ("sort", "page", "q", "size")}
        return cls(request.url.path, params, q, wanted, page, size, locale=locale)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def limit(self) -> int:
        return self.size

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def url(self, **changes: Any) -> str:
        values: dict[str, Any] = {**self.params, "q": self.q, "sort": self.sort, "page": self.page}
        values.update(changes)
        clean = {k: v for k, v in values.items() if v not in (None, "") and not (k == "page" and v == 1)}
        return f"{self.path}?{urlencode(clean)}" if clean else self.path

    def sort_url(self, key: str) -> str:
        return self.url(sort=f"-{key}" if self.sort == key else key, page=1)

    @property
    def prev_url(self) -> str | None:
        return self.url(page=self.page - 1) if self.page > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(page=self.page + 1) if self.offset + self.size < self.total else None

    @property
    def first_text(self) -> str:
        return i18n.number(min(self.offset + 1, self.total), self.locale)

    @property
    def last_text(self) -> str:
        return i18n.number(min(self.offset + self.size, self.total), self.locale)

    @property
    def total_text(self) -> str:
        return i18n.number(self.total, self.locale)


def page_slice(items: Sequence[Any], paging: Paging) -> list[Any]:
    """One page of a list a service returned whole (a short one: today's steps, pending approvals)."""
    paging.total = len(items)
    return list(items[paging.offset : paging.offset + paging.limit])


@dataclass(frozen=True)
class Viewer:
    """Who reads the page: what the templates need of the signed-in account."""

    name: str
    display_name: str
    roles: tuple[str, ...]
    csrf: str

    def can(self, *roles: str) -> bool:
        return "admin" in self.roles or any(r in self.roles for r in roles)


def viewer_of(account: Any) -> Viewer:
    return Viewer(
        account.name,
        getattr(account, "display_name", None) or account.name,
        tuple(account.roles),
        getattr(account, "csrf_token", None) or "",
    )


def locale_for(request: Request, account: Any | None = None) -> str:
    """The reader's locale: their own setting, else the language picked before signing in, else the browser's
    (:func:`hub.web.auth.locale_of`)."""
    from hub.web.auth import locale_of

    return locale_of(request)


def translator(locale: str) -> Callable[..., str]:
    def _(message: str, /, **values: object) -> str:
        return i18n.gettext(locale, message, **values)

    return _


CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def render(
    request: Request,
    template: str,
    account: Any | None,
    *,
    title: str = "",
    active: str = "",
    status_code: int = 200,
    flashes: Sequence[tuple[str, str]] = (),
    **context: Any,
) -> HTMLResponse:
    """A page (or, for an htmx request, a fragment template) in the reader's locale."""
    locale = locale_for(request, account)
    _ = translator(locale)
    viewer = viewer_of(account) if account is not None else None
    nav = [
        {"key": key, "href": href, "label": _(label)}
        for key, href, label, roles in NAV
        if viewer is not None and (roles is None or viewer.can(*roles))
    ]
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    def say(message: Any, english: Any) -> str:
        """A reason stored as a message (``hub.i18n.Message.to_json``) in the reader's language, else as stored."""
        found = i18n.Message.from_json(message)
        return found.render(locale) if found is not None else str(english or "")

    def label(code: Any) -> str:
        text = LABELS.get(str(code))
        return _(text) if text else str(code)

    values: Mapping[str, Any] = {
        "_": _,
        "locale": locale,
        "html_lang": locale.replace("_", "-").replace("zh-CN", "zh-Hans-CN"),
        "locales": list(i18n.LOCALE_NAMES.items()),
        "user": viewer,
        "user_name": viewer.display_name if viewer else "",
        "user_roles": ", ".join(viewer.roles) if viewer else "",
        "csrf": viewer.csrf if viewer else "",
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "nav": nav,
        "active": active,
        "here": here,
        "title": title,
        "fmt": Formats(locale),
        "label": label,
        "say": say,
        "decider": lambda name: i18n.decider_label(name, locale),
        "bucket_title": lambda b: bucket_title(b, locale),
        "flag_name": lambda code: i18n.flag_label(str(code), locale),
        "flashes": list(flashes),
        **context,
    }
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
