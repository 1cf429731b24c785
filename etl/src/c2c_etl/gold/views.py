"""Gold's views, defined once as SQL: the user fact over silver users, the country dimension and
four aggregates of the user counts, the two top-100 lists of the user fact, and the star schema
that BI tools read.

The gold views (:data:`GOLD_VIEWS`) keep the gold table names analysts and the gold contract
know (``gold.fact_users``, ``gold.dim_country``, ``gold.agg_app_adoption``, ...); being views,
they cost a run nothing to keep current: they are as fresh as silver users and
``gold.agg_user_counts``, which the run writes anyway. Power BI, the Databricks AI/BI dashboard
and the local HTML dashboard all read the BI views (:data:`VIEWS`, ``bi_*``), so a measure
means the same thing everywhere. Each view lists its columns explicitly: a gold change that
drops or renames a column breaks the view when it is created, not a report later.

The SQL names tables through placeholders (``{fact_users}``), one per ``c2c_etl.tables`` gold
table and per silver table a view reads (:func:`sources`); :func:`render` turns them into
real names (Unity Catalog three-part names in the cloud, Delta paths locally, where a gold view
is its own rendered SELECT, in parentheses). A placeholder that is not one of those raises
``KeyError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame

from c2c_etl import tables
from c2c_etl.gold.model import ENGAGEMENT_LEVELS, FACT_COLUMNS, RECENCY_BUCKETS

PREFIX = "bi_"


@dataclass(frozen=True)
class View:
    """A view: its name in the gold schema, what one row is, its SELECT, and what it is (the
    first words of its comment in the catalog)."""

    name: str
    grain: str
    sql: str
    summary: str = "BI view over gold"

    def table_placeholders(self) -> set[str]:
        """The gold table names the SQL refers to."""
        return set(re.findall(r"\{(\w+)\}", self.sql))


GOLD_TABLES: dict[str, tables.Table] = {
    t.name: t for t in tables.ALL_TABLES if t.layer == tables.GOLD
}
# Silver tables whose aggregates a view publishes (row accounting and rules, no user values):
# analysts read the view, never the table. In Unity Catalog a view runs with its owner's
# rights, so reading it needs no grant on silver.
PUBLISHED_SILVER_TABLES: dict[str, tables.Table] = {
    t.name: t for t in (tables.RUN_AUDIT, tables.SILVER_QUARANTINE)
}
SOURCE_TABLES: dict[str, tables.Table] = {**GOLD_TABLES, **PUBLISHED_SILVER_TABLES}
# Gold's own views may read silver users too: the user fact is a view of it (one row per user,
# as silver keeps it). The BI views read gold's fact, never silver users.
GOLD_VIEW_SOURCES: dict[str, tables.Table] = {
    **SOURCE_TABLES,
    tables.SILVER_USERS.name: tables.SILVER_USERS,
}

# The smallest number of users behind a published percentage by country: below it a single
# user moves the figure by several points. Every dashboard filters on the views' flag.
MIN_USERS_PER_FIGURE = 30

# --- The user fact ---------------------------------------------------------------------------
# Silver users' measures and the segments the dashboards filter on (c2c_etl.gold.model): only
# row-level expressions over one row per user.
USER_FACT = View(
    tables.FACT_USERS.name,
    "user (identifier_hash)",
    "SELECT\n  " + ",\n  ".join(FACT_COLUMNS) + "\nFROM {users}",  # nosec B608  # static SQL
    "Gold fact over silver users",
)

# --- Gold's views of the user counts ----------------------------------------------------------
# Each sums the additive counts (c2c_etl.gold.counts) to its grain; rates are rounded to two
# decimals after an exact division (NULL where the denominator is 0). ``100D`` is a double:
# a bare ``100.0`` would be a decimal in Spark SQL and change the rounding's input type.
_AGGREGATE = "Gold aggregate of agg_user_counts"


# One row per ISO country code: the lookup's English name (max() skips the rows without one)
# and the source's (French) spellings; the user counts carry both names.
COUNTRY_DIMENSION = View(
    tables.DIM_COUNTRY.name,
    "country code",
    """SELECT
  country_code,
  max(country_name) AS country_name,
  array_sort(collect_set(country_name_source)) AS source_names
