"""Cash application's English evidence on fixed books, as the code before messages wrote it.

The reasons of a proposal are gettext messages now (``hub.i18n.Message``), stored as their id and
values; their English, as the command line and the API read it, must read byte for byte as the
sentences the code wrote before, every format of them. ``tests/fixtures/match_reasons_english.json.gz``
holds what that code stored on the books below; ``tests/test_match_reasons.py`` runs the same books
through the current code and compares. Each book is built from a seed (no date of today in it), so
both runs see the same book.

Books reach about two thirds of the formats; the rest (a learned fee, a stated discount, a party paid
for, a mangled number, a parent paying...) are what the matching unit tests are about. So besides the
books, the file holds the English of every case those tests hand the combiner (``CASES``: the receipts
and open items, harvested from a run of them), replayed through every matcher and the combiner: every
clue found and every proposal made, kept or not.

To write the file again (only where a reason is meant to read differently), run this module with the
interpreter of the code whose sentences are wanted, from outside the repository so that its own
``hub`` is imported::

    cd /tmp && /path/to/that/checkout/.venv/bin/python /path/to/tests/reasons_golden.py OUT.json.gz

``--harvest`` writes ``CASES`` again from the unit tests (with the current code).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import subprocess
import sys
import tempfile
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "fixtures" / "match_reasons_english.json.gz"
CASES = ROOT / "tests" / "fixtures" / "match_reasons_cases.json.gz"
MAX_CASE_INVOICES = 300
#: The unit tests whose cases are harvested.
CASE_TESTS = (
    "tests/test_matching.py",
    "tests/test_names.py",
    "tests/test_references.py",
    "tests/test_fees.py",
    "tests/test_sets.py",
)

#: The books: the sample book (``hub demo``'s), the shared generator's, and the bench books that carry
#: what the others rarely do (fees and discounts, names several customers share, Chinese names, Nordic
#: structured references).
BOOKS = ("sample", "generated", "manufacturer", "collisions", "chinese", "nordic")
SAMPLE_DAY = dt.date(2026, 12, 5)
BOOK_INVOICES = 600  # invoices of each bench book


def build(book: str, folder: Path, db_url: str) -> Path:
    """Write ``book``'s files and a hub.toml on ``db_url`` into ``folder``; returns the config's path."""
    from hub.cli.demo import DEMO_CONFIG
    from hub.sample import RATES, build_sample

    folder.mkdir(parents=True, exist_ok=True)
    if book == "sample":
        build_sample(folder / "data", SAMPLE_DAY)
        rates = "{ " + ", ".join(f'{ccy} = "{rate}"' for ccy, rate in sorted(RATES.items())) + " }"
        config = DEMO_CONFIG.replace("{rates}", rates).replace('url = "sqlite:///hub.db"', f'url = "{db_url}"')
    else:
        if book == "generated":
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "gen_receivables.py"),
                    str(folder),
                    *("--seed", "3", "--customers", "40", "--invoices", "800", "--receipts", "240"),
                ],
                check=True,
                capture_output=True,
            )
        else:
            sys.path.insert(0, str(ROOT / "bench"))
            from books import BOOKS as GENERATORS
            from books.common import write_book

            write_book(GENERATORS[book].generate(1, BOOK_INVOICES), folder)
        config = (
            f'[database]\nurl = "{db_url}"\n[connectors.erp]\ntype = "csv"\ncustomers = "customers.csv"\n'
            'invoices = "invoices.csv"\n[connectors.bank]\ntype = "bank-files"\npath = "statement.xml"\n'
        )
    path = folder / "hub.toml"
    path.write_text(config, encoding="utf-8")
    return path


def reconciled(book: str, folder: Path, db_url: str) -> dict[str, Any]:
    """Build ``book``, sync it, resolve identities, reconcile: every proposal's evidence in English."""
    from hub.app import Hub
    from hub.config import load_config

    hub = Hub(load_config(build(book, folder, db_url)), lock_wait=0)
    try:
        hub.init()
        hub.sync()
        hub.resolve_identities()
        hub.reconcile()
        return proposals(hub)
    finally:
        hub.close()


def english(item: Any, ids: dict[str, str]) -> str:
    """A stored reason in English, as the command line and the API read it: a plain string (the code
    before messages) as it is, a message (its id looked up by its key in ``ids``) said in English."""
    from hub.i18n import expand_stored, stored_english

    return stored_english(expand_stored(item, ids))


