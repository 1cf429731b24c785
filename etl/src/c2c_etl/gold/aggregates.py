"""Aggregates for the business questions, each at a stated grain.

Four of them are small aggregates of the additive user counts (``c2c_etl.gold.counts``), which a
run keeps up to date from silver's change feed. The top-100 tables are top-k scans of
``fact_users``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

TOP_N = 100


def _pct(part: Column, whole: Column) -> Column:
    return F.round(F.try_divide(part * 100.0, whole), 2)


def _sum(*names: str) -> list[Column]:
    return [F.sum(n).cast("long").alias(n) for n in names]


def aggregate_by_country_gender(counts: DataFrame, dim_country: DataFrame) -> DataFrame:
    """Grain: country_code x gender. Users, buyers and sellers with their products."""
    agg = counts.groupBy("country_code", "gender").agg(
        *_sum(
            "users",
            "buyers",
            "top_buyers",
            "sellers",
            "top_sellers",
            "products_bought",
            "products_sold",
            "products_listed",
        )
    )
    names = F.broadcast(dim_country.select("country_code", "country_name"))
    return agg.join(names, "country_code", "left").select(
        "country_code",
        "country_name",
        "gender",
        "users",
        "buyers",
        "top_buyers",
        "sellers",
        "top_sellers",
        _pct(F.col("buyers"), F.col("users")).alias("buyer_rate_pct"),
        _pct(F.col("sellers"), F.col("users")).alias("seller_rate_pct"),
        "products_bought",
        "products_sold",
        "products_listed",
    )


# The fact columns a top table carries besides its rank and role: its measure is one of them.
TOP_FACT_COLUMNS = (
    "identifier_hash",
    "release",
    "country_code",
    "gender",
    "products_bought",
    "products_sold",
    "products_listed",
    "products_wished",
    "social_nb_followers",
)
# Role -> measure of the two top tables (``gold.top_buyers``, ``gold.top_sellers``).
TOP_MEASURES = {"buyer": "products_bought", "seller": "products_sold"}


def _top(fact: DataFrame, measure: str, role: str, n: int) -> DataFrame:
    order = [F.col(measure).desc(), F.col("identifier_hash").asc()]
    # A top-k (orderBy + limit) first, so the ranking window sorts n rows, not every user.
    return (
        fact.filter(F.col(measure) > 0)
        .orderBy(*order)
        .limit(n)
        .withColumn("rank", F.row_number().over(Window.orderBy(*order)))
        .select(
            "rank",
            *TOP_FACT_COLUMNS[:4],
            measure,
            *[c for c in TOP_FACT_COLUMNS[4:] if c != measure],
            F.lit(role).alias("role"),
        )
    )


def top_buyers(fact: DataFrame, n: int = TOP_N) -> DataFrame:
    """Grain: one row per rank (1..n): the users who bought most (ties by identifier)."""
    return _top(fact, TOP_MEASURES["buyer"], "buyer", n)


def top_sellers(fact: DataFrame, n: int = TOP_N) -> DataFrame:
    """Grain: one row per rank (1..n): the users who sold most (ties by identifier)."""
    return _top(fact, TOP_MEASURES["seller"], "seller", n)


def update_top(stored: DataFrame, changed: DataFrame, role: str, n: int = TOP_N) -> DataFrame:
    """A top table (``stored``) after some users changed, none of whom is in it: the top ``n``
    of its rows and the changed users' new fact rows (``changed``).

    Exact: the stored rows are the best ``n`` of the users who did not change (no changed
    user is among them), and a user outside them cannot have climbed without changing. The
    caller checks that no changed user is in ``stored``; if one is, rebuild instead.
    """
    columns = list(TOP_FACT_COLUMNS)
    rows = stored.select(*columns).unionByName(changed.select(*columns))
    return _top(rows, TOP_MEASURES[role], role, n)


def aggregate_app_adoption(counts: DataFrame, dim_country: DataFrame) -> DataFrame:
    """Grain: country_code. Only users whose release reports app usage (2020) count."""
    agg = (
        counts.groupBy("country_code")
        .agg(
            *_sum(
                "users_with_app_data",
                "app_users",
                "ios_users",
                "android_users",
                "buyers_with_app_data",
                "app_buyers",
            )
        )
        .filter(F.col("users_with_app_data") > 0)
    )
    names = F.broadcast(dim_country.select("country_code", "country_name"))
    return agg.join(names, "country_code", "left").select(
        "country_code",
        "country_name",
        "users_with_app_data",
        "app_users",
        "ios_users",
        "android_users",
        _pct(F.col("app_users"), F.col("users_with_app_data")).alias("app_adoption_pct"),
        _pct(F.col("ios_users"), F.col("users_with_app_data")).alias("ios_adoption_pct"),
        _pct(F.col("android_users"), F.col("users_with_app_data")).alias("android_adoption_pct"),
        F.col("buyers_with_app_data").alias("buyers"),
        "app_buyers",
        _pct(F.col("app_buyers"), F.col("buyers_with_app_data")).alias("app_share_of_buyers_pct"),
    )


FUNNEL_STAGES = ("registered", "active", "liked_or_wished", "bought_or_sold")


def aggregate_engagement_funnel(counts: DataFrame) -> DataFrame:
    """Grain: release x stage, the stages a release measures. Each stage counts the users who
    reached every stage before it, so the stages nest by construction. A release with login
    data (2020) has all four, and its users whose login is unknown stop at 'registered'; a
    release without (2024) has no 'active' row and its later stages count from 'registered'.
    There is no row for both releases together: their funnels have different stages, so a
    report picks one release."""
    per_release = counts.groupBy("release").agg(
        *_sum(
            "users",
            "users_with_login_data",
            "active_users",
            "liked_or_wished_users",
            "bought_or_sold_users",
            "active_liked_or_wished_users",
            "active_bought_or_sold_users",
        )
    )
    with_login = F.col("users_with_login_data") > 0
    stage_users = {
        "registered": F.col("users"),
        "active": F.when(with_login, F.col("active_users")),
        "liked_or_wished": F.when(with_login, F.col("active_liked_or_wished_users")).otherwise(
            F.col("liked_or_wished_users")
        ),
        "bought_or_sold": F.when(with_login, F.col("active_bought_or_sold_users")).otherwise(
            F.col("bought_or_sold_users")
        ),
    }
    stages = F.array(
        *[
            F.struct(
                F.lit(i + 1).alias("stage_order"),
                F.lit(s).alias("stage"),
                stage_users[s].cast("long").alias("users"),
            )
            for i, s in enumerate(FUNNEL_STAGES)
        ]
    )
    long = per_release.select(
        "release", F.col("users").alias("registered"), F.inline(stages)
    ).filter(F.col("users").isNotNull())
    previous = F.lag("users").over(Window.partitionBy("release").orderBy("stage_order"))
    return long.select(
        "release",
        "stage_order",
        "stage",
        "users",
        _pct(F.col("users"), F.col("registered")).alias("pct_of_registered"),
        _pct(F.col("users"), previous).alias("pct_of_previous_stage"),
    ).orderBy("release", "stage_order")


def aggregate_seniority_cohorts(counts: DataFrame) -> DataFrame:
    """Grain: release x registration day (days since registration). A day, not a month: the
    source's registrations cluster within days, so month cohorts would put nearly every user
    of a release into one or two. ``active_users`` is NULL where the cohort has no login data
    (unknown, as everywhere in gold), not 0."""
    agg = counts.groupBy("release", "seniority_days").agg(
        *_sum(
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
    )
    # avg() of an int column is its sum as a double over the non-null count: the same here.
    mean = F.try_divide(F.col("followers").cast("double"), F.col("users_with_followers"))
    return (
        agg.select(
            "release",
            "seniority_days",
            "users",
            "buyers",
            "sellers",
            F.when(F.col("users_with_login_data") > 0, F.col("active_users")).alias("active_users"),
            "products_bought",
            "products_sold",
            F.round(mean, 2).alias("mean_followers"),
        )
        .withColumn("buyer_rate_pct", _pct(F.col("buyers"), F.col("users")))
        .withColumn("seller_rate_pct", _pct(F.col("sellers"), F.col("users")))
        .orderBy("release", "seniority_days")
    )
