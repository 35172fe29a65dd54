"""Remittance advice reader: remt.001 (every version) and the hub's CSV layout.

The fixtures in tests/fixtures/advice were written for this project (see SOURCES.md there); the
expected values below are read off those files by hand, so the tests do not trust the reader.
Smaller cases (errors, other versions, a large file) are generated into tmp_path.
"""

from __future__ import annotations

import datetime as dt
import pickle
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hub_connectors.bank_files.advice import ADVICE_FIELDS, DOCUMENT_FIELDS, AdviceError, read_advices

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "advice"
V04 = FIXTURES / "remt_v04_two_advices.xml"
V02 = FIXTURES / "remt_v02_minimal.xml"
CSV = FIXTURES / "advice_semicolon_decimal_comma.csv"
CAMT053 = FIXTURES / "camt053_statement.xml"

D = Decimal


def _doc(
    number: str,
    kind: str = "invoice",
    amount: str | None = None,
    discount: str | None = None,
    due: str | None = None,
    date: dt.date | None = None,
) -> dict[str, Any]:
    return {
        "number": number,
        "kind": kind,
        "amount": D(amount) if amount is not None else None,
        "discount": D(discount) if discount is not None else None,
        "due": D(due) if due is not None else None,
        "date": date,
    }


def _check_shapes(advices: list[dict[str, Any]]) -> None:
    """Exactly the documented keys, and money as Decimal (a float would compare unequal anyway)."""
    for advice in advices:
        assert tuple(advice) == ADVICE_FIELDS
        assert advice["amount"] is None or type(advice["amount"]) is Decimal
        for doc in advice["documents"]:
            assert tuple(doc) == DOCUMENT_FIELDS
            for key in ("amount", "discount", "due"):
                assert doc[key] is None or type(doc[key]) is Decimal


def _read(path: Path, fmt: str = "auto") -> list[dict[str, Any]]:
    advices = read_advices(path, fmt)
    _check_shapes(advices)
    return advices


def _error(path: Path, fmt: str = "auto") -> str:
    """The message of the AdviceError reading ``path`` raises; it is one line and names the file."""
    with pytest.raises(AdviceError) as info:
        read_advices(path, fmt)
    message = str(info.value)
    assert message.startswith(str(path))
    assert "\n" not in message
    return message


# -- generated remt documents -----------------------------------------------------------------------


def _remt(version: str, body: str, msg_id: str | None = "MSG-1") -> str:
    header = (
        f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>2024-05-02T08:00:00</CreDtTm>"
        "<InitgPty><Nm>Vogel Elektro GmbH</Nm></InitgPty></GrpHdr>"
        if msg_id
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:remt.001.001.{version}">'
        f"<RmtAdvc>{header}{body}</RmtAdvc></Document>\n"
    )


def _strd(number: str, amount: str, ccy: str = "EUR") -> str:
    return (
        f"<Strd><RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp><Nb>{number}</Nb></RfrdDocInf>"
        f'<RfrdDocAmt><RmtdAmt Ccy="{ccy}">{amount}</RmtdAmt></RfrdDocAmt></Strd>'
    )


def _payment(amount: str = "100.00", ccy: str = "EUR", e2e: str = "E2E-1") -> str:
    return (
        f"<OrgnlPmtInf><Refs><EndToEndId>{e2e}</EndToEndId></Refs>"
        f'<Amt><InstdAmt Ccy="{ccy}">{amount}</InstdAmt></Amt>'
        "<ReqdExctnDt><Dt>2024-05-03</Dt></ReqdExctnDt>"
        "<Dbtr><Nm>Vogel Elektro GmbH</Nm></Dbtr></OrgnlPmtInf>"
    )


def _rmt_inf(rmt_id: str | None = "RA-1", body: str | None = None) -> str:
    ident = f"<RmtId>{rmt_id}</RmtId>" if rmt_id else ""
    return f"<RmtInf>{ident}{_strd('RE-1', '100.00') + _payment() if body is None else body}</RmtInf>"


