"""``c2c-ops deploy`` and ``c2c-ops release-version``.

The deploy drives the real azure-mgmt-datafactory client against the fake ADF and the real
databricks-sdk against the fake workspace (Files and Jobs APIs). ``cdktn deploy`` cannot run here
(Terraform providers cannot be downloaded; test_cdktn_synth.py runs the real CLI's synth through
the same entry), so the test gives ``--cdktn`` a small program that records how it was called
and writes the outputs file ``cdktn deploy --outputs-file`` writes: what is covered is the
command line, the environment and the use of the outputs, not Terraform.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from c2c_ops.context import ClientOptions, Ops
from c2c_ops.deploy import ADMIT_STEP, INFRA_DIR, infra_steps, release_version
from c2c_ops.errors import Exit, OpsError
from tests.adf_pipelines.fake_adf import (
    TOKEN,
    FactoryState,
    HttpBearerPolicy,
    StubCredential,
    fake_factory,
)
from tests.scripts.fake_databricks import FakeDatabricks, FastClock
from tests.scripts.fake_workspace import add_files_api, add_jobs_api
from tests.scripts.harness import ARM_SCOPE, ops_for, run_cli

CAP = pytest.CaptureFixture[str]
VERSION = "1.2.0+gabc1234"
WHEEL = f"c2c_etl-{VERSION}-py3-none-any.whl"
VOLUME_WHEEL = f"/Volumes/c2c_dev/ops/artifacts/{WHEEL}"
OLD_WHEEL = "/Volumes/c2c_dev/ops/artifacts/c2c_etl-1.1.0+g0000000-py3-none-any.whl"
JOB_ID = 4242
FABRIC_WORKSPACE = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

FAKE_CDKTN = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open({record!r}, "a") as f:
    f.write(json.dumps({{"args": args, "cwd": os.getcwd(),
                        "wheel": os.environ.get("TF_VAR_etl_wheel"),
                        "adf_client_id": os.environ.get("TF_VAR_adf_client_id"),
                        "env": os.environ.get("C2C_ENV")}}) + "\\n")
if {fail}:
    print("Error: creating Storage Account: 403 AuthorizationFailed", file=sys.stderr)
    sys.exit(1)
outputs = args[args.index("--outputs-file") + 1]
with open(outputs, "w") as f:
    json.dump({{"c2c-dev-platform": {{"workspace_url": {workspace!r}}},
               "c2c-dev-workspace": {{"job_id": "{job}", "warehouse_id": "0123abcd"}}}}, f)
"""


@dataclass
class Cloud:
    adf_url: str
    adf: FactoryState
    workspace: FakeDatabricks
    volume: dict[str, bytes]
    jobs: dict[int, dict[str, Any]]
    tmp: Path

    def cdktn(self, *, fail: bool = False) -> tuple[Path, Path]:
        """A stand-in for the cdktn CLI; returns it and the file where it records its calls."""
        record = self.tmp / "cdktn-calls.jsonl"
        script = self.tmp / ("cdktn-failing" if fail else "cdktn")
        script.write_text(
            FAKE_CDKTN.format(
                python=sys.executable,
                record=str(record),
                fail=fail,
                workspace=self.workspace.url,
                job=JOB_ID,
            )
        )
        script.chmod(0o755)
        return script, record

    def ops(self) -> Ops:
        credential = StubCredential()
        options = ClientOptions(
            arm_endpoint=self.adf_url,
            azure={"retry_backoff_factor": 0.01},
            adf={"authentication_policy": HttpBearerPolicy(credential, ARM_SCOPE)},
            databricks={"retry_timeout_seconds": 5, "clock": FastClock()},
        )
        return ops_for(credential=credential, options=options)

    def wheel(self, content: bytes = b"wheel bytes v1") -> Path:
        path = self.tmp / "dist" / WHEEL
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        return path


def _me(request: Any) -> Any:
    from tests.scripts.fake_databricks import Reply

    return Reply(200, {"userName": "deployer", "id": "1"})


def job_settings() -> dict[str, Any]:
    """The job as infra creates it (tasks install some earlier wheel)."""
    return {
        "name": "c2c-dev-etl",
        "tasks": [
            {
                "task_key": key,
                "python_wheel_task": {"package_name": "c2c_etl", "entry_point": f"c2c-{key}"},
                "libraries": [{"whl": OLD_WHEEL}, {"pypi": {"package": "extra==1.0"}}],
            }
            for key in ("bronze", "silver", "gold")
        ],
    }


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    monkeypatch.delenv("TF_VAR_adf_client_id", raising=False)
    monkeypatch.setenv("FABRIC_WORKSPACE_ID", FABRIC_WORKSPACE)
    with fake_factory() as (adf_url, adf), FakeDatabricks(token=TOKEN) as workspace:
        volume = add_files_api(workspace)
        jobs = add_jobs_api(workspace, {JOB_ID: job_settings()})
        workspace.route("GET", r"/api/2\.0/preview/scim/v2/Me", _me)
        yield Cloud(adf_url, adf, workspace, volume, jobs, tmp_path)


