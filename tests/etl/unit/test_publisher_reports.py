"""The plain-Python publisher reports the generator writes (the Spark pipeline's oracle)."""

from __future__ import annotations

from c2c_etl.publisher_reports import compute_reports
from c2c_etl.sources import REPORT_BUYERS, REPORT_SELLERS, REPORT_TOP_SELLERS
from tests.etl.helpers import VALID_USER


def _u(**values):
    return {**VALID_USER, **{k: str(v) if v is not None else None for k, v in values.items()}}


def _row(kind, rows, key):
    return dict(zip(kind.columns, next(r for r in rows[kind] if r[: len(key)] == key), strict=True))


def test_half_up_on_exact_ties_and_empty_cells_from_zero_denominators():
    users = [_u(country="Grèce", productsBought=3) for _ in range(13)]
    users += [_u(country="Grèce", productsBought=2) for _ in range(7)]
    row = _row(REPORT_BUYERS, compute_reports(users), ["Grèce"])
    assert row["buyers"] == "20" and row["topbuyers"] == "0"
    assert row["meanproductsbought"] == "2.7"  # 53 / 20 = 2.65, half-up
    assert row["topmeanproductsbought"] == ""  # no top buyer
    assert row["toptotalproductsbought"] == "0"
    assert row["boughtperwishlistratio"] == ""  # nothing wished


def test_sellers_report_counts_listers_truncates_app_share_and_adds_totals():
    users = [
        _u(productsListed=25),
        _u(productsSold=1, hasAnyApp="True", hasIosApp="True"),
        _u(productsSold=2),
        _u(productsBought=4, gender="M"),
    ]
    rows = compute_reports(users)
    female = _row(REPORT_SELLERS, rows, ["Etats-Unis", "Female"])
    assert female["nbsellers"] == "3" and female["percentofappusers"] == "33.0"
    assert [r[:2] for r in rows[REPORT_SELLERS]][-2:] == [["", "Female"], ["", ""]]
    lone = compute_reports([_u(productsSold=1)])
    assert _row(REPORT_SELLERS, lone, ["", ""])["percentofappusers"] == ""


def test_top_sellers_means_are_floored_to_24_decimals():
    users = [_u(productsSold=20, productsListed=1)] + [_u(productsSold=1) for _ in range(8)]
    row = _row(REPORT_TOP_SELLERS, compute_reports(users), ["Etats-Unis"])
    assert row["meanproductssold"] == "3.111111111111111111111111"  # 28 / 9, floored
    assert row["topmeanproductssold"] == "20.0"
    assert row["meanproductslisted"] == "0.111111111111111111111111"
    assert compute_reports([_u(productsSold=3)])[REPORT_TOP_SELLERS] == []  # no top seller
