"""The markers each test gets from its fixtures (tests/conftest.py), and the refusal that keeps a
``nojvm`` test from starting Spark unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import defined_fixtures, derived_markers


@pytest.mark.parametrize(
    ("fixtures", "markers"),
    [
        ((), ["nojvm"]),
        (("tmp_path", "monkeypatch"), ["nojvm"]),
        (("spark",), ["spark"]),
        (("jvm", "tmp_path"), ["spark"]),
        (("sample_gold", "spark"), ["spark", "pipeline"]),
        (("emulator",), ["system"]),
        (("full_run", "real_data", "spark"), ["spark", "pipeline", "system"]),
    ],
)
def test_markers_follow_the_fixtures_a_test_uses(fixtures, markers) -> None:
    assert derived_markers(fixtures) == markers


def test_every_fixture_the_markers_name_exists() -> None:
    assert {"spark", "jvm", "sample_gold", "browser_run", "real_data"} <= defined_fixtures()


def test_a_nojvm_test_cannot_start_spark(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("nojvm")
    code = (
        "from pyspark.sql import SparkSession\n"
        "SparkSession.builder.master('local[1]').getOrCreate()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.returncode != 0
    assert "is marked nojvm" in done.stderr and "give it the spark fixture" in done.stderr
