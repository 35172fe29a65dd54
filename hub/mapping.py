"""Declarative field maps: how a source's raw record becomes a canonical record.

One TOML file per source record shape (``mappings/csv-invoices.toml`` and so on), so a user whose
ERP export has other column names writes a new file instead of code::

    record = "invoice"                      # canonical type (hub.model.RECORD_TYPES)

    [fields]
    external_id = "invoice_number"          # canonical field = source field
    number = "invoice_number"
    due_date = { from = "Due", transform = ["date:%d.%m.%Y"] }
    amount = { from = "Total", transform = ["decimal_comma"] }
    status = { const = "open" }
    po_number = { from = "PO", default = "" }

Field specs: a string (source field; dotted for nested dicts), or a table with ``from`` or
``const``, an optional ``default`` for a missing or empty value, and ``transform``: a list applied
in order, from :data:`TRANSFORMS`. Empty strings become ``None`` (a missing value), so an empty
optional column stays empty and an empty required one is reported by validation.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from hub.errors import MappingError
from hub.model import RECORD_TYPES

Transform = Callable[[Any], Any]


def _strip(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _upper(v: Any) -> Any:
    return v.upper() if isinstance(v, str) else v


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _decimal_comma(v: Any) -> Any:
    """``1.234,56`` -> ``1234.56`` (continental number format)."""
    return v.replace(".", "").replace(" ", "").replace(",", ".") if isinstance(v, str) else v


def _thousands_comma(v: Any) -> Any:
    """``1,234.56`` -> ``1234.56``."""
    return v.replace(",", "").replace(" ", "") if isinstance(v, str) else v


def _negate(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return v[1:] if v.startswith("-") else "-" + v
    return -v


def _as_list(v: Any) -> Any:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _make_date(fmt: str) -> Transform:
    def parse(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        try:
            return dt.datetime.strptime(v.strip(), fmt).date()
        except ValueError:
            return v  # left as is: validation reports the field and the value

    return parse


def _make_split(sep: str) -> Transform:
    def split(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        return [p.strip() for p in v.split(sep) if p.strip()]

    return split


def _make_prefix(prefix: str) -> Transform:
    def add(v: Any) -> Any:
        return f"{prefix}{v}" if v is not None else None

    return add


def _make_key(name: str) -> Transform:
    """``key:crm``: ``"A-17"`` -> ``{"crm": "A-17"}``, e.g. a column holding the customer's id in another
    system, for ``links``; an empty value gives no link."""

    def wrap(v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return {}
        return {name: v.strip() if isinstance(v, str) else v}

    return wrap


TRANSFORMS: dict[str, Transform] = {
    "strip": _strip,
    "upper": _upper,
    "lower": _lower,
    "decimal_comma": _decimal_comma,
    "thousands_comma": _thousands_comma,
    "negate": _negate,
    "list": _as_list,
}
PARAMETRIC: dict[str, Callable[[str], Transform]] = {
    "date": _make_date,
    "split": _make_split,
    "prefix": _make_prefix,
    "key": _make_key,
}


def _transform(name: str, where: str) -> Transform:
    if name in TRANSFORMS:
        return TRANSFORMS[name]
    head, sep, arg = name.partition(":")
    if sep and head in PARAMETRIC:
        return PARAMETRIC[head](arg)
    known = sorted(TRANSFORMS) + [f"{p}:ARG" for p in PARAMETRIC]
    raise MappingError(f"{where}: unknown transform {name!r}; known: {', '.join(known)}")


@dataclass(frozen=True)
class FieldMap:
    target: str
    source: str | None
    const: Any
    default: Any
    transforms: tuple[Transform, ...]


_MISSING = object()


class RecordMapping:
    """A compiled mapping. Call :meth:`apply` on each raw record."""

    def __init__(self, name: str, record_type: str, fields: list[FieldMap], description: str = "") -> None:
        self.name = name
        self.record_type = record_type
        self.fields = fields
        self.description = description
        # Plain-copy fields (the common case) skip the generic path: this runs once per record.
        self._plain = [
            (f.target, f.source)
            for f in fields
            if f.const is None
            and f.default is None
            and not f.transforms
            and f.source is not None
            and "." not in f.source
        ]
        self._other = [f for f in fields if (f.target, f.source) not in self._plain]

    def inputs(self) -> set[str]:
        """Top-level source fields the mapping reads (a file source checks its header against them)."""
        return {f.source.split(".", 1)[0] for f in self.fields if f.source}

    def required_inputs(self) -> set[str]:
        """Source fields feeding required canonical fields without a default."""
        model = RECORD_TYPES[self.record_type]
        return {
            f.source.split(".", 1)[0]
            for f in self.fields
            if f.source and f.default is None and model.model_fields[f.target].is_required()
        }

    def apply(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        get = raw.get
        for target, source in self._plain:
            value = get(source)
            out[target] = None if value == "" else value
        for f in self._other:
            out[f.target] = self.field_value(f, raw)
        return out

    @property
    def plain_fields(self) -> list[tuple[str, str]]:
        """``(target, source)`` of fields copied as they are; :meth:`apply` emits these first."""
        return list(self._plain)

    @property
    def computed_fields(self) -> list[FieldMap]:
        """Fields with a constant, default or transforms; :meth:`apply` emits these after the plain ones."""
        return list(self._other)

    @staticmethod
    def field_value(f: FieldMap, raw: Mapping[str, Any]) -> Any:
        """The mapped value of one computed field."""
        if f.const is not None:
            return f.const
        value = _lookup(raw, f.source) if f.source else None
        if value == "" or value is None:
            value = f.default
        if value is None and _as_list in f.transforms:
            return []
        if value is not None:
            for fn in f.transforms:
                value = fn(value)
            if value == "":
                value = None
        return value


def _lookup(raw: Mapping[str, Any], path: str) -> Any:
    value: Any = raw
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def parse_mapping(data: dict[str, Any], name: str) -> RecordMapping:
    record_type = data.get("record")
    if record_type not in RECORD_TYPES:
        raise MappingError(f"mapping {name}: 'record' must be one of {sorted(RECORD_TYPES)}, got {record_type!r}")
    model = RECORD_TYPES[record_type]
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        raise MappingError(f"mapping {name}: needs a [fields] table")
    fields: list[FieldMap] = []
    for target, spec in raw_fields.items():
        where = f"mapping {name}, field {target}"
        if target not in model.model_fields or target == "source":
            raise MappingError(f"{where}: {record_type} has no field {target!r}")
        if isinstance(spec, str):
            fields.append(FieldMap(target, spec, None, None, ()))
            continue
        if not isinstance(spec, dict):
            raise MappingError(f"{where}: expected a source field name or a table")
        unknown = set(spec) - {"from", "const", "default", "transform"}
        if unknown:
            raise MappingError(f"{where}: unknown keys {sorted(unknown)}")
        if ("from" in spec) == ("const" in spec):
            raise MappingError(f"{where}: give exactly one of 'from' or 'const'")
        transforms = spec.get("transform", [])
        if isinstance(transforms, str):
            transforms = [transforms]
        fields.append(
            FieldMap(
                target,
                spec.get("from"),
                spec.get("const"),
                spec.get("default"),
                tuple(_transform(t, where) for t in transforms),
            )
        )
    targets = {f.target for f in fields}
    missing = [n for n, info in model.model_fields.items() if info.is_required() and n != "source" and n not in targets]
    if missing:
        raise MappingError(f"mapping {name}: required {record_type} fields not mapped: {', '.join(missing)}")
    return RecordMapping(name, record_type, fields, str(data.get("description", "")))


def load_mapping(ref: str, base_dir: Path | None = None) -> RecordMapping:
    """Load a mapping by built-in name (``csv-invoices``) or by path to a ``.toml`` file."""
    if ref.endswith(".toml"):
        path = Path(ref).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise MappingError(f"mapping file {path}: {exc.strerror}") from None
        name = str(path)
    else:
        resource = resources.files("hub_mappings") / f"{ref}.toml"
        if not resource.is_file():
            raise MappingError(f"no built-in mapping named {ref!r}")
        text = resource.read_text(encoding="utf-8")
        name = ref
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping {name}: {exc}") from None
    return parse_mapping(data, name)
