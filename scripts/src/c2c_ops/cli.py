"""``c2c-ops``: the operators' command line (see docs/runbook.md).

Each command module registers its subcommands with ``register(subparsers, common)`` and gives
each a ``handler(args, ops) -> int``. ``main`` builds the context, runs the handler and turns
Azure and Databricks errors into a clear message and an exit code (``c2c_ops.errors.Exit``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from c2c_ops.context import DEFAULT_RETRIES, Ops
from c2c_ops.errors import translate

# Command modules, in the order their subcommands appear in --help.
COMMAND_MODULES = (
    "c2c_ops.deploy",
    "c2c_ops.pipelines",
    "c2c_ops.maintenance",
    "c2c_ops.quality",
    "c2c_ops.keyvault",
    "c2c_ops.files",
)
ENVIRONMENTS = ("local", "dev", "test", "prod")


def common_options() -> argparse.ArgumentParser:
    """Options every subcommand takes; values can also come from the environment."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env", choices=ENVIRONMENTS, required=True)
    common.add_argument(
        "--subscription-id",
        default=os.environ.get("AZURE_SUBSCRIPTION_ID"),
        help="Azure subscription (default: $AZURE_SUBSCRIPTION_ID)",
    )
    common.add_argument(
        "--workspace-url",
        default=os.environ.get("DATABRICKS_HOST"),
        help="Databricks workspace URL, infra output workspace_url (default: $DATABRICKS_HOST)",
    )
    common.add_argument(
        "--retries",
        type=int,
        default=DEFAULT_RETRIES,
        help=f"retries of a throttled (429) or failed (5xx) call (default {DEFAULT_RETRIES})",
    )
    common.add_argument("--verbose", action="store_true", help="log the SDKs' HTTP calls")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="c2c-ops",
        description="Operate the C2C lakehouse: deploy, run and follow pipelines, backfill, "
        "rerun, maintain tables, rotate secrets, handle landing files, report data quality.",
        epilog="Exit codes: 0 ok, 1 failed, 2 usage, 3 cancelled, 4 timed out, 5 auth, "
        "6 not found, 7 conflict, 8 throttled, 9 unavailable, 10 refused by a guard, "
        "11 blocked by a firewall.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers, common)
    return parser


def ops_from_args(args: argparse.Namespace) -> Ops:
    """The real context: DefaultAzureCredential and the environment's public endpoints."""
    return Ops(
        args.env,
        subscription_id=getattr(args, "subscription_id", None),
        workspace_url=getattr(args, "workspace_url", None),
        job_id=getattr(args, "job_id", None),
        warehouse_id=getattr(args, "warehouse_id", None),
        lake=getattr(args, "lake", None),
        retries=getattr(args, "retries", DEFAULT_RETRIES),
    )


def main(
    argv: Sequence[str] | None = None,
    make_ops: Callable[[argparse.Namespace], Ops] = ops_from_args,
) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ops = make_ops(args)
    try:
        return int(args.handler(args, ops))
    except KeyboardInterrupt:
        ops.console.print("interrupted: nothing was cancelled on the service side")
        return 130
    except Exception as exc:
        error = translate(exc)
        if error is None:
            raise
        print(f"c2c-ops {args.command}: {error.message}", file=sys.stderr)
        return int(error.code)


if __name__ == "__main__":
    raise SystemExit(main())
