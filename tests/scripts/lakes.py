"""Lakes and contexts for the maintenance and data quality tests.

``local_ops`` runs commands on a local lake with the tests' one Spark session; ``cloud_ops``
runs them through the fake Databricks SQL Statement Execution API, whose statements are
executed on the same Spark session against the same local lake (Unity Catalog names rewritten
to the Delta folders), so the cloud path runs real SQL end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from c2c_etl.tables import Table
from c2c_ops.context import ClientOptions, Ops
from tests.scripts.fake_databricks import (
    WAREHOUSE_ID,
    FakeDatabricks,
    FastClock,
    SqlWarehouse,
    StubCredential,
    add_sql_warehouse,
    catalog_to_paths,
    spark_executor,
)
from tests.scripts.harness import ops_for

CLOUD_ENV = "dev"


def catalog() -> str:
    """The Unity Catalog catalog of CLOUD_ENV, from the environment's own configuration."""
    return Ops(CLOUD_ENV).cfg.catalog


def local_ops(spark: Any, lake: Path) -> Ops:
    return ops_for("local", spark=spark, lake=lake)


def cloud_ops(
    fake: FakeDatabricks, spark: Any = None, credential: StubCredential | None = None
) -> Ops:
    """A cloud context on the fake: stub bearer token, instant retries (virtual clock)."""
    clock = FastClock()
    options = ClientOptions(databricks={"retry_timeout_seconds": 5, "clock": clock})
    ops = ops_for(
        CLOUD_ENV,
        credential=credential or StubCredential(),
        options=options,
        workspace_url=fake.url,
        warehouse_id=WAREHOUSE_ID,
        spark=spark,
    )
    ops.clock = clock  # type: ignore[attr-defined]  # for tests that look at the sleeps
    return ops


def spark_warehouse(fake: FakeDatabricks, spark: Any, lake: Path, **kwargs: Any) -> SqlWarehouse:
    """The fake's SQL warehouse, running statements on local Spark over ``lake``."""
    return add_sql_warehouse(
        fake, spark_executor(spark, catalog_to_paths(catalog(), lake)), **kwargs
    )


def table_path(lake: Path, table: Table) -> str:
    return str(lake / table.layer / table.name)


def data_files(lake: Path, table: Table) -> list[Path]:
    """Parquet files on disk (referenced or not)."""
    return sorted(Path(table_path(lake, table)).rglob("*.parquet"))


def active_files(spark: Any, lake: Path, table: Table) -> int:
    """Files of the current version, from Delta's own metadata."""
    return int(spark.sql(f"DESCRIBE DETAIL delta.`{table_path(lake, table)}`").first()["numFiles"])
