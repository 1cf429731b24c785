"""Run the factory's pipelines on one machine, from the same serialized objects ADF receives.

Bindings map the cloud to local folders: the source Blob container is a folder, the lake's
``landing`` file system is ``<lake>/landing``, and the Databricks job's tasks run in-process
(``c2c_etl.jobs`` bronze, silver, gold on one local Spark session) with the job parameters the
activity passes, rewritten for ``--env local``. Supported: GetMetadata (childItems, modified-time
window), Filter, ForEach (sequential), IfCondition, Until (its activities in order, at most
``UNTIL_ROUNDS`` rounds), Wait (not waited), Copy (a file, or a folder's files, recursively, in
the modified-time window, byte for byte; fault tolerance is not emulated), DatabricksJob,
ExecutePipeline, WebActivity (handed to a callable, by default not sent; Power BI's calls and
the Databricks REST API's to two others), SetVariable, Fail;
``dependsOn`` conditions Succeeded, Failed, Skipped, Completed; pipeline parameters and
variables; the
expression functions below. Anything else raises :class:`LocalExecutionError`.

A pipeline that calls Power BI (``PL_RefreshModel``) is not run unless the bindings hand Power
BI's calls to a callable (tests do): there is no Power BI on this machine, and the local
dashboard reads the local gold tables directly. It is marked Succeeded, as ADF marks a
deactivated activity, with one log line saying so, so a local run's outcome is the ingest's and
the transform's.

Likewise a call to the Databricks REST API (the check that gold exists before the refresh) is not
sent unless the bindings hand it to a callable: it is marked Succeeded, as is the activity that
reads its answer (the IfCondition around the refresh), with one log line saying so.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from c2c_adf.artifacts import documents
from c2c_adf.config import AdfConfig, adf_config
from c2c_adf.expressions import ExpressionError, Literal, Member, Node, parse_expression
from c2c_adf.factory import (
    DATABRICKS_RESOURCE,
    PL_ORCHESTRATE,
    POWER_BI_RESOURCE,
    Factory,
    build_factory,
)

log = logging.getLogger("c2c_adf.local")


@dataclass(frozen=True)
class JobRun:
    """One run of the Databricks job as a DatabricksJob activity asks for it, typed: its tasks
    (entry point names, in order), the landing folder on this machine, the run id, and the job
    parameters exactly as the activity sends them to Databricks."""

    tasks: tuple[str, ...]
    input: Path
    run_id: str
    parameters: dict[str, str]


JobRunner = Callable[[JobRun], None]
# An Until's timeout is a duration in ADF; here, a number of rounds that no test needs to reach.
UNTIL_ROUNDS = 100
WebCaller = Callable[[str, str, Any], dict[str, Any]]
NO_DATABRICKS = (
    "there is no Databricks on this machine: gold is not checked in Unity Catalog, and what "
    "depends on the answer (the Power BI refresh) is not run"
)


class LocalExecutionError(RuntimeError):
    """An activity type, expression function or object the local executor cannot run."""


@dataclass(frozen=True)
class Bindings:
    """Where the cloud's stores are on this machine, and how jobs and web calls run."""

    source_root: Path
    lake_root: Path
    job_runner: JobRunner
    web_caller: WebCaller = field(default=lambda method, url, body: {"value": ""})
    # The Power BI REST API's stand-in; None: pipelines that call Power BI are not run.
    power_bi: WebCaller | None = None
    # The Databricks REST API's stand-in; None: its calls, and what reads their answer, are
    # not run.
    databricks: WebCaller | None = None


@dataclass
class ActivityRun:
    name: str
    status: str  # Succeeded | Failed | Skipped
    output: Any = None
    error: str = ""
    # Why the activity was not run on this machine ("" when it was).
    not_run: str = ""


@dataclass
class PipelineRun:
    pipeline: str
    run_id: str
    parameters: dict[str, Any]
    status: str = "InProgress"
    variables: dict[str, Any] = field(default_factory=dict)
    activities: dict[str, ActivityRun] = field(default_factory=dict)
    children: list[PipelineRun] = field(default_factory=list)
    # Why the pipeline was not run on this machine ("" when it was).
    not_run: str = ""


@dataclass
class Scope:
    """What an expression can see."""

    run: PipelineRun
    factory_name: str
    item: Any = None
    dataset: dict[str, Any] = field(default_factory=dict)


