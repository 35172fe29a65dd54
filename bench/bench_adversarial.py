#!/usr/bin/env python3
"""Benchmark: hostile statement files are read (or refused) in time that grows linearly.

The tests check what the readers do with these inputs; this script measures how long it takes,
at two sizes each, so a quadratic step shows as a ratio near 4 instead of 2. Tests never assert
elapsed time (a busy machine would fail them); run this after changing a reader.

Usage: python bench/bench_adversarial.py [--scale 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hub_connectors.bank_files.camt import CamtReader
from hub_connectors.bank_files.ofx import OfxReader, _close_elements

from hub.errors import StatementError


def _trn(i: int) -> str:
    return f"<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240115<TRNAMT>1.00<FITID>{i}</STMTTRN>\n"


def ofx_element_closing(n: int, folder: Path) -> Callable[[], object]:
    body = (
        "<OFX><BANKTRANLIST>"
        + "".join(
            f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20200101<TRNAMT>-1.00<FITID>{i}<NAME>x</STMTTRN>\n" for i in range(n)
        )
        + "</BANKTRANLIST></OFX>"
    )
    return lambda: _close_elements(body)


def ofx_deep_nesting(n: int, folder: Path) -> Callable[[], object]:
    depth = n // 25
    text = (
        "<OFX>"
        + "<STMTRS><CURDEF>USD<BANKACCTFROM><ACCTID>1</BANKACCTFROM><BANKTRANLIST>" * depth
        + "".join(_trn(i) for i in range(n // 10))
        + "</BANKTRANLIST></STMTRS>" * depth
        + "</OFX>"
    )
    path = folder / f"nested-{n}.ofx"
    path.write_text(text, encoding="ascii")
    return lambda: list(OfxReader(path))


def camt_billion_laughs(n: int, folder: Path) -> Callable[[], object]:
    lols = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    path = folder / f"lol-{n}.xml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY lol0 "lol">{lols}]>'
        f"<Document><Id>{'&lol9;' * (n // 1000)}</Id></Document>",
        encoding="ascii",
    )

    def refuse() -> object:
        try:
            list(CamtReader(path))
        except StatementError as exc:
            return exc
        raise AssertionError("a DTD must be refused")

    return refuse


CASES = {
    "ofx element closing": ofx_element_closing,
    "ofx deep nesting": ofx_deep_nesting,
    "camt billion laughs refused": camt_billion_laughs,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="Multiply the sizes.")
    args = parser.parse_args()
    sizes = [int(50_000 * args.scale), int(100_000 * args.scale)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in CASES.items():
            seconds = []
            for n in sizes:
                run = build(n, Path(tmp))
                started = time.perf_counter()
                run()
                seconds.append(time.perf_counter() - started)
            ratio = seconds[1] / seconds[0] if seconds[0] else float("nan")
            print(
                f"{name:32} {sizes[0]:>8}: {seconds[0]:7.3f} s  {sizes[1]:>8}: {seconds[1]:7.3f} s  "
                f"ratio {ratio:.2f} (2 = linear)"
            )


if __name__ == "__main__":
    main()