FROM {agg_user_counts}
GROUP BY country_code
ORDER BY country_code""",
    "Gold dimension of agg_user_counts",
)


def _pct(part: str, whole: str) -> str:
    return f"round(try_divide({part} * 100D, {whole}), 2)"


def _sums(*names: str) -> str:
    return ",\n    ".join(f"CAST(sum({n}) AS BIGINT) AS {n}" for n in names)


_BY_COUNTRY_GENDER = _sums(
    "users",
    "buyers",
    "top_buyers",
    "sellers",
    "top_sellers",
    "products_bought",
    "products_sold",
    "products_listed",
)
AGG_COUNTRY_GENDER = View(
    tables.AGG_COUNTRY_GENDER.name,
    "country code x gender",
    f"""SELECT
  c.country_code,
  d.country_name,
  c.gender,
  c.users,
  c.buyers,
  c.top_buyers,
  c.sellers,
  c.top_sellers,
  {_pct("c.buyers", "c.users")} AS buyer_rate_pct,
  {_pct("c.sellers", "c.users")} AS seller_rate_pct,
  c.products_bought,
  c.products_sold,
  c.products_listed
FROM (
  SELECT
    country_code,
    gender,
    {_BY_COUNTRY_GENDER}
  FROM {{agg_user_counts}}
  GROUP BY country_code, gender
) AS c
LEFT JOIN {{dim_country}} AS d ON c.country_code = d.country_code""",  # nosec B608  # static SQL
    _AGGREGATE,
)

_BY_COUNTRY_WITH_APP = _sums(
    "users_with_app_data",
    "app_users",
    "ios_users",
    "android_users",
    "buyers_with_app_data",
    "app_buyers",
)
# Only users whose release reports app usage (2020) count.
AGG_APP_ADOPTION = View(
    tables.AGG_APP_ADOPTION.name,
    "country code (users of releases with app data)",
    f"""SELECT
  c.country_code,
  d.country_name,
  c.users_with_app_data,
  c.app_users,
  c.ios_users,
  c.android_users,
  {_pct("c.app_users", "c.users_with_app_data")} AS app_adoption_pct,
  {_pct("c.ios_users", "c.users_with_app_data")} AS ios_adoption_pct,
  {_pct("c.android_users", "c.users_with_app_data")} AS android_adoption_pct,
  c.buyers_with_app_data AS buyers,
  c.app_buyers,
  {_pct("c.app_buyers", "c.buyers_with_app_data")} AS app_share_of_buyers_pct
FROM (
  SELECT
    country_code,
    {_BY_COUNTRY_WITH_APP}
  FROM {{agg_user_counts}}
  GROUP BY country_code
  HAVING CAST(sum(users_with_app_data) AS BIGINT) > 0
) AS c
LEFT JOIN {{dim_country}} AS d ON c.country_code = d.country_code""",  # nosec B608  # static SQL
    _AGGREGATE,
)

FUNNEL_STAGES = ("registered", "active", "liked_or_wished", "bought_or_sold")
# Each stage counts the users who reached every stage before it, so the stages nest by
# construction. A release with login data (2020) has all four, and its users whose login is
# unknown stop at 'registered'; a release without (2024) has no 'active' row (NULL, dropped
# before the previous stage is looked up) and its later stages count from 'registered'.
_STAGE_USERS = {
    "registered": "users",
    "active": "CASE WHEN users_with_login_data > 0 THEN active_users END",
    "liked_or_wished": "CASE WHEN users_with_login_data > 0 THEN active_liked_or_wished_users"
    " ELSE liked_or_wished_users END",
    "bought_or_sold": "CASE WHEN users_with_login_data > 0 THEN active_bought_or_sold_users"
    " ELSE bought_or_sold_users END",
}
_STAGES = ",\n        ".join(
    f"named_struct('stage_order', {i}, 'stage', '{stage}', 'users', "
    f"CAST({_STAGE_USERS[stage]} AS BIGINT))"
    for i, stage in enumerate(FUNNEL_STAGES, 1)
)

_PREVIOUS_STAGE = "lag(users) OVER (PARTITION BY release ORDER BY stage_order)"

_BY_RELEASE = _sums(
    "users",
    "users_with_login_data",
    "active_users",
    "liked_or_wished_users",
    "bought_or_sold_users",
    "active_liked_or_wished_users",
    "active_bought_or_sold_users",
)
# No row for both releases together: their funnels have different stages, so a report picks
# one release.
AGG_ENGAGEMENT_FUNNEL = View(
    tables.AGG_ENGAGEMENT_FUNNEL.name,
    "release x stage the release measures",
    f"""SELECT
  release,
  stage_order,
  stage,
  users,
  {_pct("users", "registered")} AS pct_of_registered,
  {_pct("users", _PREVIOUS_STAGE)} AS pct_of_previous_stage
