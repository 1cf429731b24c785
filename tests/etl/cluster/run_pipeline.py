"""A job process for the cluster tests: runs the pipeline's entry point with the given
arguments, then writes down what it ran on (a JSON file the test reads).

    spark-submit --master spark://... --py-files <wheel> run_pipeline.py <facts.json> <args>
    python run_pipeline.py <facts.json> --spark-remote sc://... <args>

Run as a script, outside the test process: it imports nothing from ``tests``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pyspark.sql import SparkSession

import c2c_etl
from c2c_etl import runner


def main(argv: list[str]) -> None:
    facts_file, job_args = Path(argv[0]), argv[1:]
    runner.main("c2c-pipeline", job_args)
    spark = SparkSession.getActiveSession()
    assert spark is not None, "the pipeline left no active session"
    facts = {
        "session": f"{type(spark).__module__}.{type(spark).__name__}",
        "c2c_etl": c2c_etl.__file__,
        "master": spark.conf.get("spark.master"),
        "app_id": spark.conf.get("spark.app.id"),
        "app_name": spark.conf.get("spark.app.name"),
    }
    facts_file.write_text(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
