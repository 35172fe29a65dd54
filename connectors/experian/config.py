"""The ``experian`` connector's config: the app's client id and secret, the API user, the subcode."""

from __future__ import annotations

from pydantic import Field

from hub import ConnectorConfig


class ExperianConfig(ConnectorConfig):
    client_id: str
    client_secret: str
    username: str
    password: str
    subcode: str = Field(description="The Experian subscriber code the business products are billed to.")
    base_url: str = Field(
        default="https://us-api.experian.com", description="Sandbox: https://sandbox-us-api.experian.com"
    )
    token_path: str = "/oauth2/v1/token"
    model_code: str = Field(default="000224", description="000224: Intelliscore Plus V2.")
    currency: str = Field(default="USD", description="Currency of Experian's recommended credit limit.")
    countries: list[str] = Field(default_factory=lambda: ["US"], description="Countries the account covers.")
    token_refresh_margin: float = Field(default=300.0, ge=0, description="Get a new token this long before expiry.")
    requests_per_second: float | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=4, ge=1, le=10, description="Attempts per call on 429, 5xx and timeouts.")
