"""Data Factory runs: start and follow, watch, status, rerun from the failed activity, cancel,
and backfill a date range with bounded parallelism.

All of it goes through ``DataFactoryManagementClient``. A followed run ends the command with an
exit code that says how the run ended (``Exit.OK``, ``FAILED``, ``CANCELLED``, ``TIMED_OUT``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from azure.mgmt.datafactory import models as m
from rich.table import Table

from c2c_adf.factory import LANDING_RUN_PARAMETER, PL_ORCHESTRATE, RUNS_FOLDER, build_factory
from c2c_ops.confirm import add_yes, confirm
from c2c_ops.context import Ops
from c2c_ops.errors import Exit, OpsError

TERMINAL = {"Succeeded", "Failed", "Cancelled"}
EXIT_FOR_STATUS = {"Succeeded": Exit.OK, "Failed": Exit.FAILED, "Cancelled": Exit.CANCELLED}
# ADF keeps run history for 45 days; queries need a time range.
HISTORY = timedelta(days=45)


@dataclass(frozen=True)
class ActivityLine:
    """One activity run as the follower shows it (``depth`` > 0: inside a child pipeline)."""

    key: str
    name: str
    type: str
    status: str
    duration_ms: int | None
    error: str
    depth: int


def _now() -> datetime:
    return datetime.now(UTC)


def _seconds(ms: int | None) -> str:
    return "" if ms is None else f"{ms / 1000:.0f}s"


def _error_text(error: Any) -> str:
    if not error:
        return ""
    if isinstance(error, dict):
        return str(error.get("message") or error.get("errorCode") or "")
    return str(error)


def activity_lines(ops: Ops, run_id: str, depth: int = 0) -> list[ActivityLine]:
    """The activities of a run, each child pipeline's activities (ExecutePipeline) under it."""
    cfg = ops.cfg
    window = m.RunFilterParameters(
        last_updated_after=_now() - HISTORY, last_updated_before=_now() + timedelta(days=1)
    )
    found: list[ActivityLine] = []
    while True:
        page = ops.adf.activity_runs.query_by_pipeline_run(
            cfg.resource_group, cfg.factory_name, run_id, window
        )
        for act in sorted(page.value or [], key=lambda a: a.activity_run_start or _now()):
            found.append(
                ActivityLine(
                    key=act.activity_run_id or f"{run_id}/{act.activity_name}",
                    name=act.activity_name,
                    type=act.activity_type,
                    status=act.status,
                    duration_ms=act.duration_in_ms,
                    error=_error_text(act.error),
                    depth=depth,
                )
            )
            child = (act.output or {}).get("pipelineRunId") if act.output else None
            if act.activity_type == "ExecutePipeline" and child:
                found.extend(activity_lines(ops, str(child), depth + 1))
        if not page.continuation_token:
            return found
        window.continuation_token = page.continuation_token


@dataclass
class Follower:
    """Prints one line per activity state change; a spinner with the elapsed time on a terminal."""

    ops: Ops
    seen: dict[str, str] = field(default_factory=dict)

    def show(self, lines: list[ActivityLine]) -> None:
        console = self.ops.console
        for line in lines:
            if self.seen.get(line.key) == line.status:
                continue
            self.seen[line.key] = line.status
            indent = "  " * line.depth
            detail = f"  {line.error}" if line.error else ""
            console.print(
                f"{_now():%H:%M:%S}  {indent}{line.name} ({line.type}): {line.status}"
                f" {_seconds(line.duration_ms)}{detail}".rstrip()
            )


def follow(ops: Ops, run_id: str, *, poll: float, timeout: float) -> m.PipelineRun:
    """Poll a run until it ends, showing its activities; raises TIMED_OUT when it outlasts us."""
    cfg = ops.cfg
    follower = Follower(ops)
    deadline = time.monotonic() + timeout
    status_line = None
    if ops.console.is_terminal:
        status_line = ops.console.status(f"following run {run_id}")
        status_line.start()
    try:
        while True:
            run = ops.adf.pipeline_runs.get(cfg.resource_group, cfg.factory_name, run_id)
            follower.show(activity_lines(ops, run_id))
            if run.status in TERMINAL:
                return run
            if time.monotonic() >= deadline:
                raise OpsError(
                    Exit.TIMED_OUT,
                    f"run {run_id} is still {run.status} after {timeout:.0f}s; it goes on. "
                    f"Follow it with: c2c-ops watch --env {ops.env} {run_id}",
                )
            if status_line is not None:
                started = run.run_start or _now()
                status_line.update(f"{run.pipeline_name} {run.status} ({_now() - started})")
            ops.sleep(poll)
    finally:
        if status_line is not None:
            status_line.stop()


