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
import io
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _format_date, format_datetime as _format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

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
    try:
        return text % dict(values)
    except (KeyError, ValueError, TypeError):
        return msgid % dict(values)


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
