"""The AI/BI dashboard's datasets run on the local gold tables (Spark SQL) and return rows, every
widget reads columns its dataset has, and the file has the shape Databricks' own dashboards use:
the widget spec versions of the current editor, a page type on every page, a global filter."""

from __future__ import annotations

import re

import pytest

from c2c_etl import io
from c2c_etl.gold.views import MIN_USERS_PER_FIGURE
from c2c_reporting.lakeview import dataset_sql, load, serialized_dashboard
from c2c_reporting.names import catalog_resolver, gold_names, local_resolver, rewrite_gold_names

DASHBOARD = load()
DATASETS = {d["name"]: d for d in DASHBOARD["datasets"]}
WIDGETS = [item["widget"] for page in DASHBOARD["pages"] for item in page["layout"]]
# The spec version of each widget type as the Lakeview editor writes it today (counter, bar,
# line and filters as in Databricks' bundle-examples dashboards; table v2 is the current table).
WIDGET_VERSIONS = {
    "counter": 2,
    "bar": 3,
    "line": 3,
    "table": 2,
    "filter-multi-select": 2,
    "filter-single-select": 2,
}
# A pseudo-column Lakeview provides to filter widgets (cross-filtering), not a dataset column.
LAKEVIEW_COLUMNS = {"associative_filter_predicate_group"}


@pytest.fixture(scope="module")
def results(spark, sample_gold):
    """Each dataset's result on the sample's gold: (column names, rows)."""
    io.create_views(spark, sample_gold.cfg)
    resolve = local_resolver(sample_gold.cfg)
    out = {}
    for name, dataset in DATASETS.items():
        df = spark.sql(rewrite_gold_names(dataset_sql(dataset), resolve))
        out[name] = (df.columns, [r.asDict() for r in df.collect()])
    return out


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_dataset_runs_on_the_local_gold_tables_and_returns_rows(results, name):
    _, rows = results[name]
    assert rows, f"dataset {name} returned no rows"
    assert all(any(v is not None for v in r.values()) for r in rows)


def test_every_widget_field_is_a_column_of_its_dataset(results):
    for widget in WIDGETS:
        names = set()
        for query in widget["queries"]:
            columns, _ = results[query["query"]["datasetName"]]
            for field in query["query"]["fields"]:
                for column in re.findall(r"`(\w+)`", field["expression"]):
                    assert column in columns or column in LAKEVIEW_COLUMNS, (
                        f"{widget['name']}: {column}"
                    )
                names.add(field["name"])
        encodings = widget["spec"]["encodings"]
        encoded = {
            f["fieldName"]
            for enc in encodings.values()
            for f in (enc.get("fields", [enc]) if isinstance(enc, dict) else enc)
            if "fieldName" in f
        }
        assert encoded <= names, widget["name"]


def test_widgets_pages_and_filters_have_the_current_format():
    for widget in WIDGETS:
        spec = widget["spec"]
        assert spec["version"] == WIDGET_VERSIONS[spec["widgetType"]], widget["name"]
        assert spec["frame"]["showTitle"] and spec["frame"]["title"], widget["name"]
    types = [p["pageType"] for p in DASHBOARD["pages"]]
    assert set(types) == {"PAGE_TYPE_CANVAS", "PAGE_TYPE_GLOBAL_FILTERS"}
    assert types.count("PAGE_TYPE_GLOBAL_FILTERS") == 1


def test_the_release_filter_reaches_every_dataset_with_a_release_that_adds_up(results):
    (page,) = [p for p in DASHBOARD["pages"] if p["pageType"] == "PAGE_TYPE_GLOBAL_FILTERS"]
    (release,) = [i["widget"] for i in page["layout"] if i["widget"]["name"] == "filter_release"]
    filtered = {q["query"]["datasetName"] for q in release["queries"]}
    with_release = {n for n, (columns, _) in results.items() if "release" in columns}
    assert filtered == with_release
    # The funnels have no release column to filter on: one dataset per release, never summed.
    assert not {"funnel_2020", "funnel_2024"} & with_release


@pytest.mark.parametrize("release", ["2020", "2024"])
def test_each_funnel_is_one_release_and_nests(results, release):
    _, rows = results[f"funnel_{release}"]
    users = [r["users"] for r in sorted(rows, key=lambda r: r["stage_order"])]
    assert users == sorted(users, reverse=True)
    assert ("active" in {r["stage"] for r in rows}) == (release == "2020")


def test_stacked_series_partition_their_total(results, spark):
    """A stacked bar adds its series: each user must be in exactly one of them."""
    _, apps = results["app_adoption"]
    adoption = {r["country_name"]: r for r in spark.table("bi_app_adoption").collect()}
    by_country: dict[str, int] = {}
    for row in apps:
        assert row["platform_users"] >= 0
        by_country[row["country_name"]] = (
            by_country.get(row["country_name"], 0) + row["platform_users"]
        )
    for country, total in by_country.items():
        assert total == adoption[country]["app_users"], country
        assert adoption[country]["users_with_app_data"] >= MIN_USERS_PER_FIGURE
    _, countries = results["countries"]
    kpis = {r["release"]: r["users"] for r in results["kpis"][1]}
    assert sum(r["users"] for r in countries) <= sum(kpis.values())


def test_ratios_are_ratios_of_sums_not_sums_of_ratios():
    for widget in WIDGETS:
        for query in widget["queries"]:
            for field in query["query"]["fields"]:
                summed_ratio = r"(SUM|AVG)\(`\w*(pct|rate|share|conversion)\w*`\)"
                assert not re.search(summed_ratio, field["expression"]), widget["name"]


def test_the_kpis_dataset_counts_every_user(results, spark):
    _, rows = results["kpis"]
    assert sum(r["users"] for r in rows) == spark.table("bi_fact_user").count()
    assert {r["release"] for r in rows} == {"2020", "2024"}


def test_no_dataset_reads_a_row_per_user():
    for name, dataset in DATASETS.items():
        sql = dataset_sql(dataset)
        assert "bi_fact_user" not in gold_names(sql), name
        assert "identifier_hash" not in sql, name


def test_the_checked_in_file_reads_the_dev_catalog_and_deploys_to_others():
    for dataset in DATASETS.values():
        assert set(re.findall(r"\b(c2c_\w+)\.gold\.", dataset_sql(dataset))) == {"c2c_dev"}
    assert "c2c_dev" not in serialized_dashboard("c2c_test")


def test_a_dataset_naming_something_gold_does_not_have_fails():
    with pytest.raises(KeyError, match=r"gold\.bi_nothing"):
        rewrite_gold_names("SELECT * FROM c2c_dev.gold.bi_nothing", catalog_resolver("c2c_dev"))
