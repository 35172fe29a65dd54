"""What cash application works with: open items, receipts, proposals, matchers, run statistics.

The leaf of the ``hub.recon`` package: the engine, the evidence matchers and the match desk build
on these types, and matcher plugins see them (re-exported by :mod:`hub`).
"""

from __future__ import annotations

import abc
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from hub.i18n import Message
    from hub.recon.advice import AdviceView

LIVE = ("auto", "confirmed")  # allocations that reduce an invoice's open amount
APPLIED = ("payment", "credit_note")  # allocation kinds that make up a receipt's amount (not write-offs)
ZERO = Decimal(0)
#: The name of the evidence matcher that reads a linked remittance advice's documents (the built-in
#: ``advice`` matcher, exported as ``hub.ADVICE_MATCHER``): where it found every document, the combiner
#: reads no other invoice as named.
ADVICE_MATCHER = "advice"

TEXT_LIMIT = 140
"""Banks cut remittance texts at 140 characters (SEPA, camt ``Ustrd``): a text that long may have said
more, its last number may be the beginning of a longer one, and a list in it may go on."""


class OpenInvoice(NamedTuple):
    """An open invoice as matchers see it (a named tuple: a run holds up to millions of them, and a
    tuple is built several times faster than a frozen dataclass)."""

    id: int
    number: str
    customer_id: str
    currency: str
    open_amount: Decimal
    due_date: Any
    po_number: str | None
    payment_reference: str | None
    issue_date: Any = None
    """When it was issued (None where not known: its number tells the order it was issued in). A payment run
    that pays the oldest first may go by this date rather than the due date, where terms differ by invoice."""


@dataclass(frozen=True)
class CustomerView:
    id: str
    name: str
    aliases: tuple[str, ...]
    ibans: tuple[str, ...]
    parent_id: str | None
    fees: tuple[tuple[str, Decimal, int], ...] = ()
    """Bank fees learned for this payer: (currency, size, on how many live matches) of the write-offs of
    its automatic and confirmed fee matches, less what finance told the hub to forget."""
    fees_seen: tuple[tuple[str, Decimal, int], ...] = ()
    """Bank fees other payments of this payer read in the same run were short by: (currency, size, on how
    many of them), where that was their best reading (see ``ReconcileEngine``'s second look)."""
    paid_by: tuple[str, ...] = ()
    """Customers that paid this one's invoices from their own account, as finance confirmed (a parent, a
    sister company, a shared service centre the customer master does not record), all of one group, where
    the master gives this customer no group: it is in theirs, as a subsidiary is in its parent's."""
    written: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """How this customer's payers wrote its invoice numbers in payments finance confirmed (by hand, not the
    automatic ones, which were read already): (the invoice's number, the payment's texts), latest first, from
    matches confirmed after finance last told the hub to forget them. A matcher reads from them what the
    payer's habits are (the sequence number alone, say)."""


def additional_texts(more: Any, tx_info: str | None, entry_info: str | None) -> tuple[str, ...]:
    """A receipt's additional texts as :class:`ReceiptView` holds them (remittance lines, then the
    transaction's and the entry's information), each once."""
    texts = [str(t) for t in (more or ()) if t]
    texts.extend(t for t in (tx_info, entry_info) if t)
    return tuple(dict.fromkeys(texts))


@dataclass(frozen=True)
class ReceiptView:
    id: int
    bank_ref: str | None
    amount: Decimal
    currency: str
    booking_date: Any
    payer_name: str | None
    payer_account: str | None
    remittance: str | None
    references: tuple[str, ...]
    end_to_end_id: str | None
    ultimate_payer_name: str | None = None
    """The party the payment is made for (camt ``UltmtDbtr``), where a factor, a payment provider or a
    parent pays in its own name."""
    additional: tuple[str, ...] = ()
    """Every other text the bank gave: additional remittance lines, additional transaction and entry
    information (camt ``AddtlRmtInf``, ``AddtlTxInf``, ``AddtlNtryInf``; MT940 ``:86:`` subfields;
    BAI2 88 continuations), in that order."""
    advice: AdviceView | None = None
    """The remittance advice the payer sent apart for this payment, where one is linked
    (:mod:`hub.recon.advice`): the ``advice`` matcher reads its documents."""
    refused: frozenset[int] = frozenset()
    """Invoices finance rejected or unmatched for this receipt: never proposed for it again."""

    def cut_short(self) -> bool:
        """Whether the bank may have cut the payment's own text (:data:`TEXT_LIMIT`): what it lists may go on.
        One character short counts: a cut just after a separator ("..., 90000069, ") leaves a space as the
        last character, which the statement's reader strips."""
        return any(len(t) >= TEXT_LIMIT - 1 for t in (self.remittance, *self.additional) if t)

    def texts(self) -> list[str]:
        """Every free or structured text that may carry a reference: remittance, end-to-end id,
        structured references, the additional texts, then a linked advice's texts."""
        out = [t for t in (self.remittance, self.end_to_end_id) if t]
        out.extend(self.references)
        out.extend(t for t in self.additional if t)
        if self.advice is not None:
            out.extend(self.advice.texts)
        return out


