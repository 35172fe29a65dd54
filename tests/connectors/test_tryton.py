"""The ``tryton`` connector against a real trytond 8.2 server (tests/connectors/tryton_server.py).

The server runs account_invoice, account_credit_limit, account_dunning and account_statement on
SQLite, seeded through proteus with a company, a chart of accounts, a fiscal year, a 30-day payment
term, five customers and their posted invoices (some paid, one partly, one cancelled, one draft, one
in US dollars). The connector logs in as the user ``hub`` with only the groups its docs ask for.
Tests that change data get a server of their own (a fresh copy of the seeded database).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hub_connectors.tryton import TrytonConfig, build, decode, encode, flag_category_name

from hub.connector import Connector
from hub.errors import SinkError, SourceError
from hub.mapping import load_mapping
from hub.model import BandChange, CreditLimitChange, Customer, FlagChange, Invoice, OutboxEvent
from hub.store import Store, schema
from tests.conftest import run_hub
from tests.connectors import tryton_server as ts
from tests.connectors.contract import ConnectorContract, FaultInjector, read_all

pytestmark = pytest.mark.slow

PASSWORD_ENV = "HUB_TEST_TRYTON_PASSWORD"
AT = dt.datetime(2025, 6, 30, 18, 0, tzinfo=dt.UTC)


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tryton_home() -> ts.TrytonHome:
    return ts.tryton_home()


@pytest.fixture(scope="session")
def tryton(tryton_home: ts.TrytonHome, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ts.TrytonServer]:
    """One server for the tests that only read."""
    server = ts.TrytonServer(tryton_home, tmp_path_factory.mktemp("tryton-shared"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_tryton(tryton_home: ts.TrytonHome, tmp_path: Path) -> Iterator[ts.TrytonServer]:
    """A server of the test's own, for tests that change data."""
    server = ts.TrytonServer(tryton_home, tmp_path / "tryton")
    server.start()
    yield server
    server.stop()


def config_for(server: ts.TrytonServer, **overrides: Any) -> TrytonConfig:
    values: dict[str, Any] = {
        "type": "tryton",
        "url": server.url,
        "database": ts.DATABASE,
        "username": ts.HUB_LOGIN,
        "password": ts.HUB_PASSWORD,
        "page_size": 2,  # several pages even for a handful of records
        "retries": 3,
        **overrides,
    }
    return TrytonConfig.model_validate(values)


def connector_for(server: ts.TrytonServer, name: str = "erp", **overrides: Any) -> Connector:
    return build(name, config_for(server, **overrides), sleep=lambda _s: None)


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in records}


def seeded_party(home: ts.TrytonHome, key: str) -> str:
    return str(home.seed["customers"][key])


def seeded_invoice(home: ts.TrytonHome, key: str) -> str:
    return str(home.seed["invoices"][key]["id"])


# -- JSON-RPC encoding --------------------------------------------------------------------------------


def test_tryton_json_encoding_round_trips_decimal_date_and_datetime() -> None:
    value = {
        "amount": Decimal("1234.50"),
        "day": dt.date(2025, 3, 1),
        "at": dt.datetime(2025, 3, 1, 12, 30, 5, 123456),
        "blob": b"\x00\x01",
    }
    text = json.dumps(value, default=encode)
    assert '"__class__": "Decimal"' in text and '"decimal": "1234.50"' in text
    assert json.loads(text, object_hook=decode) == value


def test_flag_codes_become_readable_category_names_unless_configured() -> None:
    assert flag_category_name("OVER_LIMIT", {}) == "Over limit"
    assert flag_category_name("OVERDUE_30", {}) == "Overdue 30"
    assert flag_category_name("CREDIT_HOLD", {"CREDIT_HOLD": "Blocked"}) == "Blocked"


# -- source -------------------------------------------------------------------------------------------


def test_check_logs_in_and_finds_the_company(tryton: ts.TrytonServer) -> None:
    connector = connector_for(tryton)
    assert connector.source is not None and connector.sink is not None
    connector.source.check()
    connector.sink.check()


