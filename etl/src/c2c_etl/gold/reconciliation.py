"""Recompute the publisher's three reports from silver users and reconcile them.

Every figure of the reports is a count, a sum or a quotient of two, so the reports are computed
from additive sums (:func:`report_sums`, the table ``gold.agg_report_sums``): one row per
country, gender and report population, a few thousand in all. A full build scans silver once
for them; a run that changed a few users adds their change (:func:`change_report_sums`,
:func:`add_report_sums`), and the result equals a recount to the last digit (the pass rate is
summed as an exact decimal), so a delivery of 2020 users does not make the reconciliation read
every 2020 user again.

The definitions were worked out from the 2020 release, where they reproduce every published
figure (docs/data.md, "Publisher reports"):

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

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from c2c_etl.gold.model import TOP_BUYER_MIN_BOUGHT, TOP_SELLER_MIN_SOLD
from c2c_etl.silver.reports import ALL_GROUPS, REPORT_METRICS
from c2c_etl.sources import REPORT_BUYERS, REPORT_SELLERS, REPORT_TOP_SELLERS

# The publisher computed its reports from the 2020 users file.
REPORT_RELEASE = "2020"
KEYS = ("report", "country", "sex", "metric")
RECONCILIATION_SCHEMA = (
    "report string, country string, sex string, metric string, in_report boolean, "
    "published_value double, computed_value double, tolerance double, matches boolean"
)


# The silver columns the reports average or total, by the short name their sums carry.
VALUES = {
    "bought": "products_bought",
    "wished": "products_wished",
    "liked": "social_products_liked",
    "sold": "products_sold",
    "listed": "products_listed",
    "pass_rate": "products_pass_rate",
    "followers": "social_nb_followers",
    "follows": "social_nb_follows",
    "offline": "days_since_last_login",
    "seniority": "seniority_days",
}
# The pass rate (a double) is summed as an exact decimal, so a sum updated by a run's changes
# equals a recount to the last digit; the sources give it to one decimal.
PASS_RATE_SUM_TYPE = "decimal(38,6)"
# The groups the reports tell apart: a user's report populations come from these flags.
SUM_KEYS = (
    "country",
    "gender",
    "is_buyer",
    "is_top_buyer",
    "is_seller",
    "has_sold",
    "is_top_seller",
)
# Per group: its users, those with an app, with the iOS app, then each value's sum and count
# of non-null values.
SUM_MEASURES = (
    "users",
    "app_users",
    "ios_users",
    *[f"{kind}_{name}" for name in VALUES for kind in ("sum", "count")],
)
WEIGHT = "_weight"


def report_sums(users: DataFrame) -> DataFrame:
    """The additive sums the three reports are computed from: the silver users of the reports'
    release grouped by :data:`SUM_KEYS` (at most 36 groups per country spelling), each row
    weighing ``_weight`` when the frame has that column (+1 or -1 for a change, see
    :func:`change_report_sums`), else 1.

    One scan of silver gives all three reports, and a run that changed a few users adds their
    change to the stored sums instead of reading every user (c2c_etl.jobs.gold)."""
    weight = F.col(WEIGHT) if WEIGHT in users.columns else F.lit(1)
    w = F.col(WEIGHT)
    bought, sold, listed = (F.col(VALUES[n]) for n in ("bought", "sold", "listed"))

    def flag(condition: Column) -> Column:
        return F.coalesce(condition, F.lit(False))

    def value(name: str) -> Column:
        v = F.col(VALUES[name])
        return v.cast(PASS_RATE_SUM_TYPE) if name == "pass_rate" else v.cast("long")

    measures = [
        F.sum(w).cast("long").alias("users"),
        F.sum(F.when(F.col("has_any_app"), w).otherwise(0)).cast("long").alias("app_users"),
        F.sum(F.when(F.col("has_ios_app"), w).otherwise(0)).cast("long").alias("ios_users"),
    ]
    for name in VALUES:
        measures += [
            F.sum(value(name) * w).alias(f"sum_{name}"),
            F.sum(F.when(F.col(VALUES[name]).isNotNull(), w).otherwise(0))
            .cast("long")
            .alias(f"count_{name}"),
        ]
    return (
        users.filter(F.col("release") == REPORT_RELEASE)
        .select(
            F.col("country_name_source").alias("country"),
            "gender",
            flag(bought > 0).alias("is_buyer"),
            flag(bought >= TOP_BUYER_MIN_BOUGHT).alias("is_top_buyer"),
            flag((sold > 0) | (listed > 0)).alias("is_seller"),
            flag(sold > 0).alias("has_sold"),
            flag(sold >= TOP_SELLER_MIN_SOLD).alias("is_top_seller"),
            "has_any_app",
            "has_ios_app",
            *VALUES.values(),
            weight.alias(WEIGHT),
        )
        .groupBy(*SUM_KEYS)
        .agg(*measures)
    )


def change_report_sums(feed: DataFrame) -> DataFrame:
    """The sums' change from silver users' change feed rows: +1 for each insert and
    post-image, -1 for each pre-image and delete (the middle images of consecutive commits
    cancel out)."""
    sign = (
        F.when(F.col("_change_type").isin("insert", "update_postimage"), 1)
        .when(F.col("_change_type").isin("update_preimage", "delete"), -1)
        .otherwise(0)
    )
    return report_sums(feed.withColumn(WEIGHT, sign))


def add_report_sums(sums: DataFrame, delta: DataFrame) -> DataFrame:
    """``sums`` plus ``delta``, group by group. A group left with no user is dropped, and a sum
    left with no value is NULL, as a recount would give them."""
    summed = (
        sums.unionByName(delta)
        .groupBy(*SUM_KEYS)
        .agg(*[F.sum(m).alias(m) for m in SUM_MEASURES])
        .filter(F.col("users") != 0)
    )
    for name in VALUES:
        total, count = F.col(f"sum_{name}"), F.col(f"count_{name}")
        summed = summed.withColumn(f"sum_{name}", F.when(count != 0, total))
    for m in ("users", "app_users", "ios_users", *[f"count_{n}" for n in VALUES]):
        summed = summed.withColumn(m, F.col(m).cast("long"))
    return summed.select(*SUM_KEYS, *SUM_MEASURES)


def _n(condition: Column | None = None) -> Column:
    """Users of the group (meeting ``condition``), from the sums' rows."""
    users = F.col("users")
    return F.sum(users if condition is None else F.when(condition, users).otherwise(0))


