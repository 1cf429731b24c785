"""The lake's lifecycle rules: landing goes as the retention policy (c2c_etl.retention) says;
nothing deletes a release wheel or the catalog's managed root."""

from __future__ import annotations

import pytest

from c2c_etl.retention import LANDING_COOL_AFTER_DAYS, LANDING_DELETE_AFTER_DAYS
from tests.infra.conftest import ENVS, Synth


@pytest.mark.parametrize("env", ENVS)
def test_landing_files_are_cooled_then_deleted_as_the_policy_says(synth: Synth, env: str) -> None:
    (policy,) = synth.resources(env, "platform", "azurerm_storage_management_policy").values()
    rule = next(r for r in policy["rule"] if r["filters"]["prefix_match"] == ["landing/"])
    assert rule["enabled"] is True
    actions = rule["actions"]["base_blob"]
    assert actions["tier_to_cool_after_days_since_modification_greater_than"] == (
        LANDING_COOL_AFTER_DAYS
    )
    assert actions["delete_after_days_since_modification_greater_than"] == (
        LANDING_DELETE_AFTER_DAYS
    )


@pytest.mark.parametrize("env", ENVS)
def test_no_rule_deletes_a_wheel_or_the_catalog_root(synth: Synth, env: str) -> None:
    """The job installs the last release's wheel however old it is, and the catalog's managed
    tables live in their own container: no rule may delete blobs there."""
    (policy,) = synth.resources(env, "platform", "azurerm_storage_management_policy").values()
    deleting = [
        prefix
        for rule in policy["rule"]
        if any("delete" in action for action in rule["actions"]["base_blob"])
        for prefix in rule["filters"]["prefix_match"]
    ]
    assert deleting == ["landing/"]
    artifacts = next(r for r in policy["rule"] if r["filters"]["prefix_match"] == ["artifacts/"])
    assert set(artifacts["actions"]["base_blob"]) == {
        "tier_to_cool_after_days_since_modification_greater_than"
    }
    assert not any("catalog/" in r["filters"]["prefix_match"] for r in policy["rule"])
