"""Shared fixtures: one local Spark session with Delta for the whole test run."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "c2c-fashion-store"


@pytest.fixture(scope="session")
def spark() -> Iterator:
    from c2c_etl.spark import local_spark

    session = local_spark("c2c-etl-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def etl_wheel(tmp_path_factory) -> Path:
    """The c2c-etl wheel as `make wheel` builds it, once per test session."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        pytest.fail("uv is needed to build the wheel (make test installs it in .tools/)")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [uv, "build", "--wheel", "--package", "c2c-etl", "--out-dir", str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("c2c_etl-*.whl")
    return built


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "6M-0K-99K.users.dataset.public.csv").exists():
        pytest.skip(f"the real dataset is not at {REAL_DATA} (see README: 'The dataset')")
    return REAL_DATA


@pytest.fixture(scope="session")
def sample_gold(spark, tmp_path_factory) -> Iterator:
    """The generator's sample through bronze, silver and gold once per test session: the run's
    context. Tests that query the BI views create them first (``io.create_views``): they are
    session views, and other tests' runs may point them at another lake."""
    from c2c_etl.config import local_config
    from c2c_etl.generator import generate
    from c2c_etl.jobs import pipeline
    from c2c_etl.jobs.common import RunContext, new_run_id

    root = tmp_path_factory.mktemp("sample-gold")
    generate(root / "landing", 3000, 800, seed=7)
    ctx = RunContext(local_config(root / "landing", root / "lake"), new_run_id())
    pipeline.run(spark, ctx)
    yield ctx
