"""checkov over the synthesized Terraform JSON of every environment: no failed check.

checkov pins dependencies that clash with the project's, so it runs in its own tool environment
(``uv tool run``, see ``tests/checkov_tool.py``), with its whole dependency tree pinned by
``infra/checkov-requirements.txt``. Every skipped check is in ``infra/checkov-skips.toml`` with
its reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.checkov_tool import failed_checks, read_skips, run_checkov
from tests.infra.conftest import Synth

REPO = Path(__file__).resolve().parents[2]
SKIPS_FILE = REPO / "infra" / "checkov-skips.toml"
FRAMEWORK = "terraform_json"


def skips() -> dict[str, str]:
    return read_skips(SKIPS_FILE)


def test_every_skip_has_a_reason() -> None:
    for check, reason in skips().items():
        assert check.startswith(("CKV_", "CKV2_")), check
        assert len(reason.split()) >= 8, f"{check}: give a real reason"


@pytest.fixture(scope="module")
def checkov_report(synth: Synth) -> list[dict[str, Any]]:
    return run_checkov(synth.outdir / "stacks", FRAMEWORK, sorted(skips()))


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
    reports = run_checkov(synth.outdir / "stacks", FRAMEWORK, [])
    found = {f["check_id"] for f in failed_checks(reports)}
    assert found == set(skips())
