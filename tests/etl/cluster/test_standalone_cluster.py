"""The built wheel, submitted with spark-submit to a standalone Spark cluster (a master and two
workers on loopback), builds the same gold tables as local mode.

This is what a Databricks job cluster does with the wheel: a driver process that imports
``c2c_etl`` from the wheel, and executors in other JVMs that read and write the lake. Local
mode hides anything that only works when driver and executors share one process.
"""

from __future__ import annotations

import json
from pathlib import Path

from c2c_etl.config import local_config
from c2c_etl.entrypoints import PIPELINE
from tests.etl.cluster.compare import ALL_SUCCEEDED, step_statuses
from tests.etl.cluster.spark_services import (
    SHORT_RUN_JAVA_OPTIONS,
    SPARK_SUBMIT,
    run_to_end,
    spark_env,
    standalone_cluster,
)
from tests.etl.helpers import assert_same_gold

DRIVER = Path(__file__).with_name("run_pipeline.py")


def test_the_wheel_on_a_standalone_cluster_builds_the_same_gold_as_local_mode(
    spark, sample_gold, etl_wheel, delta_jars, tmp_path
):
    landing = sample_gold.cfg.landing_path  # the generator's sample, run locally by the fixture
    lake, facts_file = tmp_path / "lake", tmp_path / "facts.json"
    with standalone_cluster(tmp_path / "cluster") as cluster:
        submit = [str(SPARK_SUBMIT), "--master", cluster.url, "--driver-memory", "1g"]
        submit += ["--py-files", str(etl_wheel), "--jars", ",".join(delta_jars)]
        # The JVMs start before the job's builder sees its settings: given here.
        for jvm in ("driver", "executor"):
            submit += ["--conf", f"spark.{jvm}.extraJavaOptions={SHORT_RUN_JAVA_OPTIONS}"]
        submit += [str(DRIVER), str(facts_file)]
        submit += ["--env", "local", "--input", landing, "--lake", str(lake)]
        run = run_to_end(submit, tmp_path / "spark-submit.log", spark_env())
        assert run.returncode == 0, run.output[-6000:]
        master, workers = cluster.state(), cluster.worker_states()

    facts = json.loads(facts_file.read_text())
    # The driver ran the wheel's code on the cluster's master, not a local[2] of its own.
    assert etl_wheel.name in facts["c2c_etl"]
    assert facts["master"] == cluster.url
    apps = {a["id"]: a for a in master["activeapps"] + master["completedapps"]}
    assert apps[facts["app_id"]]["name"] == PIPELINE.name
    # Both workers ran executors of the application.
    for worker in workers:
        executors = worker["executors"] + worker["finishedexecutors"]
        assert any(e["appid"] == facts["app_id"] for e in executors), worker["id"]
    assert step_statuses(run.output) == ALL_SUCCEEDED

    assert_same_gold(spark, sample_gold.cfg, local_config(landing, lake))
