"""Evidence-based cash application: matcher plugins contribute evidence, one combiner proposes.

A payment rarely says everything. Its payer account may be known, its name may be spelled like
the customer's, its text may carry an invoice number (or a mangled one), its amount may equal one
open invoice, several, a part of one, or one less a bank fee. Each :class:`EvidenceMatcher`
(registered through ``hub_register_matchers``) reports what it sees as :class:`Evidence` about a
customer or an invoice, with a *weight* in log-odds: how much more likely the receipt belongs to
that customer or pays that invoice. The :class:`Combiner` then builds allocation proposals from
the invoices named and from the identified customers' open invoices (exact amounts, sums of
referenced invoices, subset sums, partial payments, short payments within the bank-fee tolerance)
and gives each one confidence::

    confidence = sigmoid(PRIOR + reference weight + customer weight + amount weight)

Every term is kept as a sentence in the proposal's reasons, so ``hub matches explain`` can show
why: each a :class:`hub.i18n.Message` (a gettext message id and its values), which the run stores
with its English text beside it and the console says in its reader's language. Weights are
log-odds so that independent clues add up and the confidence stays a probability; the values
below were set by reasoning about how often each clue is wrong (a payer's IBAN names the wrong
customer far more rarely than a shared trading name), then checked on generated workloads of
several seeds (``bench/bench_match.py``), not fitted to one.
"""

from __future__ import annotations

import abc
import bisect
import datetime as dt
import functools
import itertools
import math
import re
from array import array
from collections import defaultdict
from collections.abc import Container, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Literal, NamedTuple

from hub.i18n import N_, Amount, Join, Message, message_key
from hub.names import letters_and_digits
from hub.recon.types import (
    ADVICE_MATCHER,
    TEXT_LIMIT,
    CustomerView,
    Matcher,
    MatchProposal,
    OpenItems,
    ProposalLine,
    ReceiptView,
)

ZERO = Decimal(0)

PRIOR = -6.0
"""Log-odds that a receipt pays a given candidate before any evidence."""
W_EXACT = 4.0
"""The named invoices' open total equals the amount."""
W_FEE = 2.5
"""The named invoices' open total exceeds the amount by a tariff-like bank fee (see :func:`_fee_kind`)
within the ceiling; less where a part payment or deduction could land on such a shortfall by chance."""
W_FEE_ODD = 0.5
"""...by an odd amount within the ceiling: as likely a deduction or a part payment as a fee."""
W_FEE_LEARNED = 1.5
"""The shortfall is a fee this payer's bank deducted before (live write-offs of earlier matches):
banks charge a payer the same tariff payment after payment, a coincidence rarely repeats a size to the cent."""
W_FEE_LARGE = -1.0
"""A fee of more than :data:`FEE_LARGE_SHARE` of what was due: charges are per payment, so they can
be that much of a small one, but a shortfall that large is more often a deduction."""
FEE_LARGE_SHARE = Decimal("0.10")
FEE_MAX_SHARE = Decimal("0.34")
"""A shortfall of more than about a third of what was due is not taken for a fee at all: a part payment."""
FIT_CHANCE_AUTO = 0.001
"""An invoice of the customer found by its amount less a fee or a discount is automatic only where
fewer than this many of the customer's invoices would fit such a shortfall by chance: the precision
asked of automatic matches at scale is 99.9%, and a payment that is no such invoice (a set, a part
payment, money on account) finds one by coincidence as often as this says."""
W_FEE_NETTED = -0.5
"""Several invoices named and short by more than :data:`FEE_NETTED_MAX`, not a fee learned for the
payer: a netted credit note (not in the book) explains such a shortfall as well. Never automatic."""
FEE_NETTED_MAX = Decimal("20.00")
"""A receiving bank's own charge for an incoming payment (a few units up to about 20): the more
shortfall sizes a guess admits, the likelier a netted credit note lands on a round one."""
W_PART_SAID = -3.0
"""A payment naming nothing that says it pays in part, for the one invoice of exactly its amount."""
W_DISCOUNT_BUT_EXACT = -3.0
"""A payment naming nothing that says it took a discount, for the one invoice of exactly its amount."""
W_DEDUCTION_SAID = -2.0
"""The text states a deduction (a reclamation, damaged goods, freight, a credit note): the shortfall is
that deduction, which finance must book, not a bank fee or a discount to write off. Never automatic."""
W_DISCOUNT_SAID = 1.0
"""The text states the very discount rate that explains the shortfall to the cent ("abzgl. 2% Skonto")."""
W_DISCOUNT_WORD = 0.5
"""The text speaks of a discount (Skonto, sconto, escompte) without a rate that fits."""
W_DISCOUNT_OTHER_RATE = -2.0
"""The text states a rate, but another one explains the shortfall: never automatic."""
W_FEE_AND_DISCOUNT = -1.0
"""A discount and a bank fee besides: two departures from the invoice, more ways to fit by chance."""
DEFAULT_FEE_CEILING = Decimal("100.00")
"""Largest shortfall taken for bank charges (``[reconcile] bank_fee_tolerance``). Why 100: a receiving
bank's fee for a foreign payment (a few units to about 20) plus the charges of one or two correspondent
banks on SHA/OUR transfers (commonly 10-50 units each, some up to about 80) stay within it; a
domestic fee is far smaller. What a wider window costs, more invoices that fit by coincidence, is
weighed in each proposal (:func:`chance_sets`' ``values``), not cut off by a narrow ceiling."""
DEDUCTION_MAX_SHARE = Decimal("0.10")
"""A deduction from a payment of several invoices (a reclamation, freight, damaged goods) is a small part of
what it pays: a larger shortfall is a part payment of the list, which finance sorts out from the payer's
advice, not a suggestion of which invoice stays open."""
W_OVERPAID = -4.0
"""The amount exceeds everything the payment names, and an invoice it does not name may be in the rest
(a list cut short, an advice sent apart): never automatic."""
W_OVERPAID_PROVEN = -1.0
"""The amount exceeds everything the payment names by less than any other open invoice of the customer
(less its open credit notes): the rest is money on account, left unapplied; automatic."""
RIVALS_BY_CHANCE = 2.0
"""A payment rounded up to a round figure stays read so, and the rest unapplied, where no more than this many times
as many of the customer's open invoices could make up the rest (less a tariff's fee) as chance puts among those
near it: a customer with thousands of open invoices always has some, and they tell nothing of a list cut short
(each weighs by how many more there are than chance gives)."""
OVERPAID_MAX_SHARE = Decimal("0.25")
"""An overpayment is at most this share of what it pays: the tax on it (gross paid for net), a rounding up,
charges the payer added. More is a payment for something else as well (a prepayment, another order),
which finance looks at."""
W_PARTIAL = 0.5
"""One named invoice, paid in part."""
W_PART_PAYMENT_SAID = 3.0
"""One named invoice paid in part, by a payment that says it pays in part ("Teilzahlung", "acconto"): the payer's
word for the reading, weighed as :data:`W_PART_SAID` weighs it against the one invoice of exactly the amount. It
tells that the payment is a part, not which invoice it is a part of: that rests on how the invoice is named, and
the word counts only where the payer is identified as the invoice's customer (a number mistyped into another
customer's invoice is paid in part as often as the invoice meant)."""
W_REF_SUBSET = 3.0
"""Some of the named invoices add up to the amount."""
W_SINGLE = 5.0
"""Nothing named; exactly one open invoice of the customer has this amount."""
W_SINGLE_FEE = 4.5
"""Nothing named; exactly one open invoice of the customer is this amount plus a bank fee (or less a
cash discount): at most this, less where the customer's open invoices are so many and so dense that
one would fit the fee window by chance (:func:`chance_sets`), and half a point below an exact amount,
which needs no explanation."""
W_SUBSET = 4.5
"""Nothing named (or not all); exactly one set of the customer's open invoices adds up to the amount
(:data:`W_SINGLE` where fewer than :data:`FIT_CHANCE_AUTO` sets would by chance)."""
W_AMBIGUOUS = -3.0
"""For each other candidate that fits the amount as well."""
W_MIXED_CUSTOMERS = -2.0
"""A proposal whose invoices belong to different customers (outside one group)."""
AGREEING = 0.5
"""What each clue adds beyond the strongest about the same invoice or customer (clues overlap)."""
MIN_AMOUNT_POOL = 100
"""How many open invoices in a currency it takes to say how rare an amount is among them: of a handful, an
amount near theirs looks rare and one far from theirs impossible."""
W_AMOUNT_ALONE_MAX = 8.0
"""The most the amount alone weighs for a payer nobody knows, naming nothing (:meth:`Combiner._from_amount_alone`):
log-odds +2.0 with the prior, a suggestion at most; however rare the amount, finance decides whose it is."""
MIN_CUSTOMER = 2.0
"""Customers with at least this weight have their open invoices searched for the exact amount."""
MIN_CUSTOMER_SUBSET = 3.5
"""...and with at least this much (an account, a name no other customer has) for sets of invoices:
a trading name shared by several customers would send the search through all of their invoices
for a set that could only ever be suggested."""


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Evidence:
    """One clue about a receipt: it comes from ``customer`` X, or it pays ``invoice`` Y.

    ``implied`` marks customer evidence derived from an invoice reference (the customer of a
    named invoice): it helps find that customer's other invoices, but does not count again in a
    proposal's confidence.

    ``reason`` says why, as a :class:`~hub.i18n.Message` (said in each reader's language; its English
    is ``str(reason)``), or as an English sentence (a plugin's matcher may write one).
    """

    kind: Literal["customer", "invoice"]
    target: str | int
    weight: float
    reason: Message | str
    matcher: str
    implied: bool = False

    def weighed(self) -> Message:
        """The reason with the weight, as a proposal lists it (``... is C-ACME's (+5.0)``)."""
        return weighed(self.reason, self.weight)


@dataclass
class Found:
    """The evidence gathered so far for one receipt; later matchers may read it."""

    customers: dict[str, list[Evidence]] = field(default_factory=lambda: defaultdict(list))
    invoices: dict[int, list[Evidence]] = field(default_factory=lambda: defaultdict(list))

    _weights: dict[tuple[str, bool], float] = field(default_factory=dict)

    def add(self, ev: Evidence) -> None:
        self._weights.clear()
        if ev.kind == "customer":
            self.customers[str(ev.target)].append(ev)
        else:
            self.invoices[int(ev.target)].append(ev)

    @staticmethod
    def _combined(evs: Sequence[Evidence]) -> float:
        """The strongest clue, plus a little for each other agreeing one (they are not independent)."""
        if not evs:
            return 0.0
        if len(evs) == 1:
            return evs[0].weight
        best = max(e.weight for e in evs)
        agreeing = sum(1 for e in evs if e.weight > 0) - (1 if best > 0 else 0)
        return best + AGREEING * agreeing

    def customer_weight(self, customer_id: str, *, payer_only: bool = False) -> float:
        key = (customer_id, payer_only)
        cached = self._weights.get(key)
        if cached is None:
            evs: Sequence[Evidence] = self.customers.get(customer_id, ())
            if payer_only:
                evs = [e for e in evs if not e.implied]
            cached = self._weights[key] = self._combined(evs)
        return cached

    def invoice_weight(self, invoice_id: int) -> float:
        return self._combined(self.invoices.get(invoice_id, ()))

    def top_customers(self, minimum: float, limit: int | None = 3) -> list[tuple[str, float]]:
        """Customers with at least ``minimum`` weight, strongest first (ties by id, so that which of
        several equal ones come first does not depend on the order the clues arrived in); ``limit``
        of them, or all with None."""
        scored = [(cid, self.customer_weight(cid)) for cid in self.customers]
        return sorted((x for x in scored if x[1] >= minimum), key=lambda x: (-x[1], x[0]))[:limit]


class EvidenceMatcher(Matcher):
    """A matcher that reports evidence instead of whole proposals.

    ``stage`` orders matchers: customer identification (0) runs before references (1), so a
    reference matcher can search the identified customers' invoices for mangled numbers.
    """

    stage: int = 1

    def propose(self, receipt: ReceiptView, book: OpenItems) -> Sequence[MatchProposal]:
        return []

    @abc.abstractmethod
    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        """Clues about ``receipt``; ``found`` holds what earlier stages reported."""


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


SET_ODDS = 1.0
"""Odds, before looking at the amount, that a payment of several invoices which names none (or
names some and pays more) is a set the search reaches rather than something it cannot be (a group
larger than it searches, a netted credit note, a discount, a part payment, money on account):
payment runs pay what is due, a handful of invoices at a time, and are the commoner case."""


LUMP_SUM_STEP = Decimal(100)
"""A payment of whole hundreds may be a sum on account or a part of an invoice (half of 100,000.00) as often as the
invoice of that amount it equals, where a book has round contract sums: where another payment of the run reads that
invoice among its suggestions, which of the two paid it is for finance (:attr:`OpenItems.claimed`). One to the
cent is no such coincidence, and a set another payment's amount picked does not outweigh it."""
ROUND_STEPS = (1, 100, 1_000, 10_000, 100_000, 1_000_000)
"""Steps in cents that amounts are rounded to: cents, units, tens, hundreds, thousands, ten thousands."""


def chance_sets(cents: Sequence[int], target: int, sizes: Iterable[int], *, values: int = 1) -> float:
    """About how many sets of ``sizes`` invoices among ``cents`` would add up to ``target`` (or to one
    of ``values`` admissible totals from ``target`` up, e.g. the amount plus a round fee) by chance.

    A set's total is the sum of k amounts drawn from the pool, with k times the pool's mean and
    (drawn without replacement) k times its variance times (n - k) / (n - 1); it is taken as gamma
    distributed with those moments, not normal: invoice amounts are skewed (many small, a few
    large), and a normal curve would make totals in its tails, where a found set often lies, far
    rarer than they are. The chance that one given set lands on an exact cent is that density at
    the target; amounts in whole units, hundreds or thousands (price lists, round contract sums)
    make a round total far likelier than 1 cent in 100, so the share of round amounts in the
    pool counts. Times C(n, k) sets of each size: the number grows with the pool and the set size
    and shrinks with the precision of the amounts. A search that finds one set where dozens could
    add up by chance has found a coincidence as often as the payment.
    """
    return chance_in(pool_shape(cents), target, sizes, values=values)


class PoolShape(NamedTuple):
    """What :func:`chance_sets` needs of a pool of amounts (cents): how many, their mean and variance, and
    the share of them that are multiples of each of :data:`ROUND_STEPS`."""

    n: int
    mean: float
    var: float
    shares: list[float]


def pool_shape(cents: Iterable[int]) -> PoolShape:
    """The :class:`PoolShape` of a pool of amounts in cents, read once."""
    sums = _Sums()
    for c in cents:
        sums.add(c)
    return sums.shape()


class _Sums:
    """A pool's count, sum, sum of squares and round amounts, added one amount at a time (a currency's
    pool is read from the book without a list of a million amounts beside it)."""

    __slots__ = ("counts", "n", "squares", "total")

    def __init__(self) -> None:
        self.n = self.total = self.squares = 0
        self.counts = [0] * len(ROUND_STEPS)

    def add(self, c: int) -> None:
        self.n += 1
        self.total += c
        self.squares += c * c
        if c % 100 == 0:  # most amounts have cents: one test each
            for j in range(1, len(ROUND_STEPS)):
                if c % ROUND_STEPS[j]:
                    break
                self.counts[j] += 1

    def shape(self) -> PoolShape:
        n = self.n
        if not n:
            return PoolShape(0, 0.0, 0.0, [])
        mean = self.total / n
        var = max(self.squares / n - mean * mean, 0.0)
        # Share of the amounts that are whole units, tens, hundreds, ... (in cents): where amounts are
        # round, totals are round too, and a round amount is hit far more often than 1 cent in 100. Two
        # amounts of 1 in `step` taken as seen besides the pool's: one round invoice of two is no habit.
        counts = [n, *self.counts[1:]]
        shares = [(count + 2 / step) / (n + 2) for count, step in zip(counts, ROUND_STEPS, strict=True)]
        return PoolShape(n, mean, var, shares)


def _currency_shapes(book: OpenItems) -> dict[str, PoolShape]:
    """The shape of each currency's open invoices (amounts open, in cents) as first asked for in a run."""
    sums: dict[str, _Sums] = defaultdict(_Sums)
    for inv in book.invoices.values():
        left = book.remaining(inv.id)
        if left > 0:
            sums[inv.currency].add(_cents(left))
    return {currency: pool.shape() for currency, pool in sums.items()}


def amount_by_chance(book: OpenItems, currency: str, amount: Decimal) -> tuple[int, float] | None:
    """How many open invoices the book has in ``currency``, and about how many of them would have exactly
    ``amount`` by chance, read from how their amounts spread (their size and their cents: a round amount
    among round prices far likelier than 14,836.29) rather than from the invoices that have it; None where
    they are too few to say (:data:`MIN_AMOUNT_POOL`)."""
    shapes: dict[str, PoolShape] = book.index("matching:currency-shapes", _currency_shapes)
    pool = shapes.get(currency)
    if pool is None or pool.n < MIN_AMOUNT_POOL:
        return None
    return pool.n, chance_in(pool, _cents(amount), [1])


def chance_in(pool: PoolShape, target: int, sizes: Iterable[int], *, values: int = 1) -> float:
    """:func:`chance_sets` of a pool of that shape: a pool read once serves many targets."""
    n, mean, var, shares = pool
    if not n:
        return 0.0
    total = 0.0
    for k in sizes:
        if k < 1 or k > n:
            continue
        if target <= 0 or mean <= 0:
            continue
        spread = max(k * var * ((n - k) / (n - 1) if n > 1 else 0.0), 100.0 * 100.0)  # at least a unit
        shape, scale = (k * mean) ** 2 / spread, spread / (k * mean)
        per_cent = math.exp(
            (shape - 1) * math.log(target) - target / scale - math.lgamma(shape) - shape * math.log(scale)
        )
        if values == 1:
            # Where every amount of the set is a multiple of `step` (and not all of the next), so is the
            # total: it lands on one of every `step` cents, if the target is one.
            every = [share**k for share in shares] + [0.0]
            p = per_cent * sum(
                (every[j] - every[j + 1]) * step for j, step in enumerate(ROUND_STEPS) if target % step == 0
            )
        else:  # a window of `values` admissible totals (a fee) is hit `values` times as often as one cent
            p = per_cent * values
        total += math.comb(n, k) * min(p, 1.0)
    return total


