"""A local stand-in for the Data Factory REST API (stdlib http.server in a thread).

It implements the calls the deploy command (``c2c_adf.deploy``) and the runbook commands
(``c2c_ops.pipelines``) make: objects PUT/GET/DELETE and list, trigger start/stop, pipeline
createRun (recovery runs included), get/cancel/query pipeline runs and query activity runs. It
keeps state, records every call and refuses a request without the bearer token, so the real SDK
(models, serialization, URLs, pipeline policies, retries, LRO handling) is exercised end to end.

Runs are simulated: a pipeline's ``RunPlan`` lists its activities, and each GET of a run moves
it one step on (an activity stays in progress for ``ticks`` polls, then ends with its outcome).
Faults (status, headers such as Retry-After, how many times) can be injected on any path.

It does not validate payloads the way Azure does: accepting an object here proves nothing about
Azure accepting it, and run timings are synthetic.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

TOKEN = "test-token"
COLLECTIONS = {
    "linkedservices": "linkedService",
    "datasets": "dataset",
    "pipelines": "pipeline",
    "triggers": "trigger",
}
TERMINAL = {"Succeeded", "Failed", "Cancelled"}
IDENTITY_PATH = ["providers", "microsoft.managedidentity", "identities", "default"]
_FACTORY = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.DataFactory/factories/(?P<factory>[^/]+)/(?P<rest>.*)$",
    re.IGNORECASE,
)
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


class StubCredential:
    """A credential that returns a fixed token (no Entra ID involved)."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.token, 4102444800)


class HttpBearerPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Adds the credential's bearer token over plain http; azure-core's bearer policies refuse
    non-TLS URLs, and the local server has no certificate."""

    def __init__(self, credential: StubCredential, scope: str) -> None:
        self.credential, self.scope = credential, scope

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        token = self.credential.get_token(self.scope).token
        request.http_request.headers["Authorization"] = f"Bearer {token}"


@dataclass
class Step:
    """One activity of a simulated run: in progress for ``ticks`` polls, then ``outcome``.

    ``fails`` > 0: the activity fails that many times (across runs) before it succeeds, as a
    transient error would; ``child`` names a pipeline that an ExecutePipeline step runs.
    """

    name: str
    type: str = "DatabricksJob"
    ticks: int = 1
    fails: int = 0
    outcome: str = "Succeeded"
    child: str | None = None


@dataclass
class Fault:
    """Answer ``status`` (with ``headers``) to requests matching ``method`` and ``path``."""

    method: str
    path: str  # a regex searched in the path after the factory
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1  # None: forever
    code: str = "InjectedFault"
    hits: int = 0


@dataclass
class FactoryState:
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in COLLECTIONS.values()}
    )
    trigger_states: dict[str, str] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, kind/name[/action])
    # Simulation: activities per pipeline (none: a run succeeds at once).
    plans: dict[str, list[Step]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    page_size: int = 50
    max_in_flight: int = 0  # runs not ended at once, child runs included
    max_parent_in_flight: int = 0  # the same, top-level runs only
    create_queries: list[dict[str, str]] = field(default_factory=list)
    identity_client_id: str | None = "00000000-0000-0000-0000-00000000adf1"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "GET"]

    def in_flight(self, parents_only: bool = False) -> int:
        return sum(
            run["status"] not in TERMINAL and not (parents_only and run["_parent"])
            for run in self.runs.values()
        )

    def _measure(self) -> None:
        self.max_in_flight = max(self.max_in_flight, self.in_flight())
        self.max_parent_in_flight = max(self.max_parent_in_flight, self.in_flight(True))

    # --- the run simulator ---------------------------------------------------------------
    def start_run(
        self,
        pipeline: str,
        parameters: dict[str, Any],
        *,
        recovery_of: str | None = None,
        parent: tuple[str, str] | None = None,
    ) -> str:
        run_id = str(uuid.uuid4())
        steps = list(self.plans.get(pipeline, []))
        group = run_id
        if recovery_of is not None:
            old = self.runs[recovery_of]
            group, parameters = old["runGroupId"], old["parameters"]
            failed = [
                a["activityName"]
                for a in self.activities[recovery_of]
                if a["status"] in ("Failed", "Cancelled")
            ]
            names = [s.name for s in steps]
            if failed and failed[0] in names:  # start from the failed activity
                steps = steps[names.index(failed[0]) :]
            old["isLatest"] = False
        started = EPOCH + timedelta(minutes=len(self.runs))
        self.runs[run_id] = {
            "runId": run_id,
            "runGroupId": group,
            "isLatest": True,
            "pipelineName": pipeline,
            "parameters": parameters,
            "invokedBy": {"name": "Manual", "invokedByType": "Manual"},
            "runStart": started.isoformat(),
            "lastUpdated": started.isoformat(),
            "status": "InProgress" if steps else "Succeeded",
            "message": "",
            "_steps": steps,
            "_ticks": 0,
            "_parent": parent,
        }
        if not steps:
            self._finish(run_id, "Succeeded")
        self.activities[run_id] = []
        if steps:
            self._begin(run_id, steps[0])
        self._measure()
        return run_id

    def _begin(self, run_id: str, step: Step) -> None:
        run = self.runs[run_id]
        activity: dict[str, Any] = {
            "activityName": step.name,
            "activityType": step.type,
            "activityRunId": str(uuid.uuid4()),
            "pipelineName": run["pipelineName"],
            "pipelineRunId": run_id,
            "status": "InProgress",
            "activityRunStart": run["runStart"],
            "input": {},
            "output": {},
        }
        if step.child:
            child = self.start_run(step.child, run["parameters"], parent=(run_id, step.name))
            activity["output"] = {"pipelineRunId": child, "pipelineName": step.child}
        self.activities[run_id].append(activity)
        run["_ticks"] = 0

    def _finish(self, run_id: str, status: str, message: str = "") -> None:
        run = self.runs[run_id]
        run["status"], run["message"] = status, message
        run["durationInMs"] = 1000 * (1 + sum(1 for _ in self.activities.get(run_id, [])))
        run["runEnd"] = run["runStart"]

    def advance(self, run_id: str) -> None:
        """One poll's worth of progress (children advance with their parent)."""
        run = self.runs[run_id]
        if run["status"] in TERMINAL:
            return
        current = self.activities[run_id][-1]
        step = next(s for s in run["_steps"] if s.name == current["activityName"])
        if step.child:
            child_id = current["output"]["pipelineRunId"]
            self.advance(child_id)
            child = self.runs[child_id]
            if child["status"] not in TERMINAL:
                return
            outcome = child["status"]
        else:
            run["_ticks"] += 1
            if run["_ticks"] < step.ticks:
                return
            outcome = step.outcome
            if step.fails > 0:
                step.fails -= 1
                outcome = "Failed"
        current["status"] = outcome
        current["durationInMs"] = 1000 * step.ticks
        if outcome != "Succeeded":
            current["error"] = {"errorCode": "2011", "message": f"{step.name} failed"}
            self._finish(run_id, "Failed", f"Operation on target {step.name} failed")
            return
        names = [s.name for s in run["_steps"]]
        following = names.index(step.name) + 1
        if following < len(names):
            self._begin(run_id, run["_steps"][following])
        else:
            self._finish(run_id, "Succeeded")

    def cancel(self, run_id: str) -> None:
        run = self.runs[run_id]
        if run["status"] in TERMINAL:
            return
        for activity in self.activities[run_id]:
            child = activity.get("output", {}).get("pipelineRunId")
            if child:
                self.cancel(child)
            if activity["status"] == "InProgress":
                activity["status"] = "Cancelled"
        self._finish(run_id, "Cancelled", "Cancelled by the user")

    def public_run(self, run_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.runs[run_id].items() if not k.startswith("_")}


