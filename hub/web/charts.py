"""Charts as inline SVG for the console's pages: line charts and (stacked) bar charts with axes,
gridlines and labels, readable on screen and on paper (black text, thin grey grid, no animation).

Pure functions: values in, an SVG string (``markupsafe.Markup``, safe to put in a template) out.
Every text is escaped and every label is passed in already translated and formatted by the caller,
so the charts know nothing of locales. Written by hand rather than with a plotting library: the
console has no JavaScript build and must work offline, and the few shapes needed here (axes, ticks,
polylines, rectangles) are short; a server-side plotting library (matplotlib) would bring a large
dependency to draw the same lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

#: Colours that stay apart in print and for the common colour blindnesses (Okabe-Ito, darkened).
PALETTE = ("#0b5fa5", "#d55e00", "#009e73", "#cc79a7", "#8a6d00", "#56b4e9", "#444444")
#: Ageing buckets from "not yet due" to the oldest: a calm blue, then warmer as payment gets later.
AGEING_COLOURS = ("#4a7ab5", "#e0b040", "#e08a30", "#d4622a", "#b83a2a", "#8c1d1d")


@dataclass(frozen=True)
class Series:
    """One line (or one layer of stacked bars): its name and a value per x position (None: no value)."""

    name: str
    values: Sequence[float | None]
    colour: str | None = None


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low``..``high`` (1, 2, 2.5 or 5 times a power of ten apart), zero included
    when the range holds it."""
    if not math.isfinite(low) or not math.isfinite(high):
        low, high = 0.0, 1.0
    if high < low:
        low, high = high, low
    if high == low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _fmt_default(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.2f}"


def _attr(text: object) -> str:
    return escape(str(text), quote=True)


def _svg_open(width: int, height: int, aria: str, css: str) -> str:
    return (
        f'<svg class="chart {css}" role="img" aria-label="{_attr(aria)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(aria)}</title>"
    )


def _x_label_every(n: int, slot: float, longest: int) -> int:
    """Write every k-th x label so that labels about ``longest`` characters wide do not overlap."""
    need = max(longest, 3) * 6.0 + 6
    return max(1, math.ceil(need / max(slot, 1.0))) if n else 1


def _legend(series: Sequence[Series], colours: Sequence[str], x: float, bottom: float, width: float) -> list[str]:
    """Swatches and names in rows from ``x``, wrapped before ``width``; the last row's baseline at ``bottom``."""
    placed: list[tuple[float, int, Series, str]] = []
    cursor, row = x, 0
    for s, colour in zip(series, colours, strict=True):
        size = 16 + 6.6 * len(s.name) + 14
        if cursor + size > width and cursor > x:
            cursor, row = x, row + 1
        placed.append((cursor, row, s, colour))
        cursor += size
    parts = ['<g class="legend">']
    for left, r, s, colour in placed:
        y = bottom - 16 * (row - r)
        parts.append(
            f'<rect x="{left:.1f}" y="{y - 9:.1f}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + 16:.1f}" y="{y + 1:.1f}" font-size="12">{escape(s.name)}</text>'
        )
    parts.append("</g>")
    return parts


def _frame(
    *,
    width: int,
    height: int,
    left: int,
    top: int,
    bottom: int,
    ticks: list[float],
    y_format: Callable[[float], str],
    y_label: str | None,
) -> tuple[list[str], Callable[[float], float]]:
    """The y axis with its gridlines and tick labels, and the function from a value to its y."""
    plot_h = height - top - bottom
    low, high = ticks[0], ticks[-1]
    span = (high - low) or 1.0

    def y_of(value: float) -> float:
        return top + plot_h * (high - value) / span

    parts = ['<g class="axis y">']
    for tick in ticks:
        y = y_of(tick)
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{escape(y_format(tick))}</text>'
        )
    parts.append(f'<line class="axis-line" x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}"/>')
    parts.append(
        f'<line class="axis-line" x1="{left}" y1="{y_of(max(low, min(0.0, high))):.1f}" x2="{width - 10}" '
        f'y2="{y_of(max(low, min(0.0, high))):.1f}"/>'
    )
    if y_label:
        parts.append(f'<text class="unit" x="{left}" y="{top - 10}" font-size="11">{escape(y_label)}</text>')
    parts.append("</g>")
    return parts, y_of


