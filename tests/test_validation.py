"""The fast validator agrees with pydantic, which stays the authority; the model's errors name field and value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings, strategies as st
from pydantic import ValidationError

from hub.errors import RecordError
from hub.model import Customer, Invoice, Receipt, describe_validation_error
from hub.validation import RecordValidator

BASE = {
    "source": "erp",
    "external_id": "INV-1",
    "number": "INV-1",
    "customer_external_id": "C1",
    "issue_date": "2026-01-05",
    "due_date": "2026-02-04",
    "currency": "EUR",
    "amount": "100.00",
    "open_amount": "100.00",
    "po_number": None,
}

texts = st.one_of(
    st.none(),
    st.just(""),
    st.just("  "),
    st.text(max_size=12),
    st.sampled_from(["2026-02-30", "2026-1-5", "20260105", "2026-01-05T10:00:00", " 2026-01-05 "]),
    st.sampled_from(["12.5", "-3", "1e3", "NaN", "Infinity", "1_000", "0.1234567", " 7.25 ", "12,50", "+5", ".5"]),
    st.sampled_from(["eur", "EURO", "E1R", "ÄÖÜ", "usd "]),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.floats(allow_nan=False),
    st.integers(),
    st.booleans(),
)


def _reference(model: type, data: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return RecordValidator(model).validate_slow(data)
    except RecordError:
        return None


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(sorted(k for k in BASE if k != "source")), value=texts)
@example(field="amount", value=Decimal("1000000000000000000"))  # 19 digits: the model refuses it
def test_fast_path_accepts_exactly_what_pydantic_accepts_with_the_same_values(field: str, value: Any) -> None:
    data = {**BASE, field: value}
    validator = RecordValidator(Invoice)
    expected = _reference(Invoice, data)
    try:
        got = validator.validate(data)
    except RecordError:
        got = None
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(amount=texts, currency=texts, booking=texts, direction=st.sampled_from(["credit", "debit", "CRDT", None]))
def test_fast_path_agrees_on_receipts(amount: Any, currency: Any, booking: Any, direction: Any) -> None:
    data = {
        "source": "bank",
        "external_id": "x",
        "booking_date": booking,
        "amount": amount,
        "currency": currency,
        "direction": direction,
        "references": [],
        "remittance": "Invoice 1",
    }
    try:
        got = RecordValidator(Receipt).validate(data)
    except RecordError:
        got = None
    assert got == _reference(Receipt, data)


def test_validation_error_names_the_field_and_the_offending_value() -> None:
    with pytest.raises(ValidationError) as exc:
        Invoice.model_validate({**BASE, "due_date": "2026-02-31", "currency": "EURO"})
    text = describe_validation_error(exc.value)
    assert "due_date='2026-02-31'" in text
    assert "currency='EURO'" in text


def test_money_refuses_floats_and_more_than_six_decimals() -> None:
    with pytest.raises(ValidationError, match="float"):
        Invoice.model_validate({**BASE, "amount": 0.1})
    with pytest.raises(ValidationError, match="decimal places"):
        Invoice.model_validate({**BASE, "amount": "0.1234567"})
    assert Invoice.model_validate({**BASE, "amount": "8.85000"}).amount == Decimal("8.85")


def test_receipt_amount_must_be_positive_direction_says_debit() -> None:
    with pytest.raises(ValidationError, match="amount"):
        Receipt.model_validate(
            {"source": "b", "external_id": "x", "booking_date": dt.date(2026, 1, 1), "amount": "-5", "currency": "EUR"}
        )


def test_customer_tax_ids_accept_bare_strings() -> None:
    c = Customer.model_validate({"source": "erp", "external_id": "C1", "legal_name": "Acme", "tax_ids": ["DE123"]})
    assert c.tax_ids[0].value == "DE123"
    assert c.tax_ids[0].scheme == "tax"