FROM (
  SELECT
    release,
    users AS registered,
    inline(array(
        {_STAGES}
    ))
  FROM (
    SELECT
      release,
      {_BY_RELEASE}
    FROM {{agg_user_counts}}
    GROUP BY release
  )
)
WHERE users IS NOT NULL
ORDER BY release, stage_order""",  # nosec B608  # static SQL; only the stage structs are inlined
    _AGGREGATE,
)

_BY_RELEASE_DAY = _sums(
    "users",
    "buyers",
    "sellers",
    "users_with_login_data",
    "active_users",
    "products_bought",
    "products_sold",
    "followers",
    "users_with_followers",
)
# A registration day, not a month: the source's registrations cluster within days, so month
# cohorts would put nearly every user of a release into one or two. ``active_users`` is NULL
# where the cohort has no login data (unknown, as everywhere in gold), not 0; the mean of the
# followers is over the users whose count is known, as avg() would take it.
AGG_SENIORITY_COHORTS = View(
    tables.AGG_SENIORITY_COHORTS.name,
    "release x registration day",
    f"""SELECT
  release,
  seniority_days,
  users,
  buyers,
  sellers,
  CASE WHEN users_with_login_data > 0 THEN active_users END AS active_users,
  products_bought,
  products_sold,
  round(try_divide(CAST(followers AS DOUBLE), users_with_followers), 2) AS mean_followers,
  {_pct("buyers", "users")} AS buyer_rate_pct,
  {_pct("sellers", "users")} AS seller_rate_pct
FROM (
  SELECT
    release,
    seniority_days,
    {_BY_RELEASE_DAY}
  FROM {{agg_user_counts}}
  GROUP BY release, seniority_days
)
ORDER BY release, seniority_days""",  # nosec B608  # static SQL; only the sums are inlined
    _AGGREGATE,
)

# --- Gold's top-100 lists of the user fact ----------------------------------------------------

TOP_N = 100
# The fact columns a top list carries besides its rank and role, its measure first.
_TOP_COLUMNS = (
    "products_bought",
    "products_sold",
    "products_listed",
    "products_wished",
    "social_nb_followers",
)


def _top(table: tables.Table, role: str, measure: str) -> View:
    """The ``TOP_N`` users with the highest ``measure`` (above 0), ranked 1..n, ties broken by
    identifier. A top-k first (ORDER BY ... LIMIT), so the ranking window numbers n rows, not
    every user."""
    order = f"{measure} DESC, identifier_hash"
    columns = ",\n  ".join((measure, *(c for c in _TOP_COLUMNS if c != measure)))
    return View(
        table.name,
        "rank (1 to 100)",
        f"""SELECT
  row_number() OVER (ORDER BY {order}) AS rank,
  identifier_hash,
  release,
  country_code,
  gender,
  {columns},
  '{role}' AS role
