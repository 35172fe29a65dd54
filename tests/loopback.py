"""Small HTTP servers on loopback for tests that run the real ``hub`` command in a subprocess
(respx cannot reach into another process): a webhook receiver that counts what it is sent, and a
server that echoes the request's Authorization header back in its error body."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = ROOT / "examples" / "hub-connector-example"


class Receiver:
    """What a webhook receiver was sent: every event id, as often as it came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: Counter[str] = Counter()
        self.order: list[str] = []
        self.requests = 0
        self.url = ""


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A receiver for the example webhook sink: answers every change as delivered."""
    received = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ids = [c["event_id"] for c in body["changes"]]
            with received.lock:
                received.requests += 1
                received.events.update(ids)
                received.order.extend(ids)
            self._answer(200, {"results": [{"event_id": i, "ok": True} for i in ids]})

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Handler) as url:
        received.url = url
        yield received


@contextmanager
def echoing_server() -> Iterator[str]:
    """A server that refuses every request, quoting its Authorization header (some do)."""

    class Handler(BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if self.path.endswith("/oauth2/token"):  # an OAuth server hands out a token at run time
                body = {
                    "access_token": "00Druntime!ARtokenOfThisRun.9f8e7d6c5b4a",
                    "instance_url": self._base(),
                    "token_type": "Bearer",
                    "issued_at": "1",
                    "signature": "x",
                }
                data = json.dumps(body).encode()
                self.send_response(200)
            else:
                data = json.dumps(
                    {
                        "message": f"Authentication failed for Authorization: {self.headers.get('Authorization')}",
                        "status": "error",
                        "category": "INVALID_AUTHENTICATION",
                    }
                ).encode()
                self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _base(self) -> str:
            host, port = self.server.server_address[:2]
            return f"http://{host}:{port}"

        do_GET = do_POST = do_PATCH = _refuse

        def log_message(self, *args: Any) -> None:
            pass

    with _serving(Handler) as url:
        yield url


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def example_plugin_path(folder: Path) -> str:
    """A PYTHONPATH under which the example webhook connector is an installed plugin: its sources
    and a dist-info that declares its entry point (what ``pip install`` would write)."""
    info = folder / "hub_connector_example-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-connector-example\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[hub]\nexample-webhook = hub_connector_example\n")
    return f"{EXAMPLE_DIR}:{folder}"
