"""A local stand-in for the Databricks workspace REST API (stdlib http.server in a thread).

``FakeDatabricks`` is a small server with a route table: each route is a method, a path regex
and a handler ``(request) -> Reply``. It refuses a request without ``Authorization: Bearer
<TOKEN>`` (the token of ``StubCredential``, sent through c2c_ops.context's credentials strategy),
records every call and can inject faults on any route (``fail``: status, headers such as
Retry-After, body, how many times), so the real databricks-sdk (URLs, serialization, retries,
error parsing) runs end to end.

Implemented so far: the SQL Statement Execution API (``add_sql_warehouse``), whose statements
are executed by a callable the test gives, e.g. ``spark_executor`` which runs them on the local
Spark session against local Delta tables. More APIs (Files, Jobs) are added with ``route``.
Like the ADF fake, it does not validate payloads the way Databricks does: a statement accepted
here proves nothing about a SQL warehouse accepting it.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.adf_pipelines.fake_adf import StubCredential as AdfStubCredential

TOKEN = "test-databricks-token"
WAREHOUSE_ID = "wh-test"


class StubCredential(AdfStubCredential):
    """The fake ADF's stub credential, with this workspace's token by default."""

    def __init__(self, token: str = TOKEN) -> None:
        super().__init__(token)


class FastClock:
    """A databricks-sdk Clock whose sleep advances virtual time, so retry loops (Retry-After,
    retry_timeout_seconds) run instantly; pass it as ClientOptions(databricks={"clock": ...})."""

    def __init__(self) -> None:
        import time

        self.now = time.time()
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as is
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, error_code: str, message: str) -> Reply:
    """A Databricks-style error reply (the SDK maps error_code and status to its exceptions)."""
    return Reply(status, {"error_code": error_code, "message": message})


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    reply: Reply
    times: int | None  # None: forever
    hits: int = 0


@dataclass
class Call:
    method: str
    path: str
    body: Any
    status: int


Handler = Callable[[Request], Reply]


class FakeDatabricks:
    """The server: routes, faults, recorded calls. Use as a context manager; ``url`` is the host."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        # The SDK probes this (without a token) when it builds its configuration.
        self.route("GET", r"/\.well-known/databricks-config", self._host_metadata, auth=False)

    # --- set-up -------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        """Serve ``method`` on paths fully matching ``pattern`` (named groups reach the
        handler through ``request.match``)."""
        self.routes.append((method.upper(), re.compile(pattern), handler, auth))

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int | None = 1,
    ) -> Fault:
        """Answer the next ``times`` matching requests (None: all) with this reply instead."""
        reply = Reply(status, body if body is not None else _default_error(status), headers or {})
        fault = Fault(method.upper(), re.compile(pattern), reply, times)
        with self._lock:
            self.faults.append(fault)
        return fault

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        regex = re.compile(pattern)
        return [c for c in self.calls if c.method == method.upper() and regex.fullmatch(c.path)]

    # --- serving ------------------------------------------------------------------------
    def _host_metadata(self, request: Request) -> Reply:
        return Reply(200, {})  # nothing to discover: the SDK keeps the explicit configuration

    def _fault_for(self, method: str, path: str) -> Reply | None:
        with self._lock:
            for fault in self.faults:
                if fault.method != method or not fault.path.fullmatch(path):
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                return fault.reply
        return None

    def dispatch(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Reply:
        split = urlsplit(raw_path)
        path = split.path
        for route_method, pattern, handler, auth in self.routes:
            match = pattern.fullmatch(path)
            if route_method != method or not match:
                continue
            if auth and headers.get("authorization") != f"Bearer {self.token}":
                return error(401, "UNAUTHENTICATED", "Invalid access token.")
            fault = self._fault_for(method, path)
            if fault is not None:
                return fault
            request = Request(method, path, parse_qs(split.query), headers, body, match)
            return handler(request)
        return error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class HTTPHandler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    reply = fake.dispatch(self.command, self.path, headers, body)
                except Exception as exc:  # a bug in a handler: answer 500, do not hang
                    reply = error(500, "INTERNAL_ERROR", f"fake handler failed: {exc!r}")
                try:
                    recorded = json.loads(body) if body else None
                except ValueError:
                    recorded = body
                with fake._lock:
                    fake.calls.append(
                        Call(self.command, urlsplit(self.path).path, recorded, reply.status)
                    )
                data = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else (b"" if reply.body is None else json.dumps(reply.body).encode())
                )
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        return HTTPHandler

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeDatabricks:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _default_error(status: int) -> dict[str, str]:
    codes = {
        400: "INVALID_PARAMETER_VALUE",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "RESOURCE_CONFLICT",
        429: "TOO_MANY_REQUESTS",
        500: "INTERNAL_ERROR",
        503: "TEMPORARILY_UNAVAILABLE",
    }
    return {"error_code": codes.get(status, "UNKNOWN"), "message": f"injected {status}"}


# --- SQL Statement Execution API ----------------------------------------------------------

Column = tuple[str, str, str]  # (name, type_name such as LONG, type_text such as BIGINT)
Result = tuple[list[Column], list[list[str | None]]]
Executor = Callable[[str], Result]
"""Runs one statement: (columns, rows of values already in JSON_ARRAY form: strings or None).
It raises to make the statement FAILED, with the exception's text as the warehouse's message."""


@dataclass
class Statement:
    statement_id: str
    text: str
    warehouse_id: str
    state: str
    columns: list[Column] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    error: str | None = None
    polls_left: int = 0


class SqlWarehouse:
    """The Statement Execution API of one fake workspace: POST /api/2.0/sql/statements,
    GET /api/2.0/sql/statements/{id} and .../result/chunks/{n}.

    Statements run synchronously on POST; ``pending_polls`` makes each report PENDING/RUNNING
    for that many polls first (as a slow warehouse would), ``chunk_rows`` splits results into
    chunks of that many rows.
    """

    def __init__(
        self,
        fake: FakeDatabricks,
        execute: Executor,
        warehouse_ids: tuple[str, ...] = (WAREHOUSE_ID,),
        pending_polls: int = 0,
        chunk_rows: int = 1000,
    ) -> None:
        self.execute = execute
        self.warehouse_ids = set(warehouse_ids)
        self.pending_polls = pending_polls
        self.chunk_rows = chunk_rows
        self.statements: dict[str, Statement] = {}
        base = r"/api/2\.0/sql/statements"
        fake.route("POST", base + "/?", self._submit)
        fake.route("GET", base + r"/(?P<id>[^/]+)", self._get)
        fake.route("GET", base + r"/(?P<id>[^/]+)/result/chunks/(?P<n>\d+)", self._chunk)
        fake.route("POST", base + r"/(?P<id>[^/]+)/cancel", self._cancel)

    def executed(self) -> list[str]:
        """The statements run so far, in order."""
        return [s.text for s in self.statements.values()]

    def _submit(self, request: Request) -> Reply:
        body = request.json() or {}
        warehouse = body.get("warehouse_id")
        if warehouse not in self.warehouse_ids:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Warehouse {warehouse} does not exist.")
        if body.get("format", "JSON_ARRAY") != "JSON_ARRAY" or body.get(
            "disposition", "INLINE"
        ) not in ("INLINE",):
            return error(400, "INVALID_PARAMETER_VALUE", "the fake serves JSON_ARRAY INLINE only")
        statement = Statement(uuid.uuid4().hex, body["statement"], warehouse, "SUCCEEDED")
        try:
            statement.columns, statement.rows = self.execute(body["statement"])
        except Exception as exc:
            statement.state, statement.error = "FAILED", str(exc)
        statement.polls_left = self.pending_polls
        self.statements[statement.statement_id] = statement
        return Reply(200, self._response(statement, poll=False))

    def _get(self, request: Request) -> Reply:
        statement = self.statements.get(request.match["id"])
        if statement is None:
            return error(404, "NOT_FOUND", f"statement {request.match['id']} not found")
        return Reply(200, self._response(statement, poll=True))

    def _cancel(self, request: Request) -> Reply:
        statement = self.statements.get(request.match["id"])
        if statement is not None and statement.polls_left:
            statement.state, statement.polls_left = "CANCELED", 0
        return Reply(200, {})

    def _chunk(self, request: Request) -> Reply:
        statement = self.statements.get(request.match["id"])
        if statement is None or statement.state != "SUCCEEDED" or statement.polls_left:
            return error(404, "NOT_FOUND", "no result for this statement")
        return Reply(200, self._result(statement, int(request.match["n"])))

    def _chunks(self, statement: Statement) -> int:
        return max(1, -(-len(statement.rows) // self.chunk_rows))

    def _result(self, statement: Statement, index: int) -> dict[str, Any]:
        rows = statement.rows[index * self.chunk_rows : (index + 1) * self.chunk_rows]
        result: dict[str, Any] = {
            "chunk_index": index,
            "row_offset": index * self.chunk_rows,
            "row_count": len(rows),
            "data_array": rows,
        }
        if index + 1 < self._chunks(statement):
            result["next_chunk_index"] = index + 1
            result["next_chunk_internal_link"] = (
                f"/api/2.0/sql/statements/{statement.statement_id}/result/chunks/{index + 1}"
            )
        return result

    def _response(self, statement: Statement, poll: bool) -> dict[str, Any]:
        response: dict[str, Any] = {"statement_id": statement.statement_id}
        if statement.polls_left:
            if poll:
                statement.polls_left -= 1
            response["status"] = {"state": "RUNNING" if poll else "PENDING"}
            return response
        if statement.state != "SUCCEEDED":
            status: dict[str, Any] = {"state": statement.state}
            if statement.error is not None:
                status["error"] = {"error_code": "BAD_REQUEST", "message": statement.error}
            response["status"] = status
            return response
        response["status"] = {"state": "SUCCEEDED"}
        response["manifest"] = {
            "format": "JSON_ARRAY",
            "schema": {
                "column_count": len(statement.columns),
                "columns": [
                    {"name": name, "position": i, "type_name": type_name, "type_text": text}
                    for i, (name, type_name, text) in enumerate(statement.columns)
                ],
            },
            "total_chunk_count": self._chunks(statement),
            "total_row_count": len(statement.rows),
            "truncated": False,
        }
        response["result"] = self._result(statement, 0)
        return response


def add_sql_warehouse(fake: FakeDatabricks, execute: Executor, **kwargs: Any) -> SqlWarehouse:
    """Serve the Statement Execution API on ``fake``, running statements with ``execute``."""
    return SqlWarehouse(fake, execute, **kwargs)


# --- running statements on the local Spark session ------------------------------------------

_TYPE_NAMES = {
    "bigint": "LONG",
    "int": "INT",
    "smallint": "SHORT",
    "tinyint": "BYTE",
    "string": "STRING",
    "boolean": "BOOLEAN",
    "double": "DOUBLE",
    "float": "FLOAT",
    "timestamp": "TIMESTAMP",
    "timestamp_ntz": "TIMESTAMP_NTZ",
    "date": "DATE",
    "binary": "BINARY",
}


def _type_name(simple: str) -> str:
    base = re.split(r"[<(]", simple, maxsplit=1)[0]
    if base in ("array", "map", "struct", "decimal"):
        return base.upper()
    return _TYPE_NAMES.get(base, base.upper())


def _plain(value: Any) -> Any:
    """A Spark value as plain JSON data (Rows become objects)."""
    if hasattr(value, "asDict"):
        return {k: _plain(v) for k, v in value.asDict().items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def to_json_array_value(value: Any) -> str | None:
    """One value as the Statement Execution API's JSON_ARRAY format sends it: a string or null
    (complex types as JSON text, timestamps as ISO 8601 in UTC with a Z)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds") + ("" if value.tzinfo else "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple) or hasattr(value, "asDict"):
        return json.dumps(_plain(value))
    return str(value)


