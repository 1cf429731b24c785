"""The bad-input corpus through bronze and silver in one run, as the ``corpus_run`` fixture
(tests/conftest.py) builds it once per test session, with what each case's assertions read."""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from c2c_etl import io, tables
from c2c_etl.config import local_config
from c2c_etl.jobs import bronze, silver
from c2c_etl.jobs.common import RunContext, new_run_id, record_steps
from tests.etl.corpus.build import FILES, write_generated


@dataclass
class CorpusRun:
    ctx: RunContext
    landing: Path
    log: dict[str, dict[str, Any]]  # ingestion log row per file
    audit: dict[str, dict[str, Any]]  # silver_users audit row per file
    quarantine_rules: dict[str, set[str]]  # failed rules per file
    silver: dict[str, list[dict[str, Any]]]  # silver users per file


def run_bronze_silver(spark, landing: Path, lake: Path) -> RunContext:
    ctx = RunContext(local_config(landing, lake), new_run_id())
    bronze.run(spark, ctx)
    silver.run_users(spark, ctx)
    silver.run_reports(spark, ctx)
    record_steps(spark, ctx)  # the run audit's rows, as the runner commits them
    return ctx


def run_corpus(spark, root: Path) -> CorpusRun:
    """Every case's files in ``root/landing``, through bronze and silver into ``root/lake``."""
    landing = root / "landing"
    shutil.copytree(FILES, landing)
    write_generated(landing)
    ctx = run_bronze_silver(spark, landing, root / "lake")

    def by_file(table, **filters) -> dict[str, dict[str, Any]]:
        df = io.read(spark, ctx.cfg, table)
        for column, value in filters.items():
            df = df.filter(F.col(column) == value)
        return {r["source_file"]: r.asDict() for r in df.collect()}

    rules: dict[str, set[str]] = defaultdict(set)
    for r in io.read(spark, ctx.cfg, tables.SILVER_QUARANTINE).collect():
        rules[r["source_file"]] |= set(r["failed_rules"])
    users: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in io.read(spark, ctx.cfg, tables.SILVER_USERS).drop("country_name_source").collect():
        users[r["source_file"]].append(r.asDict())
    return CorpusRun(
        ctx,
        landing,
        by_file(tables.INGESTION_LOG),
        by_file(tables.RUN_AUDIT, step="silver_users"),
        rules,
        users,
    )
