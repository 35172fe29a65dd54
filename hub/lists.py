"""Paged lists for the console and the REST API: receipts, customers, a customer's invoices, the audit log,
connectors' last runs.

Every list is one query with ``LIMIT``/``OFFSET`` and an ``ORDER BY`` that ends on a unique column (so
pages never overlap), plus one ``COUNT`` of the same filter: nothing loads a whole book (a book may
hold a million invoices). Sorting is by a named column (``-name`` for descending) from each list's
allowed set; search (``q``) is a case-insensitive substring on the list's text columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hub.errors import HubError
from hub.i18n import N_
from hub.store import schema
from hub.store.money import money_sum

MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, how many match in all, and where the page starts."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


def _order(sort: str | None, columns: Mapping[str, sa.ColumnElement[Any]], default: str, tiebreak: Any) -> list[Any]:
    key = (sort or default).strip()
    descending = key.startswith("-")
    name = key.lstrip("-+")
    if name not in columns:
        raise HubError(
            N_("cannot sort by %(name)s; choose one of %(allowed)s"),
            values={"name": name, "allowed": ", ".join(sorted(columns))},
        )
    column = columns[name]
    return [column.desc() if descending else column.asc(), tiebreak.desc() if descending else tiebreak.asc()]


def _check_paging(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise HubError(N_("limit must be 1 to %(max)s"), values={"max": MAX_LIMIT})
    if offset < 0:
        raise HubError(N_("offset must be zero or more"))


def _like(q: str | None, columns: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[bool] | None:
    text = (q or "").strip()
    if not text:
        return None
    pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return sa.or_(*(sa.func.lower(c).like(pattern, escape="\\") for c in columns))


def _page(
    conn: sa.Connection,
    query: sa.Select[Any],
    where: list[sa.ColumnElement[bool]],
    order: list[Any],
    count_from: Any,
    limit: int,
    offset: int,
) -> Page:
    total = conn.execute(sa.select(sa.func.count()).select_from(count_from).where(*where)).scalar_one()
    rows = conn.execute(query.where(*where).order_by(*order).limit(limit).offset(offset))
    return Page([dict(r._mapping) for r in rows], int(total), limit, offset)


RECEIPT_STATUSES = ("open", "suggested", "matched")


def receipts(
    conn: sa.Connection,
    *,
    status: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Customer payments (credits, not reversals) by match status."""
    _check_paging(limit, offset)
    r = schema.receipt
    if status is not None and status not in RECEIPT_STATUSES:
        raise HubError(N_("status must be one of %(allowed)s"), values={"allowed": ", ".join(RECEIPT_STATUSES)})
    where: list[sa.ColumnElement[bool]] = [r.c.direction == "credit", r.c.reversal.is_(False)]
    if status is not None:
        where.append(r.c.match_status == status)
    if (found := _like(q, [r.c.bank_ref, r.c.external_id, r.c.payer_name, r.c.remittance])) is not None:
        where.append(found)
    columns = {"id": r.c.id, "booking_date": r.c.booking_date, "amount": r.c.amount, "payer_name": r.c.payer_name}
    query = sa.select(
        r.c.id,
        sa.func.coalesce(r.c.bank_ref, r.c.external_id).label("ref"),
        r.c.external_id.label("key"),
        r.c.source,
        r.c.booking_date,
        r.c.amount,
        r.c.currency,
        r.c.payer_name,
        r.c.payer_account,
        r.c.remittance,
        r.c.match_status,
    )
    return _page(conn, query, where, _order(sort, columns, "-id", r.c.id), r, limit, offset)


