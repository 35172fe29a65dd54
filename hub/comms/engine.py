"""Contacts, disputes, and the queue of collection emails and letters with their delivery over SMTP.

A send renders the message, checks the compliance rules and queues it, all in one write transaction
(serialised per customer), so two people sending at once cannot both pass a frequency limit. A letter
is "sent" when it is rendered (to print): its ledger line is written at once. An email waits in
``comms_message`` until ``deliver`` claims it (like the outbox: a lease, ``FOR UPDATE SKIP LOCKED``
on PostgreSQL, the write lock on SQLite), hands it to the SMTP server and records the answer:
``sent`` with its collection-ledger line (written in the same transaction, only by the claim's
holder, keyed by the message: exactly once however many deliverers run), ``failed`` to retry with
backoff, or ``dead`` on a permanent 5xx rejection or after ``[comms] max_attempts``.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import smtplib
import socket
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.comms import compliance, render
from hub.comms.compliance import Contact
from hub.config import CommsConfig
from hub.errors import CommsError, ComplianceBlock
from hub.i18n import N_, normalize
from hub.log import get_logger
from hub.model import CollectionAction, CollectionChannel
from hub.risk.collection import HUB_SOURCE, unknown_customer
from hub.risk.exposure import CustomerIndex
from hub.store import Store, schema, utcnow
from hub.store.bulk import record_hash
from hub.store.locks import transaction_lock

log = get_logger(__name__)
RETRYABLE = ("pending", "failed")
STATUSES = ("pending", "failed", "sent", "dead", "blocked")
ERROR_CHARS = 2000
NO_EMAIL = N_("customer %(customer)s has no email address; set one with 'hub comms contact %(customer)s --email ...'")


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def ledger_channel(template: str, channel: str) -> str:
    """The ledger channel a message is logged with: a lawyer's letter advances the ladder's
    ``lawyer_letter`` step however it goes out; the rest are ``email`` or ``letter``."""
    return "lawyer_letter" if template == "lawyer_letter" else channel


# -- contacts ---------------------------------------------------------------------------------------


def _require_customer(conn: sa.Connection, customer_id: str, master_source: str | None) -> str | None:
    """The customer's name (its master record's first), or None for one known only from invoices; an
    unknown customer is refused with the closest ids. Reads the customer's own rows, not the whole book."""
    c = schema.customer
    rows = list(conn.execute(sa.select(c.c.source, c.c.legal_name).where(c.c.canonical_id == customer_id)))
    if rows:
        rows.sort(key=lambda r: (r.source != master_source, r.source))
        return str(rows[0].legal_name) if rows[0].legal_name else None
    inv = schema.invoice
    found = conn.execute(
        sa.select(inv.c.id)
        .select_from(inv.outerjoin(schema.customer, schema.invoice_customer))
        .where(schema.invoice_customer_id == customer_id)
        .limit(1)
    ).first()
    if found is None:
        raise unknown_customer(CustomerIndex(conn, master_source), customer_id)
    return None


def contact(conn: sa.Connection, customer_id: str) -> Contact:
    c = schema.comms_contact
    row = conn.execute(sa.select(c).where(c.c.customer_id == customer_id)).first()
    if row is None:
        return Contact(customer_id, None, None, None, ())
    return Contact(customer_id, row.email, row.language, row.time_zone, tuple(row.opt_out or ()))