def spark_executor(spark: Any, rewrite: Callable[[str], str] = lambda s: s) -> Executor:
    """An executor running each statement (after ``rewrite``) on a local Spark session, e.g. with
    ``rewrite=catalog_to_paths(catalog, lake)`` so Unity Catalog names reach local Delta tables."""

    def execute(statement: str) -> Result:
        df = spark.sql(rewrite(statement))
        columns = [
            (f.name, _type_name(f.dataType.simpleString()), f.dataType.simpleString().upper())
            for f in df.schema.fields
        ]
        rows = [[to_json_array_value(v) for v in row] for row in df.collect()]
        return columns, rows

    return execute


def catalog_to_paths(catalog: str, lake: Any) -> Callable[[str], str]:
    """Rewrite ``<catalog>.<layer>.<table>`` to ``delta.`<lake>/<layer>/<table>``` in SQL text."""
    pattern = re.compile(rf"\b{re.escape(catalog)}\.(\w+)\.(\w+)\b")

    def rewrite(statement: str) -> str:
        return pattern.sub(lambda m: f"delta.`{lake}/{m[1]}/{m[2]}`", statement)

    return rewrite


@contextmanager
def fake_databricks(token: str = TOKEN) -> Iterator[FakeDatabricks]:
    """A running fake workspace (no API routes yet: add them with ``route`` or
    ``add_sql_warehouse``)."""
    with FakeDatabricks(token) as fake:
        yield fake
