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
* ``///`` description lines before an object;
* properties are checked against the TMDL reference: each object kind accepts the properties of
  its Tabular Object Model class (:data:`PROPERTIES`, camel-cased as TMDL writes them), and the
  enumerated ones only their documented values (:data:`VALUES`); a misspelt or invented property
  is an error here, as it is when Power BI deserializes the folder.
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
# The properties TMDL serializes for each object kind, from the TMDL reference and the Tabular
# Object Model classes it maps to (Model, Table, Column, Measure, Partition, Relationship,
# NamedExpression, ...). Only the kinds this project writes are listed; another kind is accepted
# with no property check only if it is in OBJECT_KINDS and has none listed here.
PROPERTIES: dict[str, frozenset[str]] = {
    "model": frozenset(
        {
            "culture",
            "collation",
            "dataAccessOptions",
            "defaultMode",
            "defaultDataView",
            "defaultPowerBIDataSourceVersion",
            "description",
            "discourageImplicitMeasures",
            "forceUniqueNames",
            "sourceQueryCulture",
            "storageLocation",
            "valueFilterBehavior",
        }
    ),
    "database": frozenset({"compatibilityLevel", "compatibilityMode", "language", "id", "name"}),
    "table": frozenset(
        {
            "lineageTag",
            "sourceLineageTag",
            "dataCategory",
            "description",
            "isHidden",
            "isPrivate",
            "showAsVariationsOnly",
            "excludeFromModelRefresh",
            "alternateSourcePrecedence",
            "systemManaged",
        }
    ),
    "column": frozenset(
        {
            "dataType",
            "formatString",
            "lineageTag",
            "sourceLineageTag",
            "summarizeBy",
            "sourceColumn",
            "expression",
            "isHidden",
            "isKey",
            "isNullable",
            "isUnique",
            "isDefaultLabel",
            "isDefaultImage",
            "isAvailableInMdx",
            "isNameInferred",
            "isDataTypeInferred",
            "dataCategory",
            "displayFolder",
            "sortByColumn",
            "description",
            "alignment",
            "tableDetailPosition",
            "sourceProviderType",
            "encodingHint",
            "keepUniqueRows",
            "type",
        }
    ),
    "measure": frozenset(
        {
            "formatString",
            "displayFolder",
            "lineageTag",
            "sourceLineageTag",
            "isHidden",
            "description",
            "dataCategory",
            "dataType",
            "detailRowsDefinition",
            "isSimpleMeasure",
            "kpi",
        }
    ),
    "partition": frozenset({"mode", "source", "queryGroup", "dataView", "description"}),
    "relationship": frozenset(
        {
            "fromColumn",
            "toColumn",
            "fromCardinality",
            "toCardinality",
            "crossFilteringBehavior",
            "isActive",
            "joinOnDateBehavior",
            "relyOnReferentialIntegrity",
            "securityFilteringBehavior",
        }
    ),
    "expression": frozenset(
        {"lineageTag", "sourceLineageTag", "queryGroup", "description", "kind"}
    ),
    "queryGroup": frozenset({"description", "folder"}),
    "annotation": frozenset(),
    "ref": frozenset(),
}
# Enumerated properties and the values the reference documents for them.
VALUES: dict[str, frozenset[str]] = {
    "dataType": frozenset(
        {"automatic", "string", "int64", "double", "decimal", "dateTime", "boolean", "binary"}
    ),
    "summarizeBy": frozenset(
        {"default", "none", "sum", "min", "max", "count", "average", "distinctCount"}
    ),
    "mode": frozenset({"import", "directQuery", "dual", "default", "push", "directLake"}),
    "fromCardinality": frozenset({"none", "one", "many"}),
    "toCardinality": frozenset({"none", "one", "many"}),
    "crossFilteringBehavior": frozenset({"oneDirection", "bothDirections", "automatic"}),
    "defaultPowerBIDataSourceVersion": frozenset({"powerBI_V1", "powerBI_V2", "powerBI_V3"}),
}
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


def check_properties(nodes: list[Node]) -> None:
    """Raise :class:`TmdlError` on a property its object kind does not have, or an enumerated
    property with a value the reference does not list."""
    for root in nodes:
        for node in root.walk():
            allowed = PROPERTIES.get(node.kind)
            if allowed is None:
                continue
            for key, value in node.properties.items():
                if key not in allowed:
                    raise TmdlError(f"{node.source}: {node.kind} has no property {key!r}")
                if key in VALUES and value not in VALUES[key]:
                    raise TmdlError(f"{node.source}: {key}: {value!r} is not one of its values")


def parse_file(path: Path) -> list[Node]:
    return parse(path.read_text(encoding="utf-8"), str(path))


def parse_folder(definition: Path) -> list[Node]:
    """Every ``.tmdl`` file under a semantic model's ``definition`` folder, in path order, with
    their properties checked (:func:`check_properties`)."""
    nodes = [n for p in sorted(definition.rglob("*.tmdl")) for n in parse_file(p)]
    check_properties(nodes)
    return nodes
