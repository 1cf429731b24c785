"""What each product package pulls in when installed, read from uv.lock: the resolution every
install of the workspace uses."""

from __future__ import annotations

import re
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


WORKSPACE = ("c2c-etl", "c2c-settings", "c2c-reporting", "c2c-infra", "c2c-adf", "c2c-ops")


def _direct(name: str) -> set[str]:
    packages = {p["name"]: p for p in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    return {d["name"] for d in packages[name].get("dependencies", [])} & set(WORKSPACE)


@pytest.mark.parametrize("package", WORKSPACE)
def test_the_workspace_packages_depend_on_each_other_one_way(package: str) -> None:
    """No package is among what its own dependencies bring: the arrows of
    docs/architecture.md's package table only go one way."""
    for dependency in _direct(package):
        assert package not in closure(dependency), f"{package} -> {dependency} -> ... -> {package}"


def test_the_architecture_doc_lists_each_packages_imports() -> None:
    """docs/architecture.md's table names, for each package, the workspace packages it depends
    on, as uv.lock has them."""
    doc = (REPO / "docs" / "architecture.md").read_text()
    for package in WORKSPACE:
        module = package.replace("-", "_")
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{module}`"))
        listed = {m.replace("_", "-") for m in re.findall(r"`(c2c_\w+)`", row.split("|")[3])}
        assert listed == _direct(package), f"{package}: doc lists {sorted(listed)}"
