"""How a command reaches the lake's tables: one SQL runner per environment.

``--env local --lake PATH`` runs statements on the local Spark session, a table being the Delta
folder ``<lake>/<layer>/<table>`` addressed as ``delta.`path```. ``--env dev|test|prod`` runs them
on a Databricks SQL warehouse through the Statement Execution API, a table being the Unity
Catalog table ``<catalog>.<layer>.<table>``. Commands build their SQL text once and never ask
which environment they are in; both runners return rows as plain dicts with Python values.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from c2c_etl import io
from c2c_etl.config import LakeConfig, cloud_config
from c2c_etl.tables import Table
from c2c_ops.errors import Exit, OpsError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.sql import ColumnInfo, StatementResponse
    from pyspark.sql import SparkSession

    from c2c_ops.context import Ops

RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
# Error classes meaning "no such table" (Spark, Delta, Unity Catalog): exit 6, not 1.
_NOT_FOUND_MARKERS = (
    "TABLE_OR_VIEW_NOT_FOUND",
    "SCHEMA_NOT_FOUND",
    "CATALOG_NOT_FOUND",
    "DELTA_TABLE_ONLY_OPERATION",
    "DELTA_MISSING_DELTA_TABLE",
    "DELTA_TABLE_NOT_FOUND",
    "PATH_NOT_FOUND",
)


class SqlRunner(Protocol):
    """Runs SQL on the lake of one environment."""

    where: str  # for messages: the lake folder or the catalog and warehouse

    def name(self, table: Table) -> str:
        """The table as SQL addresses it in this environment."""
        ...

    def query(self, statement: str) -> list[dict[str, Any]]:
        """Run one statement to its end; rows as dicts. Raises OpsError when it fails."""
        ...

    def exists(self, table: Table) -> bool: ...

    def retention_check_disabled(self) -> AbstractContextManager[None]:
        """A context in which VACUUM may go below the table's own retention (override path)."""
        ...


def quote_identifier(text: str) -> str:
    """A backquoted SQL identifier (backquotes inside are doubled)."""
    return "`" + text.replace("`", "``") + "`"


def quote_string(text: str) -> str:
    """A single-quoted SQL string literal (Spark and Databricks SQL escape with a backslash)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def delta_path_name(path: str) -> str:
    """A Delta table addressed by its folder: delta.`/lake/silver/users`."""
    return "delta." + quote_identifier(path)


def statement_error(where: str, message: str) -> OpsError:
    """The operator's error for a failed statement: not found (6) for a missing table."""
    first = message.strip().splitlines()[0] if message.strip() else "no message"
    if any(marker in message for marker in _NOT_FOUND_MARKERS):
        return OpsError(Exit.NOT_FOUND, f"table not found in {where}: {first}")
    return OpsError(Exit.FAILED, f"the statement failed on {where}: {first}")


# --- local: the Spark session and Delta folders ---------------------------------------------


class LocalSqlRunner:
    """Statements on the local Spark session; tables are Delta folders under the lake."""

    def __init__(self, spark: SparkSession, lake: Path) -> None:
        self.spark = spark
        self.cfg = LakeConfig(env="local", landing_path="", lake_root=str(lake))
        self.where = f"the local lake {lake}"

    def name(self, table: Table) -> str:
        return delta_path_name(self.cfg.table_path(table.layer, table.name))

    def exists(self, table: Table) -> bool:
        return io.exists(self.spark, self.cfg, table)

    def query(self, statement: str) -> list[dict[str, Any]]:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        # VACUUM lists the table's folder with this many tasks: 10,000 by default, for
        # clusters; on a local session that turns seconds into minutes.
        listing = str(self.spark.sparkContext.defaultParallelism)
        try:
            with self._conf({LISTING_PARALLELISM: listing}):
                rows = self.spark.sql(statement).collect()
        except (PySparkException, Py4JJavaError) as exc:
            raise statement_error(self.where, str(exc)) from exc
        return [row.asDict(recursive=True) for row in rows]

    def retention_check_disabled(self) -> AbstractContextManager[None]:
        return self._conf({RETENTION_CHECK: "false"})

    @contextmanager
    def _conf(self, values: dict[str, str]) -> Iterator[None]:
        """Session settings for the duration of a block, then back as they were."""
        previous: dict[str, str | None] = {k: self.spark.conf.get(k, None) for k in values}
        for key, value in values.items():
            self.spark.conf.set(key, value)
        try:
            yield
        finally:
            for key, old in previous.items():
                if old is None:
                    self.spark.conf.unset(key)
                else:
                    self.spark.conf.set(key, old)


# --- cloud: a Databricks SQL warehouse --------------------------------------------------------


def decode_value(type_name: str | None, text: str | None) -> Any:
    """One JSON_ARRAY value (always a string or null) as the Python value local Spark gives."""
    if text is None:
        return None
    kind = (type_name or "STRING").upper()
    if kind in ("LONG", "INT", "SHORT", "BYTE"):
        return int(text)
    if kind in ("DOUBLE", "FLOAT"):
        return float(text)
    if kind == "DECIMAL":
        return Decimal(text)
    if kind == "BOOLEAN":
        return text.lower() == "true"
    if kind in ("TIMESTAMP", "TIMESTAMP_NTZ"):
        value = datetime.fromisoformat(text.replace(" ", "T"))
        # Local sessions run in UTC and give naive datetimes: do the same.
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if kind == "DATE":
        return date.fromisoformat(text)
    if kind in ("ARRAY", "MAP", "STRUCT"):
        return json.loads(text)
    return text


