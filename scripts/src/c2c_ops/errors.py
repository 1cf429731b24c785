"""Exit codes, and Azure and Databricks errors turned into messages an operator can act on.

Every command ends with one of the exit codes below, so a CI step or a scheduler can tell a
failed pipeline run (1) from a sign-in problem (5) or throttling that outlasted the retries (8).
"""

from __future__ import annotations

from enum import IntEnum

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from databricks.sdk import errors as dbx


class Exit(IntEnum):
    """The exit codes of ``c2c-ops`` (documented in docs/runbook.md)."""

    OK = 0
    FAILED = 1  # the pipeline run, a check or a data quality gate failed
    USAGE = 2  # wrong arguments (argparse's own code)
    CANCELLED = 3  # the pipeline run was cancelled
    TIMED_OUT = 4  # still running when --timeout ran out (the run goes on)
    AUTH = 5  # 401/403, or no credential could sign in
    NOT_FOUND = 6  # 404: factory, pipeline, run, job, secret, file...
    CONFLICT = 7  # 409: e.g. a different wheel is already published under that version
    THROTTLED = 8  # 429 after every retry (Retry-After was honoured)
    UNAVAILABLE = 9  # 5xx after every retry, or the service could not be reached
    REFUSED = 10  # a safety guard refused (VACUUM retention, rerun of a run that did not fail)
    BLOCKED = 11  # 403 from a firewall or network rule: the caller's network, not its identity


class OpsError(Exception):
    """An error with the exit code it maps to and a message meant for the operator."""

    def __init__(self, code: Exit, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_HINTS = {
    Exit.BLOCKED: "the service's firewall refused this machine's network address; signing in "
    "again will not help. Run the command from a network the firewall allows (the "
    "environment's VNet, a self-hosted agent in it, or an address added to the allowed list), "
    "see docs/runbook.md, 'Behind the firewalls'",
    Exit.AUTH: "sign in (az login, or azure/login with OIDC in CI) with an identity that has "
    "the role this command needs (see docs/runbook.md, 'Access')",
    Exit.NOT_FOUND: "check --env and the name or id; was the environment deployed?",
    Exit.CONFLICT: "the target already exists in another state; nothing was overwritten",
    Exit.THROTTLED: "the service kept throttling after the retries; run the command again later",
    Exit.UNAVAILABLE: "the service failed or could not be reached after the retries; "
    "the command is safe to run again",
}


def _code_for_status(status: int | None) -> Exit:
    if status in (401, 403):
        return Exit.AUTH
    if status == 404:
        return Exit.NOT_FOUND
    if status == 409:
        return Exit.CONFLICT
    if status == 429:
        return Exit.THROTTLED
    if status is not None and status >= 500:
        return Exit.UNAVAILABLE
    return Exit.FAILED


def _with_hint(code: Exit, text: str) -> OpsError:
    hint = _HINTS.get(code)
    return OpsError(code, f"{text}\n  -> {hint}" if hint else text)


# How each service says its firewall refused the caller (as opposed to a missing role):
# Storage answers AuthorizationFailure (a missing data role is AuthorizationPermissionMismatch),
# Key Vault ForbiddenByFirewall, Databricks names its IP access list or network access.
FIREWALL_CODES = ("AuthorizationFailure", "ForbiddenByFirewall")
FIREWALL_PHRASES = (
    "ForbiddenByFirewall",
    "Client address is not authorized",
    "IP ACL",
    "IP access list",
    "Unauthorized network access",
    "not authorized to perform this operation.",
)


def _firewall(status: int | None, *texts: object) -> bool:
    text = " ".join(str(t) for t in texts if t)
    return status == 403 and (
        any(code in text for code in FIREWALL_CODES)
        or any(phrase in text for phrase in FIREWALL_PHRASES)
    )


def _azure_error(exc: HttpResponseError) -> OpsError:
    status = exc.status_code
    error = getattr(exc, "error", None)
    code_name = getattr(error, "code", None) or getattr(exc, "error_code", None) or exc.reason or ""
    message = getattr(error, "message", None) or exc.message.splitlines()[0]
    code = _code_for_status(status)
    inner = getattr(error, "innererror", None) or getattr(error, "inner_error", None)
    if _firewall(status, code_name, message, inner, exc.message):
        label = f"{status} {code_name}".strip()
        return _with_hint(
            Exit.BLOCKED, f"blocked by the firewall of the Azure service ({label}): {message}"
        )
    if isinstance(exc, ClientAuthenticationError) and status is None:
        code = Exit.AUTH  # raised by azure-identity: no credential could get a token
    label = f"{status} {code_name}".strip() if status else code_name or "error"
    return _with_hint(code, f"Azure refused the request ({label}): {message}")


def _databricks_error(exc: dbx.DatabricksError) -> OpsError:
    status: int | None = None
    if isinstance(exc, dbx.Unauthenticated | dbx.PermissionDenied):
        status = 401
    elif isinstance(exc, dbx.NotFound):
        status = 404
    elif isinstance(exc, dbx.ResourceConflict | dbx.AlreadyExists):
        status = 409
    elif isinstance(exc, dbx.TooManyRequests):
        status = 429
    elif isinstance(exc, dbx.InternalError | dbx.TemporarilyUnavailable | dbx.DeadlineExceeded):
        status = 503
    code = _code_for_status(status)
    label = exc.error_code or type(exc).__name__
    if isinstance(exc, dbx.PermissionDenied) and _firewall(403, str(exc)):
        return _with_hint(
            Exit.BLOCKED, f"blocked by the Databricks workspace's network rules ({label}): {exc}"
        )
    return _with_hint(code, f"Databricks refused the request ({label}): {exc}")


def translate(exc: BaseException) -> OpsError | None:
    """The operator-facing error for an SDK exception, or None for a bug (let it raise)."""
    if isinstance(exc, OpsError):
        return exc
    if isinstance(exc, ResourceNotFoundError | ResourceExistsError | HttpResponseError):
        return _azure_error(exc)
    if isinstance(exc, ClientAuthenticationError):
        return _with_hint(Exit.AUTH, f"could not sign in to Azure: {exc.message.splitlines()[0]}")
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return _with_hint(Exit.UNAVAILABLE, f"could not reach Azure: {exc.message}")
    if isinstance(exc, dbx.DatabricksError):
        return _databricks_error(exc)
    if isinstance(exc, TimeoutError | RuntimeError) and isinstance(
        exc.__cause__, dbx.DatabricksError | OSError
    ):
        # databricks-sdk retries 429/503 (honouring Retry-After) and connection errors, then
        # gives up with a TimeoutError whose cause is the last error.
        cause = exc.__cause__
        if isinstance(cause, dbx.DatabricksError):
            last = _databricks_error(cause)
            return OpsError(last.code, f"{last.message}\n  (gave up retrying: {exc})")
        return _with_hint(Exit.UNAVAILABLE, f"could not reach Databricks: {cause}")
    return None
