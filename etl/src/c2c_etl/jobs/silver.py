"""Silver job: conform new bronze rows, check them, MERGE users, type the publisher reports.

Only bronze files the run audit has not yet recorded for a step are read, so a rerun with no
new input reads nothing and writes nothing. Every users file gets an audit row whose counts
balance: rows read = rows to silver + rows quarantined + duplicates.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.entrypoints import SILVER
from c2c_etl.jobs.common import (
    RunContext,
    StepResult,
    audit_rows,
    build_parser,
    configure_logging,
    context_from_args,
    processed_sha256,
    timed,
    utc_now,
)
from c2c_etl.silver.countries import country_lookup
from c2c_etl.silver.quality import apply_rules, split_valid
from c2c_etl.silver.reports import report_columns, type_report
from c2c_etl.silver.users import (
    SILVER_USER_COLUMNS,
    VERSION_ORDER,
    conform_users,
    finish_silver_rows,
    newer_condition,
    quarantine_rows,
    rank_versions,
    user_rules,
)
from c2c_etl.sources import REPORT_KINDS, REPORT_SELLERS, USERS_KINDS, SourceKind

USERS_STEP, REPORTS_STEP = "silver_users", "silver_reports"
LINEAGE = ["source_file", "source_sha256", "release"]


def _pending(spark: SparkSession, ctx: RunContext, kind: SourceKind,
             done: set[str]) -> DataFrame | None:
    bronze = io.read_or_none(spark, ctx.cfg, kind.bronze)
    if bronze is None:
        return None
    pending = bronze.filter(~F.col("_source_sha256").isin(*done)) if done else bronze
    return pending if not pending.isEmpty() else None


def _countries(spark: SparkSession, frames: list[DataFrame]) -> DataFrame:
    names = reduce(DataFrame.unionByName, [f.select("country") for f in frames]).distinct()
    rows = country_lookup(r[0] for r in names.collect())
    return spark.createDataFrame(
        rows, "country_name_source string, lookup_code string, lookup_name string"
    )


def _outcomes(checked: DataFrame, target: DataFrame | None) -> tuple[DataFrame, DataFrame]:
    """(valid rows ranked, with ``wins`` when they go into silver; quarantine records)."""
    valid, broken = split_valid(checked)
    ranked = rank_versions(finish_silver_rows(valid))
    if target is None:
        return ranked.withColumn("wins", F.col("is_latest")), quarantine_rows(broken)
    old = target.select(
        "identifier_hash", *[F.col(c).alias(f"t_{c}") for c in VERSION_ORDER]
    )
    beats_stored = F.col("t_release").isNull() | F.expr(newer_condition(new="", old="t_"))
    wins = ranked.join(old, "identifier_hash", "left").withColumn(
        "wins", F.col("is_latest") & beats_stored
    )
    return wins.drop(*[f"t_{c}" for c in VERSION_ORDER]), quarantine_rows(broken)


def run_users(spark: SparkSession, ctx: RunContext) -> StepResult:
    with timed(USERS_STEP) as result:
        done = processed_sha256(spark, ctx.cfg, USERS_STEP)
        pending = {k: p for k in USERS_KINDS if (p := _pending(spark, ctx, k, done)) is not None}
        if not pending:
            result.status = "skipped"
            return result
        started = utc_now()
        countries = _countries(spark, list(pending.values()))
        checked = reduce(
            DataFrame.unionByName,
            [apply_rules(conform_users(raw, kind, countries), user_rules(kind))
             for kind, raw in pending.items()],
        ).cache()
        target = io.read_or_none(spark, ctx.cfg, tables.SILVER_USERS)
        ranked, quarantined = _outcomes(checked, target)
        ranked = ranked.cache()
        quarantined = quarantined.cache()

        read_counts = checked.groupBy(
            F.col("source_file"), F.col("source_sha256"), F.col("release")
        ).agg(F.count(F.lit(1)).alias("rows_read"))
        winners = ranked.filter("wins")
        outcome_counts = (
            ranked.groupBy(*LINEAGE).agg(
                F.sum(F.col("wins").cast("long")).alias("rows_to_silver"),
                F.sum((~F.col("wins")).cast("long")).alias("rows_duplicate"),
            )
        )
        q_counts = quarantined.groupBy(*LINEAGE).agg(F.count(F.lit(1)).alias("rows_quarantined"))
        per_file = (
            read_counts.join(outcome_counts, LINEAGE, "left")
            .join(q_counts, LINEAGE, "left")
            .fillna(0, ["rows_to_silver", "rows_duplicate", "rows_quarantined"])
            .collect()
        )

        if not winners.isEmpty():
            io.upsert(spark, ctx.cfg, tables.SILVER_USERS,
                      winners.select(*SILVER_USER_COLUMNS),
                      key="identifier_hash", update_condition=newer_condition())
        if not quarantined.isEmpty():
            io.append(ctx.cfg, tables.SILVER_QUARANTINE, quarantined)

        finished = utc_now()
        records = []
        for row in per_file:
            total = row["rows_to_silver"] + row["rows_quarantined"] + row["rows_duplicate"]
            records.append({
                "run_id": ctx.run_id, "step": USERS_STEP, "source_file": row["source_file"],
                "source_sha256": row["source_sha256"], "release": row["release"],
                "rows_read": row["rows_read"], "rows_to_silver": row["rows_to_silver"],
                "rows_quarantined": row["rows_quarantined"],
                "rows_duplicate": row["rows_duplicate"], "balanced": total == row["rows_read"],
                "status": "succeeded", "started_at": started, "finished_at": finished,
            })
        io.append(ctx.cfg, tables.RUN_AUDIT, audit_rows(spark, records))
        for df in (checked, ranked, quarantined):
            df.unpersist()
        result.details = {"files": {r["source_file"]: {k: r[k] for k in (
            "rows_read", "rows_to_silver", "rows_quarantined", "rows_duplicate", "balanced")}
            for r in records}}
        if not all(r["balanced"] for r in records):
            raise RuntimeError(f"row accounting does not balance: {result.details}")
    return result


def run_reports(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Replace each silver report by its newest delivered file (older pending files are
    counted as superseded, i.e. duplicates)."""
    with timed(REPORTS_STEP) as result:
        done = processed_sha256(spark, ctx.cfg, REPORTS_STEP)
        records = []
        for kind in REPORT_KINDS:
            pending = _pending(spark, ctx, kind, done)
            if pending is None:
                continue
            started = utc_now()
            files = (
                pending.groupBy("_source_file", "_source_sha256", "_ingested_at")
                .agg(F.count(F.lit(1)).alias("n"))
                .orderBy(F.col("_ingested_at").desc(), F.col("_source_file").desc())
                .collect()
            )
            newest = files[0]
            typed = type_report(
                pending.filter(F.col("_source_sha256") == newest["_source_sha256"]), kind
            ).cache()
            good = typed.filter(F.size("_failed_rules") == 0)
            bad = typed.filter(F.size("_failed_rules") > 0)
            columns = report_columns(kind)
            if kind is REPORT_SELLERS:
                io.overwrite(ctx.cfg, tables.SILVER_REPORT_SELLERS,
                             good.filter(~F.col("is_total")).select(*columns))
                io.overwrite(ctx.cfg, tables.SILVER_REPORT_SELLERS_TOTALS,
                             good.filter(F.col("is_total")).select(*columns))
            else:
                target = {"report_buyers_by_country": tables.SILVER_REPORT_BUYERS,
                          "report_top_seller_countries": tables.SILVER_REPORT_TOP_SELLERS}
                io.overwrite(ctx.cfg, target[kind.name], good.select(*columns))
            n_good, n_bad = good.count(), bad.count()
            if n_bad:
                io.append(ctx.cfg, tables.SILVER_QUARANTINE, bad.select(
                    F.lit(kind.name).alias("source_kind"),
                    F.col("country").alias("record_key"),
                    F.lit(None).cast("string").alias("release"),
                    F.col("_failed_rules").alias("failed_rules"),
                    "raw_record", "source_file", "source_sha256", "run_id", "ingested_at"))
            typed.unpersist()
            finished = utc_now()
            for f in files:
                is_newest = f["_source_sha256"] == newest["_source_sha256"]
                records.append({
                    "run_id": ctx.run_id, "step": REPORTS_STEP, "source_file": f["_source_file"],
                    "source_sha256": f["_source_sha256"], "rows_read": f["n"],
                    "rows_to_silver": n_good if is_newest else 0,
                    "rows_quarantined": n_bad if is_newest else 0,
                    "rows_duplicate": 0 if is_newest else f["n"],
                    "balanced": (n_good + n_bad == f["n"]) if is_newest else True,
                    "status": "succeeded", "started_at": started, "finished_at": finished,
                    "details": None if is_newest else "superseded by " + newest["_source_file"],
                })
        if records:
            io.append(ctx.cfg, tables.RUN_AUDIT, audit_rows(spark, records))
        else:
            result.status = "skipped"
        result.details = {"files": [r["source_file"] for r in records]}
    return result


def run(spark: SparkSession, ctx: RunContext) -> list[StepResult]:
    return [run_users(spark, ctx), run_reports(spark, ctx)]


def main() -> None:
    configure_logging()
    ctx = context_from_args(build_parser(SILVER.description).parse_args())
    from c2c_etl.spark import get_spark

    run(get_spark(ctx.cfg.is_local, SILVER.name), ctx)


if __name__ == "__main__":
    main()
