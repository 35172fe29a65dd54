"""The hub's exception hierarchy: one tree, each error saying whether trying again can help.

Every error the hub raises on purpose derives from :class:`HubError`, so the command line (and
the coming console and workers) can turn it into a one-line reason and a non-zero exit without a
traceback. ``retryable`` is the one attribute a caller reads to decide between trying again later
(a server down, a lock held elsewhere) and giving up (bad input, a refused request)::

    HubError                  retryable: False unless the class says otherwise
    ├── ConfigError           the config file or an environment override is wrong
    ├── PluginError           a plugin failed to load, or registered something invalid
    ├── StoreError            the database is missing, not migrated, or unreachable
    │   └── LockBusy          the same job runs elsewhere (retryable)   [hub.store.locks]
    ├── MappingError          a mapping file is malformed (not: a record that fails to map)
    ├── RecordError           one source record failed mapping or validation (goes to quarantine)
    ├── SourceError           a source could not be read (retryable: it may come back)
    │   ├── StatementError    a bank statement file is malformed: names file, position, reason
    │   ├── PaginationError   a server sent a listing's walk round in a circle (a cursor twice)
    │   ├── ServiceError      a service's API refused or failed a call (retryable as HttpError)
    │   └── HttpError         an HTTP call failed for good: retryable for 408/425/429/5xx and
    │                         transport errors, not for other 4xx
    ├── SinkError             a sink could not deliver a batch at all (retryable unless it says not)
    ├── MatchError            a finance action on a match that cannot be done as asked
    ├── CollectionError       a ledger entry that cannot be recorded as given
    ├── IdentityError         a link, unlink or proposal decision that cannot be made
    ├── NotFoundError         what was named does not exist (a user, a token, a limit request)
    └── AccessError           who asks may not do this: not signed in, no such role, throttled,
                              or the four-eyes rule (``code`` says which)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

#: HTTP statuses worth trying again: timeouts, throttling, server trouble.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

#: The longest ``Retry-After`` a retry honours by default (a queued job's, :mod:`hub.queue.tasks`; an
#: outbox row's, :mod:`hub.outbox`, unless its own backoff cap is longer): a source or sink that asks
#: for longer is as good as down, and what waits for it should fail visibly after its tries rather
#: than wait for hours.
RETRY_AFTER_CEILING = 3600.0


class HubError(Exception):
    """Base of every error the hub raises on purpose.

    A message a person may read in another language is raised with its gettext message id and the
    values of its placeholders::

        raise MatchError(N_("no invoice %(numbers)s"), values={"numbers": "INV-1, INV-2"})

    ``str(exc)`` stays the English sentence (the command line and the logs are English);
    :func:`hub.i18n.error_text` renders ``msgid`` with ``values`` in a person's language.
    Without ``values`` the message itself is the message id (a fixed sentence is translated as is).
    """

    retryable: bool = False
    """Whether trying the same thing again later can succeed."""

    retry_after: float | None = None
    """Seconds the other side asked to be left alone before the next try (HTTP ``Retry-After`` of its last
    answer), where it said: a queued job's retry (:mod:`hub.queue.tasks`) and an outbox row's next
    attempt (:mod:`hub.outbox`) wait at least that long, up to :data:`RETRY_AFTER_CEILING`. Read it with
    :func:`retry_after`, which also finds it on the errors this one was raised from."""

    msgid: str | None = None
    """The gettext message id of the message (``%(name)s`` placeholders), when it has one."""

    values: Mapping[str, object]
    """The placeholders' values for :attr:`msgid`."""

    def __init__(self, *args: object, values: Mapping[str, object] | None = None) -> None:
        self.values = dict(values or {})
        if values is not None and len(args) == 1 and isinstance(args[0], str):
            self.msgid = args[0]
            args = (args[0] % self.values,)
        elif len(args) == 1 and isinstance(args[0], str):
            self.msgid = args[0]
        super().__init__(*args)


class ConfigError(HubError):
    """The configuration is invalid."""


class PluginError(HubError):
    """A plugin failed to load or registered something invalid."""


class StoreError(HubError):
    """The store cannot be used (not initialised, unreachable, wrong schema version)."""


class LockBusy(StoreError):
    """Another process holds a job's lock (:mod:`hub.store.locks`) and did not release it within the
    wait: the job is already running elsewhere, and trying again later can succeed."""

    retryable = True

    def __init__(self, name: str, holder: str | None, waited: float) -> None:
        self.name = name
        self.holder = holder
        self.waited = waited
        who = f"held by {holder}" if holder else "held by another process"
        after = f"; waited {waited:.0f} s" if waited >= 1 else ""
        super().__init__(f"{name} is already running ({who}){after}; try again when it has finished")


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

    retryable = True


