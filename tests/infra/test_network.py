"""Network paths of the synthesized stacks: the clusters' egress, the lake's and the vault's
firewalls, and serverless compute's private route to the lake (the NCC)."""

from __future__ import annotations

import pytest

from tests.infra.conftest import ENVS, Synth

by_env = pytest.mark.parametrize("env", ENVS)
CLUSTER_SUBNETS = ["${azurerm_subnet.snet-host.id}", "${azurerm_subnet.snet-container.id}"]


def one(synth: Synth, env: str, stack: str, rtype: str) -> dict:
    resources = synth.resources(env, stack, rtype)
    assert len(resources) == 1, f"expected one {rtype}, found {sorted(resources)}"
    return next(iter(resources.values()))


@by_env
def test_both_databricks_subnets_go_out_through_the_nat_gateway(synth: Synth, env: str) -> None:
    """The subnets turn default outbound access off, so the NAT gateway is the clusters' only
    route to the control plane and the internet: without it clusters do not start."""
    subnets = synth.resources(env, "platform", "azurerm_subnet")
    delegated = {rid for rid, s in subnets.items() if s.get("delegation")}
    assert delegated == {"snet-host", "snet-container"}
    for rid in delegated:
        assert subnets[rid]["default_outbound_access_enabled"] is False
    links = synth.resources(env, "platform", "azurerm_subnet_nat_gateway_association")
    nat = one(synth, env, "platform", "azurerm_nat_gateway")
    (nat_id,) = synth.resources(env, "platform", "azurerm_nat_gateway")
    by_subnet = {link["subnet_id"]: link["nat_gateway_id"] for link in links.values()}
    assert by_subnet == {
        f"${{azurerm_subnet.{rid}.id}}": f"${{azurerm_nat_gateway.{nat_id}.id}}"
        for rid in delegated
    }
    assert nat["sku_name"] == "Standard"


@by_env
def test_the_nat_gateway_has_a_static_standard_public_ip(synth: Synth, env: str) -> None:
    ip = one(synth, env, "platform", "azurerm_public_ip")
    (ip_id,) = synth.resources(env, "platform", "azurerm_public_ip")
    (nat_id,) = synth.resources(env, "platform", "azurerm_nat_gateway")
    assert ip["allocation_method"] == "Static"
    assert ip["sku"] == "Standard"
    association = one(synth, env, "platform", "azurerm_nat_gateway_public_ip_association")
    assert association["nat_gateway_id"] == f"${{azurerm_nat_gateway.{nat_id}.id}}"
    assert association["public_ip_address_id"] == f"${{azurerm_public_ip.{ip_id}.id}}"
    assert "egress_ip" in synth.stack(env, "platform")["output"]


@by_env
def test_lake_firewall_admits_the_clusters_and_unity_catalog_only(synth: Synth, env: str) -> None:
    lake = one(synth, env, "platform", "azurerm_storage_account")
    rules = lake["network_rules"]
    assert rules["default_action"] == "Deny"
    assert rules.get("ip_rules", []) == []
    assert rules["virtual_network_subnet_ids"] == CLUSTER_SUBNETS
    assert set(rules["bypass"]) == {"AzureServices", "Logging", "Metrics"}
    # The resource instance rule Unity Catalog's storage credential comes through.
    assert rules["private_link_access"] == [
        {"endpoint_resource_id": "${azurerm_databricks_access_connector.access-connector.id}"}
    ]
    assert lake["public_network_access_enabled"] is (env != "prod")


@by_env
def test_key_vault_public_access_is_firewalled_where_it_is_on(synth: Synth, env: str) -> None:
    """checkov's Key Vault network check passes in every environment; this is what is really
    there: public access on in dev and test (the operators' secret command and the clusters come
    through a deny-by-default firewall), off in prod (private endpoint only)."""
    vault = one(synth, env, "platform", "azurerm_key_vault")
    acls = vault["network_acls"]
    assert vault["public_network_access_enabled"] is (env != "prod")
    assert acls["default_action"] == "Deny"
    assert acls["bypass"] == "AzureServices"
    assert acls.get("ip_rules", []) == []
    assert acls["virtual_network_subnet_ids"] == CLUSTER_SUBNETS


@by_env
def test_serverless_reaches_the_lake_through_private_endpoints_of_a_bound_ncc(
    synth: Synth, env: str
) -> None:
    """Every environment: the SQL warehouse and the dashboard run on serverless compute, which
    reaches the lake only through the NCC's private endpoints (dfs and blob), bound to the
    workspace; both wait for the binding."""
    ncc = one(synth, env, "workspace", "databricks_mws_network_connectivity_config")
    (ncc_id,) = synth.resources(env, "workspace", "databricks_mws_network_connectivity_config")
    assert ncc["provider"] == "databricks.account"
    assert ncc["region"] == "westeurope"
    assert env in ncc["name"]
    ncc_ref = (
        f"${{databricks_mws_network_connectivity_config.{ncc_id}.network_connectivity_config_id}}"
    )
    rules = synth.resources(env, "workspace", "databricks_mws_ncc_private_endpoint_rule")
    assert sorted(r["group_id"] for r in rules.values()) == ["blob", "dfs"]
    for rule in rules.values():
        assert rule["network_connectivity_config_id"] == ncc_ref
        assert rule["provider"] == "databricks.account"
        assert "azurerm_storage_accountlakeid" in rule["resource_id"]
    binding = one(synth, env, "workspace", "databricks_mws_ncc_binding")
    assert binding["network_connectivity_config_id"] == ncc_ref
    assert "azurerm_databricks_workspaceworkspaceworkspace_id" in binding["workspace_id"]
    (binding_id,) = synth.resources(env, "workspace", "databricks_mws_ncc_binding")
    for rtype in ("databricks_sql_endpoint", "databricks_dashboard"):
        resource = one(synth, env, "workspace", rtype)
        assert f"databricks_mws_ncc_binding.{binding_id}" in resource["depends_on"]


@by_env
def test_the_account_provider_is_the_account_console(synth: Synth, env: str) -> None:
    providers = synth.stack(env, "workspace")["provider"]["databricks"]
    account = [p for p in providers if p.get("alias") == "account"]
    assert account == [
        {
            "account_id": "${var.databricks_account_id}",
            "alias": "account",
            "host": "https://accounts.azuredatabricks.net",
        }
    ]
    assert "default" not in synth.stack(env, "workspace")["variable"]["databricks_account_id"]
