from __future__ import annotations

import csv

from c2c_etl.generator import REPORT_FILE_NAMES, generate
from c2c_etl.sources import REPORT_KINDS, USERS_2020, USERS_2024, detect_kind, parse_header


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    generate(tmp_path / "a", 2000, 500, seed=7)
    assert (tmp_path / "a" / REPORT_FILE_NAMES["report_buyers_by_country"]).exists()
    generate(tmp_path / "b", 2000, 500, seed=7)
    generate(tmp_path / "c", 2000, 500, seed=8)
    for name in ("users_2020.csv", "users_2024.csv", *REPORT_FILE_NAMES.values()):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        if name.startswith("users"):
            assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()


def test_both_releases_in_their_own_schema_with_shared_users_and_dirty_rows(tmp_path):
    written = generate(tmp_path, 5000, 1000, seed=1, dirty_rate=0.05, overlap=0.05)
    assert {k: v for k, v in written.items() if k.startswith("users")} == {
        "users_2020.csv": 5000,
        "users_2024.csv": 1000,
    }
    for kind in REPORT_KINDS:  # the publisher's reports come with the users files
        with open(tmp_path / REPORT_FILE_NAMES[kind.name], encoding="utf-8") as f:
            assert detect_kind(parse_header(f.readline())) is kind
    with open(tmp_path / "users_2020.csv", encoding="utf-8") as f:
        assert detect_kind(parse_header(f.readline())) is USERS_2020
    with open(tmp_path / "users_2024.csv", encoding="utf-8") as f:
        assert detect_kind(parse_header(f.readline())) is USERS_2024
        rows = list(csv.reader(f))
    ids_2024 = {r[0] for r in rows}
    with open(tmp_path / "users_2020.csv", encoding="utf-8") as f:
        rows_2020 = list(csv.reader(f))[1:]
    assert len(ids_2024 & {r[0] for r in rows_2020}) >= 40  # users in both releases
    assert any(len(r) != len(USERS_2020.columns) for r in rows_2020)  # malformed lines
    assert any("737028" in r for r in rows_2020)  # implausible last login
    assert any(r[0] == "" for r in rows_2020 + rows)  # missing identifiers
    genders = {r[USERS_2024.columns.index("gender")] for r in rows if len(r) > 13}
    assert genders == {"M"}  # like the real 2024 release


def test_marginals_look_like_the_real_2020_release(tmp_path):
    generate(tmp_path, 20000, 10, seed=3, dirty_rate=0.0)
    with open(tmp_path / "users_2020.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    share = lambda pred: sum(1 for r in rows if pred(r)) / len(rows)  # noqa: E731
    assert 0.23 < share(lambda r: r["country"] == "France") < 0.28  # real: 0.254
    assert 0.04 < share(lambda r: int(r["productsBought"]) > 0) < 0.07  # real: 0.055
    assert 0.74 < share(lambda r: r["gender"] == "F") < 0.80  # real: 0.77
    assert 0.23 < share(lambda r: r["hasAnyApp"] == "True") < 0.30  # real: 0.265
