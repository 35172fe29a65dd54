"""The hub as one object: config, plugins, store and connectors, the jobs that run on them, and
the services through which people and programs act on its data.

The CLI, the tests and (later) the web console and the workers all drive the hub through
:class:`Hub`, so a job or an action behaves the same whoever starts it: jobs are its methods
(``sync``, ``reconcile``, ``risk``, ``push``...), actions its services (``hub.matches``,
``hub.limits``, ``hub.collections``... in :mod:`hub.services`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.connector import ConnectorContext, validate_config
from hub.errors import ConfigError, HubError
from hub.i18n import DEFAULT_LOCALE, normalize
from hub.plugins import PluginHost, load_plugins
from hub.services import (
    Audit,
    Bureaus,
    Cases,
    Collections,
    Comms,
    Connectors,
    Customers,
    Deliveries,
    Disputes,
    Exposures,
    Interest,
    Limits,
    Matches,
    Tokens,
    Users,
    Webhooks,
)
from hub.store import Store, utcnow

# Each job imports its engine when it runs, so that a command pays only for what it uses
# (``hub receipts import`` needs neither identity resolution nor risk nor the report).
if TYPE_CHECKING:
    from hub.config import HubConfig
    from hub.connector import Connector
    from hub.identity import IdentityStats
    from hub.metrics import Metrics
    from hub.outbox import Outbox, PushStats
    from hub.queue.service import Queue
    from hub.recon import ReconcileEngine, ReconcileStats
    from hub.report import Report
    from hub.risk import RiskStats
    from hub.sync import Progress, StreamStats, SyncEngine


@dataclass(frozen=True)
class BookState:
    """Where the book stands (not what one run changed): what ``hub demo`` and a person starting the
    day want to see first."""

    receipts: dict[str, int]
    """Customer payments by state: ``matched`` (automatic or confirmed), ``suggested``, ``open``."""
    pending_limits: int
    """Credit limit proposals waiting for an approval."""
    unconverted: dict[str, Decimal]
    """Per currency, what the last risk run could not convert to the customers' currencies (no rate)."""
    unconverted_customers: int


