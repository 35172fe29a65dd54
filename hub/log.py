"""Structured logging (structlog): JSON when not on a terminal, pretty on one, secrets redacted.

Secrets are registered as they are resolved from the config (:func:`register_secret`); the
:func:`redact_secrets` processor replaces them in every event field, whatever the field is called,
so a password that ends up inside an error message or a URL is still never written out.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

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


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: replace every registered secret in every field."""
    if not _secrets:
        return event_dict
    for key, value in list(event_dict.items()):
        event_dict[key] = _scrub(value)
    return event_dict


def configure_logging(level: str = "info", fmt: str = "auto", stream: Any = None) -> None:
    """Configure structlog once per process. ``fmt``: ``auto`` (console on a TTY, else JSON), ``json``, ``console``."""
    out = stream if stream is not None else sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not (hasattr(out, "isatty") and out.isatty()))
    renderer: Any = structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
