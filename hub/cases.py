"""Cases after the collection ladder: litigation, arbitration or a collection agency (docs/cases.md).

A case belongs to one customer and covers some of its invoices (by default every invoice open when
it is opened). It has a kind (``litigation``, ``arbitration``, ``agency``), a court and case number
or an agency and its reference, a status that moves forward only (:data:`TRANSITIONS`, each change
kept in ``case_status_event`` and the audit log), costs, documents (path and SHA-256) and
recoveries.

- One running case (``open``, ``filed``, ``judgment``) per customer and kind: the store's unique
  partial index decides, so two people opening at once get one case and the other a clear error.
- A recovery (money the agency or lawyer collected) is a receipt with source ``case``, allocated by
  hand (:class:`hub.allocate.HandDesk`, the matching desk's rules and audit) to the case's open
  invoices, oldest due first; what is left over stays on the receipt as unapplied cash. The agency's
  commission on it is a cost of the case.
- The handover file (:func:`handover`) gives an agency or lawyer the invoices, the collection
  ledger, the promises, the customer's records and a case summary, as XLSX or a zip of CSVs, with
  sheet names and headers in English or Simplified Chinese.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub import i18n
from hub.codes import CHANNEL_LABELS
from hub.comms.compliance import open_disputes
from hub.config import InterestConfig
from hub.errors import CaseError, MatchError
from hub.i18n import N_
from hub.openitems import customer_invoices  # what is open in the hub (one reader with hub.comms, hub.interest)
from hub.store import Store, schema, utcnow
from hub.store.bulk import record_hash

ZERO = Decimal("0.00")
KINDS = ("litigation", "arbitration", "agency")
STATUSES = ("open", "filed", "judgment", "settled", "closed", "written_off")
ACTIVE = schema.CASE_ACTIVE_STATUSES
#: Where a case may go from each status; an agency case is never filed in court.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("filed", "settled", "closed", "written_off"),
    "filed": ("judgment", "settled", "closed", "written_off"),
    "judgment": ("settled", "closed", "written_off"),
    "settled": ("closed",),
    "closed": (),
    "written_off": (),
}
FINAL = ("closed", "written_off")
COST_KINDS = ("court_fee", "lawyer_fee", "agency_commission", "other")
#: ``source`` of the receipts recoveries are recorded as.
RECOVERY_SOURCE = "case"
FORMATS = ("xlsx", "csv")


def _check_choice(what: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise CaseError(
            N_("%(what)s must be one of %(allowed)s, got %(value)r"),
            values={"what": what, "allowed": ", ".join(allowed), "value": value},
        )


def _positive(what: str, amount: Decimal) -> None:
    if not amount.is_finite() or amount <= 0:
        raise CaseError(N_("%(what)s must be above zero, got %(amount)s"), values={"what": what, "amount": amount})


# -- reading -------------------------------------------------------------------------------------------


def known_customer(conn: sa.Connection, customer_id: str) -> bool:
    c, inv = schema.customer, schema.invoice
    if conn.execute(sa.select(c.c.id).where(c.c.canonical_id == customer_id).limit(1)).first() is not None:
        return True
    return (
        conn.execute(
            sa.select(inv.c.id)
            .select_from(inv.outerjoin(c, schema.invoice_customer))
            .where(schema.invoice_customer_id == customer_id)
            .limit(1)
        ).first()
        is not None
    )


def _case(conn: sa.Connection, case_id: int) -> Any:
    row = conn.execute(sa.select(schema.collection_case).where(schema.collection_case.c.id == case_id)).first()
    if row is None:
        raise CaseError(N_("no case %(case)s"), values={"case": case_id})
    return row


def _active_case(conn: sa.Connection, customer_id: str, kind: str) -> Any:
    cc = schema.collection_case
    return conn.execute(
        sa.select(cc).where(cc.c.customer_id == customer_id, cc.c.kind == kind, cc.c.status.in_(ACTIVE))
    ).first()


def _already(row: Any) -> CaseError:
    return CaseError(
        N_("customer %(customer)s already has a running %(kind)s case: %(case)s (%(status)s)"),
        values={"customer": row.customer_id, "kind": row.kind, "case": row.id, "status": row.status},
    )


def case_row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "kind": row.kind,
        "status": row.status,
        "currency": row.currency,
        "court": row.court,
        "case_number": row.case_number,
        "agency": row.agency,
        "agency_ref": row.agency_ref,
        "invoices": list(row.invoices or []),
        "claimed": row.claimed,
        "note": row.note,
        "opened_by": row.opened_by,
        "opened_at": _utc(row.opened_at),
        "updated_at": _utc(row.updated_at),
        "closed_at": _utc(row.closed_at) if row.closed_at else None,
    }


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _sums(conn: sa.Connection, table: sa.Table, case_ids: Sequence[int]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = defaultdict(lambda: ZERO)
    if case_ids:
        for case_id, amount in conn.execute(
            sa.select(table.c.case_id, table.c.amount).where(table.c.case_id.in_(list(case_ids)))
        ):
            out[case_id] += amount
    return out


def list_cases(
    conn: sa.Connection, *, status: str | None = None, customer_id: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """Cases, newest first, each with its costs and what was recovered so far."""
    if status is not None and status != "active":
        _check_choice("status", status, (*STATUSES, "active"))
    if kind is not None:
        _check_choice("kind", kind, KINDS)
    cc = schema.collection_case
    query = sa.select(cc).order_by(cc.c.opened_at.desc(), cc.c.id.desc())
    if status == "active":
        query = query.where(cc.c.status.in_(ACTIVE))
    elif status is not None:
        query = query.where(cc.c.status == status)
    if customer_id is not None:
        query = query.where(cc.c.customer_id == customer_id)
    if kind is not None:
        query = query.where(cc.c.kind == kind)
    rows = list(conn.execute(query))
    ids = [r.id for r in rows]
    costs, recovered = _sums(conn, schema.case_cost, ids), _sums(conn, schema.case_recovery, ids)
    return [{**case_row(r), "costs": costs[r.id], "recovered": recovered[r.id]} for r in rows]


def show_case(conn: sa.Connection, case_id: int, *, as_of: dt.date) -> dict[str, Any]:
    """A case with its invoices (open now, days late), costs, recoveries, documents and status history."""
    row = _case(conn, case_id)
    cost, rec, doc, ev = schema.case_cost, schema.case_recovery, schema.case_document, schema.case_status_event
    costs: list[dict[str, Any]] = [
        {
            "id": c.id,
            "kind": c.kind,
            "amount": c.amount,
            "currency": c.currency,
            "incurred_on": c.incurred_on,
            "description": c.description,
            "recorded_by": c.recorded_by,
        }
        for c in conn.execute(sa.select(cost).where(cost.c.case_id == case_id).order_by(cost.c.incurred_on, cost.c.id))
    ]
    r = schema.receipt
    recoveries: list[dict[str, Any]] = [
        {
            "id": x.id,
            "ref": x.ref,
            "amount": x.amount,
            "currency": x.currency,
            "booked_on": x.booked_on,
            "receipt": x.external_id,
            "match_status": x.match_status,
            "recorded_by": x.recorded_by,
        }
        for x in conn.execute(
            sa.select(rec, r.c.external_id, r.c.match_status)
            .join(r, r.c.id == rec.c.receipt_id)
            .where(rec.c.case_id == case_id)
            .order_by(rec.c.booked_on, rec.c.id)
        )
    ]
    documents = [
        {"id": d.id, "name": d.name, "path": d.path, "sha256": d.sha256, "size": d.size, "added_by": d.added_by}
        for d in conn.execute(sa.select(doc).where(doc.c.case_id == case_id).order_by(doc.c.id))
    ]
    history = [
        {"from": e.from_status, "to": e.to_status, "actor": e.actor, "at": _utc(e.at), "note": e.note}
        for e in conn.execute(sa.select(ev).where(ev.c.case_id == case_id).order_by(ev.c.at, ev.c.id))
    ]
    invoices: list[dict[str, Any]] = [
        {
            "number": i.number,
            "currency": i.currency,
            "issue_date": i.issue_date,
            "due_date": i.due_date,
            "amount": i.amount,
            "open": i.open,
            "days_late": max((as_of - i.due_date).days, 0),
        }
        for i in customer_invoices(conn, row.customer_id, row.invoices)
    ]
    return {
        **case_row(row),
        "invoices": invoices,
        "costs": costs,
        "recoveries": recoveries,
        "documents": documents,
        "history": history,
        "costs_total": sum((c["amount"] for c in costs), ZERO),
        "recovered": sum((x["amount"] for x in recoveries), ZERO),
        "open_now": sum((i["open"] for i in invoices if i["currency"] == row.currency), ZERO),
        "next": list(_next_statuses(row)),
    }


def _next_statuses(row: Any) -> tuple[str, ...]:
    allowed = TRANSITIONS[row.status]
    if row.kind == "agency":
        allowed = tuple(s for s in allowed if s not in ("filed", "judgment"))
    return allowed


# -- writing -------------------------------------------------------------------------------------------


def open_case(
    store: Store,
    customer_id: str,
    *,
    kind: str,
    actor: str,
    invoices: Sequence[str] = (),
    court: str | None = None,
    case_number: str | None = None,
    agency: str | None = None,
    agency_ref: str | None = None,
    note: str | None = None,
) -> int:
    """Open a case; returns its id. Refused when the customer already has a running case of the kind."""
    _check_choice("kind", kind, KINDS)
    if kind == "agency" and (court or case_number):
        raise CaseError(N_("an agency case has an agency and its reference, not a court or case number"))
    if kind != "agency" and (agency or agency_ref):
        raise CaseError(N_("a %(kind)s case has a court and case number, not an agency"), values={"kind": kind})
    now = utcnow()
    cc = schema.collection_case
    try:
        with store.begin() as conn:
            if not known_customer(conn, customer_id):
                raise CaseError(N_("no customer %(customer)r in the hub"), values={"customer": customer_id})
            running = _active_case(conn, customer_id, kind)
            if running is not None:
                raise _already(running)
            wanted = list(dict.fromkeys(invoices))
            found = customer_invoices(conn, customer_id, wanted or None)
            if wanted:
                missing = sorted(set(wanted) - {i.number for i in found})
                if missing:
                    raise CaseError(
                        N_("customer %(customer)s has no invoice %(invoices)s"),
                        values={"customer": customer_id, "invoices": ", ".join(missing)},
                    )
            else:
                # invoices the customer contests stay out unless named: an agency or a court is handed
                # what is owed, and the dispute is settled first (docs/communications.md)
                disputed, _whole = open_disputes(conn, customer_id)
                found = [i for i in found if i.open > 0 and i.number not in disputed]
                if not found:
                    raise CaseError(
                        N_("customer %(customer)s has no open invoice to take to a case"),
                        values={"customer": customer_id},
                    )
            currencies = sorted({i.currency for i in found})
            if len(currencies) > 1:
                raise CaseError(
                    N_("the invoices are in %(currencies)s: name the invoices of one currency with --invoice"),
                    values={"currencies": ", ".join(currencies)},
                )
            inserted = conn.execute(
                cc.insert().values(
                    customer_id=customer_id,
                    kind=kind,
                    status="open",
                    currency=currencies[0],
                    court=court,
                    case_number=case_number,
                    agency=agency,
                    agency_ref=agency_ref,
                    invoices=[i.number for i in found],
                    claimed=sum((max(i.open, ZERO) for i in found), ZERO),
                    note=note,
                    opened_by=actor,
                    opened_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key
            assert inserted is not None
            case_id = int(inserted[0])
            conn.execute(
                schema.case_status_event.insert().values(
                    case_id=case_id, from_status=None, to_status="open", actor=actor, at=now, note=note
                )
            )
            store.audit(
                conn,
                actor,
                "case.open",
                "case",
                str(case_id),
                customer_id=customer_id,
                kind=kind,
                invoices=[i.number for i in found],
            )
    except sa.exc.IntegrityError:  # another person opened one at the same moment: theirs stands
        with store.connect() as conn:
            running = _active_case(conn, customer_id, kind)
        if running is None:
            raise
        raise _already(running) from None
    return case_id


def set_status(
    store: Store,
    case_id: int,
    status: str,
    *,
    actor: str,
    note: str | None = None,
    court: str | None = None,
    case_number: str | None = None,
) -> dict[str, Any]:
    """Move a case to ``status`` (:data:`TRANSITIONS`), recorded in its history and the audit log."""
    _check_choice("status", status, STATUSES)
    cc = schema.collection_case
    now = utcnow()
    with store.begin() as conn:
        row = _case(conn, case_id)
        if status not in _next_statuses(row):
            allowed = ", ".join(_next_statuses(row)) or "-"
            raise CaseError(
                N_("case %(case)s is %(status)s: it can move to %(allowed)s, not %(wanted)s"),
                values={"case": case_id, "status": row.status, "allowed": allowed, "wanted": status},
            )
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status in FINAL:
            values["closed_at"] = now
        if court is not None:
            values["court"] = court
        if case_number is not None:
            values["case_number"] = case_number
        changed = conn.execute(cc.update().where(cc.c.id == case_id, cc.c.status == row.status).values(**values))
        if changed.rowcount != 1:  # someone else moved it meanwhile
            raise CaseError(N_("case %(case)s was changed meanwhile; look at it again"), values={"case": case_id})
        conn.execute(
            schema.case_status_event.insert().values(
                case_id=case_id, from_status=row.status, to_status=status, actor=actor, at=now, note=note
            )
        )
        store.audit(conn, actor, "case.status", "case", str(case_id), previous=row.status, status=status, note=note)
        return case_row(_case(conn, case_id))


def add_cost(
    store: Store,
    case_id: int,
    *,
    kind: str,
    amount: Decimal,
    actor: str,
    incurred_on: dt.date,
    description: str | None = None,
    currency: str | None = None,
) -> int:
    """Record a cost of the case (a court fee, the lawyer's or the agency's fee)."""
    _check_choice("kind", kind, COST_KINDS)
    _positive("the amount", amount)
    with store.begin() as conn:
        return _insert_cost(conn, store, case_id, kind, amount, actor, incurred_on, description, currency)


def _insert_cost(
    conn: sa.Connection,
    store: Store,
    case_id: int,
    kind: str,
    amount: Decimal,
    actor: str,
    incurred_on: dt.date,
    description: str | None,
    currency: str | None,
) -> int:
    row = _case(conn, case_id)
    inserted = conn.execute(
        schema.case_cost.insert().values(
            case_id=case_id,
            kind=kind,
            amount=amount,
            currency=(currency or row.currency).upper(),
            incurred_on=incurred_on,
            description=description,
            recorded_by=actor,
            recorded_at=utcnow(),
        )
    ).inserted_primary_key
    assert inserted is not None
    store.audit(conn, actor, "case.cost", "case", str(case_id), kind=kind, amount=str(amount))
    return int(inserted[0])


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def add_document(store: Store, case_id: int, path: Path, *, actor: str, name: str | None = None) -> dict[str, Any]:
    """Attach a file to the case: its absolute path, size and SHA-256 (the same file twice is refused)."""
    path = path.expanduser().resolve()
    if not path.is_file():
        raise CaseError(N_("no file %(path)s"), values={"path": str(path)})
    digest, size = sha256_of(path)
    doc = schema.case_document
    try:
        with store.begin() as conn:
            _case(conn, case_id)
            conn.execute(
                doc.insert().values(
                    case_id=case_id,
                    name=name or path.name,
                    path=str(path),
                    sha256=digest,
                    size=size,
                    added_by=actor,
                    added_at=utcnow(),
                )
            )
            store.audit(conn, actor, "case.document", "case", str(case_id), path=str(path), sha256=digest)
    except sa.exc.IntegrityError:
        raise CaseError(
            N_("case %(case)s already has this file (SHA-256 %(sha)s)"), values={"case": case_id, "sha": digest[:12]}
        ) from None
    return {"case_id": case_id, "name": name or path.name, "path": str(path), "sha256": digest, "size": size}


@dataclass(frozen=True)
class Recovery:
    case_id: int
    ref: str
    receipt: str
    amount: Decimal
    currency: str
    allocated: list[tuple[str, Decimal]]
    unapplied: Decimal
    recovered: Decimal
    """The case's recoveries in all, this one included."""
    problem: str | None = None
    """Why the receipt could not be allocated (it stays open for the matching desk), else None."""