def set_contact(
    store: Store,
    customer_id: str,
    *,
    email: str | None = None,
    language: str | None = None,
    time_zone: str | None = None,
    opt_out: Sequence[str] = (),
    opt_in: Sequence[str] = (),
    actor: str,
    master_source: str | None = None,
) -> Contact:
    """Set what is given of a customer's contact details (the rest stays); returns them all."""
    if email is not None and ("@" not in email or any(ch.isspace() for ch in email)):
        raise CommsError(N_("%(email)r is not an email address"), values={"email": email})
    lang = None
    if language is not None:
        lang = normalize(language)
        if lang not in render.LANGUAGES:
            raise CommsError(
                N_("unknown language %(language)r; use one of: %(allowed)s"),
                values={"language": language, "allowed": ", ".join(render.LANGUAGES)},
            )
    if time_zone is not None:
        compliance.zone(time_zone)
    with store.begin() as conn:
        _require_customer(conn, customer_id, master_source)
        current = contact(conn, customer_id)
        outs = (set(current.opt_out) | set(opt_out)) - set(opt_in)
        values: dict[str, Any] = {
            "email": email if email is not None else current.email,
            "language": lang if lang is not None else current.language,
            "time_zone": time_zone if time_zone is not None else current.time_zone,
            "opt_out": sorted(outs),
            "updated_at": utcnow(),
            "updated_by": actor,
        }
        c = schema.comms_contact
        done = conn.execute(c.update().where(c.c.customer_id == customer_id).values(**values)).rowcount
        if not done:
            conn.execute(c.insert().values(customer_id=customer_id, **values))
        store.audit(
            conn,
            actor,
            "comms.contact",
            "customer",
            customer_id,
            **{k: v for k, v in values.items() if k != "updated_at"},
        )
        return contact(conn, customer_id)


# -- disputes ---------------------------------------------------------------------------------------


def open_dispute(
    store: Store,
    customer_id: str,
    *,
    invoice: str | None,
    reason: str,
    amount: Decimal | None,
    actor: str,
    at: dt.datetime | None = None,
    master_source: str | None = None,
) -> dict[str, Any]:
    """Record that the customer contests an invoice (or, without one, its account); one open dispute per invoice."""
    if not reason.strip():
        raise CommsError(N_("a dispute needs a reason (--reason)"))
    if amount is not None and (not amount.is_finite() or amount <= 0):
        raise CommsError(N_("a contested amount must be above zero, got %(amount)s"), values={"amount": amount})
    when = _utc(at) if at is not None else utcnow()
    d = schema.dispute
    with store.begin() as conn:
        _require_customer(conn, customer_id, master_source)
        currency = None
        if invoice is not None:
            inv = schema.invoice
            row = conn.execute(
                sa.select(inv.c.currency, inv.c.open_amount)
                .select_from(inv.outerjoin(schema.customer, schema.invoice_customer))
                .where(schema.invoice_customer_id == customer_id, inv.c.number == invoice)
            ).first()
            if row is None:
                raise CommsError(
                    N_("customer %(customer)s has no invoice %(invoices)s"),
                    values={"customer": customer_id, "invoices": invoice},
                )
            currency = row.currency
        key = f"{customer_id}|{invoice or ''}"
        if conn.execute(sa.select(d.c.id).where(d.c.open_key == key)).first() is not None:
            raise CommsError(
                N_("a dispute on %(what)s of customer %(customer)s is already open"),
                values={"what": invoice or "the account", "customer": customer_id},
            )
        try:
            with conn.begin_nested():
                new_id = conn.execute(
                    d.insert().values(
                        customer_id=customer_id,
                        invoice_number=invoice,
                        reason=reason.strip(),
                        amount=amount,
                        currency=currency,
                        status="open",
                        open_key=key,
                        opened_at=when,
                        opened_by=actor,
                    )
                ).inserted_primary_key
        except sa.exc.IntegrityError:  # opened at the same moment elsewhere
            raise CommsError(
                N_("a dispute on %(what)s of customer %(customer)s is already open"),
                values={"what": invoice or "the account", "customer": customer_id},
            ) from None
        assert new_id is not None
        store.audit(conn, actor, "disputes.open", "dispute", str(new_id[0]), customer=customer_id, invoice=invoice)
        return _dispute(conn.execute(sa.select(d).where(d.c.id == new_id[0])).one())


