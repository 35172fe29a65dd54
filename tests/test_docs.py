"""``docs/plugins.md`` documents every hook with its exact signature and an example that really works.

The hooks come from the hookspecs, never from a list kept here: a hookspec added to
``hub/hookspecs.py`` without a section in the docs fails ``test_every_hookspec_is_documented_with_its_signature``.
The examples are compiled, registered as plugins through the real plugin manager, and exercised
against the real API (matchers, risk signals, flag policies, a source synced by the real engine).
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pluggy
import pytest
import typer
from typer.testing import CliRunner

from hub import hookspecs
from hub.app import Hub
from hub.config import load_config
from hub.connector import ConnectorConfig, ConnectorType, DeliveryResult, Sink
from hub.errors import SinkError, SourceError
from hub.model import Exposure, FlagChange, RiskFlag
from hub.plugins import ENTRY_POINT_GROUP, load_plugins
from hub.recon import (
    CustomerView,
    Matcher,
    MatchProposal,
    OpenInvoice,
    OpenItems,
    ProposalLine,
    ReceiptView,
    ReconcileStats,
    decide,
)
from hub.risk import CustomerRisk, FlagPolicy, RiskContext, RiskSignal, SignalResult, score_customer
from hub.sync import StreamStats

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DOCS = ROOT / "docs" / "plugins.md"

HOOK_HEADING = re.compile(r"^### (?P<name>hub_\w+)\((?P<params>[^)]*)\)\s*$")
ANY_HEADING = re.compile(r"^#{1,3} ")
FENCE = re.compile(r"^\s*```\s*(?P<lang>[\w+-]*)\s*$")


# -- what the docs say -------------------------------------------------------------------------------


@dataclass
class HookSection:
    """One ``### hub_name(params)`` section of the docs, up to the next heading of level 1-3."""

    name: str
    params: tuple[str, ...]
    line: int
    examples: list[str] = field(default_factory=list)


def fenced_blocks(markdown: str) -> list[tuple[int, str, str]]:
    """Every fenced code block as ``(first line number, language, code)``."""
    blocks: list[tuple[int, str, str]] = []
    lang: str | None = None
    start = 0
    body: list[str] = []
    for number, line in enumerate(markdown.splitlines(), 1):
        fence = FENCE.match(line)
        if lang is None and fence:
            lang, start, body = fence["lang"], number + 1, []
        elif lang is not None and line.strip() == "```":
            blocks.append((start, lang, "\n".join(body) + "\n"))
            lang = None
        elif lang is not None:
            body.append(line)
    return blocks


def hook_sections(markdown: str) -> dict[str, HookSection]:
    """The hook sections of the docs by hook name; headings inside code blocks are not headings."""
    sections: dict[str, HookSection] = {}
    current: HookSection | None = None
    in_code = False
    block: list[str] = []
    block_is_python = False
    for number, line in enumerate(markdown.splitlines(), 1):
        if in_code:
            if line.strip() == "```":
                in_code = False
                if current is not None and block_is_python:
                    current.examples.append("\n".join(block) + "\n")
            else:
                block.append(line)
            continue
        fence = FENCE.match(line)
        if fence:
            in_code, block, block_is_python = True, [], fence["lang"] == "python"
            continue
        if ANY_HEADING.match(line):
            current = None
            heading = HOOK_HEADING.match(line)
            if heading:
                params = tuple(p.strip() for p in heading["params"].split(",") if p.strip())
                if heading["name"] in sections:
                    raise AssertionError(f"docs line {number}: {heading['name']} is documented twice")
                current = sections[heading["name"]] = HookSection(heading["name"], params, number)
    return sections


# -- what the code says ------------------------------------------------------------------------------


def spec_manager(*spec_modules: object) -> pluggy.PluginManager:
    """A plugin manager with the hub's hookspecs (plus ``spec_modules``), built like ``load_plugins`` does."""
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for module in spec_modules:
        pm.add_hookspecs(module)
    return pm


def hook_signatures(pm: pluggy.PluginManager) -> dict[str, tuple[str, ...]]:
    """Every hookspec registered in ``pm``, with its parameter names in order."""
    return {
        name: tuple(caller.spec.argnames)
        for name, caller in vars(pm.hook).items()
        if isinstance(caller, pluggy.HookCaller) and caller.spec is not None
    }


