"""Company names as payers, ERPs and CRMs write them, reduced to a form that compares.

A leaf shared by identity resolution (which records are one customer) and the name matcher of cash
application (which customer a payer is): both must read a name the same way.

Latin names lose case, accents, punctuation and legal forms; letters that are not an accented
letter but a letter of their own (``ł``, ``ø``, ``æ``, ``ß``, ``đ``, ``þ``) are written as banks
transliterate them (``Łódź`` -> ``lodz``). Chinese names (no spaces, no case) keep their characters
as one word, without the legal form (有限公司, 股份有限公司, ...), the brackets around a region
(full-width or not) and a department suffix (财务部, 结算中心, ...): ``北京汇丰源医药集团有限公司`` ->
``北京汇丰源医药集团``.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

#: Legal-form words dropped before names are compared (lower case, without dots).
# fmt: off
LEGAL_FORMS = frozenset({
    "gmbh", "ag", "kg", "ohg", "ug", "mbh", "co", "kgaa", "ev", "eg", "sarl", "sa", "sas", "sasu",
    "eurl", "snc", "bv", "nv", "vof", "cv", "ltd", "limited", "plc", "llp", "llc", "inc", "incorporated",
    "corp", "corporation", "company", "srl", "spa", "sapa", "sl", "slu", "ab", "oy", "oyj", "as", "asa",
    "aps", "sro", "spzoo", "zoo", "kft", "rt", "zrt", "bvba", "sprl", "pty", "pte", "bhd", "sdn", "kk",
    "gk", "lp", "pc", "pllc", "the", "und", "and", "et", "youxiangongsi", "gufenyouxiangongsi", "ek", "eu",
    "cie", "spk", "spj",
    # Austria, the Baltics, the Nordics, Portugal, the former Yugoslavia, Hungary, Greece, Ireland, Iceland
    # and a few more of Western Europe: Ges.m.b.H., UAB, SIA, OÜ, Ky, Tmi, HB, KB, ANS, DA, Lda, d.o.o.,
    # d.d., Bt., Kkt., Nyrt., A.E., E.P.E., I.K.E., DAC, ehf., hf., GbR, S.r.l.s., SCRL, CVBA.
    "gesmbh", "uab", "sia", "ou", "ky", "tmi", "hb", "kb", "ans", "da", "lda", "unipessoal", "doo", "dd",
    "bt", "kkt", "nyrt", "ae", "epe", "ike", "dac", "ehf", "hf", "gbr", "srls", "scrl", "cvba",
})
#: Legal forms of several words (after punctuation is gone): Polish, Danish (A/S, I/S, K/S, P/S), French, Austrian.
MULTIWORD_LEGAL_FORMS = (
    "spolka z ograniczona odpowiedzialnoscia", "spolka komandytowo akcyjna", "spolka komandytowa",
    "spolka jawna", "spolka akcyjna", "sp z oo", "sp k", "sp j", "i s", "a s", "k s", "p s", "s a r l", "s a", "rl",
    "gesellschaft mbh", "gesellschaft mit beschrankter haftung",
)
#: Chinese legal forms, dropped wherever they stand (a branch's name has its parent's in the middle:
#: 青岛德润建材股份有限公司广州分公司), longest first.
CN_LEGAL_FORMS = (
    "股份有限公司", "有限责任公司", "有限公司", "股份公司", "有限合伙", "合伙企业",
)
#: A company's department that pays (its finance or settlement office), written after the name.
CN_DEPARTMENTS = (
    "财务共享服务中心", "财务共享中心", "财务结算中心", "资金结算中心", "财务中心", "结算中心", "资金中心",
    "财务部", "财务处", "财务科", "财务室", "会计部", "资金部", "计财部", "出纳",
)
# fmt: on
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{CJK}]+")
_HAS_CJK = re.compile(f"[{CJK}]")
_TOKEN = re.compile(f"[a-z0-9]+|[{CJK}]+")
_MULTIWORD = re.compile(
    r"(?<![a-z0-9])(?:" + "|".join(f.replace(" ", " +") for f in MULTIWORD_LEGAL_FORMS) + r")(?![a-z0-9])"
)
# Letters banks also write in two: German umlauts, and the Nordic ø and å (æ is always "ae", _FOLD).
_TWO_LETTERS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "å": "aa"})
# Letters NFKD leaves whole because they are letters of their own, not a base letter and an accent
# (a stroke or a ligature): the few a bank's ASCII transliteration writes otherwise. A library that
# transliterates everything (anyascii, unidecode) would also romanise Chinese names, which must stay
# characters here; this handful is all the Latin alphabets need.
_FOLD = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "\u0131": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŀ": "l",
    }
)
_CN_LEGAL = re.compile("|".join(CN_LEGAL_FORMS))
_CN_DEPARTMENT = re.compile(f"(?:{'|'.join(CN_DEPARTMENTS)})+$")
# A trailing 公司 ("company") is a legal form too, but not in 分公司 (a branch) or 总公司 (head office).
_CN_COMPANY = re.compile("(?<![分总])公司$")
# A region in brackets, which payers leave out (华为技术(深圳)有限公司); not a branch in brackets
# (杭州众信化工有限公司(合肥分公司)), which is another company than the one outside them.
CN_BRANCHES = ("分公司", "分厂", "分店", "分部", "支公司", "办事处", "营业部", "分行", "分所", "分院", "分中心")
_CN_REGION = re.compile(f"[(\\[【](?![^)\\]】]*(?:{'|'.join(CN_BRANCHES)})[)\\]】])[^)\\]】]*[)\\]】]")
# A city written with 市 at the start (深圳市鑫源...): payers as often leave the 市 out.
_CN_CITY = re.compile(f"^([{CJK}]{{2,3}}?)市(?=[{CJK}]{{2}})")


def fold_name(text: str) -> str:
    """Case, width, accents and the Latin letters NFKD leaves whole folded away; punctuation and
    Chinese characters kept: ``Łódź`` -> ``lodz``, full-width brackets -> ``(北京)``."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in text if not unicodedata.combining(ch)))


