"""The Databricks side: the job calls entry points that exist, Unity Catalog, sizes, grants."""

from __future__ import annotations

import re
from importlib.metadata import distribution, version

import pytest

from c2c_etl.config import cloud_config
from c2c_etl.entrypoints import COMMON_PARAMETERS, JOB_TASKS
from c2c_etl.tables import LAYERS
from tests.infra.conftest import ENVS, Synth

by_env = pytest.mark.parametrize("env", ENVS)


def etl_job(synth: Synth, env: str) -> dict:
    jobs = synth.resources(env, "workspace", "databricks_job")
    assert len(jobs) == 1
    return next(iter(jobs.values()))


@by_env
def test_every_job_task_entry_point_exists_in_the_etl_package(synth: Synth, env: str) -> None:
    installed = {
        ep.name: ep.value
        for ep in distribution("c2c-etl").entry_points.select(group="console_scripts")
    }
    tasks = etl_job(synth, env)["task"]
    assert [t["python_wheel_task"]["entry_point"] for t in tasks] == [e.name for e in JOB_TASKS]
    for task in tasks:
        wheel_task = task["python_wheel_task"]
        assert wheel_task["package_name"] == "c2c_etl"
        assert wheel_task["entry_point"] in installed


@by_env
def test_job_tasks_pass_the_job_parameters(synth: Synth, env: str) -> None:
    job = etl_job(synth, env)
    declared = {p["name"]: p["default"] for p in job["parameter"]}
    assert declared["env"] == env
    assert declared["catalog"] == f"c2c_{env}"
    for task in job["task"]:
        arguments = task["python_wheel_task"]["parameters"]
        flags = arguments[0::2]
        assert flags == ["--env", "--input", "--catalog", "--run-id"]
        assert set(flags) <= set(COMMON_PARAMETERS)
        for value in arguments[1::2]:
            name = re.fullmatch(r"\{\{job\.parameters\.(\w+)\}\}", value)
            assert name and name.group(1) in declared
    # Tasks run in order, each after the previous one.
    assert [t.get("depends_on", [{}])[0].get("task_key") for t in job["task"]] == [
        None,
        "bronze",
        "silver",
    ]


@by_env
def test_job_cluster_is_pinned_and_sized_per_env(synth: Synth, env: str) -> None:
    from c2c_settings.config import get_config

    job = etl_job(synth, env)
    cluster = job["job_cluster"][0]["new_cluster"]
    assert cluster["spark_version"] == "17.3.x-scala2.13"
    assert cluster["num_workers"] == get_config(env).job_workers
    assert cluster["policy_id"] == "${databricks_cluster_policy.policy.id}"
    assert job["max_concurrent_runs"] == 1


def test_prod_runs_bigger_job_clusters_than_dev(synth: Synth) -> None:
    def workers(env: str) -> int:
        return int(etl_job(synth, env)["job_cluster"][0]["new_cluster"]["num_workers"])

    assert workers("prod") > workers("dev")


@by_env
def test_unity_catalog_layers(synth: Synth, env: str) -> None:
    catalogs = synth.resources(env, "workspace", "databricks_catalog")
    assert [c["name"] for c in catalogs.values()] == [f"c2c_{env}"]
    schemas = {s["name"] for s in synth.resources(env, "workspace", "databricks_schema").values()}
    assert set(LAYERS) <= schemas
    locations = synth.resources(env, "workspace", "databricks_external_location")
    urls = {loc["url"].split("@")[0].removeprefix("abfss://") for loc in locations.values()}
    assert set(LAYERS) <= urls
    credential = next(
        iter(synth.resources(env, "workspace", "databricks_storage_credential").values())
    )
    assert "access_connector_id" in credential["azure_managed_identity"]


@by_env
def test_the_dead_letter_path_the_etl_writes_is_a_volume_of_the_bronze_schema(
    synth: Synth, env: str
) -> None:
    path = cloud_config(env, "/Volumes/x/ops/landing").dead_letter_path("run-1")
    catalog, schema, volume = path.removeprefix("/Volumes/").split("/")[:3]
    volumes = synth.resources(env, "workspace", "databricks_volume").values()
    matching = [
        v
        for v in volumes
        if v["name"] == volume
        and f"schema-{schema}." in v["schema_name"]
        and v["volume_type"] == "MANAGED"
    ]
    assert len(matching) == 1
    assert catalog == f"c2c_{env}"


@by_env
def test_sql_warehouse_is_serverless_and_stops(synth: Synth, env: str) -> None:
    warehouses = synth.resources(env, "workspace", "databricks_sql_endpoint").values()
    (warehouse,) = warehouses
    assert warehouse["enable_serverless_compute"] is True
    assert 0 < warehouse["auto_stop_mins"] <= 30


@by_env
def test_data_factory_may_only_run_the_job(synth: Synth, env: str) -> None:
    permissions = synth.resources(env, "workspace", "databricks_permissions")
    job_acl = permissions["permissions-job"]["access_control"]
    factory = [a for a in job_acl if "service_principal_name" in a]
    assert [a["permission_level"] for a in factory] == ["CAN_MANAGE_RUN"]
    sp = synth.resources(env, "workspace", "databricks_service_principal")["factory-sp"]
    assert sp["allow_cluster_create"] is False
    assert (
        factory[0]["service_principal_name"]
        == "${databricks_service_principal.factory-sp.application_id}"
    )


@by_env
def test_job_tasks_install_the_wheel_the_release_passes(synth: Synth, env: str) -> None:
    """Every task installs the wheel named by the ``etl_wheel`` variable (``c2c-ops deploy``
    sets it per release), whose default is this checkout's version in the artifacts volume."""
    stack = synth.stack(env, "workspace")
    variable = stack["variable"]["etl_wheel"]
    assert variable["default"] == (
        f"/Volumes/c2c_{env}/ops/artifacts/c2c_etl-{version('c2c-etl')}-py3-none-any.whl"
    )
    for task in etl_job(synth, env)["task"]:
        assert task["library"] == [{"whl": "${var.etl_wheel}"}]
    assert stack["output"]["job_wheel"]["value"] == "${var.etl_wheel}"
