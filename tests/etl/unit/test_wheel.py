"""The etl package builds a wheel that Databricks can install and call."""

from __future__ import annotations

import zipfile
from pathlib import Path

from c2c_etl.entrypoints import ENTRY_POINTS
from tests.conftest import REPO


def _read(whl: Path, suffix: str) -> str:
    with zipfile.ZipFile(whl) as z:
        (name,) = [n for n in z.namelist() if n.endswith(suffix)]
        return z.read(name).decode()


def test_wheel_declares_the_job_entry_points(etl_wheel):
    lines = _read(etl_wheel, "entry_points.txt").splitlines()
    declared = dict(line.split(" = ") for line in lines if " = " in line)
    assert declared == {ep.name: ep.target for ep in ENTRY_POINTS}


def test_wheel_does_not_pull_spark_onto_a_cluster(etl_wheel):
    requires = [
        line
        for line in _read(etl_wheel, "METADATA").splitlines()
        if line.startswith("Requires-Dist:")
    ]
    runtime = [r for r in requires if "extra ==" not in r]
    assert any("pycountry" in r for r in runtime)
    assert not any("pyspark" in r or "delta-spark" in r for r in runtime)
    assert any("pyspark==4.0" in r and "extra == 'local'" in r for r in requires)


def test_wheel_carries_every_module(etl_wheel):
    with zipfile.ZipFile(etl_wheel) as z:
        packaged = {n for n in z.namelist() if n.endswith(".py")}
    source = {
        str(p.relative_to(REPO / "etl" / "src"))
        for p in (REPO / "etl" / "src" / "c2c_etl").rglob("*.py")
    }
    assert source == packaged
