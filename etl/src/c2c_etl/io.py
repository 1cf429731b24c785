"""Reading and writing lake tables: the only module that touches storage.

Every function takes the session and the configuration as parameters. Locally a table is a Delta
folder ``<lake>/<layer>/<table>``; in the cloud it is the Unity Catalog table
``<catalog>.<layer>.<table>``. A gold name that is a view (``Table.is_view``) is read the same
way: in the cloud it is a Unity Catalog view; locally, with no metastore, its SQL is rendered
over the Delta folders it reads.

Only the DataFrame API and Spark SQL are used (``DESCRIBE HISTORY``, ``MERGE INTO``), never
Delta's Python ``DeltaTable`` class or the SparkContext: the same calls then run on a classic
session, on Spark Connect and on Databricks serverless compute (tests/etl/cluster).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from c2c_etl.config import LakeConfig
from c2c_etl.crashpoints import commit_made
from c2c_etl.gold.views import (
    ALL_VIEWS,
    GOLD_VIEWS,
    View,
    create_statement,
    reads,
    render,
)
from c2c_etl.retention import table_properties
from c2c_etl.table_features import table_features
from c2c_etl.tables import ALL_TABLES, GOLD, RETIRED_TABLES, VIEW_TABLES, Table

# Delta's session setting for the user metadata of the next commits (used for MERGE).
USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"


# Error conditions meaning "no Delta table by that name": a path without a committed Delta
# table (missing, empty, a plain folder, a ``_delta_log`` before its first commit) in a catalog
# lookup or in DESCRIBE HISTORY, or a Unity Catalog table that does not exist.
NO_DELTA_TABLE = frozenset(
    {"DELTA_MISSING_DELTA_TABLE", "DELTA_TABLE_ONLY_OPERATION", "TABLE_OR_VIEW_NOT_FOUND"}
)


class WriteLog:
    """The tables this process has written since they were last taken, per lake.

    Every write below notes its table (appends, overwrites and MERGEs, from parallel threads
    too); a job takes the list at its end and compacts those tables (c2c_etl.compaction).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written: dict[LakeConfig, set[Table]] = {}

    def note(self, cfg: LakeConfig, table: Table) -> None:
        with self._lock:
            self._written.setdefault(cfg, set()).add(table)

    def take(self, cfg: LakeConfig) -> list[Table]:
        """The lake's written tables, in the lake's order, forgotten once taken."""
        with self._lock:
            written = self._written.pop(cfg, set())
        return [t for t in ALL_TABLES if t in written]


WRITES = WriteLog()


def _certainly_missing(cfg: LakeConfig, table: Table) -> bool:
    """Locally, a table folder without a commit in its ``_delta_log`` holds no table: known
    without asking Spark, whose answer for a missing table is an error that costs a query."""
    return cfg.is_local and not _local_versions(cfg, table)


def _delta_log(cfg: LakeConfig, table: Table) -> Path:
    return Path(cfg.table_path(table.layer, table.name)) / "_delta_log"


def _local_versions(cfg: LakeConfig, table: Table) -> list[int]:
    """The versions of a local table's commit files, newest first (none: no table)."""
    try:
        names = [p.name for p in _delta_log(cfg, table).iterdir() if COMMIT_FILE.match(p.name)]
    except FileNotFoundError:
        return []
    return sorted((int(name[:-5]) for name in names), reverse=True)


def _view_sources(table: Table) -> list[Table]:
    """The tables (or gold views) a gold view reads."""
    return reads(GOLD_VIEWS[table])


def exists(spark: SparkSession, cfg: LakeConfig, table: Table) -> bool:
    """Whether the table exists: a committed Delta table at its path (local), or a Unity
    Catalog table or view. One catalog call for both, by the table's SQL name. Locally a gold
    view exists when the tables it reads do."""
    if cfg.is_local:
        if table.is_view:
            return all(exists(spark, cfg, t) for t in _view_sources(table))
        return not _certainly_missing(cfg, table)
    try:
        return spark.catalog.tableExists(sql_name(cfg, table))
    except AnalysisException as error:
        if error.getCondition() in NO_DELTA_TABLE:
            return False
        raise


