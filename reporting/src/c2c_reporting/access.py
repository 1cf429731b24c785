"""Let the Data Factory's managed identity queue refreshes of the model: a Contributor of the
environment's Fabric workspace.

PL_Orchestrate lists the workspace's semantic models and queues a refresh as the factory's
identity; Power BI allows that to a Contributor (or higher) of the workspace. The deploy makes it
one through the Power BI REST API (``groups/{id}/users``), signed in as the deploy is, and only
ever raises a role: an identity already Contributor, Member or Admin is left as it is.

The tenant setting that lets service principals call the API at all is an administrator's
(docs/reporting.md, Fabric tenant prerequisites): no API grants it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from azure.core.credentials import TokenCredential

from c2c_reporting.refresh import POWER_BI_API, POWER_BI_SCOPE, TIMEOUT_SECONDS, RefreshError

# Workspace roles, weakest first.
ROLES = ("Viewer", "Contributor", "Member", "Admin")
NEEDED = "Contributor"


def grant_refresher(
    workspace_id: str,
    principal_id: str,
    credential: TokenCredential,
    http: Callable[..., Any] = requests.request,
) -> str:
    """Make the service principal (its object id) at least a Contributor of the workspace;
    returns what was done, in words."""
    token = credential.get_token(POWER_BI_SCOPE).token
    headers = {"Authorization": f"Bearer {token}"}
    users = f"{POWER_BI_API}/groups/{workspace_id}/users"

    def call(method: str, body: dict[str, Any] | None = None) -> Any:
        response = http(method, users, headers=headers, json=body, timeout=TIMEOUT_SECONDS)
        if response.status_code >= 300:
            raise RefreshError(
                f"{method} {users}: {response.status_code} {response.text[:500]} (adding the "
                "factory's identity to the workspace needs the deploy's identity to be a Member "
                "or Admin of it; or add the factory as a Contributor by hand)"
            )
        return response

    listed = call("GET").json().get("value", [])
    current = next(
        (
            u
            for u in listed
            if u.get("principalType") == "App"
            and principal_id in (u.get("identifier"), u.get("graphId"))
        ),
        None,
    )
    grant = {"identifier": principal_id, "groupUserAccessRight": NEEDED, "principalType": "App"}
    if current is None:
        call("POST", grant)
        return f"added {principal_id} to the workspace as {NEEDED}"
    role = str(current.get("groupUserAccessRight"))
    if role in ROLES and ROLES.index(role) >= ROLES.index(NEEDED):
        return f"{principal_id} already is {role} of the workspace"
    call("PUT", grant)
    return f"{principal_id} raised from {role} to {NEEDED}"
