"""A deterministic generator of source files shaped like the real dataset, up to 20M users.

``make run`` uses it when no input folder is given, so the pipeline runs on a fresh machine with
no data; benchmarks use it for lakes of 1M to 20M users and for the deliveries that follow.

- Both users releases in their own schemas (2020 and 2024 column orders), with users present in
  both (the 2024 version must win) and, for 2020, the publisher's three reports.
- Every column is drawn from distributions measured on the real files
  (``generator_profile.py``, written by ``scripts/measure_generator_profile.py``);
  ``tests/etl/unit/test_generator_marginals.py`` bounds how far the marginals may drift.
- Dirty rows of every kind the quality rules catch, at a total rate spread evenly over the kinds,
  or at a rate per kind (``dirty_rates``).
- ``--users N`` splits N users between the releases like the real files (98,913 : 20,743).
- Rows are streamed to disk in small batches: memory stays flat whatever the size.
- ``generate_delivery`` writes one more file for an existing lake: new users whose identifiers
  cannot collide with the base's, optionally mixed with updated versions of earlier users.
- Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from c2c_etl import generator_profile as measured
from c2c_etl.publisher_reports import PublisherReports
from c2c_etl.sources import USERS_2020, USERS_2024, SourceKind, detect_kind, parse_header

RELEASES: dict[str, SourceKind] = {"2020": USERS_2020, "2024": USERS_2024}
LANGUAGES = ("en", "fr", "it", "de", "es")
COUNT_COLUMNS = (
    "socialNbFollowers",
    "socialNbFollows",
    "socialProductsLiked",
    "productsListed",
    "productsSold",
    "productsWished",
    "productsBought",
)
DEFAULT_DIRTY_RATE = 0.002

# Kinds of dirty row, each caught by a quality rule of the same name (quarantine or flag),
# except duplicate_row (silver counts it as a duplicate).
DIRTY_KINDS = (
    "invalid_language",
    "missing_country_code",
    "implausible_last_login",
    "text_in_number",
    "negative_count",
    "unknown_country",
    "missing_identifier",
    "malformed_row",
    "pass_rate_out_of_range",
    "duplicate_row",
)
# The 2024 schema has no daysSinceLastLogin: there is nothing to make implausible.
KINDS_2020_ONLY = frozenset({"implausible_last_login"})
# Kinds that silver flags but keeps (they count in the publisher's reports).
FLAG_KINDS = frozenset({"invalid_language", "missing_country_code", "implausible_last_login"})


class Distribution:
    """A numeric column's distribution from points ``(P(X <= v), v)`` of its real CDF.

    A draw inverts the CDF: exact at the points (so atoms such as "0 for 84% of users" come
    out exactly), log-uniform between them, which suits the long tails of the counts.
    """

    def __init__(self, knots: Iterable[tuple[float, int]]) -> None:
        pairs = list(knots)
        self.cumulative = [p for p, _ in pairs]
        self.values = [v for _, v in pairs]
        self.cumulative[-1] = 1.0

    def draw(self, rng: random.Random) -> int:
        u = rng.random()
        i = min(bisect_right(self.cumulative, u), len(self.values) - 1)
        value = self.values[i]
        low = self.values[i - 1] + 1 if i else value
        if low >= value:
            return value
        below = self.cumulative[i - 1]
        fraction = (u - below) / (self.cumulative[i] - below)
        return min(value, int(low * ((value + 1) / low) ** fraction))


def _cumulative(weights: Iterable[float]) -> list[float]:
    sums = list(itertools.accumulate(weights))
    return [s / sums[-1] for s in sums]


def _languages(release: str, home: str, home_share: float) -> list[float]:
    """Cumulative language shares of one country: its home language, then the others as the
    release's users away from their home language speak them."""
    away = {k: v for k, v in measured.AWAY_LANGUAGES[release].items() if k != home}
    total_away = sum(away.values())
    return _cumulative(
        home_share if lang == home else (1 - home_share) * away[lang] / total_away
        for lang in LANGUAGES
    )


