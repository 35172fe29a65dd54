"""The ``bottlecrm`` connector against a real BottleCRM (django-crm 1.35.0) server.

One server for the session (see ``bottlecrm_server.py``); each test works in its own organisation
(its own personal access token), so the tests do not see each other's accounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hub_connectors.bottlecrm import (
    FLAG_SEVERITY,
    BottleCrmApi,
    BottleCrmConfig,
    BottleCrmSink,
    BottleCrmSource,
    _create,
    build,
    parse_note,
)

from hub.app import Hub
from hub.config import load_config
from hub.connector import Connector, ConnectorContext, StreamSpec
from hub.errors import SinkError, SourceError
from hub.mapping import load_mapping
from hub.model import BandChange, CollectionAction, CreditLimitChange, Customer, FlagChange, OutboxEvent
from hub.store import schema
from tests.conftest import run_hub
from tests.connectors.bottlecrm_server import BottleCrmServer, BottleCrmUnavailable, CrmClient
from tests.connectors.contract import ConnectorContract, FaultInjector, read_all as contract_read_all

AREAS = ["check", "read", "incremental", "sink", "e2e", "down", "contract"]
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="session")
def bottlecrm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BottleCrmServer]:
    try:
        server = BottleCrmServer(tmp_path_factory.mktemp("bottlecrm"), AREAS)
    except BottleCrmUnavailable as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def crm_factory(bottlecrm: BottleCrmServer) -> Iterator[Any]:
    clients: list[CrmClient] = []

    def make(area: str) -> CrmClient:
        clients.append(bottlecrm.client(area))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


def connector(server: BottleCrmServer, area: str, name: str = "crm", **extra: Any) -> Any:
    config = BottleCrmConfig(type="bottlecrm", url=server.url, token=server.tokens[area], retries=2, **extra)
    return _create(name, config, ConnectorContext(base_dir=Path.cwd()))


def read_all(source: BottleCrmSource, stream: str, cursor: Any = None) -> tuple[list[dict[str, Any]], list[Any]]:
    spec = next(s for s in source.streams() if s.name == stream)
    records: list[dict[str, Any]] = []
    cursors: list[Any] = []
    for page in source.read(spec, cursor):
        records.extend(page.records)
        cursors.append(page.cursor)
    return records, cursors


def mapped(mapping: str, record: dict[str, Any], source: str = "crm") -> Any:
    m = load_mapping(mapping)
    model = Customer if m.record_type == "customer" else CollectionAction
    return model.model_validate({**m.apply(record), "source": source})


# -- the notes grammar (no server) ---------------------------------------------------------------


def test_structured_note_gives_channel_promise_outcome_and_invoices() -> None:
    facts = parse_note(
        "#visit met the CFO\nPTP 2026-12-05 5000.00 eur\nOutcome: will pay in two parts\nInvoices: A-1, A-2"
    )
    assert facts.marked and facts.channel == "visit"
    assert (facts.promise_date, facts.promise_amount, facts.promise_currency) == ("2026-12-05", "5000.00", "EUR")
    assert facts.outcome == "will pay in two parts" and facts.invoices == ["A-1", "A-2"]
    assert not parse_note("Lunch with the buyer about the new range").marked
    assert parse_note("#lawyer-letter sent").channel == "lawyer_letter"
    assert parse_note("PTP 2026-13-40").promise_date is None


# -- check -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_check_passes_with_the_token_and_a_bad_token_fails_clearly(bottlecrm: BottleCrmServer) -> None:
    good = connector(bottlecrm, "check")
    good.source.check()
    good.sink.check()
    good.close()
    bad = _create(
        "crm",
        BottleCrmConfig(type="bottlecrm", url=bottlecrm.url, token="bcrm_pat_not-a-real-token", retries=1),
        ConnectorContext(base_dir=Path.cwd()),
    )
    with pytest.raises(SourceError, match=r"refused the token \(HTTP 40[13].*\[connectors\.crm\]"):
        bad.source.check()
    with pytest.raises(SinkError, match="refused the token"):
        bad.sink.check()
    bad.close()


# -- full read ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_full_read_maps_every_account_and_every_marked_collection_contact(
    bottlecrm: BottleCrmServer, crm_factory: Any
) -> None:
    crm = crm_factory("read")
    crm.create_field("tax_id")
    vip = crm.create_tag("VIP")
    ids = {
        name: crm.create_account(name, country=country, currency=ccy, custom_fields={"tax_id": tax} if tax else {})
        for name, country, ccy, tax in [
            ("Acme GmbH", "DE", "EUR", "DE811907980"),
            ("Globex SARL", "FR", "EUR", None),
            ("Initech Ltd", "GB", "GBP", None),
            ("Umbrella Inc.", "US", "USD", None),
            ("Hooli B.V.", "NL", "EUR", None),
        ]
    }
    crm.update_account(ids["Acme GmbH"], tags=[vip], is_active=True)
    crm.update_account(ids["Hooli B.V."], is_active=False)  # closed accounts are customers too
    acme = ids["Acme GmbH"]
    call = crm.log(
        acme, "call", "Payment reminder #collection", "AP promised.\nPTP 2026-12-05 5000.00 EUR", outcome="connected"
    )
    visit = crm.log(acme, "meeting", "Visit", "#collection met the CFO\nOutcome: disputes invoice A-7\nInvoices: A-7")
    crm.log(acme, "call", "Demo of the new range", "sales call, nothing about money")
    note = crm.comment(acme, "#letter reminder letter sent\nInvoices: A-7; A-8")
    crm.comment(acme, "Met them at the trade fair")

    conn = connector(bottlecrm, "read", page_size=2)
    customers, cursors = read_all(conn.source, "customers")
    # Each page holds up to page_size active and page_size closed accounts (4 active, 1 closed).
    assert cursors == [{"offset": 2, "complete": False}, {"offset": 4, "complete": True}]
    assert sorted(c["id"] for c in customers) == sorted(ids.values())
    by_name = {c["name"]: mapped("bottlecrm-customers", c) for c in customers}
    assert by_name["Acme GmbH"].tax_ids[0].value == "DE811907980"
    assert by_name["Acme GmbH"].country == "DE" and by_name["Acme GmbH"].currency == "EUR"
    assert by_name["Acme GmbH"].links == {"crm": acme}
    assert next(c for c in customers if c["id"] == acme)["tag_names"] == ["VIP"]
    assert by_name["Hooli B.V."].external_id == ids["Hooli B.V."]

    actions, _ = read_all(conn.source, "collections")
    by_id = {a["id"]: mapped("bottlecrm-collections", a) for a in actions}
    assert set(by_id) == {f"interaction:{call}", f"interaction:{visit}", f"comment:{note}"}
    phoned = by_id[f"interaction:{call}"]
    assert phoned.channel == "phone" and phoned.customer_external_id == acme and phoned.outcome == "Connected"
    assert (phoned.promise_date, phoned.promise_amount, phoned.promise_currency) == (
        dt.date(2026, 12, 5),
        Decimal("5000.00"),
        "EUR",
    )
    assert phoned.author == "Hub Tester" and abs(phoned.at - NOW) < dt.timedelta(hours=1)
    visited = by_id[f"interaction:{visit}"]
    assert (
        visited.channel == "visit" and visited.outcome == "disputes invoice A-7" and visited.invoice_numbers == ["A-7"]
    )
    letter = by_id[f"comment:{note}"]
    assert (
        letter.channel == "letter" and letter.invoice_numbers == ["A-7", "A-8"] and letter.author == "hub@example.test"
    )

    everything, _ = read_all(connector(bottlecrm, "read", collect="all").source, "collections")
    assert len(everything) == 4  # the sales call too; the unmarked note still not
    conn.close()


# -- incremental ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sync_stores_only_what_changed_and_resumes_an_interrupted_pass(
    bottlecrm: BottleCrmServer, crm_factory: Any, tmp_path: Path
) -> None:
    crm = crm_factory("incremental")
    first = [crm.create_account(f"Customer {i}", country="DE") for i in range(5)]
    crm.log(first[0], "call", "#collection", "PTP 2026-11-30 100.00 EUR")
    config = tmp_path / "hub.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n'
        f'[connectors.crm]\ntype = "bottlecrm"\nurl = "{bottlecrm.url}"\ntoken = "{bottlecrm.tokens["incremental"]}"\n'
        "page_size = 2\n",
        encoding="utf-8",
    )
    hub = Hub(load_config(config))
    hub.init()

    def counts() -> dict[str, tuple[int, int, int]]:
        return {s.stream: (s.inserted, s.updated, s.unchanged) for s in hub.sync()}

    assert counts() == {"customers": (5, 0, 0), "collections": (1, 0, 0)}
    assert counts() == {"customers": (0, 0, 5), "collections": (0, 0, 1)}
    crm.update_account(first[1], country="FR")
    crm.create_account("Customer new", country="IT")
    crm.comment(first[2], "#visit on site, PTP 2026-12-01")
    assert counts() == {"customers": (1, 1, 4), "collections": (1, 0, 1)}
    with hub.store.connect() as conn:
        row = conn.execute(sa.select(schema.customer.c.country).where(schema.customer.c.external_id == first[1])).one()
    assert row.country == "FR"

    # A pass cut short after two accounts resumes with the third, not from the start.
    source = hub.connector("crm").source
    assert isinstance(source, BottleCrmSource)
    spec = StreamSpec("customers", "customer", "bottlecrm-customers", "merge")
    all_ids = [r["id"] for p in source.read(spec, None) for r in p.records]
    resumed = [r["id"] for p in source.read(spec, {"offset": 2, "complete": False}) for r in p.records]
    assert resumed == all_ids[2:]
    hub.close()


# -- sink -------------------------------------------------------------------------------------------


def _flag(customer: str, code: str, action: str, version: int, links: dict[str, str]) -> FlagChange:
    return FlagChange(
        event_id=f"{customer}:{code}:v{version}",
        customer_id=customer,
        code=code,
        action=action,  # type: ignore[arg-type]
        version=version,
        reason=f"{code} {action}",
        at=NOW,
        links=links,
    )


def _band(customer: str, band: str, previous: str | None, links: dict[str, str]) -> BandChange:
    return BandChange(
        event_id=f"{customer}:band:{band}",
        customer_id=customer,
        band=band,
        previous=previous,
        score=40.0,
        reason="score",
        at=NOW,
        links=links,
    )


@pytest.mark.slow
def test_sink_writes_band_and_flag_tags_and_the_risk_flag_dropdown_idempotently(
    bottlecrm: BottleCrmServer, crm_factory: Any
) -> None:
    crm = crm_factory("sink")
    account = crm.create_account("Vandelay Industries", country="US")
    crm.update_account(account, tags=[crm.create_tag("VIP")])
    assert not [f for f in crm.fields() if f["key"] == "risk_flag"]
    sink = connector(bottlecrm, "sink").sink
    assert isinstance(sink, BottleCrmSink)
    links = {"crm": account, "erp": "C9"}
    events = [
        _band("C9", "D", None, links),
        _flag("C9", "OVER_LIMIT", "raised", 1, links),
        _flag("C9", "CREDIT_HOLD", "raised", 1, links),
        CreditLimitChange(
            event_id="C9:limit:1",
            customer_id="C9",
            amount=Decimal("1000"),
            currency="EUR",
            approved_by="cfo",
            reason="r",
            at=NOW,
            links=links,
        ),
    ]
    results = sink.deliver(events)
    assert [(r.event_id, r.ok) for r in results] == [(e.event_id, True) for e in events]
    assert crm.tag_names(account) == {"VIP", "Risk: D", "Flag: OVER_LIMIT", "Flag: CREDIT_HOLD"}
    assert crm.account(account)["custom_fields"] == {"risk_flag": "CREDIT_HOLD"}
    (definition,) = [f for f in crm.fields() if f["key"] == "risk_flag"]
    assert definition["field_type"] == "dropdown" and "OVER_LIMIT" in {o["value"] for o in definition["options"]}

    # Delivered again (a crash before the outbox recorded the results): the same state, nothing doubled.
    assert all(r.ok for r in connector(bottlecrm, "sink").sink.deliver(events))
    assert crm.tag_names(account) == {"VIP", "Risk: D", "Flag: OVER_LIMIT", "Flag: CREDIT_HOLD"}

    sink.deliver([_band("C9", "B", "D", links), _flag("C9", "CREDIT_HOLD", "cleared", 2, links)])
    assert crm.tag_names(account) == {"VIP", "Risk: B", "Flag: OVER_LIMIT"}
    assert crm.account(account)["custom_fields"] == {"risk_flag": "OVER_LIMIT"}
    sink.deliver([_flag("C9", "OVER_LIMIT", "cleared", 2, links), _flag("C9", "NEW_RULE", "raised", 1, links)])
    assert crm.account(account)["custom_fields"] == {"risk_flag": "NEW_RULE"}  # a code the field did not offer yet
    sink.deliver([_flag("C9", "NEW_RULE", "cleared", 2, links)])
    assert crm.tag_names(account) == {"VIP", "Risk: B"}
    assert crm.account(account)["custom_fields"] == {}

    unknown = sink.deliver([_flag("C404", "OVER_LIMIT", "raised", 1, {"erp": "C404"})])
    assert not unknown[0].ok and unknown[0].not_linked and "no BottleCRM account" in (unknown[0].error or "")
    gone = sink.deliver([_flag("C405", "OVER_LIMIT", "raised", 1, {"crm": "00000000-0000-4000-8000-000000000000"})])
    assert not gone[0].ok and gone[0].not_linked and "404" in (gone[0].error or "")


# -- end to end -------------------------------------------------------------------------------------


def _erp_files(folder: Path, customers: list[tuple[str, str, str]], today: dt.date) -> None:
    """customers: (id, name, credit limit); C1 owes 5,000 EUR 120 days overdue, the others 100 EUR not due."""
    (folder / "customers.csv").write_text(
        "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n"
        + "".join(f"{cid},{name},,DE,EUR,{limit},,\n" for cid, name, limit in customers),
        encoding="utf-8",
    )
    lines = ["invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number"]
    for cid, _, _ in customers:
        if cid == "C1":
            issue, due, amount = today - dt.timedelta(days=150), today - dt.timedelta(days=120), "5000.00"
        else:
            issue, due, amount = today - dt.timedelta(days=5), today + dt.timedelta(days=25), "100.00"
        lines.append(f"INV-{cid},{cid},{issue},{due},EUR,{amount},{amount},")
    (folder / "invoices.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _hub_config(folder: Path, server: BottleCrmServer, area: str, streams: str) -> None:
    (folder / "hub.toml").write_text(
        f"""
