"""What every job shares: its arguments, its run context and its step results."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from c2c_etl import io, tables
from c2c_etl.config import ENVIRONMENTS, LakeConfig, cloud_config, local_config
from c2c_etl.entrypoints import EntryPoint

log = logging.getLogger("c2c_etl")

RUN_AUDIT_SCHEMA = StructType(
    [
        StructField("run_id", StringType()),
        StructField("step", StringType()),
        StructField("source_file", StringType()),
        StructField("source_sha256", StringType()),
        StructField("release", StringType()),
        StructField("rows_read", LongType()),
        StructField("rows_to_silver", LongType()),
        StructField("rows_quarantined", LongType()),
        StructField("rows_duplicate", LongType()),
        StructField("balanced", BooleanType()),
        StructField("status", StringType()),
        StructField("started_at", TimestampType()),
        StructField("finished_at", TimestampType()),
        StructField("details", StringType()),
    ]
)


def new_run_id() -> str:
    return f"local-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class RunContext:
    """One run: its configuration, id and start time (the ingestion time of its files)."""

    cfg: LakeConfig
    run_id: str
    started_at: datetime = field(default_factory=utc_now)


@dataclass
class StepResult:
    step: str
    status: str  # succeeded | skipped
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)


@contextmanager
def timed(step: str) -> Iterator[StepResult]:
    result = StepResult(step=step, status="succeeded")
    start = time.perf_counter()
    log.info("step %s: started", step)
    yield result
    result.seconds = time.perf_counter() - start
    log.info("step %s: %s in %.1f s", step, result.status, result.seconds)


def build_parser(description: str) -> argparse.ArgumentParser:
    """The parameters every job accepts (c2c_etl.entrypoints.COMMON_PARAMETERS)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--env", choices=ENVIRONMENTS, default="local")
    parser.add_argument("--input", required=True, help="landing folder with the source CSVs")
    parser.add_argument("--lake", help="local lake folder (env local)")
    parser.add_argument("--catalog", help="Unity Catalog catalog (cloud envs), default c2c_<env>")
    parser.add_argument("--run-id", default=None, help="run id (Data Factory passes its own)")
    return parser


def context_from_args(args: argparse.Namespace) -> RunContext:
    if args.env == "local":
        if not args.lake:
            raise SystemExit("--lake is required with --env local")
        cfg = local_config(args.input, args.lake)
    else:
        cfg = cloud_config(args.env, args.input, args.catalog)
    return RunContext(cfg=cfg, run_id=args.run_id or new_run_id())


def job_main(entry: EntryPoint, run: Callable[[SparkSession, RunContext], object]) -> None:
    """What every entry point does: parse the shared parameters, get the session, run."""
    configure_logging()
    ctx = context_from_args(build_parser(entry.description).parse_args())
    from c2c_etl.spark import get_spark  # imported late: Databricks brings its own session

    run(get_spark(ctx.cfg.is_local, entry.name), ctx)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("py4j").setLevel(logging.WARNING)


def audit_rows(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    """A DataFrame of run-audit records (missing fields are null)."""
    names = RUN_AUDIT_SCHEMA.fieldNames()
    return spark.createDataFrame(
        [tuple(r.get(n) for n in names) for r in rows], schema=RUN_AUDIT_SCHEMA
    )


def processed_sha256(spark: SparkSession, cfg: LakeConfig, step: str) -> set[str]:
    """Content hashes of the files a step has already processed successfully."""
    audit = io.read_or_none(spark, cfg, tables.RUN_AUDIT)
    if audit is None:
        return set()
    done = audit.filter((F.col("step") == step) & (F.col("status") == "succeeded"))
    return {r[0] for r in done.select("source_sha256").distinct().collect() if r[0]}


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
