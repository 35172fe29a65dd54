"""The built-in cash-application evidence: who paid (account, name) and what they named (references).

Three matchers, each an :class:`~hub.recon.EvidenceMatcher` registered through
``hub_register_matchers`` (the combiner in ``hub/recon/matching.py`` turns their evidence into proposals):

* ``payer-account``: the payer's IBAN (or other account id) is one of a customer's accounts, from
  the customer master or learned from earlier confirmed matches;
* ``payer-name``: the payer's name is a customer's name or alias once case, accents, punctuation
  and legal-form suffixes are set aside (``ACME LOGISTICS`` = ``Acme Logistics GmbH``), or its
  first 35 or 70 characters where the bank cut it off, or close to it (rapidfuzz, blocked by
  first word so a million customers stay fast); a Chinese name also as registered, legal form and
  all (which tells apart customers whose names differ only there), as a short form inside one
  customer's name, as the party a third party pays for (代付), or alone in the text of a payer who
  is no customer (``深圳市天合电子科技货款``);
* ``references``: invoice numbers in the remittance text, structured creditor references (ISO
  11649 RF, Swiss QRR/ESR) and end-to-end ids, whatever their case and separators, with or
  without prefix; PO numbers; and, within the identified customers' open invoices only, numbers
  with transposed digits, OCR confusions (O/0, l/1, S/5, B/8), leading zeros dropped or only the
  last digits written.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import compress
from operator import attrgetter
from typing import Any, Generic, NamedTuple, TypeGuard, TypeVar

from hub import (
    ADVICE_MATCHER,
    CN_FOR,
    CN_FOR_PAID,
    N_,
    PAID_FOR_WORDS,
    PAYER_FOR,
    TEXT_LIMIT,
    Amount,
    Day,
    Evidence,
    EvidenceMatcher,
    Found,
    Matcher,
    Message,
    OpenItems,
    ReceiptView,
    amount_by_chance,
    chinese_scan_form,
    chinese_text_forms,
    cut_at,
    fold_name,
    hookimpl,
    is_chinese,
    legal_form,
    name_keys,
    normalise_account,
    normalise_name,
    registered_name,
    sets_adding_up,
    sets_by_chance,
)

T = TypeVar("T")

# -- reasons ---------------------------------------------------------------------------------------
#
# Why each clue is given, as gettext messages (hub.Message): stored with their English text by the run,
# said in each reader's language by the console. Built where a clue is found; the payer name's, which
# the same payers bring again and again, once per name (see _evidence).

THEN = "%(reason)s%(more)s"
"""A reason and what is said after it (`` (shared by 2 customers)``, ``, but ... pays for ...``): each
part translated on its own, so this is no sentence to translate (not marked)."""


def _then(reason: Message | str, more: Message | str) -> Message:
    return Message(THEN, reason=reason, more=more)


def _is_shared(reason: Message | str) -> TypeGuard[Message]:
    """Whether a payer name's reason says that several customers share the name (:func:`_new_evidence`)."""
    if not isinstance(reason, Message) or reason.msgid != THEN:
        return False
    more = reason.values["more"]
    return isinstance(more, Message) and more.msgid == SHARED_BY


SHARED_BY = N_(" (shared by %(count)s customers)")


def _content(reason: Message | str) -> Any:
    """What a reason says, as a key (equal for reasons that read alike), without saying it: its id and
    values, nested messages likewise (worked out during the matching, their English would be kept on the
    run's cached clues for nothing)."""
    if not isinstance(reason, Message):
        return reason
    # Kept on the message, as its English is (out of its fields): a payer's clues are cached and asked again
    # for every receipt of the payer.
    key = reason.__dict__.get("_content")
    if key is None:
        key = reason.__dict__["_content"] = (
            reason.msgid,
            tuple((name, _content(value)) for name, value in reason.values.items()),  # type: ignore[arg-type]
        )
    return key


# -- payer account ---------------------------------------------------------------------------------

W_ACCOUNT = 5.0
W_ACCOUNT_SHARED = 2.5
W_ACCOUNT_AGENT = 1.5
"""The account of an intermediary (a factor, a payment provider, a third party) paying for a named party."""
W_CONFLICT = 1.0
"""An account and a name that point at two customers (outside one group): each says only this much."""
MAX_ACCOUNT_OWNERS = 8
"""An account learned for more customers than this is a factor's or a provider's: it identifies nobody."""
W_ACCOUNT_SEEN = 4.5
"""An account no customer is known to own that other payments of the same run, matched automatically to
the customer's invoices, were paid from (``OpenItems.accounts_seen``): the customer's as good as certain,
though no one confirmed it, and a provider paying for several customers may have paid only one of them in
the run."""
ACCOUNT_SEEN = (
    N_("payer account %(account)s paid %(count)s other payment of this run matched to %(customer)s's invoices"),
    N_("payer account %(account)s paid %(count)s other payments of this run matched to %(customer)s's invoices"),
)


def _accounts(book: OpenItems) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for c in book.customers.values():
        for iban in c.ibans:
            if iban:
                out[normalise_account(iban)].add(c.id)
    return out


def _account_owners(receipt: ReceiptView, book: OpenItems) -> set[str]:
    if not receipt.payer_account:
        return set()
    accounts: dict[str, set[str]] = book.index("matching:accounts", _accounts)
    return accounts.get(normalise_account(receipt.payer_account), set())


class PayerAccountMatcher(EvidenceMatcher):
    name = "payer-account"
    stage = 0

    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        owners = _account_owners(receipt, book)
        seen: dict[str, int] = {}
        if not owners and book.accounts_seen and receipt.payer_account:
            seen = book.accounts_seen.get(normalise_account(receipt.payer_account), {})
            if len({book.group(c) for c in seen}) > 1:  # two groups' payer: a provider's, identifies nobody
                seen = {}
            owners = set(seen)
        if not owners or len(owners) > MAX_ACCOUNT_OWNERS:
            return []
        who = _who(receipt, book)
        out = []
        for cid in sorted(owners):
            named = who.sole
            conflict = named is not None and book.group(named) != book.group(cid) and named not in owners
            out.append(
                _account_clue(
                    str(receipt.payer_account),
                    cid,
                    len(owners),
                    who.agent,
                    who.party,
                    named if conflict else None,
                    seen.get(cid, 0),
                )
            )
        return out


@functools.lru_cache(maxsize=1 << 14)
def _account_clue(
    account: str,
    customer: str,
    owners: int,
    agent: str | None,
    party: str | None,
    named: str | None,
    seen: int = 0,
) -> Evidence:
    """That the payer account is the customer's (one of ``owners``), where ``agent`` pays for ``party`` and
    the payer's name is customer ``named``'s (or None): once per payer account, not once per receipt (the
    same payers pay again and again, and evidence is immutable, its reason said in English once). ``seen``:
    known only from that many other payments of this run (see :data:`W_ACCOUNT_SEEN`)."""
    weight = W_ACCOUNT if owners == 1 else W_ACCOUNT_SHARED
    if seen:
        weight = min(weight, W_ACCOUNT_SEEN)
        reason = Message(ACCOUNT_SEEN[seen > 1], account=account, customer=customer, count=seen)
        if owners > 1:
            reason = _then(reason, Message(N_(" (of %(count)s customers)"), count=owners))
    elif owners == 1:
        reason = Message(N_("payer account %(account)s is %(customer)s's"), account=account, customer=customer)
    else:
        reason = Message(
            N_("payer account %(account)s is %(customer)s's (shared by %(count)s customers)"),
            account=account,
            customer=customer,
            count=owners,
        )
    if agent:
        weight = min(weight, W_ACCOUNT_AGENT)
        reason = _then(reason, Message(N_(", but %(agent)r pays for %(party)r"), agent=agent, party=str(party)))
    if named is not None:
        weight = min(weight, W_CONFLICT)
        reason = _then(reason, Message(N_(", while the payer's name is %(customer)s's"), customer=named))
    return Evidence("customer", customer, weight, reason, PayerAccountMatcher.name)


# -- payer name ------------------------------------------------------------------------------------

W_NAME = 4.5
MAX_NAME_OWNERS = 8
W_NAME_FUZZY = 2.5
W_NAME_SHORT = 4.0
"""A Chinese payer name found whole inside exactly one customer's name (a short form: the region
or 集团 left out)."""
W_NAME_TEXT = 3.0
"""A customer's name written in the payment's text (not as its payer). A Chinese name standing alone
there, as what the payment is for (``深圳市天合电子科技货款`` from a person), says as much as a party
paid for: :data:`W_NAME_SHORT`."""
W_NAME_AMOUNT = 4.5
"""The only one of the customers sharing a name with an open invoice of exactly the amount (at most;
less where the amount could land on one of its invoices by chance)."""
MAX_AMOUNT_OWNERS = 40
"""Customers sharing a name whose open invoices are looked through for the amount: more say nothing."""
FUZZY_CUTOFF = 90
MIN_CJK = 4  # characters of a Chinese name found inside another or in a text

W_NAME_SET = 4.0
"""Least a shared name weighs for the only namesake whose open invoices add up to a payment: less would make
no proposal automatic (the prior, -6.0, and a set's +5.0 at most need +4.0 of the payer to reach 95%), and the
search costs thousands of steps per payment in a large book."""
NAME_SET_POOL = 16
"""Most open invoices (in the payment's currency) a namesake may have for the namesakes' invoices to be searched
for a set adding up to a payment: up to this many are searched depth-first in a few hundred steps; among more,
some set adds up to most amounts, and searching every namesake's for every payment from a shared name cost a
fifth of a large book's run for a handful of payments."""
NAME_SET_BUDGET = 2_000
"""Steps the search of each namesake's open invoices may take (the combiner's takes 20,000); one cut short
leaves the name as weak as it was."""

# What stands before and after a Chinese name in a text that says the money is that company's: nothing
# or a verb of paying before ("支付", "代", "为"), nothing or what is paid after ("货款", "采购款", "往来款").
_CN_BEFORE_NAME = re.compile("(?:代付|代|支付|付|为|替)?")
_CN_AFTER_NAME = re.compile("$|(?:的)?(?:[货欠余尾定]款|采购|往来|结算|合同|预付|款|付|支付|转账|账)")


@dataclass
class _Who:
    evidence: list[Evidence]
    party: str | None = None  # the customer paid for, as written, where someone else pays
    agent: str | None = None  # who pays for it (a factor, a provider, a third party)
    sole: str | None = None  # the one customer the name identifies, if it is one


class _Names:
    def __init__(self, book: OpenItems) -> None:
        self.exact: dict[str, set[str]] = defaultdict(set)
        self.by_first: dict[str, list[str]] = defaultdict(list)
        self.full: dict[str, list[tuple[str, str]]] = defaultdict(list)  # first word -> (lower name, id)
        # Blocks for names found inside another text: the first two words (Latin) or characters
        # (Chinese) of each key, and each pair of characters of a Chinese key (a short form may
        # leave the first ones out).
        self.heads: dict[str, list[str]] = defaultdict(list)
        self.bigrams: dict[str, set[str]] = defaultdict(set)
        self.scan_owners: dict[str, set[str]] = defaultdict(set)
        self.seen: dict[
            tuple[str, int | None], list[tuple[frozenset[str], float, NameFound]]
        ] = {}  # name -> lookups, this run
        self.registered: dict[str, set[str]] = defaultdict(set)  # name, legal form and all -> ids
        self._is_customer: dict[str, bool] = {}  # payer name -> whether it is a customer's, this run
        for c in book.customers.values():
            for name in (c.name, *c.aliases):
                if not name:
                    continue
                for reg in _registered(name):
                    self.registered[reg].add(c.id)
                for key in name_keys(name):
                    if c.id not in self.exact[key]:
                        if not self.exact[key]:  # each name once, however many customers have it
                            self.by_first[key.split()[0]].append(key)
                        self.exact[key].add(c.id)
                        self._index_head(key, c.id)
                    self.full[key.split()[0]].append((fold_name(name), c.id))

    def is_customer(self, name: str) -> bool:
        """Whether ``name`` is some customer's name or alias (once per name per run: payers pay again and again)."""
        got = self._is_customer.get(name)
        if got is None:
            got = self._is_customer[name] = any(self.exact.get(k) for k in name_keys(name))
        return got

    def _index_head(self, key: str, cid: str) -> None:
        if is_chinese(key):
            if len(key) >= MIN_CJK and " " not in key:
                scan = chinese_scan_form(key)
                if scan not in self.scan_owners:
                    self.heads[scan[:2]].append(scan)
                self.scan_owners[scan].add(cid)
                for k in range(len(key) - 1):
                    self.bigrams[key[k : k + 2]].add(key)
        else:
            words = key.split()
            if len(words) >= 2 and len(self.exact[key]) == 1:
                self.heads[" ".join(words[:2])].append(key)


