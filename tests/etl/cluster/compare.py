"""What the cluster tests compare: two lakes' gold tables, a lake's table versions, and the
step outcomes a run printed in its summary."""

from __future__ import annotations

import re

from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from c2c_etl import io, tables
from c2c_etl.config import LakeConfig

GOLD_TABLES = tuple(t for t in tables.ALL_TABLES if t.layer == tables.GOLD)


def assert_same_gold(spark: SparkSession, expected: LakeConfig, actual: LakeConfig) -> None:
    """Every gold table of ``actual`` equals ``expected``'s row for row (in any order), with
    the same schema and floats equal exactly: the same input must give the same figures
    wherever the pipeline ran."""
    for table in GOLD_TABLES:
        assert io.exists(spark, actual, table), f"{table} was not written"
        assertDataFrameEqual(
            io.read(spark, actual, table),
            io.read(spark, expected, table),
            checkRowOrder=False,
            rtol=0.0,
            atol=0.0,
        )


def table_versions(spark: SparkSession, cfg: LakeConfig) -> dict[str, int | None]:
    return {str(t): io.version(spark, cfg, t) for t in tables.ALL_TABLES}


# A line of the run summary's "Time per step" (c2c_etl.summary.format_summary).
STEP_LINE = re.compile(r"^\s+(bronze|silver_users|silver_reports|gold)\s+[\d.]+ s\s+(\w+)$", re.M)
ALL_SUCCEEDED = dict.fromkeys(("bronze", "silver_users", "silver_reports", "gold"), "succeeded")


def step_statuses(output: str) -> dict[str, str]:
    """Each step's status from a run's printed summary."""
    return dict(STEP_LINE.findall(output))
