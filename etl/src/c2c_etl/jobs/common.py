"""What every step shares: the run context, step results and their records, logging."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
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
from c2c_etl.config import LakeConfig

log = logging.getLogger("c2c_etl")

LOG_FORMAT_ENV = "C2C_LOG_FORMAT"
LOG_FORMATS = ("text", "json")

# The run's records: what bronze did with each file it looked at (the ingestion log), what each
# later step consumed (the run audit) and the steps that had work (run steps). The runner
# commits them together at the run's end (:func:`record_steps`).

INGESTION_LOG_SCHEMA = StructType(
    [
        StructField("source_file", StringType()),
        StructField("source_sha256", StringType()),
        StructField("size_bytes", LongType()),
        StructField("source_kind", StringType()),
        StructField("release", StringType()),
        # ingested | empty (header only) | duplicate_delivery | rejected (named as a CSV, with
        # unreadable bytes or an unknown header; a copy is in the dead-letter area) | skipped
        # (not data: another name and not a known CSV, or in a landing folder set aside)
        StructField("status", StringType()),
        StructField("reason", StringType()),
        StructField("rows", LongType()),
        StructField("run_id", StringType()),
        StructField("ingested_at", TimestampType()),
    ]
)

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
    # The input files, listed and hashed by the runner before the run (env local): bronze
    # ingests these. None: bronze lists the folder itself.
    landed: list[LandedFile] | None = None
    # Every step this run has entered, in order: the runner records them when the run ends.
    steps: list[StepResult] = field(default_factory=list, compare=False)
    # What a step read from the lake's ledger and a later step of the same run reuses.
    memo: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class StepResult:
    step: str
    status: str  # succeeded | skipped | failed
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None  # set once the step knows it has work to do
    finished_at: datetime | None = None
    error: str | None = None
    # The step's rows for ``silver.run_audit`` (each file it consumed, a gold build) and for the
    # ingestion log (bronze's: each file it looked at, in INGESTION_LOG_SCHEMA's order), which
    # the runner commits with the run's other records: :func:`record_steps`.
    audit: list[dict[str, Any]] = field(default_factory=list)
    logged: list[tuple] = field(default_factory=list)
    recorded: bool = False  # set once the step's row is in ``silver.run_steps``


def step_started(result: StepResult) -> None:
    """Note that a step has work to do: it will be recorded in ``silver.run_steps``.

    Called only once the step knows it will write, so a run with no new input records
    nothing and changes no table.
    """
    result.started_at = utc_now()


# Details a step hands the runner that are not worth a row: bronze's list of every content hash
# the lake knows (for the state record).
UNRECORDED_DETAILS = frozenset({"known_sha256"})


def record_steps(spark: SparkSession, ctx: RunContext) -> None:
    """Record what the run's steps did, after their data commits, each step once: the files
    bronze looked at in the ingestion log, the steps' audit rows (each file consumed, each gold
    build) in ``silver.run_audit``, and the steps that had work, or failed, in
    ``silver.run_steps``: one append to each for the whole run, the three side by side.

    A run killed before then records none of them, or some: its rerun finds its pending work
    and does it. Each step's writes are idempotent: a bronze file the killed run committed is
    skipped by Delta and logged with that commit's rows; a users MERGE or a gold table it
    committed is recognised from its commit's metadata, not written again. A record that did
    commit is not made again when the runner records a failing run.
    """
    # Each record: its table, its rows, and how a step's result forgets the rows once committed.
    records: list[tuple[tables.Table, DataFrame, Callable[[StepResult], None]]] = []
    logged = [row for r in ctx.steps for row in r.logged]
    if logged:
        rows = spark.createDataFrame(logged, INGESTION_LOG_SCHEMA)
        records.append((tables.INGESTION_LOG, rows, lambda r: setattr(r, "logged", [])))
    audit = [row for r in ctx.steps for row in r.audit]
    if audit:
        rows = audit_rows(spark, audit)
        records.append((tables.RUN_AUDIT, rows, lambda r: setattr(r, "audit", [])))
    unrecorded = [r for r in ctx.steps if not r.recorded]
    steps = [
        (
            ctx.run_id,
            r.step,
            r.status,
            r.started_at or r.finished_at,
            r.finished_at,
            r.error,
            to_json({k: v for k, v in r.details.items() if k not in UNRECORDED_DETAILS}),
        )
        for r in unrecorded
        if r.started_at is not None or r.status == "failed"
    ]
    if steps:
        rows = spark.createDataFrame(steps, RUN_STEPS_SCHEMA)
        records.append((tables.RUN_STEPS, rows, lambda r: setattr(r, "recorded", True)))
    else:
        for r in unrecorded:
            r.recorded = True

    def commit(record: tuple[tables.Table, DataFrame, Callable[[StepResult], None]]) -> None:
        table, rows, forget = record
        io.append(ctx.cfg, table, rows)
        for r in ctx.steps:
            forget(r)

    io.parallel(commit, records)


@contextmanager
def caches() -> Iterator[list[DataFrame]]:
    """A list for the frames a block caches; each is unpersisted when the block ends, whether
    it succeeded or raised, so a run leaves nothing cached in a driver that outlives it (an
    all-purpose cluster, the test session). A frame that was not cached is left as it is.

    Newest first: a frame cached from another one is dropped before it. Dropping a frame that
    others were cached from makes Spark plan those again, a query for each table they read."""
    held: list[DataFrame] = []
    try:
        yield held
    finally:
        for frame in reversed(held):
            frame.unpersist()


@contextmanager
def run_step(ctx: RunContext, step: str) -> Iterator[StepResult]:
    """Time a step, tag its log lines and keep its outcome in the run's context.

    A step that raised is marked ``failed`` with the error, and the error propagates, so the
    process exits non-zero. The runner records the run's steps (:func:`record_steps`).
    """
    result = StepResult(step=step, status="succeeded")
    ctx.steps.append(result)
    start = time.perf_counter()
    previous = LOG_CONTEXT.get("step")
    LOG_CONTEXT["step"] = step
    log.info("step %s: started", step)
    try:
        yield result
    except Exception as error:
        result.seconds = time.perf_counter() - start
        result.status = "failed"
        result.finished_at = utc_now()
        result.error = f"{type(error).__name__}: {error}"[:4000]
        log.exception("step %s: failed after %.1f s", step, result.seconds)
        raise
    finally:
        LOG_CONTEXT["step"] = previous
    result.seconds = time.perf_counter() - start
    result.finished_at = utc_now()
    log.info("step %s: %s in %.1f s", step, result.status, result.seconds)


COMPACT_STEP = "compact"


def compact_step(spark: SparkSession, ctx: RunContext) -> StepResult:
    """Compact the tables this job wrote, once, at its end (c2c_etl.compaction); the tables
    this run created are left as written.

    Timed and logged like a step, but recorded in ``silver.run_steps`` only when it fails: a
    ``succeeded`` row would itself be a new small file. Nothing written: skipped, at no cost.
    """
    with run_step(ctx, COMPACT_STEP) as result:
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


@dataclass(frozen=True)
class Ledger:
    """What the run audit says earlier runs have done: the content hashes each step has
    processed successfully, and the details of each step's last successful run-level row (one
    with no source file: the gold build's)."""

    processed: dict[str, set[str]]
    last_details: dict[str, dict[str, Any]]


