from __future__ import annotations

import pytest

from c2c_etl.silver.countries import (
    ALIASES,
    code_for_name,
    country_lookup,
    english_name,
    is_iso_code,
    language_codes,
    normalize_country_name,
)


def test_normalize_drops_accents_case_and_hyphens():
    assert normalize_country_name("  Etats-Unis ") == "etats unis"
    assert normalize_country_name("Îles Canaries") == "iles canaries"


@pytest.mark.parametrize(
    ("french", "code"),
    [
        ("France", "FR"),
        ("Etats-Unis", "US"),
        ("Royaume-Uni", "GB"),
        ("Allemagne", "DE"),
        ("Suède", "SE"),
        ("Corée du Sud", "KR"),
        ("Russie", "RU"),
        ("Guyane", "GF"),  # the source codes it "gy" (Guyana): the name wins
        ("Nouvelle Zélande", "NZ"),
        ("Îles Vierges (U.S.)", "VI"),
    ],
)
def test_french_names_map_to_iso_codes(french, code):
    assert code_for_name(french) == code


def test_unknown_and_blank_names_have_no_code():
    assert code_for_name("Atlantide") is None
    assert code_for_name("") is None
    assert code_for_name(None) is None


def test_every_alias_is_a_real_iso_code():
    for name, code in ALIASES.items():
        assert is_iso_code(code), f"{name} -> {code} is not ISO 3166-1"


def test_lookup_gives_english_names():
    rows = dict((n, (c, e)) for n, c, e in country_lookup(["Allemagne", "Atlantide", None]))
    assert rows["Allemagne"] == ("DE", "Germany")
    assert rows["Atlantide"] == (None, None)
    assert english_name("AN") == "Netherlands Antilles"


def test_language_codes_are_iso_639_1():
    codes = language_codes()
    assert {"en", "fr", "it", "de", "es"} <= codes
    assert "74" not in codes and "eng" not in codes
