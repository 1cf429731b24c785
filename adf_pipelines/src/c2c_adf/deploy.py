"""Deploy the factory's objects with ``DataFactoryManagementClient``.

``python -m c2c_adf.deploy --env dev --subscription-id <id> --workspace-url <url> --job-id <id>
--fabric-workspace-id <guid> [--prune --yes] [--dry-run]`` (the workspace URL and job id are the
infra outputs, the Fabric workspace the one the Power BI model is published to, ``""`` where the
environment has none; without them the pipelines would call a placeholder workspace, job or
Fabric workspace, so the command refuses to run).

The plan compares every defined object with the live one (both serialized by the same SDK
models, so only real differences show). Applying it stops the started triggers, creates or
updates linked services, datasets, pipelines and triggers in that order (references first within
a kind), deletes undefined objects when asked (triggers first, linked services last), then
starts again the triggers that were started, and the triggers it created. A trigger an operator
stopped stays stopped. A plan with no change does nothing at all, triggers included.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from azure.mgmt.datafactory import DataFactoryManagementClient
from azure.mgmt.datafactory import models as m

from c2c_adf.artifacts import properties, references
from c2c_adf.config import ENVIRONMENTS, GUID, AdfConfig, adf_config
from c2c_adf.factory import Factory, build_factory

ORDER = ("linkedService", "dataset", "pipeline", "trigger")
# The SDK's operation groups and resource models, per kind.
OPERATIONS = {
    "linkedService": ("linked_services", m.LinkedServiceResource),
    "dataset": ("datasets", m.DatasetResource),
    "pipeline": ("pipelines", m.PipelineResource),
    "trigger": ("triggers", m.TriggerResource),
}
TERMINAL_RUN_STATES = {"Succeeded", "Failed", "Cancelled"}


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    action: str  # create | update | delete | unchanged
    diff: str = ""


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    started_triggers: list[str] = field(default_factory=list)

    def created_triggers(self) -> list[str]:
        return [c.name for c in self.changes if c.kind == "trigger" and c.action == "create"]

    def deleted_triggers(self) -> list[str]:
        return [c.name for c in self.changes if c.kind == "trigger" and c.action == "delete"]

    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != "unchanged"]

    def describe(self) -> str:
        lines = [f"{c.action:9} {c.kind}/{c.name}" for c in self.changes]
        lines += [c.diff for c in self.changes if c.diff]
        counts = {a: sum(c.action == a for c in self.changes) for a in ("create", "update")}
        counts["delete"] = sum(c.action == "delete" for c in self.changes)
        summary = ", ".join(f"{n} to {a}" for a, n in counts.items() if n)
        lines.append(summary or "no change")
        return "\n".join(lines)


def make_client(
    subscription_id: str, credential: Any = None, **client_kwargs: Any
) -> DataFactoryManagementClient:
    """A client with ``DefaultAzureCredential`` unless a credential is given (tests inject one,
    with a ``base_url`` and ``authentication_policy`` for a local HTTP server)."""
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return DataFactoryManagementClient(credential, subscription_id, **client_kwargs)


def _ordered(kind: str, objects: dict[str, Any]) -> list[str]:
    """Names of one kind, each after the objects of the same kind it references."""
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name not in objects:
            return
        if name in path:
            raise ValueError(f"reference cycle among {kind}s: {' -> '.join((*path, name))}")
        for ref_kind, ref in references(properties(objects[name])):
            if ref_kind == kind and ref != name:
                visit(ref, (*path, name))
        done.append(name)

    for name in sorted(objects):
        visit(name, ())
    return done


def _diff(live: dict[str, Any], wanted: dict[str, Any], label: str) -> str:
    a = json.dumps(live, indent=2, sort_keys=True).splitlines()
    b = json.dumps(wanted, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, f"live/{label}", f"code/{label}", lineterm=""))


def live_objects(client: DataFactoryManagementClient, cfg: AdfConfig) -> dict[str, dict[str, Any]]:
    """The factory's current objects, by kind and name."""
    found: dict[str, dict[str, Any]] = {}
    for kind, (group, _) in OPERATIONS.items():
        operations = getattr(client, group)
        listed = operations.list_by_factory(cfg.resource_group, cfg.factory_name)
        found[kind] = {obj.name: obj for obj in listed}
    return found


def plan(
    client: DataFactoryManagementClient, cfg: AdfConfig, factory: Factory, *, prune: bool
) -> Plan:
    """What a deployment would change in the live factory."""
    live = live_objects(client, cfg)
    result = Plan(
        started_triggers=sorted(
            name for name, t in live["trigger"].items() if t.properties.runtime_state == "Started"
        )
    )
    for kind in ORDER:
        wanted = factory.kinds()[kind]
        for name in _ordered(kind, wanted):
            new = properties(wanted[name])
            if name not in live[kind]:
                result.changes.append(Change(kind, name, "create"))
                continue
            old = properties(live[kind][name])
            same = old == new
            action = "unchanged" if same else "update"
            diff = "" if same else _diff(old, new, f"{kind}/{name}")
            result.changes.append(Change(kind, name, action, diff))
    if prune:
        for kind in reversed(ORDER):
            for name in sorted(set(live[kind]) - set(factory.kinds()[kind])):
                result.changes.append(Change(kind, name, "delete"))
    return result


