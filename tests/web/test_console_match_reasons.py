"""A receipt's evidence (cash application's reasons) in the reader's language: the console's receipt page
and ``hub matches explain --lang`` in Chinese; the API and the command line by default in English, as
stored; a row written before messages (plain English sentences) shown as written."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.app import Hub
from hub.i18n import expand_stored, stored_english, stored_text
from hub.store import schema
from hub.store.messages import load_keys

from .conftest import bearer, login
from .test_console_i18n_reasons import chinese

CJK = re.compile(r"[\u4e00-\u9fff]")


def evidence(page: str) -> list[str]:
    """The evidence lines of a receipt page (``<ul class="evidence"><li>...``), as a reader sees them."""
    return [
        html.unescape(li)
        for ul in re.findall(r'<ul class="evidence">(.*?)</ul>', page, re.S)
        for li in re.findall(r"<li>(.*?)</li>", ul, re.S)
    ]


def stored_reasons(web_hub: Hub, key: str) -> list[Any]:
    """Every stored reason of the receipt's allocations, in the column's order (each proposal's lines repeat
    them), each message's id looked up by its key."""
    a, r = schema.allocation, schema.receipt
    with web_hub.store.connect() as conn:
        rows = conn.execute(
            sa.select(a.c.reasons).join(r, r.c.id == a.c.receipt_id).where(r.c.external_id == key).order_by(a.c.id)
        ).scalars()
        ids = load_keys(conn)
        return [expand_stored(item, ids) for reasons in rows for item in reasons]


def suggested(web_hub: Hub) -> dict[str, Any]:
    return web_hub.matches.receipts(status="suggested", limit=1).items[0]  # type: ignore[no-any-return]


def test_a_chinese_receipt_page_shows_every_piece_of_evidence_in_chinese(client: TestClient, web_hub: Hub) -> None:
    key = suggested(web_hub)["key"]
    items = stored_reasons(web_hub, key)
    assert items and all(isinstance(item, dict) for item in items)
    chinese(client)
    shown = evidence(client.get(f"/receipts/{key}").text)
    assert sorted(shown) == sorted(stored_text("zh_CN", item) for item in items)
    assert all(CJK.search(line) for line in shown)
    assert not {stored_english(item) for item in items} & set(shown)  # no English sentence left
    assert any(line.startswith("置信度 ") for line in shown) and any("对数几率" in line for line in shown)


def test_an_english_receipt_page_shows_the_evidence_as_stored(client: TestClient, web_hub: Hub) -> None:
    key = suggested(web_hub)["key"]
    login(client, "fiona")
    shown = evidence(client.get(f"/receipts/{key}").text)
    assert sorted(shown) == sorted(stored_english(item) for item in stored_reasons(web_hub, key))


def test_a_receipt_page_shows_the_sentences_of_a_row_written_before_messages_as_written(
    client: TestClient, web_hub: Hub
) -> None:
    key = suggested(web_hub)["key"]
    old = ["payer name 'ACME' is the customer's name (+4.5)", "confidence 0.9000 (log-odds +2.2)"]
    a, r = schema.allocation, schema.receipt
    with web_hub.store.begin() as conn:
        ids = sa.select(r.c.id).where(r.c.external_id == key).scalar_subquery()
        conn.execute(a.update().where(a.c.receipt_id == ids).values(reasons=old))
    chinese(client)
    shown = evidence(client.get(f"/receipts/{key}").text)
    assert shown and set(shown) == set(old)


def test_the_api_gives_the_evidence_in_english_as_stored_whatever_the_readers_language(
    client: TestClient, web_hub: Hub
) -> None:
    row = suggested(web_hub)
    h = bearer(web_hub, "viewer")
    for language in ("en", "zh-CN"):
        answer = client.get(f"/api/v1/receipts/{row['ref']}/explain", headers={**h, "Accept-Language": language})
        assert answer.status_code == 200
        said = [reason for a in answer.json()["allocations"] for reason in a["reasons"]]
        assert sorted(said) == sorted(stored_english(item) for item in stored_reasons(web_hub, row["key"]))


def test_matches_explain_says_the_evidence_in_chinese_with_lang_and_in_english_by_default(web_hub: Hub) -> None:
    from typer.testing import CliRunner

    from hub import cli as hubcli

    row = suggested(web_hub)
    items = stored_reasons(web_hub, row["key"])
    hubcli.register_core_commands()
    runner = CliRunner()
    config = str(web_hub.config.base_dir / "hub.toml")
    english = runner.invoke(hubcli.app, ["--config", config, "matches", "explain", row["ref"]])
    assert english.exit_code == 0, english.output
    said = runner.invoke(hubcli.app, ["--config", config, "matches", "explain", row["ref"], "--lang", "zh_CN"])
    assert said.exit_code == 0, said.output
    # compared without the spaces and line breaks the terminal's wrapping puts in
    flat, flat_english = "".join(said.output.split()), "".join(english.output.split())
    for item in items:
        assert "".join(stored_text("zh_CN", item).split()) in flat
        assert "".join(stored_english(item).split()) in flat_english
    assert "对数几率" in flat and "对数几率" not in flat_english
    wrong = runner.invoke(hubcli.app, ["--config", config, "matches", "explain", row["ref"], "--lang", "fr"])
    assert wrong.exit_code != 0


def test_a_receipt_page_names_the_remittance_advice_it_read_in_the_readers_language(
    client: TestClient, web_hub: Hub
) -> None:
    # An advice of the payment's payer and amount, sent apart: linked to it by payer and amount, its texts
    # and documents are among the texts the page shows, labelled in the reader's language.
    key = suggested(web_hub)["key"]
    receipt = web_hub.matches.explain(key)["receipt"]
    advice = {
        "external_id": "AV-2026-0419",
        "payer_name": receipt["payer_name"],
        "payer_account": receipt["payer_account"],
        "amount": Decimal(receipt["amount"]),
        "currency": receipt["currency"],
        "payment_date": receipt["booking_date"],
        "texts": ["Zahlungsavis Lieferungen KW 41"],
        "documents": [{"number": "RE-2026-9001", "amount": Decimal(receipt["amount"])}],
    }
    assert web_hub.store_advices("bank", "avis-kw41.xml", [advice]) == (1, 0)
    csrf = login(client, "lin")
    english = html.unescape(client.get(f"/receipts/{key}").text)
    assert "remittance advice AV-2026-0419 (avis-kw41.xml" in english
    assert "linked by payer and amount: documents listed" in english
    assert "Zahlungsavis Lieferungen KW 41" in english and "RE-2026-9001" in english
    chinese(client, csrf)
    page = html.unescape(client.get(f"/receipts/{key}").text)
    assert "付款通知AV-2026-0419\uff08avis-kw41.xml" in page  # full-width bracket
    assert "按付款人和金额关联\uff1a所列单据" in page
    assert "Zahlungsavis Lieferungen KW 41" in page
