"""The comparison the cluster tests make of two lakes' gold tables
(``tests.etl.helpers.assert_same_rows``): what it lets through and what it catches."""

from __future__ import annotations

import pytest

from tests.etl.helpers import assert_same_rows

SCHEMA = "country string, users long, share double"
ROWS = [("fr", 3, 0.5), ("fr", 3, 0.5), ("us", 1, 0.25), (None, 0, None)]


def test_the_same_rows_in_another_order_are_the_same(spark):
    assert_same_rows(
        spark.createDataFrame(ROWS[::-1], SCHEMA), spark.createDataFrame(ROWS, SCHEMA), "t"
    )


def shown(**row: object) -> str:
    return str(dict(row))


@pytest.mark.parametrize(
    ("actual", "message"),
    [
        (ROWS[1:], f"missing (up to 5): [({shown(country='fr', users=3, share=0.5)}, 1)]"),
        (
            [*ROWS, ("us", 1, 0.25)],
            f"unexpected (up to 5): [({shown(country='us', users=1, share=0.25)}, 1)]",
        ),
        (
            [*ROWS[:3], (None, 0, 0.0)],
            f"unexpected (up to 5): [({shown(country=None, users=0, share=0.0)}, 1)]",
        ),
        (
            [*ROWS[:2], ("us", 1, 0.2500001), ROWS[3]],
            f"unexpected (up to 5): [({shown(country='us', users=1, share=0.2500001)}, 1)]",
        ),
    ],
    ids=["a duplicate less", "a duplicate more", "a null filled", "a float off"],
)
def test_a_row_more_or_less_or_changed_fails_and_is_shown(spark, actual, message):
    with pytest.raises(AssertionError, match="t: rows differ") as failed:
        assert_same_rows(
            spark.createDataFrame(actual, SCHEMA), spark.createDataFrame(ROWS, SCHEMA), "t"
        )
    assert message in str(failed.value)


def test_other_column_types_fail(spark):
    with pytest.raises(AssertionError, match="t: columns differ"):
        assert_same_rows(
            spark.createDataFrame(ROWS, "country string, users int, share double"),
            spark.createDataFrame(ROWS, SCHEMA),
            "t",
        )