def _chinese(run: str) -> str:
    """A run of Chinese characters without legal form, department or the 市 of a leading city."""
    run = _CN_DEPARTMENT.sub("", run)
    run = _CN_LEGAL.sub("", run) or run
    run = _CN_COMPANY.sub("", run) or run
    run = _CN_DEPARTMENT.sub("", run) or run
    return _CN_CITY.sub(r"\1", run)


def _undotted(name: str) -> str:
    """A name folded (:func:`fold_name`) without dots, ``&`` written ``and``: ``S.r.l.`` -> ``srl``."""
    text = fold_name(name)
    text = re.sub(r"(?<=\b[a-z])\.(?=[a-z]\b)", "", text)  # s.r.l -> srl, b.v. -> bv
    return text.replace(".", "").replace("&", " and ")


#: Words dropped with the legal forms that are no part of one.
_NOT_A_FORM = frozenset({"the", "und", "and", "et"})


def _name_and_forms(text: str) -> tuple[list[str], list[str]]:
    """The words of a name (:func:`_undotted`, Chinese runs already reduced) split into the name's own and
    the legal forms' (several words of one run together: ``sp z oo`` -> ``spzoo``). A name that is legal
    forms only ("AS") keeps them as its name, with no form."""
    words = _TOKEN.findall(text)
    forms: list[str] = []
    joined = " ".join(words)
    if " " in joined:
        shorter = _MULTIWORD.sub(" ", joined).split()
        if shorter:
            words, forms = shorter, [f.replace(" ", "") for f in _MULTIWORD.findall(joined)]
    kept = [w for w in words if w not in LEGAL_FORMS]
    if not kept:
        return words, forms
    return kept, forms + [w for w in words if w in LEGAL_FORMS]


@functools.lru_cache(maxsize=1 << 16)
def legal_form(name: str) -> str:
    """The legal form a Latin name writes, its words run together: ``Møller Rør A/S`` -> ``as``,
    ``MOLLER ROR AS`` -> ``as``, ``Müller GmbH & Co. KG`` -> ``gmbhcokg``, ``Kowalski sp. z o.o.`` ->
    ``spzoo``; empty where it writes none, and for a Chinese name (see :func:`registered_name`)."""
    text = _undotted(name)
    if _HAS_CJK.search(text):
        return ""
    return "".join(f for f in _name_and_forms(text)[1] if f not in _NOT_A_FORM)


