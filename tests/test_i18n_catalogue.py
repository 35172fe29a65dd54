"""The Simplified Chinese catalogue is complete: every text marked in the code and the templates has a
translation, its placeholders match, and the catalogue files parse.

The texts are extracted here with Babel's own extractor (what ``pybabel extract -F babel.cfg`` reads),
so a new untranslated text fails with the file and line that mark it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from hub import i18n

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdrif]")

#: hub.i18n.gettext(locale, message) and ngettext(locale, singular, plural, n) take the locale
#: first; ``_n`` is the report's plural (``Words.ngettext``).
PYTHON_KEYWORDS = {**DEFAULT_KEYWORDS, "gettext": (2,), "ngettext": (2, 3), "_n": (1, 2)}


def _marked() -> dict[str | tuple[str, str], list[str]]:
    """Every marked text (a plural as singular and plural) -> where it is marked."""
    found: dict[str | tuple[str, str], list[str]] = defaultdict(list)
    passes = [
        ([("hub/**.py", "python"), ("plugins/**.py", "python")], PYTHON_KEYWORDS),
        ([("hub/web/templates/**.html", "jinja2.ext:babel_extract")], DEFAULT_KEYWORDS),
    ]
    for method_map, keywords in passes:
        options = {"hub/web/templates/**.html": {"extensions": "jinja2.ext.do"}}
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map=options, keywords=keywords
        ):
            key = tuple(message) if isinstance(message, tuple) else message
            if isinstance(key, tuple) and len(key) == 1:
                key = key[0]
            if key:
                found[key].append(f"{filename}:{lineno}")  # type: ignore[index]
    return found


@pytest.fixture(scope="module")
def marked() -> dict[str | tuple[str, str], list[str]]:
    return _marked()


@pytest.fixture(scope="module")
def catalogue() -> dict[str | tuple[str, str], str | tuple[str, ...]]:
    return {m.id: m.string for m in i18n.read_catalogue("zh_CN") if m.id}


def test_the_extraction_finds_the_marked_texts_of_the_code(marked: dict[str | tuple[str, str], list[str]]) -> None:
    assert "More than %(days)s days overdue" in marked  # N_ in hub/i18n.py
    assert "Key figures" in marked  # _ in the report
    assert any(isinstance(k, tuple) for k in marked)  # plurals


def test_every_catalogue_file_parses_and_no_text_is_translated_twice_differently() -> None:
    seen: dict[object, tuple[object, Path]] = {}
    for path in i18n.catalogue_files("zh_CN"):
        with path.open("rb") as f:
            catalog = read_po(f, locale="zh_CN")  # raises on a malformed file
        for message in catalog:
            if not message.id or not message.string:
                continue
            if message.id in seen and seen[message.id][0] != message.string:
                pytest.fail(f"{message.id!r} is translated in {seen[message.id][1].name} and {path.name} differently")
            seen[message.id] = (message.string, path)


def test_every_marked_text_has_a_chinese_translation(
    marked: dict[str | tuple[str, str], list[str]], catalogue: dict[str | tuple[str, str], str | tuple[str, ...]]
) -> None:
    missing = [
        f"{', '.join(places[:2])}: {key!r}"
        for key, places in sorted(marked.items(), key=lambda kv: kv[1][0])
        if not _translated(catalogue.get(key))
    ]
    assert not missing, "texts without a zh_CN translation (add them to hub/locale/zh_CN/LC_MESSAGES/):\n" + "\n".join(
        missing
    )


def _translated(string: str | tuple[str, ...] | None) -> bool:
    if isinstance(string, tuple):
        return all(string)
    return bool(string)


def test_a_translation_has_the_placeholders_of_its_message(
    catalogue: dict[str | tuple[str, str], str | tuple[str, ...]],
) -> None:
    wrong = []
    for key, string in catalogue.items():
        if not string:
            continue
        ids = key if isinstance(key, tuple) else (key,)
        strings = string if isinstance(string, tuple) else (string,)
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for text in strings:
            names = set(PLACEHOLDER.findall(text))
            # a plural's singular may say "one" in words; every name must be known, none invented
            if not names <= wanted or (not isinstance(key, tuple) and names != wanted):
                wrong.append(f"{key!r}: {sorted(names)} != {sorted(wanted)}")
            if text.count("%") - text.count("%%") * 2 != len(PLACEHOLDER.findall(text)):
                wrong.append(f"{key!r}: a stray % in {text!r} (write %% for a percent sign)")
    assert not wrong, "\n".join(wrong)
