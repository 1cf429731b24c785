"""Running ``c2c-ops`` in tests: the real CLI and SDK clients, pointed at local servers.

``ops_for`` builds the context a command gets, with a stub credential and the fakes' endpoints;
``run_cli`` runs ``c2c_ops.cli.main`` with that context and returns the exit code and what the
command printed (console and standard error).
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from typing import Any

import pytest
from rich.console import Console

from c2c_ops import cli
from c2c_ops.context import ClientOptions, Ops
from tests.adf_pipelines.fake_adf import HttpBearerPolicy, StubCredential

__all__ = ["StubCredential", "console", "ops_for", "run_cli"]

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
ARM_SCOPE = "https://management.azure.com/.default"


@dataclass
class Result:
    code: int
    out: str
    err: str


def console() -> Console:
    return Console(file=io.StringIO(), width=220, force_terminal=False, color_system=None)


def ops_for(
    env: str = "dev",
    *,
    adf_url: str | None = None,
    credential: Any = None,
    options: ClientOptions | None = None,
    retries: int = 2,
    **kwargs: Any,
) -> Ops:
    """A context for the fakes: ADF over http with the stub token, quick retries, no sleeping."""
    credential = credential or StubCredential()
    if options is None:
        options = ClientOptions(
            arm_endpoint=adf_url,
            azure={"retry_backoff_factor": 0.01},
            adf={"authentication_policy": HttpBearerPolicy(credential, ARM_SCOPE)},
        )
    return Ops(
        env,
        subscription_id=SUBSCRIPTION,
        credential=credential,
        options=options,
        console=console(),
        retries=retries,
        sleep=lambda _: None,
        **kwargs,
    )


def run_cli(ops: Ops, *argv: str, capsys: pytest.CaptureFixture[str]) -> Result:
    """``c2c-ops <argv>`` with ``ops`` as its context; argv's --env must match ops.env."""
    capsys.readouterr()

    def make_ops(args: argparse.Namespace) -> Ops:
        # What the command line says wins over the test's defaults, as in cli.ops_from_args.
        for name in ("workspace_url", "warehouse_id", "lake", "job_id"):
            value = getattr(args, name, None)
            if value is not None:
                setattr(ops, name, value)
        return ops

    code = cli.main(list(argv), make_ops=make_ops)
    captured = capsys.readouterr()
    printed = ops.console.file.getvalue()  # type: ignore[attr-defined]
    return Result(code, printed + captured.out, captured.err)
