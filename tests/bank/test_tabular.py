"""CSV/XLSX bank-export reader: layouts, detection from content, values, failures, safety, fuzzing.

The fixtures are authored (tests/fixtures/bank/tabular/SOURCES.md). Expected counts and totals
come from an independent reading with the csv module and openpyxl, written here, so the tests do
not trust the reader to count itself.
"""

from __future__ import annotations

import csv
import io
import shutil
import struct
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hub_connectors.bank_files.common import RECEIPT_FIELDS
from hub_connectors.bank_files.tabular import (
    Layout,
    TabularReader,
    detect_tabular,
    iter_tabular,
    load_layout,
    match_layout,
    shipped_layouts,
)
from hypothesis import HealthCheck, given, settings, strategies as st

from hub.errors import MappingError, StatementError

from .mutation import read_mutated

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank" / "tabular"
CN = FIXTURES / "cn_icbc_style_gb18030.csv"
SIGNED_CSV = FIXTURES / "signed_amount.csv"
SIGNED_XLSX = FIXTURES / "signed_amount.xlsx"
ALL = [CN, SIGNED_CSV, SIGNED_XLSX]
LAYOUT_OF = {CN: "csv:cn-gb18030", SIGNED_CSV: "csv:signed-amount", SIGNED_XLSX: "xlsx:signed-amount"}
CAMT = FIXTURES.parent / "camt053" / "genkgo_camt.053.001.03.xml"


# -- an independent reading of the fixtures (csv module, openpyxl) ----------------------------------


def _plain(text: str) -> Decimal:
    return Decimal(text.replace(",", "")) if text.strip() else Decimal(0)


