"""The operator-facing pieces of a run without Spark: JSON log lines, the crash hook and the
lake's run lock."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from c2c_etl import crashpoints
from c2c_etl.jobs.common import LOG_CONTEXT, JsonFormatter
from c2c_etl.runlock import LakeLocked, lake_lock
from c2c_etl.runner import build_parser


def test_a_json_log_line_carries_the_run_id_the_step_and_extra_fields(monkeypatch):
    monkeypatch.setitem(LOG_CONTEXT, "run_id", "run-42")
    monkeypatch.setitem(LOG_CONTEXT, "step", "silver_users")
    record = logging.LogRecord("c2c_etl", logging.INFO, __file__, 1, "merged %d rows", (7,), None)
    record.table = "silver.users"  # what logging's extra= does
    line = json.loads(JsonFormatter().format(record))
    assert line["run_id"] == "run-42"
    assert line["step"] == "silver_users"
    assert line["message"] == "merged 7 rows"
    assert (line["level"], line["logger"], line["table"]) == ("INFO", "c2c_etl", "silver.users")
    assert line["timestamp"].endswith("+00:00")


def test_every_job_accepts_json_logs_and_a_lock_wait():
    args = build_parser("x").parse_args(
        ["--input", "in", "--log-format", "json", "--wait-for-lock", "30"]
    )
    assert (args.log_format, args.wait_for_lock) == ("json", 30.0)


def test_every_job_can_run_on_a_spark_connect_server():
    args = build_parser("x").parse_args(["--input", "in", "--spark-remote", "sc://host:15002"])
    assert args.spark_remote == "sc://host:15002"
    assert build_parser("x").parse_args(["--input", "in"]).spark_remote is None


def test_the_crash_hook_does_nothing_unless_its_point_is_named(monkeypatch):
    monkeypatch.delenv(crashpoints.ENV_VAR, raising=False)
    crashpoints.crash_point("bronze.file_committed")  # still alive
    monkeypatch.setenv(crashpoints.ENV_VAR, "gold.tables_committed")
    crashpoints.crash_point("bronze.file_committed")  # another point: still alive
    with pytest.raises(ValueError, match="unknown crash point"):
        crashpoints.crash_point("no.such.point")


def test_the_crash_hook_kills_the_process_at_its_point(tmp_path):
    code = "from c2c_etl.crashpoints import crash_point; crash_point('gold.tables_committed')"
    env = {crashpoints.ENV_VAR: "gold.tables_committed", "PATH": ""}
    done = subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert done.returncode == -9  # SIGKILL


def test_a_second_run_on_a_locked_lake_is_refused_naming_the_holder(tmp_path):
    refused = pytest.raises(LakeLocked, match=r"locked by another run \(run run-first, pid \d+")
    with lake_lock(str(tmp_path), "run-first"), refused, lake_lock(str(tmp_path), "run-second"):
        pass
    with lake_lock(str(tmp_path), "run-third"):  # released at the end of the first run
        pass


def test_the_lock_of_a_killed_run_is_free_at_once(tmp_path):
    """flock dies with its process: a SIGKILLed run leaves no stale lock."""
    code = (
        "import sys, time; from c2c_etl.runlock import lake_lock\n"
        f"with lake_lock({str(tmp_path)!r}, 'doomed'):\n"
        "    print('locked', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LakeLocked, match="run doomed"), lake_lock(str(tmp_path), "waiting"):
            pass
        holder.kill()
        holder.wait()
        with lake_lock(str(tmp_path), "next"):
            pass
    finally:
        holder.kill()


def test_a_run_can_wait_for_the_lock(tmp_path):
    done = tmp_path.parent / f"{tmp_path.name}-holder-done"
    code = (
        "import time; from c2c_etl.runlock import lake_lock\n"
        f"with lake_lock({str(tmp_path)!r}, 'short'):\n"
        "    print('locked', flush=True); time.sleep(1.5)\n"
        f"    open({str(done)!r}, 'w').close()\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert not done.exists()
        # However slow the machine, the lock is taken only after the holder's last step in it.
        with lake_lock(str(tmp_path), "patient", wait_seconds=600):
            assert done.exists()
    finally:
        holder.kill()
        holder.wait()