def receipt_allocations(conn: sa.Connection, receipt_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The proposed and live allocations of these receipts (not the rejected or undone ones), by rank."""
    if not receipt_ids:
        return {}
    a, i, c = schema.allocation, schema.invoice, schema.customer
    rows = conn.execute(
        sa.select(
            a.c.receipt_id,
            a.c.id,
            i.c.number.label("invoice"),
            a.c.amount,
            i.c.currency,
            a.c.kind,
            a.c.status,
            a.c.rank,
            a.c.confidence,
            a.c.method,
            schema.invoice_customer_id.label("customer_id"),
        )
        .select_from(a.join(i, i.c.id == a.c.invoice_id).outerjoin(c, schema.invoice_customer))
        .where(a.c.receipt_id.in_(list(receipt_ids)), a.c.status.in_(("auto", "suggested", "confirmed")))
        .order_by(a.c.receipt_id, a.c.rank, a.c.id)
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        item = dict(row._mapping)
        out.setdefault(item.pop("receipt_id"), []).append(item)
    return out


def customers(
    conn: sa.Connection,
    *,
    q: str | None = None,
    band: str | None = None,
    flagged: bool | None = None,
    sort: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Customers as the last risk run assessed them (the ``exposure`` table: one row per customer)."""
    _check_paging(limit, offset)
    e = schema.exposure
    where: list[sa.ColumnElement[bool]] = []
    if band:
        where.append(e.c.band == band)
    if (found := _like(q, [e.c.customer_id, e.c.name])) is not None:
        where.append(found)
    if flagged is not None:
        f = schema.risk_flag
        has = sa.exists().where(f.c.customer_id == e.c.customer_id, f.c.active.is_(True))
        where.append(has if flagged else ~has)
    columns = {
        "customer_id": e.c.customer_id,
        "name": e.c.name,
        "open_amount": e.c.open_amount,
        "overdue_amount": e.c.overdue_amount,
        "open_base": e.c.open_base,
        "score": e.c.score,
        "max_days_past_due": e.c.max_days_past_due,
        "utilisation": e.c.utilisation,
    }
    query = sa.select(
        e.c.customer_id,
        e.c.name,
        e.c.currency,
        e.c.open_amount,
        e.c.overdue_amount,
        e.c.open_base,
        e.c.base_currency,
        e.c.credit_limit,
        e.c.utilisation,
        e.c.score,
        e.c.band,
        e.c.max_days_past_due,
        e.c.flags,
        e.c.as_of,
    )
    return _page(conn, query, where, _order(sort, columns, "-open_base", e.c.customer_id), e, limit, offset)


INVOICE_STATUSES = ("open", "paid", "all")


def invoices(
    conn: sa.Connection,
    customer_id: str,
    *,
    status: str = "open",
    q: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """A customer's invoices (its records in every source), ``open`` ones with what live allocations leave open.

    The customer's records are looked up first (by canonical id, indexed), so the invoice scan is
    bounded by the customer's own invoices, not the book."""
    _check_paging(limit, offset)
    if status not in INVOICE_STATUSES:
        raise HubError(N_("status must be one of %(allowed)s"), values={"allowed": ", ".join(INVOICE_STATUSES)})
    c, i, a = schema.customer, schema.invoice, schema.allocation
    records = list(conn.execute(sa.select(c.c.source, c.c.external_id).where(c.c.canonical_id == customer_id)))
    keys = [sa.and_(i.c.source == s, i.c.customer_external_id == x) for s, x in records]
    if ":" in customer_id:  # invoices of a customer no source knows: ``source:customer_external_id``
        source, _, ext = customer_id.partition(":")
        keys.append(sa.and_(i.c.source == source, i.c.customer_external_id == ext))
    if not keys:
        return Page([], 0, limit, offset)
    allocated = (
        sa.select(money_sum(a.c.amount))
        .where(a.c.invoice_id == i.c.id, a.c.status.in_(("auto", "confirmed")))
        .scalar_subquery()
    )
    where: list[sa.ColumnElement[bool]] = [sa.or_(*keys), i.c.status != "cancelled"]
    if status == "open":
        # a literal, as the partial index of open invoices says it: the planner then knows it may use it
        where.append(i.c.open_amount != sa.literal_column("0"))
    elif status == "paid":
        where.append(i.c.open_amount == 0)
    if (found := _like(q, [i.c.number, i.c.payment_reference, i.c.po_number])) is not None:
        where.append(found)
    columns = {"number": i.c.number, "due_date": i.c.due_date, "issue_date": i.c.issue_date, "amount": i.c.amount}
    query = sa.select(
        i.c.id,
        i.c.number,
        i.c.source,
        i.c.issue_date,
        i.c.due_date,
        i.c.currency,
        i.c.amount,
        i.c.open_amount,
        allocated.label("allocated"),
        i.c.status,
        i.c.payment_reference,
    )
    page = _page(conn, query, where, _order(sort, columns, "due_date", i.c.id), i, limit, offset)
    for item in page.items:
        item["allocated"] = item["allocated"] or Decimal(0)
        item["remaining"] = item["open_amount"] - item["allocated"]
    return page


def audit(
    conn: sa.Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """The audit log, newest first by default."""
    _check_paging(limit, offset)
    log = schema.audit_log
    where: list[sa.ColumnElement[bool]] = []
    for column, value in ((log.c.actor, actor), (log.c.action, action), (log.c.object_type, object_type)):
        if value:
            where.append(column == value)
    if object_id:
        where.append(log.c.object_id == object_id)
    if (found := _like(q, [log.c.actor, log.c.action, log.c.object_id])) is not None:
        where.append(found)
    columns = {"at": log.c.at, "actor": log.c.actor, "action": log.c.action, "id": log.c.id}
    query = sa.select(log.c.id, log.c.at, log.c.actor, log.c.action, log.c.object_type, log.c.object_id, log.c.details)
    return _page(conn, query, where, _order(sort, columns, "-id", log.c.id), log, limit, offset)


def last_sync_runs(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Per connector: its latest sync run, and its latest run that failed."""
    s = schema.sync_run
    latest = sa.select(s.c.connector, sa.func.max(s.c.id).label("id")).group_by(s.c.connector).subquery()
    failed = (
        sa.select(s.c.connector, sa.func.max(s.c.id).label("id"))
        .where(s.c.status != "ok", s.c.status != "running")
        .group_by(s.c.connector)
        .subquery()
    )
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(sa.select(s).join(latest, latest.c.id == s.c.id)):
        out[row.connector] = {"last_run": _run(row), "last_failure": None}
    for row in conn.execute(sa.select(s).join(failed, failed.c.id == s.c.id)):
        out.setdefault(row.connector, {"last_run": None, "last_failure": None})["last_failure"] = _run(row)
    return out


def _run(row: Any) -> dict[str, Any]:
    return {
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "status": row.status,
        "stats": row.stats or {},
        "error": row.error,
    }


def last_deliveries(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Per sink: when it last received an event, and its latest delivery error still standing."""
    o = schema.outbox
    out: dict[str, dict[str, Any]] = {}
    for sink, at in conn.execute(
        sa.select(o.c.sink, sa.func.max(o.c.delivered_at)).where(o.c.status == "delivered").group_by(o.c.sink)
    ):
        out.setdefault(sink, {})["last_delivered_at"] = at
    latest_error = (
        sa.select(o.c.sink, sa.func.max(o.c.id).label("id"))
        .where(o.c.status == "failed", o.c.last_error.is_not(None))
        .group_by(o.c.sink)
        .subquery()
    )
    for sink, error in conn.execute(
        sa.select(o.c.sink, o.c.last_error).join(latest_error, latest_error.c.id == o.c.id)
    ):
        out.setdefault(sink, {})["last_error"] = error
    return out


PROMISE_STATUSES = ("open", "kept", "broken")


def promises(
    conn: sa.Connection,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Promises to pay, newest first, with their ledger line (channel, author, source); as
    :meth:`hub.services.Collections.promises` gives them, one page at a time."""
    _check_paging(limit, offset)
    if status is not None and status not in PROMISE_STATUSES:
        raise HubError(N_("status must be one of %(allowed)s"), values={"allowed": ", ".join(PROMISE_STATUSES)})
    p, ca = schema.promise, schema.collection_action
    where: list[sa.ColumnElement[bool]] = []
    if status is not None:
        where.append(p.c.status == status)
    if customer_id is not None:
        where.append(p.c.customer_id == customer_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(p).where(*where)).scalar_one()
    rows = conn.execute(
        sa.select(p, ca.c.channel, ca.c.author, ca.c.source)
        .join(ca, ca.c.id == p.c.action_id)
        .where(*where)
        .order_by(p.c.made_on.desc(), p.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        {
            "customer_id": r.customer_id,
            "made_on": r.made_on.isoformat(),
            "promised_date": r.promised_date.isoformat(),
            "amount": r.amount,
            "currency": r.currency,
            "status": r.status,
            "received": r.received,
            "settled_on": r.settled_on.isoformat() if r.settled_on else None,
            "channel": r.channel,
            "author": r.author,
            "source": r.source,
            "action_id": r.action_id,
        }
        for r in rows
    ]
    return Page(items, int(total), limit, offset)
