"""The session of a run: Delta's jars resolved once, then reused from the cache without Ivy;
local[2] unless spark-submit or a Spark Connect URL says otherwise."""

from __future__ import annotations

import json

from c2c_etl import spark as spark_setup


def test_a_matching_manifest_puts_the_cached_jars_on_the_class_path(tmp_path):
    jars = tmp_path / "ivy" / "jars"
    jars.mkdir(parents=True)
    for name in ("io.delta_delta-spark_2.13-4.0.1.jar", "io.delta_delta-storage-4.0.1.jar"):
        (jars / name).write_bytes(b"jar")
    spark_setup._write_manifest(tmp_path, "io.delta:delta-spark_2.13:4.0.1")
    cached = spark_setup._cached_jars(tmp_path, "io.delta:delta-spark_2.13:4.0.1")
    assert cached is not None and len(cached) == 2
    # A new Delta version, or a jar gone missing, means resolving again.
    assert spark_setup._cached_jars(tmp_path, "io.delta:delta-spark_2.13:4.0.2") is None
    (jars / "io.delta_delta-storage-4.0.1.jar").unlink()
    assert spark_setup._cached_jars(tmp_path, "io.delta:delta-spark_2.13:4.0.1") is None


def test_the_test_session_runs_on_cached_jars(spark):
    manifest = json.loads((spark_setup.jar_cache_dir() / "manifest.json").read_text())
    assert manifest["coordinate"] == spark_setup.delta_coordinate()
    assert "io.delta_delta-spark_2.13-4.0.1.jar" in manifest["jars"]
    assert spark.range(1).count() == 1


def test_tuning_overrides_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("C2C_SPARK_CONF", "spark.sql.shuffle.partitions=8; a.b = c")
    assert spark_setup.extra_conf() == {"spark.sql.shuffle.partitions": "8", "a.b": "c"}


def test_a_plain_run_is_local_and_spark_submit_s_master_wins(monkeypatch):
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    assert spark_setup.builder_master() == "local[2]"
    assert spark_setup.builder_master("local[1]") == "local[1]"
    # Started by spark-submit: its --master (a standalone cluster's, say) is already set.
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "40000")
    assert spark_setup.builder_master() is None
    assert spark_setup.builder_master("local[1]") == "local[1]"


def test_the_test_session_is_local(spark):
    assert spark.conf.get("spark.master") == "local[2]"
    # A session serving many runs: the JIT of a long run, in the JVM itself.
    jvm = spark.sparkContext._jvm
    args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert spark_setup.LONG_RUN_JIT in args and spark_setup.SHORT_RUN_JIT not in args


def test_a_run_of_little_new_input_gets_the_jit_of_a_short_run():
    short, long = spark_setup.SHORT_RUN_JIT, spark_setup.LONG_RUN_JIT
    limit = spark_setup.SHORT_RUN_MAX_BYTES
    for size in (0, 100_000, limit):
        assert spark_setup.driver_java_options(size).endswith(short)
    for size in (limit + 1, None):  # None: not known, as for a session serving many runs
        options = spark_setup.driver_java_options(size)
        assert options.endswith(long) and short not in options
    assert "-XX:ReservedCodeCacheSize=512m" in spark_setup.driver_java_options(0)


def test_a_spark_connect_url_comes_from_the_option_or_spark_remote(monkeypatch):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    assert spark_setup.remote_url() is None
    monkeypatch.setenv("SPARK_REMOTE", "sc://server:15002")
    assert spark_setup.remote_url() == "sc://server:15002"
    assert spark_setup.remote_url("sc://other:15002") == "sc://other:15002"
