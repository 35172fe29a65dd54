"""Cases: litigation, arbitration and agency cases after the ladder (list; one case with its invoices, costs,
recoveries, documents and history; forms to change its status, record a cost or a recovery), and the
late-payment interest table on a customer's page (``/customers/{id}/interest``, pulled in by htmx)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from hub import i18n
from hub.errors import HubError
from hub.i18n import N_
from hub.web.auth import WebUser, current_user, hub_of, require
from hub.web.console.common import Paging, locale_for, page_slice, render
from hub.web.console.customers import parse_amount, parse_day

router = APIRouter(include_in_schema=False)

CASE_STATUSES = ("open", "filed", "judgment", "settled", "closed", "written_off")
CASE_KINDS = ("litigation", "arbitration", "agency")
COST_KINDS = ("court_fee", "lawyer_fee", "agency_commission", "other")
#: Case statuses, kinds and cost kinds as the console shows them.
CASE_LABELS: dict[str, str] = {
    "open": N_("in progress"),
    "filed": N_("filed"),
    "judgment": N_("judgment"),
    "settled": N_("settled"),
    "closed": N_("closed"),
    "written_off": N_("written off"),
    "litigation": N_("litigation"),
    "arbitration": N_("arbitration"),
    "agency": N_("collection agency"),
    "court_fee": N_("court fee"),
    "lawyer_fee": N_("lawyer's fee"),
    "agency_commission": N_("agency commission"),
    "other": N_("other"),
}
WRITERS = ("credit", "finance")


def _label(locale: str) -> Any:
    def label(code: Any) -> str:
        text = CASE_LABELS.get(str(code))
        return i18n.gettext(locale, text) if text else str(code)

    return label


@router.get("/cases")
def cases(
    request: Request, *, status: str = "", kind: str = "", user: Annotated[WebUser, Depends(current_user)]
) -> Response:
    return _cases_page(request, user, status=status, kind=kind)


def _cases_page(
    request: Request,
    user: WebUser,
    *,
    status: str = "",
    kind: str = "",
    flashes: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    page = Paging.of(request, sort="-opened", allowed=("opened",), locale=locale)
    found = hub.cases.list(
        status=status if status in (*CASE_STATUSES, "active") else None,
        kind=kind if kind in CASE_KINDS else None,
        customer_id=None,
    )
    if page.q:
        needle = page.q.lower()
        found = [
            c
            for c in found
            if needle in f"{c['customer_id']} {c['court'] or ''} {c['agency'] or ''} {c['case_number'] or ''}".lower()
        ]
    if page.sort == "opened":
        found.reverse()
    return render(
        request,
        "console/cases.html",
        user,
        title=i18n.gettext(locale, N_("Cases")),
        active="cases",
        cases=page_slice(found, page),
        page=page,
        status=status,
        kind=kind,
        statuses=CASE_STATUSES,
        kinds=CASE_KINDS,
        case_label=_label(locale),
        can_write=user.has(*WRITERS),
        flashes=flashes or [],
        status_code=status_code,
    )


def _case_page(
    request: Request,
    user: WebUser,
    case_id: int,
    *,
    flashes: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    try:
        case = hub.cases.show(case_id)
    except HubError as exc:
        return render(
            request,
            "console/cases_missing.html",
            user,
            title=i18n.gettext(locale, N_("Cases")),
            active="cases",
            message=i18n.error_text(locale, exc),
            status_code=404,
        )
    return render(
        request,
        "console/cases_detail.html",
        user,
        title=i18n.gettext(locale, N_("Case %(case)s"), case=case_id),
        active="cases",
        case=case,
        case_label=_label(locale),
        cost_kinds=COST_KINDS,
        can_write=user.has(*WRITERS),
        flashes=flashes or [],
        status_code=status_code,
    )


@router.post("/cases/open")
async def open_case(request: Request, *, user: Annotated[WebUser, Depends(require(*WRITERS))]) -> Response:
    """Open a case from the form on the Cases page; the new case's page follows."""
    locale = locale_for(request)
    form = await request.form()
    text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    kind = text.get("kind", "")
    where, ref = text.get("where") or None, text.get("ref") or None
    try:
        case = hub_of(request).cases.open(
            text.get("customer", ""),
            kind=kind,
            actor=user.actor,
            court=where if kind != "agency" else None,
            case_number=ref if kind != "agency" else None,
            agency=where if kind == "agency" else None,
            agency_ref=ref if kind == "agency" else None,
            note=text.get("note") or None,
        )
    except HubError as exc:
        return _cases_page(request, user, flashes=[("error", i18n.error_text(locale, exc))], status_code=409)
    return RedirectResponse(f"/cases/{case['id']}", status_code=303)


