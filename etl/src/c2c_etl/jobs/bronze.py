"""Bronze job: ingest every new landing file, exactly once, into its raw Delta table.

Crash safety: each file's append is a Delta idempotent write keyed by the file's content hash
(``txnAppId`` = ``c2c-bronze-<sha256>``), and its commit carries the hash in its user metadata.
If a run dies after a file's commit and before the ingestion log's, the rerun's append of that
file is skipped by Delta itself, and the row count is read back from the earlier commit: the
file is logged once, its rows are in bronze once.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Row, SparkSession

from c2c_etl import io
from c2c_etl.bronze.ingest import (
    LandedFile,
    add_ingestion_metadata,
    list_landing,
    list_set_aside,
    named_as_csv,
    raw_schema,
    select_new,
    spark_path,
    unreadable_name,
    unterminated_row,
)
from c2c_etl.bronze.inspect import ContentCheck, explain_unknown_header, inspect_file
from c2c_etl.crashpoints import crash_point
from c2c_etl.jobs.common import (
    INGESTION_LOG_SCHEMA,
    LOG_ROWS,
    RunContext,
    StepResult,
    log,
    log_order,
    logged_rows,
    run_step,
    step_started,
)
from c2c_etl.sources import SOURCE_KINDS, SourceKind, detect_kind


def _logged_sha256(spark: SparkSession, ctx: RunContext) -> tuple[set[str], dict[str, str]]:
    """Contents already handled, and contents only ever rejected or skipped, with the reason.

    A rejected or skipped file is looked at again when it comes back (same content, any name):
    after a release that knows its header (a schema change in the source), it is ingested;
    until then it gets no new log row, so a rerun still changes nothing.
    """
    rows = logged_rows(spark, ctx)
    statuses: dict[str, set[str]] = {}
    reasons: dict[str, str] = {}
    for sha, status, reason in ((r["source_sha256"], r["status"], r["reason"]) for r in rows):
        statuses.setdefault(sha, set()).add(status)
        reasons[sha] = f"{status} before: {reason}"
    known = {sha for sha, seen in statuses.items() if seen - {"rejected", "skipped"}}
    return known, {sha: reasons[sha] for sha in statuses if sha not in known}


def read_source(
    spark: SparkSession, landed: LandedFile, kind: SourceKind, check: ContentCheck
) -> DataFrame:
    """Read one CSV as strings; rows that do not fit the header land in ``_corrupt_record``.

    The encoding and the column limit come from the file's inspection: a Latin-1 file is read
    as Latin-1, and a line wider than Spark's default limit is a malformed row, not a failed
    read.
    """
    return (
        spark.read.option("header", "true")
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt_record")
        .option("encoding", check.encoding or "UTF-8")
        .option("maxColumns", check.max_columns)
        .option("enforceSchema", "true")
        .schema(raw_schema(kind, check.header))
        .csv(spark_path(landed.path))
    )


def _log_row(
    ctx: RunContext,
    f: LandedFile,
    kind: SourceKind | None,
    status: str,
    reason: str | None,
    rows: int | None,
) -> tuple:
    return (
        f.name,
        f.sha256,
        f.size,
        kind.name if kind else None,
        kind.release if kind else None,
        status,
        reason,
        rows,
        ctx.run_id,
        ctx.started_at,
    )


def txn_app_id(sha256: str) -> str:
    """The Delta idempotent-write id of one file's append: one per content, never reused."""
    return f"c2c-bronze-{sha256}"


def _committed_rows(spark: SparkSession, ctx: RunContext, kind: SourceKind, f: LandedFile) -> int:
    """Rows of ``f`` in its bronze table, from Delta's commit metrics (no data scan).

    The commit is found by the content hash in its user metadata: normally this run's append,
    among the newest few commits; else an earlier, crashed run's, when Delta skipped this run's
    append as already done. No such commit: the file had no rows.
    """
    for limit in (RECENT_COMMITS, None):
        for _version, meta, metrics in io.commits(spark, ctx.cfg, kind.bronze, limit=limit):
            if meta.get("source_sha256") != f.sha256:
                continue
            if meta.get("run_id") != ctx.run_id:
                log.warning(
                    "%s was committed to %s by run %s, which stopped before logging it: "
                    "logging that commit instead of writing the file again",
                    f.name,
                    kind.bronze,
                    meta.get("run_id"),
                )
            return int(metrics.get("numOutputRows", 0))
    return 0


# This run's append is among the table's newest commits (other kinds write other tables).
RECENT_COMMITS = 5


def _ingest(
    spark: SparkSession,
    ctx: RunContext,
    kind: SourceKind,
    files: list[tuple[LandedFile, ContentCheck]],
) -> list[tuple]:
    """Append each file of one kind to its bronze table: one idempotent commit per file."""
    rows = []
    for f, check in files:
        raw = read_source(spark, f, kind, check)
        truncated = None
        if check.unterminated is not None:
            tail = check.unterminated.decode(check.encoding or "utf-8", errors="replace")
            truncated = unterminated_row(check.header, tail)
        stamped = add_ingestion_metadata(
            raw, kind, f, ctx.run_id, ctx.started_at.isoformat(), truncated
        )
        io.append(
            ctx.cfg,
            kind.bronze,
            stamped,
            txn=(txn_app_id(f.sha256), 0),
            user_metadata={"source_sha256": f.sha256, "source_file": f.name, "run_id": ctx.run_id},
        )
        # Delta's own count of the rows this commit wrote: silver balances against it.
        n = _committed_rows(spark, ctx, kind, f)
        crash_point("bronze.file_committed")
        notes = [check.note] if check.note else []
        if check.unterminated is not None:
            log.warning("%s ends with no line end: its last row is quarantined", f.name)
            notes.append("no line end after the last line: its row is quarantined as truncated")
        if n != check.data_lines:
            # Spark returned more or fewer rows than the file has non-blank lines: say so.
            log.warning("%s: %d non-blank data lines, %d rows read", f.name, check.data_lines, n)
            notes.append(f"{check.data_lines} non-blank data lines but {n} rows read")
        if n == 0:
            log.warning("%s has a header and no data rows", f.name)
            notes.insert(0, "header only: no data rows")
            rows.append(_log_row(ctx, f, kind, "empty", "; ".join(notes), 0))
            continue
        log.info("ingested %s as %s: %d rows", f.name, kind.name, n)
        rows.append(_log_row(ctx, f, kind, "ingested", "; ".join(notes) or None, n))
    return rows


