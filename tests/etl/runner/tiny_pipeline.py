"""A two-step pipeline built with the one runner, small enough to kill after each commit.

``ingest`` appends each new CSV of the input to a raw table (an idempotent append keyed by the
file's content); ``total`` rebuilds a totals table from the raw table when the raw table has
changed since its last build. Both follow the pattern the real pipeline's steps follow: find
pending work from the lake itself, write idempotently, leave a no-op rerun without a commit.

Run as ``python -m tests.etl.runner.tiny_pipeline --input <folder> --lake <folder>``.
"""

from __future__ import annotations

import argparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from c2c_etl import io
from c2c_etl.jobs.common import RunContext, StepResult, run_step, step_started
from c2c_etl.pipeline import Step
from c2c_etl.tables import BRONZE, GOLD, Table

RAW = Table(BRONZE, "tiny_raw")
TOTALS = Table(GOLD, "tiny_totals")


def ingest(spark: SparkSession, ctx: RunContext) -> StepResult:
    with run_step(ctx, "ingest") as result:
        done = {meta.get("sha256") for _v, meta, _m in io.commits(spark, ctx.cfg, RAW)}
        new = [f for f in ctx.landed or [] if f.sha256 not in done]
        if not new:
            result.status = "skipped"
            return result
        step_started(result)
        for f in new:
            rows = spark.read.option("header", "true").csv(f.path)
            io.append(
                ctx.cfg,
                RAW,
                rows.withColumn("file", F.lit(f.name)),
                txn=(f"tiny-{f.sha256}", 0),
                user_metadata={"sha256": f.sha256},
            )
        result.details = {"files": [f.name for f in new]}
    return result


def total(spark: SparkSession, ctx: RunContext) -> StepResult:
    with run_step(ctx, "total") as result:
        raw_version = io.version(spark, ctx.cfg, RAW)
        built = io.commits(spark, ctx.cfg, TOTALS, limit=1)
        if raw_version is None or (built and built[0][1].get("raw_version") == raw_version):
            result.status = "skipped"
            return result
        step_started(result)
        totals = (
            io.read(spark, ctx.cfg, RAW)
            .groupBy("file")
            .agg(
                F.count(F.lit(1)).alias("rows"), F.sum(F.col("amount").cast("long")).alias("amount")
            )
        )
        io.overwrite(ctx.cfg, TOTALS, totals, user_metadata={"raw_version": raw_version})
    return result


STEPS = (
    Step("ingest", ingest, reads=(RAW,), writes=(RAW,)),
    Step("total", total, reads=(RAW, TOTALS), writes=(TOTALS,)),
)


def main() -> None:
    from c2c_etl.config import local_config
    from c2c_etl.runner import RunRequest, run

    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--lake", required=True)
    args = parser.parse_args()
    request = RunRequest(local_config(args.input, args.lake), pipeline=STEPS, app_name="tiny")
    print(run(request).report(), flush=True)


if __name__ == "__main__":
    main()