def resolve_dispute(
    store: Store, dispute_id: int, *, resolution: str, actor: str, at: dt.datetime | None = None
) -> dict[str, Any]:
    d = schema.dispute
    with store.begin() as conn:
        done = conn.execute(
            d.update()
            .where(d.c.id == dispute_id, d.c.status == "open")
            .values(
                status="resolved",
                open_key=None,
                resolved_at=_utc(at) if at is not None else utcnow(),
                resolved_by=actor,
                resolution=resolution,
            )
        ).rowcount
        if not done:
            raise CommsError(N_("no open dispute %(id)s"), values={"id": dispute_id})
        store.audit(conn, actor, "disputes.resolve", "dispute", str(dispute_id), resolution=resolution)
        return _dispute(conn.execute(sa.select(d).where(d.c.id == dispute_id)).one())


def disputes(conn: sa.Connection, *, status: str | None = None, customer_id: str | None = None) -> list[dict[str, Any]]:
    d = schema.dispute
    query = sa.select(d).order_by(d.c.opened_at.desc(), d.c.id.desc())
    if status is not None:
        query = query.where(d.c.status == status)
    if customer_id is not None:
        query = query.where(d.c.customer_id == customer_id)
    return [_dispute(r) for r in conn.execute(query)]


def _dispute(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "invoice": r.invoice_number,
        "reason": r.reason,
        "amount": None if r.amount is None else str(r.amount),
        "currency": r.currency,
        "status": r.status,
        "opened_at": _utc(r.opened_at).isoformat(),
        "opened_by": r.opened_by,
        "resolved_at": None if r.resolved_at is None else _utc(r.resolved_at).isoformat(),
        "resolved_by": r.resolved_by,
        "resolution": r.resolution,
    }


# -- rendering a customer's message -----------------------------------------------------------------


@dataclass
class Composer:
    """Renders a customer's message from the store and the settings."""

    settings: CommsConfig
    base_dir: Path
    master_source: str | None = None
    interest: render.InterestHook = render.no_interest

    def env(self) -> Any:
        folder = self.settings.templates_dir
        return render.environment(None if not folder else (self.base_dir / folder))

    def sender(self) -> dict[str, str]:
        return {
            "company": self.settings.company,
            "company_address": self.settings.company_address,
            "from_name": self.settings.from_name,
        }

    def compose(
        self,
        conn: sa.Connection,
        customer_id: str,
        *,
        step: str | None,
        language: str | None,
        channel: str,
        invoices: Sequence[str],
        as_of: dt.date,
    ) -> tuple[render.Rendered, Contact]:
        name = _require_customer(conn, customer_id, self.master_source)
        who = contact(conn, customer_id)
        template = render.template_for(step if step else _planned_step(conn, customer_id), self.settings.steps)
        lang = normalize(language) if language else (who.language or self.settings.language)
        disputed, _whole = compliance.open_disputes(conn, customer_id)
        all_open = render.open_invoices(conn, customer_id, as_of, disputed)
        chosen = render.covered(template, all_open, list(dict.fromkeys(invoices)))
        if not chosen:
            raise CommsError(
                N_("customer %(customer)s has no %(what)s invoices to write about"),
                values={"customer": customer_id, "what": "overdue" if template in render.DUNNING else "open"},
            )
        rendered = render.render(
            self.env(),
            template=template,
            channel=channel,
            language=lang or "en",
            customer_id=customer_id,
            customer_name=name,
            invoices=chosen,
            as_of=as_of,
            interest=self.interest,
            promise=_open_promise(conn, customer_id, lang or "en"),
            sender=self.sender(),
        )
        return rendered, who


def _planned_step(conn: sa.Connection, customer_id: str) -> str | None:
    """The ladder step the last risk run planned for the customer (its ``action``), if any."""
    e = schema.exposure
    plan = conn.execute(sa.select(e.c.next_action).where(e.c.customer_id == customer_id)).scalar()
    return str(plan["action"]) if isinstance(plan, dict) and plan.get("action") else None


