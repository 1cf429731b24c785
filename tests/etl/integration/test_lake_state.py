"""A local rerun that would change nothing finishes without starting Spark, and anything that
could give a run work to do (a new file, a commit to any table, other code, a failed run)
sends it the whole way (c2c_etl.lake_state)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from c2c_etl import io, lake_state, runner, tables
from c2c_etl.bronze.ingest import sha256_of
from c2c_etl.config import local_config
from c2c_etl.generator import generate_delivery
from c2c_etl.jobs import silver as silver_jobs
from tests.etl.helpers import copy_lake


@pytest.fixture
def started(monkeypatch):
    """The names of the runs that started Spark (``runner.get_spark`` calls)."""
    calls: list[str] = []
    real = runner.get_spark

    def spy(*args, **kwargs):
        calls.append(args[1] if len(args) > 1 else "")
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "get_spark", spy)
    return calls


def _main(landing, lake, *extra: str) -> None:
    runner.main(
        "c2c-pipeline", ["--env", "local", "--input", str(landing), "--lake", str(lake), *extra]
    )


def _versions(lake) -> dict[str, int]:
    return lake_state.table_versions(str(lake))


@pytest.fixture
def sample_copy(sample_gold, tmp_path) -> tuple[Path, Path]:
    """``landing`` and ``lake`` of the session's sample run (``sample_gold``, a whole local run
    that recorded the lake's state as any run does), copied for the test to go on from."""
    return copy_lake(Path(sample_gold.cfg.landing_path).parent, tmp_path)


def test_a_rerun_with_nothing_new_does_not_start_spark_until_something_changes(
    spark, sample_gold, sample_copy, tmp_path, capsys, started, monkeypatch
):
    landing, lake = sample_copy
    run_id = sample_gold.run_id
    recorded = json.loads((lake / lake_state.STATE_FILE).read_text())
    assert recorded["run_id"] == run_id
    assert set(recorded["known_sha256"]) >= {sha256_of(landing / "users_2020.csv")}
    assert recorded["tables"] == _versions(lake)
    assert recorded["tables"]["silver/users"] >= 0

    # Nothing new: no Spark, no commit, and the summary says why.
    before = _versions(lake)
    _main(landing, lake)
    assert len(started) == 0
    rerun = capsys.readouterr().out
    assert f"as run {run_id} left them" in rerun and "Spark was not started" in rerun
    assert _versions(lake) == before

    # --full-check reads the lake with Spark, and finds nothing to do either.
    _main(landing, lake, "--full-check")
    assert len(started) == 1
    assert "No new input: no table changed" in capsys.readouterr().out
    assert _versions(lake) == before

    # The same contents under other names, in another folder (each Data Factory run copies
    # its delivery to a folder of its own): still nothing to do.
    elsewhere = tmp_path / "runs" / "another-run"
    elsewhere.mkdir(parents=True)
    for f in landing.iterdir():
        shutil.copy(f, elsewhere / ("copy-of-" + f.name))
    _main(elsewhere, lake)
    assert len(started) == 1
    assert "Spark was not started" in capsys.readouterr().out

    # A commit to any table, by anyone: the next run starts Spark (and changes nothing).
    cfg = local_config(landing, lake)
    spark.sql(
        f"ALTER TABLE {io.sql_name(cfg, tables.AGG_REPORT_SUMS)} "
        "SET TBLPROPERTIES ('c2c.test.note' = 'an operator was here')"
    )
    _main(landing, lake)
    assert len(started) == 2
    assert "No new input: no table changed" in capsys.readouterr().out
    _main(landing, lake)
    assert len(started) == 2  # recorded again after that run: as it left them

    # Other code (an upgrade, or an edit in a development install): Spark again.
    with monkeypatch.context() as patch:
        patch.setattr(lake_state, "code_digest", lambda: "0" * 64)
        _main(landing, lake)
    assert len(started) == 3
    capsys.readouterr()

    # A new delivery: ingested through bronze, silver and gold as usual.
    users_before = io.read(spark, cfg, tables.SILVER_USERS).count()
    generate_delivery(landing / "users_2020_part_0002.csv", "2020", 50, seed=8, dirty_rate=0.0)
    _main(landing, lake)
    assert len(started) == 4
    assert "users_2020_part_0002.csv" in capsys.readouterr().out
    assert io.read(spark, cfg, tables.SILVER_USERS).count() == users_before + 50


def test_a_run_that_failed_records_nothing_and_its_rerun_finishes_the_work(
    spark, sample_copy, capsys, started, monkeypatch
):
    landing, lake = sample_copy
    recorded = (lake / lake_state.STATE_FILE).read_text()
    generate_delivery(landing / "users_2024_part_0002.csv", "2024", 40, seed=9, dirty_rate=0.0)

    # The next run dies after bronze has committed the new file, before silver.
    def dies(*_args):
        raise RuntimeError("killed after bronze")

    with monkeypatch.context() as patch:
        patch.setattr(silver_jobs, "pending_files", dies)  # silver's first look at the lake
        with pytest.raises(RuntimeError, match="killed after bronze"):
            _main(landing, lake)
    assert (lake / lake_state.STATE_FILE).read_text() == recorded
    capsys.readouterr()

    # The landing files are the same as that run saw, but bronze has a new commit: the rerun
    # starts Spark and silver takes up the file bronze ingested.
    _main(landing, lake)
    assert len(started) == 2  # the run that died, then its rerun
    out = capsys.readouterr().out
    assert "users_2024_part_0002.csv" in out and "balanced" in out
    assert json.loads((lake / lake_state.STATE_FILE).read_text())["tables"] == _versions(lake)
