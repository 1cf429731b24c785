"""Gold job: bring the gold tables up to date with silver when silver has changed.

Each table's content is a function of the current silver state alone: the same whatever order
or grouping the input files arrived in. Two tables follow silver users' change data feed
instead of reading every user again: ``agg_user_counts`` and ``agg_report_sums`` (additive
counts and sums, plus the changed users' new rows, minus their old ones). The user fact is a
view over silver users, and the country dimension, four aggregates of the counts and the two
top-100 lists of the fact are views over those (c2c_etl.gold.views.GOLD_VIEWS): nothing to
write. The reconciliation is kept when the publisher reports are as at its last build and no
2020 user changed; when only 2020 users changed, its computed values are recomputed from the
report sums against the published figures it holds; else it is rebuilt from the reports' silver
tables. The silver versions a build used are
kept in the run audit; when they have not moved, the build is skipped and no gold table gets
a new version.

Crash safety: each gold table's overwrite carries the silver versions it was built from in its
commit metadata. A run that died after some (or all) gold commits and before the audit row is
followed by one that rewrites only the tables not yet built from the current silver versions,
then records the build.
"""

from __future__ import annotations

from functools import reduce

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.crashpoints import crash_point
from c2c_etl.gold.counts import add_counts, change_counts, count_silver_users
from c2c_etl.gold.reconciliation import (
    REPORT_RELEASE,
    add_report_sums,
    change_report_sums,
    reconcile,
    report_figures,
    report_sums,
    stored_figures,
)
from c2c_etl.jobs.common import (
    RunContext,
    StepResult,
    caches,
    log,
    read_ledger,
    run_step,
    step_started,
    to_json,
    utc_now,
)
from c2c_etl.sources import REPORT_BUYERS, REPORT_SELLERS, REPORT_TOP_SELLERS

STEP = "gold"
# The silver tables of the publisher's reports, by report: the reconciliation's other inputs
# (the sellers report keeps its total rows in a table of their own).
REPORT_SOURCES = {
    REPORT_BUYERS.name: (tables.SILVER_REPORT_BUYERS,),
    REPORT_SELLERS.name: (tables.SILVER_REPORT_SELLERS, tables.SILVER_REPORT_SELLERS_TOTALS),
    REPORT_TOP_SELLERS.name: (tables.SILVER_REPORT_TOP_SELLERS,),
}
REPORT_INPUTS = tuple(t for sources in REPORT_SOURCES.values() for t in sources)
SILVER_INPUTS = (tables.SILVER_USERS, *REPORT_INPUTS)


def _input_versions(spark: SparkSession, ctx: RunContext) -> dict[str, int | None]:
    # Data versions: the end-of-run compaction of a silver table changes none of its rows, and
    # must not make the next run rebuild gold.
    return {str(t): io.data_version(spark, ctx.cfg, t) for t in SILVER_INPUTS}


def _last_build_versions(spark: SparkSession, ctx: RunContext) -> dict[str, int | None] | None:
    last = read_ledger(spark, ctx).last_details.get(STEP)
    return last["silver_versions"] if last else None


def _last_builds(spark: SparkSession, ctx: RunContext) -> dict[tables.Table, dict]:
    """Each stored gold table's last build: the user metadata of its newest gold commit (the
    end-of-run compaction may have committed after it), empty when there is none. Read once
    per run, the tables in parallel: in the cloud each is a ``DESCRIBE HISTORY``."""

    def last_build(table: tables.Table) -> dict:
        for _version, meta, _metrics in io.commits(spark, ctx.cfg, table, limit=10):
            if meta.get("step") == STEP:
                return meta
        return {}

    found = io.parallel(last_build, tables.STORED_GOLD_TABLES)
    return dict(zip(tables.STORED_GOLD_TABLES, found, strict=True))


