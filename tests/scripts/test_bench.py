"""The benchmark's own machinery (scripts/bench.py): measuring a process from outside, and the
report's target checks. The benchmark itself is run by ``make bench``, never by the tests."""

from __future__ import annotations

import importlib.util
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
        "small_runs": {"files_ratio": {"silver.run_steps": ratio, "gold.fact_users": 1.0}},
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
