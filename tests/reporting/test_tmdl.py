"""The TMDL parser: what it reads, and that it refuses what it does not understand."""

from __future__ import annotations

import pytest

from c2c_reporting.powerbi import POWERBI_DIR, PROJECT
from c2c_reporting.tmdl import TmdlError, parse, parse_folder

TABLE = """/// Users, one row each.
table 'fact user'
\tlineageTag: 1234

\t/// How many.
\tmeasure 'Buyer conversion' =
\t\t\tDIVIDE(
\t\t\t\t[Buyers],

\t\t\t\t[Users])
\t\tformatString: 0.0%

\t\tannotation c2c_sql = SELECT a = b FROM gold.x

\tcolumn is_buyer
\t\tdataType: boolean
\t\tisHidden
\t\tsourceColumn: is_buyer

\tpartition 'fact user' = m
\t\tmode: import
\t\tsource =
\t\t\t\tlet
\t\t\t\t    Source = 1
\t\t\t\tin
\t\t\t\t    Source
"""


def test_a_table_with_a_multiline_measure_a_flag_and_an_m_partition():
    (table,) = parse(TABLE)
    assert (table.kind, table.name, table.description) == (
        "table",
        "fact user",
        "Users, one row each.",
    )
    measure = table.all("measure")[0]
    assert measure.name == "Buyer conversion"
    assert measure.value == "DIVIDE(\n\t[Buyers],\n\n\t[Users])"
    assert measure.properties == {"formatString": "0.0%"}
    assert measure.annotations() == {"c2c_sql": "SELECT a = b FROM gold.x"}
    assert measure.description == "How many."
    column = table.all("column")[0]
    assert column.properties == {
        "dataType": "boolean",
        "isHidden": "true",
        "sourceColumn": "is_buyer",
    }
    partition = table.all("partition")[0]
    assert partition.value == "m"
    assert partition.properties["source"].splitlines() == [
        "let",
        "    Source = 1",
        "in",
        "    Source",
    ]


def test_quoted_names_unescape_quotes():
    (node,) = parse("table 'O''Brien''s'\n")
    assert node.name == "O'Brien's"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("table t\n    column c\n", "tabs"),
        ("table t\n\t\tcolumn c\n", "too deep"),
        ("\ttable t\n", "must not be indented"),
        ("table t\n\tmeasure m =\n\tcolumn c\n", "no value"),
        ("dataType: int64\n", "belongs to none"),
        ("table t\n\tthis is not tmdl\n", "cannot parse"),
    ],
)
def test_malformed_tmdl_is_an_error_with_its_line(text, message):
    with pytest.raises(TmdlError, match=message):
        parse(text, "x.tmdl")


def test_every_file_of_the_semantic_model_parses():
    nodes = parse_folder(POWERBI_DIR / f"{PROJECT}.SemanticModel" / "definition")
    kinds = {n.kind for n in nodes}
    assert {"model", "database", "table", "expression", "relationship"} <= kinds
    assert sum(1 for n in nodes if n.kind == "table") == 5
