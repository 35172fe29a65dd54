"""The keyed batch sink base (``hub.KeyedBatchSink``): what every CRM/ERP sink built on it gets for free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from hub import DeliveryResult, HttpError, KeyedBatchSink, OutboxEvent, SinkError, SourceError
from tests.connectors.events import band, flag, limit


class RecordingSink(KeyedBatchSink[str]):
    """Writes flags and bands to an in-memory CRM keyed by the ``erp`` link; credit limits are not its business."""

    chunk_size = 2

    def __init__(self, known: set[str], flags: Mapping[str, set[str]] | None = None) -> None:
        self.known = known
        self.flags = {k: set(v) for k, v in (flags or {}).items()}
        self.calls: list[list[str]] = []
        self.prepared: list[list[str]] = []
        self.fail: Exception | None = None

    def handles(self, event: OutboxEvent) -> bool:
        return event.kind != "credit_limit"

    def key(self, event: OutboxEvent) -> str | None:
        return event.links.get("erp")

    def unlinked_reason(self, event: OutboxEvent) -> str:
        return f"customer {event.customer_id} has no erp id"

    def prepare(self, groups: Mapping[str, Sequence[OutboxEvent]]) -> None:
        self.prepared.append(list(groups))

    def write(self, groups: Mapping[str, Sequence[OutboxEvent]]) -> dict[str, DeliveryResult]:
        if self.fail is not None:
            raise self.fail
        self.calls.append(list(groups))
        results: dict[str, DeliveryResult] = {}
        for key, events in groups.items():
            if key not in self.known:
                results.update({e.event_id: DeliveryResult.unlinked(e.event_id, f"no {key}") for e in events})
                continue
            flags = self.flags.setdefault(key, set())
            for event in events:
                self.apply_flag(flags, event)
                results[event.event_id] = DeliveryResult(event.event_id, True)
        return results


def _unlinked(cid: str) -> OutboxEvent:
    return flag(cid, "OVER_LIMIT", "raised").model_copy(update={"links": {}})


def test_results_come_back_in_input_order_whatever_the_grouping() -> None:
    sink = RecordingSink({"C1", "C2"})
    events = [flag("C1", "OVER_LIMIT", "raised"), band("C2", "D"), flag("C2", "CREDIT_HOLD", "raised"), band("C1", "B")]
    results = sink.deliver(events)
    assert [r.event_id for r in results] == [e.event_id for e in events]
    assert all(r.ok for r in results)
    assert sink.calls == [["C1", "C2"]]  # one write per chunk, keys in order of first appearance


def test_a_kind_the_sink_does_not_write_is_acknowledged_without_a_call() -> None:
    sink = RecordingSink({"C1"})
    (result,) = sink.deliver([limit("C1", "5000")])
    assert (result.ok, result.error) == (True, None)
    assert sink.calls == [] and sink.prepared == []


def test_an_event_without_a_key_is_parked_as_not_linked_with_the_sinks_reason() -> None:
    sink = RecordingSink({"C1"})
    missing, linked = sink.deliver([_unlinked("C9"), flag("C1", "OVER_LIMIT", "raised")])
    assert missing.not_linked and not missing.ok
    assert missing.error == "customer C9 has no erp id"
    assert linked.ok
    assert sink.calls == [["C1"]]


def test_keys_are_written_in_chunks_of_chunk_size() -> None:
    sink = RecordingSink({"C1", "C2", "C3"})
    sink.deliver([flag(c, "OVER_LIMIT", "raised") for c in ("C1", "C2", "C3", "C1")])
    assert sink.calls == [["C1", "C2"], ["C3"]]
    assert sink.prepared == [["C1", "C2", "C3"]]  # prepare sees every group once, before the first write


def test_without_a_chunk_size_every_key_goes_in_one_write() -> None:
    sink = RecordingSink({"C1", "C2", "C3"})
    sink.chunk_size = None
    sink.deliver([flag(c, "OVER_LIMIT", "raised") for c in ("C1", "C2", "C3")])
    assert sink.calls == [["C1", "C2", "C3"]]


def test_a_raised_flag_is_added_and_a_cleared_flag_removed_in_event_order() -> None:
    sink = RecordingSink({"C1"}, {"C1": {"OVERDUE_30"}})
    sink.deliver(
        [
            flag("C1", "OVER_LIMIT", "raised"),
            flag("C1", "OVERDUE_30", "cleared"),
            flag("C1", "OVER_LIMIT", "cleared", 2),
        ]
    )
    assert sink.flags["C1"] == set()
    sink.deliver([flag("C1", "CREDIT_HOLD", "raised", 3)])
    assert sink.flags["C1"] == {"CREDIT_HOLD"}


def test_apply_flag_leaves_the_set_alone_for_other_kinds() -> None:
    flags = {"OVER_LIMIT"}
    KeyedBatchSink.apply_flag(flags, band("C1", "D"))
    assert flags == {"OVER_LIMIT"}


def test_a_source_error_while_writing_fails_the_batch_as_a_sink_error_keeping_its_cause() -> None:
    sink = RecordingSink({"C1"})
    cause = HttpError("PATCH", "https://crm.example.test/accounts", 404, "gone")
    sink.fail = cause
    with pytest.raises(SinkError) as caught:
        sink.deliver([flag("C1", "OVER_LIMIT", "raised")])
    assert caught.value.__cause__ is cause
    assert str(caught.value) == str(cause)
    assert caught.value.retryable is False  # a 404 stays a 404


def test_a_retryable_source_error_stays_retryable_as_a_sink_error() -> None:
    sink = RecordingSink({"C1"})
    sink.fail = SourceError("CRM down")
    with pytest.raises(SinkError) as caught:
        sink.deliver([flag("C1", "OVER_LIMIT", "raised")])
    assert caught.value.retryable is True


def test_an_event_the_write_reports_nothing_for_fails_for_a_retry() -> None:
    class Forgetful(RecordingSink):
        def write(self, groups: Mapping[str, Sequence[OutboxEvent]]) -> dict[str, DeliveryResult]:
            return {}

    (result,) = Forgetful({"C1"}).deliver([flag("C1", "OVER_LIMIT", "raised")])
    assert not result.ok and not result.permanent
    assert result.error is not None and "reported nothing" in result.error
