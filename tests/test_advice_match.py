"""Remittance advices sent apart from the payment: imported, linked to the one receipt each describes,
and read by the matcher (issue 16: groups of invoices named by nobody in the payment).

Through the real pipeline: CSV invoices and a camt.053 statement synced, ``hub advices import`` of an
ISO 20022 remt.001 file, ``hub reconcile``, ``hub matches explain``; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.app import Hub
from hub.config import load_config
from hub.recon.advice import advice_links
from hub.store import schema

from .conftest import run_hub, write_config

ACME_IBAN = "DE02120300000000202051"
BETA_IBAN = "DE44500105175407324931"
OUR_IBAN = "DE89370400440532013000"
CUSTOMERS = (
    "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n"
    f"C-ACME,Acme Industries GmbH,DE123456789,DE,EUR,500000.00,,{ACME_IBAN}\n"
    f"C-BETA,Beta Handel AG,DE987654321,DE,EUR,500000.00,,{BETA_IBAN}\n"
)
#: Acme's twelve open invoices: the eight an advice lists add up to 8,070.00, and so do other sets.
ACME_AMOUNTS = ["1000.00", "1250.00", "870.00", "640.00", "1500.00", "930.00", "1100.00", "780.00"]
ACME_OTHERS = ["1000.00", "640.00", "1250.00", "2380.00"]
GROUP = [f"RE-2026-{k:04d}" for k in range(1, 9)]
GROUP_TOTAL = sum(Decimal(a) for a in ACME_AMOUNTS)  # 8,070.00


def invoices() -> str:
    rows = ["invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number"]
    for k, amount in enumerate([*ACME_AMOUNTS, *ACME_OTHERS], start=1):
        rows.append(f"RE-2026-{k:04d},C-ACME,2026-02-{k:02d},2026-03-{k:02d},EUR,{amount},{amount},")
    rows.append("BH-2026-0555,C-BETA,2026-02-01,2026-03-01,EUR,8070.00,8070.00,")
    return "\n".join(rows) + "\n"


def camt(entries: Sequence[dict[str, str]]) -> str:
    """A camt.053 of credit entries: ``ref``, ``amount``, ``name``, ``iban``, ``text``, ``e2e``."""
    out = []
    for e in entries:
        out.append(
            f'<Ntry><Amt Ccy="EUR">{e["amount"]}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
            f"<BookgDt><Dt>{e.get('booked', '2026-04-02')}</Dt></BookgDt><ValDt><Dt>2026-04-02</Dt></ValDt>"
            f"<AcctSvcrRef>{e['ref']}</AcctSvcrRef><BkTxCd><Prtry><Cd>NTRF</Cd></Prtry></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><EndToEndId>{e.get('e2e', 'NOTPROVIDED')}</EndToEndId></Refs>"
            f"<RltdPties><Dbtr><Nm>{e['name']}</Nm></Dbtr><DbtrAcct><Id><IBAN>{e['iban']}</IBAN></Id></DbtrAcct>"
            f"</RltdPties><RmtInf><Ustrd>{e['text']}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M-1</MsgId><CreDtTm>2026-04-02T18:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S-1</Id><CreDtTm>2026-04-02T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id></Acct>" + "".join(out) + "</Stmt></BkToCstmrStmt></Document>\n"
    )


def remt(advices: Sequence[dict[str, Any]]) -> str:
    """A remt.001.001.04 with one RmtInf per advice: ``id``, ``amount``, ``name``, ``iban``, ``docs``
    (numbers with the amounts paid, and a discount taken where a third item gives one), optional
    ``e2e``, ``date``, ``texts``."""
    out = []
    for a in advices:
        docs = "".join(
            f"<Strd><RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp><Nb>{n}</Nb></RfrdDocInf><RfrdDocAmt>"
            + "".join(f'<DscntApldAmt><Amt Ccy="EUR">{d}</Amt></DscntApldAmt>' for d in discount)
            + f'<RmtdAmt Ccy="EUR">{amount}</RmtdAmt></RfrdDocAmt></Strd>'
            for n, amount, *discount in a["docs"]
        )
        texts = "".join(f"<Ustrd>{t}</Ustrd>" for t in a.get("texts", []))
        out.append(
            f"<RmtInf><RmtId>{a['id']}</RmtId>{texts}{docs}<OrgnlPmtInf>"
            f"<Refs><EndToEndId>{a.get('e2e', 'NOTPROVIDED')}</EndToEndId></Refs>"
            f'<Amt><InstdAmt Ccy="EUR">{a["amount"]}</InstdAmt></Amt>'
            f"<ReqdExctnDt><Dt>{a.get('date', '2026-04-01')}</Dt></ReqdExctnDt>"
            f"<Dbtr><Nm>{a['name']}</Nm></Dbtr><DbtrAcct><Id><IBAN>{a['iban']}</IBAN></Id></DbtrAcct>"
            "</OrgnlPmtInf></RmtInf>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:remt.001.001.04"><RmtAdvc>'
        "<GrpHdr><MsgId>ADV-1</MsgId><CreDtTm>2026-04-01T09:00:00</CreDtTm><InitgPty><Nm>Acme</Nm></InitgPty>"
        "</GrpHdr>" + "".join(out) + "</RmtAdvc></Document>\n"
    )


def group_advice(**over: Any) -> dict[str, Any]:
    return {
        "id": "ZA-2026-0419",
        "amount": str(GROUP_TOTAL),
        "name": "Acme Industries GmbH",
        "iban": ACME_IBAN,
        "docs": list(zip(GROUP, ACME_AMOUNTS, strict=True)),
        **over,
    }


def acme_payment(**over: str) -> dict[str, str]:
    return {
        "ref": "BANK-1",
        "amount": str(GROUP_TOTAL),
        "name": "ACME INDUSTRIES GMBH",
        "iban": ACME_IBAN,
        "text": "Sammelzahlung siehe Zahlungsavis",
        **over,
    }


@pytest.fixture
def folder(tmp_path: Path, db_url: str) -> Iterator[Any]:
    """``make(entries)``: a synced hub folder with this statement; yields the maker."""
    hubs: list[Hub] = []

    def make(entries: Sequence[dict[str, str]]) -> tuple[Path, Hub]:
        (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
        (tmp_path / "invoices.csv").write_text(invoices(), encoding="utf-8")
        (tmp_path / "statement.xml").write_text(camt(entries), encoding="utf-8")
        write_config(tmp_path, db_url, sink=None)
        hub = Hub(load_config(tmp_path / "hub.toml"))
        hubs.append(hub)
        hub.init()
        hub.sync()
        return tmp_path, hub

    yield make
    for h in hubs:
        h.close()


def allocations(hub: Hub, ref: str) -> dict[str, list[str]]:
    """The receipt's allocations by status: the invoice numbers."""
    a, r, i = schema.allocation, schema.receipt, schema.invoice
    out: dict[str, list[str]] = {}
    with hub.store.connect() as conn:
        for status, number in conn.execute(
            sa.select(a.c.status, i.c.number)
            .join(r, r.c.id == a.c.receipt_id)
            .join(i, i.c.id == a.c.invoice_id)
            .where(r.c.bank_ref == ref, a.c.kind == "payment")
        ):
            out.setdefault(status, []).append(number)
    return {k: sorted(v) for k, v in out.items()}


