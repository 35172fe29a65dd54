"""The bureau service: links by the identity rules, refreshes within the TTL and the budget, reports
stored once with their raw payload, monitoring, admission screening, and the flags they raise.

A fake :class:`hub.BureauClient` (counting its calls, able to refuse the login, time out, answer
"Not Rated" or send a malformed report) is plugged in as a connector type, exactly as a vendor
connector is; everything else is the real hub on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from hub_connectors.json_file import read_events
from typer.testing import CliRunner

import hub.app
from hub import BureauAuthError, BureauClient, BureauCompany, BureauEvent, BureauQuery, BureauReport, hookimpl
from hub.app import Hub
from hub.bureau import BureauNotFound, MonitoringEvent
from hub.codes import LegalEventKind
from hub.config import load_config
from hub.connector import Connector, ConnectorConfig, ConnectorContext, ConnectorType
from hub.errors import HubError, SourceError
from hub.store import HEAD_REVISION, Store, schema

from .conftest import write_config

DAY = dt.date(2026, 11, 2)


# -- the fake bureau ----------------------------------------------------------------------------------


def company(
    cid: str, name: str, *, vat: str | None = None, country: str = "DE", duns: str | None = None
) -> BureauCompany:
    return BureauCompany("fakebureau", cid, name, country=country, vat_number=vat, duns=duns)


def report(
    company_id: str,
    score: float | None,
    *,
    band: str | None = None,
    limit: str | None = "100000",
    currency: str | None = "EUR",
    events: Sequence[BureauEvent] = (),
    day: dt.date = DAY,
) -> BureauReport:
    return BureauReport(
        bureau="fakebureau",
        company_id=company_id,
        report_date=day,
        score=score,
        raw_score="Not Rated" if score is None else str(score),
        band=band,
        recommended_limit=None if limit is None else Decimal(limit),
        recommended_limit_currency=currency if limit is not None else None,
        events=tuple(events),
        raw={"companyId": company_id, "creditScore": {"providerValue": score}, "limit": limit},
    )


DISHONEST = BureauEvent(
    LegalEventKind.DISHONEST_DEBTOR,
    dt.date(2026, 10, 20),
    "listed as a dishonest judgment debtor (失信被执行人)",
    court="Beijing No. 1 Intermediate People's Court",
    amount=Decimal("250000.00"),
    currency="CNY",
    case_number="(2026)京01执123号",
)


class FakeBureau(BureauClient):
    """Answers from dicts; counts every call (and every charged one in ``paid_calls``)."""

    name = "fakebureau"

    def __init__(self) -> None:
        self.paid_calls = 0
        self.calls: list[tuple[str, str]] = []
        self.candidates: dict[str, list[BureauCompany]] = {}
        self.reports: dict[str, BureauReport | Exception] = {}
        self.search_error: Exception | None = None
        self.pages: list[list[MonitoringEvent]] = []
        self.cursors: list[str | None] = []
        self.registered: list[str] = []
        self.monitoring = False
        self.delay = 0.0
        self._lock = threading.Lock()

    def search(self, query: BureauQuery) -> Sequence[BureauCompany]:
        with self._lock:
            self.calls.append(("search", query.customer_id))
            self.paid_calls += 1
        if self.search_error is not None:
            raise self.search_error
        return self.candidates.get(query.customer_id, [])

    def report(self, company_id: str) -> BureauReport:
        time.sleep(self.delay)
        with self._lock:
            self.calls.append(("report", company_id))
            self.paid_calls += 1
        answer = self.reports.get(company_id, BureauNotFound(f"fakebureau has no report on {company_id}"))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def register_monitoring(self, company_ids: Any) -> None:
        self.registered.extend(company_ids)

    def monitoring_events(self, cursor: str | None) -> Iterator[tuple[list[MonitoringEvent], str | None]]:
        self.cursors.append(cursor)
        start = int(cursor or 0)
        for i, page in enumerate(self.pages[start:], start + 1):
            yield page, str(i)

    def n(self, kind: str) -> int:
        return sum(1 for k, _ in self.calls if k == kind)


class FakeConfig(ConnectorConfig):
    pass


class FakePlugin:
    """Registers the ``fake-bureau`` connector type: its instances share one fake client."""

    def __init__(self, client: FakeBureau) -> None:
        self.client = client

    @hookimpl
    def hub_register_connectors(self) -> list[ConnectorType]:
        def create(name: str, config: FakeConfig, context: ConnectorContext) -> Connector:
            return Connector(name=name, type="fake-bureau", bureau=self.client)

        return [ConnectorType("fake-bureau", "A fake credit bureau.", FakeConfig, create)]


# -- set-up -------------------------------------------------------------------------------------------

CUSTOMERS = [
    "A,Alpha GmbH,DE136695976,DE,EUR,,,",
    "B,Beta SARL,FR40303265045,FR,EUR,,,",
    "S,Small AG,ATU13585627,AT,EUR,,,",
]
INVOICES = [
    "A1,A,2026-09-01,2026-10-01,EUR,60000.00,60000.00,",
    "B1,B,2026-09-01,2026-10-01,EUR,30000.00,30000.00,",
    "S1,S,2026-09-01,2026-10-01,EUR,500.00,500.00,",
]


def write_books(folder: Path, customers: Sequence[str], invoices: Sequence[str]) -> None:
    (folder / "customers.csv").write_text(
        "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n" + "\n".join(customers) + "\n"
    )
    (folder / "invoices.csv").write_text(
        "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
        + "\n".join(invoices)
        + "\n"
    )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeBureau:
    """The fake bureau, plugged into every Hub built in the test (the CLI's included)."""
    client = FakeBureau()
    real = hub.app.load_plugins

    def with_fake(allow: Any = None, deny: Any = None, extra: Any = ()) -> Any:
        return real(allow, deny, [*extra, ("fake-bureau", FakePlugin(client))])

    monkeypatch.setattr(hub.app, "load_plugins", with_fake)
    return client


def setup(
    folder: Path,
    db_url: str,
    *,
    bureaus: str = "",
    threshold: str = "10000",
    customers: Sequence[str] = CUSTOMERS,
    invoices: Sequence[str] = INVOICES,
) -> Path:
    write_books(folder, customers, invoices)
    return write_config(
        folder,
        db_url,
        statements=None,
        extra='[connectors.cs]\ntype = "fake-bureau"\n'
        f'[risk]\nas_of = "{DAY}"\n'
        f'[bureaus]\nexposure_threshold = "{threshold}"\n' + bureaus,
    )


def open_hub(config: Path) -> Hub:
    return Hub(load_config(config), lock_wait=30)


def prepare(config: Path) -> None:
    """init, sync and a risk run: the exposure the bureau step reads comes from the last risk run."""
    h = open_hub(config)
    try:
        h.init()
        h.sync()
        h.risk()
    finally:
        h.close()


def rows(config: Path, table: sa.Table, *where: Any) -> list[Any]:
    h = open_hub(config)
    try:
        with h.store.connect() as conn:
            return list(conn.execute(sa.select(table).where(*where)))
    finally:
        h.close()


@pytest.fixture
def cli() -> Iterator[Any]:
    from hub import cli as hubcli

    hubcli.register_core_commands()
    runner = CliRunner()
    saved = structlog.get_config()

    def invoke(config: Path, *args: str, code: int = 0) -> Any:
        result = runner.invoke(hubcli.app, ["--config", str(config), *args])
        assert result.exit_code == code, (result.exit_code, result.output)
        return result

    yield invoke
    structlog.configure(**saved)


def known(fake: FakeBureau) -> None:
    """The bureau knows Alpha and Beta by their VAT numbers, and has reports on both."""
    fake.candidates = {
        "A": [company("cs-A", "ALPHA GMBH", vat="DE136695976")],
        "B": [company("cs-B", "Beta S.A.R.L.", vat="FR40303265045", country="FR")],
    }
    fake.reports = {"cs-A": report("cs-A", 82, band="A"), "cs-B": report("cs-B", 64, band="B")}


# -- linking ------------------------------------------------------------------------------------------


def test_the_only_candidate_sharing_an_id_is_linked_and_a_second_run_within_the_ttl_makes_no_call(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    known(fake)
    first = json.loads(cli(config, "--json", "run").stdout)
    # only the customers above the threshold: Small AG (500 EUR) is never asked about
    assert sorted(fake.calls) == [("report", "cs-A"), ("report", "cs-B"), ("search", "A"), ("search", "B")]
    assert first["bureaus"]["paid_calls"] == 4
    links = {(r.customer_id, r.company_id): (r.status, r.method) for r in rows(config, schema.bureau_link)}
    assert links == {("A", "cs-A"): ("linked", "vat"), ("B", "cs-B"): ("linked", "vat")}
    stored = rows(config, schema.credit_report)
    assert {(r.source, r.external_id.rsplit(":", 1)[0], r.bureau, r.score) for r in stored} == {
        ("cs", f"A:{DAY}", "fakebureau", 82.0),  # customer, report date, what the report says
        ("cs", f"B:{DAY}", "fakebureau", 64.0),
    }

    second = json.loads(cli(config, "--json", "run").stdout)
    assert len(fake.calls) == 4 and second["bureaus"]["paid_calls"] == 0
    assert len(rows(config, schema.credit_report)) == 2


def test_candidates_without_a_unique_id_match_are_proposed_and_applied_only_when_a_person_accepts(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    fake.candidates = {
        # two companies of the name, neither with Alpha's VAT number: proposals
        "A": [company("cs-A1", "Alpha GmbH"), company("cs-A2", "Alpha GmbH & Co. KG")],
        # one company by name alone: still only a proposal
        "B": [company("cs-B", "Beta SARL", country="FR")],
    }
    fake.reports = {"cs-A2": report("cs-A2", 70)}
    cli(config, "bureau", "refresh")
    assert fake.n("report") == 0
    proposed = json.loads(cli(config, "--json", "bureau", "links", "--status", "proposed").stdout)["links"]
    assert sorted((p["customer_id"], p["company_id"], p["method"]) for p in proposed) == [
        ("A", "cs-A1", "name"),
        ("A", "cs-A2", "name"),
        ("B", "cs-B", "name"),
    ]
    assert rows(config, schema.credit_report) == []

    # waiting for a person: the next run asks nothing
    cli(config, "bureau", "refresh")
    assert fake.n("search") == 2 and fake.n("report") == 0

    accepted = json.loads(cli(config, "--json", "bureau", "accept", "A", "cs-A2", "--by", "ana").stdout)["accepted"]
    assert accepted["bureau"] == "cs" and accepted["set_aside"] == ["cs-A1"]
    cli(config, "bureau", "reject", "B", "cs-B", "--bureau", "cs", "--by", "ana")
    state = {(r.customer_id, r.company_id): (r.status, r.decided_by) for r in rows(config, schema.bureau_link)}
    assert state == {
        ("A", "cs-A1"): ("rejected", "ana"),
        ("A", "cs-A2"): ("linked", "ana"),
        ("B", "cs-B"): ("rejected", "ana"),
    }
    cli(config, "bureau", "refresh", "A")
    assert fake.calls[-1] == ("report", "cs-A2")
    assert [r.bureau_company_id for r in rows(config, schema.credit_report)] == ["cs-A2"]
    audit = rows(config, schema.audit_log, schema.audit_log.c.action.like("bureau_link.%"))
    assert {(a.actor, a.action) for a in audit} == {("ana", "bureau_link.accept"), ("ana", "bureau_link.reject")}


def test_a_rejected_company_is_never_proposed_again(tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    fake.candidates = {"A": [company("cs-X", "Alpha Holding", vat="DE136695976")]}
    cli(config, "bureau", "search", "A")
    cli(config, "bureau", "reject", "A", "cs-X", "--by", "ana")
    found = json.loads(cli(config, "--json", "bureau", "search", "A").stdout)
    assert found["candidates"] == []
    assert [(r.company_id, r.status) for r in rows(config, schema.bureau_link)] == [("cs-X", "rejected")]

    # a search while another company is linked proposes the one sharing an id instead of linking a second
    cli(config, "bureau", "accept", "A", "cs-A", "--bureau", "cs", "--by", "ana")
    fake.candidates = {"A": [company("cs-Y", "Alpha GmbH", vat="DE136695976")]}
    cli(config, "bureau", "search", "A")
    state = {r.company_id: r.status for r in rows(config, schema.bureau_link)}
    assert state == {"cs-X": "rejected", "cs-A": "linked", "cs-Y": "proposed"}


def test_the_query_carries_the_customers_ids_classified_by_the_identity_rules(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url, customers=["C,China Co Ltd,91110000802100433B,CN,CNY,,,"], invoices=[])
    prepare(config)
    seen: list[BureauQuery] = []
    original = fake.search

    def spy(query: BureauQuery) -> Sequence[BureauCompany]:
        seen.append(query)
        return original(query)

    fake.search = spy  # type: ignore[method-assign]
    fake.candidates = {
        "C": [BureauCompany("fakebureau", "qcc-1", "中国有限公司", country="CN", uscc="91110000802100433B")]
    }
    cli(config, "bureau", "search", "C")
    assert (seen[0].uscc, seen[0].vat_number, seen[0].country, seen[0].name) == (
        "91110000802100433B",
        None,
        "CN",
        "China Co Ltd",
    )
    assert [(r.company_id, r.status, r.method) for r in rows(config, schema.bureau_link)] == [
        ("qcc-1", "linked", "uscc")
    ]


# -- cost control ---------------------------------------------------------------------------------------


def test_no_customer_is_asked_about_by_default_unless_due_and_all_needs_its_flag(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url, threshold="1000000")
    prepare(config)
    known(fake)
    cli(config, "bureau", "refresh")
    cli(config, "run")
    assert fake.calls == []
    cli(config, "bureau", "refresh", "--all")
    assert fake.n("search") == 3 and fake.n("report") == 2  # Small AG has no company at the bureau
    cli(config, "bureau", "refresh", "--all")
    assert fake.n("search") == 3 and fake.n("report") == 2  # within the TTL, and a failed search is not repeated
    cli(config, "bureau", "refresh", "A", "--all", code=1)


def test_the_monthly_budget_stops_calls_and_the_run_exits_non_zero_naming_who_was_left_out(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url, bureaus="monthly_budget = { cs = 3 }\n")
    prepare(config)
    known(fake)
    result = cli(config, "bureau", "refresh", code=1)
    assert len(fake.calls) == 3
    line = result.output.strip().splitlines()[-1]
    assert "monthly budget of 3 paid calls reached" in line and "1 customers not refreshed (B)" in line
    calls = json.loads(cli(config, "--json", "bureau", "calls").stdout)["calls"]
    assert [(c["bureau"], c["paid"], c["budget"], c["remaining"]) for c in calls] == [("cs", 3, 3, 0)]
    assert calls[0]["by_kind"] == {"search": 2, "report": 1}

    # the next run asks nothing more this month, and says so again
    cli(config, "run", code=1)
    assert len(fake.calls) == 3


def test_a_refused_login_stops_the_bureau_at_its_first_call(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    fake.search_error = BureauAuthError("fakebureau refused the username and password (HTTP 401)")
    result = cli(config, "bureau", "refresh", code=1)
    assert len(fake.calls) == 1
    assert "refused the credentials" in result.output and "customers not refreshed" in result.output
    assert [(c.kind, c.outcome) for c in rows(config, schema.bureau_call)] == [("search", "auth")]


def test_a_timeout_is_recorded_stored_nowhere_and_retried_on_the_next_run(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    known(fake)
    fake.reports["cs-A"] = SourceError("fakebureau: the report on cs-A timed out after 30 s")
    result = cli(config, "bureau", "refresh", code=1)
    assert "timed out" in result.output
    assert [r.customer_external_id for r in rows(config, schema.credit_report)] == ["B"]
    fake.reports["cs-A"] = report("cs-A", 82)
    cli(config, "bureau", "refresh")
    assert sorted(r.customer_external_id for r in rows(config, schema.credit_report)) == ["A", "B"]
    assert fake.n("search") == 2  # the link was kept: only the report was asked again


def test_a_not_rated_company_is_stored_without_a_score(tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    known(fake)
    fake.reports["cs-A"] = report("cs-A", None, limit=None)
    cli(config, "bureau", "refresh")
    a = next(r for r in rows(config, schema.credit_report) if r.customer_external_id == "A")
    assert (a.score, a.raw_score, a.recommended_limit) == (None, "Not Rated", None)


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        ({"score": 140.0}, "score"),
        ({"recommended_limit_currency": "EURO"}, "currency"),
        ({"report_date": "yesterday"}, "report_date"),
    ],
)
def test_a_malformed_report_is_reported_clearly_and_stored_nowhere(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any, broken: dict[str, Any], problem: str
) -> None:
    from dataclasses import replace

    config = setup(tmp_path, db_url)
    prepare(config)
    known(fake)
    fake.reports["cs-A"] = replace(report("cs-A", 82), **broken)
    result = cli(config, "bureau", "refresh", code=1)
    assert "the report on A (company cs-A) is malformed and was not stored" in result.output
    assert problem in result.output
    assert [r.customer_external_id for r in rows(config, schema.credit_report)] == ["B"]
    outcomes = {(c.kind, c.customer_id): c.outcome for c in rows(config, schema.bureau_call)}
    assert outcomes[("report", "A")] == "malformed"


# -- storing reports ------------------------------------------------------------------------------------


def test_a_report_read_again_is_stored_once_with_its_raw_payload_and_legal_events(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    known(fake)
    fake.reports["cs-A"] = report("cs-A", 35, band="D", events=[DISHONEST])
    cli(config, "bureau", "refresh", "A")
    cli(config, "bureau", "refresh", "A")
    assert fake.n("report") == 2
    (stored,) = rows(config, schema.credit_report)
    assert stored.raw == {"companyId": "cs-A", "creditScore": {"providerValue": 35}, "limit": "100000"}
    assert stored.legal_events == [
        {
            "kind": "dishonest_debtor",
            "date": "2026-10-20",
            "description": "listed as a dishonest judgment debtor (失信被执行人)",
            "court": "Beijing No. 1 Intermediate People's Court",
            "amount": "250000.00",
            "currency": "CNY",
            "case_number": "(2026)京01执123号",
        }
    ]
    assert (stored.recommended_limit, stored.recommended_limit_currency) == (Decimal("100000.00"), "EUR")


def test_two_refreshes_at_once_neither_call_nor_store_twice(tmp_path: Path, db_url: str, fake: FakeBureau) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    known(fake)
    fake.delay = 0.3
    hubs = [open_hub(config), open_hub(config)]
    errors: list[BaseException] = []

    def refresh(h: Hub) -> None:
        try:
            h.bureaus.refresh()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=refresh, args=(h,)) for h in hubs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for h in hubs:
        h.close()
    assert errors == []
    assert sorted(fake.calls) == [("report", "cs-A"), ("report", "cs-B"), ("search", "A"), ("search", "B")]
    assert len(rows(config, schema.credit_report)) == 2
    calls = rows(config, schema.bureau_call)
    assert sorted(c.kind for c in calls if c.paid) == ["report", "report", "search", "search"]
    assert [c.kind for c in calls if not c.paid] == ["monitoring"]  # the later run registered the links


# -- monitoring -----------------------------------------------------------------------------------------


def test_monitoring_registers_linked_companies_pulls_events_by_page_and_refreshes_their_customer(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    known(fake)
    cli(config, "bureau", "refresh")
    assert fake.n("report") == 2
    cli(config, "bureau", "refresh")  # registers the two linked companies; no event yet
    assert sorted(fake.registered) == ["cs-A", "cs-B"]
    assert fake.n("report") == 2

    fake.pages = [
        [MonitoringEvent("fakebureau", "cs-B", "ev-1", DAY, "rating_change", "rating lowered from B to D")],
        [MonitoringEvent("fakebureau", "cs-X", "ev-2", DAY, "address_change", "a company we do not know")],
    ]
    fake.reports["cs-B"] = report("cs-B", 30, band="D", day=DAY + dt.timedelta(days=1))
    cli(config, "bureau", "refresh")
    assert fake.calls[-1] == ("report", "cs-B") and fake.n("report") == 3  # within the TTL, but an event
    events = {e.event_id: (e.customer_id, e.handled_at is not None) for e in rows(config, schema.bureau_event)}
    assert events == {"ev-1": ("B", True), "ev-2": (None, False)}
    (state,) = rows(config, schema.bureau_state, schema.bureau_state.c.bureau == "cs")
    assert state.cursor == "2"

    cli(config, "bureau", "refresh")
    assert fake.cursors[-1] == "2" and fake.n("report") == 3


# -- admission screening and the flags the bureaus raise ------------------------------------------------


def test_a_new_customer_is_screened_once_and_its_terms_reach_the_sinks(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url, threshold="1000000")  # only the screening asks the bureau here
    prepare(config)
    cli(config, "run")  # screening starts: the customers known now are not screened
    assert fake.calls == []
    write_books(
        tmp_path,
        [*CUSTOMERS, "N,Neu GmbH,GB980780684,GB,EUR,,,", "P,Poor Ltd,BE0403019261,BE,EUR,,,"],
        INVOICES,
    )
    fake.candidates = {
        "N": [company("cs-N", "NEU GMBH", vat="GB980780684", country="GB")],
        "P": [company("cs-P", "POOR LTD", vat="BE0403019261", country="BE")],
    }
    fake.reports = {
        "cs-N": report("cs-N", 66, band="B", limit="50000"),  # band B: 75% of 50,000 rounded down to 1,000s, 45 days
        "cs-P": report("cs-P", 12, band="E", events=[DISHONEST]),
    }
    cli(config, "run")
    assert sorted(fake.calls) == [("report", "cs-N"), ("report", "cs-P"), ("search", "N"), ("search", "P")]
    screened = {
        s["customer_id"]: s for s in json.loads(cli(config, "--json", "bureau", "screenings").stdout)["screenings"]
    }
    assert (screened["N"]["band"], screened["N"]["recommended_limit"], screened["N"]["terms_days"]) == (
        "B",
        "37000.00",
        45,
    )
    assert screened["N"]["prepayment"] is False
    assert (screened["P"]["band"], screened["P"]["prepayment"], screened["P"]["recommended_limit"]) == (
        "E",
        True,
        "0.00",
    )

    sent = list(read_events(tmp_path / "out" / "flags.jsonl"))
    limits = {e["customer_id"]: e for e in sent if e["kind"] == "credit_limit"}
    assert (limits["N"]["amount"], limits["N"]["currency"], limits["N"]["approved_by"]) == (
        "37000.00",
        "EUR",
        "admission-screening",
    )
    assert "payment within 45 days" in limits["N"]["reason"]
    assert limits["P"]["amount"] == "0.00"
    flags = {(e["customer_id"], e["code"]) for e in sent if e["kind"] == "flag" and e["action"] == "raised"}
    assert ("P", "PREPAYMENT_REQUIRED") in flags and ("P", "LEGAL_EVENT") in flags
    assert ("N", "PREPAYMENT_REQUIRED") not in flags

    cli(config, "run")  # screened once
    assert len(fake.calls) == 4


def test_a_new_customer_the_bureau_does_not_know_is_screened_as_unrated(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url, bureaus="[bureaus.admission]\nscreen_existing = true\n")
    prepare(config)
    known(fake)
    cli(config, "bureau", "refresh")
    screened = {
        s["customer_id"]: s for s in json.loads(cli(config, "--json", "bureau", "screenings").stdout)["screenings"]
    }
    assert screened["S"]["status"] == "screened" and screened["S"]["prepayment"] is True
    assert "fakebureau" not in screened["S"]["reasons"][0] and "no company" in screened["S"]["reasons"][0]
    assert screened["A"]["band"] == "A" and screened["A"]["recommended_limit"] == "100000.00"


def test_a_downgrade_and_a_dishonest_debtor_listing_raise_their_flags_on_the_next_run_and_reach_the_sink(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url, bureaus="ttl_days = { cs = 0 }\n")  # every run refreshes (TTL 0)
    prepare(config)
    known(fake)
    cli(config, "run")
    sent = list(read_events(tmp_path / "out" / "flags.jsonl"))
    assert not {e["code"] for e in sent if e["kind"] == "flag"} & {"BUREAU_DOWNGRADE", "LEGAL_EVENT"}

    fake.reports["cs-A"] = report("cs-A", 41, band="C", events=[DISHONEST], day=DAY + dt.timedelta(days=1))
    cli(config, "run")
    sent = list(read_events(tmp_path / "out" / "flags.jsonl"))
    raised = {
        (e["customer_id"], e["code"]): e["reason"] for e in sent if e["kind"] == "flag" and e["action"] == "raised"
    }
    assert "lowers" in raised[("A", "BUREAU_DOWNGRADE")]
    assert "dishonest" in raised[("A", "LEGAL_EVENT")]
    assert ("B", "BUREAU_DOWNGRADE") not in raised
    exposure = json.loads(cli(config, "--json", "exposure", "show", "A").stdout)
    assert {s["signal"] for s in exposure["signals"]} >= {"bureau", "legal-events"}


def test_a_report_lowered_on_the_same_day_is_kept_beside_the_earlier_one_and_raises_a_downgrade(
    tmp_path: Path, db_url: str, fake: FakeBureau, cli: Any
) -> None:
    config = setup(tmp_path, db_url, bureaus="ttl_days = { cs = 0 }\n")
    prepare(config)
    known(fake)
    cli(config, "run")
    fake.reports["cs-A"] = report("cs-A", 41, band="C")  # the same report date as the first
    cli(config, "run")
    sent = list(read_events(tmp_path / "out" / "flags.jsonl"))
    raised = {(e["customer_id"], e["code"]) for e in sent if e["kind"] == "flag" and e["action"] == "raised"}
    assert ("A", "BUREAU_DOWNGRADE") in raised


# -- the store ------------------------------------------------------------------------------------------


def test_the_migration_upgrades_a_store_that_holds_credit_reports(db_url: str) -> None:
    from alembic import command

    store = Store(db_url)
    command.upgrade(store._alembic_config(), "0005")
    now = dt.datetime.now(dt.UTC)
    with store.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO credit_report (source, external_id, record_hash, synced_at, customer_external_id, "
                "bureau, bureau_company_id, score, legal_events, report_date) VALUES "
                "('file', 'A:2026-10-01', 1, :now, 'A', 'creditsafe', 'cs-A', 71.0, '[]', '2026-10-01')"
            ),
            {"now": now},
        )
    assert store.migrate() == HEAD_REVISION
    store.check_ready()
    with store.connect() as conn:
        (row,) = conn.execute(sa.select(schema.credit_report)).all()
        assert (row.external_id, row.score, row.raw, row.limit_note) == ("A:2026-10-01", 71.0, None, None)
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.bureau_link)).scalar_one() == 0
    store.dispose()


def test_accepting_names_the_bureau_when_it_cannot_be_told(tmp_path: Path, db_url: str, fake: FakeBureau) -> None:
    config = setup(tmp_path, db_url)
    prepare(config)
    h = open_hub(config)
    try:
        with pytest.raises(HubError, match="name the bureau with --bureau: no bureau proposed it"):
            h.bureaus.accept("A", "cs-A", actor="ana")
        with pytest.raises(HubError, match="no bureau connector named 'nope'"):
            h.bureaus.accept("A", "cs-A", bureau="nope", actor="ana")
        with pytest.raises(HubError, match="no customer with canonical id 'Z'"):
            h.bureaus.accept("Z", "cs-A", bureau="cs", actor="ana")
        done = h.bureaus.accept("A", "cs-A", bureau="cs", actor="ana")
        assert (done["previous"], done["set_aside"]) == (None, [])
    finally:
        h.close()
