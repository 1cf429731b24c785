"""What a reviewer checks in the workflows, as rules over the parsed YAML.

Each rule returns its violations. The tests assert that the real workflows have none, and that a
copy of a real workflow with one deliberate mistake has some, so no rule passes by looking at
nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.workflows.conftest import (
    DEPLOY_WORKFLOW,
    REPO,
    Workflow,
    action_name,
    is_action,
    make_targets,
    parse,
)

Workflows = dict[str, Workflow]

SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
ENVIRONMENTS = ("dev", "test", "prod")


def unpinned_actions(workflows: Workflows) -> list[str]:
    """Every action is pinned to a full commit SHA, with its exact version in a comment."""
    problems = []
    for wf in workflows.values():
        for job_id, ref in wf.uses():
            if ref.startswith("./"):
                continue  # a reusable workflow of this repository, at this commit
            if not SHA_PIN.match(ref):
                problems.append(f"{wf.name}:{job_id}: {ref} is not pinned to a commit SHA")
                continue
            lines = [line.rstrip() for line in wf.text.splitlines() if ref in line]
            if not all(VERSION_COMMENT.search(line) for line in lines):
                problems.append(f"{wf.name}:{job_id}: {ref} has no '# vX.Y.Z' comment")
    return problems


def inconsistent_pins(workflows: Workflows) -> list[str]:
    """One action, one commit: the same action is never pinned to two SHAs."""
    pins: dict[str, set[str]] = {}
    for wf in workflows.values():
        for _, ref in wf.uses():
            if not ref.startswith("./"):
                pins.setdefault(action_name(ref).lower(), set()).add(ref)
    return [f"{name}: {sorted(refs)}" for name, refs in pins.items() if len(refs) > 1]


def broad_permissions(workflows: Workflows) -> list[str]:
    """Top-level permissions are read-only (or none); a job adds only what it needs."""
    problems = []
    for wf in workflows.values():
        top = wf.doc.get("permissions")
        if not isinstance(top, dict) or any(v not in ("read", "none") for v in top.values()):
            problems.append(f"{wf.name}: top-level permissions {top!r} are not read-only")
        for job_id, job in wf.jobs.items():
            perms = job.get("permissions")
            if perms is None and "uses" not in job and top != {}:
                continue  # inherits the read-only top level
            if not isinstance(perms, dict):
                problems.append(f"{wf.name}:{job_id}: permissions {perms!r} are not explicit")
    return problems


def is_deploy_job(wf: Workflow, job_id: str) -> bool:
    job = wf.jobs[job_id]
    return job.get("uses") == DEPLOY_WORKFLOW or (wf.name == "deploy.yml" and "steps" in job)


def misplaced_writes(workflows: Workflows) -> list[str]:
    """id-token: write only in deploy jobs; contents: write only where the release is published."""
    problems = []
    for wf in workflows.values():
        for job_id, job in wf.jobs.items():
            perms = job.get("permissions") or {}
            if perms.get("id-token") == "write" and not is_deploy_job(wf, job_id):
                problems.append(f"{wf.name}:{job_id}: id-token: write outside a deploy job")
            writes = {k for k, v in perms.items() if v == "write"} - {"id-token"}
            publishes = any(
                "gh release create" in str(s.get("run", "")) for s in job.get("steps", [])
            )
            if writes and not (writes == {"contents"} and publishes):
                problems.append(f"{wf.name}:{job_id}: writes {sorted(writes)}")
    return problems


def unsafe_deploy_jobs(workflows: Workflows) -> list[str]:
    """A deploy job runs in its GitHub environment, with OIDC, one at a time, never cancelled."""
    problems = []
    deploy = workflows["deploy.yml"]
    if set(deploy.doc["on"]) != {"workflow_call"}:
        problems.append("deploy.yml: must only be called by another workflow")
    for job_id, job in deploy.jobs.items():
        where = f"deploy.yml:{job_id}"
        environment = str(job.get("environment"))
        plan_env = "${{ inputs.mode == 'plan' && format('{0}-plan', inputs.env) || inputs.env }}"
        if environment not in ("${{ inputs.env }}", plan_env):
            problems.append(f"{where}: environment is {environment!r}")
        if (job.get("permissions") or {}).get("id-token") != "write":
            problems.append(f"{where}: no id-token: write for OIDC")
        concurrency = job.get("concurrency") or {}
        if "inputs.env" not in str(concurrency.get("group", "")):
            problems.append(f"{where}: concurrency group is not per environment")
        if concurrency.get("cancel-in-progress") is not False:
            problems.append(f"{where}: a deploy in progress could be cancelled")
    return problems


def wrong_deploy_order(workflows: Workflows) -> list[str]:
    """The release deploys dev, then test (running the pipeline), then prod, the same build."""
    release = workflows["release.yml"]
    callers = {
        job["with"]["env"]: (job_id, job)
        for job_id, job in release.jobs.items()
        if job.get("uses") == DEPLOY_WORKFLOW
    }
    if tuple(sorted(callers, key=ENVIRONMENTS.index)) != ENVIRONMENTS or len(callers) != 3:
        return [f"release.yml deploys {sorted(callers)}, not dev, test and prod"]
    problems = []
    before = {"dev": "build", "test": callers["dev"][0], "prod": callers["test"][0]}
    for env, (job_id, job) in callers.items():
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        if before[env] not in needs:
            problems.append(f"release.yml:{job_id}: does not wait for {before[env]}")
        if "build" not in needs or "needs.build.outputs.wheel" not in str(job["with"]["wheel"]):
            problems.append(f"release.yml:{job_id}: does not deploy the build job's wheel")
        if job["with"].get("run-pipeline") is not (env == "test"):
            problems.append(f"release.yml:{job_id}: run-pipeline should be {env == 'test'}")
    if "tag" not in str(callers["prod"][1].get("if", "")):
        problems.append("release.yml: prod is deployed without a release tag")
    return problems


def secret_logins(workflows: Workflows) -> list[str]:
    """Azure by OIDC only: no client secret or creds, no Databricks token, no stored secrets."""
    problems = []
    for wf in workflows.values():
        for job_id, step in wf.steps():
            if is_action(str(step.get("uses", "")), "azure/login"):
                inputs = set(step.get("with", {}))
                if inputs != {"client-id", "tenant-id", "subscription-id"}:
                    problems.append(f"{wf.name}:{job_id}: azure/login with {sorted(inputs)}")
        if "DATABRICKS_TOKEN" in wf.text:
            problems.append(f"{wf.name}: mentions DATABRICKS_TOKEN")
        for name in re.findall(r"secrets\.([A-Za-z0-9_]+)", wf.text):
            if name != "GITHUB_TOKEN":
                problems.append(f"{wf.name}: uses secrets.{name}")
    return problems


def unversioned_release(workflows: Workflows) -> list[str]:
    """The release wheel's version comes from c2c-ops release-version, over the whole history,
    in the release's first job (an unparsable tag stops it before anything else runs)."""
    jobs = workflows["release.yml"].jobs
    version, build = jobs.get("version", {}), jobs["build"]
    problems = []
    version_scripts = "\n".join(str(s.get("run", "")) for s in version.get("steps", []))
    if "c2c-ops release-version" not in version_scripts or version.get("needs"):
        problems.append("release.yml:version: the first job does not run c2c-ops release-version")
    scripts = "\n".join(str(s.get("run", "")) for s in build["steps"])
    if "uv version --package c2c-etl" not in scripts or "make wheel" not in scripts:
        problems.append("release.yml:build: the version is not applied before make wheel")
    checkout = next(
        (s for s in version.get("steps", []) if is_action(s.get("uses", ""), "actions/checkout")),
        {},
    )
    if checkout.get("with", {}).get("fetch-depth") != 0:
        problems.append("release.yml:version: git describe needs fetch-depth: 0")
    publish = jobs["publish"]
    publish_runs = " ".join(str(s.get("run", "")) for s in publish["steps"])
    if "gh release create" not in publish_runs or "--clobber" in publish_runs:
        problems.append("release.yml:publish: must gh release create without --clobber")
    return problems


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def ungated_release(workflows: Workflows) -> list[str]:
    """The release builds only after CI passed on the same commit, from main or a tag on main;
    every job waits for the version job; prod waits for the published release and applies a
    plan a plan job showed first."""
    release, ci = workflows["release.yml"], workflows["ci.yml"]
    jobs = release.jobs
    problems = []
    if "workflow_call" not in ci.doc["on"]:
        problems.append("ci.yml: cannot be called by the release")
    ci_callers = [j for j, job in jobs.items() if job.get("uses") == "./.github/workflows/ci.yml"]
    if not ci_callers or not set(ci_callers) <= set(_needs(jobs["build"])):
        problems.append("release.yml:build: does not wait for CI on the same commit")

    def reaches(job_id: str, target: str) -> bool:
        return any(n == target or reaches(n, target) for n in _needs(jobs[job_id]))

    for job_id in jobs:
        if job_id != "version" and not reaches(job_id, "version"):
            problems.append(f"release.yml:{job_id}: runs before the version is checked")
    version_scripts = "\n".join(str(s.get("run", "")) for s in jobs["version"]["steps"])
    if "git merge-base --is-ancestor" not in version_scripts or (
        "refs/heads/main" not in version_scripts
    ):
        problems.append("release.yml:version: does not refuse refs other than main")
    deploys = {job_id: job for job_id, job in jobs.items() if job.get("uses") == DEPLOY_WORKFLOW}
    prod = [j for j, job in deploys.items() if job["with"]["env"] == "prod"]
    plans = [j for j in prod if deploys[j]["with"].get("mode") == "plan"]
    applies = [j for j in prod if deploys[j]["with"].get("mode") == "apply"]
    if len(plans) != 1 or len(applies) != 1 or len(prod) != 2:
        return [*problems, "release.yml: prod is not one plan job and one apply job"]
    if not {"publish", plans[0]} <= set(_needs(deploys[applies[0]])):
        problems.append("release.yml: the prod apply does not wait for the release and the plan")
    return problems


