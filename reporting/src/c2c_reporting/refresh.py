"""Refresh the Power BI semantic model from gold, as a service principal, never before gold exists.

The Import model holds a copy of gold's aggregates, so it shows what gold held at its last
refresh. ``python -m c2c_reporting.refresh --env <env> --workspace-id <guid> --connection-id
<guid> --workspace-url <databricks url>`` brings it up to date, through the Power BI REST API
(``api.powerbi.com/v1.0/myorg``), signed in as the deploy is (:func:`fabric.deploy_credential`):

1. the model is found by name (``C2CUsers``) in the Fabric workspace;
2. ``Default.TakeOver``: the signed-in service principal becomes the model's owner, so refreshes
   run as it and not as whoever published or last edited the model;
3. ``Default.BindToGateway``: the model's Databricks source is bound to the shareable cloud
   connection an administrator created once, authenticating to the SQL warehouse as a service
   principal (no personal OAuth, nothing entered by hand at each refresh);
4. ``refreshes``: an asynchronous refresh is queued.

Nothing is sent while gold has never been built (the model's first source view,
``c2c_<env>.gold.bi_user_segments``, does not exist yet): a refresh then would fail, and the
deploy publishes the model before the first pipeline run.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from azure.core.credentials import TokenCredential

from c2c_etl.tables import GOLD
from c2c_reporting.fabric import ENVIRONMENTS, DeployConfigError, deploy_credential
from c2c_reporting.powerbi import PROJECT
from c2c_settings.config import get_config

POWER_BI_API = "https://api.powerbi.com/v1.0/myorg"
POWER_BI_SCOPE = "https://analysis.windows.net/powerbi/api/.default"
# The view whose existence says gold has been built at least once.
FIRST_VIEW = "bi_user_segments"
TIMEOUT_SECONDS = 20

log = logging.getLogger("c2c_reporting.refresh")


class RefreshError(RuntimeError):
    """Power BI refused a call, or the model is not in the workspace."""


@dataclass(frozen=True)
class Target:
    """The model to refresh and the connection its source binds to."""

    workspace_id: str
    connection_id: str
    gateway_id: str
    model_name: str = PROJECT


def gold_view(env: str) -> str:
    """Gold's first view in the environment's catalog (named once, in c2c_settings)."""
    return f"{get_config(env).catalog}.{GOLD}.{FIRST_VIEW}"


def refresh(
    target: Target,
    credential: TokenCredential,
    gold_built: Callable[[], bool],
    http: Callable[..., Any] = requests.request,
) -> str | None:
    """Take over, bind and refresh the model; returns the model id, or None (and sends
    nothing) while gold has never been built."""
    if not gold_built():
        log.info("gold has not been built yet: the model is not refreshed")
        return None
    token = credential.get_token(POWER_BI_SCOPE).token
    headers = {"Authorization": f"Bearer {token}"}
    group = f"{POWER_BI_API}/groups/{target.workspace_id}"

    def call(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        response = http(method, url, headers=headers, json=body, timeout=TIMEOUT_SECONDS)
        if response.status_code >= 300:
            raise RefreshError(f"{method} {url}: {response.status_code} {response.text[:500]}")
        return response

    models = call("GET", f"{group}/datasets").json()["value"]
    ids = [m["id"] for m in models if m["name"] == target.model_name]
    if len(ids) != 1:
        raise RefreshError(f"{len(ids)} models named {target.model_name} in the workspace")
    model = f"{group}/datasets/{ids[0]}"
    call("POST", f"{model}/Default.TakeOver")
    call(
        "POST",
        f"{model}/Default.BindToGateway",
        {"gatewayObjectId": target.gateway_id, "datasourceObjectIds": [target.connection_id]},
    )
    call("POST", f"{model}/refreshes", {"notifyOption": "NoNotification"})
    log.info("refresh of %s (%s) queued", target.model_name, ids[0])
    return str(ids[0])


def databricks_view_exists(workspace_url: str, credential: TokenCredential, name: str) -> bool:
    """Whether a Unity Catalog table or view exists, asked through the Databricks SDK, signed in
    as ``c2c-ops`` signs in (``c2c_settings.signin``)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    from c2c_settings.signin import databricks_strategy

    strategy = databricks_strategy(credential, None)
    client = WorkspaceClient(
        config=Config(host=workspace_url, credentials_strategy=strategy, retry_timeout_seconds=120)
    )
    return bool(client.tables.exists(name).table_exists)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refresh the Power BI semantic model from gold")
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--workspace-id", required=True, help="Fabric workspace id (a GUID)")
    parser.add_argument(
        "--connection-id",
        required=True,
        help="the shareable cloud connection to the SQL warehouse (service principal)",
    )
    parser.add_argument(
        "--gateway-id",
        required=True,
        help="the gateway cluster id Power BI lists for that connection",
    )
    parser.add_argument("--workspace-url", required=True, help="the Databricks workspace URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        credential = deploy_credential(os.environ)
    except DeployConfigError as exc:
        parser.error(str(exc))
    target = Target(args.workspace_id, args.connection_id, args.gateway_id)
    refresh(
        target,
        credential,
        lambda: databricks_view_exists(args.workspace_url, credential, gold_view(args.env)),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
