"""Cash application: proposals from matcher plugins, decided into allocations.

Matchers (``hub_register_matchers``) look at one receipt and the book of open items and return
:class:`MatchProposal` objects: which invoices, how much each, how confident, and why. The engine
decides: ``auto`` when the best proposal clears ``auto_threshold``, no other proposal comes close,
and every line still fits the invoice's open amount; otherwise the top proposals above
``suggest_threshold`` become ``suggested`` allocations for finance to confirm. An amount is never
claimed twice: the book tracks what this run and earlier decisions already allocated.

Runs are idempotent and incremental: a receipt is considered while it has no live allocation,
and again only after invoices changed since it was last looked at.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import math
import pickle
import tempfile
import time
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa

from hub.errors import MatchError
from hub.fx import Rates
from hub.i18n import messages_json
from hub.log import get_logger
from hub.names import letters_and_digits, normalise_account, paid_for_another
from hub.recon.advice import AdviceView, advice_links
from hub.recon.matching import DEFAULT_FEE_CEILING, LUMP_SUM_STEP, Combiner, EvidenceMatcher, Found
from hub.recon.types import (
    LIVE,
    ZERO,
    CustomerView,
    Decision,
    Matcher,
    MatchProposal,
    OpenInvoice,
    OpenItems,
    ReceiptView,
    ReconcileStats,
    additional_texts,
    fits,
)
from hub.store import SQLITE_CACHE_KIB, Store, schema, utcnow
from hub.store.bulk import BulkWriter, key_in
from hub.store.locks import transaction_lock
from hub.store.messages import save_keys
from hub.store.money import money_sum
from hub.store.schema import from_micros, micros_of

log = get_logger(__name__)


def decide(
    receipt: ReceiptView,
    proposals: Sequence[MatchProposal],
    book: OpenItems,
    *,
    auto_threshold: float,
    suggest_threshold: float,
    margin: float = 2.0,
    max_suggestions: int = 3,
) -> Decision:
    """Pick the outcome for one receipt. Pure: it does not change ``book``.

    ``margin`` is in log-odds: the best proposal must beat the next by that much (2.0: it is at
    least e^2, about 7 times, as likely) to be automatic; compared as probabilities, 0.999 and
    0.99 would look alike although one is ten times as likely to be wrong as the other.
    """
    unique: dict[Any, MatchProposal] = {}
    for p in proposals:
        if (
            not p.lines
            or p.total <= 0
            or p.total > receipt.amount + sum((ln.amount for ln in p.lines if ln.kind == "write_off"), ZERO)
        ):
            continue
        if any(book.invoices[ln.invoice_id].currency != receipt.currency for ln in p.lines):
            continue
        # Of two proposals of the same lines (found by two paths: the references named, a set of the
        # customer's), one that may be automatic and clears the threshold counts, whatever the other's
        # confidence: the other path's doubt (a set that could be a coincidence) is answered by it.
        k = p.key()
        if k not in unique or _rank(unique[k], auto_threshold) < _rank(p, auto_threshold):
            unique[k] = p
    ranked = sorted(unique.values(), key=lambda p: (-p.confidence, -p.total))
    if not ranked:
        return Decision("open", [])
    best = ranked[0]
    applied = _applied(best)
    floor = _logit(best.confidence) - margin
    close = [p for p in ranked[1:] if _logit(p.confidence) > floor]
    if not best.automatic or any(_applied(p) == applied for p in close):
        # Readings that apply the money alike and differ only in what they write off (a shortfall read
        # as a bank fee, or left open), or doubt the write-off: where the money goes is not in doubt, the
        # write-off is. The reading that writes nothing off is taken, and the shortfall stays open for a
        # person; readings that put the money elsewhere are its rivals. Without such a reading, a person
        # decides.
        plain = [
            p
            for p in ranked
            if p.automatic and all(ln.kind != "write_off" for ln in p.lines) and _applied(p) == applied
        ]
        if plain:
            best = plain[0]
            floor = _logit(best.confidence) - margin
            close = [p for p in ranked if _applied(p) != applied and _logit(p.confidence) > floor]
    per_invoice: dict[int, Decimal] = defaultdict(Decimal)
    for ln in best.lines:  # a payment and a write-off on one invoice take from the same open amount
        per_invoice[ln.invoice_id] += ln.amount
    fit = all(fits(amount, book.remaining(invoice_id)) for invoice_id, amount in per_invoice.items())
    clear = not close
    if best.confidence >= auto_threshold and fit and clear and best.automatic:
        return Decision("auto", [best])
    shown = [p for p in ranked if p.confidence >= suggest_threshold][:max_suggestions]
    return Decision("suggested", shown) if shown else Decision("open", [])


def _applied(p: MatchProposal) -> frozenset[tuple[int, Decimal]]:
    """What a proposal applies to each invoice, its write-offs left out."""
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for ln in p.lines:
        if ln.kind != "write_off":
            paid[ln.invoice_id] += ln.amount
    return frozenset(paid.items())


def _rank(p: MatchProposal, auto_threshold: float) -> tuple[bool, float]:
    return (p.automatic and p.confidence >= auto_threshold, p.confidence)


def _raw_rows(conn: sa.Connection, query: sa.Select[Any]) -> Iterator[tuple[Any, ...]]:
    """A query's rows as the driver returns them (money in millionths, SQLite dates as text), in
    blocks: for a million open invoices SQLAlchemy's row objects cost more than the query."""
    compiled = query.compile(dialect=conn.dialect)
    params: Any = compiled.params
    if compiled.positiontup is not None:
        params = tuple(compiled.params[name] for name in compiled.positiontup)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        while block := cursor.fetchmany(20_000):
            yield from block
    finally:
        cursor.close()


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for a run, back on after (reference counting still frees)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def lean_page_cache(conn: sa.Connection) -> Iterator[sa.Connection]:
    """SQLite's page cache kept to its default 2 MB while a run reads (back to the store's after): the
    book is read once, and a connection's 64 MB of cached invoice pages stayed in memory beside it
    for the whole run."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA cache_size=-2000")
    try:
        yield conn
    finally:
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def live_allocated(conn: sa.Connection) -> dict[int, Decimal]:
    """What live (automatic and confirmed) allocations have taken off each invoice."""
    alloc = schema.allocation
    return dict(
        conn.execute(
            sa.select(alloc.c.invoice_id, money_sum(alloc.c.amount))
            .where(alloc.c.status.in_(LIVE))
            .group_by(alloc.c.invoice_id)
        ).all()
    )


FEE_METHODS = (
    "reference+fee",
    "amount+fee",
    "reference+discount+fee",
    "amount+discount+fee",
    "reference+subset",
    "amount+subset",
    "amount+run+fee",
)
"""Proposals whose (last) write-off is a bank fee: a discount with a fee besides writes off the discount
first; a discount's own write-off is not learned (a payer's rate is in its text and its terms)."""


def learned_fees(
    conn: sa.Connection, canonical: dict[tuple[str, str], str]
) -> dict[str, tuple[tuple[str, Decimal, int], ...]]:
    """Per customer, the bank fees its payments were short by in live (automatic and confirmed) fee
    matches: (currency, size, how many matches), each size counted only from matches decided after
    finance last told the hub to forget it (``customer_alias`` kind ``forget-fee``)."""
    a, i, alias = schema.allocation, schema.invoice, schema.customer_alias
    forgotten: dict[tuple[str, Decimal], Any] = {}
    for cid, value, at in conn.execute(
        sa.select(alias.c.customer_id, alias.c.value, alias.c.created_at).where(alias.c.kind == "forget-fee")
    ):
        key = (cid, Decimal(value))
        forgotten[key] = max(forgotten.get(key, at), at)
    fee_of: dict[int, tuple[str, str, Decimal, Any]] = {}  # per receipt: its last write-off is the fee
    for rid, amount, at, source, ext, ccy in conn.execute(
        sa.select(a.c.receipt_id, a.c.amount, a.c.decided_at, i.c.source, i.c.customer_external_id, i.c.currency)
        .join(i, i.c.id == a.c.invoice_id)
        .where(a.c.kind == "write_off", a.c.status.in_(LIVE), a.c.method.in_(FEE_METHODS))
        .order_by(a.c.receipt_id, a.c.id)
    ):
        fee_of[rid] = (canonical.get((source, ext)) or f"{source}:{ext}", ccy, amount, at)
    counts: dict[tuple[str, str, Decimal], int] = defaultdict(int)
    for cid, ccy, amount, at in fee_of.values():
        since = forgotten.get((cid, amount))
        if since is not None and _naive(at) <= _naive(since):
            continue
        counts[cid, ccy, amount] += 1
    out: dict[str, list[tuple[str, Decimal, int]]] = defaultdict(list)
    for (cid, ccy, amount), n in sorted(counts.items()):
        out[cid].append((ccy, amount, n))
    return {cid: tuple(v) for cid, v in out.items()}


WRITTEN_SAMPLES = 20
"""Invoices per customer whose confirmed payments a run reads for how its payers write invoice numbers: the
latest, enough to show a habit, few enough to read for every customer at each run."""


def learned_writing(
    conn: sa.Connection, canonical: dict[tuple[str, str], str]
) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Per customer, how its invoice numbers were written in the payments finance confirmed for them (status
    ``confirmed``, by hand; automatic matches were read already), where not in full: (the invoice's number, the
    payment's texts) among its latest :data:`WRITTEN_SAMPLES` invoices so paid, each counted only where
    confirmed after finance last told the hub to forget them (``customer_alias`` kind ``forget-numbers``).
    ``CustomerView.written``."""
    a, i, r, alias = schema.allocation, schema.invoice, schema.receipt, schema.customer_alias
    forgotten: dict[str, Any] = {}
    for cid, at in conn.execute(
        sa.select(alias.c.customer_id, alias.c.created_at).where(alias.c.kind == "forget-numbers")
    ):
        forgotten[cid] = max(forgotten.get(cid, at), at)
    # The latest per customer picked in the database: a hub confirms payments for years.
    latest = sa.func.row_number().over(
        partition_by=(i.c.source, i.c.customer_external_id), order_by=(a.c.decided_at.desc(), a.c.id.desc())
    )
    ranked = (
        sa.select(
            i.c.number,
            i.c.source,
            i.c.customer_external_id,
            a.c.decided_at,
            r.c.remittance,
            r.c.additional_remittance,
            r.c.additional_tx_info,
            r.c.additional_entry_info,
            latest.label("latest"),
        )
        .join(i, i.c.id == a.c.invoice_id)
        .join(r, r.c.id == a.c.receipt_id)
        .where(a.c.status == "confirmed", a.c.kind == "payment")
        .subquery()
    )
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    rows = conn.execute(
        sa.select(*(c for c in ranked.c if c.name != "latest"))
        .where(ranked.c.latest <= WRITTEN_SAMPLES)
        .order_by(ranked.c.decided_at.desc())
    )
    for number, source, ext, at, remittance, more, tx_info, entry_info in rows:
        cid = canonical.get((source, ext)) or f"{source}:{ext}"
        since = forgotten.get(cid)
        if since is not None and _naive(at) <= _naive(since):
            continue
        texts = (*((remittance,) if remittance else ()), *additional_texts(more, tx_info, entry_info))
        if texts and letters_and_digits(number) not in letters_and_digits(" ".join(texts)):
            out[cid].append((number, texts))  # written otherwise than in full: a habit to learn, perhaps
    return {cid: tuple(v) for cid, v in out.items()}


