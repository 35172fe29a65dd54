"""The console in Simplified Chinese: every text of its templates and pages has a translation with the same
placeholders, and a page read in Chinese shows none of the English texts of the catalogue."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from starlette.testclient import TestClient

from hub import i18n
from hub.app import Hub

from .conftest import USERS, login

ROOT = Path(__file__).resolve().parents[2]


def console_msgids() -> list[str]:
    """Every message id the console's templates and modules use (extracted as Babel does)."""
    found: list[str] = []
    for path in sorted((ROOT / "hub" / "web" / "templates" / "console").glob("*.html")):
        for _line, msg, _comments, _ctx in extract_from_file(
            "jinja2.ext:babel_extract", str(path), keywords={"_": None}
        ):
            found.append(msg if isinstance(msg, str) else msg[0])
    for path in sorted((ROOT / "hub" / "web" / "console").glob("*.py")):
        for _line, msg, _comments, _ctx in extract_from_file(
            "python", str(path), keywords={"_": None, "N_": None, "gettext": (2,)}
        ):
            found.append(msg if isinstance(msg, str) else msg[0])
    return sorted(set(found) - {""})


PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_every_console_text_has_a_chinese_translation_with_the_same_placeholders() -> None:
    catalogue = i18n.translations("zh_CN")
    ids = console_msgids()
    assert len(ids) > 200
    missing = [m for m in ids if catalogue.gettext(m) == m and m not in ("SMS",)]
    assert missing == []
    for m in ids:
        assert sorted(PLACEHOLDER.findall(catalogue.gettext(m))) == sorted(PLACEHOLDER.findall(m)), m


class Texts(HTMLParser):
    """The texts a person reads on a page: text nodes (not scripts or styles, nor data marked
    ``translate="no"`` such as a connector's name), placeholders, titles, labels."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style") or ("translate", "no") in attrs:
            self._skip += 1
            self._open.append(tag)
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label", "hx-confirm") and value:
                self.texts.append(value.strip())

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag == self._open[-1]:
            self._open.pop()
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def english_left(html: str, ids: list[str]) -> set[str]:
    """Texts of the page that are an English message id of the console (and not the same in Chinese)."""
    parser = Texts()
    parser.feed(html)
    fixed = {m for m in ids if "%(" not in m and i18n.gettext("zh_CN", m) != m}
    return {t for t in parser.texts if t in fixed}


@pytest.mark.parametrize("user", ["ada", "lin", "sam"])
def test_every_page_in_chinese_shows_no_english_label(client: TestClient, web_hub: Hub, user: str) -> None:
    csrf = login(client, user)
    assert client.post("/language", data={"csrf_token": csrf, "locale": "zh_CN", "next": "/"}).status_code == 303
    ids = console_msgids()
    customer = web_hub.exposures.page(sort="-open_base", limit=1).items[0]["customer_id"]
    receipt = web_hub.matches.receipts(status="suggested", limit=1).items[0]["key"]
    pages = [
        "/",
        "/receipts",
        "/receipts?tab=matched",
        "/receipts?tab=open",
        f"/receipts/{receipt}",
        "/customers",
        f"/customers/{customer}",
        "/collections",
        "/limits",
    ]
    if USERS[user] != ("sales",):
        pages.append("/connectors")
    if "admin" in USERS[user]:
        pages.append("/audit")
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert '<html lang="zh-Hans-CN">' in answer.text
        assert english_left(answer.text, ids) == set(), path
