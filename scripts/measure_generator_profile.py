"""Measure the real users files and write the generator's profile, ``c2c_etl/generator_profile.py``.

The generator draws every column from distributions measured here, so its output is close to
the real data (``tests/etl/unit/test_generator_marginals.py`` checks how close). Only
aggregates leave the real files: shares per country and language, and for each numeric column
a few points of its cumulative distribution. Rerun it when the profile should change:

    uv run python scripts/measure_generator_profile.py [--data <folder of the real files>]
    uv run ruff format etl/src/c2c_etl/generator_profile.py
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter, defaultdict
from pathlib import Path

from c2c_etl.generator import COUNT_COLUMNS as COUNTS
from c2c_etl.generator import LANGUAGES
from c2c_etl.silver.countries import code_for_name

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "c2c-fashion-store"
OUTPUT = REPO / "etl" / "src" / "c2c_etl" / "generator_profile.py"
FILES = {"2020": "6M-0K-99K.users.dataset.public.csv", "2024": "users.6M0xxK.2024.public.csv"}
# A value holding at least this share of a column is kept exactly (an "atom")...
ATOM = 0.004
# ...and these points of the cumulative distribution pin down the rest, densest in the tail.
QUANTILES = (
    *(i / 40 for i in range(1, 40)),
    0.975,
    0.99,
    0.995,
    0.998,
    0.999,
    0.9995,
    0.9999,
)
# A country is listed when it holds this share of either release (together ~99% of users);
# the generator spreads the rest over the listed ones. Countries whose countryCode disagrees
# with their name (Guyane coded "gy") are listed whatever their share: the pipeline flags them.
COUNTRY_MIN_SHARE = 0.0004
# Fewer users than this in a release: the country's language share comes from the other one.
MIN_USERS_FOR_SHARE = 50


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def is_clean(row: dict[str, str], release: str) -> bool:
    """Leave out the rows the quality rules catch: the generator makes those on purpose."""
    if row["language"] not in LANGUAGES or not row["countryCode"] or not row["country"]:
        return False
    if code_for_name(row["country"]) is None:
        return False
    return release == "2024" or int(row["daysSinceLastLogin"]) <= int(row["seniority"])


def knots(values: list[int]) -> tuple[tuple[float, int], ...]:
    """Points (P(X <= v), v) of the empirical distribution: the minimum and maximum, the
    quantiles, and every atom v with v - 1 beside it, so that the generator, which spreads a
    segment's share over the integers (v - 1, v], draws atoms exactly."""
    counts = Counter(values)
    n = len(values)
    ordered = sorted(counts)
    cumulative, running = {}, 0
    for v in ordered:
        running += counts[v]
        cumulative[v] = running / n
    chosen = {ordered[0], ordered[-1]}
    chosen.update(next(v for v in ordered if cumulative[v] >= q) for q in QUANTILES)
    atoms = {v for v in ordered if counts[v] / n >= ATOM}
    chosen |= atoms | {v - 1 for v in atoms if v > ordered[0]}

    def below_or_at(x: int) -> float:
        return max((cumulative[v] for v in ordered if v <= x), default=0.0)

    return tuple((round(below_or_at(v), 6), v) for v in sorted(chosen))


def measure(rows: list[dict[str, str]], release: str) -> dict[str, object]:
    clean = [r for r in rows if is_clean(r, release)]
    numbers = {c: knots([int(r[c]) for r in clean]) for c in COUNTS}
    sellers = [r for r in clean if int(r["productsSold"]) > 0]
    # Pass rates are whole numbers but a handful of rows; a rate comes with sales only.
    numbers["productsPassRate"] = knots([round(float(r["productsPassRate"])) for r in sellers])
    numbers["seniority"] = knots([int(r["seniority"]) for r in clean])
    if release == "2020":
        numbers["daysSinceLastLogin"] = knots([int(r["daysSinceLastLogin"]) for r in clean])
    n = len(clean)
    women = [r for r in clean if r["gender"] == "F"]
    shares = {
        "female": len(women) / n,
        "miss": sum(r["civilityTitle"] == "miss" for r in women) / max(len(women), 1),
        "profile_picture": sum(r["hasProfilePicture"] == "True" for r in clean) / n,
    }
    if release == "2020":
        apps = [r for r in clean if r["hasAnyApp"] == "True"]
        shares["any_app"] = len(apps) / n
        shares["ios_only"] = sum(r["hasAndroidApp"] == "False" for r in apps) / len(apps)
        shares["android_only"] = sum(r["hasIosApp"] == "False" for r in apps) / len(apps)
    return {"numbers": numbers, "shares": {k: round(v, 5) for k, v in shares.items()}}