def _who(receipt: ReceiptView, book: OpenItems) -> _Who:
    """Who the receipt is paid for, by name: its payer or the party an intermediary pays for (once
    per receipt: the account and the name matcher both ask)."""
    names: _Names = book.index("matching:names", _Names)
    cache: dict[int, tuple[ReceiptView, _Who]] = book.index("matching:who", lambda _: {})
    got = cache.get(receipt.id)
    if got is not None and got[0] is receipt:
        return got[1]
    who = _read_who(receipt, names)
    if len(cache) > 1024:
        cache.clear()
    cache[receipt.id] = (receipt, who)
    return who


def _read_who(receipt: ReceiptView, names: _Names) -> _Who:
    payer = (receipt.payer_name or "").strip()
    ultimate = (receipt.ultimate_payer_name or "").strip()
    texts = [t for t in (receipt.remittance, *receipt.additional) if t]
    # The party paid for and the intermediary paying, where the receipt says so.
    party: str | None = None
    agent: str | None = None
    how = ""  # which of SUBJECTS the name is
    cut = cut_at(payer)
    if ultimate and normalise_name(ultimate) != normalise_name(payer):
        party, agent, how, cut = ultimate, payer or None, "ultimate", cut_at(ultimate)
    elif payer and not names.is_customer(payer):
        plain = unicodedata.normalize("NFKC", payer)
        for pattern in PAYER_FOR:
            m = pattern.search(plain)
            if m and normalise_name(m.group("party")):
                party, how = m.group("party").strip(), "party"
                agent = m.groupdict().get("agent") or (plain[: m.start()].strip() or None)
                break
        if party is None and plain.endswith("代付"):
            agent = payer  # "X代付": X pays for someone it does not name in this field
    if party is None:
        for text in texts:
            if text.isascii():
                continue  # no 代 in it, nor after NFKC (which leaves ASCII as it is): most texts, skipped cheaply
            plain = unicodedata.normalize("NFKC", text)
            m = CN_FOR.search(plain) or CN_FOR_PAID.search(plain)
            if m and len(chinese_scan_form(normalise_name(m.group("party")))) >= MIN_CJK:
                party, agent, how, cut = m.group("party"), payer or None, "party-cn", None
                break
            if "代付" in plain:
                agent = payer or "代付"
    out: list[Evidence] = []
    if party is not None:
        for owners, weight, found in _lookup(names, party, cut):
            if how == "party-cn":
                # Written by a third party in free text, not a field the bank fills: as sure as a short form.
                weight = min(weight, W_NAME_SHORT)
            out.extend(_evidence(owners, weight, ("name", how, party, found, agent)))
    elif payer and agent is None:
        for owners, weight, found in _lookup(names, payer, cut):
            out.extend(_evidence(owners, weight, ("name", "payer", payer, found, None)))
    if not out and texts:
        # Nobody by the payer's name: a person, a factor or a provider paying may write whom for.
        out.extend(_in_texts(names, texts))
    strong = {e.target for e in out if e.weight >= W_NAME_SHORT}
    sole = str(next(iter(strong))) if len(strong) == 1 and len({e.target for e in out}) == 1 else None
    return _Who(out, party, agent if party is not None else None, sole)


#: What a name found is, as :func:`_find` says it: ``("name",)``, ``("legal", others)`` (the customer's
#: name, legal form and all, ``others`` customers of the name registered otherwise), ``("cut", length)``,
#: ``("short",)`` or ``("close", score)``: a key the reason is made from (:func:`_name_reason`).
NameFound = tuple[str] | tuple[str, int] | tuple[str, str]


def _lookup(names: _Names, payer: str, cut: int | None) -> list[tuple[frozenset[str], float, NameFound]]:
    """Which customers a name is, how surely, and why (:data:`NameFound`); once per name per run."""
    cached = names.seen.get((payer, cut))
    if cached is None:
        cached = names.seen[payer, cut] = _find(names, payer, cut)
    return cached


def _registered(name: str) -> list[str]:
    """A name as a company is registered, legal form and all, in the forms it compares in: a Chinese one's
    :func:`registered_name`; a Latin one's keys each with its :func:`legal_form` ("Hansen Bygg AS" and
    "Hansen Bygg ANS" are two companies). Nothing where the name writes no legal form."""
    if reg := registered_name(name):
        return [reg]
    form = legal_form(name)
    return [f"{key}|{form}" for key in name_keys(name)] if form else []


def _find(names: _Names, payer: str, cut: int | None) -> list[tuple[frozenset[str], float, NameFound]]:
    keys = name_keys(payer)
    if not keys:
        return []
    owners = set().union(*(names.exact.get(k, set()) for k in keys))
    regs = _registered(payer) if owners else []
    mine = set().union(*(names.registered.get(reg, set()) for reg in regs)) & owners
    if len(owners) > 1 and len(mine) == 1:
        # A company account bears the registered name: where it is one of the customers' own, legal form
        # and all, the others (another legal form, or 集团) are other companies. Written without one, the
        # name stays every one's.
        return [(frozenset(mine), W_NAME, ("legal", len(owners) - 1))]
    if 1 < len(mine) < len(owners) and not is_chinese(payer):
        # Several customers have the name and that legal form too ("Novák Stavby a.s." three times, and
        # twice as "s.r.o."): the name is those customers', not the others'. (A Chinese name's registered
        # form decides only where it is one customer's, as above.)
        return [(frozenset(mine), W_NAME, ("name",))]
    # A name the bank may have cut, written with a legal form none of its owners has, is read as cut as
    # well: "AB „ŽEMAITIJOS STATYBINĖS MEDŽIAGOS" is "AB „Žemaitijos Statybinės medžiagos Klaipėda“"
    # as much as "UAB „Žemaitijos Statybinės medžiagos“" (both are found so).
    if owners and not (cut and not mine and legal_form(payer)):
        return [(frozenset(owners), W_NAME, ("name",))]
    key = normalise_name(payer) or min(keys)  # min, not any: the same key on every run
    words = key.split()
    if cut:
        # The bank cut the name off: its words start the customer's, the last perhaps cut in two.
        folded = fold_name(payer)
        found = {cid for full, cid in names.full.get(words[0], ()) if full.startswith(folded)}
        for k in names.by_first.get(words[0], ()):
            theirs = k.split()
            n = len(words)
            if len(theirs) >= n and theirs[: n - 1] == words[:-1] and theirs[n - 1].startswith(words[-1]):
                found |= names.exact[k]
        if found:
            # Where the cut left a space that was stripped, the length the bank cut at, not what is left.
            return [(frozenset(found), W_NAME, ("cut", cut if len(payer) == cut - 1 else len(payer)))]
    if owners:
        return [(frozenset(owners), W_NAME, ("name",))]
    from rapidfuzz import fuzz, process  # here: the command line starts without it (once per payer name)

    if is_chinese(key) and " " not in key:
        # No words to block on in Chinese: a short form is found whole inside the customer's name,
        # looked up through the customer names sharing its rarest pair of characters.
        if len(key) >= MIN_CJK:
            pairs = [names.bigrams.get(key[k : k + 2], set()) for k in range(len(key) - 1)]
            rarest = min(pairs, key=len)
            within = {c for k in rarest if key in k for c in names.exact[k]}
            if within:
                return [(frozenset(within), W_NAME_SHORT, ("short",))]
            candidates = sorted(set().union(*pairs[:2]))  # in order: equal scores rank alike on every run
            best = process.extract(key, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=None)
            return [(frozenset(names.exact[m]), W_NAME_FUZZY, ("close", f"{s:.0f}")) for m, s, _ in best]
        return []
    candidates = names.by_first.get(words[0], [])
    if not candidates:
        return []
    best = process.extract(key, candidates, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF, limit=None)
    return [(frozenset(names.exact[m]), W_NAME_FUZZY, ("close", f"{s:.0f}")) for m, s, _ in best]


def _in_texts(names: _Names, texts: list[str]) -> list[Evidence]:
    """Customers whose name (two words or more, four Chinese characters or more) a text writes."""
    hits: dict[frozenset[str], tuple[float, Said]] = {}
    chinese: set[frozenset[str]] = set()
    for text in texts:
        for scan in chinese_text_forms(text):
            k = 0
            while k < len(scan) - 1:
                heads = names.heads.get(scan[k : k + 2], ())
                longest = max((h for h in heads if scan.startswith(h, k)), key=len, default="")
                if longest:
                    owners = frozenset(names.scan_owners[longest])
                    # The name standing alone between a verb of paying and a word for what is paid
                    # (深圳天合电子科技货款, 支付...采购款): the payment is that company's. Inside a longer
                    # name (广州天合电子科技, 天合电子科技发展) it may be another company's.
                    alone = _CN_BEFORE_NAME.fullmatch(scan[:k]) and _CN_AFTER_NAME.match(scan[k + len(longest) :])
                    chinese.add(owners)
                    hits.setdefault(
                        owners, (W_NAME_SHORT if alone else W_NAME_TEXT, ("text-cn", text, longest, bool(alone)))
                    )
                    k += len(longest)
                else:
                    k += 1
        words = normalise_name(text).split()
        for k in range(len(words) - 1):
            for key in names.heads.get(f"{words[k]} {words[k + 1]}", ()):
                theirs = key.split()
                if words[k : k + len(theirs)] == theirs:
                    marked = k > 0 and words[k - 1] in PAID_FOR_WORDS
                    hits[frozenset(names.exact[key])] = (
                        W_NAME_SHORT if marked else W_NAME_TEXT,
                        ("text", text, words[k - 1] if marked else ""),
                    )
    if len(hits) > 2:
        return []  # a text naming many customers (a list, a letter) says nothing of who paid
    if len(chinese) > 1:  # two Chinese names apart: neither is surely the one paid for
        hits |= {owners: (min(hits[owners][0], W_NAME_TEXT), hits[owners][1]) for owners in chinese}
    return [ev for owners, (w, reason) in hits.items() for ev in _evidence(owners, w, reason)]


#: What a name clue says, as a key its reason is made from (:func:`_said`): ``("name", subject, name,
#: found, agent)`` (a name looked up: :data:`SUBJECTS`, :data:`NameFound`, who pays for the party or None),
#: ``("text-cn", text, name, alone)`` (a Chinese name in a text, alone as the party paid for or not),
#: ``("text", text, marker)`` (a name in a text, after a word saying it is paid for, or "").
Said = tuple[Any, ...]

#: Whose name a clue is: the payer's, the ultimate payer's (camt UltmtDbtr), the party an intermediary
#: says it pays for, or the party a Chinese text says is paid for (代付).
SUBJECTS = {
    "payer": N_("payer name %(name)r"),
    "ultimate": N_("the ultimate payer %(name)r"),
    "party": N_("the party paid for %(name)r"),
    "party-cn": N_("the party paid for (代付) %(name)r"),
}


