"""MT940/MT942 reader on genuine bank files: counts, totals, narratives, statements, keys, safety, fuzzing.

Expected counts and totals are taken from each file by an independent regex over its raw ``:61:``
lines, so the tests do not trust the reader (or the mt-940 library under it) to count itself.

Decisions on the edge-case fixtures (see SOURCES.md "## mt940" and "## Parser check"):

* ``betterplace_DE_edge_broken-tag.sta``: valid, with warnings. Its only narrative is tagged ``:25:``
  after the ``:61:``; it is read as that transaction's ``:86:`` (payer, EREF, SVWZ kept) and a warning
  says so, instead of the library's silent overwrite of the account. The file's balances do not add
  up (766656.49 + 50990.05 != 1125250.4): a second warning.
* ``wolph_DE_edge_february-30.sta``: valid, with a warning. Value date ``160230`` is the 30/360 month
  end German banks book closing fees on; it is read as 2016-02-29 and the warning names the raw date
  (the booking date, entry date ``0301``, is a real date). A date that is impossible in any month
  (month 13, day 00 or 32) is a StatementError.
* ``wolph_sparkasse_DE_edge_wrapped-tags.sta``: a StatementError. It is a snippet: a ``:61:`` and a
  wrapped ``:86:`` with no ``:20:``, ``:25:`` or balance, so its transaction has no currency and no
  account and cannot be a receipt. The re-joining of its wrapped tag is tested by reading the same
  bytes behind a statement header.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hub_connectors.bank_files.common import RECEIPT_FIELDS
from hub_connectors.bank_files.mt940 import Mt940Reader, Mt940Summary, detect_mt940, iter_mt940
from hypothesis import HealthCheck, given, settings, strategies as st

from hub.errors import StatementError

from .mutation import read_mutated

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"
MT940 = FIXTURES / "mt940"
SNIPPET = MT940 / "wolph_sparkasse_DE_edge_wrapped-tags.sta"
ALL = sorted(MT940.iterdir())
VALID = [p for p in ALL if p != SNIPPET]
OTHER_FORMATS = sorted(p for d in ("camt053", "camt054", "bai2", "ofx") for p in (FIXTURES / d).iterdir())


# -- an independent reading of the raw files --------------------------------------------------------

_RAW_61 = re.compile(r":61:[0-9]{6}(?:[0-9]{4})?(R?[CD])[A-Z]?([0-9][0-9,]*)")
_RAW_BALANCE = re.compile(r":6([02])[FM]?:([CD])[0-9]{6}([A-Z]{3})([0-9,]+)")


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def count_directly(path: Path) -> dict:
    """Statements (``:20:`` tags), receipts (``:61:`` lines), signed totals per currency, statements whose
    balances do not add up, and (account, //reference) pairs that occur more than once."""
    text = path.read_bytes().decode("latin-1").replace("\r\n", "\n")
    statements = receipts = 0
    totals: dict[str, Decimal] = defaultdict(Decimal)
    unbalanced = 0
    refs: Counter = Counter()
    ccy = account = None
    opening = closing = None
    movement = Decimal(0)

    def close() -> int:
        return int(opening is not None and closing is not None and opening + movement != closing)

    for line in text.split("\n"):
        if line.startswith(":20:"):
            unbalanced += close()
            statements += 1
            ccy = account = opening = closing = None
            movement = Decimal(0)
        elif line.startswith(":25:"):
            account = account or line[4:].strip()
        elif line.startswith(":34F:"):
            ccy = ccy or line[5:8]
        elif m := _RAW_BALANCE.match(line):
            value = _amount(m.group(4)) * (1 if m.group(2) == "C" else -1)
            if m.group(1) == "0" and opening is None:
                opening, ccy = value, m.group(3)
            elif m.group(1) == "2" and closing is None:
                closing = value
        elif m := _RAW_61.match(line):
            receipts += 1
            signed = _amount(m.group(2)) * (1 if m.group(1) in ("C", "RD") else -1)
            totals[ccy] += signed
            movement += signed
            ref = line.partition("//")[2].strip()
            if ref and ref != "NONREF":
                refs[(account, ref)] += 1
    unbalanced += close()
    return {
        "statements": statements,
        "receipts": receipts,
        "totals": dict(totals),
        "unbalanced": unbalanced,
        "repeated_refs": {k for k, n in refs.items() if n > 1},
    }


def read(path: Path, **kwargs) -> tuple[list[dict], Mt940Summary]:
    reader = Mt940Reader(path, **kwargs)
    receipts = list(reader)
    return receipts, reader.summary


def fixture(name: str) -> Path:
    return MT940 / name


def write(tmp_path: Path, text: str | bytes, name: str = "statement.sta") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def wrap(tag: str, value: str, width: int = 65) -> str:
    """A tag and its value wrapped at ``width`` columns, as banks write :86:."""
    text = f":{tag}:{value}"
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


HEADER = ":20:STMT1\n:25:DE89370400440532013000\n:28C:00012/00001\n:60F:C240101EUR1000,00\n"


# -- every genuine file ------------------------------------------------------------------------------


def test_all_fixture_files_are_here() -> None:
    assert len(ALL) == 18
    assert SNIPPET.stat().st_size == 85


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_counts_and_totals_equal_a_regex_count_of_the_raw_61_lines(path: Path) -> None:
    receipts, summary = read(path)
    expected = count_directly(path)
    assert len(receipts) == summary.receipts == summary.entries == expected["receipts"]
    assert summary.statements == expected["statements"]
    got: dict[str, Decimal] = defaultdict(Decimal)
    for r in receipts:
        got[r["currency"]] += (1 if r["direction"] == "credit" else -1) * Decimal(r["amount"])
    assert dict(got) == expected["totals"] == summary.totals


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_balance_check_warns_exactly_for_the_statements_that_do_not_add_up(path: Path) -> None:
    _, summary = read(path)
    warned = [w for w in summary.warnings if "but the closing balance is" in w]
    assert len(warned) == count_directly(path)["unbalanced"]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_every_receipt_has_the_receipt_fields_and_well_formed_values(path: Path) -> None:
    receipts, summary = read(path)
    assert summary.format == "mt940"
    assert summary.message_type in ("MT940", "MT942")
    for r in receipts:
        assert tuple(r) == RECEIPT_FIELDS
        assert r["direction"] in ("credit", "debit")
        assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", r["amount"]) and r["entry_amount"] == r["amount"]
        assert re.fullmatch(r"[A-Z]{3}", r["currency"]) and r["currency"] == r["account_currency"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", r["booking_date"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", r["value_date"])
        assert isinstance(r["reversal"], bool)
        assert isinstance(r["references"], list) and isinstance(r["additional_remittance"], list)
        assert r["bank_ref"] != "NONREF" and r["end_to_end_id"] not in ("NONREF", "NOTPROVIDED")
        assert r["statement_id"] and r["statement_seq"] and r["account"]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_reading_twice_gives_identical_receipts_and_keys(path: Path) -> None:
    first, _ = read(path)
    second = list(iter_mt940(str(path)))
    assert second == first
    assert [r["external_id"] for r in second] == [r["external_id"] for r in first]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_keys_are_unique_in_a_file_and_a_reused_bank_reference_is_a_warning(path: Path) -> None:
    receipts, summary = read(path)
    assert len({r["external_id"] for r in receipts}) == len(receipts)
    for _account, ref in count_directly(path)["repeated_refs"]:  # only cmxl_DE: two bookings with //55555
        assert any(f"bank reference {ref!r} appears more than once" in w for w in summary.warnings)


def test_only_the_cmxl_file_repeats_a_bank_reference() -> None:
    assert {p.name for p in VALID if count_directly(p)["repeated_refs"]} == {"cmxl_DE_multi-statement.sta"}


# -- German ZKA/DK :86: -------------------------------------------------------------------------------


def test_german_sepa_subfields_give_end_to_end_id_payer_and_remittance() -> None:
    rs, summary = read(fixture("betterplace_DE_sepa-structured-86.sta"))
    assert summary.warnings == []
    r = next(r for r in rs if r["bank_ref"] == "0724710290621954")
    assert r["end_to_end_id"] == "EndToEndIdTFNR2000400001"  # EREF+ continued from a full ?20 into ?21
    assert r["payer_name"] == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx"  # ?32 + ?33
    assert r["payer_account"] == "DE42100100100043921105"
    assert r["payer_bic"] == "PBNKDEFF100"
    assert r["remittance"].startswith("TO 13 TFNr 20004 Eingangskanal Mint ...")  # SVWZ+ over ?22..?27
    assert r["remittance"].endswith("\nMTLG:SEPA-Ueberweisungseingang Auftraggeber: Richter Renat")
    assert (r["direction"], r["amount"], r["bank_tx_code"]) == ("credit", "15000.05", "NTRF/166")
    assert r["additional_entry_info"] == "GUTSCHRIFT"
    assert r["additional_tx_info"].startswith("166?00GUTSCHRIFT?100399?20EREF+EndToEndIdTFNR20004000?2101?22SVWZ\n")


def test_german_debit_keeps_kref_long_svwz_across_wrapped_lines_and_the_60_subfield() -> None:
    rs, _ = read(fixture("betterplace_DE_sepa-structured-86.sta"))
    r = next(r for r in rs if r["bank_ref"] == "0724710353008994")
    assert r["statement_seq"] == "00004/00002"
    assert r["instruction_id"] == "TFNR 01011 Instruction Id  00007"  # KREF+
    assert r["end_to_end_id"] is None  # EREF+NONREF
    assert r["remittance"] == (
        "Unstrukturierter Verwendungszweck mit 140 Stellen fu/r SEPA COR Buchungsschema "
        "/A-CT-DTE-S01 und A-CT-NUD-/S01 CTSc-01 EBB TFNr 01011/ 0007\n"
        "MTLG:Ggf.Meldevorschriften beachten"
    )  # "mit " + "140": the space on the wrap
    assert r["payer_name"] == "Empfaenger 7 mit 70 Zeichen Empfaenger 7 mit 70 Zeiche"
    assert r["payer_account"] == "FR1420041010050500013M02606"


def test_german_return_gives_its_reason_and_a_short_eref_does_not_swallow_the_next_subfield() -> None:
    rs, _ = read(fixture("betterplace_DE_sepa-structured-86.sta"))
    r = rs[0]
    assert r["end_to_end_id"] == "TFNR 40005 00005"
    assert r["remittance"] == "MTLG:Grund nicht spezifiziert Reject aus SEPA-Ueberweisungsauftrag"
    assert r["return_reason"] == "914"  # ?34
    assert r["instruction_id"] == "TFNr 40005 MSGID"  # the :61: reference for the account owner
    assert r["bank_tx_code"] == "NTRF/159"


def test_reversal_of_a_credit_is_a_debit_marked_as_reversal() -> None:
    rs, _ = read(fixture("betterplace_DE_sepa-structured-86.sta"))
    r = rs[5]  # :61:0709040904RCR204,88NRTINONREF
    assert (r["direction"], r["reversal"], r["amount"]) == ("debit", True, "204.88")
    assert r["additional_entry_info"] == "SAMMLER/STORNO"


def test_pre_sepa_subfields_and_a_non_ascii_statement_reference() -> None:
    rs, summary = read(fixture("betterplace_DE_edge_binary-character.sta"))
    assert summary.warnings == []
    assert [r["statement_id"] for r in rs] == ["STAR1ÜTßUMS"] * 3 + ["STAR1ÜTUMS"]
    assert rs[0]["payer_name"] == "PAYPAL" and rs[0]["payer_account"] == "0175526300"
    assert rs[0]["payer_bic"] == "50070010"  # ?30 holds the BLZ in pre-SEPA files
    assert rs[0]["remittance"] == "QQW53T2245ZGY46J ABBUCHUNG\nVOM PAYPAL-KONTO\n100318P3TX1433EV"
    assert rs[3]["remittance"] == (
        "Belegloser Zahlungsauftrag\nÜberweisung:19.03.2010\nAnzahl Posten :7\nAnw-Nr.: 69725663086"
    )
    assert rs[3]["return_reason"] is None  # ?34540 is a text key extension, not a 9xx return reason


def test_sepa_keywords_mandate_creditor_id_and_ultimate_debtor(tmp_path: Path) -> None:
    narrative = (
        "166?00SEPA-GUTSCHRIFT?109310?20EREF+INV-2024-0042?21MREF+M-77?22CRED+DE98ZZZ09999999999"
        "?23SVWZ+Rechnung 2024-0042 Kun?24dennr 4711?25ABWA+Muster Holding GmbH?30COBADEFFXXX"
        "?31DE89370400440532013000?32Erika Mustermann?34000"
    )
    text = (
        HEADER
        + ":61:2401020102CR250,00NTRFNONREF//BANKREF1\n"
        + wrap("86", narrative)
        + "\n:62F:C240102EUR1250,00\n-\n"
    )
    (r,), summary = read(write(tmp_path, text))
    assert summary.warnings == []
    assert r["end_to_end_id"] == "INV-2024-0042"
    assert r["mandate_id"] == "M-77"
    assert r["additional_remittance"] == ["MREF+M-77", "CRED+DE98ZZZ09999999999"]  # read by the matchers
    assert r["remittance"] == "Rechnung 2024-0042 Kundennr 4711"
    assert r["ultimate_payer_name"] == "Muster Holding GmbH"
    assert (r["payer_name"], r["payer_account"], r["payer_bic"]) == (
        "Erika Mustermann",
        "DE89370400440532013000",
        "COBADEFFXXX",
    )
    assert r["return_reason"] is None and r["bank_ref"] == "BANKREF1"
    assert r["external_id"] == "DE89370400440532013000:BANKREF1"


def test_triodos_writes_the_subfield_marker_as_a_greater_than_sign() -> None:
    rs, _ = read(fixture("jejik_triodos_NL.sta"))
    assert rs[0]["remittance"] == "ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010"
    assert rs[0]["bank_tx_code"] == "N000/000"


def test_polish_subfields_with_an_iban_in_38_across_lines() -> None:
    rs, _ = read(fixture("cmxl_DE_multi-statement.sta"))
    r = rs[13]
    assert r["statement_id"] == "TELEWIZORY S.A." and r["currency"] == "PLN"
    assert r["payer_account"] == "PL08106000760000777777777777"  # ?38 over two lines, trailing blank dropped
    assert r["bank_ref"] == "8327000090031789"
    assert r["additional_entry_info"] == "Wyplata-(dysp/przel)\nCard transaction"  # ?00 + :61: line 2
    assert rs[15]["additional_entry_info"] == "Uznanie kwotą odsetek\nInterest credit"


# -- Dutch structured and free text ------------------------------------------------------------------

ING_SEPA = """:20:P140220000000001
:25:NL69INGB0123456789EUR
:28C:00000
:60F:C140219EUR662,23
:61:1402200220C1,56NTRFEREF//00000000001005
/TRCD/00100/
:86:/EREF/EV12341REP1231456T1234//CNTP/NL32INGB0000012345/INGBNL2A/ING BA
NK NV INZAKE WEB///REMI/USTD//EV10001REP1000000T1000/
:61:1402200220C12,50NTRFEREF//00000000001006
/TRCD/00100/
:86:/EREF/NOTPROVIDED//CNTP/NL86INGB0002445588/INGBNL2A/J. JANSEN/AMSTERDAM//REMI/STRD/CUR/12
34567890123456/
:61:1402200220D12,75NRTIEREF//00000000001010
/TRCD/00190/
:86:/RTRN/MS03//EREF/20120501P0123478//MARF/MND-120123//CSID/NL32ZZZ999999991234//CNTP/NL32INGB0
000012345/INGBNL2A/J.Janssen///REMI/USTD//CONTRIBUTIE FEB 2014/
:62F:C140220EUR663,54
-
"""


def test_dutch_structured_narrative_gives_payer_remittance_and_a_cur_reference(tmp_path: Path) -> None:
    rs, summary = read(write(tmp_path, ING_SEPA))
    assert summary.warnings == []
    first, second, third = rs
    assert first["end_to_end_id"] == "EV12341REP1231456T1234"
    assert (first["payer_account"], first["payer_bic"], first["payer_name"]) == (
        "NL32INGB0000012345",
        "INGBNL2A",
        "ING BANK NV INZAKE WEB",
    )  # a name wrapped at column 65
    assert first["remittance"] == "EV10001REP1000000T1000"
    assert first["instruction_id"] is None  # the :61: reference "EREF" only names the :86: field
    assert first["additional_entry_info"] == "/TRCD/00100/"
    assert second["end_to_end_id"] is None and second["remittance"] is None
    assert second["references"] == [{"type": "SCOR", "value": "1234567890123456", "issuer": "CUR"}]
    assert second["payer_name"] == "J. JANSEN"
    assert (third["direction"], third["return_reason"], third["mandate_id"]) == ("debit", "MS03", "MND-120123")
    assert third["additional_remittance"] == ["CSID/NL32ZZZ999999991234"]
    assert third["payer_account"] == "NL32INGB0000012345" and third["remittance"] == "CONTRIBUTIE FEB 2014"


def test_abn_amro_style_narrative_with_name_and_iban_keys(tmp_path: Path) -> None:
    narrative = (
        "/TRTP/SEPA OVERBOEKING/IBAN/NL44RABO0123456789/BIC/RABONL2U/NAME/ACME B.V./REMI/"
        "Factuur 2024/0815 klant 77/EREF/NOTPROVIDED"
    )
    text = HEADER + ":61:2401020102C99,95N658NONREF\n" + wrap("86", narrative) + "\n:62F:C240102EUR1099,95\n"
    (r,), _ = read(write(tmp_path, text))
    assert (r["payer_account"], r["payer_bic"], r["payer_name"]) == ("NL44RABO0123456789", "RABONL2U", "ACME B.V.")
    assert r["remittance"] == "Factuur 2024/0815 klant 77"  # a "/" inside the text stays
    assert r["end_to_end_id"] is None
    assert r["additional_entry_info"] == "SEPA OVERBOEKING"


def test_free_text_narratives_keep_their_lines() -> None:
    rs, _ = read(fixture("jejik_rabobank_NL.sta"))  # one :86: tag per line
    assert rs[0]["remittance"] == "Terugboeking\nNIET AKKOORD MET AFSCHRIJVING\nKOSTEN KINDEROPVANG JUNI\n20095731"
    assert rs[0]["additional_entry_info"] == "W.P. Jansen"
    rs, _ = read(fixture("jejik_sns_NL.sta"))  # blank padding lines
    assert rs[0]["remittance"] == "0987654321 marechal s\ndit is een test"
    rs, _ = read(fixture("jejik_abnamro_NL.sta"))
    assert rs[0]["remittance"] == (
        "GIRO   428428 KPN - DIGITENNE    BETALINGSKENM.  000000042188659\n"
        "5314606715                       BETREFT FACTUUR D.D. 20-05-2011\nINCL. 1,44 BTW"
    )


def test_postfinance_rechnung_remittance_and_repeated_customer_reference_are_not_keys() -> None:
    rs, summary = read(fixture("jejik_postfinance_CH_multi-statement.sta"))
    assert rs[0]["remittance"] == (
        "GIRO AUS ONLINE-SIC 80532 AUFTRAGGEBER: JANE DOE EXAMPLESTRASSE\n"
        " 10 1234 XXXX 131209CH98765432 MITTEILUNGEN: RECHNUNG XXXXXXXXXXXX"
    )
    assert "RECHNUNG XXXXXXXXXXXX" in rs[0]["additional_tx_info"]
    assert rs[3]["remittance"] == "EINZAHLUNGSSCHEIN"
    assert [r["bank_ref"] for r in rs] == [None] * 4  # //NONREF
    # The customer reference 01916 is on two different credits: it is not the key.
    assert [r["instruction_id"] for r in rs] == ["01916", "01916", "01916", "01651"]
    assert len({r["external_id"] for r in rs}) == 4 and all(r["external_id"].startswith("h:") for r in rs)
    assert rs[0]["additional_entry_info"] == "20131209007602198765432000000012"  # :61: line 2
    assert [(r["currency"], r["amount"]) for r in rs] == [
        ("CHF", "79.7"),
        ("CHF", "149.5"),
        ("CHF", "79.9"),
        ("CHF", "10.1"),
    ]
    assert any("2014040708285928 (999/2)" in w and "closing balance is 159.6" in w for w in summary.warnings)


def test_mbank_narrative_bank_reference_and_control_characters() -> None:
    rs, summary = read(fixture("wolph_mbank_PL_soh-etx-control-chars.sta"))
    assert summary.warnings == [] and summary.message_type == "MT940"
    assert [r["bank_ref"] for r in rs] == ["MB170119012058", "MB170119012085", "MB170119012121"]
    assert rs[0]["remittance"] == (
        "911 TRANSAKCJA COLLECT; ID IPH: XX000000000001; Z RACH.:\n"
        "56114010810000267002001001; OD: JAN NOWAK\n"
        "UL. NIJAKA 1 M 2 31-234 KRAKOW; TYT.: PRZELEW SRODKOW   ;\n"
        "TNR: 179171073864111.010001"
    )
    assert rs[0]["additional_entry_info"] == "911-TRANSAKCJA IPH"
    assert rs[0]["external_id"] == "PL29114010810000267002001002:MB170119012058"
    assert not any(c in r["remittance"] for r in rs for c in "\x01\x03")


def test_non_utf8_file_is_read_as_code_page_852() -> None:
    rs, summary = read(fixture("wolph_raiffeisen_HU_non-utf8.sta"))
    assert "the file is not UTF-8; read as cp852" in summary.warnings
    assert rs[0]["additional_entry_info"] == "Csoportos átutalás jóváírása"
    assert rs[0]["remittance"] == (
        "CAB18D1700041116\n109876543210000012345678\nHUNGARY KFT.\n"
        "UV, napi összevont utánvét, 2018.04\n.17, A13947109201804175000000097, X"
    )
    assert rs[1]["additional_entry_info"] == "Bankon belüli átutalás"
    assert rs[3]["additional_entry_info"] == "Díj, jutalék"
    assert (rs[0]["direction"], rs[0]["amount"], rs[0]["currency"]) == ("credit", "2066637.00", "HUF")


@pytest.mark.parametrize(
    ("remittance", "encoding", "expected"),
    [
        ("Überweisung Müller Straße", "latin-1", "cp1252"),
        ("Crédit reçu à Genève", "cp1252", "cp1252"),
        ("Płatność za fakturę", "cp1250", "cp1250"),
        ("Díj, jutalék, összevont utánvét", "cp852", "cp852"),
    ],
)
def test_a_file_that_is_not_utf8_is_read_in_the_code_page_that_gives_letters(
    tmp_path: Path, remittance: str, encoding: str, expected: str
) -> None:
    text = HEADER + f":61:2401020102C5,00NTRFNONREF\n:86:{remittance}\n:62F:C240102EUR1005,00\n"
    (r,), summary = read(write(tmp_path, text.encode(encoding)))
    assert r["remittance"] == remittance
    assert summary.warnings == [f"the file is not UTF-8; read as {expected}"]


def test_utf8_bom_and_crlf_line_ends(tmp_path: Path) -> None:
    text = HEADER + ":61:2401020102C5,00NTRFNONREF//R1\n:86:Zahlung\n:62F:C240102EUR1005,00\n-\n"
    path = write(tmp_path, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    (r,), summary = read(path)
    assert (r["statement_id"], r["remittance"], r["bank_ref"]) == ("STMT1", "Zahlung", "R1")
    assert summary.warnings == []


def test_non_swift_tags_and_crlf_are_tolerated_and_damaged_text_is_a_warning() -> None:
    rs, summary = read(fixture("wolph_sberbank_HU_ns-tags_crlf.sta"))
    assert summary.statements == 1 and len(rs) == 3
    assert rs[0]["statement_seq"] == "00046"  # :28: instead of :28C:
    assert rs[0]["additional_entry_info"].startswith("01526715\n02A12596785    20170926000100\n")
    assert "15ERGO Versicherung AG Fiokte\n16lep" in rs[0]["additional_entry_info"]
    assert any("U+FFFD" in w for w in summary.warnings)


def test_asn_bank_iban_as_customer_reference_needs_the_asnb_pattern() -> None:
    rs, summary = read(fixture("wolph_asn-bank_NL_many-statements.940.txt"))
    assert summary.statements == 31 and summary.warnings == []
    assert rs[0]["instruction_id"] == "NL47INGB9999999999"  # 18 characters: over the standard 16
    assert rs[0]["additional_entry_info"] == "hr gjlm paulissen"
    assert rs[0]["remittance"] == "NL47INGB9999999999 hr gjlm paulissen\nBetaling sieraden"
    assert rs[0]["bank_ref"] is None and rs[0]["external_id"].startswith("h:")


def test_ing_legacy_headers_trailer_and_statement_level_86_stay_out_of_the_last_transaction() -> None:
    rs, summary = read(fixture("jejik_ing-legacy_NL.sta"))
    assert summary.statements == 1 and len(rs) == 7
    assert (
        rs[-1]["remittance"] == "0111111111 Hr S Marechal\nROSMALEN Hr S Marechal ROSMALEN\n"
        "Betaling transactiedatum: 22-07-2010"
    )
    assert not any("D000004C000002" in (r["additional_tx_info"] or "") or "XXX" in (r["remittance"] or "") for r in rs)
    assert rs[1]["remittance"] == "0111111111 GPSEOUL SPOEDBETALING\tMPBZS1016000047 GPSEOUL"


def test_amount_without_decimal_comma_and_long_customer_reference() -> None:
    rs, _ = read(fixture("jejik_knab_NL.sta"))
    assert [r["amount"] for r in rs] == ["500", "7260", "500"]
    assert rs[2]["bank_ref"] == "B4G29PGDCK1QFV3E" and rs[2]["instruction_id"] == "29-07-2014 10:05"


# -- statements -----------------------------------------------------------------------------------------


def test_each_transaction_keeps_its_own_statement_in_a_multi_statement_file() -> None:
    rs, summary = read(fixture("jejik_postfinance_CH_multi-statement.sta"))
    assert summary.statements == 2
    assert [(r["statement_id"], r["statement_seq"]) for r in rs] == [
        ("2014040708285927", "999/1"),
        ("2014040708285927", "999/1"),
        ("2014040708285928", "999/2"),
        ("2014040708285928", "999/2"),
    ]
    rs, summary = read(fixture("wolph_asn-bank_NL_many-statements.940.txt"))
    assert [r["statement_seq"] for r in rs] == ["1/1", "5/1", "5/1", "25/1", "29/1", "29/1", "31/1", "31/1"]
    assert [r["booking_date"] for r in rs][:3] == ["2020-01-01", "2020-01-05", "2020-01-05"]
    rs, summary = read(fixture("cmxl_DE_multi-statement.sta"))
    assert Counter((r["statement_id"], r["account"], r["currency"]) for r in rs) == {
        ("131110", "45050050/76198810", "DEM"): 11,
        ("1234567", "10020030/1234567", "EUR"): 2,
        ("TELEWIZORY S.A.", "BPHKPLPK/320000546101", "PLN"): 3,
    }


def test_statement_pages_and_accounts_in_the_26_statement_file() -> None:
    rs, summary = read(fixture("betterplace_DE_sepa-structured-86.sta"))
    assert summary.statements == 26
    assert Counter(r["statement_seq"] for r in rs) == {
        "00004/00001": 72,
        "00004/00002": 21,
        "00004/00003": 2,
        "00003/00001": 1,
        "00001/00001": 1,
    }
    accounts = re.findall(r"^:25:(.*)$", fixture("betterplace_DE_sepa-structured-86.sta").read_text(), re.M)
    assert {r["account"] for r in rs} <= set(accounts) and len(set(accounts)) == 20


def test_mt942_intraday_report_has_message_type_mt942_and_currency_from_the_floor_limit() -> None:
    rs, summary = read(fixture("wolph_mbank_PL_mt942-intraday.sta"))
    assert summary.message_type == "MT942"
    assert summary.warnings == []  # :90C: 3 credits of 0.03 agree with the receipts
    assert [(r["currency"], r["amount"], r["status"]) for r in rs] == [("PLN", "0.01", None)] * 3
    _, summary = read(fixture("wolph_mbank_PL_soh-etx-control-chars.sta"))
    assert summary.message_type == "MT940"


def test_swift_envelope_announces_mt942_and_a_wrong_entry_sum_is_a_warning(tmp_path: Path) -> None:
    text = (
        "{1:F01BANKDEFFAXXX0000000000}{2:O942BANKDEFFXXXXN}{3:}{4:\n:20:INTRA1\n:25:DE89370400440532013000\n"
        ":28C:1/1\n:34F:EUR0,\n:13D:2401021015+0100\n:61:2401020102C5,00NTRFNONREF//A1\n:86:Test\n"
        ":90C:2EUR5,00\n-}{5:}\n"
    )
    (r,), summary = read(write(tmp_path, text))
    assert summary.message_type == "MT942" and r["currency"] == "EUR"
    assert any("declares 2 credit entries of 5.00 but holds 1" in w for w in summary.warnings)


# -- edge-case fixtures ------------------------------------------------------------------------------


def test_narrative_mistagged_as_25_is_read_as_86_with_a_warning() -> None:
    (r,), summary = read(fixture("betterplace_DE_edge_broken-tag.sta"))
    assert r["account"] == "50880050/0194787400888"  # the real :25:, not the narrative
    assert r["end_to_end_id"] == "EndToEndId TFNR 22 004 00001"
    assert r["remittance"] == "Verw CTSc-01 BC-PPP TFNr 22 004"
    assert (r["payer_name"], r["payer_account"]) == ("KARL        KAUFMANN", "DE14508800500194785000")
    assert summary.warnings[0] == (
        "line 6: :25: after the :61: on line 5 holds transaction details; read as that transaction's :86: (mistagged)"
    )
    assert "closing balance is 1125250.4" in summary.warnings[1] and len(summary.warnings) == 2


def test_february_30_is_a_warning_and_read_as_the_month_end() -> None:
    (r,), summary = read(fixture("wolph_DE_edge_february-30.sta"))
    assert (r["value_date"], r["booking_date"]) == ("2016-02-29", "2016-03-01")
    assert summary.warnings == [
        "line 6: :61: value date '160230' does not exist (2016-02 has 29 days); read as 2016-02-29"
    ]
    assert (r["remittance"], r["bank_tx_code"], r["direction"]) == ("Pauschalen", "N024/805", "debit")


@pytest.mark.parametrize(
    "line61",
    [":61:2413010102C5,00NTRF", ":61:2401000102C5,00NTRF", ":61:2401321301C5,00NTRF", ":61:2401021332C5,00NTRF"],
)
def test_dates_impossible_in_any_month_are_errors(tmp_path: Path, line61: str) -> None:
    with pytest.raises(StatementError, match=r"line 5: :61: (value|entry) date '\d+' is not a date"):
        read(write(tmp_path, HEADER + line61 + "\n:62F:C240102EUR1005,00\n"))


def test_snippet_without_statement_header_is_an_error_naming_the_line() -> None:
    with pytest.raises(StatementError) as info:
        read(SNIPPET)
    assert info.value.position == "line 1" and "no currency" in info.value.reason
    assert str(info.value).startswith(str(SNIPPET))


def test_tags_wrapped_across_lines_are_joined_again(tmp_path: Path) -> None:
    text = HEADER + SNIPPET.read_text() + "\n:62F:C181126EUR1030,00\n-\n"
    (r,), summary = read(write(tmp_path, text))
    assert (r["amount"], r["direction"], r["value_date"]) == ("30.00", "credit", "2018-11-26")
    assert (r["remittance"], r["bank_tx_code"]) == ("Test", "N062/166")
    assert r["additional_entry_info"] == "GUTSCHR. UEBERWEISUNG"
    assert summary.warnings == []


def test_entry_date_year_is_taken_across_the_year_end(tmp_path: Path) -> None:
    text = HEADER + ":61:2312310102C1,00NTRFNONREF//A\n:61:2401021231D1,00NTRFNONREF//B\n:62F:C240102EUR1000,00\n"
    rs, _ = read(write(tmp_path, text))
    assert [(r["value_date"], r["booking_date"]) for r in rs] == [
        ("2023-12-31", "2024-01-02"),
        ("2024-01-02", "2023-12-31"),
    ]


def test_reversal_of_a_debit_is_a_credit(tmp_path: Path) -> None:
    text = HEADER + ":61:2401020102RD7,50NTRFNONREF//A\n:62F:C240102EUR1007,50\n"
    (r,), summary = read(write(tmp_path, text))
    assert (r["direction"], r["reversal"]) == ("credit", True) and summary.warnings == []


def test_narrative_before_any_transaction_is_a_warning_not_silence(tmp_path: Path) -> None:
    text = HEADER + ":86:lost text\n:61:2401020102C1,00NTRFNONREF//A\n:62F:C240102EUR1001,00\n"
    (r,), summary = read(write(tmp_path, text))
    assert r["remittance"] is None
    assert summary.warnings == ["line 5: :86: before any :61: belongs to no transaction; ignored ('lost text')"]


def test_missing_balances_and_account_are_warnings(tmp_path: Path) -> None:
    text = ":20:X\n:28C:1/1\n:61:2401020102C1,00NTRFNONREF//A\n:62F:C240102EUR1001,00\n"
    (r,), summary = read(write(tmp_path, text))
    assert r["currency"] == "EUR" and r["account"] is None
    assert summary.warnings == [
        "line 1: statement X (1/1) has no :25: account",
        "line 1: statement X (1/1) has no opening balance; its movements cannot be checked",
    ]


# -- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (":61:2401020102C5,00", ":61:2401020102C5,0,0", "is not an amount"),
        (":61:2401020102C5,00", ":61:2401020102X5,00", "is not a statement line"),
        (":60F:C240101EUR1000,00", ":60F:C240101EU1000,00", "is not a currency code"),
        (":60F:C240101EUR1000,00", ":60F:C2401EUR1000,00", "is not a balance"),
    ],
)
def test_broken_tags_fail_with_the_line_and_the_reason(tmp_path: Path, old: str, new: str, reason: str) -> None:
    text = HEADER + ":61:2401020102C5,00NTRFNONREF//A\n:62F:C240102EUR1005,00\n"
    with pytest.raises(StatementError, match=reason) as info:
        read(write(tmp_path, text.replace(old, new)))
    assert info.value.position == ("line 5" if old.startswith(":61:") else "line 4")


