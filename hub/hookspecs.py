"""Hook specifications: every way a plugin can extend the hub.

Grouped by where they sit in the flow (fetch -> map -> reconcile -> risk -> push). Every hook is
documented with its signature and an example in ``docs/plugins.md``; ``tests/test_docs.py``
fails when one is not. Registration hooks return lists, which the hub concatenates over all
plugins; lifecycle hooks are notifications whose return values are ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from hub.connector import ConnectorType
    from hub.model import FlagChange
    from hub.recon import Matcher, ReconcileStats
    from hub.risk import FlagPolicy, RiskSignal
    from hub.sync import StreamStats

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")

# -- registration ------------------------------------------------------------------------------


@hookspec
def hub_register_connectors() -> list[ConnectorType]:
    """Return the connector types this plugin provides.

    :return: a list of :class:`hub.connector.ConnectorType`; the config selects them by ``type``.
    """
    raise NotImplementedError  # a hook specification: plugins implement it


@hookspec
def hub_register_matchers() -> list[Matcher]:
    """Return matching strategies for cash application.

    :return: a list of :class:`hub.recon.Matcher`; each proposes allocations for a receipt.
    """
    raise NotImplementedError  # a hook specification: plugins implement it


@hookspec
def hub_register_risk_signals() -> list[RiskSignal]:
    """Return risk signals that contribute to a customer's risk score.

    :return: a list of :class:`hub.risk.RiskSignal`.
    """
    raise NotImplementedError  # a hook specification: plugins implement it


@hookspec
def hub_register_flag_policies() -> list[FlagPolicy]:
    """Return flag policies that raise flags such as ``OVER_LIMIT`` on a customer.

    :return: a list of :class:`hub.risk.FlagPolicy`.
    """
    raise NotImplementedError  # a hook specification: plugins implement it


@hookspec
def hub_register_commands(cli: typer.Typer) -> None:
    """Add sub-commands to the ``hub`` command line.

    :param cli: the root :class:`typer.Typer` application; call ``cli.command()`` or ``cli.add_typer()``.
    """


# -- lifecycle ---------------------------------------------------------------------------------


@hookspec
def hub_before_sync(connector: str, streams: list[str]) -> None:
    """Called before a connector's streams are synced.

    :param connector: the connector instance name from the config.
    :param streams: the names of the streams about to be read.
    """


@hookspec
def hub_after_sync(connector: str, stats: list[StreamStats]) -> None:
    """Called after a connector's streams synced without error.

    :param connector: the connector instance name.
    :param stats: one :class:`hub.sync.StreamStats` per stream (read, inserted, updated,
        unchanged, quarantined).
    """


@hookspec
def hub_on_sync_error(connector: str, stream: str, error: BaseException) -> None:
    """Called when syncing a stream failed; pages committed before the error are kept.

    :param connector: the connector instance name.
    :param stream: the stream that failed.
    :param error: the exception; the sync of this connector stops after the hook returns.
    """


@hookspec
def hub_after_reconcile(stats: ReconcileStats) -> None:
    """Called after a reconciliation run committed its allocations.

    :param stats: a :class:`hub.recon.ReconcileStats` (receipts considered, auto, suggested, open).
    """


@hookspec
def hub_on_flag_change(change: FlagChange) -> None:
    """Called for each flag raised or cleared, after the change is committed with its outbox rows.

    :param change: the :class:`hub.model.FlagChange` event (customer, code, action, version, reason).
    """
