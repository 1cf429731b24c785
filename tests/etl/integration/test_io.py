"""The lake I/O in Spark SQL (no Delta Python client): table detection, history, MERGE and
gold's views."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from c2c_etl import io
from c2c_etl.config import LakeConfig, local_config
from c2c_etl.gold.counts import MEASURES
from c2c_etl.gold.views import GOLD_VIEWS, VIEWS_BY_NAME, select
from c2c_etl.tables import (
    AGG_APP_ADOPTION,
    AGG_ENGAGEMENT_FUNNEL,
    AGG_USER_COUNTS,
    DIM_COUNTRY,
    FACT_USERS,
    GOLD,
    RETIRED_TABLES,
    SILVER_USERS,
)
from tests.etl.helpers import assert_same_rows
from tests.etl.unit.test_gold import _user, _users


def test_only_a_committed_delta_table_exists(spark, tmp_path):
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    folder = tmp_path / "lake" / SILVER_USERS.layer / SILVER_USERS.name
    assert not io.exists(spark, cfg, SILVER_USERS)  # no folder
    assert io.version(spark, cfg, SILVER_USERS) is None
    (folder / "_delta_log").mkdir(parents=True)
    assert not io.exists(spark, cfg, SILVER_USERS)  # a first write that has not committed
    assert io.history(spark, cfg, SILVER_USERS) == []
    assert io.version(spark, cfg, SILVER_USERS) is None
    io.append(cfg, SILVER_USERS, spark.createDataFrame([("a", 1)], "k STRING, n INT"))
    assert io.exists(spark, cfg, SILVER_USERS)
    assert io.version(spark, cfg, SILVER_USERS) == 0


def test_a_relative_lake_folder_works_in_spark_sql(spark, tmp_path, monkeypatch):
    # `--lake lake` from a shell: tables named in SQL (MERGE, OPTIMIZE, DESCRIBE) were looked
    # up relative to somewhere else, and a run failed at its compaction.
    monkeypatch.chdir(tmp_path)
    cfg = local_config("landing", "lake")
    io.append(cfg, SILVER_USERS, spark.createDataFrame([("a", 1)], "k STRING, n INT"))
    assert (tmp_path / "lake" / SILVER_USERS.layer / SILVER_USERS.name / "_delta_log").is_dir()
    detail = spark.sql(f"DESCRIBE DETAIL {io.sql_name(cfg, SILVER_USERS)}").first()
    assert detail["numFiles"] == 1
    assert cfg.landing_path == str(tmp_path / "landing")


def test_upsert_inserts_new_keys_and_updates_only_where_the_condition_holds(spark, tmp_path):
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    schema = "k STRING, n INT, note STRING"
    io.append(cfg, SILVER_USERS, spark.createDataFrame([("a", 1, "old"), ("b", 5, "old")], schema))
    source = spark.createDataFrame([("a", 2, "new"), ("b", 3, "new"), ("c", 1, "new")], schema)
    meta = {"step": "test", "files": {"sha": 1}}

    io.upsert(spark, cfg, SILVER_USERS, source, "k", "s.n > t.n", user_metadata=meta)

    rows = sorted(tuple(r) for r in io.read(spark, cfg, SILVER_USERS).collect())
    assert rows == [("a", 2, "new"), ("b", 5, "old"), ("c", 1, "new")]
    # The newest commit is the MERGE.
    ((_version, committed, metrics),) = io.commits(spark, cfg, SILVER_USERS, limit=1)
    assert committed == meta
    assert (metrics["numTargetRowsUpdated"], metrics["numTargetRowsInserted"]) == ("1", "1")
    # The MERGE leaves nothing behind in the session: no source view, no commit metadata.
    assert not [t for t in spark.catalog.listTables() if t.name.startswith("c2c_merge_source")]
    assert spark.conf.get(io.USER_METADATA_CONF, None) is None
    # A MERGE without metadata commits none (the setting did not leak into the next commit).
    # (A MERGE that changes nothing makes no commit, so this one brings a new key.)
    newer = spark.createDataFrame([("d", 1, "new")], schema)
    io.upsert(spark, cfg, SILVER_USERS, newer, "k", "s.n > t.n")
    assert io.commits(spark, cfg, SILVER_USERS, limit=1)[0][1] == {}


def test_commits_since_a_time_reads_only_the_newer_commits(spark, tmp_path):
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    df = spark.createDataFrame([("a", 1)], "k STRING, n INT")
    for n in range(3):
        io.append(cfg, SILVER_USERS, df, user_metadata={"n": n})
    newest = io.history(spark, cfg, SILVER_USERS)[0]["timestamp"]
    since = io.commits(spark, cfg, SILVER_USERS, since=newest)
    assert [meta for _version, meta, _metrics in since] == [{"n": 2}]
    assert [v for v, _meta, _metrics in io.commits(spark, cfg, SILVER_USERS)] == [2, 1, 0]
    assert since[0][2]["numOutputRows"] == "1"


def test_the_data_version_skips_commits_that_change_no_row(spark, tmp_path):
    """A compaction or a property change is a new version with the same rows: gold compares
    data versions, so they make no work for it."""
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    assert io.data_version(spark, cfg, SILVER_USERS) is None
    for n in range(2):
        io.append(cfg, SILVER_USERS, spark.createDataFrame([("a", n)], "k STRING, n INT"))
    name = io.sql_name(cfg, SILVER_USERS)
    spark.sql(f"OPTIMIZE {name}")
    spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES ('c2c.note' = 'x')")
    assert io.version(spark, cfg, SILVER_USERS) == 3
    assert io.data_version(spark, cfg, SILVER_USERS) == 1
    io.append(cfg, SILVER_USERS, spark.createDataFrame([("b", 1)], "k STRING, n INT"))
    assert io.data_version(spark, cfg, SILVER_USERS) == 4


def test_a_merge_never_broadcasts_the_target(spark, tmp_path, monkeypatch):
    """Spark sizes a one-column read of the target from its Parquet bytes and would broadcast
    10M keys into the driver (an out-of-memory failure of the 10M incremental run): MERGEs run
    with broadcast joins off, and the session's own setting comes back afterwards."""
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    schema = "k STRING, n INT"
    io.append(cfg, SILVER_USERS, spark.createDataFrame([("a", 1)], schema))
    threshold = "spark.sql.autoBroadcastJoinThreshold"
    spark.conf.set(threshold, "12345")
    seen = []
    real_sql = spark.sql

    def sql(statement, *args, **kwargs):
        if statement.startswith("MERGE INTO"):
            seen.append(spark.conf.get(threshold))
        return real_sql(statement, *args, **kwargs)

    monkeypatch.setattr(spark, "sql", sql)
    try:
        io.upsert(spark, cfg, SILVER_USERS, spark.createDataFrame([("b", 1)], schema), "k", "true")
    finally:
        monkeypatch.undo()
        after = spark.conf.get(threshold)
        spark.conf.unset(threshold)
    assert seen == ["-1"]
    assert after == "12345"
    assert sorted(r["k"] for r in io.read(spark, cfg, SILVER_USERS).collect()) == ["a", "b"]


