"""The benchmark's own machinery (scripts/bench.py): measuring a process from outside, and the
report's target checks. The benchmark itself is run by ``make bench``, never by the tests."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", REPO / "scripts" / "bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    return module


def test_measure_sees_the_memory_and_cpu_of_a_child_process(bench):
    # A child that holds ~200 MB and burns CPU in a grandchild: both must be counted.
    code = (
        "import subprocess, sys; block = bytearray(200 * 2**20); "
        "subprocess.run([sys.executable, '-c', 'sum(range(30_000_000))'], check=True); "
        "print('done')"
    )
    m = bench.measure([sys.executable, "-c", code])
    assert m.stdout.strip() == "done"
    assert m.peak_rss_mb >= 200
    assert m.cpu_s >= 0.3
    assert m.wall_s >= m.cpu_s * 0.5


def test_an_address_space_is_counted_once_even_when_two_pids_share_it(bench):
    # A vfork child of the JVM (a Hadoop chmod before its exec) shares the JVM's memory, and
    # /proc shows it at the JVM's size. A thread shares its process's memory the same way, and
    # /proc/<thread id> answers as a process does: the sample must count that memory once.
    code = (
        "import threading, time; block = bytearray(300 * 2**20); "
        "t = threading.Thread(target=time.sleep, args=(60,), daemon=True); t.start(); "
        "print(t.native_id, flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        thread = int(child.stdout.readline())
        assert bench._shares_memory(child.pid, thread)
        assert not bench._shares_memory(child.pid, os.getpid())
        alone = bench._sample([child.pid], {})
        assert alone >= 300 * 2**20
        assert bench._sample([child.pid, thread], {}) == pytest.approx(alone, rel=0.05)
        # Two processes are two address spaces: both counted.
        assert bench._sample([child.pid, os.getpid()], {}) > alone
    finally:
        child.kill()
        child.wait()


def test_measure_raises_with_the_output_of_a_failed_command(bench):
    with pytest.raises(RuntimeError, match="boom"):
        bench.measure([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"])


def _report(full_s: float, copy_s: float, inc_s: float, noop_s: float, ratio: float) -> dict:
    run = {"wall_s": full_s, "cpu_s": 1.0, "peak_rss_mb": 3000.0, "steps_s": {"bronze": 1.0}}
    return {
        "spark_startup": {"median_wall_s": 5.0},
        "scales": [
            {
                "users": 10_000_000,
                "full": run,
                "raw_copy": {"work_s": copy_s},
                "incremental": {**run, "wall_s": inc_s},
            }
        ],
        "real": {"runs": [{"noop": {"wall_s": noop_s}}]},
        "small_runs": {"files_ratio": {"silver.run_steps": ratio, "gold.agg_user_counts": 1.0}},
    }


def test_targets_are_met_or_not_by_the_figures(bench):
    met = bench.targets(_report(full_s=205, copy_s=100, inc_s=30, noop_s=14, ratio=1.5))
    assert [c["met"] for c in met] == [True, True, True, True, True]
    assert met[0]["measured"] == 2.0  # (205 - 5 s start-up) / 100
    missed = bench.targets(_report(full_s=305, copy_s=100, inc_s=60, noop_s=16, ratio=3.0))
    assert [c["met"] for c in missed] == [False, False, True, False, False]
    assert "silver.run_steps" in missed[-1]["target"]


def test_the_no_op_rerun_is_checked_both_ways_when_both_were_measured(bench):
    report = _report(full_s=205, copy_s=100, inc_s=30, noop_s=2, ratio=1.5)
    report["real"]["runs"] = [
        {"noop": {"wall_s": 2.0}, "noop_full_check": {"wall_s": 21.0}},
        {"noop": {"wall_s": 3.0}, "noop_full_check": {"wall_s": 23.0}},
    ]
    checks = {c["target"]: c for c in bench.targets(report)}
    fast = checks["no-op rerun: seconds beyond Spark start-up"]
    spark = checks["no-op rerun, made to start Spark: seconds beyond Spark start-up"]
    assert (fast["measured"], fast["met"]) == (-2.5, True)  # median 2.5 s, start-up 5 s
    assert (spark["measured"], spark["met"]) == (17.0, False)


def test_the_peak_memory_target_counts_the_incremental_run_too(bench):
    report = _report(full_s=205, copy_s=100, inc_s=30, noop_s=2, ratio=1.5)
    report["scales"][0]["incremental"]["peak_rss_mb"] = 4500.0  # full run: 3000 MB
    memory = next(c for c in bench.targets(report) if c["target"].startswith("peak memory"))
    assert (memory["measured"], memory["met"]) == (4.39, False)
    assert "full and incremental" in memory["target"]


def _bare_report() -> dict:
    """A report with the machine and Spark's start-up only, for a scenario to be added to."""
    machine = {
        "cpus": 2,
        "cpu": "test",
        "memory_gb": 8,
        "python": "3.11",
        "load_average_at_start": [0.1],
    }
    report = {"machine": machine, "commit": "abc1234", "bench_wall_s": 60.0}
    report["spark_startup"] = {"median_wall_s": 5.0, "wall_s": [5.0]}
    return report