@dataclass(frozen=True)
class ReleaseProfile:
    """What one release's users are drawn from (see ``generator_profile``)."""

    countries: list[float]  # cumulative shares over measured.COUNTRIES
    languages: list[list[float]]  # per country, cumulative shares over LANGUAGES
    numbers: dict[str, Distribution]
    shares: dict[str, float]


def _profile(release: str) -> ReleaseProfile:
    first = release == "2020"
    return ReleaseProfile(
        countries=_cumulative(c[5] if first else c[6] for c in measured.COUNTRIES),
        languages=[_languages(release, c[2], c[3] if first else c[4]) for c in measured.COUNTRIES],
        numbers={k: Distribution(v) for k, v in measured.NUMBERS[release].items()},
        shares=measured.SHARES[release],
    )


PROFILES = {release: _profile(release) for release in RELEASES}
COUNTRY_NAMES = frozenset(c[0] for c in measured.COUNTRIES)


def _decimals(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@cache
def _seniority_units(days: int) -> tuple[str, str]:
    """Seniority in months (days/30) and years (days/360) as the source writes them: "106.6"."""
    return _decimals(days / 30), _decimals(days / 360)


def split_users(total: int) -> tuple[int, int]:
    """(users in 2020, users in 2024) for a total, in the real files' ratio: 98,913 : 20,743,
    about 4.8 users of 2020 for each of 2024."""
    users_2020 = round(total * measured.ROWS_2020 / (measured.ROWS_2020 + measured.ROWS_2024))
    return users_2020, total - users_2020


def _user(rng: random.Random, release: str, identifier: int) -> dict[str, str]:
    profile = PROFILES[release]
    n = profile.numbers
    index = bisect_right(profile.countries, rng.random())
    country, code, *_ = measured.COUNTRIES[index]
    language = LANGUAGES[bisect_right(profile.languages[index], rng.random())]
    female = rng.random() < profile.shares["female"]
    civility = ("miss" if rng.random() < profile.shares["miss"] else "mrs") if female else "mr"
    counts = {column: n[column].draw(rng) for column in COUNT_COLUMNS}
    # Only sellers have a pass rate (and not all of them), like the real files.
    pass_rate = n["productsPassRate"].draw(rng) if counts["productsSold"] else 0
    seniority = n["seniority"].draw(rng)
    months, years = _seniority_units(seniority)
    row = {
        "identifierHash": str(identifier),
        "type": "user",
        "country": country,
        "countryCode": code,
        "language": language,
        **{column: str(value) for column, value in counts.items()},
        "productsPassRate": f"{pass_rate}.0",
        "gender": "F" if female else "M",
        "civilityGenderId": {"mr": "1", "mrs": "2", "miss": "3"}[civility],
        "civilityTitle": civility,
        "hasProfilePicture": str(rng.random() < profile.shares["profile_picture"]),
        "seniority": str(seniority),
        "seniorityAsMonths": months,
        "seniorityAsYears": years,
    }
    if release == "2024":
        row["websiteLongevity"] = "3803"
        return row
    # App users have iOS only, Android only, or both: [0, ios_only) [.., +android_only) [.., 1).
    any_app = rng.random() < profile.shares["any_app"]
    platform = rng.random()
    ios_only, android_only = profile.shares["ios_only"], profile.shares["android_only"]
    android = any_app and platform >= ios_only
    row["hasAnyApp"] = str(any_app)
    row["hasIosApp"] = str(any_app and not (android and platform < ios_only + android_only))
    row["hasAndroidApp"] = str(android)
    row["daysSinceLastLogin"] = str(n["daysSinceLastLogin"].draw(rng))
    return row


def _make_dirty(row: dict[str, str], kind: str) -> dict[str, str] | str:
    """Damage a row the way real deliveries are damaged; a str is a raw malformed line."""
    row = dict(row)
    if kind == "invalid_language":
        row["language"] = "74"
    elif kind == "missing_country_code":
        row["countryCode"] = ""
    elif kind == "implausible_last_login":
        row["daysSinceLastLogin"] = "737028"
    elif kind == "text_in_number":
        row["productsBought"] = "three"
    elif kind == "negative_count":
        row["productsSold"] = "-4"
    elif kind == "unknown_country":
        row["country"], row["countryCode"] = "Atlantide", "xx"
    elif kind == "missing_identifier":
        row["identifierHash"] = ""
    elif kind == "pass_rate_out_of_range":
        row["productsPassRate"] = "140.0"
    elif kind == "malformed_row":
        return ",".join(list(row.values())[:5])  # cut short: too few fields
    return row


@dataclass(frozen=True)
class DirtyMix:
    """Per-kind rates of dirty rows for one release, as cumulative shares for one draw."""

    kinds: tuple[str, ...]
    cumulative: tuple[float, ...]

    @property
    def total(self) -> float:
        return self.cumulative[-1] if self.cumulative else 0.0

    def pick(self, u: float) -> str | None:
        """The kind of dirt for a row whose uniform draw is ``u``, or None for a clean row."""
        if u >= self.total:
            return None
        return self.kinds[bisect_right(self.cumulative, u)]


def dirty_mix(
    release: str, dirty_rate: float = 0.0, dirty_rates: Mapping[str, float] | None = None
) -> DirtyMix:
    """Resolve the asked rates for one release: ``dirty_rate`` is spread evenly over the kinds
    the release can have, then ``dirty_rates`` sets the kinds it names (kinds that the release
    cannot have, i.e. implausible_last_login for 2024, are left out of that release)."""
    asked = dict(dirty_rates or {})
    unknown = sorted(set(asked) - set(DIRTY_KINDS))
    if unknown:
        raise ValueError(f"unknown dirty row kind {unknown}; known kinds: {', '.join(DIRTY_KINDS)}")
    for name, rate in [("dirty_rate", dirty_rate), *asked.items()]:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"the rate of {name} must be within 0..1, not {rate}")
    kinds = tuple(k for k in DIRTY_KINDS if release == "2020" or k not in KINDS_2020_ONLY)
    rates = {k: asked.get(k, dirty_rate / len(kinds)) for k in kinds}
    if sum(rates.values()) > 1.0 + 1e-9:
        raise ValueError(f"the dirty rates add up to more than 1: {rates}")
    chosen = tuple(k for k in kinds if rates[k] > 0)
    return DirtyMix(chosen, tuple(itertools.accumulate(rates[k] for k in chosen)))


