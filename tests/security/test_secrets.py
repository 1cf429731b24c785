"""Secret scanning of the repository: detect-secrets against the committed ``.secrets.baseline``.

Every file git tracks is scanned with the baseline's own plugins and filters. A finding that is
not in the baseline fails the test (a new secret, or a new false positive to audit). Every
baseline entry must be audited as a false positive (``is_secret: false``) and have its reason in
``AUDITED`` below, so nothing is waved through by regenerating the baseline.

To update after an audited false positive (see docs/security.md)::

    .tools/bin/uv run detect-secrets scan --baseline .secrets.baseline
    .tools/bin/uv run detect-secrets audit .secrets.baseline   # answer n (not a secret)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.security.scanning import Finding, detect_secrets_findings

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / ".secrets.baseline"

# (file, detect-secrets type) of each baseline entry, and why it is not a secret.
AUDITED: dict[tuple[str, str], str] = {
    (
        "infra/src/c2c_infra/platform.py",
        "Secret Keyword",
    ): "KV_SECRETS_USER holds the built-in Azure role name 'Key Vault Secrets User'",
    (
        "tests/workflows/test_rules.py",
        "Hex High Entropy String",
    ): "a public commit SHA of actions/checkout, used to break a pin in a rule test",
}


def load_baseline() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(BASELINE.read_text())
    return data


def tracked_files() -> list[Path]:
    """Every file git tracks (or would track: new, not ignored), except the baseline itself."""
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    paths = [REPO / name for name in result.stdout.splitlines()]
    return [p for p in paths if p.is_file() and p != BASELINE]


def scan_against_baseline(files: list[Path], root: Path) -> list[Finding]:
    """Findings in ``files`` that the baseline does not list (matched by file and hash)."""
    baseline = load_baseline()
    settings = {k: baseline[k] for k in ("plugins_used", "filters_used")}
    found = detect_secrets_findings(files, root, settings)
    known = {
        (name, entry["hashed_secret"])
        for name, entries in baseline["results"].items()
        for entry in entries
    }
    return sorted(
        Finding(name, secret.line_number, secret.type)
        for name, secret in found
        if (name, secret.secret_hash) not in known
    )


@pytest.fixture(scope="module")
def files() -> list[Path]:
    return tracked_files()


def test_the_repository_has_no_secret_outside_the_baseline(files: list[Path]) -> None:
    assert len(files) > 100, "git ls-files found too little: is this a git checkout?"
    assert [str(f) for f in scan_against_baseline(files, REPO)] == []


def test_every_baseline_entry_is_an_audited_false_positive() -> None:
    entries = [e for entries in load_baseline()["results"].values() for e in entries]
    assert entries, "an empty baseline: remove AUDITED's entries too"
    for entry in entries:
        where = f"{entry['filename']}:{entry['line_number']} {entry['type']}"
        assert entry.get("is_secret") is False, f"{where}: not audited (detect-secrets audit)"
        assert (entry["filename"], entry["type"]) in AUDITED, f"{where}: no reason in AUDITED"
    assert {(e["filename"], e["type"]) for e in entries} == set(AUDITED), "stale AUDITED entry"


def test_a_new_secret_fails_the_scan(tmp_path: Path) -> None:
    """A file with a planted key is reported even next to the baselined files."""
    planted = tmp_path / "settings.py"
    # Assembled at run time, so this test file itself holds no key-shaped literal.
    key = "AKIA" + "Q3EXAMPLE7KEY4ZZ"
    planted.write_text(f'aws_access_key_id = "{key}"\npassword = "{"hunter" + "2horse"}"\n')
    found = scan_against_baseline([planted], tmp_path)
    assert {f.kind for f in found} >= {"AWS Access Key", "Secret Keyword"}
    assert all(key not in str(f) for f in found), "a finding must not print the secret"
