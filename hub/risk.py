"""Exposure, risk score and flags per customer.

``RiskEngine.run(as_of)`` computes each customer's :class:`~hub.model.Exposure` from open invoices
minus live allocations, scores it with the registered risk signals (``hub_register_risk_signals``),
asks the flag policies (``hub_register_flag_policies``) which flags hold, and compares them with the
flags already raised. Every difference becomes a versioned flag event and one outbox row per sink,
written in the same transaction as the exposure, so a crash never leaves a flag changed without its
delivery queued (or the other way round).
"""

from __future__ import annotations

import abc
import datetime as dt
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hub.log import get_logger
from hub.model import DEFAULT_BUCKETS, Exposure, FlagChange, RiskFlag
from hub.outbox import enqueue
from hub.reconcile import live_allocated
from hub.store import Store, schema, utcnow

log = get_logger(__name__)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RiskContext:
    as_of: dt.date
    overdue_days: tuple[int, ...] = (30, 60, 90)


@dataclass(frozen=True)
class SignalResult:
    """A signal's contribution: ``points`` taken off a perfect score of 100, and why."""

    signal: str
    points: float
    reason: str


class RiskSignal(abc.ABC):
    """One input to the risk score; registered through ``hub_register_risk_signals``."""

    name: str = "signal"

    @abc.abstractmethod
    def evaluate(self, exposure: Exposure, context: RiskContext) -> SignalResult | None:
        """Return the signal's contribution for this customer, or None when it does not apply."""


class FlagPolicy(abc.ABC):
    """Decides which flags hold for a customer; registered through ``hub_register_flag_policies``."""

    name: str = "policy"

    @abc.abstractmethod
    def evaluate(self, exposure: Exposure, context: RiskContext) -> Sequence[RiskFlag]:
        """Return the flags this policy raises for the customer now (absent ones are cleared)."""


@dataclass
class RiskStats:
    customers: int = 0
    flagged_customers: int = 0
    raised: int = 0
    cleared: int = 0
    outbox_rows: int = 0
    seconds: float = 0.0
    flag_counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bucket_of(days_past_due: int) -> str:
    for label, low, high in DEFAULT_BUCKETS:
        if (low is None or days_past_due >= low) and (high is None or days_past_due <= high):
            return label
    raise AssertionError("buckets cover every day count")


def band_of(score: float, cutoffs: dict[str, float]) -> str:
    for band, lowest in sorted(cutoffs.items(), key=lambda kv: -kv[1]):
        if score >= lowest:
            return band
    return sorted(cutoffs.items(), key=lambda kv: kv[1])[0][0]