def read_directly(path: Path) -> tuple[int, dict[str, Decimal]]:
    """(data rows, credits minus debits per currency) of a fixture."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    count = 0
    if path == CN:
        rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gb18030"), newline="")))
        start = next(i for i, r in enumerate(rows) if r and r[0] == "交易日期") + 1
        for r in rows[start:]:
            if not r or not r[0]:
                continue
            if r[0].startswith("合计"):
                break
            count += 1
            totals["CNY"] += _plain(r[3]) - _plain(r[2])
    elif path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        start = next(i for i, r in enumerate(rows) if r and r[0] == "Date") + 1
        for r in rows[start:]:
            if r and r[0]:
                count += 1
                totals[r[3]] += _plain(r[2])
    else:
        ws = openpyxl.load_workbook(path).active
        values = list(ws.iter_rows(values_only=True))
        start = next(i for i, r in enumerate(values) if r[0] == "Date") + 1
        for r in values[start:]:
            if r[0] is not None:
                count += 1
                totals[r[3]] += Decimal(str(round(r[2], 2)))
    return count, dict(totals)


def read(path: Path, **kwargs: object) -> tuple[list[dict], TabularReader]:
    reader = TabularReader(path, **kwargs)  # type: ignore[arg-type]
    return list(reader), reader


# -- counts, totals, values -------------------------------------------------------------------------


def test_shipped_layouts_are_the_two_examples() -> None:
    assert [layout.name for layout in shipped_layouts()] == ["cn-gb18030", "signed-amount"]
    assert load_layout("cn-gb18030") == load_layout("bank-export-cn-gb18030")
    assert load_layout("signed-amount").file_types == ("csv", "xlsx")


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_counts_and_signed_totals_per_currency_equal_an_independent_reading(path: Path) -> None:
    count, totals = read_directly(path)
    receipts, reader = read(path)
    s = reader.summary
    assert (s.format, s.message_type, s.statements) == ("tabular", LAYOUT_OF[path], 1)
    assert s.entries == s.receipts == len(receipts) == count == 6
    assert s.totals == totals
    computed: dict[str, Decimal] = defaultdict(Decimal)
    for r in receipts:
        computed[r["currency"]] += Decimal(r["amount"]) * (1 if r["direction"] == "credit" else -1)
    assert computed == totals
    assert s.warnings == []  # balances chain, the 合计 footer matches


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_receipt_has_exactly_the_receipt_fields_and_well_formed_values(path: Path) -> None:
    for r in iter_tabular(path):
        assert tuple(r) == RECEIPT_FIELDS
        assert r["direction"] in ("credit", "debit")
        assert Decimal(r["amount"]) > 0 and "-" not in r["amount"] and "," not in r["amount"]
        assert len(r["booking_date"]) == 10 and r["booking_date"].startswith("2026-01-")
        assert r["references"] == [] and r["additional_remittance"] == [] and r["reversal"] is False


def test_chinese_names_account_remittance_and_serial_numbers_survive() -> None:
    receipts, _ = read(CN)
    first, fee = receipts[0], receipts[1]
    assert first["account"] == "6222021001123456789"  # from the 账号 preamble line, spaces removed
    assert first["account_currency"] == first["currency"] == "CNY"  # 币种:人民币
    assert first["booking_date"] == "2026-01-05"
    assert (first["amount"], first["direction"]) == ("12500.00", "credit")
    assert first["payer_name"] == "上海华东机电设备有限公司"
    assert first["payer_account"] == "31001234500050012345"  # the tab banks put in front is gone
    assert first["additional_tx_info"] == "中国建设银行上海浦东分行"
    assert first["remittance"] == "汇入汇款\n货款 INV-2026-00123"
    assert first["bank_ref"] == "20260105091233000118"
    assert first["external_id"] == "6222021001123456789:20260105091233000118"
    assert (fee["amount"], fee["direction"], fee["payer_name"]) == ("25.00", "debit", None)
    assert fee["remittance"] == "手续费\n跨行汇款手续费"
    assert "INV-2026-00131 INV-2026-00132" in receipts[2]["remittance"]
    assert [r["direction"] for r in receipts] == ["credit", "debit", "credit", "credit", "debit", "credit"]
    assert receipts[-1]["amount"] == "45678.90"


def test_characters_outside_gbk_survive_so_the_file_is_read_as_gb18030() -> None:
    receipts, _ = read(CN)
    names = [r["payer_name"] for r in receipts]
    assert "佛山市𠮷祥五金制品有限公司" in names  # 𠮷 U+20BB7: four bytes in GB18030, absent from GBK
    assert "刘䶮" in names  # 䶮 U+4DAE: Ext-A, a private-use code in GBK
    for ch in "𠮷䶮":
        with pytest.raises(UnicodeEncodeError):
            ch.encode("gbk")
    assert "𠮷".encode("gb18030") in CN.read_bytes()


def test_xlsx_and_csv_of_the_same_data_give_the_same_receipts_without_float_artefacts() -> None:
    from_csv, _ = read(SIGNED_CSV)
    from_xlsx, _ = read(SIGNED_XLSX)
    assert from_xlsx == from_csv
    # the XLSX holds 980.3500000000004 (a computed float), 1250 (an int) and -12.5
    assert [r["amount"] for r in from_xlsx] == ["1250.00", "12.50", "2400.00", "980.35", "150.00", "1250.00"]
    assert [r["booking_date"] for r in from_xlsx][3:5] == ["2026-01-14", "2026-01-20"]  # a date cell, a text date
    assert from_xlsx[2]["currency"] == "EUR" and from_xlsx[2]["payer_name"] == "Müller & Söhne GmbH"
    assert from_xlsx[0]["account"] == "GB33BUKB20201555555555"


def test_reading_twice_gives_identical_external_ids_unique_within_each_file() -> None:
    for path in ALL:
        reader = TabularReader(path)
        first = [r["external_id"] for r in reader]
        second = [r["external_id"] for r in reader]
        assert first == second
        assert len(set(first)) == len(first)
        assert reader.summary.receipts == 6  # the summary was reset, not doubled


def test_summary_object_stays_the_same_and_nothing_is_read_before_iterating(tmp_path: Path) -> None:
    reader = TabularReader(tmp_path / "not-yet-there.csv")
    summary = reader.summary
    shutil.copy(CN, tmp_path / "not-yet-there.csv")
    assert len(list(reader)) == 6 and reader.summary is summary and summary.receipts == 6


# -- detection from content -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_layout_is_detected_from_content_not_the_file_name(tmp_path: Path, path: Path) -> None:
    renamed = tmp_path / "export.dat"
    shutil.copy(path, renamed)
    expected = LAYOUT_OF[path].partition(":")[2]
    layout = match_layout(renamed, shipped_layouts())
    assert layout is not None and layout.name == expected
    receipts, reader = read(renamed)
    assert reader.summary.message_type == LAYOUT_OF[path]
    assert receipts == list(TabularReader(path))
    assert detect_tabular(renamed.read_bytes()[:8192])


def test_a_layout_that_does_not_fit_is_not_matched() -> None:
    cn = load_layout("cn-gb18030")
    signed = load_layout("signed-amount")
    assert match_layout(CN, [signed]) is None
    assert match_layout(SIGNED_CSV, [cn]) is None
    assert match_layout(SIGNED_XLSX, [cn]) is None  # the CN layout reads CSV only
    with pytest.raises(StatementError, match="no bank export layout matches"):
        list(TabularReader(CN, layout=signed))


def test_csv_with_unknown_headers_fails_naming_the_headers_found(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("Buchungstag,Verwendungszweck,Betrag\n01.02.2026,Miete,-900\n", encoding="utf-8")
    assert match_layout(path) is None
    with pytest.raises(StatementError) as err:
        list(TabularReader(path))
    message = str(err.value)
    assert message.startswith(f"{path}: no bank export layout matches this CSV file")
    assert "'Buchungstag', 'Verwendungszweck', 'Betrag'" in message
    assert "cn-gb18030, signed-amount" in message


def test_detect_tabular_is_a_cheap_check_of_the_head() -> None:
    assert detect_tabular(CN.read_bytes()[:100])  # ends inside a two-byte character
    assert detect_tabular(SIGNED_XLSX.read_bytes()[:64])
    assert not detect_tabular(CAMT.read_bytes()[:4096])
    assert not detect_tabular(b":20:STARTUMS\r\n:25:12345678/0000\r\n:28C:1/1\r\n:60F:C260101EUR1000,00\r\n")
    assert not detect_tabular(b"01,BANK,CUSTOMER,260101,0800,1,,,2/\n02,ACME,BANK,1,260101,,USD,2/\n")
    assert not detect_tabular(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert not detect_tabular(b"")


def test_the_layout_recognising_most_columns_wins() -> None:
    signed = load_layout("signed-amount")
    bare = signed.model_copy(
        update={
            "name": "bare",
            "columns": {k: v for k, v in signed.columns.items() if k in ("booking_date", "amount", "currency")},
        }
    )
    assert match_layout(SIGNED_CSV, [bare, signed]) is signed
    assert match_layout(SIGNED_CSV, [bare]) is bare
    receipts, reader = read(SIGNED_CSV, layouts=[bare])
    assert reader.summary.message_type == "csv:bare" and receipts[0]["payer_name"] is None


def test_a_file_with_an_account_column_counts_one_statement_per_account(tmp_path: Path) -> None:
    signed = load_layout("signed-amount")
    layout = signed.model_copy(update={"columns": {**signed.columns, "account": ("Account",)}})
    path = tmp_path / "two-accounts.csv"
    path.write_text(
        "Account,Date,Description,Amount,Currency\n"
        "GB33 BUKB 2020 1555 5555 55,02/01/2026,A,10.00,GBP\n"
        "GB94BARC10201530093459,02/01/2026,B,(5.00),GBP\n"
        "GB33BUKB20201555555555,03/01/2026,C,£1.5,GBP\n",
        encoding="utf-8",
    )
    receipts, reader = read(path, layout=layout)
    assert [r["account"] for r in receipts] == [
        "GB33BUKB20201555555555",
        "GB94BARC10201530093459",
        "GB33BUKB20201555555555",
    ]
    assert [(r["amount"], r["direction"]) for r in receipts] == [
        ("10.00", "credit"),
        ("5.00", "debit"),
        ("1.50", "credit"),
    ]
    assert reader.summary.statements == 2 and reader.summary.entries == 3


# -- bad rows fail the file, naming row, column and value -------------------------------------------


def _cn_with(tmp_path: Path, old: str, new: str) -> Path:
    text = CN.read_bytes().decode("gb18030")
    assert old in text
    path = tmp_path / "bad.csv"
    path.write_bytes(text.replace(old, new, 1).encode("gb18030"))
    return path


@pytest.mark.parametrize(
    ("old", "new", "row", "expected"),
    [
        ("2026-01-08,14:03:51", "2026-13-08,14:03:51", 10, "column '交易日期' value '2026-13-08': not a date"),
        ('"8,800.50"', '"8,80O.50"', 10, "column '贷方发生额(收入)' value '8,80O.50': not an amount"),
        ('"8,800.50"', '"88,00.50"', 10, "thousands separators misplaced"),
        (
            "25.00,,",
            "25.00,5.00,",
            9,
            "both columns '贷方发生额(收入)' ('5.00') and '借方发生额(支取)' ('25.00') hold an amount",
        ),
        ("25.00,,", ",,", 9, "neither column '贷方发生额(收入)' ('') nor '借方发生额(支取)' ('') holds an amount"),
        ("25.00,,", "0.00,0.00,", 9, "neither column"),
        ('"1,012,475.00"', '"1,012,475.0x"', 9, "column '余额' value '1,012,475.0x': not an amount"),
        ("币种:人民币", "币种:金币", 4, "preamble currency '金币' is not a currency code"),
    ],
    ids=[
        "bad-date",
        "bad-amount",
        "bad-grouping",
        "both-filled",
        "neither-filled",
        "both-zero",
        "bad-balance",
        "bad-currency",
    ],
)
def test_bad_rows_fail_the_whole_file_naming_row_and_column(
    tmp_path: Path, old: str, new: str, row: int, expected: str
) -> None:
    path = _cn_with(tmp_path, old, new)
    reader = TabularReader(path)
    it = iter(reader)
    with pytest.raises(StatementError) as err:
        next(it)  # atomic: the first receipt is not handed out before the bad row is seen
    assert err.value.file == str(path)
    assert err.value.position == f"row {row}"
    assert expected in err.value.reason
    assert str(err.value).startswith(f"{path}:row {row}: ")


def test_bad_cells_in_xlsx_name_row_and_column(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(SIGNED_XLSX)
    ws = wb.active
    ws.cell(6, 3).value = "12,5O"
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    with pytest.raises(StatementError, match=r":row 6: column 'Amount' value '12,5O': not an amount"):
        list(TabularReader(path))
    ws.cell(6, 3).value = -12.5
    ws.cell(7, 1).value = "31/02/2026"
    wb.save(path)
    with pytest.raises(StatementError, match=r":row 7: column 'Date' value '31/02/2026': not a date"):
        list(TabularReader(path))
    ws.cell(7, 1).value = "09/01/2026"
    ws.cell(7, 4).value = "E1R"
    wb.save(path)
    with pytest.raises(StatementError, match=r":row 7: column 'Currency' value 'E1R': not a currency code"):
        list(TabularReader(path))


def test_a_balance_that_does_not_chain_is_a_warning_and_newest_first_is_fine(tmp_path: Path) -> None:
    receipts, reader = read(_cn_with(tmp_path, '"1,021,275.50"', '"1,021,375.50"'))
    assert len(receipts) == 6
    assert any(w.startswith("row 10: the balance column does not chain") for w in reader.summary.warnings)
    lines = SIGNED_CSV.read_text(encoding="utf-8").splitlines()
    header = lines.index(next(line for line in lines if line.startswith("Date,")))
    newest_first = tmp_path / "newest-first.csv"
    newest_first.write_text("\n".join(lines[: header + 1] + lines[header + 1 :][::-1]) + "\n", encoding="utf-8")
    receipts, reader = read(newest_first)
    assert len(receipts) == 6 and reader.summary.warnings == []


def test_a_footer_total_that_differs_from_the_rows_is_a_warning(tmp_path: Path) -> None:
    _, reader = read(_cn_with(tmp_path, '合计,,"150,025.00"', '合计,,"150,035.00"'))
    assert reader.summary.warnings == [
        "row 14: footer column '借方发生额(支取)' shows 150,035.00 but the rows add up to 150025.00"
    ]


# -- layouts: another convention, errors in layout files --------------------------------------------

DIRECTION_LAYOUT = """\
name = "direction-test"
file_types = ["csv"]
encoding = "utf-8"
delimiter = ";"
date_formats = ["%d.%m.%Y"]
footer = ["Summe"]