def _write(tmp_path: Path, text: str, name: str = "advice.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the fixtures, field by field -------------------------------------------------------------------


def test_remt_v04_reads_every_field() -> None:
    assert _read(V04) == [
        {
            "external_id": "RA-2024-0315-01",
            "message_id": "RSS-RA-20240315-0042",
            "payer_name": "Müller Maschinenbau GmbH",
            "payer_account": "DE10760501010001234567",
            "end_to_end_id": "MMB-20240315-0001",
            "amount": D("7687.40"),
            "currency": "EUR",
            "payment_date": dt.date(2024, 3, 15),
            "texts": [
                "Zahlung zu Rechnungen aus Februar 2024",
                "2 % Skonto abgezogen",
                "Gutschrift für Rücksendung aus Lieferung 4471 verrechnet",
            ],
            "documents": [
                _doc("RE-2024-01187", amount="4760.00", date=dt.date(2024, 2, 5)),
                _doc("RE-2024-01234", amount="2332.40", discount="47.60", due="2380.00", date=dt.date(2024, 2, 12)),
                _doc("RE-2024-01302", amount="1190.00", date=dt.date(2024, 2, 26)),
                _doc("GS-2024-00071", "credit_note", amount="595.00", date=dt.date(2024, 2, 28)),
            ],
        },
        {
            "external_id": "RA-2024-0315-02",
            "message_id": "RSS-RA-20240315-0042",
            "payer_name": "Thornbury Engineering Ltd",
            "payer_account": "GB88NWBK60161348231457",
            "end_to_end_id": None,
            "amount": D("2450.00"),
            "currency": "GBP",
            "payment_date": dt.date(2024, 3, 18),
            "texts": ["Payment of your invoice, reference below"],
            "documents": [_doc("RF0820240045", "other")],
        },
    ]


def test_remt_v02_reads_plain_date_direct_discount_and_position_id() -> None:
    assert _read(V02) == [
        {
            "external_id": "BSAG-2023-11-30-7/1",  # no RmtId: MsgId and position
            "message_id": "BSAG-2023-11-30-7",
            "payer_name": "Berger Sanitär AG",  # broken over lines in the file
            "payer_account": "CH9300762011623852957",  # Othr/Id "ch93 0076 2011 6238 5295 7"
            "end_to_end_id": "BSAG-E2E-5531",
            "amount": D("612.50"),
            "currency": "CHF",
            "payment_date": dt.date(2023, 11, 30),
            "texts": [],
            "documents": [
                _doc("R-23-5531", "invoice", amount="612.50", discount="12.50", due="625.00", date=dt.date(2023, 11, 2))
            ],
        }
    ]


def test_csv_reads_every_field_grouped_by_advice_in_first_seen_order() -> None:
    assert _read(CSV) == [
        {
            "external_id": "ADV-7001",
            "message_id": None,
            "payer_name": "Schulz & Partner KG",
            "payer_account": "DE68100500000190437281",
            "end_to_end_id": "SP-2024-0412",
            "amount": D("1497.30"),
            "currency": "EUR",
            "payment_date": dt.date(2024, 4, 12),
            "texts": ["Rechnungen März; siehe Anlage", "Gutschrift 90 verrechnet"],
            "documents": [
                _doc("RE-2024-01410", amount="1190.00", due="1190.00", date=dt.date(2024, 3, 28)),
                _doc("RE-2024-01455", amount="345.10", discount="7.04", due="352.14", date=dt.date(2024, 3, 30)),
                _doc("GS-2024-00090", "credit_note", amount="37.80", date=dt.date(2024, 4, 2)),
            ],
        },
        {
            "external_id": "ADV-7002",
            "message_id": None,
            "payer_name": "Hoffmann Logistik GmbH",
            "payer_account": "DE92600501010002847193",
            "end_to_end_id": None,
            "amount": D("250"),
            "currency": "EUR",
            "payment_date": dt.date(2024, 4, 15),
            "texts": [],
            "documents": [_doc("RE-2024-01502", amount="250.00")],
        },
    ]


def test_notprovided_end_to_end_id_reads_as_none() -> None:
    remt = {a["external_id"]: a["end_to_end_id"] for a in _read(V04)}
    assert remt == {"RA-2024-0315-01": "MMB-20240315-0001", "RA-2024-0315-02": None}  # "NOTPROVIDED"
    csv = {a["external_id"]: a["end_to_end_id"] for a in _read(CSV)}
    assert csv == {"ADV-7001": "SP-2024-0412", "ADV-7002": None}  # "notprovided"


# -- format detection ---------------------------------------------------------------------------------


def test_auto_detection_goes_by_content_not_file_name(tmp_path: Path) -> None:
    assert _read(V04) == _read(V04, "remt")
    assert _read(CSV) == _read(CSV, "csv")
    remt_named_csv = tmp_path / "advice.csv"
    csv_named_xml = tmp_path / "advice.xml"
    shutil.copyfile(V04, remt_named_csv)
    shutil.copyfile(CSV, csv_named_xml)
    assert _read(remt_named_csv) == _read(V04, "remt")
    assert _read(csv_named_xml) == _read(CSV, "csv")


def test_camt053_is_refused_as_a_statement() -> None:
    assert _error(CAMT053) == f"{CAMT053}: camt.053 is a statement: import it with 'hub receipts import'"


def test_remt_forced_on_other_xml_says_there_is_no_rmtadvc() -> None:
    message = _error(CAMT053, "remt")
    assert "no remittance advice (RmtAdvc)" in message
    assert "camt.053.001.02" in message


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn/></Document>',
            "pain.001 is a payment order",
        ),
        ("<Invoice><ID>1</ID></Invoice>", "XML with root element <Invoice> without namespace is not a remittance"),
    ],
)
def test_other_xml_is_refused_saying_what_it_is(tmp_path: Path, xml: str, expected: str) -> None:
    assert expected in _error(_write(tmp_path, xml))


