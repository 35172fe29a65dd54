"""The HTML report in Simplified Chinese: every label translated, numbers, money and days written the
Chinese way, and the page drawn with Chinese glyphs by a real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from hub.report import build_report
from hub.store import Store

from .conftest import run_hub
from .test_report import AS_OF, GENERATED, USD, portfolio

#: Latin words the Chinese page may show: codes, currencies, the fixture's ids and owners (data, not
#: labels), the commands it names.
ALLOWED = re.compile(
    r"^(?:[A-Z]{3}|[A-Z][+-]?|[A-Z]?\d+|UTC|hub|risk|reconcile|collections|due|fx|rates|name|"
    r"collector|legal|account-manager|ar-clerk|Sons|script|alert|x|G\d*|P\d*|Creditsafe|Qichacha|Tianyancha|[A-Za-z]*\d[\w-]*)$"
)


def _page(store: Store, locale: str) -> Any:
    html = build_report(store, as_of=AS_OF, base_currency="EUR", fx_rates=USD, generated_at=GENERATED, locale=locale)
    return lxml.html.fromstring(html)


def _visible_words(doc: Any) -> set[str]:
    for bad in doc.xpath("//style|//script"):
        bad.drop_tree()
    texts = doc.xpath("//body//text()") + doc.xpath("//title//text()") + doc.xpath("//@aria-label")
    return {w for t in texts for w in re.findall(r"[A-Za-z](?:[A-Za-z'-]*[A-Za-z])?\d*", str(t))}


def test_the_chinese_report_has_no_untranslated_label(store: Store) -> None:
    portfolio(store)
    doc = _page(store, "zh_CN")
    assert doc.get("lang") == "zh-CN"
    english = sorted(w for w in _visible_words(doc) if not ALLOWED.match(w))
    names = {n for n in doc.xpath('//td[contains(@class, "c-name")]/text()')}
    assert not [w for w in english if not any(w in n for n in names)], english


def test_the_chinese_report_writes_days_and_money_the_chinese_way(store: Store) -> None:
    portfolio(store)
    doc = _page(store, "zh_CN")
    assert doc.xpath('string(//*[@id="as-of"])') == "2024年3月10日"
    assert doc.xpath('string(//*[@id="generated-at"])') == "2024年3月10日 07:45 UTC"
    assert doc.xpath('string(//section[@id="key-figures"]/h2)') == "关键指标"
    assert doc.xpath('string(//*[@id="kf-open"]//span[@class="amt"])') == "37,500.00"
    assert "应收账款报告" in doc.xpath("string(//h1)")
    assert "逾期天数" in doc.xpath('string(//table[@class="ageing"]//thead)')


def test_the_english_report_is_unchanged_by_the_translation(store: Store) -> None:
    portfolio(store)
    doc = _page(store, "en")
    assert doc.get("lang") == "en"
    assert doc.xpath('string(//*[@id="as-of"])') == "2024-03-10"
    assert doc.xpath('string(//section[@id="key-figures"]/h2)') == "Key figures"


@pytest.mark.browser
def test_chromium_draws_the_chinese_report_with_a_chinese_font(tmp_path: Path) -> None:
    """``hub report --lang zh_CN`` on the demo's workspace, drawn by Debian's Chromium: the heading's
    glyphs come from a CJK font (fonts-noto-cjk), not from boxes for missing glyphs."""
    from playwright.sync_api import sync_playwright

    from .test_report_render import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    summary = json.loads(run_hub("--json", "demo", "--workspace", str(tmp_path / "demo"), cwd=tmp_path).stdout)
    workspace = Path(summary["report"]).parent
    report = tmp_path / "report-zh.html"
    run_hub("report", "--html", str(report), "--lang", "zh_CN", cwd=workspace)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri())
        assert "应收账款报告" in page.inner_text("h1")
        cdp = page.context.new_cdp_session(page)
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "h1"})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        page.screenshot(path=str(tmp_path / "report-zh.png"), full_page=True)
        browser.close()
    cjk = [f for f in fonts if "CJK" in f["familyName"] or "Han" in f["familyName"]]
    assert cjk and sum(f["glyphCount"] for f in cjk) >= len("应收账款报告"), fonts
