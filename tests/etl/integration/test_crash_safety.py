"""Crashes and concurrency: a pipeline killed anywhere (mid-write included) and rerun ends with
the tables of a clean run, readers never see half a write, and a run that meets another's
lock on the lake is refused before it starts anything.

The kills are real: the pipeline runs in a subprocess (``python -m c2c_etl.runner``)
that gets SIGKILL, either from the crash hook at a named point (``$C2C_CRASH_AT``, see
``c2c_etl.crashpoints``) or from this test while a table's parquet files are being written.
A kill in a later step starts from a copy of the lake as the clean run left it when that step
began (the state of a run killed between two steps): the killed run skips the steps before it,
as a run after a crash does, and its kill comes at the same point. The killed runs run at once,
alongside the clean run (``runs``).
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
from c2c_etl.jobs.common import LOG_CONTEXT, RunContext, StepResult, new_run_id
from c2c_etl.runlock import EXIT_LOCKED, lake_lock
from c2c_etl.runner import RunRequest, run
from c2c_etl.spark import SHORT_RUN_JIT
from tests.etl.helpers import run_pipeline

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


class Killed(NamedTuple):
    landing: Path
    lake: Path
    returncode: int
    stderr: str


def _note_writes(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str | None, str]]:
    """From now on, every table write as (the step writing it, table)."""
    written: set[tuple[str | None, str]] = set()
    note = io.WRITES.note

    def noting(cfg, table):
        written.add((LOG_CONTEXT["step"], str(table)))
        note(cfg, table)

    monkeypatch.setattr(io.WRITES, "note", noting)
    return written


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _killed_env(**more: str) -> dict[str, str]:
    """The environment of a run to be killed: this one's, with ``more``."""
    return {**os.environ, **more}


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


class _Kill(NamedTuple):
    """A run to kill: in ``step``, at a named point (``env``), or by this test once a parquet
    file appears in ``watched`` (a table's folder, relative to the lake)."""

    step: str
    env: dict[str, str]
    watched: Path | None


# By name: a commit boundary's point, or where a write is cut.
KILLS = {
    **{
        point: _Kill(
            _step_of_point(point), {crashpoints.ENV_VAR: point, "C2C_LOG_FORMAT": "json"}, None
        )
        for point in KILL_POINTS
    },
    **{
        where: _Kill(_step_writing(table), {}, Path(table.layer, table.name))
        for where, table in MID_WRITE.items()
    },
}


class _Killing:
    """The killed runs, each started in its own process on its own copy of the lake its step
    starts from, its output to a file."""

    def __init__(self, folders: pytest.TempPathFactory) -> None:
        self.folders = folders
        self.started: dict[str, tuple[Path, Path, Path, subprocess.Popen[bytes]]] = {}
        self.watchers: list[threading.Thread] = []

    def start(self, step: str, landing: Path, lake: Path) -> None:
        """The runs killed in ``step``, each from its own copy of ``landing`` and ``lake``; from
        ``landing`` itself and an empty lake in the first step."""
        for name, kill in KILLS.items():
            if kill.step != step:
                continue
            folder = self.folders.mktemp(f"killed-{name}")
            own_landing, own_lake = landing, folder / "lake"
            if step != pipeline.STEPS[0].name:
                shutil.copytree(landing, own_landing := folder / "landing")
                shutil.copytree(lake, own_lake)
            log = folder / "stderr.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    _command(own_landing, own_lake, "killed"),
                    env=_killed_env(**kill.env),
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                )
            if kill.watched is not None:
                self.watchers.append(_kill_when_a_file_appears(process, own_lake / kill.watched))
            self.started[name] = (own_landing, own_lake, log, process)

    def wait(self) -> dict[str, Killed]:
        found = {}
        for name, (landing, lake, log, process) in self.started.items():
            returncode = process.wait(timeout=600)
            found[name] = Killed(landing, lake, returncode, log.read_text(errors="replace"))
        for watcher in self.watchers:
            watcher.join()
        return found

    def stop(self) -> None:
        for *_, process in self.started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def _starting_kills_first(step: pipeline.Step, kills: _Killing, landing: Path, lake: Path):
    """``step``, first starting the runs killed in it from the lake as it is when it begins."""

    def start_then_run(spark, ctx: RunContext) -> StepResult:
        kills.start(step.name, landing, lake)
        return step.run(spark, ctx)

    return replace(step, run=start_then_run)


