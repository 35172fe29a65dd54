"""The house rules, read from the source (ast): dependencies run one way.

- No import cycle among the core's modules, counting imports inside functions (those hid three
  cycles once); imports under ``if TYPE_CHECKING:`` are for annotations only and do not count.
  The package ``hub`` depends on every module its lazy public API loads.
- Connectors and plugins import only the public API (``hub``, and ``hub.cli`` for commands) and
  their own package.
- SQL lives in the store, the engines and the service layer; the interfaces (``hub.cli``, and the
  web console and workers to come) act through the services and never import SQLAlchemy or the
  store. docs/layers.md draws the layers.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path, base: Path, package: str) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts]) if parts else package


def _modules(folder: str, package: str) -> dict[str, Path]:
    base = ROOT / folder
    return {_module_name(p, base, package): p for p in base.rglob("*.py")}


def imported(path: Path, name: str, known: set[str] | None = None) -> set[str]:
    """The modules of ``known`` (default: all) that ``path`` (module ``name``) imports anywhere but
    under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            subs = {f"{module}.{a.name}" for a in node.names}
            if known is not None:  # "from pkg import sub" depends on the submodule, not on the package's __init__
                found.update(subs & known or {module})
            else:  # every name, in both readings ("from hub import store" may name a module)
                found.update({module, *subs})
    return {m for m in found if (known is None or m in known) and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def lazy_exports(path: Path | None = None) -> dict[str, str]:
    """The names a package loads on first use (its ``_EXPORTS`` or ``_LAZY``: name -> module), read
    from its ``__init__.py`` (by default ``hub``'s, the public API)."""
    tree = ast.parse((path or ROOT / "hub" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign):
            target = node.targets[0]
        if target is not None and ast.unparse(target) in ("_EXPORTS", "_LAZY") and node.value is not None:
            value = ast.literal_eval(node.value)
            assert isinstance(value, dict)
            return value
    if path is None:
        raise AssertionError("hub/__init__.py has no _EXPORTS")
    return {}


def core_graph() -> dict[str, set[str]]:
    modules = _modules("hub", "hub")
    known = set(modules)
    graph = {name: imported(path, name, known) for name, path in modules.items()}
    for name, path in modules.items():  # a package depends on what it loads lazily
        if path.name == "__init__.py":
            graph[name] |= set(lazy_exports(path).values()) & known
    return graph


def test_the_core_has_no_import_cycle_counting_imports_inside_functions() -> None:
    assert cycles(core_graph()) == []


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import b\n")
    (tmp_path / "b.py").write_text("def f():\n    import a\n")
    (tmp_path / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n")
    known = {"a", "b", "c"}
    graph = {n: imported(tmp_path / f"{n}.py", n, known) for n in known}
    assert graph == {"a": {"b"}, "b": {"a"}, "c": set()}
    assert cycles(graph) == [["a", "b"]]


def test_the_public_api_lists_what_it_exports_and_every_name_loads() -> None:
    import hub

    exports = lazy_exports()
    assert sorted(hub.__all__) == sorted(["__version__", "hookimpl", *exports])
    for name, module in exports.items():
        assert getattr(hub, name) is getattr(importlib.import_module(module), name), name


PUBLIC = {"hub", "hub.cli"}


def outside_imports(folder: str, package: str) -> dict[str, set[str]]:
    """Per module of ``folder``: the ``hub`` modules it imports (anywhere, even under TYPE_CHECKING)
    beyond the public API."""
    found: dict[str, set[str]] = {}
    for name, path in _modules(folder, package).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                used.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                used.add(node.module)
                if node.module == "hub":  # "from hub import cli" names the module hub.cli
                    used.update(f"hub.{a.name}" for a in node.names if a.name == "cli")
        bad = {m for m in used if (m == "hub" or m.startswith("hub.")) and m not in PUBLIC}
        if bad:
            found[name] = bad
    return found


def test_connectors_and_plugins_import_only_the_public_api() -> None:
    assert outside_imports("connectors", "hub_connectors") == {}
    assert outside_imports("plugins", "hub_plugins") == {}
    assert outside_imports("examples/hub-connector-example/hub_connector_example", "hub_connector_example") == {}


def test_the_public_api_check_sees_a_private_import(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "__init__.py").write_text("from hub import Sink\nfrom hub.store import schema\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert outside_imports("ext", "ext") == {"ext": {"hub.store"}}


#: Where SQL may be written: the store, the engines that read and write it in bulk, the service layer.
SQL_MODULES = (
    "hub.store",
    "hub.sync",
    "hub.fastpath",
    "hub.fx",
    "hub.identity",
    "hub.bureaus",
    "hub.outbox",
    "hub.recon.engine",
    "hub.recon.desk",
    "hub.recon.advice",  # remittance advices: stored, and linked to their receipts for a run
    "hub.risk.exposure",
    "hub.risk.collection",
    "hub.risk.credit",
    "hub.risk.engine",
    "hub.report",  # figures.py reads the store; html.py must not (below)
    "hub.services",
    "hub.app",
    "hub.accounts",  # users, sessions, tokens (the web console's and API's accounts)
    "hub.lists",  # paged lists for the console and the API
    "hub.allocate",  # allocation by hand with amounts
    "hub.trends",  # the dashboard's series over time
    "hub.queue",  # the job queue: procrastinate's tables, a run's order, the retry rule's database errors
    "hub.metrics",  # aggregate queries for /metrics
    "hub.comms",  # collection emails and letters: contacts, disputes, the message queue (hub.comms.engine)
    "hub.interest",  # late-payment interest over invoices and allocations
    "hub.cases",  # litigation, arbitration and agency cases, recoveries, handover files
    "hub.openitems",  # what a customer still owes per invoice (reminders, interest, cases)
)
#: What an interface (the command line; the web console and workers to come) may import from the core.
INTERFACE_MAY_IMPORT = (
    "hub",
    "hub.cli",
    "hub.app",
    "hub.services",
    "hub.config",
    "hub.plugins",
    "hub.hookspecs",
    "hub.sample",
    "hub.fmt",
    "hub.codes",
    "hub.errors",
    "hub.redact",
    "hub.log",
    "hub.i18n",
    "hub.web",
)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_sql_lives_only_in_the_store_the_engines_and_the_service_layer() -> None:
    writing_sql = {
        name
        for name, path in _modules("hub", "hub").items()
        if any(_under(m, ("sqlalchemy", "alembic", "hub.store")) for m in imported(path, name))
    }
    assert {m for m in writing_sql if not _under(m, SQL_MODULES)} == set()
    assert {"hub.sync", "hub.store.bulk"} <= writing_sql  # (the check sees the modules that do)


def test_the_command_line_and_the_web_act_only_through_the_service_layer() -> None:
    modules = {n: p for n, p in _modules("hub", "hub").items() if _under(n, ("hub.cli", "hub.web"))}
    assert len(modules) > 5
    reached = {
        name: {m for m in imported(path, name) if _under(m, ("hub", "sqlalchemy", "alembic"))}
        for name, path in modules.items()
    }
    beyond = {
        name: {m for m in used if not _under(m, INTERFACE_MAY_IMPORT) or m.startswith("hub.store")}
        for name, used in reached.items()
    }
    assert {name: used for name, used in beyond.items() if used} == {}


def test_the_layer_checks_see_sql_in_a_function_but_not_an_annotation_import(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hub.recon.engine import X\n"
        "def f():\n    from hub import store\n    import sqlalchemy as sa\n"
    )
    used = imported(tmp_path / "m.py", "m")
    assert {"hub.store", "sqlalchemy"} <= used and not any(m.startswith("hub.recon") for m in used)


#: The modules every layer shares; they import only each other (docs/layers.md).
LEAVES = (
    "hub.errors",
    "hub.codes",
    "hub.fmt",
    "hub.i18n",
    "hub.redact",
    "hub.model",
    "hub.config",
    "hub.connector",
    "hub.mapping",
    "hub.validation",
    "hub.http",
    "hub.log",
    "hub.lazy",
    "hub.names",
    "hub.bureau",
)


def test_leaf_modules_import_only_leaf_modules() -> None:
    graph = core_graph()
    assert {leaf: graph[leaf] - set(LEAVES) for leaf in LEAVES if graph[leaf] - set(LEAVES)} == {}


def test_the_report_page_is_rendered_without_the_database() -> None:
    page = ROOT / "hub" / "report" / "html.py"
    # At run time it needs only the leaf modules; the figures' types are for annotations only.
    used = {m for m in imported(page, "hub.report.html") if _under(m, ("hub", "sqlalchemy"))}
    assert {m for m in used if not _under(m, ("hub.fmt", "hub.errors", "hub.i18n"))} == set()
