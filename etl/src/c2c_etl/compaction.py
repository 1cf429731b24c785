"""Compaction of the small files a run leaves behind, once at the end of a job (issue 7).

Each run appends a few small files to the bronze tables, the quarantine, the run audit and the
step log, and a MERGE adds a few to silver users and gold fact_users. Left alone, a table's file
count grows with every run and every read of it slows down.

Delta's own auto compaction (the ``delta.autoOptimize.autoCompact`` table property) is not used:
in Delta 4.0 it runs an ``OPTIMIZE`` after every write that leaves two small files, because
its ``minNumFiles`` threshold applies only with partition early-skipping. A small run then made
about 20 extra commits, and a 10M-user bronze load rewrote its whole table right after writing
it (docs/benchmark.md). Instead, at the end of a job, each table the job wrote is compacted
once, and only when small files dominate it:

- the table existed before the run: a table the run created (a first load) is left as the
  run wrote it;
- its active files are two or more and average under :data:`SMALL_FILE_BYTES` (``DESCRIBE
  DETAIL``: the Delta log only, no data files);
- ``OPTIMIZE`` then rewrites only the files under that size (Delta's ``minFileSize``) into
  files of up to :data:`TARGET_FILE_BYTES`, so the big files of a large table are never
  rewritten.

A compaction changes no row; its commit carries no user metadata, so the jobs' crash-recovery
lookups (which read their own commits' metadata) skip it. Tables created by an earlier version
with the auto compaction property have it removed here, the first time a job writes them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from c2c_etl import io
from c2c_etl.config import LakeConfig
from c2c_etl.tables import STAGING_TABLES, Table

# A file under this size is small: OPTIMIZE rewrites only those (Delta's minFileSize).
SMALL_FILE_BYTES = 16 << 20
# The size OPTIMIZE packs small files into (Delta's maxFileSize, its auto compaction's own).
TARGET_FILE_BYTES = 128 << 20
# Delta's session settings for OPTIMIZE's file sizes, set for the length of the call.
MIN_FILE_SIZE_CONF = "spark.databricks.delta.optimize.minFileSize"
MAX_FILE_SIZE_CONF = "spark.databricks.delta.optimize.maxFileSize"
# The table property of Delta's auto compaction, which tables created before this module have.
AUTO_COMPACT_PROPERTY = "delta.autoOptimize.autoCompact"


@dataclass(frozen=True)
class Compacted:
    """What the compaction of one table did: its active files before and after."""

    table: str
    files_before: int
    files_after: int
    seconds: float


def needs_compaction(num_files: int, size_bytes: int) -> bool:
    """Whether small files dominate a table: two or more, averaging under SMALL_FILE_BYTES."""
    return num_files >= 2 and size_bytes < num_files * SMALL_FILE_BYTES


def compact_table(
    spark: SparkSession, cfg: LakeConfig, table: Table, since: datetime | None = None
) -> Compacted | None:
    """Compact one table when small files dominate it; None when it was left as it is.

    A table created at or after ``since`` (the run's start: its first load) is left as the
    run wrote it. The caller sets OPTIMIZE's file sizes (see :func:`compact_written`)."""
    name = io.sql_name(cfg, table)
    # The creation time as seconds since the epoch, computed by Spark: a timestamp collected
    # to Python would be shifted into the Python process's local time zone.
    detail = (
        spark.sql(f"DESCRIBE DETAIL {name}")
        .select(
            "numFiles", "sizeInBytes", "properties", F.unix_timestamp("createdAt").alias("created")
        )
        .first()
    )
    if detail is None:
        return None
    if (detail["properties"] or {}).get(AUTO_COMPACT_PROPERTY) == "true":
        spark.sql(f"ALTER TABLE {name} UNSET TBLPROPERTIES IF EXISTS ('{AUTO_COMPACT_PROPERTY}')")
    if since is not None and detail["created"] >= int(since.replace(tzinfo=UTC).timestamp()):
        return None
    files, size = int(detail["numFiles"]), int(detail["sizeInBytes"])
    if not needs_compaction(files, size):
        return None
    start = time.perf_counter()
    metrics = spark.sql(f"OPTIMIZE {name}").first()
    found = metrics["metrics"] if metrics is not None else None
    added = int(found["numFilesAdded"]) if found is not None else 0
    removed = int(found["numFilesRemoved"]) if found is not None else 0
    return Compacted(str(table), files, files - removed + added, time.perf_counter() - start)


def compact_written(
    spark: SparkSession, cfg: LakeConfig, since: datetime | None = None
) -> list[Compacted]:
    """Compact the tables this process wrote since the last call, but those created at or
    after ``since`` (naive UTC, the run's start).

    A table the run created holds only that run's writes, laid out as Spark wrote them: on a
    first load of 1M users, compacting bronze, silver users and fact_users took 77 s of a
    325 s run (a Spark event log on a loaded machine, issue 7). Compaction is for what
    accumulates over runs. The tables are compacted side by side (``io.parallel``):
    on the small log tables an OPTIMIZE is mostly driver latency.
    """
    written = [t for t in io.WRITES.take(cfg) if t not in STAGING_TABLES]
    sizes = {MIN_FILE_SIZE_CONF: str(SMALL_FILE_BYTES), MAX_FILE_SIZE_CONF: str(TARGET_FILE_BYTES)}
    with io.session_conf(spark, sizes):
        results = io.parallel(lambda table: compact_table(spark, cfg, table, since), written)
    return [r for r in results if r is not None]