def _random_64(rng: random.Random) -> int:
    """A 2020-style identifier: a signed 64-bit hash."""
    return rng.randrange(-(2**63), 2**63)


def _scramble_32(x: int) -> int:
    """A bijection of the 32-bit integers that looks random (the "lowbias32" integer hash:
    xor-shifts and odd multipliers, each invertible): distinct inputs, distinct outputs."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def _shared_ids(seed: int) -> Iterator[int]:
    """Identifiers of the users in both releases, drawn lazily: same sequence for both files."""
    rng = random.Random(f"{seed}-shared")
    while True:
        yield _random_64(rng)


def _user_rows(
    rng: random.Random,
    release: str,
    n: int,
    new_id: Callable[[random.Random, int], int],
    mix: DirtyMix,
    shared: int = 0,
    shared_ids: Iterator[int] | None = None,
    updates: list[dict[str, str]] | None = None,
    population: PublisherReports | None = None,
) -> Iterator[dict[str, str] | str]:
    """The rows of one file: ``shared`` users from ``shared_ids`` first (never damaged), then
    ``updates`` (new versions of earlier users) at random places among new users, some damaged.
    When ``population`` is given, the rows that silver keeps are added to it, as silver sees them.
    """
    previous: dict[str, str] | None = None
    pending = list(updates or [])
    pending.reverse()  # popped from the end: in the given order
    for i in range(n):
        if i < shared and shared_ids is not None:
            row = _user(rng, release, next(shared_ids))
            previous = row  # left out of population: the 2024 version wins in silver
            yield row
            continue
        # Selection sampling: each remaining position holds an update with the right odds, so
        # exactly len(updates) of them land in the file, spread evenly.
        if pending and rng.random() * (n - i) < len(pending):
            yield _updated(rng, pending.pop(), release)
            continue
        row = _user(rng, release, new_id(rng, i))
        kind = mix.pick(rng.random()) if mix.total else None
        if kind == "duplicate_row" and previous is not None:
            yield previous  # the last clean row again, already counted once
        elif kind is None or kind == "duplicate_row":  # (no row to repeat yet: a clean one)
            if population is not None:
                population.add(row)
            previous = row
            yield row
        else:
            dirty = _make_dirty(row, kind)
            if population is not None and kind in FLAG_KINDS and isinstance(dirty, dict):
                kept: dict[str, str | None] = dict(dirty)
                if kind == "implausible_last_login":
                    kept["daysSinceLastLogin"] = None  # silver sets it to NULL
                population.add(kept)
            yield dirty


def generate_users(
    release: str,
    n: int,
    seed: int,
    dirty_rate: float = DEFAULT_DIRTY_RATE,
    shared: int = 0,
    population: PublisherReports | None = None,
    dirty_rates: Mapping[str, float] | None = None,
) -> Iterator[dict[str, str] | str]:
    """Rows of one release of the base dataset; the first ``shared`` users are in both
    releases (same identifiers for the same ``seed``)."""
    rng = random.Random(f"{seed}-{release}")
    if release == "2020":
        new_id: Callable[[random.Random, int], int] = lambda r, _i: _random_64(r)  # noqa: E731
    else:
        # Like the real 2024 file: unsigned 32-bit identifiers (deliveries use 2**32 and up).
        # Drawn at random, 3.5M of them (a 20M-user dataset) would hold ~1,400 collisions; a
        # bijection of the row number holds none.
        key = random.Random(f"{seed}-2024-ids").getrandbits(32)
        new_id = lambda _r, i: _scramble_32((i + key) & 0xFFFFFFFF)  # noqa: E731
    mix = dirty_mix(release, dirty_rate, dirty_rates)
    return _user_rows(rng, release, n, new_id, mix, shared, _shared_ids(seed), None, population)


def write_csv(
    path: Path,
    columns: tuple[str, ...],
    rows: Iterable[dict[str, str] | list[str] | str],
    chunk: int = 1_000,
) -> int:
    """Write rows (dicts in ``columns`` order, lists of cells, or raw lines), ``chunk`` lines
    at a time: only one batch is in memory, whatever the file's size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        iterator = iter(rows)
        while batch := list(itertools.islice(iterator, chunk)):
            for raw, run in itertools.groupby(batch, key=lambda row: isinstance(row, str)):
                if raw:
                    handle.writelines(f"{line}\n" for line in run)
                else:
                    writer.writerows(_cells(row, columns) for row in run)
            written += len(batch)
    return written


