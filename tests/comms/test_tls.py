"""Collection emails over an encrypted connection: STARTTLS with a login against aiosmtpd on loopback,
the server's certificate checked against the CA named in ``[comms.smtp] ca_file``, implicit TLS, and
no login over a clear connection to another host."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from hub.config import load_config

from .conftest import Inbox, at, free_port, make_hub

PASSWORD_ENV = "HUB_TEST_SMTP_PASSWORD"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made by the openssl command, as an operator would)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class Logins:
    """aiosmtpd authenticator: one user, the password from the test; every attempt is kept."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.seen: list[tuple[str, bool]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"ar-bot", self.password.encode())
        self.seen.append((mechanism, bool(session.ssl)))
        return AuthResult(success=ok)


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[int, Inbox, Logins]]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    inbox, logins, port = Inbox(), Logins("s3cret-for-test"), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=logins, auth_required=True,
    )  # fmt: skip
    controller.start()
    yield port, inbox, logins
    controller.stop()


def tls_settings(cert: Path, *, ca: bool = True) -> str:
    return f'starttls = true\nusername = "ar-bot"\npassword = {{ env = "{PASSWORD_ENV}" }}\n' + (
        f'ca_file = "{cert}"\n' if ca else ""
    )


def make_tls_hub(tmp_path: Path, db_url: str, port: int, smtp_extra: str) -> Any:
    hub = make_hub(tmp_path, db_url, port)
    text = (tmp_path / "hub.toml").read_text(encoding="utf-8") + smtp_extra
    (tmp_path / "hub.toml").write_text(text, encoding="utf-8")
    hub.close()
    from hub.app import Hub

    return Hub(load_config(tmp_path / "hub.toml"), lock_wait=30)


def test_starttls_with_a_login_delivers_and_the_password_crosses_only_encrypted(
    tmp_path: Path, db_url: str, tls_server: tuple[int, Inbox, Logins], certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    port, inbox, logins = tls_server
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-for-test")
    hub = make_tls_hub(tmp_path, db_url, port, tls_settings(certificate[0]))
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    row = hub.comms.send("C1", actor="ann", step="friendly reminder", now=at(15))
    stats = hub.comms.deliver(now=at(15))
    assert stats.sent == 1, stats.as_dict()
    assert [str(m["Message-ID"]).strip() for m in inbox.messages] == [row["message_id"]]
    assert logins.seen and all(encrypted for _mechanism, encrypted in logins.seen)


def test_a_certificate_no_trusted_authority_signed_is_refused_and_the_email_waits(
    tmp_path: Path, db_url: str, tls_server: tuple[int, Inbox, Logins], certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    port, inbox, logins = tls_server
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-for-test")
    hub = make_tls_hub(tmp_path, db_url, port, tls_settings(certificate[0], ca=False))
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    hub.comms.send("C1", actor="ann", now=at(15))
    stats = hub.comms.deliver(now=at(15))
    assert stats.sent == 0 and inbox.messages == [] and logins.seen == []
    assert "CERTIFICATE_VERIFY_FAILED" in " ".join(stats.errors)
    (message,) = hub.comms.messages(customer_id="C1")
    assert message["status"] in {"pending", "failed"}


def test_a_wrong_password_is_an_error_and_no_email_is_sent(
    tmp_path: Path, db_url: str, tls_server: tuple[int, Inbox, Logins], certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    port, inbox, _logins = tls_server
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    hub = make_tls_hub(tmp_path, db_url, port, tls_settings(certificate[0]))
    hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
    hub.comms.send("C1", actor="ann", now=at(15))
    stats = hub.comms.deliver(now=at(15))
    assert stats.sent == 0 and inbox.messages == [] and stats.errors
    assert "not-the-password" not in " ".join(stats.errors)


def test_implicit_tls_delivers(tmp_path: Path, db_url: str, certificate: tuple[Path, Path]) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        hub = make_tls_hub(tmp_path, db_url, port, f'tls = true\nca_file = "{certificate[0]}"\n')
        hub.comms.contact("C1", actor="ann", email="ap@buyer.example", time_zone="Asia/Shanghai")
        hub.comms.send("C1", actor="ann", now=at(15))
        assert hub.comms.deliver(now=at(15)).sent == 1 and len(inbox.messages) == 1
    finally:
        controller.stop()


def test_a_login_over_a_clear_connection_to_another_host_is_refused_when_read(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(
        '[comms.smtp]\nhost = "smtp.example.com"\nport = 25\nusername = "ar-bot"\n', encoding="utf-8"
    )
    with pytest.raises(Exception, match="would cross the network in clear"):
        load_config(tmp_path / "hub.toml")
