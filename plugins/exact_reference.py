"""Reference matcher: invoice numbers written in the payment, and the amount exact.

This is the rule ERPs apply today, made safer: every invoice number found in the remittance text,
the structured references or the end-to-end id counts, whatever its case and separators
(``INV-2026-000123``, ``inv 2026 000123``, ``INV2026000123``), and so does its digits-only form
(``2026000123``) when no other open invoice shares those digits. The proposal is certain only when
the receipt pays exactly what those invoices still have open, in their currency; anything looser
is a suggestion. Smarter evidence (customer identification, typos, subset sums) comes from other
matchers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hub import hookimpl
from hub.reconcile import Matcher, OpenItems, Proposal, ProposalLine, ReceiptView

_SEGMENTS = re.compile(r"[,;\n]+")
_WORDS = re.compile(r"[A-Za-z0-9]+(?:[\s\-/._]+[A-Za-z0-9]+)*")
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_DIGIT_RUN = re.compile(r"\d+")
MIN_KEY = 4


def normalise(text: str) -> str:
    """Upper-case letters and digits only: ``inv-2026/0001`` -> ``INV20260001``."""
    return _NOT_ALNUM.sub("", text).upper()


def _indexes(book: OpenItems) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Open invoices by normalised number, and by the digits of their number."""
    full: dict[str, list[int]] = {}
    digits: dict[str, list[int]] = {}
    for inv in book.invoices.values():
        key = normalise(inv.number)
        if len(key) >= MIN_KEY:
            full.setdefault(key, []).append(inv.id)
        only = "".join(_DIGIT_RUN.findall(inv.number))
        if len(only) >= MIN_KEY + 2:
            digits.setdefault(only, []).append(inv.id)
    return full, digits


def candidates(text: str) -> list[str]:
    """Normalised strings in ``text`` that may be invoice numbers: each comma-separated part with
    its separators removed, and the digit runs in it."""
    out: list[str] = []
    for segment in _SEGMENTS.split(text):
        for words in _WORDS.findall(segment):
            compact = normalise(words)
            out.append(compact)
            out.extend(_DIGIT_RUN.findall(compact))
            out.extend(normalise(w) for w in words.split())
    return out


class ExactReferenceMatcher(Matcher):
    name = "exact-reference"

    def propose(self, receipt: ReceiptView, book: OpenItems) -> Sequence[Proposal]:
        full, digits = book.index("exact-reference:numbers", _indexes)
        found: dict[int, str] = {}
        for text in receipt.texts():
            for key in candidates(text):
                ids = full.get(key)
                if ids is None:
                    by_digits = digits.get(key)
                    ids = by_digits if by_digits is not None and len(by_digits) == 1 else None
                for invoice_id in ids or ():
                    found.setdefault(invoice_id, key)
        if not found:
            return []
        lines = [ProposalLine(i, book.remaining(i)) for i in found if book.remaining(i) > 0]
        if not lines:
            return []
        numbers = ", ".join(book.invoices[ln.invoice_id].number for ln in lines)
        total = sum(ln.amount for ln in lines)
        same_currency = all(book.invoices[ln.invoice_id].currency == receipt.currency for ln in lines)
        if total == receipt.amount and same_currency:
            return [
                Proposal(
                    lines,
                    1.0,
                    self.name,
                    [
                        f"invoice number(s) {numbers} written in the payment",
                        f"amount {receipt.amount} {receipt.currency} equals their open total",
                    ],
                )
            ]
        if len(lines) == 1 and same_currency and lines[0].amount > receipt.amount:
            partial = [ProposalLine(lines[0].invoice_id, receipt.amount)]
            return [
                Proposal(
                    partial,
                    0.6,
                    self.name,
                    [
                        f"invoice number {numbers} written in the payment",
                        f"amount {receipt.amount} is less than its open {total}: partial payment?",
                    ],
                )
            ]
        return [
            Proposal(
                lines,
                0.5,
                self.name,
                [
                    f"invoice number(s) {numbers} written in the payment",
                    f"amount {receipt.amount} {receipt.currency} differs from their open total {total}",
                ],
            )
        ]


@hookimpl
def hub_register_matchers() -> list[Matcher]:
    return [ExactReferenceMatcher()]
