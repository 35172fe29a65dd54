"""The hub's jobs as procrastinate tasks, the app built from the store's URL, and the worker.

Each task calls the same :class:`hub.app.Hub` method as the inline runner (``hub run``) on a hub of
its own, made for the job and closed after it: connectors and plugins cannot tell which runner
called them. What is new here is only what a queue needs: the order of a run's steps
(:mod:`hub.queue.flow`), retries of transient failures with backoff, a push retried when the
outbox says its next attempt is due, and the recovery of jobs whose worker died.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from procrastinate import App, BaseRetryStrategy, JobContext, PsycopgConnector, RetryDecision, exceptions as pexc
from procrastinate.jobs import Job
from procrastinate.worker import Worker

from hub.errors import RETRY_AFTER_CEILING, HubError, causes, retry_after
from hub.log import get_logger
from hub.queue import faults
from hub.queue.flow import NAMESPACE, JobSpec, finish, next_outbox_attempt, now, run_in_progress, task_name

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.config import QueueConfig

log = get_logger("hub.queue")

#: The queue a step's jobs go to (``hub worker --queues sync,push`` takes only those).
QUEUES = {"run": "run", "sync": "sync", "identity": "reconcile", "match": "reconcile", "reconcile": "reconcile"}
QUEUES |= {"bureaus": "bureaus", "risk": "risk", "push": "push", "scheduled": "run"}


def queue_of(step: str) -> str:
    return QUEUES.get(step, "run")


def lock_of(step: str, key: str) -> str:
    """The procrastinate lock of a step's job: two jobs of one step and key never run at once."""
    return f"{NAMESPACE}:{step}" if key == "all" else f"{NAMESPACE}:{step}:{key}"


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def conninfo(store_url: str) -> str:
    """The libpq URL of the hub's PostgreSQL store (procrastinate talks to psycopg directly)."""
    import sqlalchemy as sa

    return sa.make_url(store_url).set(drivername="postgresql").render_as_string(hide_password=False)


# -- what is worth another try -----------------------------------------------------------------------


