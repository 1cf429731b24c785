"""The Azure platform of one environment: network, lake, Key Vault, Data Factory, Databricks.

Everything here is an ``azurerm`` resource. The Unity Catalog objects and the job that live
inside the Databricks workspace are in :mod:`c2c_infra.workspace`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from cdktn import (
    TerraformOutput,
    TerraformResourceLifecycle,
    TerraformStack,
    TerraformVariable,
    TerraformVariableValidationConfig,
)
from cdktn_provider_azurerm.data_azurerm_client_config import DataAzurermClientConfig
from cdktn_provider_azurerm.data_factory import DataFactory
from cdktn_provider_azurerm.data_factory_integration_runtime_azure import (
    DataFactoryIntegrationRuntimeAzure,
)
from cdktn_provider_azurerm.data_factory_linked_service_key_vault import (
    DataFactoryLinkedServiceKeyVault,
)
from cdktn_provider_azurerm.data_factory_managed_private_endpoint import (
    DataFactoryManagedPrivateEndpoint,
)
from cdktn_provider_azurerm.databricks_access_connector import DatabricksAccessConnector
from cdktn_provider_azurerm.databricks_workspace import DatabricksWorkspace
from cdktn_provider_azurerm.key_vault import KeyVault
from cdktn_provider_azurerm.log_analytics_workspace import LogAnalyticsWorkspace
from cdktn_provider_azurerm.management_lock import ManagementLock
from cdktn_provider_azurerm.monitor_action_group import (
    MonitorActionGroup,
    MonitorActionGroupEmailReceiver,
)
from cdktn_provider_azurerm.monitor_diagnostic_setting import (
    MonitorDiagnosticSetting,
    MonitorDiagnosticSettingEnabledLog,
    MonitorDiagnosticSettingEnabledMetric,
)
from cdktn_provider_azurerm.monitor_metric_alert import (
    MonitorMetricAlert,
    MonitorMetricAlertAction,
    MonitorMetricAlertCriteria,
)
from cdktn_provider_azurerm.monitor_scheduled_query_rules_alert_v2 import (
    MonitorScheduledQueryRulesAlertV2,
    MonitorScheduledQueryRulesAlertV2Criteria,
)
from cdktn_provider_azurerm.nat_gateway import NatGateway
from cdktn_provider_azurerm.nat_gateway_public_ip_association import (
    NatGatewayPublicIpAssociation,
)
from cdktn_provider_azurerm.network_security_group import NetworkSecurityGroup
from cdktn_provider_azurerm.private_dns_zone import PrivateDnsZone
from cdktn_provider_azurerm.private_dns_zone_virtual_network_link import (
    PrivateDnsZoneVirtualNetworkLink,
)
from cdktn_provider_azurerm.private_endpoint import PrivateEndpoint
from cdktn_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures
from cdktn_provider_azurerm.public_ip import PublicIp
from cdktn_provider_azurerm.resource_group import ResourceGroup
from cdktn_provider_azurerm.role_assignment import RoleAssignment
from cdktn_provider_azurerm.storage_account import (
    StorageAccount,
    StorageAccountNetworkRulesPrivateLinkAccess,
)
from cdktn_provider_azurerm.storage_container import StorageContainer
from cdktn_provider_azurerm.storage_management_policy import (
    StorageManagementPolicy,
    StorageManagementPolicyRule,
)
from cdktn_provider_azurerm.subnet import Subnet, SubnetDelegation, SubnetServiceEndpoint
from cdktn_provider_azurerm.subnet_nat_gateway_association import SubnetNatGatewayAssociation
from cdktn_provider_azurerm.subnet_network_security_group_association import (
    SubnetNetworkSecurityGroupAssociation,
)
from cdktn_provider_azurerm.virtual_network import VirtualNetwork
from constructs import Construct

from c2c_etl.retention import LANDING_COOL_AFTER_DAYS, LANDING_DELETE_AFTER_DAYS
from c2c_infra.backend import configure_backend
from c2c_settings.config import (
    ARTIFACTS,
    FACTORY_KEY_VAULT_LINKED_SERVICE,
    FACTORY_RUNTIME_NAME,
    EnvConfig,
)

LANDING, CATALOG_ROOT = "landing", "catalog"
# The lake's containers: ADF writes landing; the jobs write the layers; artifacts hold the release
# wheels; the catalog's managed root has a container of its own, out of every lifecycle rule.
CONTAINERS = (LANDING, "bronze", "silver", "gold", ARTIFACTS, CATALOG_ROOT)
# Release wheels are only moved to the cool tier, never deleted by age: the job installs the wheel
# of the last release however long ago it was published, and a wheel is small.
ARTIFACTS_COOL_AFTER_DAYS = 30

# Built-in roles, by name: the narrowest ones that let each identity do its job.
BLOB_DATA_CONTRIBUTOR = "Storage Blob Data Contributor"
KV_SECRETS_USER = "Key Vault Secrets User"

DATABRICKS_DELEGATION = SubnetDelegation(
    name="databricks",
    service_delegation={
        "name": "Microsoft.Databricks/workspaces",
        "actions": [
            "Microsoft.Network/virtualNetworks/subnets/join/action",
            "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
            "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action",
        ],
    },
)

# The Terraform variable holding the address alerts go to, set per environment (TF_VAR_alert_email).
ALERT_EMAIL_VARIABLE = "alert_email"
# Databricks writes its audit categories to per-category tables or, on newer workspaces, to one
# DatabricksWorkspaceLogs table: the query reads both, whichever exists.
JOB_FAILURES_QUERY = (
    'union isfuzzy=true DatabricksJobs, (DatabricksWorkspaceLogs | where Category == "jobs")\n'
    '| where ActionName == "runFailed"'
)

# Private DNS zones of the private endpoints (prod): storage blob and dfs, Key Vault.
PRIVATE_DNS_ZONES = {
    "blob": "privatelink.blob.core.windows.net",
    "dfs": "privatelink.dfs.core.windows.net",
    "vault": "privatelink.vaultcore.azure.net",
}


class PlatformStack(TerraformStack):
    """Resource group, network, ADLS Gen2, Key Vault, Data Factory, Databricks, monitoring."""

    def __init__(self, scope: Construct, cfg: EnvConfig, *, offline: bool) -> None:
        stack_name = "platform"
        super().__init__(scope, f"c2c-{cfg.env}-{stack_name}")
        configure_backend(self, cfg, stack_name, offline)
        AzurermProvider(
            self,
            "azurerm",
            features=[AzurermProviderFeatures()],
            # Shared keys are off, so the provider's data-plane calls must use Entra ID.
            storage_use_azuread=True,
        )
        self.cfg = cfg
        self.tags = cfg.tags
        self.client = DataAzurermClientConfig(self, "client")
        self.rg = ResourceGroup(
            self, "rg", name=cfg.name("rg"), location=cfg.location, tags=self.tags
        )
        self.logs = LogAnalyticsWorkspace(
            self,
            "logs",
            name=cfg.name("log"),
            **self._placement(),
            sku="PerGB2018",
            retention_in_days=cfg.log_retention_days,
            local_authentication_enabled=False,
            **self._stateful(),
        )
        self._diagnostics("logs", self.logs.id, metrics=("AllMetrics",))

        self._network()
        self._storage()
        self._key_vault()
        self._data_factory()
        self._databricks()
        if cfg.private_endpoints:
            self._private_endpoints()
        self._role_assignments()
        self._alerts()
        if cfg.protected:
            self._locks()
        self._outputs()

    # -- helpers -------------------------------------------------------------------------------

    def _stateful(self) -> dict[str, Any]:
        """``prevent_destroy`` on a resource that holds data, in the protected environment."""
        if not self.cfg.protected:
            return {}
        return {"lifecycle": TerraformResourceLifecycle(prevent_destroy=True)}

    def _placement(self) -> dict[str, Any]:
        """Location, resource group and tags shared by every regional resource."""
        return {
            "location": self.rg.location,
            "resource_group_name": self.rg.name,
            "tags": self.tags,
        }

    def _diagnostics(
        self, id_: str, target_id: str, *, logs: bool = True, metrics: tuple[str, ...] = ()
    ) -> MonitorDiagnosticSetting:
        """Send a resource's logs (all categories) and metrics to the Log Analytics workspace."""
        return MonitorDiagnosticSetting(
            self,
            f"diag-{id_}",
            name=f"diag-to-{self.cfg.name('log')}",
            target_resource_id=target_id,
            log_analytics_workspace_id=self.logs.id,
            enabled_log=[MonitorDiagnosticSettingEnabledLog(category_group="allLogs")]
            if logs
            else None,
            enabled_metric=[MonitorDiagnosticSettingEnabledMetric(category=m) for m in metrics]
            or None,
        )

    # -- network -------------------------------------------------------------------------------

    def _network(self) -> None:
        """VNet injection for Databricks: two delegated subnets with NSGs, plus a PE subnet."""
        cfg = self.cfg
        vnet_range = ipaddress.ip_network(cfg.vnet_cidr)
        host, container, endpoints = (str(n) for n in list(vnet_range.subnets(new_prefix=22))[:3])
        self.vnet = VirtualNetwork(
            self, "vnet", name=cfg.name("vnet"), **self._placement(), address_space=[cfg.vnet_cidr]
        )
        self._diagnostics("vnet", self.vnet.id, metrics=("AllMetrics",))
        # Service endpoints let the clusters reach the lake and the vault through their firewalls
        # in the environments without private endpoints.
        service_endpoints = [
            SubnetServiceEndpoint(service=name)
            for name in ("Microsoft.Storage", "Microsoft.KeyVault")
        ]
        # The clusters' only route out (their subnets turn default outbound access off): a NAT
        # gateway with one static public IP, so every egress has an address partners can allow.
        self.egress_ip = PublicIp(
            self,
            "pip-nat",
            name=cfg.name("pip-nat"),
            **self._placement(),
            allocation_method="Static",
            sku="Standard",
        )
        self._diagnostics("pip-nat", self.egress_ip.id, metrics=("AllMetrics",))
        self.nat = NatGateway(
            self,
            "nat",
            name=cfg.name("ng"),
            **self._placement(),
            sku_name="Standard",
            idle_timeout_in_minutes=10,
        )
        NatGatewayPublicIpAssociation(
            self, "nat-pip", nat_gateway_id=self.nat.id, public_ip_address_id=self.egress_ip.id
        )
        self.subnets: dict[str, Subnet] = {}
        self.nsg_links: dict[str, SubnetNetworkSecurityGroupAssociation] = {}
        for role, prefix in (("host", host), ("container", container)):
            subnet = Subnet(
                self,
                f"snet-{role}",
                name=cfg.name(f"snet-dbw-{role}"),
                resource_group_name=self.rg.name,
                virtual_network_name=self.vnet.name,
                address_prefixes=[prefix],
                delegation=[DATABRICKS_DELEGATION],
                service_endpoint=service_endpoints,
                default_outbound_access_enabled=False,
            )
            nsg = NetworkSecurityGroup(
                self, f"nsg-{role}", name=cfg.name(f"nsg-dbw-{role}"), **self._placement()
            )
            self._diagnostics(f"nsg-{role}", nsg.id)
            self.subnets[role] = subnet
            self.nsg_links[role] = SubnetNetworkSecurityGroupAssociation(
                self, f"nsg-link-{role}", subnet_id=subnet.id, network_security_group_id=nsg.id
            )
            SubnetNatGatewayAssociation(
                self, f"nat-link-{role}", subnet_id=subnet.id, nat_gateway_id=self.nat.id
            )
        # The clusters' subnets, allowed through the lake and vault firewalls.
        self.cluster_subnet_ids = [self.subnets[r].id for r in ("host", "container")]
        if cfg.private_endpoints:
            subnet = Subnet(
                self,
                "snet-endpoints",
                name=cfg.name("snet-pe"),
                resource_group_name=self.rg.name,
                virtual_network_name=self.vnet.name,
                address_prefixes=[endpoints],
                default_outbound_access_enabled=False,
            )
            nsg = NetworkSecurityGroup(
                self, "nsg-endpoints", name=cfg.name("nsg-pe"), **self._placement()
            )
            self._diagnostics("nsg-endpoints", nsg.id)
            SubnetNetworkSecurityGroupAssociation(
                self, "nsg-link-endpoints", subnet_id=subnet.id, network_security_group_id=nsg.id
            )
            self.subnets["endpoints"] = subnet

    # -- lake ----------------------------------------------------------------------------------

    def _storage(self) -> None:
        """ADLS Gen2 account: Entra ID only, TLS 1.2, firewall, soft delete, lifecycle rules."""
        cfg = self.cfg
        self.connector = DatabricksAccessConnector(
            self,
            "access-connector",
            name=cfg.name("dbac"),
            **self._placement(),
            identity={"type": "SystemAssigned"},
        )
        self.storage = StorageAccount(
            self,
            "lake",
            name=cfg.storage_account_name,
            **self._placement(),
            account_kind="StorageV2",
            account_tier="Standard",
            # Geo-redundant everywhere (the lake is small); prod also survives a zone outage.
            account_replication_type="GZRS" if cfg.env == "prod" else "GRS",
            is_hns_enabled=True,
            min_tls_version="TLS1_2",
            https_traffic_only_enabled=True,
            shared_access_key_enabled=False,
            default_to_oauth_authentication=True,
            allow_nested_items_to_be_public=False,
            public_network_access_enabled=not cfg.private_endpoints,
            cross_tenant_replication_enabled=False,
            local_user_enabled=False,
            sftp_enabled=False,
            infrastructure_encryption_enabled=True,
            **self._stateful(),
            # Versioning and change feed are not available with a hierarchical namespace; blob
            # and container soft delete are.
            blob_properties={
                "delete_retention_policy": {"days": cfg.soft_delete_days},
                "container_delete_retention_policy": {"days": cfg.soft_delete_days},
            },
            network_rules={
                "default_action": "Deny",
                "bypass": ["AzureServices", "Logging", "Metrics"],
                "virtual_network_subnet_ids": self.cluster_subnet_ids,
                # Unity Catalog reaches the lake as the access connector's identity.
                "private_link_access": [
                    StorageAccountNetworkRulesPrivateLinkAccess(
                        endpoint_resource_id=self.connector.id
                    )
                ],
            },
        )
        self._diagnostics("lake", self.storage.id, logs=False, metrics=("Transaction",))
        self._diagnostics(
            "lake-blob", f"{self.storage.id}/blobServices/default", metrics=("Transaction",)
        )
        self.containers = {
            name: StorageContainer(
                self,
                f"container-{name}",
                name=name,
                storage_account_id=self.storage.id,
                container_access_type="private",
                **self._stateful(),
            )
            for name in CONTAINERS
        }
        StorageManagementPolicy(
            self,
            "lake-lifecycle",
            storage_account_id=self.storage.id,
            rule=[
                # Landing files are ingested once (bronze keeps their content): cool, then go.
                StorageManagementPolicyRule(
                    name="landing-cool-then-delete",
                    enabled=True,
                    filters={"blob_types": ["blockBlob"], "prefix_match": [f"{LANDING}/"]},
                    actions={
                        "base_blob": {
                            "tier_to_cool_after_days_since_modification_greater_than": (
                                LANDING_COOL_AFTER_DAYS
                            ),
                            "delete_after_days_since_modification_greater_than": (
                                LANDING_DELETE_AFTER_DAYS
                            ),
                        }
                    },
                ),
                StorageManagementPolicyRule(
                    name="artifacts-cool",
                    enabled=True,
                    filters={"blob_types": ["blockBlob"], "prefix_match": [f"{ARTIFACTS}/"]},
                    actions={
                        "base_blob": {
                            "tier_to_cool_after_days_since_modification_greater_than": (
                                ARTIFACTS_COOL_AFTER_DAYS
                            )
                        }
                    },
                ),
            ],
        )

    # -- secrets -------------------------------------------------------------------------------

    def _key_vault(self) -> None:
        """Key Vault with RBAC, purge protection, soft delete and a deny-by-default firewall."""
        cfg = self.cfg
        self.vault = KeyVault(
            self,
            "vault",
            name=cfg.key_vault_name,
            **self._placement(),
            tenant_id=self.client.tenant_id,
            sku_name="standard",
            rbac_authorization_enabled=True,
            purge_protection_enabled=True,
            soft_delete_retention_days=90,
            public_network_access_enabled=not cfg.private_endpoints,
            **self._stateful(),
            network_acls={
                "default_action": "Deny",
                "bypass": "AzureServices",
                "virtual_network_subnet_ids": self.cluster_subnet_ids,
            },
        )
        self._diagnostics("vault", self.vault.id, metrics=("AllMetrics",))

    # -- orchestration -------------------------------------------------------------------------

    def _data_factory(self) -> None:
        """Data Factory: managed identity, no public endpoint, managed-VNet integration runtime."""
        cfg = self.cfg
        git = cfg.git
        self.factory = DataFactory(
            self,
            "factory",
            name=cfg.name("adf"),
            **self._placement(),
            identity={"type": "SystemAssigned"},
            public_network_enabled=False,
            managed_virtual_network_enabled=True,
            github_configuration=(
                {
                    "account_name": git.account_name,
                    "repository_name": git.repository_name,
                    "branch_name": git.branch_name,
                    "root_folder": git.root_folder,
                    "git_url": "https://github.com",
                }
                if git
                else None
            ),
        )
        self._diagnostics("factory", self.factory.id, metrics=("AllMetrics",))
        self.runtime = DataFactoryIntegrationRuntimeAzure(
            self,
            "factory-ir",
            name=FACTORY_RUNTIME_NAME,
            data_factory_id=self.factory.id,
            location="AutoResolve",
            virtual_network_enabled=True,
            time_to_live_min=10,
        )
        DataFactoryLinkedServiceKeyVault(
            self,
            "factory-ls-vault",
            name=FACTORY_KEY_VAULT_LINKED_SERVICE,
            data_factory_id=self.factory.id,
            key_vault_id=self.vault.id,
            integration_runtime_name=self.runtime.name,
            description="Secrets of the source systems, read with the factory's identity",
        )
        if cfg.private_endpoints:
            # With public access off, the managed VNet reaches the lake and the vault privately.
            for sub in ("blob", "dfs"):
                DataFactoryManagedPrivateEndpoint(
                    self,
                    f"factory-mpe-{sub}",
                    name=f"mpe-lake-{sub}",
                    data_factory_id=self.factory.id,
                    target_resource_id=self.storage.id,
                    subresource_name=sub,
                )
            DataFactoryManagedPrivateEndpoint(
                self,
                "factory-mpe-vault",
                name="mpe-vault",
                data_factory_id=self.factory.id,
                target_resource_id=self.vault.id,
                subresource_name="vault",
            )

    # -- compute -------------------------------------------------------------------------------

    def _databricks(self) -> None:
        """Premium workspace, VNet-injected, secure cluster connectivity (no public IPs)."""
        cfg = self.cfg
        self.workspace = DatabricksWorkspace(
            self,
            "workspace",
            name=cfg.name("dbw"),
            **self._placement(),
            sku="premium",
            managed_resource_group_name=cfg.name("rg-dbw-managed"),
            infrastructure_encryption_enabled=True,
            network_security_group_rules_required="AllRules",
            **self._stateful(),
            custom_parameters={
                "no_public_ip": True,
                "virtual_network_id": self.vnet.id,
                "public_subnet_name": self.subnets["container"].name,
                "private_subnet_name": self.subnets["host"].name,
                "public_subnet_network_security_group_association_id": self.nsg_links[
                    "container"
                ].id,
                "private_subnet_network_security_group_association_id": self.nsg_links["host"].id,
            },
        )
        self._diagnostics("workspace", self.workspace.id)

    def _private_endpoints(self) -> None:
        """Private endpoints and DNS zones for the lake (blob, dfs) and the vault."""
        targets = {"blob": self.storage.id, "dfs": self.storage.id, "vault": self.vault.id}
        for sub, zone_name in PRIVATE_DNS_ZONES.items():
            zone = PrivateDnsZone(
                self, f"dns-{sub}", name=zone_name, resource_group_name=self.rg.name, tags=self.tags
            )
            PrivateDnsZoneVirtualNetworkLink(
                self,
                f"dns-link-{sub}",
                name=f"link-{sub}",
                private_dns_zone_id=zone.id,
                virtual_network_id=self.vnet.id,
                registration_enabled=False,
                tags=self.tags,
            )
            PrivateEndpoint(
                self,
                f"pe-{sub}",
                name=self.cfg.name(f"pe-{sub}"),
                **self._placement(),
                subnet_id=self.subnets["endpoints"].id,
                private_service_connection={
                    "name": f"psc-{sub}",
                    "private_connection_resource_id": targets[sub],
                    "subresource_names": [sub],
                    "is_manual_connection": False,
                },
                private_dns_zone_group={"name": f"dns-{sub}", "private_dns_zone_ids": [zone.id]},
            )

    # -- access --------------------------------------------------------------------------------

    def _grant(self, id_: str, role: str, scope: str, principal_id: str) -> None:
        RoleAssignment(
            self,
            f"role-{id_}",
            scope=scope,
            role_definition_name=role,
            principal_id=principal_id,
            principal_type="ServicePrincipal",
        )

    def _role_assignments(self) -> None:
        """Least privilege: data-plane roles on the narrowest scope, no Owner or Contributor.

        The factory runs Databricks jobs as a workspace service principal with CAN_MANAGE_RUN on
        the job (see the workspace stack), so it needs no Azure role on the workspace.
        """
        factory = self.factory.identity.principal_id
        self._grant("factory-landing", BLOB_DATA_CONTRIBUTOR, self.containers[LANDING].id, factory)
        self._grant("factory-vault-secrets", KV_SECRETS_USER, self.vault.id, factory)
        self._grant(
            "connector-lake",
            BLOB_DATA_CONTRIBUTOR,
            self.storage.id,
            self.connector.identity.principal_id,
        )

    # -- monitoring ----------------------------------------------------------------------------

    def _alerts(self) -> None:
        """One action group (the environment's alert address) and the alerts that page it:
        failed Data Factory pipeline runs, failed Databricks job runs, lake availability."""
        cfg = self.cfg
        email = TerraformVariable(
            self,
            ALERT_EMAIL_VARIABLE,
            type="string",
            description="Where this environment's alerts go (a monitored mailbox or list)",
            validation=[
                TerraformVariableValidationConfig(
                    # An expression in Terraform's JSON syntax is an interpolation; the regular
                    # expressions use character classes, not backslashes, so that no escaping
                    # layer (Python, JSON, HCL) can change them.
                    condition=(
                        f'${{can(regex("^[^@ ]+@[^@ ]+[.][A-Za-z]{{2,}}$",'
                        f" var.{ALERT_EMAIL_VARIABLE}))"
                        f' && !can(regex("[.](example|invalid|test|localhost)$",'
                        f" var.{ALERT_EMAIL_VARIABLE}))}}"
                    ),
                    error_message="alert_email must be a real, deliverable e-mail address.",
                )
            ],
        ).string_value
        self.action_group = MonitorActionGroup(
            self,
            "alerts",
            name=cfg.name("ag"),
            resource_group_name=self.rg.name,
            short_name=f"c2c{cfg.env}"[:12],
            location="global",
            email_receiver=[
                MonitorActionGroupEmailReceiver(
                    name="platform-team", email_address=email, use_common_alert_schema=True
                )
            ],
            tags=self.tags,
        )
        page = [MonitorMetricAlertAction(action_group_id=self.action_group.id)]
        MonitorMetricAlert(
            self,
            "alert-factory-failed-runs",
            name=f"{cfg.name('adf')}-failed-runs",
            resource_group_name=self.rg.name,
            scopes=[self.factory.id],
            description="A Data Factory pipeline run failed",
            severity=1,
            frequency="PT5M",
            window_size="PT5M",
            criteria=[
                MonitorMetricAlertCriteria(
                    metric_namespace="Microsoft.DataFactory/factories",
                    metric_name="PipelineFailedRuns",
                    aggregation="Total",
                    operator="GreaterThan",
                    threshold=0,
                )
            ],
            action=page,
            tags=self.tags,
        )
        MonitorMetricAlert(
            self,
            "alert-lake-availability",
            name=f"{cfg.storage_account_name}-availability",
            resource_group_name=self.rg.name,
            scopes=[self.storage.id],
            description="The lake answered less than 99% of requests successfully",
            severity=1,
            frequency="PT5M",
            window_size="PT15M",
            criteria=[
                MonitorMetricAlertCriteria(
                    metric_namespace="Microsoft.Storage/storageAccounts",
                    metric_name="Availability",
                    aggregation="Average",
                    operator="LessThan",
                    threshold=99,
                )
            ],
            action=page,
            tags=self.tags,
        )
        # Job runs log to Log Analytics through the workspace's diagnostic setting (allLogs).
        MonitorScheduledQueryRulesAlertV2(
            self,
            "alert-job-failed-runs",
            name=f"{cfg.name('dbw')}-job-failed-runs",
            **self._placement(),
            scopes=[self.logs.id],
            description="A Databricks job run failed",
            severity=1,
            evaluation_frequency="PT15M",
            window_duration="PT15M",
            criteria=[
                MonitorScheduledQueryRulesAlertV2Criteria(
                    query=JOB_FAILURES_QUERY,
                    time_aggregation_method="Count",
                    operator="GreaterThan",
                    threshold=0,
                )
            ],
            # The tables exist only once the workspace has logged its first job event.
            skip_query_validation=True,
            action={"action_groups": [self.action_group.id]},
        )

    def _locks(self) -> None:
        """CanNotDelete locks on what holds data or history: a deletion needs the lock removed
        first, by someone allowed to, on top of ``prevent_destroy`` in Terraform."""
        for id_, resource_id in (
            ("lake", self.storage.id),
            ("vault", self.vault.id),
            ("workspace", self.workspace.id),
            ("logs", self.logs.id),
        ):
            ManagementLock(
                self,
                f"lock-{id_}",
                name=f"lock-{id_}-cannot-delete",
                scope=resource_id,
                lock_level="CanNotDelete",
                notes="Holds data: remove this lock deliberately before any deletion",
            )

    def _outputs(self) -> None:
        """What the Data Factory deployment and the runbooks read."""
        TerraformOutput(self, "workspace_url", value=f"https://{self.workspace.workspace_url}")
        TerraformOutput(self, "workspace_resource_id", value=self.workspace.id)
        TerraformOutput(self, "storage_account_name", value=self.storage.name)
        TerraformOutput(self, "data_factory_name", value=self.factory.name)
        TerraformOutput(self, "data_factory_principal_id", value=self.factory.identity.principal_id)
        TerraformOutput(self, "key_vault_uri", value=self.vault.vault_uri)
        TerraformOutput(self, "access_connector_id", value=self.connector.id)
        TerraformOutput(self, "storage_account_id", value=self.storage.id)
        TerraformOutput(self, "egress_ip", value=self.egress_ip.ip_address)