class StatementError(SourceError):
    """A bank statement file is malformed.

    ``position`` is a line number for text formats and ``line N`` / an element path for XML.
    The message always reads ``<file>:<position>: <reason>``.
    """

    retryable = False

    def __init__(self, file: str, position: str | int | None, reason: str) -> None:
        self.file = str(file)
        self.position = position
        self.reason = reason
        where = f"{self.file}:{position}" if position is not None else self.file
        super().__init__(f"{where}: {reason}")


class PaginationError(SourceError):
    """A listing's server named a page position it had named before (a cursor or next link that
    repeats): reading on would loop forever. Not retryable: the same query gets the same answer."""

    retryable = False


class HttpError(SourceError):
    """A request failed for good: a status not worth retrying, or retries exhausted.

    The message names the method, the URL without its query, the status and the start of the body.
    """

    def __init__(self, method: str, url: Any, status: int | None, detail: str) -> None:
        self.method = method
        self.url = url.copy_with(query=None) if hasattr(url, "copy_with") else url
        self.status = status
        self.detail = detail
        where = f"{method} {self.url}"
        super().__init__(f"{where}: HTTP {status}: {detail}" if status is not None else f"{where}: {detail}")

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return retryable_status(self.status)


class ServiceError(SourceError):
    """A service's API (a CRM's, an ERP's) refused or failed a call, in its connector's words.

    ``status`` is the HTTP status of the answer that failed the call (None: no answer, or a failure of
    the connector's own): retryable as :class:`HttpError` is (:func:`retryable_status`). A connector
    subclasses it for its own name (``HubSpotError``, ``SalesforceError``, ``DynamicsError``).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return retryable_status(self.status)


def retryable_status(status: int | None) -> bool:
    """Whether a call that failed with HTTP ``status`` may succeed when sent again: for a timeout,
    throttling or server trouble (:data:`RETRYABLE_STATUSES`), and for no answer at all (``None``: the
    connection failed); not for another 4xx (a bad request, a refused token, no such record), which
    the server will answer the same way every time. :class:`HttpError` decides so, and a connector
    whose own error carries the status of the answer it failed on decides alike."""
    return status is None or status in RETRYABLE_STATUSES


class SinkError(HubError):
    """A sink could not deliver a batch at all (as opposed to per-record failures).

    Retryable unless the sink says otherwise (``retryable=False``: the target refuses the whole
    batch and will go on refusing it).
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self._retryable = retryable

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self._retryable


class MatchError(HubError):
    """A finance action that cannot be done as asked (unknown receipt, over-allocation...)."""


class CollectionError(HubError):
    """A ledger entry that cannot be recorded as given (unknown customer, half a promise...)."""


class IdentityError(HubError):
    """A link, unlink or proposal decision that cannot be made (unknown record, proposal, customer)."""


class NotFoundError(HubError):
    """What was named (a user, a token, a limit request, a customer) does not exist."""


class AccessError(HubError):
    """Who asks may not do this. ``code``: ``not_authenticated`` (no or a bad login, session or token),
    ``forbidden`` (not a role that may), ``throttled`` (too many failed logins: wait), ``four_eyes``
    (the requester of a limit cannot decide it), ``csrf`` (a form without its token)."""

    def __init__(self, *args: object, code: str = "forbidden", values: Mapping[str, object] | None = None) -> None:
        super().__init__(*args, values=values)
        self.code = code


class CommsError(HubError):
    """A collection email, letter or dispute that cannot be made as asked (hub.comms)."""


class ComplianceBlock(CommsError):
    """A compliance rule stops a contact; ``code`` says which (``FREQUENCY``, ``QUIET_HOURS``,
    ``WEEKEND``, ``OPT_OUT``, ``DISPUTE_OPEN``), the message says why in the reader's language."""

    def __init__(self, code: str, message: str, *, values: Mapping[str, object] | None = None) -> None:
        super().__init__(message, values=values if values is not None else {})
        self.code = code


class CaseError(HubError):
    """A litigation, arbitration or agency case could not be opened, changed or handed over (``hub.cases``)."""


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the errors it was raised from or while handling, nearest first, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def retry_after(exc: BaseException) -> float | None:
    """The longest wait the other side asked for (:attr:`HubError.retry_after`) in ``exc`` or the errors
    it was raised from (a connector's error wraps the HTTP error that carries it), or None."""
    asked = [e.retry_after for e in causes(exc) if isinstance(e, HubError) and e.retry_after is not None]
    return max(asked) if asked else None
