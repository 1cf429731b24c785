"""The whole pipeline in one Spark session: bronze, silver, gold, then a summary.

This is ``c2c-pipeline``, what ``make bench`` times; ``make run`` runs the same three steps
through the Data Factory pipelines' local executor. On Databricks they run as separate tasks of
one job (``c2c-bronze``, ``c2c-silver``, ``c2c-gold``); the code is the same.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from pyspark.sql import SparkSession

from c2c_etl.bronze.ingest import list_landing
from c2c_etl.entrypoints import PIPELINE
from c2c_etl.jobs import bronze, gold, silver
from c2c_etl.jobs.common import RunContext, StepResult, compact_step, exclusive_run, start_job
from c2c_etl.lake_state import record, unchanged_since_last_run
from c2c_etl.spark import get_spark, remote_url
from c2c_etl.summary import format_summary, format_unchanged, lake_summary


def run(spark: SparkSession, ctx: RunContext) -> list[StepResult]:
    """Run bronze, silver and gold in order on one session, then compact what they wrote."""
    steps = [bronze.run(spark, ctx), *silver.run(spark, ctx), gold.run(spark, ctx)]
    return [*steps, compact_step(spark, ctx)]


def main(argv: list[str] | None = None) -> None:
    """Run the pipeline holding the lake's run lock; a failed step raises (exit code 1), a
    lake locked by another run exits with code 75 at once (or after ``--wait-for-lock``).

    A local run first checks whether the lake, the landing files and the code are exactly as
    the last successful run left them (c2c_etl.lake_state): then a run would change nothing,
    and it says so without starting Spark (``--full-check`` starts it anyway)."""
    ctx, options = start_job(PIPELINE.description, argv, whole_pipeline=True)
    with exclusive_run(ctx, options.wait_for_lock):
        start = time.perf_counter()
        landed = None
        if ctx.cfg.is_local and not remote_url(options.spark_remote):
            landed = list_landing(ctx.cfg.landing_path)
            ctx = replace(ctx, landed=landed)
            last_run = unchanged_since_last_run(ctx.cfg, landed)
            if last_run is not None and not options.full_check:
                print(format_unchanged(ctx, last_run, time.perf_counter() - start), flush=True)
                return
        spark_start = time.perf_counter()
        spark = get_spark(ctx.cfg.is_local, PIPELINE.name, options.spark_remote)
        startup = time.perf_counter() - spark_start
        results = run(spark, ctx)
        total = time.perf_counter() - start
        summary = lake_summary(spark, ctx, results)
        if landed is not None:
            record(ctx.cfg, ctx.run_id, landed)
    print(format_summary(ctx, summary, results, startup, total), file=sys.stdout, flush=True)


if __name__ == "__main__":
    main()
