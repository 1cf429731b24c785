"""The TMDL parser: what it reads, and that it refuses what it does not understand."""

from __future__ import annotations

import pytest

from c2c_reporting.powerbi import POWERBI_DIR, PROJECT
from c2c_reporting.tmdl import TmdlError, check_properties, parse, parse_folder

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
    assert sum(1 for n in nodes if n.kind == "table") == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("table t\n\tcolumn c\n\t\tdatatype: string\n", "no property 'datatype'"),
        ("table t\n\tcolumn c\n\t\tsummarizeBy: total\n", "'total' is not one of"),
        ("table t\n\tmeasure m = 1\n\t\tsourceColumn: m\n", "no property 'sourceColumn'"),
        ("table t\n\tpartition p = m\n\t\tmode: importing\n", "'importing'"),
        ("model Model\n\tdiscourageImplicitMeasure\n", "no property"),
    ],
)
def test_a_property_the_tmdl_reference_does_not_have_is_refused(text, message):
    with pytest.raises(TmdlError, match=message):
        check_properties(parse(text, "x.tmdl"))


def test_the_model_discourages_implicit_measures_and_sorts_ordered_categories():
    nodes = parse_folder(POWERBI_DIR / f"{PROJECT}.SemanticModel" / "definition")
    (model,) = [n for n in nodes if n.kind == "model"]
    assert model.properties.get("discourageImplicitMeasures") == "true"
    columns = {
        (t.name, c.name): c.properties for t in nodes if t.kind == "table" for c in t.all("column")
    }
    for table, column, order in [
        ("engagement_funnel", "stage", "stage_order"),
        ("user_segments", "activity_recency", "activity_recency_order"),
        ("user_segments", "engagement_level", "engagement_level_order"),
        ("user_segments", "buyer_segment", "buyer_segment_order"),
        ("dim_release", "release", "release_order"),
    ]:
        assert columns[(table, column)].get("sortByColumn") == order, column
        assert (table, order) in columns
    assert columns[("dim_country", "country_name")]["dataCategory"] == "Country"
    assert columns[("dim_country", "country_code")]["isHidden"] == "true"
    # 0-100 percentage columns are hidden: reports show the 0-1 measures formatted as percent.
    for (table, column), props in columns.items():
        if column.endswith("_pct") or column.startswith("pct_"):
            assert props.get("isHidden") == "true", f"{table}[{column}]"
