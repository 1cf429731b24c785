"""Silver publisher reports: the three published CSVs, typed, with their totals kept apart.

Each metric carries the rounding the publisher printed it with (worked out from the 2020 data,
see docs/data.md, "Publisher reports"): ``decimals`` is the number of decimals it was rounded to
(0 for counts and truncated percentages, 24 for the floor-divided means of the top-sellers
report, None for the one unrounded mean). The reconciliation uses it as its tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from c2c_etl.bronze.ingest import truncated_row
from c2c_etl.sources import REPORT_BUYERS, REPORT_SELLERS, REPORT_TOP_SELLERS, SourceKind


@dataclass(frozen=True)
class Metric:
    name: str
    decimals: int | None
    is_count: bool = False


def _counts(*names: str) -> list[Metric]:
    return [Metric(n, 0, is_count=True) for n in names]


def _rounded(decimals: int | None, *names: str) -> list[Metric]:
    return [Metric(n, decimals) for n in names]


REPORT_METRICS: dict[str, list[Metric]] = {
    REPORT_BUYERS.name: [
        *_counts("buyers", "topbuyers"),
        *_rounded(1, "topbuyerratio"),
        *_counts("femalebuyers", "malebuyers", "topfemalebuyers", "topmalebuyers"),
        *_rounded(1, "femalebuyersratio", "topfemalebuyersratio"),
        *_rounded(
            2,
            "boughtperwishlistratio",
            "boughtperlikeratio",
            "topboughtperwishlistratio",
            "topboughtperlikeratio",
        ),
        *_counts(
            "totalproductsbought",
            "totalproductswished",
            "totalproductsliked",
            "toptotalproductsbought",
            "toptotalproductswished",
            "toptotalproductsliked",
        ),
        *_rounded(
            1,
            "meanproductsbought",
            "meanproductswished",
            "meanproductsliked",
            "topmeanproductsbought",
            "topmeanproductswished",
            "topmeanproductsliked",
            "meanofflinedays",
            "topmeanofflinedays",
            "meanfollowers",
            "meanfollowing",
            "topmeanfollowers",
            "topmeanfollowing",
        ),
    ],
    REPORT_SELLERS.name: [
        *_counts("nbsellers"),
        *_rounded(2, "meanproductssold", "meanproductslisted", "meansellerpassrate"),
        *_counts("totalproductssold", "totalproductslisted"),
        *_rounded(2, "meanproductsbought", "meanproductswished", "meanproductsliked"),
        *_counts("totalbought", "totalwished", "totalproductsliked"),
        *_rounded(1, "meanfollowers", "meanfollows"),
        *_rounded(0, "percentofappusers", "percentofiosusers"),
        *_rounded(None, "meanseniority"),
    ],
    REPORT_TOP_SELLERS.name: [
        *_counts("sellers", "topsellers"),
        *_rounded(1, "topsellerratio", "femalesellersratio", "topfemalesellersratio"),
        *_counts("femalesellers", "malesellers", "topfemalesellers", "topmalesellers"),
        *_rounded(2, "countrysoldratio", "bestsoldratio"),
        *_counts(
            "toptotalproductssold",
            "totalproductssold",
            "toptotalproductslisted",
            "totalproductslisted",
        ),
        *_rounded(
            24,
            "topmeanproductssold",
            "topmeanproductslisted",
            "meanproductssold",
            "meanproductslisted",
        ),
        *_rounded(
            1,
            "meanofflinedays",
            "topmeanofflinedays",
            "meanfollowers",
            "meanfollowing",
            "topmeanfollowers",
            "topmeanfollowing",
        ),
    ],
}
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    REPORT_BUYERS.name: ("country",),
    REPORT_SELLERS.name: ("country", "sex"),
    REPORT_TOP_SELLERS.name: ("country",),
}
ALL_GROUPS = "(all)"  # the country (and sex) of a report's total rows


def _blank(c: Column) -> Column:
    return c.isNull() | (F.trim(c) == "")


def type_report(raw: DataFrame, kind: SourceKind) -> DataFrame:
    """Typed report rows plus ``_failed_rules`` (empty when the row is usable).

    Counts become BIGINT and other metrics DOUBLE; empty cells are NULL (the publisher leaves a
    cell empty when its denominator is zero). A cell with text in it, or a row without a
    country that is not a total row, fails.
    """
    metrics = REPORT_METRICS[kind.name]
    keys = KEY_COLUMNS[kind.name]
    typed = [
        F.trim(F.col(m.name)).try_cast("bigint" if m.is_count else "double").alias(m.name)
        for m in metrics
    ]
    as_double = [F.trim(F.col(m.name)).try_cast("double") for m in metrics]
    # NaN and the infinities cast to doubles, but no published figure is one.
    bad_number = F.greatest(
        F.lit(False),
        *[
            ~_blank(F.col(m.name)) & (d.isNull() | F.isnan(d) | (F.abs(d) == float("inf")))
            for m, d in zip(metrics, as_double, strict=True)
        ],
    )
    is_total = _blank(F.col("country")) if kind is REPORT_SELLERS else F.lit(False)
    missing_country = _blank(F.col("country")) & ~is_total
    failed = F.filter(
        F.array(
            F.when(F.col("_corrupt_record").isNotNull(), F.lit("malformed_row")),
            F.when(truncated_row(raw), F.lit("truncated_last_line")),
            F.when(bad_number, F.lit("invalid_number")),
            F.when(missing_country, F.lit("missing_country")),
        ),
        lambda x: x.isNotNull(),
    )
    key_values = [
        F.when(_blank(F.col(k)), F.lit(ALL_GROUPS)).otherwise(F.trim(F.col(k))).alias(k)
        for k in keys
    ]
    return raw.select(
        *key_values,
        *typed,
        is_total.alias("is_total"),
        failed.alias("_failed_rules"),
        F.to_json(F.struct(*[F.col(c) for c in kind.columns])).alias("raw_record"),
        F.col("_source_file").alias("source_file"),
        F.col("_source_sha256").alias("source_sha256"),
        F.col("_run_id").alias("run_id"),
        F.col("_ingested_at").alias("ingested_at"),
    )


def report_columns(kind: SourceKind) -> list[str]:
    """The silver report table's columns."""
    return [
        *KEY_COLUMNS[kind.name],
        *(m.name for m in REPORT_METRICS[kind.name]),
        "source_file",
        "source_sha256",
        "run_id",
        "ingested_at",
    ]
