"""The ``creditsafe`` connector's config: credentials as secret references, the account's portfolio."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, field_validator

from hub import ConnectorConfig


class CreditsafeConfig(ConnectorConfig):
    username: str = Field(description="The API user key Creditsafe gave you (not the website e-mail login).")
    password: str
    base_url: str = Field(
        default="https://connect.creditsafe.com/v1", description="Sandbox: https://connect.sandbox.creditsafe.com/v1"
    )
    default_country: str | None = Field(
        default=None, min_length=2, max_length=2, description="Country to search in when a customer has none."
    )
    portfolio_id: str | None = Field(default=None, description="Monitoring portfolio companies are added to.")
    monitoring_start: str | None = Field(default=None, description="First date (YYYY-MM-DD) to pull events from.")
    monitoring_page_size: int = Field(default=1000, ge=1, le=1000)
    search_page_size: int = Field(default=10, ge=1, le=100)
    token_lifetime: float = Field(default=3600.0, gt=0, description="Seconds a token is valid (one hour).")
    token_refresh_margin: float = Field(default=300.0, ge=0, description="Log in again this long before expiry.")
    requests_per_second: float | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=4, ge=1, le=10, description="Attempts per call on 429, 5xx and timeouts.")

    @field_validator("monitoring_start")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        if value is not None:
            dt.date.fromisoformat(value)
        return value
