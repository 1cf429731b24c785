"""Fixtures of the tests beyond one process: Delta's jars for spark-submit."""

from __future__ import annotations

import pytest

from c2c_etl.spark import cached_delta_jars


@pytest.fixture(scope="module")
def delta_jars(spark) -> list[str]:
    """The cached Delta jars (the session fixture resolves them on a first run)."""
    jars = cached_delta_jars()
    assert jars, "Delta's jars are not cached although the test session started"
    return jars
