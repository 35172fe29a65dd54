"""``tryton`` connector: customers and customer invoices from a Tryton ERP, risk written back to its parties.

Talks to trytond's JSON-RPC endpoint (``<url>/<database>/rpc/``) as a Tryton user::

    [connectors.erp]
    type = "tryton"
    url = "https://erp.example.com/"
    database = "tryton"
    username = "hub"
    password = { env = "TRYTON_PASSWORD" }

Source: ``customers`` (``party.party``: name, tax identifiers, country, credit limit, categories;
the currency is the company's) and ``invoices`` (``account.invoice`` of type ``out`` once posted:
posted, paid or cancelled; the due date is the earliest maturity date still open, the open amount
is Tryton's ``amount_to_pay``). Both read incrementally by ``write_date``: the cursor keeps the
latest change time seen and the ids changed at exactly that time, and pages go by id, so an
interrupted sync resumes mid-pass and the next one reads only what changed since.

Sink: the risk band and the flags become party categories under a parent category
(``Receivables hub`` / ``Risk: D``, ``Credit hold``, ``Over limit``...), created when missing; a
new band replaces the old band's category, a cleared flag removes its category; an approved credit
limit is written to ``credit_limit_amount`` (module ``account_credit_limit``). The party is the one
``event.links[<this connector's name>]`` names (the party id the source stored as the customer's
external id). Setting a category that is already set changes nothing, so re-delivery is harmless.

See ``docs/connectors/tryton.md`` for permissions and the full list of settings.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr

from hub import (
    BandChange,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    CreditLimitChange,
    DeliveryResult,
    FlagChange,
    HttpClient,
    HttpError,
    JSONValue,
    KeyedBatchSink,
    OutboxEvent,
    Page,
    RetryPolicy,
    SinkError,
    Source,
    SourceError,
    StreamSpec,
    TokenBucket,
    get_logger,
    hookimpl,
)

log = get_logger(__name__)

TYPE = "tryton"
StreamName = Literal["customers", "invoices"]
STREAMS: tuple[StreamName, ...] = ("customers", "invoices")

#: Invoice state in Tryton -> canonical invoice status. Draft and validated invoices are not debts yet.
STATUS = {"posted": "open", "paid": "paid", "cancelled": "cancelled"}

#: Tryton identifier types -> canonical tax id schemes (any other ``xx_vat`` is ``vat`` too).
IDENTIFIER_SCHEMES = {"eu_vat": "vat", "cn_vat": "uscc", "cn_uscc": "uscc", "us_ein": "ein", "gb_vat": "vat"}


class TrytonConfig(ConnectorConfig):
    url: str = Field(description="The server's base URL, e.g. https://erp.example.com/ (JSON-RPC is <url>/<db>/rpc/).")
    database: str = Field(min_length=1)
    username: str = Field(min_length=1)
    password: SecretStr
    company: int | None = Field(default=None, description="Company id; default: the user's current company.")
    language: str = "en"
    streams: list[StreamName] = Field(
        default_factory=lambda: list(STREAMS), description="What the source reads; [] for a sink only."
    )
    page_size: int = Field(default=500, ge=1, le=10_000, description="Records per search_read call.")
    timeout: float = Field(default=30.0, gt=0, description="Seconds per HTTP request.")
    retries: int = Field(default=5, ge=1, le=20, description="Attempts per call on transport errors, 429 and 5xx.")
    requests_per_second: float | None = Field(default=None, gt=0, description="Call budget; unset: no limit.")
    write_back: bool = Field(default=True, description="Act as a sink: write bands, flags and limits to parties.")
    category_parent: str = Field(default="Receivables hub", min_length=1)
    band_prefix: str = Field(default="Risk: ", min_length=1)
    flag_categories: dict[str, str] = Field(
        default_factory=dict, description='Category name per flag code, e.g. { CREDIT_HOLD = "Blocked" }.'
    )
    flag_codes: list[str] | None = Field(default=None, description="Only these flags become categories (default all).")
    write_credit_limits: bool = True
    party_links: list[str] = Field(
        default_factory=list,
        description="Other connector instance names whose ids are this server's party ids (e.g. a source instance).",
    )


# -- JSON-RPC ---------------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """Tryton's JSON-RPC encoding of the types JSON lacks (``json.dumps(default=encode)``)."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, (bytes, bytearray)):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot send a {type(value).__name__} to Tryton")