def _cells(row: dict[str, str] | list[str] | str, columns: tuple[str, ...]) -> list[str] | str:
    return [row[c] for c in columns] if isinstance(row, dict) else row


REPORT_FILE_NAMES = {
    "report_buyers_by_country": "Buyers-repartition-by-country.csv",
    "report_sellers_by_gender_country": "Comparison-of-Sellers-by-Gender-and-Country.csv",
    "report_top_seller_countries": "Countries-with-Top-Sellers-(Fashion-C2C).csv",
}


def generate(
    output: Path,
    users_2020: int,
    users_2024: int,
    seed: int = 42,
    dirty_rate: float = DEFAULT_DIRTY_RATE,
    overlap: float = 0.02,
    reports: bool = True,
    dirty_rates: Mapping[str, float] | None = None,
) -> dict[str, int]:
    """Write both releases under ``output`` and, with ``reports``, the publisher's three reports
    over the 2020 users that silver keeps. Returns the rows written per file.

    ``overlap`` is the share of 2024 users also in 2020; ``dirty_rate`` the share of damaged
    rows, spread evenly over the kinds; ``dirty_rates`` sets the rate of the kinds it names.
    """
    for release in RELEASES:  # fail before writing anything
        dirty_mix(release, dirty_rate, dirty_rates)
    shared = int(users_2024 * overlap)
    population = PublisherReports() if reports else None
    # Both files start with the users that are in both releases.
    written = {
        "users_2020.csv": write_csv(
            output / "users_2020.csv",
            USERS_2020.columns,
            generate_users("2020", users_2020, seed, dirty_rate, shared, population, dirty_rates),
        ),
        "users_2024.csv": write_csv(
            output / "users_2024.csv",
            USERS_2024.columns,
            generate_users("2024", users_2024, seed, dirty_rate, shared, None, dirty_rates),
        ),
    }
    if population is not None:
        for kind, rows in population.rows().items():
            name = REPORT_FILE_NAMES[kind.name]
            written[name] = write_csv(output / name, kind.columns, iter(rows))
    return written


