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

import contextlib
import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
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
    busy_timeout_seconds: float = Field(
        default=300.0, gt=0, description="SQLite: how long a write waits for another command's write to finish."
    )
    lock_wait_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long a job (sync of a connector, reconcile, risk...) waits for the same job run by "
        "another process before giving up (exit code 75); 0: give up at once.",
    )


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
        default="100.00",
        description="Largest shortfall taken for bank charges (booked in full, the difference written off), in "
        "the [fx] base currency: a receipt in another currency takes it converted by that currency's rate (a "
        "synced fx_rate record, else [fx] rates), or as it is where no rate is known. "
        "100: a receiving bank's fee plus one or two correspondent banks' SHA/OUR charges (commonly 10-50 "
        "each, some up to about 80); each fee proposal is weighed by how many invoices could fit the window "
        "by chance, so a wider window costs confidence, not precision.",
    )
    margin: float = Field(
        default=2.0, ge=0, description="Log-odds by which the best proposal must beat the next to be automatic."
    )
    max_subset_size: int = Field(
        default=20,
        ge=1,
        le=40,
        description="Most invoices one payment is searched for (reached in full only where a customer has few open "
        "invoices: see hub.recon.matching.Combiner.max_subset_size).",
    )
    subset_budget: int = Field(default=20_000, ge=100, description="Search steps per receipt for subset sums.")
    partitions: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Partitions of the receipts a run decides, each against the book as the run found it: a "
        "queued run ('hub run --queue') gives each partition a job of its own, which as many workers decide at "
        "once, and one job writes them all. 1: one job decides every receipt. Any other number decides the same "
        "way whichever runs it and however many workers there are; receipts of one payer are always in one "
        "partition. Each partition reads the whole book, so more than the workers you run only costs time.",
    )

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