def record_recovery(
    store: Store,
    case_id: int,
    amount: Decimal,
    *,
    booked_on: dt.date,
    ref: str,
    actor: str,
    commission: Decimal | None = None,
) -> Recovery:
    """Record money the agency or lawyer collected as a receipt (source ``case``) and allocate it to the
    case's open invoices, oldest due first (:class:`hub.allocate.HandDesk`); a commission is a cost."""
    from hub.allocate import HandDesk, Line

    _positive("the amount", amount)
    if commission is not None:
        _positive("the commission", commission)
    ref = ref.strip()
    if not ref:
        raise CaseError(N_("a recovery needs a reference (--ref)"))
    now = utcnow()
    external_id = f"case-{case_id}:{ref}"
    try:
        with store.begin() as conn:
            row = _case(conn, case_id)
            values = {
                "source": RECOVERY_SOURCE,
                "external_id": external_id,
                "synced_at": now,
                "booking_date": booked_on,
                "value_date": booked_on,
                "amount": amount,
                "currency": row.currency,
                "direction": "credit",
                "reversal": False,
                "payer_name": row.agency or row.court or row.kind,
                "remittance": f"recovery {ref} of case {case_id} ({row.kind})",
                "references": [],
                "additional_remittance": [],
                "match_status": "open",
            }
            receipt_id = conn.execute(
                schema.receipt.insert().values(
                    record_hash=record_hash([external_id, str(amount), booked_on.isoformat()]), **values
                )
            ).inserted_primary_key
            assert receipt_id is not None
            conn.execute(
                schema.case_recovery.insert().values(
                    case_id=case_id,
                    ref=ref,
                    amount=amount,
                    currency=row.currency,
                    booked_on=booked_on,
                    receipt_id=int(receipt_id[0]),
                    recorded_by=actor,
                    recorded_at=now,
                )
            )
            if commission is not None:
                _insert_cost(
                    conn,
                    store,
                    case_id,
                    "agency_commission",
                    commission,
                    actor,
                    booked_on,
                    f"commission on recovery {ref}",
                    None,
                )
            store.audit(conn, actor, "case.recovery", "case", str(case_id), ref=ref, amount=str(amount))
    except sa.exc.IntegrityError:
        raise CaseError(
            N_("recovery %(ref)s of case %(case)s is already recorded"), values={"ref": ref, "case": case_id}
        ) from None
    lines: list[Line] = []
    left = amount
    problem = None
    # The matching desk allocates in its own transaction, under its lock and with its checks. Another
    # recovery (or a match) allocated meanwhile makes these amounts too much: read them again and retry.
    for _attempt in range(3):
        with store.connect() as conn:
            wanted = [
                i
                for i in customer_invoices(conn, row.customer_id, row.invoices)
                if i.open > 0 and i.currency == row.currency
            ]
        lines, left = [], amount
        for inv in wanted:
            if left <= 0:
                break
            part = min(inv.open, left)
            lines.append(Line(inv.number, part))
            left -= part
        if not lines:
            break
        try:
            HandDesk(store).allocate(
                external_id, lines, actor=actor, note=f"recovery {ref} of case {case_id}", customer=row.customer_id
            )
            problem = None
            break
        except MatchError as exc:  # a failure leaves the receipt open for the matching desk
            problem = str(exc)
    if problem is not None:
        lines, left = [], amount
    with store.connect() as conn:
        recovered = _sums(conn, schema.case_recovery, [case_id])[case_id]
    return Recovery(
        case_id,
        ref,
        external_id,
        amount,
        row.currency,
        [(x.invoice, x.amount) for x in lines],
        left,
        recovered,
        problem,
    )


