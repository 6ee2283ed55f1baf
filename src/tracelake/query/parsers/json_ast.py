"""The JSON AST (Braintrust's ``ParsedQuery``, btql.md §3.1–3.3) to and from ``ast.Query``.

This is the wire format SDKs send, so reading is strict where the schema is strict (unknown
query keys and unknown node keys are errors that name the key and where it was) and lenient
where SDKs differ: ``and``/``or`` come as ``children`` or as ``left``/``right``, a list-valued
filter means AND, ``null`` top-level values mean "absent", and ``{"btql": "text"}`` (with or
without ``"op": "btql"``) may stand for any expression. Writing always emits one canonical
form (``children`` for and/or, named arguments as ``{"expr", "alias"}`` after positional
ones), and ``query_from_json(query_to_json(q)) == q`` for every tree the parsers produce.
``loc`` keys are accepted on every node and ignored.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import fields

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers.btql import parse_expression
from tracelake.query.parsers.expressions import INTERVAL_UNITS, SHAPES

UNSUPPORTED_KEYS = (
    "infer", "comparison_key", "weighted_scores", "custom_columns", "inference_budget",
    "final_dimensions", "final_measures",
)  # fmt: skip
LOGICAL_OPS = ("and", "or")
MAX_DEPTH = 200


def _fail(path: str, message: str) -> QueryError:
    return QueryError(f"{path}: {message}")


def _too_deep(path: str, what: str) -> QueryError:
    """The error for a tree deeper than MAX_DEPTH, naming where it starts (the whole path
    would repeat ``.expr`` two hundred times)."""
    start = path if len(path) <= 60 else path[:60].rsplit(".", 1)[0] + "…"
    return _fail(start, f"{what} is nested more than {MAX_DEPTH} levels deep")


def _check_keys(obj: dict, allowed: tuple[str, ...], path: str) -> None:
    for key in obj:
        if key not in allowed and key != "loc":
            raise _fail(path, f"unknown key '{key}'")


def _int(value, path: str, minimum: int | None = None) -> int:
    """A whole JSON number: ``3.0`` is 3 (JSON does not tell them apart, and Python's
    ``json.dumps`` writes a float limit that way). One beyond 64 bits, which the request's
    JSON parser reads as a float, is that float's integer: too large for a limit or an
    interval, whose checks say so (``limit must be at most 100000``), where "expected an
    integer, got 1.2e+21" was wrong about what was sent."""
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or (minimum is not None and value < minimum):
        floor = "" if minimum is None else f" >= {minimum}"
        raise _fail(path, f"expected an integer{floor}, got {value!r}")
    return value


def _node_alias(obj: dict, path: str) -> str | None:
    """The ``alias`` an ident or function node may carry (Braintrust's AST schema has it):
    a select, dimension or measure item without an alias of its own is named by it; on a
    data source or inside an expression nothing refers to it."""
    alias = obj.get("alias")
    if alias is not None and (not isinstance(alias, str) or not alias):
        raise _fail(f"{path}.alias", f"expected a non-empty name, got {alias!r}")
    return alias


def _str(value, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"expected a string, got {value!r}")
    return value


def _list(value, path: str) -> list:
    if not isinstance(value, list):
        raise _fail(path, f"expected a list, got {type(value).__name__}")
    return value


def _json_value(value, path: str, depth: int = 0):
    if depth > MAX_DEPTH:
        raise _too_deep(path, "literal")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(path, "numbers must be finite")
        return value
    if isinstance(value, list):
        return [_json_value(v, path, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v, path, depth + 1) for k, v in value.items()}
    raise _fail(path, f"a literal must be a JSON value, got {type(value).__name__}")