class RiskEngine:
    def __init__(
        self,
        store: Store,
        signals: Sequence[RiskSignal],
        policies: Sequence[FlagPolicy],
        *,
        sinks: Sequence[str],
        band_cutoffs: dict[str, float],
        overdue_days: Sequence[int] = (30, 60, 90),
        hook: Any = None,
    ) -> None:
        self.store = store
        self.signals = list(signals)
        self.policies = list(policies)
        self.sinks = list(sinks)
        self.band_cutoffs = band_cutoffs
        self.overdue_days = tuple(overdue_days)
        self.hook = hook

    def exposures(self, conn: sa.Connection, as_of: dt.date) -> list[Exposure]:
        """One exposure per canonical customer, in the customer's currency (or its invoices')."""
        inv, cust = schema.invoice, schema.customer
        allocated = live_allocated(conn)
        customers: dict[str, tuple[str | None, Decimal | None]] = {}
        for cid, ccy, limit in conn.execute(sa.select(cust.c.canonical_id, cust.c.currency, cust.c.credit_limit)):
            customers.setdefault(cid, (ccy, limit))
        canonical = schema.invoice_customer_id
        rows = conn.execute(
            sa.select(inv.c.id, canonical, inv.c.currency, inv.c.open_amount, inv.c.due_date)
            .select_from(inv.outerjoin(cust, schema.invoice_customer))
            .where(inv.c.status.in_(("open", "disputed")), inv.c.open_amount > 0)
        )
        per: dict[str, dict[str, Any]] = {}
        for invoice_id, cid, ccy, open_amount, due in rows:
            remaining = open_amount - allocated.get(invoice_id, ZERO)
            if remaining <= 0:
                continue
            ccy_master, _ = customers.get(cid, (None, None))
            acc = per.setdefault(
                cid,
                {
                    "currency": ccy_master or ccy,
                    "buckets": defaultdict(Decimal),
                    "oldest": None,
                    "max_dpd": 0,
                    "other_ccy": 0,
                },
            )
            if ccy != acc["currency"]:
                acc["other_ccy"] += 1  # converted in a later version (rates); counted, not mixed in
                continue
            dpd = (as_of - due).days
            acc["buckets"][bucket_of(dpd)] += remaining
            if dpd > 0:
                acc["max_dpd"] = max(acc["max_dpd"], dpd)
                acc["oldest"] = due if acc["oldest"] is None else min(acc["oldest"], due)
        out = []
        for cid in sorted(set(customers) | set(per)):
            acc = per.get(cid) or {}
            ccy_master, limit = customers.get(cid, (None, None))
            buckets = {label: ZERO for label, _, _ in DEFAULT_BUCKETS}
            if acc:
                buckets.update(acc["buckets"])
            open_amount = sum(buckets.values(), ZERO)
            currency = acc.get("currency") or ccy_master
            if currency is None:
                continue  # a customer with no currency and no invoices has no exposure to report
            out.append(
                Exposure(
                    customer_id=cid,
                    as_of=as_of,
                    currency=currency,
                    open_amount=open_amount,
                    overdue_amount=open_amount - buckets["not_due"],
                    buckets=buckets,
                    credit_limit=limit,
                    utilisation=float(open_amount / limit) if limit else None,
                    oldest_due_date=acc.get("oldest"),
                    max_days_past_due=acc.get("max_dpd", 0),
                )
            )
        return out

    def run(self, as_of: dt.date) -> tuple[RiskStats, list[FlagChange]]:
        started = time.perf_counter()
        stats = RiskStats()
        now = utcnow()
        context = RiskContext(as_of=as_of, overdue_days=self.overdue_days)
        changes: list[FlagChange] = []
        counts: dict[str, int] = defaultdict(int)
        with self.store.begin() as conn:
            exposures = self.exposures(conn, as_of)
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
            links = self._links(conn)
            exposure_rows = []
            for exp in exposures:
                results = [r for s in self.signals if (r := s.evaluate(exp, context)) is not None]
                score = max(0.0, 100.0 - sum(r.points for r in results))
                flags: dict[str, RiskFlag] = {}
                for policy in self.policies:
                    for flag in policy.evaluate(exp, context):
                        flags[flag.code] = flag
                for code in flags:
                    counts[code] += 1
                stats.customers += 1
                stats.flagged_customers += bool(flags)
                exposure_rows.append(
                    {
                        **{k: v for k, v in exp.model_dump().items() if k in schema.exposure.c},
                        "buckets": {k: str(v) for k, v in exp.buckets.items()},
                        "score": score,
                        "band": band_of(score, self.band_cutoffs),
                        "signals": [asdict(r) for r in results],
                        "flags": sorted(flags),
                        "computed_at": now,
                    }
                )
                changes.extend(self._diff(conn, exp.customer_id, flags, current, links, now, stats))
            conn.execute(schema.exposure.delete())
            if exposure_rows:
                conn.execute(schema.exposure.insert(), exposure_rows)
            stats.outbox_rows = enqueue(conn, changes, self.sinks, now)
        stats.flag_counts = dict(sorted(counts.items()))
        stats.seconds = time.perf_counter() - started
        log.info("risk.done", **{k: v for k, v in stats.as_dict().items() if k != "flag_counts"})
        if self.hook is not None:
            for change in changes:
                self.hook.hub_on_flag_change(change=change)
        return stats, changes

    def _links(self, conn: sa.Connection) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = defaultdict(dict)
        c = schema.customer
        for cid, source, ext, extra in conn.execute(
            sa.select(c.c.canonical_id, c.c.source, c.c.external_id, c.c.links)
        ):
            out[cid][source] = ext
            out[cid].update(extra or {})
        return out

    def _diff(
        self,
        conn: sa.Connection,
        customer_id: str,
        flags: dict[str, RiskFlag],
        current: dict[tuple[str, str], tuple[bool, int]],
        links: dict[str, dict[str, str]],
        now: dt.datetime,
        stats: RiskStats,
    ) -> list[FlagChange]:
        rf = schema.risk_flag
        changes = []
        codes = set(flags) | {code for (cid, code), (active, _) in current.items() if cid == customer_id and active}
        for code in sorted(codes):
            active, version = current.get((customer_id, code), (False, 0))
            want = code in flags
            if want == active:
                continue
            version += 1
            reason = flags[code].reason if want else "no longer applies"
            if (customer_id, code) in current:
                conn.execute(
                    rf.update()
                    .where(rf.c.customer_id == customer_id, rf.c.code == code)
                    .values(active=want, version=version, reason=reason, changed_at=now)
                )
            else:
                conn.execute(
                    rf.insert().values(
                        customer_id=customer_id, code=code, active=want, version=version, reason=reason, changed_at=now
                    )
                )
            change = FlagChange(
                event_id=f"{customer_id}:{code}:v{version}",
                customer_id=customer_id,
                code=code,
                action="raised" if want else "cleared",
                version=version,
                reason=reason,
                at=now,
                links=links.get(customer_id, {}),
            )
            conn.execute(
                schema.flag_event.insert().values(
                    event_id=change.event_id,
                    customer_id=customer_id,
                    code=code,
                    action=change.action,
                    version=version,
                    reason=reason,
                    at=now,
                )
            )
            if want:
                stats.raised += 1
            else:
                stats.cleared += 1
            changes.append(change)
        return changes
