"""The reasons the risk run stores (limit proposals, the next collection step, flags, admission screenings) read
in the reader's language on the console; in English they read as before, an old row's English sentence still
shows, and the command line stays English."""

from __future__ import annotations

import html
import re
from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from hub.app import Hub
from hub.store import schema

from .conftest import login
from .test_console_i18n import Texts

#: A run of English words: what a sentence left in English looks like on a Chinese page.
ENGLISH = re.compile(r"[A-Za-z]{3,} [a-z]{2,} [a-z]{2,}")


def texts(page: str) -> str:
    parser = Texts()
    parser.feed(page)
    return "\n".join(parser.texts)


def chinese(client: TestClient, csrf: str | None = None) -> None:
    """Switch the session to Simplified Chinese (logging ``lin`` in first unless ``csrf`` says who is)."""
    csrf = csrf or login(client, "lin")
    assert client.post("/language", data={"csrf_token": csrf, "locale": "zh_CN", "next": "/"}).status_code == 303


def sources(web_hub: Hub, cid: str) -> list[str]:
    """The English sentences of one customer the risk run stored: flags, next step, limit proposals."""
    found = web_hub.exposures.customer(cid)
    said = [f["reason"] for f in found.flags]
    if found.exposure.get("next_action"):
        said.append(found.exposure["next_action"]["reason"])
    proposals, _total, _names = web_hub.limits.proposal_page(customer_id=cid, limit=50)
    for p in proposals:
        said += p.reasons[:2]
    return said


def busiest(web_hub: Hub) -> str:
    """A customer with flags, a next collection step and a limit proposal."""
    for row in web_hub.exposures.page(sort="-open_base", limit=200).items:
        found = web_hub.exposures.customer(row["customer_id"])
        proposed = web_hub.limits.proposal_page(customer_id=row["customer_id"], limit=1)[0]
        if found.flags and found.exposure.get("next_action") and proposed:
            return str(row["customer_id"])
    raise AssertionError("the sample book has a flagged, overdue customer with a proposal")


def test_a_customer_page_in_chinese_says_its_flags_next_step_and_limit_reasons_in_chinese(
    client: TestClient, web_hub: Hub
) -> None:
    cid = busiest(web_hub)
    chinese(client)
    page = texts(client.get(f"/customers/{cid}").text)
    for english in sources(web_hub, cid):
        assert english not in page
    found = web_hub.exposures.customer(cid)
    assert found.exposure["next_action"]["reason"].startswith("Oldest invoice")
    assert "最早一张发票已逾期" in page
    assert "建议信用额度" in page
    assert "按政策自动" in page or "policy" not in {p.decided_by for p in web_hub.limits.proposals(customer_id=cid)[0]}


def test_no_english_sentence_is_left_on_the_chinese_customer_limits_and_collections_pages(
    client: TestClient, web_hub: Hub
) -> None:
    chinese(client)
    customers = [r["customer_id"] for r in web_hub.exposures.page(sort="-open_base", limit=200).items]
    typed: set[str] = set()  # what people wrote (the ledger) is shown as written
    for cid in customers:
        for line in web_hub.collections.ledger(cid):
            typed.update(str(line.get(k) or "") for k in ("content", "outcome"))
    left: dict[str, list[str]] = {}
    for path in ["/limits", "/collections", *(f"/customers/{cid}" for cid in customers)]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        parser = Texts()
        parser.feed(answer.text)
        english = [t for t in parser.texts if ENGLISH.search(t) and t not in typed]
        if english:
            left[path] = english
    assert left == {}


def test_the_limits_page_lists_a_proposals_reasons_one_per_line_in_either_language(
    client: TestClient, web_hub: Hub
) -> None:
    proposals, _total, _names = web_hub.limits.proposal_page(status="pending", limit=25)
    assert proposals
    csrf = login(client, "lin")
    page = client.get("/limits").text
    for p in proposals:
        for reason in p.reasons:
            assert f'<span class="sub">{html.escape(reason)}</span>' in page
    assert ".; " not in page
    chinese(client, csrf)
    page = client.get("/limits").text
    for p in proposals:
        for said in p.reason_texts("zh_CN"):
            assert f'<span class="sub">{html.escape(said)}</span>' in page
        assert not any(reason in page for reason in p.reasons)


def test_in_english_the_pages_read_as_the_risk_run_wrote_them(client: TestClient, web_hub: Hub) -> None:
    cid = busiest(web_hub)
    login(client, "lin")
    page = texts(client.get(f"/customers/{cid}").text)
    for english in sources(web_hub, cid):
        assert english in page
    steps = texts(client.get("/collections").text)
    for step in web_hub.collections.due().steps[:25]:
        assert step["reason"] in steps


def test_rows_written_before_messages_still_show_their_english_sentences(client: TestClient, web_hub: Hub) -> None:
    cid = busiest(web_hub)
    old_reasons = ["Recommended credit limit: 1,000.00 EUR.", "Written before messages existed."]
    with web_hub.store.begin() as conn:
        e, p = schema.exposure, schema.credit_limit_proposal
        plan: dict[str, Any] = dict(conn.execute(sa.select(e.c.next_action).where(e.c.customer_id == cid)).scalar_one())
        plan.pop("message")
        plan["reason"] = "An old plan's reason."
        conn.execute(e.update().where(e.c.customer_id == cid).values(next_action=plan))
        conn.execute(p.update().where(p.c.customer_id == cid).values(reasons=old_reasons))
    chinese(client)
    page = texts(client.get(f"/customers/{cid}").text)
    assert "An old plan's reason." in page
    assert all(r in page for r in old_reasons)


def test_the_command_line_still_prints_english(web_hub: Hub) -> None:
    from typer.testing import CliRunner

    from hub import cli as hubcli

    cid = busiest(web_hub)
    hubcli.register_core_commands()
    runner = CliRunner()
    config = str(web_hub.config.base_dir / "hub.toml")
    explained = runner.invoke(hubcli.app, ["--config", config, "--json", "limits", "explain", cid])
    assert explained.exit_code == 0, explained.output
    assert "Recommended credit limit:" in explained.output
    shown = runner.invoke(hubcli.app, ["--config", config, "exposure", "show", cid])
    assert shown.exit_code == 0, shown.output
    flat = " ".join(shown.output.split())
    assert "Oldest invoice" in flat
    assert not re.search(r"[\u4e00-\u9fff]", explained.output + shown.output)
