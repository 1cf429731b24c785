"""Per-environment configuration of the factory: one frozen dataclass, derived from infra's.

Resource names (factory, resource group, storage account, Key Vault, Databricks workspace) and
the catalog come from :mod:`c2c_settings.config`, so they are never retyped. What only exists after
``cdktn deploy`` (the workspace URL, the job id, the subscription) or outside Azure (the Fabric
workspace of the Power BI model) are fields with placeholder defaults here; the ARM template turns
each of them into a parameter, and the deploy refuses a placeholder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from c2c_settings.config import (
    ENVIRONMENTS,
    FACTORY_KEY_VAULT_LINKED_SERVICE,
    FACTORY_RUNTIME_NAME,
    OPS_SCHEMA,
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
PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_WORKSPACE_URL = "https://adb-0000000000000000.0.azuredatabricks.net"
PLACEHOLDER_JOB_ID = "0"
# The build's stand-in for the environment's Fabric workspace (the GitHub variable
# FABRIC_WORKSPACE_ID at deploy); an empty id means the environment has no Power BI.
PLACEHOLDER_FABRIC_WORKSPACE_ID = "00000000-0000-0000-0000-00000000fab1"
GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


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
    workspace_url: str = PLACEHOLDER_WORKSPACE_URL
    job_id: str = PLACEHOLDER_JOB_ID
    subscription_id: str = PLACEHOLDER_SUBSCRIPTION
    # The Fabric workspace holding the Power BI model that PL_Orchestrate refreshes after gold;
    # "" where the environment publishes no Power BI (then nothing is refreshed).
    fabric_workspace_id: str = PLACEHOLDER_FABRIC_WORKSPACE_ID
    # The partner export the ingest pipeline reads (a Blob account the factory may read).
    source_blob_endpoint: str = "https://stc2cexports.blob.core.windows.net/"
    source_container: str = "c2c-exports"
    source_folder: str = "users"
    webhook_secret_name: str = "adf-failure-webhook-url"
    # The daily tumbling window's first window starts here. Starting the trigger runs every
    # window since then that has not run yet (that is how it backfills), so a new environment
    # sets its go-live day.
    schedule_start: datetime = datetime(2026, 12, 1, 5, tzinfo=UTC)
    # Copies and listings: minutes of work, retried because a copy is idempotent.
    activity_timeout: str = "0.02:00:00"
    activity_retries: int = 2
    retry_interval_seconds: int = 120
    # The failure notification and the Power BI calls: quick calls.
    web_timeout: str = "0.00:10:00"
    # The Power BI refresh is followed until it ends, reading its status this often, for at
    # most this long (then the run fails and is notified).
    refresh_poll_seconds: int = 60
    refresh_timeout: str = "0.02:00:00"
    # The Databricks job activity waits for the whole job run (c2c_adf.factory.job_timeout),
    # which may queue behind this many runs already going (the job runs one at a time; the
    # drop trigger and a backfill can start runs beside the daily one).
    job_runs_ahead: int = 1

    @property
    def is_placeholder(self) -> bool:
        """True while the workspace URL, job id, subscription or Fabric workspace are the
        build's placeholders (no deploy)."""
        return (
            self.job_id == PLACEHOLDER_JOB_ID
            or self.workspace_url == PLACEHOLDER_WORKSPACE_URL
            or self.subscription_id == PLACEHOLDER_SUBSCRIPTION
            or self.fabric_workspace_id == PLACEHOLDER_FABRIC_WORKSPACE_ID
        )

    @property
    def refreshes_powerbi(self) -> bool:
        """Whether PL_Orchestrate refreshes the Power BI model (the environment has Fabric)."""
        return bool(self.fabric_workspace_id)

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

    def with_deployment(self, **values: Any) -> AdfConfig:
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