def _naive(at: Any) -> Any:
    """Timestamps compared as UTC wall time (SQLite returns them without a zone)."""
    return at.replace(tzinfo=None) if isinstance(at, dt.datetime) else at


def lock_allocations(conn: sa.Connection) -> None:
    """Take the allocation write lock for the caller's transaction: every writer of live
    allocations (reconcile, a person confirming a match) holds it while it checks and writes."""
    transaction_lock(conn, "allocations")


def _chunked(ids: Sequence[int], size: int = 5000) -> Iterator[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


class ReconcileEngine:
    def __init__(
        self,
        store: Store,
        matchers: Sequence[Matcher],
        *,
        auto_threshold: float = 0.95,
        suggest_threshold: float = 0.3,
        margin: float = 2.0,
        fee_tolerance: Decimal = DEFAULT_FEE_CEILING,
        max_subset_size: int = 20,
        subset_budget: int = 20_000,
        hook: Any = None,
        block: int = 5_000,
        partitions: int = 1,
        fx: tuple[str, dict[str, Decimal]] | None = None,
    ) -> None:
        self.store = store
        self.fx = fx
        """The ``[fx]`` base currency and rates: ``fee_tolerance`` is in the base currency and converted
        to each receipt's by its rate (a rate synced from a source wins, as for exposure)."""
        self.partitions = max(int(partitions), 1)
        """Partitions of the receipts a run decides, each against the book as the run found it (:meth:`run`)."""
        self.block = max(int(block), 1)
        """Receipts read and decided at a time, their decisions held packed until the one write (:meth:`run`)."""
        self.evidence_matchers = sorted((m for m in matchers if isinstance(m, EvidenceMatcher)), key=lambda m: m.stage)
        self.matchers = [m for m in matchers if not isinstance(m, EvidenceMatcher)]
        self.combiner = Combiner(
            fee_tolerance=fee_tolerance,
            max_subset_size=max_subset_size,
            subset_budget=subset_budget,
            auto_logit=_logit(auto_threshold),
        )
        self.auto_threshold = auto_threshold
        self.suggest_threshold = suggest_threshold
        self.margin = margin
        self.hook = hook

    def fee_units(self, conn: sa.Connection) -> dict[str, Decimal]:
        """Units of each currency one unit of the base currency is worth, today: by these the fee
        ceiling is converted. A currency without a rate keeps the ceiling as it is."""
        if self.fx is None:
            return {}
        base, table = self.fx
        rates = Rates.load(conn, base, table, dt.date.today())
        units: dict[str, Decimal] = {}
        for currency in {*rates.table, *rates.sources}:
            rate = rates.to_base(currency)
            if rate:
                units[currency] = 1 / rate
        return units

    def load_book(self, conn: sa.Connection) -> OpenItems:
        inv, cust = schema.invoice, schema.customer
        allocated = live_allocated(conn)
        # Customers first (thousands), then invoices (up to millions) without a join, read as the
        # driver returns them: joining and converting in SQL and SQLAlchemy took twice as long.
        canonical = {
            (source, ext): cid
            for source, ext, cid in conn.execute(sa.select(cust.c.source, cust.c.external_id, cust.c.canonical_id))
        }
        query = sa.select(
            inv.c.id,
            inv.c.number,
            inv.c.source,
            inv.c.customer_external_id,
            inv.c.currency,
            inv.c.open_amount,
            inv.c.due_date,
            inv.c.po_number,
            inv.c.payment_reference,
            inv.c.issue_date,
        ).where(inv.c.status == "open", inv.c.open_amount != 0)  # open credit notes too: payers net them
        learned: dict[tuple[str, str], list[str]] = defaultdict(list)
        alias = schema.customer_alias
        rows = conn.execute(
            sa.select(cust.c.canonical_id, cust.c.legal_name, cust.c.aliases, cust.c.ibans, cust.c.parent_external_id)
        ).all()
        group = {cid: parent or cid for cid, _, _, _, parent in rows}
        taught = conn.execute(sa.select(alias.c.customer_id, alias.c.kind, alias.c.value)).all()
        # An account or name learned for customers of two groups is an intermediary's (a factor, a provider
        # paying for several): evidence for none of them. Within one group (a parent paying for its
        # subsidiaries) it stays, shared.
        groups: dict[tuple[str, str], set[str]] = defaultdict(set)
        for cid, kind, value in taught:
            groups[kind, value].add(group.get(cid, cid))
        for cid, kind, value in taught:
            if kind not in ("account", "name") or len(groups[kind, value]) == 1:
                learned[cid, kind].append(value)
        fees = learned_fees(conn, canonical)
        written = learned_writing(conn, canonical)
        # Customers finance confirmed paying for another put it in their group: where the master gives it none
        # (no parent, no subsidiaries), and where they are of one group (two groups paying for one customer
        # are an intermediary's work or a mistake, a group of neither).
        heads = {parent for *_, parent in rows if parent}

        def paid_by(cid: str, parent: str | None) -> tuple[str, ...]:
            payers = sorted({p for p in learned.get((cid, "payer"), ()) if p in group and p != cid})
            if not payers or parent or cid in heads or len({group[p] for p in payers}) != 1:
                return ()
            return tuple(payers)

        customers = [
            CustomerView(
                cid,
                name,
                (*(aliases or ()), *learned.get((cid, "name"), ())),
                (*(ibans or ()), *learned.get((cid, "account"), ())),
                parent,
                fees.get(cid, ()),
                paid_by=paid_by(cid, parent),
                written=written.get(cid, ()),
            )
            for cid, name, aliases, ibans, parent in rows
        ]
        # One object per currency, due date and amount, shared by the invoices that have it: the driver
        # returns a new one each row, and a million invoices have a few hundred due dates and (in the
        # generated books) 400,000 amounts. The lookups are dropped with the load.
        dates: dict[Any, Any] = {None: None}
        as_date = dt.date.fromisoformat if conn.dialect.name == "sqlite" else None
        currencies: dict[str, str] = {}
        amounts: dict[Any, Decimal] = {}
        # Read into the book's dict as the rows come (the customers are read first), not listed first.
        invoices = (
            OpenInvoice(
                iid,
                number,
                canonical.get((source, ext)) or f"{source}:{ext}",  # as schema.invoice_customer_id
                currencies.setdefault(currency, currency),
                amounts[micros] if micros in amounts else amounts.setdefault(micros, from_micros(micros_of(micros))),
                dates[due] if due in dates else dates.setdefault(due, as_date(due) if as_date is not None else due),
                po,
                ref,
                dates[issued]
                if issued in dates
                else dates.setdefault(issued, as_date(issued) if as_date is not None else issued),
            )
            for iid, number, source, ext, currency, micros, due, po, ref, issued in _raw_rows(conn, query)
        )
        return OpenItems(invoices, customers, allocated)

    @staticmethod
    def refused(conn: sa.Connection) -> dict[int, set[int]]:
        """Invoices finance rejected or unmatched, per receipt: never proposed for it again."""
        a = schema.allocation
        out: dict[int, set[int]] = defaultdict(set)
        for rid, iid in conn.execute(
            sa.select(a.c.receipt_id, a.c.invoice_id).where(a.c.status.in_(("rejected", "unmatched"))).distinct()
        ):
            out[rid].add(iid)
        return out

    def pending_receipts(self, conn: sa.Connection) -> list[ReceiptView]:
        """Receipts to (re)consider: open ones never looked at, and open or suggested ones looked
        at before the invoices last changed (a newly synced invoice may be the one they pay)."""
        return [view for view, _ in self._pending(conn)]

    def _pending(self, conn: sa.Connection) -> list[tuple[ReceiptView, tuple[str, Any]]]:
        """:meth:`pending_receipts`, each with the state it was read in (status, when last looked at)."""
        keys = self._pending_keys(conn)
        links = self.linked_advices(conn)
        views: dict[int, ReceiptView] = {}
        for chunk in _chunked([rid for rid, _ in keys]):
            views.update((view.id, view) for view in self._views(conn, chunk, links))
        return [(views[rid], seen) for rid, seen in keys]

    @staticmethod
    def _pending_keys(conn: sa.Connection, part: int = 1, parts: int = 1) -> list[tuple[int, tuple[str, Any]]]:
        """The ids of the receipts to (re)consider in booking order, each with the state it was read in
        (status, when last looked at): what a run holds of all of them (their texts are read per block).
        Only those of partition ``part`` of ``parts`` (:func:`partition_of`)."""
        r = schema.receipt
        # A receipt looked at before an invoice or a remittance advice came is looked at again: the new
        # invoice may be the one it pays, the advice may say what it pays.
        changed = [
            conn.execute(sa.select(sa.func.max(column))).scalar()
            for column in (schema.invoice.c.synced_at, schema.remittance_advice.c.imported_at)
        ]
        latest_invoice = max((at for at in changed if at is not None), default=None)
        cond = sa.and_(r.c.match_status == "open", r.c.reconciled_at.is_(None))
        if latest_invoice is not None:
            cond = sa.or_(
                cond,
                sa.and_(r.c.match_status.in_(("open", "suggested")), r.c.reconciled_at < latest_invoice),
            )
        where = (r.c.direction == "credit", r.c.reversal.is_(False), cond)
        if parts == 1:
            rows = conn.execute(
                sa.select(r.c.id, r.c.match_status, r.c.reconciled_at).where(*where).order_by(r.c.booking_date, r.c.id)
            )
            return [(rid, (status, seen)) for rid, status, seen in rows]
        payers = conn.execute(
            sa.select(r.c.id, r.c.match_status, r.c.reconciled_at, r.c.payer_account, r.c.payer_name)
            .where(*where)
            .order_by(r.c.booking_date, r.c.id)
        )
        return [
            (rid, (status, seen))
            for rid, status, seen, account, name in payers
            if partition_of(rid, account, name, parts) == part
        ]

    def advice_of(self, conn: sa.Connection, receipt_id: int) -> AdviceView | None:
        """The remittance advice a run would link to the receipt (:func:`advice_links`), if any."""
        return self.linked_advices(conn).get(receipt_id)

    def linked_advices(self, conn: sa.Connection) -> dict[int, AdviceView]:
        """The remittance advice a run would link to each receipt that has one (:func:`advice_links`)."""
        self.combiner.fee_units = self.fee_units(conn)
        return advice_links(conn, self.fee_ceiling)

    def fee_ceiling(self, currency: str) -> Decimal:
        """The bank-fee ceiling in ``currency``, as the combiner reads fees in it (the base currency's,
        converted where a rate is known)."""
        return self.combiner.in_currency(currency).fee_tolerance

    @staticmethod
    def _views(
        conn: sa.Connection, ids: Sequence[int], links: Mapping[int, AdviceView] | None = None
    ) -> list[ReceiptView]:
        """The receipts ``ids`` as matchers see them (in no particular order), each with the remittance
        advice ``links`` gives it."""
        advice = (links or {}).get
        r = schema.receipt
        rows = conn.execute(
            sa.select(
                r.c.id,
                r.c.bank_ref,
                r.c.amount,
                r.c.currency,
                r.c.booking_date,
                r.c.payer_name,
                r.c.payer_account,
                r.c.remittance,
                r.c.references,
                r.c.end_to_end_id,
                r.c.ultimate_payer_name,
                r.c.additional_remittance,
                r.c.additional_tx_info,
                r.c.additional_entry_info,
            ).where(r.c.id.in_(ids))
        )
        return [
            ReceiptView(
                rid,
                ref,
                amount,
                ccy,
                booked,
                payer,
                account,
                text,
                tuple(x.get("value", "") for x in (refs or []) if isinstance(x, dict)),
                e2e,
                ultimate,
                additional_texts(more, tx_info, entry_info),
                advice(rid),
            )
            for (
                rid,
                ref,
                amount,
                ccy,
                booked,
                payer,
                account,
                text,
                refs,
                e2e,
                ultimate,
                more,
                tx_info,
                entry_info,
            ) in rows
        ]

    def proposals(self, receipt: ReceiptView, book: OpenItems) -> list[MatchProposal]:
        """Every proposal for one receipt: the combiner's from the evidence matchers' clues, and
        those of matchers that propose directly."""
        out: list[MatchProposal] = []
        if self.evidence_matchers:
            found = Found()
            for em in self.evidence_matchers:
                for ev in em.evidence(receipt, book, found):
                    found.add(ev)
            out.extend(self.combiner.propose(receipt, book, found))
        for matcher in self.matchers:
            out.extend(matcher.propose(receipt, book))
        return out

    def _unrefused(self, receipt: ReceiptView, book: OpenItems, refused: dict[int, set[int]]) -> list[MatchProposal]:
        """:meth:`proposals` for ``receipt`` told the invoices finance refused for it (``refused``: per receipt),
        which the combiner leaves out of the customer's pool; any other matcher's proposal that takes one is
        dropped."""
        no = refused.get(receipt.id)
        if not no:
            return self.proposals(receipt, book)
        proposals = self.proposals(replace(receipt, refused=frozenset(no)), book)
        return [p for p in proposals if not any(ln.invoice_id in no for ln in p.lines)]

    def considered(self, receipt_id: int, limit: int = 3) -> list[MatchProposal]:
        """What the matchers weigh now for one receipt against the open book, best first (up to ``limit``,
        however unsure; a reading sure enough to be automatic alone): for finance asking why a receipt
        was left open, where a run stores only proposals at or above the suggestion threshold. Stores
        nothing; reads the whole book, as a run does."""
        with self.store.connect() as conn, lean_page_cache(conn):
            book = self.load_book(conn)
            views = self._views(conn, [receipt_id], self.linked_advices(conn))
            refused = self.refused(conn)
        if not views:
            return []
        (view,) = views
        proposals = self._unrefused(view, book, refused)
        return decide(
            view,
            proposals,
            book,
            auto_threshold=self.auto_threshold,
            suggest_threshold=0.0,
            margin=self.margin,
            max_suggestions=limit,
        ).proposals

    def run(self) -> ReconcileStats:
        """Decide every pending receipt and store the decisions.

        Reading and matching run without holding the write lock; the decisions are then written in
        one transaction that first checks, against the store as it is at that moment, that each
        receipt is still as it was read and that each automatic allocation still fits its invoices'
        open amounts (nothing else can allocate while it runs: the write lock on SQLite, an advisory
        lock on PostgreSQL, taken by every writer of allocations). A decision that no longer holds is
        dropped and its receipt left for the next run: an amount is never allocated twice.

        The receipts are read and decided ``block`` at a time (in booking order, each against the book
        as the receipts before it left it), and each block's allocation rows are held packed
        (pickled and compressed, in a temporary file) until the write: the whole run's decisions as objects, every
        proposal with its reasons, took more memory than the book (hundreds of MB at 200,000
        receipts), and so did the receipts read all at once.

        With ``partitions`` above one the receipts are split by payer (:func:`partition_of`) and each
        partition is decided against the book as the run found it, one after another here (a queued
        run decides them at once on several workers, :meth:`stage`); the write then takes the
        decisions in booking order, and an automatic one whose invoices another partition's receipt
        took first is left for the next run. The outcome is the same whichever runs the partitions.
        """
        started = time.perf_counter()
        stats = ReconcileStats()
        now = utcnow()
        # The collector is paused: a run holds millions of objects (the book and its indexes) and makes
        # no reference cycles, and every full collection would walk all of them again.
        with paused_gc(), _Spool() as packed:  # the rows, the larger part, wait on disk for the write
            packed_decided: list[bytes] = []
            seen: dict[int, tuple[str, Any]] = {}
            for part in range(1, self.partitions + 1):
                decided_blobs, states = self._match(packed, part, self.partitions)
                packed_decided.extend(decided_blobs)
                seen.update(states)
            decided: list[Decided] = [d for blob in packed_decided for d in _unpack(blob)]
            del packed_decided
            with self.store.begin() as conn:
                lock_allocations(conn)
                self._commit(conn, decided, seen, packed, stats, now)
        stats.seconds = time.perf_counter() - started
        log.info("reconcile.done", **stats.as_dict())
        if self.hook is not None:
            self.hook.hub_after_reconcile(stats=stats)
        return stats

    def _match(self, packed: _Spool, part: int = 1, parts: int = 1) -> tuple[list[bytes], dict[int, tuple[str, Any]]]:
        """Decide the pending receipts of partition ``part`` of ``parts`` against the book as it is now:
        each block's allocation rows go to ``packed``; returns each block's decisions packed, and the
        states the receipts were read in that are not a new receipt's (see :class:`_Pending`)."""
        with self.store.connect() as conn, lean_page_cache(conn):  # one snapshot on SQLite
            book = self.load_book(conn)
            links = self.linked_advices(conn)  # the fee units too, for the combiner
            pending = _Pending(self._pending_keys(conn, part, parts))
            refused = self.refused(conn)
        # Each block's decisions are held packed like its rows: as objects (a tuple per receipt, a
        # tuple and a Decimal per invoice an automatic one takes) they grew the run by about 50 MB
        # at 200,000 receipts, while the book and its indexes were still there.
        packed_decided: list[bytes] = []
        lessons = _RunFees(), _RunAccounts(book), _RunTakings(), _RunFronts()
        claims = _RunClaims()
        for first in range(0, len(pending), self.block):
            block = pending.ids[first : first + self.block].tolist()
            with self.store.connect() as conn, lean_page_cache(conn):
                views = {view.id: view for view in self._views(conn, block, links)}
            rows: list[tuple[Any, ...]] = []
            decided_here: list[Decided] = []
            for position, rid in enumerate(block, first):
                view = views.get(rid)
                if view is None:
                    continue  # gone meanwhile (a statement imported again): nothing to decide
                decision = self._decide(view, book, refused, _noted((*lessons, claims), view, position))
                decided_here.append(Decided(rid, decision.status, _wanted(decision)))
                rows.extend(_allocation_rows(rid, decision))
            packed.append(rows)
            packed_decided.append(_pack(decided_here))
            del views, rows, decided_here
        self._second_look(*lessons, book, refused, links, packed, packed_decided)
        # The book and its indexes (most of a run's memory) are freed on return, before the write.
        return packed_decided, pending.states

    def _commit(
        self,
        conn: sa.Connection,
        decided: Sequence[Decided],
        seen: dict[int, tuple[str, Any]],
        blocks: Iterable[Sequence[tuple[Any, ...]]],
        stats: ReconcileStats,
        now: Any,
    ) -> None:
        """Write the decisions that still hold (see :meth:`run`) in the caller's transaction, which holds
        the allocation lock (:func:`lock_allocations`): ``blocks`` yields their allocation rows a block at
        a time."""
        kept = self._still_valid(conn, decided, seen)
        stats.changed_meanwhile = len(decided) - len(kept)
        statuses = self._count(decided, kept, stats)
        self._supersede(conn, [d.receipt_id for d in decided if d.receipt_id in kept], now)
        stats.allocations = self._write(conn, blocks, kept, statuses, now)

    def stage(self, run_id: str, part: int, parts: int) -> ReconcileStats:
        """Decide partition ``part`` of ``parts`` (see :meth:`run`) and keep its decisions in the store
        for the run's :meth:`commit_staged`, replacing what an earlier try of the same partition kept:
        a queued run's partitions are decided at once by several workers, and written by one job.
        Nothing is allocated here. The counts returned are of the decisions kept for the write."""
        if not 1 <= part <= parts:
            raise MatchError(f"reconcile partition {part} of {parts} does not exist")
        started = time.perf_counter()
        stats = ReconcileStats()
        with paused_gc(), _Spool() as packed:
            decided_blobs, seen = self._match(packed, part, parts)
            now = utcnow()
            stage = schema.reconcile_stage
            with self.store.begin() as conn:
                conn.execute(stage.delete().where(stage.c.run_id == run_id, stage.c.part == part))
                for number, (rows, decided_blob) in enumerate(zip(packed, decided_blobs, strict=True)):
                    decided = _unpack(decided_blob)
                    self._count(decided, {d.receipt_id for d in decided}, stats)
                    conn.execute(
                        stage.insert().values(
                            run_id=run_id,
                            part=part,
                            parts=parts,
                            block=number,
                            decided=_to_stage([(*d, *seen.get(d.receipt_id, _Pending.NEW)) for d in decided]),
                            rows=_to_stage(rows),
                            created_at=now,
                        )
                    )
                save_keys(conn)  # the ids of the messages its reasons name: the write may run in another process
        stats.seconds = time.perf_counter() - started
        log.info("reconcile.staged", run_id=run_id, part=part, parts=parts, **stats.as_dict())
        return stats

    def commit_staged(self, run_id: str, parts: int) -> ReconcileStats:
        """Write the decisions every partition of run ``run_id`` kept (:meth:`stage`), in booking order,
        in one transaction that also removes them: run again after it committed, it finds nothing and
        writes nothing. A partition missing (its job never ran) is an error, and nothing is written."""
        started = time.perf_counter()
        stats = ReconcileStats()
        now = utcnow()
        stage = schema.reconcile_stage
        with paused_gc(), self.store.begin() as conn:
            lock_allocations(conn)  # before reading what is staged: two commits of one run wait for each other
            found = {
                (part, of)
                for part, of in conn.execute(
                    sa.select(stage.c.part, stage.c.parts).where(stage.c.run_id == run_id).distinct()
                )
            }
            if found:
                missing = sorted(set(range(1, parts + 1)) - {part for part, of in found if of == parts})
                if missing or len(found) != parts:
                    raise MatchError(
                        f"reconcile of run {run_id}: partitions {', '.join(map(str, missing)) or '?'} of {parts} "
                        "kept no decisions (their jobs did not finish); nothing was written"
                    )
                decided: list[Decided] = []
                seen: dict[int, tuple[str, Any]] = {}
                for (blob,) in conn.execute(
                    sa.select(stage.c.decided).where(stage.c.run_id == run_id).order_by(stage.c.part, stage.c.block)
                ):
                    for rid, status, wanted, seen_status, seen_at in _from_stage(blob):
                        decided.append(Decided(rid, status, tuple((i, Decimal(a)) for i, a in wanted)))
                        if (seen_status, seen_at) != _Pending.NEW:
                            seen[rid] = (seen_status, dt.datetime.fromisoformat(seen_at) if seen_at else seen_at)
                self._commit(conn, decided, seen, _staged_rows(conn, run_id), stats, now)
            else:
                log.info("reconcile.nothing_staged", run_id=run_id)  # written by an earlier try of this job
            # What this run kept, and what runs that never came to their write left a day or more ago.
            conn.execute(stage.delete().where(sa.or_(stage.c.run_id == run_id, stage.c.created_at < now - STAGE_KEPT)))
        stats.seconds = time.perf_counter() - started
        log.info("reconcile.done", run_id=run_id, parts=parts, **stats.as_dict())
        if self.hook is not None and found:
            self.hook.hub_after_reconcile(stats=stats)
        return stats

    def _second_look(
        self,
        fees: _RunFees,
        accounts: _RunAccounts,
        takings: _RunTakings,
        fronts: _RunFronts,
        book: OpenItems,
        refused: dict[int, set[int]],
        links: Mapping[int, AdviceView],
        packed: _Spool,
        packed_decided: list[bytes],
    ) -> None:
        """Decide again, at the end of a run's pass and in booking order, the receipts it left to finance
        that the pass taught something about: a fee size other payments of the same payer were short by
        (:class:`_RunFees`), the customer an unknown account paid named invoices of (:class:`_RunAccounts`),
        invoices of the customer a named payment was of that later payments took, and one of invoices alike a
        payment of their amount was of that a later payment named and took (:class:`_RunTakings`), and invoices
        older than a run proposed for a payment that later payments took or read (:class:`_RunFronts`).
        Only an automatic decision that owes itself to what was taught replaces the pass's, in its block
        (``packed``'s last ``len(packed_decided)`` blocks are this pass's), and takes from the book as the
        pass left it: one that writes off a taught fee size, one that the taught account made automatic,
        one that reads what the payment names, one that takes one of the invoices alike, or a run from the
        customer's oldest open invoices. Anything else
        stays as the pass decided it: a second look is not a second chance for a reading the lesson does not
        change (a set found by its amount that is the only one now that later receipts took the other's
        invoices may still be a coincidence)."""
        by_fee = fees.to_decide_again()
        by_account = accounts.to_decide_again(book)
        by_taking = takings.to_decide_again()
        by_alike = takings.alike_to_decide_again()
        by_front = fronts.to_decide_again()
        if not by_fee and not by_account and not by_taking and not by_alike and not by_front:
            return
        blocks: dict[int, list[int]] = defaultdict(list)
        positions = {
            **fees.positions(by_fee),
            **accounts.positions(by_account),
            **takings.positions(by_taking.keys() | by_alike.keys()),
            **fronts.positions(by_front),
        }
        for rid in sorted(positions, key=positions.__getitem__):
            blocks[positions[rid] // self.block].append(rid)
        offset = len(packed) - len(packed_decided)
        taken = 0
        for number, ids in sorted(blocks.items()):
            with self.store.connect() as conn, lean_page_cache(conn):
                views = {view.id: view for view in self._views(conn, ids, links)}
            redone: dict[int, Decision] = {}
            for rid in ids:
                view = views.get(rid)
                if view is None:
                    continue
                owed = False
                if rid in by_fee or rid in by_account:
                    with ExitStack() as taught:
                        if rid in by_fee:
                            taught.enter_context(fees.taught(book, rid, by_fee[rid]))
                        decision = self._decision(view, book, refused)
                        owed = rid in by_fee and fees.writes_off_taught(decision, view, book)
                        if rid in by_account and decision.status != "auto":
                            with accounts.taught(book, rid, by_account[rid]):
                                decision = self._decision(view, book, refused)
                            owed = accounts.pays_taught(decision, book, by_account[rid])
                if rid in by_taking and not (owed and decision.status == "auto"):
                    decision = self._decision(view, book, refused)
                    owed = takings.reads_its_words(decision, book, by_taking[rid])
                elif rid in by_alike and not (owed and decision.status == "auto"):
                    decision = self._decision(view, book, refused)
                    owed = takings.takes_one_alike(decision, by_alike[rid])
                if rid in by_front and not (owed and decision.status == "auto"):
                    decision = self._decision(view, book, refused)
                    owed = fronts.runs_from_the_oldest(decision)
                if owed and decision.status == "auto":
                    redone[rid] = decision
                    _take(book, decision)
            if not redone:
                continue
            taken += len(redone)
            packed.amend(
                offset + number, {rid: list(_allocation_rows(rid, decision)) for rid, decision in redone.items()}
            )
            decided = [
                Decided(d.receipt_id, redone[d.receipt_id].status, _wanted(redone[d.receipt_id]))
                if d.receipt_id in redone
                else d
                for d in _unpack(packed_decided[number])
            ]
            packed_decided[number] = _pack(decided)  # in booking order, as the write takes them
        log.info(
            "reconcile.second_look",
            looked_at_again=len(
                by_fee.keys() | by_account.keys() | by_taking.keys() | by_alike.keys() | by_front.keys()
            ),
            now_automatic=taken,
        )

    def _decide(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        refused: dict[int, set[int]],
        note: _Note | None = None,
    ) -> Decision:
        """One receipt's decision; an automatic one is taken off ``book`` at once (the receipts after it
        see what it took). ``note`` is told the decision and every proposal made."""
        decision = self._decision(receipt, book, refused, note)
        _take(book, decision)
        return decision

    def _decision(
        self,
        receipt: ReceiptView,
        book: OpenItems,
        refused: dict[int, set[int]],
        note: _Note | None = None,
    ) -> Decision:
        """:meth:`_decide`'s decision, ``book`` left as it is."""
        proposals = self._unrefused(receipt, book, refused)
        decision = decide(
            receipt,
            proposals,
            book,
            auto_threshold=self.auto_threshold,
            suggest_threshold=self.suggest_threshold,
            margin=self.margin,
        )
        if note is not None:
            note(decision, proposals, book)
        return decision

    @staticmethod
    def _still_valid(conn: sa.Connection, decided: Sequence[Decided], seen: dict[int, tuple[str, Any]]) -> set[int]:
        """The receipts whose decisions still hold in the writing transaction (see :meth:`run`), taken in
        booking order (the partitions' decisions come one partition after another)."""
        r, a, inv = schema.receipt, schema.allocation, schema.invoice
        dialect = conn.dialect
        ids = [d.receipt_id for d in decided]
        now_seen: dict[int, tuple[str, Any]] = {}
        booked: dict[int, Any] = {}
        taken: set[int] = set()
        for chunk in _chunked(ids):
            for rid, status, at, day in conn.execute(
                sa.select(r.c.id, r.c.match_status, r.c.reconciled_at, r.c.booking_date).where(
                    key_in(dialect, r.c.id, "ids")
                ),
                {"ids": chunk},
            ):
                now_seen[rid] = (status, at)
                booked[rid] = day
            taken.update(
                conn.execute(
                    sa.select(a.c.receipt_id)
                    .where(key_in(dialect, a.c.receipt_id, "ids"), a.c.status.in_(LIVE))
                    .distinct(),
                    {"ids": chunk},
                ).scalars()
            )
        touched = sorted({invoice_id for d in decided for invoice_id, _ in d.wanted})
        live: dict[int, Decimal] = {}
        open_now: dict[int, Decimal] = {}
        for chunk in _chunked(touched):
            live.update(
                (invoice_id, amount)
                for invoice_id, amount in conn.execute(
                    sa.select(a.c.invoice_id, money_sum(a.c.amount))
                    .where(key_in(dialect, a.c.invoice_id, "ids"), a.c.status.in_(LIVE))
                    .group_by(a.c.invoice_id),
                    {"ids": chunk},
                )
            )
            open_now.update(
                (invoice_id, amount)
                for invoice_id, amount in conn.execute(
                    sa.select(inv.c.id, inv.c.open_amount).where(
                        key_in(dialect, inv.c.id, "ids"), inv.c.status == "open"
                    ),
                    {"ids": chunk},
                )
            )
        used: dict[int, Decimal] = defaultdict(Decimal)
        kept: set[int] = set()
        for d in sorted(decided, key=lambda d: (booked.get(d.receipt_id) or dt.date.max, d.receipt_id)):
            if now_seen.get(d.receipt_id) != seen.get(d.receipt_id, _Pending.NEW) or d.receipt_id in taken:
                continue  # matched, reopened or looked at by someone else meanwhile
            if d.status == "auto":
                if any(
                    invoice_id not in open_now
                    or not fits(used[invoice_id] + amount, open_now[invoice_id] - live.get(invoice_id, ZERO))
                    for invoice_id, amount in d.wanted
                ):
                    continue  # the invoice was allocated (or closed) by someone else meanwhile
                for invoice_id, amount in d.wanted:
                    used[invoice_id] += amount
            kept.add(d.receipt_id)
        return kept

    @staticmethod
    def _count(decided: Sequence[Decided], kept: set[int], stats: ReconcileStats) -> dict[str, list[int]]:
        """The receipt statuses the kept decisions write; counts them in ``stats``."""
        statuses: dict[str, list[int]] = defaultdict(list)
        for d in decided:
            if d.receipt_id not in kept:
                continue
            stats.considered += 1
            statuses["matched" if d.status == "auto" else d.status].append(d.receipt_id)
            if d.status == "auto":
                stats.auto += 1
            elif d.status == "suggested":
                stats.suggested += 1
            else:
                stats.unmatched += 1
        return statuses

    @staticmethod
    def _supersede(conn: sa.Connection, receipt_ids: list[int], now: Any) -> None:
        """Suggestions of receipts looked at again give way to this run's (kept, with an event)."""
        a, e = schema.allocation, schema.allocation_event
        for i in range(0, len(receipt_ids), 5000):
            chunk = receipt_ids[i : i + 5000]
            old = sa.select(a.c.id).where(key_in(conn.dialect, a.c.receipt_id, "ids"), a.c.status == "suggested")
            conn.execute(
                e.insert().from_select(
                    ["allocation_id", "status", "actor", "at", "note"],
                    sa.select(
                        a.c.id,
                        sa.literal("superseded"),
                        sa.literal("hub"),
                        sa.literal(now, type_=schema.TS),
                        sa.literal("looked at again after invoices changed"),
                    ).where(a.c.id.in_(old)),
                ),
                {"ids": chunk},
            )
            conn.execute(a.update().where(a.c.id.in_(old)).values(status="superseded", decided_at=now), {"ids": chunk})

    def _write(
        self,
        conn: sa.Connection,
        blocks: Iterable[Sequence[tuple[Any, ...]]],
        kept: set[int],
        statuses: dict[str, list[int]],
        now: Any,
    ) -> int:
        """Insert the kept receipts' allocation rows (``blocks`` yields them a block at a time), one event
        for each, and the receipts' statuses; returns how many allocations it wrote."""
        alloc, event = schema.allocation, schema.allocation_event
        # Through the bulk writer (several rows a statement on SQLite, COPY on PostgreSQL), each row's
        # values converted by the column types once: inserting dicts through SQLAlchemy spent more on its
        # per-row bookkeeping (and on converting the same timestamp twice a row) than the database did.
        writer = BulkWriter(conn.dialect, alloc, _ALLOCATION_COLUMNS, "insert")
        at = writer.db_value("created_at", now)
        order = [_ALLOCATION_COLUMNS.index(c) for c in writer.order]
        # Every id this run inserts is above this one: its events are found by the primary key's range,
        # not by a scan of every allocation ever written (the table grows by a run's rows each run).
        before = conn.execute(sa.select(sa.func.coalesce(sa.func.max(alloc.c.id), 0))).scalar_one()
        written = 0
        for block in blocks:
            # A proposal's lines share one reasons string (pickle keeps that): handed to the driver once.
            reasons_db: dict[int, Any] = {}
            rows = []
            for rid, invoice_id, amount, kind, method, confidence, status, rank, reasons in block:
                if rid not in kept:
                    continue
                said = reasons_db.get(id(reasons))
                if said is None:
                    said = reasons_db[id(reasons)] = (reasons, writer.db_json(reasons))
                values = (
                    rid,
                    invoice_id,
                    writer.db_value("amount", amount),
                    kind,
                    method,
                    confidence,
                    status,
                    rank,
                    said[1],
                    at,
                    "hub",
                    at,
                )
                rows.append(tuple([values[i] for i in order]))
            # In blocks: the driver's parameters for every allocation of a run at once took more memory
            # than the run's matching.
            for i in range(0, len(rows), 5000):
                writer.write(conn, rows[i : i + 5000])
            written += len(rows)
        save_keys(conn)  # the ids of the messages the reasons name by key, in the same transaction
        if written:
            # One event per new allocation, written set-wise: this run's rows carry its timestamp.
            conn.execute(
                event.insert().from_select(
                    ["allocation_id", "status", "actor", "at"],
                    sa.select(alloc.c.id, alloc.c.status, sa.literal("hub"), alloc.c.created_at).where(
                        alloc.c.id > before, alloc.c.created_at == now
                    ),
                )
            )
        r = schema.receipt
        for status, ids in statuses.items():
            for i in range(0, len(ids), 5000):
                conn.execute(
                    r.update()
                    .where(key_in(conn.dialect, r.c.id, "ids"))
                    .values(match_status=status, reconciled_at=now),
                    {"ids": ids[i : i + 5000]},
                )
        return written


#: The allocation columns a run writes, in the order :meth:`ReconcileEngine._write` builds them.
_ALLOCATION_COLUMNS = [
    "receipt_id",
    "invoice_id",
    "amount",
    "kind",
    "method",
    "confidence",
    "status",
    "rank",
    "reasons",
    "created_at",
    "decided_by",
    "decided_at",
]


def partition_of(receipt_id: int, payer_account: str | None, payer_name: str | None, parts: int) -> int:
    """The partition (1 to ``parts``) a receipt is decided in: by its payer's account, else its payer's
    name, else by itself. A payer's receipts, which compete for its invoices, are then decided one after
    another against one book, as in one process; receipts of different payers rarely take the same
    invoice, and where one does the write keeps the first in booking order (:meth:`ReconcileEngine.run`).
    CRC-32: the same partition in every process and on every machine (``hash()`` of a string is not)."""
    key = "".join((payer_account or "").split()).upper() or " ".join((payer_name or "").casefold().split())
    return zlib.crc32((key or f"#{receipt_id}").encode()) % parts + 1


class _Pending:
    """The receipts a run (re)considers, in booking order, each with the state it was read in (status,
    when last looked at), held compactly for the whole run: the ids in an array, and only the states
    that are not a new receipt's (open, never looked at). A list of a tuple of tuples per receipt, with
    the driver's string per status, took about 50 MB at 200,000 receipts beside the book."""

    NEW: tuple[str, Any] = ("open", None)

    def __init__(self, keys: Sequence[tuple[int, tuple[str, Any]]]) -> None:
        self.ids = array("q", (rid for rid, _ in keys))
        self.states = {rid: state for rid, state in keys if state != self.NEW}
        """The states the receipts were read in that are not a new receipt's, by receipt."""

    def __len__(self) -> int:
        return len(self.ids)


_Note = Callable[[Decision, Sequence[MatchProposal], OpenItems], None]
"""Told each receipt's decision, every proposal made for it and the book (see :class:`_RunFees`)."""


def _take(book: OpenItems, decision: Decision) -> None:
    """Take an automatic decision's lines off ``book``: the receipts decided after it see what it took."""
    if decision.status == "auto":
        for ln in decision.proposals[0].lines:
            book.allocate(ln.invoice_id, ln.amount)


class _Lesson:
    """What a run's pass learns for its second look: the receipts it left waiting, each with where in the pass
    it was decided (and what the lesson keeps of it)."""

    waiting: dict[int, tuple[int, Any]]

    def positions(self, receipts: Iterable[int]) -> dict[int, int]:
        """Where in the pass each of ``receipts`` (waiting ones) was decided."""
        return {rid: self.waiting[rid][0] for rid in receipts}


class _RunFees(_Lesson):
    """What a run's pass learns of the fees payers' banks deduct, for its second look.

    A receipt *points to* a fee size where its best reading (automatic or suggested) writes one off (its
    last write-off, as :func:`learned_fees` reads a live match). A size that other payments of the same
    payer in the run point to is what that payer's bank charges, as one learned from earlier matches
    would be: payment after payment the same tariff, which a coincidence rarely repeats to the cent.
    Receipts left to finance whose proposals were of such a payer are decided again with it
    (``CustomerView.fees_seen``), never counting their own reading.
    """

    def __init__(self) -> None:
        self.pointed: dict[tuple[str, str, Decimal], set[int]] = defaultdict(set)
        """(customer, currency, size): the receipts whose best reading writes it off."""
        self.waiting: dict[int, tuple[int, frozenset[str]]] = {}
        """Receipts not decided automatically: their position in the pass, the customers proposed."""
        self._by_customer: dict[str, list[tuple[str, Decimal, set[int]]]] | None = None

    def note(self, receipt: ReceiptView, position: int) -> _Note:
        def noted(decision: Decision, proposals: Sequence[MatchProposal], book: OpenItems) -> None:
            fee = _fee_of(decision, receipt, book)
            if fee is not None:
                self.pointed[fee].add(receipt.id)
            if decision.status != "auto":
                customers = frozenset(book.invoices[ln.invoice_id].customer_id for p in proposals for ln in p.lines)
                if customers:
                    self.waiting[receipt.id] = (position, customers)

        return noted

    def to_decide_again(self) -> dict[int, frozenset[str]]:
        """The waiting receipts some of whose customers other receipts pointed to a fee for: each with
        those customers."""
        pointers: dict[str, set[int]] = defaultdict(set)
        for (customer, _, _), rids in self.pointed.items():
            pointers[customer] |= rids
        out: dict[int, frozenset[str]] = {}
        for rid, (_, customers) in self.waiting.items():
            taught = frozenset(c for c in customers if pointers.get(c, set()) - {rid})
            if taught:
                out[rid] = taught
        return out

    def writes_off_taught(self, decision: Decision, receipt: ReceiptView, book: OpenItems) -> bool:
        """Whether ``decision``'s best reading writes off a size other receipts than ``receipt`` pointed to."""
        fee = _fee_of(decision, receipt, book)
        return fee is not None and bool(self.pointed.get(fee, set()) - {receipt.id})

    @contextmanager
    def taught(self, book: OpenItems, receipt_id: int, customers: Iterable[str]) -> Iterator[None]:
        """``book`` with ``customers`` knowing the fee sizes other receipts than ``receipt_id`` pointed to."""
        if self._by_customer is None:  # the pass is over: what it pointed to no longer changes
            self._by_customer = defaultdict(list)
            for (customer, ccy, size), rids in self.pointed.items():
                self._by_customer[customer].append((ccy, size, rids))
        before = {c: book.customers[c] for c in customers if c in book.customers}
        for c, view in before.items():
            sizes = tuple(
                (ccy, size, len(rids - {receipt_id}))
                for ccy, size, rids in self._by_customer.get(c, ())
                if rids - {receipt_id}
            )
            book.customers[c] = replace(view, fees_seen=sizes)
        try:
            yield
        finally:
            book.customers.update(before)


class _RunAccounts(_Lesson):
    """What a run's pass learns of the accounts payers pay from, for its second look.

    A receipt matched automatically to invoices of one customer from an account no customer is known to
    own *points* the account to that customer, as confirming the match would teach it
    (:meth:`hub.recon.MatchDesk.confirm`): unless the payer says it pays for someone else (a factor, a
    provider, a parent: :func:`hub.names.paid_for_another`). An account the run's payments pointed to
    customers of one group only is theirs; pointed to customers of two groups, it is an intermediary's,
    evidence for none. Receipts left to finance that were paid from such an account are decided again
    knowing it (``OpenItems.accounts_seen``).
    """

    def __init__(self, book: OpenItems) -> None:
        self._known = {normalise_account(a) for c in book.customers.values() for a in c.ibans if a}
        self.pointed: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        """Account: the customers payments from it were matched to automatically, with those payments."""
        self.waiting: dict[int, tuple[int, str]] = {}
        """Receipts from an unknown account not decided automatically: their position in the pass, the account."""

    def note(self, receipt: ReceiptView, position: int) -> _Note | None:
        account = normalise_account(receipt.payer_account) if receipt.payer_account else ""
        if not account or account in self._known:
            return None

        def noted(decision: Decision, proposals: Sequence[MatchProposal], book: OpenItems) -> None:
            if decision.status != "auto":
                self.waiting[receipt.id] = (position, account)
                return
            customers = {book.invoices[ln.invoice_id].customer_id for ln in decision.proposals[0].lines}
            texts = [t for t in (receipt.remittance, *receipt.additional) if t]
            if len(customers) == 1 and not paid_for_another(receipt.payer_name, receipt.ultimate_payer_name, texts):
                self.pointed[account][customers.pop()].add(receipt.id)

        return noted

    def to_decide_again(self, book: OpenItems) -> dict[int, str]:
        """The waiting receipts whose account other receipts pointed to customers of one group: each with
        its account."""
        out: dict[int, str] = {}
        for rid, (_, account) in self.waiting.items():
            pointers = self.pointed.get(account)
            if pointers and len({book.group(c) for c in pointers}) == 1:
                out[rid] = account
        return out

    def pays_taught(self, decision: Decision, book: OpenItems, account: str) -> bool:
        """Whether ``decision`` is automatic and pays invoices of the customers ``account`` was pointed to only."""
        pointers = self.pointed.get(account, {})
        return decision.status == "auto" and all(
            book.invoices[ln.invoice_id].customer_id in pointers for ln in decision.proposals[0].lines
        )

    @contextmanager
    def taught(self, book: OpenItems, receipt_id: int, account: str) -> Iterator[None]:
        """``book`` knowing whose invoices other payments than ``receipt_id`` from ``account`` paid."""
        before = book.accounts_seen
        book.accounts_seen = {
            account: {c: len(rids - {receipt_id}) for c, rids in self.pointed[account].items() if rids - {receipt_id}}
        }
        try:
            yield
        finally:
            book.accounts_seen = before


class _RunFronts(_Lesson):
    """What a run's pass took and read of a customer's invoices after it left a payment of the customer to finance,
    for its second look.

    A payment naming nothing whose amount a run of the customer's open invoices adds up to, but not a run from the
    oldest, may be one once later payments of the run took the older invoices (automatically) or read them as
    their own (a suggestion: :attr:`OpenItems.suggested`): the payer's payment run paid the oldest of those still
    unpaid, and the bank booked the payments in another order. Such a receipt (one a run of consecutive invoices
    was proposed for) is decided again against the book as the pass left it, and its new reading kept where it is
    automatic and a run from the oldest (``from_oldest``): a reading a prefix of a handful of orders makes, weighed
    as in the pass, where the set search would count millions of sets. Deciding it again at the end makes the
    outcome not depend on the order of the statement."""

    RUNS = frozenset({"amount+run"})

    def __init__(self) -> None:
        self.moved: dict[str, int] = {}
        """Customer: the last position in the pass at which a decision took (automatic) or read (its best
        suggestion) one of its invoices."""
        self.waiting: dict[int, tuple[int, frozenset[str]]] = {}
        """Payments not decided automatically that a run was proposed for: their position in the pass, the
        customers of those runs."""

    def note(self, receipt: ReceiptView, position: int) -> _Note:
        def noted(decision: Decision, proposals: Sequence[MatchProposal], book: OpenItems) -> None:
            if decision.status in ("auto", "suggested") and decision.proposals:
                for ln in decision.proposals[0].lines:
                    self.moved[book.invoices[ln.invoice_id].customer_id] = position
            if decision.status != "auto":
                customers = frozenset(
                    book.invoices[ln.invoice_id].customer_id
                    for p in proposals
                    if p.method in self.RUNS
                    for ln in p.lines
                )
                if customers:
                    self.waiting[receipt.id] = (position, customers)

        return noted

    def to_decide_again(self) -> dict[int, frozenset[str]]:
        """The waiting receipts some of whose customers' invoices a later decision of the pass took or read."""
        out: dict[int, frozenset[str]] = {}
        for rid, (position, customers) in self.waiting.items():
            moved = frozenset(c for c in customers if self.moved.get(c, -1) > position)
            if moved:
                out[rid] = moved
        return out

    @staticmethod
    def runs_from_the_oldest(decision: Decision) -> bool:
        """Whether ``decision`` is automatic and its reading a run from the customer's oldest open invoices."""
        return decision.status == "auto" and decision.proposals[0].from_oldest


class _RunTakings(_Lesson):
    """What a run's pass took from the book after it left a named payment to finance, for its second look.

    A payment that names invoices of a customer and was left to finance (the rest of it made up two ways, an
    invoice it does not name that may be in its overpayment, several invoices of its amount alike) may be
    decided by what later payments of the run took: one that named an invoice of one of the two ways paid
    it, so the payment did not. Such a receipt is decided again against the book as the pass left it, and
    its new reading kept where it is automatic and still reads the payment's own words (a ``reference``
    method, of the customers its proposals were of). A reading of the amount alone is not decided again,
    nor one whose rest is a set the amount alone picked (``found_by_amount``): a set or an invoice that is
    the only one left once another payment took its rival may still be a coincidence, as both may have
    been (the pass weighed it against the book it had). At 50,000 invoices such a rest took three unnamed
    invoices where the payment's own were one cut from its list and a credit note it netted.

    One reading of the amount alone is: a payment of the amount of several invoices alike, none named (two of
    500.00 from a customer's own account), once a later payment named one of them and took it. Had the pass
    met the later payment first, the one left would have been the only invoice of that amount, as any other,
    and taken: deciding it again at the end makes the outcome not depend on the order of the statement. It is
    kept where it is automatic and takes one of the invoices alike.
    """

    def __init__(self) -> None:
        self.taken: dict[str, int] = {}
        """Customer: the last position in the pass at which an automatic decision took one of its invoices."""
        self.taken_named: dict[int, int] = {}
        """Invoice of ``alike``'s: the position in the pass at which an automatic decision that names it took it
        (only those: a run takes hundreds of thousands of invoices)."""
        self.waiting: dict[int, tuple[int, frozenset[str]]] = {}
        """Named payments not decided automatically: their position in the pass, the customers proposed."""
        self.alike: dict[int, tuple[int, frozenset[int]]] = {}
        """Payments of the amount of several invoices alike, none named, not decided automatically: their
        position in the pass, those invoices."""
        self.alike_ids: set[int] = set()
        """Every invoice of ``alike``'s."""

    def note(self, receipt: ReceiptView, position: int) -> _Note:
        def noted(decision: Decision, proposals: Sequence[MatchProposal], book: OpenItems) -> None:
            if decision.status == "auto":
                best = decision.proposals[0]
                for ln in best.lines:
                    self.taken[book.invoices[ln.invoice_id].customer_id] = position
                    if (
                        ln.invoice_id in self.alike_ids
                        and best.method.startswith("reference")
                        and not best.found_by_amount
                    ):
                        self.taken_named[ln.invoice_id] = position
            elif any(p.method.startswith("reference") for p in proposals):
                customers = frozenset(book.invoices[ln.invoice_id].customer_id for p in proposals for ln in p.lines)
                self.waiting[receipt.id] = (position, customers)
            elif (alike := [p for p in proposals if p.method == "amount" and len(p.lines) == 1]) and len(alike) > 1:
                ids = frozenset(p.lines[0].invoice_id for p in alike)
                self.alike[receipt.id] = (position, ids)
                self.alike_ids.update(ids)

        return noted

    def to_decide_again(self) -> dict[int, frozenset[str]]:
        """The waiting receipts of whose customers a later decision of the pass took an invoice: each with
        the customers its proposals were of."""
        return {
            rid: customers
            for rid, (position, customers) in self.waiting.items()
            if any(self.taken.get(c, -1) > position for c in customers)
        }

    def alike_to_decide_again(self) -> dict[int, frozenset[int]]:
        """The payments of the amount of invoices alike one of which a later decision of the pass named and took:
        each with those invoices."""
        return {
            rid: ids
            for rid, (position, ids) in self.alike.items()
            if any(self.taken_named.get(i, -1) > position for i in ids)
        }

    def positions(self, receipts: Iterable[int]) -> dict[int, int]:
        """Where in the pass each of ``receipts`` (waiting ones, or payments of invoices alike) was decided."""
        return {rid: (self.waiting.get(rid) or self.alike[rid])[0] for rid in receipts}

    @staticmethod
    def takes_one_alike(decision: Decision, ids: frozenset[int]) -> bool:
        """Whether ``decision`` is automatic and takes one of the invoices alike ``ids`` for the amount alone."""
        best = decision.proposals[0] if decision.proposals else None
        return (
            decision.status == "auto"
            and best is not None
            and best.method == "amount"
            and len(best.lines) == 1
            and best.lines[0].invoice_id in ids
        )

    @staticmethod
    def reads_its_words(decision: Decision, book: OpenItems, customers: frozenset[str]) -> bool:
        """Whether ``decision`` is automatic, reads what the payment names (its rest no set the amount alone
        picked), and pays only ``customers``' invoices."""
        best = decision.proposals[0] if decision.proposals else None
        return (
            decision.status == "auto"
            and best is not None
            and best.method.startswith("reference")
            and not best.found_by_amount
            and all(book.invoices[ln.invoice_id].customer_id in customers for ln in best.lines)
        )


class _RunClaims:
    """The invoices payments of a run's pass read among their suggestions (:attr:`OpenItems.claimed`, which the
    combiner reads): a later payment of whole hundreds (:data:`hub.recon.matching.LUMP_SUM_STEP`) of exactly one's
    amount, naming nothing, is then not taken automatically (at 50,000 invoices a part payment of 50,000.00 took an
    invoice of that amount a group payment held). And those its best suggestion takes (:attr:`OpenItems.suggested`),
    which a later payment run from the oldest passes over."""

    def note(self, receipt: ReceiptView, position: int) -> _Note:
        def noted(decision: Decision, proposals: Sequence[MatchProposal], book: OpenItems) -> None:
            if decision.status == "suggested":
                for ln in decision.proposals[0].lines:
                    if ln.kind == "payment":
                        book.suggested.setdefault(ln.invoice_id, (receipt.id, receipt.bank_ref))
                # Only what a payment of whole hundreds could equal is kept: a run suggests sets of up to 20
                # invoices for thousands of receipts, and the rest of them no rule asks for.
                for p in decision.proposals:
                    for ln in p.lines:
                        if book.remaining(ln.invoice_id) % LUMP_SUM_STEP == 0:
                            book.claimed.setdefault(ln.invoice_id, (receipt.id, receipt.bank_ref))

        return noted


def _noted(
    lessons: Iterable[_RunFees | _RunAccounts | _RunTakings | _RunFronts | _RunClaims],
    receipt: ReceiptView,
    position: int,
) -> _Note:
    """One note telling each of ``lessons`` of the receipt at ``position`` in the pass."""
    notes = [n for lesson in lessons if (n := lesson.note(receipt, position)) is not None]

    def noted(decision: Decision, proposals: Sequence[MatchProposal], book: OpenItems) -> None:
        for note in notes:
            note(decision, proposals, book)

    return noted


def _fee_of(decision: Decision, receipt: ReceiptView, book: OpenItems) -> tuple[str, str, Decimal] | None:
    """The fee ``decision``'s best reading writes off, if it is a fee reading (its last write-off, as
    :func:`learned_fees` reads a live match): (customer, currency, size)."""
    if not decision.proposals or decision.proposals[0].method not in FEE_METHODS:
        return None
    offs = [ln for ln in decision.proposals[0].lines if ln.kind == "write_off"]
    if not offs:
        return None
    return book.invoices[offs[-1].invoice_id].customer_id, receipt.currency, offs[-1].amount


class Decided(NamedTuple):
    """What the writing transaction needs of one receipt's decision besides its rows: its status, and
    for an automatic one what it takes from each invoice."""

    receipt_id: int
    status: str
    wanted: tuple[tuple[int, Decimal], ...]


def _wanted(decision: Decision) -> tuple[tuple[int, Decimal], ...]:
    """What an automatic decision takes from each invoice (a payment and a write-off on one invoice
    take from the same open amount); nothing for the others."""
    if decision.status != "auto":
        return ()
    per_invoice: dict[int, Decimal] = defaultdict(Decimal)
    for ln in decision.proposals[0].lines:
        per_invoice[ln.invoice_id] += ln.amount
    return tuple(per_invoice.items())


def _allocation_rows(receipt_id: int, decision: Decision) -> Iterator[tuple[Any, ...]]:
    """The allocation rows of a decision: (receipt, invoice, amount, kind, method, confidence, status,
    rank, reasons), each proposal's lines with its rank.

    The reasons are the proposal's messages as JSON text (:func:`hub.i18n.messages_json`: each message's
    key and values, worked out once however many proposals name it), one string its lines share. Held as
    messages until the write, the blocks took 1.6 s to pickle and read back at 40,000 receipts against
    0.7 s as JSON text, more than serializing them costs here. Nothing is said in English during a run.
    """
    for rank, proposal in enumerate(decision.proposals, 1):
        reasons = messages_json(proposal.reasons)
        for ln in proposal.lines:
            yield (
                receipt_id,
                ln.invoice_id,
                ln.amount,
                ln.kind,
                proposal.method,
                proposal.confidence,
                decision.status,
                rank,
                reasons,
            )


#: How long decisions a queued run's partitions kept wait for their write before any later commit drops them.
STAGE_KEPT = dt.timedelta(days=1)


def _to_stage(items: Sequence[Any]) -> bytes:
    """A block's rows or decisions as the store keeps them between a partition's job and the write:
    JSON (amounts as decimal text, timestamps in ISO 8601), compressed. Not pickle: what another
    process reads back from the database must not be able to run code."""
    return zlib.compress(json.dumps(items, default=_stage_value, separators=(",", ":")).encode(), 1)


def _stage_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot keep {type(value).__name__} for the write")


def _from_stage(blob: bytes) -> list[Any]:
    items: list[Any] = json.loads(zlib.decompress(blob))
    return items


def _staged_rows(conn: sa.Connection, run_id: str) -> Iterator[list[tuple[Any, ...]]]:
    """The allocation rows a run's partitions kept, a block at a time (read as the write goes)."""
    stage = schema.reconcile_stage
    keys = conn.execute(
        sa.select(stage.c.part, stage.c.block).where(stage.c.run_id == run_id).order_by(stage.c.part, stage.c.block)
    ).all()
    for part, block in keys:
        blob = conn.execute(
            sa.select(stage.c.rows).where(stage.c.run_id == run_id, stage.c.part == part, stage.c.block == block)
        ).scalar_one()
        yield [
            (rid, iid, Decimal(amount), kind, method, confidence, status, rank, reasons)
            for rid, iid, amount, kind, method, confidence, status, rank, reasons in _from_stage(blob)
        ]


def _pack(rows: Sequence[Any]) -> bytes:
    """A block's allocation rows, held until the write: pickled and compressed, since the reasons are
    long, alike sentences (level 1: several times smaller, at hundreds of MB a second)."""
    return zlib.compress(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL), 1)


class _Spool:
    """Blocks of allocation rows kept packed in a private temporary file until the write, read back in the
    order written: a run's allocation rows, 32 MB packed at 200,000 receipts, were held in memory at the
    run's peak (the book and its indexes still there). Nothing else reads the file; it is gone when closed
    or when the process ends, as the blocks in memory were.

    A block's rows of a few receipts decided again (the run's second look) are kept apart in memory and
    take their place as the block is read back: unpacking and packing again every block such a receipt
    was in cost as much as packing the run's rows once."""

    def __init__(self) -> None:
        try:
            self._file = tempfile.TemporaryFile(prefix="hub-reconcile-")  # noqa: SIM115 (closed by __exit__)
        except OSError as exc:
            raise _no_room(exc) from exc
        self._starts = array("q")
        self._sizes = array("q")
        self._end = 0
        self._amended: dict[int, dict[int, list[tuple[Any, ...]]]] = {}

    def append(self, rows: Sequence[tuple[Any, ...]]) -> None:
        blob = _pack(rows)
        start = self._end
        try:
            self._file.seek(start)
            self._file.write(blob)
        except OSError as exc:
            raise _no_room(exc) from exc
        self._end += len(blob)
        self._starts.append(start)
        self._sizes.append(len(blob))

    def amend(self, index: int, receipts: Mapping[int, list[tuple[Any, ...]]]) -> None:
        """Block ``index``'s rows of each of ``receipts`` are now the ones given."""
        self._amended.setdefault(index, {}).update(receipts)

    def __len__(self) -> int:
        return len(self._sizes)

    def __iter__(self) -> Iterator[list[tuple[Any, ...]]]:
        """Each block's rows, amended."""
        self._file.flush()
        for index in range(len(self)):
            self._file.seek(self._starts[index])
            rows: list[tuple[Any, ...]] = _unpack(self._file.read(self._sizes[index]))
            amended = self._amended.get(index)
            if amended:
                rows = [row for row in rows if row[0] not in amended]
                for more in amended.values():
                    rows.extend(more)
            yield rows

    def __enter__(self) -> _Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def _no_room(exc: OSError) -> MatchError:
    return MatchError(
        f"reconcile could not keep its decisions in a temporary file in {tempfile.gettempdir()}: "
        f"{exc.strerror or exc} (TMPDIR names another folder); nothing was written"
    )


def _unpack(blob: bytes) -> list[Any]:
    # Only what _pack made in this process is unpickled: nothing read from outside.
    rows: list[Any] = pickle.loads(zlib.decompress(blob))
    return rows
