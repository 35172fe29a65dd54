"""Languages: the texts people read, in English and Simplified Chinese, and numbers, money and dates
written the way each locale writes them.

The messages are English in the code (``_("Receipts")``); their translations live in gettext
catalogues, ``hub/locale/<locale>/LC_MESSAGES/hub.po``, kept with Babel (``docs/translating.md``).
The ``.po`` files are compiled in memory when first used, so the package carries no binary ``.mo``
and there is no build step. A text without a translation is shown in English, never blank.

The locale of a person comes from their own setting, else from their browser's ``Accept-Language``;
the locale of a CRM sink from its ``language`` setting. Every function takes the locale explicitly:
nothing here is global to a process that serves many people at once.
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _format_date, format_datetime as _format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

from hub.fmt import format_money

#: The locales the hub is translated into; the first is the source language and the fallback.
LOCALES: tuple[str, ...] = ("en", "zh_CN")
DEFAULT_LOCALE = LOCALES[0]
DOMAIN = "hub"
CATALOGUES = Path(__file__).resolve().parent / "locale"

#: How each locale names itself, for a language switch.
LOCALE_NAMES = {"en": "English", "zh_CN": "简体中文"}


def normalize(tag: str | None) -> str | None:
    """The supported locale a language tag means (``zh-CN``, ``zh-Hans``, ``zh`` -> ``zh_CN``;
    ``en-GB`` -> ``en``), or None when the hub does not speak it."""
    if not tag:
        return None
    try:
        parsed = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if parsed.language == "zh":
        # Traditional script (zh-TW, zh-Hant) is not Simplified Chinese: no translation rather than a wrong one.
        return None if parsed.script == "Hant" or parsed.territory in ("TW", "HK", "MO") else "zh_CN"
    return "en" if parsed.language == "en" else None


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The locale to use: the person's own setting if the hub speaks it, else the best of an
    ``Accept-Language`` header by its q-values, else English."""
    if (own := normalize(preferred)) is not None:
        return own
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and (found := normalize(tag)) is not None:
            choices.append((-q, position, found))
    return min(choices)[2] if choices else DEFAULT_LOCALE


def catalogue_files(locale: str) -> list[Path]:
    """The ``.po`` files of ``locale``: ``hub.po`` first, then every ``*.po.part`` in name order
    (a part holds the translations of one area, plain entries without a header, so that people
    translating different areas at once do not edit the same file)."""
    folder = CATALOGUES / locale / "LC_MESSAGES"
    main = folder / f"{DOMAIN}.po"
    return ([main] if main.exists() else []) + sorted(folder.glob("*.po.part"))


def read_catalogue(locale: str) -> Catalog:
    """The merged catalogue of ``locale`` (``hub.po`` and its parts); a message translated in two
    files keeps the first non-empty translation (the test suite fails on such a conflict)."""
    merged: Catalog | None = None
    for path in catalogue_files(locale):
        with path.open("rb") as po:
            catalog = read_po(po, locale=locale, domain=DOMAIN)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if not message.id:
                continue  # a part's header, if it has one
            have = merged.get(message.id, message.context)
            if have is None or not _translated(have.string):
                merged[message.id] = message
    return merged if merged is not None else Catalog(locale=locale, domain=DOMAIN)


