"""The batch-sink and paginator examples of ``docs/plugins.md`` run as written and do what the text says."""

from __future__ import annotations

from typing import Any

import pytest

from hub import DeliveryResult, KeyedBatchSink, PaginationError, SinkError, Source, StreamSpec
from tests.connectors.events import band, flag
from tests.test_docs import example_block


def _run(marker: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(example_block(marker), f"docs/plugins.md:{marker}", "exec"), namespace)
    return namespace


def test_batch_sink_example_writes_flags_per_account_and_parks_customers_without_one() -> None:
    docs = _run("(KeyedBatchSink[str]):")
    crm = docs["InMemoryAccounts"](["ACC-1"])
    sink = docs["AccountFlagSink"](crm)
    assert isinstance(sink, KeyedBatchSink)
    raised = flag("C1", "OVER_LIMIT", "raised").model_copy(update={"links": {"crm": "ACC-1"}})
    hold = flag("C1", "CREDIT_HOLD", "raised").model_copy(update={"links": {"crm": "ACC-1"}})
    nowhere = flag("C2", "OVER_LIMIT", "raised").model_copy(update={"links": {}})
    gone = flag("C3", "OVER_LIMIT", "raised").model_copy(update={"links": {"crm": "ACC-9"}})
    results = sink.deliver([raised, band("C1", "D"), nowhere, hold, gone])
    assert [(r.event_id, r.ok, r.not_linked) for r in results] == [
        (raised.event_id, True, False),
        (band("C1", "D").event_id, True, False),  # a kind it does not write: acknowledged
        (nowhere.event_id, False, True),
        (hold.event_id, True, False),
        (gone.event_id, False, True),
    ]
    assert all(isinstance(r, DeliveryResult) for r in results)
    assert crm.flags["ACC-1"] == {"OVER_LIMIT", "CREDIT_HOLD"}
    sink.deliver([raised, hold])  # delivered twice: takes effect once
    assert crm.flags["ACC-1"] == {"OVER_LIMIT", "CREDIT_HOLD"}
    crm.up = False
    with pytest.raises(SinkError) as caught:
        sink.deliver([raised])
    assert caught.value.retryable and str(caught.value) == "CRM unreachable"


def test_paginator_example_reads_every_page_and_resumes_from_the_saved_cursor() -> None:
    docs = _run("CursorPaginator(")
    pages = {
        None: {"results": [{"id": "1"}], "paging": {"next": {"after": "1"}}},
        "1": {"results": [{"id": "2"}], "paging": {"next": {"after": "2"}}},
        "2": {"results": [{"id": "3"}]},
    }
    asked: list[str | None] = []

    def get(after: str | None) -> dict[str, Any]:
        asked.append(after)
        return pages[after]

    source = docs["ListingSource"](get)
    assert isinstance(source, Source)
    (stream,) = source.streams()
    assert isinstance(stream, StreamSpec)
    read = list(source.read(stream, None))
    assert [p.records for p in read] == [[{"id": "1"}], [{"id": "2"}], [{"id": "3"}]]
    assert [p.cursor for p in read] == [{"after": "1"}, {"after": "2"}, {"after": None}]
    asked.clear()
    resumed = list(source.read(stream, read[0].cursor))
    assert [p.records for p in resumed] == [[{"id": "2"}], [{"id": "3"}]]
    assert asked == ["1", "2"]


def test_paginator_example_stops_when_the_server_repeats_a_cursor() -> None:
    docs = _run("CursorPaginator(")
    looping = {
        None: {"results": [], "paging": {"next": {"after": "1"}}},
        "1": {"results": [], "paging": {"next": {"after": "1"}}},
    }
    source = docs["ListingSource"](looping.__getitem__)
    with pytest.raises(PaginationError):
        list(source.read(source.streams()[0], None))
