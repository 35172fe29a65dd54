"""One skeleton for sinks that write risk changes onto records of another system, record by record.

A CRM or ERP sink receives a batch of outbox events and writes them onto the target's records
(an Account, a company, a party). Every such sink does the same bookkeeping around its own API
calls; :class:`KeyedBatchSink` does it once (Singer SDK's ``BatchSink`` is the model):

1. An event of a kind the sink does not write (:meth:`KeyedBatchSink.handles` is false) is
   acknowledged: ``DeliveryResult(event_id, True)``, so it does not pile up as failed.
2. Every other event is keyed to the target record (:meth:`KeyedBatchSink.key`); an event without
   a key (the customer has no record there) is parked as not linked, with
   :meth:`KeyedBatchSink.unlinked_reason` as the reason.
3. The events are grouped by key, in order of first appearance, each group keeping the outbox
   order of its events (the latest change of a field wins).
4. :meth:`KeyedBatchSink.prepare` sees all groups once (create a missing custom field...), then
   :meth:`KeyedBatchSink.write` is called per chunk of at most ``chunk_size`` keys and returns
   the result of every event of the chunk.
5. A :class:`~hub.errors.SourceError` raised by the sink's client (server down, credentials
   refused, retries exhausted) fails the whole batch as a :class:`~hub.errors.SinkError` with the
   same message and ``retryable``, chained to the original error (``__cause__``).
6. The results come back in the order of the events given; an event ``write`` reported nothing
   for fails (for a retry) instead of vanishing.

A subclass keeps only what is its own: the key, the endpoint, the payload shape and how the
answer is read.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from hub.connector import DeliveryResult, Sink
from hub.errors import SinkError, SourceError
from hub.model import OutboxEvent

K = TypeVar("K", bound=Hashable)


class KeyedBatchSink(Sink, Generic[K]):
    """A sink that groups a batch's events by the target record they change and writes them in chunks.

    Implement :meth:`key` and :meth:`write`; override :meth:`handles`, :meth:`unlinked_reason`,
    :meth:`prepare`, :meth:`failure` and ``chunk_size`` where the defaults do not fit.
    ``batch_size`` (events per :meth:`deliver`) is :class:`~hub.connector.Sink`'s.
    """

    #: Keys per :meth:`write` call (a bulk endpoint's limit, e.g. 200 records); None: all in one call.
    chunk_size: int | None = None

    def handles(self, event: OutboxEvent) -> bool:
        """Whether this sink writes ``event``'s kind at all (default: every kind)."""
        return True

    @abc.abstractmethod
    def key(self, event: OutboxEvent) -> K | None:
        """The target record ``event`` changes (its id there), or None when the customer has none."""

    def unlinked_reason(self, event: OutboxEvent) -> str:
        """Why ``event`` has no key, for ``hub outbox``."""
        return f"customer {event.customer_id} has no record in the target system"

    def prepare(self, groups: Mapping[K, Sequence[OutboxEvent]]) -> None:
        """Called once per batch with every group, before the first :meth:`write` (never with none)."""

    @abc.abstractmethod
    def write(self, groups: Mapping[K, Sequence[OutboxEvent]]) -> Mapping[str, DeliveryResult]:
        """Write one chunk: each key's events, in outbox order. Returns a result per event id.

        A record the target does not have is ``DeliveryResult.unlinked``; a refusal that sending
        again cannot cure is ``permanent=True``. Raise :class:`~hub.errors.SourceError` (or
        :class:`~hub.errors.SinkError`) when the chunk could not be written at all.
        """

    def failure(self, error: SourceError) -> SinkError:
        """The batch's :class:`~hub.errors.SinkError` for ``error`` (:meth:`deliver` chains it ``from error``)."""
        return SinkError(str(error), retryable=error.retryable)

    @staticmethod
    def apply_flag(flags: set[str], event: OutboxEvent) -> None:
        """A raised flag added to ``flags``, a cleared one removed; other kinds leave ``flags`` alone."""
        if event.kind == "flag":
            if event.action == "raised":
                flags.add(event.code)
            else:
                flags.discard(event.code)

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        results: dict[str, DeliveryResult] = {}
        groups: dict[K, list[OutboxEvent]] = {}
        for event in events:
            if not self.handles(event):
                results[event.event_id] = DeliveryResult(event.event_id, True)  # not for this sink
                continue
            key = self.key(event)
            if key is None or key == "":
                results[event.event_id] = DeliveryResult.unlinked(event.event_id, self.unlinked_reason(event))
                continue
            groups.setdefault(key, []).append(event)
        if groups:
            try:
                self.prepare(groups)
                keys = list(groups)
                size = self.chunk_size or len(keys)
                for start in range(0, len(keys), size):
                    results.update(self.write({k: groups[k] for k in keys[start : start + size]}))
            except SourceError as exc:
                raise self.failure(exc) from exc
        return [
            results.get(e.event_id)
            or DeliveryResult(e.event_id, False, f"{type(self).__name__} reported nothing for this event")
            for e in events
        ]