def _said(said: Said) -> Message:
    """The reason of a name clue (see :data:`Said`)."""
    if said[0] == "name":
        _, subject, name, found, agent = said
        reason = _name_reason(Message(SUBJECTS[subject], name=name), found)
        return _then(reason, Message(N_(" (%(agent)r pays)"), agent=agent)) if agent else reason
    if said[0] == "text-cn":
        _, text, name, alone = said
        return Message(
            N_("the text %(text)r names the customer (%(name)s) as the party paid for")
            if alone
            else N_("the text %(text)r names the customer (%(name)s)"),
            text=text,
            name=name,
        )
    _, text, marker = said
    if marker:
        return Message(
            N_("the text %(text)r names the customer as the party paid for (%(word)s)"), text=text, word=marker
        )
    return Message(N_("the text %(text)r names the customer"), text=text)


def _name_reason(subject: Message, found: NameFound) -> Message:
    """``payer name 'ACME' is the customer's name``: what :func:`_find` found the name to be."""
    match found:
        case ("legal", int(others)):
            return Message(
                N_(
                    "%(subject)s is the customer's name, legal form and all (%(count)s other customer of that name "
                    "registered otherwise)"
                )
                if others == 1
                else N_(
                    "%(subject)s is the customer's name, legal form and all (%(count)s other customers of that name "
                    "registered otherwise)"
                ),
                subject=subject,
                count=others,
            )
        case ("cut", int(length)):
            return Message(
                N_("%(subject)s is the customer's name cut at %(count)s characters"), subject=subject, count=length
            )
        case ("short",):
            return Message(N_("%(subject)s is written whole in the customer's name (a short form)"), subject=subject)
        case ("close", str(score)):
            return Message(N_("%(subject)s is close to the customer's (%(score)s%%)"), subject=subject, score=score)
        case _:
            return Message(N_("%(subject)s is the customer's name"), subject=subject)


def _evidence(owners: frozenset[str], weight: float, said: Said) -> tuple[Evidence, ...]:
    """:func:`_evidence_of`, once per name, owners and weight: the same payers pay again and again, and
    evidence is immutable, so receipts of one payer share it (and its reason, said in English once)."""
    return _evidence_of(owners, weight, said)


@functools.lru_cache(maxsize=1 << 14)
def _evidence_of(owners: frozenset[str], weight: float, said: Said) -> tuple[Evidence, ...]:
    return tuple(_new_evidence(owners, weight, _said(said)))


def _new_evidence(customers: Iterable[str], weight: float, reason: Message) -> list[Evidence]:
    owners = sorted(customers)
    if len(owners) > 1:
        # A trading name several customers share says little about which one paid.
        weight -= 1.5 + 0.5 * min(len(owners) - 2, 4)
        reason = _then(reason, Message(SHARED_BY, count=len(owners)))
    return [Evidence("customer", cid, weight, reason, PayerNameMatcher.name) for cid in owners]


class PayerNameMatcher(EvidenceMatcher):
    name = "payer-name"
    stage = 0

    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        who = _who(receipt, book)
        if not who.evidence:
            return []
        account = _account_owners(receipt, book)
        out: list[Evidence] = []
        shared: dict[Any, list[Evidence]] = defaultdict(list)
        for ev in who.evidence:
            if _is_shared(ev.reason):
                shared[_content(ev.reason)].append(ev)  # by what it says: names found alike are one name
            else:
                out.append(ev)
        for evs in shared.values():
            out.extend(self._shared(receipt, book, evs, account))
        if account and who.sole is not None and not who.agent and len(account) <= MAX_ACCOUNT_OWNERS:
            groups = {book.group(c) for c in account}
            if who.sole not in account and book.group(who.sole) not in groups:
                owner = ", ".join(sorted(account))
                out = [
                    Evidence(
                        e.kind,
                        e.target,
                        min(e.weight, W_CONFLICT),
                        _then(
                            e.reason,
                            Message(
                                N_(", while the payer account %(account)s is %(customer)s's"),
                                account=receipt.payer_account or "",
                                customer=owner,
                            ),
                        ),
                        e.matcher,
                    )
                    if e.target == who.sole
                    else e
                    for e in out
                ]
        return out

    @staticmethod
    def _shared(
        receipt: ReceiptView, book: OpenItems, evs: list[Evidence], account: Collection[str] = ()
    ) -> list[Evidence]:
        """A name several customers share: weak for each, but strong for the only one of them with an
        open invoice of exactly the amount (as strong as the amount cannot be a coincidence), unless the
        payer account is another customer's (``account``, its owners): it says who paid, and the amount
        landing on a namesake's invoice is then the coincidence."""
        owners = [str(e.target) for e in evs]
        out = [e for e in evs if len(evs) <= MAX_NAME_OWNERS]
        if len(owners) > MAX_AMOUNT_OWNERS:
            return out
        # Looked up, not scanned (this runs for every receipt from a shared name): the customers with an
        # invoice of this amount when the run began, then their invoices still open now.
        mine = set(owners)
        invoices = book.invoices
        holding = {
            invoices[i].customer_id
            for i in book.of_amount(receipt.currency, receipt.amount)
            if invoices[i].customer_id in mine and book.remaining(i) == receipt.amount
        }
        holders = [cid for cid in owners if cid in holding]
        if not holders:
            return PayerNameMatcher._by_sets(receipt, book, evs, out, account)
        if len(holders) != 1:
            return out
        (cid,) = holders
        if _paid_by_another(book, cid, account):
            return out
        among = _count_in(book, cid, receipt.currency)  # its invoices in the currency, as the run began
        # The payer is one of n; the amount picks one unless a sibling paid something else (a part, a
        # set, a netted sum) that lands on one of this customer's invoices by chance: about as often
        # as the book's invoices have this very amount (price lists make some amounts common). Against
        # the n-1 siblings, the odds are (1-q)/q / ((n-1) * chance), q being the share of a customer's
        # payments that are no whole invoice; taken as a half (most payments settle whole invoices, so
        # this is the cautious end), the odds are 1 / ((n-1) * chance). The -1.0 this had before took q
        # as nearly three in four: as if most payments were parts, sets or money on account.
        counts: _AmountCounts = book.index("matching:amounts", _amount_counts)
        total = counts.total(receipt.currency) or 1
        count = counts.count(receipt.currency, receipt.amount, 1)
        # An amount no other invoice of the book has (297.64 in a currency of a few hundred invoices) does not
        # come up once in that many: how often a sibling's payment lands on it is read from how the currency's
        # amounts spread, as for an amount alone. One a few invoices have (a price) is as common as that.
        rare = amount_by_chance(book, receipt.currency, receipt.amount) if count == 1 else None
        share = rare[1] / rare[0] if rare is not None else count / total
        chance = among * share
        return _the_only_namesake(
            N_(
                "%(reason)s; %(customer)s is the only one of the %(count)s with an open invoice of exactly %(amount)s, "
                "an amount no other open invoice of the book has (%(chance)s of its %(among)s open invoices would "
                "have it by chance)"
            )
            if rare is not None
            else N_(
                "%(reason)s; %(customer)s is the only one of the %(count)s with an open invoice of exactly %(amount)s "
                "(%(chance)s of its %(among)s open invoices would have it by chance)"
            ),
            receipt,
            evs,
            out,
            (cid, among, chance),
        )

    @staticmethod
    def _by_sets(
        receipt: ReceiptView, book: OpenItems, evs: list[Evidence], out: list[Evidence], account: Collection[str]
    ) -> list[Evidence]:
        """A name several customers share, none with an invoice of exactly the amount: strong for the only one
        of them whose open invoices add up to it (a payer paying several invoices without naming them), as
        strong as such a set cannot be a coincidence. Where a namesake's invoices are too many to rule a set
        out, or two namesakes' add up to it, the name stays weak for each."""
        owners = [str(e.target) for e in evs]
        if len(owners) > MAX_NAME_OWNERS or receipt.amount <= 0:
            return out
        # An amount several of the book's invoices have is a price-list amount: invoices of that price list add
        # up to it by its arithmetic (238.00 + 357.00 = 595.00, 2, 3 and 5 times 119.00), far more often than the
        # spread of a customer's amounts makes a set land on an amount by chance.
        counts: _AmountCounts = book.index("matching:amounts", _amount_counts)
        if counts.count(receipt.currency, receipt.amount, 0) > 1:
            return out
        target = int(receipt.amount * 100)
        invoices, currency = book.invoices, receipt.currency
        pools: dict[str, list[tuple[int, int]]] = {}
        chances: dict[str, float] = {}
        for cid in owners:
            pool = book.open_amounts(i for i in book.by_customer.get(cid, ()) if invoices[i].currency == currency)
            if len(pool) > NAME_SET_POOL:
                return out
            pools[cid] = [(i, int(left * 100)) for i, left in pool.items()]
            chances[cid] = sets_by_chance([c for _, c in pools[cid]], target)
        # Searched only where a set found could weigh more than the name does, and none of the namesakes has
        # so many invoices that some set of them adds up to most amounts (a large customer's: the search would
        # cost thousands of steps per payment, and could not tell such a namesake out anyway).
        best = math.log(1 / max((len(owners) - 1) * min(chances.values()), 1e-12))
        if max(chances.values()) >= 1 or min(W_NAME_AMOUNT, best) < max(W_NAME_SET, *(e.weight for e in evs)):
            return out
        holder: tuple[str, int, float] | None = None
        for cid in owners:
            sets, complete = sets_adding_up(pools[cid], target, budget=NAME_SET_BUDGET)
            if sets:
                if holder is not None:
                    return out
                holder = (cid, len(pools[cid]), chances[cid])
            elif not complete:
                return out
        if holder is None or _paid_by_another(book, holder[0], account):
            return out
        # As for one invoice of the amount (_shared): the payer is one of n, and a sibling's payment that is no
        # set of its own invoices lands on a set of this one's by chance about as often as ``chance`` says.
        return _the_only_namesake(
            N_(
                "%(reason)s; %(customer)s is the only one of the %(count)s whose open invoices add up to exactly "
                "%(amount)s (%(chance)s sets of its %(among)s open invoices would by chance)"
            ),
            receipt,
            evs,
            out,
            holder,
            least=W_NAME_SET,
        )


def _the_only_namesake(
    msgid: str,
    receipt: ReceiptView,
    evs: list[Evidence],
    out: list[Evidence],
    holder: tuple[str, int, float],
    least: float = 0.0,
) -> list[Evidence]:
    """``out`` with the clue for the only one of a shared name's customers (``evs``, one clue each) the amount
    picks: ``holder`` is that customer, how many open invoices it has and how many of them would fit by chance;
    said by ``msgid``. Against the n-1 others the odds are 1 / ((n-1) * chance) (see :meth:`PayerNameMatcher._shared`);
    ``out`` as it is where that weighs no more than the name does, or less than ``least``."""
    cid, among, chance = holder
    weight = min(W_NAME_AMOUNT, math.log(1 / max((len(evs) - 1) * chance, 1e-12)))
    if weight < least or weight <= max(e.weight for e in evs):
        return out
    reason = Message(
        msgid,
        reason=evs[0].reason,
        customer=cid,
        count=len(evs),
        amount=Amount(receipt.amount, receipt.currency, True),
        chance=_about_share(chance),
        among=among,
    )
    return [e for e in out if e.target != cid] + [Evidence("customer", cid, weight, reason, PayerNameMatcher.name)]


def _paid_by_another(book: OpenItems, customer_id: str, account: Collection[str]) -> bool:
    """Whether the payer account is known as a customer's outside ``customer_id``'s group (``account``: its owners)."""
    return bool(account) and book.group(customer_id) not in {book.group(c) for c in account}


