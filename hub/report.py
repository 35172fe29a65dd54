"""``hub report --html``: one self-contained HTML page a person can open, print or mail.

The page shows the portfolio as the last risk run left it (``exposure``, ``exposure_group``,
``risk_flag``) and the state of cash application (``receipt``, ``allocation``):

- key figures: customers, open receivables and overdue in the base currency, the match rate;
- the ageing of all receivables (an SVG bar chart, each bar labelled with its amount);
- customers and open receivables per risk band, active flags per code (a bar chart);
- the largest exposures, the largest groups, and the collection steps due.

Amounts in the base currency are the risk run's own: each customer's ``open_base``, and its overdue
amount and ageing buckets converted at the same ratio (``amount * open_base / open``), rounded to
cents per customer. A customer whose currency had no rate to the base currency is left out of
those totals and named in a note, never added at face value. Receipts and groups (kept in their own
currencies) are converted with :class:`hub.fx.Rates` (the source's rates, then ``[fx] rates``).

The page needs nothing outside itself: no script, no stylesheet, font or image from anywhere else;
the charts are inline SVG drawn here. Every value from the store is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import string
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.errors import HubError
from hub.fx import Rates
from hub.model import format_money
from hub.risk.exposure import bucket_labels
from hub.store import Store, schema, utcnow
from hub.store.money import money_sum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DASH = "\u2013"
GROUPS_SHOWN = 10
NO_EXPOSURE = "no exposure computed yet: run 'hub risk' (or 'hub run') first"

#: How each receipt counts for the match rate, in the order the page lists them.
MATCH_KINDS = {
    "auto": "matched automatically",
    "confirmed": "confirmed by a person",
    "suggested": "suggested, awaiting review",
    "open": "open, nothing proposed",
}
MATCHED = ("auto", "confirmed")


# -- the figures -------------------------------------------------------------------------------------


@dataclass
class CustomerLine:
    customer_id: str
    name: str | None
    currency: str
    band: str | None
    score: float | None
    open_amount: Decimal
    overdue_amount: Decimal
    credit_limit: Decimal | None
    recommended_limit: Decimal | None
    utilisation: float | None
    flags: list[str]
    next_action: dict[str, Any] | None
    #: open, overdue and each bucket in the base currency; None when the currency had no rate
    open_base: Decimal | None
    overdue_base: Decimal | None
    buckets_base: dict[str, Decimal] | None


@dataclass
class GroupLine:
    group_id: str
    name: str | None
    currency: str
    members: int
    open_amount: Decimal
    overdue_amount: Decimal
    credit_limit: Decimal | None
    utilisation: float | None
    open_base: Decimal | None


@dataclass
class MatchLine:
    kind: str
    count: int = 0
    amount_base: Decimal = ZERO


@dataclass
class Report:
    """Everything the page shows, computed from the store (see :func:`collect_report`)."""

    as_of: dt.date
    base_currency: str
    generated_at: dt.datetime
    exposure_dates: list[dt.date]
    computed_at: dt.datetime | None
    labels: list[str]
    customers: list[CustomerLine]
    open_base: Decimal
    overdue_base: Decimal
    buckets_base: dict[str, Decimal]
    #: customers left out of the base-currency totals: currency -> (customers, open amount)
    no_rate: dict[str, tuple[int, Decimal]]
    #: amounts inside customers' exposure that had no rate to the customer's currency
    unconverted: dict[str, Decimal]
    bands: list[tuple[str | None, int, Decimal]]
    flags: list[tuple[str, int]]
    flagged_customers: int
    top: list[CustomerLine]
    groups: list[GroupLine]
    group_count: int
    matches: list[MatchLine]
    receipts_no_rate: dict[str, tuple[int, Decimal]]
    due: list[CustomerLine]
    due_by_owner: list[tuple[str, str, int]]
    paused: int
    planned: int

    @property
    def receipt_count(self) -> int:
        return sum(m.count for m in self.matches)

    @property
    def matched_count(self) -> int:
        return sum(m.count for m in self.matches if m.kind in MATCHED)

    @property
    def receipt_amount(self) -> Decimal:
        """Incoming receipts in the base currency (those in a currency without a rate left out)."""
        return sum((m.amount_base for m in self.matches), ZERO)

    @property
    def matched_amount(self) -> Decimal:
        return sum((m.amount_base for m in self.matches if m.kind in MATCHED), ZERO)


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """``part`` as a percentage of ``whole`` with one decimal (half up); None when ``whole`` is zero."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def ordered_labels(keys: Iterable[str]) -> list[str]:
    """Bucket labels in ageing order: ``not_due``, ``d1_30``, ``d31_60``..., ``dN_plus`` last."""

    def key(label: str) -> tuple[int, int, str]:
        if label == "not_due":
            return (0, 0, label)
        m = re.fullmatch(r"d(\d+)_(\d+)", label)
        if m:
            return (1, int(m.group(1)), label)
        m = re.fullmatch(r"d(\d+)_plus", label)
        if m:
            return (2, int(m.group(1)), label)
        return (3, 0, label)

    return sorted(set(keys), key=key)


