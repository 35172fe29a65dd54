"""The HTML report as one self-contained page a person can open, print or mail: rendering only.

:func:`render_report` turns the figures of a :class:`hub.report.figures.Report` into the page, and
reads nothing else (no database, no store: those figures are read by :mod:`hub.report.figures`):

- key figures: customers, open receivables and overdue in the base currency, the match rate;
- the ageing of all receivables (an SVG bar chart, each bar labelled with its amount);
- customers and open receivables per risk band, active flags per code (a bar chart);
- the largest exposures, the largest groups, and the collection steps due;
- each bureau's latest view of a customer (score, band, recommended limit, legal events) beside
  the hub's own score and band.

A total that leaves customers or receipts out for a missing exchange rate says so in a warning
above it. The page needs nothing outside itself: no script, no stylesheet, font or image from
anywhere else; the charts are inline SVG drawn here. Every value from the store is escaped with
:func:`html.escape`.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import TYPE_CHECKING, Any

import hub.i18n as i18n
from hub.fmt import DASH, format_money
from hub.i18n import N_

if TYPE_CHECKING:
    from hub.report.figures import Report

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

#: How the page names each kind of receipt of the match rate (:data:`hub.report.figures.MATCH_KINDS`).
MATCH_TITLES = {
    "auto": N_("matched automatically"),
    "confirmed": N_("confirmed by a person"),
    "suggested": N_("suggested, awaiting review"),
    "open": N_("open, nothing proposed"),
}


#: The default collection ladder's steps (``[collections] ladders``), named in the page's language;
#: a step of another name is shown as configured.
LADDER_ACTIONS = (
    N_("friendly reminder"),
    N_("call"),
    N_("visit"),
    N_("lawyer's letter"),
    N_("litigation or agency"),
)


class Words:
    """The page's language: its texts (gettext) and how it writes numbers, money and days.

    English keeps the report as it always read (ISO days, ``1,234.56``); another locale gets its
    translations and the numbers and dates of :mod:`hub.i18n`.
    """

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.english = locale == i18n.DEFAULT_LOCALE

    def gettext(self, message: str, /, **values: object) -> str:
        return i18n.gettext(self.locale, message, **values)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        return i18n.ngettext(self.locale, singular, plural, n, **{"count": self.count(n), **values})

    def money(self, amount: Decimal | None) -> str:
        """``1,234.56``; an en dash when there is no amount."""
        if amount is None:
            return DASH
        rounded = amount.quantize(CENT, ROUND_HALF_UP)
        return format_money(rounded) if self.english else i18n.number(rounded, self.locale, places=2)

    def count(self, n: int | None) -> str:
        if n is None:
            return DASH
        return str(n) if self.english else i18n.number(n, self.locale)

    def day(self, value: dt.date | str | None) -> str:
        if value is None or value == "":
            return DASH
        if isinstance(value, str):
            try:
                day = dt.date.fromisoformat(value)
            except ValueError:
                return value
        else:
            day = value
        return day.isoformat() if self.english else i18n.date(day, self.locale)

    def moment(self, value: dt.datetime) -> str:
        if self.english:
            return f"{value:%Y-%m-%d %H:%M} UTC"
        _ = self.gettext
        moment = f"{i18n.date(value.date(), self.locale)} {value:%H:%M}"
        return _("%(time)s UTC", time=moment)

    def days_list(self, days: Sequence[dt.date]) -> str:
        return ", ".join(self.day(d) for d in days) if self.english else "、".join(self.day(d) for d in days)

    def bucket(self, label: str) -> str:
        """``1-30 days`` for ``d1_30``, ``over 90 days`` for ``d90_plus``, ``not yet due``."""
        _ = self.gettext
        if label == "not_due":
            return _("not yet due")
        if m := re.fullmatch(r"d(\d+)_(\d+)", label):
            return _("%(low)s\u2013%(high)s days", low=m.group(1), high=m.group(2))
        if m := re.fullmatch(r"d(\d+)_plus", label):
            return _("over %(days)s days", days=m.group(1))
        return label


def render_report(report: Report, locale: str = i18n.DEFAULT_LOCALE) -> str:
    """The HTML page of a :class:`Report`, in ``locale`` (``en`` or ``zh_CN``)."""
    r, w = report, Words(locale)
    _ = w.gettext
    sections = [
        _key_figures(r, w),
        _ageing(r, w),
        _bands(r, w),
        _flags(r, w),
        _top_exposures(r, w),
        _bureaus(r, w),
        _groups(r, w),
        _matching(r, w),
        _collections(r, w),
    ]
    return PAGE.substitute(
        lang="zh-CN" if locale == "zh_CN" else "en",
        title=esc(_("Receivables report as of %(day)s", day=w.day(r.as_of))),
        css=CSS,
        header=_header(r, w),
        nav=_nav(w),
        sections="\n".join(sections),
        footer=esc(
            _(
                "Generated by the receivables hub from the last risk run. Amounts in %(base)s unless a "
                "currency is named; customers' amounts are converted at the rate of that run.",
                base=r.base_currency,
            )
        ),
    )


def esc(value: Any) -> str:
    """Any value as HTML text (quotes too, so it is safe in an attribute)."""
    return escape("" if value is None else str(value), quote=True)


def money(amount: Decimal | None) -> str:
    """``1,234.56``; an en dash when there is no amount."""
    return DASH if amount is None else format_money(amount.quantize(CENT, ROUND_HALF_UP))


def pct(value: Decimal | None) -> str:
    return DASH if value is None else f"{value}%"


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """``part`` as a percentage of ``whole`` with one decimal (half up); None when ``whole`` is zero."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def _score(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def _amt(w: Words, amount: Decimal | None, currency: str | None = None) -> str:
    text = f'<span class="amt">{esc(w.money(amount))}</span>'
    if currency and amount is not None:
        text += f' <span class="ccy">{esc(currency)}</span>'
    return text