def deploy(cloud: Cloud, capsys: CAP, *extra: str, cdktn: Path | None = None):
    script = cdktn or cloud.cdktn()[0]
    return run_cli(cloud.ops(), "deploy", "--env", "dev", "--wheel", str(cloud.wheel()),
                   "--cdktn", str(script), *extra, capsys=capsys)  # fmt: skip


def test_first_deploy_runs_infra_publishes_the_wheel_points_the_job_and_deploys_adf(
    cloud: Cloud, capsys: CAP
) -> None:
    script, record = cloud.cdktn()
    result = deploy(cloud, capsys, cdktn=script)
    assert result.code == Exit.OK, result
    platform, workspace = [json.loads(line) for line in record.read_text().splitlines()]
    assert platform["args"][:3] == ["deploy", "c2c-dev-platform", "--auto-approve"]
    assert workspace["args"][:3] == ["deploy", "c2c-dev-workspace", "--auto-approve"]
    for call in (platform, workspace):
        assert call["wheel"] == VOLUME_WHEEL and call["env"] == "dev"
        assert Path(call["cwd"]) == INFRA_DIR
    assert cloud.volume[VOLUME_WHEEL] == b"wheel bytes v1"
    for task in cloud.jobs[JOB_ID]["tasks"]:
        # The wheel is replaced; the task's other libraries are kept.
        assert task["libraries"] == [{"pypi": {"package": "extra==1.0"}}, {"whl": VOLUME_WHEEL}]
    transform = cloud.adf.objects["pipeline"]["PL_Transform"]["properties"]
    assert f'"jobId": "{JOB_ID}"' in json.dumps(transform)
    assert cloud.workspace.url in json.dumps(cloud.adf.objects["linkedService"])
    assert cloud.adf.trigger_states == {"TR_Daily": "Started", "TR_LandingDrops": "Started"}
    for step in ("1/5", "2/5", "3/5", "4/5", "5/5"):
        assert step in result.out


def test_the_factory_refreshes_power_bi_in_the_environments_fabric_workspace(
    cloud: Cloud, capsys: CAP
) -> None:
    result = deploy(cloud, capsys)
    assert result.code == Exit.OK, result
    refresh = cloud.adf.objects["pipeline"]["PL_RefreshModel"]["properties"]
    assert refresh["parameters"]["workspaceId"]["defaultValue"] == FABRIC_WORKSPACE


