"""What a connector is: the public API that ``connectors/`` and third-party packages build on.

A connector *type* (``csv``, ``bank-files``, ``tryton``...) is registered through the
``hub_register_connectors`` hook as a :class:`ConnectorType`. The config names *instances* of
types (``[connectors.erp] type = "csv"``); the hub builds each instance with the type's factory
and asks it for a :class:`Source` (records flowing in) and/or a :class:`Sink` (flag, band and credit-limit
changes flowing out).

A source yields :class:`Page` objects per stream. Each page carries the cursor that is valid
*after* it; the sync engine stores the page's records and that cursor in one transaction, so a
crash at any point resumes from the last committed page without losing or duplicating records.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.bureau import BureauClient
from hub.errors import ConfigError
from hub.model import RECORD_TYPES, OutboxEvent

JSONValue = Any
"""A value that survives ``json.dumps``/``json.loads`` unchanged (cursors are stored as JSON)."""

WriteDisposition = Literal["merge", "append"]
InvalidRecords = Literal["quarantine", "fail_unit"]


@dataclass(frozen=True)
class StreamSpec:
    """One stream of records a source offers.

    ``write_disposition`` says how records land, never implicitly:

    - ``merge``: upsert on ``(source, external_id)``; a changed record replaces the stored one,
      an unchanged one (same content hash) is skipped.
    - ``append``: insert once per ``(source, external_id)``; a record seen again is ignored
      (bank transactions: the same statement imported twice adds nothing).
    """

    name: str
    record_type: str
    mapping: str
    write_disposition: WriteDisposition = "merge"
    invalid_records: InvalidRecords = "quarantine"
    """A record that fails mapping or validation: ``quarantine`` keeps it aside with its reason and
    stores the rest; ``fail_unit`` fails its whole unit (a bank statement file imports wholly or not
    at all), naming the record."""
    unique_keys: bool = False
    """Each unit carries a record at most once (a file export): the same id twice in one unit fails
    the unit, naming both records, unless the two are identical (then it is stored once). Without
    it the later copy wins (an API page read again after a change)."""
    snapshot: bool = False
    """Each complete read is the whole set (a full export): a stored record that a complete read no
    longer has is closed (an invoice or order gets status ``closed``; every record gets
    ``missing_since``), with an audit event, and reopened if it comes back. The source marks the
    page that ends a complete read (:attr:`Page.complete`). Incremental sources leave it off."""

    def __post_init__(self) -> None:
        if self.record_type not in RECORD_TYPES:
            raise ValueError(f"unknown record type {self.record_type!r}; expected one of {sorted(RECORD_TYPES)}")


@dataclass
class Page:
    """A batch of raw records and the cursor to resume from once they are stored.

    ``label`` names where the page came from (a file name, an URL) for progress and errors.
    ``size_hint`` is the total expected for the stream, if the source knows it (progress bars).
    ``errors`` reports a part of the stream that failed as a whole (one malformed file among many):
    such a page carries no records, and its cursor must not mark the failed part as done.
    """

    records: Sequence[Any]
    cursor: JSONValue
    label: str = ""
    size_hint: int | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    continued: bool = False
    """More pages of the same atomic unit follow (a bank file read in pieces): this page is
    committed together with them, and its cursor is not saved; a page with ``errors`` ends the
    unit by rolling it back."""
    info: dict[str, JSONValue] | None = None
    """What the source reports about the unit this page ends (a statement file's format, counts
    and totals). The engine adds it, with the unit's own counts, to ``StreamStats.units``."""
    columns: Sequence[str] | None = None
    """Set for tabular pages: each record is then a list of values in this column order (cheaper
    than a dict per row for large files). Otherwise each record is a mapping."""
    complete: bool = False
    """This page ends a complete read of a snapshot stream (see :attr:`StreamSpec.snapshot`)."""
    rejected: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)
    """Records the source itself could not read (bytes that are not text in the file's encoding,
    say), each as a mapping of what it could read, with the reason: handled like records that fail
    validation (see :attr:`StreamSpec.invalid_records`)."""


class Source(abc.ABC):
    """Records flowing into the hub."""

    @abc.abstractmethod
    def streams(self) -> Sequence[StreamSpec]:
        """The streams this source offers, in the order they should sync (customers first)."""

    def check(self) -> None:  # noqa: B027 - optional hook with a sensible default
        """Raise :class:`hub.errors.SourceError` when the source cannot be read (missing file, bad auth)."""

    def check_stream(self, stream: StreamSpec, required_fields: set[str]) -> None:  # noqa: B027
        """Raise :class:`hub.errors.SourceError` when the stream cannot provide ``required_fields``.

        The engine passes the source fields its mapping needs, so a file with another column layout
        fails once with a clear message instead of quarantining every row.
        """

    @abc.abstractmethod
    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        """Yield pages of raw records after ``cursor`` (``None``: from the beginning)."""


