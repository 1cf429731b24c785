"""The Databricks AI/BI (Lakeview) dashboard: `c2c_users.lvdash.json`, per environment.

The checked-in file is importable as is into the dev workspace (its datasets read
``c2c_dev.gold``); :func:`serialized_dashboard` rewrites the catalog for another environment
through :func:`c2c_reporting.names.rewrite_gold_names`, the same rewrite the tests use to run
every dataset on the local gold tables. infra deploys the result with ``databricks_dashboard``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from c2c_reporting.names import catalog_resolver, rewrite_gold_names

DASHBOARD_FILE = Path(__file__).with_name("c2c_users.lvdash.json")
DISPLAY_NAME = "C2C users"


def load() -> dict[str, Any]:
    """The dashboard definition as checked in."""
    data: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text())
    return data


def dataset_sql(dataset: dict[str, Any]) -> str:
    """A dataset's SQL (Lakeview stores it as ``queryLines``)."""
    return "".join(dataset["queryLines"])


def serialized_dashboard(catalog: str) -> str:
    """The dashboard as Databricks expects ``serialized_dashboard``, reading ``catalog``."""
    data = load()
    resolve = catalog_resolver(catalog)
    for dataset in data["datasets"]:
        sql = rewrite_gold_names(dataset_sql(dataset), resolve)
        lines = sql.split("\n")
        dataset["queryLines"] = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    return json.dumps(data, sort_keys=True)
