"""checkov checks of the project for the Databricks provider's resources, which checkov does not
check itself (it has checks for the azurerm workspace only). Loaded by tests/infra/test_checkov.py
with ``--external-checks-dir``; each one fails on a setting this project must never ship."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.provider.base_check import BaseProviderCheck
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

UNITY_CATALOG_MODES = {
    "SINGLE_USER",
    "USER_ISOLATION",
    "DATA_SECURITY_MODE_DEDICATED",
    "DATA_SECURITY_MODE_STANDARD",
}
EVERYONE = {"users", "account users"}


def value(conf: dict[str, Any], *path: str) -> Any:
    """A nested attribute of a parsed block; checkov wraps each attribute value in a list."""
    current: Any = conf
    for key in path:
        if isinstance(current, list):
            current = current[0] if current else None
        if not isinstance(current, dict) or key not in current:
            return None
        current = current[key]
    if isinstance(current, list) and len(current) == 1:
        return current[0]
    return current


def blocks(conf: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Every block of a repeated nested block (``grant``, ``access_control``, ``job_cluster``)."""
    found = conf.get(key) or []
    flat: list[dict[str, Any]] = []
    for item in found if isinstance(found, list) else [found]:
        flat.extend(item if isinstance(item, list) else [item])
    return [b for b in flat if isinstance(b, dict)]


class JobRunsAsServicePrincipal(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a Databricks job runs as a service principal, not as its deployer",
            id="CKV_C2C_1",
            categories=[CheckCategories.IAM],
            supported_resources=["databricks_job"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        principal = value(conf, "run_as", "service_principal_name")
        return CheckResult.PASSED if principal else CheckResult.FAILED


class JobClustersUseUnityCatalog(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Databricks job clusters run in a Unity Catalog access mode under a policy",
            id="CKV_C2C_2",
            categories=[CheckCategories.IAM],
            supported_resources=["databricks_job"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        clusters = blocks(conf, "job_cluster")
        if not clusters:
            return CheckResult.UNKNOWN
        for cluster in clusters:
            mode = value(cluster, "new_cluster", "data_security_mode")
            if mode not in UNITY_CATALOG_MODES or not value(cluster, "new_cluster", "policy_id"):
                return CheckResult.FAILED
        return CheckResult.PASSED


class GrantsAreNamed(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Unity Catalog grants name their privileges and are not given to everyone",
            id="CKV_C2C_3",
            categories=[CheckCategories.IAM],
            supported_resources=["databricks_grants", "databricks_grant"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        grants = blocks(conf, "grant") or [conf]
        for grant in grants:
            principal = value(grant, "principal")
            privileges = value(grant, "privileges") or []
            if isinstance(privileges, str):
                privileges = [privileges]
            if str(principal).lower() in EVERYONE or "ALL_PRIVILEGES" in privileges:
                return CheckResult.FAILED
        return CheckResult.PASSED


class PermissionsNotForEveryone(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure Databricks object permissions are not given to the all-users group",
            id="CKV_C2C_4",
            categories=[CheckCategories.IAM],
            supported_resources=["databricks_permissions"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        for entry in blocks(conf, "access_control"):
            if str(value(entry, "group_name")).lower() in EVERYONE:
                return CheckResult.FAILED
        return CheckResult.PASSED


class WarehouseStopsWhenIdle(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a Databricks SQL warehouse stops when idle",
            id="CKV_C2C_5",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["databricks_sql_endpoint"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        minutes = value(conf, "auto_stop_mins")
        return (
            CheckResult.PASSED if isinstance(minutes, int) and minutes > 0 else CheckResult.FAILED
        )


class DashboardEmbedsNoCredentials(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure an AI/BI dashboard does not run on its publisher's credentials",
            id="CKV_C2C_6",
            categories=[CheckCategories.IAM],
            supported_resources=["databricks_dashboard"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return (
            CheckResult.PASSED if value(conf, "embed_credentials") is False else CheckResult.FAILED
        )


class ServicePrincipalCannotCreateClusters(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a Databricks service principal cannot create clusters",
            id="CKV_C2C_7",
            categories=[CheckCategories.IAM],
            supported_resources=["databricks_service_principal"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        allowed = value(conf, "allow_cluster_create")
        return CheckResult.PASSED if allowed is False else CheckResult.FAILED


class ExternalLocationIsValidated(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure a Unity Catalog external location is validated against its storage",
            id="CKV_C2C_8",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["databricks_external_location", "databricks_storage_credential"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        skipped = value(conf, "skip_validation")
        return CheckResult.FAILED if skipped is True else CheckResult.PASSED


class ProviderHoldsNoSecret(BaseProviderCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the Databricks provider holds no token, password or client secret",
            id="CKV_C2C_9",
            categories=[CheckCategories.SECRETS],
            supported_provider=["databricks"],
        )

    def scan_provider_conf(self, conf: dict[str, Any]) -> CheckResult:
        secrets = ("token", "password", "client_secret", "azure_client_secret")
        return CheckResult.FAILED if any(conf.get(k) for k in secrets) else CheckResult.PASSED


class NccRulesReachStorage(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure an NCC private endpoint rule targets a storage sub-resource",
            id="CKV_C2C_10",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["databricks_mws_ncc_private_endpoint_rule"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        ok = value(conf, "group_id") in ("dfs", "blob") and value(conf, "resource_id")
        return CheckResult.PASSED if ok else CheckResult.FAILED


JobRunsAsServicePrincipal()
JobClustersUseUnityCatalog()
GrantsAreNamed()
PermissionsNotForEveryone()
WarehouseStopsWhenIdle()
DashboardEmbedsNoCredentials()
ServicePrincipalCannotCreateClusters()
ExternalLocationIsValidated()
ProviderHoldsNoSecret()
NccRulesReachStorage()
