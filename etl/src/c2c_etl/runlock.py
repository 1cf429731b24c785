"""One run at a time on a local lake: an exclusive lock file in the lake folder.

The lock is ``<lake>/_c2c_run.lock``, held with ``fcntl.flock`` for the life of the run. The
kernel releases a flock when its process ends, however it ends (SIGKILL included), so a dead
run never leaves a stale lock behind and nothing needs a pid check. The file's content names
the holder (run id, pid, host, start time) for the message the second run prints.

In the cloud environments there is no lake folder: the Databricks job is created with
``max_concurrent_runs=1`` (``infra/``), so the workspace itself queues a second run. The lock is
therefore taken only for ``--env local``.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOCK_FILE = "_c2c_run.lock"
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later


class LakeLocked(RuntimeError):
    """Another run holds the lake's lock."""

    def __init__(self, lake: str, holder: str) -> None:
        super().__init__(
            f"the lake {lake} is locked by another run ({holder}); run again when it has "
            "finished, or have this run wait for it: make run WAIT_FOR_LOCK=SECONDS, or "
            "--wait-for-lock SECONDS on the command line"
        )


def _try_lock(handle: IO[str]) -> bool:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    """Who holds the lock, from the lock file. The holder writes it right after locking, so
    an empty file is read again for up to a second."""
    info: dict[str, object] = {}
    for _ in range(10):
        try:
            info = json.loads(path.read_text() or "{}")
        except (OSError, ValueError):
            info = {}
        if info:
            break
        time.sleep(0.1)
    if not info:
        return "holder unknown"
    return (
        f"run {info.get('run_id')}, pid {info.get('pid')} on {info.get('host')}, "
        f"since {info.get('started_at')}"
    )


@contextmanager
def lake_lock(lake_root: str, run_id: str, wait_seconds: float = 0.0) -> Iterator[Path]:
    """Hold the lake's run lock for the ``with`` block.

    Raises :class:`LakeLocked` (naming the holder) when another run holds it, at once or after
    ``wait_seconds`` of polling.
    """
    root = Path(lake_root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    # "a" never truncates: the holder's details stay readable until this run owns the lock.
    handle = path.open("a+", encoding="utf-8")
    try:
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                raise LakeLocked(str(root), _holder(path))
            time.sleep(0.5)
        info = {
            "run_id": run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(info))
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()
