"""Every text the bank gives is evidence (issue 16).

For each statement format, a text given in one place only (an invoice number only in a camt
``AddtlTxInf``, only in the ``?2x`` continuation of an MT940 ``:86:``, only in a BAI2 ``88`` record,
only in an OFX ``NAME``) is stored, read by the matcher and leads to the right invoice through the
real pipeline (sync, then reconcile), and ``hub matches explain`` lists it with where it came from.
The reader-level tests pin the texts each importer used to drop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_connectors.bank_files import camt as camt_module, open_statement

from hub.app import Hub
from hub.config import load_config
from hub.recon import ReconcileEngine

from .conftest import run_hub, write_config

CUSTOMERS = (
    "customer_id,name,tax_id,country,currency,credit_limit,parent_id,iban\n"
    "C-ACME,Acme Industries GmbH,DE123456789,DE,EUR,100000.00,,DE02120300000000202051\n"
)
# Two invoices of one customer for the same amount: only the invoice number tells them apart.
INVOICES = (
    "invoice_number,customer_id,issue_date,due_date,currency,amount,open_amount,po_number\n"
    "INV-2026-0042,C-ACME,2026-03-01,2026-03-31,EUR,1190.00,1190.00,\n"
    "INV-2026-0043,C-ACME,2026-03-02,2026-04-01,EUR,1190.00,1190.00,\n"
)
OUR_IBAN = "DE89370400440532013000"


# -- statements, each with the invoice number in one place only ------------------------------------


def camt(*, tx_info: str | None = None, entry_info: str | None = None, ustrd: str = "Sammelzahlung") -> str:
    tx = f"<AddtlTxInf>{tx_info}</AddtlTxInf>" if tx_info else ""
    entry = f"<AddtlNtryInf>{entry_info}</AddtlNtryInf>" if entry_info else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M-1</MsgId><CreDtTm>2026-04-02T18:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S-1</Id><CreDtTm>2026-04-02T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id></Acct>\n"
        '<Ntry><Amt Ccy="EUR">1190.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2026-04-02</Dt></BookgDt><ValDt><Dt>2026-04-02</Dt></ValDt>"
        "<AcctSvcrRef>BANKREF-CAMT</AcctSvcrRef><BkTxCd><Prtry><Cd>NTRF</Cd></Prtry></BkTxCd>"
        "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        "<RltdPties><Dbtr><Nm>Someone Else</Nm></Dbtr></RltdPties>"
        f"<RmtInf><Ustrd>{ustrd}</Ustrd></RmtInf>{tx}</TxDtls></NtryDtls>{entry}</Ntry>\n"
        "</Stmt></BkToCstmrStmt></Document>\n"
    )


def mt940(narrative: str) -> str:
    """One credit of 1190.00 with this :86: narrative, wrapped at 65 characters as banks do."""
    lines = [narrative[i : i + 61] for i in range(0, len(narrative), 61)]
    lines[0] = ":86:" + lines[0]
    return (
        ":20:STARTUMSE\n"
        f":25:{OUR_IBAN}\n"
        ":28C:00001/001\n"
        ":60F:C260401EUR1000,00\n"
        ":61:2604020402CR1190,00NTRFNONREF//BANKREF-MT940\n" + "\n".join(lines) + "\n:62F:C260402EUR2190,00\n-\n"
    )


#: The customer reference (KREF+) fills its 27-character subfield ?20; its end is in ?21.
ZKA_KREF_CONTINUED = (
    "166?00SEPA-GUTSCHRIFT?109310?20KREF+Rechnung Nr INV-2026-0?21043?22SVWZ+Sammelzahlung"
    "?30COBADEFFXXX?31DE44500105175407324931?32Someone Else"
)

BAI2 = (
    "01,SENDER,RECEIVER,260402,1200,1,80,,2/\n"
    "02,RECEIVER,BANKID,1,260402,,EUR,2/\n"
    "03,123456789,EUR,,,,,/\n"
    "16,195,119000,0,BANKREF-BAI2,,Incoming transfer/\n"
    "88,REMI: Sammelzahlung\n"
    "88,INVOICE INV-2026-0043\n"
    "49,119000,5/\n"
    "98,119000,1,7/\n"
    "99,119000,1,9/\n"
)

OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20260402<LANGUAGE>ENG</SONRS>
</SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>EUR
<BANKACCTFROM><BANKID>37040044<ACCTID>0532013000<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20260401<DTEND>20260402
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20260402<TRNAMT>1190.00<FITID>BANKREF-OFX<NAME>PMT INV-2026-0043 OTHERCO
<MEMO>Sammelzahlung</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>1190.00<DTASOF>20260402</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""


# -- the pipeline -----------------------------------------------------------------------------------


def _folder(tmp_path: Path, db_url: str, name: str, content: str) -> Path:
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    (tmp_path / "statements").mkdir()
    (tmp_path / "statements" / name).write_text(content, encoding="utf-8")
    write_config(tmp_path, db_url, statements="statements", sink=None)
    return tmp_path


@pytest.fixture
def make_hub(tmp_path: Path, db_url: str) -> Iterator[Any]:
    hubs: list[Hub] = []

    def make(name: str, content: str) -> Hub:
        _folder(tmp_path, db_url, name, content)
        h = Hub(load_config(tmp_path / "hub.toml"))
        hubs.append(h)
        h.init()
        h.sync()
        return h

    yield make
    for h in hubs:
        h.close()


def _read_by_matcher(hub: Hub) -> list[tuple[str | None, list[str]]]:
    """Each pending receipt's bank reference and the texts the engine hands the matchers."""
    with hub.store.connect() as conn:
        return [(view.bank_ref, view.texts()) for view, _ in ReconcileEngine(hub.store, [])._pending(conn)]