def _table(cls: str, head: Sequence[tuple[str, str]], rows: Sequence[str], caption: str = "") -> str:
    """A table; ``head`` is (css class, title) per column, ``rows`` are ready ``<tr>`` strings."""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    ths = "".join(f'<th{_class(c)} scope="col">{esc(t)}</th>' for c, t in head)
    return f'<table class="{cls}">{cap}<thead><tr>{ths}</tr></thead><tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


def _class(names: str) -> str:
    return f' class="{names}"' if names else ""


def _header(r: Report, w: Words) -> str:
    _ = w.gettext
    dates = w.days_list(r.exposure_dates)
    risk_run = (
        _("as of %(days)s (computed %(time)s)", days=dates, time=w.moment(r.computed_at))
        if r.computed_at
        else _("as of %(days)s", days=dates)
    )
    items = [
        ("as-of", _("As of"), w.day(r.as_of)),
        ("base-currency", _("Base currency"), r.base_currency),
        ("risk-run", _("Risk run"), risk_run),
        ("generated-at", _("Generated"), w.moment(r.generated_at)),
    ]
    meta = "".join(f'<div><dt>{esc(t)}</dt><dd id="{i}">{esc(v)}</dd></div>' for i, t, v in items)
    return f'<h1>{esc(_("Receivables report"))}</h1><dl class="meta">{meta}</dl>'


def _nav(w: Words) -> str:
    _ = w.gettext
    links = [
        ("key-figures", _("Key figures")),
        ("ageing", _("Ageing")),
        ("bands", _("Bands")),
        ("flags", _("Flags")),
        ("top-exposures", _("Largest exposures")),
        ("bureaus", _("Bureaus")),
        ("groups", _("Groups")),
        ("matching", _("Cash application")),
        ("collections", _("Collections")),
    ]
    return "<nav>" + " ".join(f'<a href="#{a}">{esc(t)}</a>' for a, t in links) + "</nav>"


def _figure(fid: str, value: str, label: str, sub: str = "") -> str:
    sub_html = f'<span class="sub">{sub}</span>' if sub else ""
    return (
        f'<div class="figure" id="{fid}"><span class="value">{value}</span>'
        f'<span class="label">{esc(label)}</span>{sub_html}</div>'
    )