# -- handover --------------------------------------------------------------------------------------------

#: Sheet names (at most 31 characters) and column headers, marked for translation.
SHEETS: dict[str, tuple[str, list[str]]] = {
    "invoices": (
        N_("Invoices"),
        [
            N_("Invoice number"),
            N_("Issue date"),
            N_("Due date"),
            N_("Currency"),
            N_("Amount"),
            N_("Open"),
            N_("Days late"),
            N_("Interest"),
            N_("Compensation"),
        ],
    ),
    "ledger": (
        N_("Ledger"),
        [N_("Time (UTC)"), N_("Channel"), N_("By"), N_("Invoices"), N_("Content"), N_("Outcome"), N_("Source")],
    ),
    "promises": (
        N_("Promises"),
        [
            N_("Made on"),
            N_("Promised date"),
            N_("Amount"),
            N_("Currency"),
            N_("Status"),
            N_("Received"),
            N_("Settled on"),
        ],
    ),
    "contacts": (
        N_("Contacts"),
        [
            N_("System"),
            N_("Id there"),
            N_("Legal name"),
            N_("Country"),
            N_("Tax ids"),
            N_("IBANs"),
            N_("Payment terms (days)"),
        ],
    ),
    "summary": (N_("Case summary"), [N_("Item"), N_("Value")]),
}
SUMMARY_ITEMS = {
    "case": N_("Case"),
    "customer": N_("Customer"),
    "name": N_("Customer name"),
    "kind": N_("Kind"),
    "status": N_("Status"),
    "court": N_("Court"),
    "case_number": N_("Case number"),
    "agency": N_("Agency"),
    "agency_ref": N_("Agency reference"),
    "opened": N_("Opened on"),
    "opened_by": N_("Opened by"),
    "claimed": N_("Claimed"),
    "open_now": N_("Open now"),
    "interest": N_("Interest"),
    "costs": N_("Costs"),
    "recovered": N_("Recovered"),
    "as_of": N_("As of"),
}
CASE_KIND_LABELS = {
    "litigation": N_("litigation"),
    "arbitration": N_("arbitration"),
    "agency": N_("collection agency"),
}
CASE_STATUS_LABELS = {
    "open": N_("in progress"),
    "filed": N_("filed"),
    "judgment": N_("judgment"),
    "settled": N_("settled"),
    "closed": N_("closed"),
    "written_off": N_("written off"),
}