@dataclass(frozen=True)
class ProposalLine:
    """One allocation line: ``payment`` (part of the receipt pays the invoice), ``write_off`` (a bank
    fee or discount written off the invoice) or ``credit_note`` (an open credit note the payer deducted,
    a negative amount that consumes the credit note's negative open amount). A receipt's amount is
    the sum of its payment and credit-note lines."""

    invoice_id: int
    amount: Decimal
    kind: str = "payment"


@dataclass
class MatchProposal:
    lines: list[ProposalLine]
    confidence: float
    method: str
    reasons: list[Message | str] = field(default_factory=list)
    """Why, one sentence each: a :class:`hub.i18n.Message` (the run stores it with its English text, and
    each reader sees it in their language) or an English sentence (a plugin's matcher may write one)."""
    automatic: bool = True
    """False for a proposal finance must always look at (an overpayment an invoice it does not name may be
    part of), whatever its confidence."""
    found_by_amount: bool = False
    """True where what it adds to the invoices the payment names (the rest of a list, credit notes it netted)
    is a set its amount alone picked among the customer's open items: such a set may be a coincidence
    however few others are left, so a run's second look does not take it (:class:`hub.recon.engine._RunTakings`)."""
    from_oldest: bool = False
    """True where its invoices (or those it adds to the ones named) are the customer's oldest open ones, the
    run a payment run pays: a run's second look takes it once later payments of the run took or read the
    invoices that were older (:class:`hub.recon.engine._RunFronts`)."""

    def key(self) -> tuple[tuple[int, Decimal, str], ...]:
        return tuple(sorted((ln.invoice_id, ln.amount, ln.kind) for ln in self.lines))

    def reason_texts(self, locale: str = "en") -> list[str]:
        """The reasons in ``locale`` (English by default); a plain sentence as it is."""
        return [reason if isinstance(reason, str) else reason.render(locale) for reason in self.reasons]

    @property
    def total(self) -> Decimal:
        return sum((ln.amount for ln in self.lines), ZERO)


def fits(amount: Decimal, remaining: Decimal) -> bool:
    """Whether an allocation of ``amount`` fits an item with ``remaining`` open: an invoice (positive)
    takes up to what is open, an open credit note (negative) gives up to its remaining credit, and
    neither takes an amount of the other sign."""
    return amount <= remaining if amount >= 0 else remaining <= amount


class _AmountHolders:
    """The open invoices of each amount, per currency, as the run began (an invoice paid in part during
    the run is not listed under what is left of it: a part payment is rarely automatic, and what is left
    is then found through the customer's other evidence). Held per currency, then per amount, with a
    bare id where one invoice has the amount (most do): a million invoices in a few tens of megabytes."""

    __slots__ = ("_ids",)

    def __init__(self, book: OpenItems) -> None:
        self._ids: dict[str, dict[Decimal, int | list[int]]] = defaultdict(dict)
        ids, invoices = self._ids, book.invoices
        for iid, left in book.open_amounts(invoices).items():  # what is open, in the book's order
            of = ids[invoices[iid].currency]
            if (got := of.setdefault(left, iid)) is not iid:
                if type(got) is int:
                    of[left] = [got, iid]
                else:
                    got.append(iid)  # type: ignore[union-attr]

    def ids(self, currency: str, amount: Decimal) -> Sequence[int]:
        """The invoices that had ``amount`` open in ``currency`` when the run began, in the book's order."""
        of = self._ids.get(currency)
        got = of.get(amount) if of is not None else None
        if got is None:
            return ()
        return (got,) if type(got) is int else got  # type: ignore[return-value]


