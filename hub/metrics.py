"""Operations metrics read from the store, in the Prometheus text format (engine).

:class:`Metrics` is a prometheus_client collector: every scrape runs a few aggregate queries (no
counter lives in a process, so any number of workers and web servers report the same figures, and a
restart loses nothing). ``hub worker --metrics-port`` serves it with ``/healthz`` and ``/readyz``
(:func:`serve`); the web app mounts the same collector (``hub.metrics().render()``).

Figures:

- ``hub_records{connector,type}``: records stored per source and type (customers, invoices, receipts...)
- ``hub_sync_runs_total{connector,status}``: sync runs per connector by outcome
- ``hub_receipts{status}`` and ``hub_match_rate``: customer receipts matched, suggested, open
- ``hub_outbox_rows{sink,status}`` and ``hub_outbox_oldest_pending_age_seconds{sink}``
- ``hub_errors{connector,kind}``: failed sync runs, unresolved quarantined records, deliveries
  failing and dead letters
- ``hub_bureau_calls_total{bureau,kind,paid}``
- ``hub_jobs{task,status}`` and ``hub_jobs_retried`` (PostgreSQL with the job queue)
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.log import get_logger
from hub.store import Store, schema, utcnow

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.registry import Collector

log = get_logger("hub.metrics")

#: The Content-Type of :meth:`Metrics.render` (Prometheus text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

RECORD_TABLES = {
    "customer": schema.customer,
    "invoice": schema.invoice,
    "receipt": schema.receipt,
    "sales_order": schema.sales_order,
    "guarantee": schema.guarantee,
    "credit_report": schema.credit_report,
    "collection_action": schema.collection_action,
}


class Metrics:
    """The hub's figures as Prometheus metric families, read from ``store`` at each scrape."""

    #: The media type of :meth:`render` (an interface serves ``render()`` with it).
    content_type = CONTENT_TYPE

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        with self.store.connect() as conn:
            records = GaugeMetricFamily(
                "hub_records", "Records stored, per source and type.", labels=["connector", "type"]
            )
            for kind, table in RECORD_TABLES.items():
                for source, n in conn.execute(sa.select(table.c.source, sa.func.count()).group_by(table.c.source)):
                    records.add_metric([source, kind], n)
            yield records

            runs = CounterMetricFamily(
                "hub_sync_runs", "Sync runs per connector and outcome.", labels=["connector", "status"]
            )
            errors = GaugeMetricFamily(
                "hub_errors",
                "Errors per connector: failed sync runs, quarantined records, deliveries failing, dead letters.",
                labels=["connector", "kind"],
            )
            sr = schema.sync_run
            for connector, status, n in conn.execute(
                sa.select(sr.c.connector, sr.c.status, sa.func.count()).group_by(sr.c.connector, sr.c.status)
            ):
                runs.add_metric([connector, status], n)
                if status in ("failed", "interrupted"):
                    errors.add_metric([connector, f"sync_{status}"], n)
            yield runs
            q = schema.quarantine
            for connector, n in conn.execute(
                sa.select(q.c.connector, sa.func.count()).where(q.c.resolved_at.is_(None)).group_by(q.c.connector)
            ):
                errors.add_metric([connector, "quarantined"], n)

            r = schema.receipt
            by_status: dict[str, int] = dict(
                conn.execute(
                    sa.select(r.c.match_status, sa.func.count())
                    .where(r.c.direction == "credit", r.c.reversal.is_(False))
                    .group_by(r.c.match_status)
                ).all()
            )
            receipts = GaugeMetricFamily("hub_receipts", "Customer receipts by match status.", labels=["status"])
            for status in sorted({"matched", "suggested", "open", *by_status}):
                receipts.add_metric([status], int(by_status.get(status, 0)))
            yield receipts
            total = sum(int(n) for n in by_status.values())
            yield GaugeMetricFamily(
                "hub_match_rate",
                "Share of customer receipts matched (automatically or confirmed).",
                value=(int(by_status.get("matched", 0)) / total) if total else 0.0,
            )

            o = schema.outbox
            rows = GaugeMetricFamily("hub_outbox_rows", "Outbox rows per sink and status.", labels=["sink", "status"])
            for sink, status, n in conn.execute(
                sa.select(o.c.sink, o.c.status, sa.func.count()).group_by(o.c.sink, o.c.status)
            ):
                rows.add_metric([sink, status], n)
                if status in ("failed", "dead"):
                    errors.add_metric([sink, "delivery_failed" if status == "failed" else "dead_letter"], n)
            yield rows
            age = GaugeMetricFamily(
                "hub_outbox_oldest_pending_age_seconds",
                "Age of the oldest change not yet delivered, per sink (0 when none waits).",
                labels=["sink"],
            )
            now = utcnow()
            for sink, oldest in conn.execute(
                sa.select(o.c.sink, sa.func.min(o.c.created_at))
                .where(o.c.status.in_(("pending", "failed")))
                .group_by(o.c.sink)
            ):
                created = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
                age.add_metric([sink], max(0.0, (now - created).total_seconds()))
            yield age
            yield errors

            b = schema.bureau_call
            calls = CounterMetricFamily("hub_bureau_calls", "Bureau calls.", labels=["bureau", "kind", "paid"])
            for bureau, kind, paid, n in conn.execute(
                sa.select(b.c.bureau, b.c.kind, b.c.paid, sa.func.count()).group_by(b.c.bureau, b.c.kind, b.c.paid)
            ):
                calls.add_metric([bureau, kind, "true" if paid else "false"], n)
            yield calls

        yield from self._jobs()

    def _jobs(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from hub.queue.flow import has_schema, job_counts, retried_count

        if not has_schema(self.store):
            return
        with self.store.connect() as conn:
            counts = job_counts(conn)
            retried = retried_count(conn)
        jobs = GaugeMetricFamily("hub_jobs", "Queued jobs by task and status.", labels=["task", "status"])
        for (task, status), n in sorted(counts.items()):
            jobs.add_metric([task, status], n)
        yield jobs
        yield GaugeMetricFamily("hub_jobs_retried", "Jobs tried more than once.", value=retried)

    def registry(self) -> Any:
        """A prometheus_client registry holding this collector alone."""
        from prometheus_client import CollectorRegistry

        registry = CollectorRegistry(auto_describe=False)
        collector: Collector = self
        registry.register(collector)
        return registry

    def render(self) -> bytes:
        """The figures in the Prometheus text format (serve with :data:`CONTENT_TYPE`)."""
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry()))

    def scrape(self) -> tuple[int, bytes, str]:
        """What a ``/metrics`` endpoint answers: ``(status, body, content type)``; 503 saying why when
        the figures cannot be read (the database is down: the scraper records the gap)."""
        try:
            return 200, self.render(), CONTENT_TYPE
        except Exception as exc:
            log.warning("metrics.failed", error=str(exc))
            return 503, f"metrics unavailable: {type(exc).__name__}\n".encode(), "text/plain; charset=utf-8"


def serve(metrics: Metrics, port: int, *, ready: Callable[[], tuple[bool, str]]) -> WSGIServer:
    """Serve ``/metrics``, ``/healthz`` (the process answers) and ``/readyz`` (``ready()``: the
    worker runs and its database is usable) on 127.0.0.1:``port`` in a thread; returns the server
    (``shutdown()`` stops it). The standard library's WSGI server is enough for a scrape every few
    seconds."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        status, body, ctype = "404 Not Found", b"not found\n", "text/plain; charset=utf-8"
        if path == "/metrics":
            code, body, ctype = metrics.scrape()
            status = "200 OK" if code == 200 else "503 Service Unavailable"
        elif path == "/healthz":
            status, body = "200 OK", b"ok\n"
        elif path == "/readyz":
            ok, why = ready()
            status, body = ("200 OK" if ok else "503 Service Unavailable"), f"{why}\n".encode()
        start(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", port, app, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="hub metrics", daemon=True).start()
    log.info("metrics.serving", url=f"http://127.0.0.1:{server.server_port}/metrics")
    return server
