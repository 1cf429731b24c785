"""Where reporting SQL names gold objects, and the one place those names are rewritten.

Reporting SQL (the AI/BI dashboard's datasets, the measures' SQL) names gold tables and BI views
as ``gold.<name>`` or ``<catalog>.gold.<name>``. :func:`rewrite_gold_names` maps every such name
through one function: to the environment's catalog for the cloud, to the local tables and session
views for tests and the local dashboard. A name that is neither a gold table nor a BI view raises
``KeyError``, so a dashboard or a measure cannot refer to something gold does not have.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from c2c_etl import tables
from c2c_etl.config import LakeConfig
from c2c_etl.gold.views import GOLD_TABLES, VIEWS_BY_NAME

GOLD_NAME = re.compile(r"(?<![\w.`])(?:(?P<catalog>c2c_\w+)\.)?gold\.(?P<name>\w+)\b")


def gold_names(sql: str) -> set[str]:
    """The gold tables and views a SQL text names."""
    return {m["name"] for m in GOLD_NAME.finditer(sql)}


def rewrite_gold_names(sql: str, resolve: Callable[[str], str]) -> str:
    """``sql`` with each ``[catalog.]gold.<name>`` replaced by ``resolve(name)``."""

    def one(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in GOLD_TABLES and name not in VIEWS_BY_NAME:
            raise KeyError(f"gold.{name} is neither a gold table nor a BI view")
        return resolve(name)

    return GOLD_NAME.sub(one, sql)


def catalog_resolver(catalog: str) -> Callable[[str], str]:
    """Names in a Unity Catalog catalog: ``<catalog>.gold.<name>``."""
    return lambda name: f"{catalog}.{tables.GOLD}.{name}"


def local_resolver(cfg: LakeConfig) -> Callable[[str], str]:
    """Names on a local lake: BI views are the session's temp views (``io.create_views``), gold
    tables are their Delta folders."""
    from c2c_etl import io

    def resolve(name: str) -> str:
        if name in VIEWS_BY_NAME:
            return io.view_name(cfg, VIEWS_BY_NAME[name])
        return io.sql_name(cfg, GOLD_TABLES[name])

    return resolve
