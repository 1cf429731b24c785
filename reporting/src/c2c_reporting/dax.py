"""A small DAX evaluator for the measures of the semantic model, so tests can check them.

Power BI cannot run here, so the measures' DAX is evaluated in Python over the rows of the
table they live on (the ``bi_fact_user`` view, read from the local gold tables). It covers the
subset the model uses and raises :class:`DaxError` on anything else:

* literals (numbers, strings), ``TRUE()``, ``FALSE()``, ``BLANK()``;
* ``'table'[column]`` / ``table[column]`` in a row context, ``[Measure]`` references;
* ``+ - * /``, comparisons ``= <> < <= > >=``, ``&&``, ``||``, ``NOT``, ``ISBLANK``;
* ``COUNTROWS(table)``, ``SUM``/``AVERAGE``/``MIN``/``MAX``/``DISTINCTCOUNT(table[column])``;
* ``CALCULATE(expression, filter, ...)`` with boolean filters over one table's columns (filters
  are added to the context; no filter removal or ``ALL``);
* ``DIVIDE(numerator, denominator[, alternate])``.

BLANK follows DAX: aggregates over no value are BLANK, comparing BLANK with a number, boolean or
string compares 0, FALSE or "", and ``BLANK = TRUE()`` is false.
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


@dataclass
class Model:
    """Tables (rows as mappings) and measures (DAX text) to evaluate against."""

    tables: dict[str, Sequence[Row]]
    measures: dict[str, str]
    _parsed: dict[str, Ast] = field(default_factory=dict)

    def measure(self, name: str, filters: Sequence[tuple[str, Predicate]] = ()) -> Any:
        """A measure's value, optionally under filters ``(table, row predicate)``."""
        return self._eval(self._ast(name), list(filters), None)

    def _ast(self, name: str) -> Ast:
        if name not in self.measures:
            raise DaxError(f"no measure [{name}]")
        if name not in self._parsed:
            self._parsed[name] = parse(self.measures[name])
        return self._parsed[name]

    def _rows(self, table: str, filters: list[tuple[str, Predicate]]) -> list[Row]:
        if table not in self.tables:
            raise DaxError(f"no table {table!r}")
        keep = [p for t, p in filters if t == table]
        if len(keep) != len([t for t, _ in filters]):
            raise DaxError("filters on other tables need relationships, which are not supported")
        return [r for r in self.tables[table] if all(p(r) for p in keep)]

    def _filter(self, node: Ast) -> tuple[str, Predicate]:
        cols, measures, _ = references(node)
        names = {t for t, _ in cols}
        if len(names) != 1 or measures:
            raise DaxError("a CALCULATE filter must use the columns of exactly one table")
        table = names.pop()

        def predicate(row: Row) -> bool:
            return bool(self._eval(node, [], (table, row)))

        return table, predicate

    def _eval(self, node: Ast, filters: list[tuple[str, Predicate]], row: Any) -> Any:
        kind = node.kind
        if kind in ("num", "str"):
            return node.value
        if kind == "measure":
            return self._eval(self._ast(node.value), filters, None)
        if kind == "col":
            table, column = node.value
            if row is None or row[0] != table:
                raise DaxError(f"{table}[{column}] outside a row context of {table}")
            if column not in row[1]:
                raise DaxError(f"no column {table}[{column}]")
            return row[1][column]
        if kind == "op":
            return self._op(node, filters, row)
        if kind == "call":
            return self._call(node, filters, row)
        raise DaxError(f"cannot evaluate {node}")

    def _op(self, node: Ast, filters: list[tuple[str, Predicate]], row: Any) -> Any:
        values = [self._eval(a, filters, row) for a in node.args]
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

    def _call(self, node: Ast, filters: list[tuple[str, Predicate]], row: Any) -> Any:
        name, args = node.value, node.args
        if name in ("TRUE", "FALSE", "BLANK") and not args:
            return {"TRUE": True, "FALSE": False, "BLANK": None}[name]
        if name == "NOT" and len(args) == 1:
            return not self._eval(args[0], filters, row)
        if name == "ISBLANK" and len(args) == 1:
            return self._eval(args[0], filters, row) is None
        if name == "COUNTROWS" and len(args) == 1 and args[0].kind == "table":
            return len(self._rows(args[0].value, filters)) or None
        if name in ("SUM", "AVERAGE", "MIN", "MAX", "DISTINCTCOUNT") and len(args) == 1:
            if args[0].kind != "col":
                raise DaxError(f"{name} takes a column")
            table, _column = args[0].value
            values = [self._eval(args[0], filters, (table, r)) for r in self._rows(table, filters)]
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
            added = [self._filter(f) for f in args[1:]]
            return self._eval(args[0], [*filters, *added], None)
        if name == "DIVIDE" and len(args) in (2, 3):
            num, den = (self._eval(a, filters, row) for a in args[:2])
            if den is None or den == 0:
                return self._eval(args[2], filters, row) if len(args) == 3 else None
            return None if num is None else num / den
        raise DaxError(f"{name} with {len(args)} argument(s) is not supported")
