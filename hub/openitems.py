"""What a customer still owes, invoice by invoice: the one reader of reminders, letters, statements,
late-payment interest and cases.

Open in the hub is the ERP's open amount less the hub's live allocations (:data:`hub.recon.types.LIVE`:
payments, credit notes and write-offs the hub matched or allocated by hand), as the risk run counts it
(:mod:`hub.risk.exposure`), so that a receipt the hub has matched but the ERP has not booked yet is not
dunned again. Invoices not ``open`` or ``disputed`` (paid, cancelled, closed) have nothing open.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from hub.recon.types import LIVE
from hub.store import schema

ZERO = Decimal("0.00")
#: Invoice statuses with something open (paid, cancelled and closed ones have nothing).
OPEN_STATUSES = ("open", "disputed")


@dataclass(frozen=True)
class OpenInvoice:
    """One invoice of the customer: ``open`` is what is open in the hub (the ERP's ``erp_open`` less
    ``payments``, zero when the status has nothing open); ``payments`` are the live allocations as
    (receipt's booking day, amount), oldest first."""

    number: str
    currency: str
    issue_date: dt.date
    due_date: dt.date
    amount: Decimal
    open: Decimal
    status: str
    erp_open: Decimal = ZERO
    payments: tuple[tuple[dt.date, Decimal], ...] = field(default=())


def customer_invoices(conn: sa.Connection, customer_id: str, numbers: Sequence[str] | None = None) -> list[OpenInvoice]:
    """The customer's invoices (only ``numbers`` if given), oldest due first, with what is open in the hub."""
    inv, a, r = schema.invoice, schema.allocation, schema.receipt
    invoices = inv.outerjoin(schema.customer, schema.invoice_customer)
    wanted = [schema.invoice_customer_id == customer_id]
    if numbers is not None:
        wanted.append(inv.c.number.in_(list(numbers)))
    rows = list(
        conn.execute(
            sa.select(
                inv.c.id,
                inv.c.number,
                inv.c.currency,
                inv.c.issue_date,
                inv.c.due_date,
                inv.c.amount,
                inv.c.open_amount,
                inv.c.status,
            )
            .select_from(invoices)
            .where(*wanted)
            .order_by(inv.c.due_date, inv.c.number)
        )
    )
    paid: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    if rows:  # the same invoices' live allocations (no list of ids: a customer may have thousands)
        for invoice_id, booked, amount in conn.execute(
            sa.select(a.c.invoice_id, r.c.booking_date, a.c.amount)
            .select_from(invoices.join(a, a.c.invoice_id == inv.c.id).join(r, r.c.id == a.c.receipt_id))
            .where(*wanted, a.c.status.in_(LIVE))
        ):
            paid[invoice_id].append((booked, amount))
    out = []
    for row in rows:
        payments = tuple(sorted(paid[row.id]))
        applied = sum((amount for _, amount in payments), ZERO)
        out.append(
            OpenInvoice(
                number=row.number,
                currency=row.currency,
                issue_date=row.issue_date,
                due_date=row.due_date,
                amount=row.amount,
                open=row.open_amount - applied if row.status in OPEN_STATUSES else ZERO,
                status=row.status,
                erp_open=row.open_amount,
                payments=payments,
            )
        )
    return out