def read(spark: SparkSession, cfg: LakeConfig, table: Table) -> DataFrame:
    if cfg.is_local:
        if table.is_view:
            return spark.sql(_local_view_sql(cfg, table))
        return spark.read.format("delta").load(cfg.table_path(table.layer, table.name))
    return spark.read.table(cfg.table_name(table.layer, table.name))


def changes(spark: SparkSession, cfg: LakeConfig, table: Table, first: int, last: int) -> DataFrame:
    """The table's change data feed from version ``first`` to ``last`` (rows with
    ``_change_type``: insert, update_preimage, update_postimage, delete; ``_commit_version``).
    Delta raises when the feed was not recorded for a version in the range."""
    reader = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", first)
        .option("endingVersion", last)
    )
    if cfg.is_local:
        return reader.load(cfg.table_path(table.layer, table.name))
    return reader.table(cfg.table_name(table.layer, table.name))


def sql_name(cfg: LakeConfig, table: Table) -> str:
    """How Spark SQL names a table in a FROM: ``delta.`<path>``` locally (a gold view: its
    SELECT in parentheses), ``<catalog>.<layer>.<table>`` in the cloud."""
    if cfg.is_local:
        if table.is_view:
            return f"({_local_view_sql(cfg, table)})"
        return f"delta.`{cfg.table_path(table.layer, table.name)}`"
    return cfg.table_name(table.layer, table.name)


def _local_view_sql(cfg: LakeConfig, table: Table) -> str:
    return render(GOLD_VIEWS[table], lambda t: sql_name(cfg, t))


def view_name(cfg: LakeConfig, view: View) -> str:
    """A view's name: a session temp view locally, a Unity Catalog view in gold otherwise."""
    return view.name if cfg.is_local else cfg.table_name(GOLD, view.name)


def _session_views(cfg: LakeConfig, views: Iterable[View]) -> list[View]:
    """The views to create: locally the gold views are rendered wherever they are read
    (:func:`sql_name`), so only the BI views become session views."""
    gold = set(GOLD_VIEWS.values())
    return [v for v in views if not (cfg.is_local and v in gold)]


def create_views(
    spark: SparkSession, cfg: LakeConfig, views: Iterable[View] = ALL_VIEWS
) -> list[str]:
    """Create (or replace) gold's views, the gold ones before the BI views that read them;
    returns their names.

    In the cloud they are Unity Catalog views in the gold schema, for analysts, Power BI and the
    AI/BI dashboard (a name still held by the Delta table an earlier version wrote there makes
    the statement fail: :func:`retire_view_tables` frees it). Locally Delta folders have no
    metastore, so the BI views are temporary views of the session (the local dashboard and the
    tests read them).
    """
    views = _session_views(cfg, views)
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


def views_missing(spark: SparkSession, cfg: LakeConfig, views: Iterable[View] = ALL_VIEWS) -> bool:
    """Whether any view :func:`create_views` makes is not there yet (cloud) or among the Spark
    session's temporary views (local), or is still a table: one catalog lookup a view."""
    return any(_object_type(spark, view_name(cfg, v)) != "VIEW" for v in _session_views(cfg, views))


def _object_type(spark: SparkSession, name: str) -> str | None:
    """What the catalog holds under ``name``: ``VIEW``, ``TEMPORARY``, ``MANAGED``,
    ``EXTERNAL`` (a table), or None."""
    try:
        found = spark.catalog.getTable(name)
    except AnalysisException as error:
        if error.getCondition() in NO_DELTA_TABLE:
            return None
        raise
    return "VIEW" if found.isTemporary else found.tableType