def test_bad_password_fails_check_clearly(tryton: ts.TrytonServer) -> None:
    connector = connector_for(tryton, password="not-the-password")
    assert connector.source is not None and connector.sink is not None
    with pytest.raises(SourceError, match=r"refused the login of user 'hub'.*wrong username or password") as caught:
        connector.source.check()
    assert "not-the-password" not in str(caught.value)
    with pytest.raises(SinkError, match="refused the login"):
        connector.sink.check()


def test_unknown_database_fails_check_clearly(tryton: ts.TrytonServer) -> None:
    connector = connector_for(tryton, database="nosuchdb")
    assert connector.source is not None
    with pytest.raises(SourceError, match="nosuchdb"):
        connector.source.check()


def test_full_read_yields_every_customer_with_ids_limits_and_country(
    tryton: ts.TrytonServer, tryton_home: ts.TrytonHome
) -> None:
    connector = connector_for(tryton)
    assert connector.source is not None
    records, cursor = read_all(connector.source, "customers")
    got = by_id(records)
    expected = {seeded_party(tryton_home, c.key): c for c in ts.CUSTOMERS}
    assert set(got) == set(expected)  # the company's own party is not a customer
    mapping = load_mapping("tryton-customers")
    for party_id, spec in expected.items():
        customer = Customer.model_validate({**mapping.apply(got[party_id]), "source": "erp"})
        assert customer.external_id == party_id
        assert customer.legal_name == spec.name
        assert customer.country == spec.country[0]
        assert customer.currency == ts.COMPANY_CURRENCY
        assert customer.credit_limit == spec.credit_limit
        scheme = "uscc" if spec.identifier[0] == "cn_vat" else "vat"
        assert [(t.scheme, t.value) for t in customer.tax_ids] == [(scheme, spec.identifier[1])]
        assert customer.source_updated_at is not None and customer.source_updated_at.tzinfo is not None
    assert cursor and cursor.get("written")


def test_full_read_yields_posted_paid_and_cancelled_invoices_with_open_amounts(
    tryton: ts.TrytonServer, tryton_home: ts.TrytonHome
) -> None:
    connector = connector_for(tryton)
    assert connector.source is not None
    records, _ = read_all(connector.source, "invoices")
    got = by_id(records)
    visible = [spec for spec in ts.INVOICES if spec.post]
    assert set(got) == {seeded_invoice(tryton_home, spec.key) for spec in visible}  # no draft
    mapping = load_mapping("tryton-invoices")
    for spec in visible:
        raw = got[seeded_invoice(tryton_home, spec.key)]
        invoice = Invoice.model_validate({**mapping.apply(raw), "source": "erp"})
        assert invoice.number == tryton_home.seed["invoices"][spec.key]["number"]
        assert invoice.customer_external_id == seeded_party(tryton_home, spec.customer)
        assert invoice.issue_date == spec.invoice_date
        assert invoice.due_date == spec.due_date
        assert invoice.currency == spec.currency
        assert invoice.amount == spec.amount
        expected_open = Decimal(0) if spec.state in ("paid", "cancelled") else spec.amount - spec.paid
        assert invoice.open_amount == expected_open, spec.key
        assert invoice.status.value == {"posted": "open", "paid": "paid", "cancelled": "cancelled"}[spec.state]
        assert invoice.po_number == spec.reference
        if spec.state == "paid":
            assert invoice.paid_date == spec.payments[-1][0]
    open_total = sum(
        (Invoice.model_validate({**mapping.apply(r), "source": "erp"}).open_amount for r in records), Decimal(0)
    )
    assert open_total == sum((s.amount - s.paid for s in visible if s.state == "posted"), Decimal(0))


def test_incremental_read_from_the_saved_cursor_yields_only_the_changed_party(
    own_tryton: ts.TrytonServer, tryton_home: ts.TrytonHome
) -> None:
    connector = connector_for(own_tryton)
    assert connector.source is not None
    _, cursor = read_all(connector.source, "customers")
    again, same = read_all(connector.source, "customers", cursor)
    assert again == [] and same == cursor

    beta = seeded_party(tryton_home, "beta")
    own_tryton.proteus("rename", party=beta, name="Beta Trading GmbH & Co. KG")
    changed, cursor = read_all(connector.source, "customers", cursor)
    assert [(r["id"], r["name"]) for r in changed] == [(beta, "Beta Trading GmbH & Co. KG")]
    assert read_all(connector.source, "customers", cursor)[0] == []

    # Paying an invoice changes that invoice only.
    _, invoice_cursor = read_all(connector.source, "invoices")
    acme_1 = seeded_invoice(tryton_home, "acme-1")
    own_tryton.proteus("pay", invoice=acme_1, amount="6000.00", date="2025-06-30")
    paid, _ = read_all(connector.source, "invoices", invoice_cursor)
    assert [(r["id"], r["status"], r["amount_to_pay"], r["paid_date"]) for r in paid] == [
        (acme_1, "paid", "0", "2025-06-30")
    ]


