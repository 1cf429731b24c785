"""Small builders for test DataFrames shaped like bronze rows, the one way tests run the
pipeline, and the comparison of two lakes' gold tables."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType, TimestampType

from c2c_etl.bronze.ingest import CORRUPT_COLUMN
from c2c_etl.sources import USERS_2020, SourceKind

VALID_USER = {
    "identifierHash": "-7279641312655250028",
    "type": "user",
    "country": "Etats-Unis",
    "countryCode": "us",
    "language": "en",
    "socialNbFollowers": "3",
    "socialNbFollows": "8",
    "socialProductsLiked": "0",
    "productsListed": "0",
    "productsSold": "0",
    "productsPassRate": "0.0",
    "productsWished": "0",
    "productsBought": "0",
    "gender": "F",
    "civilityGenderId": "2",
    "civilityTitle": "mrs",
    "hasAnyApp": "False",
    "hasAndroidApp": "False",
    "hasIosApp": "False",
    "hasProfilePicture": "True",
    "daysSinceLastLogin": "709",
    "seniority": "3205",
    "seniorityAsMonths": "106.83",
    "seniorityAsYears": "8.9",
    "websiteLongevity": "3803",
}


def bronze_users(
    spark: SparkSession,
    rows: list[dict[str, Any]],
    kind: SourceKind = USERS_2020,
    source_file: str = "users.csv",
    sha: str = "sha-1",
    ingested_at: datetime = datetime(2026, 1, 1),
) -> DataFrame:
    """Bronze rows of ``kind``: each dict overrides fields of a valid user, and may give the
    row its own ``_source_file`` and ``_source_sha256`` (one DataFrame for many cases)."""
    fields = [StructField(c, StringType()) for c in kind.columns] + [
        StructField(CORRUPT_COLUMN, StringType()),
        StructField("_source_file", StringType()),
        StructField("_source_sha256", StringType()),
        StructField("_release", StringType()),
        StructField("_run_id", StringType()),
        StructField("_ingested_at", TimestampType()),
    ]
    data = []
    for overrides in rows:
        row = {**VALID_USER, **overrides}
        data.append(
            (
                *tuple(row.get(c) for c in kind.columns),
                row.get(CORRUPT_COLUMN),
                row.get("_source_file", source_file),
                row.get("_source_sha256", sha),
                kind.release,
                "run-1",
                ingested_at,
            )
        )
    return spark.createDataFrame(data, StructType(fields))


def run_pipeline(spark: SparkSession, ctx: Any) -> list[Any]:
    """Every step of the pipeline on ``spark`` through the one runner, as a full check (the
    "nothing changed" shortcut off, so a rerun's steps report what they found); the steps'
    results, compaction last."""
    from c2c_etl.runner import RunRequest, run

    return run(RunRequest(ctx.cfg, ctx.run_id, full_check=True), spark).results


def copy_lake(base: Path, tmp_path: Path) -> tuple[Path, Path]:
    """``base``'s ``landing`` and ``lake`` folders copied into ``tmp_path``, for a test that goes
    on from a lake built once: a lake names no absolute path (Delta logs name their files
    relative to the table, the ingestion log relative to landing, the state file none), so the
    copy is the same lake."""
    for folder in ("landing", "lake"):
        shutil.copytree(base / folder, tmp_path / folder)
    return tmp_path / "landing", tmp_path / "lake"


def assert_same_rows(actual: DataFrame, expected: DataFrame, what: str) -> None:
    """``actual`` holds exactly ``expected``'s rows, duplicates counted, in any order, with the
    same column names and types, floats equal exactly. Spark compares the rows, in one
    aggregation over both sides (each row counted +1 in ``actual``, -1 in ``expected``, and any
    row whose sum is not 0 differs): a table of the real data's size costs seconds, not a
    row-by-row walk in Python, and a small table one job, where an anti-join each way costs two."""
    from pyspark.sql import functions as F

    assert actual.schema.simpleString() == expected.schema.simpleString(), (
        f"{what}: columns differ\n  got      {actual.schema.simpleString()}"
        f"\n  expected {expected.schema.simpleString()}"
    )
    columns = [F.col(f"`{c}`") for c in actual.columns]
    side = "_assert_same_rows_side"
    both = actual.select(*columns, F.lit(1).alias(side)).union(
        expected.select(*columns, F.lit(-1).alias(side))
    )
    differ = (
        both.groupBy(*columns)
        .agg(F.sum(side).alias(side))
        .filter(F.col(side) != 0)
        .limit(10)
        .collect()
    )
    shown = [(dict(zip(actual.columns, r[:-1], strict=True)), r[-1]) for r in differ]
    extra = [(row, times) for row, times in shown if times > 0][:5]
    missing = [(row, -times) for row, times in shown if times < 0][:5]
    assert not differ, (
        f"{what}: rows differ (row, times)\n  unexpected (up to 5): {extra}"
        f"\n  missing (up to 5): {missing}"
    )


def assert_same_gold(spark: SparkSession, expected: Any, actual: Any) -> None:
    """Every gold table of the lake ``actual`` (a ``LakeConfig``) equals ``expected``'s row for
    row: the same input must give the same figures however and wherever the pipeline ran."""
    from c2c_etl import io, tables

    for table in tables.ALL_TABLES:
        if table.layer != tables.GOLD:
            continue
        assert io.exists(spark, actual, table), f"{table} was not written"
        assert_same_rows(io.read(spark, actual, table), io.read(spark, expected, table), str(table))
