"""Compaction of the small files runs leave behind, at the end of a run, when a table needs it.

Each run appends a few small files to the bronze tables, the quarantine, the run audit and the
step log, and a MERGE adds a few to silver users. Left alone, a table's file count grows with
every run and every read of it slows down.

Delta's own auto compaction (the ``delta.autoOptimize.autoCompact`` table property) is not used:
in Delta 4.0 it runs an ``OPTIMIZE`` after every write that leaves two small files, because
its ``minNumFiles`` threshold applies only with partition early-skipping. A small run then made
many extra commits, and a large first load rewrote its whole table right after writing it.
Instead, at the end of a run, a table the run wrote is compacted only when small files
dominate it, which is looked at only once enough commits have piled up:

- the table has :data:`COMMITS_BETWEEN_CHECKS` commits or more since it was last compacted or
  rewritten whole by an overwrite (or created), counted from its history (locally the Delta
  log's files, no query): a run adds one or two commits to a table, so most runs look at
  nothing, and a table a run overwrites whole (gold's stored tables) is never looked at;
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
# A table is looked at for compaction once it has this many commits since its last one. Each
# commit of a run adds at most a few files, so a table never holds more than a few dozen small
# files between compactions, and a run that has nothing to compact costs no query.
COMMITS_BETWEEN_CHECKS = 10


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


def rewrote_whole_table(commit: dict) -> bool:
    """Whether a commit (from :func:`io.history`) left the table as freshly written files: an
    OPTIMIZE, or an overwrite of every row (a ``replaceWhere`` overwrite, which carries its
    predicate, replaces only some)."""
    if commit["operation"] == "OPTIMIZE":
        return True
    parameters = commit.get("operationParameters") or {}
    return (
        commit["operation"] == "WRITE"
        and parameters.get("mode") == "Overwrite"
        and not parameters.get("predicate")
    )


def commits_since_compaction(spark: SparkSession, cfg: LakeConfig, table: Table) -> int:
    """Commits to ``table`` since it was last compacted or overwritten whole (or created),
    counting up to :data:`COMMITS_BETWEEN_CHECKS` (from its history: the Delta log only)."""
    recent = io.history(spark, cfg, table, limit=COMMITS_BETWEEN_CHECKS)
    for n, commit in enumerate(recent):
        if rewrote_whole_table(commit):
            return n
    return len(recent)


def due(spark: SparkSession, cfg: LakeConfig, table: Table) -> bool:
    """Whether ``table`` has piled up enough commits to be looked at for compaction."""
    return commits_since_compaction(spark, cfg, table) >= COMMITS_BETWEEN_CHECKS


def compact_written(
    spark: SparkSession, cfg: LakeConfig, since: datetime | None = None
) -> list[Compacted]:
    """Compact the tables this process wrote since the last call, but those created at or
    after ``since`` (naive UTC, the run's start).

    Only tables with :data:`COMMITS_BETWEEN_CHECKS` commits since their last compaction are
    looked at. A table the run created holds only that run's writes, laid out as Spark wrote
    them: compaction is for what accumulates over runs. The tables are compacted side by side
    (``io.parallel``): on the small log tables an OPTIMIZE is mostly driver latency.
    """
    written = [t for t in io.WRITES.take(cfg) if t not in STAGING_TABLES]
    written = [t for t in written if due(spark, cfg, t)]
    if not written:
        return []
    sizes = {MIN_FILE_SIZE_CONF: str(SMALL_FILE_BYTES), MAX_FILE_SIZE_CONF: str(TARGET_FILE_BYTES)}
    with io.session_conf(spark, sizes):
        results = io.parallel(lambda table: compact_table(spark, cfg, table, since), written)
    return [r for r in results if r is not None]
