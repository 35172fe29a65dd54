#!/usr/bin/env python3
"""Benchmark: match quality and speed of `hub run` on generated workloads, against the ERP-rule baseline.

For each seed: generate a workload, `hub init && hub run`, export the matches, score them against
truth.csv with score_matches.py, and score the baseline the same way when the team's
baseline_match.py is available (../shared/bench). Prints one JSON line per seed and a summary.

Usage: python bench/bench_match.py [--seeds 1 2 3] [--customers 500 --invoices 10000 --receipts 2000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_BENCH = HERE.parent.parent / "shared" / "bench"
sys.path.insert(0, str(HERE))
from benchlib import HUB_CONFIG, hub  # noqa: E402
from score_matches import load_truth, score  # noqa: E402

CONFIG = HUB_CONFIG + '[connectors.flags]\ntype = "json-file"\npath = "flags.jsonl"\n'


def top1(db: Path, truth: dict[str, set[str]]) -> dict[str, int]:
    """Receipts that pay invoices, were not matched automatically, and got suggestions: how many
    had the right invoices as their first (best-ranked) suggestion."""
    conn = sqlite3.connect(db)
    first: dict[str, set[str]] = {}
    for ref, number in conn.execute(
        "SELECT r.bank_ref, i.number FROM allocation a JOIN receipt r ON r.id = a.receipt_id "
        "JOIN invoice i ON i.id = a.invoice_id WHERE a.status = 'suggested' AND a.rank = 1 AND a.kind != 'write_off'"
    ):
        first.setdefault(ref, set()).add(number)
    conn.close()
    paying = [ref for ref in first if truth.get(ref)]
    correct = sum(1 for ref in paying if first[ref] == truth[ref])
    return {"suggested_paying": len(paying), "suggested_top1_correct": correct}


def one(seed: int, a: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"hub-bench-match-{seed}-"))
    subprocess.run(
        [
            sys.executable,
            str(HERE / "gen_receivables.py"),
            str(work),
            "--seed",
            str(seed),
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
    (work / "hub.toml").write_text(CONFIG, encoding="utf-8")
    hub("init", cwd=work)
    started = time.perf_counter()
    summary = json.loads(hub("--json", "run", cwd=work))
    seconds = time.perf_counter() - started
    hub("matches", "export", "--format", "csv", "-o", "matches.csv", cwd=work)
    truth = load_truth(str(work / "truth.csv"))
    hub_score = score(truth, str(work / "matches.csv"))
    hub_score.update(top1(work / "hub.db", truth))
    result: dict[str, object] = {
        "seed": seed,
        "hub": hub_score,
        "hub_run_s": round(seconds, 2),
        "reconcile_s": round(float(summary["reconcile"]["seconds"]), 2),
    }
    baseline = SHARED_BENCH / "baseline_match.py"
    if baseline.exists():
        subprocess.run([sys.executable, str(baseline), str(work), str(work / "baseline.csv")], check=True)
        result["baseline"] = score(truth, str(work / "baseline.csv"))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--customers", type=int, default=500)
    ap.add_argument("--invoices", type=int, default=10_000)
    ap.add_argument("--receipts", type=int, default=2_000)
    a = ap.parse_args()
    rows = [one(seed, a) for seed in a.seeds]
    for r in rows:
        print(json.dumps(r))
    for who in ("hub", "baseline"):
        got: list[dict[str, float]] = [r[who] for r in rows if who in r]  # type: ignore[misc]
        if got:
            summary = {
                k: round(sum(g[k] for g in got) / len(got), 4)
                for k in ("auto_precision", "auto_rate", "false_auto_on_non_ar")
            }
            shown = sum(g.get("suggested_paying", 0) for g in got)
            if shown:
                # Of the paying receipts left to finance with suggestions, how often the first was right.
                summary["suggestion_top1"] = round(sum(g["suggested_top1_correct"] for g in got) / shown, 4)
            summary["wrong_auto"] = sum(g["auto"] - g["auto_correct"] for g in got)
            print(json.dumps({who: summary}))
    mean = sum(float(r["reconcile_s"]) for r in rows) / len(rows)  # type: ignore[arg-type]
    print(json.dumps({"reconcile_s_mean": round(mean, 2), "receipts_per_seed": a.receipts}))


if __name__ == "__main__":
    main()
