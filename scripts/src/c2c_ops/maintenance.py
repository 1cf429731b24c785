"""Table maintenance: history, OPTIMIZE, VACUUM behind a retention guard, RESTORE.

A table is named ``layer.table`` as in c2c_etl.tables; the same SQL runs on the local lake
(``--env local --lake PATH``) and on a Databricks SQL warehouse (``--env dev|test|prod``).
VACUUM deletes the files that time travel and still-running readers need, so it refuses a
retention below 7 days or below the table's own ``delta.deletedFileRetentionDuration`` unless
the operator says, with a deliberately long flag, that losing them is intended.
"""

from __future__ import annotations

import argparse
import re
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from rich.table import Table as RichTable

from c2c_etl.gold.views import GOLD_VIEWS, reads
from c2c_etl.tables import ALL_TABLES, STORED_TABLES, Table
from c2c_ops.confirm import add_yes, confirm
from c2c_ops.errors import Exit, OpsError
from c2c_ops.sql import SqlRunner, add_target_options, quote_string, sql_runner

if TYPE_CHECKING:
    from c2c_ops.context import Ops

MIN_RETENTION_HOURS = 168  # Delta's default delta.deletedFileRetentionDuration: 7 days
# What Databricks' VACUUM ... DRY RUN returns at most (it lists the first 1,000 files).
VACUUM_DRY_RUN_CAP = 1000
RETENTION_PROPERTY = "delta.deletedFileRetentionDuration"
OVERRIDE_FLAG = "--i-accept-losing-time-travel"
LISTED_FILES = 20


# --- pure: names and SQL text -----------------------------------------------------------------


def parse_table(text: str) -> Table:
    """``layer.table`` as one of c2c_etl.tables.STORED_TABLES; anything else, a gold view
    included, is a usage error."""
    for table in ALL_TABLES:
        if str(table) != text.strip():
            continue
        if table.is_view:
            sources = ", ".join(str(t) for t in reads(GOLD_VIEWS[table]))
            raise OpsError(
                Exit.USAGE,
                f"{table} is a view over {sources}: it has no files or versions of its own; "
                "maintain the tables it reads",
            )
        return table
    known = ", ".join(sorted(str(t) for t in STORED_TABLES))
    raise OpsError(Exit.USAGE, f"unknown table {text!r}: expected layer.table, one of: {known}")


def history_sql(name: str, limit: int | None = None) -> str:
    return f"DESCRIBE HISTORY {name}" + (f" LIMIT {int(limit)}" if limit else "")


def optimize_sql(name: str) -> str:
    return f"OPTIMIZE {name}"


def properties_sql(name: str) -> str:
    return f"SHOW TBLPROPERTIES {name}"


def vacuum_sql(name: str, retain_hours: float, dry_run: bool = False) -> str:
    hours = f"{retain_hours:g}"
    return f"VACUUM {name} RETAIN {hours} HOURS" + (" DRY RUN" if dry_run else "")


def restore_sql(name: str, version: int | None = None, timestamp: str | None = None) -> str:
    if (version is None) == (timestamp is None):
        raise ValueError("restore needs exactly one of version and timestamp")
    if version is not None:
        return f"RESTORE TABLE {name} TO VERSION AS OF {int(version)}"
    return f"RESTORE TABLE {name} TO TIMESTAMP AS OF {quote_string(str(timestamp))}"


_UNIT_HOURS = {
    "week": 168.0,
    "day": 24.0,
    "hour": 1.0,
    "minute": 1 / 60,
    "second": 1 / 3600,
    "millisecond": 1 / 3_600_000,
    "microsecond": 1 / 3_600_000_000,
}


def interval_hours(text: str) -> float:
    """Hours in a Delta interval property such as ``interval 7 days`` or ``2 weeks 12 hours``."""
    body = text.strip().lower().removeprefix("interval").strip()
    parts = re.findall(r"(-?\d+(?:\.\d+)?)\s*([a-z]+)", body)
    leftover = re.sub(r"(-?\d+(?:\.\d+)?)\s*([a-z]+)", "", body).strip()
    total = 0.0
    for number, unit in parts:
        singular = unit.removesuffix("s")
        if singular not in _UNIT_HOURS:
            raise ValueError(f"unknown unit {unit!r} in interval {text!r}")
        total += float(number) * _UNIT_HOURS[singular]
    if not parts or leftover:
        raise ValueError(f"cannot read interval {text!r}")
    return total


