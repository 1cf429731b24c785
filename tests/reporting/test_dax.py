"""The DAX evaluator the measure tests rely on: DAX semantics where they differ from Python."""

from __future__ import annotations

import pytest

from c2c_reporting.dax import DaxError, Model, parse, references

ROWS = [
    {"b": True, "app": True, "n": 3, "s": "x"},
    {"b": False, "app": None, "n": None, "s": "y"},
    {"b": True, "app": False, "n": 5, "s": "x"},
    {"b": None, "app": None, "n": 0, "s": "z"},
]


def model(**measures: str) -> Model:
    return Model({"t": ROWS}, measures)


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


def test_blank_compares_as_false_or_zero_like_dax():
    m = model(f="CALCULATE(COUNTROWS(t), t[b] = FALSE())", z="CALCULATE(COUNTROWS(t), t[n] = 0)")
    assert m.measure("f") == 2  # False and BLANK
    assert m.measure("z") == 2  # 0 and BLANK


def test_divide_and_measure_references():
    m = model(
        rows="COUNTROWS(t)",
        buyers="CALCULATE([rows], t[b] = TRUE())",
        share="DIVIDE([buyers], [rows])",
        nothing='DIVIDE([buyers], CALCULATE([rows], t[s] = "w"), -1)',
    )
    assert m.measure("share") == 0.5
    assert m.measure("nothing") == -1
    assert m.measure("share", [("t", lambda r: r["s"] == "x")]) == 1.0


def test_references_lists_columns_measures_and_tables():
    cols, measures, tables = references(parse("DIVIDE(CALCULATE(COUNTROWS(t), t[b] = 1), [m])"))
    assert (cols, measures, tables) == ({("t", "b")}, {"m"}, {"t"})


@pytest.mark.parametrize(
    "dax",
    ["SUMX(t, t[n])", "t[n]", "COUNTROWS(u)", "CALCULATE(COUNTROWS(t), [m] > 1)", "1 / 0", "1 +"],
)
def test_unsupported_or_invalid_dax_is_an_error(dax):
    with pytest.raises(DaxError):
        Model({"t": ROWS}, {"x": dax, "m": "1"}).measure("x")