@router.get("/cases/{case_id}/handover")
def handover(
    case_id: int,
    request: Request,
    *,
    lang: str = "",
    fmt: str = "xlsx",
    user: Annotated[WebUser, Depends(current_user)],
) -> Response:
    """The handover file for the agency or lawyer, in the reader's language (or ``lang``)."""
    import tempfile
    from pathlib import Path

    locale = lang if lang in i18n.LOCALE_NAMES else locale_for(request)
    chosen = "csv" if fmt == "csv" else "xlsx"
    suffix = "zip" if chosen == "csv" else "xlsx"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"case-{case_id}.{suffix}"
        try:
            hub_of(request).cases.handover(case_id, str(path), fmt=chosen, language=locale, actor=user.actor)
        except HubError as exc:
            return _case_page(
                request, user, case_id, flashes=[("error", i18n.error_text(locale, exc))], status_code=404
            )
        body = path.read_bytes()
    media = (
        "application/zip" if chosen == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}-handover.{suffix}"'},
    )


@router.get("/cases/{case_id}")
def case_detail(case_id: int, request: Request, *, user: Annotated[WebUser, Depends(current_user)]) -> Response:
    return _case_page(request, user, case_id)


async def _act(request: Request, user: WebUser, case_id: int, action: str) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    form = await request.form()
    text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    try:
        if action == "status":
            hub.cases.set_status(case_id, text.get("status", ""), actor=user.actor, note=text.get("note") or None)
            done = N_("Status changed.")
        elif action == "cost":
            amount = parse_amount(text.get("amount"))
            if amount is None:
                raise HubError(N_("give an amount"))
            hub.cases.add_cost(
                case_id,
                amount,
                kind=text.get("kind", "other"),
                actor=user.actor,
                incurred_on=parse_day(text.get("date")),
                description=text.get("description") or None,
            )
            done = N_("Cost recorded.")
        else:
            amount = parse_amount(text.get("amount"))
            if amount is None:
                raise HubError(N_("give an amount"))
            commission: Decimal | None = parse_amount(text.get("commission"))
            hub.cases.recovery(
                case_id,
                amount,
                ref=text.get("ref", ""),
                actor=user.actor,
                booked_on=parse_day(text.get("date")),
                commission=commission,
            )
            done = N_("Recovery recorded and allocated.")
    except HubError as exc:
        return _case_page(request, user, case_id, flashes=[("error", i18n.error_text(locale, exc))], status_code=409)
    if "HX-Request" in request.headers:
        return _case_page(request, user, case_id, flashes=[("ok", i18n.gettext(locale, done))])
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/status")
async def change_status(
    case_id: int, request: Request, *, user: Annotated[WebUser, Depends(require(*WRITERS))]
) -> Response:
    return await _act(request, user, case_id, "status")


@router.post("/cases/{case_id}/cost")
async def add_cost(case_id: int, request: Request, *, user: Annotated[WebUser, Depends(require(*WRITERS))]) -> Response:
    return await _act(request, user, case_id, "cost")


@router.post("/cases/{case_id}/recovery")
async def add_recovery(
    case_id: int, request: Request, *, user: Annotated[WebUser, Depends(require(*WRITERS))]
) -> Response:
    return await _act(request, user, case_id, "recovery")


@router.get("/customers/{customer_id}/interest")
def interest(customer_id: str, request: Request, *, user: Annotated[WebUser, Depends(current_user)]) -> Response:
    """The customer's late-payment interest as a small table (a fragment the customer's page loads)."""
    hub = hub_of(request)
    lines = hub.interest.lines(customer_id)
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.total
    return render(
        request,
        "console/interest.html",
        user,
        lines=lines,
        totals=sorted(totals.items()),
        rule=hub.config.interest.rule,
        as_of=hub.as_of(),
        cases=hub.cases.list(customer_id=customer_id),
        case_label=_label(locale_for(request)),
    )