class ScorecardConfig(_Section):
    """How signals add up to a score: ``100 - sum(weight x severity)``, then bands by cut-off."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "payment-behaviour": 25.0,
            "ageing": 30.0,
            "utilisation": 15.0,
            "broken-promises": 15.0,
            "bureau": 25.0,
            "legal-events": 40.0,
            "concentration": 5.0,
        },
        description="Most points each signal can take off (severity 1.0); a signal not listed uses its default.",
    )
    bands: dict[str, float] = Field(
        default_factory=lambda: {"A": 80.0, "B": 60.0, "C": 40.0, "D": 20.0, "E": 0.0},
        description="Lowest score of each band; a score below every cut-off gets the lowest band.",
    )


class RiskConfig(_Section):
    as_of: str | None = Field(default=None, description="ISO date to compute ageing at; default today.")
    buckets: list[int] = Field(
        default_factory=lambda: [30, 60, 90, 180],
        description="Last day past due of each overdue bucket; one more bucket holds everything older.",
    )
    overdue_days: list[int] = Field(default_factory=lambda: [30, 60, 90])
    scorecard: ScorecardConfig = Field(default_factory=ScorecardConfig)
    payments_window: int = Field(default=12, ge=2, description="Payments the average days late is taken over.")
    dso_days: int = Field(default=90, ge=1, description="Days of sales DSO is measured against.")
    late_grace_days: int = Field(default=0, ge=0, description="Days after the due date a payment still counts on time.")
    score_drop_points: float = Field(default=15.0, gt=0, description="SCORE_DROP when the score falls this much...")
    score_drop_window_days: int = Field(default=90, ge=1, description="...below its best in this many days.")
    clean_history_payments: int = Field(
        default=6, ge=1, description="On-time payments before a late one that make FIRST_LATE_PAYMENT."
    )
    pattern_change_days: float = Field(
        default=15.0, gt=0, description="PAYMENT_PATTERN_CHANGE when recent payments are this many days later."
    )
    bureau_downgrade_points: float = Field(default=10.0, gt=0, description="Bureau score fall that is a downgrade.")
    legal_event_days: int = Field(default=365, ge=1, description="How long a legal event keeps LEGAL_EVENT up.")
    broken_promise_days: int = Field(default=90, ge=1, description="Days a broken promise keeps BROKEN_PROMISE.")
    concentration_share: float = Field(
        default=0.10, gt=0, le=1, description="Share of all open receivables that makes one customer a concentration."
    )
    credit_hold_bands: list[str] = Field(default_factory=lambda: ["E"])
    credit_hold_over_limit: float = Field(
        default=1.2, gt=1, description="CREDIT_HOLD when open plus orders exceed the limit by this factor."
    )
    credit_hold_overdue_days: int = Field(default=90, ge=1)
    prepayment_bands: list[str] = Field(default_factory=lambda: ["D", "E"])


class FxConfig(_Section):
    base: str = Field(default="EUR", description="Currency of portfolio totals, group roll-ups and rankings.")
    rates: dict[str, str] = Field(
        default_factory=dict,
        description='Units of the base currency one unit of each currency is worth, e.g. USD = "0.92". '
        "Rates synced from a source (fx_rate records) take precedence when dated on or before the as-of date.",
    )

    def table(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for ccy, text in self.rates.items():
            try:
                rate = Decimal(str(text))
            except ArithmeticError:
                raise ConfigError(f"[fx] rates.{ccy} must be a number, got {text!r}") from None
            if not rate.is_finite() or rate <= 0:
                raise ConfigError(f"[fx] rates.{ccy} must be above zero, got {text!r}")
            out[ccy.upper()] = rate
        return out


class LadderStep(_Section):
    """One rung of a collection ladder: what to do once the oldest overdue invoice is so many days late."""

    after_days: int = Field(ge=0, description="Days past due of the oldest overdue invoice when the step is due.")
    action: str = Field(min_length=1, description="What to do, e.g. 'reminder', 'call', 'visit', 'lawyer letter'.")
    channel: str = Field(
        # the values of hub.model.CollectionChannel (a test keeps the two lists equal)
        pattern="^(email|phone|letter|visit|lawyer_letter|arbitration|litigation|agency)$",
        description="Collection channel the step is logged with: email, phone, letter, visit, lawyer_letter, "
        "arbitration, litigation or agency.",
    )
    owner: str = Field(default="collections", description="Role or person who owns the step.")


def _default_ladder() -> dict[str, list[LadderStep]]:
    steps = [
        (3, "friendly reminder", "email", "ar-clerk"),
        (15, "call", "phone", "collector"),
        (30, "visit", "visit", "account-manager"),
        (60, "lawyer's letter", "lawyer_letter", "legal"),
        (90, "litigation or agency", "agency", "legal"),
    ]
    fast = [
        (1, "friendly reminder", "email", "ar-clerk"),
        (7, "call", "phone", "collector"),
        (15, "visit", "visit", "account-manager"),
        (30, "lawyer's letter", "lawyer_letter", "legal"),
        (60, "litigation or agency", "agency", "legal"),
    ]

    def ladder(rows: list[tuple[int, str, str, str]]) -> list[LadderStep]:
        return [LadderStep(after_days=d, action=a, channel=c, owner=o) for d, a, c, o in rows]

    return {"default": ladder(steps), "D": ladder(fast), "E": ladder(fast)}


class CollectionsConfig(_Section):
    ladders: dict[str, list[LadderStep]] = Field(
        default_factory=_default_ladder,
        description="Escalation steps per risk band; 'default' serves bands without their own ladder.",
    )
    promise_grace_days: int = Field(default=3, ge=0, description="Days after a promised date before it is broken.")
    min_overdue: str = Field(default="0.00", description="Overdue amounts at or below this start no collection step.")

    def ladder(self, band: str | None) -> list[LadderStep]:
        """The band's ladder (else the 'default' one), its steps in order of ``after_days``."""
        own = self.ladders.get(band) if band is not None else None
        steps = own if own is not None else self.ladders.get("default")
        if not steps:
            if own is not None:
                raise ConfigError(f"[collections] ladders.{band} has no steps")
            raise ConfigError(
                f"[collections] ladders has no ladder for band {band or '(none)'} and no 'default' ladder; add one"
            )
        return sorted(steps, key=lambda s: s.after_days)

    def min_overdue_amount(self) -> Decimal:
        try:
            value = Decimal(self.min_overdue)
        except ArithmeticError:
            raise ConfigError(f"[collections] min_overdue must be an amount, got {self.min_overdue!r}") from None
        if not value.is_finite() or value < 0:
            raise ConfigError(f"[collections] min_overdue must be zero or more, got {self.min_overdue!r}")
        return value


