"""What the API's routes share: the paging parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page (at most 500).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]
Search = Annotated[str | None, Query(max_length=200, description="Case-insensitive text to look for.")]