@pytest.mark.parametrize("other", OTHER_FORMATS[:3] + OTHER_FORMATS[-3:], ids=lambda p: p.name)
def test_other_formats_are_refused(other: Path) -> None:
    with pytest.raises(StatementError, match="not an MT940/MT942 file") as info:
        read(other)
    assert info.value.position == "line 1"


def test_file_over_the_size_limit_is_refused() -> None:
    path = fixture("betterplace_DE_sepa-structured-86.sta")
    with pytest.raises(StatementError, match="above the limit of 1000"):
        read(path, max_bytes=1000)


def test_missing_file_and_folder_fail_as_statement_errors(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.sta", tmp_path):
        with pytest.raises(StatementError, match="cannot read"):
            read(path)


def test_nothing_is_read_before_iterating_and_the_summary_is_reset_in_place(tmp_path: Path) -> None:
    reader = Mt940Reader(tmp_path / "not-yet.sta")
    summary = reader.summary
    path = write(tmp_path, fixture("jejik_knab_NL.sta").read_bytes(), "not-yet.sta")
    assert len(list(reader)) == 3 and summary.receipts == 3 and summary is reader.summary
    path.write_bytes(fixture("jejik_triodos_NL.sta").read_bytes())
    assert len(list(reader)) == 2 and summary.receipts == 2 and summary.statements == 1


# -- detection ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_mt940_fixture_is_detected_from_its_first_bytes(path: Path) -> None:
    assert detect_mt940(path.read_bytes()[:8192])


@pytest.mark.parametrize("path", OTHER_FORMATS, ids=lambda p: p.name)
def test_camt_bai2_and_ofx_files_are_not_mt940(path: Path) -> None:
    assert not detect_mt940(path.read_bytes()[:8192])


def test_detection_reads_content_not_file_names() -> None:
    assert detect_mt940(b"\x01\r\n:20:X\r\n:25:DE1\r\n")
    assert detect_mt940(b"\xef\xbb\xbf{1:F01ASNBNL21XXXX0000000000}{2:O940ASNBNL21XXXXN}{3:}{4:\n:20:0\n")
    assert detect_mt940(b"0000 01INGBNL2AXXXX00001\n940 00\n:20:MPBZ\n")
    assert not detect_mt940(b"date,amount,text\n2024-01-02,5.00,:20: in a csv\n")
    assert not detect_mt940(b"01,122099999,123456789,040621,0200,1,65,,2/\n")
    assert not detect_mt940(b"OFXHEADER:100\nDATA:OFXSGML\n")
    assert not detect_mt940(b'<?xml version="1.0"?><Document><x>:20:</x></Document>')
    assert not detect_mt940(b"")


# -- fuzzing ----------------------------------------------------------------------------------------------


MT940_TOKENS = [
    b":61:",
    b":86:",
    b":20:",
    b":25:",
    b":62F:",
    b"?2",
    b"//",
    b"\n",
    b"RC",
    b",",
    b"-",
    b"{4:",
    b":\n",
    b"/REMI/",
    b"EREF+",
    b"0230",
    b"\r",
    b"\x01",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ALL), seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 4))
def test_mutated_real_files_either_read_or_fail_with_statement_error(
    tmp_path: Path, path: Path, seed: int, rounds: int
) -> None:
    read_mutated(Mt940Reader, path, tmp_path / "mutated.sta", seed, rounds, MT940_TOKENS)
