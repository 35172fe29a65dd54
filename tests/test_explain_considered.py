"""``hub matches explain --considered``: why a receipt left open was not even suggested.

A run stores only proposals at or above the suggestion threshold; finance asking about an open receipt
is shown what the matchers weigh now against the open book (not stored, nothing allocated), in English
and Chinese. Through the real pipeline: CSV invoices and a camt.053 statement, ``hub run``, the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from hub.store import schema

from .conftest import run_hub, write_config
from .test_advice_match import ACME_IBAN, CUSTOMERS, camt

#: Acme's open invoices: four of 238.00 (a price-list amount) and one of 119.00.
INVOICES = "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n" + "".join(
    f"VR-{k},C-ACME,2026-02-0{k},2026-03-0{k},EUR,{amount},{amount},\n"
    for k, amount in enumerate(["238.00", "238.00", "238.00", "238.00", "119.00"], start=1)
)


def _folder(tmp_path: Path, db_url: str) -> Path:
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    payments = [
        # Acme's own account, nothing named: one of four invoices alike, none sure enough to suggest.
        {"ref": "BANK-1", "amount": "238.00", "name": "ACME INDUSTRIES GMBH", "iban": ACME_IBAN, "text": "Zahlung"},
        # Nobody known, an amount no invoice has: nothing to weigh.
        {"ref": "BANK-2", "amount": "999.99", "name": "SOMEONE", "iban": "DE75512108001245126199", "text": "x"},
    ]
    (tmp_path / "statement.xml").write_text(camt(payments), encoding="utf-8")
    write_config(tmp_path, db_url, sink=None)
    run_hub("init", cwd=tmp_path)
    run_hub("run", cwd=tmp_path)
    return tmp_path


def _allocations(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(schema.allocation)).scalar_one())
    finally:
        engine.dispose()


def test_an_open_receipt_shows_what_the_matchers_weighed_below_the_threshold(tmp_path: Path, db_url: str) -> None:
    folder = _folder(tmp_path, db_url)
    plain = run_hub("matches", "explain", "BANK-1", cwd=folder).stdout
    assert "status open" in plain
    assert "no proposal reached the suggestion threshold (0.30)" in plain
    assert "--considered" in plain
    stored = _allocations(db_url)

    text = run_hub("matches", "explain", "BANK-1", "--considered", cwd=folder).stdout
    assert text.count("considered now (not stored)") == 3  # the three due first of four alike
    assert "VR-1" in text and "VR-2" in text and "VR-3" in text and "VR-4" not in text
    assert "one of 4 such invoices" in text
    assert "none of the 4 is named: each is as likely as the others" in text
    assert "confidence 0.2" in text  # a quarter of a customer this sure, under 0.30
    assert _allocations(db_url) == stored  # weighing again stores nothing

    data = json.loads(run_hub("--json", "matches", "explain", "BANK-1", "--considered", cwd=folder).stdout)
    assert data["allocations"] == []
    considered = data["considered"]
    assert [c["lines"][0]["invoice"] for c in considered] == ["VR-1", "VR-2", "VR-3"]
    assert all(0.2 < c["confidence"] < 0.3 for c in considered)
    assert all(c["lines"][0]["amount"] == "238.00" for c in considered)


def test_considered_says_so_when_nothing_fits_and_speaks_chinese(tmp_path: Path, db_url: str) -> None:
    folder = _folder(tmp_path, db_url)
    text = run_hub("matches", "explain", "BANK-2", "--considered", cwd=folder).stdout
    assert "nothing to propose: no customer identified and no invoice named, or nothing fits the amount" in text

    zh = run_hub("matches", "explain", "BANK-1", "--considered", "--lang", "zh_CN", cwd=folder).stdout
    assert "这4张发票均未被提及" in zh
    assert "金额€238.00等于VR-1的未结金额，此类发票共4张" in zh  # noqa: RUF001


def test_considered_is_only_weighed_for_an_open_receipt(tmp_path: Path, db_url: str) -> None:
    folder = _folder(tmp_path, db_url)
    run_hub("matches", "confirm", "BANK-1", "VR-1", "--by", "gina", cwd=folder)
    text = run_hub("matches", "explain", "BANK-1", "--considered", cwd=folder).stdout
    assert "considered now" not in text
    assert "only an open receipt is weighed again" in text


def test_an_invoice_finance_undid_is_neither_weighed_nor_counted_among_those_alike(tmp_path: Path, db_url: str) -> None:
    folder = _folder(tmp_path, db_url)
    run_hub("matches", "confirm", "BANK-1", "VR-2", "--by", "gina", cwd=folder)
    run_hub("matches", "unmatch", "BANK-1", "--by", "gina", "--note", "paid another one", cwd=folder)
    data = json.loads(run_hub("--json", "matches", "explain", "BANK-1", "--considered", cwd=folder).stdout)
    considered = data["considered"]
    assert [c["lines"][0]["invoice"] for c in considered] == ["VR-1", "VR-3", "VR-4"]  # the three alike left
    assert all(0.3 < c["confidence"] < 0.4 for c in considered)  # a third each, not a quarter
    text = run_hub("matches", "explain", "BANK-1", "--considered", cwd=folder).stdout
    assert "none of the 3 is named" in text and "one of 3 such invoices" in text
