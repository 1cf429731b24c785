"""What keeps prod's data from an accidental delete or a leaked token: management locks,
``prevent_destroy``, personal access tokens off. Dev and test stay disposable."""

from __future__ import annotations

import pytest

from tests.infra.conftest import ENVS, Synth

by_env = pytest.mark.parametrize("env", ENVS)

# Resources that hold data or its history, by stack and type.
STATEFUL = {
    "platform": (
        "azurerm_storage_account",
        "azurerm_storage_container",
        "azurerm_key_vault",
        "azurerm_databricks_workspace",
        "azurerm_log_analytics_workspace",
    ),
    "workspace": (
        "databricks_catalog",
        "databricks_schema",
        "databricks_volume",
        "databricks_external_location",
        "databricks_storage_credential",
    ),
}
LOCKED = {
    "azurerm_storage_account.lake",
    "azurerm_key_vault.vault",
    "azurerm_databricks_workspace.workspace",
    "azurerm_log_analytics_workspace.logs",
}


@by_env
def test_stateful_resources_prevent_destroy_in_prod_only(synth: Synth, env: str) -> None:
    for stack, types in STATEFUL.items():
        for rtype in types:
            resources = synth.resources(env, stack, rtype)
            assert resources, f"{stack} has no {rtype}"
            for rid, resource in resources.items():
                lifecycle = resource.get("lifecycle", {})
                assert lifecycle.get("prevent_destroy", False) is (env == "prod"), f"{rtype}.{rid}"


@by_env
def test_prod_locks_its_stateful_resources_against_deletion(synth: Synth, env: str) -> None:
    locks = synth.resources(env, "platform", "azurerm_management_lock").values()
    if env != "prod":
        assert list(locks) == []
        return
    scopes = {lock["scope"].removeprefix("${").removesuffix(".id}") for lock in locks}
    assert scopes == LOCKED
    assert {lock["lock_level"] for lock in locks} == {"CanNotDelete"}


@by_env
def test_personal_access_tokens_are_off_in_prod(synth: Synth, env: str) -> None:
    confs = synth.resources(env, "workspace", "databricks_workspace_conf").values()
    if env == "prod":
        (conf,) = confs
        assert conf["custom_config"] == {"enableTokensConfig": "false"}
    else:
        assert list(confs) == []
