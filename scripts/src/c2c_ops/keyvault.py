"""Set or rotate a Key Vault secret without the value ever showing.

The value comes from standard input when it is piped, from a prompt that does not echo when it
is a terminal, from an environment variable (``--from-env``, for CI), or is generated
(``rotate --generate``). Nothing prints it: the output names the secret and its versions only.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets as random_source
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table

from c2c_ops.confirm import add_yes, confirm
from c2c_ops.context import Ops
from c2c_ops.errors import Exit, OpsError


def read_value(args: argparse.Namespace) -> str:
    """The new value, from the source the operator chose; never echoed."""
    if getattr(args, "generate", False):
        return random_source.token_urlsafe(args.length)
    if args.from_env:
        value = os.environ.get(args.from_env)
        if value is None:
            raise OpsError(Exit.USAGE, f"environment variable {args.from_env} is not set")
    elif sys.stdin.isatty():
        value = getpass.getpass(f"value of {args.name} (not shown): ")
        if getpass.getpass("again, to confirm: ") != value:
            raise OpsError(Exit.USAGE, "the two values differ; nothing was set")
    else:
        value = sys.stdin.read()
        # A trailing newline comes from `echo` or a file, never from the secret itself.
        value = value[:-1] if value.endswith("\n") else value
        value = value[:-1] if value.endswith("\r") else value
    if not value:
        raise OpsError(Exit.USAGE, "the value is empty; nothing was set")
    return value


def set_secret(ops: Ops, args: argparse.Namespace, value: str) -> Any:
    expires = None
    if args.expires_in_days:
        expires = datetime.now(UTC) + timedelta(days=args.expires_in_days)
    secret = ops.secrets.set_secret(
        args.name, value, content_type=args.content_type, expires_on=expires
    )
    when = f", expires {expires:%Y-%m-%d}" if expires else ""
    ops.console.print(
        f"secret {args.name}: new version {secret.properties.version} in "
        f"{ops.secrets.vault_url}{when}"
    )
    return secret


def enabled_versions(ops: Ops, name: str) -> list[Any]:
    return [v for v in ops.secrets.list_properties_of_secret_versions(name) if v.enabled]


def handle_set(args: argparse.Namespace, ops: Ops) -> int:
    set_secret(ops, args, read_value(args))
    return int(Exit.OK)


def handle_rotate(args: argparse.Namespace, ops: Ops) -> int:
    """A new version becomes current; with --disable-previous the older ones stop working."""
    before = enabled_versions(ops, args.name)
    if not before:
        raise OpsError(
            Exit.NOT_FOUND,
            f"secret {args.name} has no enabled version to rotate; create it with `secret set`",
        )
    if args.disable_previous:
        confirm(args, ops.env, f"--disable-previous stops {len(before)} older version(s) of "
                f"{args.name} from working")  # fmt: skip
    new = set_secret(ops, args, read_value(args))
    if args.disable_previous:
        for old in before:
            if old.version == new.properties.version:
                continue
            ops.secrets.update_secret_properties(args.name, old.version, enabled=False)
            ops.console.print(f"disabled previous version {old.version}")
    else:
        ops.console.print(
            f"{len(before)} previous version(s) stay enabled; disable them once every consumer "
            "reads the new one (rotate again with --disable-previous, or in the portal)"
        )
    return int(Exit.OK)


def handle_versions(args: argparse.Namespace, ops: Ops) -> int:
    table = Table(title=f"{args.name} in {ops.secrets.vault_url}")
    for column in ("version", "enabled", "created (UTC)", "expires (UTC)", "content type"):
        table.add_column(column)
    versions = sorted(
        ops.secrets.list_properties_of_secret_versions(args.name),
        key=lambda v: v.created_on or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    for v in versions:
        table.add_row(
            v.version,
            "yes" if v.enabled else "no",
            f"{v.created_on:%Y-%m-%d %H:%M}" if v.created_on else "",
            f"{v.expires_on:%Y-%m-%d}" if v.expires_on else "",
            v.content_type or "",
        )
    ops.console.print(table)
    return int(Exit.OK)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    secret = subparsers.add_parser("secret", help="set, rotate or list versions of a secret")
    actions = secret.add_subparsers(dest="action", required=True, metavar="ACTION")

    def value_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("name", help="secret name, e.g. adf-failure-webhook-url")
        parser.add_argument(
            "--from-env", metavar="VAR", help="read the value from this environment variable"
        )
        parser.add_argument("--content-type", default=None)
        parser.add_argument("--expires-in-days", type=int, default=None)

    set_parser = actions.add_parser(
        "set", parents=[common], help="set a secret (value from stdin, a prompt or --from-env)"
    )
    value_options(set_parser)
    set_parser.set_defaults(handler=handle_set)

    rotate = actions.add_parser("rotate", parents=[common], help="add a new current version")
    value_options(rotate)
    rotate.add_argument("--generate", action="store_true", help="generate a random value")
    rotate.add_argument("--length", type=int, default=48, help="bytes of randomness (--generate)")
    rotate.add_argument("--disable-previous", action="store_true")
    add_yes(rotate)
    rotate.set_defaults(handler=handle_rotate)

    versions = actions.add_parser("versions", parents=[common], help="list versions (no values)")
    versions.add_argument("name")
    versions.set_defaults(handler=handle_versions)
