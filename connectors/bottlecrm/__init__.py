"""``bottlecrm`` connector: accounts and collection activities from BottleCRM, risk flags back onto accounts.

Talks to the BottleCRM REST API (``django-crm`` 1.35) with a personal access token
(``Authorization: Bearer bcrm_pat_...``); the token carries its organisation, so no org header is
needed. Every call goes through :class:`hub.http.HttpClient` (retries on transport errors,
429 and 5xx, ``Retry-After``, a token bucket).

Source streams:

- ``customers``: ``GET /api/accounts/`` (limit/offset pages, active and closed accounts) ->
  :class:`hub.model.Customer` through ``mappings/bottlecrm-customers.toml``. The raw record is the
  account as the API returns it plus ``links`` (``{connector name: account id}``, and the
  ``external_id_connector`` id when ``external_id_field`` is set), ``tag_names`` and ``tax_id``.
- ``collections``: for every account, its interactions (``GET /api/interactions/?account=ID``:
  calls, meetings, emails, SMS, WhatsApp), its comments (notes) and its completed tasks
  (both from ``GET /api/accounts/ID/``) that record a collection contact ->
  :class:`hub.model.CollectionAction` through ``mappings/bottlecrm-collections.toml``.
  Which ones count, the channel, the outcome and a promise to pay come from the structured
  markers described in :func:`parse_note` (``#collection``, ``#visit``, ``PTP 2026-12-05
  5000.00 EUR``, ``Outcome: ...``, ``Invoices: ...``).

BottleCRM's list endpoints have no "changed since" filter and do not expose ``updated_at``, so
both streams are snapshots: each sync walks the accounts again, the cursor records how many are
done (an interrupted sync resumes there), and the sync engine stores only records whose content
changed (``merge`` by content hash).

Sink: band changes become a ``Risk: <band>`` tag, flag changes ``Flag: <CODE>`` tags (stale ones
are removed), and the ``risk_flag`` dropdown custom field on the account holds the most severe
active flag (created, or given the missing option, when needed). The account is found through
``event.links[<this connector's name>]``, or else by the ``external_id_field`` custom field.
Every write sets state (a tag present or absent, a field value), so delivering an event twice has
the effect of delivering it once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import Field

from hub import (
    BandChange,
    CollectionChannel,
    Connector,
    ConnectorConfig,
    ConnectorContext,
    ConnectorType,
    DeliveryResult,
    FlagChange,
    HttpClient,
    HttpError,
    JSONValue,
    OffsetPaginator,
    OutboxEvent,
    Page,
    RetryPolicy,
    Sink,
    SinkError,
    Source,
    SourceError,
    StreamSpec,
    TokenBucket,
    hookimpl,
)

#: Stream name -> canonical record type and built-in mapping name.
STREAMS: dict[str, tuple[str, str]] = {
    "customers": ("customer", "bottlecrm-customers"),
    "collections": ("collection_action", "bottlecrm-collections"),
}

StreamName = Literal["customers", "collections"]
STREAM_NAMES: tuple[StreamName, ...] = ("customers", "collections")

#: Interaction kind -> collection channel, unless the text names one with a ``#channel`` marker.
KIND_CHANNELS: dict[str, str] = {
    "call": "phone",
    "meeting": "visit",
    "email": "email",
    "sms": "phone",
    "whatsapp": "phone",
}
CALL_OUTCOMES = {
    "connected": "Connected",
    "no_answer": "No answer",
    "voicemail": "Voicemail",
    "busy": "Busy",
    "wrong_number": "Wrong number",
}

#: Most severe first: the ``risk_flag`` field shows the first of these the account has.
FLAG_SEVERITY = [
    "CREDIT_HOLD",
    "LEGAL_EVENT",
    "PREPAYMENT_REQUIRED",
    "OVERDUE_90",
    "OVER_LIMIT",
    "BROKEN_PROMISE",
    "BUREAU_DOWNGRADE",
    "OVERDUE_60",
    "SCORE_DROP",
    "PAYMENT_PATTERN_CHANGE",
    "OVERDUE_30",
    "FIRST_LATE_PAYMENT",
]
BAND_COLOURS = {"A": "green", "B": "lime", "C": "amber", "D": "orange", "E": "red"}


class BottleCrmConfig(ConnectorConfig):
    url: str = Field(description="Base URL of the BottleCRM API server, e.g. https://crm.example.com")
    token: str = Field(description="Personal access token (bcrm_pat_...) of an ADMIN profile.")
    streams: list[StreamName] = Field(default_factory=lambda: list(STREAM_NAMES), description="Streams to sync.")
    page_size: int = Field(default=100, ge=1, le=1000, description="Accounts per request and per page.")
    collect: Literal["marked", "all"] = Field(
        default="marked",
        description="'marked': only interactions, notes and tasks with a collection marker; "
        "'all': every interaction on an account (notes and tasks still need a marker).",
    )
    note_channel: CollectionChannel = Field(
        default=CollectionChannel.PHONE, description="Channel of a note or task that names none (#visit, ...)."
    )
    external_id_field: str | None = Field(
        default=None,
        description="Account custom field holding the customer's id in the hub's master system (the ERP): "
        "the sink finds accounts by it, and collection actions name the customer by it.",
    )
    external_id_connector: str | None = Field(
        default=None, description="Connector whose ids external_id_field holds (for Customer.links and the sink)."
    )
    tax_id_field: str = Field(default="tax_id", description="Account custom field holding the tax id, if any.")
    risk_field: str = Field(default="risk_flag", description="Dropdown custom field the sink writes.")
    band_tag_prefix: str = "Risk: "
    flag_tag_prefix: str = "Flag: "
    requests_per_second: float = Field(default=10.0, gt=0, description="Call budget (token bucket).")
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=5, ge=1, le=10, description="Attempts per request on transport errors, 429, 5xx.")


# -- structured notes ---------------------------------------------------------------------------

_MARK = re.compile(r"#(collections?|dunning)\b", re.IGNORECASE)
_CHANNEL = re.compile(r"#(" + "|".join(c.value for c in CollectionChannel) + r"|lawyer-letter)\b", re.IGNORECASE)
_PTP = re.compile(r"\bPTP\s*:?\s+(\d{4}-\d{2}-\d{2})(?:\s+(\d+(?:\.\d{1,6})?))?(?:\s+([A-Za-z]{3})\b)?", re.IGNORECASE)
_OUTCOME = re.compile(r"^\s*outcome\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_INVOICES = re.compile(r"^\s*invoices?\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass
class NoteFacts:
    """What :func:`parse_note` finds in a note's text."""

    marked: bool = False
    channel: str | None = None
    outcome: str | None = None
    promise_date: str | None = None
    promise_amount: str | None = None
    promise_currency: str | None = None
    invoices: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_note(text: str) -> NoteFacts:
    """Read the collection markers in an interaction's, note's or task's text.

    - ``#collection`` (or ``#collections``, ``#dunning``): this records a collection contact.
    - ``#phone``, ``#email``, ``#letter``, ``#visit``, ``#lawyer_letter``, ``#arbitration``,
      ``#litigation``, ``#agency``: the channel (and a collection contact).
    - ``PTP 2026-12-05 5000.00 EUR``: a promise to pay on that date, optionally of that amount
      (dot decimals, no thousands separators) in that currency (and a collection contact).
    - a line ``Outcome: ...``: the outcome; a line ``Invoices: INV-1, INV-2``: the invoices concerned.
    """
    facts = NoteFacts()
    if _MARK.search(text):
        facts.marked = True
    if channel := _CHANNEL.search(text):
        facts.channel = channel.group(1).lower().replace("-", "_")
        facts.marked = True
    if ptp := _PTP.search(text):
        facts.marked = True
        try:
            dt.date.fromisoformat(ptp.group(1))
            facts.promise_date = ptp.group(1)
        except ValueError:
            facts.problems.append(f"PTP date {ptp.group(1)!r} is not a date")
        if ptp.group(2):
            try:
                facts.promise_amount = str(Decimal(ptp.group(2)))
            except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
                facts.problems.append(f"PTP amount {ptp.group(2)!r} is not a number")
        if ptp.group(3):
            facts.promise_currency = ptp.group(3).upper()
    if outcome := _OUTCOME.search(text):
        facts.outcome = outcome.group(1)
    if invoices := _INVOICES.search(text):
        facts.invoices = [p.strip() for p in re.split(r"[,;]", invoices.group(1)) if p.strip()]
    return facts