def _matched(hub: Hub, ref: str) -> tuple[str, list[str]]:
    data = hub.matches.explain(ref)
    invoices = [a["invoice"] for a in data["allocations"] if a["status"] == "auto"]
    return data["receipt"]["match_status"], invoices


def _explained(hub: Hub, ref: str) -> list[tuple[str, str]]:
    return [(t["field"], t["text"]) for t in hub.matches.explain(ref)["receipt"]["texts"]]


CASES = [
    pytest.param(
        "statement.xml",
        camt(tx_info="Rechnung INV-2026-0043"),
        "BANKREF-CAMT",
        ("additional_tx_info", "Rechnung INV-2026-0043"),
        id="camt-AddtlTxInf",
    ),
    pytest.param(
        "statement.xml",
        camt(entry_info="Rechnung INV-2026-0043"),
        "BANKREF-CAMT",
        ("additional_entry_info", "Rechnung INV-2026-0043"),
        id="camt-AddtlNtryInf",
    ),
    pytest.param(
        "statement.sta",
        mt940(ZKA_KREF_CONTINUED),
        "BANKREF-MT940",
        ("additional_remittance", "KREF+Rechnung Nr INV-2026-0043"),
        id="mt940-KREF-continued-in-21",
    ),
    pytest.param(
        "statement.bai",
        BAI2,
        "BANKREF-BAI2",
        ("additional_tx_info", "Incoming transfer\nREMI: Sammelzahlung\nINVOICE INV-2026-0043"),
        id="bai2-88-record",
    ),
    pytest.param(
        "statement.ofx",
        OFX,
        "BANKREF-OFX",
        ("additional_tx_info", "PMT INV-2026-0043 OTHERCO"),
        id="ofx-NAME",
    ),
]


@pytest.mark.parametrize(("name", "content", "ref", "where"), CASES)
def test_an_invoice_number_given_in_one_place_only_is_stored_read_matched_and_explained(
    make_hub: Any, name: str, content: str, ref: str, where: tuple[str, str]
) -> None:
    hub = make_hub(name, content)
    _field, text = where
    ((bank_ref, texts),) = _read_by_matcher(hub)
    assert bank_ref == ref
    assert text in texts  # the engine hands it to the matchers
    hub.reconcile()
    assert _matched(hub, ref) == ("matched", ["INV-2026-0043"])
    assert where in _explained(hub, ref)


