"""What each product package pulls in when installed, read from uv.lock: the resolution every
install of the workspace uses."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The Terraform side: CDK Terrain, its generated provider bindings and jsii's runtime.
TERRAFORM_BINDINGS = ("c2c-infra", "cdktn", "constructs", "jsii")


def closure(name: str) -> set[str]:
    """``name`` and every package its (non-optional) dependencies bring, transitively."""
    packages = {p["name"]: p for p in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(d["name"] for d in packages[current].get("dependencies", []))
    return seen


def _bindings(packages: set[str]) -> set[str]:
    return {p for p in packages if p.startswith(TERRAFORM_BINDINGS)}


@pytest.mark.parametrize("package", ["c2c-ops", "c2c-adf", "c2c-settings", "c2c-etl"])
def test_a_package_that_does_not_synthesize_stacks_does_not_pull_the_terraform_bindings(
    package: str,
) -> None:
    assert _bindings(closure(package)) == set()


def test_infra_does_pull_them() -> None:
    """The check above can fail: the synthesizing package has them."""
    assert {"cdktn", "cdktn-provider-azurerm", "cdktn-provider-databricks"} <= closure("c2c-infra")
    assert "c2c-settings" in closure("c2c-infra") and "c2c-settings" in closure("c2c-ops")
