"""``dnb`` connector: a D&B Direct+ account as a credit bureau of the hub.

Configure an instance::

    [connectors.dnb]
    type = "dnb"
    client_key = { env = "DNB_KEY" }
    client_secret = { env = "DNB_SECRET" }     # or { file = "/run/secrets/dnb" }
    block_ids = ["companyinfo_L2_v1", "financialstrengthinsight_L2_v1", "paymentinsight_L1_v1"]
    default_country = "US"                     # where customers without a country are matched

The instance is a bureau only (no source, no sink). :mod:`.client` says how each call is made and
which errors it raises; :mod:`.normalise` maps the failure score onto the hub's 0-100 score (the
national percentile as is, else the midpoint of the failure class's percentile range).
"""

from __future__ import annotations

from hub import Connector, ConnectorContext, ConnectorType, hookimpl

from .client import DnbClient
from .config import DnbConfig
from .normalise import CLASS_MIDPOINTS

__all__ = ["CLASS_MIDPOINTS", "DnbClient", "DnbConfig", "create", "hub_register_connectors"]

TYPE_NAME = "dnb"


def create(name: str, config: DnbConfig, context: ConnectorContext | None = None) -> Connector:
    client = DnbClient(config, name=name)
    return Connector(name=name, type=TYPE_NAME, bureau=client, close=client.close)


@hookimpl
def hub_register_connectors() -> list[ConnectorType]:
    return [
        ConnectorType(
            TYPE_NAME,
            "D&B Direct+ credit bureau: cleanseMatch search, failure score, recommended limit, bankruptcy.",
            DnbConfig,
            create,
        )
    ]
