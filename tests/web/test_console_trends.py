"""The dashboard's trends (hub.trends through the Trends service) on the sample book of ``hub demo``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.services import Trends

from ..conftest import PG_ADMIN_URL


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, dt.date]]:
    """The sample book (as ``hub demo`` writes it) on SQLite and on PostgreSQL, the risk run played a week
    before the day and on the day."""
    from hub.cli.demo import DEMO_CONFIG
    from hub.sample import RATES, build_sample

    folder = tmp_path_factory.mktemp("trends")
    today = dt.date(2026, 12, 5)
    build_sample(folder / "data", today)
    url = "sqlite:///hub.db"
    database = None
    if request.param == "postgresql":
        admin = request.getfixturevalue("pg_admin")
        database = f"hub_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
        url = sa.make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)
    rates = "{ " + ", ".join(f'{ccy} = "{rate}"' for ccy, rate in sorted(RATES.items())) + " }"
    config = DEMO_CONFIG.replace("{rates}", rates).replace('url = "sqlite:///hub.db"', f'url = "{url}"')
    (folder / "hub.toml").write_text(config, encoding="utf-8")
    hub = Hub(load_config(folder / "hub.toml"), lock_wait=0)
    hub.init()
    hub.sync()
    hub.resolve_identities()
    hub.reconcile()
    hub.risk(today - dt.timedelta(days=7))
    hub.risk(today)
    yield hub, today
    hub.close()
    if database is not None:
        with request.getfixturevalue("pg_admin").connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_each_risk_run_leaves_a_snapshot_whose_buckets_add_up_to_what_is_open(demo: tuple[Hub, dt.date]) -> None:
    hub, today = demo
    trends = Trends(hub).dashboard(today)
    assert [s.as_of for s in trends.snapshots] == [today - dt.timedelta(days=7), today]
    latest = trends.snapshots[-1]
    assert set(latest.buckets) == set(trends.buckets)
    assert abs(sum(latest.buckets.values()) - latest.open_base) <= Decimal("0.10")
    overdue = sum(v for k, v in latest.buckets.items() if k != "not_due")
    assert abs(overdue - latest.overdue_base) <= Decimal("0.10")
    assert latest.dso is not None and 0 < latest.dso < 365
    assert latest.customers == len(hub.exposures.customers())


def test_the_match_rate_counts_each_days_customer_payments_and_the_automatic_ones(
    demo: tuple[Hub, dt.date],
) -> None:
    hub, today = demo
    trends = Trends(hub).dashboard(today, days=60)
    assert trends.matches, "the sample book has receipts in the last 60 days"
    for day in trends.matches:
        assert 0 <= day.automatic <= day.matched <= day.receipts
    assert sum(d.receipts for d in trends.matches) <= sum(hub.book_state().receipts.values())
    assert any(d.auto_rate and d.auto_rate > 0.5 for d in trends.matches)


def test_cash_is_collected_per_week_from_monday_in_the_base_currency(demo: tuple[Hub, dt.date]) -> None:
    hub, today = demo
    trends = Trends(hub).dashboard(today, weeks=8)
    assert len(trends.cash) == 8
    assert all(w.week.weekday() == 0 for w in trends.cash)
    assert trends.cash[-1].week <= today < trends.cash[-1].week + dt.timedelta(days=7)
    assert sum(w.amount for w in trends.cash) > 0
    assert trends.base_currency == "EUR"


def test_a_window_out_of_range_is_refused(demo: tuple[Hub, dt.date]) -> None:
    from hub.errors import HubError

    with pytest.raises(HubError):
        Trends(demo[0]).dashboard(days=0)
