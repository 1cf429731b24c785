"""Confirmation of destructive commands: ``--yes``, or the environment's name typed at a terminal.

Without a terminal (CI, a scheduler) and without ``--yes`` the command is refused, so nothing
destructive runs because a script forgot to think about it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from c2c_ops.errors import Exit, OpsError


def add_yes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="do it without asking")


def confirm(args: argparse.Namespace, env: str, what: str, ask: Any = None) -> None:
    """Go on only with ``--yes``, or when the operator types ``env`` at a terminal."""
    if getattr(args, "yes", False):
        return
    if ask is None and sys.stdin.isatty():
        ask = input
    if ask is not None:
        answer = ask(f"{what} ({env}). Type {env} to go on: ")
        if str(answer).strip() == env:
            return
    raise OpsError(
        Exit.REFUSED,
        f"{what} ({env}): not confirmed, nothing was done. At a terminal, type {env} when "
        "asked; in a script, add --yes",
    )