def apply(
    client: DataFactoryManagementClient,
    cfg: AdfConfig,
    factory: Factory,
    the_plan: Plan,
    log: Callable[[str], None] = print,
) -> list[str]:
    """Carry out a plan; returns the operations done, in order (``stop trigger/TR_x``, ...)."""
    done: list[str] = []
    if not the_plan.pending():
        return done
    rg, name_of_factory = cfg.resource_group, cfg.factory_name

    def record(operation: str) -> None:
        done.append(operation)
        log(operation)

    for trigger in the_plan.started_triggers:
        client.triggers.begin_stop(rg, name_of_factory, trigger).result()
        record(f"stop trigger/{trigger}")
    for change in the_plan.changes:
        if change.action not in ("create", "update"):
            continue
        group, _ = OPERATIONS[change.kind]
        resource = factory.kinds()[change.kind][change.name]
        getattr(client, group).create_or_update(rg, name_of_factory, change.name, resource)
        record(f"{change.action} {change.kind}/{change.name}")
    for change in the_plan.changes:
        if change.action == "delete":
            group, _ = OPERATIONS[change.kind]
            getattr(client, group).delete(rg, name_of_factory, change.name)
            record(f"delete {change.kind}/{change.name}")
    deleted = set(the_plan.deleted_triggers())
    restart = [t for t in the_plan.started_triggers if t not in deleted]
    for trigger in [*restart, *the_plan.created_triggers()]:
        client.triggers.begin_start(rg, name_of_factory, trigger).result()
        record(f"start trigger/{trigger}")
    return done


class DeployRefused(Exception):
    """The configuration still has the build's placeholders: deploying would break the factory."""


def check_deployable(cfg: AdfConfig) -> None:
    if cfg.is_placeholder:
        raise DeployRefused(
            f"refusing to deploy {cfg.factory_name}: the workspace URL ({cfg.workspace_url}), "
            f"job id ({cfg.job_id}) and subscription must be the environment's real ones "
            "(the infra outputs workspace_url and job_id), and the Fabric workspace id "
            f'({cfg.fabric_workspace_id}) the environment\'s ("" where it has no Power BI), '
            "not the build's placeholders"
        )
    if cfg.refreshes_powerbi and not GUID.match(cfg.fabric_workspace_id):
        raise DeployRefused(
            f"refusing to deploy {cfg.factory_name}: the Fabric workspace id "
            f"{cfg.fabric_workspace_id!r} is not a GUID (Fabric shows it in the workspace's URL)"
        )


def deploy(
    client: DataFactoryManagementClient,
    cfg: AdfConfig,
    *,
    prune: bool = False,
    dry_run: bool = False,
    log: Callable[[str], None] = print,
) -> Plan:
    """Plan, print the plan, and apply it unless ``dry_run``."""
    if not dry_run:
        check_deployable(cfg)
    factory = build_factory(cfg)
    the_plan = plan(client, cfg, factory, prune=prune)
    log(the_plan.describe())
    if not dry_run:
        apply(client, cfg, factory, the_plan, log)
    return the_plan


def run_pipeline(
    client: DataFactoryManagementClient,
    cfg: AdfConfig,
    pipeline: str,
    parameters: dict[str, Any] | None = None,
    *,
    poll_seconds: float = 15.0,
    timeout_seconds: float = 4 * 3600,
) -> m.PipelineRun:
    """Start a pipeline run and wait until it ends; returns the final run."""
    rg, factory = cfg.resource_group, cfg.factory_name
    run_id = client.pipelines.create_run(rg, factory, pipeline, parameters=parameters).run_id
    deadline = time.monotonic() + timeout_seconds
    while True:
        run = client.pipeline_runs.get(rg, factory, run_id)
        if run.status in TERMINAL_RUN_STATES or time.monotonic() > deadline:
            return run
        time.sleep(poll_seconds)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Deploy the Data Factory objects")
    parser.add_argument("--env", choices=ENVIRONMENTS, required=True)
    parser.add_argument("--subscription-id", required=True)
    parser.add_argument(
        "--workspace-url", required=True, help="infra output workspace_url (https://adb-...)"
    )
    parser.add_argument("--job-id", required=True, help="infra output job_id")
    parser.add_argument(
        "--fabric-workspace-id",
        required=True,
        help='the Fabric workspace of the Power BI model PL_Orchestrate refreshes ("": none)',
    )
    parser.add_argument("--prune", action="store_true", help="delete objects no longer defined")
    parser.add_argument("--yes", action="store_true", help="confirm --prune's deletions")
    parser.add_argument("--dry-run", action="store_true", help="show the changes, apply none")
    parser.add_argument("--run", metavar="PIPELINE", help="then run this pipeline and wait")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> AdfConfig:
    values = {
        "subscription_id": args.subscription_id,
        "fabric_workspace_id": args.fabric_workspace_id,
    }
    if args.workspace_url:
        values["workspace_url"] = args.workspace_url
    if args.job_id:
        values["job_id"] = args.job_id
    return adf_config(args.env).with_deployment(**values)


def main(argv: Sequence[str] | None = None, credential: Any = None, **client_kwargs: Any) -> int:
    args = parse_args(argv)
    cfg = config_from_args(args)
    try:
        check_deployable(cfg)
    except DeployRefused as refused:
        print(refused, file=sys.stderr)
        return 2
    if args.prune and not args.dry_run and not args.yes:
        print("--prune deletes every object the code no longer defines: add --yes", file=sys.stderr)
        return 2
    client = make_client(cfg.subscription_id, credential, **client_kwargs)
    deploy(client, cfg, prune=args.prune, dry_run=args.dry_run)
    if args.run and not args.dry_run:
        run = run_pipeline(client, cfg, args.run)
        print(f"{args.run} run {run.run_id}: {run.status}")
        return 0 if run.status == "Succeeded" else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
