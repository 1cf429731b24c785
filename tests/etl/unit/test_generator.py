from __future__ import annotations

import csv
import math
import re
import tracemalloc
from collections import Counter

import pytest

from c2c_etl.generator import (
    DIRTY_KINDS,
    RELEASES,
    REPORT_FILE_NAMES,
    _scramble_32,
    generate,
    generate_delivery,
    main,
    split_users,
)
from c2c_etl.silver.countries import code_for_name, iso_codes, language_codes
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


# --- dirty rows per kind ----------------------------------------------------------------------

NUMERIC = (
    "socialNbFollowers",
    "socialNbFollows",
    "socialProductsLiked",
    "productsListed",
    "productsSold",
    "productsPassRate",
    "productsWished",
    "productsBought",
    "civilityGenderId",
    "daysSinceLastLogin",
    "seniority",
    "seniorityAsMonths",
    "seniorityAsYears",
    "websiteLongevity",
)


def _dirt(fields: list[str], columns: tuple[str, ...]) -> str | None:
    """The kind of damage a line shows, judged from the line alone with the pipeline's own
    reference tables (ISO codes, French country names), not with the generator's code."""
    if len(fields) != len(columns):
        return "malformed_row"
    row = dict(zip(columns, fields, strict=True))
    numbers = [row[c] for c in NUMERIC if c in row]
    if row["identifierHash"] == "":
        return "missing_identifier"
    if not all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in numbers):
        return "text_in_number"
    if any(float(v) < 0 for v in numbers):
        return "negative_count"
    if float(row["productsPassRate"]) > 100:
        return "pass_rate_out_of_range"
    if code_for_name(row["country"]) is None and row["countryCode"].upper() not in iso_codes():
        return "unknown_country"
    if row["countryCode"] == "":
        return "missing_country_code"
    if row["language"] not in language_codes():
        return "invalid_language"
    if "daysSinceLastLogin" in row and int(row["daysSinceLastLogin"]) > int(row["seniority"]):
        return "implausible_last_login"
    return None


def _dirt_counts(path, columns: tuple[str, ...]) -> Counter[str]:
    counts: Counter[str] = Counter()
    seen: set[tuple[str, ...]] = set()
    with open(path, encoding="utf-8", newline="") as f:
        next(f)
        for fields in csv.reader(f):
            key = tuple(fields)
            # A line seen before is a duplicate; two lines without an identifier may agree by
            # chance (most users have the same counts), so they are judged on their own.
            kind = "duplicate_row" if key in seen and fields[0] else _dirt(fields, columns)
            seen.add(key)
            counts[kind or "clean"] += 1
    return counts


def test_dirty_rows_come_at_the_rate_asked_for_each_kind(tmp_path):
    # A total rate spread evenly over the kinds, with three kinds set on their own.
    rates = {"malformed_row": 0.01, "negative_count": 0.0, "duplicate_row": 0.008}
    n = {"2020": 60_000, "2024": 30_000}
    generate(
        tmp_path,
        n["2020"],
        n["2024"],
        seed=5,
        dirty_rate=0.02,
        overlap=0.0,
        reports=False,
        dirty_rates=rates,
    )
    for release, kind in (("2020", USERS_2020), ("2024", USERS_2024)):
        counts = _dirt_counts(tmp_path / f"users_{release}.csv", kind.columns)
        assert sum(counts.values()) == n[release]
        kinds = [k for k in DIRTY_KINDS if release == "2020" or k != "implausible_last_login"]
        assert set(counts) <= {"clean", *kinds}  # 2024 has no login column to damage
        for dirty in kinds:
            p = rates.get(dirty, 0.02 / len(kinds))
            expected = n[release] * p
            # Each row is damaged independently: the count is binomial. Four standard
            # deviations (and one row of slack) let a correct generator pass at any seed.
            tolerance = 4 * math.sqrt(n[release] * p * (1 - p)) + 1
            assert abs(counts[dirty] - expected) <= tolerance, (release, dirty, counts[dirty])


def test_an_unknown_dirty_kind_or_a_bad_rate_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"unknown dirty row kind \['typo'\]; known kinds: "):
        generate(tmp_path, 10, 10, dirty_rates={"typo": 0.1})
    with pytest.raises(ValueError, match="add up to more than 1"):
        generate(tmp_path, 10, 10, dirty_rates={"malformed_row": 0.6, "duplicate_row": 0.6})
    assert not (tmp_path / "users_2020.csv").exists()  # nothing written
    with pytest.raises(SystemExit):
        main(["--output", str(tmp_path), "--dirty-rate", "malformd_row=0.1"])
    assert "unknown dirty row kind ['malformd_row']" in capsys.readouterr().err


def test_the_cli_takes_a_total_dirty_rate_and_rates_per_kind(tmp_path):
    args = f"--output {tmp_path} --users-2020 3000 --users-2024 10 --no-reports"
    main([*args.split(), "--dirty-rate", "0", "--dirty-rate", "missing_identifier=0.1"])
    counts = _dirt_counts(tmp_path / "users_2020.csv", USERS_2020.columns)
    assert set(counts) == {"clean", "missing_identifier"}
    assert 230 < counts["missing_identifier"] < 370  # 300 expected
    assert not (tmp_path / REPORT_FILE_NAMES["report_buyers_by_country"]).exists()


# --- scale ---------------------------------------------------------------------------------------


