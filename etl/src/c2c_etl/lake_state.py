"""A local rerun that would change nothing, recognised without starting Spark.

A successful run leaves nothing pending: bronze has logged every landing file, silver has
processed every ingested file and gold is built from the current silver versions. So a run
that finds the same landing files (by content hash), the same commit version of every table
and the same code would only read the lake to find nothing to do: 16 s beyond Spark start-up
on the 10M-user lake, most of it the session's first Delta queries (README, Performance).

After each successful run of ``c2c-pipeline`` (env local), :func:`record` writes what the run
left behind to ``<lake>/_c2c_last_run.json``: the package's code digest, the landing folder
and its files' hashes, and each Delta table's newest commit version (the highest numbered
commit file of its ``_delta_log``). The next run compares (:func:`unchanged_since_last_run`)
before Spark starts. Any difference sends it the whole way: a new, changed or removed file,
any commit to any table (a failed run's, an operator's OPTIMIZE, DELETE or RESTORE), an
edited or upgraded ``c2c_etl``, a missing or unreadable state file. The file holds no secret
and no data, only names, hashes and version numbers, so an operator can read why a run did
or did not start Spark.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from c2c_etl.bronze.ingest import LandedFile
from c2c_etl.config import LakeConfig

STATE_FILE = "_c2c_last_run.json"
COMMIT_FILE = re.compile(r"^(\d{20})\.json$")


def code_digest() -> str:
    """SHA-256 of the installed ``c2c_etl`` package's Python files (names and contents): an
    edit in a development install changes it as surely as a new release does."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def table_versions(lake_root: str) -> dict[str, int]:
    """``layer/table`` -> newest commit version, for every Delta table under the lake."""
    versions = {}
    for log in sorted(Path(lake_root).glob("*/*/_delta_log")):
        numbers = [int(m.group(1)) for p in log.iterdir() if (m := COMMIT_FILE.match(p.name))]
        if numbers:
            versions[f"{log.parent.parent.name}/{log.parent.name}"] = max(numbers)
    return versions


def lake_state(cfg: LakeConfig, landed: list[LandedFile]) -> dict[str, Any]:
    """What a run's outcome depends on, besides the Spark configuration: the code, the landing
    files and the lake's tables."""
    return {
        "code": code_digest(),
        "landing": cfg.landing_path,
        "files": sorted([f.name, f.sha256] for f in landed),
        "tables": table_versions(str(cfg.lake_root)),
    }


def _recorded(cfg: LakeConfig) -> dict[str, Any] | None:
    try:
        recorded = json.loads((Path(str(cfg.lake_root)) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def unchanged_since_last_run(cfg: LakeConfig, landed: list[LandedFile]) -> str | None:
    """The run id of the last successful run when the lake, the landing files and the code are
    exactly as it left them (a run now would change nothing), else None."""
    recorded = _recorded(cfg)
    if recorded is None or recorded.get("state") != lake_state(cfg, landed):
        return None
    return str(recorded.get("run_id"))


def record(cfg: LakeConfig, run_id: str, landed: list[LandedFile]) -> None:
    """Write what a successful run left behind (``landed``: the files its bronze step saw).
    Written to a temporary file and renamed, so a reader never sees half of it."""
    path = Path(str(cfg.lake_root)) / STATE_FILE
    content = {
        "run_id": run_id,
        "recorded_at": datetime.now(UTC).isoformat(),
        "state": lake_state(cfg, landed),
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(content, indent=1))
    partial.replace(path)
