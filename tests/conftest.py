"""Shared fixtures: one local Spark session with Delta for the whole test run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "c2c-fashion-store"


@pytest.fixture(scope="session")
def spark() -> Iterator:
    from c2c_etl.spark import local_spark

    session = local_spark("c2c-etl-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "6M-0K-99K.users.dataset.public.csv").exists():
        pytest.skip(f"the real dataset is not at {REAL_DATA} (see README: 'The dataset')")
    return REAL_DATA
