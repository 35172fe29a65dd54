"""``experian`` connector: an Experian Business Information (US) account as a credit bureau of the hub.

Configure an instance::

    [connectors.experian]
    type = "experian"
    client_id = { env = "EXPERIAN_CLIENT_ID" }
    client_secret = { env = "EXPERIAN_CLIENT_SECRET" }
    username = "ar.team@example.com"
    password = { env = "EXPERIAN_PASSWORD" }
    subcode = "0517614"
    base_url = "https://us-api.experian.com"   # sandbox: https://sandbox-us-api.experian.com

The instance is a bureau only (no source, no sink). :mod:`.client` says how each call is made and
which errors it raises; :mod:`.normalise` maps Intelliscore Plus onto the hub's 0-100 score (the
percentile ranking as is, else the Intelliscore, else the risk class's score range midpoint).
"""

from __future__ import annotations

from hub import Connector, ConnectorContext, ConnectorType, hookimpl

from .client import ExperianClient
from .config import ExperianConfig
from .normalise import CLASS_MIDPOINTS

__all__ = ["CLASS_MIDPOINTS", "ExperianClient", "ExperianConfig", "create", "hub_register_connectors"]

TYPE_NAME = "experian"


def create(name: str, config: ExperianConfig, context: ConnectorContext | None = None) -> Connector:
    client = ExperianClient(config, name=name)
    return Connector(name=name, type=TYPE_NAME, bureau=client, close=client.close)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "Experian Business Information credit bureau: business search, Intelliscore Plus, recommended limit.",
            ExperianConfig,
            create,
        )
    ]
