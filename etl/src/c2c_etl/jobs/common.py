"""What every job shares: its arguments, its run context and its step results."""

from __future__ import annotations

import argparse
import json
import logging
import os
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
from c2c_etl.bronze.ingest import LandedFile
from c2c_etl.compaction import compact_written
from c2c_etl.config import ENVIRONMENTS, LakeConfig, cloud_config, local_config
from c2c_etl.entrypoints import EntryPoint
from c2c_etl.runlock import EXIT_LOCKED, LakeLocked, lake_lock

log = logging.getLogger("c2c_etl")

LOG_FORMAT_ENV = "C2C_LOG_FORMAT"
LOG_FORMATS = ("text", "json")

RUN_STEPS_SCHEMA = StructType(
    [
        StructField("run_id", StringType()),
        StructField("step", StringType()),
        StructField("status", StringType()),  # started | succeeded | failed
        StructField("started_at", TimestampType()),
        StructField("finished_at", TimestampType()),
        StructField("error", StringType()),
        StructField("details", StringType()),
    ]
)

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
    # The landing files, listed and hashed before the run (c2c-pipeline, env local): bronze
    # ingests these, and the run's recorded state names them. None: bronze lists the folder.
    landed: list[LandedFile] | None = None


@dataclass
class StepResult:
    step: str
    status: str  # succeeded | skipped | failed
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None  # set when the step recorded its ``started`` row


def _record_step(spark: SparkSession, ctx: RunContext, rows: list[tuple]) -> None:
    io.append(ctx.cfg, tables.RUN_STEPS, spark.createDataFrame(rows, RUN_STEPS_SCHEMA))


def step_started(spark: SparkSession, ctx: RunContext, result: StepResult) -> None:
    """Record that a step has work to do (a ``started`` row in ``silver.run_steps``).

    Called only once the step knows it will write, so a run with no new input still changes
    no table. A ``started`` row with no ``succeeded`` or ``failed`` row of the same run is a
    run that was killed in that step.
    """
    result.started_at = utc_now()
    _record_step(
        spark, ctx, [(ctx.run_id, result.step, "started", result.started_at, None, None, None)]
    )


@contextmanager
def caches() -> Iterator[list[DataFrame]]:
    """A list for the frames a block caches; each is unpersisted when the block ends, whether
    it succeeded or raised, so a run leaves nothing cached in a driver that outlives it (an
    all-purpose cluster, the test session). A frame that was not cached is left as it is."""
    held: list[DataFrame] = []
    try:
        yield held
    finally:
        for frame in held:
            frame.unpersist()


@contextmanager
def run_step(spark: SparkSession, ctx: RunContext, step: str) -> Iterator[StepResult]:
    """Time a step, tag its log lines and record its outcome in ``silver.run_steps``.

    A step that ran records ``succeeded`` (after its own commits); a step that raised records
    ``failed`` with the error and re-raises, so the process exits non-zero. A skipped step
    records nothing.
    """
    result = StepResult(step=step, status="succeeded")
    start = time.perf_counter()
    previous = LOG_CONTEXT.get("step")
    LOG_CONTEXT["step"] = step
    log.info("step %s: started", step)
    try:
        yield result
    except Exception as error:
        result.seconds = time.perf_counter() - start
        result.status = "failed"
        log.exception("step %s: failed after %.1f s", step, result.seconds)
        message = f"{type(error).__name__}: {error}"[:4000]
        try:
            _record_step(
                spark,
                ctx,
                [
                    (
                        ctx.run_id,
                        step,
                        "failed",
                        result.started_at or utc_now(),
                        utc_now(),
                        message,
                        to_json(result.details),
                    )
                ],
            )
        except Exception:  # the original error matters more than a lost status row
            log.exception("step %s: could not record its failed status", step)
        raise
    finally:
        LOG_CONTEXT["step"] = previous
    result.seconds = time.perf_counter() - start
    if result.started_at is not None:
        _record_step(
            spark,
            ctx,
            [
                (
                    ctx.run_id,
                    step,
                    result.status,
                    result.started_at,
                    utc_now(),
                    None,
                    to_json(result.details),
                )
            ],
        )
    log.info("step %s: %s in %.1f s", step, result.status, result.seconds)


COMPACT_STEP = "compact"


