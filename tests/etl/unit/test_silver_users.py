"""Silver users: typing, standardisation, quality rules with their policies, deduplication."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F

from c2c_etl.silver.countries import COUNTRY_LOOKUP_SCHEMA, country_lookup
from c2c_etl.silver.quality import apply_rules, split_valid
from c2c_etl.silver.users import (
    SILVER_USER_COLUMNS,
    conform_users,
    finish_silver_rows,
    newer_condition,
    quarantine_rows,
    rank_versions,
    record_hash,
    user_rules,
)
from c2c_etl.sources import USERS_2020, USERS_2024
from tests.etl.helpers import bronze_users


def _check(spark, rows, kind=USERS_2020, source_file="users.csv", sha="sha-1"):
    raw = bronze_users(spark, rows, kind, source_file=source_file, sha=sha)
    names = [r[0] for r in raw.select(F.trim("country")).distinct().collect()]
    countries = spark.createDataFrame(country_lookup(names), COUNTRY_LOOKUP_SCHEMA)
    checked = apply_rules(conform_users(raw, kind, countries), user_rules(kind))
    valid, broken = split_valid(checked)
    return finish_silver_rows(valid), quarantine_rows(broken)


FLAG_CASES = [
    ({"language": "74"}, "invalid_language", "language", None),
    ({"countryCode": ""}, "missing_country_code", "country_code", "US"),
    ({"country": "Guyane", "countryCode": "gy"}, "country_code_mismatch", "country_code", "GF"),
    ({"daysSinceLastLogin": "737028"}, "implausible_last_login", "days_since_last_login", None),
    ({"hasAnyApp": "True"}, "inconsistent_app_flags", "has_any_app", True),
    ({"gender": "M"}, "gender_civility_mismatch", "gender", "M"),
    ({"gender": "X"}, "invalid_gender", "gender", None),
    ({"hasIosApp": "maybe"}, "invalid_boolean", "has_ios_app", None),
    ({"seniorityAsMonths": "12.0"}, "seniority_units_mismatch", "seniority_months", 12.0),
]
QUARANTINE_CASES = [
    ({"identifierHash": ""}, "missing_identifier"),
    ({"identifierHash": "abc"}, "invalid_identifier"),
    ({"productsBought": "three"}, "invalid_number"),
    ({"productsSold": "99999999999"}, "invalid_number"),
    ({"seniorityAsMonths": "NaN"}, "invalid_number"),
    ({"seniorityAsYears": "Infinity"}, "invalid_number"),
    ({"productsPassRate": "-inf"}, "invalid_number"),
    ({"seniority": "NaN"}, "invalid_number"),
    ({"productsSold": "-4"}, "negative_count"),
    ({"productsPassRate": "140"}, "pass_rate_out_of_range"),
    ({"country": "Atlantide", "countryCode": "xx"}, "unknown_country"),
    ({"productsWished": None}, "missing_value"),
    ({"_corrupt_record": "1,user,France"}, "malformed_row"),
]
# The cases below the parametrized ones, each with its rows.
OTHER_CASES: dict[str, list[dict]] = {
    "valid": [{}],
    "every rule": [
        {"productsSold": "-1", "country": "Atlantide", "countryCode": "", "language": "7"}
    ],
    "malformed alone": [{"_corrupt_record": "1,user,France", "productsSold": None, "gender": None}],
    "repeated header": [{c: c for c in USERS_2020.columns}, {}],
    "hash first": [{}],
    "hash redelivered": [{"_source_sha256": "sha-2"}],
    "hash changed": [{"productsBought": "1"}],
}


def case_name(overrides: dict, rule: str) -> str:
    return f"{rule} {json.dumps(overrides, sort_keys=True)}"


def one_row(found: dict[str, list[Row]], case: str) -> Row:
    rows = found.get(case, [])
    assert len(rows) == 1, f"{case}: {len(rows)} rows, not one"
    return rows[0]


@pytest.fixture(scope="module")
def checked(spark) -> tuple[dict[str, list[Row]], dict[str, list[Row]]]:
    """Every 2020 case in one DataFrame through the rules, once: (silver rows, quarantine rows)
    by case, each case's rows carrying its name as their source file."""
    cases = {case_name(o, rule): [o] for o, rule, *_ in FLAG_CASES}
    cases.update({case_name(o, rule): [o] for o, rule in QUARANTINE_CASES})
    cases.update(OTHER_CASES)
    rows = [{**row, "_source_file": name} for name, rows in cases.items() for row in rows]
    silver, quarantine = _check(spark, rows)
    by_case: tuple[dict[str, list[Row]], dict[str, list[Row]]] = (
        defaultdict(list),
        defaultdict(list),
    )
    for found, df in zip(by_case, (silver, quarantine), strict=True):
        for row in df.collect():
            found[row["source_file"]].append(row)
    return by_case


