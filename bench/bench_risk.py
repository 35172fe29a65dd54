#!/usr/bin/env python3
"""Benchmark: `hub risk` (exposure, score, flags, promises, collection plan, credit limits) at scale.

Generates the workload (20,000 customers and 1,000,000 open invoices by default), syncs it and
reconciles its receipts (neither timed here: see bench_sync.py and bench_reconcile.py), then times,
each in a fresh process on SQLite:

* ``risk``: the first `hub risk` (every customer's first assessment: all flags and bands are new
  events, every credit limit proposal is new);
* ``rerun``: `hub risk` again the same day (the steady state: nothing changed, nothing queued);
* ``report``: `hub report --html` on the result.

Reports customers/s and invoices/s, peak RSS, and the counts (flags, bands, events queued).

Usage: python bench/bench_risk.py [--customers 20000 --invoices 1000000 --receipts 200000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import remove_store

HERE = Path(__file__).resolve().parent

CONFIG = """\
[database]
url = "sqlite:///hub.db"
[connectors.erp]
type = "csv"
customers = "customers.csv"
invoices = "invoices.csv"
[connectors.bank]
type = "bank-files"
path = "statement.xml"
[connectors.flags]
type = "json-file"
path = "out/flags.jsonl"
[risk]
as_of = "2026-11-27"
[fx.rates]
USD = "0.92"
GBP = "1.17"
"""


def _timed(work: Path, *args: str) -> tuple[dict, float, float]:
    """Run one hub command in a fresh process: its JSON output, seconds and the process's peak RSS (MB)."""
    code = (
        "import resource, sys, json; from hub.cli import main; sys.argv = ['hub', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, "--json", *args], cwd=work, capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - started
    rss = next(int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("RSS "))
    return json.loads(proc.stdout), seconds, rss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--receipts", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, help="Reuse this folder (keeps the generated files and database).")
    a = ap.parse_args()
    work = a.workdir or Path(tempfile.mkdtemp(prefix="bench-risk-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "hub.toml").write_text(CONFIG, encoding="utf-8")
    if not (work / "statement.xml").exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_receivables.py"),
                str(work),
                "--seed",
                str(a.seed),
                "--customers",
                str(a.customers),
                "--invoices",
                str(a.invoices),
                "--receipts",
                str(a.receipts),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    remove_store(work)
    run = [sys.executable, "-m", "hub.cli"]
    for step in (["init"], ["sync"], ["reconcile"]):
        subprocess.run([*run, *step], cwd=work, check=True, capture_output=True)
    first, first_s, first_rss = _timed(work, "risk")
    again, again_s, again_rss = _timed(work, "risk")
    _, report_s, report_rss = _timed(work, "report", "--html", "report.html")
    r = first["risk"]
    result = {
        "customers": r["customers"],
        "invoices": a.invoices,
        "risk_seconds": round(first_s, 2),
        "customers_per_s": round(r["customers"] / first_s),
        "invoices_per_s": round(a.invoices / first_s),
        "risk_peak_rss_mb": round(first_rss),
        "events_queued": r["outbox_rows"],
        "flags_raised": r["raised"],
        "bands": r["band_counts"],
        "rerun_seconds": round(again_s, 2),
        "rerun_events_queued": again["risk"]["outbox_rows"],
        "rerun_peak_rss_mb": round(again_rss),
        "report_seconds": round(report_s, 2),
        "report_peak_rss_mb": round(report_rss),
        "report_kb": round((work / "report.html").stat().st_size / 1024),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
