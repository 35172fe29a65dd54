"""A real BottleCRM (``django-crm`` 1.35.0) server for the connector tests.

- :func:`ensure_venv` builds a Python 3.12 virtualenv with ``django-crm==1.35.0`` and gunicorn once,
  under ``~/.cache/receivables-hub/bottlecrm-1.35.0-py3.12/`` (rebuilt when missing or unfinished).
- :class:`BottleCrmServer` creates a fresh SQLite database in a clean temporary folder (BottleCRM
  reads any ``.env`` in its working directory): a copy of an empty database made once by
  ``migrate --run-syncdb`` and cached beside the venv; then one
  ``django-admin shell -c`` that creates a user, an organisation per test area, an ADMIN profile
  in each and a personal access token for each; then runs ``gunicorn crm.wsgi:application`` on a
  free loopback port. ``stop()`` and ``start()`` take the server down and bring it back on the same
  port and database (for "the sink is down" tests).
"""

from __future__ import annotations

import fcntl
import glob
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

VERSION = "1.35.0"
CACHE_ROOT = Path(os.environ.get("HUB_TEST_CACHE", Path.home() / ".cache" / "receivables-hub"))
VENV = CACHE_ROOT / f"bottlecrm-{VERSION}-py3.12"
READY = VENV / ".complete"
TEMPLATE_DB = VENV / "template.sqlite3"

SETTINGS = '''\
"""BottleCRM settings for the hub's tests: SQLite, Celery in-process, tables made by syncdb."""
import os

from crm.settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["HUB_BOTTLECRM_DB"]}}
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class _NoMigrations:
    """Every app unmigrated: ``migrate --run-syncdb`` creates the tables from the models."""

    def __contains__(self, item):
        return True

    def __getitem__(self, item):
        return None


MIGRATION_MODULES = _NoMigrations()
'''

SEED = """
import json
from common.models import User, Org, Profile, PersonalAccessToken
tokens = {}
user = User.objects.create(email="hub@example.test", name="Hub Tester")
for area in AREAS:
    org = Org.objects.create(name=f"Hub test {area}")
    profile = Profile.objects.create(user=user, org=org, role="ADMIN", is_organization_admin=True)
    raw, _ = PersonalAccessToken.generate(profile, f"hub {area}")
    tokens[area] = raw
print("TOKENS=" + json.dumps(tokens))
"""


class BottleCrmUnavailable(RuntimeError):
    """No Python 3.12 on this machine, or the package would not install: the tests fail with this."""


def find_python312() -> str | None:
    candidates = sorted(glob.glob(str(Path.home() / ".pyenv" / "versions" / "3.12*" / "bin" / "python")))
    candidates += [p for p in (shutil.which("python3.12"),) if p]
    for candidate in candidates:
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True)
        if probe.returncode == 0 and probe.stdout.strip() == b"(3, 12)":
            return candidate
    return None


