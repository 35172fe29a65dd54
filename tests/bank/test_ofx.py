"""OFX 1.x (SGML) / 2.x (XML) reader on genuine files: counts, totals, fields, safety, fuzzing.

Expected counts and totals are taken from each file by an independent reading (regular expressions
over the raw ``<STMTTRN>`` blocks), so the tests do not trust the reader to count itself.
"""

from __future__ import annotations

import io
import re
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hub_connectors.bank_files.common import RECEIPT_FIELDS
from hub_connectors.bank_files.ofx import OfxReader, OfxSummary, _close_elements, detect_ofx, iter_ofx
from hypothesis import HealthCheck, given, settings, strategies as st
from ofxparse.ofxparse import OfxPreprocessedFile

from hub.errors import StatementError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"
OFX = FIXTURES / "ofx"
ALL_OFX = sorted(OFX.glob("*.ofx"))

#: Valid files: (statements, receipts), also checked against the independent count below.
VALID = {
    "ofxparse_anz-creditcard_AU_xml-v203.ofx": (1, 1),
    "ofxparse_bank-medium_sgml-v102.ofx": (1, 3),
    "ofxparse_checking_sgml-v102.ofx": (1, 3),
    "ofxparse_edge_empty-balance.ofx": (1, 1),
    "ofxparse_edge_v102-empty-tags.ofx": (1, 1),
    "ofxparse_multiple-accounts_xml-v211.ofx": (2, 0),
    "ofxparse_suncorp_AU_xml-v200.ofx": (1, 1),
}
#: Invalid files: (position, fragment of the reason).
INVALID = {
    "ofxparse_edge_date-missing.ofx": ("line 33", "STMTTRN FITID '184997056': no DTPOSTED"),
    "ofxparse_edge_decimal-error.ofx": ("line 34", "STMTTRN FITID '2000957249': TRNAMT '$120' is not an amount"),
    "ofxparse_edge_error-message.ofx": ("line 22", "failed with status 2000 (ERROR): General Server Error"),
}
#: Files that import with warnings, and a fragment of each warning.
WARNED = {
    "ofxparse_edge_empty-balance.ofx": ["LEDGERBAL has no valid BALAMT", "AVAILBAL has no valid BALAMT"],
    "ofxparse_edge_v102-empty-tags.ofx": [
        "LEDGERBAL has no valid BALAMT",
        "CURDEF is empty or missing",
        "STMTTRN without FITID",
    ],
}


def test_the_fixture_tables_cover_every_file() -> None:
    assert set(VALID) | set(INVALID) == {p.name for p in ALL_OFX}


# -- an independent reading of the files (regular expressions over the raw text) --------------------------


def count_directly(path: Path) -> dict:
    """Statements, transactions and signed totals per currency, from the raw text.

    Each ``<STMTRS>``/``<CCSTMTRS>`` block is a statement with its ``<CURDEF>``; each ``<STMTTRN>``
    block in it a transaction of ``<TRNAMT>`` in its ``<CURRENCY><CURSYM>`` if any, else CURDEF.
    """
    text = path.read_bytes().decode("latin-1")
    statements = re.findall(r"<(CC)?STMTRS>(.*?)</(?:CC)?STMTRS>", text, re.S | re.I)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    transactions = 0
    for _, block in statements:
        curdef = re.search(r"<CURDEF>([A-Za-z]*)", block)
        for trn in re.findall(r"<STMTTRN>(.*?)</STMTTRN>", block, re.S | re.I):
            transactions += 1
            amount = re.search(r"<TRNAMT>\s*([-+]?[0-9.]+)", trn).group(1)
            cursym = re.search(r"<CURRENCY>.*?<CURSYM>\s*([A-Za-z]{3})", trn, re.S)
            currency = (cursym.group(1) if cursym else curdef.group(1)).upper()
            totals[currency] += Decimal(amount)
    return {"statements": len(statements), "transactions": transactions, "totals": dict(totals)}


def read(path: Path, **kwargs: object) -> tuple[list[dict], OfxSummary]:
    reader = OfxReader(path, **kwargs)
    receipts = list(reader)
    return receipts, reader.summary


# -- genuine files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_files_match_an_independent_count(name: str) -> None:
    receipts, summary = read(OFX / name)
    expected = count_directly(OFX / name)
    statements, count = VALID[name]
    assert (expected["statements"], expected["transactions"]) == (statements, count)
    assert summary.format == "ofx"
    assert summary.statements == statements
    assert summary.entries == summary.receipts == len(receipts) == count
    signed: dict[str, Decimal] = defaultdict(Decimal)
    for r in receipts:
        signed[r["currency"]] += Decimal(r["amount"]) if r["direction"] == "credit" else -Decimal(r["amount"])
    assert dict(signed) == expected["totals"]
    assert summary.totals == expected["totals"]


