"""history, optimize, vacuum and restore on a local lake with real Delta, and through the fake
SQL warehouse running the same statements on local Spark."""

from __future__ import annotations

from pathlib import Path

import pytest

from c2c_etl.tables import AGG_APP_ADOPTION, AGG_REPORT_SUMS, FACT_USERS, RECONCILIATION
from c2c_ops.errors import Exit
from c2c_ops.maintenance import OVERRIDE_FLAG
from c2c_ops.sql import RETENTION_CHECK
from tests.scripts.fake_databricks import FakeDatabricks
from tests.scripts.harness import run_cli
from tests.scripts.lakes import (
    active_files,
    cloud_ops,
    data_files,
    local_ops,
    spark_warehouse,
    table_path,
)

TABLE = AGG_REPORT_SUMS


def small_files_table(spark, lake: Path, commits: int = 3, files_per_commit: int = 8) -> None:
    """A table of ``commits`` appends of ``files_per_commit`` small files each."""
    for i in range(commits):
        (
            spark.range(i * 100, (i + 1) * 100)
            .repartition(files_per_commit)
            .write.format("delta")
            .mode("append")
            .save(table_path(lake, TABLE))
        )


def overwrite_with_five_rows(spark, lake: Path) -> None:
    spark.range(5).coalesce(1).write.format("delta").mode("overwrite").save(table_path(lake, TABLE))


def local(spark, lake: Path, capsys, *argv: str):
    return run_cli(local_ops(spark, lake), *argv, "--env", "local", capsys=capsys)


def test_optimize_compacts_many_small_files_into_fewer(spark, tmp_path, capsys):
    small_files_table(spark, tmp_path)
    assert active_files(spark, tmp_path, TABLE) == 24
    result = local(spark, tmp_path, capsys, "optimize", str(TABLE))
    assert result.code == 0, result.err
    assert active_files(spark, tmp_path, TABLE) == 1
    assert "24 files removed, 1 files added" in result.out
    assert spark.read.format("delta").load(table_path(tmp_path, TABLE)).count() == 300
    history = local(spark, tmp_path, capsys, "history", str(TABLE))
    assert history.code == 0 and "OPTIMIZE" in history.out and "numRemovedFiles=24" in history.out


def test_vacuum_refuses_a_retention_below_seven_days_and_deletes_nothing(spark, tmp_path, capsys):
    small_files_table(spark, tmp_path, commits=1)
    spark.range(5).coalesce(1).write.format("delta").mode("overwrite").save(
        table_path(tmp_path, TABLE)
    )
    on_disk = data_files(tmp_path, TABLE)
    result = local(spark, tmp_path, capsys, "vacuum", str(TABLE), "--retain-hours", "0")
    assert result.code == Exit.REFUSED == 10
    assert "retention of 0 hours" in result.err and "minimum of 168 hours" in result.err
    assert OVERRIDE_FLAG in result.err
    assert data_files(tmp_path, TABLE) == on_disk


def test_vacuum_refuses_below_the_tables_own_retention(spark, tmp_path, capsys):
    small_files_table(spark, tmp_path, commits=1)
    spark.sql(
        f"ALTER TABLE delta.`{table_path(tmp_path, TABLE)}` "
        "SET TBLPROPERTIES ('delta.deletedFileRetentionDuration' = 'interval 30 days')"
    )
    result = local(spark, tmp_path, capsys, "vacuum", str(TABLE), "--retain-hours", "200")
    assert result.code == Exit.REFUSED
    assert "200 hours" in result.err and "720 hours" in result.err
    assert "interval 30 days" in result.err


def test_vacuum_by_default_keeps_the_tables_own_retention(spark, tmp_path, capsys):
    """No --retain-hours: the table's delta.deletedFileRetentionDuration (set per layer by
    c2c_etl.retention) is used, so the guard has nothing to refuse and young files stay."""
    small_files_table(spark, tmp_path, commits=2)
    spark.sql(
        f"ALTER TABLE delta.`{table_path(tmp_path, TABLE)}` "
        "SET TBLPROPERTIES ('delta.deletedFileRetentionDuration' = 'interval 14 days')"
    )
    spark.range(5).coalesce(1).write.format("delta").mode("overwrite").save(
        table_path(tmp_path, TABLE)
    )
    before = data_files(tmp_path, TABLE)
    result = local(spark, tmp_path, capsys, "vacuum", str(TABLE))
    assert result.code == Exit.OK, result
    assert data_files(tmp_path, TABLE) == before  # every file is younger than 14 days
    assert "336" in result.out  # the retention it used, in hours


