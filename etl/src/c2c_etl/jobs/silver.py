"""Silver job: conform new bronze rows, check them, MERGE users, type the publisher reports.

Only bronze files the run audit has not yet recorded for a step are read, so a rerun with no
new input reads nothing and writes nothing. Every users file gets an audit row whose counts
balance: rows read = rows to silver + rows quarantined + duplicates.

Crash safety: a file stays pending until its audit row is committed, so a rerun after a crash
takes it up again. Every write before the audit is idempotent (quarantine rows are replaced by
file hash, report tables overwritten), and a users MERGE that was committed but not audited is
recognised from its commit's metadata and audited, not merged again.
"""

from __future__ import annotations

from datetime import timedelta
from functools import reduce

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.crashpoints import crash_point
from c2c_etl.entrypoints import SILVER
from c2c_etl.jobs.common import (
    RunContext,
    StepResult,
    audit_rows,
    job_main,
    log,
    processed_sha256,
    run_step,
    step_started,
    utc_now,
)
from c2c_etl.silver.countries import COUNTRY_LOOKUP_SCHEMA, country_lookup
from c2c_etl.silver.quality import apply_rules, split_valid
from c2c_etl.silver.reports import report_columns, type_report
from c2c_etl.silver.users import (
    SILVER_USER_COLUMNS,
    VERSION_ORDER,
    conform_users,
    newer_condition,
    quarantine_rows,
    rank_versions,
    silver_rows,
    stage_rows,
    user_rules,
)
from c2c_etl.sources import REPORT_KINDS, REPORT_SELLERS, USERS_KINDS, SourceKind

USERS_STEP, REPORTS_STEP = "silver_users", "silver_reports"


def pending_files(
    spark: SparkSession, ctx: RunContext, kinds: set[str], step: str
) -> dict[str, list[Row]]:
    """Files of ``kinds`` in bronze that ``step`` has not processed yet, per source kind (from
    the small ingestion log, so finding that there is nothing to do scans no data)."""
    log = io.read_or_none(spark, ctx.cfg, tables.INGESTION_LOG)
    if log is None:
        return {}
    done = processed_sha256(spark, ctx.cfg, step)
    pending: dict[str, list[Row]] = {}
    for row in (
        log.filter(F.col("status") == "ingested").orderBy("ingested_at", "source_file").collect()
    ):
        if row["source_kind"] in kinds and row["source_sha256"] not in done:
            pending.setdefault(row["source_kind"], []).append(row)
    return pending


def _bronze_rows(
    spark: SparkSession, ctx: RunContext, kind: SourceKind, files: list[Row]
) -> DataFrame:
    shas = [f["source_sha256"] for f in files]
    return io.read(spark, ctx.cfg, kind.bronze).filter(F.col("_source_sha256").isin(*shas))


def _countries(spark: SparkSession, frames: list[DataFrame]) -> DataFrame:
    names = reduce(DataFrame.unionByName, [f.select("country") for f in frames]).distinct()
    rows = country_lookup(r[0] for r in names.collect())
    return spark.createDataFrame(rows, COUNTRY_LOOKUP_SCHEMA)


# Up to this many identifiers are broadcast to every task for a join (as 64-bit integers,
# ~16 MB with the hash table); a larger set is shuffle-joined instead.
BROADCAST_MAX_KEYS = 1_000_000


def _keys(df: DataFrame, n: int) -> DataFrame:
    """``df`` (a set of identifiers) marked for broadcast when it is small enough."""
    return F.broadcast(df) if n <= BROADCAST_MAX_KEYS else df


