"""``dq-report``: the data quality of a run, from ``silver.run_audit`` and ``silver.quarantine``.

Per run (the latest by default) and per file and step: rows read, to silver, quarantined,
duplicates, whether they balance (re-checked here from the figures, not only the flag) and the
status; the quarantined rows per rule, counted in the quarantine table itself; the quarantine
rate. It exits 1 when a row failed or does not balance, or the rate is above
``--max-quarantine-rate``, so a scheduler can gate on it.
"""

from __future__ import annotations

import argparse
import io as text_io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table as RichTable

from c2c_etl.tables import RUN_AUDIT, SILVER_QUARANTINE
from c2c_ops.errors import Exit, OpsError
from c2c_ops.sql import SqlRunner, add_target_options, quote_string, sql_runner

if TYPE_CHECKING:
    from c2c_ops.context import Ops

AUDIT_COLUMNS = (
    "run_id",
    "step",
    "source_file",
    "source_sha256",
    "release",
    "rows_read",
    "rows_to_silver",
    "rows_quarantined",
    "rows_duplicate",
    "balanced",
    "status",
    "started_at",
    "finished_at",
    "details",
)


# --- pure: SQL text -------------------------------------------------------------------------


def runs_sql(audit: str) -> str:
    """Every run in the audit, newest first."""
    # B608 (SQL built from strings) is waived in this module's three queries: table names come
    # from SqlRunner.name (c2c_etl.tables) and every value goes through quote_string.
    return (
        "SELECT run_id, min(started_at) AS run_started, "  # nosec B608  # see above
        "max(finished_at) AS run_finished "
        f"FROM {audit} GROUP BY run_id ORDER BY run_finished DESC, run_id DESC"
    )


def audit_sql(audit: str, run_ids: list[str]) -> str:
    columns = ", ".join(AUDIT_COLUMNS)
    ids = ", ".join(quote_string(r) for r in run_ids)
    return (
        f"SELECT {columns} FROM {audit} WHERE run_id IN ({ids}) "  # nosec B608  # see runs_sql
        "ORDER BY finished_at, step, source_file"
    )


def quarantine_sql(quarantine: str, sha256s: list[str]) -> str:
    """Quarantined rows per file (by content hash) and rule; ``rule`` NULL is the row total."""
    shas = ", ".join(quote_string(s) for s in sha256s)
    return (
        "SELECT source_sha256, rule, count(*) AS n FROM ("  # nosec B608  # see runs_sql
        f"SELECT source_sha256, explode(failed_rules) AS rule FROM {quarantine} "
        f"WHERE source_sha256 IN ({shas})) GROUP BY source_sha256, rule "
        "UNION ALL "
        f"SELECT source_sha256, CAST(NULL AS STRING) AS rule, count(*) AS n FROM {quarantine} "
        f"WHERE source_sha256 IN ({shas}) GROUP BY source_sha256"
    )


# --- pure: the report -----------------------------------------------------------------------


@dataclass
class FileLine:
    """One audit row: a file through a step (or a step without a file, such as gold)."""

    run_id: str
    step: str
    source_file: str | None
    release: str | None
    rows_read: int | None
    rows_to_silver: int | None
    rows_quarantined: int | None
    rows_duplicate: int | None
    balanced: bool | None
    status: str | None
    finished_at: str | None
    in_quarantine_table: int | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    run_id: str
    started_at: str | None
    finished_at: str | None
    files: list[FileLine]
    quarantine_by_rule: dict[str, int]
    rows_read: int
    rows_quarantined: int
    quarantine_rate: float | None
    problems: list[str]
    warnings: list[str]


def _time(value: Any) -> str | None:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else None


