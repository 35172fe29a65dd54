"""Compiled row builders: the bulk-sync fast path from a raw record to a database row.

Why generated code: a bulk sync of a million invoices spends its time in per-field Python calls
(mapping, validation, type conversion for the driver). For a stream whose mapping and record type
use only plain scalar kinds, :func:`compile_row_builder` writes one Python function that does all of
it inline for a record and returns the row exactly as the generic path would store it. Anything the
builder is not sure about makes it return ``None``, and that record takes the generic path
(``Mapping_.apply`` -> ``RecordValidator`` -> SQLAlchemy's bind processors), which stays the
reference; ``tests/test_fastpath.py`` checks with hypothesis that both produce identical rows and
hashes. The generated source embeds only model field names (Python identifiers) and ``repr()`` of
mapping strings, so a mapping file cannot inject code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from hub.mapping import Mapping_
from hub.store.schema import MONEY_SCALE, to_micros
from hub.validation import DECIMAL_TEXT, ISO_DATE, field_kind

#: ``key(raw) -> (mapped external id, content hash)``: cheap, for the unchanged-record check.
KeyFunction = Callable[[Any], tuple[Any, int]]
#: ``build(raw, hash, synced_at) -> row values in column order``, or None for "take the generic path".
RowBuilder = Callable[[Any, int, Any], tuple[Any, ...] | None]

_SUPPORTED = {"text", "money", "date", "currency", "enum"}


def compile_row_builder(
    mapping: Mapping_,
    model: type[BaseModel],
    source: str,
    columns: Sequence[str],
    *,
    dialect: str,
    defaults: dict[str, Any],
    header: Sequence[str] | None = None,
    hash_text: Callable[[str], int],
    hash_token: Callable[[Any], str],
) -> tuple[KeyFunction, RowBuilder] | None:
    """``(key, build)`` functions for one stream, or None if its mapping or type is unsupported.

    ``raw`` is a dict, or, when ``header`` is given, a list of values in header order.
    ``defaults`` holds the database value of every model field the mapping leaves out, already
    passed through the column's bind processor. ``columns`` must be model fields plus
    ``record_hash`` and ``synced_at``.
    """
    kinds = {}
    mapped_targets = {t for t, _ in mapping.plain_fields} | {f.target for f in mapping.computed_fields}
    for name in model.model_fields:
        if name == "source":
            continue
        if name in mapped_targets:
            kind = field_kind(name, model)
            if kind is None or kind.kind not in _SUPPORTED:
                return None
            kinds[name] = kind
        elif name not in defaults:
            return None
    if set(columns) - set(model.model_fields) - {"record_hash", "synced_at"}:
        return None
    if header is not None and any("." in (f.source or "") for f in mapping.computed_fields):
        return None

    ns: dict[str, Any] = {
        "_DEC": DECIMAL_TEXT.match,
        "_ISO": ISO_DATE.match,
        "_fromiso": dt.date.fromisoformat,
        "_SCALE": [10 ** (MONEY_SCALE - places) for places in range(MONEY_SCALE + 1)],
        "_hash_text": hash_text,
        "_tok": hash_token,
        "_fv": Mapping_.field_value,
        "_SOURCE": source,
        "_COMPUTED": mapping.computed_fields,
        "_DEFAULTS": defaults,
    }
    prelude = []
    if header is not None:
        position = {h: i for i, h in enumerate(header)}
        if mapping.computed_fields:
            ns["_HEADER"] = list(header)
            prelude.append("    rd = dict(zip(_HEADER, raw))")
    else:
        prelude.append("    g = raw.get")
    lines: list[str] = []

    def read(source_field: str) -> str:
        if header is None:
            return f"g({source_field!r})"
        return f"raw[{position[source_field]}]" if source_field in position else "None"

    mapped_names = []
    for i, (target, src) in enumerate(mapping.plain_fields):
        var = f"m{i}"
        lines.append(f"    {var} = {read(src)}")
        lines.append(f"    if {var} == '': {var} = None")
        mapped_names.append((target, var))
    for j, f in enumerate(mapping.computed_fields):
        var = f"c{j}"
        lines.append(f"    {var} = _fv(_COMPUTED[{j}], {'rd' if header is not None else 'raw'})")
        mapped_names.append((f.target, var))
    ext_var = dict(mapped_names).get("external_id")
    if ext_var is None:
        return None
    lines.append(f"    m_ext = {ext_var}")
    key_lines = [
        "def key(raw):",
        *prelude,
        *lines,
        # The same text record_hash() builds from the mapped values, without a call per value.
        "    return m_ext, _hash_text('\\x1f'.join(("
        + "".join(f"{v} if type({v}) is str else _tok({v}), " for _, v in mapped_names)
        + "_SOURCE)))",
    ]
    lines = ["def build(raw, h, synced_at):", *prelude, *lines]

    values: dict[str, str] = {}
    for target, var in mapped_names:
        k = kinds[target]
        out = f"d_{target}"
        values[target] = out
        body: list[str] = []
        if k.kind == "text":
            body += [f"if type({var}) is not str or len({var}.strip()) != len({var}): return None"]
            if k.min_length:
                body += [f"if len({var}) < {k.min_length}: return None"]
            body += [f"{out} = {var}" + (" or None" if k.optional else "")]
        elif k.kind == "money":
            body += [
                f"if type({var}) is not str: return None",
                f"{var} = {var}.strip()",
                f"if not _DEC({var}): return None",
                # millionths without a Decimal: digits without the point, scaled by the places
                f"_p = {var}.find('.')",
                f"{out} = int({var}) * 1000000 if _p < 0 else "
                f"int({var}.replace('.', '')) * _SCALE[len({var}) - _p - 1]",
            ]
            if k.gt is not None:
                body += [f"if not {out} > {to_micros(Decimal(k.gt))}: return None"]
            if k.ge is not None:
                body += [f"if not {out} >= {to_micros(Decimal(k.ge))}: return None"]
        elif k.kind == "date":
            body += [
                f"if type({var}) is not str or not _ISO({var}): return None",
                "try:",
                f"    _d = _fromiso({var})",
                "except ValueError:",
                "    return None",
                f"{out} = " + ("_d" if dialect != "sqlite" else var),
            ]
        elif k.kind == "currency":
            body += [
                f"if type({var}) is not str: return None",
                f"{out} = {var}.strip().upper()",
                f"if len({out}) != 3 or not {out}.isascii() or not {out}.isalpha(): return None",
            ]
        elif k.kind == "enum":
            ns[f"_E_{target}"] = k.enum_values
            body += [f"if {var} not in _E_{target}: return None", f"{out} = {var}"]
        lines.append(f"    if {var} is None:")
        lines.append(f"        {'return None' if not k.optional else out + ' = None'}")
        lines.append("    else:")
        lines.extend("        " + b for b in body)

    row = []
    for col in columns:
        if col == "record_hash":
            row.append("h")
        elif col == "synced_at":
            row.append("synced_at")
        elif col == "source":
            row.append("_SOURCE")
        elif col in values:
            row.append(values[col])
        else:
            ns[f"_D_{col}"] = defaults[col]
            row.append(f"_D_{col}")
    lines.append(f"    return ({''.join(r + ', ' for r in row)})")
    for fn_lines in (key_lines, lines):
        code = "\n".join(fn_lines)
        exec(compile(code, f"<row builder {mapping.name}>", "exec"), ns)
    key: KeyFunction = ns["key"]
    build: RowBuilder = ns["build"]
    return key, build
