"""The dependency audit's verdict (``make audit``), on pip-audit reports of known shape.

The audit itself needs PyPI's per-version vulnerability API, which this machine cannot reach (it
answers 404), so it runs in GitHub CI's security job, not here; these tests pin down what it
decides: an unlisted vulnerability fails, a listed one passes until its entry expires, and a
dependency that could not be audited fails instead of passing silently.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.security.pip_audit import (
    IGNORE_FILE,
    Ignore,
    audit_problems,
    ignore_problems,
    read_ignores,
)

TODAY = dt.date(2026, 6, 1)
VULN = {"id": "GHSA-aaaa-bbbb-cccc", "aliases": ["CVE-2026-0001"], "fix_versions": ["2.0.1"]}


def report(*deps: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": list(deps)}


def clean(name: str = "rich") -> dict[str, Any]:
    return {"name": name, "version": "15.0.0", "vulns": []}


def vulnerable() -> dict[str, Any]:
    return {"name": "jinja2", "version": "2.0.0", "vulns": [VULN]}


def ignore(vid: str = "CVE-2026-0001", expires: dt.date = dt.date(2026, 7, 1)) -> Ignore:
    reason = "only the sandbox is affected and templates here are never user supplied"
    return Ignore(vid, "jinja2", reason, expires)


def test_a_clean_audit_passes() -> None:
    assert audit_problems(report(clean(), clean("plotly")), {}, TODAY) == []


def test_an_unlisted_vulnerability_fails_with_its_fix() -> None:
    problems = audit_problems(report(clean(), vulnerable()), {}, TODAY)
    assert len(problems) == 1 and "GHSA-aaaa-bbbb-cccc" in problems[0] and "2.0.1" in problems[0]


def test_a_listed_vulnerability_passes_by_id_or_alias() -> None:
    ignores = {"CVE-2026-0001": ignore()}
    assert audit_problems(report(vulnerable()), ignores, TODAY) == []


def test_an_expired_ignore_fails() -> None:
    ignores = {"CVE-2026-0001": ignore(expires=dt.date(2026, 5, 31))}
    assert any("expired" in p for p in audit_problems(report(vulnerable()), ignores, TODAY))


def test_an_ignore_no_longer_needed_fails() -> None:
    problems = audit_problems(report(clean()), {"CVE-2026-0001": ignore()}, TODAY)
    assert problems == ["CVE-2026-0001: no longer reported, remove it"]


def test_a_dependency_that_was_not_audited_fails_instead_of_passing_silently() -> None:
    """What pip-audit reports (exit 0) when the vulnerability service does not answer."""
    skipped = {
        "name": "attrs",
        "skip_reason": "Dependency not found on PyPI and could not be audited: attrs (26.1.0)",
    }
    problems = audit_problems(report(clean(), skipped), {}, TODAY)
    assert len(problems) == 1 and "1 of 2 dependencies were NOT audited" in problems[0]
    assert audit_problems(report(), {}, TODAY) == [
        "pip-audit reported no dependency: nothing was audited"
    ]


def test_the_committed_ignore_list_is_valid() -> None:
    """Every committed entry has a reason and a date not yet passed (make test checks this
    offline, so an entry expires in every run, not only where the audit itself runs)."""
    assert ignore_problems(read_ignores(IGNORE_FILE), dt.date.today()) == []


def test_an_ignore_without_a_real_reason_or_too_far_ahead_fails(tmp_path: Path) -> None:
    path = tmp_path / "ignore.toml"
    path.write_text('[PYSEC-1]\npackage = "x"\nreason = "fine"\nexpires = 2027-12-31\n')
    problems = audit_problems(report(clean()), read_ignores(path), TODAY)
    assert any("real reason" in p for p in problems)
    assert any("more than 90 days" in p for p in problems)
