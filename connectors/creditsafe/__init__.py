"""``creditsafe`` connector: a Creditsafe Connect account as a credit bureau of the hub.

Configure an instance::

    [connectors.cs]
    type = "creditsafe"
    username = "acme_integration"              # the API user key (not the website login)
    password = { env = "CS_PASSWORD" }          # or { file = "/run/secrets/creditsafe" }
    base_url = "https://connect.creditsafe.com/v1"   # sandbox: https://connect.sandbox.creditsafe.com/v1
    default_country = "GB"                     # where customers without a country are searched
    portfolio_id = "1081"                      # monitoring portfolio (optional; see below)

The instance is a bureau only (no source, no sink): the hub's bureau service asks it about the
customers it chooses. :mod:`.client` says how each call is made and which errors it raises;
:mod:`.normalise` maps Creditsafe's ratings onto the hub's 0-100 score (provider value as is on the
0-100 scale, "Not Rated" -> no score, otherwise the midpoint of the A-E common value band).

Without ``portfolio_id`` the hub adds no company to monitoring (the client offers no
``register_monitoring``, so the bureau service does not ask it to) and still pulls the account's
notification events; the linked companies are registered on the first run after one is configured.
"""

from __future__ import annotations

from hub import BureauClient, Connector, ConnectorContext, ConnectorType, hookimpl

from .client import CreditsafeClient
from .config import CreditsafeConfig
from .normalise import BAND_MIDPOINTS

__all__ = ["BAND_MIDPOINTS", "CreditsafeClient", "CreditsafeConfig", "create", "hub_register_connectors"]

TYPE_NAME = "creditsafe"


class _WithoutPortfolio(CreditsafeClient):
    """An account without a configured portfolio: nothing to register companies with."""

    register_monitoring = BureauClient.register_monitoring


def create(name: str, config: CreditsafeConfig, context: ConnectorContext | None = None) -> Connector:
    client = CreditsafeClient(config, name=name) if config.portfolio_id else _WithoutPortfolio(config, name=name)
    return Connector(name=name, type=TYPE_NAME, bureau=client, close=client.close)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "Creditsafe Connect credit bureau: company search, credit reports, portfolio monitoring.",
            CreditsafeConfig,
            create,
        )
    ]
