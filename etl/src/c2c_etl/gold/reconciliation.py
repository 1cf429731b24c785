"""Recompute the publisher's three reports from silver users and reconcile them.

The definitions were worked out from the 2020 release, where they reproduce every published
figure (see README 'Publisher reports'):

* buyers report: buyers bought at least one product; top buyers bought 10 or more.
* sellers-by-gender report: a seller sold *or listed* at least one product; the totals are
  recomputed over the users of each total group (not summed from the country rows); app
  percentages are truncated to whole numbers and empty when nobody in the group has the app.
* top-sellers report: a seller sold at least one product; top sellers sold 20 or more; only
  countries with a top seller are listed.
* Rounding is half-up (Spark ``round``, not ``bround``), applied once to the exact quotient.
  Empty cells come from zero denominators.
"""

from __future__ import annotations

from functools import reduce
from types import SimpleNamespace

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from c2c_etl.gold.model import TOP_BUYER_MIN_BOUGHT, TOP_SELLER_MIN_SOLD
from c2c_etl.silver.reports import ALL_GROUPS, REPORT_METRICS
from c2c_etl.sources import REPORT_BUYERS, REPORT_SELLERS, REPORT_TOP_SELLERS

# The publisher computed its reports from the 2020 users file.
REPORT_RELEASE = "2020"
KEYS = ("report", "country", "sex", "metric")
RECONCILIATION_SCHEMA = (
    "report string, country string, sex string, metric string, published_value double, "
    "computed_value double, tolerance double, matches boolean"
)


def _cols() -> SimpleNamespace:
    """The silver users columns the reports use (Columns need a live session, so built late)."""
    return SimpleNamespace(
        bought=F.col("products_bought"),
        wished=F.col("products_wished"),
        liked=F.col("social_products_liked"),
        sold=F.col("products_sold"),
        listed=F.col("products_listed"),
        followers=F.col("social_nb_followers"),
        follows=F.col("social_nb_follows"),
        offline=F.col("days_since_last_login"),
        top=F.col("is_top"),
        female=F.col("gender") == "F",
        male=F.col("gender") == "M",
    )


def _n(condition: Column | None = None) -> Column:
    return F.count(F.lit(1)) if condition is None else F.sum(F.when(condition, 1).otherwise(0))


def _tsum(value: Column) -> Column:
    """Sum over the top group (0 when the group is empty, as published)."""
    return F.sum(F.when(F.col("is_top"), value).otherwise(0))


def _tavg(value: Column) -> Column:
    """Mean over the top group (NULL when the group is empty, as published)."""
    return F.avg(F.when(F.col("is_top"), value.cast("double")))


def _div(a: Column, b: Column, scale: float = 1.0) -> Column:
    """a * scale / b as a double, NULL when b is 0 (the publisher's empty cell)."""
    return F.try_divide(a.cast("double") * scale, F.when(b != 0, b))


def _activity_means(c: SimpleNamespace) -> list[Column]:
    """Offline days and followers, over the group and over its top members (1 decimal)."""
    return [
        F.round(F.avg(c.offline.cast("double")), 1).alias("meanofflinedays"),
        F.round(_tavg(c.offline), 1).alias("topmeanofflinedays"),
        F.round(F.avg(c.followers.cast("double")), 1).alias("meanfollowers"),
        F.round(F.avg(c.follows.cast("double")), 1).alias("meanfollowing"),
        F.round(_tavg(c.followers), 1).alias("topmeanfollowers"),
        F.round(_tavg(c.follows), 1).alias("topmeanfollowing"),
    ]


