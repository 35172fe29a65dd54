"""The bureau service: which customers the hub asks the credit bureaus about, and what it keeps.

A bureau connector's :class:`hub.bureau.BureauClient` answers; this engine decides whom to ask and
stores the answers (``docs/bureaus.md`` explains it for users):

* **Links** (``bureau_link``): a customer is linked to a bureau company by the identity rules. A
  search's candidates are compared with the customer's ids (DUNS, USCC, VAT, registration and tax
  ids, validated as :mod:`hub.identity` does); exactly one candidate sharing an id is linked at once,
  anything else (several, or matches by name only) is stored as proposals that a person accepts or
  rejects (``hub bureau accept|reject``). A rejected pair is never proposed again.
* **Whom to refresh**, per bureau connector, never every customer by default: customers with an
  unhandled monitoring event; new customers to screen (admission); customers owing more than
  ``[bureaus] exposure_threshold`` (as of the last risk run) whose report is older than the bureau's
  TTL; and customers a person names (``hub bureau refresh C1 C2``, or ``--all``: every customer whose
  report is older than the TTL).
* **Cost**: every call is a ``bureau_call`` row. A paid call (search, report) is claimed first, in a
  transaction that holds the bureau's budget lock and counts the month's paid calls: at the monthly
  budget the call is not made, and the customers left out are reported. Whether a call was charged
  is what the client counted (:attr:`BureauClient.paid_calls`).
* **Reports** become ``credit_report`` rows (source: the bureau connector's name; external id
  ``CUSTOMER:REPORT_DATE``, so reading the same report again changes nothing), validated as
  :class:`hub.model.CreditReport` first: a malformed report is reported and stored nowhere. The raw
  payload is kept (``raw``) for audit.
* **Monitoring**: linked companies are registered with bureaus that offer it, and events are pulled
  page by page, each page stored with the cursor after it in one transaction.
* **Admission screening** (客户准入): a customer that appears after screening started is screened
  once by its admission bureau: report, legal events, band (the bureau's 0-100 score banded by
  ``[risk.scorecard] bands``), and the terms of that band (``[bureaus.admission] terms``): a share
  of the bureau's recommended limit, payment terms, prepayment. The limit reaches the sinks as a
  :class:`~hub.model.CreditLimitChange` (a ``credit_limit_proposal`` applied by the screening); a
  prepayment band raises ``PREPAYMENT_REQUIRED`` through the risk run (:class:`AdmissionTermsPolicy`).

Two runs at once: the service runs the engine under the store's ``bureaus`` job lock, and every
paid call is claimed under a transaction lock, so the budget holds across processes; reports are
upserted on their natural key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import ValidationError
from stdnum.exceptions import ValidationError as StdnumError

from hub.bureau import (
    BureauAuthError,
    BureauClient,
    BureauCompany,
    BureauNotFound,
    BureauQuery,
    BureauReport,
)
from hub.codes import FlagCode, LegalEventKind
from hub.config import BureausConfig
from hub.errors import ConfigError, HubError
from hub.i18n import N_, Amount, Day, Join, Message, Share, stored, stored_english, stored_message
from hub.identity import tax_key
from hub.log import get_logger
from hub.model import CreditLimitChange, CreditReport, RiskFlag, describe_validation_error
from hub.risk.types import CustomerRisk, FlagPolicy, RiskContext, band_of
from hub.store import Store, schema, utcnow
from hub.store.bulk import dialect_insert, record_hash
from hub.store.locks import transaction_lock

log = get_logger(__name__)
T = TypeVar("T")

#: Statuses of a customer's link to a bureau company.
LINK_STATUSES = ("proposed", "linked", "rejected")
#: Calls the budget counts (a client says, through ``paid_calls``, whether each was charged).
PAID_KINDS = ("search", "report")
#: ``bureau_state`` row that marks that admission screening has started (customers known before are not screened).
ADMISSION_MARK = "*admission*"
#: Who the service's own decisions are recorded as.
SERVICE = "bureau-service"
ADMISSION = "admission-screening"
#: Legal events that require prepayment whatever the band.
SEVERE = (LegalEventKind.INSOLVENCY, LegalEventKind.DISHONEST_DEBTOR)
#: How a screening names a severe legal event (``tianyancha reports dishonest debtor on ...``).
SEVERE_WORDS = {LegalEventKind.INSOLVENCY: N_("insolvency"), LegalEventKind.DISHONEST_DEBTOR: N_("dishonest debtor")}
#: Errors in a row after which a bureau is not asked again this run (it is down, or refuses us).
MAX_CONSECUTIVE_ERRORS = 3
#: Candidates of one search stored as proposals, at most.
MAX_PROPOSALS = 5
_SEPARATORS = re.compile(r"[\s.\-/_]+")


# -- what a run reports --------------------------------------------------------------------------------


@dataclass
class BureauStats:
    """What one run did with one bureau connector."""

    bureau: str
    due: int = 0
    paid_calls: int = 0
    searches: int = 0
    reports: int = 0
    stored: int = 0
    linked: int = 0
    proposed: int = 0
    events: int = 0
    registered: int = 0
    screened: int = 0
    budget: int = 0
    used_this_month: int = 0
    budget_reached: bool = False
    left_out: list[str] = field(default_factory=list)
    """Customers due for a refresh that the monthly budget (or a stopped bureau) left out."""
    waiting: list[str] = field(default_factory=list)
    """Customers whose link to a company waits for a person ('hub bureau links --status proposed')."""
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BureauRunStats:
    bureaus: list[BureauStats] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def paid_calls(self) -> int:
        return sum(b.paid_calls for b in self.bureaus)

    def problem(self) -> str | None:
        """One line saying what the run could not do (customers left out, errors), or None."""
        parts = []
        for b in self.bureaus:
            if b.left_out:
                why = (
                    f"monthly budget of {b.budget} paid calls reached"
                    if b.budget_reached
                    else f"stopped: {b.stopped or 'errors'}"
                )
                shown = ", ".join(b.left_out[:5]) + (f" and {len(b.left_out) - 5} more" if len(b.left_out) > 5 else "")
                parts.append(f"{b.bureau}: {why}; {len(b.left_out)} customers not refreshed ({shown})")
            elif b.errors:
                parts.append(
                    f"{b.bureau}: {b.errors[0]}" + (f" (and {len(b.errors) - 1} more)" if len(b.errors) > 1 else "")
                )
        return "; ".join(parts) or None

    def as_dict(self) -> dict[str, Any]:
        return {"bureaus": [b.as_dict() for b in self.bureaus], "paid_calls": self.paid_calls, "seconds": self.seconds}


@dataclass(frozen=True)
class BureauSpec:
    """One configured bureau connector: its instance name, type, client and limits."""

    name: str
    type: str
    client: BureauClient
    ttl_days: int
    budget: int


@dataclass
class _Facts:
    """What the hub knows of a canonical customer (the master's record first)."""

    customer_id: str
    name: str = ""
    country: str | None = None
    currency: str | None = None
    credit_limit: Decimal | None = None
    ids: list[tuple[str, str]] = field(default_factory=list)


class _BudgetReached(Exception):
    pass


class _Stop(Exception):
    pass


_NOT_FOUND = object()


# -- ids: what makes a customer and a bureau company the same ------------------------------------------


def _clean(value: str) -> str:
    return _SEPARATORS.sub("", value).upper()


_DUNS_SCHEMES = frozenset({"duns", "dnb", "d-u-n-s"})


def id_keys(scheme: str, value: str, country: str | None) -> set[str]:
    """Comparable keys of one id: its validated canonical form (``vat:DE136695976``, ``uscc:...``,
    ``duns:...``) and its plain cleaned text (``raw:...``), so that an id no validator knows (a
    German HRB number) still matches itself."""
    text = _clean(value)
    if not text:
        return set()
    keys = {f"raw:{text}"} if len(text) >= 5 else set()
    kind = (scheme or "").strip().lower()
    if kind in _DUNS_SCHEMES:
        digits = re.sub(r"\D", "", value)
        if len(digits) == 9:
            keys.add(f"duns:{digits}")
        return keys
    with contextlib.suppress(ValueError, StdnumError):
        keys.add(str(tax_key(kind or "tax", value, country)))
    return keys


def company_keys(company: BureauCompany) -> set[str]:
    keys: set[str] = set()
    for scheme, value in (
        ("vat", company.vat_number),
        ("uscc", company.uscc),
        ("duns", company.duns),
        ("registration", company.registration_number),
    ):
        if value:
            keys |= id_keys(scheme, value, company.country)
    return keys


def customer_keys(facts: _Facts) -> set[str]:
    keys: set[str] = set()
    for scheme, value in facts.ids:
        keys |= id_keys(scheme, value, facts.country)
    return keys


_METHOD_ORDER = ("duns", "uscc", "vat", "ein", "gb_crn", "raw")


def method_of(shared: set[str]) -> str:
    """How a link was made, from the keys both sides share (the strongest first)."""
    schemes = {k.split(":", 1)[0] for k in shared}
    for scheme in _METHOD_ORDER:
        if scheme in schemes:
            return {"ein": "registration", "gb_crn": "registration", "raw": "registration"}.get(scheme, scheme)
    return "name"


def build_query(facts: _Facts) -> BureauQuery:
    """What a bureau is asked about a customer: ids first (classified by the identity rules), then name and country."""
    found: dict[str, str] = {}
    for scheme, value in facts.ids:
        kind = (scheme or "").strip().lower()
        if kind in _DUNS_SCHEMES:
            found.setdefault("duns", re.sub(r"\D", "", value))
            continue
        try:
            key = tax_key(kind or "tax", value, facts.country)
        except (ValueError, StdnumError):
            found.setdefault("registration_number", value.strip())
            continue
        if key.scheme == "vat":
            found.setdefault("vat_number", key.value)
        elif key.scheme == "uscc":
            found.setdefault("uscc", key.value)
        else:
            found.setdefault("registration_number", key.value)
    return BureauQuery(
        customer_id=facts.customer_id,
        name=facts.name,
        country=facts.country,
        registration_number=found.get("registration_number"),
        vat_number=found.get("vat_number"),
        uscc=found.get("uscc"),
        duns=found.get("duns"),
    )


# -- reading the store ----------------------------------------------------------------------------------


def customer_facts(conn: sa.Connection, ids: Sequence[str] | None, master_source: str | None) -> dict[str, _Facts]:
    """Name, country, currency, limit and every tax id of the canonical customers ``ids`` (all if None)."""
    c = schema.customer
    query = sa.select(
        c.c.canonical_id, c.c.source, c.c.legal_name, c.c.country, c.c.currency, c.c.credit_limit, c.c.tax_ids
    ).order_by(c.c.id)
    if ids is not None:
        query = query.where(c.c.canonical_id.in_(sa.bindparam("ids", expanding=True)))
    rows = list(conn.execute(query, {"ids": list(ids)} if ids is not None else {}))
    rows.sort(key=lambda r: r.source != master_source)
    out: dict[str, _Facts] = {}
    for r in rows:
        f = out.setdefault(r.canonical_id, _Facts(r.canonical_id))
        f.name = f.name or r.legal_name
        f.country = f.country or ((r.country or "").strip().upper() or None)
        f.currency = f.currency or r.currency
        f.credit_limit = f.credit_limit if f.credit_limit is not None else r.credit_limit
        for tid in r.tax_ids or ():
            scheme, value = (tid.get("scheme", "tax"), tid.get("value", "")) if isinstance(tid, dict) else ("tax", tid)
            if value and (str(scheme), str(value)) not in f.ids:
                f.ids.append((str(scheme), str(value)))
    return out


def _month_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _aware(at: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives timestamps back naive (UTC): make every one aware."""
    if at is None:
        return None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at


def _iso(at: dt.datetime | None) -> str | None:
    aware = _aware(at)
    return None if aware is None else aware.isoformat()


def paid_this_month(conn: sa.Connection, bureau: str, now: dt.datetime) -> int:
    bc = schema.bureau_call
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(bc.c.bureau == bureau, bc.c.paid.is_(True), bc.c.at >= _month_start(now))
        ).scalar_one()
    )


def _upsert(conn: sa.Connection, table: sa.Table, row: dict[str, Any], key: Sequence[str]) -> None:
    insert: Any = dialect_insert(conn.dialect, table)
    stmt = insert.values(row).on_conflict_do_update(
        index_elements=list(key), set_={k: v for k, v in row.items() if k not in key}
    )
    conn.execute(stmt)


def _json_safe(value: Any) -> Any:
    """The payload as JSON holds it (Decimals and dates as text): what the store keeps is what audit reads."""
    return json.loads(json.dumps(value, default=str))


# -- the engine -----------------------------------------------------------------------------------------


class BureauEngine:
    """Refresh, link, screen and monitor with the configured bureau connectors (see the module docstring).

    ``now`` is the clock (tests move it to expire caches and roll months).
    """

    def __init__(
        self,
        store: Store,
        bureaus: Sequence[BureauSpec],
        settings: BureausConfig,
        *,
        bands: dict[str, float],
        rounding: Decimal,
        sinks: Sequence[str],
        master_source: str | None,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.store = store
        self.bureaus = list(bureaus)
        self.settings = settings
        self.bands = bands
        self.rounding = rounding
        self.sinks = list(sinks)
        self.master_source = master_source
        self.now = now
        names = [b.name for b in self.bureaus]
        admission = settings.admission
        for key, value in [
            ("bureau", admission.bureau),
            *(("by_country." + k, v) for k, v in admission.by_country.items()),
        ]:
            if value is not None and names and value not in names:
                raise ConfigError(
                    f"[bureaus.admission] {key} names {value!r}, which is not a bureau connector; "
                    f"have: {', '.join(names)}"
                )
        self.threshold = settings.threshold()

    def spec(self, name: str | None) -> BureauSpec:
        if name is None:
            if len(self.bureaus) == 1:
                return self.bureaus[0]
            raise HubError(
                f"name the bureau (--bureau): have {', '.join(b.name for b in self.bureaus) or 'no bureau connector'}"
            )
        for spec in self.bureaus:
            if spec.name == name:
                return spec
        raise HubError(f"no bureau connector named {name!r}; have: {', '.join(b.name for b in self.bureaus) or 'none'}")

    # -- the run ------------------------------------------------------------------------------------

    def run(self, customers: Sequence[str] = (), *, all_customers: bool = False) -> BureauRunStats:
        """One refresh: new customers noted for screening, then per bureau monitoring and the customers due.

        ``customers``: refresh these now whatever their cache's age (still within the budget);
        ``all_customers``: every customer whose report is older than the TTL. Neither: the customers
        the module docstring lists.
        """
        started = time.perf_counter()
        stats = BureauRunStats()
        if not self.bureaus:
            return stats
        now = self.now()
        if customers:
            with self.store.connect() as conn:
                known = set(customer_facts(conn, customers, self.master_source))
            unknown = [c for c in customers if c not in known]
            if unknown:
                raise HubError(f"no customer with canonical id {', '.join(map(repr, unknown))}")
        self._note_new_customers(now)
        for spec in self.bureaus:
            st = BureauStats(spec.name, budget=spec.budget)
            stats.bureaus.append(st)
            self._run_bureau(spec, st, list(customers), all_customers)
            with self.store.connect() as conn:
                st.used_this_month = paid_this_month(conn, spec.name, self.now())
            log.info("bureaus.done", **{k: v for k, v in st.as_dict().items() if k not in ("left_out", "waiting")})
        stats.seconds = time.perf_counter() - started
        return stats

    def _run_bureau(self, spec: BureauSpec, st: BureauStats, customers: list[str], all_customers: bool) -> None:
        errors_in_a_row = [0]
        with contextlib.suppress(_Stop):  # a refused login: st.stopped says so, and nothing more is asked
            self._monitoring(spec, st, errors_in_a_row)
        due = self._due(spec, customers, all_customers)
        st.due = len(due)
        for i, (cid, forced) in enumerate(due):
            if st.stopped is not None:
                st.left_out.extend(c for c, _ in due[i:])
                return
            try:
                self._refresh(spec, st, cid, forced, errors_in_a_row)
            except _BudgetReached:
                st.budget_reached = True
                st.left_out.extend(c for c, _ in due[i:])
                log.warning("bureaus.budget_reached", bureau=spec.name, budget=spec.budget, left_out=len(st.left_out))
                return
            except _Stop:
                st.left_out.extend(c for c, _ in due[i + 1 :])
                return

    def _note_new_customers(self, now: dt.datetime) -> None:
        """Record every canonical customer not seen before: ``pending`` screening once screening has
        started, ``existing`` on the first run (unless ``screen_existing``)."""
        admission = self.settings.admission
        if not admission.enabled:
            return
        c, bs, st = schema.customer, schema.bureau_screening, schema.bureau_state
        with self.store.begin() as conn:
            transaction_lock(conn, "bureau screening")
            ids = set(conn.execute(sa.select(c.c.canonical_id).distinct()).scalars())
            known = set(conn.execute(sa.select(bs.c.customer_id)).scalars())
            started = conn.execute(sa.select(st.c.bureau).where(st.c.bureau == ADMISSION_MARK)).first() is not None
            if not started:
                conn.execute(
                    st.insert().values(bureau=ADMISSION_MARK, cursor={"since": now.isoformat()}, updated_at=now)
                )
            status = "pending" if started or admission.screen_existing else "existing"
            new = sorted(ids - known)
            if new:
                conn.execute(
                    bs.insert(),
                    [{"customer_id": cid, "status": status, "first_seen": now, "reasons": []} for cid in new],
                )

    def admission_bureau(self, country: str | None) -> str:
        admission = self.settings.admission
        if country and country in admission.by_country:
            return admission.by_country[country]
        return admission.bureau or self.bureaus[0].name

    def _due(self, spec: BureauSpec, customers: list[str], all_customers: bool) -> list[tuple[str, bool]]:
        """The customers to refresh with this bureau, most urgent first, each with whether it is forced
        (named by a person: the cache's age does not matter)."""
        now = self.now()
        fresh_after = now - dt.timedelta(days=spec.ttl_days)
        bl, be, bs, ex = schema.bureau_link, schema.bureau_event, schema.bureau_screening, schema.exposure
        with self.store.connect() as conn:
            reported = {
                cid: _aware(at)
                for cid, at in conn.execute(
                    sa.select(bl.c.customer_id, bl.c.reported_at).where(
                        bl.c.bureau == spec.name, bl.c.status == "linked"
                    )
                )
            }
            events = list(
                conn.execute(
                    sa.select(be.c.customer_id)
                    .where(be.c.bureau == spec.name, be.c.handled_at.is_(None), be.c.customer_id.is_not(None))
                    .distinct()
                ).scalars()
            )
            pending = list(conn.execute(sa.select(bs.c.customer_id).where(bs.c.status == "pending")).scalars())
            pending_facts = customer_facts(conn, pending, self.master_source) if pending else {}
            exposures = [(cid, amount) for cid, amount in conn.execute(sa.select(ex.c.customer_id, ex.c.open_base))]
            everyone = (
                list(conn.execute(sa.select(schema.customer.c.canonical_id).distinct()).scalars())
                if all_customers
                else []
            )

        def stale(cid: str) -> bool:
            at = reported.get(cid)
            return at is None or at < fresh_after

        if customers:  # named by a person: those, now, and no one else
            return [(cid, True) for cid in dict.fromkeys(customers)]
        order: dict[str, bool] = {}
        for cid in events:
            order.setdefault(cid, False)
        for cid in sorted(pending):
            facts = pending_facts.get(cid)
            if self.admission_bureau(facts.country if facts else None) == spec.name:
                order.setdefault(cid, False)
        for cid in sorted(everyone):
            if stale(cid):
                order.setdefault(cid, False)
        for cid, amount in sorted(exposures, key=lambda e: -(e[1] or 0)):
            if amount is not None and amount > self.threshold and stale(cid):
                order.setdefault(cid, False)
        return list(order.items())

    # -- one customer -----------------------------------------------------------------------------

    def _refresh(self, spec: BureauSpec, st: BureauStats, cid: str, forced: bool, errors: list[int]) -> None:
        with self.store.connect() as conn:
            facts = customer_facts(conn, [cid], self.master_source).get(cid) or _Facts(cid)
            link = self._linked(conn, spec.name, cid)
            waiting = self._proposals_open(conn, spec.name, cid)
            searched_recently = self._searched_since(
                conn, spec.name, cid, self.now() - dt.timedelta(days=self.settings.search_retry_days)
            )
        if link is None:
            if waiting:
                st.waiting.append(cid)
                self._screening_waits(spec, cid, "its bureau company waits for a person ('hub bureau links')")
                return
            if searched_recently and not forced:
                self._screen_without_report(
                    spec, cid, facts, Message(N_("%(bureau)s has no company for it"), bureau=spec.name)
                )
                return
            if self._search(spec, st, facts, errors) is None:
                return  # failed: recorded; a pending screening waits for the next run
            with self.store.connect() as conn:
                link = self._linked(conn, spec.name, cid)
                waiting = self._proposals_open(conn, spec.name, cid)
            if link is None:
                if waiting:
                    st.waiting.append(cid)
                    self._screening_waits(spec, cid, "its bureau company waits for a person ('hub bureau links')")
                else:
                    self._screen_without_report(
                        spec, cid, facts, Message(N_("%(bureau)s has no company for it"), bureau=spec.name)
                    )
                return
        company_id = str(link.company_id)
        result, call_id = self._call(
            spec, st, "report", cid, company_id, lambda: spec.client.report(company_id), errors
        )
        if result is _NOT_FOUND:
            self._screen_without_report(
                spec,
                cid,
                facts,
                Message(N_("%(bureau)s has no report on company %(company)s"), bureau=spec.name, company=company_id),
            )
            return
        if result is None:
            return
        assert isinstance(result, BureauReport)
        st.reports += 1
        self._store_report(spec, st, cid, company_id, facts, result, call_id)

    @staticmethod
    def _linked(conn: sa.Connection, bureau: str, cid: str) -> Any:
        bl = schema.bureau_link
        return conn.execute(
            sa.select(bl)
            .where(bl.c.bureau == bureau, bl.c.customer_id == cid, bl.c.status == "linked")
            .order_by(bl.c.id.desc())
        ).first()

    @staticmethod
    def _proposals_open(conn: sa.Connection, bureau: str, cid: str) -> bool:
        bl = schema.bureau_link
        return (
            conn.execute(
                sa.select(bl.c.id).where(bl.c.bureau == bureau, bl.c.customer_id == cid, bl.c.status == "proposed")
            ).first()
            is not None
        )

    @staticmethod
    def _searched_since(conn: sa.Connection, bureau: str, cid: str, since: dt.datetime) -> bool:
        bc = schema.bureau_call
        return (
            conn.execute(
                sa.select(bc.c.id).where(
                    bc.c.bureau == bureau,
                    bc.c.customer_id == cid,
                    bc.c.kind == "search",
                    bc.c.outcome.in_(("ok", "none", "not_found")),
                    bc.c.at >= since,
                )
            ).first()
            is not None
        )

    # -- calls ------------------------------------------------------------------------------------

    def _claim(self, spec: BureauSpec, kind: str, cid: str | None, company_id: str | None) -> int:
        """A ``bureau_call`` row for a call about to be made; for a paid kind, only within the month's budget
        (counted under the bureau's budget lock, so two processes cannot both take the last call)."""
        now = self.now()
        bc = schema.bureau_call
        with self.store.begin() as conn:
            paid = kind in PAID_KINDS
            if paid:
                transaction_lock(conn, f"bureau budget {spec.name}")
                if paid_this_month(conn, spec.name, now) >= spec.budget:
                    raise _BudgetReached
            row = {"bureau": spec.name, "kind": kind, "customer_id": cid, "company_id": company_id}
            return int(
                conn.execute(
                    bc.insert().values(**row, at=now, outcome="pending", paid=paid).returning(bc.c.id)
                ).scalar_one()
            )

    def _finish(self, call_id: int, outcome: str, paid: bool, detail: str | None = None) -> None:
        bc = schema.bureau_call
        with self.store.begin() as conn:
            conn.execute(bc.update().where(bc.c.id == call_id).values(outcome=outcome, paid=paid, detail=detail))

    def _call(
        self,
        spec: BureauSpec,
        st: BureauStats,
        kind: str,
        cid: str | None,
        company_id: str | None,
        fn: Callable[[], T],
        errors: list[int],
    ) -> tuple[T | object | None, int]:
        """Make one call, recorded. Returns its result (``_NOT_FOUND`` when the bureau has nothing,
        None after an error, which is recorded in ``st``) and the call's row id. Raises _BudgetReached
        before a paid call over the budget, _Stop when the bureau must not be asked again this run."""
        call_id = self._claim(spec, kind, cid, company_id)
        client = spec.client
        before = client.paid_calls
        about = f"{kind}" + (f" for {cid}" if cid else "") + (f" (company {company_id})" if company_id else "")

        def charged() -> bool:
            return client.paid_calls > before

        try:
            result = fn()
        except BureauAuthError as exc:
            self._finish(call_id, "auth", charged(), str(exc))
            st.paid_calls += charged()
            st.stopped = f"the bureau refused the credentials ({exc}); not asked again until they are fixed"
            st.errors.append(f"{about}: {exc}")
            log.error("bureaus.auth_failed", bureau=spec.name, error=str(exc))
            raise _Stop from None
        except BureauNotFound as exc:
            self._finish(call_id, "not_found", charged(), str(exc))
            st.paid_calls += charged()
            errors[0] = 0
            return _NOT_FOUND, call_id
        except Exception as exc:  # a timeout, a server error, a payload the client could not read
            detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, HubError) else str(exc)
            self._finish(call_id, "error", charged(), detail)
            st.paid_calls += charged()
            st.errors.append(f"{about} failed: {detail}")
            log.warning("bureaus.call_failed", bureau=spec.name, kind=kind, customer=cid, error=detail)
            errors[0] += 1
            if errors[0] >= MAX_CONSECUTIVE_ERRORS:
                st.stopped = f"{errors[0]} calls in a row failed (last: {detail})"
                raise _Stop from None
            return None, call_id
        errors[0] = 0
        self._finish(call_id, "ok", charged())
        st.paid_calls += charged()
        return result, call_id

    # -- linking ----------------------------------------------------------------------------------

    def _search(
        self, spec: BureauSpec, st: BureauStats, facts: _Facts, errors: list[int]
    ) -> list[dict[str, Any]] | None:
        """Search the bureau for the customer; link the one candidate sharing an id, or propose the
        candidates. Returns what was linked or proposed; None when the search failed (recorded in ``st``)."""
        query = build_query(facts)
        result, call_id = self._call(
            spec, st, "search", facts.customer_id, None, lambda: list(spec.client.search(query)), errors
        )
        st.searches += 1
        if result is None:
            return None
        found: list[BureauCompany] = [] if result is _NOT_FOUND else list(result)  # type: ignore[call-overload]
        done = self._decide_links(spec, st, facts, found)
        if not done and result is not _NOT_FOUND:
            self._set_outcome(call_id, "none", f"{len(found)} candidates, none new" if found else "no candidate")
        return done

    def _set_outcome(self, call_id: int, outcome: str, detail: str | None) -> None:
        bc = schema.bureau_call
        with self.store.begin() as conn:
            conn.execute(bc.update().where(bc.c.id == call_id).values(outcome=outcome, detail=detail))

    def _decide_links(
        self, spec: BureauSpec, st: BureauStats, facts: _Facts, found: list[BureauCompany]
    ) -> list[dict[str, Any]]:
        now = self.now()
        bl = schema.bureau_link
        mine = customer_keys(facts)
        out: list[dict[str, Any]] = []
        with self.store.begin() as conn:
            transaction_lock(conn, f"bureau link {spec.name} {facts.customer_id}")
            existing = {
                r.company_id: r
                for r in conn.execute(
                    sa.select(bl).where(bl.c.bureau == spec.name, bl.c.customer_id == facts.customer_id)
                )
            }
            fresh = [
                c for c in found if existing.get(c.company_id) is None or existing[c.company_id].status != "rejected"
            ]
            by_id = [(c, mine & company_keys(c)) for c in fresh]
            matching = [(c, shared) for c, shared in by_id if shared]
            already = any(r.status == "linked" for r in existing.values())
            if len(matching) == 1 and (not already or existing.get(matching[0][0].company_id) is not None):
                chosen = [(matching[0][0], matching[0][1], "linked")]
            else:
                chosen = [(c, shared, "proposed") for c, shared in (matching or by_id)[:MAX_PROPOSALS]]
            for company, shared, status in chosen:
                evidence = {
                    "shared_ids": sorted(k for k in shared if not k.startswith("raw:")) or sorted(shared),
                    "name": company.name,
                    "their_ids": {
                        k: v
                        for k, v in (
                            ("registration_number", company.registration_number),
                            ("vat_number", company.vat_number),
                            ("uscc", company.uscc),
                            ("duns", company.duns),
                        )
                        if v
                    },
                    "status": company.status,
                    "address": company.address,
                    "why": "the only candidate sharing an id"
                    if status == "linked"
                    else (
                        "another company is linked already"
                        if already and len(matching) == 1
                        else ("several candidates share an id" if shared else "name and country only")
                    ),
                }
                row = {
                    "company_name": company.name,
                    "country": company.country,
                    "status": status,
                    "method": method_of(shared),
                    "evidence": _json_safe(evidence),
                }
                if status == "linked":
                    row |= {"decided_by": SERVICE, "decided_at": now}
                old = existing.get(company.company_id)
                if old is None:
                    conn.execute(
                        bl.insert().values(
                            customer_id=facts.customer_id,
                            bureau=spec.name,
                            company_id=company.company_id,
                            created_at=now,
                            **row,
                        )
                    )
                elif old.status != "linked":
                    conn.execute(bl.update().where(bl.c.id == old.id).values(**row))
                st.linked += status == "linked"
                st.proposed += status == "proposed"
                out.append({"company_id": company.company_id, **row})
            if any(status == "linked" for _, _, status in chosen):
                self.store.audit(
                    conn,
                    SERVICE,
                    "bureau_link.link",
                    "customer",
                    facts.customer_id,
                    bureau=spec.name,
                    company_id=chosen[0][0].company_id,
                    method=method_of(chosen[0][1]),
                )
        return out

    # -- storing a report -------------------------------------------------------------------------

    def _store_report(
        self,
        spec: BureauSpec,
        st: BureauStats,
        cid: str,
        company_id: str,
        facts: _Facts,
        report: BureauReport,
        call_id: int,
    ) -> None:
        now = self.now()
        # What the report says (not the raw payload, whose request ids change on every call): a report
        # read again is stored once, but one that changed on the same day (a rating lowered this
        # morning) is a new row beside the earlier one, so the risk run sees it as a change.
        said = json.dumps(
            [
                report.score,
                report.raw_score,
                report.band,
                report.recommended_limit,
                report.recommended_limit_currency,
                [(e.kind, e.date, e.court, e.amount, e.case_number, e.description) for e in report.events],
            ],
            default=str,
        )
        try:
            record = CreditReport.model_validate(
                {
                    "source": spec.name,
                    "external_id": f"{cid}:{report.report_date}:{record_hash([said]) & 0xFFFFFFFFFFFF:012x}",
                    "customer_external_id": cid,
                    "bureau": report.bureau or spec.client.name,
                    "bureau_company_id": report.company_id or company_id,
                    "score": report.score,
                    "raw_score": report.raw_score,
                    "band": report.band,
                    "recommended_limit": report.recommended_limit,
                    "recommended_limit_currency": report.recommended_limit_currency,
                    "legal_events": [
                        {
                            "kind": e.kind,
                            "date": e.date,
                            "description": e.description,
                            "court": e.court,
                            "amount": e.amount,
                            "currency": e.currency,
                            "case_number": e.case_number,
                        }
                        for e in report.events
                    ],
                    "report_date": report.report_date,
                }
            )
            raw = _json_safe(report.raw)
            if not isinstance(raw, dict):
                raise TypeError(f"the raw payload is a {type(report.raw).__name__}, not an object")
        except ValidationError as exc:
            self._malformed(spec, st, cid, company_id, call_id, describe_validation_error(exc))
            return
        except (TypeError, ValueError, AttributeError) as exc:
            self._malformed(spec, st, cid, company_id, call_id, str(exc))
            return
        values = record.model_dump(mode="json")
        row = {
            **{k: v for k, v in record.model_dump().items() if k != "legal_events"},
            "legal_events": values["legal_events"],
            "record_hash": record_hash(json.dumps([values, raw], sort_keys=True, default=str)),
            "synced_at": now,
            "missing_since": None,
            "raw": raw,
            "limit_note": report.limit_note,
        }
        bl, be = schema.bureau_link, schema.bureau_event
        with self.store.begin() as conn:
            transaction_lock(conn, f"bureau report {spec.name} {cid}")
            _upsert(conn, schema.credit_report, row, ("source", "external_id"))
            conn.execute(
                bl.update()
                .where(bl.c.bureau == spec.name, bl.c.customer_id == cid, bl.c.company_id == company_id)
                .values(reported_at=now)
            )
            conn.execute(
                be.update()
                .where(be.c.bureau == spec.name, be.c.customer_id == cid, be.c.handled_at.is_(None))
                .values(handled_at=now)
            )
            st.screened += self._screen(conn, spec, cid, facts, record, report.limit_note, now)
        st.stored += 1

    def _malformed(self, spec: BureauSpec, st: BureauStats, cid: str, company_id: str, call_id: int, why: str) -> None:
        message = f"the report on {cid} (company {company_id}) is malformed and was not stored: {why}"
        self._set_outcome(call_id, "malformed", why[:2000])
        st.errors.append(message)
        log.warning("bureaus.malformed_report", bureau=spec.name, customer=cid, company=company_id, problem=why)

    # -- admission screening ----------------------------------------------------------------------

    def _screening_row(self, conn: sa.Connection, cid: str) -> Any:
        bs = schema.bureau_screening
        return conn.execute(sa.select(bs).where(bs.c.customer_id == cid)).first()

    def _screens(self, row: Any, spec: BureauSpec, facts: _Facts) -> bool:
        """Whether this bureau's answer decides the customer's admission terms: the customer waits for
        its screening by this bureau, or was screened by it (later reports update the terms)."""
        if row is None or row.status == "existing":
            return False
        if row.status == "screened":
            return bool(row.bureau == spec.name)
        return self.admission_bureau(facts.country) == spec.name

    def _screening_waits(self, spec: BureauSpec, cid: str, why: str) -> None:
        bs = schema.bureau_screening
        with self.store.begin() as conn:
            conn.execute(
                bs.update()
                .where(bs.c.customer_id == cid, bs.c.status == "pending")
                .values(waiting=f"{spec.name}: {why}")
            )

    def _screen_without_report(self, spec: BureauSpec, cid: str, facts: _Facts, why: Message) -> None:
        """A customer the bureau does not know is screened as unrated."""
        with self.store.begin() as conn:
            self._screen(conn, spec, cid, facts, None, None, self.now(), missing=why)

    def _screen(
        self,
        conn: sa.Connection,
        spec: BureauSpec,
        cid: str,
        facts: _Facts,
        report: CreditReport | None,
        limit_note: str | None,
        now: dt.datetime,
        *,
        missing: Message | None = None,
    ) -> bool:
        """Decide (or update) the customer's admission terms from this report; True on its first screening."""
        row = self._screening_row(conn, cid)
        if not self._screens(row, spec, facts):
            return False
        admission = self.settings.admission
        score = report.score if report else None
        band = band_of(score, self.bands) if score is not None else None
        terms = admission.terms_for(band)
        severe = [e for e in (report.legal_events if report else []) if e.kind in SEVERE]
        prepayment = terms.prepayment or bool(severe)
        # the screening's sentences are kept as messages (hub.i18n.stored): the English text for the command
        # line and the audit log, the message for a page or a sink in its own language
        reasons: list[Message] = []
        unrated = Message(N_("unrated"))
        if report is None:
            reasons.append(Message(N_("%(why)s: screened as unrated"), why=missing or Message(N_("no report"))))
        elif score is None:
            reasons.append(
                Message(
                    N_("%(bureau)s does not rate it (%(raw)s) on %(day)s"),
                    bureau=spec.name,
                    raw=report.raw_score or Message(N_("not rated")),
                    day=Day(report.report_date),
                )
            )
        elif report.band:
            reasons.append(
                Message(
                    N_("%(bureau)s scores it %(score)s of 100, its band %(their)s on %(day)s: band %(band)s"),
                    bureau=spec.name,
                    score=f"{score:g}",
                    their=report.band,
                    day=Day(report.report_date),
                    band=str(band),
                )
            )
        else:
            reasons.append(
                Message(
                    N_("%(bureau)s scores it %(score)s of 100 on %(day)s: band %(band)s"),
                    bureau=spec.name,
                    score=f"{score:g}",
                    day=Day(report.report_date),
                    band=str(band),
                )
            )
        for e in severe:
            said = Message(N_("%(bureau)s reports %(event)s"), bureau=spec.name, event=Message(SEVERE_WORDS[e.kind]))
            if e.date:
                said = Message(N_("%(what)s on %(day)s"), what=said, day=Day(e.date))
            if e.court:
                said = Message(N_("%(what)s (%(court)s)"), what=said, court=e.court)
            if description := e.description.rstrip(": "):
                said = Message(N_("%(what)s: %(description)s"), what=said, description=description)
            reasons.append(said)
        limit: Decimal | None = None
        currency: str | None = None
        bureau_limit = report.recommended_limit if report else None
        if prepayment:
            limit, currency = Decimal(0), facts.currency or (report.recommended_limit_currency if report else None)
            reasons.append(
                Message(N_("terms for band %(band)s: prepayment before delivery, no credit"), band=band or unrated)
            )
        elif bureau_limit is not None and report is not None and report.recommended_limit_currency:
            share = Decimal(str(terms.limit_share))
            limit = ((bureau_limit * share) / self.rounding).to_integral_value(rounding=ROUND_FLOOR) * self.rounding
            currency = report.recommended_limit_currency
            reasons.append(
                Message(
                    N_(
                        "terms for band %(band)s: %(share)s of the bureau's recommended %(recommended)s is "
                        "%(limit)s, payment within %(days)s days"
                    ),
                    band=str(band),
                    share=Share(float(share)),
                    recommended=Amount(bureau_limit, currency),
                    limit=Amount(limit, currency),
                    days=terms.terms_days,
                )
            )
        elif limit_note:
            reasons.append(
                Message(
                    N_(
                        "terms for band %(band)s: payment within %(days)s days; "
                        "the bureau recommends no limit (%(note)s), so none is set"
                    ),
                    band=band or unrated,
                    days=terms.terms_days,
                    note=limit_note,
                )
            )
        else:
            reasons.append(
                Message(
                    N_(
                        "terms for band %(band)s: payment within %(days)s days; "
                        "the bureau recommends no limit, so none is set"
                    ),
                    band=band or unrated,
                    days=terms.terms_days,
                )
            )
        first = row.status == "pending"
        bs = schema.bureau_screening
        conn.execute(
            bs.update()
            .where(bs.c.customer_id == cid)
            .values(
                status="screened",
                bureau=spec.name,
                screened_at=now if first else row.screened_at,
                score=score,
                band=band,
                bureau_band=report.band if report else None,
                recommended_limit=limit,
                currency=currency,
                terms_days=0 if prepayment else terms.terms_days,
                prepayment=prepayment,
                reasons=[stored(m) for m in reasons],
                waiting=None,
            )
        )
        if first:
            self.store.audit(
                conn,
                ADMISSION,
                "bureau.screen",
                "customer",
                cid,
                bureau=spec.name,
                reasons=[m.english() for m in reasons],
            )
            if limit is not None and currency is not None:
                self._admission_limit(conn, cid, facts, limit, currency, reasons, now)
        return bool(first)

    def _admission_limit(
        self,
        conn: sa.Connection,
        cid: str,
        facts: _Facts,
        limit: Decimal,
        currency: str,
        reasons: list[Message],
        now: dt.datetime,
    ) -> None:
        """The screened limit of a customer without one: a ``credit_limit_proposal`` applied by the
        screening (sent to every sink) or pending for a person, as ``[bureaus.admission] limit`` says."""
        mode = self.settings.admission.limit
        if mode == "none" or facts.credit_limit is not None:
            return
        if facts.currency is not None and facts.currency != currency:
            log.info("bureaus.limit_currency_differs", customer=cid, limit_currency=currency, currency=facts.currency)
            return
        from hub.outbox import enqueue
        from hub.risk.credit import customer_links

        applied = mode == "apply"
        clp = schema.credit_limit_proposal
        pid = int(
            conn.execute(
                clp.insert()
                .values(
                    customer_id=cid,
                    as_of=now.date(),
                    currency=currency,
                    current_limit=None,
                    recommended=limit,
                    reasons=[stored(Message(N_("admission screening: %(reasons)s"), reasons=Join(tuple(reasons))))],
                    status="applied" if applied else "pending",
                    created_at=now,
                    decided_by=ADMISSION if applied else None,
                    decided_at=now if applied else None,
                )
                .returning(clp.c.id)
            ).scalar_one()
        )
        if not applied:
            return
        said = Message(N_("Admission screening: %(reasons)s."), reasons=Join(tuple(reasons)))
        event = CreditLimitChange(
            event_id=f"{cid}:credit_limit:{pid}",
            customer_id=cid,
            amount=limit.quantize(Decimal("0.01")),
            currency=currency,
            previous=None,
            approved_by=ADMISSION,
            reason=said.english(),
            at=now,
            links=customer_links(conn, cid, self.master_source),
            message=said.to_json(),
        )
        self.store.audit(
            conn,
            ADMISSION,
            "credit_limit.apply",
            "credit_limit_proposal",
            str(pid),
            customer_id=cid,
            currency=currency,
            new=str(event.amount),
            event_id=event.event_id,
            sinks=self.sinks,
        )
        enqueue(conn, [event], self.sinks, now)

    # -- monitoring -------------------------------------------------------------------------------

    def _monitoring(self, spec: BureauSpec, st: BureauStats, errors: list[int]) -> None:
        """Register linked companies not monitored yet, then pull events page by page after the stored cursor."""
        client = spec.client
        bl, be, bst = schema.bureau_link, schema.bureau_event, schema.bureau_state
        if type(client).register_monitoring is not BureauClient.register_monitoring:
            with self.store.connect() as conn:
                ids = sorted(
                    set(
                        conn.execute(
                            sa.select(bl.c.company_id).where(
                                bl.c.bureau == spec.name, bl.c.status == "linked", bl.c.monitored.is_(False)
                            )
                        ).scalars()
                    )
                )
            if ids:

                def register() -> bool:
                    client.register_monitoring(ids)
                    return True

                result, _ = self._call(spec, st, "monitoring", None, None, register, errors)
                if result is True:  # else recorded in st; tried again on the next run
                    with self.store.begin() as conn:
                        conn.execute(
                            bl.update()
                            .where(bl.c.bureau == spec.name, bl.c.company_id.in_(ids), bl.c.status == "linked")
                            .values(monitored=True)
                        )
                    st.registered += len(ids)
        if type(client).monitoring_events is BureauClient.monitoring_events:
            return
        with self.store.connect() as conn:
            cursor = conn.execute(sa.select(bst.c.cursor).where(bst.c.bureau == spec.name)).scalar_one_or_none()
        before = client.paid_calls
        try:
            for events, after in client.monitoring_events(cursor):
                now = self.now()
                with self.store.begin() as conn:
                    transaction_lock(conn, f"bureau monitoring {spec.name}")
                    owners: dict[str, str] = {}
                    companies = sorted({e.company_id for e in events})
                    if companies:
                        owners = dict(
                            conn.execute(
                                sa.select(bl.c.company_id, bl.c.customer_id).where(
                                    bl.c.bureau == spec.name, bl.c.status == "linked", bl.c.company_id.in_(companies)
                                )
                            ).all()
                        )
                    for e in events:
                        insert: Any = dialect_insert(conn.dialect, be)
                        conn.execute(
                            insert.values(
                                bureau=spec.name,
                                event_id=e.event_id,
                                company_id=e.company_id,
                                customer_id=owners.get(e.company_id),
                                date=e.date,
                                kind=e.kind[:100],
                                description=e.description,
                                received_at=now,
                            ).on_conflict_do_nothing(index_elements=["bureau", "event_id"])
                        )
                    _upsert(
                        conn, bst, {"bureau": spec.name, "cursor": _json_safe(after), "updated_at": now}, ("bureau",)
                    )
                st.events += len(events)
        except BureauAuthError as exc:
            st.stopped = f"the bureau refused the credentials ({exc}); not asked again until they are fixed"
            st.errors.append(f"monitoring: {exc}")
            raise _Stop from None
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, HubError) else str(exc)
            st.errors.append(f"monitoring events failed: {detail}")
            log.warning("bureaus.monitoring_failed", bureau=spec.name, error=detail)
        finally:
            if client.paid_calls > before:
                with self.store.begin() as conn:
                    conn.execute(
                        schema.bureau_call.insert().values(
                            bureau=spec.name,
                            kind="monitoring",
                            at=self.now(),
                            outcome="ok",
                            paid=True,
                            detail=f"{client.paid_calls - before} charged event pages",
                        )
                    )

    # -- what a person asks for -------------------------------------------------------------------

    def search(self, customer_id: str, bureau: str | None = None) -> dict[str, Any]:
        """Search one bureau for one customer now (a paid call within the budget); link or propose as a run would."""
        spec = self.spec(bureau)
        with self.store.connect() as conn:
            facts = customer_facts(conn, [customer_id], self.master_source).get(customer_id)
        if facts is None:
            raise HubError(f"no customer with canonical id {customer_id!r}")
        st = BureauStats(spec.name, budget=spec.budget)
        try:
            found = self._search(spec, st, facts, [0]) or []
        except _BudgetReached:
            raise HubError(
                f"{spec.name}: the monthly budget of {spec.budget} paid calls is reached; no search made"
            ) from None
        except _Stop:
            raise HubError(f"{spec.name}: {st.errors[-1] if st.errors else st.stopped}") from None
        if st.errors:
            raise HubError(f"{spec.name}: {st.errors[-1]}")
        return {
            "customer_id": customer_id,
            "bureau": spec.name,
            "query": asdict(build_query(facts)),
            "candidates": found,
        }


# -- links: reading and deciding ------------------------------------------------------------------------


def links(
    conn: sa.Connection, *, status: str | None = None, bureau: str | None = None, customer_id: str | None = None
) -> list[dict[str, Any]]:
    if status is not None and status not in LINK_STATUSES:
        raise HubError(f"status must be one of {', '.join(LINK_STATUSES)}, got {status!r}")
    bl = schema.bureau_link
    query = sa.select(bl).order_by(bl.c.customer_id, bl.c.bureau, bl.c.id)
    if status is not None:
        query = query.where(bl.c.status == status)
    if bureau is not None:
        query = query.where(bl.c.bureau == bureau)
    if customer_id is not None:
        query = query.where(bl.c.customer_id == customer_id)
    rows = list(conn.execute(query))
    names = {cid: f.name for cid, f in customer_facts(conn, sorted({r.customer_id for r in rows}), None).items()}
    return [
        {
            "customer_id": r.customer_id,
            "customer_name": names.get(r.customer_id),
            "bureau": r.bureau,
            "company_id": r.company_id,
            "company_name": r.company_name,
            "country": r.country,
            "status": r.status,
            "method": r.method,
            "evidence": r.evidence,
            "monitored": bool(r.monitored),
            "reported_at": _iso(r.reported_at),
            "decided_by": r.decided_by,
            "decided_at": _iso(r.decided_at),
        }
        for r in rows
    ]


def _link_bureau(conn: sa.Connection, customer_id: str, company_id: str, bureau: str | None) -> str:
    if bureau is not None:
        return bureau
    bl = schema.bureau_link
    found = sorted(
        set(
            conn.execute(
                sa.select(bl.c.bureau).where(bl.c.customer_id == customer_id, bl.c.company_id == company_id)
            ).scalars()
        )
    )
    if len(found) == 1:
        return str(found[0])
    which = f"several bureaus know it ({', '.join(found)})" if found else "no bureau proposed it"
    raise HubError(f"name the bureau with --bureau: {which}")


def accept(
    store: Store, customer_id: str, company_id: str, *, bureau: str | None, actor: str, known: Sequence[str]
) -> dict[str, Any]:
    """Link the customer to the company (a proposal, or a link made by hand); any other link of the
    customer at that bureau is set aside (``rejected``). Audited."""
    now = utcnow()
    bl = schema.bureau_link
    with store.begin() as conn:
        name = _link_bureau(conn, customer_id, company_id, bureau)
        if name not in known:
            raise HubError(f"no bureau connector named {name!r} in the config; have: {', '.join(known) or 'none'}")
        if not customer_facts(conn, [customer_id], None):
            raise HubError(f"no customer with canonical id {customer_id!r}")
        transaction_lock(conn, f"bureau link {name} {customer_id}")
        rows = {
            r.company_id: r
            for r in conn.execute(sa.select(bl).where(bl.c.bureau == name, bl.c.customer_id == customer_id))
        }
        row = rows.get(company_id)
        decided = {"status": "linked", "decided_by": actor, "decided_at": now}
        if row is None:
            conn.execute(
                bl.insert().values(
                    customer_id=customer_id,
                    bureau=name,
                    company_id=company_id,
                    method="manual",
                    evidence={"why": f"linked by hand by {actor}"},
                    created_at=now,
                    **decided,
                )
            )
            was = None
        else:
            was = row.status
            if was != "linked":
                conn.execute(bl.update().where(bl.c.id == row.id).values(**decided))
        set_aside = sorted(c for c, r in rows.items() if c != company_id and r.status in ("linked", "proposed"))
        if set_aside:
            conn.execute(
                bl.update()
                .where(bl.c.bureau == name, bl.c.customer_id == customer_id, bl.c.company_id.in_(set_aside))
                .values(status="rejected", decided_by=actor, decided_at=now)
            )
        store.audit(
            conn,
            actor,
            "bureau_link.accept",
            "customer",
            customer_id,
            bureau=name,
            company_id=company_id,
            previous=was,
            set_aside=set_aside,
        )
    return {
        "customer_id": customer_id,
        "bureau": name,
        "company_id": company_id,
        "previous": was,
        "set_aside": set_aside,
    }


def reject(store: Store, customer_id: str, company_id: str, *, bureau: str | None, actor: str) -> dict[str, Any]:
    """Reject a proposal or undo a link: that company is never linked to the customer again by the service."""
    now = utcnow()
    bl = schema.bureau_link
    with store.begin() as conn:
        name = _link_bureau(conn, customer_id, company_id, bureau)
        transaction_lock(conn, f"bureau link {name} {customer_id}")
        row = conn.execute(
            sa.select(bl).where(bl.c.bureau == name, bl.c.customer_id == customer_id, bl.c.company_id == company_id)
        ).first()
        if row is None:
            raise HubError(
                f"{customer_id} has no link or proposal to {name} company {company_id!r} ('hub bureau links')"
            )
        conn.execute(bl.update().where(bl.c.id == row.id).values(status="rejected", decided_by=actor, decided_at=now))
        store.audit(
            conn,
            actor,
            "bureau_link.reject",
            "customer",
            customer_id,
            bureau=name,
            company_id=company_id,
            previous=row.status,
        )
    return {"customer_id": customer_id, "bureau": name, "company_id": company_id, "previous": row.status}


# -- calls by month -------------------------------------------------------------------------------------


def calls_by_month(
    conn: sa.Connection, *, month: str | None = None, budgets: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """Calls per month (``YYYY-MM``, UTC) and bureau: paid ones, by kind and by outcome; the budget when known."""
    bc = schema.bureau_call
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for bureau, kind, at, outcome, paid in conn.execute(
        sa.select(bc.c.bureau, bc.c.kind, bc.c.at, bc.c.outcome, bc.c.paid).order_by(bc.c.at)
    ):
        key = (_aware(at).astimezone(dt.UTC).strftime("%Y-%m"), bureau)  # type: ignore[union-attr]
        if month is not None and key[0] != month:
            continue
        entry = out.setdefault(
            key,
            {
                "month": key[0],
                "bureau": bureau,
                "calls": 0,
                "paid": 0,
                "by_kind": defaultdict(int),
                "by_outcome": defaultdict(int),
            },
        )
        entry["calls"] += 1
        entry["paid"] += bool(paid)
        if paid:
            entry["by_kind"][kind] += 1
        entry["by_outcome"][outcome] += 1
    rows = []
    for key in sorted(out, key=lambda k: (k[0], k[1]), reverse=False):
        entry = out[key]
        budget = (budgets or {}).get(entry["bureau"])
        rows.append(
            {
                **entry,
                "by_kind": dict(entry["by_kind"]),
                "by_outcome": dict(entry["by_outcome"]),
                "budget": budget,
                "remaining": None if budget is None else max(0, budget - entry["paid"]),
            }
        )
    return rows


def screenings(conn: sa.Connection, *, customer_id: str | None = None) -> list[dict[str, Any]]:
    bs = schema.bureau_screening
    query = sa.select(bs).where(bs.c.status != "existing").order_by(bs.c.first_seen, bs.c.customer_id)
    if customer_id is not None:
        query = sa.select(bs).where(bs.c.customer_id == customer_id)
    return [
        {
            "customer_id": r.customer_id,
            "status": r.status,
            "bureau": r.bureau,
            "first_seen": _iso(r.first_seen),
            "screened_at": _iso(r.screened_at),
            "score": r.score,
            "band": r.band,
            "bureau_band": r.bureau_band,
            "recommended_limit": None if r.recommended_limit is None else str(r.recommended_limit),
            "currency": r.currency,
            "terms_days": r.terms_days,
            "prepayment": r.prepayment,
            "reasons": [stored_english(item) for item in r.reasons or []],
            "waiting": r.waiting,
        }
        for r in conn.execute(query)
    ]


# -- the admission terms in the risk run ----------------------------------------------------------------


class AdmissionTermsPolicy(FlagPolicy):
    """``PREPAYMENT_REQUIRED`` for a screened customer whose admission terms say prepayment (its band's
    terms, or an insolvency or dishonest-debtor listing). The terms follow the screening bureau's later
    reports on the customer; the flag clears when they no longer say prepayment."""

    name = "bureau-admission-terms"

    def __init__(self, reasons: dict[str, Message]) -> None:
        self.reasons = reasons

    def evaluate(self, customer: CustomerRisk, context: RiskContext) -> Sequence[RiskFlag]:
        reason = self.reasons.get(customer.customer_id)
        if reason is None:
            return []
        return [
            RiskFlag(
                customer_id=customer.customer_id,
                code=FlagCode.PREPAYMENT_REQUIRED.value,
                reason=reason.english(),
                message=reason.to_json(),
            )
        ]


def admission_policy(conn: sa.Connection) -> AdmissionTermsPolicy:
    bs = schema.bureau_screening
    # the screening's sentences are stored as messages (a screening from before messages: English sentences)
    reasons = {
        cid: Message(
            N_("ask for payment before delivering: admission screening: %(reasons)s"),
            reasons=Join(tuple(stored_message(item) or stored_english(item) for item in why or [])),
        )
        for cid, why in conn.execute(
            sa.select(bs.c.customer_id, bs.c.reasons).where(bs.c.status == "screened", bs.c.prepayment.is_(True))
        )
    }
    return AdmissionTermsPolicy(reasons)
