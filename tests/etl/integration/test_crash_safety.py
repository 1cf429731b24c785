"""Crashes and concurrency: a pipeline killed anywhere (mid-write included) and rerun ends with
the tables of a clean run, readers never see half a write, and a run that meets another's
lock on the lake is refused before it starts anything.

The kills are real: the pipeline runs in a subprocess (``python -m c2c_etl.runner``)
that gets SIGKILL, either from the crash hook at a named point (``$C2C_CRASH_AT``, see
``c2c_etl.crashpoints``) or from this test while a table's parquet files are being written.
A kill in a later step starts from a copy of the lake as the clean run left it when that step
began (the state of a run killed between two steps): the killed run skips the steps before it,
as a run after a crash does, and its kill comes at the same point. The runs killed at a commit
boundary die at a named point, whatever the timing, so they run all at once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from c2c_etl import crashpoints, io, pipeline, tables
from c2c_etl.config import local_config
from c2c_etl.generator import generate, generate_delivery
from c2c_etl.jobs import gold
from c2c_etl.jobs.common import LOG_CONTEXT, RunContext, StepResult, new_run_id
from c2c_etl.runlock import EXIT_LOCKED, lake_lock
from c2c_etl.runner import RunRequest, run
from tests.etl.cluster.spark_services import SHORT_RUN_JAVA_OPTIONS
from tests.etl.helpers import copy_lake, run_pipeline

# Columns that say which run wrote a row, or when: they differ between any two runs.
RUN_SPECIFIC = {
    "_run_id",
    "_ingested_at",
    "run_id",
    "ingested_at",
    "started_at",
    "finished_at",
    "details",
}
# Rows of run steps are per run by nature: the rerun records the steps that still had work. A
# staging table holds a step's scratch (with a batch id), not a result.
NOT_COMPARED = {tables.RUN_STEPS, *tables.STAGING_TABLES}
# Kill points on the real pipeline; each costs one Spark start-up plus a rerun. The runner's
# crash safety at every commit is proven on a small pipeline (tests/etl/runner).
KILL_POINTS = (
    "bronze.file_committed",
    "silver_users.merge_committed",
    "gold.table_committed",
)
# A kill while a table's parquet files are being written, before its commit.
MID_WRITE = {"silver users": tables.SILVER_USERS}


def _step_of_point(point: str) -> str:
    return point.split(".", 1)[0]


def _step_writing(table: tables.Table) -> str:
    (step,) = [s.name for s in pipeline.STEPS if table in s.writes]
    return step


def _snapshot(spark, ctx: RunContext) -> dict[str, list[tuple]]:
    """Every compared table's rows without the run-specific columns, sorted."""
    found = {}
    for table in tables.ALL_TABLES:
        df = io.read_or_none(spark, ctx.cfg, table)
        if table in NOT_COMPARED or df is None:
            continue
        kept = [c for c in df.columns if c not in RUN_SPECIFIC]
        found[str(table)] = sorted((tuple(r) for r in df.select(*kept).collect()), key=repr)
    return found


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """Small: a kill, a rerun and the comparison prove the same on a few hundred users as on
    thousands; every file kind, quarantined rows and users in both releases are still in it."""
    landing = tmp_path_factory.mktemp("crash-sample") / "landing"
    generate(landing, 300, 100, seed=13, dirty_rate=0.05, overlap=0.1)
    return landing


class CleanRun(NamedTuple):
    tables: dict[str, list[tuple]]  # every compared table's rows (``_snapshot``)
    reached: set[str]  # the crash points it passed through
    cached: bool  # whether it left any DataFrame cached in the driver
    lake: Path
    written: set[tuple[str | None, str]]  # (step, table) of every table write
    # Per step that a test kills the pipeline in (but the first): a folder whose ``landing`` (the
    # sample) and ``lake`` are a copy of the clean run's when that step began.
    starts: dict[str, Path]


def _note_writes(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str | None, str]]:
    """From now on, every table write as (the step writing it, table)."""
    written: set[tuple[str | None, str]] = set()
    note = io.WRITES.note

    def noting(cfg, table):
        written.add((LOG_CONTEXT["step"], str(table)))
        note(cfg, table)

    monkeypatch.setattr(io.WRITES, "note", noting)
    return written


def _killed_in() -> set[str]:
    """The steps a test kills the pipeline in."""
    return {_step_of_point(p) for p in KILL_POINTS} | {_step_writing(t) for t in MID_WRITE.values()}