def _outcomes(staged: DataFrame, target: DataFrame | None) -> tuple[DataFrame, DataFrame]:
    """(valid rows as silver rows with ``wins`` when they go into silver; quarantine records),
    both derived from the cached staged rows.

    Two counts first (cheap on the cache) pick the joins: only identifiers seen more than once
    in the batch are ranked with a window, and only the stored versions of this batch's users
    are read from silver, each join broadcast when its side is small.
    """
    valid, broken = split_valid(staged)
    repeated = (
        valid.groupBy("identifier_hash")
        .agg(F.count(F.lit(1)).alias("n"))
        .filter("n > 1")
        .select("identifier_hash")
    )
    ranked = rank_versions(silver_rows(valid), _keys(repeated, repeated.count()))
    if target is None:
        return ranked.withColumn("wins", F.col("is_latest")), quarantine_rows(broken)
    ids = valid.select("identifier_hash").distinct()
    old = target.select("identifier_hash", *[F.col(c).alias(f"t_{c}") for c in VERSION_ORDER]).join(
        _keys(ids, ids.count()), "identifier_hash", "left_semi"
    )
    beats_stored = F.col("t_release").isNull() | F.expr(newer_condition(new="", old="t_"))
    wins = ranked.join(old, "identifier_hash", "left").withColumn(
        "wins", F.col("is_latest") & beats_stored
    )
    return wins.drop(*[f"t_{c}" for c in VERSION_ORDER]), quarantine_rows(broken)


FIGURES = ("rows_to_silver", "rows_quarantined", "rows_duplicate")


def merged_unaudited(
    spark: SparkSession, ctx: RunContext, files: list[Row]
) -> dict[str, dict[str, int]]:
    """Pending files whose MERGE an earlier run committed before it died, with that run's
    row figures (from the MERGE commit's user metadata, not from the data).

    Such a file must not be processed again: the users it brought are in silver now, so a
    second pass would count them as duplicates of themselves and the audit would lie.
    """
    shas = {f["source_sha256"] for f in files}
    # The MERGE came after the files' ingestion: older commits need not be read. A day of
    # margin covers the session time zone of the history's timestamps.
    since = min(f["ingested_at"] for f in files) - timedelta(days=1)
    found: dict[str, dict[str, int]] = {}
    for _version, meta, _metrics in io.commits(spark, ctx.cfg, tables.SILVER_USERS, since=since):
        if meta.get("step") != USERS_STEP:
            continue
        for sha, figures in meta.get("files", {}).items():
            if sha in shas and sha not in found:
                log.warning(
                    "%s was merged into silver by run %s, which stopped before auditing it: "
                    "auditing that MERGE instead of merging again",
                    sha[:12],
                    meta.get("run_id"),
                )
                found[sha] = {k: int(figures[k]) for k in FIGURES}
    return found


def _quarantine_predicate(shas: list[str]) -> str:
    return "source_sha256 IN (" + ", ".join(f"'{s}'" for s in sorted(shas)) + ")"


