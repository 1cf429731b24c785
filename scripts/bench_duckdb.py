"""The benchmark's single-machine baseline: the gold tables computed by DuckDB from the same CSVs.

``make bench`` reports how the Spark pipeline compares with "the same gold aggregates computed
by DuckDB from the same CSVs". For that ratio to mean anything the two must compute the same
thing, so this module replays silver and gold in DuckDB SQL, rule for rule, and
``tests/scripts/test_bench_duckdb.py`` checks that its tables equal the Spark pipeline's, row for
row.

What is replicated, from an input folder of source files (``c2c_etl`` names the rules):

- bronze: the CSV files of the folder, listed, inspected and recognised by their header with
  bronze's own functions (``list_landing``, ``select_new``, ``inspect_file``,
  ``unreadable_name``, ``detect_kind``): files bronze rejects and files that are not users
  files (the publisher's reports) are skipped, and a file whose bytes repeat an earlier file's
  is read once; a ``.csv.gz`` is read decompressed;
- silver users: typing (Spark's ``try_cast`` rules), the French country names to ISO codes (the
  same ``country_lookup``, computed in Python over the distinct names and registered as a
  table), the quarantine rules that drop rows, the flag rules (``dq_flags``, and the
  implausible last login set to null), and one row per ``identifier_hash``, the latest by
  ``VERSION_ORDER``;
- gold: ``dim_country``, ``fact_users`` and the six aggregates, with the same columns, types
  and rounding.

Not replicated: the publisher-report reconciliation (``gold.publisher_report_reconciliation``),
the quarantine table and the audit figures (rows are dropped, not recorded), and incremental
runs (every file is one delivery into an empty lake, as the benchmark's full run).

Known differences, none of which the real dataset or the generator produces (the test runs
the bad-input corpus of ``tests/etl/corpus`` through both, all of it but the first case):

- a quoted field holding a line break is one field for DuckDB (RFC 4180) but two malformed
  lines for Spark, which reads line by line;
- Java's hexadecimal floating-point literals (``0x1p3``) are numbers for Spark only, and a
  field that is exactly the byte 0x01 (this module's "no NULL marker") is NULL for DuckDB only;
- the record hash: Spark's is ``xxhash64``, which DuckDB does not have, so DuckDB ranks by its
  own ``hash`` of the same columns. The hash only decides between two different rows of one
  user in one file (the generator's duplicate rows are exact copies); the test compares every
  silver column but this one.

Rounding: Spark's ``round(x, 2)`` on a double rounds the double's shortest decimal form half up
(1.005 gives 1.01); DuckDB's rounds the binary value (1.005 is 1.00499.., giving 1.0). Every
rounded figure here is a ratio of integers, so it is computed in exact integer arithmetic, half
up, which is what Spark's rounding gives for such ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c2c_etl import tables
from c2c_etl.bronze.ingest import list_landing, select_new, unreadable_name
from c2c_etl.bronze.inspect import ContentCheck, gunzip_blocks, inspect_file
from c2c_etl.gold.model import (
    ACTIVE_WITHIN_DAYS,
    ENGAGEMENT_LEVELS,
    RECENCY_BUCKETS,
    TOP_BUYER_MIN_BOUGHT,
    TOP_SELLER_MIN_SOLD,
)
from c2c_etl.gold.views import FUNNEL_STAGES, TOP_N
from c2c_etl.io import file_blocks
from c2c_etl.silver.countries import country_lookup, iso_codes, language_codes
from c2c_etl.silver.quality import FLAG_RULES_COL, Policy
from c2c_etl.silver.users import (
    BOOLEAN_COLUMNS,
    BUSINESS_COLUMNS,
    CIVILITY_TITLES,
    GENDERS,
    NUMBER_COLUMNS,
    RAW_USER_COLUMNS,
    VERSION_ORDER,
)
from c2c_etl.sources import SourceKind, detect_kind

if TYPE_CHECKING:
    import duckdb

# The gold tables this module builds, in build order (the reconciliation is left out).
GOLD_TABLES: tuple[tables.Table, ...] = (
    tables.DIM_COUNTRY,
    tables.FACT_USERS,
    tables.AGG_COUNTRY_GENDER,
    tables.TOP_BUYERS,
    tables.TOP_SELLERS,
    tables.AGG_APP_ADOPTION,
    tables.AGG_ENGAGEMENT_FUNNEL,
    tables.AGG_SENIORITY_COHORTS,
)
SILVER_USERS = "silver_users"  # the DuckDB table of conformed, deduplicated users


@dataclass(frozen=True)
class UsersFile:
    """A users file of the input folder, as bronze would ingest it."""

    path: Path
    name: str  # relative to the input folder: the silver ``source_file``
    kind: SourceKind
    header: tuple[str, ...]  # the file's own column order
    encoding: str  # "UTF-8" or "ISO-8859-1", as bronze's inspection decided
    quoted: bool = False  # whether any line holds a quote character


@dataclass(frozen=True)
class DuckDBGold:
    """What one computation produced.

    ``rows`` holds every gold table fetched into Python when no output folder was given;
    otherwise each table was written to ``files[name]`` (Parquet) and ``rows`` is empty.
    """

    columns: dict[str, tuple[str, ...]]
    row_counts: dict[str, int]
    rows: dict[str, list[tuple[Any, ...]]]
    files: dict[str, Path]
    timings: dict[str, float]  # seconds per stage, and "total"


# --- bronze: which files, read how --------------------------------------------------------------


def _inspect(path: Path, name: str) -> tuple[ContentCheck, bool]:
    """Bronze's inspection of a file, and whether any of its lines holds a quote character,
    in one pass over its bytes."""
    quoted = False

    def blocks() -> Iterator[bytes]:
        nonlocal quoted
        for block in file_blocks(str(path)):
            quoted = quoted or b'"' in block
            yield block

    # A gzip file's quotes are not seen in its compressed bytes: it is read as if it had some.
    return inspect_file(blocks(), name), quoted or name.endswith(".gz")


def find_users_files(folder: Path) -> list[UsersFile]:
    """The users files bronze would ingest from ``folder``, found by bronze's own functions:
    its listing and duplicate-content check (into an empty lake), then its inspection and
    header recognition. Files it would reject (by content or by a name Spark cannot read), and
    the publisher's reports, are left out."""
    new, _repeated = select_new(list_landing(folder), known_sha256=set())
    files = []
    for landed in new:
        check, quoted = _inspect(Path(landed.path), landed.name)
        kind = detect_kind(check.header) if check.problem is None else None
        if kind is None or not kind.is_users or check.encoding is None:
            continue
        if unreadable_name(landed.name) is not None:
            continue
        files.append(
            UsersFile(Path(landed.path), landed.name, kind, check.header, check.encoding, quoted)
        )
    return files


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(values: Any) -> str:
    return "(" + ", ".join(_sql_str(v) for v in sorted(values)) + ")"