def retention_refusal(
    table: Table, retain_hours: float, table_hours: float, property_text: str | None
) -> str | None:
    """Why VACUUM with this retention is refused, or None when it is safe."""
    minimum = max(MIN_RETENTION_HOURS, table_hours)
    if retain_hours >= minimum:
        return None
    source = (
        f"the table's {RETENTION_PROPERTY} is {property_text!r}"
        if property_text and table_hours >= MIN_RETENTION_HOURS
        else f"Delta's default retention is {MIN_RETENTION_HOURS} hours (7 days)"
    )
    return (
        f"refused: VACUUM {table} with a retention of {retain_hours:g} hours is below the minimum "
        f"of {minimum:g} hours ({source}). Files removed from the table less than {minimum:g} "
        "hours ago may still be read by running queries and streams, and are what time travel "
        "and RESTORE to those versions need; deleting them breaks both for good. Nothing was "
        f"deleted. To do it anyway, add {OVERRIDE_FLAG}."
    )


def _metrics_text(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(metrics.items()))


# --- I/O: the handlers ------------------------------------------------------------------------


def _versions(runner: SqlRunner, name: str) -> list[dict[str, Any]]:
    return runner.query(history_sql(name))


def _current_version(runner: SqlRunner, name: str) -> int:
    rows = runner.query(history_sql(name, 1))
    return int(rows[0]["version"])


def _target(args: argparse.Namespace, ops: Ops) -> tuple[Table, SqlRunner, str]:
    table = parse_table(args.table)
    runner = sql_runner(ops)
    if not runner.exists(table):
        raise OpsError(Exit.NOT_FOUND, f"{table} does not exist in {runner.where}")
    return table, runner, runner.name(table)


def history(args: argparse.Namespace, ops: Ops) -> int:
    """The table's versions, newest first: what each commit did and its metrics."""
    table, runner, name = _target(args, ops)
    rows = runner.query(history_sql(name, args.limit))
    view = RichTable(title=f"{table}: history ({runner.where})")
    for column in ("version", "timestamp", "operation", "metrics"):
        view.add_column(column, overflow="fold")
    for row in rows:
        view.add_row(
            str(row["version"]),
            f"{row['timestamp']:%Y-%m-%d %H:%M:%S}" if row.get("timestamp") else "",
            str(row.get("operation") or ""),
            _metrics_text(row.get("operationMetrics")),
        )
    ops.console.print(view)
    return int(Exit.OK)


def optimize(args: argparse.Namespace, ops: Ops) -> int:
    """Compact the table's small files (a new version; the data does not change)."""
    table, runner, name = _target(args, ops)
    before = _current_version(runner, name)
    rows = runner.query(optimize_sql(name))
    metrics = (rows[0].get("metrics") if rows else None) or {}
    removed, added = metrics.get("numFilesRemoved", 0), metrics.get("numFilesAdded", 0)
    after = _current_version(runner, name)
    if after == before:
        ops.console.print(f"OPTIMIZE {table}: nothing to compact (still version {after})")
    else:
        ops.console.print(
            f"OPTIMIZE {table}: {removed} files removed, {added} files added "
            f"(version {before} -> {after}; the old files stay until VACUUM)"
        )
    return int(Exit.OK)


def _retention(runner: SqlRunner, name: str) -> tuple[float, str | None]:
    """(hours, property text) of the table's delta.deletedFileRetentionDuration."""
    props = {r["key"]: r["value"] for r in runner.query(properties_sql(name))}
    text = props.get(RETENTION_PROPERTY)
    if text is None:
        return float(MIN_RETENTION_HOURS), None
    try:
        return interval_hours(text), text
    except ValueError as exc:
        raise OpsError(
            Exit.REFUSED,
            f"cannot read the table's {RETENTION_PROPERTY} ({text!r}): not vacuuming ({exc})",
        ) from exc


