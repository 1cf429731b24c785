"""Comments and docstrings of the product code say why, in words that stay true.

A figure measured on one day, a date, an issue number, a work session or who ran what belongs
in the commit message or in docs/performance.md, where it can be dated; in a comment it goes
stale while the code beside it changes. This is a plain regular-expression check over every
comment and docstring of the product files (the five packages' sources, the Makefile, the
GitHub workflows): it catches the usual phrasings, not every possible one.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = (
    "etl/src",
    "infra/settings/src",
    "infra/src",
    "adf_pipelines/src",
    "scripts/src",
    "reporting/src",
)

FIGURE = r"\d[\d.,]*\s*(?:%|s|ms|MB|GB|KB|x|seconds|minutes|CPU-seconds|times)(?!\w)"
DURATION = r"\d[\d.,]*\s*(?:s|ms|seconds|minutes|CPU-seconds)(?!\w)"
# The size a figure was measured at: "on 10M users", "on the 1M-user lake".
SCALE = r"(?:\d[\d.,]*\s*(?:M|k|million)\b|\d{1,3}(?:,\d{3})+ (?:users|rows))"
ORDINAL = (
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth"
    r"|\d+(?:st|nd|rd|th)|previous|earlier|last|next|later"
)
RULES = {
    "an issue number": re.compile(r"\bissues?\s*#?\d+|\(#\d+\)", re.IGNORECASE),
    "a work session": re.compile(
        rf"\b(?:{ORDINAL})\s+session\b|\b(?:work|working|coding|agent)\s+session\b",
        re.IGNORECASE,
    ),
    "a date": re.compile(
        r"\b(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"
        r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? (?:\d{1,2},? )?20\d\d\b",
        re.IGNORECASE,
    ),
    "a before/after figure": re.compile(
        rf"{FIGURE}\s*(?:->|→|against|versus|vs\.?)\s*{FIGURE}"
        rf"|\bfrom\s+{FIGURE}\s+to\s+{FIGURE}",
        re.IGNORECASE,
    ),
    "a measured figure": re.compile(
        rf"\b(?:took|takes|measured|costs?)\b[^.;]{{0,60}}?{FIGURE}"
        rf"|{DURATION}[^.;]{{0,60}}?\bon (?:the )?{SCALE}"
        rf"|\bon (?:the )?{SCALE}[^.;]{{0,60}}?{DURATION}",
        re.IGNORECASE,
    ),
    "who ran what": re.compile(r"\bof mine\b|\b(?:I|we)\s+(?:ran|measured|tried)\b"),
}


def python_comments(text: str) -> list[tuple[int, str]]:
    """Every ``#`` comment and every module, class and function docstring, with its line."""
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(text).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                found.append((first.lineno, first.value.value))
    return found


def hash_comments(text: str) -> list[tuple[int, str]]:
    """The ``#`` comments of a Makefile or a workflow: whole-line ones and trailing ``  # ``."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            found.append((number, stripped))
        elif " # " in line:
            found.append((number, line.split(" # ", 1)[1]))
    return found


def product_files() -> list[Path]:
    files = [path for folder in SOURCES for path in sorted((REPO / folder).rglob("*.py"))]
    return [*files, REPO / "Makefile", *sorted((REPO / ".github" / "workflows").glob("*.yml"))]


def findings(path: Path) -> list[str]:
    text = path.read_text()
    comments = python_comments(text) if path.suffix == ".py" else hash_comments(text)
    return [
        f"{path.relative_to(REPO)}:{line}: {what}: {match.group(0)!r}"
        for line, comment in comments
        for what, rule in RULES.items()
        for match in rule.finditer(comment)
    ]


def name(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", product_files(), ids=name)
def test_product_comments_carry_no_history(path: Path) -> None:
    assert findings(path) == []


@pytest.mark.parametrize(
    ("comment", "what"),
    [
        ("# Measured on 10M users: 48.7 s -> 29.8 s.", "a before/after figure"),
        ("# the cache took 52 to 73 s", "a measured figure"),
        ("# nothing to do: 16 s beyond start-up on the 10M-user lake", "a measured figure"),
        ('"""Kept since issue 7."""', "an issue number"),
        ("# found in the eighth session", "a work session"),
        ("# checked 2026-12-05", "a date"),
        ("# a diagnostic run of mine", "who ran what"),
        (
            '"""A lambda is interpreted row by row (measured: 30% of the cost)."""',
            "a measured figure",
        ),
    ],
)
def test_the_check_catches_the_usual_phrasings(comment: str, what: str) -> None:
    comments = python_comments(comment + "\n")
    assert any(RULES[what].search(c) for _, c in comments)


@pytest.mark.parametrize(
    "comment",
    [
        "# One Spark session for the whole run; the session's settings are set here.",
        "# A file under 16 MB is small; OPTIMIZE packs them into files of up to 128 MB.",
        "# Retries: 2, every 120 s, and a 2-hour timeout.",
        "# The 2 GB driver heap: caches and shuffles spill to disk instead.",
    ],
)
def test_the_check_leaves_design_values_alone(comment: str) -> None:
    assert not any(rule.search(comment) for rule in RULES.values())