# A column after the header's: a line with a field there has too many fields.
EXTRA_FIELD = "_c2c_extra_field"
# No field reads as NULL by this marker, so an empty field stays '' and only a missing one
# (padded) is NULL: that is how a short line is told from one whose last field is empty.
NOT_A_FIELD = "\x01"


def whole_lines(path: Path) -> Path:
    """``path``, or when it does not end with a line end, a copy without its last, cut line:
    silver quarantines that row (``truncated_last_line``), so it never reaches silver. A
    ``.gz`` file is looked at decompressed, and copied decompressed when cut."""
    data = path.read_bytes()
    name = path.name
    if name.endswith(".gz"):
        data, name = b"".join(gunzip_blocks([data])), name.removesuffix(".gz")
    if not data or data.endswith((b"\n", b"\r")):
        return path
    cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
    whole = Path(tempfile.mkdtemp(prefix="c2c-duckdb-")) / name
    whole.write_bytes(data[:cut])
    return whole


def load_users(con: duckdb.DuckDBPyConnection, files: list[UsersFile], ingested_at: str) -> None:
    """Table ``raw_users``: every raw users column as text (NULL where a release lacks it, or
    the field is empty, as Spark reads it), plus ``release``, ``source_file`` and
    ``ingested_at``.

    A line that does not split into the header's columns is left out: Spark quarantines it
    as ``malformed_row``, so it never reaches silver either way. DuckDB's own check is not
    enough (it accepts a line with extra empty fields), hence the extra column and padding.
    """
    selects, params = [], []
    for f in files:
        declared = (*f.header, EXTRA_FIELD)
        columns = "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in declared) + "}"
        encoding = "latin-1" if f.encoding == "ISO-8859-1" else "utf-8"
        raw = ", ".join(
            (f'nullif("{c}", \'\') AS "{c}"' if c in f.header else f'NULL::VARCHAR AS "{c}"')
            for c in RAW_USER_COLUMNS
        )
        options = (
            f"header = true, auto_detect = false, columns = {columns}, delim = ',', "
            "quote = '\"', ignore_errors = true, null_padding = true, "
            f"nullstr = {_sql_str(NOT_A_FIELD)}, encoding = '{encoding}'"
        )
        if f.quoted:
            # DuckDB's parallel reader cannot pad lines when a quoted field may span lines.
            options += ", parallel = false"
        selects.append(
            f"SELECT {raw}, {_sql_str(str(f.kind.release))} AS release, "  # nosec B608  # constants; paths are parameters
            "?::VARCHAR AS source_file, ?::TIMESTAMP AS ingested_at "
            f"FROM read_csv(?, {options}) "
            f"""WHERE "{EXTRA_FIELD}" IS NULL AND "{f.header[-1]}" IS NOT NULL"""
        )
        params += [f.name, ingested_at, str(whole_lines(f.path))]
    if not selects:
        raise ValueError("no users file to read")
    con.execute("CREATE OR REPLACE TABLE raw_users AS " + " UNION ALL ".join(selects), params)