def test_explain_lists_every_text_the_matcher_read_in_the_order_it_read_them(make_hub: Any) -> None:
    hub = make_hub("statement.xml", camt(tx_info="Rechnung INV-2026-0043", entry_info="Gutschrift"))
    ((_, texts),) = _read_by_matcher(hub)
    hub.reconcile()
    explained = _explained(hub, "BANKREF-CAMT")
    assert [text for field, text in explained if field != "ultimate_payer_name"] == texts
    assert explained == [
        ("remittance", "Sammelzahlung"),
        ("additional_tx_info", "Rechnung INV-2026-0043"),
        ("additional_entry_info", "Gutschrift"),
    ]


def test_cli_explain_shows_each_text_with_where_it_came_from(tmp_path: Path, db_url: str) -> None:
    _folder(tmp_path, db_url, "statement.sta", mt940(ZKA_KREF_CONTINUED))
    run_hub("init", cwd=tmp_path)
    run_hub("run", cwd=tmp_path)
    data = json.loads(run_hub("--json", "matches", "explain", "BANKREF-MT940", cwd=tmp_path).stdout)
    receipt = data["receipt"]
    assert receipt["remittance"] == "Sammelzahlung"  # the old keys stay
    texts = receipt["texts"]
    assert {
        "field": "additional_remittance",
        "label": "additional remittance",
        "text": "KREF+Rechnung Nr INV-2026-0043",
    } in texts
    assert texts[0] == {"field": "remittance", "label": "remittance", "text": "Sammelzahlung"}
    assert data["allocations"][0]["invoice"] == "INV-2026-0043"
    human = run_hub("matches", "explain", "BANKREF-MT940", cwd=tmp_path).stdout
    assert "additional remittance: KREF+Rechnung Nr INV-2026-0043" in human
    assert "remittance: Sammelzahlung" in human
    assert "    additional transaction information:\n      166?00SEPA-GUTSCHRIFT?109310?20KREF+" in human


# -- what each reader used to drop ------------------------------------------------------------------


def _receipts(tmp_path: Path, name: str, content: str) -> list[dict[str, Any]]:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return list(open_statement(path))


CAMT_BATCH_WITHOUT_AMOUNTS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>'
    "<GrpHdr><MsgId>M-2</MsgId><CreDtTm>2026-04-02T18:00:00</CreDtTm></GrpHdr>"
    f"<Ntfctn><Id>N-1</Id><Acct><Id><IBAN>{OUR_IBAN}</IBAN></Id></Acct>"
    '<Ntry><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
    "<BookgDt><Dt>2026-04-02</Dt></BookgDt><AcctSvcrRef>B-1</AcctSvcrRef><NtryDtls>"
    "<TxDtls><Refs><EndToEndId>E2E-A</EndToEndId></Refs><RltdPties><UltmtDbtr><Nm>Ultimate A</Nm></UltmtDbtr>"
    "</RltdPties><RmtInf><Ustrd>first</Ustrd></RmtInf><AddtlTxInf>info A</AddtlTxInf></TxDtls>"
    "<TxDtls><Refs><EndToEndId>E2E-B</EndToEndId></Refs><RltdPties><UltmtDbtr><Nm>Ultimate B</Nm></UltmtDbtr>"
    "</RltdPties><RmtInf><Ustrd>second</Ustrd></RmtInf><AddtlTxInf>info B</AddtlTxInf></TxDtls>"
    "</NtryDtls><AddtlNtryInf>entry</AddtlNtryInf></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"
)


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "element-walk"])
def test_camt_batch_without_amounts_keeps_every_transactions_texts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool
) -> None:
    monkeypatch.setattr(camt_module, "_FAST_PATH", fast)
    monkeypatch.setattr(camt_module, "_RAW", fast)
    (r,) = _receipts(tmp_path, "batch.xml", CAMT_BATCH_WITHOUT_AMOUNTS)
    assert r["remittance"] == "first\nsecond"
    assert r["end_to_end_id"] == "E2E-A"
    assert r["ultimate_payer_name"] == "Ultimate A"
    assert r["additional_tx_info"] == "info A\nEndToEndId E2E-B\nUltmtDbtr Ultimate B\ninfo B"
    assert r["additional_entry_info"] == "entry"