def import_advices(path: Path, *files: str, check: bool = True) -> Any:
    return run_hub("--json", "advices", "import", *files, cwd=path, check=check)


# -- the pipeline ---------------------------------------------------------------------------------------


def test_a_payment_saying_see_advice_is_applied_to_the_invoices_its_advice_lists(folder: Any) -> None:
    path, hub = folder([acme_payment()])
    hub.reconcile()
    assert "auto" not in allocations(hub, "BANK-1")  # eight of twelve invoices, named by nobody: not provable
    (path / "advice.xml").write_text(remt([group_advice()]), encoding="utf-8")
    out = json.loads(import_advices(path, "advice.xml").stdout)["advices_import"]
    assert out == [{"file": "advice.xml", "advices": 1, "documents": 8, "new": 1, "held": 0}]
    stats = hub.reconcile()  # the receipt was looked at before the advice came: it is looked at again
    assert stats.auto == 1
    assert allocations(hub, "BANK-1")["auto"] == GROUP
    explained = run_hub("matches", "explain", "BANK-1", cwd=path).stdout
    assert "remittance advice ZA-2026-0419" in explained and "lists RE-2026-0008" in explained
    texts = json.loads(run_hub("--json", "matches", "explain", "BANK-1", cwd=path).stdout)["receipt"]["texts"]
    (documents,) = [t for t in texts if t["field"] == "advice"]
    assert documents["label"] == (
        "remittance advice ZA-2026-0419, advice.xml, 2026-04-01, 8070.00 EUR; linked by payer and amount: documents"
    )
    assert documents["text"].startswith("RE-2026-0001 1000.00, RE-2026-0002 1250.00")
    chinese = run_hub("matches", "explain", "BANK-1", "--lang", "zh_CN", cwd=path).stdout
    assert "付款通知ZA-2026-0419" in chinese


