"""The additive user counts behind four gold aggregates, kept so a run updates them from silver's
change feed instead of recounting every user.

``gold.agg_user_counts`` has one row per release x country (with its source spelling) x gender x
registration day (``seniority_days``), with only counts and sums. Sums add up across rows and
across changes, so:

* the country dimension (a table, ``c2c_etl.gold.model``) and the country-gender,
  app-adoption, funnel and seniority views (``c2c_etl.gold.views``) are small aggregates of it;
* a run that changed a few users adds their new rows' counts and subtracts their old rows'
  (a ``weight`` of +1 or -1 per changed row, from the feed's post- and pre-images), and the
  result is the full recount's, to the row (tests/etl/integration/test_sample_pipeline.py).

Every column here is a count or a sum of non-negative integers, so no rounding enters until
the published aggregates divide them.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from c2c_etl.gold.model import build_fact_users

# The country's names are keys too (functions of the code but for the source's spellings), so
# the country dimension is built from this table as well.
KEYS = (
    "release",
    "country_code",
    "country_name",
    "country_name_source",
    "gender",
    "seniority_days",
)
WEIGHT = "_weight"


def _measures(w: Column) -> dict[str, Column]:
    """Each count as a weighted sum over fact rows (``w`` is 1 for a plain count)."""

    def count_if(condition: Column) -> Column:
        return F.sum(F.when(condition, w).otherwise(0)).cast("long")

    def total(value: str) -> Column:
        return F.sum(F.coalesce(F.col(value), F.lit(0)) * w).cast("long")

    known_app = F.col("has_any_app").isNotNull()
    # The funnel's later stages, counted twice: among every user (the funnel of a release with
    # no login data) and among active users (the funnel of a release with login data, where a
    # user whose login is unknown stops at 'registered'). Either way each stage is a subset of
    # the one before by construction.
    engaged = F.col("liked_or_wished")
    active_engaged = F.coalesce(F.col("is_active"), F.lit(False)) & engaged
    return {
        "users": F.sum(w).cast("long"),
        "buyers": count_if(F.col("is_buyer")),
        "top_buyers": count_if(F.col("is_top_buyer")),
        "sellers": count_if(F.col("is_seller")),
        "top_sellers": count_if(F.col("is_top_seller")),
        "products_bought": total("products_bought"),
        "products_sold": total("products_sold"),
        "products_listed": total("products_listed"),
        "users_with_login_data": count_if(F.col("is_active").isNotNull()),
        "active_users": count_if(F.col("is_active")),
        "liked_or_wished_users": count_if(engaged),
        "bought_or_sold_users": count_if(engaged & F.col("bought_or_sold")),
        "active_liked_or_wished_users": count_if(active_engaged),
        "active_bought_or_sold_users": count_if(active_engaged & F.col("bought_or_sold")),
        "users_with_app_data": count_if(known_app),
        "app_users": count_if(known_app & F.col("has_any_app")),
        "ios_users": count_if(known_app & F.col("has_ios_app")),
        "android_users": count_if(known_app & F.col("has_android_app")),
        "buyers_with_app_data": count_if(known_app & F.col("is_buyer")),
        "app_buyers": count_if(known_app & F.col("has_any_app") & F.col("is_buyer")),
        "followers": total("social_nb_followers"),
        "users_with_followers": count_if(F.col("social_nb_followers").isNotNull()),
    }


# The count columns, in table order (Columns need a live session, so ``_measures`` is late).
MEASURES = (
    "users",
    "buyers",
    "top_buyers",
    "sellers",
    "top_sellers",
    "products_bought",
    "products_sold",
    "products_listed",
    "users_with_login_data",
    "active_users",
    "liked_or_wished_users",
    "bought_or_sold_users",
    "active_liked_or_wished_users",
    "active_bought_or_sold_users",
    "users_with_app_data",
    "app_users",
    "ios_users",
    "android_users",
    "buyers_with_app_data",
    "app_buyers",
    "followers",
    "users_with_followers",
)


def count_users(fact: DataFrame) -> DataFrame:
    """The counts of ``fact`` rows (``fact_users`` columns and ``country_name``), each row
    weighing ``_weight`` when the frame has that column (+1 or -1 for a change), else 1."""
    w = F.col(WEIGHT) if WEIGHT in fact.columns else F.lit(1)
    measures = _measures(w)
    return fact.groupBy(*KEYS).agg(*[measures[n].alias(n) for n in MEASURES])


def add_counts(counts: DataFrame, delta: DataFrame) -> DataFrame:
    """``counts`` plus ``delta`` (same columns), row by row on the keys; groups left with no
    user are dropped, as a recount would not have them."""
    both = counts.unionByName(delta)
    # groupBy matches null keys (a user without a known gender) as equal, as a recount does.
    summed = both.groupBy(*KEYS).agg(*[F.sum(m).cast("long").alias(m) for m in MEASURES])
    return summed.filter(F.col("users") != 0)


def change_counts(feed: DataFrame) -> DataFrame:
    """The counts' change from silver users' change feed rows (several commits at once): +1
    for each insert and post-image, -1 for each pre-image and delete. Over consecutive
    commits the middle images cancel out, leaving new state minus old state per user."""
    sign = (
        F.when(F.col("_change_type").isin("insert", "update_postimage"), 1)
        .when(F.col("_change_type").isin("update_preimage", "delete"), -1)
        .otherwise(0)
    )
    return count_silver_users(feed.withColumn(WEIGHT, sign))


def count_silver_users(users: DataFrame) -> DataFrame:
    """The counts of silver users rows (with their ``_weight`` when they have one)."""
    extra = ("country_name", WEIGHT) if WEIGHT in users.columns else ("country_name",)
    return count_users(build_fact_users(users, extra=extra))
