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

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from hub import Evidence, EvidenceMatcher, Found, Matcher, OpenItems, ReceiptView, hookimpl, name_keys, normalise_name

# -- payer account ---------------------------------------------------------------------------------

W_ACCOUNT = 5.0
W_ACCOUNT_SHARED = 2.5


def normalise_account(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def _accounts(book: OpenItems) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for c in book.customers.values():
        for iban in c.ibans:
            if iban:
                out[normalise_account(iban)].add(c.id)
    return out


class PayerAccountMatcher(EvidenceMatcher):
    name = "payer-account"
    stage = 0

    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        if not receipt.payer_account:
            return []
        owners = book.index("matching:accounts", _accounts).get(normalise_account(receipt.payer_account), ())
        weight = W_ACCOUNT if len(owners) == 1 else W_ACCOUNT_SHARED
        return [
            Evidence(
                "customer",
                cid,
                weight,
                f"payer account {receipt.payer_account} is {cid}'s"
                + ("" if len(owners) == 1 else f" (shared by {len(owners)} customers)"),
                self.name,
            )
            for cid in sorted(owners)
        ]


# -- payer name ------------------------------------------------------------------------------------

W_NAME = 4.5
MAX_NAME_OWNERS = 8
W_NAME_FUZZY = 2.5
FUZZY_CUTOFF = 90
TRUNCATIONS = (35, 70)  # SEPA and SWIFT name fields banks cut names to


class _Names:
    def __init__(self, book: OpenItems) -> None:
        self.exact: dict[str, set[str]] = defaultdict(set)
        self.by_first: dict[str, list[str]] = defaultdict(list)
        self.full: dict[str, list[tuple[str, str]]] = defaultdict(list)  # first word -> (lower name, id)
        self.seen: dict[str, list[Evidence]] = {}  # payer name -> its evidence, this run
        for c in book.customers.values():
            for name in (c.name, *c.aliases):
                if not name:
                    continue
                for key in name_keys(name):
                    if c.id not in self.exact[key]:
                        self.exact[key].add(c.id)
                        self.by_first[key.split()[0]].append(key)
                    self.full[key.split()[0]].append((name.casefold(), c.id))


class PayerNameMatcher(EvidenceMatcher):
    name = "payer-name"
    stage = 0

    def evidence(self, receipt: ReceiptView, book: OpenItems, found: Found) -> Iterable[Evidence]:
        payer = receipt.payer_name
        if not payer:
            return []
        names: _Names = book.index("matching:names", _Names)
        # The same payers pay again and again: their evidence is worked out once per run.
        cached = names.seen.get(payer)
        if cached is None:
            cached = names.seen[payer] = self._lookup(payer, names)
        return cached

    def _lookup(self, payer: str, names: _Names) -> list[Evidence]:
        keys = name_keys(payer)
        if not keys:
            return []
        owners = set().union(*(names.exact.get(k, set()) for k in keys))
        if owners:
            return self._evidence(owners, W_NAME, f"payer name {payer!r} is the customer's name")
        key = normalise_name(payer) or next(iter(keys))
        first = key.split()[0]
        if len(payer) in TRUNCATIONS:
            lowered = payer.casefold()
            cut = {cid for full, cid in names.full.get(first, ()) if full.startswith(lowered)}
            if cut:
                return self._evidence(cut, W_NAME, f"payer name {payer!r} is the customer's name cut at {len(payer)}")
        candidates = names.by_first.get(first, [])
        if not candidates:
            return []
        from rapidfuzz import fuzz, process  # here: the command line starts without it (once per payer name)

        best = process.extract(key, candidates, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF, limit=3)
        out: list[Evidence] = []
        for match, score, _ in best:
            out.extend(
                self._evidence(
                    names.exact[match], W_NAME_FUZZY, f"payer name {payer!r} is close to the customer's ({score:.0f}%)"
                )
            )
        return out

    def _evidence(self, owners: Iterable[str], weight: float, reason: str) -> list[Evidence]:
        owners = sorted(owners)
        if len(owners) > MAX_NAME_OWNERS:
            return []  # a name this common identifies nobody
        if len(owners) > 1:
            # A trading name several customers share says little about which one paid.
            weight -= 1.5 + 0.5 * min(len(owners) - 2, 4)
            reason += f" (shared by {len(owners)} customers)"
        return [Evidence("customer", cid, weight, reason, self.name) for cid in owners]


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