@pytest.mark.parametrize("name", sorted(VALID))
def test_receipts_have_exactly_the_receipt_fields_and_plain_values(name: str) -> None:
    receipts, _ = read(OFX / name)
    for r in receipts:
        assert tuple(r) == RECEIPT_FIELDS
        assert r["direction"] in ("credit", "debit")
        assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", r["amount"])
        assert re.fullmatch(r"[A-Z]{3}", r["currency"])
        assert re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", r["booking_date"])
        assert r["account"] and r["external_id"]
        assert r["reversal"] is False


@pytest.mark.parametrize("name", sorted(VALID))
def test_warnings_only_where_the_file_is_incomplete(name: str) -> None:
    _, summary = read(OFX / name)
    expected = WARNED.get(name, [])
    assert len(summary.warnings) == len(expected), summary.warnings
    for fragment in expected:
        assert any(fragment in w for w in summary.warnings), (fragment, summary.warnings)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_files_fail_with_a_clear_reason(name: str) -> None:
    position, fragment = INVALID[name]
    with pytest.raises(StatementError) as info:
        list(OfxReader(OFX / name))
    assert info.value.position == position
    assert fragment in info.value.reason
    assert info.value.file == str(OFX / name)


def test_the_server_error_file_names_code_severity_and_message() -> None:
    with pytest.raises(StatementError) as info:
        list(OfxReader(OFX / "ofxparse_edge_error-message.ofx"))
    assert "2000" in info.value.reason
    assert "ERROR" in info.value.reason
    assert "General Server Error" in info.value.reason
    assert "ae91f50f-f16d-4bc1-b88f-2a7fa04b6de1" in info.value.reason  # the TRNUID


def test_the_decimal_error_reports_every_problem_of_the_transaction() -> None:
    with pytest.raises(StatementError) as info:
        list(OfxReader(OFX / "ofxparse_edge_decimal-error.ofx"))
    assert "DTPOSTED '201120000000' is not a date" in info.value.reason


def test_multiple_accounts_without_transactions_import_nothing_without_error() -> None:
    receipts, summary = read(OFX / "ofxparse_multiple-accounts_xml-v211.ofx")
    assert receipts == []
    assert (summary.statements, summary.entries, summary.receipts) == (2, 0, 0)
    assert summary.message_type == "OFX 211"
    assert summary.warnings == []


@pytest.mark.parametrize(
    ("name", "message_type"),
    [
        ("ofxparse_anz-creditcard_AU_xml-v203.ofx", "OFX 203"),
        ("ofxparse_bank-medium_sgml-v102.ofx", "OFX 102"),
        ("ofxparse_checking_sgml-v102.ofx", "OFX 102"),
        ("ofxparse_edge_v102-empty-tags.ofx", "OFX 102"),  # the header follows twelve blank lines
        ("ofxparse_suncorp_AU_xml-v200.ofx", "OFX 200"),
        ("ofxparse_edge_empty-balance.ofx", "OFX"),  # headerless
    ],
)
def test_message_type_is_the_header_version(name: str, message_type: str) -> None:
    _, summary = read(OFX / name)
    assert summary.message_type == message_type


def test_checking_sgml_names_memos_and_check_number() -> None:
    receipts, _ = read(OFX / "ofxparse_checking_sgml-v102.ofx")
    got = [(r["bank_ref"], r["payer_name"], r["remittance"], r["direction"], r["amount"]) for r in receipts]
    assert got == [
        (
            "0000486",
            "DIVIDEND EARNED FOR PERIOD OF 03",
            "DIVIDEND EARNED FOR PERIOD OF 03/01/2011 THROUGH 03/31/2011 ANNUAL PERCENTAGE YIELD EARNED IS 0.05%",
            "credit",
            "0.01",
        ),
        (
            "0000487",
            "AUTOMATIC WITHDRAWAL, ELECTRIC BILL",
            "AUTOMATIC WITHDRAWAL, ELECTRIC BILL WEB(S )",
            "debit",
            "34.51",
        ),
        (
            "0000488",
            "RETURNED CHECK FEE, CHECK # 319",
            "RETURNED CHECK FEE, CHECK # 319 FOR $45.33 ON 04/07/11",
            "debit",
            "25.00",
        ),
    ]
    assert [r["booking_date"] for r in receipts] == ["2011-03-31", "2011-04-05", "2011-04-07"]
    assert [r["bank_tx_code"] for r in receipts] == ["CREDIT", "DEBIT", "CHECK"]
    assert receipts[2]["references"] == [{"type": "CHECKNUM", "value": "319", "issuer": None}]
    assert {r["account"] for r in receipts} == {"5472369148/1452687~7"}  # BANKID/ACCTID
    assert {r["account_currency"] for r in receipts} == {"USD"}
    assert receipts[0]["external_id"] == "5472369148/1452687~7:0000486"