def decode(obj: dict[str, Any]) -> Any:
    """``json.loads(object_hook=decode)``: Decimal, date, datetime, time, timedelta and bytes back."""
    kind = obj.get("__class__")
    if kind is None:
        return obj
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"], obj["month"], obj["day"], obj["hour"], obj["minute"], obj["second"], obj.get("microsecond", 0)
        )
    if kind == "time":
        return dt.time(obj["hour"], obj["minute"], obj["second"], obj.get("microsecond", 0))
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


class TrytonRpcError(SourceError):
    """The server answered a call with an error (HTTP 200 with ``"error"``).

    ``kind`` is Tryton's exception name (``UserError``, ``UserWarning``, ``ConcurrencyException``) or
    ``ServerError`` for an unexpected exception on the server. A ``UserError`` or ``UserWarning`` is
    the server refusing this request (validation, access rights): sending it again cannot help.
    """

    def __init__(self, method: str, kind: str, message: str) -> None:
        self.method = method
        self.kind = kind
        self.message = message
        super().__init__(f"Tryton {kind} in {method}: {message}")

    @property
    def permanent(self) -> bool:
        return self.kind in ("UserError", "UserWarning")


class TrytonUnavailable(SourceError):
    """The server cannot be reached or keeps failing (transport errors, 5xx, 429 after every retry), or
    refused the call over HTTP (another 4xx: not retryable, as the HTTP error it wraps says)."""


def _rpc_error(method: str, error: Any) -> TrytonRpcError:
    if isinstance(error, list) and len(error) == 2 and isinstance(error[0], str):
        kind, args = error
        if kind == "UserError" and isinstance(args, list) and args:
            text = " - ".join(str(a) for a in args[:2] if a)
            return TrytonRpcError(method, kind, text)
        if kind == "UserWarning" and isinstance(args, list) and len(args) >= 2:
            return TrytonRpcError(method, kind, " - ".join(str(a) for a in args[1:3] if a))
        if kind in ("ConcurrencyException", "LoginException", "RateLimitException"):
            return TrytonRpcError(method, kind, str(args))
        return TrytonRpcError(method, "ServerError", kind.strip().splitlines()[-1] if kind.strip() else "no message")
    return TrytonRpcError(method, "ServerError", str(error)[:300])


