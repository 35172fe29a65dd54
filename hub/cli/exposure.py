"""``hub exposure ...``: what each customer (or group) owes, how late and how risky, as of the last risk run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from hub import fmt
from hub.cli.common import check_format, emit, handled, out, session, state, table, write_csv

exposure_app = typer.Typer(help="Exposure and risk per customer.", no_args_is_help=True)


def _num(value: Any, places: str = ".4f") -> str:
    """A measure in an export: as stored, to a fixed number of places; empty when there is none."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, places)
    return str(value)


def exposure_columns(labels: list[str]) -> list[str]:
    """Columns of ``hub exposure export``: the issue's list first, then the rest of the assessment."""
    return [
        *("customer_id", "currency", "open", "overdue"),
        *labels,
        *("limit", "utilisation", "score", "band", "flags", "name", "group_id", "unapplied_cash", "open_orders"),
        *("secured", "net_exposure", "dso", "avg_days_late", "days_late_trend", "payments_counted"),
        *("recommended_limit", "base_currency", "open_base", "next_action", "next_action_due", "next_action_owner"),
        *("fx_rates", "unconverted"),
    ]


def exposure_row(x: dict[str, Any], labels: list[str]) -> list[Any]:
    """One customer's export row (machine-readable: plain numbers, stored bucket labels)."""
    action = x["next_action"] or {}
    return (
        [x["customer_id"], x["currency"], x["open_amount"], x["overdue_amount"]]
        + [x["buckets"].get(b, "0.00") for b in labels]
        + [
            _num(x["credit_limit"]),
            _num(x["utilisation"]),
            _num(x["score"], ".1f"),
            x["band"] or "",
            " ".join(x["flags"]),
        ]
        + [
            x["name"] or "",
            x["group_id"] or "",
            x["unapplied_cash"],
            x["open_orders"],
            x["secured_amount"],
            x["net_exposure"],
        ]
        + [
            _num(x["dso"], ".1f"),
            _num(x["avg_days_late"], ".1f"),
            _num(x["days_late_trend"], ".1f"),
            x["payments_counted"],
        ]
        + [_num(x["recommended_limit"]), x["base_currency"] or "", x["open_base"]]
        + [action.get("action", ""), action.get("due_on", ""), action.get("owner", "")]
        + [json.dumps(x["fx_rates"] or {}, sort_keys=True) if x["fx_rates"] else ""]
        + [json.dumps(x["unconverted"] or {}, sort_keys=True) if x["unconverted"] else ""]
    )


GROUP_COLUMNS = [
    "group_id",
    "currency",
    "members",
    "open",
    "overdue",
    "limit",
    "utilisation",
    "open_orders",
    "secured",
    "net_exposure",
    "unconverted",
]


def _group_row(x: dict[str, Any], labels: list[str]) -> list[Any]:
    return (
        [x["group_id"], x["currency"], x["members"], x["open_amount"], x["overdue_amount"]]
        + [x["buckets"].get(b, "0.00") for b in labels]
        + [
            _num(x["credit_limit"]),
            _num(x["utilisation"]),
            x["open_orders"],
            x["secured_amount"],
            x["net_exposure"],
            json.dumps(x["unconverted"], sort_keys=True) if x["unconverted"] else "",
        ]
    )


@exposure_app.command("export")
@handled
def exposure_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    fmt_name: Annotated[str, typer.Option("--format", help="Output format.")] = "csv",
    groups: Annotated[bool, typer.Option("--groups", help="One row per group (parent and subsidiaries).")] = False,
) -> None:
    """Write one row per customer (or group): open, overdue, ageing buckets, limit, score, band, flags and more."""
    check_format(fmt_name)
    with session() as hub:
        labels = hub.exposures.buckets()
        if groups:
            header = GROUP_COLUMNS[:5] + labels + GROUP_COLUMNS[5:]
            rows = [_group_row(x, labels) for x in hub.exposures.groups()]
        else:
            header = exposure_columns(labels)
            rows = [exposure_row(x, labels) for x in hub.exposures.customers()]
    write_csv(output, header, rows)
    emit({"rows": len(rows), "file": str(output)})
    if not state.json:
        out.print(f"{fmt.count(len(rows))} {'groups' if groups else 'customers'} written to {output}")