def test_bank_medium_sgml_several_aggregates_per_line() -> None:
    receipts, _ = read(OFX / "ofxparse_bank-medium_sgml-v102.ofx")
    assert [r["payer_name"] for r in receipts] == ["MCDONALD'S #112", "Joe's Bald Hairstyles", "CONNIE'S HAIR D"]
    assert receipts[1]["remittance"] == "MISCELLANEOUS PAYMENTS;Joe's Bald Hairstyles"
    assert receipts[1]["references"] == []  # CHECKNUM 0 is no check number
    assert {r["account"] for r in receipts} == {"160000100/00/12300 000012345678"}  # BANKID/BRANCHID/ACCTID
    assert {r["statement_id"] for r in receipts} == {"20090523122017"}  # TRNUID
    # 20090401122017.000[-5:EST]: the date as written (ofxparse would shift the time to UTC)
    assert receipts[0]["booking_date"] == "2009-04-01"


def test_suncorp_xml_cdata_name_and_memo() -> None:
    receipts, _ = read(OFX / "ofxparse_suncorp_AU_xml-v200.ofx")
    (r,) = receipts
    assert r["payer_name"] == "EFTPOS WDL HANDYWAY ALDI STORE"
    assert r["remittance"] == "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU"
    assert (r["amount"], r["currency"], r["direction"], r["booking_date"]) == ("16.85", "AUD", "debit", "2013-12-15")
    assert (r["account"], r["bank_ref"], r["external_id"]) == ("SUNCORP/123456789", "1", "SUNCORP/123456789:1")


def test_anz_credit_card_statement() -> None:
    receipts, summary = read(OFX / "ofxparse_anz-creditcard_AU_xml-v203.ofx")
    (r,) = receipts
    assert r["payer_name"] is None  # the file has no NAME
    assert r["remittance"] == "SOME MEMO"
    assert (r["amount"], r["currency"], r["direction"]) == ("5.50", "AUD", "debit")
    assert (r["account"], r["account_currency"], r["bank_ref"]) == ("1234123412341234", "AUD", "201705080001")
    assert r["booking_date"] == "2017-05-08"
    assert summary.totals == {"AUD": Decimal("-5.50")}


def test_empty_tags_file_takes_the_transaction_currency_and_keys_by_content() -> None:
    receipts, _ = read(OFX / "ofxparse_edge_v102-empty-tags.ofx")
    (r,) = receipts
    assert (r["amount"], r["currency"], r["direction"]) == ("12.34", "AUD", "credit")  # CURRENCY/CURSYM
    assert r["account_currency"] is None  # CURDEF is empty
    assert r["bank_ref"] is None and r["external_id"].startswith("h:")
    assert r["payer_name"] is None and r["remittance"] == "CBA:Transfer"
    assert r["account"] == "NPBS/12345678"  # empty BRANCHID left out
    assert r["references"] == []  # empty CHECKNUM and REFNUM


def test_empty_balance_file_still_imports_its_transaction() -> None:
    receipts, _ = read(OFX / "ofxparse_edge_empty-balance.ofx")
    (r,) = receipts
    assert (r["amount"], r["currency"], r["direction"], r["payer_name"]) == ("120", "CAD", "credit", "Foobar")


# -- keys -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [OFX / n for n in sorted(VALID)], ids=lambda p: p.name)
def test_external_ids_are_stable_and_unique_within_a_file(path: Path) -> None:
    first = [r["external_id"] for r in OfxReader(path)]
    second = [r["external_id"] for r in OfxReader(path)]
    assert first == second
    assert len(set(first)) == len(first)
    assert first == [r["external_id"] for r in iter_ofx(path)]


def test_the_summary_is_reset_when_reading_again() -> None:
    reader = OfxReader(OFX / "ofxparse_checking_sgml-v102.ofx")
    summary = reader.summary
    list(reader)
    list(reader)
    assert reader.summary is summary
    assert (summary.statements, summary.entries, summary.receipts) == (1, 3, 3)


def test_nothing_is_read_before_iterating(tmp_path: Path) -> None:
    OfxReader(tmp_path / "missing.ofx")  # no error yet
    with pytest.raises(StatementError, match="cannot read"):
        list(OfxReader(tmp_path / "missing.ofx"))


# -- synthetic files for what the fixtures lack -----------------------------------------------------------

SGML_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\n"
    "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)
XML_PROLOG = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    '<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="F-77"?>\n'
)
OK = "<STATUS><CODE>0<SEVERITY>INFO</STATUS>"


