"""A test hook that kills the process at a named point, to prove the jobs are crash-safe.

The jobs call :func:`crash_point` right before and after each Delta commit, and ``c2c_etl.io``
calls :func:`commit_made` after every commit it makes, so a run can be killed at a named point
(``$C2C_CRASH_AT=silver_users.merge_committed``) or right after its n-th commit, whatever the
pipeline (``$C2C_CRASH_AT=commit:3``): a test can then kill a run after each of its commits in
turn. It does nothing unless ``$C2C_CRASH_AT`` names that very point, so in production it
costs one environment lookup. When it does match, the process SIGKILLs itself: no ``finally``
block, no ``atexit`` handler and no JVM shutdown hook runs, exactly as when a cluster node dies
or an operator kills the job. ``tests/etl/integration/test_crash_safety.py`` (the real pipeline)
and ``test_runner.py`` (a small two-step pipeline, killed after each of its commits) use it.
"""

from __future__ import annotations

import logging
import os
import signal

ENV_VAR = "C2C_CRASH_AT"

log = logging.getLogger(__name__)

# Every point the jobs call, in the order a full run reaches them. A test checks that each is
# really reached; docs/architecture.md, "Crash safety and concurrency", explains what each one
# proves.
POINTS = (
    "bronze.file_committed",  # one file's rows committed, the others not yet
    "bronze.files_committed",  # every file committed, none of them logged yet
    "silver_users.quarantine_committed",  # quarantine written, the MERGE not yet
    "silver_users.merge_committed",  # MERGE committed, the run audit not yet
    "silver_reports.tables_committed",  # report tables replaced, quarantine and audit not yet
    "silver_reports.quarantine_committed",  # quarantine written, the run audit not yet
    "gold.table_committed",  # one gold table rebuilt, the others not yet
    "gold.tables_committed",  # every gold table rebuilt, the run audit not yet
)


def crash_point(name: str) -> None:
    """SIGKILL this process if ``$C2C_CRASH_AT`` is ``name``; otherwise do nothing."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")  # keeps the list above honest
    if os.environ.get(ENV_VAR) == name:
        _kill(name)


COMMIT_PREFIX = "commit:"
_commits = 0


def commit_made() -> None:
    """Count a Delta commit of this process; SIGKILL it if ``$C2C_CRASH_AT`` is
    ``commit:<n>`` and this is the n-th."""
    global _commits
    _commits += 1
    if os.environ.get(ENV_VAR) == f"{COMMIT_PREFIX}{_commits}":
        _kill(f"{COMMIT_PREFIX}{_commits}")


def _kill(point: str) -> None:
    log.warning("%s=%s: killing this process (SIGKILL)", ENV_VAR, point)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os.kill(os.getpid(), signal.SIGKILL)
