"""The semantic model's refresh, at its HTTP transport: the Power BI REST calls it makes (the
``http`` it is given records them and answers as Power BI does), and that it sends nothing
while gold has never been built."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AccessToken

from c2c_reporting import refresh
from tests.scripts.fake_databricks import FakeDatabricks, Reply, StubCredential

TARGET = refresh.Target(
    workspace_id="00000000-0000-0000-0000-0000000000c2",
    connection_id="00000000-0000-0000-0000-0000000c0111",
    gateway_id="00000000-0000-0000-0000-00000000ca7e",
)
MODEL_ID = "5eed0000-0000-0000-0000-000000000001"


class Credential:
    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken("sp-token", 4102444800)


class Response:
    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self._body = body or {}
        self.text = str(self._body)

    def json(self) -> Any:
        return self._body


class PowerBI:
    """The few Power BI REST endpoints a refresh uses, for one workspace."""

    def __init__(self, models: list[dict[str, str]], fail: str = "") -> None:
        self.models = models
        self.fail = fail
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, url: str, headers: dict, json: Any, timeout: int) -> Response:
        assert headers == {"Authorization": "Bearer sp-token"}
        path = url.removeprefix(f"{refresh.POWER_BI_API}/groups/{TARGET.workspace_id}")
        self.calls.append((method, path, json))
        if self.fail and path.endswith(self.fail):
            return Response(401, {"error": {"code": "Unauthorized"}})
        if method == "GET" and path == "/datasets":
            return Response(200, {"value": self.models})
        return Response(202 if path.endswith("/refreshes") else 200)


def test_nothing_is_sent_before_gold_has_been_built():
    http, credential = PowerBI([]), Credential()
    assert refresh.refresh(TARGET, credential, lambda: False, http) is None
    assert http.calls == []
    assert credential.scopes == []


def test_the_model_is_taken_over_bound_to_the_connection_and_refreshed_in_that_order():
    http, credential = (
        PowerBI([{"id": "other", "name": "Sales"}, {"id": MODEL_ID, "name": "C2CUsers"}]),
        Credential(),
    )
    assert refresh.refresh(TARGET, credential, lambda: True, http) == MODEL_ID
    model = f"/datasets/{MODEL_ID}"
    assert http.calls == [
        ("GET", "/datasets", None),
        ("POST", f"{model}/Default.TakeOver", None),
        (
            "POST",
            f"{model}/Default.BindToGateway",
            {"gatewayObjectId": TARGET.gateway_id, "datasourceObjectIds": [TARGET.connection_id]},
        ),
        ("POST", f"{model}/refreshes", {"notifyOption": "NoNotification"}),
    ]
    assert credential.scopes == [refresh.POWER_BI_SCOPE]


def test_a_missing_model_or_a_refused_call_stops_the_refresh():
    with pytest.raises(refresh.RefreshError, match="0 models named C2CUsers"):
        refresh.refresh(TARGET, Credential(), lambda: True, PowerBI([]))
    http = PowerBI([{"id": MODEL_ID, "name": "C2CUsers"}], fail="Default.BindToGateway")
    with pytest.raises(refresh.RefreshError, match="401"):
        refresh.refresh(TARGET, Credential(), lambda: True, http)
    assert not any(path.endswith("/refreshes") for _, path, _ in http.calls)


def test_gold_is_known_built_by_the_environments_first_view():
    assert refresh.gold_view("prod") == "c2c_prod.gold.bi_user_segments"


@pytest.mark.parametrize("exists", [True, False])
def test_gold_is_looked_up_in_unity_catalog_signed_in_with_the_deploy_credential(exists: bool):
    """The "has gold been built" check, through the Databricks SDK against a local server that
    answers Unity Catalog's table-exists call and refuses any other token."""
    view = refresh.gold_view("dev")
    with FakeDatabricks() as server:
        server.route(
            "GET",
            r"/api/2\.1/unity-catalog/tables/(?P<name>[^/]+)/exists",
            lambda request: Reply(200, {"table_exists": exists}),
        )
        assert refresh.databricks_view_exists(server.url, StubCredential(), view) is exists
        (call,) = server.calls_to("GET", r"/api/2\.1/unity-catalog/tables/.+/exists")
    assert view in call.path and call.status == 200