def sgml(
    transactions: str,
    *,
    header: str = SGML_HEADER,
    curdef: str = "USD",
    status: str = OK,
    sonrs_status: str = OK,
    balance: str = "<LEDGERBAL><BALAMT>10.00<DTASOF>20240131</LEDGERBAL>",
    account: str = "<BANKID>021000021<ACCTID>7777<ACCTTYPE>CHECKING",
) -> str:
    return (
        f"{header}<OFX><SIGNONMSGSRSV1><SONRS>{sonrs_status}<DTSERVER>20240131<LANGUAGE>ENG</SONRS>"
        f"</SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS><TRNUID>42{status}<STMTRS><CURDEF>{curdef}"
        f"<BANKACCTFROM>{account}</BANKACCTFROM><BANKTRANLIST><DTSTART>20240101<DTEND>20240131\n"
        f"{transactions}\n</BANKTRANLIST>{balance}</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )


def trn(amount: str = "100.00", fitid: str = "F1", extra: str = "", posted: str = "20240115") -> str:
    return f"<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>{posted}<TRNAMT>{amount}<FITID>{fitid}{extra}</STMTTRN>\n"


def write(tmp_path: Path, text: str | bytes, name: str = "s.ofx") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("ascii"))
    return path


def test_all_transaction_fields(tmp_path: Path) -> None:
    extra = (
        "<DTAVAIL>20240117<SRVRTID>S-9<CHECKNUM>1042<REFNUM>INV-2024-001<SIC>5411"
        "<PAYEE><NAME>ACME GMBH<ADDR1>Main St 1<CITY>X<STATE>Y<POSTALCODE>1</PAYEE>"
        "<BANKACCTTO><BANKID>026009593<ACCTID>5550001<ACCTTYPE>CHECKING</BANKACCTTO>"
        "<MEMO>Invoice INV-2024-001 &amp; INV-2024-002"
    )
    receipts, summary = read(write(tmp_path, sgml(trn("+1250.5", extra=extra))))
    (r,) = receipts
    assert (r["amount"], r["direction"], r["currency"]) == ("1250.5", "credit", "USD")
    assert (r["booking_date"], r["value_date"]) == ("2024-01-15", "2024-01-17")
    assert (r["bank_ref"], r["tx_id"], r["statement_id"]) == ("F1", "S-9", "42")
    assert r["payer_name"] == "ACME GMBH"  # PAYEE/NAME when there is no NAME
    assert r["payer_account"] == "026009593/5550001"
    assert r["remittance"] == "Invoice INV-2024-001 & INV-2024-002"
    assert r["references"] == [
        {"type": "CHECKNUM", "value": "1042", "issuer": None},
        {"type": "REFNUM", "value": "INV-2024-001", "issuer": None},
    ]
    assert r["purpose"] == "5411"
    assert r["additional_tx_info"] == "SIC 5411: Grocery Stores, Supermarkets"  # ofxparse's MCC table
    assert r["account"] == "021000021/7777"
    assert r["external_id"] == "021000021/7777:F1"
    assert summary.warnings == []


def test_comma_decimal_point_and_the_posting_date_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, sgml(trn("-12,34", posted="20240131230000.000[-5:EST]")))
    (r,) = OfxReader(path)
    assert (r["amount"], r["direction"], r["booking_date"]) == ("12.34", "debit", "2024-01-31")


def test_foreign_currency_and_original_currency(tmp_path: Path) -> None:
    text = sgml(
        trn("50.00", "A", "<CURRENCY><CURRATE>1.08<CURSYM>EUR</CURRENCY>")
        + trn("-20.00", "B", "<ORIGCURRENCY><CURRATE>0.79<CURSYM>gbp</ORIGCURRENCY>")
    )
    receipts, summary = read(write(tmp_path, text))
    assert [(r["currency"], r["account_currency"]) for r in receipts] == [("EUR", "USD"), ("USD", "USD")]
    assert receipts[1]["additional_tx_info"] == "original currency GBP at rate 0.79"
    assert summary.totals == {"EUR": Decimal("50.00"), "USD": Decimal("-20.00")}


