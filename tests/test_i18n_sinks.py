"""Flag and reason texts pushed to CRMs in each sink's language; the stored history stays English."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.errors import ConfigError
from hub.i18n import N_, Join, Message
from hub.model import FlagChange
from hub.outbox import localize
from hub.risk import credit
from hub.store import schema

from .conftest import write_config

AS_OF = dt.date(2026, 11, 27)


def _book(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text(
        "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n"
        "A,Alpha GmbH,DE1,DE,CNY,1000.00,,\n"
        "C,Gamma SARL,FR1,FR,EUR,5000.00,,\n"
    )
    (tmp_path / "invoices.csv").write_text(
        "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
        "A1,A,2026-08-01,2026-08-20,CNY,800.00,800.00,\n"  # 99 days late
        "A2,A,2026-11-01,2026-12-01,CNY,1300.00,1300.00,\n"  # not due; A owes 2100 > 1000
        "C1,C,2026-09-01,2026-09-27,EUR,100.00,100.00,\n"  # 61 days late
    )


def _lines(path: Path) -> dict[str, dict[str, object]]:
    return {e["event_id"]: e for e in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


@pytest.fixture
def pushed(tmp_path: Path, db_url: str) -> tuple[Hub, Path]:
    _book(tmp_path)
    write_config(
        tmp_path,
        db_url,
        statements=None,
        sink="out/en.jsonl",
        extra='[connectors.crm_cn]\ntype = "json-file"\npath = "out/zh.jsonl"\nlanguage = "zh_CN"\n'
        "[risk]\ncredit_hold_overdue_days = 365\ncredit_hold_bands = []\nprepayment_bands = []\n",
    )
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    hub.sync()
    hub.risk(AS_OF)
    hub.push()
    return hub, tmp_path / "out"


def test_a_flag_pushed_to_a_chinese_sink_reads_chinese_and_to_an_english_sink_english(pushed: tuple[Hub, Path]) -> None:
    hub, out = pushed
    english, chinese = _lines(out / "en.jsonl"), _lines(out / "zh.jsonl")
    assert english.keys() == chinese.keys()

    en, zh = english["C:OVERDUE_60:v1"], chinese["C:OVERDUE_60:v1"]
    assert en["label"] == "More than 60 days overdue"
    assert zh["label"] == "逾期超过60天"
    assert en["reason"] == "the oldest unpaid invoice is 61 days past due (more than 60); 100.00 EUR overdue in all"
    assert zh["reason"] == "最早未付发票已逾期61天（超过60天）；逾期合计€100.00"  # noqa: RUF001 - Chinese punctuation

    over = chinese["A:OVER_LIMIT:v1"]
    assert over["label"] == "超出信用额度"
    assert over["reason"] == "欠款¥2,100.00，超出¥1,000.00信用额度¥1,100.00"  # noqa: RUF001 - Chinese punctuation
    assert english["A:OVER_LIMIT:v1"]["reason"] == "owes 2,100.00 CNY, 1,100.00 CNY over its 1,000.00 CNY credit limit"

    # the message id and values travel with the event, for a system that renders texts itself
    assert zh["message"] == en["message"]
    assert isinstance(zh["message"], dict) and zh["message"]["id"].startswith("the oldest unpaid invoice")

    band = next(e for k, e in chinese.items() if k.startswith("A:BAND"))
    assert str(band["reason"]).startswith("评分")

    # the stored history keeps the English sentence
    with hub.store.connect() as conn:
        reasons = set(conn.execute(sa.select(schema.flag_event.c.reason)).scalars())
    assert en["reason"] in reasons
    hub.close()


def test_a_sink_language_that_is_no_language_is_a_config_error(tmp_path: Path, db_url: str) -> None:
    write_config(
        tmp_path,
        db_url,
        customers=None,
        invoices=None,
        statements=None,
        extra='[connectors.crm]\ntype = "json-file"\npath = "out/x.jsonl"\nlanguage = "klingon!"\n',
    )
    hub = Hub(load_config(tmp_path / "hub.toml"))
    with pytest.raises(ConfigError, match="language"):
        hub.connectors()
    hub.close()


def test_a_sink_in_a_language_the_hub_does_not_speak_gets_english(tmp_path: Path, db_url: str) -> None:
    write_config(
        tmp_path,
        db_url,
        customers=None,
        invoices=None,
        statements=None,
        extra='[connectors.crm]\ntype = "json-file"\npath = "out/x.jsonl"\nlanguage = "fr"\n'
        '[connectors.cn]\ntype = "json-file"\npath = "out/y.jsonl"\nlanguage = "zh-Hans-CN"\n',
    )
    hub = Hub(load_config(tmp_path / "hub.toml"))
    assert (hub.sinks()["crm"].language, hub.sinks()["cn"].language) == ("en", "zh_CN")
    hub.close()


def test_a_credit_limit_approval_reaches_a_chinese_sink_in_chinese() -> None:
    approved = Message(N_("Approved by %(who)s."), who="ana")
    event = credit._event(
        "C1",
        7,
        Decimal("50000"),
        "CNY",
        None,
        "ana",
        "Approved by ana. Recommended credit limit: 50,000.00 CNY.",
        dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC),
        {},
        Join((approved, credit.recommended_message(Decimal("50000"), "CNY")), " "),
    )
    assert localize(event, "en").reason == event.reason
    assert localize(event, "zh_CN").reason == "由ana批准。建议信用额度：¥50,000.00。"  # noqa: RUF001


def test_an_event_queued_before_messages_existed_keeps_its_english_reason() -> None:
    event = FlagChange(
        event_id="C1:OVER_LIMIT:v1",
        customer_id="C1",
        code="OVER_LIMIT",
        action="raised",
        version=1,
        reason="C1 owes more than its credit limit.",
        at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
    )
    chinese = localize(event, "zh_CN")
    assert isinstance(chinese, FlagChange)
    assert (chinese.reason, chinese.label) == ("C1 owes more than its credit limit.", "超出信用额度")


def test_the_score_breakdown_is_kept_as_messages_a_reader_can_see_in_chinese(pushed: tuple[Hub, Path]) -> None:
    hub, _out = pushed
    with hub.store.connect() as conn:
        signals = conn.execute(
            sa.select(schema.exposure.c.signals).where(schema.exposure.c.customer_id == "C")
        ).scalar_one()
    ageing = next(s for s in signals if s["signal"] == "ageing")
    said = Message.from_json(ageing["message"])
    assert said is not None and said.english() == ageing["reason"]
    assert said.render("zh_CN").startswith("余额的100%（€100.00中的€100.00）已逾期")  # noqa: RUF001
    hub.close()
