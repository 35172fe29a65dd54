"""``hub report --html``: the figures on the page are the stored ones, it needs nothing outside itself."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import lxml.html
import pytest
import sqlalchemy as sa

from hub.errors import HubError
from hub.report import NO_EXPOSURE, build_report, collect_report, write_report
from hub.store import Store, schema

from .conftest import run_hub, write_config

AS_OF = dt.date(2024, 3, 10)
GENERATED = dt.datetime(2024, 3, 10, 7, 45, tzinfo=dt.UTC)
D = Decimal
LABELS = ["not_due", "d1_30", "d31_60", "d61_90", "d91_180", "d180_plus"]
USD = {"USD": D("0.9")}
EVIL = "<script>alert('x')</script> & Sons"
_ids = itertools.count(1)


def buckets(**amounts: str) -> dict[str, str]:
    return {label: amounts.get(label, "0.00") for label in LABELS}


def exposure(
    conn: sa.Connection,
    cid: str,
    *,
    open_: str,
    overdue: str,
    open_base: str,
    ccy: str = "EUR",
    buckets_: dict[str, str],
    **kw: Any,
) -> None:
    values: dict[str, Any] = {
        "customer_id": cid,
        "as_of": AS_OF,
        "currency": ccy,
        "open_amount": D(open_),
        "overdue_amount": D(overdue),
        "buckets": buckets_,
        "unapplied_cash": D(0),
        "max_days_past_due": 0,
        "signals": [],
        "flags": [],
        "computed_at": GENERATED,
        "open_base": D(open_base),
        "base_currency": "EUR",
        "name": f"{cid} name",
        **kw,
    }
    conn.execute(schema.exposure.insert().values(**values))


def flag(conn: sa.Connection, cid: str, code: str, active: bool = True) -> None:
    conn.execute(
        schema.risk_flag.insert().values(
            customer_id=cid, code=code, active=active, version=1, reason="test", changed_at=GENERATED
        )
    )


def receipt(conn: sa.Connection, amount: str, status: str, ccy: str = "EUR", **kw: Any) -> int:
    n = next(_ids)
    values = {
        "source": "bank",
        "external_id": f"R{n}",
        "record_hash": n,
        "synced_at": GENERATED,
        "booking_date": AS_OF,
        "amount": D(amount),
        "currency": ccy,
        "direction": "credit",
        "reversal": False,
        "references": [],
        "additional_remittance": [],
        "match_status": status,
        **kw,
    }
    return int(conn.execute(schema.receipt.insert().values(**values)).inserted_primary_key[0])


def allocate(conn: sa.Connection, receipt_id: int, invoice_id: int, amount: str, status: str) -> None:
    conn.execute(
        schema.allocation.insert().values(
            receipt_id=receipt_id,
            invoice_id=invoice_id,
            amount=D(amount),
            kind="payment",
            method="test",
            confidence=1.0,
            status=status,
            reasons=[],
            created_at=GENERATED,
            decided_by="hub",
            decided_at=GENERATED,
        )
    )


def plan(due_on: str, action: str = "call", owner: str = "collector") -> dict[str, Any]:
    return {
        "action": action,
        "owner": owner,
        "channel": "phone",
        "due_on": due_on,
        "step": 2,
        "reason": f"Oldest invoice 20 days past due; {action} not yet logged.",
    }


def portfolio(store: Store) -> None:
    """Five customers (one in USD at 0.9, one in GBP without a rate), flags, receipts, two groups.

    In EUR: open 10,000 + 18,000 + 2,500 + 7,000 = 37,500 (GBP left out); overdue 4,000 + 4,500 + 7,000 = 15,500.
    """
    with store.begin() as conn:
        exposure(
            conn,
            "C1",
            open_="10000.00",
            overdue="4000.00",
            open_base="10000.00",
            name="Alpha GmbH",
            buckets_=buckets(not_due="6000.00", d1_30="3000.00", d91_180="1000.00"),
            group_id="C1",
            credit_limit=D("12000.00"),
            recommended_limit=D("8000.00"),
            utilisation=10000 / 12000,
            score=55.0,
            band="C",
            flags=["OVERDUE_90"],
            next_action=plan("2024-03-01"),
        )
        exposure(
            conn,
            "C2",
            ccy="USD",
            open_="20000.00",
            overdue="5000.00",
            open_base="18000.00",
            name="Beta Inc",
            buckets_=buckets(not_due="15000.00", d1_30="2000.00", d31_60="3000.00"),
            group_id="C2",
            credit_limit=D("15000.00"),
            utilisation=20000 / 15000,
            score=70.0,
            band="B",
            flags=["OVERDUE_30", "OVER_LIMIT"],
            next_action=plan("2024-03-20", "visit", "account-manager"),
        )
        exposure(
            conn,
            "C3",
            open_="2500.00",
            overdue="0.00",
            open_base="2500.00",
            name=EVIL,
            group_id="C1",
            buckets_=buckets(not_due="2500.00"),
            score=90.0,
            band="A",
        )
        exposure(
            conn,
            "C4",
            ccy="GBP",
            open_="1000.00",
            overdue="1000.00",
            open_base="0.00",
            name="Gamma Ltd",
            buckets_=buckets(d1_30="1000.00"),
            score=35.0,
            band="D",
            flags=["OVERDUE_30"],
            next_action={"paused_until": "2024-03-15", "promised_date": "2024-03-12", "reason": "promise"},
        )
        exposure(
            conn,
            "C5",
            open_="7000.00",
            overdue="7000.00",
            open_base="7000.00",
            name="Delta SA",
            buckets_=buckets(d61_90="7000.00"),
            score=15.0,
            band="E",
            flags=["CREDIT_HOLD", "OVERDUE_60"],
            next_action=plan("2024-03-10", "lawyer's letter", "legal"),
            group_id="C2",
        )
        for cid, codes in {
            "C1": ["OVERDUE_90"],
            "C2": ["OVERDUE_30", "OVER_LIMIT"],
            "C4": ["OVERDUE_30"],
            "C5": ["CREDIT_HOLD", "OVERDUE_60"],
        }.items():
            for code in codes:
                flag(conn, cid, code)
        flag(conn, "C1", "LEGAL_EVENT", active=False)  # cleared: not counted
        for gid, ccy, members, open_, overdue in [
            ("C1", "EUR", 2, "12500.00", "4000.00"),
            ("C2", "USD", 2, "27000.00", "12000.00"),
        ]:
            conn.execute(
                schema.exposure_group.insert().values(
                    group_id=gid,
                    as_of=AS_OF,
                    currency=ccy,
                    members=members,
                    open_amount=D(open_),
                    overdue_amount=D(overdue),
                    buckets={},
                    open_orders=D(0),
                    secured_amount=D(0),
                    net_exposure=D(open_),
                    computed_at=GENERATED,
                )
            )

        invoice_id = int(
            conn.execute(
                schema.invoice.insert().values(
                    source="erp",
                    external_id="INV1",
                    record_hash=1,
                    synced_at=GENERATED,
                    number="INV1",
                    customer_external_id="C1",
                    issue_date=AS_OF,
                    due_date=AS_OF,
                    currency="EUR",
                    amount=D("99999.00"),
                    open_amount=D("99999.00"),
                    status="open",
                )
            ).inserted_primary_key[0]
        )
        allocate(conn, receipt(conn, "1000.00", "matched"), invoice_id, "1000.00", "auto")
        confirmed = receipt(conn, "3000.00", "matched")
        allocate(conn, confirmed, invoice_id, "3000.00", "rejected")
        allocate(conn, confirmed, invoice_id, "3000.00", "confirmed")
        allocate(conn, receipt(conn, "2000.00", "matched", "USD"), invoice_id, "2000.00", "auto")  # 1,800.00 EUR
        allocate(conn, receipt(conn, "500.00", "suggested"), invoice_id, "500.00", "suggested")
        receipt(conn, "1500.00", "open")
        receipt(conn, "100.00", "open", "CHF")  # no rate: counted by number only
        receipt(conn, "999.00", "open", direction="debit")  # outgoing: not a receipt to match
        receipt(conn, "700.00", "open", reversal=True)  # a reversal: not a receipt to match


def page(store: Store, **kw: Any) -> Any:
    html = build_report(store, as_of=AS_OF, base_currency="EUR", fx_rates=USD, generated_at=GENERATED, **kw)
    return lxml.html.document_fromstring(html)


def text(el: Any) -> str:
    return " ".join(el.text_content().split())


def amount(el: Any) -> Decimal:
    """The first amount shown in an element (``1,234.56``)."""
    found = re.search(r"-?[\d,]+\.\d\d", text(el))
    assert found, text(el)
    return D(found.group(0).replace(",", ""))


def one(doc: Any, path: str) -> Any:
    found = doc.xpath(path)
    assert len(found) == 1, (path, found)
    return found[0]


@pytest.fixture
def filled(store: Store) -> Store:
    portfolio(store)
    return store


def test_key_figures_are_the_stored_totals_in_the_base_currency(filled: Store) -> None:
    doc = page(filled)
    assert text(one(doc, '//*[@id="kf-customers"]/span[@class="value"]')) == "5"
    assert amount(one(doc, '//*[@id="kf-open"]')) == D("37500.00")
    assert amount(one(doc, '//*[@id="kf-overdue"]')) == D("15500.00")
    assert text(one(doc, '//*[@id="kf-overdue"]//span[@class="pct"]')) == "41.3%"  # 15,500 / 37,500
    assert text(one(doc, '//*[@id="kf-flagged"]/span[@class="value"]')) == "4"
    assert text(one(doc, '//*[@id="kf-due"]/span[@class="value"]')) == "2"
    assert text(one(doc, '//*[@id="as-of"]')) == "2024-03-10"
    assert text(one(doc, '//*[@id="base-currency"]')) == "EUR"
    assert text(one(doc, '//*[@id="generated-at"]')) == "2024-03-10 07:45 UTC"


def test_a_customer_without_a_rate_is_left_out_of_the_totals_and_named_in_a_warning_above_them(
    filled: Store,
) -> None:
    doc = page(filled)
    section = one(doc, '//*[@id="key-figures"]')
    warnings = [text(n) for n in section.xpath('p[@class="warning"]')]
    assert warnings == [
        "Left out: 1 customer in GBP (1,000.00 GBP open) had no exchange rate to EUR and is missing from every EUR "
        "total below; add a rate ([fx] rates or a synced rate) and run 'hub risk' again."
    ]
    # above the figures it concerns, not in grey small print under them
    assert section.index(section.xpath('p[@class="warning"]')[0]) < section.index(section.xpath("div")[0])
    row = one(doc, '//table[@class="top"]//tr[@data-customer="C4"]')
    assert text(one(row, './/span[contains(@class, "c-open-base")]')) == "no rate"


def test_ageing_chart_bars_carry_the_bucket_totals_converted_like_open_base(filled: Store) -> None:
    doc = page(filled)
    bars = doc.xpath('//section[@id="ageing"]//svg//g[@class="bar"]')
    shown = {b.get("data-key"): amount(one(b, 'text[@class="value"]')) for b in bars}
    # USD at 18,000 / 20,000: not due 15,000 -> 13,500, 1-30 2,000 -> 1,800, 31-60 3,000 -> 2,700
    assert shown == {
        "not_due": D("22000.00"),
        "d1_30": D("4800.00"),
        "d31_60": D("2700.00"),
        "d61_90": D("7000.00"),
        "d91_180": D("1000.00"),
        "d180_plus": D("0.00"),
    }
    assert [b.get("data-key") for b in bars] == LABELS
    assert [text(one(b, 'text[@class="label"]')) for b in bars][:2] == ["not yet due", "1\u201330 days"]
    table = {r.get("data-key"): amount(r) for r in doc.xpath('//table[@class="ageing"]//tr[@data-key]')}
    assert table == shown
    assert sum(shown.values()) == amount(one(doc, '//*[@id="kf-open"]'))


def test_configured_buckets_show_even_when_empty_unless_the_run_used_others(filled: Store) -> None:
    def keys(doc: Any) -> list[str]:
        return [b.get("data-key") for b in doc.xpath('//section[@id="ageing"]//svg//g[@class="bar"]')]

    assert keys(page(filled, bucket_bounds=[30, 60, 90, 180])) == LABELS
    with filled.begin() as conn:
        conn.execute(
            schema.exposure.update().values(
                buckets={"not_due": "1.00", "d1_30": "2.00", "d31_60": "3.00", "d61_90": "4.00", "d90_plus": "5.00"}
            )
        )
    assert keys(page(filled)) == ["not_due", "d1_30", "d31_60", "d61_90", "d90_plus"]
    # the config now has other buckets than the stored run: the run's own are shown, not a mix
    assert keys(page(filled, bucket_bounds=[30, 60, 90, 120])) == ["not_due", "d1_30", "d31_60", "d61_90", "d90_plus"]


def test_flag_chart_counts_active_flags_per_code(filled: Store) -> None:
    doc = page(filled)
    bars = doc.xpath('//section[@id="flags"]//svg//g[@class="bar"]')
    shown = [(b.get("data-key"), int(text(one(b, 'text[@class="value"]')))) for b in bars]
    assert shown == [("OVERDUE_30", 2), ("CREDIT_HOLD", 1), ("OVERDUE_60", 1), ("OVERDUE_90", 1), ("OVER_LIMIT", 1)]


def test_match_rate_counts_incoming_receipts_by_status_and_converts_amounts(filled: Store) -> None:
    doc = page(filled)
    rows = {r.get("data-kind"): r for r in doc.xpath('//table[@class="matching"]//tr[@data-kind]')}
    counts = {k: int(text(one(r, 'td[contains(@class, "count")]'))) for k, r in rows.items()}
    assert counts == {"auto": 2, "confirmed": 1, "suggested": 1, "open": 2, "all": 6}
    amounts = {k: amount(r.xpath("td")[2]) for k, r in rows.items()}
    assert amounts == {
        "auto": D("2800.00"),
        "confirmed": D("3000.00"),
        "suggested": D("500.00"),
        "open": D("1500.00"),
        "all": D("7800.00"),
    }
    # 3 of 6 by number; 5,800 of 7,800 EUR by amount (the CHF receipt has no rate)
    assert text(one(doc, '//*[@id="kf-match-count"]//span[@class="pct"]')) == "50.0%"
    assert text(one(doc, '//*[@id="kf-match-amount"]//span[@class="pct"]')) == "74.4%"
    notes = [text(n) for n in doc.xpath('//section[@id="matching"]//p[@class="warning"]')]
    assert notes == [
        "Left out: 1 receipt of 100.00 CHF had no exchange rate to EUR: counted in the share by number, "
        "left out of the share by amount."
    ]


def test_top_exposures_are_ranked_by_open_in_the_base_currency(filled: Store) -> None:
    doc = page(filled)
    rows = doc.xpath('//table[@class="top"]/tbody/tr')
    assert [r.get("data-customer") for r in rows] == ["C2", "C1", "C5", "C3", "C4"]
    c2 = rows[0]
    cell = {c.get("class").split()[-1]: c for c in c2.xpath(".//td | .//span[@class]")}
    assert cell["c-name"].text.strip() == "Beta Inc" and text(one(cell["c-name"], "span")) == "C2"
    assert text(one(cell["c-band"], 'span[contains(@class, "band")]')) == "B"
    assert text(cell["c-score"]) == "70.0"
    assert text(one(cell["c-open"], 'span[@class="amt"]')) == "20,000.00"
    assert amount(cell["c-open-base"]) == D("18000.00")
    assert text(cell["c-overdue"]) == "5,000.00 USD"
    assert amount(one(cell["c-limit"], 'span[@class="amt"]')) == D("15000.00")
    assert text(cell["c-util"]) == "133% used"
    assert [text(f) for f in cell["c-flags"].xpath("span")] == ["OVERDUE_30", "OVER_LIMIT"]
    assert text(cell["c-next"]) == "visit account-manager, from 2024-03-20"
    c1 = {c.get("class").split()[-1]: c for c in rows[1].xpath("td")}
    assert text(c1["c-limit"]).startswith("12,000.00 recommended 8,000.00")
    assert text(c1["c-next"]) == "call collector, due 2024-03-01"


def test_bands_groups_and_collections_due(filled: Store) -> None:
    doc = page(filled)
    bands = {
        r.get("data-band"): (int(text(one(r, 'td[contains(@class, "count")]'))), amount(r.xpath("td")[1]))
        for r in doc.xpath('//table[@class="bands"]/tbody/tr')
    }
    assert bands == {
        "A": (1, D("2500.00")),
        "B": (1, D("18000.00")),
        "C": (1, D("10000.00")),
        "D": (1, D("0.00")),
        "E": (1, D("7000.00")),
    }
    groups = doc.xpath('//table[@class="groups"]/tbody/tr')
    # 27,000 USD is 24,300 EUR: above the 12,500 EUR group
    assert [(g.get("data-group"), amount(one(g, 'td[contains(@class, "c-open-base")]'))) for g in groups] == [
        ("C2", D("24300.00")),
        ("C1", D("12500.00")),
    ]
    assert text(one(groups[0], 'td[@class="c-name"]')) == "Beta Inc"
    assert text(one(doc, '//*[@id="due-count"]')) == "2"
    owners = [[text(td) for td in r.xpath("td")] for r in doc.xpath('//table[@class="due"]/tbody/tr')]
    assert owners == [["collector", "call", "1"], ["legal", "lawyer's letter", "1"]]
    lead = text(one(doc, '//*[@id="collections"]/p[1]'))
    assert (
        lead == "2 collection steps are due on or before 2024-03-10, of 4 customers with a planned step; "
        "1 paused by a promise to pay."
    )


def test_the_page_needs_nothing_outside_itself(filled: Store) -> None:
    html = build_report(filled, as_of=AS_OF, base_currency="EUR", fx_rates=USD, generated_at=GENERATED)
    doc = lxml.html.document_fromstring(html)
    assert doc.xpath("//script") == []
    assert doc.xpath("//link | //img | //iframe | //object | //embed") == []
    for el in doc.iter():
        for name, value in el.attrib.items():
            if name.rsplit("}", 1)[-1].split(":")[-1] in ("src", "href", "srcset", "action", "data"):
                assert not value.strip().lower().startswith(("http", "//", "file")), (el.tag, name, value)
                assert value.startswith("#"), (el.tag, name, value)  # in-page links only
    style = " ".join(s.text_content() for s in doc.xpath("//style"))
    assert "url(" not in style and "@import" not in style
    assert "@media print" in style


def test_a_name_with_markup_is_shown_as_text(filled: Store) -> None:
    doc = page(filled)
    row = one(doc, '//table[@class="top"]//tr[@data-customer="C3"]')
    assert one(row, 'td[@class="c-name"]').text.strip() == EVIL
    assert doc.xpath("//script") == []


def test_no_exposure_yet_is_a_clear_error(store: Store) -> None:
    with pytest.raises(HubError) as caught:
        build_report(store, as_of=AS_OF, base_currency="EUR")
    assert str(caught.value) == NO_EXPOSURE == "no exposure computed yet: run 'hub risk' (or 'hub run') first"


def test_a_run_in_another_base_currency_is_refused(filled: Store) -> None:
    with pytest.raises(HubError, match=r"computed base-currency amounts in EUR, but the base currency is now USD"):
        collect_report(filled, as_of=AS_OF, base_currency="USD")


def test_write_report_replaces_the_file_whole_and_refuses_a_folder(filled: Store, tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    figures = write_report(filled, target, as_of=AS_OF, base_currency="EUR", fx_rates=USD, generated_at=GENERATED)
    assert figures.open_base == D("37500.00")
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temporary file left behind
    with pytest.raises(HubError, match="it is a folder"):
        write_report(filled, tmp_path, as_of=AS_OF, base_currency="EUR")


@pytest.mark.slow
def test_cli_writes_the_report_and_fails_clearly_before_a_risk_run(tmp_path: Path, db_url: str) -> None:
    extra = '[fx]\nbase = "EUR"\nrates = { USD = "0.9" }\n\n[risk]\nas_of = "2024-03-10"\n'
    write_config(tmp_path, db_url, customers=None, invoices=None, statements=None, sink=None, extra=extra)
    run_hub("init", cwd=tmp_path)
    proc = run_hub("report", "--html", "out/report.html", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert "no exposure computed yet: run 'hub risk' (or 'hub run') first" in proc.stderr
    assert not (tmp_path / "out" / "report.html").exists()

    store = Store(db_url)
    try:
        portfolio(store)
    finally:
        store.dispose()
    proc = run_hub("report", "--html", "out/report.html", "--top", "3", cwd=tmp_path)
    target = (tmp_path / "out" / "report.html").resolve()
    assert f"report written to {target}" in " ".join(proc.stdout.split())
    doc = lxml.html.document_fromstring(target.read_text(encoding="utf-8"))
    assert [r.get("data-customer") for r in doc.xpath('//table[@class="top"]/tbody/tr')] == ["C2", "C1", "C5"]
    assert amount(one(doc, '//*[@id="kf-open"]')) == D("37500.00")
    assert text(one(doc, '//*[@id="as-of"]')) == "2024-03-10"
    # groups converted with the config's rate: 27,000 USD at 0.9
    assert amount(one(doc, '//table[@class="groups"]//tr[@data-group="C2"]/td[contains(@class, "c-open-base")]')) == D(
        "24300.00"
    )
    later = run_hub("--json", "report", "--html", "out/later.html", "--as-of", "2024-03-20", cwd=tmp_path)
    assert '"collection_steps_due": 3' in later.stdout
    bad = run_hub("report", "--html", "x.html", "--as-of", "20.3.2024", cwd=tmp_path, check=False)
    assert bad.returncode == 1 and "--as-of must be an ISO date" in bad.stderr