def _executions_after(spark, last: int) -> dict[int, str]:
    """The SQL executions of the session after the one numbered ``last``: their ids and
    physical plans (Spark's status store, kept with the UI off, oldest first). Read from the
    newest back: a session that has run many tests keeps up to a thousand, each a call into the
    JVM."""
    executions = spark._jsparkSession.sharedState().statusStore().executionsList()
    found = {}
    for i in reversed(range(executions.size())):
        execution = executions.apply(i)
        if execution.executionId() <= last:
            break
        found[execution.executionId()] = execution.physicalPlanDescription()
    return found


def _last_execution(spark) -> int:
    """The id of the session's newest SQL execution (-1 before any)."""
    executions = spark._jsparkSession.sharedState().statusStore().executionsList()
    size = executions.size()
    return executions.apply(size - 1).executionId() if size else -1


def test_a_staged_merge_filters_the_target_by_the_source_keys_before_joining(
    spark, tmp_path, monkeypatch
):
    """With a staging table, the source is written there first and the MERGE reads it back:
    the same rows as a MERGE from the DataFrame, the staging table holds that batch alone, and
    Spark filters the target's rows by a Bloom filter of the source's keys before the join
    (the 10M-user MERGE's gain, docs/performance.md). The test's target is a few KB, so the
    target-size threshold of that filter (and of staging) is lowered here; everything else is
    the job's own."""
    from c2c_etl.tables import SILVER_USERS_MERGE_SOURCE

    monkeypatch.setitem(
        io.STAGED_MERGE_CONF,
        "spark.sql.optimizer.runtime.bloomFilter.applicationSideScanSizeThreshold",
        "0",
    )
    monkeypatch.setattr(io, "STAGE_MIN_TARGET_BYTES", 0)
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    schema = "k STRING, n INT, note STRING"
    stored = [(f"u{i:04d}", i, "old") for i in range(2000)]
    io.append(cfg, SILVER_USERS, spark.createDataFrame(stored, schema).repartition(4))
    changes = [("u0007", 100, "new"), ("u0008", 1, "new"), ("new1", 1, "new")]
    before = _last_execution(spark)

    io.upsert(
        spark,
        cfg,
        SILVER_USERS,
        spark.createDataFrame(changes, schema),
        "k",
        "s.n > t.n",
        staging=SILVER_USERS_MERGE_SOURCE,
    )

    rows = {r["k"]: (r["n"], r["note"]) for r in io.read(spark, cfg, SILVER_USERS).collect()}
    assert len(rows) == 2001
    assert rows["u0007"] == (100, "new") and rows["u0008"] == (8, "old")
    assert rows["new1"] == (1, "new")
    staged = io.read(spark, cfg, SILVER_USERS_MERGE_SOURCE).drop(io.STAGED_BATCH_COLUMN)
    assert sorted(tuple(r) for r in staged.collect()) == sorted(changes)
    merge_plans = list(_executions_after(spark, before).values())
    assert any("might_contain" in plan for plan in merge_plans)
    # The next batch replaces the staged one, and the session settings are back as they were.
    io.upsert(
        spark,
        cfg,
        SILVER_USERS,
        spark.createDataFrame([("new2", 1, "new")], schema),
        "k",
        "true",
        staging=SILVER_USERS_MERGE_SOURCE,
    )
    assert [r["k"] for r in io.read(spark, cfg, SILVER_USERS_MERGE_SOURCE).collect()] == ["new2"]
    assert io.read(spark, cfg, SILVER_USERS).count() == 2002
    assert spark.conf.get("spark.databricks.delta.merge.materializeSource", None) is None


