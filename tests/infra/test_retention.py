"""The landing lifecycle rule deletes what the retention policy (c2c_etl.retention) says."""

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
