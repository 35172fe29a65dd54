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

from hub.redact import (
    REDACTED as REDACTED,
    RedactingStream as RedactingStream,
    _scrub,
    _secrets,
    redact as redact,
    redact_all as redact_all,
    register_secret as register_secret,
)


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: replace every registered secret in every field."""
    if not _secrets:
        return event_dict
    for key, value in list(event_dict.items()):
        event_dict[key] = _scrub(value)
    return event_dict


class _CurrentStderr:
    """``sys.stderr`` as it is at each write: whoever runs the hub in-process (a test runner, an
    embedding program) may swap it after logging was configured, and a log line must not go to a
    stream that has since been closed."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "info", fmt: str = "auto", stream: Any = None) -> None:
    """Configure structlog once per process. ``fmt``: ``auto`` (console on a TTY, else JSON), ``json``, ``console``."""
    out: Any = stream if stream is not None else _CurrentStderr()  # (file-like: write and flush)
    tty = sys.stderr if stream is None else stream
    use_json = fmt == "json" or (fmt == "auto" and not (hasattr(tty, "isatty") and tty.isatty()))
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