def hookspec_functions(module: object) -> dict[str, Callable[..., Any]]:
    """Functions of ``module`` named ``hub_*`` that carry the ``hub`` hookspec marker."""
    return {
        name: fn
        for name, fn in vars(module).items()
        if name.startswith("hub_") and callable(fn) and getattr(fn, f"{ENTRY_POINT_GROUP}_spec", None) is not None
    }


def documentation_problems(specs: Mapping[str, tuple[str, ...]], sections: Mapping[str, HookSection]) -> list[str]:
    """Why the docs do not match the hookspecs; empty when every hook is documented as it is."""
    problems = []
    for name, params in sorted(specs.items()):
        section = sections.get(name)
        wanted = f"### {name}({', '.join(params)})"
        if section is None:
            problems.append(f"{name}: no section headed '{wanted}'")
            continue
        if section.params != params:
            problems.append(f"{name} (line {section.line}): heading has parameters {section.params}, hookspec {params}")
        if not section.examples:
            problems.append(f"{name} (line {section.line}): no ```python example")
        for code in section.examples:
            try:
                compile(code, f"{PLUGIN_DOCS.name}:{name}", "exec")
            except SyntaxError as exc:
                problems.append(f"{name}: example does not compile: {exc}")
    for name, section in sorted(sections.items()):
        if name not in specs:
            problems.append(f"{name} (line {section.line}): documented, but there is no such hookspec")
    return problems


def docstring_problems(functions: Mapping[str, Callable[..., Any]]) -> list[str]:
    """Hookspecs without a docstring, or whose docstring leaves a parameter without ``:param name:``."""
    problems = []
    for name, fn in sorted(functions.items()):
        doc = inspect.getdoc(fn)
        if not doc:
            problems.append(f"{name}: no docstring")
            continue
        for param in inspect.signature(fn).parameters:
            if not re.search(rf"^:param {re.escape(param)}:\s*\S", doc, re.MULTILINE):
                problems.append(f"{name}: docstring does not document ':param {param}:'")
    return problems


def docs_text() -> str:
    return PLUGIN_DOCS.read_text(encoding="utf-8")


# -- the docs match the hookspecs ----------------------------------------------------------------------


def test_every_hookspec_is_documented_with_its_signature() -> None:
    specs = hook_signatures(spec_manager())
    assert specs, "no hookspecs found: the discovery itself is broken"
    assert documentation_problems(specs, hook_sections(docs_text())) == []


def test_the_plugin_manager_and_the_hookspecs_module_agree_on_the_hooks() -> None:
    from_module = {name: tuple(inspect.signature(fn).parameters) for name, fn in hookspec_functions(hookspecs).items()}
    assert from_module == hook_signatures(spec_manager())


def test_every_hookspec_documents_each_parameter_in_its_docstring() -> None:
    assert docstring_problems(hookspec_functions(hookspecs)) == []


def test_every_python_block_in_the_plugin_docs_compiles() -> None:
    blocks = [(line, code) for line, lang, code in fenced_blocks(docs_text()) if lang == "python"]
    assert blocks
    for line, code in blocks:
        compile(code, f"{PLUGIN_DOCS}:{line}", "exec")


# -- the checks catch what they are for (fake hookspecs, fake docs) ----------------------------------


def _fake_spec_module() -> types.ModuleType:
    marker = pluggy.HookspecMarker(ENTRY_POINT_GROUP)
    module = types.ModuleType("fake_hookspecs")

    def hub_on_fake_event(customer: str, amount: Decimal) -> None:
        """A hook that nobody documented.

        :param customer: who.
        """

    module.hub_on_fake_event = marker(hub_on_fake_event)  # type: ignore[attr-defined]
    return module


def test_a_hookspec_added_without_docs_is_reported() -> None:
    specs = hook_signatures(spec_manager(_fake_spec_module()))
    problems = documentation_problems(specs, hook_sections(docs_text()))
    assert problems == ["hub_on_fake_event: no section headed '### hub_on_fake_event(customer, amount)'"]


def test_a_heading_whose_parameters_differ_from_the_hookspec_is_reported() -> None:
    docs = "## Hooks\n\n### hub_on_fake_event(amount, customer)\n\n```python\npass\n```\n"
    problems = documentation_problems({"hub_on_fake_event": ("customer", "amount")}, hook_sections(docs))
    assert problems == [
        "hub_on_fake_event (line 3): heading has parameters ('amount', 'customer'), hookspec ('customer', 'amount')"
    ]


