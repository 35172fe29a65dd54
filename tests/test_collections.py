"""The collection ledger, promises to pay and the escalation ladder (``hub collections``, docs/collections.md).

Hand-built scenarios with exact dates and amounts: rows go straight into the store, the ladder is
planned from hand-built :class:`hub.risk.CustomerRisk` objects, and the CLI runs as a subprocess.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import CollectionsConfig, LadderStep
from hub.errors import ConfigError
from hub.i18n import Message
from hub.model import CollectionChannel, Exposure
from hub.risk import CustomerRisk, PromiseView
from hub.risk.collection import (
    CollectionError,
    canonical_customer_ids,
    evaluate_promises,
    ledger,
    plan_next_actions,
    record_action,
)
from hub.store import Store, schema, utcnow
from tests import rows

from .conftest import run_hub, write_config

D = dt.date(2024, 3, 1)  # due date of the oldest overdue invoice in the ladder scenarios
GRACE = 3


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


# -- building rows -----------------------------------------------------------------------------------


def add_customer(
    conn: sa.Connection, ext: str, canonical: str, *, source: str = "erp", name: str = "Alpha GmbH", ccy: str = "EUR"
) -> None:
    rows.customer(conn, ext, canonical, source=source, name=name, ccy=ccy)


def add_invoice(conn: sa.Connection, number: str, customer: str, due: dt.date, amount: str, *, ccy: str = "EUR") -> int:
    return rows.invoice(conn, number, customer, due, amount, ccy=ccy)


def add_payment(
    conn: sa.Connection,
    invoice_id: int,
    booked: dt.date,
    amount: str,
    *,
    status: str = "auto",
    kind: str = "payment",
    ccy: str = "EUR",
) -> None:
    rows.payment(conn, invoice_id, booked, amount, status=status, kind=kind, ccy=ccy)


def add_action(
    conn: sa.Connection,
    customer: str,
    at: dt.datetime,
    *,
    source: str = "crm",
    channel: str = "phone",
    promise_date: dt.date | None = None,
    promise_amount: str | None = None,
    promise_currency: str | None = None,
) -> int:
    return int(
        conn.execute(
            schema.collection_action.insert().values(
                source=source,
                external_id=uuid.uuid4().hex,
                record_hash=0,
                synced_at=utcnow(),
                customer_external_id=customer,
                invoice_numbers=[],
                channel=channel,
                at=at,
                content="called",
                promise_date=promise_date,
                promise_amount=None if promise_amount is None else Decimal(promise_amount),
                promise_currency=promise_currency,
            )
        ).inserted_primary_key[0]
    )


def at(d: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(hour), tzinfo=dt.UTC)


def promise_row(store: Store, action_id: int) -> Any:
    p = schema.promise
    with store.connect() as conn:
        return conn.execute(sa.select(p).where(p.c.action_id == action_id)).one()


# -- promises to pay ---------------------------------------------------------------------------------

MADE = dt.date(2024, 2, 1)
PROMISED = dt.date(2024, 2, 10)  # + 3 days' grace: the promise holds until 2024-02-13 and breaks on the 14th


@pytest.fixture
def promised(store: Store) -> tuple[Store, int, int]:
    """Customer C1 owes invoice I1 (1,000.00 EUR); on 2024-02-01 it promised 600.00 EUR by 2024-02-10."""
    with store.begin() as conn:
        add_customer(conn, "C1", "C1")
        invoice_id = add_invoice(conn, "I1", "C1", dt.date(2024, 1, 1), "1000.00")
    action_id = record_action(
        store,
        customer_id="C1",
        channel="phone",
        at=at(MADE),
        content="promised to pay",
        promise_date=PROMISED,
        promise_amount=Decimal("600.00"),
        author="ann",
    )
    return store, invoice_id, action_id


def test_a_promise_is_kept_by_a_payment_of_exactly_the_amount(promised: tuple[Store, int, int]) -> None:
    store, invoice_id, action_id = promised
    with store.begin() as conn:
        add_payment(conn, invoice_id, dt.date(2024, 2, 8), "600.00")
    with store.begin() as conn:
        out = evaluate_promises(conn, dt.date(2024, 2, 9), GRACE)
    assert out == {
        "C1": [PromiseView(MADE, PROMISED, Decimal("600.00"), "EUR", "kept", Decimal("600.00"), dt.date(2024, 2, 8))]
    }
    assert promise_row(store, action_id).status == "kept"


def test_a_promise_is_kept_by_two_partial_payments_on_the_day_the_second_reaches_the_amount(
    promised: tuple[Store, int, int],
) -> None:
    store, invoice_id, _ = promised
    with store.begin() as conn:
        add_payment(conn, invoice_id, dt.date(2024, 2, 5), "250.00")
        add_payment(conn, invoice_id, dt.date(2024, 2, 12), "350.00")  # after the promised date, within grace
    with store.begin() as conn:
        (view,) = evaluate_promises(conn, dt.date(2024, 2, 11), GRACE)["C1"]
    assert (view.status, view.received, view.settled_on) == ("open", Decimal("250.00"), None)
    with store.begin() as conn:
        (view,) = evaluate_promises(conn, dt.date(2024, 2, 20), GRACE)["C1"]
    assert (view.status, view.received, view.settled_on) == ("kept", Decimal("600.00"), dt.date(2024, 2, 12))


def test_a_promise_breaks_the_day_after_the_promised_date_plus_grace(promised: tuple[Store, int, int]) -> None:
    store, invoice_id, _ = promised
    with store.begin() as conn:
        add_payment(conn, invoice_id, dt.date(2024, 2, 9), "599.99")
    with store.begin() as conn:
        (view,) = evaluate_promises(conn, dt.date(2024, 2, 13), GRACE)["C1"]
    assert (view.status, view.received) == ("open", Decimal("599.99"))
    with store.begin() as conn:
        (view,) = evaluate_promises(conn, dt.date(2024, 2, 14), GRACE)["C1"]
    assert (view.status, view.received, view.settled_on) == ("broken", Decimal("599.99"), None)


def test_payments_booked_before_the_promise_was_made_do_not_count(promised: tuple[Store, int, int]) -> None:
    store, invoice_id, _ = promised
    with store.begin() as conn:
        add_payment(conn, invoice_id, dt.date(2024, 1, 31), "600.00")
    with store.begin() as conn:
        (view,) = evaluate_promises(conn, dt.date(2024, 2, 14), GRACE)["C1"]
    assert (view.status, view.received) == ("broken", Decimal("0.00"))


def test_only_live_payment_allocations_to_the_customers_invoices_in_its_currency_count(
    promised: tuple[Store, int, int],
) -> None:
    store, invoice_id, _ = promised
    with store.begin() as conn:
        add_customer(conn, "C2", "C2", name="Beta Ltd")
        other = add_invoice(conn, "I2", "C2", dt.date(2024, 1, 1), "900.00")
        usd = add_invoice(conn, "I3", "C1", dt.date(2024, 1, 1), "900.00", ccy="USD")
        add_payment(conn, invoice_id, dt.date(2024, 2, 5), "600.00", status="suggested")
        add_payment(conn, invoice_id, dt.date(2024, 2, 5), "600.00", status="rejected")
        add_payment(conn, invoice_id, dt.date(2024, 2, 5), "600.00", kind="write_off")
        add_payment(conn, other, dt.date(2024, 2, 5), "600.00")
        add_payment(conn, usd, dt.date(2024, 2, 5), "600.00", ccy="USD")
        add_payment(conn, invoice_id, dt.date(2024, 2, 6), "100.00", status="confirmed")
    with store.begin() as conn:
        (view,) = evaluate_promises(conn, dt.date(2024, 2, 14), GRACE)["C1"]
    assert (view.status, view.received) == ("broken", Decimal("100.00"))


def test_kept_and_broken_are_final(promised: tuple[Store, int, int]) -> None:
    store, invoice_id, _ = promised
    with store.begin() as conn:
        evaluate_promises(conn, dt.date(2024, 2, 14), GRACE)
    with store.begin() as conn:  # a payment inside the window, matched only later
        add_payment(conn, invoice_id, dt.date(2024, 2, 12), "600.00")
    with store.begin() as conn:
        (view,) = evaluate_promises(conn, dt.date(2024, 2, 20), GRACE)["C1"]
    assert (view.status, view.received) == ("broken", Decimal("0.00"))


def test_every_promise_is_returned_per_customer_newest_first(promised: tuple[Store, int, int]) -> None:
    store, invoice_id, _ = promised
    with store.begin() as conn:
        add_payment(conn, invoice_id, dt.date(2024, 2, 8), "600.00")
    later = record_action(
        store,
        customer_id="C1",
        channel="email",
        at=at(dt.date(2024, 2, 20)),
        content="second promise",
        promise_date=dt.date(2024, 3, 1),
        promise_amount=Decimal("400.00"),
        author="ann",
    )
    with store.begin() as conn:
        views = evaluate_promises(conn, dt.date(2024, 2, 21), GRACE)["C1"]
    assert [(v.made_on, v.status) for v in views] == [(dt.date(2024, 2, 20), "open"), (MADE, "kept")]
    assert promise_row(store, later).amount == Decimal("400.00")


def test_crm_actions_resolve_to_the_canonical_customer_and_get_their_promise(store: Store) -> None:
    with store.begin() as conn:
        add_customer(conn, "C1", "C1")
        add_customer(conn, "acc-77", "C1", source="crm")
        invoice_id = add_invoice(conn, "I1", "C1", dt.date(2024, 1, 1), "1000.00")
        action_id = add_action(conn, "acc-77", at(MADE), source="crm", promise_date=PROMISED, promise_amount="300.00")
        add_payment(conn, invoice_id, dt.date(2024, 2, 3), "300.00")
        resolve = canonical_customer_ids(conn)
        assert (resolve("crm", "acc-77"), resolve("crm", "acc-99")) == ("C1", "crm:acc-99")
        assert (resolve("hub", "C1"), resolve("hub", "erp:Z9")) == ("C1", "erp:Z9")  # the hub's lines: canonical ids
    with store.begin() as conn:
        out = evaluate_promises(conn, dt.date(2024, 2, 5), GRACE)
    assert out == {
        "C1": [PromiseView(MADE, PROMISED, Decimal("300.00"), "EUR", "kept", Decimal("300.00"), dt.date(2024, 2, 3))]
    }
    row = promise_row(store, action_id)
    assert (row.customer_id, row.currency) == ("C1", "EUR")  # currency: the customer's, the CRM gave none
    with store.connect() as conn:
        (entry,) = ledger(conn, "C1")
    assert (entry["source"], entry["promise"]["status"]) == ("crm", "kept")


def test_an_open_promise_follows_its_synced_action_and_goes_when_the_promise_is_withdrawn(store: Store) -> None:
    with store.begin() as conn:
        add_customer(conn, "C1", "C1")
        action_id = add_action(conn, "C1", at(MADE), source="erp", promise_date=PROMISED, promise_amount="300.00")
    with store.begin() as conn:
        evaluate_promises(conn, dt.date(2024, 2, 5), GRACE)
    ca = schema.collection_action
    with store.begin() as conn:
        conn.execute(ca.update().where(ca.c.id == action_id).values(promise_amount=Decimal("350.00")))
    with store.begin() as conn:
        (view,) = evaluate_promises(conn, dt.date(2024, 2, 5), GRACE)["C1"]
    assert view.amount == Decimal("350.00")
    with store.begin() as conn:
        conn.execute(ca.update().where(ca.c.id == action_id).values(promise_amount=None, promise_date=None))
    with store.begin() as conn:
        assert evaluate_promises(conn, dt.date(2024, 2, 5), GRACE) == {}


# -- recording an action -----------------------------------------------------------------------------


def test_a_logged_action_is_stored_with_an_audit_entry_and_its_promise_in_the_customers_currency(
    store: Store,
) -> None:
    with store.begin() as conn:
        add_customer(conn, "C1", "C1", ccy="CHF")
        add_invoice(conn, "I1", "C1", dt.date(2024, 1, 1), "1000.00", ccy="CHF")
    action_id = record_action(
        store,
        customer_id="C1",
        channel="phone",
        at=dt.datetime(2024, 2, 1, 14, 30),
        content="will pay Friday",
        outcome="promise",
        promise_date=dt.date(2024, 2, 9),
        promise_amount=Decimal("500.00"),
        invoice_numbers=["I1"],
        author="ann",
    )
    ca, log = schema.collection_action, schema.audit_log
    with store.connect() as conn:
        row = conn.execute(sa.select(ca).where(ca.c.id == action_id)).one()
        audit = conn.execute(sa.select(log)).one()
    assert (row.source, row.customer_external_id, row.channel, row.invoice_numbers, row.author) == (
        "hub",
        "C1",
        "phone",
        ["I1"],
        "ann",
    )
    assert len(row.external_id) == 32 and row.record_hash != 0
    assert (audit.actor, audit.action, audit.object_id) == ("ann", "collections.log", row.external_id)
    assert audit.details["promise"] == {"date": "2024-02-09", "amount": "500.00", "currency": "CHF"}
    p = promise_row(store, action_id)
    assert (p.customer_id, p.made_on, p.promised_date, p.amount, p.currency, p.status, p.received) == (
        "C1",
        dt.date(2024, 2, 1),
        dt.date(2024, 2, 9),
        Decimal("500.00"),
        "CHF",
        "open",
        Decimal("0.00"),
    )


def test_a_customer_known_only_from_its_invoices_can_be_logged_with_their_currency(store: Store) -> None:
    with store.begin() as conn:
        add_invoice(conn, "I7", "Z9", dt.date(2024, 1, 1), "70.00", ccy="SEK")  # no customer record for Z9
    action_id = record_action(
        store,
        customer_id="erp:Z9",
        channel="letter",
        at=at(MADE),
        content="letter sent",
        promise_date=dt.date(2024, 2, 9),
        promise_amount=Decimal("70.00"),
        invoice_numbers=["I7"],
        author="ann",
    )
    assert (promise_row(store, action_id).customer_id, promise_row(store, action_id).currency) == ("erp:Z9", "SEK")
    with store.connect() as conn:
        assert [e["channel"] for e in ledger(conn, "erp:Z9")] == ["letter"]


def test_an_action_without_a_promise_has_no_promise_row(store: Store) -> None:
    with store.begin() as conn:
        add_customer(conn, "C1", "C1")
    record_action(store, customer_id="C1", channel="email", at=at(MADE), content="reminder sent", author="ann")
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.promise)).scalar_one() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customer_id": "C-1"}, "no customer 'C-1' in the hub; did you mean C1 (Alpha GmbH)?"),
        ({"customer_id": "alpha gmbh"}, "no customer 'alpha gmbh' in the hub; did you mean C1 (Alpha GmbH)?"),
        ({"channel": "fax"}, "unknown channel 'fax'; use one of: email, phone, letter, visit, lawyer_letter"),
        ({"promise_date": dt.date(2024, 2, 9)}, "a promise to pay needs both a date and an amount"),
        ({"promise_date": dt.date(2024, 1, 31), "promise_amount": Decimal("5")}, "promised date 2024-01-31 is before"),
        ({"promise_date": dt.date(2024, 2, 9), "promise_amount": Decimal("0")}, "must be above zero, got 0"),
        ({"invoice_numbers": ["I1", "I9"]}, "customer C1 has no invoice I9"),
    ],
)
def test_a_bad_action_is_refused_with_a_clear_reason(store: Store, kwargs: dict[str, Any], message: str) -> None:
    with store.begin() as conn:
        add_customer(conn, "C1", "C1")
        add_customer(conn, "C2", "C2", name="Zeta Corp")
        add_invoice(conn, "I1", "C1", dt.date(2024, 1, 1), "10.00")
        add_invoice(conn, "I9", "C2", dt.date(2024, 1, 1), "10.00")
    args: dict[str, Any] = {"customer_id": "C1", "channel": "phone", "at": at(MADE), "content": "x", **kwargs}
    with pytest.raises(CollectionError, match=re.escape(message)):
        record_action(store, **args)
    with store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.collection_action)).scalar_one() == 0


# -- the escalation ladder ---------------------------------------------------------------------------


def customer(
    as_of: dt.date,
    *,
    overdue: str = "1000.00",
    band: str | None = "B",
    promises: list[PromiseView] | None = None,
    cid: str = "C1",
    ccy: str = "EUR",
    open_amount: str | None = None,
    open_base: str | None = None,
    base: str = "EUR",
) -> CustomerRisk:
    amount = Decimal(overdue)
    has_overdue = amount > 0
    exposure = Exposure(
        customer_id=cid,
        as_of=as_of,
        currency=ccy,
        open_amount=Decimal(open_amount or overdue),
        overdue_amount=amount,
        buckets={},
        oldest_due_date=D if has_overdue else None,
        max_days_past_due=(as_of - D).days if has_overdue else 0,
        open_base=Decimal(open_base if open_base is not None else (open_amount or overdue)),
        base_currency=base,
    )
    return CustomerRisk(exposure=exposure, promises=promises or [], band=band)


def plan(store: Store, risk: CustomerRisk, settings: CollectionsConfig | None = None) -> dict[str, Any] | None:
    with store.connect() as conn:
        return plan_next_actions(conn, [risk], settings or CollectionsConfig(), risk.exposure.as_of).get(
            risk.customer_id
        )


@pytest.fixture
def ladder_store(store: Store) -> Store:
    with store.begin() as conn:
        add_customer(conn, "C1", "C1")
        add_customer(conn, "acc-77", "C1", source="crm")
    return store


def log_on(store: Store, d: dt.date, channel: str) -> None:
    record_action(store, customer_id="C1", channel=channel, at=at(d), content=f"{channel} contact", author="ann")


def test_two_days_past_due_no_step_is_due_yet_and_the_reminder_is_coming_up(ladder_store: Store) -> None:
    p = plan(ladder_store, customer(day(2)))
    assert p is not None and (p["step"], p["action"], p["due_on"]) == (1, "friendly reminder", "2024-03-04")
    assert p["reason"] == (
        "Oldest invoice 2 days past due (1,000.00 EUR overdue); nothing is due yet: friendly reminder (step 1 of 5) "
        "falls due at +3 days, on 2024-03-04."
    )


def test_three_days_past_due_the_friendly_reminder_is_due(ladder_store: Store) -> None:
    p = plan(ladder_store, customer(day(3)))
    assert p is not None
    said = Message.from_json(p.pop("message"))  # the reason as a message, for a page in the reader's language
    assert said is not None and said.english() == p["reason"]
    assert said.render("zh_CN") == (
        "最早一张发票已逾期3天（逾期金额€1,000.00）；"  # noqa: RUF001 - Chinese punctuation
        "友好提醒（第 1 步，共 5 步，应于逾期3天时即2024年3月4日执行）至今尚未记录。"  # noqa: RUF001
    )
    assert p == {
        "days_past_due": 3,
        "oldest_due_date": "2024-03-01",
        "overdue": "1000.00",
        "currency": "EUR",
        "open_base": "1000.00",
        "base_currency": "EUR",
        "band": "B",
        "steps": 5,
        "step": 1,
        "action": "friendly reminder",
        "channel": "email",
        "owner": "ar-clerk",
        "after_days": 3,
        "due_on": "2024-03-04",
        "escalated": False,
        "reason": "Oldest invoice 3 days past due (1,000.00 EUR overdue); friendly reminder (step 1 of 5, due at "
        "+3 days on 2024-03-04) not yet logged since then.",
    }


def test_after_the_reminder_is_logged_the_call_is_next_at_fifteen_days(ladder_store: Store) -> None:
    log_on(ladder_store, day(4), "email")
    p = plan(ladder_store, customer(day(14)))
    assert p is not None and (p["step"], p["due_on"]) == (2, "2024-03-16") and "nothing is due yet" in p["reason"]
    p = plan(ladder_store, customer(day(15)))
    assert p is not None
    assert (p["step"], p["action"], p["channel"], p["owner"], p["due_on"]) == (
        2,
        "call",
        "phone",
        "collector",
        "2024-03-16",
    )
    assert p["reason"].endswith("not yet logged since then. Last contact: email on 2024-03-05.")


def test_an_action_logged_before_a_step_fell_due_does_not_complete_it(ladder_store: Store) -> None:
    log_on(ladder_store, day(4), "email")
    log_on(ladder_store, day(10), "phone")  # counts for the reminder (a later channel), not for the call at +15
    p = plan(ladder_store, customer(day(20)))
    assert p is not None and (p["step"], p["due_on"]) == (2, "2024-03-16")


def test_a_later_steps_channel_completes_the_earlier_steps(ladder_store: Store) -> None:
    log_on(ladder_store, day(31), "visit")
    p = plan(ladder_store, customer(day(40)))
    assert p is not None and (p["step"], p["due_on"]) == (4, "2024-04-30")  # lawyer's letter at +60
    assert "lawyer's letter (step 4 of 5) falls due at +60 days" in p["reason"]


def test_an_old_debt_starts_at_the_step_its_age_has_reached(ladder_store: Store) -> None:
    # 121 days late, nothing logged (the hub was just installed): not a friendly reminder due in March.
    p = plan(ladder_store, customer(day(121)))
    assert p is not None and (p["step"], p["action"], p["due_on"]) == (5, "litigation or agency", "2024-05-30")
    assert p["overtaken"] == ["friendly reminder", "call", "visit", "lawyer's letter"]
    assert p["reason"].endswith(
        "The debt is past the earlier steps, not logged: friendly reminder (+3 days), call (+15 days), "
        "visit (+30 days), lawyer's letter (+60 days)."
    )
    # 20 days late: the call (at +15) is due, not the reminder (at +3).
    p = plan(ladder_store, customer(day(20)))
    assert p is not None and (p["step"], p["action"], p["overtaken"]) == (2, "call", ["friendly reminder"])
    # Once the age-reached step is logged, the earlier ones count as done with it.
    log_on(ladder_store, day(121), "agency")
    p = plan(ladder_store, customer(day(125)))
    assert p is not None and p.get("ladder_done") is True


def test_crm_actions_count_on_the_ladder_of_their_canonical_customer(ladder_store: Store) -> None:
    with ladder_store.begin() as conn:
        add_action(conn, "acc-77", at(day(4)), source="crm", channel="email")
    p = plan(ladder_store, customer(day(14)))
    assert p is not None and (p["step"], p["due_on"]) == (2, "2024-03-16")


def test_an_open_promise_pauses_the_ladder_until_its_grace_days_end(ladder_store: Store) -> None:
    log_on(ladder_store, day(4), "email")
    promise = PromiseView(day(16), day(20), Decimal("500.00"), "EUR", "open", Decimal("0.00"))
    p = plan(ladder_store, customer(day(23), promises=[promise]))
    assert p is not None and "step" not in p and "due_on" not in p
    assert (p["paused_until"], p["promised_date"]) == ("2024-03-24", "2024-03-21")
    assert p["reason"] == (
        "Oldest invoice 23 days past due (1,000.00 EUR overdue); a promise to pay 500.00 EUR by 2024-03-21 is "
        "open, so the ladder waits until 2024-03-24 (3 days' grace)."
    )


def test_a_broken_promise_brings_the_next_step_forward_to_the_day_it_broke(ladder_store: Store) -> None:
    log_on(ladder_store, day(4), "email")
    log_on(ladder_store, day(16), "phone")  # the call that got the promise
    promise = PromiseView(day(16), day(20), Decimal("500.00"), "EUR", "broken", Decimal("0.00"))
    p = plan(ladder_store, customer(day(25), promises=[promise]))
    assert p is not None
    assert (p["step"], p["action"], p["due_on"], p["escalated"]) == (3, "visit", "2024-03-25", True)
    assert p["reason"] == (
        "Oldest invoice 25 days past due (1,000.00 EUR overdue); the promise to pay 500.00 EUR by 2024-03-21 was "
        "broken on 2024-03-25, so visit (step 3 of 5, normally at +30 days) is due at once. "
        "Last contact: phone on 2024-03-17."
    )
    # once the visit is logged, the ladder goes on at its normal pace: the lawyer's letter at +60
    log_on(ladder_store, day(26), "visit")
    p = plan(ladder_store, customer(day(27), promises=[promise]))
    assert p is not None and (p["step"], p["due_on"], p["escalated"]) == (4, "2024-04-30", False)


def test_a_step_logged_after_a_broken_promise_completes_the_step_it_brought_forward(ladder_store: Store) -> None:
    log_on(ladder_store, day(4), "email")
    promise = PromiseView(day(5), day(7), Decimal("500.00"), "EUR", "broken", Decimal("0.00"))  # broke on +11
    p = plan(ladder_store, customer(day(11), promises=[promise]))
    assert p is not None and (p["step"], p["due_on"], p["escalated"]) == (2, "2024-03-12", True)
    log_on(ladder_store, day(12), "phone")  # before +15, yet it answers the call the broken promise made due
    p = plan(ladder_store, customer(day(20), promises=[promise]))
    assert p is not None and (p["step"], p["due_on"], p["escalated"]) == (3, "2024-03-31", False)  # visit, +30


def test_a_ladder_fully_logged_plans_nothing_further(ladder_store: Store) -> None:
    log_on(ladder_store, day(95), "agency")
    p = plan(ladder_store, customer(day(100)))
    assert p is not None and p["ladder_done"] is True and "step" not in p
    assert p["reason"].endswith(
        "every step of the ladder has been logged, the last (litigation or agency) on 2024-06-04; nothing further "
        "is planned."
    )


def test_bands_with_their_own_ladder_use_it(ladder_store: Store) -> None:
    p = plan(ladder_store, customer(day(1), band="E"))
    assert p is not None and (p["step"], p["action"], p["due_on"]) == (1, "friendly reminder", "2024-03-02")
    assert (plan(ladder_store, customer(day(1), band="A")) or {})["due_on"] == "2024-03-04"


def test_customers_at_or_below_the_minimum_overdue_get_no_plan(ladder_store: Store) -> None:
    settings = CollectionsConfig(min_overdue="50.00")
    assert plan(ladder_store, customer(day(3), overdue="50.00"), settings) is None
    assert plan(ladder_store, customer(day(3), overdue="50.01"), settings) is not None
    assert plan(ladder_store, customer(day(3), overdue="0.00")) is None


def test_the_ranking_amount_is_the_overdue_share_of_open_in_the_base_currency(ladder_store: Store) -> None:
    p = plan(ladder_store, customer(day(3), overdue="500.00", open_amount="1000.00", open_base="923.45", ccy="USD"))
    assert p is not None and (p["open_base"], p["base_currency"], p["currency"]) == ("461.73", "EUR", "USD")
    unconverted = customer(day(3), overdue="500.00", open_amount="1000.00", open_base="0", ccy="USD")
    assert (plan(ladder_store, unconverted) or {})["open_base"] is None


def test_ladder_steps_take_exactly_the_collection_channels() -> None:
    (pattern,) = [m.pattern for m in LadderStep.model_fields["channel"].metadata if getattr(m, "pattern", None)]
    listed = re.fullmatch(r"\^\((.*)\)\$", pattern)
    assert listed is not None and listed.group(1).split("|") == [c.value for c in CollectionChannel]
    with pytest.raises(ValueError, match="channel"):
        LadderStep(after_days=1, action="x", channel="fax")


def test_a_band_without_a_ladder_and_no_default_is_a_config_error() -> None:
    settings = CollectionsConfig(ladders={"E": [LadderStep(after_days=1, action="call", channel="phone")]})
    assert [s.action for s in settings.ladder("E")] == ["call"]
    with pytest.raises(ConfigError, match="no ladder for band B and no 'default' ladder"):
        settings.ladder("B")
    with pytest.raises(ConfigError, match="min_overdue must be an amount"):
        CollectionsConfig(min_overdue="lots").min_overdue_amount()


# -- the command line --------------------------------------------------------------------------------

WIDE = {"COLUMNS": "300"}  # tables printed unwrapped


@pytest.fixture
def cli_dir(tmp_path: Path, db_url: str) -> Path:
    write_config(tmp_path, db_url, customers=None, invoices=None, statements=None, sink=None)
    run_hub("init", cwd=tmp_path)
    store = Store(db_url)
    with store.begin() as conn:
        add_customer(conn, "C1", "C1")
        add_invoice(conn, "I1", "C1", dt.date(2024, 1, 1), "1000.00")
    store.dispose()
    return tmp_path


def test_cli_log_and_ledger(cli_dir: Path) -> None:
    run_hub(
        "collections",
        "log",
        "C1",
        "--channel",
        "email",
        "--content",
        "reminder sent",
        "--at",
        "2024-02-01",
        "--by",
        "ann",
        cwd=cli_dir,
    )
    logged = json.loads(
        run_hub(
            "--json",
            "collections",
            "log",
            "C1",
            "--channel",
            "phone",
            "--content",
            "will pay on the 10th",
            "--at",
            "2024-02-02T09:30:00+01:00",
            "--promise-date",
            "2024-02-10",
            "--promise-amount",
            "600",
            "--invoice",
            "I1",
            "--by",
            "bob",
            cwd=cli_dir,
        ).stdout
    )["logged"]
    assert (logged["at"], logged["channel"], logged["author"], logged["invoices"]) == (
        "2024-02-02T08:30:00+00:00",
        "phone",
        "bob",
        ["I1"],
    )
    assert logged["promise"] == {
        "date": "2024-02-10",
        "amount": "600.00",
        "currency": "EUR",
        "status": "open",
        "received": "0.00",
        "settled_on": None,
    }
    entries = json.loads(run_hub("--json", "collections", "ledger", "C1", cwd=cli_dir).stdout)["ledger"]
    assert [(e["channel"], e["author"]) for e in entries] == [("phone", "bob"), ("email", "ann")]
    shown = run_hub("collections", "ledger", "C1", cwd=cli_dir, env=WIDE).stdout
    assert "600.00 EUR by 2024-02-10: open" in shown
    promises = json.loads(run_hub("--json", "collections", "promises", "--status", "open", cwd=cli_dir).stdout)
    assert [(p["customer_id"], p["amount"], p["author"]) for p in promises["promises"]] == [("C1", "600.00", "bob")]


def test_cli_refuses_an_unknown_customer_and_bad_options(cli_dir: Path) -> None:
    proc = run_hub("collections", "log", "C-1", "--channel", "phone", "--content", "x", cwd=cli_dir, check=False)
    assert proc.returncode == 1
    assert "no customer 'C-1' in the hub; did you mean C1 (Alpha GmbH)?" in proc.stderr
    proc = run_hub(
        "collections",
        "log",
        "C1",
        "--channel",
        "phone",
        "--content",
        "x",
        "--promise-amount",
        "ten",
        cwd=cli_dir,
        check=False,
    )
    assert proc.returncode == 1 and "--promise-amount must be an amount like 1250.00, got 'ten'" in proc.stderr
    proc = run_hub("collections", "promises", "--status", "late", cwd=cli_dir, check=False)
    assert proc.returncode == 1 and "--status must be one of open, kept, broken, got 'late'" in proc.stderr
    proc = run_hub("collections", "ledger", "nobody", cwd=cli_dir, check=False)
    assert proc.returncode == 1 and "no customer 'nobody' in the hub" in proc.stderr


def test_cli_due_lists_steps_due_by_the_date_most_valuable_first(cli_dir: Path, db_url: str) -> None:
    def step(due_on: str | None, open_base: str | None, owner: str = "collector", **extra: Any) -> dict[str, Any]:
        plan: dict[str, Any] = {
            "days_past_due": 20,
            "overdue": "100.00",
            "currency": "EUR",
            "open_base": open_base,
            "base_currency": "EUR",
            "reason": "why",
            **extra,
        }
        if due_on:
            plan.update(step=2, action="call", channel="phone", owner=owner, due_on=due_on)
        return plan

    plans = {
        "small": step("2024-03-10", "100.00"),
        "big": step("2024-03-16", "5000.00"),
        "later": step("2024-03-17", "9000.00"),
        "paused": step(None, "7000.00", paused_until="2024-03-20"),
        "legal": step("2024-03-01", "50.00", owner="legal"),
        "no-rate": step("2024-03-01", None),
    }
    store = Store(db_url)
    with store.begin() as conn:
        conn.execute(
            schema.exposure.insert(),
            [
                {
                    "customer_id": cid,
                    "as_of": dt.date(2024, 3, 16),
                    "currency": "EUR",
                    "open_amount": Decimal("100.00"),
                    "overdue_amount": Decimal("100.00"),
                    "buckets": {},
                    "unapplied_cash": Decimal("0"),
                    "max_days_past_due": 20,
                    "signals": [],
                    "flags": [],
                    "computed_at": utcnow(),
                    "next_action": plan,
                }
                for cid, plan in plans.items()
            ]
            + [
                {
                    "customer_id": "clean",
                    "as_of": dt.date(2024, 3, 16),
                    "currency": "EUR",
                    "open_amount": Decimal("0"),
                    "overdue_amount": Decimal("0"),
                    "buckets": {},
                    "unapplied_cash": Decimal("0"),
                    "max_days_past_due": 0,
                    "signals": [],
                    "flags": [],
                    "computed_at": utcnow(),
                    "next_action": None,
                }
            ],
        )
    store.dispose()

    def due(*args: str) -> list[str]:
        out = json.loads(run_hub("--json", "collections", "due", *args, cwd=cli_dir).stdout)
        return [x["customer_id"] for x in out["due"]]

    assert due("--as-of", "2024-03-16") == ["big", "small", "legal", "no-rate"]
    assert due("--as-of", "2024-03-16", "--owner", "legal") == ["legal"]
    assert due("--as-of", "2024-03-16", "--limit", "1") == ["big"]
    assert due("--as-of", "2024-03-17") == ["later", "big", "small", "legal", "no-rate"]  # coming up on the 17th
    shown = run_hub("collections", "due", "--as-of", "2024-03-16", cwd=cli_dir, env=WIDE).stdout
    assert "5,000.00 EUR" in shown and "call" in shown
    proc = run_hub("collections", "due", "--as-of", "16.03.2024", cwd=cli_dir, check=False)
    assert proc.returncode == 1 and "--as-of must be an ISO date (YYYY-MM-DD), got '16.03.2024'" in proc.stderr
