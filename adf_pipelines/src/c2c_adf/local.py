"""Run the factory's pipelines on one machine, from the same serialized objects ADF receives.

Bindings map the cloud to local folders: the source Blob container is a folder, the lake's
``landing`` file system is ``<lake>/landing``, and the Databricks job's tasks run in-process
(``c2c_etl.jobs`` bronze, silver, gold on one local Spark session) with the job parameters the
activity passes, rewritten for ``--env local``. Supported: GetMetadata (childItems, modified-time
window), Filter, ForEach (sequential), Copy (file copy; fault tolerance is not emulated),
DatabricksJob, ExecutePipeline, WebActivity (handed to a callable, by default not sent), Fail;
``dependsOn`` conditions Succeeded, Failed, Skipped, Completed; pipeline parameters; the
expression functions below. Anything else raises :class:`LocalExecutionError`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from c2c_adf.artifacts import documents
from c2c_adf.config import AdfConfig, adf_config
from c2c_adf.expressions import ExpressionError, Literal, Member, Node, parse_expression
from c2c_adf.factory import PL_ORCHESTRATE, Factory, build_factory

JobRunner = Callable[[str, list[str]], None]
WebCaller = Callable[[str, str, Any], dict[str, Any]]


class LocalExecutionError(RuntimeError):
    """An activity type, expression function or object the local executor cannot run."""


@dataclass(frozen=True)
class Bindings:
    """Where the cloud's stores are on this machine, and how jobs and web calls run."""

    source_root: Path
    lake_root: Path
    job_runner: JobRunner
    web_caller: WebCaller = field(default=lambda method, url, body: {"value": ""})


@dataclass
class ActivityRun:
    name: str
    status: str  # Succeeded | Failed | Skipped
    output: Any = None
    error: str = ""


@dataclass
class PipelineRun:
    pipeline: str
    run_id: str
    parameters: dict[str, Any]
    status: str = "InProgress"
    activities: dict[str, ActivityRun] = field(default_factory=dict)
    children: list[PipelineRun] = field(default_factory=list)


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
        source = self._location(activity["inputs"][0], scope)
        sink = self._location(activity["outputs"][0], scope)
        sink.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, sink)
        return {"filesWritten": 1, "dataWritten": sink.stat().st_size, "rowsSkipped": 0}

    def _databricks_job(self, props: dict[str, Any], scope: Scope) -> Any:
        from c2c_etl.entrypoints import JOB_TASKS

        values = resolve(props.get("jobParameters", {}), scope)
        arguments = self.local_arguments(values)
        for task in JOB_TASKS:
            self.bindings.job_runner(task.name, arguments)
        return {"tasks": [t.name for t in JOB_TASKS], "arguments": arguments}

    def local_arguments(self, values: dict[str, Any]) -> list[str]:
        """The job's task arguments for a local run: ``--env local --lake``, no catalog, and the
        landing volume path mapped to the local landing folder."""
        volume = self.cfg.landing_volume
        arguments = ["--env", "local", "--lake", str(self.bindings.lake_root)]
        for name, value in values.items():
            if name in ("env", "catalog"):
                continue
            text = str(value)
            if name == "input" and text.startswith(volume):
                text = str(self.bindings.lake_root / "landing") + text[len(volume) :]
            arguments += [f"--{name.replace('_', '-')}", text]
        return arguments

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
            elif kind == "WebActivity":
                output = self.bindings.web_caller(
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
        scope = Scope(run, self.cfg.factory_name)
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
                    run.activities[activity["name"]] = self._run_activity(activity, scope)
                else:
                    run.activities[activity["name"]] = ActivityRun(activity["name"], "Skipped")
        run.status = "Failed" if self._failed(props["activities"], run) else "Succeeded"
        return run

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


def spark_job_runner(spark: Any, record: list[tuple[Any, Any]] | None = None) -> JobRunner:
    """Run a job task in-process on a local Spark session: the entry point's ``run`` function,
    with the arguments parsed by the same parser the wheel's entry point uses. ``record`` gets
    each task's (run context, step results)."""
    from c2c_etl.entrypoints import JOB_TASKS
    from c2c_etl.jobs.bronze import run as run_bronze
    from c2c_etl.jobs.common import build_parser, context_from_args
    from c2c_etl.jobs.gold import run as run_gold
    from c2c_etl.jobs.silver import run as run_silver

    runs: dict[str, Callable[[Any, Any], object]] = {
        "c2c-bronze": run_bronze,
        "c2c-silver": run_silver,
        "c2c-gold": run_gold,
    }
    tasks = {t.name: t for t in JOB_TASKS}

    def runner(entry_point: str, arguments: list[str]) -> None:
        if entry_point not in runs or entry_point not in tasks:
            raise LocalExecutionError(f"job task {entry_point!r} has no local runner")
        ctx = context_from_args(build_parser(tasks[entry_point].description).parse_args(arguments))
        result = runs[entry_point](spark, ctx)
        if record is not None:
            record.append((ctx, result))

    return runner


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m c2c_adf.local --input <source CSVs> --lake <folder>``: run ``PL_Orchestrate``
    locally (the input folder stands for the source export folder), then print the summary."""
    parser = argparse.ArgumentParser(description="Run the Data Factory pipelines locally")
    parser.add_argument("--input", required=True, type=Path, help="folder of source CSVs")
    parser.add_argument("--lake", required=True, type=Path)
    parser.add_argument("--env", default="dev", help="whose pipeline definitions to run")
    parser.add_argument("--pipeline", default=PL_ORCHESTRATE)
    args = parser.parse_args(argv)
    from c2c_etl.jobs.common import configure_logging
    from c2c_etl.runlock import EXIT_LOCKED, LakeLocked, lake_lock

    configure_logging()
    # One run at a time on a lake, as c2c-pipeline: the job tasks run in-process, so the lock
    # is held here for the whole pipeline run.
    try:
        with lake_lock(str(args.lake.resolve()), f"{args.pipeline} (local executor)"):
            return _run_locally(args)
    except LakeLocked as locked:
        print(locked, file=sys.stderr)
        return EXIT_LOCKED


def _run_locally(args: argparse.Namespace) -> int:
    from c2c_etl.spark import get_spark
    from c2c_etl.summary import format_summary, lake_summary

    source = args.input.resolve()
    cfg = adf_config(args.env).with_deployment(source_folder=source.name)
    start = time.perf_counter()
    spark = get_spark(True, "c2c-adf-local")
    startup = time.perf_counter() - start
    record: list[tuple[Any, Any]] = []
    bindings = Bindings(source.parent, args.lake.resolve(), spark_job_runner(spark, record))
    run = LocalFactory(build_factory(cfg), cfg, bindings).run(args.pipeline)
    total = time.perf_counter() - start
    for name, activity in run.activities.items():
        print(f"{run.pipeline} {name}: {activity.status} {activity.error}".rstrip())
    if run.status != "Succeeded" or not record:
        print(f"{run.pipeline} run {run.run_id}: {run.status}", file=sys.stderr)
        return 1
    results = [
        step for _, result in record for step in (result if isinstance(result, list) else [result])
    ]
    ctx = record[-1][0]
    print(format_summary(ctx, lake_summary(spark, ctx, results), results, startup, total))
    if ctx.cfg.is_local:
        from c2c_reporting.dashboard import write_dashboard

        print(f"Dashboard: {write_dashboard(spark, ctx.cfg)} (open it in a browser; works offline)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