class SmtpConfig(_Section):
    """The mail server collection emails go out through (``hub comms deliver``)."""

    host: str = Field(default="127.0.0.1", description="SMTP server host name.")
    port: int = Field(default=25, ge=1, le=65535, description="SMTP server port (587 with STARTTLS).")
    starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS before logging in.")
    tls: bool = Field(default=False, description="Implicit TLS from the first byte (SMTPS, usually port 465).")
    ca_file: str | None = Field(
        default=None, description="PEM file of the authority that signed the server's certificate (a private CA)."
    )
    username: Any = Field(default=None, description='Login name, or a secret reference { env = "NAME" }.')
    password: Any = Field(
        default=None, description='Password as a secret reference: { env = "NAME" } or { file = "path" }.'
    )
    timeout_seconds: float = Field(default=20.0, gt=0, description="Seconds to wait for the server.")

    @model_validator(mode="after")
    def _login_only_encrypted(self) -> SmtpConfig:
        # A password sent over a clear connection can be read on the wire; a loopback relay is the
        # one place where that is the server's own business.
        if self.starttls and self.tls:
            raise ValueError("starttls and tls are two ways to encrypt: choose one")
        if self.username is not None and not (self.starttls or self.tls) and not _loopback(self.host):
            raise ValueError(
                f"a login to {self.host} would cross the network in clear: set starttls = true (port 587) "
                "or tls = true (port 465)"
            )
        return self


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FrequencyRule(_Section):
    """At most ``max`` contacts by ``channel`` per customer in any ``days`` days."""

    channel: str = Field(min_length=1, description="Ledger channel counted (email, letter, phone...).")
    max: int = Field(ge=0, description="Contacts allowed in the window (0: never).")
    days: int = Field(ge=1, description="The rolling window in days.")


def _default_frequency() -> list[FrequencyRule]:
    return [FrequencyRule(channel="email", max=3, days=7), FrequencyRule(channel="letter", max=2, days=14)]


