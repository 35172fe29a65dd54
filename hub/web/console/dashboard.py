"""Dashboard: where the book stands and how it moves: DSO, overdue by bucket, the automatic match rate by
day, promises kept and cash collected per week, as inline SVG charts (readable printed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from hub import i18n
from hub.i18n import N_
from hub.services import Trends
from hub.web.auth import WebUser, current_user, hub_of
from hub.web.charts import AGEING_COLOURS, Series, bar_chart, line_chart
from hub.web.console.common import bucket_title, locale_for, render

router = APIRouter(include_in_schema=False)

#: Charts two to a row: drawn at about the size they are shown, so their labels keep their size.
WIDTH, HEIGHT = 560, 240


def charts(trends: Any, locale: str) -> dict[str, str]:
    """Every dashboard chart as SVG, its texts in ``locale``."""

    def _(message: str, **values: object) -> str:
        return i18n.gettext(locale, message, **values)

    def day(d: Any) -> str:  # a short day for an axis: "14 Nov", "11月14日"
        return i18n.date(d, locale, style="M月d日" if locale == "zh_CN" else "d MMM")

    base = trends.base_currency
    no_history = _("No history yet: a point is added each day the risk run runs.")
    snaps = trends.snapshots
    out: dict[str, str] = {}
    out["dso"] = line_chart(
        [day(s.as_of) for s in snaps],
        [Series(_("DSO"), [s.dso for s in snaps])],
        aria=_("Days sales outstanding by day"),
        y_format=lambda v: _("%(days)s d", days=i18n.number(v, locale)),
        empty=no_history,
        width=WIDTH,
        height=HEIGHT,
    )
    overdue_buckets = [b for b in trends.buckets if b != "not_due"]
    out["overdue"] = bar_chart(
        [day(s.as_of) for s in snaps],
        [
            Series(bucket_title(b, locale), [float(s.buckets.get(b, 0)) for s in snaps], AGEING_COLOURS[i + 1])
            for i, b in enumerate(overdue_buckets[: len(AGEING_COLOURS) - 1])
        ],
        aria=_("Overdue by days past due, in %(currency)s", currency=base),
        y_format=lambda v: i18n.number(v, locale),
        y_label=base,
        empty=no_history,
        width=WIDTH,
        height=HEIGHT,
    )
    m = trends.matches
    out["matching"] = line_chart(
        [day(x.day) for x in m],
        [
            Series(_("matched in all"), [x.matched / x.receipts if x.receipts else None for x in m], "#9aa5b5"),
            Series(_("matched automatically"), [x.auto_rate for x in m], "#0b5fa5"),
        ],
        aria=_("Share of customer payments matched automatically, by booking day"),
        y_format=lambda v: i18n.percent(v, locale),
        y_min=0.0,
        y_max=1.0,
        empty=_("No payment in this period."),
        width=WIDTH,
        height=HEIGHT,
    )
    p = trends.promises
    out["promises"] = bar_chart(
        [day(w.week) for w in p],
        [
            Series(_("kept"), [float(w.kept) for w in p], "#1e7b3a"),
            Series(_("broken"), [float(w.broken) for w in p], "#a12222"),
            Series(_("still open"), [float(w.open) for w in p], "#9aa5b5"),
        ],
        aria=_("Promises to pay by the week they were due"),
        y_format=lambda v: i18n.number(v, locale),
        empty=_("No promise falls in this period."),
        width=WIDTH,
        height=HEIGHT,
    )
    c = trends.cash
    out["cash"] = bar_chart(
        [day(w.week) for w in c],
        [Series(_("collected"), [float(w.amount) for w in c], "#0b5fa5")],
        aria=_("Cash collected per week, in %(currency)s", currency=base),
        y_format=lambda v: i18n.number(v, locale),
        y_label=base,
        empty=_("No payment in this period."),
        width=WIDTH,
        height=HEIGHT,
    )
    return out


@router.get("/")
def dashboard(request: Request, *, user: Annotated[WebUser, Depends(current_user)]) -> Response:
    hub = hub_of(request)
    locale = locale_for(request)
    trends = Trends(hub).dashboard()
    book = hub.book_state()
    latest = trends.snapshots[-1] if trends.snapshots else None
    kept = [w for w in trends.promises if w.kept_rate is not None]
    kept_rate = sum(w.kept for w in kept) / max(sum(w.kept + w.broken for w in kept), 1) if kept else None
    decided = [x for x in trends.matches if x.receipts]
    auto_rate = sum(x.automatic for x in decided) / max(sum(x.receipts for x in decided), 1) if decided else None
    return render(
        request,
        "console/dashboard.html",
        user,
        title=i18n.gettext(locale, N_("Dashboard")),
        active="dashboard",
        trends=trends,
        charts=charts(trends, locale),
        book=book,
        latest=latest,
        kept_rate=kept_rate,
        auto_rate=auto_rate,
        cash_total=sum((w.amount for w in trends.cash), start=0),
    )