def _key_figures(r: Report, w: Words) -> str:
    _, _n = w.gettext, w.ngettext
    base = r.base_currency
    overdue_share = percent(r.overdue_base, r.open_base)
    by_count = percent(r.matched_count, r.receipt_count)
    by_amount = percent(r.matched_amount, r.receipt_amount)
    of_open = esc(_("%(share)s of open", share="\0"))
    figures = [
        _figure("kf-customers", esc(w.count(len(r.customers))), _("customers assessed")),
        _figure("kf-open", _amt(w, r.open_base, base), _("open receivables")),
        _figure(
            "kf-overdue",
            _amt(w, r.overdue_base, base),
            _("overdue"),
            of_open.replace("\0", f'<span class="pct">{esc(pct(overdue_share))}</span>'),
        ),
        _figure(
            "kf-match-count",
            f'<span class="pct">{esc(pct(by_count))}</span>',
            _("receipts matched (by number)"),
            esc(_("%(part)s of %(whole)s", part=w.count(r.matched_count), whole=w.count(r.receipt_count))),
        ),
        _figure(
            "kf-match-amount",
            f'<span class="pct">{esc(pct(by_amount))}</span>',
            _("receipts matched (by amount)"),
            esc(_("%(part)s of %(whole)s", part="\0", whole="\1"))
            .replace("\0", _amt(w, r.matched_amount))
            .replace("\1", _amt(w, r.receipt_amount, base)),
        ),
        _figure("kf-flagged", esc(w.count(r.flagged_customers)), _("customers with active flags")),
        _figure("kf-due", esc(w.count(len(r.due))), _("collection steps due")),
    ]
    # What a total leaves out for a missing rate is said first, and loudly: a figure that silently
    # drops a currency is worse than no figure.
    warnings = []
    for ccy, (n, amount) in r.no_rate.items():
        warnings.append(
            _n(
                "Left out: %(count)s customer in %(ccy)s (%(amount)s %(ccy)s open) had no exchange rate to "
                "%(base)s and is missing from every %(base)s total below; add a rate ([fx] rates or a synced "
                "rate) and run 'hub risk' again.",
                "Left out: %(count)s customers in %(ccy)s (%(amount)s %(ccy)s open) had no exchange rate to "
                "%(base)s and are missing from every %(base)s total below; add a rate ([fx] rates or a synced "
                "rate) and run 'hub risk' again.",
                n,
                ccy=ccy,
                amount=w.money(amount),
                base=base,
            )
        )
    for ccy, amount in r.unconverted.items():
        warnings.append(
            _(
                "Left out: %(amount)s %(ccy)s inside customers' exposure had no rate to the customer's currency "
                "and is not included in any figure.",
                amount=w.money(amount),
                ccy=ccy,
            )
        )
    notes = []
    if r.exposure_dates and r.exposure_dates != [r.as_of]:
        notes.append(
            _(
                "The exposure figures are from the risk run as of %(days)s; collection steps are counted as due "
                "on or before %(day)s.",
                days=w.days_list(r.exposure_dates),
                day=w.day(r.as_of),
            )
        )
    note_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    warning_html = "".join(f'<p class="warning" role="alert">{esc(x)}</p>' for x in warnings)
    return (
        f'<section id="key-figures"><h2>{esc(_("Key figures"))}</h2>{warning_html}'
        f'<div class="figures">{"".join(figures)}</div>{note_html}</section>'
    )


# The ageing buckets from "not yet due" to the oldest: a calm blue, then warmer as payment gets later.
AGEING_COLOURS = ["#4a7ab5", "#e0b040", "#e08a30", "#d4622a", "#b83a2a", "#8c1d1d"]


