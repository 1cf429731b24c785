"""The jobs use only the DataFrame and SQL APIs (no RDD, no SparkContext, no Delta Python
client), which Databricks serverless jobs and shared clusters require.

Proved by running the pipeline as a client of a local Spark Connect server, where anything
else fails; and kept so by a static check of the package's code.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from c2c_etl import lake_state
from c2c_etl.config import local_config
from tests.conftest import REPO
from tests.etl.cluster.compare import ALL_SUCCEEDED, step_statuses
from tests.etl.cluster.spark_services import connect_service, run_to_end, spark_env
from tests.etl.helpers import assert_same_gold

DRIVER = Path(__file__).with_name("run_pipeline.py")
PACKAGE = REPO / "etl" / "src" / "c2c_etl"


@pytest.fixture(scope="module")
def connect_url(spark):
    """A Spark Connect service in the session's JVM (Delta and the local run's settings)."""
    with connect_service(spark) as url:
        yield url


def run_through_connect(url: str, landing: str, lake: Path, folder: Path, name: str):
    facts_file = folder / f"{name}.json"
    command = [sys.executable, str(DRIVER), str(facts_file), "--spark-remote", url]
    command += ["--env", "local", "--input", landing, "--lake", str(lake)]
    run = run_to_end(command, folder / f"{name}.log", spark_env())
    assert run.returncode == 0, run.output[-6000:]
    return json.loads(facts_file.read_text()), step_statuses(run.output)


def test_the_pipeline_on_spark_connect_builds_the_same_gold_and_reruns_as_a_no_op(
    spark, sample_gold, connect_url, tmp_path
):
    landing = sample_gold.cfg.landing_path  # the generator's sample, run locally by the fixture
    lake = tmp_path / "lake"
    facts, steps = run_through_connect(connect_url, landing, lake, tmp_path, "first")
    assert facts["session"] == "pyspark.sql.connect.session.SparkSession"
    assert steps == ALL_SUCCEEDED
    cfg = local_config(landing, lake)
    assert_same_gold(spark, sample_gold.cfg, cfg)

    # Every table's newest commit, read from the Delta logs on disk (no Spark job): a rerun
    # that committed anything to any table shows as a newer version or a new table.
    before = lake_state.table_versions(str(lake))
    assert "gold/agg_user_counts" in before
    _, steps = run_through_connect(connect_url, landing, lake, tmp_path, "rerun")
    assert set(steps.values()) == {"skipped"}
    assert lake_state.table_versions(str(lake)) == before


# Attributes and names that need a classic session's JVM or Delta's Python client, which
# Spark Connect (and so Databricks serverless and shared clusters) does not have.
CLASSIC_ONLY = {"rdd", "sparkContext", "_jvm", "_jsc", "_jdf", "_jsparkSession", "DeltaTable"}
# spark.py's local builder sets the log level of the classic session it has just created
# itself: never reached on Spark Connect or Databricks.
ALLOWED = {("spark.py", "local_spark")}


def classic_only_uses(path: Path) -> list[str]:
    """``file:line name`` for each classic-only name in a module (outside ALLOWED)."""
    tree = ast.parse(path.read_text(), str(path))
    allowed_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (path.name, node.name) in ALLOWED:
            allowed_lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.ImportFrom) and node.module == "delta.tables":
            name = "delta.tables"
        elif isinstance(node, ast.alias):
            name = node.name
        if name in CLASSIC_ONLY | {"delta.tables"} and node.lineno not in allowed_lines:
            found.append((node.lineno, node.col_offset, name))
    return [f"{path.name}:{line} {name}" for line, _col, name in sorted(found)]


def test_the_package_uses_only_the_dataframe_and_sql_apis():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert PACKAGE / "io.py" in modules and PACKAGE / "jobs" / "silver.py" in modules
    found = [use for module in modules for use in classic_only_uses(module)]
    assert found == []


def test_the_static_check_finds_classic_only_calls(tmp_path):
    module = tmp_path / "job.py"
    module.write_text(
        "from delta.tables import DeltaTable\n"
        "def run(spark, df):\n"
        "    spark.sparkContext.setJobGroup('a', 'b')\n"
        "    return df.rdd.map(len), DeltaTable.forPath(spark, '/lake')\n"
    )
    assert classic_only_uses(module) == [
        "job.py:1 delta.tables",
        "job.py:1 DeltaTable",
        "job.py:3 sparkContext",
        "job.py:4 rdd",
        "job.py:4 DeltaTable",
    ]
