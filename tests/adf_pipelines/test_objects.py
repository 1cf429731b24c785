"""The serialized objects: ADF types, references, expressions, names, retries and timeouts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from c2c_adf import build
from c2c_adf.artifacts import references
from c2c_adf.config import FACTORY_RUNTIME_NAME, PLACEHOLDER_WORKSPACE_URL
from c2c_adf.expressions import ExpressionError, check, functions, parse_expression, strings
from tests.adf_pipelines.conftest import activities

# ADF's type of every object and activity, written out by hand from the ADF JSON reference
# (not read from the SDK: azure-mgmt-datafactory 10.0.0 serializes wrong types, see
# docs/data_factory.md).
EXPECTED_TYPES = {
    "linkedService": {
        "LS_KeyVault": "AzureKeyVault",
        "LS_Lake": "AzureBlobFS",
        "LS_Source": "AzureBlobStorage",
        "LS_Databricks": "AzureDatabricks",
    },
    "dataset": {
        "DS_Source_Folder": "Binary",
        "DS_Landing_Folder": "Binary",
    },
    "trigger": {"TR_Daily": "TumblingWindowTrigger", "TR_LandingDrops": "BlobEventsTrigger"},
}
EXPECTED_ACTIVITY_TYPES = {
    "CP_SourceToLanding": "Copy",
    "DBJ_RunEtl": "DatabricksJob",
    "EP_Ingest": "ExecutePipeline",
    "EP_Transform": "ExecutePipeline",
    "WEB_GoldExists": "WebActivity",
    "IF_GoldBuilt": "IfCondition",
    "EP_RefreshModel": "ExecutePipeline",
    "WAIT_NoGoldYet_NoRefresh": "Wait",
    "WEB_GetWebhookUrl": "WebActivity",
    "WEB_NotifyFailure": "WebActivity",
    "FAIL_Run": "Fail",
    "WEB_ListModels": "WebActivity",
    "FLT_Model": "Filter",
    "IF_OneModel": "IfCondition",
    "FAIL_ModelNotFound": "Fail",
    "WEB_RefreshModel": "WebActivity",
    "UNTIL_RefreshEnds": "Until",
    "WAIT_Refreshing": "Wait",
    "WEB_RefreshStatus": "WebActivity",
    "SET_RefreshStatus": "SetVariable",
    "SET_RefreshError": "SetVariable",
    "IF_RefreshCompleted": "IfCondition",
    "FAIL_RefreshFailed": "Fail",
}
# Control activities have no retry policy in ADF; every other activity must have one.
CONTROL_TYPES = {
    "Filter",
    "ForEach",
    "ExecutePipeline",
    "Fail",
    "IfCondition",
    "Until",
    "Wait",
    "SetVariable",
}
PREFIXES = {"linkedService": "LS_", "dataset": "DS_", "pipeline": "PL_", "trigger": "TR_"}
ENVS = ("dev", "test", "prod")


@pytest.mark.parametrize("env", ENVS)
def test_every_object_has_adfs_type(env: str, docs: dict[str, Any]) -> None:
    for kind, expected in EXPECTED_TYPES.items():
        actual = {name: doc["properties"].get("type") for name, doc in docs[env][kind].items()}
        assert actual == expected, kind


@pytest.mark.parametrize("env", ENVS)
def test_every_activity_has_adfs_type(env: str, docs: dict[str, Any]) -> None:
    actual = {
        a["name"]: a.get("type")
        for pipeline in docs[env]["pipeline"].values()
        for a in activities(pipeline)
    }
    assert actual == EXPECTED_ACTIVITY_TYPES


@pytest.mark.parametrize("env", ENVS)
def test_every_typed_dict_uses_a_real_adf_type(env: str, docs: dict[str, Any]) -> None:
    """No generic base-class types ("Execution", "Container", ...) anywhere in the output."""
    generic = {"Execution", "Container", "Activity", "LinkedService", "Dataset", "Trigger"}
    text = json.dumps(docs[env])
    found = set(re.findall(r'"type": "([^"]+)"', text))
    assert not (found & generic)


@pytest.mark.parametrize("env", ENVS)
def test_every_reference_points_at_a_defined_object(env: str, docs: dict[str, Any]) -> None:
    defined = {(kind, name) for kind, objects in docs[env].items() for name in objects}
    for objects in docs[env].values():
        for doc in objects.values():
            for ref in references(doc["properties"]):
                assert ref in defined, (doc["name"], ref)


def test_linked_services_run_on_infras_runtime_and_hold_no_secrets(docs: dict[str, Any]) -> None:
    for doc in docs["prod"]["linkedService"].values():
        props = doc["properties"]
        assert props["connectVia"]["referenceName"] == FACTORY_RUNTIME_NAME
        text = json.dumps(props).lower()
        for secret in ("accountkey", "accesstoken", "connectionstring", "password", "sastoken"):
            assert secret not in text, doc["name"]
    assert (
        docs["prod"]["linkedService"]["LS_Databricks"]["properties"]["typeProperties"][
            "authentication"
        ]
        == "MSI"
    )


@pytest.mark.parametrize("env", ENVS)
def test_every_expression_parses_and_uses_supported_functions(
    env: str, docs: dict[str, Any]
) -> None:
    parsed = 0
    for objects in docs[env].values():
        for doc in objects.values():
            for value in strings(doc["properties"]):
                parsed += len(check(value))
    assert parsed > 15


@pytest.mark.parametrize(
    "value",
    ["@concat('a', pipeline().RunId", "@pipeline().", "@{pipeline().RunId", "@concat('a' 'b')"],
)
def test_a_malformed_expression_is_an_error(value: str) -> None:
    with pytest.raises(ExpressionError):
        check(value)


def test_an_unsupported_function_is_an_error() -> None:
    with pytest.raises(ExpressionError, match="guid"):
        check("@concat('run-', guid())")


def test_the_parser_reads_interpolation_members_and_escapes() -> None:
    assert check("plain text") == [] and check("@@not an expression") == []
    assert len(check("run @{pipeline().RunId} of @{pipeline().Pipeline}")) == 2
    node = parse_expression("activity('GM')?.output.childItems[0]['name']")
    assert functions(node) == {"activity"}


@pytest.mark.parametrize("env", ENVS)
def test_names_use_the_kind_prefixes(env: str, docs: dict[str, Any]) -> None:
    for kind, objects in docs[env].items():
        assert objects and all(name.startswith(PREFIXES[kind]) for name in objects)


@pytest.mark.parametrize("env", ENVS)
def test_every_execution_activity_has_retries_and_a_timeout(env: str, docs: dict[str, Any]) -> None:
    for pipeline in docs[env]["pipeline"].values():
        for activity in activities(pipeline):
            if activity["type"] in CONTROL_TYPES:
                continue
            policy = activity.get("policy", {})
            # The job activity is the one not retried (test_the_job_activity_waits_...).
            assert policy.get("retry", 0) >= (activity["type"] != "DatabricksJob"), activity["name"]
            assert re.fullmatch(r"\d+\.\d\d:\d\d:\d\d", policy.get("timeout", "")), activity["name"]


def test_ingest_copies_every_file_as_bytes_and_filters_none_out(docs: dict[str, Any]) -> None:
    """A name or depth filter would drop a .csv.gz or a subfolder's CSV without a trace:
    PL_Ingest copies the whole window, byte for byte, keeping paths; bronze decides."""
    (copy_activity,) = activities(docs["dev"]["pipeline"]["PL_Ingest"])
    assert copy_activity["type"] == "Copy"
    copy = copy_activity["typeProperties"]
    assert copy["source"]["type"] == "BinarySource"
    assert copy["source"]["storeSettings"]["recursive"] is True
    assert "wildcardFileName" not in copy["source"]["storeSettings"]
    assert copy["sink"]["storeSettings"]["copyBehavior"] == "PreserveHierarchy"
    assert copy["logSettings"]["enableCopyActivityLog"] is True
    assert copy["logSettings"]["logLocationSettings"]["linkedServiceName"]["referenceName"]


def test_failure_notification_reads_its_webhook_from_key_vault(docs: dict[str, Any]) -> None:
    acts = {a["name"]: a for a in activities(docs["dev"]["pipeline"]["PL_Orchestrate"])}
    get_url = acts["WEB_GetWebhookUrl"]
    assert get_url["typeProperties"]["url"].startswith("https://kv-c2c-dev-")
    assert get_url["typeProperties"]["authentication"]["type"] == "MSI"
    for web in (get_url, acts["WEB_NotifyFailure"]):
        # The URL is a secret: neither what goes in nor what comes out shows in monitoring.
        assert web["policy"]["secureInput"] is True and web["policy"]["secureOutput"] is True
        # The managed-VNet runtime, which reaches the private vault; not the default one.
        assert web["typeProperties"]["connectVia"]["referenceName"] == FACTORY_RUNTIME_NAME
    assert get_url["dependsOn"] == [
        {"activity": "IF_GoldBuilt", "dependencyConditions": ["Failed", "Skipped"]}
    ]
    assert "WEB_GetWebhookUrl" in acts["WEB_NotifyFailure"]["typeProperties"]["url"]["value"]


def test_build_writes_git_layout_and_arm_deterministically(tmp_path: Path) -> None:
    build.main(["--out", str(tmp_path / "a")])
    build.main(["--out", str(tmp_path / "b")])
    first = {
        p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.json")
    }
    second = {
        p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*.json")
    }
    assert first == second
    dev = tmp_path / "a" / "dev"
    assert sorted(p.name for p in (dev / "pipeline").iterdir()) == [
        "PL_Ingest.json",
        "PL_Orchestrate.json",
        "PL_RefreshModel.json",
        "PL_Transform.json",
    ]
    for kind in ("linkedService", "dataset", "trigger"):
        assert any((dev / kind).iterdir())
    template = json.loads((dev / "ARMTemplateForFactory.json").read_text())
    params = json.loads((dev / "ARMTemplateParametersForFactory.json").read_text())
    assert set(template["parameters"]) == set(params["parameters"])
    assert len(template["resources"]) == 12
    text = json.dumps(template)
    assert "[parameters('etlJobId')]" in text and "[parameters('databricksWorkspaceUrl')]" in text
    # The Power BI model's Fabric workspace is set per environment at deploy, like the job id.
    assert "[parameters('fabricWorkspaceId')]" in text
    # The gold check's URL is under the workspace URL: the deployed one, never the build's.
    assert PLACEHOLDER_WORKSPACE_URL not in text
    assert (
        "[concat(parameters('databricksWorkspaceUrl'), "
        "'/api/2.1/unity-catalog/tables/c2c_dev.gold.bi_user_segments/exists')]"
    ) in text


def test_build_takes_deployment_values(tmp_path: Path) -> None:
    build.main(["--env", "prod", "--out", str(tmp_path), "--job-id", "4242"])
    transform = json.loads((tmp_path / "pipeline" / "PL_Transform.json").read_text())
    assert transform["properties"]["activities"][0]["typeProperties"]["jobId"] == "4242"


def test_build_takes_the_fabric_workspace_or_none(tmp_path: Path) -> None:
    workspace = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    build.main(["--env", "prod", "--out", str(tmp_path / "a"), "--fabric-workspace-id", workspace])
    refresh = json.loads((tmp_path / "a" / "pipeline" / "PL_RefreshModel.json").read_text())
    assert refresh["properties"]["parameters"]["workspaceId"]["defaultValue"] == workspace
    params = json.loads((tmp_path / "a" / "ARMTemplateParametersForFactory.json").read_text())
    assert params["parameters"]["fabricWorkspaceId"] == {"value": workspace}
    build.main(["--env", "prod", "--out", str(tmp_path / "b"), "--fabric-workspace-id", ""])
    assert not (tmp_path / "b" / "pipeline" / "PL_RefreshModel.json").exists()
    params = json.loads((tmp_path / "b" / "ARMTemplateParametersForFactory.json").read_text())
    assert "fabricWorkspaceId" not in params["parameters"]


def test_the_daily_trigger_is_a_tumbling_window_that_catches_up(docs: dict[str, Any]) -> None:
    trigger = docs["dev"]["trigger"]["TR_Daily"]["properties"]
    props = trigger["typeProperties"]
    assert (props["frequency"], props["interval"]) == ("Hour", 24)
    assert props["maxConcurrency"] == 1  # missed windows run one after another, in order
    assert props["retryPolicy"]["count"] >= 1
    assert trigger["pipeline"]["parameters"] == {
        "windowStart": "@trigger().outputs.windowStartTime",
        "windowEnd": "@trigger().outputs.windowEndTime",
    }
