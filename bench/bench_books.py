#!/usr/bin/env python3
"""Benchmark: cash application on books the engine was not tuned on (bench/books), and the shared generator.

For each book, scale (invoices) and seed: generate the workload, ``hub init``, ``hub sync`` (the
invoices from CSV and the camt.053 statement; the run stops if any record is quarantined),
``hub customers resolve``, then ``hub reconcile`` timed in a fresh process (wall time, start-up and
storage included), export the matches and score them with the team's ``score_matches.py``
semantics: an automatic match is right only if its set of invoices equals the truth. The first
suggestion of receipts left to finance is read from the store as in ``bench_match.py``.

The books' payers send remittance advices apart for some payments (``advice.xml``, remt.001: those
that say "siehe Zahlungsavis", "se specifikation" and the like, some cut lists and large groups, and
a few of payments not on the statement): imported with ``hub advices import`` before the reconcile,
as finance would; ``--no-advices`` leaves them out.

Prints a markdown table (one row per book and scale, seeds summed) and, with ``--phenomena``, for
each book which tagged phenomena (``phenomena.csv``) the wrong and missed receipts carry. Every
run's wrong and missed receipts are written to ``misses.csv`` in its work folder.

Usage: python bench/bench_books.py [--books shared manufacturer collisions chinese]
       [--scales 10000 50000] [--seeds 1] [--workdir DIR] [--phenomena] [--json FILE] [--no-advices]
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_match import top1  # noqa: E402
from benchlib import HUB_CONFIG, hub, remove_store  # noqa: E402
from books import BOOKS  # noqa: E402
from books.common import write_book  # noqa: E402
from score_matches import load_truth, score  # noqa: E402

SHARED = "shared"
TITLES = {SHARED: "Shared generator", **{name: m.TITLE for name, m in BOOKS.items()}}


def sizes(book: str, invoices: int) -> tuple[int, int]:
    """Customers and receipts of a book of ``invoices`` invoices (the shared generator: bench_match's ratios)."""
    if book == SHARED:
        return max(invoices // 20, 1), max(invoices // 5, 1)
    return BOOKS[book].sizes(invoices)  # type: ignore[no-any-return]


def generate(book: str, seed: int, invoices: int, out: Path) -> None:
    if book == SHARED:
        customers, receipts = sizes(book, invoices)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_receivables.py"),
                str(out),
                "--seed",
                str(seed),
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
    else:
        write_book(BOOKS[book].generate(seed, invoices), out)


def sync(work: Path) -> dict[str, int]:
    """Sync every stream; the counts read and quarantined. A quarantined record stops the bench."""
    streams = json.loads(hub("--json", "sync", cwd=work))["sync"]
    got = {s["stream"]: s["read"] for s in streams}
    quarantined = sum(s["quarantined"] for s in streams)
    errors = [e for s in streams for e in s["errors"]]
    if quarantined or errors:
        raise SystemExit(f"{work}: {quarantined} records quarantined, errors {errors}: the book is not importable")
    return got


def _allocations(db: Path) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, tuple[str, ...]]]:
    """Per receipt: its automatic invoices, its first suggestion, and what the bank said (payer, texts)."""
    conn = sqlite3.connect(db)
    auto: dict[str, set[str]] = defaultdict(set)
    first: dict[str, set[str]] = defaultdict(set)
    for ref, number, status, rank in conn.execute(
        "SELECT r.bank_ref, i.number, a.status, a.rank FROM allocation a JOIN receipt r ON r.id = a.receipt_id "
        "JOIN invoice i ON i.id = a.invoice_id WHERE a.kind != 'write_off' AND a.status IN ('auto', 'suggested')"
    ):
        if status == "auto":
            auto[ref].add(number)
        elif rank == 1:
            first[ref].add(number)
    said = {  # amounts are stored in millionths
        ref: (str(Decimal(micros).scaleb(-6).quantize(Decimal("0.01"))), *(str(x or "") for x in rest))
        for ref, micros, *rest in conn.execute(
            "SELECT bank_ref, amount, currency, payer_name, ultimate_payer_name, payer_account, remittance, "
            "additional_remittance, additional_tx_info, additional_entry_info FROM receipt"
        )
    }
    conn.close()
    return auto, first, said


