"""What the cluster tests compare: the step outcomes a run printed in its summary (two lakes'
gold tables: ``tests.etl.helpers.assert_same_gold``; a lake's table versions:
``c2c_etl.lake_state.table_versions``)."""

from __future__ import annotations

import re

# A line of the run summary's "Time per step" (c2c_etl.summary.format_summary).
STEP_LINE = re.compile(r"^\s+(bronze|silver_users|silver_reports|gold)\s+[\d.]+ s\s+(\w+)$", re.M)
ALL_SUCCEEDED = dict.fromkeys(("bronze", "silver_users", "silver_reports", "gold"), "succeeded")


def step_statuses(output: str) -> dict[str, str]:
    """Each step's status from a run's printed summary."""
    return dict(STEP_LINE.findall(output))
