"""What finance does with proposed matches: confirm, reject, unmatch, explain.

Every action is recorded twice: as an ``allocation_event`` per allocation it changes (status,
who, when, note) and as one ``audit_log`` entry. Allocations are never deleted: a status changes
and the event says why. Rules the desk enforces:

* an invoice is never allocated more than its open amount, and a receipt never more than its
  amount (write-offs aside), counting every live (automatic or confirmed) allocation;
* a rejected or unmatched pairing of receipt and invoice is not proposed again by ``hub
  reconcile`` (the receipt is looked at again, for other proposals);
* a confirmed match teaches the hub the payer's account and name as aliases of the customer
  (``customer_alias``), so the next payment from them is recognised; a fee it wrote off (as every
  live fee match does) is a size that payer's bank deducts, strong evidence next time;
* ``forget`` undoes what was learned about a customer (accounts, names, fee sizes), audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hub.errors import MatchError
from hub.i18n import DEFAULT_LOCALE, N_, Message, expand_stored, stored_english, stored_text
from hub.names import cut_at, name_keys, normalise_account, normalise_name, paid_for_another
from hub.recon.advice import AdviceView
from hub.recon.engine import FEE_METHODS, learned_fees, learned_writing, live_allocated, lock_allocations
from hub.recon.types import APPLIED, LIVE, MatchProposal, additional_texts, fits
from hub.store import Store, schema, utcnow
from hub.store.messages import load_keys
from hub.store.money import money_sum

ZERO = Decimal(0)
OPEN_PROPOSALS = ("auto", "suggested")

#: What each receipt field a matcher reads is called in ``hub matches explain``.
TEXT_LABELS = {
    "remittance": "remittance",
    "end_to_end_id": "end-to-end id",
    "references": "structured reference",
    "additional_remittance": "additional remittance",
    "additional_tx_info": "additional transaction information",
    "additional_entry_info": "additional entry information",
    "ultimate_payer_name": "ultimate payer",
}


def receipt_texts(receipt: Any) -> list[dict[str, str]]:
    """Every text of a stored receipt the matchers read, as ``{"field", "label", "text"}`` in the
    order they read them: what :meth:`ReceiptView.texts <hub.recon.types.ReceiptView.texts>` gives
    (remittance, end-to-end id, structured references, then the additional texts as the engine
    loads them: additional remittance lines, transaction information, entry information, each text
    once), then the ultimate payer. A structured reference's label names its type."""
    out: list[dict[str, str]] = []

    def add(name: str, text: Any, label: str | None = None) -> None:
        out.append({"field": name, "label": label or TEXT_LABELS[name], "text": str(text)})

    if receipt.remittance:
        add("remittance", receipt.remittance)
    if receipt.end_to_end_id:
        add("end_to_end_id", receipt.end_to_end_id)
    for ref in receipt.references or []:
        if isinstance(ref, dict) and ref.get("value"):
            kind = ref.get("type")
            add("references", ref["value"], f"{TEXT_LABELS['references']} ({kind})" if kind else None)
    seen: set[str] = set()
    additional = [("additional_remittance", t) for t in receipt.additional_remittance or [] if t]
    additional += [(name, getattr(receipt, name)) for name in ("additional_tx_info", "additional_entry_info")]
    for name, text in additional:
        if text and str(text) not in seen:
            seen.add(str(text))
            add(name, text)
    if receipt.ultimate_payer_name:
        add("ultimate_payer_name", receipt.ultimate_payer_name)
    return out


#: How a remittance advice was linked to its receipt, as ``explain`` labels it.
ADVICE_LINKED_BY = {
    "end_to_end_id": "by the payment's end-to-end id",
    "advice_number": "by its number written in the payment",
    "payer_amount": "by payer and amount",
}


def advice_texts(advice: AdviceView | None) -> list[dict[str, Any]]:
    """The texts of a linked remittance advice as :func:`receipt_texts` gives a receipt's: its free
    texts, then the documents it lists (each with the amount it says is paid), labelled with the
    advice's number, file, date and amount and how it was linked; each also carries those as data
    (``advice``) and whether it is a text of the advice or its documents (``part``)."""
    if advice is None:
        return []
    said = [f"remittance advice {advice.external_id}"]
    said += [x for x in (advice.file, str(advice.payment_date or "")) if x]
    if advice.amount is not None:
        said.append(f"{advice.amount} {advice.currency}")
    label = f"{', '.join(said)}; linked {ADVICE_LINKED_BY.get(advice.by, advice.by)}"
    # The parts of the label as data, for a reader that says them in its own language (the console).
    about = {
        "number": advice.external_id,
        "file": advice.file,
        "date": str(advice.payment_date) if advice.payment_date else None,
        "amount": str(advice.amount) if advice.amount is not None else None,
        "currency": advice.currency,
        "linked_by": advice.by,
    }
    out: list[dict[str, Any]] = [
        {"field": "advice", "label": label, "text": text, "part": "text", "advice": about} for text in advice.texts
    ]
    listed = ", ".join(f"{d.number} {d.amount}" if d.amount is not None else d.number for d in advice.documents)
    out.append(
        {"field": "advice", "label": f"{label}: documents", "text": listed, "part": "documents", "advice": about}
    )
    return out