def retire_view_tables(spark: SparkSession, cfg: LakeConfig) -> list[Table]:
    """Remove the Delta tables an earlier version wrote under the names that are now gold
    views, and those no step writes any more (``RETIRED_TABLES``); returns those it removed.

    Their rows are as of the last build that wrote them, and a table under a view's name would
    shadow the view: in the cloud the name (``CREATE OR REPLACE VIEW`` refuses to replace a
    table), and locally the folder a reader of the path would find. Their content is a function
    of the tables the views read, which stay, so nothing is lost. One catalog lookup a name in
    the cloud; locally a look at the folder, no Spark query.
    """
    retired = []
    for table in (*VIEW_TABLES, *RETIRED_TABLES):
        if cfg.is_local:
            folder = Path(cfg.table_path(table.layer, table.name))
            if not folder.exists():
                continue
            shutil.rmtree(folder)
        else:
            name = cfg.table_name(table.layer, table.name)
            if _object_type(spark, name) in (None, "VIEW"):
                continue
            spark.sql(f"DROP TABLE {name}")
        retired.append(table)
    return retired


def read_or_none(spark: SparkSession, cfg: LakeConfig, table: Table) -> DataFrame | None:
    return read(spark, cfg, table) if exists(spark, cfg, table) else None


def _local_history(cfg: LakeConfig, table: Table, limit: int | None) -> list[dict[str, Any]]:
    """The newest ``limit`` commits (or all) of a local table, read from its ``_delta_log``
    commit files: the ``commitInfo`` action Delta writes into every commit, which is what
    ``DESCRIBE HISTORY`` itself reports, with the same field names. Read by Python, it costs
    no Spark query; a run asks for history often (idempotent writes, crash recovery, gold's
    inputs), and each ``DESCRIBE HISTORY`` is a query with a snapshot behind it."""
    log = _delta_log(cfg, table)
    numbers = _local_versions(cfg, table)
    found = []
    for number in numbers[:limit] if limit is not None else numbers:
        info: dict[str, Any] = {}
        with open(log / f"{number:020d}.json", encoding="utf-8") as commit:
            for line in commit:
                action = json.loads(line)
                if "commitInfo" in action:
                    info = action["commitInfo"]
                    break
        found.append(
            {
                "version": number,
                "timestamp": datetime.fromtimestamp(info.get("timestamp", 0) / 1000, UTC).replace(
                    tzinfo=None
                ),
                "operation": info.get("operation"),
                "operationParameters": info.get("operationParameters") or {},
                "userMetadata": info.get("userMetadata"),
                "operationMetrics": info.get("operationMetrics") or {},
            }
        )
    return found


# A Delta commit file: its version, zero-padded to 20 digits.
COMMIT_FILE = re.compile(r"^\d{20}\.json$")


def history(
    spark: SparkSession, cfg: LakeConfig, table: Table, limit: int | None = None
) -> list[dict[str, Any]]:
    """The table's commits, newest first (the last ``limit``, or all): version, timestamp
    (UTC), operation, operationParameters, userMetadata, operationMetrics; none when the table
    does not exist yet.
    Reads the Delta log only, no data files: locally its commit files, in the cloud
    ``DESCRIBE HISTORY``."""
    if table.is_view:
        return []  # a view has no commits of its own
    if cfg.is_local:
        return _local_history(cfg, table, limit)
    statement = f"DESCRIBE HISTORY {sql_name(cfg, table)}"
    if limit is not None:
        statement += f" LIMIT {int(limit)}"
    # No exists() first: the statement's own error says there is no table, so an existing
    # table costs one lookup instead of two. Collected as is: a select() on the command's
    # result would be one more query.
    try:
        return [r.asDict() for r in spark.sql(statement).collect()]
    except AnalysisException as error:
        if error.getCondition() in NO_DELTA_TABLE:
            return []
        raise


def version(spark: SparkSession, cfg: LakeConfig, table: Table) -> int | None:
    """Current Delta version of a table, None when it does not exist yet."""
    newest = history(spark, cfg, table, limit=1)
    return int(newest[0]["version"]) if newest else None


# Commits that change no row: compaction, VACUUM's log entries and table properties.
NO_DATA_CHANGE = frozenset(
    {"OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES", "UNSET TBLPROPERTIES"}
)


