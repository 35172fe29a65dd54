#!/usr/bin/env python3
"""Benchmark: what finance's confirmations teach the hub, measured on the next day's receipts.

A book of ``bench/books`` is split into two bank statements, its receipts in the order generated:
day 1 and day 2. Two hubs read the same files:

- **cold**: day 1 is synced and reconciled and nobody touches it; then day 2.
- **taught**: after day 1's run, finance settles every day-1 payment the hub did not match
  automatically, as a diligent team would from the remittance advice (``hub matches confirm REF
  INVOICE...``: the proposal naming exactly those invoices where there is one, else an allocation
  by hand), and unmatches and settles the wrong automatic ones; then day 2.

Day 2's paying receipts are scored in both (automatic rate, wrong automatic matches, first
suggestion right), so the difference is what the confirmations taught: payer accounts and names
(`customer_alias`), and the fees a payer's bank deducts. The rest of the book is the same in both.

Both hubs import the books' remittance advices first (``advice.xml``, as ``bench_books.py`` does);
``--no-advices`` leaves them out. ``--no-groups`` gives both hubs a customer master without parent
companies (many ERPs keep none): which payer pays for which customer is then only learned from what
finance confirms.

Usage: python bench/bench_learning.py [--books nordic manufacturer collisions chinese]
       [--invoices 10000] [--seeds 1] [--workdir DIR] [--no-advices] [--no-groups]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from bench_books import TITLES, _allocations, sync  # noqa: E402
from benchlib import HUB_CONFIG, hub  # noqa: E402
from books import BOOKS  # noqa: E402
from books.common import camt053, write_book  # noqa: E402

CONFIG = HUB_CONFIG.replace('path = "statement.xml"', 'path = "statements"')


def _truth(book) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, set[str]] = {}
    for ref, number, _ in book.truth:
        paid = out.setdefault(ref, set())  # a receipt that pays nothing keeps an empty set
        if number:
            paid.add(number)
    return out


def _settle(work: Path, refs: list[str], truth: dict[str, set[str]]) -> Counter[str]:
    """Finance settles the day-1 receipts the hub did not match right: what each confirmation did."""
    from hub.app import Hub
    from hub.config import load_config
    from hub.errors import HubError

    auto, first, _ = _allocations(work / "hub.db")
    done: Counter[str] = Counter()
    app = Hub(load_config(work / "hub.toml"), lock_wait=0)
    try:
        for ref in refs:
            want = truth[ref]
            got = auto.get(ref)
            if got == want or (not want and not got):
                continue
            if got:
                app.matches.unmatch(ref, actor="finance", note="wrong match")
                done["unmatched"] += 1
            if not want:
                continue
            try:
                result = app.matches.confirm(ref, sorted(want), actor="finance", note="from the remittance advice")
            except HubError as e:  # an invoice another receipt took first: left as a person would
                done[f"refused: {type(e).__name__}"] += 1
                continue
            done["confirmed " + ("suggestion" if first.get(ref) == want else "by hand")] += 1
            done.update(f"learned {x['kind']}" for x in result.learned)
    finally:
        app.store.dispose()
    return done


def _score(work: Path, refs: list[str], truth: dict[str, set[str]]) -> dict[str, int]:
    auto, first, _ = _allocations(work / "hub.db")
    paying = [r for r in refs if truth[r]]
    suggested = [r for r in paying if not auto.get(r) and first.get(r)]
    return {
        "paying": len(paying),
        "auto_right": sum(1 for r in paying if auto.get(r) == truth[r]),
        "auto_wrong": sum(1 for r in refs if auto.get(r) and auto[r] != truth[r]),
        "suggested": len(suggested),
        "first_right": sum(1 for r in suggested if first[r] == truth[r]),
    }


def run_one(
    name: str, invoices: int, seed: int, root: Path, advices: bool = True, groups: bool = True
) -> dict[str, object]:
    book = BOOKS[name].generate(seed, invoices)
    if not groups:
        book.customers = [replace(c, parent_id="") for c in book.customers]
    base = root / f"{name}-{invoices}-s{seed}"
    if base.exists():
        shutil.rmtree(base)
    write_book(book, base)
    (base / "statement.xml").unlink()
    half = len(book.receipts) // 2
    days = {1: book.receipts[:half], 2: book.receipts[half:]}
    truth = _truth(book)
    out: dict[str, object] = {"book": name, "invoices": invoices, "seed": seed, "groups": groups}
    for arm in ("cold", "taught"):
        work = base / arm
        (work / "statements").mkdir(parents=True)
        for f in ("customers.csv", "invoices.csv"):
            shutil.copy(base / f, work / f)
        (work / "hub.toml").write_text(CONFIG, encoding="utf-8")
        hub("init", cwd=work)
        if advices and (base / "advice.xml").exists():
            # The payers' advices, as bench_books imports them: each is read with its payment when it comes.
            shutil.copy(base / "advice.xml", work / "advice.xml")
            hub("--json", "advices", "import", "advice.xml", cwd=work)
        for day in (1, 2):
            label = f"{book.name.upper()}-DAY{day}"
            (work / "statements" / f"day{day}.xml").write_text(camt053(days[day], book.today, label), encoding="utf-8")
            sync(work)
            hub("--json", "customers", "resolve", cwd=work)
            hub("--json", "reconcile", cwd=work)
            if day == 1:
                out[f"{arm}_day1"] = _score(work, [r.ref for r in days[1]], truth)
                if arm == "taught":
                    out["settled"] = dict(_settle(work, [r.ref for r in days[1]], truth))
        out[arm] = _score(work, [r.ref for r in days[2]], truth)
    return out


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "n/a"


def table(rows: list[dict[str, object]]) -> str:
    out = [
        "| book | invoices | day-2 paying receipts | automatic, cold | automatic, taught | wrong automatic "
        "(cold / taught) | first suggestion right (cold / taught) |",
        "|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        groups[str(r["book"]), int(r["invoices"])].append(r)  # type: ignore[call-overload]
    for (name, invoices), got in groups.items():
        s = {arm: Counter() for arm in ("cold", "taught")}  # type: ignore[var-annotated]
        for g in got:
            for arm in s:
                s[arm].update(g[arm])  # type: ignore[arg-type]
        c, t = s["cold"], s["taught"]
        seeds = ",".join(str(g["seed"]) for g in got)
        out.append(
            f"| {TITLES.get(name, name)} (seed {seeds}) | {invoices:,} | {c['paying']:,} "
            f"| {_pct(c['auto_right'], c['paying'])} | {_pct(t['auto_right'], t['paying'])} "
            f"| {c['auto_wrong']} / {t['auto_wrong']} "
            f"| {_pct(c['first_right'], c['suggested'])} of {c['suggested']} / "
            f"{_pct(t['first_right'], t['suggested'])} of {t['suggested']} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--books", nargs="+", default=list(BOOKS), choices=list(BOOKS))
    ap.add_argument("--invoices", type=int, default=10_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--no-advices", dest="advices", action="store_false", help="do not import the advices")
    ap.add_argument(
        "--no-groups", dest="groups", action="store_false", help="a customer master without parent companies"
    )
    args = ap.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench-learning-"))
    rows = []
    for name in args.books:
        for seed in args.seeds:
            row = run_one(name, args.invoices, seed, root, args.advices, args.groups)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(table(rows))


if __name__ == "__main__":
    main()