Country = tuple[str, str, str, float, float, int, int]


def countries(
    by_release: dict[str, list[dict[str, str]]],
) -> tuple[list[Country], dict[str, dict[str, float]]]:
    """(name, code, home language, home-language share in 2020 and in 2024, users in 2020 and
    in 2024) rows, and per release the languages of users away from their home language.

    The releases differ (20% of French users of 2024 use English, 8% in 2020), so shares are per
    release; a country with few users in a release borrows the other release's share.
    """
    users: dict[str, Counter[tuple[str, str]]] = {}
    spoken: dict[str, dict[str, Counter[str]]] = {}
    for release, rows in by_release.items():
        clean = [r for r in rows if is_clean(r, release)]
        users[release] = Counter((r["country"], r["countryCode"]) for r in clean)
        spoken[release] = defaultdict(Counter)
        for r in clean:
            spoken[release][r["country"]][r["language"]] += 1
    listed = set()
    for counter in users.values():
        total = sum(counter.values())
        listed |= {key for key, n in counter.items() if n / total >= COUNTRY_MIN_SHARE}
        listed |= {(name, code) for name, code in counter if code_for_name(name) != code.upper()}
    listed_rows: list[Country] = []
    away: dict[str, Counter[str]] = {release: Counter() for release in by_release}
    for name, code in sorted(listed, key=lambda k: (-users["2020"][k], -users["2024"][k], k)):
        both = spoken["2020"][name] + spoken["2024"][name]
        home = both.most_common(1)[0][0]
        share = {}
        for release, other in (("2020", "2024"), ("2024", "2020")):
            languages = spoken[release][name]
            if sum(languages.values()) < MIN_USERS_FOR_SHARE:
                languages = spoken[other][name] if spoken[other][name].total() else both
            share[release] = round(languages[home] / languages.total(), 3)
            away[release].update(
                {lang: n for lang, n in spoken[release][name].items() if lang != home}
            )
        listed_rows.append(
            (
                name,
                code,
                home,
                share["2020"],
                share["2024"],
                users["2020"][(name, code)],
                users["2024"][(name, code)],
            )
        )
    away_shares = {
        release: {lang: round(counter[lang] / counter.total(), 4) for lang in LANGUAGES}
        for release, counter in away.items()
    }
    return listed_rows, away_shares


def render(data: Path) -> str:
    by_release = {release: read(data / name) for release, name in FILES.items()}
    country_rows, away = countries(by_release)
    profiles = {release: measure(rows, release) for release, rows in by_release.items()}
    lines = [
        '"""The real users files, measured: what the generator draws its columns from.',
        "",
        "Written by ``scripts/measure_generator_profile.py`` from the real 2020 and 2024 files;",
        "do not edit by hand, rerun the script. Only aggregates: users per country, the",
        "languages they use, a few shares, and for each numeric column points of its cumulative",
        "distribution (see ``generator.Distribution``).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "# Rows of the real files: c2c-generate --users N splits N between the releases so.",
        f"ROWS_2020 = {len(by_release['2020'])}",
        f"ROWS_2024 = {len(by_release['2024'])}",
        "",
        "# (name as the source writes it, countryCode as the source writes it, home language,",
        "#  share of its users on the home language in 2020 and in 2024, users in the 2020 file,",
        "#  users in the 2024 file)",
        "COUNTRIES: tuple[tuple[str, str, str, float, float, int, int], ...] = "
        f"{tuple(country_rows)!r}",
        "",
        "# Per release, the languages of the users who do not use their country's home language.",
        f"AWAY_LANGUAGES: dict[str, dict[str, float]] = {away!r}",
        "",
        "# Per release, column -> ((P(X <= v), v), ...), increasing. Pass rates are of sellers.",
        "NUMBERS: dict[str, dict[str, tuple[tuple[float, int], ...]]] = {",
    ]
    for release, profile in profiles.items():
        lines.append(f"    {release!r}: {profile['numbers']!r},")
    lines += [
        "}",
        "",
        "# Per release: women, 'miss' among women, profile pictures, and (2020) the app flags:",
        "# users with any app, and among those, iOS only and Android only (the rest have both).",
        "SHARES: dict[str, dict[str, float]] = {",
    ]
    for release, profile in profiles.items():
        lines.append(f"    {release!r}: {profile['shares']!r},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    args.output.write_text(render(args.data), encoding="utf-8")
    print(f"wrote {args.output}; now run: ruff format {args.output}")


if __name__ == "__main__":
    main()