def _open_promise(conn: sa.Connection, customer_id: str, language: str) -> dict[str, str] | None:
    from hub import i18n

    p = schema.promise
    row = conn.execute(
        sa.select(p.c.promised_date, p.c.amount, p.c.currency)
        .where(p.c.customer_id == customer_id, p.c.status == "open")
        .order_by(p.c.made_on.desc(), p.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {
        "date": i18n.date(row.promised_date, language, style="long"),
        "amount": i18n.money(row.amount, row.currency, language),
    }


# -- sending ------------------------------------------------------------------------------------------


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "hub.local"


class AlreadySent(Exception):
    """The step's message went out already (``queue_message(once_since=...)``)."""

    def __init__(self, message_id: str, at: dt.datetime) -> None:
        super().__init__(f"{message_id} queued at {at.isoformat()}")
        self.message_id = message_id
        self.at = at


def queue_message(
    store: Store,
    composer: Composer,
    customer_id: str,
    *,
    step: str | None,
    language: str | None,
    channel: str,
    invoices: Sequence[str],
    attach_statement: bool,
    actor: str,
    now: dt.datetime,
    once_since: dt.datetime | None = None,
) -> dict[str, Any]:
    """Render, check and queue one message (an email waits for ``deliver``; a letter is sent at once).

    ``once_since``: queue nothing (:class:`AlreadySent`) when a message of the same template to the
    customer was queued at or after that time and is not dead or blocked (checked under the
    customer's lock, so two batch runs at once send it once).

    A send a compliance rule stops is rolled back and recorded in the audit log (``comms.blocked``,
    with the rule), so that every attempted contact is traceable."""
    try:
        return _queue(
            store,
            composer,
            customer_id,
            step=step,
            language=language,
            channel=channel,
            invoices=invoices,
            attach_statement=attach_statement,
            actor=actor,
            now=now,
            once_since=once_since,
        )
    except ComplianceBlock as exc:
        with store.begin() as conn:
            store.audit(
                conn,
                actor,
                "comms.blocked",
                "customer",
                customer_id,
                rule=exc.code,
                reason=str(exc),
                step=step or "",
                channel=channel,
            )
        raise


def _queue(
    store: Store,
    composer: Composer,
    customer_id: str,
    *,
    step: str | None,
    language: str | None,
    channel: str,
    invoices: Sequence[str],
    attach_statement: bool,
    actor: str,
    now: dt.datetime,
    once_since: dt.datetime | None = None,
) -> dict[str, Any]:
    now = _utc(now)
    settings = composer.settings
    with store.begin() as conn:
        transaction_lock(conn, f"comms customer {customer_id}")
        rendered, who = composer.compose(
            conn, customer_id, step=step, language=language, channel=channel, invoices=invoices, as_of=now.date()
        )
        if once_since is not None:
            m = schema.comms_message
            earlier = conn.execute(
                sa.select(m.c.message_id, m.c.created_at)
                .where(
                    m.c.customer_id == customer_id,
                    m.c.template == rendered.template,
                    m.c.created_at >= _utc(once_since),
                    m.c.status.not_in(("dead", "blocked")),
                )
                .order_by(m.c.id)
                .limit(1)
            ).first()
            if earlier is not None:
                raise AlreadySent(str(earlier.message_id), _utc(earlier.created_at))
        if channel == "email" and not who.email:
            raise CommsError(
                NO_EMAIL,
                values={"customer": customer_id},
            )
        lchannel = ledger_channel(rendered.template, channel)
        compliance.check(
            conn,
            settings,
            contact=who,
            channel=channel,
            ledger_channel=lchannel,
            dunning=rendered.template in render.DUNNING,
            invoices=rendered.invoices,
            now=now,
        )
        attachment, attachment_name = None, None
        if channel == "letter":
            attachment = render.pdf(rendered.html)
            attachment_name = f"{rendered.template}-{customer_id}-{now.date().isoformat()}.pdf"
        elif attach_statement:
            statement, _ = composer.compose(
                conn,
                customer_id,
                step="statement",
                language=rendered.language,
                channel="letter",
                invoices=(),
                as_of=now.date(),
            )
            attachment = render.pdf(statement.html)
            attachment_name = f"statement-{customer_id}-{now.date().isoformat()}.pdf"
        m = schema.comms_message
        message_id = f"<{uuid.uuid4().hex}@{_domain(settings.from_address)}>"
        row_id = conn.execute(
            m.insert().values(
                message_id=message_id,
                customer_id=customer_id,
                channel=channel,
                template=rendered.template,
                language=rendered.language,
                to_address=who.email if channel == "email" else None,
                subject=rendered.subject[:500],
                body_html=rendered.html,
                body_text=rendered.text,
                invoice_numbers=rendered.invoices,
                attachment=attachment,
                attachment_name=attachment_name,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                created_by=actor,
            )
        ).inserted_primary_key
        assert row_id is not None
        mid = int(row_id[0])
        store.audit(
            conn,
            actor,
            "comms.send",
            "comms_message",
            message_id,
            customer=customer_id,
            template=rendered.template,
            channel=channel,
        )
        if channel == "letter":
            _mark_sent(conn, mid, owner=None, now=now)
        return message_row(conn, mid)


def resend(store: Store, settings: CommsConfig, ref: str, *, actor: str, now: dt.datetime) -> dict[str, Any]:
    """Queue a message again (a new Message-ID, the same content), checked against the rules as today."""
    now = _utc(now)
    m = schema.comms_message
    with store.begin() as conn:
        row = _find(conn, ref)
        transaction_lock(conn, f"comms customer {row.customer_id}")
        who = contact(conn, row.customer_id)
        if row.channel == "email" and not who.email:
            raise CommsError(
                NO_EMAIL,
                values={"customer": row.customer_id},
            )
        compliance.check(
            conn,
            settings,
            contact=who,
            channel=row.channel,
            ledger_channel=ledger_channel(row.template, row.channel),
            dunning=row.template in render.DUNNING,
            invoices=list(row.invoice_numbers or []),
            now=now,
        )
        message_id = f"<{uuid.uuid4().hex}@{_domain(settings.from_address)}>"
        new = conn.execute(
            m.insert().values(
                message_id=message_id,
                customer_id=row.customer_id,
                channel=row.channel,
                template=row.template,
                language=row.language,
                to_address=who.email if row.channel == "email" else None,
                subject=row.subject,
                body_html=row.body_html,
                body_text=row.body_text,
                invoice_numbers=list(row.invoice_numbers or []),
                attachment=row.attachment,
                attachment_name=row.attachment_name,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                created_by=actor,
                resent_from=row.id,
            )
        ).inserted_primary_key
        assert new is not None
        store.audit(conn, actor, "comms.resend", "comms_message", message_id, original=row.message_id)
        if row.channel == "letter":
            _mark_sent(conn, int(new[0]), owner=None, now=now)
        return message_row(conn, int(new[0]))


def _find(conn: sa.Connection, ref: str) -> Any:
    m = schema.comms_message
    wanted = ref.strip()
    cond = [m.c.message_id == wanted, m.c.message_id == f"<{wanted.strip('<>')}>"]
    if wanted.isdigit():
        cond.append(m.c.id == int(wanted))
    row = conn.execute(sa.select(m).where(sa.or_(*cond))).first()
    if row is None:
        raise CommsError(N_("no message %(message)s"), values={"message": ref})
    return row


def _mark_sent(conn: sa.Connection, row_id: int, *, owner: str | None, now: dt.datetime) -> bool:
    """Mark a message sent and write its collection-ledger line, in the caller's transaction.

    Only the claim's holder can do it (``owner``; None for a letter, sent as it is made), and only
    once: the update is conditional, and the ledger line's id is the message's, unique in the ledger.
    """
    m = schema.comms_message
    cond = [m.c.id == row_id, m.c.status.in_(RETRYABLE)]
    if owner is not None:
        cond.append(m.c.claimed_by == owner)
    done = conn.execute(
        m.update()
        .where(*cond)
        .values(status="sent", sent_at=now, claimed_by=None, claim_expires_at=None, last_error=None)
    ).rowcount
    if done != 1:
        return False
    row = conn.execute(sa.select(m).where(m.c.id == row_id)).one()
    action = CollectionAction(
        source=HUB_SOURCE,
        external_id=f"comms-{row.id}",
        customer_external_id=row.customer_id,
        invoice_numbers=list(row.invoice_numbers or []),
        channel=CollectionChannel(ledger_channel(row.template, row.channel)),
        at=now,
        content=f"{row.subject} [template {row.template}, {row.language}, {row.channel}; Message-ID {row.message_id}]",
        outcome="sent",
        author=row.created_by,
    )
    values = action.model_dump()
    values["channel"] = action.channel.value
    inserted = conn.execute(
        schema.collection_action.insert().values(
            **values, record_hash=record_hash(action.model_dump(mode="json").values()), synced_at=utcnow()
        )
    ).inserted_primary_key
    assert inserted is not None
    conn.execute(m.update().where(m.c.id == row_id).values(action_id=int(inserted[0])))
    return True


# -- delivery -----------------------------------------------------------------------------------------


@dataclass
class DeliverStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    blocked: int = 0
    postponed: int = 0
    unreachable: str | None = None
    errors: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "blocked": self.blocked,
            "postponed": self.postponed,
            "unreachable": self.unreachable,
            "errors": self.errors,
            "message_ids": self.message_ids,
        }


def deliverer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:200]


