"""The entry points Databricks calls exist, are importable and accept the shared parameters."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import pytest

from c2c_etl.entrypoints import COMMON_PARAMETERS, ENTRY_POINTS, JOB_TASKS
from c2c_etl.runner import build_parser


def test_package_metadata_declares_exactly_the_registry():
    declared = {
        ep.name: ep.value
        for ep in entry_points(group="console_scripts")
        # c2c-etl's own scripts: other workspace members (c2c-ops) declare theirs.
        if ep.dist is not None and ep.dist.name == "c2c-etl"
    }
    assert declared == {ep.name: ep.target for ep in ENTRY_POINTS}


@pytest.mark.parametrize("ep", ENTRY_POINTS, ids=lambda e: e.name)
def test_each_target_is_a_callable(ep):
    module, func = ep.target.split(":")
    assert callable(getattr(importlib.import_module(module), func))


def test_job_tasks_accept_the_common_parameters():
    parser = build_parser("x")
    options = {o for a in parser._actions for o in a.option_strings}
    assert set(COMMON_PARAMETERS) <= options
    for ep in JOB_TASKS:
        assert ep.parameters == COMMON_PARAMETERS
    args = parser.parse_args(
        ["--env", "dev", "--input", "/Volumes/c/landing/x", "--catalog", "c", "--run-id", "r1"]
    )
    assert (args.env, args.catalog, args.run_id) == ("dev", "c", "r1")
