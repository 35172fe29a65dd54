"""Languages: locale negotiation, locale formatting, the catalogue files and errors in a person's language."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from hub import i18n
from hub.errors import CollectionError, HubError, MatchError
from hub.i18n import N_
from hub.recon.desk import MatchDesk
from hub.risk import collection, credit
from hub.store import Store


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


def test_errors_of_the_services_keep_english_for_the_command_line_and_read_chinese_in_the_api(store: Store) -> None:
    with store.connect() as conn, pytest.raises(HubError) as no_proposal:
        credit.find(conn, 99)
    assert str(no_proposal.value) == "there is no credit limit proposal 99"
    assert i18n.error_text("zh_CN", no_proposal.value) == "没有信用额度建议 99"

    with pytest.raises(MatchError) as no_receipt:
        MatchDesk(store).confirm("R-404", actor="ana")
    assert str(no_receipt.value) == "no receipt 'R-404' (give the receipt_ref of 'hub matches list' or its key)"
    assert i18n.error_text("zh_CN", no_receipt.value) == (
        "没有收款 'R-404'（请提供 'hub matches list' 中的 receipt_ref 或其编号）"  # noqa: RUF001 - Chinese punctuation
    )

    with pytest.raises(CollectionError) as nobody:
        collection.record_action(store, customer_id="C9", channel="phone")
    # the hint inside is a message of its own, translated with the sentence around it
    assert str(nobody.value) == "no customer 'C9' in the hub; the hub has no customers yet; run 'hub sync' first"
    assert i18n.error_text("zh_CN", nobody.value) == "中枢中没有客户 'C9'；中枢尚无客户；请先运行 'hub sync'"  # noqa: RUF001


def test_a_decision_inside_an_error_is_said_in_the_persons_language() -> None:
    proposal = credit.LimitProposal(
        id=7,
        customer_id="C1",
        as_of=dt.date(2026, 12, 1),
        currency="CNY",
        current_limit=None,
        recommended=Decimal("50000"),
        reasons=[],
        status="approved",
        created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        decided_by="ana",
        decided_at=dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC),
    )
    said = credit.decision_message(proposal)
    assert said.english() == proposal.decision == "approved by ana on 2026-12-02"
    assert said.render("zh_CN") == "已批准（ana，2026年12月2日）"  # noqa: RUF001 - Chinese punctuation


def test_the_message_example_of_the_translating_guide_works() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "translating.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/translating.md", "exec"), {})