@dataclass(frozen=True)
class DeliveryResult:
    """What a sink did with one event (``event_id``).

    ``ok=True``: delivered, or deliberately ignored (a kind the sink does not handle). ``ok=False``:
    retried with backoff; with ``permanent=True`` it goes straight to the dead-letter table instead
    (the target refused it, so sending it again cannot help). ``error`` says why, for ``hub outbox``.
    ``not_linked=True`` (with ``ok=False``): the target system has no record for this customer (or
    the customer has no id there): not a failure of the sink, so the event is parked as "not
    linked" (``hub outbox``) instead of retried or dead-lettered; a link made later re-sends what is
    in force, and ``hub outbox replay`` queues parked events again. Build it with :meth:`unlinked`.
    ``retry_after`` (with ``ok=False``): the seconds the target asked to be left alone before this
    event is sent again (HTTP ``Retry-After`` of the answer that failed it; :func:`hub.errors.retry_after`
    finds it on an error): its next attempt waits at least that long instead of only its backoff,
    so a throttling target does not use up the event's attempts while it throttles.
    """

    event_id: str
    ok: bool
    error: str | None = None
    permanent: bool = False
    not_linked: bool = False
    retry_after: float | None = None

    @classmethod
    def unlinked(cls, event_id: str, why: str) -> DeliveryResult:
        """The target system has no record for the event's customer (``why`` says which)."""
        return cls(event_id, False, why, not_linked=True)


class Sink(abc.ABC):
    """Events flowing out of the hub to a connected system: flag, band and credit-limit changes."""

    #: Largest batch the sink accepts in one :meth:`deliver` call.
    batch_size: int = 100
    #: The language of the texts the sink receives (reasons, flag names): the connector's
    #: ``language`` setting, set by the hub when it builds the connector.
    language: str = "en"

    def check(self) -> None:  # noqa: B027 - optional hook with a sensible default
        """Raise :class:`hub.errors.SinkError` when the target cannot be reached."""

    @abc.abstractmethod
    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        """Deliver a batch; return one result per event.

        ``events`` mixes every kind of :data:`hub.model.OutboxEvent`: :class:`~hub.model.FlagChange`
        (``kind == "flag"``), :class:`~hub.model.BandChange` (``"band"``),
        :class:`~hub.model.CreditLimitChange` (``"credit_limit"``) and
        :class:`~hub.model.InterestInvoice` (``"interest_invoice"``, for an ERP to invoice late-payment
        interest; docs/cases.md). Acknowledge a kind the sink does
        not handle with ``DeliveryResult(event.event_id, True)`` so it does not pile up as failed.

        Must be idempotent on ``event_id``: the outbox retries after crashes and timeouts, so an
        event may arrive twice and must take effect once. Raise :class:`hub.errors.SinkError` when
        the whole batch failed (e.g. the server is down), chained (``raise ... from``) to the error
        that made it fail: the outbox reads a ``Retry-After`` the target sent off that chain
        (:func:`hub.errors.retry_after`), and with ``retryable=False`` (the target refuses the
        batch and will go on refusing it) the batch's events go to the dead letters at once.
        """


@dataclass
class ConnectorContext:
    """What the hub hands a connector factory besides its own config."""

    base_dir: Path
    """Folder relative paths in the config resolve against (the config file's folder)."""

    def resolve_path(self, value: str | Path) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)


@dataclass
class Connector:
    """A configured connector instance: a source, a sink, or both; or a credit bureau."""

    name: str
    type: str
    source: Source | None = None
    sink: Sink | None = None
    bureau: BureauClient | None = None
    """A credit bureau account (:mod:`hub.bureau`): the hub's bureau service asks it about customers
    it chooses, within the bureau's cache TTL and monthly budget."""
    close: Callable[[], None] = lambda: None


class ConnectorConfig(BaseModel):
    """Base for connector config models: unknown keys are an error, so typos fail loudly.

    ``type`` selects the connector type; ``mappings`` overrides a stream's mapping by stream name
    with a built-in mapping name or a path to a ``.toml`` file (for another column layout).
    """

    model_config = ConfigDict(extra="forbid")

    type: str
    mappings: dict[str, str] = Field(default_factory=dict)
    #: The language of the texts pushed to this connector's sink (reasons, flag names): ``en`` or
    #: ``zh_CN``; another language the hub has no translation for gets English.
    language: str = "en"

    @field_validator("language")
    @classmethod
    def _a_language(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(value.strip().replace("-", "_"))
        except (ValueError, TypeError, UnknownLocaleError):
            raise ValueError(f"not a language: {value!r} (e.g. en, zh_CN)") from None
        return value


def validate_config(model: type[ConnectorConfig], name: str, section: dict[str, Any]) -> ConnectorConfig:
    """``section`` of ``[connectors.<name>]`` as ``model``, or a ConfigError naming every bad key."""
    try:
        return model.model_validate(section)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConfigError(f"[connectors.{name}] {details}") from None


@dataclass(frozen=True)
class ConnectorType:
    """A kind of connector, as registered through ``hub_register_connectors``."""

    name: str
    description: str
    config_model: type[ConnectorConfig]
    factory: Callable[[str, Any, ConnectorContext], Connector]
    """``factory(instance_name, validated_config, context) -> Connector``."""
