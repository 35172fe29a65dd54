"""Secrets kept out of every line the hub writes: registered as they are resolved, replaced on output.

A leaf without structlog, so the command line can redact what it prints before logging is set up
(:mod:`hub.log` uses the same registry for log events).
"""

from __future__ import annotations

import sys
from typing import Any

REDACTED = "***"
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret so no log line ever shows it. Very short values are ignored (too ambiguous)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        for secret in _secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v) for v in value)
    if isinstance(value, BaseException):
        return _scrub(repr(value))
    return value


def redact(text: str) -> str:
    """``text`` with every registered secret replaced."""
    return str(_scrub(text)) if _secrets else text


def redact_all(value: Any) -> Any:
    """``value`` (text, or lists and dicts of it) with every registered secret replaced."""
    return _scrub(value) if _secrets else value


class RedactingStream:
    """``sys.stdout`` or ``sys.stderr`` (looked up at each write, so a test's capture is honoured)
    with every registered secret replaced: what the command line prints (summaries, warnings,
    the final ``error:`` line) passes through one."""

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def _stream(self) -> Any:
        return getattr(sys, self._name)

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, flush, encoding...
        return getattr(self._stream, name)