[preamble]
account = 'Konto[: ]+([A-Z]{2}[0-9 ]+)'
currency = 'Währung[: ]+(\\S+)'

[amounts]
convention = "direction"
credit_values = ["H", "CR"]
debit_values = ["S", "DR"]
decimal_separator = ","
thousands_separator = "."
currency_symbols = ["€", "EUR"]
parentheses_negative = true

[columns]
booking_date = "Buchungstag"
value_date = "Valuta"
amount = "Betrag"
direction = ["Soll/Haben", "S/H"]
payer_name = "Auftraggeber/Empfänger"
bank_ref = "Referenz"

[remittance]
columns = ["Verwendungszweck"]
"""


def test_direction_column_layout_with_decimal_comma_from_a_file(tmp_path: Path) -> None:
    layout_path = tmp_path / "direction.toml"
    layout_path.write_text(DIRECTION_LAYOUT, encoding="utf-8")
    layout = load_layout(layout_path)
    assert layout.required == ("booking_date", "amount", "direction")  # the default
    data = tmp_path / "umsaetze.txt"
    data.write_text(
        "Konto: DE89 3704 0044 0532 0130 00;;;;;;\nWährung: EUR;;;;;;\n\n"
        "Buchungstag;Valuta;Auftraggeber/Empfänger;Verwendungszweck;Betrag;S/H;Referenz\n"
        "02.01.2026;03.01.2026;ACME GmbH;RE 2026-001;1.234,50 €;H;R1\n"
        "05.01.2026;05.01.2026;Stadtwerke;Abschlag;(89,90);S;R2\n"
        "06.01.2026;06.01.2026;Bank;Gebühr;-4,99;dr;R3\n"
        "Summe;;;;1.139,61;;\n",
        encoding="utf-8",
    )
    receipts, reader = read(data, layouts=[layout])
    assert [(r["amount"], r["direction"]) for r in receipts] == [
        ("1234.50", "credit"),
        ("89.90", "debit"),
        ("4.99", "debit"),
    ]
    assert receipts[0]["value_date"] == "2026-01-03" and receipts[0]["account"] == "DE89370400440532013000"
    assert receipts[0]["external_id"] == "DE89370400440532013000:R1"
    assert reader.summary.totals == {"EUR": Decimal("1139.61")}
    data.write_text(data.read_text(encoding="utf-8").replace(";dr;", ";X;"), encoding="utf-8")
    with pytest.raises(StatementError, match=r"row 7: column 'S/H' value 'X': not a credit or debit marker"):
        list(TabularReader(data, layout=layout))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('convention = "direction"', 'convention = "sideways"'), "amounts.convention"),
        (('amount = "Betrag"\n', ""), "columns: convention 'direction' needs amount"),
        (('bank_ref = "Referenz"', 'bank_reference = "Referenz"'), "'bank_reference' is not a column field"),
        (('encoding = "utf-8"', 'encoding = "utf-9"'), "encoding: Value error, unknown encoding"),
        (("account = 'Konto", "account = '(Konto"), "preamble.account: Value error, not a regular expression"),
        (('file_types = ["csv"]', 'file_types = ["pdf"]'), "file_types.0"),
        (('name = "direction-test"', 'name = "direction-test"\ncolour = "blue"'), "colour: Extra inputs"),
        (('delimiter = ";"', 'delimiter = ";;"'), "delimiter: Value error, a delimiter is one character"),
    ],
    ids=["convention", "missing-amount", "unknown-field", "encoding", "regex", "file-type", "unknown-key", "delimiter"],
)
def test_layout_file_errors_name_the_file_and_the_key(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = tmp_path / "broken.toml"
    assert change[0] in DIRECTION_LAYOUT
    path.write_text(DIRECTION_LAYOUT.replace(*change), encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_layout(path)
    assert str(err.value).startswith(f"layout {path}: ")
    assert expected.replace("Value error, ", "") in str(err.value)


def test_unknown_layout_names_and_bad_toml_are_mapping_errors(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"no shipped bank export layout named 'hsbc'.*cn-gb18030"):
        load_layout("hsbc")
    path = tmp_path / "bad.toml"
    path.write_text("name = ", encoding="utf-8")
    with pytest.raises(MappingError, match=f"layout {path}:"):
        load_layout(path)
    assert isinstance(load_layout("signed-amount"), Layout)


# -- safety -----------------------------------------------------------------------------------------


def _rewrite_zip(
    src: Path, dst: Path, extra: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None
) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = (replace or {}).get(info.filename, zin.read(info))
            zout.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)


def test_zip_bomb_xlsx_is_refused_before_opening(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xlsx"
    _rewrite_zip(SIGNED_XLSX, bomb, extra={"xl/media/image1.bin": bytes(64 * 1024 * 1024)})
    assert bomb.stat().st_size < 200_000
    with pytest.raises(StatementError, match=r"expands 67108864 bytes from \d+ \(a zip bomb\?\)"):
        list(TabularReader(bomb))
    with pytest.raises(StatementError, match="above the limit of 1000000"):
        match_layout(bomb, max_uncompressed=1_000_000)


def test_xlsx_declaring_gigabytes_is_refused_on_the_declared_size(tmp_path: Path) -> None:
    """A forged central directory (4 GB declared for the sheet) is refused before anything is inflated."""
    data = bytearray(SIGNED_XLSX.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + name_len]) == name:
            struct.pack_into("<I", data, pos + 24, 0xFFFF0000)  # uncompressed size
        pos += 4
    forged = tmp_path / "forged.xlsx"
    forged.write_bytes(bytes(data))
    with pytest.raises(StatementError, match=r"declares \d+ bytes uncompressed, above the limit"):
        list(TabularReader(forged))


def test_xlsx_with_a_doctype_in_a_part_is_refused(tmp_path: Path) -> None:
    with zipfile.ZipFile(SIGNED_XLSX) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    body = sheet.split(b"?>", 1)[1] if sheet.startswith(b"<?xml") else sheet
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>' + body
    path = tmp_path / "dtd.xlsx"
    _rewrite_zip(SIGNED_XLSX, path, replace={"xl/worksheets/sheet1.xml": evil})
    with pytest.raises(StatementError, match=r"sheet1\.xml.*DTDs and entity declarations are not allowed"):
        list(TabularReader(path))


def test_size_limit_legacy_xls_empty_and_missing_files_are_statement_errors(tmp_path: Path) -> None:
    size = CN.stat().st_size
    with pytest.raises(StatementError, match=f"file is {size} bytes, above the limit of 1000"):
        list(TabularReader(CN, max_bytes=1000))
    assert len(list(TabularReader(CN, max_bytes=size))) == 6
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(StatementError, match=r"legacy Excel \.xls"):
        list(TabularReader(xls))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(StatementError, match="empty file"):
        list(TabularReader(empty))
    with pytest.raises(StatementError, match="cannot read"):
        list(TabularReader(tmp_path / "missing.csv"))
    not_xlsx = tmp_path / "other.zip"
    with zipfile.ZipFile(not_xlsx, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(StatementError, match="without xl/ entries"):
        list(TabularReader(not_xlsx))


def test_undecodable_csv_names_the_encodings_tried(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\x81\x7f" * 50)  # invalid in UTF-8, GB18030 (0x7F is no trail byte) and cp1252
    with pytest.raises(
        StatementError,
        match=r"cannot decode the file as any layout's encoding \(utf-8-sig, "
        r"gb18030, cp1252\)",
    ):
        list(TabularReader(path))


# -- fuzzing ----------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ALL), seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 3))
def test_mutated_fixtures_either_read_or_fail_with_statement_error(
    tmp_path: Path, path: Path, seed: int, rounds: int
) -> None:
    read_mutated(TabularReader, path, tmp_path / f"mutated{path.suffix}", seed, rounds)