class OpenItems:
    """The open invoices and customers a reconciliation run matches against.

    ``invoices`` holds open credit notes too (negative open amounts): a payer deducts them from the
    invoices it pays. ``open_amounts`` gives invoices only, ``open_credits`` credit notes only.

    ``remaining(invoice_id)`` is the open amount after every live allocation, including the ones
    this run has decided so far. ``index(name, build)`` memoises lookup structures so matchers
    share them instead of each scanning all invoices.
    """

    def __init__(
        self, invoices: Iterable[OpenInvoice], customers: Iterable[CustomerView], allocated: dict[int, Decimal]
    ) -> None:
        self.invoices: dict[int, OpenInvoice] = {inv.id: inv for inv in invoices}
        self.customers: dict[str, CustomerView] = {c.id: c for c in customers}
        self._allocated: dict[int, Decimal] = dict(allocated)
        self._indexes: dict[str, Any] = {}
        self.accounts_seen: dict[str, dict[str, int]] = {}
        """Payer accounts (normalised, :func:`hub.names.normalise_account`) no customer is known to own that
        other payments of the same run were paid from, where they named invoices of these customers and were
        matched automatically: customer -> how many such payments (set by ``ReconcileEngine``'s second look
        for the receipt it decides again; empty otherwise)."""
        self.claimed: dict[int, tuple[int, str | None]] = {}
        """Invoices open for whole hundreds that payments decided earlier in the run read among their suggestions:
        invoice -> the first such receipt's id and bank reference (set by ``ReconcileEngine`` as its pass goes;
        empty otherwise). A later payment of exactly such an invoice's amount that names nothing may not take it
        automatically."""
        self.suggested: dict[int, tuple[int, str | None]] = {}
        """Invoices the best reading of a payment decided earlier in the run takes, where that payment was left to
        finance: invoice -> the first such receipt's id and bank reference (set by ``ReconcileEngine`` as its pass
        goes; empty otherwise). A later payment run from the oldest passes over them, as it passes over an invoice
        paid in part: the payer's earlier payment is read as having paid them."""
        self.by_customer: dict[str, list[int]] = defaultdict(list)
        for inv in self.invoices.values():
            self.by_customer[inv.customer_id].append(inv.id)

    def group(self, customer_id: str) -> str:
        """A customer's group: its parent's id, or its own (a parent paying for its subsidiaries is one payer);
        of a customer others were learned to pay for (``CustomerView.paid_by``), theirs."""
        c = self.customers.get(customer_id)
        if c is None:
            return customer_id
        if c.parent_id:
            return c.parent_id
        if c.paid_by:
            payer = self.customers.get(c.paid_by[0])
            return payer.parent_id if payer is not None and payer.parent_id else c.paid_by[0]
        return customer_id

    def remaining(self, invoice_id: int) -> Decimal:
        taken = self._allocated.get(invoice_id)
        amount = self.invoices[invoice_id].open_amount
        return amount if taken is None else amount - taken

    def part_paid(self, invoice_id: int) -> bool:
        """Whether a live allocation (of an earlier run, or of this one so far) paid the invoice in part: what is
        left of it is still open. A part paid before the ERP's open amount was read is not known here."""
        taken = self._allocated.get(invoice_id)
        return taken is not None and 0 < taken < self.invoices[invoice_id].open_amount

    def open_amounts(self, invoice_ids: Iterable[int]) -> dict[int, Decimal]:
        """``remaining`` of each invoice that still has something open, in one pass (the matcher's
        hot loop: a large customer's pool is read for every receipt of it)."""
        taken, invoices = self._allocated, self.invoices
        out: dict[int, Decimal] = {}
        for i in invoice_ids:
            amount = invoices[i].open_amount
            t = taken.get(i)
            if t is not None:
                amount -= t
            if amount > 0:
                out[i] = amount
        return out

    def open_credits(self, invoice_ids: Iterable[int]) -> dict[int, Decimal]:
        """``remaining`` of each credit note among ``invoice_ids`` with credit still open (negative)."""
        out: dict[int, Decimal] = {}
        for i in invoice_ids:
            if self.invoices[i].open_amount < 0:
                amount = self.remaining(i)
                if amount < 0:
                    out[i] = amount
        return out

    def allocate(self, invoice_id: int, amount: Decimal) -> None:
        taken = self._allocated.get(invoice_id)
        # A first allocation keeps the amount's own object (often the invoice's open amount): a new
        # Decimal per invoice a run allocates grew a run of 200,000 receipts by about 20 MB.
        self._allocated[invoice_id] = amount if taken is None else taken + amount

    def of_amount(self, currency: str, amount: Decimal) -> Sequence[int]:
        """The invoices that had ``amount`` open in ``currency`` when the run began (book-wide, every
        customer's), in the book's order; what is open now is ``remaining``."""
        holders: _AmountHolders = self.index("matching:amount-holders", _AmountHolders)
        return holders.ids(currency, amount)

    def index(self, name: str, build: Callable[[OpenItems], Any]) -> Any:
        if name not in self._indexes:
            self._indexes[name] = build(self)
        return self._indexes[name]


class Matcher(abc.ABC):
    """A matching strategy; registered through ``hub_register_matchers``."""

    name: str = "matcher"

    @abc.abstractmethod
    def propose(self, receipt: ReceiptView, book: OpenItems) -> Sequence[MatchProposal]:
        """Return proposals for ``receipt`` (possibly none). Amounts must use ``book.remaining``."""


@dataclass
class ReconcileStats:
    considered: int = 0
    auto: int = 0
    suggested: int = 0
    unmatched: int = 0
    allocations: int = 0
    changed_meanwhile: int = 0
    """Receipts left for the next run: while this run decided them, someone else matched them, or
    allocated the invoices they were to pay (checked in the writing transaction)."""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Decision:
    """What the engine decided for one receipt: ``auto``, ``suggested`` or ``open``, with the proposals."""

    status: str
    proposals: list[MatchProposal]
