"""The runbook and the README stay true to the command line: every ``c2c-ops`` command they
show exists with the options they give it, and the runbook has the procedures operators need."""

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
