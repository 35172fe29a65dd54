"""The dashboard's trends (hub.trends through the Trends service) on the sample book of ``hub demo``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hub.app import Hub
from hub.config import load_config
from hub.services import Trends

from ..conftest import run_hub


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, dt.date]]:
    folder = tmp_path_factory.mktemp("trends")
    summary = json.loads(run_hub("--json", "demo", "--workspace", str(folder / "demo"), cwd=folder).stdout)
    config = Path(summary["workspace"]) / "hub.toml"
    today = dt.date.fromisoformat(summary["as_of"])
    run_hub("--config", str(config), "risk", "--as-of", (today - dt.timedelta(days=7)).isoformat(), cwd=folder)
    run_hub("--config", str(config), "risk", "--as-of", today.isoformat(), cwd=folder)
    hub = Hub(load_config(config))
    yield hub, today
    hub.close()


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