[database]
url = "sqlite:///hub.db"

[identity]
master = "erp"

[outbox]
backoff_seconds = 0

[connectors.erp]
type = "csv"
customers = "customers.csv"
invoices = "invoices.csv"

[connectors.crm]
type = "bottlecrm"
url = "{server.url}"
token = {{ env = "CRM_TOKEN" }}
streams = {streams}
external_id_field = "erp_id"
external_id_connector = "erp"
retries = 2
""",
        encoding="utf-8",
    )


def _store(folder: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{folder / 'hub.db'}")


@pytest.mark.slow
def test_hub_run_puts_the_erp_risk_onto_crm_accounts_and_crm_notes_into_the_ledger(
    bottlecrm: BottleCrmServer, crm_factory: Any, tmp_path: Path
) -> None:
    crm = crm_factory("e2e")
    crm.create_field("erp_id")
    acme = crm.create_account("Acme GmbH", country="DE", custom_fields={"erp_id": "C1"})
    globex = crm.create_account("Globex GmbH", country="DE", custom_fields={"erp_id": "C2"})
    call = crm.log(acme, "call", "Overdue INV-C1 #collection", "PTP 2099-01-15 2500.00 EUR", outcome="connected")
    _erp_files(tmp_path, [("C1", "Acme GmbH", "1000.00"), ("C2", "Globex GmbH", "50000.00")], dt.date.today())
    _hub_config(tmp_path, bottlecrm, "e2e", '["collections"]')
    env = {"CRM_TOKEN": bottlecrm.tokens["e2e"]}
    run_hub("init", cwd=tmp_path, env=env)
    out = run_hub("run", cwd=tmp_path, env=env)
    assert bottlecrm.tokens["e2e"] not in out.stdout + out.stderr

    with _store(tmp_path).connect() as conn:
        risk = {
            r.customer_id: r for r in conn.execute(sa.select(schema.exposure.c.customer_id, schema.exposure.c.band))
        }
        flags = {
            (r.customer_id, r.code)
            for r in conn.execute(sa.select(schema.risk_flag).where(schema.risk_flag.c.active.is_(True)))
        }
        ledger = conn.execute(
            sa.select(schema.collection_action).where(schema.collection_action.c.source == "crm")
        ).all()
        outbox = conn.execute(sa.select(schema.outbox.c.status).where(schema.outbox.c.sink == "crm")).all()
    assert ("C1", "OVER_LIMIT") in flags and ("C1", "OVERDUE_90") in flags
    assert not {code for cid, code in flags if cid == "C2"}
    assert outbox and {r.status for r in outbox} == {"delivered"}

    acme_tags = crm.tag_names(acme)
    assert f"Risk: {risk['C1'].band}" in acme_tags
    assert {t for t in acme_tags if t.startswith("Flag: ")} == {f"Flag: {code}" for cid, code in flags if cid == "C1"}
    worst = min((code for cid, code in flags if cid == "C1"), key=FLAG_SEVERITY.index)
    assert crm.account(acme)["custom_fields"] == {"erp_id": "C1", "risk_flag": worst}
    assert crm.tag_names(globex) == {f"Risk: {risk['C2'].band}"}
    assert crm.account(globex)["custom_fields"] == {"erp_id": "C2"}

    (action,) = ledger
    assert action.external_id == f"interaction:{call}" and action.customer_external_id == "C1"
    assert action.channel == "phone" and action.promise_date == dt.date(2099, 1, 15)
    assert action.promise_amount == Decimal("2500.00") and action.promise_currency == "EUR"

    # A note written in the CRM after the first run arrives with the next one.
    crm.comment(globex, "#visit talked about the next order\nPTP 2099-02-01 100.00 EUR")
    run_hub("run", cwd=tmp_path, env=env)
    with _store(tmp_path).connect() as conn:
        rows = conn.execute(
            sa.select(schema.collection_action.c.customer_external_id, schema.collection_action.c.channel).where(
                schema.collection_action.c.source == "crm"
            )
        ).all()
    assert sorted((r.customer_external_id, r.channel) for r in rows) == [("C1", "phone"), ("C2", "visit")]


@pytest.mark.slow
def test_a_crm_that_is_down_during_push_gets_every_change_on_the_next_push(
    bottlecrm: BottleCrmServer, crm_factory: Any, tmp_path: Path
) -> None:
    crm = crm_factory("down")
    crm.create_field("erp_id")
    acme = crm.create_account("Acme GmbH", country="DE", custom_fields={"erp_id": "C1"})
    _erp_files(tmp_path, [("C1", "Acme GmbH", "1000.00")], dt.date.today())
    _hub_config(tmp_path, bottlecrm, "down", "[]")
    env = {"CRM_TOKEN": bottlecrm.tokens["down"]}
    run_hub("init", cwd=tmp_path, env=env)
    bottlecrm.stop()
    try:
        down = run_hub("run", cwd=tmp_path, env=env, check=False)
        with _store(tmp_path).connect() as conn:
            pending = conn.execute(sa.select(schema.outbox.c.status).where(schema.outbox.c.sink == "crm")).all()
            dead = conn.execute(sa.select(sa.func.count()).select_from(schema.outbox_dead_letter)).scalar_one()
        assert pending and {r.status for r in pending} <= {"pending", "failed"}, down.stdout + down.stderr
        assert dead == 0
    finally:
        bottlecrm.start()
    run_hub("push", cwd=tmp_path, env=env)
    with _store(tmp_path).connect() as conn:
        statuses = {
            r.status for r in conn.execute(sa.select(schema.outbox.c.status).where(schema.outbox.c.sink == "crm"))
        }
        flags = {
            r.code for r in conn.execute(sa.select(schema.risk_flag.c.code).where(schema.risk_flag.c.active.is_(True)))
        }
    assert statuses == {"delivered"}
    assert {t for t in crm.tag_names(acme) if t.startswith("Flag: ")} == {f"Flag: {c}" for c in flags}
    assert any(t.startswith("Risk: ") for t in crm.tag_names(acme))


# -- throttling and server errors (no server: the answers are scripted) ---------------------------


def test_429_and_5xx_are_retried_and_a_crm_that_stays_down_is_a_sink_error() -> None:
    answers = [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={})]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return answers.pop(0) if answers else httpx.Response(502, text="bad gateway")

    config = BottleCrmConfig(type="bottlecrm", url="http://crm.test", token="bcrm_pat_x", retries=3)
    api = BottleCrmApi("crm", config, transport=httpx.MockTransport(handler))
    api.check()
    assert seen == ["Bearer bcrm_pat_x"] * 3
    sink = BottleCrmSink("crm", config, api)
    with pytest.raises(SinkError, match="HTTP 502"):
        sink.deliver([_flag("C1", "OVER_LIMIT", "raised", 1, {"crm": "a1"})])


def test_an_account_write_that_keeps_timing_out_fails_for_a_retry_after_what_the_crm_asked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(408, headers={"Retry-After": "600"}, text="Request Timeout")

    config = BottleCrmConfig(type="bottlecrm", url="http://crm.test", token="bcrm_pat_x", retries=2)
    waits: list[float] = []
    api = BottleCrmApi("crm", config, transport=httpx.MockTransport(handler), sleep=waits.append)
    sink = BottleCrmSink("crm", config, api)
    [result] = sink.deliver([_flag("C1", "OVER_LIMIT", "raised", 1, {"crm": "a1"})])
    assert (result.ok, result.permanent, result.retry_after) == (False, False, 600.0)
    assert "HTTP 408" in (result.error or "")


# -- the shared connector contract ------------------------------------------------------------------


BAD_TOKEN = "bcrm_pat_contract-not-a-real-token"
NO_ACCOUNT = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def contract_accounts(bottlecrm: BottleCrmServer) -> Iterator[list[str]]:
    """Three accounts in the contract's own organisation (two pages at page_size 2), made once."""
    crm = bottlecrm.client("contract")
    ids = [crm.create_account(f"Contract customer {i}", country="DE", currency="EUR") for i in range(3)]
    yield ids
    crm.close()


