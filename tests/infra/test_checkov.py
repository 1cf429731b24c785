"""checkov over the synthesized Terraform JSON of every environment: no failed check, checks run
on all six stacks, and the passes that prove less than their names say are pinned by tests.

checkov pins dependencies that clash with the project's, so it runs in its own tool environment
(``uv tool run``, see ``tests/checkov_tool.py``), with its whole dependency tree pinned by
``infra/checkov-requirements.txt``. Every skipped check is in ``infra/checkov-skips.toml`` with
its reason. checkov has no check for the Databricks provider's resources, so the workspace stacks
are checked by the project's own checks in ``infra/checkov_checks/``.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.checkov_tool import failed_checks, read_skips, run_checkov
from tests.infra import test_network, test_security
from tests.infra.conftest import ENVS, STACKS, Synth

REPO = Path(__file__).resolve().parents[2]
SKIPS_FILE = REPO / "infra" / "checkov-skips.toml"
OWN_CHECKS = REPO / "infra" / "checkov_checks"
OWN_CHECK_IDS = {f"CKV_C2C_{n}" for n in range(1, 11)}
FRAMEWORK = "terraform_json"
# Checks that pass for a reason other than the property they name, and the test that pins what
# the stacks really do.
HOLLOW_PASSES = {
    # passes because a Key Vault linked service exists; the factory has no customer-managed key
    "CKV2_AZURE_15": (test_security, "test_data_factory_uses_microsoft_managed_keys"),
    # passes on the default-deny firewall while dev's and test's vaults keep public access on
    "CKV_AZURE_189": (test_network, "test_key_vault_public_access_is_firewalled_where_it_is_on"),
}


def skips() -> dict[str, str]:
    return read_skips(SKIPS_FILE)


def test_every_skip_has_a_reason() -> None:
    for check, reason in skips().items():
        assert check.startswith(("CKV_", "CKV2_")), check
        assert len(reason.split()) >= 8, f"{check}: give a real reason"


@pytest.fixture(scope="module")
def checkov_report(synth: Synth) -> list[dict[str, Any]]:
    return run_checkov(
        synth.outdir / "stacks",
        FRAMEWORK,
        sorted(skips()),
        external_checks=OWN_CHECKS,
        with_passed=True,
    )


def test_checkov_finds_no_failed_check(checkov_report: list[dict[str, Any]]) -> None:
    failed = [
        f"{f['check_id']} {f['resource']} ({f['file_path']}): {f['check_name']}"
        for f in failed_checks(checkov_report)
    ]
    assert failed == []
    assert sum(r["summary"]["parsing_errors"] for r in checkov_report) == 0


def test_checkov_checks_every_stack(checkov_report: list[dict[str, Any]]) -> None:
    """Each of the six stacks has passed checks, the workspace stacks every one of ours."""
    passed = [f for r in checkov_report for f in r["results"]["passed_checks"]]
    per_stack = Counter(f["file_path"].split("/")[1] for f in passed)
    stacks = {f"c2c-{env}-{stack}" for env in ENVS for stack in STACKS}
    assert set(per_stack) == stacks
    assert all(per_stack[s] >= 10 for s in stacks), per_stack
    for env in ENVS:
        ours = {
            f["check_id"]
            for f in passed
            if f["file_path"].startswith(f"/c2c-{env}-workspace/")
            and f["check_id"] in OWN_CHECK_IDS
        }
        assert ours == OWN_CHECK_IDS, env


def test_each_hollow_pass_is_backed_by_a_test_of_the_real_property(
    checkov_report: list[dict[str, Any]],
) -> None:
    passed = {f["check_id"] for r in checkov_report for f in r["results"]["passed_checks"]}
    for check, (module, test) in HOLLOW_PASSES.items():
        assert check in passed, f"{check} no longer passes: drop it from HOLLOW_PASSES"
        assert callable(getattr(module, test, None)), f"{check}: {module.__name__}.{test}"


def test_no_skip_is_stale(synth: Synth) -> None:
    """Without the skips, checkov fails exactly the skipped checks: none is left over."""
    reports = run_checkov(synth.outdir / "stacks", FRAMEWORK, [], external_checks=OWN_CHECKS)
    found = {f["check_id"] for f in failed_checks(reports)}
    assert found == set(skips())


def break_workspace(stack: dict[str, Any]) -> dict[str, Any]:
    """A workspace stack with one violation of each of the project's own checks."""
    bad = copy.deepcopy(stack)
    resources = bad["resource"]
    (job,) = resources["databricks_job"].values()
    del job["run_as"]
    job["job_cluster"][0]["new_cluster"]["data_security_mode"] = "NONE"
    next(iter(resources["databricks_grants"].values()))["grant"][0]["privileges"] = [
        "ALL_PRIVILEGES"
    ]
    next(iter(resources["databricks_permissions"].values()))["access_control"][0] = {
        "group_name": "users",
        "permission_level": "CAN_MANAGE",
    }
    next(iter(resources["databricks_sql_endpoint"].values()))["auto_stop_mins"] = 0
    next(iter(resources["databricks_dashboard"].values()))["embed_credentials"] = True
    for principal in resources["databricks_service_principal"].values():
        principal["allow_cluster_create"] = True
    next(iter(resources["databricks_external_location"].values()))["skip_validation"] = True
    bad["provider"]["databricks"][0]["token"] = "${var.token}"
    for rule in resources["databricks_mws_ncc_private_endpoint_rule"].values():
        rule["group_id"] = "sqlServer"
    return bad


def test_the_projects_checks_fail_what_they_forbid(synth: Synth, tmp_path: Path) -> None:
    stack = tmp_path / "stacks" / "c2c-dev-workspace"
    stack.mkdir(parents=True)
    (stack / "cdk.tf.json").write_text(json.dumps(break_workspace(synth.stack("dev", "workspace"))))
    reports = run_checkov(tmp_path / "stacks", FRAMEWORK, [], external_checks=OWN_CHECKS)
    assert {f["check_id"] for f in failed_checks(reports)} == OWN_CHECK_IDS