def _in_snippet(value, snippet: str):
    """``value`` (a tree parsed from a ``{"btql": …}`` snippet) with every position marked
    as being in ``snippet``, so that errors found later name it (``filter.btql: unknown
    field 'x' at 2:2``) as the snippet's parse errors do."""
    if isinstance(value, ast.Loc):
        return dataclasses.replace(value, snippet=snippet)
    if isinstance(value, tuple):
        return tuple(_in_snippet(v, snippet) for v in value)
    if isinstance(value, ast.Expr):
        changes = {f.name: _in_snippet(getattr(value, f.name), snippet) for f in fields(value)}
        return dataclasses.replace(value, **changes)
    return value


# --- expressions: JSON -> tree -----------------------------------------------------------------


class _Reader:
    OPS: dict = {}

    def __init__(self):
        self.depth = 0

    def expr(self, obj, path: str) -> ast.Expr:
        if not isinstance(obj, dict):
            raise _fail(path, f"expected an expression object, got {type(obj).__name__}")
        if "btql" in obj and obj.get("op", "btql") == "btql":
            _check_keys(obj, ("btql", "op"), path)
            text = _str(obj["btql"], f"{path}.btql")  # (its error names the path once)
            try:
                expr = parse_expression(text)
            except QueryError as exc:
                raise QueryError(f"{path}.btql: {exc.detail}", exc.line, exc.col) from None
            return _in_snippet(expr, f"{path}.btql")
        op = obj.get("op")
        reader = self.OPS.get(op) if isinstance(op, str) else None
        if reader is None:
            raise _fail(path, f"unknown expression op {op!r}")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _too_deep(path, "expression")
        try:
            return reader(self, obj, path)
        finally:
            self.depth -= 1

    def literal(self, obj, path):
        _check_keys(obj, ("op", "value"), path)
        return ast.Literal(_json_value(obj.get("value"), f"{path}.value"))

    def interval(self, obj, path):
        _check_keys(obj, ("op", "value", "unit"), path)
        unit = _str(obj.get("unit"), f"{path}.unit").lower()
        if unit not in INTERVAL_UNITS and unit[:-1] in INTERVAL_UNITS and unit.endswith("s"):
            unit = unit[:-1]
        if unit not in INTERVAL_UNITS:
            raise _fail(f"{path}.unit", f"unknown interval unit {obj.get('unit')!r}")
        return ast.Interval(_int(obj.get("value"), f"{path}.value"), unit)

    def ident(self, obj, path):
        _check_keys(obj, ("op", "name", "alias"), path)
        _node_alias(obj, path)
        return ast.Ident(self.path_name(obj.get("name"), f"{path}.name"))

    @staticmethod
    def path_name(name, path) -> tuple[str | int, ...]:
        parts = _list(name, path)
        if not parts or not isinstance(parts[0], str):
            raise _fail(path, "a field path is a non-empty list starting with a name")
        for part in parts:
            if not isinstance(part, str) and type(part) is not int:
                raise _fail(path, f"path segments are names or integers, got {part!r}")
        return tuple(parts)

    def star(self, obj, path):
        if obj.get("replace") is not None:
            raise _fail(path, "star 'replace' is not supported")
        _check_keys(obj, ("op", "replace"), path)
        return ast.Star()

    def function(self, obj, path, allowed=("op", "name", "args", "duplicate_treatment", "alias")):
        _check_keys(obj, allowed, path)
        _node_alias(obj, path)
        name = self.function_name(obj.get("name"), f"{path}.name")
        args: list[ast.Expr] = []
        named: list[tuple[str, ast.Expr]] = []
        for i, arg in enumerate(_list(obj.get("args", []), f"{path}.args")):
            where = f"{path}.args[{i}]"
            if isinstance(arg, dict) and "expr" in arg and "op" not in arg:
                _check_keys(arg, ("expr", "alias"), where)
                key = _str(arg.get("alias"), f"{where}.alias").lower()
                named.append((key, self.expr(arg["expr"], f"{where}.expr")))
            else:
                args.append(self.expr(arg, where))
        treatment = obj.get("duplicate_treatment")
        if treatment not in (None, "Distinct", "All"):
            raise _fail(
                f"{path}.duplicate_treatment", f"expected 'Distinct' or 'All', got {treatment!r}"
            )
        return ast.Function(name, tuple(args), treatment == "Distinct", tuple(named))

    @staticmethod
    def function_name(name, path) -> str:
        if isinstance(name, str):
            return name.lower()
        if isinstance(name, dict) and name.get("op") == "ident":
            _check_keys(name, ("op", "name"), path)
            parts = _list(name.get("name"), f"{path}.name")
            if len(parts) == 1 and isinstance(parts[0], str):
                return parts[0].lower()
        raise _fail(path, 'a function name is {"op": "ident", "name": ["<name>"]}')

    def binary(self, obj, path):
        _check_keys(obj, ("op", "left", "right"), path)
        left = self.expr(obj.get("left"), f"{path}.left")
        return ast.Binary(obj["op"], left, self.expr(obj.get("right"), f"{path}.right"))

    def logical(self, obj, path):
        if "children" in obj:
            _check_keys(obj, ("op", "children"), path)
            items = _list(obj["children"], f"{path}.children")
            if not items:
                raise _fail(f"{path}.children", f"'{obj['op']}' needs at least one child")
            children = [self.expr(c, f"{path}.children[{i}]") for i, c in enumerate(items)]
        else:
            _check_keys(obj, ("op", "left", "right"), path)
            children = [self.expr(obj.get(k), f"{path}.{k}") for k in ("left", "right")]
        return ast.Logical(obj["op"], tuple(children))

    def unary(self, obj, path):
        _check_keys(obj, ("op", "expr"), path)
        return ast.Unary(obj["op"], self.expr(obj.get("expr"), f"{path}.expr"))

    def span_filter(self, obj, path):
        _check_keys(obj, ("op", "expr"), path)
        return ast.SpanFilter(obj["op"], self.expr(obj.get("expr"), f"{path}.expr"))

    def includes(self, obj, path):
        _check_keys(obj, ("op", "haystack", "needle"), path)
        haystack = self.expr(obj.get("haystack"), f"{path}.haystack")
        return ast.Includes(haystack, self.expr(obj.get("needle"), f"{path}.needle"))

    def if_(self, obj, path):
        _check_keys(obj, ("op", "conds", "else"), path)
        conds = []
        for i, item in enumerate(_list(obj.get("conds"), f"{path}.conds")):
            where = f"{path}.conds[{i}]"
            if not isinstance(item, dict):
                raise _fail(where, "expected {cond, then}")
            _check_keys(item, ("cond", "then"), where)
            cond = self.expr(item.get("cond"), f"{where}.cond")
            conds.append((cond, self.expr(item.get("then"), f"{where}.then")))
        if not conds:
            raise _fail(f"{path}.conds", "'if' needs at least one condition")
        other = obj.get("else")
        return ast.If(tuple(conds), None if other is None else self.expr(other, f"{path}.else"))


