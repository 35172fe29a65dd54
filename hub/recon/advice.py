"""Remittance advices: which receipt each advice a payer sent apart belongs to.

A customer paying twenty invoices in one transfer writes "Sammelzahlung siehe Zahlungsavis" in the
payment and sends the list apart (an ISO 20022 remt.001, a CSV from its payables system). Imported
(``hub advices import``) into ``remittance_advice``, an advice is linked here to the one receipt it
describes, and the matcher reads its documents and texts with that receipt's own
(:class:`~hub.recon.types.ReceiptView` ``advice``).

An advice is linked to a receipt only where nothing else could be meant:

* **by reference**: the advice's end-to-end id is the receipt's, or the advice's number (``RmtId``)
  is written in the receipt's texts ("Avis 483920") and the payer may be the advice's (the same
  account, else a name in common, else one side gives neither); in the same currency;
* **by payer and amount**: the same payer (the same account; the same name only where the receipt
  or the advice gives no account), the same currency, the receipt's amount the advice's, or short of
  it by a fee deducted on the way (whole or half units, or a bank's percentage, within the bank-fee
  ceiling: an odd difference is no fee), booked from a few days before the advice's payment date to
  a fortnight after.

Either way the link holds only if the advice fits that one receipt and the receipt that one advice
(a reference outranks payer and amount). Every receipt of the window counts, matched or not, so an
advice whose payment was matched already is not handed to the next transfer of the same amount, and
the links are the same whichever receipts a run still has to decide. Nothing is stored: a run links
again from what is there, and an advice imported after a run is read by the next.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from hub.names import letters_and_digits, name_keys, normalise_account
from hub.recon.matching import charged
from hub.recon.types import additional_texts
from hub.store import schema, utcnow
from hub.store.bulk import dialect_insert

#: Days before an advice's payment date a receipt may be booked (an advice dated late), and after it
#: (a transfer booked days later, a weekend, a correspondent bank's day).
BOOKED_BEFORE = dt.timedelta(days=5)
BOOKED_AFTER = dt.timedelta(days=14)
#: An advice number written in a payment is read only this long (shorter ones are too common).
MIN_ADVICE_NUMBER = 5
#: The largest share of a payment a fee deducted on the way may be, for an advice to be linked to a
#: receipt short of it (correspondent charges of 15-60 EUR are a few percent of a small payment).
MAX_FEE_SHARE = Decimal("0.10")


@dataclass(frozen=True)
class AdviceDocument:
    """A document an advice lists: its number, the amount paid of it and the discount taken, as the
    advice gives them (whether it is a credit note is the open item's to say: its amount is negative)."""

    number: str
    amount: Decimal | None
    discount: Decimal | None


@dataclass(frozen=True)
class AdviceView:
    """An advice as the matcher reads it, with how it was linked (``by``: ``end_to_end_id``,
    ``advice_number`` or ``payer_amount``)."""

    id: int
    external_id: str
    file: str | None
    amount: Decimal | None
    currency: str
    payment_date: dt.date | None
    texts: tuple[str, ...]
    documents: tuple[AdviceDocument, ...]
    by: str


def _money(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def _view(row: Any, by: str) -> AdviceView:
    docs = tuple(
        AdviceDocument(str(d["number"]), _money(d.get("amount")), _money(d.get("discount")))
        for d in row.documents or []
        if isinstance(d, dict) and d.get("number")
    )
    return AdviceView(
        row.id,
        row.external_id,
        row.file,
        row.amount,
        row.currency,
        row.payment_date,
        tuple(str(t) for t in row.texts or [] if t),
        docs,
        by,
    )


def advice_links(conn: sa.Connection, fee_ceiling: Callable[[str], Decimal]) -> dict[int, AdviceView]:
    """The advice linked to each receipt that has one (receipt id -> advice), as the module says.

    ``fee_ceiling(currency)``: the most a bank may deduct on the way, in that currency."""
    ra, r = schema.remittance_advice, schema.receipt
    advices = list(conn.execute(sa.select(ra)))
    if not advices:
        return {}
    dates = [a.payment_date for a in advices if a.payment_date is not None]
    query = sa.select(
        r.c.id,
        r.c.booking_date,
        r.c.amount,
        r.c.currency,
        r.c.payer_name,
        r.c.payer_account,
        r.c.end_to_end_id,
        r.c.remittance,
        r.c.additional_tx_info,
        r.c.additional_entry_info,
        r.c.additional_remittance,
        r.c.references,
    ).where(r.c.direction == "credit", r.c.reversal.is_(False))
    by_e2e: dict[str, list[Any]] = defaultdict(list)
    for a in advices:
        if a.end_to_end_id:
            by_e2e[a.end_to_end_id].append(a)
    keyed = {letters_and_digits(a.external_id): a for a in advices}
    numbers = {key: a for key, a in keyed.items() if len(key) >= MIN_ADVICE_NUMBER}
    if len(dates) == len(advices):  # every advice dated: only the receipts booked around those dates
        query = query.where(r.c.booking_date.between(min(dates) - BOOKED_BEFORE, max(dates) + BOOKED_AFTER))
    by_account: dict[tuple[str, str], list[Any]] = defaultdict(list)
    by_name: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for a in advices:
        if a.amount is None or a.payment_date is None:
            continue
        if a.payer_account:
            by_account[normalise_account(a.payer_account), a.currency].append(a)
        for key in name_keys(a.payer_name or ""):
            by_name[key, a.currency].append(a)

    # Candidates of each kind, both ways: a reference outranks payer and amount.
    referred: dict[int, set[int]] = defaultdict(set)  # receipt -> advices naming it by reference
    referring: dict[int, set[int]] = defaultdict(set)  # advice -> receipts
    fits: dict[int, set[int]] = defaultdict(set)
    fitting: dict[int, set[int]] = defaultdict(set)
    how: dict[tuple[int, int], str] = {}
    shorts: dict[tuple[int, int], Decimal] = {}  # what the receipt is short of the advice it fits
    for row in conn.execute(query.order_by(r.c.id)):
        rid, booked, amount, currency = row.id, row.booking_date, row.amount, row.currency
        for e2e in by_e2e.get(row.end_to_end_id, []) if row.end_to_end_id else []:
            if e2e.currency == currency:
                referred[rid].add(e2e.id)
                referring[e2e.id].add(rid)
                how[rid, e2e.id] = "end_to_end_id"
        if numbers:
            texts = [
                row.remittance,
                *additional_texts(row.additional_remittance, row.additional_tx_info, row.additional_entry_info),
            ]
            texts += [x.get("value") for x in row.references or [] if isinstance(x, dict)]
            for text in texts:
                for token in _tokens(text):
                    named = numbers.get(token)
                    if (
                        named is not None
                        and named.currency == currency
                        and (rid, named.id) not in how
                        and _same_payer(named, row.payer_account, row.payer_name)
                    ):
                        referred[rid].add(named.id)
                        referring[named.id].add(rid)
                        how[rid, named.id] = "advice_number"
        # The same account; by name only where one side gives no account (two accounts that differ
        # are two payers, however alike their names: a name many customers share links nothing).
        account = normalise_account(row.payer_account) if row.payer_account else ""
        candidates: list[Any] = list(by_account.get((account, currency), [])) if account else []
        for key in name_keys(row.payer_name or ""):
            candidates += [a for a in by_name.get((key, currency), []) if not (account and a.payer_account)]
        for a in {a.id: a for a in candidates}.values():
            short = a.amount - amount
            if (
                short == 0 or (0 < short <= fee_ceiling(currency) and _fee_like(short, a.amount, amount))
            ) and a.payment_date - BOOKED_BEFORE <= booked <= a.payment_date + BOOKED_AFTER:
                shorts[rid, a.id] = short
                fits[rid].add(a.id)
                fitting[a.id].add(rid)
                how.setdefault((rid, a.id), "payer_amount")
    by_id = {a.id: a for a in advices}
    links: dict[int, AdviceView] = {}
    taken: set[int] = set()
    for rid, ids in referred.items():
        if len(ids) == 1:
            (aid,) = ids
            if len(referring[aid]) == 1:
                links[rid] = _view(by_id[aid], how[rid, aid])
                taken.add(aid)
    # Payer and amount, among what references left: an advice and a receipt that fit only each other.
    # Exact amounts first (a fee of exactly the difference between two of a payer's payments is the
    # rarer coincidence), then within the fee ceiling; each link may leave another pair that fits only
    # each other, so both are repeated until nothing changes. A receipt some advice names by reference,
    # and an advice that names some receipt, are not linked by amount.
    taken.update(referring)
    for exact in (True, False):
        changed = True
        while changed:
            changed = False
            for rid, ids in fits.items():
                if rid in links or rid in referred:
                    continue
                live = [aid for aid in ids if aid not in taken and (not exact or shorts[rid, aid] == 0)]
                if len(live) != 1:
                    continue
                (aid,) = live
                back = [
                    r
                    for r in fitting[aid]
                    if r not in links and r not in referred and (not exact or shorts[r, aid] == 0)
                ]
                if back == [rid]:
                    links[rid] = _view(by_id[aid], how[rid, aid])
                    taken.add(aid)
                    changed = True
    return links


def _same_payer(advice: Any, account: str | None, name: str | None) -> bool:
    """The advice may be the payer's: the same account, else a name in common, else one side says
    nothing of the payer. An advice's number is the payer's own, and may be any other number of
    another's (an invoice number, an order number) written in a payment."""
    if advice.payer_account and account:
        return normalise_account(advice.payer_account) == normalise_account(account)
    if advice.payer_name and name:
        return bool(name_keys(advice.payer_name) & name_keys(name))
    return True


def _fee_like(short: Decimal, sent: Decimal, received: Decimal) -> bool:
    """``short`` is a charge as banks levy them: whole or half units, or a percentage of the amount to
    the cent (as the combiner reads a fee), and at most :data:`MAX_FEE_SHARE` of what was sent. An
    advice of a payment not on the statement is often a little above one of its payer's receipts: an
    odd difference is not taken for a fee, nor is half the payment, however round (in a currency of
    small units, 508.50 is both round and within the ceiling)."""
    return short <= sent * MAX_FEE_SHARE and charged(short, sent, received)


def _tokens(text: str | None) -> list[str]:
    """The words of ``text`` that may be an advice's number, as keys: each word, and each word with
    the next ("AV 483920")."""
    if not text:
        return []
    words = [letters_and_digits(w) for w in text.split()]
    words = [w for w in words if w]
    out = [w for w in words if len(w) >= MIN_ADVICE_NUMBER]
    out += [a + b for a, b in itertools.pairwise(words) if len(a + b) >= MIN_ADVICE_NUMBER]
    return out


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def advice_rows(
    conn: sa.Connection, links: dict[int, AdviceView], *, unlinked: bool = False, limit: int | None = None
) -> list[dict[str, Any]]:
    """The advices held, latest payment date first, each with the receipt ``links`` (:func:`advice_links`)
    gives it or none: what the next reconcile reads with which payment. ``unlinked``: only those no
    receipt is linked to (a payment not on a statement yet, sent to another account, or not told
    apart from another)."""
    ra, r = schema.remittance_advice, schema.receipt
    linked = {view.id: (rid, view.by) for rid, view in links.items()}
    refs = dict(
        conn.execute(
            sa.select(r.c.id, sa.func.coalesce(r.c.bank_ref, r.c.external_id)).where(
                r.c.id.in_(sorted(rid for rid, _ in linked.values()))
            )
        ).all()
    )
    out: list[dict[str, Any]] = []
    query = sa.select(ra).order_by(ra.c.payment_date.desc().nulls_last(), ra.c.source, ra.c.external_id)
    for row in conn.execute(query):
        rid, by = linked.get(row.id, (None, None))
        if unlinked and rid is not None:
            continue
        out.append(
            {
                "number": row.external_id,
                "connector": row.source,
                "file": row.file,
                "payer_name": row.payer_name,
                "payer_account": row.payer_account,
                "amount": _money(row.amount),
                "currency": row.currency,
                "payment_date": row.payment_date,
                "documents": len(row.documents or []),
                "receipt": refs.get(rid) if rid is not None else None,
                "linked_by": by,
                "imported_at": row.imported_at,
            }
        )
        if limit is not None and len(out) >= limit:
            break
    return out


def store_advices(conn: sa.Connection, source: str, file: str | None, advices: list[dict[str, Any]]) -> tuple[int, int]:
    """Store ``advices`` (as :func:`hub_connectors.bank_files.advice.read_advices` reads them) under
    ``source``, in ``conn``'s transaction: ``(new, already held)``. An advice already held under the
    same ``(source, external_id)`` is left as it was: importing a file twice, or two imports of it at
    once, store each advice once (the unique key decides, inside the transaction)."""
    table = schema.remittance_advice
    # RETURNING, not rowcount: PostgreSQL's driver gives no count for a row skipped on conflict.
    insert = (
        dialect_insert(conn.dialect, table)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(table.c.id)
    )
    now = utcnow()
    new = 0
    for a in advices:
        documents = [
            {
                "number": str(d["number"]),
                "kind": d.get("kind") or "invoice",
                **{k: _text(d.get(k)) for k in ("amount", "discount", "due")},
                "date": d["date"].isoformat() if d.get("date") else None,
            }
            for d in a["documents"]
        ]
        row = {
            "source": source,
            "external_id": a["external_id"],
            "message_id": a.get("message_id"),
            "file": file,
            "payer_name": a.get("payer_name"),
            "payer_account": a.get("payer_account"),
            "end_to_end_id": a.get("end_to_end_id"),
            "amount": a.get("amount"),
            "currency": a["currency"],
            "payment_date": a.get("payment_date"),
            "texts": list(a.get("texts") or []),
            "documents": documents,
            "imported_at": now,
        }
        new += conn.execute(insert, row).first() is not None
    return new, len(advices) - new
