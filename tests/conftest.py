"""Shared fixtures: a migrated store on SQLite *and* on PostgreSQL, workloads, and CLI helpers.

Every test that takes ``db_url`` (or ``store``) runs twice: on an SQLite file and on a fresh
database on the PostgreSQL server at 127.0.0.1:5432 (``HUB_TEST_PG_URL`` to point elsewhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.store import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GENERATOR = ROOT / "bench" / "gen_receivables.py"
PG_ADMIN_URL = os.environ.get("HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    if not _pg_available():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; .ci/run starts it")
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    admin: sa.Engine = request.getfixturevalue("pg_admin")
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield str(sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    s.migrate()
    yield s
    s.dispose()


def generate(out: Path, *, seed: int = 1, customers: int = 60, invoices: int = 1000, receipts: int = 200) -> Path:
    """Run the project's copy of the workload generator into ``out``."""
    subprocess.run(
        [
            sys.executable,
            str(GENERATOR),
            str(out),
            "--seed",
            str(seed),
            "--customers",
            str(customers),
            "--invoices",
            str(invoices),
            "--receipts",
            str(receipts),
        ],
        check=True,
        capture_output=True,
    )
    return out


def write_config(
    folder: Path,
    db_url: str,
    *,
    customers: str | None = "customers.csv",
    invoices: str | None = "invoices.csv",
    statements: str | None = "statement.xml",
    sink: str | None = "out/flags.jsonl",
    extra: str = "",
) -> Path:
    parts = [f'[database]\nurl = "{db_url}"\n']
    if customers or invoices:
        parts.append('[connectors.erp]\ntype = "csv"\n')
        if customers:
            parts.append(f'customers = "{customers}"\n')
        if invoices:
            parts.append(f'invoices = "{invoices}"\n')
    if statements:
        parts.append(f'[connectors.bank]\ntype = "bank-files"\npath = "{statements}"\n')
    if sink:
        parts.append(f'[connectors.flags]\ntype = "json-file"\npath = "{sink}"\n')
    parts.append(extra)
    path = folder / "hub.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def run_hub(
    *args: str, cwd: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``hub`` command line in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"hub {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def sibling_db(db_url: str, tmp_path: Path) -> str:
    """A second, independent database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'clean.db'}"
    url = sa.make_url(db_url)
    name = f"{url.database}_clean"
    admin = sa.create_engine(url.set(database="test"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": name}).first()
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def book_hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    """A hub on a generated book (40 customers, 800 invoices, 240 receipts), synced, not reconciled."""
    generate(tmp_path, seed=3, customers=40, invoices=800, receipts=240)
    write_config(tmp_path, db_url, sink=None)
    hub = Hub(load_config(tmp_path / "hub.toml"))
    hub.init()
    hub.sync()
    yield hub
    hub.close()
