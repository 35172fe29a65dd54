"""Paginators: where the next page of a listing is, read from the page just received.

APIs page their listings in four ways; each has a paginator (dlt's ``rest_client`` paginators are
the model), so a source names the way and the paginator keeps the bookkeeping::

    CursorPaginator        a token in the body names the next page (HubSpot ``paging.next.after``)
    NextLinkPaginator      the body carries the next page's URL (Salesforce ``nextRecordsUrl``,
                           Dynamics ``@odata.nextLink``)
    OffsetPaginator        ``offset``/``limit`` until the total, or an empty page (BottleCRM)
    PageNumberPaginator    ``page=1, 2, ...`` until the page count, or an empty page

A paginator knows nothing of HTTP: the source fetches a page however its API wants (GET with a
query parameter, POST with the cursor in a JSON body, an authenticated client of its own) and hands
the decoded page to :meth:`Paginator.advance`, which returns the position of the next page, or
None after the last. :meth:`Paginator.pages` runs that loop for a ``fetch(position)`` function.

One paginator instance is one walk through a listing: it remembers every position it has handed
out, and a server that sends one of them again (a cursor that repeats, a next link back to an
earlier page) stops the walk with :class:`~hub.errors.PaginationError` naming the position,
instead of reading the same pages forever. :meth:`Paginator.reset` starts a new walk (a new query).

Where the paginator finds things in a page is a *locator*: a key (``"nextRecordsUrl"``, also one
with dots in it such as ``"@odata.nextLink"``), a tuple of keys into nested objects
(``("paging", "next", "after")``), or a function of the page.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable, Iterator, Mapping, Sized
from typing import Any, Generic, Literal, TypeVar

from hub.errors import PaginationError

P = TypeVar("P", bound=Hashable)
T = TypeVar("T")

Locator = str | tuple[str, ...] | Callable[[Any], Any]
"""Where a value is in a page: a key, a tuple of keys into nested objects, or a function of the page."""


def locate(page: Any, locator: Locator) -> Any:
    """The value ``locator`` points at in ``page``; None when a key on the way is missing."""
    if callable(locator):
        return locator(page)
    value = page
    for key in (locator,) if isinstance(locator, str) else locator:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


class Paginator(abc.ABC, Generic[P]):
    """The position of the next page, from the page just received; one instance per walk.

    ``what`` names the listing in errors (``"Salesforce query"``).
    """

    def __init__(self, *, what: str = "the listing") -> None:
        self.what = what
        self._seen: set[P] = set()

    @abc.abstractmethod
    def next_position(self, page: Any) -> P | None:
        """Where the page after ``page`` is, or None when ``page`` is the last."""

    def start(self, position: P | None) -> P | None:
        """The position of the first page of a walk: ``position`` (a resumed walk) or the paginator's own."""
        if position is not None:
            self._seen.add(position)
        return position

    def advance(self, page: Any) -> P | None:
        """The position of the page after ``page`` (None after the last one).

        Raises :class:`~hub.errors.PaginationError` when the position was handed out before in
        this walk: the server is sending the walk round in a circle.
        """
        position = self.next_position(page)
        if position is None:
            return None
        if position in self._seen:
            raise PaginationError(
                f"{self.what}: the server named {position!r} as the next page twice; "
                "stopping instead of reading the same pages again and again"
            )
        self._seen.add(position)
        return position

    def reset(self) -> None:
        """Start a new walk (a new query): the positions handed out so far may come again."""
        self._seen.clear()

    def pages(self, fetch: Callable[[P | None], T], start: P | None = None) -> Iterator[T]:
        """Every page of the listing, fetched with ``fetch(position)`` (the first with ``start``)."""
        position = self.start(start)
        while True:
            page = fetch(position)
            yield page
            position = self.advance(page)
            if position is None:
                return


class CursorPaginator(Paginator[str]):
    """A token in the body names the next page; no token (or an empty one) after the last.

    ``cursor`` locates the token, e.g. ``("paging", "next", "after")`` for HubSpot. The token is
    returned as text, whatever JSON type the server used.
    """

    def __init__(self, cursor: Locator, *, what: str = "the listing") -> None:
        super().__init__(what=what)
        self.cursor = cursor

    def next_position(self, page: Any) -> str | None:
        value = locate(page, self.cursor)
        return None if value is None or value == "" else str(value)


class NextLinkPaginator(Paginator[str]):
    """The body carries the URL of the next page (absolute or relative); none after the last.

    ``link`` locates it (``"@odata.nextLink"``, ``"nextRecordsUrl"``); ``done``, if given, locates a
    flag that ends the walk when true, whatever the link says (Salesforce's ``done``).
    """

    def __init__(self, link: Locator, *, done: Locator | None = None, what: str = "the listing") -> None:
        super().__init__(what=what)
        self.link = link
        self.done = done

    def next_position(self, page: Any) -> str | None:
        if self.done is not None and locate(page, self.done):
            return None
        value = locate(page, self.link)
        return str(value) if value else None


class OffsetPaginator(Paginator[int]):
    """``offset``/``limit`` paging: the next offset is this one plus ``limit`` (``step="limit"``) or
    plus the records received (``step="records"``, for servers that may return fewer than asked).

    The walk ends at a page without records (``records`` locates them) or once the offset reaches
    the total (``total`` locates it); at least one of the two must be given. :attr:`offset` is the
    offset after the last page received, for a cursor to resume from; an empty page leaves it.
    """

    def __init__(
        self,
        limit: int,
        *,
        offset: int = 0,
        records: Locator | None = None,
        total: Locator | None = None,
        step: Literal["limit", "records"] = "limit",
        what: str = "the listing",
    ) -> None:
        super().__init__(what=what)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if records is None and (total is None or step == "records"):
            raise ValueError("an offset walk needs records (to see the empty last page or to step by) or a total")
        self.limit = limit
        self.offset = offset
        self.records = records
        self.total = total
        self.step = step

    def start(self, position: int | None) -> int | None:
        if position is not None:
            self.offset = position
        return super().start(self.offset)

    def next_position(self, page: Any) -> int | None:
        received: Sized | None = locate(page, self.records) if self.records is not None else None
        if received is not None and len(received) == 0:
            return None
        self.offset += self.limit if self.step == "limit" or received is None else len(received)
        total = locate(page, self.total) if self.total is not None else None
        if total is not None and self.offset >= int(total):
            return None
        return self.offset


class PageNumberPaginator(Paginator[int]):
    """``page=1, 2, ...`` paging: the walk ends at a page without records (``records`` locates
    them) or at the last page by number (``total_pages`` locates the page count)."""

    def __init__(
        self,
        *,
        page: int = 1,
        records: Locator | None = None,
        total_pages: Locator | None = None,
        what: str = "the listing",
    ) -> None:
        super().__init__(what=what)
        if records is None and total_pages is None:
            raise ValueError("a page-number walk needs records (to see the empty last page) or a page count")
        self.page = page
        self.records = records
        self.total_pages = total_pages

    def start(self, position: int | None) -> int | None:
        if position is not None:
            self.page = position
        return super().start(self.page)

    def next_position(self, page: Any) -> int | None:
        received: Sized | None = locate(page, self.records) if self.records is not None else None
        if received is not None and len(received) == 0:
            return None
        pages = locate(page, self.total_pages) if self.total_pages is not None else None
        if pages is not None and self.page >= int(pages):
            return None
        self.page += 1
        return self.page