# ---------------------------------------------------------------------------------------------
# Deliveries: one more file for a lake that already holds a base dataset.


@dataclass(frozen=True)
class Delivery:
    """What ``generate_delivery`` wrote: rows in all, and how many are updated users."""

    path: Path
    rows: int
    updated: int


class _UpdateCandidates:
    """Which rows of an earlier file may get an update: those silver keeps as they are (an
    update of a quarantined row would arrive as a new user). Judged on the raw cells by
    position, since every row of a large file passes through here."""

    def __init__(self, header: tuple[str, ...], release: str) -> None:
        at = header.index
        self.width = len(header)
        self.identifier = at("identifierHash")
        self.counts = [at(c) for c in COUNT_COLUMNS]
        self.rate, self.language = at("productsPassRate"), at("language")
        self.country, self.code = at("country"), at("countryCode")
        self.login = (at("daysSinceLastLogin"), at("seniority")) if release == "2020" else None

    def accepts(self, fields: list[str]) -> bool:
        if len(fields) != self.width or fields[self.country] not in COUNTRY_NAMES:
            return False
        if fields[self.language] not in LANGUAGES or not fields[self.code]:
            return False
        if not all(fields[i].isdigit() for i in self.counts):  # digits only: no sign, no text
            return False
        try:
            int(fields[self.identifier])
            if not 0.0 <= float(fields[self.rate]) <= 100.0:
                return False
            return self.login is None or int(fields[self.login[0]]) <= int(fields[self.login[1]])
        except ValueError:
            return False


def _sample_users(path: Path, release: str, k: int, rng: random.Random) -> list[dict[str, str]]:
    """Up to ``k`` distinct users of an earlier file of ``release``, uniformly (reservoir
    sampling: one pass, ``k`` rows in memory whatever the file's size)."""
    sample: list[list[str]] = []
    where: dict[str, int] = {}  # identifier -> its place in the sample
    with open(path, encoding="utf-8", newline="") as f:
        header = parse_header(f.readline())
        if detect_kind(header) is not RELEASES[release]:
            raise ValueError(f"{path} is not a users file of the {release} release")
        candidates = _UpdateCandidates(header, release)
        at = candidates.identifier
        seen = 0
        for fields in csv.reader(f):
            # A duplicate line of a user already drawn is skipped: each user once at most.
            if not candidates.accepts(fields) or fields[at] in where:
                continue
            seen += 1
            if len(sample) < k:
                j = len(sample)
                sample.append(fields)
            else:
                j = rng.randrange(seen)
                if j >= k:
                    continue
                del where[sample[j][at]]
                sample[j] = fields
            where[fields[at]] = j
    return [dict(zip(header, fields, strict=True)) for fields in sample]


