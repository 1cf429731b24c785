"""Deploy the Power BI project to a Microsoft Fabric workspace with ``fabric-cicd``.

``python -m c2c_reporting.fabric --env <dev|test|prod> --workspace-id <guid>`` publishes the
semantic model and the report of ``reporting/powerbi``. The connection is set per environment by
``reporting/powerbi/parameter.yml``: the catalog is ``c2c_<env>``, and the warehouse host and HTTP
path come from ``C2C_DATABRICKS_HOST`` and ``C2C_WAREHOUSE_HTTP_PATH`` (infra's workspace URL and
warehouse id), checked here before anything is sent.

Sign-in (:func:`deploy_credential`): in a GitHub Actions job, only the job's own OIDC token,
exchanged for an Entra ID token whenever one is needed (the identity the rest of the deploy
uses, ``c2c_settings.signin.github_oidc_credential``); never a fallback to whatever Azure CLI
session the runner has. On a laptop, the operator's ``az login``. No secret is read or stored.

``--unpublish-orphans`` removes only this project's own orphans (items named ``C2CUsers...``
that the project no longer defines), never the other models and reports of the workspace.

``--factory-principal-id <object id>`` then makes the Data Factory's managed identity a
Contributor of the workspace (:mod:`c2c_reporting.access`), so PL_Orchestrate may queue the
model's refresh after each run that built gold.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from azure.core.credentials import TokenCredential

from c2c_reporting.powerbi import POWERBI_DIR, PROJECT

ENVIRONMENTS = ("dev", "test", "prod")
ITEM_TYPES = ["SemanticModel", "Report"]
HOST_VAR, HTTP_PATH_VAR = "C2C_DATABRICKS_HOST", "C2C_WAREHOUSE_HTTP_PATH"
# fabric-cicd replaces $ENV:<name> tokens of parameter.yml only with this feature flag.
FEATURE_FLAGS = ("enable_environment_variable_replacement",)
_HOST = re.compile(r"^adb-\d+\.\d+\.azuredatabricks\.net$")
_HTTP_PATH = re.compile(r"^/sql/1\.0/warehouses/[0-9a-f]+$")
# fabric-cicd leaves alone the workspace items whose names match this: every item that is not
# this project's (its items' names start with the project's name).
OTHER_PROJECTS = rf"^(?!{re.escape(PROJECT)})"

log = logging.getLogger("c2c_reporting.fabric")


class DeployConfigError(ValueError):
    """The deployment is missing or has a malformed setting; nothing was sent."""


def connection_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The warehouse host and HTTP path from the environment, validated."""
    host = environ.get(HOST_VAR, "").strip().removeprefix("https://").rstrip("/")
    http_path = environ.get(HTTP_PATH_VAR, "").strip()
    if not _HOST.match(host):
        raise DeployConfigError(
            f"{HOST_VAR} must be adb-<id>.<n>.azuredatabricks.net, got {host!r}"
        )
    if not _HTTP_PATH.match(http_path):
        raise DeployConfigError(
            f"{HTTP_PATH_VAR} must be /sql/1.0/warehouses/<warehouse id>, got {http_path!r}"
        )
    return {HOST_VAR: host, HTTP_PATH_VAR: http_path}


def deploy_credential(environ: Mapping[str, str]) -> TokenCredential:
    """The identity the deploy signs in with: the GitHub job's federated identity in CI (and
    nothing else there), the operator's Azure CLI sign-in on a laptop."""
    from c2c_settings.signin import github_oidc_credential

    credential = github_oidc_credential(environ)
    if credential is not None:
        return credential
    if environ.get("GITHUB_ACTIONS") == "true":
        raise DeployConfigError(
            "in GitHub Actions the deploy signs in only with the job's OIDC token: give the job "
            "`id-token: write` and set AZURE_CLIENT_ID (or ARM_CLIENT_ID) and AZURE_TENANT_ID"
        )
    from azure.identity import AzureCliCredential

    return AzureCliCredential()


def build_workspace(
    env: str, workspace_id: str, credential: Any, repository: Path = POWERBI_DIR
) -> Any:
    """The ``fabric_cicd.FabricWorkspace`` for one environment (reads parameter.yml; no call)."""
    import fabric_cicd

    if env not in ENVIRONMENTS:
        raise DeployConfigError(f"unknown environment {env!r}; expected one of {ENVIRONMENTS}")
    for flag in FEATURE_FLAGS:
        fabric_cicd.append_feature_flag(flag)
    return fabric_cicd.FabricWorkspace(
        workspace_id=workspace_id,
        environment=env,
        repository_directory=str(repository),
        item_type_in_scope=ITEM_TYPES,
        token_credential=credential,
    )


def deploy(
    env: str,
    workspace_id: str,
    credential: Any,
    *,
    unpublish_orphans: bool = False,
    repository: Path = POWERBI_DIR,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """Publish the semantic model and the report; optionally remove items no longer defined."""
    import fabric_cicd

    settings = connection_settings(os.environ if environ is None else environ)
    os.environ.update(settings)  # read by fabric-cicd's $ENV: replacement in parameter.yml
    workspace = build_workspace(env, workspace_id, credential, repository)
    fabric_cicd.publish_all_items(workspace)
    if unpublish_orphans:
        fabric_cicd.unpublish_all_orphan_items(workspace, item_name_exclude_regex=OTHER_PROJECTS)
    return workspace


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Deploy the Power BI project with fabric-cicd")
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS)
    parser.add_argument("--workspace-id", required=True, help="Fabric workspace id (a GUID)")
    parser.add_argument("--repository", type=Path, default=POWERBI_DIR)
    parser.add_argument(
        "--unpublish-orphans",
        action="store_true",
        help=f"delete this project's items ({PROJECT}...) that it no longer defines",
    )
    parser.add_argument(
        "--factory-principal-id",
        help="object id of the Data Factory's managed identity: made a Contributor of the "
        "workspace, so the pipeline can queue the model's refresh",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        credential = deploy_credential(os.environ)
        deploy(
            args.env,
            args.workspace_id,
            credential,
            unpublish_orphans=args.unpublish_orphans,
            repository=args.repository,
        )
    except DeployConfigError as exc:
        parser.error(str(exc))
    if args.factory_principal_id:
        from c2c_reporting.access import grant_refresher

        log.info(grant_refresher(args.workspace_id, args.factory_principal_id, credential))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