@pytest.mark.parametrize("version", ["01", "02", "03", "04", "05", "06"])
def test_every_remt_version_reads_by_local_names(tmp_path: Path, version: str) -> None:
    advices = _read(_write(tmp_path, _remt(version, _rmt_inf())))
    assert [(a["external_id"], a["amount"], a["documents"][0]["number"]) for a in advices] == [
        ("RA-1", D("100.00"), "RE-1")
    ]


# -- remt details ---------------------------------------------------------------------------------------


def test_several_documents_in_one_strd_leave_its_amounts_and_summed_discounts_to_the_first(tmp_path: Path) -> None:
    strd = (
        "<Strd>"
        "<RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp><Nb>RE-10</Nb><RltdDt>2024-04-01</RltdDt></RfrdDocInf>"
        "<RfrdDocInf><Tp><CdOrPrtry><Cd>DEBN</Cd></CdOrPrtry></Tp><Nb>LB-11</Nb>"
        "<RltdDt><Tp><Cd>INDA</Cd></Tp><Dt>2024-04-02</Dt></RltdDt></RfrdDocInf>"  # DateAndType (later versions)
        "<RfrdDocInf><Tp><CdOrPrtry><Cd>SOAC</Cd></CdOrPrtry></Tp><Nb>KA-12</Nb></RfrdDocInf>"
        '<RfrdDocAmt><DuePyblAmt Ccy="EUR">310.00</DuePyblAmt>'
        '<DscntApldAmt><Tp><Prtry>SKONTO</Prtry></Tp><Amt Ccy="EUR">6.20</Amt></DscntApldAmt>'
        '<DscntApldAmt><Amt Ccy="EUR">3.80</Amt></DscntApldAmt>'  # several discounts add up
        '<RmtdAmt Ccy="EUR">300.00</RmtdAmt></RfrdDocAmt>'
        "</Strd>"
    )
    [advice] = _read(_write(tmp_path, _remt("04", _rmt_inf(body=strd + _payment("300.00")))))
    assert advice["documents"] == [
        _doc("RE-10", "invoice", amount="300.00", discount="10.00", due="310.00", date=dt.date(2024, 4, 1)),
        _doc("LB-11", "debit_note", date=dt.date(2024, 4, 2)),
        _doc("KA-12", "other"),
    ]


def test_equivalent_amount_and_currency_from_the_first_document(tmp_path: Path) -> None:
    equivalent = (
        "<OrgnlPmtInf><Refs><EndToEndId>E2E-9</EndToEndId></Refs>"
        '<Amt><EqvtAmt><Amt Ccy="USD">540.00</Amt><CcyOfTrf>EUR</CcyOfTrf></EqvtAmt></Amt></OrgnlPmtInf>'
    )
    body = _rmt_inf("RA-1", _strd("RE-1", "540.00", "USD") + equivalent) + _rmt_inf(
        "RA-2", _strd("RE-2", "75.50", "chf")
    )
    first, second = _read(_write(tmp_path, _remt("04", body)))
    assert (first["amount"], first["currency"]) == (D("540.00"), "USD")
    assert (second["amount"], second["currency"]) == (None, "CHF")  # no OrgnlPmtInf: the document's Ccy