# op -> reader (built after the class: class-scope comprehensions cannot see its methods)
_Reader.OPS = {
    "literal": _Reader.literal,
    "interval": _Reader.interval,
    "ident": _Reader.ident,
    "star": _Reader.star,
    "function": _Reader.function,
    "includes": _Reader.includes,
    "if": _Reader.if_,
    **dict.fromkeys(ast.BINARY_OPS, _Reader.binary),
    **dict.fromkeys(LOGICAL_OPS, _Reader.logical),
    **dict.fromkeys(ast.UNARY_OPS, _Reader.unary),
    **dict.fromkeys(ast.SPAN_FILTER_OPS, _Reader.span_filter),
}


def expr_from_json(obj) -> ast.Expr:
    """Read one expression node.

    >>> expr_from_json({"op": "ident", "name": ["metadata", "model"]})
    Ident(name=('metadata', 'model'))
    """
    return _Reader().expr(obj, "expr")


# --- expressions: tree -> JSON -----------------------------------------------------------------


def _json_copy(value):
    if isinstance(value, list | tuple):
        return [_json_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    return value


def expr_to_json(e: ast.Expr) -> dict:
    """Write one expression node in the canonical JSON form."""
    writer = _WRITERS.get(type(e))
    if writer is None:
        raise TypeError(f"not an expression node: {e!r}")
    return writer(e)


def _function_to_json(e: ast.Function) -> dict:
    args = [expr_to_json(a) for a in e.args]
    args += [{"expr": expr_to_json(v), "alias": k} for k, v in e.named]
    out = {"op": "function", "name": {"op": "ident", "name": [e.name]}, "args": args}
    if e.distinct:
        out["duplicate_treatment"] = "Distinct"
    return out


def _if_to_json(e: ast.If) -> dict:
    out: dict = {
        "op": "if",
        "conds": [{"cond": expr_to_json(c), "then": expr_to_json(t)} for c, t in e.conds],
    }
    if e.else_ is not None:
        out["else"] = expr_to_json(e.else_)
    return out


_WRITERS = {
    ast.Literal: lambda e: {"op": "literal", "value": _json_copy(e.value)},
    ast.Interval: lambda e: {"op": "interval", "value": e.value, "unit": e.unit},
    ast.Ident: lambda e: {"op": "ident", "name": list(e.name)},
    ast.Star: lambda e: {"op": "star"},
    ast.Function: _function_to_json,
    ast.Binary: lambda e: {
        "op": e.op,
        "left": expr_to_json(e.left),
        "right": expr_to_json(e.right),
    },
    ast.Includes: lambda e: {
        "op": "includes",
        "haystack": expr_to_json(e.haystack),
        "needle": expr_to_json(e.needle),
    },
    ast.Logical: lambda e: {"op": e.op, "children": [expr_to_json(c) for c in e.children]},
    ast.Unary: lambda e: {"op": e.op, "expr": expr_to_json(e.expr)},
    ast.SpanFilter: lambda e: {"op": e.op, "expr": expr_to_json(e.expr)},
    ast.If: _if_to_json,
}


# --- queries -----------------------------------------------------------------------------------


def _aliased_from_json(reader: _Reader, item, path: str) -> ast.Aliased:
    if not isinstance(item, dict) or "expr" not in item:
        raise _fail(path, 'expected {"expr": ..., "alias": "name"}')
    _check_keys(item, ("expr", "alias"), path)
    alias = item.get("alias")
    node = item["expr"]
    if alias is None and isinstance(node, dict) and node.get("op") in ("ident", "function"):
        alias = _node_alias(node, f"{path}.expr")
    return ast.Aliased(
        reader.expr(node, f"{path}.expr"),
        None if alias is None else _str(alias, f"{path}.alias"),
    )


def _select_from_json(reader, value, path):
    items = []
    for i, item in enumerate(_list(value, path)):
        if isinstance(item, dict) and item.get("op") == "star":
            items.append(reader.star(item, f"{path}[{i}]"))
        elif (
            isinstance(item, dict)
            and isinstance(item.get("expr"), dict)
            and item["expr"].get("op") == "star"
            and item.get("alias") is None
        ):  # an AliasExpr holding the star: `*` too
            _check_keys(item, ("expr", "alias"), f"{path}[{i}]")
            items.append(reader.star(item["expr"], f"{path}[{i}].expr"))
        else:
            items.append(_aliased_from_json(reader, item, f"{path}[{i}]"))
    return tuple(items)


def _aliased_list_from_json(reader, value, path):
    return tuple(
        _aliased_from_json(reader, x, f"{path}[{i}]") for i, x in enumerate(_list(value, path))
    )


def _source_from_json(reader, value, path) -> ast.Source:
    if isinstance(value, dict) and value.get("op") == "ident":
        _check_keys(value, ("op", "name", "alias"), path)
        _node_alias(value, path)
        parts = _list(value.get("name"), f"{path}.name")
        if len(parts) != 1 or not isinstance(parts[0], str):
            raise _fail(f"{path}.name", "a data source name is a single name")
        return ast.Source(parts[0].lower())
    if isinstance(value, dict) and value.get("op") == "function":
        fn = reader.function(value, path, ("op", "name", "args", "shape", "alias"))
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = shape.lower()
        if shape is not None and shape not in SHAPES:
            raise _fail(f"{path}.shape", f"expected one of {', '.join(SHAPES)}, got {shape!r}")
        for key, arg in fn.named:  # `project_logs('<id>', shape => 'traces')`, as in text
            if key != "shape":
                raise _fail(f"{path}.args", f"unknown data source argument '{key}' (only shape)")
            word = arg.value if isinstance(arg, ast.Literal) else None
            if not isinstance(word, str) or word.lower() not in SHAPES:
                raise _fail(f"{path}.args", f"shape must be one of {', '.join(SHAPES)}")
            if shape is not None:
                raise _fail(f"{path}.args", "the shape is given twice")
            shape = word.lower()
        return ast.Source(fn.name, fn.args, shape)
    raise _fail(path, "expected an ident or function node")


def _filter_from_json(reader, value, path) -> ast.Expr | None:
    if isinstance(value, list):
        items = [reader.expr(x, f"{path}[{i}]") for i, x in enumerate(value)]
        if not items:
            return None
        return items[0] if len(items) == 1 else ast.Logical("and", tuple(items))
    return reader.expr(value, path)


def _sort_from_json(reader, value, path):
    items = []
    for i, item in enumerate(_list(value, path)):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or "expr" not in item:
            raise _fail(where, 'expected {"expr": ..., "dir": "asc" | "desc"}')
        _check_keys(item, ("expr", "dir"), where)
        direction = item.get("dir") or "asc"
        if not isinstance(direction, str) or direction.lower() not in ("asc", "desc"):
            raise _fail(f"{where}.dir", f"expected 'asc' or 'desc', got {direction!r}")
        items.append(ast.SortItem(reader.expr(item["expr"], f"{where}.expr"), direction.lower()))
    return tuple(items)


def _sample_from_json(reader, value, path) -> ast.Sample:
    if not isinstance(value, dict):
        raise _fail(path, "expected {method: {type, value}, seed?}")
    _check_keys(value, ("method", "seed"), path)
    method = value.get("method")
    if not isinstance(method, dict):
        raise _fail(f"{path}.method", "expected {type: 'rate' | 'count', value}")
    _check_keys(method, ("type", "value"), f"{path}.method")
    kind, amount = method.get("type"), method.get("value")
    if kind == "rate":
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount <= 1:
            raise _fail(f"{path}.method.value", f"a rate is a number in [0, 1], got {amount!r}")
    elif kind == "count":
        amount = _int(amount, f"{path}.method.value", minimum=1)
    else:
        raise _fail(f"{path}.method.type", f"expected 'rate' or 'count', got {kind!r}")
    seed = value.get("seed")
    return ast.Sample(kind, amount, None if seed is None else _int(seed, f"{path}.seed"))


def _unpivot_from_json(reader, value, path):
    items = []
    for i, item in enumerate(_list(value, path)):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or "expr" not in item:
            raise _fail(where, 'expected {"expr": ..., "alias": "name" | ["key", "value"]}')
        _check_keys(item, ("expr", "alias"), where)
        alias = item.get("alias")
        if isinstance(alias, list) and len(alias) == 2 and all(isinstance(a, str) for a in alias):
            alias = (alias[0], alias[1])
        elif not isinstance(alias, str):
            raise _fail(f"{where}.alias", "expected a name or a [key, value] pair of names")
        if "" in (alias if isinstance(alias, tuple) else (alias,)):
            raise _fail(f"{where}.alias", "a column name cannot be empty")
        items.append(ast.Unpivot(reader.expr(item["expr"], f"{where}.expr"), alias))
    return tuple(items)


# JSON key -> (Query field, reader)
_QUERY_READERS = {
    "select": ("select", _select_from_json),
    "dimensions": ("dimensions", _aliased_list_from_json),
    "measures": ("measures", _aliased_list_from_json),
    "pivot": ("pivot", _aliased_list_from_json),
    "unpivot": ("unpivot", _unpivot_from_json),
    "from": ("from_", _source_from_json),
    "filter": ("filter", _filter_from_json),
    "span_filter": ("span_filter", _filter_from_json),
    "trace_filter": ("trace_filter", _filter_from_json),
    "final_filter": ("final_filter", _filter_from_json),
    "sort": ("sort", _sort_from_json),
    "limit": ("limit", lambda r, v, p: _int(v, p, minimum=0)),
    "cursor": ("cursor", lambda r, v, p: _str(v, p)),
    "sample": ("sample", _sample_from_json),
    "preview_length": ("preview_length", lambda r, v, p: _int(v, p)),
}


def query_from_json(obj) -> ast.Query:
    """Read a ``ParsedQuery`` object (the ``query`` field of ``POST /btql``).

    >>> query_from_json({"select": [{"op": "star"}], "limit": 5}).limit
    5
    """
    if not isinstance(obj, dict):
        raise QueryError(f"a query object must be a JSON object, got {type(obj).__name__}")
    reader = _Reader()
    values = {}
    for key, value in obj.items():
        if key in UNSUPPORTED_KEYS:
            if value is None or value == []:  # (every key of the schema is nullish)
                continue
            raise QueryError(f"query key '{key}' is not supported")
        if key not in _QUERY_READERS:
            raise QueryError(f"unknown query key '{key}'")
        if value is None:
            continue
        name, read = _QUERY_READERS[key]
        values[name] = read(reader, value, key)
    if not any(values.get(k) for k in ("select", "dimensions", "measures")):
        raise QueryError("a query needs select, dimensions or measures")
    return ast.Query(**values, syntax="json")


def _aliased_to_json(item: ast.Aliased) -> dict:
    out = {"expr": expr_to_json(item.expr)}
    if item.alias is not None:
        out["alias"] = item.alias
    return out


def _source_to_json(source: ast.Source) -> dict:
    if not source.args and source.shape is None:
        return {"op": "ident", "name": [source.name]}
    out = {
        "op": "function",
        "name": {"op": "ident", "name": [source.name]},
        "args": [expr_to_json(a) for a in source.args],
    }
    if source.shape is not None:
        out["shape"] = source.shape
    return out


def _sample_to_json(sample: ast.Sample) -> dict:
    out: dict = {"method": {"type": sample.kind, "value": sample.value}}
    if sample.seed is not None:
        out["seed"] = sample.seed
    return out


_QUERY_WRITERS = {
    "select": lambda items: [
        {"op": "star"} if isinstance(i, ast.Star) else _aliased_to_json(i) for i in items
    ],
    "dimensions": lambda items: [_aliased_to_json(i) for i in items],
    "measures": lambda items: [_aliased_to_json(i) for i in items],
    "pivot": lambda items: [_aliased_to_json(i) for i in items],
    "unpivot": lambda items: [
        {
            "expr": expr_to_json(u.expr),
            "alias": u.alias if isinstance(u.alias, str) else list(u.alias),
        }
        for u in items
    ],
    "from_": _source_to_json,
    "filter": expr_to_json,
    "span_filter": expr_to_json,
    "trace_filter": expr_to_json,
    "final_filter": expr_to_json,
    "sort": lambda items: [{"expr": expr_to_json(s.expr), "dir": s.dir} for s in items],
    "limit": lambda v: v,
    "cursor": lambda v: v,
    "sample": _sample_to_json,
    "preview_length": lambda v: v,
}


def query_to_json(q: ast.Query) -> dict:
    """Write a query as a ``ParsedQuery`` object, omitting absent clauses."""
    out = {}
    for name, write in _QUERY_WRITERS.items():
        value = getattr(q, name)
        if value is not None:
            out["from" if name == "from_" else name] = write(value)
    return out
