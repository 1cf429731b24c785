"""The star schema's user-level fact: silver users' measures with derived segments. It is a view
over silver users (c2c_etl.gold.views), as is its country dimension over the user counts: one
row per user and only row-level expressions, so a copy in gold would only duplicate silver and
cost a MERGE at every delivery.

Thresholds follow the publisher's own reports where it has one (a top buyer bought 10 or more
products, a top seller sold 20 or more), so the dashboards and the published figures agree.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

TOP_BUYER_MIN_BOUGHT = 10
TOP_SELLER_MIN_SOLD = 20
ACTIVE_WITHIN_DAYS = 365
# (upper bound in days, label) for the activity recency segment, in order.
RECENCY_BUCKETS: tuple[tuple[int, str], ...] = (
    (30, "0-30 days"),
    (90, "31-90 days"),
    (180, "91-180 days"),
    (365, "181-365 days"),
    (730, "366-730 days"),
)
# (lowest number of interactions, label): likes + wishes + purchases + sales + listings.
ENGAGEMENT_LEVELS: tuple[tuple[int, str], ...] = ((50, "high"), (5, "medium"), (1, "low"))


def _recency(days: str) -> str:
    cases = " ".join(f"WHEN {days} <= {upper} THEN '{label}'" for upper, label in RECENCY_BUCKETS)
    return (
        f"CASE WHEN {days} IS NULL THEN 'unknown' {cases} "
        f"ELSE 'over {RECENCY_BUCKETS[-1][0]} days' END"
    )


def _engagement(interactions: str) -> str:
    cases = " ".join(
        f"WHEN {interactions} >= {lowest} THEN '{label}'" for lowest, label in ENGAGEMENT_LEVELS
    )
    return f"CASE {cases} ELSE 'none' END"


_INTERACTIONS = (
    "(social_products_liked + products_wished + products_bought + products_sold + products_listed)"
)

# The fact's columns as Spark SQL select items, in order: silver users' own columns, then the
# segments. The gold view (c2c_etl.gold.views) and build_fact_users both select these, so the
# lake's fact and a recount of it cannot disagree.
FACT_COLUMNS: tuple[str, ...] = (
    "identifier_hash",
    "release",
    "country_code",
    "country_name_source",
    "gender",
    "language",
    "civility_title",
    "has_any_app",
    "has_ios_app",
    "has_android_app",
    "has_profile_picture",
    "social_nb_followers",
    "social_nb_follows",
    "social_products_liked",
    "products_wished",
    "products_bought",
    "products_listed",
    "products_sold",
    "products_pass_rate",
    "days_since_last_login",
    "seniority_days",
    "seniority_months",
    "products_bought > 0 AS is_buyer",
    f"products_bought >= {TOP_BUYER_MIN_BOUGHT} AS is_top_buyer",
    "products_sold > 0 AS is_seller",
    f"products_sold >= {TOP_SELLER_MIN_SOLD} AS is_top_seller",
    "products_sold > 0 OR products_listed > 0 AS is_lister_or_seller",
    f"CASE WHEN products_bought >= {TOP_BUYER_MIN_BOUGHT} THEN 'top buyer'"
    " WHEN products_bought > 0 THEN 'buyer' ELSE 'non-buyer' END AS buyer_segment",
    f"CASE WHEN products_sold >= {TOP_SELLER_MIN_SOLD} THEN 'top seller'"
    " WHEN products_sold > 0 THEN 'seller' WHEN products_listed > 0 THEN 'lister'"
    " ELSE 'non-seller' END AS seller_segment",
    "CASE WHEN days_since_last_login IS NOT NULL"
    f" THEN days_since_last_login <= {ACTIVE_WITHIN_DAYS} END AS is_active",
    f"{_recency('days_since_last_login')} AS activity_recency",
    f"{_engagement(_INTERACTIONS)} AS engagement_level",
    "social_products_liked > 0 OR products_wished > 0 AS liked_or_wished",
    "products_bought > 0 OR products_sold > 0 AS bought_or_sold",
    "CAST(floor(seniority_months) AS INT) AS seniority_cohort_months",
)


def build_fact_users(users: DataFrame, extra: tuple[str, ...] = ()) -> DataFrame:
    """One row per user (identifier_hash) with its measures and segments (and the ``extra``
    columns of ``users`` as they are): what the ``gold.fact_users`` view returns over
    ``users``."""
    return users.selectExpr(*FACT_COLUMNS, *extra)