def test_the_advice_list_is_what_the_payment_pays_though_its_text_seems_to_name_another_invoice(
    folder: Any,
) -> None:
    # "Auftrag BH-2026-0555": the text names Beta's invoice (of exactly the amount), the advice Acme's eight.
    # (A number that is also one of Acme's own written with a slip would be a conflict: see below.)
    path, hub = folder([acme_payment(text="Sammelzahlung Auftrag BH-2026-0555 siehe Avis")])
    (path / "advice.xml").write_text(remt([group_advice()]), encoding="utf-8")
    import_advices(path, "advice.xml")
    hub.reconcile()
    assert allocations(hub, "BANK-1") == {"auto": GROUP}


def test_an_advice_listing_other_invoices_of_the_customer_than_its_payment_names_is_only_suggested(
    folder: Any,
) -> None:
    # The payment names RE-2026-0009 itself; the advice of the same payer and amount lists the group:
    # an advice of another payment, or a payment of another list. A person decides.
    path, hub = folder([acme_payment(text="Rechnung RE-2026-0009")])
    (path / "advice.xml").write_text(remt([group_advice()]), encoding="utf-8")
    import_advices(path, "advice.xml")
    hub.reconcile()
    assert "auto" not in allocations(hub, "BANK-1")


def test_a_fee_deducted_on_the_way_still_links_the_advice_and_is_written_off(folder: Any) -> None:
    path, hub = folder([acme_payment(amount=str(GROUP_TOTAL - Decimal("12.50")))])
    (path / "advice.xml").write_text(remt([group_advice()]), encoding="utf-8")
    import_advices(path, "advice.xml")
    hub.reconcile()
    assert allocations(hub, "BANK-1")["auto"] == GROUP
    with hub.store.connect() as conn:
        written_off = conn.execute(
            sa.select(schema.allocation.c.amount).where(
                schema.allocation.c.kind == "write_off", schema.allocation.c.status == "auto"
            )
        ).scalars()
        assert list(written_off) == [Decimal("12.50")]


def test_an_advice_named_in_the_payment_is_linked_although_another_advice_has_the_same_amount(folder: Any) -> None:
    path, hub = folder([acme_payment(text="Avis 483920")])
    other = group_advice(id="ZA-2026-0420", docs=[("RE-2026-0009", "1000.00")], amount=str(GROUP_TOTAL))
    (path / "advice.xml").write_text(remt([other, group_advice(id="483920")]), encoding="utf-8")
    import_advices(path, "advice.xml")
    with hub.store.connect() as conn:
        (link,) = advice_links(conn, lambda currency: Decimal(100)).values()
    assert (link.external_id, link.by) == ("483920", "advice_number")
    hub.reconcile()
    assert allocations(hub, "BANK-1")["auto"] == GROUP


def test_an_advice_number_written_in_another_payers_payment_links_nothing(folder: Any) -> None:
    # Beta's payment names its own document 483920; Acme's advice happens to be numbered alike.
    beta = acme_payment(name="Beta Handel AG", iban=BETA_IBAN, text="Rechnung 483920", amount="500.00")
    path, hub = folder([beta])
    (path / "advice.xml").write_text(remt([group_advice(id="483920")]), encoding="utf-8")
    import_advices(path, "advice.xml")
    with hub.store.connect() as conn:
        assert advice_links(conn, lambda currency: Decimal(100)) == {}