def vacuum(args: argparse.Namespace, ops: Ops) -> int:
    """Delete files no version within the retention needs; refuse a short retention."""
    table, runner, name = _target(args, ops)
    table_hours, property_text = _retention(runner, name)
    # By default, the table's own retention (c2c_etl.retention sets it per layer), never < 7 days.
    if args.retain_hours is None:
        hours = max(table_hours, float(MIN_RETENTION_HOURS))
    else:
        hours = float(args.retain_hours)
    if hours < 0:
        raise OpsError(Exit.USAGE, "--retain-hours cannot be negative")
    refusal = retention_refusal(table, hours, table_hours, property_text)
    if refusal and not args.override:
        raise OpsError(Exit.REFUSED, refusal)
    if refusal:
        ops.console.print(
            f"[bold red]retention guard overridden ({OVERRIDE_FLAG}):[/] time travel to versions "
            f"older than {hours:g} hours will no longer work once their files are deleted"
        )
    # Delta refuses below the table's own retention by itself; only the override gets past it.
    guard: AbstractContextManager[None] = (
        runner.retention_check_disabled() if hours < table_hours else nullcontext()
    )
    with guard:
        files = [str(r["path"]) for r in runner.query(vacuum_sql(name, hours, dry_run=True))]
        verb = "would be deleted" if args.dry_run else "to delete"
        # Databricks lists at most this many files in a dry run; local Delta lists them all.
        capped = ops.env != "local" and len(files) >= VACUUM_DRY_RUN_CAP
        count = f"at least {len(files)}" if capped else str(len(files))
        ops.console.print(
            f"VACUUM {table} RETAIN {hours:g} HOURS: {count} unreferenced files {verb}"
            + (
                f" (Databricks' VACUUM DRY RUN lists at most {VACUUM_DRY_RUN_CAP:,} files: "
                "the real number can be higher)"
                if capped
                else ""
            )
        )
        shown = files if args.dry_run or getattr(args, "verbose", False) else files[:LISTED_FILES]
        for path in shown:
            ops.console.print(f"  {path}", markup=False)
        if len(shown) < len(files):
            ops.console.print(f"  ... and {len(files) - len(shown)} more (--verbose lists all)")
        if args.dry_run:
            ops.console.print("dry run: nothing was deleted")
            return int(Exit.OK)
        if not files:
            ops.console.print("nothing to delete")
            return int(Exit.OK)
        if ops.env != "local":
            confirm(args, ops.env, f"VACUUM deletes {count} files of {table} for good")
        runner.query(vacuum_sql(name, hours))
    deleted = len(files)
    last = runner.query(history_sql(name, 1))
    if last and last[0].get("operation") == "VACUUM END":
        deleted = int((last[0].get("operationMetrics") or {}).get("numDeletedFiles", deleted))
    ops.console.print(f"VACUUM {table}: deleted {deleted} files")
    return int(Exit.OK)


def restore(args: argparse.Namespace, ops: Ops) -> int:
    """Bring the table back to an earlier version or timestamp, as a new, reversible commit."""
    table, runner, name = _target(args, ops)
    versions = _versions(runner, name)
    numbers = sorted(int(r["version"]) for r in versions)
    current = numbers[-1]
    ops.console.print(f"{table} is at version {current}")
    if args.version is not None:
        if args.version not in numbers:
            raise OpsError(
                Exit.NOT_FOUND,
                f"{table} has no version {args.version}: the history holds versions "
                f"{numbers[0]} to {current}. See: c2c-ops history {table}",
            )
        if args.version == current:
            ops.console.print(f"{table} is already at version {current}: nothing to restore")
            return int(Exit.OK)
    if ops.env != "local":
        wanted = f"version {args.version}" if args.version is not None else args.timestamp
        confirm(args, ops.env, f"RESTORE {table} from version {current} to {wanted}")
    rows = runner.query(restore_sql(name, args.version, args.timestamp))
    after = _current_version(runner, name)
    target = f"version {args.version}" if args.version is not None else f"{args.timestamp}"
    ops.console.print(f"restored {table} to {target}: it is now at version {after}")
    if rows:
        ops.console.print("  " + _metrics_text(rows[0]), markup=False)
    ops.console.print(
        f"RESTORE is itself a new commit (version {after}); nothing was lost and it is "
        f"reversible: c2c-ops restore {table} --version {current} brings back the state "
        "before it."
    )
    return int(Exit.OK)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """history, optimize, vacuum and restore of one lake table."""

    def add(command: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(
            command, parents=[common], help=help_text, description=help_text
        )
        parser.add_argument("table", help="layer.table, e.g. silver.users")
        add_target_options(parser)
        parser.set_defaults(handler=handler)
        return parser

    parser = add("history", history, "a Delta table's versions, operations and metrics")
    parser.add_argument("--limit", type=int, default=20, help="versions to show (default 20)")
    add("optimize", optimize, "compact a Delta table's small files (OPTIMIZE)")
    parser = add(
        "vacuum", vacuum, "delete files older versions no longer need (VACUUM, retention guard)"
    )
    parser.add_argument(
        "--retain-hours",
        type=float,
        default=None,
        help="keep files needed by versions younger than this (default: the table's own "
        f"delta.deletedFileRetentionDuration, at least {MIN_RETENTION_HOURS})",
    )
    parser.add_argument("--dry-run", action="store_true", help="list the files, delete nothing")
    add_yes(parser)
    parser.add_argument(
        OVERRIDE_FLAG,
        dest="override",
        action="store_true",
        help="allow a retention below 168 hours or the table's own retention: time travel "
        "to the versions older than it stops working",
    )
    parser = add("restore", restore, "bring a Delta table back to an earlier version (RESTORE)")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--version", type=int, help="the version to restore (see history)")
    when.add_argument("--timestamp", help="restore the version current at this time (UTC)")
    add_yes(parser)
