"""The star schema's user-level fact, with derived segments (its country dimension is a view
over the user counts: c2c_etl.gold.views).

Thresholds follow the publisher's own reports where it has one (a top buyer bought 10 or more
products, a top seller sold 20 or more), so the dashboards and the published figures agree.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

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


def _recency(days: Column) -> Column:
    expr = F.when(days.isNull(), F.lit("unknown"))
    for upper, label in RECENCY_BUCKETS:
        expr = expr.when(days <= upper, F.lit(label))
    return expr.otherwise(F.lit(f"over {RECENCY_BUCKETS[-1][0]} days"))


def _engagement(interactions: Column) -> Column:
    expr = F.when(interactions >= ENGAGEMENT_LEVELS[0][0], F.lit(ENGAGEMENT_LEVELS[0][1]))
    for lowest, label in ENGAGEMENT_LEVELS[1:]:
        expr = expr.when(interactions >= lowest, F.lit(label))
    return expr.otherwise(F.lit("none"))


def build_fact_users(users: DataFrame, extra: tuple[str, ...] = ()) -> DataFrame:
    """One row per user (identifier_hash) with its measures and segments (and the ``extra``
    columns of ``users`` as they are)."""
    bought, sold, listed = (
        F.col("products_bought"),
        F.col("products_sold"),
        F.col("products_listed"),
    )
    interactions = (
        F.col("social_products_liked") + F.col("products_wished") + bought + sold + listed
    )
    days = F.col("days_since_last_login")
    return users.select(
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
        (bought > 0).alias("is_buyer"),
        (bought >= TOP_BUYER_MIN_BOUGHT).alias("is_top_buyer"),
        (sold > 0).alias("is_seller"),
        (sold >= TOP_SELLER_MIN_SOLD).alias("is_top_seller"),
        ((sold > 0) | (listed > 0)).alias("is_lister_or_seller"),
        F.when(bought >= TOP_BUYER_MIN_BOUGHT, "top buyer")
        .when(bought > 0, "buyer")
        .otherwise("non-buyer")
        .alias("buyer_segment"),
        F.when(sold >= TOP_SELLER_MIN_SOLD, "top seller")
        .when(sold > 0, "seller")
        .when(listed > 0, "lister")
        .otherwise("non-seller")
        .alias("seller_segment"),
        F.when(days.isNotNull(), days <= ACTIVE_WITHIN_DAYS).alias("is_active"),
        _recency(days).alias("activity_recency"),
        _engagement(interactions).alias("engagement_level"),
        ((F.col("social_products_liked") > 0) | (F.col("products_wished") > 0)).alias(
            "liked_or_wished"
        ),
        ((bought > 0) | (sold > 0)).alias("bought_or_sold"),
        F.floor(F.col("seniority_months")).cast("int").alias("seniority_cohort_months"),
        *extra,
    )
