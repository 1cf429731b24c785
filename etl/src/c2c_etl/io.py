"""Reading and writing lake tables: the only module that touches storage.

Every function takes the session and the configuration as parameters. Locally a table is a Delta
folder ``<lake>/<layer>/<table>``; in the cloud it is the Unity Catalog table
``<catalog>.<layer>.<table>``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from c2c_etl.config import LakeConfig
from c2c_etl.gold.views import VIEWS, View, create_statement
from c2c_etl.tables import GOLD, Table


def exists(spark: SparkSession, cfg: LakeConfig, table: Table) -> bool:
    if cfg.is_local:
        return DeltaTable.isDeltaTable(spark, cfg.table_path(table.layer, table.name))
    return spark.catalog.tableExists(cfg.table_name(table.layer, table.name))


def delta_table(spark: SparkSession, cfg: LakeConfig, table: Table) -> DeltaTable:
    if cfg.is_local:
        return DeltaTable.forPath(spark, cfg.table_path(table.layer, table.name))
    return DeltaTable.forName(spark, cfg.table_name(table.layer, table.name))


def read(spark: SparkSession, cfg: LakeConfig, table: Table) -> DataFrame:
    if cfg.is_local:
        return spark.read.format("delta").load(cfg.table_path(table.layer, table.name))
    return spark.read.table(cfg.table_name(table.layer, table.name))


def sql_name(cfg: LakeConfig, table: Table) -> str:
    """How Spark SQL names a table: ``delta.`<path>``` locally, ``<catalog>.<layer>.<table>``
    in the cloud."""
    if cfg.is_local:
        return f"delta.`{cfg.table_path(table.layer, table.name)}`"
    return cfg.table_name(table.layer, table.name)


def view_name(cfg: LakeConfig, view: View) -> str:
    """A BI view's name: a session temp view locally, a Unity Catalog view in gold otherwise."""
    return view.name if cfg.is_local else cfg.table_name(GOLD, view.name)


def create_views(spark: SparkSession, cfg: LakeConfig, views: Iterable[View] = VIEWS) -> list[str]:
    """Create (or replace) the BI views over the gold tables; returns their names.

    In the cloud they are Unity Catalog views next to the gold tables, for Power BI and the AI/BI
    dashboard. Locally Delta folders have no metastore, so they are temporary views of the
    session (the local dashboard and the tests read them).
    """
    names = []
    for view in views:
        name = view_name(cfg, view)
        statement = create_statement(view, name, lambda t: sql_name(cfg, t))
        if cfg.is_local:
            statement = statement.replace(
                "CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW", 1
            )
        spark.sql(statement)
        names.append(name)
    return names


def views_missing(spark: SparkSession, cfg: LakeConfig, views: Iterable[View] = VIEWS) -> bool:
    """Whether any BI view does not exist yet (cloud) or in this session (local)."""
    return any(not spark.catalog.tableExists(view_name(cfg, v)) for v in views)


def read_or_none(spark: SparkSession, cfg: LakeConfig, table: Table) -> DataFrame | None:
    return read(spark, cfg, table) if exists(spark, cfg, table) else None


def version(spark: SparkSession, cfg: LakeConfig, table: Table) -> int | None:
    """Current Delta version of a table, None when it does not exist yet."""
    if not exists(spark, cfg, table):
        return None
    row = delta_table(spark, cfg, table).history(1).select("version").first()
    return int(row["version"]) if row else None


def _write(df: DataFrame, cfg: LakeConfig, table: Table, mode: str) -> None:
    writer = df.write.format("delta").mode(mode)
    if mode == "overwrite":
        writer = writer.option("overwriteSchema", "true")
    if cfg.is_local:
        writer.save(cfg.table_path(table.layer, table.name))
    else:
        writer.saveAsTable(cfg.table_name(table.layer, table.name))


def append(cfg: LakeConfig, table: Table, df: DataFrame) -> None:
    """Append rows (creates the table on first write)."""
    _write(df, cfg, table, "append")


def overwrite(cfg: LakeConfig, table: Table, df: DataFrame) -> None:
    """Replace the table's content in one atomic commit (readers see old or new, never half)."""
    _write(df, cfg, table, "overwrite")


def overwrite_all(cfg: LakeConfig, frames: Mapping[Table, DataFrame]) -> None:
    """Overwrite several tables at once. Each is its own atomic commit; the writes run in
    parallel threads because on small tables a Delta commit is mostly driver latency."""
    parallel(lambda item: overwrite(cfg, item[0], item[1]), frames.items())


T = TypeVar("T")
R = TypeVar("R")
MAX_PARALLEL_WRITES = 4


def parallel(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``fn`` over ``items`` in a few threads sharing the one Spark session; errors re-raise."""
    with ThreadPoolExecutor(max_workers=MAX_PARALLEL_WRITES) as pool:
        return list(pool.map(fn, items))


def upsert(
    spark: SparkSession,
    cfg: LakeConfig,
    table: Table,
    source: DataFrame,
    key: str,
    update_condition: str,
) -> None:
    """MERGE ``source`` into ``table`` on ``key``: insert new keys, update a key only where
    ``update_condition`` (over aliases ``s`` source and ``t`` target) holds."""
    if not exists(spark, cfg, table):
        append(cfg, table, source)
        return
    (
        delta_table(spark, cfg, table)
        .alias("t")
        .merge(source.alias("s"), f"t.{key} = s.{key}")
        .whenMatchedUpdateAll(condition=update_condition)
        .whenNotMatchedInsertAll()
        .execute()
    )


def file_lines(path: str) -> Iterator[bytes]:
    """A landed file's lines as bytes (split after each ``\\n``), read once, streaming."""
    with open(path, "rb") as handle:
        yield from handle


def write_dead_letter(
    cfg: LakeConfig, run_id: str, source: str, name: str, reason: dict[str, Any]
) -> str:
    """Copy a rejected file to ``<dead letter>/<run id>/<name>`` with ``<name>.reason.json``.

    A copy, not a move: landing belongs to Data Factory and the operator, and the file's
    content hash keeps a rerun from rejecting it twice. The reason is written last, so a file
    with its reason next to it is complete. Returns the copy's path.
    """
    target = Path(cfg.dead_letter_path(run_id)) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    reason_file = target.with_name(target.name + ".reason.json")
    reason_file.write_text(json.dumps(reason, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return str(target)
