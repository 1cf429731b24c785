"""Dependency audit: pip-audit over every locked version, against a committed ignore list.

``python -m tests.security.pip_audit`` (``make audit``) exports the exact versions of
``uv.lock`` (all packages and groups) and of the pinned tool environments (checkov, pip-audit
itself), then runs pip-audit 2.10.1 in its own tool environment with ``--no-deps
--disable-pip`` (nothing is installed or resolved) against PyPI's vulnerability data.

It fails on any vulnerability not listed in ``security/pip-audit-ignore.toml``, on an expired
or stale ignore entry, and on any dependency pip-audit could not audit: pip-audit itself only
warns and exits 0 when the vulnerability service does not answer for a package, which would
pass silently. (On the machine this was written on, PyPI's per-version JSON API answers 404 for
every package, so every dependency is reported as not audited and the audit fails: it runs in
GitHub CI, not in ``make test``.)
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.checkov_tool import find_uv

REPO = Path(__file__).resolve().parents[2]
PIP_AUDIT_VERSION = "2.10.1"
CONSTRAINTS = REPO / "security" / "pip-audit-requirements.txt"
IGNORE_FILE = REPO / "security" / "pip-audit-ignore.toml"
# Tool environments whose pins live outside uv.lock, audited too.
TOOL_REQUIREMENTS = (REPO / "infra" / "checkov-requirements.txt", CONSTRAINTS)
MAX_IGNORE_DAYS = 90


@dataclass(frozen=True)
class Ignore:
    """An accepted vulnerability: its id, package, reason and expiry date."""

    id: str
    package: str
    reason: str
    expires: dt.date


def read_ignores(path: Path = IGNORE_FILE) -> dict[str, Ignore]:
    """The ignore list, by vulnerability id."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    return {
        vid: Ignore(vid, entry["package"], entry["reason"], entry["expires"])
        for vid, entry in data.items()
    }


def ignore_problems(ignores: dict[str, Ignore], today: dt.date) -> list[str]:
    """Entries without a real reason, expired, or set too far ahead."""
    problems = []
    for entry in ignores.values():
        if len(entry.reason.split()) < 8:
            problems.append(f"{entry.id}: give a real reason")
        if not isinstance(entry.expires, dt.date) or isinstance(entry.expires, dt.datetime):
            problems.append(f"{entry.id}: expires must be a date (YYYY-MM-DD)")
        elif entry.expires < today:
            problems.append(f"{entry.id}: expired on {entry.expires}: look at it again")
        elif (entry.expires - today).days > MAX_IGNORE_DAYS:
            problems.append(f"{entry.id}: expires more than {MAX_IGNORE_DAYS} days ahead")
    return problems


def audit_problems(report: dict[str, Any], ignores: dict[str, Ignore], today: dt.date) -> list[str]:
    """Why the audit fails: unaudited dependencies, unlisted findings, bad or stale ignores."""
    problems = ignore_problems(ignores, today)
    deps = report.get("dependencies", [])
    if not deps:
        problems.append("pip-audit reported no dependency: nothing was audited")
    unaudited = [f"{d['name']} {d.get('version', '')}".strip() for d in deps if "skip_reason" in d]
    if unaudited:
        reason = next(d["skip_reason"] for d in deps if "skip_reason" in d)
        problems.append(
            f"{len(unaudited)} of {len(deps)} dependencies were NOT audited (the vulnerability "
            f"service did not answer for them), e.g. {reason!r}: {', '.join(unaudited[:10])}"
        )
    seen: set[str] = set()
    for dep in deps:
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            listed = sorted(ids & set(ignores))
            seen.update(listed)
            if not listed:
                fixes = ", ".join(vuln.get("fix_versions", [])) or "none"
                problems.append(
                    f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixes}); "
                    f"upgrade it, or list it in {IGNORE_FILE.relative_to(REPO)} with a reason"
                )
    if not unaudited:
        problems += [f"{vid}: no longer reported, remove it" for vid in sorted(set(ignores) - seen)]
    return problems


def export_requirements(directory: Path) -> list[Path]:
    """The locked versions as requirements files: uv.lock's export and the tool pins."""
    uv = find_uv()
    if uv is None:
        raise SystemExit("uv is not available (make sync installs it in .tools/)")
    locked = directory / "uv-lock-requirements.txt"
    command = [uv, "export", "--frozen", "--no-hashes", "--all-packages", "--all-groups"]
    command += ["--no-emit-workspace", "--format", "requirements-txt", "--output-file"]
    subprocess.run([*command, str(locked)], cwd=REPO, check=True, capture_output=True)
    return [locked, *TOOL_REQUIREMENTS]


def run_pip_audit(requirements: Path) -> dict[str, Any]:
    """pip-audit's JSON report over one requirements file, from its own pinned tool environment.

    One file per run: the tool environments pin some packages at other versions than uv.lock,
    and pip-audit refuses two versions of a package in one run.
    """
    uv = find_uv()
    if uv is None:
        raise SystemExit("uv is not available (make sync installs it in .tools/)")
    command = [uv, "tool", "run", "--quiet", "--python", "3.11", "--constraints", str(CONSTRAINTS)]
    command += ["--from", f"pip-audit=={PIP_AUDIT_VERSION}", "pip-audit"]
    command += ["--no-deps", "--disable-pip", "--vulnerability-service", "pypi"]
    command += ["--format", "json", "--progress-spinner", "off", "--desc", "off"]
    command += ["--requirement", str(requirements)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if not result.stdout.strip().startswith("{"):
        raise SystemExit(
            f"pip-audit did not run:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def merged(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report of several runs (a package pinned alike in two files is audited twice)."""
    return {"dependencies": [d for r in reports for d in r.get("dependencies", [])]}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = merged([run_pip_audit(path) for path in export_requirements(Path(tmp))])
    deps = report.get("dependencies", [])
    problems = audit_problems(report, read_ignores(), dt.date.today())
    vulns = sum(len(d.get("vulns", [])) for d in deps)
    print(f"pip-audit {PIP_AUDIT_VERSION}: {len(deps)} dependencies, {vulns} known vulnerabilities")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if not problems:
        print("OK: every dependency audited; no vulnerability outside the ignore list")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