def test_an_advice_with_the_payments_end_to_end_id_is_linked_by_it(folder: Any) -> None:
    path, hub = folder([acme_payment(e2e="E2E-ACME-77", text="Zahlung", name="Acme Treasury Services")])
    (path / "advice.xml").write_text(remt([group_advice(e2e="E2E-ACME-77", iban=BETA_IBAN)]), encoding="utf-8")
    import_advices(path, "advice.xml")
    with hub.store.connect() as conn:
        (link,) = advice_links(conn, lambda currency: Decimal(100)).values()
    assert link.by == "end_to_end_id"
    hub.reconcile()
    assert allocations(hub, "BANK-1")["auto"] == GROUP


def test_an_advice_two_payments_fit_is_linked_to_neither(folder: Any) -> None:
    # The same payer pays the same amount twice in the week: which one the advice describes is a guess.
    path, hub = folder([acme_payment(), acme_payment(ref="BANK-2", booked="2026-04-03")])
    (path / "advice.xml").write_text(remt([group_advice()]), encoding="utf-8")
    import_advices(path, "advice.xml")
    with hub.store.connect() as conn:
        assert advice_links(conn, lambda currency: Decimal(100)) == {}
    hub.reconcile()
    assert "auto" not in allocations(hub, "BANK-1") and "auto" not in allocations(hub, "BANK-2")


def test_an_advice_of_another_payer_or_beyond_the_fee_ceiling_is_not_linked_by_amount(folder: Any) -> None:
    path, hub = folder([acme_payment(), acme_payment(ref="BANK-2", amount="7000.00")])
    beta = group_advice(id="B-1", name="Beta Handel AG", iban=BETA_IBAN)
    far = group_advice(id="A-2", amount="7150.00", docs=[("RE-2026-0009", "1000.00")])  # 150.00 short: no fee
    (path / "advice.xml").write_text(remt([beta, far]), encoding="utf-8")
    import_advices(path, "advice.xml")
    with hub.store.connect() as conn:
        assert advice_links(conn, lambda currency: Decimal(100)) == {}


def test_an_advice_is_linked_by_name_only_where_one_side_gives_no_account(folder: Any) -> None:
    # The payment comes from an account the advice does not give: two accounts are two payers, however
    # alike their names. Without an account in the advice, the name is the payer.
    path, hub = folder([acme_payment(iban="DE75512108001245126199")])
    (path / "advice.xml").write_text(remt([group_advice()]), encoding="utf-8")
    import_advices(path, "advice.xml")
    with hub.store.connect() as conn:
        assert advice_links(conn, lambda currency: Decimal(100)) == {}
    (path / "other.xml").write_text(remt([group_advice(id="ZA-NO-ACCOUNT", iban="")]), encoding="utf-8")
    import_advices(path, "other.xml")
    with hub.store.connect() as conn:
        (link,) = advice_links(conn, lambda currency: Decimal(100)).values()
    assert link.external_id == "ZA-NO-ACCOUNT"


@pytest.mark.parametrize(
    ("received", "ceiling", "linked"),
    [("8053.60", "100", False), ("8062.50", "100", True), ("8061.93", "100", True), ("3000.00", "5070", False)],
)
def test_a_receipt_short_of_an_advice_is_linked_only_by_a_difference_banks_charge(
    folder: Any, received: str, ceiling: str, linked: bool
) -> None:
    # 16.40 short is no charge (an advice of another payment, a little above this one); 7.50 is a
    # tariff, 8.07 is 0.1% of 8,070.00: fees deducted on the way. 5,070.00 short is round and within a
    # ceiling in a currency of small units, but no bank takes most of a payment.
    path, hub = folder([acme_payment(amount=received)])
    (path / "advice.xml").write_text(remt([group_advice()]), encoding="utf-8")
    import_advices(path, "advice.xml")
    with hub.store.connect() as conn:
        assert bool(advice_links(conn, lambda currency: Decimal(ceiling))) is linked


