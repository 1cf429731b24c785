"""The end-of-run summary, made of what the steps already computed: no table is read for it.

Every input file is accounted for (ingested with its row figures, rejected with its reason,
a duplicate delivery, empty), with the publisher reconciliation as gold left it and the time
per step. Totals over the whole lake (rows per table, quarantine per rule) are the dashboard's
and ``c2c-ops quality``'s: counting them here would scan the lake at every run.
"""

from __future__ import annotations

from typing import Any

from c2c_etl.jobs.common import RunContext, StepResult

# The longest reason a summary line shows; the ingestion log and the dead-letter folder keep
# the whole text.
REASON_CHARS = 160


def short(reason: str | None, limit: int = REASON_CHARS) -> str:
    """A reason on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(reason or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _details(results: list[StepResult], step: str) -> dict[str, Any]:
    for r in results:
        if r.step == step:
            return r.details
    return {}


def changed_nothing(results: list[StepResult]) -> bool:
    """Whether every step found nothing to do: no table got a new version."""
    return all(r.status == "skipped" for r in results)


def file_lines(results: list[StepResult]) -> list[str]:
    """One line per input file: what became of it in bronze, and its silver row figures."""
    bronze = _details(results, "bronze").get("files", [])
    figures: dict[str, dict[str, Any]] = {}
    for step in ("silver_users", "silver_reports"):
        figures.update(_details(results, step).get("files", {}))
    lines = []
    for f in bronze:
        name, status = f["file"], f["status"]
        if status == "ingested":
            fig = figures.get(name)
            if fig is None:
                lines.append(f"  {name}: ingested, {f['rows']} rows (silver has not run)")
                continue
            ok = "balanced" if fig["balanced"] else "NOT BALANCED"
            lines.append(
                f"  {name}: {fig['rows_read']} rows = {fig['rows_to_silver']} to silver + "
                f"{fig['rows_quarantined']} quarantined + {fig['rows_duplicate']} duplicates  {ok}"
            )
        else:
            label = {
                "rejected": "REJECTED",
                "empty": "empty",
                "duplicate_delivery": "duplicate delivery",
                "skipped": "skipped",
            }.get(status, status)
            lines.append(f"  {name}: {label}: {short(f.get('reason'))}")
    # Files bronze ingested in an earlier run that silver processed in this one (a rerun after
    # a failed silver step, or the Databricks silver task on its own).
    listed = {f["file"] for f in bronze}
    for name, fig in figures.items():
        if name not in listed:
            ok = "balanced" if fig["balanced"] else "NOT BALANCED"
            lines.append(
                f"  {name}: {fig['rows_read']} rows = {fig['rows_to_silver']} to silver + "
                f"{fig['rows_quarantined']} quarantined + {fig['rows_duplicate']} duplicates  {ok}"
            )
    return lines


def format_summary(ctx: RunContext, results: list[StepResult], startup: float, total: float) -> str:
    lines = [_heading(ctx), ""]
    lines.append("Time per step:")
    lines.append(f"  {'spark start-up':<16}{startup:7.1f} s")
    for r in results:
        lines.append(f"  {r.step:<16}{r.seconds:7.1f} s  {r.status}")
    lines.append(f"  {'total':<16}{total:7.1f} s")
    lines.append("")
    files = file_lines(results)
    bronze = _details(results, "bronze")
    if files:
        lines.append("Files in this run (rows read = to silver + quarantined + duplicates):")
        lines.extend(files)
        rejected = bronze.get("dead_letter")
        if rejected:
            lines.append(f"  rejected files are copied, with their reasons, to {rejected}")
    again = bronze.get("already_ingested", 0)
    if again:
        lines.append(
            f"{again} input file(s) already ingested by an earlier run (same content): "
            "nothing to do for them."
        )
    if bronze.get("files_in_landing") == 0 and not files:
        lines.append("No input files: the input folder has none.")
    elif changed_nothing(results):
        lines.append("No new input: no table changed.")
    elif not files and not again:
        lines.append("No new files.")
    gold = _details(results, "gold")
    recon = gold.get("reconciliation")
    if recon:
        lines.append("")
        lines.append("Publisher report reconciliation (figures matching / published or computed):")
        for report, r in sorted(recon.items()):
            matched, n = r["matched"], r["total"]
            lines.append(
                f"  {report:<40}{matched:>6} / {n:<6} {'OK' if matched == n else 'MISMATCH'}"
            )
    elif gold.get("reason"):
        lines.append("")
        lines.append(f"Gold: {gold['reason']}.")
    if gold.get("retired_tables"):
        lines.append("")
        lines.append(
            f"Gold: removed {', '.join(gold['retired_tables'])}: tables an earlier version "
            "wrote where gold now has views of the same names (docs/gold_contract.md)."
        )
    lines.append("")
    lines.append(_tables_line(ctx))
    return "\n".join(lines)


def _heading(ctx: RunContext) -> str:
    return f"Run {ctx.run_id} ({ctx.cfg.env}) on {ctx.cfg.landing_path}"


def _tables_line(ctx: RunContext) -> str:
    if ctx.cfg.is_local:
        return f"Tables: {ctx.cfg.lake_root}/<layer>/<table>"
    return f"Tables: catalog {ctx.cfg.catalog}"


def format_unchanged(ctx: RunContext, last_run: str, seconds: float) -> str:
    """The summary of a local run that found the lake, the input files and the code as the
    last successful run left them, and so did not start Spark (c2c_etl.lake_state)."""
    return "\n".join(
        [
            _heading(ctx),
            "",
            "Time per step:",
            f"  {'state check':<16}{seconds:7.1f} s  unchanged",
            f"  {'total':<16}{seconds:7.1f} s",
            "",
            f"No new input: every input file, every table and the code are as run {last_run} "
            "left them, so a run would change nothing and Spark was not started "
            "(--full-check starts it anyway).",
            "",
            _tables_line(ctx),
        ]
    )
