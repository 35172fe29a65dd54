#!/usr/bin/env python3
# Copied from the team workload tools (shared/bench) so tests and benchmarks run from a clean clone.
"""Score a matches CSV against truth.csv.

matches CSV: receipt_ref,invoice_number,amount,status[,confidence]  (status: auto | suggested)
A receipt counts as auto-matched when any of its rows has status auto; it is correct when the set
of invoice numbers of its auto rows equals the truth set. Prints one JSON line.
"""
import csv
import json
import sys
from collections import defaultdict


def load_truth(path):
    truth = defaultdict(set)
    for r in csv.DictReader(open(path, encoding="utf-8")):
        truth[r["receipt_ref"]]
        if r["invoice_number"]:
            truth[r["receipt_ref"]].add(r["invoice_number"])
    return truth


def score(truth, matches_path):
    auto, sugg = defaultdict(set), defaultdict(set)
    for r in csv.DictReader(open(matches_path, encoding="utf-8")):
        st = (r.get("status") or "").strip().lower()
        if not r.get("invoice_number"):
            continue
        (auto if st == "auto" else sugg)[r["receipt_ref"]].add(r["invoice_number"])
    matchable = [k for k, v in truth.items() if v]
    n_auto = sum(1 for k in auto if k in truth)
    correct = sum(1 for k, v in auto.items() if truth.get(k) == v)
    false_non_ar = sum(1 for k in auto if k in truth and not truth[k])
    sugg_only = [k for k in matchable if k not in auto and k in sugg]
    sugg_correct = sum(1 for k in sugg_only if sugg[k] == truth[k])
    unknown = sum(1 for k in auto if k not in truth)
    return {
        "receipts": len(truth), "matchable": len(matchable), "auto": n_auto, "auto_correct": correct,
        "auto_precision": round(correct / n_auto, 4) if n_auto else 0.0,
        "auto_rate": round(correct / len(matchable), 4) if matchable else 0.0,
        "false_auto_on_non_ar": false_non_ar,
        "suggested_only": len(sugg_only), "suggested_correct": sugg_correct,
        "unknown_receipt_refs": unknown,
    }


if __name__ == "__main__":
    print(json.dumps(score(load_truth(sys.argv[1]), sys.argv[2])))
