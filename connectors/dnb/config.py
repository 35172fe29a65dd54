"""The ``dnb`` connector's config: the Direct+ API key and secret (as secret references), data blocks."""

from __future__ import annotations

from pydantic import Field

from hub import ConnectorConfig

DEFAULT_BLOCKS = ["companyinfo_L2_v1", "financialstrengthinsight_L2_v1", "paymentinsight_L1_v1"]


class DnbConfig(ConnectorConfig):
    client_key: str = Field(description="Direct+ API consumer key.")
    client_secret: str
    base_url: str = "https://plus.dnb.com"
    token_path: str = Field(default="/v2/token", description="OAuth2 client-credentials token endpoint.")
    block_ids: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCKS), min_length=1)
    default_country: str | None = Field(default=None, min_length=2, max_length=2)
    candidate_maximum: int = Field(default=5, ge=1, le=25, description="cleanseMatch candidateMaximumQuantity.")
    confidence_lower_level: int | None = Field(
        default=None, ge=1, le=10, description="cleanseMatch confidenceLowerLevelThresholdValue, if any."
    )
    token_refresh_margin: float = Field(default=300.0, ge=0, description="Get a new token this long before expiry.")
    requests_per_second: float | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    retries: int = Field(default=4, ge=1, le=10, description="Attempts per call on 429, 5xx and timeouts.")