def _total(name: str, condition: Column | None = None) -> Column:
    """Sum of a value over the group (NULL when no user has it), or over its members meeting
    ``condition`` (0 when the others exist: the published total over no top member is 0)."""
    total = F.col(f"sum_{name}")
    return F.sum(total if condition is None else F.when(condition, total).otherwise(0))


def _mean(name: str, condition: Column | None = None) -> Column:
    """Mean of a value over the group's users who have it (meeting ``condition``), as a
    double, NULL when none has it: what ``avg`` over the users' rows gives."""
    total, count = F.col(f"sum_{name}"), F.col(f"count_{name}")
    if condition is not None:
        total, count = F.when(condition, total), F.when(condition, count)
    return F.try_divide(F.sum(total).cast("double"), F.when(F.sum(count) != 0, F.sum(count)))


def _div(a: Column, b: Column, scale: float = 1.0) -> Column:
    """a * scale / b as a double, NULL when b is 0 (the publisher's empty cell)."""
    return F.try_divide(a.cast("double") * scale, F.when(b != 0, b))


def _female() -> Column:
    return F.col("gender") == "F"


def _male() -> Column:
    return F.col("gender") == "M"


def _activity_means(top: Column) -> list[Column]:
    """Offline days and followers, over the group and over its top members (1 decimal)."""
    return [
        F.round(_mean("offline"), 1).alias("meanofflinedays"),
        F.round(_mean("offline", top), 1).alias("topmeanofflinedays"),
        F.round(_mean("followers"), 1).alias("meanfollowers"),
        F.round(_mean("follows"), 1).alias("meanfollowing"),
        F.round(_mean("followers", top), 1).alias("topmeanfollowers"),
        F.round(_mean("follows", top), 1).alias("topmeanfollowing"),
    ]


