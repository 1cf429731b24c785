"""The local executor runs the factory's own pipeline objects on local folders."""

from __future__ import annotations

import io
import os
import shutil
from contextlib import redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from c2c_adf.config import adf_config
from c2c_adf.factory import build_factory
from c2c_adf.local import (
    Bindings,
    JobRun,
    LocalExecutionError,
    LocalFactory,
    PipelineRun,
    Scope,
    resolve,
)

CFG = adf_config("dev")


class Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.jobs: list[JobRun] = []
        self.web: list[tuple[str, str, Any]] = []
        self.fail_on = fail_on

    def job(self, job: JobRun) -> None:
        self.jobs.append(job)
        if self.fail_on in job.tasks:
            raise RuntimeError(f"{self.fail_on} failed")

    def call(self, method: str, url: str, body: Any) -> dict[str, Any]:
        self.web.append((method, url, body))
        return {"value": "https://hooks.example/c2c"}


def local(tmp_path: Path, recorder: Recorder) -> LocalFactory:
    source = tmp_path / "source" / CFG.source_folder
    source.mkdir(parents=True)
    for name in ("a.csv", "b.CSV", "notes.txt", "deep/er/c.csv.gz", "users[1].csv"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("h1,h2\n1,2\n")
    old = source / "old.csv"
    old.write_text("h1,h2\n")
    os.utime(old, (0, 86400))  # 1970-01-02: outside a recent window
    bindings = Bindings(tmp_path / "source", tmp_path / "lake", recorder.job, recorder.call)
    return LocalFactory(build_factory(CFG), CFG, bindings)


def test_orchestrate_copies_every_new_file_at_any_depth_and_runs_the_job_tasks(
    tmp_path: Path,
) -> None:
    """No file of the window is filtered out by name or depth: bronze accounts for each."""
    recorder = Recorder()
    run = local(tmp_path, recorder).run("PL_Orchestrate", {"windowStart": "2000-01-01T00:00:00Z"})
    assert run.status == "Succeeded"
    landing = tmp_path / "lake" / "landing" / "runs" / run.run_id
    copied = sorted(str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file())
    assert copied == ["a.csv", "b.CSV", "deep/er/c.csv.gz", "notes.txt", "users[1].csv"]
    source = tmp_path / "source" / CFG.source_folder
    assert all((landing / n).read_bytes() == (source / n).read_bytes() for n in copied)
    (job,) = recorder.jobs
    assert job.tasks == ("c2c-bronze", "c2c-silver", "c2c-gold")
    assert job.input == landing and job.run_id == run.run_id
    # What Databricks would receive: the landing volume path, the catalog, this run's id.
    assert job.parameters["input"] == f"{CFG.landing_volume}/runs/{run.run_id}"
    assert job.parameters["run_id"] == run.run_id
    assert {n: a.status for n, a in run.activities.items()} == {
        "EP_Ingest": "Succeeded",
        "EP_Transform": "Succeeded",
        # Not run on this machine (no Databricks to check gold in, no Power BI), marked
        # Succeeded with a log line.
        "WEB_GoldExists": "Succeeded",
        "IF_GoldBuilt": "Succeeded",
        "WEB_GetWebhookUrl": "Skipped",
        "WEB_NotifyFailure": "Skipped",
        "FAIL_Run": "Skipped",
    }
    assert recorder.web == []


def test_a_failed_job_notifies_through_the_webhook_and_fails_the_run(tmp_path: Path) -> None:
    recorder = Recorder(fail_on="c2c-silver")
    run = local(tmp_path, recorder).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert run.activities["EP_Transform"].status == "Failed"
    assert run.activities["FAIL_Run"].status == "Failed"
    assert [m for m, _, _ in recorder.web] == ["GET", "POST"]
    assert recorder.web[0][1].startswith(CFG.key_vault_url)
    assert recorder.web[1][1] == "https://hooks.example/c2c" and run.run_id in recorder.web[1][2]


def test_a_failed_ingest_skips_the_transform_and_notifies(tmp_path: Path) -> None:
    recorder = Recorder()
    factory = local(tmp_path, recorder)
    (tmp_path / "source" / CFG.source_folder).rename(tmp_path / "moved")  # nothing to list
    run = factory.run("PL_Orchestrate")
    assert run.activities["EP_Ingest"].status == "Failed"
    assert run.activities["EP_Transform"].status == "Skipped"
    assert run.status == "Failed" and recorder.jobs == [] and len(recorder.web) == 2


def test_the_event_triggers_transform_runs_on_a_landing_folder(tmp_path: Path) -> None:
    recorder = Recorder()
    run = local(tmp_path, recorder).run("PL_Transform", {"inputFolder": "drops/partner-x"})
    assert run.status == "Succeeded"
    assert recorder.jobs[0].input == tmp_path / "lake" / "landing" / "drops" / "partner-x"


def test_missing_parameters_and_unsupported_expressions_are_errors(tmp_path: Path) -> None:
    factory = local(tmp_path, Recorder())
    with pytest.raises(LocalExecutionError, match="inputFolder"):
        factory.run("PL_Transform")
    scope = Scope(PipelineRun("PL_X", "r1", {}), CFG.factory_name)
    with pytest.raises(LocalExecutionError, match="guid"):
        resolve("@concat('x', guid())", scope)
    assert resolve("run @{pipeline().RunId} of @{pipeline().Pipeline}", scope) == "run r1 of PL_X"


@dataclass(frozen=True)
class MadeRun:
    """What ``make run`` did once on the generator's sample: its exit code and printed
    summary, the source root (the export folder is ``CFG.source_folder`` in it) and its lake."""

    code: int
    out: str
    source_root: Path
    lake: Path


@pytest.fixture(scope="module")
def made_run(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> MadeRun:
    """``make run``'s own path (``c2c_adf.local.main``): PL_Orchestrate on the sample, the ADF
    copy then bronze, silver and gold on the test run's session (the command takes the one
    already started), then the summary. One run for the tests that assert on what it printed,
    on the lake it built, and on a rerun's tables against it."""
    from c2c_adf import local as local_module
    from c2c_etl import generator

    root = tmp_path_factory.mktemp("make-run")
    source = root / "source" / CFG.source_folder
    generator.main(["--output", str(source), "--users-2020", "300", "--users-2024", "100"])
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = local_module.main(["--input", str(source), "--lake", str(root / "lake")])
    return MadeRun(code, printed.getvalue(), root / "source", root / "lake")


def test_orchestrate_runs_the_etl_jobs_on_local_spark(spark: Any, made_run: MadeRun) -> None:
    """The whole chain on the generator's sample: ADF copy, then bronze, silver, gold, every
    bronze row carrying the id of the Data Factory run whose landing folder it came from."""
    assert made_run.code == 0, made_run.out
    lake = made_run.lake
    (landing,) = (lake / "landing" / "runs").iterdir()
    bronze = spark.read.format("delta").load(str(lake / "bronze" / "users_2020"))
    assert [r[0] for r in bronze.select("_run_id").distinct().collect()] == [landing.name]
    assert (lake / "gold").is_dir() and (lake / "silver").is_dir()


def test_the_local_command_prints_the_pipeline_summary(made_run: MadeRun) -> None:
    """What ``make run`` prints: every activity of PL_Orchestrate, then the ETL summary."""
    assert made_run.code == 0, made_run.out
    assert "PL_Orchestrate EP_Transform: Succeeded" in made_run.out
    assert "Time per step:" in made_run.out and "(local)" in made_run.out


def _comparable(spark: Any, lake: Path) -> dict[str, list[str]]:
    """The rows of every silver and gold table, each as a JSON line and sorted, without what
    differs between any two runs (run ids and timestamps): one Spark job for the whole lake,
    where a collect per table costs a job each."""
    from functools import reduce

    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    frames = {}
    for layer in ("silver", "gold"):
        for path in sorted((lake / layer).iterdir()):
            if not (path / "_delta_log").is_dir():
                continue
            frame = spark.read.format("delta").load(str(path))
            kept = [
                f.name
                for f in frame.schema.fields
                if not isinstance(f.dataType, TimestampType) and "run" not in f.name.lower()
            ]
            name = f"{layer}.{path.name}"
            row = F.to_json(F.struct(*kept), {"ignoreNullFields": "false"})
            frames[name] = frame.select(F.lit(name).alias("table"), row.alias("row"))
    tables: dict[str, list[str]] = {name: [] for name in frames}
    for table, row in reduce(DataFrame.unionAll, frames.values()).collect():
        tables[table].append(row)
    return {name: sorted(rows) for name, rows in tables.items()}


def test_a_run_failed_in_transform_and_rerun_gives_the_tables_of_a_clean_run(
    spark: Any, tmp_path: Path, made_run: MadeRun
) -> None:
    """The rerun c2c-ops starts (the failed run's parameters, its landing folder) reads what the
    failed run ingested, even after the source folder has changed, and ends with the tables of
    a clean run of the same export (``make run``'s, on the same files)."""
    from c2c_adf.local import etl_job_runner
    from c2c_ops.pipelines import rerun_parameters

    source = tmp_path / "source" / CFG.source_folder
    shutil.copytree(made_run.source_root, tmp_path / "source")
    lake = tmp_path / "lake"
    real = etl_job_runner(lake, spark)
    calls: list[JobRun] = []

    def failing_once(job: JobRun) -> None:
        calls.append(job)
        if len(calls) == 1:  # bronze ran, then the cluster was lost
            real(replace(job, tasks=job.tasks[:1]))
            raise RuntimeError("c2c-silver: cluster lost")
        real(job)

    web = Recorder().call
    failed = LocalFactory(
        build_factory(CFG), CFG, Bindings(tmp_path / "source", lake, failing_once, web)
    ).run("PL_Orchestrate")
    assert failed.status == "Failed" and failed.activities["EP_Transform"].status == "Failed"
    # The export moves on: the failed run's files are no longer in the source folder.
    (tmp_path / "source").rename(tmp_path / "original")
    source.mkdir(parents=True)

    rerun = LocalFactory(
        build_factory(CFG), CFG, Bindings(tmp_path / "source", lake, failing_once, web)
    ).run("PL_Orchestrate", rerun_parameters(failed.parameters, failed.run_id))
    assert rerun.status == "Succeeded", rerun.activities
    assert calls[1].input == calls[0].input  # the failed run's landing folder

    assert made_run.code == 0, made_run.out
    rerun_tables, clean_tables = _comparable(spark, lake), _comparable(spark, made_run.lake)
    assert "silver.users" in clean_tables and "gold.agg_user_counts" in clean_tables
    assert rerun_tables.keys() == clean_tables.keys()
    for name, rows in clean_tables.items():
        assert rerun_tables[name] == rows, name
    assert len(clean_tables["silver.users"]) > 0


def test_the_lock_message_names_what_make_run_accepts_and_make_run_passes_it_on() -> None:
    import subprocess

    from c2c_etl.runlock import LakeLocked

    message = str(LakeLocked("/lake", "run r1, pid 1 on h, since t"))
    assert "make run WAIT_FOR_LOCK=SECONDS" in message
    repo = Path(__file__).resolve().parents[2]
    planned = subprocess.run(
        ["make", "-n", "run", "INPUT=/in", "LAKE=/lake", "WAIT_FOR_LOCK=30"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "c2c_adf.local --input /in --lake /lake --wait-for-lock 30" in planned
