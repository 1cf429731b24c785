"""Deploy one environment, and the release version of the etl wheel.

``c2c-ops deploy --env dev --wheel dist/c2c_etl-1.2.0+gabc1234-py3-none-any.whl`` does, in order:

1. pause: stop the factory's started triggers, so nothing starts the job mid-deploy;
2. infra: ``cdktn deploy`` of the platform and workspace stacks, with ``TF_VAR_etl_wheel`` set
   to the wheel's volume path (the job's tasks install that file);
3. publish: upload the wheel to the artifacts volume. A published wheel is never overwritten:
   the same bytes again are a no-op, other bytes under the same name are a conflict (exit 7);
4. point: check that every task of the job installs that wheel, and fix the ones that don't;
5. Data Factory: deploy its objects (``c2c_adf.deploy``), then start again the triggers step 1
   stopped (and the ones it created); a trigger an operator had stopped stays stopped.

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
from c2c_adf.factory import TR_DAILY
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
        from c2c_infra.workspace import wheel_path

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


def cdktn_deploy(ops: Ops, wheel: Wheel, cdktn: str) -> dict[str, Any]:
    """``cdktn deploy`` both stacks of the environment; returns their outputs by stack."""
    stacks = [f"c2c-{ops.env}-platform", f"c2c-{ops.env}-workspace"]
    with tempfile.TemporaryDirectory() as tmp:
        outputs = Path(tmp) / "outputs.json"
        arguments = ["deploy", *stacks, "--auto-approve", "--outputs-file", str(outputs)]
        env = {"C2C_ENV": ops.env, "TF_VAR_etl_wheel": wheel.volume_path(ops.cfg.catalog)}
        ops.console.print(f"$ {cdktn} {' '.join(arguments)}  (in {INFRA_DIR})")
        code = run_cdktn(cdktn, arguments, env)
        if code != 0:
            raise OpsError(
                Exit.FAILED,
                f"cdktn deploy failed (exit {code}); nothing after it was done. "
                "Fix the cause shown above and run the same deploy again",
            )
        loaded: dict[str, Any] = json.loads(outputs.read_text())
        return loaded


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


def handle_deploy(args: argparse.Namespace, ops: Ops) -> int:
    if ops.env == "local":
        raise OpsError(Exit.USAGE, "deploy targets dev, test or prod; locally, use `make run`")
    wheel = Wheel.from_path(args.wheel)
    ops.require("The subscription id", ops.subscription_id, "--subscription-id")
    say = ops.console.print
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

    cfg = ops.cfg.with_deployment(workspace_url=workspace_url, job_id=str(job_id))
    plan = adf_deploy.deploy(ops.adf, cfg, prune=args.prune, log=say)
    started = [*plan.created_triggers(), *start_triggers(ops, stopped)]
    say(f"5/5 Data Factory deployed; triggers started: {', '.join(started) or 'none'}")
    if args.write_outputs:
        # key=value lines, the format of $GITHUB_OUTPUT: later steps (the Power BI deploy) read
        # the workspace URL and the warehouse id from here. None of them is a secret.
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
    deploy.add_argument("--prune", action="store_true", help="delete undefined ADF objects")
    deploy.add_argument(
        "--write-outputs",
        type=Path,
        metavar="FILE",
        help="append workspace_url, job_id, warehouse_id as key=value lines (e.g. $GITHUB_OUTPUT)",
    )
    deploy.set_defaults(handler=handle_deploy)

    version = subparsers.add_parser(
        "release-version", help="the etl wheel's release version, from git describe"
    )
    version.add_argument("--describe", help="use this git describe output (default: run git)")
    version.set_defaults(handler=handle_release_version, env="local")