@exposure_app.command("show")
@handled
def exposure_show(customer: Annotated[str, typer.Argument(help="Canonical customer id.")]) -> None:
    """One customer's exposure, score with every signal's contribution, flags and next collection step."""
    with session() as hub:
        found = hub.exposures.customer(customer)
    x, labels = found.exposure, found.buckets
    if state.json:
        emit(
            {
                **{k: v for k, v in x.items() if k not in ("signals", "flags")},
                "signals": x["signals"],
                "flags": found.flags,
                "bureaus": found.bureaus,
            }
        )
        return
    ccy = x["currency"]

    def money(value: Any) -> str:
        return fmt.money(value, ccy)

    group = f"  group {escape(x['group_id'])}" if x["group_id"] else ""
    out.print(f"[bold]{escape(customer)}[/bold] {escape(x['name'] or '')}  as of {x['as_of']}{group}", highlight=False)
    limit = x["credit_limit"]
    out.print(
        table(
            "exposure",
            ["what", "amount"],
            [
                ["open", money(x["open_amount"])],
                ["overdue", money(x["overdue_amount"])],
                ["open orders", money(x["open_orders"])],
                ["unapplied cash", money(x["unapplied_cash"])],
                ["secured (guarantees)", money(x["secured_amount"])],
                ["net exposure", money(x["net_exposure"])],
                [
                    "credit limit",
                    f"{money(limit)} ({fmt.share(x['utilisation'])} used)" if limit is not None else "none",
                ],
                ["recommended limit", fmt.money(x["recommended_limit"], ccy)],
            ],
        )
    )
    out.print(
        table(
            "ageing",
            [fmt.bucket_title(b) for b in labels],
            [[money(x["buckets"].get(b, "0")) for b in labels]],
            numeric=[fmt.bucket_title(b) for b in labels],
        )
    )
    trend = fmt.number(x["days_late_trend"], sign=True)
    out.print(
        f"DSO {fmt.days(_whole(x['dso']))}; on average {fmt.days(_tenth(x['avg_days_late']))} late over "
        f"{fmt.count(x['payments_counted'])} payments (trend {trend} days)",
        highlight=False,
    )
    if x["score"] is None:
        out.print("[bold]not rated[/bold]: too little history to score", highlight=False)
    else:
        out.print(
            f"[bold]score {fmt.number(x['score'])}, band {x['band']}[/bold] (100 minus each signal's points):",
            highlight=False,
        )
        for sig in x["signals"] or []:
            out.print(f"  {-sig['points']:+.1f}  {escape(sig['signal'])}: {escape(sig['reason'])}", highlight=False)
    for flag in found.flags:
        out.print(f"  [red]{flag['code']}[/red] v{flag['version']}: {escape(flag['reason'])}", highlight=False)
    _bureaus(found.bureaus, x)
    na = x["next_action"] or {}
    if na.get("action"):
        out.print(
            f"next collection step: {escape(str(na['action']))} by {escape(str(na.get('owner')))}, "
            f"due {na.get('due_on')}: {escape(str(na.get('reason', '')))}",
            highlight=False,
        )
    elif na:
        out.print(f"collections: {escape(str(na.get('reason', '')))}", highlight=False)


def _bureaus(views: list[dict[str, Any]], x: dict[str, Any]) -> None:
    """Each bureau's latest view beside the hub's own score and band, and the events it reports."""
    if not views:
        return
    own = "not rated" if x["score"] is None else f"{fmt.number(x['score'])}, band {x['band']}"
    rows = []
    for v in views:
        score = "not rated" if v["score"] is None else fmt.number(v["score"])
        if v["previous_score"] is not None:
            score += f" (was {fmt.number(v['previous_score'])} on {v['previous_date']})"
        band = v["band"] or ""
        if v["previous_band"] and v["previous_band"] != v["band"]:
            band += f" (was {v['previous_band']})"
        limit = v["recommended_limit"]
        rows.append(
            [
                escape(v["bureau"]),
                str(v["report_date"]),
                score,
                escape(band),
                fmt.money(limit, v["recommended_limit_currency"] or "") if limit is not None else "none",
                fmt.count(len(v["events"])),
            ]
        )
    out.print(
        table(
            f"bureaus (the hub's own score: {own})",
            ["bureau", "report of", "score (0-100)", "band", "recommended limit", "events"],
            rows,
        )
    )
    for v in views:
        for e in v["events"]:
            where = "; ".join(
                str(p)
                for p in (
                    e.get("court"),
                    e.get("case_number"),
                    fmt.money(e["amount"], e.get("currency") or "") if e.get("amount") is not None else None,
                )
                if p
            )
            text = f"  {escape(v['bureau'])}: {e['kind']} on {e.get('date') or 'an unknown date'}"
            text += f": {escape(e['description'])}" if e.get("description") else ""
            out.print(text + (f" ({escape(where)})" if where else ""), highlight=False)


def _whole(value: float | None) -> float | None:
    return None if value is None else float(round(value))


def _tenth(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def register(app: typer.Typer) -> None:
    app.add_typer(exposure_app, name="exposure")
