"""The pipeline on the real dataset: reconciliation, accounting, reruns, incremental runs."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import functions as F

from c2c_etl import io, tables
from tests.etl import helpers
from tests.etl.integration.conftest import (
    REPORT_FILES,
    USERS_2020_FILE,
    USERS_2024_FILE,
    land,
    run_pipeline,
    versions,
)


def test_every_published_figure_is_reproduced(spark, full_run):
    ctx, _ = full_run
    recon = io.read(spark, ctx.cfg, tables.RECONCILIATION)
    per_report = {
        r["report"]: (r["cells"], r["matched"])
        for r in recon.groupBy("report")
        .agg(F.count(F.lit(1)).alias("cells"), F.sum(F.col("matches").cast("int")).alias("matched"))
        .collect()
    }
    # Cells of the published CSVs: 62 x 31, 73 x 17, 19 x 25 metrics.
    assert per_report == {
        "report_buyers_by_country": (1922, 1922),
        "report_sellers_by_gender_country": (1241, 1241),
        "report_top_seller_countries": (475, 475),
    }
    assert (
        recon.filter(F.col("published_value").isNull() != F.col("computed_value").isNull()).count()
        == 0
    )


def test_row_accounting_balances_exactly_per_file(spark, full_run):
    ctx, _ = full_run
    audit = io.read(spark, ctx.cfg, tables.RUN_AUDIT).filter(F.col("step") == "silver_users")
    rows = {r["source_file"]: r for r in audit.collect()}
    assert rows[USERS_2020_FILE]["rows_read"] == 98913
    assert rows[USERS_2024_FILE]["rows_read"] == 20743
    for r in rows.values():
        assert r["balanced"] and r["status"] == "succeeded"
        assert r["rows_read"] == r["rows_to_silver"] + r["rows_quarantined"] + r["rows_duplicate"]
    silver = io.read(spark, ctx.cfg, tables.SILVER_USERS)
    quarantine = io.read(spark, ctx.cfg, tables.SILVER_QUARANTINE)
    bronze = sum(
        io.read(spark, ctx.cfg, t).count()
        for t in (tables.BRONZE_USERS_2020, tables.BRONZE_USERS_2024)
    )
    duplicates = sum(r["rows_duplicate"] for r in rows.values())
    assert bronze == silver.count() + quarantine.count() + duplicates == 98913 + 20743
    assert silver.count() == silver.select("identifier_hash").distinct().count()


def test_profiled_quality_issues_are_flagged_in_the_real_data(spark, full_run):
    ctx, _ = full_run
    silver = io.read(spark, ctx.cfg, tables.SILVER_USERS)
    flags = {
        r["rule"]: r["n"]
        for r in silver.select(F.explode("dq_flags").alias("rule"))
        .groupBy("rule")
        .agg(F.count(F.lit(1)).alias("n"))
        .collect()
    }
    assert flags["implausible_last_login"] == 10  # daysSinceLastLogin up to 737028
    assert flags["missing_country_code"] == 33  # 2024 rows without countryCode
    assert flags["invalid_language"] == 1  # language "74"
    assert flags["country_code_mismatch"] == 15  # Guyane coded gy; Îles Canaries coded ic
    assert silver.filter(F.col("days_since_last_login") > F.col("seniority_days")).count() == 0
    assert silver.filter(F.col("country_code").isNull()).count() == 0


def test_rerun_without_new_input_changes_no_table(spark, full_run):
    ctx, _ = full_run
    before = versions(spark, ctx)
    _, results = run_pipeline(spark, Path(ctx.cfg.landing_path), Path(ctx.cfg.lake_root))
    assert {r.step: r.status for r in results} == {
        "bronze": "skipped",
        "silver_users": "skipped",
        "silver_reports": "skipped",
        "gold": "skipped",
        "compact": "skipped",  # nothing written, nothing to compact
    }
    assert versions(spark, ctx) == before


def test_redelivered_file_is_not_ingested_twice(spark, full_run, real_data, tmp_path):
    full_ctx, _ = full_run
    # A copy: the delivery changes the landing folder the session's other tests read.
    landing, lake = helpers.copy_lake(Path(full_ctx.cfg.landing_path).parent, tmp_path)
    (landing / "again").mkdir()
    (landing / "again" / "renamed-buyers.csv").write_bytes(
        (real_data / REPORT_FILES[0]).read_bytes()
    )
    ctx, results = run_pipeline(spark, landing, lake)
    assert all(r.status == "skipped" for r in results)
    assert versions(spark, ctx) == versions(spark, full_ctx)


def test_incremental_runs_give_the_same_gold_as_one_full_run(spark, full_run, real_data, tmp_path):
    full_ctx, _ = full_run
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    land(real_data, landing, USERS_2020_FILE, *REPORT_FILES)
    run_pipeline(spark, landing, lake)
    land(real_data, landing, USERS_2024_FILE)
    ctx, results = run_pipeline(spark, landing, lake)
    assert {r.step: r.status for r in results}["silver_reports"] == "skipped"
    helpers.assert_same_gold(spark, full_ctx.cfg, ctx.cfg)


def test_the_engagement_funnel_nests_per_release_and_cohorts_carry_information(spark, full_run):
    """On the real data: each release's funnel shrinks stage by stage (2024 without 'active'),
    no row sums the releases, and registration-day cohorts give each release many cohorts of
    hundreds of users."""
    ctx, _ = full_run
    funnel = io.read(spark, ctx.cfg, tables.AGG_ENGAGEMENT_FUNNEL).collect()
    assert {r["release"] for r in funnel} == {"2020", "2024"}
    for release in ("2020", "2024"):
        stages = sorted((r["stage_order"], r["users"]) for r in funnel if r["release"] == release)
        users = [u for _, u in stages]
        assert users == sorted(users, reverse=True), f"{release}: {stages}"
        assert [o for o, _ in stages] == ([1, 2, 3, 4] if release == "2020" else [1, 3, 4])
    fact = io.read(spark, ctx.cfg, tables.FACT_USERS)
    registered = {r["release"]: r["users"] for r in funnel if r["stage"] == "registered"}
    assert registered == {
        r["release"]: r["count"] for r in fact.groupBy("release").count().collect()
    }
    cohorts = io.read(spark, ctx.cfg, tables.AGG_SENIORITY_COHORTS)
    per_release = cohorts.groupBy("release").agg(F.count("*").alias("n"), F.min("users"))
    for row in per_release.collect():
        assert row["n"] >= 10 and row["min(users)"] >= 100, row
