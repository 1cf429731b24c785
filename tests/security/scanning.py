"""Secret detection shared by the security tests: detect-secrets' plugins plus project rules.

detect-secrets finds keys by shape (AWS, Azure storage, JWT, private keys, high-entropy strings,
``password = "..."``); the project rules add what this platform's credentials look like
(storage connection strings, SAS tokens, client secrets, Databricks tokens). A finding is a
(file, line, kind) triple; the secret itself is never printed, so a failing test cannot leak it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detect_secrets.core.secrets_collection import SecretsCollection
from detect_secrets.settings import default_settings, transient_settings

# Project rules: what a leaked credential of this platform looks like, whatever the file type.
PROJECT_RULES: dict[str, re.Pattern[str]] = {
    "storage account key": re.compile(r"AccountKey\s*=\s*[A-Za-z0-9+/=]{8,}", re.I),
    "SAS token": re.compile(
        r"SharedAccessSignature\s*=|[?&]sig=[A-Za-z0-9%+/=]{16,}|[?&]sv=\d{4}-\d\d-\d\d&", re.I
    ),
    "client secret": re.compile(r"client[_-]?secret[\"']?\s*[:=]\s*[\"']?[^\s\"',}{]{6,}", re.I),
    "Databricks token": re.compile(r"\bdapi[0-9a-f]{32}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password value": re.compile(
        r"(?<![\w/@.-])[\"']?(?:password|passwd|pwd)[\"']?\s*[:=]\s*[\"'][^\"'\s]{4,}[\"']", re.I
    ),
}

# Key Vault references are how secrets are meant to appear: by vault and name, never by value.
KEY_VAULT_REFERENCE = re.compile(r"AzureKeyVaultSecret|@Microsoft\.KeyVault\(", re.I)


@dataclass(frozen=True, order=True)
class Finding:
    """A secret-like value: where it is and what it looks like (never the value itself)."""

    path: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


def project_findings(path: Path, text: str, root: Path, public: str = "") -> list[Finding]:
    """The project rules over one file's text, line by line (matches found in ``public``, the
    text of a public library the file embeds, are not findings)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if KEY_VAULT_REFERENCE.search(line):
            continue
        for kind, pattern in PROJECT_RULES.items():
            if any(m.group(0) not in public for m in pattern.finditer(line)):
                found.append(Finding(str(path.relative_to(root)), number, kind))
    return found


def detect_secrets_findings(
    paths: Iterable[Path], root: Path, settings: dict[str, Any] | None = None
) -> SecretsCollection:
    """detect-secrets over files (one process: the tests already share two cores).

    ``settings`` are a baseline's ``plugins_used`` and ``filters_used``; without them every
    plugin runs with the default filters.
    """
    collection = SecretsCollection(root=str(root))
    context = transient_settings(settings) if settings is not None else default_settings()
    with context:
        for path in paths:
            collection.scan_file(str(path.relative_to(root)))
    return collection


def as_findings(collection: SecretsCollection) -> list[Finding]:
    """A detect-secrets collection as findings (file, line, plugin's secret type)."""
    return sorted(
        Finding(filename, secret.line_number, secret.type) for filename, secret in collection
    )


def blank_embedded(text: str, embedded: Iterable[str]) -> str:
    """``text`` with each verbatim copy of an embedded public text replaced by its line breaks
    alone: what is left is the file's own content, on the lines it was on."""
    for library in embedded:
        if library:
            text = text.replace(library, "\n" * library.count("\n"))
    return text


def scan_files(
    paths: Iterable[Path], root: Path, public: str = "", embedded: Iterable[str] = ()
) -> list[Finding]:
    """Every finding of detect-secrets' plugins and the project rules over the files.

    ``public`` is public text the artifacts hold values of (the digests a run writes): a
    secret-like value that occurs in it verbatim is not a leaked secret. ``embedded`` are public
    libraries a file inlines whole (the dashboard inlines plotly.js): a file holding one is
    scanned without it (blank_embedded), so every other byte of the file is still scanned, and
    megabytes of minified library code are not read by every plugin.
    """
    files = sorted(p for p in paths if p.is_file())
    libraries = tuple(embedded)
    texts = {path: path.read_text(encoding="utf-8", errors="replace") for path in files}
    inlining = [p for p in files if any(lib and lib in texts[p] for lib in libraries)]
    with tempfile.TemporaryDirectory() as scratch:
        # detect-secrets reads files by name: a blanked copy at the same relative path.
        for path in inlining:
            texts[path] = blank_embedded(texts[path], libraries)
            copy = Path(scratch) / path.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(texts[path], encoding="utf-8")
        found_secrets = [
            *detect_secrets_findings([p for p in files if p not in inlining], root),
            *detect_secrets_findings(
                [Path(scratch) / p.relative_to(root) for p in inlining], Path(scratch)
            ),
        ]
    found = sorted(
        Finding(filename, secret.line_number, secret.type)
        for filename, secret in found_secrets
        if not (public and secret.secret_value and secret.secret_value in public)
    )
    for path in files:
        found += project_findings(path, texts[path], root, public)
    return sorted(set(found))
