"""BAI2 reader on genuine files: counts, totals, remittance tags, continuations, control totals, fuzzing.

Expected counts and totals come from each file by a deliberately simple independent reading (split
the text on ``/`` and line ends, count the ``16`` records and add their amounts with the sign of the
BAI type-code range), so the tests do not trust the reader to count itself.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hub_connectors.bank_files.bai2 import Bai2Reader, detect_bai2, iter_bai2
from hub_connectors.bank_files.common import RECEIPT_FIELDS, StatementSummary
from hypothesis import HealthCheck, given, settings, strategies as st

from hub.errors import StatementError

from .mutation import read_mutated

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"
BAI2 = FIXTURES / "bai2"
INVALID = BAI2 / "moov_invalid_parse-error.bai2"
VALID = sorted(p for p in BAI2.glob("*.bai2") if p != INVALID)
CITI = BAI2 / "moj_citi_GB.bai2"
NATWEST = BAI2 / "moj_natwest_GB.bai2"
LOCKBOX = BAI2 / "moov_bai-spec-example_lockbox.bai2"
MULTI = BAI2 / "moov_US_edge_multiple-records-per-line.bai2"
GOLDMAN = BAI2 / "moov_goldman_US_remittance-88-continuations.bai2"
GOLDMAN_SLASH = BAI2 / "moov_goldman_US_edge_slash-in-fields.bai2"
OTHER_FORMATS = sorted(
    [*(FIXTURES / "camt053").glob("*.xml"), *(FIXTURES / "mt940").iterdir(), *(FIXTURES / "ofx").glob("*.ofx")]
)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def read(path: Path, **kwargs: int) -> tuple[list[dict], StatementSummary]:
    reader = Bai2Reader(path, **kwargs)
    receipts = list(reader)
    return receipts, reader.summary


def by_ref(receipts: list[dict]) -> dict[str, dict]:
    return {r["bank_ref"]: r for r in receipts}


def write(tmp_path: Path, text: str, name: str = "file.bai2") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


# -- an independent reading of the files --------------------------------------------------------------


def count_directly(path: Path) -> dict:
    """Accounts, 16 records and signed totals per currency from the raw text.

    Records are the pieces between ``/`` terminators and line ends; a piece starting ``02,`` sets
    the group currency (field 6, default USD), ``03,`` the account's (field 2, else the group's).
    A ``16`` amount has two implied decimals (none for JPY); type codes 100-399 and 920-959 are
    credits, 400-699 and 960-999 debits.
    """
    pieces = [p.strip() for p in re.split(r"/[ \t]*|\r?\n", path.read_bytes().decode("latin-1"))]
    accounts = details = 0
    totals: dict[str, Decimal] = defaultdict(Decimal)
    group_ccy = account_ccy = "USD"
    for piece in pieces:
        fields = piece.split(",")
        if piece.startswith("02,"):
            group_ccy = (fields[6] if len(fields) > 6 else "") or "USD"
        elif piece.startswith("03,"):
            accounts += 1
            account_ccy = fields[2] or group_ccy
        elif piece.startswith("16,"):
            details += 1
            code, amount = int(fields[1]), Decimal(fields[2]).scaleb(0 if account_ccy == "JPY" else -2)
            credit = 100 <= code <= 399 or 920 <= code <= 959
            assert credit or 400 <= code <= 699 or 960 <= code <= 999
            totals[account_ccy] += amount if credit else -amount
    return {"statements": accounts, "receipts": details, "totals": dict(totals)}


# -- every file ---------------------------------------------------------------------------------------


def test_all_fixture_files_are_here() -> None:
    assert len(VALID) == 9
    assert INVALID.exists()


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_counts_and_totals_equal_an_independent_reading_of_the_file(path: Path) -> None:
    receipts, summary = read(path)
    expected = count_directly(path)
    assert len(receipts) == summary.receipts == summary.entries == expected["receipts"]
    assert summary.totals == expected["totals"]
    assert summary.statements == expected["statements"]
    assert summary.format == "bai2"
    assert summary.message_type == "BAI2"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_receipt_has_the_receipt_fields_and_well_formed_values(path: Path) -> None:
    for r in iter_bai2(path):
        assert tuple(r) == RECEIPT_FIELDS
        assert r["direction"] in ("credit", "debit")
        assert Decimal(r["amount"]) >= 0
        assert r["amount"] == r["entry_amount"]
        assert re.fullmatch(r"[A-Z]{3}", r["currency"])
        assert _DATE.fullmatch(r["booking_date"])
        assert r["value_date"] is None or _DATE.fullmatch(r["value_date"])
        assert re.fullmatch(r"[0-9]{3}", r["bank_tx_code"])
        assert isinstance(r["references"], list)
        assert r["reversal"] is False


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_reading_twice_gives_the_same_keys_and_keys_are_unique_in_the_file(path: Path) -> None:
    reader = Bai2Reader(path)
    first = [r["external_id"] for r in reader]
    warnings = list(reader.summary.warnings)
    second = [r["external_id"] for r in reader]
    assert first == second
    assert reader.summary.warnings == warnings  # reset, not doubled
    assert len(set(first)) == len(first)


def test_the_summary_object_is_filled_in_place() -> None:
    reader = Bai2Reader(LOCKBOX)
    summary = reader.summary
    iterator = iter(reader)
    next(iterator)
    assert summary.receipts == 1
    list(iterator)
    assert summary is reader.summary
    assert summary.receipts == 4


def test_constructing_a_reader_reads_nothing(tmp_path: Path) -> None:
    reader = Bai2Reader(tmp_path / "missing.bai2")
    with pytest.raises(StatementError, match="cannot read"):
        list(reader)


# -- control totals and record counts -------------------------------------------------------------------


def test_goldman_file_whose_own_trailer_counts_are_wrong_imports_with_warnings() -> None:
    receipts, summary = read(GOLDMAN)
    assert len(receipts) == 17
    warnings = "\n".join(summary.warnings)
    assert "account 107049932: trailer 49 says 26 records, file has 18" in warnings
    assert (
        "account 107049932: trailer 49 says control total -1260161341762, the account's amounts add up to "
        "7999960" in warnings
    )
    assert "account 104108339: trailer 49 says 8 records, file has 88" in warnings
    assert "group 1: trailer 98 says 4 accounts, file has 5" in warnings
    assert "file: trailer 99 says 18 records, file has 116" in warnings


def test_wrong_account_trailer_is_a_warning_naming_the_mismatch(tmp_path: Path) -> None:
    text = CITI.read_text().replace("49,20001,10/", "49,20002,11/")
    receipts, summary = read(write(tmp_path, text))
    assert len(receipts) == 1
    assert any(w.endswith("account 77777777: trailer 49 says 11 records, file has 10") for w in summary.warnings)
    assert any(
        "account 77777777: trailer 49 says control total 20002, the account's amounts add up to 20001" in w
        for w in summary.warnings
    )
    assert any(
        "group 1: trailer 98 says control total 20001, its account trailers add up to 20002" in w
        for w in summary.warnings
    )


@pytest.mark.parametrize(
    "path",
    [
        CITI,
        NATWEST,
        LOCKBOX,
        MULTI,
        BAI2 / "moov_CA_cad-bank.bai2",
        BAI2 / "moj_svb_US_multi-group.bai2",
        BAI2 / "moj_edge_account-trailer-amount-blank.bai2",
    ],
    ids=lambda p: p.name,
)
def test_files_whose_trailers_add_up_have_no_trailer_warnings(path: Path) -> None:
    _, summary = read(path)
    assert not [w for w in summary.warnings if "trailer" in w]


# -- remittance texts -----------------------------------------------------------------------------------


def test_goldman_88_continuations_give_remittance_end_to_end_id_and_payer() -> None:
    receipts = by_ref(read(GOLDMAN)[0])
    reject = receipts["SB2322600000404"]  # 261 ACH credit reject: a credit
    assert reject["direction"] == "credit"
    assert reject["remittance"] == "ACH- Test - Addenda Record"
    assert reject["end_to_end_id"] == "GSQ4FBGFDGWGKY"
    assert reject["tx_id"] == "GSQ4FBGFDGWGKY"
    assert (reject["payer_name"], reject["payer_account"]) == ("SAMPLE INC", "101152046")  # DBNM, DACT
    assert reject["additional_tx_info"].split("\n") == [
        'ACH Credit Reject,From: TEST INC, Remittance Info: "ACH- Test - Addenda Record", Entry Description: TRADE; '
        "-, SEC: CTX, Client Ref ID: GSQ4FBGFDGWGKY, GS ID: SB2322600000404",
        "CREF:",
        "REMI: ACH- Test - Addenda Record",
        "EREF: GSQ4FBGFDGWGKY",
        "CRNM: Test",
        "DBNM: SAMPLE INC",
        "DACT: 101152046",
        "DABA: 026015079",
    ]
    wire = receipts["GI2321400000090"]  # 495 outgoing wire: a debit, the creditor is the counterparty
    assert wire["direction"] == "debit"
    assert (wire["remittance"], wire["end_to_end_id"]) == ("QWERTIOP", "GSV0DL6RKT")
    assert (wire["payer_name"], wire["payer_bic"]) == ("TEST COMPANY", "COBADEFF")  # CRNM, CBIC
    assert wire["amount"] == "505.00"
    rtp = receipts["GI2228400005800"]
    assert (rtp["remittance"], rtp["payer_name"], rtp["payer_account"]) == (
        "Test Remittance",
        "SAMPLE INC",
        "02122056789012205",
    )
    debit = receipts["SB2322600000455"]
    assert {"type": "CREF", "value": "021000020000021", "issuer": None} in debit["references"]
    assert {"type": "IDNM", "value": "2009282", "issuer": None} in debit["references"]
    # Without a REMI tag the bank's own text is the remittance.
    assert receipts["SPB2322984714570"]["remittance"].startswith("ACH Credit Payment,Entry Description: EXP")
    assert receipts["SPB2322984714570"]["end_to_end_id"] == "1111"


def test_citi_faster_payment_tags() -> None:
    (r,), summary = read(CITI)
    assert not summary.warnings
    assert (r["amount"], r["currency"], r["direction"], r["bank_tx_code"]) == ("0.01", "GBP", "credit", "191")
    assert (r["bank_ref"], r["tx_id"], r["account"]) == ("1234567890", "RP12312312312312", "77777777")
    assert (r["booking_date"], r["value_date"]) == ("2015-07-15", "2015-07-15")  # funds type V
    assert r["remittance"] == "RP1231231231231200                 A1234BC 22/03/66"  # PY:
    assert r["payer_name"] == "DOE JO"  # BO1: by order of
    assert r["payer_account"] == "111111 11111111"  # OB: sort code, BO: account number
    assert r["references"] == [
        {"type": "FR", "value": "FP SIP INCOMING", "issuer": None},
        {"type": "ENDT", "value": "20150715", "issuer": None},
        {"type": "TRID", "value": "RP12312312312312", "issuer": None},
        {"type": "BI", "value": "22222222", "issuer": None},
    ]
    assert "OB:111111 BUCKINGHAM PALACE OB3:BARCLAYS BANK PLC" in r["additional_tx_info"].split("\n")
    assert r["external_id"] == "77777777:1234567890"


def test_natwest_text_wrapped_at_80_columns_continues_without_a_separator() -> None:
    receipts, summary = read(NATWEST)
    assert not summary.warnings
    assert [r["amount"] for r in receipts] == ["9.71", "1.00", "1.23", "15.71", "0.89"]
    assert [r["direction"] for r in receipts] == ["debit"] * 4 + ["credit"]
    assert receipts[0]["remittance"] == "LVP XBANKGO24007664SJ LVP INT 2 USAXBANKGO24007664SJ LVP INT 2 USARELAY TFR"
    assert receipts[4]["remittance"].endswith("BGC INTERNATIONAL-5373 CLIENT SECCY AC TFR")
    assert all(r["account"] == "88888888 600004" and r["booking_date"] == "2009-12-16" for r in receipts)
    assert all(r["external_id"].startswith("h:") for r in receipts)  # no bank references: content keys


def test_several_records_on_one_line_are_split_on_their_terminators() -> None:
    receipts, summary = read(MULTI)
    assert len(receipts) == 26
    assert summary.statements == 15
    assert [(r["amount"], r["direction"], r["remittance"]) for r in receipts[:3]] == [
        ("25.00", "credit", "TRANSFER   PAYPAL             PPD"),
        ("5.00", "credit", "TRANSFER   MSPBNA BANK        PPD"),
        ("1.00", "credit", "Ext Trnsfr JPMorgan Chase     PPD"),
    ]
    assert [(r["amount"], r["remittance"]) for r in receipts[6:8]] == [
        ("275.00", "Visa Billing FTSRE Sept 22"),
        ("32.03", "Visa Billing Sept 22"),
    ]
    assert all(r["currency"] == "USD" for r in receipts)  # the 03 records leave it to the group
    # Line 19 holds the rest of the 16 record begun on line 18: read as one record, with a warning.
    assert summary.warnings == [
        "line 19: the line starts with no record code; read as the continuation of the record on line 18"
    ]
    assert receipts[8]["remittance"].startswith("111111     ACH_SETL           1111111111 111111111111111\n")


def test_slashes_inside_references_and_texts_survive() -> None:
    receipts, summary = read(GOLDMAN_SLASH)
    refs = by_ref(receipts)
    assert len(receipts) == 20
    payment = refs["SPB2322684598521"]
    assert payment["tx_id"] == payment["end_to_end_id"] == "AB/GS/RPFILERP0001/RPBA0001"
    assert "Client Ref ID: AB/GS/TEST0001/RPBA0001, GS ID: SPB2322684598521" in payment["additional_tx_info"]
    assert refs["GI2323300009168"]["remittance"] == "08/18/23 Invoice - Sample"
    assert refs["SPB2321284264201"]["end_to_end_id"] == "AB/GS/DDFILEAB0001/DDBAB0001"
    # "88:EREF:" (a colon for the comma) is still the check return's continuation.
    assert refs["SC2134800001999"]["end_to_end_id"] == "07370568132"
    assert "line 63: '88:' read as the continuation record '88,'" in summary.warnings
    # The same transactions without slashes read the same but for the slashes.
    plain = by_ref(read(GOLDMAN)[0])
    for ref, r in plain.items():
        assert {
            k: v
            for k, v in refs[ref].items()
            if k not in ("tx_id", "end_to_end_id", "remittance", "additional_tx_info")
        } == {k: v for k, v in r.items() if k not in ("tx_id", "end_to_end_id", "remittance", "additional_tx_info")}
        assert (refs[ref]["tx_id"] or "").replace("/", "-") == (r["tx_id"] or "")


def test_lockbox_spec_sample_with_distributed_availability_and_continued_summaries() -> None:
    receipts, summary = read(LOCKBOX)
    assert summary.statements == 5
    # "...,190/" + "88,500000,,," is type code 190 and amount 500000: every 49/98/99 total adds up.
    assert summary.warnings == ["line 26: group 4 (122099999) is marked a correction (group status 3)"]
    first, lockbox, credit, wire = receipts
    assert (first["amount"], first["bank_tx_code"], first["bank_ref"], first["tx_id"]) == ("4500.00", "115", None, None)
    assert first["additional_entry_info"] == "Lockbox Deposit"
    assert lockbox["account"] == "9876543210"
    assert lockbox["remittance"] == "LOCK BOX NO.68751"
    assert lockbox["references"] == [{"type": "lockbox", "value": "68751", "issuer": None}]
    assert (credit["bank_ref"], credit["tx_id"], credit["value_date"]) == ("SP4738", "YRC065321", "2004-06-22")
    assert credit["remittance"] == "PROCEEDS OF LETTER OF CREDIT FROM THE ARAMCO OIL CO"
    assert credit["amount"] == "200000.00"
    assert (wire["bank_tx_code"], wire["amount"], wire["remittance"]) == ("195", "100000.00", None)
    assert all(r["booking_date"] == "2004-06-20" and r["currency"] == "USD" for r in receipts)


# -- fields the fixtures do not show ---------------------------------------------------------------------

HEADER = "01,SENDER,RECEIVER,240131,1200,F1,,,2/\n02,RECEIVER,SENDER,1,240130,2400,{ccy},2/\n"


def _file(details: str, ccy: str = "", account_ccy: str = "") -> str:
    """A one-account file around ``details`` (its trailers need not add up: those are warnings)."""
    return HEADER.format(ccy=ccy) + f"03,ACC1,{account_ccy},010,0,,/\n{details}49,0,0/\n98,0,1,0/\n99,0,1,0/\n"


def test_distributed_availability_does_not_shift_the_references(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        _file(
            "16,165,150000,D,2,0,100000,1,50000,BANK1,CUST1,INVOICE 7/\n"
            "16,175,2500,S,1000,1000,500,BANK2,CUST2,/\n"
            "16,195,700,V,240201,1200,BANK3,,WIRE/\n"
        ),
    )
    receipts, _ = read(path)
    assert [(r["bank_ref"], r["tx_id"], r["remittance"], r["value_date"]) for r in receipts] == [
        ("BANK1", "CUST1", "INVOICE 7", None),
        ("BANK2", "CUST2", None, None),
        ("BANK3", None, "WIRE", "2024-02-01"),
    ]


def test_custom_and_out_of_range_type_codes_do_not_stop_the_import(tmp_path: Path) -> None:
    path = write(tmp_path, _file("16,950,100,,R1,,/\n16,975,200,,R2,,/\n16,706,300,,R3,,/\n16,890,0,,R4,,/\n"))
    receipts, summary = read(path)
    assert [(r["bank_ref"], r["direction"]) for r in receipts] == [("R1", "credit"), ("R2", "debit"), ("R3", "credit")]
    assert summary.entries == 4
    assert any(
        w.startswith("line 6: type code 706 is outside the BAI credit and debit ranges; read as a credit")
        for w in summary.warnings
    )
    assert any(
        w.startswith("line 7: type code 890 (Contains Non-monetary Information) is neither a credit nor a debit")
        for w in summary.warnings
    )


def test_implied_decimals_follow_the_currency(tmp_path: Path) -> None:
    receipts, summary = read(write(tmp_path, _file("16,195,15000,,R1,,/\n", ccy="JPY")))
    assert (receipts[0]["amount"], receipts[0]["currency"]) == ("15000", "JPY")
    receipts, summary = read(write(tmp_path, _file("16,195,15000,,R1,,/\n", ccy="JPY", account_ccy="KWD")))
    assert (receipts[0]["amount"], receipts[0]["currency"]) == ("15.000", "KWD")
    assert summary.totals == {"KWD": Decimal("15.000")}
    receipts, _ = read(write(tmp_path, _file("16,195,15000,,R1,,/\n")))
    assert (receipts[0]["amount"], receipts[0]["currency"]) == ("150.00", "USD")


# -- invalid files ----------------------------------------------------------------------------------------


def test_invalid_fixture_fails_with_a_statement_error_and_a_line() -> None:
    with pytest.raises(StatementError) as exc:
        list(Bai2Reader(INVALID))
    assert exc.value.file == str(INVALID)
    assert exc.value.position == "line 1"
    assert "unknown record code '00'" in exc.value.reason


@pytest.mark.parametrize(
    ("old", "new", "position", "reason"),
    [
        ("16,115,500000,S,", "16,115,5000X0,S,", "line 10", "16 amount '5000X0' is not a whole number"),
        ("16,115,500000,S,", "16,115,500000,Q,", "line 10", "unknown funds type 'Q'"),
        ("16,115,500000,S,", "16,1150,500000,S,", "line 10", "16 type code '1150' is not a 3-digit BAI type code"),
        ("16,115,500000,S,", "16,115,-500000,S,", "line 10", "signed"),
        ("02,031001234,122099999,1,040620,", "02,031001234,122099999,1,041320,", "line 2", "is not a date"),
        ("03,0123456789,,010", "03,0123456789,EU1,010", "line 3", "currency code 'EU1'"),
        ("49,9150000,4/\n", "", "line 6", "03 account record before the 49 trailer of account 0123456789"),
        (
            "01,122099999,123456789,040621,0200,1,65,,2/",
            "01,122099999,123456789,040621,0200,1,65,,1/",
            "line 1",
            "only BAI version 2",
        ),
        ("16,218,20000000,V,040622,", "17,218,20000000,V,040622,", "line 16", "unknown record code '17'"),
    ],
)
def test_malformed_records_fail_with_the_line_and_the_reason(
    tmp_path: Path, old: str, new: str, position: str, reason: str
) -> None:
    text = LOCKBOX.read_text()
    assert old in text
    with pytest.raises(StatementError) as exc:
        list(Bai2Reader(write(tmp_path, text.replace(old, new, 1))))
    assert exc.value.position == position
    assert reason in exc.value.reason


def test_truncated_file_fails(tmp_path: Path) -> None:
    text = LOCKBOX.read_text()
    path = write(tmp_path, text[: text.index("98,180000000")])
    with pytest.raises(StatementError, match=r"line 19: the file ends before its 99 file trailer"):
        list(Bai2Reader(path))


def test_empty_and_non_bai2_files_fail(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="empty file"):
        list(Bai2Reader(write(tmp_path, "\n  \n")))
    with pytest.raises(StatementError, match="line 1: not a BAI2 record"):
        list(Bai2Reader(write(tmp_path, "Date,Amount\n2024-01-01,5.00\n")))
    with pytest.raises(StatementError, match="line 1: a BAI2 file starts with a 01 file header, not a 02"):
        list(Bai2Reader(write(tmp_path, "02,A,B,1,240101,,,2/\n")))


def test_file_over_the_size_limit_is_refused() -> None:
    with pytest.raises(StatementError, match="above the limit of 100"):
        list(Bai2Reader(LOCKBOX, max_bytes=100))


# -- detection ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_bai2_fixture_is_detected_from_its_first_bytes(path: Path) -> None:
    assert detect_bai2(path.read_bytes()[:4096])


@pytest.mark.parametrize("path", OTHER_FORMATS, ids=lambda p: p.name)
def test_camt_mt940_and_ofx_files_are_not_bai2(path: Path) -> None:
    assert not detect_bai2(path.read_bytes()[:4096])


def test_detection_reads_content_after_a_bom_and_blanks_and_refuses_csv() -> None:
    head = CITI.read_bytes()
    assert detect_bai2(b"\xef\xbb\xbf" + head)
    assert detect_bai2(b"\r\n  " + head)
    assert not detect_bai2(INVALID.read_bytes())
    assert not detect_bai2(b"01,02,03\n04,05,06\n")
    assert not detect_bai2(b"Date,Amount,Reference\n2024-01-02,100.00,INV1\n")
    assert not detect_bai2(b"")


# -- fuzzing ----------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(VALID), seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 3))
def test_mutated_real_files_either_read_or_fail_with_statement_error(
    tmp_path: Path, path: Path, seed: int, rounds: int
) -> None:
    read_mutated(Bai2Reader, path, tmp_path / "mutated.bai2", seed, rounds)
