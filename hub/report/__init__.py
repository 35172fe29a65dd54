"""``hub report --html``: one self-contained HTML page a person can open, print or mail.

Two halves, each one idea:

- :mod:`hub.report.figures` reads the store (the last risk run and the state of cash application)
  into a :class:`Report` of plain figures: :func:`collect_report`. The only part that queries.
- :mod:`hub.report.html` renders those figures as the page: :func:`render_report`. No database.

:func:`build_report` and :func:`write_report` join them for the command line and the services.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from hub.errors import HubError
from hub.report.figures import (
    NO_EXPOSURE,
    CustomerLine,
    GroupLine,
    MatchLine,
    Report,
    collect_report,
)
from hub.report.html import render_report
from hub.store import Store

__all__ = [
    "NO_EXPOSURE",
    "CustomerLine",
    "GroupLine",
    "MatchLine",
    "Report",
    "build_report",
    "collect_report",
    "render_report",
    "write_report",
]


def build_report(
    store: Store,
    *,
    as_of: dt.date,
    base_currency: str,
    top: int = 20,
    bucket_bounds: Sequence[int] | None = None,
    fx_rates: Mapping[str, Decimal] | None = None,
    generated_at: dt.datetime | None = None,
    locale: str = "en",
) -> str:
    """The report as one self-contained HTML document (see :mod:`hub.report.html`).

    ``bucket_bounds`` (``[risk] buckets``) makes every configured ageing bucket show, even an empty
    one; ``fx_rates`` (``[fx] rates``) converts receipts and groups where no synced rate exists.
    """
    return render_report(
        collect_report(
            store,
            as_of=as_of,
            base_currency=base_currency,
            top=top,
            bucket_bounds=bucket_bounds,
            fx_rates=fx_rates,
            generated_at=generated_at,
        ),
        locale,
    )


def write_report(
    store: Store,
    path: str | Path,
    *,
    as_of: dt.date,
    base_currency: str,
    top: int = 20,
    bucket_bounds: Sequence[int] | None = None,
    fx_rates: Mapping[str, Decimal] | None = None,
    generated_at: dt.datetime | None = None,
    locale: str = "en",
) -> Report:
    """Write the report to ``path`` (whole or not at all) in ``locale`` and return its figures."""
    report = collect_report(
        store,
        as_of=as_of,
        base_currency=base_currency,
        top=top,
        bucket_bounds=bucket_bounds,
        fx_rates=fx_rates,
        generated_at=generated_at,
    )
    text = render_report(report, locale)
    target = Path(path)
    if target.is_dir():
        raise HubError(f"cannot write the report to {target}: it is a folder; name a file such as report.html")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise HubError(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    return report
