"""Benchmark of the local pipeline at scale, as an operator would run it (``make bench``).

Every figure comes from a separate process, timed from outside: wall time, CPU time and the peak
resident memory of the whole process tree (Python and its JVM; each address space once), sampled
from /proc. The pipeline's own summary gives the time per step. Scenarios, in order:

1. Spark start-up alone (a session created and stopped): the floor of every run.
2. The real dataset: a full run into a fresh lake, then a rerun with no new input (no-op), and
   the same rerun with ``--full-check`` (made to start Spark and read the lake).
3. Synthetic inputs of each ``--scales`` size (both releases, the generator's dirty rows): a full
   run, and in the same bench two baselines on the same CSVs: a raw Spark CSV-to-Delta copy
   (the engine's floor for this work) and the gold aggregates computed by DuckDB (the
   single-machine alternative). The largest scale then gets an incremental run adding
   ``--increment-share`` new users, and a no-op rerun. The largest scale also measures two
   floors, what any design with bronze, silver and gold tables does at least: the medallion
   floor (silver and gold written with no logic after the raw copy, :func:`cmd_full_floor`)
   and the incremental floor (the same delivery appended to the raw copy, MERGEd into a copy
   of its users table and added to one gold aggregate, :func:`cmd_floor`).
4. ``--small-runs`` small incremental runs on the real-data lake, one delivery each; then the
   same inputs loaded in one run into a fresh lake: active Delta files per table, both ways.
5. What each tuning is worth (``--tunings-users``, 1M by default): the full pipeline with each
   of :data:`TUNINGS` the other way in turn, between runs of the pipeline as it is; and the
   CSV read with bronze's explicit schema against Spark's schema inference.

Writes ``bench.json`` and ``bench.md`` to ``--out`` (bench-results/), with the speed targets
checked against the figures (docs/performance.md explains them and keeps the latest report).
Generated inputs are kept in ``--work`` and reused (same
seed, same bytes). Needs a quiet machine: anything else running inflates the times.

    make bench                       # the full suite (about two and a half hours on 2 cores)
    make bench BENCH_ARGS="--quick"  # small sizes and one tuning, to check the bench
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REAL = REPO.parent / "shared" / "data" / "c2c-fashion-store"
STEP_LINE = re.compile(r"^\s{2}(\S[\w -]*?)\s+([\d.]+) s(?:\s+(\w+))?$")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
# Share of a delivery's rows that are later versions of users already in the lake.
UPDATE_SHARE = 0.1

# The speed targets (docs/performance.md), set for a 2-core machine.
TARGET_FULL_OVER_COPY = 2.5
TARGET_INCREMENTAL_OVER_FULL = 0.15
TARGET_NOOP_BEYOND_STARTUP_S = 10.0
TARGET_FILES_RATIO = 2.0
TARGET_PEAK_GB = 4.0
# Targets of the runner (scenario "runner"): what a run costs against what its data costs.
TARGET_SMALL_SQL_EXECUTIONS = 80
TARGET_SMALL_OVER_FLOOR = 3.0
TARGET_NOOP_MAKE_RUN_OVER_FLOOR = 0.5
TARGET_REAL_FULL_OVER_COPY = 3.0
TARGET_LAST_OVER_FIRST = 1.15


# --- measuring one process --------------------------------------------------------------


@dataclass
class Measured:
    """One process, measured from outside."""

    wall_s: float
    cpu_s: float  # user + system seconds of the process tree (the JVM too), to the last sample
    peak_rss_mb: float  # largest sum of resident memory over the process tree
    stdout: str = field(repr=False)


def _tree(root: int) -> list[int]:
    """``root`` and all its live descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(stat[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


# kcmp(2): whether two processes share a kernel resource; KCMP_VM compares address spaces.
SYS_KCMP = {"x86_64": 312, "aarch64": 272}.get(platform.machine())
KCMP_VM = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


def _shares_memory(a: int, b: int) -> bool:
    """Whether processes (or threads) ``a`` and ``b`` share one address space.

    The JVM starts helper commands (Hadoop's ``chmod`` and ``readlink`` on the local file
    system) with ``posix_spawn``, a vfork: until the helper's exec, the child runs in the
    JVM's own memory, and /proc shows the JVM's resident size for it too. Summed, that child
    counted the JVM twice, and a peak read that way is far above the run's real one. False when
    the kernel cannot tell (no kcmp on this machine), which counts both."""
    if SYS_KCMP is None:
        return False
    return bool(_LIBC.syscall(SYS_KCMP, a, b, KCMP_VM, 0, 0) == 0)


def _sample(pids: list[int], cpu: dict[int, float]) -> int:
    """Resident bytes of ``pids`` now, each address space counted once; records each one's CPU
    seconds so far in ``cpu``."""
    rss = 0
    counted: list[int] = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu[pid] = (int(stat[11]) + int(stat[12])) / TICK
            if any(_shares_memory(pid, other) for other in counted):
                continue
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            counted.append(pid)
        except OSError:
            pass
    return rss


def measure(cmd: list[str], env: dict[str, str] | None = None, sample_s: float = 0.2) -> Measured:
    """Run ``cmd`` to completion; raise with its output when it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    peak = 0
    cpu: dict[int, float] = {}  # per process of the tree, as last sampled
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(sample_s):
            peak = max(peak, _sample(_tree(proc.pid), cpu))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, _usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-6000:]}")
    return Measured(
        wall_s=round(wall, 2),
        cpu_s=round(sum(cpu.values()), 1),
        peak_rss_mb=round(peak / 2**20, 1),
        stdout=out,
    )


def py(*args: str) -> list[str]:
    return [sys.executable, *args]


# --- the commands measured ----------------------------------------------------------------


def pipeline(
    landing: Path, lake: Path, *extra: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One ``c2c-pipeline`` run: process figures and the summary's time per step."""
    args = ["--env", "local", "--input", str(landing), "--lake", str(lake), *extra]
    m = measure(py("-m", "c2c_etl.runner", *args), env=env)
    steps: dict[str, float] = {}
    statuses: dict[str, str] = {}
    for line in m.stdout.splitlines():
        match = STEP_LINE.match(line)
        if match:
            steps[match.group(1).strip()] = float(match.group(2))
            if match.group(3):
                statuses[match.group(1).strip()] = match.group(3)
    return {**_figures(m), "steps_s": steps, "step_status": statuses}


def _figures(m: Measured) -> dict[str, Any]:
    return {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mb": m.peak_rss_mb}


def spark_startup() -> dict[str, Any]:
    code = "from c2c_etl.spark import local_spark; local_spark('c2c-bench-startup').stop()"
    return _figures(measure(py("-c", code)))


def _subcommand(*args: str, env: dict[str, str] | None = None) -> tuple[Measured, Any]:
    """One of this script's internal subcommands, run in its own measured process: its
    figures, and the JSON it printed on its last line."""
    m = measure(py(str(Path(__file__)), *args), env=env)
    return m, json.loads(m.stdout.strip().splitlines()[-1])


def raw_copy(landing: Path, out: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The floor: the users CSVs read by Spark as strings and written to Delta, nothing else."""
    m, printed = _subcommand("copy", "--input", str(landing), "--out", str(out), env=env)
    return {**_figures(m), **printed}


def full_floor(copy: Path, out: Path, input_bytes: int) -> dict[str, Any]:
    """Silver and gold written with no logic from a raw copy's tables: see
    :func:`cmd_full_floor`. ``input_bytes``: the size of the CSVs the copy was made from."""
    m, printed = _subcommand(
        "full-floor", "--copy", str(copy), "--out", str(out), "--input-bytes", str(input_bytes)
    )
    return {**_figures(m), **printed}


def incremental_floor(
    copy: Path, delivery: Path, out: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The least an incremental run of ``delivery`` costs with bronze, silver and gold tables:
    see :func:`cmd_floor`. ``copy`` is a raw copy's output (its users_2020 table grows)."""
    m, printed = _subcommand(
        "floor", "--copy", str(copy), "--delivery", str(delivery), "--out", str(out), env=env
    )
    return {**_figures(m), **printed}


def duckdb_gold(landing: Path, out: Path) -> dict[str, Any]:
    """The single-machine alternative: the same gold aggregates by DuckDB from the CSVs."""
    threads = str(os.cpu_count() or 1)
    m = measure(
        py(
            str(REPO / "scripts" / "bench_duckdb.py"),
            "--input",
            str(landing),
            "--out",
            str(out),
            "--threads",
            threads,
        )
    )
    return _figures(m)


def inspection(landing: Path) -> dict[str, Any]:
    """Bronze's driver-side look at the CSVs before Spark reads them: the content hash and the
    inspection of the bytes (``c2c_etl.bronze.inspect``), in one Python process."""
    m, printed = _subcommand("inspect", "--input", str(landing))
    return {**_figures(m), **printed}


def delta_files(lake: Path) -> dict[str, dict[str, int]]:
    """Active data files and bytes of every Delta table of a lake (``DESCRIBE DETAIL``)."""
    _m, printed = _subcommand("files", "--lake", str(lake))
    return dict(printed)


def spark_conf_env(conf: dict[str, str]) -> dict[str, str]:
    """The environment that makes a run's Spark session take ``conf`` over the pipeline's own
    settings (``c2c_etl.spark.extra_conf``)."""
    return {"C2C_SPARK_CONF": ";".join(f"{k}={v}" for k, v in conf.items())}


@dataclass(frozen=True)
class Tuning:
    """A tuning choice: what the pipeline does, the other way, and the Spark settings that
    make one run go the other way."""

    name: str
    ours: str  # what the pipeline does
    other: str  # what the other run does instead
    conf: dict[str, str]


# A tuning is kept only if the report shows its measured effect. These are the choices a
# Spark setting can reverse, the ones kept and one tried and not kept (optimized writes); the
# others (file statistics, the staging table, the staged MERGE, the record hash) change code
# and were measured as code changes (docs/performance.md). Explicit
# schemas are measured apart, on the CSV read alone (:func:`schema_read`).
TUNINGS = (
    Tuning(
        "adaptive execution",
        "on",
        "off",
        {"spark.sql.adaptive.enabled": "false"},
    ),
    Tuning(
        "shuffle partitions",
        "4 (adaptive execution coalesces them further)",
        "Spark's default, 200",
        {"spark.sql.shuffle.partitions": "200"},
    ),
    Tuning(
        "broadcast of small dimensions",
        "broadcast hints on the country lookup, the dimension and small key sets, and "
        "Spark's automatic broadcast",
        "no broadcast join: hints ignored, automatic broadcast off",
        {"spark.sql.optimizer.disableHints": "true", "spark.sql.autoBroadcastJoinThreshold": "-1"},
    ),
    Tuning(
        "JIT settings",
        "for a run of over 64 MB of new input, as here: both compilers, huge generated methods "
        "compiled, 512 MB code cache (a smaller run: C1 alone)",
        "the JVM's defaults (methods over 8,000 bytes interpreted)",
        {"spark.driver.extraJavaOptions": "-Dlog4j2.level=WARN"},
    ),
    Tuning(
        "driver heap",
        "2 GB",
        "3 GB",
        {"spark.driver.memory": "3g"},
    ),
    Tuning(
        "optimized writes (not kept)",
        "off: each write's tasks write their own files",
        "on: a shuffle before each Delta write, to write fewer, larger files",
        {"spark.databricks.delta.optimizeWrite.enabled": "true"},
    ),
)


def chosen_tunings(names: str) -> list[Tuning]:
    """The tunings named in ``names`` (comma-separated; empty: all of them), in
    :data:`TUNINGS`' order. A name that is not a tuning's is refused with the known names,
    before anything runs: a misspelt one would otherwise measure nothing, silently."""
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = sorted(wanted - {t.name for t in TUNINGS})
    if unknown:
        known = "; ".join(t.name for t in TUNINGS)
        raise ValueError(f"no tuning is named {', '.join(map(repr, unknown))} (known: {known})")
    return [t for t in TUNINGS if not wanted or t.name in wanted]


def compare_runs(
    base: list[dict[str, Any]], variants: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each variant run against the mean of the pipeline's runs just before and just after it
    (``base`` has one more run than ``variants``, interleaved with them): the ratio of wall
    time, peak memory and each step's time, the variant's over the pipeline's."""
    out = []
    for i, run in enumerate(variants):
        around = base[i : i + 2]
        wall = statistics.fmean(r["wall_s"] for r in around)
        peak = statistics.fmean(r["peak_rss_mb"] for r in around)
        steps = {
            step: statistics.fmean(r["steps_s"].get(step, 0.0) for r in around)
            for step in run["steps_s"]
        }
        out.append(
            {
                "ours_wall_s": round(wall, 2),
                "other_wall_s": run["wall_s"],
                "wall_ratio": round(run["wall_s"] / wall, 3),
                "ours_peak_mb": round(peak, 1),
                "other_peak_mb": run["peak_rss_mb"],
                "peak_ratio": round(run["peak_rss_mb"] / peak, 3),
                "steps_ratio": {
                    step: round(t / steps[step], 3)
                    for step, t in run["steps_s"].items()
                    if steps.get(step)
                },
            }
        )
    return out


def tunings(
    work: Path, users: int, scratch: Path, rounds: int = 1, chosen: Sequence[Tuning] = TUNINGS
) -> dict[str, Any]:
    """The full pipeline on ``users`` synthetic users with each of the ``chosen`` tunings the
    other way in turn, and as it is before, between and after them, ``rounds`` times (each run
    into a fresh lake): what each choice is worth, as ratios to the runs beside it in time."""
    landing = landing_of(synthetic(work, users))
    base: list[dict[str, Any]] = []
    compared: list[list[dict[str, Any]]] = [[] for _ in chosen]

    def one(env: dict[str, str] | None) -> dict[str, Any]:
        lake = scratch / "tuning-lake"
        try:
            return pipeline(landing, lake, env=env)
        finally:
            shutil.rmtree(lake, ignore_errors=True)

    for _ in range(rounds):
        around, variants = [one(None)], []
        for tuning in chosen:
            variants.append(one(spark_conf_env(tuning.conf)))
            around.append(one(None))
            print(f"tuning {tuning.name}: measured", flush=True)
        for i, result in enumerate(compare_runs(around, variants)):
            compared[i].append(result)
        base += around
    schema = schema_read(landing)
    shutil.rmtree(landing)
    return {
        "users": users,
        "baseline_runs": base,
        "tunings": [
            {"name": t.name, "ours": t.ours, "other": t.other, "conf": t.conf, "rounds": r}
            for t, r in zip(chosen, compared, strict=True)
        ],
        "schema": schema,
    }


def schema_read(landing: Path) -> dict[str, Any]:
    """Explicit schemas, measured on the CSV read alone: bronze's read of every users file
    (its explicit all-string schema), against the same files read with Spark's schema
    inference, in one process, alternating (:func:`cmd_schema`)."""
    m, printed = _subcommand("schema", "--input", str(landing))
    return {**_figures(m), **printed}


# --- subcommands run in their own process -------------------------------------------------


def users_files(folder: Path) -> list[tuple[Path, Any, tuple[str, ...]]]:
    """The users CSVs of a folder, each with its source kind and header, known from the header
    line only (none of bronze's inspection of the file's bytes)."""
    from c2c_etl.sources import USERS_KINDS, detect_kind, parse_header

    found = []
    for path in sorted(folder.glob("*.csv")):
        with path.open("rb") as handle:
            header = parse_header(handle.readline().decode("utf-8-sig"))
        kind = detect_kind(header)
        if kind in USERS_KINDS:
            found.append((path, kind, header))
    return found


def cmd_copy(args: argparse.Namespace) -> None:
    from c2c_etl.sources import USERS_KINDS
    from c2c_etl.spark import local_spark

    files = users_files(Path(args.input))
    start = time.perf_counter()
    # The JIT the pipeline would choose for the same input (c2c_etl.spark.driver_java_options).
    spark = local_spark("c2c-bench-raw-copy", input_bytes=sum(p.stat().st_size for p, *_ in files))
    startup = time.perf_counter() - start
    rows = 0
    for path, kind, _header in files:
        df = spark.read.option("header", "true").csv(str(path))  # strings, no inference
        df.write.format("delta").mode("append").save(str(Path(args.out) / kind.name))
    for kind in USERS_KINDS:
        if (Path(args.out) / kind.name).exists():
            history = spark.sql(f"DESCRIBE HISTORY delta.`{Path(args.out) / kind.name}`")
            metrics = history.select("operationMetrics").collect()
            rows += sum(int(r[0]["numOutputRows"]) for r in metrics)
    work = time.perf_counter() - start - startup
    spark.stop()
    print(json.dumps({"startup_s": round(startup, 2), "work_s": round(work, 2), "rows": rows}))


def cmd_full_floor(args: argparse.Namespace) -> None:
    """The medallion floor after the raw copy (which is bronze's floor), on its tables: silver
    as the users of both releases with the silver job's number and identifier columns typed
    (nothing else: no checks, no deduplication, no hash), then gold as one aggregate (users per
    country; the user fact is a view of silver, written by no design that keeps it so). Every
    design with the three layers as tables writes at least this; the raw copy's work plus this
    is the floor of a full run."""
    from pyspark.sql import functions as F

    from c2c_etl.silver.users import NUMBER_COLUMNS
    from c2c_etl.spark import local_spark

    copy, out = Path(args.copy), Path(args.out)
    start = time.perf_counter()
    # The JIT of the pipeline's full run of the CSVs the copy holds.
    spark = local_spark("c2c-bench-full-floor", input_bytes=args.input_bytes)
    figures = {"startup_s": round(time.perf_counter() - start, 2)}
    t = time.perf_counter()
    frames = []
    for table in sorted(copy.glob("users_*")):
        raw = spark.read.format("delta").load(str(table))
        typed = [
            F.trim(F.col(c)).try_cast(NUMBER_COLUMNS[c][1]).alias(c)
            if c in NUMBER_COLUMNS
            else F.col(c)
            for c in raw.columns
            if c != "identifierHash"
        ]
        frames.append(
            raw.select(F.col("identifierHash").try_cast("bigint").alias("identifierHash"), *typed)
        )
    users = frames[0]
    for frame in frames[1:]:
        users = users.unionByName(frame, allowMissingColumns=True)
    users.write.format("delta").save(str(out / "silver"))
    figures["silver_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    silver = spark.read.format("delta").load(str(out / "silver"))
    by_country = silver.groupBy("countryCode").agg(F.count(F.lit(1)).alias("users"))
    by_country.write.format("delta").save(str(out / "users_by_country"))
    figures["gold_s"] = round(time.perf_counter() - t, 2)
    figures["rows"] = silver.count()
    spark.stop()
    print(json.dumps(figures))


def cmd_floor(args: argparse.Namespace) -> None:
    """The incremental floor, on the raw copy's tables (strings, no logic): Spark start-up,
    the delivery appended to the copy's users table (bronze), then MERGEd into a copy of that
    table made beforehand (silver) with the pipeline's own MERGE settings (``c2c_etl.io``) and
    deletion vectors on, as silver users has them, the source staged only where the pipeline
    stages it (when the target reaches ``io.STAGE_MIN_TARGET_BYTES``); then gold: one small
    aggregate (users per country, made beforehand) brought up to date by adding the delivery's
    counts and overwriting it. A design that keeps bronze, silver and gold as tables does at
    least this for a delivery; the pipeline adds its checks, hashes, change feed and its other
    aggregates.
    The MERGE target holds the 2020 release's users only (most of them; the pipeline's holds
    both releases): a smaller target, so the floor errs low, never high."""
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    from c2c_etl.io import MERGE_CONF, STAGE_MIN_TARGET_BYTES, STAGED_MERGE_CONF
    from c2c_etl.lake_state import data_bytes
    from c2c_etl.spark import local_spark
    from c2c_etl.table_features import DELETION_VECTORS

    copy, out = Path(args.copy), Path(args.out)
    bronze, silver, gold = copy / "users_2020", out / "silver", out / "users_by_country"
    shutil.copytree(bronze, silver)  # before the clock starts: not part of any run
    # The JIT the pipeline would choose: by the delivery and the table it is MERGEd into.
    size = Path(args.delivery).stat().st_size + data_bytes(silver)
    start = time.perf_counter()
    spark = local_spark("c2c-bench-incremental-floor", input_bytes=size)
    figures = {"startup_s": round(time.perf_counter() - start, 2)}
    properties = ", ".join(f"'{k}' = '{v}'" for k, v in DELETION_VECTORS.items())
    spark.sql(f"ALTER TABLE delta.`{silver}` SET TBLPROPERTIES ({properties})")

    def users_by_country(users: DataFrame) -> DataFrame:
        return users.groupBy("countryCode").agg(F.count(F.lit(1)).alias("users"))

    users_by_country(spark.read.format("delta").load(str(silver))).write.format("delta").save(
        str(gold)
    )
    for key, value in MERGE_CONF.items():
        spark.conf.set(key, value)
    t = time.perf_counter()
    delivery = spark.read.option("header", "true").csv(args.delivery)
    delivery.write.format("delta").mode("append").save(str(bronze))
    figures["bronze_append_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{silver}`").first()
    source = delivery
    if detail is not None and detail["sizeInBytes"] >= STAGE_MIN_TARGET_BYTES:
        for key, value in STAGED_MERGE_CONF.items():
            spark.conf.set(key, value)
        staged = out / "silver_merge_source"
        delivery.write.format("delta").mode("overwrite").save(str(staged))
        source = spark.read.format("delta").load(str(staged))
    source.createOrReplaceTempView("delivery")
    figures["silver_staged"] = source is not delivery
    spark.sql(
        f"MERGE INTO delta.`{silver}` t USING delivery s "
        "ON t.identifierHash = s.identifierHash "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )
    figures["silver_merge_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    # The delivery's counts added to the stored ones: an additive aggregate's incremental update
    # (the pipeline's also subtracts the updated users' old rows, which only adds to this).
    stored = spark.read.format("delta").load(str(gold))
    added = (
        stored.unionByName(users_by_country(delivery))
        .groupBy("countryCode")
        .agg(F.sum("users").alias("users"))
    )
    added.write.format("delta").mode("overwrite").save(str(gold))
    figures["gold_s"] = round(time.perf_counter() - t, 2)
    figures["rows_after"] = spark.read.format("delta").load(str(silver)).count()
    counted = spark.read.format("delta").load(str(gold)).agg(F.sum("users")).first()
    figures["gold_users"] = counted[0] if counted else 0
    spark.stop()
    print(json.dumps(figures))


def cmd_schema(args: argparse.Namespace) -> None:
    """The users CSVs read whole (Spark's ``noop`` sink), twice each way, alternating: with
    bronze's explicit all-string schema (``c2c_etl.bronze.ingest.raw_schema``) and with
    ``inferSchema`` (which reads every file once more to find the types)."""
    from c2c_etl.bronze.ingest import raw_schema
    from c2c_etl.spark import local_spark

    files = users_files(Path(args.input))
    spark = local_spark("c2c-bench-schema", input_bytes=sum(p.stat().st_size for p, *_ in files))

    def read(infer: bool) -> float:
        start = time.perf_counter()
        for path, kind, header in files:
            reader = spark.read.option("header", "true")
            if infer:
                reader = reader.option("inferSchema", "true")
            else:
                reader = reader.option("enforceSchema", "true").schema(raw_schema(kind, header))
            reader.csv(str(path)).write.format("noop").mode("overwrite").save()
        return round(time.perf_counter() - start, 2)

    read(False)  # warm-up: the first query of a session pays for class loading
    explicit, inferred = [], []
    for _ in range(2):
        explicit.append(read(False))
        inferred.append(read(True))
    spark.stop()
    print(json.dumps({"explicit_s": explicit, "inferred_s": inferred}))


def cmd_inspect(args: argparse.Namespace) -> None:
    from c2c_etl.bronze.ingest import sha256_of
    from c2c_etl.bronze.inspect import inspect_blocks
    from c2c_etl.io import file_blocks

    size = 0
    hashing = inspecting = 0.0
    for path in sorted(Path(args.input).glob("*.csv")):
        start = time.perf_counter()
        sha256_of(path)
        hashed = time.perf_counter()
        size += inspect_blocks(file_blocks(str(path))).size
        hashing += hashed - start
        inspecting += time.perf_counter() - hashed
    print(
        json.dumps({"bytes": size, "hash_s": round(hashing, 2), "inspect_s": round(inspecting, 2)})
    )


def cmd_files(args: argparse.Namespace) -> None:
    from c2c_etl.spark import local_spark

    spark = local_spark("c2c-bench-files")
    found = {}
    for log in sorted(Path(args.lake).glob("*/*/_delta_log")):
        table = log.parent
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{table}`").first()
        assert detail is not None
        found[f"{table.parent.name}.{table.name}"] = {
            "files": int(detail["numFiles"]),
            "bytes": int(detail["sizeInBytes"]),
        }
    spark.stop()
    print(json.dumps(found))


# --- inputs -------------------------------------------------------------------------------


def synthetic(work: Path, users: int, seed: int = 42) -> Path:
    """Both releases and the publisher reports for ``users`` users, generated once and kept."""
    from c2c_etl.generator import generate, split_users

    folder = work / f"synthetic-{users}-seed{seed}"
    done = folder / "_complete.json"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        start = time.perf_counter()
        written = generate(folder, *split_users(users), seed=seed)
        took = time.perf_counter() - start
        done.write_text(json.dumps({"written": written, "seconds": round(took, 1)}))
        print(f"generated {users:,} users in {took:.0f} s into {folder}", flush=True)
    return folder


def delivery(path: Path, release: str, rows: int, seed: int, update_from: Path) -> None:
    """One more users file of ``release``: new users, and a share ``UPDATE_SHARE`` of later
    versions of users in ``update_from`` (the generator's deliveries)."""
    from c2c_etl.generator import generate_delivery

    generate_delivery(path, release, rows, seed, update_from=update_from, update_share=UPDATE_SHARE)


def landing_of(*sources: Path) -> Path:
    """A landing folder of symbolic links to the given files or folders' CSVs."""
    landing = Path(tempfile.mkdtemp(prefix="c2c-bench-landing-"))
    for source in sources:
        for f in [source] if source.is_file() else sorted(source.glob("*.csv")):
            (landing / f.name).symlink_to(f.resolve())
    return landing


def data_rows(landing: Path, users_only: bool = True) -> int:
    """Data lines of the users files (or every file) in a landing folder."""
    total = 0
    for f in landing.glob("*.csv"):
        with open(f, "rb") as handle:
            header = handle.readline()
            if users_only and b"identifierHash" not in header:
                continue
            total += sum(1 for _ in handle)
    return total


# --- scenarios ----------------------------------------------------------------------------


def rates(run: dict[str, Any], rows: int) -> dict[str, Any]:
    """Input rows per second of each step and of the whole run."""
    return {
        **run,
        "input_rows": rows,
        "rows_per_s": {s: round(rows / t) for s, t in run["steps_s"].items() if t > 0},
    }


def real_data(real: Path, repeat: int, scratch: Path) -> dict[str, Any]:
    landing = landing_of(real)
    rows = data_rows(landing)
    runs = []
    for i in range(repeat):
        lake = scratch / f"real-{i}"
        full, noop = pipeline(landing, lake), pipeline(landing, lake)
        # The same rerun made to start Spark and read the lake (c2c_etl.lake_state).
        noop_spark = pipeline(landing, lake, "--full-check")
        entry = {"full": rates(full, rows), "noop": noop, "noop_full_check": noop_spark}
        if i == 0:
            entry["files"] = delta_files(lake)
        runs.append(entry)
        if i:
            shutil.rmtree(lake)
    shutil.rmtree(landing)
    return {"input": str(real), "input_rows": rows, "runs": runs, "lake": str(scratch / "real-0")}


def scale(work: Path, users: int, scratch: Path, increment: float | None) -> dict[str, Any]:
    source = synthetic(work, users)
    landing = landing_of(source)
    rows = data_rows(landing)
    looked = inspection(landing)
    copy = raw_copy(landing, scratch / f"copy-{users}")
    duck = duckdb_gold(landing, scratch / f"duckdb-{users}")
    shutil.rmtree(scratch / f"duckdb-{users}", ignore_errors=True)
    lake = scratch / f"lake-{users}"
    full = rates(pipeline(landing, lake), rows)
    result: dict[str, Any] = {
        "users": users,
        "input_rows": rows,
        "input_bytes": sum(f.stat().st_size for f in source.glob("*.csv")),
        "inspection": looked,
        "raw_copy": copy,
        "duckdb": duck,
        "full": full,
        "files_after_full": delta_files(lake),
    }
    if increment:
        n = max(1, round(users * increment))
        target = work / f"delivery-{users}-{n}-users_2020_part_0001.csv"
        if not target.exists():
            delivery(target, "2020", n, seed=1001, update_from=source / "users_2020.csv")
        floor = scratch / f"floor-{users}"
        # The floors of the largest scale: what the targets are to be read against.
        result["full_floor"] = full_floor(scratch / f"copy-{users}", floor, result["input_bytes"])
        shutil.rmtree(floor)
        result["incremental_floor"] = incremental_floor(scratch / f"copy-{users}", target, floor)
        shutil.rmtree(floor)
        (landing / target.name).symlink_to(target)
        result["incremental"] = rates(pipeline(landing, lake), n)
        result["noop_after_incremental"] = pipeline(landing, lake)
        result["files_after_incremental"] = delta_files(lake)
    shutil.rmtree(scratch / f"copy-{users}")
    shutil.rmtree(lake)
    shutil.rmtree(landing)
    return result


def small_runs(real: Path, work: Path, n_runs: int, rows: int, scratch: Path) -> dict[str, Any]:
    """``n_runs`` runs of one small delivery each on the real-data lake, then the same files
    loaded at once into a fresh lake: active files per table both ways."""
    landing = landing_of(real)
    lake = scratch / "small-runs"
    pipeline(landing, lake)
    runs = []
    for i in range(n_runs):
        release = "2020" if i % 2 == 0 else "2024"
        target = work / f"small-{rows}-users_{release}_part_{i:04d}.csv"
        earlier = next(real.glob("6M-0K-99K*.csv" if release == "2020" else "*2024*.csv"))
        if not target.exists():
            delivery(target, release, rows, seed=500 + i, update_from=earlier)
        (landing / target.name).symlink_to(target)
        run = pipeline(landing, lake)
        runs.append({"wall_s": run["wall_s"], "steps_s": run["steps_s"]})
    after = delta_files(lake)
    fresh_lake = scratch / "small-runs-fresh"
    fresh_run = pipeline(landing, fresh_lake)
    fresh = delta_files(fresh_lake)
    ratio = {
        t: round(after[t]["files"] / max(fresh.get(t, {"files": 0})["files"], 1), 2) for t in after
    }
    for folder in (lake, fresh_lake, landing):
        shutil.rmtree(folder)
    return {
        "runs": n_runs,
        "rows_per_delivery": rows,
        "wall_s": [r["wall_s"] for r in runs],
        "median_run_wall_s": statistics.median(r["wall_s"] for r in runs),
        # Each step's median over the runs: the fixed cost of an incremental run, by step.
        "median_steps_s": {
            step: statistics.median(r["steps_s"].get(step, 0.0) for r in runs)
            for step in runs[0]["steps_s"]
        }
        if runs
        else {},
        "files_after_runs": after,
        "fresh_load": {"wall_s": fresh_run["wall_s"], "files": fresh},
        "files_ratio": ratio,
    }


# How the event log's lines for a SQL execution's and a job's start begin.
SQL_EXECUTION_START = '{"Event":"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart"'
JOB_START = '{"Event":"SparkListenerJobStart"'


def sql_executions(event_dir: Path) -> dict[str, int]:
    """Spark SQL executions and jobs of the runs whose event logs are in ``event_dir``."""
    executions = jobs = 0
    for log in event_dir.rglob("*"):
        if not log.is_file() or log.name.startswith("."):
            continue
        with open(log, encoding="utf-8") as events:
            for line in events:
                if line.startswith(SQL_EXECUTION_START):
                    executions += 1
                elif line.startswith(JOB_START):
                    jobs += 1
    return {"sql_executions": executions, "spark_jobs": jobs}


def event_log_env(event_dir: Path) -> dict[str, str]:
    event_dir.mkdir(parents=True, exist_ok=True)
    return spark_conf_env(
        {
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": str(event_dir),
            # One plain JSON-lines file, which sql_executions reads line by line.
            "spark.eventLog.compress": "false",
            "spark.eventLog.rolling.enabled": "false",
        }
    )


def make_run(source: Path, lake: Path) -> dict[str, Any]:
    """What ``make run INPUT=<source>`` runs (the Data Factory local executor), measured."""
    m = measure(py("-m", "c2c_adf.local", "--input", str(source), "--lake", str(lake)))
    return {**_figures(m), "output": m.stdout[-2000:]}


# The small floor is measured this many times: just before the first delivery, just after it,
# and at the scenario's end. The machine's speed drifts over a scenario, and one sample of a
# command this short moves the delivery's ratio by more than the target's margin.
SMALL_FLOOR_RUNS = 3


def median_floor(floors: list[dict[str, Any]]) -> dict[str, Any]:
    """The floor run of median wall time, with every run's wall time (``runs_wall_s``)."""
    ordered = sorted(floors, key=lambda f: f["wall_s"])
    return {**ordered[len(ordered) // 2], "runs_wall_s": [f["wall_s"] for f in floors]}


def runner_scenario(
    real: Path, work: Path, n_runs: int, rows: int, scratch: Path
) -> dict[str, Any]:
    """What a run costs against what its data costs, on the real data: a full run against the
    raw copy of the same CSVs; ``make run`` with no new input; ``n_runs`` deliveries of
    ``rows`` users each, one per run, each counted in Spark SQL executions (from the run's
    event log) and timed against the small floor (Spark start-up and a plain append of the
    first delivery's CSV to a Delta table; the median of :data:`SMALL_FLOOR_RUNS` runs)."""
    landing = landing_of(real)
    copy = raw_copy(landing, scratch / "runner-copy")
    lake = scratch / "runner-lake"
    full = pipeline(landing, lake)
    noop = make_run(landing, lake)
    first = work / f"runner-{rows}-users_2020_part_0000.csv"
    floors: list[dict[str, Any]] = []

    def measure_small_floor() -> None:
        n = len(floors)
        events = scratch / f"runner-events-floor-{n}"
        out = scratch / f"runner-small-floor-{n}"
        floor = raw_copy(landing_of(first), out, event_log_env(events))
        floors.append({**floor, **sql_executions(events)})
        shutil.rmtree(events)
        print(f"small floor {n + 1}/{SMALL_FLOOR_RUNS}: {floors[-1]['wall_s']} s", flush=True)

    deliveries = []
    for i in range(n_runs):
        release = "2020" if i % 2 == 0 else "2024"
        target = work / f"runner-{rows}-users_{release}_part_{i:04d}.csv"
        earlier = next(real.glob("6M-0K-99K*.csv" if release == "2020" else "*2024*.csv"))
        if not target.exists():
            delivery(target, release, rows, seed=900 + i, update_from=earlier)
        if i == 0:
            measure_small_floor()
        (landing / target.name).symlink_to(target)
        events = scratch / f"runner-events-{i}"
        run = pipeline(landing, lake, env=event_log_env(events))
        deliveries.append(
            {"wall_s": run["wall_s"], "steps_s": run["steps_s"], **sql_executions(events)}
        )
        shutil.rmtree(events)
        print(f"delivery {i + 1}/{n_runs}: {deliveries[-1]}", flush=True)
        if i == 0:
            measure_small_floor()
    while len(floors) < SMALL_FLOOR_RUNS:
        measure_small_floor()
    small_floor = median_floor(floors)
    # The medallion floor of the same delivery: appended to bronze, MERGEd into silver, added to
    # one gold aggregate, nothing else (cmd_floor), on the raw copy of the real data.
    events = scratch / "runner-events-medallion-floor"
    medallion = incremental_floor(
        scratch / "runner-copy", first, scratch / "runner-medallion-floor", event_log_env(events)
    )
    medallion.update(sql_executions(events))
    shutil.rmtree(landing)
    shutil.rmtree(lake)
    return {
        "raw_copy": copy,
        "full": full,
        "noop_make_run": noop,
        "small_floor": small_floor,
        "medallion_floor": medallion,
        "deliveries": deliveries,
        "rows_per_delivery": rows,
    }


def runner_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The runner's targets against its scenario's figures."""
    floor = r["small_floor"]["wall_s"]
    first = r["deliveries"][0] if r["deliveries"] else None
    checks = [
        {
            "target": "full run of the real data / raw copy of the same CSVs (wall, both with "
            "Spark start-up)",
            "measured": round(r["full"]["wall_s"] / r["raw_copy"]["wall_s"], 2),
            "limit": TARGET_REAL_FULL_OVER_COPY,
        },
        {
            "target": "`make run` with no new input / small floor (wall)",
            "measured": round(r["noop_make_run"]["wall_s"] / floor, 3),
            "limit": TARGET_NOOP_MAKE_RUN_OVER_FLOOR,
        },
    ]
    if first:
        checks.append(
            {
                "target": f"a {r['rows_per_delivery']:,}-user delivery into the real-data lake: "
                "Spark SQL executions"
                + (
                    f" (its floors: {r['small_floor']['sql_executions']} for a plain append, "
                    f"{r['medallion_floor']['sql_executions']} for an append, a MERGE and "
                    "an aggregate)"
                    if "sql_executions" in r.get("medallion_floor", {})
                    else ""
                ),
                "measured": first["sql_executions"],
                "limit": TARGET_SMALL_SQL_EXECUTIONS,
            }
        )
        checks.append(
            {
                "target": f"a {r['rows_per_delivery']:,}-user delivery / small floor (wall)",
                "measured": round(first["wall_s"] / floor, 2),
                "limit": TARGET_SMALL_OVER_FLOOR,
            }
        )
    if len(r["deliveries"]) > 1:
        checks.append(
            {
                "target": f"delivery {len(r['deliveries'])} / delivery 1 (wall)",
                "measured": round(r["deliveries"][-1]["wall_s"] / first["wall_s"], 2)
                if first
                else 0.0,
                "limit": TARGET_LAST_OVER_FIRST,
            }
        )
    return checks


# --- report -------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(PAGE * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets against the measured figures (work time excludes Spark start-up)."""
    checks = runner_targets(report["runner"]) if report.get("runner") else []
    startup = report["spark_startup"]["median_wall_s"]
    if report.get("scales"):
        big = report["scales"][-1]
        run_work = big["full"]["wall_s"] - startup
        copy_work = big["raw_copy"]["work_s"]
        checks.append(
            {
                "target": f"full run on {big['users']:,} users within "
                f"{TARGET_FULL_OVER_COPY}x of the raw copy (both without start-up)"
                + (
                    _floor_note(_full_floor_ratio(big), 2, TARGET_FULL_OVER_COPY, copy_work)
                    if "full_floor" in big
                    else ""
                ),
                "measured": round(run_work / copy_work, 2),
                "limit": TARGET_FULL_OVER_COPY,
            }
        )
        if "incremental" in big:
            checks.append(
                {
                    "target": "incremental run at most 15% of the full run"
                    + (
                        _floor_note(
                            _floor_share(big),
                            3,
                            TARGET_INCREMENTAL_OVER_FULL,
                            big["full"]["wall_s"],
                        )
                        if "incremental_floor" in big
                        else ""
                    ),
                    "measured": round(big["incremental"]["wall_s"] / big["full"]["wall_s"], 3),
                    "limit": TARGET_INCREMENTAL_OVER_FULL,
                }
            )
        kinds = [k for k in ("full", "incremental") if k in big]
        checks.append(
            {
                "target": f"peak memory of a run at {big['users']:,} users, "
                f"{' and '.join(kinds)} (GB)",
                "measured": round(max(big[k]["peak_rss_mb"] for k in kinds) / 1024, 2),
                "limit": TARGET_PEAK_GB,
            }
        )
    if report.get("real"):
        for key, how in (("noop", ""), ("noop_full_check", ", made to start Spark")):
            runs = [r[key]["wall_s"] for r in report["real"]["runs"] if key in r]
            if runs:
                checks.append(
                    {
                        "target": f"no-op rerun{how}: seconds beyond Spark start-up",
                        "measured": round(statistics.median(runs) - startup, 1),
                        "limit": TARGET_NOOP_BEYOND_STARTUP_S,
                    }
                )
    if report.get("small_runs"):
        worst = max(report["small_runs"]["files_ratio"].items(), key=lambda kv: kv[1])
        checks.append(
            {
                "target": "active files after the small runs / fresh load, worst table "
                f"({worst[0]})",
                "measured": worst[1],
                "limit": TARGET_FILES_RATIO,
            }
        )
    for c in checks:
        c["met"] = c["measured"] <= c["limit"]
    return checks


def _full_floor_ratio(scale: dict[str, Any]) -> float:
    """The medallion floor over the raw copy, both without start-up: the raw copy's work (the
    floor of bronze) plus silver's and gold's plain writes, divided by the raw copy's work."""
    floor, copy = scale["full_floor"], scale["raw_copy"]["work_s"]
    return float((copy + floor["silver_s"] + floor["gold_s"]) / copy)


def _floor_note(floor: float, digits: int, limit: float, unit_s: float) -> str:
    """A target's floor (``digits`` decimals) and what the target leaves beyond it (both as
    ratios to a run of ``unit_s`` seconds): the seconds a design's own work may take on top of
    the floor's plain writes, or, when the floor is over the limit, that no design that writes
    what the floor writes can meet it."""
    room = (limit - floor) * unit_s
    if room < 0:
        left = (
            f"over the limit by {-room:.1f} s: "
            "unreachable by a design that writes what the floor writes"
        )
    else:
        left = f"{room:.1f} s left for everything the floor does not do"
    return f" (its floor: {floor:.{digits}f}; {left})"


def _floor_share(scale: dict[str, Any]) -> float:
    """The incremental floor's wall time as a share of the full run's: what the incremental
    target (a share of the full run) is to be read against."""
    return float(scale["incremental_floor"]["wall_s"] / scale["full"]["wall_s"])


def _steps(small: dict[str, Any]) -> str:
    """The small runs' median time per step, in parentheses (reports before it have none)."""
    steps = small.get("median_steps_s") or {}
    return " (" + ", ".join(f"{k} {v}" for k, v in steps.items()) + ")" if steps else ""


def _tunings_markdown(tuned: dict[str, Any] | None) -> list[str]:
    """The section on what each tuning is worth (none when the scenario did not run)."""
    if not tuned:
        return []
    out = [
        "",
        f"## What each tuning is worth ({tuned['users']:,} users, full pipeline)",
        "",
        "Each run with one choice the other way, into a fresh lake, against the mean of the "
        "pipeline's runs just before and just after it (wall time with Spark start-up; peak "
        "memory of the process tree); times and steps are means over the rounds. Above 1: "
        "the other way was slower or bigger.",
        "",
        "| tuning | the pipeline | the other way | pipeline (s) | other (s) | "
        "other / pipeline, each round | peak MB pipeline / other | steps, other / pipeline |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in tuned["tunings"]:
        rounds = t["rounds"]

        def mean(key: str, runs: list[dict[str, Any]] = rounds) -> float:
            return statistics.fmean(r[key] for r in runs)

        ratios = ", ".join(str(r["wall_ratio"]) for r in rounds)
        steps = ", ".join(
            f"{k} {statistics.fmean(r['steps_ratio'].get(k, 1.0) for r in rounds):.2f}"
            for k in rounds[0]["steps_ratio"]
            if k != "total"
        )
        out.append(
            f"| {t['name']} | {t['ours']} | {t['other']} | {mean('ours_wall_s'):.1f} | "
            f"{mean('other_wall_s'):.1f} | {ratios} | {mean('ours_peak_mb'):.0f} / "
            f"{mean('other_peak_mb'):.0f} | {steps} |"
        )
    base = [r["wall_s"] for r in tuned["baseline_runs"]]
    spread = (max(base) - min(base)) / statistics.median(base)
    out += [
        "",
        f"The pipeline's own runs: {base} s; their spread, fastest to slowest, is "
        f"{spread:.1%} of their median: a ratio closer to 1 than that is not an effect "
        "these runs can show.",
    ]
    schema = tuned.get("schema")
    if schema:
        explicit, inferred = min(schema["explicit_s"]), min(schema["inferred_s"])
        out.append(
            f"Explicit schemas: the users CSVs read whole with bronze's explicit all-string "
            f"schema {schema['explicit_s']} s, with Spark's schema inference "
            f"{schema['inferred_s']} s (best of each: inferred / explicit "
            f"{inferred / explicit:.2f})."
        )
    return out


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    out = [
        "# Pipeline benchmark",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}; "
        f"load average at start {m['load_average_at_start'][0]:.2f}. Commit {report['commit']}.",
        f"Bench wall time {report['bench_wall_s'] / 60:.0f} min. Each figure is one process "
        "measured from outside (peak memory: the process tree's resident memory).",
        "",
        f"Spark start-up alone: {report['spark_startup']['median_wall_s']} s "
        f"(runs {report['spark_startup']['wall_s']}).",
        "",
        "## Targets",
        "",
        "| target | measured | limit | met |",
        "| --- | ---: | ---: | --- |",
    ]
    out += [
        f"| {c['target']} | {c['measured']} | {c['limit']} | {'yes' if c['met'] else 'NO'} |"
        for c in report["targets"]
    ]
    out += [
        "",
        "## Runs",
        "",
        "| input | run | wall (s) | CPU (s) | peak memory (MB) | input rows/s | per step (s) |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]

    def row(label: str, kind: str, r: dict[str, Any], rows: int | None = None) -> str:
        steps = ", ".join(f"{k} {v}" for k, v in r.get("steps_s", {}).items())
        per_s = f"{rows / r['wall_s']:,.0f}" if rows else ""
        return (
            f"| {label} | {kind} | {r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mb']} | "
            f"{per_s} | {steps} |"
        )

    runner = report.get("runner")
    if runner:
        out.append(row("real data (runner)", "raw copy", runner["raw_copy"]))
        out.append(row("real data (runner)", "full", runner["full"]))
        out.append(row("real data (runner)", "`make run`, no new input", runner["noop_make_run"]))
        floor = runner["small_floor"]
        runs = ", ".join(str(w) for w in floor.get("runs_wall_s", []))
        kind = f"small floor, the median of {runs}" if runs else "small floor"
        out.append(row("first delivery's CSV", kind, floor))
        medallion = runner.get("medallion_floor")
        if medallion:
            out.append(
                row("first delivery's CSV", "medallion floor (append, MERGE, aggregate)", medallion)
            )
        if "sql_executions" in floor:
            out.append(
                f"| first delivery's CSV | small floor: {floor['sql_executions']} SQL executions, "
                f"{floor['spark_jobs']} jobs |  |  |  |  |  |"
            )
        for i, d in enumerate(runner["deliveries"]):
            label = f"delivery {i + 1} ({runner['rows_per_delivery']:,} users)"
            steps = ", ".join(f"{k} {v}" for k, v in d["steps_s"].items())
            out.append(
                f"| {label} | {d['sql_executions']} SQL executions, {d['spark_jobs']} jobs | "
                f"{d['wall_s']} |  |  |  | {steps} |"
            )
    real = report.get("real")
    if real:
        for i, r in enumerate(real["runs"]):
            out.append(row(f"real data #{i + 1}", "full", r["full"], real["input_rows"]))
            out.append(row(f"real data #{i + 1}", "no-op rerun", r["noop"]))
            if "noop_full_check" in r:
                out.append(row(f"real data #{i + 1}", "no-op, --full-check", r["noop_full_check"]))
    for s in report.get("scales", []):
        label = f"{s['users']:,} users"
        out.append(row(label, "raw Spark CSV→Delta copy", s["raw_copy"], s["input_rows"]))
        out.append(row(label, "DuckDB gold from the CSVs", s["duckdb"], s["input_rows"]))
        out.append(row(label, "full pipeline", s["full"], s["input_rows"]))
        if "full_floor" in s:
            out.append(row(label, "silver + gold after the raw copy, no logic", s["full_floor"]))
        if "incremental" in s:
            inc = s["incremental"]
            out.append(row(label, f"incremental +{inc['input_rows']:,}", inc, inc["input_rows"]))
            if "incremental_floor" in s:
                out.append(
                    row(
                        label,
                        "incremental floor (append, MERGE, aggregate)",
                        s["incremental_floor"],
                    )
                )
            out.append(row(label, "no-op rerun", s["noop_after_incremental"]))
    out += ["", "## Ratios", ""]
    startup = report["spark_startup"]["median_wall_s"]
    for s in report.get("scales", []):
        copy, full = s["raw_copy"], s["full"]
        ratios = [
            f"full pipeline / raw copy = {full['wall_s'] / copy['wall_s']:.2f} with start-up, "
            f"{(full['wall_s'] - startup) / copy['work_s']:.2f} without",
            f"full pipeline / DuckDB = {full['wall_s'] / s['duckdb']['wall_s']:.2f}",
        ]
        if "incremental" in s:
            ratios.append(f"incremental / full = {s['incremental']['wall_s'] / full['wall_s']:.3f}")
        if "full_floor" in s:
            f = s["full_floor"]
            ratios.append(
                f"medallion floor / raw copy = {_full_floor_ratio(s):.2f} without start-up "
                f"(raw copy {copy['work_s']} s, then silver {f['silver_s']} s and gold "
                f"{f['gold_s']} s)"
            )
        if "incremental_floor" in s:
            f = s["incremental_floor"]
            ratios.append(
                f"incremental floor / full = {_floor_share(s):.3f} (start-up {f['startup_s']} s, "
                f"append {f['bronze_append_s']} s, MERGE {f['silver_merge_s']} s, gold "
                f"{f['gold_s']} s)"
            )
        out.append(f"- {s['users']:,} users: " + "; ".join(ratios))
    for s in report.get("scales", []):
        if "inspection" in s:
            i = s["inspection"]
            mb = i["bytes"] / 2**20
            out.append(
                f"- {s['users']:,} users: bronze's hashing and inspection of the "
                f"{mb:,.0f} MB of CSVs (Python, before Spark reads them): hash {i['hash_s']} s, "
                f"inspection {i['inspect_s']} s ({mb / max(i['inspect_s'], 0.01):,.0f} MB/s)"
            )
    out += _tunings_markdown(report.get("tunings"))
    small = report.get("small_runs")
    if small:
        out += [
            "",
            f"## Active Delta files after {small['runs']} small runs "
            f"({small['rows_per_delivery']:,} users each) vs one fresh load of the same files",
            "",
            f"Median small run: {small['median_run_wall_s']} s{_steps(small)}; fresh load: "
            f"{small['fresh_load']['wall_s']} s.",
            "",
            "| table | after the runs | fresh load | ratio |",
            "| --- | ---: | ---: | ---: |",
        ]
        for t, ratio in small["files_ratio"].items():
            fresh = small["fresh_load"]["files"].get(t, {"files": 0})["files"]
            out.append(f"| {t} | {small['files_after_runs'][t]['files']} | {fresh} | {ratio} |")
    if report.get("scales"):
        big = report["scales"][-1]
        out += [
            "",
            f"## Active Delta files per table at {big['users']:,} users",
            "",
            "| table | after the full run | MB | after the incremental run |",
            "| --- | ---: | ---: | ---: |",
        ]
        after_inc = big.get("files_after_incremental", {})
        for t, f in big["files_after_full"].items():
            inc = after_inc.get(t, {}).get("files", "")
            out.append(f"| {t} | {f['files']} | {f['bytes'] / 2**20:.1f} | {inc} |")
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    copy = sub.add_parser("copy", help="(internal) the raw CSV-to-Delta copy")
    copy.add_argument("--input", required=True)
    copy.add_argument("--out", required=True)
    inspect = sub.add_parser("inspect", help="(internal) bronze's hashing and inspection")
    inspect.add_argument("--input", required=True)
    full_floor = sub.add_parser("full-floor", help="(internal) silver and gold after a raw copy")
    full_floor.add_argument("--copy", required=True)
    full_floor.add_argument("--out", required=True)
    full_floor.add_argument("--input-bytes", type=int, required=True)
    floor = sub.add_parser("floor", help="(internal) the incremental floor on a raw copy")
    floor.add_argument("--copy", required=True)
    floor.add_argument("--delivery", required=True)
    floor.add_argument("--out", required=True)
    files = sub.add_parser("files", help="(internal) active files per Delta table of a lake")
    files.add_argument("--lake", required=True)
    schema = sub.add_parser("schema", help="(internal) the CSV read, explicit schema or inferred")
    schema.add_argument("--input", required=True)
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument(
        "--runner-only",
        action="store_true",
        help="only Spark start-up and the runner's scenario (about half an hour)",
    )
    parser.add_argument("--runner-runs", type=int, default=30, help="deliveries, one per run")
    parser.add_argument("--scales", default="1000000,10000000", help="users, comma-separated")
    parser.add_argument("--increment-share", type=float, default=0.01)
    parser.add_argument("--small-runs", type=int, default=30)
    parser.add_argument("--small-rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="real-data full + no-op pairs")
    parser.add_argument("--tunings-rounds", type=int, default=1, help="rounds of the tunings")
    parser.add_argument(
        "--tunings-only", default="", help="tuning names, comma-separated (default: all)"
    )
    parser.add_argument(
        "--tunings-users",
        type=int,
        default=1_000_000,
        help="users of the runs that undo each tuning in turn (0: not run)",
    )
    parser.add_argument("--work", type=Path, default=REPO / ".data" / "bench")
    parser.add_argument("--out", type=Path, default=REPO / "bench-results")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: checks the bench, not the pipeline"
    )
    args = parser.parse_args()
    if args.command == "copy":
        return cmd_copy(args)
    if args.command == "files":
        return cmd_files(args)
    if args.command == "inspect":
        return cmd_inspect(args)
    if args.command == "floor":
        return cmd_floor(args)
    if args.command == "full-floor":
        return cmd_full_floor(args)
    if args.command == "schema":
        return cmd_schema(args)
    if args.quick:
        args.scales, args.small_runs, args.small_rows, args.repeat = "20000,50000", 3, 200, 1
        args.runner_runs = min(args.runner_runs, 3)
        args.tunings_users = min(args.tunings_users, 20_000)
        args.tunings_only = args.tunings_only or "shuffle partitions"  # one, to check it runs
    try:
        chosen = chosen_tunings(args.tunings_only)
    except ValueError as e:
        parser.error(f"--tunings-only: {e}")
    start = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="c2c-bench-"))
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    report: dict[str, Any] = {"machine": machine(), "commit": commit, "args": vars(args) | {}}
    report["args"] = {k: str(v) for k, v in vars(args).items()}
    args.out.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        """Write the report so far: a scenario that fails late loses none of the earlier ones."""
        report["bench_wall_s"] = round(time.perf_counter() - start, 1)
        report["targets"] = targets(report)
        (args.out / "bench.json").write_text(json.dumps(report, indent=2, default=str))
        (args.out / "bench.md").write_text(markdown(report))

    try:
        startups = [spark_startup() for _ in range(3)]
        report["spark_startup"] = {
            "wall_s": [s["wall_s"] for s in startups],
            "median_wall_s": statistics.median(s["wall_s"] for s in startups),
        }
        print(f"spark start-up: {report['spark_startup']}", flush=True)
        save()
        has_real = (args.real / "6M-0K-99K.users.dataset.public.csv").exists()
        if not has_real:
            print(f"no real dataset at {args.real}: skipping its scenarios", flush=True)
        if has_real and args.runner_runs:
            report["runner"] = runner_scenario(
                args.real, args.work, args.runner_runs, args.small_rows, scratch
            )
            print("runner: done", flush=True)
            save()
        if args.runner_only:
            args.repeat = args.small_runs = args.tunings_users = 0
            args.scales = ""
        if has_real and args.repeat:
            report["real"] = real_data(args.real, args.repeat, scratch)
            print("real data: done", flush=True)
            save()
        sizes = [int(s) for s in args.scales.split(",") if s]
        report["scales"] = []
        for i, users in enumerate(sizes):
            last = i == len(sizes) - 1
            report["scales"].append(
                scale(args.work, users, scratch, args.increment_share if last else None)
            )
            print(f"{users:,} users: done", flush=True)
            save()
        if args.tunings_users:
            report["tunings"] = tunings(
                args.work, args.tunings_users, scratch, args.tunings_rounds, chosen
            )
            print("tunings: done", flush=True)
            save()
        if has_real and args.small_runs:
            report["small_runs"] = small_runs(
                args.real, args.work, args.small_runs, args.small_rows, scratch
            )
            print("small runs: done", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    save()
    print(markdown(report))


if __name__ == "__main__":
    main()
