"""The end-of-run summary: rows per layer, quarantine per rule, reconciliation, time per step."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.jobs.common import RunContext, StepResult


def _count_by_rule(df: DataFrame | None, rules_column: str) -> dict[str, int]:
    """Rows per rule name found in an array column of rule names."""
    if df is None:
        return {}
    counts = df.select(F.explode(rules_column).alias("rule")).groupBy("rule").count().collect()
    return {r["rule"]: r["count"] for r in counts}


def changed_nothing(results: list[StepResult]) -> bool:
    """Whether every step of the run found nothing to do (a rerun with no new input): no
    table got a new version, so the lake is as the previous run's summary described it."""
    return all(r.status == "skipped" for r in results)


def lake_summary(spark: SparkSession, ctx: RunContext, results: list[StepResult]) -> dict[str, Any]:
    """Facts about the lake after a run (table row counts read from Delta metadata).

    After a run that changed nothing, the lake is not read again: counting every table and
    the rules over all users took 10 to 15 s of a 35 s no-op rerun on the real data (Spark
    event log, issue 7), to print the figures the previous run printed.
    """
    if changed_nothing(results):
        return {"unchanged": True, "audit": []}

    def count(table: tables.Table) -> int | None:
        df = io.read_or_none(spark, ctx.cfg, table)
        return df.count() if df is not None else None

    counts = io.parallel(count, tables.ALL_TABLES)
    rows = {str(t): n for t, n in zip(tables.ALL_TABLES, counts, strict=True)}
    per_rule = _count_by_rule(
        io.read_or_none(spark, ctx.cfg, tables.SILVER_QUARANTINE), "failed_rules"
    )
    flags = _count_by_rule(io.read_or_none(spark, ctx.cfg, tables.SILVER_USERS), "dq_flags")
    recon = io.read_or_none(spark, ctx.cfg, tables.RECONCILIATION)
    reconciliation: dict[str, tuple[int, int]] = {}
    if recon is not None:
        reconciliation = {
            r["report"]: (r["matched"], r["total"])
            for r in recon.groupBy("report")
            .agg(
                F.sum(F.col("matches").cast("long")).alias("matched"),
                F.count(F.lit(1)).alias("total"),
            )
            .collect()
        }
    audit = io.read_or_none(spark, ctx.cfg, tables.RUN_AUDIT)
    this_run = []
    if audit is not None:
        this_run = [
            r.asDict()
            for r in audit.filter(
                (F.col("run_id") == ctx.run_id) & F.col("source_file").isNotNull()
            )
            .orderBy("step", "source_file")
            .collect()
        ]
    return {
        "rows": rows,
        "quarantine_by_rule": per_rule,
        "flags_by_rule": flags,
        "reconciliation": reconciliation,
        "audit": this_run,
    }


def format_summary(
    ctx: RunContext,
    summary: dict[str, Any],
    results: list[StepResult],
    startup: float,
    total: float,
) -> str:
    lines = [_heading(ctx), ""]
    lines.append("Time per step:")
    lines.append(f"  {'spark start-up':<16}{startup:7.1f} s")
    for r in results:
        lines.append(f"  {r.step:<16}{r.seconds:7.1f} s  {r.status}")
    lines.append(f"  {'total':<16}{total:7.1f} s")
    lines.append("")
    tables_line = _tables_line(ctx)
    if summary.get("unchanged"):
        lines.append("No new input: no table changed (the previous run's summary still holds).")
        lines.append("")
        lines.append(tables_line)
        return "\n".join(lines)
    lines.append("Files in this run (rows read = to silver + quarantined + duplicates):")
    if not summary["audit"]:
        lines.append("  no new files: nothing to do")
    for a in summary["audit"]:
        ok = "balanced" if a["balanced"] else "NOT BALANCED"
        lines.append(
            f"  {a['step']:<15}{a['source_file']:<50}{a['rows_read']:>9} = {a['rows_to_silver']}"
            f" + {a['rows_quarantined']} + {a['rows_duplicate']}  {ok}"
        )
    lines.append("")
    lines.append("Rows per table:")
    for name, n in summary["rows"].items():
        if n is not None:
            lines.append(f"  {name:<45}{n:>10}")
    lines.append("")
    lines.append("Quarantined rows per rule (all runs):")
    for rule, n in sorted(summary["quarantine_by_rule"].items()) or [("none", 0)]:
        lines.append(f"  {rule:<30}{n:>8}")
    lines.append("Rows kept with a flag, per rule:")
    for rule, n in sorted(summary["flags_by_rule"].items()) or [("none", 0)]:
        lines.append(f"  {rule:<30}{n:>8}")
    lines.append("")
    lines.append("Publisher report reconciliation (figures matching / published or computed):")
    if not summary["reconciliation"]:
        lines.append("  no publisher reports in the input")
    for report, (matched, n) in sorted(summary["reconciliation"].items()):
        lines.append(f"  {report:<40}{matched:>6} / {n:<6} {'OK' if matched == n else 'MISMATCH'}")
    lines.append("")
    lines.append(tables_line)
    return "\n".join(lines)


def _heading(ctx: RunContext) -> str:
    return f"Run {ctx.run_id} ({ctx.cfg.env}) on {ctx.cfg.landing_path}"


def _tables_line(ctx: RunContext) -> str:
    if ctx.cfg.is_local:
        return f"Tables: {ctx.cfg.lake_root}/<layer>/<table>"
    return f"Tables: catalog {ctx.cfg.catalog}"


def format_unchanged(ctx: RunContext, last_run: str, seconds: float) -> str:
    """The summary of a local run that found the lake, the landing files and the code as the
    last successful run left them, and so did not start Spark (c2c_etl.lake_state)."""
    return "\n".join(
        [
            _heading(ctx),
            "",
            "Time per step:",
            f"  {'state check':<16}{seconds:7.1f} s  unchanged",
            f"  {'total':<16}{seconds:7.1f} s",
            "",
            f"No new input: the landing files, every table and the code are as run {last_run} "
            "left them, so a run would change nothing and Spark was not started "
            "(--full-check starts it anyway).",
            "",
            _tables_line(ctx),
        ]
    )
