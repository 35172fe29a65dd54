"""The plugin manager: loads every plugin, built-in or third-party, from the ``hub`` entry points.

Built-in connectors and plugins are listed in the project's own ``pyproject.toml`` under
``[project.entry-points.hub]`` and load exactly like an installed third-party package. The config's
``[plugins] allow`` / ``deny`` lists (entry-point names) decide what loads; ``check_pending()``
makes a misspelt ``hub_*`` hook implementation fail loudly instead of being silently ignored.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from hub import hookspecs
from hub.errors import PluginError

if TYPE_CHECKING:
    from hub.connector import ConnectorType
    from hub.recon import Matcher
    from hub.risk import FlagPolicy, RiskSignal

ENTRY_POINT_GROUP = "hub"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    module: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


class PluginHost:
    """A loaded set of plugins and what they registered.

    ``infos`` may be given as a function that makes them: distribution names and versions are read
    from package metadata only when something asks for them ('hub plugins'), not on every start.
    """

    def __init__(self, pm: pluggy.PluginManager, infos: list[PluginInfo] | Callable[[], list[PluginInfo]]) -> None:
        self.pm = pm
        self._infos = infos
        self._connector_types: dict[str, ConnectorType] | None = None

    @property
    def infos(self) -> list[PluginInfo]:
        if callable(self._infos):
            self._infos = self._infos()
        return self._infos

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def connector_types(self) -> dict[str, ConnectorType]:
        """Connector types by name; two plugins claiming one name is an error."""
        if self._connector_types is None:
            found: dict[str, ConnectorType] = {}
            for impl_result in self._per_plugin("hub_register_connectors"):
                plugin_name, types = impl_result
                for ctype in types:
                    if ctype.name in found:
                        raise PluginError(f"connector type {ctype.name!r} is registered twice (again by {plugin_name})")
                    found[ctype.name] = ctype
            self._connector_types = found
        return self._connector_types

    def matchers(self) -> list[Matcher]:
        return self._collect("hub_register_matchers")

    def risk_signals(self) -> list[RiskSignal]:
        return self._collect("hub_register_risk_signals")

    def flag_policies(self) -> list[FlagPolicy]:
        return self._collect("hub_register_flag_policies")

    def _collect(self, hook_name: str) -> list[Any]:
        out: list[Any] = []
        for _, items in self._per_plugin(hook_name):
            out.extend(items)
        return out

    def _per_plugin(self, hook_name: str) -> Iterable[tuple[str, list[Any]]]:
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):  # registration order
            try:
                result = impl.function()
            except Exception as exc:
                raise PluginError(f"plugin {impl.plugin_name} failed in {hook_name}: {exc}") from exc
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                raise PluginError(
                    f"plugin {impl.plugin_name}: {hook_name} must return a list, got {type(result).__name__}"
                )
            yield impl.plugin_name, list(result)


def _allowed(name: str, allow: list[str] | None, deny: list[str]) -> bool:
    if name in deny:
        return False
    return allow is None or name in allow


def load_plugins(
    allow: list[str] | None = None,
    deny: list[str] | None = None,
    extra: Iterable[tuple[str, object]] = (),
) -> PluginHost:
    """Load the ``hub`` entry points that the allow/deny lists admit, plus ``extra`` (name, module) pairs.

    ``extra`` is for tests and embedding; production plugins come through entry points.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    loaded: list[tuple[str, str, importlib.metadata.Distribution | None]] = []  # name, module, distribution
    seen: set[str] = set()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen or not _allowed(ep.name, allow, deny or []):
            continue
        seen.add(ep.name)
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(f"plugin {ep.name} ({ep.value}) failed to load: {exc}") from exc
        _register(pm, ep.name, plugin)
        loaded.append((ep.name, ep.value, ep.dist))
    for name, plugin in extra:
        _register(pm, name, plugin)
        loaded.append((name, getattr(plugin, "__name__", repr(plugin)), None))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc

    def infos() -> list[PluginInfo]:
        described: dict[object, tuple[str, str]] = {}  # one metadata read per distribution, not per plugin
        out: list[PluginInfo] = []
        for name, module, dist in loaded:
            if dist is None:
                out.append(_info(pm, name, module, None, None))
                continue
            key = getattr(dist, "_path", None) or id(dist)
            if key not in described:
                meta = dist.metadata
                described[key] = (meta["Name"], meta["Version"])
            dist_name, version = described[key]
            out.append(_info(pm, name, module, dist_name, version))
        return out

    return PluginHost(pm, infos)


def _register(pm: pluggy.PluginManager, name: str, plugin: object) -> None:
    try:
        pm.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        raise PluginError(f"plugin {name} could not be registered: {exc}") from exc


def _info(pm: pluggy.PluginManager, name: str, module: str, dist: str | None, version: str | None) -> PluginInfo:
    plugin = pm.get_plugin(name)
    hooks = tuple(sorted(h.name for h in (pm.get_hookcallers(plugin) or [])))
    return PluginInfo(name=name, module=module, distribution=dist, version=version, hooks=hooks)
