"""Late-payment interest and compensation (``hub.interest``) against figures worked out by hand.

The worked example of docs/cases.md: 10,000.00 EUR due 2024-01-31, reference rate 4.50 (from
2024-01-01) and 4.25 (from 2024-07-01), EU rule (+8 points): 12.50 % a year, then 12.25 %.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from hub.config import InterestConfig
from hub.errors import ConfigError, HubError
from hub.interest import interest_for
from hub.store import Store

from .conftest import EU_RATES, add_customer, add_invoice, add_payment, make_hub

DUE = dt.date(2024, 1, 31)


def eu(**extra: object) -> InterestConfig:
    rates = [{"from": "2023-07-01", "rate": "4.50"}, {"from": "2024-01-01", "rate": "4.50"}]
    rates.append({"from": "2024-07-01", "rate": "4.25"})
    return InterestConfig.model_validate({"rule": "eu", "reference_rates": rates, **extra})


def book(store: Store, *invoices: tuple[str, str, str]) -> dict[str, int]:
    with store.begin() as conn:
        add_customer(conn, "A1", "C1")
        return {number: add_invoice(conn, number, "A1", DUE, amount, ccy=ccy) for number, amount, ccy in invoices}


def test_the_eu_rule_charges_reference_rate_plus_eight_points_by_actual_days_over_365(store: Store) -> None:
    book(store, ("INV-1", "10000.00", "EUR"))
    (line,) = interest_for(store, "C1", dt.date(2024, 3, 31), settings=eu())
    # Feb 1 to Mar 31 2024 (a leap year): 29 + 31 = 60 days; 10000 x 12.5 % x 60 / 365 = 205.4794...
    assert line.days_late == 60
    assert line.rate == Decimal("12.50")
    assert line.interest == Decimal("205.48")
    assert line.compensation == Decimal("40.00")
    assert line.total == Decimal("245.48")
    assert line.principal == Decimal("10000.00")


def test_a_partial_payment_lowers_the_amount_from_the_day_after_it_is_booked(store: Store) -> None:
    ids = book(store, ("INV-1", "10000.00", "EUR"))
    with store.begin() as conn:
        add_payment(conn, ids["INV-1"], dt.date(2024, 2, 29), "4000.00")
    (line,) = interest_for(store, "C1", dt.date(2024, 3, 31), settings=eu())
    # Feb 1..29: 29 days on 10000 = 99.3150...; Mar 1..31: 31 days on 6000 = 63.6986...; 163.0136... -> 163.01
    assert [(p.start, p.end, p.days, p.principal) for p in line.periods] == [
        (dt.date(2024, 2, 1), dt.date(2024, 2, 29), 29, Decimal("10000.00")),
        (dt.date(2024, 3, 1), dt.date(2024, 3, 31), 31, Decimal("6000.00")),
    ]
    assert line.interest == Decimal("163.01")
    assert line.principal == Decimal("6000.00")


def test_the_reference_rate_of_each_half_year_applies_to_its_days(store: Store) -> None:
    book(store, ("INV-1", "10000.00", "EUR"))
    (line,) = interest_for(store, "C1", dt.date(2024, 7, 10), settings=eu())
    # Feb 1..Jun 30: 151 days at 12.50 % = 517.1232...; Jul 1..10: 10 days at 12.25 % = 33.5616...; 550.6849...
    assert [(p.days, p.rate) for p in line.periods] == [(151, Decimal("12.50")), (10, Decimal("12.25"))]
    assert line.interest == Decimal("550.68")
    assert line.rate == Decimal("12.25")


def test_grace_days_move_the_first_day_of_interest(store: Store) -> None:
    book(store, ("INV-1", "10000.00", "EUR"))
    assert interest_for(store, "C1", dt.date(2024, 2, 10), settings=eu(grace_days=10)) == []
    (line,) = interest_for(store, "C1", dt.date(2024, 3, 31), settings=eu(grace_days=10))
    # Feb 11..Mar 31: 50 days; 10000 x 12.5 % x 50 / 365 = 171.2328... -> 171.23; days late still 60
    assert (line.interest, line.days_late) == (Decimal("171.23"), 60)


def test_the_fixed_compensation_is_per_invoice_in_its_currency(store: Store) -> None:
    book(store, ("INV-1", "100.00", "EUR"), ("INV-2", "100.00", "CNY"), ("INV-3", "100.00", "USD"))
    settings = eu(compensation_by_currency={"CNY": "300", "USD": "0"})
    lines = {x.invoice: x for x in interest_for(store, "C1", dt.date(2024, 2, 1), settings=settings)}
    assert {n: (x.currency, x.compensation) for n, x in lines.items()} == {
        "INV-1": ("EUR", Decimal("40.00")),
        "INV-2": ("CNY", Decimal("300.00")),
        "INV-3": ("USD", Decimal("0.00")),
    }
    # one day on 100 at 12.5 %: 0.0342... -> 0.03
    assert lines["INV-1"].interest == Decimal("0.03")


def test_a_fixed_rule_charges_a_flat_annual_rate(store: Store) -> None:
    book(store, ("INV-1", "1000.00", "EUR"))
    settings = InterestConfig(rule="fixed", fixed_rate="10", compensation="0")
    (line,) = interest_for(store, "C1", dt.date(2024, 4, 30), settings=settings)
    # Feb 1..Apr 30: 29 + 31 + 30 = 90 days; 1000 x 10 % x 90 / 365 = 24.6575... -> 24.66
    assert (line.interest, line.compensation, line.rate) == (Decimal("24.66"), Decimal("0.00"), Decimal(10))


def test_interest_is_off_by_default_and_paid_or_not_yet_due_invoices_bear_none(store: Store) -> None:
    ids = book(store, ("INV-1", "500.00", "EUR"), ("INV-2", "500.00", "EUR"))
    assert InterestConfig().rule == "off"
    assert interest_for(store, "C1", dt.date(2024, 3, 31)) == []
    with store.begin() as conn:
        add_payment(conn, ids["INV-2"], dt.date(2024, 2, 10), "500.00")
    assert [x.invoice for x in interest_for(store, "C1", dt.date(2024, 3, 31), settings=eu())] == ["INV-1"]
    assert interest_for(store, "C1", DUE, settings=eu()) == []


def test_a_day_without_a_reference_rate_is_a_config_error(store: Store) -> None:
    book(store, ("INV-1", "500.00", "EUR"))
    late = InterestConfig.model_validate({"rule": "eu", "reference_rates": [{"from": "2024-03-01", "rate": "4"}]})
    with pytest.raises(ConfigError, match="no rate for 2024-02-01"):
        interest_for(store, "C1", dt.date(2024, 3, 31), settings=late)
    with pytest.raises(ConfigError, match="needs reference_rates"):
        interest_for(store, "C1", dt.date(2024, 3, 31), settings=InterestConfig(rule="eu"))


def test_a_hub_passes_its_own_settings(store: Store, db_url: str, tmp_path: Path) -> None:
    book(store, ("INV-1", "10000.00", "EUR"))
    hub = make_hub(tmp_path, db_url)
    try:
        (line,) = interest_for(hub, "C1", dt.date(2024, 3, 31))
        assert line.interest == Decimal("205.48")
        shown = hub.interest.show("C1", dt.date(2024, 3, 31))
        assert shown["lines"][0]["interest"] == "205.48" and shown["totals"] == {"EUR": "245.48"}
        with pytest.raises(HubError, match="no customer 'C404' in the hub"):
            hub.interest.show("C404", dt.date(2024, 3, 31))
    finally:
        hub.close()


def test_an_interest_invoice_is_queued_once_per_customer_and_period(store: Store, db_url: str, tmp_path: Path) -> None:
    book(store, ("INV-1", "10000.00", "EUR"))
    hub = make_hub(tmp_path, db_url)
    try:
        first = hub.interest.invoice("C1", as_of=dt.date(2024, 3, 31), actor="ann")
        again = hub.interest.invoice("C1", as_of=dt.date(2024, 3, 31), actor="bob")
        assert first.created and not again.created
        assert first.period == "2024-03" and first.totals == {"EUR": "245.48"}
        assert again.event_id == first.event_id and again.sinks == ["flags"]
        # the next period bills only what accrued since, and the compensation not again
        april = hub.interest.invoice("C1", as_of=dt.date(2024, 4, 30), actor="ann")
        # Feb 1..Apr 30: 90 days = 308.2191... -> 308.22; less 205.48 = 102.74
        assert april.totals == {"EUR": "102.74"}
        rows = hub.deliveries.view(["pending"]).rows["pending"]
        assert sorted(r["event_id"] for r in rows) == ["interest:C1:2024-03", "interest:C1:2024-04"]
        assert hub.push().delivered == 2
        with pytest.raises(HubError, match="no late-payment interest is due"):
            hub.interest.invoice("C1", as_of=dt.date(2024, 1, 15), actor="ann", period="2024-01")
    finally:
        hub.close()
    written = [json.loads(x) for x in (tmp_path / "out" / "flags.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in written] == ["interest_invoice", "interest_invoice"]


def test_the_example_config_reads(tmp_path: Path) -> None:
    from hub.config import load_config

    (tmp_path / "hub.toml").write_text(EU_RATES, encoding="utf-8")
    settings = load_config(tmp_path / "hub.toml").interest
    assert settings.rate_table()[-1] == (dt.date(2024, 7, 1), Decimal("4.25"))
    assert settings.compensation_for("CNY") == Decimal(300) and settings.compensation_for("EUR") == Decimal(40)


def test_two_interest_invoices_at_once_queue_one_event(store: Store, db_url: str, tmp_path: Path) -> None:
    import threading

    book(store, ("INV-1", "10000.00", "EUR"))
    hubs = [make_hub(tmp_path / f"h{n}", db_url) for n in range(4) if (tmp_path / f"h{n}").mkdir() is None]
    barrier = threading.Barrier(len(hubs))
    charges: list[object] = []

    def run(hub: object) -> None:
        barrier.wait()
        charges.append(hub.interest.invoice("C1", as_of=dt.date(2024, 3, 31), actor="ann"))  # type: ignore[attr-defined]

    threads = [threading.Thread(target=run, args=(h,)) for h in hubs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len(charges) == 4 and sum(c.created for c in charges) == 1  # type: ignore[attr-defined]
        assert len(hubs[0].deliveries.view(["pending"]).rows["pending"]) == 1
    finally:
        for h in hubs:
            h.close()


def test_an_interest_invoice_for_a_sink_that_cannot_bill_it_is_refused(
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tryton's sink writes party categories and limits: an interest invoice queued for it would be
    acknowledged unbilled, so the command refuses and names it."""
    book(store, ("INV-1", "10000.00", "EUR"))
    monkeypatch.setenv("HUB_TEST_TRYTON_PASSWORD", "not-used")  # nothing is called: the sink is only asked
    erp = (
        '\n[connectors.erp]\ntype = "tryton"\nurl = "http://127.0.0.1:9/"\ndatabase = "t"\nusername = "hub"\n'
        'password = { env = "HUB_TEST_TRYTON_PASSWORD" }\n'
    )
    hub = make_hub(tmp_path, db_url, extra=EU_RATES.replace('sinks = ["flags"]', 'sinks = ["flags", "erp"]') + erp)
    try:
        with pytest.raises(HubError, match=r"names erp, which cannot create invoices"):
            hub.interest.invoice("C1", as_of=dt.date(2024, 3, 31), actor="ann")
        assert hub.deliveries.view(["pending"]).rows["pending"] == []
    finally:
        hub.close()
