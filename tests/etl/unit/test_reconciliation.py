"""The publisher's definitions and rounding, checked on hand-computed figures."""

from __future__ import annotations

from pyspark.sql import functions as F

from c2c_etl.gold.reconciliation import (
    add_report_sums,
    recompute_report,
    reconcile,
    report_figures,
    report_sums,
    stored_figures,
)
from c2c_etl.silver.reports import ALL_GROUPS
from tests.etl.unit.test_gold import _user, _users


def _report(spark, rows, report):
    """The report recomputed from these users' sums, as the gold job computes it."""
    return recompute_report(report_sums(_users(spark, rows)), report)


def test_buyers_report_uses_top_buyer_threshold_and_half_up_rounding(spark):
    # 20 buyers, two of them top buyers (10 or more products bought).
    rows = [_user(i, source="Grèce", code="GR", bought=2, wished=0) for i in range(17)]
    rows += [
        _user(17, source="Grèce", code="GR", bought=10, wished=4, gender="M"),
        _user(18, source="Grèce", code="GR", bought=12, wished=0),
        _user(19, source="Grèce", code="GR", bought=3),
    ]
    rows += [_user(99, source="Grèce", code="GR", bought=0)]  # not a buyer
    report = _report(spark, rows, "report_buyers_by_country").first()
    assert report["buyers"] == 20 and report["topbuyers"] == 2
    assert report["meanproductsbought"] == 3.0  # 59 / 20 = 2.95
    assert report["topbuyerratio"] == 10.0
    assert report["topfemalebuyersratio"] == 50.0
    assert report["topboughtperwishlistratio"] == 550.0  # 100 * 22 / 4


def test_half_up_on_an_exact_tie(spark):
    rows = [_user(i, source="Grèce", code="GR", bought=3 if i < 13 else 2) for i in range(20)]
    report = _report(spark, rows, "report_buyers_by_country").first()
    assert 13 * 3 + 7 * 2 == 53
    assert report["meanproductsbought"] == 2.7  # 2.65 rounds up, not to even


def test_empty_cells_come_from_zero_denominators(spark):
    rows = [_user(1, source="Japon", code="JP", bought=1, wished=0, liked=0)]
    report = _report(spark, rows, "report_buyers_by_country").first()
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
        for r in _report(spark, rows, "report_sellers_by_gender_country").collect()
    }
    female = report[("France", "Female")]
    assert female["nbsellers"] == 3
    assert female["percentofappusers"] == 33.0  # floor(33.33)
    assert report[(ALL_GROUPS, ALL_GROUPS)]["nbsellers"] == 3
    nobody = _report(spark, [_user(1, sold=1)], "report_sellers_by_gender_country").first()
    assert nobody["percentofappusers"] is None  # empty when nobody has the app


def test_reconciliation_matches_within_published_rounding_and_reports_gaps(spark):
    users = _users(
        spark, [_user(i, source="Grèce", code="GR", bought=3 if i < 13 else 2) for i in range(20)]
    )
    sums = report_sums(users)
    computed = recompute_report(sums, "report_buyers_by_country")
    published = computed.withColumn("meanproductsbought", computed["meanproductsbought"] + 0.04)
    published = published.withColumn("buyers", published["buyers"] + 1)
    report = "report_buyers_by_country"
    result = {
        r["metric"]: r
        for r in reconcile(sums, {report: report_figures(published, report)}).collect()
    }
    assert result["meanproductsbought"]["matches"]  # 2.74 vs 2.7: within 0.05
    assert not result["buyers"]["matches"]  # 21 vs 20: counts are exact
    assert result["topmeanproductsbought"]["matches"]  # both empty
    assert result["topmeanproductsbought"]["published_value"] is None


def test_a_reconciliation_holds_the_report_figures_it_reconciles_new_sums_against(spark):
    """The reconciliation tells the report's rows (an empty cell too) from the groups only the
    recomputation finds (``in_report``), so the published figures it holds reconcile new sums
    exactly as the report's own table does: the gold job reads them instead of the reports."""
    report = "report_buyers_by_country"
    greeks = [_user(i, source="Grèce", code="GR", bought=3) for i in range(5)]
    sums = report_sums(_users(spark, [*greeks, _user(9, source="Japon", code="JP", bought=1)]))
    # The publisher's report lists Greece, not Japan.
    published = recompute_report(sums, report).filter("country = 'Grèce'")
    recon = reconcile(sums, {report: report_figures(published, report)}).localCheckpoint()
    rows = recon.collect()
    assert {r["country"] for r in rows if r["in_report"]} == {"Grèce"}
    assert {r["country"] for r in rows if not r["in_report"]} == {"Japon"}
    empty = [r for r in rows if r["in_report"] and r["published_value"] is None]
    assert empty and all(r["matches"] for r in empty)  # no top buyer in Greece: empty cells

    # New users: a Greek top buyer fills the empty cells, an Italian adds a group.
    later = [
        *greeks,
        _user(6, source="Grèce", code="GR", bought=12),
        _user(9, source="Japon", code="JP", bought=1),
        _user(7, source="Italie", code="IT", bought=2),
    ]
    new_sums = report_sums(_users(spark, later))
    from_table = reconcile(new_sums, {report: report_figures(published, report)})
    from_recon = reconcile(new_sums, {report: stored_figures(recon, report)})
    assert sorted(from_recon.collect()) == sorted(from_table.collect())
    assert {r["country"] for r in from_recon.collect() if not r["in_report"]} == {"Japon", "Italie"}


def test_report_sums_updated_by_changes_equal_a_recount(spark):
    """A change (+1 for new rows, -1 for old ones) added to the stored sums gives the recount's
    sums: a group emptied is dropped, a sum left with no value is NULL, not 0, and a user who
    leaves the reports' release (2020) is taken out."""
    before = [
        _user(1, bought=12, days=None),
        _user(2, bought=3, days=40),
        _user(3, sold=25, listed=30),
        _user(4, source="Japon", code="JP", bought=1),
    ]
    after = [
        _user(1, bought=12, days=None),
        _user(2, bought=3, days=None),  # the only offline value of the group, now unknown
        _user(3, sold=25, listed=30, release="2024"),  # left the 2020 release
        _user(5, bought=30, gender="M"),
    ]  # user 4 (the only one from Japan) deleted
    sign = {"before": -1, "after": 1}
    change = None
    for name, rows in (("before", before[1:]), ("after", after[1:])):
        part = _users(spark, rows).withColumn("_weight", F.lit(sign[name]))
        change = part if change is None else change.unionByName(part)
    updated = add_report_sums(report_sums(_users(spark, before)), report_sums(change))
    recount = report_sums(_users(spark, after))
    assert sorted(updated.collect()) == sorted(recount.select(*updated.columns).collect())
    groups = {(r["country"], r["is_top_buyer"]): r for r in updated.collect()}
    assert ("Japon", False) not in groups
    buyers = groups[("France", False)]
    assert buyers["users"] == 1 and buyers["count_offline"] == 0
    assert buyers["sum_offline"] is None