def misses(work: Path, truth: dict[str, set[str]]) -> list[dict[str, str]]:
    """The wrong automatic matches and the paying receipts not matched automatically, with their tags."""
    tags: dict[str, str] = {}
    if (work / "phenomena.csv").exists():
        with (work / "phenomena.csv").open(encoding="utf-8") as f:
            tags = {r["receipt_ref"]: r["tags"] for r in csv.DictReader(f)}
    auto, first, said = _allocations(work / "hub.db")
    rows = []
    for ref, want in truth.items():
        got = auto.get(ref)
        if got == want or (not want and not got):
            continue
        outcome = (
            "wrong"
            if got
            else ("suggested-right" if first.get(ref) == want else "suggested-wrong" if first.get(ref) else "unmatched")
        )
        amount, ccy, payer, ultimate, account, text, *extra = said.get(ref, ("0", *("",) * 8))
        rows.append(
            {
                "receipt_ref": ref,
                "outcome": outcome,
                "tags": tags.get(ref, ""),
                "truth": " ".join(sorted(want)),
                "auto": " ".join(sorted(got or ())),
                "first_suggestion": " ".join(sorted(first.get(ref, ()))),
                "amount": f"{amount} {ccy}",
                "payer": payer,
                "ultimate": ultimate,
                "account": account,
                "text": text,
                "additional": " | ".join(x for x in extra if x and x != "[]"),
            }
        )
    with (work / "misses.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["receipt_ref"])
        w.writeheader()
        w.writerows(rows)
    return rows


def run_one(book: str, invoices: int, seed: int, root: Path, advices: bool = True) -> dict[str, object]:
    work = root / f"{book}-{invoices}-s{seed}"
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "statement.xml").exists():
        generate(book, seed, invoices, work)
    remove_store(work)
    (work / "hub.toml").write_text(HUB_CONFIG, encoding="utf-8")
    hub("init", cwd=work)
    read = sync(work)
    hub("--json", "customers", "resolve", cwd=work)
    advised = 0
    if advices and (work / "advice.xml").exists():
        imported = json.loads(hub("--json", "advices", "import", "advice.xml", cwd=work))["advices_import"]
        advised = sum(int(f["new"]) for f in imported)
    started = time.perf_counter()
    stats = json.loads(hub("--json", "reconcile", cwd=work))["reconcile"]
    wall = time.perf_counter() - started
    hub("matches", "export", "--format", "csv", "-o", "matches.csv", cwd=work)
    truth = load_truth(str(work / "truth.csv"))
    quality = score(truth, str(work / "matches.csv"))
    quality.update(top1(work / "hub.db", truth))
    tags: dict[str, str] = {}
    if (work / "phenomena.csv").exists():
        with (work / "phenomena.csv").open(encoding="utf-8") as f:
            tags = {r["receipt_ref"]: r["tags"] for r in csv.DictReader(f)}
    tag_counts = Counter(t for ref, want in truth.items() if want for t in tags.get(ref, "").split(";") if t)
    missed = misses(work, truth)
    return {
        "book": book,
        "invoices": invoices,
        "seed": seed,
        "work": str(work),
        "customers": read["customers"],
        "receipts": read["receipts"],
        "advices": advised,
        "reconcile_wall_s": round(wall, 2),
        "engine_s": round(float(stats["seconds"]), 2),
        **quality,
        "tags": dict(tag_counts),
        "missed_tags": dict(Counter(t for m in missed if m["outcome"] != "wrong" for t in m["tags"].split(";") if t)),
        "wrong_tags": dict(Counter(t for m in missed if m["outcome"] == "wrong" for t in m["tags"].split(";") if t)),
    }


