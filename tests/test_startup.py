"""Start-up cost of the command line: what merely starting ``hub`` (and ``hub receipts import``) imports.

Timing tests would be flaky; these pin the cause instead. Modules only some commands need (alembic
for migrations, identity resolution, collections, the report, rapidfuzz, stdnum...) must not be
imported by starting the command line or by a receipts import, and the schema check must agree with
alembic without importing it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hub.store import HEAD_REVISION, Store

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "bank" / "camt053" / "genkgo_camt.053.001.03.xml"

# Imported by no part of starting the CLI or of ``hub receipts import``.
HEAVY = (
    "alembic",
    "mako",
    "hub.store.migrations",
    "hub.identity",
    "hub.risk.collection",
    "hub.report",
    "rapidfuzz",
    "stdnum",
)

# Not imported by building the command line (``hub --help``): the store, the engine, the model and
# the HTTP layer load when a command runs. A command plugin's module (``hub.commands`` entry point)
# must keep them out of its module level too.
NOT_AT_START = ("sqlalchemy", "pydantic", "httpx", "hub.app", "hub.store", "hub.sync", "lxml")

_REPORT = """
import json, sys
heavy = {heavy!r}
print(json.dumps(sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))))
"""


def _imported_after(code: str, cwd: Path, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    script = code + _REPORT.format(heavy=heavy)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    imported: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return imported


def test_importing_the_cli_and_building_its_commands_imports_no_heavy_module(tmp_path: Path) -> None:
    code = (
        "import hub.cli as cli\nfrom hub.cli.commands import register_plugin_commands\n"
        "cli.register_core_commands()\nregister_plugin_commands(cli.app, [])\n"
    )
    assert _imported_after(code, tmp_path) == []


def test_building_the_command_line_with_its_plugin_commands_imports_neither_store_nor_model_nor_http(
    tmp_path: Path,
) -> None:
    code = (
        "import hub.cli as cli\nfrom hub.cli.commands import register_plugin_commands\n"
        "cli.register_core_commands()\nadded = register_plugin_commands(cli.app, [])\n"
        "assert 'bank-files' in added, added\n"
    )
    assert _imported_after(code, tmp_path, NOT_AT_START) == []


def test_receipts_import_imports_no_heavy_module(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(
        '[database]\nurl = "sqlite:///hub.db"\n\n[connectors.bank]\ntype = "bank-files"\npath = "statements/"\n',
        encoding="utf-8",
    )
    Store(f"sqlite:///{tmp_path / 'hub.db'}").migrate()
    code = (
        "import sys\n"
        "import hub.cli as cli\n"
        f"sys.argv = ['hub', '--json', 'receipts', 'import', {str(FIXTURE)!r}]\n"
        "try:\n"
        "    cli.main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
    )
    assert _imported_after(code, tmp_path) == []


def test_schema_check_reads_the_head_revision_as_alembic_does(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    assert store.current_revision() is None
    alembic_head = ScriptDirectory.from_config(store._alembic_config()).get_current_head()
    assert alembic_head == HEAD_REVISION  # a new migration bumps HEAD_REVISION
    assert store.head_revision() == alembic_head
    assert store.migrate() == alembic_head
    assert store.current_revision() == alembic_head
    store.check_ready()
    store.dispose()
