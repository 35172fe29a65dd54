"""Allocating a receipt by hand with amounts, and writing a difference off with a reason.

:meth:`hub.recon.MatchDesk.confirm` allocates a receipt over named invoices in order, each as much as
is left; finance at a desk (the console's invoice picker, the REST API) says how much goes to each
invoice, and that a short payment's difference is written off and why (a bank fee, a discount
taken, a small balance). This desk does that with the matching desk's own rules and bookkeeping:
the allocation write lock, every check (an invoice never over its open amount counting other live
allocations, the payments never over the receipt), the allocation events, the learned aliases and
one audit entry (``match.allocate``) with the lines, the write-offs and their reason.

A write-off is an allocation of kind ``write_off`` against the invoice: it closes that much of the
invoice without taking any of the receipt. Its ``method`` is ``manual``: the reconcile engine learns
fee sizes only from the fees it matched itself (``hub.recon.engine.FEE_METHODS``), so a hand
write-off teaches nothing about the payer's bank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hub.errors import MatchError
from hub.i18n import N_, Message
from hub.recon import ActionResult, MatchDesk
from hub.recon.engine import lock_allocations
from hub.store import schema, utcnow

ZERO = Decimal(0)
#: Why a difference is written off (``reason``).
WRITE_OFF_REASONS = ("bank_fee", "discount", "small_balance", "dispute_settled", "other")

#: The reason an allocation by hand is stored with: a payment's, and a write-off's by its reason (the code
#: as the English sentence always wrote it; its words in another language).
ALLOCATED_BY = N_("allocated by %(actor)s")
WRITTEN_OFF_BY = {
    "bank_fee": N_("allocated by %(actor)s (bank_fee)"),
    "discount": N_("allocated by %(actor)s (discount)"),
    "small_balance": N_("allocated by %(actor)s (small_balance)"),
    "dispute_settled": N_("allocated by %(actor)s (dispute_settled)"),
    "other": N_("allocated by %(actor)s (other)"),
}


@dataclass(frozen=True)
class Line:
    """One invoice and the amount of the receipt that pays it (``write_off``: the amount written off)."""

    invoice: str
    amount: Decimal
    write_off: Decimal = ZERO


class HandDesk(MatchDesk):
    def allocate(
        self,
        ref: str,
        lines: Sequence[Line],
        *,
        actor: str,
        reason: str | None = None,
        note: str | None = None,
        customer: str | None = None,
    ) -> ActionResult:
        """Allocate receipt ``ref`` over ``lines`` as given and confirm it (its open proposals are set aside).

        A line names its invoice by number, or as ``SOURCE:NUMBER`` when several sources (ERPs) have an
        invoice with that number (:meth:`hub.recon.MatchDesk._invoices_named`, as ``confirm`` does);
        ``customer`` (a canonical id) is whom the caller knows the receipt pays, if anyone."""
        if not lines:
            raise MatchError(N_("name at least one invoice and its amount"))
        numbers = [line.invoice for line in lines]
        if len(set(numbers)) != len(numbers):
            raise MatchError(N_("each invoice may appear once"))
        for line in lines:
            if not (line.amount.is_finite() and line.write_off.is_finite()) or line.amount < 0 or line.write_off < 0:
                raise MatchError(N_("amounts must be zero or more, got %(invoice)s"), values={"invoice": line.invoice})
            if line.amount == 0 and line.write_off == 0:
                raise MatchError(N_("invoice %(invoice)s has no amount"), values={"invoice": line.invoice})
        writes_off = any(line.write_off > 0 for line in lines)
        if writes_off and reason not in WRITE_OFF_REASONS:
            raise MatchError(
                N_("a write-off needs a reason: one of %(reasons)s"), values={"reasons": ", ".join(WRITE_OFF_REASONS)}
            )
        now = utcnow()
        result = ActionResult(ref, "allocate")
        a, e = schema.allocation, schema.allocation_event
        with self.store.begin() as conn:
            lock_allocations(conn)
            receipt = self.find_receipt(conn, ref)
            if receipt.direction != "credit":
                raise MatchError(N_("receipt %(ref)s is not a customer payment"), values={"ref": ref})
            current = self._allocations(conn, receipt.id, ("auto", "suggested", "confirmed"))
            if any(row.status == "confirmed" for row in current):
                raise MatchError(
                    N_("receipt %(ref)s is already confirmed; unmatch it first to change it"), values={"ref": ref}
                )
            found = self._invoices_named(conn, receipt, current, numbers, customer)
            if len({row.id for row in found.values()}) != len(numbers):
                raise MatchError(N_("each invoice may appear once"))
            for row in current:  # the proposals give way to what finance decided
                self._set(
                    conn,
                    row,
                    "unmatched" if row.status == "auto" else "rejected",
                    actor,
                    now,
                    note or "allocated by hand",
                    result,
                )
            created: list[int] = []
            for line in lines:
                inv = found[line.invoice]
                if inv.currency != receipt.currency:
                    raise MatchError(
                        N_("invoice %(invoice)s is in %(ccy)s, the receipt in %(receipt_ccy)s"),
                        values={"invoice": line.invoice, "ccy": inv.currency, "receipt_ccy": receipt.currency},
                    )
                parts = [(line.amount, "payment" if inv.open_amount >= 0 else "credit_note", "manual")]
                if line.write_off > 0:
                    parts.append((line.write_off, "write_off", "manual"))
                for amount, kind, method in parts:
                    if amount == 0:
                        continue
                    signed = -amount if kind == "credit_note" else amount
                    inserted = conn.execute(
                        a.insert().values(
                            receipt_id=receipt.id,
                            invoice_id=inv.id,
                            amount=signed,
                            kind=kind,
                            method=method,
                            confidence=1.0,
                            status="suggested",
                            rank=0,
                            reasons=[_allocated_by(actor, reason if kind == "write_off" else None).to_json()],
                            created_at=now,
                            decided_by=actor,
                            decided_at=now,
                        )
                    ).inserted_primary_key
                    assert inserted is not None
                    conn.execute(
                        e.insert().values(
                            allocation_id=inserted[0], status="suggested", actor=actor, at=now, note="entered by hand"
                        )
                    )
                    created.append(int(inserted[0]))
            chosen = self._allocations_by_id(conn, created)
            self._check_fits(conn, receipt, chosen)
            for row in chosen:
                self._set(conn, row, "confirmed", actor, now, note, result)
            self._receipt_status(conn, receipt.id, "matched", now)
            result.learned = self._learn(conn, receipt, chosen, actor, now)
            paid = sum((row.amount for row in chosen if row.kind in ("payment", "credit_note")), ZERO)
            result.unapplied = receipt.amount - paid
            self.store.audit(
                conn,
                actor,
                "match.allocate",
                "receipt",
                receipt.external_id,
                ref=ref,
                lines=[
                    {"invoice": line.invoice, "amount": str(line.amount), "write_off": str(line.write_off)}
                    for line in lines
                ],
                write_off_reason=reason if writes_off else None,
                note=note,
                learned=result.learned,
            )
        return result


def _allocated_by(actor: str, write_off: str | None) -> Message:
    """``allocated by ana``, ``allocated by ana (bank_fee)`` for a write-off (``write_off`` its reason)."""
    if write_off is None:
        return Message(ALLOCATED_BY, actor=actor)
    said = WRITTEN_OFF_BY.get(write_off)
    return (
        Message(said, actor=actor)
        if said
        else Message(N_("allocated by %(actor)s (%(reason)s)"), actor=actor, reason=write_off)
    )
