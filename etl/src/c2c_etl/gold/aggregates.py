"""Aggregates for the business questions, each at a stated grain, all from ``fact_users``."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

TOP_N = 100


def _count_if(condition: Column) -> Column:
    return F.sum(F.when(condition, 1).otherwise(0)).cast("long")


def _pct(part: Column, whole: Column) -> Column:
    return F.round(F.try_divide(part * 100.0, whole), 2)


def aggregate_by_country_gender(fact: DataFrame, dim_country: DataFrame) -> DataFrame:
    """Grain: country_code x gender. Users, buyers and sellers with their products."""
    agg = fact.groupBy("country_code", "gender").agg(
        F.count(F.lit(1)).alias("users"),
        _count_if(F.col("is_buyer")).alias("buyers"),
        _count_if(F.col("is_top_buyer")).alias("top_buyers"),
        _count_if(F.col("is_seller")).alias("sellers"),
        _count_if(F.col("is_top_seller")).alias("top_sellers"),
        F.sum("products_bought").alias("products_bought"),
        F.sum("products_sold").alias("products_sold"),
        F.sum("products_listed").alias("products_listed"),
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
            "identifier_hash",
            "release",
            "country_code",
            "gender",
            measure,
            *[
                c
                for c in (
                    "products_bought",
                    "products_sold",
                    "products_listed",
                    "products_wished",
                    "social_nb_followers",
                )
                if c != measure
            ],
            F.lit(role).alias("role"),
        )
    )


def top_buyers(fact: DataFrame, n: int = TOP_N) -> DataFrame:
    """Grain: one row per rank (1..n): the users who bought most (ties by identifier)."""
    return _top(fact, "products_bought", "buyer", n)


def top_sellers(fact: DataFrame, n: int = TOP_N) -> DataFrame:
    """Grain: one row per rank (1..n): the users who sold most (ties by identifier)."""
    return _top(fact, "products_sold", "seller", n)


def aggregate_app_adoption(fact: DataFrame, dim_country: DataFrame) -> DataFrame:
    """Grain: country_code. Only users whose release reports app usage (2020) count."""
    known = fact.filter(F.col("has_any_app").isNotNull())
    agg = known.groupBy("country_code").agg(
        F.count(F.lit(1)).alias("users_with_app_data"),
        _count_if(F.col("has_any_app")).alias("app_users"),
        _count_if(F.col("has_ios_app")).alias("ios_users"),
        _count_if(F.col("has_android_app")).alias("android_users"),
        _count_if(F.col("has_any_app") & F.col("is_buyer")).alias("app_buyers"),
        _count_if(F.col("is_buyer")).alias("buyers"),
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
        "buyers",
        "app_buyers",
        _pct(F.col("app_buyers"), F.col("buyers")).alias("app_share_of_buyers_pct"),
    )


FUNNEL_STAGES = ("registered", "active", "liked_or_wished", "bought_or_sold")


def aggregate_engagement_funnel(fact: DataFrame) -> DataFrame:
    """Grain: release ('all' too) x stage. Each stage keeps only users who reached the ones
    before. 'active' is unknown where a release has no login data (2024): its count is null
    and the next stages continue from 'registered'."""
    reached_active = F.col("is_active")  # null when unknown
    passes_active = F.coalesce(reached_active, F.lit(True))
    engaged = passes_active & F.col("liked_or_wished")
    transacting = engaged & F.col("bought_or_sold")
    per_release = fact.select(
        F.col("release"), reached_active.alias("a"), engaged.alias("e"), transacting.alias("t")
    )
    both = per_release.unionByName(per_release.withColumn("release", F.lit("all")))
    counts = both.groupBy("release").agg(
        F.count(F.lit(1)).alias("registered"),
        F.when(F.count("a") > 0, _count_if(F.col("a"))).alias("active"),
        _count_if(F.col("e")).alias("liked_or_wished"),
        _count_if(F.col("t")).alias("bought_or_sold"),
    )
    stages = F.array(
        *[
            F.struct(
                F.lit(i + 1).alias("stage_order"),
                F.lit(s).alias("stage"),
                F.col(s).cast("long").alias("users"),
            )
            for i, s in enumerate(FUNNEL_STAGES)
        ]
    )
    long = counts.select("release", "registered", F.inline(stages))
    previous = Window.partitionBy("release").orderBy("stage_order")
    prev_known = F.last(F.col("users"), ignorenulls=True).over(
        previous.rowsBetween(Window.unboundedPreceding, -1)
    )
    return long.select(
        "release",
        "stage_order",
        "stage",
        "users",
        _pct(F.col("users"), F.col("registered")).alias("pct_of_registered"),
        _pct(F.col("users"), prev_known).alias("pct_of_previous_stage"),
    ).orderBy("release", "stage_order")


def aggregate_seniority_cohorts(fact: DataFrame) -> DataFrame:
    """Grain: release x seniority cohort (whole months since registration)."""
    return (
        fact.groupBy("release", "seniority_cohort_months")
        .agg(
            F.count(F.lit(1)).alias("users"),
            _count_if(F.col("is_buyer")).alias("buyers"),
            _count_if(F.col("is_seller")).alias("sellers"),
            _count_if(F.col("is_active")).alias("active_users"),
            F.sum("products_bought").alias("products_bought"),
            F.sum("products_sold").alias("products_sold"),
            F.round(F.avg("social_nb_followers"), 2).alias("mean_followers"),
        )
        .withColumn("buyer_rate_pct", _pct(F.col("buyers"), F.col("users")))
        .withColumn("seller_rate_pct", _pct(F.col("sellers"), F.col("users")))
        .orderBy("release", "seniority_cohort_months")
    )