def decode_rows(
    columns: Sequence[tuple[str, str | None]], data: Sequence[Sequence[str | None]]
) -> list[dict[str, Any]]:
    """JSON_ARRAY rows as dicts, given the manifest's (name, type_name) per column."""
    return [
        {name: decode_value(kind, value) for (name, kind), value in zip(columns, row, strict=True)}
        for row in data
    ]


class WarehouseSqlRunner:
    """Statements on a Databricks SQL warehouse (Statement Execution API, JSON_ARRAY inline
    results: enough for history, metrics and the audit summaries these commands read)."""

    def __init__(
        self,
        workspace: WorkspaceClient,
        warehouse_id: str,
        catalog: str,
        sleep: Any = time.sleep,
        poll_seconds: float = 2.0,
        timeout_seconds: float = 6 * 3600,
    ) -> None:
        self.workspace = workspace
        self.warehouse_id = warehouse_id
        self.catalog = catalog
        self.cfg = cloud_config("dev", "", catalog)  # only table_name is used
        self.sleep = sleep
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.where = f"catalog {catalog} (SQL warehouse {warehouse_id})"

    def name(self, table: Table) -> str:
        return self.cfg.table_name(table.layer, table.name)

    def exists(self, table: Table) -> bool:
        try:
            self.query(f"DESCRIBE DETAIL {self.name(table)}")
        except OpsError as exc:
            if exc.code == Exit.NOT_FOUND:
                return False
            raise
        return True

    @contextmanager
    def retention_check_disabled(self) -> Iterator[None]:
        # Each statement runs in its own warehouse session, and a warehouse does not let a
        # statement turn Delta's safety check off: refuse rather than pretend.
        raise OpsError(
            Exit.REFUSED,
            "a SQL warehouse cannot VACUUM below the table's own "
            "delta.deletedFileRetentionDuration "
            f"(Delta's {RETENTION_CHECK} cannot be turned off there). Lower the table property "
            "first, or run VACUUM from a job cluster with that setting off.",
        )
        yield  # pragma: no cover

    def query(self, statement: str) -> list[dict[str, Any]]:
        from databricks.sdk.service.sql import (
            Disposition,
            ExecuteStatementRequestOnWaitTimeout,
            Format,
            StatementState,
        )

        api = self.workspace.statement_execution
        response = api.execute_statement(
            statement=statement,
            warehouse_id=self.warehouse_id,
            format=Format.JSON_ARRAY,
            disposition=Disposition.INLINE,
            wait_timeout="30s",
            on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CONTINUE,
        )
        statement_id = response.statement_id or ""
        deadline = time.monotonic() + self.timeout_seconds
        while _state(response) in (StatementState.PENDING, StatementState.RUNNING):
            if time.monotonic() > deadline:
                raise OpsError(
                    Exit.TIMED_OUT,
                    f"statement {statement_id} still running on {self.where} after "
                    f"{self.timeout_seconds:.0f} s; it goes on (cancel it in the SQL editor's "
                    "query history if needed)",
                )
            self.sleep(self.poll_seconds)
            response = api.get_statement(statement_id)
        if _state(response) != StatementState.SUCCEEDED:
            status = response.status
            message = (status.error.message if status and status.error else None) or (
                f"statement ended {_state(response)}"
            )
            raise statement_error(self.where, message or "")
        return self._rows(statement_id, response)

    def _rows(self, statement_id: str, response: StatementResponse) -> list[dict[str, Any]]:
        columns: list[ColumnInfo] = []
        if response.manifest and response.manifest.schema:
            columns = response.manifest.schema.columns or []
        described = [
            (c.name or f"col{i}", c.type_name.value if c.type_name else None)
            for i, c in enumerate(columns)
        ]
        result = response.result
        data = list(result.data_array or []) if result else []
        next_chunk = result.next_chunk_index if result else None
        while next_chunk is not None:
            chunk = self.workspace.statement_execution.get_statement_result_chunk_n(
                statement_id, next_chunk
            )
            data.extend(chunk.data_array or [])
            next_chunk = chunk.next_chunk_index
        return decode_rows(described, data)


def _state(response: StatementResponse) -> Any:
    return response.status.state if response.status else None


# --- choosing the runner ------------------------------------------------------------------------


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """--lake (local) and --warehouse-id (cloud): where a command's SQL runs."""
    parser.add_argument("--lake", type=Path, help="local lake folder (with --env local)")
    parser.add_argument(
        "--warehouse-id",
        default=os.environ.get("DATABRICKS_WAREHOUSE_ID"),
        help="Databricks SQL warehouse id (cloud envs; default: $DATABRICKS_WAREHOUSE_ID)",
    )


def sql_runner(ops: Ops) -> SqlRunner:
    """The runner of ``ops.env``: local Spark on ``--lake``, or the SQL warehouse."""
    if ops.env == "local":
        if ops.lake is None:
            raise OpsError(Exit.USAGE, "--env local needs --lake (the local lake folder)")
        if not Path(ops.lake).is_dir():
            raise OpsError(Exit.NOT_FOUND, f"no lake at {ops.lake}: the folder does not exist")
        return LocalSqlRunner(ops.spark, Path(ops.lake))
    warehouse = ops.require(
        "A SQL warehouse id", ops.warehouse_id, "--warehouse-id or $DATABRICKS_WAREHOUSE_ID"
    )
    return WarehouseSqlRunner(ops.workspace, warehouse, ops.cfg.catalog, sleep=ops.sleep)
