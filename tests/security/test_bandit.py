"""bandit over the Python sources of every package: no finding of medium or high severity.

Low-severity findings (``assert`` in builders, ``random`` in the data generator, ``subprocess``
in c2c-ops' deploy) are reported by ``make security`` but do not fail. A waiver is a
``# nosec BXXX`` on the reported line, with its reason after a second ``#`` or on the comment
line just above; a bare ``# nosec`` would silence every test on the line and is refused.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
TEST_ID = re.compile(r"^\s*B\d{3}(?:\s*,\s*B\d{3})*\s*(?P<after>.*)$")


def targets() -> list[str]:
    with (REPO / "pyproject.toml").open("rb") as f:
        found: list[str] = tomllib.load(f)["tool"]["bandit"]["targets"]
    return found


def bandit(paths: list[str], cwd: Path = REPO) -> dict[str, Any]:
    """bandit's JSON report over ``paths`` with the project's configuration."""
    command = [sys.executable, "-m", "bandit", "-c", str(REPO / "pyproject.toml")]
    command += ["--format", "json", "--quiet", "--recursive", *paths]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.stdout.strip().startswith("{"), f"bandit did not run: {result.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def serious(report: dict[str, Any]) -> list[str]:
    return [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] in ("MEDIUM", "HIGH")
    ]


def test_bandit_finds_nothing_of_medium_or_high_severity() -> None:
    report = bandit(targets())
    assert serious(report) == []
    assert report["errors"] == []
    assert report["metrics"]["_totals"]["loc"] > 5000, "bandit scanned too little"


def test_every_nosec_names_its_test_and_gives_a_reason() -> None:
    problems = []
    for target in targets():
        for path in sorted((REPO / target).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, start=1):
                match = NOSEC.search(line)
                if not match:
                    continue
                ids = TEST_ID.match(match.group("rest"))
                above = lines[number - 2].strip() if number > 1 else ""
                reason = (ids and ids.group("after").lstrip("#").strip()) or (
                    above.startswith("#") and "nosec" not in above
                )
                if not ids or not reason:
                    problems.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert problems == []


def test_bandit_reports_a_shell_injection(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(
        "import subprocess\n\ndef run(name):\n    subprocess.call('ls ' + name, shell=True)\n"
    )
    assert any("B602" in f for f in serious(bandit(["job.py"], cwd=tmp_path)))