def _count_in(book: OpenItems, customer_id: str, currency: str) -> int:
    """How many invoices the customer has in the currency (which they are does not change during a run):
    counted once per customer, not listed."""
    cache: dict[tuple[str, str], int] = book.index("matching:count-in", lambda _: {})
    got = cache.get((customer_id, currency))
    if got is None:
        invoices = book.invoices
        got = cache[customer_id, currency] = [
            invoices[i].currency for i in book.by_customer.get(customer_id, ())
        ].count(currency)
    return got


class _AmountCounts:
    """How many of the book's invoices have each amount, per currency (held per currency, without a
    tuple key per amount)."""

    __slots__ = ("_counts", "_totals")

    def __init__(self, book: OpenItems) -> None:
        # Counted by collections.Counter over the columns (C loops), one pass per currency.
        currencies = list(map(attrgetter("currency"), book.invoices.values()))
        amounts = list(map(attrgetter("open_amount"), book.invoices.values()))
        self._totals: dict[str, int] = Counter(currencies)
        self._counts: dict[str, dict[Decimal, int]] = {
            currency: Counter(compress(amounts, map(currency.__eq__, currencies))) for currency in self._totals
        }

    def count(self, currency: str, amount: Decimal, default: int) -> int:
        of = self._counts.get(currency)
        return of.get(amount, default) if of is not None else default

    def total(self, currency: str) -> int:
        return self._totals.get(currency, 0)


def _amount_counts(book: OpenItems) -> _AmountCounts:
    return _AmountCounts(book)


def _about_share(chance: float) -> Message:
    return Message(N_("about %(count)s"), count=f"{chance:.2g}") if chance >= 0.001 else FEWER_THAN_ONE_IN_A_THOUSAND


FEWER_THAN_ONE_IN_A_THOUSAND = Message(N_("fewer than 1 in 1,000"))


# -- references --------------------------------------------------------------------------------------

W_REF = 8.0
W_REF_DIGITS = 7.0
W_STRUCTURED = 8.5
W_PO = 6.0
W_REF_FUZZY = 5.5
W_REF_SUFFIX = 4.5
W_IMPLIED = 3.0
MIN_STRUCTURED_IN_TEXT = 6
"""Shortest structured reference looked up in free text: shorter ones (a KID can be 2 digits) are a
quantity, a day or a house number as often."""
MIN_KEY = 4
MIN_SUFFIX = 5
W_STRANGER = 2.0
"""Taken off a number naming an invoice of a customer other than the one the payer's account or
name identify (and outside its group): a typo that lands on a stranger's invoice looks exactly like
it, and the more invoices a book holds, the likelier one is there."""
STRONG_PAYER = 4.5
"""Payer evidence at least this strong (an account, a name no other customer has) identifies the payer."""
W_ONE_DIGIT = 3.5
"""A number one digit away from one of the identified customer's invoices, which has exactly the amount."""
W_SERIAL = 5.0
"""At most, for an invoice's sequence number written alone ("Rg 4467", "153/25") and found among the
identified customers' open invoices."""
W_SERIAL_BARE = 3.5
"""At most, for a bare number (no invoice word, no year) found that way."""
SERIAL_WORD = 2.0
"""What an invoice word before a number ("Rg", "inv", "fact.", "Rechnung") adds: it says the number is one."""
SERIAL_HABIT = SERIAL_WORD
"""What a payer's habit adds to a bare number: it wrote the customer's invoice numbers so in payments finance
confirmed (``CustomerView.written``), which says the number is one as an invoice word would."""
SERIAL_YEAR = 1.0
"""What zero padding written before it ("02678") adds: the payer cut a longer number."""
W_SERIAL_AMOUNT = 5.5
"""At most, for a sequence number read book-wide, where exactly one invoice with it has the amount."""
MIN_SERIAL_WEIGHT = 1.0
W_CUSTNO = 5.0
"""A customer's number (as the customer master has it, letters included) after a customer word."""
W_CUSTNO_DIGITS = 4.5
"""...its digits only, five or more, after a customer word ("Kd-Nr. 10023")."""
W_CUSTNO_SHORT = 3.5
"""...four digits after a customer word."""
W_CUSTNO_CODE = 4.0
"""...with its letters, without a customer word ("K100330")."""
W_CUSTNO_BARE = 2.0
"""At most, for a bare number equal to a customer number's digits."""
_SEGMENTS = re.compile(r"[,;\n]+")
_WORDS = re.compile(r"[A-Za-z0-9]+(?:[\s\-/._]+[A-Za-z0-9]+)*")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_NOT_DIGIT = re.compile(r"[^0-9]")
_DIGIT_RUN = re.compile(r"\d+")
_ASCII_NOT_ALNUM = {c: None for c in range(128) if not chr(c).isalnum()}
_ASCII_NOT_DIGIT = {c: None for c in range(128) if not chr(c).isdigit()}


def _number_text(number: str) -> str:
    """An invoice number's letters and digits, upper case: what the whole numbers' index keys (str.translate
    deletes the same characters as the regex from an ASCII number, faster)."""
    return (number.translate(_ASCII_NOT_ALNUM) if number.isascii() else _NOT_ALNUM.sub("", number)).upper()


def _number_digits(number: str) -> str:
    """An invoice number's digits: what the digits' index keys."""
    return number.translate(_ASCII_NOT_DIGIT) if number.isascii() else _NOT_DIGIT.sub("", number)


_OCR = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "Q": "0",
        "D": "0",
        "I": "1",
        "l": "1",
        "L": "1",
        "|": "1",
        "S": "5",
        "s": "5",
        "B": "8",
        "Z": "2",
        "z": "2",
        "G": "6",
    }
)


def normalise(text: str) -> str:
    """Upper-case letters and digits only: ``inv-2026/0001`` -> ``INV20260001``."""
    return _NOT_ALNUM.sub("", text).upper()


_PARTS = re.compile(r"[A-Za-z]+|\d+")


_PADDING = re.compile(r"(?<![0-9])0+(?=[0-9])")


def unpadded(text: str) -> str:
    """Letters and numbers without leading zeros, kept apart: ``INV-2026-000123`` and
    ``inv 2026/123`` both give ``INV.2026.123``."""
    return ".".join(_PARTS.findall(_PADDING.sub("", text.upper())))


def candidates(text: str) -> list[str]:
    """Normalised strings in ``text`` that may be references: each comma-separated part with its
    separators removed, each word, the digit runs in them, and the numbers of a list joined by slashes
    (:func:`_slashed`)."""
    out: list[str] = []
    for segment in _SEGMENTS.split(text):
        for words in _WORDS.findall(segment):
            compact = normalise(words)
            out.append(compact)
            out.extend(_DIGIT_RUN.findall(compact))
            for word in words.split():
                out.append(normalise(word))
                if "/" in word:
                    out.extend(_slashed(word))
    return out


MIN_SLASHED = 5
"""Letters and digits each number of a list joined by slashes has at least: "3681165/3681170" is two
numbers, "2026/1665", "891/26" and "12/05/2026" are one."""


def _slashed(word: str) -> list[str]:
    """The numbers of a list written with slashes between them ("Laskut 3681165/3681170/3681196",
    "/REMI/3677771/3677812"): two or more parts of one shape (the same letters and digits in the same
    places) and at least :data:`MIN_SLASHED` long, besides parts without digits (a field tag such as
    "REMI"). A number with a slash in it ("FA2026/01665", a year and a sequence number) has parts of
    two shapes, or a short one, and stays one number."""
    parts = [normalise(p) for p in word.split("/")]
    numbers = [p for p in parts if not p.isalpha() and p]
    if len(numbers) < 2 or any(len(p) < MIN_SLASHED for p in numbers):
        return []
    if len({p.translate(_SHAPE) for p in numbers}) != 1:
        return []
    return numbers


_SHAPE = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "9" * 10 + "A" * 26)


def uncut(text: str) -> str:
    """``text`` without its last word if the bank may have cut it there (see :data:`TEXT_LIMIT`)."""
    if len(text) < TEXT_LIMIT or not text[-1].isalnum():
        return text
    return _LAST_WORD.sub("", text)


_LAST_WORD = re.compile(r"[^\s,;]*$")

# -- what payers write around numbers ---------------------------------------------------------------------
#
# Why by hand: no library reads remittance text. The words are those payers write before an invoice
# number, a customer number, or some other number (orders, weeks, delivery notes, dates), in the
# languages of European trade; "Nr", "No", "#" and the like join a word to its number.


def _wordset(*lines: str) -> frozenset[str]:
    return frozenset(word for line in lines for word in line.split())


INVOICE_WORDS = _wordset(
    "rg rgnr rnr rechnr invnr re renr rech rechn rechnung rechnungen rechnungsnr rechnungsnummer rng",
    "inv invs invoice invoices invno bill fact fac fatt fattura fatture factura facturas facture factures fra",
    "fakt faktura faktury fv ft nota beleg belegnr",
)
CUSTOMER_WORDS = _wordset(
    "kd kdnr kunde kunden kundennr kundennummer customer cust custno client cliente klient klienta klant klantnr "
    "debitor debitorennr debitornr debitorennummer deb debtor"
)
OTHER_WORDS = _wordset(
    "kw woche week auftrag auftragsnr auftragsnummer order orders ordine pedido commande bestellung bestellnr "
    "best po ddt del vom lieferung lieferschein ls delivery avis datum date dated vertrag contract tel fax iban "
    "bic plz skonto rate mwst ust vat ab bis den am le du"
)
CONNECTORS = _wordset("nr no n nº num number nummer numero número # : . - / ( ) , ;")


class Mention(NamedTuple):
    """A number written in a text, as read: what the word before it says it is (``invoice``,
    ``customer``, ``other`` or None for a bare number), its digits as written (OCR confusions read
    as digits), without leading zeros (``serial``), the year written with it, and the token itself
    (``code``, upper case, letters kept) when it mixes letters and digits."""

    context: str | None
    serial: str
    year: str | None
    digits: str
    code: str


_TOKENS = re.compile(r"[^\W_]+|[^\w\s]")
_ASCII_DIGITS = frozenset("0123456789")


def _as_digits(token: str) -> str | None:
    """A token's digits if it is a number, OCR confusions (O/0, l/1, S/5, B/8) read as digits."""
    if not any(c in _ASCII_DIGITS for c in token):
        return None
    fixed = token.translate(_OCR)
    return fixed if fixed.isascii() and fixed.isdigit() else None


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and "1990" <= digits <= "2099"


def _full_year(digits: str) -> str:
    return digits if len(digits) == 4 else "20" + digits


def mentions(text: str) -> list[Mention]:
    """:func:`_mentions` as a list the caller may change."""
    return list(_mentions(text))


