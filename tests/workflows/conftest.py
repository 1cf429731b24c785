"""The GitHub workflows of ``.github/workflows``, parsed once, and helpers to walk them.

The YAML is read with ruamel.yaml (a dependency of check-jsonschema), which follows YAML 1.2:
the ``on:`` key stays the string ``"on"`` instead of becoming ``True`` as in YAML 1.1 readers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
DEPLOY_WORKFLOW = "./.github/workflows/deploy.yml"


@dataclass(frozen=True)
class Workflow:
    """One workflow file: its name, its text and its parsed document."""

    name: str
    text: str
    doc: dict[str, Any]

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        jobs: dict[str, dict[str, Any]] = self.doc.get("jobs", {})
        return jobs

    def steps(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every step of every job, with its job id."""
        for job_id, job in self.jobs.items():
            for step in job.get("steps", []):
                yield job_id, step

    def run_scripts(self) -> Iterator[tuple[str, str]]:
        """The ``run:`` script of every step, with its job id."""
        for job_id, step in self.steps():
            if "run" in step:
                yield job_id, str(step["run"])

    def uses(self) -> Iterator[tuple[str, str]]:
        """Every ``uses:`` reference (steps and reusable-workflow jobs), with its job id."""
        for job_id, job in self.jobs.items():
            if "uses" in job:
                yield job_id, str(job["uses"])
        for job_id, step in self.steps():
            if "uses" in step:
                yield job_id, str(step["uses"])


def parse(text: str, name: str = "workflow.yml") -> Workflow:
    """A workflow from its text (tests also parse broken copies of the real files)."""
    doc = YAML(typ="safe", pure=True).load(text)
    assert isinstance(doc, dict), f"{name} is not a YAML mapping"
    return Workflow(name=name, text=text, doc=doc)


def load_workflows() -> dict[str, Workflow]:
    """Every workflow file, by file name."""
    return {
        path.name: parse(path.read_text(), path.name) for path in sorted(WORKFLOWS.glob("*.y*ml"))
    }


def action_name(ref: str) -> str:
    """``owner/repo[/path]`` of an action reference, without its version."""
    return ref.split("@", 1)[0]


def is_action(ref: str, name: str) -> bool:
    return action_name(ref).lower() == name.lower()


def make_targets(makefile: Path) -> set[str]:
    """Rule targets of a Makefile (``name:`` at the start of a line, variables excluded)."""
    targets: set[str] = set()
    for line in makefile.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-/ ]+):(?!=)", line)
        if match:
            targets.update(match.group(1).split())
    return targets


@pytest.fixture(scope="session")
def workflows() -> dict[str, Workflow]:
    found = load_workflows()
    assert {"ci.yml", "release.yml", "deploy.yml"} <= set(found)
    return found