def data_version(spark: SparkSession, cfg: LakeConfig, table: Table) -> int | None:
    """The version of the table's newest commit that changed its rows (None: no table).

    A compaction at the end of a run, or an operator's OPTIMIZE or VACUUM, makes a new version
    with the same rows: a job that asks "has this table changed since I last read it" compares
    this, so such commits make no work.
    """
    for limit in (5, None):  # normally the newest commit, or the one before a compaction
        rows = history(spark, cfg, table, limit)
        for row in rows:
            if row["operation"] not in NO_DATA_CHANGE:
                return int(row["version"])
        if limit is None or len(rows) < limit:
            break
    return None


def _write(
    df: DataFrame, cfg: LakeConfig, table: Table, mode: str, options: Mapping[str, str]
) -> None:
    if table.is_view:
        raise ValueError(f"{table} is a view (c2c_etl.gold.views): it is never written")
    # The layer's retention properties (c2c_etl.retention) and the table's performance features
    # (c2c_etl.table_features): Delta stores writer options named delta.* as table properties
    # when the write creates the table, at no extra commit.
    properties = {**table_properties(table.layer), **table_features(table, df.columns)}
    writer = df.write.format("delta").mode(mode).options(**properties, **options)
    if mode == "overwrite" and "replaceWhere" not in options:
        writer = writer.option("overwriteSchema", "true")
    if cfg.is_local:
        writer.save(cfg.table_path(table.layer, table.name))
    else:
        writer.saveAsTable(cfg.table_name(table.layer, table.name))
    WRITES.note(cfg, table)
    commit_made()


def _commit_options(
    txn: tuple[str, int] | None, user_metadata: Mapping[str, object] | None
) -> dict[str, str]:
    options = {}
    if txn is not None:
        options["txnAppId"], options["txnVersion"] = txn[0], str(txn[1])
    if user_metadata is not None:
        options["userMetadata"] = json.dumps(user_metadata, sort_keys=True)
    return options


def append(
    cfg: LakeConfig,
    table: Table,
    df: DataFrame,
    txn: tuple[str, int] | None = None,
    user_metadata: Mapping[str, object] | None = None,
) -> None:
    """Append rows (creates the table on first write).

    ``txn`` = (application id, version) makes the append idempotent: Delta records the pair in
    the same commit and skips any later write with that id and a version not above it, so a
    retried write after a crash can never add the rows twice. ``user_metadata`` is stored in
    the commit (``DESCRIBE HISTORY``'s ``userMetadata``) so a rerun can find its own work.
    """
    _write(df, cfg, table, "append", _commit_options(txn, user_metadata))


def replace_where(
    cfg: LakeConfig,
    table: Table,
    df: DataFrame,
    predicate: str,
    user_metadata: Mapping[str, object] | None = None,
) -> None:
    """Replace the rows matching ``predicate`` by ``df`` in one commit (append when the table
    does not exist yet). Written again after a crash, it replaces instead of duplicating."""
    spark = df.sparkSession
    if not exists(spark, cfg, table):
        append(cfg, table, df, user_metadata=user_metadata)
        return
    options = {"replaceWhere": predicate, **_commit_options(None, user_metadata)}
    _write(df, cfg, table, "overwrite", options)


def overwrite(
    cfg: LakeConfig,
    table: Table,
    df: DataFrame,
    user_metadata: Mapping[str, object] | None = None,
) -> None:
    """Replace the table's content in one atomic commit (readers see old or new, never half)."""
    _write(df, cfg, table, "overwrite", _commit_options(None, user_metadata))


def overwrite_all(
    cfg: LakeConfig,
    frames: Mapping[Table, DataFrame],
    user_metadata: Mapping[str, object] | None = None,
    after_each: Callable[[Table], None] | None = None,
) -> None:
    """Overwrite several tables at once. Each is its own atomic commit; the writes run in
    parallel threads because on small tables a Delta commit is mostly driver latency."""

    def write(item: tuple[Table, DataFrame]) -> None:
        overwrite(cfg, item[0], item[1], user_metadata)
        if after_each is not None:
            after_each(item[0])

    parallel(write, frames.items())


HISTORY_PAGE = 50