def _handler(state: FactoryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _reply(
            self, status: int, body: Any = None, headers: dict[str, str] | None = None
        ) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _fault(self, rest: str) -> bool:
            for fault in state.faults:
                if fault.method != self.command or not re.search(fault.path, rest):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                error = {"error": {"code": fault.code, "message": f"injected {fault.status}"}}
                self._reply(fault.status, error, fault.headers)
                return True
            return False

        def _route(self) -> tuple[str, list[str], dict[str, str], dict[str, str]] | None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(
                    401,
                    {"error": {"code": "AuthenticationFailed", "message": "invalid token"}},
                )
                return None
            url = urlsplit(self.path)
            match = _FACTORY.match(url.path)
            if not match:
                self._reply(404, {"error": {"code": "NotFound", "message": self.path}})
                return None
            if self._fault(match["rest"]):
                return None
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            return self.command, match["rest"].split("/"), match.groupdict(), query

        def _resource(self, ids: dict[str, str], collection: str, name: str) -> dict[str, Any]:
            kind = COLLECTIONS[collection.lower()]
            body = dict(state.objects[kind][name])
            props = dict(body["properties"])
            if kind == "trigger":
                props["runtimeState"] = state.trigger_states.get(name, "Stopped")
            return {
                "id": f"/subscriptions/{ids['sub']}/resourceGroups/{ids['rg']}/providers/"
                f"Microsoft.DataFactory/factories/{ids['factory']}/{collection}/{name}",
                "name": name,
                "type": f"Microsoft.DataFactory/factories/{collection}",
                "etag": body["etag"],
                "properties": props,
            }

        def _runs(self, method: str, parts: list[str], payload: Any, query: dict[str, str]):
            """pipelineruns/{id}[/cancel|/queryActivityruns] and queryPipelineRuns."""
            if parts[0].lower() == "querypipelineruns":
                state.calls.append((method, "queryPipelineRuns"))
                return self._query_runs(payload or {})
            run_id = parts[1]
            if run_id not in state.runs:
                state.calls.append((method, f"run/{run_id}"))
                return self._reply(404, {"error": {"code": "NotFound", "message": run_id}})
            action = parts[2] if len(parts) > 2 else ""
            state.calls.append((method, "/".join(["run", run_id, action]).rstrip("/")))
            if method == "GET" and not action:
                state.advance(run_id)
                return self._reply(200, state.public_run(run_id))
            if method == "POST" and action.lower() == "cancel":
                state.cancel(run_id)
                return self._reply(200)
            if method == "POST" and action.lower() == "queryactivityruns":
                return self._reply(200, {"value": state.activities.get(run_id, [])})
            return self._reply(405, {"error": {"code": "MethodNotAllowed"}})

        def _query_runs(self, payload: dict[str, Any]) -> None:
            runs = [state.public_run(r) for r in state.runs if state.runs[r]["_parent"] is None]
            for flt in payload.get("filters") or []:
                key = {"PipelineName": "pipelineName", "Status": "status"}[flt["operand"]]
                runs = [r for r in runs if r[key] in flt["values"]]
            runs.sort(key=lambda r: r["runStart"], reverse=True)
            offset = int(payload.get("continuationToken") or 0)
            page = runs[offset : offset + state.page_size]
            body: dict[str, Any] = {"value": page}
            if offset + state.page_size < len(runs):
                body["continuationToken"] = str(offset + state.page_size)
            return self._reply(200, body)

        def _handle(self) -> None:
            routed = self._route()
            if routed is None:
                return
            method, parts, ids, query = routed
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"null") if length else None
            with state.lock:
                self._dispatch(method, parts, ids, query, payload)
                state._measure()

        def _dispatch(
            self,
            method: str,
            parts: list[str],
            ids: dict[str, str],
            query: dict[str, str],
            payload: Any,
        ) -> None:
            collection = parts[0]
            if [p.lower() for p in parts] == IDENTITY_PATH and method == "GET":
                # The factory's system-assigned identity, as ARM shows it.
                state.calls.append((method, "identity"))
                if state.identity_client_id is None:
                    return self._reply(404, {"error": {"code": "NotFound", "message": "identity"}})
                identity = {"clientId": state.identity_client_id, "principalId": "p-1"}
                return self._reply(200, {"name": "default", "properties": identity})
            if collection.lower() in ("pipelineruns", "querypipelineruns"):
                return self._runs(method, parts, payload, query)
            kind = COLLECTIONS.get(collection.lower())
            if kind is None:
                return self._reply(404, {"error": {"code": "NotFound", "message": collection}})
            objects = state.objects[kind]
            if len(parts) == 1 and method == "GET":
                state.calls.append((method, kind))
                values = [self._resource(ids, collection, n) for n in sorted(objects)]
                return self._reply(200, {"value": values})
            name = parts[1]
            state.calls.append((method, "/".join([kind, *parts[1:]])))
            if len(parts) == 3 and method == "POST":
                action = parts[2]
                if name not in objects:
                    return self._reply(404, {"error": {"code": "NotFound", "message": name}})
                if kind == "trigger" and action in ("start", "stop"):
                    state.trigger_states[name] = "Started" if action == "start" else "Stopped"
                    return self._reply(200)
                if kind == "pipeline" and action == "createRun":
                    state.create_queries.append(query)
                    reference = query.get("referencePipelineRunId")
                    if reference and reference not in state.runs:
                        return self._reply(404, {"error": {"code": "NotFound"}})
                    recovery = reference if query.get("isRecovery") == "true" else None
                    run_id = state.start_run(name, payload or {}, recovery_of=recovery)
                    return self._reply(200, {"runId": run_id})
            if method == "PUT":
                if kind == "trigger" and state.trigger_states.get(name) == "Started":
                    # Azure refuses to update a started trigger.
                    return self._reply(400, {"error": {"code": "TriggerEnabledCannotUpdate"}})
                objects[name] = {"properties": payload["properties"], "etag": uuid.uuid4().hex}
                return self._reply(200, self._resource(ids, collection, name))
            if method == "GET":
                if name not in objects:
                    return self._reply(404, {"error": {"code": "NotFound", "message": name}})
                return self._reply(200, self._resource(ids, collection, name))
            if method == "DELETE":
                existed = objects.pop(name, None) is not None
                state.trigger_states.pop(name, None)
                return self._reply(200 if existed else 204)
            return self._reply(405, {"error": {"code": "MethodNotAllowed"}})

        do_GET = do_PUT = do_POST = do_DELETE = _handle

    return Handler


@contextmanager
def fake_factory() -> Iterator[tuple[str, FactoryState]]:
    """A running fake ADF endpoint: yields its base URL and its state."""
    state = FactoryState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