def report_end(ops: Ops, run: m.PipelineRun) -> int:
    """Print how a run ended; return its exit code."""
    took = _seconds(run.duration_in_ms)
    message = f": {run.message}" if run.message else ""
    ops.console.print(f"{run.pipeline_name} run {run.run_id} {run.status} {took}{message}")
    code = EXIT_FOR_STATUS.get(run.status, Exit.FAILED)
    if code == Exit.FAILED:
        ops.console.print(
            f"rerun from the failed activity: c2c-ops rerun --env {ops.env} {run.run_id}"
        )
    return int(code)


def parse_parameters(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; a value that parses as JSON (numbers, objects) is passed as such."""
    parameters: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise OpsError(Exit.USAGE, f"--parameter wants name=value, got {pair!r}")
        try:
            parameters[name] = json.loads(value)
        except json.JSONDecodeError:
            parameters[name] = value
    return parameters


def start_run(ops: Ops, pipeline: str, parameters: dict[str, Any] | None = None) -> str:
    cfg = ops.cfg
    response = ops.adf.pipelines.create_run(
        cfg.resource_group, cfg.factory_name, pipeline, parameters=parameters or None
    )
    ops.console.print(f"started {pipeline} run {response.run_id}")
    return str(response.run_id)


# --- handlers ------------------------------------------------------------------------------
def cloud_only(ops: Ops) -> None:
    if ops.env == "local":
        raise OpsError(
            Exit.USAGE,
            "Data Factory commands need a cloud environment (--env dev|test|prod); "
            "locally, `make run` runs the same pipelines with the local executor",
        )


def handle_run(args: argparse.Namespace, ops: Ops) -> int:
    cloud_only(ops)
    run_id = start_run(ops, args.pipeline, parse_parameters(args.parameter))
    if args.no_wait:
        return int(Exit.OK)
    return report_end(ops, follow(ops, run_id, poll=args.poll, timeout=args.timeout))


def handle_watch(args: argparse.Namespace, ops: Ops) -> int:
    cloud_only(ops)
    return report_end(ops, follow(ops, args.run_id, poll=args.poll, timeout=args.timeout))


def rerun_parameters(parameters: dict[str, Any] | None, run_id: str) -> dict[str, Any]:
    """A rerun's parameters: the failed run's, with the landing folder that run wrote (its
    own run id, or the one it was itself given as a rerun)."""
    values = dict(parameters or {})
    values[LANDING_RUN_PARAMETER] = values.get(LANDING_RUN_PARAMETER) or run_id
    return values


def handle_rerun(args: argparse.Namespace, ops: Ops) -> int:
    """A failed run again, on what it ingested. A pipeline keyed by a landing folder
    (PL_Orchestrate) gets a new run with the failed run's parameters and its landing folder:
    ADF's own recovery run would get a new run id, so a new, empty folder, and it takes no
    parameters. Any other pipeline gets ADF's "rerun from failed activity" (a recovery run in
    the same group, from the failed activity, with the original parameters)."""
    cloud_only(ops)
    cfg = ops.cfg
    old = ops.adf.pipeline_runs.get(cfg.resource_group, cfg.factory_name, args.run_id)
    if old.status != "Failed":
        raise OpsError(
            Exit.REFUSED,
            f"run {args.run_id} of {old.pipeline_name} is {old.status}: only a failed run can be "
            "rerun from its failed activity (start a new run with c2c-ops run)",
        )
    defined = build_factory(cfg).pipelines.get(old.pipeline_name)
    if defined is not None and LANDING_RUN_PARAMETER in (defined.parameters or {}):
        parameters = rerun_parameters(old.parameters, str(old.run_id))
        new = ops.adf.pipelines.create_run(
            cfg.resource_group, cfg.factory_name, old.pipeline_name, parameters=parameters
        )
        folder = f"landing/{RUNS_FOLDER}/{parameters[LANDING_RUN_PARAMETER]}/"
        ops.console.print(
            f"rerun of {args.run_id} on the files it ingested ({folder}): run {new.run_id}"
        )
        if args.no_wait:
            return int(Exit.OK)
        return report_end(ops, follow(ops, str(new.run_id), poll=args.poll, timeout=args.timeout))
    new = ops.adf.pipelines.create_run(
        cfg.resource_group,
        cfg.factory_name,
        old.pipeline_name,
        reference_pipeline_run_id=args.run_id,
        is_recovery=True,
        start_from_failure=True,
    )
    ops.console.print(f"rerun of {args.run_id} from its failed activity: run {new.run_id}")
    if args.no_wait:
        return int(Exit.OK)
    return report_end(ops, follow(ops, str(new.run_id), poll=args.poll, timeout=args.timeout))


def handle_cancel(args: argparse.Namespace, ops: Ops) -> int:
    cloud_only(ops)
    cfg = ops.cfg
    confirm(args, ops.env, f"cancel run {args.run_id} and its child runs")
    ops.adf.pipeline_runs.cancel(cfg.resource_group, cfg.factory_name, args.run_id, True)
    ops.console.print(f"cancellation of run {args.run_id} requested (child runs included)")
    return int(Exit.OK)


def recent_runs(
    ops: Ops, *, hours: float, pipeline: str | None, status: str | None, limit: int
) -> list[m.PipelineRun]:
    """The factory's runs updated in the last ``hours``, newest first."""
    cfg = ops.cfg
    filters = []
    if pipeline:
        filters.append(
            m.RunQueryFilter(operand="PipelineName", operator="Equals", values=[pipeline])
        )
    if status:
        filters.append(m.RunQueryFilter(operand="Status", operator="Equals", values=[status]))
    query = m.RunFilterParameters(
        last_updated_after=_now() - timedelta(hours=hours),
        last_updated_before=_now() + timedelta(minutes=5),
        filters=filters or None,
        order_by=[m.RunQueryOrderBy(order_by="RunStart", order="DESC")],
    )
    runs: list[m.PipelineRun] = []
    while len(runs) < limit:
        page = ops.adf.pipeline_runs.query_by_factory(cfg.resource_group, cfg.factory_name, query)
        runs.extend(page.value or [])
        if not page.continuation_token:
            break
        query.continuation_token = page.continuation_token
    return runs[:limit]


