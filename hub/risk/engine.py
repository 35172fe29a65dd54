"""Exposure, risk score, flags, collection plan and credit limits per customer.

``RiskEngine.run(as_of)`` reads every customer's position (:mod:`hub.exposure`: open receivables by
ageing bucket, unapplied cash, orders, guarantees, payment history, bureau reports, earlier
assessments), settles promises to pay (:mod:`hub.collections`), scores each customer with the
registered risk signals (``hub_register_risk_signals``) weighted by the ``[risk.scorecard]``, asks
the flag policies (``hub_register_flag_policies``) which flags hold, recommends credit limits
(:mod:`hub.credit`) and plans the next collection step. Every flag that changed, every band that
changed and every credit limit applied becomes a versioned event with one outbox row per sink,
written in the same transaction as the assessment, so a crash never leaves a flag changed without
its delivery queued (or the other way round).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from hub.config import CollectionsConfig, CreditConfig, FxConfig, RiskConfig
from hub.fx import Rates
from hub.i18n import N_, Join, Message
from hub.log import get_logger
from hub.model import BandChange, CreditLimitChange, Exposure, FlagChange, RiskFlag
from hub.outbox import enqueue
from hub.risk import collection as coll, credit
from hub.risk.exposure import Book, bucket_labels, bucket_of, load_customers, roll_up_groups
from hub.risk.types import (
    BAND_CODE,
    UNRATED,
    ZERO,
    CustomerRisk,
    FlagPolicy,
    RiskContext,
    RiskSignal,
    RiskStats,
    ScoredSignal,
    band_of,
)
from hub.store import Store, schema, utcnow
from hub.trends import write_snapshot

__all__ = ["bucket_labels", "bucket_of"]

log = get_logger(__name__)


def score_customer(
    customer: CustomerRisk,
    signals: Sequence[RiskSignal],
    context: RiskContext,
    weights: dict[str, float],
    bands: dict[str, float],
) -> None:
    """Score one customer in place: each signal's severity times its weight comes off 100. An
    unrated customer (:attr:`CustomerRisk.rated`) gets no score and no band."""
    if not customer.rated:
        customer.signals, customer.score, customer.band = [], None, None
        return
    scored = []
    for signal in signals:
        result = signal.evaluate(customer, context)
        if result is None:
            continue
        severity = min(1.0, max(0.0, float(result.severity)))
        weight = weights.get(signal.name, signal.default_weight)
        scored.append(ScoredSignal(result.signal, severity, round(weight * severity, 2), result.reason, result.message))
    customer.signals = sorted(scored, key=lambda s: -s.points)
    customer.score = round(max(0.0, 100.0 - sum(s.points for s in scored)), 2)
    customer.band = band_of(customer.score, bands)


class RiskEngine:
    """One risk run: exposure, score, flags, collection plan and credit limits, in one transaction."""

    def __init__(
        self,
        store: Store,
        signals: Sequence[RiskSignal],
        policies: Sequence[FlagPolicy],
        *,
        sinks: Sequence[str],
        settings: RiskConfig | None = None,
        fx: FxConfig | None = None,
        collections: CollectionsConfig | None = None,
        credit: CreditConfig | None = None,
        master_source: str | None = None,
        hook: Any = None,
    ) -> None:
        self.store = store
        self.signals = list(signals)
        self.policies = list(policies)
        self.sinks = list(sinks)
        self.settings = settings or RiskConfig()
        self.fx = fx or FxConfig()
        self.collections = collections or CollectionsConfig()
        self.credit = credit or CreditConfig()
        self.master_source = master_source
        self.hook = hook
        known = {s.name for s in self.signals}
        unknown = sorted(set(self.settings.scorecard.weights) - known)
        if unknown and self.signals:
            log.warning("risk.unknown_signal_weights", signals=unknown, installed=sorted(known))

    def load(self, conn: sa.Connection, as_of: dt.date) -> Book:
        rates = Rates.load(conn, self.fx.base, self.fx.table(), as_of)
        return load_customers(
            conn,
            as_of,
            bounds=self.settings.buckets,
            rates=rates,
            payments_window=self.settings.payments_window,
            dso_days=self.settings.dso_days,
            history_days=self.settings.score_drop_window_days,
            master_source=self.master_source,
        )

    def exposures(self, conn: sa.Connection, as_of: dt.date) -> list[Exposure]:
        """Each customer's exposure as of a date (no scoring, nothing written)."""
        return [c.exposure for c in self.load(conn, as_of).customers]

    def run(self, as_of: dt.date) -> tuple[RiskStats, list[FlagChange]]:
        """Assess every customer as of ``as_of`` and write the result, in one transaction, in these steps."""
        started = time.perf_counter()
        now = utcnow()
        with self.store.begin() as conn:
            book = self.load(conn, as_of)
            promises = coll.evaluate_promises(
                conn, as_of, self.collections.promise_grace_days, master_source=self.master_source, index=book.index
            )
            context = self._context(book, as_of)
            groups = roll_up_groups(book, book.labels)
            links = {cid: info.links for cid, info in book.index.customers.items()}
            before = _Before.read(conn)
            flags_of = self._score_and_flag(book, promises, context)
            recommendations, limit_events = credit.recommend_limits(
                conn, book.customers, self.credit, as_of, now, sinks=self.sinks, links=links
            )
            plans = coll.plan_next_actions(conn, book.customers, self.collections, as_of, index=book.index)
            run = _Run(as_of, now, links)
            for customer in book.customers:
                cid = customer.customer_id
                self._record(run, customer, flags_of[cid], recommendations.get(cid), plans.get(cid), before)
            self._clear_unassessed(run, book, before)
            self._write(conn, run, groups, limit_events)
        return self._finish(run, started)

    def _context(self, book: Book, as_of: dt.date) -> RiskContext:
        """What every signal and policy sees besides the customer: the day, the settings, the base currency and
        the whole portfolio's open amount in it."""
        return RiskContext(
            as_of=as_of,
            settings=self.settings,
            base_currency=book.rates.base,
            portfolio_open=sum((c.exposure.open_base for c in book.customers), ZERO),
        )

    def _score_and_flag(
        self, book: Book, promises: dict[str, Any], context: RiskContext
    ) -> dict[str, dict[str, RiskFlag]]:
        """Give each customer its promises to pay, score it (:func:`score_customer`, in place) and ask every flag
        policy which flags hold. Returns the flags that hold, by customer and code."""
        weights = self.settings.scorecard.weights
        bands = self.settings.scorecard.bands
        flags_of: dict[str, dict[str, RiskFlag]] = {}
        for customer in book.customers:
            customer.promises = promises.get(customer.customer_id, [])
            score_customer(customer, self.signals, context, weights, bands)
            flags: dict[str, RiskFlag] = {}
            for policy in self.policies:
                for flag in policy.evaluate(customer, context):
                    flags[flag.code] = flag
            flags_of[customer.customer_id] = flags
        return flags_of

    def _record(
        self,
        run: _Run,
        customer: CustomerRisk,
        flags: dict[str, RiskFlag],
        recommendation: credit.Recommendation | None,
        plan: dict[str, Any] | None,
        before: _Before,
    ) -> None:
        """One customer's part of the run: counted in the stats, its ``exposure`` and ``risk_assessment`` rows
        (:func:`_rows`), and the events of what changed since ``before`` (:meth:`_changes`)."""
        for code in flags:
            run.counts[code] += 1
        run.bands_seen[customer.band or UNRATED] += 1
        run.stats.customers += 1
        run.stats.flagged_customers += bool(flags)
        run.stats.collection_actions_due += bool(plan and plan.get("due_on", "9999") <= run.as_of.isoformat())
        _rows(run, customer, flags, recommendation, plan)
        self._changes(run, customer, flags, before)

    def _changes(self, run: _Run, customer: CustomerRisk, flags: dict[str, RiskFlag], before: _Before) -> None:
        """The events of one customer: each flag raised or cleared; its band when it changed, or when systems
        were linked since the last run (they also learn the flags already in force)."""
        cid, links, now = customer.customer_id, run.links, run.now
        run.flag_changes.extend(
            self._diff(run.writes, cid, flags, before.active.get(cid, set()), before.flags, links, now, run.stats)
        )
        known_before = before.links.get(cid)
        gained = sorted(set(links.get(cid, {})) - set(known_before or {})) if known_before is not None else []
        was = before.bands.get(cid)
        if customer.band is not None and (was != customer.band or gained):
            version = (before.band_versions.get(cid) or 0) + 1
            run.events.append(self._band_change(run.writes, customer, was, version, links, now))
            run.stats.band_changes += was != customer.band
        if gained:  # newly linked systems learn the flags already in force
            run.flag_changes.extend(self._resend(run.writes, cid, flags, before.flags, links, now, gained))

    def _clear_unassessed(self, run: _Run, book: Book, before: _Before) -> None:
        """Clear the flags of customers no longer assessed (merged into another by identity resolution, or gone
        from every source), so no system keeps showing them."""
        assessed = {c.customer_id for c in book.customers}
        for cid in sorted(set(before.active) - assessed):
            if cid not in run.links and ":" in cid:  # a merged record's own id names where it lives
                source, _, external_id = cid.partition(":")
                run.links[cid] = {source: external_id}
            run.flag_changes.extend(
                self._diff(
                    run.writes, cid, {}, before.active[cid], before.flags, run.links, run.now, run.stats, gone=True
                )
            )

    def _write(
        self, conn: sa.Connection, run: _Run, groups: list[dict[str, Any]], limit_events: list[CreditLimitChange]
    ) -> None:
        """Write the run: flags and their event log (``risk_flag``, ``flag_event``), ``exposure`` and
        ``exposure_group`` replaced, the day's ``risk_assessment`` replaced, and one outbox row per event and sink
        (the credit limit events were queued by :func:`hub.risk.credit.recommend_limits`)."""
        stats, now = run.stats, run.now
        run.writes.flush(conn)
        conn.execute(schema.exposure.delete())
        if run.exposure_rows:
            conn.execute(schema.exposure.insert(), run.exposure_rows)
        conn.execute(schema.exposure_group.delete())
        if groups:
            conn.execute(
                schema.exposure_group.insert(), [{**g, "as_of": run.as_of, "computed_at": now} for g in groups]
            )
        stats.groups = len(groups)
        write_snapshot(conn, run.as_of, now, self.fx.base)  # the dashboard's history of the book
        ra = schema.risk_assessment
        conn.execute(ra.delete().where(ra.c.as_of == run.as_of))
        if run.assessment_rows:
            conn.execute(ra.insert(), run.assessment_rows)
        stats.limit_changes = len(limit_events)
        # recommend_limits queued its own events (credit limits applied by policy)
        queued_by_credit = len(limit_events) * len(self.sinks)
        stats.outbox_rows = enqueue(conn, [*run.flag_changes, *run.events], self.sinks, now) + queued_by_credit

    def _finish(self, run: _Run, started: float) -> tuple[RiskStats, list[FlagChange]]:
        """After the commit: the stats completed and logged, and the flag changes told to the plugins
        (``hub_on_flag_change``)."""
        stats = run.stats
        stats.flag_counts = dict(sorted(run.counts.items()))
        stats.band_counts = dict(sorted(run.bands_seen.items()))
        stats.seconds = time.perf_counter() - started
        log.info("risk.done", **{k: v for k, v in stats.as_dict().items() if k not in ("flag_counts", "band_counts")})
        if self.hook is not None:
            for change in run.flag_changes:
                self.hook.hub_on_flag_change(change=change)
        return stats, run.flag_changes

    @staticmethod
    def _band_change(
        writes: _Writes,
        customer: CustomerRisk,
        previous: str | None,
        version: int,
        links: dict[str, dict[str, str]],
        now: dt.datetime,
    ) -> BandChange:
        cid = customer.customer_id
        assert customer.band is not None and customer.score is not None
        drivers = Join(
            tuple(
                Message(
                    "%(reason)s (-%(points)s)", reason=Message.from_json(s.message) or s.reason, points=f"{s.points:g}"
                )
                for s in customer.signals[:2]
            )
        )
        message = Message(
            N_("score %(score)s puts it in band %(band)s (%(was)s): %(drivers)s"),
            score=f"{customer.score:g}",
            band=customer.band,
            was=Message(N_("was %(band)s"), band=previous) if previous else Message(N_("first assessment")),
            drivers=drivers if drivers.parts else Message(N_("no adverse signal")),
        )
        reason = message.english()
        change = BandChange(
            event_id=f"{cid}:{BAND_CODE}:v{version}",
            customer_id=cid,
            band=customer.band,
            previous=previous,
            score=customer.score,
            reason=reason,
            at=now,
            links=links.get(cid, {}),
            message=message.to_json(),
        )
        writes.log(change.event_id, cid, BAND_CODE, "set", version, reason, now, change.message)
        return change

    @staticmethod
    def _resend(
        writes: _Writes,
        customer_id: str,
        flags: dict[str, RiskFlag],
        current: dict[tuple[str, str], tuple[bool, int]],
        links: dict[str, dict[str, str]],
        now: dt.datetime,
        gained: list[str],
    ) -> list[FlagChange]:
        """A new version of each flag that stays raised, for the systems linked since the last run."""
        changes = []
        for code in sorted(flags):
            was_active, version = current.get((customer_id, code), (False, 0))
            if not was_active:
                continue  # raised in this run: _diff already sent it
            version += 1
            earlier = Message.from_json(flags[code].message) or flags[code].reason
            message = Message(
                N_("%(reason)s (sent again: now also known in %(systems)s)"), reason=earlier, systems=", ".join(gained)
            )
            reason = message.english()
            writes.flag_updates.append(
                {
                    "active": True,
                    "version": version,
                    "reason": reason,
                    "message": message.to_json(),
                    "changed_at": now,
                    "b_customer": customer_id,
                    "b_code": code,
                }
            )
            change = writes.flag_event(customer_id, code, "raised", version, reason, links, now, message.to_json())
            changes.append(change)
        return changes

    @staticmethod
    def _diff(
        writes: _Writes,
        customer_id: str,
        flags: dict[str, RiskFlag],
        active: set[str],
        current: dict[tuple[str, str], tuple[bool, int]],
        links: dict[str, dict[str, str]],
        now: dt.datetime,
        stats: RiskStats,
        *,
        gone: bool = False,
    ) -> list[FlagChange]:
        changes = []
        cleared = Message(
            N_("the customer is no longer assessed (merged into another or removed)")
            if gone
            else N_("no longer applies")
        )
        for code in sorted(set(flags) | active):
            was_active, version = current.get((customer_id, code), (False, 0))
            want = code in flags
            if want == was_active:
                continue
            version += 1
            reason = flags[code].reason if want else cleared.english()
            message = flags[code].message if want else cleared.to_json()
            row = {"active": want, "version": version, "reason": reason, "message": message, "changed_at": now}
            if (customer_id, code) in current:
                writes.flag_updates.append({**row, "b_customer": customer_id, "b_code": code})
            else:
                writes.flag_inserts.append({**row, "customer_id": customer_id, "code": code})
            change = writes.flag_event(
                customer_id, code, "raised" if want else "cleared", version, reason, links, now, message
            )
            if want:
                stats.raised += 1
            else:
                stats.cleared += 1
            changes.append(change)
        return changes