# --- silver: typing, rules, dedupe --------------------------------------------------------------

# Spark's ANSI try_cast of a string: surrounding whitespace (bytes up to 0x20) is ignored; an
# integer is digits with an optional sign (no decimal point, unlike DuckDB's cast, which rounds
# '1.5' to 2); a double is what java.lang.Double.parseDouble reads (an f/d suffix allowed, no
# '_'), plus Spark's case-insensitive inf/infinity/nan.
MACROS = r"""
CREATE OR REPLACE MACRO blank(s) AS s IS NULL OR trim(s) = '';
CREATE OR REPLACE MACRO spark_integral(s) AS CASE
    WHEN regexp_full_match(s, '[+-]?[0-9]+') THEN s
    WHEN regexp_full_match(s, '[\x00-\x20]*[+-]?[0-9]+[\x00-\x20]*')
    THEN regexp_extract(s, '[+-]?[0-9]+') END;
CREATE OR REPLACE MACRO spark_bigint(s) AS TRY_CAST(spark_integral(s) AS BIGINT);
CREATE OR REPLACE MACRO spark_int(s) AS TRY_CAST(spark_integral(s) AS INTEGER);
CREATE OR REPLACE MACRO spark_double_token(s) AS nullif(regexp_extract(s,
    '^[\x00-\x20]*([+-]?(NaN|Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?[fFdD]?)|(?i:[+-]?inf|[+-]?infinity|nan))[\x00-\x20]*$',
    1), '');
CREATE OR REPLACE MACRO spark_double_of(tok) AS CASE
    WHEN lower(tok) IN ('nan', '+nan', '-nan') THEN 'nan'::DOUBLE
    WHEN lower(tok) IN ('-inf', '-infinity') THEN '-inf'::DOUBLE
    WHEN lower(tok) IN ('inf', '+inf', 'infinity', '+infinity') THEN 'inf'::DOUBLE
    ELSE TRY_CAST(rtrim(tok, 'fFdD') AS DOUBLE) END;
-- plain decimals, nearly every value, take the short way
CREATE OR REPLACE MACRO spark_double(s) AS CASE
    WHEN regexp_full_match(s, '[0-9]+\.?[0-9]*') THEN TRY_CAST(s AS DOUBLE)
    ELSE spark_double_of(spark_double_token(s)) END;
CREATE OR REPLACE MACRO spark_boolean(s) AS CASE
    WHEN lower(trim(s)) IN ('true', 't', '1', 'yes') THEN true
    WHEN lower(trim(s)) IN ('false', 'f', '0', 'no') THEN false END;
"""


def _any(predicates: list[str]) -> str:
    """TRUE when any predicate is TRUE (a NULL one counts as not broken)."""
    return (
        "(" + " OR ".join(f"coalesce({p}, false)" for p in predicates) + ")"
        if predicates
        else "false"
    )


def _not_finite(column: str) -> str:
    """NaN or an infinity (silver's ``_not_finite``): the double casts read them as such."""
    return f"(isnan({column}) OR isinf({column}))"


