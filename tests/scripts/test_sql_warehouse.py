"""The SQL runner against the fake Databricks SQL warehouse (no Spark: fixed results), the
error mapping of its HTTP failures to exit codes, and the pure SQL and guard functions."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from c2c_etl.tables import SILVER_USERS
from c2c_ops.errors import Exit
from c2c_ops.maintenance import (
    OVERRIDE_FLAG,
    interval_hours,
    parse_table,
    restore_sql,
    retention_refusal,
    vacuum_sql,
)
from c2c_ops.quality import quarantine_sql
from c2c_ops.sql import WarehouseSqlRunner, decode_value, quote_string
from tests.scripts.fake_databricks import (
    WAREHOUSE_ID,
    FakeDatabricks,
    StubCredential,
    add_sql_warehouse,
)
from tests.scripts.harness import run_cli
from tests.scripts.lakes import catalog, cloud_ops

STATEMENTS = r"/api/2\.0/sql/statements/?"
HISTORY_COLUMNS = [
    ("version", "LONG", "BIGINT"),
    ("timestamp", "TIMESTAMP", "TIMESTAMP"),
    ("operation", "STRING", "STRING"),
    ("operationMetrics", "MAP", "MAP<STRING, STRING>"),
]


def fixed_executor(statement: str):
    """A warehouse with one table, silver.users, at version 1."""
    if statement.startswith("DESCRIBE DETAIL"):
        return [("numFiles", "LONG", "BIGINT")], [["3"]]
    if statement.startswith("DESCRIBE HISTORY"):
        return HISTORY_COLUMNS, [
            ["1", "2026-05-02T10:00:00.000Z", "MERGE", json.dumps({"numTargetRowsUpdated": "7"})],
            ["0", "2026-05-01T10:00:00.000Z", "WRITE", json.dumps({"numFiles": "3"})],
        ]
    raise ValueError(f"[PARSE_SYNTAX_ERROR] unexpected statement {statement}")


@pytest.fixture
def fake():
    with FakeDatabricks() as server:
        yield server


def test_history_reaches_the_warehouse_with_the_bearer_token_and_unity_catalog_names(fake, capsys):
    warehouse = add_sql_warehouse(fake, fixed_executor, pending_polls=2)
    ops = cloud_ops(fake)
    result = run_cli(ops, "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == 0, result.err
    assert "MERGE" in result.out and "numTargetRowsUpdated=7" in result.out
    assert f"DESCRIBE HISTORY {catalog()}.silver.users LIMIT 20" in warehouse.executed()
    # PENDING, then RUNNING twice: the runner polled until the statement ended.
    assert len(fake.calls_to("GET", r"/api/2\.0/sql/statements/[^/]+")) >= 4


def test_results_in_several_chunks_are_all_read(fake):
    add_sql_warehouse(fake, fixed_executor, chunk_rows=1)
    ops = cloud_ops(fake)
    runner = WarehouseSqlRunner(ops.workspace, WAREHOUSE_ID, catalog(), sleep=lambda _: None)
    rows = runner.query("DESCRIBE HISTORY x")
    assert [r["version"] for r in rows] == [1, 0]
    assert rows[0]["timestamp"] == datetime(2026, 5, 2, 10, 0)
    assert rows[0]["operationMetrics"] == {"numTargetRowsUpdated": "7"}
    assert fake.calls_to("GET", r"/api/2\.0/sql/statements/[^/]+/result/chunks/1")


def test_a_failed_statement_exits_1_with_the_warehouse_message(fake, capsys):
    add_sql_warehouse(fake, fixed_executor)
    result = run_cli(cloud_ops(fake), "optimize", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == Exit.FAILED
    assert "PARSE_SYNTAX_ERROR" in result.err and "SQL warehouse wh-test" in result.err


def test_a_missing_table_exits_6(fake, capsys):
    def executor(statement: str):
        raise ValueError("[TABLE_OR_VIEW_NOT_FOUND] The table or view cannot be found.")

    add_sql_warehouse(fake, executor)
    result = run_cli(
        cloud_ops(fake), "history", "gold.agg_user_counts", "--env", "dev", capsys=capsys
    )
    assert result.code == Exit.NOT_FOUND
    assert "gold.agg_user_counts does not exist" in result.err


def test_a_wrong_token_exits_5(fake, capsys):
    add_sql_warehouse(fake, fixed_executor)
    ops = cloud_ops(fake, credential=StubCredential("someone-else"))
    result = run_cli(ops, "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == Exit.AUTH
    assert "Invalid access token" in result.err and "sign in" in result.err


def test_a_workspace_ip_access_list_403_is_named_as_a_network_block(fake, capsys):
    add_sql_warehouse(fake, fixed_executor)
    message = "Source IP address: 203.0.113.7 is blocked by Databricks IP ACL for workspace: 42"
    fake.fail("POST", STATEMENTS, 403,
              body={"error_code": "PERMISSION_DENIED", "message": message})  # fmt: skip
    result = run_cli(cloud_ops(fake), "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == Exit.BLOCKED
    assert "blocked by the Databricks workspace's network rules" in result.err


def test_a_permission_403_is_still_a_sign_in_or_role_problem(fake, capsys):
    add_sql_warehouse(fake, fixed_executor)
    fake.fail("POST", STATEMENTS, 403, body={"error_code": "PERMISSION_DENIED",
              "message": "User does not have CAN_USE on warehouse"})  # fmt: skip
    result = run_cli(cloud_ops(fake), "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == Exit.AUTH


def test_an_unknown_warehouse_exits_6(fake, capsys):
    add_sql_warehouse(fake, fixed_executor)
    ops = cloud_ops(fake)
    ops.warehouse_id = "no-such-warehouse"  # as cli.ops_from_args sets it from --warehouse-id
    result = run_cli(ops, "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == Exit.NOT_FOUND
    assert "Warehouse no-such-warehouse does not exist" in result.err


def test_a_missing_warehouse_id_is_a_usage_error(fake, capsys, monkeypatch):
    add_sql_warehouse(fake, fixed_executor)
    ops = cloud_ops(fake)
    ops.warehouse_id = None
    result = run_cli(ops, "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == Exit.USAGE
    assert "--warehouse-id" in result.err


def test_throttled_once_with_retry_after_then_succeeds(fake, capsys):
    add_sql_warehouse(fake, fixed_executor)
    fake.fail("POST", STATEMENTS, 429, headers={"Retry-After": "3"}, times=1)
    ops = cloud_ops(fake)
    result = run_cli(ops, "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == 0, result.err
    posts = [c.status for c in fake.calls_to("POST", STATEMENTS)]
    assert posts[:2] == [429, 200]
    assert any(s >= 3 for s in ops.clock.sleeps)  # type: ignore[attr-defined]


def test_throttled_forever_exits_8_with_a_clear_message(fake, capsys):
    add_sql_warehouse(fake, fixed_executor)
    fake.fail("POST", STATEMENTS, 429, headers={"Retry-After": "1"}, times=None)
    result = run_cli(cloud_ops(fake), "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == Exit.THROTTLED
    assert "kept throttling" in result.err and "gave up retrying" in result.err
    assert len(fake.calls_to("POST", STATEMENTS)) > 2


def test_a_server_error_forever_exits_9(fake, capsys):
    add_sql_warehouse(fake, fixed_executor)
    fake.fail("POST", STATEMENTS, 500, times=None)
    result = run_cli(cloud_ops(fake), "history", "silver.users", "--env", "dev", capsys=capsys)
    assert result.code == Exit.UNAVAILABLE
    assert "safe to run again" in result.err


def test_an_unknown_table_is_a_usage_error_naming_the_known_ones(tmp_path, capsys):
    from tests.scripts.harness import ops_for

    ops = ops_for("local", lake=tmp_path)
    result = run_cli(ops, "vacuum", "silver.userz", "--env", "local", capsys=capsys)
    assert result.code == Exit.USAGE
    assert "unknown table 'silver.userz'" in result.err and "silver.users" in result.err


def test_local_commands_need_a_lake(capsys):
    from tests.scripts.harness import ops_for

    result = run_cli(ops_for("local"), "history", "silver.users", "--env", "local", capsys=capsys)
    assert result.code == Exit.USAGE and "--lake" in result.err


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("interval 7 days", 168),
        ("interval 1 weeks", 168),
        ("30 days", 720),
        ("interval 1 day 12 hours", 36),
        ("INTERVAL 90 MINUTES", 1.5),
    ],
)
def test_delta_retention_intervals_are_read_in_hours(text, hours):
    assert interval_hours(text) == pytest.approx(hours)


def test_an_unreadable_interval_is_an_error():
    with pytest.raises(ValueError):
        interval_hours("interval 1 fortnight")


def test_the_retention_guard_names_the_retention_and_the_minimum():
    assert retention_refusal(SILVER_USERS, 168, 168, None) is None
    low = retention_refusal(SILVER_USERS, 24, 168, None)
    assert low and "24 hours" in low and "168 hours" in low and OVERRIDE_FLAG in low
    table_own = retention_refusal(SILVER_USERS, 200, 720, "interval 30 days")
    assert table_own and "720 hours" in table_own and "interval 30 days" in table_own


def test_sql_text():
    assert vacuum_sql("t", 168) == "VACUUM t RETAIN 168 HOURS"
    assert vacuum_sql("t", 0.5, dry_run=True) == "VACUUM t RETAIN 0.5 HOURS DRY RUN"
    assert restore_sql("t", version=3) == "RESTORE TABLE t TO VERSION AS OF 3"
    assert restore_sql("t", timestamp="2026-01-01 00:00") == (
        "RESTORE TABLE t TO TIMESTAMP AS OF '2026-01-01 00:00'"
    )
    assert quote_string("it's") == "'it\\'s'"
    assert "IN ('a', 'b')" in quarantine_sql("q", ["a", "b"])
    assert parse_table("gold.agg_report_sums").name == "agg_report_sums"


def test_json_array_values_decode_to_python_values():
    assert decode_value("LONG", "12") == 12
    assert decode_value("BOOLEAN", "false") is False
    assert decode_value("TIMESTAMP", "2026-05-01T10:00:00.000Z") == datetime(2026, 5, 1, 10)
    assert decode_value("STRUCT", '{"numFilesAdded": 1}') == {"numFilesAdded": 1}
    assert decode_value("STRING", None) is None


def _restorable(statement: str):
    if statement.startswith("RESTORE"):
        return [("restored_files_size", "LONG", "BIGINT")], [["10"]]
    return fixed_executor(statement)


def test_restore_in_a_cloud_environment_needs_confirmation(fake, capsys):
    warehouse = add_sql_warehouse(fake, _restorable)
    ops = cloud_ops(fake)
    refused = run_cli(ops, "restore", "silver.users", "--version", "0", "--env", "dev",
                      capsys=capsys)  # fmt: skip
    assert refused.code == Exit.REFUSED and "add --yes" in refused.err
    assert not [s for s in warehouse.executed() if s.startswith("RESTORE")]
    done = run_cli(cloud_ops(fake), "restore", "silver.users", "--version", "0", "--env", "dev",
                   "--yes", capsys=capsys)  # fmt: skip
    assert done.code == Exit.OK, done
    assert [s for s in warehouse.executed() if s.startswith("RESTORE")]


def _thousand_to_vacuum(statement: str):
    if statement.startswith("SHOW TBLPROPERTIES"):
        return [("key", "STRING", "STRING"), ("value", "STRING", "STRING")], []
    if statement.startswith("VACUUM") and statement.endswith("DRY RUN"):
        return [("path", "STRING", "STRING")], [[f"part-{i}.parquet"] for i in range(1000)]
    return fixed_executor(statement)


def test_a_vacuum_dry_run_count_databricks_capped_is_said_to_be_capped(fake, capsys):
    add_sql_warehouse(fake, _thousand_to_vacuum)
    result = run_cli(cloud_ops(fake), "vacuum", "silver.users", "--dry-run", "--env", "dev",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    assert "at least 1000 unreferenced files would be deleted" in result.out
    assert "lists at most 1,000 files" in result.out
