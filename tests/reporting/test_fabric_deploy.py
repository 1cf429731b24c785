"""The fabric-cicd deployment through fabric-cicd's public API only, tested at its HTTP transport:
``requests.request``, which fabric-cicd sends every Fabric REST call through, is replaced by a
small fake of the Fabric items API (list, create, delete) that records each call. Nothing leaves
the machine; what is checked is what Fabric would receive."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.identity import AzureCliCredential, ClientAssertionCredential

from c2c_reporting import fabric
from c2c_reporting.tmdl import parse

WORKSPACE = "00000000-0000-0000-0000-0000000000c2"
HOST = "adb-1234567890123456.7.azuredatabricks.net"
HTTP_PATH = "/sql/1.0/warehouses/0123456789abcdef"
# Items already in the workspace: another team's model and report, and an item of this project
# that the project no longer defines.
EXISTING = [
    {"id": "11111111-1111-1111-1111-111111111111", "type": "SemanticModel", "displayName": "Sales"},
    {"id": "22222222-2222-2222-2222-222222222222", "type": "Report", "displayName": "Sales"},
    {"id": "33333333-3333-3333-3333-333333333333", "type": "Report", "displayName": "C2CUsersOld"},
]


class StubCredential:
    """A TokenCredential that never leaves the machine."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("stub", 4102444800)


class Response:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.headers = {"Content-Type": "application/json; charset=utf-8"}
        self._body = body
        self.text = json.dumps(body)
        self.content = self.text.encode()

    def json(self) -> dict[str, Any]:
        return self._body


class FakeFabric:
    """The Fabric items API of one workspace, as far as a publish and a prune use it."""

    def __init__(self) -> None:
        self.items = [dict(i, description="") for i in EXISTING]
        self.calls: list[tuple[str, str, Any]] = []

    def request(self, method: str, url: str, json: Any = None, **kwargs: Any) -> Response:
        self.calls.append((method, url, json))
        path = url.split("/v1/workspaces/", 1)[1]
        if method == "GET" and path.endswith("/items"):
            return Response(200, {"value": self.items})
        if method == "GET":
            return Response(200, {"value": [], "id": WORKSPACE, "displayName": "c2c"})
        if method == "POST" and path.endswith("/items"):
            item = {"id": f"4444444{len(self.items)}-4444-4444-4444-444444444444", **json}
            self.items.append(item)
            return Response(201, item)
        if method == "DELETE":
            self.items = [i for i in self.items if not path.endswith(i["id"])]
        return Response(200, {})

    def created(self) -> dict[tuple[str, str], dict[str, str]]:
        """(type, name) -> {part path: decoded content} of every item created."""
        out = {}
        for method, url, body in self.calls:
            if method == "POST" and url.endswith("/items"):
                parts = {
                    p["path"]: base64.b64decode(p["payload"]).decode("utf-8")
                    for p in body["definition"]["parts"]
                }
                out[(body["type"], body["displayName"])] = parts
        return out

    def deleted(self) -> set[str]:
        return {url.rsplit("/", 1)[1] for method, url, _ in self.calls if method == "DELETE"}


@pytest.fixture
def fabric_api(monkeypatch) -> FakeFabric:
    fake = FakeFabric()
    monkeypatch.setattr(requests, "request", fake.request)
    return fake


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
    fabric_api, host, path, message
):
    with pytest.raises(fabric.DeployConfigError, match=message):
        fabric.deploy(
            "dev",
            WORKSPACE,
            StubCredential(),
            environ={fabric.HOST_VAR: host, fabric.HTTP_PATH_VAR: path},
        )
    assert fabric_api.calls == []


def test_the_workspace_url_form_of_the_host_is_accepted():
    settings = fabric.connection_settings(
        {fabric.HOST_VAR: f"https://{HOST}/", fabric.HTTP_PATH_VAR: HTTP_PATH}
    )
    assert settings[fabric.HOST_VAR] == HOST


@pytest.mark.parametrize("env", fabric.ENVIRONMENTS)
def test_the_published_model_reads_the_environments_warehouse_and_catalog(
    fabric_api, connection, env
):
    fabric.deploy(env, WORKSPACE, StubCredential())
    created = fabric_api.created()
    assert set(created) == {("SemanticModel", "C2CUsers"), ("Report", "C2CUsers")}
    model = created[("SemanticModel", "C2CUsers")]
    expressions = next(text for path, text in model.items() if path.endswith("expressions.tmdl"))
    values = {n.name: n.value.split(" meta ")[0] for n in parse(expressions)}
    assert values == {
        "Host": f'"{HOST}"',
        "HttpPath": f'"{HTTP_PATH}"',
        "CatalogName": f'"c2c_{env}"',
    }
    assert not any("0000000000000000" in text for text in model.values())
    # Every table of the model and every page of the report is sent.
    assert sum(p.endswith(".tmdl") and "/tables/" in p for p in model) == 9
    report = created[("Report", "C2CUsers")]
    assert sum(p.endswith("page.json") for p in report) == 6


def test_orphans_are_pruned_only_when_asked_and_only_this_projects(fabric_api, connection):
    fabric.deploy("test", WORKSPACE, StubCredential())
    assert fabric_api.deleted() == set()
    fabric.deploy("test", WORKSPACE, StubCredential(), unpublish_orphans=True)
    # The other team's model and report stay; the project's own orphan goes.
    assert fabric_api.deleted() == {"33333333-3333-3333-3333-333333333333"}


def test_an_unknown_environment_is_refused(fabric_api, connection):
    with pytest.raises(fabric.DeployConfigError, match="qa"):
        fabric.deploy("qa", WORKSPACE, StubCredential())
    assert fabric_api.calls == []


OIDC = {
    "GITHUB_ACTIONS": "true",
    "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/?x=1",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
    "ARM_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e",
    "ARM_TENANT_ID": "00000000-0000-0000-0000-00000000beef",
}


def test_in_github_actions_the_deploy_signs_in_with_the_jobs_oidc_identity():
    assert isinstance(fabric.deploy_credential(OIDC), ClientAssertionCredential)


def test_in_github_actions_without_oidc_it_refuses_instead_of_using_the_cli_session():
    environ = {k: v for k, v in OIDC.items() if not k.startswith("ACTIONS_ID_TOKEN")}
    with pytest.raises(fabric.DeployConfigError, match="id-token: write"):
        fabric.deploy_credential(environ)


def test_on_a_laptop_the_operator_signs_in_with_az_login():
    assert isinstance(fabric.deploy_credential({}), AzureCliCredential)
