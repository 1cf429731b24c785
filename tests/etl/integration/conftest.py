from __future__ import annotations

import shutil
from pathlib import Path

from c2c_etl import io, tables
from c2c_etl.config import local_config
from c2c_etl.jobs.common import RunContext, StepResult, new_run_id
from tests.etl import helpers

USERS_2020_FILE = "6M-0K-99K.users.dataset.public.csv"
USERS_2024_FILE = "users.6M0xxK.2024.public.csv"
REPORT_FILES = (
    "Buyers-repartition-by-country.csv",
    "Comparison-of-Sellers-by-Gender-and-Country.csv",
    "Countries-with-Top-Sellers-(Fashion-C2C).csv",
)


def land(source: Path, landing: Path, *names: str) -> None:
    """Deliver files into a landing folder, as Data Factory's copy would."""
    landing.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(source / name, landing / name)


def run_pipeline(spark, landing: Path, lake: Path) -> tuple[RunContext, list[StepResult]]:
    ctx = RunContext(local_config(landing, lake), new_run_id())
    return ctx, helpers.run_pipeline(spark, ctx)


def versions(spark, ctx: RunContext) -> dict[str, int | None]:
    return {str(t): io.version(spark, ctx.cfg, t) for t in tables.ALL_TABLES}
