"""Config: TOML file, environment overrides, secret references, and secrets never logged."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import ConfigError
from hub.log import configure_logging, get_logger

from .conftest import run_hub


def test_relative_paths_and_sqlite_url_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text('[database]\nurl = "sqlite:///state/hub.db"\n')
    config = load_config(tmp_path / "hub.toml")
    assert config.database_url() == f"sqlite:///{tmp_path.resolve() / 'state' / 'hub.db'}"
    assert config.base_dir == tmp_path.resolve()


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hub.toml").write_text(
        '[reconcile]\nauto_threshold = 0.9\n[connectors.erp]\ntype = "csv"\ninvoices = "a.csv"\n'
    )
    monkeypatch.setenv("HUB_RECONCILE__AUTO_THRESHOLD", "0.99")
    monkeypatch.setenv("HUB_CONNECTORS__ERP__INVOICES", "b.csv")
    config = load_config(tmp_path / "hub.toml")
    assert config.reconcile.auto_threshold == 0.99
    assert config.connectors["erp"]["invoices"] == "b.csv"


def test_secret_references_resolve_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token.txt").write_text("file-secret-value\n")
    (tmp_path / "hub.toml").write_text(
        '[connectors.crm]\ntype = "x"\ntoken = { env = "CRM_TOKEN" }\npassword = { file = "token.txt" }\n'
    )
    monkeypatch.setenv("CRM_TOKEN", "env-secret-value")
    config = load_config(tmp_path / "hub.toml")
    assert config.connector_settings("crm")["token"] == "env-secret-value"
    assert config.connector_settings("crm")["password"] == "file-secret-value"


def test_missing_secret_is_a_clear_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    (tmp_path / "hub.toml").write_text('[connectors.crm]\ntype = "x"\ntoken = { env = "NOPE_TOKEN" }\n')
    config = load_config(tmp_path / "hub.toml")  # read without it: commands that need no connector run
    with pytest.raises(ConfigError, match=r"connectors\.crm\.token: environment variable NOPE_TOKEN is not set"):
        config.connector_settings("crm")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[database\nurl = 1", "hub.toml"),
        ("[reconcile]\nauto_threshold = 7\n", "reconcile.auto_threshold"),
        ("[typo]\nx = 1\n", "typo"),
        ('[connectors.erp]\npath = "x"\n', "needs a 'type'"),
    ],
)
def test_invalid_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "hub.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "hub.toml")


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_secrets_never_appear_in_log_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-Val-8812"
    monkeypatch.setenv("CRM_TOKEN", secret)
    (tmp_path / "hub.toml").write_text(
        '[connectors.crm]\ntype = "x"\ntoken = { env = "CRM_TOKEN" }\n'
        '[connectors.other]\ntype = "y"\napi_key = "inline-key-4411"\n'
    )
    load_config(tmp_path / "hub.toml")
    buffer = io.StringIO()
    configure_logging("debug", "json", stream=buffer)
    log = get_logger("test")
    log.info("calling", url=f"https://api.example/?token={secret}", headers={"Authorization": f"Bearer {secret}"})
    log.error("failed", error=RuntimeError(f"401 for key inline-key-4411 and {secret}"))
    text = buffer.getvalue()
    assert secret not in text
    assert "inline-key-4411" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["headers"]["Authorization"] == "Bearer ***"


def test_database_password_never_reaches_the_output(tmp_path: Path) -> None:
    password = "pg-Pass-99127"
    (tmp_path / "hub.toml").write_text(f'[database]\nurl = "postgresql://hubuser:{password}@127.0.0.1:1/nodb"\n')
    proc = run_hub("--log-level", "debug", "init", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert "error:" in proc.stderr
    assert password not in proc.stdout + proc.stderr


def test_the_example_config_loads_and_names_every_setting() -> None:
    """examples/hub.toml documents every section and setting (commented out where it has no default)."""
    import tomllib

    from pydantic import BaseModel

    from hub.config import HubConfig

    path = Path(__file__).resolve().parents[1] / "examples" / "hub.toml"
    config = load_config(path)
    assert config.database.url == "sqlite:///hub.db" and "erp" in config.connectors
    text = path.read_text(encoding="utf-8")
    named = {line.split("=")[0].strip().lstrip("#").strip() for line in text.splitlines() if "=" in line}

    def fields(model: type[BaseModel], prefix: str) -> list[str]:
        out = []
        for name, info in model.model_fields.items():
            annotation = info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                out += fields(annotation, f"{prefix}{name}.")
            else:
                out.append(f"{prefix}{name}")
        return out

    missing = [
        f
        for f in fields(HubConfig, "")
        if f.rsplit(".", 1)[-1] not in named and f not in ("connectors", "base_dir", "collections.ladders")
    ]
    assert missing == []
    assert tomllib.loads(text)["collections"]["ladders"]["default"][0]["action"] == "friendly reminder"
