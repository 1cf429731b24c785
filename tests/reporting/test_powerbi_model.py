"""The Power BI semantic model against the gold layer the pipeline produces (generator sample):
every table, column and field it refers to exists, and every measure has the value it should.

The model imports aggregates only (``bi_user_segments`` and the ready-made views), never a row
per user. Each measure of the user segments is computed three ways and must agree: its DAX
(``tests.reporting.dax`` over the model's tables, relationships followed, under a release
slicer), its SQL (annotation ``c2c_sql``, run by Spark on the local gold views), and an
independent computation in plain Python from ``gold.fact_users``' raw columns and the README's
definitions. BLANK and 0 are different figures here, as on a report.
"""

from __future__ import annotations

import pytest

from c2c_etl import io, tables
from c2c_etl.gold.views import MIN_USERS_PER_FIGURE, VIEWS_BY_NAME
from c2c_reporting.names import gold_names, local_resolver, rewrite_gold_names
from c2c_reporting.powerbi import load_model, report_fields
from tests.reporting.dax import Model, parse, references, where

TMDL_TYPES = {
    "bigint": "int64",
    "int": "int64",
    "string": "string",
    "boolean": "boolean",
    "double": "double",
    "timestamp": "dateTime",
}
MODEL = load_model()
MEASURES = MODEL.measures()
SEGMENT_MEASURES = sorted(MODEL.tables["user_segments"].measures)
RELEASES = (None, "2020", "2024")


@pytest.fixture(scope="module")
def gold(spark, sample_gold):
    """(views by name, fact_users rows, the DAX model over the views' rows, name resolver)."""
    io.create_views(spark, sample_gold.cfg)
    views = {name: spark.table(name) for name in VIEWS_BY_NAME}
    fact = io.read(spark, sample_gold.cfg, tables.FACT_USERS).collect()
    rows = {t.name: [r.asDict() for r in views[t.view].collect()] for t in MODEL.tables.values()}
    dax = Model(rows, {m.name: m.dax for m in MEASURES.values()}, MODEL.relationships)
    return views, fact, dax, local_resolver(sample_gold.cfg)


def as_gold_pct(ratio: float | None, pct: float | None) -> bool:
    """A 0-1 measure against gold's 0-100 percentage rounded half up to 2 decimals."""
    if ratio is None or pct is None:
        return ratio is None and pct is None
    return abs(ratio * 100 - pct) <= 0.005 + 1e-9


def _release(release: str | None) -> list:
    return [where("dim_release", "release", release)] if release else []


def test_the_model_imports_no_user_level_view():
    assert {t.view for t in MODEL.tables.values()}.isdisjoint({"bi_fact_user"})
    for table in MODEL.tables.values():
        assert "identifier_hash" not in table.columns, table.name


def test_every_model_table_imports_a_gold_view_and_its_columns_exist_with_their_types(gold):
    views = gold[0]
    for table in MODEL.tables.values():
        assert table.view in views, f"{table.name} reads gold.{table.view}, which is not a view"
        real = {f.name: f.dataType.simpleString() for f in views[table.view].schema.fields}
        for column in table.columns.values():
            assert column.source_column in real, f"{table.name}[{column.name}]"
            assert TMDL_TYPES[real[column.source_column]] == column.data_type, column.name


def test_the_connection_is_parameterised_by_host_http_path_and_catalog():
    assert set(MODEL.expressions) == {"Host", "HttpPath", "CatalogName"}
    for value in MODEL.expressions.values():
        assert "IsParameterQuery=true" in value


def test_every_dax_and_relationship_reference_exists_in_the_model():
    for measure in MEASURES.values():
        cols, measures, tabs = references(parse(measure.dax))
        assert measures <= set(MEASURES), measure.name
        assert tabs <= set(MODEL.tables), measure.name
        for table, column in cols:
            assert column in MODEL.tables[table].columns, f"{measure.name}: {table}[{column}]"
    for ends in MODEL.relationships:
        for end in ends:
            table, column = end.split(".")
            assert column in MODEL.tables[table].columns, end


def test_release_is_a_dimension_every_release_grained_table_follows():
    related = {many.split(".")[0] for many, one in MODEL.relationships if one.startswith("dim_")}
    assert {"user_segments", "engagement_funnel", "seniority_cohorts"} <= related
    assert ("user_segments.release", "dim_release.release") in MODEL.relationships


def test_every_report_visual_field_exists_in_the_model():
    fields = report_fields()
    assert len(fields) > 30
    for path, kind, table, name in fields:
        assert table in MODEL.tables, path
        if kind == "Measure":
            assert name in MODEL.tables[table].measures, f"{path}: [{name}]"
        else:
            assert name in MODEL.tables[table].columns, f"{path}: {table}[{name}]"


def test_every_measure_has_sql_over_the_view_its_table_imports():
    for table in MODEL.tables.values():
        for measure in table.measures.values():
            assert gold_names(measure.sql) == {table.view}, measure.name


def _div(a: float, b: float) -> float | None:
    return None if not b else a / b


def _known(values: list) -> int | None:
    """A count over users whose attribute is known: BLANK when none of them is."""
    return sum(values) if values else None


