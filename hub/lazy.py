"""Names a package loads on first use (PEP 562), so that importing it stays cheap.

Why by hand: the one library for this (scientific-python's ``lazy_loader``) reads its names from a
stub file; a dict in the package itself is shorter, and the layering test reads it to count these
imports as dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, names: Mapping[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``names[name]`` (a module path) on first
    use of ``name`` and keeps the value in ``namespace`` (the package's globals), so later lookups are
    plain attribute reads."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