def test_an_exact_amount_is_linked_before_one_short_by_a_fee_and_then_the_other_fits_alone(folder: Any) -> None:
    # Receipt 1 equals advice A1 and is 10.00 short of A2; receipt 2 is short of both (5.00 and 15.00).
    path, hub = folder([acme_payment(amount="1000.00"), acme_payment(ref="BANK-2", amount="995.00")])
    a1 = group_advice(id="A-1", amount="1000.00", docs=[("RE-2026-0001", "1000.00")])
    a2 = group_advice(id="A-2", amount="1010.00", docs=[("RE-2026-0009", "1000.00")])
    (path / "advice.xml").write_text(remt([a1, a2]), encoding="utf-8")
    import_advices(path, "advice.xml")
    with hub.store.connect() as conn:
        refs = dict(conn.execute(sa.select(schema.receipt.c.id, schema.receipt.c.bank_ref)).all())
        links = {refs[rid]: link.external_id for rid, link in advice_links(conn, lambda c: Decimal(100)).items()}
    assert links == {"BANK-1": "A-1", "BANK-2": "A-2"}


# -- the payer's own split -------------------------------------------------------------------------------


def lines_of(hub: Hub, ref: str) -> list[tuple[str, str, Decimal, str]]:
    """The receipt's allocations: (invoice, kind, amount, method), sorted."""
    a, r, i = schema.allocation, schema.receipt, schema.invoice
    with hub.store.connect() as conn:
        rows = conn.execute(
            sa.select(i.c.number, a.c.kind, a.c.amount, a.c.method, a.c.status)
            .join(r, r.c.id == a.c.receipt_id)
            .join(i, i.c.id == a.c.invoice_id)
            .where(r.c.bank_ref == ref, a.c.status == "auto")
        ).all()
    return sorted((n, k, amount, m) for n, k, amount, m, _ in rows)


def test_an_advice_paying_part_of_an_invoice_is_applied_as_it_says_and_the_rest_left_open(folder: Any) -> None:
    advice = group_advice(amount="1850.00", docs=[("RE-2026-0001", "600.00"), ("RE-2026-0002", "1250.00")])
    path, hub = folder([acme_payment(amount="1850.00")])
    (path / "advice.xml").write_text(remt([advice]), encoding="utf-8")
    import_advices(path, "advice.xml")
    hub.reconcile()
    assert lines_of(hub, "BANK-1") == [
        ("RE-2026-0001", "payment", Decimal("600.00"), "advice"),
        ("RE-2026-0002", "payment", Decimal("1250.00"), "advice"),
    ]
    explained = run_hub("matches", "explain", "BANK-1", cwd=path).stdout
    assert "RE-2026-0001 stays open for 400.00" in explained


def test_discounts_an_advice_states_per_document_are_written_off_and_a_fee_on_the_way_besides(folder: Any) -> None:
    # 2 % on each: 980.00 + 1,225.00 = 2,205.00 sent; 2,190.00 arrived (15.00 kept by a bank on the way).
    docs = [("RE-2026-0001", "980.00", "20.00"), ("RE-2026-0002", "1225.00", "25.00")]
    path, hub = folder([acme_payment(amount="2190.00")])
    (path / "advice.xml").write_text(remt([group_advice(amount="2205.00", docs=docs)]), encoding="utf-8")
    import_advices(path, "advice.xml")
    hub.reconcile()
    got = lines_of(hub, "BANK-1")
    assert [(n, k, amount) for n, k, amount, _ in got] == [
        ("RE-2026-0001", "payment", Decimal("980.00")),
        ("RE-2026-0001", "write_off", Decimal("20.00")),
        ("RE-2026-0002", "payment", Decimal("1210.00")),
        ("RE-2026-0002", "write_off", Decimal("15.00")),
        ("RE-2026-0002", "write_off", Decimal("25.00")),
    ]
    assert {m for *_, m in got} == {"advice"}


