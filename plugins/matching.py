"""The built-in cash-application evidence: who paid (account, name) and what they named (references).

Three matchers, each an :class:`~hub.recon.EvidenceMatcher` registered through
``hub_register_matchers`` (the combiner in ``hub/recon/matching.py`` turns their evidence into proposals):

* ``payer-account``: the payer's IBAN (or other account id) is one of a customer's accounts, from
  the customer master or learned from earlier confirmed matches;
* ``payer-name``: the payer's name is a customer's name or alias once case, accents, punctuation
  and legal-form suffixes are set aside (``ACME LOGISTICS`` = ``Acme Logistics GmbH``), or its
  first 35 or 70 characters where the bank cut it off, or close to it (rapidfuzz, blocked by
  first word so a million customers stay fast);
* ``references``: invoice numbers in the remittance text, structured creditor references (ISO
  11649 RF, Swiss QRR/ESR) and end-to-end ids, whatever their case and separators, with or
  without prefix; PO numbers; and, within the identified customers' open invoices only, numbers
  with transposed digits, OCR confusions (O/0, l/1, S/5, B/8), leading zeros dropped or only the
  last digits written.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from hub import (
    Evidence,
    EvidenceMatcher,
    Found,
    Matcher,
    OpenItems,
    ReceiptView,
    chinese_scan_form,
    chinese_text_forms,
    fold_name,
    hookimpl,
    is_chinese,
    name_keys,
    normalise_name,
)

# -- payer account ---------------------------------------------------------------------------------

W_ACCOUNT = 5.0
W_ACCOUNT_SHARED = 2.5
W_ACCOUNT_AGENT = 1.5
"""The account of an intermediary (a factor, a payment provider, a third party) paying for a named party."""
W_CONFLICT = 1.0
"""An account and a name that point at two customers (outside one group): each says only this much."""
MAX_ACCOUNT_OWNERS = 8
"""An account learned for more customers than this is a factor's or a provider's: it identifies nobody."""


def normalise_account(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def _accounts(book: OpenItems) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for c in book.customers.values():
        for iban in c.ibans:
            if iban:
                out[normalise_account(iban)].add(c.id)
    return out


def _group(book: OpenItems, customer_id: str) -> str:
    c = book.customers.get(customer_id)
    return c.parent_id if c is not None and c.parent_id else customer_id


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
        if not owners or len(owners) > MAX_ACCOUNT_OWNERS:
            return []
        who = _who(receipt, book)
        out = []
        for cid in sorted(owners):
            weight = W_ACCOUNT if len(owners) == 1 else W_ACCOUNT_SHARED
            reason = f"payer account {receipt.payer_account} is {cid}'s" + (
                "" if len(owners) == 1 else f" (shared by {len(owners)} customers)"
            )
            if who.agent:
                weight = min(weight, W_ACCOUNT_AGENT)
                reason += f", but {who.agent!r} pays for {who.party!r}"
            named = who.sole
            if named is not None and _group(book, named) != _group(book, cid) and named not in owners:
                weight = min(weight, W_CONFLICT)
                reason += f", while the payer's name is {named}'s"
            out.append(Evidence("customer", cid, weight, reason, self.name))
        return out


# -- payer name ------------------------------------------------------------------------------------

W_NAME = 4.5
MAX_NAME_OWNERS = 8
W_NAME_FUZZY = 2.5
W_NAME_SHORT = 4.0
"""A Chinese payer name found whole inside exactly one customer's name (a short form: the region
or 集团 left out)."""
W_NAME_TEXT = 3.0
"""A customer's name written in the payment's text (not as its payer)."""
W_NAME_AMOUNT = 4.5
"""The only one of the customers sharing a name with an open invoice of exactly the amount (at most;
less where the amount could land on one of its invoices by chance)."""
MAX_AMOUNT_OWNERS = 40
"""Customers sharing a name whose open invoices are looked through for the amount: more say nothing."""
FUZZY_CUTOFF = 90
TRUNCATIONS = (35, 70)  # SEPA and SWIFT name fields banks cut names to
MIN_CJK = 4  # characters of a Chinese name found inside another or in a text

# Who is paid for, as payers and banks write it: "X OBO Y", "X on behalf of Y", "X i.A. Y", "i.A. Y",
# "per pro Y", "pp Y", "Y i.A.", "Y c/o X" (the intermediary X is not the customer).
_FOR = (
    r"(?:obo|o/b/o|for and on behalf of|on behalf of|for account of|im auftrag von|im auftrag"
    r"|i\.\s?a\.?|per pro\.?|p\.\s?p\.|pp)"
)
_AGENT_FOR = re.compile(rf"^(?P<agent>.+?)\s+{_FOR}\s+(?P<party>.+)$", re.IGNORECASE)
_FOR_PARTY = re.compile(rf"^{_FOR}\s+(?P<party>.+)$", re.IGNORECASE)
_PARTY_FOR = re.compile(r"^(?P<party>.+?)[\s,]+(?:i\.\s?a\.?|p\.\s?p\.|pp)$", re.IGNORECASE)
_CARE_OF = re.compile(r"^(?P<party>.+?)\s+c/o\s+(?P<agent>.+)$", re.IGNORECASE)
# Chinese third-party payment (代付, "paid on behalf"): "X代Y付", "代Y支付", "代付Y货款", "X代付" (read
# after NFKC, which writes full-width punctuation as ASCII).
_CN_FOR = re.compile(r"代(?!付)(?P<party>[^\s,。;:]{2,}?)(?:支付|付款|付)")
_CN_FOR_PAID = re.compile(r"代付(?:款)?[:]?(?P<party>[^\s,。;:]{4,}?)(?:的)?(?:货款|款项|欠款|款|$|[\s,。;])")
# The word before a name in a text that says the money is paid for it (an assignment to a factor).
_TEXT_MARKERS = frozenset({"abtretung", "zession", "cession", "assignment", "assigned", "obo", "behalf", "auftrag"})


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
        self.seen: dict[tuple[str, bool], list[tuple[frozenset[str], float, str]]] = {}  # name -> lookups, this run
        for c in book.customers.values():
            for name in (c.name, *c.aliases):
                if not name:
                    continue
                for key in name_keys(name):
                    if c.id not in self.exact[key]:
                        self.exact[key].add(c.id)
                        self.by_first[key.split()[0]].append(key)
                        self._index_head(key, c.id)
                    self.full[key.split()[0]].append((fold_name(name), c.id))

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
    how = ""
    cut = len(payer) in TRUNCATIONS
    if ultimate and normalise_name(ultimate) != normalise_name(payer):
        party, agent, how, cut = ultimate, payer or None, "the ultimate payer", len(ultimate) in TRUNCATIONS
    elif payer and not set().union(*(names.exact.get(k, set()) for k in name_keys(payer))):
        plain = unicodedata.normalize("NFKC", payer)
        for pattern in (_AGENT_FOR, _CARE_OF, _FOR_PARTY, _PARTY_FOR, _CN_FOR):
            m = pattern.search(plain)
            if m and normalise_name(m.group("party")):
                party, how = m.group("party").strip(), "the party paid for"
                agent = m.groupdict().get("agent") or (plain[: m.start()].strip() or None)
                break
        if party is None and plain.endswith("代付"):
            agent = payer  # "X代付": X pays for someone it does not name in this field
    if party is None:
        for text in texts:
            plain = unicodedata.normalize("NFKC", text)
            m = _CN_FOR.search(plain) or _CN_FOR_PAID.search(plain)
            if m and len(chinese_scan_form(normalise_name(m.group("party")))) >= MIN_CJK:
                party, agent, how, cut = m.group("party"), payer or None, "the party paid for (代付)", False
                break
            if "代付" in plain:
                agent = payer or "代付"
    out: list[Evidence] = []
    if party is not None:
        for owners, weight, reason in _lookup(names, party, cut):
            if how.endswith("(代付)"):
                # Written by a third party in free text, not a field the bank fills: as sure as a short form.
                weight = min(weight, W_NAME_SHORT)
            out.extend(_evidence(owners, weight, f"{how} {party!r}" + reason + (f" ({agent!r} pays)" if agent else "")))
    elif payer and agent is None:
        for owners, weight, reason in _lookup(names, payer, cut):
            out.extend(_evidence(owners, weight, f"payer name {payer!r}" + reason))
    if not out and texts:
        # Nobody by the payer's name: a person, a factor or a provider paying may write whom for.
        out.extend(_in_texts(names, texts))
    strong = {e.target for e in out if e.weight >= W_NAME_SHORT}
    sole = str(next(iter(strong))) if len(strong) == 1 and len({e.target for e in out}) == 1 else None
    return _Who(out, party, agent if party is not None else None, sole)


def _lookup(names: _Names, payer: str, cut: bool) -> list[tuple[frozenset[str], float, str]]:
    """Which customers a name is, how surely, and why (the end of a sentence); once per name per run."""
    cached = names.seen.get((payer, cut))
    if cached is None:
        cached = names.seen[payer, cut] = _find(names, payer, cut)
    return cached


def _find(names: _Names, payer: str, cut: bool) -> list[tuple[frozenset[str], float, str]]:
    keys = name_keys(payer)
    if not keys:
        return []
    owners = set().union(*(names.exact.get(k, set()) for k in keys))
    if owners:
        return [(frozenset(owners), W_NAME, " is the customer's name")]
    key = normalise_name(payer) or next(iter(keys))
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
            return [(frozenset(found), W_NAME, f" is the customer's name cut at {len(payer)} characters")]
    from rapidfuzz import fuzz, process  # here: the command line starts without it (once per payer name)

    if is_chinese(key) and " " not in key:
        # No words to block on in Chinese: a short form is found whole inside the customer's name,
        # looked up through the customer names sharing its rarest pair of characters.
        if len(key) >= MIN_CJK:
            pairs = [names.bigrams.get(key[k : k + 2], set()) for k in range(len(key) - 1)]
            rarest = min(pairs, key=len)
            within = {c for k in rarest if key in k for c in names.exact[k]}
            if within:
                return [
                    (
                        frozenset(within),
                        W_NAME_SHORT,
                        " is written whole in the customer's name (a short form)",
                    )
                ]
            candidates = list(set().union(*pairs[:2]))
            best = process.extract(key, candidates, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=None)
            return [
                (frozenset(names.exact[m]), W_NAME_FUZZY, f" is close to the customer's ({s:.0f}%)") for m, s, _ in best
            ]
        return []
    candidates = names.by_first.get(words[0], [])
    if not candidates:
        return []
    best = process.extract(key, candidates, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF, limit=None)
    return [(frozenset(names.exact[m]), W_NAME_FUZZY, f" is close to the customer's ({s:.0f}%)") for m, s, _ in best]


def _in_texts(names: _Names, texts: list[str]) -> list[Evidence]:
    """Customers whose name (two words or more, four Chinese characters or more) a text writes."""
    hits: dict[frozenset[str], tuple[float, str]] = {}
    for text in texts:
        for scan in chinese_text_forms(text):
            k = 0
            while k < len(scan) - 1:
                heads = names.heads.get(scan[k : k + 2], ())
                longest = max((h for h in heads if scan.startswith(h, k)), key=len, default="")
                if longest:
                    owners = frozenset(names.scan_owners[longest])
                    hits.setdefault(owners, (W_NAME_TEXT, f"the text {text!r} names the customer ({longest})"))
                    k += len(longest)
                else:
                    k += 1
        words = normalise_name(text).split()
        for k in range(len(words) - 1):
            for key in names.heads.get(f"{words[k]} {words[k + 1]}", ()):
                theirs = key.split()
                if words[k : k + len(theirs)] == theirs:
                    marked = k > 0 and words[k - 1] in _TEXT_MARKERS
                    hits[frozenset(names.exact[key])] = (
                        W_NAME_SHORT if marked else W_NAME_TEXT,
                        f"the text {text!r} names the customer"
                        + (f" as the party paid for ({words[k - 1]})" if marked else ""),
                    )
    if len(hits) > 2:
        return []  # a text naming many customers (a list, a letter) says nothing of who paid
    return [ev for owners, (w, reason) in hits.items() for ev in _evidence(owners, w, reason)]


def _evidence(owners: Iterable[str], weight: float, reason: str) -> list[Evidence]:
    owners = sorted(owners)
    if len(owners) > 1:
        # A trading name several customers share says little about which one paid.
        weight -= 1.5 + 0.5 * min(len(owners) - 2, 4)
        reason += f" (shared by {len(owners)} customers)"
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
        shared: dict[str, list[Evidence]] = defaultdict(list)
        for ev in who.evidence:
            if "(shared by" in ev.reason:
                shared[ev.reason].append(ev)
            else:
                out.append(ev)
        for evs in shared.values():
            out.extend(self._shared(receipt, book, evs))
        if account and who.sole is not None and not who.agent and len(account) <= MAX_ACCOUNT_OWNERS:
            groups = {_group(book, c) for c in account}
            if who.sole not in account and _group(book, who.sole) not in groups:
                owner = ", ".join(sorted(account))
                out = [
                    Evidence(
                        e.kind,
                        e.target,
                        min(e.weight, W_CONFLICT),
                        e.reason + f", while the payer account {receipt.payer_account} is {owner}'s",
                        e.matcher,
                    )
                    if e.target == who.sole
                    else e
                    for e in out
                ]
        return out

    @staticmethod
    def _shared(receipt: ReceiptView, book: OpenItems, evs: list[Evidence]) -> list[Evidence]:
        """A name several customers share: weak for each, but strong for the only one of them with an
        open invoice of exactly the amount (as strong as the amount cannot be a coincidence)."""
        owners = [str(e.target) for e in evs]
        out = [e for e in evs if len(evs) <= MAX_NAME_OWNERS]
        if len(owners) > MAX_AMOUNT_OWNERS:
            return out
        holders = []
        for cid in owners:
            ids = [i for i in book.by_customer.get(cid, ()) if book.invoices[i].currency == receipt.currency]
            amounts = book.open_amounts(ids)
            if any(a == receipt.amount for a in amounts.values()):
                holders.append((cid, amounts))
        if len(holders) != 1:
            return out
        cid, amounts = holders[0]
        # The payer is one of n; the amount picks one unless a sibling paid something else (a part, a
        # set, a netted sum) that lands on one of this customer's invoices by chance: about as often
        # as the book's invoices have this very amount (price lists make some amounts common).
        counts: dict[tuple[str, Decimal | None], int] = book.index("matching:amounts", _amount_counts)
        total = counts.get((receipt.currency, None), 0) or 1
        share = counts.get((receipt.currency, receipt.amount), 1) / total
        chance = len(amounts) * share
        weight = min(W_NAME_AMOUNT, math.log(1 / max((len(owners) - 1) * chance, 1e-12)) - 1.0)
        first = evs[0].reason
        if weight <= max(e.weight for e in evs):
            return out
        reason = (
            f"{first}; {cid} is the only one of the {len(owners)} with an open invoice of exactly "
            f"{receipt.amount} {receipt.currency} ({_about_chance(chance)} of its {len(amounts)} open invoices "
            "would have it by chance)"
        )
        return [e for e in out if e.target != cid] + [Evidence("customer", cid, weight, reason, PayerNameMatcher.name)]


def _amount_counts(book: OpenItems) -> dict[tuple[str, Decimal | None], int]:
    """How many of the book's invoices have each amount, per currency (None: all of the currency)."""
    out: dict[tuple[str, Decimal | None], int] = defaultdict(int)
    for inv in book.invoices.values():
        out[inv.currency, inv.open_amount] += 1
        out[inv.currency, None] += 1
    return out


