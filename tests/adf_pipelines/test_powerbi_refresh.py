"""PL_Orchestrate refreshes the Power BI model after gold is built, and only then.

The documents are the ones ADF receives. Their behaviour runs in the local executor (the same
JSON, its expressions evaluated), with Power BI's REST API and the Databricks workspace's Unity
Catalog API replaced by recorders of the calls the factory would send: ADF, Databricks and Power
BI cannot run here, so what is covered is the pipeline's logic and the requests it builds, not
the services' answers.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from c2c_adf.config import adf_config
from c2c_adf.factory import DATABRICKS_RESOURCE, POWER_BI_RESOURCE, build_factory
from c2c_adf.local import Bindings, JobRun, LocalFactory
from c2c_reporting.powerbi import PROJECT
from tests.adf_pipelines.conftest import activities

WORKSPACE = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CFG = adf_config("dev").with_deployment(fabric_workspace_id=WORKSPACE)
GROUP = f"https://api.powerbi.com/v1.0/myorg/groups/{WORKSPACE}"
ENVS = ("dev", "test", "prod")
ERROR = '{"errorCode":"ModelRefresh_ShortMessage_ProcessingError"}'
EXISTS = (
    f"{CFG.workspace_url}/api/2.1/unity-catalog/tables/{CFG.catalog}.gold.bi_user_segments/exists"
)


class Cloud:
    """The job and the web calls of a run, in the order they happen."""

    def __init__(
        self,
        models: list[dict[str, str]],
        *,
        fail_job: bool = False,
        fail: str = "",
        ends: tuple[str, ...] = ("Unknown", "Unknown", "Completed"),
        gold: bool = True,
        refuse_check: bool = False,
    ) -> None:
        self.models = models
        self.gold = gold  # whether gold's first view exists in Unity Catalog
        self.refuse_check = refuse_check
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

    def databricks(self, method: str, url: str, body: Any) -> dict[str, Any]:
        self.events.append((f"databricks {method}", url, body))
        if self.refuse_check:
            raise RuntimeError("403 Forbidden: the identity may not see the catalog")
        return {"table_exists": self.gold}

    def web(self, method: str, url: str, body: Any) -> dict[str, Any]:
        self.events.append((f"web {method}", url, body))
        return {"value": "https://hooks.example/c2c"}

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.events]


def factory(
    tmp_path: Path, cloud: Cloud, *, power_bi: bool = True, databricks: bool = True
) -> LocalFactory:
    source = tmp_path / "source" / CFG.source_folder
    source.mkdir(parents=True)
    (source / "users.csv").write_text("h1,h2\n1,2\n")
    bindings = Bindings(
        tmp_path / "source",
        tmp_path / "lake",
        cloud.job,
        cloud.web,
        cloud.power_bi if power_bi else None,
        cloud.databricks if databricks else None,
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
    """Never before gold exists: only a transform that succeeded in this run leads to the
    check, and only a view that exists to the refresh."""
    acts = {
        a["name"]: a for a in docs[env]["pipeline"]["PL_Orchestrate"]["properties"]["activities"]
    }
    assert list(acts) == [
        "EP_Ingest",
        "EP_Transform",
        "WEB_GoldExists",
        "IF_GoldBuilt",
        "WEB_GetWebhookUrl",
        "WEB_NotifyFailure",
        "FAIL_Run",
    ]
    assert acts["WEB_GoldExists"]["dependsOn"] == [
        {"activity": "EP_Transform", "dependencyConditions": ["Succeeded"]}
    ]
    gate = acts["IF_GoldBuilt"]
    assert gate["dependsOn"] == [
        {"activity": "WEB_GoldExists", "dependencyConditions": ["Succeeded"]}
    ]
    (refresh,) = gate["typeProperties"]["ifTrueActivities"]
    assert refresh["name"] == "EP_RefreshModel" and refresh["type"] == "ExecutePipeline"
    assert refresh["typeProperties"]["pipeline"]["referenceName"] == "PL_RefreshModel"
    assert refresh["typeProperties"]["waitOnCompletion"] is True  # its failure is the run's
    # ADF allows no IfCondition, Until, ForEach or Switch inside an IfCondition.
    for branch in ("ifTrueActivities", "ifFalseActivities"):
        for inner in gate["typeProperties"][branch]:
            assert inner["type"] not in {"IfCondition", "Until", "ForEach", "Switch"}
    (why,) = gate["typeProperties"]["ifFalseActivities"]
    assert why["name"] == "WAIT_NoGoldYet_NoRefresh"
    # A failed check, like a failed refresh, is caught by the notification.
    assert acts["WEB_GetWebhookUrl"]["dependsOn"] == [
        {"activity": "IF_GoldBuilt", "dependencyConditions": ["Failed", "Skipped"]}
    ]
    assert "PL_RefreshModel" in acts["FAIL_Run"]["typeProperties"]["message"]


@pytest.mark.parametrize("env", ENVS)
def test_gold_is_checked_in_the_envs_catalog_as_the_factorys_identity_through_the_vnet(
    env: str, docs: dict[str, Any]
) -> None:
    cfg = adf_config(env)
    acts = {
        a["name"]: a for a in docs[env]["pipeline"]["PL_Orchestrate"]["properties"]["activities"]
    }
    check = acts["WEB_GoldExists"]["typeProperties"]
    assert check["method"] == "GET"
    assert check["url"] == (
        f"{cfg.workspace_url}/api/2.1/unity-catalog/tables/{cfg.catalog}.gold.bi_user_segments/exists"
    )
    assert check["authentication"] == {"type": "MSI", "resource": DATABRICKS_RESOURCE}
    # The same path to the workspace as the job activity's linked service.
    databricks = docs[env]["linkedService"]["LS_Databricks"]["properties"]
    assert databricks["typeProperties"]["authentication"] == "MSI"
    assert check["connectVia"] == databricks["connectVia"]


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
    assert cloud.kinds() == [
        "job",
        "databricks GET",
        "powerbi GET",
        "powerbi POST",
        *["powerbi GET"] * 3,
    ]
    assert cloud.events[1] == ("databricks GET", EXISTS, None)
    assert run.activities["EP_RefreshModel"].status == "Succeeded"
    assert "WAIT_NoGoldYet_NoRefresh" not in run.activities
    assert run.activities["WEB_GetWebhookUrl"].status == "Skipped"


def test_a_first_delivery_that_built_no_gold_refreshes_nothing_and_succeeds(
    tmp_path: Path,
) -> None:
    """The job succeeded on a delivery with nothing usable: gold's views were never created,
    so Power BI is not called, and the run says why without failing."""
    cloud = Cloud(MODELS, gold=False)
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Succeeded"
    assert cloud.kinds() == ["job", "databricks GET"]
    assert run.activities["WAIT_NoGoldYet_NoRefresh"].status == "Succeeded"
    assert "EP_RefreshModel" not in run.activities and run.children[-1].pipeline != (
        "PL_RefreshModel"
    )
    assert run.activities["WEB_GetWebhookUrl"].status == "Skipped"


def test_a_refused_gold_check_refreshes_nothing_notifies_and_fails(tmp_path: Path) -> None:
    cloud = Cloud(MODELS, refuse_check=True)
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert run.activities["WEB_GoldExists"].status == "Failed"
    assert "403 Forbidden" in run.activities["WEB_GoldExists"].error
    assert run.activities["IF_GoldBuilt"].status == "Skipped"
    assert cloud.kinds() == ["job", "databricks GET", "web GET", "web POST"]
    assert run.activities["FAIL_Run"].status == "Failed"
    assert "the gold check" in run.activities["FAIL_Run"].error


def test_a_failed_job_checks_and_refreshes_nothing_and_notifies(tmp_path: Path) -> None:
    cloud = Cloud(MODELS, fail_job=True)
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert run.activities["WEB_GoldExists"].status == "Skipped"
    assert run.activities["IF_GoldBuilt"].status == "Skipped"
    assert cloud.kinds() == ["job", "web GET", "web POST"]


@pytest.mark.parametrize("refused", ["list", "queue", "read"])
def test_a_refused_power_bi_call_notifies_and_fails_the_run(tmp_path: Path, refused: str) -> None:
    cloud = Cloud(MODELS, fail=refused)
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert run.activities["EP_RefreshModel"].status == "Failed"
    assert run.activities["IF_GoldBuilt"].status == "Failed"
    assert cloud.kinds()[-2:] == ["web GET", "web POST"]
    assert run.activities["FAIL_Run"].status == "Failed"
    assert "PL_RefreshModel" in run.activities["FAIL_Run"].error


def test_a_missing_model_notifies_and_fails_the_run(tmp_path: Path) -> None:
    cloud = Cloud([])
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert cloud.kinds() == ["job", "databricks GET", "powerbi GET", "web GET", "web POST"]


def test_a_failed_refresh_notifies_and_fails_the_run(tmp_path: Path) -> None:
    cloud = Cloud(MODELS, ends=("Failed",))
    run = factory(tmp_path, cloud).run("PL_Orchestrate")
    assert run.status == "Failed"
    assert cloud.kinds()[-2:] == ["web GET", "web POST"]
    assert run.activities["FAIL_Run"].status == "Failed"


def test_make_run_skips_the_gold_check_and_power_bi_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No Databricks and no Power BI on this machine (make run): neither the check nor the
    refresh is run, one line says so, and the run is the ETL's outcome."""
    cloud = Cloud(MODELS)
    with caplog.at_level(logging.INFO, logger="c2c_adf.local"):
        run = factory(tmp_path, cloud, power_bi=False, databricks=False).run("PL_Orchestrate")
    assert run.status == "Succeeded"
    assert cloud.kinds() == ["job"]
    for skipped in ("WEB_GoldExists", "IF_GoldBuilt"):
        assert run.activities[skipped].status == "Succeeded"
        assert "no Databricks" in run.activities[skipped].not_run
    assert run.children[-1].pipeline == "PL_Transform"  # PL_RefreshModel was not started
    lines = [r.getMessage() for r in caplog.records if "not run" in r.getMessage()]
    assert lines == [
        f"WEB_GoldExists and IF_GoldBuilt not run: {run.activities['IF_GoldBuilt'].not_run}"
    ]


def test_with_gold_checked_but_no_power_bi_the_refresh_is_skipped_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cloud = Cloud(MODELS)
    with caplog.at_level(logging.INFO, logger="c2c_adf.local"):
        run = factory(tmp_path, cloud, power_bi=False).run("PL_Orchestrate")
    assert run.status == "Succeeded"
    assert cloud.kinds() == ["job", "databricks GET"]
    (child,) = [c for c in run.children if c.pipeline == "PL_RefreshModel"]
    assert child.activities == {} and "no Power BI" in child.not_run
    lines = [r.getMessage() for r in caplog.records if "not run" in r.getMessage()]
    assert lines == [f"PL_RefreshModel not run: {child.not_run}"]