def rules_for(kind: SourceKind) -> list[tuple[str, Policy, str]]:
    """(name, policy, SQL predicate) of silver's rules for one release, in ``user_rules``
    order; a test holds the names and policies equal to ``c2c_etl.silver.users.user_rules``.

    Malformed lines are not read and repeated headers are dropped before the rules, so the
    two rules about them are never true here (they are listed to keep the order)."""
    present = set(kind.columns)
    numbers = {s: d for s, (d, _) in NUMBER_COLUMNS.items() if s in present}
    fractions = [d for s, (d, t) in NUMBER_COLUMNS.items() if s in present and t == "double"]
    booleans = [d for s, d in BOOLEAN_COLUMNS.items() if s in present]
    q, f = Policy.QUARANTINE, Policy.FLAG
    rules = [
        ("malformed_row", q, "false"),
        ("repeated_header", q, "false"),
        ("missing_identifier", q, 'blank("identifierHash")'),
        ("invalid_identifier", q, 'NOT blank("identifierHash") AND identifier_hash IS NULL'),
        (
            "missing_value",
            q,
            _any([f'blank("{s}")' for s in numbers if s != "civilityGenderId"]),
        ),
        (
            "invalid_number",
            q,
            _any(
                [f'NOT blank("{s}") AND {d} IS NULL' for s, d in numbers.items()]
                + [_not_finite(d) for d in fractions]
            ),
        ),
        ("negative_count", q, _any([f"{d} < 0" for d in numbers.values()])),
        ("pass_rate_out_of_range", q, "products_pass_rate > 100"),
        ("unknown_country", q, "country_code IS NULL"),
        ("invalid_language", f, "NOT blank(language_raw) AND language IS NULL"),
        ("missing_language", f, "blank(language_raw)"),
        ("missing_country_code", f, 'blank("countryCode") AND lookup_code IS NOT NULL'),
        (
            "country_code_mismatch",
            f,
            "source_country_code IS NOT NULL AND lookup_code IS NOT NULL "
            "AND source_country_code <> lookup_code",
        ),
        ("invalid_gender", f, "gender IS NULL"),
        ("invalid_civility", f, "civility_title IS NULL"),
        (
            "gender_civility_mismatch",
            f,
            "(gender = 'M' AND civility_title IN ('mrs', 'miss')) "
            "OR (gender = 'F' AND civility_title = 'mr')",
        ),
        ("unexpected_user_type", f, "user_type <> 'user'"),
        ("invalid_boolean", f, _any([f"{d} IS NULL" for d in booleans])),
        (
            "seniority_units_mismatch",
            f,
            # NaN and the infinities are invalid numbers already: no mismatch to report.
            f"NOT {_not_finite('seniority_months')} AND NOT {_not_finite('seniority_years')} "
            "AND (abs(seniority_months - seniority_days / 30) > 0.01 "
            "OR abs(seniority_years - seniority_days / 360) > 0.01)",
        ),
    ]
    if "daysSinceLastLogin" in present:
        rules.append(("implausible_last_login", f, "days_since_last_login > seniority_days"))
    if {"hasAnyApp", "hasAndroidApp", "hasIosApp"} <= present:
        rules.append(
            ("inconsistent_app_flags", f, "has_any_app <> (has_android_app OR has_ios_app)")
        )
    # A file's cut last line is left out when it is read (whole_lines), so never true here.
    rules.append(("truncated_last_line", q, "false"))
    return rules


