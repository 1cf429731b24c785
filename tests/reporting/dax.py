"""A small DAX evaluator for the measures of the semantic model, so tests can check them.

Power BI cannot run here, so the measures' DAX is evaluated in Python over the rows of the
model's tables (the gold views, read from the local gold tables). It follows the engine where
the measures depend on it, and raises :class:`DaxError` on anything outside this subset:

* literals (numbers, strings), ``TRUE()``, ``FALSE()``, ``BLANK()``;
* ``'table'[column]`` / ``table[column]`` in a row context, ``[Measure]`` references;
* ``+ - * /``, comparisons ``= <> < <= > >=``, ``&&``, ``||``, ``NOT``, ``ISBLANK``, ``IF``;
* ``COUNTROWS(table)``, ``SUM``/``AVERAGE``/``MIN``/``MAX``/``DISTINCTCOUNT(table[column])``,
  ``HASONEVALUE(table[column])``;
* ``CALCULATE(expression, filter, ...)``: a boolean filter over columns of one table *replaces*
  the filters on those columns (as the engine does without ``KEEPFILTERS``);
  ``REMOVEFILTERS(table)``, ``REMOVEFILTERS(table[column], ...)`` and ``ALL(...)`` as modifiers
  remove them;
* relationships: a filter on the one side of a many-to-one relationship filters the many side
  (single direction, as the model's relationships are); never the other way;
* ``DIVIDE(numerator, denominator[, alternate])``.

The filter context is a set of column filters; the rows of a table a measure sees are those
that pass the filters on its own columns and whose related rows pass theirs.

BLANK follows DAX: aggregates over no value are BLANK (``None``), never 0; comparing BLANK with
a number, boolean or string compares 0, FALSE or "", and ``BLANK = TRUE()`` is false.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"]|"")*")
  | (?P<quoted>'(?:[^']|'')*')
  | (?P<bracket>\[[^\]]+\])
  | (?P<op>&&|\|\||<=|>=|<>|[-+*/=<>(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
)""",
    re.VERBOSE,
)


class DaxError(ValueError):
    """DAX outside the supported subset, or a reference to something that does not exist."""