@pytest.fixture(scope="module")
def runs(
    spark, sample, tmp_path_factory, monkeypatch_module, request
) -> tuple[CleanRun, dict[str, Killed]]:
    """A first load of the sample, never killed, and what it did; and every run of ``KILLS``,
    by name. Each killed run is started as the clean run begins the step it is killed in, on a
    copy of the clean run's lake (the state of a run killed before that step): it skips the
    steps before as done, so it spends its fresh JVM on the step it is killed in. The killed
    runs overlap each other and the clean run: a commit boundary's run dies at its named point
    whatever the timing; the mid-write kill's watcher is a thread of its own that looks every
    few milliseconds, much less than the killed process takes from a write's first file to its
    commit (and its test fails if the kill came after the commit). All of them have ended
    before any test uses them."""
    reached: set[str] = set()
    real = crashpoints.crash_point

    def record(name: str) -> None:
        reached.add(name)
        real(name)

    for module in ("bronze", "silver", "gold"):
        monkeypatch_module.setattr(f"c2c_etl.jobs.{module}.crash_point", record)
    written = _note_writes(monkeypatch_module)
    lake = tmp_path_factory.mktemp("crash-clean") / "lake"
    kills = _Killing(tmp_path_factory)
    # Only when a test of this module's that will run checks them.
    wanted = any(
        getattr(item, "module", None) is request.module and "killed" in item.fixturenames
        for item in request.session.items
    )
    steps = tuple(
        _starting_kills_first(step, kills, sample, lake) if wanted else step
        for step in pipeline.STEPS
    )
    try:
        ctx = RunContext(local_config(sample, lake), new_run_id())
        spark.catalog.clearCache()
        run(RunRequest(ctx.cfg, ctx.run_id, full_check=True, pipeline=steps), spark)
        monkeypatch_module.undo()
        cached = _cached_frames(spark)
        clean = CleanRun(_snapshot(spark, ctx), reached, cached, lake, written)
        return clean, kills.wait()
    finally:
        kills.stop()


@pytest.fixture(scope="module")
def clean(runs) -> CleanRun:
    return runs[0]


@pytest.fixture(scope="module")
def killed(runs) -> dict[str, Killed]:
    return runs[1]


def test_a_clean_run_passes_every_crash_point(clean):
    assert clean.reached == set(crashpoints.POINTS)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_a_run_killed_at_a_commit_boundary_reruns_to_the_clean_tables(spark, killed, clean, point):
    landing, lake, returncode, stderr = killed[point]
    assert returncode == -signal.SIGKILL, stderr[-3000:]
    assert f"{crashpoints.ENV_VAR}={point}" in stderr
    # Structured logs: every line from Python logging is one JSON object with the run id and,
    # within a step, the step's name.
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines and all(line["run_id"] == "killed" for line in lines)
    # A few hundred users of new input: the JVM started with the JIT of a short run.
    (started,) = [line["message"] for line in lines if "driver JVM options" in line["message"]]
    assert started.endswith(SHORT_RUN_JIT)
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


@pytest.mark.parametrize("where", MID_WRITE)
def test_a_run_killed_mid_write_hides_the_half_write_and_reruns_to_the_clean_tables(
    spark, killed, clean, where
):
    landing, lake, returncode, stderr = killed[where]
    assert returncode == -signal.SIGKILL, stderr[-3000:]
    table = MID_WRITE[where]
    folder = lake / table.layer / table.name

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
def test_a_failed_step_is_recorded_with_its_error_and_leaves_nothing_cached(
    spark, tmp_path, monkeypatch, failing, step
):
    """A step that raised half-way (here: silver users' MERGE, the reports' table writes) is
    recorded as failed with its error, after the steps that succeeded before it, and the
    driver gets the silver steps' cached frames back."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    generate(landing, 200, 50, seed=5, dirty_rate=0.05)
    spark.catalog.clearCache()
    ctx = RunContext(local_config(landing, lake), new_run_id())

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"{failing} failed")

    monkeypatch.setattr(io, failing, broken)
    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        run_pipeline(spark, ctx)
    steps = io.read(spark, ctx.cfg, tables.RUN_STEPS).filter(F.col("run_id") == ctx.run_id)
    final = {r["step"]: r for r in steps.collect()}
    names = [s.name for s in pipeline.STEPS]
    before = names[: names.index(step)]
    assert {s: r["status"] for s, r in final.items()} == {
        **dict.fromkeys(before, "succeeded"),
        step: "failed",
    }
    assert final[step]["error"] == f"RuntimeError: {failing} failed"
    assert steps.count() == len(final)  # one record per step
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
    # The runner records the run's ingestion log rows, audit rows and steps itself, outside any
    # step.
    records = {"bronze.ingestion_log", "silver.run_audit", "silver.run_steps"}
    assert undeclared <= {(None, table) for table in records}, undeclared