def test_the_report_shows_the_small_runs_median_time_per_step(bench):
    report = _bare_report()
    report["small_runs"] = {
        "runs": 3,
        "rows_per_delivery": 1000,
        "median_run_wall_s": 90.0,
        "median_steps_s": {"bronze": 12.5, "gold": 30.0},
        "fresh_load": {"wall_s": 80.0, "files": {"gold.agg_user_counts": {"files": 1}}},
        "files_after_runs": {"gold.agg_user_counts": {"files": 1}},
        "files_ratio": {"gold.agg_user_counts": 1.0},
    }
    report["targets"] = bench.targets(report)
    text = bench.markdown(report)
    assert "Median small run: 90.0 s (bronze 12.5, gold 30.0); fresh load: 80.0 s." in text


def test_the_floors_write_every_user_and_merge_the_delivery_into_silver(bench, jvm, tmp_path):
    # A raw copy of a small generated base, then the two floors on it. The full floor writes
    # silver (typed) with every user of both releases, and gold's aggregate. The incremental
    # floor's delivery lands in bronze whole, the MERGE target gets the new users and keeps one
    # row per updated one, and the gold aggregate counts every delivered row.
    from c2c_etl.generator import generate, generate_delivery, split_users

    base = tmp_path / "base"
    generate(base, *split_users(3000), seed=7)
    delivery = generate_delivery(
        tmp_path / "delivery_users_2020.csv",
        "2020",
        300,
        seed=8,
        update_from=base / "users_2020.csv",
        update_share=0.2,
    )
    assert delivery.updated > 0
    copy = bench.raw_copy(base, tmp_path / "copy")
    with (base / "users_2020.csv").open("rb") as rows:
        base_2020 = sum(1 for _ in rows) - 1  # the header
    base_bytes = sum(p.stat().st_size for p in base.glob("*.csv"))
    full = bench.full_floor(tmp_path / "copy", tmp_path / "full", base_bytes)
    assert copy["rows"] == bench.data_rows(base) == full["rows"]
    assert full["silver_s"] > 0 and full["gold_s"] > 0
    floor = bench.incremental_floor(tmp_path / "copy", delivery.path, tmp_path / "floor")
    assert floor["rows_after"] == base_2020 + delivery.rows - delivery.updated
    assert floor["gold_users"] == base_2020 + delivery.rows
    for step in ("startup_s", "bronze_append_s", "silver_merge_s", "gold_s"):
        assert floor[step] > 0
    assert floor["wall_s"] > floor["silver_merge_s"] + floor["gold_s"]


def test_the_speed_targets_are_shown_with_their_floors(bench):
    report = _report(full_s=200, copy_s=100, inc_s=90, noop_s=2, ratio=1.5)
    report["scales"][0]["incremental_floor"] = {"wall_s": 60.0}
    report["scales"][0]["full_floor"] = {"silver_s": 70.0, "gold_s": 40.0}
    checks = bench.targets(report)
    full = next(c for c in checks if c["target"].startswith("full run"))
    # The floor's raw copy 100 s, silver 70 s, gold 40 s: 2.5x the copy leaves 40 s of work
    # for the pipeline beyond those writes; the incremental floor, 60 s of the full run's 200.
    assert full["target"].endswith(
        "(both without start-up) (its floor: 2.10; 40.0 s left for everything the floor does "
        "not do)"
    )
    assert (full["measured"], full["met"]) == (1.95, True)  # (200 - 5 s start-up) / 100
    incremental = next(c for c in checks if c["target"].startswith("incremental"))
    assert incremental["target"] == (
        "incremental run at most 15% of the full run (its floor: 0.300; over the limit by "
        "30.0 s: unreachable by a design that writes what the floor writes)"
    )
    assert (incremental["measured"], incremental["met"]) == (0.45, False)
    report["scales"][0]["incremental_floor"] = {"wall_s": 20.0}
    incremental = next(c for c in bench.targets(report) if c["target"].startswith("incr"))
    assert incremental["target"].endswith(
        "(its floor: 0.100; 10.0 s left for everything the floor does not do)"
    )


def _tuning(bench, name: str):
    return next(t for t in bench.TUNINGS if t.name == name)