def commits(
    spark: SparkSession,
    cfg: LakeConfig,
    table: Table,
    limit: int | None = None,
    since: datetime | None = None,
) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    """The table's commits, newest first: (version, user metadata as JSON, operation metrics).

    Reads the Delta log only (no data files): the last ``limit`` commits, or those from
    ``since`` on (the last 50 when they reach back that far, else the whole history), or all.
    Commits without our JSON metadata give ``{}``.
    """
    rows = history(spark, cfg, table, limit or (HISTORY_PAGE if since else None))
    if since is not None:
        if len(rows) == HISTORY_PAGE and min(r["timestamp"] for r in rows) >= since:
            rows = history(spark, cfg, table)
        rows = [r for r in rows if r["timestamp"] >= since]
    found = []
    for row in rows:
        try:
            meta = json.loads(row["userMetadata"]) if row["userMetadata"] else {}
        except ValueError:
            meta = {}
        found.append(
            (
                int(row["version"]),
                meta if isinstance(meta, dict) else {},
                dict(row["operationMetrics"] or {}),
            )
        )
    return found


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
    user_metadata: Mapping[str, object] | None = None,
    staging: Table | None = None,
) -> None:
    """MERGE ``source`` into ``table`` on ``key``: insert new keys, update a key only where
    ``update_condition`` (over aliases ``s`` source and ``t`` target) holds.

    The MERGE reads ``source`` twice (the target rows it touches, then the rows it writes) and
    does not copy it first (:data:`MERGE_CONF`): ``source`` must give the same rows each time,
    as a cached frame, local rows or a Delta table read do.

    A ``MERGE INTO`` statement over the source as a temporary view of the session (dropped
    afterwards), so it needs no Delta client API. ``user_metadata`` goes into the commit. A
    MERGE takes no writer options, so it is passed through Delta's session setting for the
    length of the call, with :data:`MERGE_CONF`; jobs run their MERGEs one at a time, never
    in parallel threads.

    With ``staging``, the source is first written to that table (replacing what it held) and
    the MERGE reads it from there (see :func:`staged`), when the target is large enough for
    that to pay (:data:`STAGE_MIN_TARGET_BYTES`).
    """
    if not exists(spark, cfg, table):
        append(cfg, table, source, user_metadata=user_metadata)
        return
    settings = dict(MERGE_CONF)
    if staging is not None and size_bytes(spark, cfg, table) >= STAGE_MIN_TARGET_BYTES:
        source = staged(spark, cfg, staging, source)
        settings.update(STAGED_MERGE_CONF)
    view = f"c2c_merge_source_{uuid4().hex}"
    source.createOrReplaceTempView(view)
    if user_metadata is not None:
        settings[USER_METADATA_CONF] = json.dumps(user_metadata, sort_keys=True)
    try:
        with session_conf(spark, settings):
            spark.sql(merge_statement(sql_name(cfg, table), view, key, update_condition))
        WRITES.note(cfg, table)
        commit_made()
    finally:
        spark.catalog.dropTempView(view)


# Session settings for the length of a MERGE. No broadcast join: to find the source rows
# that are new, Delta joins them with the target's keys and builds the hash table from the
# target side. Spark sizes a one-column read of a big table from its compressed Parquet bytes,
# which understate the keys' size in memory many times over, and broadcasts it: a large
# table's keys then do not fit in a small driver and the MERGE fails. A sort-merge join
# shuffles the keys instead.
#
# Nor does Delta copy the source before the MERGE reads it (it does for any source that is not
# a plain Delta read, in case a second read differs): the callers' sources are cached or
# re-readable as they are, so a copy would only be one more query and one more write.
MERGE_CONF = {
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.databricks.delta.merge.materializeSource": "none",
}