def _typed_select() -> str:
    """Every raw row typed and standardised, both releases at once (silver's
    ``conform_users``); repeated header lines are dropped (silver quarantines them)."""
    number_casts = ", ".join(
        f'spark_{"double" if t == "double" else "int"}(trim(r."{src}")) AS {dst}'
        for src, (dst, t) in NUMBER_COLUMNS.items()
    )
    booleans = ", ".join(f'spark_boolean(r."{s}") AS {d}' for s, d in BOOLEAN_COLUMNS.items())
    return f"""
    SELECT r.* EXCLUDE ("language", "gender", "country"),
        trim(r."country") AS country,
        spark_bigint(r."identifierHash") AS identifier_hash,
        lower(trim(r."type")) AS user_type,
        iso.code AS source_country_code,
        lower(trim(r."language")) AS language_raw,
        lang.code AS language,
        CASE WHEN upper(trim(r."gender")) IN {_sql_list(GENDERS)}
             THEN upper(trim(r."gender")) END AS gender,
        CASE WHEN lower(trim(r."civilityTitle")) IN {_sql_list(CIVILITY_TITLES)}
             THEN lower(trim(r."civilityTitle")) END AS civility_title,
        {number_casts},
        {booleans},
        l.lookup_code,
        trim(r."country") AS country_name_source,
        coalesce(l.lookup_code, iso.code) AS country_code,
        l.lookup_name AS country_name
    FROM raw_users r
    LEFT JOIN country_lookup l ON trim(r."country") = l.country_name_source
    LEFT JOIN iso_codes iso ON upper(trim(r."countryCode")) = iso.code
    LEFT JOIN language_codes lang ON lower(trim(r."language")) = lang.code
    WHERE coalesce(trim(r."identifierHash") <> 'identifierHash', true)"""  # nosec B608  # constants only


def _checked_select(kind: SourceKind) -> str:
    """One release's valid rows with their flags, the flag policies applied (silver's
    ``apply_rules``, ``split_valid`` and ``finish_silver_rows``)."""
    rules = rules_for(kind)
    quarantine = _any([p for _, policy, p in rules if policy is Policy.QUARANTINE])
    flags = ", ".join(
        f"CASE WHEN {p} THEN {_sql_str(name)} END"
        for name, policy, p in rules
        if policy is Policy.FLAG
    )
    return f"""
    SELECT * REPLACE (
            CASE WHEN list_contains({FLAG_RULES_COL}, 'implausible_last_login') THEN NULL
                 ELSE days_since_last_login END AS days_since_last_login)
    FROM (
        SELECT *, list_filter([{flags}], lambda x: x IS NOT NULL) AS {FLAG_RULES_COL}
        FROM typed_users
        WHERE release = {_sql_str(str(kind.release))} AND NOT {quarantine}
    )"""  # nosec B608  # SQL from c2c_etl constants only; no input text is inlined


def _code_table(con: duckdb.DuckDBPyConnection, name: str, codes: Any) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {name} AS SELECT unnest(?::VARCHAR[]) AS code",  # nosec B608  # constant name
        [sorted(codes)],
    )


def conform_users(con: duckdb.DuckDBPyConnection, kinds: list[SourceKind]) -> None:
    """Table ``silver_users``: the valid rows of ``raw_users``, typed, flagged, with a record
    hash (DuckDB's own), one per ``identifier_hash`` (the newest by ``VERSION_ORDER``).

    The typed rows are materialised first (``typed_users``), so that no typed value is
    computed again by each rule that reads it."""
    names = [r[0] for r in con.execute('SELECT DISTINCT trim("country") FROM raw_users').fetchall()]
    lookup = country_lookup(names)
    con.execute(
        "CREATE OR REPLACE TABLE country_lookup AS SELECT unnest(?::VARCHAR[]) AS "
        "country_name_source, unnest(?::VARCHAR[]) AS lookup_code, "
        "unnest(?::VARCHAR[]) AS lookup_name",
        [[row[i] for row in lookup] for i in range(3)],
    )
    _code_table(con, "iso_codes", iso_codes())
    _code_table(con, "language_codes", language_codes())
    con.execute("CREATE OR REPLACE TABLE typed_users AS " + _typed_select())
    checked = " UNION ALL BY NAME ".join(f"({_checked_select(k)})" for k in kinds)
    columns = ", ".join(BUSINESS_COLUMNS)
    newest_first = ", ".join(f"{c} DESC" for c in VERSION_ORDER)
    con.execute(
        f"""CREATE OR REPLACE TABLE {SILVER_USERS} AS
        WITH checked AS ({checked}),
        hashed AS (
            SELECT {columns}, {FLAG_RULES_COL}, hash({columns}) AS record_hash,
                source_file, ingested_at
            FROM checked)
        SELECT * FROM hashed
        QUALIFY row_number() OVER (PARTITION BY identifier_hash ORDER BY {newest_first}) = 1"""  # nosec B608  # constants only
    )


# --- gold ---------------------------------------------------------------------------------------


def _pct(part: str, whole: str) -> str:
    """``round(part * 100.0 / whole, 2)`` rounded half up as Spark rounds it (exact integer
    arithmetic: both are counts); NULL when ``whole`` is 0 or either is NULL."""
    return f"(({part}) * 20000 + ({whole})) // nullif(2 * ({whole}), 0) / 100.0"


