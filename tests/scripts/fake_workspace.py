"""The Files and Jobs REST calls ``c2c-ops deploy`` makes, served by the fake Databricks workspace.

Files: PUT (``overwrite=false`` answers 409 when the path exists, as Databricks does), GET and
HEAD of ``/api/2.0/fs/files/<path>``. Jobs: ``GET /api/2.2/jobs/get`` and
``POST /api/2.2/jobs/update`` (top-level fields of ``new_settings`` replace the job's). The
stored bytes and job settings are plain dicts a test can read and change.
"""

from __future__ import annotations

import copy
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote

from tests.scripts.fake_databricks import FakeDatabricks, Reply, Request, error

FILES = r"/api/2\.0/fs/files(?P<path>/.+)"


def add_files_api(fake: FakeDatabricks) -> dict[str, bytes]:
    """Serve the Files API; returns the volume's files by path."""
    stored: dict[str, bytes] = {}

    def put(request: Request) -> Reply:
        path = unquote(request.match["path"])  # the SDK escapes e.g. "+" as %2B
        overwrite = request.query.get("overwrite", ["true"])[0].lower() != "false"
        if path in stored and not overwrite:
            return error(409, "ALREADY_EXISTS", f"The file being created already exists: {path}")
        stored[path] = request.body
        return Reply(204)

    def get(request: Request) -> Reply:
        path = unquote(request.match["path"])
        if path not in stored:
            return error(404, "NOT_FOUND", f"The file {path} does not exist")
        headers = {"Last-Modified": formatdate(usegmt=True)}
        return Reply(200, stored[path], headers)

    fake.route("PUT", FILES, put)
    fake.route("GET", FILES, get)
    fake.route("HEAD", FILES, get)
    return stored


def add_jobs_api(
    fake: FakeDatabricks, jobs: dict[int, dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """Serve jobs/get and jobs/update over ``jobs`` (job id -> settings)."""

    def get(request: Request) -> Reply:
        job_id = int(request.query["job_id"][0])
        if job_id not in jobs:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Job {job_id} does not exist.")
        return Reply(200, {"job_id": job_id, "settings": copy.deepcopy(jobs[job_id])})

    def update(request: Request) -> Reply:
        body = request.json()
        job_id = int(body["job_id"])
        if job_id not in jobs:
            return error(404, "RESOURCE_DOES_NOT_EXIST", f"Job {job_id} does not exist.")
        jobs[job_id].update(body.get("new_settings", {}))
        return Reply(200, {})

    fake.route("GET", r"/api/2\.2/jobs/get", get)
    fake.route("POST", r"/api/2\.2/jobs/update", update)
    return jobs