def bucket_title(label: str) -> str:
    """``1-30 days`` for ``d1_30``: the label a person reads."""
    if label == "not_due":
        return "not yet due"
    m = re.fullmatch(r"d(\d+)_(\d+)", label)
    if m:
        return f"{m.group(1)}\u2013{m.group(2)} days"
    m = re.fullmatch(r"d(\d+)_plus", label)
    if m:
        return f"over {m.group(1)} days"
    return label


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def collect_report(
    store: Store,
    *,
    as_of: dt.date,
    base_currency: str,
    top: int = 20,
    bucket_bounds: Sequence[int] | None = None,
    fx_rates: Mapping[str, Decimal] | None = None,
    generated_at: dt.datetime | None = None,
) -> Report:
    """Read the store and compute every figure of the report; HubError when no risk run is stored."""
    if top < 1:
        raise HubError(f"the number of top exposures must be at least 1, got {top}")
    base = base_currency.upper()
    with store.connect() as conn:
        e = schema.exposure
        rows = conn.execute(sa.select(e).order_by(e.c.customer_id)).all()
        if not rows:
            raise HubError(NO_EXPOSURE)
        other_base = sorted({r.base_currency for r in rows if r.base_currency and r.base_currency != base})
        if other_base:
            raise HubError(
                f"the last risk run computed base-currency amounts in {', '.join(other_base)}, but the base "
                f"currency is now {base}: run 'hub risk' again before the report"
            )
        rates = Rates.load(conn, base, dict(fx_rates or {}), as_of)
        group_rows = conn.execute(sa.select(schema.exposure_group)).all()
        f = schema.risk_flag
        flag_rows = conn.execute(
            sa.select(f.c.code, sa.func.count()).where(f.c.active.is_(True)).group_by(f.c.code)
        ).all()
        receipt_rows = _receipt_totals(conn)

    stored = {k for r in rows for k in (r.buckets or {})}
    configured = set(bucket_labels(bucket_bounds)) if bucket_bounds else set()
    # The configured buckets (empty ones too) when the stored run used them; else the run's own.
    labels = ordered_labels(configured if stored <= configured else stored)
    customers = [_customer_line(r, base) for r in rows]

    open_base, overdue_base = ZERO, ZERO
    buckets_base = dict.fromkeys(labels, ZERO)
    no_rate: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
    for c in customers:
        if c.open_base is None or c.overdue_base is None or c.buckets_base is None:
            no_rate[c.currency][0] += 1
            no_rate[c.currency][1] += c.open_amount
            continue
        open_base += c.open_base
        overdue_base += c.overdue_base
        for label, amount in c.buckets_base.items():
            buckets_base[label] += amount
    unconverted: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        for ccy, amount in (r.unconverted or {}).items():
            unconverted[ccy] += Decimal(str(amount))

    per_band: dict[str | None, list[Any]] = defaultdict(lambda: [0, ZERO])
    for c in customers:
        per_band[c.band][0] += 1
        per_band[c.band][1] += c.open_base or ZERO
    bands = [(b, n, amount) for b, (n, amount) in sorted(per_band.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))]

    ranked = sorted(customers, key=lambda c: (c.open_base is None, -(c.open_base or ZERO), c.customer_id))
    names = {c.customer_id: c.name for c in customers}
    groups = [_group_line(g, names.get(g.group_id), rates) for g in group_rows]
    groups.sort(key=lambda g: (g.open_base is None, -(g.open_base or ZERO), g.group_id))

    matches = {kind: MatchLine(kind) for kind in MATCH_KINDS}
    receipts_no_rate: dict[str, list[Any]] = defaultdict(lambda: [0, ZERO])
    for kind, ccy, count, amount in receipt_rows:
        line = matches.setdefault(kind, MatchLine(kind))
        line.count += count  # every receipt counts by number; by amount only those with a rate
        converted = rates.convert(amount, ccy, base)
        if converted is None:
            receipts_no_rate[ccy][0] += count
            receipts_no_rate[ccy][1] += amount
        else:
            line.amount_base += converted

    planned = [c for c in customers if c.next_action]
    due = [c for c in planned if _due_on(c) is not None and str(_due_on(c)) <= as_of.isoformat()]
    due.sort(key=lambda c: (str(_due_on(c)), c.customer_id))
    by_owner: dict[tuple[str, str], int] = defaultdict(int)
    for c in due:
        plan = c.next_action or {}
        by_owner[(str(plan.get("owner") or "-"), str(plan.get("action") or "-"))] += 1

    computed = [r.computed_at for r in rows if r.computed_at is not None]
    return Report(
        as_of=as_of,
        base_currency=base,
        generated_at=generated_at or utcnow(),
        exposure_dates=sorted({r.as_of for r in rows}),
        computed_at=max(computed) if computed else None,
        labels=labels,
        customers=customers,
        open_base=open_base,
        overdue_base=overdue_base,
        buckets_base=buckets_base,
        no_rate={k: (n, a) for k, (n, a) in sorted(no_rate.items())},
        unconverted=dict(sorted((k, v) for k, v in unconverted.items() if v)),
        bands=bands,
        flags=sorted(((str(code), int(n)) for code, n in flag_rows), key=lambda x: (-x[1], x[0])),
        flagged_customers=sum(1 for c in customers if c.flags),
        top=ranked[:top],
        groups=groups[:GROUPS_SHOWN],
        group_count=len(groups),
        matches=list(matches.values()),  # the kinds of MATCH_KINDS in order, then any other
        receipts_no_rate={k: (n, a) for k, (n, a) in sorted(receipts_no_rate.items())},
        due=due,
        due_by_owner=sorted(((o, a, n) for (o, a), n in by_owner.items()), key=lambda x: (-x[2], x[0], x[1])),
        paused=sum(1 for c in planned if (c.next_action or {}).get("paused_until")),
        planned=len(planned),
    )


