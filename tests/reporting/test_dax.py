"""The DAX evaluator the measure tests rely on: DAX semantics where they differ from Python."""

from __future__ import annotations

import pytest

from tests.reporting.dax import DaxError, Model, parse, references, where

ROWS = [
    {"b": True, "app": True, "n": 3, "s": "x", "k": 1},
    {"b": False, "app": None, "n": None, "s": "y", "k": 2},
    {"b": True, "app": False, "n": 5, "s": "x", "k": 2},
    {"b": None, "app": None, "n": 0, "s": "z", "k": 3},
]
DIM = [{"k": 1, "group": "a"}, {"k": 2, "group": "a"}, {"k": 3, "group": "b"}]


def model(**measures: str) -> Model:
    return Model({"t": ROWS, "d": DIM}, measures, [("t.k", "d.k")])


def test_counts_sums_and_averages_skip_blanks():
    m = model(
        rows="COUNTROWS(t)", total="SUM(t[n])", mean="AVERAGE(t[n])", kinds="DISTINCTCOUNT(t[s])"
    )
    assert (m.measure("rows"), m.measure("total"), m.measure("kinds")) == (4, 8, 3)
    assert m.measure("mean") == pytest.approx(8 / 3)


def test_calculate_filters_and_blank_is_not_true():
    m = model(
        yes="CALCULATE(COUNTROWS(t), t[b] = TRUE())",
        known="CALCULATE(COUNTROWS(t), NOT(ISBLANK(t[app])))",
        both="CALCULATE(COUNTROWS(t), t[b] = TRUE() && t[app] = TRUE())",
        none='CALCULATE(COUNTROWS(t), t[s] = "w")',
    )
    assert m.measure("yes") == 2
    assert m.measure("known") == 2
    assert m.measure("both") == 1
    assert m.measure("none") is None  # COUNTROWS of nothing is BLANK


def test_blank_is_not_zero_but_compares_as_zero_like_dax():
    m = model(
        f="CALCULATE(COUNTROWS(t), t[b] = FALSE())",
        z="CALCULATE(COUNTROWS(t), t[n] = 0)",
        empty='CALCULATE(SUM(t[n]), t[s] = "y")',
    )
    assert m.measure("f") == 2  # False and BLANK
    assert m.measure("z") == 2  # 0 and BLANK
    assert m.measure("empty") is None  # a sum of only BLANKs is BLANK, not 0
    assert m.measure("empty") != 0


def test_a_calculate_filter_replaces_the_filter_on_its_column_not_adds_to_it():
    m = model(x='CALCULATE(COUNTROWS(t), t[s] = "x")', rows="COUNTROWS(t)")
    # The slicer says "y", the measure says "x": the measure's filter wins, as in the engine.
    assert m.measure("x", [where("t", "s", "y")]) == 2
    # A filter on another column stays.
    assert m.measure("x", [where("t", "k", 2)]) == 1


def test_removefilters_and_all_clear_a_column_or_a_table():
    m = model(
        share="DIVIDE(COUNTROWS(t), CALCULATE(COUNTROWS(t), REMOVEFILTERS(t[s])))",
        everything="CALCULATE(COUNTROWS(t), ALL(t))",
    )
    assert m.measure("share", [where("t", "s", "x")]) == 0.5
    assert m.measure("everything", [where("t", "s", "x"), where("t", "k", 1)]) == 4


def test_a_filter_on_the_one_side_follows_the_relationship_to_the_many_side():
    m = model(rows="COUNTROWS(t)", groups="COUNTROWS(d)", one="HASONEVALUE(d[group])")
    assert m.measure("rows", [where("d", "group", "a")]) == 3
    assert m.measure("rows", [where("d", "group", "b")]) == 1
    # Never the other way: a filter on the many side does not filter the dimension.
    assert m.measure("groups", [where("t", "s", "z")]) == 3
    assert m.measure("one") is False
    assert m.measure("one", [where("d", "group", "b")]) is True


def test_if_and_hasonevalue_blank_a_figure_that_does_not_add_up():
    m = model(funnel="IF(HASONEVALUE(d[group]), SUM(t[n]))")
    assert m.measure("funnel") is None
    assert m.measure("funnel", [where("d", "group", "a")]) == 8


def test_divide_and_measure_references():
    m = model(
        rows="COUNTROWS(t)",
        buyers="CALCULATE([rows], t[b] = TRUE())",
        share="DIVIDE([buyers], [rows])",
        nothing='DIVIDE([buyers], CALCULATE([rows], t[s] = "w"), -1)',
    )
    assert m.measure("share") == 0.5
    assert m.measure("nothing") == -1
    assert m.measure("share", [where("t", "s", "x")]) == 1.0


def test_references_lists_columns_measures_and_tables():
    cols, measures, tables = references(parse("DIVIDE(CALCULATE(COUNTROWS(t), t[b] = 1), [m])"))
    assert (cols, measures, tables) == ({("t", "b")}, {"m"}, {"t"})


@pytest.mark.parametrize(
    "dax",
    [
        "SUMX(t, t[n])",
        "t[n]",
        "COUNTROWS(u)",
        "CALCULATE(COUNTROWS(t), [m] > 1)",
        "CALCULATE(COUNTROWS(t), t[n] = d[k])",
        "1 / 0",
        "1 +",
    ],
)
def test_unsupported_or_invalid_dax_is_an_error(dax):
    with pytest.raises(DaxError):
        model(x=dax, m="1").measure("x")
