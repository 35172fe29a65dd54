"""Mapping files: built-in ones load, user ones are checked, transforms do what they say."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hub.errors import MappingError
from hub.mapping import load_mapping, parse_mapping


@pytest.mark.parametrize("name", ["csv-customers", "csv-invoices", "bank-receipts"])
def test_built_in_mappings_load(name: str) -> None:
    assert load_mapping(name).fields


def test_transforms_apply_in_order_and_empty_values_become_missing() -> None:
    m = parse_mapping(
        {
            "record": "invoice",
            "fields": {
                "external_id": "Nr",
                "number": "Nr",
                "customer_external_id": {"from": "customer.id"},
                "issue_date": {"from": "Datum", "transform": ["date:%d.%m.%Y"]},
                "due_date": {"from": "Faellig", "transform": "date:%d.%m.%Y"},
                "currency": {"const": "EUR"},
                "amount": {"from": "Betrag", "transform": ["decimal_comma"]},
                "open_amount": {"from": "Offen", "transform": ["thousands_comma", "negate"]},
                "po_number": {"from": "PO", "default": "none given"},
                "payment_reference": "Ref",
            },
        },
        "test",
    )
    out = m.apply(
        {
            "Nr": "R1",
            "customer": {"id": "K9"},
            "Datum": "05.01.2026",
            "Faellig": "31.02.2026",
            "Betrag": "1.234,50",
            "Offen": "1,234.50",
            "PO": "",
            "Ref": "",
        }
    )
    assert out["customer_external_id"] == "K9"
    assert out["issue_date"] == dt.date(2026, 1, 5)
    assert out["due_date"] == "31.02.2026"  # left as is, so validation names it
    assert (out["amount"], out["open_amount"]) == ("1234.50", "-1234.50")
    assert out["po_number"] == "none given"
    assert out["payment_reference"] is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"record": "bill", "fields": {}}, "'record' must be one of"),
        ({"record": "invoice"}, "needs a \\[fields\\] table"),
        ({"record": "invoice", "fields": {"nonsense": "x"}}, "has no field 'nonsense'"),
        ({"record": "invoice", "fields": {"number": {"from": "a", "const": "b"}}}, "exactly one of"),
        (
            {"record": "invoice", "fields": {"number": {"from": "a", "transform": ["rot13"]}}},
            "unknown transform 'rot13'",
        ),
        ({"record": "invoice", "fields": {"number": "n"}}, "required invoice fields not mapped: external_id"),
    ],
)
def test_malformed_mapping_is_refused_with_a_reason(data: dict, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(data, "m")


def test_mapping_file_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("record = \n")
    with pytest.raises(MappingError, match=r"bad\.toml"):
        load_mapping("bad.toml", tmp_path)
    with pytest.raises(MappingError, match="no built-in mapping named 'nope'"):
        load_mapping("nope")


def test_key_transform_turns_a_column_into_a_link_to_another_system() -> None:
    from hub.model import Customer

    m = parse_mapping(
        {
            "record": "customer",
            "fields": {
                "external_id": "id",
                "legal_name": "name",
                "links": {"from": "crm_id", "transform": ["key:crm"]},
            },
        },
        "test",
    )
    linked = Customer(source="erp", **m.apply({"id": "C1", "name": "Acme", "crm_id": " 0017 "}))
    assert linked.links == {"crm": "0017"}
    unlinked = Customer(source="erp", **m.apply({"id": "C2", "name": "Beta", "crm_id": ""}))
    assert unlinked.links == {}
