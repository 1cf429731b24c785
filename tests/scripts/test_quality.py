"""dq-report on a lake produced by the real pipeline from the generator's sample (dirty rows,
so the quarantine is not empty), locally and through the fake SQL warehouse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.config import local_config
from c2c_etl.generator import generate
from c2c_etl.jobs.common import audit_rows, utc_now
from c2c_ops.errors import Exit
from tests.etl.integration.conftest import run_pipeline
from tests.scripts.fake_databricks import FakeDatabricks
from tests.scripts.harness import run_cli
from tests.scripts.lakes import cloud_ops, local_ops, spark_warehouse


@pytest.fixture(scope="module")
def sample_lake(spark, tmp_path_factory) -> Path:
    """A lake after one pipeline run over a small generated sample with 5% dirty rows."""
    root = tmp_path_factory.mktemp("dq")
    generate(root / "landing", 800, 300, seed=11, dirty_rate=0.05, overlap=0.05)
    run_pipeline(spark, root / "landing", root / "lake")
    return root / "lake"


def report(spark, lake: Path, capsys, *argv: str):
    return run_cli(local_ops(spark, lake), "dq-report", *argv, "--env", "local", capsys=capsys)


def test_report_numbers_match_the_quarantine_table_and_every_file_balances(
    spark, sample_lake, capsys
):
    result = report(spark, sample_lake, capsys, "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["passed"] is True and len(doc["runs"]) == 1
    run = doc["runs"][0]
    files = [f for f in run["files"] if f["source_file"]]
    assert {"users_2020.csv", "users_2024.csv"} <= {f["source_file"] for f in files}
    for f in files:
        assert f["rows_read"] == f["rows_to_silver"] + f["rows_quarantined"] + f["rows_duplicate"]
    # Independent counts, straight from the quarantine table.
    cfg = local_config(sample_lake, sample_lake)
    quarantine = io.read(spark, cfg, tables.SILVER_QUARANTINE)
    by_rule = {
        r["rule"]: r["count"]
        for r in quarantine.select(F.explode("failed_rules").alias("rule"))
        .groupBy("rule")
        .count()
        .collect()
    }
    assert run["quarantine_by_rule"] == by_rule
    assert run["rows_quarantined"] == quarantine.count() > 0
    assert run["quarantine_rate"] == pytest.approx(run["rows_quarantined"] / run["rows_read"])
    assert run["warnings"] == []


def test_the_quarantine_rate_gate_fails_above_the_limit(spark, sample_lake, capsys):
    strict = report(spark, sample_lake, capsys, "--max-quarantine-rate", "0.1%")
    assert strict.code == Exit.FAILED
    assert "above --max-quarantine-rate 0.10%" in strict.out
    lenient = report(spark, sample_lake, capsys, "--max-quarantine-rate", "0.5")
    assert lenient.code == 0, lenient.out
    assert "Quarantined rows per rule" in lenient.out and "data quality gate passed" in lenient.out


def test_markdown_report_written_to_a_file(spark, sample_lake, tmp_path, capsys):
    out = tmp_path / "dq.md"
    result = report(spark, sample_lake, capsys, "--format", "markdown", "--output", str(out))
    assert result.code == 0, result.err
    text = out.read_text()
    assert "| silver_users | users_2020.csv |" in text and "**PASSED**" in text
    assert f"report written to {out}" in result.out


def test_an_unbalanced_audit_row_fails_the_report_and_names_the_file(
    spark, sample_lake, tmp_path, capsys
):
    lake = tmp_path / "lake"
    shutil.copytree(sample_lake, lake)
    row = {
        "run_id": "tampered-run",
        "step": "silver_users",
        "source_file": "late_delivery.csv",
        "source_sha256": "0" * 64,
        "release": "2024",
        "rows_read": 10,
        "rows_to_silver": 7,
        "rows_quarantined": 1,
        "rows_duplicate": 0,
        "balanced": True,  # the flag lies; the figures do not add up
        "status": "succeeded",
        "started_at": utc_now(),
        "finished_at": utc_now(),
    }
    io.append(local_config(lake, lake), tables.RUN_AUDIT, audit_rows(spark, [row]))
    result = report(spark, lake, capsys)
    assert result.code == Exit.FAILED
    assert "tampered-run" in result.out
    assert "late_delivery.csv: NOT BALANCED: read 10 != 7 to silver" in result.out
    # The earlier run is still clean.
    first = report(spark, lake, capsys, "--all-runs", "--format", "json")
    runs = {r["run_id"]: r for r in json.loads(first.out)["runs"]}
    assert [r for r in runs if r != "tampered-run" and runs[r]["problems"]] == []


def test_an_unknown_run_and_an_empty_lake_are_not_found(spark, sample_lake, tmp_path, capsys):
    unknown = report(spark, sample_lake, capsys, "--run-id", "no-such-run")
    assert unknown.code == Exit.NOT_FOUND and "no run 'no-such-run'" in unknown.err
    empty = report(spark, tmp_path, capsys)
    assert empty.code == Exit.NOT_FOUND
    assert "silver.run_audit does not exist" in empty.err


def test_the_report_through_the_sql_warehouse_equals_the_local_one(spark, sample_lake, capsys):
    local = json.loads(report(spark, sample_lake, capsys, "--format", "json").out)
    with FakeDatabricks() as fake:
        warehouse = spark_warehouse(fake, spark, sample_lake)
        cloud = run_cli(
            cloud_ops(fake, spark), "dq-report", "--format", "json", "--env", "dev", capsys=capsys
        )
    assert cloud.code == 0, cloud.err
    assert json.loads(cloud.out)["runs"] == local["runs"]
    assert any("c2c_dev.silver.quarantine" in s for s in warehouse.executed())
