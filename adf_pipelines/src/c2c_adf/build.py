"""``python -m c2c_adf.build --env dev --out adf_pipelines/build/dev``: write the factory's files.

Values that exist only after the infra stacks are deployed (workspace URL, job id, subscription)
or outside Azure (the Fabric workspace id) can be given as options; otherwise placeholders are
written and the ARM parameters override them. ``--fabric-workspace-id ""`` builds an environment
without Power BI: PL_Orchestrate then refreshes nothing.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

from c2c_adf.artifacts import RESOURCE_TYPES, write
from c2c_adf.config import ENVIRONMENTS, AdfConfig, adf_config
from c2c_adf.factory import build_factory

KINDS = tuple(RESOURCE_TYPES)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write the Data Factory git layout and ARM")
    parser.add_argument("--env", choices=ENVIRONMENTS, action="append", help="default: all")
    parser.add_argument("--out", type=Path, default=Path("adf_pipelines/build"))
    parser.add_argument("--workspace-url", help="infra output workspace_url (https://adb-...)")
    parser.add_argument("--job-id", help="infra output job_id")
    parser.add_argument("--subscription-id")
    parser.add_argument(
        "--fabric-workspace-id",
        help="the Fabric workspace of the Power BI model (a GUID; empty: no Power BI)",
    )
    return parser.parse_args(argv)


def config_from_args(env: str, args: argparse.Namespace) -> AdfConfig:
    cfg = adf_config(env)
    values = {
        "workspace_url": args.workspace_url,
        "job_id": args.job_id,
        "subscription_id": args.subscription_id,
    }
    deployment = {k: v for k, v in values.items() if v}
    if args.fabric_workspace_id is not None:  # "" is a value: the environment has no Power BI
        deployment["fabric_workspace_id"] = args.fabric_workspace_id
    return cfg.with_deployment(**deployment)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    envs = args.env or list(ENVIRONMENTS)
    for env in envs:
        out = args.out / env if len(envs) > 1 or args.env is None else args.out
        for kind in KINDS:  # objects removed from the code must not linger in the output
            shutil.rmtree(out / kind, ignore_errors=True)
        cfg = config_from_args(env, args)
        files = write(build_factory(cfg), cfg, out)
        print(f"{env}: {len(files)} files in {out}")


if __name__ == "__main__":
    main()