def test_each_tuning_run_starts_spark_with_that_choice_the_other_way(bench, jvm):
    # Every tuning's settings together, in a Spark session started the way a pipeline run
    # starts one (c2c_etl.spark.local_spark, with the bench's environment): the session and
    # its JVM must have them, instead of the pipeline's own (c2c_etl.spark.LOCAL_CONF, and the
    # JIT of a long run: the tunings run on a million users).
    from c2c_etl.spark import LOCAL_CONF, driver_java_options

    ours = {**LOCAL_CONF, "spark.driver.extraJavaOptions": driver_java_options()}

    undone = {k: v for t in bench.TUNINGS for k, v in t.conf.items()}
    code = (
        "import json; from c2c_etl.spark import local_spark; s = local_spark('t'); "
        "jvm = s.sparkContext._jvm; "
        "args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()"
        ".getInputArguments()); "
        f"keys = {sorted(undone)!r}; "
        "print(json.dumps({'conf': {k: s.conf.get(k) for k in keys}, 'jvm': args})); s.stop()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**jvm, **bench.spark_conf_env(undone)},
        timeout=300,
    ).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["conf"] == undone
    for key, value in undone.items():
        assert ours.get(key) != value, f"{key} is the pipeline's own setting"
    # The JVM itself: 3 GB of heap, and huge methods left to the JVM's default.
    assert "-Xmx3g" in seen["jvm"]
    assert "-XX:-DontCompileHugeMethods" not in seen["jvm"]
    assert "-XX:-DontCompileHugeMethods" in ours["spark.driver.extraJavaOptions"]


def test_the_run_without_broadcast_plans_sort_merge_joins_where_the_pipeline_broadcasts(
    bench, spark
):
    from pyspark.sql import functions as F

    from c2c_etl.io import session_conf

    users = spark.range(100_000).withColumnRenamed("id", "identifier_hash")
    repeated = spark.range(50).withColumnRenamed("id", "identifier_hash")

    def plan() -> str:
        joined = users.join(F.broadcast(repeated), "identifier_hash", "left_anti")
        return joined._jdf.queryExecution().executedPlan().toString()

    assert "BroadcastHashJoin" in plan()
    with session_conf(spark, _tuning(bench, "broadcast of small dimensions").conf):
        without = plan()
    assert "BroadcastHashJoin" not in without and "SortMergeJoin" in without


def test_a_run_without_a_tuning_is_compared_with_the_runs_beside_it(bench):
    def run(wall: float, peak: float, silver: float) -> dict:
        return {"wall_s": wall, "peak_rss_mb": peak, "steps_s": {"silver_users": silver}}

    base = [run(100.0, 2000.0, 40.0), run(110.0, 2200.0, 44.0), run(90.0, 2000.0, 36.0)]
    variants = [run(126.0, 2100.0, 63.0), run(95.0, 3150.0, 40.0)]
    first, second = bench.compare_runs(base, variants)
    # The first variant ran between the first two baselines (mean 105 s), the second between
    # the last two (mean 100 s).
    assert (first["ours_wall_s"], first["wall_ratio"]) == (105.0, 1.2)
    assert first["steps_ratio"] == {"silver_users": 1.5}  # 63 / 42
    assert (second["ours_wall_s"], second["wall_ratio"]) == (100.0, 0.95)
    assert (second["ours_peak_mb"], second["peak_ratio"]) == (2100.0, 1.5)


def test_the_report_shows_what_each_tuning_is_worth(bench):
    report = _bare_report()
    base = [{"wall_s": w, "peak_rss_mb": 2000.0, "steps_s": {"gold": 10.0}} for w in (96, 104)]
    variant = {"wall_s": 130.0, "peak_rss_mb": 2000.0, "steps_s": {"gold": 20.0}}
    (compared,) = bench.compare_runs(base, [variant])
    t = bench.TUNINGS[0]
    report["tunings"] = {
        "users": 1_000_000,
        "baseline_runs": base,
        "tunings": [{"name": t.name, "ours": t.ours, "other": t.other, "rounds": [compared]}],
        "schema": {"explicit_s": [20.0, 21.0], "inferred_s": [41.0, 40.0]},
    }
    report["targets"] = bench.targets(report)
    text = bench.markdown(report)
    assert "## What each tuning is worth (1,000,000 users, full pipeline)" in text
    assert (
        f"| {t.name} | {t.ours} | {t.other} | 100.0 | 130.0 | 1.3 | 2000 / 2000 | gold 2.00 |"
        in text
    )
    assert "(best of each: inferred / explicit 2.00)" in text
    # How far apart the pipeline's own runs were: what a ratio must beat to be an effect.
    assert "The pipeline's own runs: [96, 104] s; their spread, fastest to slowest, is 8.0%" in text