class SilverChanges:
    """Silver users' change data feed since each gold table's last build, for the tables that
    follow it (``agg_user_counts``, ``agg_report_sums``) and the reconciliation's check.

    The tables need not have been built from the same silver version: a delivery that changes
    no user of the reports' release leaves the reconciliation as it was. The feed is read,
    cached and checked once, from the oldest of their builds; each table takes the commits
    after its own.
    """

    def __init__(
        self,
        spark: SparkSession,
        ctx: RunContext,
        versions: dict[str, int | None],
        held: list[DataFrame],
        builds: dict[tables.Table, dict[str, int | None]],
    ):
        """``builds``: the silver versions each planned table was last built from (empty when
        unknown)."""
        self.spark, self.ctx, self.held, self.builds = spark, ctx, held, builds
        self.now = versions[str(tables.SILVER_USERS)]
        self._feeds: dict[int, DataFrame | None] | None = None
        self._report_users: dict[int, bool] = {}

    def _read_feeds(self, now: int) -> dict[int, DataFrame | None]:
        """The feed after each start (a silver users version before ``now`` that a planned
        table was last built from); None where it cannot bring a table up to date: a version
        has no feed (it was not enabled yet), or a user was deleted. The pipeline's MERGEs never
        delete, so a delete is an operator's (a DELETE, or a RESTORE, whose feed is not tested
        here); a rebuild is the safe answer to a rare event."""
        found = {b.get(str(tables.SILVER_USERS)) for b in self.builds.values()}
        starts = sorted(s for s in found if s is not None and s < now)
        feeds: dict[int, DataFrame | None] = dict.fromkeys(starts)
        for i, first in enumerate(starts):
            later = starts[i:]
            after = [F.col("_commit_version") > s for s in later]
            try:
                # Cached (in ``held``, for the caller to unpersist): the check below plans the
                # feed's read once, and the tables built from it read the cache.
                feed = io.changes(
                    self.spark, self.ctx.cfg, tables.SILVER_USERS, first + 1, now
                ).cache()
                self.held.append(feed)
                # One read of the feed answers both questions asked of it, for every start
                # (and fails if a version has no feed): was a user deleted, did a user of the
                # reports' release change.
                row = feed.agg(
                    *(F.max((F.col("_change_type") == "delete") & a) for a in after),
                    *(F.max((F.col("release") == REPORT_RELEASE) & a) for a in after),
                ).collect()[0]
            except AnalysisException as error:
                log.info("no change feed from silver users v%d (%s)", first + 1, error)
                continue
            for j, start in enumerate(later):
                self._report_users[start] = bool(row[len(later) + j])
                if row[j]:
                    log.info("silver users lost a user after v%d: rebuilding", start)
                else:
                    feeds[start] = feed if start == first else feed.filter(after[j])
            break
        return feeds

    def _feed(self, built_from: int, now: int) -> DataFrame | None:
        if self._feeds is None:
            self._feeds = self._read_feeds(now)
        return self._feeds.get(built_from)

    def report_users_changed(self, built_from: int) -> bool:
        """Whether silver users changed a user of the reports' release after version
        ``built_from`` (known once :meth:`plan` has served the feed from it)."""
        return self._report_users[built_from]

    def plan(self, table: tables.Table) -> tuple[str, DataFrame | None]:
        """How this build brings ``table`` up to date: ("current", None) when it was already
        built from this silver users version; ("changes", feed) with silver users' change feed
        since its last build; ("rebuild", None) when it must be rebuilt whole: it does not exist
        yet, its last build is unknown, or the feed cannot serve (see :meth:`_read_feeds`)."""
        built_from = self.builds[table].get(str(tables.SILVER_USERS))
        if built_from is None or self.now is None or built_from > self.now:
            return "rebuild", None
        if built_from == self.now:
            return "current", None
        feed = self._feed(built_from, self.now)
        return ("rebuild", None) if feed is None else ("changes", feed)


def reconciliation_plan(changes: SilverChanges, versions: dict[str, int | None]) -> str:
    """How this build writes the reconciliation: "current" (kept) when the publisher reports
    are at the versions it was last built from and silver users changed no user of the
    reports' release (2020) since; "changes" when only such users changed: the published
    figures are those it holds (:func:`published_figures`); else "rebuild", from the silver
    tables of the reports."""
    built = changes.builds[tables.RECONCILIATION]
    plan, feed = changes.plan(tables.RECONCILIATION)
    if plan == "rebuild":
        return "rebuild"
    if any(built.get(str(t)) != versions[str(t)] for t in REPORT_INPUTS):
        return "rebuild"
    built_from = built.get(str(tables.SILVER_USERS))
    if feed is None or built_from is None or not changes.report_users_changed(built_from):
        return "current"
    return "changes"


def counts_plan(changes: SilverChanges, columns: list[str]) -> tuple[str, DataFrame | None]:
    """How this build writes ``agg_user_counts``: as :meth:`SilverChanges.plan`, where
    ("changes", counts) carries the table's new content: its rows plus the change of the users
    silver changed since its last build. A stored table with other ``columns`` than this
    version counts (one an earlier version built) is rebuilt: its rows cannot be added to."""
    plan, feed = changes.plan(tables.AGG_USER_COUNTS)
    if plan == "rebuild":
        return plan, None
    stored = io.read(changes.spark, changes.ctx.cfg, tables.AGG_USER_COUNTS)
    if stored.columns != columns:
        log.info(
            "%s has other columns than this version writes: rebuilding it", tables.AGG_USER_COUNTS
        )
        return "rebuild", None
    if feed is None:
        return plan, None
    return plan, add_counts(stored, change_counts(feed))


