"""What the cluster tests compare: a lake's table versions and the step outcomes a run printed
in its summary (two lakes' gold tables: ``tests.etl.helpers.assert_same_gold``)."""

from __future__ import annotations

import re

from pyspark.sql import SparkSession

from c2c_etl import io, tables
from c2c_etl.config import LakeConfig


def table_versions(spark: SparkSession, cfg: LakeConfig) -> dict[str, int | None]:
    return {str(t): io.version(spark, cfg, t) for t in tables.ALL_TABLES}


# A line of the run summary's "Time per step" (c2c_etl.summary.format_summary).
STEP_LINE = re.compile(r"^\s+(bronze|silver_users|silver_reports|gold)\s+[\d.]+ s\s+(\w+)$", re.M)
ALL_SUCCEEDED = dict.fromkeys(("bronze", "silver_users", "silver_reports", "gold"), "succeeded")


def step_statuses(output: str) -> dict[str, str]:
    """Each step's status from a run's printed summary."""
    return dict(STEP_LINE.findall(output))