def test_a_section_without_a_compiling_example_is_reported() -> None:
    docs = (
        "### hub_a(x)\n\nNo example.\n\n```toml\nkey = 1\n```\n\n"
        "### hub_b()\n\n```python\ndef broken(:\n```\n\n"
        "### hub_c()\n\n## Next chapter\n\n```python\npass\n```\n"
    )
    problems = documentation_problems({"hub_a": ("x",), "hub_b": (), "hub_c": ()}, hook_sections(docs))
    assert problems[0] == "hub_a (line 1): no ```python example"
    assert problems[1].startswith("hub_b: example does not compile")
    assert problems[2] == "hub_c (line 15): no ```python example"  # the block after the next heading is not its
    assert len(problems) == 3


def test_a_documented_hook_that_no_longer_exists_is_reported() -> None:
    docs = "### hub_gone()\n\n```python\npass\n```\n"
    assert documentation_problems({}, hook_sections(docs)) == [
        "hub_gone (line 1): documented, but there is no such hookspec"
    ]


def test_a_heading_inside_a_code_block_is_not_a_hook_section() -> None:
    docs = "```markdown\n### hub_fake()\n```\n"
    assert hook_sections(docs) == {}


def test_a_hookspec_docstring_missing_a_parameter_is_reported() -> None:
    functions = hookspec_functions(_fake_spec_module())
    assert list(functions) == ["hub_on_fake_event"]
    assert docstring_problems(functions) == ["hub_on_fake_event: docstring does not document ':param amount:'"]


# -- the examples work against the real API ---------------------------------------------------------------