def test_a_local_tables_size_is_its_checksum_files_and_describe_details_without_one(
    spark, tmp_path
):
    """Locally the size that decides a MERGE's staging comes from the checksum file Delta
    writes beside the newest commit, no query; it is the size DESCRIBE DETAIL reports, and
    a commit without its checksum file (a process died after the commit) is asked of Delta."""
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    io.append(cfg, SILVER_USERS, spark.range(500).selectExpr("cast(id as string) k"))
    io.append(cfg, SILVER_USERS, spark.range(300).selectExpr("cast(id as string) k"))
    described = spark.sql(f"DESCRIBE DETAIL {io.sql_name(cfg, SILVER_USERS)}").first()
    assert described is not None and described["sizeInBytes"] > 0
    assert io.size_bytes(spark, cfg, SILVER_USERS) == described["sizeInBytes"]

    log = tmp_path / "lake" / "silver" / "users" / "_delta_log"
    (log / "00000000000000000001.crc").unlink()
    assert io._local_checksum_size(cfg, SILVER_USERS) is None
    assert io.size_bytes(spark, cfg, SILVER_USERS) == described["sizeInBytes"]


def test_a_merge_into_a_small_target_is_not_staged(spark, tmp_path):
    """Below the Bloom filter's target size the staging write would buy nothing: the MERGE
    reads the source as given, with the same result, and writes no staging table."""
    from c2c_etl.tables import SILVER_USERS_MERGE_SOURCE

    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    schema = "k STRING, n INT"
    io.append(cfg, SILVER_USERS, spark.createDataFrame([("a", 1), ("b", 5)], schema))
    assert io.size_bytes(spark, cfg, SILVER_USERS) < io.STAGE_MIN_TARGET_BYTES
    source = spark.createDataFrame([("a", 3), ("b", 2), ("c", 1)], schema)

    io.upsert(spark, cfg, SILVER_USERS, source, "k", "s.n > t.n", staging=SILVER_USERS_MERGE_SOURCE)

    rows = sorted(tuple(r) for r in io.read(spark, cfg, SILVER_USERS).collect())
    assert rows == [("a", 3), ("b", 5), ("c", 1)]
    assert not io.exists(spark, cfg, SILVER_USERS_MERGE_SOURCE)


def _gold_counts(spark, cfg) -> None:
    """A small gold.agg_user_counts: what gold's views read."""
    keys = "release STRING, country_code STRING, country_name STRING, "
    keys += "country_name_source STRING, gender STRING, seniority_days INT"
    schema = keys + "".join(f", {m} BIGINT" for m in MEASURES)
    rows = [
        ("2020", "FR", "France", "France", "F", 10, *[4] * len(MEASURES)),
        ("2020", "FR", "France", "France", "M", 12, *[2] * len(MEASURES)),
        ("2024", "ES", "Spain", "Espagne", "F", 10, *[1] * len(MEASURES)),
    ]
    counts = spark.createDataFrame(rows, schema)
    io.append(cfg, AGG_USER_COUNTS, counts)


