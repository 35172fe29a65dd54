#!/usr/bin/env python3
"""Benchmark: `hub sync` of the generator's invoices into SQLite, first load and re-syncs.

Reports rows/s for the first sync, for a re-sync of unchanged files (the cursor sees the same file
content and reads nothing) and for a forced full re-read (``--full-refresh``: every row is read,
mapped and hashed, none written), peak RSS, and raw ``sqlite3.executemany`` of the same invoices on
the same machine for calibration.

Usage: python bench/bench_sync.py [--invoices 1000000] [--customers 20000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import remove_store

HERE = Path(__file__).resolve().parent


def raw_sqlite_baseline(invoices: Path, db: Path) -> float:
    """Plain sqlite3 executemany of the CSV rows as text (no parsing, no validation)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE invoice (number, customer, issued, due, currency, amount, open_amount, po)")
    started = time.perf_counter()
    with invoices.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        conn.executemany("INSERT INTO invoice VALUES (?,?,?,?,?,?,?,?)", reader)
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def empty_postgres(url: str) -> None:
    """Drop every table of the public schema of a PostgreSQL database (a bench database, not a real one)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument(
        "--database",
        default="sqlite:///hub.db",
        help="store URL (default: SQLite in the workdir); a PostgreSQL database is emptied first",
    )
    a = ap.parse_args()
    work = a.workdir or Path(tempfile.mkdtemp(prefix="hub-bench-sync-"))
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "invoices.csv").exists():
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
                "10",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    remove_store(work)
    if a.database.startswith("postgresql"):
        empty_postgres(a.database)
    (work / "hub.toml").write_text(
        f'[database]\nurl = "{a.database}"\n[connectors.erp]\ntype = "csv"\n'
        'customers = "customers.csv"\ninvoices = "invoices.csv"\n',
        encoding="utf-8",
    )

    from hub.app import Hub
    from hub.config import load_config

    hub = Hub(load_config(work / "hub.toml"))
    hub.init()
    rows = a.invoices + a.customers

    def timed(**kw: bool) -> tuple[float, dict[str, int]]:
        started = time.perf_counter()
        stats = hub.sync(**kw)
        seconds = time.perf_counter() - started
        totals = {k: sum(getattr(s, k) for s in stats) for k in ("read", "inserted", "updated", "unchanged")}
        return seconds, totals

    first, first_totals = timed()
    again, again_totals = timed()
    full, full_totals = timed(full_refresh=True)
    hub.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    baseline = raw_sqlite_baseline(work / "invoices.csv", work / "raw.db")
    (work / "raw.db").unlink()
    result = {
        "database": a.database.split("@")[-1],
        "invoices": a.invoices,
        "customers": a.customers,
        "first_sync_s": round(first, 2),
        "first_sync_rows_per_s": round(rows / first),
        "first_sync": first_totals,
        "resync_unchanged_s": round(again, 2),
        "resync_unchanged": again_totals,
        "resync_full_refresh_s": round(full, 2),
        "resync_full_refresh_rows_per_s": round(rows / full),
        "full_refresh_speedup_vs_first": round(first / full, 2),
        "resync_full_refresh": full_totals,
        "peak_rss_mb": round(peak_mb),
        "raw_sqlite3_executemany_s": round(baseline, 2),
        "raw_sqlite3_rows_per_s": round(a.invoices / baseline),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