def timeouts_that_do_not_add_up(workflows: Workflows) -> list[str]:
    """In deploy.yml every run step has a timeout, and the job's timeout covers the steps of
    each mode added up (two minutes for each action step)."""
    problems = []
    deploy = workflows["deploy.yml"].jobs["deploy"]
    job_timeout = deploy.get("timeout-minutes", 0)
    for mode in ("deploy", "plan", "apply"):
        total = 0
        for step in deploy["steps"]:
            condition = str(step.get("if", ""))
            only = re.search(r"inputs\.mode == '(\w+)'", condition)
            never = re.search(r"inputs\.mode != '(\w+)'", condition)
            if (only and only.group(1) != mode) or (never and never.group(1) == mode):
                continue
            if "run" in step:
                if not isinstance(step.get("timeout-minutes"), int):
                    problems.append(f"deploy.yml: step {step.get('name')!r} has no timeout")
                    continue
                total += step["timeout-minutes"]
            else:
                total += 2
        if total > job_timeout:
            problems.append(f"deploy.yml: {mode}: steps take up to {total} min, job {job_timeout}")
    return problems


def no_rollback(workflows: Workflows) -> list[str]:
    """rollback.yml deploys a release's own wheel (from its GitHub Release) with that
    release's code, and allows exactly that downgrade."""
    rollback = workflows.get("rollback.yml")
    if rollback is None:
        return ["no rollback.yml"]
    scripts = "\n".join(script for _, script in rollback.run_scripts())
    callers = [job for job in rollback.jobs.values() if job.get("uses") == DEPLOY_WORKFLOW]
    problems = []
    if "gh release download" not in scripts or "ref_type" not in rollback.text:
        problems.append("rollback.yml: the wheel is not the tag's released wheel")
    envs = sorted(job["with"]["env"] for job in callers)
    if envs != ["dev", "prod", "prod", "test"]:
        problems.append(f"rollback.yml: deploys {envs}, not dev, test and prod (plan, apply)")
    if any(job["with"].get("allow-downgrade") is not True for job in callers):
        problems.append("rollback.yml: a deploy without allow-downgrade")
    return problems