def test_valid_row_is_typed_and_standardised(checked):
    silver, quarantine = checked
    assert "valid" not in quarantine
    row = one_row(silver, "valid").asDict()
    assert list(row) == list(SILVER_USER_COLUMNS)
    assert row["identifier_hash"] == -7279641312655250028
    assert (row["country_code"], row["country_name"], row["country_name_source"]) == (
        "US",
        "United States",
        "Etats-Unis",
    )
    assert (row["language"], row["gender"], row["civility_title"]) == ("en", "F", "mrs")
    assert row["has_any_app"] is False and row["has_profile_picture"] is True
    assert row["seniority_days"] == 3205 and row["seniority_months"] == 106.83
    assert row["dq_flags"] == []


@pytest.mark.parametrize(("overrides", "rule", "column", "value"), FLAG_CASES)
def test_flag_rules_keep_the_row_and_name_the_rule(checked, overrides, rule, column, value):
    silver, quarantine = checked
    case = case_name(overrides, rule)
    assert case not in quarantine, case
    row = one_row(silver, case)
    assert rule in row["dq_flags"], case
    assert row[column] == value, case


@pytest.mark.parametrize(("overrides", "rule"), QUARANTINE_CASES)
def test_quarantine_rules_take_the_row_out_with_its_reasons(checked, overrides, rule):
    silver, quarantine = checked
    case = case_name(overrides, rule)
    assert case not in silver, case
    row = one_row(quarantine, case)
    assert rule in row["failed_rules"], case
    assert row["source_kind"] == "users_2020", case
    assert row["raw_record"].startswith("{"), case  # the raw row is kept, as read


def test_a_quarantined_row_lists_every_rule_it_broke(checked):
    row = one_row(checked[1], "every rule")
    assert {"negative_count", "unknown_country", "invalid_language"} <= set(row["failed_rules"])


def test_a_malformed_row_is_quarantined_for_that_reason_alone(checked):
    row = one_row(checked[1], "malformed alone")
    assert row["failed_rules"] == ["malformed_row"]


def test_a_header_repeated_mid_file_is_quarantined_as_such_alone(checked):
    silver, quarantine = checked
    one_row(silver, "repeated header")
    row = one_row(quarantine, "repeated header")
    assert row["failed_rules"] == ["repeated_header"]


def test_2024_rows_have_no_app_or_login_columns_and_break_no_rule_for_it(spark):
    silver, quarantine = _check(spark, [{"identifierHash": "1920991140"}], USERS_2024)
    assert quarantine.count() == 0
    row = silver.first()
    assert row["release"] == "2024" and row["website_longevity_days"] == 3803
    assert row["has_any_app"] is None and row["days_since_last_login"] is None
    assert row["dq_flags"] == []


def test_record_hash_depends_on_values_not_on_lineage(checked):
    silver = checked[0]
    first, redelivered, changed = (
        one_row(silver, f"hash {c}") for c in ("first", "redelivered", "changed")
    )
    assert first["record_hash"] == redelivered["record_hash"]
    assert changed["record_hash"] != first["record_hash"]


def test_record_hash_tells_which_value_is_null(spark):
    # xxhash64 skips nulls: the null mask keeps (5, null) and (null, 5) apart
    rows = spark.createDataFrame([(5, None), (None, 5), (5, None)], "a int, b int")
    hashes = [r[0] for r in rows.select(record_hash(["a", "b"])).collect()]
    assert hashes[0] == hashes[2] != hashes[1]


