"""``c2c-ops run | watch | status | rerun | cancel | backfill`` against the fake Data Factory.

The real azure-mgmt-datafactory client talks HTTP to tests/adf_pipelines/fake_adf.py, which
simulates runs (activities progress one step per poll, child pipelines included). What this
covers: the calls, parameters, polling, display and exit codes. Not covered: Azure's own run
semantics beyond what the fake models (see its docstring).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date

import pytest

from c2c_adf import deploy
from c2c_ops.errors import Exit
from c2c_ops.pipelines import day_windows, rerun_parameters
from tests.adf_pipelines.fake_adf import FactoryState, Fault, Step, StubCredential, fake_factory
from tests.scripts.harness import ops_for, run_cli

CAP = pytest.CaptureFixture[str]


@pytest.fixture
def factory() -> Iterator[tuple[str, FactoryState]]:
    with fake_factory() as (url, state):
        # PL_Orchestrate as factory.py defines it: ingest, transform, then the Power BI
        # refresh, in child pipelines.
        state.plans["PL_Orchestrate"] = [
            Step("EP_Ingest", "ExecutePipeline", child="PL_Ingest"),
            Step("EP_Transform", "ExecutePipeline", child="PL_Transform"),
            Step("WEB_GoldExists", "WebActivity"),
            Step("IF_GoldBuilt", "IfCondition"),
            Step("EP_RefreshModel", "ExecutePipeline", child="PL_RefreshModel"),
        ]
        state.plans["PL_RefreshModel"] = [
            Step("WEB_ListModels", "WebActivity"),
            Step("FLT_Model", "Filter"),
            Step("IF_OneModel", "IfCondition"),
            Step("WEB_RefreshModel", "WebActivity"),
            Step("UNTIL_RefreshEnds", "Until", ticks=2),
            Step("IF_RefreshCompleted", "IfCondition"),
        ]
        state.plans["PL_Ingest"] = [
            Step("GM_ListSourceFiles", "GetMetadata"),
            Step("FE_CopyFiles", "ForEach", ticks=2),
        ]
        state.plans["PL_Transform"] = [Step("DBJ_RunEtl", "DatabricksJob", ticks=3)]
        ops = ops_for(adf_url=url)
        deployed = ops.cfg.with_deployment(
            workspace_url="https://adb-1234567890123456.7.azuredatabricks.net",
            job_id="4242",
            fabric_workspace_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        )
        deploy.deploy(ops.adf, deployed, log=lambda _: None)  # the factory's real pipelines
        state.calls.clear()
        yield url, state


def test_run_follows_every_activity_until_success_and_exits_0(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    ops = ops_for(adf_url=url)
    result = run_cli(ops, "run", "--env", "dev", "-p", "windowStart=2026-11-01T00:00:00Z",
                     "--poll", "0", capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    run = next(r for r in state.runs.values() if r["pipelineName"] == "PL_Orchestrate")
    assert run["parameters"] == {"windowStart": "2026-11-01T00:00:00Z"}
    lines = result.out.splitlines()
    # Each activity is shown as it starts and ends; child pipelines' activities are indented.
    assert any("EP_Ingest (ExecutePipeline): InProgress" in line for line in lines)
    assert any(line.endswith("  DBJ_RunEtl (DatabricksJob): Succeeded 3s") for line in lines)
    assert any("  FE_CopyFiles (ForEach): Succeeded" in line for line in lines)
    assert f"PL_Orchestrate run {run['runId']} Succeeded" in lines[-1]


def test_a_failed_run_exits_1_with_the_error_and_how_to_rerun(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    state.plans["PL_Transform"] = [Step("DBJ_RunEtl", "DatabricksJob", fails=1)]
    result = run_cli(ops_for(adf_url=url), "run", "--env", "dev", "--poll", "0", capsys=capsys)
    assert result.code == Exit.FAILED
    assert "DBJ_RunEtl (DatabricksJob): Failed 1s  DBJ_RunEtl failed" in result.out
    failed = next(r for r in state.runs.values() if r["pipelineName"] == "PL_Orchestrate")
    assert f"c2c-ops rerun --env dev {failed['runId']}" in result.out


def test_rerun_of_orchestrate_reads_the_landing_folder_of_the_failed_run(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    """ADF's recovery run gets a new run id, so it would look at an empty runs/<new id>/; the
    rerun is a new run given the failed run's window and its landing folder instead."""
    url, state = factory
    state.plans["PL_Transform"] = [Step("DBJ_RunEtl", "DatabricksJob", fails=1)]
    assert run_cli(ops_for(adf_url=url), "run", "--env", "dev", "-p", "windowStart=2026-11-01",
                   "--poll", "0", capsys=capsys).code == Exit.FAILED  # fmt: skip
    failed_id = next(r for r, v in state.runs.items() if v["pipelineName"] == "PL_Orchestrate")
    result = run_cli(ops_for(adf_url=url), "rerun", "--env", "dev", failed_id, "--poll", "0",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    assert f"landing/runs/{failed_id}/" in result.out
    (rerun_id,) = [
        r for r, v in state.runs.items()
        if v["pipelineName"] == "PL_Orchestrate" and r != failed_id
    ]  # fmt: skip
    assert state.runs[rerun_id]["parameters"] == {
        "windowStart": "2026-11-01",
        "landingRunId": failed_id,
    }
    # A rerun of the rerun still reads the first run's folder.
    assert rerun_parameters(state.runs[rerun_id]["parameters"], rerun_id)["landingRunId"] == (
        failed_id
    )


def test_rerun_of_another_pipeline_is_adfs_recovery_run_from_the_failed_activity(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    state.plans["PL_Transform"] = [
        Step("DBJ_Prepare", "DatabricksJob"),
        Step("DBJ_RunEtl", "DatabricksJob", fails=1),
    ]
    assert run_cli(ops_for(adf_url=url), "run", "--env", "dev", "PL_Transform",
                   "-p", "inputFolder=drops/x", "--poll", "0",
                   capsys=capsys).code == Exit.FAILED  # fmt: skip
    failed_id = next(iter(state.runs))
    result = run_cli(ops_for(adf_url=url), "rerun", "--env", "dev", failed_id, "--poll", "0",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    assert state.create_queries[-1] == {
        "api-version": "2018-06-01",
        "referencePipelineRunId": failed_id,
        "isRecovery": "true",
        "startFromFailure": "true",
    }
    (recovery,) = [r for r in state.runs if r != failed_id]
    # The recovery run starts at the failed activity, with the original parameters.
    assert [a["activityName"] for a in state.activities[recovery]] == ["DBJ_RunEtl"]
    assert state.runs[recovery]["parameters"] == {"inputFolder": "drops/x"}
    assert state.runs[recovery]["runGroupId"] == state.runs[failed_id]["runGroupId"]


def test_rerun_refuses_a_run_that_did_not_fail(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    state.plans.clear()
    run_cli(ops_for(adf_url=url), "run", "--env", "dev", "--poll", "0", capsys=capsys)
    run_id = next(iter(state.runs))
    result = run_cli(ops_for(adf_url=url), "rerun", "--env", "dev", run_id, capsys=capsys)
    assert result.code == Exit.REFUSED
    assert "is Succeeded: only a failed run can be rerun" in result.err
    assert len(state.runs) == 1


def test_a_cancelled_run_exits_3(factory: tuple[str, FactoryState], capsys: CAP) -> None:
    url, state = factory
    ops = ops_for(adf_url=url)
    assert run_cli(ops, "run", "--env", "dev", "--no-wait", capsys=capsys).code == Exit.OK
    run_id = next(r for r, v in state.runs.items() if v["pipelineName"] == "PL_Orchestrate")
    refused = run_cli(ops, "cancel", "--env", "dev", run_id, capsys=capsys)
    assert refused.code == Exit.REFUSED and "add --yes" in refused.err
    assert run_cli(ops, "cancel", "--env", "dev", run_id, "--yes", capsys=capsys).code == Exit.OK
    result = run_cli(ops_for(adf_url=url), "watch", "--env", "dev", run_id, capsys=capsys)
    assert result.code == Exit.CANCELLED
    # Cancelling the parent cancelled the child pipeline's run too.
    assert {v["status"] for v in state.runs.values()} == {"Cancelled"}


def test_following_stops_at_the_timeout_with_exit_4_and_the_run_goes_on(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    state.plans["PL_Transform"] = [Step("DBJ_RunEtl", ticks=10_000)]
    result = run_cli(ops_for(adf_url=url), "run", "--env", "dev", "--timeout", "0",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.TIMED_OUT
    assert "it goes on. Follow it with: c2c-ops watch --env dev" in result.err
    assert "Cancelled" not in {v["status"] for v in state.runs.values()}


def test_status_lists_recent_runs_newest_first_across_pages(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    state.plans.clear()
    state.page_size = 2  # the client must follow continuation tokens
    ops = ops_for(adf_url=url)
    for _ in range(5):
        run_cli(ops, "run", "--env", "dev", "--no-wait", capsys=capsys)
    result = run_cli(ops_for(adf_url=url), "status", "--env", "dev", capsys=capsys)
    assert result.code == Exit.OK
    ids = list(state.runs)
    positions = [result.out.index(run_id) for run_id in ids]
    assert positions == sorted(positions, reverse=True)  # newest first, all five
    assert result.out.count("Succeeded") == 5


def test_status_filters_by_pipeline_and_status(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    state.plans = {"PL_Transform": [Step("DBJ_RunEtl", fails=1)]}
    ops = ops_for(adf_url=url)
    run_cli(ops, "run", "--env", "dev", "PL_Transform", "--poll", "0", capsys=capsys)
    run_cli(ops, "run", "--env", "dev", "PL_Ingest", "--poll", "0", capsys=capsys)
    result = run_cli(ops_for(adf_url=url), "status", "--env", "dev", "--status", "Failed",
                     capsys=capsys)  # fmt: skip
    assert "PL_Transform" in result.out and "PL_Ingest" not in result.out


def test_day_windows_cover_the_range_without_gaps() -> None:
    windows = day_windows(date(2026, 2, 27), date(2026, 3, 1), hours=12)
    assert len(windows) == 6
    assert windows[0].parameters() == {
        "windowStart": "2026-02-27T00:00:00Z",
        "windowEnd": "2026-02-27T12:00:00Z",
    }
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert windows[-1].parameters()["windowEnd"] == "2026-03-02T00:00:00Z"


def test_backfill_runs_every_window_with_at_most_n_in_flight(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    result = run_cli(ops_for(adf_url=url), "backfill", "--env", "dev", "--from", "2026-11-01",
                     "--to", "2026-11-07", "--parallel", "3", "--poll", "0",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    parents = [v for v in state.runs.values() if v["pipelineName"] == "PL_Orchestrate"]
    starts = sorted(v["parameters"]["windowStart"] for v in parents)
    assert starts == [f"2026-11-0{d}T00:00:00Z" for d in range(1, 8)]
    assert all(v["status"] == "Succeeded" for v in parents)
    # Bounded: never more than 3 orchestrations at once (their child runs are not counted).
    assert state.max_parent_in_flight == 3


def test_backfill_reports_the_failed_windows_and_exits_1(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    state.plans["PL_Transform"] = [Step("DBJ_RunEtl", fails=1)]
    result = run_cli(ops_for(adf_url=url), "backfill", "--env", "dev", "--from", "2026-11-01",
                     "--to", "2026-11-03", "--parallel", "1", "--poll", "0",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.FAILED
    failed = [v for v in state.runs.values()
              if v["pipelineName"] == "PL_Orchestrate" and v["status"] == "Failed"]  # fmt: skip
    assert len(failed) == 1
    assert f"rerun: c2c-ops rerun --env dev {failed[0]['runId']}" in result.out


def test_backfill_dry_run_starts_nothing(factory: tuple[str, FactoryState], capsys: CAP) -> None:
    url, state = factory
    result = run_cli(ops_for(adf_url=url), "backfill", "--env", "dev", "--from", "2026-11-01",
                     "--to", "2026-11-02", "--dry-run", capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK and state.runs == {}
    assert result.out.count("would run PL_Orchestrate") == 2


# --- errors from Azure ---------------------------------------------------------------------
def test_a_rejected_token_exits_5_with_a_sign_in_hint(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, _ = factory
    ops = ops_for(adf_url=url, credential=StubCredential("expired-token"))
    result = run_cli(ops, "status", "--env", "dev", capsys=capsys)
    assert result.code == Exit.AUTH
    assert "401" in result.err and "AuthenticationFailed" in result.err
    assert "az login" in result.err


def test_an_unknown_run_exits_6(factory: tuple[str, FactoryState], capsys: CAP) -> None:
    url, _ = factory
    result = run_cli(ops_for(adf_url=url), "watch", "--env", "dev", "no-such-run",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.NOT_FOUND
    assert "404" in result.err


def test_a_conflict_exits_7(factory: tuple[str, FactoryState], capsys: CAP) -> None:
    url, state = factory
    state.faults.append(Fault("POST", r"createRun", 409, code="PipelineRunConflict"))
    result = run_cli(ops_for(adf_url=url), "run", "--env", "dev", capsys=capsys)
    assert result.code == Exit.CONFLICT
    assert "409 PipelineRunConflict" in result.err


def test_throttling_is_retried_after_the_retry_after_delay(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    fault = Fault("POST", r"queryPipelineRuns", 429, {"Retry-After": "1"}, times=1)
    state.faults.append(fault)
    import time

    start = time.monotonic()
    result = run_cli(ops_for(adf_url=url), "status", "--env", "dev", capsys=capsys)
    assert result.code == Exit.OK and fault.hits == 1
    assert time.monotonic() - start >= 1.0  # the SDK waited as told


def test_throttling_that_outlasts_the_retries_exits_8(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    fault = Fault("POST", r"queryPipelineRuns", 429, {"Retry-After": "0"}, times=None)
    state.faults.append(fault)
    result = run_cli(ops_for(adf_url=url, retries=2), "status", "--env", "dev", capsys=capsys)
    assert result.code == Exit.THROTTLED
    assert fault.hits == 3  # the first call and two retries
    assert "429" in result.err and "run the command again later" in result.err


def test_server_errors_that_outlast_the_retries_exit_9(
    factory: tuple[str, FactoryState], capsys: CAP
) -> None:
    url, state = factory
    state.faults.append(Fault("POST", r"queryPipelineRuns", 503, times=None))
    result = run_cli(ops_for(adf_url=url, retries=1), "status", "--env", "dev", capsys=capsys)
    assert result.code == Exit.UNAVAILABLE
    assert "503" in result.err and "safe to run again" in result.err


def test_data_factory_commands_refuse_the_local_env(capsys: CAP) -> None:
    result = run_cli(ops_for("local"), "status", "--env", "local", capsys=capsys)
    assert result.code == Exit.USAGE
    assert "make run" in result.err
