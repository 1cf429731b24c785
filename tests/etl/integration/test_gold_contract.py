"""The gold contract (docs/gold_contract.md) and the BI views, against the schemas the pipeline
really produces on the generator's sample."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.config import cloud_config
from c2c_etl.gold.views import VIEWS, View, create_statement, render

CONTRACT = Path(__file__).resolve().parents[3] / "docs" / "gold_contract.md"
GOLD = [t for t in tables.ALL_TABLES if t.layer == tables.GOLD]


def documented() -> dict[str, list[tuple[str, str]]]:
    """``{'gold.fact_users': [(column, type), ...], 'view gold.bi_fact_user': [...]}``."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in CONTRACT.read_text().splitlines():
        if line.startswith("### "):
            current = line[4:].strip()
            sections[current] = []
        elif current and (m := re.match(r"^\| `(\w+)` \| ([^|]+?) \|", line)):
            sections[current].append((m.group(1), m.group(2).strip()))
    return sections


@pytest.fixture(scope="module")
def views(spark, sample_gold):
    io.create_views(spark, sample_gold.cfg)
    return {v.name: spark.table(v.name) for v in VIEWS}


def schema(df) -> list[tuple[str, str]]:
    return [(f.name, f.dataType.simpleString()) for f in df.schema.fields]


def test_the_contract_documents_exactly_the_gold_tables_and_views():
    expected = {f"gold.{t.name}" for t in GOLD} | {f"view gold.{v.name}" for v in VIEWS}
    assert set(documented()) == expected


@pytest.mark.parametrize("table", GOLD, ids=str)
def test_each_gold_table_has_the_documented_columns_and_types(spark, sample_gold, table):
    real = schema(io.read(spark, sample_gold.cfg, table))
    assert documented()[f"gold.{table.name}"] == real


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.name)
def test_each_view_has_the_documented_columns_and_types(views, view):
    assert documented()[f"view gold.{view.name}"] == schema(views[view.name])


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.name)
def test_each_view_returns_rows(views, view):
    assert views[view.name].count() > 0


def test_views_keep_the_totals_of_the_gold_tables(spark, sample_gold, views):
    fact = io.read(spark, sample_gold.cfg, tables.FACT_USERS)
    users = fact.count()
    assert views["bi_fact_user"].count() == users
    kpis = views["bi_country_kpis"].agg(F.sum("users"), F.sum("buyers")).first()
    assert kpis[0] == users
    assert kpis[1] == fact.filter("is_buyer").count()
    assert views["bi_dim_country"].count() == fact.select("country_code").distinct().count()


def test_funnel_stage_counts_as_the_gold_funnel_does(views):
    """Users at stage >= n in bi_fact_user are the gold funnel's nested stage counts."""
    fact = views["bi_fact_user"]
    funnel = {
        r["stage_order"]: r["users"]
        for r in views["bi_engagement_funnel"].filter("release = 'all'").collect()
    }
    assert fact.count() == funnel[1]
    assert fact.filter("funnel_stage >= 3").count() == funnel[3]
    assert fact.filter("funnel_stage >= 4").count() == funnel[4]
    assert fact.filter("is_active").count() == funnel[2]


def test_cloud_views_read_the_env_catalog():
    cfg = cloud_config("prod", "/Volumes/c2c_prod/ops/landing")
    view = next(v for v in VIEWS if v.name == "bi_fact_user")
    sql = create_statement(view, io.view_name(cfg, view), lambda t: io.sql_name(cfg, t))
    assert sql.startswith("CREATE OR REPLACE VIEW c2c_prod.gold.bi_fact_user COMMENT")
    assert "FROM c2c_prod.gold.fact_users" in sql


def test_a_view_naming_a_table_that_is_not_gold_fails():
    with pytest.raises(KeyError, match="users"):
        render(View("bi_x", "user", "SELECT * FROM {users}"), str)