def test_mt940_customer_and_mandate_references_are_texts_the_matcher_reads(tmp_path: Path) -> None:
    narrative = (
        "166?00SEPA-GUTSCHRIFT?109310?20KREF+Rechnung Nr INV-2026-0?21043?22MREF+M-77"
        "?23SVWZ+Sammelzahlung?32Someone Else"
    )
    (r,) = _receipts(tmp_path, "a.sta", mt940(narrative))
    assert r["instruction_id"] == "Rechnung Nr INV-2026-0043"
    assert r["mandate_id"] == "M-77"
    assert r["additional_remittance"] == ["KREF+Rechnung Nr INV-2026-0043", "MREF+M-77"]
    assert r["remittance"] == "Sammelzahlung"


def test_mt940_ultimate_creditor_of_a_credit_is_kept_but_not_taken_for_the_ultimate_payer(tmp_path: Path) -> None:
    narrative = "166?00SEPA-GUTSCHRIFT?109310?20SVWZ+Rechnung 42?21ABWE+Acme Tochter GmbH?32Someone Else"
    (r,) = _receipts(tmp_path, "a.sta", mt940(narrative))
    assert r["ultimate_payer_name"] is None
    assert r["additional_remittance"] == ["ABWE+Acme Tochter GmbH"]
    both = "166?00SEPA-GUTSCHRIFT?109310?20SVWZ+Rechnung 42?21ABWA+Muster Holding?22ABWE+Acme Tochter GmbH"
    (r,) = _receipts(tmp_path, "b.sta", mt940(both))
    assert r["ultimate_payer_name"] == "Muster Holding"
    assert r["additional_remittance"] == ["ABWE+Acme Tochter GmbH"]


RABOBANK_STRUCTURED = (
    "/EREF/E2E-0815//ORDP//NAME/Acme Industries GmbH/ADDR/Hauptstr. 1 Berlin//ULTD//NAME/Acme Holding"
    "/ID/77//REMI/Rechnung INV-2026-0043//ISDT/2026-04-02"
)


def test_dutch_ordering_party_and_ultimate_debtor_are_read_from_their_sub_keys(tmp_path: Path) -> None:
    (r,) = _receipts(tmp_path, "a.sta", mt940(RABOBANK_STRUCTURED))
    assert r["payer_name"] == "Acme Industries GmbH"
    assert r["ultimate_payer_name"] == "Acme Holding"
    assert r["end_to_end_id"] == "E2E-0815"
    assert r["remittance"] == "Rechnung INV-2026-0043"


def test_dutch_creditor_reference_is_a_structured_reference(tmp_path: Path) -> None:
    narrative = (
        "/TRTP/SEPA OVERBOEKING/IBAN/NL44RABO0123456789/BIC/RABONL2U/NAME/ACME B.V."
        "/CDTRREFTP//CD/SCOR/ISSR/CUR/CDTRREF/RF18539007547034/EREF/NOTPROVIDED"
    )
    (r,) = _receipts(tmp_path, "a.sta", mt940(narrative))
    assert r["references"] == [{"type": "SCOR", "value": "RF18539007547034", "issuer": "CUR"}]
    assert r["payer_name"] == "ACME B.V."


def test_ofx_name_payee_and_extended_name_are_all_kept(tmp_path: Path) -> None:
    content = OFX.replace("<MEMO>", "<EXTDNAME>Other Company Ltd, invoice INV-2026-0043<MEMO>")
    (r,) = _receipts(tmp_path, "a.ofx", content)
    assert r["payer_name"] == "PMT INV-2026-0043 OTHERCO"
    assert r["remittance"] == "Sammelzahlung"
    assert r["additional_tx_info"] == "PMT INV-2026-0043 OTHERCO\nOther Company Ltd, invoice INV-2026-0043"