def build_report(
    runs: list[dict[str, Any]],
    audit: list[dict[str, Any]],
    quarantine: list[dict[str, Any]],
) -> list[RunReport]:
    """The report of each run in ``runs`` from its audit rows and the quarantine counts.

    Quarantine rows are matched to audit rows by file content hash, and only to succeeded
    rows: a failed step writes nothing to the quarantine, the run that succeeds does.
    """
    per_rule: dict[str, dict[str, int]] = {}
    per_file: dict[str, int] = {}
    for row in quarantine:
        if row["rule"] is None:
            per_file[row["source_sha256"]] = int(row["n"])
        else:
            per_rule.setdefault(row["source_sha256"], {})[row["rule"]] = int(row["n"])
    reports = []
    for run in runs:
        lines: list[FileLine] = []
        rules: dict[str, int] = {}
        problems: list[str] = []
        warnings: list[str] = []
        for a in (r for r in audit if r["run_id"] == run["run_id"]):
            line = FileLine(
                run_id=a["run_id"],
                step=a["step"],
                source_file=a["source_file"],
                release=a["release"],
                rows_read=a["rows_read"],
                rows_to_silver=a["rows_to_silver"],
                rows_quarantined=a["rows_quarantined"],
                rows_duplicate=a["rows_duplicate"],
                balanced=a["balanced"],
                status=a["status"],
                finished_at=_time(a["finished_at"]),
            )
            what = f"{line.step} {line.source_file or '(no file)'}"
            if line.status != "succeeded":
                line.problems.append(f"status {line.status}")
            figures = (line.rows_read, line.rows_to_silver, line.rows_quarantined)
            if line.source_file is not None and None not in figures:
                total = (
                    (line.rows_to_silver or 0)
                    + (line.rows_quarantined or 0)
                    + (line.rows_duplicate or 0)
                )
                if line.balanced is False or total != line.rows_read:
                    line.problems.append(
                        f"NOT BALANCED: read {line.rows_read} != {line.rows_to_silver} to silver"
                        f" + {line.rows_quarantined} quarantined + {line.rows_duplicate} duplicates"
                    )
            elif line.balanced is False:
                line.problems.append("NOT BALANCED")
            sha = a["source_sha256"]
            if line.status == "succeeded" and sha and line.rows_quarantined:
                line.in_quarantine_table = per_file.get(sha, 0)
                for rule, n in per_rule.get(sha, {}).items():
                    rules[rule] = rules.get(rule, 0) + n
                if line.in_quarantine_table != line.rows_quarantined:
                    warnings.append(
                        f"{what}: the quarantine table holds {line.in_quarantine_table} rows of "
                        f"this file, the audit says {line.rows_quarantined}"
                    )
            problems.extend(f"{what}: {p}" for p in line.problems)
            lines.append(line)
        read = sum(line.rows_read or 0 for line in lines if line.source_file is not None)
        quarantined = sum(
            line.rows_quarantined or 0 for line in lines if line.source_file is not None
        )
        reports.append(
            RunReport(
                run_id=run["run_id"],
                started_at=_time(run["run_started"]),
                finished_at=_time(run["run_finished"]),
                files=lines,
                quarantine_by_rule=dict(sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))),
                rows_read=read,
                rows_quarantined=quarantined,
                quarantine_rate=quarantined / read if read else None,
                problems=problems,
                warnings=warnings,
            )
        )
    return reports


def gate(reports: list[RunReport], max_rate: float | None) -> list[str]:
    """Why the report fails (empty: it passes)."""
    reasons = [p for r in reports for p in r.problems]
    if max_rate is not None:
        for r in reports:
            if r.quarantine_rate is not None and r.quarantine_rate > max_rate:
                reasons.append(
                    f"run {r.run_id}: quarantine rate {r.quarantine_rate:.2%} is above "
                    f"--max-quarantine-rate {max_rate:.2%}"
                )
    return reasons


def to_json(where: str, reports: list[RunReport], failures: list[str]) -> str:
    return json.dumps(
        {
            "where": where,
            "runs": [asdict(r) for r in reports],
            "passed": not failures,
            "failures": failures,
        },
        indent=2,
    )


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


def _balanced(line: FileLine) -> str:
    if line.source_file is None and line.balanced is None:
        return "-"
    return "no" if any(p.startswith("NOT BALANCED") for p in line.problems) else "yes"


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2%}"


