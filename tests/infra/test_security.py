"""Security properties of the synthesized Terraform, one test per property and environment."""

from __future__ import annotations

import re

import pytest

from tests.infra.conftest import ENVS, Synth

# Resource types that accept diagnostic settings, and the types that deliberately have none
# (Azure offers no diagnostic categories for them, or they are sub-resources).
DIAGNOSABLE = {
    "azurerm_storage_account",
    "azurerm_key_vault",
    "azurerm_data_factory",
    "azurerm_databricks_workspace",
    "azurerm_log_analytics_workspace",
    "azurerm_network_security_group",
    "azurerm_virtual_network",
    "azurerm_public_ip",
}
WITHOUT_DIAGNOSTICS = {
    "azurerm_resource_group",
    "azurerm_subnet",
    "azurerm_subnet_network_security_group_association",
    "azurerm_storage_container",
    "azurerm_storage_management_policy",
    "azurerm_data_factory_integration_runtime_azure",
    "azurerm_data_factory_linked_service_key_vault",
    "azurerm_data_factory_managed_private_endpoint",
    "azurerm_databricks_access_connector",
    "azurerm_private_dns_zone",
    "azurerm_private_dns_zone_virtual_network_link",
    "azurerm_private_endpoint",
    "azurerm_role_assignment",
    "azurerm_monitor_diagnostic_setting",
    "azurerm_nat_gateway",
    "azurerm_nat_gateway_public_ip_association",
    "azurerm_subnet_nat_gateway_association",
    "azurerm_monitor_action_group",
    "azurerm_monitor_metric_alert",
    "azurerm_monitor_scheduled_query_rules_alert_v2",
    "azurerm_management_lock",
}
BROAD_ROLES = {
    "Owner",
    "Contributor",
    "User Access Administrator",
    "Role Based Access Control Administrator",
}

by_env = pytest.mark.parametrize("env", ENVS)


def one(synth: Synth, env: str, rtype: str) -> dict:
    resources = synth.resources(env, "platform", rtype)
    assert len(resources) == 1, f"expected one {rtype}, found {sorted(resources)}"
    return next(iter(resources.values()))


@by_env
def test_storage_shared_keys_are_off(synth: Synth, env: str) -> None:
    lake = one(synth, env, "azurerm_storage_account")
    assert lake["shared_access_key_enabled"] is False
    assert lake["default_to_oauth_authentication"] is True
    provider = synth.stack(env, "platform")["provider"]["azurerm"][0]
    assert provider["storage_use_azuread"] is True


@by_env
def test_storage_is_adls_gen2(synth: Synth, env: str) -> None:
    lake = one(synth, env, "azurerm_storage_account")
    assert lake["is_hns_enabled"] is True
    assert lake["account_kind"] == "StorageV2"
    containers = {
        c["name"] for c in synth.resources(env, "platform", "azurerm_storage_container").values()
    }
    assert containers == {"landing", "bronze", "silver", "gold", "artifacts", "catalog"}


@by_env
def test_storage_transport_and_blob_exposure(synth: Synth, env: str) -> None:
    lake = one(synth, env, "azurerm_storage_account")
    assert lake["min_tls_version"] == "TLS1_2"
    assert lake["https_traffic_only_enabled"] is True
    assert lake["allow_nested_items_to_be_public"] is False
    assert lake["network_rules"]["default_action"] == "Deny"
    retention = lake["blob_properties"]
    assert retention["delete_retention_policy"]["days"] >= 7
    assert retention["container_delete_retention_policy"]["days"] >= 7
    rules = one(synth, env, "azurerm_storage_management_policy")["rule"]
    assert {r["name"] for r in rules} >= {"landing-cool-then-delete"}


@by_env
def test_key_vault_purge_protection_and_rbac(synth: Synth, env: str) -> None:
    vault = one(synth, env, "azurerm_key_vault")
    assert vault["purge_protection_enabled"] is True
    assert vault["rbac_authorization_enabled"] is True
    assert vault["soft_delete_retention_days"] >= 7
    assert vault["network_acls"]["default_action"] == "Deny"
    assert "access_policy" not in vault


@by_env
def test_no_public_network_access_in_prod(synth: Synth, env: str) -> None:
    lake = one(synth, env, "azurerm_storage_account")
    vault = one(synth, env, "azurerm_key_vault")
    factory = one(synth, env, "azurerm_data_factory")
    endpoints = synth.resources(env, "platform", "azurerm_private_endpoint")
    assert factory["public_network_enabled"] is False
    if env == "prod":
        assert lake["public_network_access_enabled"] is False
        assert vault["public_network_access_enabled"] is False
        subresources = {
            e["private_service_connection"]["subresource_names"][0]: e for e in endpoints.values()
        }
        assert set(subresources) == {"blob", "dfs", "vault"}
        assert all(e["private_dns_zone_group"]["private_dns_zone_ids"] for e in endpoints.values())
    else:
        # Dev and test: no private endpoints (cost), reachable only through their firewalls.
        assert endpoints == {}
        assert lake["network_rules"]["default_action"] == "Deny"