def test_vacuum_with_the_override_deletes_unreferenced_files_and_old_versions_are_gone(
    spark, tmp_path, capsys
):
    small_files_table(spark, tmp_path, commits=2)
    spark.range(5).coalesce(1).write.format("delta").mode("overwrite").save(
        table_path(tmp_path, TABLE)
    )
    before = data_files(tmp_path, TABLE)
    assert len(before) == 17  # 16 files of versions 0-1, 1 of version 2
    check_before = spark.conf.get(RETENTION_CHECK, None)

    dry = local(
        spark, tmp_path, capsys, "vacuum", str(TABLE), "--retain-hours", "0", "--dry-run",
        OVERRIDE_FLAG,
    )  # fmt: skip
    assert dry.code == 0, dry.err
    assert "16 unreferenced files would be deleted" in dry.out and "nothing was deleted" in dry.out
    assert data_files(tmp_path, TABLE) == before

    result = local(
        spark, tmp_path, capsys, "vacuum", str(TABLE), "--retain-hours", "0", OVERRIDE_FLAG
    )
    assert result.code == 0, result.err
    assert "retention guard overridden" in result.out
    assert "deleted 16 files" in result.out
    assert len(data_files(tmp_path, TABLE)) == 1
    assert spark.read.format("delta").load(table_path(tmp_path, TABLE)).count() == 5
    with pytest.raises(Exception, match=r"(?i)not found|does not exist|FileNotFound"):
        spark.read.format("delta").option("versionAsOf", 0).load(
            table_path(tmp_path, TABLE)
        ).collect()
    # The session's safety check is back as it was.
    assert spark.conf.get(RETENTION_CHECK, None) == check_before


def test_restore_brings_back_the_rows_of_an_earlier_version_as_a_new_version(
    spark, tmp_path, capsys
):
    path = table_path(tmp_path, TABLE)
    spark.range(100).write.format("delta").save(path)
    spark.range(3).write.format("delta").mode("overwrite").save(path)  # the bad overwrite
    result = local(spark, tmp_path, capsys, "restore", str(TABLE), "--version", "0")
    assert result.code == 0, result.err
    assert sorted(r.id for r in spark.read.format("delta").load(path).collect()) == list(range(100))
    assert "is at version 1" in result.out and "now at version 2" in result.out
    assert "reversible" in result.out and "--version 1" in result.out
    last = spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").first()
    assert (last.version, last.operation) == (2, "RESTORE")


def test_restore_refuses_a_version_that_does_not_exist(spark, tmp_path, capsys):
    spark.range(10).write.format("delta").save(table_path(tmp_path, TABLE))
    result = local(spark, tmp_path, capsys, "restore", str(TABLE), "--version", "7")
    assert result.code == Exit.NOT_FOUND
    assert "has no version 7" in result.err and "versions 0 to 0" in result.err


def test_maintenance_of_a_table_that_does_not_exist_is_not_found(spark, tmp_path, capsys):
    result = local(spark, tmp_path, capsys, "optimize", str(RECONCILIATION))
    assert result.code == Exit.NOT_FOUND
    assert "gold.publisher_report_reconciliation does not exist" in result.err


@pytest.mark.parametrize("command", ["history", "optimize", "vacuum"])
def test_maintenance_of_a_gold_view_is_refused_and_names_the_tables_it_reads(
    spark, tmp_path, capsys, command
):
    result = local(spark, tmp_path, capsys, command, str(AGG_APP_ADOPTION))
    assert result.code == Exit.USAGE
    assert "gold.agg_app_adoption is a view over gold.agg_user_counts, gold.dim_country" in (
        result.err
    )
    # The user fact is a view of silver users: maintaining silver users maintains it.
    result = local(spark, tmp_path, capsys, command, str(FACT_USERS))
    assert result.code == Exit.USAGE
    assert "gold.fact_users is a view over silver.users" in result.err


def test_history_and_optimize_through_the_sql_warehouse_api(spark, tmp_path, capsys):
    small_files_table(spark, tmp_path, commits=2, files_per_commit=5)
    with FakeDatabricks() as fake:
        warehouse = spark_warehouse(fake, spark, tmp_path, pending_polls=1, chunk_rows=1)
        ops = cloud_ops(fake, spark)
        optimized = run_cli(ops, "optimize", str(TABLE), "--env", "dev", capsys=capsys)
        history = run_cli(ops, "history", str(TABLE), "--env", "dev", capsys=capsys)
    assert optimized.code == 0, optimized.err
    assert "10 files removed, 1 files added" in optimized.out
    assert active_files(spark, tmp_path, TABLE) == 1
    assert history.code == 0, history.err
    assert "OPTIMIZE" in history.out and "WRITE" in history.out
    assert "OPTIMIZE c2c_dev.gold.agg_report_sums" in warehouse.executed()
