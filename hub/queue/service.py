"""``hub.queue``: the job queue as a service (enqueue a run, list jobs, run a worker).

The command line (``hub run --queue``, ``hub worker``, ``hub jobs``) and the web console reach the
queue only through this class, as they reach everything else through :mod:`hub.services`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hub.errors import HubError

if TYPE_CHECKING:
    from procrastinate import App

    from hub.app import Hub
    from hub.queue.tasks import Steps, WorkerState


class Queue:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def _app(self) -> tuple[App, Steps]:
        import importlib.util

        from hub.queue.flow import check_schema, require_postgres

        require_postgres(self.hub.store)
        if importlib.util.find_spec("procrastinate") is None:
            raise HubError("the job queue needs procrastinate: pip install 'receivables-hub[postgres]'")
        check_schema(self.hub.store)
        from hub.queue.tasks import build_app

        config, plugins, factory = self.hub.config, self.hub.plugins, type(self.hub)

        def make_hub() -> Hub:
            return factory(config, plugins, lock_wait=self.hub.lock_wait)

        return build_app(self.hub.store.url, config.queue, make_hub)

    def enqueue_run(self, *, as_of: dt.date | None = None, full_refresh: bool = False) -> dict[str, Any]:
        """Queue a run (sync, identity, reconcile, bureaus, risk, push, in that order); the workers do it."""
        from hub.queue.tasks import enqueue_run

        app, _ = self._app()
        options = {"as_of": as_of.isoformat() if as_of else None, "full_refresh": full_refresh}
        run_id, job_id = enqueue_run(app, options)
        return {"run_id": run_id, "job_id": job_id}

    def jobs(
        self, *, status: Sequence[str] = (), retried: bool = False, run_id: str | None = None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The newest jobs (filtered) and the count of all jobs by status (and retried)."""
        from hub.queue.flow import STATUSES, list_jobs

        unknown = sorted(set(status) - set(STATUSES))
        if unknown:
            raise HubError(f"unknown job status {', '.join(unknown)}; use {', '.join(STATUSES)}")
        return list_jobs(self.hub.store, status=status, retried=retried, run_id=run_id, limit=limit)

    def work(
        self,
        *,
        concurrency: int | None = None,
        queues: Sequence[str] = (),
        until_idle: bool = False,
        metrics_port: int | None = None,
    ) -> None:
        """Run a worker in this process until SIGTERM (or, ``until_idle``, until the queue is empty);
        ``metrics_port``: serve /metrics, /healthz and /readyz on 127.0.0.1."""
        from hub.queue import faults
        from hub.queue.tasks import WorkerState, work

        faults.install()
        app, steps = self._app()
        state = WorkerState()
        server = self._serve_metrics(metrics_port, state) if metrics_port is not None else None
        try:
            asyncio.run(
                work(
                    app,
                    steps,
                    concurrency=concurrency or self.hub.config.queue.concurrency,
                    queues=list(queues) or self.hub.config.queue.queues,
                    until_idle=until_idle,
                    state=state,
                )
            )
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()

    def _serve_metrics(self, port: int, state: WorkerState) -> Any:
        from hub.metrics import serve

        def ready() -> tuple[bool, str]:
            if not state.started or state.stopping:
                return False, "stopping" if state.stopping else "starting"
            try:
                self.hub.store.check_ready()
            except HubError as exc:
                return False, str(exc)
            return True, "ready"

        return serve(self.hub.metrics(), port, ready=ready)
