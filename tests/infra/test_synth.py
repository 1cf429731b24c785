"""Synthesis itself: deterministic, a state container per environment and a key per stack, the
outputs exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from c2c_settings.config import get_config
from tests.infra.conftest import ENVS, STACKS, Synth, read_stacks

by_env = pytest.mark.parametrize("env", ENVS)


def test_every_environment_has_both_stacks(synth: Synth) -> None:
    assert set(synth.stacks) == {f"c2c-{env}-{stack}" for env in ENVS for stack in STACKS}


@pytest.mark.parametrize("env", ENVS)
def test_synth_is_deterministic_and_an_environment_alone_is_the_same(
    synth: Synth, infra: Any, tmp_path: Path, env: str
) -> None:
    infra.build_app([env], outdir=str(tmp_path), offline=True).synth()
    alone = read_stacks(tmp_path)
    assert set(alone) == {f"c2c-{env}-{stack}" for stack in STACKS}
    for name, stack in alone.items():
        first = (synth.outdir / "stacks" / name / "cdk.tf.json").read_bytes()
        assert (tmp_path / "stacks" / name / "cdk.tf.json").read_bytes() == first, name
        assert stack == synth.stacks[name]


def test_each_environment_keeps_its_state_in_a_container_of_its_own(
    infra: Any, tmp_path: Path
) -> None:
    """A container per environment, so each environment's deploying identity can be given its
    own state and nothing else (a role on the container); a key per stack inside it."""
    infra.build_app(ENVS, outdir=str(tmp_path), offline=False).synth()
    stacks = read_stacks(tmp_path)
    containers: dict[str, set[str]] = {}
    for name, stack in stacks.items():
        backend = stack["terraform"]["backend"]["azurerm"]
        assert backend["use_azuread_auth"] is True
        env, kind = name.removeprefix("c2c-").split("-")
        assert backend["container_name"] == f"tfstate-{env}"
        assert backend["container_name"] == get_config(env).state.container_name(env)
        assert backend["key"] == f"c2c/{env}/{kind}.tfstate"
        containers.setdefault(backend["container_name"], set()).add(backend["key"])
    assert len(containers) == len(ENVS)
    assert all(len(keys) == len(STACKS) for keys in containers.values())


@by_env
def test_offline_synth_uses_a_local_backend(synth: Synth, env: str) -> None:
    for stack in STACKS:
        assert set(synth.stack(env, stack)["terraform"]["backend"]) == {"local"}


@by_env
def test_outputs_for_data_factory_and_runbooks(synth: Synth, env: str) -> None:
    platform = synth.stack(env, "platform")["output"]
    workspace = synth.stack(env, "workspace")["output"]
    assert {"workspace_url", "storage_account_name", "data_factory_name"} <= set(platform)
    assert "job_id" in workspace
    assert workspace["job_id"]["value"] == "${databricks_job.etl-job.id}"


def test_names_are_unique_per_environment(synth: Synth) -> None:
    names = [
        synth.resources(env, "platform", "azurerm_storage_account")["lake"]["name"] for env in ENVS
    ]
    assert len(set(names)) == len(ENVS)
    assert all(len(n) <= 24 and n.isalnum() and n.islower() for n in names)
