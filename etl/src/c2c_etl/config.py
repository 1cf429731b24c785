"""Per-environment configuration: one frozen dataclass passed into every job.

Locally each table is a Delta table under ``<lake_root>/<layer>/<table>/``; on Databricks the same
table is the Unity Catalog table ``<catalog>.<layer>.<table>``. Nothing else differs between
environments, so the job code is the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from c2c_etl.tables import BRONZE, DEAD_LETTER_VOLUME

ENVIRONMENTS = ("local", "dev", "test", "prod")


@dataclass(frozen=True)
class LakeConfig:
    """Where the lake lives and how its tables are addressed."""

    env: str
    landing_path: str
    lake_root: str | None = None
    catalog: str | None = None

    def __post_init__(self) -> None:
        if self.env not in ENVIRONMENTS:
            raise ValueError(f"unknown environment {self.env!r}; expected one of {ENVIRONMENTS}")
        if self.is_local and not self.lake_root:
            raise ValueError(
                "the local environment needs lake_root (a folder for the Delta tables)"
            )
        if not self.is_local and not self.catalog:
            raise ValueError(f"environment {self.env!r} needs a Unity Catalog catalog name")

    @property
    def is_local(self) -> bool:
        return self.env == "local"

    def table_path(self, layer: str, table: str) -> str:
        """Folder of a local Delta table (local environment only)."""
        if not self.lake_root:
            raise ValueError("table paths exist only for the local environment")
        return str(Path(self.lake_root) / layer / table)

    def table_name(self, layer: str, table: str) -> str:
        """Unity Catalog three-part name (cloud environments)."""
        return f"{self.catalog}.{layer}.{table}"

    def dead_letter_path(self, run_id: str) -> str:
        """Folder of the files a run rejected whole, with their reasons.

        Locally ``<lake>/dead_letter/<run id>``; in the cloud the bronze schema's volume
        ``/Volumes/<catalog>/bronze/dead_letter/<run id>`` (a file path on the cluster, so the
        same copy code runs in both). Never under landing: that belongs to Data Factory.
        """
        if self.is_local:
            return str(Path(str(self.lake_root)) / DEAD_LETTER_VOLUME / run_id)
        return f"/Volumes/{self.catalog}/{BRONZE}/{DEAD_LETTER_VOLUME}/{run_id}"


def local_config(landing_path: str | Path, lake_root: str | Path) -> LakeConfig:
    """The configuration of a run on one machine. Relative folders are made absolute: Spark SQL
    resolves a ``delta.`<path>``` name from its own working directory, not the shell's."""
    return LakeConfig(
        env="local",
        landing_path=str(Path(landing_path).absolute()),
        lake_root=str(Path(lake_root).absolute()),
    )


def cloud_config(env: str, landing_path: str, catalog: str | None = None) -> LakeConfig:
    """The configuration of a Databricks run; the catalog defaults to ``c2c_<env>``."""
    return LakeConfig(env=env, landing_path=landing_path, catalog=catalog or f"c2c_{env}")