def transient(exc: BaseException) -> bool:
    """A failure that may pass: a dropped or refused database connection, a timeout, a reset, a
    source or sink that answered 5xx or 429 (their :class:`HubError` says ``retryable``), a job
    running elsewhere. The cause chain is read, so a :class:`HubError` wrapping a dropped connection
    counts too."""
    import httpx
    import psycopg
    import sqlalchemy as sa

    for current in causes(exc):
        if isinstance(current, HubError) and current.retryable:
            return True
        if isinstance(current, sa.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(
            current,
            sa.exc.OperationalError
            | sa.exc.InterfaceError
            | sa.exc.DisconnectionError
            | psycopg.OperationalError
            | httpx.TransportError
            | ConnectionError
            | TimeoutError,
        ):
            return True
    return False


class StepIncomplete(HubError):
    """A step did part of its work (a stream failed): worth another try."""

    retryable = True


@dataclass
class TransientRetry(BaseRetryStrategy):
    """Retry a transient failure (:func:`transient`) with exponential backoff, up to ``max_attempts``
    tries in all, and never sooner than a throttling source or sink asked (``Retry-After``, up to
    :data:`hub.errors.RETRY_AFTER_CEILING`); anything else fails the job at once (a bug or a refusal
    does not pass by waiting)."""

    max_attempts: int = 5
    wait: float = 2.0
    cap: float = 300.0

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        tries = job.attempts + 1
        if tries >= self.max_attempts or not transient(exception):
            return None
        seconds = min(self.cap, self.wait * 2**job.attempts)
        asked = retry_after(exception)
        if asked is not None:  # a source or sink that throttles said how long: never sooner (an hour at most)
            seconds = max(seconds, min(asked, RETRY_AFTER_CEILING))
        log.warning(
            "job.retry", job_id=job.id, task=job.task_name, attempt=tries, in_seconds=seconds, error=str(exception)
        )
        return RetryDecision(retry_at=now() + dt.timedelta(seconds=seconds))


# -- the app -----------------------------------------------------------------------------------------


@dataclass
class Steps:
    """What each step does on a hub: the same calls as ``hub run``."""

    settings: QueueConfig
    make_hub: Callable[[], Hub]
    app: App | None = None
    worker_name: str = field(default_factory=lambda: f"hub worker {socket.gethostname()}:{os.getpid()}")

    def plan(self, hub: Hub, run_id: str, options: dict[str, Any]) -> Callable[[str], Sequence[JobSpec]]:
        def jobs(step: str) -> list[JobSpec]:
            if step == "sync":
                keys = [n for n, c in hub.connectors().items() if c.source is not None]
            elif step == "push":
                keys = sorted(hub.sinks())
            elif step == "match":  # a job per partition; none when one job decides every receipt
                parts = hub.config.reconcile.partitions
                keys = [f"{part}/{parts}" for part in range(1, parts + 1)] if parts > 1 else []
            else:
                keys = ["all"]
            given = options
            if step == "reconcile":  # how many partitions were decided for it to write (0: none, it decides)
                parts = hub.config.reconcile.partitions
                given = {**options, "partitions": parts if parts > 1 else 0}
            return [JobSpec(step, k, {"run_id": run_id, "key": k, "options": given}) for k in keys]

        return jobs

    def defer(self, specs: Sequence[JobSpec]) -> None:
        assert self.app is not None
        for spec in specs:
            self.app.configure_task(
                name=task_name(spec.step), queue=queue_of(spec.step), lock=lock_of(spec.step, spec.key)
            ).defer(**spec.kwargs)
            log.info("job.deferred", run_id=spec.kwargs.get("run_id"), task=spec.step, key=spec.key)

    def start(self, hub: Hub, run_id: str, options: dict[str, Any]) -> str | None:
        return finish(hub.store, run_id, "sync", None, self.plan(hub, run_id, options), self.defer)

    def run_step(
        self, hub: Hub, step: str, key: str, options: dict[str, Any], attempt: int, run_id: str | None = None
    ) -> dict[str, Any]:
        if step == "sync":
            stats = hub.sync(key, full_refresh=bool(options.get("full_refresh")))
            errors = [f"{s.stream}: {e}" for s in stats for e in s.errors]
            if errors and attempt + 1 < self.settings.max_attempts:
                raise StepIncomplete(f"sync of {key} failed for {'; '.join(errors)}")
            return {"streams": [s.as_dict() for s in stats], "errors": errors}
        if step == "identity":
            return hub.resolve_identities().as_dict()
        if step == "match":
            part, parts = (int(n) for n in key.split("/"))
            if run_id is None:
                raise HubError("a reconcile partition is decided for a queued run's write: it needs the run's id")
            return hub.reconcile_partition(run_id, part, parts).as_dict()
        if step == "reconcile":
            parts = int(options.get("partitions") or 0)
            if run_id is not None and parts:
                return hub.reconcile_staged(run_id, parts).as_dict()
            return hub.reconcile().as_dict()
        if step == "bureaus":
            return hub.bureaus.refresh().as_dict()
        if step == "risk":
            as_of = options.get("as_of")
            return hub.risk(dt.date.fromisoformat(as_of) if as_of else None).as_dict()
        if step == "push":
            pushed = hub.push([key])
            self.push_again(hub, key)
            return pushed.as_dict()
        raise HubError(f"unknown step {step!r}")

    def push_again(self, hub: Hub, sink: str) -> None:
        """Changes for ``sink`` still wait (it failed, answered 429, timed out): a push job of that
        sink alone, when the outbox's backoff says the first of them is due (once: a queueing lock)."""
        at = next_outbox_attempt(hub.store, sink)
        if at is None or self.app is None:
            return
        at = max(at, now() + dt.timedelta(seconds=0.2))
        try:
            self.app.configure_task(
                name=task_name("push"),
                queue=queue_of("push"),
                lock=lock_of("push", sink),
                queueing_lock=f"{NAMESPACE}:push-again:{sink}",
                schedule_at=at,
            ).defer(run_id=None, key=sink, options={})
            log.info("push.again", sink=sink, at=at.isoformat())
        except pexc.AlreadyEnqueued:
            pass  # one is waiting already

    def job(
        self, context: JobContext, step: str, run_id: str | None, key: str, options: dict[str, Any]
    ) -> dict[str, Any]:
        job_id = context.job.id
        attempt = context.job.attempts
        with structlog.contextvars.bound_contextvars(run_id=run_id, job_id=job_id, task=step, key=key, attempt=attempt):
            token = faults.enter(step)
            hub = self.make_hub()
            try:
                log.info("job.started")
                result = self.run_step(hub, step, key, options, attempt, run_id)
                if run_id is not None:
                    deferred = finish(hub.store, run_id, step, job_id, self.plan(hub, run_id, options), self.defer)
                    if deferred == "done":
                        log.info("run.finished")
                log.info("job.finished")
                return result
            except Exception as exc:
                log.warning("job.failed", error=str(exc), error_type=type(exc).__name__)
                raise
            finally:
                hub.close()
                faults.leave(token)


def build_app(store_url: str, settings: QueueConfig, make_hub: Callable[[], Hub]) -> tuple[App, Steps]:
    """The procrastinate app on the hub's PostgreSQL database, with the hub's tasks and the
    schedules of ``[queue.schedule]``."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(store_url), kwargs={"application_name": "hub queue"}))
    steps = Steps(settings, make_hub, app)
    retry = TransientRetry(settings.max_attempts, settings.retry_seconds, settings.retry_max_seconds)

    def step_task(step: str) -> None:
        def run(context: JobContext, *, run_id: str | None, key: str, options: dict[str, Any]) -> dict[str, Any]:
            return steps.job(context, step, run_id, key, options)

        run.__name__ = step
        app.task(name=task_name(step), pass_context=True, retry=retry, queue=queue_of(step))(run)

    for step in ("sync", "identity", "match", "reconcile", "bureaus", "risk", "push"):
        step_task(step)

    @app.task(name=task_name("run"), pass_context=True, retry=retry, queue=queue_of("run"))
    def start_run(context: JobContext, *, run_id: str, options: dict[str, Any]) -> str | None:
        with structlog.contextvars.bound_contextvars(run_id=run_id, job_id=context.job.id, task="run"):
            hub = make_hub()
            try:
                first = steps.start(hub, run_id, options)
                log.info("run.started", first_step=first)
                return first
            finally:
                hub.close()

    @app.task(name=task_name("scheduled"), pass_context=True, retry=retry, queue=queue_of("scheduled"))
    def scheduled(context: JobContext, timestamp: int, *, what: str) -> Any:
        """A ``[queue.schedule]`` entry: a whole run (deferred as a chain), or one step for every
        connector or sink it concerns, done here."""
        if what == "run":
            hub = make_hub()
            try:
                busy = run_in_progress(hub.store)
            finally:
                hub.close()
            if busy is not None:  # runs do not pile up behind a slow one: this tick is skipped
                log.info("run.skipped", running=busy)
                return None
            run_id = new_run_id()
            with structlog.contextvars.bound_contextvars(run_id=run_id, job_id=context.job.id, task="scheduled"):
                hub = make_hub()
                try:
                    return steps.start(hub, run_id, {})
                finally:
                    hub.close()
        hub = make_hub()
        try:
            keys = [s.key for s in steps.plan(hub, "", {})(what)]
        finally:
            hub.close()
        return {k: steps.job(context, what, None, k, {}) for k in keys}

    for what, cron in settings.schedule.items():
        app.periodic(
            cron=cron,
            periodic_id=what,
            task_kwargs={"what": what},
            lock=f"{NAMESPACE}:scheduled:{what}",
            queueing_lock=f"{NAMESPACE}:scheduled:{what}",
        )(scheduled)
    return app, steps


# -- enqueueing (from the command line) ---------------------------------------------------------------


def enqueue_run(app: App, options: dict[str, Any]) -> tuple[str, int]:
    """Defer the job that starts a run; one waits at a time (a queueing lock). Returns the run's id
    and the job's."""
    run_id = new_run_id()
    with app.open():
        try:
            job_id = app.configure_task(
                name=task_name("run"), queue=queue_of("run"), queueing_lock=f"{NAMESPACE}:run"
            ).defer(run_id=run_id, options=options)
        except pexc.AlreadyEnqueued:
            raise HubError("a run is already waiting in the queue ('hub jobs' shows it); nothing was added") from None
    return run_id, job_id


# -- the worker ---------------------------------------------------------------------------------------


async def recover(app: App, stalled_after: float) -> list[int]:
    """Put back in the queue the jobs of workers that stopped beating (``kill -9``, a lost machine):
    they run again from the start, which the hub's jobs are made for."""
    jobs = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
    recovered = []
    for job in jobs:
        try:
            await app.job_manager.retry_job(job)
        except Exception as exc:  # another worker recovered it first
            log.info("job.recover_skipped", job_id=job.id, error=str(exc))
            continue
        recovered.append(job.id)
        log.warning("job.recovered", job_id=job.id, task=job.task_name, run_id=job.task_kwargs.get("run_id"))
    return [i for i in recovered if i is not None]


async def _queue_busy(app: App) -> bool:
    row = await app.connector.execute_query_one_async(
        "SELECT count(*) AS n FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
    )
    return bool(row["n"])


@dataclass
class WorkerState:
    """What ``/readyz`` reports: the worker has started and its database answered lately."""

    started: bool = False
    stopping: bool = False
    last_ok: float = 0.0


def _forget_signals_after_fork() -> None:
    """In a process forked from the worker (the sync engine reads in a forked process): default
    signal handling, and not the worker's asyncio wake-up socket. Else the SIGTERM that ends such a
    child when its read is done is written to the socket it shares with the worker, and the worker
    takes it for its own and stops."""
    import signal

    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


async def work(
    app: App,
    steps: Steps,
    *,
    concurrency: int,
    queues: Sequence[str] | None,
    until_idle: bool = False,
    state: WorkerState | None = None,
) -> None:
    """Run a worker until SIGTERM/SIGINT (no new job is taken, the running ones finish; a second
    signal ends the process, and its jobs are recovered as after a crash), or with ``until_idle``
    until no job is queued or running."""
    settings = steps.settings
    state = state or WorkerState()
    os.register_at_fork(after_in_child=_forget_signals_after_fork)
    loop = asyncio.get_running_loop()
    async with app.open_async():
        await recover(app, settings.stalled_after_seconds)
        worker = Worker(
            app=app,
            queues=list(queues) if queues else None,
            name=steps.worker_name,
            concurrency=concurrency,
            wait=True,
            fetch_job_polling_interval=min(5.0, settings.heartbeat_seconds),
            shutdown_graceful_timeout=None,  # the hub's jobs are synchronous: they finish
            update_heartbeat_interval=settings.heartbeat_seconds,
            stalled_worker_timeout=settings.stalled_after_seconds,
        )
        state.started = True
        state.last_ok = loop.time()

        async def watch() -> None:
            """Put dead workers' jobs back (every heartbeat; every second when waiting for idle)."""
            idle_checks = 0
            every = min(1.0, settings.heartbeat_seconds) if until_idle else settings.heartbeat_seconds
            while True:
                await asyncio.sleep(every)
                try:
                    await recover(app, settings.stalled_after_seconds)
                    busy = await _queue_busy(app) if until_idle else True
                    state.last_ok = loop.time()
                except Exception as exc:
                    log.warning("worker.check_failed", error=str(exc))
                    continue
                idle_checks = 0 if busy or worker._running_jobs else idle_checks + 1
                if until_idle and idle_checks >= 2:
                    log.info("worker.idle")
                    worker.stop()  # type: ignore[no-untyped-call]
                    return

        watcher = asyncio.create_task(watch())
        try:
            log.info("worker.started", worker=steps.worker_name, concurrency=concurrency, queues=list(queues or []))
            await worker.run()  # type: ignore[no-untyped-call]
        finally:
            state.stopping = True
            watcher.cancel()
            log.info("worker.stopped", worker=steps.worker_name)
