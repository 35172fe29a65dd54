"""Configuration: one TOML file, overridable from the environment, with secrets by reference.

The file users write (``hub.toml``)::

    [database]
    url = "sqlite:///hub.db"

    [connectors.erp]
    type = "csv"
    customers = "data/customers.csv"
    invoices = "data/invoices.csv"

    [connectors.crm]
    type = "hubspot"
    token = { env = "HUBSPOT_TOKEN" }      # or { file = "/run/secrets/hubspot" }

Any value can come from the environment: ``HUB_DATABASE__URL``, ``HUB_RECONCILE__AUTO_THRESHOLD``,
``HUB_CONNECTORS__ERP__INVOICES`` (``__`` separates levels). Relative paths resolve against the
config file's folder. Secret values are registered with the log redactor when they are resolved,
so they never appear in a log line.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from hub.errors import ConfigError
from hub.log import register_secret

DEFAULT_CONFIG = "hub.toml"
#: Keys whose plain (inline) values are treated as secrets too.
SECRET_KEY_HINTS = ("password", "secret", "token", "api_key", "apikey", "client_secret", "private_key")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseConfig(_Section):
    url: str = Field(
        default="sqlite:///hub.db",
        description="SQLAlchemy URL; relative SQLite paths resolve against the config folder.",
    )
    echo: bool = False


class PluginsConfig(_Section):
    allow: list[str] | None = Field(
        default=None, description="Entry-point names that may load; unset means all installed."
    )
    deny: list[str] = Field(default_factory=list, description="Entry-point names that must not load.")


class LoggingConfig(_Section):
    level: str = Field(default="warning", pattern="^(debug|info|warning|error)$")
    format: str = Field(default="auto", pattern="^(auto|json|console)$")


class SyncConfig(_Section):
    workers: int | None = Field(
        default=None,
        ge=1,
        le=2,
        description="2: a reader process prepares pages while this one writes; 1: one process. "
        "Default: 2 where there are two cores.",
    )


class ReconcileConfig(_Section):
    auto_threshold: float = Field(default=0.95, ge=0, le=1)
    suggest_threshold: float = Field(default=0.30, ge=0, le=1)
    bank_fee_tolerance: str = Field(
        default="15.00", description="Largest short payment booked in full with the difference written off."
    )
    margin: float = Field(
        default=2.0, ge=0, description="Log-odds by which the best proposal must beat the next to be automatic."
    )
    max_subset_size: int = Field(default=5, ge=1, le=12, description="Most invoices one payment is searched for.")
    subset_budget: int = Field(default=20_000, ge=100, description="Search steps per receipt for subset sums.")

    def fee_tolerance(self) -> Decimal:
        try:
            value = Decimal(self.bank_fee_tolerance)
        except ArithmeticError:
            raise ConfigError(
                f"[reconcile] bank_fee_tolerance must be an amount, got {self.bank_fee_tolerance!r}"
            ) from None
        if not value.is_finite() or value < 0:
            raise ConfigError(f"[reconcile] bank_fee_tolerance must be zero or more, got {self.bank_fee_tolerance!r}")
        return value


class RiskConfig(_Section):
    as_of: str | None = Field(default=None, description="ISO date to compute ageing at; default today.")
    overdue_days: list[int] = Field(default_factory=lambda: [30, 60, 90])
    band_cutoffs: dict[str, float] = Field(
        default_factory=lambda: {"A": 80.0, "B": 60.0, "C": 40.0, "D": 20.0, "E": 0.0},
        description="Lowest score of each band, best band first.",
    )


class OutboxConfig(_Section):
    max_attempts: int = Field(default=8, ge=1)
    backoff_seconds: float = Field(default=30.0, ge=0)
    backoff_max_seconds: float = Field(default=3600.0, ge=0)


class IdentityConfig(_Section):
    master: str | None = Field(
        default=None,
        description="Connector whose customer ids become canonical ids; default: the first that syncs customers.",
    )


class HubConfig(BaseSettings):
    """The whole configuration. Build it with :func:`load_config`."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_nested_delimiter="__", extra="forbid")

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)

    #: Folder relative paths resolve against; set by :func:`load_config`.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    def database_url(self) -> str:
        """The database URL with a relative SQLite path made absolute against :attr:`base_dir`."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and ":memory:" not in url:
            rel = url[len(prefix) :]
            if rel and not Path(rel).is_absolute():
                return prefix + str((self.base_dir / rel).resolve())
        return url


def _settings_class(toml_file: Path | None) -> type[HubConfig]:
    """HubConfig reading ``toml_file`` below the environment (env wins over the file)."""

    class _FileHubConfig(HubConfig):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
            return tuple(sources)

    return _FileHubConfig


def resolve_secrets(value: Any, *, base_dir: Path, key: str = "") -> Any:
    """Replace ``{env = "NAME"}`` / ``{file = "path"}`` references by their values, recursively.

    Every resolved value, and every inline value under a secret-looking key, is registered with
    the log redactor.
    """
    if isinstance(value, dict):
        if set(value) == {"env"}:
            name = str(value["env"])
            if name not in os.environ:
                raise ConfigError(f"{key}: environment variable {name} is not set")
            secret = os.environ[name]
            register_secret(secret)
            return secret
        if set(value) == {"file"}:
            path = Path(str(value["file"])).expanduser()
            path = path if path.is_absolute() else base_dir / path
            try:
                secret = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{key}: cannot read secret file {path}: {exc.strerror}") from exc
            register_secret(secret)
            return secret
        return {k: resolve_secrets(v, base_dir=base_dir, key=f"{key}.{k}" if key else k) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(v, base_dir=base_dir, key=key) for v in value]
    if isinstance(value, str) and any(h in key.rsplit(".", 1)[-1].lower() for h in SECRET_KEY_HINTS):
        register_secret(value)
    return value


def load_config(path: str | Path | None = None, *, required: bool = True) -> HubConfig:
    """Read the config file (``HUB_CONFIG`` or ``./hub.toml`` when ``path`` is None).

    With ``required=False`` a missing file gives the defaults (for commands like ``hub plugins``).
    """
    chosen = Path(path if path is not None else os.environ.get("HUB_CONFIG", DEFAULT_CONFIG)).expanduser()
    exists = chosen.is_file()
    if not exists and required:
        raise ConfigError(f"config file {chosen} not found (pass --config PATH or set HUB_CONFIG)")
    base_dir = (chosen.parent if exists else Path.cwd()).resolve()
    try:
        config = _settings_class(chosen if exists else None)(base_dir=base_dir)
    except ValidationError as exc:
        raise ConfigError(f"{chosen}: {_one_line(exc)}") from None
    except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{chosen}: {exc}") from None
    config.connectors = {
        name: resolve_secrets(section, base_dir=base_dir, key=f"connectors.{name}")
        for name, section in config.connectors.items()
    }
    for name, section in config.connectors.items():
        if not isinstance(section, dict) or "type" not in section:
            raise ConfigError(f"{chosen}: [connectors.{name}] needs a 'type' (e.g. type = \"csv\")")
    return config


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