def _bar_chart(
    items: Sequence[tuple[str, str, Decimal, str]], *, aria: str, colours: Sequence[str], width: int = 760
) -> str:
    """A vertical bar chart as inline SVG: one (key, title, value, value text) per bar, each bar labelled."""
    height, top, bottom, side = 280, 30, 46, 12
    plot_h = height - top - bottom
    n = max(len(items), 1)
    slot = (width - 2 * side) / n
    bar_w = slot * 0.62
    high = max([v for _, _, v, _ in items] + [ZERO])
    low = min([v for _, _, v, _ in items] + [ZERO])
    span = float(high - low) or 1.0
    zero_y = top + plot_h * float(high) / span
    font = min(12.0, slot / 7.5)
    parts = [
        f'<svg class="chart" role="img" aria-label="{esc(aria)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet">',
        f'<line class="axis" x1="{side}" y1="{zero_y:.1f}" x2="{width - side}" y2="{zero_y:.1f}"/>',
    ]
    for i, (key, title, value, text) in enumerate(items):
        h = plot_h * abs(float(value)) / span
        x = side + i * slot + (slot - bar_w) / 2
        y = zero_y - h if value >= 0 else zero_y
        cx = side + i * slot + slot / 2
        label_y = y - 6 if value >= 0 else y + h + font + 2
        colour = colours[min(i, len(colours) - 1)]
        parts.append(
            f'<g class="bar" data-key="{esc(key)}"><title>{esc(title)}: {esc(text)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" fill="{colour}"/>'
            f'<text class="value" x="{cx:.1f}" y="{label_y:.1f}" font-size="{font:.1f}" '
            f'text-anchor="middle">{esc(text)}</text>'
            f'<text class="label" x="{cx:.1f}" y="{height - bottom + 20:.1f}" font-size="{font:.1f}" '
            f'text-anchor="middle">{esc(title)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _hbar_chart(items: Sequence[tuple[str, int]], *, aria: str, width: int = 760) -> str:
    """A horizontal bar chart as inline SVG: one (label, count) per bar, the count written after it."""
    row, top, label_w, side = 26, 8, 230, 12
    height = top * 2 + row * len(items)
    plot_w = width - label_w - side - 60
    high = max([n for _, n in items] + [1])
    parts = [
        f'<svg class="chart" role="img" aria-label="{esc(aria)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet">'
    ]
    for i, (label, n) in enumerate(items):
        y = top + i * row
        w = plot_w * n / high
        parts.append(
            f'<g class="bar" data-key="{esc(label)}"><title>{esc(label)}: {esc(n)}</title>'
            f'<text class="label" x="{label_w - 8}" y="{y + row * 0.62:.1f}" font-size="12" '
            f'text-anchor="end">{esc(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 0.5):.1f}" height="{row - 8}" fill="#b83a2a"/>'
            f'<text class="value" x="{label_w + w + 6:.1f}" y="{y + row * 0.62:.1f}" font-size="12">{esc(n)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _ageing(r: Report, w: Words) -> str:
    _ = w.gettext
    base = r.base_currency
    items = [
        (label, w.bucket(label), r.buckets_base.get(label, ZERO), w.money(r.buckets_base.get(label, ZERO)))
        for label in r.labels
    ]
    chart = _bar_chart(
        items, aria=_("Open receivables by days past due, in %(base)s", base=base), colours=AGEING_COLOURS
    )
    rows = [
        f'<tr data-key="{esc(key)}"><th scope="row">{esc(title)}</th><td class="num">{_amt(w, value)}</td>'
        f'<td class="num pct">{esc(pct(percent(value, r.open_base)))}</td></tr>'
        for key, title, value, _text in items
    ]
    rows.append(
        f'<tr class="total"><th scope="row">{esc(_("all open"))}</th><td class="num">{_amt(w, r.open_base)}</td>'
        f'<td class="num pct">{esc(pct(percent(r.open_base, r.open_base)))}</td></tr>'
    )
    head = [("", _("days past due")), ("num", _("open (%(base)s)", base=base)), ("num", _("share"))]
    table = _table("ageing", head, rows)
    return (
        f'<section id="ageing"><h2>{esc(_("Ageing of open receivables (%(base)s)", base=base))}</h2>'
        f'<div class="chart-box">{chart}</div>{table}</section>'
    )


def _bands(r: Report, w: Words) -> str:
    _ = w.gettext
    base = r.base_currency
    rows = [
        f'<tr data-band="{esc(band or "")}"><th scope="row"><span class="band band-{esc(band or "none")}">'
        f'{esc(band or _("unscored"))}</span></th><td class="num count">{esc(w.count(n))}</td>'
        f'<td class="num">{_amt(w, amount)}</td><td class="num pct">{esc(pct(percent(amount, r.open_base)))}</td></tr>'
        for band, n, amount in r.bands
    ]
    head = [
        ("", _("band")),
        ("num", _("customers")),
        ("num", _("open (%(base)s)", base=base)),
        ("num", _("share of open")),
    ]
    return f'<section id="bands"><h2>{esc(_("Risk bands"))}</h2>{_table("bands", head, rows)}</section>'


def _flags(r: Report, w: Words) -> str:
    _, _n = w.gettext, w.ngettext
    if not r.flags:
        body = f'<p class="empty">{esc(_("No active flags."))}</p>'
    else:
        # English keeps the codes the CRMs carry; another language names each flag
        named = r.flags if w.english else [(i18n.flag_label(code, w.locale), n) for code, n in r.flags]
        flagged = _n(
            "%(count)s customer with at least one active flag;",
            "%(count)s customers with at least one active flag;",
            r.flagged_customers,
        )
        total = sum(n for _code, n in r.flags)
        in_all = _n("%(count)s active flag in all.", "%(count)s active flags in all.", total)
        body = (
            f'<div class="chart-box">{_hbar_chart(named, aria=_("Active flags per code"))}</div>'
            f'<p class="note">{esc(flagged)} {esc(in_all)}</p>'
        )
    return f'<section id="flags"><h2>{esc(_("Active flags"))}</h2>{body}</section>'


def _next_action(plan: dict[str, Any] | None, as_of: dt.date, w: Words) -> str:
    """The planned collection step in a few words, with its reason sentence as the cell's tooltip."""
    _ = w.gettext
    if not plan:
        return DASH
    reason = esc(i18n.reason_text(w.locale, plan.get("message"), str(plan.get("reason") or "")))
    if plan.get("paused_until"):
        text = _(
            "waiting: promise to pay by %(promised)s, paused until %(until)s",
            promised=w.day(plan.get("promised_date")),
            until=w.day(plan["paused_until"]),
        )
        return f'<span class="plan paused" title="{reason}">{esc(text)}</span>'
    if plan.get("ladder_done"):
        return f'<span class="plan done" title="{reason}">{esc(_("every collection step taken"))}</span>'
    if plan.get("paused_by_dispute"):
        text = _("waiting: every overdue invoice is disputed")
        return f'<span class="plan paused" title="{reason}">{esc(text)}</span>'
    due_on = str(plan.get("due_on") or "")
    due = bool(due_on) and due_on <= as_of.isoformat()
    when = _("due %(day)s", day=w.day(due_on)) if due else _("from %(day)s", day=w.day(due_on))
    if plan.get("escalated"):
        when = _("%(when)s, brought forward by a broken promise", when=when)
    action = str(plan.get("action", "?"))
    return (
        f'<span class="plan{" due" if due else ""}" title="{reason}">{esc(_(action) if action else "?")}</span> '
        f'<span class="sub">{esc(plan.get("owner", "?"))}, {esc(when)}</span>'
    )


def _top_exposures(r: Report, w: Words) -> str:
    _, _n = w.gettext, w.ngettext
    base = r.base_currency
    rows = []
    for i, c in enumerate(r.top, 1):
        limit = _amt(w, c.credit_limit)
        if c.recommended_limit is not None and c.recommended_limit != c.credit_limit:
            limit += (
                f' <span class="sub">{esc(_("recommended"))} '
                f'<span class="rec">{esc(w.money(c.recommended_limit))}</span></span>'
            )
        flags = (
            " ".join(
                f'<span class="flag" title="{esc(i18n.flag_label(code, w.locale))}">'
                f"{esc(code if w.english else i18n.flag_label(code, w.locale))}</span>"
                for code in c.flags
            )
            or DASH
        )
        open_base = _amt(w, c.open_base, base) if c.open_base is not None else esc(_("no rate"))
        used = esc(_("%(share)s used", share=_ratio(c.utilisation)))
        rows.append(
            f'<tr data-customer="{esc(c.customer_id)}"><td class="num rank">{i}</td>'
            f'<td class="c-name">{esc(c.name or c.customer_id)} <span class="sub">{esc(c.customer_id)}</span></td>'
            f'<td class="c-band"><span class="band band-{esc(c.band or "none")}">{esc(c.band or DASH)}</span> '
            f'<span class="sub c-score">{esc(_score(c.score))}</span></td>'
            f'<td class="num c-open">{_amt(w, c.open_amount, c.currency)} '
            f'<span class="sub c-open-base">{open_base}</span></td>'
            f'<td class="num c-overdue">{_amt(w, c.overdue_amount, c.currency)}</td>'
            f'<td class="num c-limit">{limit} <span class="sub c-util">{used}</span></td>'
            f'<td class="c-flags">{flags}</td><td class="c-next">{_next_action(c.next_action, r.as_of, w)}</td></tr>'
        )
    head = [
        ("num", "#"),
        ("", _("customer")),
        ("", _("band")),
        ("num", _("open (in %(base)s)", base=base)),
        ("num", _("overdue")),
        ("num", _("limit")),
        ("", _("flags")),
        ("", _("next collection step")),
    ]
    caption = _n(
        "The %(top)s largest of %(count)s customer by open receivables in %(base)s; "
        "limits are in the customer's currency.",
        "The %(top)s largest of %(count)s customers by open receivables in %(base)s; "
        "limits are in the customer's currency.",
        len(r.customers),
        top=len(r.top),
        base=base,
    )
    return (
        f'<section id="top-exposures" class="wide"><h2>{esc(_("Largest exposures"))}</h2>'
        f'<div class="scroll">{_table("top", head, rows, caption)}</div></section>'
    )


#: Rows of the bureau table at most (the lowest bureau scores first).
BUREAUS_SHOWN = 30

#: The kinds of legal event a bureau reports (:class:`hub.model.LegalEventKind`), as a person reads them.
LEGAL_KINDS = {
    "insolvency": N_("insolvency"),
    "dishonest_debtor": N_("dishonest debtor"),
    "consumption_restriction": N_("consumption restriction"),
    "enforcement": N_("enforcement"),
    "abnormal_operation": N_("abnormal operation"),
    "lawsuit": N_("lawsuit"),
    "other": N_("other"),
}


def _bureaus(r: Report, w: Words) -> str:
    _, _n = w.gettext, w.ngettext
    if not r.bureaus:
        empty = _("No bureau reports: connect a bureau or a bureau-file delivery.")
        return f'<section id="bureaus"><h2>{esc(_("Bureau views"))}</h2><p class="empty">{esc(empty)}</p></section>'
    rows = []
    for b in r.bureaus[:BUREAUS_SHOWN]:
        score = esc(_score(b.score)) if b.score is not None else esc(_("not rated"))
        if b.previous_score is not None:
            was = _("was %(score)s on %(day)s", score=_score(b.previous_score), day=w.day(b.previous_date))
            score += f' <span class="sub">{esc(was)}</span>'
        band = f'<span class="band band-{esc(b.band or "none")}">{esc(b.band or DASH)}</span>'
        if b.previous_band and b.previous_band != b.band:
            band += f' <span class="sub">{esc(_("was %(band)s", band=b.previous_band))}</span>'
        limit = _amt(w, b.recommended_limit, b.currency) if b.recommended_limit is not None else DASH
        events = "".join(
            f'<li data-kind="{esc(kind)}">'
            f"{esc(kind if w.english or kind not in LEGAL_KINDS else _(LEGAL_KINDS[kind]))} "
            f"{esc(w.day(day) if day else _('undated'))}: {esc(text)}"
            + "".join(f' <span class="sub">{esc(x)}</span>' for x in (court, case) if x)
            + (f" {_amt(w, amount, ccy)}" if amount is not None else "")
            + "</li>"
            for kind, day, text, court, case, amount, ccy in b.events
        )
        rows.append(
            f'<tr data-customer="{esc(b.customer_id)}" data-bureau="{esc(b.bureau)}">'
            f'<td class="c-name">{esc(b.name or b.customer_id)} <span class="sub">{esc(b.customer_id)}</span></td>'
            f'<td class="c-hub"><span class="band band-{esc(b.hub_band or "none")}">{esc(b.hub_band or DASH)}</span> '
            f'<span class="sub">{esc(_score(b.hub_score))}</span></td>'
            f'<td class="c-bureau">{esc(b.bureau)} <span class="sub">{esc(w.day(b.report_date))}</span></td>'
            f'<td class="num c-score">{score}</td><td class="c-band">{band}</td><td class="num c-limit">{limit}</td>'
            f'<td class="c-events">{f"<ul>{events}</ul>" if events else DASH}</td></tr>'
        )
    head = [
        ("", _("customer")),
        ("", _("hub")),
        ("", _("bureau, report of")),
        ("num", _("bureau score")),
        ("", _("bureau band")),
        ("num", _("recommended limit")),
        ("", _("legal events")),
    ]
    caption = _n(
        "%(shown)s of %(count)s bureau view, the lowest bureau scores first; scores 0-100, higher is safer.",
        "%(shown)s of %(count)s bureau views, the lowest bureau scores first; scores 0-100, higher is safer.",
        len(r.bureaus),
        shown=w.count(len(r.bureaus[:BUREAUS_SHOWN])),
    )
    return (
        f'<section id="bureaus" class="wide"><h2>{esc(_("Bureau views"))}</h2>'
        f'<div class="scroll">{_table("bureaus", head, rows, caption)}</div></section>'
    )


def _groups(r: Report, w: Words) -> str:
    _, _n = w.gettext, w.ngettext
    base = r.base_currency
    if not r.groups:
        empty = _("No groups: no customer has a parent with other customers under it.")
        return f'<section id="groups"><h2>{esc(_("Groups"))}</h2><p class="empty">{esc(empty)}</p></section>'
    rows = [
        f'<tr data-group="{esc(g.group_id)}"><td class="c-group">{esc(g.group_id)}</td>'
        f'<td class="c-name">{esc(g.name or "")}</td><td class="num c-members">{esc(w.count(g.members))}</td>'
        f'<td class="num c-open">{_amt(w, g.open_amount, g.currency)}</td>'
        f'<td class="num c-open-base">{_amt(w, g.open_base) if g.open_base is not None else esc(_("no rate"))}</td>'
        f'<td class="num c-overdue">{_amt(w, g.overdue_amount, g.currency)}</td>'
        f'<td class="num c-limit">{_amt(w, g.credit_limit)}</td>'
        f'<td class="num c-util">{esc(_ratio(g.utilisation))}</td>'
        "</tr>"
        for g in r.groups
    ]
    head = [
        ("", _("group")),
        ("", _("parent")),
        ("num", _("members")),
        ("num", _("open")),
        ("num", _("open (%(base)s)", base=base)),
        ("num", _("overdue")),
        ("num", _("limit")),
        ("num", _("used")),
    ]
    caption = _n(
        "The %(top)s largest of %(count)s group (a parent and its subsidiaries) by open receivables in %(base)s; "
        "amounts in the parent's currency.",
        "The %(top)s largest of %(count)s groups (a parent and its subsidiaries) by open receivables in %(base)s; "
        "amounts in the parent's currency.",
        r.group_count,
        top=len(r.groups),
        base=base,
    )
    return f'<section id="groups"><h2>{esc(_("Groups"))}</h2>{_table("groups", head, rows, caption)}</section>'


def _matching(r: Report, w: Words) -> str:
    _, _n = w.gettext, w.ngettext
    base = r.base_currency
    rows = [
        f'<tr data-kind="{esc(m.kind)}"><th scope="row">'
        f"{esc(_(MATCH_TITLES[m.kind]) if m.kind in MATCH_TITLES else m.kind)}</th>"
        f'<td class="num count">{esc(w.count(m.count))}</td>'
        f'<td class="num pct">{esc(pct(percent(m.count, r.receipt_count)))}</td>'
        f'<td class="num">{_amt(w, m.amount_base)}</td>'
        f'<td class="num pct">{esc(pct(percent(m.amount_base, r.receipt_amount)))}</td></tr>'
        for m in r.matches
    ]
    rows.append(
        f'<tr class="total" data-kind="all"><th scope="row">{esc(_("all incoming receipts"))}</th>'
        f'<td class="num count">{esc(w.count(r.receipt_count))}</td>'
        f'<td class="num pct">{esc(pct(percent(r.receipt_count, r.receipt_count)))}</td>'
        f'<td class="num">{_amt(w, r.receipt_amount)}</td>'
        f'<td class="num pct">{esc(pct(percent(r.receipt_amount, r.receipt_amount)))}</td></tr>'
    )
    head = [
        ("", _("receipts")),
        ("num", _("count")),
        ("num", _("share")),
        ("num", _("amount (%(base)s)", base=base)),
        ("num", _("share")),
    ]
    warnings = [
        _n(
            "Left out: %(count)s receipt of %(amount)s %(ccy)s had no exchange rate to %(base)s: counted in "
            "the share by number, left out of the share by amount.",
            "Left out: %(count)s receipts of %(amount)s %(ccy)s had no exchange rate to %(base)s: counted in "
            "the share by number, left out of the share by amount.",
            n,
            amount=w.money(amount),
            ccy=ccy,
            base=base,
        )
        for ccy, (n, amount) in r.receipts_no_rate.items()
    ]
    notes = []
    if not r.receipt_count:
        notes.append(_("No incoming receipts are stored yet: sync a bank statement and run 'hub reconcile'."))
    note_html = "".join(f'<p class="warning" role="alert">{esc(x)}</p>' for x in warnings)
    note_html += "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    return (
        f'<section id="matching"><h2>{esc(_("Cash application"))}</h2>'
        f"{_table('matching', head, rows)}{note_html}</section>"
    )


def _collections(r: Report, w: Words) -> str:
    _, _n = w.gettext, w.ngettext
    steps = _n(
        "collection step is due on or before %(day)s,",
        "collection steps are due on or before %(day)s,",
        len(r.due),
        day=w.day(r.as_of),
    )
    planned = _n("of %(count)s customer with a planned step;", "of %(count)s customers with a planned step;", r.planned)
    paused = _("%(count)s paused by a promise to pay.", count=w.count(r.paused))
    lead = (
        f'<p><span id="due-count" class="big">{esc(w.count(len(r.due)))}</span> '
        f"{esc(steps)} {esc(planned)} {esc(paused)}</p>"
    )
    title = esc(_("Collections due"))
    if not r.due_by_owner:
        return f'<section id="collections"><h2>{title}</h2>{lead}</section>'
    rows = [
        f"<tr><td>{esc(owner)}</td><td>{esc(_(action) if action else action)}</td>"
        f'<td class="num count">{esc(w.count(n))}</td></tr>'
        for owner, action, n in r.due_by_owner
    ]
    table = _table("due", [("", _("owner")), ("", _("step")), ("num", _("due"))], rows)
    return (
        f'<section id="collections"><h2>{title}</h2>{lead}{table}'
        f'<p class="note">{esc(_("The list per customer: hub collections due."))}</p></section>'
    )


CSS = """
:root { --ink: #1d2430; --muted: #5b6577; --rule: #d6dbe3; --panel: #f5f7fa; --accent: #2c5d99; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0 auto; max-width: 1180px; padding: 24px 28px 48px; color: var(--ink); background: #fff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  line-height: 1.45; font-variant-numeric: tabular-nums; }
h1 { font-size: 1.7rem; margin: 0 0 .4rem; }
h2 { font-size: 1.2rem; margin: 0 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--rule); }
section { margin: 1.8rem 0; }
dl.meta { display: flex; flex-wrap: wrap; gap: .3rem 2rem; margin: 0 0 1rem; color: var(--muted); }
dl.meta div { display: flex; gap: .4rem; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; color: var(--ink); }
nav { display: flex; flex-wrap: wrap; gap: .3rem 1rem; padding: .5rem 0; border-top: 1px solid var(--rule);
  border-bottom: 1px solid var(--rule); }
nav a { color: var(--accent); text-decoration: none; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: .8rem; }
.figure { background: var(--panel); border: 1px solid var(--rule); border-radius: 6px; padding: .7rem .9rem;
  display: flex; flex-direction: column; }
.figure .value { font-size: 1.45rem; font-weight: 650; }
.figure .value .ccy { font-size: .9rem; font-weight: 500; color: var(--muted); }
.figure .label { color: var(--muted); }
.figure .sub { font-size: .85rem; color: var(--muted); }
.note { color: var(--muted); font-size: .9rem; margin: .5rem 0; }
.warning { margin: .4rem 0 .8rem; padding: .5rem .8rem; background: #fff4e5; border: 1px solid #f0b45a;
  border-left: 5px solid #d9822b; color: #5a3200; font-weight: 600; }
.empty { color: var(--muted); font-style: italic; }
.big { font-size: 1.45rem; font-weight: 650; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .4rem 0; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: .3rem; }
th, td { padding: .3rem .5rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
thead th { background: var(--panel); font-weight: 600; border-bottom: 2px solid var(--rule); }
.num { text-align: right; white-space: nowrap; }
tr.total th, tr.total td { font-weight: 650; border-top: 2px solid var(--rule); }
td .sub { display: block; font-size: .8rem; color: var(--muted); }
.ccy { color: var(--muted); font-size: .85em; }
.flag { display: inline-block; font-size: .75rem; line-height: 1.25; padding: 0 .3rem; margin: 0 .2rem .15rem 0;
  border-radius: 3px; background: #fbe9e7; color: #8c1d1d; border: 1px solid #f2c4bd; }
.band { display: inline-block; min-width: 1.6rem; text-align: center; font-weight: 650; border-radius: 3px;
  padding: 0 .3rem; background: #e8ecf2; }
.band-A { background: #dff1e3; } .band-B { background: #eef6d9; } .band-C { background: #fdf3d2; }
.band-D { background: #fde2cc; } .band-E { background: #f8d0cb; }
.plan.due { font-weight: 600; color: #8c1d1d; }
.scroll { overflow-x: auto; }
table.top td.c-name { min-width: 11rem; }
table.top td.c-flags { min-width: 10rem; }
table.top td.c-next { min-width: 12rem; }
.plan.paused, .plan.done { color: var(--muted); }
table.bureaus ul { margin: 0; padding-left: 1rem; }
.chart-box { max-width: 860px; }
svg.chart { display: block; height: auto; font-family: inherit; }
svg.chart text { fill: var(--ink); }
svg.chart .axis { stroke: #8a94a6; stroke-width: 1; }
table.ageing, table.bands, table.matching, table.due { max-width: 640px; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85rem; border-top: 1px solid var(--rule);
  padding-top: .6rem; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  html { font-size: 10.5pt; }
  body { max-width: none; padding: 0; }
  nav { display: none; }
  section { break-inside: avoid; page-break-inside: avoid; margin: 1rem 0; }
  section.wide { break-inside: auto; page-break-inside: auto; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .figure, thead th { background: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

PAGE = string.Template("""<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header>$header</header>
$nav
<main>
$sections
</main>
<footer>$footer</footer>
</body>
</html>
""")