def test_credit_card_statement_response(tmp_path: Path) -> None:
    text = (
        XML_PROLOG + "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>"
        "</SONRS></SIGNONMSGSRSV1><CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>7</TRNUID><STATUS><CODE>0</CODE>"
        "<SEVERITY>INFO</SEVERITY></STATUS><CCSTMTRS><CURDEF>CAD</CURDEF><CCACCTFROM><ACCTID>4111</ACCTID>"
        "</CCACCTFROM><BANKTRANLIST><STMTTRN><TRNTYPE>PAYMENT</TRNTYPE><DTPOSTED>20240105</DTPOSTED>"
        "<TRNAMT>300.00</TRNAMT><FITID>P1</FITID><NAME>PAYMENT - THANK YOU</NAME></STMTTRN></BANKTRANLIST>"
        "<LEDGERBAL><BALAMT>-12.00</BALAMT><DTASOF>20240131</DTASOF></LEDGERBAL></CCSTMTRS></CCSTMTTRNRS>"
        "</CREDITCARDMSGSRSV1></OFX>"
    )
    receipts, summary = read(write(tmp_path, text))
    (r,) = receipts
    assert (r["account"], r["currency"], r["direction"], r["payer_name"]) == (
        "4111",
        "CAD",
        "credit",
        "PAYMENT - THANK YOU",
    )
    assert (r["statement_id"], r["message_id"]) == ("7", "F-77")
    assert summary.message_type == "OFX 220"


def test_null_amount_is_skipped_with_a_warning(tmp_path: Path) -> None:
    receipts, summary = read(write(tmp_path, sgml(trn("null", "N") + trn("1.00", "M"))))
    assert [r["bank_ref"] for r in receipts] == ["M"]
    assert summary.entries == 2
    assert any("'null'" in w and "skipped" in w for w in summary.warnings)


@pytest.mark.parametrize(
    ("transactions", "fragment"),
    [
        (trn("1,000.50"), "TRNAMT '1,000.50' is not an amount"),
        (trn("1E3"), "TRNAMT '1E3' is not an amount"),
        (trn("NaN"), "TRNAMT 'NaN' is not an amount"),
        (trn("1.00", posted="00000000"), "DTPOSTED '00000000' is not a date"),
        (trn("1.00", posted="2024013"), "DTPOSTED '2024013' is not a date"),
        ("<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20240101<FITID>X</STMTTRN>", "STMTTRN FITID 'X': no TRNAMT"),
        (trn("1.00", "Y", "<TRNAMT>2.00"), "TRNAMT given twice with different values"),
        (trn("1.00", "Z", "<CURRENCY><CURRATE>1<CURSYM>EURO</CURRENCY>"), "CURRENCY/CURSYM 'EURO'"),
    ],
)
def test_transaction_errors_name_the_fitid_and_the_problem(tmp_path: Path, transactions: str, fragment: str) -> None:
    with pytest.raises(StatementError) as info:
        list(OfxReader(write(tmp_path, sgml(transactions))))
    assert fragment in info.value.reason
    assert info.value.position.startswith("line ")


def test_empty_curdef_without_a_transaction_currency_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="CURDEF is empty or missing and STMTTRN FITID 'F1' has no CURRENCY"):
        list(OfxReader(write(tmp_path, sgml(trn(), curdef=""))))


def test_missing_account_number_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match=r"without an account number \(ACCTID\)"):
        list(OfxReader(write(tmp_path, sgml(trn(), account="<BANKID>1<ACCTTYPE>CHECKING"))))


def test_signon_error_is_an_error(tmp_path: Path) -> None:
    status = "<STATUS><CODE>15500<SEVERITY>ERROR<MESSAGE>Signon invalid</STATUS>"
    with pytest.raises(StatementError, match=r"SONRS\) failed with status 15500 \(ERROR\): Signon invalid"):
        list(OfxReader(write(tmp_path, sgml(trn(), sonrs_status=status))))


def test_warning_status_with_a_statement_imports_with_a_warning(tmp_path: Path) -> None:
    status = "<STATUS><CODE>2003<SEVERITY>WARN<MESSAGE>Partial</STATUS>"
    receipts, summary = read(write(tmp_path, sgml(trn(), status=status)))
    assert len(receipts) == 1
    assert any("status 2003 (WARN): Partial" in w for w in summary.warnings)


def test_non_numeric_status_code_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="STATUS CODE 'OK' is not a number"):
        list(OfxReader(write(tmp_path, sgml(trn(), status="<STATUS><CODE>OK<SEVERITY>INFO</STATUS>"))))


def test_missing_ledger_balance_is_a_warning(tmp_path: Path) -> None:
    receipts, summary = read(write(tmp_path, sgml(trn(), balance="")))
    assert len(receipts) == 1
    assert any("has no LEDGERBAL" in w for w in summary.warnings)


def test_file_without_statement_is_an_error(tmp_path: Path) -> None:
    text = SGML_HEADER + f"<OFX><SIGNONMSGSRSV1><SONRS>{OK}</SONRS></SIGNONMSGSRSV1></OFX>"
    with pytest.raises(StatementError, match="no bank or credit card statement"):
        list(OfxReader(write(tmp_path, text)))