def _x_labels(labels: Sequence[str], x_of: Callable[[int], float], slot: float, y: float) -> list[str]:
    every = _x_label_every(len(labels), slot, max((len(s) for s in labels), default=1))
    parts = ['<g class="axis x">']
    last = len(labels) - 1
    for i, label in enumerate(labels):
        if (last - i) % every:
            continue  # counted from the end: the latest label is always written
        parts.append(f'<text x="{x_of(i):.1f}" y="{y:.1f}" font-size="11" text-anchor="middle">{escape(label)}</text>')
    parts.append("</g>")
    return parts


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    aria: str,
    y_format: Callable[[float], str] = _fmt_default,
    y_label: str | None = None,
    y_min: float | None = None,
    y_max: float | None = None,
    width: int = 760,
    height: int = 260,
    empty: str = "",
) -> Markup:
    """Lines over shared x positions (days, weeks), each point a dot with its value in a tooltip; a gap
    where a value is None. ``empty`` is shown instead when there is no value at all."""
    values = [v for s in series for v in s.values if v is not None]
    if not values or not x_labels:
        return Markup(f'<p class="empty chart-empty">{escape(empty)}</p>')
    colours = [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
    ticks = nice_ticks(min(values) if y_min is None else y_min, max(values) if y_max is None else y_max)
    if y_min is None and ticks[0] > 0 and min(values) >= 0:
        ticks = nice_ticks(0.0, ticks[-1])
    left, top, bottom, right = 64, 28, 44 if len(series) < 2 else 60, 26
    n = len(x_labels)
    slot = (width - left - right) / max(n - 1, 1)

    def x_of(i: int) -> float:
        return left + (slot * i if n > 1 else (width - left - right) / 2)

    parts = [_svg_open(width, height, aria, "line")]
    frame, y_of = _frame(
        width=width, height=height, left=left, top=top, bottom=bottom, ticks=ticks, y_format=y_format, y_label=y_label
    )
    parts += frame
    parts += _x_labels(x_labels, x_of, slot, height - bottom + 16)
    for s, colour in zip(series, colours, strict=True):
        parts.append(f'<g class="series" data-name="{_attr(s.name)}">')
        run: list[str] = []
        for i, v in enumerate(s.values):
            if v is None:
                if len(run) > 1:
                    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>')
                run = []
                continue
            run.append(f"{x_of(i):.1f},{y_of(v):.1f}")
        if len(run) > 1:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>')
        for i, v in enumerate(s.values):
            if v is not None and i < n:
                parts.append(
                    f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="3" fill="{colour}">'
                    f"<title>{escape(s.name)} {escape(x_labels[i])}: {escape(y_format(v))}</title></circle>"
                )
        parts.append("</g>")
    if len(series) > 1:
        parts += _legend(series, colours, left, height - 8, width - 4)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    aria: str,
    y_format: Callable[[float], str] = _fmt_default,
    y_label: str | None = None,
    value_labels: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
    width: int = 760,
    height: int = 260,
    empty: str = "",
) -> Markup:
    """Vertical bars, one per x position; several series are stacked (bottom to top in order).

    With one series, ``colours`` may colour each bar (ageing buckets) and ``value_labels`` are written
    above the bars (the amounts, formatted by the caller)."""
    values = [v for s in series for v in s.values if v is not None]
    if not values or not x_labels:
        return Markup(f'<p class="empty chart-empty">{escape(empty)}</p>')
    n = len(x_labels)
    totals_pos = [sum(max(s.values[i] or 0.0, 0.0) for s in series if i < len(s.values)) for i in range(n)]
    totals_neg = [sum(min(s.values[i] or 0.0, 0.0) for s in series if i < len(s.values)) for i in range(n)]
    ticks = nice_ticks(min([0.0, *totals_neg]), max([0.0, *totals_pos]))
    stacked = len(series) > 1
    left, top, bottom, right = 64, 28, 60 if stacked else 44, 14
    slot = (width - left - right) / n
    bar_w = min(slot * 0.64, 56.0)
    series_colours = [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]

    def x_of(i: int) -> float:
        return left + slot * i + slot / 2

    parts = [_svg_open(width, height, aria, "bars")]
    frame, y_of = _frame(
        width=width, height=height, left=left, top=top, bottom=bottom, ticks=ticks, y_format=y_format, y_label=y_label
    )
    parts += frame
    parts += _x_labels(x_labels, x_of, slot, height - bottom + 16)
    for i in range(n):
        up = down = 0.0
        parts.append(f'<g class="bar" data-key="{_attr(x_labels[i])}">')
        for k, s in enumerate(series):
            v = s.values[i] if i < len(s.values) else None
            if v is None or v == 0:
                continue
            base = up if v > 0 else down
            y1, y2 = y_of(base), y_of(base + v)
            if v > 0:
                up += v
            else:
                down += v
            colour = colours[i % len(colours)] if colours and not stacked else series_colours[k]
            name = f"{s.name} " if stacked else ""
            parts.append(
                f'<rect x="{x_of(i) - bar_w / 2:.1f}" y="{min(y1, y2):.1f}" width="{bar_w:.1f}" '
                f'height="{max(abs(y2 - y1), 0.5):.1f}" fill="{colour}">'
                f"<title>{escape(name)}{escape(x_labels[i])}: {escape(y_format(v))}</title></rect>"
            )
        if value_labels and i < len(value_labels) and value_labels[i]:
            font = min(11.0, slot / 6.5)
            parts.append(
                f'<text class="value" x="{x_of(i):.1f}" y="{y_of(up) - 5:.1f}" font-size="{font:.1f}" '
                f'text-anchor="middle">{escape(value_labels[i])}</text>'
            )
        parts.append("</g>")
    if stacked:
        parts += _legend(series, series_colours, left, height - 8, width - 4)
    parts.append("</svg>")
    return Markup("".join(parts))
