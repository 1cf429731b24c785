"""PL_Orchestrate refreshes the Power BI model after gold is built, and only then.

The documents are the ones ADF receives. Their behaviour runs in the local executor (the same
JSON, its expressions evaluated), with Power BI's REST API replaced by a recorder of the calls
the factory would send: ADF and Power BI cannot run here, so what is covered is the pipeline's
logic and the requests it builds, not Power BI's answers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from c2c_adf.config import adf_config
from c2c_adf.factory import POWER_BI_RESOURCE, build_factory
from c2c_adf.local import Bindings, JobRun, LocalFactory
from c2c_reporting.powerbi import PROJECT
from tests.adf_pipelines.conftest import activities

WORKSPACE = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CFG = adf_config("dev").with_deployment(fabric_workspace_id=WORKSPACE)
GROUP = f"https://api.powerbi.com/v1.0/myorg/groups/{WORKSPACE}"
ENVS = ("dev", "test", "prod")
ERROR = '{"errorCode":"ModelRefresh_ShortMessage_ProcessingError"}'


class Cloud:
    """The job and the web calls of a run, in the order they happen."""

    def __init__(
        self,
        models: list[dict[str, str]],
        *,
        fail_job: bool = False,
        fail: str = "",
        ends: tuple[str, ...] = ("Unknown", "Unknown", "Completed"),
    ) -> None:
        self.models = models
        self.fail_job = fail_job
        self.fail = fail  # "list" or "queue": Power BI answers that call with an error
        # The statuses the model's newest refresh shows, one per read of its history.
        self.ends = list(ends)
        self.events: list[tuple[str, str, Any]] = []

    def job(self, job: JobRun) -> None:
        self.events.append(("job", job.run_id, None))
        if self.fail_job:
            raise RuntimeError("c2c-gold failed")

    def power_bi(self, method: str, url: str, body: Any) -> dict[str, Any]:
        self.events.append((f"powerbi {method}", url, body))
        call = "queue" if method == "POST" else "list" if url.endswith("/datasets") else "read"
        if call == self.fail:
            raise RuntimeError("403 Forbidden: the identity is not a member of the workspace")
        if call == "list":
            return {"value": self.models}
        if call == "read":
            refresh = {"requestId": "r-1", "status": self.ends.pop(0)}
            if refresh["status"] == "Failed":  # as Power BI: only a failed refresh has one
                refresh["serviceExceptionJson"] = ERROR
            return {"value": [refresh]}
        return {}

    def web(self, method: str, url: str, body: Any) -> dict[str, Any]:
        self.events.append((f"web {method}", url, body))
        return {"value": "https://hooks.example/c2c"}

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]


def factory(tmp_path: Path, cloud: Cloud, *, power_bi: bool = True) -> LocalFactory:
    source = tmp_path / "source" / CFG.source_folder
    source.mkdir(parents=True)
    (source / "users.csv").write_text("h1,h2\n1,2\n")
    bindings = Bindings(
        tmp_path / "source",
        tmp_path / "lake",
        cloud.job,
        cloud.web,
        cloud.power_bi if power_bi else None,
    )
    return LocalFactory(build_factory(CFG), CFG, bindings)


MODELS = [
    {"id": "m-other", "name": "Sales"},
    {"id": "m-c2c", "name": PROJECT},
    {"id": "m-copy", "name": f"{PROJECT} (copy)"},
]


@pytest.mark.parametrize("env", ENVS)
def test_the_refresh_follows_a_succeeded_transform_and_its_failure_is_caught(
    env: str, docs: dict[str, Any]
) -> None:
    """Never before gold exists: only a transform that succeeded in this run leads to it."""
    acts = {
        a["name"]: a for a in docs[env]["pipeline"]["PL_Orchestrate"]["properties"]["activities"]
    }
    assert list(acts) == [
        "EP_Ingest",
        "EP_Transform",
        "EP_RefreshModel",
        "WEB_GetWebhookUrl",
        "WEB_NotifyFailure",
        "FAIL_Run",
    ]
    refresh = acts["EP_RefreshModel"]
    assert refresh["dependsOn"] == [
        {"activity": "EP_Transform", "dependencyConditions": ["Succeeded"]}
    ]
    assert refresh["typeProperties"]["pipeline"]["referenceName"] == "PL_RefreshModel"
    assert refresh["typeProperties"]["waitOnCompletion"] is True  # its failure is the run's
    assert acts["WEB_GetWebhookUrl"]["dependsOn"] == [
        {"activity": "EP_RefreshModel", "dependencyConditions": ["Failed", "Skipped"]}
    ]
    assert "PL_RefreshModel" in acts["FAIL_Run"]["typeProperties"]["message"]


@pytest.mark.parametrize("env", ENVS)
def test_power_bi_is_called_as_the_factorys_identity_on_the_azure_runtime(
    env: str, docs: dict[str, Any]
) -> None:
    calls = [
        a
        for a in activities(docs[env]["pipeline"]["PL_RefreshModel"])
        if a["type"] == "WebActivity"
    ]
    assert [a["name"] for a in calls] == ["WEB_ListModels", "WEB_RefreshModel", "WEB_RefreshStatus"]
    for call in calls:
        props = call["typeProperties"]
        assert props["authentication"] == {"type": "MSI", "resource": POWER_BI_RESOURCE}
        # api.powerbi.com is public SaaS: the default Azure runtime, not the managed VNet's.
        assert "connectVia" not in props
        assert props["url"]["value"].startswith("@concat('https://api.powerbi.com/v1.0/myorg/")
    refresh = calls[1]["typeProperties"]
    assert refresh["method"] == "POST" and refresh["turnOffAsync"] is True
    assert refresh["body"] == {"notifyOption": "NoNotification"}
    # The refresh is followed until it ends, for a bounded time (then the run fails).
    (until,) = [
        a for a in activities(docs[env]["pipeline"]["PL_RefreshModel"]) if a["type"] == "Until"
    ]
    assert until["typeProperties"]["timeout"] == adf_config(env).refresh_timeout


def test_the_model_found_by_name_is_refreshed_in_the_environments_workspace(
    tmp_path: Path,
) -> None:
    cloud = Cloud(MODELS)
    run = factory(tmp_path, cloud).run("PL_RefreshModel")
    assert run.status == "Succeeded"
    history = ("powerbi GET", f"{GROUP}/datasets/m-c2c/refreshes?$top=1", None)
    assert cloud.events == [
        ("powerbi GET", f"{GROUP}/datasets", None),
        ("powerbi POST", f"{GROUP}/datasets/m-c2c/refreshes", {"notifyOption": "NoNotification"}),
        history,  # running
        history,  # running
        history,  # completed
    ]


def test_a_refresh_that_fails_inside_power_bi_fails_with_its_error(tmp_path: Path) -> None:
    cloud = Cloud(MODELS, ends=("Unknown", "Failed"))
    run = factory(tmp_path, cloud).run("PL_RefreshModel")
    assert run.status == "Failed"
    error = run.activities["FAIL_RefreshFailed"].error
    assert f"The refresh of {PROJECT} ended Failed" in error
    assert "ModelRefresh_ShortMessage_ProcessingError" in error


@pytest.mark.parametrize(
    ("models", "found"),
    [
        ([m for m in MODELS if m["name"] != PROJECT], 0),
        ([*MODELS, {"id": "m-twin", "name": PROJECT}], 2),
    ],
)
def test_no_model_or_two_of_that_name_fail_with_what_to_do(
    tmp_path: Path, models: list[dict[str, str]], found: int
) -> None:
    cloud = Cloud(models)
    run = factory(tmp_path, cloud).run("PL_RefreshModel")
    assert run.status == "Failed"
    assert cloud.kinds() == ["powerbi GET"]  # nothing refreshed
    error = run.activities["FAIL_ModelNotFound"].error
    assert f"{found} semantic models named {PROJECT} in Fabric workspace {WORKSPACE}" in error
    assert "Publish the model" in error


def test_the_run_refreshes_power_bi_after_the_job_built_gold(tmp_path: Path) -> None:
    cloud = Cloud(MODELS)
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Succeeded"
    assert cloud.kinds() == ["job", "powerbi GET", "powerbi POST", *["powerbi GET"] * 3]
    assert run.activities["WEB_GetWebhookUrl"].status == "Skipped"


def test_a_failed_job_refreshes_nothing_and_notifies(tmp_path: Path) -> None:
    cloud = Cloud(MODELS, fail_job=True)
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert run.activities["EP_RefreshModel"].status == "Skipped"
    assert cloud.kinds() == ["job", "web GET", "web POST"]


@pytest.mark.parametrize("refused", ["list", "queue", "read"])
def test_a_refused_power_bi_call_notifies_and_fails_the_run(tmp_path: Path, refused: str) -> None:
    cloud = Cloud(MODELS, fail=refused)
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert run.activities["EP_RefreshModel"].status == "Failed"
    assert cloud.kinds()[-2:] == ["web GET", "web POST"]
    assert run.activities["FAIL_Run"].status == "Failed"
    assert "PL_RefreshModel" in run.activities["FAIL_Run"].error


def test_a_missing_model_notifies_and_fails_the_run(tmp_path: Path) -> None:
    cloud = Cloud([])
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert cloud.kinds() == ["job", "powerbi GET", "web GET", "web POST"]


def test_a_failed_refresh_notifies_and_fails_the_run(tmp_path: Path) -> None:
    cloud = Cloud(MODELS, ends=("Failed",))
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert cloud.kinds()[-2:] == ["web GET", "web POST"]
    assert run.activities["FAIL_Run"].status == "Failed"


def test_make_run_skips_power_bi_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No Power BI on this machine: the refresh is not run, the run is the ETL's outcome."""
    cloud = Cloud(MODELS)
    with caplog.at_level(logging.INFO, logger="c2c_adf.local"):
        run = factory(tmp_path, cloud, power_bi=False).run("PL_Orchestrate")
    assert run.status == "Succeeded"
    assert cloud.kinds() == ["job"]
    assert run.activities["EP_RefreshModel"].status == "Succeeded"
    (child,) = [c for c in run.children if c.pipeline == "PL_RefreshModel"]
    assert child.activities == {} and "no Power BI" in child.not_run
    lines = [r.getMessage() for r in caplog.records if "PL_RefreshModel" in r.getMessage()]
    assert lines == [f"PL_RefreshModel not run: {child.not_run}"]
