"""The pipeline on the generator's sample: dirty rows, users in both releases, new files,
unknown files, and the summary an operator reads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
from pyspark.sql import functions as F

from c2c_etl import io, runner, tables
from c2c_etl.config import local_config
from c2c_etl.generator import generate, generate_delivery
from c2c_etl.gold.counts import count_silver_users
from c2c_etl.gold.model import build_fact_users
from c2c_etl.gold.reconciliation import reconcile
from c2c_etl.gold.views import GOLD_VIEWS, select
from c2c_etl.jobs import bronze, silver
from c2c_etl.jobs.common import RunContext, StepResult, new_run_id, record_steps
from c2c_etl.jobs.gold import build_gold, published_reports, reconciliation_summary
from c2c_etl.table_features import STATS_COLUMNS
from tests.etl.helpers import assert_same_rows, copy_lake
from tests.etl.integration.conftest import run_pipeline, versions


@pytest.fixture(scope="module")
def clean_base(spark, tmp_path_factory) -> Path:
    """A folder holding ``landing`` and ``lake`` after one run over a clean sample delivered to
    ``landing/day1`` (600 users of 2020, 200 of 2024, no dirty row, none in both releases):
    built once, and each test that starts from it goes on from a copy of its own."""
    root = tmp_path_factory.mktemp("clean-base")
    generate(root / "landing" / "day1", 600, 200, seed=21, dirty_rate=0.0, overlap=0.0)
    run_pipeline(spark, root / "landing", root / "lake")
    return root


class Delivered(NamedTuple):
    root: Path  # holding ``landing`` and ``lake``
    ctx: RunContext
    results: list[StepResult]
    counts_version: int | None  # agg_user_counts' version before the run


@pytest.fixture(scope="module")
def delivered(spark, clean_base, tmp_path_factory) -> Delivered:
    """The benchmark's incremental files on a copy of the clean base lake: a delivery of each
    release to ``landing/day2``, 100 users each, a fifth of them later versions of known users,
    no dirty row; and the run that took them in. Built once: tests that change the lake go on
    from a copy of their own."""
    root = tmp_path_factory.mktemp("delivered")
    landing, lake = copy_lake(clean_base, root)
    for release, seed in (("2020", 1), ("2024", 2)):
        generate_delivery(
            landing / "day2" / f"users_{release}_part_{seed:04d}.csv",
            release,
            100,
            seed,
            dirty_rate=0.0,
            update_from=landing / "day1" / f"users_{release}.csv",
            update_share=0.2,
        )
    counts_version = io.version(spark, local_config(landing, lake), tables.AGG_USER_COUNTS)
    ctx, results = run_pipeline(spark, landing, lake)
    return Delivered(root, ctx, results, counts_version)


def test_sample_run_quarantines_dirty_rows_and_the_2024_version_wins(spark, tmp_path):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    generate(landing, 4000, 1000, seed=11, dirty_rate=0.03, overlap=0.05)
    ctx, _ = run_pipeline(spark, landing, lake)

    audit = io.read(spark, ctx.cfg, tables.RUN_AUDIT).filter("step = 'silver_users'").collect()
    assert {r["source_file"] for r in audit} == {"users_2020.csv", "users_2024.csv"}
    assert all(r["balanced"] for r in audit)
    by_file = {r["source_file"]: r for r in audit}
    assert by_file["users_2020.csv"]["rows_duplicate"] >= 45  # superseded by 2024 versions
    assert sum(r["rows_quarantined"] for r in audit) > 0

    quarantine = io.read(spark, ctx.cfg, tables.SILVER_QUARANTINE)
    rules = {
        r["rule"]
        for r in quarantine.select(F.explode("failed_rules").alias("rule")).distinct().collect()
    }
    assert {
        "malformed_row",
        "invalid_number",
        "negative_count",
        "unknown_country",
        "missing_identifier",
        "pass_rate_out_of_range",
    } <= rules

    silver = io.read(spark, ctx.cfg, tables.SILVER_USERS)
    shared = (
        io.read(spark, ctx.cfg, tables.BRONZE_USERS_2020)
        .select("identifierHash")
        .intersect(io.read(spark, ctx.cfg, tables.BRONZE_USERS_2024).select("identifierHash"))
    )
    winners = silver.join(
        shared, F.col("identifier_hash").cast("string") == F.col("identifierHash")
    )
    assert winners.count() >= 45
    assert {r[0] for r in winners.select("release").distinct().collect()} == {"2024"}

    # The generator's publisher reports come from an independent, exact implementation of the
    # publisher's definitions over the 2020 users silver keeps: every figure must agree.
    recon = io.read(spark, ctx.cfg, tables.RECONCILIATION)
    assert recon.count() > 500
    assert recon.filter(~F.col("matches")).count() == 0


def test_new_files_are_picked_up_and_unknown_files_rejected(spark, clean_base, tmp_path):
    landing, lake = copy_lake(clean_base, tmp_path)  # 800 users delivered to day1
    ctx = RunContext(local_config(landing, lake), new_run_id())
    generate(landing / "day2", 0, 700, seed=6, dirty_rate=0.0, overlap=0.0)
    (landing / "day2" / "users_2020.csv").unlink()
    (landing / "day2" / "notes.csv").write_text("what,is,this\n1,2,3\n")
    before = versions(spark, ctx)
    ctx, _results = run_pipeline(spark, landing, lake)
    assert io.read(spark, ctx.cfg, tables.SILVER_USERS).count() == 1500
    log = {r["source_file"]: r for r in io.read(spark, ctx.cfg, tables.INGESTION_LOG).collect()}
    assert log["day2/notes.csv"]["status"] == "rejected"
    assert "unknown header" in log["day2/notes.csv"]["reason"]
    assert log["day2/users_2024.csv"]["status"] == "ingested"
    # No users of 2020, so no buyer: the generator's buyers report is a header alone.
    assert log["day2/Buyers-repartition-by-country.csv"]["status"] == "empty"
    assert log["day2/Buyers-repartition-by-country.csv"]["rows"] == 0
    after = versions(spark, ctx)
    assert after[str(tables.BRONZE_USERS_2020)] == before[str(tables.BRONZE_USERS_2020)]
    assert after[str(tables.BRONZE_USERS_2024)] > before[str(tables.BRONZE_USERS_2024)]


def test_deliveries_add_new_users_and_their_updates_win(spark, clean_base, delivered):
    """The benchmark's incremental files: a base lake, then deliveries of new users mixed with
    later versions of earlier users; silver keeps one row per user, the later version."""
    base = local_config(clean_base / "landing", clean_base / "lake")
    assert io.read(spark, base, tables.SILVER_USERS).count() == 800
    ctx, results, counts_version = delivered.ctx, delivered.results, delivered.counts_version
    silver = io.read(spark, ctx.cfg, tables.SILVER_USERS)
    assert silver.count() == 800 + 2 * 80  # 20 of each delivery's 100 users were known
    per_release = (
        silver.filter(F.col("source_file").startswith("day2/")).groupBy("release").count().collect()
    )
    assert {r["release"]: r["count"] for r in per_release} == {"2020": 100, "2024": 100}
    audit = io.read(spark, ctx.cfg, tables.RUN_AUDIT).filter("step = 'silver_users'").collect()
    assert all(r["balanced"] for r in audit)

    # Gold added only the changed users' change to its counts (one overwrite, no recount), and
    # wrote nothing for the user fact: a view of silver users, it shows the delivery as silver
    # holds it.
    steps = {r.step: r for r in results}
    assert steps["gold"].details["user_counts"] == "changes"
    assert io.version(spark, ctx.cfg, tables.AGG_USER_COUNTS) == counts_version + 1
    assert not (delivered.root / "lake" / "gold" / tables.FACT_USERS.name).exists()
    fact = io.read(spark, ctx.cfg, tables.FACT_USERS)
    full = build_fact_users(silver).select(*fact.columns)
    assert fact.count() == 960
    assert_same_rows(fact, full, tables.FACT_USERS)
    detail = spark.sql(f"DESCRIBE DETAIL {io.sql_name(ctx.cfg, tables.SILVER_USERS)}").first()
    assert detail["properties"]["delta.enableChangeDataFeed"] == "true"
    assert detail["properties"]["delta.enableDeletionVectors"] == "true"
    # The big tables keep file statistics on their lineage and key columns only (their write's
    # cost, docs/performance.md), in every file any write made, first load, MERGE or compaction;
    # every file still counts its rows, and silver reads a delivery by its content hash.
    for table, columns in STATS_COLUMNS.items():
        if table in tables.STAGING_TABLES:
            continue  # written by large batches only (the next test)
        files = _file_stats(ctx.cfg, table)
        assert len(files) >= 2, table
        for stats in files:
            assert set(stats["nullCount"]) == set(columns), table
            assert stats["numRecords"] > 0
    delivery = next(r for r in audit if r["source_file"] == "day2/users_2024_part_0002.csv")
    bronze = io.read(spark, ctx.cfg, tables.BRONZE_USERS_2024)
    one_file = bronze.filter(F.col("_source_sha256") == delivery["source_sha256"])
    assert one_file.count() == delivery["rows_read"] == 100
    # Two runs leave too few commits on any table for the compaction to look at it: it
    # reads no table's details and rewrites nothing (test_compaction.py: what it does then).
    assert steps["compact"].status == "skipped" and steps["compact"].details == {}


def _file_stats(cfg, table) -> list[dict]:
    """The statistics of every data file a commit of ``table`` added (its JSON Delta log)."""
    log = Path(cfg.table_path(table.layer, table.name)) / "_delta_log"
    found = []
    for commit in sorted(log.glob("*.json")):
        for line in commit.read_text().splitlines():
            added = json.loads(line).get("add")
            if added and added.get("stats"):
                found.append(json.loads(added["stats"]))
    return found


def _assert_gold_is_the_recount(spark, ctx, views: bool = False) -> None:
    """The tables a gold build writes, the user counts and the report sums (updated from the
    change feed) to the last digit, and the reconciliation, are those of a full recount of
    silver users as it is now. With ``views``, so are the gold views as readers get them: the
    country dimension and four aggregates over the counts, fact_users and the top lists over
    silver; they are computed when read, so one check of them after a build from the feed
    is enough."""
    # Silver read once: every recount below starts from the same snapshot of it.
    silver = io.read(spark, ctx.cfg, tables.SILVER_USERS).localCheckpoint()
    stored = io.read(spark, ctx.cfg, tables.AGG_USER_COUNTS)
    counts = count_silver_users(silver).localCheckpoint()
    assert_same_rows(stored, counts.select(*stored.columns), tables.AGG_USER_COUNTS)
    rebuilt = build_gold(silver)
    assert_same_rows(
        io.read(spark, ctx.cfg, tables.AGG_REPORT_SUMS),
        rebuilt[tables.AGG_REPORT_SUMS],
        tables.AGG_REPORT_SUMS,
    )
    recon = reconcile(rebuilt[tables.AGG_REPORT_SUMS], published_reports(spark, ctx))
    assert_same_rows(io.read(spark, ctx.cfg, tables.RECONCILIATION), recon, "reconciliation")
    if not views:
        return
    fact = build_fact_users(silver)
    dimension = GOLD_VIEWS[tables.DIM_COUNTRY]
    dim = select(dimension, agg_user_counts=counts)
    assert_same_rows(dim, select(dimension, agg_user_counts=silver), "dim from silver")
    for table, view in GOLD_VIEWS.items():
        expected = select(
            view, agg_user_counts=counts, dim_country=dim, fact_users=fact, users=silver
        )
        assert_same_rows(io.read(spark, ctx.cfg, table), expected, table)


def test_a_silver_table_of_an_earlier_version_is_refused_and_can_be_rebuilt(
    spark, clean_base, tmp_path
):
    """Silver users written with the SHA-256 record hash (a string, before issue 7) is not
    MERGEd into: the run stops with what to do, which rebuilds the same users."""
    landing, lake = copy_lake(clean_base, tmp_path)
    ctx = RunContext(local_config(landing, lake), new_run_id())
    silver = io.read(spark, ctx.cfg, tables.SILVER_USERS)
    old = silver.withColumn("record_hash", F.sha2(F.col("record_hash").cast("string"), 256))
    io.overwrite(ctx.cfg, tables.SILVER_USERS, old.localCheckpoint())
    generate_delivery(landing / "day2" / "users_2020_part_0001.csv", "2020", 50, 6, dirty_rate=0.0)

    expected = r"record_hash is string, this version writes bigint.*docs/runbook\.md"
    with pytest.raises(RuntimeError, match=expected):
        run_pipeline(spark, landing, lake)
    assert io.read(spark, ctx.cfg, tables.SILVER_USERS).count() == 800  # nothing written

    for layer in ("silver", "gold"):
        shutil.rmtree(lake / layer)
    ctx, _ = run_pipeline(spark, landing, lake)
    rebuilt = io.read(spark, ctx.cfg, tables.SILVER_USERS)
    assert rebuilt.count() == 850
    assert dict(rebuilt.dtypes)["record_hash"] == "bigint"
    assert io.read(spark, ctx.cfg, tables.FACT_USERS).count() == 850


def test_an_upgraded_lake_loses_the_tables_now_views_and_readers_get_the_views(
    spark, clean_base, tmp_path
):
    """A lake the version before gold's views built holds the four aggregates as Delta tables
    under the views' names. The first run after the upgrade, with no new input, removes them
    and says so: left, they would give a reader of their path the figures of their last build."""
    landing, lake = copy_lake(clean_base, tmp_path)
    cfg = local_config(landing, lake)
    expected = {t: io.read(spark, cfg, t).localCheckpoint() for t in tables.VIEW_TABLES}
    folders = {t: Path(cfg.table_path(t.layer, t.name)) for t in tables.VIEW_TABLES}
    for table, rows in expected.items():
        rows.limit(1).write.format("delta").save(str(folders[table]))  # stale figures

    ctx, results = run_pipeline(spark, landing, lake)

    gold = {r.step: r for r in results}["gold"]
    assert gold.status == "skipped"  # silver unchanged: no table written
    assert gold.details["retired_tables"] == [str(t) for t in tables.VIEW_TABLES]
    for table, rows in expected.items():
        assert not folders[table].exists(), table
        assert_same_rows(io.read(spark, ctx.cfg, table), rows, str(table))
    _, again = run_pipeline(spark, landing, lake)
    assert "retired_tables" not in {r.step: r for r in again}["gold"].details


def test_a_large_batch_staged_in_a_table_gives_what_the_cache_gives(spark, tmp_path, monkeypatch):
    """A batch of more than silver.STAGE_TABLE_MIN_ROWS rows has its checked rows written to a
    staging table instead of cached: the same users, quarantine and row figures as the cache,
    on a first load and on a delivery that updates known users. Two lakes get the same bronze
    (one lake's bronze folder copied to the other), then each its own silver step."""
    landing = tmp_path / "landing"
    generate(landing / "day1", 1500, 500, seed=31, dirty_rate=0.03, overlap=0.05)
    lakes = {"cache": tmp_path / "cache", "table": tmp_path / "table"}
    cfgs = {how: local_config(landing, lake) for how, lake in lakes.items()}

    def silver_step(how: str) -> None:
        ctx = RunContext(cfgs[how], new_run_id())
        with monkeypatch.context() as patch:
            patch.setattr(silver, "STAGE_TABLE_MIN_ROWS", 1 if how == "table" else 10**9)
            assert silver.run_users(spark, ctx).status == "succeeded"
        record_steps(spark, ctx)  # the run audit's rows, as the runner commits them

    def same_silver() -> None:
        for table, drop in (
            (tables.SILVER_USERS, ()),
            (tables.SILVER_QUARANTINE, ()),
            (tables.RUN_AUDIT, ("run_id", "started_at", "finished_at")),
        ):
            a, b = (io.read(spark, cfgs[how], table).drop(*drop) for how in lakes)
            assert_same_rows(a, b, table)

    def ingest_then_silver() -> None:
        ingest = RunContext(cfgs["cache"], new_run_id())
        bronze.run(spark, ingest)
        record_steps(spark, ingest)  # the ingestion log's rows, as the runner commits them
        shutil.copytree(lakes["cache"] / "bronze", lakes["table"] / "bronze", dirs_exist_ok=True)
        for how in lakes:
            silver_step(how)
        same_silver()

    ingest_then_silver()  # the first load: no silver table yet
    generate_delivery(
        landing / "day2" / "users_2024_part_0001.csv",
        "2024",
        300,
        7,
        dirty_rate=0.03,
        update_from=landing / "day1" / "users_2024.csv",
        update_share=0.3,
    )
    ingest_then_silver()  # a MERGE: new users and later versions of known ones

    audit = io.read(spark, cfgs["table"], tables.RUN_AUDIT).filter("step = 'silver_users'")
    assert audit.count() == 3 and audit.filter("balanced").count() == 3
    day2 = audit.filter("source_file LIKE 'day2/%'").first()
    assert day2["rows_read"] == 300 and day2["rows_quarantined"] > 0
    users = io.read(spark, cfgs["table"], tables.SILVER_USERS)
    assert users.filter("source_file LIKE 'day2/%'").count() == day2["rows_to_silver"] > 200
    # The staging table holds the last batch: the delivery's rows, checked, none lost.
    checked = io.read(spark, cfgs["table"], tables.SILVER_USERS_CHECKED)
    assert checked.count() == 300
    assert not io.exists(spark, cfgs["cache"], tables.SILVER_USERS_CHECKED)


def test_gold_counts_follow_silver_changes_as_a_recount_would(spark, delivered, tmp_path):
    """Deliveries with updates (the later ones dirty: null genders, unknown app flags): gold
    updates its counts from silver's change feed, not by recounting, and every aggregate
    equals the full recount's, also when its tables were last built from different silver
    versions; after users are deleted from silver, gold recounts."""
    # The clean base lake's first build was the recount itself; the delivered lake's run
    # updated the counts from the feed: compared with a recount of silver as it is now.
    gold_details = {r.step: r for r in delivered.results}["gold"].details
    assert gold_details["user_counts"] == "changes"
    # 2020 users changed: recomputed against the published figures the reconciliation holds.
    assert gold_details["publisher_report_reconciliation"] == "changes"
    landing, lake = copy_lake(delivered.root, tmp_path)
    ctx = RunContext(local_config(landing, lake), new_run_id())
    _assert_gold_is_the_recount(spark, ctx, views=True)

    # New 2024 users only: the reconciliation (of 2020 users) is kept as it is. And a counts
    # table with other columns (as an earlier version wrote it), recorded as built from the
    # current silver versions: the build recounts it instead of adding to it.
    recon_version = io.version(spark, ctx.cfg, tables.RECONCILIATION)
    counts = io.read(spark, ctx.cfg, tables.AGG_USER_COUNTS)
    ((_version, meta, _metrics),) = io.commits(spark, ctx.cfg, tables.AGG_USER_COUNTS, limit=1)
    older = counts.drop(counts.columns[-1])
    io.overwrite(ctx.cfg, tables.AGG_USER_COUNTS, older, user_metadata=meta)
    generate_delivery(landing / "day3" / "users_2024_part_0007.csv", "2024", 60, 7)
    ctx, results = run_pipeline(spark, landing, lake)
    gold_details = {r.step: r for r in results}["gold"].details
    assert gold_details["publisher_report_reconciliation"] == "current"
    assert io.version(spark, ctx.cfg, tables.RECONCILIATION) == recon_version
    # The summary of the kept table, from its last build's commit.
    recon = io.read(spark, ctx.cfg, tables.RECONCILIATION)
    assert gold_details["reconciliation"] == reconciliation_summary(recon)
    assert gold_details["user_counts"] == "rebuild"
    assert io.read(spark, ctx.cfg, tables.AGG_USER_COUNTS).columns == counts.columns
    _assert_gold_is_the_recount(spark, ctx)

    # Updated 2020 users: the reconciliation was last built before the 2024 delivery above, the
    # counts and sums after it. Each takes the silver changes after its own build. The stored
    # reconciliation is as an earlier version wrote it, without the column that tells the
    # report's rows apart: it is rebuilt from the reports.
    ((_version, meta, _metrics),) = io.commits(spark, ctx.cfg, tables.RECONCILIATION, limit=1)
    io.overwrite(
        ctx.cfg,
        tables.RECONCILIATION,
        recon.drop("in_report").localCheckpoint(),
        user_metadata=meta,
    )
    generate_delivery(
        landing / "day4" / "users_2020_part_0008.csv",
        "2020",
        40,
        8,
        update_from=landing / "day1" / "users_2020.csv",
        update_share=0.5,
    )
    ctx, results = run_pipeline(spark, landing, lake)
    gold_details = {r.step: r for r in results}["gold"].details
    assert gold_details["publisher_report_reconciliation"] == "rebuild"
    assert gold_details["user_counts"] == gold_details["report_sums"] == "changes"
    _assert_gold_is_the_recount(spark, ctx)

    # Users removed from silver (by an operator's DELETE or RESTORE): gold counts again.
    silver = io.sql_name(ctx.cfg, tables.SILVER_USERS)
    spark.sql(f"DELETE FROM {silver} WHERE identifier_hash % 5 = 0")
    ctx, results = run_pipeline(spark, landing, lake)
    gold_details = {r.step: r for r in results}["gold"].details
    assert gold_details["user_counts"] == "rebuild"
    _assert_gold_is_the_recount(spark, ctx)


def test_a_rejected_file_is_ingested_once_a_release_knows_its_header(
    spark, clean_base, tmp_path, monkeypatch
):
    """The runbook's schema change procedure: the file is rejected, reruns leave it alone, and
    after a release that recognises its header the same file is ingested."""
    landing, lake = copy_lake(clean_base, tmp_path)  # 800 users delivered to day1
    delivered = "day2/users_2024_part_0009.csv"
    generate_delivery(landing / delivered, "2024", 100, 9, dirty_rate=0.0)
    real_detect = bronze.detect_kind
    # The release before the schema change does not know the 2024 header.
    monkeypatch.setattr(
        bronze, "detect_kind", lambda h: None if "websiteLongevity" in h else real_detect(h)
    )
    ctx, _ = run_pipeline(spark, landing, lake)
    log = {r["source_file"]: r for r in io.read(spark, ctx.cfg, tables.INGESTION_LOG).collect()}
    assert log[delivered]["status"] == "rejected"
    assert io.read(spark, ctx.cfg, tables.SILVER_USERS).count() == 800
    before = versions(spark, ctx)
    ctx, _ = run_pipeline(spark, landing, lake)
    assert versions(spark, ctx) == before  # a rerun adds no second rejection
    monkeypatch.setattr(bronze, "detect_kind", real_detect)  # the new release
    ctx, _ = run_pipeline(spark, landing, lake)
    statuses = [
        r["status"]
        for r in io.read(spark, ctx.cfg, tables.INGESTION_LOG).collect()
        if r["source_file"] == delivered
    ]
    assert statuses.count("rejected") == 1 and statuses.count("ingested") == 1
    # The delivery's users arrived in silver.
    assert io.read(spark, ctx.cfg, tables.SILVER_USERS).count() == 900


def test_main_prints_the_run_summary(spark, tmp_path, capsys):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    generate(landing, 1000, 200, seed=2, dirty_rate=0.02)
    runner.main("c2c-pipeline", ["--env", "local", "--input", str(landing), "--lake", str(lake)])
    out = capsys.readouterr().out
    for expected in (
        "Time per step:",
        "spark start-up",
        "silver_users",
        "balanced",
        "Files in this run",
        "users_2020.csv: ",
        "to silver",
        "Publisher report reconciliation",
        f"Tables: {lake}",
    ):
        assert expected in out
    assert "NOT BALANCED" not in out
    # A rerun with no new input says so instead of recounting a lake it did not change:
    # without starting Spark (test_lake_state.py), or, made to start it, after each step
    # found nothing to do.
    runner.main("c2c-pipeline", ["--env", "local", "--input", str(landing), "--lake", str(lake)])
    rerun = capsys.readouterr().out
    assert "No new input" in rerun and "Spark was not started" in rerun
    assert "Files in this run" not in rerun
    runner.main(
        "c2c-pipeline",
        ["--env", "local", "--input", str(landing), "--lake", str(lake), "--full-check"],
    )
    rerun = capsys.readouterr().out
    assert "No new input: no table changed" in rerun
    assert "Files in this run" not in rerun and "skipped" in rerun
