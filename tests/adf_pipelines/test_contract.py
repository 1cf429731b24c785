"""Contract: every DatabricksJob activity runs the job infra defines, whose tasks call existing
etl entry points with parameters those entry points accept.

The workspace stack is synthesized offline (CDK Terrain, no Azure) and read as Terraform JSON.
"""

from __future__ import annotations

import json
import os
import re
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import pytest

from c2c_adf.config import adf_config
from c2c_etl.entrypoints import COMMON_PARAMETERS, ENTRY_POINTS
from c2c_etl.runner import build_parser
from tests.adf_pipelines.conftest import activities

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ENV = "dev"


@pytest.fixture(scope="module")
def infra_job(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The ETL job resource of the synthesized workspace stack."""
    from c2c_infra.main import build_app

    outdir = tmp_path_factory.mktemp("cdktn")
    build_app([ENV], outdir=str(outdir), offline=True).synth()
    stack = json.loads(Path(outdir, "stacks", f"c2c-{ENV}-workspace", "cdk.tf.json").read_text())
    jobs = stack["resource"]["databricks_job"]
    assert len(jobs) == 1
    return next(iter(jobs.values()))


@pytest.fixture(scope="module")
def databricks_activities(docs: dict[str, Any]) -> list[dict[str, Any]]:
    found = [
        a
        for pipeline in docs[ENV]["pipeline"].values()
        for a in activities(pipeline)
        if a["type"] == "DatabricksJob"
    ]
    assert found
    return found


def test_activity_targets_the_job_infra_defines(
    infra_job: dict[str, Any], databricks_activities: list[dict[str, Any]]
) -> None:
    for activity in databricks_activities:
        props = {p["name"]: p["value"] for p in activity["userProperties"]}
        assert props["job"] == infra_job["name"] == adf_config(ENV).job_name


def test_activity_passes_exactly_the_jobs_parameters(
    infra_job: dict[str, Any], databricks_activities: list[dict[str, Any]]
) -> None:
    job_parameters = {p["name"] for p in infra_job["parameter"]}
    for activity in databricks_activities:
        assert set(activity["typeProperties"]["jobParameters"]) == job_parameters


def test_infra_and_adf_derive_the_same_parameters_from_etl() -> None:
    from c2c_adf.factory import JOB_FLAGS, job_parameter
    from c2c_infra.workspace import JOB_PARAMETERS, parameter_name

    assert JOB_FLAGS == JOB_PARAMETERS
    assert set(JOB_FLAGS) <= set(COMMON_PARAMETERS)
    assert [job_parameter(f) for f in JOB_FLAGS] == [parameter_name(f) for f in JOB_PARAMETERS]


def test_job_tasks_call_existing_entry_points_that_accept_adfs_values(
    infra_job: dict[str, Any], databricks_activities: list[dict[str, Any]]
) -> None:
    installed = {
        ep.name for ep in distribution("c2c-etl").entry_points.select(group="console_scripts")
    }
    entry_points = {e.name: e for e in ENTRY_POINTS}
    for activity in databricks_activities:
        # What ADF would pass, with its expressions replaced by a value of the right shape.
        values = {
            name: (f"/Volumes/c2c_{ENV}/ops/landing/runs/r1" if name == "input" else "run-1")
            if str(value).startswith("@")
            else value
            for name, value in activity["typeProperties"]["jobParameters"].items()
        }
        for task in infra_job["task"]:
            wheel = task["python_wheel_task"]
            assert wheel["entry_point"] in installed and wheel["entry_point"] in entry_points
            arguments = [substitute(a, values) for a in wheel["parameters"]]
            args = build_parser(entry_points[wheel["entry_point"]].description).parse_args(
                arguments
            )
            assert (args.env, args.catalog, args.run_id) == (ENV, f"c2c_{ENV}", "run-1")
            assert args.input.startswith(f"/Volumes/c2c_{ENV}/ops/landing/")


def substitute(argument: str, values: dict[str, Any]) -> str:
    """A task argument with ``{{job.parameters.<name>}}`` replaced by the value ADF passes."""
    return re.sub(r"\{\{job\.parameters\.(\w+)\}\}", lambda m: str(values[m.group(1)]), argument)


def _seconds(timespan: str) -> int:
    days, clock = timespan.split(".")
    hours, minutes, seconds = (int(x) for x in clock.split(":"))
    return int(days) * 86400 + hours * 3600 + minutes * 60 + seconds


def test_the_job_activity_waits_for_the_jobs_longest_run_and_one_queued_ahead(
    infra_job: dict[str, Any], databricks_activities: list[dict[str, Any]]
) -> None:
    """Each task running out its timeout on every try, in sequence, for this run and for one run
    ahead of it in the job's queue; and no activity retry, which would start a second job run."""
    assert infra_job["max_concurrent_runs"] == 1 and infra_job["queue"] == {"enabled": True}
    longest = sum(t["timeout_seconds"] * (t["max_retries"] + 1) for t in infra_job["task"])
    for activity in databricks_activities:
        assert activity["policy"]["retry"] == 0
        timeout = _seconds(activity["policy"]["timeout"])
        assert 2 * longest <= timeout <= 7 * 86400  # seven days: ADF's limit for an activity
