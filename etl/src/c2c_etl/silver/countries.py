"""Country names as the marketplace wrote them (French) to ISO 3166-1 alpha-2 and English names.

pycountry carries ISO 3166 with its French translations, which covers most names. The aliases
below are the source's own spellings that no standard table has (found by profiling both
releases); each maps to the code the name means, checked against pycountry.
"""

from __future__ import annotations

import gettext
import unicodedata
from collections.abc import Iterable
from functools import cache

import pycountry

# Source spelling (normalised by normalize_country_name) -> ISO 3166-1 alpha-2.
ALIASES: dict[str, str] = {
    "russie": "RU",
    "kowait": "KW",
    "reunion": "RE",
    "puerto rico": "PR",
    "congo": "CG",
    "bosnie et herzegovine": "BA",
    "guyane": "GF",  # French Guiana; the 2020 file wrongly codes it "gy" (Guyana)
    "iles canaries": "ES",  # "IC" is only exceptionally reserved; the islands are Spain
    "myanmar": "MM",
    "bielorussie": "BY",
    "macedoine": "MK",
    "bermude": "BM",
    "trinidad et tobago": "TT",
    "tajikistan": "TJ",
    "uzbekistan": "UZ",
    "le salvador": "SV",
    "guernsey": "GG",
    "iles vierges (u.s.)": "VI",
    "iles vierges britanniques": "VG",
    "iles cayman": "KY",
    "georgie du sud / iles sandwich": "GS",
    "swaziland": "SZ",
    "saint kitts et nevis": "KN",
    "iles malouines": "FK",
    "zaire": "CD",
    "palau": "PW",
    "svalbard et jan mayen islands": "SJ",
    "chad": "TD",
    "st barthelemy": "BL",
    "antilles neerlandaises": "AN",  # withdrawn in 2010; kept as the historic code
    "suriname": "SR",
    "nouvelle zelande": "NZ",
    "nouvelle caledonie": "NC",
}


def normalize_country_name(name: str) -> str:
    """Lower case, accents and hyphens removed, blanks collapsed: 'Etats-Unis' -> 'etats unis'."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().replace("-", " ").replace("\u2019", "'").split())


def english_name(alpha_2: str) -> str | None:
    """English short name of an ISO code (common name where ISO's is formal), or None."""
    country = pycountry.countries.get(alpha_2=alpha_2) or pycountry.historic_countries.get(
        alpha_2=alpha_2
    )
    if country is None:
        return None
    return str(getattr(country, "common_name", None) or country.name)


def is_iso_code(code: str | None) -> bool:
    """True for an ISO 3166-1 alpha-2 code, current or withdrawn (case-insensitive)."""
    return bool(code) and english_name(str(code).strip().upper()) is not None


@cache
def _french_names() -> dict[str, str]:
    french = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["fr"])
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                names.setdefault(normalize_country_name(french.gettext(value)), country.alpha_2)
                names.setdefault(normalize_country_name(value), country.alpha_2)
    names.update(ALIASES)
    return names


def code_for_name(name: str | None) -> str | None:
    """ISO alpha-2 code for a country name in French (or English), None when unknown."""
    if not name or not name.strip():
        return None
    return _french_names().get(normalize_country_name(name))


# Schema of a DataFrame built from ``country_lookup`` rows (what ``conform_users`` joins).
COUNTRY_LOOKUP_SCHEMA = "country_name_source string, lookup_code string, lookup_name string"


def country_lookup(names: Iterable[str | None]) -> list[tuple[str, str | None, str | None]]:
    """Rows (source name, ISO code, English name) for the given source names."""
    rows = []
    for name in sorted({n for n in names if n is not None}):
        code = code_for_name(name)
        rows.append((name, code, english_name(code) if code else None))
    return rows


@cache
def iso_codes() -> frozenset[str]:
    """Every current and withdrawn alpha-2 code."""
    current = {c.alpha_2 for c in pycountry.countries}
    historic = {c.alpha_2 for c in pycountry.historic_countries if hasattr(c, "alpha_2")}
    return frozenset(current | historic)


@cache
def language_codes() -> frozenset[str]:
    """ISO 639-1 two-letter language codes."""
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))