def test_an_interrupted_read_resumes_from_the_page_cursor_without_gaps(tryton: ts.TrytonServer) -> None:
    connector = connector_for(tryton)
    assert connector.source is not None
    stream = next(s for s in connector.source.streams() if s.name == "invoices")
    pages = connector.source.read(stream, None)
    first = next(pages)
    pages.close()  # the sync stopped after committing the first page
    rest, _ = read_all(connector.source, "invoices", first.cursor)
    everything, _ = read_all(connector.source, "invoices")
    assert sorted([r["id"] for r in first.records] + [r["id"] for r in rest]) == sorted(r["id"] for r in everything)


# -- sink ---------------------------------------------------------------------------------------------


def _band(customer: str, band: str, party: str, previous: str | None = None, version: int = 1) -> BandChange:
    return BandChange(
        event_id=f"{customer}:band:v{version}",
        customer_id=customer,
        band=band,
        previous=previous,
        score=40.0,
        reason="test",
        at=AT,
        links={"erp": party},
    )


def _flag(customer: str, code: str, action: str, party: str, version: int = 1) -> FlagChange:
    return FlagChange(
        event_id=f"{customer}:{code}:v{version}",
        customer_id=customer,
        code=code,
        action=action,
        version=version,
        reason="test",
        at=AT,
        links={"erp": party},
    )


def test_sink_writes_band_and_flags_as_categories_and_is_idempotent(
    own_tryton: ts.TrytonServer, tryton_home: ts.TrytonHome
) -> None:
    connector = connector_for(own_tryton)
    assert connector.sink is not None
    admin = ts.AdminRpc(own_tryton)
    acme = int(seeded_party(tryton_home, "acme"))
    first: list[OutboxEvent] = [
        _band("C1", "C", str(acme)),
        _flag("C1", "OVER_LIMIT", "raised", str(acme)),
        _flag("C1", "CREDIT_HOLD", "raised", str(acme)),
    ]
    assert all(r.ok for r in connector.sink.deliver(first))
    assert admin.party_categories(acme) == {"Risk: C", "Over limit", "Credit hold"}
    assert all(r.ok for r in connector.sink.deliver(first))  # delivered again after a crash: no change
    assert admin.party_categories(acme) == {"Risk: C", "Over limit", "Credit hold"}
    parents = admin.call(
        "party.category", "search_read", [("name", "=", "Receivables hub")], 0, None, None, ["parent", "childs"]
    )
    assert len(parents) == 1 and parents[0]["parent"] is None and len(parents[0]["childs"]) == 3

    second: list[OutboxEvent] = [
        _band("C1", "D", str(acme), previous="C", version=2),
        _flag("C1", "CREDIT_HOLD", "cleared", str(acme), version=2),
    ]
    assert all(r.ok for r in connector.sink.deliver(second))
    assert admin.party_categories(acme) == {"Risk: D", "Over limit"}


