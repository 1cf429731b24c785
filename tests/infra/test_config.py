"""Per-environment configuration: valid Azure names, frozen, the offline switch."""

from __future__ import annotations

import dataclasses
import re

import pytest

from c2c_settings.config import CONFIGS, ENVIRONMENTS, OFFLINE_ENV_VAR, get_config, offline_from_env
from tests.infra.conftest import ENVS


def test_there_is_one_config_per_environment() -> None:
    assert tuple(CONFIGS) == ENVIRONMENTS == ENVS


@pytest.mark.parametrize("env", ENVS)
def test_globally_unique_names_fit_azure_rules(env: str) -> None:
    cfg = get_config(env)
    assert re.fullmatch(r"[a-z0-9]{3,24}", cfg.storage_account_name)
    assert re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]", cfg.key_vault_name)
    assert cfg.name("adf").endswith(f"-{env}-{cfg.region_code}-{cfg.suffix}")
    assert cfg.tags["environment"] == env


def test_suffixes_differ_between_environments() -> None:
    assert len({cfg.suffix for cfg in CONFIGS.values()}) == len(CONFIGS)


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_config("dev").job_workers = 8  # type: ignore[misc]


def test_private_endpoints_only_in_prod() -> None:
    assert {env for env, cfg in CONFIGS.items() if cfg.private_endpoints} == {"prod"}


def test_unknown_environment_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown environment"):
        get_config("local")


@pytest.mark.parametrize(
    ("value", "offline"), [("1", True), ("true", True), ("", False), ("0", False)]
)
def test_offline_switch(monkeypatch: pytest.MonkeyPatch, value: str, offline: bool) -> None:
    monkeypatch.setenv(OFFLINE_ENV_VAR, value)
    assert offline_from_env() is offline
