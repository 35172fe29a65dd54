"""The paginator family (``hub.CursorPaginator``, ``NextLinkPaginator``, ``OffsetPaginator``,
``PageNumberPaginator``): where the next page is, when the walk ends, and a server that loops."""

from __future__ import annotations

from typing import Any

import pytest

from hub import CursorPaginator, NextLinkPaginator, OffsetPaginator, PageNumberPaginator, SourceError


def serve(pages: dict[Any, dict[str, Any]]) -> tuple[list[Any], Any]:
    """A fake API: the page at each position, and the positions asked for in order."""
    asked: list[Any] = []

    def fetch(position: Any) -> dict[str, Any]:
        asked.append(position)
        return pages[position]

    return asked, fetch


# -- cursor in the body ---------------------------------------------------------------------------


def test_cursor_paginator_follows_the_cursor_in_the_body_until_there_is_none() -> None:
    asked, fetch = serve(
        {
            None: {"results": [1, 2], "paging": {"next": {"after": "2"}}},
            "2": {"results": [3, 4], "paging": {"next": {"after": "4"}}},
            "4": {"results": [5]},
        }
    )
    pages = list(CursorPaginator(("paging", "next", "after")).pages(fetch))
    assert [p["results"] for p in pages] == [[1, 2], [3, 4], [5]]
    assert asked == [None, "2", "4"]


def test_cursor_paginator_reads_a_cursor_that_is_a_number_as_text() -> None:
    assert CursorPaginator("next").advance({"next": 200}) == "200"


def test_cursor_paginator_stops_on_an_empty_last_page_without_a_cursor() -> None:
    asked, fetch = serve({None: {"results": [1], "next": "a"}, "a": {"results": []}})
    pages = list(CursorPaginator("next").pages(fetch))
    assert [p["results"] for p in pages] == [[1], []]
    assert asked == [None, "a"]


def test_a_page_that_repeats_a_cursor_is_a_clear_error_not_an_endless_loop() -> None:
    asked, fetch = serve(
        {None: {"next": "a"}, "a": {"next": "b"}, "b": {"next": "a"}}  # the server loops back to "a"
    )
    with pytest.raises(SourceError, match=r"'a'.*twice") as caught:
        list(CursorPaginator("next", what="HubSpot companies").pages(fetch))
    assert "HubSpot companies" in str(caught.value)
    assert caught.value.retryable is False
    assert asked == [None, "a", "b"]


def test_a_resumed_walk_that_is_sent_back_to_where_it_started_is_an_error() -> None:
    asked, fetch = serve({"a": {"next": "a"}})
    with pytest.raises(SourceError, match="twice"):
        list(CursorPaginator("next").pages(fetch, start="a"))
    assert asked == ["a"]


def test_reset_starts_a_new_walk_so_the_same_cursor_may_come_again() -> None:
    paginator = CursorPaginator("next")
    assert paginator.advance({"next": "100"}) == "100"
    paginator.reset()
    assert paginator.advance({"next": "100"}) == "100"


def test_an_empty_cursor_ends_the_walk() -> None:
    assert CursorPaginator("next").advance({"next": ""}) is None
    assert CursorPaginator(("paging", "next")).advance({"paging": None}) is None


# -- next-link URL --------------------------------------------------------------------------------


def test_next_link_paginator_follows_a_link_whose_key_has_a_dot_in_it() -> None:
    asked, fetch = serve(
        {
            None: {"value": [1], "@odata.nextLink": "https://x.test/accounts?$skiptoken=1"},
            "https://x.test/accounts?$skiptoken=1": {"value": [2]},
        }
    )
    assert [p["value"] for p in NextLinkPaginator("@odata.nextLink").pages(fetch)] == [[1], [2]]
    assert asked == [None, "https://x.test/accounts?$skiptoken=1"]


def test_next_link_paginator_stops_when_the_page_says_it_is_done() -> None:
    paginator = NextLinkPaginator("nextRecordsUrl", done="done")
    assert paginator.advance({"done": True, "nextRecordsUrl": "/query/01g-2000"}) is None
    assert paginator.advance({"done": False, "nextRecordsUrl": "/query/01g-2000"}) == "/query/01g-2000"


def test_next_link_paginator_refuses_a_link_it_has_followed_before() -> None:
    paginator = NextLinkPaginator("next")
    paginator.advance({"next": "/p2"})
    with pytest.raises(SourceError, match="/p2"):
        paginator.advance({"next": "/p2"})


# -- offset and limit -----------------------------------------------------------------------------


def test_offset_paginator_steps_by_the_limit_until_the_total() -> None:
    asked, fetch = serve(
        {0: {"rows": [1, 2], "count": 5}, 2: {"rows": [3, 4], "count": 5}, 4: {"rows": [5], "count": 5}}
    )
    paginator = OffsetPaginator(2, records="rows", total="count")
    assert [p["rows"] for p in paginator.pages(fetch, start=0)] == [[1, 2], [3, 4], [5]]
    assert asked == [0, 2, 4]
    assert paginator.offset == 6


def test_offset_paginator_without_a_total_stops_at_an_empty_last_page() -> None:
    asked, fetch = serve({0: {"rows": [1, 2]}, 2: {"rows": [3, 4]}, 4: {"rows": []}})
    pages = list(OffsetPaginator(2, records="rows").pages(fetch, start=0))
    assert [p["rows"] for p in pages] == [[1, 2], [3, 4], []]
    assert asked == [0, 2, 4]


def test_offset_paginator_can_step_by_the_records_received() -> None:
    """A server that caps the page below the limit asked for: nothing is skipped."""
    asked, fetch = serve({0: {"rows": [1], "count": 3}, 1: {"rows": [2], "count": 3}, 2: {"rows": [3], "count": 3}})
    list(OffsetPaginator(200, records="rows", total="count", step="records").pages(fetch, start=0))
    assert asked == [0, 1, 2]


def test_offset_paginator_reads_records_and_total_through_functions() -> None:
    page = ([{"id": 1}, {"id": 2}], 10)
    paginator = OffsetPaginator(2, offset=4, records=lambda p: p[0], total=lambda p: p[1])
    assert paginator.advance(page) == 6
    assert paginator.advance(([], 10)) is None
    assert paginator.offset == 6  # an empty page does not move the offset


def test_offset_paginator_needs_a_positive_limit() -> None:
    with pytest.raises(ValueError):
        OffsetPaginator(0)


# -- page number ----------------------------------------------------------------------------------


def test_page_number_paginator_counts_pages_until_the_last_one() -> None:
    asked, fetch = serve({1: {"items": [1], "pages": 3}, 2: {"items": [2], "pages": 3}, 3: {"items": [3], "pages": 3}})
    paginator = PageNumberPaginator(records="items", total_pages="pages")
    assert [p["items"] for p in paginator.pages(fetch, start=1)] == [[1], [2], [3]]
    assert asked == [1, 2, 3]


def test_page_number_paginator_without_a_page_count_stops_at_an_empty_page() -> None:
    asked, fetch = serve({1: {"items": [1]}, 2: {"items": []}})
    assert len(list(PageNumberPaginator(records="items").pages(fetch, start=1))) == 2
    assert asked == [1, 2]
