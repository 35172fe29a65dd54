"""Exposure per customer and group: buckets, conversion, unapplied cash, orders, guarantees, history."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from hub.config import FxConfig, RiskConfig
from hub.fx import Rates
from hub.model import Exposure
from hub.risk import RiskEngine
from hub.risk.exposure import bucket_labels, bucket_of
from hub.store import Store, schema, utcnow

AS_OF = dt.date(2026, 11, 27)
D = Decimal
_ids = itertools.count(1)


def put(conn: sa.Connection, table: sa.Table, **values: Any) -> int:
    """Insert one row, filling the bookkeeping columns of source tables."""
    if "record_hash" in table.c:
        values = {"source": "erp", "record_hash": next(_ids), "synced_at": utcnow(), **values}
    defaults: dict[str, dict[str, Any]] = {
        "customer": {"aliases": [], "tax_ids": [], "ibans": [], "links": {}},
        "invoice": {"issue_date": AS_OF - dt.timedelta(days=200), "status": "open"},
        "receipt": {"direction": "credit", "reversal": False, "references": [], "additional_remittance": []},
        "allocation": {
            "kind": "payment",
            "method": "test",
            "confidence": 1.0,
            "status": "auto",
            "reasons": [],
            "created_at": utcnow(),
            "decided_by": "hub",
            "decided_at": utcnow(),
        },
        "credit_report": {"legal_events": []},
    }
    values = {**defaults.get(table.name, {}), **values}
    if table.name == "customer":
        values.setdefault("canonical_id", values["external_id"])
    if table.name == "invoice":
        values.setdefault("number", values["external_id"])
        values.setdefault("open_amount", values["amount"])
    return int(conn.execute(table.insert().values(**values)).inserted_primary_key[0])


def customer(conn: sa.Connection, cid: str, ccy: str = "EUR", limit: str | None = None, **kw: Any) -> None:
    put(
        conn,
        schema.customer,
        external_id=cid,
        legal_name=f"{cid} Ltd",
        currency=ccy,
        credit_limit=D(limit) if limit else None,
        **kw,
    )


def invoice(conn: sa.Connection, number: str, cid: str, amount: str, dpd: int, ccy: str = "EUR", **kw: Any) -> int:
    return put(
        conn,
        schema.invoice,
        external_id=number,
        customer_external_id=cid,
        currency=ccy,
        amount=D(amount),
        due_date=AS_OF - dt.timedelta(days=dpd),
        **kw,
    )


def receipt(conn: sa.Connection, ref: str, amount: str, booked: dt.date, ccy: str = "EUR", **kw: Any) -> int:
    return put(
        conn, schema.receipt, source="bank", external_id=ref, amount=D(amount), currency=ccy, booking_date=booked, **kw
    )


def allocate(conn: sa.Connection, receipt_id: int, invoice_id: int, amount: str, status: str = "auto") -> None:
    put(conn, schema.allocation, receipt_id=receipt_id, invoice_id=invoice_id, amount=D(amount), status=status)


@pytest.fixture
def db(store: Store) -> Iterator[Store]:
    store.migrate()
    yield store


def exposures(store: Store, *, fx: FxConfig | None = None, **settings: Any) -> dict[str, Exposure]:
    engine = RiskEngine(store, [], [], sinks=[], settings=RiskConfig(**settings), fx=fx or FxConfig())
    with store.connect() as conn:
        return {e.customer_id: e for e in engine.exposures(conn, AS_OF)}


@pytest.mark.parametrize(
    ("days", "label"),
    [(-3, "not_due"), (0, "not_due"), (1, "d1_15"), (15, "d1_15"), (16, "d16_45"), (45, "d16_45"), (46, "d45_plus")],
)
def test_configured_buckets_put_each_boundary_day_in_the_right_bucket(days: int, label: str) -> None:
    assert bucket_labels([15, 45]) == ["not_due", "d1_15", "d16_45", "d45_plus"]
    assert bucket_of(days, [15, 45]) == label


def test_bucket_totals_are_open_amounts_less_live_allocations_by_days_past_due(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "A", limit="10000")
        i1 = invoice(conn, "I1", "A", "1000.00", dpd=0)
        invoice(conn, "I2", "A", "200.00", dpd=1)
        i3 = invoice(conn, "I3", "A", "300.00", dpd=61)
        invoice(conn, "I4", "A", "50.00", dpd=400)
        invoice(conn, "I5", "A", "70.00", dpd=10, status="paid", open_amount=D(0))
        invoice(conn, "I6", "A", "80.00", dpd=10, status="cancelled")
        r = receipt(conn, "R1", "500.00", AS_OF)
        allocate(conn, r, i3, "100.00")  # live: counts
        allocate(conn, r, i1, "400.00", status="suggested")  # not applied yet: does not count
    exp = exposures(db)["A"]
    assert exp.buckets == {
        "not_due": D("1000.00"),
        "d1_30": D("200.00"),
        "d31_60": D(0),
        "d61_90": D("200.00"),
        "d91_180": D(0),
        "d180_plus": D("50.00"),
    }
    assert (exp.open_amount, exp.overdue_amount, exp.max_days_past_due) == (D("1450.00"), D("450.00"), 400)
    assert exp.oldest_due_date == AS_OF - dt.timedelta(days=400)
    assert exp.utilisation == pytest.approx(0.145)


def test_invoices_in_another_currency_are_converted_and_those_without_a_rate_are_kept_apart(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "A", "EUR")
        invoice(conn, "I1", "A", "100.00", dpd=5)
        invoice(conn, "I2", "A", "100.00", dpd=5, ccy="USD")
        invoice(conn, "I3", "A", "40.00", dpd=5, ccy="CHF")
    exp = exposures(db, fx=FxConfig(base="EUR", rates={"USD": "0.92"}))["A"]
    assert exp.open_amount == D("192.00")
    assert exp.unconverted == {"CHF": D("40.00")}
    assert exp.fx_rates == {"USD": "0.92 (config)"}
    assert (exp.open_base, exp.base_currency) == (D("192.00"), "EUR")


def test_a_synced_rate_dated_on_or_before_the_as_of_date_beats_the_configured_one(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "G", "GBP")
        invoice(conn, "I1", "G", "100.00", dpd=5, ccy="GBP")
        put(
            conn,
            schema.fx_rate,
            source="ecb",
            external_id="1",
            currency="GBP",
            base="EUR",
            rate=D("1.15"),
            date=AS_OF - dt.timedelta(days=1),
        )
        put(
            conn,
            schema.fx_rate,
            source="ecb",
            external_id="2",
            currency="GBP",
            base="EUR",
            rate=D("9"),
            date=AS_OF + dt.timedelta(days=1),
        )  # after the as-of date: not used
        put(
            conn, schema.fx_rate, source="ecb", external_id="3", currency="EUR", base="USD", rate=D("1.25"), date=AS_OF
        )  # quoted the other way round: 1 USD = 0.8 EUR
    with db.connect() as conn:
        rates = Rates.load(conn, "EUR", {"GBP": D("1.17")}, AS_OF)
    assert rates.to_base("GBP") == D("1.15")
    assert rates.convert(D("100.00"), "USD", "EUR") == D("80.00")
    assert rates.convert(D("100.00"), "GBP", "USD") == D("143.75")
    assert exposures(db, fx=FxConfig(rates={"GBP": "1.17"}))["G"].open_base == D("115.00")


def test_unapplied_cash_is_the_unallocated_money_of_receipts_the_hub_can_attribute(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "A", ibans=["DE02120300000000202051"])
        customer(conn, "B")
        i1 = invoice(conn, "I1", "B", "100.00", dpd=5)
        receipt(conn, "R1", "250.00", AS_OF, payer_account="de02 1203 0000 0000 2020 51")  # A's account
        r2 = receipt(conn, "R2", "130.00", AS_OF)  # pays B's invoice and 30.00 more
        allocate(conn, r2, i1, "100.00")
        receipt(conn, "R3", "999.00", AS_OF, payer_account="GB33BUKB20201555555555")  # unknown payer
        receipt(conn, "R4", "75.00", AS_OF, payer_account="DE02120300000000202051", direction="debit")
    exp = exposures(db)
    assert exp["A"].unapplied_cash == D("250.00")
    assert exp["B"].unapplied_cash == D("30.00")
    assert exp["B"].open_amount == D(0)


def test_open_orders_count_towards_utilisation_and_valid_guarantees_reduce_net_exposure(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "A", limit="1000")
        invoice(conn, "I1", "A", "600.00", dpd=0)
        put(
            conn,
            schema.sales_order,
            external_id="SO1",
            number="SO1",
            customer_external_id="A",
            order_date=AS_OF,
            currency="EUR",
            open_amount=D("500.00"),
            status="open",
        )
        put(
            conn,
            schema.sales_order,
            external_id="SO2",
            number="SO2",
            customer_external_id="A",
            order_date=AS_OF,
            currency="EUR",
            open_amount=D("900.00"),
            status="closed",
        )
        put(
            conn,
            schema.guarantee,
            external_id="G1",
            customer_external_id="A",
            kind="bank_guarantee",
            amount=D("300.00"),
            currency="EUR",
            expiry_date=AS_OF,
        )  # valid through today
        put(
            conn,
            schema.guarantee,
            external_id="G2",
            customer_external_id="A",
            kind="credit_insurance",
            amount=D("5000.00"),
            currency="EUR",
            expiry_date=AS_OF - dt.timedelta(days=1),
        )  # expired
    exp = exposures(db)["A"]
    assert (exp.open_orders, exp.secured_amount) == (D("500.00"), D("300.00"))
    assert exp.net_exposure == D("800.00")
    assert exp.utilisation == pytest.approx(1.1)


def test_dso_relates_open_receivables_to_recent_invoicing(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "A")
        invoice(conn, "I1", "A", "3000.00", dpd=-20, issue_date=AS_OF - dt.timedelta(days=10))
        invoice(
            conn, "I2", "A", "6000.00", dpd=0, issue_date=AS_OF - dt.timedelta(days=89), status="paid", open_amount=D(0)
        )
        invoice(
            conn, "I3", "A", "9999.00", dpd=0, issue_date=AS_OF - dt.timedelta(days=90), status="paid", open_amount=D(0)
        )  # issued 90 days ago: outside the 90-day window
    assert exposures(db)["A"].dso == pytest.approx(30.0)


def test_payment_history_averages_days_late_over_the_window_and_compares_with_the_one_before(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "A")
        # four older payments 2 days late (ERP paid dates), then four recent ones 12 days late (hub matches)
        for n in range(4):
            due = AS_OF - dt.timedelta(days=200 - n)
            invoice(
                conn,
                f"O{n}",
                "A",
                "10.00",
                dpd=(AS_OF - due).days,
                status="paid",
                open_amount=D(0),
                paid_date=due + dt.timedelta(days=2),
            )
        for n in range(4):
            due = AS_OF - dt.timedelta(days=60 - n)
            i = invoice(
                conn,
                f"N{n}",
                "A",
                "10.00",
                dpd=(AS_OF - due).days,
                status="paid",
                open_amount=D(0),
                paid_date=due + dt.timedelta(days=99),
            )  # the hub's own match wins over the ERP date
            r = receipt(conn, f"R{n}", "10.00", due + dt.timedelta(days=12))
            allocate(conn, r, i, "10.00")
    exp = exposures(db, payments_window=4)["A"]
    assert (exp.avg_days_late, exp.days_late_trend, exp.payments_counted) == (12.0, 10.0, 4)


def test_groups_roll_subsidiaries_up_to_the_top_parent_in_its_currency(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "P", "EUR", limit="1000")
        customer(conn, "S1", "EUR", parent_external_id="P")
        customer(conn, "S2", "USD", parent_external_id="S1")
        customer(conn, "S3", "CHF", parent_external_id="P")  # no rate
        customer(conn, "X", "EUR")
        invoice(conn, "I1", "P", "100.00", dpd=0)
        invoice(conn, "I2", "S1", "200.00", dpd=40)
        invoice(conn, "I3", "S2", "100.00", dpd=40, ccy="USD")
        invoice(conn, "I4", "S3", "70.00", dpd=1, ccy="CHF")
        invoice(conn, "I5", "X", "5.00", dpd=1)
    engine = RiskEngine(db, [], [], sinks=[], fx=FxConfig(rates={"USD": "0.5"}))
    with db.connect() as conn:
        book = engine.load(conn, AS_OF)
    from hub.risk.exposure import roll_up_groups

    (group,) = roll_up_groups(book, book.labels)
    assert (group["group_id"], group["members"], group["currency"]) == ("P", 4, "EUR")
    assert (group["open_amount"], group["overdue_amount"]) == (D("350.00"), D("250.00"))
    assert group["buckets"]["d31_60"] == "250.00"
    assert group["unconverted"] == {"CHF": "70.00"}
    assert group["utilisation"] == pytest.approx(0.35)
    assert {c.exposure.customer_id: c.exposure.group_id for c in book.customers} == {
        "P": "P",
        "S1": "P",
        "S2": "P",
        "S3": "P",
        "X": None,
    }


def test_bureau_reports_give_the_latest_and_previous_score_per_bureau(db: Store) -> None:
    with db.begin() as conn:
        customer(conn, "A")
        for n, (day, score) in enumerate([(AS_OF - dt.timedelta(days=40), 70.0), (AS_OF, 50.0)]):
            put(
                conn,
                schema.credit_report,
                source="creditsafe",
                external_id=f"r{n}",
                customer_external_id="A",
                bureau="creditsafe",
                bureau_company_id="X1",
                score=score,
                report_date=day,
                legal_events=[{"kind": "lawsuit", "date": "2026-11-01", "description": "claim"}] if n else [],
            )
    engine = RiskEngine(db, [], [], sinks=[])
    with db.connect() as conn:
        (cr,) = engine.load(conn, AS_OF).customers
    (view,) = cr.bureaus
    assert (view.score, view.previous_score, view.previous_date) == (50.0, 70.0, AS_OF - dt.timedelta(days=40))
    assert [e.kind for e in view.legal_events] == ["lawsuit"]


def test_orders_guarantees_rates_and_collection_notes_sync_from_csv_files(tmp_path: Any, db_url: str) -> None:
    from hub.app import Hub
    from hub.config import load_config

    from .conftest import write_config

    (tmp_path / "customers.csv").write_text(
        "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\nA,Alpha GmbH,,DE,EUR,1000.00,,\n"
    )
    (tmp_path / "invoices.csv").write_text(
        "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
        "I1,A,2026-10-01,2026-11-20,USD,500.00,500.00,\n"
    )
    (tmp_path / "orders.csv").write_text(
        "order_number,customer_id,order_date,currency,open_amount,status\nSO1,A,2026-11-20,EUR,300.00,Open\n"
    )
    (tmp_path / "guarantees.csv").write_text(
        "guarantee_id,customer_id,kind,amount,currency,expiry_date,issuer\n"
        "G1,A,Bank_Guarantee,200.00,EUR,2027-06-30,Deutsche Bank\nG2,A,collateral,50.00,EUR,,\n"
    )
    (tmp_path / "rates.csv").write_text("date,currency,base,rate\n2026-11-26,USD,EUR,0.90\n2026-11-27,USD,EUR,0.92\n")
    (tmp_path / "log.csv").write_text(
        "action_id,customer_id,at,channel,content,outcome,promise_date,promise_amount,promise_currency,author,invoices\n"
        "N1,A,2026-11-25T10:00:00+00:00,Phone,Called AP,promised,2026-12-05,500.00,USD,Jo,I1\n"
        "N2,A,2026-11-26T10:00:00+00:00,email,,,,,,,\n"
    )
    write_config(
        tmp_path,
        db_url,
        statements=None,
        sink=None,
        extra='orders = "orders.csv"\nguarantees = "guarantees.csv"\nrates = "rates.csv"\ncollections = "log.csv"\n',
    )
    text = (tmp_path / "hub.toml").read_text()
    # the extra keys belong to the csv connector's section, which write_config writes first
    assert text.index("orders =") > text.index("[connectors.erp]")
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    stats = {s.stream: s for s in hub.sync()}
    assert {k: v.inserted for k, v in stats.items()} == {
        "customers": 1,
        "invoices": 1,
        "orders": 1,
        "guarantees": 2,
        "rates": 2,
        "collections": 2,
    }
    assert all(v.quarantined == 0 for v in stats.values())
    engine = RiskEngine(hub.store, [], [], sinks=[])
    with hub.store.connect() as conn:
        (exp,) = engine.exposures(conn, AS_OF)
        notes = conn.execute(sa.select(schema.collection_action).order_by(schema.collection_action.c.external_id)).all()
    assert (exp.open_amount, exp.open_orders, exp.secured_amount) == (D("460.00"), D("300.00"), D("250.00"))
    assert exp.fx_rates == {"USD": "0.92 (source 2026-11-27)"}
    assert [(n.channel, n.promise_amount, n.invoice_numbers) for n in notes] == [
        ("phone", D("500.00"), ["I1"]),
        ("email", None, []),
    ]
    hub.close()