def ensure_venv() -> Path:
    """The cached virtualenv (built on first use; a lock keeps parallel sessions from building twice)."""
    if READY.exists():
        return VENV
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(CACHE_ROOT / f"bottlecrm-{VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if READY.exists():
            return VENV
        python = find_python312()
        if python is None:
            raise BottleCrmUnavailable(
                "BottleCRM (django-crm 1.35.0) needs Python 3.12: neither ~/.pyenv/versions/3.12*/bin/python "
                "nor python3.12 on PATH was found"
            )
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(VENV)], check=True, capture_output=True)
        pip = subprocess.run(
            [
                str(VENV / "bin" / "pip"),
                "install",
                "--disable-pip-version-check",
                "-q",
                f"django-crm=={VERSION}",
                "gunicorn",
            ],
            capture_output=True,
            text=True,
        )
        if pip.returncode != 0:
            raise BottleCrmUnavailable(f"pip install django-crm=={VERSION} gunicorn failed:\n{pip.stderr[-3000:]}")
        READY.write_text(VERSION)
    return VENV


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BottleCrmServer:
    """One BottleCRM server with a fresh database in ``folder``; ``tokens[area]`` is an ADMIN's PAT."""

    def __init__(self, folder: Path, areas: list[str]) -> None:
        self.venv = ensure_venv()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "hub_bottlecrm_settings.py").write_text(SETTINGS, encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.folder),
            "PYTHONPATH": str(self.folder),
            "DJANGO_SETTINGS_MODULE": "hub_bottlecrm_settings",
            "HUB_BOTTLECRM_DB": str(self.folder / "crm.sqlite3"),
            "SECRET_KEY": "hub-tests-" + "s3cr3t-" * 6,
            "ENV_TYPE": "dev",
            "DEBUG": "False",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self._fresh_database()
        seeded = self._admin("shell", "-c", f"AREAS = {areas!r}\n{SEED}")
        line = next(x for x in seeded.splitlines() if x.startswith("TOKENS="))
        self.tokens: dict[str, str] = json.loads(line[len("TOKENS=") :])
        self.start()

    def _fresh_database(self) -> None:
        """A copy of the cached empty, migrated database (made once per venv: ``migrate`` takes 10-20 s)."""
        database = Path(self.env["HUB_BOTTLECRM_DB"])
        if not TEMPLATE_DB.exists():
            with open(CACHE_ROOT / f"bottlecrm-{VERSION}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not TEMPLATE_DB.exists():
                    self._admin("migrate", "--run-syncdb", "--noinput")
                    partial = TEMPLATE_DB.with_suffix(".partial")
                    shutil.copyfile(database, partial)
                    partial.rename(TEMPLATE_DB)
                    return
        shutil.copyfile(TEMPLATE_DB, database)

    def _admin(self, *args: str) -> str:
        proc = subprocess.run(
            [str(self.venv / "bin" / "django-admin"), *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"django-admin {args[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        return proc.stdout

    def start(self) -> None:
        log = open(self.folder / "gunicorn.log", "ab")  # noqa: SIM115 - kept open while the server runs
        self.proc = subprocess.Popen(
            [
                str(self.venv / "bin" / "gunicorn"),
                "crm.wsgi:application",
                "--no-control-socket",
                "-b",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--timeout",
                "120",
            ],
            cwd=self.folder,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        token = next(iter(self.tokens.values()))
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited {self.proc.returncode}: {self.log_tail()}")
            try:
                r = httpx.get(f"{self.url}/api/tags/", headers={"Authorization": f"Bearer {token}"}, timeout=5)
                if r.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"BottleCRM did not answer on {self.url} within 60 s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def log_tail(self) -> str:
        path = self.folder / "gunicorn.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def client(self, area: str) -> CrmClient:
        return CrmClient(self.url, self.tokens[area])


class CrmClient:
    """What a person does in BottleCRM, over its API: create accounts, log calls, write notes."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def _ok(self, response: httpx.Response) -> Any:
        assert response.is_success, (
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}"
        )
        return response.json()

    def create_account(self, name: str, **fields: Any) -> str:
        return str(self._ok(self.http.post("/api/accounts/", json={"name": name, **fields}))["id"])

    def update_account(self, account_id: str, **fields: Any) -> None:
        self._ok(self.http.patch(f"/api/accounts/{account_id}/", json=fields))

    def create_field(self, key: str, field_type: str = "text", **extra: Any) -> dict[str, Any]:
        body = {"target_model": "Account", "key": key, "label": key.replace("_", " ").title(), "field_type": field_type}
        return dict(self._ok(self.http.post("/api/custom-fields/", json={**body, **extra})))

    def fields(self) -> list[dict[str, Any]]:
        data = self._ok(
            self.http.get("/api/custom-fields/", params={"target_model": "Account", "include_counts": "false"})
        )
        return list(data["definitions"])

    def create_tag(self, name: str) -> str:
        return str(self._ok(self.http.post("/api/tags/", json={"name": name}))["tag"]["id"])

    def log(self, account_id: str, kind: str, subject: str = "", body: str = "", **extra: Any) -> str:
        payload = {"kind": kind, "account": account_id, "subject": subject, "body": body, **extra}
        return str(self._ok(self.http.post("/api/interactions/", json=payload))["id"])

    def comment(self, account_id: str, text: str) -> str:
        data = self._ok(self.http.post(f"/api/accounts/{account_id}/", json={"comment": text}))
        return str(next(c["id"] for c in data["comments"] if c["comment"] == text))

    def account(self, account_id: str) -> dict[str, Any]:
        return dict(self._ok(self.http.get(f"/api/accounts/{account_id}/"))["account_obj"])

    def tag_names(self, account_id: str) -> set[str]:
        return {t["name"] for t in self.account(account_id)["tags"]}

    def close(self) -> None:
        self.http.close()
