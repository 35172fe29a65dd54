"""Fixtures of the communications tests: a hub on SQLite and PostgreSQL with two customers and their
invoices, and a real SMTP server (aiosmtpd) on loopback that keeps what it receives, parsed."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from hub.app import Hub
from hub.config import load_config
from tests import rows

# the web tests' sample book, app and client (one book per session, a private copy per test)
from ..web.conftest import app, client, sample_book, web_hub  # noqa: F401

#: Oldest invoice of C1 falls due on this day; the journey's days count from it.
D = dt.date(2026, 3, 2)  # a Monday


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """aiosmtpd handler: every message received, parsed with email.parser; ``reject`` answers 550."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.reject: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.reject is not None:
            return self.reject
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
        return "250 Message accepted"

    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]).strip() for m in self.messages]


class Smtp:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp(free_port())
    server.start()
    yield server
    server.stop()


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def make_hub(tmp_path: Path, db_url: str, port: int, extra: str = "") -> Hub:
    (tmp_path / "hub.toml").write_text(
        f'[database]\nurl = "{db_url}"\n'
        "[comms]\n"
        'from_address = "ar@seller.example"\nfrom_name = "Seller AR"\ncompany = "Seller GmbH"\n'
        'reply_to = "collections@seller.example"\nbackoff_seconds = 60.0\n'
        f"{extra}\n"
        f'[comms.smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout_seconds = 5\n',
        encoding="utf-8",
    )
    hub = Hub(load_config(tmp_path / "hub.toml"), lock_wait=30)
    hub.init()
    with hub.store.begin() as conn:
        add_customer(conn, "C1", "C1", "Shanghai Example Trading Co. 上海示例贸易有限公司")
        add_customer(conn, "C2", "C2", "Alpha GmbH")
        add_invoice(conn, "INV-1", "C1", D, "1200.00", issued=D - dt.timedelta(days=30))
        add_invoice(conn, "INV-2", "C1", D + dt.timedelta(days=10), "800.00", issued=D - dt.timedelta(days=20))
        add_invoice(conn, "INV-9", "C2", D, "50.00", issued=D - dt.timedelta(days=30))
    return hub


def add_customer(conn: Any, ext: str, canonical: str, name: str) -> None:
    rows.customer(conn, ext, canonical, name=name)


def add_invoice(conn: Any, number: str, customer: str, due: dt.date, amount: str, *, issued: dt.date) -> None:
    rows.invoice(conn, number, customer, due, amount, issued=issued)


def at(day: int, hour: int = 10, tz: str = "Asia/Shanghai") -> dt.datetime:
    """Day ``day`` after D at ``hour`` o'clock in ``tz``, as UTC."""
    from zoneinfo import ZoneInfo

    local = dt.datetime.combine(D + dt.timedelta(days=day), dt.time(hour), tzinfo=ZoneInfo(tz))
    return local.astimezone(dt.UTC)