def _copying_the_lake_first(
    step: pipeline.Step, landing: Path, lake: Path, into: Path
) -> pipeline.Step:
    """``step``, copying ``landing`` and ``lake`` into ``into`` before it runs."""

    def copy_then_run(spark, ctx: RunContext) -> StepResult:
        shutil.copytree(landing, into / "landing")
        shutil.copytree(lake, into / "lake")
        return step.run(spark, ctx)

    return replace(step, run=copy_then_run)


@pytest.fixture(scope="module")
def clean(spark, sample, tmp_path_factory, monkeypatch_module) -> CleanRun:
    """A first load of the sample, never killed, and what it did. On the way, the lake as it
    was when each step a test kills the pipeline in began: a killed process started on a copy
    skips the steps before it as done, so it spends its fresh JVM on the step it is killed in,
    not on the ones before."""
    reached: set[str] = set()
    real = crashpoints.crash_point

    def record(name: str) -> None:
        reached.add(name)
        real(name)

    for module in ("bronze", "silver", "gold"):
        monkeypatch_module.setattr(f"c2c_etl.jobs.{module}.crash_point", record)
    written = _note_writes(monkeypatch_module)
    lake = tmp_path_factory.mktemp("crash-clean") / "lake"
    starts = {
        step.name: tmp_path_factory.mktemp(f"crash-start-{step.name}")
        for step in pipeline.STEPS[1:]
        if step.name in _killed_in()
    }
    steps = tuple(
        _copying_the_lake_first(step, sample, lake, starts[step.name])
        if step.name in starts
        else step
        for step in pipeline.STEPS
    )
    ctx = RunContext(local_config(sample, lake), new_run_id())
    spark.catalog.clearCache()
    run(RunRequest(ctx.cfg, ctx.run_id, full_check=True, pipeline=steps), spark)
    monkeypatch_module.undo()
    cached = _cached_frames(spark)
    return CleanRun(_snapshot(spark, ctx), reached, cached, lake, written, starts)


def _start_for(step: str, sample: Path, clean: CleanRun, tmp_path: Path) -> tuple[Path, Path]:
    """(landing, lake) for a run killed in ``step``: a copy of the lake the steps before it
    left; the sample and an empty lake for the first step."""
    if step not in clean.starts:
        return sample, tmp_path / "lake"
    return copy_lake(clean.starts[step], tmp_path)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _killed_env(**more: str) -> dict[str, str]:
    """The environment of a run to be killed: its JVM compiles with C1 only (a fresh process's
    short run is mostly JIT warm-up; what the kill proves does not depend on the JIT)."""
    conf = f"spark.driver.extraJavaOptions={SHORT_RUN_JAVA_OPTIONS}"
    return {**os.environ, "C2C_SPARK_CONF": conf, **more}


def _command(landing: Path, lake: Path, run_id: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "c2c_etl.runner",
        "--env",
        "local",
        "--input",
        str(landing),
        "--lake",
        str(lake),
        "--run-id",
        run_id,
    ]


def _data_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in handle) - 1


def assert_only_whole_files_visible(spark, landing: Path, lake: Path) -> None:
    """What a reader sees right after the kill: every file's rows in bronze are all of its
    rows or none, logged counts match, and silver holds each user once."""
    ctx = RunContext(local_config(landing, lake), "reader")
    lines = {f.name: _data_rows(f) for f in landing.rglob("*.csv")}
    log = io.read_or_none(spark, ctx.cfg, tables.INGESTION_LOG)
    logged = {r["source_sha256"]: r["rows"] for r in log.collect()} if log is not None else {}
    for table in tables.ALL_TABLES:
        if table.layer != tables.BRONZE or table == tables.INGESTION_LOG:
            continue
        df = io.read_or_none(spark, ctx.cfg, table)
        if df is None:
            continue
        per_file = df.groupBy("_source_file", "_source_sha256").count().collect()
        for name, sha, n in per_file:
            assert n == lines[Path(name).name], f"{table}: {name} is partly visible ({n} rows)"
            if sha in logged:
                assert n == logged[sha]
    users = io.read_or_none(spark, ctx.cfg, tables.SILVER_USERS)
    if users is not None:
        assert users.groupBy("identifier_hash").count().filter("count > 1").count() == 0


def test_a_clean_run_passes_every_crash_point(clean):
    assert clean.reached == set(crashpoints.POINTS)


class Killed(NamedTuple):
    landing: Path
    lake: Path
    returncode: int
    stderr: str


