"""How ``c2c-ops`` signs in: one azure-identity credential for every service, and in GitHub
Actions a federated credential that fetches a fresh OIDC token from the runner each time."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.identity import ClientAssertionCredential

from c2c_ops.context import ClientOptions, Ops
from c2c_settings.signin import (
    DATABRICKS_SCOPE,
    GITHUB_AUDIENCE,
    MANAGEMENT_SCOPE,
    fetch_github_oidc_token,
    github_oidc_credential,
)
from tests.adf_pipelines.fake_adf import TOKEN, StubCredential
from tests.scripts.fake_databricks import FakeDatabricks


@pytest.fixture
def github_token_endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for the runner's ACTIONS_ID_TOKEN_REQUEST_URL endpoint."""
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            requests.append(
                {"query": parse_qs(url.query), "auth": self.headers.get("Authorization")}
            )
            body = json.dumps({"value": f"github-oidc-jwt-{len(requests)}"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/token?api-version=2.0", requests
    finally:
        server.shutdown()
        server.server_close()


def test_each_assertion_is_a_fresh_token_from_the_runner_for_entra_id(
    github_token_endpoint: tuple[str, list[dict[str, Any]]],
) -> None:
    url, requests = github_token_endpoint
    first = fetch_github_oidc_token(url, "runner-request-token")
    second = fetch_github_oidc_token(url, "runner-request-token")
    assert (first, second) == ("github-oidc-jwt-1", "github-oidc-jwt-2")
    assert requests[0]["query"] == {"api-version": ["2.0"], "audience": [GITHUB_AUDIENCE]}
    assert requests[0]["auth"] == "Bearer runner-request-token"


def test_in_github_actions_the_credential_is_federated_not_the_cli_session() -> None:
    environ = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://runner.example/token?x=1",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
        "ARM_CLIENT_ID": "00000000-0000-0000-0000-0000000000c1",
        "ARM_TENANT_ID": "00000000-0000-0000-0000-0000000000t1",
    }
    assert isinstance(github_oidc_credential(environ), ClientAssertionCredential)
    # Without id-token: write (no request URL) or outside Actions: DefaultAzureCredential.
    assert github_oidc_credential({**environ, "ACTIONS_ID_TOKEN_REQUEST_URL": ""}) is None
    assert github_oidc_credential({}) is None


def test_databricks_calls_carry_an_entra_id_token_for_the_databricks_resource() -> None:
    credential = StubCredential()
    with FakeDatabricks(token=TOKEN) as fake:
        fake.route("GET", r"/api/2\.0/preview/scim/v2/Me", lambda _r: _me())
        ops = Ops("dev", workspace_url=fake.url, credential=credential, options=ClientOptions())
        assert ops.workspace.current_user.me().user_name == "ops@example.com"
    assert credential.scopes == [DATABRICKS_SCOPE]  # no personal access token anywhere


def test_with_the_subscription_databricks_calls_also_carry_the_management_token() -> None:
    """What lets a service principal that is not yet in the workspace in (Contributor on the
    workspace resource plus these two headers): checked here at the HTTP boundary; that Azure
    Databricks then admits it can only be seen against a real workspace."""
    credential = StubCredential()
    seen: list[dict[str, str]] = []

    def me(request: Any) -> Any:
        seen.append(request.headers)
        return _me()

    with FakeDatabricks(token=TOKEN) as fake:
        fake.route("GET", r"/api/2\.0/preview/scim/v2/Me", me)
        ops = Ops("dev", subscription_id="sub-1", workspace_url=fake.url,
                  credential=credential, options=ClientOptions())  # fmt: skip
        assert ops.workspace.current_user.me().user_name == "ops@example.com"
    assert credential.scopes == [DATABRICKS_SCOPE, MANAGEMENT_SCOPE]
    (headers,) = seen
    assert headers["x-databricks-azure-sp-management-token"] == TOKEN
    assert headers["x-databricks-azure-workspace-resource-id"] == (
        "/subscriptions/sub-1/resourceGroups/rg-c2c-dev-weu-k3d7"
        "/providers/Microsoft.Databricks/workspaces/dbw-c2c-dev-weu-k3d7"
    )


def _me() -> Any:
    from tests.scripts.fake_databricks import Reply

    return Reply(200, {"userName": "ops@example.com"})


def test_the_command_line_and_environment_configure_the_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from c2c_ops.cli import build_parser, ops_from_args

    monkeypatch.setenv("DATABRICKS_WAREHOUSE_ID", "wh-from-env")
    args = build_parser().parse_args(
        ["dq-report", "--env", "prod", "--subscription-id", "sub-1", "--workspace-url",
         "https://adb-1.azuredatabricks.net", "--retries", "7"]
    )  # fmt: skip
    ops = ops_from_args(args)
    assert (ops.env, ops.subscription_id, ops.workspace_url) == (
        "prod",
        "sub-1",
        "https://adb-1.azuredatabricks.net",
    )
    assert ops.warehouse_id == "wh-from-env" and ops.retries == 7
    assert ops.cfg.factory_name.startswith("adf-c2c-prod-")
