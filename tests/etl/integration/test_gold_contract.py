"""The gold contract (docs/gold_contract.md) and the BI views, against the schemas the pipeline
really produces on the generator's sample."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.config import cloud_config
from c2c_etl.gold.views import ALL_VIEWS, GOLD_VIEWS, VIEWS, View, create_statement, render

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


@pytest.mark.parametrize("release", ["2020", "2024"])
def test_funnel_stage_counts_as_the_gold_funnel_does(views, release):
    """Users at stage >= n in bi_fact_user are the gold funnel's nested stage counts."""
    fact = views["bi_fact_user"].filter(F.col("release") == release)
    funnel = {
        r["stage_order"]: r["users"]
        for r in views["bi_engagement_funnel"].filter(F.col("release") == release).collect()
    }
    assert fact.count() == funnel[1]
    assert fact.filter("funnel_stage >= 3").count() == funnel[3]
    assert fact.filter("funnel_stage >= 4").count() == funnel[4]
    if release == "2020":
        assert fact.filter("funnel_stage >= 2").count() == funnel[2]
    else:
        assert 2 not in funnel


def test_the_funnel_has_one_funnel_per_release_and_nests(views):
    rows = views["bi_engagement_funnel"].orderBy("release", "stage_order").collect()
    assert {r["release"] for r in rows} == {"2020", "2024"}
    for release in ("2020", "2024"):
        users = [r["users"] for r in rows if r["release"] == release]
        assert users == sorted(users, reverse=True), release


def test_user_segments_sum_to_the_fact(spark, sample_gold, views):
    fact = views["bi_fact_user"]
    sums = (
        views["bi_user_segments"]
        .agg(F.sum("users"), F.sum("buyers"), F.sum("app_users"), F.sum("products_sold"))
        .first()
    )
    assert list(sums) == [
        fact.count(),
        fact.filter("is_buyer").count(),
        fact.filter("has_any_app").count(),
        fact.agg(F.sum("products_sold")).first()[0],
    ]


def test_release_dimension_says_which_release_measures_logins_and_apps(views):
    releases = {r["release"]: r for r in views["bi_dim_release"].collect()}
    assert set(releases) == {"2020", "2024"}
    assert releases["2020"]["has_login_data"] and not releases["2024"]["has_login_data"]
    assert releases["2020"]["has_app_data"] and not releases["2024"]["has_app_data"]


def test_data_quality_views_publish_the_row_accounting(views):
    quality = views["bi_data_quality"].collect()
    assert quality and all(r["unbalanced_files"] == 0 for r in quality)
    assert all(
        r["rows_read"] == r["rows_to_silver"] + r["rows_quarantined"] + r["rows_duplicate"]
        for r in quality
    )
    assert views["bi_quarantine_by_rule"].count() > 0


def test_reconciliation_figures_are_the_rows_behind_the_status(views):
    figures = views["bi_reconciliation_figures"]
    status = views["bi_reconciliation_status"].agg(F.sum("figures"), F.sum("matching")).first()
    assert figures.count() == status[0]
    assert figures.filter("matches").count() == status[1]


def test_cloud_views_read_the_env_catalog():
    cfg = cloud_config("prod", "/Volumes/c2c_prod/ops/landing")
    view = next(v for v in VIEWS if v.name == "bi_fact_user")
    sql = create_statement(view, io.view_name(cfg, view), lambda t: io.sql_name(cfg, t))
    assert sql.startswith("CREATE OR REPLACE VIEW c2c_prod.gold.bi_fact_user COMMENT")
    assert "FROM c2c_prod.gold.fact_users" in sql


def test_a_view_naming_a_table_that_is_not_gold_fails():
    with pytest.raises(KeyError, match="users"):
        render(View("bi_x", "user", "SELECT * FROM {users}"), str)


def test_only_the_user_fact_reads_silver_users():
    fact = GOLD_VIEWS[tables.FACT_USERS]
    assert fact.table_placeholders() == {"users"}
    assert render(fact, str).endswith("FROM silver.users")
    others = [v for v in (*GOLD_VIEWS.values(), *VIEWS) if v is not fact]
    assert all("users" not in v.table_placeholders() for v in others)


def test_only_silver_audit_and_quarantine_are_published_by_views():
    used = {p for v in VIEWS for p in v.table_placeholders()}
    assert used - {t.name for t in GOLD} == {"run_audit", "quarantine"}


def test_every_gold_view_name_has_its_sql_under_that_name():
    assert set(GOLD_VIEWS) == set(tables.VIEW_TABLES)
    assert all(view.name == table.name for table, view in GOLD_VIEWS.items())


def test_in_the_cloud_gold_views_read_the_catalog_and_come_before_the_views_over_them():
    cfg = cloud_config("prod", "/Volumes/c2c_prod/ops/landing")
    view = GOLD_VIEWS[tables.AGG_APP_ADOPTION]
    sql = create_statement(view, io.view_name(cfg, view), lambda t: io.sql_name(cfg, t))
    assert sql.startswith(
        "CREATE OR REPLACE VIEW c2c_prod.gold.agg_app_adoption COMMENT "
        "'Gold aggregate of agg_user_counts; one row per country code"
    )
    assert "FROM c2c_prod.gold.agg_user_counts" in sql
    assert "JOIN c2c_prod.gold.dim_country" in sql
    order = [v.name for v in ALL_VIEWS]
    gold_views = {t.name for t in tables.VIEW_TABLES}
    reads = [(p, v.name) for v in ALL_VIEWS for p in v.table_placeholders() if p in gold_views]
    assert reads, "no BI view reads a gold view: the order is not tested"
    assert all(order.index(read) < order.index(reader) for read, reader in reads)