def _buyers(sums: DataFrame) -> DataFrame:
    top, female, male = F.col("is_top_buyer"), _female(), _male()
    means = (("productsbought", "bought"), ("productswished", "wished"), ("productsliked", "liked"))
    return (
        sums.filter("is_buyer")
        .groupBy(F.col("country").alias("country"))  # fresh: two reports of one sums frame join
        .agg(
            _n().alias("buyers"),
            _n(top).alias("topbuyers"),
            F.round(_div(_n(top), _n(), 100), 1).alias("topbuyerratio"),
            _n(female).alias("femalebuyers"),
            _n(male).alias("malebuyers"),
            _n(top & female).alias("topfemalebuyers"),
            _n(top & male).alias("topmalebuyers"),
            F.round(_div(_n(female), _n(), 100), 1).alias("femalebuyersratio"),
            F.round(_div(_n(top & female), _n(top), 100), 1).alias("topfemalebuyersratio"),
            F.round(_div(_total("bought"), _total("wished"), 100), 2).alias(
                "boughtperwishlistratio"
            ),
            F.round(_div(_total("bought"), _total("liked"), 100), 2).alias("boughtperlikeratio"),
            F.round(_div(_total("bought", top), _total("wished", top), 100), 2).alias(
                "topboughtperwishlistratio"
            ),
            F.round(_div(_total("bought", top), _total("liked", top), 100), 2).alias(
                "topboughtperlikeratio"
            ),
            _total("bought").alias("totalproductsbought"),
            _total("wished").alias("totalproductswished"),
            _total("liked").alias("totalproductsliked"),
            _total("bought", top).alias("toptotalproductsbought"),
            _total("wished", top).alias("toptotalproductswished"),
            _total("liked", top).alias("toptotalproductsliked"),
            *[F.round(_mean(v), 1).alias(f"mean{n}") for n, v in means],
            *[F.round(_mean(v, top), 1).alias(f"topmean{n}") for n, v in means],
            *_activity_means(top),
        )
    )


def _seller_metrics() -> list[Column]:
    app_users, ios_users = F.sum("app_users"), F.sum("ios_users")
    return [
        _n().alias("nbsellers"),
        F.round(_mean("sold"), 2).alias("meanproductssold"),
        F.round(_mean("listed"), 2).alias("meanproductslisted"),
        F.round(_mean("pass_rate"), 2).alias("meansellerpassrate"),
        _total("sold").alias("totalproductssold"),
        _total("listed").alias("totalproductslisted"),
        F.round(_mean("bought"), 2).alias("meanproductsbought"),
        F.round(_mean("wished"), 2).alias("meanproductswished"),
        F.round(_mean("liked"), 2).alias("meanproductsliked"),
        _total("bought").alias("totalbought"),
        _total("wished").alias("totalwished"),
        _total("liked").alias("totalproductsliked"),
        F.round(_mean("followers"), 1).alias("meanfollowers"),
        F.round(_mean("follows"), 1).alias("meanfollows"),
        # Empty, not 0, when nobody in the group has the app.
        F.floor(_div(F.when(app_users > 0, app_users), _n(), 100))
        .cast("double")
        .alias("percentofappusers"),
        F.floor(_div(F.when(ios_users > 0, ios_users), _n(), 100))
        .cast("double")
        .alias("percentofiosusers"),
        _mean("seniority").alias("meanseniority"),
    ]


def _sellers_by_gender(sums: DataFrame) -> DataFrame:
    """Per country and sex, per sex over all countries, and overall: the three groupings as
    grouping sets of a cube (its fourth, per country over both sexes, dropped)."""
    sex = F.when(_female(), "Female").when(_male(), "Male")
    s = sums.filter("is_seller").withColumn("sex", sex)
    # grouping_id(): bit 1 set when the country is rolled up, bit 0 when the sex is.
    grouped = s.cube("country", "sex").agg(*_seller_metrics(), F.grouping_id().alias("_set"))
    return grouped.filter(F.col("_set") != 1).select(
        F.when(F.col("_set") >= 2, F.lit(ALL_GROUPS)).otherwise(F.col("country")).alias("country"),
        F.when(F.col("_set") == 3, F.lit(ALL_GROUPS)).otherwise(F.col("sex")).alias("sex"),
        *[c for c in grouped.columns if c not in ("country", "sex", "_set")],
    )


