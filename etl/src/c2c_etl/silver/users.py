"""Silver users: both releases conformed to one typed schema, checked, deduplicated.

Pure functions of DataFrames (no I/O): ``conform_users`` types and standardises one release's
bronze rows, ``user_rules`` lists the quality rules with their policies, ``rank_versions``
marks the one winning version per ``identifier_hash`` (``VERSION_ORDER``, which
``newer_condition`` turns into the MERGE's condition). The MERGE itself is ``c2c_etl.io.upsert``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from c2c_etl.bronze.ingest import TRUNCATED_PREFIX
from c2c_etl.silver.countries import iso_codes, language_codes
from c2c_etl.silver.quality import (
    FLAG_RULES_COL,
    QUARANTINE_RULES_COL,
    Policy,
    Rule,
    quarantined,
)
from c2c_etl.sources import USERS_2020, USERS_2024, SourceKind

# Every raw users column of either release.
RAW_USER_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys([*USERS_2020.columns, *USERS_2024.columns]))

# source column -> (silver column, Spark type)
COUNT_COLUMNS = {
    "socialNbFollowers": "social_nb_followers",
    "socialNbFollows": "social_nb_follows",
    "socialProductsLiked": "social_products_liked",
    "productsListed": "products_listed",
    "productsSold": "products_sold",
    "productsWished": "products_wished",
    "productsBought": "products_bought",
}
NUMBER_COLUMNS: dict[str, tuple[str, str]] = {
    **{src: (dst, "int") for src, dst in COUNT_COLUMNS.items()},
    "productsPassRate": ("products_pass_rate", "double"),
    "civilityGenderId": ("civility_gender_id", "int"),
    "daysSinceLastLogin": ("days_since_last_login", "int"),
    "seniority": ("seniority_days", "int"),
    "seniorityAsMonths": ("seniority_months", "double"),
    "seniorityAsYears": ("seniority_years", "double"),
    "websiteLongevity": ("website_longevity_days", "int"),
}
BOOLEAN_COLUMNS = {
    "hasAnyApp": "has_any_app",
    "hasAndroidApp": "has_android_app",
    "hasIosApp": "has_ios_app",
    "hasProfilePicture": "has_profile_picture",
}
GENDERS = ("F", "M")
CIVILITY_TITLES = ("mr", "mrs", "miss")

# The silver users table, in column order.
SILVER_USER_COLUMNS: tuple[str, ...] = (
    "identifier_hash",
    "release",
    "user_type",
    "country_code",
    "country_name",
    "country_name_source",
    "language",
    "gender",
    "civility_title",
    "civility_gender_id",
    "social_nb_followers",
    "social_nb_follows",
    "social_products_liked",
    "products_listed",
    "products_sold",
    "products_pass_rate",
    "products_wished",
    "products_bought",
    "has_any_app",
    "has_android_app",
    "has_ios_app",
    "has_profile_picture",
    "days_since_last_login",
    "seniority_days",
    "seniority_months",
    "seniority_years",
    "website_longevity_days",
    FLAG_RULES_COL,
    "record_hash",
    "source_file",
    "source_sha256",
    "run_id",
    "ingested_at",
)
# Columns that describe the user (the record hash covers these, not the lineage).
BUSINESS_COLUMNS = SILVER_USER_COLUMNS[: SILVER_USER_COLUMNS.index(FLAG_RULES_COL)]


def _blank(c: Column) -> Column:
    return c.isNull() | (F.trim(c) == "")


def _tidy(raw: Column, case: Callable[[Column], Column], clean: Iterable[str]) -> Column:
    """``case(trim(raw))``, where a value already among ``clean`` (trimmed, in that case) is
    taken as it is: the same result, without the per-row trim and case change, which weigh on the
    conform-and-check stage when most values are already clean."""
    return F.when(raw.isin(*clean), raw).otherwise(case(F.trim(raw)))


def _not_finite(number: Column) -> Column:
    """NaN or an infinity: Spark's cast reads ``NaN``, ``Infinity`` and ``-inf`` as such, and
    no count, rate or duration of a user is either."""
    return F.isnan(number) | F.abs(number).eqNullSafe(F.lit(float("inf")))


def _parse_boolean(raw: Column) -> Column:
    # The sources write True and False: those skip the trim and the lower case.
    value = F.lower(F.trim(raw))
    return (
        F.when(raw == "True", F.lit(True))
        .when(raw == "False", F.lit(False))
        .when(value.isin("true", "t", "1", "yes"), F.lit(True))
        .when(value.isin("false", "f", "0", "no"), F.lit(False))
        .otherwise(F.lit(None).cast("boolean"))
    )


def conform_users(raw: DataFrame, kind: SourceKind, countries: DataFrame) -> DataFrame:
    """Type and standardise one release's bronze rows, keeping the raw columns beside.

    ``countries`` has columns (country_name_source, lookup_code, lookup_name): the ISO code and
    English name of each French source name, trimmed (see ``countries.country_lookup``).
    """
    for column in RAW_USER_COLUMNS:
        if column not in raw.columns:
            raw = raw.withColumn(column, F.lit(None).cast("string"))
    src_code = F.upper(F.trim(F.col("countryCode")))
    languages = sorted(language_codes())
    typed = [
        F.col("identifierHash").try_cast("bigint").alias("identifier_hash"),
        F.lit(kind.release).alias("release"),
        _tidy(F.col("type"), F.lower, ["user"]).alias("user_type"),
        F.when(src_code.isin(*sorted(iso_codes())), src_code).alias("source_country_code"),
        _tidy(F.col("language"), F.lower, languages).alias("language_raw"),
        _tidy(F.col("gender"), F.upper, GENDERS).alias("gender_raw"),
        _tidy(F.col("civilityTitle"), F.lower, CIVILITY_TITLES).alias("civility_raw"),
        # A cast from text trims the white space itself.
        *[F.col(src).try_cast(t).alias(dst) for src, (dst, t) in NUMBER_COLUMNS.items()],
        *[_parse_boolean(F.col(src)).alias(dst) for src, dst in BOOLEAN_COLUMNS.items()],
        F.col("_source_file").alias("source_file"),
        F.col("_source_sha256").alias("source_sha256"),
        F.col("_run_id").alias("run_id"),
        F.col("_ingested_at").alias("ingested_at"),
    ]
    if "_parse_error" not in raw.columns:
        raw = raw.withColumn("_parse_error", F.lit(None).cast("string"))
    parsed = raw.select(
        *[F.col(c) for c in RAW_USER_COLUMNS], "_corrupt_record", "_parse_error", *typed
    )
    # The name as the source spells it, without the blanks around it: ' France ' and 'France'
    # are one spelling (one country_name_source, one name in gold's dimension).
    lookup = countries.select(
        F.col("country_name_source").alias("_country_name"), "lookup_code", "lookup_name"
    )
    parsed = parsed.withColumn("_country_name", F.trim(F.col("country")))
    parsed = parsed.join(F.broadcast(lookup), on="_country_name", how="left")
    return (
        parsed.withColumn("country_name_source", F.col("_country_name"))
        .withColumn("country_code", F.coalesce("lookup_code", "source_country_code"))
        .withColumn("country_name", F.col("lookup_name"))
        .withColumn(
            "language", F.when(F.col("language_raw").isin(*languages), F.col("language_raw"))
        )
        .withColumn("gender", F.when(F.col("gender_raw").isin(*GENDERS), F.col("gender_raw")))
        .withColumn(
            "civility_title",
            F.when(F.col("civility_raw").isin(*CIVILITY_TITLES), F.col("civility_raw")),
        )
    )


def user_rules(kind: SourceKind) -> list[Rule]:
    """The quality rules for one release, each with its policy (docs/data.md, "Data quality")."""
    present = set(kind.columns)
    numbers = {s: d for s, (d, _) in NUMBER_COLUMNS.items() if s in present}
    fractions = [d for s, (d, t) in NUMBER_COLUMNS.items() if s in present and t == "double"]
    booleans = {s: d for s, d in BOOLEAN_COLUMNS.items() if s in present}
    any_of = lambda cs: F.greatest(*[F.coalesce(c, F.lit(False)) for c in cs], F.lit(False))  # noqa: E731
    q, f = Policy.QUARANTINE, Policy.FLAG
    rules = [
        Rule(
            "malformed_row",
            q,
            "the line did not split into the file's columns",
            F.col("_corrupt_record").isNotNull(),
        ),
        Rule(
            "repeated_header",
            q,
            "the row is the header line again (files concatenated with their headers)",
            F.trim(F.col("identifierHash")) == F.lit("identifierHash"),
        ),
        Rule("missing_identifier", q, "identifierHash is empty", _blank(F.col("identifierHash"))),
        Rule(
            "invalid_identifier",
            q,
            "identifierHash is not a 64-bit integer",
            ~_blank(F.col("identifierHash")) & F.col("identifier_hash").isNull(),
        ),
        Rule(
            "missing_value",
            q,
            "a count, rate or seniority column is empty",
            any_of([_blank(F.col(s)) for s in numbers if s != "civilityGenderId"]),
        ),
        Rule(
            "invalid_number",
            q,
            "a numeric column holds text, NaN or an infinity, or overflows its type",
            any_of(
                [~_blank(F.col(s)) & F.col(d).isNull() for s, d in numbers.items()]
                + [_not_finite(F.col(d)) for d in fractions]
            ),
        ),
        Rule(
            "negative_count",
            q,
            "a count, rate or duration is below zero",
            any_of([F.col(d) < 0 for d in numbers.values()]),
        ),
        Rule(
            "pass_rate_out_of_range",
            q,
            "productsPassRate is outside 0..100",
            (F.col("products_pass_rate") > 100),
        ),
        Rule(
            "unknown_country",
            q,
            "neither the country name nor countryCode is an ISO country",
            F.col("country_code").isNull(),
        ),
        Rule(
            "invalid_language",
            f,
            "language is not an ISO 639-1 code; set to null",
            ~_blank(F.col("language_raw")) & F.col("language").isNull(),
        ),
        Rule("missing_language", f, "language is empty", _blank(F.col("language_raw"))),
        Rule(
            "missing_country_code",
            f,
            "countryCode is empty; derived from the country name",
            _blank(F.col("countryCode")) & F.col("lookup_code").isNotNull(),
        ),
        Rule(
            "country_code_mismatch",
            f,
            "countryCode disagrees with the country name; the name's code is kept",
            F.col("source_country_code").isNotNull()
            & F.col("lookup_code").isNotNull()
            & (F.col("source_country_code") != F.col("lookup_code")),
        ),
        Rule("invalid_gender", f, "gender is not F or M; set to null", F.col("gender").isNull()),
        Rule(
            "invalid_civility",
            f,
            "civilityTitle is not mr, mrs or miss; set to null",
            F.col("civility_title").isNull(),
        ),
        Rule(
            "gender_civility_mismatch",
            f,
            "gender contradicts the civility title",
            ((F.col("gender") == "M") & F.col("civility_title").isin("mrs", "miss"))
            | ((F.col("gender") == "F") & (F.col("civility_title") == "mr")),
        ),
        Rule("unexpected_user_type", f, "type is not 'user'", F.col("user_type") != "user"),
        Rule(
            "invalid_boolean",
            f,
            "a yes/no column is not True or False; set to null",
            any_of([F.col(d).isNull() for d in booleans.values()]),
        ),
        Rule(
            "seniority_units_mismatch",
            f,
            "seniorityAsMonths/Years disagree with seniority days (days/30, days/360)",
            # NaN and the infinities are invalid numbers already: no mismatch to report.
            ~_not_finite(F.col("seniority_months"))
            & ~_not_finite(F.col("seniority_years"))
            & (
                (F.abs(F.col("seniority_months") - F.col("seniority_days") / 30) > 0.01)
                | (F.abs(F.col("seniority_years") - F.col("seniority_days") / 360) > 0.01)
            ),
        ),
    ]
    if "daysSinceLastLogin" in present:
        rules.append(
            Rule(
                "implausible_last_login",
                f,
                "daysSinceLastLogin exceeds the account's age (e.g. 737028); set to null",
                F.col("days_since_last_login") > F.col("seniority_days"),
            )
        )
    if {"hasAnyApp", "hasAndroidApp", "hasIosApp"} <= present:
        rules.append(
            Rule(
                "inconsistent_app_flags",
                f,
                "hasAnyApp differs from hasAndroidApp or hasIosApp",
                F.col("has_any_app") != (F.col("has_android_app") | F.col("has_ios_app")),
            )
        )
    rules.append(
        Rule(
            "truncated_last_line",
            q,
            "the file ends inside this row, with no line end: a value may be cut short",
            F.coalesce(F.col("_parse_error").startswith(TRUNCATED_PREFIX), F.lit(False)),
        )
    )
    # A malformed line's fields are misaligned, and a repeated header holds column names, so
    # every other rule would fire on noise: such a row is quarantined under that one rule (and
    # as truncated, when the file's end cut it).
    malformed = F.col("_corrupt_record").isNotNull()
    header = F.coalesce(F.trim(F.col("identifierHash")) == F.lit("identifierHash"), F.lit(False))
    alone = {
        "malformed_row": F.lit(True),
        "repeated_header": ~malformed,
        "truncated_last_line": F.lit(True),
    }
    return [
        replace(r, violated=alone[r.name] & r.violated)
        if r.name in alone
        else replace(r, violated=~malformed & ~header & r.violated)
        for r in rules
    ]


RAW_RECORD, RECORD_KEY = "_raw_record", "_record_key"


def stage_rows(checked: DataFrame) -> DataFrame:
    """One narrow row per checked row: what either write needs, and nothing else.

    The silver job caches this frame (the counts, the quarantine and the MERGE all read it), so
    it drops the ~25 raw string columns: a valid row keeps its typed silver columns, and only a
    row that breaks a quarantine rule keeps its raw record (as JSON) for the quarantine. The
    record hash is left out too: ``silver_rows`` derives it from the business columns when it
    is needed.
    """
    broken = quarantined()
    raw = F.struct(*[F.col(c) for c in RAW_USER_COLUMNS], F.col("_corrupt_record"))
    days = F.col("days_since_last_login")
    implausible = F.array_contains(F.col(FLAG_RULES_COL), "implausible_last_login")
    return checked.withColumn(
        "days_since_last_login", F.when(implausible, None).otherwise(days)
    ).select(
        *[c for c in SILVER_USER_COLUMNS if c != "record_hash"],
        QUARANTINE_RULES_COL,
        F.when(broken, F.to_json(raw, {"ignoreNullFields": "false"})).alias(RAW_RECORD),
        F.when(broken, F.col("identifierHash")).alias(RECORD_KEY),
    )


def record_hash(columns: Sequence[str] = BUSINESS_COLUMNS) -> Column:
    """A 64-bit hash of a row's ``columns``: equal rows hash equal, whatever their lineage.

    Spark's ``xxhash64`` (seed 42, the same on every Spark and on Databricks) over the values,
    plus a mask of which of them are null: ``xxhash64`` skips a null, so without the mask
    (5, null) and (null, 5) would hash the same. Eight bytes rather than a SHA-256 of the
    row's JSON: ``to_json`` is costly to compute, and 64 hex characters, which do not compress,
    would be most of the table's bytes (docs/performance.md).
    """
    values = [F.col(c) for c in columns]
    nulls = sum(
        (F.when(v.isNull(), F.lit(1 << i)).otherwise(F.lit(0)) for i, v in enumerate(values)),
        F.lit(0),
    )
    return F.xxhash64(*values, nulls)


def silver_rows(staged: DataFrame) -> DataFrame:
    """Staged valid rows as silver rows: the record hash over the business columns, in the
    silver table's column order."""
    return staged.withColumn("record_hash", record_hash()).select(*SILVER_USER_COLUMNS)


