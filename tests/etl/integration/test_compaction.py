"""The end-of-run compaction (c2c_etl.compaction) on real Delta tables: the tables a run wrote
are looked at once enough commits have piled up, compacted only when small files dominate
them, and their big files are never rewritten."""

from __future__ import annotations

import time

import pytest
from pyspark.sql import functions as F

from c2c_etl import compaction, io
from c2c_etl.compaction import compact_written, needs_compaction
from c2c_etl.config import local_config
from c2c_etl.jobs.common import utc_now
from c2c_etl.tables import RUN_STEPS, SILVER_QUARANTINE, SILVER_USERS

MB = 1 << 20


@pytest.mark.parametrize(
    ("files", "size", "expected"),
    [
        (1, 1000, False),  # one file: nothing to pack together
        (2, 2000, True),  # two tiny files
        (8, 8 * 100 * MB, False),  # a large table's big files
        (40, 8 * 100 * MB, False),  # 8 big files and 32 small ones: 20 MB on average
        (80, 8 * 100 * MB, True),  # 72 small ones: 10 MB on average
    ],
)
def test_a_table_is_compacted_only_when_small_files_dominate_it(files, size, expected):
    assert needs_compaction(files, size) is expected


def _files(spark, cfg, table) -> set[str]:
    return set(io.read(spark, cfg, table).inputFiles())


@pytest.fixture
def look_after_two_commits(monkeypatch):
    """Tables are looked at from their second commit on: the tests below are about what a
    compaction does, the policy's own threshold has its own test."""
    monkeypatch.setattr(compaction, "COMMITS_BETWEEN_CHECKS", 2)


def test_a_table_is_looked_at_only_once_its_commits_pile_up(spark, tmp_path):
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    io.WRITES.take(cfg)
    rows = spark.createDataFrame([("a", 1)], "k STRING, n INT")
    for _ in range(compaction.COMMITS_BETWEEN_CHECKS - 1):
        io.append(cfg, RUN_STEPS, rows)
    assert compact_written(spark, cfg) == []  # small files, but not enough commits yet
    assert io.history(spark, cfg, RUN_STEPS, limit=1)[0]["operation"] == "WRITE"

    io.append(cfg, RUN_STEPS, rows)
    (done,) = compact_written(spark, cfg)
    n = compaction.COMMITS_BETWEEN_CHECKS
    assert (done.files_before, done.files_after) == (n, 1)
    # The count starts again after the compaction.
    io.append(cfg, RUN_STEPS, rows)
    assert compaction.commits_since_compaction(spark, cfg, RUN_STEPS) == 1
    assert compact_written(spark, cfg) == []


def test_a_table_overwritten_whole_is_never_looked_at_and_a_replace_where_counts(spark, tmp_path):
    """Gold's stored tables are overwritten whole by every build that changes them: each
    overwrite leaves fresh files, so no count of commits since the last OPTIMIZE may make a run
    look at them (and look again on every run, since there is never anything to compact). An
    overwrite of some rows (replaceWhere, as the quarantine's) is a commit like an append."""
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    rows = spark.createDataFrame([("a", 1)], "k STRING, n INT")
    n = compaction.COMMITS_BETWEEN_CHECKS
    for _ in range(n + 2):
        io.overwrite(cfg, RUN_STEPS, rows)
    assert compaction.commits_since_compaction(spark, cfg, RUN_STEPS) == 0
    io.append(cfg, RUN_STEPS, rows)
    assert compaction.commits_since_compaction(spark, cfg, RUN_STEPS) == 1
    for _ in range(n):
        io.replace_where(cfg, RUN_STEPS, rows, "k = 'a'")
    assert compaction.commits_since_compaction(spark, cfg, RUN_STEPS) == n
    (newest,) = io.history(spark, cfg, RUN_STEPS, limit=1)
    assert newest["operationParameters"]["mode"] == "Overwrite"
    assert not compaction.rewrote_whole_table(newest)


