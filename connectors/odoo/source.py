"""Customers (``res.partner``) and customer invoices (``account.move``) read from Odoo.

Each stream is read with ``search_read`` in pages of ``page_size`` ordered by ``write_date, id``,
each page asking for the records after the last one read (keyset paging). Offset paging would skip
or repeat records when one is written during the sync (it moves to the end and shifts every offset);
with keyset paging a record written meanwhile is simply read again, later. The cursor saved with
every page is ``{"write_date": ..., "id": ...}`` of its last record, so an interrupted sync resumes
after it and the next sync reads only what changed since.

Raw records are Odoo's fields with its conventions removed, so mapping files stay declarative:

- ``False`` for an empty value becomes ``None`` (except in boolean fields);
- a many2one ``[7, "Azure Interior"]`` becomes ``field = "7"`` and ``field_name = "Azure Interior"``;
- many2many and one2many id lists become lists of id strings;
- floats (monetary amounts) become decimal strings (``1250.5`` -> ``"1250.5"``): money is never a float;
- datetimes (UTC in Odoo) become ISO 8601 with ``+00:00``; ``id`` becomes a string.

On top of that each stream adds the derived fields its mapping needs (see :func:`customer_extras`
and :func:`invoice_extras`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from hub import JSONValue, Page, Source, SourceError, StreamSpec, get_logger

from .client import OdooClient

log = get_logger(__name__)

#: The companies and individuals invoices are made out to: commercial entities (companies, and
#: people without a parent company) that are customers. Contacts of a company are not read:
#: Odoo books their invoices on the company (``commercial_partner_id``).
DEFAULT_CUSTOMER_DOMAIN: list[Any] = [
    "|",
    ["is_company", "=", True],
    "&",
    ["parent_id", "=", False],
    ["customer_rank", ">", 0],
]

#: Posted and cancelled customer invoices and credit notes, and drafts that were posted before
#: (they have a number): an invoice reset to draft is no longer owed, so it must leave the hub's
#: open items instead of staying open there with its last posted amount.
INVOICE_DOMAIN: list[Any] = [
    ["move_type", "in", ["out_invoice", "out_refund"]],
    ["state", "in", ["posted", "cancel", "draft"]],
    ["name", "not in", ["/", False]],
]

CUSTOMER_FIELDS = [
    "name",
    "vat",
    "country_id",
    "country_code",
    "parent_id",
    "is_company",
    "customer_rank",
    "ref",
    "property_payment_term_id",
    "credit_limit",
    "category_id",
    "bank_ids",
    "write_date",
]
CUSTOMER_REQUIRED = {"name", "write_date"}
INVOICE_FIELDS = [
    "name",
    "move_type",
    "state",
    "partner_id",
    "commercial_partner_id",
    "invoice_date",
    "invoice_date_due",
    "currency_id",
    "amount_total",
    "amount_residual",
    "payment_state",
    "ref",
    "payment_reference",
    "invoice_origin",
    "write_date",
]
INVOICE_REQUIRED = {
    "name",
    "move_type",
    "state",
    "partner_id",
    "invoice_date",
    "invoice_date_due",
    "currency_id",
    "amount_total",
    "amount_residual",
    "payment_state",
    "write_date",
}

STREAMS: dict[str, tuple[str, str, str]] = {
    # stream: (record type, default mapping, Odoo model)
    "customers": ("customer", "odoo-customers", "res.partner"),
    "invoices": ("invoice", "odoo-invoices", "account.move"),
}

_TERM_DAYS = re.compile(r"^\s*(\d{1,3})\s+days?\s*$", re.IGNORECASE)
_IMMEDIATE = {"immediate payment", "immediate"}
_MAX_DECIMALS = 6


def to_decimal_text(value: float | int) -> str:
    """A float as Odoo rounded it, as decimal text: ``1250.5`` -> ``"1250.5"`` (``repr`` is the shortest exact form)."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_MAX_DECIMALS:
        number = number.quantize(Decimal(1).scaleb(-_MAX_DECIMALS))
    return format(number, "f")


def odoo_datetime_to_iso(value: str) -> str:
    """``"2024-03-01 09:30:00"`` (Odoo, UTC) -> ``"2024-03-01T09:30:00+00:00"``."""
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).isoformat()


