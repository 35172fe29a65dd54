"""The fault-injection suite: workers killed, connections dropped, sinks failing (docs/workers.md).

Every test here is marked ``faults`` (and ``slow``) and runs on the PostgreSQL server of
tests/conftest.py, a database of its own per test.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.postgres)