def _due_on(c: CustomerLine) -> str | None:
    value = (c.next_action or {}).get("due_on")
    return str(value) if value else None


def _customer_line(r: Any, base: str) -> CustomerLine:
    open_amount: Decimal = r.open_amount
    overdue: Decimal = r.overdue_amount
    buckets = {k: Decimal(str(v)) for k, v in (r.buckets or {}).items()}
    ratio: Decimal | None
    if r.currency == base:
        ratio = Decimal(1)
    elif open_amount and r.open_base:
        ratio = r.open_base / open_amount
    elif not open_amount:
        ratio = Decimal(0)  # nothing open: nothing to convert
    else:
        ratio = None  # open, but the risk run found no rate to the base currency
    return CustomerLine(
        customer_id=r.customer_id,
        name=r.name,
        currency=r.currency,
        band=r.band,
        score=r.score,
        open_amount=open_amount,
        overdue_amount=overdue,
        credit_limit=r.credit_limit,
        recommended_limit=r.recommended_limit,
        utilisation=r.utilisation,
        flags=list(r.flags or []),
        next_action=r.next_action or None,
        open_base=None if ratio is None else (open_amount if r.currency == base else r.open_base),
        overdue_base=None if ratio is None else _cents(overdue * ratio),
        buckets_base=None if ratio is None else {k: _cents(v * ratio) for k, v in buckets.items()},
    )