def _translated(string: str | tuple[str, ...] | list[str] | None) -> bool:
    if isinstance(string, (tuple, list)):
        return all(string)
    return bool(string)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The catalogue of ``locale`` compiled from its ``.po`` files (cached); English: the messages themselves."""
    if locale == DEFAULT_LOCALE or not catalogue_files(locale):
        return _gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(locale), use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def gettext(locale: str, message: str, /, **values: object) -> str:
    """``message`` in ``locale``, with ``%(name)s`` placeholders filled from ``values``."""
    text = translations(locale).gettext(message)
    return text % values if values else text


def ngettext(locale: str, singular: str, plural: str, n: int, /, **values: object) -> str:
    """The singular or plural form for ``n`` in ``locale``; ``%(num)s`` is ``n``."""
    text = translations(locale).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def N_(message: str) -> str:
    """Mark a text for the catalogue without translating it now (it is translated where it is shown)."""
    return message


def render(locale: str, msgid: str, values: Mapping[str, object] | None = None) -> str:
    """A message stored as its id and values (a structured reason, an error) in ``locale``.

    Where the translation cannot be filled with the values (a catalogue mistake the tests guard
    against), the English sentence is shown rather than an error or a half-filled text.
    """
    text = translations(locale).gettext(msgid)
    if not values:
        return text
    # a value may itself be a message (``Message(N_("approved"))``), an amount or a day: said in ``locale``
    filled = {name: _fill(value, locale) for name, value in values.items()}
    try:
        return text % filled
    except (KeyError, ValueError, TypeError):
        return msgid % {name: _fill(value, DEFAULT_LOCALE) for name, value in values.items()}


def _fill(value: object, locale: str) -> object:
    """A value as it fills a placeholder: a message, amount, day... rendered; anything else as is
    (so ``%(id)d`` and ``%(name)r`` keep working)."""
    if isinstance(value, (Message, Amount, Days, Day, Share, Join)):
        return render_value(value, locale)
    return value


def error_text(locale: str, exc: BaseException) -> str:
    """The message of ``exc`` in ``locale``, for a person reading an API answer or a page.

    A :class:`hub.errors.HubError` raised with a message id and values is rendered in ``locale``;
    any other error, or one whose message has no translation, reads as ``str(exc)`` (English).
    """
    msgid = getattr(exc, "msgid", None)
    if not isinstance(msgid, str) or locale == DEFAULT_LOCALE:
        return str(exc)
    values = getattr(exc, "values", None)
    try:
        return render(locale, msgid, values if isinstance(values, Mapping) else None)
    except (KeyError, ValueError, TypeError):  # pragma: no cover - render already falls back
        return str(exc)


def _babel_locale(locale: str) -> str:
    return "zh_Hans_CN" if locale == "zh_CN" else "en_US" if locale == "en" else locale


def money(amount: Decimal | int | str | None, currency: str | None, locale: str) -> str:
    """``€54,000.00`` / ``¥54,000.00``, or ``-`` for none; without a currency just the number."""
    if amount is None:
        return "\u2013"
    value = amount if isinstance(amount, Decimal) else Decimal(amount)
    if not currency:
        return number(value, locale, places=2)
    return format_currency(value, currency, locale=_babel_locale(locale))


def number(value: Decimal | float | int | None, locale: str, *, places: int = 0) -> str:
    """A number with the locale's grouping and ``places`` decimals; ``-`` for none."""
    if value is None:
        return "\u2013"
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(value, format=pattern, locale=_babel_locale(locale))


def percent(value: Decimal | float | None, locale: str, *, places: int = 0) -> str:
    """``83%`` for 0.83; ``-`` for none."""
    if value is None:
        return "\u2013"
    pattern = "#,##0" + ("." + "0" * places if places else "") + "%"
    return format_percent(value, format=pattern, locale=_babel_locale(locale))


def date(value: dt.date | None, locale: str, *, style: str = "medium") -> str:
    """``5 Dec 2026`` / ``2026年12月5日``; ``-`` for none."""
    if value is None:
        return "\u2013"
    return _format_date(value, format=style, locale=_babel_locale(locale))


def datetime(value: dt.datetime | None, locale: str, *, style: str = "medium") -> str:
    """A timestamp in the locale's style (as stored: UTC); ``-`` for none."""
    if value is None:
        return "\u2013"
    return _format_datetime(value, format=style, locale=_babel_locale(locale))


# -- structured messages: a sentence kept as its id and values, rendered in any locale later ----------