def _reject(ctx: RunContext, f: LandedFile, check: ContentCheck, reason: str) -> tuple:
    """Copy a file rejected whole to the dead-letter area with its reason; its log row."""
    log.warning("rejecting %s: %s", f.name, reason)
    io.write_dead_letter(
        ctx.cfg,
        ctx.run_id,
        f.path,
        f.name,
        {
            "source_file": f.name,
            "reason": reason,
            "sha256": f.sha256,
            "size_bytes": f.size,
            "detected": check.detected,
            "run_id": ctx.run_id,
            "rejected_at": ctx.started_at.isoformat(),
        },
    )
    return _log_row(ctx, f, None, "rejected", reason, 0)


def _skip(ctx: RunContext, f: LandedFile, reason: str) -> tuple:
    log.warning("skipping %s: %s", f.name, reason)
    return _log_row(ctx, f, None, "skipped", reason, 0)


def _set_aside_reason(f: LandedFile) -> str:
    folder = next(p for p in f.name.split("/")[:-1] if p.startswith(("_", ".")))
    return (
        f"in folder {folder}/: folders whose name starts with _ or . are not read (the lake "
        "keeps set-aside files and logs there): move the file out of it to have it read"
    )


def run(spark: SparkSession, ctx: RunContext) -> StepResult:
    with run_step(ctx, "bronze") as result:
        landed = ctx.landed if ctx.landed is not None else list_landing(ctx.cfg.landing_path)
        known, handled_before = _logged_sha256(spark, ctx)
        new, duplicates = select_new(landed, known)
        log_rows = [
            _log_row(ctx, dup, None, "duplicate_delivery", f"same content as {twin.name}", 0)
            for dup, twin in duplicates
        ]
        # Files that get no log row in this run (already logged), in the summary all the same.
        again: list[dict[str, object]] = []
        for f in list_set_aside(ctx.cfg.landing_path):
            if f.sha256 not in known and f.sha256 not in handled_before:
                log_rows.append(_skip(ctx, f, _set_aside_reason(f)))
        by_kind: dict[SourceKind, list[tuple[LandedFile, ContentCheck]]] = {}
        for f in new:
            check = inspect_file(io.file_blocks(f.path), f.name)
            kind = detect_kind(check.header) if check.problem is None else None
            bad_name = unreadable_name(f.name)
            if kind is not None and bad_name is None:
                by_kind.setdefault(kind, []).append((f, check))
                continue
            if f.sha256 in handled_before:
                log.info("%s: %s", f.name, handled_before[f.sha256])
                status = handled_before[f.sha256].split(" ", 1)[0]
                again.append(
                    {
                        "file": f.name,
                        "status": status,
                        "rows": 0,
                        "reason": handled_before[f.sha256],
                    }
                )
                continue
            if kind is not None and bad_name is not None:
                log_rows.append(_reject(ctx, f, check, bad_name))
                continue
            reason = check.problem or explain_unknown_header(
                check.header, [k.columns for k in SOURCE_KINDS]
            )
            if named_as_csv(f.name):
                log_rows.append(_reject(ctx, f, check, reason))
            else:
                log_rows.append(
                    _skip(ctx, f, f"not named .csv and not a known CSV ({reason}): not data")
                )
        if by_kind or log_rows:
            step_started(result)
        # Kinds go to different tables, so they are ingested side by side.
        for rows in io.parallel(lambda item: _ingest(spark, ctx, *item), by_kind.items()):
            log_rows.extend(rows)
        if log_rows:
            crash_point("bronze.files_committed")
            # Committed by the runner with the run's other records (common.record_steps); the
            # later steps of this run find them in the run's memo. A run killed before then has
            # logged none of its files: its rerun finds them new again, Delta skips their
            # appends as done and their rows are read back from those commits.
            result.logged = log_rows
            # This run's rows come last: their ingestion time is the run's start, after every
            # earlier run's.
            names = INGESTION_LOG_SCHEMA.fieldNames()
            appended = sorted(
                (Row(**dict(zip(names, r, strict=True))) for r in log_rows), key=log_order
            )
            ctx.memo[LOG_ROWS] = [*ctx.memo[LOG_ROWS], *appended]
        else:
            result.status = "skipped"
        result.details = {
            "files_in_landing": len(landed),
            "files": [
                {"file": r[0], "status": r[5], "rows": r[7], "reason": r[6]} for r in log_rows
            ]
            + again,
            # Files whose content an earlier run ingested: nothing to do for them.
            "already_ingested": sum(f.sha256 in known for f in landed),
            # Every content the ingestion log now knows: what the next run's shortcut compares
            # its input against (c2c_etl.lake_state).
            "known_sha256": sorted(known | set(handled_before) | {r[1] for r in log_rows}),
            "dead_letter": ctx.cfg.dead_letter_path(ctx.run_id)
            if any(r[5] == "rejected" for r in log_rows)
            else None,
        }
    return result