class BottleCrmContractServer:
    system = "BottleCRM"
    stream = "customers"

    def __init__(self, server: BottleCrmServer, accounts: list[str], injector: FaultInjector) -> None:
        self.server = server
        self.accounts = accounts
        self.injector = injector
        self.secrets = (server.tokens["contract"], BAD_TOKEN)
        self.renames = 0

    def record_id(self, raw: Any) -> str:
        return str(raw["id"])

    def full_ids(self) -> set[str]:
        return set(self.accounts)

    def change(self) -> set[str]:
        self.renames += 1
        crm = self.server.client("contract")
        try:
            crm.update_account(self.accounts[1], name=f"Contract customer 1 ({self.renames})")
        finally:
            crm.close()
        return {self.accounts[1]}

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self.injector.fail_next(status, times)

    def throttle_next(self, seconds: int) -> None:
        self.injector.throttle_next(seconds)

    def go_down(self) -> None:
        self.injector.go_down()

    def sink_events(self) -> tuple[list[OutboxEvent], set[str]] | None:
        events: list[OutboxEvent] = [
            _band("C1", "C", None, {"crm": self.accounts[0]}),
            _flag("C404", "OVER_LIMIT", "raised", 1, {"crm": NO_ACCOUNT}),  # BottleCRM answers 404
        ]
        return events, {"C404:OVER_LIMIT:v1"}


