"""Fast validation of mapped records against the canonical model.

Why this exists instead of calling ``Model.model_validate`` on every record: building a pydantic
model costs about 10 microseconds a record on the machines we target, which alone would cap a bulk
sync of a million invoices below 100,000 rows/s. :class:`RecordValidator` converts the common,
unambiguous input forms of each scalar field itself (plain ``1234.56`` decimals, ISO ``YYYY-MM-DD``
dates, three-letter currencies, enum values) and hands any record it is not sure about to pydantic,
which stays the single authority: it either accepts the record (and its result is used) or produces
the error message. ``tests/test_validation.py`` checks with hypothesis that both paths agree.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError

from hub.errors import RecordError
from hub.model import (
    MONEY_DECIMALS,
    MONEY_LIMIT,
    _check_currency,
    _empty_to_none,
    _parse_decimal,
    describe_validation_error,
)

DECIMAL_TEXT = re.compile(rf"-?\d{{1,18}}(?:\.\d{{1,{MONEY_DECIMALS}}})?\Z")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


class Declined(Exception):
    """The fast path declines a value; pydantic decides."""


Converter = Callable[[Any], Any]


def _text(min_length: int, optional: bool) -> Converter:
    def convert(v: Any) -> Any:
        if v is None:
            if optional:
                return None
            raise Declined
        if type(v) is not str:
            raise Declined
        stripped = v.strip()
        if len(stripped) != len(v):
            # pydantic trims Unicode White_Space only; str.strip() also takes control characters
            # such as \x1f. Padded text is rare: let pydantic decide.
            raise Declined
        if optional and not v:
            return None
        if len(v) < min_length:
            raise Declined
        return v

    return convert


def _money(optional: bool, gt: Any, ge: Any) -> Converter:
    def convert(v: Any) -> Any:
        if v is None:
            if optional:
                return None
            raise Declined
        if type(v) is str:
            v = v.strip()
            if not DECIMAL_TEXT.match(v):
                raise Declined
            d = Decimal(v)
        elif type(v) is Decimal and v.is_finite():
            exp = v.as_tuple().exponent
            if not isinstance(exp, int) or -exp > MONEY_DECIMALS or abs(v) >= MONEY_LIMIT:
                raise Declined
            d = v
        else:
            raise Declined
        if (gt is not None and not d > gt) or (ge is not None and not d >= ge):
            raise Declined
        return d

    return convert


def _date(optional: bool) -> Converter:
    def convert(v: Any) -> Any:
        if v is None:
            if optional:
                return None
            raise Declined
        if type(v) is str:
            if not ISO_DATE.match(v):
                raise Declined
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                raise Declined from None
        if type(v) is dt.date:
            return v
        raise Declined

    return convert


def _currency(optional: bool) -> Converter:
    def convert(v: Any) -> Any:
        if v is None:
            if optional:
                return None
            raise Declined
        if type(v) is not str:
            raise Declined
        v = v.strip().upper()
        if len(v) != 3 or not v.isascii() or not v.isalpha():
            raise Declined
        return v

    return convert


def _enum_values(values: frozenset[Any], optional: bool) -> Converter:
    def convert(v: Any) -> Any:
        if v is None and optional:
            return None
        if isinstance(v, Enum):
            v = v.value
        if v.__hash__ is not None and v in values:  # a list is no member, not a TypeError
            return v
        raise Declined

    return convert


def _bool() -> Converter:
    def convert(v: Any) -> Any:
        if type(v) is bool:
            return v
        raise Declined

    return convert


def str_list_converter() -> Converter:
    def convert(v: Any) -> Any:
        # Padded items go to pydantic, which trims less than str.strip() would.
        if type(v) is list and all(type(x) is str and x.strip() == x for x in v):
            return list(v)
        raise Declined

    return convert


def model_list_converter(item_fields: tuple[tuple[str, bool], ...]) -> Converter:
    """Lists of small nested models of plain text fields (a receipt's structured references)."""
    names = frozenset(n for n, _ in item_fields)

    def convert(v: Any) -> Any:
        if type(v) is not list:
            raise Declined
        out = []
        for x in v:
            if type(x) is not dict or not x.keys() <= names:
                raise Declined
            item = {}
            for name, optional in item_fields:
                value = x.get(name)
                if value is None:
                    if not optional:
                        raise Declined
                elif type(value) is not str or value.strip() != value:
                    raise Declined  # padded text: pydantic trims less than str.strip() would
                item[name] = value
            out.append(item)
        return out

    return convert


def _empty_container(kind: type) -> Converter:
    """Lists of nested models are left to pydantic unless empty (the common case)."""

    def convert(v: Any) -> Any:
        if type(v) is kind and not v:
            return kind()
        raise Declined

    return convert


def _decline(_: Any) -> Any:
    raise Declined


@dataclass(frozen=True)
class FieldKind:
    """What the fast paths know about a model field: one of a few plain scalar kinds."""

    kind: str  # text | money | date | currency | enum | bool | str_list | model_list | empty_list | empty_dict
    optional: bool = False
    min_length: int = 0
    gt: Any = None
    ge: Any = None
    enum_values: frozenset[Any] = frozenset()
    item_fields: tuple[tuple[str, bool], ...] = ()  # model_list: (name, optional) of the item model's fields


def field_kind(name: str, model: type[BaseModel]) -> FieldKind | None:
    """Classify a model field for the fast paths; None when only pydantic should handle it."""
    info = model.model_fields[name]
    annotation = info.annotation
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            return None
        annotation = args[0]
    meta = list(info.metadata)
    if typing.get_origin(annotation) is typing.Annotated:  # e.g. ``Currency | None``
        annotation, *inner = typing.get_args(annotation)
        meta.extend(inner)
    validators = [m for m in meta if type(m).__name__ in ("BeforeValidator", "AfterValidator")]
    gt = next((m.gt for m in meta if isinstance(m, annotated_types.Gt)), None)
    ge = next((m.ge for m in meta if isinstance(m, annotated_types.Ge)), None)
    min_len = next((m.min_length for m in meta if isinstance(m, annotated_types.MinLen)), 0)
    known_meta = all(
        isinstance(m, (annotated_types.Gt, annotated_types.Ge, annotated_types.MinLen)) or m in validators for m in meta
    )
    if not known_meta:
        return None
    funcs = {getattr(v, "func", None) for v in validators}
    if annotation is Decimal:
        # Only Money fields are stored in millionths; another Decimal (an exchange rate) is not money.
        return FieldKind("money", optional, gt=gt, ge=ge) if _parse_decimal in funcs else None
    if funcs == {_check_currency} and annotation is str:
        return FieldKind("currency", optional)
    if funcs == {_empty_to_none}:
        if annotation is str:
            return FieldKind("text", optional, min_len)
        if annotation is dt.date:
            return FieldKind("date", optional)
    if validators:
        return None
    if annotation is str:
        return FieldKind("text", optional, min_len)
    if annotation is dt.date:
        return FieldKind("date", optional)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return FieldKind("enum", optional, enum_values=frozenset(m.value for m in annotation))
    if annotation is bool:
        return FieldKind("bool", optional)
    if typing.get_origin(annotation) is list and typing.get_args(annotation) == (str,):
        return FieldKind("str_list", optional)
    if typing.get_origin(annotation) is list:
        items = _plain_text_model(typing.get_args(annotation))
        if items is not None:
            return FieldKind("model_list", optional, item_fields=items)
        return FieldKind("empty_list", optional)
    if typing.get_origin(annotation) is dict:
        return FieldKind("empty_dict", optional)
    return None


def _plain_text_model(args: tuple[Any, ...]) -> tuple[tuple[str, bool], ...] | None:
    """The (name, optional) fields of a list's item model if all are plain ``str`` / ``str | None``
    without validators or other defaults, in a model that strips text and forbids extra keys."""
    if len(args) != 1 or not (isinstance(args[0], type) and issubclass(args[0], BaseModel)):
        return None
    item = args[0]
    config = item.model_config
    if config.get("extra") != "forbid" or not config.get("str_strip_whitespace"):
        return None
    fields = []
    for name, info in item.model_fields.items():
        if info.metadata or info.alias is not None:
            return None
        if info.annotation is str and info.is_required():
            fields.append((name, False))
        elif info.annotation == (str | None) and not info.is_required() and info.default is None:
            fields.append((name, True))
        else:
            return None
    return tuple(fields)


def _converter_for(name: str, model: type[BaseModel]) -> Converter:
    k = field_kind(name, model)
    if k is None:
        return _decline
    if k.kind == "money":
        return _money(k.optional, k.gt, k.ge)
    if k.kind == "currency":
        return _currency(k.optional)
    if k.kind == "text":
        return _text(k.min_length, k.optional)
    if k.kind == "date":
        return _date(k.optional)
    if k.kind == "enum":
        return _enum_values(k.enum_values, k.optional)
    if k.kind == "bool":
        return _bool()
    if k.kind == "str_list":
        return str_list_converter()
    if k.kind == "model_list":
        return model_list_converter(k.item_fields)
    return _empty_container(list if k.kind == "empty_list" else dict)


class RecordValidator:
    """Validate mapped records of one canonical type; returns plain dicts ready for the store."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.fields = list(model.model_fields)
        self._field_set = frozenset(self.fields)
        self._converters = [(n, _converter_for(n, model)) for n in self.fields]
        self.defaults = {
            n: _plain(info.get_default(call_default_factory=True))
            for n, info in model.model_fields.items()
            if not info.is_required()
        }

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return the record's canonical values, or raise :class:`RecordError` naming field and value."""
        if data.keys() <= self._field_set:
            out: dict[str, Any] = {}
            try:
                for name, convert in self._converters:
                    if name in data:
                        out[name] = convert(data[name])
                    elif name in self.defaults:
                        out[name] = self.defaults[name]
                    else:
                        raise Declined
                return out
            except Declined:
                pass
        return self.validate_slow(data)

    def validate_slow(self, data: dict[str, Any]) -> dict[str, Any]:
        """The reference path: pydantic's own validation."""
        try:
            record = self.model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise RecordError(
                describe_validation_error(exc),
                field=".".join(str(p) for p in first["loc"]) or None,
                value=first.get("input"),
            ) from None
        return {name: _plain(getattr(record, name)) for name in self.fields}


def _plain(value: Any) -> Any:
    """Enum members to their values and nested models to JSON-able dicts (what the store keeps)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return [v.model_dump(mode="json") for v in value]
    return value