@by_env
def test_databricks_has_no_public_ips_and_vnet_injection(synth: Synth, env: str) -> None:
    workspace = one(synth, env, "azurerm_databricks_workspace")
    assert workspace["sku"] == "premium"
    params = workspace["custom_parameters"]
    assert params["no_public_ip"] is True
    assert params["virtual_network_id"].startswith("${azurerm_virtual_network.")
    subnets = synth.resources(env, "platform", "azurerm_subnet")
    delegated = [s for s in subnets.values() if s.get("delegation")]
    assert len(delegated) == 2
    for subnet in delegated:
        assert (
            subnet["delegation"][0]["service_delegation"]["name"]
            == "Microsoft.Databricks/workspaces"
        )
    links = synth.resources(env, "platform", "azurerm_subnet_network_security_group_association")
    assert len(links) == len(subnets)


@by_env
def test_every_resource_that_supports_them_has_diagnostic_settings(synth: Synth, env: str) -> None:
    resources = synth.stack(env, "platform")["resource"]
    unknown = set(resources) - DIAGNOSABLE - WITHOUT_DIAGNOSTICS
    assert not unknown, f"decide whether these types take diagnostic settings: {unknown}"
    settings = resources["azurerm_monitor_diagnostic_setting"].values()
    targets = {s["target_resource_id"] for s in settings}
    for rtype in DIAGNOSABLE:
        for rid in resources.get(rtype, {}):
            assert f"${{{rtype}.{rid}.id}}" in targets, f"{rtype}.{rid} has no diagnostic setting"
    assert any(t.endswith("/blobServices/default") for t in targets)
    for setting in settings:
        assert setting["log_analytics_workspace_id"] == "${azurerm_log_analytics_workspace.logs.id}"
        assert setting.get("enabled_log") or setting.get("enabled_metric")


@by_env
def test_role_assignments_are_least_privilege(synth: Synth, env: str) -> None:
    assignments = synth.resources(env, "platform", "azurerm_role_assignment").values()
    granted = set()
    for a in assignments:
        assert "role_definition_id" not in a
        assert a["role_definition_name"] not in BROAD_ROLES
        scope = a["scope"]
        assert not scope.startswith("/subscriptions/"), "no literal subscription or RG scope"
        assert not re.search(r"azurerm_resource_group\.|data\.azurerm_subscription", scope)
        granted.add((a["role_definition_name"], scope, a["principal_id"]))
    factory = "${azurerm_data_factory.factory.identity[0].principal_id}"
    connector = "${azurerm_databricks_access_connector.access-connector.identity[0].principal_id}"
    assert granted == {
        (
            "Storage Blob Data Contributor",
            "${azurerm_storage_container.container-landing.id}",
            factory,
        ),
        ("Key Vault Secrets User", "${azurerm_key_vault.vault.id}", factory),
        ("Storage Blob Data Contributor", "${azurerm_storage_account.lake.id}", connector),
    }


@by_env
def test_data_factory_runs_in_a_managed_vnet_with_its_vault(synth: Synth, env: str) -> None:
    factory = one(synth, env, "azurerm_data_factory")
    assert factory["identity"]["type"] == "SystemAssigned"
    assert factory["managed_virtual_network_enabled"] is True
    runtime = one(synth, env, "azurerm_data_factory_integration_runtime_azure")
    assert runtime["virtual_network_enabled"] is True
    linked = one(synth, env, "azurerm_data_factory_linked_service_key_vault")
    assert linked["key_vault_id"] == "${azurerm_key_vault.vault.id}"
    # Published by CI in every environment: no Git integration pointing at the Python sources.
    assert "github_configuration" not in factory


@by_env
def test_data_factory_uses_microsoft_managed_keys(synth: Synth, env: str) -> None:
    """checkov's customer-managed-key check for factories passes because a Key Vault linked
    service exists. What is really there: no customer-managed key, so the factory's metadata is
    encrypted with Microsoft-managed keys (docs/infrastructure.md says why)."""
    factory = one(synth, env, "azurerm_data_factory")
    assert "customer_managed_key_id" not in factory
    assert "customer_managed_key_identity_id" not in factory
    assert factory["identity"]["type"] == "SystemAssigned"
    linked = one(synth, env, "azurerm_data_factory_linked_service_key_vault")
    assert linked["data_factory_id"] == "${azurerm_data_factory.factory.id}"