def test_sink_writes_the_approved_credit_limit_and_reports_each_event(
    own_tryton: ts.TrytonServer, tryton_home: ts.TrytonHome
) -> None:
    connector = connector_for(own_tryton)
    assert connector.sink is not None
    admin = ts.AdminRpc(own_tryton)
    beta = seeded_party(tryton_home, "beta")
    events: list[OutboxEvent] = [
        CreditLimitChange(
            event_id="C2:limit:1",
            customer_id="C2",
            amount=Decimal("42000"),
            currency="EUR",
            previous=Decimal("50000"),
            approved_by="cfo",
            reason="test",
            at=AT,
            links={"erp": beta},
        ),
        CreditLimitChange(
            event_id="C2:limit:usd",
            customer_id="C2",
            amount=Decimal("1000"),
            currency="USD",
            previous=None,
            approved_by="cfo",
            reason="test",
            at=AT,
            links={"erp": beta},
        ),
        _flag("C9", "OVER_LIMIT", "raised", "999999"),  # no such party
        FlagChange(
            event_id="C8:OVER_LIMIT:v1",
            customer_id="C8",
            code="OVER_LIMIT",
            action="raised",
            version=1,
            reason="test",
            at=AT,
            links={"crm": "abc"},
        ),  # no Tryton link at all
        _band("C2", "B", beta),
    ]
    results = {r.event_id: r for r in connector.sink.deliver(events)}
    assert list(results) == [e.event_id for e in events]
    assert results["C2:limit:1"].ok and results["C2:band:v1"].ok
    assert not results["C2:limit:usd"].ok and results["C2:limit:usd"].permanent
    assert "company currency EUR" in (results["C2:limit:usd"].error or "")
    assert not results["C9:OVER_LIMIT:v1"].ok and "no party 999999" in (results["C9:OVER_LIMIT:v1"].error or "")
    assert not results["C8:OVER_LIMIT:v1"].ok and "no Tryton party id" in (results["C8:OVER_LIMIT:v1"].error or "")
    assert admin.credit_limit(int(beta)) == Decimal("42000")
    assert admin.party_categories(int(beta)) == {"Risk: B"}


def test_sink_raises_sink_error_when_the_server_is_down(
    own_tryton: ts.TrytonServer, tryton_home: ts.TrytonHome
) -> None:
    connector = connector_for(own_tryton)
    assert connector.sink is not None
    own_tryton.stop()
    with pytest.raises(SinkError, match="Tryton"):
        connector.sink.check()
    with pytest.raises(SinkError, match="Tryton"):
        connector.sink.deliver([_band("C1", "A", seeded_party(tryton_home, "acme"))])


# -- the hub end to end ---------------------------------------------------------------------------------


def _write_hub_config(folder: Path, server: ts.TrytonServer) -> Path:
    path = folder / "hub.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{folder / "hub.db"}"\n\n'
        "[connectors.erp]\n"
        'type = "tryton"\n'
        f'url = "{server.url}"\n'
        f'database = "{ts.DATABASE}"\n'
        f'username = "{ts.HUB_LOGIN}"\n'
        f'password = {{ env = "{PASSWORD_ENV}" }}\n'
        "retries = 2\n\n"
        "[fx]\n"
        'base = "EUR"\n'
        'rates = { USD = "0.9" }\n',
        encoding="utf-8",
    )
    return path


def _hub(*args: str, cwd: Path, check: bool = True) -> Any:
    return run_hub(*args, cwd=cwd, check=check, env={PASSWORD_ENV: ts.HUB_PASSWORD})


def _store(folder: Path) -> Store:
    return Store(f"sqlite:///{folder / 'hub.db'}")


def _by_party(conn: sa.Connection) -> dict[str, str]:
    """Canonical customer id -> Tryton party id (the customers' external ids)."""
    c = schema.customer
    return {row.canonical_id: row.external_id for row in conn.execute(sa.select(c.c.canonical_id, c.c.external_id))}


def _active_flags(folder: Path) -> dict[str, set[str]]:
    """Active flag codes by Tryton party id."""
    store, f = _store(folder), schema.risk_flag
    try:
        with store.connect() as conn:
            party = _by_party(conn)
            flags: dict[str, set[str]] = {}
            for row in conn.execute(sa.select(f.c.customer_id, f.c.code).where(f.c.active.is_(True))):
                flags.setdefault(party.get(row.customer_id, row.customer_id), set()).add(row.code)
            return flags
    finally:
        store.dispose()


def _bands(folder: Path) -> dict[str, str]:
    """The risk band by Tryton party id."""
    store, e = _store(folder), schema.exposure
    try:
        with store.connect() as conn:
            party = _by_party(conn)
            rows = conn.execute(sa.select(e.c.customer_id, e.c.band))
            return {party.get(r.customer_id, r.customer_id): r.band for r in rows}
    finally:
        store.dispose()


def _outbox_statuses(folder: Path) -> set[str]:
    store, o = _store(folder), schema.outbox
    try:
        with store.connect() as conn:
            return {r.status for r in conn.execute(sa.select(o.c.status).where(o.c.sink == "erp"))}
    finally:
        store.dispose()


