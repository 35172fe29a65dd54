"""Languages: locale negotiation, locale formatting, the catalogue files and errors in a person's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from hub import i18n
from hub.errors import HubError, MatchError
from hub.i18n import N_


@pytest.mark.parametrize(
    ("header", "preferred", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh_CN"),
        ("en-GB,en;q=0.9,zh-CN;q=0.8", None, "en"),
        ("fr-FR,zh-Hans;q=0.5", None, "zh_CN"),
        ("zh-TW,en;q=0.1", None, "en"),
        ("de, fr", None, "en"),
        (None, None, "en"),
        ("zh-CN", "en", "en"),
        ("en", "zh_CN", "zh_CN"),
        ("en;q=0.2, zh;q=0.7", None, "zh_CN"),
        ("zh;q=0, en;q=0.1", None, "en"),
    ],
)
def test_negotiation_prefers_the_persons_setting_then_the_browser_by_q(
    header: str | None, preferred: str | None, expected: str
) -> None:
    assert i18n.negotiate(header, preferred) == expected


def test_money_in_chinese_is_yuan_with_thousands_separators() -> None:
    assert i18n.money(Decimal("1234567.5"), "CNY", "zh_CN") == "¥1,234,567.50"
    assert i18n.money(Decimal("1234567.5"), "EUR", "en") == "€1,234,567.50"
    assert i18n.number(1234567, "zh_CN") == "1,234,567"
    assert i18n.percent(Decimal("0.835"), "zh_CN", places=1) == "83.5%"


def test_dates_in_chinese_read_year_month_day() -> None:
    assert i18n.date(dt.date(2026, 12, 5), "zh_CN") == "2026年12月5日"
    assert i18n.date(dt.date(2026, 12, 5), "en") == "Dec 5, 2026"
    assert i18n.date(None, "zh_CN") == "\u2013"


def test_catalogue_parts_are_read_beside_the_main_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "hub.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\nmsgid "Receipts"\nmsgstr "收款"\n',
        encoding="utf-8",
    )
    (folder / "console.po.part").write_text('msgid "Dashboard"\nmsgstr "仪表板"\n', encoding="utf-8")
    part = 'msgid "Sign in"\nmsgstr "登录"\n\nmsgid "Receipts"\nmsgstr ""\n'
    (folder / "webapi.po.part").write_text(part, encoding="utf-8")
    monkeypatch.setattr(i18n, "CATALOGUES", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert i18n.gettext("zh_CN", "Receipts") == "收款"
        assert i18n.gettext("zh_CN", "Dashboard") == "仪表板"
        assert i18n.gettext("zh_CN", "Sign in") == "登录"
        assert i18n.gettext("zh_CN", "Not translated") == "Not translated"
    finally:
        i18n.translations.cache_clear()


def test_an_error_with_a_message_id_stays_english_for_the_command_line_and_reads_chinese_in_the_api() -> None:
    exc = MatchError(N_("no invoice %(numbers)s"), values={"numbers": "INV-1, INV-2"})
    assert str(exc) == "no invoice INV-1, INV-2"
    assert i18n.error_text("en", exc) == "no invoice INV-1, INV-2"
    assert i18n.error_text("zh_CN", exc) == "没有发票 INV-1, INV-2"


def test_an_error_without_a_translation_reads_english_in_any_language() -> None:
    assert i18n.error_text("zh_CN", HubError("something only the log explains")) == "something only the log explains"
    assert i18n.error_text("zh_CN", ValueError("plain")) == "plain"