def test_without_a_fabric_workspace_the_deploy_refuses_before_anything(
    cloud: Cloud, capsys: CAP, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FABRIC_WORKSPACE_ID")
    script, record = cloud.cdktn()
    result = deploy(cloud, capsys, cdktn=script)
    assert result.code == Exit.USAGE
    assert "--fabric-workspace-id" in result.err and "FABRIC_WORKSPACE_ID" in result.err
    assert not record.exists() and cloud.adf.writes() == []


def test_an_environment_without_power_bi_says_it_refreshes_nothing(
    cloud: Cloud, capsys: CAP
) -> None:
    result = deploy(cloud, capsys, "--fabric-workspace-id", "")
    assert result.code == Exit.OK, result
    assert "PL_RefreshModel" not in cloud.adf.objects["pipeline"]
    assert "does not refresh Power BI" in result.out


def test_deploy_writes_the_outputs_later_steps_need(cloud: Cloud, capsys: CAP) -> None:
    github_output = cloud.tmp / "github_output"
    github_output.write_text("earlier=kept\n")
    result = deploy(cloud, capsys, "--write-outputs", str(github_output))
    assert result.code == Exit.OK, result
    assert github_output.read_text().splitlines() == [
        "earlier=kept",
        "adf_principal_id=p-1",  # the factory identity's object id, for the Fabric workspace
        f"job_id={JOB_ID}",
        "warehouse_id=0123abcd",
        f"workspace_url={cloud.workspace.url}",
    ]


def test_a_second_deploy_of_the_same_wheel_changes_nothing_but_pauses_the_schedule(
    cloud: Cloud, capsys: CAP
) -> None:
    assert deploy(cloud, capsys).code == Exit.OK
    adf_writes = len(cloud.adf.writes())
    result = deploy(cloud, capsys)
    assert result.code == Exit.OK, result
    assert "already published with the same content" in result.out
    assert "every task already installs the wheel" in result.out
    assert cloud.workspace.calls_to("POST", r"/api/2\.2/jobs/update") != []  # from the first
    assert len(cloud.workspace.calls_to("POST", r"/api/2\.2/jobs/update")) == 1
    # The only Data Factory writes: stop the triggers first, start them again at the end.
    assert cloud.adf.writes()[adf_writes:] == [
        ("POST", "trigger/TR_Daily/stop"),
        ("POST", "trigger/TR_LandingDrops/stop"),
        ("POST", "trigger/TR_Daily/start"),
        ("POST", "trigger/TR_LandingDrops/start"),
    ]


def test_a_published_wheel_is_never_overwritten(cloud: Cloud, capsys: CAP) -> None:
    assert deploy(cloud, capsys).code == Exit.OK
    cloud.wheel(b"other bytes, same version")
    script, _ = cloud.cdktn()
    result = run_cli(cloud.ops(), "deploy", "--env", "dev", "--wheel",
                     str(cloud.tmp / "dist" / WHEEL), "--cdktn", str(script),
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.CONFLICT
    assert "already published with other content" in result.err
    assert cloud.volume[VOLUME_WHEEL] == b"wheel bytes v1"  # running jobs keep theirs
    # The failed deploy leaves the triggers as it found them: both running.
    assert "TR_Daily, TR_LandingDrops started again as they were" in result.err
    assert cloud.adf.trigger_states == {"TR_Daily": "Started", "TR_LandingDrops": "Started"}


def test_a_failed_deploy_starts_only_the_triggers_it_stopped(cloud: Cloud, capsys: CAP) -> None:
    assert deploy(cloud, capsys).code == Exit.OK
    cfg = cloud.ops().cfg
    adf = cloud.ops().adf
    adf.triggers.begin_stop(cfg.resource_group, cfg.factory_name, "TR_LandingDrops").result()
    result = deploy(cloud, capsys, cdktn=cloud.cdktn(fail=True)[0])
    assert result.code == Exit.FAILED
    assert cloud.adf.trigger_states == {"TR_Daily": "Started", "TR_LandingDrops": "Stopped"}
    assert "TR_Daily runs the daily windows it missed" in result.err


def test_a_deploy_keeps_a_trigger_an_operator_stopped(cloud: Cloud, capsys: CAP) -> None:
    assert deploy(cloud, capsys).code == Exit.OK
    cfg = cloud.ops().cfg
    adf = cloud.ops().adf
    adf.triggers.begin_stop(cfg.resource_group, cfg.factory_name, "TR_LandingDrops").result()
    result = deploy(cloud, capsys)
    assert result.code == Exit.OK, result
    assert cloud.adf.trigger_states == {"TR_Daily": "Started", "TR_LandingDrops": "Stopped"}


def test_a_failed_infra_deploy_stops_before_anything_else(cloud: Cloud, capsys: CAP) -> None:
    script, record = cloud.cdktn(fail=True)
    result = deploy(cloud, capsys, cdktn=script)
    assert result.code == Exit.FAILED
    assert "cdktn deploy c2c-dev-platform failed (exit 1)" in result.err
    assert record.exists() and cloud.volume == {}
    assert cloud.workspace.calls_to("POST", r"/api/2\.2/jobs/update") == []
    assert cloud.adf.objects["pipeline"] == {}


def test_skip_infra_needs_the_job_id_and_the_workspace_url(cloud: Cloud, capsys: CAP) -> None:
    result = deploy(cloud, capsys, "--skip-infra")
    assert result.code == Exit.USAGE and "--workspace-url" in result.err
    ops = cloud.ops()
    ops.workspace_url = cloud.workspace.url
    result = run_cli(ops, "deploy", "--env", "dev", "--wheel", str(cloud.wheel()),
                     "--skip-infra", "--job-id", str(JOB_ID), capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    assert "2/5 infra: skipped" in result.out and VOLUME_WHEEL in cloud.volume


def test_a_refused_databricks_token_exits_5(cloud: Cloud, capsys: CAP) -> None:
    cloud.workspace.token = "another-token"
    result = deploy(cloud, capsys)
    assert result.code == Exit.AUTH
    assert "Databricks refused the request" in result.err
    assert cloud.volume == {}


def test_throttled_uploads_are_retried_as_databricks_asks(cloud: Cloud, capsys: CAP) -> None:
    fault = cloud.workspace.fail("PUT", r"/api/2\.0/fs/files/.*", 429,
                                 headers={"Retry-After": "1"}, times=2)  # fmt: skip
    ops = cloud.ops()
    clock = ops.options.databricks["clock"]
    result = run_cli(ops, "deploy", "--env", "dev", "--wheel", str(cloud.wheel()),
                     "--cdktn", str(cloud.cdktn()[0]), capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    assert fault.hits == 2 and VOLUME_WHEEL in cloud.volume
    # Each retry waited what Retry-After said (plus the SDK's jitter of up to a second).
    assert len(clock.sleeps) == 2 and all(1 <= s < 2 for s in clock.sleeps)


def test_unavailable_workspace_that_outlasts_the_retries_exits_9(cloud: Cloud, capsys: CAP) -> None:
    cloud.workspace.fail("GET", r"/api/2\.2/jobs/get", 503, headers={"Retry-After": "2"},
                         times=None)  # fmt: skip
    result = deploy(cloud, capsys)
    assert result.code == Exit.UNAVAILABLE
    assert "gave up retrying" in result.err


# --- release version -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("describe", "version"),
    [
        ("v1.2.0-0-gabc1234", "1.2.0+gabc1234"),
        ("v1.2.0-3-gabc1234\n", "1.2.0.post3+gabc1234"),
        ("v2.0.0rc1-0-g0123456789ab", "2.0.0rc1+g0123456789ab"),
        ("v1.2.0-rc1-0-gabc1234", "1.2.0rc1+gabc1234"),
        ("v1.2.0.b2-4-gabc1234", "1.2.0b2.post4+gabc1234"),
    ],
)
def test_release_versions_carry_the_tag_and_the_commit(describe: str, version: str) -> None:
    assert release_version(describe) == version


def test_a_dirty_tree_or_a_missing_tag_makes_no_release_version() -> None:
    with pytest.raises(OpsError) as dirty:
        release_version("v1.2.0-0-gabc1234-dirty")
    assert dirty.value.code == Exit.REFUSED
    with pytest.raises(OpsError) as untagged:
        release_version("fatal: No names found, cannot describe anything.")
    assert untagged.value.code == Exit.USAGE and "git tag v1.0.0" in untagged.value.message
    with pytest.raises(OpsError) as unknown:
        release_version("v1.2.0-beta-0-gabc1234")
    assert unknown.value.code == Exit.USAGE and "-rc<n>" in unknown.value.message


def test_release_version_command_prints_only_the_version(capsys: CAP) -> None:
    result = run_cli(ops_for("local"), "release-version", "--describe", "v0.3.1-2-gdeadbee",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK
    assert result.out.strip() == "0.3.1.post2+gdeadbee"


# --- downgrades, saved plans, confirmation -------------------------------------------------
FAKE_TERRAFORM = """#!{python}
import json, os, sys
chdir, *args = sys.argv[1:]
stack = os.path.basename(chdir.removeprefix("-chdir="))
with open({record!r}, "a") as f:
    f.write(json.dumps({{"stack": stack, "args": args,
                        "wheel": os.environ.get("TF_VAR_etl_wheel")}}) + "\\n")
folder = chdir.removeprefix("-chdir=")
if args[0] == "plan":
    open(os.path.join(folder, "tfplan"), "w").write("saved plan of " + stack)
elif args[0] == "show":
    print("Plan: 1 to add, 0 to change, 0 to destroy. (" + stack + ")")
elif args[0] == "apply":
    assert args[-1] == "tfplan" and os.path.exists(os.path.join(folder, "tfplan"))
elif args[0] == "output":
    values = {{"workspace_url": {workspace!r}}} if stack.endswith("platform") else {{
        "job_id": "{job}", "warehouse_id": "0123abcd"}}
    print(json.dumps({{k: {{"value": v}} for k, v in values.items()}}))
"""

FAKE_SYNTH = """#!{python}
import os, sys
out = sys.argv[sys.argv.index("--output") + 1]
for stack in ("c2c-dev-platform", "c2c-dev-workspace"):
    os.makedirs(os.path.join(out, "stacks", stack), exist_ok=True)
    open(os.path.join(out, "stacks", stack, "cdk.tf.json"), "w").write("{{}}")
"""


def _program(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_an_older_release_is_refused_unless_it_is_a_rollback(cloud: Cloud, capsys: CAP) -> None:
    assert deploy(cloud, capsys).code == Exit.OK  # 1.2.0 runs
    older = cloud.tmp / "dist" / "c2c_etl-1.1.5.post2+gfedcba9-py3-none-any.whl"
    older.write_bytes(b"older wheel")
    script = str(cloud.cdktn()[0])
    refused = run_cli(cloud.ops(), "deploy", "--env", "dev", "--wheel", str(older),
                      "--cdktn", script, capsys=capsys)  # fmt: skip
    assert refused.code == Exit.REFUSED
    assert f"dev runs c2c-etl {VERSION}; 1.1.5.post2+gfedcba9 is older" in refused.err
    assert cloud.adf.trigger_states["TR_Daily"] == "Started"  # refused before anything
    rollback = run_cli(cloud.ops(), "deploy", "--env", "dev", "--wheel", str(older),
                       "--cdktn", script, "--allow-downgrade", capsys=capsys)  # fmt: skip
    assert rollback.code == Exit.OK, rollback


def test_prod_style_plan_then_apply_exactly_that_plan(cloud: Cloud, capsys: CAP) -> None:
    record = cloud.tmp / "terraform-calls.jsonl"
    terraform = _program(
        cloud.tmp / "terraform",
        FAKE_TERRAFORM.format(python=sys.executable, record=str(record),
                              workspace=cloud.workspace.url, job=JOB_ID),
    )  # fmt: skip
    synth = _program(cloud.tmp / "cdktn-synth", FAKE_SYNTH.format(python=sys.executable))
    plan = cloud.tmp / "plan"
    planned = run_cli(cloud.ops(), "deploy", "--env", "dev", "--wheel", str(cloud.wheel()),
                      "--cdktn", str(synth), "--terraform", str(terraform),
                      "--plan-out", str(plan), capsys=capsys)  # fmt: skip
    assert planned.code == Exit.OK, planned
    summary = (plan / "plan.md").read_text()
    assert "## c2c-dev-platform" in summary and "1 to add" in summary
    assert cloud.volume == {} and cloud.adf.objects["pipeline"] == {}  # only planned
    applied = run_cli(cloud.ops(), "deploy", "--env", "dev", "--wheel", str(cloud.wheel()),
                      "--terraform", str(terraform), "--plan-from", str(plan),
                      capsys=capsys)  # fmt: skip
    assert applied.code == Exit.OK, applied
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    applies = [(c["stack"], c["args"]) for c in calls if c["args"][0] == "apply"]
    assert applies == [
        ("c2c-dev-platform", ["apply", "-input=false", "-lock-timeout=5m", "tfplan"]),
        ("c2c-dev-workspace", ["apply", "-input=false", "-lock-timeout=5m", "tfplan"]),
    ]
    assert all(c["wheel"] == VOLUME_WHEEL for c in calls if c["args"][0] == "plan")
    assert VOLUME_WHEEL in cloud.volume and "PL_Transform" in cloud.adf.objects["pipeline"]
    other = cloud.tmp / "dist" / "c2c_etl-1.3.0+g1111111-py3-none-any.whl"
    other.write_bytes(b"newer")
    mismatch = run_cli(cloud.ops(), "deploy", "--env", "dev", "--wheel", str(other),
                       "--terraform", str(terraform), "--plan-from", str(plan),
                       capsys=capsys)  # fmt: skip
    assert mismatch.code == Exit.REFUSED and "plan again" in mismatch.err


def test_prune_needs_confirmation(cloud: Cloud, capsys: CAP) -> None:
    result = deploy(cloud, capsys, "--prune")
    assert result.code == Exit.REFUSED and "add --yes" in result.err
    assert cloud.adf.objects["pipeline"] == {}
    assert deploy(cloud, capsys, "--prune", "--yes").code == Exit.OK


def test_a_new_environment_is_deployed_in_the_bootstrap_order(cloud: Cloud, capsys: CAP) -> None:
    """Platform stack, then one call that admits the deploy identity to the new workspace (with
    the management token), then the workspace stack, whose provider can then sign in."""
    assert infra_steps("dev") == ["c2c-dev-platform", ADMIT_STEP, "c2c-dev-workspace"]
    script, record = cloud.cdktn()
    assert deploy(cloud, capsys, cdktn=script).code == Exit.OK
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert [c["args"][1] for c in calls] == ["c2c-dev-platform", "c2c-dev-workspace"]
    # The factory identity's client id comes from ARM between the two: nobody copies it.
    assert [c["adf_client_id"] for c in calls] == [None, cloud.adf.identity_client_id]
    (admitted,) = cloud.workspace.calls_to("GET", r"/api/2\.0/preview/scim/v2/Me")
    first_job_call = cloud.workspace.calls.index(
        cloud.workspace.calls_to("GET", r"/api/2\.2/jobs/get")[0]
    )
    assert cloud.workspace.calls.index(admitted) < first_job_call