def _round2_mean(total: str, count: str) -> str:
    """``round(avg(x), 2)`` of a non-negative integer column, half up as Spark rounds it."""
    return f"(({total}) * 200 + ({count})) // nullif(2 * ({count}), 0) / 100.0"


def _count_if(condition: str) -> str:
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)::BIGINT"


def _recency() -> str:
    cases = " ".join(f"WHEN d <= {upper} THEN '{label}'" for upper, label in RECENCY_BUCKETS)
    return (
        f"CASE WHEN d IS NULL THEN 'unknown' {cases} ELSE 'over {RECENCY_BUCKETS[-1][0]} days' END"
    )


def _engagement() -> str:
    cases = " ".join(f"WHEN i >= {lowest} THEN '{label}'" for lowest, label in ENGAGEMENT_LEVELS)
    return f"CASE {cases} ELSE 'none' END"


def _top(measure: str, role: str) -> str:
    others = [
        c
        for c in (
            "products_bought",
            "products_sold",
            "products_listed",
            "products_wished",
            "social_nb_followers",
        )
        if c != measure
    ]
    return f"""
        SELECT row_number() OVER (ORDER BY {measure} DESC, identifier_hash)::INTEGER AS rank,
            identifier_hash, release, country_code, gender, {measure}, {", ".join(others)},
            '{role}' AS role
        FROM {tables.FACT_USERS.name} WHERE {measure} > 0
        ORDER BY {measure} DESC, identifier_hash LIMIT {TOP_N}"""  # nosec B608  # constants only