# A MERGE from a staged source, besides MERGE_CONF. Delta writes the updated and new
# rows by joining the source with every row of the files the MERGE touches, all columns, in a
# sort-merge join: when the changed users are spread over every file, as they are, that is a
# shuffle of the whole table. Spark's runtime Bloom filter removes the target rows whose key
# is not in the source before that shuffle, when (a) the source is a selective filter over a
# table scan, (b) Delta does not copy the source first (MERGE_CONF; a staged source is a plain
# Delta read, and no other writer touches it during the MERGE), and (c) the target scan is
# larger than STAGE_MIN_TARGET_BYTES (Spark's default, 10 GB, is for clusters): a smaller
# target is not filtered, so upsert() does not stage its source, which would only add a write
# and a commit. The creation side (the staged rows' keys) is bounded so a huge batch falls back
# to the plain join. Its measured effect is in docs/performance.md.
STAGE_MIN_TARGET_BYTES = 32 * 1024 * 1024
STAGED_MERGE_CONF = {
    "spark.sql.optimizer.runtime.bloomFilter.enabled": "true",
    "spark.sql.optimizer.runtime.bloomFilter.applicationSideScanSizeThreshold": str(
        STAGE_MIN_TARGET_BYTES
    ),
    "spark.sql.optimizer.runtime.bloomFilter.creationSideThreshold": "256MB",
}
STAGED_BATCH_COLUMN = "_staged_batch"


def size_bytes(spark: SparkSession, cfg: LakeConfig, table: Table) -> int:
    """The size of the table's current files (Delta's snapshot, no data read)."""
    if cfg.is_local:
        local = _local_checksum_size(cfg, table)
        if local is not None:
            return local
    # Collected as is: the command has run when spark.sql returns, and a select() on its
    # result would be one more query.
    rows = spark.sql(f"DESCRIBE DETAIL {sql_name(cfg, table)}").collect()
    return int(rows[0]["sizeInBytes"] or 0) if rows else 0


def _local_checksum_size(cfg: LakeConfig, table: Table) -> int | None:
    """The size of a local table's files from the checksum file Delta writes beside its newest
    commit (``<version>.crc``, ``tableSizeBytes``): read by Python, no Spark query. None when
    that commit has no checksum file (Delta writes it after the commit, so a process that died
    in between leaves none)."""
    versions = _local_versions(cfg, table)
    if not versions:
        return None
    try:
        checksum_file = _delta_log(cfg, table) / f"{versions[0]:020d}.crc"
        checksum = json.loads(checksum_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    size = checksum.get("tableSizeBytes")
    return int(size) if isinstance(size, int) else None


def staged(spark: SparkSession, cfg: LakeConfig, staging: Table, source: DataFrame) -> DataFrame:
    """``source`` written to ``staging`` (replacing its content, so a rerun after a crash
    writes it again), read back as this batch's rows.

    The rows carry a batch id, and the read keeps this batch's: a real filter, and the
    selective predicate over a table scan that Spark's runtime filter rule looks for (see
    :data:`STAGED_MERGE_CONF`)."""
    batch = uuid4().hex
    overwrite(cfg, staging, source.withColumn(STAGED_BATCH_COLUMN, F.lit(batch)))
    return (
        read(spark, cfg, staging)
        .filter(F.col(STAGED_BATCH_COLUMN) == batch)
        .drop(STAGED_BATCH_COLUMN)
    )


@contextmanager
def session_conf(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """Set session settings for the length of a block, then put back what was there."""
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, was in previous.items():
            if was is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, was)


def merge_statement(target: str, source: str, key: str, update_condition: str) -> str:
    """The ``MERGE INTO`` of :func:`upsert`: every column updated or inserted, by name."""
    # B608 (SQL built from strings) is waived: the target is sql_name() of a c2c_etl.tables
    # table, the source a generated view name, the key and condition come from the jobs' code.
    return (
        f"MERGE INTO {target} AS t USING {source} AS s ON t.`{key}` = s.`{key}` "  # nosec B608  # see above
        f"WHEN MATCHED AND ({update_condition}) THEN UPDATE SET * "
        "WHEN NOT MATCHED THEN INSERT *"
    )


FILE_BLOCK_BYTES = 4 << 20


def file_blocks(path: str, size: int = FILE_BLOCK_BYTES) -> Iterator[bytes]:
    """A landed file's bytes in blocks of ``size`` (cut anywhere), read once, streaming."""
    with open(path, "rb") as handle:
        while block := handle.read(size):
            yield block


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