def to_markdown(where: str, reports: list[RunReport], failures: list[str]) -> str:
    out = [f"# Data quality report ({where})", ""]
    for r in reports:
        out += [f"## Run {r.run_id}", "", f"{r.started_at} to {r.finished_at}", ""]
        out.append(
            "| step | file | release | read | to silver | quarantined | duplicates "
            "| balanced | status |"
        )
        out.append("| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
        for f in r.files:
            mark = "**" if f.problems else ""
            out.append("| " + " | ".join(f"{mark}{c}{mark}" for c in _cells(f)) + " |")
        out += ["", "| rule | quarantined rows |", "| --- | ---: |"]
        out += [f"| {rule} | {n} |" for rule, n in r.quarantine_by_rule.items()] or ["| none | 0 |"]
        out += [
            "",
            f"Quarantine rate: {_rate(r.quarantine_rate)} "
            f"({r.rows_quarantined} of {r.rows_read} rows read)",
            "",
        ]
        out += [f"- warning: {w}" for w in r.warnings]
    out.append("**FAILED**" if failures else "**PASSED**")
    out += [f"- {f}" for f in failures]
    return "\n".join(out) + "\n"


def _cells(f: FileLine) -> list[str]:
    """One audit row's cells, in the column order of both the markdown and the rich table."""
    return [
        f.step,
        f.source_file or "-",
        f.release or "-",
        _n(f.rows_read),
        _n(f.rows_to_silver),
        _n(f.rows_quarantined),
        _n(f.rows_duplicate),
        _balanced(f),
        f.status or "-",
    ]


def print_tables(
    console: Console, where: str, reports: list[RunReport], failures: list[str]
) -> None:
    """The report as rich tables; failed or unbalanced rows in bold red."""
    for r in reports:
        view = RichTable(title=f"Run {r.run_id} ({r.started_at} to {r.finished_at}), {where}")
        for column in ("step", "file", "release"):
            view.add_column(column)
        for column in ("read", "to silver", "quarantined", "duplicates"):
            view.add_column(column, justify="right")
        view.add_column("balanced")
        view.add_column("status")
        for f in r.files:
            view.add_row(*_cells(f), style="bold red" if f.problems else None)
        console.print(view)
        rules = RichTable(title="Quarantined rows per rule")
        rules.add_column("rule")
        rules.add_column("rows", justify="right")
        for rule, n in r.quarantine_by_rule.items() or {"none": 0}.items():
            rules.add_row(rule, str(n))
        console.print(rules)
        console.print(
            f"Quarantine rate: {_rate(r.quarantine_rate)} "
            f"({r.rows_quarantined} of {r.rows_read} rows read)"
        )
        for w in r.warnings:
            console.print(f"[yellow]warning:[/] {w}")
    if failures:
        console.print(f"[bold red]data quality gate FAILED[/] ({len(failures)} problems):")
        for failure in failures:
            console.print(f"  {failure}", markup=False)
    else:
        console.print("[bold green]data quality gate passed[/]")


# --- I/O ----------------------------------------------------------------------------------------


def _select_runs(args: argparse.Namespace, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if args.all_runs:
        return runs
    if args.run_id:
        chosen = [r for r in runs if r["run_id"] == args.run_id]
        if not chosen:
            latest = ", ".join(r["run_id"] for r in runs[:5])
            raise OpsError(
                Exit.NOT_FOUND, f"no run {args.run_id!r} in the run audit (latest: {latest})"
            )
        return chosen
    return runs[:1]


def collect(runner: SqlRunner, args: argparse.Namespace) -> list[RunReport]:
    """Read the audit and quarantine tables and build the report of the chosen runs."""
    if not runner.exists(RUN_AUDIT):
        raise OpsError(
            Exit.NOT_FOUND,
            f"no run audit in {runner.where} ({RUN_AUDIT} does not exist): has the pipeline run?",
        )
    audit_name = runner.name(RUN_AUDIT)
    runs = runner.query(runs_sql(audit_name))
    if not runs:
        raise OpsError(Exit.NOT_FOUND, f"{RUN_AUDIT} in {runner.where} holds no runs yet")
    chosen = _select_runs(args, runs)
    audit = runner.query(audit_sql(audit_name, [r["run_id"] for r in chosen]))
    shas = sorted({a["source_sha256"] for a in audit if a["source_sha256"]})
    quarantine: list[dict[str, Any]] = []
    if shas and runner.exists(SILVER_QUARANTINE):
        quarantine = runner.query(quarantine_sql(runner.name(SILVER_QUARANTINE), shas))
    return build_report(chosen, audit, quarantine)


def dq_report(args: argparse.Namespace, ops: Ops) -> int:
    """Print (or write) the report; exit 1 when the gate fails."""
    runner = sql_runner(ops)
    reports = collect(runner, args)
    failures = gate(reports, args.max_quarantine_rate)
    if args.format == "json":
        text = to_json(runner.where, reports, failures)
    elif args.format == "markdown":
        text = to_markdown(runner.where, reports, failures)
    else:
        buffer = text_io.StringIO()
        print_tables(
            Console(file=buffer, width=160, highlight=False), runner.where, reports, failures
        )
        text = buffer.getvalue()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        verdict = f"FAILED ({len(failures)} problems)" if failures else "passed"
        ops.console.print(
            f"report written to {args.output}; data quality gate {verdict}", markup=False
        )
        for f in failures:
            ops.console.print(f"  {f}", markup=False)
    elif args.format == "table":
        print_tables(ops.console, runner.where, reports, failures)
    else:  # the document alone on stdout, so it can be piped (the exit code tells the verdict)
        ops.console.print(text, markup=False, highlight=False, soft_wrap=True, end="")
    return int(Exit.FAILED if failures else Exit.OK)


def _rate_arg(text: str) -> float:
    value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a rate between 0 and 1 (or 0% and 100%)")
    return value


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """dq-report."""
    help_text = "data quality of a run: row accounting per file, quarantine per rule, gate"
    parser = subparsers.add_parser(
        "dq-report", parents=[common], help=help_text, description=help_text
    )
    add_target_options(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run-id", help="the run to report (default: the latest)")
    which.add_argument("--all-runs", action="store_true", help="every run in the audit")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.add_argument("--output", type=Path, help="write the report to this file")
    parser.add_argument(
        "--max-quarantine-rate",
        type=_rate_arg,
        default=None,
        help="fail (exit 1) above this share of quarantined rows, e.g. 0.05 or 5%% "
        "(default: no gate on the rate)",
    )
    parser.set_defaults(handler=dq_report)
