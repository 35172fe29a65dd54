"""Compiled row builders: the bulk-sync fast path from a raw record to a database row.

Why generated code: a bulk sync of a million invoices spends its time in per-field Python calls
(mapping, validation, type conversion for the driver). For a stream whose mapping and record type
use only plain scalar kinds, :func:`compile_row_builder` writes one Python function that does all of
it inline for a record and returns the row exactly as the generic path would store it. Anything the
builder is not sure about makes it return ``None``, and that record takes the generic path
(``RecordMapping.apply`` -> ``RecordValidator`` -> SQLAlchemy's bind processors), which stays the
reference; ``tests/test_fastpath.py`` checks with hypothesis that both produce identical rows and
hashes. The generated source embeds only model field names (Python identifiers) and ``repr()`` of
mapping strings, so a mapping file cannot inject code.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import BaseModel

from hub.mapping import FieldMap, RecordMapping, _as_list
from hub.store.schema import MONEY_SCALE, NATIVE_MICROS, db_micros, to_micros
from hub.validation import DECIMAL_TEXT, ISO_DATE, Declined, field_kind, model_list_converter, str_list_converter

#: ``key(raw) -> (mapped external id, content hash)``: cheap, for the unchanged-record check.
KeyFunction = Callable[[Any], tuple[Any, int]]
#: ``build(raw, hash, synced_at) -> row values in column order``, or None for "take the generic path".
RowBuilder = Callable[[Any, int, Any], tuple[Any, ...] | None]
#: ``key_build_page(rows, synced_at) -> [key_build(row, synced_at) for row in rows]``.
PageFunction = Callable[[Sequence[Any], Any], list[tuple[Any, int, tuple[Any, ...] | None]]]


class RowFunctions:
    """The compiled functions of one stream; ``key_build`` is ``key`` and ``build`` in one pass,
    ``ext`` the mapped external id alone, ``key_build_page`` ``key_build`` of every record of a page
    (the same triples, faster for pages of rows, see :class:`_PageBuilder`).

    Each is compiled when first used: a long mapping's functions take a few hundredths of a second
    each to compile, and a process uses only some of them (an import's reading process ``ext``).
    """

    def __init__(
        self,
        sources: dict[str, str],
        ns: dict[str, Any],
        name: str,
        page: Callable[[Callable[[Any, Any], Any]], PageFunction] | None,
    ) -> None:
        self._sources = sources
        self._ns = ns
        self._name = name
        self._page = page

    def _compiled(self, function: str) -> Any:
        exec(compile(self._sources[function], f"<row builder {self._name}: {function}>", "exec"), self._ns)
        return self._ns[function]

    @functools.cached_property
    def key(self) -> KeyFunction:
        return self._compiled("key")  # type: ignore[no-any-return]

    @functools.cached_property
    def build(self) -> RowBuilder:
        return self._compiled("build")  # type: ignore[no-any-return]

    @functools.cached_property
    def key_build(self) -> Callable[[Any, Any], tuple[Any, int, tuple[Any, ...] | None]]:
        return self._compiled("key_build")  # type: ignore[no-any-return]

    @functools.cached_property
    def ext(self) -> Callable[[Any], Any]:
        return self._compiled("ext")  # type: ignore[no-any-return]

    @functools.cached_property
    def key_build_page(self) -> PageFunction:
        if self._page is None:  # pages of dicts, or a mapping that needs the whole record: row by row
            return functools.partial(_each, self.key_build)
        return self._page(self.key_build)


_SUPPORTED = {"text", "money", "date", "currency", "enum"}
#: Kinds converted by the validator's own converters and the column's bind processor (needs ``bind``).
_CONVERTED = {"bool", "str_list", "model_list"}


def _decline() -> Any:
    raise Declined


def compile_row_builder(
    mapping: RecordMapping,
    model: type[BaseModel],
    source: str,
    columns: Sequence[str],
    *,
    dialect: str,
    defaults: dict[str, Any],
    header: Sequence[str] | None = None,
    hash_text: Callable[[str], int],
    hash_token: Callable[[Any], str],
    bind: Callable[[str, Any], Any] | None = None,
    max_lengths: dict[str, int] | None = None,
) -> RowFunctions | None:
    """The compiled functions for one stream, or None if its mapping or record type is unsupported.

    ``raw`` is a dict, or, when ``header`` is given, a list of values in header order.
    ``defaults`` holds the database value of every model field the mapping leaves out, already
    passed through the column's bind processor. ``columns`` must be model fields plus
    ``record_hash`` and ``synced_at``. ``bind(column, value)`` gives a value as the driver receives
    it; without it, fields of the kinds bool, str_list and model_list are unsupported. A text
    longer than its ``max_lengths`` entry is left to the general path (which quarantines it).
    """
    max_lengths = max_lengths or {}
    kinds = {}
    mapped_targets = {t for t, _ in mapping.plain_fields} | {f.target for f in mapping.computed_fields}
    for name in model.model_fields:
        if name == "source":
            continue
        if name in mapped_targets:
            kind = field_kind(name, model)
            if kind is None or not (kind.kind in _SUPPORTED or (kind.kind in _CONVERTED and bind is not None)):
                return None
            kinds[name] = kind
        elif name not in defaults:
            return None
    if set(columns) - set(model.model_fields) - {"record_hash", "synced_at"}:
        return None
    if header is not None and any("." in (f.source or "") for f in mapping.computed_fields):
        return None

    ns: dict[str, Any] = {
        "Declined": Declined,
        "_DEC": DECIMAL_TEXT.match,
        "_ISO": ISO_DATE.match,
        "_fromiso": dt.date.fromisoformat,
        "_SCALE": [10 ** (MONEY_SCALE - places) for places in range(MONEY_SCALE + 1)],
        "_WIDE": lambda micros: db_micros(micros, "sqlite"),
        "_hash_text": hash_text,
        "_tok": hash_token,
        "_TOK_NONE": hash_token(None),
        "_TOK_FALSE": hash_token(False),  # the commonest values that are not text, without a call
        "_TOK_EMPTY": hash_token([]),
        "_fv": RecordMapping.field_value,
        "_SOURCE": source,
        "_COMPUTED": mapping.computed_fields,
        "_DEFAULTS": defaults,
    }
    prelude = []
    if header is not None:
        position = {h: i for i, h in enumerate(header)}
    else:
        prelude.append("    g = raw.get")
    lines: list[str] = []
    var_lines: dict[str, list[str]] = {}

    def read(source_field: str) -> str:
        if header is None:
            return f"g({source_field!r})"
        return f"raw[{position[source_field]}]" if source_field in position else "None"

    mapped_names = []
    #: The header position each field is read from (None: no column, so the same in every row).
    var_position: dict[str, int | None] = {}
    for i, (target, src) in enumerate(mapping.plain_fields):
        var = f"m{i}"
        var_lines[var] = [f"    {var} = {read(src)}", f"    if {var} == '': {var} = None"]
        lines.extend(var_lines[var])
        mapped_names.append((target, var))
        var_position[var] = position.get(src) if header is not None else None
    uses_rd = False
    for j, f in enumerate(mapping.computed_fields):
        var = f"c{j}"
        # what _lookup finds in dict(zip(header, raw)): the column of that name, if the row has it
        # (a name twice in the header keeps _fv: which column wins depends on the row's length)
        plain = f.source if f.const is None and f.source and "." not in f.source else None
        if plain is not None and (header is None or list(header).count(plain) < 2):
            if header is None:
                source_value = f"g({plain!r})"
            elif plain in position:
                source_value = f"(raw[{position[plain]}] if len(raw) > {position[plain]} else None)"
            else:
                source_value = "None"
            if source_value == "None":  # no such column: the default, transformed once, in every row
                ns[f"_CONST{j}"] = RecordMapping.field_value(f, {})
                var_lines[var] = [f"    {var} = _CONST{j}"]
            else:
                var_lines[var] = _inline_field_value(f, j, var, source_value, ns)
            var_position[var] = position.get(plain) if header is not None else None
        else:
            var_lines[var] = [f"    {var} = _fv(_COMPUTED[{j}], {'rd' if header is not None else 'raw'})"]
            uses_rd = uses_rd or header is not None
        lines.extend(var_lines[var])
        mapped_names.append((f.target, var))
    if uses_rd:
        ns["_HEADER"] = list(header or ())
        prelude.append("    rd = dict(zip(_HEADER, raw))")
    ext_var = dict(mapped_names).get("external_id")
    if ext_var is None:
        return None
    lines.append(f"    m_ext = {ext_var}")
    reads = [*prelude, *lines]
    ext_reads = [*prelude, *var_lines[ext_var]]
    # The same text record_hash() builds from the mapped values, without a call per value.
    hash_expr = "_hash_text('\\x1f'.join((" + "".join(f"{_token(v)}, " for _, v in mapped_names) + "_SOURCE)))"
    lines = []

    values: dict[str, str] = {}
    check_lines: dict[str, list[str]] = {}
    for target, var in mapped_names:
        k = kinds[target]
        out = f"d_{target}"
        values[target] = out
        body: list[str] = []
        if k.kind == "text":
            # Padded text goes to pydantic (it trims less than str.strip() would): the ends tell.
            # (str.strip() removes exactly the characters str.isspace() accepts, from both ends, in
            # one call: a third of the cost of slicing and testing each end.)
            body += [f"if type({var}) is not str or {var}.strip() != {var}: FAIL"]
            if k.min_length:
                body += [f"if len({var}) < {k.min_length}: FAIL"]
            if target in max_lengths:
                body += [f"if len({var}) > {max_lengths[target]}: FAIL"]
            body += [f"{out} = {var}" + (" or None" if k.optional else "")]
        elif k.kind == "money":
            body += [
                f"if type({var}) is not str: FAIL",
                f"_m = {var}.strip()",  # (not {var} itself: the content hash is of the mapped value)
                "if not _DEC(_m): FAIL",
                # millionths without a Decimal: digits without the point, scaled by the places
                "_p = _m.find('.')",
                f"{out} = int(_m) * 1000000 if _p < 0 else int(_m.replace('.', '')) * _SCALE[len(_m) - _p - 1]",
            ]
            if k.gt is not None:
                body += [f"if not {out} > {to_micros(Decimal(k.gt))}: FAIL"]
            if k.ge is not None:
                body += [f"if not {out} >= {to_micros(Decimal(k.ge))}: FAIL"]
            if dialect == "sqlite":  # beyond SQLite's native range: a BLOB of digits (schema.db_micros)
                body += [f"if not -{NATIVE_MICROS} < {out} < {NATIVE_MICROS}: {out} = _WIDE({out})"]
        elif k.kind == "date":
            # a file holds few distinct dates: each text is checked once (bounded cache)
            body += [
                f"if type({var}) is not str: FAIL",
                f"_d = _DATES.get({var})",
                "if _d is None:",
                f"    if not _ISO({var}): FAIL",
                "    try:",
                f"        _d = _fromiso({var})",
                "    except ValueError:",
                "        FAIL",
                "    if len(_DATES) < 4096:",
                f"        _DATES[{var}] = _d",
                f"{out} = " + ("_d" if dialect != "sqlite" else var),
            ]
        elif k.kind == "currency":
            # and few distinct currencies (bounded cache of accepted texts)
            body += [
                f"if type({var}) is not str: FAIL",
                f"{out} = _CCYS.get({var})",
                f"if {out} is None:",
                f"    {out} = {var}.strip().upper()",
                f"    if len({out}) != 3 or not {out}.isascii() or not {out}.isalpha(): FAIL",
                "    if len(_CCYS) < 1024:",
                f"        _CCYS[{var}] = {out}",
            ]
        elif k.kind == "enum":
            ns[f"_E_{target}"] = k.enum_values
            body += [f"if {var}.__hash__ is None or {var} not in _E_{target}: FAIL", f"{out} = {var}"]
        elif k.kind in _CONVERTED:
            assert bind is not None
            ns[f"_CV_{target}"] = {
                "bool": lambda v: v if type(v) is bool else _decline(),
                "str_list": str_list_converter(),
                "model_list": model_list_converter(k.item_fields),
            }[k.kind]
            ns[f"_B_{target}"] = functools.partial(bind, target)
            convert = ["try:", f"    {out} = _B_{target}(_CV_{target}({var}))", "except Declined:", "    FAIL"]
            # The common values (False, True, an empty list) converted once, where the driver value
            # is a plain immutable one (a JSON text, not a psycopg wrapper): a JSON dump costs more
            # than the rest of a row.
            shortcuts: list[tuple[str, Any]] = [(f"{var} is False", False), (f"{var} is True", True)]
            if k.kind != "bool":
                shortcuts = [(f"type({var}) is list and not {var}", [])]
            for n, (test, sample) in enumerate(shortcuts):
                try:
                    cached = bind(target, ns[f"_CV_{target}"](sample))
                except Declined:
                    continue
                if type(cached) in (str, int, float, bool, type(None)):
                    ns[f"_K{n}_{target}"] = cached
                    body += [f"{'el' if len(body) else ''}if {test}:", f"    {out} = _K{n}_{target}"]
            if body:
                body += ["else:", *("    " + c for c in convert)]
            else:
                body += convert
        check_lines[var] = [
            f"    if {var} is None:",
            f"        {'FAIL' if not k.optional else out + ' = None'}",
            "    else:",
            *("        " + b for b in body),
        ]
        lines.extend(check_lines[var])

    # Once a record is valid, each field of these kinds holds a text (never empty) or None: its part of
    # the content hash is the value itself or the None mark, without the general expression's tests.
    checked_text = {"text", "money", "date", "currency", "enum"}
    valid_token = {v: f"{v} or _TOK_NONE" if kinds[t].kind in checked_text else _token(v) for t, v in mapped_names}
    valid_hash = "_hash_text('\\x1f'.join((" + "".join(f"{valid_token[v]}, " for _, v in mapped_names) + "_SOURCE)))"

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
    row_tuple = f"({''.join(r + ', ' for r in row)})"
    converts = "\n".join(lines)
    sources = {
        "key": "\n".join(["def key(raw):", *reads, f"    return m_ext, {hash_expr}"]),
        "ext": "\n".join(["def ext(raw):", *ext_reads, f"    return {ext_var}"]),
        "build": "\n".join(
            [
                "def build(raw, h, synced_at):",
                *reads,
                converts.replace("FAIL", "return None"),
                f"    return {row_tuple}",
            ]
        ),
        # key and build in one pass, for a first sync where every record is new
        # (the hash after the checks, where it is cheaper; a record that fails gets the general one)
        "key_build": "\n".join(
            [
                "def key_build(raw, synced_at):",
                *reads,
                converts.replace("FAIL", f"return m_ext, {hash_expr}, None"),
                f"    h = {valid_hash}",
                f"    return m_ext, h, {row_tuple}",
            ]
        ),
    }
    ns["_DATES"] = {}
    ns["_CCYS"] = {}
    page: Callable[[Callable[[Any, Any], Any]], PageFunction] | None = None
    if header is not None and not uses_rd:
        code_parts = _PageCode(
            mapped_names, var_position, var_lines, check_lines, valid_token, ext_var, hash_expr, row_tuple
        )
        width = len(header)

        def page(key_build: Callable[[Any, Any], Any]) -> PageFunction:
            ns["_KB"] = key_build
            return _PageBuilder(code_parts, ns, width, key_build, mapping.name)

    return RowFunctions(sources, ns, mapping.name, page)


def _each(key_build: Callable[[Any, Any], Any], rows: Sequence[Any], synced_at: Any) -> list[Any]:
    return [key_build(raw, synced_at) for raw in rows]


class _PageCode(NamedTuple):
    """The pieces of a stream's key_build, per field, from which page functions are written."""

    mapped_names: list[tuple[str, str]]
    var_position: dict[str, int | None]
    var_lines: dict[str, list[str]]
    check_lines: dict[str, list[str]]
    valid_token: dict[str, str]
    ext_var: str
    hash_expr: str
    row_tuple: str


class _PageBuilder:
    """``key_build`` of every row of a page, with the columns that hold one text (or nothing) in
    every row read, checked and hashed once for the page.

    Why: a page of bank receipts has 37 fields of which most are the same in every row (the
    statement, the account, the date, the status, and the many fields a bank leaves empty); the
    row builder spends most of its time on them. The columns are compared in C (``zip`` and
    ``tuple.count``); one function is compiled per set of constant columns (a stream has few), and
    it returns exactly the triples ``key_build`` returns: a row that fails a check gets
    ``key_build``'s own answer, and a page whose constant values fail gets ``key_build`` per row.
    """

    _MIN_ROWS = 64
    _MAX_SHAPES = 16

    def __init__(
        self, code: _PageCode, ns: dict[str, Any], width: int, key_build: Callable[[Any, Any], Any], name: str
    ) -> None:
        self.code = code
        self.ns = ns
        self.width = width
        self.key_build = key_build
        self.name = name
        self.compiled: dict[frozenset[int], Callable[..., list[Any] | None]] = {}

    def __call__(self, rows: Sequence[Any], synced_at: Any) -> list[tuple[Any, int, tuple[Any, ...] | None]]:
        if len(rows) < self._MIN_ROWS or set(map(len, rows)) != {self.width}:
            return [self.key_build(raw, synced_at) for raw in rows]
        constant = frozenset(i for i, column in enumerate(zip(*rows, strict=True)) if _same(column))
        function = self.compiled.get(constant)
        if function is None:
            if len(self.compiled) >= self._MAX_SHAPES:
                return [self.key_build(raw, synced_at) for raw in rows]
            function = self.compiled[constant] = self._compile(constant)
        out = function(rows, synced_at, rows[0])
        if out is None:  # a constant value fails: each row decides for itself
            return [self.key_build(raw, synced_at) for raw in rows]
        return out

    def _compile(self, constant: frozenset[int]) -> Callable[..., list[Any] | None]:
        c = self.code
        fixed = {v for _, v in c.mapped_names if c.var_position[v] is None or c.var_position[v] in constant}
        varying = [v for _, v in c.mapped_names if v not in fixed]
        lines = ["def page(rows, synced_at, first):", "    raw = first"]
        for _, v in c.mapped_names:
            if v in fixed:
                lines += c.var_lines[v]
        for _, v in c.mapped_names:
            if v in fixed:
                lines += [line.replace("FAIL", "return None") for line in c.check_lines[v]]
                lines.append(f"    t_{v} = {c.valid_token[v]}")
        lines += ["    out = []", "    append = out.append", "    for raw in rows:"]
        fail = "append(_KB(raw, synced_at)); continue"
        for v in varying:
            lines += ["    " + line for line in c.var_lines[v]]
        lines.append(f"        m_ext = {c.ext_var}")
        for v in varying:
            lines += ["    " + line.replace("FAIL", fail) for line in c.check_lines[v]]
        tokens = "".join(f"t_{v}, " if v in fixed else f"{c.valid_token[v]}, " for _, v in c.mapped_names)
        lines.append(f"        h = _hash_text('\\x1f'.join(({tokens}_SOURCE)))")
        lines.append(f"        append((m_ext, h, {c.row_tuple}))")
        lines.append("    return out")
        namespace = dict(self.ns)
        exec(compile("\n".join(lines), f"<row builder {self.name}: page>", "exec"), namespace)
        page: Callable[..., list[Any] | None] = namespace["page"]
        return page


def _same(column: tuple[Any, ...]) -> bool:
    """Every value of the column is None, or the same text, or False, or True, or an empty list.

    (Only a text equals a text, and only a list an empty list; but 0 equals False, so a column of
    booleans must hold nothing else.)
    """
    first = column[0]
    kind = type(first)
    if first is None or kind is str or (kind is list and not first):
        return column.count(first) == len(column)
    if kind is bool:
        return column.count(first) == len(column) and set(map(type, column)) == {bool}
    return False


def _token(var: str) -> str:
    """``hash_token(var)`` inline: the commonest values without a call."""
    return (
        f"{var} if type({var}) is str else _TOK_NONE if {var} is None else _TOK_FALSE if {var} is False "
        f"else _TOK_EMPTY if type({var}) is list and not {var} else _tok({var})"
    )


def _inline_field_value(f: FieldMap, j: int, var: str, source_value: str, ns: dict[str, Any]) -> list[str]:
    """``RecordMapping.field_value`` of a computed field with a plain source (``source_value``), inline."""
    ns[f"_DEF{j}"] = f.default
    lines = [f"    {var} = {source_value}", f"    if {var} == '' or {var} is None: {var} = _DEF{j}"]
    then = [f"        {var} = []"] if _as_list in f.transforms else []
    steps = []
    for n, fn in enumerate(f.transforms):
        ns[f"_T{j}_{n}"] = fn
        steps.append(f"        {var} = _T{j}_{n}({var})")
    # as field_value: an empty text left after the transforms (or a default of "") is no value
    steps.append(f"        if {var} == '': {var} = None")
    if then:
        lines += [f"    if {var} is None:", *then, "    else:", *steps]
    else:
        lines += [f"    if {var} is not None:", *steps]
    return lines