class CommsConfig(_Section):
    """Collection communications: templates, email, letters and the compliance rules (docs/communications.md)."""

    templates_dir: str | None = Field(
        default=None, description="A folder of templates that override the shipped ones (same file names)."
    )
    steps: dict[str, str] = Field(
        default_factory=dict,
        description="Ladder step names (their 'action') mapped to a template, "
        'e.g. { "call follow-up" = "second_reminder" }.',
    )
    language: Literal["en", "zh_CN"] = Field(default="en", description="Language of customers without their own.")
    time_zone: str = Field(default="UTC", description="Time zone of customers without their own (IANA name).")
    from_address: str = Field(default="receivables@example.com", description="The From address of collection emails.")
    from_name: str = Field(default="Accounts Receivable", description="The name shown with the From address.")
    reply_to: str | None = Field(default=None, description="Reply-To address (default: none).")
    company: str = Field(default="", description="Your company's name, signed under letters and emails.")
    company_address: str = Field(default="", description="Your company's postal address, on letters.")
    smtp: SmtpConfig = Field(default_factory=SmtpConfig)
    max_attempts: int = Field(default=8, ge=1, description="Tries of an email before it is dead.")
    backoff_seconds: float = Field(default=60.0, ge=0, description="First wait before a retry; doubled each time.")
    backoff_max_seconds: float = Field(default=3600.0, ge=0, description="Longest wait between two tries.")
    lease_seconds: float = Field(default=600.0, gt=0, description="How long a deliverer's claim on a message lasts.")
    frequency: list[FrequencyRule] = Field(
        default_factory=_default_frequency, description="Contact frequency limits per customer and channel."
    )
    quiet_start: str = Field(default="20:00", description="Quiet hours start (customer's local time, HH:MM).")
    quiet_end: str = Field(default="08:00", description="Quiet hours end (customer's local time, HH:MM).")
    quiet_weekends: bool = Field(default=True, description="No emails on Saturdays and Sundays (customer's time).")
    quiet_channels: list[str] = Field(
        default_factory=lambda: ["email"], description="Channels the quiet hours and weekends apply to."
    )
    dispute_blocks_customer: bool = Field(
        default=False,
        description="An open dispute on any invoice stops every contact with the customer "
        "(not only about that invoice).",
    )

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _clock(cls, value: str) -> str:
        try:
            dt.time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day (HH:MM)") from None
        return value

    def smtp_login(self, base_dir: Path) -> tuple[str | None, str | None]:
        """The SMTP user name and password with their secret references resolved (None when not set)."""
        user = resolve_secrets(self.smtp.username, base_dir=base_dir, key="comms.smtp.username")
        password = resolve_secrets(self.smtp.password, base_dir=base_dir, key="comms.smtp.password")
        if password is not None:
            register_secret(str(password))
        return (None if user is None else str(user)), (None if password is None else str(password))


class CreditConfig(_Section):
    band_months: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {"A": 3.0, "B": 2.0, "C": 1.0, "D": 0.5, "E": 0.0},
        description="Recommended limit = this many months of the customer's average invoicing, per band.",
    )
    history_months: int = Field(default=12, ge=1, description="Months of invoicing the average is taken over.")
    rounding: str = Field(default="1000", description="Recommended limits are rounded down to a multiple of this.")
    approval_ratio: float = Field(
        default=0.20, ge=0, description="A change above this share of the current limit needs an approval."
    )
    approval_amount: str = Field(default="10000", description="...or above this amount, whichever is smaller.")
    four_eyes_amount: str | None = Field(
        default=None,
        description="A limit a person requests (console, REST API) whose change is above this amount waits for a "
        "second credit user's approval (four eyes; never the requester's own); smaller ones apply at once. "
        "Default: the approval threshold above (the smaller of approval_ratio of the current limit and "
        "approval_amount; a first limit always waits).",
    )
    hold_raise_overdue_days: int = Field(
        default=90,
        ge=1,
        description="An increase is never applied without an approval for a customer over its limit or with "
        "debts this many days past due.",
    )

    def months(self, band: str) -> Decimal:
        """Months of average invoicing band ``band`` allows (0: prepayment or guarantees only)."""
        if band not in self.band_months:
            raise ConfigError(
                f"[credit] band_months has no entry for band {band!r}; give every band of "
                f"[risk.scorecard] bands a number of months (0 for prepayment only)"
            )
        value = Decimal(str(self.band_months[band]))
        if not value.is_finite() or value < 0:
            raise ConfigError(f"[credit] band_months.{band} must be zero or more, got {self.band_months[band]!r}")
        return value

    def rounding_step(self) -> Decimal:
        return self._amount("rounding", self.rounding, positive=True)

    def approval_limit(self) -> Decimal:
        return self._amount("approval_amount", self.approval_amount, positive=False)

    def approval_share(self) -> Decimal:
        return Decimal(str(self.approval_ratio))

    def four_eyes_limit(self) -> Decimal | None:
        """The configured ``four_eyes_amount``, or None (the approval threshold decides)."""
        if self.four_eyes_amount is None:
            return None
        return self._amount("four_eyes_amount", self.four_eyes_amount, positive=False)

    @staticmethod
    def _amount(key: str, text: str, *, positive: bool) -> Decimal:
        try:
            value = Decimal(str(text).strip())
        except ArithmeticError:
            raise ConfigError(f"[credit] {key} must be an amount, got {text!r}") from None
        if not value.is_finite() or value < 0 or (positive and value == 0):
            wanted = "more than zero" if positive else "zero or more"
            raise ConfigError(f"[credit] {key} must be {wanted}, got {text!r}")
        return value


