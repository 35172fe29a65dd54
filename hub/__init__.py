"""Receivables integration hub: the public API for connector and plugin authors.

Everything a connector or a plugin may use is importable from ``hub`` itself and listed in
``__all__`` (httpx's pattern): ``from hub import Sink, SinkError, HttpClient``. Names are loaded on
first use, so ``import hub`` stays cheap for a command that needs none of them. Modules below
``hub`` (``hub.sync``, ``hub.store``, ``hub.recon.engine`` ...) are the hub's own and may change
between minor versions; ``docs/plugins.md`` says what is stable. Command plugins also use
:mod:`hub.cli`'s helpers (``session``, ``emit``, ``table``, ``handled``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.hookspecs import hookimpl
from hub.lazy import lazy_names

__version__ = "0.1.0"

# name -> the module that defines it. Kept by hand (not computed) so that the list is the contract.
_EXPORTS: dict[str, str] = {
    # connectors: what a source reads and what a sink delivers
    "Connector": "hub.connector",
    "ConnectorConfig": "hub.connector",
    "ConnectorContext": "hub.connector",
    "ConnectorType": "hub.connector",
    "DeliveryResult": "hub.connector",
    "JSONValue": "hub.connector",
    "Page": "hub.connector",
    "Sink": "hub.connector",
    "Source": "hub.connector",
    "StreamSpec": "hub.connector",
    "validate_config": "hub.connector",
    # sinks writing onto records of another system: grouping, chunking, results in order
    "KeyedBatchSink": "hub.batchsink",
    # errors: one tree; ``retryable`` says whether trying again can help
    "ConfigError": "hub.errors",
    "HttpError": "hub.errors",
    "HubError": "hub.errors",
    "MappingError": "hub.errors",
    "PaginationError": "hub.errors",
    "RecordError": "hub.errors",
    "ServiceError": "hub.errors",
    "SinkError": "hub.errors",
    "SourceError": "hub.errors",
    "StatementError": "hub.errors",
    "retry_after": "hub.errors",
    "retryable_status": "hub.errors",
    # HTTP for cloud connectors: retries, rate limits, credentials kept out of logs
    "RETRY_STATUSES": "hub.http",
    "HttpClient": "hub.http",
    "RetryPolicy": "hub.http",
    "TokenBucket": "hub.http",
    "retry_after_seconds": "hub.http",
    # credit bureaus: what a bureau connector's client answers (search, report, monitoring)
    "BureauAuthError": "hub.bureau",
    "BureauClient": "hub.bureau",
    "BureauCompany": "hub.bureau",
    "BureauError": "hub.bureau",
    "BureauEvent": "hub.bureau",
    "BureauNotFound": "hub.bureau",
    "BureauQuery": "hub.bureau",
    "BureauReport": "hub.bureau",
    "MonitoringEvent": "hub.bureau",
    "PayloadError": "hub.bureau",
    "payload_date": "hub.bureau",
    "payload_number": "hub.bureau",
    "payload_object": "hub.bureau",
    "payload_text": "hub.bureau",
    "payload_whole": "hub.bureau",
    # bureau clients that log in for a bearer token: token cache and renewal, refused credentials, messages
    "BUREAU_CLIENT_ERRORS": "hub.bureauhttp",
    "BearerBureauClient": "hub.bureauhttp",
    "body_text": "hub.bureauhttp",
    "http_reason": "hub.bureauhttp",
    # paging through a listing: cursor, next link, offset/limit, page number
    "CursorPaginator": "hub.paginate",
    "NextLinkPaginator": "hub.paginate",
    "OffsetPaginator": "hub.paginate",
    "PageNumberPaginator": "hub.paginate",
    "Paginator": "hub.paginate",
    # logging
    "get_logger": "hub.log",
    "register_secret": "hub.log",
    # the canonical model: records and the events the outbox delivers
    "BandChange": "hub.model",
    "CollectionChannel": "hub.model",
    "CreditLimitChange": "hub.model",
    "Exposure": "hub.model",
    "FlagChange": "hub.model",
    "FlagCode": "hub.model",
    "InterestInvoice": "hub.model",
    "LegalEvent": "hub.model",
    "LegalEventKind": "hub.model",
    "OutboxEvent": "hub.model",
    "RiskFlag": "hub.model",
    "format_money": "hub.model",
    # sentences kept as message ids and values, rendered in each reader's language
    "Amount": "hub.i18n",
    "Day": "hub.i18n",
    "Days": "hub.i18n",
    "Join": "hub.i18n",
    "Message": "hub.i18n",
    "N_": "hub.i18n",
    "Share": "hub.i18n",
    # matchers (``hub_matchers``)
    "Evidence": "hub.recon",
    "EvidenceMatcher": "hub.recon",
    "Found": "hub.recon",
    "Matcher": "hub.recon",
    "MatchProposal": "hub.recon",
    "OpenItems": "hub.recon",
    "ProposalLine": "hub.recon",
    "ReceiptView": "hub.recon",
    "ReconcileStats": "hub.recon",
    # risk signals and flag policies (``hub_risk_signals``, ``hub_flag_policies``)
    "BureauView": "hub.risk",
    "CustomerRisk": "hub.risk",
    "FlagPolicy": "hub.risk",
    "Payment": "hub.risk",
    "PromiseView": "hub.risk",
    "RiskContext": "hub.risk",
    "RiskSignal": "hub.risk",
    "SignalResult": "hub.risk",
    # company names, read the same way by identity resolution and the matchers
    "name_keys": "hub.names",
    "normalise_name": "hub.names",
    "fold_name": "hub.names",
    "is_chinese": "hub.names",
    "chinese_scan_form": "hub.names",
    "chinese_text_forms": "hub.names",
    "registered_name": "hub.names",
    # the application: what a command plugin drives
    "Hub": "hub.app",
    "Progress": "hub.sync",
    "StreamStats": "hub.sync",
}

__all__ = [
    "BUREAU_CLIENT_ERRORS",
    "N_",
    "RETRY_STATUSES",
    "Amount",
    "BandChange",
    "BearerBureauClient",
    "BureauAuthError",
    "BureauClient",
    "BureauCompany",
    "BureauError",
    "BureauEvent",
    "BureauNotFound",
    "BureauQuery",
    "BureauReport",
    "BureauView",
    "CollectionChannel",
    "ConfigError",
    "Connector",
    "ConnectorConfig",
    "ConnectorContext",
    "ConnectorType",
    "CreditLimitChange",
    "CursorPaginator",
    "CustomerRisk",
    "Day",
    "Days",
    "DeliveryResult",
    "Evidence",
    "EvidenceMatcher",
    "Exposure",
    "FlagChange",
    "FlagCode",
    "FlagPolicy",
    "Found",
    "HttpClient",
    "HttpError",
    "Hub",
    "HubError",
    "InterestInvoice",
    "JSONValue",
    "Join",
    "KeyedBatchSink",
    "LegalEvent",
    "LegalEventKind",
    "MappingError",
    "MatchProposal",
    "Matcher",
    "Message",
    "MonitoringEvent",
    "NextLinkPaginator",
    "OffsetPaginator",
    "OpenItems",
    "OutboxEvent",
    "Page",
    "PageNumberPaginator",
    "PaginationError",
    "Paginator",
    "PayloadError",
    "Payment",
    "Progress",
    "PromiseView",
    "ProposalLine",
    "ReceiptView",
    "ReconcileStats",
    "RecordError",
    "RetryPolicy",
    "RiskContext",
    "RiskFlag",
    "RiskSignal",
    "ServiceError",
    "Share",
    "SignalResult",
    "Sink",
    "SinkError",
    "Source",
    "SourceError",
    "StatementError",
    "StreamSpec",
    "StreamStats",
    "TokenBucket",
    "__version__",
    "body_text",
    "chinese_scan_form",
    "chinese_text_forms",
    "fold_name",
    "format_money",
    "get_logger",
    "hookimpl",
    "http_reason",
    "is_chinese",
    "name_keys",
    "normalise_name",
    "payload_date",
    "payload_number",
    "payload_object",
    "payload_text",
    "payload_whole",
    "register_secret",
    "registered_name",
    "retry_after",
    "retry_after_seconds",
    "retryable_status",
    "validate_config",
]


__getattr__ = lazy_names(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ loads on use
    from hub.app import Hub
    from hub.batchsink import KeyedBatchSink
    from hub.bureau import (
        BureauAuthError,
        BureauClient,
        BureauCompany,
        BureauError,
        BureauEvent,
        BureauNotFound,
        BureauQuery,
        BureauReport,
        MonitoringEvent,
        PayloadError,
        payload_date,
        payload_number,
        payload_object,
        payload_text,
        payload_whole,
    )
    from hub.bureauhttp import BUREAU_CLIENT_ERRORS, BearerBureauClient, body_text, http_reason
    from hub.connector import (
        Connector,
        ConnectorConfig,
        ConnectorContext,
        ConnectorType,
        DeliveryResult,
        JSONValue,
        Page,
        Sink,
        Source,
        StreamSpec,
        validate_config,
    )
    from hub.errors import (
        ConfigError,
        HttpError,
        HubError,
        MappingError,
        PaginationError,
        RecordError,
        ServiceError,
        SinkError,
        SourceError,
        StatementError,
        retry_after,
        retryable_status,
    )
    from hub.http import RETRY_STATUSES, HttpClient, RetryPolicy, TokenBucket, retry_after_seconds
    from hub.i18n import N_, Amount, Day, Days, Join, Message, Share
    from hub.log import get_logger, register_secret
    from hub.model import (
        BandChange,
        CollectionChannel,
        CreditLimitChange,
        Exposure,
        FlagChange,
        FlagCode,
        InterestInvoice,
        LegalEvent,
        LegalEventKind,
        OutboxEvent,
        RiskFlag,
        format_money,
    )
    from hub.names import (
        chinese_scan_form,
        chinese_text_forms,
        fold_name,
        is_chinese,
        name_keys,
        normalise_name,
        registered_name,
    )
    from hub.paginate import (
        CursorPaginator,
        NextLinkPaginator,
        OffsetPaginator,
        PageNumberPaginator,
        Paginator,
    )
    from hub.recon import (
        Evidence,
        EvidenceMatcher,
        Found,
        Matcher,
        MatchProposal,
        OpenItems,
        ProposalLine,
        ReceiptView,
        ReconcileStats,
    )
    from hub.risk import (
        BureauView,
        CustomerRisk,
        FlagPolicy,
        Payment,
        PromiseView,
        RiskContext,
        RiskSignal,
        SignalResult,
    )
    from hub.sync import Progress, StreamStats
