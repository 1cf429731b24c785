"""The pipeline, declared once: its steps in order, with the tables each reads and writes.

The runner (c2c_etl.runner) runs these steps and nothing else, whichever entry point asked;
the Databricks job's tasks are slices of the same list (:data:`TASK_STEPS`). A test checks that
a run writes no table its step does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import SparkSession

from c2c_etl import tables as t
from c2c_etl.entrypoints import BRONZE, GOLD, PIPELINE, SILVER
from c2c_etl.jobs import bronze, gold, silver
from c2c_etl.jobs.common import RunContext, StepResult

StepFunction = Callable[[SparkSession, RunContext], StepResult]

BRONZE_TABLES = (
    t.BRONZE_USERS_2020,
    t.BRONZE_USERS_2024,
    t.BRONZE_REPORT_BUYERS,
    t.BRONZE_REPORT_SELLERS,
    t.BRONZE_REPORT_TOP_SELLERS,
)
SILVER_REPORTS = (
    t.SILVER_REPORT_BUYERS,
    t.SILVER_REPORT_SELLERS,
    t.SILVER_REPORT_SELLERS_TOTALS,
    t.SILVER_REPORT_TOP_SELLERS,
)
# Gold's views (t.VIEW_TABLES) are neither read nor written by a step: the gold step only
# (re)creates their definitions.
# A step accounts for what it consumed, file by file, in its result's records (bronze's
# ingestion log rows, the later steps' audit rows); the runner commits them to the ingestion log
# and the run audit (silver.run_audit), and the run's steps to silver.run_steps, itself: none of
# the three is among a step's writes.


@dataclass(frozen=True)
class Step:
    """One step: its name, the function that runs it and the tables it reads and writes."""

    name: str
    run: StepFunction
    reads: tuple[t.Table, ...]
    writes: tuple[t.Table, ...]


STEPS: tuple[Step, ...] = (
    Step(
        "bronze",
        bronze.run,
        reads=(t.INGESTION_LOG,),
        writes=BRONZE_TABLES,
    ),
    Step(
        "silver_users",
        silver.run_users,
        reads=(
            t.INGESTION_LOG,
            t.RUN_AUDIT,
            t.BRONZE_USERS_2020,
            t.BRONZE_USERS_2024,
            t.SILVER_USERS,
        ),
        writes=(
            t.SILVER_USERS,
            t.SILVER_QUARANTINE,
            t.SILVER_USERS_MERGE_SOURCE,
            t.SILVER_USERS_CHECKED,
        ),
    ),
    Step(
        "silver_reports",
        silver.run_reports,
        reads=(
            t.INGESTION_LOG,
            t.RUN_AUDIT,
            t.BRONZE_REPORT_BUYERS,
            t.BRONZE_REPORT_SELLERS,
            t.BRONZE_REPORT_TOP_SELLERS,
        ),
        writes=(*SILVER_REPORTS, t.SILVER_QUARANTINE),
    ),
    Step(
        "gold",
        gold.run,
        reads=(t.SILVER_USERS, *SILVER_REPORTS, t.RUN_AUDIT, *t.STORED_GOLD_TABLES),
        writes=t.STORED_GOLD_TABLES,
    ),
)
STEP_NAMES: tuple[str, ...] = tuple(s.name for s in STEPS)
STEPS_BY_NAME = {s.name: s for s in STEPS}

# The steps each entry point runs: the Databricks job's tasks are slices of the pipeline.
TASK_STEPS: dict[str, tuple[str, ...]] = {
    BRONZE.name: ("bronze",),
    SILVER.name: ("silver_users", "silver_reports"),
    GOLD.name: ("gold",),
    PIPELINE.name: STEP_NAMES,
}
