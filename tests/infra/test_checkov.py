"""checkov over the synthesized Terraform JSON of every environment: no failed check.

checkov pins dependencies that clash with the project's, so it runs in its own tool environment
(``uv tool run``), with its whole dependency tree pinned by ``infra/checkov-requirements.txt``.
Every skipped check is in ``infra/checkov-skips.toml`` with its reason.
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

from tests.infra.conftest import Synth

REPO = Path(__file__).resolve().parents[2]
CHECKOV_VERSION = "3.3.30"
SKIPS_FILE = REPO / "infra" / "checkov-skips.toml"
CONSTRAINTS = REPO / "infra" / "checkov-requirements.txt"


def skips() -> dict[str, str]:
    with SKIPS_FILE.open("rb") as f:
        return {check: entry["reason"] for check, entry in tomllib.load(f).items()}


def find_uv() -> str | None:
    """uv sets ``UV`` under ``uv run``; otherwise the Makefile's pinned copy, then PATH."""
    for candidate in (os.environ.get("UV"), str(REPO / ".tools" / "bin" / "uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("uv")


def test_every_skip_has_a_reason() -> None:
    for check, reason in skips().items():
        assert check.startswith(("CKV_", "CKV2_")), check
        assert len(reason.split()) >= 8, f"{check}: give a real reason"


def run_checkov(stacks: Path, skip: list[str]) -> list[dict[str, Any]]:
    """checkov's JSON report over every synthesized stack, in checkov's own tool environment."""
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not available to run checkov (make test installs it in .tools/)")
    command = [uv, "tool", "run", "--quiet", "--python", "3.11"]
    command += ["--constraints", str(CONSTRAINTS), "--from", f"checkov=={CHECKOV_VERSION}"]
    command += ["checkov", "--skip-download", "--directory", str(stacks)]
    command += ["--framework", "terraform_json", "--output", "json", "--quiet", "--compact"]
    if skip:
        command += ["--skip-check", ",".join(skip)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if not result.stdout.strip().startswith(("[", "{")):
        pytest.fail(f"checkov did not run:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


def failed_checks(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for report in reports for f in report["results"]["failed_checks"]]


@pytest.fixture(scope="module")
def checkov_report(synth: Synth) -> list[dict[str, Any]]:
    return run_checkov(synth.outdir / "stacks", sorted(skips()))


def test_checkov_finds_no_failed_check(checkov_report: list[dict[str, Any]]) -> None:
    failed = [
        f"{f['check_id']} {f['resource']} ({f['file_path']}): {f['check_name']}"
        for f in failed_checks(checkov_report)
    ]
    assert failed == []
    assert sum(r["summary"]["parsing_errors"] for r in checkov_report) == 0
    # It really scanned every stack of every environment.
    assert sum(r["summary"]["passed"] for r in checkov_report) > 100


def test_no_skip_is_stale(synth: Synth) -> None:
    """Without the skips, checkov fails exactly the skipped checks: none is left over."""
    found = {f["check_id"] for f in failed_checks(run_checkov(synth.outdir / "stacks", []))}
    assert found == set(skips())