def test_advice_without_any_currency_is_rejected(tmp_path: Path) -> None:
    strd = "<Strd><RfrdDocInf><Nb>RE-1</Nb></RfrdDocInf></Strd>"
    message = _error(_write(tmp_path, _remt("04", _rmt_inf("RA-1", strd))))
    assert "RmtInf[1]" in message
    assert "no currency" in message


def test_xml_value_errors_name_line_and_element_path(tmp_path: Path) -> None:
    second = _strd("RE-2", "100.00") + _strd("RE-3", "12,50") + _payment("112.50")
    text = _remt("04", _rmt_inf("RA-1") + "\n" + _rmt_inf("RA-2", second))
    message = _error(_write(tmp_path, text))
    assert message == (
        f"{tmp_path / 'advice.xml'}:line 3, RmtInf[2]/Strd[2]/RfrdDocAmt/RmtdAmt: '12,50' is not an amount"
    )


def test_malformed_xml_names_the_line(tmp_path: Path) -> None:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:remt.001.001.04">',
        "<RmtAdvc>",
        "<GrpHdr><MsgId>M-1</MsgId></GrpHdr>",
        "<RmtInf><RmtId>RA-1</RmtId>",
        "<Ustrd>Rechnung RE-1</Ustrdx>",
        "</RmtInf>",
        "</RmtAdvc>",
        "</Document>",
    ]
    message = _error(_write(tmp_path, "\n".join(lines)))
    assert message.startswith(f"{tmp_path / 'advice.xml'}:line 6: malformed XML")


def test_duplicate_rmt_id_is_rejected(tmp_path: Path) -> None:
    body = _rmt_inf("RA-7") + "\n" + _rmt_inf("RA-8") + "\n" + _rmt_inf("RA-7")
    message = _error(_write(tmp_path, _remt("04", body)))
    assert "line 4, RmtInf[3]" in message
    assert "'RA-7' repeats the one of RmtInf[1] (line 2)" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<Ustrd>Rechnung RE-1</Ustrd>" + _payment(), "'RA-1' lists no document"),
        ("<Ustrd>Rechnung RE-1</Ustrd>", "'RA-1' has no original payment (OrgnlPmtInf) and lists no document"),
        # amounts and a creditor reference without Ref are no document either
        (
            '<Strd><RfrdDocAmt><RmtdAmt Ccy="EUR">1.00</RmtdAmt></RfrdDocAmt><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR'
            "</Cd></CdOrPrtry></Tp></CdtrRefInf></Strd>" + _payment(),
            "'RA-1' lists no document",
        ),
    ],
)
def test_rmtinf_without_documents_is_rejected(tmp_path: Path, body: str, expected: str) -> None:
    message = _error(_write(tmp_path, _remt("04", _rmt_inf("RA-1", body))))
    assert "RmtInf[1]" in message
    assert expected in message


def test_negative_payment_amount_is_rejected(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, _remt("04", _rmt_inf("RA-1", _strd("RE-1", "100.00") + _payment("-100.00")))))
    assert "RmtInf[1]/OrgnlPmtInf/Amt/InstdAmt: negative payment amount -100.00" in message


def test_advice_without_rmtid_or_message_id_is_rejected(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, _remt("04", _rmt_inf(None), msg_id=None)))
    assert "neither RmtId nor a message id" in message


def test_dtd_and_entities_are_refused(tmp_path: Path) -> None:
    text = _remt("04", _rmt_inf("&e;")).replace("<Document", '<!DOCTYPE Document [<!ENTITY e "RA-1">]>\n<Document', 1)
    for fmt in ("auto", "remt"):
        assert "DTDs and entity declarations are not allowed" in _error(_write(tmp_path, text), fmt)


def test_generated_file_of_3000_advices_parses(tmp_path: Path) -> None:
    parts = []
    expected_total = Decimal(0)
    for i in range(1, 3001):
        docs = [(f"RE-{i:05d}-{k}", f"{i}.{k:02d}") for k in range(1, i % 3 + 2)]
        total = sum((Decimal(amount) for _number, amount in docs), Decimal(0))
        expected_total += total
        body = "".join(_strd(number, amount) for number, amount in docs) + _payment(str(total), e2e=f"E2E-{i}")
        parts.append(_rmt_inf(f"RA-{i:05d}" if i % 2 else None, body))
    advices = _read(_write(tmp_path, _remt("04", "\n".join(parts), msg_id="BULK-1")))
    assert len(advices) == 3000
    assert advices[0]["external_id"] == "RA-00001"
    assert advices[1]["external_id"] == "BULK-1/2"
    assert advices[-1]["external_id"] == "BULK-1/3000"
    assert sum(a["amount"] for a in advices) == expected_total
    assert sum(len(a["documents"]) for a in advices) == 6000
    assert advices[2999]["documents"][0] == _doc("RE-03000-1", amount="3000.01")
    assert advices[2999]["end_to_end_id"] == "E2E-3000"


