"""A local rerun that would change nothing, recognised without starting Spark.

A successful run leaves nothing pending: bronze has logged every input file, silver has
processed every ingested file and gold is built from the current silver versions. So a run
whose input files are all contents the lake already knows, on tables no one has committed to
since, with the same code, would only start Spark to find nothing to do.

After each successful whole-pipeline run (env local), :func:`record` writes what the run left
behind to ``<lake>/_c2c_last_run.json``: the package's code digest, the content hashes the
ingestion log knows (as bronze read and extended it) and each Delta table's newest commit
version (the highest numbered commit file of its ``_delta_log``). The next run compares
(:func:`unchanged_since_last_run`) before Spark starts. Any difference sends it the whole way: a
file with new content, any commit to any table (a failed run's, an operator's OPTIMIZE, DELETE
or RESTORE), an edited or upgraded ``c2c_etl``, a missing or unreadable state file. Names and
folders do not matter: bronze identifies a file by its content, so the same files copied to a
new landing folder (each Data Factory run has its own) change nothing. The file holds no secret
and no data, only hashes and version numbers, so an operator can read why a run did or did not
start Spark.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from c2c_etl import tables
from c2c_etl.bronze.ingest import LandedFile
from c2c_etl.config import LakeConfig
from c2c_etl.jobs.common import StepResult

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


def _recorded(cfg: LakeConfig) -> dict[str, Any] | None:
    try:
        recorded = json.loads((Path(str(cfg.lake_root)) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def unchanged_since_last_run(cfg: LakeConfig, files: Sequence[LandedFile]) -> str | None:
    """The run id of the last successful run when the code and every table are as it left
    them and every one of ``files`` holds content the lake already knows (a run now would
    change nothing), else None."""
    recorded = _recorded(cfg)
    if recorded is None or not isinstance(recorded.get("known_sha256"), list):
        return None
    if recorded.get("code") != code_digest():
        return None
    if recorded.get("tables") != table_versions(str(cfg.lake_root)):
        return None
    known = set(recorded["known_sha256"])
    if any(f.sha256 not in known for f in files):
        return None
    return str(recorded.get("run_id"))


def run_bytes(cfg: LakeConfig, files: Sequence[LandedFile]) -> int:
    """How big a run of ``files`` is, in bytes: those of its files whose content the last
    successful run did not know (all of them when no run has recorded its state), and the data
    files of silver users, which a delivery's MERGE joins with whatever its size."""
    recorded = _recorded(cfg)
    known = recorded.get("known_sha256") if recorded else None
    known = set(known) if isinstance(known, list) else set()
    new = sum(f.size for f in files if f.sha256 not in known)
    silver = cfg.table_path(tables.SILVER_USERS.layer, tables.SILVER_USERS.name)
    return new + data_bytes(silver)


def data_bytes(table_folder: str | Path) -> int:
    """The bytes of a local Delta table's Parquet data files (not its log); 0 for no table."""
    data = Path(table_folder).rglob("*.parquet")
    return sum(p.stat().st_size for p in data if "_delta_log" not in p.parts)


def record(
    cfg: LakeConfig, run_id: str, files: Sequence[LandedFile], results: Sequence[StepResult]
) -> None:
    """Write what a successful whole run left behind: the contents the ingestion log knows
    (bronze's figure, else the run's ``files``), the code and the tables' versions. Written to
    a temporary file and renamed, so a reader never sees half of it."""
    known: set[str] = {f.sha256 for f in files}
    for r in results:
        known.update(r.details.get("known_sha256", ()))
    path = Path(str(cfg.lake_root)) / STATE_FILE
    content = {
        "run_id": run_id,
        "recorded_at": datetime.now(UTC).isoformat(),
        "code": code_digest(),
        "tables": table_versions(str(cfg.lake_root)),
        "known_sha256": sorted(known),
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(content, indent=1))
    partial.replace(path)
