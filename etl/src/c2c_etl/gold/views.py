"""The star schema that BI tools read: SQL views over the gold tables, defined once.

Power BI, the Databricks AI/BI dashboard and the local HTML dashboard all read these views, so a
measure means the same thing everywhere. Each view lists its columns explicitly: a gold change
that drops or renames a column breaks the view when it is created, not a report later.

The SQL names gold tables through placeholders (``{fact_users}``), one per ``c2c_etl.tables``
gold table; :func:`render` turns them into real names (Unity Catalog three-part names in the
cloud, Delta paths locally). A placeholder that is not a gold table raises ``KeyError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from c2c_etl import tables

PREFIX = "bi_"


@dataclass(frozen=True)
class View:
    """A BI view: its name in the gold schema, what one row is, and its SELECT."""

    name: str
    grain: str
    sql: str

    def table_placeholders(self) -> set[str]:
        """The gold table names the SQL refers to."""
        return set(re.findall(r"\{(\w+)\}", self.sql))


GOLD_TABLES: dict[str, tables.Table] = {
    t.name: t for t in tables.ALL_TABLES if t.layer == tables.GOLD
}

# The deepest nested funnel stage a user reached (see aggregates.aggregate_engagement_funnel):
# 1 registered, 2 active, 3 liked or wished, 4 bought or sold. A release without login data
# (2024) skips 'active': its users go on from 'registered'.
_FUNNEL_STAGE = """CASE
      WHEN coalesce(is_active, true) AND liked_or_wished AND bought_or_sold THEN 4
      WHEN coalesce(is_active, true) AND liked_or_wished THEN 3
      WHEN is_active THEN 2
      ELSE 1
    END"""

DIM_COUNTRY = View(
    f"{PREFIX}dim_country",
    "country code",
    """SELECT
  country_code,
  country_name,
  array_join(source_names, ', ') AS source_names
FROM {dim_country}""",
)

FACT_USER = View(
    f"{PREFIX}fact_user",
    "user",
    f"""SELECT
  identifier_hash,
  release,
  country_code,
  gender,
  language,
  buyer_segment,
  seller_segment,
  activity_recency,
  engagement_level,
  seniority_cohort_months,
  is_buyer,
  is_top_buyer,
  is_seller,
  is_top_seller,
  is_active,
  has_any_app,
  has_ios_app,
  has_android_app,
  liked_or_wished,
  bought_or_sold,
  {_FUNNEL_STAGE} AS funnel_stage,
  products_bought,
  products_sold,
  products_listed,
  products_wished,
  social_products_liked,
  social_nb_followers,
  days_since_last_login,
  seniority_days
FROM {{fact_users}}""",  # nosec B608  # static SQL; only _FUNNEL_STAGE is inlined
)

COUNTRY_KPIS = View(
    f"{PREFIX}country_kpis",
    "country code",
    """SELECT
  g.country_code,
  first(g.country_name) AS country_name,
  sum(g.users) AS users,
  sum(g.buyers) AS buyers,
  sum(g.top_buyers) AS top_buyers,
  sum(g.sellers) AS sellers,
  sum(g.top_sellers) AS top_sellers,
  round(try_divide(CAST(sum(g.buyers) AS DOUBLE) * 100, sum(g.users)), 2) AS buyer_rate_pct,
  round(try_divide(CAST(sum(g.sellers) AS DOUBLE) * 100, sum(g.users)), 2) AS seller_rate_pct,
  sum(g.products_bought) AS products_bought,
  sum(g.products_sold) AS products_sold,
  sum(g.products_listed) AS products_listed
FROM {agg_buyers_sellers_by_country_gender} AS g
GROUP BY g.country_code""",
)

APP_ADOPTION = View(
    f"{PREFIX}app_adoption",
    "country code (users of releases with app data)",
    """SELECT
  country_code,
  country_name,
  users_with_app_data,
  app_users,
  ios_users,
  android_users,
  app_adoption_pct,
  ios_adoption_pct,
  android_adoption_pct,
  buyers,
  app_buyers,
  app_share_of_buyers_pct
FROM {agg_app_adoption}""",
)

ENGAGEMENT_FUNNEL = View(
    f"{PREFIX}engagement_funnel",
    "release ('all' too) x stage",
    """SELECT
  release,
  stage_order,
  stage,
  users,
  pct_of_registered,
  pct_of_previous_stage
FROM {agg_engagement_funnel}""",
)

SENIORITY_COHORTS = View(
    f"{PREFIX}seniority_cohorts",
    "release x seniority in whole months",
    """SELECT
  release,
  seniority_cohort_months,
  users,
  buyers,
  sellers,
  active_users,
  buyer_rate_pct,
  seller_rate_pct,
  products_bought,
  products_sold,
  mean_followers
FROM {agg_seniority_cohorts}""",
)

RECONCILIATION_STATUS = View(
    f"{PREFIX}reconciliation_status",
    "publisher report",
    """SELECT
  report,
  count(*) AS figures,
  count_if(matches) AS matching,
  count_if(NOT matches) AS mismatching,
  count(*) = count_if(matches) AS all_match
FROM {publisher_report_reconciliation}
GROUP BY report""",
)

VIEWS: tuple[View, ...] = (
    DIM_COUNTRY,
    FACT_USER,
    COUNTRY_KPIS,
    APP_ADOPTION,
    ENGAGEMENT_FUNNEL,
    SENIORITY_COHORTS,
    RECONCILIATION_STATUS,
)
VIEWS_BY_NAME: dict[str, View] = {v.name: v for v in VIEWS}


def render(view: View, table_name: Callable[[tables.Table], str]) -> str:
    """The view's SELECT with each gold placeholder replaced by ``table_name(table)``."""
    return view.sql.format_map({n: table_name(GOLD_TABLES[n]) for n in view.table_placeholders()})


def create_statement(
    view: View, qualified_view: str, table_name: Callable[[tables.Table], str]
) -> str:
    """``CREATE OR REPLACE VIEW`` with a comment saying the grain."""
    comment = f"BI view over gold; one row per {view.grain}".replace("'", "")
    return (
        f"CREATE OR REPLACE VIEW {qualified_view} COMMENT '{comment}' AS\n"
        f"{render(view, table_name)}"
    )