def sums_plan(changes: SilverChanges) -> tuple[str, DataFrame | None]:
    """How this build writes ``agg_report_sums``: as :func:`counts_plan`, with the sums'
    change from the feed (:func:`change_report_sums`)."""
    plan, feed = changes.plan(tables.AGG_REPORT_SUMS)
    if feed is None:
        return plan, None
    stored = io.read(changes.spark, changes.ctx.cfg, tables.AGG_REPORT_SUMS)
    return plan, add_report_sums(stored, change_report_sums(feed))


def published_reports(spark: SparkSession, ctx: RunContext) -> dict[str, DataFrame]:
    """The publisher's reports' figures as silver holds them, by report name (the sellers
    report with its total rows unioned back in), for the reconciliation."""
    found = {}
    for report, sources in REPORT_SOURCES.items():
        read = [df for t in sources if (df := io.read_or_none(spark, ctx.cfg, t)) is not None]
        if len(read) == len(sources):
            found[report] = report_figures(reduce(DataFrame.unionByName, read), report)
    return found


def published_figures(
    spark: SparkSession, ctx: RunContext, versions: dict[str, int | None]
) -> dict[str, DataFrame] | None:
    """The published figures the stored reconciliation holds (the reports' silver tables are
    at the versions it was built from, so they are the same), by report: one small table read
    instead of the four. None when the stored table is of an earlier version, which did not
    tell the reports' rows apart: the caller reads the reports."""
    stored = io.read(spark, ctx.cfg, tables.RECONCILIATION)
    if "in_report" not in stored.columns:
        log.info("%s has no in_report column: rebuilding it", tables.RECONCILIATION)
        return None
    # Read once into the session (a few thousand rows), so what is built from it no longer
    # reads the table this build overwrites: its commit would make Spark plan the cached
    # reconciliation again.
    stored = stored.localCheckpoint()
    return {
        report: stored_figures(stored, report)
        for report, sources in REPORT_SOURCES.items()
        if all(versions[str(t)] is not None for t in sources)
    }


def build_gold(users: DataFrame) -> dict[tables.Table, DataFrame]:
    """The gold tables read from silver users."""
    return {
        tables.AGG_USER_COUNTS: count_silver_users(users),
        tables.AGG_REPORT_SUMS: report_sums(users),
    }


def reconciliation_summary(recon: DataFrame) -> dict[str, dict[str, int]]:
    """Figures matching and figures in all, per publisher report."""
    return {
        r["report"]: {"matched": r["matched"], "total": r["total"]}
        for r in recon.groupBy("report")
        .agg(
            F.sum(F.col("matches").cast("long")).alias("matched"),
            F.count(F.lit(1)).alias("total"),
        )
        .collect()
    }


def publish_views(spark: SparkSession, ctx: RunContext, details: dict[str, object]) -> None:
    """Gold's views as this version defines them, noted in ``details``.

    A lake an earlier version built holds Delta tables under the gold views' names, with the
    figures of the last build that wrote them: they are removed (and named in ``details``),
    never left to shadow the views. Then, in the cloud, the Unity Catalog views are created;
    locally the readers render the gold views and create the BI views themselves.
    """
    retired = io.retire_view_tables(spark, ctx.cfg)
    if retired:
        log.warning(
            "removed %s: tables an earlier version wrote where gold now has views",
            ", ".join(map(str, retired)),
        )
        details["retired_tables"] = [str(t) for t in retired]
    if not ctx.cfg.is_local:
        details["views"] = io.create_views(spark, ctx.cfg)