def test_a_gold_view_reads_as_its_sql_over_the_lake_and_is_never_written(spark, tmp_path):
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    assert not io.exists(spark, cfg, AGG_APP_ADOPTION)  # nothing to read yet
    _gold_counts(spark, cfg)
    assert io.exists(spark, cfg, AGG_APP_ADOPTION)
    rows = io.read(spark, cfg, AGG_APP_ADOPTION).orderBy("country_code").collect()
    assert [(r["country_code"], r["country_name"], r["users_with_app_data"]) for r in rows] == [
        ("ES", "Spain", 1),
        ("FR", "France", 6),
    ]
    # A BI view over a gold view renders both over the Delta folders.
    io.create_views(spark, cfg, [VIEWS_BY_NAME["bi_country_kpis"]])
    assert spark.table("bi_country_kpis").agg(F.sum("users")).first()[0] == 7
    # No files, no versions, no writes: the view is as fresh as the counts.
    assert not (tmp_path / "lake" / "gold" / AGG_APP_ADOPTION.name).exists()
    assert io.history(spark, cfg, AGG_APP_ADOPTION) == []
    with pytest.raises(ValueError, match="is a view"):
        io.overwrite(cfg, AGG_APP_ADOPTION, io.read(spark, cfg, AGG_APP_ADOPTION))


def test_tables_an_earlier_version_wrote_under_view_names_are_removed_locally(spark, tmp_path):
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    _gold_counts(spark, cfg)
    stale = tmp_path / "lake" / "gold" / AGG_ENGAGEMENT_FUNNEL.name
    spark.range(3).write.format("delta").save(str(stale))
    # A staging table no step writes any more goes too.
    (retired,) = RETIRED_TABLES
    scratch = tmp_path / "lake" / retired.layer / retired.name
    spark.range(3).write.format("delta").save(str(scratch))
    assert io.retire_view_tables(spark, cfg) == [AGG_ENGAGEMENT_FUNNEL, retired]
    assert not stale.exists() and not scratch.exists()
    assert io.retire_view_tables(spark, cfg) == []  # nothing left to remove
    assert io.read(spark, cfg, AGG_ENGAGEMENT_FUNNEL).count() == 8  # 4 stages in each release


@pytest.fixture
def catalog_gold(spark, tmp_path):
    """A cloud configuration whose catalog is the local session's: gold is a schema of it, its
    tables Delta tables in ``tmp_path``. Dropped afterwards, views and all."""
    for layer in ("silver", "gold"):
        spark.sql(f"CREATE SCHEMA spark_catalog.{layer} LOCATION '{tmp_path / layer}'")
    cfg = LakeConfig("dev", str(tmp_path / "landing"), catalog="spark_catalog")
    try:
        yield cfg
    finally:
        for layer in ("silver", "gold"):
            spark.sql(f"DROP SCHEMA spark_catalog.{layer} CASCADE")


def test_in_the_catalog_a_table_under_a_view_name_is_dropped_and_the_view_created(
    spark, catalog_gold
):
    cfg = catalog_gold
    _gold_counts(spark, cfg)
    # What the user fact, and the top-100 views over it, read: silver users.
    io.append(cfg, SILVER_USERS, _users(spark, [_user(1, bought=3, listed=1)]))
    legacy = cfg.table_name(AGG_APP_ADOPTION.layer, AGG_APP_ADOPTION.name)
    spark.range(3).write.format("delta").saveAsTable(legacy)  # an earlier version's table
    gold = list(GOLD_VIEWS.values())
    assert io.views_missing(spark, cfg, gold)  # the name is there, but as a table
    assert io.retire_view_tables(spark, cfg) == [AGG_APP_ADOPTION]
    assert io.create_views(spark, cfg, gold) == [
        cfg.table_name(GOLD, v.name) for v in GOLD_VIEWS.values()
    ]
    assert not io.views_missing(spark, cfg, gold)
    assert spark.catalog.getTable(legacy).tableType == "VIEW"
    assert io.retire_view_tables(spark, cfg) == []  # a view is left alone
    assert spark.catalog.getTable(cfg.table_name(GOLD, FACT_USERS.name)).tableType == "VIEW"
    (user,) = io.read(spark, cfg, FACT_USERS).collect()  # silver users' one row, segmented
    assert (user["identifier_hash"], user["buyer_segment"]) == (1, "buyer")
    expected = GOLD_VIEWS[AGG_APP_ADOPTION]
    counts, dim = io.read(spark, cfg, AGG_USER_COUNTS), io.read(spark, cfg, DIM_COUNTRY)
    assert_same_rows(
        io.read(spark, cfg, AGG_APP_ADOPTION),
        select(expected, agg_user_counts=counts, dim_country=dim),
        legacy,
    )
