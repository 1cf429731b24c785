"""The whole pipeline in one Spark session: bronze, silver, gold, then a summary.

This is what ``make run`` calls locally. On Databricks the three steps run as separate tasks of
one job (``c2c-bronze``, ``c2c-silver``, ``c2c-gold``); the code is the same.
"""

from __future__ import annotations

import sys
import time

from pyspark.sql import SparkSession

from c2c_etl.entrypoints import PIPELINE
from c2c_etl.jobs import bronze, gold, silver
from c2c_etl.jobs.common import RunContext, StepResult, compact_step, exclusive_run, start_job
from c2c_etl.summary import format_summary, lake_summary


def run(spark: SparkSession, ctx: RunContext) -> list[StepResult]:
    """Run bronze, silver and gold in order on one session, then compact what they wrote."""
    steps = [bronze.run(spark, ctx), *silver.run(spark, ctx), gold.run(spark, ctx)]
    return [*steps, compact_step(spark, ctx)]


def main(argv: list[str] | None = None) -> None:
    """Run the pipeline holding the lake's run lock; a failed step raises (exit code 1), a
    lake locked by another run exits with code 75 at once (or after ``--wait-for-lock``)."""
    ctx, options = start_job(PIPELINE.description, argv)
    with exclusive_run(ctx, options.wait_for_lock):
        from c2c_etl.spark import get_spark

        start = time.perf_counter()
        spark = get_spark(ctx.cfg.is_local, PIPELINE.name, options.spark_remote)
        startup = time.perf_counter() - start
        results = run(spark, ctx)
        total = time.perf_counter() - start
        summary = lake_summary(spark, ctx, results)
    print(format_summary(ctx, summary, results, startup, total), file=sys.stdout, flush=True)


if __name__ == "__main__":
    main()
