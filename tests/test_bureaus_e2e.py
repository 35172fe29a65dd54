"""Each API bureau through the real pipeline: a CSV ERP, the bureau's connector against a respx fake
shaped like its documentation (the fakes of ``tests/connectors/test_<bureau>.py``), and ``hub run``.

For every bureau: the customer is linked to the bureau's company, the report is stored in
``credit_report`` with the bureau's raw payload, the score's bureau signal appears in ``hub
exposure show --json``, and a second run within the TTL makes no paid call (counted on the fake's
routes). Creditsafe also shows a downgrade noticed by its monitoring raising ``BUREAU_DOWNGRADE``,
D&B one asked for by a person (``hub bureau refresh``); Tianyancha and Qichacha show a
dishonest-debtor listing (失信被执行人) raising ``LEGAL_EVENT``. The flags reach the json-file sink.

The commands run in this process (``typer``'s runner), so respx sees the connectors' calls.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import structlog
from hub_connectors.json_file import read_events
from typer.testing import CliRunner

from hub.app import Hub
from hub.config import load_config
from hub.store import schema

from .conftest import write_config
from .connectors import (
    test_creditsafe as cs,
    test_dnb as dnb,
    test_experian as ex,
    test_qichacha as qcc,
    test_tianyancha as tyc,
)

CUSTOMER = "K1"
TODAY = dt.date.today()
RECENT = TODAY - dt.timedelta(days=20)
FX = '[fx]\nbase = "EUR"\nrates = { GBP = "1.15", USD = "0.92", CNY = "0.13" }\n'
#: Valid 统一社会信用代码 (the check digit computed by python-stdnum), so the identity rules read them as USCCs.
TYC_USCC = "91310115MA1K4XY301"
QCC_USCC = "91440300MA5FXY12K3"


# -- set-up ------------------------------------------------------------------------------------------


def configure(folder: Path, db_url: str, customer: str, currency: str, bureau: str, amount: str = "40000.00") -> Path:
    """A CSV ERP with one customer (``customer`` is its CSV row after the id) owing ``amount`` in
    ``currency`` on an invoice 40 days past due (more than ``[bureaus] exposure_threshold``, 10,000
    EUR), the json-file sink, and the bureau's section."""
    issue, due = TODAY - dt.timedelta(days=70), TODAY - dt.timedelta(days=40)
    (folder / "customers.csv").write_text(
        f"customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n{CUSTOMER},{customer},,,\n",
        encoding="utf-8",
    )
    (folder / "invoices.csv").write_text(
        "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
        f"{CUSTOMER}-1,{CUSTOMER},{issue},{due},{currency},{amount},{amount},\n",
        encoding="utf-8",
    )
    return write_config(folder, db_url, statements=None, extra=bureau + FX)


@pytest.fixture
def hub_cli() -> Iterator[Callable[..., dict[str, Any]]]:
    """``hub --config CONFIG --json ARGS`` in this process, its output parsed."""
    from hub import cli as hubcli

    hubcli.register_core_commands()
    runner = CliRunner()
    saved = structlog.get_config()

    def invoke(config: Path, *args: str, code: int = 0) -> dict[str, Any]:
        result = runner.invoke(hubcli.app, ["--config", str(config), "--json", *args])
        assert result.exit_code == code, (result.exit_code, result.output)
        return dict(json.loads(result.stdout))

    yield invoke
    structlog.configure(**saved)


def rows(config: Path, table: sa.Table) -> list[Any]:
    h = Hub(load_config(config), lock_wait=30)
    try:
        with h.store.connect() as conn:
            return list(conn.execute(sa.select(table).order_by(table.c.id)))
    finally:
        h.close()


def signals(shown: dict[str, Any]) -> dict[str, float]:
    return {s["signal"]: s["severity"] for s in shown["signals"]}


def raised(folder: Path) -> dict[str, str]:
    """Flag code -> reason of every flag raised on the customer that reached the json-file sink."""
    return {
        e["code"]: e["reason"]
        for e in read_events(folder / "out" / "flags.jsonl")
        if e["kind"] == "flag" and e["action"] == "raised" and e["customer_id"] == CUSTOMER
    }


