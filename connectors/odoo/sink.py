"""Risk bands, flags and approved credit limits written onto Odoo partners.

- A band change sets the partner tag (``res.partner.category``) ``Risk: <band>`` and removes every
  other ``Risk: ...`` tag from the partner.
- A flag raised sets the flag's tag (``Credit hold`` for ``CREDIT_HOLD``, ``Over limit`` for
  ``OVER_LIMIT``...; ``flag_tags`` renames them); a flag cleared removes it.
- An approved credit limit is written to the partner's ``credit_limit`` (the Invoicing app's field,
  in the company currency), when the database has that field.

Tags are created when missing. Tags are set and removed with the many2many commands ``(4, id)``
(link) and ``(3, id)`` (unlink), which are no-ops when the link already is (or is not) there, so
delivering an event twice takes effect once. The events of one partner in a batch become one
``write`` of its tags and one of its credit limit. Per-event results: a partner that no longer
exists, an access error or a validation error fails permanently (dead letter); a server error
fails for a retry. Odoo unreachable (or the credentials refused) raises
:class:`hub.errors.SinkError`, so the outbox keeps the whole batch. Odoo (or the proxy before it)
still throttling after the HTTP layer's tries in the middle of a batch fails the partner being
written and every one after it with the ``Retry-After`` it sent, so the outbox waits that long
before it writes them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hub import (
    BandChange,
    CreditLimitChange,
    DeliveryResult,
    FlagChange,
    OutboxEvent,
    Sink,
    SinkError,
    SourceError,
    get_logger,
    retry_after,
)

from .client import OdooAuthError, OdooClient, OdooRpcError, OdooUnavailable

log = get_logger(__name__)

PARTNER = "res.partner"
CATEGORY = "res.partner.category"
LINK, UNLINK = 4, 3


def flag_tag_name(code: str, overrides: dict[str, str]) -> str:
    """``CREDIT_HOLD`` -> ``Credit hold`` unless ``overrides`` names it."""
    return overrides.get(code) or code.replace("_", " ").strip().capitalize()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class OdooSink(Sink):
    def __init__(
        self,
        name: str,
        client: OdooClient,
        *,
        band_prefix: str = "Risk: ",
        flag_tags: dict[str, str] | None = None,
        id_from: str | None = None,
        batch_size: int = 100,
    ) -> None:
        self.name = name
        self.client = client
        self.band_prefix = band_prefix
        self.flag_tags = dict(flag_tags or {})
        self.id_from = id_from or name
        self.batch_size = batch_size
        self._limit_fields: list[str] | None = None
        self._company_currency: str | None = None

    def check(self) -> None:
        try:
            self.client.login()
        except SourceError as exc:  # HttpError, OdooAuthError, OdooRpcError
            raise SinkError(str(exc), retryable=exc.retryable) from exc

    # -- delivery ----------------------------------------------------------------------------------

    def deliver(self, events: Sequence[OutboxEvent]) -> Sequence[DeliveryResult]:
        results: dict[str, DeliveryResult] = {}
        by_partner: dict[int, list[OutboxEvent]] = {}
        for event in events:
            if event.event_id in results:
                continue
            ref = event.links.get(self.id_from)
            if ref is None:
                # The customer has no Odoo partner (it exists only in other systems): parked, not failed.
                results[event.event_id] = DeliveryResult.unlinked(
                    event.event_id, f"customer {event.customer_id} has no Odoo partner (no link {self.id_from!r})"
                )
                continue
            try:
                partner = int(ref)
            except ValueError:
                results[event.event_id] = DeliveryResult(
                    event.event_id, False, f"{ref!r} (link {self.id_from}) is not an Odoo partner id", permanent=True
                )
                continue
            by_partner.setdefault(partner, []).append(event)
        if by_partner:
            try:
                self._deliver(by_partner, results)
            except (OdooUnavailable, OdooAuthError) as exc:
                raise SinkError(str(exc), retryable=exc.retryable) from exc
            except OdooRpcError as exc:  # a lookup before any write failed: the batch cannot proceed
                raise SinkError(str(exc), retryable=exc.retryable) from exc
        return [results[e.event_id] for e in events]

    def _deliver(self, by_partner: dict[int, list[OutboxEvent]], results: dict[str, DeliveryResult]) -> None:
        existing = set(
            self.client.execute_kw(
                PARTNER, "search", [[["id", "in", sorted(by_partner)]]], {"context": {"active_test": False}}
            )
        )
        events = [e for evs in by_partner.values() for e in evs]
        names = sorted({n for e in events if (n := self._tag_of(e)) is not None})
        tags, band_tags = self._tags(names, any(isinstance(e, BandChange) for e in events)) if names else ({}, set())
        limit_fields = self._credit_limit_fields() if any(isinstance(e, CreditLimitChange) for e in events) else []
        currency = self._currency() if limit_fields else None
        down: str | None = None
        wait: float | None = None  # the Retry-After of the answer that made Odoo count as down
        for partner, partner_events in by_partner.items():
            if down is not None:
                self._fail(partner_events, results, down, permanent=False, retry_after=wait)
                continue
            if partner not in existing:
                self._fail(
                    partner_events, results, f"res.partner {partner} does not exist in Odoo (deleted?)", permanent=True
                )
                continue
            for vals, applied in self._values(partner_events, tags, band_tags, limit_fields, currency, results):
                if down is not None:
                    self._fail(applied, results, down, permanent=False, retry_after=wait)
                    continue
                try:
                    self.client.execute_kw(PARTNER, "write", [[partner], vals])
                except OdooAuthError:
                    raise
                except OdooRpcError as exc:
                    self._fail(applied, results, str(exc), permanent=exc.permanent)
                    continue
                except OdooUnavailable as exc:
                    down = f"{exc} (not attempted: Odoo stopped answering)"
                    wait = retry_after(exc)
                    self._fail(applied, results, str(exc), permanent=False, retry_after=wait)
                    continue
                for event in applied:
                    results[event.event_id] = DeliveryResult(event.event_id, True)
                log.info("odoo.partner_written", connector=self.name, partner=partner, fields=sorted(vals))

    def _values(
        self,
        events: list[OutboxEvent],
        tags: dict[str, int],
        band_tags: set[int],
        limit_fields: list[str],
        currency: str | None,
        results: dict[str, DeliveryResult],
    ) -> list[tuple[dict[str, Any], list[OutboxEvent]]]:
        """One partner's events as at most two ``write`` calls, in event order (the last word wins): its
        tags, and its credit limit (apart, so a user allowed to tag but not to set limits still tags)."""
        linked: dict[int, bool] = {}
        tagged: list[OutboxEvent] = []
        limit_vals: dict[str, Any] = {}
        limited: list[OutboxEvent] = []
        for event in events:
            if isinstance(event, FlagChange):
                linked[tags[flag_tag_name(event.code, self.flag_tags)]] = event.action == "raised"
                tagged.append(event)
            elif isinstance(event, BandChange):
                keep = tags[self.band_prefix + event.band]
                for other in band_tags - {keep}:
                    linked[other] = False
                linked[keep] = True
                tagged.append(event)
            elif isinstance(event, CreditLimitChange):
                if not limit_fields:
                    log.warning("odoo.no_credit_limit_field", connector=self.name, event_id=event.event_id)
                    results[event.event_id] = DeliveryResult(event.event_id, True)  # nothing to write it to
                elif currency and event.currency != currency:
                    results[event.event_id] = DeliveryResult(
                        event.event_id,
                        False,
                        f"credit limit in {event.currency}, but Odoo keeps partner credit limits in the company "
                        f"currency {currency}: approve it in {currency}",
                        permanent=True,
                    )
                else:
                    limit_vals["credit_limit"] = float(Decimal(event.amount))
                    if "use_partner_credit_limit" in limit_fields:
                        limit_vals["use_partner_credit_limit"] = True
                    limited.append(event)
            else:  # pragma: no cover - a new event kind: acknowledged, as the Sink contract asks
                results[event.event_id] = DeliveryResult(event.event_id, True)
        groups: list[tuple[dict[str, Any], list[OutboxEvent]]] = []
        if tagged:
            unlink = [[UNLINK, t] for t, on in sorted(linked.items()) if not on]
            groups.append(({"category_id": unlink + [[LINK, t] for t, on in sorted(linked.items()) if on]}, tagged))
        if limited:
            groups.append((limit_vals, limited))
        return groups

    @staticmethod
    def _fail(
        events: list[OutboxEvent],
        results: dict[str, DeliveryResult],
        error: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
    ) -> None:
        for event in events:
            results[event.event_id] = DeliveryResult(
                event.event_id, False, error, permanent=permanent, retry_after=retry_after
            )

    # -- lookups -----------------------------------------------------------------------------------

    def _tag_of(self, event: OutboxEvent) -> str | None:
        if isinstance(event, FlagChange):
            return flag_tag_name(event.code, self.flag_tags)
        if isinstance(event, BandChange):
            return self.band_prefix + event.band
        return None

    def _tags(self, names: list[str], bands: bool) -> tuple[dict[str, int], set[int]]:
        """Tag ids by name (creating the missing ones) and, for band changes, the ids of every band tag."""
        domain: list[Any] = [["name", "in", names]]
        if bands:
            domain = ["|", *domain, ["name", "=like", _like_escape(self.band_prefix) + "%"]]
        found = self.client.execute_kw(CATEGORY, "search_read", [domain], {"fields": ["name"], "order": "id"})
        ids: dict[str, int] = {}
        band_tags: set[int] = set()
        for row in found or []:
            name = str(row["name"])
            ids.setdefault(name, int(row["id"]))  # the oldest of same-named tags
            if bands and name.startswith(self.band_prefix):
                band_tags.add(int(row["id"]))
        missing = [n for n in names if n not in ids]
        if missing:
            created = self.client.execute_kw(CATEGORY, "create", [[{"name": n} for n in missing]])
            created_ids = created if isinstance(created, list) else [created]
            for name, tag_id in zip(missing, created_ids, strict=True):
                ids[name] = int(tag_id)
                if name.startswith(self.band_prefix):
                    band_tags.add(int(tag_id))
            log.info("odoo.tags_created", connector=self.name, tags=missing)
        return ids, band_tags

    def _credit_limit_fields(self) -> list[str]:
        """``credit_limit`` (and ``use_partner_credit_limit``) if the database has them; asked once."""
        if self._limit_fields is None:
            types = self.client.field_types(PARTNER, ["credit_limit", "use_partner_credit_limit"])
            self._limit_fields = [f for f in ("credit_limit", "use_partner_credit_limit") if f in types]
            if "credit_limit" not in self._limit_fields:
                self._limit_fields = []
        return self._limit_fields

    def _currency(self) -> str | None:
        """The currency of the API user's company (partner credit limits are kept in it); asked once."""
        if self._company_currency is None:
            uid = self.client.login()
            users = self.client.execute_kw("res.users", "read", [[uid]], {"fields": ["company_id"]})
            company = users[0].get("company_id") if users else None
            if not isinstance(company, list) or not company:
                return None
            companies = self.client.execute_kw("res.company", "read", [[company[0]]], {"fields": ["currency_id"]})
            currency = companies[0].get("currency_id") if companies else None
            if isinstance(currency, list) and len(currency) > 1:
                self._company_currency = str(currency[1])
        return self._company_currency
