"""The jobs' entry points, defined once.

Databricks ``python_wheel_task``s call these names (``infra/``), Data Factory passes these
parameters (``adf_pipelines/``); ``pyproject.toml``'s ``[project.scripts]`` must agree, which a
test checks against the installed package metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

# Parameters every job accepts (see c2c_etl.runner.build_parser).
COMMON_PARAMETERS = ("--env", "--input", "--lake", "--catalog", "--run-id")


@dataclass(frozen=True)
class EntryPoint:
    name: str
    target: str
    description: str
    parameters: tuple[str, ...] = COMMON_PARAMETERS


BRONZE = EntryPoint(
    "c2c-bronze", "c2c_etl.runner:bronze_main", "Ingest new landing files into bronze"
)
SILVER = EntryPoint(
    "c2c-silver", "c2c_etl.runner:silver_main", "Conform, check and merge into silver"
)
GOLD = EntryPoint("c2c-gold", "c2c_etl.runner:gold_main", "Rebuild gold tables from silver")
PIPELINE = EntryPoint(
    "c2c-pipeline", "c2c_etl.runner:pipeline_main", "Bronze, silver and gold in one Spark session"
)
GENERATE = EntryPoint(
    "c2c-generate",
    "c2c_etl.generator:main",
    "Write a synthetic source dataset",
    ("--output", "--users-2020", "--users-2024", "--seed", "--dirty-rate"),
)

ENTRY_POINTS: tuple[EntryPoint, ...] = (BRONZE, SILVER, GOLD, PIPELINE, GENERATE)
# The job tasks a Databricks workflow runs, in order.
JOB_TASKS: tuple[EntryPoint, ...] = (BRONZE, SILVER, GOLD)
ENTRY_POINTS_BY_NAME = {e.name: e for e in ENTRY_POINTS}
