"""The one runner: every way of running the pipeline goes through :func:`run`.

The Databricks job's tasks (``c2c-bronze``, ``c2c-silver``, ``c2c-gold``), ``c2c-pipeline``,
``make run`` (the Data Factory local executor), ``make bench`` and the tests all hand it a
:class:`RunRequest`, so they behave the same. It owns the run's effects around the steps: the
lake's run lock, the "nothing changed" shortcut, the Spark session, the steps in the order the
pipeline declares them (c2c_etl.pipeline), the compaction policy, the record of what the run
left behind and the summary, which is made of what the steps already computed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from pyspark.sql import SparkSession

from c2c_etl import pipeline
from c2c_etl.bronze.ingest import LandedFile, list_landing
from c2c_etl.config import ENVIRONMENTS, LakeConfig, cloud_config, local_config
from c2c_etl.jobs.common import (
    LOG_FORMATS,
    RunContext,
    StepResult,
    compact_step,
    configure_logging,
    new_run_id,
    read_records,
    record_steps,
)
from c2c_etl.lake_state import record, run_bytes, unchanged_since_last_run
from c2c_etl.pipeline import STEPS, Step
from c2c_etl.runlock import EXIT_LOCKED, LakeLocked, lake_lock
from c2c_etl.spark import get_spark, remote_url
from c2c_etl.summary import format_summary, format_unchanged

log = logging.getLogger("c2c_etl")


# A command line that cannot run as given (argparse's own code for usage errors).
EXIT_USAGE = 2


class InputMissing(RuntimeError):
    """The input folder of a local run does not exist or is not a readable folder."""


@dataclass(frozen=True)
class RunRequest:
    """What to run and how, typed: what every entry point turns its arguments into."""

    cfg: LakeConfig
    run_id: str = field(default_factory=new_run_id)
    # Names of the pipeline's steps to run (its order is kept); all of them by default.
    steps: tuple[str, ...] | None = None
    wait_for_lock: float = 0.0
    spark_remote: str | None = None  # a Spark Connect URL; None: $SPARK_REMOTE or no server
    # Start Spark even when the lake, the input files and the code are as the last run left them.
    full_check: bool = False
    app_name: str = "c2c-pipeline"
    # The pipeline: c2c_etl.pipeline's steps, or another pipeline built the same way (the
    # tests' small one proves the runner's crash safety on it).
    pipeline: tuple[Step, ...] = STEPS

    @property
    def whole_pipeline(self) -> bool:
        return self.steps is None or set(self.steps) == {s.name for s in self.pipeline}

    def chosen_steps(self) -> list[Step]:
        """The steps to run, in the pipeline's order; an unknown name is refused."""
        names = [s.name for s in self.pipeline]
        unknown = [n for n in self.steps or () if n not in names]
        if unknown:
            raise ValueError(f"unknown step(s) {unknown}; the pipeline's steps are {names}")
        return [s for s in self.pipeline if self.steps is None or s.name in self.steps]


@dataclass
class RunOutcome:
    """What a run did: its context, its steps' results and its timings."""

    ctx: RunContext
    results: list[StepResult]
    startup_s: float = 0.0
    total_s: float = 0.0
    # Set when the shortcut answered: the id of the run that left the lake as it is.
    unchanged_since: str | None = None

    def report(self) -> str:
        """The summary printed at the end of a run."""
        if self.unchanged_since is not None:
            return format_unchanged(self.ctx, self.unchanged_since, self.total_s)
        return format_summary(self.ctx, self.results, self.startup_s, self.total_s)


def check_input(cfg: LakeConfig) -> None:
    """Raise :class:`InputMissing`, naming the folder, when a local run's input is not a
    readable folder: before any lake folder or lock file is created."""
    if not cfg.is_local:
        return
    folder = Path(cfg.landing_path)
    if not folder.is_dir():
        raise InputMissing(f"input folder {folder} does not exist or is not a folder")
    try:
        next(folder.iterdir(), None)
    except OSError as error:
        raise InputMissing(f"input folder {folder} cannot be read: {error.strerror}") from error


