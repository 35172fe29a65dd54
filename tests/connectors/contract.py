"""The connector contract: the behaviour every connector's source and sink must show, as one test suite.

Each connector runs the same tests against its own server (a real one, or a respx fake shaped like
the vendor's documentation): ``check()`` passes; a full read yields the expected records; a read from
the saved cursor yields only what changed; bad credentials fail with a :class:`~hub.errors.SourceError`
or :class:`~hub.errors.SinkError` naming the system (never a bare traceback, never the secret); a
5xx followed by success is retried; a 429 with ``Retry-After`` is waited out (through the connector's
injected ``sleep``, so nobody really waits); a sink batch with a refused record returns one
:class:`~hub.connector.DeliveryResult` per event; and a sink whose server is down raises SinkError.

How a connector adopts it (Tryton, BottleCRM, Odoo, ...)
---------------------------------------------------------
Subclass :class:`ConnectorContract` in the connector's test module (pytest collects it there, since
the class name starts with ``Test``) and provide three fixtures::

    from tests.connectors.contract import ConnectorContract, ContractServer, FaultInjector

    class TestTrytonContract(ConnectorContract):
        @pytest.fixture
        def server(self, tryton_server) -> ContractServer:
            return TrytonContractServer(tryton_server)      # implements the hooks below

        @pytest.fixture
        def connector(self, server, sleeps) -> Connector:
            # Build the connector as the hub would, but let it sleep through sleeps.append
            # (e.g. hub.http.HttpClient(..., sleep=sleeps.append)) so waits are recorded, not slept.
            return tryton.create("erp", config_for(server), sleep=sleeps.append)

        @pytest.fixture
        def bad_connector(self, server, sleeps) -> Connector:
            return tryton.create("erp", config_for(server, password="wrong"), sleep=sleeps.append)

The ``server`` object implements :class:`ContractServer`:

- ``system``: the name error messages must contain (``"Tryton"``); ``secrets``: strings that must
  never appear in an error message (passwords, tokens).
- ``stream``: the stream the read tests use (``"customers"``); ``record_id(raw)``: a raw record's id.
- ``full_ids()``: the ids a full read yields; ``change()``: change (or add) records on the server
  after a full read and return the ids the next incremental read must yield.
- ``fail_next(status, times)``: answer the next ``times`` data requests with ``status``;
  ``throttle_next(seconds)``: answer the next data request with the system's throttling response
  asking to wait ``seconds`` (429 + ``Retry-After`` unless the vendor documents something else);
  ``go_down()``: answer every request with 503 from now on.
- ``sink_events()``: events for the sink and the ids of those the server will refuse (the others
  must be delivered); return ``None`` for a connector without a sink (the sink tests then skip).

For a **real server**, :class:`FaultInjector` gives ``fail_next``/``throttle_next``/``go_down``
without touching the server: a respx router that passes every request through to it except the
armed faults (start it in the ``server`` fixture, stop it after). For a **respx fake**, keep a
:class:`FaultQueue` and let the fake's data routes answer from it first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

import httpx
import pytest
import respx

from hub.connector import Connector, JSONValue, Source, StreamSpec
from hub.errors import SinkError, SourceError
from hub.model import OutboxEvent


class ContractServer(Protocol):
    system: str
    secrets: tuple[str, ...]
    stream: str

    def record_id(self, raw: Any) -> str: ...
    def full_ids(self) -> set[str]: ...
    def change(self) -> set[str]: ...
    def fail_next(self, status: int = 503, times: int = 1) -> None: ...
    def throttle_next(self, seconds: int) -> None: ...
    def go_down(self) -> None: ...
    def sink_events(self) -> tuple[list[OutboxEvent], set[str]] | None: ...


class FaultQueue:
    """Armed failures for a respx fake: its data routes answer ``take()`` first when it is not None."""

    def __init__(self) -> None:
        self.pending: list[httpx.Response] = []
        self.down = False
        self.served = 0

    def push(self, response: httpx.Response, times: int = 1) -> None:
        self.pending.extend([response] * times)

    def take(self) -> httpx.Response | None:
        if self.down:
            self.served += 1
            return httpx.Response(503, text="Service Unavailable")
        if self.pending:
            self.served += 1
            return self.pending.pop(0)
        return None


class FaultInjector:
    """Passes requests through to a real server at ``base_url``, except the faults armed on it.

    ::

        injector = FaultInjector("http://127.0.0.1:8000")
        with injector:
            injector.fail_next(503)      # the next request to the server answers 503
            ...                          # everything else reaches the real server
    """

    def __init__(self, base_url: str) -> None:
        self.faults = FaultQueue()
        self.router = respx.mock(assert_all_called=False, assert_all_mocked=False)
        self.router.route(url__startswith=base_url).mock(side_effect=lambda request: self.faults.take())
        self.router.route().pass_through()

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        self.faults.push(httpx.Response(status, text="injected failure"), times)

    def throttle_next(self, seconds: int) -> None:
        self.faults.push(httpx.Response(429, headers={"Retry-After": str(seconds)}, text="slow down"))

    def go_down(self) -> None:
        self.faults.down = True

    def __enter__(self) -> FaultInjector:
        self.router.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.router.stop()


def stream_spec(source: Source, name: str) -> StreamSpec:
    for spec in source.streams():
        if spec.name == name:
            return spec
    raise AssertionError(f"the source offers no stream {name!r}: {[s.name for s in source.streams()]}")


def read_all(source: Source, stream: str, cursor: JSONValue | None = None) -> tuple[list[Any], JSONValue | None]:
    """Every record of a read and the cursor of its last page (checked to survive a JSON round trip)."""
    records: list[Any] = []
    last = cursor
    for page in source.read(stream_spec(source, stream), cursor):
        assert json.loads(json.dumps(page.cursor)) == page.cursor, "cursors are stored as JSON"
        columns = page.columns
        records.extend(page.records if columns is None else [dict(zip(columns, r, strict=False)) for r in page.records])
        last = page.cursor
    return records, last


def _assert_clear(exc: BaseException, server: ContractServer) -> None:
    text = str(exc)
    assert server.system.lower() in text.lower(), f"the error does not name {server.system}: {text}"
    assert "Traceback" not in text
    for secret in server.secrets:
        assert secret not in text, "a secret leaked into the error message"


class ConnectorContract:
    """Base class of every connector's contract tests; see the module docstring."""

    @pytest.fixture
    def sleeps(self) -> list[float]:
        """Every wait the connector asked for, in seconds (pass ``sleeps.append`` as its sleep)."""
        return []

    @pytest.fixture
    def server(self) -> Iterator[ContractServer]:
        raise NotImplementedError("the connector's test class provides the server fixture")

    @pytest.fixture
    def connector(self, server: ContractServer, sleeps: list[float]) -> Iterator[Connector]:
        raise NotImplementedError("the connector's test class provides the connector fixture")

    @pytest.fixture
    def bad_connector(self, server: ContractServer, sleeps: list[float]) -> Iterator[Connector]:
        raise NotImplementedError("the connector's test class provides the bad_connector fixture")

    def _ids(self, server: ContractServer, records: list[Any]) -> list[str]:
        return [server.record_id(r) for r in records]

    # -- source -----------------------------------------------------------------------------------------

    def test_check_passes_against_a_healthy_server(self, connector: Connector) -> None:
        assert connector.source is not None or connector.sink is not None
        if connector.source is not None:
            connector.source.check()
        if connector.sink is not None:
            connector.sink.check()

    def test_full_read_yields_every_record_once(self, connector: Connector, server: ContractServer) -> None:
        assert connector.source is not None
        records, cursor = read_all(connector.source, server.stream)
        ids = self._ids(server, records)
        assert sorted(ids) == sorted(server.full_ids())
        assert cursor is not None

    def test_read_from_the_saved_cursor_yields_only_the_changes(
        self, connector: Connector, server: ContractServer
    ) -> None:
        assert connector.source is not None
        _, cursor = read_all(connector.source, server.stream)
        changed = server.change()
        assert changed, "change() must change something"
        records, cursor = read_all(connector.source, server.stream, cursor)
        assert sorted(self._ids(server, records)) == sorted(changed)
        again, _ = read_all(connector.source, server.stream, cursor)
        assert again == [], "nothing changed since the last cursor"

    def test_bad_credentials_fail_the_source_with_an_error_naming_the_system(
        self, bad_connector: Connector, server: ContractServer
    ) -> None:
        assert bad_connector.source is not None
        with pytest.raises(SourceError) as caught:
            bad_connector.source.check()
        _assert_clear(caught.value, server)
        with pytest.raises(SourceError) as caught:
            read_all(bad_connector.source, server.stream)
        _assert_clear(caught.value, server)

    def test_a_server_error_then_success_is_retried(
        self, connector: Connector, server: ContractServer, sleeps: list[float]
    ) -> None:
        assert connector.source is not None
        server.fail_next(503, times=2)
        records, _ = read_all(connector.source, server.stream)
        assert sorted(self._ids(server, records)) == sorted(server.full_ids())
        assert len(sleeps) >= 2, "each retry waits (backoff)"

    def test_a_429_with_retry_after_is_waited_out(
        self, connector: Connector, server: ContractServer, sleeps: list[float]
    ) -> None:
        assert connector.source is not None
        server.throttle_next(7)
        records, _ = read_all(connector.source, server.stream)
        assert sorted(self._ids(server, records)) == sorted(server.full_ids())
        assert any(abs(s - 7) < 1e-6 for s in sleeps), f"Retry-After: 7 was not honoured: {sleeps}"

    def test_a_server_that_stays_down_fails_the_read_clearly(
        self, connector: Connector, server: ContractServer
    ) -> None:
        assert connector.source is not None
        server.go_down()
        with pytest.raises(SourceError) as caught:
            read_all(connector.source, server.stream)
        _assert_clear(caught.value, server)

    # -- sink ---------------------------------------------------------------------------------------------

    def test_a_partial_failure_gives_one_result_per_event(self, connector: Connector, server: ContractServer) -> None:
        batch = server.sink_events()
        if connector.sink is None or batch is None:
            pytest.skip("this connector has no sink")
        events, refused = batch
        assert refused and len(refused) < len({e.event_id for e in events}), "mix accepted and refused events"
        results = list(connector.sink.deliver(events))
        assert [r.event_id for r in results] == [e.event_id for e in events]
        for r in results:
            if r.event_id in refused:
                assert not r.ok and r.error, r
            else:
                assert r.ok, r

    def test_a_sink_whose_server_is_down_raises_sink_error(self, connector: Connector, server: ContractServer) -> None:
        batch = server.sink_events()
        if connector.sink is None or batch is None:
            pytest.skip("this connector has no sink")
        server.go_down()
        with pytest.raises(SinkError) as caught:
            connector.sink.deliver(batch[0])
        _assert_clear(caught.value, server)

    def test_bad_credentials_fail_the_sink_with_sink_error(
        self, bad_connector: Connector, server: ContractServer
    ) -> None:
        batch = server.sink_events()
        if bad_connector.sink is None or batch is None:
            pytest.skip("this connector has no sink")
        with pytest.raises(SinkError) as caught:
            bad_connector.sink.deliver(batch[0])
        _assert_clear(caught.value, server)
