"""Commands that plugins add, found without loading the plugins themselves.

A plugin that adds commands implements ``hub_register_commands`` in a small module of its own and
lists that module under the ``hub.commands`` entry-point group, with the same name as its ``hub``
entry point (so the config's ``[plugins] allow`` / ``deny`` admit both together)::

    [project.entry-points."hub.commands"]
    bank-files = "hub_connectors.bank_files.cli"

Why a group of its own: the command line is built before any command runs, and ``hub --help``
would otherwise load every plugin (connectors, their HTTP and XML libraries) to print a page of
text; this way it loads the few small modules that add commands. The allow and deny lists are read
straight from the config file (TOML) for the same reason.
"""

from __future__ import annotations

import importlib.metadata
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pluggy
import typer

from hub import hookspecs
from hub.cli.common import warn

ENTRY_POINT_GROUP = "hub.commands"


def config_path(argv: Sequence[str]) -> Path:
    """The config file a command line names: ``--config``/``-c`` (as typer will read it), else
    ``HUB_CONFIG``, else ``./hub.toml``."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in ("--config", "-c") and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--config="):
            return Path(arg.partition("=")[2])
        if arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--"):
            return Path(arg[2:])
    return Path(os.environ.get("HUB_CONFIG") or "hub.toml")


def plugin_lists(path: Path) -> tuple[list[str] | None, list[str]]:
    """The ``[plugins]`` allow and deny lists of a config file; none (everything allowed) when the file
    is missing or unreadable: the command that needs the config reports that, not the command line."""
    try:
        with path.open("rb") as f:
            section = tomllib.load(f).get("plugins", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None, []
    allow, deny = section.get("allow"), section.get("deny", [])
    if allow is not None and not (isinstance(allow, list) and all(isinstance(x, str) for x in allow)):
        allow = None
    if not (isinstance(deny, list) and all(isinstance(x, str) for x in deny)):
        deny = []
    return allow, deny


def command_plugins(allow: list[str] | None, deny: list[str]) -> list[importlib.metadata.EntryPoint]:
    """The ``hub.commands`` entry points the lists admit, one per name, in name order."""
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in deny or (allow is not None and ep.name not in allow):
            continue
        found.setdefault(ep.name, ep)
    return [found[name] for name in sorted(found)]


def register_plugin_commands(app: typer.Typer, argv: Sequence[str], extra: Sequence[tuple[str, Any]] = ()) -> list[str]:
    """Let the admitted command plugins (and ``extra`` (name, module) pairs: tests, embedding) add
    their commands through ``hub_register_commands``; returns their names. A plugin that fails to
    load or to add its commands is named in a warning and left out: the other commands still work."""
    allow, deny = plugin_lists(config_path(argv))
    plugins: list[tuple[str, str, Any]] = []
    for ep in command_plugins(allow, deny):
        try:
            plugins.append((ep.name, ep.value, ep.load()))
        except Exception as exc:
            warn(f"plugin {ep.name} could not add its commands ({ep.value}): {exc}")
    plugins.extend((name, getattr(module, "__name__", repr(module)), module) for name, module in extra)
    added = []
    for name, where, module in plugins:
        pm = pluggy.PluginManager("hub")  # one per plugin: a failure names the plugin and spares the others
        pm.add_hookspecs(hookspecs)
        try:
            pm.register(module, name=name)
            pm.hook.hub_register_commands(cli=app)
        except Exception as exc:
            warn(f"plugin {name} could not add its commands ({where}): {exc}")
            continue
        added.append(name)
    return added
