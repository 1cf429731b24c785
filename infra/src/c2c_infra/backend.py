"""Terraform state: a container per environment, a key per stack, or a local file offline."""

from __future__ import annotations

from cdktn import AzurermBackend, LocalBackend, TerraformStack

from c2c_settings.config import EnvConfig


def state_key(cfg: EnvConfig, stack_name: str) -> str:
    """The blob holding one stack's state, e.g. ``c2c/dev/platform.tfstate``."""
    return f"c2c/{cfg.env}/{stack_name}.tfstate"


def configure_backend(
    stack: TerraformStack, cfg: EnvConfig, stack_name: str, offline: bool
) -> None:
    """Attach the remote state backend, or a local one for offline synthesis.

    The remote backend authenticates with Entra ID (``use_azuread_auth``): the state account has
    shared keys disabled like every other account here.
    """
    if offline:
        LocalBackend(stack, path=f"state/{state_key(cfg, stack_name)}")
        return
    AzurermBackend(
        stack,
        resource_group_name=cfg.state.resource_group_name,
        storage_account_name=cfg.state.storage_account_name,
        container_name=cfg.state.container_name(cfg.env),
        key=state_key(cfg, stack_name),
        use_azuread_auth=True,
    )
