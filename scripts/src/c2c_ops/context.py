"""One environment's names and the SDK clients that reach it, built only when a command needs them.

Every Azure and Databricks call signs in with one azure-identity credential
(``DefaultAzureCredential`` unless one is given): ``az login`` on a laptop, ``azure/login`` with
OIDC in GitHub Actions, a managed identity elsewhere. Databricks gets an Entra ID token for its
resource, and with the subscription known, a management token and the workspace's resource id,
so a deploy identity that is not yet a workspace member is admitted on its first call. No
personal access token exists anywhere. Tests pass their own credential and
endpoints (``ClientOptions``) to run the same code against local servers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from c2c_adf.config import AdfConfig, adf_config
from c2c_settings.signin import (
    databricks_strategy,
    github_oidc_credential,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.keyvault.secrets import SecretClient
    from azure.mgmt.datafactory import DataFactoryManagementClient
    from azure.storage.blob import BlobServiceClient
    from databricks.sdk import WorkspaceClient
    from pyspark.sql import SparkSession

DEFAULT_RETRIES = 4


@dataclass(frozen=True)
class ClientOptions:
    """Where the clients connect and with which extra SDK arguments (tests, sovereign clouds).

    ``azure`` goes to every azure-core client (``connection_verify``, ``retry_total``...); the
    other dicts go to one client each, after ``azure``.
    """

    arm_endpoint: str | None = None
    vault_url: str | None = None
    blob_url: str | None = None
    azure: dict[str, Any] = field(default_factory=dict)
    adf: dict[str, Any] = field(default_factory=dict)
    keyvault: dict[str, Any] = field(default_factory=dict)
    blob: dict[str, Any] = field(default_factory=dict)
    databricks: dict[str, Any] = field(default_factory=dict)


class Ops:
    """The context every command receives: configuration, console and lazily built clients."""

    def __init__(
        self,
        env: str,
        *,
        subscription_id: str | None = None,
        workspace_url: str | None = None,
        job_id: str | None = None,
        warehouse_id: str | None = None,
        lake: Path | None = None,
        spark: SparkSession | None = None,
        credential: TokenCredential | None = None,
        options: ClientOptions | None = None,
        console: Console | None = None,
        retries: int = DEFAULT_RETRIES,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.env = env
        self.subscription_id = subscription_id
        self.workspace_url = workspace_url
        self.job_id = job_id
        self.warehouse_id = warehouse_id
        self.lake = lake
        self._spark = spark
        self._credential = credential
        self.options = options or ClientOptions()
        self.console = console or Console(highlight=False)
        self.retries = retries
        if sleep is None:
            import time

            sleep = time.sleep
        self.sleep = sleep

    # --- configuration -------------------------------------------------------------------
    @cached_property
    def cfg(self) -> AdfConfig:
        """Names of the environment (from infra's config) plus what the command line knows."""
        values = {
            k: v
            for k, v in {
                "subscription_id": self.subscription_id,
                "workspace_url": self.workspace_url,
                "job_id": self.job_id,
            }.items()
            if v
        }
        return adf_config(self.env).with_deployment(**values)

    def require(self, what: str, value: str | None, flag: str) -> str:
        from c2c_ops.errors import Exit, OpsError

        if not value:
            raise OpsError(Exit.USAGE, f"{what} is needed: give {flag}")
        return value

    # --- clients -------------------------------------------------------------------------
    @cached_property
    def credential(self) -> TokenCredential:
        if self._credential is not None:
            return self._credential
        github = github_oidc_credential(os.environ)
        if github is not None:
            return github
        from azure.identity import DefaultAzureCredential

        # Interactive browser sign-in never fits a runbook command: it would hang in CI.
        return DefaultAzureCredential(exclude_interactive_browser_credential=True)

    def _azure_kwargs(self, specific: dict[str, Any]) -> dict[str, Any]:
        return {"retry_total": self.retries, **self.options.azure, **specific}

    @cached_property
    def adf(self) -> DataFactoryManagementClient:
        from c2c_adf.deploy import make_client

        subscription = self.require(
            "The subscription id", self.subscription_id, "--subscription-id"
        )
        kwargs = self._azure_kwargs(self.options.adf)
        if self.options.arm_endpoint:
            kwargs["base_url"] = self.options.arm_endpoint
        return make_client(subscription, self.credential, **kwargs)

    @cached_property
    def secrets(self) -> SecretClient:
        from azure.keyvault.secrets import SecretClient

        url = self.options.vault_url or self.cfg.key_vault_url
        return SecretClient(url, self.credential, **self._azure_kwargs(self.options.keyvault))

    @cached_property
    def blobs(self) -> BlobServiceClient:
        from azure.storage.blob import BlobServiceClient

        url = self.options.blob_url or f"https://{self.cfg.storage_account}.blob.core.windows.net"
        return BlobServiceClient(url, self.credential, **self._azure_kwargs(self.options.blob))

    @cached_property
    def workspace(self) -> WorkspaceClient:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        host = self.require("The workspace URL", self.workspace_url, "--workspace-url")
        kwargs: dict[str, Any] = {
            "retry_timeout_seconds": 120,
            # The plain Files API (one PUT per file): wheels are small, and the experimental
            # client's multipart and presigned-URL paths need network paths the lake forbids.
            "disable_experimental_files_api_client": True,
            **self.options.databricks,
        }
        # WorkspaceClient has no **kwargs (retry_timeout_seconds, clock...): Config takes them.
        # Known once the subscription is: the resource id is derived from infra's names.
        resource_id = self.cfg.workspace_resource_id if self.subscription_id else None
        strategy = databricks_strategy(self.credential, resource_id)
        return WorkspaceClient(config=Config(host=host, credentials_strategy=strategy, **kwargs))

    @cached_property
    def spark(self) -> SparkSession:
        """The local Spark session (``--env local``), with Delta, as the ETL jobs build it."""
        if self._spark is not None:
            return self._spark
        from c2c_etl.spark import local_spark

        return local_spark("c2c-ops")
