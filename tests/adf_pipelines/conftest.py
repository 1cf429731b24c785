"""The factory of every environment, built once per test session."""

from __future__ import annotations

from typing import Any

import pytest

from c2c_adf.artifacts import documents
from c2c_adf.config import ENVIRONMENTS, adf_config
from c2c_adf.factory import Factory, build_factory


@pytest.fixture(scope="session")
def factories() -> dict[str, Factory]:
    return {env: build_factory(adf_config(env)) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def docs(factories: dict[str, Factory]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Git-layout documents by environment, kind and name."""
    return {env: documents(factory) for env, factory in factories.items()}


def activities(pipeline: dict[str, Any]) -> list[dict[str, Any]]:
    """Every activity of a pipeline document, nested ones (ForEach, If, ...) included."""
    found: list[dict[str, Any]] = []
    for activity in pipeline["properties"]["activities"]:
        found.append(activity)
        props = activity.get("typeProperties", {})
        for key in ("activities", "ifTrueActivities", "ifFalseActivities"):
            inner = props.get(key, [])
            found.extend(activities({"properties": {"activities": inner}}))
    return found