class Paid:
    """Counts the requests to a fake's paid endpoints (search and report calls)."""

    def __init__(self, router: Any, paid: Callable[[httpx.Request], bool]) -> None:
        self.router, self.paid = router, paid

    def __call__(self) -> int:
        return sum(1 for call in self.router.calls if self.paid(call.request))


def first_runs(config: Path, cli: Callable[..., dict[str, Any]], paid: Paid) -> tuple[dict[str, Any], dict[str, Any]]:
    """``hub init``, then a first ``hub run``: no exposure is known before its risk step, so nobody is
    due and no paid call is made. The second run asks the bureau about the customer, who now owes
    more than the threshold. Returns ``hub exposure show`` after the first run and the second run's summary."""
    cli(config, "init")
    cli(config, "run")
    assert paid() == 0
    shown = cli(config, "exposure", "show", CUSTOMER)
    assert "bureau" not in signals(shown) and shown["bureaus"] == []
    return shown, cli(config, "run")


def within_the_ttl_nothing_is_paid_for(config: Path, cli: Callable[..., dict[str, Any]], paid: Paid) -> None:
    before = paid()
    again = cli(config, "run")
    assert again["bureaus"]["paid_calls"] == 0
    assert paid() == before


def the_link(config: Path) -> tuple[str, str, str, str]:
    (link,) = rows(config, schema.bureau_link)
    return (link.customer_id, link.company_id, link.status, link.method)


# -- Creditsafe ----------------------------------------------------------------------------------------


