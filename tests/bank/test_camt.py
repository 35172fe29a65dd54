"""camt.053/.054 reader on genuine files: counts, totals, remittance and references, safety, fuzzing."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hub_connectors.bank_files.camt import CamtReader, detect_camt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import StatementError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"
VALID = sorted(p for p in (FIXTURES / "camt053").glob("*.xml")) + sorted(
    p for p in (FIXTURES / "camt054").glob("*.xml") if "invalid" not in p.name
)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child(el: ET.Element, *names: str) -> ET.Element | None:
    for name in names:
        el = next((c for c in el if _local(c.tag) == name), None)  # type: ignore[assignment]
        if el is None:
            return None
    return el


def count_directly(path: Path) -> tuple[int, dict[str, Decimal]]:
    """Receipts and signed totals per currency, counted with the standard library's parser.

    One receipt per transaction of a batch entry whose transactions all carry amounts, else one
    receipt of the entry's amount.
    """
    receipts, totals = 0, defaultdict(Decimal)
    for ntry in (e for e in ET.parse(path).iter() if _local(e.tag) == "Ntry"):
        sign = 1 if _child(ntry, "CdtDbtInd").text == "CRDT" else -1  # type: ignore[union-attr]
        txs = [t for d in ntry if _local(d.tag) == "NtryDtls" for t in d if _local(t.tag) == "TxDtls"]
        amounts = [_child(t, "Amt") if _child(t, "Amt") is not None else _child(t, "AmtDtls", "TxAmt", "Amt")
                   for t in txs]
        if len(txs) > 1 and all(a is not None for a in amounts):
            for tx, amt in zip(txs, amounts, strict=True):
                ind = _child(tx, "CdtDbtInd")
                tx_sign = sign if ind is None else (1 if ind.text == "CRDT" else -1)
                totals[amt.get("Ccy")] += tx_sign * Decimal(amt.text)  # type: ignore[union-attr, arg-type]
                receipts += 1
        else:
            amt = _child(ntry, "Amt")
            totals[amt.get("Ccy")] += sign * Decimal(amt.text)  # type: ignore[union-attr, arg-type]
            receipts += 1
    return receipts, dict(totals)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_valid_fixture_imports_with_the_counts_and_totals_in_the_file(path: Path) -> None:
    reader = CamtReader(path)
    receipts = list(reader)
    expected_count, expected_totals = count_directly(path)
    assert len(receipts) == expected_count == reader.summary.receipts
    got = defaultdict(Decimal)
    for r in receipts:
        got[r["currency"]] += (1 if r["direction"] == "credit" else -1) * Decimal(r["amount"])
    assert dict(got) == expected_totals
    assert reader.summary.totals == expected_totals
    assert len({r["external_id"] for r in receipts}) == len(receipts), "keys must be unique within a file"


def _receipts(name: str) -> list[dict]:
    folder = "camt053" if "053" in name else "camt054"
    return list(CamtReader(FIXTURES / folder / name))


def test_qr_bill_references_and_uetr_survive_in_camt054_v08() -> None:
    rs = _receipts("postfinance_CH_qrr_sps2019_camt.054.001.08.xml")
    assert [r["references"] for r in rs] == [
        [{"type": "QRR", "value": "539115429773825311971477453", "issuer": None}],
        [{"type": "QRR", "value": "662437765447746478179744715", "issuer": None}],
    ]
    assert rs[0]["uetr"] == "b009c997-97b3-4a9c-803c-d645a7276bf0"
    assert rs[0]["payer_name"] == "Bernasconi Maria"
    assert rs[0]["additional_remittance"] == ["?REJECT?0", "?ERROR?000"]
    assert [r["bank_ref"] for r in rs] == ["1000000000000000/1", "1000000000000000/2"]


def test_same_content_in_sps2009_and_sps2019_versions_reads_the_same() -> None:
    old = _receipts("postfinance_CH_qrr_sps2009_camt.054.001.04.xml")
    new = _receipts("postfinance_CH_qrr_sps2019_camt.054.001.08.xml")
    fields = ("amount", "currency", "references", "payer_name", "payer_account", "booking_date", "bank_ref")
    assert [{k: r[k] for k in fields} for r in old] == [{k: r[k] for k in fields} for r in new]


def test_scor_creditor_reference_with_issuer_and_party_name_in_v08() -> None:
    (r,) = _receipts("genkgo_camt.053.001.08.xml")
    assert r["references"] == [{"type": "SCOR", "value": "4654654654654654", "issuer": "BBA"}]
    assert r["payer_name"] == "NAME NAME"
    assert r["payer_account"] == "NL56AGDH9619008421"


def test_entry_and_transaction_amounts_keep_their_own_currencies() -> None:
    (r,) = _receipts("genkgo_camt.053.001.08.xml")
    assert (r["amount"], r["currency"]) == ("8.85", "EUR")  # what was booked on the account
    assert (r["entry_amount"], r["entry_currency"]) == ("8.85", "EUR")
    assert (r["tx_amount"], r["tx_currency"]) == ("0", "SEK")  # the detail, as the bank sent it


def test_unstructured_and_several_structured_remittance_blocks_are_all_kept() -> None:
    (r,) = _receipts("genkgo_strd-and-ustrd_camt.054.001.02.xml")
    assert r["remittance"].splitlines() == [
        "Unstructured Remittance Information V1",
        "Unstructured Remittance Information V3 block 1",
        "Unstructured Remittance Information V3 block 2",
    ]
    assert [x["value"] for x in r["references"]] == [
        "ISR ref number V1", "ISR ref number V2", "Ref number V3 block 1", "Ref number V3 block 2"]
    assert r["direction"] == "debit"


def test_batch_entry_becomes_one_receipt_per_transaction_with_numbered_refs() -> None:
    rs = _receipts("postfinance_CH_es-collective_ustrd_camt.054.001.04.xml")
    assert len(rs) == 8
    refs = [r["bank_ref"] for r in rs]
    base = refs[0].rsplit("/", 1)[0]
    assert refs == [f"{base}/{n}" for n in range(1, 9)]
    assert sum(1 for r in rs if r["remittance"] == "MUSTER MITTEILUNG") >= 1


def test_reversals_and_debits_are_marked() -> None:
    rs = _receipts("postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml")
    reversed_ = [r for r in rs if r["reversal"]]
    assert [(r["bank_ref"], r["amount"]) for r in reversed_] == [
        ("20160410375244000000000000000082", "6.00"), ("20160410375244000000000000000072", "15.53")]
    assert any(r["direction"] == "debit" and not r["reversal"] for r in rs)
    assert any("FÜR KONTOAUSZUG PAPIER TÄGLICH" in (r["additional_entry_info"] or "") for r in rs)


def test_end_to_end_id_and_remittance_in_multi_statement_file() -> None:
    rs = _receipts("genkgo_multi-statement_camt.053.001.02.xml")
    assert [(r["remittance"], r["end_to_end_id"], r["direction"]) for r in rs] == [
        ("Transaction Description 1", "000000001", "credit"),
        ("Transaction Description 2", "000000002", "debit"),
    ]
    assert len({r["statement_id"] for r in rs}) == 2


def test_uetr_is_kept_and_a_dateless_notification_entry_is_dated_with_a_warning() -> None:
    reader = CamtReader(FIXTURES / "camt054" / "genkgo_uetr_camt.054.001.08.xml")
    (r,) = list(reader)
    assert r["uetr"] == "255ae394-9965-4438-ac86-f406feada396"
    assert r["booking_date"] == "2007-10-18"
    assert "without booking or value date" in reader.summary.warnings[0]


def test_statement_without_entries_counts_a_statement_and_no_receipt() -> None:
    reader = CamtReader(FIXTURES / "camt053" / "genkgo_edge_no-entries_nanosecond-DtTm_RON_camt.053.001.02.xml")
    assert list(reader) == []
    assert reader.summary.statements == 1


def test_empty_document_fails_naming_the_file() -> None:
    with pytest.raises(StatementError, match=r"dvbern_invalid_notification-missing\.xml.*not a camt"):
        list(CamtReader(FIXTURES / "camt054" / "dvbern_invalid_notification-missing.xml"))


def test_truncated_file_fails_with_a_line_number(tmp_path: Path) -> None:
    data = (FIXTURES / "camt053" / "postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml").read_bytes()
    bad = tmp_path / "cut.xml"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(StatementError, match=r"cut\.xml:line \d+: malformed XML"):
        list(CamtReader(bad))


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&lol3;</Id>
</Stmt></BkToCstmrStmt></Document>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>&xxe;</Id>
</Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_tricks_are_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "evil.xml"
    path.write_bytes(payload)
    with pytest.raises(StatementError, match="DTDs and entity declarations are not allowed"):
        list(CamtReader(path))


def test_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = FIXTURES / "camt053" / "postfinance_CH_esr-refs_umlauts_camt.053.001.04.xml"
    with pytest.raises(StatementError, match="over the limit of 1000"):
        list(CamtReader(path, max_bytes=1000))


def test_detection_reads_content_not_file_names(tmp_path: Path) -> None:
    head = (FIXTURES / "camt054" / "genkgo_uetr_camt.054.001.08.xml").read_bytes()[:4096]
    assert detect_camt(head)
    assert not detect_camt(b":20:STARTUMSE\r\n:25:10020030/1234567\r\n:28C:00001/001\r\n")
    assert not detect_camt(b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'/>")


def _mutate(data: bytes, rnd: random.Random) -> bytes:
    kind = rnd.randrange(4)
    i, j = sorted(rnd.randrange(len(data) + 1) for _ in range(2))
    if kind == 0:
        return data[:i] + data[j:]
    if kind == 1:
        return data[:i] + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 12))) + data[i:]
    if kind == 2:
        k = rnd.randrange(len(data) + 1)
        return data[:i] + data[j:k] + data[i:j] + data[k:] if k > j else data[:i] + data[j:] + data[i:j]
    return data[:i]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fixture=st.sampled_from(VALID), seed=st.integers(0, 2**32 - 1))
def test_mutated_real_files_either_import_or_fail_with_statement_error(tmp_path: Path, fixture: Path,
                                                                      seed: int) -> None:
    data = _mutate(fixture.read_bytes(), random.Random(seed))
    path = tmp_path / "mutated.xml"
    path.write_bytes(data)
    try:
        for r in CamtReader(path):
            assert r["direction"] in ("credit", "debit")
            Decimal(r["amount"])
    except StatementError as exc:
        assert str(path) in str(exc)
