"""Alerting in the synthesized platform stacks: one action group per environment, addressed by a
variable, and the alert rules that page it."""

from __future__ import annotations

import json
import re

import pytest

from tests.infra.conftest import ENVS, Synth

by_env = pytest.mark.parametrize("env", ENVS)
ACTION_GROUP = "${azurerm_monitor_action_group.alerts.id}"


def metric_alert(synth: Synth, env: str, metric: str) -> dict:
    alerts = synth.resources(env, "platform", "azurerm_monitor_metric_alert").values()
    (alert,) = [a for a in alerts if a["criteria"][0]["metric_name"] == metric]
    return alert


@by_env
def test_the_action_group_mails_the_address_the_environment_sets(synth: Synth, env: str) -> None:
    (group,) = synth.resources(env, "platform", "azurerm_monitor_action_group").values()
    assert [r["email_address"] for r in group["email_receiver"]] == ["${var.alert_email}"]
    assert len(group["short_name"]) <= 12
    variable = synth.stack(env, "platform")["variable"]["alert_email"]
    assert "default" not in variable, "each environment sets its own address"
    condition = variable["validation"][0]["condition"]
    assert condition.startswith("${") and condition.endswith("}"), "an expression, not a string"


@pytest.mark.parametrize(
    ("address", "accepted"),
    [
        ("data-platform@c2c-fashion.com", True),
        ("oncall+c2c@example-corp.co.uk", True),
        ("data-platform-alerts@c2c-fashion.example", False),
        ("alerts@c2c.invalid", False),
        ("root@localhost", False),
        ("not an address", False),
        ("", False),
    ],
)
def test_the_alert_address_validation_refuses_placeholders(
    synth: Synth, address: str, accepted: bool
) -> None:
    """The variable's condition, evaluated as Terraform would: ``can(regex(...))`` is whether the
    RE2 pattern matches (these patterns mean the same in Python's ``re``)."""
    condition = synth.stack("dev", "platform")["variable"]["alert_email"]["validation"][0]
    must, must_not = re.findall(r'regex\("([^"]+)", var\.alert_email\)', condition["condition"])
    assert "!can(regex" in condition["condition"].split("&&")[1]
    assert (bool(re.search(must, address)) and not re.search(must_not, address)) is accepted


def test_no_placeholder_address_is_shipped(synth: Synth) -> None:
    for name, stack in synth.stacks.items():
        text = json.dumps(stack)
        assert "@c2c-fashion.example" not in text, name
        assert not any(
            part.endswith((".example", ".invalid")) for part in text.split('"') if "@" in part
        ), name


@by_env
def test_failed_factory_runs_page_the_team(synth: Synth, env: str) -> None:
    alert = metric_alert(synth, env, "PipelineFailedRuns")
    criteria = alert["criteria"][0]
    assert alert["scopes"] == ["${azurerm_data_factory.factory.id}"]
    assert criteria["metric_namespace"] == "Microsoft.DataFactory/factories"
    assert (criteria["aggregation"], criteria["operator"], criteria["threshold"]) == (
        "Total",
        "GreaterThan",
        0,
    )
    assert alert["action"] == [{"action_group_id": ACTION_GROUP}]


@by_env
def test_lake_availability_pages_the_team(synth: Synth, env: str) -> None:
    alert = metric_alert(synth, env, "Availability")
    criteria = alert["criteria"][0]
    assert alert["scopes"] == ["${azurerm_storage_account.lake.id}"]
    assert criteria["metric_namespace"] == "Microsoft.Storage/storageAccounts"
    assert criteria["operator"] == "LessThan" and 90 <= criteria["threshold"] < 100
    assert alert["action"] == [{"action_group_id": ACTION_GROUP}]


@by_env
def test_failed_databricks_job_runs_page_the_team(synth: Synth, env: str) -> None:
    """The workspace's job events reach Log Analytics through its diagnostic setting (all log
    categories); a log alert counts the failed runs."""
    (alert,) = synth.resources(
        env, "platform", "azurerm_monitor_scheduled_query_rules_alert_v2"
    ).values()
    assert alert["scopes"] == ["${azurerm_log_analytics_workspace.logs.id}"]
    (criteria,) = alert["criteria"]
    assert "DatabricksJobs" in criteria["query"]
    assert 'ActionName == "runFailed"' in criteria["query"]
    assert (criteria["operator"], criteria["threshold"]) == ("GreaterThan", 0)
    assert alert["action"]["action_groups"] == [ACTION_GROUP]
    settings = synth.resources(env, "platform", "azurerm_monitor_diagnostic_setting")
    workspace_logs = settings["diag-workspace"]
    assert workspace_logs["target_resource_id"] == "${azurerm_databricks_workspace.workspace.id}"
    assert workspace_logs["enabled_log"] == [{"category_group": "allLogs"}]