# Cached: the reference and the customer-number matchers both read each text of a receipt.
@functools.lru_cache(maxsize=4096)
def _mentions(text: str) -> tuple[Mention, ...]:
    """The numbers in ``text`` with what the words before them say they are: ``fact. 2026/153``,
    ``153/25`` and ``2026 / 153`` are invoice 153 of 2026 (or 2025), ``Kd-Nr. 10023`` a customer
    number, ``KW 42`` and ``Auftrag 69478`` something else; dates are skipped."""
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKENS.finditer(text)]
    out: list[Mention] = []
    context: str | None = None
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i][0]
        digits = _as_digits(token)
        if digits is None:
            word = token.casefold()
            if word in CONNECTORS or not (word.isalnum() or word == "%"):
                pass  # joins a word to its number, or separates the numbers of a list
            elif word in INVOICE_WORDS:
                context = "invoice"
            elif word in CUSTOMER_WORDS:
                context = "customer"
            elif word in OTHER_WORDS or word == "%":
                context = "other"
            elif any(c.isdigit() for c in word):  # a code mixing letters and digits: K100330, VR26000124
                only = "".join(c for c in word if c in _ASCII_DIGITS)
                out.append(Mention(context, only.lstrip("0") or "0", None, only, normalise(token)))
                context = None if context != "invoice" else context
            else:
                context = None
            i += 1
            continue
        # A number, perhaps the first of a group: a date, a year and a number, a number and a year.
        # "/" and "-" may have spaces around them ("2026 / 1850"), "." not ("24.05. 1375" is a date, then 1375).
        group = [digits]
        seps: list[str] = []
        j = i + 1
        while j + 1 < n and tokens[j][0] in ("/", "-", "."):
            sep, after = tokens[j], tokens[j + 1]
            d = _as_digits(after[0])
            if d is None or (sep[0] == "." and (sep[1] != tokens[j - 1][2] or after[1] != sep[2])):
                break
            seps.append(sep[0])
            group.append(d)
            j += 2
        if len(group) == 1 and _is_year(digits) and j < n and (d := _as_digits(tokens[j][0])) is not None:
            group.append(d)  # "2026 1733": a year and a number written with a space
            seps.append(" ")
            j += 1
        i = j
        if i < n and tokens[i][0] == "%":
            context = "other"
            i += 1
            continue
        for number, year in _readings(group, seps, context == "invoice"):
            out.append(Mention(context, number.lstrip("0") or "0", year, number, number))
        if context != "invoice":
            context = None  # an order or customer word names the number after it, not the whole list
    return tuple(out)


def _readings(group: list[str], seps: list[str], invoice: bool) -> list[tuple[str, str | None]]:
    """What a group of numbers joined by separators may be: (number, year) readings, none for a date."""
    if len(group) == 1:
        return [(group[0], None)]
    a, b = group[0], group[1]
    if len(group) >= 3:
        # 2026/000124/01 is a year and a number; 24.05.2026, 2026-03-15 and 25/3/26 are dates
        return [(b, a)] if _is_year(a) and len(b) > 2 else []
    if seps[0] == "." and len(a) <= 2 and len(b) <= 2:
        return []  # 24.05.
    if not invoice and len(a) <= 2 and len(b) <= 2 and 1 <= int(a) <= 31 and 1 <= int(b) <= 12:
        return []  # 25/3, 4/11
    readings: list[tuple[str, str | None]] = []
    if _is_year(a):
        readings.append((b, a))  # 2026/153, 2026 1733
    if seps[0] != " " and (len(b) == 2 or _is_year(b)):
        readings.append((a, _full_year(b)))  # 153/25, 2001/26 (or 2001's number 26)
    return readings or [(a, None), (b, None)]


def serial_of(number: str) -> tuple[str | None, str | None]:
    """An invoice number's sequence number and year, where they can be told: ``RE-2026-0000096``
    and ``2026/96`` give (``96``, ``2026``), ``2026/2001`` (``2001``, ``2026``); ``VR25000124`` (``124``,
    ``2025``), the zeros between them being padding; ``90002678`` (``2678``, None); ``12345678`` gives
    nothing."""
    groups = _DIGIT_RUN.findall(number)
    if not groups:
        return None, None
    last = groups[-1]
    year = None
    for k in range(len(groups) - 1):  # the first year-like group before the last (_is_year, inlined)
        g = groups[k]
        if len(g) == 4 and "1990" <= g <= "2099":
            year = g
            break
    if last[0] == "0":
        return last.lstrip("0") or None, year
    # Zeros inside a run are padding only in a run longer than a sequence number: "2026/2001" is number
    # 2001, not 1 after a prefix 2 (it was read so, and its own "2001/26" named nothing).
    padded = len(last) >= MIN_PADDED and _PADDED_SERIAL.match(last)
    if padded:
        prefix = padded.group(1)
        if year is None and (len(prefix) == 2 or _is_year(prefix)):
            year = _full_year(prefix)
        return padded.group(2), year
    if len(groups) > 1 or not number.isdigit():
        return last, year
    return None, None


_PADDED_SERIAL = re.compile(r"^(\d*?[1-9])0{2,}([1-9]\d*)$")
MIN_PADDED = 6
"""Digits a run has at least for zeros inside it to be padding between a prefix and the sequence number
("VR25000124", "90002678"); a shorter one ("2001", "1007") is the sequence number itself."""


def _bare(number: str, texts: Sequence[str]) -> bool:
    """Whether ``texts`` write invoice ``number`` by its sequence number alone, as a bare number: no invoice
    word before it, no year with it, no zeros before it (each of those says it is a number already)."""
    serial, _ = serial_of(number)
    if serial is None or serial == number:
        return False
    return any(
        m.context is None and m.year is None and m.code == m.digits == m.serial == serial
        for t in texts
        for m in mentions(t)
    )


def _chance_words(serial: str, among: int) -> float:
    """Log-odds that a number of ``serial``'s length, written at random, is none of ``among`` numbers of
    that length (there are 9 * 10^(length - 1) of them)."""
    return math.log(9 * 10 ** (len(serial) - 1) / max(among, 1))


class _Keyed(dict[Any, Any], Generic[T]):
    """Values per key, for a million invoices: most keys (an invoice number, its digits, a PO number, a
    sequence number) have one value, held bare, not in a list of one (a list costs about 90 bytes; the
    reference indexes of a million invoices took hundreds of megabytes that way). Read with :meth:`of`,
    as sequences in the order added; ``in`` is the dict's own. ``T`` is never a list."""

    __slots__ = ()

    def add(self, key: str, value: T) -> None:
        got = self.setdefault(key, value)
        if got is not value:
            _collide(self, key, got, value)

    def of(self, key: str) -> Sequence[T]:
        got = self.get(key)
        if got is None:
            return ()
        return got if type(got) is list else (got,)


def _collide(values: dict[Any, Any], key: Any, got: Any, value: Any) -> None:
    """A second value for ``key`` of a :class:`_Keyed` (``got`` is what it holds)."""
    if type(got) is list:
        got.append(value)
    else:
        values[key] = [got, value]


#: Keys of the reference indexes up to this many characters are held as ints (see :func:`_alnum_key`).
_INT_KEY_CHARS = 40


def _alnum_key(text: str) -> int | str:
    """An invoice or PO number's key in the reference indexes: its normalised text (upper-case ASCII
    letters and digits) read as a base-36 numeral behind a leading 1 (which keeps leading zeros apart),
    an int of 36-40 bytes instead of a string of about 64 (a million numbers, each indexed whole and by
    its digits, took tens of megabytes more as strings). Any other text (lower case, other characters,
    very long) is kept as it is: no stored int equals it, and the text equals only itself, so a lookup
    finds exactly what it found when the keys were strings."""
    if len(text) <= _INT_KEY_CHARS and text.isascii() and text.isalnum() and (text.isupper() or text.isdigit()):
        return int("1" + text, 36)
    return text


def _digits_key(text: str) -> int | str:
    """A number's digits' key in the reference indexes: the digits behind a leading 1, as an int (see
    :func:`_alnum_key`); any other text as it is."""
    if len(text) <= _INT_KEY_CHARS and text.isascii() and text.isdigit():
        return int("1" + text)
    return text


class _Encoded(_Keyed[T]):
    """A :class:`_Keyed` whose keys are stored encoded (:attr:`encode`, a function of the text that
    gives each text its own key): looked up with the text, as before."""

    __slots__ = ()
    encode: Callable[[str], int | str] = staticmethod(_alnum_key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and dict.__contains__(self, self.encode(key))

    def of(self, key: str) -> Sequence[T]:
        got = self.get(self.encode(key))
        if got is None:
            return ()
        return got if type(got) is list else (got,)


class _Packed:
    """Invoices per key for a whole book, built once and only read: the keys' hashes in one sorted array, the
    invoices' ids beside them. 16 bytes an entry, where a dict held an int key of about 36 bytes and a slot
    of about 40: the three largest reference indexes of a million invoices (whole numbers, their digits,
    their sequence numbers) took about 250 MB as dicts, and pushed a run past 1 GB. Written by hand: no
    library holds an int-to-int multimap this small (the stdlib's ``array`` and ``bisect`` do the work).

    A lookup bisects the hashes and keeps the invoices whose own key (``key_of``, read again from the
    invoice) is the key asked for, so two keys of one hash never mix; they come in the order added."""

    __slots__ = ("_hashes", "_ids", "_key_of")

    def __init__(self, hashes: array[int], ids: array[int], key_of: Callable[[int], object]) -> None:
        order = sorted(range(len(hashes)), key=hashes.__getitem__)  # stable: within a hash, the order added
        self._hashes = array("q", (hashes[k] for k in order))
        self._ids = array("q", (ids[k] for k in order))
        self._key_of = key_of

    def _find(self, key: object) -> Sequence[int]:
        h = hash(key)
        hashes = self._hashes
        lo = bisect_left(hashes, h)
        if lo == len(hashes) or hashes[lo] != h:
            return ()
        hi = bisect_right(hashes, h, lo)
        key_of = self._key_of
        if hi == lo + 1:
            i = self._ids[lo]
            return (i,) if key_of(i) == key else ()
        return [i for i in self._ids[lo:hi] if key_of(i) == key]


class _PackedNumbers(_Packed):
    """:class:`_Packed` looked up with a number's text (:attr:`encode` gives its key)."""

    __slots__ = ("encode",)

    def __init__(
        self,
        hashes: array[int],
        ids: array[int],
        key_of: Callable[[int], object],
        encode: Callable[[str], int | str],
    ) -> None:
        super().__init__(hashes, ids, key_of)
        self.encode = encode

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._find(self.encode(key)))

    def of(self, key: str) -> Sequence[int]:
        return self._find(self.encode(key))


def _number_key(invoices: dict[int, Any]) -> Callable[[int], object]:
    """An invoice's key in the whole numbers' index (as :class:`_References` builds it)."""

    def key_of(invoice_id: int) -> object:
        return _alnum_key(_number_text(invoices[invoice_id].number))

    return key_of


def _digits_key_of(invoices: dict[int, Any]) -> Callable[[int], object]:
    """An invoice's key in the digits' index (as :class:`_References` builds it)."""

    def key_of(invoice_id: int) -> object:
        return _digits_key(_number_digits(invoices[invoice_id].number))

    return key_of


#: Sequence numbers up to this many digits are keyed by their value (a longer one, which no real book
#: has, by its text: ``int`` of thousands of digits is slow, and refused past 4,300).
_INT_SERIAL_DIGITS = 30


def _serial_key(serial: str) -> int | str:
    """A sequence number's key in :class:`_Serials`: its value where that gives it back exactly (ASCII
    digits without a leading zero, as :func:`serial_of` gives), else the text itself, which no stored
    int key equals (``"0153"`` names no invoice, as before: stored numbers have no leading zero)."""
    if len(serial) <= _INT_SERIAL_DIGITS and serial.isascii() and serial.isdigit() and serial[0] != "0":
        return int(serial)
    return serial


class _Serials(_Packed):
    """Invoices by sequence number (:func:`serial_of`), keyed by the number's value (:func:`_serial_key`),
    packed (:class:`_Packed`); the year is read again from the invoice's number for the few entries asked
    for. :meth:`of` gives the ``(id, year)`` pairs, in the order added."""

    __slots__ = ("_invoices",)

    def __init__(self, invoices: dict[int, Any], hashes: array[int], ids: array[int]) -> None:
        super().__init__(hashes, ids, lambda i: _serial_key(serial_of(invoices[i].number)[0] or ""))
        self._invoices = invoices

    def ids(self, serial: str) -> Sequence[int]:
        """The invoices numbered ``serial``, in the order added."""
        return self._find(_serial_key(serial))

    def of(self, key: str) -> Sequence[tuple[int, str | None]]:
        invoices = self._invoices
        return [(i, serial_of(invoices[i].number)[1]) for i in self.ids(key)]


