"""Who may do what inside each workspace: the job's run identity, the groups of each
environment, the release's sole write on the wheels, prod's read-only engineers."""

from __future__ import annotations

from collections import defaultdict

import pytest

from c2c_etl.tables import LAYERS
from tests.infra.conftest import ENVS, Synth

by_env = pytest.mark.parametrize("env", ENVS)
RUNNER = "${databricks_service_principal.runner-sp.application_id}"
FACTORY = "${databricks_service_principal.factory-sp.application_id}"
# Privileges that change stored data or files.
WRITES = {
    "MODIFY",
    "CREATE_TABLE",
    "WRITE_VOLUME",
    "WRITE_FILES",
    "CREATE_VOLUME",
    "ALL_PRIVILEGES",
}


def groups(env: str) -> tuple[str, str]:
    return f"c2c-{env}-data-engineers", f"c2c-{env}-analysts"


def privileges(synth: Synth, env: str) -> dict[str, dict[str, set[str]]]:
    """Every grant of the stack: construct id -> principal -> privileges."""
    found: dict[str, dict[str, set[str]]] = {}
    for rid, grants in synth.resources(env, "workspace", "databricks_grants").items():
        by_principal: dict[str, set[str]] = defaultdict(set)
        for g in grants["grant"]:
            by_principal[g["principal"]] |= set(g["privileges"])
        found[rid] = dict(by_principal)
    return found


def acl(synth: Synth, env: str, rid: str) -> dict[str, str]:
    permissions = synth.resources(env, "workspace", "databricks_permissions")[rid]
    return {
        a.get("group_name") or a["service_principal_name"]: a["permission_level"]
        for a in permissions["access_control"]
    }


@by_env
def test_the_job_runs_as_its_own_service_principal(synth: Synth, env: str) -> None:
    (job,) = synth.resources(env, "workspace", "databricks_job").values()
    assert job["run_as"] == {"service_principal_name": RUNNER}
    runner = synth.resources(env, "workspace", "databricks_service_principal")["runner-sp"]
    assert runner["display_name"] == f"c2c-{env}-etl-runner"
    assert "application_id" not in runner, "a Databricks-managed principal, no Entra secret"
    assert runner["allow_cluster_create"] is False
    assert runner["workspace_access"] is False


@by_env
def test_job_clusters_run_in_a_unity_catalog_dedicated_access_mode(synth: Synth, env: str) -> None:
    """Dedicated (single user) mode: the cluster runs as the job's run identity, so Unity
    Catalog applies that identity's grants; the policy pins the mode."""
    (job,) = synth.resources(env, "workspace", "databricks_job").values()
    for cluster in job["job_cluster"]:
        assert cluster["new_cluster"]["data_security_mode"] == "SINGLE_USER"
        assert "single_user_name" not in cluster["new_cluster"]
    (policy,) = synth.resources(env, "workspace", "databricks_cluster_policy").values()
    assert '"data_security_mode": {"type": "fixed", "value": "SINGLE_USER"}' in policy["definition"]


@by_env
def test_the_run_identity_has_what_the_tasks_use(synth: Synth, env: str) -> None:
    grants = privileges(synth, env)
    assert grants["grants-catalog"][RUNNER] == {"USE_CATALOG"}
    assert grants["grants-schema-ops"][RUNNER] == {"USE_SCHEMA", "READ_VOLUME"}
    for layer in LAYERS:
        expected = {"USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE"}
        if layer == "bronze":  # the dead-letter volume
            expected |= {"READ_VOLUME", "WRITE_VOLUME"}
        assert grants[f"grants-schema-{layer}"][RUNNER] == expected, layer
    assert acl(synth, env, "permissions-policy")[RUNNER] == "CAN_USE"


@by_env
def test_data_factory_may_see_whether_gold_exists_and_read_nothing(synth: Synth, env: str) -> None:
    """The factory's identity checks in Unity Catalog that gold's first view exists before the
    Power BI refresh: BROWSE on the catalog (metadata), and no privilege that reads or writes
    data anywhere."""
    grants = privileges(synth, env)
    assert grants["grants-catalog"][FACTORY] == {"BROWSE"}
    held = {rid: granted for rid, g in grants.items() for p, granted in g.items() if p == FACTORY}
    assert held == {"grants-catalog": {"BROWSE"}}


@by_env
def test_only_a_release_can_replace_the_wheel(synth: Synth, env: str) -> None:
    """The artifacts volume and its location: nobody is granted a write, so only the deploying
    identity, which owns them, can put a wheel there."""
    grants = privileges(synth, env)
    for principal, granted in grants["grants-schema-ops"].items():
        assert not granted & WRITES, principal
    for principal, granted in grants["grants-location-artifacts"].items():
        assert granted == {"READ_FILES"}, principal
    volume_grants = [
        g for g in synth.resources(env, "workspace", "databricks_grants").values() if "volume" in g
    ]
    assert volume_grants == []