def test_later_release_wins_then_later_delivery(spark):
    cols = (
        "identifier_hash bigint, release string, ingested_at timestamp, source_file string, "
        "record_hash bigint"
    )
    versions = spark.createDataFrame(
        [
            (1, "2020", datetime(2026, 1, 3), "b.csv", 255),
            (1, "2024", datetime(2026, 1, 1), "a.csv", 0),
            (2, "2020", datetime(2026, 1, 1), "a.csv", 170),
            (2, "2020", datetime(2026, 1, 2), "a.csv", 0),
            (3, "2020", datetime(2026, 1, 1), "a.csv", 170),
            (3, "2020", datetime(2026, 1, 1), "b.csv", 0),
        ],
        cols,
    )
    latest = {
        r["identifier_hash"]: (r["release"], r["ingested_at"].day, r["source_file"])
        for r in rank_versions(versions).filter("is_latest").collect()
    }
    assert latest == {1: ("2024", 1, "a.csv"), 2: ("2020", 2, "a.csv"), 3: ("2020", 1, "b.csv")}


def test_merge_condition_agrees_with_the_ranking(spark):
    pairs = spark.createDataFrame(
        [
            ("2024", "2020", 1, 2),
            ("2020", "2024", 1, 2),
            ("2020", "2020", 2, -1),
            ("2020", "2020", -1, 2),
        ],
        "release string, t_release string, record_hash bigint, t_record_hash bigint",
    ).withColumns(
        {
            "ingested_at": F.lit(datetime(2026, 1, 1)),
            "t_ingested_at": F.lit(datetime(2026, 1, 1)),
            "source_file": F.lit("f"),
            "t_source_file": F.lit("f"),
        }
    )
    wins = [r[0] for r in pairs.select(F.expr(newer_condition(new="", old="t_"))).collect()]
    assert wins == [True, False, True, False]


def test_padded_country_names_are_one_spelling(spark):
    silver, quarantine = _check(
        spark, [{"identifierHash": "1", "country": " France "}, {"identifierHash": "2"}]
    )
    assert quarantine.count() == 0
    names = {r["country_name_source"] for r in silver.collect()}
    assert names == {"France", "Etats-Unis"}


def test_a_cut_last_line_is_quarantined_as_truncated_even_when_its_values_parse(spark, tmp_path):
    """A partial upload: the file stops inside the last row's last value, with no line end.
    The cut value still parses, so only the missing line end tells: that row is quarantined."""
    from c2c_etl.bronze.ingest import LandedFile, add_ingestion_metadata, unterminated_row
    from c2c_etl.bronze.inspect import inspect_blocks
    from c2c_etl.jobs.bronze import read_source
    from tests.etl.corpus.build import H2020, row

    path = tmp_path / "users[cut].csv"
    path.write_bytes(f"{H2020}\n{row(1)}\n{row(2)}\n{row(3)[:-1]}".encode())
    check = inspect_blocks([path.read_bytes()])
    assert check.unterminated == row(3)[:-1].encode()
    landed = LandedFile(str(path), path.name, "sha-cut", path.stat().st_size)
    truncated = unterminated_row(check.header, check.unterminated.decode())
    raw = add_ingestion_metadata(
        read_source(spark, landed, USERS_2020, check),
        USERS_2020,
        landed,
        "r1",
        "2026-01-01",
        truncated,
    )
    countries = spark.createDataFrame(country_lookup(["Etats-Unis"]), COUNTRY_LOOKUP_SCHEMA)
    checked = apply_rules(conform_users(raw, USERS_2020, countries), user_rules(USERS_2020))
    valid, broken = split_valid(checked)
    assert sorted(r["identifier_hash"] for r in valid.collect()) == [1, 2]
    (cut,) = quarantine_rows(broken).collect()
    assert cut["record_key"] == "3" and "truncated_last_line" in cut["failed_rules"]


def test_a_cut_last_line_with_fields_missing_is_malformed_and_truncated(spark):
    from c2c_etl.bronze.ingest import TRUNCATED_LAST_LINE

    raw = bronze_users(spark, [{"_corrupt_record": "1,user,Fr", "productsSold": None}])
    raw = raw.withColumn("_parse_error", F.lit(TRUNCATED_LAST_LINE))
    countries = spark.createDataFrame(country_lookup(["Etats-Unis"]), COUNTRY_LOOKUP_SCHEMA)
    checked = apply_rules(conform_users(raw, USERS_2020, countries), user_rules(USERS_2020))
    (row,) = quarantine_rows(split_valid(checked)[1]).collect()
    assert row["failed_rules"] == ["malformed_row", "truncated_last_line"]