@pytest.fixture(scope="module")
def killed(sample, clean, tmp_path_factory) -> dict[str, Killed]:
    """Per point of ``KILL_POINTS``: the run killed there, each from its own copy of the lake
    its step starts from. They are started at once and all waited for: each dies at its named
    point whatever the timing, and a test after this one has the machine to itself."""
    started: dict[str, tuple[Path, Path, Path, subprocess.Popen[bytes]]] = {}
    try:
        for point in KILL_POINTS:
            folder = tmp_path_factory.mktemp(f"killed-{point}")
            landing, lake = _start_for(_step_of_point(point), sample, clean, folder)
            env = _killed_env(**{crashpoints.ENV_VAR: point, "C2C_LOG_FORMAT": "json"})
            # A file, not a pipe: nothing reads a process's output before it ends.
            err = folder / "stderr.log"
            with err.open("wb") as out:
                process = subprocess.Popen(
                    _command(landing, lake, "killed"),
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                )
            started[point] = (landing, lake, err, process)
        found = {}
        for point, (landing, lake, err, process) in started.items():
            returncode = process.wait(timeout=600)
            found[point] = Killed(landing, lake, returncode, err.read_text(errors="replace"))
        return found
    finally:
        for *_, process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_at_a_commit_boundary_reruns_to_the_clean_tables(spark, killed, clean, point):
    landing, lake, returncode, stderr = killed[point]
    assert returncode == -signal.SIGKILL, stderr[-3000:]
    assert f"{crashpoints.ENV_VAR}={point}" in stderr
    # Structured logs: every line from Python logging is one JSON object with the run id and,
    # within a step, the step's name.
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines and all(line["run_id"] == "killed" for line in lines)
    logged_steps = {line.get("step") for line in lines}
    assert _step_of_point(point) in logged_steps
    if point.startswith("gold."):
        assert {"bronze", "silver_users", "silver_reports"} <= logged_steps

    assert_only_whole_files_visible(spark, landing, lake)
    ctx = RunContext(local_config(landing, lake), new_run_id())
    run_pipeline(spark, ctx)
    assert _snapshot(spark, ctx) == clean.tables
    steps = io.read(spark, ctx.cfg, tables.RUN_STEPS)
    # The killed run recorded no step (the runner records a run's steps at its end); the
    # rerun recorded those that had work left.
    assert steps.filter("run_id = 'killed'").count() == 0
    assert steps.filter(F.col("run_id") == ctx.run_id).count() >= 1


