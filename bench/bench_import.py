#!/usr/bin/env python3
"""Benchmark: importing the generator's camt.053 statement (200,000 entries by default, ~120 MB).

Reports, each in a fresh process so peak RSS is the import's own:

* ``parse``: the camt reader alone (receipts/s, peak RSS);
* ``import``: ``hub receipts import statement.xml`` into a new SQLite store (parse, map, validate,
  store, all in one atomic unit), ``--runs`` times - the median's receipts/s (the command's wall
  time, start-up and exit included) and the peak RSS of the hub and its reader process;
* ``reimport``: the same file again (every receipt read and found already stored).

Usage: python bench/bench_import.py [--receipts 200000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import remove_store

HERE = Path(__file__).resolve().parent

PARSE = """
import resource, sys, time
from hub_connectors.bank_files import open_statement
started = time.perf_counter()
reader = open_statement(__import__("pathlib").Path(sys.argv[1]))
n = sum(1 for _ in reader)
seconds = time.perf_counter() - started
print(n, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


#: The machine's yardstick: libxml2 checking the same file without building anything, and a plain
#: Python loop (shared machines vary by a fifth from hour to hour; these say how fast this one was).
YARDSTICK = """
import sys, time
from lxml import etree
class Nothing:
    def close(self): return None
started = time.perf_counter()
parser = etree.XMLParser(target=Nothing(), resolve_entities=False, no_network=True, load_dtd=False)
with open(sys.argv[1], "rb") as f:
    while chunk := f.read(1 << 20):
        parser.feed(chunk)
parser.close()
check = time.perf_counter() - started
started = time.perf_counter()
sum(range(30_000_000))
print(check, time.perf_counter() - started)
"""


#: Runs the hub command line in a child and prints, after its output, the command's wall time (from
#: starting the hub process to its exit) and the peak RSS (KB) of the largest process below this
#: wrapper (the hub process and the reader process it forks), so the figures are the import's own
#: and not the generator's or the parse-only process's.
HUB = """
import resource, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.run([sys.executable, "-m", "hub.cli", "--json", *sys.argv[1:]], capture_output=True, text=True)
seconds = time.perf_counter() - started
sys.stderr.write(proc.stderr)
print(proc.stdout)
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(proc.returncode)
"""


def _hub(work: Path, *args: str) -> tuple[dict, float, float]:
    """The command's JSON output, its wall time, and the peak RSS (MB) of its processes."""
    proc = subprocess.run([sys.executable, "-c", HUB, *args], cwd=work, capture_output=True, text=True, check=True)
    output, _, figures = proc.stdout.rstrip().rpartition("\n")
    seconds, peak_kb = figures.split()
    return json.loads(output), float(seconds), int(peak_kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--receipts", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=3, help="imports into a new store (the median is reported)")
    a = ap.parse_args()
    # The project's modules compiled once, as an installed hub has them (an editable install under
    # PYTHONDONTWRITEBYTECODE would compile them again in every run).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *(str(HERE.parent / d) for d in ("hub", "connectors", "plugins"))],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    work = a.workdir or Path(tempfile.mkdtemp(prefix="hub-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    statement = work / "statement.xml"
    if not statement.exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "gen_receivables.py"),
                str(work),
                "--seed",
                str(a.seed),
                "--customers",
                str(max(100, a.receipts // 10)),
                "--invoices",
                str(a.receipts * 5),
                "--receipts",
                str(a.receipts),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    (work / "hub.toml").write_text('[database]\nurl = "sqlite:///hub.db"\n', encoding="utf-8")

    # Parse only, in its own process (peak RSS measured there).
    out = subprocess.run([sys.executable, "-c", PARSE, str(statement)], capture_output=True, text=True, check=True)
    parsed, parse_s, parse_rss_kb = out.stdout.split()
    out = subprocess.run([sys.executable, "-c", YARDSTICK, str(statement)], capture_output=True, text=True, check=True)
    libxml2_s, loop_s = map(float, out.stdout.split())
    walls, peaks = [], []
    for _ in range(max(1, a.runs)):
        remove_store(work)
        _hub(work, "init")
        imported, import_wall, peak = _hub(work, "receipts", "import", "statement.xml")
        walls.append(import_wall)
        peaks.append(peak)
    report = imported["receipts_import"][0]
    again, reimport_wall, _ = _hub(work, "receipts", "import", "statement.xml")
    receipts = report["receipts"]
    import_wall = statistics.median(walls)
    result = {
        "file_mb": round(statement.stat().st_size / 1e6, 1),
        "receipts": receipts,
        "parse_s": round(float(parse_s), 2),
        "parse_receipts_per_s": round(int(parsed) / float(parse_s)),
        "parse_peak_rss_mb": round(int(parse_rss_kb) / 1024),
        "import_wall_s": round(import_wall, 2),
        "import_receipts_per_s": round(receipts / import_wall),
        "import_runs_s": [round(w, 2) for w in walls],
        "import_new": report["new"],
        "import_peak_rss_mb": round(max(peaks)),
        "reimport_wall_s": round(reimport_wall, 2),
        "reimport_new": again["receipts_import"][0]["new"],
        "reimport_duplicates": again["receipts_import"][0]["duplicates"],
        "yardstick_libxml2_check_s": round(libxml2_s, 2),
        "yardstick_python_loop_s": round(loop_s, 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