def proposals(hub: Any) -> dict[str, Any]:
    """``receipt|rank`` -> the proposal's method, lines (invoice, amount, kind, status) and reasons in English."""
    from hub.store import schema
    from hub.store.messages import load_keys

    a, r, i = schema.allocation, schema.receipt, schema.invoice
    out: dict[str, Any] = {}
    with hub.store.connect() as conn:
        ids = load_keys(conn)
        rows = conn.execute(
            sa.select(
                r.c.bank_ref,
                r.c.external_id,
                a.c.rank,
                a.c.method,
                i.c.number,
                a.c.amount,
                a.c.kind,
                a.c.status,
                a.c.reasons,
            )
            .join(r, r.c.id == a.c.receipt_id)
            .join(i, i.c.id == a.c.invoice_id)
        )
        for ref, key, rank, method, number, amount, kind, status, reasons in rows:
            said = out.setdefault(f"{ref or key}|{rank}", {"method": method, "lines": [], "reasons": None})
            said["lines"].append([number, f"{amount:.2f}", kind, status])
            said["reasons"] = [english(item, ids) for item in reasons or []]
    for said in out.values():
        said["lines"].sort()
    return dict(sorted(out.items()))


# -- the unit tests' cases ------------------------------------------------------------------------------


def _case(combiner: Any, receipt: Any, book: Any) -> dict[str, Any]:
    """A case as JSON: the combiner's settings, the receipt and the open items (as they stood)."""

    def plain(value: Any) -> Any:
        if isinstance(value, (dt.date, Decimal)):
            return {"date" if isinstance(value, dt.date) else "decimal": str(value)}
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        return value

    return {
        "combiner": [
            str(combiner.fee_tolerance),
            combiner.max_subset_size,
            combiner.subset_budget,
            combiner.auto_logit,
        ],
        "receipt": [plain(getattr(receipt, f.name)) for f in fields(receipt)],
        "invoices": [plain(list(i)) for i in book.invoices.values()],
        "customers": [plain([getattr(c, f.name) for f in fields(c)]) for c in book.customers.values()],
        "allocated": sorted([i, str(a)] for i, a in book._allocated.items()),
    }


def _value(data: Any) -> Any:
    if isinstance(data, dict):
        return dt.date.fromisoformat(data["date"]) if "date" in data else Decimal(data["decimal"])
    if isinstance(data, list):
        return tuple(_value(v) for v in data)
    return data


def replayed(case: dict[str, Any]) -> dict[str, Any]:
    """Every clue the matchers find for a case and every proposal the combiner makes, in English."""
    from hub_plugins.matching import hub_register_matchers

    from hub.recon import Combiner, CustomerView, Found, OpenInvoice, OpenItems, ReceiptView

    receipt = ReceiptView(*(_value(v) for v in case["receipt"]))
    book = OpenItems(
        [OpenInvoice(*(_value(v) for v in i)) for i in case["invoices"]],
        [CustomerView(*(_value(v) for v in c)) for c in case["customers"]],
        {i: Decimal(a) for i, a in case["allocated"]},
    )
    fee, size, budget, auto = case["combiner"]
    found = Found()
    clues = []
    for matcher in sorted(hub_register_matchers(), key=lambda m: m.stage):
        for ev in matcher.evidence(receipt, book, found):
            found.add(ev)
            clues.append([ev.kind, ev.target, round(ev.weight, 6), str(ev.reason)])
    made = Combiner(fee_tolerance=Decimal(fee), max_subset_size=size, subset_budget=budget, auto_logit=auto).propose(
        receipt, book, found
    )
    return {
        "evidence": clues,
        "proposals": [[p.method, p.confidence, [r if isinstance(r, str) else str(r) for r in p.reasons]] for p in made],
    }


def harvest(target: Path) -> int:
    """Run the unit tests of :data:`CASE_TESTS`, keeping every (combiner, receipt, open items) the combiner
    is asked about; write them to ``target``."""
    import pytest

    from hub.recon.matching import Combiner

    seen: dict[str, None] = {}
    propose = Combiner.propose

    def keeping(self: Any, receipt: Any, book: Any, found: Any) -> Any:
        seen.setdefault(json.dumps(_case(self, receipt, book), ensure_ascii=False, sort_keys=True))
        return propose(self, receipt, book, found)

    Combiner.propose = keeping  # type: ignore[method-assign]
    try:
        pytest.main(["-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-o", "addopts=", *CASE_TESTS])
    finally:
        Combiner.propose = propose  # type: ignore[method-assign]
    # Cases of thousands of invoices (the tests of the search's bounds) add no format, only bytes.
    cases = [case for case in map(json.loads, seen) if len(case["invoices"]) <= MAX_CASE_INVOICES]
    cases += [_case(*made) for made in made_cases()]
    target.write_bytes(gzip.compress(json.dumps(cases, ensure_ascii=False).encode(), mtime=0))
    return len(cases)


