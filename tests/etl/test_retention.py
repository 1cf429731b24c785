"""Retention: every lake table carries its layer's Delta retention, and VACUUM honours it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from c2c_etl import io
from c2c_etl.config import local_config
from c2c_etl.retention import POLICY, table_properties
from c2c_etl.tables import (
    AGG_REPORT_SUMS,
    ALL_TABLES,
    BRONZE,
    GOLD,
    INGESTION_LOG,
    SILVER_QUARANTINE,
)
from c2c_ops.maintenance import (
    MIN_RETENTION_HOURS,
    RETENTION_PROPERTY,
    _retention,
    interval_hours,
    retention_refusal,
)
from c2c_ops.sql import LocalSqlRunner


def test_every_layer_of_every_table_has_a_policy() -> None:
    assert {t.layer for t in ALL_TABLES} == set(POLICY)


@pytest.mark.parametrize("layer", sorted(POLICY))
def test_each_policy_keeps_at_least_what_vacuum_requires(layer: str) -> None:
    """Delta rejects nothing here, but VACUUM below 7 days would break running readers, and a
    log shorter than the files would make versions unreachable whose files still exist."""
    files = interval_hours(table_properties(layer)[RETENTION_PROPERTY])
    log = interval_hours(table_properties(layer)["delta.logRetentionDuration"])
    assert MIN_RETENTION_HOURS <= files <= log


def test_tables_are_created_with_their_layers_retention_and_vacuum_uses_it(
    spark: SparkSession, tmp_path: Path
) -> None:
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    df = spark.createDataFrame([("a", 1)], "source_sha256 STRING, n INT")
    io.append(cfg, INGESTION_LOG, df)
    io.overwrite(cfg, SILVER_QUARANTINE, df)
    io.upsert(spark, cfg, AGG_REPORT_SUMS, df, "source_sha256", "s.n <> t.n")
    runner = LocalSqlRunner(spark, tmp_path / "lake")
    for table in (INGESTION_LOG, SILVER_QUARANTINE, AGG_REPORT_SUMS):
        rows = spark.sql(f"SHOW TBLPROPERTIES {io.sql_name(cfg, table)}").collect()
        props = {r["key"]: r["value"] for r in rows}
        assert table_properties(table.layer).items() <= props.items(), table
        # c2c-ops vacuum reads the same property and refuses to go below it.
        hours, text = _retention(runner, runner.name(table))
        assert hours == POLICY[table.layer].deleted_file_days * 24
        assert retention_refusal(table, hours - 1, hours, text) is not None
        assert retention_refusal(table, hours, hours, text) is None
    # Bronze keeps old files twice as long as gold: a bronze VACUUM at 8 days is refused.
    assert POLICY[BRONZE].deleted_file_days * 24 > 192 >= POLICY[GOLD].deleted_file_days * 24