@by_env
def test_landing_is_read_only_inside_databricks(synth: Synth, env: str) -> None:
    location = synth.resources(env, "workspace", "databricks_external_location")["location-landing"]
    assert location["read_only"] is True
    others = synth.resources(env, "workspace", "databricks_external_location")
    assert [rid for rid, loc in others.items() if loc.get("read_only")] == ["location-landing"]
    for principal, granted in privileges(synth, env)["grants-location-landing"].items():
        assert granted == {"READ_FILES"}, principal


@by_env
def test_the_catalog_root_is_a_container_of_its_own(synth: Synth, env: str) -> None:
    (catalog,) = synth.resources(env, "workspace", "databricks_catalog").values()
    assert catalog["storage_root"].startswith("abfss://catalog@")
    assert catalog["storage_root"].endswith(".dfs.core.windows.net/")
    assert "grants-location-catalog" not in privileges(synth, env)


@by_env
def test_groups_are_per_environment(synth: Synth, env: str) -> None:
    principals = {p for grants in privileges(synth, env).values() for p in grants}
    named = {p for p in principals if not p.startswith("${")}
    assert named == set(groups(env))


@by_env
def test_engineers_build_in_dev_and_test_and_only_read_in_prod(synth: Synth, env: str) -> None:
    engineers, analysts = groups(env)
    grants = privileges(synth, env)
    writes = {rid: g[engineers] & WRITES for rid, g in grants.items() if engineers in g}
    if env == "prod":
        assert all(not w for w in writes.values()), writes
        assert "grants-credential" not in grants
        assert acl(synth, env, "permissions-job")[engineers] == "CAN_VIEW"
        assert acl(synth, env, "permissions-warehouse")[engineers] == "CAN_USE"
        assert engineers not in acl(synth, env, "permissions-policy")
    else:
        for layer in LAYERS:
            assert {"MODIFY", "CREATE_TABLE"} <= writes[f"grants-schema-{layer}"], layer
        assert grants["grants-credential"][engineers] == {"CREATE_EXTERNAL_LOCATION"}
        assert acl(synth, env, "permissions-job")[engineers] == "CAN_MANAGE_RUN"
        assert acl(synth, env, "permissions-warehouse")[engineers] == "CAN_MANAGE"
        assert acl(synth, env, "permissions-policy")[engineers] == "CAN_USE"
    # Analysts read gold only, everywhere.
    assert {rid for rid, g in grants.items() if analysts in g} == {
        "grants-catalog",
        "grants-schema-gold",
    }
    assert grants["grants-schema-gold"][analysts] == {"USE_SCHEMA", "SELECT"}
    assert acl(synth, env, "permissions-warehouse")[analysts] == "CAN_USE"


def test_in_prod_only_the_run_identity_is_granted_a_write(synth: Synth) -> None:
    """The deploying identity owns what it creates; every write granted in prod is the job's."""
    writers = {
        principal
        for grants in privileges(synth, "prod").values()
        for principal, granted in grants.items()
        if granted & WRITES
    }
    assert writers == {RUNNER}
    levels = {
        principal: level
        for rid in ("permissions-job", "permissions-warehouse", "permissions-dashboard")
        for principal, level in acl(synth, "prod", rid).items()
    }
    managers = {p for p, level in levels.items() if level in ("CAN_MANAGE", "CAN_MANAGE_RUN")}
    assert managers == {FACTORY}, "Data Factory may start runs; nobody else manages in prod"


@by_env
def test_a_plan_looks_up_the_metastore_and_the_groups_first(synth: Synth, env: str) -> None:
    """The metastore assignment and the account groups are set up once by an account admin: the
    stack reads them, so a plan without them fails naming what is missing."""
    data = synth.stack(env, "workspace")["data"]
    assert list(data["databricks_current_metastore"]) == ["metastore"]
    looked_up = {g["display_name"] for g in data["databricks_group"].values()}
    assert looked_up == set(groups(env))
    (credential,) = synth.resources(env, "workspace", "databricks_storage_credential").values()
    assert "data.databricks_current_metastore.metastore" in credential["depends_on"]
    catalog_grants = synth.resources(env, "workspace", "databricks_grants")["grants-catalog"]
    assert sorted(catalog_grants["depends_on"]) == sorted(
        f"data.databricks_group.{rid}" for rid in data["databricks_group"]
    )