def _about_chance(chance: float) -> str:
    return f"about {chance:.2g}" if chance >= 0.001 else "fewer than 1 in 1,000"


# -- references --------------------------------------------------------------------------------------

W_REF = 8.0
W_REF_DIGITS = 7.0
W_STRUCTURED = 8.5
W_PO = 6.0
W_REF_FUZZY = 5.5
W_REF_SUFFIX = 4.5
W_IMPLIED = 3.0
MIN_KEY = 4
MIN_SUFFIX = 5

_SEGMENTS = re.compile(r"[,;\n]+")
_WORDS = re.compile(r"[A-Za-z0-9]+(?:[\s\-/._]+[A-Za-z0-9]+)*")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_NOT_DIGIT = re.compile(r"[^0-9]")
_DIGIT_RUN = re.compile(r"\d+")
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
    separators removed, each word, and the digit runs in them."""
    out: list[str] = []
    for segment in _SEGMENTS.split(text):
        for words in _WORDS.findall(segment):
            compact = normalise(words)
            out.append(compact)
            out.extend(_DIGIT_RUN.findall(compact))
            out.extend(normalise(w) for w in words.split())
    return out


class _References:
    def __init__(self, book: OpenItems) -> None:
        self.numbers: dict[str, list[int]] = defaultdict(list)
        self.unpadded: dict[str, list[int]] = defaultdict(list)
        self.digits: dict[str, list[int]] = defaultdict(list)
        self.po: dict[str, list[int]] = defaultdict(list)
        self.structured: dict[str, list[int]] = defaultdict(list)
        self.invoice_digits: dict[int, str] = {}
        # Built for up to millions of invoices per run: local names, one regex call per field.
        numbers, loose, digits, pos, structured = self.numbers, self.unpadded, self.digits, self.po, self.structured
        invoice_digits = self.invoice_digits
        not_alnum, not_digit, padding = _NOT_ALNUM.sub, _NOT_DIGIT.sub, _PADDING.search
        for iid, number, _, _, _, _, po_number, reference in book.invoices.values():
            key = not_alnum("", number).upper()
            if len(key) >= MIN_KEY:
                numbers[key].append(iid)
                if padding(number):  # only zero-padded numbers can be written without
                    loose[unpadded(number)].append(iid)
            only = not_digit("", number)
            invoice_digits[iid] = only
            if len(only) >= MIN_KEY + 2:
                digits[only].append(iid)
            if po_number:
                po = not_alnum("", po_number).upper()
                if len(po) >= MIN_KEY:
                    pos[po].append(iid)
            if reference:
                structured[not_alnum("", reference).upper()].append(iid)
        self._by_customer: dict[str, list[tuple[int, str]]] = {}
        from stdnum import iso11649  # here, once per run: the command line starts without it

        self.is_creditor_reference: Callable[[str], bool] = iso11649.is_valid

    def of_customer(self, book: OpenItems, customer_id: str) -> list[tuple[int, str]]:
        """A customer's invoices with their digits (built on first use, kept for the run)."""
        got = self._by_customer.get(customer_id)
        if got is None:
            got = self._by_customer[customer_id] = [
                (i, self.invoice_digits[i]) for i in book.by_customer.get(customer_id, ())
            ]
        return got


