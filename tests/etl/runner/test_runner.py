"""The runner's crash safety and idempotency, proven on a small two-step pipeline built with it
(tiny_pipeline.py): a run killed right after any one of its Delta commits, then run again,
leaves exactly the tables of a run that was never killed, and a rerun with nothing new adds no
commit. The kills are real SIGKILLs of a separate process (c2c_etl.crashpoints)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from c2c_etl import crashpoints, io, lake_state, runner
from c2c_etl.bronze.ingest import list_landing
from c2c_etl.config import local_config
from c2c_etl.runner import RunRequest, run
from tests.etl.runner.tiny_pipeline import RAW, STEPS, TOTALS

REPO = Path(__file__).resolve().parents[3]


def _deliver(landing: Path) -> None:
    landing.mkdir(parents=True)
    (landing / "a.csv").write_text("id,amount\n1,10\n2,20\n3,30\n")
    (landing / "b.csv").write_text("id,amount\n4,1\n5,2\n")


def _start_killed(landing: Path, lake: Path, kill_at: str, log: Path) -> subprocess.Popen[bytes]:
    """The tiny pipeline in a process of its own, to be killed at ``kill_at``; its output goes
    to ``log``."""
    env = {**os.environ, crashpoints.ENV_VAR: kill_at}
    command = [sys.executable, "-m", "tests.etl.runner.tiny_pipeline"]
    with log.open("wb") as out:
        return subprocess.Popen(
            [*command, "--input", str(landing), "--lake", str(lake)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _commits(lake: Path) -> int:
    """How many Delta commits the lake's tables hold."""
    return sum(v + 1 for v in lake_state.table_versions(str(lake)).values())


def _tables(spark, lake: Path, landing: Path) -> dict[str, list[tuple]]:
    cfg = local_config(landing, lake)
    return {
        str(t): sorted(tuple(r) for r in io.read(spark, cfg, t).collect()) for t in (RAW, TOTALS)
    }


def _rerun(spark, landing: Path, lake: Path) -> None:
    run(RunRequest(local_config(landing, lake), pipeline=STEPS, full_check=True), spark)


def test_a_clean_run_and_its_no_op_rerun(spark, tmp_path):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    _deliver(landing)
    outcome = run(RunRequest(local_config(landing, lake), pipeline=STEPS), spark)
    assert [r.status for r in outcome.results] == ["succeeded", "succeeded", "skipped"]
    assert _tables(spark, lake, landing)[str(TOTALS)] == [("a.csv", 3, 60), ("b.csv", 2, 3)]
    versions = lake_state.table_versions(str(lake))
    # Nothing new: answered from the lake's state file, without a step.
    again = run(RunRequest(local_config(landing, lake), pipeline=STEPS), spark)
    assert again.unchanged_since == outcome.ctx.run_id and again.results == []
    # Made to look (a full check): every step finds nothing to do; no table gets a commit.
    _rerun(spark, landing, lake)
    assert lake_state.table_versions(str(lake)) == versions


def test_a_run_killed_after_any_commit_reruns_to_the_clean_tables(spark, tmp_path):
    landing = tmp_path / "landing"
    _deliver(landing)
    # Every commit of a clean run: two raw appends, the totals, the run's step record. Each
    # killed run dies at its numbered commit whatever the timing, so they all run at once, while
    # the clean run (which needs no process of its own) runs here.
    every_commit = range(1, 5)
    killed = {
        n: _start_killed(
            landing, tmp_path / f"killed-after-{n}", f"commit:{n}", tmp_path / f"{n}.log"
        )
        for n in every_commit
    }
    try:
        clean = tmp_path / "clean"
        run(RunRequest(local_config(landing, clean), pipeline=STEPS), spark)
        expected = _tables(spark, clean, landing)
        assert _commits(clean) == len(every_commit)
        for n, process in killed.items():
            returncode = process.wait(timeout=600)
            output = (tmp_path / f"{n}.log").read_text(errors="replace")
            assert returncode == -signal.SIGKILL, output[-3000:]
            assert f"{crashpoints.ENV_VAR}=commit:{n}: killing" in output, output[-3000:]
    finally:
        for process in killed.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for n in every_commit:
        lake = tmp_path / f"killed-after-{n}"
        assert _commits(lake) == n, "the kill came at another commit"
        _rerun(spark, landing, lake)
        assert _tables(spark, lake, landing) == expected, f"killed after commit {n}"
        versions = lake_state.table_versions(str(lake))
        _rerun(spark, landing, lake)
        assert lake_state.table_versions(str(lake)) == versions, f"rerun after commit {n}"


def test_a_run_starts_spark_for_the_input_the_lake_does_not_know(tmp_path, monkeypatch):
    """What the runner tells the session it starts: how many bytes of input are new to the
    lake, which choose the JVM's JIT (c2c_etl.spark.driver_java_options)."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    _deliver(landing)
    cfg = local_config(landing, lake)
    asked: list[int | None] = []

    class Started(Exception):
        pass

    def starting(is_local, app_name, remote, input_bytes):
        asked.append(input_bytes)
        raise Started

    monkeypatch.setattr(runner, "get_spark", starting)
    sizes = {f.name: f.size for f in list_landing(str(landing))}
    with pytest.raises(Started):
        run(RunRequest(cfg, pipeline=STEPS))
    # A run that left the lake knowing a.csv: b.csv is the new input.
    lake_state.record(
        cfg, "run-1", [f for f in list_landing(str(landing)) if f.name == "a.csv"], []
    )
    with pytest.raises(Started):
        run(RunRequest(cfg, pipeline=STEPS))
    assert asked == [sizes["a.csv"] + sizes["b.csv"], sizes["b.csv"]]


@pytest.mark.parametrize("names", [("ingest",), ("total",)])
def test_a_step_runs_alone_as_a_job_task_does(spark, tmp_path, names):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    _deliver(landing)
    run(RunRequest(local_config(landing, lake), pipeline=STEPS, steps=("ingest",)), spark)
    outcome = run(RunRequest(local_config(landing, lake), pipeline=STEPS, steps=names), spark)
    assert [r.step for r in outcome.results] == [*names, "compact"]
    with pytest.raises(ValueError, match="unknown step"):
        run(RunRequest(local_config(landing, lake), pipeline=STEPS, steps=("nope",)), spark)