class Deliverer:
    def __init__(self, store: Store, settings: CommsConfig, base_dir: Path) -> None:
        self.store = store
        self.settings = settings
        self.base_dir = base_dir
        self.lease = dt.timedelta(seconds=settings.lease_seconds)

    def backoff(self, attempts: int) -> dt.timedelta:
        """Exponential backoff with full jitter, capped (as the outbox's)."""
        s = self.settings
        ceiling = min(s.backoff_max_seconds, s.backoff_seconds * 2 ** max(0, attempts - 1))
        return dt.timedelta(seconds=random.uniform(ceiling / 2, ceiling) if ceiling else 0)

    def claim(self, owner: str, now: dt.datetime, limit: int, ids: Sequence[int] | None = None) -> list[Any]:
        m = schema.comms_message
        query = (
            sa.select(m)
            .where(
                m.c.channel == "email",
                m.c.status.in_(RETRYABLE),
                m.c.next_attempt_at <= now,
                sa.or_(m.c.claim_expires_at.is_(None), m.c.claim_expires_at <= now),
            )
            .order_by(m.c.id)
            .limit(limit)
        )
        if ids is not None:
            query = query.where(m.c.id.in_(list(ids)))
        with self.store.begin() as conn:
            transaction_lock(conn, "comms deliver")
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=m)
            rows = list(conn.execute(query).all())
            if rows:
                conn.execute(
                    m.update()
                    .where(m.c.id.in_([r.id for r in rows]))
                    .values(claimed_by=owner, claim_expires_at=now + self.lease)
                )
        return rows

    def deliver(
        self, *, now: dt.datetime | None = None, limit: int = 100, ids: Sequence[int] | None = None
    ) -> DeliverStats:
        now = _utc(now) if now is not None else utcnow()
        owner = deliverer_name()
        stats = DeliverStats()
        rows = self.claim(owner, now, limit, ids)
        if not rows:
            return stats
        ready = []
        for row in rows:
            if self._still_allowed(row, owner, now, stats):
                ready.append(row)
        if not ready:
            return stats
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            stats.unreachable = f"{self.settings.smtp.host}:{self.settings.smtp.port}: {exc}"
            for row in ready:
                self._fail(row, owner, now, stats.unreachable, permanent=False, stats=stats)
            return stats
        try:
            for row in ready:
                if not self._renew(row, owner, now):
                    continue  # our lease ran out on a slow run and another deliverer has the message now
                try:
                    refused = smtp.send_message(self._email(row))
                except smtplib.SMTPRecipientsRefused as exc:
                    codes = [code for code, _ in exc.recipients.values()]
                    self._fail(
                        row,
                        owner,
                        now,
                        f"recipient refused: {exc.recipients}",
                        permanent=all(c >= 500 for c in codes),
                        stats=stats,
                    )
                    continue
                except smtplib.SMTPResponseException as exc:
                    text = (
                        exc.smtp_error.decode(errors="replace")
                        if isinstance(exc.smtp_error, bytes)
                        else str(exc.smtp_error)
                    )
                    self._fail(row, owner, now, f"{exc.smtp_code} {text}", permanent=exc.smtp_code >= 500, stats=stats)
                    if isinstance(exc, smtplib.SMTPSenderRefused) or exc.smtp_code in (421,):
                        break
                    continue
                except (OSError, smtplib.SMTPException) as exc:
                    stats.unreachable = f"{self.settings.smtp.host}:{self.settings.smtp.port}: {exc}"
                    self._fail(row, owner, now, stats.unreachable, permanent=False, stats=stats)
                    break
                if refused:
                    self._fail(row, owner, now, f"recipient refused: {refused}", permanent=True, stats=stats)
                    continue
                with self.store.begin() as conn:
                    if _mark_sent(conn, row.id, owner=owner, now=now):
                        stats.sent += 1
                        stats.message_ids.append(row.message_id)
        finally:
            self._release(owner)
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return stats

    def _renew(self, row: Any, owner: str, now: dt.datetime) -> bool:
        """Extend our claim on ``row`` just before handing it to the server; False when it is no longer ours.

        A run that claimed many messages from a slow server could outlive its lease, and a second
        deliverer then claims what is left; renewing each message before its send means only one of the
        two ever sends it.
        """
        m = schema.comms_message
        with self.store.begin() as conn:
            done = conn.execute(
                m.update()
                .where(m.c.id == row.id, m.c.claimed_by == owner, m.c.status.in_(RETRYABLE))
                .values(claim_expires_at=max(now, utcnow()) + self.lease)
            )
        return done.rowcount == 1

    def _still_allowed(self, row: Any, owner: str, now: dt.datetime, stats: DeliverStats) -> bool:
        """Rules checked again at delivery (opt-out, dispute, quiet hours): a quiet hour postpones, the rest block."""
        m = schema.comms_message
        with self.store.begin() as conn:
            who = contact(conn, row.customer_id)
            try:
                compliance.check(
                    conn,
                    self.settings,
                    contact=who,
                    channel=row.channel,
                    ledger_channel=ledger_channel(row.template, row.channel),
                    dunning=row.template in render.DUNNING,
                    invoices=list(row.invoice_numbers or []),
                    now=now,
                    frequency=False,
                )
            except ComplianceBlock as exc:
                mine = sa.and_(m.c.id == row.id, m.c.claimed_by == owner)
                if exc.code in ("QUIET_HOURS", "WEEKEND"):
                    found = compliance.quiet_until(self.settings, who, row.channel, now)
                    resume = found[1] if found else now
                    conn.execute(
                        m.update().where(mine).values(next_attempt_at=resume, claimed_by=None, claim_expires_at=None)
                    )
                    stats.postponed += 1
                else:
                    conn.execute(
                        m.update()
                        .where(mine)
                        .values(status="blocked", last_error=str(exc), claimed_by=None, claim_expires_at=None)
                    )
                    stats.blocked += 1
                return False
        return True

    def _connect(self) -> smtplib.SMTP:
        s = self.settings.smtp
        context = ssl.create_default_context(cafile=self._path(s.ca_file)) if (s.tls or s.starttls) else None
        smtp = (
            smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
            if s.tls
            else smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        )
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            user, password = self.settings.smtp_login(self.base_dir)
            if user:
                smtp.login(user, password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _path(self, name: str | None) -> str | None:
        """``[comms.smtp] ca_file`` against the config's folder."""
        if name is None:
            return None
        path = Path(name).expanduser()
        return str(path if path.is_absolute() else self.base_dir / path)

    def _email(self, row: Any) -> EmailMessage:
        s = self.settings
        msg = EmailMessage()
        msg["Subject"] = row.subject
        msg["From"] = Address(display_name=s.from_name, addr_spec=s.from_address)
        msg["To"] = row.to_address
        if s.reply_to:
            msg["Reply-To"] = s.reply_to
        msg["Message-ID"] = row.message_id
        msg["Date"] = format_datetime(utcnow())
        msg["Content-Language"] = "zh-CN" if row.language == "zh_CN" else "en"
        msg.set_content(row.body_text)
        msg.add_alternative(row.body_html, subtype="html")
        if row.attachment:
            msg.add_attachment(
                bytes(row.attachment), maintype="application", subtype="pdf", filename=row.attachment_name
            )
        return msg

    def _fail(
        self, row: Any, owner: str, now: dt.datetime, error: str, *, permanent: bool, stats: DeliverStats
    ) -> None:
        m = schema.comms_message
        attempts = row.attempts + 1
        dead = permanent or attempts >= self.settings.max_attempts
        with self.store.begin() as conn:
            done = conn.execute(
                m.update()
                .where(m.c.id == row.id, m.c.claimed_by == owner, m.c.status.in_(RETRYABLE))
                .values(
                    status="dead" if dead else "failed",
                    attempts=attempts,
                    last_error=error[:ERROR_CHARS],
                    next_attempt_at=now if dead else now + self.backoff(attempts),
                    claimed_by=None,
                    claim_expires_at=None,
                )
            ).rowcount
        if done:
            if dead:
                stats.dead += 1
            else:
                stats.failed += 1
            stats.errors.append(f"{row.message_id}: {error}")
            (log.warning if dead else log.info)(
                "comms.delivery_failed", message_id=row.message_id, error=error, dead=dead
            )

    def _release(self, owner: str) -> None:
        """Give back the claims not used (a delivery cut short by a lost connection)."""
        m = schema.comms_message
        with self.store.begin() as conn:
            conn.execute(m.update().where(m.c.claimed_by == owner).values(claimed_by=None, claim_expires_at=None))


# -- reading ------------------------------------------------------------------------------------------


def message_row(conn: sa.Connection, row_id: int) -> dict[str, Any]:
    m = schema.comms_message
    return _message(conn.execute(sa.select(m).where(m.c.id == row_id)).one())


def messages(
    conn: sa.Connection, *, customer_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    m = schema.comms_message
    query = sa.select(m).order_by(m.c.created_at.desc(), m.c.id.desc()).limit(limit)
    if customer_id is not None:
        query = query.where(m.c.customer_id == customer_id)
    if status is not None:
        query = query.where(m.c.status == status)
    return [_message(r) for r in conn.execute(query)]


def message_body(conn: sa.Connection, ref: str) -> tuple[dict[str, Any], str, bytes | None]:
    row = _find(conn, ref)
    return _message(row), row.body_html, None if row.attachment is None else bytes(row.attachment)


def _message(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "message_id": r.message_id,
        "customer_id": r.customer_id,
        "channel": r.channel,
        "template": r.template,
        "language": r.language,
        "to": r.to_address,
        "subject": r.subject,
        "invoices": list(r.invoice_numbers or []),
        "status": r.status,
        "attempts": r.attempts,
        "next_attempt_at": _utc(r.next_attempt_at).isoformat(),
        "last_error": r.last_error,
        "created_at": _utc(r.created_at).isoformat(),
        "created_by": r.created_by,
        "sent_at": None if r.sent_at is None else _utc(r.sent_at).isoformat(),
        "action_id": r.action_id,
        "resent_from": r.resent_from,
        "attachment": r.attachment_name,
    }
