"""How the platform's tools sign in to Azure and Databricks, shared by ``c2c-ops`` and the
reporting deploy: in GitHub Actions a federated credential that fetches a fresh OIDC token from
the runner whenever Entra ID needs one (no client secret), and for Databricks a credentials
strategy that sends azure-identity's token, with a management token where the workspace's
resource id is known. No personal access token exists anywhere.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from databricks.sdk.config import Config
    from databricks.sdk.credentials_provider import CredentialsProvider

# The Entra ID application of Azure Databricks: tokens for it sign in to any workspace.
DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"
# Azure Resource Manager, whose token admits a principal that is not yet in the workspace.
MANAGEMENT_SCOPE = "https://management.core.windows.net/.default"
SP_MANAGEMENT_TOKEN_HEADER = "X-Databricks-Azure-SP-Management-Token"
WORKSPACE_RESOURCE_ID_HEADER = "X-Databricks-Azure-Workspace-Resource-Id"
# The audience Entra ID expects of a federated (workload identity) token.
GITHUB_AUDIENCE = "api://AzureADTokenExchange"


def databricks_strategy(credential: TokenCredential, workspace_resource_id: str | None) -> Any:
    """A databricks-sdk credentials strategy that sends the azure-identity token as bearer, and
    with the workspace's resource id, a token for Azure Resource Manager as well.

    The second token is what lets a service principal that is not yet a member of the workspace
    in: Azure Databricks admits (as workspace admin) a principal with Contributor or Owner on
    the workspace resource when a request carries its management token in
    ``X-Databricks-Azure-SP-Management-Token`` and the workspace's resource id in
    ``X-Databricks-Azure-Workspace-Resource-Id``, as the SDKs' azure-cli and
    azure-client-secret sign-ins do (their GitHub OIDC sign-in does not).
    """
    from databricks.sdk.credentials_provider import CredentialsStrategy

    class AzureIdentityStrategy(CredentialsStrategy):
        def auth_type(self) -> str:
            return "azure-identity"

        def __call__(self, cfg: Config) -> CredentialsProvider:
            def headers() -> dict[str, str]:
                sent = {"Authorization": f"Bearer {credential.get_token(DATABRICKS_SCOPE).token}"}
                if workspace_resource_id:
                    management = credential.get_token(MANAGEMENT_SCOPE).token
                    sent[SP_MANAGEMENT_TOKEN_HEADER] = management
                    sent[WORKSPACE_RESOURCE_ID_HEADER] = workspace_resource_id
                return sent

            return headers

    return AzureIdentityStrategy()


def fetch_github_oidc_token(request_url: str, request_token: str) -> str:
    """A fresh GitHub Actions OIDC token for Entra ID's token exchange."""
    url = f"{request_url}&audience={quote(GITHUB_AUDIENCE, safe='')}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {request_token}"})
    # B310 (URL scheme) is waived: the URL is the runner's own token endpoint, always https.
    with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310  # see above
        return str(json.load(response)["value"])


def github_oidc_credential(environ: Mapping[str, str]) -> TokenCredential | None:
    """In a GitHub Actions job with ``id-token: write``: a federated credential that asks GitHub
    for a fresh OIDC token whenever Entra ID needs one (no client secret).

    ``azure/login`` gives the Azure CLI a session that cannot renew once GitHub's token
    expires (about 10 minutes), which a long deploy or a followed pipeline run outlasts.
    """
    request_url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    client_id = environ.get("AZURE_CLIENT_ID") or environ.get("ARM_CLIENT_ID")
    tenant_id = environ.get("AZURE_TENANT_ID") or environ.get("ARM_TENANT_ID")
    if not (request_url and request_token and client_id and tenant_id):
        return None
    from azure.identity import ClientAssertionCredential

    return ClientAssertionCredential(
        tenant_id, client_id, lambda: fetch_github_oidc_token(request_url, request_token)
    )