@functools.lru_cache(maxsize=1 << 16)
def normalise_name(name: str) -> str:
    """Lower case, accents and punctuation away (``Müller`` = ``Muller``, ``S.r.l.`` = ``srl``), legal
    forms dropped, the words kept in order: ``Müller & Co. KG`` -> ``muller``. Chinese characters are
    kept, run together without brackets, legal form or department: ``深圳市鑫源(北京)有限公司财务部``
    -> ``深圳鑫源北京`` (full-width brackets too)."""
    text = _undotted(name)
    if _HAS_CJK.search(text):
        # No spaces in Chinese: the characters on either side of a bracket are one name.
        text = re.sub(f"(?<=[{CJK}])[\\s()\\[\\]【】]+(?=[{CJK}])", "", text)
        text = _CJK_RUN.sub(lambda m: " " + _chinese(m.group()) + " ", text)
    return " ".join(_name_and_forms(text)[0])


def is_chinese(key: str) -> bool:
    """Whether a name (or key) has Chinese characters."""
    return bool(_HAS_CJK.search(key))


def chinese_scan_form(text: str) -> str:
    """Chinese characters as names are looked for inside texts: legal forms and every 市 (city)
    away, so that ``代付东莞市华东汽车零部件有限公司货款`` contains the key ``东莞华东汽车零部件``."""
    return _CN_LEGAL.sub("", text).replace("市", "")


def chinese_text_forms(text: str) -> list[str]:
    """Each run of Chinese characters of a text (folded) in :func:`chinese_scan_form`."""
    return [chinese_scan_form(run) for run in _CJK_RUN.findall(fold_name(text))]


def registered_name(name: str) -> str:
    """A Chinese company name as it is registered, legal form and all, in a form that compares (width,
    spaces, bracket style, a department suffix and the 市 of a leading city set aside): a company's
    bank account bears this name, and another legal form (有限公司, 股份有限公司) or 集团 is another
    company. Empty where the name has no Chinese characters or writes no legal form."""
    text = fold_name(name)
    if not _HAS_CJK.search(text):
        return ""
    text = re.sub(r"\s+", "", text).replace("[", "(").replace("]", ")").replace("【", "(").replace("】", ")")
    text = _CN_DEPARTMENT.sub("", text)
    if not (_CN_LEGAL.search(text) or text.endswith("公司")):
        return ""
    return _CN_CITY.sub(r"\1", text)


def name_keys(name: str) -> set[str]:
    """See :func:`_name_keys`; a fresh set the caller may change."""
    return set(_name_keys(name))


# Cached: cash application reads the same payer names for thousands of receipts in a run, and
# identity resolution the same customer names in every comparison.
@functools.lru_cache(maxsize=1 << 16)
def _name_keys(name: str) -> frozenset[str]:
    """The forms a name is compared in: accents dropped (``Müller`` -> ``muller``) and, where they
    differ, the letters banks also write in two (``mueller``, ``soerensen``, ``aalborg``). A Chinese
    name also without the region in brackets (not a branch in brackets: ``(合肥分公司)`` is another
    company) and without 集团 ("group"), as payers often write it."""
    keys = {normalise_name(name), normalise_name(name.casefold().translate(_TWO_LETTERS))}
    if _HAS_CJK.search(name):
        plain = _CN_REGION.sub("", unicodedata.normalize("NFKC", name))  # after NFKC: ASCII brackets
        keys.add(normalise_name(plain))
        # 集团 ("group") left out, at the end or before a branch: 北京汇丰源医药西安分公司 for the
        # branch of 北京汇丰源医药集团.
        keys |= {k.replace("集团", "") for k in keys if "集团" in k and len(k) > 4}
    return frozenset(k for k in keys if k)


_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def letters_and_digits(text: str) -> str:
    """Letters and digits only, upper case: how accounts and document numbers compare
    (``inv-2026/0001`` -> ``INV20260001``)."""
    return _NOT_ALNUM.sub("", text).upper()