def _process_users(
    spark: SparkSession, ctx: RunContext, files: dict[str, list[Row]]
) -> dict[str, dict[str, int]]:
    """Conform, check and write the users of ``files``; their figures per content hash.

    Crash-safe order: the quarantine first, as a ``replaceWhere`` on the files' hashes (written
    again, it replaces itself), then the MERGE, whose commit carries the figures (see
    :func:`merged_unaudited`). Nothing is written unless every file balances.
    """
    pending = {
        k: _bronze_rows(spark, ctx, k, files[k.name]) for k in USERS_KINDS if k.name in files
    }
    countries = _countries(spark, list(pending.values()))
    checked = reduce(
        DataFrame.unionByName,
        [
            apply_rules(conform_users(raw, kind, countries), user_rules(kind))
            for kind, raw in pending.items()
        ],
    )
    target = io.read_or_none(spark, ctx.cfg, tables.SILVER_USERS)
    # The one pass over bronze: narrow rows cached for the counts and the two writes below.
    staged = stage_rows(checked).cache()
    ranked, quarantined = _outcomes(staged, target)
    outcomes = {
        r["source_sha256"]: r
        for r in ranked.groupBy("source_sha256")
        .agg(
            F.sum(F.col("wins").cast("long")).alias("rows_to_silver"),
            F.sum((~F.col("wins")).cast("long")).alias("rows_duplicate"),
        )
        .collect()
    }
    q_counts = {
        r["source_sha256"]: r["n"]
        for r in quarantined.groupBy("source_sha256").agg(F.count(F.lit(1)).alias("n")).collect()
    }
    figures = {}
    for kind_files in files.values():
        for f in kind_files:
            sha = f["source_sha256"]
            figures[sha] = {
                "rows_to_silver": outcomes[sha]["rows_to_silver"] if sha in outcomes else 0,
                "rows_quarantined": q_counts.get(sha, 0),
                "rows_duplicate": outcomes[sha]["rows_duplicate"] if sha in outcomes else 0,
            }
    rows_read = {f["source_sha256"]: f["rows"] for fs in files.values() for f in fs}
    # Nothing reaches silver unless every row of every file is accounted for.
    if all(sum(figures[sha].values()) == rows_read[sha] for sha in figures):
        if q_counts or target is None:  # created on the first run, even when empty
            io.replace_where(
                ctx.cfg, tables.SILVER_QUARANTINE, quarantined, _quarantine_predicate(list(figures))
            )
        crash_point("silver_users.quarantine_committed")
        if any(f["rows_to_silver"] for f in figures.values()):
            io.upsert(
                spark,
                ctx.cfg,
                tables.SILVER_USERS,
                ranked.filter("wins").select(*SILVER_USER_COLUMNS),
                key="identifier_hash",
                update_condition=newer_condition(),
                user_metadata={"step": USERS_STEP, "run_id": ctx.run_id, "files": figures},
            )
            crash_point("silver_users.merge_committed")
    staged.unpersist()
    return figures


def run_users(spark: SparkSession, ctx: RunContext) -> StepResult:
    with run_step(spark, ctx, USERS_STEP) as result:
        files = pending_files(spark, ctx, {k.name for k in USERS_KINDS}, USERS_STEP)
        if not files:
            result.status = "skipped"
            return result
        step_started(spark, ctx, result)
        started = utc_now()
        all_files = [f for fs in files.values() for f in fs]
        figures = merged_unaudited(spark, ctx, all_files)
        to_process = {
            kind: todo
            for kind, fs in files.items()
            if (todo := [f for f in fs if f["source_sha256"] not in figures])
        }
        if to_process:
            figures.update(_process_users(spark, ctx, to_process))
        records = []
        for f in all_files:
            sha = f["source_sha256"]
            # rows_read is bronze's own count of the file (Delta's commit metrics at
            # ingestion), so the balance is checked against an independent figure.
            records.append(
                {
                    "run_id": ctx.run_id,
                    "step": USERS_STEP,
                    "source_file": f["source_file"],
                    "source_sha256": sha,
                    "release": f["release"],
                    "rows_read": f["rows"],
                    **figures[sha],
                    "balanced": sum(figures[sha].values()) == f["rows"],
                    "started_at": started,
                }
            )
        balanced = all(r["balanced"] for r in records)
        status = "succeeded" if balanced else "failed"
        finished = utc_now()
        io.append(
            ctx.cfg,
            tables.RUN_AUDIT,
            audit_rows(spark, [{**r, "status": status, "finished_at": finished} for r in records]),
        )
        result.details = {
            "files": {
                r["source_file"]: {k: r[k] for k in ("rows_read", *FIGURES, "balanced")}
                for r in records
            }
        }
        if not balanced:
            raise RuntimeError(f"row accounting does not balance: {result.details}")
    return result


REPORT_TABLES = {
    "report_buyers_by_country": tables.SILVER_REPORT_BUYERS,
    "report_top_seller_countries": tables.SILVER_REPORT_TOP_SELLERS,
}


