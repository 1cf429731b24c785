"""The fabric-cicd deployment, up to the first call to Fabric (which this machine cannot reach):
settings validated, the project's items found by fabric-cicd itself, the connection replaced per
environment by fabric-cicd's own parameterization, and publish called with that workspace."""

from __future__ import annotations

import fabric_cicd
import pytest
from azure.core.credentials import AccessToken

from c2c_reporting import fabric
from c2c_reporting.tmdl import parse

WORKSPACE = "00000000-0000-0000-0000-0000000000c2"
HOST = "adb-1234567890123456.7.azuredatabricks.net"
HTTP_PATH = "/sql/1.0/warehouses/0123456789abcdef"


class StubCredential:
    """A TokenCredential that never leaves the machine."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("stub", 4102444800)


@pytest.fixture
def connection(monkeypatch):
    monkeypatch.setenv(fabric.HOST_VAR, HOST)
    monkeypatch.setenv(fabric.HTTP_PATH_VAR, HTTP_PATH)


@pytest.mark.parametrize(
    ("host", "path", "message"),
    [
        ("", HTTP_PATH, "C2C_DATABRICKS_HOST"),
        ("myhost.example.com", HTTP_PATH, "C2C_DATABRICKS_HOST"),
        (HOST, "", "C2C_WAREHOUSE_HTTP_PATH"),
        (HOST, "/sql/protocolv1/o/1/2", "C2C_WAREHOUSE_HTTP_PATH"),
    ],
)
def test_missing_or_malformed_connection_settings_stop_before_any_call(
    monkeypatch, host, path, message
):
    calls = []
    monkeypatch.setattr(fabric_cicd, "publish_all_items", lambda ws: calls.append(ws))
    with pytest.raises(fabric.DeployConfigError, match=message):
        fabric.deploy(
            "dev",
            WORKSPACE,
            StubCredential(),
            environ={fabric.HOST_VAR: host, fabric.HTTP_PATH_VAR: path},
        )
    assert calls == []


def test_the_workspace_url_form_of_the_host_is_accepted():
    settings = fabric.connection_settings(
        {fabric.HOST_VAR: f"https://{HOST}/", fabric.HTTP_PATH_VAR: HTTP_PATH}
    )
    assert settings[fabric.HOST_VAR] == HOST


def test_fabric_cicd_finds_the_semantic_model_and_the_report(connection):
    workspace = fabric.build_workspace("dev", WORKSPACE, StubCredential())
    workspace._refresh_repository_items()  # fabric-cicd's own scan of the .platform files
    assert {t: sorted(items) for t, items in workspace.repository_items.items()} == {
        "SemanticModel": ["C2CUsers"],
        "Report": ["C2CUsers"],
    }


@pytest.mark.parametrize("env", fabric.ENVIRONMENTS)
def test_parameter_yml_points_the_model_at_the_environments_warehouse_and_catalog(connection, env):
    workspace = fabric.build_workspace(env, WORKSPACE, StubCredential())
    workspace._refresh_repository_items()
    model = workspace.repository_items["SemanticModel"]["C2CUsers"]
    (file,) = [f for f in model.item_files if f.name == "expressions.tmdl"]
    deployed = workspace._replace_parameters(file, model)
    values = {n.name: n.value.split(" meta ")[0] for n in parse(deployed)}
    assert values == {
        "Host": f'"{HOST}"',
        "HttpPath": f'"{HTTP_PATH}"',
        "CatalogName": f'"c2c_{env}"',
    }
    assert "0000000000000000" not in deployed


def test_deploy_publishes_model_and_report_and_prunes_only_when_asked(monkeypatch, connection):
    published, pruned = [], []
    monkeypatch.setattr(fabric_cicd, "publish_all_items", lambda ws: published.append(ws))
    monkeypatch.setattr(fabric_cicd, "unpublish_all_orphan_items", lambda ws: pruned.append(ws))
    workspace = fabric.deploy("test", WORKSPACE, StubCredential())
    assert published == [workspace] and pruned == []
    assert workspace.environment == "test"
    assert workspace.workspace_id == WORKSPACE
    assert sorted(workspace.item_type_in_scope) == ["Report", "SemanticModel"]
    fabric.deploy("test", WORKSPACE, StubCredential(), unpublish_orphans=True)
    assert len(published) == 2 and len(pruned) == 1


def test_an_unknown_environment_is_refused(connection):
    with pytest.raises(fabric.DeployConfigError, match="qa"):
        fabric.build_workspace("qa", WORKSPACE, StubCredential())