class _Digits:
    """Each invoice's number's digits, read from the number when asked (a dict of a million strings
    cost tens of megabytes, and few are asked for)."""

    __slots__ = ("_invoices",)

    def __init__(self, invoices: dict[int, Any]) -> None:
        self._invoices = invoices

    def __getitem__(self, invoice_id: int) -> str:
        return _number_digits(self._invoices[invoice_id].number)


class _References:
    def __init__(self, book: OpenItems) -> None:
        self.unpadded: _Keyed[int] = _Keyed()
        self.po: _Encoded[int] = _Encoded()
        self.structured: _Keyed[int] = _Keyed()
        self.invoice_digits = _Digits(book.invoices)
        # Built for up to millions of invoices per run: local names, one regex call per field.
        loose, pos, structured = self.unpadded, self.po, self.structured
        number_hashes, number_ids, digit_hashes, digit_ids = array("q"), array("q"), array("q"), array("q")
        add_number, add_number_id = number_hashes.append, number_ids.append
        add_digits, add_digits_id = digit_hashes.append, digit_ids.append
        not_alnum, padding = _NOT_ALNUM.sub, _PADDING.search
        alnum_key, digits_key, number_text, number_digits = _alnum_key, _digits_key, _number_text, _number_digits
        # dict.setdefault, not _Keyed.add: a method call per entry cost a third of the build.
        for iid, number, _, _, _, _, po_number, reference, _ in book.invoices.values():
            key = number_text(number)
            if len(key) >= MIN_KEY:
                add_number(hash(alnum_key(key)))
                add_number_id(iid)
                if padding(number):  # only zero-padded numbers can be written without
                    key = unpadded(number)
                    if (got := loose.setdefault(key, iid)) is not iid:
                        _collide(loose, key, got, iid)
            only = number_digits(number)
            if len(only) >= MIN_KEY + 2:
                add_digits(hash(digits_key(only)))
                add_digits_id(iid)
            if po_number:
                po = not_alnum("", po_number).upper()
                if len(po) >= MIN_KEY:
                    code = alnum_key(po)
                    if (got := pos.setdefault(code, iid)) is not iid:
                        _collide(pos, code, got, iid)
            if reference:
                key = not_alnum("", reference).upper()
                if (got := structured.setdefault(key, iid)) is not iid:
                    _collide(structured, key, got, iid)
        self.numbers = _PackedNumbers(number_hashes, number_ids, _number_key(book.invoices), _alnum_key)
        del number_hashes, number_ids
        self.digits = _PackedNumbers(digit_hashes, digit_ids, _digits_key_of(book.invoices), _digits_key)
        del digit_hashes, digit_ids
        self._lengths_of: dict[str, dict[tuple[int, str | None], int]] = {}
        self._serials: _Serials | None = None
        self._years: dict[str, str] = {}  # one string per year, shared by the counts of every customer
        from stdnum import iso11649  # here, once per run: the command line starts without it

        self.is_creditor_reference: Callable[[str], bool] = iso11649.is_valid

    def of_customer(self, book: OpenItems, customer_id: str) -> list[tuple[int, str]]:
        """A customer's invoices with their digits (read when asked, not kept: a list per customer of
        a tuple per invoice took a tenth of a million invoices' run)."""
        digits = self.invoice_digits
        return [(i, digits[i]) for i in book.by_customer.get(customer_id, ())]

    def serials_of(self, book: OpenItems, customer_id: str) -> _CustomerSerials:
        """A customer's invoices by sequence number, with their years: the book-wide index's entries of
        the customer (a dict per customer besides the book-wide one took tens of megabytes)."""
        self.serials(book)
        assert self._serials is not None
        return _CustomerSerials(self._serials, book.invoices, customer_id)

    @staticmethod
    def written_bare(book: OpenItems, customer_id: str) -> int:
        """How many of the customer's invoices its payers wrote by their sequence number alone, as a bare
        number (no invoice word, no year, no zeros before it: "Zahlung 96" for 2026/96), in payments finance
        confirmed (``CustomerView.written``): a payer's habit, which makes its next bare number one of its
        invoice numbers, not a stray one. Read once per customer and run."""
        counted: dict[str, int] = book.index("matching:written-bare", lambda _: {})
        got = counted.get(customer_id)
        if got is None:
            customer = book.customers.get(customer_id)
            got = counted[customer_id] = sum(
                1 for number, texts in (customer.written if customer is not None else ()) if _bare(number, texts)
            )
        return got

    def alike(self, book: OpenItems, customer_id: str, serial: str, year: str | None) -> int:
        """How many of the customer's invoices have a sequence number as long as ``serial`` (and, if
        given, ``year`` or no year known): the numbers a number written at random could hit."""
        lengths = self._lengths_of.get(customer_id)
        if lengths is None:  # counted on first use, kept for the run
            lengths = self._lengths_of[customer_id] = defaultdict(int)
            invoices, years = book.invoices, self._years
            for i in book.by_customer.get(customer_id, ()):
                got, got_year = serial_of(invoices[i].number)
                if got:
                    if got_year is not None:
                        lengths[len(got), years.setdefault(got_year, got_year)] += 1
                    lengths[len(got), None] += 1
        if year is None:
            return lengths.get((len(serial), None), 0)
        with_years = sum(n for (length, y), n in lengths.items() if length == len(serial) and y is not None)
        return lengths.get((len(serial), year), 0) + lengths.get((len(serial), None), 0) - with_years

    def serials(self, book: OpenItems) -> _Serials:
        """Every invoice by sequence number (built on first use), each number's invoices customer by
        customer, in the book's order within a customer: they are read per customer or counted,
        never by their order across customers."""
        if self._serials is None:
            hashes, ids = array("q"), array("q")
            add, add_id = hashes.append, ids.append
            invoices, key_of = book.invoices, _serial_key
            for customers in book.by_customer.values():
                for i in customers:
                    serial = serial_of(invoices[i].number)[0]
                    if serial:
                        add(hash(key_of(serial)))
                        add_id(i)
            self._serials = _Serials(invoices, hashes, ids)
        return self._serials


class _CustomerSerials:
    """One customer's invoices by sequence number: the entries of the book-wide index that are its
    invoices, in the book's order. Read with :meth:`of` only: it holds nothing itself."""

    __slots__ = ("_all", "_customer", "_invoices")

    def __init__(self, everyone: _Serials, invoices: dict[int, Any], customer_id: str) -> None:
        self._all, self._invoices, self._customer = everyone, invoices, customer_id

    def of(self, key: str) -> Sequence[tuple[int, str | None]]:
        invoices, customer = self._invoices, self._customer
        return [
            (i, serial_of(invoices[i].number)[1]) for i in self._all.ids(key) if invoices[i].customer_id == customer
        ]


def _payers(book: OpenItems, found: Found) -> set[str]:
    """The customers the payer's own evidence (account, name, customer number) identifies, strongly."""
    return {cid for cid in found.customers if found.customer_weight(cid, payer_only=True) >= STRONG_PAYER}


def _year_agrees(written: str | None, invoice: str | None) -> bool | None:
    """True or False where both years are known, None where one is not."""
    if written is None or invoice is None:
        return None
    return written == invoice


#: How a number was written one digit away from the invoice's (:func:`_slip`), as the evidence says it.
_SLIPS = {
    "wrong": N_("%(number)s written with one digit different (%(written)s), the only such invoice with the amount"),
    "left out": N_("%(number)s written with a digit left out (%(written)s), the only such invoice with the amount"),
    "too many": N_("%(number)s written with a digit too many (%(written)s), the only such invoice with the amount"),
}


def _slip(digits: str, written: str) -> str | None:
    """How ``written`` is one slip of the pen from ``digits``: one digit ``"wrong"``, two neighbours
    ``"swapped"``, one ``"left out"``, one ``"too many"`` (written twice, or a stray one); None where it is
    none of these, or the same. By hand: the one-edit cases of Damerau-Levenshtein distance, with no
    distance computed in full (rapidfuzz's would be, and a number is compared with a handful only)."""
    if len(digits) == len(written):
        diff = [k for k, (a, b) in enumerate(zip(digits, written, strict=True)) if a != b]
        if len(diff) == 1:
            return "wrong"
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1
        return (
            "swapped"
            if swapped and digits[diff[0]] == written[diff[1]] and digits[diff[1]] == written[diff[0]]
            else None
        )
    if len(digits) == len(written) + 1:
        longer, shorter, slip = digits, written, "left out"
    elif len(written) == len(digits) + 1:
        longer, shorter, slip = written, digits, "too many"
    else:
        return None
    k = next((k for k, (a, b) in enumerate(zip(shorter, longer, strict=False)) if a != b), len(shorter))
    return slip if longer[k + 1 :] == shorter[k:] else None


def _implied(number: str, customer_id: str, matcher: str) -> Evidence:
    """The customer of an invoice named, implied by it: it helps find the customer's other invoices and
    does not count again in a proposal's confidence."""
    reason = Message(N_("%(number)s is %(customer)s's"), number=number, customer=customer_id)
    return Evidence("customer", customer_id, W_IMPLIED, reason, matcher, implied=True)