def test_users_are_split_between_releases_like_the_real_files(tmp_path, capsys):
    assert split_users(119_656) == (98_913, 20_743)  # the real files' rows
    assert split_users(1_000_000) == (826_645, 173_355)
    main(["--output", str(tmp_path), "--users", "6000", "--seed", "3"])
    out = capsys.readouterr().out
    assert f"wrote 4960 rows to {tmp_path / 'users_2020.csv'}" in out
    assert f"wrote 1040 rows to {tmp_path / 'users_2024.csv'}" in out
    assert re.search(r"6000 users rows in [\d.]+ s \([\d,]+ rows/s\)", out)
    with pytest.raises(SystemExit):
        main(["--output", str(tmp_path), "--users", "10", "--users-2020", "5"])


def test_2024_identifiers_stay_32_bit_and_never_collide():
    ids = [_scramble_32(i) for i in range(200_000)]
    assert len(set(ids)) == len(ids) and max(ids) < 2**32
    assert sorted(_scramble_32(i) for i in range(2**16)) != list(range(2**16))  # scrambled


def test_memory_stays_flat_whatever_the_number_of_users(tmp_path):
    def peak(users: int) -> int:
        tracemalloc.start()
        try:
            generate(tmp_path / str(users), *split_users(users), seed=1, dirty_rate=0.01)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # (tracemalloc makes generation ~15 times slower: sizes stay small, 45,000 users apart.)
    small, large = peak(10_000), peak(55_000)
    # More than five times the rows, the same peak (about 3 MB, mostly one batch of 1,000
    # rows): nothing grows with the output. Rows are streamed, shared users drawn lazily, the
    # reports folded into per-country sums. The 5% margin covers the reports' few more country
    # groups; a cost of even 4 bytes per row kept (180 KB more) would exceed it.
    assert large <= small * 1.05, (small, large)


# --- deliveries ----------------------------------------------------------------------------------


def _rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_deliveries_bring_new_users_that_never_collide_with_the_base(tmp_path):
    base = tmp_path / "base"
    generate(base, 3000, 1000, seed=1, dirty_rate=0.0, overlap=0.05)
    base_ids = {r["identifierHash"] for r in _rows(base / "users_2020.csv")}
    base_ids |= {r["identifierHash"] for r in _rows(base / "users_2024.csv")}
    assert len(base_ids) == 3000 + 1000 - 50  # unique, but for the 50 users in both releases
    ids: dict[str, set[str]] = {}
    for release, seed in (("2020", 3), ("2020", 4), ("2024", 3), ("2024", 4), ("2024", 1)):
        name = f"users_{release}_part_{seed:04d}.csv"
        delivery = generate_delivery(tmp_path / name, release, 500, seed, dirty_rate=0.0)
        assert (delivery.rows, delivery.updated) == (500, 0)
        with open(tmp_path / name, encoding="utf-8") as f:
            assert detect_kind(parse_header(f.readline())) is RELEASES[release]
        ids[name] = {r["identifierHash"] for r in _rows(tmp_path / name)}
        assert len(ids[name]) == 500
    # One seed's 2024 users are above the base's 32-bit range, and apart from other seeds'.
    assert min(int(i) for i in ids["users_2024_part_0003.csv"]) == 4 * 2**32
    everyone = [base_ids, *ids.values()]
    assert sum(map(len, everyone)) == len(set().union(*everyone))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", *sorted(ids)]  # no reports
    generate_delivery(tmp_path / "again.csv", "2024", 500, 3, dirty_rate=0.0)
    again = (tmp_path / "again.csv").read_bytes()
    assert again == (tmp_path / "users_2024_part_0003.csv").read_bytes()


def test_a_delivery_updates_the_share_of_earlier_users_asked_for(tmp_path):
    generate(tmp_path / "base", 2000, 10, seed=2, dirty_rate=0.05, overlap=0.0)
    earlier = {r["identifierHash"]: r for r in _rows(tmp_path / "base" / "users_2020.csv")}
    delivery = generate_delivery(
        tmp_path / "users_2020_part_0001.csv",
        "2020",
        1000,
        seed=7,
        dirty_rate=0.0,
        update_from=tmp_path / "base" / "users_2020.csv",
        update_share=0.25,
    )
    assert (delivery.rows, delivery.updated) == (1000, 250)
    rows = _rows(tmp_path / "users_2020_part_0001.csv")
    updated = [r for r in rows if r["identifierHash"] in earlier]
    assert len(updated) == len({r["identifierHash"] for r in updated}) == 250
    assert rows.index(updated[0]) < 250 < rows.index(updated[-1])  # spread through the file
    for new in updated:
        old = earlier[new["identifierHash"]]
        assert _dirt(list(old.values()), USERS_2020.columns) is None  # clean users only
        # Same user, more activity, back lately: the record differs, so silver's MERGE
        # takes the later delivery's version.
        for column in ("country", "gender", "seniority", "productsSold", "productsPassRate"):
            assert new[column] == old[column]
        assert int(new["socialProductsLiked"]) > int(old["socialProductsLiked"])
        for column in ("productsWished", "productsBought", "socialNbFollows"):
            assert int(new[column]) >= int(old[column])
        assert int(new["daysSinceLastLogin"]) <= 30


def test_the_cli_writes_a_delivery(tmp_path, capsys):
    generate(tmp_path / "base", 10, 500, seed=2, dirty_rate=0.0)
    base = tmp_path / "base" / "users_2024.csv"
    out = tmp_path / "users_2024_part_0003.csv"
    delivery = f"--delivery {out} --release 2024 --rows 200 --seed 3 --update-share 0.1"
    main([*delivery.split(), "--update-from", str(base)])
    assert f"wrote 200 rows (20 updated users) to {out}" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # a 2020 file cannot give 2024 updates
        main([*delivery.split(), "--update-from", str(tmp_path / "base" / "users_2020.csv")])
    assert "is not a users file of the 2024 release" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(f"--delivery {out} --rows 200".split())
    assert "--delivery needs --release and --rows" in capsys.readouterr().err