def test_creditsafe_through_hub_run_links_by_registration_number_and_a_monitored_downgrade_raises_bureau_downgrade(
    tmp_path: Path, db_url: str, hub_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CS_PASSWORD", cs.PASSWORD)
    fake = cs.FakeCreditsafe()
    first = cs.report_body(current=cs.rating("A", "88"), previous=cs.rating("A", "86"))
    first["dateOfOrder"] = f"{TODAY - dt.timedelta(days=1)}T09:12:44.000Z"
    fake.reports[cs.CONNECT_ID] = first
    config = configure(
        tmp_path,
        db_url,
        "Widget Works Limited,09565115,GB,GBP",
        "GBP",
        '[connectors.cs]\ntype = "creditsafe"\n'
        f'username = "{cs.USERNAME}"\npassword = {{ env = "CS_PASSWORD" }}\nbase_url = "{cs.BASE}"\n'
        'portfolio_id = "1081"\n',
    )
    paid = Paid(fake.router, lambda r: r.url.path.startswith("/v1/companies"))
    with fake.router:
        before, run = first_runs(config, hub_cli, paid)
        assert run["bureaus"]["paid_calls"] == paid() == 2  # the search by registration number, the report
        assert fake.searches[0]["regNo"] == "09565115"
        assert the_link(config) == (CUSTOMER, cs.CONNECT_ID, "linked", "registration")
        (report,) = rows(config, schema.credit_report)
        assert (report.source, report.customer_external_id, report.bureau_company_id) == ("cs", CUSTOMER, cs.CONNECT_ID)
        assert (report.score, report.band, report.raw) == (88.0, "A", first)
        shown = hub_cli(config, "exposure", "show", CUSTOMER)
        assert signals(shown)["bureau"] == pytest.approx(0.12)
        assert shown["score"] < before["score"]

        within_the_ttl_nothing_is_paid_for(config, hub_cli, paid)
        assert [body["id"] for _, body in fake.portfolio_adds] == [cs.CONNECT_ID]  # registered for monitoring

        # Creditsafe's monitoring notices a rating change: the next run refreshes the customer at once.
        lowered = cs.report_body(current=cs.rating("C", "35", description="High Risk"), previous=cs.rating("A", "88"))
        lowered["dateOfOrder"] = f"{TODAY}T06:30:00.000Z"
        fake.reports[cs.CONNECT_ID] = lowered
        fake.add_event(7001, TODAY.isoformat())
        run = hub_cli(config, "run")
        assert run["bureaus"]["paid_calls"] == 1 and paid() == 3
    assert [r.score for r in rows(config, schema.credit_report)] == [88.0, 35.0]
    reasons = raised(tmp_path)
    assert "BUREAU_DOWNGRADE" in reasons and "88" in reasons["BUREAU_DOWNGRADE"]
    shown = hub_cli(config, "exposure", "show", CUSTOMER)
    assert signals(shown)["bureau"] == 1.0  # 65 points below safe, and 53 points down since the report before
    assert "BUREAU_DOWNGRADE" in {f["code"] for f in shown["flags"]}


# -- D&B Direct+ ---------------------------------------------------------------------------------------


def test_dnb_through_hub_run_links_by_the_ein_and_a_refresh_a_person_asks_for_raises_bureau_downgrade(
    tmp_path: Path, db_url: str, hub_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DNB_SECRET", dnb.SECRET)
    fake = dnb.FakeDnb()
    config = configure(
        tmp_path,
        db_url,
        "Gorman Manufacturing Company Inc.,12-3456789,US,USD",
        "USD",
        f'[connectors.dnb]\ntype = "dnb"\nclient_key = "{dnb.KEY}"\nclient_secret = {{ env = "DNB_SECRET" }}\n'
        f'base_url = "{dnb.BASE}"\n',
    )
    paid = Paid(fake.router, lambda r: r.url.path.startswith(("/v1/match/", "/v1/data/")))
    with fake.router:
        before, run = first_runs(config, hub_cli, paid)
        assert run["bureaus"]["paid_calls"] == paid() == 2
        assert fake.matches[0]["registrationNumber"] == "123456789"
        assert the_link(config) == (CUSTOMER, dnb.DUNS, "linked", "registration")
        (report,) = rows(config, schema.credit_report)
        assert (report.customer_external_id, report.bureau_company_id, report.score) == (CUSTOMER, dnb.DUNS, 84.0)
        assert report.raw == dnb.data_body(dnb.organization())
        assert (report.recommended_limit, report.recommended_limit_currency) == (400000, "USD")
        shown = hub_cli(config, "exposure", "show", CUSTOMER)
        assert signals(shown)["bureau"] == pytest.approx(0.16)
        assert shown["score"] < before["score"]

        within_the_ttl_nothing_is_paid_for(config, hub_cli, paid)

        # A week later the failure score has fallen; a person asks for the report now.
        worse = dnb.organization()
        worse["dnbAssessment"]["failureScore"].update(classScore=4, nationalPercentile=22)
        fake.orgs[dnb.DUNS] = worse
        monkeypatch.setattr(dnb, "transaction", lambda: {"transactionTimestamp": f"{TODAY}T08:00:00.000Z"})
        hub_cli(config, "bureau", "refresh", CUSTOMER)
        hub_cli(config, "run")
        assert paid() == 3
    assert [r.score for r in rows(config, schema.credit_report)] == [84.0, 22.0]
    assert "BUREAU_DOWNGRADE" in raised(tmp_path)


# -- Experian ------------------------------------------------------------------------------------------


def test_experian_through_hub_run_proposes_its_search_result_and_reports_once_a_person_accepts_it(
    tmp_path: Path, db_url: str, hub_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Experian's business search answers a BIN, a name and an address: no id the customer's could be
    compared with (docs/bureaus.md), so the candidate is proposed, never linked by itself."""
    monkeypatch.setenv("EXPERIAN_PASSWORD", ex.PASSWORD)
    fake = ex.FakeExperian()
    config = configure(
        tmp_path,
        db_url,
        "Experian Information Solutions Inc,12-3456789,US,USD",
        "USD",
        '[connectors.experian]\ntype = "experian"\n'
        f'client_id = "{ex.CLIENT_ID}"\nclient_secret = "{ex.CLIENT_SECRET}"\nusername = "{ex.USERNAME}"\n'
        f'password = {{ env = "EXPERIAN_PASSWORD" }}\nsubcode = "{ex.SUBCODE}"\nbase_url = "{ex.BASE}"\n',
    )
    paid = Paid(fake.router, lambda r: r.url.path.startswith("/businessinformation/"))
    with fake.router:
        before, run = first_runs(config, hub_cli, paid)
        assert run["bureaus"]["paid_calls"] == paid() == 1  # the search; nothing is reported before a person decides
        assert fake.searches[0]["taxId"] == "123456789"
        assert the_link(config) == (CUSTOMER, ex.BIN, "proposed", "name")
        assert rows(config, schema.credit_report) == []

        hub_cli(config, "bureau", "accept", CUSTOMER, ex.BIN, "--by", "ana")
        run = hub_cli(config, "run")
        assert run["bureaus"]["paid_calls"] == 1 and paid() == 2
        assert the_link(config) == (CUSTOMER, ex.BIN, "linked", "name")
        (report,) = rows(config, schema.credit_report)
        assert (report.customer_external_id, report.bureau_company_id, report.score) == (CUSTOMER, ex.BIN, 70.0)
        assert report.raw == ex.scores_body()
        shown = hub_cli(config, "exposure", "show", CUSTOMER)
        assert signals(shown)["bureau"] == pytest.approx(0.30)
        assert shown["score"] < before["score"]

        within_the_ttl_nothing_is_paid_for(config, hub_cli, paid)


# -- Tianyancha and Qichacha -----------------------------------------------------------------------------


def test_tianyancha_through_hub_run_links_by_uscc_and_a_dishonest_debtor_listing_raises_legal_event(
    tmp_path: Path, db_url: str, hub_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TYC_TOKEN", tyc.TOKEN)
    fake = tyc.FakeTianyancha()
    fake.answers["ic/baseinfo/normal"] = {**tyc.BASEINFO, "creditCode": TYC_USCC}
    for api in ("jr/dishonest/2.0", "jr/consumptionRestriction/2.0", "mr/abnormal/2.0", "jr/zhixinginfo/2.0"):
        fake.answers[api] = tyc.EMPTY  # 经查无结果: nothing listed
    fake.answers["jr/lawSuit/2.0"] = tyc.EMPTY
    config = configure(
        tmp_path,
        db_url,
        f"上海华东精密机械有限公司,{TYC_USCC},CN,CNY",
        "CNY",
        '[connectors.tyc]\ntype = "tianyancha"\ntoken = { env = "TYC_TOKEN" }\n',
        amount="400000.00",
    )
    paid = Paid(fake.router, lambda r: True)  # every Tianyancha call that answers with a result is charged
    with fake.router:
        before, run = first_runs(config, hub_cli, paid)
        # the search and the report's base info are charged; an empty list (经查无结果) is not
        assert (run["bureaus"]["paid_calls"], paid()) == (2, 7)
        assert fake.apis()[0] == "ic/baseinfo/normal"
        assert fake.calls[0].url.params["keyword"] == TYC_USCC
        assert the_link(config) == (CUSTOMER, str(tyc.COMPANY_ID), "linked", "uscc")
        (report,) = rows(config, schema.credit_report)
        assert (report.customer_external_id, report.bureau, report.score, report.band) == (
            CUSTOMER,
            "tianyancha",
            80.0,
            "A",
        )
        assert report.raw["baseinfo"]["creditCode"] == TYC_USCC and report.raw["dishonest"]["total"] == 0
        shown = hub_cli(config, "exposure", "show", CUSTOMER)
        assert signals(shown)["bureau"] == pytest.approx(0.20)
        assert "legal-events" not in signals(shown)
        assert shown["score"] < before["score"]
        assert "LEGAL_EVENT" not in raised(tmp_path)

        within_the_ttl_nothing_is_paid_for(config, hub_cli, paid)

        item = tyc.DISHONEST["items"][0]
        fake.answers["jr/dishonest/2.0"] = {
            "total": 1,
            "items": [{**item, "regdate": tyc.ms(RECENT.isoformat()), "publishdate": tyc.ms(RECENT.isoformat())}],
        }
        hub_cli(config, "bureau", "refresh", CUSTOMER)
        hub_cli(config, "run")
    # the same day's report, changed: kept beside the earlier one, which the risk run compares it with
    earlier, report = sorted(rows(config, schema.credit_report), key=lambda r: r.id)
    assert earlier.legal_events == [] and earlier.score > report.score
    assert report.legal_events[0]["kind"] == "dishonest_debtor" and report.score == 50.0
    assert report.legal_events[0]["case_number"] == item["casecode"]
    reasons = raised(tmp_path)
    assert f"tianyancha reports a dishonest-debtor listing on {RECENT}" in reasons["LEGAL_EVENT"]
    shown = hub_cli(config, "exposure", "show", CUSTOMER)
    # the score fell from 80 to 50 on the same day: the bureau signal weighs the fall too, and it is a downgrade
    assert signals(shown)["legal-events"] == 1.0 and signals(shown)["bureau"] > 0.50
    assert "BUREAU_DOWNGRADE" in reasons


def test_qichacha_through_hub_run_links_by_uscc_with_signed_calls_and_a_dishonest_debtor_listing_raises_legal_event(
    tmp_path: Path, db_url: str, hub_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QCC_SECRET", qcc.SECRET)
    monkeypatch.setattr(qcc, "NOW", int(time.time()))  # the fake checks each call's Timespan against its clock
    fake = qcc.FakeQichacha()
    fake.answers["ECIV4/GetBasicDetailsByName"] = {**qcc.BASIC, "CreditCode": QCC_USCC}
    for api in qcc.CHECKS:
        fake.answers[api] = qcc.NO_RESULT  # 查询无结果: nothing listed
    config = configure(
        tmp_path,
        db_url,
        f"深圳南山电子科技有限公司,{QCC_USCC},CN,CNY",
        "CNY",
        f'[connectors.qcc]\ntype = "qichacha"\napp_key = "{qcc.APP_KEY}"\nsecret_key = {{ env = "QCC_SECRET" }}\n',
        amount="400000.00",
    )
    paid = Paid(fake.router, lambda r: True)
    with fake.router:
        before, run = first_runs(config, hub_cli, paid)
        assert (run["bureaus"]["paid_calls"], paid()) == (2, 6)  # a check without result (查询无结果) is free
        assert fake.refused == 0 and fake.apis()[0] == "ECIV4/GetBasicDetailsByName"
        assert the_link(config) == (CUSTOMER, QCC_USCC, "linked", "uscc")
        (report,) = rows(config, schema.credit_report)
        assert (report.customer_external_id, report.bureau, report.score) == (CUSTOMER, "qichacha", 80.0)
        assert report.raw["basic"]["CreditCode"] == QCC_USCC
        shown = hub_cli(config, "exposure", "show", CUSTOMER)
        assert signals(shown)["bureau"] == pytest.approx(0.20)
        assert shown["score"] < before["score"]

        within_the_ttl_nothing_is_paid_for(config, hub_cli, paid)

        listing = qcc.SHIXIN["Data"][0]
        fake.answers["ShixinCheck/GetList"] = {
            "VerifyResult": 1,
            "Data": [{**listing, "Liandate": f"{RECENT} 00:00:00", "Publicdate": f"{RECENT} 00:00:00"}],
        }
        hub_cli(config, "bureau", "refresh", CUSTOMER)
        hub_cli(config, "run")
        assert fake.refused == 0
    earlier, report = sorted(rows(config, schema.credit_report), key=lambda r: r.id)  # changed the same day
    assert earlier.legal_events == []
    assert [e["kind"] for e in report.legal_events] == ["dishonest_debtor"]
    reasons = raised(tmp_path)
    assert f"qichacha reports a dishonest-debtor listing on {RECENT}" in reasons["LEGAL_EVENT"]
    shown = hub_cli(config, "exposure", "show", CUSTOMER)
    assert signals(shown)["legal-events"] == 1.0


def test_creditsafe_without_a_portfolio_registers_nothing_and_its_runs_still_succeed(
    tmp_path: Path, db_url: str, hub_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``portfolio_id`` is optional: without it the hub adds no company to monitoring (it has nowhere
    to add them) but still pulls the account's notification events, and no run fails for it."""
    monkeypatch.setenv("CS_PASSWORD", cs.PASSWORD)
    fake = cs.FakeCreditsafe()
    config = configure(
        tmp_path,
        db_url,
        "Widget Works Limited,09565115,GB,GBP",
        "GBP",
        '[connectors.cs]\ntype = "creditsafe"\n'
        f'username = "{cs.USERNAME}"\npassword = {{ env = "CS_PASSWORD" }}\nbase_url = "{cs.BASE}"\n',
    )
    with fake.router:
        first_runs(config, hub_cli, Paid(fake.router, lambda r: r.url.path.startswith("/v1/companies")))
        hub_cli(config, "run")
        hub_cli(config, "run")
    assert fake.portfolio_adds == [] and len(fake.event_queries) == 4
    assert [(c.kind, c.outcome) for c in rows(config, schema.bureau_call)] == [("search", "ok"), ("report", "ok")]
    (link,) = rows(config, schema.bureau_link)
    assert link.monitored is False  # registered once a portfolio is configured
