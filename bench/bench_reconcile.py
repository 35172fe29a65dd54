#!/usr/bin/env python3
"""Benchmark: `hub reconcile` speed at growing scale (1/4, 1/2 and full), one core, SQLite.

For each scale: generate customers, open invoices and receipts with the team's generator, sync
them (not timed here; see bench_sync.py / bench_import.py), then time `hub reconcile` in a fresh
process: loading the open items, matching every receipt, and storing allocations. Reports
receipts/s, match quality against truth.csv and peak RSS, so growth can be checked for linearity.

Beside it, on the same data dir and in the same run, the shared ERP-rule baseline
(``../shared/bench/baseline_match.py DATA_DIR OUT.csv``, which stores nothing): its wall time, its
peak RSS, and the ratio reconcile / baseline (issue 19's goal: at most 1.6). ``--baseline`` names
another copy of it; ``--no-baseline`` leaves it out.

Usage: python bench/bench_reconcile.py [--receipts 200000 --invoices 1000000 --customers 20000]
       [--fractions 0.25 0.5 1] [--workdir DIR] [--baseline PATH | --no-baseline]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import HUB_CONFIG, hub, remove_store

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from score_matches import load_truth, score  # noqa: E402

CONFIG = HUB_CONFIG + "[sync]\nworkers = 2\n"
BASELINE = HERE.parent.parent / "shared" / "bench" / "baseline_match.py"


def measured(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run ``command`` in a fresh process: its wall time, its own peak RSS in MB (``wait4`` gives the
    child's rusage, not the maximum over every child so far) and its output."""
    import os

    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, command)
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def one(fraction: float, a: argparse.Namespace, root: Path) -> dict[str, object]:
    receipts, invoices, customers = (int(x * fraction) for x in (a.receipts, a.invoices, a.customers))
    work = root / f"scale-{fraction}"
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "statement.xml").exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_receivables.py"),
                str(work),
                "--seed",
                str(a.seed),
                "--customers",
                str(customers),
                "--invoices",
                str(invoices),
                "--receipts",
                str(receipts),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    remove_store(work)
    (work / "hub.toml").write_text(CONFIG, encoding="utf-8")
    hub("init", cwd=work)
    hub("sync", cwd=work)
    wall, peak, out = measured([sys.executable, "-m", "hub.cli", "--json", "reconcile"], work)
    stats = json.loads(out)["reconcile"]
    hub("matches", "export", "--format", "csv", "-o", "matches.csv", cwd=work)
    quality = score(load_truth(str(work / "truth.csv")), str(work / "matches.csv"))
    baseline: dict[str, object] = {}
    if a.baseline is not None:
        base_wall, base_peak, _ = measured(
            [sys.executable, str(a.baseline), str(work), str(work / "baseline.csv")], work
        )
        baseline = {
            "baseline_wall_s": round(base_wall, 2),
            "baseline_peak_rss_mb": round(base_peak),
            "ratio_to_baseline": round(wall / base_wall, 2),
        }
    return {
        "fraction": fraction,
        "receipts": receipts,
        "invoices": invoices,
        "customers": customers,
        "reconcile_wall_s": round(wall, 2),
        "engine_s": round(float(stats["seconds"]), 2),
        "receipts_per_s": round(receipts / wall),
        "auto": stats["auto"],
        "suggested": stats["suggested"],
        "auto_rate": quality["auto_rate"],
        "auto_precision": quality["auto_precision"],
        "auto_wrong": int(quality["auto"]) - int(quality["auto_correct"]),
        "reconcile_peak_rss_mb": round(peak),
        **baseline,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--receipts", type=int, default=200_000)
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--baseline", type=Path, default=BASELINE, help="the shared ERP-rule baseline script")
    ap.add_argument("--no-baseline", dest="baseline", action="store_const", const=None)
    a = ap.parse_args()
    if a.baseline is not None and not a.baseline.exists():
        ap.error(f"{a.baseline} not found: give --baseline PATH or --no-baseline")
    root = a.workdir or Path(tempfile.mkdtemp(prefix="hub-bench-reconcile-"))
    for fraction in a.fractions:
        print(json.dumps(one(fraction, a, root)), flush=True)


if __name__ == "__main__":
    main()