def run(spark: SparkSession, ctx: RunContext) -> StepResult:
    with run_step(ctx, STEP) as result:
        versions = _input_versions(spark, ctx)
        if versions[str(tables.SILVER_USERS)] is None:
            result.status = "skipped"
            result.details = {
                "reason": "not built: silver has no valid user row yet (see the files above)"
            }
            return result
        if _last_build_versions(spark, ctx) == versions:
            result.status = "skipped"
            result.details = {"reason": "silver unchanged since the last gold build"}
            # A first deploy of new view definitions still creates them (tables untouched);
            # locally this costs a look at the views' folders, no Spark query.
            if ctx.cfg.is_local or io.views_missing(spark, ctx.cfg):
                publish_views(spark, ctx, result.details)
            return result
        step_started(result)
        started = utc_now()
        last_builds = _last_builds(spark, ctx)
        # Tables an earlier run built from exactly these silver versions before it stopped
        # short of recording the build.
        done = {t for t, meta in last_builds.items() if meta.get("silver_versions") == versions}
        if done:
            log.warning(
                "%d gold tables were already built from these silver versions by a run that "
                "stopped before recording the build: keeping them",
                len(done),
            )
        # Not cached: each table reads only the silver columns it needs from Parquet, which
        # is cheaper than caching the whole table first (docs/performance.md).
        users = io.read(spark, ctx.cfg, tables.SILVER_USERS)
        built = build_gold(users)
        metadata = {"step": STEP, "run_id": ctx.run_id, "silver_versions": versions}
        with caches() as held:
            planned = (tables.AGG_USER_COUNTS, tables.AGG_REPORT_SUMS, tables.RECONCILIATION)
            builds = {
                t: dict(last_builds[t].get("silver_versions", {})) for t in planned if t not in done
            }
            changes = SilverChanges(spark, ctx, versions, held, builds)
            counts, new_counts = (
                ("current", None)
                if tables.AGG_USER_COUNTS in done
                else counts_plan(changes, built[tables.AGG_USER_COUNTS].columns)
            )
            if counts == "current":
                del built[tables.AGG_USER_COUNTS]
            elif new_counts is not None:
                # The stored counts plus the change of the users silver changed: no full recount.
                built[tables.AGG_USER_COUNTS] = new_counts
            sums, new_sums = (
                ("current", None) if tables.AGG_REPORT_SUMS in done else sums_plan(changes)
            )
            if sums == "current":
                del built[tables.AGG_REPORT_SUMS]
            elif new_sums is not None:
                built[tables.AGG_REPORT_SUMS] = new_sums
            plans = {"user_counts": counts, "report_sums": sums}
            kept = tables.RECONCILIATION in done
            recon_plan = "current" if kept else reconciliation_plan(changes, versions)
            plans[tables.RECONCILIATION.name] = recon_plan

            def write(frames: dict[tables.Table, DataFrame], **more: object) -> None:
                io.overwrite_all(
                    ctx.cfg,
                    {t: df for t, df in frames.items() if t not in done},
                    user_metadata={**metadata, **more},
                    after_each=lambda _table: crash_point("gold.table_committed"),
                )

            # The reconciliation first, from the report sums this build writes (or keeps), so
            # they are not read back once written. Its figures' summary goes into its commit,
            # where a run that keeps it finds it.
            summary: dict[str, dict[str, int]] | None = None
            if recon_plan != "current":
                new_sums = built.get(tables.AGG_REPORT_SUMS)
                # Cached: each report's recomputed figures read the sums.
                sums_now = (
                    new_sums
                    if new_sums is not None
                    else io.read(spark, ctx.cfg, tables.AGG_REPORT_SUMS)
                ).cache()
                held.append(sums_now)
                figures = (
                    published_figures(spark, ctx, versions) if recon_plan == "changes" else None
                )
                if figures is None:
                    recon_plan = plans[tables.RECONCILIATION.name] = "rebuild"
                    figures = published_reports(spark, ctx)
                recon = reconcile(sums_now, figures).cache()
                held.append(recon)
                summary = reconciliation_summary(recon)
                write({tables.RECONCILIATION: recon}, reconciliation=summary)
                if sums == "changes":
                    # Built from the stored sums: an overwrite of that table makes Spark plan
                    # again every cached frame that reads it, so these go first, and the
                    # write computes the new sums again (a small table and the cached feed).
                    # Built from silver users alone, the write reads the cache.
                    recon.unpersist()
                    sums_now.unpersist()
            write(built)
        crash_point("gold.tables_committed")
        if summary is None:
            # The reconciliation was kept, or built by a run that stopped before recording
            # the build: the summary is in its last build's commit (unless an earlier version
            # wrote that commit).
            summary = last_builds[tables.RECONCILIATION].get(
                "reconciliation"
            ) or reconciliation_summary(io.read(spark, ctx.cfg, tables.RECONCILIATION))
        details: dict[str, object] = {
            "silver_versions": versions,
            "reconciliation": summary,
            **plans,
        }
        publish_views(spark, ctx, details)
        # The build's record, which the next run's ledger reads (_last_build_versions):
        # committed by the runner with the run's other records (common.record_steps).
        result.audit = [
            {
                "run_id": ctx.run_id,
                "step": STEP,
                "status": "succeeded",
                "started_at": started,
                "finished_at": utc_now(),
                "details": to_json(details),
            }
        ]
        result.details = details
    return result