def _iso(value: Any) -> datetime:
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": lambda *a: "".join(str(x) for x in a),
    "if": lambda c, a, b: a if c else b,
    "empty": lambda v: v is None or len(v) == 0,
    "equals": lambda a, b: a == b,
    "and": lambda *a: all(a),
    "or": lambda *a: any(a),
    "not": lambda a: not a,
    "greater": lambda a, b: a > b,
    "less": lambda a, b: a < b,
    "coalesce": lambda *a: next((x for x in a if x is not None), None),
    "startswith": lambda s, p: str(s).lower().startswith(str(p).lower()),
    "endswith": lambda s, p: str(s).lower().endswith(str(p).lower()),
    "toLower": lambda s: str(s).lower(),
    "toUpper": lambda s: str(s).upper(),
    "substring": lambda s, start, n=None: (
        str(s)[start:] if n is None else str(s)[start : start + n]
    ),
    "replace": lambda s, old, new: str(s).replace(old, new),
    "length": len,
    "split": lambda s, d: str(s).split(d),
    "last": lambda v: v[-1],
    "first": lambda v: v[0],
    "string": str,
    "int": int,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "utcnow": lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    "addDays": lambda t, n: (_iso(t) + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "addHours": lambda t, n: (_iso(t) + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
}


def evaluate(node: Node, scope: Scope) -> Any:
    """The value of a parsed expression."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Member):
        target = evaluate(node.target, scope)
        key = evaluate(node.key, scope)
        if target is None and node.safe:
            return None
        try:
            return target[key]
        except (KeyError, IndexError, TypeError) as exc:
            if node.safe:  # ADF's ?. : a missing property is null
                return None
            raise LocalExecutionError(f"no property {key!r} in {target!r}") from exc
    args = [evaluate(a, scope) for a in node.args]
    run = scope.run
    if node.name == "pipeline":
        return {
            "RunId": run.run_id,
            "Pipeline": run.pipeline,
            "DataFactory": scope.factory_name,
            "parameters": run.parameters,
        }
    if node.name == "activity":
        done = run.activities.get(args[0])
        if done is None:
            raise LocalExecutionError(f"activity {args[0]!r} has not run")
        return {"output": done.output, "status": done.status, "error": done.error}
    if node.name == "variables":
        if args[0] not in run.variables:
            raise LocalExecutionError(f"variable {args[0]!r} is not declared")
        return run.variables[args[0]]
    if node.name == "item":
        return scope.item
    if node.name == "dataset":
        return scope.dataset
    if node.name in FUNCTIONS:
        return FUNCTIONS[node.name](*args)
    raise LocalExecutionError(f"expression function {node.name!r} is not supported locally")


def resolve(value: Any, scope: Scope) -> Any:
    """A JSON value with its expressions (``@...``, ``@{...}``, typed Expression) evaluated."""
    if isinstance(value, dict):
        if value.get("type") == "Expression" and set(value) == {"type", "value"}:
            return resolve(value["value"], scope)
        return {k: resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    if not isinstance(value, str) or "@" not in value:
        return value
    if value.startswith("@@"):
        return value[1:]
    try:
        if value.startswith("@") and not value.startswith("@{"):
            return evaluate(parse_expression(value[1:]), scope)
        out, pos = [], 0
        while (start := value.find("@{", pos)) != -1:
            end = value.index("}", start)
            out += [
                value[pos:start],
                str(evaluate(parse_expression(value[start + 2 : end]), scope)),
            ]
            pos = end + 1
        return "".join([*out, value[pos:]])
    except ExpressionError as exc:
        raise LocalExecutionError(str(exc)) from exc


class LocalFactory:
    """Executes the pipelines of a :class:`Factory` against local :class:`Bindings`."""

    def __init__(self, factory: Factory, cfg: AdfConfig, bindings: Bindings) -> None:
        self.docs = documents(factory)
        self.cfg = cfg
        self.bindings = bindings

    # -- stores ---------------------------------------------------------------------------------

    def _location(self, reference: dict[str, Any], scope: Scope) -> Path:
        """The local path of a dataset reference (its parameters evaluated in ``scope``)."""
        name = reference["referenceName"]
        doc = self.docs["dataset"].get(name)
        if doc is None:
            raise LocalExecutionError(f"dataset {name!r} is not defined")
        props = doc["properties"]
        params = resolve(reference.get("parameters") or {}, scope)
        inner = Scope(scope.run, scope.factory_name, scope.item, params)
        location = resolve(props["typeProperties"]["location"], inner)
        linked = props["linkedServiceName"]["referenceName"]
        kind = location["type"]
        if kind == "AzureBlobStorageLocation":
            root = self.bindings.source_root
        elif kind == "AzureBlobFSLocation":
            root = self.bindings.lake_root / location["fileSystem"]
        else:
            raise LocalExecutionError(f"dataset location {kind} ({linked}) is not supported")
        path = root / location.get("folderPath", "")
        return path / location["fileName"] if location.get("fileName") else path

    # -- activities -----------------------------------------------------------------------------

    def _get_metadata(self, props: dict[str, Any], scope: Scope) -> Any:
        folder = self._location(props["dataset"], scope)
        settings = resolve(props.get("storeSettings", {}), scope)
        start = _iso(settings.get("modifiedDatetimeStart") or "1970-01-01T00:00:00Z")
        end = _iso(settings.get("modifiedDatetimeEnd") or "9999-12-31T23:59:59Z")
        items = []
        for child in sorted(folder.iterdir()):
            modified = datetime.fromtimestamp(child.stat().st_mtime, UTC)
            if child.is_dir() or start <= modified < end:
                items.append({"name": child.name, "type": "Folder" if child.is_dir() else "File"})
        return {"childItems": items, "itemName": folder.name}

    def _copy(self, activity: dict[str, Any], scope: Scope) -> Any:
        """Copy a file, or a folder's files (recursively when the source says so, those
        modified in its window) keeping their paths below the folder, byte for byte."""
        source = self._location(activity["inputs"][0], scope)
        sink = self._location(activity["outputs"][0], scope)
        if not source.is_dir():
            sink.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, sink)
            return {"filesRead": 1, "filesWritten": 1, "dataWritten": sink.stat().st_size}
        props = activity.get("typeProperties", {})
        settings = resolve(props.get("source", {}).get("storeSettings", {}), scope)
        start = _iso(settings.get("modifiedDatetimeStart") or "1970-01-01T00:00:00Z")
        end = _iso(settings.get("modifiedDatetimeEnd") or "9999-12-31T23:59:59Z")
        found = source.rglob("*") if settings.get("recursive") else source.iterdir()
        # The sink folder exists even when nothing is copied: the job's input is then a
        # delivery of no files, not a missing folder.
        sink.mkdir(parents=True, exist_ok=True)
        written = size = 0
        for path in sorted(found):
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if not path.is_file() or not start <= modified < end:
                continue
            target = sink / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            written, size = written + 1, size + target.stat().st_size
        return {"filesRead": written, "filesWritten": written, "dataWritten": size}

    def _databricks_job(self, props: dict[str, Any], scope: Scope) -> Any:
        from c2c_etl.entrypoints import JOB_TASKS

        values = {k: str(v) for k, v in resolve(props.get("jobParameters", {}), scope).items()}
        job = JobRun(
            tasks=tuple(t.name for t in JOB_TASKS),
            input=self.local_landing(values["input"]),
            run_id=values.get("run_id") or scope.run.run_id,
            parameters=values,
        )
        self.bindings.job_runner(job)
        return {"tasks": list(job.tasks), "jobParameters": values}

    def local_landing(self, path: str) -> Path:
        """The folder on this machine behind a landing volume path of the job's parameters."""
        volume = PurePosixPath(self.cfg.landing_volume)
        try:
            relative = PurePosixPath(path).relative_to(volume)
        except ValueError as error:
            raise LocalExecutionError(
                f"job input {path!r} is not under the landing volume {volume}"
            ) from error
        return self.bindings.lake_root.joinpath("landing", *relative.parts)

    def _run_activity(self, activity: dict[str, Any], scope: Scope) -> ActivityRun:
        name, kind = activity["name"], activity["type"]
        props = activity.get("typeProperties", {})
        try:
            if kind == "GetMetadata":
                output = self._get_metadata(props, scope)
            elif kind == "Filter":
                items = resolve(props["items"], scope)
                output = {
                    "value": [
                        i
                        for i in items
                        if resolve(props["condition"], Scope(scope.run, scope.factory_name, i))
                    ]
                }
            elif kind == "ForEach":
                for item in resolve(props["items"], scope):
                    inner = Scope(scope.run, scope.factory_name, item)
                    for child in props["activities"]:
                        result = self._run_activity(child, inner)
                        scope.run.activities[child["name"]] = result
                        if result.status == "Failed":
                            return ActivityRun(name, "Failed", error=result.error)
                output = {}
            elif kind == "Copy":
                output = self._copy(activity, scope)
            elif kind == "DatabricksJob":
                output = self._databricks_job(props, scope)
            elif kind == "ExecutePipeline":
                child_run = self.run(
                    props["pipeline"]["referenceName"], resolve(props.get("parameters", {}), scope)
                )
                scope.run.children.append(child_run)
                if child_run.status != "Succeeded":
                    return ActivityRun(name, "Failed", error=f"{child_run.pipeline} failed")
                output = {"pipelineRunId": child_run.run_id}
            elif kind == "Until":
                for _ in range(UNTIL_ROUNDS):
                    for child in props["activities"]:
                        result = self._run_activity(child, scope)
                        scope.run.activities[child["name"]] = result
                        if result.status == "Failed":
                            return ActivityRun(name, "Failed", error=result.error)
                    if resolve(props["expression"], scope):
                        break
                else:
                    return ActivityRun(name, "Failed", error=f"not ended in {UNTIL_ROUNDS} rounds")
                output = {}
            elif kind == "Wait":
                output = {}
            elif kind == "SetVariable":
                if props["variableName"] not in scope.run.variables:
                    raise LocalExecutionError(f"variable {props['variableName']!r} is not declared")
                scope.run.variables[props["variableName"]] = resolve(props["value"], scope)
                output = {"value": scope.run.variables[props["variableName"]]}
            elif kind == "IfCondition":
                branch = (
                    "ifTrueActivities"
                    if resolve(props["expression"], scope)
                    else ("ifFalseActivities")
                )
                for child in props.get(branch, []):
                    result = self._run_activity(child, scope)
                    scope.run.activities[child["name"]] = result
                    if result.status == "Failed":
                        return ActivityRun(name, "Failed", error=result.error)
                output = {}
            elif kind == "WebActivity":
                resource = str((props.get("authentication") or {}).get("resource", ""))
                caller = {
                    POWER_BI_RESOURCE: self.bindings.power_bi,
                    DATABRICKS_RESOURCE: self.bindings.databricks,
                }.get(resource, self.bindings.web_caller)
                if caller is None:
                    raise LocalExecutionError(f"{name} calls {resource}, which is not bound here")
                output = caller(
                    props["method"], resolve(props["url"], scope), resolve(props.get("body"), scope)
                )
            elif kind == "Fail":
                return ActivityRun(name, "Failed", error=resolve(props["message"], scope))
            else:
                raise LocalExecutionError(f"activity type {kind} is not supported locally")
        except LocalExecutionError:
            raise
        except Exception as exc:  # an activity failure, as ADF would record it
            return ActivityRun(name, "Failed", error=f"{type(exc).__name__}: {exc}")
        return ActivityRun(name, "Succeeded", output)

    # -- pipelines ------------------------------------------------------------------------------

    def run(self, pipeline: str, parameters: dict[str, Any] | None = None) -> PipelineRun:
        """Run one pipeline to the end and return its run (status, activities, child runs)."""
        doc = self.docs["pipeline"].get(pipeline)
        if doc is None:
            raise LocalExecutionError(f"pipeline {pipeline!r} is not defined")
        props = doc["properties"]
        values = {
            n: spec["defaultValue"]
            for n, spec in props.get("parameters", {}).items()
            if "defaultValue" in spec
        }
        values.update(parameters or {})
        missing = set(props.get("parameters", {})) - set(values)
        if missing:
            raise LocalExecutionError(f"{pipeline} needs parameter(s) {sorted(missing)}")
        run = PipelineRun(pipeline, str(uuid.uuid4()), values)
        if self.bindings.power_bi is None and _calls_power_bi(props["activities"]):
            run.not_run = "there is no Power BI on this machine: no refresh is queued"
            log.info("%s not run: %s", pipeline, run.not_run)
            run.status = "Succeeded"
            return run
        run.variables = {
            n: spec.get("defaultValue") for n, spec in props.get("variables", {}).items()
        }
        scope = Scope(run, self.cfg.factory_name)
        unbound = self._unbound(props["activities"])
        if unbound:
            log.info("%s not run: %s", " and ".join(unbound), NO_DATABRICKS)
        pending = {a["name"]: a for a in props["activities"]}
        while pending:
            ready = [
                a
                for a in pending.values()
                if all(d["activity"] in run.activities for d in a.get("dependsOn", []))
            ]
            if not ready:
                raise LocalExecutionError(f"{pipeline}: dependsOn cycle or unknown activity")
            for activity in ready:
                del pending[activity["name"]]
                if all(self._met(d, run) for d in activity.get("dependsOn", [])):
                    if activity["name"] in unbound:
                        run.activities[activity["name"]] = ActivityRun(
                            activity["name"], "Succeeded", not_run=NO_DATABRICKS
                        )
                        continue
                    run.activities[activity["name"]] = self._run_activity(activity, scope)
                else:
                    run.activities[activity["name"]] = ActivityRun(activity["name"], "Skipped")
        run.status = "Failed" if self._failed(props["activities"], run) else "Succeeded"
        return run

    def _unbound(self, activities: list[dict[str, Any]]) -> list[str]:
        """The Databricks REST calls when no stand-in is bound, then the activities that read
        their answer: none of them is run here."""
        if self.bindings.databricks is not None:
            return []
        names = [
            a["name"]
            for a in activities
            if a["type"] == "WebActivity"
            and (a["typeProperties"].get("authentication") or {}).get("resource")
            == DATABRICKS_RESOURCE
        ]
        for activity in activities:
            reads = json.dumps(activity.get("typeProperties", {}))
            if activity["name"] not in names and any(f"activity('{n}')" in reads for n in names):
                names.append(activity["name"])
        return names

    @staticmethod
    def _met(dependency: dict[str, Any], run: PipelineRun) -> bool:
        status = run.activities[dependency["activity"]].status
        conditions = set(dependency["dependencyConditions"])
        return status in conditions or ("Completed" in conditions and status != "Skipped")

    @staticmethod
    def _failed(activities: list[dict[str, Any]], run: PipelineRun) -> bool:
        """Failed when an activity failed and no activity that ran handled it (ADF's rule for
        the try/catch pattern), or when a Fail activity ran."""
        for activity in activities:
            result = run.activities[activity["name"]]
            if result.status != "Failed":
                continue
            handled = any(
                d["activity"] == activity["name"]
                and {"Failed", "Completed"} & set(d["dependencyConditions"])
                and run.activities[other["name"]].status != "Skipped"
                for other in activities
                for d in other.get("dependsOn", [])
            )
            if activity["type"] == "Fail" or not handled:
                return True
        return False