def made_cases() -> list[tuple[Any, Any, Any]]:
    """(combiner, receipt, open items) for the formats neither the books nor the unit tests reach."""
    from hub.recon import Combiner, CustomerView, OpenInvoice, OpenItems, ReceiptView

    def inv(id_: int, number: str, customer: str, amount: str, currency: str = "EUR") -> OpenInvoice:
        return OpenInvoice(id_, number, customer, currency, Decimal(amount), dt.date(2026, 3, 31), None, None)

    def cust(id_: str, name: str, ibans: tuple[str, ...] = (), parent: str | None = None) -> CustomerView:
        return CustomerView(id_, name, (), ibans, parent)

    def rcpt(amount: str, payer: str | None = None, account: str | None = None, text: str | None = None) -> ReceiptView:
        return ReceiptView(1, "BANKREF-1", Decimal(amount), "EUR", dt.date(2026, 4, 2), payer, account, text, (), None)

    iban = "DE89370400440532013000"
    acme = cust("C-ACME", "Acme Logistics GmbH", (iban,))
    wide, narrow = Combiner(fee_tolerance=Decimal("100.00")), Combiner(fee_tolerance=Decimal("15.00"))
    many = [inv(k, f"X-{k:04d}", f"C-{k % 40:02d}", f"{100 + k}.{k % 100:02d}") for k in range(100, 393)]
    many_customers = [cust(f"C-{k:02d}", f"Kunde Nummer {k:02d} AG") for k in range(40)]
    return [
        # a customer number two customers share (written with separators once)
        (
            wide,
            rcpt("321.00", payer="Someone", text="Kd-Nr. K100330"),
            OpenItems(
                [inv(1, "A-1", "K100330", "321.00")], [cust("K100330", "Alpha AG"), cust("K-100330", "Beta AG")], {}
            ),
        ),
        # a customer number written alone, with its letters
        (
            wide,
            rcpt("321.00", payer="Someone", text="K100330 danke"),
            OpenItems([inv(1, "A-1", "K100330", "321.00")], [cust("K100330", "Alpha AG")], {}),
        ),
        # a set found by a search cut short
        (
            Combiner(fee_tolerance=Decimal("15.00"), subset_budget=20),
            rcpt("1051.23", account=iban),
            OpenItems([inv(k, f"R-{k}", "C-ACME", f"{100 + 37 * k}.{k:02d}") for k in range(1, 13)], [acme], {}),
        ),
        # invoices and credit notes named, two of each; and two credit notes not named making up the difference
        (
            narrow,
            rcpt("1750.00", account=iban, text="RE-2026-0001, RE-2026-0002, GS-2026-0001, GS-2026-0002"),
            OpenItems(
                [
                    inv(1, "RE-2026-0001", "C-ACME", "1200.00"),
                    inv(2, "RE-2026-0002", "C-ACME", "800.00"),
                    inv(3, "GS-2026-0001", "C-ACME", "-150.00"),
                    inv(4, "GS-2026-0002", "C-ACME", "-100.00"),
                ],
                [acme],
                {},
            ),
        ),
        (
            narrow,
            rcpt("1750.00", account=iban, text="RE-2026-0001 RE-2026-0002"),
            OpenItems(
                [
                    inv(1, "RE-2026-0001", "C-ACME", "1200.00"),
                    inv(2, "RE-2026-0002", "C-ACME", "800.00"),
                    inv(3, "GS-2026-0001", "C-ACME", "-150.00"),
                    inv(4, "GS-2026-0002", "C-ACME", "-100.00"),
                    inv(5, "GS-2026-0003", "C-ACME", "-250.00"),
                ],
                [acme],
                {},
            ),
        ),
        # sequence numbers of one customer only, from a payer nobody knows (and one more unlikely still)
        (
            wide,
            rcpt("99.99", payer="Max Mustermann", text="Rg 151, Rg 152, Rg 153, Rg 154, Rg 155, Rg 156, Rg 157"),
            OpenItems(
                [*many, *(inv(k, f"RE-2026-{k:04d}", "K1", "500.00") for k in range(151, 158))],
                [*many_customers, cust("K1", "Eins GmbH")],
                {},
            ),
        ),
        (
            wide,
            rcpt("99.99", payer="Max Mustermann", text="Rg 151, Rg 152"),
            OpenItems(
                [
                    *(inv(k, f"RE-2026-{k:04d}", "K1", "500.00") for k in range(151, 153)),
                    inv(9, "RE-2026-0009", "K2", "40.00"),
                ],
                [cust("K1", "Eins GmbH"), cust("K2", "Zwei GmbH")],
                {},
            ),
        ),
        # a registered Chinese name two other customers of that name are registered otherwise
        (
            wide,
            ReceiptView(
                1,
                "B-1",
                Decimal("10000.00"),
                "CNY",
                dt.date(2026, 4, 2),
                "西安德润精密模具有限公司",
                None,
                "转账",
                (),
                None,
            ),
            OpenItems(
                [inv(1, "XS-1", "KH1", "10000.00", "CNY")],
                [
                    cust("KH1", "西安德润精密模具有限公司"),
                    cust("KH2", "西安德润精密模具集团有限公司"),
                    cust("KH3", "西安德润精密模具股份有限公司"),
                ],
                {},
            ),
        ),
        # a factor paying from the customer's own account for it
        (
            wide,
            rcpt("400.00", payer="Eurofactor AG obo Acme Logistics GmbH", account=iban),
            OpenItems([inv(1, "RE-1", "C-ACME", "400.00")], [acme], {}),
        ),
        # a tariff fee of more than a tenth of what was due
        (wide, rcpt("85.00", account=iban, text="RE-1"), OpenItems([inv(1, "RE-1", "C-ACME", "100.00")], [acme], {})),
        # two invoices of the customer short by a fee each
        (
            wide,
            rcpt("1000.00", account=iban),
            OpenItems([inv(1, "RE-1", "C-ACME", "1010.00"), inv(2, "RE-2", "C-ACME", "1012.50")], [acme], {}),
        ),
        # invoices of two customers named together
        (
            wide,
            rcpt("300.00", payer="Someone", text="RE-2026-0001 RE-2026-0002"),
            OpenItems(
                [inv(1, "RE-2026-0001", "C-ACME", "100.00"), inv(2, "RE-2026-0002", "C-BETA", "200.00")],
                [acme, cust("C-BETA", "Beta Bau AG")],
                {},
            ),
        ),
        # a discount stated and a bank fee besides, nothing named
        (
            wide,
            rcpt("1204.87", account=iban, text="abzgl. 2% Skonto"),
            OpenItems([inv(1, "RE-1", "C-ACME", "1234.56")], [acme], {}),
        ),
        # an invoice named whole, another by its sequence number only, from a payer nobody knows
        (
            wide,
            rcpt("900.00", payer="Max Mustermann", text="RE-2026-0000153, Rg 4467"),
            OpenItems(
                [inv(1, "RE-2026-0000153", "K1", "400.00"), inv(2, "RE-2026-0004467", "K1", "500.00")],
                [cust("K1", "Eins GmbH")],
                {},
            ),
        ),
        # a customer's name in the text of a payer who is no customer
        (
            wide,
            rcpt("250.00", payer="Max Mustermann", text="Rechnung Acme Logistics"),
            OpenItems([inv(1, "RE-1", "C-ACME", "250.00")], [acme], {}),
        ),
        # a discount word without a rate, the shortfall readable as a fee
        (
            wide,
            rcpt("490.00", account=iban, text="RE-1 abzgl. Skonto"),
            OpenItems([inv(1, "RE-1", "C-ACME", "500.00")], [acme], {}),
        ),
    ]


def load(path: Path) -> Any:
    return json.loads(gzip.decompress(path.read_bytes()))


def main() -> None:
    if sys.argv[1:2] == ["--harvest"]:
        print(harvest(Path(sys.argv[2]) if len(sys.argv) > 2 else CASES), "cases", file=sys.stderr)
        return
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for book in BOOKS:
            folder = Path(tmp) / book
            found[book] = reconciled(book, folder, f"sqlite:///{folder / 'hub.db'}")
            print(book, len(found[book]), "proposals", file=sys.stderr)
    found["cases"] = [replayed(case) for case in load(CASES)]
    target.write_bytes(gzip.compress(json.dumps(found, ensure_ascii=False, indent=0).encode(), mtime=0))


if __name__ == "__main__":
    main()
