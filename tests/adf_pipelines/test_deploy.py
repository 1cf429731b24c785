"""The deploy command driving the real azure-mgmt-datafactory client against a local fake ADF.

What this covers: the SDK calls, URLs, serialization and ordering the command makes, and the
state transitions it causes (see tests/adf_pipelines/fake_adf.py). What it does not: Azure's
own validation of the objects, permissions, or networking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.pipeline.policies import RetryPolicy

from c2c_adf import deploy
from c2c_adf.config import PLACEHOLDER_FABRIC_WORKSPACE_ID, AdfConfig, adf_config
from c2c_adf.factory import build_factory
from tests.adf_pipelines.fake_adf import (
    FactoryState,
    HttpBearerPolicy,
    StubCredential,
    fake_factory,
)

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
SCOPE = "https://management.azure.com/.default"
WORKSPACE = "https://adb-1234567890123456.7.azuredatabricks.net"
FABRIC = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


@pytest.fixture
def cfg() -> AdfConfig:
    return adf_config("dev").with_deployment(
        subscription_id=SUBSCRIPTION,
        job_id="123",
        workspace_url=WORKSPACE,
        fabric_workspace_id=FABRIC,
    )


@pytest.fixture
def fake() -> Iterator[tuple[Any, FactoryState, StubCredential]]:
    with fake_factory() as (url, state):
        credential = StubCredential()
        client = deploy.make_client(
            SUBSCRIPTION,
            credential,
            base_url=url,
            authentication_policy=HttpBearerPolicy(credential, SCOPE),
            retry_policy=RetryPolicy(retry_total=0),
        )
        yield client, state, credential


def quiet(_: str) -> None:
    pass


def test_first_deploy_creates_in_dependency_order_and_starts_triggers(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    client, state, credential = fake
    deploy.deploy(client, cfg, log=quiet)
    puts = [path for method, path in state.calls if method == "PUT"]
    kinds = [p.split("/")[0] for p in puts]
    assert kinds == sorted(kinds, key=deploy.ORDER.index)  # linked services ... triggers
    assert puts.index("pipeline/PL_Ingest") < puts.index("pipeline/PL_Orchestrate")
    assert puts.index("pipeline/PL_Transform") < puts.index("pipeline/PL_Orchestrate")
    factory = build_factory(cfg)
    for kind, objects in factory.kinds().items():
        assert set(state.objects[kind]) == set(objects)
    assert state.trigger_states == {"TR_Daily": "Started", "TR_LandingDrops": "Started"}
    assert state.writes()[-2:] == [
        ("POST", "trigger/TR_Daily/start"),
        ("POST", "trigger/TR_LandingDrops/start"),
    ]
    assert SCOPE in credential.scopes


def test_second_deploy_changes_nothing(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    client, state, _ = fake
    deploy.deploy(client, cfg, log=quiet)
    writes = len(state.writes())
    second = deploy.deploy(client, cfg, log=quiet)
    assert second.pending() == []
    assert len(state.writes()) == writes  # not even a trigger stop/start
    assert "no change" in second.describe()


def test_a_change_stops_triggers_first_and_restarts_them_after(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    client, state, _ = fake
    deploy.deploy(client, cfg, log=quiet)
    before = len(state.calls)
    changed = cfg.with_deployment(job_id="456")
    the_plan = deploy.deploy(client, changed, log=quiet)
    assert [(c.kind, c.name) for c in the_plan.pending()] == [("pipeline", "PL_Transform")]
    assert '"jobId": "456"' in the_plan.pending()[0].diff
    writes = [c for c in state.calls[before:] if c[0] != "GET"]
    assert writes == [
        ("POST", "trigger/TR_Daily/stop"),
        ("POST", "trigger/TR_LandingDrops/stop"),
        ("PUT", "pipeline/PL_Transform"),
        ("POST", "trigger/TR_Daily/start"),
        ("POST", "trigger/TR_LandingDrops/start"),
    ]


def test_dry_run_shows_the_diff_and_writes_nothing(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    client, state, _ = fake
    lines: list[str] = []
    the_plan = deploy.deploy(client, cfg, dry_run=True, log=lines.append)
    assert state.writes() == []
    assert len(the_plan.pending()) == 12 and "12 to create" in lines[0]


def test_prune_deletes_undefined_objects_triggers_first(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    client, state, _ = fake
    deploy.deploy(client, cfg, log=quiet)
    stale = {"properties": {"type": "Wait", "typeProperties": {"waitTimeInSeconds": 1}}}
    state.objects["pipeline"]["PL_Old"] = {
        "properties": {"activities": [{"name": "w", **stale["properties"]}]},
        "etag": "x",
    }
    state.objects["trigger"]["TR_Old"] = {
        "properties": {"type": "ScheduleTrigger", "pipelines": [], "typeProperties": {}},
        "etag": "y",
    }
    kept = deploy.deploy(client, cfg, log=quiet)  # without --prune nothing is deleted
    assert kept.pending() == [] and "PL_Old" in state.objects["pipeline"]
    before = len(state.calls)
    pruned = deploy.deploy(client, cfg, prune=True, log=quiet)
    assert [(c.action, c.name) for c in pruned.pending()] == [
        ("delete", "TR_Old"),
        ("delete", "PL_Old"),
    ]
    deletes = [path for method, path in state.calls[before:] if method == "DELETE"]
    assert deletes == ["trigger/TR_Old", "pipeline/PL_Old"]
    assert "PL_Old" not in state.objects["pipeline"]
    assert deploy.deploy(client, cfg, prune=True, log=quiet).pending() == []


def test_run_pipeline_creates_a_run_and_reads_its_status(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    client, state, _ = fake
    deploy.deploy(client, cfg, log=quiet)
    run = deploy.run_pipeline(client, cfg, "PL_Transform", {"inputFolder": "runs/r1"})
    assert run.status == "Succeeded" and run.pipeline_name == "PL_Transform"
    assert state.runs[run.run_id]["parameters"] == {"inputFolder": "runs/r1"}


def test_the_cli_deploys_with_an_injected_credential(cfg: AdfConfig) -> None:
    with fake_factory() as (url, state):
        credential = StubCredential()
        code = deploy.main(
            ["--env", "dev", "--subscription-id", SUBSCRIPTION, "--job-id", "123",
             "--workspace-url", WORKSPACE, "--fabric-workspace-id", FABRIC,
             "--run", "PL_Orchestrate"],
            credential,
            base_url=url,
            authentication_policy=HttpBearerPolicy(credential, SCOPE),
        )  # fmt: skip
        assert code == 0
        assert len(state.runs) == 1 and sum(len(o) for o in state.objects.values()) == 12
        refresh = state.objects["pipeline"]["PL_RefreshModel"]["properties"]
        assert refresh["parameters"]["workspaceId"]["defaultValue"] == FABRIC


def test_a_trigger_an_operator_stopped_stays_stopped_after_a_deploy(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    client, state, _ = fake
    deploy.deploy(client, cfg, log=quiet)
    client.triggers.begin_stop(cfg.resource_group, cfg.factory_name, "TR_LandingDrops").result()
    deploy.deploy(client, cfg.with_deployment(job_id="456"), log=quiet)
    assert state.trigger_states == {"TR_Daily": "Started", "TR_LandingDrops": "Stopped"}


@pytest.mark.parametrize(
    ("missing", "value"),
    [
        ("job_id", "0"),
        ("workspace_url", "https://adb-0000000000000000.0.azuredatabricks.net"),
        ("fabric_workspace_id", PLACEHOLDER_FABRIC_WORKSPACE_ID),
    ],
)
def test_deploy_refuses_the_builds_placeholders(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig, missing: str, value: str
) -> None:
    client, state, _ = fake
    with pytest.raises(deploy.DeployRefused, match="placeholders"):
        deploy.deploy(client, cfg.with_deployment(**{missing: value}), log=quiet)
    assert state.calls == []


def test_the_cli_needs_the_job_id_and_the_workspace_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        deploy.main(["--env", "dev", "--subscription-id", SUBSCRIPTION, "--job-id", "123"])
    assert exit_info.value.code == 2
    assert "--workspace-url" in capsys.readouterr().err
    code = deploy.main(
        ["--env", "dev", "--subscription-id", SUBSCRIPTION, "--job-id", "0",
         "--workspace-url", WORKSPACE, "--fabric-workspace-id", FABRIC]
    )  # fmt: skip
    assert code == 2 and "placeholders" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # no Fabric workspace, not even ""
        deploy.main(
            ["--env", "dev", "--subscription-id", SUBSCRIPTION, "--job-id", "123",
             "--workspace-url", WORKSPACE]
        )  # fmt: skip
    assert exit_info.value.code == 2
    assert "--fabric-workspace-id" in capsys.readouterr().err


def test_a_fabric_workspace_id_that_is_not_a_guid_is_refused(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    client, state, _ = fake
    with pytest.raises(deploy.DeployRefused, match="not a GUID"):
        deploy.deploy(client, cfg.with_deployment(fabric_workspace_id="my-workspace"), log=quiet)
    assert state.calls == []


def test_an_environment_without_power_bi_deploys_no_refresh(
    fake: tuple[Any, FactoryState, StubCredential], cfg: AdfConfig
) -> None:
    """An empty Fabric workspace id is the environment's choice (no Power BI published there):
    the factory has no refresh pipeline and the failure chain catches the transform."""
    client, state, _ = fake
    deploy.deploy(client, cfg.with_deployment(fabric_workspace_id=""), log=quiet)
    assert "PL_RefreshModel" not in state.objects["pipeline"]
    orchestrate = state.objects["pipeline"]["PL_Orchestrate"]["properties"]
    assert "RefreshModel" not in str(orchestrate)
    (catch,) = [a for a in orchestrate["activities"] if a["name"] == "WEB_GetWebhookUrl"]
    assert catch["dependsOn"] == [
        {"activity": "EP_Transform", "dependencyConditions": ["Failed", "Skipped"]}
    ]


def test_the_cli_prunes_only_with_yes(capsys: pytest.CaptureFixture[str]) -> None:
    code = deploy.main(
        ["--env", "dev", "--subscription-id", SUBSCRIPTION, "--job-id", "123",
         "--workspace-url", WORKSPACE, "--fabric-workspace-id", FABRIC, "--prune"]
    )  # fmt: skip
    assert code == 2 and "--yes" in capsys.readouterr().err
