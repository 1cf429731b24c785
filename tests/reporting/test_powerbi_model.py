"""The Power BI semantic model against the gold layer the pipeline produces (generator sample):
every table, column and field it refers to exists, and every measure has the value it should.

Each measure is computed three ways and must agree: its DAX (``c2c_reporting.dax`` over the rows
of ``bi_fact_user``), its SQL (annotation ``c2c_sql``, run by Spark on the local gold views),
and an independent computation in plain Python from ``gold.fact_users``' raw columns and the
README's definitions. A wrong DAX, a wrong SQL or a wrong view fails.
"""

from __future__ import annotations

import pytest

from c2c_etl import io, tables
from c2c_etl.gold.views import VIEWS_BY_NAME
from c2c_reporting.dax import Model, parse, references
from c2c_reporting.names import gold_names, local_resolver, rewrite_gold_names
from c2c_reporting.powerbi import load_model, report_fields

TMDL_TYPES = {"bigint": "int64", "int": "int64", "string": "string", "boolean": "boolean"}
TMDL_TYPES["double"] = "double"
MODEL = load_model()
MEASURES = MODEL.measures()
RELEASES = (None, "2020", "2024")


@pytest.fixture(scope="module")
def gold(spark, sample_gold):
    """(views by name, fact_users rows, bi_fact_user rows as dicts, name resolver)."""
    io.create_views(spark, sample_gold.cfg)
    views = {name: spark.table(name) for name in VIEWS_BY_NAME}
    fact = io.read(spark, sample_gold.cfg, tables.FACT_USERS).collect()
    bi_rows = [r.asDict() for r in views["bi_fact_user"].collect()]
    return views, fact, bi_rows, local_resolver(sample_gold.cfg)


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


def test_every_report_visual_field_exists_in_the_model():
    fields = report_fields()
    assert len(fields) > 30
    for path, kind, table, name in fields:
        assert table in MODEL.tables, path
        if kind == "Measure":
            assert name in MODEL.tables[table].measures, f"{path}: [{name}]"
        else:
            assert name in MODEL.tables[table].columns, f"{path}: {table}[{name}]"


def test_every_measure_has_sql_over_gold_names():
    for measure in MEASURES.values():
        assert gold_names(measure.sql) == {"bi_fact_user"}, measure.name


def _div(a: float, b: float) -> float | None:
    return None if not b else a / b


def independent(rows) -> dict[str, float | None]:
    """Each KPI from fact_users' raw columns, by the README's definitions."""
    n = len(rows)
    bought = [r for r in rows if r.products_bought > 0]
    top_bought = [r for r in rows if r.products_bought >= 10]
    sold = [r for r in rows if r.products_sold > 0]
    top_sold = [r for r in rows if r.products_sold >= 20]
    app_known = [r for r in rows if r.has_any_app is not None]
    login_known = [r for r in rows if r.days_since_last_login is not None]
    active = [r for r in login_known if r.days_since_last_login <= 365]
    engaged = [
        r
        for r in rows
        if (r.days_since_last_login is None or r.days_since_last_login <= 365)
        and (r.social_products_liked > 0 or r.products_wished > 0)
    ]
    transacting = [r for r in engaged if r.products_bought > 0 or r.products_sold > 0]
    app_buyers_known = [r for r in bought if r.has_any_app is not None]
    listed = sum(r.products_listed for r in rows)
    return {
        "Users": n,
        "Buyers": len(bought),
        "Top buyers": len(top_bought),
        "Sellers": len(sold),
        "Top sellers": len(top_sold),
        "Buyer conversion": _div(len(bought), n),
        "Seller conversion": _div(len(sold), n),
        "Top buyer share of buyers": _div(len(top_bought), len(bought)),
        "Users with app data": len(app_known),
        "App users": sum(1 for r in app_known if r.has_any_app),
        "App adoption": _div(sum(1 for r in app_known if r.has_any_app), len(app_known)),
        "iOS adoption": _div(sum(1 for r in app_known if r.has_ios_app), len(app_known)),
        "Android adoption": _div(sum(1 for r in app_known if r.has_android_app), len(app_known)),
        "App share of buyers": _div(
            sum(1 for r in app_buyers_known if r.has_any_app), len(app_buyers_known)
        ),
        "Funnel registered": n,
        "Funnel active": len(active),
        "Funnel liked or wished": len(engaged),
        "Funnel bought or sold": len(transacting),
        "Engaged to transacting": _div(len(transacting), len(engaged)),
        "Active rate": _div(len(active), len(login_known)),
        "Products bought": sum(r.products_bought for r in rows),
        "Products sold": sum(r.products_sold for r in rows),
        "Products listed": listed,
        "Sold per listed": _div(sum(r.products_sold for r in rows), listed),
        "Mean followers": _div(sum(r.social_nb_followers for r in rows), n),
    }


def test_the_independent_computation_covers_every_measure():
    assert set(independent([])) == set(MEASURES)


def same(a: float | None, b: float | None) -> bool:
    """Equal within float noise; BLANK (None) and 0 are the same figure on a report."""
    return abs(float(a or 0) - float(b or 0)) <= 1e-9 * max(1.0, abs(float(a or 0)))


@pytest.mark.parametrize("release", RELEASES, ids=lambda r: r or "all")
@pytest.mark.parametrize("name", sorted(MEASURES))
def test_measure_value_agrees_in_dax_sql_and_an_independent_computation(spark, gold, name, release):
    _, fact, bi_rows, resolve = gold
    measure = MEASURES[name]
    sql = rewrite_gold_names(measure.sql, resolve)
    if release:
        sql += f" WHERE release = '{release}'"
    from_sql = spark.sql(sql).first()[0]
    filters = [("fact_user", lambda r: r["release"] == release)] if release else []
    from_dax = Model({"fact_user": bi_rows}, {m.name: m.dax for m in MEASURES.values()}).measure(
        name, filters
    )
    expected = independent([r for r in fact if release is None or r.release == release])[name]
    assert same(from_dax, expected), f"DAX {from_dax} != expected {expected}"
    assert same(from_sql, expected), f"SQL {from_sql} != expected {expected}"


def test_funnel_measures_match_the_gold_funnel_table(gold):
    views, _, bi_rows, _ = gold
    model = Model({"fact_user": bi_rows}, {m.name: m.dax for m in MEASURES.values()})
    funnel = {
        r["stage"]: r["users"]
        for r in views["bi_engagement_funnel"].collect()
        if r["release"] == "all"
    }
    assert model.measure("Funnel registered") == funnel["registered"]
    assert model.measure("Funnel active") == funnel["active"]
    assert model.measure("Funnel liked or wished") == funnel["liked_or_wished"]
    assert model.measure("Funnel bought or sold") == funnel["bought_or_sold"]
