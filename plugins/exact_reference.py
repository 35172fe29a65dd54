"""Exact-reference matcher: an invoice number written in full in the payment, and the amount exact.

This is the rule ERPs apply today, made safe: every invoice number found in the remittance text,
the structured references or the end-to-end id counts (case and separators ignored), and the
proposal is certain only when the receipt pays exactly what those invoices still have open, in
their currency. Anything looser is a suggestion; smarter evidence comes from other matchers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hub import hookimpl
from hub.reconcile import Matcher, OpenItems, Proposal, ProposalLine, ReceiptView

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*[A-Za-z0-9]|[A-Za-z0-9]")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]")


def normalise(text: str) -> str:
    """Upper-case letters and digits only: ``inv-2026/0001`` -> ``INV20260001``."""
    return _SEPARATORS.sub("", text).upper()


def _number_index(book: OpenItems) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for inv in book.invoices.values():
        key = normalise(inv.number)
        if len(key) >= 4:
            index.setdefault(key, []).append(inv.id)
    return index


class ExactReferenceMatcher(Matcher):
    name = "exact-reference"

    def propose(self, receipt: ReceiptView, book: OpenItems) -> Sequence[Proposal]:
        index: dict[str, list[int]] = book.index("exact-reference:numbers", _number_index)
        found: dict[int, str] = {}
        for text in receipt.texts():
            for token in _TOKEN.findall(text):
                for invoice_id in index.get(normalise(token), ()):
                    found.setdefault(invoice_id, token)
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