LEDGER = "ledger"


def read_ledger(spark: SparkSession, ctx: RunContext) -> Ledger:
    """The run audit as :class:`Ledger`, read once per run (one small query) and kept in the
    run's memo: the steps after the first read what was there when the run began, and none of
    them looks for its own rows of this run (silver appends file rows; gold reads only the
    last build's row of an earlier run)."""
    if LEDGER in ctx.memo:
        return ctx.memo[LEDGER]
    processed: dict[str, set[str]] = {}
    last_details: dict[str, dict[str, Any]] = {}
    audit = io.read_or_none(spark, ctx.cfg, tables.RUN_AUDIT)
    if audit is not None:
        run_level = F.when(F.col("source_sha256").isNull(), F.col("details"))
        rows = (
            audit.filter(F.col("status") == "succeeded")
            .groupBy("step", "source_sha256")
            .agg(F.max_by(run_level, F.col("finished_at")).alias("details"))
            .collect()
        )
        for step, sha, details in rows:
            if sha:
                processed.setdefault(step, set()).add(sha)
            elif details:
                last_details[step] = json.loads(details)
    ctx.memo[LEDGER] = Ledger(processed, last_details)
    return ctx.memo[LEDGER]


# The ingestion log's rows, in :func:`log_order`, as the run found them and then with the rows
# bronze will record: the silver steps' pending files in the same run come from them
# (c2c_etl.jobs.silver), not from a second read of the log. The log holds one row per file.
LOG_ROWS = "ingestion_log_rows"


def log_order(row: Row) -> tuple:
    """Ingestion time, then file name (sorted in the driver: the log is small)."""
    return (row["ingested_at"], row["source_file"])


def logged_rows(spark: SparkSession, ctx: RunContext) -> list[Row]:
    """The ingestion log's rows in :func:`log_order` (none before the first run), read once per
    run and kept in the run's memo (:data:`LOG_ROWS`)."""
    if LOG_ROWS not in ctx.memo:
        logged = io.read_or_none(spark, ctx.cfg, tables.INGESTION_LOG)
        ctx.memo[LOG_ROWS] = [] if logged is None else sorted(logged.collect(), key=log_order)
    return list(ctx.memo[LOG_ROWS])


def read_records(spark: SparkSession, ctx: RunContext, reads: Iterable[tables.Table]) -> None:
    """Read the run's records that the steps about to run read (``reads``: the ingestion log,
    the run audit) into the run's memo, side by side: two small queries at once, before the
    first step."""
    wanted = set(reads)
    readers: list[Callable[[], object]] = []
    if tables.INGESTION_LOG in wanted:
        readers.append(lambda: logged_rows(spark, ctx))
    if tables.RUN_AUDIT in wanted:
        readers.append(lambda: read_ledger(spark, ctx))
    io.parallel(lambda read: read(), readers)


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
