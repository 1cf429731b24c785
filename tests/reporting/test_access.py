"""The factory's identity made a Contributor of the Fabric workspace, at the HTTP transport: the
Power BI REST calls it makes (the ``http`` it is given records them and answers as Power BI's
``groups/{id}/users`` does). Nothing leaves the machine."""

from __future__ import annotations

from typing import Any

import pytest

from c2c_reporting import access, fabric
from c2c_reporting.refresh import POWER_BI_API, POWER_BI_SCOPE, RefreshError
from tests.reporting.test_refresh import Credential, Response

WORKSPACE = "00000000-0000-0000-0000-0000000000c2"
FACTORY = "0bec7000-0000-0000-0000-00000000adf1"
USERS = f"{POWER_BI_API}/groups/{WORKSPACE}/users"
GRANT = {"identifier": FACTORY, "groupUserAccessRight": "Contributor", "principalType": "App"}


class Users:
    """A workspace's access list."""

    def __init__(self, users: list[dict[str, str]], refuse: str = "") -> None:
        self.users = users
        self.refuse = refuse
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, method: str, url: str, headers: dict, json: Any, timeout: int) -> Response:
        assert url == USERS and headers == {"Authorization": "Bearer sp-token"}
        self.calls.append((method, json))
        if method == self.refuse:
            return Response(401, {"error": {"code": "PowerBINotAuthorizedException"}})
        return Response(200, {"value": self.users} if method == "GET" else {})


def app(identifier: str, role: str) -> dict[str, str]:
    return {"identifier": identifier, "principalType": "App", "groupUserAccessRight": role}


def test_a_factory_not_in_the_workspace_is_added_as_contributor() -> None:
    http, credential = Users([app("someone-else", "Admin")]), Credential()
    said = access.grant_refresher(WORKSPACE, FACTORY, credential, http)
    assert http.calls == [("GET", None), ("POST", GRANT)]
    assert credential.scopes == [POWER_BI_SCOPE]
    assert "added" in said


def test_a_viewer_is_raised_to_contributor() -> None:
    http = Users([app(FACTORY, "Viewer")])
    access.grant_refresher(WORKSPACE, FACTORY, Credential(), http)
    assert http.calls == [("GET", None), ("PUT", GRANT)]


@pytest.mark.parametrize("role", ["Contributor", "Member", "Admin"])
def test_a_role_that_may_refresh_is_never_lowered(role: str) -> None:
    # Power BI may list an app by its Graph object id only.
    http = Users([{"identifier": "x", "graphId": FACTORY, "principalType": "App",
                   "groupUserAccessRight": role}])  # fmt: skip
    said = access.grant_refresher(WORKSPACE, FACTORY, Credential(), http)
    assert http.calls == [("GET", None)]
    assert role in said


def test_a_user_of_the_same_id_is_not_the_factory() -> None:
    http = Users(
        [{"identifier": FACTORY, "principalType": "User", "groupUserAccessRight": "Admin"}]
    )
    access.grant_refresher(WORKSPACE, FACTORY, Credential(), http)
    assert http.calls[-1] == ("POST", GRANT)


def test_a_deploy_identity_that_may_not_add_users_says_what_to_do() -> None:
    http = Users([], refuse="POST")
    with pytest.raises(RefreshError, match="Member or Admin"):
        access.grant_refresher(WORKSPACE, FACTORY, Credential(), http)


def test_the_fabric_deploy_grants_the_factory_after_publishing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--factory-principal-id`` (deploy.yml passes c2c-ops deploy's output) runs the grant
    with the deploy's own credential, after the publish."""
    done: list[str] = []
    credential = Credential()
    monkeypatch.setattr(fabric, "deploy_credential", lambda environ: credential)
    monkeypatch.setattr(fabric, "deploy", lambda env, ws, cred, **kw: done.append(f"publish {ws}"))
    monkeypatch.setattr(
        access,
        "grant_refresher",
        lambda ws, principal, cred: done.append(f"grant {principal} in {ws}") or "",
    )
    argv = ["--env", "dev", "--workspace-id", WORKSPACE]
    assert fabric.main([*argv, "--factory-principal-id", FACTORY]) == 0
    assert done == [f"publish {WORKSPACE}", f"grant {FACTORY} in {WORKSPACE}"]
    done.clear()
    assert fabric.main(argv) == 0
    assert done == [f"publish {WORKSPACE}"]
