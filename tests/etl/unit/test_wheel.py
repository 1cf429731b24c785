"""The etl package builds a wheel that Databricks can install and call."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from c2c_etl.entrypoints import ENTRY_POINTS
from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
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


def _read(whl: Path, suffix: str) -> str:
    with zipfile.ZipFile(whl) as z:
        (name,) = [n for n in z.namelist() if n.endswith(suffix)]
        return z.read(name).decode()


def test_wheel_declares_the_job_entry_points(wheel):
    lines = _read(wheel, "entry_points.txt").splitlines()
    declared = dict(line.split(" = ") for line in lines if " = " in line)
    assert declared == {ep.name: ep.target for ep in ENTRY_POINTS}


def test_wheel_does_not_pull_spark_onto_a_cluster(wheel):
    requires = [
        line for line in _read(wheel, "METADATA").splitlines() if line.startswith("Requires-Dist:")
    ]
    runtime = [r for r in requires if "extra ==" not in r]
    assert any("pycountry" in r for r in runtime)
    assert not any("pyspark" in r or "delta-spark" in r for r in runtime)
    assert any("pyspark==4.0" in r and "extra == 'local'" in r for r in requires)


def test_wheel_carries_every_module(wheel):
    with zipfile.ZipFile(wheel) as z:
        packaged = {n for n in z.namelist() if n.endswith(".py")}
    source = {
        str(p.relative_to(REPO / "etl" / "src"))
        for p in (REPO / "etl" / "src" / "c2c_etl").rglob("*.py")
    }
    assert source == packaged