@dataclass
class ActionResult:
    receipt_ref: str
    action: str
    changed: list[dict[str, Any]] = field(default_factory=list)  # allocation id, invoice, amount, status
    learned: list[dict[str, str]] = field(default_factory=list)  # customer, kind, value
    unapplied: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        return {
            "receipt_ref": self.receipt_ref,
            "action": self.action,
            "changed": self.changed,
            "learned": self.learned,
            "unapplied": str(self.unapplied),
        }


class MatchDesk:
    def __init__(
        self,
        store: Store,
        advice_of: Callable[[sa.Connection, int], AdviceView | None] | None = None,
        considered_of: Callable[[int], list[MatchProposal]] | None = None,
    ) -> None:
        """``advice_of(conn, receipt_id)``: the remittance advice a reconcile links to the receipt
        (:meth:`ReconcileEngine.advice_of <hub.recon.engine.ReconcileEngine.advice_of>`), which
        ``explain`` lists among the texts read. ``considered_of(receipt_id)``: what the matchers weigh
        now for an open receipt (:meth:`ReconcileEngine.considered
        <hub.recon.engine.ReconcileEngine.considered>`), which ``explain`` shows when asked."""
        self.store = store
        self.advice_of = advice_of
        self.considered_of = considered_of

    # -- lookups ------------------------------------------------------------------------------------

    @staticmethod
    def find_receipt(conn: sa.Connection, ref: str) -> Any:
        """The receipt a user names: its bank reference as exported, else its stable key."""
        r = schema.receipt
        rows = conn.execute(sa.select(r).where(r.c.bank_ref == ref)).all()
        if not rows:
            rows = conn.execute(sa.select(r).where(r.c.external_id == ref)).all()
        if not rows:
            raise MatchError(
                N_("no receipt %(ref)r (give the receipt_ref of 'hub matches list' or its key)"), values={"ref": ref}
            )
        if len(rows) > 1:
            keys = ", ".join(row.external_id for row in rows[:5])
            raise MatchError(
                N_("%(count)s receipts have the reference %(ref)r; name one by its key: %(keys)s"),
                values={"count": len(rows), "ref": ref, "keys": keys},
            )
        return rows[0]

    @staticmethod
    def _allocations(conn: sa.Connection, receipt_id: int, statuses: Sequence[str]) -> list[Any]:
        a, i = schema.allocation, schema.invoice
        return list(
            conn.execute(
                sa.select(a, i.c.number.label("invoice_number"), i.c.source.label("invoice_source"))
                .join(i, i.c.id == a.c.invoice_id)
                .where(a.c.receipt_id == receipt_id, a.c.status.in_(statuses))
                .order_by(a.c.rank, a.c.id)
            )
        )

    # -- actions ------------------------------------------------------------------------------------

    def confirm(self, ref: str, invoices: Sequence[str] = (), *, actor: str, note: str | None = None) -> ActionResult:
        """Confirm the proposal (or the named invoices) for a receipt."""
        now = utcnow()
        result = ActionResult(ref, "confirm")
        with self.store.begin() as conn:
            lock_allocations(conn)
            receipt = self.find_receipt(conn, ref)
            if receipt.direction != "credit":
                raise MatchError(
                    N_("receipt %(ref)s is a %(direction)s, not a customer payment"),
                    values={"ref": ref, "direction": receipt.direction},
                )
            current = self._allocations(conn, receipt.id, (*OPEN_PROPOSALS, "confirmed"))
            if invoices:
                chosen = self._chosen_by_numbers(conn, receipt, current, list(invoices), now, actor, result)
            else:
                chosen = self._chosen_proposal(ref, current)
            ids = {row.id for row in chosen}
            others = [row for row in current if row.id not in ids and row.status != "confirmed"]
            for row in others:
                self._set(
                    conn,
                    row,
                    "unmatched" if row.status == "auto" else "rejected",
                    actor,
                    now,
                    note or "another allocation was confirmed",
                    result,
                )
            self._check_fits(conn, receipt, chosen)
            for row in chosen:
                if row.status != "confirmed":
                    self._set(conn, row, "confirmed", actor, now, note, result)
            self._receipt_status(conn, receipt.id, "matched", now)
            result.learned = self._learn(conn, receipt, chosen, actor, now)
            paid = sum((row.amount for row in chosen if row.kind in APPLIED), ZERO)
            result.unapplied = receipt.amount - paid
            self.store.audit(
                conn,
                actor,
                "match.confirm",
                "receipt",
                receipt.external_id,
                ref=ref,
                invoices=[row.invoice_number for row in chosen],
                note=note,
                learned=result.learned,
            )
        return result

    def reject(self, ref: str, invoices: Sequence[str] = (), *, actor: str, note: str | None = None) -> ActionResult:
        """Reject proposals (all of the receipt's, or those naming the invoices); never proposed again."""
        now = utcnow()
        result = ActionResult(ref, "reject")
        with self.store.begin() as conn:
            lock_allocations(conn)
            receipt = self.find_receipt(conn, ref)
            rows = self._allocations(conn, receipt.id, OPEN_PROPOSALS)
            if invoices:
                # each name a number, or SOURCE:NUMBER for that source's invoice only (as when allocating)
                named = {name: [row for row in rows if name in _names_of(row)] for name in invoices}
                missing = {name for name, found in named.items() if not found}
                chosen = {id(row) for found in named.values() for row in found}
                rows = [row for row in rows if id(row) in chosen]
                if missing:
                    raise MatchError(
                        N_("receipt %(ref)s has no open proposal for %(invoices)s"),
                        values={"ref": ref, "invoices": ", ".join(sorted(missing))},
                    )
            if not rows:
                confirmed = self._allocations(conn, receipt.id, ("confirmed",))
                if confirmed:
                    raise MatchError(
                        N_(
                            "receipt %(ref)s has no open proposal to reject; it is confirmed: use 'hub matches unmatch'"
                        ),
                        values={"ref": ref},
                    )
                raise MatchError(N_("receipt %(ref)s has no open proposal to reject"), values={"ref": ref})
            for row in rows:
                self._set(conn, row, "rejected", actor, now, note, result)
            self._reopen_if_unallocated(conn, receipt.id)
            self.store.audit(
                conn,
                actor,
                "match.reject",
                "receipt",
                receipt.external_id,
                ref=ref,
                invoices=sorted({row.invoice_number for row in rows}),
                note=note,
            )
        return result

    def unmatch(self, ref: str, *, actor: str, note: str | None = None) -> ActionResult:
        """Undo a receipt's automatic or confirmed allocations; the invoices are open again."""
        now = utcnow()
        result = ActionResult(ref, "unmatch")
        with self.store.begin() as conn:
            lock_allocations(conn)
            receipt = self.find_receipt(conn, ref)
            rows = self._allocations(conn, receipt.id, LIVE)
            if not rows:
                raise MatchError(
                    N_("receipt %(ref)s has no automatic or confirmed allocation to undo"), values={"ref": ref}
                )
            for row in rows:
                self._set(conn, row, "unmatched", actor, now, note, result)
            self._reopen_if_unallocated(conn, receipt.id)
            self.store.audit(
                conn,
                actor,
                "match.unmatch",
                "receipt",
                receipt.external_id,
                ref=ref,
                invoices=[row.invoice_number for row in rows],
                note=note,
            )
        return result

    def explain(self, ref: str, *, locale: str = DEFAULT_LOCALE, considered: bool = False) -> dict[str, Any]:
        """The receipt, every allocation ever proposed for it with its reasons, and their history.

        ``receipt["texts"]`` is every text the matchers read, each with the field it came from
        (see :func:`receipt_texts`). The reasons are sentences in ``locale``: each stored message said in it
        (in English the sentence the command line, the API and an export always read; a row stored with
        its English beside the message, or as plain sentences before messages, shows that text).

        ``considered``: besides, under ``"considered"``, what the matchers weigh now for the receipt if it is
        open (:meth:`considered`), or None where it is not (what its allocations took is no longer open)."""
        say = stored_english if locale == DEFAULT_LOCALE else lambda item: stored_text(locale, item)
        e = schema.allocation_event
        with self.store.connect() as conn:
            receipt = self.find_receipt(conn, ref)
            advice = self.advice_of(conn, receipt.id) if self.advice_of is not None else None
            rows = self._allocations(
                conn, receipt.id, ("auto", "suggested", "confirmed", "rejected", "unmatched", "superseded")
            )
            ids = load_keys(conn) if rows else {}
            events: dict[int, list[dict[str, Any]]] = {}
            if rows:
                for ev in conn.execute(
                    sa.select(e).where(e.c.allocation_id.in_([row.id for row in rows])).order_by(e.c.at, e.c.id)
                ):
                    events.setdefault(ev.allocation_id, []).append(
                        {"status": ev.status, "actor": ev.actor, "at": ev.at, "note": ev.note}
                    )
        more: dict[str, Any] = {}
        if considered:
            more["considered"] = self.considered(receipt, locale) if receipt.match_status == "open" else None
        return {
            **more,
            "receipt": {
                "ref": ref,
                "key": receipt.external_id,
                "amount": str(receipt.amount),
                "currency": receipt.currency,
                "booking_date": receipt.booking_date,
                "direction": receipt.direction,
                "payer_name": receipt.payer_name,
                "payer_account": receipt.payer_account,
                "remittance": receipt.remittance,
                "references": [x.get("value") for x in (receipt.references or []) if isinstance(x, dict)],
                "match_status": receipt.match_status,
                "texts": receipt_texts(receipt) + advice_texts(advice),
            },
            "allocations": [
                {
                    "id": row.id,
                    "invoice": row.invoice_number,
                    "amount": str(row.amount),
                    "kind": row.kind,
                    "status": row.status,
                    "rank": row.rank,
                    "confidence": row.confidence,
                    "method": row.method,
                    "reasons": [say(expand_stored(item, ids)) for item in row.reasons or []],
                    "events": events.get(row.id, []),
                }
                for row in rows
            ],
        }

    def considered(self, receipt: Any, locale: str = DEFAULT_LOCALE) -> list[dict[str, Any]]:
        """What the matchers weigh now for an open ``receipt`` (a row of the receipt table), best first,
        however unsure, each proposal's lines and reasons said in ``locale``: nothing is stored."""
        if self.considered_of is None:
            return []
        proposals = self.considered_of(receipt.id)
        ids = {ln.invoice_id for p in proposals for ln in p.lines}
        i = schema.invoice
        with self.store.connect() as conn:
            query = (
                sa.select(i.c.id, i.c.number, schema.invoice_customer_id.label("customer_id"))
                .select_from(i.outerjoin(schema.customer, schema.invoice_customer))
                .where(i.c.id.in_(ids))
            )
            found = {row.id: (row.number, row.customer_id) for row in conn.execute(query)} if ids else {}
        return [
            {
                "lines": [
                    {
                        "invoice": found[ln.invoice_id][0],
                        "customer_id": found[ln.invoice_id][1],
                        "amount": str(ln.amount),
                        "kind": ln.kind,
                    }
                    for ln in p.lines
                ],
                "confidence": p.confidence,
                "method": p.method,
                "reasons": p.reason_texts(locale),
            }
            for p in proposals
        ]

    def rows(self, statuses: Sequence[str], *, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """Allocations with these statuses, by receipt and rank (up to ``limit``), and how many there are.

        Each row: ``receipt_ref`` (the bank reference, else the receipt's key), ``invoice_number``,
        ``amount``, ``currency``, ``kind`` (``payment``, ``write_off`` for a bank fee written
        off, or ``credit_note`` for a credit note deducted, a negative amount), ``status``,
        ``confidence`` and the invoice's canonical ``customer_id``.
        """
        a, r, i, c = schema.allocation, schema.receipt, schema.invoice, schema.customer
        customer = schema.invoice_customer_id
        joined = (
            a.join(r, r.c.id == a.c.receipt_id).join(i, i.c.id == a.c.invoice_id).outerjoin(c, schema.invoice_customer)
        )
        query = (
            sa.select(
                r.c.bank_ref,
                r.c.external_id,
                i.c.number,
                a.c.amount,
                i.c.currency,
                a.c.kind,
                a.c.status,
                a.c.confidence,
                customer,
            )
            .select_from(joined)
            .where(a.c.status.in_(statuses))
            .order_by(r.c.id, a.c.rank, a.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.store.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(a).where(a.c.status.in_(statuses))).scalar_one()
            found = [
                {
                    "receipt_ref": ref or ext,
                    "invoice_number": num,
                    "amount": amount,
                    "currency": ccy,
                    "kind": kind,
                    "status": status,
                    "confidence": conf,
                    "customer_id": cust,
                }
                for ref, ext, num, amount, ccy, kind, status, conf, cust in conn.execute(query)
            ]
        return found, int(total)

    # -- internals ----------------------------------------------------------------------------------

    @staticmethod
    def _chosen_proposal(ref: str, current: list[Any]) -> list[Any]:
        if any(row.status == "confirmed" for row in current):
            raise MatchError(
                N_("receipt %(ref)s is already confirmed; 'hub matches unmatch' it first to change it"),
                values={"ref": ref},
            )
        auto = [row for row in current if row.status == "auto"]
        if auto:
            return auto
        suggested = [row for row in current if row.status == "suggested"]
        if not suggested:
            raise MatchError(
                N_(
                    "nothing is proposed for receipt %(ref)s; name the invoices: hub matches confirm %(ref)s INVOICE..."
                ),
                values={"ref": ref},
            )
        best = min(row.rank for row in suggested)
        return [row for row in suggested if row.rank == best]

    def _chosen_by_numbers(
        self,
        conn: sa.Connection,
        receipt: Any,
        current: list[Any],
        numbers: list[str],
        now: dt.datetime,
        actor: str,
        result: ActionResult,
    ) -> list[Any]:
        """The proposal naming exactly these invoices, else new allocations of the receipt over them in order."""
        found = self._invoices_named(conn, receipt, current, numbers, None)
        wanted = {row.id for row in found.values()}
        by_rank: dict[tuple[str, int], list[Any]] = {}
        for row in current:
            by_rank.setdefault((row.status, row.rank), []).append(row)
        for rows in by_rank.values():
            if {row.invoice_id for row in rows if row.kind in APPLIED} == wanted:
                if any(row.status == "confirmed" for row in current) and rows[0].status != "confirmed":
                    raise MatchError(
                        N_("receipt %(ref)s is already confirmed; 'hub matches unmatch' it first"),
                        values={"ref": receipt.bank_ref or receipt.external_id},
                    )
                return rows
        if any(row.status == "confirmed" for row in current):
            raise MatchError(
                N_("receipt %(ref)s is already confirmed; 'hub matches unmatch' it first"),
                values={"ref": receipt.bank_ref or receipt.external_id},
            )
        live = live_allocated(conn)
        own: dict[int, Decimal] = {}  # this receipt's automatic lines, about to be replaced
        for row in current:
            if row.status == "auto":
                own[row.invoice_id] = own.get(row.invoice_id, ZERO) + row.amount
        left = receipt.amount
        a, e = schema.allocation, schema.allocation_event
        created = []
        # Credit notes named are deducted first (the payer paid the invoices less them), in full.
        for number in sorted(numbers, key=lambda n: found[n].open_amount >= 0):
            inv = found[number]
            if inv.currency != receipt.currency:
                raise MatchError(
                    N_("invoice %(number)s is in %(currency)s, the receipt in %(receipt_currency)s"),
                    values={"number": number, "currency": inv.currency, "receipt_currency": receipt.currency},
                )
            remaining = inv.open_amount - live.get(inv.id, ZERO) + own.get(inv.id, ZERO)
            if inv.open_amount < 0:
                if remaining >= 0:
                    raise MatchError(N_("credit note %(number)s has no credit left open"), values={"number": number})
                amount, kind = remaining, "credit_note"
            else:
                if remaining <= 0:
                    raise MatchError(N_("invoice %(number)s has nothing left open"), values={"number": number})
                if left <= 0:
                    raise MatchError(
                        N_("the receipt's %(amount)s is used up before invoice %(number)s"),
                        values={"amount": receipt.amount, "number": number},
                    )
                amount, kind = min(remaining, left), "payment"
            left -= amount
            inserted = conn.execute(
                a.insert().values(
                    receipt_id=receipt.id,
                    invoice_id=inv.id,
                    amount=amount,
                    kind=kind,
                    method="manual",
                    confidence=1.0,
                    status="suggested",
                    rank=0,
                    reasons=[Message(N_("named by %(actor)s"), actor=actor).to_json()],
                    created_at=now,
                    decided_by=actor,
                    decided_at=now,
                )
            ).inserted_primary_key
            assert inserted is not None
            new_id = inserted[0]
            conn.execute(
                e.insert().values(allocation_id=new_id, status="suggested", actor=actor, at=now, note="entered by hand")
            )
            created.append(new_id)
        return self._allocations_by_id(conn, created)

    def _invoices_named(
        self, conn: sa.Connection, receipt: Any, current: list[Any], names: list[str], customer: str | None
    ) -> dict[str, Any]:
        """The invoice each name finance gives means (``confirm`` and :class:`hub.allocate.HandDesk`):
        ``SOURCE:NUMBER`` that source's invoice, else the one invoice with that number (a name with a
        colon that no source qualifies is taken whole). Of several with the number, the one of the
        receipt's customer (``customer`` if the caller knows it; else the customer of the receipt's
        proposals, of the payer's account, of the payer's name) if exactly one is theirs; else a
        refusal naming the sources and customers, never a silent pick."""
        i, c = schema.invoice, schema.customer
        qualified = {name: tuple(name.split(":", 1)) for name in names if ":" in name}
        wanted = {*names, *(number for _, number in qualified.values())}
        rows = list(
            conn.execute(
                sa.select(
                    i,
                    schema.invoice_customer_id.label("customer_id"),
                    c.c.legal_name,
                    c.c.aliases,
                    c.c.ibans,
                )
                .select_from(i.outerjoin(c, schema.invoice_customer))
                .where(i.c.number.in_(sorted(wanted)))
                .order_by(i.c.source, i.c.id)
            )
        )
        found: dict[str, Any] = {}
        missing: list[str] = []
        owners: list[set[str]] | None = None  # who the receipt pays, as far as the desk knows: read when needed
        for name in names:
            candidates = [row for row in rows if (row.source, row.number) == qualified.get(name)]
            if not candidates:
                candidates = [row for row in rows if row.number == name]
            if len(candidates) > 1:
                if owners is None:
                    owners = [{customer}] if customer else self._receipt_customers(conn, receipt, current, rows)
                for known in owners:
                    theirs = [row for row in candidates if row.customer_id in known]
                    if len(theirs) == 1:
                        candidates = theirs
                        break
            if not candidates:
                missing.append(name)
            elif len(candidates) > 1:
                raise MatchError(
                    N_(
                        "invoice %(number)s is in more than one source: %(places)s; "
                        "name the one this receipt pays as SOURCE:NUMBER, e.g. %(example)s"
                    ),
                    values={
                        "number": name,
                        "places": ", ".join(f"{row.source} ({row.customer_id})" for row in candidates),
                        "example": f"{candidates[0].source}:{candidates[0].number}",
                    },
                )
            else:
                found[name] = candidates[0]
        if missing:
            raise MatchError(N_("no invoice %(numbers)s"), values={"numbers": ", ".join(missing)})
        return found

    @staticmethod
    def _customers_of(conn: sa.Connection, invoice_ids: list[int]) -> set[str]:
        """The (canonical) customers of the invoices ``invoice_ids``."""
        i, c = schema.invoice, schema.customer
        return set(
            conn.execute(
                sa.select(schema.invoice_customer_id)
                .select_from(i.outerjoin(c, schema.invoice_customer))
                .where(i.c.id.in_(invoice_ids))
            ).scalars()
        )

    @staticmethod
    def _receipt_customers(conn: sa.Connection, receipt: Any, current: list[Any], rows: list[Any]) -> list[set[str]]:
        """Whom the receipt pays, from the surest evidence down: the customers of its open proposals, the
        customers (of ``rows``) whose account the payer's is (their master's or learned from a confirmed
        match), those whose name the payer's is (likewise)."""
        alias = schema.customer_alias
        proposed = MatchDesk._customers_of(conn, [row.invoice_id for row in current])
        learned: dict[tuple[str, str], set[str]] = {}
        for cid, kind, value in conn.execute(
            sa.select(alias.c.customer_id, alias.c.kind, alias.c.value).where(
                alias.c.customer_id.in_(sorted({row.customer_id for row in rows})),
                alias.c.kind.in_(("account", "name")),
            )
        ):
            learned.setdefault((cid, kind), set()).add(value)

        def account(text: Any) -> str:
            return "".join(str(text or "").split()).upper()

        paid_from = account(receipt.payer_account)
        payer = normalise_name(receipt.payer_name or "")
        by_account, by_name = set(), set()
        for row in rows:
            accounts = {account(x) for x in (*(row.ibans or ()), *learned.get((row.customer_id, "account"), ()))}
            if paid_from and paid_from in accounts:
                by_account.add(row.customer_id)
            names = (row.legal_name or "", *(row.aliases or ()), *learned.get((row.customer_id, "name"), ()))
            if payer and payer in {normalise_name(str(x)) for x in names}:
                by_name.add(row.customer_id)
        return [proposed, by_account, by_name]

    def _allocations_by_id(self, conn: sa.Connection, ids: list[int]) -> list[Any]:
        a, i = schema.allocation, schema.invoice
        return list(
            conn.execute(
                sa.select(a, i.c.number.label("invoice_number"))
                .join(i, i.c.id == a.c.invoice_id)
                .where(a.c.id.in_(ids))
                .order_by(a.c.id)
            )
        )

    @staticmethod
    def _check_fits(conn: sa.Connection, receipt: Any, chosen: list[Any]) -> None:
        """No invoice over its open amount, no receipt over its amount, counting other live allocations."""
        a, i = schema.allocation, schema.invoice
        chosen_ids = [row.id for row in chosen]
        for row in chosen:
            others = conn.execute(
                sa.select(money_sum(a.c.amount)).where(
                    a.c.invoice_id == row.invoice_id, a.c.status.in_(LIVE), a.c.id.not_in(chosen_ids)
                )
            ).scalar_one()
            open_amount = conn.execute(sa.select(i.c.open_amount).where(i.c.id == row.invoice_id)).scalar_one()
            mine = sum((x.amount for x in chosen if x.invoice_id == row.invoice_id), ZERO)
            if not fits((others or ZERO) + mine, open_amount):
                raise MatchError(
                    N_(
                        "invoice %(number)s would be allocated more than its open %(open)s; "
                        "other allocations already take part of it"
                    ),
                    values={"number": row.invoice_number, "open": open_amount},
                )
        paid = sum((row.amount for row in chosen if row.kind in APPLIED), ZERO)
        if paid > receipt.amount:
            raise MatchError(
                N_("the allocations (%(paid)s) exceed the receipt's %(amount)s"),
                values={"paid": paid, "amount": receipt.amount},
            )

    @staticmethod
    def _set(
        conn: sa.Connection, row: Any, status: str, actor: str, now: dt.datetime, note: str | None, result: ActionResult
    ) -> None:
        a, e = schema.allocation, schema.allocation_event
        conn.execute(a.update().where(a.c.id == row.id).values(status=status, decided_by=actor, decided_at=now))
        conn.execute(e.insert().values(allocation_id=row.id, status=status, actor=actor, at=now, note=note))
        result.changed.append(
            {
                "allocation": row.id,
                "invoice": row.invoice_number,
                "amount": str(row.amount),
                "kind": row.kind,
                "status": status,
            }
        )

    @staticmethod
    def _receipt_status(conn: sa.Connection, receipt_id: int, status: str, now: dt.datetime) -> None:
        r = schema.receipt
        conn.execute(r.update().where(r.c.id == receipt_id).values(match_status=status, reconciled_at=now))

    def _reopen_if_unallocated(self, conn: sa.Connection, receipt_id: int) -> None:
        """A receipt left without live allocation is open again and looked at by the next reconcile
        (which will not propose the rejected pairings again)."""
        if not self._allocations(conn, receipt_id, LIVE):
            r = schema.receipt
            conn.execute(r.update().where(r.c.id == receipt_id).values(match_status="open", reconciled_at=None))

    @staticmethod
    def _learn(
        conn: sa.Connection, receipt: Any, chosen: list[Any], actor: str, now: dt.datetime
    ) -> list[dict[str, str]]:
        """The payer's account and name become aliases of the customer the receipt was confirmed for: not
        those of a payer that says it pays for someone else (a factor, a provider, a parent), nor a name or
        account that is another customer's already (a name cut where several begin alike). Where the account is
        another customer's own, that customer pays for this one (its group, :func:`_pays_for`)."""
        alias = schema.customer_alias
        owners = MatchDesk._customers_of(conn, [row.invoice_id for row in chosen])
        if len(owners) != 1:
            return []
        (customer_id,) = owners
        learned = []
        more = additional_texts(
            receipt.additional_remittance, receipt.additional_tx_info, receipt.additional_entry_info
        )
        texts = [receipt.remittance, *more] if receipt.remittance else list(more)
        third_party = paid_for_another(receipt.payer_name, receipt.ultimate_payer_name, texts)
        account, name = (receipt.payer_account or "").strip(), (receipt.payer_name or "").strip()
        account_owners = _account_owners(conn, account) if account else set()  # read once: for both lessons below
        taught = []
        if account and not third_party and not account_owners - {customer_id}:
            taught.append(("account", account))
        if name and not third_party and not _anothers(conn, customer_id, name):
            taught.append(("name", name))
        payer = _pays_for(conn, account_owners, customer_id)
        if payer is not None:
            taught.append(("payer", payer))
        for kind, value in taught:
            exists = conn.execute(
                sa.select(alias.c.id).where(
                    alias.c.customer_id == customer_id, alias.c.kind == kind, alias.c.value == value
                )
            ).first()
            if exists:
                continue
            _add_alias(conn, customer_id, kind, value, "confirmed-match", actor, now)
            learned.append({"customer": customer_id, "kind": kind, "value": value})
        # The fee written off (of a discount with a fee besides, the last write-off) is a size this payer's
        # bank deducts: load_book finds it among the live write-offs; said here so that finance sees it.
        fees = [row for row in chosen if row.kind == "write_off" and row.method in FEE_METHODS]
        if fees:
            fee = max(fees, key=lambda row: row.id)
            learned.append({"customer": customer_id, "kind": "fee", "value": f"{fee.amount} {receipt.currency}"})
        return learned

    def forget(
        self,
        customer_id: str,
        *,
        fees: Sequence[Decimal] = (),
        accounts: Sequence[str] = (),
        names: Sequence[str] = (),
        payers: Sequence[str] = (),
        numbers: bool = False,
        actor: str,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Undo what matches taught the hub about a customer: the fee sizes, payer accounts and names, the
        customers that pay for it (by canonical id) named, and (``numbers``) how its payers write its invoice
        numbers, or everything learned when none is. Accounts, names and payers learned from confirmed matches
        are removed; a fee size and the numbers written stop counting from now (the matches stay, a later one
        teaches them again)."""
        now = utcnow()
        everything = not (fees or accounts or names or payers or numbers)
        alias, c = schema.customer_alias, schema.customer
        forgotten: list[dict[str, str]] = []
        with self.store.begin() as conn:
            known = conn.execute(sa.select(c.c.id).where(c.c.canonical_id == customer_id).limit(1)).first()
            if known is None:
                raise MatchError(
                    N_("no customer %(customer)r (give its canonical id, as 'hub matches list' shows)"),
                    values={"customer": customer_id},
                )
            for kind, values in (("account", accounts), ("name", names), ("payer", payers)):
                query = sa.select(alias.c.id, alias.c.value).where(
                    alias.c.customer_id == customer_id, alias.c.kind == kind, alias.c.origin == "confirmed-match"
                )
                if not everything:
                    if not values:
                        continue
                    query = query.where(alias.c.value.in_([v.strip() for v in values]))
                for alias_id, value in conn.execute(query).all():
                    conn.execute(alias.delete().where(alias.c.id == alias_id))
                    forgotten.append({"kind": kind, "value": value})
            canonical = {
                (source, ext): cid
                for source, ext, cid in conn.execute(sa.select(c.c.source, c.c.external_id, c.c.canonical_id))
            }
            current = {size for _, size, _ in learned_fees(conn, canonical).get(customer_id, ())}
            wanted = current if everything else {Decimal(str(f)) for f in fees} & current
            for size in sorted(wanted):
                value = str(size)
                stale = alias.c.customer_id == customer_id, alias.c.kind == "forget-fee", alias.c.value == value
                conn.execute(alias.delete().where(*stale))
                _add_alias(conn, customer_id, "forget-fee", value, "forget", actor, now)
                forgotten.append({"kind": "fee", "value": value})
            written = learned_writing(conn, canonical).get(customer_id, ())
            if written and (everything or numbers):
                # One row: the latest time counts (its value, how many were forgotten, is for the record).
                conn.execute(alias.delete().where(alias.c.customer_id == customer_id, alias.c.kind == "forget-numbers"))
                _add_alias(conn, customer_id, "forget-numbers", str(len(written)), "forget", actor, now)
                forgotten.append({"kind": "numbers", "value": ", ".join(dict.fromkeys(n for n, _ in written))})
            if not forgotten:
                asked = [*(str(f) for f in fees), *accounts, *names, *payers, *(["numbers"] if numbers else [])]
                raise MatchError(
                    f"nothing learned about {customer_id} to forget"
                    + (f" ({', '.join(asked)} not learned)" if asked else "")
                )
            self.store.audit(conn, actor, "match.forget", "customer", customer_id, forgotten=forgotten, note=note)
        return {"customer": customer_id, "forgotten": forgotten}


def _names_of(row: Any) -> tuple[str, str]:
    """What finance may call an allocation's invoice: its number, or ``SOURCE:NUMBER``."""
    return row.invoice_number, f"{row.invoice_source}:{row.invoice_number}"


def _pays_for(conn: sa.Connection, owners: set[str], customer_id: str) -> str | None:
    """The customer whose own account paid invoices of ``customer_id`` (``owners``: the account's, as
    :func:`_account_owners` reads them), where the master links ``customer_id`` to no group: a parent, a sister
    company, a shared service centre the master does not record. None where the account is nobody's or several
    customers', where the master puts ``customer_id`` in a group (its parent or its subsidiaries: a payment
    from outside it says nothing about the next), or where the payer is the customer itself."""
    c = schema.customer
    if len(owners) != 1 or customer_id in owners:
        return None
    in_a_group = conn.execute(
        sa.select(c.c.id)
        .where(
            sa.or_(
                sa.and_(c.c.canonical_id == customer_id, c.c.parent_external_id.is_not(None)),
                c.c.parent_external_id == customer_id,
            )
        )
        .limit(1)
    ).first()
    return None if in_a_group is not None else next(iter(owners))


def _add_alias(
    conn: sa.Connection, customer_id: str, kind: str, value: str, origin: str, actor: str, now: dt.datetime
) -> None:
    conn.execute(
        schema.customer_alias.insert().values(
            customer_id=customer_id, kind=kind, value=value, origin=origin, created_by=actor, created_at=now
        )
    )


def _account_owners(conn: sa.Connection, account: str) -> set[str]:
    """The customers whose account ``account`` is, in the master data or learned."""
    c, alias = schema.customer, schema.customer_alias
    wanted = normalise_account(account)
    owners = {
        cid
        for cid, ibans in conn.execute(sa.select(c.c.canonical_id, c.c.ibans))
        if any(normalise_account(v) == wanted for v in ibans or ())
    }
    learned = conn.execute(sa.select(alias.c.customer_id, alias.c.value).where(alias.c.kind == "account"))
    return owners | {cid for cid, value in learned if normalise_account(value) == wanted}


def _anothers(conn: sa.Connection, customer_id: str, value: str) -> bool:
    """Whether a payer's name is another customer's already, in the master data or learned: a name with a key
    in common, or a name cut at a bank's field length that another customer's name begins with
    (``PRZEDSIEBIORSTWO PRODUKCYJNO-HANDLO``). Learned for this customer it would point at the wrong one, or
    at one of several. (An account is another's where :func:`_account_owners` names another.)"""
    c, alias = schema.customer, schema.customer_alias
    learned = conn.execute(
        sa.select(alias.c.value).where(alias.c.kind == "name", alias.c.customer_id != customer_id)
    ).scalars()
    keys = name_keys(value)
    cut = cut_at(value) is not None

    def alike(name: str) -> bool:
        theirs = name_keys(name)
        return bool(keys & theirs) or (cut and any(t.startswith(k) for k in keys for t in theirs))

    if any(alike(v) for v in learned):
        return True
    rows = conn.execute(sa.select(c.c.legal_name, c.c.aliases).where(c.c.canonical_id != customer_id))
    return any(alike(name) for legal, aliases in rows for name in (legal, *(aliases or ())) if name)