@dataclass
class _Writes:
    """Flag rows and risk events of one run, written in a few batched statements at its end."""

    flag_inserts: list[dict[str, Any]] = field(default_factory=list)
    flag_updates: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def flag_event(
        self,
        customer_id: str,
        code: str,
        action: Literal["raised", "cleared"],
        version: int,
        reason: str,
        links: dict[str, dict[str, str]],
        now: dt.datetime,
        message: dict[str, Any] | None = None,
    ) -> FlagChange:
        """The event of one flag version, with its row for the risk event log (``flag_event``)."""
        change = FlagChange(
            event_id=f"{customer_id}:{code}:v{version}",
            customer_id=customer_id,
            code=code,
            action=action,
            version=version,
            reason=reason,
            at=now,
            links=links.get(customer_id, {}),
            message=message,
        )
        self.log(change.event_id, customer_id, code, action, version, reason, now, message)
        return change

    def log(
        self,
        event_id: str,
        customer_id: str,
        code: str,
        action: str,
        version: int,
        reason: str,
        now: dt.datetime,
        message: dict[str, Any] | None = None,
    ) -> None:
        """A row of the risk event log (``flag_event``): a flag raised or cleared, or a band set."""
        self.events.append(
            {
                "event_id": event_id,
                "customer_id": customer_id,
                "code": code,
                "action": action,
                "version": version,
                "reason": reason,
                "at": now,
                "message": message,
            }
        )

    def flush(self, conn: sa.Connection) -> None:
        rf = schema.risk_flag
        if self.flag_inserts:
            conn.execute(rf.insert(), self.flag_inserts)
        if self.flag_updates:
            conn.execute(
                rf.update()
                .where(rf.c.customer_id == sa.bindparam("b_customer"), rf.c.code == sa.bindparam("b_code"))
                .values(
                    active=sa.bindparam("active"),
                    version=sa.bindparam("version"),
                    reason=sa.bindparam("reason"),
                    message=sa.bindparam("message"),
                    changed_at=sa.bindparam("changed_at"),
                ),
                self.flag_updates,
            )
        if self.events:
            conn.execute(schema.flag_event.insert(), self.events)