def test_investment_statement_is_not_supported(tmp_path: Path) -> None:
    text = (
        SGML_HEADER + "<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><INVSTMTRS><CURDEF>USD</INVSTMTRS></INVSTMTTRNRS>"
        "</INVSTMTMSGSRSV1></OFX>"
    )
    with pytest.raises(StatementError, match="INVSTMTRS"):
        list(OfxReader(write(tmp_path, text)))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "not an OFX file"),
        (b"date,amount\n2024-01-01,5\n", "not an OFX file"),
        (SGML_HEADER.encode(), "no <OFX> element"),
        (b"OFXHEADER:100\nDATA:OFXSGML\nGARBAGE LINE\n\n<OFX></OFX>", "malformed OFX header"),
        (SGML_HEADER.replace("USASCII", "EBCDIC-X").encode() + b"<OFX></OFX>", "unsupported character set"),
        (SGML_HEADER.replace("1252", "9999").encode() + b"<OFX></OFX>", "unsupported character set"),
        (b'<?xml version="1.0" encoding="no-such-codec"?><OFX></OFX>', "unsupported character set"),
        (b'<?xml version="1.0" encoding="UTF-8"?><OFX><NAME>\xff\xfe</NAME></OFX>', "not valid utf-8 text"),
    ],
)
def test_files_that_are_not_usable_ofx_are_refused(tmp_path: Path, content: bytes, fragment: str) -> None:
    with pytest.raises(StatementError, match=re.escape(fragment)):
        list(OfxReader(write(tmp_path, content)))


def test_camt_file_is_refused_not_crashed() -> None:
    with pytest.raises(StatementError, match="no <OFX> element"):
        list(OfxReader(next(iter(sorted((FIXTURES / "camt053").glob("*.xml"))))))


# -- encodings --------------------------------------------------------------------------------------------


def test_sgml_charset_1252_is_honoured(tmp_path: Path) -> None:
    body = sgml(trn(extra="<NAME>Caf\u00e9 M\u00fcller \u20ac"))
    (r,) = OfxReader(write(tmp_path, body.encode("cp1252")))
    assert r["payer_name"] == "Caf\u00e9 M\u00fcller \u20ac"


def test_sgml_utf8_encoding_is_honoured(tmp_path: Path) -> None:
    body = sgml(trn(extra="<NAME>\u0141\u00f3d\u017a \u00e5"), header=SGML_HEADER.replace("USASCII", "UTF-8"))
    receipts, summary = read(write(tmp_path, body.encode("utf-8")))
    assert receipts[0]["payer_name"] == "\u0141\u00f3d\u017a \u00e5"
    assert summary.warnings == []


def test_xml_encoding_declaration_is_honoured(tmp_path: Path) -> None:
    data = (XML_PROLOG.replace("UTF-8", "ISO-8859-1") + sgml(trn(extra="<NAME>Jos\u00e9"), header="")).encode("latin-1")
    (r,) = OfxReader(write(tmp_path, data))
    assert r["payer_name"] == "Jos\u00e9"


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    data = (XML_PROLOG.replace("UTF-8", "UTF-16") + sgml(trn(extra="<NAME>\u00c5se"), header="")).encode("utf-16")
    (r,) = OfxReader(write(tmp_path, data))
    assert r["payer_name"] == "\u00c5se"


def test_utf8_text_under_a_1252_header_is_read_as_utf8_with_a_warning(tmp_path: Path) -> None:
    receipts, summary = read(write(tmp_path, sgml(trn(extra="<NAME>M\u00fcller")).encode("utf-8")))
    assert receipts[0]["payer_name"] == "M\u00fcller"
    assert any("CHARSET:1252 but its text is UTF-8" in w for w in summary.warnings)


def test_headerless_non_utf8_file_is_read_as_1252_with_a_warning(tmp_path: Path) -> None:
    receipts, summary = read(write(tmp_path, sgml(trn(extra="<NAME>Fran\u00e7ois"), header="").encode("cp1252")))
    assert receipts[0]["payer_name"] == "Fran\u00e7ois"
    assert any("no character set declared" in w for w in summary.warnings)


# -- safety -----------------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n'
    '<!DOCTYPE OFX [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1 if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n"
)


def xml_statement(name: str) -> str:
    return (
        "<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY>"
        "</STATUS><STMTRS><CURDEF>USD</CURDEF><BANKACCTFROM><BANKID>1</BANKID><ACCTID>2</ACCTID>"
        "</BANKACCTFROM><BANKTRANLIST><STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20240101</DTPOSTED>"
        f"<TRNAMT>1.00</TRNAMT><FITID>1</FITID><NAME>{name}</NAME></STMTTRN></BANKTRANLIST>"
        "<LEDGERBAL><BALAMT>1</BALAMT><DTASOF>20240101</DTASOF></LEDGERBAL></STMTRS></STMTTRNRS>"
        "</BANKMSGSRSV1></OFX>\n"
    )