def wrong_deploy_commands(workflows: Workflows) -> list[str]:
    """The deploy job applies the version, then deploys and (in test) runs the pipeline."""
    deploy = workflows["deploy.yml"].jobs["deploy"]
    runs = [str(s.get("run", "")) for s in deploy["steps"]]
    order = [
        'uv version --package c2c-etl "$VERSION"',
        "make sync node",
        'c2c-ops deploy --env "$ENV_NAME" --wheel "dist/$WHEEL"',
        'c2c-ops run --env "$ENV_NAME" PL_Orchestrate --timeout',
    ]
    positions = [next((i for i, r in enumerate(runs) if cmd in r), -1) for cmd in order]
    problems = [
        f"deploy.yml: no step runs {cmd}" for cmd, p in zip(order, positions, strict=True) if p < 0
    ]
    if not problems and positions != sorted(positions):
        problems.append(f"deploy.yml: steps out of order {positions}")
    run_step: dict[str, Any] = next(
        (s for s in deploy["steps"] if "c2c-ops run" in str(s.get("run", ""))), {}
    )
    if not str(run_step.get("if", "")).startswith("inputs.run-pipeline"):
        problems.append("deploy.yml: the pipeline run does not depend on inputs.run-pipeline")
    env = deploy.get("env", {})
    for key in ("ARM_USE_OIDC", "ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"):
        if key not in env:
            problems.append(f"deploy.yml: Terraform has no {key}")
    if "TF_VAR_adf_client_id" not in env or "AZURE_SUBSCRIPTION_ID" not in env:
        problems.append(
            "deploy.yml: c2c-ops deploy needs TF_VAR_adf_client_id and the subscription"
        )
    deploy_step: dict[str, Any] = next(
        (s for s in deploy["steps"] if "c2c-ops deploy" in str(s.get("run", ""))
         and "--plan-out" not in str(s.get("run", ""))), {}
    )  # fmt: skip
    fabric = (deploy_step.get("env") or {}).get("FABRIC_WORKSPACE_ID")
    if fabric != "${{ vars.FABRIC_WORKSPACE_ID }}":
        problems.append(
            "deploy.yml: c2c-ops deploy does not get FABRIC_WORKSPACE_ID (the factory's Power "
            "BI refresh)"
        )
    return problems


