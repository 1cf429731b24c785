"""The end-of-run summary says what became of every input file, and what a run with nothing
usable did, from the steps' own results."""

from __future__ import annotations

from c2c_etl.config import local_config
from c2c_etl.jobs.common import RunContext, StepResult
from c2c_etl.summary import format_summary

CTX = RunContext(local_config("/in", "/lake"), "run-1")


def _summary(bronze: dict, gold: dict | None = None, status: str = "succeeded") -> str:
    results = [
        StepResult("bronze", status, details=bronze),
        StepResult("silver_users", "skipped"),
        StepResult("gold", "skipped", details=gold or {}),
    ]
    return format_summary(CTX, results, 1.0, 2.0)


def test_an_empty_input_folder_says_so():
    out = _summary({"files_in_landing": 0, "files": []}, status="skipped")
    assert "No input files: the input folder has none." in out


def test_every_file_that_was_not_ingested_is_listed_with_why():
    files = [
        {"file": "mac.csv", "status": "rejected", "rows": 0, "reason": "classic Mac " * 40},
        {"file": "README.md", "status": "skipped", "rows": 0, "reason": "not data"},
        {"file": "b.csv", "status": "duplicate_delivery", "rows": 0, "reason": "same as a.csv"},
        {"file": "h.csv", "status": "empty", "rows": 0, "reason": "header only"},
    ]
    out = _summary(
        {"files_in_landing": 4, "files": files, "dead_letter": "/lake/_dead_letter/run-1"},
        {"reason": "not built: silver has no valid user row yet"},
    )
    lines = out.splitlines()
    rejected = next(line for line in lines if line.startswith("  mac.csv: REJECTED: "))
    assert len(rejected) < 200 and rejected.endswith("…")
    assert "  README.md: skipped: not data" in lines
    assert "  b.csv: duplicate delivery: same as a.csv" in lines
    assert "  h.csv: empty: header only" in lines
    assert "Gold: not built: silver has no valid user row yet." in lines
    assert "No new files." not in out


def test_files_ingested_by_earlier_runs_are_counted_not_listed():
    out = _summary({"files_in_landing": 3, "files": [], "already_ingested": 3}, status="skipped")
    assert "3 input file(s) already ingested by an earlier run" in out
    assert "Files in this run" not in out and "No new input: no table changed." in out


def test_tables_replaced_by_gold_views_are_named():
    gold = {
        "reason": "silver unchanged since the last gold build",
        "retired_tables": ["gold.agg_app_adoption", "gold.agg_engagement_funnel"],
    }
    out = _summary({"files_in_landing": 1, "files": [], "already_ingested": 1}, gold, "skipped")
    assert (
        "Gold: removed gold.agg_app_adoption, gold.agg_engagement_funnel: tables an earlier "
        "version wrote where gold now has views of the same names (docs/gold_contract.md)."
    ) in out.splitlines()
