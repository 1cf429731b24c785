"""Hardening properties of the synthesized stacks that the other infra tests leave open, each
one asserted in every environment (``make mutants`` checks that weakening it fails a test)."""

from __future__ import annotations

import json

import pytest

from tests.infra.conftest import ENVS, Synth

by_env = pytest.mark.parametrize("env", ENVS)


@by_env
def test_no_container_of_the_lake_is_readable_anonymously(synth: Synth, env: str) -> None:
    containers = synth.resources(env, "platform", "azurerm_storage_container")
    assert containers
    for rid, container in containers.items():
        assert container["container_access_type"] == "private", rid


@by_env
def test_the_job_cluster_policy_pins_every_setting_that_guards_the_data(
    synth: Synth, env: str
) -> None:
    """Clusters under the policy cannot choose another access mode, another runtime or an
    all-purpose cluster, whatever the job definition asks for."""
    (policy,) = synth.resources(env, "workspace", "databricks_cluster_policy").values()
    definition = json.loads(policy["definition"])
    for setting, value in (
        ("data_security_mode", "SINGLE_USER"),
        ("cluster_type", "job"),
    ):
        assert definition[setting] == {"type": "fixed", "value": value}, setting
    assert definition["spark_version"]["type"] == "fixed"
    (job,) = synth.resources(env, "workspace", "databricks_job").values()
    for cluster in job["job_cluster"]:
        assert cluster["new_cluster"]["policy_id"] == "${databricks_cluster_policy.policy.id}"


@by_env
def test_the_workspace_keeps_the_network_rules_databricks_requires(synth: Synth, env: str) -> None:
    (workspace,) = synth.resources(env, "platform", "azurerm_databricks_workspace").values()
    assert workspace["network_security_group_rules_required"] == "AllRules"