def handover_tables(
    conn: sa.Connection,
    case_id: int,
    *,
    as_of: dt.date,
    settings: InterestConfig,
    locale: str = "en",
    master_source: str | None = None,
) -> dict[str, tuple[str, list[str], list[list[Any]]]]:
    """Each sheet: its (translated) name, headers and rows (dates as dates, amounts as Decimals)."""
    from hub.interest import interest_for
    from hub.risk.collection import ledger, promise_rows

    case = show_case(conn, case_id, as_of=as_of)
    interest = {x.invoice: x for x in interest_for(conn, case["customer_id"], as_of, settings=settings)}
    invoices = [
        [
            i["number"],
            i["issue_date"],
            i["due_date"],
            i["currency"],
            i["amount"],
            i["open"],
            i["days_late"],
            interest[i["number"]].interest if i["number"] in interest else ZERO,
            interest[i["number"]].compensation if i["number"] in interest else ZERO,
        ]
        for i in case["invoices"]
    ]
    lines = ledger(conn, case["customer_id"], master_source=master_source)
    ledger_rows = [
        [
            x["at"][:19].replace("T", " "),
            i18n.gettext(locale, CHANNEL_LABELS.get(x["channel"], x["channel"])),
            x["author"] or "",
            " ".join(x["invoices"]),
            x["content"],
            x["outcome"] or "",
            x["source"],
        ]
        for x in lines
    ]
    promises = [
        [p.made_on, p.promised_date, p.amount, p.currency, p.status, p.received, p.settled_on]
        for p in promise_rows(conn, customer_id=case["customer_id"])
    ]
    c = schema.customer
    records = list(conn.execute(sa.select(c).where(c.c.canonical_id == case["customer_id"]).order_by(c.c.id)))
    contacts = [
        [
            r.source,
            r.external_id,
            r.legal_name,
            r.country or "",
            ", ".join(str(t.get("value", t)) if isinstance(t, dict) else str(t) for t in r.tax_ids or []),
            ", ".join(str(x) for x in r.ibans or []),
            r.payment_terms_days if r.payment_terms_days is not None else "",
        ]
        for r in records
    ]

    def say(text: str) -> str:
        return i18n.gettext(locale, text)

    summary_values = {
        "case": case["id"],
        "customer": case["customer_id"],
        "name": records[0].legal_name if records else "",
        "kind": say(CASE_KIND_LABELS[case["kind"]]),
        "status": say(CASE_STATUS_LABELS[case["status"]]),
        "court": case["court"] or "",
        "case_number": case["case_number"] or "",
        "agency": case["agency"] or "",
        "agency_ref": case["agency_ref"] or "",
        "opened": case["opened_at"].date(),
        "opened_by": case["opened_by"],
        "claimed": f"{case['claimed']} {case['currency']}",
        "open_now": f"{case['open_now']} {case['currency']}",
        "interest": f"{sum((x.total for x in interest.values()), ZERO)} {case['currency']}",
        "costs": f"{case['costs_total']} {case['currency']}",
        "recovered": f"{case['recovered']} {case['currency']}",
        "as_of": as_of,
    }
    summary = [[say(SUMMARY_ITEMS[k]), v] for k, v in summary_values.items()]
    data = {"invoices": invoices, "ledger": ledger_rows, "promises": promises, "contacts": contacts, "summary": summary}
    return {key: (say(title), [say(h) for h in headers], data[key]) for key, (title, headers) in SHEETS.items()}


def write_handover(tables: dict[str, tuple[str, list[str], list[list[Any]]]], path: Path, fmt: str) -> Path:
    """Write the sheets as an XLSX workbook (openpyxl) or a zip of UTF-8 CSV files (one per sheet)."""
    _check_choice("format", fmt, FORMATS)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font

        book = Workbook()
        book.remove(book.active)  # type: ignore[arg-type]
        for title, headers, rows in tables.values():
            sheet = book.create_sheet(title[:31])
            sheet.append(headers)
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for row in rows:
                sheet.append(row)
            sheet.freeze_panes = "A2"
        book.save(path)
        return path
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, (_title, headers, rows) in tables.items():
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(headers)
            writer.writerows([["" if v is None else str(v) for v in row] for row in rows])
            # a byte order mark, so that spreadsheet programs read the Chinese headers as UTF-8
            archive.writestr(f"{key}.csv", "\ufeff" + text.getvalue())
    return path