@dataclass
class _Before:
    """What the store held before this run: every flag's state and version (and the codes in force per
    customer), each customer's band and the systems it was known in at the last run, and the last version of
    each customer's band event."""

    flags: dict[tuple[str, str], tuple[bool, int]]
    active: dict[str, set[str]]
    bands: dict[str, str | None]
    links: dict[str, dict[str, str] | None]
    band_versions: dict[str, int]

    @classmethod
    def read(cls, conn: sa.Connection) -> _Before:
        """Reads ``risk_flag``, ``exposure`` (band and links) and ``flag_event`` (band versions)."""
        rf = schema.risk_flag
        flags = {
            (cid, code): (active, version)
            for cid, code, active, version in conn.execute(
                sa.select(rf.c.customer_id, rf.c.code, rf.c.active, rf.c.version)
            )
        }
        active_codes: dict[str, set[str]] = defaultdict(set)
        for (cid, code), (active, _) in flags.items():
            if active:
                active_codes[cid].add(code)
        previous: dict[str, tuple[str | None, dict[str, str] | None]] = {
            cid: (band, known)
            for cid, band, known in conn.execute(
                sa.select(schema.exposure.c.customer_id, schema.exposure.c.band, schema.exposure.c.links)
            )
        }
        fe = schema.flag_event
        band_versions = dict(
            conn.execute(
                sa.select(fe.c.customer_id, sa.func.max(fe.c.version))
                .where(fe.c.code == BAND_CODE)
                .group_by(fe.c.customer_id)
            ).all()
        )
        return cls(
            flags=flags,
            active=active_codes,
            bands={cid: band for cid, (band, _) in previous.items()},
            links={cid: known for cid, (_, known) in previous.items()},
            band_versions=band_versions,
        )


