"""Deploy one environment, and the release version of the etl wheel.

``c2c-ops deploy --env dev --wheel dist/c2c_etl-1.2.0+gabc1234-py3-none-any.whl`` does, in order:

1. pause: stop the factory's started triggers, so nothing starts the job mid-deploy;
2. infra: ``cdktn deploy`` of the platform stack, one signed-in call that admits the deploy
   identity to the workspace, then ``cdktn deploy`` of the workspace stack (``infra_steps``),
   with ``TF_VAR_etl_wheel`` set to the wheel's volume path (the job's tasks install that file);
3. publish: upload the wheel to the artifacts volume. A published wheel is never overwritten:
   the same bytes again are a no-op, other bytes under the same name are a conflict (exit 7);
4. point: check that every task of the job installs that wheel, and fix the ones that don't;
5. Data Factory: deploy its objects (``c2c_adf.deploy``), then start again the triggers step 1
   stopped (and the ones it created); a trigger an operator had stopped stays stopped.
   PL_Orchestrate refreshes the Power BI model in the Fabric workspace ``--fabric-workspace-id``
   (default: ``FABRIC_WORKSPACE_ID``, the GitHub variable the Power BI deploy uses); it must be
   given, ``""`` where the environment publishes no Power BI, so no deploy drops the refresh
   because a variable was forgotten.

Every step is idempotent, so a deploy that failed half-way is finished by running it again. A
deploy that fails starts again the triggers it stopped: the daily tumbling window then runs the
windows it missed by itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from databricks.sdk.errors import AlreadyExists, ResourceConflict
from databricks.sdk.service.compute import Library
from databricks.sdk.service.jobs import JobSettings

from c2c_adf import deploy as adf_deploy
from c2c_adf.config import GUID
from c2c_adf.factory import LS_DATABRICKS, PL_TRANSFORM, TR_DAILY
from c2c_ops.confirm import confirm
from c2c_ops.context import Ops
from c2c_ops.errors import Exit, OpsError

REPO = Path(__file__).resolve().parents[3]
INFRA_DIR = REPO / "infra"
DEFAULT_CDKTN = REPO / "node_modules" / ".bin" / "cdktn"
WHEEL_NAME = re.compile(r"^c2c_etl-(?P<version>[^-]+)-py3-none-any\.whl$")
# A pre-release tag may separate its label with "-" or "." (v1.2.0-rc1, v1.2.0.rc1, v1.2.0rc1);
# PEP 440 spells each of them 1.2.0rc1.
DESCRIBE = re.compile(
    r"^v(?P<version>\d+(?:\.\d+)*)(?:[-.]?(?P<pre>a|b|rc)(?P<pre_number>\d+))?"
    r"-(?P<ahead>\d+)-g(?P<sha>[0-9a-f]{7,40})(?P<dirty>-dirty)?$"
)


# --- release version -----------------------------------------------------------------------
def release_version(describe: str) -> str:
    """The wheel's PEP 440 version from ``git describe --tags --long --match 'v*' --dirty``.

    ``v1.2.0-0-gabc1234`` -> ``1.2.0+gabc1234`` (the tag's own commit);
    ``v1.2.0-3-gabc1234`` -> ``1.2.0.post3+gabc1234`` (3 commits after the tag). The commit is
    always in the version, so two different builds never share a wheel name.
    """
    match = DESCRIBE.match(describe.strip())
    if not match:
        raise OpsError(
            Exit.USAGE,
            f"cannot make a release version from {describe.strip()!r}: tag a commit "
            "v<major>.<minor>.<patch>, or a pre-release v<major>.<minor>.<patch>-rc<n> (also "
            "-a<n>, -b<n>) (git tag v1.0.0) and fetch tags (fetch-depth: 0)",
        )
    if match["dirty"]:
        raise OpsError(
            Exit.REFUSED, "the work tree has uncommitted changes: a release is built from a commit"
        )
    ahead = int(match["ahead"])
    pre = f"{match['pre']}{match['pre_number']}" if match["pre"] else ""
    post = f".post{ahead}" if ahead else ""
    return f"{match['version']}{pre}{post}+g{match['sha']}"


def handle_release_version(args: argparse.Namespace, ops: Ops) -> int:
    describe = args.describe
    if describe is None:
        result = subprocess.run(
            ["git", "describe", "--tags", "--long", "--match", "v*", "--dirty"],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )
        describe = result.stdout if result.returncode == 0 else result.stderr
    print(release_version(describe))
    return int(Exit.OK)


# --- deploy --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Wheel:
    path: Path
    version: str

    @classmethod
    def from_path(cls, path: Path) -> Wheel:
        match = WHEEL_NAME.match(path.name)
        if not match or not path.is_file():
            raise OpsError(
                Exit.USAGE, f"{path} is not a built c2c_etl wheel (make wheel writes dist/*.whl)"
            )
        return cls(path, match["version"])

    def volume_path(self, catalog: str) -> str:
        from c2c_settings.config import wheel_path

        return wheel_path(catalog, self.version)

    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def stop_triggers(ops: Ops) -> list[str]:
    """Stop the started triggers; returns their names (none when the factory is new)."""
    cfg = ops.cfg
    try:
        triggers = list(ops.adf.triggers.list_by_factory(cfg.resource_group, cfg.factory_name))
    except Exception as exc:  # a first deploy: the factory does not exist yet
        if getattr(exc, "status_code", None) == 404:
            return []
        raise
    stopped = []
    for trigger in triggers:
        if trigger.properties.runtime_state == "Started":
            ops.adf.triggers.begin_stop(cfg.resource_group, cfg.factory_name, trigger.name).result()
            stopped.append(trigger.name)
    return stopped


def run_cdktn(
    cdktn: str, arguments: list[str], env: dict[str, str], base: Mapping[str, str] | None = None
) -> int:
    """Run the cdktn CLI in ``infra/`` with ``env`` over ``base`` (default: this process's
    environment); returns its exit code. Every cdktn call of a deploy goes through here, and so
    does the test that runs the real CLI's synth on a PATH without uv."""
    environment = {**(os.environ if base is None else base), **env}
    result = subprocess.run([cdktn, *arguments], cwd=INFRA_DIR, env=environment, check=False)
    return result.returncode


def infra_steps(env: str) -> list[str]:
    """The infra part of a deploy, in the order a new environment needs it: the platform stack
    creates the workspace and the factory; the deploy identity is then admitted to the
    workspace (c2c-ops's first Databricks call carries the management token, which the
    Databricks provider's GitHub OIDC sign-in does not send) and the factory identity's client
    id is read from ARM; only then can the workspace stack's provider sign in and register it."""
    return [f"c2c-{env}-platform", ADMIT_STEP, f"c2c-{env}-workspace"]


ADMIT_STEP = "admit the deploy identity to the workspace, read the factory identity's client id"


def admit_to_workspace(ops: Ops, workspace_url: str) -> str:
    """One signed-in call to the workspace, with the management token: Azure Databricks adds a
    principal with Contributor on the workspace resource as an admin on it."""
    ops.workspace_url = workspace_url
    me = ops.workspace.current_user.me()
    return str(me.user_name or me.display_name or me.id)


IDENTITY_API_VERSION = "2023-01-31"
ADF_CLIENT_ID_VARIABLE = "TF_VAR_adf_client_id"


def factory_client_id(ops: Ops) -> str:
    """The application (client) id of the factory's system-assigned identity, which the
    workspace stack registers as a Databricks service principal. Azure Resource Manager shows
    it as the identity's ``default`` resource under the factory, so no one copies it by hand."""
    return str(factory_identity(ops)["clientId"])


def factory_principal_id(ops: Ops) -> str:
    """The object id of the factory's identity, which the Power BI deploy makes a Contributor
    of the Fabric workspace (the pipeline queues the model's refresh as it)."""
    return str(factory_identity(ops)["principalId"])


def factory_identity(ops: Ops) -> dict[str, Any]:
    """The properties of the factory's system-assigned identity (clientId, principalId...)."""
    from azure.core.rest import HttpRequest

    cfg = ops.cfg
    url = (
        f"/subscriptions/{cfg.subscription_id}/resourceGroups/{cfg.resource_group}"
        f"/providers/Microsoft.DataFactory/factories/{cfg.factory_name}"
        "/providers/Microsoft.ManagedIdentity/identities/default"
        f"?api-version={IDENTITY_API_VERSION}"
    )
    # This SDK version has no public send_request: its pipeline client (the same endpoint,
    # sign-in and retries as every Data Factory call) sends the one GET.
    client = ops.adf._client
    response = client.send_request(HttpRequest("GET", client.format_url(url)))
    response.raise_for_status()
    return dict(response.json()["properties"])


def adf_client_id(ops: Ops) -> dict[str, str]:
    """``TF_VAR_adf_client_id`` as given, or else looked up once the platform stack exists."""
    given = os.environ.get(ADF_CLIENT_ID_VARIABLE)
    return {ADF_CLIENT_ID_VARIABLE: given or factory_client_id(ops)}


def cdktn_deploy(ops: Ops, wheel: Wheel, cdktn: str) -> dict[str, Any]:
    """``cdktn deploy`` of each stack in :func:`infra_steps` order; returns outputs by stack."""
    loaded: dict[str, Any] = {}
    env = {"C2C_ENV": ops.env, "TF_VAR_etl_wheel": wheel.volume_path(ops.cfg.catalog)}
    for step in infra_steps(ops.env):
        if step == ADMIT_STEP:
            url = str(loaded[f"c2c-{ops.env}-platform"]["workspace_url"])
            ops.console.print(f"  workspace {url}: signed in as {admit_to_workspace(ops, url)}")
            env.update(adf_client_id(ops))
            ops.console.print(f"  the factory's identity: {env[ADF_CLIENT_ID_VARIABLE]}")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            outputs = Path(tmp) / "outputs.json"
            arguments = ["deploy", step, "--auto-approve", "--outputs-file", str(outputs)]
            ops.console.print(f"$ {cdktn} {' '.join(arguments)}  (in {INFRA_DIR})")
            code = run_cdktn(cdktn, arguments, env)
            if code != 0:
                raise OpsError(
                    Exit.FAILED,
                    f"cdktn deploy {step} failed (exit {code}); nothing after it was done. "
                    "Fix the cause shown above and run the same deploy again",
                )
            loaded.update(json.loads(outputs.read_text()))
    return loaded


def running_version(ops: Ops) -> str | None:
    """The c2c-etl version the environment runs: the wheel its job installs, found through the
    live factory (the workspace and job its pipelines call). None before the first deploy."""
    cfg = ops.cfg
    try:
        linked = ops.adf.linked_services.get(cfg.resource_group, cfg.factory_name, LS_DATABRICKS)
        transform = ops.adf.pipelines.get(cfg.resource_group, cfg.factory_name, PL_TRANSFORM)
    except ResourceNotFoundError:
        return None
    job_ids = [a.job_id for a in transform.activities or [] if getattr(a, "job_id", None)]
    domain = getattr(linked.properties, "domain", None)
    if not job_ids or not domain:
        return None
    if not ops.workspace_url:
        ops.workspace_url = str(domain)
    job = ops.workspace.jobs.get(int(job_ids[0]))
    for task in (job.settings.tasks if job.settings else None) or []:
        for library in task.libraries or []:
            match = WHEEL_NAME.match(Path(library.whl or "").name)
            if match:
                return match["version"]
    return None


def refuse_downgrade(ops: Ops, wheel: Wheel, allow: bool) -> None:
    """A release older than the one the environment runs is refused, unless it is a rollback."""
    from packaging.version import Version

    current = running_version(ops)
    if current is None:
        return
    older = Version(wheel.version.split("+")[0]) < Version(current.split("+")[0])
    if older and not allow:
        raise OpsError(
            Exit.REFUSED,
            f"{ops.env} runs c2c-etl {current}; {wheel.version} is older. A newer release was "
            "approved after this one: deploy that. A rollback to an earlier release is "
            "deliberate: the rollback workflow, or --allow-downgrade",
        )


# --- a saved plan (prod: the approver reads the plan, the apply carries out exactly it) -----
STACK_KINDS = ("platform", "workspace")


def _terraform(terraform: str, stack_dir: Path, *arguments: str, stdout: Any = None) -> None:
    command = [terraform, f"-chdir={stack_dir}", *arguments]
    result = subprocess.run(command, env=os.environ, stdout=stdout, check=False)
    if result.returncode != 0:
        raise OpsError(
            Exit.FAILED,
            f"{' '.join(command[:3])} failed (exit {result.returncode}); see the output above. "
            "A timeout or a cancel inside Terraform can leave the state locked: docs/runbook.md, "
            "'A locked Terraform state'",
        )


def plan_infra(ops: Ops, wheel: Wheel, cdktn: str, terraform: str, out: Path) -> Path:
    """Synthesize the environment, then ``terraform plan -out`` each stack into ``out``; writes
    ``out/plan.md`` (every stack's ``terraform show``), the text the approver reads."""
    out = out.resolve()
    synth = out / "cdktf.out"
    env = {"C2C_ENV": ops.env, "TF_VAR_etl_wheel": wheel.volume_path(ops.cfg.catalog)}
    env.update(adf_client_id(ops))  # a plan is of an environment whose platform exists
    code = run_cdktn(cdktn, ["synth", "--output", str(synth)], env)
    if code != 0:
        raise OpsError(Exit.FAILED, f"cdktn synth failed (exit {code})")
    os.environ.update(env)
    sections = [f"# Plan of {ops.env} for c2c-etl {wheel.version}\n"]
    for kind in STACK_KINDS:
        stack = f"c2c-{ops.env}-{kind}"
        stack_dir = synth / "stacks" / stack
        _terraform(terraform, stack_dir, "init", "-input=false")
        _terraform(terraform, stack_dir, "plan", "-input=false", "-lock-timeout=5m", "-out=tfplan")
        shown = stack_dir / "plan.txt"
        with shown.open("w") as text:
            _terraform(terraform, stack_dir, "show", "-no-color", "tfplan", stdout=text)
        sections.append(f"## {stack}\n\n```\n{shown.read_text()}```\n")
    (out / "version").write_text(wheel.version)
    summary = out / "plan.md"
    summary.write_text("\n".join(sections))
    return summary


def apply_plan(ops: Ops, wheel: Wheel, terraform: str, plan: Path) -> dict[str, Any]:
    """``terraform apply`` of each saved plan, as it was planned (Terraform refuses a plan whose
    state has changed since); returns the stacks' outputs."""
    planned = (plan / "version").read_text().strip() if (plan / "version").is_file() else ""
    if planned != wheel.version:
        raise OpsError(
            Exit.REFUSED,
            f"the plan in {plan} was made for c2c-etl {planned or '(unknown)'}, not "
            f"{wheel.version}: plan again",
        )
    outputs: dict[str, Any] = {}
    for kind in STACK_KINDS:
        stack = f"c2c-{ops.env}-{kind}"
        stack_dir = (plan / "cdktf.out" / "stacks" / stack).resolve()
        _terraform(terraform, stack_dir, "init", "-input=false")
        _terraform(terraform, stack_dir, "apply", "-input=false", "-lock-timeout=5m", "tfplan")
        result = subprocess.run(
            [terraform, f"-chdir={stack_dir}", "output", "-json"],
            env=os.environ,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise OpsError(Exit.FAILED, f"terraform output of {stack} failed: {result.stderr}")
        outputs[stack] = {k: v["value"] for k, v in json.loads(result.stdout).items()}
    return outputs


def publish_wheel(ops: Ops, wheel: Wheel) -> str:
    """Upload the wheel to the artifacts volume; never overwrite a published wheel."""
    target = wheel.volume_path(ops.cfg.catalog)
    files = ops.workspace.files
    try:
        with wheel.path.open("rb") as data:
            files.upload(target, data, overwrite=False)
        return f"published {target}"
    except (AlreadyExists, ResourceConflict):
        contents = files.download(target).contents
        published = hashlib.sha256(contents.read() if contents else b"").hexdigest()
        if published == wheel.sha256():
            return f"{target} is already published with the same content"
        raise OpsError(
            Exit.CONFLICT,
            f"{target} is already published with other content. Published wheels are never "
            "overwritten (running jobs use them): build a new version (new commit or tag)",
        ) from None


def point_job(ops: Ops, job_id: int, wheel_path: str) -> list[str]:
    """Make every wheel task of the job install ``wheel_path``; returns the tasks changed."""
    job = ops.workspace.jobs.get(job_id)
    if job.settings is None or not job.settings.tasks:
        raise OpsError(Exit.NOT_FOUND, f"job {job_id} has no tasks: was infra deployed?")
    tasks = job.settings.tasks
    changed = []
    for task in tasks:
        if task.python_wheel_task is None:
            continue
        others = [lib for lib in task.libraries or [] if not lib.whl]
        if [lib.whl for lib in task.libraries or [] if lib.whl] != [wheel_path]:
            task.libraries = [*others, Library(whl=wheel_path)]
            changed.append(task.task_key)
    if changed:
        ops.workspace.jobs.update(job_id, new_settings=JobSettings(tasks=tasks))
    return changed


def start_triggers(ops: Ops, names: list[str]) -> list[str]:
    """Start again the triggers the deploy stopped (the ones an operator had stopped stay so);
    skips one the deploy deleted. Returns the names started."""
    cfg = ops.cfg
    started = []
    for name in names:
        try:
            trigger = ops.adf.triggers.get(cfg.resource_group, cfg.factory_name, name)
        except ResourceNotFoundError:
            continue
        if trigger.properties.runtime_state != "Started":
            ops.adf.triggers.begin_start(cfg.resource_group, cfg.factory_name, name).result()
            started.append(name)
    return started


def restore_triggers(ops: Ops, stopped: list[str]) -> None:
    """After a failed deploy: the triggers as the deploy found them, or say which are not."""
    try:
        started = start_triggers(ops, stopped)
    except Exception as exc:
        print(
            f"the deploy stopped, and triggers {', '.join(stopped)} could not be started again "
            f"({type(exc).__name__}): start them with az datafactory trigger start "
            f"--resource-group {ops.cfg.resource_group} --factory-name {ops.cfg.factory_name} "
            "--name <trigger>",
            file=sys.stderr,
        )
        return
    print(
        f"the deploy stopped; triggers {', '.join(started) or 'none'} started again as they were. "
        f"{TR_DAILY} runs the daily windows it missed meanwhile by itself",
        file=sys.stderr,
    )


def _output(outputs: dict[str, Any], stack: str, name: str) -> str:
    try:
        return str(outputs[stack][name])
    except KeyError:
        raise OpsError(Exit.FAILED, f"cdktn deploy wrote no output {name} for {stack}") from None


FABRIC_WORKSPACE_VARIABLE = "FABRIC_WORKSPACE_ID"


def fabric_workspace_id(args: argparse.Namespace) -> str:
    """The Fabric workspace PL_Orchestrate refreshes the Power BI model in: the option, else
    ``FABRIC_WORKSPACE_ID``; ``""`` (given) means the environment has no Power BI."""
    given = args.fabric_workspace_id
    if given is None:
        given = os.environ.get(FABRIC_WORKSPACE_VARIABLE)
    if given is None:
        raise OpsError(
            Exit.USAGE,
            "The Fabric workspace id is needed: give --fabric-workspace-id <guid> (or set "
            f'{FABRIC_WORKSPACE_VARIABLE}), or --fabric-workspace-id "" where the environment '
            "publishes no Power BI (PL_Orchestrate then refreshes nothing)",
        )
    if given and not GUID.match(given):
        raise OpsError(Exit.USAGE, f"the Fabric workspace id {given!r} is not a GUID")
    return given


def handle_deploy(args: argparse.Namespace, ops: Ops) -> int:
    if ops.env == "local":
        raise OpsError(Exit.USAGE, "deploy targets dev, test or prod; locally, use `make run`")
    wheel = Wheel.from_path(args.wheel)
    ops.require("The subscription id", ops.subscription_id, "--subscription-id")
    say = ops.console.print
    if args.prune:
        confirm(
            args, ops.env, "--prune deletes the Data Factory objects the code no longer defines"
        )
    refuse_downgrade(ops, wheel, args.allow_downgrade)
    if args.plan_out:
        summary = plan_infra(ops, wheel, args.cdktn, args.terraform, args.plan_out)
        say(f"planned {ops.env} for c2c-etl {wheel.version}: {summary} (nothing was changed)")
        return int(Exit.OK)
    fabric_workspace_id(args)  # refused before anything is changed
    say(f"deploying c2c-etl {wheel.version} to {ops.env}")

    stopped = stop_triggers(ops)
    say(f"1/5 paused triggers: {', '.join(stopped) or 'none were started'}")
    try:
        return _deploy_after_pause(args, ops, wheel, stopped)
    except BaseException:
        if stopped:
            restore_triggers(ops, stopped)
        raise


def _deploy_after_pause(
    args: argparse.Namespace, ops: Ops, wheel: Wheel, stopped: list[str]
) -> int:
    say = ops.console.print

    outputs: dict[str, str] = {}
    if args.skip_infra:
        workspace_url = ops.require("The workspace URL", ops.workspace_url, "--workspace-url")
        job_id = ops.require("The job id", args.job_id, "--job-id")
        say("2/5 infra: skipped (--skip-infra)")
    else:
        if args.plan_from:
            stacks = apply_plan(ops, wheel, args.terraform, args.plan_from)
        else:
            stacks = cdktn_deploy(ops, wheel, args.cdktn)
        workspace_url = _output(stacks, f"c2c-{ops.env}-platform", "workspace_url")
        job_id = _output(stacks, f"c2c-{ops.env}-workspace", "job_id")
        outputs["warehouse_id"] = _output(stacks, f"c2c-{ops.env}-workspace", "warehouse_id")
        ops.workspace_url = workspace_url
        say(f"2/5 infra deployed: workspace {workspace_url}, job {job_id}")
    outputs.update(workspace_url=workspace_url, job_id=str(job_id))

    say(f"3/5 {publish_wheel(ops, wheel)}")

    changed = point_job(ops, int(job_id), wheel.volume_path(ops.cfg.catalog))
    say(f"4/5 job {job_id}: " + (f"tasks {', '.join(changed)} now install the wheel"
        if changed else "every task already installs the wheel"))  # fmt: skip

    fabric = fabric_workspace_id(args)
    cfg = ops.cfg.with_deployment(
        workspace_url=workspace_url, job_id=str(job_id), fabric_workspace_id=fabric
    )
    plan = adf_deploy.deploy(ops.adf, cfg, prune=args.prune, log=say)
    if not fabric:
        say("  no Fabric workspace: PL_Orchestrate does not refresh Power BI")
    elif args.write_outputs:
        outputs["adf_principal_id"] = factory_principal_id(ops)
    started = [*plan.created_triggers(), *start_triggers(ops, stopped)]
    say(f"5/5 Data Factory deployed; triggers started: {', '.join(started) or 'none'}")
    if args.write_outputs:
        # key=value lines, the format of $GITHUB_OUTPUT: later steps (the Power BI deploy) read
        # the workspace URL, the warehouse id and the factory identity's object id from here.
        # None of them is a secret.
        with args.write_outputs.open("a") as f:
            f.writelines(f"{key}={value}\n" for key, value in sorted(outputs.items()))
    return int(Exit.OK)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    deploy = subparsers.add_parser(
        "deploy", parents=[common], help="infra, the wheel, the job and Data Factory of one env"
    )
    deploy.add_argument("--wheel", type=Path, required=True, help="dist/c2c_etl-<v>-...whl")
    deploy.add_argument("--cdktn", default=str(DEFAULT_CDKTN), help="the cdktn CLI to run")
    deploy.add_argument(
        "--skip-infra",
        action="store_true",
        help="do not run cdktn deploy (give --workspace-url and --job-id)",
    )
    deploy.add_argument("--job-id", help="the ETL job id (with --skip-infra)")
    deploy.add_argument(
        "--fabric-workspace-id",
        help=f'the Power BI Fabric workspace (default ${FABRIC_WORKSPACE_VARIABLE}; "": none)',
    )
    deploy.add_argument(
        "--prune", action="store_true", help="delete undefined ADF objects (asks, or --yes)"
    )
    deploy.add_argument("--yes", action="store_true", help="confirm --prune without asking")
    deploy.add_argument(
        "--allow-downgrade",
        action="store_true",
        help="deploy a release older than the one running (a rollback)",
    )
    deploy.add_argument(
        "--plan-out",
        type=Path,
        metavar="DIR",
        help="only plan: terraform plan of both stacks into DIR (plan.md for the approver)",
    )
    deploy.add_argument(
        "--plan-from",
        type=Path,
        metavar="DIR",
        help="apply exactly the plan saved in DIR (by --plan-out) instead of cdktn deploy",
    )
    deploy.add_argument("--terraform", default="terraform", help="the Terraform CLI to run")
    deploy.add_argument(
        "--write-outputs",
        type=Path,
        metavar="FILE",
        help="append workspace_url, job_id, warehouse_id, adf_principal_id as key=value lines "
        "(e.g. $GITHUB_OUTPUT)",
    )
    deploy.set_defaults(handler=handle_deploy)

    version = subparsers.add_parser(
        "release-version", help="the etl wheel's release version, from git describe"
    )
    version.add_argument("--describe", help="use this git describe output (default: run git)")
    version.set_defaults(handler=handle_release_version, env="local")