def _pct(n: float, d: float) -> str:
    return f"{100 * n / d:.1f}%" if d else "n/a"


def table(rows: list[dict[str, object]]) -> str:
    """One line per book and scale, the seeds summed."""
    groups: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        groups[str(r["book"]), int(r["invoices"])].append(r)  # type: ignore[call-overload]
    out = [
        "| book | invoices | receipts (paying) | paying receipts matched automatically | precision of automatic "
        "matches | wrong automatic matches (on non-customer receipts) | first suggestion right | receipts/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (book, invoices), got in groups.items():
        s = {
            k: sum(int(g[k]) for g in got)
            for k in (
                "receipts",
                "matchable",
                "auto",
                "auto_correct",  # type: ignore[call-overload]
                "false_auto_on_non_ar",
                "suggested_paying",
                "suggested_top1_correct",
            )
        }
        wall = sum(float(g["reconcile_wall_s"]) for g in got)  # type: ignore[arg-type]
        seeds = ",".join(str(g["seed"]) for g in got)
        out.append(
            f"| {TITLES.get(book, book)} (seed {seeds}) | {invoices:,} | {s['receipts']:,} ({s['matchable']:,}) "
            f"| {_pct(s['auto_correct'], s['matchable'])} | {_pct(s['auto_correct'], s['auto'])} "
            f"| {s['auto'] - s['auto_correct']} ({s['false_auto_on_non_ar']}) "
            f"| {_pct(s['suggested_top1_correct'], s['suggested_paying'])} of {s['suggested_paying']:,} "
            f"| {s['receipts'] / wall:,.0f} |"
        )
    return "\n".join(out)


def phenomena(rows: list[dict[str, object]]) -> str:
    """Per book (all scales and seeds): each tag, how many paying receipts carry it, how many of them
    were missed (not automatic) or matched wrongly."""
    out = []
    for book in dict.fromkeys(str(r["book"]) for r in rows):
        total: Counter[str] = Counter()
        missed: Counter[str] = Counter()
        wrong: Counter[str] = Counter()
        for r in rows:
            if r["book"] == book:
                total.update(r["tags"])  # type: ignore[arg-type]
                missed.update(r["missed_tags"])  # type: ignore[arg-type]
                wrong.update(r["wrong_tags"])  # type: ignore[arg-type]
        if not total:
            continue
        out += [
            f"\n{TITLES.get(book, book)}: paying receipts per phenomenon\n",
            "| phenomenon | paying receipts | not automatic | wrong automatic |",
            "|---|---|---|---|",
        ]
        for tag, n in sorted(total.items(), key=lambda kv: -(missed[kv[0]] + 10 * wrong[kv[0]]) / kv[1]):
            out.append(f"| {tag} | {n:,} | {missed[tag]:,} ({_pct(missed[tag], n)}) | {wrong[tag]} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--books", nargs="+", default=[SHARED, *BOOKS], choices=[SHARED, *BOOKS])
    ap.add_argument("--scales", type=int, nargs="+", default=[10_000, 50_000], help="invoices per book")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--workdir", type=Path, default=None, help="keep the books here (reused when present)")
    ap.add_argument("--phenomena", action="store_true", help="also print what the missed receipts carry")
    ap.add_argument("--json", type=Path, default=None, help="write every run's figures here")
    ap.add_argument("--no-advices", dest="advices", action="store_false", help="do not import the advices")
    a = ap.parse_args()
    root = a.workdir or Path(tempfile.mkdtemp(prefix="hub-bench-books-"))
    rows = []
    for invoices in a.scales:
        for book in a.books:
            for seed in a.seeds:
                r = run_one(book, invoices, seed, root, a.advices)
                print(json.dumps({k: v for k, v in r.items() if not k.endswith("tags")}), file=sys.stderr, flush=True)
                rows.append(r)
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(table(rows))
    if a.phenomena:
        print(phenomena(rows))


if __name__ == "__main__":
    main()