def test_the_schema_read_reads_the_users_files_both_ways(bench, jvm, tmp_path):
    from c2c_etl.generator import generate, split_users

    generate(tmp_path, *split_users(2000), seed=3)
    read = bench.schema_read(tmp_path)
    assert len(read["explicit_s"]) == len(read["inferred_s"]) == 2
    assert all(t > 0 for t in read["explicit_s"] + read["inferred_s"])


def test_a_tuning_name_that_is_none_of_them_is_refused_before_anything_runs(bench, tmp_path):
    # A misspelt --tunings-only used to run no tuning and report an empty table after the
    # whole bench; the command line now refuses it at once, naming the tunings there are.
    assert bench.chosen_tunings("") == list(bench.TUNINGS)
    assert [t.name for t in bench.chosen_tunings(" driver heap,JIT settings ")] == [
        "JIT settings",
        "driver heap",
    ]
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "bench.py"),
            *("--tunings-only", "shuffle partition,driver heap"),
            *("--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 2
    assert "no tuning is named 'shuffle partition'" in done.stderr
    assert "known: adaptive execution; shuffle partitions;" in done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "work").exists()


def test_the_tunings_alternate_with_the_pipeline_as_it_is_in_every_round(
    bench, tmp_path, monkeypatch
):
    # The order of the runs, not their figures: each round runs the pipeline as it is, then
    # each chosen tuning the other way followed by the pipeline as it is again, every run into
    # a fresh lake; each tuning is compared with the two runs beside it.
    runs: list[tuple[str, bool]] = []
    walls = iter(range(100, 200))

    def pipeline(landing, lake, *extra, env=None):
        assert not lake.exists()  # a fresh lake every run
        lake.mkdir()
        runs.append((env["C2C_SPARK_CONF"] if env else "as it is", landing.exists()))
        wall = next(walls) + (50 if env else 0)  # the runs the other way are slower
        return {"wall_s": float(wall), "peak_rss_mb": 2000.0, "steps_s": {"gold": 1.0}}

    source = tmp_path / "source"
    source.mkdir()
    (source / "users.csv").write_text("identifierHash\n1\n")
    monkeypatch.setattr(bench, "pipeline", pipeline)
    monkeypatch.setattr(bench, "synthetic", lambda work, users: source)
    monkeypatch.setattr(bench, "schema_read", lambda landing: {"explicit_s": [1.0]})
    chosen = bench.chosen_tunings("driver heap, shuffle partitions")
    (tmp_path / "scratch").mkdir()
    result = bench.tunings(tmp_path, 1000, tmp_path / "scratch", rounds=2, chosen=chosen)
    shuffle = "spark.sql.shuffle.partitions=200"
    heap = "spark.driver.memory=3g"
    one_round = ["as it is", shuffle, "as it is", heap, "as it is"]
    assert [conf for conf, _ in runs] == one_round * 2
    assert all(landed for _, landed in runs)
    assert [t["name"] for t in result["tunings"]] == ["shuffle partitions", "driver heap"]
    assert len(result["baseline_runs"]) == 6
    shuffle_rounds = result["tunings"][0]["rounds"]
    # Run 101 (the shuffle run of round one) between 100 and 102; 106 between 105 and 107.
    assert [r["ours_wall_s"] for r in shuffle_rounds] == [101.0, 106.0]
    assert [r["other_wall_s"] for r in shuffle_rounds] == [151.0, 156.0]


def test_a_delivery_is_timed_against_the_median_of_the_small_floors_runs(bench):
    floors = [{"wall_s": 15.9, "run": 1}, {"wall_s": 12.3, "run": 2}, {"wall_s": 13.1, "run": 3}]
    floor = bench.median_floor(floors)
    assert (floor["run"], floor["wall_s"], floor["runs_wall_s"]) == (3, 13.1, [15.9, 12.3, 13.1])
    scenario = {
        "raw_copy": {"wall_s": 20.0},
        "full": {"wall_s": 50.0},
        "noop_make_run": {"wall_s": 1.31},
        "small_floor": floor,
        "deliveries": [{"wall_s": 39.3, "sql_executions": 70}],
        "rows_per_delivery": 1000,
    }
    checks = {c["target"]: c for c in bench.runner_targets(scenario)}
    delivery = checks["a 1,000-user delivery / small floor (wall)"]
    assert (delivery["measured"], delivery["limit"]) == (3.0, 3.0)  # 39.3 / 13.1
    assert checks["`make run` with no new input / small floor (wall)"]["measured"] == 0.1
