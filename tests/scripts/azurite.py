"""The Azurite storage emulator (npm ``azurite``, pinned in package.json) for the tests.

It runs on loopback over HTTPS with Azurite's basic OAuth check, so the storage client signs in
with a bearer token exactly as it does against Azure (no account key anywhere). The token is an
unsigned JWT with the claims Azurite checks (audience, issuer, lifetime); Azurite does not
verify signatures. Each start uses a fresh temporary folder and is stopped afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from tests.scripts.tls import Certificate

REPO = Path(__file__).resolve().parents[2]
AZURITE = REPO / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# How long Azurite may take to listen before it counts as hung: generous, as a busy machine
# starts Node.js slowly.
START_TIMEOUT = 180.0


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class StorageTokenCredential:
    """Issues a storage-audience JWT like Entra ID's (unsigned: Azurite's basic check)."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "oid": "00000000-0000-0000-0000-0000000000aa",
        }
        token = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2c-test-signature"
        return AccessToken(token, now + 3600)


@dataclass(frozen=True)
class Azurite:
    blob_url: str  # the account's blob endpoint, path style


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def azurite(folder: Path, certificate: Certificate) -> Iterator[Azurite]:
    """Start Azurite's blob service, wait until it listens, stop it afterwards."""
    if not AZURITE.exists():
        pytest.fail("Azurite is not installed: `make node` installs it from package-lock.json")
    port = _free_port()
    command = [
        str(AZURITE),
        "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--location", str(folder), "--silent", "--skipApiVersionCheck", "--loose",
        "--oauth", "basic", "--cert", str(certificate.cert), "--key", str(certificate.key),
    ]  # fmt: skip
    log = (folder / "azurite.log").open("w")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NODE_NO_WARNINGS": "1"}
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"Azurite exited: {(folder / 'azurite.log').read_text()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"Azurite did not start listening within {START_TIMEOUT:.0f} s")
        yield Azurite(f"https://127.0.0.1:{port}/{ACCOUNT}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