@contextmanager
def exclusive(cfg: LakeConfig, holder: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the lake's run lock for a local run; exit with ``EXIT_LOCKED`` (75) naming the
    holder when another run has it. Cloud runs are serialised by the Databricks job
    (``max_concurrent_runs=1``), so they take no lock here."""
    if not cfg.is_local or not cfg.lake_root:
        yield
        return
    try:
        with lake_lock(cfg.lake_root, holder, wait_seconds):
            yield
    except LakeLocked as locked:
        log.error("%s", locked)
        raise SystemExit(EXIT_LOCKED) from locked


def unchanged(cfg: LakeConfig, files: list[LandedFile]) -> str | None:
    """The id of the last successful whole run when a run of ``files`` would change nothing
    (c2c_etl.lake_state), else None. Reads no table: no Spark."""
    return unchanged_since_last_run(cfg, files)


def run(request: RunRequest, spark: SparkSession | None = None, *, lock: bool = True) -> RunOutcome:
    """Run the requested steps on one session, then compact what they wrote when it needs it.

    ``spark``: a session to use (the tests', the local executor's); None starts one, and only
    once the shortcut has found work. ``lock=False``: the caller already holds the lake's lock
    (the local executor holds it for the whole Data Factory run). A failed step raises.
    """
    start = time.perf_counter()
    chosen = request.chosen_steps()
    check_input(request.cfg)
    guard = exclusive(request.cfg, request.run_id, request.wait_for_lock) if lock else nullcontext()
    with guard:
        ctx = RunContext(request.cfg, request.run_id)
        files: list[LandedFile] | None = None
        size: int | None = None
        if request.cfg.is_local and not remote_url(request.spark_remote):
            files = list_landing(request.cfg.landing_path)
            ctx = replace(ctx, landed=files)
            if request.whole_pipeline and not request.full_check:
                last = unchanged(request.cfg, files)
                if last is not None:
                    return RunOutcome(
                        ctx, [], total_s=time.perf_counter() - start, unchanged_since=last
                    )
            size = run_bytes(request.cfg, files)
        began = time.perf_counter()
        if spark is None:
            spark = get_spark(request.cfg.is_local, request.app_name, request.spark_remote, size)
        startup = time.perf_counter() - began
        try:
            read_records(spark, ctx, {table for step in chosen for table in step.reads})
            results = [step.run(spark, ctx) for step in chosen]
            # The run's records before the compaction, which then finds their tables among
            # those the run wrote.
            record_steps(spark, ctx)
            results.append(compact_step(spark, ctx))
        except BaseException:
            _record_failing(spark, ctx)
            raise
        if files is not None and request.whole_pipeline:
            record(request.cfg, ctx.run_id, files, results)
    return RunOutcome(ctx, results, startup, time.perf_counter() - start)


def _record_failing(spark: SparkSession, ctx: RunContext) -> None:
    """The records of a failing run, those not yet made (:func:`record_steps`): its steps'
    audit rows and the steps, with the failed one. A failure to record them is logged, not
    raised: the run's own error is the one to see."""
    try:
        record_steps(spark, ctx)
    except Exception:
        log.exception("could not record the steps of run %s", ctx.run_id)


# --- command lines ------------------------------------------------------------------------


def build_parser(description: str, whole_pipeline: bool = False) -> argparse.ArgumentParser:
    """The parameters every job accepts (c2c_etl.entrypoints.COMMON_PARAMETERS), plus the
    operator flags (log format, run-lock wait, Spark Connect; ``--full-check`` for the whole
    pipeline)."""
    parser = argparse.ArgumentParser(description=description)
    if whole_pipeline:
        parser.add_argument(
            "--full-check",
            action="store_true",
            help="env local: start Spark and read the lake even when the input files, the "
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
        help="text (default) or json: one JSON object per line (or $C2C_LOG_FORMAT)",
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


def request_from_args(
    args: argparse.Namespace, steps: tuple[str, ...] | None, app_name: str
) -> RunRequest:
    """The typed request behind a parsed command line."""
    if args.env == "local":
        if not args.lake:
            raise SystemExit("--lake is required with --env local")
        cfg = local_config(args.input, args.lake)
    else:
        cfg = cloud_config(args.env, args.input, args.catalog)
    return RunRequest(
        cfg=cfg,
        run_id=args.run_id or new_run_id(),
        steps=steps,
        wait_for_lock=args.wait_for_lock,
        spark_remote=args.spark_remote,
        full_check=bool(getattr(args, "full_check", False)),
        app_name=app_name,
    )


def main(entry_point: str, argv: Sequence[str] | None = None) -> None:
    """What every entry point does: parse its arguments into a request, run, print the
    summary. A failed step raises (exit code 1); a locked lake exits with 75; a missing
    input folder exits with 2 and one line naming it."""
    from c2c_etl.entrypoints import ENTRY_POINTS_BY_NAME

    entry = ENTRY_POINTS_BY_NAME[entry_point]
    steps = pipeline.TASK_STEPS[entry_point]
    args = build_parser(entry.description, steps == pipeline.STEP_NAMES).parse_args(argv)
    request = request_from_args(args, None if steps == pipeline.STEP_NAMES else steps, entry.name)
    configure_logging(args.log_format, request.run_id)
    try:
        outcome = run(request)
    except InputMissing as missing:
        print(f"{entry.name}: {missing}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    print(outcome.report(), flush=True)


def bronze_main() -> None:
    main("c2c-bronze")


def silver_main() -> None:
    main("c2c-silver")


def gold_main() -> None:
    main("c2c-gold")


def pipeline_main() -> None:
    main("c2c-pipeline")


if __name__ == "__main__":
    pipeline_main()