def gold_queries() -> dict[str, str]:
    """The SELECT of each gold table (``c2c_etl.gold.model`` and ``gold.views``), in
    build order: each may read the tables before it."""
    fact, dim = tables.FACT_USERS.name, tables.DIM_COUNTRY.name
    funnel_stages = " UNION ALL ".join(
        f"SELECT release, registered, {i + 1} AS stage_order, '{s}' AS stage, "  # nosec B608  # constants only
        f"{s}::BIGINT AS users FROM stages"
        for i, s in enumerate(FUNNEL_STAGES)
    )
    queries = {
        dim: f"""
            SELECT country_code,
                -- first non-null: every row of a code has the same name (its ISO English name)
                max(country_name) AS country_name,
                list_sort(list_distinct(list(country_name_source))) AS source_names
            FROM {SILVER_USERS} GROUP BY country_code""",  # nosec B608  # constants only
        fact: f"""
            SELECT identifier_hash, release, country_code, country_name_source, gender,
                language, civility_title, has_any_app, has_ios_app, has_android_app,
                has_profile_picture, social_nb_followers, social_nb_follows,
                social_products_liked, products_wished, products_bought, products_listed,
                products_sold, products_pass_rate, days_since_last_login, seniority_days,
                seniority_months,
                products_bought > 0 AS is_buyer,
                products_bought >= {TOP_BUYER_MIN_BOUGHT} AS is_top_buyer,
                products_sold > 0 AS is_seller,
                products_sold >= {TOP_SELLER_MIN_SOLD} AS is_top_seller,
                products_sold > 0 OR products_listed > 0 AS is_lister_or_seller,
                CASE WHEN products_bought >= {TOP_BUYER_MIN_BOUGHT} THEN 'top buyer'
                     WHEN products_bought > 0 THEN 'buyer' ELSE 'non-buyer' END
                    AS buyer_segment,
                CASE WHEN products_sold >= {TOP_SELLER_MIN_SOLD} THEN 'top seller'
                     WHEN products_sold > 0 THEN 'seller'
                     WHEN products_listed > 0 THEN 'lister' ELSE 'non-seller' END
                    AS seller_segment,
                CASE WHEN d IS NOT NULL THEN d <= {ACTIVE_WITHIN_DAYS} END AS is_active,
                {_recency()} AS activity_recency,
                {_engagement()} AS engagement_level,
                social_products_liked > 0 OR products_wished > 0 AS liked_or_wished,
                products_bought > 0 OR products_sold > 0 AS bought_or_sold,
                floor(seniority_months)::INTEGER AS seniority_cohort_months
            FROM (
                SELECT *, days_since_last_login AS d,
                    social_products_liked + products_wished + products_bought + products_sold
                        + products_listed AS i
                FROM {SILVER_USERS})""",  # nosec B608  # constants only
        tables.AGG_COUNTRY_GENDER.name: f"""
            SELECT a.country_code, d.country_name, a.gender, users, buyers, top_buyers,
                sellers, top_sellers,
                {_pct("buyers", "users")} AS buyer_rate_pct,
                {_pct("sellers", "users")} AS seller_rate_pct,
                products_bought, products_sold, products_listed
            FROM (
                SELECT country_code, gender, count(*) AS users,
                    {_count_if("is_buyer")} AS buyers,
                    {_count_if("is_top_buyer")} AS top_buyers,
                    {_count_if("is_seller")} AS sellers,
                    {_count_if("is_top_seller")} AS top_sellers,
                    sum(products_bought)::BIGINT AS products_bought,
                    sum(products_sold)::BIGINT AS products_sold,
                    sum(products_listed)::BIGINT AS products_listed
                FROM {fact} GROUP BY country_code, gender) a
            LEFT JOIN {dim} d USING (country_code)""",  # nosec B608  # constants only
        tables.TOP_BUYERS.name: _top("products_bought", "buyer"),
        tables.TOP_SELLERS.name: _top("products_sold", "seller"),
        tables.AGG_APP_ADOPTION.name: f"""
            SELECT a.country_code, d.country_name, users_with_app_data, app_users, ios_users,
                android_users,
                {_pct("app_users", "users_with_app_data")} AS app_adoption_pct,
                {_pct("ios_users", "users_with_app_data")} AS ios_adoption_pct,
                {_pct("android_users", "users_with_app_data")} AS android_adoption_pct,
                buyers, app_buyers,
                {_pct("app_buyers", "buyers")} AS app_share_of_buyers_pct
            FROM (
                SELECT country_code, count(*) AS users_with_app_data,
                    {_count_if("has_any_app")} AS app_users,
                    {_count_if("has_ios_app")} AS ios_users,
                    {_count_if("has_android_app")} AS android_users,
                    {_count_if("has_any_app AND is_buyer")} AS app_buyers,
                    {_count_if("is_buyer")} AS buyers
                FROM {fact} WHERE has_any_app IS NOT NULL GROUP BY country_code) a
            LEFT JOIN {dim} d USING (country_code)""",  # nosec B608  # constants only
        # A release with login data has the four stages (a user whose login is unknown stops
        # at 'registered'); one without has no 'active' row and continues from 'registered'.
        tables.AGG_ENGAGEMENT_FUNNEL.name: f"""
            WITH counts AS (
                SELECT release, count(*) AS registered, count(is_active) > 0 AS has_login,
                    {_count_if("is_active")} AS active_n,
                    {_count_if("liked_or_wished")} AS engaged_n,
                    {_count_if("liked_or_wished AND bought_or_sold")} AS transacting_n,
                    {_count_if("is_active AND liked_or_wished")} AS active_engaged_n,
                    {_count_if("is_active AND liked_or_wished AND bought_or_sold")}
                        AS active_transacting_n
                FROM {fact} GROUP BY release),
            stages AS (
                SELECT release, registered,
                    CASE WHEN has_login THEN active_n END AS active,
                    CASE WHEN has_login THEN active_engaged_n ELSE engaged_n END
                        AS liked_or_wished,
                    CASE WHEN has_login THEN active_transacting_n ELSE transacting_n END
                        AS bought_or_sold
                FROM counts),
            long AS ({funnel_stages})
            SELECT release, stage_order, stage, users,
                {_pct("users", "registered")} AS pct_of_registered,
                {_pct("users", "previous")} AS pct_of_previous_stage
            FROM (
                SELECT *, lag(users) OVER (PARTITION BY release ORDER BY stage_order)
                    AS previous
                FROM long WHERE users IS NOT NULL)
            ORDER BY release, stage_order""",  # nosec B608  # constants only
        tables.AGG_SENIORITY_COHORTS.name: f"""
            SELECT release, seniority_days, users, buyers, sellers, active_users,
                products_bought, products_sold,
                {_round2_mean("followers", "users")} AS mean_followers,
                {_pct("buyers", "users")} AS buyer_rate_pct,
                {_pct("sellers", "users")} AS seller_rate_pct
            FROM (
                SELECT release, seniority_days, count(*) AS users,
                    {_count_if("is_buyer")} AS buyers,
                    {_count_if("is_seller")} AS sellers,
                    CASE WHEN count(is_active) > 0 THEN {_count_if("is_active")} END
                        AS active_users,
                    sum(products_bought)::BIGINT AS products_bought,
                    sum(products_sold)::BIGINT AS products_sold,
                    sum(social_nb_followers) AS followers
                FROM {fact} GROUP BY release, seniority_days)
            ORDER BY release, seniority_days""",  # nosec B608  # constants only
    }
    return {t.name: queries[t.name] for t in GOLD_TABLES}