def test_an_advice_whose_lines_do_not_add_up_to_its_amount_is_not_taken_as_a_split(folder: Any) -> None:
    # The lines come to 1,850.00; the advice says 1,900.00 was sent, and 1,900.00 came.
    advice = group_advice(amount="1900.00", docs=[("RE-2026-0001", "600.00"), ("RE-2026-0002", "1250.00")])
    path, hub = folder([acme_payment(amount="1900.00")])
    (path / "advice.xml").write_text(remt([advice]), encoding="utf-8")
    import_advices(path, "advice.xml")
    hub.reconcile()
    assert not [line for line in lines_of(hub, "BANK-1") if line[3] == "advice"]


# -- importing -------------------------------------------------------------------------------------------


def test_importing_an_advice_file_again_stores_nothing_new(folder: Any) -> None:
    path, hub = folder([acme_payment()])
    (path / "advice.xml").write_text(remt([group_advice(), group_advice(id="ZA-2")]), encoding="utf-8")
    import_advices(path, "advice.xml")
    again = json.loads(import_advices(path, "advice.xml").stdout)["advices_import"]
    assert (again[0]["new"], again[0]["held"]) == (0, 2)
    with hub.store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.remittance_advice)).scalar() == 2


def test_two_imports_of_one_file_at_once_store_each_advice_once(folder: Any) -> None:
    _, hub = folder([acme_payment()])
    advices = [
        {
            "external_id": f"ZA-{k}",
            "currency": "EUR",
            "amount": Decimal("10.00"),
            "documents": [{"number": "RE-2026-0001", "kind": "invoice", "amount": Decimal("10.00")}],
        }
        for k in range(40)
    ]
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            results.append(hub.store_advices("bank", "advice.xml", advices))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(new for new, _ in results) == 40 and sum(held for _, held in results) == 40
    with hub.store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.remittance_advice)).scalar() == 40


def test_a_broken_advice_file_fails_the_import_with_one_line_and_the_good_file_beside_it_is_stored(
    folder: Any,
) -> None:
    path, hub = folder([acme_payment()])
    (path / "good.xml").write_text(remt([group_advice()]), encoding="utf-8")
    (path / "broken.xml").write_text(remt([group_advice()])[:-40], encoding="utf-8")
    proc = import_advices(path, "broken.xml", "good.xml", check=False)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.xml" in errors[0]
    with hub.store.connect() as conn:
        assert conn.execute(sa.select(schema.remittance_advice.c.external_id)).scalars().all() == ["ZA-2026-0419"]


def test_a_dry_run_reads_and_counts_the_advices_and_stores_none(folder: Any) -> None:
    path, hub = folder([acme_payment()])
    (path / "advice.xml").write_text(remt([group_advice(), group_advice(id="ZA-2")]), encoding="utf-8")
    out = json.loads(run_hub("--json", "advices", "import", "--dry-run", "advice.xml", cwd=path).stdout)
    assert out["dry_run"] is True
    assert out["advices_import"] == [{"file": "advice.xml", "advices": 2, "documents": 16, "new": None, "held": None}]
    with hub.store.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.remittance_advice)).scalar() == 0


def test_advices_list_shows_each_advice_with_the_receipt_it_is_read_with_and_those_without_one(folder: Any) -> None:
    path, _ = folder([acme_payment()])
    orphan = group_advice(id="ZA-2026-0999", amount="123.45", docs=[("RE-2026-0001", "123.45")], date="2026-03-01")
    (path / "advice.xml").write_text(remt([group_advice(), orphan]), encoding="utf-8")
    import_advices(path, "advice.xml")
    listed = json.loads(run_hub("--json", "advices", "list", cwd=path).stdout)["advices"]
    assert [a["number"] for a in listed] == ["ZA-2026-0419", "ZA-2026-0999"]  # the latest payment date first
    linked, alone = listed
    assert (linked["receipt"], linked["linked_by"], linked["documents"]) == ("BANK-1", "payer_amount", 8)
    assert (alone["receipt"], alone["linked_by"], alone["amount"]) == (None, None, "123.45")
    unlinked = json.loads(run_hub("--json", "advices", "list", "--unlinked", cwd=path).stdout)["advices"]
    assert [a["number"] for a in unlinked] == ["ZA-2026-0999"]
    table = run_hub("advices", "list", cwd=path).stdout
    assert table.startswith("remittance advices") and "BANK-1" in table
