"""The plugin manager: entry points, allow/deny lists, loud failures."""

from __future__ import annotations

import types

import pytest

from hub import hookimpl
from hub.errors import PluginError
from hub.plugins import load_plugins

BUILT_INS = {"csv", "bank-files", "json-file", "matching", "risk-rules"}


def test_built_in_connectors_and_plugins_load_through_entry_points() -> None:
    host = load_plugins()
    names = {i.name for i in host.infos}
    assert names >= BUILT_INS
    assert {"csv", "bank-files", "json-file"} <= set(host.connector_types())
    names_in_order = ["payer-account", "payer-name", "advice", "references", "customer-number"]
    assert [m.name for m in host.matchers()] == names_in_order
    assert {p.name for p in host.flag_policies()} >= {"overdue", "over-limit"}
    dist = {i.name: i.distribution for i in host.infos}
    assert dist["csv"] == "receivables-hub"


def test_deny_list_keeps_a_plugin_out() -> None:
    host = load_plugins(deny=["matching"])
    assert "matching" not in {i.name for i in host.infos}
    assert host.matchers() == []


def test_allow_list_loads_only_what_it_names() -> None:
    host = load_plugins(allow=["csv"])
    assert [i.name for i in host.infos] == ["csv"]
    assert set(host.connector_types()) == {"csv"}


def test_misspelt_hook_implementation_fails_loudly() -> None:
    plugin = types.ModuleType("typo_plugin")

    @hookimpl
    def hub_register_conectors() -> list[object]:  # sic
        return []

    plugin.hub_register_conectors = hub_register_conectors  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="hub_register_conectors"):
        load_plugins(allow=[], extra=[("typo", plugin)])


def test_two_plugins_claiming_one_connector_type_is_an_error() -> None:
    from hub_connectors import csv_files

    clone = types.ModuleType("clone")
    clone.hub_register_connectors = hookimpl(lambda: csv_files.hub_register_connectors())  # type: ignore[attr-defined]
    host = load_plugins(allow=["csv"], extra=[("clone", clone)])
    with pytest.raises(PluginError, match="registered twice"):
        host.connector_types()


def test_a_plugin_returning_garbage_is_named_in_the_error() -> None:
    bad = types.ModuleType("bad")
    bad.hub_register_matchers = hookimpl(lambda: "not a list")  # type: ignore[attr-defined]
    host = load_plugins(allow=[], extra=[("bad", bad)])
    with pytest.raises(PluginError, match="bad: hub_register_matchers must return a list"):
        host.matchers()


def test_plugin_commands_are_added_to_the_command_line(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import typer

    from hub import cli

    plugin = types.ModuleType("cmd_plugin")

    @hookimpl
    def hub_register_commands(cli: typer.Typer) -> None:
        @cli.command("hello-plugin")
        def hello() -> None:
            print("hello from a plugin")

    plugin.hub_register_commands = hub_register_commands  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    from hub.cli.commands import register_plugin_commands

    assert "cmd" in register_plugin_commands(cli.app, [], extra=[("cmd", plugin)])
    from typer.testing import CliRunner

    result = CliRunner().invoke(cli.app, ["hello-plugin"])
    assert result.exit_code == 0
    assert "hello from a plugin" in result.stdout