class ReferenceMatcher(EvidenceMatcher):
    name = "references"
    stage = 1

    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        refs: _References = book.index("matching:references", _References)
        out: list[Evidence] = []
        seen: set[int] = set()
        payers = _payers(book, found)
        payer_groups = {book.group(c) for c in payers}
        # The customers the payer's name designates, however many share it: an invoice of one of them is
        # no stranger's because the amount points at another of them, unless that other has an invoice of
        # exactly the amount whose number is the one written with one slip (a digit wrong, two swapped).
        named_by_payer = {str(e.target) for e in _who(receipt, book).evidence} if payers else set()

        slipped: list[str] | None = None

        def slips() -> list[str]:
            """Looked up once per receipt, and only where a sibling's invoice is named."""
            nonlocal slipped
            if slipped is None:
                slipped = [
                    refs.invoice_digits[i]
                    for i in book.of_amount(receipt.currency, receipt.amount)
                    if book.invoices[i].customer_id in payers and book.remaining(i) == receipt.amount
                ]
            return slipped

        strangers: set[int] = set()

        def hit(ids: Sequence[int], weight: float, msgid: str, values: dict[str, Any]) -> None:
            """``ids`` named, with the reason ``msgid`` (its ``%(number)s`` each invoice's number)."""
            ambiguous = len(ids) > 1
            for i in ids:
                if i in seen:
                    continue
                seen.add(i)
                w = weight - (1.5 + 0.5 * min(len(ids) - 2, 4) if ambiguous else 0.0)
                inv = book.invoices[i]
                why = Message(msgid, number=inv.number, **values)
                if ambiguous:
                    why = _then(why, Message(N_(" (fits %(count)s invoices)"), count=len(ids)))
                if (
                    payers
                    and book.group(inv.customer_id) not in payer_groups
                    and (
                        inv.customer_id not in named_by_payer
                        or any(_slip(d, refs.invoice_digits[i]) is not None for d in slips())
                    )
                ):
                    strangers.add(i)
                    w -= W_STRANGER
                    why = _then(
                        why,
                        Message(
                            N_(
                                ", but %(number)s is %(customer)s's and the payer is identified as "
                                "%(payers)s (%(weight)s)"
                            ),
                            number=inv.number,
                            customer=inv.customer_id,
                            payers=", ".join(sorted(payers)),
                            weight=f"{-W_STRANGER:+.1f}",
                        ),
                    )
                out.append(Evidence("invoice", i, w, why, self.name))
                out.append(_implied(inv.number, inv.customer_id, self.name))

        for value in receipt.references:
            key = normalise(value)
            if refs.is_creditor_reference(key):
                body = key[4:]
                ids = (
                    refs.structured.of(key)
                    or refs.structured.of(body)
                    or refs.numbers.of(body)
                    or refs.digits.of(body.lstrip("0") if body.isdigit() else body)
                    or []
                )
                if ids:
                    hit(
                        ids,
                        W_STRUCTURED,
                        N_("structured creditor reference %(reference)s (ISO 11649) names %(number)s"),
                        {"reference": value},
                    )
                continue
            ids = refs.structured.of(key) or []
            if ids:
                hit(ids, W_STRUCTURED, N_("structured reference %(reference)s names %(number)s"), {"reference": value})
        texts = [uncut(t) for t in receipt.texts()]
        tokens: list[str] = []
        for text in texts:
            tokens.extend(candidates(text))
        tokens = list(dict.fromkeys(tokens))  # each distinct token once, in order
        # Each token looked up as a whole invoice number once (the readings below ask again).
        whole_numbers = {key: ids for key in tokens if (ids := refs.numbers.of(key))}
        # Strongest reading first: whole invoice numbers, then digits only (unless they are the digits
        # of a number already found whole), then PO numbers.
        for key, ids in whole_numbers.items():
            hit(ids, W_REF, N_("invoice number %(number)s written in the payment as %(written)r"), {"written": key})
        # Payers often type the invoice's structured reference (RF, KID, OCR, FIK) into the free text
        # instead of the structured field: its check digit makes it as good as a number written whole.
        for key in tokens:
            if len(key) >= MIN_STRUCTURED_IN_TEXT and key in refs.structured and key not in whole_numbers:
                checked = refs.is_creditor_reference(key)
                hit(
                    refs.structured.of(key),
                    W_REF if checked else W_REF_DIGITS,
                    N_("the payment reference of %(number)s written in the text (%(written)s, ISO 11649)")
                    if checked
                    else N_("the payment reference of %(number)s written in the text (%(written)s)"),
                    {"written": key},
                )
        if not self._pays(receipt, book, seen - strangers):
            self._unpadded(texts, refs, hit)
        whole = {refs.invoice_digits[i] for i in seen}
        for key in tokens:
            if key not in whole and key not in whole_numbers and (ids := refs.digits.of(key)):
                hit(
                    ids,
                    W_REF_DIGITS,
                    N_("the digits of %(number)s written in the payment (%(written)s)"),
                    {"written": key},
                )
        for key in tokens:
            if key not in whole_numbers and (ids := refs.po.of(key)):
                hit(ids, W_PO, N_("PO number %(po)s of %(number)s written in the payment"), {"po": key})
        # Mangled and partly written numbers are only worth looking for when what was found whole does
        # not pay the amount, or is a stranger's.
        if not self._pays(receipt, book, seen - strangers):
            # They are searched only among the open invoices of customers already identified: checked
            # against a few dozen invoices instead of all, a transposition cannot land on a stranger's
            # invoice. Those customers: the ones the payer was identified as, and the one most of the
            # named invoices belong to (not every stranger a stray number happened to hit).
            customers = {cid for cid, _ in found.top_customers(2.0, limit=3)}
            named_by: dict[str, int] = defaultdict(int)
            for ev in out:
                if ev.kind == "customer":
                    named_by[str(ev.target)] += 1
            if named_by:
                most = max(named_by.values())
                customers.update(cid for cid, n in named_by.items() if n == most)
            if customers:
                # A stranger's number that has exactly the amount may be the payer's own, mistyped: its
                # digits are read again among the payer's invoices. One of another amount is read again
                # only for a slip onto the one invoice of the payer's that has exactly the amount.
                explained = {i for i in seen if i not in strangers or book.remaining(i) != receipt.amount}
                stray = {refs.invoice_digits[i] for i in strangers if book.remaining(i) != receipt.amount}
                self._fuzzy(receipt, book, refs, tokens, customers, seen, explained, stray, hit)
            self._serials(receipt, book, found, refs, texts, customers, payers, seen, hit)
        return out

    @staticmethod
    def _pays(receipt: ReceiptView, book: OpenItems, seen: set[int]) -> bool:
        """The invoices found so far pay exactly the receipt's amount."""
        if not seen:
            return False
        total = sum((book.remaining(i) for i in seen if book.invoices[i].currency == receipt.currency), Decimal(0))
        return total == receipt.amount

    @staticmethod
    def _unpadded(texts: list[str], refs: _References, hit: object) -> None:
        """Numbers written without their zero padding: each run of a prefix and up to three numbers
        in the words ("Payment INV 2026-123" -> "INV.2026.123") looked up among padded numbers."""
        assert callable(hit)
        for text in texts:
            for segment in _SEGMENTS.split(text):
                for words in _WORDS.findall(segment):
                    parts = [p if p.isalpha() else (p.lstrip("0") or "0") for p in _PARTS.findall(words.upper())]
                    for start, first in enumerate(parts):
                        if not first.isalpha():
                            continue
                        for end in range(start + 2, min(start + 5, len(parts)) + 1):
                            loose = ".".join(parts[start:end])
                            if loose in refs.unpadded:
                                hit(
                                    refs.unpadded.of(loose),
                                    W_REF_DIGITS,
                                    N_("invoice number %(number)s written without its leading zeros (%(written)s)"),
                                    {"written": loose},
                                )

    @staticmethod
    def _fuzzy(
        receipt: ReceiptView,
        book: OpenItems,
        refs: _References,
        tokens: list[str],
        customers: set[str],
        seen: set[int],
        known: set[int],
        stray: set[str],
        hit: object,
    ) -> None:
        """Numbers written with letters for digits, two digits swapped, one digit wrong, left out or too
        many, or by their last digits, among the open invoices of ``customers``; ``known``: the invoices
        found whole, whose digits are no clue; ``stray``: the digits of strangers' invoices found whole,
        read again only for a slip."""
        explained = [refs.invoice_digits[i] for i in known if book.invoices[i].customer_id in customers]
        digit_tokens = set()
        for key in tokens:
            ocr = key.translate(_OCR)
            for d in {*(_DIGIT_RUN.findall(ocr)), "".join(_DIGIT_RUN.findall(ocr))}:
                # digits already explained by an invoice found exactly (its year, its number) are no clue
                if len(d) >= MIN_SUFFIX and not any(d in known for known in explained):
                    digit_tokens.add(d)
        if not digit_tokens and not stray:
            return
        assert callable(hit)

        def mine(ids: Iterable[int]) -> list[int]:
            return [
                i for i in ids if i not in seen and book.invoices[i].customer_id in customers and book.remaining(i) > 0
            ]

        # Looked up, not scanned: a token's variants (itself after OCR fixes, each adjacent swap) are
        # keys of the digits index, then kept only if they are the identified customers' invoices. Every
        # token is looked up so before any is read as a slip: "lNV 2O26 2O47ll" is 2026204711 with
        # letters for digits, not 12026204711 (its "I" read as a 1) with a digit too many.
        unread: list[str] = []
        for token in sorted(digit_tokens, key=lambda t: (len(t), t), reverse=True):  # (no hash order)
            exact = mine(refs.digits.of(token))
            if exact:
                hit(
                    exact,
                    W_REF_FUZZY,
                    N_("%(number)s written with letters for digits (%(written)s)"),
                    {"written": token},
                )
                continue
            swapped = mine(
                i
                for k in range(len(token) - 1)
                if token[k] != token[k + 1]
                for i in refs.digits.of(token[:k] + token[k + 1] + token[k] + token[k + 2 :])
            )
            if swapped:
                hit(
                    swapped,
                    W_REF_FUZZY,
                    N_("%(number)s written with two digits swapped (%(written)s)"),
                    {"written": token},
                )
                continue
            unread.append(token)
        # One digit wrong, left out or written twice: numbered in sequence, a customer's invoices are often
        # one digit apart, so only the one that has exactly the amount is a clue, and only if it is the only
        # one. (Checked against the identified customers' invoices of the amount, a handful, rather than
        # looking up a token's hundreds of variants in the book-wide index, whose lists are long.)
        of_amount = [
            i
            for i in book.of_amount(receipt.currency, receipt.amount)
            if book.invoices[i].customer_id in customers and book.remaining(i) == receipt.amount
        ]
        for token in unread + sorted(stray - digit_tokens):
            slips = [
                (i, slip)
                for i in of_amount
                if i not in seen and (slip := _slip(refs.invoice_digits[i], token)) in _SLIPS  # (swaps: above)
            ]
            if len(slips) == 1:
                ((i, slip),) = slips
                hit([i], W_ONE_DIGIT, _SLIPS[slip], {"written": token})
                continue
            if token in stray:
                continue
            stripped = token.lstrip("0")
            # "last digits" are shorter than a whole number, and not a PO number written as digits
            if not MIN_SUFFIX <= len(stripped) <= 8 or ("PO" + token) in refs.po:
                continue
            tail = mine(
                i
                for c in customers
                for i, digits in refs.of_customer(book, str(c))
                if digits.endswith(stripped) and digits != stripped
            )
            if len(tail) == 1:
                hit(tail, W_REF_SUFFIX, N_("%(number)s written by its last digits (%(written)s)"), {"written": token})

    @staticmethod
    def _one_customer(
        receipt: ReceiptView,
        book: OpenItems,
        serials: _Serials,
        unmatched: list[Mention],
        seen: set[int],
        hit: object,
    ) -> bool:
        """Book-wide: several numbers that all name invoices of one customer identify it."""
        assert callable(hit)
        found = _one_customer_reading(receipt, book, serials, unmatched)
        if found is None:
            return False
        cid, ids_per_number, chance = found
        weight = min(W_SERIAL, math.log(1 / max(chance, 1e-12)) - 1.0)
        if weight < MIN_SERIAL_WEIGHT:
            return False
        for ids in ids_per_number:
            hit(
                [i for i in ids if i not in seen] or ids,
                weight,
                N_(
                    "%(number)s written by its sequence number, one of %(count)s numbers written that all name "
                    "invoices of %(customer)s and no other customer (%(chance)s by coincidence)"
                ),
                {"count": len(ids_per_number), "customer": cid, "chance": _about_chance(chance)},
            )
        return True

    @staticmethod
    def _serials(
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        refs: _References,
        texts: list[str],
        customers: set[str],
        payers: set[str],
        seen: set[int],
        hit: object,
    ) -> None:
        """Invoice numbers written partly: the sequence number alone ("Rg 4467", "inv 153"), with the
        year ("fact. 2026/153", "153/25", "2026 / 1850"), OCR confusions read as digits. A sequence
        number is short and every year, prefix and company of a book has one like it: it is looked
        for among the identified customers' open invoices only, weighing less the more invoices they
        have; or book-wide where it is written as an invoice number and exactly one invoice with it
        has the amount, weighing less the more invoices share the number and the amount."""
        assert callable(hit)
        read: list[Mention] = []
        for text in texts:
            read.extend(m for m in mentions(text) if m.context in ("invoice", None) and m.digits == m.code)
        if not read:
            return
        exact = set(seen)  # found by their numbers in full
        unmatched: list[Mention] = []
        for m in dict.fromkeys(read):
            said = m.context == "invoice" or m.year is not None or (len(m.digits) > len(m.serial))
            if not said and _is_year(m.serial):
                continue  # a year names nothing
            matched = False
            for cid in sorted(customers):
                # A bare number from a payer known to write its numbers so is one of them, as after an invoice word.
                habit = 0 if said else refs.written_bare(book, cid)
                if not said and not habit and len(m.serial) < 3:
                    continue  # a bare short number names nothing
                serials = refs.serials_of(book, cid)
                # Open credit notes too: a payer's list ends with the credit notes it deducts, written as
                # briefly as its invoices ("58/26" for GS-2026-000058).
                ids = [
                    i
                    for i, year in serials.of(m.serial)
                    if _year_agrees(m.year, year) is not False and book.remaining(i) != 0
                ]
                if not ids:
                    continue
                matched = True
                if not exact.isdisjoint(ids):
                    continue  # the number of one found in full ("RE-2026-0001"), not the sequence number of another
                agrees = m.year is not None and all(
                    _year_agrees(m.year, y) for i, y in serials.of(m.serial) if i in ids
                )
                among = refs.alike(book, cid, m.serial, m.year if agrees else None)
                weight = _chance_words(m.serial, among)
                if m.context == "invoice":
                    weight += SERIAL_WORD
                elif habit:
                    weight += SERIAL_HABIT
                if len(m.digits) > len(m.serial):
                    weight += SERIAL_YEAR
                weight = min(weight, W_SERIAL if said or habit else W_SERIAL_BARE)
                if weight < MIN_SERIAL_WEIGHT:
                    continue
                written = f"{m.serial}/{m.year}" if m.year else m.digits
                hit(
                    ids,
                    weight,
                    N_(
                        "%(number)s written by its sequence number (%(written)s%(year)s, %(how)s), one of %(among)s "
                        "open invoices of %(customer)s numbered alike; %(customer)s %(by)s"
                    ),
                    {
                        "written": written,
                        "year": YEAR_AGREEING if agrees else "",
                        "how": AFTER_AN_INVOICE_WORD
                        if m.context == "invoice"
                        else Message(A_BARE_NUMBER_AS_BEFORE, count=habit)
                        if habit
                        else A_BARE_NUMBER,
                        "among": among,
                        "customer": cid,
                        "by": IDENTIFIED_BY_THE_PAYER if cid in found.customers else NAMED_BY_OTHER_NUMBERS,
                    },
                )
            if not matched and (m.context == "invoice" or m.year is not None) and len(m.serial) >= 2:
                unmatched.append(m)
        # Book-wide: only where no payer is identified (if one is, its own invoices were searched above).
        if not unmatched or payers:
            return
        everyone = refs.serials(book)
        if ReferenceMatcher._one_customer(receipt, book, everyone, unmatched, seen, hit):
            return  # the numbers together name one customer's invoices: no single one is read alone
        for m in unmatched:
            numbered = [(i, y) for i, y in everyone.of(m.serial) if _year_agrees(m.year, y) is not False]
            paid = [
                i
                for i, _ in numbered
                if book.invoices[i].currency == receipt.currency
                and book.remaining(i) == receipt.amount
                and _due_plausibly(book.invoices[i].due_date, receipt.booking_date)
            ]
            if len(paid) != 1 or paid[0] in seen:
                continue
            counts: _AmountCounts = book.index("matching:amounts", _amount_counts)
            same, total = counts.count(receipt.currency, receipt.amount, 0), counts.total(receipt.currency)
            # The chance that one of the invoices with this number has the amount by coincidence: as
            # many tries as invoices numbered so, each hitting as often as invoices have the amount
            # (the invoice itself counted once more: a unique amount is not proof of a unique habit).
            chance = len(numbered) * (same + 1) / (total + 1)
            weight = min(W_SERIAL_AMOUNT, math.log(1 / chance) - 1.0)
            if weight < MIN_SERIAL_WEIGHT:
                continue
            inv = book.invoices[paid[0]]
            written = f"{m.serial}/{m.year}" if m.year else m.digits
            hit(
                paid,
                weight,
                N_(
                    "%(number)s written by its sequence number (%(written)s): of %(count)s invoices numbered so, the "
                    "only one whose open amount equals the payment (due %(due)s); %(same)s of %(total)s open invoices "
                    "in %(currency)s have this amount"
                ),
                {
                    "written": written,
                    "count": len(numbered),
                    "due": Day(inv.due_date) if type(inv.due_date) is date else str(inv.due_date),
                    "same": same,
                    "total": total,
                    "currency": receipt.currency,
                },
            )


