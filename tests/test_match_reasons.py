"""Cash application's evidence as messages: every reason the matchers and the combiner give is a gettext
message (``hub.i18n.Message``), stored with its English text beside it (``hub.i18n.stored``), read in
English byte for byte as before messages and said in Simplified Chinese with the same values.

The English is checked against what the code before messages stored on fixed books and on the unit
tests' cases (``tests/reasons_golden.py``, ``tests/fixtures/match_reasons_english.json.gz``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_file

from hub.app import Hub
from hub.config import load_config
from hub.i18n import (
    Amount,
    Day,
    Join,
    Message,
    Share,
    expand_stored,
    keyed_ids,
    messages_json,
    render,
    stored,
    stored_english,
    stored_text,
)
from hub.recon import Evidence
from hub.recon.desk import MatchDesk
from hub.recon.matching import WEIGHED, _combination, _combination_key, weighed
from hub.store import schema
from hub.store.messages import load_keys

from . import reasons_golden
from .conftest import ROOT

#: The files whose marked texts are reasons a proposal is explained with.
REASON_FILES = ("hub/recon/matching.py", "plugins/matching.py", "hub/recon/desk.py", "hub/allocate.py")
PLACEHOLDER = re.compile(r"%\((\w+)\)([sr])")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return reasons_golden.load(reasons_golden.GOLDEN)  # type: ignore[no-any-return]


# -- English, byte for byte --------------------------------------------------------------------------


@pytest.mark.parametrize("book", reasons_golden.BOOKS)
def test_a_reconcile_stores_each_reason_with_the_english_the_code_before_messages_wrote(
    book: str, golden: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    hub = Hub(load_config(reasons_golden.build(book, tmp_path / book, db_url)), lock_wait=0)
    try:
        hub.init()
        hub.sync()
        hub.resolve_identities()
        hub.reconcile()
        assert reasons_golden.proposals(hub) == golden[book]
        with hub.store.connect() as conn:
            stored_lists = list(conn.execute(sa.select(schema.allocation.c.reasons)).scalars())
            ids = load_keys(conn)
    finally:
        hub.close()
    items = [item for reasons in stored_lists for item in reasons]
    # each reason stored as its message's key and values alone (the English is said from it when read:
    # above, as before), the key's id in the store, nested messages likewise
    assert items and all(isinstance(item, dict) and set(item) == {"k", "v"} for item in items)
    assert all(Message.from_json(expand_stored(item, ids)) is not None for item in items)


def test_every_clue_and_proposal_of_the_matching_tests_cases_reads_in_english_as_before(
    golden: dict[str, Any],
) -> None:
    cases = reasons_golden.load(reasons_golden.CASES)
    assert [reasons_golden.replayed(case) for case in cases] == golden["cases"]


def test_the_combination_of_clues_about_one_thing_reads_as_before() -> None:
    def said(*weights: float) -> str:
        evs = [Evidence("customer", "C1", w, "x", "m") for w in weights]
        return str(_combination(_combination_key(evs)))

    # as `f" ({best:+.1f} strongest, {AGREEING * agreeing:+.1f} for {agreeing} more that {verb})"` wrote it
    assert said(5.0) == ""
    assert said(5.0, -1.0) == " (+5.0 strongest)"
    assert said(5.0, 4.5) == " (+5.0 strongest, +0.5 for 1 more that agrees)"
    assert said(5.0, 4.5, 2.0) == " (+5.0 strongest, +1.0 for 2 more that agree)"
    assert str(weighed("a plugin's sentence", -1.25)) == "a plugin's sentence (-1.2)"


def test_reasons_of_matches_made_by_hand_read_as_before(db_url: str, tmp_path: Path) -> None:
    from hub.allocate import _allocated_by

    assert _allocated_by("ana", None).english() == "allocated by ana"
    assert _allocated_by("ana", "bank_fee").english() == "allocated by ana (bank_fee)"
    assert _allocated_by("ana", "dispute_settled").english() == "allocated by ana (dispute_settled)"
    assert Message.from_json(stored(Message("named by %(actor)s", actor="fiona"))).english() == "named by fiona"  # type: ignore[union-attr]


# -- Chinese -----------------------------------------------------------------------------------------


def _reason_msgids() -> dict[str, str]:
    """Every text marked in the files of :data:`REASON_FILES` -> where."""
    found: dict[str, str] = {}
    for name in REASON_FILES:
        for lineno, message, _comments, _context in extract_from_file("python", str(ROOT / name)):
            if isinstance(message, str):
                found.setdefault(message, f"{name}:{lineno}")
    return found


def test_every_reason_format_is_said_in_chinese_with_all_its_values() -> None:
    msgids = _reason_msgids()
    assert len(msgids) > 100  # the formats of the matchers, the combiner and matching by hand
    wrong = []
    for msgid, where in sorted(msgids.items(), key=lambda kv: kv[1]):
        values = {name: f"V{k}{name}" for k, (name, _) in enumerate(PLACEHOLDER.findall(msgid))}
        message = Message(msgid, **values)
        chinese = message.render("zh_CN")
        if chinese == message.english():
            wrong.append(f"{where}: {msgid!r} is not translated")
        elif re.search("[A-Za-z]", PLACEHOLDER.sub("", msgid)) and not CJK.search(chinese):
            wrong.append(f"{where}: {chinese!r} has no Chinese")  # (a clue and its weight is punctuation only)
        elif missing := [v for v in values.values() if v not in chinese]:
            wrong.append(f"{where}: {chinese!r} lost {missing}")
    assert not wrong, "\n".join(wrong)


def test_a_stored_reason_is_said_in_chinese_with_its_amounts_the_chinese_way() -> None:
    reason = weighed(
        Message(
            "amount %(amount)s equals the open total of %(invoices)s",
            amount=Amount(Decimal("2835.27"), "EUR", True),
            invoices="INV-2026-061353",
        ),
        4.0,
    )
    item = json.loads(json.dumps(stored(reason)))  # as a JSON column gives it back
    assert stored_english(item) == "amount 2835.27 EUR equals the open total of INV-2026-061353 (+4.0)"
    assert stored_text("zh_CN", item) == "金额€2,835.27等于INV-2026-061353的未结合计（+4.0）"  # noqa: RUF001
    assert (
        stored_text("zh_CN", "a row's sentence written before messages") == "a row's sentence written before messages"
    )


def test_the_desk_says_the_evidence_in_the_language_asked_and_an_old_rows_sentences_as_written(
    db_url: str, tmp_path: Path
) -> None:
    hub = Hub(load_config(reasons_golden.build("generated", tmp_path / "book", db_url)), lock_wait=0)
    try:
        hub.init()
        hub.sync()
        hub.reconcile()
        a, r = schema.allocation, schema.receipt
        with hub.store.connect() as conn:
            receipt_id, ref = conn.execute(
                sa.select(r.c.id, r.c.bank_ref).join(a, a.c.receipt_id == r.c.id).order_by(r.c.id).limit(1)
            ).one()
        desk = MatchDesk(hub.store)
        english = desk.explain(ref)["allocations"][0]["reasons"]
        chinese = desk.explain(ref, locale="zh_CN")["allocations"][0]["reasons"]
        assert len(english) == len(chinese) > 2
        assert english[-1].startswith("confidence ") and chinese[-1].startswith("置信度 ")
        assert not set(english) & set(chinese)
        old = ["an old row's sentence", "confidence 0.5000 (log-odds +0.0)"]
        with hub.store.begin() as conn:
            conn.execute(a.update().where(a.c.receipt_id == receipt_id).values(reasons=old))
        assert desk.explain(ref, locale="zh_CN")["allocations"][0]["reasons"] == old
        assert desk.explain(ref)["allocations"][0]["reasons"] == old
    finally:
        hub.close()


# -- the stored form ---------------------------------------------------------------------------------


def test_an_amount_written_plain_reads_ungrouped_in_english_and_as_money_in_chinese() -> None:
    plain = Message("%(a)s and %(b)s", a=Amount(Decimal("54000.00"), "EUR", True), b=Amount(Decimal("1.5"), None, True))
    assert plain.english() == "54000.00 EUR and 1.5"
    assert plain.render("zh_CN") == "€54,000.00 and 1.50"
    assert Message("%(a)s", a=Amount(Decimal("54000.00"), "EUR")).english() == "54,000.00 EUR"  # as before
    assert Message.from_json(json.loads(json.dumps(plain.to_json()))) == plain


def test_the_json_text_a_run_stores_is_the_json_of_the_stored_reasons() -> None:
    nested = Message("in %(a)r, %(b)s", a='深圳 "quoted" \\ \n', b=Join((Message("x"), "y"), ", "))
    items: list[Message | str] = [
        weighed(nested, 1.5),
        Message(WEIGHED, reason="a plugin's sentence", weight="+0.5"),
        Message(
            "%(d)s %(f)s %(s)s %(n)s %(m)s", d=Day(dt.date(2026, 1, 2)), f=1.25, s=Share(0.5), n=7, m=Decimal("2.50")
        ),
        Message("%(a)s", a=Amount(Decimal("-30.00"), None, True)),
        Message("no values, 100%"),
        Message("%(a)s then %(b)s", a="1", b="2"),
        Message("%(a)s then %(b)s", b="2", a="1"),  # the same id, its values named in another order
        Message("%(a)s then %(b)s", a="1", b="2", c="unused"),
        "a plugin's plain sentence",
    ]
    text = messages_json(items)
    expanded = [expand_stored(item, keyed_ids()) for item in json.loads(text)]
    assert expanded == [item.to_json() if isinstance(item, Message) else item for item in items]
    assert json.loads(text)[-1] == "a plugin's plain sentence"
    assert [stored_english(item) for item in expanded] == [
        str(item) if isinstance(item, Message) else item for item in items
    ]


def test_a_message_works_its_english_out_once_and_equality_does_not_see_it() -> None:
    made = Message("payer account %(account)s is %(customer)s's", account="DE89", customer="C1")
    again = Message("payer account %(account)s is %(customer)s's", account="DE89", customer="C1")
    assert made.english() is made.english()
    assert made == again and made.english() == again.english()
    assert made != Message("payer account %(account)s is %(customer)s's", account="DE89", customer="C2")
    assert render("zh_CN", made.msgid, made.values) == made.render("zh_CN") == "付款账户DE89属于C1"


def test_a_message_pickles_as_its_id_and_values_and_one_shared_by_many_reasons_stays_one() -> None:
    import pickle

    inner = Message("payer account %(account)s is %(customer)s's", account="DE89", customer="C1")
    clue = weighed(inner, 5.0)
    clue.english()  # worked out: not pickled
    rows = pickle.loads(pickle.dumps([[clue, inner], [clue]], protocol=pickle.HIGHEST_PROTOCOL))
    assert rows[0][0] is rows[1][0] and rows[0][0].values["reason"] is rows[0][1]
    assert rows[0][0] == clue and type(rows[0][0]) is type(clue)
    assert "_english" not in rows[0][0].__dict__
    assert messages_json(rows[0]) == messages_json([clue, inner])
    # what a run stores: each message's id and values, read back as the same message, nested ones too
    stored = [
        expand_stored(item, keyed_ids()) for item in json.loads(messages_json([clue, inner, "a plugin's own sentence"]))
    ]
    assert [Message.from_json(item).to_json() for item in stored[:2]] == [clue.to_json(), inner.to_json()]  # type: ignore[union-attr]
    assert [stored_english(item) for item in stored] == [
        "payer account DE89 is C1's (+5.0)",
        "payer account DE89 is C1's",
        "a plugin's own sentence",
    ]


def test_a_store_keeps_each_message_id_once_and_a_reason_whose_id_it_lacks_says_so() -> None:
    from hub.store.messages import MessageKeyClash, save_keys

    engine = sa.create_engine("sqlite://")
    schema.metadata.create_all(engine, tables=[schema.message_key])
    clue = weighed(Message("payer account %(account)s is %(customer)s's", account="DE89", customer="C1"), 5.0)
    written = json.loads(messages_json([clue]))
    with engine.begin() as conn:
        assert save_keys(conn) >= 2  # the clue's id and the weight's, at least
        assert save_keys(conn) == 0  # each once, however many runs store reasons
        ids = load_keys(conn)
        assert stored_english(expand_stored(written[0], ids)) == "payer account DE89 is C1's (+5.0)"
        key = written[0]["k"]
        with pytest.raises(MessageKeyClash, match=key):
            save_keys(conn, {key: "another message"})
    # a store copied without its keys: the reason says what is missing instead of passing for another
    lost = stored_english(expand_stored(written[0], {}))
    assert lost == f"(a reason whose message {key} this store does not hold)"
    # rows stored before keep reading as they were: with their English beside the message, or plain
    old = json.loads(json.dumps(stored(clue)))
    assert set(old) == {"text", "id", "values"}
    assert stored_english(expand_stored(old, ids)) == "payer account DE89 is C1's (+5.0)"
    assert stored_text("zh_CN", expand_stored(old, ids)) == stored_text("zh_CN", expand_stored(written[0], ids))
    assert expand_stored("a plain sentence", ids) == "a plain sentence"