def contract_connector(server: BottleCrmContractServer, token: str, sleeps: list[float]) -> Connector:
    config = BottleCrmConfig(type="bottlecrm", url=server.server.url, token=token, page_size=2, retries=5)
    return build("crm", config, sleep=sleeps.append)


@pytest.mark.slow
class TestBottleCrmContract(ConnectorContract):
    @pytest.fixture
    def server(self, bottlecrm: BottleCrmServer, contract_accounts: list[str]) -> Iterator[BottleCrmContractServer]:
        with FaultInjector(bottlecrm.url) as injector:
            yield BottleCrmContractServer(bottlecrm, contract_accounts, injector)

    @pytest.fixture
    def connector(self, server: BottleCrmContractServer, sleeps: list[float]) -> Iterator[Connector]:
        connector = contract_connector(server, server.server.tokens["contract"], sleeps)
        yield connector
        connector.close()

    @pytest.fixture
    def bad_connector(self, server: BottleCrmContractServer, sleeps: list[float]) -> Iterator[Connector]:
        connector = contract_connector(server, BAD_TOKEN, sleeps)
        yield connector
        connector.close()

    @pytest.mark.xfail(
        strict=True,
        reason="BottleCRM 1.35 has no changed-since filter and no updated_at on accounts: the customers stream "
        "is a snapshot (a read from a completed cursor is a new full pass; the sync engine skips unchanged "
        "records by content hash), see docs/connectors/bottlecrm.md, 'Incremental reads'",
    )
    def test_read_from_the_saved_cursor_yields_only_the_changes(
        self, connector: Connector, server: BottleCrmContractServer
    ) -> None:
        super().test_read_from_the_saved_cursor_yields_only_the_changes(connector, server)

    def test_read_from_a_completed_cursor_is_a_new_pass_that_carries_the_change(
        self, connector: Connector, server: BottleCrmContractServer
    ) -> None:
        """What BottleCRM does instead of the contract's incremental read (see the xfail above)."""
        assert connector.source is not None
        _, cursor = contract_read_all(connector.source, server.stream)
        assert cursor == {"offset": 4, "complete": True}
        (changed,) = server.change()
        records, again = contract_read_all(connector.source, server.stream, cursor)
        assert sorted(r["id"] for r in records) == sorted(server.full_ids()) and again == cursor
        renamed = next(r for r in records if r["id"] == changed)
        assert renamed["name"] == f"Contract customer 1 ({server.renames})"