def _group_line(g: Any, name: str | None, rates: Rates) -> GroupLine:
    return GroupLine(
        group_id=g.group_id,
        name=name,
        currency=g.currency,
        members=g.members,
        open_amount=g.open_amount,
        overdue_amount=g.overdue_amount,
        credit_limit=g.credit_limit,
        utilisation=g.utilisation,
        open_base=rates.convert(g.open_amount, g.currency, rates.base),
    )


def _receipt_totals(conn: sa.Connection) -> list[tuple[str, str, int, Decimal]]:
    """Incoming receipts (credits, not reversals) per kind and currency: count and amount.

    The kind is the receipt's match status, with matched receipts split by their allocations:
    ``confirmed`` when a person confirmed one of them, else ``auto``.
    """
    r, a = schema.receipt, schema.allocation
    confirmed = sa.exists().where(a.c.receipt_id == r.c.id, a.c.status == "confirmed")
    kind = sa.case(
        (sa.and_(r.c.match_status == "matched", confirmed), sa.literal("confirmed")),
        (r.c.match_status == "matched", sa.literal("auto")),
        else_=r.c.match_status,
    )
    per_receipt = (
        sa.select(kind.label("kind"), r.c.currency, r.c.amount)
        .where(r.c.direction == "credit", r.c.reversal.is_(False))
        .subquery()
    )
    rows = conn.execute(
        sa.select(per_receipt.c.kind, per_receipt.c.currency, sa.func.count(), money_sum(per_receipt.c.amount))
        .group_by(per_receipt.c.kind, per_receipt.c.currency)
        .order_by(per_receipt.c.kind, per_receipt.c.currency)
    ).all()
    return [(str(k), str(c), int(n), amount if amount is not None else ZERO) for k, c, n, amount in rows]


# -- the page ------------------------------------------------------------------------------------------


def build_report(
    store: Store,
    *,
    as_of: dt.date,
    base_currency: str,
    top: int = 20,
    bucket_bounds: Sequence[int] | None = None,
    fx_rates: Mapping[str, Decimal] | None = None,
    generated_at: dt.datetime | None = None,
) -> str:
    """The report as one self-contained HTML document (see the module docstring).

    ``bucket_bounds`` (``[risk] buckets``) makes every configured ageing bucket show, even an empty
    one; ``fx_rates`` (``[fx] rates``) converts receipts and groups where no synced rate exists.
    """
    return render_report(
        collect_report(
            store,
            as_of=as_of,
            base_currency=base_currency,
            top=top,
            bucket_bounds=bucket_bounds,
            fx_rates=fx_rates,
            generated_at=generated_at,
        )
    )


