"""Bureau flags reach the real sinks: a real Tryton (the ERP, source and sink) and a real BottleCRM.

A bureau's batch deliveries (the bureau-file connector) rate a customer Tryton knows and BottleCRM
holds as an account: a first report, then a downgraded report with a dishonest-debtor listing
(失信被执行人) in a second file. ``hub run`` raises ``BUREAU_DOWNGRADE`` and ``LEGAL_EVENT``, and
both systems show them afterwards, read back through their own APIs as the connectors' tests do.

The servers are the ones the connector tests run (``tests/connectors/tryton_server.py``: trytond
8.2 on SQLite, seeded; ``tests/connectors/bottlecrm_server.py``: django-crm in its own Python 3.12
venv), each started here with a fresh copy of its cached database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hub_connectors.bottlecrm import FLAG_SEVERITY
from hub_connectors.tryton import flag_category_name

from hub.store import schema

from .conftest import run_hub
from .connectors import tryton_server as ts
from .connectors.bottlecrm_server import BottleCrmServer, BottleCrmUnavailable, CrmClient

pytestmark = pytest.mark.slow

PASSWORD_ENV = "HUB_TEST_TRYTON_PASSWORD"
TOKEN_ENV = "CRM_TOKEN"
AREA = "bureaus"
AS_OF = ts.AS_OF.isoformat()
REPORTS_HEADER = (
    "report_id,customer_id,bureau,company_id,score,raw_score,scale,band,recommended_limit,currency,report_date"
)
EVENTS_HEADER = "report_id,kind,date,court,amount,currency,case_number,description"
COMPANY = "CN-91110000600037341L"


@pytest.fixture
def tryton(tmp_path: Path) -> Iterator[ts.TrytonServer]:
    """A Tryton server of the test's own (a fresh copy of the seeded database): the sink writes to it."""
    server = ts.TrytonServer(ts.tryton_home(), tmp_path / "tryton")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bottlecrm(tmp_path: Path) -> Iterator[BottleCrmServer]:
    try:
        server = BottleCrmServer(tmp_path / "bottlecrm", [AREA])
    except BottleCrmUnavailable as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()


def write_config(folder: Path, tryton: ts.TrytonServer, crm: BottleCrmServer) -> None:
    (folder / "bureau").mkdir()
    (folder / "hub.toml").write_text(
        f'[database]\nurl = "sqlite:///{folder / "hub.db"}"\n\n'
        '[identity]\nmaster = "erp"\n\n'
        "[outbox]\nbackoff_seconds = 0\n\n"
        "[connectors.erp]\n"
        'type = "tryton"\n'
        f'url = "{tryton.url}"\n'
        f'database = "{ts.DATABASE}"\n'
        f'username = "{ts.HUB_LOGIN}"\n'
        f'password = {{ env = "{PASSWORD_ENV}" }}\n'
        "retries = 2\n\n"
        "[connectors.crm]\n"
        'type = "bottlecrm"\n'
        f'url = "{crm.url}"\n'
        f'token = {{ env = "{TOKEN_ENV}" }}\n'
        "streams = []\n"
        'external_id_field = "erp_id"\n'
        'external_id_connector = "erp"\n'
        "retries = 2\n\n"
        '[connectors.bureau]\ntype = "bureau-file"\npath = "bureau"\n\n'
        '[fx]\nbase = "EUR"\nrates = { USD = "0.9" }\n',
        encoding="utf-8",
    )


def deliver(folder: Path, name: str, reports: Sequence[str], events: Sequence[str] = ()) -> None:
    """A bureau's delivery: ``NAME.csv`` and, with events, ``NAME.events.csv`` next to it."""
    if events:
        (folder / "bureau" / f"{name}.events.csv").write_text("\n".join([EVENTS_HEADER, *events]) + "\n", "utf-8")
    (folder / "bureau" / f"{name}.csv").write_text("\n".join([REPORTS_HEADER, *reports]) + "\n", "utf-8")