def _kill_when_a_file_appears(process: subprocess.Popen, folder: Path) -> threading.Thread:
    """SIGKILL ``process`` as soon as a parquet file appears in ``folder``: the write has
    begun, its Delta commit cannot have happened yet."""

    def watch() -> None:
        while process.poll() is None:
            if folder.is_dir() and any(
                p.name.endswith(".parquet") and not p.name.startswith(".") for p in folder.iterdir()
            ):
                process.send_signal(signal.SIGKILL)
                return
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("where", MID_WRITE)
def test_a_run_killed_mid_write_hides_the_half_write_and_reruns_to_the_clean_tables(
    spark, sample, clean, tmp_path, where
):
    table = MID_WRITE[where]
    landing, lake = _start_for(_step_writing(table), sample, clean, tmp_path)
    folder = lake / table.layer / table.name
    process = subprocess.Popen(
        _command(landing, lake, "killed"),
        env=_killed_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    watcher = _kill_when_a_file_appears(process, folder)
    _, err = process.communicate(timeout=600)
    watcher.join()
    assert process.returncode == -signal.SIGKILL, err[-3000:]

    # The parquet being written is on disk, but no committed version references it (on a
    # fresh lake the write is the table's first: then there is no table at all for readers).
    on_disk = {p.name for p in folder.glob("*.parquet")}
    assert on_disk
    if DeltaTable.isDeltaTable(spark, str(folder)):
        visible = {Path(f).name for f in spark.read.format("delta").load(str(folder)).inputFiles()}
        assert on_disk - visible, "the write was not cut: every file is committed"
    else:
        assert not any((folder / "_delta_log").glob("*.json"))
    assert_only_whole_files_visible(spark, landing, lake)

    ctx = RunContext(local_config(landing, lake), new_run_id())
    run_pipeline(spark, ctx)
    assert _snapshot(spark, ctx) == clean.tables


def test_a_run_started_while_another_holds_the_lake_is_refused_before_spark_starts(
    sample, tmp_path, refusing_spark_home
):
    """The lock as a second run meets it: the real command, while this process holds the lake
    as a running pipeline would, exits with its own code naming the holder, at once (no Spark
    session), and leaves the lake as it was."""
    lake = tmp_path / "lake"
    lake.mkdir()
    # A Spark that refuses to start: the refusal must come before any session.
    env = {**os.environ, "C2C_LOG_FORMAT": "json", "SPARK_HOME": str(refusing_spark_home)}
    with lake_lock(str(lake), "run-a"):
        before = sorted(p.relative_to(lake) for p in lake.rglob("*"))
        refused = subprocess.run(
            _command(sample, lake, "run-b"), env=env, capture_output=True, text=True, timeout=600
        )
        after = sorted(p.relative_to(lake) for p in lake.rglob("*"))
    assert refused.returncode == EXIT_LOCKED, refused.stderr[-3000:]
    assert "is locked by another run (run run-a, pid" in refused.stderr
    assert after == before
    lines = [json.loads(line) for line in refused.stderr.splitlines() if line.startswith("{")]
    assert lines and all(line["run_id"] == "run-b" for line in lines)


def test_a_failed_step_is_recorded_as_failed_with_its_error(spark, tmp_path, monkeypatch):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    generate(landing, 200, 50, seed=4, dirty_rate=0.0)

    def broken(*_args: object) -> None:
        raise RuntimeError("gold cannot be built")

    monkeypatch.setattr(gold, "build_gold", broken)
    ctx = RunContext(local_config(landing, lake), new_run_id())
    with pytest.raises(RuntimeError, match="gold cannot be built"):
        run_pipeline(spark, ctx)
    steps = io.read(spark, ctx.cfg, tables.RUN_STEPS).filter(F.col("run_id") == ctx.run_id)
    final = {r["step"]: r for r in steps.collect()}
    assert {s: r["status"] for s, r in final.items()} == {
        "bronze": "succeeded",
        "silver_users": "succeeded",
        "silver_reports": "succeeded",
        "gold": "failed",
    }
    assert final["gold"]["error"] == "RuntimeError: gold cannot be built"
    assert steps.count() == 4


def _cached_frames(spark) -> bool:
    """Whether the session holds any cached DataFrame (Spark's cache manager, not Delta's own
    snapshot caches)."""
    return not spark._jsparkSession.sharedState().cacheManager().isEmpty()


def test_a_clean_run_leaves_nothing_cached_in_the_driver(clean):
    """The silver steps cache a batch's rows and small helper frames; a driver that outlives
    the run (an all-purpose cluster, this test session) must get that memory back."""
    assert not clean.cached


@pytest.mark.parametrize(
    ("failing", "step"), [("upsert", "silver_users"), ("overwrite_all", "silver_reports")]
)
def test_a_run_leaves_nothing_cached_in_the_driver_even_when_a_step_fails(
    spark, tmp_path, monkeypatch, failing, step
):
    """The driver gets the silver steps' cached frames back when a step raised half-way too
    (here: silver users' MERGE, the reports' table writes)."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    generate(landing, 200, 50, seed=5, dirty_rate=0.05)
    spark.catalog.clearCache()
    ctx = RunContext(local_config(landing, lake), new_run_id())

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"{failing} failed")

    monkeypatch.setattr(io, failing, broken)
    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        run_pipeline(spark, ctx)
    steps = io.read(spark, ctx.cfg, tables.RUN_STEPS).filter("status = 'failed'")
    assert [r["step"] for r in steps.collect()] == [step]
    assert not _cached_frames(spark)


def test_each_step_writes_only_the_tables_it_declares(spark, sample, clean, tmp_path, monkeypatch):
    """The real pipeline, a first load (the clean run) and then, on a copy of its lake, a
    delivery with changed users: every table a step writes is among the tables
    c2c_etl.pipeline declares for it."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    shutil.copytree(sample, landing)
    shutil.copytree(clean.lake, lake)
    written = _note_writes(monkeypatch)
    generate_delivery(
        landing / "users_2020_part_0002.csv",
        "2020",
        50,
        seed=4,
        update_from=landing / "users_2020.csv",
        update_share=0.2,
    )
    delivery = run(RunRequest(local_config(landing, lake)), spark)
    assert {r.step: r.status for r in delivery.results}["silver_users"] == "succeeded"
    written |= clean.written
    declared = {s.name: {str(t) for t in s.writes} for s in pipeline.STEPS}
    undeclared = {(step, table) for step, table in written if table not in declared.get(step, ())}
    assert {step for step, _ in written} >= {"bronze", "silver_users", "silver_reports", "gold"}
    # The runner records the run's steps itself, outside any step.
    assert undeclared <= {(None, "silver.run_steps")}, undeclared