def missing_make_targets(workflows: Workflows) -> list[str]:
    """Every ``make <target>`` a workflow runs exists in the Makefile."""
    targets = make_targets(REPO / "Makefile")
    problems = []
    for wf in workflows.values():
        for job_id, script in wf.run_scripts():
            for line in script.splitlines():
                match = re.match(r"^\s*make((?:\s+[A-Za-z0-9_.-]+)+)", line)
                for target in match.group(1).split() if match else []:
                    if target not in targets:
                        problems.append(f"{wf.name}:{job_id}: make {target} is not a target")
    return problems


CI_CHECKS = {
    "lint and format check": "make lint",
    "type check": "make typecheck",
    "unit and integration tests": "uv run pytest",
    "infrastructure synth": "make synth",
    "checkov": "make checkov",
    "Data Factory build": "make adf",
    "Data Factory checks": "pytest tests/adf_pipelines",
    "wheel build": "make wheel",
    "workflow lint": "make lint-workflows",
    "security checks": "make security",
    "dependency audit": "make audit",
}


def incomplete_ci(workflows: Workflows) -> list[str]:
    """CI runs every check on every push to main and pull request, and keeps the wheel."""
    ci = workflows["ci.yml"]
    problems = []
    on = ci.doc["on"]
    if "pull_request" not in on or "main" not in on.get("push", {}).get("branches", []):
        problems.append("ci.yml: not on push to main and pull_request")
    if ci.doc.get("concurrency", {}).get("cancel-in-progress") is not True:
        problems.append("ci.yml: superseded runs are not cancelled")
    scripts = "\n".join(script for _, script in ci.run_scripts())
    problems += [
        f"ci.yml: does not run the {what}" for what, cmd in CI_CHECKS.items() if cmd not in scripts
    ]
    wheel_jobs = [
        job_id
        for job_id, step in ci.steps()
        if is_action(step.get("uses", ""), "actions/upload-artifact")
        and "c2c_etl" in str(step.get("with", {}).get("path", ""))
    ]
    if not wheel_jobs:
        problems.append("ci.yml: the wheel is not uploaded as an artifact")
    expected = {
        "actions/setup-python": {"python-version": "3.11"},
        "actions/setup-java": {"distribution": "temurin", "java-version": "17"},
        "actions/setup-node": {"node-version": "22"},
    }
    for wf in workflows.values():
        for job_id, step in wf.steps():
            for action, inputs in expected.items():
                if is_action(step.get("uses", ""), action) and step.get("with") != inputs:
                    problems.append(f"{wf.name}:{job_id}: {action} with {step.get('with')}")
    return problems