def _updated(rng: random.Random, user: dict[str, str], release: str) -> dict[str, str]:
    """A later version of a user: same identifier and profile, more activity (so the record
    differs and silver's MERGE takes it: same release, delivered later)."""
    row = dict(user)
    row["socialProductsLiked"] = str(
        int(row["socialProductsLiked"]) + 1 + int(rng.expovariate(0.2))
    )
    for column in ("productsWished", "productsBought", "socialNbFollows"):
        if rng.random() < 0.3:
            row[column] = str(int(row[column]) + 1 + int(rng.expovariate(0.5)))
    if release == "2020":
        row["daysSinceLastLogin"] = str(rng.randint(1, 30))  # back on the site lately
    return row


# New 2024 users of a delivery get (seed + 1) * 2**32 + row: above every 32-bit base identifier,
# and distinct between deliveries of distinct seeds.
MAX_DELIVERY_SEED = 2**31 - 2


def generate_delivery(
    output_file: Path,
    release: str,
    rows: int,
    seed: int,
    dirty_rate: float = DEFAULT_DIRTY_RATE,
    dirty_rates: Mapping[str, float] | None = None,
    update_from: Path | None = None,
    update_share: float = 0.0,
) -> Delivery:
    """Write one more users file of ``release`` for a lake that holds a base dataset: ``rows``
    rows of new users (some damaged, as in ``generate``), of which a share ``update_share``
    are instead later versions of users drawn from the earlier file ``update_from``.

    New identifiers never meet the base's: 2020 ones are random 64-bit (a collision among 20M
    users is a one-in-a-million event), 2024 ones are ``(seed + 1) * 2**32 + row``, above the
    base's 32-bit range, so deliveries with distinct seeds never share one. An update wins in
    silver when it is ingested after the earlier version, or in the same run with a file name
    that sorts after it (``users_2020_part_0001.csv`` after ``users_2020.csv``); a 2020 user
    who is also in the 2024 release keeps its 2024 version. No publisher reports.

    Updates are drawn among the users of ``update_from`` that silver keeps as they are, each
    once (fewer when it has fewer); the file is read whole for each delivery, so
    many small deliveries had better update users of a small earlier file (the last delivery).
    """
    if release not in RELEASES:
        raise ValueError(f"release must be one of {sorted(RELEASES)}, not {release!r}")
    if not 0.0 <= update_share <= 1.0:
        raise ValueError(f"update_share must be within 0..1, not {update_share}")
    if update_share and update_from is None:
        raise ValueError("update_share needs update_from, the earlier file to update users of")
    if release == "2024" and not 0 <= seed <= MAX_DELIVERY_SEED:
        raise ValueError(f"a 2024 delivery's seed must be within 0..{MAX_DELIVERY_SEED}")
    if rows >= 2**32:
        raise ValueError("a delivery holds fewer than 2**32 rows")
    mix = dirty_mix(release, dirty_rate, dirty_rates)
    rng = random.Random(f"delivery-{seed}-{release}")
    updates: list[dict[str, str]] = []
    if update_from is not None and update_share:
        sampler = random.Random(f"delivery-{seed}-{release}-updates")
        updates = _sample_users(update_from, release, round(rows * update_share), sampler)
    if release == "2020":
        new_id: Callable[[random.Random, int], int] = lambda r, _i: _random_64(r)  # noqa: E731
    else:
        new_id = lambda _r, i: ((seed + 1) << 32) + i  # noqa: E731
    written = write_csv(
        output_file,
        RELEASES[release].columns,
        _user_rows(rng, release, rows, new_id, mix, updates=updates),
    )
    return Delivery(output_file, written, len(updates))


# ---------------------------------------------------------------------------------------------
# Command line


