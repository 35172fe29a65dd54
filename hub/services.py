"""The application's service layer: every action a person or a program takes on the hub's data.

Confirm a match, approve a credit limit, log a collection call, link a customer record, replay a
dead letter, read a customer's exposure: each is one method here, reached from a :class:`~hub.app.Hub`
(``hub.matches.confirm(...)``, ``hub.limits.approve(...)``). The command line, the web console,
the REST API and the workers call these and nothing below them, so an action behaves the same (the
same checks, the same audit-log entry, the same outbox event) whoever takes it. They never import
SQLAlchemy or the store's tables; that is this layer's and the engines' business.

Each service checks that the store is set up, passes the hub's settings (master source, sinks,
buckets) to the engine functions that do the work, and returns plain data (dicts, dataclasses) that
an interface can print, render or serialise. Who acts (``actor``, ``by``) is always given by the
caller: the command line takes the login name, the console its signed-in user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hub.codes import CHANNEL_LABELS
from hub.i18n import N_

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.accounts import Account
    from hub.app import Hub
    from hub.bureaus import BureauEngine, BureauRunStats
    from hub.lists import Page
    from hub.model import CreditLimitChange
    from hub.outbox import ReplayStats
    from hub.recon import ActionResult, MatchDesk
    from hub.risk.credit import LimitProposal, LimitRequest
    from hub.risk.types import FlagPolicy


class _Service:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store = hub.store

    def _ready(self) -> None:
        self.store.check_ready()


class Matches(_Service):
    """Cash application as finance works it: the allocations, and confirm / reject / unmatch / explain."""

    #: What "the matches" means when no status is named: what the book currently holds.
    CURRENT = ("auto", "suggested", "confirmed")

    def _desk(self) -> MatchDesk:
        from hub.recon import MatchDesk

        self._ready()
        # The engine (the matchers, the config's fee ceiling) is built only when explain asks for an advice,
        # or for what it weighs now.
        return MatchDesk(
            self.store,
            advice_of=lambda conn, rid: self.hub.reconcile_engine().advice_of(conn, rid),
            considered_of=lambda rid: self.hub.reconcile_engine().considered(rid),
        )

    def rows(self, statuses: Sequence[str] = CURRENT, *, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Allocations with these statuses (up to ``limit``) by receipt and rank, and how many there are in all."""
        return self._desk().rows(statuses, limit=limit)

    def confirm(
        self, receipt_ref: str, invoices: Sequence[str] = (), *, actor: str, note: str | None = None
    ) -> ActionResult:
        """Confirm a receipt's best proposal, or allocate it to ``invoices`` in that order (audited)."""
        return self._desk().confirm(receipt_ref, invoices, actor=actor, note=note)

    def reject(
        self, receipt_ref: str, invoices: Sequence[str] = (), *, actor: str, note: str | None = None
    ) -> ActionResult:
        """Reject a receipt's proposals (only those naming ``invoices``, if given); never proposed again."""
        return self._desk().reject(receipt_ref, invoices, actor=actor, note=note)

    def unmatch(self, receipt_ref: str, *, actor: str, note: str | None = None) -> ActionResult:
        """Undo a receipt's automatic or confirmed allocations; its invoices are open again."""
        return self._desk().unmatch(receipt_ref, actor=actor, note=note)

    def explain(self, receipt_ref: str, *, locale: str = "en", considered: bool = False) -> dict[str, Any]:
        """The receipt, every proposal with its evidence and how it combines, and who did what; the
        evidence in ``locale`` (English by default, as the API and the command line show it); and the
        threshold a proposal had to reach to be stored (``suggest_threshold``).

        ``considered``: what the matchers weigh now for an open receipt as well, below that threshold
        too (it reads the whole open book, as a run does; nothing is stored)."""
        data = self._desk().explain(receipt_ref, locale=locale, considered=considered)
        data["suggest_threshold"] = self.hub.config.reconcile.suggest_threshold
        return data

    def advices(self, *, unlinked: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
        """The remittance advices held, latest payment date first, each with the receipt the next reconcile
        reads it with (and how it was linked) or none; ``unlinked``: only those without one."""
        from hub.recon.advice import advice_rows

        self._ready()
        engine = self.hub.reconcile_engine()
        with self.store.connect() as conn:
            return advice_rows(conn, engine.linked_advices(conn), unlinked=unlinked, limit=limit)

    def allocate(
        self,
        receipt_ref: str,
        lines: Sequence[tuple[str, Decimal, Decimal]],
        *,
        actor: str,
        reason: str | None = None,
        note: str | None = None,
    ) -> ActionResult:
        """Allocate a receipt by hand: ``(invoice, amount paid, amount written off)`` per line, the write-offs'
        ``reason`` (:data:`hub.allocate.WRITE_OFF_REASONS`); confirmed at once and audited."""
        from hub.allocate import HandDesk, Line

        self._ready()
        return HandDesk(self.store).allocate(
            receipt_ref, [Line(inv, amount, off) for inv, amount, off in lines], actor=actor, reason=reason, note=note
        )

    def receipts(
        self,
        *,
        status: str | None = None,
        q: str | None = None,
        sort: str | None = None,
        limit: int = 50,
        offset: int = 0,
        allocations: bool = True,
    ) -> Page:
        """A page of customer payments by match status (``open``, ``suggested``, ``matched``), each with its
        proposed and live allocations; searchable (reference, payer, remittance) and sortable."""
        from hub import lists

        self._ready()
        with self.store.connect() as conn:
            page = lists.receipts(conn, status=status, q=q, sort=sort, limit=limit, offset=offset)
            if allocations:
                found = lists.receipt_allocations(conn, [r["id"] for r in page.items])
                for item in page.items:
                    item["allocations"] = found.get(item["id"], [])
        return page

    def forget(
        self,
        customer_id: str,
        *,
        fees: Sequence[Decimal] = (),
        accounts: Sequence[str] = (),
        names: Sequence[str] = (),
        payers: Sequence[str] = (),
        numbers: bool = False,
        actor: str,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Undo what matches taught the hub about a customer (the fees, accounts, names, payers given, how its
        payers write its invoice numbers, or all; audited)."""
        return self._desk().forget(
            customer_id,
            fees=fees,
            accounts=accounts,
            names=names,
            payers=payers,
            numbers=numbers,
            actor=actor,
            note=note,
        )


@dataclass(frozen=True)
class CustomerExposure:
    """One customer as the last risk run saw it: the stored assessment and the flags in force."""

    exposure: dict[str, Any]
    flags: list[dict[str, Any]]
    buckets: list[str]
    """The configured ageing buckets, youngest first (keys of ``exposure["buckets"]``)."""
    bureaus: list[dict[str, Any]] = field(default_factory=list)
    """Each bureau's latest view of the customer (:func:`bureau_view_dict`), by bureau name."""


def bureau_view_dict(view: Any) -> dict[str, Any]:
    """A :class:`hub.risk.BureauView` as plain data: its fields, and its events as dicts (dates as dates)."""
    return {
        "bureau": view.bureau,
        "report_date": view.report_date,
        "score": view.score,
        "band": view.band,
        "previous_score": view.previous_score,
        "previous_band": view.previous_band,
        "previous_date": view.previous_date,
        "recommended_limit": view.recommended_limit,
        "recommended_limit_currency": view.recommended_limit_currency,
        "events": [e.model_dump(mode="python") for e in view.legal_events],
    }


class Exposures(_Service):
    """What each customer (and each group) owes, how late, and how risky, as of the last risk run."""

    def buckets(self) -> list[str]:
        """The configured ageing buckets' labels, youngest first (``not_due``, ``d1_30`` ...)."""
        from hub.risk.exposure import bucket_labels

        return bucket_labels(self.hub.config.risk.buckets)

    def customers(self) -> list[dict[str, Any]]:
        """Every customer's stored assessment (every column of the exposure table), by customer id."""
        from hub.risk.exposure import stored_exposures

        self._ready()
        with self.store.connect() as conn:
            return [dict(r._mapping) for r in stored_exposures(conn)]

    def groups(self) -> list[dict[str, Any]]:
        """Every group's stored totals (a parent and its subsidiaries), by group id."""
        from hub.risk.exposure import stored_groups

        self._ready()
        with self.store.connect() as conn:
            return [dict(r._mapping) for r in stored_groups(conn)]

    def customer(self, customer_id: str) -> CustomerExposure:
        """One customer's assessment with its flags; an error naming the id when there is none."""
        from hub.errors import NotFoundError
        from hub.i18n import N_
        from hub.risk.exposure import active_flags, bureau_views, stored_exposures

        self._ready()
        with self.store.connect() as conn:
            found = stored_exposures(conn, customer_id)
            if not found:
                raise NotFoundError(
                    N_("no exposure for customer %(customer)r: unknown id, or run 'hub risk' first"),
                    values={"customer": customer_id},
                )
            flags = [
                {
                    "code": f.code,
                    "reason": f.reason,
                    "version": f.version,
                    "changed_at": f.changed_at,
                    "message": f.message,  # the reason as a message id and values (hub.i18n.reason_text)
                }
                for f in active_flags(conn, customer_id)
            ]
            views = bureau_views(conn, self.hub.master_source()).get(customer_id, [])
        return CustomerExposure(dict(found[0]._mapping), flags, self.buckets(), [bureau_view_dict(v) for v in views])

    def page(
        self,
        *,
        q: str | None = None,
        band: str | None = None,
        flagged: bool | None = None,
        sort: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """A page of customers as the last risk run assessed them; searchable by id and name, sortable."""
        from hub import lists

        self._ready()
        with self.store.connect() as conn:
            return lists.customers(conn, q=q, band=band, flagged=flagged, sort=sort, limit=limit, offset=offset)

    def invoices(
        self,
        customer_id: str,
        *,
        status: str = "open",
        q: str | None = None,
        sort: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """A page of one customer's invoices (``open``, ``paid``, ``all``), with what live allocations leave open."""
        from hub import lists

        self._ready()
        with self.store.connect() as conn:
            return lists.invoices(conn, customer_id, status=status, q=q, sort=sort, limit=limit, offset=offset)

    def flags(self) -> list[tuple[str, str, str]]:
        """The flags in force: ``(customer, code, reason)``, by code and customer."""
        from hub.risk.exposure import active_flags

        self._ready()
        with self.store.connect() as conn:
            return [(f.customer_id, f.code, f.reason) for f in active_flags(conn)]


@dataclass(frozen=True)
class DueSteps:
    as_of: dt.date
    steps: list[dict[str, Any]]
    """Planned steps due on or before ``as_of``, most valuable first (:func:`hub.risk.collection.due_actions`)."""
    assessed: int
    """Customers the last risk run assessed (0: no risk run yet, so nothing is planned)."""


class Collections(_Service):
    """The collection ledger, promises to pay and the collection steps due."""

    def log(
        self,
        customer_id: str,
        *,
        channel: str,
        content: str,
        actor: str,
        outcome: str | None = None,
        at: dt.datetime | None = None,
        promise_date: dt.date | None = None,
        promise_amount: Decimal | None = None,
        promise_currency: str | None = None,
        invoices: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Write one ledger line (a call, an email, a visit...) with its promise, if any; returns the
        line as :meth:`ledger` shows it."""
        from hub.risk import collection

        self._ready()
        master = self.hub.master_source()
        action_id = collection.record_action(
            self.store,
            customer_id=customer_id,
            channel=channel.strip().lower(),
            at=at,
            content=content,
            outcome=outcome,
            promise_date=promise_date,
            promise_amount=promise_amount,
            promise_currency=promise_currency,
            invoice_numbers=invoices,
            author=actor,
            master_source=master,
        )
        with self.store.connect() as conn:
            return next(e for e in collection.ledger(conn, customer_id, master_source=master) if e["id"] == action_id)

    def ledger(self, customer_id: str) -> list[dict[str, Any]]:
        """A customer's ledger, newest first, from the hub and every CRM, with each promise and its status."""
        from hub.risk import collection

        self._ready()
        with self.store.connect() as conn:
            return collection.ledger(conn, customer_id, master_source=self.hub.master_source())

    def due(self, as_of: dt.date | None = None, *, owner: str | None = None, limit: int | None = None) -> DueSteps:
        """Steps the last risk run planned that are due by ``as_of`` (default: the hub's day)."""
        from hub.risk import collection

        self._ready()
        day = self.hub.as_of(as_of)
        with self.store.connect() as conn:
            rows, assessed = collection.planned_steps(conn)
        return DueSteps(day, collection.due_actions(rows, on_or_before=day, owner=owner, limit=limit), assessed)

    def promise_page(
        self, *, status: str | None = None, customer_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> Page:
        """One page of promises to pay, newest first (amounts as Decimals)."""
        from hub import lists

        self._ready()
        with self.store.connect() as conn:
            return lists.promises(conn, status=status, customer_id=customer_id, limit=limit, offset=offset)

    def promises(self, *, status: str | None = None, customer_id: str | None = None) -> list[dict[str, Any]]:
        """Promises to pay, newest first, with what has been received against them."""
        from hub.errors import HubError
        from hub.risk import collection

        if status is not None and status not in collection.PROMISE_STATUSES:
            raise HubError(
                N_("status must be one of %(allowed)s, got %(status)r"),
                values={"allowed": ", ".join(collection.PROMISE_STATUSES), "status": status},
            )
        self._ready()
        with self.store.connect() as conn:
            found = collection.promise_rows(conn, status=status, customer_id=customer_id)
        return [
            {
                "customer_id": r.customer_id,
                "made_on": r.made_on.isoformat(),
                "promised_date": r.promised_date.isoformat(),
                "amount": str(r.amount),
                "currency": r.currency,
                "status": r.status,
                "received": str(r.received),
                "settled_on": r.settled_on.isoformat() if r.settled_on else None,
                "channel": r.channel,
                "author": r.author,
                "source": r.source,
                "action_id": r.action_id,
            }
            for r in found
        ]


@dataclass(frozen=True)
class Approval:
    proposal: LimitProposal
    event: CreditLimitChange
    sinks: list[str]
    """The sinks the new limit is queued for (none configured: recorded, sent nowhere)."""


class Limits(_Service):
    """Credit limit recommendations and their approval."""

    def proposals(
        self, *, status: str | None = None, customer_id: str | None = None, limit: int | None = None
    ) -> tuple[list[LimitProposal], dict[str, str]]:
        """Proposals, newest first, and the names of their customers."""
        from hub.risk import credit

        self._ready()
        with self.store.connect() as conn:
            found = credit.proposals(conn, status=status, customer_id=customer_id, limit=limit)
            return found, credit.customer_names(conn, {p.customer_id for p in found})

    def proposal_page(
        self, *, status: str | None = None, customer_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[LimitProposal], int, dict[str, str]]:
        """One page of proposals, newest first: the proposals, how many match in all, their customers' names."""
        from hub.risk import credit

        self._ready()
        with self.store.connect() as conn:
            found = credit.proposals(conn, status=status, customer_id=customer_id, limit=limit, offset=offset)
            total = credit.count_proposals(conn, status=status, customer_id=customer_id)
            return found, total, credit.customer_names(conn, {p.customer_id for p in found})

    def approve(self, ref: str | int, *, by: str, note: str | None = None) -> Approval:
        """Approve a pending proposal (``#17``, or a customer's latest pending one): audited, and every
        sink is sent the new limit."""
        from hub.risk import credit

        self._ready()
        sinks = sorted(self.hub.sinks())
        proposal, event = credit.approve(
            self.store, ref, by=by, note=note, sinks=sinks, master_source=self.hub.master_source()
        )
        return Approval(proposal, event, sinks)

    def reject(self, ref: str | int, *, by: str, note: str | None = None) -> LimitProposal:
        """Reject a pending proposal: the limit stays, and the same amount is not proposed again until things change."""
        from hub.risk import credit

        self._ready()
        return credit.reject(self.store, ref, by=by, note=note)

    def explain(self, ref: str | int) -> LimitProposal:
        """A proposal (``#17``, or a customer's latest) with the reasons for its amount."""
        from hub.risk import credit

        self._ready()
        with self.store.connect() as conn:
            return credit.find(conn, ref)

    def request(self, customer_id: str, amount: Decimal, *, by: str, reason: str) -> LimitRequest:
        """A person asks for a limit: applied at once within the four-eyes threshold (``[credit] four_eyes_amount``),
        else pending until a second credit user approves it (:meth:`decide_request`)."""
        from hub.risk import credit

        self._ready()
        return credit.request_limit(
            self.store,
            customer_id,
            amount,
            by=by,
            reason=reason,
            settings=self.hub.config.credit,
            sinks=sorted(self.hub.sinks()),
            master_source=self.hub.master_source(),
        )

    def decide_request(self, request_id: int, *, approve: bool, by: str, note: str | None = None) -> LimitRequest:
        """Approve or reject a pending limit request; its requester can only withdraw it, never approve it."""
        from hub.risk import credit

        self._ready()
        return credit.decide_request(
            self.store,
            request_id,
            approve=approve,
            by=by,
            note=note,
            sinks=sorted(self.hub.sinks()),
            master_source=self.hub.master_source(),
        )

    def requests(
        self, *, status: str | None = None, customer_id: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[LimitRequest], int]:
        """Limit requests, newest first, and how many match."""
        from hub.risk import credit

        self._ready()
        with self.store.connect() as conn:
            return credit.limit_requests(conn, status=status, customer_id=customer_id, limit=limit, offset=offset)


class Customers(_Service):
    """One canonical customer across sources: records, links, link proposals."""

    def records(self, *, unlinked: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
        """Customer records by canonical id and how each got it (``unlinked``: only those no master record holds)."""
        from hub import identity

        self._ready()
        with self.store.connect() as conn:
            return identity.customers(conn, master_source=self.hub.master_source(), unlinked=unlinked, limit=limit)

    def link(self, record: str, canonical_id: str, *, actor: str, note: str | None = None) -> dict[str, Any]:
        """Link ``SOURCE:EXTERNAL_ID`` to a canonical customer by hand (audited; wins over resolution)."""
        from hub import identity

        source, external_id = identity.parse_record_ref(record)
        self._ready()
        return identity.link(
            self.store,
            source,
            external_id,
            canonical_id,
            actor=actor,
            master_source=self.hub.master_source(),
            note=note,
        )

    def unlink(self, record: str, *, actor: str, note: str | None = None) -> dict[str, Any]:
        """Return ``SOURCE:EXTERNAL_ID`` to its own canonical id for good (audited)."""
        from hub import identity

        source, external_id = identity.parse_record_ref(record)
        self._ready()
        return identity.unlink(
            self.store, source, external_id, actor=actor, master_source=self.hub.master_source(), note=note
        )

    def proposals(self, status: str = "proposed") -> list[dict[str, Any]]:
        """Link proposals of a status, strongest first."""
        from hub import identity
        from hub.errors import HubError

        if status not in identity.STATUSES:
            raise HubError(
                N_("status must be one of %(allowed)s, got %(status)r"),
                values={"allowed": ", ".join(identity.STATUSES), "status": status},
            )
        self._ready()
        with self.store.connect() as conn:
            return identity.proposals(conn, status=status)

    def accept(self, proposal_id: int, *, actor: str) -> dict[str, Any]:
        from hub import identity

        self._ready()
        return identity.accept(self.store, proposal_id, actor=actor, master_source=self.hub.master_source())

    def reject(self, proposal_id: int, *, actor: str) -> dict[str, Any]:
        from hub import identity

        self._ready()
        return identity.reject(self.store, proposal_id, actor=actor)


@dataclass(frozen=True)
class OutboxView:
    summary: list[dict[str, Any]]
    """Rows per sink and status."""
    rows: dict[str, list[dict[str, Any]]]
    """Per status shown, its rows (up to the limit), oldest first; ``dead`` rows carry dead-letter ids."""


class Deliveries(_Service):
    """The outbox: what waits for delivery to the sinks, what failed, what died; and replaying it."""

    def view(self, statuses: Sequence[str], *, sink: str | None = None, limit: int = 100) -> OutboxView:
        from hub.errors import HubError
        from hub.outbox import STATUSES

        for status in statuses:
            if status not in STATUSES:
                raise HubError(
                    N_("status must be one of %(allowed)s, got %(status)r"),
                    values={"allowed": ", ".join(STATUSES), "status": status},
                )
        self._ready()
        outbox = self.hub.outbox()
        summary = [s for s in outbox.summary() if sink is None or s["sink"] == sink]
        return OutboxView(summary, {s: outbox.rows(s, limit, sink=sink) for s in statuses})

    def replay(self, *, sink: str | None = None, ids: Sequence[int] | None = None, actor: str) -> ReplayStats:
        """Queue dead letters again and make failed rows due now (``ids``: only these dead letters); audited."""
        from hub.errors import HubError

        self._ready()
        outbox = self.hub.outbox()
        # (the config's names, not the sinks themselves: building them would need their secrets)
        known = set(self.hub.config.connectors) | {s["sink"] for s in outbox.summary()}
        if sink and sink not in known:
            have = ", ".join(sorted(known)) or "none"
            raise HubError(
                N_("no sink named %(sink)r in the config or the outbox; have: %(have)s"),
                values={"sink": sink, "have": have},
            )
        return outbox.replay(sink=sink, ids=ids, actor=actor)


class Users(_Service):
    """People who use the console and the API: roles, argon2 passwords, sessions, login throttling
    (:mod:`hub.accounts`)."""

    def add(
        self,
        name: str,
        password: str,
        roles: Sequence[str],
        *,
        actor: str,
        display_name: str | None = None,
        locale: str | None = None,
    ) -> dict[str, Any]:
        from hub import accounts

        self._ready()
        return accounts.add_user(
            self.store, name, password, roles, actor=actor, display_name=display_name, locale=locale
        )

    def list(self) -> list[dict[str, Any]]:
        from hub import accounts

        self._ready()
        with self.store.connect() as conn:
            return accounts.users(conn)

    def update(
        self,
        name: str,
        *,
        actor: str,
        password: str | None = None,
        roles: Sequence[str] | None = None,
        disabled: bool | None = None,
        locale: str | None = None,
        display_name: str | None = None,
    ) -> dict[str, Any]:
        """Change a password, roles, disabled state, language or shown name (audited); a new password or
        disabling ends the user's sessions."""
        from hub import accounts

        self._ready()
        return accounts.update_user(
            self.store,
            name,
            actor=actor,
            password=password,
            roles=roles,
            disabled=disabled,
            locale=locale,
            display_name=display_name,
        )

    def login(self, name: str, password: str, *, ip: str) -> Account:
        """The user if the password is right and logins are not throttled; ``AccessError`` otherwise."""
        from hub import accounts

        self._ready()
        web = self.hub.config.web
        throttle = accounts.Throttle(web.login_max_failures, dt.timedelta(minutes=web.login_window_minutes))
        return accounts.login(self.store, name, password, ip=ip, throttle=throttle)

    def start_session(self, name: str, *, ip: str) -> tuple[str, str]:
        """A browser session: the cookie's id (only its hash is stored) and the session's CSRF token."""
        from hub import accounts

        lifetime = dt.timedelta(hours=self.hub.config.web.session_hours)
        return accounts.start_session(self.store, name, ip=ip, lifetime=lifetime)

    def session(self, session_id: str) -> Account | None:
        from hub import accounts

        self._ready()
        return accounts.session_account(
            self.store, session_id, idle=dt.timedelta(minutes=self.hub.config.web.idle_minutes)
        )

    def logout(self, session_id: str) -> None:
        from hub import accounts

        accounts.end_session(self.store, session_id)


class Tokens(_Service):
    """API tokens for programs: shown once, kept hashed, scoped by role, revocable, last use recorded."""

    def create(
        self, name: str, scopes: Sequence[str], *, actor: str, expires_at: dt.datetime | None = None
    ) -> tuple[str, dict[str, Any]]:
        from hub import accounts

        self._ready()
        return accounts.create_token(self.store, name, scopes, actor=actor, expires_at=expires_at)

    def list(self) -> list[dict[str, Any]]:
        from hub import accounts

        self._ready()
        with self.store.connect() as conn:
            return accounts.tokens(conn)

    def revoke(self, name: str, *, actor: str) -> dict[str, Any]:
        from hub import accounts

        self._ready()
        return accounts.revoke_token(self.store, name, actor=actor)

    def account(self, token: str) -> Account | None:
        from hub import accounts

        self._ready()
        return accounts.token_account(self.store, token)


class Audit(_Service):
    """The audit log: who did what, when, to which object."""

    def page(
        self,
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
        from hub import lists

        self._ready()
        with self.store.connect() as conn:
            return lists.audit(
                conn,
                actor=actor,
                action=action,
                object_type=object_type,
                object_id=object_id,
                q=q,
                sort=sort,
                limit=limit,
                offset=offset,
            )


class Connectors(_Service):
    """The configured connectors and how they are doing: last sync run, last failure, deliveries, waiting
    change notices (webhooks)."""

    def status(self) -> list[dict[str, Any]]:
        from hub import accounts, lists

        self._ready()
        outbox = self.hub.outbox().summary()
        with self.store.connect() as conn:
            runs = lists.last_sync_runs(conn)
            deliveries = lists.last_deliveries(conn)
            notices = accounts.pending_notices(conn)
        names = list(self.hub.config.connectors)
        names += sorted(({*runs, *deliveries, *notices} | {s["sink"] for s in outbox}) - set(names))
        out = []
        for name in names:
            section = self.hub.config.connectors.get(name, {})
            counts = {s["status"]: s["count"] for s in outbox if s["sink"] == name}
            run = runs.get(name, {})
            out.append(
                {
                    "name": name,
                    "type": str(section.get("type", "")) or None,
                    "configured": name in self.hub.config.connectors,
                    "last_run": run.get("last_run"),
                    "last_failure": run.get("last_failure"),
                    "outbox": counts,
                    "last_delivered_at": deliveries.get(name, {}).get("last_delivered_at"),
                    "last_delivery_error": deliveries.get(name, {}).get("last_error"),
                    "webhook_notices": notices.get(name, {}).get("count", 0),
                    "webhook_waiting_since": notices.get(name, {}).get("since"),
                }
            )
        return out


class Webhooks(_Service):
    """Changes a CRM or bank pushes in: signed (HMAC-SHA256 over ``timestamp.body``), recent, never twice;
    recorded as a change notice that the connector's next sync reads (``docs/web-api.md``)."""

    def receive(self, connector: str, body: bytes, *, timestamp: str, signature: str) -> int:
        """Check and record one webhook call; returns the notice id. ``AccessError`` for a bad, stale or
        replayed call; ``NotFoundError`` for a connector without a webhook secret."""
        import json

        from hub import accounts
        from hub.errors import HubError, NotFoundError
        from hub.i18n import N_
        from hub.store import utcnow

        self._ready()
        web = self.hub.config.web
        secret = web.webhook_secret(connector, self.hub.config.base_dir)
        if secret is None:
            raise NotFoundError(N_("no webhook is configured for %(name)s"), values={"name": connector})
        signed_at = accounts.verify_signature(
            secret,
            timestamp,
            body,
            signature,
            now=utcnow(),
            max_age=dt.timedelta(seconds=web.webhook_max_age_seconds),
        )
        try:
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (UnicodeDecodeError, ValueError):
            raise HubError(N_("the webhook body must be JSON")) from None
        event_type = payload.get("type") or payload.get("event") if isinstance(payload, dict) else None
        return accounts.record_notice(
            self.store,
            connector,
            signature=signature.strip().lower().removeprefix("sha256="),
            signed_at=signed_at,
            event_type=str(event_type) if event_type else None,
            payload=payload,
        )

    def handled(self, connector: str, *, before: dt.datetime) -> int:
        """Mark a connector's notices received before ``before`` as read by its sync."""
        from hub import accounts

        return accounts.handle_notices(self.store, connector, before=before)


class Bureaus(_Service):
    """Credit bureaus (``docs/bureaus.md``): links of customers to bureau companies, refreshes within the
    cache TTL and the monthly budget, admission screening, and the calls made."""

    #: The clock of the bureau engine (tests move it); None: the real one.
    clock: Callable[[], dt.datetime] | None = None

    def engine(self) -> BureauEngine:
        """The bureau engine with every configured bureau connector (built now: their secrets are needed)."""
        from hub.bureaus import BureauEngine, BureauSpec
        from hub.store import utcnow

        self._ready()
        settings = self.hub.config.bureaus
        specs = []
        for name, conn in self.hub.connectors().items():
            if conn.bureau is None:
                continue
            type_name = str(self.hub.config.connectors[name].get("type", conn.type))
            specs.append(
                BureauSpec(
                    name, type_name, conn.bureau, settings.ttl(name, type_name), settings.budget(name, type_name)
                )
            )
        return BureauEngine(
            self.store,
            specs,
            settings,
            bands=self.hub.config.risk.scorecard.bands,
            rounding=self.hub.config.credit.rounding_step(),
            sinks=sorted(self.hub.sinks()),
            master_source=self.hub.master_source(),
            now=self.clock or utcnow,
        )

    def refresh(self, customers: Sequence[str] = (), *, all_customers: bool = False) -> BureauRunStats:
        """Ask the bureaus about the customers due (or about ``customers`` now, or with ``all_customers`` about
        every customer whose report is older than the TTL); once at a time per store ('hub run' does this)."""
        from hub.errors import HubError

        if customers and all_customers:
            raise HubError(N_("name customers or give --all, not both"))
        engine = self.engine()
        with self.hub.single_flight("bureaus"):
            return engine.run(customers, all_customers=all_customers)

    def search(self, customer_id: str, *, bureau: str | None = None) -> dict[str, Any]:
        """Search a bureau for a customer now (a paid call): links the one candidate sharing an id, else proposes."""
        engine = self.engine()
        with self.hub.single_flight("bureaus"):
            return engine.search(customer_id, bureau)

    def links(
        self, *, status: str | None = None, bureau: str | None = None, customer_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Links and proposals of customers to bureau companies, by customer and bureau."""
        from hub import bureaus

        self._ready()
        with self.store.connect() as conn:
            return bureaus.links(conn, status=status, bureau=bureau, customer_id=customer_id)

    def accept(self, customer_id: str, company_id: str, *, bureau: str | None = None, actor: str) -> dict[str, Any]:
        """Link a customer to a bureau company (a proposal, or by hand); audited."""
        from hub import bureaus

        self._ready()
        return bureaus.accept(
            self.store, customer_id, company_id, bureau=bureau, actor=actor, known=list(self.hub.config.connectors)
        )

    def reject(self, customer_id: str, company_id: str, *, bureau: str | None = None, actor: str) -> dict[str, Any]:
        """Reject a proposal or undo a link; never proposed again. Audited."""
        from hub import bureaus

        self._ready()
        return bureaus.reject(self.store, customer_id, company_id, bureau=bureau, actor=actor)

    def calls(self, *, month: str | None = None) -> list[dict[str, Any]]:
        """Calls by month and bureau: paid ones by kind, outcomes, and the budget left."""
        from hub import bureaus
        from hub.errors import HubError

        if month is not None and not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()):
            raise HubError(N_("--month must be YYYY-MM, got %(month)r"), values={"month": month})
        self._ready()
        settings = self.hub.config.bureaus
        budgets = {
            name: settings.budget(name, str(section.get("type", "")))
            for name, section in self.hub.config.connectors.items()
        }
        with self.store.connect() as conn:
            rows = bureaus.calls_by_month(conn, month=month, budgets=budgets)
        return rows

    def screenings(self, *, customer_id: str | None = None) -> list[dict[str, Any]]:
        """Admission screenings (pending and done), oldest first, with their terms and reasons."""
        from hub import bureaus

        self._ready()
        with self.store.connect() as conn:
            return bureaus.screenings(conn, customer_id=customer_id)

    def policies(self) -> list[FlagPolicy]:
        """The flag policies the bureau service adds to the risk run (admission terms: PREPAYMENT_REQUIRED)."""
        from hub import bureaus

        self._ready()
        with self.store.connect() as conn:
            return [bureaus.admission_policy(conn)]


if TYPE_CHECKING:
    from hub.trends import Trends as TrendSeries


class Trends(_Service):
    """The dashboard's trends over time (:mod:`hub.trends`): DSO and overdue by bucket per risk run, the
    automatic match rate per day, promises kept and cash collected per week."""

    def dashboard(self, as_of: dt.date | None = None, *, days: int = 30, weeks: int = 12) -> TrendSeries:
        """Every series up to ``as_of`` (default: the hub's day)."""
        from hub import trends
        from hub.errors import HubError

        if not (1 <= days <= 366 and 1 <= weeks <= 104):
            raise HubError(f"days must be 1..366 and weeks 1..104, got {days} and {weeks}")
        self._ready()
        fx = self.hub.config.fx
        with self.store.connect() as conn:
            return trends.trends(
                conn,
                as_of=self.hub.as_of(as_of),
                base_currency=fx.base,
                rates=fx.table(),
                buckets=self.hub.exposures.buckets(),
                days=days,
                weeks=weeks,
            )


class Comms(_Service):
    """Collection emails, letters and statements: preview, send (queued), deliver, resend, history, contacts.

    ``now`` is the clock (default: the real one); the journey test walks simulated days with it.
    ``interest_for`` gives per-invoice late-payment interest lines (:class:`hub.comms.render.InterestHook`);
    by default the ``[interest]`` rule's (:mod:`hub.interest`), none while it is off.
    """

    interest_for: Callable[..., Any] | None = None

    def _interest(self, customer_id: str, invoices: Sequence[Any], as_of: dt.date) -> list[Any]:
        """:func:`hub.interest.interest_for` as message lines: interest and compensation per invoice shown."""
        from hub.comms.render import InterestLine
        from hub.interest import interest_for

        shown = {inv.number for inv in invoices}
        out: list[Any] = []
        for line in interest_for(self.hub, customer_id, as_of):
            if line.invoice not in shown:
                continue
            if line.interest:
                out.append(InterestLine(line.invoice, line.currency, line.interest, "interest"))
            if line.compensation:
                out.append(InterestLine(line.invoice, line.currency, line.compensation, "compensation"))
        return out

    def _composer(self) -> Any:
        from hub.comms import engine, render

        return engine.Composer(
            self.hub.config.comms,
            self.hub.config.base_dir,
            self.hub.master_source(),
            self.interest_for or (self._interest if self.hub.config.interest.rule != "off" else render.no_interest),
        )

    def preview(
        self,
        customer_id: str,
        *,
        step: str | None = None,
        language: str | None = None,
        channel: str = "email",
        invoices: Sequence[str] = (),
        now: dt.datetime | None = None,
        pdf: bool = False,
    ) -> dict[str, Any]:
        """The message as it would go out (nothing is stored): subject, html, text, invoices and, with
        ``pdf``, the PDF bytes."""
        from hub.comms import render
        from hub.store import utcnow

        self._ready()
        when = now or utcnow()
        with self.store.connect() as conn:
            rendered, who = self._composer().compose(
                conn, customer_id, step=step, language=language, channel=channel, invoices=invoices, as_of=when.date()
            )
        out: dict[str, Any] = {
            "customer_id": customer_id,
            "template": rendered.template,
            "channel": rendered.channel,
            "language": rendered.language,
            "to": who.email,
            "subject": rendered.subject,
            "html": rendered.html,
            "text": rendered.text,
            "invoices": rendered.invoices,
        }
        if pdf:
            out["pdf"] = render.pdf(rendered.html)
        return out

    def send(
        self,
        customer_id: str,
        *,
        actor: str,
        step: str | None = None,
        language: str | None = None,
        channel: str = "email",
        invoices: Sequence[str] = (),
        attach_statement: bool = False,
        now: dt.datetime | None = None,
        deliver_now: bool = False,
        once_since: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Check the compliance rules and queue the message (a letter is made at once); ``deliver_now``
        hands an email to the SMTP server straight away. Raises :class:`hub.errors.ComplianceBlock`, and
        with ``once_since`` :class:`hub.comms.engine.AlreadySent` (see :func:`hub.comms.engine.queue_message`)."""
        from hub.comms import engine
        from hub.store import utcnow

        self._ready()
        when = now or utcnow()
        row = engine.queue_message(
            self.store,
            self._composer(),
            customer_id,
            step=step,
            language=language,
            channel=channel,
            invoices=invoices,
            attach_statement=attach_statement,
            actor=actor,
            now=when,
            once_since=once_since,
        )
        if deliver_now and row["channel"] == "email":
            stats = self.deliver(now=when, ids=[row["id"]])
            with self.store.connect() as conn:
                row = engine.message_row(conn, row["id"])
            row["delivery"] = stats.as_dict()
        return row

    def send_due(
        self,
        *,
        actor: str,
        as_of: dt.date | None = None,
        owner: str | None = None,
        now: dt.datetime | None = None,
        dry_run: bool = False,
        locale: str = "en",
    ) -> list[dict[str, Any]]:
        """Queue the message of every planned collection step due by ``as_of`` that a message does: an
        email step as an email, a letter or lawyer's-letter step as a PDF letter (``hub comms send-due``).

        One outcome per due step, most valuable first: ``queued`` (with the message), ``planned`` (a dry
        run), ``blocked`` (the compliance rule and why), ``already`` (a message of the step's template
        went out since the step fell due: a second run, or two at once, sends nothing twice),
        ``skipped`` (a step a person does, a step without a template, no email address) or ``failed``
        (anything else, with the error; the other steps still go). ``reason`` is in ``locale``.
        """
        from hub import i18n
        from hub.comms import engine, render
        from hub.errors import CommsError, ComplianceBlock, HubError
        from hub.store import utcnow

        self._ready()
        when = now or utcnow()
        day = as_of or self.hub.as_of(None)
        channels = {"email": "email", "letter": "letter", "lawyer_letter": "letter"}
        due = self.hub.collections.due(day, owner=owner)
        if not due.assessed:
            raise HubError(N_("no collection step is planned yet: run 'hub risk' first"))
        outcomes: list[dict[str, Any]] = []
        for step in due.steps:
            out: dict[str, Any] = {
                "customer_id": step["customer_id"],
                "name": step.get("name"),
                "action": step.get("action"),
                "due_on": step.get("due_on"),
            }
            outcomes.append(out)
            channel = channels.get(str(step.get("channel")))
            label = CHANNEL_LABELS.get(str(step.get("channel")), str(step.get("channel")))
            if channel is None:
                out.update(
                    outcome="skipped",
                    reason=i18n.gettext(
                        locale, N_("a %(channel)s step is done by a person"), channel=i18n.gettext(locale, label)
                    ),
                )
                continue
            try:
                template = render.template_for(step.get("action"), self.hub.config.comms.steps)
            except CommsError as exc:
                out.update(outcome="skipped", reason=i18n.error_text(locale, exc))
                continue
            out.update(template=template, channel=channel)
            if dry_run:
                out["outcome"] = "planned"
                continue
            since = dt.datetime.combine(dt.date.fromisoformat(str(step["due_on"])), dt.time(), tzinfo=dt.UTC)
            try:
                row = self.send(
                    step["customer_id"], actor=actor, step=template, channel=channel, now=when, once_since=since
                )
            except engine.AlreadySent as exc:
                out.update(outcome="already", message_id=exc.message_id)
            except ComplianceBlock as exc:
                out.update(outcome="blocked", rule=exc.code, reason=i18n.error_text(locale, exc))
            except CommsError as exc:
                out.update(outcome="skipped", reason=i18n.error_text(locale, exc))
            except HubError as exc:
                out.update(outcome="failed", reason=i18n.error_text(locale, exc))
            else:
                out.update(outcome="queued", message_id=row["message_id"], status=row["status"])
        return outcomes

    def deliver(self, *, now: dt.datetime | None = None, limit: int = 100, ids: Sequence[int] | None = None) -> Any:
        """Hand due emails to the SMTP server (claims, retries, dead on 5xx): :class:`hub.comms.engine.DeliverStats`."""
        from hub.comms.engine import Deliverer

        self._ready()
        return Deliverer(self.store, self.hub.config.comms, self.hub.config.base_dir).deliver(
            now=now, limit=limit, ids=ids
        )

    def resend(self, ref: str, *, actor: str, now: dt.datetime | None = None) -> dict[str, Any]:
        """Queue a message again with a new Message-ID (by its Message-ID or number)."""
        from hub.comms import engine
        from hub.store import utcnow

        self._ready()
        return engine.resend(self.store, self.hub.config.comms, ref, actor=actor, now=now or utcnow())

    def messages(
        self, *, customer_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Messages newest first."""
        from hub.comms import engine

        self._ready()
        with self.store.connect() as conn:
            return engine.messages(conn, customer_id=customer_id, status=status, limit=limit)

    def message(self, ref: str) -> tuple[dict[str, Any], str, bytes | None]:
        """One message, its HTML and its attachment (a letter's PDF)."""
        from hub.comms import engine

        self._ready()
        with self.store.connect() as conn:
            return engine.message_body(conn, ref)

    def contact(
        self,
        customer_id: str,
        *,
        actor: str,
        email: str | None = None,
        language: str | None = None,
        time_zone: str | None = None,
        opt_out: Sequence[str] = (),
        opt_in: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Set a customer's email, language, time zone and opt-outs (what is not given stays)."""
        from dataclasses import asdict

        from hub.comms import engine

        self._ready()
        found = engine.set_contact(
            self.store,
            customer_id,
            email=email,
            language=language,
            time_zone=time_zone,
            opt_out=opt_out,
            opt_in=opt_in,
            actor=actor,
            master_source=self.hub.master_source(),
        )
        return {**asdict(found), "opt_out": list(found.opt_out)}

    def contact_of(self, customer_id: str) -> dict[str, Any]:
        from dataclasses import asdict

        from hub.comms import engine

        self._ready()
        with self.store.connect() as conn:
            found = engine.contact(conn, customer_id)
        return {**asdict(found), "opt_out": list(found.opt_out)}


class Disputes(_Service):
    """Disputes and deductions: a customer contests an invoice (or its account); open ones pause the ladder."""

    def open(
        self,
        customer_id: str,
        *,
        actor: str,
        reason: str,
        invoice: str | None = None,
        amount: Decimal | None = None,
        at: dt.datetime | None = None,
    ) -> dict[str, Any]:
        from hub.comms import engine

        self._ready()
        return engine.open_dispute(
            self.store,
            customer_id,
            invoice=invoice,
            reason=reason,
            amount=amount,
            actor=actor,
            at=at,
            master_source=self.hub.master_source(),
        )

    def resolve(self, dispute_id: int, *, actor: str, resolution: str, at: dt.datetime | None = None) -> dict[str, Any]:
        from hub.comms import engine

        self._ready()
        return engine.resolve_dispute(self.store, dispute_id, resolution=resolution, actor=actor, at=at)

    def list(self, *, status: str | None = None, customer_id: str | None = None) -> list[dict[str, Any]]:
        from hub.comms import engine

        self._ready()
        with self.store.connect() as conn:
            return engine.disputes(conn, status=status, customer_id=customer_id)


# -- late-payment interest and cases after the ladder (hub.interest, hub.cases; docs/cases.md) -------------


def _takes_interest_invoices(sink: Any) -> bool:
    """Whether ``sink`` acts on interest invoices (a sink without ``handles`` takes every kind)."""
    from hub.model import InterestInvoice

    handles = getattr(sink, "handles", None)
    if handles is None:
        return True
    probe = InterestInvoice(
        event_id="probe",
        customer_id="probe",
        period="probe",
        as_of=dt.date.today(),
        lines=[],
        totals={},
        requested_by="hub",
        at=dt.datetime.now(dt.UTC),
    )
    return bool(handles(probe))


class Interest(_Service):
    """Late-payment interest and fixed compensation per invoice (``[interest]``), shown and invoiced."""

    def show(self, customer_id: str, as_of: dt.date | None = None) -> dict[str, Any]:
        """The customer's interest lines at ``as_of`` (default: the hub's day) and their totals per currency."""
        from hub.interest import interest_for, totals

        self._ready()
        self._known(customer_id)
        day = self.hub.as_of(as_of)
        lines = interest_for(self.hub, customer_id, day)
        return {
            "customer_id": customer_id,
            "as_of": day.isoformat(),
            "rule": self.hub.config.interest.rule,
            "lines": [line.as_dict() for line in lines],
            "totals": {ccy: str(v) for ccy, v in sorted(totals(lines).items())},
        }

    def _known(self, customer_id: str) -> None:
        from hub.cases import known_customer
        from hub.errors import NotFoundError

        with self.store.connect() as conn:
            if not known_customer(conn, customer_id):
                raise NotFoundError(N_("no customer %(customer)r in the hub"), values={"customer": customer_id})

    def lines(self, customer_id: str, as_of: dt.date | None = None) -> list[Any]:
        """The customer's :class:`hub.interest.InterestLine` objects (Decimals), for pages and templates."""
        from hub.interest import interest_for

        self._ready()
        return interest_for(self.hub, customer_id, self.hub.as_of(as_of))

    def invoice(self, customer_id: str, *, actor: str, as_of: dt.date | None = None, period: str | None = None) -> Any:
        """Queue an interest invoice for the ERP sinks (``[interest] sinks``) once per customer and period
        (default: the as-of day's month, ``2024-03``); a second call returns the first's
        (:class:`hub.interest.Charge`, ``created=False``)."""
        import re

        from hub.errors import HubError
        from hub.interest import queue_invoice

        self._ready()
        settings = self.hub.config.interest
        if settings.rule == "off":
            raise HubError(N_("late-payment interest is off: set [interest] rule to 'eu' or 'fixed'"))
        if not settings.sinks:
            raise HubError(N_("no sink to invoice interest through: name the ERP connectors in [interest] sinks"))
        sinks = self.hub.sinks()
        unknown = sorted(set(settings.sinks) - set(sinks))
        if unknown:
            raise HubError(
                N_("[interest] sinks names %(sinks)s, which are not configured sinks"),
                values={"sinks": ", ".join(unknown)},
            )
        # A sink acknowledges the kinds of event it does not handle; an interest invoice queued only for
        # such sinks would read as delivered and never be billed.
        deaf = sorted(name for name in settings.sinks if not _takes_interest_invoices(sinks[name]))
        if deaf:
            raise HubError(
                N_("[interest] sinks names %(sinks)s, which cannot create invoices"), values={"sinks": ", ".join(deaf)}
            )
        self._known(customer_id)
        day = self.hub.as_of(as_of)
        period = period or day.strftime("%Y-%m")
        if not re.fullmatch(r"[0-9A-Za-z._-]{1,20}", period):
            raise HubError(
                N_("a period is up to 20 letters, digits, '-', '_' or '.', got %(period)r"), values={"period": period}
            )
        return queue_invoice(
            self.store,
            settings,
            customer_id,
            period=period,
            as_of=day,
            actor=actor,
            sinks=sorted(settings.sinks),
            master_source=self.hub.master_source(),
        )


class Cases(_Service):
    """Litigation, arbitration and agency cases: open, list, show, status, costs, documents, recoveries, handover."""

    def open(
        self,
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
    ) -> dict[str, Any]:
        """Open a case (one running case per customer and kind); returns it as :meth:`show` does."""
        from hub import cases

        self._ready()
        case_id = cases.open_case(
            self.store,
            customer_id,
            kind=kind,
            actor=actor,
            invoices=invoices,
            court=court,
            case_number=case_number,
            agency=agency,
            agency_ref=agency_ref,
            note=note,
        )
        return self.show(case_id)

    def list(
        self, *, status: str | None = None, customer_id: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """Cases, newest first (``status="active"``: the running ones), with costs and recoveries."""
        from hub import cases

        self._ready()
        with self.store.connect() as conn:
            return cases.list_cases(conn, status=status, customer_id=customer_id, kind=kind)

    def show(self, case_id: int, as_of: dt.date | None = None) -> dict[str, Any]:
        """One case with its invoices, costs, recoveries, documents and status history."""
        from hub import cases

        self._ready()
        with self.store.connect() as conn:
            return cases.show_case(conn, case_id, as_of=self.hub.as_of(as_of))

    def set_status(
        self,
        case_id: int,
        status: str,
        *,
        actor: str,
        note: str | None = None,
        court: str | None = None,
        case_number: str | None = None,
    ) -> dict[str, Any]:
        from hub import cases

        self._ready()
        return cases.set_status(
            self.store, case_id, status, actor=actor, note=note, court=court, case_number=case_number
        )

    def add_cost(
        self,
        case_id: int,
        amount: Decimal,
        *,
        kind: str,
        actor: str,
        incurred_on: dt.date | None = None,
        description: str | None = None,
        currency: str | None = None,
    ) -> int:
        from hub import cases

        self._ready()
        return cases.add_cost(
            self.store,
            case_id,
            kind=kind,
            amount=amount,
            actor=actor,
            incurred_on=incurred_on or self.hub.as_of(),
            description=description,
            currency=currency,
        )

    def add_document(self, case_id: int, path: str, *, actor: str, name: str | None = None) -> dict[str, Any]:
        from pathlib import Path

        from hub import cases

        self._ready()
        return cases.add_document(self.store, case_id, Path(path), actor=actor, name=name)

    def recovery(
        self,
        case_id: int,
        amount: Decimal,
        *,
        ref: str,
        actor: str,
        booked_on: dt.date | None = None,
        commission: Decimal | None = None,
    ) -> Any:
        """Money the agency or lawyer collected: a receipt allocated to the case's oldest open invoices
        (:class:`hub.cases.Recovery`); a commission is recorded as a cost."""
        from hub import cases

        self._ready()
        return cases.record_recovery(
            self.store,
            case_id,
            amount,
            booked_on=booked_on or self.hub.as_of(),
            ref=ref,
            actor=actor,
            commission=commission,
        )

    def handover(
        self,
        case_id: int,
        path: str,
        *,
        fmt: str = "xlsx",
        language: str = "en",
        as_of: dt.date | None = None,
        actor: str = "unknown",
    ) -> dict[str, Any]:
        """Write the handover file for the agency or lawyer (XLSX, or a zip of CSVs) in ``language``."""
        from pathlib import Path

        from hub import cases, i18n
        from hub.errors import CaseError

        if language not in i18n.LOCALE_NAMES:
            raise CaseError(
                N_("language must be one of %(allowed)s, got %(language)r"),
                values={"allowed": ", ".join(i18n.LOCALE_NAMES), "language": language},
            )
        if fmt not in cases.FORMATS:
            raise CaseError(
                N_("format must be one of %(allowed)s, got %(format)r"),
                values={"allowed": ", ".join(cases.FORMATS), "format": fmt},
            )
        self._ready()
        with self.store.connect() as conn:
            tables = cases.handover_tables(
                conn,
                case_id,
                as_of=self.hub.as_of(as_of),
                settings=self.hub.config.interest,
                locale=language,
                master_source=self.hub.master_source(),
            )
        written = cases.write_handover(tables, Path(path), fmt)
        with self.store.begin() as conn:
            self.store.audit(conn, actor, "case.handover", "case", str(case_id), path=str(written), format=fmt)
        return {
            "case_id": case_id,
            "path": str(written),
            "format": fmt,
            "language": language,
            "rows": {key: len(rows) for key, (_t, _h, rows) in tables.items()},
        }