def write_report(
    store: Store,
    path: str | Path,
    *,
    as_of: dt.date,
    base_currency: str,
    top: int = 20,
    bucket_bounds: Sequence[int] | None = None,
    fx_rates: Mapping[str, Decimal] | None = None,
    generated_at: dt.datetime | None = None,
) -> Report:
    """Write the report to ``path`` (whole or not at all) and return its figures."""
    report = collect_report(
        store,
        as_of=as_of,
        base_currency=base_currency,
        top=top,
        bucket_bounds=bucket_bounds,
        fx_rates=fx_rates,
        generated_at=generated_at,
    )
    text = render_report(report)
    target = Path(path)
    if target.is_dir():
        raise HubError(f"cannot write the report to {target}: it is a folder; name a file such as report.html")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise HubError(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    return report


def render_report(report: Report) -> str:
    """The HTML page of a :class:`Report`."""
    r = report
    sections = [
        _key_figures(r),
        _ageing(r),
        _bands(r),
        _flags(r),
        _top_exposures(r),
        _groups(r),
        _matching(r),
        _collections(r),
    ]
    return PAGE.substitute(
        title=esc(f"Receivables report as of {r.as_of.isoformat()}"),
        css=CSS,
        header=_header(r),
        nav=NAV,
        sections="\n".join(sections),
        footer=esc(
            f"Generated by the receivables hub from the last risk run. Amounts in {r.base_currency} unless a "
            f"currency is named; customers' amounts are converted at the rate of that run."
        ),
    )


def esc(value: Any) -> str:
    """Any value as HTML text (quotes too, so it is safe in an attribute)."""
    return escape("" if value is None else str(value), quote=True)


def money(amount: Decimal | None) -> str:
    """``1,234.56``; an en dash when there is no amount."""
    return DASH if amount is None else format_money(_cents(amount))


def pct(value: Decimal | None) -> str:
    return DASH if value is None else f"{value}%"


def _ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.0%}"