def _expected_categories(flags: set[str], band: str) -> set[str]:
    return {f"Risk: {band}", *(flag_category_name(code, {}) for code in flags)}


def test_hub_run_writes_flags_to_tryton_parties_and_clears_them_after_payment(
    own_tryton: ts.TrytonServer, tryton_home: ts.TrytonHome, tmp_path: Path
) -> None:
    _write_hub_config(tmp_path, own_tryton)
    _hub("init", cwd=tmp_path)
    summary = json.loads(_hub("--json", "run", "--as-of", ts.AS_OF.isoformat(), cwd=tmp_path).stdout)
    assert [s["inserted"] for s in summary["sync"]] == [len(ts.CUSTOMERS), sum(1 for i in ts.INVOICES if i.post)]
    assert summary["push"]["delivered"] > 0

    admin = ts.AdminRpc(own_tryton)
    acme, beta = seeded_party(tryton_home, "acme"), seeded_party(tryton_home, "beta")
    flags, bands = _active_flags(tmp_path), _bands(tmp_path)
    # Acme owes 13,000 EUR against a 10,000 limit, the oldest invoice 91 days past due.
    assert {"OVER_LIMIT", "OVERDUE_90", "CREDIT_HOLD"} <= flags[acme]
    assert {"Over limit", "Overdue 90", "Credit hold"} <= admin.party_categories(int(acme))
    # Beta owes 12,000 of a partly paid invoice 60 days past due: within its limit.
    assert "OVERDUE_30" in flags[beta] and "OVER_LIMIT" not in flags[beta]
    for party in (seeded_party(tryton_home, c.key) for c in ts.CUSTOMERS):
        assert admin.party_categories(int(party)) == _expected_categories(flags.get(party, set()), bands[party]), party
    assert _outbox_statuses(tmp_path) == {"delivered"}

    # Acme pays the old invoice and gets a higher limit in Tryton; the next run clears its flags there.
    own_tryton.proteus("pay", invoice=seeded_invoice(tryton_home, "acme-1"), amount="6000.00", date="2025-06-30")
    own_tryton.proteus("set_credit_limit", party=acme, amount="20000")
    again = json.loads(_hub("--json", "run", "--as-of", ts.AS_OF.isoformat(), cwd=tmp_path).stdout)
    # Every party the sink wrote categories to has a newer write_date, so all are read again; one invoice changed.
    assert [s["updated"] for s in again["sync"]] == [len(ts.CUSTOMERS), 1]
    assert again["risk"]["cleared"] >= 3
    flags, bands = _active_flags(tmp_path), _bands(tmp_path)
    assert not {"OVER_LIMIT", "OVERDUE_90", "CREDIT_HOLD"} & flags.get(acme, set())
    categories = admin.party_categories(int(acme))
    assert not {"Over limit", "Overdue 90", "Credit hold"} & categories
    assert categories == _expected_categories(flags.get(acme, set()), bands[acme])
    assert admin.credit_limit(int(acme)) == Decimal("20000")


def test_approved_credit_limit_reaches_the_tryton_party(
    own_tryton: ts.TrytonServer, tryton_home: ts.TrytonHome, tmp_path: Path
) -> None:
    _write_hub_config(tmp_path, own_tryton)
    _hub("init", cwd=tmp_path)
    _hub("run", "--as-of", ts.AS_OF.isoformat(), cwd=tmp_path)
    listed = json.loads(_hub("--json", "limits", "list", "--status", "pending", cwd=tmp_path).stdout)
    pending = [p for p in listed["proposals"] if Decimal(p["recommended"]) > 0]
    assert pending, listed
    proposal = pending[0]
    _hub("limits", "approve", f"#{proposal['id']}", "--by", "cfo", cwd=tmp_path)
    _hub("push", cwd=tmp_path)
    party = _party_of(tmp_path, proposal["customer_id"])
    assert ts.AdminRpc(own_tryton).credit_limit(int(party)) == Decimal(str(proposal["recommended"]))


