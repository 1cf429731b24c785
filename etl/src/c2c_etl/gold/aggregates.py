"""The top-100 tables: top-k scans of ``fact_users``, and their update from changed users.

Gold's other aggregates sum the additive user counts (``c2c_etl.gold.counts``) and are views,
defined as SQL in ``c2c_etl.gold.views``.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

TOP_N = 100


# The fact columns a top table carries besides its rank and role: its measure is one of them.
TOP_FACT_COLUMNS = (
    "identifier_hash",
    "release",
    "country_code",
    "gender",
    "products_bought",
    "products_sold",
    "products_listed",
    "products_wished",
    "social_nb_followers",
)
# Role -> measure of the two top tables (``gold.top_buyers``, ``gold.top_sellers``).
TOP_MEASURES = {"buyer": "products_bought", "seller": "products_sold"}


def _top(fact: DataFrame, measure: str, role: str, n: int) -> DataFrame:
    order = [F.col(measure).desc(), F.col("identifier_hash").asc()]
    # A top-k (orderBy + limit) first, so the ranking window sorts n rows, not every user.
    return (
        fact.filter(F.col(measure) > 0)
        .orderBy(*order)
        .limit(n)
        .withColumn("rank", F.row_number().over(Window.orderBy(*order)))
        .select(
            "rank",
            *TOP_FACT_COLUMNS[:4],
            measure,
            *[c for c in TOP_FACT_COLUMNS[4:] if c != measure],
            F.lit(role).alias("role"),
        )
    )


def top_buyers(fact: DataFrame, n: int = TOP_N) -> DataFrame:
    """Grain: one row per rank (1..n): the users who bought most (ties by identifier)."""
    return _top(fact, TOP_MEASURES["buyer"], "buyer", n)


def top_sellers(fact: DataFrame, n: int = TOP_N) -> DataFrame:
    """Grain: one row per rank (1..n): the users who sold most (ties by identifier)."""
    return _top(fact, TOP_MEASURES["seller"], "seller", n)


def update_top(stored: DataFrame, changed: DataFrame, role: str, n: int = TOP_N) -> DataFrame:
    """A top table (``stored``) after some users changed, none of whom is in it: the top ``n``
    of its rows and the changed users' new fact rows (``changed``).

    Exact: the stored rows are the best ``n`` of the users who did not change (no changed
    user is among them), and a user outside them cannot have climbed without changing. The
    caller checks that no changed user is in ``stored``; if one is, rebuild instead.
    """
    columns = list(TOP_FACT_COLUMNS)
    rows = stored.select(*columns).unionByName(changed.select(*columns))
    return _top(rows, TOP_MEASURES[role], role, n)
