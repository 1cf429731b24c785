"""The AI/BI dashboard in the synthesized workspace stacks: on the BI warehouse, reading only its
own environment's gold schema, no embedded credentials, analysts may run it."""

from __future__ import annotations

import json
import re

import pytest

from c2c_reporting.lakeview import load
from tests.infra.conftest import ENVS, Synth

by_env = pytest.mark.parametrize("env", ENVS)


def dashboard(synth: Synth, env: str) -> dict:
    (resource,) = synth.resources(env, "workspace", "databricks_dashboard").values()
    return resource


@by_env
def test_dashboard_runs_on_the_bi_warehouse_without_embedded_credentials(synth: Synth, env: str):
    resource = dashboard(synth, env)
    (warehouse_id,) = synth.resources(env, "workspace", "databricks_sql_endpoint")
    assert resource["warehouse_id"] == f"${{databricks_sql_endpoint.{warehouse_id}.id}}"
    assert resource["embed_credentials"] is False
    assert resource["parent_path"] == f"/Workspace/Shared/c2c/{env}"
    assert resource["display_name"] == f"C2C users ({env})"
    assert "dashboard_id" in synth.stack(env, "workspace")["output"]


@by_env
def test_dashboard_datasets_read_only_their_environments_gold(synth: Synth, env: str):
    serialized = json.loads(dashboard(synth, env)["serialized_dashboard"])
    assert len(serialized["datasets"]) == len(load()["datasets"])
    for dataset in serialized["datasets"]:
        sql = "".join(dataset["queryLines"])
        catalogs = set(re.findall(r"\b(c2c_\w+)\.(\w+)\.", sql))
        assert catalogs == {(f"c2c_{env}", "gold")}, dataset["name"]


@by_env
def test_every_widget_reads_a_dataset_of_the_dashboard(synth: Synth, env: str):
    serialized = json.loads(dashboard(synth, env)["serialized_dashboard"])
    names = {d["name"] for d in serialized["datasets"]}
    widgets = [item["widget"] for page in serialized["pages"] for item in page["layout"]]
    assert len(widgets) >= 10
    for widget in widgets:
        for query in widget["queries"]:
            assert query["query"]["datasetName"] in names, widget["name"]


@by_env
def test_analysts_may_run_the_dashboard_and_only_engineers_manage_it_outside_prod(
    synth: Synth, env: str
):
    (name,) = synth.resources(env, "workspace", "databricks_dashboard")
    permissions = [
        p
        for p in synth.resources(env, "workspace", "databricks_permissions").values()
        if p.get("dashboard_id") == f"${{databricks_dashboard.{name}.id}}"
    ]
    (acl,) = permissions
    levels = {a["group_name"]: a["permission_level"] for a in acl["access_control"]}
    engineers = "CAN_RUN" if env == "prod" else "CAN_MANAGE"
    assert levels == {f"c2c-{env}-analysts": "CAN_RUN", f"c2c-{env}-data-engineers": engineers}