def normalise(row: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    """One ``search_read`` row without Odoo's conventions (see the module docstring)."""
    out: dict[str, Any] = {"id": str(row["id"])}
    for field, value in row.items():
        if field == "id":
            continue
        kind = types.get(field)
        if kind == "many2one":
            if isinstance(value, list) and value:
                out[field] = str(value[0])
                out[f"{field}_name"] = str(value[1]) if len(value) > 1 else None
            else:
                out[field] = out[f"{field}_name"] = None
        elif kind in ("many2many", "one2many"):
            out[field] = [str(v) for v in value] if isinstance(value, list) else []
        elif kind == "boolean":
            out[field] = bool(value)
        elif value is False:
            out[field] = None
        elif kind in ("float", "monetary") and isinstance(value, int | float):
            out[field] = to_decimal_text(value)
        elif kind == "datetime" and isinstance(value, str):
            out[field] = odoo_datetime_to_iso(value)
        else:
            out[field] = value
    return out


def payment_term_days(name: str | None) -> int | None:
    """Days from a payment term's name: ``"30 Days"`` -> 30, ``"Immediate Payment"`` -> 0, else None.

    Terms such as "End of Following Month" or "30% Now, Balance 60 Days" have no single number of
    days; they are left empty rather than guessed.
    """
    if not name:
        return None
    if name.strip().lower() in _IMMEDIATE:
        return 0
    match = _TERM_DAYS.match(name)
    return int(match.group(1)) if match else None


def customer_extras(record: dict[str, Any], ibans: list[str]) -> None:
    """Derived customer fields: ``payment_terms_days``, ``ibans``; a credit limit of 0 is "none set"."""
    record["payment_terms_days"] = payment_term_days(record.get("property_payment_term_id_name"))
    record["ibans"] = ibans
    limit = record.get("credit_limit")
    if limit is not None and Decimal(limit) == 0:
        record["credit_limit"] = None  # Odoo's 0 means no limit (the default), not "no credit at all"


def invoice_status(state: str | None, payment_state: str | None, residual: Decimal) -> str:
    """The hub's status from Odoo's ``state`` and ``payment_state``."""
    if state in ("cancel", "draft"):
        return "cancelled"  # cancelled, or reset to draft after posting: not owed (now)
    if payment_state in ("paid", "in_payment"):
        return "paid"
    if payment_state == "reversed":
        return "cancelled"  # fully reversed by a credit note: annulled, not paid
    if payment_state == "invoicing_legacy":
        return "paid" if residual == 0 else "open"
    return "open"  # not_paid, partial


def invoice_extras(record: dict[str, Any], paid_dates: dict[str, str]) -> None:
    """Derived invoice fields: signed ``amount``/``open_amount`` (credit notes negative), ``status``,
    ``paid_date``, ``customer_id`` (the commercial partner: the company, not the contact person)."""
    sign = Decimal(-1) if record.get("move_type") == "out_refund" else Decimal(1)
    total = Decimal(record.get("amount_total") or 0)
    residual = Decimal(record.get("amount_residual") or 0)
    status = invoice_status(record.get("state"), record.get("payment_state"), residual)
    record["amount"] = format(sign * total, "f")
    record["open_amount"] = format(sign * residual, "f") if status == "open" else "0"
    record["status"] = status
    record["paid_date"] = paid_dates.get(record["id"]) if status == "paid" else None
    record["customer_id"] = record.get("commercial_partner_id") or record.get("partner_id")


class OdooSource(Source):
    def __init__(
        self,
        name: str,
        client: OdooClient,
        *,
        streams: Sequence[str] = tuple(STREAMS),
        page_size: int = 500,
        customer_domain: list[Any] | None = None,
    ) -> None:
        self.name = name
        self.client = client
        self.stream_names = [s for s in STREAMS if s in streams]
        self.page_size = page_size
        self.customer_domain = customer_domain if customer_domain is not None else DEFAULT_CUSTOMER_DOMAIN

    def streams(self) -> Sequence[StreamSpec]:
        return [StreamSpec(s, STREAMS[s][0], STREAMS[s][1], "merge") for s in self.stream_names]

    def check(self) -> None:
        self.client.login()

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        model = STREAMS[stream.name][2]
        if stream.name == "customers":
            wanted, required, base = CUSTOMER_FIELDS, CUSTOMER_REQUIRED, list(self.customer_domain)
        else:
            wanted, required, base = INVOICE_FIELDS, INVOICE_REQUIRED, list(INVOICE_DOMAIN)
        types = self.client.field_types(model, wanted)
        missing = sorted(required - set(types))
        if missing:
            raise SourceError(
                f"{self.client.label}: {model} has no field(s) {', '.join(missing)} "
                f"(is the {'Invoicing' if model == 'account.move' else 'Contacts'} app installed?)"
            )
        fields = [f for f in wanted if f in types]
        after = _after(cursor)
        while True:
            domain = base + _keyset(after)
            rows = self.client.execute_kw(
                model,
                "search_read",
                [domain],
                {
                    "fields": fields,
                    "order": "write_date asc, id asc",
                    "limit": self.page_size,
                    "context": {"active_test": False},
                },
            )
            if not isinstance(rows, list):
                raise SourceError(
                    f"{self.client.label}: {model}.search_read answered {type(rows).__name__}, not a list"
                )
            if not rows:
                return
            records = [normalise(row, types) for row in rows]
            if stream.name == "customers":
                ibans = self._ibans([r["id"] for r in rows]) if "bank_ids" in types else {}
                for record in records:
                    customer_extras(record, ibans.get(record["id"], []))
            else:
                paid = [
                    r["id"]
                    for r in records
                    if invoice_status(r.get("state"), r.get("payment_state"), Decimal(r.get("amount_residual") or 0))
                    == "paid"
                ]
                dates = self._paid_dates(paid)
                for record in records:
                    invoice_extras(record, dates)
            last = rows[-1]
            after = (str(last["write_date"]), int(last["id"]))
            yield Page(records, {"write_date": after[0], "id": after[1]}, label=f"{model} after id {after[1]}")
            if len(rows) < self.page_size:
                return

    def _ibans(self, partner_ids: list[int]) -> dict[str, list[str]]:
        """The partners' IBANs (``res.partner.bank`` of type ``iban``), by partner id."""
        accounts = self.client.execute_kw(
            "res.partner.bank",
            "search_read",
            [[["partner_id", "in", partner_ids]]],
            {"fields": ["partner_id", "acc_type", "sanitized_acc_number"], "order": "id"},
        )
        found: dict[str, list[str]] = {}
        for account in accounts or []:
            partner = account.get("partner_id")
            number = account.get("sanitized_acc_number")
            if account.get("acc_type") == "iban" and isinstance(partner, list) and partner and number:
                found.setdefault(str(partner[0]), []).append(str(number))
        return found

    def _paid_dates(self, move_ids: list[str]) -> dict[str, str]:
        """When each paid invoice was settled: the latest ``max_date`` of the reconciliations of its
        receivable lines (the payment or credit note date). Two calls per page with paid invoices."""
        if not move_ids:
            return {}
        lines = self.client.execute_kw(
            "account.move.line",
            "search_read",
            [[["move_id", "in", [int(i) for i in move_ids]], ["account_type", "=", "asset_receivable"]]],
            {"fields": ["move_id", "matched_debit_ids", "matched_credit_ids"], "order": "id"},
        )
        partials_of: dict[str, list[int]] = {}
        for line in lines or []:
            move = line.get("move_id")
            if isinstance(move, list) and move:
                ids = [*(line.get("matched_debit_ids") or []), *(line.get("matched_credit_ids") or [])]
                partials_of.setdefault(str(move[0]), []).extend(ids)
        every = sorted({p for ids in partials_of.values() for p in ids})
        if not every:
            return {}
        partials = self.client.execute_kw("account.partial.reconcile", "read", [every], {"fields": ["max_date"]})
        when = {int(p["id"]): p["max_date"] for p in partials or [] if p.get("max_date")}
        out: dict[str, str] = {}
        for move, ids in partials_of.items():
            dates = [when[i] for i in ids if i in when]
            if dates:
                out[move] = max(dates)
        return out


def _after(cursor: JSONValue | None) -> tuple[str, int] | None:
    if isinstance(cursor, dict) and isinstance(cursor.get("write_date"), str) and isinstance(cursor.get("id"), int):
        return cursor["write_date"], cursor["id"]
    return None


def _keyset(after: tuple[str, int] | None) -> list[Any]:
    """Records after ``(write_date, id)`` in ``write_date, id`` order."""
    if after is None:
        return []
    write_date, last_id = after
    return ["|", ["write_date", ">", write_date], "&", ["write_date", "=", write_date], ["id", ">", last_id]]