class OutboxConfig(_Section):
    max_attempts: int = Field(default=8, ge=1)
    backoff_seconds: float = Field(default=30.0, ge=0)
    backoff_max_seconds: float = Field(default=3600.0, ge=0)
    throttle_patience_seconds: float = Field(
        default=48 * 3600.0,
        ge=0,
        description="How long a change a sink keeps throttling (it asked to wait: Retry-After, a daily "
        "allowance used up) waits, out of attempts, before it goes to the dead letters.",
    )
    lease_seconds: float = Field(
        default=600.0,
        gt=0,
        description="How long a pusher's claim on the events it is delivering lasts; a crashed pusher's "
        "events are delivered by the next push after that.",
    )


class ReferenceRate(_Section):
    """One row of the reference rate table: the rate (percent a year) in force from a day on."""

    from_: dt.date = Field(alias="from", description="First day the rate applies (ISO date), e.g. 2024-07-01.")
    rate: str | int | float = Field(description="The reference rate in percent a year, e.g. '4.25'.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InterestConfig(_Section):
    """Late-payment interest and fixed compensation (``hub.interest``, docs/cases.md). Off by default."""

    rule: Literal["off", "eu", "fixed"] = Field(
        default="off",
        description="'eu': reference rate of the half-year plus 'margin' points; 'fixed': 'fixed_rate' a year.",
    )
    margin: str = Field(default="8", description="Points added to the reference rate (EU late-payment rule: 8).")
    reference_rates: list[ReferenceRate] = Field(
        default_factory=list, description="The reference rate by period: [{from = 2024-07-01, rate = '4.25'}, ...]."
    )
    fixed_rate: str = Field(default="0", description="Annual rate in percent for the 'fixed' rule.")
    grace_days: int = Field(default=0, ge=0, description="Interest runs from the day after due date plus these days.")
    compensation: str = Field(
        default="40", description="Fixed compensation per late invoice, in the invoice's currency (EU: 40)."
    )
    compensation_by_currency: dict[str, str] = Field(
        default_factory=dict, description="Compensation per currency where it differs: {CNY = '300'}; '0' for none."
    )
    sinks: list[str] = Field(
        default_factory=list, description="Sinks (ERP connectors) that 'hub interest invoice' queues invoices for."
    )

    def _decimal(self, key: str, text: str) -> Decimal:
        try:
            value = Decimal(text)
        except ArithmeticError:
            raise ConfigError(f"[interest] {key} must be a number, got {text!r}") from None
        if not value.is_finite() or value < 0:
            raise ConfigError(f"[interest] {key} must be zero or more, got {text!r}")
        return value

    def margin_points(self) -> Decimal:
        return self._decimal("margin", self.margin)

    def fixed_percent(self) -> Decimal:
        return self._decimal("fixed_rate", self.fixed_rate)

    def compensation_for(self, currency: str) -> Decimal:
        """The fixed compensation for one late invoice in ``currency``."""
        text = self.compensation_by_currency.get(currency.upper(), self.compensation)
        return self._decimal(f"compensation_by_currency.{currency}", text)

    def rate_table(self) -> list[tuple[dt.date, Decimal]]:
        """The reference rates by first day, oldest first; a bad row is a :class:`ConfigError`."""
        rows: list[tuple[dt.date, Decimal]] = []
        for i, row in enumerate(self.reference_rates):
            rows.append((row.from_, self._decimal(f"reference_rates[{i}].rate", str(row.rate))))
        rows.sort()
        if len({d for d, _ in rows}) != len(rows):
            raise ConfigError("[interest] reference_rates names the same day twice")
        return rows


class ReportConfig(_Section):
    language: Literal["en", "zh_CN"] = Field(
        default="en", description="The language of the HTML report ('hub report'; --lang overrides it)."
    )


AutoLinkRule = Literal["tax_id", "external_link", "iban"]


def _default_auto_link() -> list[AutoLinkRule]:
    return ["tax_id", "external_link", "iban"]


class IdentityConfig(_Section):
    master: str | None = Field(
        default=None,
        description="Connector whose customer ids become canonical ids; default: the first that syncs customers.",
    )
    auto_link: list[AutoLinkRule] = Field(
        default_factory=_default_auto_link,
        description="Rules whose unique, uncontradicted matches are linked at once (tax_id, external_link, iban); "
        "matches by the others are proposed. Name matches are always proposed.",
    )
    name_threshold: float = Field(
        default=88.0, ge=50, le=100, description="Least name similarity (0-100, token-sort ratio) that is proposed."
    )
    name_max_proposals: int = Field(default=3, ge=1, le=20, description="Most name proposals per record.")


#: Days a bureau's report is trusted before an expiring customer is asked about again, by connector type
#: (``[bureaus] ttl_days`` overrides it by instance or type). Ratings of the international bureaus move
#: monthly at most and their monitoring reports what changes sooner; the Chinese bureaus' court and
#: regulator listings change daily and cost little; a batch file is read as often as it is delivered.
DEFAULT_BUREAU_TTL_DAYS: dict[str, int] = {
    "creditsafe": 30,
    "dnb": 30,
    "experian": 30,
    "tianyancha": 7,
    "qichacha": 7,
    "bureau-file": 1,
}


class AdmissionTerms(_Section):
    """What a new customer of one band is offered (客户准入): a share of the bureau's recommended limit,
    payment terms, and whether it pays before delivery."""

    limit_share: float = Field(ge=0, le=1, description="Share of the bureau's recommended limit granted (0-1).")
    terms_days: int = Field(ge=0, description="Payment terms in days (0 with prepayment).")
    prepayment: bool = Field(default=False, description="PREPAYMENT_REQUIRED: payment before delivery.")


def _default_admission_terms() -> dict[str, AdmissionTerms]:
    rows = {
        "A": (1.0, 60, False),
        "B": (0.75, 45, False),
        "C": (0.5, 30, False),
        "D": (0.0, 0, True),
        "E": (0.0, 0, True),
        "unrated": (0.0, 0, True),
    }
    return {b: AdmissionTerms(limit_share=s, terms_days=d, prepayment=p) for b, (s, d, p) in rows.items()}


class AdmissionConfig(_Section):
    """Screening of customers that appear for the first time (``docs/bureaus.md``)."""

    enabled: bool = Field(default=True, description="Screen each new customer once, on the run after it appears.")
    bureau: str | None = Field(
        default=None, description="Bureau connector that screens; default: the first bureau connector in the config."
    )
    by_country: dict[str, str] = Field(
        default_factory=dict,
        description='Bureau connector by the customer\'s country, e.g. { CN = "qichacha" }; others use bureau.',
    )
    terms: dict[str, AdmissionTerms] = Field(
        default_factory=_default_admission_terms,
        description="Terms by band (the bureau's 0-100 score banded by [risk.scorecard] bands), and 'unrated' "
        "for a company the bureau does not rate or does not know.",
    )
    limit: Literal["apply", "propose", "none"] = Field(
        default="apply",
        description="The screened limit of a customer without one: apply (sent to the sinks at once), propose "
        "(waits for 'hub limits approve') or none (recorded only).",
    )
    screen_existing: bool = Field(
        default=False,
        description="The first bureau run screens every customer already known too (paid calls for each); by "
        "default those are recorded as existing and only customers appearing later are screened.",
    )

    def terms_for(self, band: str | None) -> AdmissionTerms:
        key = band if band is not None else "unrated"
        if key not in self.terms:
            raise ConfigError(
                f"[bureaus.admission] terms has no entry for band {key!r}; give every band of "
                "[risk.scorecard] bands and 'unrated' its terms"
            )
        return self.terms[key]


class BureausConfig(_Section):
    """Credit bureau calls: which customers are asked about, how often, and how many paid calls a month."""

    exposure_threshold: str = Field(
        default="10000",
        description="Customers owing more than this (base currency, as of the last risk run) are kept fresh: "
        "refreshed once their report is older than the bureau's TTL.",
    )
    ttl_days: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Days a report is trusted, by bureau connector name or type; default by type "
        "(creditsafe, dnb, experian 30; tianyancha, qichacha 7; bureau-file 1), else default_ttl_days.",
    )
    default_ttl_days: int = Field(default=30, ge=0)
    monthly_budget: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Paid calls (searches and reports) a month, by bureau connector name or type; "
        "else default_monthly_budget. Reached: no more calls that month.",
    )
    default_monthly_budget: int = Field(default=200, ge=0)
    search_retry_days: int = Field(
        default=30, ge=0, description="A search that found no company is not repeated for this many days."
    )
    admission: AdmissionConfig = Field(default_factory=AdmissionConfig)

    def ttl(self, name: str, type_name: str) -> int:
        """Days bureau connector ``name`` (of ``type_name``) keeps a report."""
        for key in (name, type_name):
            if key in self.ttl_days:
                return self.ttl_days[key]
        return DEFAULT_BUREAU_TTL_DAYS.get(type_name, self.default_ttl_days)

    def budget(self, name: str, type_name: str) -> int:
        """Paid calls bureau connector ``name`` (of ``type_name``) may make a calendar month (UTC)."""
        for key in (name, type_name):
            if key in self.monthly_budget:
                return self.monthly_budget[key]
        return self.default_monthly_budget

    def threshold(self) -> Decimal:
        try:
            value = Decimal(str(self.exposure_threshold).strip())
        except ArithmeticError:
            raise ConfigError(
                f"[bureaus] exposure_threshold must be an amount, got {self.exposure_threshold!r}"
            ) from None
        if not value.is_finite() or value < 0:
            raise ConfigError(f"[bureaus] exposure_threshold must be zero or more, got {self.exposure_threshold!r}")
        return value


