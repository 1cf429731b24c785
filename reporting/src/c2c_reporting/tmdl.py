"""A parser for the subset of TMDL (Tabular Model Definition Language) this project writes.

No maintained Python TMDL parser exists (PyPI and npm have model linters and generators, not a
parser to build on), so this one reads what the semantic model in ``reporting/powerbi`` uses,
and rejects what it does not understand instead of guessing:

* indentation by tabs only; an object's properties are one tab deeper than the object;
* objects ``<kind> [name] [= value]`` for the kinds in :data:`OBJECT_KINDS`; names bare or in
  single quotes (``''`` escapes a quote);
* properties ``key: value``, flags (``isHidden``), and expression properties ``key = value``;
* multi-line values: after ``... =`` at depth *d*, the lines at depth *d* + 2 or deeper (blank
  lines inside are kept), as TMDL writes DAX and M expressions;
* ``///`` description lines before an object.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

OBJECT_KINDS = frozenset(
    {
        "model",
        "database",
        "table",
        "column",
        "measure",
        "partition",
        "relationship",
        "expression",
        "annotation",
        "hierarchy",
        "level",
        "culture",
        "role",
        "perspective",
        "queryGroup",
        "ref",
        "dataSource",
        "calculationGroup",
        "calculationItem",
        "extendedProperty",
        "formatStringDefinition",
    }
)
_NAME = r"'(?:[^']|'')*'|[^\s=:'][^=:]*?"
_OBJECT = re.compile(rf"^(?P<kind>\w+)(?:\s+(?P<name>{_NAME}))?\s*(?:=\s*(?P<value>.*))?$")
_PROPERTY = re.compile(r"^(?P<key>\w+)\s*:\s*(?P<value>.*)$")
_EXPRESSION = re.compile(r"^(?P<key>\w+)\s*=\s*(?P<value>.*)$")
_FLAG = re.compile(r"^(?P<key>\w+)$")


class TmdlError(ValueError):
    """A line this parser does not understand, with its file and line number."""


@dataclass
class Node:
    """One TMDL object: its kind, name, value after ``=``, properties and child objects."""

    kind: str
    name: str = ""
    value: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    description: str = ""
    source: str = ""

    def all(self, kind: str) -> list[Node]:
        """Direct children of one kind."""
        return [c for c in self.children if c.kind == kind]

    def annotations(self) -> dict[str, str]:
        return {a.name: a.value for a in self.all("annotation")}

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


def unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == "'":
        return name[1:-1].replace("''", "'")
    return name


def _depth(line: str, where: str) -> int:
    stripped = line.lstrip("\t")
    if stripped.startswith(" "):
        raise TmdlError(f"{where}: indentation must be tabs")
    return len(line) - len(stripped)


def _block(lines: list[str], start: int, depth: int) -> tuple[str, int]:
    """The multi-line value starting at ``start``: lines at ``depth`` or deeper (and blank
    lines followed by such lines), dedented by ``depth`` tabs. Returns (text, next index)."""
    out: list[str] = []
    i = start
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            j = i
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and len(lines[j]) - len(lines[j].lstrip("\t")) >= depth:
                out.extend("" for _ in range(j - i))
                i = j
                continue
            break
        if len(line) - len(line.lstrip("\t")) < depth:
            break
        out.append(line[depth:].rstrip())
        i += 1
    return "\n".join(out), i


def parse(text: str, source: str = "<tmdl>") -> list[Node]:
    """The top-level objects of one TMDL document."""
    lines = text.splitlines()
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []
    description: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        where = f"{source}:{i + 1}"
        i += 1
        if not line.strip():
            continue
        depth = _depth(line, where)
        content = line.strip()
        if content.startswith("///"):
            description.append(content[3:].strip())
            continue
        while stack and stack[-1][0] >= depth:
            stack.pop()
        word = content.split(maxsplit=1)[0].rstrip(":")
        match = _OBJECT.match(content)
        if word in OBJECT_KINDS and match and not _PROPERTY.match(content):
            if stack and stack[-1][0] != depth - 1:
                raise TmdlError(f"{where}: {word} is indented too deep")
            if not stack and depth != 0:
                raise TmdlError(f"{where}: a top-level {word} must not be indented")
            value = (match["value"] or "").strip()
            if match["value"] is not None and not value:
                value, i = _block(lines, i, depth + 2)
                if not value:
                    raise TmdlError(f"{where}: {word} has '=' but no value")
            node = Node(
                kind=word,
                name=unquote(match["name"] or ""),
                value=value,
                description="\n".join(description),
                source=where,
            )
            description = []
            (stack[-1][1].children if stack else roots).append(node)
            stack.append((depth, node))
            continue
        if not stack or stack[-1][0] != depth - 1:
            raise TmdlError(f"{where}: {content!r} is not an object and belongs to none")
        owner = stack[-1][1]
        if prop := _PROPERTY.match(content):
            owner.properties[prop["key"]] = prop["value"].strip()
        elif expr := _EXPRESSION.match(content):
            value = expr["value"].strip()
            if not value:
                value, i = _block(lines, i, depth + 2)
            if not value:
                raise TmdlError(f"{where}: {expr['key']} has '=' but no value")
            owner.properties[expr["key"]] = value
        elif flag := _FLAG.match(content):
            owner.properties[flag["key"]] = "true"
        else:
            raise TmdlError(f"{where}: cannot parse {content!r}")
    return roots


def parse_file(path: Path) -> list[Node]:
    return parse(path.read_text(encoding="utf-8"), str(path))


def parse_folder(definition: Path) -> list[Node]:
    """Every ``.tmdl`` file under a semantic model's ``definition`` folder, in path order."""
    return [n for p in sorted(definition.rglob("*.tmdl")) for n in parse_file(p)]