FROM (
  SELECT * FROM {{fact_users}}
  WHERE {measure} > 0
  ORDER BY {order}
  LIMIT {TOP_N}
)
ORDER BY rank""",  # nosec B608  # static SQL; only column names and constants are inlined
        "Gold top list of fact_users",
    )


TOP_BUYERS = _top(tables.TOP_BUYERS, "buyer", "products_bought")
TOP_SELLERS = _top(tables.TOP_SELLERS, "seller", "products_sold")

# The gold names that are views (c2c_etl.tables.VIEW_TABLES), with their definitions, in the
# order they are created: the aggregates read the dimension, the top lists the fact.
GOLD_VIEWS: dict[tables.Table, View] = {
    tables.FACT_USERS: USER_FACT,
    tables.DIM_COUNTRY: COUNTRY_DIMENSION,
    tables.AGG_COUNTRY_GENDER: AGG_COUNTRY_GENDER,
    tables.AGG_APP_ADOPTION: AGG_APP_ADOPTION,
    tables.AGG_ENGAGEMENT_FUNNEL: AGG_ENGAGEMENT_FUNNEL,
    tables.AGG_SENIORITY_COHORTS: AGG_SENIORITY_COHORTS,
    tables.TOP_BUYERS: TOP_BUYERS,
    tables.TOP_SELLERS: TOP_SELLERS,
}


# --- The BI views ----------------------------------------------------------------------------

# The deepest nested funnel stage a user reached, as the gold funnel (AGG_ENGAGEMENT_FUNNEL)
# counts them: 1 registered, 2 active, 3 liked or wished, 4 bought or sold. In a release with
# login data a user whose login is unknown stops at 1; a release without (2024) has no stage 2
# and its users go on from 'registered'.
_FUNNEL_STAGE = """CASE
      WHEN release_has_login_data AND NOT coalesce(is_active, false) THEN 1
      WHEN NOT liked_or_wished THEN CASE WHEN release_has_login_data THEN 2 ELSE 1 END
      WHEN NOT bought_or_sold THEN 3
      ELSE 4
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
FROM (
  SELECT *, max(is_active IS NOT NULL) OVER (PARTITION BY release) AS release_has_login_data
  FROM {{fact_users}}
)""",  # nosec B608  # static SQL; only _FUNNEL_STAGE is inlined
)

DIM_RELEASE = View(
    f"{PREFIX}dim_release",
    "users release",
    """SELECT
  release,
  CAST(release AS INT) AS release_order,
  sum(users) AS users,
  sum(users_with_login_data) > 0 AS has_login_data,
  sum(users_with_app_data) > 0 AS has_app_data
FROM {agg_user_counts}
GROUP BY release""",
)


def _order(column: str, labels: list[str]) -> str:
    """A SQL expression giving each label of ``column`` its position (1, 2, ...): the order a
    report sorts the labels by, instead of alphabetically."""
    whens = " ".join(f"WHEN '{label}' THEN {i}" for i, label in enumerate(labels, 1))
    return f"CASE {column} {whens} END"


_SEGMENT_ORDERS = {
    "buyer_segment": ["non-buyer", "buyer", "top buyer"],
    "seller_segment": ["non-seller", "lister", "seller", "top seller"],
    "activity_recency": [label for _, label in RECENCY_BUCKETS]
    + [f"over {RECENCY_BUCKETS[-1][0]} days", "unknown"],
    "engagement_level": ["none"] + [label for _, label in reversed(ENGAGEMENT_LEVELS)],
}
_ORDER_COLUMNS = ",\n  ".join(
    f"{_order(c, labels)} AS {c}_order" for c, labels in _SEGMENT_ORDERS.items()
)

# The user-level fact summed over the attributes the report slices by: what an Import model
# holds instead of one row per user (personal data stays in the lakehouse). Counts whose
# attribute is unknown for every user of a cell (login, app) are NULL there, not 0.
USER_SEGMENTS = View(
    f"{PREFIX}user_segments",
    "release x country x gender x buyer, seller, recency and engagement segment",
    f"""SELECT
  release,
  country_code,
  gender,
  buyer_segment,
  seller_segment,
  activity_recency,
  engagement_level,
  {_ORDER_COLUMNS},
  count(*) AS users,
  count_if(is_buyer) AS buyers,
  count_if(is_top_buyer) AS top_buyers,
  count_if(is_seller) AS sellers,
  count_if(is_top_seller) AS top_sellers,
  count_if(is_active IS NOT NULL) AS users_with_login_data,
  CASE WHEN count_if(is_active IS NOT NULL) > 0 THEN count_if(is_active) END AS active_users,
  count_if(has_any_app IS NOT NULL) AS users_with_app_data,
  CASE WHEN count_if(has_any_app IS NOT NULL) > 0 THEN count_if(has_any_app) END AS app_users,
  CASE WHEN count_if(has_any_app IS NOT NULL) > 0 THEN count_if(has_ios_app) END AS ios_users,
  CASE WHEN count_if(has_any_app IS NOT NULL) > 0 THEN count_if(has_android_app) END
    AS android_users,
  count_if(is_buyer AND has_any_app IS NOT NULL) AS buyers_with_app_data,
  CASE WHEN count_if(has_any_app IS NOT NULL) > 0 THEN count_if(is_buyer AND has_any_app) END
    AS app_buyers,
  CAST(sum(products_bought) AS BIGINT) AS products_bought,
  CAST(sum(products_sold) AS BIGINT) AS products_sold,
  CAST(sum(products_listed) AS BIGINT) AS products_listed,
  CAST(sum(social_nb_followers) AS BIGINT) AS followers,
  count(social_nb_followers) AS users_with_followers
