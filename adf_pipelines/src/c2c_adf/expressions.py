"""A small parser for ADF expressions (``@func(args).prop[index]``), and the functions allowed.

It covers the grammar the factory uses: a whole-value expression ``@...``, string
interpolation ``...@{...}...``, ``@@`` escapes, string/number/boolean literals, function calls,
property access (``.name``, ``['name']``, ``[0]``) and the ``?`` null-safe operator. It is used
by the tests to reject a typo before Azure does, and is kept small on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Functions of the ADF expression language this project allows (a subset of ADF's).
SUPPORTED_FUNCTIONS = frozenset(
    {
        # system
        "pipeline", "activity", "item", "dataset", "linkedService", "trigger", "triggerBody",
        "triggerOutputs", "variables",
        # logic and strings
        "and", "or", "not", "if", "equals", "greater", "less", "empty", "coalesce",
        "concat", "substring", "replace", "toLower", "toUpper", "startswith", "endswith",
        "length", "split", "last", "first", "string", "int", "json",
        # maths and dates
        "add", "sub", "utcnow", "formatDateTime", "addDays", "addHours",
    }
)  # fmt: skip


class ExpressionError(ValueError):
    """An expression that does not parse or calls a function that is not supported."""


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Member:
    target: Node
    key: Node  # a Literal name or index, or any expression inside [...]
    safe: bool = False


Node = Literal | Call | Member

_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<punct>\?\.|\?\[|[(),.\[\]]))"
)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"unexpected character at {pos} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'a token'} in {self.text!r}, got {token}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.expression()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()} in {self.text!r}")
        return node

    def expression(self) -> Node:
        kind, value = self.take()
        node: Node
        if kind == "number":
            node = Literal(float(value) if "." in value else int(value))
        elif kind == "string":
            node = Literal(value[1:-1].replace("''", "'"))
        elif (
            kind == "name" and value in ("true", "false", "null") and self.peek() != ("punct", "(")
        ):
            node = Literal({"true": True, "false": False, "null": None}[value])
        elif kind == "name":
            self.take("(")
            args: list[Node] = []
            if self.peek() != ("punct", ")"):
                args.append(self.expression())
                while self.peek() == ("punct", ","):
                    self.take(",")
                    args.append(self.expression())
            self.take(")")
            node = Call(value, tuple(args))
        else:
            raise ExpressionError(f"unexpected {value!r} in {self.text!r}")
        return self.members(node)

    def members(self, node: Node) -> Node:
        while (token := self.peek()) is not None and token[1] in (".", "?.", "[", "?["):
            self.take()
            safe = token[1].startswith("?")
            if token[1].endswith("."):
                kind, name = self.take()
                if kind != "name":
                    raise ExpressionError(f"expected a property name in {self.text!r}")
                node = Member(node, Literal(name), safe)
            else:
                node = Member(node, self.expression(), safe)
                self.take("]")
        return node


def parse_expression(text: str) -> Node:
    """Parse the body of an expression (the text after ``@``, or inside ``@{...}``)."""
    return _Parser(text).parse()


def expressions_in(value: str) -> list[str]:
    """The expression bodies in an ADF string value; empty when the value is a plain string."""
    if value.startswith("@@") or (not value.startswith("@") and "@{" not in value):
        return []
    if value.startswith("@") and not value.startswith("@{"):
        return [value[1:]]
    bodies: list[str] = []
    pos = 0
    while (start := value.find("@{", pos)) != -1:
        depth, end, quoted = 0, start + 2, False
        while end < len(value):
            char = value[end]
            if char == "'":
                quoted = not quoted
            elif not quoted and char == "{":
                depth += 1
            elif not quoted and char == "}":
                if depth == 0:
                    break
                depth -= 1
            end += 1
        if end >= len(value):
            raise ExpressionError(f"unclosed @{{ in {value!r}")
        bodies.append(value[start + 2 : end])
        pos = end + 1
    return bodies


def functions(node: Node) -> set[str]:
    """Every function a parsed expression calls."""
    if isinstance(node, Call):
        return {node.name}.union(*(functions(a) for a in node.args))
    if isinstance(node, Member):
        return functions(node.target) | functions(node.key)
    return set()


def check(value: str) -> list[Node]:
    """Parse every expression in a string value; fail on an unsupported function."""
    nodes = [parse_expression(body) for body in expressions_in(value)]
    for node in nodes:
        unknown = functions(node) - SUPPORTED_FUNCTIONS
        if unknown:
            raise ExpressionError(f"unsupported function(s) {sorted(unknown)} in {value!r}")
    return nodes


def strings(value: Any) -> list[str]:
    """Every string value in a JSON document (keys excluded)."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []
