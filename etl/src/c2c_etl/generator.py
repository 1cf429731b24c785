"""A deterministic generator of source files shaped like the real dataset.

``make run`` uses it when no input folder is given, so the pipeline runs on a fresh machine with
no data. It writes both users releases in their own schemas (2020 and 2024 column orders), with
marginal distributions close to the real files, users present in both releases (the 2024
version must win), and dirty rows of every kind the quality rules catch, at a configurable rate.
Rows are written in chunks, so memory stays flat whatever the size. Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from c2c_etl.publisher_reports import PublisherReports
from c2c_etl.sources import USERS_2020, USERS_2024

# (French name as the source writes it, countryCode, home language, share of users) for the
# countries that hold ~95% of the real 2020 users; the rest share what is left.
COUNTRIES: tuple[tuple[str, str, str, float], ...] = (
    ("France", "fr", "fr", 0.254),
    ("Etats-Unis", "us", "en", 0.208),
    ("Royaume-Uni", "gb", "en", 0.114),
    ("Italie", "it", "it", 0.081),
    ("Allemagne", "de", "de", 0.066),
    ("Espagne", "es", "es", 0.058),
    ("Australie", "au", "en", 0.027),
    ("Danemark", "dk", "en", 0.019),
    ("Suède", "se", "en", 0.018),
    ("Belgique", "be", "fr", 0.017),
    ("Canada", "ca", "en", 0.016),
    ("Pays-Bas", "nl", "en", 0.015),
    ("Suisse", "ch", "fr", 0.009),
    ("Hong Kong", "hk", "en", 0.009),
    ("Finlande", "fi", "en", 0.007),
    ("Autriche", "at", "de", 0.006),
    ("Russie", "ru", "en", 0.005),
    ("Guyane", "gy", "fr", 0.0005),  # coded "gy" like the real file (it is GF)
    ("Îles Canaries", "ic", "es", 0.0005),
    ("Irlande", "ie", "en", 0.005),
    ("Portugal", "pt", "en", 0.005),
    ("Grèce", "gr", "en", 0.004),
    ("Japon", "jp", "en", 0.003),
    ("Brésil", "br", "en", 0.003),
)
LANGUAGES = ("en", "fr", "it", "de", "es")
SENIORITY_DAYS = (*range(2852, 2860), *range(3195, 3206))


@dataclass(frozen=True)
class ReleaseProfile:
    """Share of users with a positive count and the mean of the positive counts."""

    positive: dict[str, tuple[float, float]]
    followers_extra: tuple[float, float]
    follows_extra: tuple[float, float]
    female_share: float


PROFILE_2020 = ReleaseProfile(
    positive={
        "socialProductsLiked": (0.161, 27.5),
        "productsListed": (0.0174, 5.4),
        "productsSold": (0.0206, 5.9),
        "productsWished": (0.094, 16.6),
        "productsBought": (0.0548, 3.1),
    },
    followers_extra=(0.3, 1.5),
    follows_extra=(0.05, 8.0),
    female_share=0.77,
)
PROFILE_2024 = ReleaseProfile(
    positive={
        "socialProductsLiked": (0.62, 83.0),
        "productsListed": (0.065, 9.6),
        "productsSold": (0.166, 12.9),
        "productsWished": (0.336, 44.7),
        "productsBought": (0.308, 8.8),
    },
    followers_extra=(0.5, 16.0),
    follows_extra=(0.3, 25.0),
    female_share=0.0,  # the real 2024 release has only 'M' users
)

# Kinds of dirty row and the rule that catches each (quarantine or flag).
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


def _count(rng: random.Random, positive_share: float, mean: float) -> int:
    if rng.random() >= positive_share:
        return 0
    return 1 + int(rng.expovariate(1.0 / max(mean - 1.0, 0.1)))


def _country(rng: random.Random) -> tuple[str, str, str]:
    total = sum(c[3] for c in COUNTRIES)
    pick = rng.random() * total
    for name, code, language, share in COUNTRIES:
        pick -= share
        if pick <= 0:
            return name, code, language
    return COUNTRIES[0][:3]


def _user(rng: random.Random, release: str, identifier: int) -> dict[str, str]:
    profile = PROFILE_2020 if release == "2020" else PROFILE_2024
    country, code, home = _country(rng)
    language = home if rng.random() < 0.93 else rng.choice(LANGUAGES)
    female = rng.random() < profile.female_share
    civility = ("miss" if rng.random() < 0.006 else "mrs") if female else "mr"
    counts = {k: _count(rng, *v) for k, v in profile.positive.items()}
    sold = counts["productsSold"]
    pass_rate = round(rng.uniform(0, 100), 1) if sold and rng.random() < 0.6 else 0.0
    seniority = rng.choice(SENIORITY_DAYS)
    any_app = rng.random() < 0.265
    ios = any_app and rng.random() < 0.82
    android = any_app and (not ios or rng.random() < 0.04)
    days = rng.randint(11, 709) if rng.random() < 0.2 else rng.randint(600, 709)
    extra_followers = _count(rng, *profile.followers_extra)
    extra_follows = _count(rng, *profile.follows_extra)
    return {
        "identifierHash": str(identifier),
        "type": "user",
        "country": country,
        "countryCode": code,
        "language": language,
        "socialNbFollowers": str(3 + extra_followers),
        "socialNbFollows": str(8 + extra_follows),
        **{k: str(v) for k, v in counts.items()},
        "productsPassRate": str(pass_rate),
        "gender": "F" if female else "M",
        "civilityGenderId": {"mr": "1", "mrs": "2", "miss": "3"}[civility],
        "civilityTitle": civility,
        "hasAnyApp": str(any_app),
        "hasAndroidApp": str(android),
        "hasIosApp": str(ios),
        "hasProfilePicture": str(rng.random() < 0.98),
        "daysSinceLastLogin": str(days),
        "seniority": str(seniority),
        "seniorityAsMonths": f"{seniority / 30:.2f}".rstrip("0").rstrip("."),
        "seniorityAsYears": f"{seniority / 360:.2f}".rstrip("0").rstrip("."),
        "websiteLongevity": "3803",
    }


def _make_dirty(rng: random.Random, row: dict[str, str], kind: str) -> dict[str, str] | str:
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


FLAG_KINDS = ("invalid_language", "missing_country_code", "implausible_last_login")


def generate_users(
    release: str,
    n: int,
    seed: int,
    dirty_rate: float,
    shared_ids: list[int] | None = None,
    population: PublisherReports | None = None,
) -> Iterator[dict[str, str] | str]:
    """Rows of one release. ``shared_ids`` are 2020 identifiers to reuse (users in both
    releases); those rows are never damaged. When ``population`` is given, the rows that silver
    will keep for this release are appended to it (as silver sees them)."""
    rng = random.Random(f"{seed}-{release}")
    previous: dict[str, str] | None = None
    shared = shared_ids or []
    for i in range(n):
        if i < len(shared):
            identifier = shared[i]
        elif release == "2020":
            identifier = rng.randrange(-(2**63), 2**63 - 1)
        else:
            identifier = rng.randrange(10**6, 4_300_000_000)
        row = _user(rng, release, identifier)
        if i >= len(shared) and rng.random() < dirty_rate:
            kind = rng.choice(DIRTY_KINDS)
            if kind == "duplicate_row" and previous is not None:
                yield previous  # already counted once
                continue
            dirty = _make_dirty(rng, row, kind)
            if population is not None and kind in FLAG_KINDS and isinstance(dirty, dict):
                kept: dict[str, str | None] = dict(dirty)
                if kind == "implausible_last_login":
                    kept["daysSinceLastLogin"] = None  # silver sets it to NULL
                population.add(kept)
            yield dirty
            continue
        if population is not None and i >= len(shared):
            population.add(row)  # shared users are left out: the 2024 version wins in silver
        previous = row
        yield row


def write_csv(
    path: Path,
    columns: tuple[str, ...],
    rows: Iterator[dict[str, str] | list[str] | str],
    chunk: int = 50_000,
) -> int:
    """Write rows (dicts in ``columns`` order, lists of cells, or raw lines), ``chunk`` lines
    at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        buffer: list[list[str] | str] = []
        for row in rows:
            buffer.append(row if isinstance(row, str | list) else [row[c] for c in columns])
            if len(buffer) >= chunk:
                written += _flush(handle, writer, buffer)
        written += _flush(handle, writer, buffer)
    return written