@dataclass
class _Run:
    """One run's day, clock and links (by customer, then system), and what it gathers customer by customer
    before :meth:`RiskEngine._write` writes it."""

    as_of: dt.date
    now: dt.datetime
    links: dict[str, dict[str, str]]
    stats: RiskStats = field(default_factory=RiskStats)
    writes: _Writes = field(default_factory=_Writes)
    flag_changes: list[FlagChange] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)  # band changes
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    bands_seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    exposure_rows: list[dict[str, Any]] = field(default_factory=list)
    assessment_rows: list[dict[str, Any]] = field(default_factory=list)


def _rows(
    run: _Run,
    customer: CustomerRisk,
    flags: dict[str, RiskFlag],
    recommendation: credit.Recommendation | None,
    plan: dict[str, Any] | None,
) -> None:
    """Add one customer's ``exposure`` row and, when it is rated, its ``risk_assessment`` row (the history
    holds scores: an unrated customer has none)."""
    exp, cid = customer.exposure, customer.customer_id
    signals = [asdict(s) for s in customer.signals]
    run.exposure_rows.append(
        {
            **{k: v for k, v in exp.model_dump().items() if k in schema.exposure.c},
            "buckets": {k: str(v) for k, v in exp.buckets.items()},
            "unconverted": {k: str(v) for k, v in exp.unconverted.items()},
            "score": customer.score,
            "band": customer.band,
            "signals": signals,
            "flags": sorted(flags),
            "recommended_limit": recommendation.amount if recommendation else None,
            "next_action": plan,
            "links": run.links.get(cid, {}),
            "computed_at": run.now,
        }
    )
    if customer.band is not None:
        run.assessment_rows.append(
            {
                "customer_id": cid,
                "as_of": run.as_of,
                "score": customer.score,
                "band": customer.band,
                "flags": sorted(flags),
                "signals": signals,
                "computed_at": run.now,
            }
        )