class Hub:
    """``lock_wait``: seconds a job waits for the same job run elsewhere (default: the config's);
    ``on_lock_wait(job, holder)`` is told once when a job starts waiting."""

    def __init__(
        self,
        config: HubConfig,
        plugins: PluginHost | None = None,
        *,
        lock_wait: float | None = None,
        on_lock_wait: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self.config = config
        self.plugins = plugins or load_plugins(config.plugins.allow, config.plugins.deny)
        self.store = Store(
            config.database_url(), echo=config.database.echo, busy_timeout=config.database.busy_timeout_seconds
        )
        self.lock_wait = config.database.lock_wait_seconds if lock_wait is None else lock_wait
        self.on_lock_wait = on_lock_wait
        self._connectors: dict[str, Connector] | None = None

    # -- services: what people and programs do with the data (hub.services) --------------------------

    @cached_property
    def matches(self) -> Matches:
        return Matches(self)

    @cached_property
    def exposures(self) -> Exposures:
        return Exposures(self)

    @cached_property
    def collections(self) -> Collections:
        return Collections(self)

    @cached_property
    def comms(self) -> Comms:
        return Comms(self)

    @cached_property
    def disputes(self) -> Disputes:
        return Disputes(self)

    @cached_property
    def limits(self) -> Limits:
        return Limits(self)

    @cached_property
    def customers(self) -> Customers:
        return Customers(self)

    @cached_property
    def deliveries(self) -> Deliveries:
        return Deliveries(self)

    @cached_property
    def bureaus(self) -> Bureaus:
        return Bureaus(self)

    @cached_property
    def users(self) -> Users:
        return Users(self)

    @cached_property
    def tokens(self) -> Tokens:
        return Tokens(self)

    @cached_property
    def audit(self) -> Audit:
        return Audit(self)

    @cached_property
    def connector_status(self) -> Connectors:
        return Connectors(self)

    @cached_property
    def webhooks(self) -> Webhooks:
        return Webhooks(self)

    @cached_property
    def interest(self) -> Interest:
        """Late-payment interest and fees (:mod:`hub.interest`)."""
        return Interest(self)

    @cached_property
    def cases(self) -> Cases:
        """Litigation, arbitration and agency cases (:mod:`hub.cases`)."""
        return Cases(self)

    @cached_property
    def queue(self) -> Queue:
        """The job queue on PostgreSQL (procrastinate workers; :mod:`hub.queue`)."""
        from hub.queue.service import Queue

        return Queue(self)

    def ready(self) -> tuple[bool, str]:
        """Whether the store answers and holds the schema this hub needs, and why not (readiness probes)."""
        try:
            self.store.check_ready()
        except Exception as exc:
            return False, describe_failure(exc) or f"{type(exc).__name__}: {exc}"
        return True, "ready"

    def metrics(self) -> Metrics:
        """The operations figures in the Prometheus format (:mod:`hub.metrics`)."""
        from hub.metrics import Metrics

        return Metrics(self.store)

    @property
    def database(self) -> str:
        """Where the store is, without credentials (``127.0.0.1:5432/hub``, ``sqlite:///hub.db``)."""
        return self.store.url.split("@")[-1]

    @contextmanager
    def single_flight(self, job: str) -> Iterator[None]:
        """Run ``job`` once at a time per store, whoever starts it (see :mod:`hub.store.locks`)."""
        notify = self.on_lock_wait
        with self.store.lock(
            job, wait=self.lock_wait, on_wait=(lambda holder: notify(job, holder)) if notify is not None else None
        ):
            yield

    # -- connectors ------------------------------------------------------------------------------

    def connectors(self) -> dict[str, Connector]:
        """Every configured connector instance, built once, in config order."""
        if self._connectors is None:
            types = self.plugins.connector_types()
            context = ConnectorContext(base_dir=self.config.base_dir)
            built: dict[str, Connector] = {}
            for name in self.config.connectors:
                section = self.config.connector_settings(name)
                type_name = section.get("type")
                ctype = types.get(str(type_name))
                if ctype is None:
                    raise ConfigError(
                        f"[connectors.{name}] type {type_name!r} is not installed; "
                        f"available: {', '.join(sorted(types)) or 'none'} (see 'hub plugins')"
                    )
                cfg = validate_config(ctype.config_model, name, section)
                built[name] = ctype.factory(name, cfg, context)
                if (sink := built[name].sink) is not None:
                    # the texts pushed to it are in its language (English when the hub has no translation)
                    sink.language = normalize(cfg.language) or DEFAULT_LOCALE
            self._connectors = built
        return self._connectors

    def connector(self, name: str) -> Connector:
        connectors = self.connectors()
        if name not in connectors:
            raise ConfigError(f"no connector named {name!r} in the config; have: {', '.join(connectors) or 'none'}")
        return connectors[name]

    def sinks(self) -> dict[str, Any]:
        return {name: c.sink for name, c in self.connectors().items() if c.sink is not None}

    def master_source(self) -> str | None:
        if self.config.identity.master:
            return self.config.identity.master
        for name, conn in self.connectors().items():
            if conn.source is not None and any(s.record_type == "customer" for s in conn.source.streams()):
                return name
        return None

    # -- jobs --------------------------------------------------------------------------------------

    def init(self) -> str:
        """Migrate the schema; on PostgreSQL also create the job queue's tables (procrastinate's and
        ``hub_queue_done``) when they are missing, so that ``hub worker`` can start."""
        notify = self.on_lock_wait
        revision = self.store.migrate(
            wait=self.lock_wait, on_wait=(lambda holder: notify("hub init", holder)) if notify is not None else None
        )
        if self.store.dialect == "postgresql" and _queue_installed():
            from procrastinate.schema import SchemaManager

            from hub.queue.flow import ensure_schema

            ensure_schema(self.store, SchemaManager.get_schema)
        return revision

    def sync(
        self,
        connector: str | None = None,
        *,
        full_refresh: bool = False,
        progress: Callable[[], Progress] | None = None,
    ) -> list[StreamStats]:
        self.store.check_ready()
        engine = self.sync_engine(progress)
        names = [connector] if connector else [n for n, c in self.connectors().items() if c.source is not None]
        results: list[StreamStats] = []
        for name in names:
            conn = self.connector(name)
            if conn.source is None:
                raise HubError(f"connector {name} has no source to sync")
            with self.single_flight(f"sync {name}"):
                started = utcnow()
                results.extend(engine.sync(conn, full_refresh=full_refresh))
                self.webhooks.handled(name, before=started)  # what they announced, this sync has read
        return results

    def sync_engine(self, progress: Callable[[], Progress] | None = None) -> SyncEngine:
        """A sync engine on this hub's store, with its plugins' hooks and the config's mappings."""
        from hub.sync import SyncEngine

        return SyncEngine(
            self.store,
            hook=self.plugins.hook,
            master_source=self.master_source(),
            mapping_overrides={n: dict(s.get("mappings", {})) for n, s in self.config.connectors.items()},
            base_dir=self.config.base_dir,
            progress=progress,
            workers=self.config.sync.workers,
        )

    def resolve_identities(self) -> IdentityStats:
        """Link other sources' customer records to master customers (:mod:`hub.identity`).

        Its own step: run after ``sync`` (new records) and before ``reconcile`` and ``risk``, which
        group everything by canonical customer id.
        """
        from hub.identity import resolve as resolve_identities

        self.store.check_ready()
        with self.single_flight("identity resolution"):
            return resolve_identities(self.store, master_source=self.master_source(), settings=self.config.identity)

    def reconcile(self) -> ReconcileStats:
        """Match receipts to open invoices, once at a time per store."""
        self.store.check_ready()
        engine = self.reconcile_engine()
        with self.single_flight("reconcile"):
            return engine.run()

    def reconcile_engine(self) -> ReconcileEngine:
        """A reconcile engine on this hub's store with its matchers and the config's settings."""
        from hub.recon import ReconcileEngine

        rc = self.config.reconcile
        return ReconcileEngine(
            self.store,
            self.plugins.matchers(),
            auto_threshold=rc.auto_threshold,
            suggest_threshold=rc.suggest_threshold,
            margin=rc.margin,
            fee_tolerance=rc.fee_tolerance(),
            max_subset_size=rc.max_subset_size,
            subset_budget=rc.subset_budget,
            hook=self.plugins.hook,
            partitions=rc.partitions,
            fx=(self.config.fx.base, self.config.fx.table()),
        )

    def reconcile_partition(self, run_id: str, part: int, parts: int) -> ReconcileStats:
        """Decide one partition of a queued run's receipts and keep the decisions for the run's write
        (:meth:`reconcile_staged`); allocates nothing. Partitions run at once, each on its own lock."""
        self.store.check_ready()
        engine = self.reconcile_engine()
        with self.single_flight(f"reconcile-partition-{part}"):
            return engine.stage(run_id, part, parts)

    def reconcile_staged(self, run_id: str, parts: int) -> ReconcileStats:
        """Write the decisions a queued run's partitions kept (nothing if they were written already)."""
        self.store.check_ready()
        engine = self.reconcile_engine()
        with self.single_flight("reconcile"):
            return engine.commit_staged(run_id, parts)

    def as_of(self, value: dt.date | None = None) -> dt.date:
        if value is not None:
            return value
        if self.config.risk.as_of:
            return dt.date.fromisoformat(self.config.risk.as_of)
        return dt.date.today()

    def risk(self, as_of: dt.date | None = None) -> RiskStats:
        from hub.risk import RiskEngine

        self.store.check_ready()
        engine = RiskEngine(
            self.store,
            self.plugins.risk_signals(),
            # the bureau service's admission terms raise PREPAYMENT_REQUIRED for screened customers
            [*self.plugins.flag_policies(), *self.bureaus.policies()],
            sinks=sorted(self.sinks()),
            settings=self.config.risk,
            fx=self.config.fx,
            collections=self.config.collections,
            credit=self.config.credit,
            master_source=self.master_source(),
            hook=self.plugins.hook,
        )
        with self.single_flight("risk"):
            stats, _ = engine.run(self.as_of(as_of))
        return stats

    def report(
        self, path: str | Path, *, as_of: dt.date | None = None, top: int = 20, language: str | None = None
    ) -> Report:
        """Write the HTML report of the last risk run (:mod:`hub.report`) in ``language`` (default
        ``[report] language``) and return its figures."""
        from hub.report import write_report

        self.store.check_ready()
        return write_report(
            self.store,
            path,
            as_of=self.as_of(as_of),
            base_currency=self.config.fx.base,
            top=top,
            bucket_bounds=self.config.risk.buckets,
            fx_rates=self.config.fx.table(),
            locale=language or self.config.report.language,
        )

    def outbox(self) -> Outbox:
        from hub.outbox import Outbox

        oc = self.config.outbox
        return Outbox(
            self.store,
            max_attempts=oc.max_attempts,
            backoff_seconds=oc.backoff_seconds,
            backoff_max_seconds=oc.backoff_max_seconds,
            lease_seconds=oc.lease_seconds,
            throttle_patience_seconds=oc.throttle_patience_seconds,
        )

    def push(self, sinks: Sequence[str] | None = None) -> PushStats:
        self.store.check_ready()
        chosen = {n: s for n, s in self.sinks().items() if sinks is None or n in sinks}
        return self.outbox().push(chosen)

    def stored_keys(self, connector: str, record_type: str, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` (external ids of ``record_type`` records from ``connector``) the store holds;
        none while the store is not set up."""
        from hub.store import schema
        from hub.store.bulk import stored_hashes

        if self.store.current_revision() is None:
            return set()
        with self.store.connect() as conn:
            return set(stored_hashes(conn, schema.RECORD_TABLES[record_type], connector, keys))

    def store_advices(self, connector: str, file: str | None, advices: list[dict[str, Any]]) -> tuple[int, int]:
        """Store the remittance advices a file of ``connector`` holds, all or none: ``(new, already
        held)`` (:func:`hub.recon.advice.store_advices`). The next reconcile reads them."""
        from hub.recon.advice import store_advices

        self.store.check_ready()
        with self.store.begin() as conn:
            return store_advices(conn, connector, file, advices)

    def book_state(self) -> BookState:
        """Receipts by state, pending limit approvals and unconverted amounts, read from the store."""
        import sqlalchemy as sa

        from hub.store import schema

        self.store.check_ready()
        r, p, e = schema.receipt, schema.credit_limit_proposal, schema.exposure
        with self.store.connect() as conn:
            receipts: dict[str, int] = dict(
                conn.execute(
                    sa.select(r.c.match_status, sa.func.count())
                    .where(r.c.direction == "credit", r.c.reversal.is_(False))
                    .group_by(r.c.match_status)
                ).all()
            )
            pending = conn.execute(sa.select(sa.func.count()).where(p.c.status == "pending")).scalar_one()
            unconverted: dict[str, Decimal] = {}
            customers = 0
            for (amounts,) in conn.execute(sa.select(e.c.unconverted).where(e.c.unconverted.is_not(None))):
                if amounts:
                    customers += 1
                    for ccy, amount in amounts.items():
                        unconverted[ccy] = unconverted.get(ccy, Decimal(0)) + Decimal(amount)
        return BookState(
            {status: int(receipts.get(status, 0)) for status in ("matched", "suggested", "open")},
            int(pending),
            unconverted,
            customers,
        )

    def quarantined(self, *, limit: int = 50, include_resolved: bool = False) -> tuple[list[dict[str, Any]], int]:
        """Records that failed mapping or validation, oldest first, and how many there are
        (:func:`hub.sync.quarantined`)."""
        from hub.sync import quarantined

        self.store.check_ready()
        with self.store.connect() as conn:
            return quarantined(conn, limit=limit, include_resolved=include_resolved)

    def close(self) -> None:
        for conn in (self._connectors or {}).values():
            conn.close()
        self.store.dispose()


def _queue_installed() -> bool:
    """Whether procrastinate (the ``postgres`` extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("procrastinate") is not None


def describe_failure(exc: BaseException) -> str | None:
    """The one line an interface shows for a failure that is not a :class:`HubError`: a database
    error described (what failed, where); ``None`` for anything else (a bug, whose traceback is what
    a developer needs)."""
    import sqlalchemy as sa

    from hub.store import describe_db_error

    if isinstance(exc, sa.exc.SQLAlchemyError):
        return describe_db_error(exc)
    return None
