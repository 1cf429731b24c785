"""Gold: segments, aggregates at their grain, joins that never fan out, the funnel."""

from __future__ import annotations

from pyspark.sql import functions as F

from c2c_etl.gold import views
from c2c_etl.gold.counts import KEYS, MEASURES, add_counts, change_counts, count_silver_users
from c2c_etl.gold.model import build_fact_users

USERS_DDL = (
    "identifier_hash bigint, release string, country_code string, country_name string, "
    "country_name_source string, gender string, language string, civility_title string, "
    "has_any_app boolean, has_ios_app boolean, has_android_app boolean, "
    "has_profile_picture boolean, social_nb_followers int, social_nb_follows int, "
    "social_products_liked int, products_wished int, products_bought int, products_listed int, "
    "products_sold int, products_pass_rate double, days_since_last_login int, "
    "seniority_days int, seniority_months double"
)


def _user(
    i,
    release="2020",
    code="FR",
    source="France",
    gender="F",
    app=False,
    liked=0,
    wished=0,
    bought=0,
    listed=0,
    sold=0,
    days=700,
    months=106.5,
    seniority=None,
):
    name = {"FR": "France", "ES": "Spain"}.get(code, code)
    has_app = app if release == "2020" else None
    return (
        i,
        release,
        code,
        name,
        source,
        gender,
        "fr",
        "mrs",
        has_app,
        has_app,
        False,
        True,
        3,
        8,
        liked,
        wished,
        bought,
        listed,
        sold,
        0.0,
        days if release == "2020" else None,
        int(months * 30) if seniority is None else seniority,
        months if seniority is None else seniority / 30,
    )


def _users(spark, rows):
    return spark.createDataFrame(rows, USERS_DDL)


def test_segments_follow_the_publisher_thresholds(spark):
    users = _users(
        spark,
        [
            _user(1, bought=10),
            _user(2, bought=9),
            _user(3, sold=20),
            _user(4, sold=1),
            _user(5, listed=2),
            _user(6, days=20, liked=60),
            _user(7, release="2024"),
        ],
    )
    fact = {r["identifier_hash"]: r for r in build_fact_users(users).collect()}
    assert fact[1]["buyer_segment"] == "top buyer" and fact[2]["buyer_segment"] == "buyer"
    assert fact[3]["seller_segment"] == "top seller" and fact[4]["seller_segment"] == "seller"
    assert fact[5]["seller_segment"] == "lister" and not fact[5]["is_seller"]
    assert fact[6]["activity_recency"] == "0-30 days" and fact[6]["is_active"]
    assert fact[6]["engagement_level"] == "high"
    assert fact[1]["activity_recency"] == "366-730 days" and not fact[1]["is_active"]
    assert fact[7]["activity_recency"] == "unknown" and fact[7]["is_active"] is None
    assert fact[7]["engagement_level"] == "none"


def test_country_dimension_has_one_row_per_code_and_joins_never_fan_out(spark):
    users = _users(
        spark,
        [
            _user(1, code="ES", source="Espagne", bought=2),
            _user(2, code="ES", source="Îles Canaries", bought=3),  # two source names, one code
            _user(3, code="FR", bought=1, gender="M"),
            _user(4, code="FR"),
        ],
    )
    counts = count_silver_users(users)
    dim = views.select(views.COUNTRY_DIMENSION, agg_user_counts=counts)
    assert dim.count() == dim.select("country_code").distinct().count() == 2
    assert dim.filter("country_code = 'ES'").first()["source_names"] == ["Espagne", "Îles Canaries"]
    fact = build_fact_users(users)
    joined = fact.join(dim, "country_code", "left")
    totals = lambda df: df.agg(F.count(F.lit(1)), F.sum("products_bought")).first()  # noqa: E731
    assert totals(joined) == totals(fact) == (4, 6)
    agg = views.select(views.AGG_COUNTRY_GENDER, agg_user_counts=counts, dim_country=dim)
    assert agg.agg(F.sum("users"), F.sum("buyers"), F.sum("products_bought")).first() == (4, 3, 6)
    assert agg.count() == agg.select("country_code", "gender").distinct().count()


def test_top_lists_are_ranked_with_deterministic_ties(spark):
    fact = build_fact_users(
        _users(
            spark,
            [
                _user(5, bought=7, sold=1),
                _user(3, bought=9),
                _user(4, bought=7, sold=30),
                _user(9, bought=0, sold=1),
            ],
        )
    )
    buyers = views.select(views.TOP_BUYERS, fact_users=fact).collect()
    sellers = views.select(views.TOP_SELLERS, fact_users=fact).collect()
    # Non-buyers are not ranked; equal purchases rank by identifier.
    assert [(r["rank"], r["identifier_hash"], r["role"]) for r in buyers] == [
        (1, 3, "buyer"),
        (2, 4, "buyer"),
        (3, 5, "buyer"),
    ]
    assert [(r["rank"], r["identifier_hash"], r["products_sold"]) for r in sellers] == [
        (1, 4, 30),
        (2, 5, 1),
        (3, 9, 1),
    ]


