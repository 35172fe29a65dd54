"""``hub demo``: the whole flow on a sample book (:mod:`hub.sample`) dated from the day it runs."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from hub import fmt
from hub.cli.common import app, emit, err, handled, out, parse_date, session, state, table
from hub.cli.jobs import sync_rows

DEMO_CONFIG = """\
# The demo's workspace: a sample book written by 'hub demo' (hub/sample.py), dated from the day it runs.
[database]
url = "sqlite:///hub.db"

[connectors.erp]
type = "csv"
customers = "data/customers.csv"
invoices = "data/invoices.csv"
orders = "data/orders.csv"
guarantees = "data/guarantees.csv"
collections = "data/collections.csv"

[connectors.bank]
type = "bank-files"
path = "data/statements/"

# A credit bureau's batch file (ratings, a downgrade, a court listing): mappings/bureau-reports.toml
[connectors.bureau]
type = "bureau-file"
path = "data/bureau/"

[connectors.flags]
type = "json-file"
path = "out/flags.jsonl"

[fx]
base = "EUR"
rates = {rates}
"""
#: What the demo's workspace adds for the console: 'hub serve' on loopback over plain http
#: (http://127.0.0.1:8000/), so cookies without the Secure flag, which a browser sends only over HTTPS.
DEMO_WEB = """
[web]
secure_cookies = false
"""


@app.command()
@handled
def demo(
    workspace: Annotated[
        Path | None, typer.Option(help="Keep the demo here (run it again to see the book as it stands).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Play the demo as of this date (default today): the sample is dated from it.")
    ] = None,
) -> None:
    """Run the whole flow on a sample book dated from today, and show where the book stands."""
    from hub.sample import RATES, build_sample

    temporary = workspace is None
    base = workspace or Path(tempfile.mkdtemp(prefix="hub-demo-"))
    today = parse_date(as_of) or dt.date.today()
    anchor = base / "data" / "sample-date.txt"  # a workspace run again keeps its book, and ages
    try:
        built = dt.date.fromisoformat(anchor.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        built = today
    build_sample(base / "data", built)
    anchor.write_text(built.isoformat(), encoding="utf-8")
    rates = "{ " + ", ".join(f'{ccy} = "{rate}"' for ccy, rate in sorted(RATES.items())) + " }"
    (base / "hub.toml").write_text(DEMO_CONFIG.replace("{rates}", rates) + DEMO_WEB, encoding="utf-8")
    state.config_path = base / "hub.toml"
    with session() as hub:
        hub.init()
        synced = sync_rows(hub, None, False)
        hub.resolve_identities()
        rec = hub.reconcile()
        rk = hub.risk(today)
        pushed = hub.push()
        report = hub.report(base / "report.html", as_of=today)
        book = hub.book_state()
        flags = hub.exposures.flags()
    receipts = sum(r["inserted"] for r in synced if r["stream"] == "receipts")
    bureau_reports = sum(r["inserted"] + r["updated"] for r in synced if r["connector"] == "bureau")
    flags_file = base / "out" / "flags.jsonl"
    summary = {
        "workspace": str(base),
        "temporary": temporary,
        "as_of": today.isoformat(),
        "sample_dated": built.isoformat(),
        "receipts_imported": receipts,
        "bureau_reports_imported": bureau_reports,
        "auto_matched": rec.auto,
        "suggested": rec.suggested,
        "left_open": rec.unmatched,
        "book_receipts": book.receipts,
        "customers": rk.customers,
        "flagged_customers": rk.flagged_customers,
        "flags": rk.flag_counts,
        "bands": rk.band_counts,
        "collection_steps_due": rk.collection_actions_due,
        "pending_limit_approvals": book.pending_limits,
        "unconverted": {ccy: str(amount) for ccy, amount in book.unconverted.items()},
        "events_written": pushed.delivered,
        "flags_file": str(flags_file),
        "report": str(base / "report.html"),
        "console": None if temporary else console_commands(base / "hub.toml"),
    }
    if state.json:
        emit(summary)
        return
    in_book = book.receipts
    out.print(
        table(
            "hub demo: this run",
            ["what", "value"],
            [
                ["receipts imported", fmt.count(receipts)],
                ["bureau reports imported (batch file)", fmt.count(bureau_reports)],
                ["matched automatically", fmt.count(rec.auto)],
                ["suggested for review", fmt.count(rec.suggested)],
                ["left open", fmt.count(rec.unmatched)],
                ["flags raised / cleared", f"{fmt.count(rk.raised)} / {fmt.count(rk.cleared)}"],
                ["flag, band and limit changes written", f"{fmt.count(pushed.delivered)} to {flags_file}"],
            ],
        )
    )
    out.print(
        table(
            "where the book stands",
            ["what", "value"],
            [
                [
                    "customer payments in the book",
                    f"{fmt.count(sum(in_book.values()))}: {fmt.count(in_book['matched'])} matched, "
                    f"{fmt.count(in_book['suggested'])} suggested "
                    f"for review, {fmt.count(in_book['open'])} open",
                ],
                ["customers scored", fmt.count(rk.customers)],
                ["risk bands", ", ".join(f"{b} {fmt.count(n)}" for b, n in sorted(rk.band_counts.items()))],
                ["customers flagged", fmt.count(rk.flagged_customers)],
                ["collection steps due", fmt.count(rk.collection_actions_due)],
                ["credit limits waiting for approval", fmt.count(book.pending_limits)],
                ["report", f"{base / 'report.html'} ({len(report.customers)} customers)"],
            ],
        )
    )
    if book.unconverted:
        amounts = ", ".join(fmt.money(amount, ccy) for ccy, amount in sorted(book.unconverted.items()))
        err.print(
            f"[bold yellow]warning:[/bold yellow] {book.unconverted_customers} customers' totals leave out "
            f"{amounts}: no exchange rate (add it under [fx] rates)",
            highlight=False,
        )
    per_code: dict[str, int] = {}
    shown = []
    for customer, code, reason in flags:  # a few examples of every flag, not ten of the commonest
        per_code[code] = per_code.get(code, 0) + 1
        if per_code[code] <= 2:
            shown.append([customer, code, reason])
    if shown:
        title = f"flags in force: {', '.join(f'{c} {n}' for c, n in per_code.items())} (examples)"
        out.print(table(title, ["customer", "flag", "why"], shown))
    cfg = base / "hub.toml"
    kept = "a temporary folder: delete it when done" if temporary else "kept: run 'hub demo' on it again later"
    out.print(f"workspace: {base} ({kept}); config {cfg}")
    out.print(f"next: hub -c {cfg} matches list --status suggested, then hub -c {cfg} matches explain RECEIPT_REF;")
    out.print(f"      hub -c {cfg} collections due; hub -c {cfg} exposure show CUSTOMER;")
    if book.pending_limits:
        out.print(f"      hub -c {cfg} limits list --status pending ({book.pending_limits} waiting for approval);")
    out.print(f"      open {base / 'report.html'} in a browser")
    if temporary:
        out.print("console: this workspace is temporary; 'hub demo --workspace DIR' keeps one to open in the console")
    else:
        add_user, serve = console_commands(cfg)
        out.print(f"console: {add_user}   (asks for a password; the first user is an admin)")
        out.print(f"         {serve}   then open http://127.0.0.1:8000/ and log in")


def console_commands(config: Path) -> list[str]:
    """The commands that open a kept demo workspace in the web console: the first user, then the server."""
    return [f"hub --config {config} users add admin --role admin", f"hub --config {config} serve"]