@pytest.fixture
def opened() -> list[str]:
    """Every file opened and socket used while the test runs (a process audit hook)."""
    events: list[str] = []
    _AUDIT.append(events)
    yield events
    _AUDIT.remove(events)


_AUDIT: list[list[str]] = []


def _audit_hook(event: str, args: tuple) -> None:
    if _AUDIT and (event == "open" or event.startswith(("socket.", "urllib."))):
        for events in _AUDIT:
            events.append(f"{event} {args[0] if args else ''}")


sys.addaudithook(_audit_hook)


def test_billion_laughs_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, BILLION_LAUGHS + xml_statement("&lol9;"))
    with pytest.raises(StatementError) as info:
        list(OfxReader(path))
    assert "DTDs and entity declarations are not allowed" in info.value.reason
    assert info.value.position == "line 3"
    assert "lollol" not in str(info.value)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE OFX [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        '<!DOCTYPE OFX [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>',
        '<!DOCTYPE OFX SYSTEM "file://{secret}">',
        '<!doctype OFX [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>',
    ],
)
def test_external_entities_are_refused_and_nothing_is_fetched(tmp_path: Path, opened: list[str], doctype: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    text = XML_PROLOG + doctype.format(secret=secret) + "\n" + xml_statement("&xxe;")
    path = write(tmp_path, text)
    opened.clear()
    with pytest.raises(StatementError, match="DTDs and entity declarations are not allowed"):
        list(OfxReader(path))
    assert not any(str(secret) in e for e in opened), opened
    assert not any(e.startswith(("socket.", "urllib.")) for e in opened), opened
    assert [e for e in opened if str(tmp_path) in e] == [f"open {path}"]


def test_sgml_file_with_a_doctype_is_refused(tmp_path: Path) -> None:
    text = sgml(trn()).replace("<OFX>", '<!DOCTYPE OFX [<!ENTITY a "b">]><OFX>', 1)
    with pytest.raises(StatementError, match="DTDs and entity declarations"):
        list(OfxReader(write(tmp_path, text)))


def test_doctype_in_a_utf16_file_is_refused(tmp_path: Path) -> None:
    data = XML_PROLOG.replace("UTF-8", "UTF-16") + '<!DOCTYPE OFX [<!ENTITY a "b">]>' + xml_statement("&a;")
    with pytest.raises(StatementError, match="DTDs and entity declarations"):
        list(OfxReader(write(tmp_path, data.encode("utf-16"))))


def test_entity_references_without_a_dtd_are_never_resolved(tmp_path: Path, opened: list[str]) -> None:
    """Even without the DTD check, the tree builder (html.parser) resolves no declared entity."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    path = write(tmp_path, XML_PROLOG + xml_statement("A&xxe;B&lol9;C"))
    opened.clear()
    (r,) = OfxReader(path)
    assert "TOP-SECRET-VALUE" not in r["payer_name"]
    assert "lollol" not in r["payer_name"]
    assert r["payer_name"].startswith("A&xxe")
    assert not any(str(secret) in e for e in opened)


def test_files_over_max_bytes_are_refused(tmp_path: Path) -> None:
    path = OFX / "ofxparse_checking_sgml-v102.ofx"
    with pytest.raises(StatementError, match="limit"):
        list(OfxReader(path, max_bytes=1000))
    assert len(list(OfxReader(path, max_bytes=path.stat().st_size))) == 3


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StatementError, match="not a regular file"):
        list(OfxReader(tmp_path))


def test_error_comes_before_any_receipt(tmp_path: Path) -> None:
    reader = iter(OfxReader(write(tmp_path, sgml(trn("1.00", "A") + trn("bad", "B")))))
    with pytest.raises(StatementError, match="FITID 'B'"):
        next(reader)


# -- ofxparse's SGML closing, linear ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_OFX, ids=lambda p: p.name)
def test_element_closing_matches_ofxparse(path: Path) -> None:
    data = path.read_bytes()
    body = data[data.find(b"<OFX>") :].decode("latin-1")
    theirs = OfxPreprocessedFile(io.BytesIO(body.encode("latin-1"))).fh.read()
    assert _close_elements(body) == theirs


def test_element_closing_closes_every_element_of_a_long_list() -> None:
    body = (
        "<OFX><BANKTRANLIST>"
        + "".join(
            f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20200101<TRNAMT>-1.00<FITID>{i}<NAME>x</STMTTRN>\n"
            for i in range(50_000)
        )
        + "</BANKTRANLIST></OFX>"
    )
    closed = _close_elements(body)  # bench/bench_adversarial.py times it (ofxparse's own needs minutes)
    assert closed.count("</TRNAMT>") == 50_000


def test_deeply_nested_statements_are_all_read(tmp_path: Path) -> None:
    nested = "<STMTRS><CURDEF>USD<BANKACCTFROM><ACCTID>1</BANKACCTFROM><BANKTRANLIST>" * 2000
    closing = "</BANKTRANLIST></STMTRS>" * 2000
    text = "<OFX>" + nested + "".join(trn("1", str(i)) for i in range(5000)) + closing + "</OFX>"
    receipts, summary = read(write(tmp_path, text))  # bench/bench_adversarial.py times it
    assert (summary.statements, len(receipts)) == (2000, 5000)


# -- detection --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_OFX, ids=lambda p: p.name)
def test_detects_every_ofx_fixture(path: Path) -> None:
    assert detect_ofx(path.read_bytes()[:8192])


@pytest.mark.parametrize(
    "path",
    sorted((FIXTURES / "camt053").glob("*"))
    + sorted((FIXTURES / "camt054").glob("*"))
    + sorted((FIXTURES / "mt940").glob("*"))
    + sorted((FIXTURES / "bai2").glob("*")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_other_formats_are_not_ofx(path: Path) -> None:
    assert not detect_ofx(path.read_bytes()[:8192])


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\r\n\r\n<OFX>\r\n<SIGNONMSGSRSV1>", True),
        (b"\xef\xbb\xbfOFXHEADER:100\r\nDATA:OFXSGML", True),
        (b'<?xml version="1.0"?>\n<?OFX OFXHEADER="200" VERSION="220"?>\n<OFX>', True),
        ('<?xml version="1.0" encoding="UTF-16"?><OFX>'.encode("utf-16"), True),
        (b"date,amount,payee\n2024-01-01,5.00,OFX Corp\n", False),
        (b"<html><body>OFXHEADER:100</body></html>", False),
        (b'<?xml version="1.0"?><Document><OFX></OFX></Document>', False),
        (b"", False),
    ],
)
def test_detection_from_content(head: bytes, expected: bool) -> None:
    assert detect_ofx(head) is expected


# -- fuzzing ----------------------------------------------------------------------------------------------

SOURCES = {p.name: p.read_bytes() for p in ALL_OFX}
TOKENS = [
    b"<",
    b">",
    b"</",
    b"<STMTTRN>",
    b"</STMTTRN>",
    b"<TRNAMT>-",
    b"<DTPOSTED>",
    b"<FITID>",
    b"</STMTRS>",
    b"<CCSTMTRS>",
    b"<CURRENCY><CURSYM>",
    b"&",
    b"&#0;",
    b"&#x110000;",
    b"&lol;",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"<?",
    b"?>",
    b"\r\n",
    b"OFXHEADER:100\n",
    b"ENCODING:UTF-8\n",
    b"CHARSET:NONE\n",
    b"<STATUS><CODE>2000",
    b"<OFX>",
    b"</OFX>",
    b"\xe9",
]
MUTATION = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 1 << 16), st.integers(1, 40)),
    st.tuples(
        st.just("insert"),
        st.integers(0, 1 << 16),
        st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=8)),
    ),
    st.tuples(st.just("replace"), st.integers(0, 1 << 16), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 16), st.none()),
    st.tuples(st.just("duplicate_line"), st.integers(0, 1 << 16), st.none()),
)


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    buf = bytearray(data)
    for kind, where, arg in mutations:
        pos = where % (len(buf) + 1)
        if kind == "delete":
            del buf[pos : pos + arg]
        elif kind == "insert":
            buf[pos:pos] = arg
        elif kind == "replace" and pos < len(buf):
            buf[pos] = arg
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "duplicate_line":
            lines = bytes(buf).split(b"\n")
            k = where % len(lines)
            lines.insert(k, lines[k])
            buf = bytearray(b"\n".join(lines))
    return bytes(buf)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(SOURCES)), mutations=st.lists(MUTATION, min_size=1, max_size=6))
def test_mutated_files_yield_receipts_or_a_statement_error(tmp_path: Path, name: str, mutations: list[tuple]) -> None:
    path = tmp_path / "mutated.ofx"
    path.write_bytes(mutate(SOURCES[name], mutations))
    reader = OfxReader(path)
    try:
        receipts = list(reader)
    except StatementError as exc:
        assert exc.file == str(path)
        assert exc.reason
        return
    assert reader.summary.receipts == len(receipts)
    for r in receipts:
        assert tuple(r) == RECEIPT_FIELDS
        assert Decimal(r["amount"]) >= 0
        assert r["direction"] in ("credit", "debit")
        assert re.fullmatch(r"[A-Z]{3}", r["currency"])