def build_gold(con: duckdb.DuckDBPyConnection) -> None:
    """One DuckDB table per gold table, from ``silver_users``."""
    for name, query in gold_queries().items():
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {query}")  # nosec B608  # constants only


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the macros the conformance uses."""
    con.execute(MACROS)


# --- the whole computation ----------------------------------------------------------------------


def compute(con: duckdb.DuckDBPyConnection, input_dir: Path) -> dict[str, float]:
    """Tables ``silver_users`` and every gold table in ``con``, from the users files of
    ``input_dir``; the seconds of its two stages (``read_conform``, ``aggregates``)."""
    started = time.perf_counter()
    prepare(con)
    files = find_users_files(input_dir)
    if not files:
        raise ValueError(f"no users CSV file in {input_dir}")
    load_users(con, files, datetime.now(UTC).replace(tzinfo=None).isoformat())
    conform_users(con, list(dict.fromkeys(f.kind for f in files)))
    conformed = time.perf_counter()
    build_gold(con)
    return {"read_conform": conformed - started, "aggregates": time.perf_counter() - conformed}


def gold_with_duckdb(
    input_dir: Path, out_dir: Path | None = None, threads: int | None = None
) -> DuckDBGold:
    """Every gold table (but the reconciliation) from the source CSVs of ``input_dir``.

    With ``out_dir`` each table is written to ``<out_dir>/<table>.parquet`` (the fair match to
    Spark writing Delta); without it every row is fetched into Python. Either way all tables
    are fully materialised before it returns, and ``timings`` has the seconds of each stage:
    ``read_conform`` (inspect the files, read the CSVs, silver), ``aggregates`` (the gold
    tables), ``write`` or ``fetch``, and ``total`` (including DuckDB's import).
    """
    started = time.perf_counter()
    import duckdb

    imported = time.perf_counter() - started
    con = duckdb.connect()
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        timings = compute(con, Path(input_dir))
        timings["read_conform"] += imported
        mark = time.perf_counter()
        columns, counts, rows, written = {}, {}, {}, {}
        for t in GOLD_TABLES:
            relation = con.table(t.name)
            columns[t.name] = tuple(relation.columns)
            if out_dir is not None:
                Path(out_dir).mkdir(parents=True, exist_ok=True)
                path = Path(out_dir) / f"{t.name}.parquet"
                relation.write_parquet(str(path))
                written[t.name] = path
                counts[t.name] = int(relation.shape[0])
            else:
                rows[t.name] = relation.fetchall()
                counts[t.name] = len(rows[t.name])
        timings["write" if out_dir is not None else "fetch"] = time.perf_counter() - mark
    finally:
        con.close()
    timings["total"] = time.perf_counter() - started
    return DuckDBGold(columns, counts, rows, written, {k: round(v, 3) for k, v in timings.items()})


def main(argv: list[str] | None = None) -> None:
    """``python scripts/bench_duckdb.py --input <folder> [--threads N] [--out <folder>]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--input", type=Path, required=True, help="folder of source CSV files")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all)")
    parser.add_argument(
        "--out", type=Path, default=None, help="write the gold tables here as Parquet"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="c2c-duckdb-gold-") as tmp:
            result = gold_with_duckdb(args.input, Path(tmp), args.threads)
    else:
        result = gold_with_duckdb(args.input, args.out, args.threads)
    print(f"DuckDB gold from {args.input} (tables written as Parquet)")
    for name, n in result.row_counts.items():
        print(f"  {name:<40} {n:>8} rows")
    for stage, seconds in result.timings.items():
        print(f"  {stage:<40} {seconds:>8.3f} s")


if __name__ == "__main__":
    main()
