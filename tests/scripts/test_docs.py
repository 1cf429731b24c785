"""The README and the docs stay true: every ``c2c-ops`` command they show exists with the
options they give it, the runbook has the procedures operators need, every link resolves, every
``make`` target named exists, and the README stays short enough to read in ten minutes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from c2c_ops.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "runbook.md"
NESTED = ("secret", "files")


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def code_of(text: str) -> list[str]:
    """The code in a Markdown text: fenced blocks' lines and inline code spans."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    prose = re.sub(r"^```[a-z]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return [line for block in blocks for line in block.splitlines()] + re.findall(
        r"`([^`\n]+)`", prose
    )


def shown_commands(text: str) -> list[list[str]]:
    """Each ``c2c-ops ...`` invocation in the code of a text, as tokens, up to a comment."""
    found = []
    for code in code_of(text):
        for match in re.finditer(r"c2c-ops ([^#\n]*)", code):
            tokens = match.group(1).replace("\\", " ").split()
            if tokens and not tokens[0].startswith(("<", "-", "...")):
                found.append(tokens)
    return found


@pytest.mark.parametrize("document", [RUNBOOK, REPO / "README.md"], ids=lambda p: p.name)
def test_every_command_shown_exists_with_its_options(document: Path) -> None:
    commands = subparsers(build_parser())
    shown = shown_commands(document.read_text())
    assert shown, f"no c2c-ops command in {document.name}"
    for tokens in shown:
        name = tokens[0]
        assert name in commands, f"{document.name} shows an unknown command: c2c-ops {name}"
        parser = commands[name]
        if name in NESTED and len(tokens) > 1 and not tokens[1].startswith("-"):
            actions = subparsers(parser)
            assert tokens[1] in actions, f"c2c-ops {name} has no action {tokens[1]}"
            parser = actions[tokens[1]]
        options = {o for a in parser._actions for o in a.option_strings}
        for token in tokens:
            flag = token.split("=")[0]
            if flag.startswith("--") and re.fullmatch(r"--[a-z][a-z-]*", flag):
                assert flag in options, f"{document.name}: c2c-ops {name} has no {flag}"


def test_the_runbook_has_every_procedure_and_the_readme_links_it() -> None:
    headings = re.findall(r"^## (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    for needed in (
        "A failed run",
        "A bad file arrived",
        "A schema change in the source",
        "A backfill",
        "Rotating a secret",
        "Restoring a table to an earlier version",
        "Exit codes",
    ):
        assert needed in headings, needed
    assert "(docs/runbook.md)" in (REPO / "README.md").read_text()


def test_the_exit_codes_documented_are_the_ones_the_tool_uses() -> None:
    from c2c_ops.errors import Exit

    table = RUNBOOK.read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.MULTILINE)}
    assert documented == {int(code) for code in Exit}


README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
# The packages' own READMEs point into docs/ too.
PACKAGE_READMES = sorted(
    path
    for folder in ("etl", "infra", "adf_pipelines", "scripts", "reporting")
    if (path := REPO / folder / "README.md").exists()
)
MAKEFILE = REPO / "Makefile"


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE.read_text(), flags=re.MULTILINE))


def anchors(document: Path) -> set[str]:
    """GitHub's anchors for a Markdown file's headings: lower case, punctuation dropped,
    spaces turned into hyphens."""
    headings = re.findall(r"^#+ (.+)$", document.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def links(document: Path) -> list[str]:
    """The targets of a Markdown file's inline links, code left out."""
    text = re.sub(r"^```.*?^```", "", document.read_text(), flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_the_readme_is_read_in_ten_minutes() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; move reference to docs/"


def test_the_performance_doc_is_the_latest_report_not_a_diary() -> None:
    text = (REPO / "docs" / "performance.md").read_text()
    assert len(text.splitlines()) <= 300
    assert not (REPO / "docs" / "benchmark.md").exists()
    assert "## The latest report" in text


@pytest.mark.parametrize(
    "document", [README, *DOCS, *PACKAGE_READMES], ids=lambda p: str(p.relative_to(REPO))
)
def test_every_link_resolves(document: Path) -> None:
    found = links(document)
    for target in found:
        if re.match(r"[a-z]+:", target):
            continue  # a web address: not checked offline
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        assert resolved.exists(), f"{document.name} links to {target}, which does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{document.name}: no heading for #{anchor}"


def test_the_readme_commands_are_the_ones_ci_and_the_makefile_run() -> None:
    readme = README.read_text()
    block = re.search(r"## The two commands\n\n```bash\n(.*?)```", readme, flags=re.DOTALL)
    assert block, "the README has no 'The two commands' block"
    commands = [line.split("#")[0].split() for line in block.group(1).splitlines()]
    assert [c[:2] for c in commands if c and c[0] == "make"][:2] == [
        ["make", "run"],
        ["make", "test"],
    ]
    assert "make test" in (REPO / ".ci" / "run").read_text().splitlines()
    targets = make_targets()
    for document in [README, *DOCS]:
        for target in re.findall(r"`make ([a-z][a-z-]*)", document.read_text()):
            assert target in targets, f"{document.name} shows make {target}: no such target"
