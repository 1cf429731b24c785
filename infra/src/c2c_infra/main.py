"""Build the CDK Terrain app: a platform and a workspace stack for each environment.

``cdktn synth|deploy|destroy`` runs :func:`main` (see ``infra/cdktf.json``); tests call
:func:`build_app` directly, so nothing here needs the CLI or Terraform.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from cdktn import App

from c2c_infra.platform import PlatformStack
from c2c_infra.workspace import WorkspaceStack
from c2c_settings.config import ENVIRONMENTS, get_config, offline_from_env

# Set to one environment (dev, test or prod) to synthesize only its stacks.
ENV_VAR = "C2C_ENV"


def build_app(
    envs: Iterable[str] = ENVIRONMENTS, *, outdir: str | None = None, offline: bool = False
) -> App:
    """An app with both stacks of each environment; ``offline`` swaps in a local backend."""
    app = App(outdir=outdir) if outdir else App()
    for env in envs:
        cfg = get_config(env)
        platform = PlatformStack(app, cfg, offline=offline)
        WorkspaceStack(app, cfg, platform, offline=offline)
    return app


def main() -> None:
    """Synthesize the environment(s) into the outdir the CLI asks for (default ``cdktf.out``)."""
    env = os.environ.get(ENV_VAR)
    envs = (env,) if env else ENVIRONMENTS
    build_app(envs, offline=offline_from_env()).synth()


if __name__ == "__main__":
    main()
