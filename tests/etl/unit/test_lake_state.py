"""The recorded state of a local lake, read from its folders alone (no Spark)."""

from __future__ import annotations

from c2c_etl import lake_state
from c2c_etl.bronze.ingest import LandedFile
from c2c_etl.config import local_config
from c2c_etl.jobs.common import StepResult


def _commit(lake, table: str, *names: str) -> None:
    log = lake / table / "_delta_log"
    log.mkdir(parents=True, exist_ok=True)
    for name in names:
        (log / name).write_text("{}")


def test_each_table_is_at_its_highest_numbered_commit(tmp_path):
    _commit(
        tmp_path,
        "silver/users",
        "00000000000000000000.json",
        "00000000000000000011.json",
        "00000000000000000010.checkpoint.parquet",
        "00000000000000000011.crc",
        "_last_checkpoint",
    )
    _commit(tmp_path, "gold/fact_users", "00000000000000000003.json")
    (tmp_path / "gold" / "empty" / "_delta_log").mkdir(parents=True)  # nothing committed yet
    (tmp_path / "dead_letter" / "run-1").mkdir(parents=True)
    assert lake_state.table_versions(str(tmp_path)) == {"gold/fact_users": 3, "silver/users": 11}


def test_only_the_same_files_tables_and_code_count_as_unchanged(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    cfg = local_config(tmp_path / "landing", lake)
    _commit(lake, "bronze/users_2020", "00000000000000000000.json")
    files = [LandedFile("/x/users_2020.csv", "users_2020.csv", "ab" * 32, 10)]
    assert lake_state.unchanged_since_last_run(cfg, files) is None  # nothing recorded
    lake_state.record(cfg, "run-1", files, [])
    assert lake_state.unchanged_since_last_run(cfg, files) == "run-1"

    other = [LandedFile("/x/users_2020.csv", "users_2020.csv", "cd" * 32, 10)]
    assert lake_state.unchanged_since_last_run(cfg, other) is None  # same name, new content
    assert lake_state.unchanged_since_last_run(cfg, [*files, *other]) is None
    _commit(lake, "bronze/users_2020", "00000000000000000001.json")
    assert lake_state.unchanged_since_last_run(cfg, files) is None  # a new commit
    lake_state.record(cfg, "run-2", files, [])
    assert lake_state.unchanged_since_last_run(cfg, files) == "run-2"
    monkeypatch.setattr(lake_state, "code_digest", lambda: "0" * 64)
    assert lake_state.unchanged_since_last_run(cfg, files) is None  # other code
    monkeypatch.undo()
    # Contents the ingestion log knew (bronze's figure), under any name: nothing to do.
    bronze = StepResult("bronze", "succeeded", details={"known_sha256": ["cd" * 32]})
    lake_state.record(cfg, "run-3", files, [bronze])
    renamed = [LandedFile("/y/delivery.csv", "delivery.csv", "cd" * 32, 10)]
    assert lake_state.unchanged_since_last_run(cfg, [*files, *renamed]) == "run-3"
    (lake / lake_state.STATE_FILE).write_text("{not json")
    assert lake_state.unchanged_since_last_run(cfg, files) is None
    assert not list(lake.glob("*.partial"))


def test_a_run_is_the_size_of_its_new_input_and_of_silver_users(tmp_path):
    cfg = local_config(tmp_path / "landing", tmp_path / "lake")
    (tmp_path / "lake").mkdir()
    known = LandedFile("/x/users_2020.csv", "users_2020.csv", "ab" * 32, 10_000_000)
    delivery = LandedFile("/x/day2/users_2020_part_0001.csv", "day2/p.csv", "cd" * 32, 100_000)
    assert lake_state.run_bytes(cfg, [known, delivery]) == 10_100_000  # nothing recorded
    lake_state.record(cfg, "run-1", [known], [])
    assert lake_state.run_bytes(cfg, [known, delivery]) == 100_000
    assert lake_state.run_bytes(cfg, [known]) == 0
    # Silver users' data files count (a delivery's MERGE joins with them), not its log.
    users = tmp_path / "lake" / "silver" / "users"
    (users / "_delta_log").mkdir(parents=True)
    (users / "_delta_log" / "00000000000000000000.checkpoint.parquet").write_bytes(b"x" * 500)
    (users / "part-0.parquet").write_bytes(b"x" * 3000)
    (users / "deletion_vector_1.bin").write_bytes(b"x" * 40)
    assert lake_state.run_bytes(cfg, [known, delivery]) == 103_000