def _top_sellers(sums: DataFrame) -> DataFrame:
    top, female, male = F.col("is_top_seller"), _female(), _male()
    return (
        sums.filter("has_sold")
        .groupBy(F.col("country").alias("country"))  # fresh: two reports of one sums frame join
        .agg(
            _n().alias("sellers"),
            _n(top).alias("topsellers"),
            F.round(_div(_n(top), _n(), 100), 1).alias("topsellerratio"),
            F.round(_div(_n(female), _n(), 100), 1).alias("femalesellersratio"),
            F.round(_div(_n(top & female), _n(top), 100), 1).alias("topfemalesellersratio"),
            _n(female).alias("femalesellers"),
            _n(male).alias("malesellers"),
            _n(top & female).alias("topfemalesellers"),
            _n(top & male).alias("topmalesellers"),
            F.round(_div(_total("sold"), _total("listed")), 2).alias("countrysoldratio"),
            F.round(_div(_total("sold", top), _total("listed", top)), 2).alias("bestsoldratio"),
            _total("sold", top).alias("toptotalproductssold"),
            _total("sold").alias("totalproductssold"),
            _total("listed", top).alias("toptotalproductslisted"),
            _total("listed").alias("totalproductslisted"),
            # Published floored to 24 decimals; a double holds the quotient to ~16 digits.
            _div(_total("sold", top), _n(top)).alias("topmeanproductssold"),
            _div(_total("listed", top), _n(top)).alias("topmeanproductslisted"),
            _div(_total("sold"), _n()).alias("meanproductssold"),
            _div(_total("listed"), _n()).alias("meanproductslisted"),
            *_activity_means(top),
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


def report_figures(table: DataFrame, report: str) -> DataFrame:
    """The figures of a publisher report's silver table: (report, country, sex, metric,
    published_value) rows, one per cell, empty cells included."""
    return _long(table, report, "published_value")


def stored_figures(recon: DataFrame, report: str) -> DataFrame:
    """The same figures as a reconciliation built from that table holds them: its rows in the
    report (``in_report``), whatever their published value."""
    return recon.filter(F.col("in_report") & (F.col("report") == report)).select(
        *KEYS, "published_value"
    )


def recompute_report(sums: DataFrame, report: str) -> DataFrame:
    """One publisher report (wide) recomputed from :func:`report_sums`."""
    return RECOMPUTE[report](sums)


def reconcile(sums: DataFrame, published: dict[str, DataFrame]) -> DataFrame:
    """One row per report, country, sex and metric: published against recomputed values
    (from :func:`report_sums`).

    ``published`` maps report names to their published figures: :func:`report_figures` of
    their silver tables (the sellers report with its total rows unioned back in), or
    :func:`stored_figures` of a reconciliation built from those same tables. A row is
    ``in_report`` when the report has it (its cell may be empty); a group only the
    recomputation finds is not. A value matches when both are empty, or when they differ by at
    most half a unit of the published rounding (and a double's precision).
    """
    spark = sums.sparkSession
    tolerances = spark.createDataFrame(
        [
            (r, m.name, 0.5 * 10.0**-m.decimals if m.decimals is not None else 0.0)
            for r, ms in REPORT_METRICS.items()
            for m in ms
        ],
        "report string, metric string, rounding double",
    )
    if not published:
        return spark.createDataFrame([], RECONCILIATION_SCHEMA)
    # Every report's figures against every report's recomputation in one join (the report is
    # a key): one shuffle of each side, where a join per report is one per report and side.
    computed = reduce(
        DataFrame.unionByName,
        [_long(recompute_report(sums, report), report, "computed_value") for report in published],
    )
    pub = reduce(
        DataFrame.unionByName,
        [figures.select(*KEYS, "published_value") for figures in published.values()],
    ).withColumn("in_report", F.lit(True))
    # Null-safe on every key: reports without a sex column have NULL there.
    on = [pub[k].eqNullSafe(computed[k]) for k in KEYS]
    joined = (
        pub.join(computed, on, "full")
        .select(
            *[F.coalesce(pub[k], computed[k]).alias(k) for k in KEYS],
            F.coalesce(pub["in_report"], F.lit(False)).alias("in_report"),
            "published_value",
            "computed_value",
        )
        .join(F.broadcast(tolerances), ["report", "metric"], "left")
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
        "in_report",
        "published_value",
        "computed_value",
        tolerance.alias("tolerance"),
        matches.alias("matches"),
    )