def _calls_power_bi(activities: list[dict[str, Any]]) -> bool:
    """Whether an activity, or one nested in it, signs in to the Power BI API."""
    for activity in activities:
        props = activity.get("typeProperties", {})
        if (props.get("authentication") or {}).get("resource") == POWER_BI_RESOURCE:
            return True
        nested = [
            *props.get("activities", []),
            *props.get("ifTrueActivities", []),
            *props.get("ifFalseActivities", []),
        ]
        if nested and _calls_power_bi(nested):
            return True
    return False


def etl_job_runner(
    lake_root: Path, spark: Any = None, outcomes: list[Any] | None = None
) -> JobRunner:
    """Run the job's tasks in-process through the ETL's one runner (c2c_etl.runner), on a
    local lake: the same steps a Databricks job run does, on ``spark`` or a local session the
    runner starts. The caller holds the lake's lock. ``outcomes`` gets each run's outcome."""
    from c2c_etl import pipeline, runner
    from c2c_etl.config import local_config

    def run(job: JobRun) -> None:
        unknown = [t for t in job.tasks if t not in pipeline.TASK_STEPS]
        if unknown:
            raise LocalExecutionError(f"job task(s) {unknown} have no steps in c2c_etl.pipeline")
        steps = tuple(s for t in job.tasks for s in pipeline.TASK_STEPS[t])
        request = runner.RunRequest(
            cfg=local_config(job.input, lake_root),
            run_id=job.run_id,
            steps=steps,
            app_name="c2c-adf-local",
        )
        outcome = runner.run(request, spark, lock=False)
        if outcomes is not None:
            outcomes.append(outcome)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m c2c_adf.local --input <source CSVs> --lake <folder>``: run ``PL_Orchestrate``
    locally (the input folder stands for the source export folder), then print the summary.

    Holding the lake's run lock, it first asks the runner whether the input would change
    anything (c2c_etl.runner.unchanged): when not, it says so without copying a file or
    starting Spark. Exit codes: 0 done, 1 a failed activity, 2 a missing input folder, 75 the
    lake locked by another run."""
    parser = argparse.ArgumentParser(description="Run the Data Factory pipelines locally")
    parser.add_argument("--input", required=True, type=Path, help="folder of source CSVs")
    parser.add_argument("--lake", required=True, type=Path)
    parser.add_argument("--env", default="dev", help="whose pipeline definitions to run")
    parser.add_argument("--pipeline", default=PL_ORCHESTRATE)
    parser.add_argument(
        "--wait-for-lock",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run's lock on the lake (default: fail at once)",
    )
    parser.add_argument(
        "--full-check",
        action="store_true",
        help="run the pipeline even when the input, the tables and the code are as the last "
        "successful run left them",
    )
    args = parser.parse_args(argv)
    from c2c_etl import runner
    from c2c_etl.bronze.ingest import list_landing
    from c2c_etl.config import local_config
    from c2c_etl.jobs.common import configure_logging, new_run_id
    from c2c_etl.summary import format_unchanged

    source, lake = args.input.absolute(), args.lake.absolute()
    cfg = local_config(source, lake)
    try:
        runner.check_input(cfg)
    except runner.InputMissing as missing:
        print(f"make run: {missing} (INPUT=<folder of source CSVs>)", file=sys.stderr)
        return runner.EXIT_USAGE
    configure_logging()
    with runner.exclusive(cfg, f"{args.pipeline} (local executor)", args.wait_for_lock):
        start = time.perf_counter()
        last = None if args.full_check else runner.unchanged(cfg, list_landing(source))
        if last is not None:
            ctx = runner.RunContext(cfg, new_run_id())
            print(format_unchanged(ctx, last, time.perf_counter() - start))
            return 0
        return _run_locally(args.env, args.pipeline, source, lake, start)


def _run_locally(env: str, pipeline: str, source: Path, lake: Path, start: float) -> int:
    cfg = adf_config(env).with_deployment(source_folder=source.name)
    outcomes: list[Any] = []
    bindings = Bindings(source.parent, lake, etl_job_runner(lake, outcomes=outcomes))
    run = LocalFactory(build_factory(cfg), cfg, bindings).run(pipeline)
    for name, activity in run.activities.items():
        print(f"{run.pipeline} {name}: {activity.status} {activity.error}".rstrip())
    if run.status != "Succeeded" or not outcomes:
        print(f"{run.pipeline} run {run.run_id}: {run.status}", file=sys.stderr)
        return 1
    outcome = outcomes[-1]
    outcome.total_s = time.perf_counter() - start
    print(outcome.report())
    print(_dashboard(outcome.ctx.cfg))
    return 0


def _dashboard(cfg: Any) -> str:
    """Write the local dashboard and say where it is; on a lake whose tables do not all exist
    yet (no run has brought a usable row), say so instead: its views read them all."""
    from c2c_etl import io
    from c2c_etl.gold.views import SOURCE_TABLES, VIEWS
    from c2c_etl.spark import get_spark
    from c2c_reporting.dashboard import write_dashboard

    spark = get_spark(True, "c2c-adf-local")
    read = {SOURCE_TABLES[name] for view in VIEWS for name in view.table_placeholders()}
    missing = sorted(str(t) for t in read if not io.exists(spark, cfg, t))
    if missing:
        return (
            f"Dashboard: no data yet (the lake has no {', '.join(missing[:3])}"
            f"{' and more' if len(missing) > 3 else ''}: no run has brought a usable row; "
            "see the files above)"
        )
    return f"Dashboard: {write_dashboard(spark, cfg)} (open it in a browser; works offline)"


if __name__ == "__main__":
    raise SystemExit(main())
