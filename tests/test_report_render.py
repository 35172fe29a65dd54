"""The HTML report as a browser draws it (Debian's Chromium, driven by Playwright): readable rows.

The layout is checked where it is seen: in a real browser at a laptop's width. The table of the
largest exposures once wrapped its last column to six lines per row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_hub

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    summary = json.loads(run_hub("--json", "demo", "--workspace", str(folder / "demo"), cwd=folder).stdout)
    return Path(summary["report"])


def test_the_largest_exposures_fit_a_laptop_screen_with_short_rows(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri())
        rows = page.eval_on_selector_all(
            "#top-exposures tbody tr",
            "rows => rows.map(r => [r.getBoundingClientRect().height,"
            " parseFloat(getComputedStyle(r.querySelector('td.c-next')).lineHeight)])",
        )
        overflow = page.eval_on_selector("#top-exposures .scroll", "e => e.scrollWidth - e.clientWidth")
        page.screenshot(path=str(report.with_suffix(".png")), full_page=True)
        browser.close()
    assert len(rows) == 20
    assert all(height <= 4 * line for height, line in rows), rows  # three lines and a bit (it was six)
    assert overflow <= 0  # the whole table is on screen: nothing to scroll sideways
