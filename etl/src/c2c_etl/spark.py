"""The one SparkSession of a run.

On Databricks the runtime owns the session (Delta built in), so we only ``getOrCreate`` it.
Locally we build a session with Delta's extensions. Delta's jars come from Maven Central: the
first run resolves them with Ivy into a cache folder and writes a manifest; later runs put the
cached jars on the class path directly and never resolve again (no network, no Ivy start-up).

With a Spark Connect URL (``--spark-remote`` or pyspark's own ``$SPARK_REMOTE``) the run is a
client of that server instead: the jobs use only the DataFrame and SQL APIs, so they run there
unchanged (tests/etl/cluster proves it against a local Spark Connect server).
"""

from __future__ import annotations

import json
import logging
import os
from importlib.metadata import version
from pathlib import Path

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

SCALA_BINARY = "2.13"  # Spark 4.0 is built for Scala 2.13 only.


def delta_coordinate() -> str:
    """Maven coordinate of the Delta jar matching the installed delta-spark wheel."""
    return f"io.delta:delta-spark_{SCALA_BINARY}:{version('delta-spark')}"


def jar_cache_dir() -> Path:
    """Folder of the cached jars: ``$C2C_JAR_CACHE`` or ``~/.cache/c2c-etl/jars``."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "c2c-etl" / "jars"
    return Path(os.environ.get("C2C_JAR_CACHE", default))


def _cached_jars(cache: Path, coordinate: str) -> list[str] | None:
    manifest = cache / "manifest.json"
    if not manifest.exists():
        return None
    data = json.loads(manifest.read_text())
    jars = [str(cache / "ivy" / "jars" / name) for name in data.get("jars", [])]
    if data.get("coordinate") != coordinate or not jars or not all(Path(j).exists() for j in jars):
        return None
    return jars


def cached_delta_jars() -> list[str] | None:
    """Paths of the cached Delta jars (for ``spark-submit --jars``), None before the first
    local session has resolved them."""
    return _cached_jars(jar_cache_dir(), delta_coordinate())


def _write_manifest(cache: Path, coordinate: str) -> None:
    jars = sorted(p.name for p in (cache / "ivy" / "jars").glob("*.jar"))
    (cache / "manifest.json").write_text(json.dumps({"coordinate": coordinate, "jars": jars}))


LOCAL_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # Few shuffle partitions for one machine's two cores: Spark's 200 are for clusters and make
    # a local run slower (make bench, its tunings). Adaptive execution is Spark's default, set
    # here as it is; the bench shows no benefit from it on one machine (docs/performance.md).
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
    "spark.default.parallelism": "4",
    # Delta replays its log with this many partitions; the default (50) is for clusters.
    "spark.databricks.delta.snapshotPartitions": "2",
    # Delta keeps each table's log and snapshot (with the plans of its log replay) in memory
    # for an hour, up to 10,000 tables, whatever the heap. A lake has a few dozen tables; a
    # test session's one JVM touches hundreds, and their snapshots would fill its heap.
    "spark.databricks.delta.delta.log.cacheSize": "100",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # The heap of the one local JVM. Its resident memory runs about 1 GB above this (metaspace,
    # code cache, threads, Parquet buffers), and a run is meant to fit in 4 GB (make bench
    # checks its peak); caches and shuffles spill to disk.
    "spark.driver.memory": "2g",
}

# The local JVM's JIT, chosen by how big a run is: the input new to the lake and the silver
# table its MERGE joins with (c2c_etl.lake_state.run_bytes; see driver_java_options).
# A short run is mostly the JVM warming up: C1 alone compiles Spark's and Delta's code sooner,
# and the run ends before C2's faster code would pay back its compilation. A long run is the
# other way: both compilers (the JVM's default), and huge methods compiled too, since the code
# Spark generates for silver's conform-and-check stage has methods over HotSpot's 8,000-byte
# limit, which it otherwise leaves interpreted. The code cache is raised so neither fills it.
# The size where one choice overtakes the other is measured: docs/performance.md.
SHORT_RUN_MAX_BYTES = 64 * 1024 * 1024
JAVA_OPTIONS = "-Dlog4j2.level=WARN -XX:ReservedCodeCacheSize=512m"
SHORT_RUN_JIT = "-XX:TieredStopAtLevel=1"
LONG_RUN_JIT = "-XX:-DontCompileHugeMethods"


def driver_java_options(input_bytes: int | None = None) -> str:
    """The local driver JVM's options for a run of ``input_bytes``: the short-run JIT up to
    :data:`SHORT_RUN_MAX_BYTES`, else (and when the size is not known, as for a session that
    serves many runs) the long-run JIT."""
    short = input_bytes is not None and input_bytes <= SHORT_RUN_MAX_BYTES
    return f"{JAVA_OPTIONS} {SHORT_RUN_JIT if short else LONG_RUN_JIT}"


def extra_conf() -> dict[str, str]:
    """Overrides from ``$C2C_SPARK_CONF`` ("key=value;key=value"), for tuning experiments."""
    raw = os.environ.get("C2C_SPARK_CONF", "")
    pairs = [item.split("=", 1) for item in raw.split(";") if "=" in item]
    return {k.strip(): v.strip() for k, v in pairs}


DEFAULT_MASTER = "local[2]"


def builder_master(master: str | None = None) -> str | None:
    """The master :func:`local_spark` sets: ``master`` if given; else none when ``spark-submit``
    started this process, whose ``--master`` (e.g. a standalone cluster's ``spark://host:port``)
    is already in the conf and must win; else ``local[2]``.

    pyspark's launcher hands a process it starts the running JVM's gateway port; a plain
    ``python`` run has none and starts its own JVM.
    """
    if master:
        return master
    return None if "PYSPARK_GATEWAY_PORT" in os.environ else DEFAULT_MASTER


def local_spark(
    app_name: str = "c2c-etl", master: str | None = None, input_bytes: int | None = None
) -> SparkSession:
    """A Spark session with Delta, reusing cached Delta jars when present: on ``local[2]``, or
    on the master ``spark-submit`` was given (see :func:`builder_master`);
    ``$C2C_SPARK_CONF`` (``spark.master=...``) overrides either. ``input_bytes``: the size of
    the session's run, which chooses its JIT (:func:`driver_java_options`)."""
    cache = jar_cache_dir()
    coordinate = delta_coordinate()
    builder = SparkSession.builder.appName(app_name)
    chosen = builder_master(master)
    if chosen:
        builder = builder.master(chosen)
    conf = {
        **LOCAL_CONF,
        "spark.driver.extraJavaOptions": driver_java_options(input_bytes),
        **extra_conf(),
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    if SparkSession.getActiveSession() is None:
        log.info(
            "starting local Spark, driver JVM options: %s", conf["spark.driver.extraJavaOptions"]
        )
    jars = _cached_jars(cache, coordinate)
    if jars:
        spark = builder.config("spark.jars", ",".join(jars)).getOrCreate()
    else:
        log.info("resolving %s from Maven Central into %s (once)", coordinate, cache)
        cache.mkdir(parents=True, exist_ok=True)
        builder = builder.config("spark.jars.packages", coordinate).config(
            "spark.jars.ivy", str(cache / "ivy")
        )
        spark = builder.getOrCreate()
        _write_manifest(cache, coordinate)
    # The one SparkContext call of the package: session set-up of a classic session we built
    # ourselves, never on Databricks or Spark Connect (where there is no SparkContext).
    spark.sparkContext.setLogLevel("WARN")
    return spark


def remote_url(remote: str | None = None) -> str | None:
    """The Spark Connect URL of a run: ``remote``, else ``$SPARK_REMOTE``, else None."""
    return remote or os.environ.get("SPARK_REMOTE") or None


def get_spark(
    is_local: bool,
    app_name: str = "c2c-etl",
    remote: str | None = None,
    input_bytes: int | None = None,
) -> SparkSession:
    """The session for a run: a Spark Connect client when a URL is given (see
    :func:`remote_url`), else local with Delta (its JIT chosen by ``input_bytes``), or the
    Databricks runtime's own."""
    url = remote_url(remote)
    if url:
        log.info("using the Spark Connect server at %s", url.split(";", 1)[0])
        return SparkSession.builder.remote(url).appName(app_name).getOrCreate()
    if is_local:
        return local_spark(app_name, input_bytes=input_bytes)
    return SparkSession.builder.appName(app_name).getOrCreate()
