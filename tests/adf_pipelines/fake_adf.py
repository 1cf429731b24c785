"""A local stand-in for the Data Factory REST API (stdlib http.server in a thread).

It implements only the calls the deploy command makes: objects PUT/GET/DELETE and list, trigger
start/stop, pipeline createRun and get run. It keeps state and records every call, and it
refuses a request without the bearer token, so the real SDK (models, serialization, URLs,
pipeline policies, LRO handling) is exercised end to end. It does not validate payloads the way
Azure does: accepting an object here proves nothing about Azure accepting it.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
_FACTORY = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.DataFactory/factories/(?P<factory>[^/]+)/(?P<rest>.*)$",
    re.IGNORECASE,
)


class StubCredential:
    """A credential that returns a fixed token (no Entra ID involved)."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(TOKEN, 4102444800)


class HttpBearerPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Adds the credential's bearer token over plain http; azure-core's bearer policies refuse
    non-TLS URLs, and the local server has no certificate."""

    def __init__(self, credential: StubCredential, scope: str) -> None:
        self.credential, self.scope = credential, scope

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        token = self.credential.get_token(self.scope).token
        request.http_request.headers["Authorization"] = f"Bearer {token}"


@dataclass
class FactoryState:
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in COLLECTIONS.values()}
    )
    trigger_states: dict[str, str] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, kind/name[/action])

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] != "GET"]


def _handler(state: FactoryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _reply(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self) -> tuple[str, list[str], dict[str, str]] | None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(401, {"error": {"code": "AuthenticationFailed", "message": "token"}})
                return None
            match = _FACTORY.match(self.path.split("?")[0])
            if not match:
                self._reply(404, {"error": {"code": "NotFound", "message": self.path}})
                return None
            return self.command, match["rest"].split("/"), match.groupdict()

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

        def _handle(self) -> None:
            routed = self._route()
            if routed is None:
                return
            method, parts, ids = routed
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"null") if length else None
            collection = parts[0]
            kind = COLLECTIONS.get(collection.lower())
            if collection.lower() == "pipelineruns" and method == "GET":
                state.calls.append((method, f"run/{parts[1]}"))
                run = state.runs.get(parts[1])
                return self._reply(200 if run else 404, run or {"error": {"code": "NotFound"}})
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
                    run_id = str(uuid.uuid4())
                    state.runs[run_id] = {
                        "runId": run_id,
                        "pipelineName": name,
                        "parameters": payload or {},
                        "status": "Succeeded",
                    }
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
