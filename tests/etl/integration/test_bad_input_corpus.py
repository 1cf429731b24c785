"""The bad-input corpus (tests/etl/corpus/cases.toml) through bronze and silver in one run.

Every case's files share one landing folder, so the run costs one pipeline (``corpus_run``,
built once per test session: the DuckDB baseline's tests read it too); each case is then
asserted on its own: its outcome and reason, its audit balance, its dead-letter copy. A second
run over the same landing folder must change nothing: a failed or repeated run is safe.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from c2c_etl.bronze.ingest import sha256_of
from tests.etl.corpus.build import COMMITTED, FILES, GENERATED
from tests.etl.corpus.run import CorpusRun, run_bronze_silver
from tests.etl.integration.conftest import versions

CORPUS = Path(__file__).parents[1] / "corpus"
CASES: list[dict[str, Any]] = tomllib.loads((CORPUS / "cases.toml").read_text())["case"]


def test_the_corpus_has_every_kind_of_bad_input_the_issue_lists():
    names = {c["name"] for c in CASES}
    assert len(names) == len(CASES) >= 20
    listed = {f["path"] for c in CASES for f in c["file"]}
    assert listed == set(COMMITTED) | set(GENERATED)
    for case in CASES:
        for f in case["file"]:
            assert f["outcome"] in {
                "accepted",
                "accepted_with_flag",
                "quarantined",
                "rejected",
                "empty",
                "duplicate_delivery",
                "skipped",
            }


def test_committed_corpus_files_are_what_the_builder_writes():
    for name, content in COMMITTED.items():
        assert (FILES / name).read_bytes() == content, name


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_bad_input_has_its_outcome_and_nothing_is_lost(corpus_run, case):
    run = corpus_run
    for f in case["file"]:
        path, outcome = f["path"], f["outcome"]
        logged = run.log[path]
        if outcome in ("rejected", "empty", "duplicate_delivery", "skipped"):
            assert logged["status"] == outcome, path
            assert path not in run.audit and path not in run.silver
            if "reason" in f:
                assert f["reason"] in logged["reason"], logged["reason"]
            if outcome == "rejected":
                _assert_dead_letter(run, path, f)
            else:
                assert not (Path(run.ctx.cfg.dead_letter_path(run.ctx.run_id)) / path).exists()
            continue
        assert logged["status"] == "ingested", (path, logged["reason"])
        if "note" in f:
            assert f["note"] in logged["reason"]
        else:
            assert logged["reason"] is None, logged["reason"]
        audit = run.audit[path]
        read, to_silver, quarantined, duplicates = f["rows"]
        assert (
            audit["rows_read"],
            audit["rows_to_silver"],
            audit["rows_quarantined"],
            audit["rows_duplicate"],
        ) == (read, to_silver, quarantined, duplicates), path
        # Nothing lost: bronze's row count is the file's own count of non-blank lines, and
        # every row read is in silver, in the quarantine or a superseded duplicate.
        assert logged["rows"] == read
        assert audit["balanced"] and audit["status"] == "succeeded"
        assert len(run.silver.get(path, [])) == to_silver
        assert run.quarantine_rules.get(path, set()) == set(f.get("rules", [])), path
        flags = {flag for u in run.silver.get(path, []) for flag in u["dq_flags"]}
        assert flags == set(f.get("flags", [])), path
        if "countries" in f:
            assert sorted(u["country_code"] for u in run.silver[path]) == f["countries"]
    for uid, (winner, bought) in case.get("winners", {}).items():
        stored = [
            u for users in run.silver.values() for u in users if u["identifier_hash"] == int(uid)
        ]
        assert [(u["source_file"], u["products_bought"]) for u in stored] == [(winner, bought)]


def _assert_dead_letter(run: CorpusRun, path: str, expected: dict[str, Any]) -> None:
    """The rejected file is copied, byte for byte, to the dead-letter area with its reason;
    the original stays in landing."""
    copy = Path(run.ctx.cfg.dead_letter_path(run.ctx.run_id)) / path
    original = run.landing / path
    assert original.exists()
    assert copy.read_bytes() == original.read_bytes()
    reason = json.loads(copy.with_name(copy.name + ".reason.json").read_text())
    assert reason["reason"] == run.log[path]["reason"]
    assert reason["sha256"] == sha256_of(original) == run.log[path]["source_sha256"]
    assert reason["size_bytes"] == original.stat().st_size
    assert reason["run_id"] == run.ctx.run_id
    assert reason["detected"] == expected["detected"]


def test_every_landed_file_is_in_the_ingestion_log_once(corpus_run):
    """Whatever its name or depth: nothing is skipped without a log row saying why."""
    landed = {
        str(p.relative_to(corpus_run.landing)) for p in corpus_run.landing.rglob("*") if p.is_file()
    }
    assert set(corpus_run.log) == landed


def test_a_second_run_over_the_same_corpus_changes_nothing(spark, corpus_run):
    before = versions(spark, corpus_run.ctx)
    dead_letter = Path(corpus_run.ctx.cfg.dead_letter_path("x")).parent
    folders = sorted(p.name for p in dead_letter.iterdir())
    again = run_bronze_silver(spark, corpus_run.landing, Path(str(corpus_run.ctx.cfg.lake_root)))
    assert versions(spark, again) == before
    assert sorted(p.name for p in dead_letter.iterdir()) == folders