def test_a_top_list_holds_the_top_100_only(spark):
    fact = build_fact_users(_users(spark, [_user(i, bought=1 + i % 7) for i in range(150)]))
    rows = views.select(views.TOP_BUYERS, fact_users=fact).collect()
    assert [r["rank"] for r in rows] == list(range(1, views.TOP_N + 1))
    kept = {r["identifier_hash"] for r in rows}
    above = fact.filter(F.col("products_bought") > rows[-1]["products_bought"])
    # Nobody who bought more than the last one kept was left out.
    assert {r["identifier_hash"] for r in above.collect()} <= kept


def test_app_adoption_counts_only_users_whose_release_reports_apps(spark):
    users = _users(spark, [_user(1, app=True, bought=1), _user(2), _user(3, release="2024")])
    row = views.select(
        views.AGG_APP_ADOPTION,
        agg_user_counts=count_silver_users(users),
        dim_country=views.select(views.COUNTRY_DIMENSION, agg_user_counts=users),
    ).first()
    assert (row["users_with_app_data"], row["app_users"], row["app_adoption_pct"]) == (2, 1, 50.0)
    assert row["app_share_of_buyers_pct"] == 100.0


def test_engagement_funnel_is_nested_and_skips_unmeasured_activity(spark):
    users = _users(
        spark,
        [
            _user(1, days=10, liked=1, bought=1),  # goes all the way
            _user(2, days=10, wished=1),  # active, engaged, no transaction
            _user(3, days=10, bought=1),  # active, bought, but never liked or wished
            _user(4, days=500, liked=5, bought=5),  # inactive: stops at registered
            _user(5, days=None, liked=2, sold=1),  # login unknown in a release with login data
            _user(6, release="2024", liked=1, sold=1),  # no login data
            _user(7, release="2024", bought=1),
        ],
    )
    funnel = {
        (r["release"], r["stage"]): (r["users"], r["pct_of_previous_stage"])
        for r in views.select(
            views.AGG_ENGAGEMENT_FUNNEL, agg_user_counts=count_silver_users(users)
        ).collect()
    }
    assert funnel == {
        ("2020", "registered"): (5, None),
        ("2020", "active"): (3, 60.0),
        ("2020", "liked_or_wished"): (2, 66.67),
        ("2020", "bought_or_sold"): (1, 50.0),
        # 2024 measures no login: no 'active' row, and the next stage counts from 'registered'.
        ("2024", "registered"): (2, None),
        ("2024", "liked_or_wished"): (1, 50.0),
        ("2024", "bought_or_sold"): (1, 100.0),
    }


def test_seniority_cohorts_are_registration_days_with_unknown_activity_null(spark):
    users = _users(
        spark,
        [
            _user(1, seniority=2853, days=10),
            _user(2, seniority=2853, bought=1),
            _user(3, seniority=3199),
            _user(4, release="2024", seniority=2853),
        ],
    )
    cohorts = {
        (r["release"], r["seniority_days"]): (r["users"], r["buyers"], r["active_users"])
        for r in views.select(
            views.AGG_SENIORITY_COHORTS, agg_user_counts=count_silver_users(users)
        ).collect()
    }
    assert cohorts == {
        ("2020", 2853): (2, 1, 1),
        ("2020", 3199): (1, 0, 0),
        ("2024", 2853): (1, 0, None),
    }


def test_counts_changed_by_feed_rows_equal_a_recount(spark):
    """Pre-images subtract and post-images add: the stored counts plus a change are the
    recount of the new state, null genders included, and a group nobody is left in goes."""
    before = [
        _user(1, bought=2, gender=None),
        _user(2, sold=30, app=True),
        _user(3, code="ES", source="Espagne"),
    ]
    after = [
        _user(1, bought=12, gender=None),  # updated: now a top buyer
        _user(2, sold=30, app=True),
        _user(4, release="2024", liked=3),  # new; user 3 deleted: the ES group empties
    ]
    changes = [
        (before[0], "update_preimage"),
        (after[0], "update_postimage"),
        (before[2], "delete"),
        (after[2], "insert"),
    ]
    feed = spark.createDataFrame(
        [(*row, change) for row, change in changes], USERS_DDL + ", _change_type string"
    )
    stored = count_silver_users(_users(spark, before))
    updated = add_counts(stored, change_counts(feed))
    recount = count_silver_users(_users(spark, after))
    assert updated.exceptAll(recount).count() == 0 and recount.exceptAll(updated).count() == 0
    assert updated.filter("country_code = 'ES'").count() == 0
    assert set(stored.columns) == {*KEYS, *MEASURES}