def finish_silver_rows(checked: DataFrame) -> DataFrame:
    """Apply the flag policies (null the implausible values) and keep the silver columns."""
    return silver_rows(stage_rows(checked))


def quarantine_rows(broken: DataFrame) -> DataFrame:
    """Quarantine records: the raw row as JSON with every rule it broke (from checked or
    staged rows)."""
    if RAW_RECORD not in broken.columns:
        broken = stage_rows(broken)
    return broken.select(
        F.concat(F.lit("users_"), F.col("release")).alias("source_kind"),
        F.col(RECORD_KEY).alias("record_key"),
        F.col("release"),
        F.concat(F.col(QUARANTINE_RULES_COL), F.col(FLAG_RULES_COL)).alias("failed_rules"),
        F.col(RAW_RECORD).alias("raw_record"),
        F.col("source_file"),
        F.col("source_sha256"),
        F.col("run_id"),
        F.col("ingested_at"),
    )


# A version beats another when it is from a later release, then a later delivery, then a
# later file name, then (same everything) the larger record hash: deterministic in any order.
VERSION_ORDER: tuple[str, ...] = ("release", "ingested_at", "source_file", "record_hash")


def newer_condition(new: str = "s.", old: str = "t.") -> str:
    """SQL condition: the version whose columns carry prefix ``new`` beats the one with ``old``.

    With the defaults it is the MERGE update condition over aliases ``s`` (source) and ``t``.
    """
    clauses = []
    for i, column in enumerate(VERSION_ORDER):
        equal = [f"{new}{c} = {old}{c}" for c in VERSION_ORDER[:i]]
        clauses.append("(" + " AND ".join([*equal, f"{new}{column} > {old}{column}"]) + ")")
    return " OR ".join(clauses)


def rank_versions(
    users: DataFrame,
    repeated: DataFrame | None = None,
    keep: Callable[[DataFrame], DataFrame] = lambda ranked: ranked,
) -> DataFrame:
    """Add ``is_latest``: True for the one winning version of each identifier_hash.

    ``repeated`` (the identifiers seen more than once, when the caller has them) limits the
    window to those rows: every other row is the only version of its user and wins alone, so
    the batch is not sorted whole when repeats are rare (the usual case). Same result either way.
    ``keep`` is applied to the ranked repeated rows: a caller that reads the result more than
    once may cache them, so the window is computed once.
    """
    order = Window.partitionBy("identifier_hash").orderBy(*[F.col(c).desc() for c in VERSION_ORDER])
    if repeated is None:
        return users.withColumn("is_latest", F.row_number().over(order) == 1)
    alone = users.join(repeated, "identifier_hash", "left_anti")
    several = users.join(repeated, "identifier_hash", "left_semi")
    return alone.withColumn("is_latest", F.lit(True)).unionByName(
        keep(several.withColumn("is_latest", F.row_number().over(order) == 1))
    )