def _one_customer_reading(
    receipt: ReceiptView,
    book: OpenItems,
    serials: _Serials,
    unmatched: list[Mention],
) -> tuple[str, list[list[int]], float] | None:
    """Several sequence numbers written as invoice numbers whose invoices (open, in the currency) are
    of one customer only: that customer, each number's invoices of it, and the chance that the numbers
    all land on one customer's invoices by coincidence."""
    per_mention: list[dict[str, list[int]]] = []
    for m in dict.fromkeys(unmatched):
        owners: dict[str, list[int]] = defaultdict(list)
        for i, y in serials.of(m.serial):
            inv = book.invoices[i]
            if _year_agrees(m.year, y) is not False and inv.currency == receipt.currency and book.remaining(i) > 0:
                owners[inv.customer_id].append(i)
        if owners:
            per_mention.append(owners)
    if len(per_mention) < 2:
        return None
    common = set(per_mention[0]).intersection(*per_mention[1:])
    if len(common) != 1:
        return None
    (cid,) = common
    share = len(book.by_customer.get(cid, ())) / max(len(book.invoices), 1)
    # The first number picks the customer; each further one lands on it by chance as often as it has
    # as many tries as invoices numbered so, each hitting the customer's share of the book.
    chance = math.prod(min(1.0, sum(len(ids) for ids in owners.values()) * share) for owners in per_mention[1:])
    return cid, [owners[cid] for owners in per_mention], chance


def _about_chance(chance: float) -> Message:
    if chance > 1e-9:
        return Message(N_("about 1 in %(count)s"), count=f"{1 / chance:,.0f}")
    return Message(N_("fewer than 1 in a billion"))


YEAR_AGREEING = Message(N_(", the year agreeing"))
AFTER_AN_INVOICE_WORD = Message(N_("after an invoice word"))
A_BARE_NUMBER = Message(N_("a bare number"))
A_BARE_NUMBER_AS_BEFORE = N_(
    "a bare number, as this customer's payers wrote %(count)s of its invoice numbers in payments finance confirmed"
)
IDENTIFIED_BY_THE_PAYER = Message(N_("identified by the payer"))
NAMED_BY_OTHER_NUMBERS = Message(N_("named by the payment's other numbers"))


def _due_plausibly(due: object, booked: object) -> bool:
    """A payment is not made for an invoice due more than half a year after it (not issued yet)."""
    if isinstance(due, date) and isinstance(booked, date):
        return due <= booked + timedelta(days=183)
    return True


# -- customer numbers ---------------------------------------------------------------------------------


class _CustomerNumbers:
    def __init__(self, book: OpenItems) -> None:
        self.codes: dict[str, list[str]] = defaultdict(list)
        self.digits: dict[str, list[str]] = defaultdict(list)
        for cid in book.customers:
            self.codes[normalise(cid)].append(cid)
            only = _NOT_DIGIT.sub("", cid).lstrip("0")
            if len(only) >= 4:
                self.digits[only].append(cid)
        self.count = len(book.customers)


class CustomerNumberMatcher(EvidenceMatcher):
    """Customer numbers written instead of invoice numbers ("Kd-Nr. 10023", "customer K100330"): the
    customer's id (its ERP number, as the customer master has it) after a customer word, or alone."""

    name = "customer-number"
    stage = 0

    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        index: _CustomerNumbers = book.index("matching:customer-numbers", _CustomerNumbers)
        refs: _References = book.index("matching:references", _References)
        best: dict[str, Evidence] = {}
        for text in (uncut(t) for t in receipt.texts()):
            for m in mentions(text):
                if m.context == "other":
                    continue
                said = m.context == "customer"
                owners: list[str] = []
                weight = 0.0
                how, number = "", ""
                if m.code in index.codes and (said or (m.code != m.digits and len(m.digits) >= 5)):
                    owners = index.codes[m.code]
                    weight = W_CUSTNO if said else W_CUSTNO_CODE
                    how, number = (CUSTOMER_NUMBER_SAID if said else CUSTOMER_NUMBER), m.code
                elif m.serial in index.digits and len(m.serial) >= 4:
                    owners = index.digits[m.serial]
                    if said:
                        weight = W_CUSTNO_DIGITS if len(m.serial) >= 5 else W_CUSTNO_SHORT
                        how, number = CUSTOMER_NUMBER_SAID, m.serial
                    elif len(m.serial) >= 5 and m.code not in refs.numbers and m.digits not in refs.digits:
                        # A bare number equals some customer's as often as there are customers.
                        weight = min(W_CUSTNO_BARE, _chance_words(m.serial, index.count) - 2.0)
                        how, number = BARE_CUSTOMER_NUMBER, m.digits
                if not owners or weight <= 0:
                    continue
                shared: Message | str = ""
                if len(owners) > 1:
                    weight -= 1.5
                    shared = Message(N_(" (of %(count)s customers)"), count=len(owners))
                for cid in owners:
                    if cid not in best or best[cid].weight < weight:
                        best[cid] = Evidence(
                            "customer", cid, weight, Message(how, number=number, shared=shared, customer=cid), self.name
                        )
        return [ev for ev in best.values() if ev.weight > 0]


# -- remittance advices ---------------------------------------------------------------------------------

#: A document a remittance advice lists, linked by a reference (the payment's end-to-end id, or the
#: advice's number written in the payment): as good as its number written in full in the payment.
W_ADVICE = W_REF
#: Linked by payer and amount alone (the only advice of the payer of about the amount, and the only
#: payment it fits): a little less, as a number read in the payment only by its digits.
W_ADVICE_FOUND = W_REF_DIGITS
ADVICE_LINKED = {
    "end_to_end_id": N_("remittance advice %(advice)s (the payment's end-to-end id) lists %(number)s"),
    "advice_number": N_("remittance advice %(advice)s (its number is written in the payment) lists %(number)s"),
    "payer_amount": N_(
        "remittance advice %(advice)s (the same payer, %(amount)s, the only advice and the only payment "
        "that fit each other) lists %(number)s"
    ),
}


class AdviceMatcher(EvidenceMatcher):
    """The documents of the remittance advice linked to the receipt (:mod:`hub.recon.advice`): each
    number as the advice gives it, looked up whole, then as a payment reference, then by its digits
    where only one invoice has them."""

    name = ADVICE_MATCHER  # the combiner reads the documents it finds as the payment's whole list
    stage = 1

    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        advice = receipt.advice
        if advice is None or not advice.documents:
            return ()
        refs: _References = book.index("matching:references", _References)
        weight = W_ADVICE_FOUND if advice.by == "payer_amount" else W_ADVICE
        msgid = ADVICE_LINKED.get(advice.by, ADVICE_LINKED["payer_amount"])
        amount = f"{advice.amount} {advice.currency}" if advice.amount is not None else advice.currency
        out: list[Evidence] = []
        seen: set[int] = set()
        for doc in advice.documents:
            key = normalise(doc.number)
            if len(key) < MIN_KEY:
                continue
            ids = refs.numbers.of(key) or refs.structured.of(key)
            if not ids:
                only = _NOT_DIGIT.sub("", key)
                ids = refs.digits.of(only) if len(only) >= MIN_KEY + 2 else ()
            if len(ids) != 1 or ids[0] in seen:
                continue  # not found, or several invoices have it: the advice does not say which
            i = ids[0]
            seen.add(i)
            inv = book.invoices[i]
            why = Message(msgid, advice=advice.external_id, number=inv.number, amount=amount)
            out.append(Evidence("invoice", i, weight, why, self.name))
            out.append(_implied(inv.number, inv.customer_id, self.name))
        return out


CUSTOMER_NUMBER = N_("customer number %(number)s written in the payment%(shared)s: %(customer)s")
CUSTOMER_NUMBER_SAID = N_(
    "customer number %(number)s written in the payment after a customer word%(shared)s: %(customer)s"
)
BARE_CUSTOMER_NUMBER = N_("the bare number %(number)s is a customer number%(shared)s: %(customer)s")


@hookimpl
def hub_register_matchers() -> list[Matcher]:
    return [PayerAccountMatcher(), PayerNameMatcher(), AdviceMatcher(), ReferenceMatcher(), CustomerNumberMatcher()]