def _dirty_rates(values: list[str] | None) -> tuple[float, dict[str, float]]:
    """``--dirty-rate`` values: one plain RATE (the total), any number of KIND=RATE."""
    total, per_kind = DEFAULT_DIRTY_RATE, {}
    plain = [v for v in values or [] if "=" not in v]
    if len(plain) > 1:
        raise ValueError("give one total --dirty-rate RATE (and any number of KIND=RATE)")
    if plain:
        total = float(plain[0])
    for value in values or []:
        if "=" in value:
            kind, rate = value.split("=", 1)
            per_kind[kind.strip()] = float(rate)
    return total, per_kind


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Write a synthetic source dataset (both releases, publisher reports), or "
        "with --delivery one more users file for a lake that holds one.",
        epilog=f"Dirty row kinds: {', '.join(DIRTY_KINDS)}.",
    )
    parser.add_argument("--output", type=Path, help="folder of the dataset")
    parser.add_argument(
        "--users",
        type=int,
        help="users across both releases, split like the real files (98,913 : 20,743)",
    )
    parser.add_argument("--users-2020", type=int)
    parser.add_argument("--users-2024", type=int)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--dirty-rate",
        action="append",
        metavar="RATE|KIND=RATE",
        help=f"share of damaged rows, spread evenly over the kinds (default {DEFAULT_DIRTY_RATE}),"
        " or the rate of one kind; repeatable",
    )
    parser.add_argument("--overlap", type=float, default=0.02, help="share of 2024 users in 2020")
    parser.add_argument("--no-reports", action="store_true", help="skip the publisher reports")
    parser.add_argument("--delivery", type=Path, help="write one users file here instead")
    parser.add_argument("--release", choices=sorted(RELEASES), help="the delivery's release")
    parser.add_argument("--rows", type=int, help="rows of the delivery")
    parser.add_argument("--update-from", type=Path, help="earlier file whose users to update")
    parser.add_argument(
        "--update-share", type=float, default=0.0, help="share of the delivery that are updates"
    )
    args = parser.parse_args(argv)
    try:
        dirty_rate, dirty_rates = _dirty_rates(args.dirty_rate)
        for release in RELEASES:
            dirty_mix(release, dirty_rate, dirty_rates)
    except ValueError as e:
        parser.error(str(e))
    started = time.perf_counter()
    if args.delivery is not None:
        if args.output or args.users or args.users_2020 or args.users_2024:
            parser.error("--delivery writes one file: no --output or --users*")
        if args.release is None or args.rows is None:
            parser.error("--delivery needs --release and --rows")
        try:
            delivery = generate_delivery(
                args.delivery,
                args.release,
                args.rows,
                args.seed,
                dirty_rate,
                dirty_rates,
                args.update_from,
                args.update_share,
            )
        except ValueError as e:
            parser.error(str(e))
        print(f"wrote {delivery.rows} rows ({delivery.updated} updated users) to {delivery.path}")
        total = delivery.rows
    else:
        if args.output is None:
            parser.error("give --output (a dataset) or --delivery (one more file)")
        if args.users is not None:
            if args.users_2020 is not None or args.users_2024 is not None:
                parser.error("give either --users or --users-2020/--users-2024")
            users_2020, users_2024 = split_users(args.users)
        else:
            users_2020 = 20_000 if args.users_2020 is None else args.users_2020
            users_2024 = 5_000 if args.users_2024 is None else args.users_2024
        written = generate(
            args.output,
            users_2020,
            users_2024,
            args.seed,
            dirty_rate,
            args.overlap,
            not args.no_reports,
            dirty_rates,
        )
        for name, n in written.items():
            print(f"wrote {n} rows to {args.output / name}")
        total = written["users_2020.csv"] + written["users_2024.csv"]
    seconds = time.perf_counter() - started
    print(f"{total} users rows in {seconds:.1f} s ({total / max(seconds, 1e-9):,.0f} rows/s)")


if __name__ == "__main__":
    main()