def _party_of(folder: Path, customer_id: str) -> str:
    store = _store(folder)
    c = schema.customer
    try:
        with store.connect() as conn:
            return str(conn.execute(sa.select(c.c.external_id).where(c.c.canonical_id == customer_id)).scalar_one())
    finally:
        store.dispose()


def test_push_while_tryton_is_down_loses_nothing(
    own_tryton: ts.TrytonServer, tryton_home: ts.TrytonHome, tmp_path: Path
) -> None:
    _write_hub_config(tmp_path, own_tryton)
    _hub("init", cwd=tmp_path)
    _hub("sync", cwd=tmp_path)
    _hub("reconcile", cwd=tmp_path)
    _hub("risk", "--as-of", ts.AS_OF.isoformat(), cwd=tmp_path)
    assert _outbox_statuses(tmp_path) == {"pending"}

    own_tryton.stop()
    down = _hub("push", cwd=tmp_path, check=False)
    assert "Tryton" in down.stdout + down.stderr
    assert _outbox_statuses(tmp_path) <= {"pending", "failed"}
    assert "delivered" not in _outbox_statuses(tmp_path)

    own_tryton.start()
    _hub("push", cwd=tmp_path)
    assert _outbox_statuses(tmp_path) == {"delivered"}
    flags, bands = _active_flags(tmp_path), _bands(tmp_path)
    admin = ts.AdminRpc(own_tryton)
    for party in (seeded_party(tryton_home, c.key) for c in ts.CUSTOMERS):
        assert admin.party_categories(int(party)) == _expected_categories(flags.get(party, set()), bands[party])


# -- the shared connector contract ------------------------------------------------------------------------


class TrytonContractServer:
    system = "Tryton"
    secrets = (ts.HUB_PASSWORD, "wrong-Password-1")
    stream = "customers"

    def __init__(self, server: ts.TrytonServer, home: ts.TrytonHome, injector: FaultInjector) -> None:
        self.server = server
        self.home = home
        self.injector = injector
        self.renames = 0

    def record_id(self, raw: Any) -> str:
        return str(raw["id"])

    def full_ids(self) -> set[str]:
        return {seeded_party(self.home, c.key) for c in ts.CUSTOMERS}

    def change(self) -> set[str]:
        self.renames += 1
        party = seeded_party(self.home, "gamma")
        self.server.proteus("rename", party=party, name=f"Gamma Retail SARL ({self.renames})")
        return {party}

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self.injector.fail_next(status, times)

    def throttle_next(self, seconds: int) -> None:
        self.injector.throttle_next(seconds)

    def go_down(self) -> None:
        self.injector.go_down()

    def sink_events(self) -> tuple[list[OutboxEvent], set[str]] | None:
        delta = seeded_party(self.home, "delta")
        events: list[OutboxEvent] = [_band("C4", "B", delta), _flag("C9", "OVER_LIMIT", "raised", "999999")]
        return events, {"C9:OVER_LIMIT:v1"}


@pytest.fixture(scope="module")
def contract_tryton(tryton_home: ts.TrytonHome, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ts.TrytonServer]:
    server = ts.TrytonServer(tryton_home, tmp_path_factory.mktemp("tryton-contract"))
    server.start()
    yield server
    server.stop()


class TestTrytonContract(ConnectorContract):
    @pytest.fixture
    def server(self, contract_tryton: ts.TrytonServer, tryton_home: ts.TrytonHome) -> Iterator[TrytonContractServer]:
        with FaultInjector(contract_tryton.url.rstrip("/")) as injector:
            yield TrytonContractServer(contract_tryton, tryton_home, injector)

    @pytest.fixture
    def connector(self, server: TrytonContractServer, sleeps: list[float]) -> Iterator[Connector]:
        connector = build("erp", config_for(server.server, retries=5), sleep=sleeps.append)
        yield connector
        connector.close()

    @pytest.fixture
    def bad_connector(self, server: TrytonContractServer, sleeps: list[float]) -> Iterator[Connector]:
        connector = build("erp", config_for(server.server, password="wrong-Password-1"), sleep=sleeps.append)
        yield connector
        connector.close()


def test_password_never_appears_in_the_config_repr(tryton: ts.TrytonServer) -> None:
    config = config_for(tryton)
    assert ts.HUB_PASSWORD not in repr(config) and ts.HUB_PASSWORD not in str(config.model_dump())