def _buyers(users: DataFrame) -> DataFrame:
    c = _cols()
    means = (("productsbought", c.bought), ("productswished", c.wished), ("productsliked", c.liked))
    b = users.filter(c.bought > 0).withColumn("is_top", c.bought >= TOP_BUYER_MIN_BOUGHT)
    return b.groupBy(F.col("country_name_source").alias("country")).agg(
        _n().alias("buyers"),
        _n(c.top).alias("topbuyers"),
        F.round(_div(_n(c.top), _n(), 100), 1).alias("topbuyerratio"),
        _n(c.female).alias("femalebuyers"),
        _n(c.male).alias("malebuyers"),
        _n(c.top & c.female).alias("topfemalebuyers"),
        _n(c.top & c.male).alias("topmalebuyers"),
        F.round(_div(_n(c.female), _n(), 100), 1).alias("femalebuyersratio"),
        F.round(_div(_n(c.top & c.female), _n(c.top), 100), 1).alias("topfemalebuyersratio"),
        F.round(_div(F.sum(c.bought), F.sum(c.wished), 100), 2).alias("boughtperwishlistratio"),
        F.round(_div(F.sum(c.bought), F.sum(c.liked), 100), 2).alias("boughtperlikeratio"),
        F.round(_div(_tsum(c.bought), _tsum(c.wished), 100), 2).alias("topboughtperwishlistratio"),
        F.round(_div(_tsum(c.bought), _tsum(c.liked), 100), 2).alias("topboughtperlikeratio"),
        F.sum(c.bought).alias("totalproductsbought"),
        F.sum(c.wished).alias("totalproductswished"),
        F.sum(c.liked).alias("totalproductsliked"),
        _tsum(c.bought).alias("toptotalproductsbought"),
        _tsum(c.wished).alias("toptotalproductswished"),
        _tsum(c.liked).alias("toptotalproductsliked"),
        *[F.round(F.avg(v.cast("double")), 1).alias(f"mean{n}") for n, v in means],
        *[F.round(_tavg(v), 1).alias(f"topmean{n}") for n, v in means],
        *_activity_means(c),
    )


def _seller_metrics() -> list[Column]:
    c = _cols()
    app_users = F.sum(F.when(F.col("has_any_app"), 1))  # NULL, not 0, when nobody has it
    ios_users = F.sum(F.when(F.col("has_ios_app"), 1))
    return [
        _n().alias("nbsellers"),
        F.round(F.avg(c.sold.cast("double")), 2).alias("meanproductssold"),
        F.round(F.avg(c.listed.cast("double")), 2).alias("meanproductslisted"),
        F.round(F.avg("products_pass_rate"), 2).alias("meansellerpassrate"),
        F.sum(c.sold).alias("totalproductssold"),
        F.sum(c.listed).alias("totalproductslisted"),
        F.round(F.avg(c.bought.cast("double")), 2).alias("meanproductsbought"),
        F.round(F.avg(c.wished.cast("double")), 2).alias("meanproductswished"),
        F.round(F.avg(c.liked.cast("double")), 2).alias("meanproductsliked"),
        F.sum(c.bought).alias("totalbought"),
        F.sum(c.wished).alias("totalwished"),
        F.sum(c.liked).alias("totalproductsliked"),
        F.round(F.avg(c.followers.cast("double")), 1).alias("meanfollowers"),
        F.round(F.avg(c.follows.cast("double")), 1).alias("meanfollows"),
        F.floor(_div(app_users, _n(), 100)).cast("double").alias("percentofappusers"),
        F.floor(_div(ios_users, _n(), 100)).cast("double").alias("percentofiosusers"),
        F.avg(F.col("seniority_days").cast("double")).alias("meanseniority"),
    ]


def _sellers_by_gender(users: DataFrame) -> DataFrame:
    """Per country and sex, per sex over all countries, and overall: one scan, the three
    groupings as grouping sets of a cube (its fourth, per country over both sexes, dropped)."""
    c = _cols()
    s = users.filter((c.sold > 0) | (c.listed > 0)).select(
        F.col("country_name_source").alias("country"),
        F.when(c.female, "Female").when(c.male, "Male").alias("sex"),
        *[
            F.col(n)
            for n in (
                "products_sold",
                "products_listed",
                "products_pass_rate",
                "products_bought",
                "products_wished",
                "social_products_liked",
                "social_nb_followers",
                "social_nb_follows",
                "has_any_app",
                "has_ios_app",
                "seniority_days",
            )
        ],
    )
    # grouping_id(): bit 1 set when the country is rolled up, bit 0 when the sex is.
    grouped = s.cube("country", "sex").agg(*_seller_metrics(), F.grouping_id().alias("_set"))
    return grouped.filter(F.col("_set") != 1).select(
        F.when(F.col("_set") >= 2, F.lit(ALL_GROUPS)).otherwise(F.col("country")).alias("country"),
        F.when(F.col("_set") == 3, F.lit(ALL_GROUPS)).otherwise(F.col("sex")).alias("sex"),
        *[c for c in grouped.columns if c not in ("country", "sex", "_set")],
    )


