"""camt.052/053/054 reader on genuine files: counts, totals, remittance and references, safety, fuzzing.

Expected counts and totals are taken from each file by an independent reading with the standard
library's ElementTree, so the tests do not trust the reader to count itself.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hub_connectors.bank_files.camt import CamtReader, CamtSummary, detect_camt, iter_camt
from hypothesis import HealthCheck, example, given, settings, strategies as st
from lxml import etree

from hub.errors import StatementError

from .mutation import read_mutated

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"
CAMT053 = FIXTURES / "camt053"
CAMT054 = FIXTURES / "camt054"
INVALID = CAMT054 / "dvbern_invalid_notification-missing.xml"
VALID = sorted(CAMT053.glob("*.xml")) + sorted(p for p in CAMT054.glob("*.xml") if p != INVALID)

# Files that warn: undated entries, or a batch without amounts per transaction.
WARNED = {
    "dvbern_CH_no-credit-booked_camt.054.001.04.xml",
    "genkgo_uetr_camt.054.001.08.xml",
    "genkgo_strd-and-ustrd_camt.054.001.02.xml",
}
RECEIPT_KEYS = {
    "external_id",
    "bank_ref",
    "statement_id",
    "statement_seq",
    "message_id",
    "account",
    "account_currency",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "entry_amount",
    "entry_currency",
    "tx_amount",
    "tx_currency",
    "instructed_amount",
    "instructed_currency",
    "direction",
    "reversal",
    "status",
    "bank_tx_code",
    "payer_name",
    "payer_account",
    "ultimate_payer_name",
    "payer_bic",
    "remittance",
    "references",
    "additional_remittance",
    "end_to_end_id",
    "instruction_id",
    "tx_id",
    "mandate_id",
    "uetr",
    "additional_entry_info",
    "additional_tx_info",
    "return_reason",
    "purpose",
}


# -- an independent reading of the files (standard library only) ------------------------------------


def _local(el: ET.Element) -> str:
    return el.tag.rpartition("}")[2]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c) == name]


def _path(el: ET.Element | None, *names: str) -> ET.Element | None:
    for name in names:
        if el is None:
            return None
        found = _children(el, name)
        el = found[0] if found else None
    return el


def count_directly(path: Path) -> dict:
    """Statements, entries, receipts and signed totals per currency, read with ElementTree.

    One receipt per transaction of a batch entry whose transactions all carry an amount, else one
    receipt of the entry's amount and indicator.
    """
    root = ET.parse(path).getroot()
    statements = sum(1 for e in root.iter() if _local(e) in ("Stmt", "Ntfctn", "Rpt"))
    entries = receipts = 0
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for ntry in (e for e in root.iter() if _local(e) == "Ntry"):
        entries += 1
        sign = 1 if _path(ntry, "CdtDbtInd").text == "CRDT" else -1
        txs = [t for d in _children(ntry, "NtryDtls") for t in _children(d, "TxDtls")]
        amounts = [_path(t, "Amt") if _path(t, "Amt") is not None else _path(t, "AmtDtls", "TxAmt", "Amt") for t in txs]
        if len(txs) > 1 and all(a is not None for a in amounts):
            for tx, amt in zip(txs, amounts, strict=True):
                ind = _path(tx, "CdtDbtInd")
                tx_sign = sign if ind is None else (1 if ind.text == "CRDT" else -1)
                totals[amt.get("Ccy")] += tx_sign * Decimal(amt.text)
                receipts += 1
        else:
            amt = _path(ntry, "Amt")
            totals[amt.get("Ccy")] += sign * Decimal(amt.text)
            receipts += 1
    return {"statements": statements, "entries": entries, "receipts": receipts, "totals": dict(totals)}


def read(path: Path, **kwargs) -> tuple[list[dict], CamtSummary]:
    reader = CamtReader(path, **kwargs)
    receipts = list(reader)
    return receipts, reader.summary


def fixture(name: str) -> Path:
    return (CAMT053 if ".053." in name else CAMT054) / name


# -- every genuine file ------------------------------------------------------------------------------


def test_all_fixture_files_are_here() -> None:
    assert len(VALID) == 14
    assert INVALID.stat().st_size == 51


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_counts_and_totals_equal_an_independent_reading_of_the_file(path: Path) -> None:
    receipts, summary = read(path)
    expected = count_directly(path)
    assert len(receipts) == summary.receipts == expected["receipts"]
    assert summary.entries == expected["entries"]
    assert summary.statements == expected["statements"]
    got: dict[str, Decimal] = defaultdict(Decimal)
    for r in receipts:
        got[r["currency"]] += (1 if r["direction"] == "credit" else -1) * Decimal(r["amount"])
    assert dict(got) == expected["totals"] == summary.totals


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_receipt_has_the_documented_keys_and_well_formed_values(path: Path) -> None:
    receipts, summary = read(path)
    assert re.fullmatch(r"camt\.05[234]\.001\.\d\d", summary.message_type)
    for r in receipts:
        assert set(r) == RECEIPT_KEYS
        assert r["direction"] in ("credit", "debit")
        assert Decimal(r["amount"]) >= 0 and Decimal(r["entry_amount"]) > 0
        assert re.fullmatch(r"[A-Z]{3}", r["currency"]) and re.fullmatch(r"[A-Z]{3}", r["entry_currency"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", r["booking_date"])
        assert r["value_date"] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", r["value_date"])
        assert isinstance(r["reversal"], bool)
        assert isinstance(r["references"], list) and isinstance(r["additional_remittance"], list)
        assert r["end_to_end_id"] != "NOTPROVIDED"
    assert len({r["external_id"] for r in receipts}) == len(receipts), "keys are unique within a file"
    if path.name not in WARNED:
        assert summary.warnings == []


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_reading_twice_gives_the_same_receipts_and_iter_camt_agrees(path: Path) -> None:
    first, _ = read(path)
    assert list(iter_camt(path)) == first
    assert list(iter_camt(str(path))) == first


# -- pinned content --------------------------------------------------------------------------------


def test_qr_bill_references_uetr_and_batch_refs_in_camt054_v08() -> None:
    rs, summary = read(fixture("postfinance_CH_qrr_sps2019_camt.054.001.08.xml"))
    assert summary.message_type == "camt.054.001.08"
    assert [r["references"] for r in rs] == [
        [{"type": "QRR", "value": "539115429773825311971477453", "issuer": None}],
        [{"type": "QRR", "value": "662437765447746478179744715", "issuer": None}],
    ]
    assert [r["bank_ref"] for r in rs] == ["1000000000000000/1", "1000000000000000/2"]
    assert [r["external_id"] for r in rs] == [
        "CH2909000000250094239:1000000000000000/1",
        "CH2909000000250094239:1000000000000000/2",
    ]
    assert [(r["amount"], r["entry_amount"]) for r in rs] == [("778.29", "1692.22"), ("913.93", "1692.22")]
    first = rs[0]
    assert first["uetr"] == "b009c997-97b3-4a9c-803c-d645a7276bf0"
    assert first["end_to_end_id"] == "1006265-aic5dL-75dzf3jk9-cf2d5e9"
    assert first["instruction_id"] == "1006265-25bbb3b1a"
    assert first["payer_name"] == "Bernasconi Maria"  # RltdPties/Dbtr/Pty/Nm in .08
    assert first["payer_account"] == "CH5109000000250092291"
    assert first["payer_bic"] == "POFICHBEXXX"  # BICFI
    assert first["additional_remittance"] == ["?REJECT?0", "?ERROR?000"]
    assert first["status"] == "BOOK"  # Sts/Cd in .08
    assert first["bank_tx_code"] == "PMNT/RCDT/VCOM"
    assert first["account"] == "CH2909000000250094239" and first["account_currency"] == "CHF"


def test_same_business_content_in_sps2009_and_sps2019_reads_the_same() -> None:
    old, _ = read(fixture("postfinance_CH_qrr_sps2009_camt.054.001.04.xml"))
    new, _ = read(fixture("postfinance_CH_qrr_sps2019_camt.054.001.08.xml"))
    fields = (
        "amount",
        "currency",
        "references",
        "payer_name",
        "payer_account",
        "booking_date",
        "bank_ref",
        "external_id",
        "direction",
        "status",
    )
    assert [{k: r[k] for k in fields} for r in old] == [{k: r[k] for k in fields} for r in new]


def test_entry_and_transaction_amounts_keep_their_own_currencies_in_v08() -> None:
    (r,) = read(fixture("genkgo_camt.053.001.08.xml"))[0]
    assert (r["amount"], r["currency"]) == ("8.85", "EUR")  # what was booked on the account
    assert (r["entry_amount"], r["entry_currency"]) == ("8.85", "EUR")
    assert (r["tx_amount"], r["tx_currency"]) == ("0", "SEK")  # the detail, as the bank sent it
    assert r["references"] == [{"type": "SCOR", "value": "4654654654654654", "issuer": "BBA"}]
    assert r["payer_name"] == "NAME NAME"
    assert r["payer_account"] == "NL56AGDH9619008421"
    assert r["booking_date"] == "2014-12-31"  # from BookgDt/DtTm 2014-12-31T13:15:00+01:00
    assert r["value_date"] == "2015-01-02"
    assert r["statement_seq"] == "12312"
    assert r["account"] == "NL26VAYB8060476890"  # Acct/Id/Othr/Id
    assert r["bank_ref"] == "AAAASESS-FP-CN_98765/01"
    assert r["end_to_end_id"] == "MUELL/FINP/RA12345"


def test_scor_reference_and_agent_bic_in_v03() -> None:
    (r,) = read(fixture("genkgo_camt.053.001.03.xml"))[0]
    assert r["references"] == [{"type": "SCOR", "value": "4654654654654654", "issuer": "BBA"}]
    assert (r["amount"], r["tx_amount"]) == ("8.85", "105.750")
    assert r["payer_bic"] == "KREDBEBB"
    assert r["bank_tx_code"] == "PMNT/RCDT/DMCT"  # Domn wins over Prtry


def test_statement_balances_reconcile_with_the_receipts_in_the_iso_sample() -> None:
    path = fixture("iso20022org_business-sample_AAAA-BANKEN_camt.053.001.04.xml")
    rs, summary = read(path)
    balances = {
        _path(b, "Tp", "CdOrPrtry", "Cd").text: Decimal(_path(b, "Amt").text)
        for b in ET.parse(path).getroot().iter()
        if _local(b) == "Bal"
    }
    assert balances["OPBD"] + summary.totals["SEK"] == balances["CLBD"]
    assert [(r["amount"], r["currency"], r["direction"]) for r in rs] == [
        ("105678.50", "SEK", "credit"),
        ("200000", "SEK", "debit"),
        ("30000", "SEK", "credit"),
    ]
    assert [(r["tx_amount"], r["tx_currency"]) for r in rs] == [("0", "SEK"), (None, None), ("3255", "EUR")]
    assert {r["account"] for r in rs} == {"50000000054910000003"}  # Othr/Id, no IBAN
    assert rs[0]["payer_name"] == "MUELLER"
    assert rs[1]["bank_ref"] == "AAAASESS-FP-ACCR-01"  # batch booked without TxDtls: one receipt
    assert rs[2]["instruction_id"] == "FP-004567-FX"


def test_esr_references_batches_reversals_and_returns_in_the_postfinance_statement() -> None:
    rs, summary = read(fixture("postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml"))
    assert summary.message_type == "camt.053.001.04"
    esr = [ref for r in rs for ref in r["references"]]
    assert len(esr) == 10 and {ref["type"] for ref in esr} == {"ISR Reference"}
    assert esr[0]["value"] == "000000000002015110002913192"
    batch = [r["bank_ref"] for r in rs if r["bank_ref"].startswith("20160530007602769939022000000012")]
    assert batch == [f"20160530007602769939022000000012/{n}" for n in range(1, 11)]
    assert [(r["bank_ref"], r["amount"], r["direction"], r["return_reason"]) for r in rs if r["reversal"]] == [
        ("20160410375244000000000000000082", "6.00", "debit", "MD06"),
        ("20160410375244000000000000000072", "15.53", "debit", "MD06"),
    ]
    assert sum(1 for r in rs if r["direction"] == "debit" and not r["reversal"]) == 6
    assert rs[0]["additional_entry_info"] == "UEBRIGE: 25-9034-2 FÜR KONTOAUSZUG PAPIER TÄGLICH"
    returned = [r for r in rs if r["bank_tx_code"] == "PMNT/ICDT/RRTN"]
    assert [(r["remittance"], r["return_reason"]) for r in returned] == [
        ("Mitteilung Return Muster", "NARR"),
        ("Return Mitteilung Muster", "NARR"),
        ("Mitteilung Return Mitteilung", "NARR"),
    ]
    assert [r["purpose"] for r in rs if r["purpose"]] == ["CORT"]
    assert {r["payer_name"] for r in rs} >= {"Zürcher Kantonalbank", "Rutschmann Pia"}


def test_collective_booking_gives_one_receipt_per_transaction_with_numbered_refs() -> None:
    rs, _ = read(fixture("postfinance_CH_es-collective_ustrd_camt.054.001.04.xml"))
    assert [r["bank_ref"] for r in rs] == [f"20160527007602769947016000000012/{n}" for n in range(1, 9)]
    assert [r["amount"] for r in rs] == ["50.00", "20.00", "100.00", "100.00", "30.00", "50.00", "20.00", "250.00"]
    assert {r["entry_amount"] for r in rs} == {"620.00"}
    assert rs[0]["remittance"] == "MUSTER MITTEILUNG"
    assert rs[2]["remittance"] == "MUSTER MITTEILUNG 1\nMUSTER MITTEILUNG 2\nMUSTER MITTEILUNG 3\nMUSTER MITTEILUNG 4"
    assert rs[3]["additional_remittance"] == ["?REJECT?0", "?ERROR?008"]


def test_batch_whose_transactions_do_not_add_up_to_the_entry_is_a_warning(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        '<Amt Ccy="CHF">778.29</Amt>',
        '<Amt Ccy="CHF">778.30</Amt>',
        "postfinance_CH_qrr_sps2019_camt.054.001.08.xml",
    )
    rs, summary = read(path)
    assert [r["amount"] for r in rs] == ["778.30", "913.93"]
    (warning,) = summary.warnings
    assert "books 1692.22 CHF but its 2 transactions add up to 1692.23 CHF" in warning


def test_batch_without_amounts_per_transaction_is_one_receipt_with_all_remittance() -> None:
    rs, summary = read(fixture("genkgo_strd-and-ustrd_camt.054.001.02.xml"))
    (r,) = rs
    assert (r["amount"], r["currency"], r["direction"]) == ("200000", "SEK", "debit")
    assert r["remittance"].splitlines() == [
        "Unstructured Remittance Information V1",
        "Unstructured Remittance Information V3 block 1",
        "Unstructured Remittance Information V3 block 2",
    ]
    assert r["references"] == [
        {"type": "ISR Reference", "value": "ISR ref number V1", "issuer": None},
        {"type": "ISR Reference", "value": "ISR ref number V2", "issuer": None},
        {"type": "SCOR", "value": "Ref number V3 block 1", "issuer": None},
        {"type": "SCOR", "value": "Ref number V3 block 2", "issuer": None},
    ]
    assert r["additional_remittance"] == [
        "Additional Remittance Information V1",
        "Additional Remittance Information V2",
        "Additional Remittance Information V3 block 1",
        "Additional Remittance Information V3 block 2",
    ]
    assert "batch of 3 transactions without an amount" in summary.warnings[0]


def test_multi_statement_file_keeps_each_statement_and_end_to_end_ids() -> None:
    rs, summary = read(fixture("genkgo_multi-statement_camt.053.001.02.xml"))
    assert summary.statements == 2
    assert [(r["statement_id"], r["remittance"], r["end_to_end_id"], r["direction"]) for r in rs] == [
        ("253EURNL26VAYB8060476890", "Transaction Description 1", "000000001", "credit"),
        ("254EURNL26VAYB8060476890", "Transaction Description 2", "000000002", "debit"),
    ]
    assert rs[1]["payer_name"] == "Company Name 2"  # a debit's counterparty is the creditor
    assert summary.totals == {"EUR": Decimal("1.85")}


def test_declared_entry_count_that_does_not_match_is_a_warning(tmp_path: Path) -> None:
    text = fixture("genkgo_multi-statement_camt.053.001.02.xml").read_text(encoding="utf-8")
    first_entry = text.index("<Ntry>")
    summary_xml = "<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries></TtlNtries></TxsSummry>"
    path = tmp_path / "declared.xml"
    path.write_text(text[:first_entry] + summary_xml + text[first_entry:], encoding="utf-8")
    rs, summary = read(path)
    assert len(rs) == 2
    (warning,) = summary.warnings
    assert "253EURNL26VAYB8060476890 declares 2 entries" in warning and "holds 1" in warning


def test_summary_is_filled_progressively_in_the_same_object() -> None:
    reader = CamtReader(fixture("postfinance_CH_es-collective_ustrd_camt.054.001.04.xml"))
    summary = reader.summary
    seen = []
    for _ in reader:
        seen.append(summary.receipts)
    # counted as each entry (or run of entries) is read: this one entry is a batch of 8 transactions
    assert seen == [8] * 8
    several = CamtReader(fixture("postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml"))
    counts = [(n, several.summary.receipts) for n, _ in enumerate(several, 1)]
    assert all(n <= count for n, count in counts) and counts[0][1] < counts[-1][1] == len(counts)
    assert summary is reader.summary and summary.totals == {"CHF": Decimal("620.00")}
    list(reader)  # a second pass resets and refills it
    assert (summary.statements, summary.entries, summary.receipts) == (1, 1, 8)


def test_receipt_without_bank_reference_is_keyed_by_a_content_hash() -> None:
    (r,) = read(fixture("genkgo_edge_five-decimals_camt.053.001.02.xml"))[0]
    assert r["bank_ref"] is None
    parts = [
        r["account"],
        r["booking_date"],
        r["amount"],
        r["currency"],
        r["payer_name"] or "",
        r["payer_account"] or "",
        r["remittance"] or "",
    ]
    assert r["external_id"] == "h:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    assert r["amount"] == "8.850"  # as written, decimals kept


def test_identical_receipts_without_references_get_distinct_stable_keys(tmp_path: Path) -> None:
    text = fixture("genkgo_edge_five-decimals_camt.053.001.02.xml").read_text(encoding="utf-8")
    start, end = text.index("<Ntry>"), text.index("</Ntry>") + len("</Ntry>")
    path = tmp_path / "twice.xml"
    path.write_text(text[:end] + text[start:end] + text[end:], encoding="utf-8")
    rs, _ = read(path)
    assert rs[1]["external_id"] == rs[0]["external_id"] + ":2"
    assert [r["external_id"] for r in read(path)[0]] == [r["external_id"] for r in rs]


def test_a_reused_bank_reference_is_warned_about_at_the_line_of_its_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The readers pass the entry's line number; the warning text is made only when it is needed.
    from hub_connectors.bank_files import camt

    text = fixture("genkgo_edge_five-decimals_camt.053.001.02.xml").read_text(encoding="utf-8")
    start, end = text.index("<Ntry>"), text.index("</Ntry>") + len("</Ntry>")
    entry = text[start:end].replace("<Ntry>", "<Ntry><NtryRef>REUSED</NtryRef>", 1)
    changed = entry.replace("8.850", "9.000")
    assert changed != entry
    path = tmp_path / "reused.xml"
    data = text[:start] + entry + "\n" + entry + "\n" + changed + text[end:]
    path.write_text(data, encoding="utf-8")
    second = data.index("<Ntry>", start + 1)
    lines = [data[:at].count("\n") + 1 for at in (second, data.index("<Ntry>", second + 1))]
    for fast in (True, False):
        monkeypatch.setattr(camt, "_FAST_PATH", fast)
        reader = CamtReader(path)
        receipts = list(reader)
        assert len(receipts) == 3 and receipts[0]["bank_ref"] == "REUSED"
        assert [r["external_id"] for r in receipts].count(receipts[0]["external_id"]) == 2
        assert reader.summary.warnings == [
            f"line {lines[0]}: the booking with bank reference 'REUSED' is listed twice in this file; stored once",
            f"line {lines[1]}: bank reference 'REUSED' appears more than once in this file; this receipt is keyed "
            "by reference and content",
        ]


def test_uetr_is_kept_and_an_undated_entry_is_dated_from_the_creation_time_with_a_warning() -> None:
    (r,), summary = read(fixture("genkgo_uetr_camt.054.001.08.xml"))
    assert r["uetr"] == "255ae394-9965-4438-ac86-f406feada396"
    assert (r["booking_date"], r["value_date"]) == ("2007-10-18", None)
    assert r["bank_tx_code"] is None  # empty BkTxCd
    assert "no booking or value date" in summary.warnings[0]


def test_swiss_notification_with_reversal_pending_and_mismatched_indicator() -> None:
    rs, _ = read(fixture("dvbern_CH_no-credit-booked_camt.054.001.04.xml"))
    assert [(r["amount"], r["direction"], r["reversal"], r["status"]) for r in rs] == [
        ("111.00", "credit", True, "BOOK"),
        ("2.00", "credit", False, "PDNG"),
        ("3.00", "debit", False, "BOOK"),
    ]
    # The third entry is a DBIT whose only TxDtls says CRDT: the booked entry decides the amount
    # and direction; the counterparty is read as the detail describes it (its debtor).
    assert rs[2]["payer_name"] == "Ada Lovelace"
    assert [r["references"][0]["value"] for r in rs] == [
        "123456789012345678901234567",
        "184365082655685438543854377",
        "110000000000070100000112264",
    ]


def test_esr_asr_notification_is_a_debit_with_the_creditor_as_counterparty() -> None:
    (r,) = read(fixture("postfinance_CH_esr-asr_camt.054.001.04.xml"))[0]
    assert (r["amount"], r["direction"], r["bank_tx_code"]) == ("147.00", "debit", "PMNT/CNTR/CWDL")
    assert r["payer_name"] == "Maria Bernasconi"
    assert r["references"] == [{"type": None, "value": "100041698214115449371805278", "issuer": None}]


def test_statement_without_entries_yields_nothing_but_counts_the_statement() -> None:
    rs, summary = read(fixture("genkgo_edge_no-entries_nanosecond-DtTm_RON_camt.053.001.02.xml"))
    assert rs == []
    assert (summary.statements, summary.entries, summary.totals) == (1, 0, {})
    assert summary.message_type == "camt.053.001.02"


# -- versions, namespaces, dates -------------------------------------------------------------------


def test_camt052_report_reads_like_the_statement(tmp_path: Path) -> None:
    text = fixture("genkgo_multi-statement_camt.053.001.02.xml").read_text(encoding="utf-8")
    report = (
        text.replace("camt.053.001.02", "camt.052.001.02")
        .replace("BkToCstmrStmt", "BkToCstmrAcctRpt")
        .replace("<Stmt>", "<Rpt>")
        .replace("</Stmt>", "</Rpt>")
    )
    path = tmp_path / "report.xml"
    path.write_text(report, encoding="utf-8")
    rs, summary = read(path)
    assert summary.message_type == "camt.052.001.02"
    assert summary.statements == 2
    original = read(fixture("genkgo_multi-statement_camt.053.001.02.xml"))[0]
    assert rs == original


def test_prefixed_namespace_reads_the_same(tmp_path: Path) -> None:
    src = fixture("postfinance_CH_qrr_sps2019_camt.054.001.08.xml")
    tree = etree.parse(str(src))
    ns = etree.QName(tree.getroot()).namespace

    def copy(el: etree._Element, parent: etree._Element | None) -> etree._Element:
        tag = f"{{{ns}}}{etree.QName(el).localname}"
        new = (
            etree.Element(tag, el.attrib, nsmap={"c": ns})
            if parent is None
            else etree.SubElement(parent, tag, el.attrib)
        )
        new.text, new.tail = el.text, el.tail
        for child in el:
            copy(child, new)
        return new

    path = tmp_path / "prefixed.xml"
    etree.ElementTree(copy(tree.getroot(), None)).write(str(path), xml_declaration=True, encoding="UTF-8")
    assert b"<c:Ntry>" in path.read_bytes()
    assert read(path)[0] == read(src)[0]


def test_date_times_with_nanoseconds_and_time_zones_give_the_date_part(tmp_path: Path) -> None:
    text = fixture("genkgo_camt.053.001.08.xml").read_text(encoding="utf-8")
    text = text.replace("<DtTm>2014-12-31T13:15:00+01:00</DtTm>", "<DtTm>2014-12-30T23:59:59.123456789-05:00</DtTm>")
    text = text.replace(
        "<ValDt>\n                    <Dt>2015-01-02</Dt>",
        "<ValDt>\n                    <DtTm>2015-01-03T00:00:00Z</DtTm>",
    )
    path = tmp_path / "dttm.xml"
    path.write_text(text, encoding="utf-8")
    (r,) = read(path)[0]
    assert (r["booking_date"], r["value_date"]) == ("2014-12-30", "2015-01-03")


# -- malformed and hostile input -------------------------------------------------------------------


def test_empty_document_fails_naming_the_file() -> None:
    with pytest.raises(StatementError, match=r"dvbern_invalid_notification-missing\.xml.*not a camt\.05x") as err:
        list(CamtReader(INVALID))
    assert err.value.file == str(INVALID)


def test_other_iso20022_messages_are_not_camt(tmp_path: Path) -> None:
    path = tmp_path / "pain.xml"
    path.write_text(
        '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">'
        "<CstmrCdtTrfInitn><GrpHdr><MsgId>1</MsgId></GrpHdr></CstmrCdtTrfInitn></Document>"
    )
    with pytest.raises(StatementError, match=r"not a camt\.05x message"):
        list(CamtReader(path))


def test_truncated_file_fails_with_a_line_number(tmp_path: Path) -> None:
    data = fixture("postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml").read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StatementError, match=r"cut\.xml:line \d+: malformed XML") as err:
        list(CamtReader(path))
    assert re.fullmatch(r"line \d+", err.value.position)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&lol9;</Id>
</Stmt></BkToCstmrStmt></Document>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&xxe;</Id>
</Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_tricks_are_refused_before_parsing(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "evil.xml"
    path.write_bytes(payload)
    with pytest.raises(StatementError, match="DTDs and entity declarations are not allowed") as err:
        list(CamtReader(path))
    assert "root:" not in str(err.value)


def test_a_doctype_hidden_behind_a_long_comment_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hidden.xml"
    path.write_bytes(XXE.replace(b"?>\n", b"?>\n<!--" + b" " * 70_000 + b"-->\n", 1))
    with pytest.raises(StatementError, match="before the root element"):
        list(CamtReader(path))
    path.write_bytes(XXE.replace(b"?>\n", b"?>\n<!-- short -->\n", 1))
    with pytest.raises(StatementError, match="DTDs and entity declarations are not allowed"):
        list(CamtReader(path))


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_a_dtd_is_refused_by_the_parser_check_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payload: bytes
) -> None:
    monkeypatch.setattr(CamtReader, "_check_file", lambda self: None)  # without the pre-check
    path = tmp_path / "evil.xml"
    path.write_bytes(payload)
    with pytest.raises(StatementError, match="DTDs and entity declarations are not allowed") as err:
        list(CamtReader(path))
    assert "root:" not in str(err.value)


def test_file_over_the_size_limit_is_refused_before_parsing() -> None:
    path = fixture("postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml")
    with pytest.raises(StatementError, match=r"file is 51630 bytes, over the limit of 1000 bytes"):
        list(CamtReader(path, max_bytes=1000))
    with pytest.raises(StatementError, match="over the limit"):
        list(iter_camt(path, max_bytes=51629))
    assert len(list(iter_camt(path, max_bytes=51630))) == 32


def test_missing_file_and_folder_fail_as_statement_errors(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="cannot read"):
        list(CamtReader(tmp_path / "nope.xml"))
    with pytest.raises(StatementError, match="not a regular file"):
        list(CamtReader(tmp_path))


def _edited(tmp_path: Path, old: str, new: str, name: str = "genkgo_camt.053.001.08.xml") -> Path:
    text = fixture(name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "edited.xml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('<Amt Ccy="EUR">8.85</Amt>', "", r"line 110: .*Ntry without Amt"),
        ('<Amt Ccy="EUR">8.85</Amt>', '<Amt Ccy="EUR">8,85</Amt>', r"line 111: Ntry/Amt: '8,85' is not an amount"),
        ('<Amt Ccy="EUR">8.85</Amt>', '<Amt Ccy="EUR">-8.85</Amt>', r"line 111: .*is not an amount"),
        ('<Amt Ccy="EUR">8.85</Amt>', '<Amt Ccy="EUR">NaN</Amt>', r"line 111: .*is not an amount"),
        ('<Amt Ccy="EUR">8.85</Amt>', "<Amt>8.85</Amt>", r"line 111: .*currency \(Ccy\) None"),
        ('<Amt Ccy="SEK">0</Amt>', '<Amt Ccy="SEK">1e3</Amt>', r"line \d+: TxDtls amount: '1e3' is not an amount"),
        ("<DtTm>2014-12-31T13:15:00+01:00</DtTm>", "<DtTm>2014-12-32T13:15:00</DtTm>", r"line \d+: Ntry/BookgDt"),
        ("<Dt>2015-01-02</Dt>", "<Dt>02.01.2015</Dt>", r"line \d+: Ntry/ValDt: '02.01.2015' is not a date"),
        (
            "8.85</Amt>\n                <CdtDbtInd>CRDT",
            "8.85</Amt><CdtDbtInd>CREDIT",
            r"line 110: .*'CREDIT' is not CRDT",
        ),
    ],
)
def test_bad_entries_fail_with_the_line_and_the_element(tmp_path: Path, old: str, new: str, reason: str) -> None:
    path = _edited(tmp_path, old, new)
    with pytest.raises(StatementError, match=reason) as err:
        list(CamtReader(path))
    assert str(err.value).startswith(str(path))


def test_entry_outside_a_statement_is_refused(tmp_path: Path) -> None:
    path = _edited(tmp_path, "<Stmt>", "<Ntry><Amt Ccy='EUR'>1</Amt></Ntry><Stmt>")
    with pytest.raises(StatementError, match="outside a Stmt"):
        list(CamtReader(path))


# -- detection -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_fixture_is_detected_from_its_first_bytes(path: Path) -> None:
    assert detect_camt(path.read_bytes()[:4096])


def test_detection_reads_content_not_file_names(tmp_path: Path) -> None:
    renamed = tmp_path / "statement.txt"
    renamed.write_bytes(fixture("genkgo_uetr_camt.054.001.08.xml").read_bytes())
    assert detect_camt(renamed.read_bytes()[:4096])
    assert len(list(CamtReader(renamed))) == 1
    mt940 = b":20:STARTUMSE\r\n:25:10020030/1234567\r\n:28C:00001/001\r\n:60F:C200101EUR1000,00\r\n"
    assert not detect_camt(mt940)
    assert not detect_camt(INVALID.read_bytes())
    assert not detect_camt(b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'/>")
    assert not detect_camt(b"")
    utf16 = fixture("genkgo_uetr_camt.054.001.08.xml").read_text(encoding="utf-8").encode("utf-16")
    assert detect_camt(utf16[:4096])


# -- a generated large statement -------------------------------------------------------------------


def test_generated_statement_streams_with_the_right_counts(tmp_path: Path) -> None:
    generator = Path(__file__).resolve().parents[2] / "bench" / "gen_receivables.py"
    if not generator.exists():
        pytest.skip("bench/gen_receivables.py is not in this checkout")
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, str(generator), str(tmp_path), "--customers", "50", "--invoices", "300", "--receipts", "3000"],
        check=True,
        capture_output=True,
    )
    path = tmp_path / "statement.xml"
    rs, summary = read(path)
    expected = count_directly(path)
    assert len(rs) == expected["receipts"] == 3000
    assert summary.totals == expected["totals"]
    assert not summary.warnings
    assert len({r["external_id"] for r in rs}) == 3000
    assert Counter(r["end_to_end_id"] for r in rs) == {None: 3000}  # NOTPROVIDED dropped


# -- fuzzing -----------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(VALID), seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 3))
def test_mutated_real_files_either_read_or_fail_with_statement_error(
    tmp_path: Path, path: Path, seed: int, rounds: int
) -> None:
    read_mutated(CamtReader, path, tmp_path / "mutated.xml", seed, rounds)


# -- the fast path (one regular expression over libxml2's text of an entry) against the element walk --


def _three_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """What the reader gives in raw mode, with the fast path over libxml2's serialisation, and with
    the element walk alone: receipts, summary, or the error."""
    from hub_connectors.bank_files import camt

    results = []
    for fast, raw in ((True, True), (True, False), (False, False)):
        monkeypatch.setattr(camt, "_FAST_PATH", fast)
        monkeypatch.setattr(camt, "_RAW", raw)
        reader = CamtReader(path)
        try:
            receipts = list(reader)
            results.append(
                (
                    "ok",
                    receipts,
                    reader.summary.statements,
                    reader.summary.entries,
                    dict(reader.summary.totals),
                    list(reader.summary.warnings),
                )
            )
        except StatementError as exc:
            results.append(("error", str(exc)))
    return results


def _both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """The fast path's result (raw mode and over the serialisation must agree) and the element walk's."""
    raw, fast, walked = _three_ways(path, monkeypatch)
    assert raw == fast
    return [fast, walked]


@pytest.mark.parametrize("path", [*VALID, INVALID], ids=lambda p: p.name)
def test_fast_path_reads_every_fixture_exactly_as_the_element_walk(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, walked = _both_ways(path, monkeypatch)
    assert fast == walked


def test_fast_path_reads_a_generated_statement_exactly_as_the_element_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    generator = Path(__file__).resolve().parents[2] / "bench" / "gen_receivables.py"
    subprocess.run(
        [
            sys.executable,
            str(generator),
            str(tmp_path),
            "--customers",
            "40",
            "--invoices",
            "200",
            "--receipts",
            "400",
            "--seed",
            "3",
        ],
        check=True,
        capture_output=True,
    )
    fast, walked = _both_ways(tmp_path / "statement.xml", monkeypatch)
    assert fast[0] == "ok" and fast == walked


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(VALID),
    seed=st.integers(0, 2**32 - 1),
    rounds=st.integers(1, 3),
    chunk=st.sampled_from([5, 97, 1 << 20]),
)
# An end tag damaged before an entry: raw mode saw the entry outside its statement before the
# parser reached the mismatched tag, the element walk reported the malformed XML.
@example(path=CAMT054 / "genkgo_uetr_camt.054.001.08.xml", seed=1, rounds=1, chunk=5)
def test_fast_path_agrees_with_the_element_walk_on_damaged_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Path, seed: int, rounds: int, chunk: int
) -> None:
    import random

    from hub_connectors.bank_files import camt

    from .mutation import mutate

    monkeypatch.setattr(camt, "_RAW_CHUNK", chunk)

    rnd = random.Random(seed)
    data = path.read_bytes()
    for _ in range(rounds):
        data = mutate(data, rnd, (b"<Ntry>", b"</Amt>", b"&amp;", b"<Ustrd>", b"\r\n", b" ", b"ns:"))
    target = tmp_path / "damaged.xml"
    target.write_bytes(data)
    raw, fast, walked = _three_ways(target, monkeypatch)
    assert fast == walked
    if raw != walked:
        # Raw mode checks every byte of the file ahead of reading it: where a file has several
        # problems, it may name a later one that makes the file malformed XML, never anything else.
        assert raw[0] == walked[0] == "error" and "malformed XML" in str(raw[1])
        with pytest.raises(etree.XMLSyntaxError):
            etree.parse(str(target), etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))


def test_an_undeclared_prefix_on_the_root_is_a_statement_error(tmp_path: Path) -> None:
    # Found by the damaged-file test: libxml2 reports the root as 'Documens:nt', which lxml's QName refuses.
    data = fixture("iso20022org_business-sample_AAAA-BANKEN_camt.053.001.04.xml").read_bytes()
    damaged = tmp_path / "damaged.xml"
    damaged.write_bytes(data.replace(b"<Document ", b"<Documens:nt ", 1))
    with pytest.raises(StatementError, match="Namespace prefix Documens on nt is not defined"):
        list(CamtReader(damaged))


# -- raw mode (the file's own text read by the fast path, libxml2 checking every byte) ----------------


@pytest.mark.parametrize("chunk", [5, 97, 4096])
@pytest.mark.parametrize("path", [*VALID, INVALID], ids=lambda p: p.name)
def test_raw_mode_reads_every_fixture_as_the_element_walk_however_the_file_is_cut_into_chunks(
    path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub_connectors.bank_files import camt

    monkeypatch.setattr(camt, "_RAW_CHUNK", chunk)
    raw, _, walked = _three_ways(path, monkeypatch)
    assert raw == walked


_ENTRY = (
    '<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>2026-11-27</Dt>'
    "</BookgDt><ValDt><Dt>2026-11-27</Dt></ValDt><AcctSvcrRef>{ref}</AcctSvcrRef><NtryDtls><TxDtls><Refs>"
    "<EndToEndId>E2E-{ref}</EndToEndId></Refs><RltdPties><Dbtr><Nm>{name}</Nm></Dbtr><DbtrAcct><Id><IBAN>"
    "NL15212569671644957478</IBAN></Id></DbtrAcct></RltdPties><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>"
    "</NtryDtls></Ntry>"
)


def _statement(*entries: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    return (
        f'{prolog}<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr>'
        "<MsgId>M1</MsgId><CreDtTm>2026-11-27T18:00:00</CreDtTm></GrpHdr><Stmt><Id>S1</Id><Acct><Id><IBAN>"
        f"DE89370400440532013000</IBAN></Id></Acct>{''.join(entries)}</Stmt></BkToCstmrStmt></Document>"
    )


def _entry(ref: str, *, amount: str = "10.00", name: str = "Aurora Steel", text: str = "INV-1") -> str:
    return _ENTRY.format(ref=ref, amount=amount, name=name, text=text)


def _raw_taken(path: Path) -> tuple[list[dict[str, object]], int]:
    """The receipts in raw mode, and how many entries the raw scanner read itself."""
    from hub_connectors.bank_files import camt

    reader = CamtReader(path)
    taken = 0
    placed = reader._placed

    def counting(run: list, stmt: dict) -> object:
        nonlocal taken
        taken += len(run)
        return placed(run, stmt)

    reader._placed = counting  # type: ignore[method-assign]
    assert camt._RAW
    return list(reader), taken


RAW_CASES = {
    # markup a plain search could mistake for an entry: read by libxml2 from there on
    "comment-with-an-entry": _statement(_entry("A"), f"<!-- {_entry('FAKE')} -->", _entry("B")),
    "cdata-closing-the-text": _statement(_entry("A", text="<![CDATA[a </Ustrd> b]]>"), _entry("B")),
    "processing-instruction": _statement(_entry("A"), '<?hub x="<Ntry>"?>', _entry("B")),
    # text escapes the serialisation never shows
    "references": _statement(
        _entry(
            "A", name="Smith &amp; Sons &quot;Ltd&quot; &apos;x&apos; &#x41;&#66; &gt;", text="a&#13;&#10;b &lt;c&gt;"
        )
    ),
    "white-space-references": _statement(_entry("A", name="&#32;padded&#x20;", text="&#9;")),
    "crlf-and-lone-cr": _statement(
        _entry("A", text="one\r\ntwo\rthree").replace("<Ntry>", "\r\n<Ntry>"), "\r\n", _entry("B"), "\r"
    ),
    "utf8-bom": "\ufeff" + _statement(_entry("A", name="Müller GmbH")),
    "prefixed": _statement(_entry("A"))
    .replace("<", "<c:")
    .replace("<c:/", "</c:")
    .replace("<c:?", "<?")
    .replace('xmlns="', 'xmlns:c="'),
    "entry-with-attribute": _statement(_entry("A").replace("<Ntry>", '<Ntry xmlns:x="urn:x">'), _entry("B")),
    "forged-placeholder": _statement(_entry("A"), '<Ntry hub-fast="0123456789abcdef"/>', _entry("B")),
    "nested-entry": _statement(_entry("A", name=f"x</Nm><PstlAdr>{_entry('IN')}</PstlAdr><Nm>y")),
    "empty-texts": _statement(_entry("A", name="", text="")),
    # damaged: each fails, as in the element walk
    "control-character": _statement(_entry("A", name="bad\x01name")),
    "cdata-end-in-text": _statement(_entry("A", text="a ]]> b")),
    "bare-ampersand": _statement(_entry("A", name="a & b")),
    "truncated": _statement(_entry("A"), _entry("B"))[:-40],
}


@pytest.mark.parametrize("case", sorted(RAW_CASES))
def test_raw_mode_reads_what_the_element_walk_reads(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / f"{case}.xml"
    path.write_bytes(RAW_CASES[case].encode("utf-8"))
    raw, fast, walked = _three_ways(path, monkeypatch)
    assert raw == fast == walked


def test_raw_mode_names_an_undefined_entity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the element walk's iterparse reports only "no element found" at the end of such a file
    path = tmp_path / "entity.xml"
    path.write_text(_statement(_entry("A", name="a&nbsp;b")), encoding="utf-8")
    raw, fast, walked = _three_ways(path, monkeypatch)
    assert fast == walked and walked[0] == "error"
    assert raw == ("error", f"{path}:line 2: malformed XML: Entity 'nbsp' not defined, line 2, column 490")


def test_raw_mode_reads_a_file_in_another_encoding_as_that_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 'Ã©' in Latin-1 is the UTF-8 encoding of 'é': only the declaration says which one it is
    path = tmp_path / "latin1.xml"
    text = _statement(_entry("A", name="CafÃ©"), prolog='<?xml version="1.0" encoding="ISO-8859-1"?>\n')
    path.write_bytes(text.encode("latin-1"))
    raw, fast, walked = _three_ways(path, monkeypatch)
    assert raw == fast == walked
    assert raw[1][0]["payer_name"] == "CafÃ©"  # type: ignore[index]


def test_raw_mode_takes_the_plain_entries_and_leaves_the_rest_to_the_walk(tmp_path: Path) -> None:
    path = tmp_path / "mixed.xml"
    path.write_text(
        _statement(
            _entry("A"),
            _entry("B").replace("<Ntry>", '<Ntry xmlns:x="urn:x">'),
            _entry("C"),
            _entry("D", amount="1,00"),
        ),
        encoding="utf-8",
    )
    with pytest.raises(StatementError, match="'1,00' is not an amount"):
        list(CamtReader(path))
    path.write_text(
        _statement(*(_entry(str(n)) for n in range(50)), "\n", _entry("X", text="a&amp;b")), encoding="utf-8"
    )
    receipts, taken = _raw_taken(path)
    assert taken == 51 and len(receipts) == 51 and receipts[-1]["remittance"] == "a&b"
    path.write_text(_statement(_entry("A"), "<!-- a comment -->", _entry("B")), encoding="utf-8")
    receipts, taken = _raw_taken(path)
    assert taken == 1 and [r["bank_ref"] for r in receipts] == ["A", "B"]


_OPTIONAL = {
    "ntry_ref": "<NtryRef>NR{n}</NtryRef>",
    "reversal": "<RvslInd>true</RvslInd>",
    "status_code": "<Sts><Cd>PDNG</Cd></Sts>",
    "value_date": "<ValDt><Dt>2026-11-28</Dt></ValDt>",
    "entry_ref": "<AcctSvcrRef>E{n}</AcctSvcrRef>",
    "domain": "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>",
    "refs": "<Refs><AcctSvcrRef>T{n}</AcctSvcrRef><InstrId>I{n}</InstrId><EndToEndId>NOTPROVIDED</EndToEndId>"
    "<UETR>u-{n}</UETR><TxId>X{n}</TxId><MndtId>M{n}</MndtId></Refs>",
    "tx_amount": '<Amt Ccy="USD">{n}.50</Amt><CdtDbtInd>DBIT</CdtDbtInd>',
    "amount_details": '<AmtDtls><InstdAmt><Amt Ccy="GBP">1.{n}</Amt></InstdAmt><TxAmt><Amt Ccy="CHF">2.{n}</Amt>'
    "</TxAmt></AmtDtls>",
    "parties": "<RltdPties><Dbtr><Nm>Debtor {n}</Nm></Dbtr><DbtrAcct><Id><Othr><Id>ACC{n}</Id></Othr></Id></DbtrAcct>"
    "<UltmtDbtr><Nm>Ultimate</Nm></UltmtDbtr><Cdtr><Nm>Creditor</Nm></Cdtr><CdtrAcct><Id><IBAN>"
    "DE89370400440532013000</IBAN></Id></CdtrAcct></RltdPties>",
    "agents": "<RltdAgts><DbtrAgt><FinInstnId><BICFI>DEUTDEFF</BICFI></FinInstnId></DbtrAgt><CdtrAgt><FinInstnId>"
    "<BIC>COBADEFF</BIC></FinInstnId></CdtrAgt></RltdAgts>",
    "purpose": "<Purp><Cd>SUPP</Cd></Purp>",
    "remittance": "<RmtInf><Ustrd> first {n} </Ustrd><Ustrd>second</Ustrd></RmtInf>",
    "return": "<RtrInf><Rsn><Prtry>AC04</Prtry></Rsn></RtrInf>",
    "tx_info": "<AddtlTxInf>tx info</AddtlTxInf>",
}


_STRD = "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>RF18539007547034</Ref></CdtrRefInf></Strd>"


def _shaped_entry(n: int, parts: frozenset[str], debit: bool, booked: bool, strd: bool = False) -> str:
    part = {k: v.replace("{n}", str(n)) for k, v in _OPTIONAL.items() if k in parts}
    if strd and "remittance" in part:  # the same shape, with structured remittance too
        part["remittance"] = part["remittance"].replace("</RmtInf>", _STRD + "</RmtInf>")
    tx_parts = (
        "refs",
        "tx_amount",
        "amount_details",
        "parties",
        "agents",
        "purpose",
        "remittance",
        "return",
        "tx_info",
    )
    tx = "".join(part.get(k, "") for k in tx_parts)
    details = f"<NtryDtls><TxDtls>{tx}</TxDtls></NtryDtls>" if tx or "refs" in parts else ""
    status = part.get("status_code", "<Sts>BOOK</Sts>")
    dates = ("<BookgDt><Dt>2026-11-27</Dt></BookgDt>" if booked else "") + part.get("value_date", "")
    return (
        f'<Ntry>{part.get("ntry_ref", "")}<Amt Ccy="EUR">{n}.25</Amt><CdtDbtInd>{"DBIT" if debit else "CRDT"}'
        f"</CdtDbtInd>{part.get('reversal', '')}{status}{dates}{part.get('entry_ref', '')}"
        f"{part.get('domain', '')}{details}<AddtlNtryInf>entry {n}</AddtlNtryInf></Ntry>"
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shapes=st.lists(
        st.tuples(st.frozensets(st.sampled_from(sorted(_OPTIONAL))), st.booleans(), st.booleans()),
        min_size=1,
        max_size=5,
    )
)
def test_entries_of_any_shape_read_by_shape_as_by_the_element_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shapes: list[tuple[frozenset[str], bool, bool]]
) -> None:
    # each shape three times: the first is read by the general expression, the others by the
    # expression and the code written for that shape (the third with structured remittance too)
    entries = [
        _shaped_entry(n * 3 + k, parts, debit, booked or "value_date" not in parts, strd=k == 2)
        for n, (parts, debit, booked) in enumerate(shapes)
        for k in range(3)
    ]
    path = tmp_path / "shapes.xml"
    path.write_text(_statement(*entries), encoding="utf-8")
    raw, fast, walked = _three_ways(path, monkeypatch)
    assert raw == fast == walked
    assert raw[0] == "ok"