# -- CSV details ------------------------------------------------------------------------------------------

HEADER = "advice_id;currency;document;payment_amount;amount"


def test_csv_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "Advice_ID;Payer_Name;Amount\nA-1;Vogel Elektro GmbH;10,00\n", "advice.csv")
    message = _error(path)
    assert message.startswith(f"{path}:line 1: missing required column(s) currency, document ")


def test_csv_bad_amount_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, f"{HEADER}\nA-1;EUR;RE-1;12,00;1,00\nA-1;EUR;RE-2;12,00;12.34.56\n", "advice.csv")
    assert _error(path) == (
        f"{path}:line 3, column amount: '12.34.56' is not an amount (write 1234.56, 1.234,56 or 1234,56)"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234.56", D("1234.56")),
        ("1.234,56", D("1234.56")),
        ("12.345.678,9", D("12345678.9")),
        ("1234,56", D("1234.56")),
        ("1.234", D("1.234")),  # no comma: the dot is the decimal point
        ("1234", D("1234")),
        ("-37,80", D("-37.80")),  # a document amount may be negative
    ],
)
def test_csv_amount_forms_accepted(tmp_path: Path, text: str, value: Decimal) -> None:
    path = _write(tmp_path, f"{HEADER}\nA-1;EUR;RE-1;;{text}\n", "advice.csv")
    assert _read(path)[0]["documents"][0]["amount"] == value


@pytest.mark.parametrize("text", ["12.34.56", "1,234.56", "1 234,56", "12.34,5", "12,", ".5", "1e3", "NaN", "EUR 5"])
def test_csv_amount_forms_rejected(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, f'{HEADER}\nA-1;EUR;RE-1;;"{text}"\n', "advice.csv")
    assert _error(path).startswith(f"{path}:line 2, column amount: {text!r} is not an amount")


@pytest.mark.parametrize(("value", "expected"), [("-5,00", "negative payment amount"), ("Infinity", "not an amount")])
def test_csv_negative_or_non_finite_payment_amount_is_rejected(tmp_path: Path, value: str, expected: str) -> None:
    path = _write(tmp_path, f"{HEADER}\nA-1;EUR;RE-1;{value};1,00\n", "advice.csv")
    assert _error(path).startswith(f"{path}:line 2, column payment_amount: ")
    assert expected in _error(path)


def test_csv_payment_amount_rows_must_agree(tmp_path: Path) -> None:
    rows = "A-1;EUR;RE-1;1.200,00;200\nB-1;EUR;RE-9;5;5\nA-1;EUR;RE-2;1200;1000\nA-1;EUR;RE-3;1.300,00;100\n"
    path = _write(tmp_path, f"{HEADER}\n{rows}", "advice.csv")
    assert _error(path).startswith(f"{path}:line 5, column payment_amount: 1300.00 differs from 1200.00 on line 2")


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    header = delimiter.join(["ADVICE_ID ", " currency", "document", "amount", "text"])
    row = delimiter.join(["A-1", "EUR", "RE-1", "1234.50", '"Rechnung RE-1, Teil 1; bitte"'])
    [advice] = _read(_write(tmp_path, f"{header}\n{row}\n", "advice.csv"))
    assert advice["documents"] == [_doc("RE-1", amount="1234.50")]
    assert advice["texts"] == ["Rechnung RE-1, Teil 1; bitte"]


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"  \r\n\n"])
@pytest.mark.parametrize("fmt", ["auto", "csv", "remt"])
def test_empty_file_is_rejected(tmp_path: Path, content: bytes, fmt: str) -> None:
    path = tmp_path / "advice.csv"
    path.write_bytes(content)
    assert _error(path, fmt) == f"{path}: empty file"


def test_advice_error_survives_pickling() -> None:
    with pytest.raises(AdviceError) as info:
        read_advices(CAMT053)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (str(copy), copy.file, copy.position, copy.reason) == (
        str(info.value),
        info.value.file,
        info.value.position,
        info.value.reason,
    )
