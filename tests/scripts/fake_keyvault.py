"""A local stand-in for the Key Vault secrets REST API, over HTTPS (stdlib http.server + ssl).

It does what the SDK's challenge-based sign-in expects: a request without a token gets a 401
with ``WWW-Authenticate: Bearer authorization=..., resource=https://vault.azure.net``, and only
``Bearer <TOKEN>`` is accepted after that. It implements set (PUT), list versions (GET) and
update properties (PATCH) of secrets, keeps every version and records the calls. Faults can be
injected per method. It proves nothing about Azure's own validation or access policies.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.scripts.tls import Certificate

TOKEN = "test-vault-token"
CHALLENGE = (
    'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001",'
    ' resource="https://vault.azure.net"'
)


@dataclass
class VaultState:
    url: str = ""
    secrets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str, bool]] = field(default_factory=list)  # method, path, had token
    bodies: list[bytes] = field(default_factory=list)
    faults: dict[str, tuple[int, int]] = field(default_factory=dict)  # method -> (status, times)
    firewall: bool = False  # a 403 fault answers as the vault's firewall does

    def current(self, name: str) -> dict[str, Any]:
        return self.secrets[name][-1]

    def bundle(self, name: str, version: dict[str, Any], with_value: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": f"{self.url}/secrets/{name}/{version['version']}",
            "attributes": {
                "enabled": version["enabled"],
                "created": version["created"],
                "updated": version["updated"],
                "recoveryLevel": "Recoverable+Purgeable",
            },
        }
        if version.get("exp"):
            body["attributes"]["exp"] = version["exp"]
        if version.get("contentType"):
            body["contentType"] = version["contentType"]
        if with_value:
            body["value"] = version["value"]
        return body


def _handler(state: VaultState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path.rstrip("/")
            authorized = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            state.calls.append((self.command, path, authorized))
            state.bodies.append(raw)
            if not authorized:
                error = {"error": {"code": "Unauthorized", "message": "AKV10000: no token"}}
                return self._reply(401, error, {"WWW-Authenticate": CHALLENGE})
            status, times = state.faults.get(self.command, (0, 0))
            if times:
                state.faults[self.command] = (status, times - 1)
                error = {"error": {"code": "Forbidden", "message": "Caller is not authorized"}}
                if state.firewall:
                    # Key Vault's answer to an address its network rules do not allow.
                    error = {
                        "error": {
                            "code": "Forbidden",
                            "message": "Client address is not authorized and caller is not a "
                            "trusted service.\r\nClient address: 203.0.113.7",
                            "innererror": {"code": "ForbiddenByFirewall"},
                        }
                    }
                return self._reply(status, error)
            parts = path.split("/")[1:]  # secrets, name[, versions|version]
            if parts[0] != "secrets" or len(parts) < 2:
                return self._reply(404, {"error": {"code": "BadParameter", "message": path}})
            name = parts[1]
            now = int(time.time())
            if self.command == "PUT" and len(parts) == 2:
                body = json.loads(raw)
                version = {
                    "version": uuid.uuid4().hex,
                    "value": body["value"],
                    "contentType": body.get("contentType"),
                    "enabled": body.get("attributes", {}).get("enabled", True),
                    "exp": body.get("attributes", {}).get("exp"),
                    "created": now + len(state.secrets.get(name, [])),
                    "updated": now,
                }
                state.secrets.setdefault(name, []).append(version)
                return self._reply(200, state.bundle(name, version, with_value=True))
            if name not in state.secrets:
                message = f"A secret with (name/id) {name} was not found in this key vault."
                return self._reply(404, {"error": {"code": "SecretNotFound", "message": message}})
            if self.command == "GET" and len(parts) == 3 and parts[2] == "versions":
                items = [state.bundle(name, v, with_value=False) for v in state.secrets[name]]
                return self._reply(200, {"value": items, "nextLink": None})
            if self.command == "PATCH" and len(parts) == 3:
                version = next(v for v in state.secrets[name] if v["version"] == parts[2])
                attributes = json.loads(raw).get("attributes", {})
                if "enabled" in attributes:
                    version["enabled"] = attributes["enabled"]
                version["updated"] = now
                return self._reply(200, state.bundle(name, version, with_value=False))
            return self._reply(405, {"error": {"code": "MethodNotAllowed", "message": path}})

        do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _handle

    return Handler


@contextmanager
def fake_vault(certificate: Certificate) -> Iterator[VaultState]:
    """A running fake vault over HTTPS; ``state.url`` is its vault URL."""
    state = VaultState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