# -- reasons: the sentences a proposal is explained with ---------------------------------------------
#
# Each a gettext message (hub.i18n.Message), built where the clue is weighed and rendered only for the
# proposals a run keeps. Numbers a reader checks the arithmetic with (weights, confidences, chances) are
# values written as the English sentences always wrote them ("+1.5", "0.9523", "about 1 in 2,000"),
# amounts hub.i18n.Amount (plain: "119.00 EUR", as before, in English), invoice numbers and customer
# ids as they are.

WEIGHED = N_("%(reason)s (%(weight)s)")
"""A clue with its weight in log-odds: ``payer account ... is C-ACME's (+5.0)``."""


def weighed(reason: Message | str, weight: float) -> Message:
    """``reason`` with ``weight`` as the reasons write it (``+5.0``); a plugin's plain sentence too."""
    return _Weighed(WEIGHED, reason=reason, weight=f"{weight:+.1f}")


class _Weighed(Message):
    """:data:`WEIGHED`, its English and JSON made straight from its reason's (what Message makes of them,
    sooner): three in ten of the messages a run stores are these."""

    def _say_english(self) -> str:
        reason = self.values["reason"]
        if not isinstance(reason, Message):
            return super()._say_english()
        return f"{reason.english()} ({self.values['weight']})"

    def _say_json(self) -> str:
        reason = self.values["reason"]
        if not isinstance(reason, Message):
            return super()._say_json()
        return f'{_WEIGHED_KEY},"v":{{"reason":{{"msg":{{{reason.json_body()}}}}},"weight":"{self.values["weight"]}"}}'


_WEIGHED_KEY = f'"k":"{message_key(WEIGHED)}"'


ABOUT = N_("about %(count)s")
ABOUT_ONE_IN = N_("about 1 in %(count)s")
FEWER_THAN_ONE_IN_A_THOUSAND = Message(N_("fewer than 1 in 1,000"))


def _about(chance: float) -> Message:
    """``chance_sets`` in words: "about 470", "about 0.3", "fewer than 1 in 1,000"."""
    if chance >= 10:
        return Message(ABOUT, count=f"{chance:,.0f}")
    if chance >= 0.095:
        return Message(ABOUT, count=f"{chance:.1f}")
    if chance >= 0.001:
        return Message(ABOUT_ONE_IN, count=f"{1 / chance:,.0f}")
    return FEWER_THAN_ONE_IN_A_THOUSAND


def _money(amount: Decimal, currency: str | None = None) -> Amount:
    """An amount as the reasons write it: ``119.00 EUR`` (or ``119.00`` where the sentence's currency is
    plain) in English, the reader's way in another language."""
    return Amount(amount, currency, True)


def chance_weight(chance: float) -> float:
    """The log-odds that a found set is the one paid, on the amount alone: ln(SET_ODDS / chance).

    If the payment is not a set the search reaches (see :data:`SET_ODDS`), a set adding up is
    found only by coincidence, with a chance of about ``chance``; if it is one, it is found. A set
    is automatic only where this alone clears the automatic threshold: however sure the customer
    or the numbers named, a set that may be a coincidence is not proven by them.
    """
    return math.log(SET_ODDS / max(chance, 1e-12))


def subset_sums(
    items: Sequence[tuple[int, int]], low: int, high: int, *, max_size: int, budget: int
) -> tuple[list[tuple[int, ...]], bool]:
    """Sets of ``items`` ((id, cents) with positive cents) of 1..``max_size`` whose sum lies in
    [``low``, ``high``]: up to two solutions (ids in descending order of amount, smaller sets
    first), and whether the search was complete.

    Exact in cents. Why by hand: no library does bounded subset-sum enumeration with an early stop
    at the second solution, which is what tells a unique match from an ambiguous one. Small pools
    are searched depth-first; larger ones meet in the middle (every pair's sum, sorted, then each
    set of up to five as one or two smaller parts plus a pair found by bisection), which keeps a
    customer with fifty open invoices to a few thousand steps (sets of five only in pools of up to
    :data:`LARGE_POOL`). ``budget`` bounds the steps, so a customer with hundreds cannot stall a
    run: the search then reports itself incomplete.
    """
    ordered = sorted(items, key=lambda x: -x[1])
    if len(ordered) <= DFS_POOL:
        return _subset_dfs(ordered, low, high, max_size, budget)
    return _subset_mitm(ordered, low, high, max_size, budget)


