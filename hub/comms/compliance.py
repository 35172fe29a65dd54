"""Compliance first (合规优先): the rules a collection contact must pass, checked in the send's transaction.

Each rule that stops a contact raises :class:`hub.errors.ComplianceBlock` with a code and a sentence
in the reader's language:

- ``OPT_OUT``: the customer asked not to be contacted by this channel (``hub comms contact --opt-out``);
- ``DISPUTE_OPEN``: a reminder, notice or lawyer's letter covers an invoice under dispute, or the
  customer disputes its whole account (with ``[comms] dispute_blocks_customer``: any open dispute);
- ``FREQUENCY``: ``[comms] frequency`` allows no more contacts by this channel in the rolling window
  (ledger lines of the channel, from every source, plus messages still queued);
- ``QUIET_HOURS`` / ``WEEKEND``: it is night or the weekend in the customer's time zone
  (``[comms] quiet_start``, ``quiet_end``, ``quiet_weekends``, for ``quiet_channels``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from hub.config import CommsConfig
from hub.errors import CommsError, ComplianceBlock
from hub.i18n import N_
from hub.store import schema

#: Rule codes, in the order they are checked.
RULES = ("OPT_OUT", "DISPUTE_OPEN", "FREQUENCY", "QUIET_HOURS", "WEEKEND")
#: Message statuses that will still be sent (counted by the frequency rule besides the ledger).
QUEUED = ("pending", "failed")


@dataclass(frozen=True)
class Contact:
    customer_id: str
    email: str | None
    language: str | None
    time_zone: str | None
    opt_out: tuple[str, ...]


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommsError(
            N_("unknown time zone %(zone)r (an IANA name such as Asia/Shanghai)"), values={"zone": name}
        ) from None


def open_disputes(conn: sa.Connection, customer_id: str) -> tuple[set[str], bool]:
    """The invoice numbers of the customer's open disputes, and whether one contests the whole account."""
    d = schema.dispute
    numbers: set[str] = set()
    whole = False
    for (number,) in conn.execute(
        sa.select(d.c.invoice_number).where(d.c.customer_id == customer_id, d.c.status == "open")
    ):
        if number is None:
            whole = True
        else:
            numbers.add(number)
    return numbers, whole


def quiet_until(
    settings: CommsConfig, contact: Contact, channel: str, now: dt.datetime
) -> tuple[str, dt.datetime] | None:
    """``(rule, when it ends)`` when ``now`` is in the customer's quiet hours or weekend, else None."""
    if channel not in settings.quiet_channels:
        return None
    tz = zone(contact.time_zone or settings.time_zone)
    local = now.astimezone(tz)
    start, end = dt.time.fromisoformat(settings.quiet_start), dt.time.fromisoformat(settings.quiet_end)
    t = local.time()
    in_quiet = (start <= t or t < end) if start > end else (start <= t < end)
    weekend = settings.quiet_weekends and local.weekday() >= 5
    if not in_quiet and not weekend:
        return None
    # the next moment outside both: the end of the quiet hours, moved past the weekend
    if in_quiet:
        day = local.date() + dt.timedelta(days=1) if start > end and t >= start else local.date()
        resume = dt.datetime.combine(day, end, tzinfo=tz)
    else:
        resume = local
    while settings.quiet_weekends and resume.weekday() >= 5:
        resume = dt.datetime.combine(resume.date() + dt.timedelta(days=1), end, tzinfo=tz)
    return ("WEEKEND" if weekend else "QUIET_HOURS"), resume.astimezone(dt.UTC)


