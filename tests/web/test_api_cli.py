"""``hub users`` and ``hub tokens`` as an administrator uses them, and what the API then accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from hub.app import Hub
from tests.conftest import run_hub


def _hub(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if stdin is None:
        return run_hub(*args, cwd=cwd)
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=True
    )


def test_the_first_admin_and_a_token_made_on_the_command_line(web_hub: Hub, client: TestClient) -> None:
    folder = web_hub.config.base_dir
    _hub("users", "add", "admin", "--role", "admin", "--password-stdin", cwd=folder, stdin="a long passphrase\n")
    users = json.loads(_hub("--json", "users", "list", cwd=folder).stdout)["users"]
    assert next(u for u in users if u["name"] == "admin")["roles"] == ["admin"]
    made = json.loads(
        _hub("--json", "tokens", "create", "erp-sync", "--scope", "viewer", "--by", "admin", cwd=folder).stdout
    )
    token = made["token"]
    assert token.startswith("hub_")
    listed = _hub("tokens", "list", cwd=folder).stdout
    assert "erp-sync" in listed and token not in listed
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["roles"] == ["viewer"]
    _hub("tokens", "revoke", "erp-sync", cwd=folder)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_short_password_or_an_unknown_role_is_refused(web_hub: Hub) -> None:
    folder = web_hub.config.base_dir
    short = subprocess.run(
        [sys.executable, "-m", "hub.cli", "users", "add", "bob", "--role", "finance", "--password-stdin"],
        cwd=folder,
        input="short\n",
        capture_output=True,
        text=True,
    )
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    role = subprocess.run(
        [sys.executable, "-m", "hub.cli", "users", "add", "bob", "--role", "boss", "--password-stdin"],
        cwd=folder,
        input="a long passphrase\n",
        capture_output=True,
        text=True,
    )
    assert role.returncode == 1 and "unknown role boss" in role.stderr