def load_example(hook: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """Run the hook's documented example as a module of its own."""
    code = "\n".join(hook_sections(docs_text())[hook].examples)
    module = types.ModuleType(f"docs_example_{hook}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, f"{PLUGIN_DOCS}:{hook}", "exec"), module.__dict__)
    return module


def example_block(marker: str) -> str:
    """The one python block of the docs that contains ``marker``."""
    found = [code for _, lang, code in fenced_blocks(docs_text()) if lang == "python" and marker in code]
    assert len(found) == 1, f"expected one python block with {marker!r}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("hook", sorted(hook_signatures(spec_manager())))
def test_each_hook_example_registers_as_a_plugin_implementing_its_hook(
    hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load_example(hook, monkeypatch)
    host = load_plugins(allow=[], extra=[("docs-example", module)])  # check_pending() runs here too
    (info,) = host.infos
    assert hook in info.hooks


def test_connector_example_syncs_a_file_page_by_page_and_resumes_after_its_cursor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = load_plugins(allow=[], extra=[("shop", load_example("hub_register_connectors", monkeypatch))])
    (ctype,) = host.connector_types().values()
    assert isinstance(ctype, ConnectorType)
    assert issubclass(ctype.config_model, ConnectorConfig)

    def line(n: int) -> str:
        return (
            f'{{"invoice_number": "INV-{n}", "customer_id": "C1", "issue_date": "2026-01-0{n}", '
            f'"due_date": "2026-02-0{n}", "currency": "EUR", "amount": 100.10, "open_amount": 100.10, '
            '"po_number": ""}\n'
        )

    (tmp_path / "invoices.jsonl").write_text(line(1) + line(2) + line(3), encoding="utf-8")
    (tmp_path / "hub.toml").write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n\n'
        f'[connectors.shop]\ntype = "{ctype.name}"\ninvoices = "invoices.jsonl"\npage_size = 2\n',
        encoding="utf-8",
    )
    hub = Hub(load_config(tmp_path / "hub.toml"), plugins=host)
    try:
        hub.init()
        (first,) = hub.sync()
        assert (first.read, first.inserted, first.pages, first.quarantined) == (3, 3, 2, 0)
        with (tmp_path / "invoices.jsonl").open("a", encoding="utf-8") as f:
            f.write(line(4))
        (second,) = hub.sync()
        assert (second.read, second.inserted, second.quarantined) == (1, 1, 0)
    finally:
        hub.close()


def _book() -> OpenItems:
    invoices = [
        OpenInvoice(1, "INV-1", "C1", "EUR", Decimal("100.00"), dt.date(2026, 1, 31), None, None),
        OpenInvoice(2, "INV-2", "C2", "EUR", Decimal("100.00"), dt.date(2026, 1, 31), None, None),
    ]
    customers = [
        CustomerView("C1", "Acme GmbH", (), ("DE89 3704 0044 0532 0130 00",), None),
        CustomerView("C2", "Other AG", (), (), None),
    ]
    return OpenItems(invoices, customers, {})


def _receipt(payer_account: str | None) -> ReceiptView:
    return ReceiptView(
        7, "B7", Decimal("100.00"), "EUR", dt.date(2026, 2, 2), "ACME", payer_account, "thank you", (), None
    )


def test_matcher_example_proposes_the_invoice_of_a_known_payer(monkeypatch: pytest.MonkeyPatch) -> None:
    host = load_plugins(allow=[], extra=[("known-payer", load_example("hub_register_matchers", monkeypatch))])
    (matcher,) = host.matchers()
    assert isinstance(matcher, Matcher)
    book = _book()
    (proposal,) = matcher.propose(_receipt("DE89370400440532013000"), book)
    assert isinstance(proposal, MatchProposal)
    assert proposal.lines == [ProposalLine(1, Decimal("100.00"))]
    decision = decide(_receipt("DE89370400440532013000"), [proposal], book, auto_threshold=0.9, suggest_threshold=0.3)
    assert decision.status == "auto"
    assert matcher.propose(_receipt("NL91ABNA0417164300"), book) == []
    assert matcher.propose(_receipt(None), book) == []


def _customer(*, open_amount: str, late: str, band: str = "A", score: float = 90.0) -> CustomerRisk:
    not_due = Decimal(open_amount) - Decimal(late)
    exposure = Exposure(
        customer_id="C1",
        as_of=dt.date(2026, 6, 30),
        currency="EUR",
        open_amount=open_amount,
        overdue_amount=late,
        buckets={"not_due": not_due, "d1_30": Decimal(0), "d91_180": Decimal(late)},
        max_days_past_due=120 if Decimal(late) else 0,
    )
    return CustomerRisk(exposure=exposure, score=score, band=band)


CONTEXT = RiskContext(as_of=dt.date(2026, 6, 30))


def test_risk_signal_example_scores_a_customer_with_much_severely_late_debt(monkeypatch: pytest.MonkeyPatch) -> None:
    host = load_plugins(allow=[], extra=[("late-share", load_example("hub_register_risk_signals", monkeypatch))])
    (signal,) = host.risk_signals()
    assert isinstance(signal, RiskSignal)
    result = signal.evaluate(_customer(open_amount="12000", late="4000"), CONTEXT)
    assert isinstance(result, SignalResult)
    assert (result.signal, result.severity) == ("severely-late-share", pytest.approx(2 / 3))
    assert result.reason == "33% of the 12,000.00 EUR owed is over 90 days past due"
    worst = signal.evaluate(_customer(open_amount="12000", late="9000"), CONTEXT)
    assert worst is not None and worst.severity == 1.0
    assert signal.evaluate(_customer(open_amount="12000", late="2999.99"), CONTEXT) is None
    assert signal.evaluate(_customer(open_amount="0", late="0"), CONTEXT) is None
    customer = _customer(open_amount="12000", late="4000")
    score_customer(customer, [signal], CONTEXT, weights={}, bands={"A": 90.0, "B": 80.0, "C": 0.0})
    assert (customer.score, customer.band) == (86.67, "B")  # 2/3 of its default weight, 20, off 100


def test_flag_policy_example_flags_a_large_customer_that_fell_to_band_c(monkeypatch: pytest.MonkeyPatch) -> None:
    host = load_plugins(allow=[], extra=[("review", load_example("hub_register_flag_policies", monkeypatch))])
    (policy,) = host.flag_policies()
    assert isinstance(policy, FlagPolicy)
    (flag,) = policy.evaluate(_customer(open_amount="100000.00", late="0", band="C", score=55.5), CONTEXT)
    assert isinstance(flag, RiskFlag) and (flag.customer_id, flag.code) == ("C1", "KEY_ACCOUNT_REVIEW")
    assert flag.reason == "owes 100,000.00 EUR and scores 55.5 (band C): review the account with sales"
    assert policy.evaluate(_customer(open_amount="99999.99", late="0", band="E", score=5.0), CONTEXT) == []
    assert policy.evaluate(_customer(open_amount="500000", late="0", band="B", score=70.0), CONTEXT) == []


def test_commands_example_adds_a_working_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = load_plugins(allow=[], extra=[("commands", load_example("hub_register_commands", monkeypatch))])
    cli = typer.Typer()

    @cli.callback()
    def root() -> None:
        """A stand-in for the hub's root application."""

    host.hook.hub_register_commands(cli=cli)
    (command,) = cli.registered_commands
    (tmp_path / "hub.toml").write_text('[connectors.erp]\ntype = "csv"\ninvoices = "invoices.csv"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the config in use: ./hub.toml (the stand-in has no --config)
    from hub.cli import state

    monkeypatch.setattr(state, "config_path", None)  # (whatever an earlier test's --config left there)
    result = CliRunner().invoke(cli, [command.name or ""])
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["erp", "csv"]
    (tmp_path / "hub.toml").write_text("[connectors.erp]\n", encoding="utf-8")
    broken = CliRunner().invoke(cli, [command.name or ""])
    assert broken.exit_code == 1 and len(broken.output.strip().splitlines()) == 1, broken.output


def _change(code: str = "CREDIT_HOLD") -> FlagChange:
    return FlagChange(
        event_id=f"C1:{code}:v1",
        customer_id="C1",
        code=code,
        action="raised",
        version=1,
        reason="over the limit and late",
        at=dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC),
        links={"crm": "CRM-1"},
    )


#: What the hub passes each lifecycle hook (see hub/sync.py, hub/recon/engine.py, hub/risk/engine.py).
LIFECYCLE_CALLS: dict[str, dict[str, Any]] = {
    "hub_before_sync": {"connector": "erp", "streams": ["customers", "invoices"]},
    "hub_after_sync": {"connector": "erp", "stats": [StreamStats("erp", "invoices", read=3, quarantined=1)]},
    "hub_on_sync_error": {"connector": "erp", "stream": "invoices", "error": SourceError("invoices.csv not found")},
    "hub_after_reconcile": {"stats": ReconcileStats(considered=10, auto=2, suggested=3, unmatched=5)},
    "hub_on_flag_change": {"change": _change()},
}


def test_lifecycle_calls_cover_the_hookspecs_they_name() -> None:
    specs = hook_signatures(spec_manager())
    for hook, kwargs in LIFECYCLE_CALLS.items():
        assert tuple(kwargs) == specs[hook]


@pytest.mark.parametrize("hook", sorted(LIFECYCLE_CALLS))
def test_lifecycle_example_accepts_what_the_hub_passes(hook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    host = load_plugins(allow=[], extra=[("lifecycle", load_example(hook, monkeypatch))])
    caller = getattr(host.hook, hook)
    assert len(caller.get_hookimpls()) == 1
    assert caller(**LIFECYCLE_CALLS[hook]) == []  # a notification: pluggy drops the None it returns


def test_sink_example_delivers_each_change_once_and_refuses_unknown_customers() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(example_block("(Sink):"), f"{PLUGIN_DOCS}:sink", "exec"), namespace)
    sink_class = next(v for v in namespace.values() if isinstance(v, type) and issubclass(v, Sink) and v is not Sink)
    crm = namespace["InMemoryCrm"](["CRM-1"])
    sink = sink_class(crm, "crm")
    changes = [_change("CREDIT_HOLD"), _change("OVER_LIMIT").model_copy(update={"links": {}})]
    first = sink.deliver(changes)
    again = sink.deliver(changes)
    assert all(isinstance(r, DeliveryResult) for r in [*first, *again])
    assert [(r.event_id, r.ok, r.permanent) for r in first] == [
        ("C1:CREDIT_HOLD:v1", True, False),
        ("C1:OVER_LIMIT:v1", False, True),
    ]
    assert [(r.ok, r.permanent) for r in again] == [(True, False), (False, True)]
    assert list(crm.notes["CRM-1"]) == ["C1:CREDIT_HOLD:v1"]
    crm.up = False
    with pytest.raises(SinkError):
        sink.deliver(changes)
