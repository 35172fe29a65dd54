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
from hub.log import get_logger
from hub.model import BandChange, Exposure, FlagChange, RiskFlag
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
        scored.append(ScoredSignal(result.signal, severity, round(weight * severity, 2), result.reason))
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
        started = time.perf_counter()
        stats = RiskStats()
        now = utcnow()
        flag_changes: list[FlagChange] = []
        events: list[Any] = []
        counts: dict[str, int] = defaultdict(int)
        bands_seen: dict[str, int] = defaultdict(int)
        weights = self.settings.scorecard.weights
        bands = self.settings.scorecard.bands
        with self.store.begin() as conn:
            book = self.load(conn, as_of)
            promises = coll.evaluate_promises(
                conn, as_of, self.collections.promise_grace_days, master_source=self.master_source, index=book.index
            )
            context = RiskContext(
                as_of=as_of,
                settings=self.settings,
                base_currency=book.rates.base,
                portfolio_open=sum((c.exposure.open_base for c in book.customers), ZERO),
            )
            groups = roll_up_groups(book, book.labels)
            links = {cid: info.links for cid, info in book.index.customers.items()}
            current = {
                (cid, code): (active, version)
                for cid, code, active, version in conn.execute(
                    sa.select(
                        schema.risk_flag.c.customer_id,
                        schema.risk_flag.c.code,
                        schema.risk_flag.c.active,
                        schema.risk_flag.c.version,
                    )
                )
            }
            active_codes: dict[str, set[str]] = defaultdict(set)
            for (cid, code), (active, _) in current.items():
                if active:
                    active_codes[cid].add(code)
            previous: dict[str, tuple[str | None, dict[str, str] | None]] = {
                cid: (band, known)
                for cid, band, known in conn.execute(
                    sa.select(schema.exposure.c.customer_id, schema.exposure.c.band, schema.exposure.c.links)
                )
            }
            previous_band = {cid: band for cid, (band, _) in previous.items()}
            band_versions = dict(
                conn.execute(
                    sa.select(schema.flag_event.c.customer_id, sa.func.max(schema.flag_event.c.version))
                    .where(schema.flag_event.c.code == BAND_CODE)
                    .group_by(schema.flag_event.c.customer_id)
                ).all()
            )
            flags_of: dict[str, dict[str, RiskFlag]] = {}
            for customer in book.customers:
                customer.promises = promises.get(customer.customer_id, [])
                score_customer(customer, self.signals, context, weights, bands)
                flags: dict[str, RiskFlag] = {}
                for policy in self.policies:
                    for flag in policy.evaluate(customer, context):
                        flags[flag.code] = flag
                flags_of[customer.customer_id] = flags
            recommendations, limit_events = credit.recommend_limits(
                conn, book.customers, self.credit, as_of, now, sinks=self.sinks, links=links
            )
            plans = coll.plan_next_actions(conn, book.customers, self.collections, as_of, index=book.index)
            exposure_rows, assessment_rows = [], []
            writes = _Writes()
            for customer in book.customers:
                exp, cid = customer.exposure, customer.customer_id
                flags = flags_of[cid]
                for code in flags:
                    counts[code] += 1
                bands_seen[customer.band or UNRATED] += 1
                stats.customers += 1
                stats.flagged_customers += bool(flags)
                signals = [asdict(s) for s in customer.signals]
                recommendation = recommendations.get(cid)
                plan = plans.get(cid)
                stats.collection_actions_due += bool(plan and plan.get("due_on", "9999") <= as_of.isoformat())
                exposure_rows.append(
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
                        "links": links.get(cid, {}),
                        "computed_at": now,
                    }
                )
                if customer.band is not None:  # the history holds scores (unrated: none)
                    assessment_rows.append(
                        {
                            "customer_id": cid,
                            "as_of": as_of,
                            "score": customer.score,
                            "band": customer.band,
                            "flags": sorted(flags),
                            "signals": signals,
                            "computed_at": now,
                        }
                    )
                flag_changes.extend(
                    self._diff(writes, cid, flags, active_codes.get(cid, set()), current, links, now, stats)
                )
                known_before = previous.get(cid, (None, None))[1]
                gained = sorted(set(links.get(cid, {})) - set(known_before or {})) if known_before is not None else []
                if customer.band is not None and (previous_band.get(cid) != customer.band or gained):
                    version = (band_versions.get(cid) or 0) + 1
                    events.append(self._band_change(writes, customer, previous_band.get(cid), version, links, now))
                    stats.band_changes += previous_band.get(cid) != customer.band
                if gained:  # newly linked systems learn the flags already in force
                    flag_changes.extend(self._resend(writes, cid, flags, current, links, now, gained))
            # Flags of a customer no longer assessed (merged into another by identity resolution,
            # or gone from every source) are cleared, so no system keeps showing them.
            assessed = {c.customer_id for c in book.customers}
            for cid in sorted(set(active_codes) - assessed):
                if cid not in links and ":" in cid:  # a merged record's own id names where it lives
                    source, _, external_id = cid.partition(":")
                    links[cid] = {source: external_id}
                flag_changes.extend(
                    self._diff(writes, cid, {}, active_codes[cid], current, links, now, stats, gone=True)
                )
            writes.flush(conn)
            conn.execute(schema.exposure.delete())
            if exposure_rows:
                conn.execute(schema.exposure.insert(), exposure_rows)
            conn.execute(schema.exposure_group.delete())
            if groups:
                conn.execute(
                    schema.exposure_group.insert(), [{**g, "as_of": as_of, "computed_at": now} for g in groups]
                )
            stats.groups = len(groups)
            ra = schema.risk_assessment
            conn.execute(ra.delete().where(ra.c.as_of == as_of))
            if assessment_rows:
                conn.execute(ra.insert(), assessment_rows)
            stats.limit_changes = len(limit_events)
            # recommend_limits queued its own events (credit limits applied by policy)
            queued_by_credit = len(limit_events) * len(self.sinks)
            stats.outbox_rows = enqueue(conn, [*flag_changes, *events], self.sinks, now) + queued_by_credit
        stats.flag_counts = dict(sorted(counts.items()))
        stats.band_counts = dict(sorted(bands_seen.items()))
        stats.seconds = time.perf_counter() - started
        log.info("risk.done", **{k: v for k, v in stats.as_dict().items() if k not in ("flag_counts", "band_counts")})
        if self.hook is not None:
            for change in flag_changes:
                self.hook.hub_on_flag_change(change=change)
        return stats, flag_changes

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
        drivers = "; ".join(f"{s.reason} (-{s.points:g})" for s in customer.signals[:2]) or "no adverse signal"
        was = f"was {previous}" if previous else "first assessment"
        reason = f"score {customer.score:g} puts it in band {customer.band} ({was}): {drivers}"
        change = BandChange(
            event_id=f"{cid}:{BAND_CODE}:v{version}",
            customer_id=cid,
            band=customer.band,
            previous=previous,
            score=customer.score,
            reason=reason,
            at=now,
            links=links.get(cid, {}),
        )
        writes.log(change.event_id, cid, BAND_CODE, "set", version, reason, now)
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
            reason = f"{flags[code].reason} (sent again: now also known in {', '.join(gained)})"
            writes.flag_updates.append(
                {
                    "active": True,
                    "version": version,
                    "reason": reason,
                    "changed_at": now,
                    "b_customer": customer_id,
                    "b_code": code,
                }
            )
            change = writes.flag_event(customer_id, code, "raised", version, reason, links, now)
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
        cleared = "the customer is no longer assessed (merged into another or removed)" if gone else "no longer applies"
        for code in sorted(set(flags) | active):
            was_active, version = current.get((customer_id, code), (False, 0))
            want = code in flags
            if want == was_active:
                continue
            version += 1
            reason = flags[code].reason if want else cleared
            row = {"active": want, "version": version, "reason": reason, "changed_at": now}
            if (customer_id, code) in current:
                writes.flag_updates.append({**row, "b_customer": customer_id, "b_code": code})
            else:
                writes.flag_inserts.append({**row, "customer_id": customer_id, "code": code})
            change = writes.flag_event(customer_id, code, "raised" if want else "cleared", version, reason, links, now)
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
        )
        self.log(change.event_id, customer_id, code, action, version, reason, now)
        return change

    def log(self, event_id: str, customer_id: str, code: str, action: str, version: int, reason: str,
            now: dt.datetime) -> None:
        """A row of the risk event log (``flag_event``): a flag raised or cleared, or a band set."""
        self.events.append({"event_id": event_id, "customer_id": customer_id, "code": code, "action": action,
                            "version": version, "reason": reason, "at": now})

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
                    changed_at=sa.bindparam("changed_at"),
                ),
                self.flag_updates,
            )
        if self.events:
            conn.execute(schema.flag_event.insert(), self.events)