class _English:
    """``str()`` of a message value is its English text (an error's ``str(exc)``, a log line)."""

    def __str__(self) -> str:
        return render_value(self, DEFAULT_LOCALE)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Amount(_English):
    """An amount in a currency inside a message: ``54,000.00 EUR`` in English, ``€54,000.00`` in Chinese.

    ``plain``: written in English as the number is kept, ungrouped (``54000.00 EUR``, or ``54000.00``
    without a currency), as cash application's reasons have always written amounts (a receipt's
    ``54000.00`` read beside the bank's own text); in Chinese like any other amount.
    """

    amount: Decimal
    currency: str | None
    plain: bool = False

    def __init__(self, amount: Decimal, currency: str | None, plain: bool = False) -> None:
        # Into the instance's dict (see Message.__init__): a cash application run writes one or two a proposal.
        fields = self.__dict__
        fields["amount"] = amount
        fields["currency"] = currency
        fields["plain"] = plain

    def json(self) -> str:
        """:func:`_encode`'s JSON of the amount, compact, written directly."""
        currency = "null" if self.currency is None else _json_str(self.currency)
        return (
            '{"money":['
            + _json_str(str(self.amount))
            + ","
            + currency
            + ("]," + '"plain":true}' if self.plain else "]}")
        )


@dataclass(frozen=True)
class Days(_English):
    """A number of days: ``1 day``, ``22.5 days`` / ``22.5天``."""

    value: float


@dataclass(frozen=True)
class Day(_English):
    """A day: ISO ``2026-12-05`` in English (as the English sentences always wrote it), ``2026年12月5日``."""

    value: dt.date


@dataclass(frozen=True)
class Share(_English):
    """A share: ``83%`` for 0.83."""

    value: float


@dataclass(frozen=True)
class Join(_English):
    """Parts said one after the other: ``a; b`` in English, a full-width semicolon in Chinese."""

    parts: tuple[Value, ...]
    sep: str = "; "