def _subset_dfs(
    ordered: list[tuple[int, int]], low: int, high: int, max_size: int, budget: int
) -> tuple[list[tuple[int, ...]], bool]:
    suffix = [0] * (len(ordered) + 1)
    for i in range(len(ordered) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + ordered[i][1]
    found: list[tuple[int, ...]] = []
    visited = 0
    complete = True
    chosen: list[int] = []

    def walk(start: int, total: int) -> bool:
        nonlocal visited, complete
        for i in range(start, len(ordered)):
            visited += 1
            if visited > budget:
                complete = False
                return True
            cents = ordered[i][1]
            new = total + cents
            if new > high:
                continue
            if total + suffix[i] < low:  # even everything left cannot reach the target
                return False
            chosen.append(ordered[i][0])
            if low <= new <= high:
                found.append(tuple(chosen))
                if len(found) > 1:
                    chosen.pop()
                    return True
            if len(chosen) < max_size and walk(i + 1, new):
                chosen.pop()
                return True
            chosen.pop()
        return False

    walk(0, 0)
    found.sort(key=len)
    return found, complete


class _Stop(Exception):
    pass


@functools.lru_cache(maxsize=16)
def _pairs(cents: tuple[int, ...]) -> tuple[list[int], int]:
    """Every pair of ``cents`` as one int, sorted: its sum, then its two indexes (``width`` bits each),
    as ``sum << 2 * width | a << width | b`` (a < b), and ``width``. One int a pair sorts in the order of
    the tuple (sum, a, b) it stands for, and is bisected by ``sum << 2 * width`` without a list of the sums
    beside it; built and sorted about a fifth faster than tuples (0.33 ms against 0.40 for fifty invoices;
    a pool's pairs are built again whenever one of its invoices is allocated). Cached: a customer's open
    amounts stay the same across its receipts until one of them is allocated. A few pools only: the hits
    are a customer's receipts one after another (256 pools of fifty invoices held about 25 MB more for as
    many hits as 16 give)."""
    n = len(cents)
    width = max(1, (n - 1).bit_length())
    shift = 2 * width
    pairs: list[int] = []
    for a in range(n):  # a list per first index, sorted once: about a third faster than one generator
        ca, at = cents[a], a << width
        pairs.extend([(ca + cents[b]) << shift | at | b for b in range(a + 1, n)])
    pairs.sort()
    return pairs, width


#: Above this many open invoices, sets of five are not searched (a pair times a triple is tens of
#: thousands of steps per receipt); sets of up to four still are, completely.
LARGE_POOL = 30

#: Up to this many open invoices the search is depth-first and reaches every set size (up to
#: ``max_subset_size``), pruned by the amounts left; 2^16 sets at most, and in practice a few thousand
#: steps, as amounts larger than what is left to find are skipped.
DFS_POOL = 16

#: A customer's open credit notes tried as deducted from a set besides: payers deduct a credit note or
#: two from a payment run, rarely more. Each of the largest MAX_CREDIT_SINGLES alone, and pairs of the
#: largest MAX_CREDITS (every one tried is one more search, and one more target to hit by chance).
MAX_CREDITS = 3
MAX_CREDIT_SINGLES = 8

#: Credit notes a payment that names its invoices deducts without naming them: one or two; more would be
#: a coincidence sooner than a habit.
MAX_UNNAMED_CREDITS = 2

CREDIT_ODDS = 0.25
"""Odds, before looking at the amount, that a payment naming its invoices and paying less than they come
to deducted open credit notes it does not name, rather than something not in the book (freight, damage,
a discount, a dispute), which is the commoner reason for a short payment: a set of credit notes that
makes up the shortfall is automatic only where it is four times less likely a coincidence than a set
of invoices must be."""


def _subset_mitm(
    ordered: list[tuple[int, int]], low: int, high: int, max_size: int, budget: int
) -> tuple[list[tuple[int, ...]], bool]:
    n = len(ordered)
    cents = [c for _, c in ordered]
    found: list[tuple[int, ...]] = []
    work = 0

    def add(indexes: tuple[int, ...]) -> None:
        solution = tuple(ordered[k][0] for k in sorted(indexes))
        if solution not in found:
            found.append(solution)
            if len(found) > 1:
                raise _Stop

    def spend(units: int) -> None:
        nonlocal work
        work += units
        if work > budget:
            raise _Stop

    complete = True
    try:
        for k in range(n):
            if low <= cents[k] <= high:
                add((k,))
        if max_size >= 2:
            spend(n * (n - 1) // 2)
            pairs, width = _pairs(tuple(cents))
            shift, mask = 2 * width, (1 << width) - 1
            at = bisect.bisect_left

            def pairs_in(lo: int, hi: int, after: int) -> Iterable[tuple[int, int]]:
                """The indexes of the pairs summing into [lo, hi] whose smaller index is above ``after``."""
                spend(1)
                for p in pairs[at(pairs, lo << shift) : at(pairs, (hi + 1) << shift)]:
                    a = p >> width & mask
                    if a > after:
                        yield a, p & mask

            for a, b in pairs_in(low, high, -1):
                add((a, b))
            if max_size >= 3:
                for k in range(n):
                    for a, b in pairs_in(low - cents[k], high - cents[k], k):
                        add((k, a, b))
            if max_size >= 4:
                # Two disjoint pairs, the first with the smaller sum: half the pairs are starts.
                for pos, p in enumerate(pairs):
                    s1 = p >> shift
                    if 2 * s1 > high:
                        break
                    spend(1)
                    a, b = p >> width & mask, p & mask
                    start = max(at(pairs, (low - s1) << shift), pos + 1)
                    for q in pairs[start : at(pairs, (high - s1 + 1) << shift)]:
                        c, d = q >> width & mask, q & mask
                        if c != a and c != b and d != a and d != b:
                            add((a, b, c, d))
            if max_size >= 5 and n <= LARGE_POOL:
                for p in pairs:
                    s1 = p >> shift
                    if s1 >= high:
                        break
                    a, b = p >> width & mask, p & mask
                    for k in range(b + 1, n):
                        s2 = s1 + cents[k]
                        if s2 >= high:
                            continue
                        for c, d in pairs_in(low - s2, high - s2, k):
                            add((a, b, k, c, d))
    except _Stop:
        complete = len(found) > 1
    # Complete means: no other set of the sizes it reaches (:func:`_searched_sizes`) adds up. Sets larger
    # than that are not looked at; how likely one of the sets it reaches is a coincidence is for
    # chance_sets to say, over those sizes.
    found.sort(key=len)
    return found[:2], complete


# How the clues add up: the last two lines of every proposal. Their numbers take few values (weights are
# set in tenths), so each line is made once per run for each set of numbers, not once per proposal, and
# said in English and JSON once (lru_cache: the arguments are the numbers as written).

INVOICE_TERM = N_("invoice %(weight)s%(combination)s")
INVOICES_TERM = N_("invoices %(weight)s (average of %(weights)s)")
#: The customer term of a proposal's log-odds, by whose evidence it is.
CUSTOMER_TERMS = {
    "customer": N_("customer %(weight)s%(combination)s"),
    "parent": N_("customer's parent (-0.5) %(weight)s%(combination)s"),
    "payer": N_("customer's payer (-0.5) %(weight)s%(combination)s"),
    "mixed": N_("mixed customers %(weight)s%(combination)s"),
}


ALIKE = N_(
    "none of the %(count)s is named: each is as likely as the others, "
    "its share of the chance that the customer paid one of them"
)


def _signed(weight: float) -> str:
    """``+1.5``, and ``+0.0`` for a weight that rounds to nothing from below (not ``-0.0``)."""
    return f"{round(weight, 1) + 0.0:+.1f}"


def _combination_key(evs: Sequence[Evidence]) -> tuple[str, ...]:
    """How :meth:`Found._combined` weighed several clues about one thing: () for one clue or none, else
    the strongest's weight and, where others agree, what they add and how many they are (as written)."""
    if len(evs) < 2:
        return ()
    best = max(e.weight for e in evs)
    agreeing = sum(1 for e in evs if e.weight > 0) - (1 if best > 0 else 0)
    if not agreeing:
        return (f"{best:+.1f}",)
    return (f"{best:+.1f}", f"{AGREEING * agreeing:+.1f}", str(agreeing))


def _combination(key: tuple[str, ...]) -> Message | str:
    """`` (+5.0 strongest, +0.5 for 1 more that agrees)`` (:func:`_combination_key`); empty for one clue."""
    if not key:
        return ""
    if len(key) == 1:
        return Message(N_(" (%(best)s strongest)"), best=key[0])
    best, more, count = key
    return Message(
        N_(" (%(best)s strongest, %(more)s for %(count)s more that agrees)")
        if count == "1"
        else N_(" (%(best)s strongest, %(more)s for %(count)s more that agree)"),
        best=best,
        more=more,
        count=int(count),
    )


def _term(term: tuple[str, ...]) -> Message:
    """A term of the log-odds: (message id, weight, then the average's weights or the combination's key)."""
    if term[0] == INVOICES_TERM:
        return Message(INVOICES_TERM, weight=term[1], weights=term[2])
    return Message(term[0], weight=term[1], combination=_combination(term[2:]))


@functools.lru_cache(maxsize=1 << 12)
def _log_odds(score: str, invoice: tuple[str, ...], customer: tuple[str, ...], amount: str) -> Message:
    """``log-odds +11.5: prior -6.0, invoice +8.0, customer +5.5 (+5.0 strongest, ...), amount +4.0``."""
    return Message(
        N_("log-odds %(score)s: prior %(prior)s, %(invoice)s, %(customer)s, amount %(amount)s"),
        score=score,
        prior=f"{PRIOR:+.1f}",
        invoice=_term(invoice),
        customer=_term(customer),
        amount=amount,
    )


@functools.lru_cache(maxsize=1 << 12)
def _confidence(confidence: str, score: str) -> Message:
    """``confidence 0.9999 (log-odds +11.5)``."""
    return Message(N_("confidence %(confidence)s (log-odds %(score)s)"), confidence=confidence, score=score)


@dataclass
class Combiner:
    """Turns a receipt's evidence into scored allocation proposals (see the module docstring)."""

    fee_tolerance: Decimal = ZERO
    """The largest shortfall taken for bank charges, in the currency of ``fee_units`` (every currency
    it gives no rate for takes it as it is)."""
    fee_units: dict[str, Decimal] = field(default_factory=dict)
    """Units of each currency one unit of the fee ceiling's currency is worth (from the hub's rates): a
    receipt in such a currency is weighed with the ceiling, and every other bound on a fee, converted."""
    netted_max: Decimal = FEE_NETTED_MAX
    max_subset_size: int = 20
    """Most invoices one set may hold. Large customers pay payment runs of up to 20 invoices in one
    transfer; the search reaches that many only in pools of up to :data:`DFS_POOL` (depth-first), five
    in pools up to :data:`LARGE_POOL` and four above (meet in the middle), and ``subset_budget`` cuts
    it short before that where amounts are many and alike (then nothing it finds is automatic)."""
    subset_budget: int = 20_000
    auto_logit: float = logit(0.95)
    _in_currency: dict[tuple[str, Decimal], Combiner] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def propose(self, receipt: ReceiptView, book: OpenItems, found: Found) -> list[MatchProposal]:
        converted = self.in_currency(receipt.currency)
        if converted is not self:
            return converted.propose(receipt, book, found)
        out: list[MatchProposal] = []
        named: list[int] = []
        credits: list[int] = []  # open credit notes named: the payer deducted them
        for i in found.invoices:
            item = book.invoices.get(i)
            if item is not None and item.currency == receipt.currency:
                left = book.remaining(i)
                if left > 0:
                    named.append(i)
                elif left < 0:
                    credits.append(i)
        listed = _advice_listed(receipt, found)
        if listed:
            # The payer's own list of what it pays: numbers the text may seem to name besides, of other
            # customers (read from an order number or a date), are not part of the payment. One of the
            # same customer's named besides is a conflict between the payment and the advice: both stay.
            theirs = {book.invoices[i].customer_id for i in listed}
            if not any(book.invoices[i].customer_id in theirs for i in (*named, *credits) if i not in listed):
                named = [i for i in named if i in listed]
                credits = [c for c in credits if c in listed]
                split = self._from_advice(receipt, book, found, listed)
                if split is not None:  # the payer's own split, to the cent: no other reading of its list
                    return [split]
        if named:
            out.extend(self._from_references(receipt, book, found, named, credits))
            own = self._payers_own(book, found, named, credits)
            if own is not None:
                out.extend(self._from_references(receipt, book, found, *own))
        if not any(logit(p.confidence) >= self.auto_logit for p in out):
            # Sets of invoices are searched only when the payment names none: when it names some, the
            # proposals from references already look for the rest among the customer's invoices.
            # The three strongest customers, and beyond them every other the payer (not an invoice named)
            # points at: a name four customers share reaches all four, not the first three. Sets are
            # searched only for the strongly identified.
            top = found.top_customers(MIN_CUSTOMER, limit=None)
            top = top[:3] + [x for x in top[3:] if found.customer_weight(x[0], payer_only=True) >= MIN_CUSTOMER]
            for customer_id, weight in top:
                sets = weight >= MIN_CUSTOMER_SUBSET and not named
                out.extend(self._from_customer(receipt, book, found, customer_id, sets))
        if not out and not named and not credits:
            out.extend(self._from_amount_alone(receipt, book, found))
        return out

    def _from_amount_alone(self, receipt: ReceiptView, book: OpenItems, found: Found) -> list[MatchProposal]:
        """A payment nothing else reads (a payer nobody knows, naming nothing: "代付货款" from a person, a
        "Zahlung" from a new account): the one open invoice of the whole book of exactly its amount, as
        finance would look it up, weighed by how likely an amount lands on one of the book's open invoices
        in the currency by chance (a round amount among round prices far likelier than 14,836.29). Never
        automatic: the amount is all there is, and a book's coincidences grow with it."""
        amount = receipt.amount
        holders = [i for i in book.of_amount(receipt.currency, amount) if book.remaining(i) == amount]
        if len(holders) != 1 or amount <= 0:
            return []
        (invoice,) = holders
        rare = amount_by_chance(book, receipt.currency, amount)
        if rare is None:
            return []
        among, chance = rare
        weight = min(W_AMOUNT_ALONE_MAX, math.log(1 / max(chance, 1e-12)))
        proposal = self._score(
            receipt,
            book,
            found,
            [ProposalLine(invoice, amount)],
            weight,
            Message(
                N_(
                    "amount %(amount)s equals the open amount of %(invoice)s, the only open invoice in the book of "
                    "exactly that amount; invoices of that amount expected by chance among its %(count)s open "
                    "invoices in %(currency)s: %(chance)s"
                ),
                amount=_money(amount, receipt.currency),
                invoice=book.invoices[invoice].number,
                count=among,
                currency=receipt.currency,
                chance=_about(chance),
            ),
            "amount-alone",
        )
        proposal.automatic = False
        return [proposal]

    def _payers_own(
        self, book: OpenItems, found: Found, named: list[int], credits: list[int]
    ) -> tuple[list[int], list[int]] | None:
        """Of invoices (and credit notes) named that belong to several customers, those of the one the payer
        is (its account, its name: :data:`MIN_CUSTOMER_SUBSET` and more) and of its group, where two or more
        are: in a list of short numbers ("inv 231, inv 258") each reads as an invoice of every customer
        that has one, and the payer's own are what it pays. Read besides the whole list, not instead of it.
        One invoice of the payer's beside a stranger's is no list: the whole reading weighs it, and a
        number that is a stranger's invoice (a digit typed wrong) keeps it a suggestion."""
        owners = {book.invoices[i].customer_id for i in (*named, *credits)}
        groups = {book.group(c) for c in owners}
        if len(groups) < 2:
            return None
        weights = {c: found.customer_weight(c, payer_only=True) for c in sorted(owners)}
        payer = max(weights, key=lambda c: weights[c])
        group = book.group(payer)
        if weights[payer] < MIN_CUSTOMER_SUBSET or any(
            w >= MIN_CUSTOMER_SUBSET for c, w in weights.items() if book.group(c) != group
        ):
            return None
        own = [i for i in named if book.group(book.invoices[i].customer_id) == group]
        if len(own) < 2:
            return None
        return own, [c for c in credits if book.group(book.invoices[c].customer_id) == group]

    def in_currency(self, currency: str) -> Combiner:
        """This combiner with its bounds on fees in ``currency`` (:meth:`_converted`), or itself where no
        rate converts them."""
        unit = self.fee_units.get(currency)
        return self._converted(currency, unit) if unit is not None and unit != 1 else self

    def _converted(self, currency: str, unit: Decimal) -> Combiner:
        """This combiner with its bounds on fees in ``currency``: 100 EUR is 746 DKK, not 100 DKK. Whole
        units for the ceiling, as the round fees within it are counted in whole and half units."""
        combiner = self._in_currency.get((currency, unit))
        if combiner is None:
            combiner = self._in_currency[(currency, unit)] = replace(
                self,
                fee_tolerance=(self.fee_tolerance * unit).quantize(Decimal(1), ROUND_HALF_UP),
                netted_max=(self.netted_max * unit).quantize(Decimal("0.01"), ROUND_HALF_UP),
                fee_units={},
            )
        return combiner

    # -- scoring ------------------------------------------------------------------------------------

    def _score(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        lines: list[ProposalLine],
        amount_weight: float,
        amount_reason: Message,
        method: str,
        notes: Sequence[tuple[Message, float | None]] = (),
        *,
        one_of: int = 1,
    ) -> MatchProposal:
        """``notes``: further clues about the amount (a learned fee, a stated discount, the chance of a
        coincidence), each a sentence with its part of ``amount_weight`` (None: no part of it).

        ``one_of``: the lines are one of that many readings alike in every clue (invoices of the same
        customer and amount, none named): the chance of all of them together is shared out evenly, each
        ``1/one_of`` of it. In log-odds that is no fixed weight (a third of 0.999 is 0.333, of 0.6 it is
        0.2), so it is worked out from the rest of the score and said as a part of the amount's weight."""
        # The lines the clues are about: the invoices paid, and the credit notes deducted that the payment
        # names (one the payer did not name is no clue against the rest).
        payments = [
            ln
            for ln in lines
            if ln.kind == "payment" or (ln.kind == "credit_note" and found.invoices.get(ln.invoice_id))
        ]
        reasons: list[Message | str] = []
        ref_weights = [found.invoice_weight(ln.invoice_id) for ln in payments]
        ref_part = sum(ref_weights) / len(ref_weights) if ref_weights else 0.0
        for ln in payments:
            for ev in found.invoices.get(ln.invoice_id, ()):
                reasons.append(ev.weighed())
        owners = {book.invoices[ln.invoice_id].customer_id for ln in lines if ln.kind != "write_off"}
        groups = {book.group(c) for c in owners}
        cust_part = 0.0
        cust_label = "customer"
        if len(groups) == 1:
            # in id order: of owners the payer's evidence weighs alike, the same one on every run
            ordered = sorted(owners)
            best = max(ordered, key=lambda c: found.customer_weight(c, payer_only=True))
            cust_part = found.customer_weight(best, payer_only=True)
            view = book.customers.get(best) if cust_part == 0.0 else None
            if view is not None and (view.parent_id or view.paid_by):
                children: Message | str = (
                    Message(N_("%(first)s and %(last)s"), first=Join(tuple(ordered[:-1]), ", "), last=ordered[-1])
                    if len(ordered) > 1
                    else best
                )
                if view.parent_id:
                    cust_part = max(0.0, found.customer_weight(view.parent_id, payer_only=True) - 0.5)
                    cust_label = "parent"
                    said = Message(
                        N_("paid by %(parent)s, the parent company of %(children)s"),
                        parent=view.parent_id,
                        children=children,
                    )
                else:
                    # A customer finance confirmed paying for this one before counts as its parent would.
                    weight, payer = max((found.customer_weight(p, payer_only=True), p) for p in view.paid_by)
                    cust_part = max(0.0, weight - 0.5)
                    cust_label = "payer"
                    said = Message(
                        N_("paid by %(payer)s, which paid %(customers)s's invoices before (a confirmed match)"),
                        payer=payer,
                        customers=children,
                    )
                if cust_part:
                    reasons.append(said)
                else:
                    cust_label = "customer"
            for ev in found.customers.get(best, ()):
                if not ev.implied:
                    reasons.append(ev.weighed())
        else:
            cust_part = W_MIXED_CUSTOMERS
            cust_label = "mixed"
            reasons.append(
                weighed(
                    Message(
                        N_("invoices of different customers (%(customers)s)"),
                        customers=Join(tuple(sorted(owners)), ", "),
                    ),
                    W_MIXED_CUSTOMERS,
                )
            )
        if one_of > 1:
            together = PRIOR + ref_part + cust_part + amount_weight
            share = logit(sigmoid(together) / one_of) - together
            notes = (*notes, (Message(ALIKE, count=one_of), share))
            amount_weight += share
        noted = sum(w for _, w in notes if w is not None)
        reasons.append(weighed(amount_reason, amount_weight - noted))
        reasons.extend(note if w is None else weighed(note, w) for note, w in notes)
        score = PRIOR + ref_part + cust_part + amount_weight
        # How the clues above add up, so that a reader can check the number: clues about one invoice
        # (or one customer) overlap, so only the strongest counts in full (Found._combined).
        if len(ref_weights) > 1:
            invoice_term: tuple[str, ...] = (
                INVOICES_TERM,
                f"{ref_part:+.1f}",
                ", ".join(f"{w:+.1f}" for w in ref_weights),
            )
        else:
            invoice_term = (
                INVOICE_TERM,
                f"{ref_part:+.1f}",
                *(_combination_key(found.invoices.get(payments[0].invoice_id, ())) if payments else ()),
            )
        customer_evs = [ev for ev in found.customers.get(best, ()) if not ev.implied] if len(groups) == 1 else []
        said_score = _signed(score)
        reasons.append(
            _log_odds(
                said_score,
                invoice_term,
                (CUSTOMER_TERMS[cust_label], f"{cust_part:+.1f}", *_combination_key(customer_evs)),
                _signed(amount_weight),
            )
        )
        confidence = sigmoid(score)
        reasons.append(_confidence(f"{confidence:.4f}", said_score))
        return MatchProposal(lines, round(confidence, 6), method, reasons)

    # -- proposals from named invoices ----------------------------------------------------------------

    def _from_references(
        self, receipt: ReceiptView, book: OpenItems, found: Found, named: list[int], credits: Sequence[int] = ()
    ) -> list[MatchProposal]:
        amount = receipt.amount
        rem = {i: book.remaining(i) for i in named}
        # Credit notes named are deducted in full: the payer names them to say it paid the invoices less them.
        credit = {c: book.remaining(c) for c in credits}
        deducted = sum(credit.values(), ZERO)
        total = sum(rem.values(), ZERO) + deducted
        numbers = _less_credits(book, ", ".join(book.invoices[i].number for i in named), credit)
        out: list[MatchProposal] = []
        credit_lines = [ProposalLine(c, credit[c], "credit_note") for c in credit]
        full = [ProposalLine(i, rem[i]) for i in named] + credit_lines
        if total == amount:
            out.append(
                self._score(
                    receipt,
                    book,
                    found,
                    full,
                    W_EXACT,
                    Message(
                        N_("amount %(amount)s equals the open total of %(invoices)s"),
                        amount=_money(amount, receipt.currency),
                        invoices=numbers,
                    ),
                    "reference",
                )
            )
            return out
        owners = {book.invoices[i].customer_id for i in named}
        owner = next(iter(owners)) if len(owners) == 1 else None
        # Unnamed credit notes and deductions only where the payer is the customer (not only the invoice
        # number ties the payment to it: a refund or a stranger's payment quoting an invoice is short for
        # other reasons, and its words for a part payment are no word for the part it names).
        payer_is_owner = owner is not None and found.customer_weight(owner, payer_only=True) >= MIN_CUSTOMER_SUBSET
        paying = owner if payer_is_owner else None
        short = total - amount
        stated = _stated(receipt.texts())
        payer = book.customers.get(owner) if owner is not None else None
        said = _deduction_notes(stated)
        fee = self._fee(short, total, amount, receipt.currency, payer) if short > 0 else None
        # A payer who says it took a discount (or a deduction) explains the shortfall itself: read as a fee
        # it is doubtful, and never automatic.
        discount_said = _discount_said_notes(stated)
        doubt = said or discount_said
        if not doubt and len(named) > 1 and fee is not None and fee.kind != "learned" and short > self.netted_max:
            # A payment of several invoices is where credit notes are netted (one the book does not hold
            # leaves a shortfall of any size, a round one too): a fee larger than a receiving bank's own,
            # not seen before from this payer, is a good guess there, not a proof.
            doubt = [
                (
                    Message(
                        N_("%(count)s invoices named: the shortfall may be a credit note netted"), count=len(named)
                    ),
                    W_FEE_NETTED,
                )
            ]
        if fee is not None:
            # Were the payment a part payment or a deduction, its shortfall would fall anywhere up to the
            # total: the chance it is one of the `values` shortfalls this kind of fee can be.
            chance = min(fee.values / max(_cents(total), 1), 1.0)
            proposal = self._score(
                receipt,
                book,
                found,
                self._with_write_off(full, short),
                min(W_FEE_ODD if fee.kind == "odd" else W_FEE, chance_weight(chance))
                + fee.weight
                + sum(w for _, w in doubt if w is not None),
                _short_of(
                    amount,
                    short,
                    total,
                    numbers,
                    ODD_SHORTFALL if fee.kind == "odd" else BANK_FEE_SHORTFALL,
                ),
                "reference+fee",
                [*fee.notes, *doubt, (_by_chance(chance), None)],
            )
            proposal.automatic = fee.automatic and not doubt
            out.append(proposal)
        rate = None
        if short > 0:
            # Taken on the invoices, else on what is paid: the invoices less the credit notes netted.
            bases = [list(rem.values())] + ([[*rem.values(), *credit.values()]] if credit else [])
            with_fee = fee is None or fee.kind == "odd"
            readings = (
                self._discount(short, basis, total, amount, receipt.currency, payer, stated, with_fee=with_fee)
                for basis in bases
            )
            discount = next((d for d in readings if d is not None), None)
            if discount is not None:
                rate = discount.rate  # a discount (with a fee or not) to the cent explains more than a part payment
                chance = min(discount.values / max(_cents(total), 1), 1.0)
                weight = min(W_FEE, chance_weight(chance)) + discount.weight + (W_DEDUCTION_SAID if said else 0.0)
                proposal = self._score(
                    receipt,
                    book,
                    found,
                    self._with_write_off(full, *discount.write_offs),
                    weight,
                    _short_of(amount, short, total, numbers, discount.sentence),
                    "reference+discount" if discount.fee is None else "reference+discount+fee",
                    [*discount.notes, *said, (_by_chance(chance), None)],
                )
                proposal.automatic = discount.automatic and not said
                out.append(proposal)
        if len(named) == 1 and amount < total and rate is None and (fee is None or fee.kind == "odd" or said):
            in_part: list[tuple[Message, float | None]] = []
            if payer_is_owner and (word := _part_payment_said(tuple(receipt.texts()))):
                in_part = [(Message(N_("the text says it pays in part (%(word)s)"), word=word), W_PART_PAYMENT_SAID)]
            out.append(
                self._score(
                    receipt,
                    book,
                    found,
                    [ProposalLine(named[0], amount)],
                    W_PARTIAL + (W_PART_PAYMENT_SAID if in_part else 0.0),
                    Message(
                        N_("amount %(amount)s pays part of the open %(total)s of %(invoices)s"),
                        amount=_money(amount),
                        total=_money(total),
                        invoices=numbers,
                    ),
                    "reference+partial",
                    [*in_part, *said, *self._left_open(total - amount, fee)],
                )
            )
        if len(named) > 1 and rate is None:  # a discount to the cent explains the shortfall better than a subset
            items = [(i, _cents(rem[i])) for i in named]
            net = amount - deducted  # what the invoices paid come to before the credit notes named
            target = _cents(net)
            hi = target + _cents(self._most_fee(net))
            solutions, complete = subset_sums(items, target, hi, max_size=len(items), budget=self.subset_budget)
            solutions = [sol for sol in solutions if set(sol) != set(named)]
            for sol in solutions:
                lines = [ProposalLine(i, rem[i]) for i in sol]
                sol_total = sum((ln.amount for ln in lines), ZERO)
                # The cash discount the payer states, to the cent on the invoices of the subset ("2026/1B17
                # abzgl. 2% Skonto", the number read two ways): that discount, not a bank fee.
                tried = _discounts([rem[i] for i in sol], (stated.rate,)) if stated.rate is not None else []
                skonto = next(((r, d) for r, _, d in tried if d == sol_total - net), None) if sol_total > net else None
                # Some of the named invoices may add up to the amount by chance: the more named, the
                # more subsets; a total short by a round fee could be any of the round fees within the
                # tolerance, an odd shortfall any amount within it, a stated discount one of its bases.
                values = (
                    1
                    if sol_total == net
                    else len(tried)
                    if skonto is not None
                    else (int(self.fee_tolerance * 2) if _round_fee(sol_total - net) else hi - target + 1)
                )
                chance = chance_sets([c for _, c in items], target, range(1, len(items)), values=values)
                penalty = 0.0 if len(solutions) == 1 and complete else W_AMBIGUOUS
                if sol_total != net:
                    lines = self._with_write_off(lines, sol_total - net)
                lines += credit_lines
                picked = _less_credits(book, ", ".join(book.invoices[i].number for i in sol), credit)
                proposal = self._score(
                    receipt,
                    book,
                    found,
                    lines,
                    max(min(W_REF_SUBSET, chance_weight(chance)), W_REF_SUBSET + W_AMBIGUOUS)
                    if not penalty
                    else W_REF_SUBSET + penalty,
                    Message(
                        N_(
                            "of the invoices named, %(invoices)s add up to the amount %(amount)s%(fee)s; "
                            "%(chance)s sets of the %(count)s named could add up to this by chance"
                        ),
                        invoices=picked,
                        amount=_money(amount),
                        fee=""
                        if sol_total == net
                        else Message(N_(" less the %(rate)s%% cash discount (Skonto) stated"), rate=skonto[0])
                        if skonto is not None
                        else LESS_A_BANK_FEE,
                        chance=_about(chance),
                        count=len(named),
                    ),
                    "reference+subset" if skonto is None else "reference+discount",
                )
                # Paying some of the invoices named and writing off a shortfall besides are two departures
                # from what the payer wrote, which a deduction not in the book (a credit note netted, a
                # discount) explains at once: only an exact subset may be automatic, or one less the very
                # discount the payer states.
                proposal.automatic = (
                    (sol_total == net or skonto is not None) and not said and chance_weight(chance) >= self.auto_logit
                )
                out.append(proposal)
        if total > amount and paying is not None:
            out.extend(self._less_unnamed_credits(receipt, book, found, paying, full, total, numbers, credit))
        # A fee that may as well be something else (an odd amount, a credit note netted) is not written off
        # by the machine: the money is applied as named, and the shortfall left open.
        fee_doubted = fee is not None and not (fee.automatic and not doubt)  # the reference+fee reading is no auto
        if (
            (not out or fee_doubted)
            and len(named) > 1
            and ZERO < total - amount <= total * DEDUCTION_MAX_SHARE
            and paying is not None
        ):
            # Not left on an invoice by the machine where an open credit note of the customer's could be part
            # of the shortfall (netted with a fee besides, or written in a way not read).
            netted = any(
                0 < -r <= total - amount
                for c, r in self._credits(book, paying, receipt.currency).items()
                if c not in credit
            )
            out.extend(
                self._short_paid(
                    receipt,
                    book,
                    found,
                    named,
                    rem,
                    credit_lines,
                    total,
                    numbers,
                    said,
                    # A discount the payer states and no reading explains: something else is off.
                    small=fee is not None and not netted and not discount_said,
                )
            )
        if total < amount:
            # Overpaid, or the payment also covers invoices it does not name (a list cut short, a
            # remittance advice sent apart): make up the difference from the same customer's other
            # open invoices, less any of its open credit notes the payer deducted without naming.
            pool: list[tuple[int, int]] = []  # the customer's open invoices and credit notes not named
            others: dict[int, Decimal] = {}
            if owner is not None:
                pool = [(i, _cents(r)) for i, r in self._pool(book, owner, receipt).items() if i not in rem]
                others = {c: r for c, r in self._credits(book, owner, receipt.currency).items() if c not in credit}
                need = _cents(amount - total)
                found_sets, complete, chance = self._sets_less_credits(pool, need, need, others)
                note: Message | str = ""
                weight, values = W_SUBSET - 1.0, 1
                if not found_sets and self.fee_tolerance > 0:
                    found_sets, complete, chance = self._sets_less_credits(
                        pool, need + 1, need + _cents(self._most_fee(amount)), {}, values=int(self.fee_tolerance * 2)
                    )
                    note, weight, values = LESS_A_BANK_FEE, W_SUBSET - 2.0, int(self.fee_tolerance * 2)
                for sol, deduct in found_sets:
                    lines = full + [ProposalLine(i, book.remaining(i)) for i in sol]
                    paid = sum((ln.amount for ln in lines), ZERO) + sum((others[c] for c in deduct), ZERO)
                    if paid != amount:
                        if not _round_fee(paid - amount):
                            continue
                        lines = self._with_write_off(lines, paid - amount)
                        if not _all_paid(lines):
                            continue  # a fee larger than the invoice it was deducted from is no fee
                    lines += [ProposalLine(c, others[c], "credit_note") for c in deduct]
                    extra = _less_credits(
                        book,
                        ", ".join(book.invoices[i].number for i in sol),
                        {c: others[c] for c in deduct},
                        named=False,
                    )
                    unique = len(found_sets) == 1 and complete
                    penalty = 0.0 if unique else W_AMBIGUOUS
                    proposal = self._score(
                        receipt,
                        book,
                        found,
                        lines,
                        max(min(weight, chance_weight(chance)), weight + W_AMBIGUOUS) if unique else weight + penalty,
                        Message(
                            N_(
                                "%(invoices)s named, and %(others)s of the same customer make up the rest of "
                                "%(amount)s%(fee)s; %(count)s unnamed among %(pool)s open invoices: %(chance)s sets "
                                "could make up the rest by chance%(caveat)s"
                            ),
                            invoices=numbers,
                            others=extra,
                            amount=_money(amount),
                            fee=note,
                            count=len(sol),
                            pool=len(pool),
                            chance=_about(chance),
                            caveat="" if complete else NOT_RULED_OUT,
                        ),
                        "reference+subset",
                    )
                    proposal.automatic = unique and chance_weight(chance) >= self.auto_logit
                    proposal.found_by_amount = True
                    out.append(proposal)
                unnamed = dict(pool)
                runs = [self._oldest_first(receipt, book, found, unnamed, need, (full, numbers))]
                if receipt.cut_short():
                    runs.append(
                        self._list_goes_on(receipt, book, found, owner, named, unnamed, need, full, numbers, others)
                    )
                for run in runs:
                    if run is not None:
                        out = _preferred(out, run)
            if not out:
                rest = amount - total
                within = paying is not None and rest <= total * OVERPAID_MAX_SHARE
                fits_none = within and self._no_unnamed_fit(pool, others, rest)  # paying is the owner: its pool
                # Rounded up to a round figure: no list cut short or advice sent apart lands there but by
                # a coincidence of about one in as many cents as the step has.
                rounded = within and not fits_none and not receipt.cut_short()
                step = _rounded_up(amount, total) if rounded else None
                fits, near = self._rest_fits(pool, others, rest) if step is not None else (0, 0)
                by_chance = near * len(TARIFF_CENTS) / 100  # the fits the window holds by coincidence
                if fits > by_chance * RIVALS_BY_CHANCE:
                    step = None
                proven = fits_none or step is not None
                # The fits beyond what chance gives weigh against the rest being money on account.
                rivals: list[tuple[Message, float | None]] = []
                if step is not None and fits:
                    rivals = [
                        (
                            Message(
                                N_(
                                    "%(fits)s open invoices of the customer, less a bank fee, could be the rest, where "
                                    "chance puts %(chance)s among the %(near)s that come near it"
                                ),
                                fits=fits,
                                chance=_about(by_chance),
                                near=near,
                            ),
                            min(0.0, math.log(by_chance / fits)),
                        )
                    ]
                overpaid = self._score(
                    receipt,
                    book,
                    found,
                    full,
                    (W_OVERPAID_PROVEN if proven else W_OVERPAID) + sum(w for _, w in rivals if w is not None),
                    Message(
                        N_(
                            "amount %(amount)s exceeds the open total %(total)s of %(invoices)s, and no other open "
                            "invoice of the customer could be in the rest: %(rest)s stays unapplied"
                        ),
                        amount=_money(amount),
                        total=_money(total),
                        invoices=numbers,
                        rest=_money(rest),
                    )
                    if fits_none
                    else Message(
                        N_(
                            "amount %(amount)s is the open total %(total)s of %(invoices)s rounded up to a multiple "
                            "of %(step)s: the payer paid a round figure, and %(rest)s stays unapplied"
                        ),
                        amount=_money(amount),
                        total=_money(total),
                        invoices=numbers,
                        step=step,
                        rest=_money(rest),
                    )
                    if step is not None
                    else Message(
                        N_(
                            "amount %(amount)s exceeds the open total %(total)s of %(invoices)s: "
                            "the rest would stay unapplied"
                        ),
                        amount=_money(amount),
                        total=_money(total),
                        invoices=numbers,
                    ),
                    "reference+overpaid",
                    rivals,
                )
                overpaid.automatic = proven
                out.append(overpaid)
        return out

    def _short_paid(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        named: list[int],
        rem: dict[int, Decimal],
        credit_lines: list[ProposalLine],
        total: Decimal,
        numbers: Message | str,
        said: list[tuple[Message, float | None]],
        *,
        small: bool = False,
    ) -> list[MatchProposal]:
        """Several invoices named and paid short by what no fee, discount, credit note or subset explains (a
        reclamation, freight, a dispute), by the customer itself: what the payer wrote it pays, the largest
        invoice left open by the shortfall for finance to settle. A suggestion (a deduction is booked by a
        person), but for a ``small`` shortfall, within the bank fee ceiling, that the payer does not call a
        deduction: then nothing is booked but the money, as named, and the shortfall stays open."""
        short = total - receipt.amount
        lines, largest = _less_on_largest([ProposalLine(i, rem[i]) for i in named] + credit_lines, short)
        if short >= rem[largest]:
            return []  # more than any one invoice: a part payment of the list, not a deduction from it
        proposal = self._score(
            receipt,
            book,
            found,
            lines,
            W_PARTIAL,
            _short_of(
                receipt.amount,
                short,
                total,
                numbers,
                Message(
                    N_("%(invoice)s stays open for %(rest)s"),
                    invoice=book.invoices[largest].number,
                    rest=_money(short),
                ),
            ),
            "reference+short",
            said,
        )
        # A list the bank may have cut goes on: what it names is not all it pays, and the shortfall no reading.
        proposal.automatic = small and not said and not receipt.cut_short()
        return [proposal]

    def _from_advice(
        self, receipt: ReceiptView, book: OpenItems, found: Found, listed: set[int]
    ) -> MatchProposal | None:
        """The split a linked remittance advice gives, line by line, where it holds to the cent: every
        document with the amount it pays, no more than is open (a credit note deducted in full), the
        lines adding up to the advice's amount, and the receipt that amount or short of it by a bank
        fee. A document paid less than is open leaves the rest open, less the discount the advice says
        it took (written off). None where the advice does not say all of that."""
        advice = receipt.advice
        if advice is None or advice.amount is None or advice.currency != receipt.currency:
            return None
        pairs = _advice_pairs(book, listed, advice.documents)
        if pairs is None:
            return None
        lines: list[ProposalLine] = []
        notes: list[tuple[Message, float | None]] = []
        paid = ZERO
        for i, doc in pairs:
            left = book.remaining(i)
            if doc.amount is None:
                return None
            if left < 0:  # a credit note, deducted as listed (remt gives it as a positive amount)
                if abs(doc.amount) != -left:
                    return None
                lines.append(ProposalLine(i, left, "credit_note"))
                paid += left
                continue
            if doc.amount <= 0 or doc.amount > left:
                return None
            lines.append(ProposalLine(i, doc.amount))
            paid += doc.amount
            rest = left - doc.amount
            discount = doc.discount or ZERO
            number = book.invoices[i].number
            if 0 < discount <= rest:
                lines.append(ProposalLine(i, discount, "write_off"))
                rest -= discount
                notes.append(
                    (
                        Message(
                            N_("a discount of %(discount)s on %(invoice)s, as the advice says, written off"),
                            discount=_money(discount),
                            invoice=number,
                        ),
                        None,
                    )
                )
            if rest > 0:
                notes.append(
                    (Message(N_("%(invoice)s stays open for %(rest)s"), invoice=number, rest=_money(rest)), None)
                )
        if paid != advice.amount:
            return None  # the lines do not add up to what the advice says was sent
        fee = advice.amount - receipt.amount
        if fee < 0 or (fee > 0 and (fee > self.fee_tolerance or not charged(fee, advice.amount, receipt.amount))):
            return None
        if fee > 0:
            payments = [ln for ln in lines if ln.kind == "payment"]
            others = [ln for ln in lines if ln.kind != "payment"]
            less, largest = _less_on_largest(payments, fee)
            lines = [*less, *others, ProposalLine(largest, fee, "write_off")]
            notes.append(
                (Message(N_("%(fee)s short of the advice's amount: a bank fee, written off"), fee=_money(fee)), None)
            )
        return self._score(
            receipt,
            book,
            found,
            lines,
            W_EXACT,
            Message(
                N_("amount %(amount)s is what remittance advice %(advice)s says is paid, document by document"),
                amount=_money(receipt.amount, receipt.currency),
                advice=advice.external_id,
            ),
            "advice",
            notes,
        )

    def _no_unnamed_fit(self, pool: list[tuple[int, int]], credits: dict[int, Decimal], rest: Decimal) -> bool:
        """Whether no open invoice the payment does not name (``pool``: id, cents) can be part of ``rest``:
        each is larger than the rest, every open credit note not named (``credits``, negative) and a bank
        fee up to the ceiling together, so no set of them, less credit notes and a fee, comes to it (what a
        list cut short or an advice sent apart would leave)."""
        if not pool:
            return True
        smallest = Decimal(min(c for _, c in pool)) / 100
        return smallest + sum(credits.values(), ZERO) - self.fee_tolerance > rest

    def _rest_fits(self, pool: list[tuple[int, int]], credits: dict[int, Decimal], rest: Decimal) -> tuple[int, int]:
        """How many open invoices the payment does not name (``pool``: id, cents), each as it is or less one open
        credit note (``credits``), are the rest, or the rest and a bank fee of a tariff's cents up to the
        ceiling (a reading of an overpaid figure as good as a payer rounding up), and how many come to the rest
        and up to the ceiling above it at all: of these, chance gives one in as many as there are cents a tariff
        ends in (:data:`TARIFF_CENTS`) such an ending."""
        low, high = _cents(rest), _cents(rest + self.fee_tolerance)
        less = [0, *(_cents(c) for c in credits.values())]
        near = [cents + credit - low for _, cents in pool for credit in less if low <= cents + credit <= high]
        return sum(1 for cents in near if cents % 100 in TARIFF_CENTS), len(near)

    @staticmethod
    def _left_open(rest: Decimal, fee: FeeFit | None) -> list[tuple[Message, float | None]]:
        """Why a part payment that might be short by a charge leaves the rest open: no machine writes
        off an odd amount."""
        if fee is None or fee.kind != "odd":
            return []
        return [
            (
                Message(
                    N_("%(rest)s is left open: if it is a charge deducted on the way, a person writes it off"),
                    rest=_money(rest),
                ),
                None,
            )
        ]

    @staticmethod
    def _with_write_off(lines: list[ProposalLine], short: Decimal, *more: Decimal) -> list[ProposalLine]:
        """Pay each invoice in full less the shortfall on the largest, which is written off (in parts:
        a discount and a bank fee are two write-offs, so that the fee can be learned)."""
        out, largest = _less_on_largest(lines, short + sum(more, ZERO))
        out.extend(ProposalLine(largest, part, "write_off") for part in (short, *more))
        return out

    # -- fees and discounts ---------------------------------------------------------------------------

    def _most_fee(self, paid: Decimal) -> Decimal:
        """The largest bank fee a payment that arrived as ``paid`` can have had deducted: the ceiling, and no
        more than :data:`FEE_MAX_SHARE` of what was due (``paid`` and the fee), for one invoice (:meth:`_fee`) as for
        a set.
        A set of invoices read as paid less a fee is held to it too: in a currency of small units the ceiling
        (100 EUR in CZK) is thousands, and 44.50 paid for 49.00 + 89.00 "less a fee of 93.50" was the half
        payment of another invoice, the fee larger than the invoice it was deducted from."""
        most = (paid * FEE_MAX_SHARE / (1 - FEE_MAX_SHARE)).quantize(Decimal("0.01"), ROUND_DOWN)
        return max(ZERO, min(self.fee_tolerance, most))

    def _fee(
        self, short: Decimal, due: Decimal, paid: Decimal, currency: str, customer: CustomerView | None
    ) -> FeeFit | None:
        """How ``short`` reads as a bank fee on a payment of ``paid`` for ``due`` (``paid`` and ``short``, as every
        caller has it), or None where it cannot be one: above :meth:`_most_fee`."""
        if short <= 0 or short > self._most_fee(paid):
            return None
        notes: list[tuple[Message, float | None]] = []
        units = max(int(self.fee_tolerance), 1)
        weight = 0.0
        automatic = True
        known = {fee: times for ccy, fee, times in (customer.fees if customer is not None else ()) if ccy == currency}
        # Sizes other payments of the run point to: as many sizes as a learned one could be, counted alike.
        run_fees = customer.fees_seen if customer is not None else ()
        seen = {fee: times for ccy, fee, times in run_fees if ccy == currency}
        kind: Literal["learned", "tariff", "percent", "odd"]
        if (short in known or short in seen) and customer is not None:
            kind, values, weight = "learned", len(known.keys() | seen.keys()), W_FEE_LEARNED
            before = short in known  # what live matches taught counts before what this run's payments point to
            times = known[short] if before else seen[short]
            one, many = LEARNED_FEE if before else RUN_FEE
            notes.append(
                (
                    Message(
                        one if times == 1 else many, customer=customer.id, fee=_money(short, currency), count=times
                    ),
                    W_FEE_LEARNED,
                )
            )
        elif int(short * 100) % 100 in TARIFF_CENTS:
            kind, values = "tariff", units * len(TARIFF_CENTS)
        elif (percent := _fee_percent(short, due, paid)) is not None:
            kind, values = "percent", 2 * len(FEE_PERCENTS)
            notes.append(
                (
                    Message(
                        N_("%(fee)s is %(percent)s%% of %(base)s: a charge levied as a percentage"),
                        fee=_money(short),
                        percent=percent[0],
                        base=_money(percent[1]),
                    ),
                    None,
                )
            )
        elif short > due * FEE_LARGE_SHARE:
            # An odd amount of more than a tenth of what was due is a deduction or a part payment far more
            # often than a converted fee: no fee reading to rival the part payment.
            return None
        else:
            kind, values, automatic = "odd", units * 100, False
        if short > due * FEE_LARGE_SHARE:
            weight += W_FEE_LARGE
            notes.append(
                (
                    Message(
                        N_("a fee of %(fee)s is more than a tenth of the %(due)s due"),
                        fee=_money(short),
                        due=_money(due),
                    ),
                    W_FEE_LARGE,
                )
            )
        return FeeFit(kind, values, weight, automatic, tuple(notes))

    def _discount(
        self,
        short: Decimal,
        amounts: Sequence[Decimal],
        due: Decimal,
        paid: Decimal,
        currency: str,
        customer: CustomerView | None,
        stated: Stated,
        *,
        guess: bool = True,
        with_fee: bool = True,
    ) -> DiscountFit | None:
        """A cash discount (with or without a bank fee besides) that explains ``short`` to the cent, if one does.

        ``guess``: where the rate stated does not fit, try the usual rates (the named invoices are known;
        among a customer's many invoices another rate would find a coincidence). A discount with a fee
        besides is tried only where the text speaks of a discount (and ``with_fee``)."""
        rates = (stated.rate,) if stated.rate is not None else DISCOUNT_RATES
        tried = _discounts(amounts, rates)
        exact = [(rate, basis, d) for rate, basis, d in tried if d == short]
        if not exact and stated.rate is not None and guess:  # the rate stated does not fit: a usual one may
            tried = _discounts(amounts, DISCOUNT_RATES)
            exact = [(rate, basis, d) for rate, basis, d in tried if d == short]
        notes: list[tuple[Message, float | None]] = []
        if exact:
            rate, basis, d = exact[0]
            weight = self._discount_said(stated, rate, notes)
            return DiscountFit(
                rate,
                None,
                (d,),
                len(tried),
                weight,
                not (stated.rate is not None and stated.rate != rate),
                Message(
                    N_("exactly a cash discount (Skonto) of %(rate)s%%, written off (worked out on %(basis)s)"),
                    rate=rate,
                    basis=basis,
                ),
                tuple(notes),
            )
        if not (with_fee and stated.word):
            return None
        # A discount and a bank fee besides: only a fee that reads as one on its own (no odd amounts).
        combos = []
        for rate, basis, d in tried:
            fee = self._fee(short - d, due - d, paid, currency, customer)
            if fee is not None and fee.kind != "odd":
                combos.append((rate, basis, d, fee))
        if len(combos) != 1:  # none, or several ways to split the shortfall: no clue
            return None
        rate, basis, d, fee = combos[0]
        weight = self._discount_said(stated, rate, notes) + fee.weight + W_FEE_AND_DISCOUNT
        notes.extend(fee.notes)
        notes.append((DISCOUNT_AND_FEE, W_FEE_AND_DISCOUNT))
        return DiscountFit(
            rate,
            short - d,
            (d, short - d),
            len(tried) * fee.values,
            weight,
            fee.automatic and not (stated.rate is not None and stated.rate != rate),
            Message(
                N_(
                    "a cash discount (Skonto) of %(rate)s%% on %(basis)s (%(discount)s) and a bank fee of %(fee)s, "
                    "both written off"
                ),
                rate=rate,
                basis=basis,
                discount=_money(d),
                fee=_money(short - d),
            ),
            tuple(notes),
        )

    @staticmethod
    def _discount_said(stated: Stated, rate: Decimal, notes: list[tuple[Message, float | None]]) -> float:
        if stated.rate is not None and stated.rate == rate:
            notes.append(
                (Message(N_("the text states %(rate)s%% %(word)s"), rate=rate, word=stated.word), W_DISCOUNT_SAID)
            )
            return W_DISCOUNT_SAID
        if stated.rate is not None:
            notes.append(
                (
                    Message(
                        N_("the text states %(stated)s%% %(word)s, but %(rate)s%% explains the shortfall"),
                        stated=stated.rate,
                        word=stated.word,
                        rate=rate,
                    ),
                    W_DISCOUNT_OTHER_RATE,
                )
            )
            return W_DISCOUNT_OTHER_RATE
        if stated.word:
            notes.append((Message(N_("the text speaks of a discount (%(word)s)"), word=stated.word), W_DISCOUNT_WORD))
            return W_DISCOUNT_WORD
        return 0.0

    # -- proposals from an identified customer -----------------------------------------------------

    @staticmethod
    def _pool_ids(book: OpenItems, customer_id: str, currency: str) -> list[int]:
        """Invoices and credit notes of the customer and its subsidiaries in the currency."""
        pools: dict[tuple[str, str], list[int]] = book.index("matching:pools", lambda _: {})
        ids = pools.get((customer_id, currency))
        if ids is None:  # which invoices are the customer's in a currency does not change during a run
            ids = list(book.by_customer.get(customer_id, ()))
            for child in book.index("matching:children", _children).get(customer_id, ()):
                ids.extend(book.by_customer.get(child, ()))
            invoices = book.invoices
            ids = pools[customer_id, currency] = [i for i in ids if invoices[i].currency == currency]
        return ids

    @staticmethod
    def _pool(book: OpenItems, customer_id: str, receipt: ReceiptView) -> dict[int, Decimal]:
        """Open invoices of the customer and its subsidiaries in the receipt's currency, with their open amounts,
        less those finance refused for the receipt: no reading counts or takes them (three alike are one of
        three once finance undid a fourth)."""
        rem = book.open_amounts(Combiner._pool_ids(book, customer_id, receipt.currency))
        for i in receipt.refused:
            rem.pop(i, None)
        return rem

    def _from_customer(
        self, receipt: ReceiptView, book: OpenItems, found: Found, customer_id: str, search_sets: bool
    ) -> list[MatchProposal]:
        amount = receipt.amount
        rem = self._pool(book, customer_id, receipt)
        if not rem:
            return []
        pool = list(rem)
        out: list[MatchProposal] = []
        exact = [i for i, r in rem.items() if r == amount]
        if exact:
            # Several of exactly the amount, none named: they are alike, each as likely as the others to be
            # the one paid (a share of the chance that the customer paid one of them, :meth:`_score`'s
            # ``one_of``), and finance is shown them the one due first at the top. One named is no longer
            # alike the rest: each of them is a rival that fits as well.
            alike = len(exact) > 1 and not any(found.invoices.get(i) for i in exact)
            if alike:
                exact = _oldest_orders(book, exact)[0][1]
            penalty = 0.0 if alike else W_AMBIGUOUS * (len(exact) - 1)
            pair = None
            pairs, pair_penalty = 0.0, W_AMBIGUOUS
            oldest_run: list[int] = []
            notes: tuple[tuple[Message, float | None], ...] = ()
            discount_said = ""
            if len(exact) == 1 and not found.invoices.get(exact[0]):
                # Nothing names the invoice: a pair of the customer's other invoices adding up to the
                # amount explains it as well (119.00 + 238.00 paid as 357.00), as far as a pair adding up is
                # no coincidence. Among a large customer's thousands of invoices some pair adds up to almost
                # any amount: finding one is then about as likely whether the one invoice is paid or not,
                # and weighs ln(1 / P(a pair adds up by chance)) against it, at most W_AMBIGUOUS.
                pair = _pair_summing(rem, amount, (exact[0],))
                if pair is not None:
                    others = [_cents(r) for i, r in rem.items() if i != exact[0]]
                    pairs = chance_sets(others, _cents(amount), [2])
                    pair_penalty = max(W_AMBIGUOUS, math.log(max(-math.expm1(-pairs), 1e-12)))
                    penalty = pair_penalty
                if pair is not None and pair_penalty > W_AMBIGUOUS:
                    # Some pair adds up by chance (round contract sums; a large pool), but that the customer's
                    # oldest open invoices do is no such coincidence: a payment run paying the oldest first
                    # paid them. Weighed as the pair is, by how likely one of the runs from the oldest adds up
                    # by chance; shown beside it, never automatic (the one invoice explains it as well).
                    older = self._oldest_rival(receipt, book, found, rem)
                    if older is not None:
                        oldest_run, run_penalty, rival = older
                        penalty = min(penalty, run_penalty)
                        out.append(rival)
                # A payment that says it pays in part ("Teilzahlung", "Osamaksu") pays part of an invoice: one that
                # its amount happens to equal in full is a coincidence as often as not.
                if word := _part_payment_said(tuple(receipt.texts())):
                    part_note = Message(
                        N_(
                            "the text says it pays in part (%(word)s): "
                            "an invoice of exactly that amount may not be the one"
                        ),
                        word=word,
                    )
                    notes = ((part_note, W_PART_SAID),)
                    penalty += W_PART_SAID
                # One that says it took a discount ("abzgl. 2% Skonto", "APMAKSA 2% ATLAIDE") paid less than an
                # invoice: one its amount equals in full is not what it says it paid (866.77 is another invoice,
                # 884.46, less 2%). That reading is proposed besides.
                if discount_said := _stated(receipt.texts()).word:
                    said = Message(
                        N_(
                            "the text states a discount (%(word)s): "
                            "an invoice of exactly that amount is not what it says it paid"
                        ),
                        word=discount_said,
                    )
                    notes += ((said, W_DISCOUNT_BUT_EXACT),)
                    penalty += W_DISCOUNT_BUT_EXACT
            claim = (
                book.claimed.get(exact[0])
                if len(exact) == 1 and amount % LUMP_SUM_STEP == 0 and not found.invoices.get(exact[0])
                else None
            )
            if claim is not None and claim[0] == receipt.id:  # its own suggestion, decided again
                claim = None
            if claim is not None:
                # Another payment of the run reads it among its suggestions: if that one paid it, this one did not.
                # Which of the two did is for finance.
                claimed = Message(
                    N_(
                        "another payment of this run (%(ref)s) reads %(number)s among its suggestions: "
                        "which of the two paid it is for finance"
                    ),
                    ref=claim[1] or "?",
                    number=book.invoices[exact[0]].number,
                )
                notes += ((claimed, None),)
            for i in exact[:3]:
                out.append(
                    self._score(
                        receipt,
                        book,
                        found,
                        [ProposalLine(i, amount)],
                        W_SINGLE + penalty,
                        Message(
                            N_(
                                "amount %(amount)s equals the open amount of %(number)s, one of %(count)s such invoices"
                            ),
                            amount=_money(amount, receipt.currency),
                            number=book.invoices[i].number,
                            count=len(exact),
                        )
                        if len(exact) > 1
                        else Message(
                            N_(
                                "amount %(amount)s equals the open amount of %(number)s, the only such invoice of the "
                                "customer, but its oldest open invoices %(invoices)s add up to it as well"
                            ),
                            amount=_money(amount, receipt.currency),
                            number=book.invoices[i].number,
                            invoices=", ".join(book.invoices[k].number for k in oldest_run),
                        )
                        if oldest_run
                        else Message(
                            N_(
                                "amount %(amount)s equals the open amount of %(number)s, the only such invoice of the "
                                "customer; two others add up to it as well, as %(pairs)s pairs of its %(invoices)s "
                                "open invoices would by chance"
                            ),
                            amount=_money(amount, receipt.currency),
                            number=book.invoices[i].number,
                            pairs=_about(pairs),
                            invoices=len(rem),
                        )
                        if pair and pair_penalty > W_AMBIGUOUS
                        else Message(
                            N_(
                                "amount %(amount)s equals the open amount of %(number)s, the only such invoice of the "
                                "customer, but two others add up to it as well"
                            )
                            if pair
                            else N_(
                                "amount %(amount)s equals the open amount of %(number)s, "
                                "the only such invoice of the customer"
                            ),
                            amount=_money(amount, receipt.currency),
                            number=book.invoices[i].number,
                        ),
                        "amount",
                        notes,
                        one_of=len(exact) if alike else 1,
                    )
                )
                out[-1].automatic = out[-1].automatic and claim is None
            if discount_said:
                out.extend(self._short_from_customer(receipt, book, found, customer_id, rem))
            if pair is not None:
                numbers = ", ".join(book.invoices[i].number for i in pair)
                out.append(
                    self._score(
                        receipt,
                        book,
                        found,
                        [ProposalLine(i, rem[i]) for i in pair],
                        W_SINGLE + W_AMBIGUOUS,
                        Message(
                            N_(
                                "%(invoices)s add up to the amount %(amount)s, "
                                "which one other open invoice (%(number)s) equals as well"
                            ),
                            invoices=numbers,
                            amount=_money(amount),
                            number=book.invoices[exact[0]].number,
                        ),
                        "amount+subset",
                    )
                )
            return out
        out.extend(self._short_from_customer(receipt, book, found, customer_id, rem))
        if not search_sets:
            return out
        target = _cents(amount)
        items = [(i, _cents(rem[i])) for i in pool]
        credits = self._credits(book, customer_id, receipt.currency)
        found_sets, complete, chance = self._sets_less_credits(items, target, target, credits, smallest=2)
        # Runs of a length the set search covered were found as sets (if they add up): the rest are runs'.
        covered = _searched_sizes(len(pool), self.max_subset_size, 2) if complete else range(0)
        out.extend(self._runs(receipt, book, found, rem, bool(found_sets), covered, credits))
        # A run of the oldest that another run of the customer's, as old or not, adds up to alike is no
        # proof of which the payer paid: the runs' readings stay.
        oldest = self._oldest_first(receipt, book, found, dict(items), target, None, credits)
        if oldest is not None and any(p.method == "amount+run" and not _same_lines(p, oldest) for p in out):
            oldest = None
        weight = W_SUBSET
        note: Message | str = ""
        if not found_sets and self.fee_tolerance > 0:
            found_sets, complete, chance = self._sets_less_credits(
                items,
                target + 1,
                target + _cents(self._most_fee(amount)),
                {},
                smallest=2,
                values=int(self.fee_tolerance * 2),  # the round fees (whole and half units) within the tolerance
            )
            weight, note = W_SUBSET - 1.5, LESS_A_BANK_FEE
        if not found_sets:
            if oldest is None and not out:  # nothing else reads it: the oldest less a fee or a discount may
                short = self._oldest_short(receipt, book, found, dict(items), target, customer_id)
                return [short] if short is not None else out
            return out if oldest is None else _preferred(out, oldest)
        unique = len(found_sets) == 1 and complete
        twin = _pair_twin(found_sets[0][0], rem) if unique else None
        if twin is not None:
            unique = False  # a set of one more adds up as well: which one the payer paid is not known
        for sol, deduct in found_sets:
            lines = [ProposalLine(i, book.remaining(i)) for i in sol]
            total = sum((ln.amount for ln in lines), ZERO) + sum((credits[c] for c in deduct), ZERO)
            if total != amount:
                if not _round_fee(total - amount):
                    continue
                lines = self._with_write_off(lines, total - amount)
                if not _all_paid(lines):
                    continue  # a fee larger than the invoice it was deducted from is no fee
            lines += [ProposalLine(c, credits[c], "credit_note") for c in deduct]
            set_numbers: Message | str = _less_credits(
                book, ", ".join(book.invoices[i].number for i in sol), {c: credits[c] for c in deduct}, named=False
            )
            why = THE_ONLY_SET if unique else A_SET if complete else A_SET_CUT_SHORT
            # A set that may well be a coincidence weighs as little as one of two sets that fit, no less:
            # it is still the best guess to show finance. The only set, of the exact amount, that fewer
            # than FIT_CHANCE_AUTO sets would match by chance is as sure as one invoice of the amount.
            top = W_SINGLE if unique and not note and chance <= FIT_CHANCE_AUTO else weight
            w = max(min(top, chance_weight(chance)), weight + W_AMBIGUOUS) if unique else weight + W_AMBIGUOUS
            proposal = self._score(
                receipt,
                book,
                found,
                lines,
                w,
                Message(
                    N_(
                        "%(invoices)s: %(which)s of the customer's open invoices adding up to %(amount)s%(fee)s; "
                        "a set of %(count)s among %(pool)s open invoices: %(chance)s sets could add up to this "
                        "amount by chance%(caveat)s"
                    ),
                    invoices=set_numbers,
                    which=why,
                    amount=_money(amount),
                    fee=note,
                    count=len(sol),
                    pool=len(pool),
                    chance=_about(chance),
                    caveat=_twin_said(book, twin, rem) if twin is not None else "" if complete else NOT_RULED_OUT,
                ),
                "amount+subset",
            )
            proposal.automatic = unique and chance_weight(chance) >= self.auto_logit
            out.append(proposal)
        return out if oldest is None else _preferred(out, oldest)

    def _list_goes_on(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        owner: str,
        named: list[int],
        cents: Mapping[int, int],
        need: int,
        full: list[ProposalLine],
        numbers: Message | str,
        credits: Mapping[int, Decimal],
    ) -> MatchProposal | None:
        """A list of invoices the bank cut (the payment's text as long as banks cut it) that goes on in number
        order: the customer's open invoices (``cents``) numbered after the last one named, in the same
        numbering, the first of them making up the rest to the cent, or less one or two of the customer's open
        ``credits`` not named (negative: a payer's list ends with the credit notes it nets) where none do as
        they are. A payer's payment run lists what it pays sorted by number, and the bank keeps the first 140
        characters. Weighed by how likely one of those runs (one per length and credit note tried) adds up to
        the rest by chance: a handful of candidates, where the set search counts millions of sets in a large
        customer's pool.

        Written here, not with a library: the candidates are the prefixes of one ordered list."""
        invoices = book.invoices
        mine = [i for i in named if invoices[i].customer_id == owner]
        if not mine:
            return None
        last = max(mine, key=lambda i: _number_order(invoices[i].number))
        series, place = _series(invoices[last].number), _number_order(invoices[last].number)
        places = {i: _number_order(invoices[i].number) for i in cents if cents[i] > 0}
        after = sorted(
            (i for i, at in places.items() if at > place and _series(invoices[i].number) == series),
            key=places.__getitem__,
        )
        firsts: list[tuple[list[int], tuple[int, ...]]] = []
        needs: list[int] = []
        # Every credit note alone, not only the largest and oldest (:func:`_credit_options`): a list nets the one
        # its invoices were credited by, of any size or age, and each one tried here is a lookup in the prefix
        # sums, not another search (what it adds to the chance of a coincidence is counted below).
        every = _credit_options(credits, book, every_single=True)
        for options in ([()], every):
            for deduct in options:
                goal = need - sum(_cents(credits[c]) for c in deduct)
                needs.append(goal)
                if (run := self._first_run(after, cents, goal, 1)) is not None:
                    firsts.append((run, deduct))
            if firsts:
                break
        if len(firsts) != 1:
            return None
        run, deduct = firsts[0]
        chance = sum(self._prefix_chance(after, cents, goal, 1) for goal in needs)
        netted = {c: credits[c] for c in deduct}
        why = Message(
            LIST_GOES_ON[len(run) > 1],
            invoices=numbers,
            count=len(run),
            last=invoices[last].number,
            others=_less_credits(book, ", ".join(invoices[i].number for i in run), netted, named=False),
            amount=_money(receipt.amount),
            limit=TEXT_LIMIT,
            chance=_about(chance),
        )
        return self._rest_in_order(receipt, book, found, full, run, chance, why, netted)

    def _rest_in_order(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        full: list[ProposalLine],
        run: list[int],
        chance: float,
        why: Message,
        netted: Mapping[int, Decimal] | None = None,
        notes: Sequence[tuple[Message, float | None]] = (),
    ) -> MatchProposal:
        """The invoices named (``full``'s lines) and ``run``, which makes up the rest in an order a payment run
        pays in (less the credit notes ``netted``), with a chance of adding up by coincidence of about
        ``chance``: automatic where that alone clears the threshold."""
        weight = max(min(W_SUBSET - 1.0, chance_weight(chance)), W_SUBSET - 1.0 + W_AMBIGUOUS)
        lines = full + [ProposalLine(i, book.remaining(i)) for i in run]
        lines += [ProposalLine(c, a, "credit_note") for c, a in (netted or {}).items()]
        proposal = self._score(receipt, book, found, lines, weight, why, "reference+subset", notes)
        proposal.automatic = chance_weight(chance) >= self.auto_logit
        return proposal

    def _first_run(self, ordered: list[int], cents: Mapping[int, int], need: int, smallest: int) -> list[int] | None:
        """The first of ``ordered`` (at least ``smallest``, at most ``max_subset_size``) adding up to ``need``
        cents, if they do. Written here, not with a library: the candidates are the prefixes of one list."""
        run = ordered[: self.max_subset_size]
        prefix = list(itertools.accumulate(cents[i] for i in run))  # amounts are positive: each sum is new
        if need not in prefix or prefix.index(need) + 1 < smallest:
            return None
        return run[: prefix.index(need) + 1]

    def _prefix_chance(
        self, ordered: list[int], cents: Mapping[int, int], need: int, smallest: int, values: int = 1
    ) -> float:
        """About how many of the prefixes of ``ordered`` (at least ``smallest``, at most ``max_subset_size``)
        would add up to ``need`` cents (or one of ``values`` totals from it up) by chance: one candidate per
        length, each as likely as one of the sets of its size :func:`chance_sets` counts."""
        shape = pool_shape(cents[i] for i in ordered[: self.max_subset_size])
        return sum(
            chance_in(shape, need, [k], values=values) / math.comb(shape.n, k) for k in range(smallest, shape.n + 1)
        )

    def _oldest_rival(
        self, receipt: ReceiptView, book: OpenItems, found: Found, rem: Mapping[int, Decimal]
    ) -> tuple[list[int], float, MatchProposal] | None:
        """Where the customer's oldest open invoices (of ``rem``, by due or invoice date) add up to the amount, which
        one other invoice equals: that run, the weight it takes from the one invoice (ln of how likely a run from
        the oldest adds up by chance, at most :data:`W_AMBIGUOUS`) and its reading, never automatic."""
        cents = {i: _cents(r) for i, r in rem.items()}
        need = _cents(receipt.amount)
        rival = self._oldest_first(receipt, book, found, cents, need, None)
        if rival is None:  # no run adds up, or two orders' runs differ: neither is the payer's
            return None
        rival.automatic = False
        orders = _paying_orders(book, list(cents), self.max_subset_size, receipt.id)
        chance = sum(self._prefix_chance(ordered, cents, need, 2) for _, ordered, _ in orders)
        run = [ln.invoice_id for ln in rival.lines]  # no credit note: none is offered to it
        return run, max(W_AMBIGUOUS, math.log(max(-math.expm1(-chance), 1e-12))), rival

    def _oldest_first(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        cents: Mapping[int, int],
        need: int,
        named: tuple[list[ProposalLine], Message | str] | None,
        credits: Mapping[int, Decimal] | None = None,
    ) -> MatchProposal | None:
        """A payment run that pays what is due, oldest first: the customer's oldest open invoices of ``cents``
        (by due date, or by invoice date: :func:`_oldest_orders`) that add up to ``need`` to the cent, beside
        the lines and numbers of the invoices the payment ``named`` (None: it names none), or less one or two
        of the customer's open ``credits`` (negative) where no run adds up as it is. Weighed by how likely one
        of the runs from the oldest (one per length, order and credit note tried) adds up by chance: a handful
        of candidates, where a set search in a large customer's pool counts millions of sets and no search
        proves a large set."""
        invoices = book.invoices
        # By due date, and by invoice date where that order differs (terms differ by invoice): a payer's run
        # goes by one of the two. Each is looked at, so each adds its own chance of a coincidence; two runs
        # adding up, one in each order, prove neither (the runs' readings show both). So does each credit note
        # a payer's run may have netted.
        smallest = 2 if named is None else 1
        orders = _paying_orders(book, [i for i in cents if cents[i] > 0], self.max_subset_size, receipt.id)
        firsts: list[tuple[bool, list[int], tuple[int, ...], list[tuple[int, int]]]] = []
        needs: list[int] = []
        for options in ([()], _credit_options(credits or {}, book)):
            for deduct in options:
                goal = need - sum(_cents(credits[c]) for c in deduct) if credits else need
                needs.append(goal)
                firsts += [
                    (issued, run, deduct, passed)
                    for issued, ordered, passed in orders
                    if (run := self._first_run(ordered, cents, goal, smallest))
                ]
            if firsts:
                break
        if len({(frozenset(run), deduct) for _, run, deduct, _ in firsts}) != 1:
            return None
        issued, run, deduct, passed = firsts[0]
        notes = _passed_notes(book, passed, run)
        chance = sum(self._prefix_chance(ordered, cents, goal, smallest) for goal in needs for _, ordered, _ in orders)
        netted = {c: credits[c] for c in deduct} if credits else {}
        # An invoice of the run with a twin of the same amount outside it: the payer may have paid the twin
        # (one disputed, one paid twice): which of the two is no more proven than for two equal invoices.
        taken = set(run)
        twins = {cents[i] for i in run} & {cents[i] for i in cents if cents[i] > 0 and i not in taken}
        numbers = ", ".join(invoices[i].number for i in run)
        if named is None:
            top = W_SINGLE if chance <= FIT_CHANCE_AUTO else W_SUBSET
            weight = max(min(top, chance_weight(chance)), W_SUBSET + W_AMBIGUOUS)
            why = Message(
                ISSUED_FIRST if issued else OLDEST_FIRST,
                invoices=_less_credits(book, numbers, netted, named=False),
                count=len(run),
                amount=_money(receipt.amount),
                chance=_about(chance),
            )
            lines = [ProposalLine(i, book.remaining(i)) for i in run]
            lines += [ProposalLine(c, a, "credit_note") for c, a in netted.items()]
            proposal = self._score(receipt, book, found, lines, weight, why, "amount+run", notes)
            proposal.automatic = chance_weight(chance) >= self.auto_logit
        else:
            why = Message(
                (ISSUED_BESIDES if issued else OLDEST_BESIDES)[len(run) > 1],
                invoices=named[1],
                count=len(run),
                others=numbers,
                amount=_money(receipt.amount),
                chance=_about(chance),
            )
            proposal = self._rest_in_order(receipt, book, found, named[0], run, chance, why, notes=notes)
        proposal.automatic = proposal.automatic and not twins
        proposal.from_oldest = True
        return proposal

    def _oldest_short(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        cents: Mapping[int, int],
        need: int,
        customer_id: str,
    ) -> MatchProposal | None:
        """A payment run that pays the oldest first, less a bank fee or a cash discount, where nothing else reads
        the payment: the first run from the oldest (by due date or invoice date) whose total exceeds ``need``
        cents by what reads as a fee (a tariff amount, a percentage, a size the payer's bank is known to deduct)
        or as a cash discount at a usual rate, to the cent. One reading across the orders, or none; weighed by
        how likely a run from the oldest lands on one of the shortfalls a fee or discount could be by chance;
        a suggestion, never automatic."""
        amount, currency = receipt.amount, receipt.currency
        customer = book.customers.get(customer_id)
        stated = _stated(receipt.texts())
        widest = _cents(max(self.fee_tolerance, amount * max(DISCOUNT_RATES) / 50))
        orders = _paying_orders(book, [i for i in cents if cents[i] > 0], self.max_subset_size, receipt.id)
        Notes = tuple[tuple[Message, float | None], ...]
        fits: list[tuple[bool, list[int], tuple[Decimal, ...], int, float, Message, Notes, str]] = []
        for issued, ordered, passed in orders:
            run, total = ordered[: self.max_subset_size], 0
            for k, i in enumerate(run, 1):
                total += cents[i]
                short = total - need
                if short > widest:
                    break
                if k < 2 or short <= 0:
                    continue
                gap, due = Decimal(short).scaleb(-2), Decimal(total).scaleb(-2)
                fee = self._fee(gap, due, amount, currency, customer)
                if fee is not None and fee.kind != "odd":
                    what = Message(N_("less a bank fee of %(fee)s"), fee=_money(gap))
                    fits.append(
                        (
                            issued,
                            run[:k],
                            (gap,),
                            fee.values,
                            fee.weight,
                            what,
                            (*fee.notes, *_passed_notes(book, passed, run[:k])),
                            "amount+run+fee",
                        )
                    )
                    continue
                amounts = [Decimal(cents[j]).scaleb(-2) for j in run[:k]]
                discount = self._discount(gap, amounts, due, amount, currency, customer, stated, guess=False)
                if discount is not None:
                    what = _less_discount(discount)
                    method = "amount+run" if discount.fee is None else "amount+run+fee"
                    fits.append(
                        (
                            issued,
                            run[:k],
                            discount.write_offs,
                            discount.values,
                            discount.weight,
                            what,
                            (*discount.notes, *_passed_notes(book, passed, run[:k])),
                            method,
                        )
                    )
        if len({frozenset(fit[1]) for fit in fits}) != 1 or len(fits) > len(orders):
            return None
        issued, run, parts, values, weight, what, notes, method = fits[0]
        chance = sum(self._prefix_chance(ordered, cents, need, 2, values) for _, ordered, _ in orders)
        gross = Decimal(sum(cents[i] for i in run)).scaleb(-2)
        proposal = self._score(
            receipt,
            book,
            found,
            self._with_write_off([ProposalLine(i, book.remaining(i)) for i in run], *parts),
            min(W_SINGLE_FEE, chance_weight(chance)) + weight,
            Message(
                ISSUED_SHORT if issued else OLDEST_SHORT,
                invoices=", ".join(book.invoices[i].number for i in run),
                count=len(run),
                total=_money(gross),
                how=what,
                amount=_money(amount),
                chance=_about(chance),
            ),
            method,
            notes,
        )
        # Never automatic: each shortfall a fee or a discount could be is one more amount a run could land on,
        # and among a book's many payments that nothing else reads one does (at full scale of the shared
        # workload: the two oldest invoices of a payer that paid a sister company's, less a "fee" of 99.00).
        proposal.automatic = False
        return proposal

    def _runs(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        rem: dict[int, Decimal],
        sets: bool,
        covered: range,
        credits: Mapping[int, Decimal],
    ) -> list[MatchProposal]:
        """Payment runs: consecutive open invoices of one customer, in order of due date or of invoice date
        (:func:`_oldest_orders`), that add up to the amount, or less one or two of its open ``credits`` where
        none does as it is. A payer's payment run pays what is due, oldest first, so the invoices it pays are
        a run of those still open, of any length up to ``max_subset_size``, where the set search reaches only
        a few invoices in a large pool. A run found is weighed by how many runs could add up to the amount by
        chance (a few dozen runs per length, where sets are millions); always a suggestion, as the search
        proves it the only run, not the only set (a run from the oldest is :meth:`_oldest_first`'s reading,
        one candidate per length, which may be automatic). ``sets``: whether the set search found a set
        adding up (then a run is one of two readings); ``covered``: the lengths it searched completely, whose
        runs it found as sets if they add up.

        Written here, not with a library: a run adding up is a difference of two prefix sums, found in one
        pass with a dictionary; no subset-sum library searches contiguous runs."""
        target = _cents(receipt.amount)
        invoices = book.invoices
        by_owner: dict[str, list[int]] = defaultdict(list)
        for i in rem:
            by_owner[invoices[i].customer_id].append(i)
        orders: list[tuple[bool, list[int], list[int]]] = []
        for ids in by_owner.values():
            if len(ids) < 3:
                continue  # a set of the customer's two open invoices is the set search's
            # In order of due date, and of invoice date where that differs.
            for issued, ordered in _oldest_orders(book, ids):
                orders.append((issued, ordered, [_cents(rem[i]) for i in ordered]))
        if not orders:
            return []
        # A run adding up is a difference of two prefix sums: each order's, and where each sum is, once.
        prefixes = []
        for _, _, cents in orders:
            prefix = list(itertools.accumulate(cents, initial=0))
            prefixes.append((prefix, {total: k for k, total in enumerate(prefix)}))  # positive: each sum is new
        longest = self.max_subset_size
        # Less the customer's open credit notes only where no run adds up as it is (a payer's run nets what the
        # payee owes it): each credit note or pair tried is one more amount a run could hit by chance.
        hits: dict[tuple[frozenset[int], tuple[int, ...]], tuple[bool, list[int], tuple[int, ...]]] = {}
        needs: list[int] = []
        for options in ([()], _credit_options(credits, book)):
            for deduct in options:
                need = target - sum(_cents(credits[c]) for c in deduct)
                needs.append(need)
                for (issued, ordered, _), (prefix, at) in zip(orders, prefixes, strict=True):
                    for end, total in enumerate(prefix):
                        start = at.get(total - need)
                        if start is not None and 2 <= end - start <= longest and end - start not in covered:
                            run = ordered[start:end]
                            hits.setdefault((frozenset(run), deduct), (issued, run, deduct))
            if hits:
                break
        if not hits:
            return []
        # Runs of every length could add up by chance (those the set search covered too): n - k + 1 runs of
        # k invoices, each as likely to as one of the C(n, k) sets chance_sets counts.
        shapes = [pool_shape(cents) for _, _, cents in orders]  # read once, not per amount and length
        chance = sum(
            chance_in(shape, need, [k]) * (shape.n - k + 1) / math.comb(shape.n, k)
            for need in needs
            for shape in shapes
            for k in range(2, min(self.max_subset_size, shape.n) + 1)
        )
        unique = len(hits) == 1 and not sets
        out = []
        for issued, run, deduct in hits.values():
            weight = min(W_SINGLE, chance_weight(chance)) if unique else W_SUBSET + W_AMBIGUOUS
            netted = {c: credits[c] for c in deduct}
            proposal = self._score(
                receipt,
                book,
                found,
                [ProposalLine(i, rem[i]) for i in run] + [ProposalLine(c, a, "credit_note") for c, a in netted.items()],
                weight,
                Message(
                    RUN_READINGS[issued][not unique],
                    invoices=_less_credits(book, ", ".join(invoices[i].number for i in run), netted, named=False),
                    amount=_money(receipt.amount),
                    count=len(run),
                    pool=len(rem),
                    chance=_about(chance),
                ),
                "amount+run",
            )
            # Only the runs were searched to the end, not every set: another set of the pool may add up as well,
            # and a set that can be found but not proven the only one is a suggestion, never automatic.
            proposal.automatic = False
            out.append(proposal)
        return out

    def _short_from_customer(
        self, receipt: ReceiptView, book: OpenItems, found: Found, customer_id: str, rem: dict[int, Decimal]
    ) -> list[MatchProposal]:
        """One open invoice of the customer less a bank fee, a cash discount, or both: each weighed by how
        many of the customer's invoices could fit such a shortfall by chance."""
        amount, currency = receipt.amount, receipt.currency
        customer = book.customers.get(customer_id)
        stated = _stated(receipt.texts())
        widest = max(self.fee_tolerance, amount * max(DISCOUNT_RATES) / 50)  # a discount with a fee besides
        fits: list[
            tuple[
                int,
                Decimal,
                tuple[Decimal, ...],
                int,
                float,
                bool,
                Message,
                tuple[tuple[Message, float | None], ...],
                str,
            ]
        ] = []
        for i, r in rem.items():
            short = r - amount
            if short <= 0 or short > widest:
                continue
            fee = self._fee(short, r, amount, currency, customer)
            if fee is not None and fee.kind != "odd":  # an odd shortfall is a guess; a person can make it
                doubt = _discount_said_notes(stated)
                fits.append(
                    (
                        i,
                        short,
                        (short,),
                        fee.values,
                        fee.weight + sum(w for _, w in doubt if w is not None),
                        fee.automatic and not doubt,
                        Message(N_("less a bank fee of %(fee)s"), fee=_money(short)),
                        (*fee.notes, *doubt),
                        "amount+fee",
                    )
                )
                continue
            discount = self._discount(short, [r], r, amount, currency, customer, stated, guess=False)
            if discount is not None:
                fits.append(
                    (
                        i,
                        short,
                        discount.write_offs,
                        discount.values,
                        discount.weight,
                        discount.automatic,
                        _less_discount(discount),
                        discount.notes,
                        "amount+discount" if discount.fee is None else "amount+discount+fee",
                    )
                )
        if not fits:
            return []
        said = _deduction_notes(stated)
        pool = [_cents(r) for r in rem.values()]
        target = _cents(amount)
        chances = [chance_sets(pool, target, [1], values=fit[3]) for fit in fits]
        own = [min(W_SINGLE_FEE, chance_weight(c)) + fit[4] for fit, c in zip(fits, chances, strict=True)]
        ranked = sorted(range(len(fits)), key=lambda k: -own[k])
        out = []
        for k in ranked[:3]:
            i, _, parts, _, _, automatic, what, notes, method = fits[k]
            # Other invoices that fit about as well (within the margin a decision needs) make this one a guess;
            # those that fit only as a doubtful reading (a fee where the text states a discount) do not.
            rivals = sum(1 for j in range(len(fits)) if j != k and own[j] >= own[k] - 2.0)
            number = book.invoices[i].number
            proposal = self._score(
                receipt,
                book,
                found,
                self._with_write_off([ProposalLine(i, rem[i])], *parts),
                own[k] + W_AMBIGUOUS * rivals + (W_DEDUCTION_SAID if said else 0.0),
                Message(
                    N_(
                        "amount %(amount)s is %(number)s's open %(open)s %(how)s, "
                        "one of %(count)s invoices that fit about as well"
                    )
                    if rivals
                    else N_("amount %(amount)s is %(number)s's open %(open)s %(how)s"),
                    amount=_money(amount),
                    number=number,
                    open=_money(rem[i]),
                    how=what,
                    count=rivals + 1,
                ),
                method,
                [
                    *notes,
                    *said,
                    (
                        Message(
                            N_(
                                "%(chance)s of the customer's %(count)s open invoices "
                                "could fit such a shortfall by chance"
                            ),
                            chance=_about(chances[k]),
                            count=len(pool),
                        ),
                        None,
                    ),
                ],
            )
            proposal.automatic = automatic and not said and not rivals and chances[k] <= FIT_CHANCE_AUTO
            out.append(proposal)
        return out

    # -- sets with credit notes ------------------------------------------------------------------------

    def _sets_less_credits(
        self,
        pool: list[tuple[int, int]],
        low: int,
        high: int,
        credits: dict[int, Decimal],
        *,
        smallest: int = 1,
        values: int = 1,
    ) -> tuple[list[tuple[tuple[int, ...], tuple[int, ...]]], bool, float]:
        """Sets of ``pool`` ((id, cents)) adding up to [``low``, ``high``] cents, as such or less one or two
        of ``credits`` (the customer's open credit notes, negative): up to two (invoices, credit notes
        deducted), whether the search was complete, and about how many sets could add up by chance.

        Sets without a credit note have at least ``smallest`` invoices. Credit notes are tried only where
        the pool is searched depth-first (up to :data:`DFS_POOL`): in a large pool every credit note
        would add as many coincidences, and none of those sets could be told from chance anyway. Each
        credit note (or pair) tried is one more target a set could hit by chance: the chances add up.
        """
        options: list[tuple[int, ...]] = [()]
        if len(pool) <= DFS_POOL:
            options += _credit_options(credits)
        found: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
        complete = True
        targets: list[tuple[int, int]] = []
        for deduct in options:
            extra = -sum(_cents(credits[c]) for c in deduct)
            least = smallest if not deduct else 1
            solutions, done = subset_sums(
                pool, low + extra, high + extra, max_size=self.max_subset_size, budget=self.subset_budget
            )
            complete = complete and done
            found.extend((sol, deduct) for sol in solutions if len(sol) >= least)
            targets.append((low + extra, least))
            if len(found) > 1:
                complete = True  # two sets fit: ambiguous whatever else a longer search would find
                break
        if not found:
            return [], complete, 0.0
        cents = [c for _, c in pool]
        chance = sum(
            chance_sets(cents, target, _searched_sizes(len(pool), self.max_subset_size, least), values=values)
            for target, least in targets
        )
        return found[:2], complete, chance

    def _less_unnamed_credits(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        found: Found,
        owner: str,
        full: list[ProposalLine],
        total: Decimal,
        numbers: Message | str,
        named: dict[int, Decimal],
    ) -> list[MatchProposal]:
        """The invoices named less one or more of the customer's open credit notes the payment does not
        name (or names in a way not read: a number mangled, a list cut short), where they make up the
        difference exactly."""
        others = {c: r for c, r in self._credits(book, owner, receipt.currency).items() if c not in named}
        if not others:
            return []
        short = _cents(total - receipt.amount)
        items = [(c, -_cents(r)) for c, r in others.items()]
        # A customer with many open credit notes (a large one, fifty of them) has some pair making up almost
        # any shortfall: only one alone is looked for there, weighed by how many could make it up by chance.
        most = 1 if len(others) > MAX_CREDIT_SINGLES else min(len(items), MAX_UNNAMED_CREDITS)
        solutions, complete = subset_sums(items, short, short, max_size=most, budget=self.subset_budget)
        if not solutions:
            return []
        coincidences = chance_sets([c for _, c in items], short, range(1, most + 1))
        chance = coincidences / CREDIT_ODDS
        unique = len(solutions) == 1 and complete
        weight = W_EXACT - 0.5
        out = []
        for sol in solutions:
            less = _less_credits(book, numbers, {c: others[c] for c in sol}, named=False)
            proposal = self._score(
                receipt,
                book,
                found,
                full + [ProposalLine(c, others[c], "credit_note") for c in sol],
                max(min(weight, chance_weight(chance)), weight + W_AMBIGUOUS) if unique else weight + W_AMBIGUOUS,
                Message(
                    N_(
                        "amount %(amount)s equals the open total of %(invoices)s; the only set of the customer's "
                        "%(count)s open credit notes that makes up the difference: %(chance)s sets could make it up "
                        "by chance, and a short payment deducts credit notes it does not name at odds of %(odds)s to 1"
                    )
                    if unique
                    else N_(
                        "amount %(amount)s equals the open total of %(invoices)s; a set of the customer's "
                        "%(count)s open credit notes that makes up the difference: %(chance)s sets could make it up "
                        "by chance, and a short payment deducts credit notes it does not name at odds of %(odds)s to 1"
                    ),
                    amount=_money(receipt.amount, receipt.currency),
                    invoices=less,
                    count=len(others),
                    chance=_about(coincidences),
                    odds=f"{CREDIT_ODDS:g}",
                ),
                "reference+credit",
            )
            proposal.automatic = unique and chance_weight(chance) >= self.auto_logit
            proposal.found_by_amount = True
            out.append(proposal)
        return out

    @staticmethod
    def _credits(book: OpenItems, customer_id: str, currency: str) -> dict[int, Decimal]:
        """Open credit notes of the customer and its subsidiaries in the currency (negative amounts)."""
        cached: dict[tuple[str, str], list[int]] = book.index("matching:credit-notes", lambda _: {})
        ids = cached.get((customer_id, currency))
        if ids is None:
            invoices = book.invoices
            ids = cached[customer_id, currency] = [
                i for i in Combiner._pool_ids(book, customer_id, currency) if invoices[i].open_amount < 0
            ]
        return book.open_credits(ids) if ids else {}


DISCOUNT_RATES = (Decimal(1), Decimal(2), Decimal(3))
"""Cash discounts (Skonto) payers take for paying early, in percent: 2% and 3% are the usual terms in
German-speaking trade, 1% and 2% ("2/10 net 30") elsewhere."""


TARIFF_CENTS = (0, 50, 90)
"""Cent endings of bank tariffs: whole and half units (5.00, 12.50) and the price-list ending .90
(9.90, 14.90). Each ending admitted is one more shortfall per unit that a netted credit note or a
deduction could hit by chance, so no more (no .95, .99: retail endings, rare in bank tariffs). A
converted fee (USD 15 charged in CHF) ends anywhere: such a fee is learned, not guessed."""
FEE_PERCENTS = (Decimal("0.1"), Decimal("0.15"), Decimal("0.2"), Decimal("0.25"))
"""Charges levied as a percentage of the amount (commonly 0.1-0.25% with a minimum and a maximum):
the minimum is a tariff amount, above it the charge is the percentage to the cent."""


LEARNED_FEE = (
    N_("%(customer)s's bank deducted %(fee)s before (on %(count)s earlier payment matched): the fee it charges"),
    N_("%(customer)s's bank deducted %(fee)s before (on %(count)s earlier payments matched): the fee it charges"),
)
"""A fee size live matches of the payer's wrote off (``CustomerView.fees``): for one match, for more."""
RUN_FEE = (
    N_("%(customer)s's bank deducted %(fee)s from %(count)s other payment of this run as well: the fee it charges"),
    N_("%(customer)s's bank deducted %(fee)s from %(count)s other payments of this run as well: the fee it charges"),
)
"""A fee size other payments of the payer in the same run were short by (``CustomerView.fees_seen``)."""


@dataclass(frozen=True)
class FeeFit:
    """A shortfall read as a bank fee: of what kind, how many shortfalls of that kind the ceiling holds
    (what a coincidence could hit), its weight beside the base, whether it may be automatic, and why."""

    kind: Literal["learned", "tariff", "percent", "odd"]
    values: int
    weight: float
    automatic: bool
    notes: tuple[tuple[Message, float | None], ...]


@dataclass(frozen=True)
class DiscountFit:
    """A shortfall read as a cash discount at ``rate`` (and a bank ``fee`` besides, if not None)."""

    rate: Decimal
    fee: Decimal | None
    write_offs: tuple[Decimal, ...]
    values: int
    weight: float
    automatic: bool
    sentence: Message
    notes: tuple[tuple[Message, float | None], ...]


@dataclass(frozen=True)
class Stated:
    """What a payment's texts say about a shortfall: a discount (its word, and its rate if given) or a deduction."""

    rate: Decimal | None = None
    word: str = ""
    deduction: str = ""


_DISCOUNT_ALONE = (
    r"skonto\w*|sconto|escompte|rabais|descuento|desconto|discount|korting|rabatt|kassarabatt|rabat"
    r"|kontantrabat|alennus|k[äa]teisalennus|atlaide|nuolaida|allahindlus|sleva|popust"
)
"""Words for a cash discount in the languages payers write in, said with a rate or without."""
_DISCOUNT_WORD = _DISCOUNT_ALONE + "|remise"  # with a rate only: alone, "REMISE CHEQUE" is a cheque paid in
_PERCENT = r"(\d{1,2}(?:[.,]\d{1,2})?)\s*%"
STATED_DISCOUNT = re.compile(
    rf"{_PERCENT}\s*(?:cash\s+)?({_DISCOUNT_WORD})\b|\b({_DISCOUNT_WORD})\s*(?:of\s+|von\s+|de\s+|di\s+)?{_PERCENT}",
    re.IGNORECASE,
)
DISCOUNT_SAID = re.compile(rf"\b({_DISCOUNT_ALONE})\b", re.IGNORECASE)
DEDUCTION_SAID = re.compile(
    r"\b(reklamation|m[äa]ngel\w*|minderung|besch[äa]digt\w*|damaged|defect\w*|return(?:ed)?\s+goods|freight|fracht\w*"
    r"|short\s+delivery|shortage|r[ée]clamation|reclamo|reclamaci[óo]n|contestazione|credit\s+note|gutschrift|avoir"
    r"|nota\s+di\s+credito|deduction|abzug\s+wg)\b",
    re.IGNORECASE,
)

PART_PAYMENT_SAID = re.compile(
    r"\b(teilzahlung|abschlagszahlung|anzahlung|\d+\.\s*rate|acconto|a\s+con[tk]o|acompte|paiement\s+partiel"
    r"|pago\s+parcial|pago\s+a\s+cuenta|pagamento\s+parziale|part(?:ial)?\s+payment|instal{1,2}ment|delbetalning"
    r"|delbetaling|osamaksu|osamakse|da[ļl][ēe]js\s+maks[āa]jums|dalinis\s+mok[ėe]jimas)\b|(部分付款|部分货款|分期付款)",
    re.IGNORECASE,
)
"""Words a payer writes for a part payment, in the languages of the books it pays (by hand, as
:data:`DEDUCTION_SAID`)."""


@functools.lru_cache(maxsize=4096)
def _part_payment_said(texts: tuple[str, ...]) -> str:
    """The word the texts say a part payment with, or ""."""
    m = PART_PAYMENT_SAID.search(" ".join(texts))
    return (m.group(1) or m.group(2)) if m else ""


@functools.lru_cache(maxsize=4096)
def _stated_in(texts: tuple[str, ...]) -> Stated:
    text = " ".join(texts)
    rate: Decimal | None = None
    word = ""
    if m := STATED_DISCOUNT.search(text):
        number, word = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        value = Decimal(number.replace(",", "."))
        if ZERO < value <= 10:
            rate = value.normalize()
    elif m := DISCOUNT_SAID.search(text):
        word = m.group(1)
    d = DEDUCTION_SAID.search(text)
    return Stated(rate, word, d.group(1) if d else "")


def _stated(texts: Sequence[str]) -> Stated:
    """What the texts say of a discount or deduction ("abzgl. 2% Skonto", "minus 3% discount", "escompte
    2%", "abzgl. Reklamation"). By hand: a few words in five languages, no library reads remittance text."""
    return _stated_in(tuple(texts))


def _discount_said_notes(stated: Stated) -> list[tuple[Message, float | None]]:
    if not stated.word:
        return []
    return [
        (
            Message(
                N_("the text states a discount (%(rate)s%% %(word)s): the shortfall is not a bank fee alone"),
                rate=stated.rate,
                word=stated.word,
            )
            if stated.rate is not None
            else Message(
                N_("the text states a discount (%(word)s): the shortfall is not a bank fee alone"), word=stated.word
            ),
            W_DISCOUNT_OTHER_RATE,
        )
    ]


def _deduction_notes(stated: Stated) -> list[tuple[Message, float | None]]:
    if not stated.deduction:
        return []
    return [
        (
            Message(
                N_(
                    "the text states a deduction (%(word)s): the shortfall is for finance to book, "
                    "not a bank fee or a discount to write off"
                ),
                word=stated.deduction,
            ),
            W_DEDUCTION_SAID,
        )
    ]


def _by_chance(chance: float) -> Message:
    return Message(
        N_("the chance that a part payment or deduction leaves such a shortfall: %(chance)s"), chance=_about(chance)
    )


def _short_of(amount: Decimal, short: Decimal, total: Decimal, numbers: Message | str, explanation: Message) -> Message:
    """``amount 100.00 is 2.50 short of the open total 102.50 of INV-1: a bank fee, written off``."""
    return Message(
        N_("amount %(amount)s is %(short)s short of the open total %(total)s of %(invoices)s: %(explanation)s"),
        amount=_money(amount),
        short=_money(short),
        total=_money(total),
        invoices=numbers,
        explanation=explanation,
    )


ODD_SHORTFALL = Message(N_("an odd shortfall, written off"))
BANK_FEE_SHORTFALL = Message(N_("a bank fee, written off"))
LESS_A_BANK_FEE = Message(N_(" less a bank fee"))
NOT_RULED_OUT = Message(N_(" (the search could not rule out others: a suggestion only)"))
THE_ONLY_SET = Message(N_("the only set"))
A_SET = Message(N_("a set"))
A_SET_CUT_SHORT = Message(N_("a set (search cut short)"))
DISCOUNT_AND_FEE = Message(N_("a discount and a bank fee besides: two departures from the invoices"))
ON_THE_TOTAL = Message(N_("the total"))
ON_EACH_INVOICE = Message(N_("each invoice"))


def _discounts(amounts: Sequence[Decimal], rates: Sequence[Decimal]) -> list[tuple[Decimal, Message, Decimal]]:
    """Each rate's discount on ``amounts``: on their total and, for several, on each rounded (rate, basis, discount)."""
    cent = Decimal("0.01")
    total = sum(amounts, ZERO)
    out: list[tuple[Decimal, Message, Decimal]] = []
    for rate in rates:
        on_total = (total * rate / 100).quantize(cent, ROUND_HALF_UP)
        out.append((rate, ON_THE_TOTAL, on_total))
        if len(amounts) > 1:
            each = sum(((a * rate / 100).quantize(cent, ROUND_HALF_UP) for a in amounts), ZERO)
            if each != on_total:
                out.append((rate, ON_EACH_INVOICE, each))
    return out


def _fee_percent(short: Decimal, due: Decimal, paid: Decimal) -> tuple[Decimal, Decimal] | None:
    """The rate of :data:`FEE_PERCENTS` that ``short`` is of the amount due or paid, to the cent (and that amount)."""
    cent = Decimal("0.01")
    for percent in FEE_PERCENTS:
        for base in (due, paid):
            if (base * percent / 100).quantize(cent, ROUND_HALF_UP) == short:
                return percent, base
    return None


def _pair_summing(rem: dict[int, Decimal], amount: Decimal, besides: Container[int]) -> tuple[int, int] | None:
    """Two open invoices (none of ``besides``) whose open amounts add up to ``amount``, if any."""
    seen: dict[Decimal, int] = {}
    for i, r in rem.items():
        if i in besides or r >= amount:
            continue
        other = seen.get(amount - r)
        if other is not None:
            return (other, i) if rem[other] >= r else (i, other)
        seen.setdefault(r, i)
    return None


def _pair_twin(sol: Sequence[int], rem: dict[int, Decimal]) -> tuple[int, int, int] | None:
    """An invoice of the set ``sol`` whose open amount (of ``rem``, the pool's) two other open invoices of the pool
    add up to (:func:`_pair_summing`), with those two: the set with them in its place adds up alike, one invoice
    larger, where a search in a large pool may not reach (10,000.00 and 5,000.00 + 5,000.00 in a book of round
    contract sums)."""
    chosen = frozenset(sol)
    for x in sol:
        pair = _pair_summing(rem, rem[x], chosen)
        if pair is not None:
            return x, *pair
    return None


def _twin_said(book: OpenItems, twin: tuple[int, int, int], left: Mapping[int, Decimal]) -> Message:
    """What :func:`_pair_twin` found, said after a set's reason."""
    x, a, b = twin
    return Message(
        N_(
            "; but %(one)s (%(amount)s) equals %(two)s and %(three)s together, also open: "
            "a set of one more adds up as well (a suggestion only)"
        ),
        one=book.invoices[x].number,
        amount=_money(left[x]),
        two=book.invoices[a].number,
        three=book.invoices[b].number,
    )


def sets_adding_up(
    items: Sequence[tuple[int, int]], target: int, *, max_size: int = 20, budget: int = 20_000, smallest: int = 2
) -> tuple[list[tuple[int, ...]], bool]:
    """Sets of ``smallest`` or more of ``items`` ((id, cents), positive) adding up to exactly ``target`` cents:
    up to two (:func:`subset_sums`, with the combiner's defaults for size and budget), and whether the search
    was complete. For a matcher weighing which of several customers a payment is from by whose open invoices
    add up to it; :func:`sets_by_chance` says first whether a set found could mean anything."""
    found, complete = subset_sums(items, target, target, max_size=max_size, budget=budget)
    return [s for s in found if len(s) >= smallest], complete


def sets_by_chance(cents: Sequence[int], target: int, *, max_size: int = 20, smallest: int = 2) -> float:
    """About how many sets of the sizes :func:`sets_adding_up` reaches in a pool of ``cents`` would add up to
    ``target`` by chance (:func:`chance_sets`): cheap, read before a search that may cost thousands of steps."""
    return chance_sets(cents, target, _searched_sizes(len(cents), max_size, smallest)) if cents else 0.0


def _searched_sizes(pool: int, max_size: int, smallest: int) -> range:
    """The set sizes :func:`subset_sums` searches completely in a pool of ``pool`` invoices."""
    # Depth-first in pools of up to DFS_POOL (every size); met in the middle above: up to five, four in large pools.
    largest = max_size if pool <= DFS_POOL else min(max_size, 5 if pool <= LARGE_POOL else 4)
    return range(smallest, min(largest, pool) + 1)


#: ``INV-1, INV-2 less credit note GS-7 (-30.00)``: by how many credit notes, and whether the payment names them.
LESS_CREDITS = {
    (False, True): N_("%(invoices)s less credit note %(credits)s"),
    (True, True): N_("%(invoices)s less credit notes %(credits)s"),
    (False, False): N_("%(invoices)s less credit note %(credits)s, not named"),
    (True, False): N_("%(invoices)s less credit notes %(credits)s, not named"),
}


CREDIT_NOTE_AMOUNT = N_("%(number)s (%(amount)s)")
"""A credit note deducted and its amount (``GS-7 (-30.00)``), in a list of them."""


def _less_discount(discount: DiscountFit) -> Message:
    """What an amount is less, read as ``discount``: "less a cash discount (Skonto) of 2% (17.69)", and the bank
    fee besides where there is one."""
    if discount.fee is None:
        return Message(
            N_("less a cash discount (Skonto) of %(rate)s%% (%(discount)s)"),
            rate=discount.rate,
            discount=_money(discount.write_offs[0]),
        )
    return Message(
        N_("less a cash discount (Skonto) of %(rate)s%% (%(discount)s) and a bank fee of %(fee)s"),
        rate=discount.rate,
        discount=_money(discount.write_offs[0]),
        fee=_money(discount.fee),
    )


def _credit_options(
    credits: Mapping[int, Decimal], book: OpenItems | None = None, *, every_single: bool = False
) -> list[tuple[int, ...]]:
    """The credit notes a payment may net without naming them, each option one or two of ``credits`` (negative):
    each of the :data:`MAX_CREDIT_SINGLES` largest alone (``every_single``: every one, in id order), and pairs of
    the :data:`MAX_CREDITS` largest. With the ``book``, for a payment run that pays the oldest invoices first:
    each of the :data:`MAX_CREDITS` oldest alone besides, as a run nets the oldest credit notes first, whatever
    their size."""
    largest = sorted(credits, key=lambda c: credits[c])
    singles = sorted(credits) if every_single else largest[:MAX_CREDIT_SINGLES]
    if book is not None and credits and not every_single:
        _, by_issue = _oldest_orders(book, list(credits))[-1]
        singles += [c for c in by_issue[:MAX_CREDITS] if c not in singles]
    return [(c,) for c in singles] + list(itertools.combinations(largest[:MAX_CREDITS], 2))


def _less_credits(
    book: OpenItems, numbers: Message | str, credit: dict[int, Decimal], *, named: bool = True
) -> Message | str:
    """The invoices ``numbers`` less the credit notes deducted, in words: ``INV-1 less credit note GS-7
    (-30.00)``; ``numbers`` alone for none."""
    if not credit:
        return numbers
    listed = Join(
        tuple(
            Message(CREDIT_NOTE_AMOUNT, number=book.invoices[c].number, amount=Amount(amount, None, True))
            for c, amount in credit.items()
        ),
        ", ",
    )
    return Message(LESS_CREDITS[len(credit) > 1, named], invoices=numbers, credits=listed)


def _less_on_largest(lines: Sequence[ProposalLine], taken: Decimal) -> tuple[list[ProposalLine], int]:
    """The lines as they are but the largest (the first of equals), less ``taken``; and that line's invoice."""
    largest = max(range(len(lines)), key=lambda k: lines[k].amount)
    out = [
        ProposalLine(ln.invoice_id, ln.amount - taken, ln.kind) if k == largest else ln for k, ln in enumerate(lines)
    ]
    return out, lines[largest].invoice_id


def _advice_listed(receipt: ReceiptView, found: Found) -> set[int]:
    """The open items a linked remittance advice lists, where it lists nothing else: every document
    found (by the matcher named :data:`~hub.recon.types.ADVICE_MATCHER`), each once. Empty where
    there is no advice, or a document of it was not found (then the payment's own texts count too)."""
    advice = receipt.advice
    if advice is None or not advice.documents:
        return set()
    listed = {i for i, evidence in found.invoices.items() if any(e.matcher == ADVICE_MATCHER for e in evidence)}
    return listed if len(listed) == len(advice.documents) else set()


def _advice_pairs(book: OpenItems, listed: set[int], documents: Sequence[Any]) -> list[tuple[int, Any]] | None:
    """Each document of an advice with the open item found for it (``listed``): by its number as
    written, else by its digits; None unless every document has exactly one and no two share one."""

    def keys(number: str) -> tuple[str, str]:
        compact = letters_and_digits(number)
        return compact, "".join(ch for ch in compact if ch.isdigit()).lstrip("0")

    by_key: dict[str, list[int]] = defaultdict(list)
    for i in listed:
        for key in set(keys(book.invoices[i].number)):
            if key:
                by_key[key].append(i)
    pairs: list[tuple[int, Any]] = []
    for doc in documents:
        compact, digits = keys(doc.number)
        ids = by_key.get(compact) or by_key.get(digits) or []
        if len(ids) != 1:
            return None
        pairs.append((ids[0], doc))
    return pairs if len({i for i, _ in pairs}) == len(pairs) == len(listed) else None


def charged(short: Decimal, sent: Decimal, received: Decimal) -> bool:
    """``short`` is a charge as banks levy them: whole or half units, or a percentage of what was sent
    or received, to the cent."""
    return _round_fee(short) or _fee_percent(short, sent, received) is not None


ROUNDING_STEPS = (Decimal(1000), Decimal(500), Decimal(100), Decimal(50), Decimal(10))
"""Round figures a payer pays instead of an odd total (2,300.00 for 2,287.51), the largest first. Not
whole units: one payment in a hundred is a whole amount by chance, one in a thousand a multiple of ten."""


OLDEST_FIRST = N_(
    "%(invoices)s: the customer's %(count)s oldest open invoices add up to %(amount)s, as a payment run pays "
    "what is due, oldest first; %(chance)s such runs could add up to this by chance"
)
"""The reason of a payment naming nothing that the customer's oldest open invoices make up to the cent."""
OLDEST_BESIDES = (
    N_(
        "%(invoices)s named, and the customer's oldest open invoice besides (%(others)s) makes up the rest of "
        "%(amount)s, as a payment run pays what is due, oldest first; %(chance)s such runs could make up the "
        "rest by chance"
    ),
    N_(
        "%(invoices)s named, and the customer's %(count)s oldest open invoices besides (%(others)s) make up the "
        "rest of %(amount)s, as a payment run pays what is due, oldest first; %(chance)s such runs could make up "
        "the rest by chance"
    ),
)
"""The reason of a payment naming some invoices whose rest the customer's oldest open invoices make up."""
ISSUED_FIRST = N_(
    "%(invoices)s: the customer's %(count)s open invoices issued first add up to %(amount)s, as a payment run "
    "pays the oldest invoices first; %(chance)s such runs could add up to this by chance"
)
""":data:`OLDEST_FIRST` where the run goes by invoice date, not due date (terms differ by invoice)."""
ISSUED_BESIDES = (
    N_(
        "%(invoices)s named, and the customer's open invoice issued first besides (%(others)s) makes up the rest "
        "of %(amount)s, as a payment run pays the oldest invoices first; %(chance)s such runs could make up the "
        "rest by chance"
    ),
    N_(
        "%(invoices)s named, and the customer's %(count)s open invoices issued first besides (%(others)s) make up "
        "the rest of %(amount)s, as a payment run pays the oldest invoices first; %(chance)s such runs could make "
        "up the rest by chance"
    ),
)
""":data:`OLDEST_BESIDES` where the run goes by invoice date, not due date."""
OLDEST_SHORT = N_(
    "%(invoices)s: the customer's %(count)s oldest open invoices, %(total)s %(how)s, make %(amount)s, as a payment "
    "run pays what is due, oldest first; %(chance)s such runs could come to this by chance"
)
""":data:`OLDEST_FIRST` less a bank fee or a cash discount (:meth:`Combiner._oldest_short`)."""
ISSUED_SHORT = N_(
    "%(invoices)s: the customer's %(count)s open invoices issued first, %(total)s %(how)s, make %(amount)s, as a "
    "payment run pays the oldest invoices first; %(chance)s such runs could come to this by chance"
)
""":data:`OLDEST_SHORT` where the run goes by invoice date, not due date."""
RUN_READINGS = (
    (
        N_(
            "%(invoices)s: the only run of consecutive open invoices of the customer (in order of due "
            "date) adding up to %(amount)s, %(count)s invoices among %(pool)s open: %(chance)s runs "
            "could add up to this amount by chance"
        ),
        N_(
            "%(invoices)s: a run of consecutive open invoices of the customer (in order of due date) "
            "adding up to %(amount)s, %(count)s invoices among %(pool)s open, but not the only set "
            "that does: %(chance)s runs could add up to this amount by chance"
        ),
    ),
    (
        N_(
            "%(invoices)s: the only run of consecutive open invoices of the customer (in order of invoice "
            "date) adding up to %(amount)s, %(count)s invoices among %(pool)s open: %(chance)s runs "
            "could add up to this amount by chance"
        ),
        N_(
            "%(invoices)s: a run of consecutive open invoices of the customer (in order of invoice date) "
            "adding up to %(amount)s, %(count)s invoices among %(pool)s open, but not the only set "
            "that does: %(chance)s runs could add up to this amount by chance"
        ),
    ),
)
"""The readings of :meth:`Combiner._runs`, by whether the run goes by invoice date, then whether it is the
only run adding up."""
LIST_GOES_ON = (
    N_(
        "%(invoices)s named, and the next open invoice of the customer after %(last)s (%(others)s) makes up the "
        "rest of %(amount)s: the list the bank cut at %(limit)s characters goes on in number order; %(chance)s "
        "such runs could make up the rest by chance"
    ),
    N_(
        "%(invoices)s named, and the next %(count)s open invoices of the customer after %(last)s (%(others)s) make "
        "up the rest of %(amount)s: the list the bank cut at %(limit)s characters goes on in number order; "
        "%(chance)s such runs could make up the rest by chance"
    ),
)
"""The reason of a list cut by the bank that goes on with the customer's next open invoices (one, several)."""

_NUMBER_PARTS = re.compile(r"\d+|\D+")


def _oldest_orders(book: OpenItems, ids: list[int], reach: int | None = None) -> list[tuple[bool, list[int]]]:
    """The orders a payment run that pays the oldest first may go by, each flagged whether it is by invoice date:
    by due date (what fell due first), and by invoice date where its first ``reach`` differ (terms that differ
    by invoice make the invoice issued first not the one due first). Equal dates go by number, which is issued
    in order; an invoice without an issue date is placed by its number alone."""
    invoices, rank = book.invoices, _number_ranks(book, ids)
    by_due = sorted(ids, key=lambda i: (invoices[i].due_date or dt.date.max, rank[i]))
    by_issue = sorted(ids, key=lambda i: (invoices[i].issue_date or dt.date.min, rank[i]))
    orders = [(False, by_due)]
    if by_issue[:reach] != by_due[:reach]:
        orders.append((True, by_issue))
    return orders


def _paying_orders(
    book: OpenItems, ids: list[int], reach: int, receipt_id: int
) -> list[tuple[bool, list[int], list[tuple[int, int]]]]:
    """:func:`_oldest_orders`, and each again passing over the invoices the payer paid before, where one is among
    its first ``reach``: those paid in part (:meth:`OpenItems.part_paid`), as accounts payable keeps an invoice it
    paid short, a deduction in dispute, out of its next payment runs; and those another payment of the run, left to
    finance, reads as its own (:attr:`OpenItems.suggested`). The run pays the oldest of the rest. Each order with
    what it passes over: (how many invoices of the order come before it, the invoice), none for an order as it is."""
    orders: list[tuple[bool, list[int], list[tuple[int, int]]]] = [
        (issued, ordered, []) for issued, ordered in _oldest_orders(book, ids, reach)
    ]
    suggested = book.suggested

    def paid(i: int) -> bool:
        return book.part_paid(i) or (i in suggested and suggested[i][0] != receipt_id)

    if not any(paid(i) for i in ids):
        return orders
    heads = [ordered[:reach] for _, ordered, _ in orders]
    for issued, ordered, _ in list(orders):
        kept: list[int] = []
        passed: list[tuple[int, int]] = []
        for i in ordered:
            if paid(i):
                passed.append((len(kept), i))
            else:
                kept.append(i)
        if passed and passed[0][0] < reach and kept[:reach] not in heads:
            heads.append(kept[:reach])
            orders.append((issued, kept, passed))
    return orders


def _passed_notes(book: OpenItems, passed: list[tuple[int, int]], run: list[int]) -> tuple[tuple[Message, None], ...]:
    """The notes of a run from the oldest that passed over invoices paid before (:func:`_paying_orders`): those
    older than its last invoice, paid in part, and read by another payment of the run. None where it passed over
    none of them."""
    over = [i for before, i in passed if before < len(run)]
    part = [i for i in over if book.part_paid(i)]
    notes: list[tuple[Message, None]] = []
    if part:
        notes.append(
            (
                Message(
                    N_(
                        "passing over %(invoices)s, paid in part before and still open: a payment run leaves out "
                        "an invoice in dispute"
                    ),
                    invoices=", ".join(book.invoices[i].number for i in part),
                ),
                None,
            )
        )
    by_payment: dict[str, list[int]] = defaultdict(list)
    for i in over:
        if i not in part:
            by_payment[book.suggested[i][1] or "?"].append(i)
    for ref, ids in by_payment.items():
        notes.append(
            (
                Message(
                    N_(
                        "passing over %(invoices)s, which another payment of this run (%(ref)s) reads as its own: "
                        "a payment run pays the oldest of those still unpaid"
                    ),
                    invoices=", ".join(book.invoices[i].number for i in ids),
                    ref=ref,
                ),
                None,
            )
        )
    return tuple(notes)


def _number_ranks(book: OpenItems, ids: Iterable[int]) -> MutableMapping[int, int] | array[int]:
    """Each invoice's place in the numbering of its customer's invoices (:func:`_number_order`), by invoice id,
    for the invoices of the customers of ``ids``: read once per customer and run, where a large customer's pool is
    sorted for each of its receipts. An array where the ids are dense (a run holds up to millions of invoices)."""
    ranks: MutableMapping[int, int] | array[int] = book.index("matching:number-ranks", _rank_table)
    ranked: set[str] = book.index("matching:number-ranked", lambda _: set())
    invoices = book.invoices
    for owner in {invoices[i].customer_id for i in ids} - ranked:
        ranked.add(owner)
        for k, i in enumerate(sorted(book.by_customer[owner], key=lambda i: _number_order(invoices[i].number))):
            ranks[i] = k
    return ranks


def _rank_table(book: OpenItems) -> MutableMapping[int, int] | array[int]:
    """An empty table of :func:`_number_ranks`: an array by invoice id where ids are dense, else a dict."""
    top = max(book.invoices, default=0)
    return array("q", [-1]) * (top + 1) if top < 4 * len(book.invoices) + 1024 else {}


def _number_order(number: str) -> tuple[tuple[int, int | str], ...]:
    """An invoice number's place in its numbering: its digit runs compared as numbers ("2026/99" before
    "2026/100"), the rest as text."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _NUMBER_PARTS.findall(number))


def _series(number: str) -> str:
    """An invoice number's numbering: its shape with each digit run as ``#`` ("RE-2026-0000231" is
    ``RE-#-#``)."""
    return _DIGIT_RUNS.sub("#", number)


_DIGIT_RUNS = re.compile(r"\d+")


def _same_lines(a: MatchProposal, b: MatchProposal) -> bool:
    """Whether two proposals allocate the same invoices (whatever their reasons)."""
    return {ln.invoice_id for ln in a.lines} == {ln.invoice_id for ln in b.lines}


def _preferred(out: list[MatchProposal], run: MatchProposal) -> list[MatchProposal]:
    """``out`` with the reading of a run that makes it up in order (:meth:`Combiner._oldest_first`,
    :meth:`Combiner._list_goes_on`), where it is automatic: in place of the same set found by its amount
    alone and not proven the only one, not beside one that was (the set search's reason stays)."""
    if not run.automatic or any(p.automatic and _same_lines(p, run) for p in out):
        return out
    return [p for p in out if not _same_lines(p, run)] + [run]


def _rounded_up(amount: Decimal, total: Decimal) -> Decimal | None:
    """The step ``amount`` is ``total`` rounded up by: the next multiple of one of :data:`ROUNDING_STEPS`
    above it; None where it is none."""
    for step in ROUNDING_STEPS:
        if amount % step == 0 and amount - step < total < amount:
            return step
    return None


def _all_paid(lines: Sequence[ProposalLine]) -> bool:
    """Every invoice of the lines is paid something (a write-off taken from one can leave it nothing, or less)."""
    return all(ln.amount > 0 for ln in lines if ln.kind == "payment")


def _round_fee(short: Decimal) -> bool:
    """Banks charge whole or half units (2.50, 5.00, 7.50, 15.00), not 6.91."""
    return (short * 2) == (short * 2).to_integral_value()


def _children(book: OpenItems) -> dict[str, list[str]]:
    """Each customer's subsidiaries, and the customers it was learned to pay for (``CustomerView.paid_by``)."""
    out: dict[str, list[str]] = defaultdict(list)
    for c in book.customers.values():
        if c.parent_id:
            out[c.parent_id].append(c.id)
        for payer in c.paid_by:
            out[payer].append(c.id)
    return out