def independent(rows) -> dict[str, float | None]:
    """Each KPI from fact_users' raw columns, by the README's definitions."""
    n = len(rows)
    bought = [r for r in rows if r.products_bought > 0]
    top_bought = [r for r in rows if r.products_bought >= 10]
    sold = [r for r in rows if r.products_sold > 0]
    top_sold = [r for r in rows if r.products_sold >= 20]
    app_known = [r for r in rows if r.has_any_app is not None]
    login_known = [r for r in rows if r.days_since_last_login is not None]
    active = _known([r.days_since_last_login <= 365 for r in login_known])
    app_users = _known([bool(r.has_any_app) for r in app_known])
    app_buyers_known = [r for r in bought if r.has_any_app is not None]
    listed = sum(r.products_listed for r in rows)
    followers = [r.social_nb_followers for r in rows if r.social_nb_followers is not None]
    return {
        "Users": n or None,
        "Buyers": len(bought),
        "Top buyers": len(top_bought),
        "Sellers": len(sold),
        "Top sellers": len(top_sold),
        "Buyer conversion": _div(len(bought), n),
        "Seller conversion": _div(len(sold), n),
        "Top buyer share of buyers": _div(len(top_bought), len(bought)),
        "Users with app data": len(app_known),
        "App users": app_users,
        "App adoption": _div(app_users or 0, len(app_known)),
        "iOS adoption": _div(sum(1 for r in app_known if r.has_ios_app), len(app_known)),
        "Android adoption": _div(sum(1 for r in app_known if r.has_android_app), len(app_known)),
        "App share of buyers": _div(
            sum(1 for r in app_buyers_known if r.has_any_app), len(app_buyers_known)
        ),
        "Active users": active,
        "Active rate": _div(active or 0, len(login_known)),
        "Products bought": sum(r.products_bought for r in rows),
        "Products sold": sum(r.products_sold for r in rows),
        "Products listed": listed,
        "Sold per listed": _div(sum(r.products_sold for r in rows), listed),
        "Mean followers": _div(sum(followers), len(followers)),
    }


def test_the_independent_computation_covers_every_segment_measure():
    assert set(independent([])) == set(SEGMENT_MEASURES)


def same(a: float | None, b: float | None) -> bool:
    """Equal within float noise; BLANK (None) equals only BLANK, never 0."""
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r or "both")
@pytest.mark.parametrize("name", SEGMENT_MEASURES)
def test_measure_value_agrees_in_dax_sql_and_an_independent_computation(spark, gold, name, release):
    _, fact, dax, resolve = gold
    sql = rewrite_gold_names(MEASURES[name].sql, resolve)
    if release:
        sql += f" WHERE release = '{release}'"
    from_sql = spark.sql(sql).first()[0]
    from_dax = dax.measure(name, _release(release))
    expected = independent([r for r in fact if release is None or r.release == release])[name]
    assert same(from_dax, expected), f"DAX {from_dax} != expected {expected}"
    assert same(from_sql, expected), f"SQL {from_sql} != expected {expected}"


def test_unknown_app_and_login_figures_of_2024_are_blank_not_zero(gold):
    dax = gold[2]
    assert dax.measure("Users with app data", _release("2024")) == 0
    for name in ("App users", "App adoption", "Active users", "Active rate"):
        assert dax.measure(name, _release("2024")) is None, name


def test_the_funnel_is_per_release_and_blank_when_releases_would_be_summed(gold):
    views, _, dax, _ = gold
    funnel = views["bi_engagement_funnel"].collect()
    for row in funnel:
        context = [
            *_release(row["release"]),
            where("engagement_funnel", "stage", row["stage"]),
            where("engagement_funnel", "stage_order", row["stage_order"]),
        ]
        assert dax.measure("Funnel users", context) == row["users"]
        share = dax.measure("Funnel share of registered", context)
        assert as_gold_pct(share, row["pct_of_registered"]), (share, row)
        both = [where("engagement_funnel", "stage", row["stage"])]
        assert dax.measure("Funnel users", both) is None, "two releases' funnels summed"
    for release in ("2020", "2024"):
        stages = sorted((r["stage_order"], r["users"]) for r in funnel if r["release"] == release)
        users = [u for _, u in stages]
        assert users == sorted(users, reverse=True), f"{release} funnel does not nest"


def test_country_app_adoption_is_blank_below_the_minimum_users(gold):
    views, _, dax, _ = gold
    rows = views["bi_app_adoption"].collect()
    assert {r["meets_minimum_users"] for r in rows} == {True, False}
    for row in rows:
        value = dax.measure(
            "Country iOS adoption", [where("dim_country", "country_code", row["country_code"])]
        )
        if row["users_with_app_data"] < MIN_USERS_PER_FIGURE:
            assert value is None, row["country_code"]
        else:
            assert as_gold_pct(value, row["ios_adoption_pct"]), row["country_code"]


def test_cohort_measures_follow_the_release_slicer(gold):
    views, _, dax, _ = gold
    for row in views["bi_seniority_cohorts"].collect():
        context = [
            *_release(row["release"]),
            where("seniority_cohorts", "seniority_days", row["seniority_days"]),
        ]
        assert dax.measure("Cohort users", context) == row["users"]
        rate = dax.measure("Cohort buyer rate", context)
        assert as_gold_pct(rate, row["buyer_rate_pct"]), (rate, row)


def test_reconciliation_and_quality_measures_match_their_views(gold):
    views, _, dax, _ = gold
    status = views["bi_reconciliation_status"].collect()
    for row in status:
        context = [where("reconciliation_figures", "report", row["report"])]
        assert dax.measure("Figures", context) == row["figures"]
        assert (dax.measure("Matching figures", context) or 0) == row["matching"]
        assert (dax.measure("Mismatching figures", context) or 0) == row["mismatching"]
    quality = views["bi_data_quality"].collect()
    assert dax.measure("Rows read") == sum(r["rows_read"] for r in quality)
    assert dax.measure("Unbalanced files") == 0
