"""Company names as payers, ERPs and CRMs write them, reduced to a form that compares.

A leaf shared by identity resolution (which records are one customer) and the name matcher of cash
application (which customer a payer is): both must read a name the same way.
"""

from __future__ import annotations

import re
import unicodedata

#: Legal-form words dropped before names are compared (lower case, without dots).
# fmt: off
LEGAL_FORMS = frozenset({
    "gmbh", "ag", "kg", "ohg", "ug", "mbh", "co", "kgaa", "ev", "eg", "sarl", "sa", "sas", "sasu",
    "eurl", "snc", "bv", "nv", "vof", "cv", "ltd", "limited", "plc", "llp", "llc", "inc", "incorporated",
    "corp", "corporation", "company", "srl", "spa", "sapa", "sl", "slu", "ab", "oy", "oyj", "as", "asa",
    "aps", "sro", "spzoo", "zoo", "kft", "rt", "zrt", "bvba", "sprl", "pty", "pte", "bhd", "sdn", "kk",
    "gk", "lp", "pc", "pllc", "the", "und", "and", "et", "youxiangongsi", "gufenyouxiangongsi",
})
# fmt: on
_TOKEN = re.compile(r"[a-z0-9]+")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def normalise_name(name: str) -> str:
    """Lower case, accents and punctuation away (``Müller`` = ``Muller``, ``S.r.l.`` = ``srl``), legal
    forms dropped, the words kept in order: ``Müller & Co. KG`` -> ``muller``."""
    text = unicodedata.normalize("NFKD", name.casefold().replace("ß", "ss"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"(?<=\b[a-z])\.(?=[a-z]\b)", "", text)  # s.r.l -> srl, b.v. -> bv
    words = _TOKEN.findall(text.replace(".", "").replace("&", " and "))
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


def name_keys(name: str) -> set[str]:
    """The forms a name is compared in: accents dropped (``Müller`` -> ``muller``) and, where they
    differ, German transliteration (``mueller``), since banks write umlauts either way."""
    return {k for k in (normalise_name(name), normalise_name(name.casefold().translate(_GERMAN))) if k}
