"""Receipts: customer payments by state (matched, suggested for review, open); confirm a suggestion with one
click, reject it, undo a match; a receipt's evidence (``explain``) and a picker of a customer's open
invoices to allocate it by hand with amounts and write-offs."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from hub import i18n
from hub.errors import HubError
from hub.i18n import N_
from hub.web.auth import WebUser, current_user, hub_of, require
from hub.web.console.common import Formats, Paging, locale_for, render

router = APIRouter(include_in_schema=False)

#: The tabs: key, the receipts' match status, label.
TABS = (
    ("suggested", N_("Suggested")),
    ("matched", N_("Matched")),
    ("open", N_("Open")),
)
SORTS = ("booking_date", "amount", "payer_name", "id")
WRITE_OFF_REASONS = ("bank_fee", "discount", "small_balance", "dispute_settled", "other")


def _can_match(user: WebUser) -> bool:
    return user.has("finance")


@router.get("/receipts")
def receipts(request: Request, *, tab: str = "suggested", user: Annotated[WebUser, Depends(current_user)]) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    tab = tab if tab in dict(TABS) else "suggested"
    page = Paging.of(request, sort="-booking_date", allowed=SORTS, locale=locale)
    found = hub.matches.receipts(status=tab, q=page.q, sort=page.sort, limit=page.limit, offset=page.offset)
    page.total = found.total
    counts = {
        key: found.total if key == tab else hub.matches.receipts(status=key, limit=1, allocations=False).total
        for key, _label in TABS
    }
    _ = lambda m: i18n.gettext(locale, m)  # noqa: E731
    return render(
        request,
        "console/receipts.html",
        user,
        title=_("Receipts"),
        active="receipts",
        tabs=[(key, _(text)) for key, text in TABS],
        tab=tab,
        counts=counts,
        rows=found.items,
        page=page,
        can_match=_can_match(user),
    )


def _row(request: Request, key: str) -> dict[str, Any] | None:
    """The receipt's row as the list shows it, read again after an action."""
    for item in hub_of(request).matches.receipts(q=key, limit=50).items:
        if item["key"] == key:
            return item
    return None


def _after(request: Request, user: WebUser, key: str, message: str, *, error: bool = False) -> Response:
    """An htmx request gets the receipt's row again (its new state in place); a form, the receipt's page."""
    if "HX-Request" in request.headers:
        row = _row(request, key)
        if row is None:
            return Response(status_code=204)
        row["updated"] = not error
        row["message"] = message
        return render(request, "console/receipt_row.html", user, row=row, can_match=_can_match(user), status_code=200)
    return _detail(request, user, key, flashes=[("error" if error else "ok", message)])


def _act(request: Request, user: WebUser, key: str, action: str) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    try:
        if action == "confirm":
            hub.matches.confirm(key, actor=user.actor)
            message = i18n.gettext(locale, N_("Confirmed."))
        elif action == "reject":
            hub.matches.reject(key, actor=user.actor)
            message = i18n.gettext(locale, N_("Rejected: this pairing is not proposed again."))
        else:
            hub.matches.unmatch(key, actor=user.actor)
            message = i18n.gettext(locale, N_("Match undone: the invoices are open again."))
    except HubError as exc:
        return _after(request, user, key, i18n.error_text(locale, exc), error=True)
    return _after(request, user, key, message)


@router.post("/receipts/{key}/confirm")
def confirm(key: str, request: Request, *, user: Annotated[WebUser, Depends(require("finance"))]) -> Response:
    return _act(request, user, key, "confirm")


@router.post("/receipts/{key}/reject")
def reject(key: str, request: Request, *, user: Annotated[WebUser, Depends(require("finance"))]) -> Response:
    return _act(request, user, key, "reject")


@router.post("/receipts/{key}/unmatch")
def unmatch(key: str, request: Request, *, user: Annotated[WebUser, Depends(require("finance"))]) -> Response:
    return _act(request, user, key, "unmatch")


