"""Run checkov in its own tool environment and read its JSON report (shared by the checkov tests).

checkov pins dependencies that clash with the project's, so it runs through ``uv tool run`` with
its whole dependency tree pinned by ``infra/checkov-requirements.txt``. The Terraform JSON test
(``tests/infra/test_checkov.py``) and the GitHub workflow test (``tests/workflows``) call the same
:func:`run_checkov`, each with its own framework, folder and skip file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CHECKOV_VERSION = "3.3.30"
CONSTRAINTS = REPO / "infra" / "checkov-requirements.txt"


def read_skips(path: Path) -> dict[str, str]:
    """Skipped check ids and their reasons, from a TOML file of ``[CHECK_ID] reason = "..."``."""
    with path.open("rb") as f:
        return {check: entry["reason"] for check, entry in tomllib.load(f).items()}


def find_uv() -> str | None:
    """uv sets ``UV`` under ``uv run``; otherwise the Makefile's pinned copy, then PATH."""
    for candidate in (os.environ.get("UV"), str(REPO / ".tools" / "bin" / "uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("uv")


def run_checkov(
    directory: Path,
    framework: str,
    skip: list[str],
    *,
    external_checks: Path | None = None,
    with_passed: bool = False,
) -> list[dict[str, Any]]:
    """checkov's JSON reports for one framework over a folder, in checkov's own tool environment.

    ``external_checks`` adds a folder of the project's own checks; ``with_passed`` keeps the
    passed checks in the report (checkov's ``--quiet`` drops them). A missing uv fails the
    calling test: a check that cannot run is not a check that passed."""
    uv = find_uv()
    if uv is None:
        pytest.fail("uv is not available to run checkov (make sync installs it in .tools/)")
    command = [uv, "tool", "run", "--quiet", "--python", "3.11"]
    command += ["--constraints", str(CONSTRAINTS), "--from", f"checkov=={CHECKOV_VERSION}"]
    command += ["checkov", "--skip-download", "--directory", str(directory)]
    command += ["--framework", framework, "--output", "json", "--compact"]
    if not with_passed:
        command.append("--quiet")
    if external_checks is not None:
        command += ["--external-checks-dir", str(external_checks)]
    if skip:
        command += ["--skip-check", ",".join(skip)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if not result.stdout.strip().startswith(("[", "{")):
        pytest.fail(f"checkov did not run:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def failed_checks(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every failed check of every report."""
    return [f for report in reports for f in report["results"]["failed_checks"]]