@dataclass(frozen=True)
class Ast:
    kind: str  # num, str, col, measure, table, call, op, not
    value: Any = None
    args: tuple[Ast, ...] = ()


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise DaxError(f"cannot read DAX at {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1].upper() != value.upper()):
            raise DaxError(f"expected {value or 'more'}, found {token}")
        self.i += 1
        return token

    def parse(self) -> Ast:
        node = self.binary(0)
        if self.peek() is not None:
            raise DaxError(f"unexpected {self.peek()}")
        return node

    LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("=", "<>", "<", "<=", ">", ">="),
        ("+", "-"),
        ("*", "/"),
    )

    def binary(self, level: int) -> Ast:
        if level == len(self.LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while (t := self.peek()) and t[0] == "op" and t[1] in self.LEVELS[level]:
            self.take()
            node = Ast("op", t[1], (node, self.binary(level + 1)))
        return node

    def unary(self) -> Ast:
        t = self.peek()
        if t and t == ("op", "-"):
            self.take()
            return Ast("op", "neg", (self.unary(),))
        return self.primary()

    def primary(self) -> Ast:
        kind, text = self.take()
        if kind == "number":
            return Ast("num", float(text))
        if kind == "string":
            return Ast("str", text[1:-1].replace('""', '"'))
        if kind == "bracket":
            return Ast("measure", text[1:-1])
        if (kind, text) == ("op", "("):
            node = self.binary(0)
            self.take(")")
            return node
        if kind == "quoted" or kind == "ident":
            name = text[1:-1].replace("''", "'") if kind == "quoted" else text
            nxt = self.peek()
            if kind == "ident" and nxt == ("op", "("):
                self.take("(")
                args: list[Ast] = []
                if self.peek() != ("op", ")"):
                    args.append(self.binary(0))
                    while self.peek() == ("op", ","):
                        self.take(",")
                        args.append(self.binary(0))
                self.take(")")
                return Ast("call", name.upper(), tuple(args))
            if nxt and nxt[0] == "bracket":
                self.take()
                return Ast("col", (name, nxt[1][1:-1]))
            return Ast("table", name)
        raise DaxError(f"unexpected {text!r}")


def parse(text: str) -> Ast:
    """The syntax tree of one DAX expression (raises :class:`DaxError`)."""
    return _Parser(text).parse()


def references(node: Ast) -> tuple[set[tuple[str, str]], set[str], set[str]]:
    """(columns as (table, column), measures, tables) an expression refers to."""
    cols: set[tuple[str, str]] = set()
    measures: set[str] = set()
    tables: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if n.kind == "col":
            cols.add(n.value)
        elif n.kind == "measure":
            measures.add(n.value)
        elif n.kind == "table":
            tables.add(n.value)
        stack.extend(n.args)
    return cols, measures, tables


def _coerce_blank(a: Any, b: Any) -> tuple[Any, Any]:
    def zero(other: Any) -> Any:
        if isinstance(other, bool):
            return False
        if isinstance(other, str):
            return ""
        return 0

    if a is None and b is not None:
        a = zero(b)
    elif b is None and a is not None:
        b = zero(a)
    return a, b


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class ColumnFilter:
    """A filter on some columns of one table: a row passes when ``predicate(row)`` holds."""

    table: str
    columns: frozenset[str]
    predicate: Predicate


Context = tuple[ColumnFilter, ...]


def where(table: str, column: str, *values: Any) -> ColumnFilter:
    """The filter a slicer or a visual's filter puts on one column: its value is one of these."""
    return ColumnFilter(table, frozenset({column}), lambda row: row[column] in values)


@dataclass
class Model:
    """Tables (rows as mappings), measures (DAX text) and many-to-one relationships
    ``("many_table.column", "one_table.column")`` to evaluate against."""

    tables: dict[str, Sequence[Row]]
    measures: dict[str, str]
    relationships: Sequence[tuple[str, str]] = ()
    _parsed: dict[str, Ast] = field(default_factory=dict)

    def measure(self, name: str, filters: Sequence[ColumnFilter] = ()) -> Any:
        """A measure's value under a filter context (slicers, a visual's axis and filters)."""
        context: Context = ()
        for f in filters:
            context = self._replace(context, f)
        return self._eval(self._ast(name), context, None)

    def _ast(self, name: str) -> Ast:
        if name not in self.measures:
            raise DaxError(f"no measure [{name}]")
        if name not in self._parsed:
            self._parsed[name] = parse(self.measures[name])
        return self._parsed[name]

    @staticmethod
    def _replace(context: Context, new: ColumnFilter) -> Context:
        kept = tuple(f for f in context if f.table != new.table or not (f.columns & new.columns))
        return (*kept, new)

    def _rows(self, table: str, context: Context) -> list[Row]:
        """The rows of ``table`` the context lets through, relationships followed."""
        if table not in self.tables:
            raise DaxError(f"no table {table!r}")
        own = [f.predicate for f in context if f.table == table]
        related: list[tuple[str, set[Any]]] = []
        for many, one in self.relationships:
            many_table, many_column = many.split(".")
            one_table, one_column = one.split(".")
            if many_table == table and any(f.table == one_table for f in context):
                keys = {r[one_column] for r in self._rows(one_table, context)}
                related.append((many_column, keys))
        return [
            r
            for r in self.tables[table]
            if all(p(r) for p in own) and all(r[c] in keys for c, keys in related)
        ]

    def _modifier(self, node: Ast, context: Context) -> Context:
        """``context`` after one CALCULATE filter argument."""
        if node.kind == "call" and node.value in ("REMOVEFILTERS", "ALL"):
            if len(node.args) == 1 and node.args[0].kind == "table":
                return tuple(f for f in context if f.table != node.args[0].value)
            if not node.args or any(a.kind != "col" for a in node.args):
                raise DaxError(f"{node.value} takes a table or columns")
            removed = {a.value for a in node.args}
            return tuple(f for f in context if not any((f.table, c) in removed for c in f.columns))
        cols, measures, _ = references(node)
        names = {t for t, _ in cols}
        if len(names) != 1 or measures:
            raise DaxError("a CALCULATE filter must use the columns of exactly one table")
        table = names.pop()

        def predicate(row: Row) -> bool:
            return bool(self._eval(node, (), (table, row)))

        return self._replace(context, ColumnFilter(table, frozenset(c for _, c in cols), predicate))

    def _eval(self, node: Ast, context: Context, row: Any) -> Any:
        kind = node.kind
        if kind in ("num", "str"):
            return node.value
        if kind == "measure":
            return self._eval(self._ast(node.value), context, None)
        if kind == "col":
            table, column = node.value
            if row is None or row[0] != table:
                raise DaxError(f"{table}[{column}] outside a row context of {table}")
            if column not in row[1]:
                raise DaxError(f"no column {table}[{column}]")
            return row[1][column]
        if kind == "op":
            return self._op(node, context, row)
        if kind == "call":
            return self._call(node, context, row)
        raise DaxError(f"cannot evaluate {node}")

    def _op(self, node: Ast, context: Context, row: Any) -> Any:
        values = [self._eval(a, context, row) for a in node.args]
        op = node.value
        if op == "neg":
            return None if values[0] is None else -values[0]
        a, b = values
        if op == "&&":
            return bool(a) and bool(b)
        if op == "||":
            return bool(a) or bool(b)
        if op in _COMPARE:
            return _COMPARE[op](*_coerce_blank(a, b))
        if op in ("+", "-"):
            if a is None and b is None:
                return None
            a, b = a or 0, b or 0
            return a + b if op == "+" else a - b
        if a is None or b is None:
            return None
        if op == "*":
            return a * b
        if b == 0:
            raise DaxError("division by zero: use DIVIDE")
        return a / b

    def _column_values(self, node: Ast, context: Context) -> list[Any]:
        if node.kind != "col":
            raise DaxError("this function takes a column")
        table, _ = node.value
        return [self._eval(node, context, (table, r)) for r in self._rows(table, context)]

    def _call(self, node: Ast, context: Context, row: Any) -> Any:
        name, args = node.value, node.args
        if name in ("TRUE", "FALSE", "BLANK") and not args:
            return {"TRUE": True, "FALSE": False, "BLANK": None}[name]
        if name == "NOT" and len(args) == 1:
            return not self._eval(args[0], context, row)
        if name == "ISBLANK" and len(args) == 1:
            return self._eval(args[0], context, row) is None
        if name == "IF" and len(args) in (2, 3):
            if self._eval(args[0], context, row):
                return self._eval(args[1], context, row)
            return self._eval(args[2], context, row) if len(args) == 3 else None
        if name == "COUNTROWS" and len(args) == 1 and args[0].kind == "table":
            return len(self._rows(args[0].value, context)) or None
        if name == "HASONEVALUE" and len(args) == 1:
            return len(set(self._column_values(args[0], context))) == 1
        if name in ("SUM", "AVERAGE", "MIN", "MAX", "DISTINCTCOUNT") and len(args) == 1:
            values = self._column_values(args[0], context)
            present = [v for v in values if v is not None]
            if name == "DISTINCTCOUNT":
                return len(set(values)) or None
            if not present:
                return None
            if name == "SUM":
                return sum(present)
            if name == "AVERAGE":
                return sum(present) / len(present)
            return min(present) if name == "MIN" else max(present)
        if name == "CALCULATE" and args:
            inner = context
            for f in args[1:]:
                inner = self._modifier(f, inner)
            return self._eval(args[0], inner, None)
        if name == "DIVIDE" and len(args) in (2, 3):
            num, den = (self._eval(a, context, row) for a in args[:2])
            if den is None or den == 0:
                return self._eval(args[2], context, row) if len(args) == 3 else None
            return None if num is None else num / den
        raise DaxError(f"{name} with {len(args)} argument(s) is not supported")
