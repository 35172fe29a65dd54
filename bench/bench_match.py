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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED_BENCH = HERE.parent.parent / "shared" / "bench"
sys.path.insert(0, str(HERE))
from score_matches import load_truth, score  # noqa: E402

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
path = "flags.jsonl"
"""


def hub(*args: str, cwd: Path) -> str:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def one(seed: int, a: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"hub-bench-match-{seed}-"))
    subprocess.run([sys.executable, str(HERE / "gen_receivables.py"), str(work), "--seed", str(seed),
                    "--customers", str(a.customers), "--invoices", str(a.invoices), "--receipts", str(a.receipts)],
                   check=True, stdout=subprocess.DEVNULL)
    (work / "hub.toml").write_text(CONFIG, encoding="utf-8")
    hub("init", cwd=work)
    started = time.perf_counter()
    summary = json.loads(hub("--json", "run", cwd=work))
    seconds = time.perf_counter() - started
    hub("matches", "export", "--format", "csv", "-o", "matches.csv", cwd=work)
    truth = load_truth(str(work / "truth.csv"))
    result: dict[str, object] = {"seed": seed, "hub": score(truth, str(work / "matches.csv")),
                                 "hub_run_s": round(seconds, 2),
                                 "reconcile_s": round(float(summary["reconcile"]["seconds"]), 2)}
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
        got = [r[who] for r in rows if who in r]
        if got:
            print(json.dumps({who: {k: round(sum(g[k] for g in got) / len(got), 4)  # type: ignore[index]
                                    for k in ("auto_precision", "auto_rate", "false_auto_on_non_ar")}}))


if __name__ == "__main__":
    main()