def _flush(handle, writer, buffer: list) -> int:  # type: ignore[no-untyped-def]
    for item in buffer:
        if isinstance(item, str):
            handle.write(item + "\n")
        else:
            writer.writerow(item)
    n = len(buffer)
    buffer.clear()
    return n


def generate(
    output: Path,
    users_2020: int,
    users_2024: int,
    seed: int = 42,
    dirty_rate: float = 0.002,
    overlap: float = 0.02,
    reports: bool = True,
) -> dict[str, int]:
    """Write both releases under ``output`` and, with ``reports``, the publisher's three reports
    over the 2020 users that silver keeps. Returns the rows written per file."""
    rng = random.Random(seed)
    shared = [rng.randrange(-(2**63), 2**63 - 1) for _ in range(int(users_2024 * overlap))]
    population = PublisherReports() if reports else None
    # Both files start with the users that are in both releases.
    written = {
        "users_2020.csv": write_csv(
            output / "users_2020.csv",
            USERS_2020.columns,
            generate_users("2020", users_2020, seed, dirty_rate, shared, population),
        ),
        "users_2024.csv": write_csv(
            output / "users_2024.csv",
            USERS_2024.columns,
            generate_users("2024", users_2024, seed, dirty_rate, shared),
        ),
    }
    if population is not None:
        for kind, rows in population.rows().items():
            name = REPORT_FILE_NAMES[kind.name]
            written[name] = write_csv(output / name, kind.columns, iter(rows))
    return written


REPORT_FILE_NAMES = {
    "report_buyers_by_country": "Buyers-repartition-by-country.csv",
    "report_sellers_by_gender_country": "Comparison-of-Sellers-by-Gender-and-Country.csv",
    "report_top_seller_countries": "Countries-with-Top-Sellers-(Fashion-C2C).csv",
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic source dataset")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--users-2020", type=int, default=20_000)
    parser.add_argument("--users-2024", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirty-rate", type=float, default=0.002)
    args = parser.parse_args(argv)
    written = generate(args.output, args.users_2020, args.users_2024, args.seed, args.dirty_rate)
    for name, n in written.items():
        print(f"wrote {n} rows to {args.output / name}")


if __name__ == "__main__":
    main()
