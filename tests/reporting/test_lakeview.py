"""The AI/BI dashboard's datasets run on the local gold tables (Spark SQL) and return rows, and
every widget reads columns its dataset has."""

from __future__ import annotations

import re

import pytest

from c2c_etl import io
from c2c_reporting.lakeview import dataset_sql, load, serialized_dashboard
from c2c_reporting.names import catalog_resolver, local_resolver, rewrite_gold_names

DASHBOARD = load()
DATASETS = {d["name"]: d for d in DASHBOARD["datasets"]}


@pytest.fixture(scope="module")
def results(spark, sample_gold):
    """Each dataset's result on the sample's gold: (column names, rows)."""
    io.create_views(spark, sample_gold.cfg)
    resolve = local_resolver(sample_gold.cfg)
    out = {}
    for name, dataset in DATASETS.items():
        df = spark.sql(rewrite_gold_names(dataset_sql(dataset), resolve))
        out[name] = (df.columns, df.collect())
    return out


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_each_dataset_runs_on_the_local_gold_tables_and_returns_rows(results, name):
    _, rows = results[name]
    assert rows, f"dataset {name} returned no rows"
    assert all(any(v is not None for v in r) for r in rows)


def test_every_widget_field_is_a_column_of_its_dataset(results):
    widgets = [item["widget"] for page in DASHBOARD["pages"] for item in page["layout"]]
    for widget in widgets:
        for query in widget["queries"]:
            columns, _ = results[query["query"]["datasetName"]]
            for field in query["query"]["fields"]:
                for column in re.findall(r"`(\w+)`", field["expression"]):
                    assert column in columns, f"{widget['name']}: {column}"
            encoded = {
                f["fieldName"]
                for enc in widget["spec"]["encodings"].values()
                for f in (enc.get("fields", [enc]) if isinstance(enc, dict) else enc)
            }
            assert encoded <= {f["name"] for f in query["query"]["fields"]}, widget["name"]


def test_the_kpis_dataset_counts_every_user(results, spark, sample_gold):
    columns, (row,) = results["kpis"]
    kpis = dict(zip(columns, row, strict=True))
    assert kpis["users"] == spark.table("bi_fact_user").count()
    assert 0 < kpis["buyer_conversion"] < 1


def test_the_checked_in_file_reads_the_dev_catalog_and_deploys_to_others():
    for dataset in DATASETS.values():
        assert set(re.findall(r"\b(c2c_\w+)\.gold\.", dataset_sql(dataset))) == {"c2c_dev"}
    assert "c2c_dev" not in serialized_dashboard("c2c_test")


def test_a_dataset_naming_something_gold_does_not_have_fails():
    with pytest.raises(KeyError, match=r"gold\.bi_nothing"):
        rewrite_gold_names("SELECT * FROM c2c_dev.gold.bi_nothing", catalog_resolver("c2c_dev"))
