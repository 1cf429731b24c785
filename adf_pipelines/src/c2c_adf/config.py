"""Per-environment configuration of the factory: one frozen dataclass, derived from infra's.

Resource names (factory, resource group, storage account, Key Vault, Databricks workspace) and
the catalog come from :mod:`c2c_infra.config`, so they are never retyped. What only exists after
``cdktn deploy`` (the workspace URL, the job id, the subscription) are fields with placeholder
defaults here; the ARM template turns each of them into a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from c2c_infra.config import (
    ENVIRONMENTS,
    FACTORY_KEY_VAULT_LINKED_SERVICE,
    FACTORY_RUNTIME_NAME,
    EnvConfig,
    get_config,
)

__all__ = [
    "ENVIRONMENTS",
    "FACTORY_KEY_VAULT_LINKED_SERVICE",
    "FACTORY_RUNTIME_NAME",
    "AdfConfig",
    "adf_config",
]

# The landing container and the ops schema's landing volume (see c2c_infra.platform/workspace).
LANDING_CONTAINER = "landing"
OPS_SCHEMA = "ops"
PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class AdfConfig:
    """Everything the factory's objects need for one environment."""

    env: str
    factory_name: str
    resource_group: str
    storage_account: str
    key_vault_name: str
    workspace_name: str
    catalog: str
    # Known after the infra stacks are deployed (outputs workspace_url and job_id).
    workspace_url: str = "https://adb-0000000000000000.0.azuredatabricks.net"
    job_id: str = "0"
    subscription_id: str = PLACEHOLDER_SUBSCRIPTION
    # The partner export the ingest pipeline reads (a Blob account the factory may read).
    source_blob_endpoint: str = "https://stc2cexports.blob.core.windows.net/"
    source_container: str = "c2c-exports"
    source_folder: str = "users"
    webhook_secret_name: str = "adf-failure-webhook-url"
    schedule_hour: int = 5
    activity_timeout: str = "0.02:00:00"
    activity_retries: int = 2
    retry_interval_seconds: int = 120

    @property
    def job_name(self) -> str:
        """The Databricks job infra defines (``c2c-<env>-etl``; a contract test checks it)."""
        return f"c2c-{self.env}-etl"

    @property
    def key_vault_url(self) -> str:
        return f"https://{self.key_vault_name}.vault.azure.net/"

    @property
    def lake_url(self) -> str:
        return f"https://{self.storage_account}.dfs.core.windows.net/"

    @property
    def landing_volume(self) -> str:
        """Where the Databricks job sees the landing container (a Unity Catalog volume)."""
        return f"/Volumes/{self.catalog}/{OPS_SCHEMA}/{LANDING_CONTAINER}"

    @property
    def storage_account_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Storage/storageAccounts/{self.storage_account}"
        )

    @property
    def workspace_resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Databricks/workspaces/{self.workspace_name}"
        )

    def with_deployment(self, **values: str) -> AdfConfig:
        """The same configuration with deployment values (workspace_url, job_id, ...)."""
        return replace(self, **values)  # type: ignore[arg-type]


def from_infra(cfg: EnvConfig) -> AdfConfig:
    """The factory's configuration from infra's configuration of the same environment."""
    return AdfConfig(
        env=cfg.env,
        factory_name=cfg.name("adf"),
        resource_group=cfg.name("rg"),
        storage_account=cfg.storage_account_name,
        key_vault_name=cfg.key_vault_name,
        workspace_name=cfg.name("dbw"),
        catalog=cfg.catalog,
    )


def adf_config(env: str) -> AdfConfig:
    """The configuration of one environment (dev, test or prod)."""
    return from_infra(get_config(env))