def handle_status(args: argparse.Namespace, ops: Ops) -> int:
    cloud_only(ops)
    runs = recent_runs(
        ops, hours=args.hours, pipeline=args.pipeline, status=args.status, limit=args.limit
    )
    if not runs:
        ops.console.print(f"no run in the last {args.hours:g} hours")
        return int(Exit.OK)
    table = Table(title=f"{ops.cfg.factory_name}: runs of the last {args.hours:g} hours")
    for column in ("run id", "pipeline", "status", "started (UTC)", "took", "by", "message"):
        table.add_column(column, overflow="fold")
    for run in runs:
        started = f"{run.run_start:%Y-%m-%d %H:%M}" if run.run_start else ""
        invoked = run.invoked_by.name if run.invoked_by else ""
        message = (run.message or "")[:80]
        table.add_row(
            run.run_id,
            run.pipeline_name,
            run.status,
            started,
            _seconds(run.duration_in_ms),
            invoked,
            message,
        )
    ops.console.print(table)
    return int(Exit.OK)


# --- backfill ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def parameters(self) -> dict[str, str]:
        """PL_Orchestrate's window parameters (c2c_adf.factory.window_parameters)."""
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return {"windowStart": f"{self.start:{fmt}}", "windowEnd": f"{self.end:{fmt}}"}

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}..{self.end:%Y-%m-%d %H:%M}"


def day_windows(first: date, last: date, hours: int = 24) -> list[Window]:
    """Consecutive windows of ``hours`` from ``first`` 00:00 to the end of ``last`` (UTC)."""
    if last < first:
        raise OpsError(Exit.USAGE, f"--to {last} is before --from {first}")
    if hours <= 0 or 24 % hours:
        raise OpsError(Exit.USAGE, "--window-hours must divide 24 (1, 2, 3, 4, 6, 8, 12, 24)")
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    stop = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    step = timedelta(hours=hours)
    windows = []
    while start < stop:
        windows.append(Window(start, start + step))
        start += step
    return windows