class TrytonClient:
    """A session with one Tryton database: login, calls with the session header, re-login when it expires."""

    def __init__(
        self,
        config: TrytonConfig,
        *,
        name: str = TYPE,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self.base_url = config.url if config.url.endswith("/") else config.url + "/"
        self.path = f"{quote(config.database, safe='')}/rpc/"
        per_second = config.requests_per_second
        rate = TokenBucket(per_second, burst=max(1, int(per_second))) if per_second else None
        extra: dict[str, Any] = {} if sleep is None else {"sleep": sleep}  # tests record waits instead
        self.http = HttpClient(
            self.base_url,
            name=name,
            timeout=config.timeout,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            rate=rate,
            retry=RetryPolicy(attempts=config.retries),
            transport=transport,
            **extra,
        )
        self._auth: str | None = None
        self._context: dict[str, Any] | None = None
        self._ids = 0

    @property
    def where(self) -> str:
        return f"database {self.config.database!r} at {self.base_url}"

    def _post(self, method: str, params: list[Any]) -> httpx.Response:
        self._ids += 1
        body = json.dumps({"id": self._ids, "method": method, "params": params}, default=encode)
        headers = {"Authorization": self._auth} if self._auth else {}
        try:
            return self.http.post(self.path, content=body.encode("utf-8"), headers=headers, ok=(401, 403, 404))
        except HttpError as exc:
            error = TrytonUnavailable(f"Tryton {method} on {self.where} failed: {exc}")
            error.retryable = exc.retryable  # a 5xx or 429 may pass; a 400 will not by itself
            raise error from exc

    @staticmethod
    def _result(method: str, response: httpx.Response) -> Any:
        try:
            data = json.loads(response.content, object_hook=decode)
        except ValueError:
            raise SourceError(f"Tryton {method}: the answer is not JSON ({response.text[:120]!r})") from None
        if not isinstance(data, dict):
            raise SourceError(f"Tryton {method}: unexpected answer {str(data)[:120]!r}")
        if data.get("error") is not None:
            raise _rpc_error(method, data["error"])
        return data.get("result")

    def login(self) -> None:
        """``common.db.login``; afterwards every call carries ``Authorization: Session <token>``."""
        self._auth = None
        password = self.config.password.get_secret_value()
        method = "common.db.login"
        response = self._post(method, [self.config.username, {"password": password}, self.config.language])
        if response.status_code in (401, 403):
            raise SourceError(
                f"Tryton refused the login of user {self.config.username!r} to {self.where}: "
                "wrong username or password (or the user is inactive)"
            )
        if response.status_code == 404:
            raise SourceError(f"Tryton has no {self.where} (HTTP 404: check url and database)")
        result = self._result(method, response)
        if not isinstance(result, list) or len(result) < 2:
            raise SourceError(f"Tryton login to {self.where}: unexpected answer {str(result)[:120]!r}")
        user_id, session = result[0], result[1]
        token = base64.b64encode(f"{self.config.username}:{user_id}:{session}".encode()).decode("ascii")
        self._auth = f"Session {token}"

    def call(self, method: str, params: list[Any]) -> Any:
        if self._auth is None:
            self.login()
        response = self._post(method, params)
        if response.status_code == 401:  # the session expired (or the server restarted): log in once more
            self.login()
            response = self._post(method, params)
        if response.status_code == 401:
            raise SourceError(f"Tryton {method}: the session for {self.config.username!r} is refused on {self.where}")
        if response.status_code == 403:
            raise SourceError(f"Tryton {method}: user {self.config.username!r} may not call it on {self.where}")
        if response.status_code == 404:
            raise SourceError(f"Tryton {method}: not found on {self.where}")
        return self._result(method, response)

    @property
    def context(self) -> dict[str, Any]:
        """The user's preferences (language, company...) passed with every model call, as Tryton's clients do."""
        if self._context is None:
            prefs = self.call("model.res.user.get_preferences", [True, {}])
            context = dict(prefs) if isinstance(prefs, dict) else {}
            if self.config.company is not None:
                context["company"] = self.config.company
                context["companies"] = [self.config.company]
            self._context = context
        return self._context

    def model(self, model: str, method: str, *args: Any) -> Any:
        return self.call(f"model.{model}.{method}", [*args, self.context])

    def close(self) -> None:
        self.http.close()


# -- source -----------------------------------------------------------------------------------------

CUSTOMER_FIELDS = [
    "name",
    "code",
    "identifiers.type",
    "identifiers.code",
    "addresses.country.code",
    "credit_limit_amount",
    "categories.name",
    "write_date",
    "create_date",
]
INVOICE_FIELDS = [
    "number",
    "party",
    "invoice_date",
    "currency.code",
    "total_amount",
    "amount_to_pay",
    "state",
    "reference",
    "description",
    "reconciled",
    "lines_to_pay.maturity_date",
    "lines_to_pay.reconciliation",
    "reconciliation_lines.date",
    "write_date",
    "create_date",
]


def _changed(record: dict[str, Any]) -> dt.datetime:
    """When Tryton last changed the record: ``write_date``, or ``create_date`` if it was never written."""
    value = record.get("write_date") or record.get("create_date")
    if not isinstance(value, dt.datetime):
        raise SourceError(f"Tryton record {record.get('id')} has no write_date or create_date")
    return value


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat()  # Tryton's timestamps are naive UTC
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _money(value: Any) -> str | None:
    return None if value is None else str(value)


def _paid_on(row: dict[str, Any]) -> dt.date | None:
    """The date of the last payment line reconciled with the invoice; Tryton's own ``reconciled`` date is
    the highest date of the reconciled lines, which counts the invoice's maturity dates too."""
    dates: list[dt.date] = [
        ln["date"] for ln in row.get("reconciliation_lines.") or [] if isinstance(ln.get("date"), dt.date)
    ]
    if dates:
        return max(dates)
    reconciled = row.get("reconciled")
    return reconciled if isinstance(reconciled, dt.date) else None


def _scheme(identifier_type: str | None) -> str:
    if not identifier_type:
        return "tax"
    if identifier_type in IDENTIFIER_SCHEMES:
        return IDENTIFIER_SCHEMES[identifier_type]
    return "vat" if identifier_type.endswith("_vat") else identifier_type


class TrytonSource(Source):
    def __init__(self, name: str, config: TrytonConfig, client: TrytonClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        self._company: dict[str, Any] | None = None

    def streams(self) -> Sequence[StreamSpec]:
        specs = {
            "customers": StreamSpec("customers", "customer", "tryton-customers", "merge"),
            "invoices": StreamSpec("invoices", "invoice", "tryton-invoices", "merge"),
        }
        return [specs[s] for s in ("customers", "invoices") if s in self.config.streams]

    def check(self) -> None:
        self.client.login()
        self.company()

    def company(self) -> dict[str, Any]:
        """The company (id, party, currency code) whose receivables are read."""
        if self._company is None:
            company_id = self.client.context.get("company")
            if not isinstance(company_id, int):
                raise SourceError(
                    f"connector {self.name}: the Tryton user {self.config.username!r} has no current company; "
                    "set one in Tryton or set company = <id>"
                )
            rows = self.client.model("company.company", "read", [company_id], ["party", "currency.code"])
            if not rows:
                raise SourceError(f"connector {self.name}: Tryton has no company {company_id}")
            row = rows[0]
            self._company = {"id": company_id, "party": row["party"], "currency": (row.get("currency.") or {})["code"]}
        return self._company

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        if stream.name == "customers":
            company = self.company()
            domain: list[Any] = [("id", "!=", company["party"])]
            yield from self._pages("party.party", domain, CUSTOMER_FIELDS, cursor, self._customer)
        elif stream.name == "invoices":
            company = self.company()
            domain = [
                ("type", "=", "out"),
                ("company", "=", company["id"]),
                ("state", "in", list(STATUS)),
                ("number", "!=", None),
            ]
            yield from self._pages("account.invoice", domain, INVOICE_FIELDS, cursor, self._invoice)
        else:
            raise SourceError(f"connector {self.name}: no stream {stream.name!r}")

    def _pages(
        self,
        model: str,
        base: list[Any],
        fields: list[str],
        cursor: JSONValue | None,
        shape: Any,
    ) -> Iterator[Page]:
        """Keyset pages in change order: records never written by ``(create_date, id)``, then the others by
        ``(write_date, id)``. The cursor is the last key of each kind, so it is exact after every page: a
        record changed while a sync runs gets a later ``write_date`` and is read again, never skipped."""
        state: dict[str, Any] = dict(cursor) if isinstance(cursor, dict) else {}
        label = f"{self.config.database}/{model}"
        for phase, column in (("created", "create_date"), ("written", "write_date")):
            phase_domain = [*base, ("write_date", "=" if phase == "created" else "!=", None)]
            while True:
                domain = list(phase_domain)
                key = state.get(phase)
                if key:
                    at, last_id = dt.datetime.fromisoformat(key[0]), int(key[1])
                    domain.append(["OR", (column, ">", at), [(column, "=", at), ("id", ">", last_id)]])
                rows = self.client.model(
                    model, "search_read", domain, 0, self.config.page_size, [(column, "ASC"), ("id", "ASC")], fields
                )
                if not isinstance(rows, list):
                    raise SourceError(f"Tryton {model}.search_read: unexpected answer {str(rows)[:120]!r}")
                if not rows:
                    break
                last = rows[-1]
                if not isinstance(last.get(column), dt.datetime):
                    raise SourceError(f"Tryton {model} {last.get('id')}: no {column}")
                state = {**state, phase: [last[column].isoformat(), int(last["id"])]}
                yield Page([shape(row) for row in rows], dict(state), label=label)
                if len(rows) < self.config.page_size:
                    break

    def _customer(self, row: dict[str, Any]) -> dict[str, Any]:
        identifiers = row.get("identifiers.") or []
        addresses = row.get("addresses.") or []
        country = next(((a.get("country.") or {}).get("code") for a in addresses if a.get("country.")), None)
        return {
            "id": str(row["id"]),
            "name": row.get("name"),
            "code": row.get("code"),
            "tax_ids": [{"scheme": _scheme(i.get("type")), "value": i["code"]} for i in identifiers if i.get("code")],
            "country": country,
            "currency": self.company()["currency"],
            "credit_limit": _money(row.get("credit_limit_amount")),
            "categories": [c["name"] for c in row.get("categories.") or [] if c.get("name")],
            "write_date": _iso(_changed(row)),
        }

    def _invoice(self, row: dict[str, Any]) -> dict[str, Any]:
        state = row.get("state")
        status = STATUS.get(str(state), "open")
        lines = row.get("lines_to_pay.") or []
        open_dates = [ln["maturity_date"] for ln in lines if ln.get("maturity_date") and not ln.get("reconciliation")]
        all_dates = [ln["maturity_date"] for ln in lines if ln.get("maturity_date")]
        due = min(open_dates or all_dates or [row.get("invoice_date")], key=lambda d: d or dt.date.max)
        to_pay = row.get("amount_to_pay")
        open_amount = Decimal(0) if status in ("paid", "cancelled") or to_pay is None else to_pay
        reference = (row.get("reference") or "").strip() or None
        description = (row.get("description") or "").strip() or None
        return {
            "id": str(row["id"]),
            "number": row.get("number"),
            "party": None if row.get("party") is None else str(row["party"]),
            "invoice_date": _iso(row.get("invoice_date")),
            "due_date": _iso(due),
            "currency": (row.get("currency.") or {}).get("code"),
            "total_amount": _money(row.get("total_amount")),
            "amount_to_pay": _money(open_amount),
            "state": state,
            "status": status,
            "reference": reference,
            "description": description,
            "po_number": reference or description,
            "paid_date": _iso(_paid_on(row)) if status == "paid" else None,
            "write_date": _iso(_changed(row)),
        }


# -- sink -------------------------------------------------------------------------------------------


def flag_category_name(code: str, overrides: dict[str, str]) -> str:
    """``OVER_LIMIT`` -> ``Over limit``, ``OVERDUE_30`` -> ``Overdue 30`` (unless the config names it)."""
    return overrides.get(code) or code.replace("_", " ").strip().capitalize()


class TrytonSink(KeyedBatchSink[int]):
    """Bands and flags as party categories, approved credit limits as ``credit_limit_amount``."""

    batch_size = 100

    def __init__(self, name: str, config: TrytonConfig, client: TrytonClient) -> None:
        self.name = name
        self.config = config
        self.client = client
        self._parent: int | None = None
        self._currency: str | None = None

    def check(self) -> None:
        try:
            self.client.login()
        except SourceError as exc:
            raise SinkError(str(exc), retryable=exc.retryable) from exc

    def failure(self, error: SourceError) -> SinkError:
        # The server is down, refuses the login, or failed outside one party's write (creating a
        # category...): the whole batch is retried later (nothing in it took effect twice), unless the
        # server refused it over HTTP for good (a 400: dead letters).
        return SinkError(f"connector {self.name}: {error}", retryable=error.retryable)

    def unlinked_reason(self, event: OutboxEvent) -> str:
        return (
            f"customer {event.customer_id} has no Tryton party id in its links "
            f"({', '.join(sorted(event.links)) or 'none'}); expected one under {self.name!r}"
        )

    def handles(self, event: OutboxEvent) -> bool:
        if isinstance(event, FlagChange):
            return self.config.flag_codes is None or event.code in self.config.flag_codes
        if isinstance(event, CreditLimitChange):
            return self.config.write_credit_limits
        return isinstance(event, BandChange)

    def key(self, event: OutboxEvent) -> int | None:
        for name in (self.name, *self.config.party_links):
            value = event.links.get(name)
            if value is not None and str(value).isdigit():
                return int(value)
            prefix = f"{name}:"  # a customer that is still its own: "<source>:<external id>"
            if event.customer_id.startswith(prefix) and event.customer_id[len(prefix) :].isdigit():
                return int(event.customer_id[len(prefix) :])
        return None

    def _parent_category(self) -> int:
        if self._parent is None:
            found = self.client.model(
                "party.category",
                "search",
                [("name", "=", self.config.category_parent), ("parent", "=", None)],
                0,
                1,
                None,
            )
            if found:
                self._parent = int(found[0])
            else:
                (created,) = self.client.model("party.category", "create", [{"name": self.config.category_parent}])
                self._parent = int(created)
                log.info("tryton.category_created", connector=self.name, category=self.config.category_parent)
        return self._parent

    def _categories(self, names: set[str]) -> dict[str, int]:
        """Every category under the parent by name, the ``names`` created when missing."""
        parent = self._parent_category()
        rows = self.client.model("party.category", "search_read", [("parent", "=", parent)], 0, None, None, ["name"])
        by_name = {row["name"]: int(row["id"]) for row in rows}
        missing = sorted(names - set(by_name))
        if missing:
            ids = self.client.model("party.category", "create", [{"name": n, "parent": parent} for n in missing])
            by_name.update(zip(missing, (int(i) for i in ids), strict=True))
            log.info("tryton.categories_created", connector=self.name, categories=missing)
        return by_name

    def _company_currency(self) -> str:
        if self._currency is None:
            company = self.client.context.get("company")
            rows = self.client.model("company.company", "read", [company], ["currency.code"]) if company else []
            if not rows:
                raise SinkError(f"connector {self.name}: the Tryton user has no current company")
            self._currency = str((rows[0].get("currency.") or {}).get("code"))
        return self._currency

    def write(self, groups: Mapping[int, Sequence[OutboxEvent]]) -> dict[str, DeliveryResult]:
        """Make sure the categories exist, then one write per party."""
        results: dict[str, DeliveryResult] = {}
        party_ids = sorted(groups)
        existing = {
            int(row["id"]): {int(c) for c in row.get("categories") or []}
            for row in self.client.model(
                "party.party", "search_read", [("id", "in", party_ids)], 0, None, None, ["categories"]
            )
        }
        needed: set[str] = set()
        for events in groups.values():
            for event in events:
                if isinstance(event, BandChange):
                    needed.add(self.config.band_prefix + event.band)
                elif isinstance(event, FlagChange) and event.action == "raised":
                    needed.add(flag_category_name(event.code, self.config.flag_categories))
        categories = self._categories(needed)
        band_ids = {cid for n, cid in categories.items() if n.startswith(self.config.band_prefix)}
        by_party: dict[int, Sequence[OutboxEvent]] = {}
        for party, events in groups.items():
            if party not in existing:
                for event in events:
                    results[event.event_id] = DeliveryResult.unlinked(
                        event.event_id, f"Tryton has no party {party} (customer {event.customer_id})"
                    )
                continue
            by_party[party] = events
        for party, party_events in by_party.items():
            current = existing[party]
            target = set(current)
            values: dict[str, Any] = {}
            refused: dict[str, str] = {}
            for event in party_events:
                if isinstance(event, BandChange):
                    target -= band_ids
                    target.add(categories[self.config.band_prefix + event.band])
                elif isinstance(event, FlagChange):
                    name = flag_category_name(event.code, self.config.flag_categories)
                    if event.action == "raised":
                        target.add(categories[name])
                    elif name in categories:
                        target.discard(categories[name])
                elif isinstance(event, CreditLimitChange):
                    currency = self._company_currency()
                    if event.currency != currency:
                        refused[event.event_id] = (
                            f"credit limit in {event.currency} but Tryton keeps limits in the company currency "
                            f"{currency}"
                        )
                        continue
                    values["credit_limit_amount"] = event.amount
            added, removed = sorted(target - current), sorted(current - target)
            actions: list[list[Any]] = []
            if added:
                actions.append(["add", added])
            if removed:
                actions.append(["remove", removed])
            if actions:
                values["categories"] = actions
            error: TrytonRpcError | None = None
            if values:
                try:
                    self.client.model("party.party", "write", [party], values)
                except TrytonRpcError as exc:
                    if not exc.permanent:
                        raise
                    error = exc
            for event in party_events:
                if event.event_id in refused:
                    results[event.event_id] = DeliveryResult(event.event_id, False, refused[event.event_id], True)
                elif error is not None:
                    results[event.event_id] = DeliveryResult(event.event_id, False, str(error), permanent=True)
                else:
                    results[event.event_id] = DeliveryResult(event.event_id, True)
            if values:
                log.info(
                    "tryton.party_written",
                    connector=self.name,
                    party=party,
                    added=len(added),
                    removed=len(removed),
                    credit_limit=str(values.get("credit_limit_amount", "")) or None,
                    ok=error is None,
                )
        return results


# -- registration -----------------------------------------------------------------------------------


def build(
    name: str,
    config: TrytonConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Connector:
    """The connector instance ``name``; ``transport`` and ``sleep`` are test seams (respx, recorded waits)."""
    client = TrytonClient(config, name=name, transport=transport, sleep=sleep)
    source = TrytonSource(name, config, client) if config.streams else None
    sink = TrytonSink(name, config, client) if config.write_back else None
    if source is None and sink is None:
        raise SourceError(f"connector {name}: streams = [] and write_back = false leave nothing to do")
    return Connector(name=name, type=TYPE, source=source, sink=sink, close=client.close)


def _create(name: str, config: TrytonConfig, context: ConnectorContext) -> Connector:
    return build(name, config)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE,
            "Tryton ERP over JSON-RPC: parties and customer invoices in; risk bands, flags and limits back to parties.",
            TrytonConfig,
            _create,
        )
    ]
