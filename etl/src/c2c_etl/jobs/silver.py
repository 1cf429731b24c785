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

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.crashpoints import crash_point
from c2c_etl.jobs.common import (
    RunContext,
    StepResult,
    caches,
    log,
    logged_rows,
    read_ledger,
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
    finish_silver_rows,
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
    the small ingestion log and run audit, so finding that there is nothing to do scans no
    data). Both silver steps' pending files are found at once, by one read of each, and kept
    for the run: neither step changes what the other has pending."""
    if PENDING not in ctx.memo:
        ctx.memo[PENDING] = _pending(spark, ctx)
    pending: dict[str, list[Row]] = {}
    for row in ctx.memo[PENDING][step]:
        if row["source_kind"] in kinds:
            pending.setdefault(row["source_kind"], []).append(row)
    return pending


PENDING = "silver_pending"


def _pending(spark: SparkSession, ctx: RunContext) -> dict[str, list[Row]]:
    steps = (USERS_STEP, REPORTS_STEP)
    ingested = [row for row in logged_rows(spark, ctx) if row["status"] == "ingested"]
    if not ingested:
        return {step: [] for step in steps}
    done = read_ledger(spark, ctx).processed
    return {
        step: [row for row in ingested if row["source_sha256"] not in done.get(step, set())]
        for step in steps
    }


def _bronze_rows(
    spark: SparkSession, ctx: RunContext, kind: SourceKind, files: list[Row]
) -> DataFrame:
    shas = [f["source_sha256"] for f in files]
    return io.read(spark, ctx.cfg, kind.bronze).filter(F.col("_source_sha256").isin(*shas))


def _countries(spark: SparkSession, frames: list[DataFrame]) -> DataFrame:
    names = reduce(
        DataFrame.unionByName, [f.select(F.trim("country").alias("country")) for f in frames]
    ).distinct()
    rows = country_lookup(r[0] for r in names.collect())
    return spark.createDataFrame(rows, COUNTRY_LOOKUP_SCHEMA)


# Up to this many identifiers are broadcast to every task for a join (as 64-bit integers,
# ~16 MB with the hash table); a larger set is shuffle-joined instead.
BROADCAST_MAX_KEYS = 1_000_000


def _keys(df: DataFrame, n: int) -> DataFrame:
    """``df`` (a set of identifiers) marked for broadcast when it is small enough."""
    return F.broadcast(df) if n <= BROADCAST_MAX_KEYS else df


def _small(df: DataFrame, n: int, cached: list[DataFrame]) -> DataFrame:
    """``df`` (at most ``n`` rows) cached when it is small enough to broadcast, so the queries
    that use it compute it once; a large one is recomputed by each query rather than held in
    memory. A cached frame is added to ``cached``, for the caller to unpersist."""
    if n > BROADCAST_MAX_KEYS:
        return df
    cached.append(df.cache())
    return df


@dataclass
class Outcomes:
    """What becomes of a batch of staged rows, as frames derived from the cache.

    ``latest``: each user's newest version in the batch, as silver rows: what the MERGE
    reads (its update condition leaves a stored version that is newer, as the figures count
    it); ``quarantined``: the quarantine records; ``figures``: the per-file row figures;
    ``stored``: the cached stored versions of the batch's users, None when silver is new.
    """

    latest: DataFrame
    quarantined: DataFrame
    figures: dict[str, dict[str, int]]
    stored: DataFrame | None


def _outcomes(
    staged: DataFrame, target: DataFrame | None, rows: int, cached: list[DataFrame]
) -> Outcomes:
    """Rank the cached staged rows (``rows`` of them, bronze's count) against each other and
    against ``target`` (silver), and count what becomes of each file's rows.

    One query before the write counts, per file, its rows, the quarantined ones and the losers
    (the figures' duplicates). A loser can only be among the identifiers seen more than once in
    the batch (cached; only their rows are ranked with a window, cached when small) or beaten
    by a stored version (read once, cached when small): the batch is never ranked whole, and
    the write does not compute these again. ``rows`` bounds the sizes that choose the joins,
    without a count. The frames it caches are added to ``cached``.
    """
    valid, broken = split_valid(staged)
    counted = (
        valid.groupBy("identifier_hash")
        .agg(F.count(F.lit(1)).alias("n"))
        .filter("n > 1")
        .select("identifier_hash")
    )
    # At most half the batch's identifiers (8 bytes each), usually a few percent: cached
    # whatever its size, since computing it shuffles every identifier of the batch. Counted
    # only when that bound is too large to choose the joins below.
    repeated = counted.cache()
    cached.append(repeated)
    n_repeated = rows // 2 if 2 * rows <= BROADCAST_MAX_KEYS else repeated.count()
    # The repeated identifiers' versions (whole silver rows, two or more per identifier,
    # counted as four), ranked: read by the figures and by the write.
    ranked = rank_versions(
        silver_rows(valid),
        _keys(repeated, n_repeated),
        keep=lambda several: _small(several, 4 * n_repeated, cached),
    )
    old = None
    if target is None:
        wins = ranked.withColumn("wins", F.col("is_latest"))
    else:
        stored = target.select(
            "identifier_hash", *[F.col(c).alias(f"t_{c}") for c in VERSION_ORDER]
        ).join(_keys(valid.select("identifier_hash"), rows), "identifier_hash", "left_semi")
        # At most one stored version per user of the batch.
        old = _small(stored, rows, cached)
        beats_stored = F.col("t_release").isNull() | F.expr(newer_condition(new="", old="t_"))
        wins = (
            ranked.join(_keys(old, rows), "identifier_hash", "left")
            .withColumn("wins", F.col("is_latest") & beats_stored)
            .drop(*[f"t_{c}" for c in VERSION_ORDER])
        )
    # VERSION_ORDER's columns are never null in a valid row, so neither is ``wins``; were one
    # null, the row would count as a duplicate and stay out of silver, and the counts balance.
    wins = wins.withColumn("wins", F.coalesce(F.col("wins"), F.lit(False)))
    # Each valid row is once in ``wins`` and each quarantined one once in ``broken``: a row the
    # ranking lost or repeated would unbalance its file's figures against bronze's count.
    outcomes = broken.select(
        "source_sha256", F.lit(1).alias("bad"), F.lit(0).alias("lost")
    ).unionByName(
        wins.select(
            "source_sha256", F.lit(0).alias("bad"), (~F.col("wins")).cast("int").alias("lost")
        )
    )
    figures = {
        r["source_sha256"]: {
            "rows_to_silver": r["rows"] - r["bad"] - r["lost"],
            "rows_quarantined": r["bad"],
            "rows_duplicate": r["lost"],
        }
        for r in outcomes.groupBy("source_sha256")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum("bad").cast("long").alias("bad"),
            F.sum("lost").cast("long").alias("lost"),
        )
        .collect()
    }
    latest = ranked.filter("is_latest").select(*SILVER_USER_COLUMNS)
    return Outcomes(latest, quarantine_rows(broken), figures, old)


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


def refuse_other_schema(target: DataFrame, rows: DataFrame) -> None:
    """Raise when silver users (``target``) has columns of other types than this version's
    ``rows``: the MERGE would cast them, or fail on a cast, half-way through a run.

    A release that changes a column's type (``record_hash`` became a 64-bit integer, for one)
    finds a lake an earlier version built refused here with what to do, before anything is
    written.
    """
    ours = dict(rows.dtypes)
    differ = {c: (t, ours[c]) for c, t in target.dtypes if c in ours and ours[c] != t}
    if differ:
        found = ", ".join(
            f"{c} is {old}, this version writes {new}" for c, (old, new) in differ.items()
        )
        raise RuntimeError(
            f"{tables.SILVER_USERS} was written by another version of the pipeline ({found}). "
            "Rebuild silver and gold from bronze: drop the lake's silver and gold tables "
            "(every bronze file is then pending again) and run the pipeline; docs/runbook.md, "
            "'A release that changes silver's columns'."
        )


# Above this many rows, a batch's checked rows are written to a staging table rather than
# cached. A large batch's cache does not fit a small driver and spills to disk, which is slower
# to fill and to read than the same rows written to Parquet (docs/performance.md). A small
# batch is cached: a table write would add a commit to each run.
STAGE_TABLE_MIN_ROWS = 2_000_000


def _one_pass(spark: SparkSession, ctx: RunContext, staged: DataFrame, rows: int) -> DataFrame:
    """The staged rows of a batch of ``rows``, computed once from bronze for the counts and
    the two writes that follow: cached, or when the batch is large, written to
    :data:`tables.SILVER_USERS_CHECKED` (replacing the last batch's) and read from there."""
    if rows < STAGE_TABLE_MIN_ROWS:
        return staged.cache()
    log.info("%d rows: staging the checked rows in %s", rows, tables.SILVER_USERS_CHECKED)
    return io.staged(spark, ctx.cfg, tables.SILVER_USERS_CHECKED, staged)


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
    if target is not None:
        refuse_other_schema(target, finish_silver_rows(checked))
    rows_read = {f["source_sha256"]: f["rows"] for fs in files.values() for f in fs}
    with caches() as held:
        rows = sum(rows_read.values())
        staged = _one_pass(spark, ctx, stage_rows(checked), rows)
        held.append(staged)
        outcome = _outcomes(staged, target, rows, held)
        empty = {"rows_to_silver": 0, "rows_quarantined": 0, "rows_duplicate": 0}
        figures = {
            f["source_sha256"]: outcome.figures.get(f["source_sha256"], empty)
            for kind_files in files.values()
            for f in kind_files
        }
        # Nothing reaches silver unless every row of every file is accounted for.
        if all(sum(figures[sha].values()) == rows_read[sha] for sha in figures):
            if any(f["rows_quarantined"] for f in figures.values()) or target is None:
                # created on the first run, even when empty
                io.replace_where(
                    ctx.cfg,
                    tables.SILVER_QUARANTINE,
                    outcome.quarantined,
                    _quarantine_predicate(list(figures)),
                )
            crash_point("silver_users.quarantine_committed")
            if any(f["rows_to_silver"] for f in figures.values()):
                # A MERGE refreshes the cached frames that read its target, which costs a
                # planning of each against the new version: the stored versions go first.
                if outcome.stored is not None:
                    outcome.stored.unpersist()
                io.upsert(
                    spark,
                    ctx.cfg,
                    tables.SILVER_USERS,
                    outcome.latest,
                    key="identifier_hash",
                    update_condition=newer_condition(),
                    user_metadata={"step": USERS_STEP, "run_id": ctx.run_id, "files": figures},
                    staging=tables.SILVER_USERS_MERGE_SOURCE,
                )
                crash_point("silver_users.merge_committed")
    return figures


def run_users(spark: SparkSession, ctx: RunContext) -> StepResult:
    with run_step(ctx, USERS_STEP) as result:
        files = pending_files(spark, ctx, {k.name for k in USERS_KINDS}, USERS_STEP)
        if not files:
            result.status = "skipped"
            return result
        step_started(result)
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
        # Committed by the runner with the run's other records (common.record_steps).
        result.audit = [{**r, "status": status, "finished_at": finished} for r in records]
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


@dataclass
class ReportOutcome:
    """One report kind's newest file, typed: its silver tables' rows, its quarantined rows
    (None when every row passed) and an audit record per pending file of the kind."""

    frames: dict[tables.Table, DataFrame]
    quarantined: DataFrame | None
    records: list[dict[str, object]]


def _report_outcome(
    spark: SparkSession,
    ctx: RunContext,
    kind: SourceKind,
    files: list[Row],
    started: datetime,
    held: list[DataFrame],
) -> ReportOutcome:
    """Type the newest of ``files`` (by ingestion time, then file name) and count its rows;
    the older files are superseded. The typed rows are cached in ``held``: the counts, the
    tables and the quarantine all read them."""
    newest = files[-1]
    typed = type_report(_bronze_rows(spark, ctx, kind, [newest]), kind).cache()
    held.append(typed)
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
        frames = {
            tables.SILVER_REPORT_SELLERS: good.filter(~F.col("is_total")).select(*columns),
            tables.SILVER_REPORT_SELLERS_TOTALS: good.filter(F.col("is_total")).select(*columns),
        }
    else:
        frames = {REPORT_TABLES[kind.name]: good.select(*columns)}
    quarantined_rows = (
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
        if n_bad
        else None
    )
    records: list[dict[str, object]] = []
    for f in files:
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
    return ReportOutcome(frames, quarantined_rows, records)


def run_reports(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Replace each silver report by its newest delivered file (older pending files are
    counted as superseded, i.e. duplicates)."""
    with run_step(ctx, REPORTS_STEP) as result:
        files = pending_files(spark, ctx, {k.name for k in REPORT_KINDS}, REPORTS_STEP)
        if not files:
            result.status = "skipped"
            return result
        step_started(result)
        started = utc_now()
        with caches() as held:
            outcomes = [
                _report_outcome(spark, ctx, kind, files[kind.name], started, held)
                for kind in REPORT_KINDS
                if kind.name in files
            ]
            frames = {t: df for o in outcomes for t, df in o.frames.items()}
            quarantine = [o.quarantined for o in outcomes if o.quarantined is not None]
            records = [r for o in outcomes for r in o.records]
            # Each write below is idempotent, so a rerun after a crash anywhere here redoes them
            # all: the reports are replaced again, and so are their files' quarantine rows.
            io.overwrite_all(ctx.cfg, frames)
            crash_point("silver_reports.tables_committed")
            if quarantine:
                io.replace_where(
                    ctx.cfg,
                    tables.SILVER_QUARANTINE,
                    reduce(DataFrame.unionByName, quarantine),
                    _quarantine_predicate([str(r["source_sha256"]) for r in records]),
                )
            crash_point("silver_reports.quarantine_committed")
            finished = utc_now()
            result.audit = [{**r, "finished_at": finished} for r in records]
            result.details = {
                "files": {
                    str(r["source_file"]): {k: r[k] for k in ("rows_read", *FIGURES, "balanced")}
                    for r in records
                }
            }
            if not all(r["balanced"] for r in records):
                raise RuntimeError(f"report row accounting does not balance: {records}")
    return result
