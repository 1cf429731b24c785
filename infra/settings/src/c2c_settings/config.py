"""Per-environment configuration: one frozen dataclass passed into every stack.

Names follow ``<kind>-c2c-<env>-<region>-<suffix>``; the suffix makes globally unique names
(storage account, Key Vault, Data Factory, workspace) stable across deployments, so it is fixed
here rather than random. Nothing in this file is a secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from c2c_etl.config import cloud_config

ENVIRONMENTS = ("dev", "test", "prod")

# Data Factory objects this stack creates; adf_pipelines/ references them by these names.
FACTORY_RUNTIME_NAME = "IR-ManagedVnet"
FACTORY_KEY_VAULT_LINKED_SERVICE = "LS_KeyVault"

# Set to 1/true to synthesize with a local backend (tests, CI, a laptop without Azure access).
OFFLINE_ENV_VAR = "C2C_INFRA_OFFLINE"


# Each ETL job task's limits; Data Factory's job activity waits long enough for all of them
# (c2c_adf.factory.job_timeout).
TASK_TIMEOUT_SECONDS = 3600
TASK_MAX_RETRIES = 1


@dataclass(frozen=True)
class StateBackend:
    """The storage account holding Terraform state (created once by the bootstrap step).

    Each environment has a container of its own, so each environment's deploying identity can be
    given access to its own state only (a role assignment on that container).
    """

    resource_group_name: str = "rg-c2c-tfstate"
    storage_account_name: str = "stc2ctfstate7q4x"
    container_prefix: str = "tfstate"

    def container_name(self, env: str) -> str:
        """The state container of one environment, e.g. ``tfstate-dev``."""
        return f"{self.container_prefix}-{env}"


@dataclass(frozen=True)
class GitConfig:
    """Data Factory's optional GitHub integration (dev only: higher envs take published ARM)."""

    account_name: str
    repository_name: str
    branch_name: str = "main"
    root_folder: str = "/adf_pipelines"


@dataclass(frozen=True)
class EnvConfig:
    """Everything that differs between dev, test and prod."""

    env: str
    suffix: str
    location: str = "westeurope"
    region_code: str = "weu"
    # Databricks job cluster: fixed worker count per env (the data is small; prod has headroom).
    job_workers: int = 1
    node_type: str = "Standard_D4ds_v5"
    warehouse_size: str = "2X-Small"
    warehouse_max_clusters: int = 1
    private_endpoints: bool = False
    log_retention_days: int = 30
    soft_delete_days: int = 7
    vnet_cidr: str = "10.10.0.0/20"
    # Prod: engineers read, only the deploy and run identities write; personal access tokens off;
    # management locks and prevent_destroy on what holds data.
    protected: bool = False
    git: GitConfig | None = None
    state: StateBackend = field(default_factory=StateBackend)

    def __post_init__(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise ValueError(f"unknown environment {self.env!r}; expected one of {ENVIRONMENTS}")
        if not (self.suffix.isalnum() and self.suffix.islower() and len(self.suffix) <= 6):
            raise ValueError("suffix must be at most 6 lower-case letters or digits")

    def name(self, kind: str) -> str:
        """A resource name such as ``rg-c2c-dev-weu-a1b2``."""
        return f"{kind}-c2c-{self.env}-{self.region_code}-{self.suffix}"

    @property
    def storage_account_name(self) -> str:
        """Storage accounts allow 3-24 lower-case letters and digits only."""
        return f"stc2c{self.env}{self.region_code}{self.suffix}"[:24]

    @property
    def key_vault_name(self) -> str:
        """Key Vault names are limited to 24 characters."""
        return f"kv-c2c-{self.env}-{self.suffix}"

    @property
    def engineers_group(self) -> str:
        """The account group of this environment's data engineers (account-level, created once)."""
        return f"c2c-{self.env}-data-engineers"

    @property
    def analysts_group(self) -> str:
        """The account group of this environment's analysts (account-level, created once)."""
        return f"c2c-{self.env}-analysts"

    @property
    def catalog(self) -> str:
        """The Unity Catalog catalog, the same default the jobs use (``c2c_<env>``)."""
        catalog = cloud_config(self.env, "unused").catalog
        assert catalog is not None
        return catalog

    @property
    def tags(self) -> dict[str, str]:
        return {
            "project": "c2c-lakehouse",
            "environment": self.env,
            "managed-by": "cdktn",
            "cost-center": "data-platform",
        }


CONFIGS: dict[str, EnvConfig] = {
    "dev": EnvConfig(
        env="dev",
        suffix="k3d7",
        vnet_cidr="10.10.0.0/20",
        # No Git integration: the repository holds the factory as Python (adf_pipelines/), and
        # its ADF JSON is built, not committed, so Studio would show nothing and an edit there
        # would commit JSON that no build reads. Every environment gets the objects CI publishes
        # (c2c-ops deploy); GitConfig stays for a factory whose JSON is committed.
    ),
    "test": EnvConfig(env="test", suffix="m8t2", vnet_cidr="10.20.0.0/20"),
    "prod": EnvConfig(
        env="prod",
        suffix="p4x9",
        vnet_cidr="10.30.0.0/20",
        job_workers=4,
        warehouse_size="Small",
        warehouse_max_clusters=2,
        private_endpoints=True,
        log_retention_days=90,
        soft_delete_days=30,
        protected=True,
    ),
}


def get_config(env: str) -> EnvConfig:
    """The configuration of one environment."""
    try:
        return CONFIGS[env]
    except KeyError:
        raise ValueError(f"unknown environment {env!r}; expected one of {ENVIRONMENTS}") from None


def offline_from_env() -> bool:
    """Whether ``C2C_INFRA_OFFLINE`` asks for a local backend instead of the azurerm one."""
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in ("1", "true", "yes")


# The Unity Catalog schema of the operational volumes (landing, artifacts), and the artifacts
# volume (backed by the lake's container of the same name) that holds the release wheels.
OPS_SCHEMA = "ops"
ARTIFACTS = "artifacts"


def wheel_path(catalog: str, wheel_version: str) -> str:
    """Where a c2c-etl wheel of that version is published: the catalog's artifacts volume."""
    return f"/Volumes/{catalog}/{OPS_SCHEMA}/{ARTIFACTS}/c2c_etl-{wheel_version}-py3-none-any.whl"