@functools.lru_cache(maxsize=1 << 14)  # the account and the name matcher both ask, payers pay again and again
def normalise_account(value: str) -> str:
    """A bank account as it compares: letters and digits only, upper case (``DE89 3704 ...`` = ``de893704...``)."""
    return letters_and_digits(value)


#: Lengths of the name fields banks cut payer names to (SEPA, SWIFT).
TRUNCATIONS = (35, 70)


def cut_at(name: str) -> int | None:
    """The field length (:data:`TRUNCATIONS`) a bank may have cut ``name`` to, or None: a name of that
    length, or of one character fewer, where the cut fell just after a word and the space it left was
    stripped (by the bank or on import: "ZIELINSKI ELEKTRO BIALYSTOK SPOLKA " is 35)."""
    n = len(name)
    return next((length for length in TRUNCATIONS if n in (length, length - 1)), None)


# Who is paid for, as payers and banks write it: "X OBO Y", "X on behalf of Y", "X i.A. Y", "i.A. Y",
# "per pro Y", "pp Y", "Y i.A.", "Y c/o X" (the intermediary X is not the customer).
_FOR = (
    r"(?:obo|o/b/o|for and on behalf of|on behalf of|for account of|im auftrag von|im auftrag"
    r"|i\.\s?a\.?|per pro\.?|p\.\s?p\.|pp)"
)
AGENT_FOR = re.compile(rf"^(?P<agent>.+?)\s+{_FOR}\s+(?P<party>.+)$", re.IGNORECASE)
FOR_PARTY = re.compile(rf"^{_FOR}\s+(?P<party>.+)$", re.IGNORECASE)
PARTY_FOR = re.compile(r"^(?P<party>.+?)[\s,]+(?:i\.\s?a\.?|p\.\s?p\.|pp)$", re.IGNORECASE)
CARE_OF = re.compile(r"^(?P<party>.+?)\s+c/o\s+(?P<agent>.+)$", re.IGNORECASE)
# Chinese third-party payment (代付, "paid on behalf"): "X代Y付", "代Y支付", "代付Y货款", "X代付" (read
# after NFKC, which writes full-width punctuation as ASCII).
CN_FOR = re.compile(r"代(?!付)(?P<party>[^\s,。;:]{2,}?)(?:支付|付款|付)")
CN_FOR_PAID = re.compile(r"代付(?:款)?[:]?(?P<party>[^\s,。;:]{4,}?)(?:的)?(?:货款|款项|欠款|款|$|[\s,。;])")
#: The patterns of a payer name that says whom it pays for.
PAYER_FOR = (AGENT_FOR, CARE_OF, FOR_PARTY, PARTY_FOR, CN_FOR)
#: The word before a name in a text that says the money is paid for it (an assignment to a factor).
PAID_FOR_WORDS = frozenset({"abtretung", "zession", "cession", "assignment", "assigned", "obo", "behalf", "auftrag"})


def paid_for_another(payer: str | None, ultimate: str | None, texts: list[str]) -> bool:
    """Whether a payment says its payer pays for someone else (a factor, a payment provider, a parent, a
    third party): an ultimate debtor other than the payer, a payer name "X OBO Y", "Y i.A.", "X代付",
    a text "Abtretung Y", "on behalf of Y", "代付Y货款". What such a payer's name and account are is
    not the customer's."""
    payer = (payer or "").strip()
    if ultimate and ultimate.strip() and normalise_name(ultimate) != normalise_name(payer):
        return True
    plain = unicodedata.normalize("NFKC", payer)
    if any(pattern.search(plain) for pattern in PAYER_FOR) or plain.endswith("代付"):
        return True
    for text in texts:
        plain = unicodedata.normalize("NFKC", text)
        if "代付" in plain or CN_FOR.search(plain):
            return True
        words = re.findall(r"\w+", plain.casefold())
        # The word and a name after it ("Abtretung Jäger Bau"), not a number ("Auftrag 43320": an order).
        if any(w in PAID_FOR_WORDS and not nxt.isdigit() for w, nxt in itertools.pairwise(words)):
            return True
    return False