def run_bounded(
    ops: Ops,
    pipeline: str,
    windows: list[Window],
    *,
    parallel: int,
    poll: float,
    timeout: float,
) -> dict[Window, m.PipelineRun]:
    """Run the pipeline once per window, never more than ``parallel`` runs in flight."""
    cfg = ops.cfg
    pending: Iterator[Window] = iter(windows)
    in_flight: dict[str, Window] = {}
    done: dict[Window, m.PipelineRun] = {}
    deadline = time.monotonic() + timeout
    for window in pending:
        in_flight[start_run(ops, pipeline, window.parameters())] = window
        if len(in_flight) >= parallel:
            break
    while in_flight:
        for run_id, window in list(in_flight.items()):
            run = ops.adf.pipeline_runs.get(cfg.resource_group, cfg.factory_name, run_id)
            if run.status not in TERMINAL:
                continue
            del in_flight[run_id]
            done[window] = run
            ops.console.print(f"{window}: {run.status} ({_seconds(run.duration_in_ms)})")
            following = next(pending, None)
            if following is not None:
                in_flight[start_run(ops, pipeline, following.parameters())] = following
        if in_flight:
            if time.monotonic() >= deadline:
                ids = ", ".join(in_flight)
                raise OpsError(Exit.TIMED_OUT, f"backfill timed out; still running: {ids}")
            ops.sleep(poll)
    return done


def handle_backfill(args: argparse.Namespace, ops: Ops) -> int:
    cloud_only(ops)
    if args.parallel < 1:
        raise OpsError(Exit.USAGE, "--parallel must be at least 1")
    windows = day_windows(args.date_from, args.date_to, args.window_hours)
    ops.console.print(
        f"backfill of {args.pipeline}: {len(windows)} windows, at most {args.parallel} at once"
    )
    if args.dry_run:
        for window in windows:
            ops.console.print(f"would run {args.pipeline} {window.parameters()}")
        return int(Exit.OK)
    done = run_bounded(
        ops, args.pipeline, windows, parallel=args.parallel, poll=args.poll, timeout=args.timeout
    )
    table = Table(title=f"backfill of {args.pipeline}")
    for column in ("window (UTC)", "run id", "status", "took"):
        table.add_column(column)
    for window in windows:
        run = done[window]
        table.add_row(str(window), run.run_id, run.status, _seconds(run.duration_in_ms))
    ops.console.print(table)
    failed = [run for run in done.values() if run.status != "Succeeded"]
    for run in failed:
        ops.console.print(f"rerun: c2c-ops rerun --env {ops.env} {run.run_id}")
    return int(Exit.FAILED if failed else Exit.OK)


# --- parsers -------------------------------------------------------------------------------
def _follow_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--poll", type=float, default=15.0, help="seconds between polls")
    parser.add_argument(
        "--timeout", type=float, default=4 * 3600, help="seconds to follow (default 4 h)"
    )


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    run = subparsers.add_parser(
        "run", parents=[common], help="start a pipeline and follow it until it ends"
    )
    run.add_argument("pipeline", nargs="?", default=PL_ORCHESTRATE)
    run.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--no-wait", action="store_true", help="start it and return")
    _follow_options(run)
    run.set_defaults(handler=handle_run)

    watch = subparsers.add_parser("watch", parents=[common], help="follow a run until it ends")
    watch.add_argument("run_id")
    _follow_options(watch)
    watch.set_defaults(handler=handle_watch)

    status = subparsers.add_parser("status", parents=[common], help="a table of recent runs")
    status.add_argument("--hours", type=float, default=72.0)
    status.add_argument("--pipeline")
    status.add_argument("--status", choices=("Queued", "InProgress", *sorted(TERMINAL)))
    status.add_argument("--limit", type=int, default=25)
    status.set_defaults(handler=handle_status)

    rerun = subparsers.add_parser(
        "rerun", parents=[common], help="rerun a failed run from its failed activity"
    )
    rerun.add_argument("run_id")
    rerun.add_argument("--no-wait", action="store_true")
    _follow_options(rerun)
    rerun.set_defaults(handler=handle_rerun)

    cancel = subparsers.add_parser("cancel", parents=[common], help="cancel a run")
    cancel.add_argument("run_id")
    add_yes(cancel)
    cancel.set_defaults(handler=handle_cancel)

    backfill = subparsers.add_parser(
        "backfill", parents=[common], help="run a pipeline over a date range, N runs at a time"
    )
    backfill.add_argument("--from", dest="date_from", type=date.fromisoformat, required=True)
    backfill.add_argument("--to", dest="date_to", type=date.fromisoformat, required=True)
    backfill.add_argument("--pipeline", default=PL_ORCHESTRATE)
    backfill.add_argument("--parallel", type=int, default=2, help="runs in flight at most")
    backfill.add_argument("--window-hours", type=int, default=24)
    backfill.add_argument("--dry-run", action="store_true", help="list the windows only")
    backfill.add_argument("--poll", type=float, default=30.0)
    backfill.add_argument("--timeout", type=float, default=24 * 3600)
    backfill.set_defaults(handler=handle_backfill)