class WebhookConfig(_Section):
    """One system that may push changes in (``POST /api/v1/webhooks/NAME``), NAME being a connector."""

    secret: Any = Field(
        description='Shared secret of the HMAC-SHA256 signature: { env = "NAME" } or { file = "path" } '
        "(an inline value works but is discouraged)."
    )


class WebConfig(_Section):
    """The web console and REST API (``hub serve``, ``docs/web-api.md``)."""

    secure_cookies: bool = Field(
        default=True,
        description="Send the session cookie only over HTTPS; false only for plain http on loopback.",
    )
    session_hours: float = Field(default=12.0, gt=0, description="A browser session ends this long after login.")
    idle_minutes: float = Field(
        default=120.0, gt=0, description="...or this long after its last request, whichever is sooner."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins of one user name, or from one address, before logins are refused."
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="The window failures are counted in; refused until the oldest ages out."
    )
    webhook_max_age_seconds: int = Field(
        default=300, ge=1, description="A webhook call signed longer ago than this (or ahead by as much) is refused."
    )
    webhooks: dict[str, WebhookConfig] = Field(
        default_factory=dict, description="Systems that may call the webhook, by connector name."
    )

    def webhook_secret(self, name: str, base_dir: Path) -> str | None:
        """The resolved shared secret of webhook ``name``, or None when none is configured."""
        hook = self.webhooks.get(name)
        if hook is None:
            return None
        value = resolve_secrets(hook.secret, base_dir=base_dir, key=f"web.webhooks.{name}.secret")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"[web.webhooks.{name}] secret must be a non-empty string or a secret reference")
        register_secret(value)
        return value