FROM {{fact_users}}
GROUP BY release, country_code, gender, buyer_segment, seller_segment, activity_recency,
  engagement_level""",  # nosec B608  # static SQL; only the order CASEs are inlined
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
  app_share_of_buyers_pct,
  users_with_app_data >= MIN_USERS AS meets_minimum_users
FROM {agg_app_adoption}""".replace(  # nosec B608  # static SQL; only an int is inlined
        "MIN_USERS", str(MIN_USERS_PER_FIGURE)
    ),
)

ENGAGEMENT_FUNNEL = View(
    f"{PREFIX}engagement_funnel",
    "release x stage the release measures",
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
    "release x registration day",
    """SELECT
  release,
  seniority_days,
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

RECONCILIATION_FIGURES = View(
    f"{PREFIX}reconciliation_figures",
    "publisher figure (report x country x sex x metric)",
    """SELECT
  report,
  country,
  sex,
  metric,
  published_value,
  computed_value,
  computed_value - published_value AS difference,
  tolerance,
  matches
FROM {publisher_report_reconciliation}""",
)

# Row accounting and freshness per step (silver.run_audit's file rows), and quarantined rows
# per rule: published for analysts, who cannot read silver.
DATA_QUALITY = View(
    f"{PREFIX}data_quality",
    "pipeline step",
    """SELECT
  step,
  count(*) AS files,
  sum(rows_read) AS rows_read,
  sum(rows_to_silver) AS rows_to_silver,
  sum(rows_quarantined) AS rows_quarantined,
  sum(rows_duplicate) AS rows_duplicate,
  count_if(NOT balanced) AS unbalanced_files,
  max(finished_at) AS last_finished_at
FROM {run_audit}
WHERE source_file IS NOT NULL
GROUP BY step""",
)

QUARANTINE_BY_RULE = View(
    f"{PREFIX}quarantine_by_rule",
    "quality rule",
    """SELECT rule, count(*) AS rows_quarantined
FROM {quarantine}
LATERAL VIEW explode(failed_rules) AS rule
GROUP BY rule""",
)

VIEWS: tuple[View, ...] = (
    DIM_COUNTRY,
    DIM_RELEASE,
    FACT_USER,
    USER_SEGMENTS,
    COUNTRY_KPIS,
    APP_ADOPTION,
    ENGAGEMENT_FUNNEL,
    SENIORITY_COHORTS,
    RECONCILIATION_STATUS,
    RECONCILIATION_FIGURES,
    DATA_QUALITY,
    QUARANTINE_BY_RULE,
)
VIEWS_BY_NAME: dict[str, View] = {v.name: v for v in VIEWS}
# Every view of the gold schema, in the order they are created: the BI views read the gold ones.
ALL_VIEWS: tuple[View, ...] = (*GOLD_VIEWS.values(), *VIEWS)


def render(view: View, table_name: Callable[[tables.Table], str]) -> str:
    """The view's SELECT with each table placeholder replaced by ``table_name(table)``."""
    names = sources(view)
    return view.sql.format_map({n: table_name(names[n]) for n in view.table_placeholders()})


def sources(view: View) -> dict[str, tables.Table]:
    """The tables ``view`` may read, by placeholder name."""
    return GOLD_VIEW_SOURCES if view in GOLD_VIEWS.values() else SOURCE_TABLES


def reads(view: View) -> list[tables.Table]:
    """The tables (or gold views) ``view`` reads, in the order of their placeholders' names."""
    names = sources(view)
    return [names[name] for name in sorted(view.table_placeholders())]


def create_statement(
    view: View, qualified_view: str, table_name: Callable[[tables.Table], str]
) -> str:
    """``CREATE OR REPLACE VIEW`` with a comment saying what it is and its grain."""
    comment = f"{view.summary}; one row per {view.grain}".replace("'", "")
    return (
        f"CREATE OR REPLACE VIEW {qualified_view} COMMENT '{comment}' AS\n"
        f"{render(view, table_name)}"
    )


def select(view: View, **frames: DataFrame) -> DataFrame:
    """The view's SELECT over DataFrames given for its placeholders (``agg_user_counts=...``):
    what the view returns over those rows, computed by the very SQL the lake's view runs (a
    recount, a test's rows)."""
    spark = next(iter(frames.values())).sparkSession
    return spark.sql(view.sql, None, **frames)