def _top_sellers(users: DataFrame) -> DataFrame:
    c = _cols()
    s = users.filter(c.sold > 0).withColumn("is_top", c.sold >= TOP_SELLER_MIN_SOLD)
    return (
        s.groupBy(F.col("country_name_source").alias("country"))
        .agg(
            _n().alias("sellers"),
            _n(c.top).alias("topsellers"),
            F.round(_div(_n(c.top), _n(), 100), 1).alias("topsellerratio"),
            F.round(_div(_n(c.female), _n(), 100), 1).alias("femalesellersratio"),
            F.round(_div(_n(c.top & c.female), _n(c.top), 100), 1).alias("topfemalesellersratio"),
            _n(c.female).alias("femalesellers"),
            _n(c.male).alias("malesellers"),
            _n(c.top & c.female).alias("topfemalesellers"),
            _n(c.top & c.male).alias("topmalesellers"),
            F.round(_div(F.sum(c.sold), F.sum(c.listed)), 2).alias("countrysoldratio"),
            F.round(_div(_tsum(c.sold), _tsum(c.listed)), 2).alias("bestsoldratio"),
            _tsum(c.sold).alias("toptotalproductssold"),
            F.sum(c.sold).alias("totalproductssold"),
            _tsum(c.listed).alias("toptotalproductslisted"),
            F.sum(c.listed).alias("totalproductslisted"),
            # Published floored to 24 decimals; a double holds the quotient to ~16 digits.
            _div(_tsum(c.sold), _n(c.top)).alias("topmeanproductssold"),
            _div(_tsum(c.listed), _n(c.top)).alias("topmeanproductslisted"),
            _div(F.sum(c.sold), _n()).alias("meanproductssold"),
            _div(F.sum(c.listed), _n()).alias("meanproductslisted"),
            *_activity_means(c),
        )
        .filter(F.col("topsellers") > 0)
    )


RECOMPUTE = {
    REPORT_BUYERS.name: _buyers,
    REPORT_SELLERS.name: _sellers_by_gender,
    REPORT_TOP_SELLERS.name: _top_sellers,
}


def _long(wide: DataFrame, report: str, value_name: str) -> DataFrame:
    """(report, country, sex, metric, value) rows of a wide report frame."""
    metrics: list[Column | str] = [m.name for m in REPORT_METRICS[report]]
    if "sex" not in wide.columns:
        wide = wide.withColumn("sex", F.lit(None).cast("string"))
    wide = wide.select("country", "sex", *[F.col(str(m)).cast("double") for m in metrics])
    return wide.unpivot(["country", "sex"], metrics, "metric", value_name).withColumn(
        "report", F.lit(report)
    )


def recompute_report(users: DataFrame, report: str) -> DataFrame:
    """One publisher report recomputed from silver users of the report's release (wide)."""
    return RECOMPUTE[report](users.filter(F.col("release") == REPORT_RELEASE))


def reconcile(users: DataFrame, published: dict[str, DataFrame]) -> DataFrame:
    """One row per report, country, sex and metric: published against recomputed values.

    ``published`` maps report names to their silver tables (the sellers report with its total
    rows unioned back in). A value matches when both are empty, or when they differ by at most
    half a unit of the published rounding (and a double's precision).
    """
    spark = users.sparkSession
    tolerances = spark.createDataFrame(
        [
            (r, m.name, 0.5 * 10.0**-m.decimals if m.decimals is not None else 0.0)
            for r, ms in REPORT_METRICS.items()
            for m in ms
        ],
        "report string, metric string, rounding double",
    )
    parts = []
    for report, table in published.items():
        computed = _long(recompute_report(users, report), report, "computed_value")
        pub = _long(table, report, "published_value")
        # Null-safe on every key: reports without a sex column have NULL there.
        on = [pub[k].eqNullSafe(computed[k]) for k in KEYS]
        parts.append(
            pub.join(computed, on, "full").select(
                *[F.coalesce(pub[k], computed[k]).alias(k) for k in KEYS],
                "published_value",
                "computed_value",
            )
        )
    if not parts:
        return spark.createDataFrame([], RECONCILIATION_SCHEMA)
    joined = reduce(DataFrame.unionByName, parts).join(
        F.broadcast(tolerances), ["report", "metric"], "left"
    )
    published_value, computed_value = F.col("published_value"), F.col("computed_value")
    tolerance = F.greatest(F.col("rounding"), F.abs(published_value) * 1e-12)
    matches = (
        F.when(published_value.isNull() & computed_value.isNull(), True)
        .when(published_value.isNull() | computed_value.isNull(), False)
        .otherwise(F.abs(published_value - computed_value) <= tolerance)
    )
    return joined.select(
        "report",
        "country",
        "sex",
        "metric",
        "published_value",
        "computed_value",
        tolerance.alias("tolerance"),
        matches.alias("matches"),
    ).orderBy("report", "country", "sex", "metric")
