"""Hostile input through ``make run``'s own path (``c2c_adf.local.main``): the Data Factory
copy, the ETL job's tasks and the dashboard, as a new user meets them.

One lake, three runs on a slow machine's budget: a first delivery with nothing usable, then
the same folder with every other kind of hostile file added, then a rerun that must answer
from the lake's state without copying a file.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from c2c_etl import io, tables
from c2c_etl.config import local_config
from c2c_etl.sources import USERS_2024
from tests.etl.corpus.build import H2020, H2024, lines, row

NOTHING_USABLE = {
    "mac.csv": lines(H2020, row(1), row(2), end="\r"),
    "trailing.csv": lines(H2020 + ",", row(3) + ",", row(4) + ","),
    "README.md": b"# The week's export\n",
    "empty.csv": b"",
    "header_only.csv": lines(H2020),
}
USABLE = {
    "users.csv": lines(H2020, row(11, country=" France "), row(12, country="France")),
    "users_copy.csv": lines(H2020, row(11, country=" France "), row(12, country="France")),
    "users.csv.gz": gzip.compress(lines(H2020, row(13), row(14)), mtime=0),
    "sub/deeper/users_2024.txt": lines(H2024, row(15, USERS_2024.columns)),
    "users[1].csv": lines(H2020, row(16)),
    "cut.csv": lines(H2024, row(17, USERS_2024.columns))
    + row(18, USERS_2024.columns, websiteLongevity="3803").encode()[:-2],
    "nan.csv": lines(H2020, row(19), row(20, seniorityAsMonths="NaN")),
    "_old/users.csv": lines(H2020, row(21)),
}


def _write(folder: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


def _make_run(source: Path, lake: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from c2c_adf import local

    code = local.main(["--input", str(source), "--lake", str(lake)])
    return code, capsys.readouterr().out


def test_hostile_files_through_make_run_are_each_accounted_for(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from c2c_adf import local

    source, lake = tmp_path / "export", tmp_path / "lake"
    # No input folder: one line naming it, before any lake folder or lock exists.
    assert local.main(["--input", str(source), "--lake", str(lake)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and str(source) in error and not lake.exists()

    # A first delivery with nothing usable: exit 0, each file with its reason, no traceback.
    _write(source, NOTHING_USABLE)
    code, out = _make_run(source, lake, capsys)
    assert code == 0, out
    assert "mac.csv: REJECTED: classic Mac line endings (CR only, no LF)" in out
    assert "trailing.csv: REJECTED: unknown header: an empty column name (the last" in out
    assert "README.md: skipped: not named .csv and not a known CSV" in out
    assert "empty.csv: REJECTED: empty file (0 bytes)" in out
    assert "header_only.csv: empty: header only" in out
    assert "Gold: not built: silver has no valid user row yet" in out
    assert "Dashboard: no data yet" in out and "Traceback" not in out

    # The same folder with every other kind of hostile file added.
    _write(source, USABLE)
    code, out = _make_run(source, lake, capsys)
    assert code == 0, out
    expected = (
        "users.csv: 2 rows = 2 to silver + 0 quarantined + 0 duplicates  balanced",
        "users_copy.csv: duplicate delivery: same content as users.csv",
        "users.csv.gz: 2 rows = 2 to silver",
        "sub/deeper/users_2024.txt: 1 rows = 1 to silver",
        "users[1].csv: 1 rows = 1 to silver",
        "cut.csv: 2 rows = 1 to silver + 1 quarantined",
        "nan.csv: 2 rows = 1 to silver + 1 quarantined",
        "_old/users.csv: skipped: in folder _old/",
        "mac.csv: REJECTED: rejected before: classic Mac line endings",
        "README.md: skipped: skipped before: not named .csv",
        "Dashboard: ",
    )
    for line in expected:
        assert line in out, (line, out)
    assert "Dashboard: no data yet" not in out and "NOT BALANCED" not in out

    cfg = local_config(source, lake)
    logged = {r["source_file"] for r in io.read(spark, cfg, tables.INGESTION_LOG).collect()}
    every_file = {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()}
    assert logged == every_file
    rules = {
        r["source_file"]: set(r["failed_rules"])
        for r in io.read(spark, cfg, tables.SILVER_QUARANTINE).collect()
    }
    assert rules == {"cut.csv": {"truncated_last_line"}, "nan.csv": {"invalid_number"}}
    (france,) = io.read(spark, cfg, tables.DIM_COUNTRY).filter("country_code = 'FR'").collect()
    assert france["source_names"] == ["France"]

    # A rerun answers from the lake's state: no copy of the input, no Spark.
    runs = sorted((lake / "landing" / "runs").iterdir())
    code, out = _make_run(source, lake, capsys)
    assert code == 0 and "No new input" in out
    assert sorted((lake / "landing" / "runs").iterdir()) == runs