def check(
    conn: sa.Connection,
    settings: CommsConfig,
    *,
    contact: Contact,
    channel: str,
    ledger_channel: str,
    dunning: bool,
    invoices: Sequence[str],
    now: dt.datetime,
    frequency: bool = True,
    quiet: bool = True,
    exclude_message: int | None = None,
) -> None:
    """Raise :class:`ComplianceBlock` for the first rule that stops this contact."""
    cid = contact.customer_id
    if channel in contact.opt_out or ledger_channel in contact.opt_out:
        raise ComplianceBlock(
            "OPT_OUT",
            N_("OPT_OUT: customer %(customer)s opted out of contact by %(channel)s"),
            values={"customer": cid, "channel": channel},
        )
    if dunning:
        numbers, whole = open_disputes(conn, cid)
        hit = sorted(numbers & set(invoices))
        if whole or hit or (settings.dispute_blocks_customer and numbers):
            raise ComplianceBlock(
                "DISPUTE_OPEN",
                N_(
                    "DISPUTE_OPEN: customer %(customer)s has an open dispute (%(what)s); "
                    "no collection contact until it is resolved"
                ),
                values={"customer": cid, "what": ", ".join(hit or sorted(numbers)) or "account"},
            )
    if frequency:
        for rule in settings.frequency:
            if rule.channel not in (channel, ledger_channel):
                continue
            since = now - dt.timedelta(days=rule.days)
            used = _contacts(conn, cid, rule.channel, since, now, exclude_message)
            if used >= rule.max:
                raise ComplianceBlock(
                    "FREQUENCY",
                    N_(
                        "FREQUENCY: customer %(customer)s was contacted by %(channel)s %(count)s times in the last "
                        "%(days)s days (at most %(max)s allowed)"
                    ),
                    values={
                        "customer": cid,
                        "channel": rule.channel,
                        "count": used,
                        "days": rule.days,
                        "max": rule.max,
                    },
                )
    if quiet:
        found = quiet_until(settings, contact, channel, now)
        if found is not None:
            code, resume = found
            tz = contact.time_zone or settings.time_zone
            local = now.astimezone(zone(tz))
            if code == "WEEKEND":
                raise ComplianceBlock(
                    "WEEKEND",
                    N_(
                        "WEEKEND: it is the weekend for customer %(customer)s (%(local)s %(zone)s); try from %(resume)s"
                    ),
                    values={
                        "customer": cid,
                        "local": local.strftime("%a %H:%M"),
                        "zone": tz,
                        "resume": resume.isoformat(timespec="minutes"),
                    },
                )
            raise ComplianceBlock(
                "QUIET_HOURS",
                N_(
                    "QUIET_HOURS: it is %(local)s for customer %(customer)s (%(zone)s), "
                    "within quiet hours %(start)s-%(end)s"
                ),
                values={
                    "customer": cid,
                    "local": local.strftime("%H:%M"),
                    "zone": tz,
                    "start": settings.quiet_start,
                    "end": settings.quiet_end,
                },
            )


def _contacts(
    conn: sa.Connection, customer_id: str, channel: str, since: dt.datetime, until: dt.datetime, exclude: int | None
) -> int:
    """Ledger lines of the customer by ``channel`` in ``(since, until]`` plus its messages still queued."""
    ca, c = schema.collection_action, schema.customer
    # the customer's lines from every source: the hub's name the canonical id, a CRM's its own record's id
    names: list[Any] = [ca.c.customer_external_id == customer_id]
    for source, ext in conn.execute(sa.select(c.c.source, c.c.external_id).where(c.c.canonical_id == customer_id)):
        names.append(sa.and_(ca.c.source == source, ca.c.customer_external_id == ext))
    if ":" in customer_id:
        source, _, ext = customer_id.partition(":")
        names.append(sa.and_(ca.c.source == source, ca.c.customer_external_id == ext))
    lines = int(
        conn.execute(
            sa.select(sa.func.count()).where(sa.or_(*names), ca.c.channel == channel, ca.c.at > since, ca.c.at <= until)
        ).scalar_one()
    )
    m = schema.comms_message
    query = sa.select(sa.func.count()).where(
        m.c.customer_id == customer_id, m.c.status.in_(QUEUED), sa.or_(m.c.channel == channel, m.c.template == channel)
    )
    if exclude is not None:
        query = query.where(m.c.id != exclude)
    return lines + int(conn.execute(query).scalar_one())