def _score(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def _amt(amount: Decimal | None, currency: str | None = None) -> str:
    text = f'<span class="amt">{esc(money(amount))}</span>'
    if currency and amount is not None:
        text += f' <span class="ccy">{esc(currency)}</span>'
    return text


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _table(cls: str, head: Sequence[tuple[str, str]], rows: Sequence[str], caption: str = "") -> str:
    """A table; ``head`` is (css class, title) per column, ``rows`` are ready ``<tr>`` strings."""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    ths = "".join(f'<th{_class(c)} scope="col">{esc(t)}</th>' for c, t in head)
    return f'<table class="{cls}">{cap}<thead><tr>{ths}</tr></thead><tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


def _class(names: str) -> str:
    return f' class="{names}"' if names else ""


def _header(r: Report) -> str:
    dates = ", ".join(d.isoformat() for d in r.exposure_dates)
    computed = f" (computed {r.computed_at:%Y-%m-%d %H:%M} UTC)" if r.computed_at else ""
    items = [
        ("as-of", "As of", r.as_of.isoformat()),
        ("base-currency", "Base currency", r.base_currency),
        ("risk-run", "Risk run", f"as of {dates}{computed}"),
        ("generated-at", "Generated", f"{r.generated_at:%Y-%m-%d %H:%M} UTC"),
    ]
    meta = "".join(f'<div><dt>{esc(t)}</dt><dd id="{i}">{esc(v)}</dd></div>' for i, t, v in items)
    return f'<h1>Receivables report</h1><dl class="meta">{meta}</dl>'


def _figure(fid: str, value: str, label: str, sub: str = "") -> str:
    sub_html = f'<span class="sub">{sub}</span>' if sub else ""
    return (f'<div class="figure" id="{fid}"><span class="value">{value}</span>'
            f'<span class="label">{esc(label)}</span>{sub_html}</div>')


def _key_figures(r: Report) -> str:
    base = r.base_currency
    overdue_share = percent(r.overdue_base, r.open_base)
    by_count = percent(r.matched_count, r.receipt_count)
    by_amount = percent(r.matched_amount, r.receipt_amount)
    figures = [
        _figure("kf-customers", esc(len(r.customers)), "customers assessed"),
        _figure("kf-open", _amt(r.open_base, base), "open receivables"),
        _figure("kf-overdue", _amt(r.overdue_base, base), "overdue",
                f'<span class="pct">{esc(pct(overdue_share))}</span> of open'),
        _figure("kf-match-count", f'<span class="pct">{esc(pct(by_count))}</span>', "receipts matched (by number)",
                f"{esc(r.matched_count)} of {esc(r.receipt_count)}"),
        _figure("kf-match-amount", f'<span class="pct">{esc(pct(by_amount))}</span>', "receipts matched (by amount)",
                f"{_amt(r.matched_amount)} of {_amt(r.receipt_amount, base)}"),
        _figure("kf-flagged", esc(r.flagged_customers), "customers with active flags"),
        _figure("kf-due", esc(len(r.due)), "collection steps due"),
    ]
    # What a total leaves out for a missing rate is said first, and loudly: a figure that silently
    # drops a currency is worse than no figure.
    warnings = []
    for ccy, (n, amount) in r.no_rate.items():
        warnings.append(
            f"Left out: {_plural(n, 'customer')} in {ccy} ({money(amount)} {ccy} open) had no exchange rate to "
            f"{base} and {'is' if n == 1 else 'are'} missing from every {base} total below; add a rate ([fx] rates "
            f"or a synced rate) and run 'hub risk' again."
        )
    for ccy, amount in r.unconverted.items():
        warnings.append(
            f"Left out: {money(amount)} {ccy} inside customers' exposure had no rate to the customer's currency "
            f"and is not included in any figure."
        )
    notes = []
    if r.exposure_dates and r.exposure_dates != [r.as_of]:
        notes.append(
            f"The exposure figures are from the risk run as of {', '.join(d.isoformat() for d in r.exposure_dates)}; "
            f"collection steps are counted as due on or before {r.as_of.isoformat()}."
        )
    note_html = "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    warning_html = "".join(f'<p class="warning" role="alert">{esc(w)}</p>' for w in warnings)
    return (f'<section id="key-figures"><h2>Key figures</h2>{warning_html}<div class="figures">{"".join(figures)}'
            f"</div>{note_html}</section>")


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


def _ageing(r: Report) -> str:
    base = r.base_currency
    items = [(label, bucket_title(label), r.buckets_base.get(label, ZERO), money(r.buckets_base.get(label, ZERO)))
             for label in r.labels]
    chart = _bar_chart(items, aria=f"Open receivables by days past due, in {base}", colours=AGEING_COLOURS)
    rows = [
        f'<tr data-key="{esc(key)}"><th scope="row">{esc(title)}</th><td class="num">{_amt(value)}</td>'
        f'<td class="num pct">{esc(pct(percent(value, r.open_base)))}</td></tr>'
        for key, title, value, _ in items
    ]
    rows.append(f'<tr class="total"><th scope="row">all open</th><td class="num">{_amt(r.open_base)}</td>'
                f'<td class="num pct">{esc(pct(percent(r.open_base, r.open_base)))}</td></tr>')
    table = _table("ageing", [("", "days past due"), ("num", f"open ({base})"), ("num", "share")], rows)
    return (f'<section id="ageing"><h2>Ageing of open receivables ({esc(base)})</h2>'
            f'<div class="chart-box">{chart}</div>{table}</section>')


def _bands(r: Report) -> str:
    base = r.base_currency
    rows = [
        f'<tr data-band="{esc(band or "")}"><th scope="row"><span class="band band-{esc(band or "none")}">'
        f'{esc(band or "unscored")}</span></th><td class="num count">{esc(n)}</td>'
        f'<td class="num">{_amt(amount)}</td><td class="num pct">{esc(pct(percent(amount, r.open_base)))}</td></tr>'
        for band, n, amount in r.bands
    ]
    table = _table("bands", [("", "band"), ("num", "customers"), ("num", f"open ({base})"), ("num", "share of open")],
                   rows)
    return f'<section id="bands"><h2>Risk bands</h2>{table}</section>'


def _flags(r: Report) -> str:
    if not r.flags:
        body = '<p class="empty">No active flags.</p>'
    else:
        body = (f'<div class="chart-box">{_hbar_chart(r.flags, aria="Active flags per code")}</div>'
                f'<p class="note">{esc(_plural(r.flagged_customers, "customer"))} with at least one active flag; '
                f"{esc(_plural(sum(n for _, n in r.flags), 'active flag'))} in all.</p>")
    return f'<section id="flags"><h2>Active flags</h2>{body}</section>'


def _next_action(plan: dict[str, Any] | None, as_of: dt.date) -> str:
    """The planned collection step in a few words, with its reason sentence as the cell's tooltip."""
    if not plan:
        return DASH
    reason = esc(plan.get("reason") or "")
    if plan.get("paused_until"):
        text = f"waiting: promise to pay by {plan.get('promised_date')}, paused until {plan['paused_until']}"
        return f'<span class="plan paused" title="{reason}">{esc(text)}</span>'
    if plan.get("ladder_done"):
        return f'<span class="plan done" title="{reason}">{esc("every collection step taken")}</span>'
    due_on = str(plan.get("due_on") or "")
    due = bool(due_on) and due_on <= as_of.isoformat()
    when = f"{'due' if due else 'from'} {due_on}"
    if plan.get("escalated"):
        when += ", brought forward by a broken promise"
    return (f'<span class="plan{" due" if due else ""}" title="{reason}">{esc(plan.get("action", "?"))}</span> '
            f'<span class="sub">{esc(plan.get("owner", "?"))}, {esc(when)}</span>')


def _top_exposures(r: Report) -> str:
    base = r.base_currency
    rows = []
    for i, c in enumerate(r.top, 1):
        limit = _amt(c.credit_limit)
        if c.recommended_limit is not None and c.recommended_limit != c.credit_limit:
            limit += f' <span class="sub">recommended <span class="rec">{esc(money(c.recommended_limit))}</span></span>'
        flags = " ".join(f'<span class="flag">{esc(code)}</span>' for code in c.flags) or DASH
        rows.append(
            f'<tr data-customer="{esc(c.customer_id)}"><td class="num rank">{i}</td>'
            f'<td class="c-name">{esc(c.name or c.customer_id)} <span class="sub">{esc(c.customer_id)}</span></td>'
            f'<td class="c-band"><span class="band band-{esc(c.band or "none")}">{esc(c.band or DASH)}</span> '
            f'<span class="sub c-score">{esc(_score(c.score))}</span></td>'
            f'<td class="num c-open">{_amt(c.open_amount, c.currency)} '
            f'<span class="sub c-open-base">{_amt(c.open_base, base) if c.open_base is not None else "no rate"}'
            "</span></td>"
            f'<td class="num c-overdue">{_amt(c.overdue_amount, c.currency)}</td>'
            f'<td class="num c-limit">{limit} <span class="sub c-util">{esc(_ratio(c.utilisation))} used</span></td>'
            f'<td class="c-flags">{flags}</td><td class="c-next">{_next_action(c.next_action, r.as_of)}</td></tr>'
        )
    head = [("num", "#"), ("", "customer"), ("", "band"), ("num", f"open (in {base})"), ("num", "overdue"),
            ("num", "limit"), ("", "flags"), ("", "next collection step")]
    caption = (f"The {len(r.top)} largest of {_plural(len(r.customers), 'customer')} by open receivables in {base}; "
               f"limits are in the customer's currency.")
    return (f'<section id="top-exposures" class="wide"><h2>Largest exposures</h2>'
            f'<div class="scroll">{_table("top", head, rows, caption)}</div></section>')


def _groups(r: Report) -> str:
    base = r.base_currency
    if not r.groups:
        return ('<section id="groups"><h2>Groups</h2><p class="empty">No groups: no customer has a parent '
                "with other customers under it.</p></section>")
    rows = [
        f'<tr data-group="{esc(g.group_id)}"><td class="c-group">{esc(g.group_id)}</td>'
        f'<td class="c-name">{esc(g.name or "")}</td><td class="num c-members">{esc(g.members)}</td>'
        f'<td class="num c-open">{_amt(g.open_amount, g.currency)}</td>'
        f'<td class="num c-open-base">{_amt(g.open_base) if g.open_base is not None else "no rate"}</td>'
        f'<td class="num c-overdue">{_amt(g.overdue_amount, g.currency)}</td>'
        f'<td class="num c-limit">{_amt(g.credit_limit)}</td><td class="num c-util">{esc(_ratio(g.utilisation))}</td>'
        "</tr>"
        for g in r.groups
    ]
    head = [("", "group"), ("", "parent"), ("num", "members"), ("num", "open"), ("num", f"open ({base})"),
            ("num", "overdue"), ("num", "limit"), ("num", "used")]
    caption = (f"The {len(r.groups)} largest of {_plural(r.group_count, 'group')} (a parent and its subsidiaries) "
               f"by open receivables in {base}; amounts in the parent's currency.")
    return f'<section id="groups"><h2>Groups</h2>{_table("groups", head, rows, caption)}</section>'


def _matching(r: Report) -> str:
    base = r.base_currency
    rows = [
        f'<tr data-kind="{esc(m.kind)}"><th scope="row">{esc(MATCH_KINDS.get(m.kind, m.kind))}</th>'
        f'<td class="num count">{esc(m.count)}</td>'
        f'<td class="num pct">{esc(pct(percent(m.count, r.receipt_count)))}</td>'
        f'<td class="num">{_amt(m.amount_base)}</td>'
        f'<td class="num pct">{esc(pct(percent(m.amount_base, r.receipt_amount)))}</td></tr>'
        for m in r.matches
    ]
    rows.append(
        f'<tr class="total" data-kind="all"><th scope="row">all incoming receipts</th>'
        f'<td class="num count">{esc(r.receipt_count)}</td>'
        f'<td class="num pct">{esc(pct(percent(r.receipt_count, r.receipt_count)))}</td>'
        f'<td class="num">{_amt(r.receipt_amount)}</td>'
        f'<td class="num pct">{esc(pct(percent(r.receipt_amount, r.receipt_amount)))}</td></tr>'
    )
    head = [("", "receipts"), ("num", "count"), ("num", "share"), ("num", f"amount ({base})"), ("num", "share")]
    warnings = [
        f"Left out: {_plural(n, 'receipt')} of {money(amount)} {ccy} had no exchange rate to {base}: counted in "
        f"the share by number, left out of the share by amount."
        for ccy, (n, amount) in r.receipts_no_rate.items()
    ]
    notes = []
    if not r.receipt_count:
        notes.append("No incoming receipts are stored yet: sync a bank statement and run 'hub reconcile'.")
    note_html = "".join(f'<p class="warning" role="alert">{esc(w)}</p>' for w in warnings)
    note_html += "".join(f'<p class="note">{esc(n)}</p>' for n in notes)
    return (f'<section id="matching"><h2>Cash application</h2>{_table("matching", head, rows)}'
            f"{note_html}</section>")


def _collections(r: Report) -> str:
    lead = (f'<p><span id="due-count" class="big">{esc(len(r.due))}</span> '
            f"{esc('collection step is' if len(r.due) == 1 else 'collection steps are')} due on or before "
            f"{esc(r.as_of.isoformat())}, of {esc(_plural(r.planned, 'customer'))} with a planned step; "
            f"{esc(r.paused)} paused by a promise to pay.</p>")
    if not r.due_by_owner:
        return f'<section id="collections"><h2>Collections due</h2>{lead}</section>'
    rows = [
        f'<tr><td>{esc(owner)}</td><td>{esc(action)}</td><td class="num count">{esc(n)}</td></tr>'
        for owner, action, n in r.due_by_owner
    ]
    table = _table("due", [("", "owner"), ("", "step"), ("num", "due")], rows)
    return (f'<section id="collections"><h2>Collections due</h2>{lead}{table}'
            '<p class="note">The list per customer: hub collections due.</p></section>')


NAV = (
    '<nav><a href="#key-figures">Key figures</a> <a href="#ageing">Ageing</a> <a href="#bands">Bands</a> '
    '<a href="#flags">Flags</a> <a href="#top-exposures">Largest exposures</a> <a href="#groups">Groups</a> '
    '<a href="#matching">Cash application</a> <a href="#collections">Collections</a></nav>'
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
.flag { display: inline-block; font-size: .75rem; padding: 0 .3rem; margin: 0 .2rem .2rem 0; border-radius: 3px;
  background: #fbe9e7; color: #8c1d1d; border: 1px solid #f2c4bd; }
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
<html lang="en">
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