def _detail(
    request: Request,
    user: WebUser,
    key: str,
    *,
    customer: str | None = None,
    flashes: list[tuple[str, str]] | None = None,
    status_code: int = 200,
    considered: bool = False,
) -> Response:
    """``considered``: what the matchers weigh now for an open receipt as well (for finance, who may act on it:
    it reads the whole open book); the customer of the best reading is then the one whose open invoices the
    hand match lists, unless another is asked for."""
    considered = considered and _can_match(user)
    hub = hub_of(request)
    locale = locale_for(request)
    explained = hub.matches.explain(key, locale=locale, considered=considered)
    row = _row(request, key)
    if customer is None and row is not None:
        customer = next((a["customer_id"] for a in row.get("allocations", [])), None)
    if customer is None and explained.get("considered"):
        customer = explained["considered"][0]["lines"][0]["customer_id"]
    invoices: list[dict[str, Any]] = []
    if customer and _can_match(user):
        try:
            invoices = hub.exposures.invoices(customer, status="open", limit=200).items
        except HubError as exc:
            flashes = [*(flashes or []), ("error", i18n.error_text(locale, exc))]
        invoices = [i for i in invoices if i["remaining"] > 0]
    receipt = explained["receipt"]
    receipt["texts"] = [{**t, "shown": _advice_label(locale, t)} if "advice" in t else t for t in receipt["texts"]]
    return render(
        request,
        "console/receipt.html",
        user,
        title=i18n.gettext(locale, N_("Receipt %(ref)s"), ref=receipt["ref"]),
        active="receipts",
        r=receipt,
        allocations=explained["allocations"],
        considered=explained.get("considered"),
        threshold=explained["suggest_threshold"],
        customer=customer,
        invoices=invoices,
        write_off_reasons=WRITE_OFF_REASONS,
        can_match=_can_match(user),
        flashes=flashes or [],
        status_code=status_code,
    )


#: How a remittance advice was linked to its receipt (``advice_texts``' ``linked_by``), as the page says it.
ADVICE_LINKED_BY = {
    "end_to_end_id": N_("linked by the payment's end-to-end id"),
    "advice_number": N_("linked by its number written in the payment"),
    "payer_amount": N_("linked by payer and amount"),
}


def _advice_label(locale: str, text: dict[str, Any]) -> str:
    """The label of a text of a linked remittance advice in the reader's language: its number, file, date
    and amount, how it was linked, and whether it is the documents it lists."""
    about = text["advice"]
    fmt = Formats(locale)
    details = [x for x in (about.get("file"), fmt.date(about["date"]) if about.get("date") else None) if x]
    if about.get("amount") is not None:
        details.append(fmt.money(about["amount"], about.get("currency")))
    how = ADVICE_LINKED_BY.get(str(about.get("linked_by")))
    return i18n.gettext(
        locale,
        N_("remittance advice %(number)s (%(details)s), %(how)s: documents listed")
        if text.get("part") == "documents"
        else N_("remittance advice %(number)s (%(details)s), %(how)s"),
        number=about["number"],
        details=", ".join(details),
        how=i18n.gettext(locale, how) if how else str(about.get("linked_by")),
    )


@router.get("/receipts/{key}")
def receipt(
    key: str,
    request: Request,
    *,
    customer: str | None = None,
    considered: bool = False,
    user: Annotated[WebUser, Depends(current_user)],
) -> Response:
    return _detail(request, user, key, customer=(customer or "").strip() or None, considered=considered)


def _amount(text: Any) -> Decimal:
    value = str(text or "").strip().replace(",", "")
    if not value:
        return Decimal(0)
    try:
        return Decimal(value)
    except InvalidOperation:
        raise HubError(N_("%(value)s is not an amount"), values={"value": value}) from None


@router.post("/receipts/{key}/allocate")
async def allocate(key: str, request: Request, *, user: Annotated[WebUser, Depends(require("finance"))]) -> Response:
    """Allocate the receipt over the ticked invoices with the amounts entered (and write-offs, with a reason)."""
    hub = hub_of(request)
    locale = locale_for(request)
    form = await request.form()
    customer = str(form.get("customer") or "") or None
    try:
        lines = []
        for number in form.getlist("invoice"):
            number = str(number)
            lines.append((number, _amount(form.get(f"amount-{number}")), _amount(form.get(f"write_off-{number}"))))
        reason = str(form.get("reason") or "") or None
        note = str(form.get("note") or "").strip() or None
        hub.matches.allocate(key, lines, actor=user.actor, reason=reason, note=note)
    except HubError as exc:
        return _detail(
            request, user, key, customer=customer, flashes=[("error", i18n.error_text(locale, exc))], status_code=409
        )
    return RedirectResponse(f"/receipts/{key}", status_code=303)
