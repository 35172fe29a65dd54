"""The ``odoo`` connector against an in-memory Odoo 16/17 behind respx (``POST /jsonrpc``).

The fake (``FakeOdoo`` below) answers ``common.authenticate`` and ``object.execute_kw`` with the
payload shapes a real server uses: many2one values as ``[id, display_name]``, ``False`` for empty
values, and errors as HTTP 200 with a JSON-RPC ``error`` member ``{"code": 200, "message": "Odoo
Server Error", "data": {"name": "odoo.exceptions.AccessError", "debug", "message", "arguments",
"context"}}``. It evaluates search domains (prefix notation, implicit AND), orders and limits like
the ORM, and records every ``execute_kw`` (without the credentials) so the tests pin the exact calls.
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from hub_connectors.odoo import OdooAuthError, OdooConfig, OdooSink, OdooSource, OdooUnavailable, build

from hub.app import Hub
from hub.config import load_config
from hub.connector import Connector, Page, StreamSpec
from hub.errors import SinkError, SourceError
from hub.http import RetryPolicy
from hub.mapping import load_mapping
from hub.model import BandChange, CreditLimitChange, Customer, FlagChange, Invoice, OutboxEvent

from .contract import ConnectorContract, FaultQueue

URL = "https://odoo.example.com"
DB = "acme"
USER = "hub@acme.example"
PASSWORD = "s3cret-api-key-0001"
UID = 6

CURRENCIES = {1: "EUR", 2: "USD"}
COUNTRIES = {21: ("Belgium", "BE"), 75: ("France", "FR")}
TERMS = {1: "Immediate Payment", 4: "30 Days", 9: "End of Following Month"}

FIELD_TYPES: dict[str, dict[str, str]] = {
    "res.partner": {
        "name": "char",
        "vat": "char",
        "country_id": "many2one",
        "country_code": "char",
        "parent_id": "many2one",
        "is_company": "boolean",
        "customer_rank": "integer",
        "ref": "char",
        "property_payment_term_id": "many2one",
        "credit_limit": "float",
        "use_partner_credit_limit": "boolean",
        "category_id": "many2many",
        "bank_ids": "one2many",
        "write_date": "datetime",
        "active": "boolean",
    },
    "account.move": {
        "name": "char",
        "move_type": "selection",
        "state": "selection",
        "partner_id": "many2one",
        "commercial_partner_id": "many2one",
        "invoice_date": "date",
        "invoice_date_due": "date",
        "currency_id": "many2one",
        "amount_total": "monetary",
        "amount_residual": "monetary",
        "payment_state": "selection",
        "ref": "char",
        "payment_reference": "char",
        "invoice_origin": "char",
        "write_date": "datetime",
    },
}
#: What each many2one points at, to render ``[id, display_name]``.
COMODELS = {
    "country_id": "res.country",
    "parent_id": "res.partner",
    "property_payment_term_id": "account.payment.term",
    "partner_id": "res.partner",
    "commercial_partner_id": "res.partner",
    "currency_id": "res.currency",
    "move_id": "account.move",
    "company_id": "res.company",
}


def rpc_error(request_id: Any, name: str, message: str) -> dict[str, Any]:
    """Odoo's JSON-RPC error answer for an exception ``name`` (e.g. ``odoo.exceptions.AccessError``)."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {
            "code": 200,
            "message": "Odoo Server Error",
            "data": {
                "name": name,
                "debug": f"Traceback (most recent call last):\n  ...\n{name}: {message}\n",
                "message": message,
                "arguments": [message],
                "context": {},
            },
        },
    }


