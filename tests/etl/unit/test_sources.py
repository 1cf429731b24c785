from __future__ import annotations

from c2c_etl.bronze.ingest import (
    LandedFile,
    list_landing,
    list_set_aside,
    named_as_csv,
    select_new,
    spark_path,
    unreadable_name,
)
from c2c_etl.sources import (
    REPORT_SELLERS,
    USERS_2020,
    USERS_2024,
    detect_kind,
    parse_header,
)


def test_release_is_told_by_header_not_by_file_name():
    assert detect_kind(USERS_2020.columns) is USERS_2020
    assert detect_kind(USERS_2024.columns) is USERS_2024
    assert detect_kind(tuple(reversed(USERS_2024.columns))) is USERS_2024


def test_header_parsing_strips_bom_quotes_and_line_end():
    line = '\ufeff"country","sex",' + ",".join(REPORT_SELLERS.columns[2:]) + "\r\n"
    assert detect_kind(parse_header(line)) is REPORT_SELLERS


def test_unknown_or_partial_headers_are_not_recognised():
    assert detect_kind(("a", "b")) is None
    assert detect_kind(USERS_2020.columns[:-1]) is None
    assert detect_kind((*USERS_2020.columns, "newColumn")) is None


def _f(name: str, sha: str) -> LandedFile:
    return LandedFile(path=f"/landing/{name}", name=name, sha256=sha, size=1)


def test_known_content_is_skipped_and_twins_in_one_delivery_are_reported():
    files = [_f("a.csv", "1"), _f("b.csv", "2"), _f("copy-of-b.csv", "2"), _f("old.csv", "0")]
    new, duplicates = select_new(files, known_sha256={"0"})
    assert [f.name for f in new] == ["a.csv", "b.csv"]
    assert [(d.name, twin.name) for d, twin in duplicates] == [("copy-of-b.csv", "b.csv")]


def test_landing_listing_keeps_every_file_and_sets_lake_folders_aside(tmp_path):
    """Every file is listed, whatever its name or depth (bronze decides from its bytes what it
    is); files an operator moved to ``_rejected/`` and Data Factory's ``_logs/`` are listed
    apart, to be accounted for as skipped."""
    for name in ("runs/r1/users.csv", "_rejected/2026-11-25/runs/r1/bad.csv",
                 "_logs/copy/r1/skipped.csv", "drops/new.CSV", "runs/r1/notes.txt",
                 "runs/r1/deep/er/u.csv.gz", "runs/r1/users[1].csv"):  # fmt: skip
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("identifierHash\n1\n")
    assert [f.name for f in list_landing(tmp_path)] == [
        "drops/new.CSV",
        "runs/r1/deep/er/u.csv.gz",
        "runs/r1/notes.txt",
        "runs/r1/users.csv",
        "runs/r1/users[1].csv",
    ]
    assert [f.name for f in list_set_aside(tmp_path)] == [
        "_logs/copy/r1/skipped.csv",
        "_rejected/2026-11-25/runs/r1/bad.csv",
    ]


def test_glob_characters_in_a_path_are_escaped_for_spark():
    assert spark_path("/in/users[1].csv") == r"/in/users\[1\].csv"
    assert spark_path("/in/a{b}*?.csv") == r"/in/a\{b\}\*\?.csv"
    assert spark_path("/in/plain (copy).csv") == "/in/plain (copy).csv"


def test_csv_names_are_the_ones_rejected_rather_than_skipped():
    assert named_as_csv("users.CSV") and named_as_csv("deep/users.csv.gz")
    assert not named_as_csv("notes.txt") and not named_as_csv("users.csv.bak")


def test_names_spark_cannot_read_say_why():
    assert unreadable_name("day1/users.csv") is None
    assert "':'" in (unreadable_name("users 12:00.csv") or "")
    assert "hidden file" in (unreadable_name("day1/_users.csv") or "")
    assert "hidden file" in (unreadable_name(".users.csv") or "")