#: What a ``[queue.schedule]`` entry may start: a whole run, or one step of it alone.
SCHEDULABLE = ("run", "sync", "identity", "reconcile", "bureaus", "risk", "push")


class QueueConfig(_Section):
    """Workers on PostgreSQL (procrastinate, ``hub worker``; docs/workers.md)."""

    concurrency: int = Field(default=1, ge=1, le=64, description="Jobs one 'hub worker' runs at once.")
    queues: list[str] = Field(
        default_factory=list, description="Queues a worker takes jobs from (default: every queue)."
    )
    max_attempts: int = Field(default=5, ge=1, description="Tries of a job that fails for a transient reason.")
    retry_seconds: float = Field(
        default=2.0, ge=0, description="First wait before a retry; doubled on each further attempt (capped)."
    )
    retry_max_seconds: float = Field(default=300.0, ge=0, description="Longest wait between two tries.")
    heartbeat_seconds: float = Field(
        default=10.0, gt=0, description="How often a worker tells the database it is alive."
    )
    stalled_after_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A worker silent this long is dead (kill -9, lost machine): its jobs are run again.",
    )
    schedule: dict[str, str] = Field(
        default_factory=dict,
        description="Cron schedules by what they start: run, sync, identity, reconcile, bureaus, risk, push; e.g. "
        '{ run = "*/15 * * * *" }.',
    )

    @field_validator("schedule")
    @classmethod
    def _known_steps(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(SCHEDULABLE))
        if unknown:
            raise ValueError(f"unknown schedule {', '.join(unknown)}; use {', '.join(SCHEDULABLE)}")
        for what, cron in value.items():
            if len(cron.split()) not in (5, 6):
                raise ValueError(f"{what}: {cron!r} is not a cron expression (five fields, or six with seconds)")
        return value


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
    fx: FxConfig = Field(default_factory=FxConfig)
    collections: CollectionsConfig = Field(default_factory=CollectionsConfig)
    credit: CreditConfig = Field(default_factory=CreditConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    bureaus: BureausConfig = Field(default_factory=BureausConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    comms: CommsConfig = Field(default_factory=CommsConfig)
    interest: InterestConfig = Field(default_factory=InterestConfig)

    #: Folder relative paths resolve against; set by :func:`load_config`.
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    def connector_settings(self, name: str) -> dict[str, Any]:
        """Connector ``name``'s section with its secret references resolved (``{env = ...}``,
        ``{file = ...}``). Resolved when a connector is built, not when the config is read, so that
        commands that need no connector (``hub init``, ``hub outbox``, ``hub matches``) run without
        its secrets; a missing one is a :class:`ConfigError` naming the key."""
        return dict(resolve_secrets(self.connectors[name], base_dir=self.base_dir, key=f"connectors.{name}"))

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
    for name, section in config.connectors.items():
        if not isinstance(section, dict) or "type" not in section:
            raise ConfigError(f"{chosen}: [connectors.{name}] needs a 'type' (e.g. type = \"csv\")")
        _register_secrets(section, key=f"connectors.{name}", base_dir=base_dir)
    return config


def _register_secrets(value: Any, *, key: str, base_dir: Path) -> None:
    """Register with the log redactor every secret the section names that can be read now, and
    every inline value under a secret-looking key; a reference that cannot be resolved yet is an
    error only when its connector is built (:meth:`HubConfig.connector_settings`)."""
    if isinstance(value, dict):
        if set(value) in ({"env"}, {"file"}):
            with contextlib.suppress(ConfigError):
                resolve_secrets(value, base_dir=base_dir, key=key)
            return
        for k, v in value.items():
            _register_secrets(v, key=f"{key}.{k}", base_dir=base_dir)
    elif isinstance(value, list):
        for v in value:
            _register_secrets(v, key=key, base_dir=base_dir)
    elif isinstance(value, str) and any(h in key.rsplit(".", 1)[-1].lower() for h in SECRET_KEY_HINTS):
        register_secret(value)


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