def canonical_id(folder: Path, party: str) -> str:
    engine = sa.create_engine(f"sqlite:///{folder / 'hub.db'}")
    c = schema.customer
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    sa.select(c.c.canonical_id).where(c.c.source == "erp", c.c.external_id == party)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def store_state(folder: Path, customer: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The customer's active flags, and (sink, status) of the outbox rows about it."""
    engine = sa.create_engine(f"sqlite:///{folder / 'hub.db'}")
    f, o = schema.risk_flag, schema.outbox
    try:
        with engine.connect() as conn:
            flags = set(
                conn.execute(sa.select(f.c.code).where(f.c.customer_id == customer, f.c.active.is_(True))).scalars()
            )
            outbox = {
                (r.sink, r.status) for r in conn.execute(sa.select(o.c.sink, o.c.status).where(o.c.subject == customer))
            }
            return flags, outbox
    finally:
        engine.dispose()


def test_a_bureau_downgrade_and_a_dishonest_debtor_listing_reach_the_tryton_party_and_the_bottlecrm_account(
    tryton: ts.TrytonServer, bottlecrm: BottleCrmServer, tmp_path: Path
) -> None:
    home = ts.tryton_home()
    party = str(home.seed["customers"]["sino"])
    crm = CrmClient(bottlecrm.url, bottlecrm.tokens[AREA])
    try:
        crm.create_field("erp_id")
        account = crm.create_account("Sino Components Co., Ltd.", country="CN", custom_fields={"erp_id": party})
        write_config(tmp_path, tryton, bottlecrm)
        env = {PASSWORD_ENV: ts.HUB_PASSWORD, TOKEN_ENV: bottlecrm.tokens[AREA]}

        def hub(*args: str) -> Any:
            return run_hub(*args, cwd=tmp_path, env=env)

        hub("init")
        hub("run", "--as-of", AS_OF)
        customer = canonical_id(tmp_path, party)

        # The monthly portfolio export: Sino rated 72 (band B).
        deliver(
            tmp_path, "portfolio-2025-06", [f"CS-06-001,{customer},creditsafe,{COMPANY},72,,,B,20000,EUR,2025-06-01"]
        )
        hub("run", "--as-of", AS_OF)
        flags, _ = store_state(tmp_path, customer)
        assert not flags & {"BUREAU_DOWNGRADE", "LEGAL_EVENT"}
        downgrade, legal = flag_category_name("BUREAU_DOWNGRADE", {}), flag_category_name("LEGAL_EVENT", {})
        assert not {downgrade, legal} & ts.AdminRpc(tryton).party_categories(int(party))
        assert not {"Flag: BUREAU_DOWNGRADE", "Flag: LEGAL_EVENT"} & crm.tag_names(account)

        # The morning alert file: rated 35 (band D), and listed as a dishonest debtor.
        deliver(
            tmp_path,
            "alerts-2025-06-28",
            [f"CS-06-114,{customer},creditsafe,{COMPANY},35,,,D,0,EUR,2025-06-28"],
            [
                "CS-06-114,失信被执行人,2025-06-20,北京市第一中级人民法院,860000,CNY,(2025)京01执321号,"
                "失信被执行人: 有履行能力而拒不履行生效法律文书确定义务"
            ],
        )
        hub("run", "--as-of", AS_OF)
        flags, outbox = store_state(tmp_path, customer)
        assert {"BUREAU_DOWNGRADE", "LEGAL_EVENT"} <= flags
        assert outbox == {("erp", "delivered"), ("crm", "delivered")}

        # Tryton: each active flag is a category of the party.
        categories = ts.AdminRpc(tryton).party_categories(int(party))
        assert {downgrade, legal} <= categories
        assert {c for c in categories if not c.startswith("Risk: ")} == {flag_category_name(f, {}) for f in flags}

        # BottleCRM: each active flag is a tag of the account, the most severe one its risk_flag field.
        tags = crm.tag_names(account)
        assert {"Flag: BUREAU_DOWNGRADE", "Flag: LEGAL_EVENT"} <= tags
        assert {t for t in tags if t.startswith("Flag: ")} == {f"Flag: {f}" for f in flags}
        worst = min(flags, key=FLAG_SEVERITY.index)
        assert crm.account(account)["custom_fields"] == {"erp_id": party, "risk_flag": worst}
    finally:
        crm.close()