def compact_step(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Compact the tables this job wrote, once, at its end (c2c_etl.compaction); the tables
    this run created are left as written.

    Timed and logged like a step, but recorded in ``silver.run_steps`` only when it fails: a
    ``succeeded`` row would itself be a new small file. Nothing written: skipped, at no cost.
    """
    with run_step(spark, ctx, COMPACT_STEP) as result:
        done = compact_written(spark, ctx.cfg, since=ctx.started_at)
        if not done:
            result.status = "skipped"
        result.details = {c.table: {"files": [c.files_before, c.files_after]} for c in done}
        for c in done:
            log.info(
                "compacted %s: %d files to %d in %.1f s",
                c.table,
                c.files_before,
                c.files_after,
                c.seconds,
            )
    return result


def build_parser(description: str, whole_pipeline: bool = False) -> argparse.ArgumentParser:
    """The parameters every job accepts (c2c_etl.entrypoints.COMMON_PARAMETERS), plus the
    optional operator flags (log format, run-lock wait; ``--full-check`` for the whole
    pipeline)."""
    parser = argparse.ArgumentParser(description=description)
    if whole_pipeline:
        parser.add_argument(
            "--full-check",
            action="store_true",
            help="env local: start Spark and read the lake even when the landing files, the "
            "tables and the code are as the last successful run left them",
        )
    parser.add_argument("--env", choices=ENVIRONMENTS, default="local")
    parser.add_argument("--input", required=True, help="landing folder with the source CSVs")
    parser.add_argument("--lake", help="local lake folder (env local)")
    parser.add_argument("--catalog", help="Unity Catalog catalog (cloud envs), default c2c_<env>")
    parser.add_argument("--run-id", default=None, help="run id (Data Factory passes its own)")
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        help=f"text (default) or json: one JSON object per line (or ${LOG_FORMAT_ENV})",
    )
    parser.add_argument(
        "--wait-for-lock",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="env local: wait this long for another run's lock on the lake (default: fail at once)",
    )
    parser.add_argument(
        "--spark-remote",
        default=None,
        metavar="URL",
        help="run on this Spark Connect server, e.g. sc://host:15002 (or $SPARK_REMOTE); with "
        "--env local its lake and landing paths must be the server's too",
    )
    return parser


def context_from_args(args: argparse.Namespace) -> RunContext:
    if args.env == "local":
        if not args.lake:
            raise SystemExit("--lake is required with --env local")
        cfg = local_config(args.input, args.lake)
    else:
        cfg = cloud_config(args.env, args.input, args.catalog)
    return RunContext(cfg=cfg, run_id=args.run_id or new_run_id())


@contextmanager
def exclusive_run(ctx: RunContext, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the lake's run lock for a local run; exit with ``EXIT_LOCKED`` (75) naming the
    holder when another run has it. Cloud runs are serialised by the Databricks job
    (``max_concurrent_runs=1``), so they take no lock here."""
    if not ctx.cfg.is_local or not ctx.cfg.lake_root:
        yield
        return
    try:
        with lake_lock(ctx.cfg.lake_root, ctx.run_id, wait_seconds):
            yield
    except LakeLocked as locked:
        log.error("%s", locked)
        raise SystemExit(EXIT_LOCKED) from locked


@dataclass(frozen=True)
class JobOptions:
    """How a job runs, besides what it runs on: the operator flags of its command line."""

    wait_for_lock: float = 0.0
    spark_remote: str | None = None  # a Spark Connect URL; None: $SPARK_REMOTE or no server
    full_check: bool = False  # the whole pipeline only: see c2c_etl.lake_state


def start_job(
    description: str, argv: list[str] | None = None, whole_pipeline: bool = False
) -> tuple[RunContext, JobOptions]:
    """Parse the shared parameters and set up logging for the run: (context, options)."""
    args = build_parser(description, whole_pipeline).parse_args(argv)
    ctx = context_from_args(args)
    configure_logging(args.log_format, ctx.run_id)
    full_check = whole_pipeline and args.full_check
    return ctx, JobOptions(args.wait_for_lock, args.spark_remote, full_check)


def job_main(entry: EntryPoint, run: Callable[[SparkSession, RunContext], object]) -> None:
    """What every entry point does: parse the shared parameters, take the lake's run lock,
    get the session, run. An error propagates, so the process exits non-zero."""
    ctx, options = start_job(entry.description)
    with exclusive_run(ctx, options.wait_for_lock):
        from c2c_etl.spark import get_spark  # imported late: Databricks brings its own session

        spark = get_spark(ctx.cfg.is_local, entry.name, options.spark_remote)
        run(spark, ctx)
        compact_step(spark, ctx)


# What every log line carries besides its message: set once per run, and per step by run_step.
LOG_CONTEXT: dict[str, str | None] = {"run_id": None, "step": None}

# Attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, run_id, step, and any
    ``extra=`` fields, so a log collector can filter a run's lines by its id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": LOG_CONTEXT["run_id"],
            "step": LOG_CONTEXT["step"],
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str | None = None, run_id: str | None = None) -> None:
    """Log to stderr as text or, with ``json`` (or ``$C2C_LOG_FORMAT=json``), JSON lines."""
    LOG_CONTEXT["run_id"] = run_id
    chosen = log_format or os.environ.get(LOG_FORMAT_ENV) or "text"
    if chosen not in LOG_FORMATS:
        raise SystemExit(f"{LOG_FORMAT_ENV}={chosen!r}: expected one of {LOG_FORMATS}")
    handler = logging.StreamHandler(sys.stderr)
    if chosen == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # A no-op when the root logger already has handlers (a test runner's, Databricks'): the
    # host's logging set-up wins.
    logging.basicConfig(level=logging.INFO, handlers=[handler])
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