class OdooException(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _match(record: dict[str, Any], leaf: list[Any]) -> bool:
    field, op, value = leaf
    have = record.get(field, False)
    if isinstance(have, list) and have and isinstance(have[0], int) and field in COMODELS:
        have = have[0]  # many2one compared by id
    if op == "=":
        return bool(have == value)
    if op == "!=":
        return bool(have != value)
    if op in (">", "<", ">=", "<="):
        if have is False or have is None:
            return False
        return {">": have > value, "<": have < value, ">=": have >= value, "<=": have <= value}[op]
    if op == "in":
        return have in value
    if op == "not in":
        return have not in value
    if op == "=like":
        pattern = value.replace("\\%", "\0").replace("%", "*").replace("\0", "%")
        return isinstance(have, str) and fnmatch.fnmatchcase(have, pattern)
    raise AssertionError(f"operator {op!r} not emulated")


def evaluate(record: dict[str, Any], domain: list[Any]) -> bool:
    """Odoo's prefix-notation domain, with the implicit AND between top-level expressions."""

    def parse(i: int) -> tuple[Callable[[dict[str, Any]], bool], int]:
        term = domain[i]
        if term in ("&", "|"):
            left, j = parse(i + 1)
            right, k = parse(j)
            if term == "&":
                return (lambda r: left(r) and right(r)), k
            return (lambda r: left(r) or right(r)), k
        if term == "!":
            inner, j = parse(i + 1)
            return (lambda r: not inner(r)), j
        return (lambda r, leaf=term: _match(r, leaf)), i + 1

    i = 0
    while i < len(domain):
        check, i = parse(i)
        if not check(record):
            return False
    return True


class FakeOdoo:
    def __init__(self) -> None:
        self.now = "2024-05-01 08:00:00"
        self.password = PASSWORD
        self.users = {USER: UID}
        self.company_currency = 1
        self.credit_limit_field = True
        self.invoicing_installed = True
        self.calls: list[tuple[str, str, list[Any], dict[str, Any]]] = []
        self.requests = 0
        self.faults = FaultQueue()
        self.rpc_faults: dict[tuple[str, str, int | None], tuple[str, str]] = {}
        self.on_call: Callable[[str, str], None] | None = None
        self.denied_fields: set[str] = set()  # writing these raises AccessError, as field groups do
        self.partners: dict[int, dict[str, Any]] = {}
        self.categories: dict[int, dict[str, Any]] = {}
        self.banks: dict[int, dict[str, Any]] = {}
        self.moves: dict[int, dict[str, Any]] = {}
        self.lines: dict[int, dict[str, Any]] = {}
        self.partials: dict[int, dict[str, Any]] = {}

    # -- data -----------------------------------------------------------------------------------------

    def add_partner(self, pid: int, name: str, **values: Any) -> dict[str, Any]:
        record = {
            "id": pid,
            "name": name,
            "vat": False,
            "country_id": False,
            "parent_id": False,
            "is_company": True,
            "customer_rank": 1,
            "ref": False,
            "property_payment_term_id": False,
            "credit_limit": 0.0,
            "category_id": [],
            "bank_ids": [],
            "write_date": self.now,
            "active": True,
        }
        record.update(values)
        self.partners[pid] = record
        return record

    def add_bank(self, bid: int, partner: int, number: str, acc_type: str = "iban") -> None:
        self.banks[bid] = {"id": bid, "partner_id": partner, "acc_type": acc_type, "sanitized_acc_number": number}
        self.partners[partner]["bank_ids"].append(bid)

    def add_move(self, mid: int, name: str, partner: int, **values: Any) -> dict[str, Any]:
        record = {
            "id": mid,
            "name": name,
            "move_type": "out_invoice",
            "state": "posted",
            "partner_id": partner,
            "commercial_partner_id": partner,
            "invoice_date": "2024-01-10",
            "invoice_date_due": "2024-02-09",
            "currency_id": 1,
            "amount_total": 0.0,
            "amount_residual": 0.0,
            "payment_state": "not_paid",
            "ref": False,
            "payment_reference": name,
            "invoice_origin": False,
            "write_date": self.now,
        }
        record.update(values)
        self.moves[mid] = record
        return record

    def add_payment(self, move: int, line: int, partial: int, max_date: str) -> None:
        self.lines[line] = {
            "id": line,
            "move_id": move,
            "account_type": "asset_receivable",
            "matched_debit_ids": [],
            "matched_credit_ids": [partial],
        }
        self.partials[partial] = {"id": partial, "max_date": max_date}

    def tag_names(self, pid: int) -> set[str]:
        return {self.categories[c]["name"] for c in self.partners[pid]["category_id"]}

    # -- rendering --------------------------------------------------------------------------------------

    def _display(self, field: str, value: int) -> str:
        comodel = COMODELS[field]
        if comodel == "res.partner":
            return str(self.partners[value]["name"])
        if comodel == "res.currency":
            return CURRENCIES[value]
        if comodel == "res.country":
            return COUNTRIES[value][0]
        if comodel == "account.payment.term":
            return TERMS[value]
        if comodel == "account.move":
            return str(self.moves[value]["name"])
        return f"Company {value}"

    def _render(self, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": record["id"]}
        for field in fields:
            if field == "country_code":
                country = record.get("country_id")
                out[field] = COUNTRIES[country][1] if country else False
                continue
            value = record.get(field, False)
            if field in COMODELS and not isinstance(value, list):
                value = [value, self._display(field, value)] if value else False
            out[field] = copy.deepcopy(value)
        return out

    def _table(self, model: str) -> dict[int, dict[str, Any]]:
        return {
            "res.partner": self.partners,
            "res.partner.category": self.categories,
            "res.partner.bank": self.banks,
            "account.move": self.moves,
            "account.move.line": self.lines,
            "account.partial.reconcile": self.partials,
        }[model]

    # -- the ORM ------------------------------------------------------------------------------------------

    def _search(self, model: str, domain: list[Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        active_test = (kwargs.get("context") or {}).get("active_test", True)
        rows = [r for r in self._table(model).values() if evaluate(r, domain)]
        if active_test and model == "res.partner":
            rows = [r for r in rows if r.get("active", True)]
        order = kwargs.get("order") or "id"
        keys = [part.split()[0] for part in order.split(",")]
        rows.sort(key=lambda r: tuple(r[k] for k in keys))
        offset = kwargs.get("offset", 0)
        limit = kwargs.get("limit")
        return rows[offset : offset + limit if limit else None]

    def execute_kw(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        first = args[0][0] if args and isinstance(args[0], list) and args[0] and isinstance(args[0][0], int) else None
        fault = self.rpc_faults.get((model, method, first)) or self.rpc_faults.get((model, method, None))
        if fault:
            raise OdooException(*fault)
        if method == "fields_get":
            types = dict(FIELD_TYPES[model])
            if not self.credit_limit_field:
                types.pop("credit_limit", None)
                types.pop("use_partner_credit_limit", None)
            if model == "account.move" and not self.invoicing_installed:
                raise OdooException("builtins.KeyError", "'account.move'")
            wanted = args[0] if args else list(types)
            return {f: {"type": types[f]} for f in wanted if f in types}
        if method == "search_read":
            fields = kwargs["fields"]
            return [self._render(r, fields) for r in self._search(model, args[0], kwargs)]
        if method == "search":
            return [r["id"] for r in self._search(model, args[0], kwargs)]
        if method == "read":
            ids, fields = args[0], kwargs["fields"]
            if model == "res.users":
                return [{"id": i, "company_id": [1, "Acme SA"]} for i in ids]
            if model == "res.company":
                return [
                    {"id": i, "currency_id": [self.company_currency, CURRENCIES[self.company_currency]]} for i in ids
                ]
            table = self._table(model)
            missing = [i for i in ids if i not in table]
            if missing:
                raise OdooException(
                    "odoo.exceptions.MissingError",
                    f"Record does not exist or has been deleted.\n(Record: {model}({missing[0]},), User: {UID})",
                )
            return [self._render(table[i], fields) for i in ids]
        if method == "create":
            vals_list = args[0] if isinstance(args[0], list) else [args[0]]
            table = self._table(model)
            ids = []
            for vals in vals_list:
                new_id = max(table, default=0) + 1
                table[new_id] = {"id": new_id, **vals, "write_date": self.now}
                ids.append(new_id)
            return ids if isinstance(args[0], list) else ids[0]
        if method == "write":
            ids, vals = args
            if denied := sorted(self.denied_fields & set(vals)):
                raise OdooException(
                    "odoo.exceptions.AccessError",
                    f'You do not have enough rights to access the fields "{", ".join(denied)}" '
                    f"on Contact (res.partner). Please contact your system administrator.",
                )
            table = self._table(model)
            for i in ids:
                if i not in table:
                    raise OdooException(
                        "odoo.exceptions.MissingError",
                        f"Record does not exist or has been deleted.\n(Record: {model}({i},), User: {UID})",
                    )
            for i in ids:
                record = table[i]
                for field, value in vals.items():
                    if FIELD_TYPES.get(model, {}).get(field) == "many2many":
                        current = list(record[field])
                        for command, target, *_ in value:
                            if command == 4 and target not in current:
                                if target not in self.categories:
                                    raise OdooException("psycopg2.errors.ForeignKeyViolation", "bad category")
                                current.append(target)
                            elif command == 3 and target in current:
                                current.remove(target)
                        record[field] = current
                    else:
                        record[field] = value
                record["write_date"] = self.now
            return True
        raise AssertionError(f"{model}.{method} not emulated")

    # -- HTTP ----------------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        fault = self.faults.take()
        if fault is not None:
            return fault
        body = json.loads(request.content)
        assert body["jsonrpc"] == "2.0" and body["method"] == "call", body
        params = body["params"]
        service, method, args = params["service"], params["method"], params["args"]
        try:
            if service == "common" and method in ("authenticate", "login"):
                db, login, password = args[:3]
                if db != DB:
                    raise OdooException(
                        "psycopg2.OperationalError",
                        f'connection to server failed: FATAL:  database "{db}" does not exist',
                    )
                ok = password == self.password and login in self.users
                return httpx.Response(
                    200, json={"jsonrpc": "2.0", "id": body["id"], "result": self.users[login] if ok else False}
                )
            assert service == "object" and method == "execute_kw", params
            db, uid, password, model, model_method, margs, mkwargs = args
            if db != DB or uid != UID or password != self.password:
                raise OdooException("odoo.exceptions.AccessDenied", "Access Denied")
            self.calls.append((model, model_method, margs, mkwargs))
            if self.on_call:
                self.on_call(model, model_method)
            result = self.execute_kw(model, model_method, margs, mkwargs)
        except OdooException as exc:
            return httpx.Response(200, json=rpc_error(body["id"], exc.name, exc.message))
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})

    def writes(self) -> list[tuple[str, str, list[Any], dict[str, Any]]]:
        """The calls that change data."""
        return [c for c in self.calls if c[1] in ("create", "write", "unlink")]


# -- tests ------------------------------------------------------------------------------------------

AT = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo()
    with respx.mock(base_url=URL, assert_all_called=False) as mock:
        mock.post("/jsonrpc").mock(side_effect=fake)
        yield fake


def make(fake: FakeOdoo, sleeps: list[float] | None = None, **cfg: Any) -> Connector:
    section = {
        "type": "odoo",
        "url": URL,
        "database": DB,
        "username": USER,
        "api_key": PASSWORD,
        "requests_per_second": 1000.0,
        **cfg,
    }
    retry = RetryPolicy(attempts=4, jitter=lambda low, high: high)
    return build(
        "odoo", OdooConfig.model_validate(section), sleep=(sleeps if sleeps is not None else []).append, retry=retry
    )


def source(conn: Connector) -> OdooSource:
    assert isinstance(conn.source, OdooSource)
    return conn.source


def sink(conn: Connector) -> OdooSink:
    assert isinstance(conn.sink, OdooSink)
    return conn.sink


def spec(conn: Connector, name: str) -> StreamSpec:
    return next(s for s in source(conn).streams() if s.name == name)


def read_all(conn: Connector, stream: str, cursor: Any = None) -> list[Page]:
    return list(source(conn).read(spec(conn, stream), cursor))


def mapped(stream: str, raw: dict[str, Any]) -> Customer | Invoice:
    mapping = load_mapping("odoo-customers" if stream == "customers" else "odoo-invoices")
    model = Customer if stream == "customers" else Invoice
    return model.model_validate({**mapping.apply(raw), "source": "odoo"})


def seed(fake: FakeOdoo) -> None:
    """Two customer companies, a contact person of one, a vendor-only individual; five documents."""
    fake.add_partner(
        7,
        "Azure Interior",
        vat="BE0477472701",
        country_id=21,
        credit_limit=1000.0,
        property_payment_term_id=4,
        write_date="2024-04-01 10:00:00",
    )
    fake.add_bank(31, 7, "BE68539007547034")
    fake.add_bank(32, 7, "123456789", acc_type="bank")
    fake.add_partner(8, "Deco Addict", country_id=75, property_payment_term_id=9, write_date="2024-04-02 09:00:00")
    fake.add_partner(
        9, "Brandon Freeman", is_company=False, parent_id=7, customer_rank=0, write_date="2024-04-01 11:00:00"
    )
    fake.add_partner(10, "Lonely Supplier", is_company=False, customer_rank=0, write_date="2024-04-01 12:00:00")
    fake.add_move(
        101,
        "INV/2024/00001",
        7,
        amount_total=5000.0,
        amount_residual=5000.0,
        invoice_date="2024-01-01",
        invoice_date_due="2024-01-15",
        ref="PO-4711",
        write_date="2024-04-03 08:00:00",
    )
    fake.add_move(
        102,
        "INV/2024/00002",
        8,
        amount_total=1200.5,
        amount_residual=0.0,
        payment_state="paid",
        invoice_date="2024-02-01",
        invoice_date_due="2024-03-01",
        write_date="2024-04-03 08:00:00",
    )
    fake.add_payment(102, line=501, partial=901, max_date="2024-02-25")
    fake.add_move(
        103,
        "INV/2024/00003",
        8,
        amount_total=800.0,
        amount_residual=800.0,
        invoice_date="2024-04-30",
        invoice_date_due="2024-05-30",
        write_date="2024-04-30 16:00:00",
    )
    fake.add_move(
        104,
        "RINV/2024/00001",
        9,
        commercial_partner_id=7,
        move_type="out_refund",
        amount_total=200.0,
        amount_residual=200.0,
        invoice_date="2024-02-10",
        invoice_date_due="2024-02-10",
        write_date="2024-04-03 09:00:00",
    )
    fake.add_move(
        105,
        "INV/2024/00004",
        8,
        state="cancel",
        amount_total=90.0,
        amount_residual=90.0,
        write_date="2024-04-04 09:00:00",
    )
    fake.add_move(106, "/", 8, state="draft", amount_total=50.0, amount_residual=50.0, write_date="2024-04-04 10:00:00")


# -- source: success -----------------------------------------------------------------------------------


def test_customers_arrive_without_odoo_conventions_and_map_to_canonical_customers(odoo: FakeOdoo) -> None:
    seed(odoo)
    pages = read_all(make(odoo), "customers")
    records = [r for p in pages for r in p.records]
    assert [r["id"] for r in records] == ["7", "8"]  # companies and customers; not the contact, not the vendor
    azure, deco = records
    assert azure["country_id"] == "21" and azure["country_id_name"] == "Belgium" and azure["country_code"] == "BE"
    assert azure["credit_limit"] == "1000.0" and azure["ibans"] == ["BE68539007547034"]
    assert azure["payment_terms_days"] == 30 and azure["write_date"] == "2024-04-01T10:00:00+00:00"
    assert deco["vat"] is None and deco["parent_id"] is None and deco["credit_limit"] is None  # False / 0.0
    assert deco["payment_terms_days"] is None  # "End of Following Month": no single number of days

    customer = mapped("customers", azure)
    assert customer.external_id == "7" and customer.legal_name == "Azure Interior" and customer.country == "BE"
    assert [t.value for t in customer.tax_ids] == ["BE0477472701"] and customer.credit_limit == Decimal("1000.0")
    assert customer.payment_terms_days == 30 and customer.ibans == ["BE68539007547034"]
    assert customer.source_updated_at == dt.datetime(2024, 4, 1, 10, tzinfo=dt.UTC)

    assert odoo.calls[0] == ("res.partner", "fields_get", [CUSTOMER_FIELDS_SENT], {"attributes": ["type"]})
    model, method, args, kwargs = odoo.calls[1]
    assert (model, method) == ("res.partner", "search_read")
    assert args == [["|", ["is_company", "=", True], "&", ["parent_id", "=", False], ["customer_rank", ">", 0]]]
    assert kwargs == {
        "fields": CUSTOMER_FIELDS_SENT,
        "order": "write_date asc, id asc",
        "limit": 500,
        "context": {"active_test": False},
    }
    assert odoo.calls[2] == (
        "res.partner.bank",
        "search_read",
        [[["partner_id", "in", [7, 8]]]],
        {"fields": ["partner_id", "acc_type", "sanitized_acc_number"], "order": "id"},
    )


CUSTOMER_FIELDS_SENT = [
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


def test_invoices_have_signed_amounts_hub_status_paid_date_and_the_commercial_partner(odoo: FakeOdoo) -> None:
    seed(odoo)
    records = {r["name"]: r for p in read_all(make(odoo), "invoices") for r in p.records}
    assert sorted(records) == [
        "INV/2024/00001",
        "INV/2024/00002",
        "INV/2024/00003",
        "INV/2024/00004",
        "RINV/2024/00001",
    ]  # the never-posted draft "/" is not read
    invoices = {name: mapped("invoices", raw) for name, raw in records.items()}
    first = invoices["INV/2024/00001"]
    assert (first.customer_external_id, first.amount, first.open_amount, first.status.value) == (
        "7",
        Decimal("5000.0"),
        Decimal("5000.0"),
        "open",
    )
    assert (first.issue_date, first.due_date, first.currency, first.po_number) == (
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 15),
        "EUR",
        "PO-4711",
    )
    paid = invoices["INV/2024/00002"]
    assert (paid.status.value, paid.paid_date, paid.amount, paid.open_amount) == (
        "paid",
        dt.date(2024, 2, 25),
        Decimal("1200.5"),
        Decimal(0),
    )
    refund = invoices["RINV/2024/00001"]
    assert refund.customer_external_id == "7"  # booked on the contact person, owed by the company
    assert (refund.amount, refund.open_amount) == (Decimal("-200.0"), Decimal("-200.0"))
    assert invoices["INV/2024/00004"].status.value == "cancelled" and invoices["INV/2024/00004"].open_amount == 0

    domain = odoo.calls[1][2][0]
    assert domain == [
        ["move_type", "in", ["out_invoice", "out_refund"]],
        ["state", "in", ["posted", "cancel", "draft"]],
        ["name", "not in", ["/", False]],
    ]
    assert odoo.calls[2] == (
        "account.move.line",
        "search_read",
        [[["move_id", "in", [102]], ["account_type", "=", "asset_receivable"]]],
        {"fields": ["move_id", "matched_debit_ids", "matched_credit_ids"], "order": "id"},
    )
    assert odoo.calls[3] == ("account.partial.reconcile", "read", [[901]], {"fields": ["max_date"]})


def test_invoice_reset_to_draft_after_posting_leaves_the_open_items(odoo: FakeOdoo) -> None:
    seed(odoo)
    conn = make(odoo)
    cursor = read_all(conn, "invoices")[-1].cursor
    odoo.moves[101].update(state="draft", write_date="2024-05-01 07:00:00")
    (page,) = read_all(conn, "invoices", cursor)
    (record,) = page.records
    invoice = mapped("invoices", record)
    assert (invoice.number, invoice.status.value, invoice.open_amount) == ("INV/2024/00001", "cancelled", 0)


# -- source: pagination and incremental reads -------------------------------------------------------------


def test_pages_follow_write_date_then_id_and_carry_their_cursor(odoo: FakeOdoo) -> None:
    for pid in range(1, 6):  # three share a write_date: the id breaks the tie
        odoo.add_partner(pid, f"Customer {pid}", write_date="2024-04-01 10:00:00" if pid <= 3 else f"2024-04-0{pid}")
    odoo.partners[4]["write_date"] = "2024-04-02 00:00:00"
    odoo.partners[5]["write_date"] = "2024-04-01 09:00:00"
    pages = read_all(make(odoo, page_size=2), "customers")
    assert [[r["id"] for r in p.records] for p in pages] == [["5", "1"], ["2", "3"], ["4"]]
    assert [p.cursor for p in pages] == [
        {"write_date": "2024-04-01 10:00:00", "id": 1},
        {"write_date": "2024-04-01 10:00:00", "id": 3},
        {"write_date": "2024-04-02 00:00:00", "id": 4},
    ]
    reads = [c for c in odoo.calls if c[1] == "search_read" and c[0] == "res.partner"]
    assert [c[3]["limit"] for c in reads] == [2, 2, 2]
    assert reads[1][2][0][-5:] == [
        "|",
        ["write_date", ">", "2024-04-01 10:00:00"],
        "&",
        ["write_date", "=", "2024-04-01 10:00:00"],
        ["id", ">", 1],
    ]


def test_a_full_last_page_is_followed_by_one_empty_read_and_no_empty_page(odoo: FakeOdoo) -> None:
    for pid in range(1, 5):
        odoo.add_partner(pid, f"Customer {pid}", write_date=f"2024-04-0{pid} 00:00:00")
    pages = read_all(make(odoo, page_size=2), "customers")
    assert [len(p.records) for p in pages] == [2, 2]
    assert len([c for c in odoo.calls if c[:2] == ("res.partner", "search_read")]) == 3


def test_incremental_read_returns_only_what_changed_since_the_saved_cursor(odoo: FakeOdoo) -> None:
    seed(odoo)
    conn = make(odoo)
    cursor = read_all(conn, "customers")[-1].cursor
    assert read_all(conn, "customers", cursor) == []  # nothing changed
    odoo.partners[7].update(name="Azure Interior SA", write_date="2024-04-10 12:00:00")
    odoo.add_partner(12, "Gemini Furniture", write_date="2024-04-02 09:00:00")  # same second as the cursor, later id
    pages = read_all(conn, "customers", cursor)
    assert [(r["id"], r["name"]) for p in pages for r in p.records] == [
        ("12", "Gemini Furniture"),
        ("7", "Azure Interior SA"),
    ]
    assert pages[-1].cursor == {"write_date": "2024-04-10 12:00:00", "id": 7}


def test_a_record_written_while_the_sync_pages_is_read_again_not_skipped(odoo: FakeOdoo) -> None:
    for pid in range(1, 5):
        odoo.add_partner(pid, f"Customer {pid}", write_date=f"2024-04-0{pid} 00:00:00")
    reads = 0

    def edit_after_first_page(model: str, method: str) -> None:
        nonlocal reads
        if (model, method) == ("res.partner", "search_read"):
            reads += 1
            if reads == 2:  # someone edits customer 1 (already read) while page 2 is asked for
                odoo.partners[1].update(name="Customer 1 (renamed)", write_date="2024-04-09 00:00:00")

    odoo.on_call = edit_after_first_page
    records = [r for p in read_all(make(odoo, page_size=2), "customers") for r in p.records]
    assert [r["id"] for r in records] == ["1", "2", "3", "4", "1"]
    assert records[-1]["name"] == "Customer 1 (renamed)"


# -- source: failures ---------------------------------------------------------------------------------------


def test_proxy_429_with_retry_after_and_502_503_are_retried(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.faults.push(httpx.Response(429, headers={"Retry-After": "7"}, text="Too Many Requests"))
    odoo.faults.push(httpx.Response(502, text="<html>Bad Gateway</html>"))
    odoo.faults.push(httpx.Response(503, headers={"Retry-After": "2"}, text="Service Unavailable"))
    sleeps: list[float] = []
    conn = make(odoo, sleeps)
    source(conn).check()
    assert sleeps == [7.0, 1.0, 2.0]  # Retry-After honoured; the 502 waits the policy's backoff (0.5 * 2)
    assert [r["id"] for p in read_all(conn, "customers") for r in p.records] == ["7", "8"]
    assert odoo.requests == 3 + 1 + 3  # three refused, the login, fields_get + search_read + banks


def test_server_errors_that_persist_fail_the_sync_naming_the_endpoint(odoo: FakeOdoo) -> None:
    odoo.faults.push(httpx.Response(503, text="Service Unavailable"), 4)
    with pytest.raises(OdooUnavailable, match=r"^Odoo: login: POST https://odoo.example.com/jsonrpc: HTTP 503: still"):
        source(make(odoo)).check()


def test_login_refused_is_a_clear_error_without_the_secret(odoo: FakeOdoo) -> None:
    odoo.password = "another-key-entirely"
    with pytest.raises(OdooAuthError) as info:
        source(make(odoo)).check()
    message = str(info.value)
    assert "login as 'hub@acme.example' on database 'acme' at https://odoo.example.com refused" in message
    assert "wrong username, password or API key" in message and PASSWORD not in message


def test_unknown_database_is_a_clear_error(odoo: FakeOdoo) -> None:
    conn = make(odoo, database="acme-prod")
    with pytest.raises(OdooAuthError, match=r"cannot log in on database 'acme-prod'.*does not exist"):
        read_all(conn, "customers")


def test_a_revoked_api_key_after_login_is_reported_as_refused_credentials(odoo: FakeOdoo) -> None:
    seed(odoo)
    conn = make(odoo)
    source(conn).check()
    odoo.password = "rotated"
    with pytest.raises(OdooAuthError, match=r"res.partner.fields_get: Odoo refused the credentials: Access Denied"):
        read_all(conn, "customers")


def test_access_error_reading_invoices_fails_the_stream_with_odoo_message(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.rpc_faults[("account.move", "search_read", None)] = (
        "odoo.exceptions.AccessError",
        "You are not allowed to access 'Journal Entry' (account.move) records.",
    )
    with pytest.raises(SourceError, match=r"account.move.search_read: AccessError: You are not allowed to access"):
        read_all(make(odoo), "invoices")


def test_config_needs_exactly_one_secret_and_a_server_url() -> None:
    base = {"type": "odoo", "url": URL, "database": DB, "username": USER}
    with pytest.raises(ValueError, match="exactly one of password or api_key"):
        OdooConfig.model_validate(base)
    with pytest.raises(ValueError, match="exactly one of password or api_key"):
        OdooConfig.model_validate({**base, "password": "a", "api_key": "b"})
    with pytest.raises(ValueError, match="without /jsonrpc"):
        OdooConfig.model_validate({**base, "url": URL + "/jsonrpc", "password": "a"})


# -- sink ------------------------------------------------------------------------------------------------


def flag(customer: str, code: str, action: str = "raised", version: int = 1, **links: str) -> FlagChange:
    return FlagChange(
        event_id=f"{customer}:{code}:v{version}",
        customer_id=customer,
        code=code,
        action=action,
        version=version,
        reason="r",
        at=AT,
        links=links,
    )  # type: ignore[arg-type]


def band(customer: str, value: str, previous: str | None = None, **links: str) -> BandChange:
    return BandChange(
        event_id=f"{customer}:band:{value}",
        customer_id=customer,
        band=value,
        previous=previous,
        score=20.0,
        reason="r",
        at=AT,
        links=links,
    )


def limit(customer: str, amount: str, currency: str = "EUR", **links: str) -> CreditLimitChange:
    return CreditLimitChange(
        event_id=f"{customer}:limit:{amount}",
        customer_id=customer,
        amount=Decimal(amount),
        currency=currency,
        approved_by="cfo",
        reason="r",
        at=AT,
        links=links,
    )


def test_band_and_flags_become_partner_tags_created_when_missing(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.categories[3] = {"id": 3, "name": "VIP"}
    odoo.partners[7]["category_id"] = [3]
    events = [band("C7", "D", odoo="7"), flag("C7", "CREDIT_HOLD", odoo="7"), flag("C7", "OVER_LIMIT", odoo="7")]
    results = sink(make(odoo)).deliver(events)
    assert [(r.event_id, r.ok) for r in results] == [(e.event_id, True) for e in events]
    assert odoo.tag_names(7) == {"VIP", "Risk: D", "Credit hold", "Over limit"}
    assert odoo.calls == [
        ("res.partner", "search", [[["id", "in", [7]]]], {"context": {"active_test": False}}),
        (
            "res.partner.category",
            "search_read",
            [["|", ["name", "in", ["Credit hold", "Over limit", "Risk: D"]], ["name", "=like", "Risk: %"]]],
            {"fields": ["name"], "order": "id"},
        ),
        (
            "res.partner.category",
            "create",
            [[{"name": "Credit hold"}, {"name": "Over limit"}, {"name": "Risk: D"}]],
            {},
        ),
        ("res.partner", "write", [[7], {"category_id": [[4, 4], [4, 5], [4, 6]]}], {}),
    ]


def test_delivering_the_same_events_again_changes_nothing_and_creates_no_tag(odoo: FakeOdoo) -> None:
    seed(odoo)
    conn = make(odoo)
    events = [band("C7", "D", odoo="7"), flag("C7", "CREDIT_HOLD", odoo="7")]
    sink(conn).deliver(events)
    before = (dict(odoo.categories), list(odoo.partners[7]["category_id"]))
    odoo.calls.clear()
    assert all(r.ok for r in sink(conn).deliver(events))
    assert (dict(odoo.categories), list(odoo.partners[7]["category_id"])) == before
    assert [c[1] for c in odoo.writes()] == ["write"]  # the same links again: Odoo's (4, id) is a no-op


def test_a_new_band_removes_every_other_band_tag_and_a_cleared_flag_its_tag(odoo: FakeOdoo) -> None:
    seed(odoo)
    for cid, name in [(11, "Risk: B"), (12, "Risk: C"), (13, "Credit hold"), (14, "Risk assessment done")]:
        odoo.categories[cid] = {"id": cid, "name": name}
    odoo.partners[7]["category_id"] = [11, 12, 13, 14]  # a stale band left behind, and an unrelated tag
    results = sink(make(odoo)).deliver(
        [band("C7", "E", previous="C", odoo="7"), flag("C7", "CREDIT_HOLD", "cleared", 2, odoo="7")]
    )
    assert all(r.ok for r in results)
    assert odoo.tag_names(7) == {"Risk: E", "Risk assessment done"}
    assert odoo.writes()[-1] == (
        "res.partner",
        "write",
        [[7], {"category_id": [[3, 11], [3, 12], [3, 13], [4, 15]]}],
        {},
    )


def test_flag_tag_names_can_be_configured(odoo: FakeOdoo) -> None:
    seed(odoo)
    sink(make(odoo, flag_tags={"CREDIT_HOLD": "Blocked: credit"})).deliver([flag("C7", "CREDIT_HOLD", odoo="7")])
    assert odoo.tag_names(7) == {"Blocked: credit"}


def test_partial_failure_in_a_batch_reports_each_event(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.rpc_faults[("res.partner", "write", 8)] = (
        "odoo.exceptions.AccessError",
        "You are not allowed to modify 'Contact' (res.partner) records.",
    )
    odoo.rpc_faults[("res.partner", "write", 10)] = (
        "psycopg2.errors.SerializationFailure",
        "could not serialize access due to concurrent update",
    )
    events = [
        flag("C7", "OVERDUE_90", odoo="7"),
        flag("C8", "OVERDUE_90", odoo="8"),
        flag("C99", "OVERDUE_90", odoo="99"),
        flag("C10", "OVERDUE_90", odoo="10"),
        flag("CX", "OVERDUE_90", bank="DE00"),
        flag("CY", "OVERDUE_90", odoo="not-an-id"),
    ]
    results = {r.event_id: r for r in sink(make(odoo)).deliver(events)}
    assert (results["C7:OVERDUE_90:v1"].ok, odoo.tag_names(7)) == (True, {"Overdue 90"})
    denied = results["C8:OVERDUE_90:v1"]
    assert (denied.ok, denied.permanent) == (False, True) and "AccessError: You are not allowed" in denied.error
    gone = results["C99:OVERDUE_90:v1"]
    assert (gone.ok, gone.permanent, gone.error) == (False, True, "res.partner 99 does not exist in Odoo (deleted?)")
    busy = results["C10:OVERDUE_90:v1"]
    assert (busy.ok, busy.permanent) == (False, False) and "SerializationFailure" in busy.error
    assert results["CX:OVERDUE_90:v1"].not_linked  # no Odoo partner for this customer: parked, not failed
    assert results["CY:OVERDUE_90:v1"].permanent and "not an Odoo partner id" in results["CY:OVERDUE_90:v1"].error
    assert [c[2][0] for c in odoo.writes() if c[1] == "write"] == [[7], [8], [10]]  # 99 never written


def test_credit_limit_is_written_in_the_company_currency(odoo: FakeOdoo) -> None:
    seed(odoo)
    results = sink(make(odoo)).deliver([limit("C7", "25000.00", odoo="7"), limit("C8", "9000", "USD", odoo="8")])
    assert results[0].ok and odoo.partners[7]["credit_limit"] == 25000.0
    assert odoo.partners[7]["use_partner_credit_limit"] is True
    assert (results[1].ok, results[1].permanent) == (False, True)
    assert results[1].error == (
        "credit limit in USD, but Odoo keeps partner credit limits in the company currency EUR: approve it in EUR"
    )
    assert odoo.partners[8]["credit_limit"] == 0.0
    assert [c[:2] for c in odoo.calls] == [
        ("res.partner", "search"),
        ("res.partner", "fields_get"),
        ("res.users", "read"),
        ("res.company", "read"),
        ("res.partner", "write"),
    ]


def test_a_credit_limit_the_user_may_not_write_fails_alone_and_the_tags_still_land(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.denied_fields = {"credit_limit"}
    events = [flag("C7", "CREDIT_HOLD", odoo="7"), limit("C7", "25000", odoo="7")]
    tagged, limited = sink(make(odoo)).deliver(events)
    assert tagged.ok and odoo.tag_names(7) == {"Credit hold"}
    assert (limited.ok, limited.permanent) == (False, True)
    assert 'AccessError: You do not have enough rights to access the fields "credit_limit"' in (limited.error or "")
    assert [c[2][1] for c in odoo.calls if c[1] == "write"] == [
        {"category_id": [[4, 1]]},
        {"credit_limit": 25000.0, "use_partner_credit_limit": True},
    ]


def test_credit_limit_without_the_invoicing_field_is_acknowledged_without_writing(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.credit_limit_field = False
    (result,) = sink(make(odoo)).deliver([limit("C7", "25000", odoo="7")])
    assert result.ok and odoo.writes() == []


def test_sink_raises_sink_error_when_odoo_is_down_or_refuses_the_login(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.faults.push(httpx.Response(503, text="Service Unavailable"), 4)
    with pytest.raises(SinkError, match="HTTP 503"):
        sink(make(odoo)).deliver([flag("C7", "OVER_LIMIT", odoo="7")])
    odoo.password = "changed"
    with pytest.raises(SinkError, match="refused"):
        sink(make(odoo)).check()
    assert odoo.partners[7]["category_id"] == []


def test_odoo_going_down_mid_batch_fails_the_rest_for_a_retry_without_calling_again(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.add_partner(12, "Gemini Furniture")

    def down_after_first_write(model: str, method: str) -> None:
        if method == "write":
            odoo.faults.push(httpx.Response(502, text="Bad Gateway"), 4)

    odoo.on_call = down_after_first_write
    events = [
        flag("C7", "OVER_LIMIT", odoo="7"),
        flag("C8", "OVER_LIMIT", odoo="8"),
        flag("C12", "OVER_LIMIT", odoo="12"),
    ]
    results = sink(make(odoo)).deliver(events)
    assert [(r.ok, r.permanent) for r in results] == [(True, False), (False, False), (False, False)]
    assert "HTTP 502" in (results[1].error or "") and "not attempted" in (results[2].error or "")
    assert odoo.requests == 1 + 3 + 1 + 4  # login, search + tags + create, first write, 4 tries of the second


def test_odoo_throttling_mid_batch_gives_the_failed_partners_its_retry_after(odoo: FakeOdoo) -> None:
    seed(odoo)
    odoo.add_partner(12, "Gemini Furniture")

    def throttled_after_first_write(model: str, method: str) -> None:
        if method == "write":
            odoo.faults.push(httpx.Response(429, headers={"Retry-After": "600"}, text="Too Many Requests"), 4)

    odoo.on_call = throttled_after_first_write
    events = [
        flag("C7", "OVER_LIMIT", odoo="7"),
        flag("C8", "OVER_LIMIT", odoo="8"),
        flag("C12", "OVER_LIMIT", odoo="12"),
    ]
    results = sink(make(odoo)).deliver(events)
    assert [(r.ok, r.permanent, r.retry_after) for r in results] == [
        (True, False, None),
        (False, False, 600.0),  # the outbox tries these again after the ten minutes Odoo asked for
        (False, False, 600.0),
    ]


# -- the hub pipeline -------------------------------------------------------------------------------------


def hub_config(folder: Path, db: str) -> Path:
    path = folder / "hub.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{folder / db}"\n\n'
        "[sync]\nworkers = 1\n\n"
        "[connectors.odoo]\n"
        f'type = "odoo"\nurl = "{URL}"\ndatabase = "{DB}"\nusername = "{USER}"\n'
        'api_key = { env = "ODOO_TEST_API_KEY" }\npage_size = 2\nrequests_per_second = 1000\n',
        encoding="utf-8",
    )
    return path


def test_hub_sync_risk_push_writes_the_flags_onto_the_partners(
    odoo: FakeOdoo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODOO_TEST_API_KEY", PASSWORD)
    seed(odoo)
    hub = Hub(load_config(hub_config(tmp_path, "hub.db")))
    try:
        hub.init()
        stats = {s.stream: s for s in hub.sync()}
        assert (stats["customers"].inserted, stats["invoices"].inserted) == (2, 5)
        assert (stats["customers"].pages, stats["invoices"].pages) == (1, 3)
        hub.risk(dt.date(2024, 5, 1))
        odoo.calls.clear()
        pushed = hub.push()
        (odoo_stats,) = pushed.sinks
        assert (odoo_stats.delivered, odoo_stats.failed, odoo_stats.dead) == (5, 0, 0)
        # Azure owes 4,800 EUR (5,000 less a 200 credit note) on a 1,000 limit, 107 days late.
        assert odoo.tag_names(7) == {"Risk: C", "Credit hold", "Over limit", "Overdue 90"}
        assert odoo.tag_names(8) == {"Risk: A"}
        assert odoo.calls == [
            ("res.partner", "search", [[["id", "in", [7, 8]]]], {"context": {"active_test": False}}),
            (
                "res.partner.category",
                "search_read",
                [
                    [
                        "|",
                        ["name", "in", ["Credit hold", "Over limit", "Overdue 90", "Risk: A", "Risk: C"]],
                        ["name", "=like", "Risk: %"],
                    ]
                ],
                {"fields": ["name"], "order": "id"},
            ),
            (
                "res.partner.category",
                "create",
                [
                    [
                        {"name": "Credit hold"},
                        {"name": "Over limit"},
                        {"name": "Overdue 90"},
                        {"name": "Risk: A"},
                        {"name": "Risk: C"},
                    ]
                ],
                {},
            ),
            ("res.partner", "write", [[7], {"category_id": [[3, 4], [4, 1], [4, 2], [4, 3], [4, 5]]}], {}),
            ("res.partner", "write", [[8], {"category_id": [[3, 5], [4, 4]]}], {}),
        ]
        summary = {row["status"]: row["count"] for row in hub.outbox().summary() if row["sink"] == "odoo"}
        assert summary == {"delivered": 5}

        # Only the hub's own tag writes changed Odoo since: they moved the two partners' write_date, so
        # the next sync reads those two again (and nothing else); no flag moves, so nothing is pushed.
        again = {s.stream: s for s in hub.sync()}
        assert (again["customers"].read, again["invoices"].read, again["invoices"].updated) == (2, 0, 0)
        second = hub.risk(dt.date(2024, 5, 1))
        assert (second.raised, second.cleared, second.band_changes) == (0, 0, 0)
        odoo.calls.clear()
        assert hub.push().sinks[0].delivered == 0 and odoo.calls == []
    finally:
        hub.close()


def test_a_push_while_odoo_is_down_loses_nothing(
    odoo: FakeOdoo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ODOO_TEST_API_KEY", PASSWORD)
    seed(odoo)
    hub = Hub(load_config(hub_config(tmp_path, "hub.db")))
    try:
        hub.init()
        hub.sync()
        hub.risk(dt.date(2024, 5, 1))
        monkeypatch.setattr(time, "sleep", lambda seconds: None)  # the HTTP layer's backoff, not waited for
        odoo.faults.push(httpx.Response(503, text="Service Unavailable"), 5)
        down = hub.push().sinks[0]
        assert (down.delivered, down.dead) == (0, 0) and "HTTP 503" in down.errors[0]
        assert odoo.tag_names(7) == set()
        back = hub.outbox().push(hub.sinks(), now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        assert back.sinks[0].delivered == 5
        assert odoo.tag_names(7) == {"Risk: C", "Credit hold", "Over limit", "Overdue 90"}
    finally:
        hub.close()


# -- the shared connector contract (tests/connectors/contract.py) --------------------------------------------


class OdooContractServer:
    """The contract's hooks on the fake: customers as the read stream, partner tags as the sink."""

    system = "Odoo"
    secrets = (PASSWORD, "wrong-key-0002")
    stream = "customers"

    def __init__(self, fake: FakeOdoo) -> None:
        self.fake = fake
        seed(fake)

    def record_id(self, raw: Any) -> str:
        return str(raw["id"])

    def full_ids(self) -> set[str]:
        return {"7", "8"}

    def change(self) -> set[str]:
        self.fake.partners[8].update(vat="FR40303265045", write_date="2024-04-20 10:00:00")
        self.fake.add_partner(12, "Gemini Furniture", write_date="2024-04-21 10:00:00")
        return {"8", "12"}

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self.fake.faults.push(httpx.Response(status, text="injected failure"), times)

    def throttle_next(self, seconds: int) -> None:
        self.fake.faults.push(httpx.Response(429, headers={"Retry-After": str(seconds)}, text="Too Many Requests"))

    def go_down(self) -> None:
        self.fake.faults.down = True

    def sink_events(self) -> tuple[list[OutboxEvent], set[str]] | None:
        self.fake.rpc_faults[("res.partner", "write", 8)] = (
            "odoo.exceptions.AccessError",
            "You are not allowed to modify 'Contact' (res.partner) records.",
        )
        events: list[OutboxEvent] = [
            flag("C7", "OVER_LIMIT", odoo="7"),
            flag("C8", "OVER_LIMIT", odoo="8"),
            band("C7", "D", odoo="7"),
            flag("C99", "OVER_LIMIT", odoo="99"),
        ]
        return events, {"C8:OVER_LIMIT:v1", "C99:OVER_LIMIT:v1"}


class TestOdooContract(ConnectorContract):
    @pytest.fixture
    def server(self, odoo: FakeOdoo) -> Iterator[OdooContractServer]:
        yield OdooContractServer(odoo)

    @pytest.fixture
    def connector(self, server: OdooContractServer, sleeps: list[float]) -> Iterator[Connector]:
        conn = make(server.fake, sleeps)
        yield conn
        conn.close()

    @pytest.fixture
    def bad_connector(self, server: OdooContractServer, sleeps: list[float]) -> Iterator[Connector]:
        conn = make(server.fake, sleeps, api_key="wrong-key-0002")
        yield conn
        conn.close()
