"""The Power BI project (PBIP) in ``reporting/powerbi``: where it is and what its model holds.

The semantic model's TMDL is the source (Power BI Desktop edits it); this module reads it with
:mod:`c2c_reporting.tmdl` for the tests and the deploy command: tables with the gold view each
one imports, columns with their source columns and types, measures with their DAX and the SQL
they correspond to (annotation ``c2c_sql``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from c2c_reporting.tmdl import Node, TmdlError, parse_folder

PROJECT = "C2CUsers"
POWERBI_DIR = Path(__file__).resolve().parents[2] / "powerbi"
SQL_ANNOTATION = "c2c_sql"
# The navigation step of a partition's M that picks the gold view.
_M_VIEW = re.compile(
    r'\{\[Name\s*=\s*"gold",\s*Kind\s*=\s*"Schema"\]\}\[Data\].*?'
    r'\{\[Name\s*=\s*"(\w+)"\]\}\[Data\]',
    re.S,
)


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    source_column: str


@dataclass(frozen=True)
class Measure:
    name: str
    dax: str
    sql: str
    format_string: str


@dataclass(frozen=True)
class ModelTable:
    name: str
    view: str
    columns: dict[str, Column]
    measures: dict[str, Measure]


@dataclass(frozen=True)
class SemanticModel:
    tables: dict[str, ModelTable]
    expressions: dict[str, str]
    relationships: list[tuple[str, str]]

    def measures(self) -> dict[str, Measure]:
        return {m.name: m for t in self.tables.values() for m in t.measures.values()}


def _table(node: Node) -> ModelTable:
    partitions = node.all("partition")
    if len(partitions) != 1:
        raise TmdlError(f"{node.source}: table {node.name} needs exactly one partition")
    source = partitions[0].properties.get("source", "")
    if "Databricks.Catalogs(Host, HttpPath" not in source:
        raise TmdlError(f"{node.source}: table {node.name} does not read the Databricks warehouse")
    match = _M_VIEW.search(source)
    if not match:
        raise TmdlError(f"{node.source}: table {node.name}: no gold view in its M source")
    columns = {
        c.name: Column(c.name, c.properties["dataType"], c.properties["sourceColumn"])
        for c in node.all("column")
    }
    measures = {}
    for m in node.all("measure"):
        sql = m.annotations().get(SQL_ANNOTATION)
        if not sql:
            raise TmdlError(f"{m.source}: measure {m.name} has no {SQL_ANNOTATION} annotation")
        measures[m.name] = Measure(m.name, m.value, sql, m.properties.get("formatString", ""))
    return ModelTable(node.name, match.group(1), columns, measures)


def load_model(root: Path = POWERBI_DIR) -> SemanticModel:
    """The semantic model of the project, parsed from its TMDL files."""
    nodes = parse_folder(root / f"{PROJECT}.SemanticModel" / "definition")
    tables = {n.name: _table(n) for n in nodes if n.kind == "table"}
    expressions = {n.name: n.value for n in nodes if n.kind == "expression"}
    relationships = [
        (n.properties["fromColumn"], n.properties["toColumn"])
        for n in nodes
        if n.kind == "relationship"
    ]
    return SemanticModel(tables, expressions, relationships)


def report_fields(root: Path = POWERBI_DIR) -> list[tuple[str, str, str, str]]:
    """Every field a report visual uses: (visual file, kind Column|Measure, table, name)."""
    found = []
    for path in sorted((root / f"{PROJECT}.Report" / "definition").rglob("visual.json")):
        document = json.loads(path.read_text())
        items: list[Any] = [document]
        nodes: list[dict[str, Any]] = []
        while items:
            item = items.pop()
            if isinstance(item, dict):
                nodes.append(item)
                items.extend(item.values())
            elif isinstance(item, list):
                items.extend(item)
        # A filter names its tables once (``From``: alias -> entity) and refers to the alias.
        aliases = {
            source["Name"]: source["Entity"]
            for node in nodes
            for source in node.get("From", [])
            if isinstance(source, dict) and "Entity" in source
        }
        for node in nodes:
            for kind in ("Column", "Measure"):
                ref = node.get(kind)
                if isinstance(ref, dict) and "Property" in ref:
                    source = ref["Expression"]["SourceRef"]
                    entity = source.get("Entity") or aliases[source["Source"]]
                    found.append((str(path), kind, entity, ref["Property"]))
    return found
