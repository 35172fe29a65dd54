"""``hub demo`` says how to open its workspace in the console, and the commands it prints work."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from ..conftest import run_hub


def test_a_kept_demo_prints_the_commands_that_open_it_in_the_console(tmp_path: Path) -> None:
    shown = " ".join(run_hub("demo", "--workspace", str(tmp_path / "demo"), cwd=tmp_path).stdout.split())
    assert "users add admin --role admin" in shown and "serve" in shown and "http://127.0.0.1:8000/" in shown
    summary = json.loads(run_hub("--json", "demo", "--workspace", str(tmp_path / "demo"), cwd=tmp_path).stdout)
    add_user, serve = summary["console"]
    assert serve == f"hub --config {tmp_path / 'demo' / 'hub.toml'} serve"
    args = [*shlex.split(add_user)[1:], "--password-stdin"]
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        input="a long demo password\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    config = str(tmp_path / "demo" / "hub.toml")
    users = json.loads(run_hub("--json", "--config", config, "users", "list", cwd=tmp_path).stdout)["users"]
    assert [(u["name"], u["roles"]) for u in users] == [("admin", ["admin"])]


def test_a_temporary_demo_says_the_console_needs_a_kept_workspace(tmp_path: Path) -> None:
    shown = " ".join(run_hub("demo", cwd=tmp_path).stdout.split())
    assert "temporary" in shown and "--workspace" in shown
    summary = json.loads(run_hub("--json", "demo", cwd=tmp_path).stdout)
    assert summary["console"] is None