def node_older_than_cdktn_needs(workflows: Workflows) -> list[str]:
    """The deploy's Node.js satisfies the cdktn CLI's own engines (package-lock.json), which
    otherwise stops at its first command."""
    lock = json.loads((REPO / "package-lock.json").read_text())
    wanted = lock["packages"]["node_modules/cdktn-cli"]["engines"]["node"]
    major = int(re.match(r">=(\d+)", wanted).group(1))  # type: ignore[union-attr]
    deploy = workflows["deploy.yml"]
    versions = [
        str(step.get("with", {}).get("node-version"))
        for _, step in deploy.steps()
        if is_action(step.get("uses", ""), "actions/setup-node")
    ]
    if not versions:
        return ["deploy.yml: no actions/setup-node for the cdktn CLI"]
    return [
        f"deploy.yml: Node.js {v} is older than cdktn-cli's engines ({wanted})"
        for v in versions
        if int(v.split(".")[0]) < major
    ]


def unbounded_jobs(workflows: Workflows) -> list[str]:
    """Every job that runs steps has a timeout (callers of reusable workflows cannot)."""
    return [
        f"{wf.name}:{job_id}: no timeout-minutes"
        for wf in workflows.values()
        for job_id, job in wf.jobs.items()
        if "steps" in job and not isinstance(job.get("timeout-minutes"), int)
    ]


def injectable_scripts(workflows: Workflows) -> list[str]:
    """``run:`` scripts read values from environment variables, never from ``${{ }}``.

    An expression inside a script is pasted into the shell before it runs, so a crafted input
    (a branch name, a tag) could run commands; an environment variable is only data.
    """
    return [
        f"{wf.name}:{job_id}: expression in a run script"
        for wf in workflows.values()
        for job_id, script in wf.run_scripts()
        if "${{" in script
    ]


def persisted_credentials(workflows: Workflows) -> list[str]:
    """Checkouts do not leave the job's token in .git/config for later steps."""
    return [
        f"{wf.name}:{job_id}: checkout keeps the token"
        for wf in workflows.values()
        for job_id, step in wf.steps()
        if is_action(step.get("uses", ""), "actions/checkout")
        and step.get("with", {}).get("persist-credentials") is not False
    ]


Rule = Callable[[Workflows], list[str]]


def broken(workflows: Workflows, name: str, old: str, new: str) -> Workflows:
    """A copy of the workflows in which one file has every ``old`` replaced by ``new``."""
    text = workflows[name].text
    assert old in text, f"{old!r} is not in {name}: update the mutation"
    return {**workflows, name: parse(text.replace(old, new), name)}