def test_a_job_compacts_each_table_it_wrote_once_and_nothing_else(
    spark, tmp_path, look_after_two_commits
):
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    io.WRITES.take(cfg)
    rows = spark.createDataFrame([("a", 1)], "k STRING, n INT")
    for _ in range(6):
        io.append(cfg, RUN_STEPS, rows, user_metadata={"step": "test"})
    io.append(cfg, SILVER_QUARANTINE, rows)
    before = io.version(spark, cfg, SILVER_QUARANTINE)

    done = compact_written(spark, cfg)

    assert [(c.table, c.files_before, c.files_after) for c in done] == [(str(RUN_STEPS), 6, 1)]
    assert len(_files(spark, cfg, RUN_STEPS)) == 1
    assert io.read(spark, cfg, RUN_STEPS).count() == 6  # no row lost or added
    # One OPTIMIZE commit, without user metadata: the jobs' recovery lookups skip it.
    newest = io.history(spark, cfg, RUN_STEPS, limit=2)
    assert [r["operation"] for r in newest] == ["OPTIMIZE", "WRITE"]
    assert newest[0]["userMetadata"] is None
    assert io.version(spark, cfg, SILVER_QUARANTINE) == before  # one file: left alone
    # The sizes were set for OPTIMIZE only, and the written tables are forgotten once done.
    assert spark.conf.get(compaction.MIN_FILE_SIZE_CONF, None) is None
    assert compact_written(spark, cfg) == []


def test_a_table_created_by_the_run_is_left_as_it_wrote_it(spark, tmp_path, look_after_two_commits):
    """A first load is laid out as Spark wrote it; what earlier runs left is compacted."""
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    io.WRITES.take(cfg)
    rows = spark.createDataFrame([("a", 1)], "k STRING, n INT")
    for _ in range(3):
        io.append(cfg, SILVER_QUARANTINE, rows)  # an earlier run's table
    time.sleep(1.1)  # creation times are compared in whole seconds
    run_start = utc_now()
    for _ in range(3):
        io.append(cfg, RUN_STEPS, rows)  # created by this run
        io.append(cfg, SILVER_QUARANTINE, rows)

    done = compact_written(spark, cfg, since=run_start)

    assert [(c.table, c.files_before, c.files_after) for c in done] == [
        (str(SILVER_QUARANTINE), 6, 1)
    ]
    assert len(_files(spark, cfg, RUN_STEPS)) == 3


def test_big_files_are_never_rewritten(spark, tmp_path, monkeypatch, look_after_two_commits):
    """With a 2 KB "small" size: two files of about 20 KB stay as they are, the tiny ones are
    packed into one."""
    monkeypatch.setattr(compaction, "SMALL_FILE_BYTES", 2048)
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    io.WRITES.take(cfg)
    big = spark.range(300).select(F.sha2(F.col("id").cast("string"), 256).alias("k"))
    for _ in range(2):
        io.append(cfg, SILVER_USERS, big.coalesce(1))
    big_files = _files(spark, cfg, SILVER_USERS)
    # Forty one-row files in one commit (a file per row): what is packed is files, not commits.
    small = spark.createDataFrame([(f"small-{n}",) for n in range(40)], "k STRING").coalesce(1)
    spark.conf.set("spark.sql.files.maxRecordsPerFile", "1")
    try:
        io.append(cfg, SILVER_USERS, small)
    finally:
        spark.conf.unset("spark.sql.files.maxRecordsPerFile")
    assert len(_files(spark, cfg, SILVER_USERS)) == 42

    (done,) = compact_written(spark, cfg)

    assert (done.files_before, done.files_after) == (42, 3)
    assert big_files < _files(spark, cfg, SILVER_USERS)  # both big files still active
    assert io.read(spark, cfg, SILVER_USERS).count() == 640


def test_delta_auto_compaction_is_removed_from_an_older_table(
    spark, tmp_path, look_after_two_commits
):
    """Tables created before the jobs compacted themselves carry Delta's auto compaction, which
    compacts after every write: the first job to write one removes it."""
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    io.WRITES.take(cfg)
    path = cfg.table_path(RUN_STEPS.layer, RUN_STEPS.name)
    rows = spark.createDataFrame([("a", 1)], "k STRING, n INT")
    rows.write.format("delta").option(compaction.AUTO_COMPACT_PROPERTY, "true").save(path)
    io.append(cfg, RUN_STEPS, rows)

    compact_written(spark, cfg)

    detail = spark.sql(f"DESCRIBE DETAIL {io.sql_name(cfg, RUN_STEPS)}").first()
    assert compaction.AUTO_COMPACT_PROPERTY not in detail["properties"]
