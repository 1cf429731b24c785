"""The publisher's definitions and rounding, checked on hand-computed figures."""

from __future__ import annotations

from c2c_etl.gold.reconciliation import recompute_report, reconcile
from c2c_etl.silver.reports import ALL_GROUPS
from tests.etl.unit.test_gold import _user, _users


def test_buyers_report_uses_top_buyer_threshold_and_half_up_rounding(spark):
    # 20 buyers, two of them top buyers (10 or more products bought).
    rows = [_user(i, source="Grèce", code="GR", bought=2, wished=0) for i in range(17)]
    rows += [
        _user(17, source="Grèce", code="GR", bought=10, wished=4, gender="M"),
        _user(18, source="Grèce", code="GR", bought=12, wished=0),
        _user(19, source="Grèce", code="GR", bought=3),
    ]
    rows += [_user(99, source="Grèce", code="GR", bought=0)]  # not a buyer
    report = recompute_report(_users(spark, rows), "report_buyers_by_country").first()
    assert report["buyers"] == 20 and report["topbuyers"] == 2
    assert report["meanproductsbought"] == 3.0  # 59 / 20 = 2.95
    assert report["topbuyerratio"] == 10.0
    assert report["topfemalebuyersratio"] == 50.0
    assert report["topboughtperwishlistratio"] == 550.0  # 100 * 22 / 4


def test_half_up_on_an_exact_tie(spark):
    rows = [_user(i, source="Grèce", code="GR", bought=3 if i < 13 else 2) for i in range(20)]
    report = recompute_report(_users(spark, rows), "report_buyers_by_country").first()
    assert 13 * 3 + 7 * 2 == 53
    assert report["meanproductsbought"] == 2.7  # 2.65 rounds up, not to even


def test_empty_cells_come_from_zero_denominators(spark):
    rows = [_user(1, source="Japon", code="JP", bought=1, wished=0, liked=0)]
    report = recompute_report(_users(spark, rows), "report_buyers_by_country").first()
    assert report["boughtperwishlistratio"] is None  # nothing wished
    assert report["topmeanproductsbought"] is None  # no top buyer
    assert report["toptotalproductsbought"] == 0  # a total over no top buyer is 0


def test_sellers_report_counts_listers_and_truncates_app_percentages(spark):
    rows = [
        _user(1, listed=25),
        _user(2, sold=1, app=True),
        _user(3, sold=2),
        _user(4, bought=5),
    ]  # user 4 is not a seller
    report = {
        (r["country"], r["sex"]): r
        for r in recompute_report(_users(spark, rows), "report_sellers_by_gender_country").collect()
    }
    female = report[("France", "Female")]
    assert female["nbsellers"] == 3
    assert female["percentofappusers"] == 33.0  # floor(33.33)
    assert report[(ALL_GROUPS, ALL_GROUPS)]["nbsellers"] == 3
    nobody = recompute_report(
        _users(spark, [_user(1, sold=1)]), "report_sellers_by_gender_country"
    ).first()
    assert nobody["percentofappusers"] is None  # empty when nobody has the app


def test_reconciliation_matches_within_published_rounding_and_reports_gaps(spark):
    users = _users(
        spark, [_user(i, source="Grèce", code="GR", bought=3 if i < 13 else 2) for i in range(20)]
    )
    computed = recompute_report(users, "report_buyers_by_country")
    published = computed.withColumn("meanproductsbought", computed["meanproductsbought"] + 0.04)
    published = published.withColumn("buyers", published["buyers"] + 1)
    result = {
        r["metric"]: r for r in reconcile(users, {"report_buyers_by_country": published}).collect()
    }
    assert result["meanproductsbought"]["matches"]  # 2.74 vs 2.7: within 0.05
    assert not result["buyers"]["matches"]  # 21 vs 20: counts are exact
    assert result["topmeanproductsbought"]["matches"]  # both empty
    assert result["topmeanproductsbought"]["published_value"] is None