# -- the API client -------------------------------------------------------------------------------


class BottleCrmApi:
    """The few BottleCRM endpoints the connector uses, over :class:`hub.http.HttpClient`."""

    def __init__(
        self,
        name: str,
        config: BottleCrmConfig,
        *,
        transport: Any = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.name = name
        self.url = config.url.rstrip("/")
        extra: dict[str, Any] = {} if sleep is None else {"sleep": sleep}  # tests record the waits instead
        self.last_total = 0
        """Active plus closed accounts, as of the last :meth:`accounts_page`."""
        self.http = HttpClient(
            self.url + "/",
            name=name,
            timeout=config.timeout,
            headers={"Authorization": f"Bearer {config.token}", "Accept": "application/json"},
            rate=TokenBucket(config.requests_per_second, burst=max(1, int(config.requests_per_second))),
            retry=RetryPolicy(attempts=config.retries),
            transport=transport,
            **extra,
        )

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise HttpError(method, response.request.url, response.status_code, "the answer is not JSON") from None

    def error(self, exc: HttpError) -> SourceError:
        """``exc`` as one sentence naming BottleCRM (a refused token says so; the token is never in it)."""
        if exc.status in (401, 403):
            return SourceError(
                f"connector {self.name}: BottleCRM at {self.url} refused the token (HTTP {exc.status}: "
                f"{exc.detail}); check the token in [connectors.{self.name}] (a bcrm_pat_... personal "
                "access token that is neither revoked nor expired)"
            )
        return SourceError(f"connector {self.name}: BottleCRM at {self.url} failed: {exc}")

    def check(self) -> None:
        """One cheap authenticated call; a refused token becomes one clear sentence."""
        try:
            self.json("GET", "api/custom-fields/", params={"target_model": "Account", "include_counts": "false"})
        except HttpError as exc:
            raise self.error(exc) from exc

    def accounts_page(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Accounts ``offset`` to ``offset + limit`` of the active and of the closed ones (the list pages
        both alike), and the end of the paging: the larger of the two counts."""
        data = self.json("GET", "api/accounts/", params={"limit": limit, "offset": offset})
        active = data.get("active_accounts") or {}
        closed = data.get("closed_accounts") or {}
        rows = list(active.get("open_accounts") or []) + list(closed.get("close_accounts") or [])
        counts = int(active.get("open_accounts_count") or 0), int(closed.get("close_accounts_count") or 0)
        self.last_total = sum(counts)
        return rows, max(counts)

    def account(self, account_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.json("GET", f"api/accounts/{account_id}/")
        return data

    def interactions(self, account_id: str) -> Iterator[dict[str, Any]]:
        limit = 200
        paginator = OffsetPaginator(
            limit,
            records=lambda data: data.get("interactions") or [],
            total=lambda data: int(data.get("count") or 0),
            step="records",  # a server that caps the page lower skips nothing
            what=f"BottleCRM interactions of account {account_id}",
        )

        def fetch(offset: int | None) -> Any:
            return self.json(
                "GET", "api/interactions/", params={"account": account_id, "limit": limit, "offset": offset}
            )

        for data in paginator.pages(fetch):
            yield from data.get("interactions") or []

    def account_pages(self, offset: int, limit: int) -> OffsetPaginator:
        """The paginator through the accounts list from ``offset`` (pages of :meth:`accounts_page`)."""
        return OffsetPaginator(
            limit,
            offset=offset,
            records=lambda page: page[0],
            total=lambda page: page[1],
            what=f"BottleCRM accounts at {self.url} (connector {self.name})",
        )

    def close(self) -> None:
        self.http.close()


def _tag_names(account: Mapping[str, Any]) -> list[str]:
    return [str(t.get("name")) for t in account.get("tags") or [] if isinstance(t, Mapping) and t.get("name")]


def _custom(account: Mapping[str, Any], key: str | None) -> str | None:
    if not key:
        return None
    value = (account.get("custom_fields") or {}).get(key)
    return str(value).strip() or None if value not in (None, "") else None


# -- source ---------------------------------------------------------------------------------------


class BottleCrmSource(Source):
    def __init__(self, name: str, config: BottleCrmConfig, api: BottleCrmApi) -> None:
        self.name = name
        self.config = config
        self.api = api

    def streams(self) -> Sequence[StreamSpec]:
        return [StreamSpec(s, *STREAMS[s], "merge") for s in STREAMS if s in self.config.streams]

    def check(self) -> None:
        self.api.check()

    def read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        try:
            yield from self._read(stream, cursor)
        except HttpError as exc:
            raise self.api.error(exc) from exc

    def _read(self, stream: StreamSpec, cursor: JSONValue | None) -> Iterator[Page]:
        offset = 0
        if isinstance(cursor, dict) and not cursor.get("complete"):
            offset = int(cursor.get("offset", 0))  # resume an interrupted pass
        size = self.config.page_size
        paginator = self.api.account_pages(offset, size)
        position = paginator.start(None)
        while position is not None:
            page = self.api.accounts_page(position, size)
            accounts = page[0]
            count = len({a.get("id") for a in accounts})
            position = paginator.advance(page)
            offset, done = paginator.offset, position is None
            if stream.name == "customers":
                records = [self._customer(a) for a in accounts]
            else:
                records = [r for a in accounts for r in self._collections(a)]
            label = f"{self.api.url}/api/accounts/ ({count} accounts)"
            hint = self.api.last_total if stream.name == "customers" else None
            yield Page(records, {"offset": offset, "complete": done}, label=label, size_hint=hint)
            if done:
                return

    def _customer(self, account: Mapping[str, Any]) -> dict[str, Any]:
        record = dict(account)
        links = {self.name: str(account["id"])}
        erp_id = _custom(account, self.config.external_id_field)
        if erp_id and self.config.external_id_connector:
            links[self.config.external_id_connector] = erp_id
        record["links"] = links
        record["tag_names"] = _tag_names(account)
        record["tax_id"] = _custom(account, self.config.tax_id_field)
        return record

    def _collections(self, account: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        account_id = str(account["id"])
        customer = _custom(account, self.config.external_id_field) or account_id
        base = {"account_id": account_id, "account_name": account.get("name"), "customer_id": customer}
        for item in self.api.interactions(account_id):
            if item.get("kind") == "enquiry":
                continue
            text = "\n".join(p for p in (item.get("subject"), item.get("body")) if p)
            facts = parse_note(text)
            if not facts.marked and self.config.collect != "all":
                continue
            channel = facts.channel or KIND_CHANNELS.get(str(item.get("kind")), self.config.note_channel.value)
            who = item.get("logged_by_details") or {}
            yield self._action(
                base,
                f"interaction:{item['id']}",
                str(item.get("kind")),
                channel,
                item.get("occurred_at"),
                text,
                facts,
                facts.outcome or CALL_OUTCOMES.get(str(item.get("outcome") or "")),
                who.get("name") or who.get("email"),
            )
        detail = self.api.account(account_id)
        for note in detail.get("comments") or []:
            text = str(note.get("comment") or "")
            facts = parse_note(text)
            if not facts.marked:
                continue
            by = note.get("commented_by") or {}
            author = (by.get("user_details") or {}).get("email") if isinstance(by, Mapping) else None
            yield self._action(
                base,
                f"comment:{note['id']}",
                "note",
                facts.channel or self.config.note_channel.value,
                note.get("commented_on"),
                text,
                facts,
                facts.outcome,
                author,
            )
        for task in detail.get("tasks") or []:
            if task.get("status") != "Completed":
                continue
            text = "\n".join(str(p) for p in (task.get("title"), task.get("description")) if p)
            facts = parse_note(text)
            if not facts.marked:
                continue
            at = f"{task['due_date']}T00:00:00+00:00" if task.get("due_date") else task.get("created_at")
            yield self._action(
                base,
                f"task:{task['id']}",
                "task",
                facts.channel or self.config.note_channel.value,
                at,
                text,
                facts,
                facts.outcome,
                None,
            )

    @staticmethod
    def _action(
        base: Mapping[str, Any],
        action_id: str,
        kind: str,
        channel: str,
        at: Any,
        text: str,
        facts: NoteFacts,
        outcome: str | None,
        author: Any,
    ) -> dict[str, Any]:
        return {
            **base,
            "id": action_id,
            "kind": kind,
            "channel": channel,
            "at": at,
            "content": text,
            "outcome": outcome,
            "promise_date": facts.promise_date,
            "promise_amount": facts.promise_amount,
            "promise_currency": facts.promise_currency,
            "author": author,
            "invoices": facts.invoices,
        }


# -- sink -----------------------------------------------------------------------------------------


@dataclass
class _AccountChange:
    account_id: str
    events: list[OutboxEvent] = field(default_factory=list)


class BottleCrmSink(Sink):
    """Risk band and flags onto the BottleCRM account: tags and the ``risk_flag`` dropdown."""

    batch_size = 100

    def __init__(self, name: str, config: BottleCrmConfig, api: BottleCrmApi) -> None:
        self.name = name
        self.config = config
        self.api = api
        self._tags: dict[str, str] | None = None  # tag name -> id
        self._field: dict[str, Any] | None = None  # the risk_flag definition
        self._by_external: dict[str, str] | None = None  # external_id_field value -> account id

    # -- helpers that raise SinkError when BottleCRM cannot be used at all

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self.api.json(method, path, **kwargs)
        except HttpError as exc:
            if exc.status in (401, 403):
                raise SinkError(str(self.api.error(exc))) from exc
            if exc.status is None or exc.status >= 500 or exc.status == 429:
                raise SinkError(f"BottleCRM at {self.api.url} is not usable: {exc}") from exc
            raise

    def check(self) -> None:
        try:
            self.api.check()
        except SourceError as exc:
            raise SinkError(str(exc), retryable=exc.retryable) from exc

    def _tag_ids(self) -> dict[str, str]:
        if self._tags is None:
            data = self._call("GET", "api/tags/", params={"include_archived": "true"})
            self._tags = {str(t["name"]): str(t["id"]) for t in data.get("tags") or [] if t.get("is_active", True)}
        return self._tags

    def _ensure_tag(self, name: str) -> str:
        tags = self._tag_ids()
        if name in tags:
            return tags[name]
        colour = "red"
        if name.startswith(self.config.band_tag_prefix):
            colour = BAND_COLOURS.get(name[len(self.config.band_tag_prefix) :], "gray")
        try:
            data = self._call(
                "POST",
                "api/tags/",
                json={"name": name, "color": colour, "description": "Set by the receivables hub"},
                ok=(400,),
            )
        except HttpError as exc:
            raise SinkError(f"cannot create tag {name!r} in BottleCRM: {exc}") from exc
        if not data.get("error") and data.get("tag"):
            tags[name] = str(data["tag"]["id"])
            return tags[name]
        self._tags = None  # created meanwhile by someone else: read the list again
        tags = self._tag_ids()
        if name not in tags:
            raise SinkError(f"cannot create tag {name!r} in BottleCRM: {data.get('errors')}")
        return tags[name]

    def _ensure_field(self, codes: set[str]) -> None:
        """The dropdown custom field exists, is active and offers every code in ``codes``."""
        key = self.config.risk_field
        if self._field is None:
            data = self._call(
                "GET", "api/custom-fields/", params={"target_model": "Account", "include_counts": "false"}
            )
            found = [d for d in data.get("definitions") or [] if d.get("key") == key]
            if not found:
                self._field = self._call(
                    "POST",
                    "api/custom-fields/",
                    json={
                        "target_model": "Account",
                        "key": key,
                        "label": "Risk flag",
                        "field_type": "dropdown",
                        "options": [{"value": c, "label": _label(c)} for c in FLAG_SEVERITY],
                        "is_filterable": True,
                    },
                )
            else:
                self._field = found[0]
            if self._field is not None and self._field.get("field_type") != "dropdown":
                raise SinkError(
                    f"BottleCRM account custom field {key!r} is a {self._field.get('field_type')} field; "
                    "the hub needs a dropdown (set risk_field to another key)"
                )
        current = self._field or {}
        options = list(current.get("options") or [])
        missing = sorted(codes - {str(o.get("value")) for o in options})
        if missing or not current.get("is_active", True):
            options += [{"value": c, "label": _label(c)} for c in missing]
            self._field = self._call(
                "PUT", f"api/custom-fields/{current['id']}/", json={"options": options, "is_active": True}
            )

    def _external_index(self) -> dict[str, str]:
        if self._by_external is None:
            index: dict[str, str] = {}
            size = self.config.page_size
            paginator = self.api.account_pages(0, size)
            position = paginator.start(None)
            while position is not None:
                try:
                    page = self.api.accounts_page(position, size)
                except HttpError as exc:
                    if exc.status in (401, 403):
                        raise SinkError(str(self.api.error(exc))) from exc
                    raise SinkError(f"BottleCRM at {self.api.url} is not usable: {exc}") from exc
                for a in page[0]:
                    if value := _custom(a, self.config.external_id_field):
                        index.setdefault(value, str(a["id"]))
                position = paginator.advance(page)
            self._by_external = index
        return self._by_external

    def _account_for(self, event: OutboxEvent) -> str | None:
        if linked := event.links.get(self.name):
            return linked
        if not self.config.external_id_field:
            return None
        index = self._external_index()
        keys = [event.links.get(self.config.external_id_connector or ""), event.customer_id]
        return next((index[k] for k in keys if k and k in index), None)

    # -- delivery

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        results: dict[str, DeliveryResult] = {}
        changes: dict[str, _AccountChange] = {}
        self._by_external = None  # accounts may have been created or relinked since the last batch
        for event in events:
            if not isinstance(event, FlagChange | BandChange):
                results[event.event_id] = DeliveryResult(event.event_id, True)  # credit limits: not for a CRM
                continue
            account_id = self._account_for(event)
            if account_id is None:
                how = f"no links[{self.name!r}]"
                if self.config.external_id_field:
                    how += f" and no account whose {self.config.external_id_field} is its id"
                error = f"customer {event.customer_id} has no BottleCRM account ({how})"
                results[event.event_id] = DeliveryResult.unlinked(event.event_id, error)
                continue
            changes.setdefault(account_id, _AccountChange(account_id)).events.append(event)
        for change in changes.values():
            try:
                self._apply(change)
            except HttpError as exc:
                gone = exc.status in (404, 410)  # the linked account is no longer there: not linked
                permanent = exc.status in (400, 409, 422)
                # a 408 or 425 still failing after the HTTP layer's tries keeps the Retry-After it sent,
                # so the outbox writes this account again no sooner than BottleCRM asked
                for event in change.events:
                    results[event.event_id] = (
                        DeliveryResult.unlinked(event.event_id, str(exc))
                        if gone
                        else DeliveryResult(
                            event.event_id, False, str(exc), permanent=permanent, retry_after=exc.retry_after
                        )
                    )
                continue
            for event in change.events:
                results[event.event_id] = DeliveryResult(event.event_id, True)
        return [results[e.event_id] for e in events]

    def _apply(self, change: _AccountChange) -> None:
        detail = self._call("GET", f"api/accounts/{change.account_id}/")
        account = detail.get("account_obj") or {}
        tags = {str(t["name"]): str(t["id"]) for t in account.get("tags") or []}
        band_prefix, flag_prefix = self.config.band_tag_prefix, self.config.flag_tag_prefix
        wanted = dict(tags)
        for event in change.events:  # in outbox order: a later change wins
            if isinstance(event, BandChange):
                for name in [n for n in wanted if n.startswith(band_prefix)]:
                    del wanted[name]  # the previous band's tag is stale
                wanted[f"{band_prefix}{event.band}"] = ""
            elif isinstance(event, FlagChange):
                name = f"{flag_prefix}{event.code}"
                if event.action == "raised":
                    wanted.setdefault(name, "")
                else:
                    wanted.pop(name, None)
        codes = {n[len(flag_prefix) :] for n in wanted if n.startswith(flag_prefix)}
        risk_flag = min(codes, key=_severity) if codes else None
        stored = (account.get("custom_fields") or {}).get(self.config.risk_field)
        if set(wanted) == set(tags) and stored == risk_flag:
            return  # already as wanted: a re-delivered event changes nothing
        if risk_flag is not None:
            self._ensure_field({risk_flag})
        elif stored is not None:
            self._ensure_field(set())
        ids = [tag_id or self._ensure_tag(name) for name, tag_id in wanted.items()]
        body: dict[str, Any] = {"tags": ids}
        if stored != risk_flag:
            body["custom_fields"] = {self.config.risk_field: risk_flag}
        self._call("PATCH", f"api/accounts/{change.account_id}/", json=body)


def _severity(code: str) -> tuple[int, str]:
    return (FLAG_SEVERITY.index(code) if code in FLAG_SEVERITY else len(FLAG_SEVERITY), code)


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def build(
    name: str,
    config: BottleCrmConfig,
    *,
    transport: Any = None,
    sleep: Callable[[float], None] | None = None,
) -> Connector:
    """The connector instance ``name``; ``transport`` and ``sleep`` are test seams (respx, recorded waits)."""
    api = BottleCrmApi(name, config, transport=transport, sleep=sleep)
    return Connector(
        name=name,
        type="bottlecrm",
        source=BottleCrmSource(name, config, api) if config.streams else None,
        sink=BottleCrmSink(name, config, api),
        close=api.close,
    )


def _create(name: str, config: BottleCrmConfig, context: ConnectorContext) -> Connector:
    return build(name, config)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            "bottlecrm",
            "BottleCRM accounts and collection notes in; risk band and flags onto accounts (tags, risk_flag field).",
            BottleCrmConfig,
            _create,
        )
    ]