@dataclass(frozen=True)
class Message(_English):
    """A sentence kept as its gettext message id and values, so that any locale can render it later.

    ``Message(N_("%(days)s past due"), days=Days(23)).render("zh_CN")``; :meth:`english` is the text
    stored where a sentence was stored before (the history keeps reading as it did), and
    :meth:`to_json` / :meth:`from_json` carry it in JSON columns and outbox payloads.
    """

    msgid: str
    values: Mapping[str, Value]

    def __init__(self, msgid: str, /, **values: Value) -> None:
        # Written into the instance's dict, not through the frozen dataclass's __setattr__ (twice as slow):
        # cash application builds a few messages for every clue it weighs, hundreds of thousands a run.
        fields = self.__dict__
        fields["msgid"] = msgid
        fields["values"] = values

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its id and values only: not the English and JSON it may have worked out (a run's
        blocks of decisions are pickled with their reasons, and said in English only at the write)."""
        return (_restored, (type(self), self.msgid, self.values))

    def render(self, locale: str) -> str:
        if locale == DEFAULT_LOCALE:
            return self.english()
        text = translations(locale).gettext(self.msgid)
        if not self.values:
            return text
        filled = {name: render_value(value, locale) for name, value in self.values.items()}
        try:
            return text % filled
        except (KeyError, ValueError, TypeError):
            return self.english()

    def english(self) -> str:
        """The English sentence, worked out once: a message is immutable, and one clue's sentence is part
        of every proposal it supports. Kept beside the fields, out of ``values``: equality is unchanged."""
        text: str | None = self.__dict__.get("_english")
        if text is None:
            text = self.__dict__["_english"] = self._say_english()
        return text

    def json_body(self) -> str:
        """``"k":...,"v":{...}``: the message as :func:`messages_json` stores it, compact JSON text (non-ASCII
        characters as they are): its id by its key (:func:`message_key`), its values as :meth:`to_json`
        encodes them, a nested message likewise. Worked out once: one clue's message is part of several
        proposals (a payer's name, of every receipt of that payer), and serializing each list's nested
        dicts anew cost more than the rest of storing it."""
        body: str | None = self.__dict__.get("_json_body")
        if body is None:
            body = self.__dict__["_json_body"] = self._say_json()
        return body

    def _say_english(self) -> str:
        """The English sentence: text as is, numbers as ``str()`` writes them, a nested message's own
        (worked out once), anything else (an amount, a day...) by :func:`render_value`."""
        if not self.values:
            return self.msgid
        filled: dict[str, Any] = {}
        for name, value in self.values.items():
            if isinstance(value, str):
                filled[name] = value
            elif isinstance(value, Message):
                filled[name] = value.english()
            elif type(value) is int:
                filled[name] = str(value)
            elif isinstance(value, Amount) and value.plain:
                amount, currency = value.amount, value.currency
                filled[name] = f"{amount} {currency}" if currency else str(amount)
            else:
                filled[name] = render_value(value, DEFAULT_LOCALE)
        return self.msgid % filled

    def _say_json(self) -> str:
        """The stored form (:meth:`json_body`) in one pass over the values: text as a JSON string, a nested
        message's own (worked out once), anything else by :func:`_encode`."""
        members = []
        for name, value in self.values.items():
            if isinstance(value, str):
                said = _json_str(value)
            elif isinstance(value, Message):
                said = '{"msg":{' + value.json_body() + "}}"
            elif type(value) is int:
                said = str(value)
            elif isinstance(value, Amount) and value.plain:
                said = value.json()
            else:
                said = _compact_json(_encode(value))
            key = _JSON_KEYS.get(name)
            if key is None:
                key = _json_str(name) + ":"
                if len(_JSON_KEYS) < 1000:
                    _JSON_KEYS[name] = key
            members.append(key + said)
        return '"k":"' + message_key(self.msgid) + '","v":{' + ",".join(members) + "}"

    def to_json(self) -> dict[str, Any]:
        """``{"id": ..., "values": ...}``; the values' encoding is worked out once and shared by every copy
        (do not change it)."""
        fields = self.__dict__
        encoded: dict[str, Any] | None = fields.get("_json")
        if encoded is None:
            encoded = fields["_json"] = {
                name: value if type(value) is str else _encode(value) for name, value in self.values.items()
            }
        return {"id": self.msgid, "values": encoded}

    @classmethod
    def from_json(cls, data: Any) -> Message | None:
        """The message ``to_json`` wrote, or None for anything else (an old row without one)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
            return None
        values = data.get("values")
        try:
            decoded = {str(k): _decode(v) for k, v in values.items()} if isinstance(values, Mapping) else {}
        except (KeyError, ValueError, TypeError, ArithmeticError):
            return None
        return cls(data["id"], **decoded)


Value = str | int | float | Decimal | Amount | Days | Day | Share | Join | Message


def _restored(kind: type[Message], msgid: str, values: Mapping[str, Value]) -> Message:
    """A message unpickled (:meth:`Message.__reduce__`), its fields set as ``__init__`` sets them (without
    spreading the values as keywords to gather them again: a run unpickles hundreds of thousands)."""
    message = kind.__new__(kind)
    fields = message.__dict__
    fields["msgid"] = msgid
    fields["values"] = values
    return message


def _plain_number(value: float) -> str:
    rounded = round(float(value), 1)
    return f"{rounded + 0.0:g}"  # + 0.0 turns -0.0 into 0.0


def render_value(value: Value, locale: str) -> str:
    english = locale == DEFAULT_LOCALE
    match value:
        case Message():
            return value.render(locale)
        case Amount(amount=amount, currency=currency, plain=plain):
            if not english:
                return money(amount, currency, locale)
            if plain:
                return f"{amount} {currency}" if currency else str(amount)
            return format_money(amount, currency)
        case Days(value=n):
            text = _plain_number(n)
            if english:
                return f"{text} day" if text in ("1", "-1") else f"{text} days"
            return f"{text}天"
        case Day(value=day):
            return day.isoformat() if english else date(day, locale)
        case Share(value=share):
            return f"{share:.0%}" if english else percent(share, locale)
        case Join(parts=parts, sep=sep):
            if not english:
                # fullwidth semicolon and comma; sentences follow one another without a space
                sep = {"; ": "\uff1b", ", ": "\uff0c", " ": "", " and ": "\uff0c\u4e14"}.get(sep, sep)
            return sep.join(render_value(p, locale) for p in parts)
        case float():
            return _plain_number(value)
        case _:
            return str(value)


def _encode(value: Value) -> Any:
    match value:
        case Message():
            return {"msg": value.to_json()}
        case Amount(amount=amount, currency=currency, plain=plain):
            return {"money": [str(amount), currency], "plain": True} if plain else {"money": [str(amount), currency]}
        case Days(value=n):
            return {"days": n}
        case Day(value=day):
            return {"date": day.isoformat()}
        case Share(value=share):
            return {"percent": share}
        case Join(parts=parts, sep=sep):
            return {"join": [_encode(p) for p in parts], "sep": sep}
        case Decimal():
            return {"decimal": str(value)}
        case _:
            return value


def _decode(data: Any) -> Value:
    if isinstance(data, Mapping):
        if "msg" in data:
            inner = Message.from_json(data["msg"])
            if inner is None:
                raise ValueError("not a message")
            return inner
        if "money" in data:
            amount, currency = data["money"]
            return Amount(Decimal(amount), currency, bool(data.get("plain", False)))
        if "days" in data:
            return Days(float(data["days"]))
        if "date" in data:
            return Day(dt.date.fromisoformat(data["date"]))
        if "percent" in data:
            return Share(float(data["percent"]))
        if "join" in data:
            return Join(tuple(_decode(p) for p in data["join"]), str(data.get("sep", "; ")))
        if "decimal" in data:
            return Decimal(data["decimal"])
        raise ValueError("unknown value")
    if isinstance(data, (str, int, float)):
        return data
    raise ValueError("unknown value")


def reason_text(locale: str, message: Any, english: str) -> str:
    """A stored reason in ``locale``: its message (``message`` column or key, as
    :meth:`Message.to_json` wrote it) rendered, else the English sentence stored beside it.

    For a flag (``risk_flag.message``), a score's signal (``exposure.signals[].message``) or an event
    (``payload["message"]``): ``{{ reason_text(locale, flag.message, flag.reason) }}``.
    """
    found = Message.from_json(message)
    return found.render(locale) if found is not None else english


def stored(message: Message) -> dict[str, Any]:
    """A reason as a JSON list keeps it (``credit_limit_proposal.reasons``, ``bureau_screening.reasons``):
    its English sentence under ``text`` (what the command line, the API and an old reader show) beside
    the message (:meth:`Message.to_json`) any locale can say."""
    return {"text": message.english(), **message.to_json()}


def messages_json(items: Iterable[Message | str]) -> str:
    """A list of reasons as JSON text, compact: what a run that stores many lists of reasons (cash
    application, ``allocation.reasons``) writes, once per list. Each message as ``{"k": key, "v":
    values}``, its id by its key (:func:`message_key`, the ids themselves in the ``message_key`` table:
    :func:`hub.store.messages.save_keys`), its values as :meth:`Message.to_json` encodes them; a plain
    string (a plugin's reason written in English) as it is. Read back with :func:`expand_stored`; the
    English is said from the message then (:func:`stored_english`).

    Written as :func:`stored` writes a reason, with its English and its id beside each message, a run's
    reasons took four times the room of the sentences stored before messages: the ids (a few dozen,
    repeated in every list) were half of it, the English a third of the rest."""
    return (
        "["
        + ",".join("{" + item.json_body() + "}" if isinstance(item, Message) else _compact_json(item) for item in items)
        + "]"
    )


#: The key of each message id a process has stored compactly, and the id of each key (message_key).
_KEYS: dict[str, str] = {}
_IDS: dict[str, str] = {}


def message_key(msgid: str) -> str:
    """A message id's key in :func:`messages_json`'s form: 12 hex digits of its BLAKE2b digest, the same
    in every process and version (a store keeps the id of each key it holds: ``message_key``)."""
    key = _KEYS.get(msgid)
    if key is None:
        key = hashlib.blake2b(msgid.encode(), digest_size=6).hexdigest()
        if _IDS.get(key, msgid) != msgid:  # two ids with one key (about 1 in 10^11 for 100 ids): never mixed up
            raise ValueError(f"message key {key} names both {_IDS[key]!r} and {msgid!r}")
        _KEYS[msgid] = key
        _IDS[key] = msgid
    return key


def keyed_ids() -> dict[str, str]:
    """Every message id this process has keyed, by key: what a store must know to read back the
    reasons written here (:func:`hub.store.messages.save_keys`)."""
    return dict(_IDS)


def expand_stored(item: Any, ids: Mapping[str, str]) -> Any:
    """A reason as it is stored, in the form :func:`stored_english` and :func:`stored_text` read: a
    message :func:`messages_json` wrote has its id looked up by key in ``ids`` (the store's
    ``message_key`` table, :func:`hub.store.messages.load_keys`), nested messages too; anything else
    (a reason stored with its English, an old row's plain sentence) as it is."""
    if not isinstance(item, Mapping) or "k" not in item:
        return item
    key = item["k"]
    msgid = ids.get(key)
    if msgid is None:
        # A store missing an id it was written with (copied by hand without the table): said, not hidden.
        return f"(a reason whose message {key} this store does not hold)"
    values = item.get("v")
    return {
        "id": msgid,
        "values": {n: _expand_value(v, ids) for n, v in values.items()} if isinstance(values, Mapping) else {},
    }


def _expand_value(value: Any, ids: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        if "msg" in value:
            inner = expand_stored(value["msg"], ids)
            return {"msg": inner} if isinstance(inner, Mapping) else inner
        if "join" in value and isinstance(value["join"], list):
            return {**value, "join": [_expand_value(part, ids) for part in value["join"]]}
    return value


_compact_json = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode
_json_str = json.encoder.encode_basestring  # a str as a JSON string, non-ASCII as it is (C)
_JSON_KEYS: dict[str, str] = {}  # a value's name as a JSON member's start ('"amount":'): a few dozen names


def stored_english(item: Any) -> str:
    """The English sentence of a stored reason: a plain string (a row written before messages) as is,
    else its ``text`` (or its message said in English)."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        text = item.get("text")
        if isinstance(text, str):
            return text
        found = Message.from_json(item)
        if found is not None:
            return found.english()
    return "" if item is None else str(item)


def stored_message(item: Any) -> Message | None:
    """The message of a stored reason (:func:`stored`), or None for a plain English string."""
    return Message.from_json(item) if isinstance(item, Mapping) else None


def stored_text(locale: str, item: Any) -> str:
    """A stored reason (:func:`stored`, or a plain English string of an old row) in ``locale``."""
    found = stored_message(item)
    return found.render(locale) if found is not None else stored_english(item)


#: Who decides without a person (``decided_by``, ``approved_by``), as a person reads it; a person's name as is.
DECIDERS: dict[str, str] = {
    "policy": N_("automatically, by policy"),
    "admission-screening": N_("automatically, by the admission screening"),
}


def decider_label(name: str | None, locale: str) -> str:
    """``policy`` -> ``automatically, by policy`` / ``按政策自动``; anyone else's name as it is."""
    if not name:
        return ""
    label = DECIDERS.get(name)
    return gettext(locale, label) if label else name


# -- flag names --------------------------------------------------------------------------------------

#: The name a person reads for each flag code (``OVERDUE_<N>`` for any N: :func:`flag_label`).
FLAG_LABELS: dict[str, str] = {
    "OVER_LIMIT": N_("Over the credit limit"),
    "BUREAU_DOWNGRADE": N_("Downgraded by a credit bureau"),
    "LEGAL_EVENT": N_("Legal event reported"),
    "BROKEN_PROMISE": N_("Broken promise to pay"),
    "CREDIT_HOLD": N_("Credit hold: stop deliveries"),
    "PREPAYMENT_REQUIRED": N_("Prepayment required"),
    "SCORE_DROP": N_("Risk score dropped"),
    "FIRST_LATE_PAYMENT": N_("First late payment"),
    "PAYMENT_PATTERN_CHANGE": N_("Paying later than before"),
    "RISK_BAND": N_("Risk band"),
}
_OVERDUE = re.compile(r"^OVERDUE_(\d+)$")


def flag_label(code: str, locale: str) -> str:
    """``OVERDUE_60`` -> ``More than 60 days overdue`` / ``逾期超过60天``; an unknown code (a plugin's) as is."""
    if (found := _OVERDUE.match(code)) is not None:
        return gettext(locale, N_("More than %(days)s days overdue"), days=int(found[1]))
    label = FLAG_LABELS.get(code)
    return gettext(locale, label) if label else code
