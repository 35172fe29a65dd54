"""The hub's exception hierarchy.

Every error the hub raises on purpose derives from :class:`HubError`, so the CLI can turn it
into a one-line reason and a non-zero exit without a traceback::

    HubError
    ├── ConfigError          the config file or an environment override is wrong
    ├── PluginError          a plugin failed to load, or registered something invalid
    ├── StoreError           the database is missing, not migrated, or unreachable
    ├── MappingError         a mapping file is malformed (not: a record that fails to map)
    ├── RecordError          one source record failed mapping or validation (goes to quarantine)
    ├── SourceError          a source could not be read (file missing, server down, bad auth)
    │   └── StatementError   a bank statement file is malformed: names file, position, reason
    └── SinkError            a sink could not deliver a batch at all
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class ConfigError(HubError):
    """The configuration is invalid."""


class PluginError(HubError):
    """A plugin failed to load or registered something invalid."""


class StoreError(HubError):
    """The store cannot be used (not initialised, unreachable, wrong schema version)."""


class MappingError(HubError):
    """A mapping file is malformed."""


class RecordError(HubError):
    """One source record failed mapping or validation.

    The sync engine catches it, stores the raw record with :attr:`reason` in quarantine and goes on.
    """

    def __init__(self, reason: str, *, field: str | None = None, value: object = None) -> None:
        self.reason = reason
        self.field = field
        self.value = value
        super().__init__(reason)


class SourceError(HubError):
    """A source could not be read at all."""


class StatementError(SourceError):
    """A bank statement file is malformed.

    ``position`` is a line number for text formats and ``line N`` / an element path for XML.
    The message always reads ``<file>:<position>: <reason>``.
    """

    def __init__(self, file: str, position: str | int | None, reason: str) -> None:
        self.file = str(file)
        self.position = position
        self.reason = reason
        where = f"{self.file}:{position}" if position is not None else self.file
        super().__init__(f"{where}: {reason}")


class SinkError(HubError):
    """A sink could not deliver a batch at all (as opposed to per-record failures)."""