class ReferenceMatcher(EvidenceMatcher):
    name = "references"
    stage = 1

    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        refs: _References = book.index("matching:references", _References)
        out: list[Evidence] = []
        seen: set[int] = set()

        def hit(ids: list[int], weight: float, reason: str) -> None:
            ambiguous = len(ids) > 1
            for i in ids:
                if i in seen:
                    continue
                seen.add(i)
                w = weight - (1.5 + 0.5 * min(len(ids) - 2, 4) if ambiguous else 0.0)
                inv = book.invoices[i]
                out.append(
                    Evidence(
                        "invoice",
                        i,
                        w,
                        reason.format(number=inv.number) + (f" (fits {len(ids)} invoices)" if ambiguous else ""),
                        self.name,
                    )
                )
                out.append(
                    Evidence(
                        "customer",
                        inv.customer_id,
                        W_IMPLIED,
                        f"{inv.number} is {inv.customer_id}'s",
                        self.name,
                        implied=True,
                    )
                )

        for value in receipt.references:
            key = normalise(value)
            if refs.is_creditor_reference(key):
                body = key[4:]
                ids = (
                    refs.structured.get(key)
                    or refs.structured.get(body)
                    or refs.numbers.get(body)
                    or refs.digits.get(body.lstrip("0") if body.isdigit() else body)
                    or []
                )
                if ids:
                    hit(ids, W_STRUCTURED, f"structured creditor reference {value} (ISO 11649) names {{number}}")
                continue
            ids = refs.structured.get(key) or []
            if ids:
                hit(ids, W_STRUCTURED, f"structured reference {value} names {{number}}")
        tokens: list[str] = []
        for text in receipt.texts():
            tokens.extend(candidates(text))
        tokens = list(dict.fromkeys(tokens))  # each distinct token once, in order
        # Strongest reading first: whole invoice numbers, then digits only (unless they are the digits
        # of a number already found whole), then PO numbers.
        for key in tokens:
            if key in refs.numbers:
                hit(refs.numbers[key], W_REF, f"invoice number {{number}} written in the payment as {key!r}")
        if not self._pays(receipt, book, seen):
            self._unpadded(receipt, refs, hit)
        whole = {refs.invoice_digits[i] for i in seen}
        for key in tokens:
            if key in refs.digits and key not in whole and key not in refs.numbers:
                hit(refs.digits[key], W_REF_DIGITS, f"the digits of {{number}} written in the payment ({key})")
        for key in tokens:
            if key in refs.po and key not in refs.numbers:
                hit(refs.po[key], W_PO, f"PO number {key} of {{number}} written in the payment")
        # Mangled numbers are searched only among the open invoices of customers already identified:
        # checked against a few dozen invoices instead of all, a transposition cannot land on a
        # stranger's invoice. Those customers: the ones the payer was identified as, and the one most
        # of the named invoices belong to (not every stranger a stray number happened to hit).
        customers = {cid for cid, _ in found.top_customers(2.0, limit=3)}
        named_by: dict[str, int] = defaultdict(int)
        for ev in out:
            if ev.kind == "customer":
                named_by[str(ev.target)] += 1
        if named_by:
            most = max(named_by.values())
            customers.update(cid for cid, n in named_by.items() if n == most)
        # Mangled numbers are only worth looking for when what was found whole does not pay the amount.
        if customers and not self._pays(receipt, book, seen):
            self._fuzzy(receipt, book, refs, tokens, customers, seen, hit)
        return out

    @staticmethod
    def _pays(receipt: ReceiptView, book: OpenItems, seen: set[int]) -> bool:
        """The invoices found so far pay exactly the receipt's amount."""
        if not seen:
            return False
        total = sum((book.remaining(i) for i in seen if book.invoices[i].currency == receipt.currency), Decimal(0))
        return total == receipt.amount

    @staticmethod
    def _unpadded(receipt: ReceiptView, refs: _References, hit: object) -> None:
        """Numbers written without their zero padding: each run of a prefix and up to three numbers
        in the words ("Payment INV 2026-123" -> "INV.2026.123") looked up among padded numbers."""
        assert callable(hit)
        for text in receipt.texts():
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
                                    refs.unpadded[loose],
                                    W_REF_DIGITS,
                                    f"invoice number {{number}} written without its leading zeros ({loose})",
                                )

    @staticmethod
    def _fuzzy(
        receipt: ReceiptView,
        book: OpenItems,
        refs: _References,
        tokens: list[str],
        customers: set[str],
        seen: set[int],
        hit: object,
    ) -> None:
        explained = [refs.invoice_digits[i] for i in seen if book.invoices[i].customer_id in customers]
        digit_tokens = set()
        for key in tokens:
            ocr = key.translate(_OCR)
            for d in {*(_DIGIT_RUN.findall(ocr)), "".join(_DIGIT_RUN.findall(ocr))}:
                # digits already explained by an invoice found exactly (its year, its number) are no clue
                if len(d) >= MIN_SUFFIX and not any(d in known for known in explained):
                    digit_tokens.add(d)
        if not digit_tokens:
            return
        assert callable(hit)

        def mine(ids: Iterable[int]) -> list[int]:
            return [
                i for i in ids if i not in seen and book.invoices[i].customer_id in customers and book.remaining(i) > 0
            ]

        # Looked up, not scanned: a token's variants (itself after OCR fixes, each adjacent swap) are
        # keys of the digits index, then kept only if they are the identified customers' invoices.
        for token in sorted(digit_tokens, key=len, reverse=True):
            exact = mine(refs.digits.get(token, ()))
            if exact:
                hit(exact, W_REF_FUZZY, f"{{number}} written with letters for digits ({token})")
                continue
            swapped = mine(
                i
                for k in range(len(token) - 1)
                if token[k] != token[k + 1]
                for i in refs.digits.get(token[:k] + token[k + 1] + token[k] + token[k + 2 :], ())
            )
            if swapped:
                hit(swapped, W_REF_FUZZY, f"{{number}} written with two digits swapped ({token})")
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
                hit(tail, W_REF_SUFFIX, f"{{number}} written by its last digits ({token})")


@hookimpl
def hub_register_matchers() -> list[Matcher]:
    return [PayerAccountMatcher(), PayerNameMatcher(), ReferenceMatcher()]
