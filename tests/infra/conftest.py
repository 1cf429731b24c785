"""Offline synthesis of every environment, once per test session.

Importing the provider packages starts a Node.js (jsii) process and loads large schemas, so the
import and the synthesis happen once here; tests read the JSON that was written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# The jsii runtime prints an end-of-life banner on Node 20 (the README asks for 20 or later).
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ENVS = ("dev", "test", "prod")
STACKS = ("platform", "workspace")

TIMINGS: dict[str, float] = {}


@dataclass
class Synth:
    """The synthesized stacks of every environment, and where they were written."""

    outdir: Path
    stacks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def stack(self, env: str, name: str) -> dict[str, Any]:
        return self.stacks[f"c2c-{env}-{name}"]

    def resources(self, env: str, name: str, rtype: str) -> dict[str, dict[str, Any]]:
        """Resources of one type in one stack, by construct id."""
        resources: dict[str, dict[str, Any]] = self.stack(env, name).get("resource", {})
        return resources.get(rtype, {})


def read_stacks(outdir: Path) -> dict[str, dict[str, Any]]:
    """Every ``cdk.tf.json`` under an app's outdir, by stack name."""
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted(outdir.glob("stacks/*/cdk.tf.json"))
    }


@pytest.fixture(scope="session")
def infra() -> Iterator[Any]:
    """The ``c2c_infra.main`` module, imported once (this loads the provider packages)."""
    start = time.perf_counter()
    from c2c_infra import main

    TIMINGS["import"] = time.perf_counter() - start
    yield main


@pytest.fixture(scope="session")
def synth(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Every environment synthesized in one app (timed); test_synth also synthesizes each one
    alone and compares."""
    root = tmp_path_factory.mktemp("cdktn")
    start = time.perf_counter()
    infra.build_app(ENVS, outdir=str(root / "all"), offline=True).synth()
    TIMINGS["all"] = time.perf_counter() - start
    return Synth(outdir=root / "all", stacks=read_stacks(root / "all"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in TIMINGS.items())
        terminalreporter.write_line(f"infra synth timings: {parts}")