# Each rule, and one mistake in a real workflow that it must catch.
CASES: list[tuple[Rule, str, str, str]] = [
    (unpinned_actions, "ci.yml", "@11bd71901bbe5b1630ceea73d27597364c9af683", "@v4"),
    (unpinned_actions, "deploy.yml", "7d6820020 # v4.4.0", "7d6820020"),
    (inconsistent_pins, "release.yml", "a26af69be951a213d495a4c3e4e4022e16d87065", "0" * 40),
    (broad_permissions, "ci.yml", "permissions:\n  contents: read", "permissions: write-all"),
    (broad_permissions, "release.yml", "permissions: {}", "permissions:\n  contents: write"),
    (
        misplaced_writes,
        "ci.yml",
        "timeout-minutes: 15\n",
        "timeout-minutes: 15\n    permissions:\n      id-token: write\n",
    ),
    (
        misplaced_writes,
        "release.yml",
        "timeout-minutes: 20\n    permissions:\n      contents: read",
        "timeout-minutes: 20\n    permissions:\n      contents: write",
    ),
    (unsafe_deploy_jobs, "deploy.yml", "cancel-in-progress: false", "cancel-in-progress: true"),
    (
        unsafe_deploy_jobs,
        "deploy.yml",
        "environment: ${{ inputs.mode == 'plan' && format('{0}-plan', inputs.env) || inputs.env }}",
        "environment: dev",
    ),
    (unsafe_deploy_jobs, "deploy.yml", "group: deploy-${{ inputs.env }}", "group: deploy"),
    (
        wrong_deploy_order,
        "release.yml",
        "needs: [version, build, deploy-test, publish, plan-prod]",
        "needs: [build]",
    ),
    (ungated_release, "release.yml", "needs: [version, ci]", "needs: [version]"),
    (ungated_release, "ci.yml", "  workflow_call:\n", ""),
    (ungated_release, "release.yml", "git merge-base --is-ancestor", "true"),
    (ungated_release, "release.yml", "mode: plan", "mode: apply"),
    (ungated_release, "release.yml", "needs: [version, build, deploy-test, publish]", "needs: []"),
    (timeouts_that_do_not_add_up, "deploy.yml", "timeout-minutes: 225", "timeout-minutes: 180"),
    (timeouts_that_do_not_add_up, "deploy.yml", "        timeout-minutes: 15\n", ""),
    (no_rollback, "rollback.yml", "allow-downgrade: true", "allow-downgrade: false"),
    (no_rollback, "rollback.yml", "gh release download", "gh run download"),
    (wrong_deploy_order, "release.yml", "env: prod", "env: test"),
    (wrong_deploy_order, "release.yml", "run-pipeline: true", "run-pipeline: false"),
    (
        secret_logins,
        "deploy.yml",
        "client-id: ${{ vars.AZURE_CLIENT_ID }}",
        "creds: ${{ secrets.AZURE_CREDENTIALS }}",
    ),
    (
        secret_logins,
        "deploy.yml",
        'UV_FROZEN: "1"',
        'UV_FROZEN: "1"\n      DATABRICKS_TOKEN: ${{ secrets.DATABRICKS_TOKEN }}',
    ),
    (unversioned_release, "release.yml", "c2c-ops release-version", "c2c-ops version"),
    (unversioned_release, "release.yml", "fetch-depth: 0", "fetch-depth: 1"),
    (unversioned_release, "release.yml", "--verify-tag", "--verify-tag --clobber"),
    (
        wrong_deploy_commands,
        "deploy.yml",
        "if: inputs.run-pipeline && inputs.mode != 'plan'\n        timeout",
        "timeout",
    ),
    (wrong_deploy_commands, "deploy.yml", "ARM_USE_OIDC", "ARM_USE_MSI"),
    (missing_make_targets, "ci.yml", "run: make typecheck", "run: make types"),
    (incomplete_ci, "ci.yml", "run: make lint-workflows", "run: make lint"),
    (incomplete_ci, "ci.yml", "run: make audit", "run: make security"),
    (incomplete_ci, "ci.yml", 'python-version: "3.11"', 'python-version: "3.12"'),
    (
        unbounded_jobs,
        "release.yml",
        "runs-on: ubuntu-24.04\n    timeout-minutes: 10\n",
        "runs-on: ubuntu-24.04\n",
    ),
    (node_older_than_cdktn_needs, "deploy.yml", 'node-version: "22"', 'node-version: "20"'),
    (
        injectable_scripts,
        "deploy.yml",
        '--env "$ENV_NAME" --wheel',
        "--env ${{ inputs.env }} --wheel",
    ),
    (
        persisted_credentials,
        "release.yml",
        "persist-credentials: false",
        "persist-credentials: true",
    ),
]
RULES = list(dict.fromkeys(rule for rule, *_ in CASES))


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_workflows_follow_the_rule(rule: Rule, workflows: Workflows) -> None:
    assert rule(workflows) == [], rule.__doc__


@pytest.mark.parametrize(
    ("rule", "name", "old", "new"),
    CASES,
    ids=[f"{rule.__name__}-{i}" for i, (rule, *_) in enumerate(CASES)],
)
def test_the_rule_catches_a_broken_workflow(
    rule: Rule, name: str, old: str, new: str, workflows: Workflows
) -> None:
    assert rule(broken(workflows, name, old, new)) != []


def test_every_workflow_is_covered_by_the_rules(workflows: Workflows) -> None:
    """A new workflow file must be added to the rules' expectations (and to this list)."""
    assert set(workflows) == {"ci.yml", "release.yml", "deploy.yml", "rollback.yml"}