def run_reports(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Replace each silver report by its newest delivered file (older pending files are
    counted as superseded, i.e. duplicates)."""
    with run_step(spark, ctx, REPORTS_STEP) as result:
        files = pending_files(spark, ctx, {k.name for k in REPORT_KINDS}, REPORTS_STEP)
        if not files:
            result.status = "skipped"
            return result
        step_started(spark, ctx, result)
        started = utc_now()
        frames: dict[tables.Table, DataFrame] = {}
        quarantine: list[DataFrame] = []
        records = []
        for kind in REPORT_KINDS:
            if kind.name not in files:
                continue
            newest = files[kind.name][-1]  # by ingestion time, then file name
            typed = type_report(_bronze_rows(spark, ctx, kind, [newest]), kind).cache()
            counts = {
                r["bad"]: r["n"]
                for r in typed.groupBy((F.size("_failed_rules") > 0).alias("bad"))
                .agg(F.count(F.lit(1)).alias("n"))
                .collect()
            }
            n_good, n_bad = counts.get(False, 0), counts.get(True, 0)
            good = typed.filter(F.size("_failed_rules") == 0)
            columns = report_columns(kind)
            if kind is REPORT_SELLERS:
                frames[tables.SILVER_REPORT_SELLERS] = good.filter(~F.col("is_total")).select(
                    *columns
                )
                frames[tables.SILVER_REPORT_SELLERS_TOTALS] = good.filter(F.col("is_total")).select(
                    *columns
                )
            else:
                frames[REPORT_TABLES[kind.name]] = good.select(*columns)
            if n_bad:
                quarantine.append(
                    typed.filter(F.size("_failed_rules") > 0).select(
                        F.lit(kind.name).alias("source_kind"),
                        F.col("country").alias("record_key"),
                        F.lit(None).cast("string").alias("release"),
                        F.col("_failed_rules").alias("failed_rules"),
                        "raw_record",
                        "source_file",
                        "source_sha256",
                        "run_id",
                        "ingested_at",
                    )
                )
            for f in files[kind.name]:
                is_newest = f["source_sha256"] == newest["source_sha256"]
                records.append(
                    {
                        "run_id": ctx.run_id,
                        "step": REPORTS_STEP,
                        "source_file": f["source_file"],
                        "source_sha256": f["source_sha256"],
                        "rows_read": f["rows"],
                        "rows_to_silver": n_good if is_newest else 0,
                        "rows_quarantined": n_bad if is_newest else 0,
                        "rows_duplicate": 0 if is_newest else f["rows"],
                        "balanced": (n_good + n_bad == f["rows"]) if is_newest else True,
                        "status": "succeeded",
                        "started_at": started,
                        "details": None if is_newest else "superseded by " + newest["source_file"],
                    }
                )
        # Each write below is idempotent, so a rerun after a crash anywhere here redoes them
        # all: the reports are replaced again, and so are their files' quarantine rows.
        io.overwrite_all(ctx.cfg, frames)
        crash_point("silver_reports.tables_committed")
        if quarantine:
            io.replace_where(
                ctx.cfg,
                tables.SILVER_QUARANTINE,
                reduce(DataFrame.unionByName, quarantine),
                _quarantine_predicate([r["source_sha256"] for r in records]),
            )
        crash_point("silver_reports.quarantine_committed")
        finished = utc_now()
        io.append(
            ctx.cfg,
            tables.RUN_AUDIT,
            audit_rows(spark, [{**r, "finished_at": finished} for r in records]),
        )
        result.details = {"files": [r["source_file"] for r in records]}
        if not all(r["balanced"] for r in records):
            raise RuntimeError(f"report row accounting does not balance: {records}")
    return result


def run(spark: SparkSession, ctx: RunContext) -> list[StepResult]:
    return [run_users(spark, ctx), run_reports(spark, ctx)]


def main() -> None:
    job_main(SILVER, run)


if __name__ == "__main__":
    main()
