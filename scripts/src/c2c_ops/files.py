"""Files in the lake's landing container: list, drop new source files, fetch one to inspect it,
and move a bad file out of the way (to ``_rejected/``) with the reason, before a run reads it.

Nothing is overwritten: a name already taken by different content is a conflict (exit 7), and
the same content again is a no-op, so every command is safe to rerun.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, ContainerClient, ContentSettings
from rich.table import Table

from c2c_adf.config import LANDING_CONTAINER
from c2c_ops.confirm import add_yes, confirm
from c2c_ops.context import Ops
from c2c_ops.errors import Exit, OpsError

REJECTED = "_rejected"
CHUNK = 4 * 1024 * 1024


def landing(ops: Ops) -> ContainerClient:
    return ops.blobs.get_container_client(LANDING_CONTAINER)


def sha256_of_blob(blob: BlobClient) -> str:
    """The recorded sha256 metadata, or the hash of the content when none was recorded."""
    recorded = (blob.get_blob_properties().metadata or {}).get("sha256")
    if recorded:
        return str(recorded)
    digest = hashlib.sha256()
    for chunk in blob.download_blob().chunks():
        digest.update(chunk)
    return digest.hexdigest()


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def upload_file(ops: Ops, path: Path, blob_name: str) -> str:
    """Upload without overwriting; returns "uploaded" or "identical" (already there)."""
    digest = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    for chunk in _file_chunks(path):
        digest.update(chunk)
        md5.update(chunk)
    blob = landing(ops).get_blob_client(blob_name)
    try:
        with path.open("rb") as data:
            blob.upload_blob(
                data,
                overwrite=False,
                metadata={"sha256": digest.hexdigest(), "source": path.name},
                content_settings=ContentSettings(
                    content_type="text/csv", content_md5=bytearray(md5.digest())
                ),
            )
    except ResourceExistsError:
        if sha256_of_blob(blob) == digest.hexdigest():
            return "identical"
        raise OpsError(
            Exit.CONFLICT,
            f"{LANDING_CONTAINER}/{blob_name} already holds a different file; nothing was "
            "overwritten. Rename the new file, or reject the old one first (c2c-ops files reject)",
        ) from None
    return "uploaded"


def handle_list(args: argparse.Namespace, ops: Ops) -> int:
    table = Table(title=f"{ops.blobs.account_name}/{LANDING_CONTAINER}/{args.prefix or ''}")
    for column in ("name", "bytes", "last modified (UTC)", "reason (rejected)"):
        table.add_column(column, overflow="fold")
    count = 0
    for item in landing(ops).list_blobs(name_starts_with=args.prefix, include=["metadata"]):
        count += 1
        table.add_row(
            item.name,
            f"{item.size:,}",
            f"{item.last_modified:%Y-%m-%d %H:%M}" if item.last_modified else "",
            (item.metadata or {}).get("reason", ""),
        )
    ops.console.print(table)
    ops.console.print(f"{count} file(s)")
    return int(Exit.OK)


def handle_upload(args: argparse.Namespace, ops: Ops) -> int:
    for path in args.files:
        if not path.is_file():
            raise OpsError(Exit.USAGE, f"{path} is not a file")
    for path in args.files:
        name = f"{args.folder.strip('/')}/{path.name}"
        outcome = upload_file(ops, path, name)
        ops.console.print(f"{path} -> {LANDING_CONTAINER}/{name}: {outcome}")
    return int(Exit.OK)


def handle_get(args: argparse.Namespace, ops: Ops) -> int:
    blob = landing(ops).get_blob_client(args.blob)
    target: Path = args.to / Path(args.blob).name if args.to.is_dir() else args.to
    with target.open("wb") as f:
        for chunk in blob.download_blob().chunks():
            f.write(chunk)
    ops.console.print(f"{LANDING_CONTAINER}/{args.blob} -> {target}")
    return int(Exit.OK)


def reject(
    ops: Ops,
    blob_name: str,
    reason: str,
    now: datetime | None = None,
    replace: Callable[[str], None] | None = None,
) -> str:
    """Copy the blob to ``_rejected/<date>/<name>`` with the reason, check it, delete the original.

    A copy followed by a delete (not a rename) works on any account, with or without a
    hierarchical namespace; the copy is verified before anything is deleted.
    """
    if blob_name.startswith(f"{REJECTED}/"):
        raise OpsError(Exit.USAGE, f"{blob_name} is already in {REJECTED}/")
    container = landing(ops)
    source = container.get_blob_client(blob_name)
    try:
        properties = source.get_blob_properties()
    except ResourceNotFoundError:
        raise OpsError(
            Exit.NOT_FOUND, f"{LANDING_CONTAINER}/{blob_name} does not exist (c2c-ops files list)"
        ) from None
    now = now or datetime.now(UTC)
    target_name = f"{REJECTED}/{now:%Y-%m-%d}/{blob_name}"
    digest = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        for chunk in source.download_blob().chunks():
            digest.update(chunk)
            yield chunk

    target = container.get_blob_client(target_name)
    if target.exists():
        # A rejection of the same name the same day: replacing it loses that file.
        if replace is None:
            raise OpsError(Exit.CONFLICT, f"{LANDING_CONTAINER}/{target_name} already exists")
        replace(target_name)
    metadata = {
        **(properties.metadata or {}),
        "reason": reason,
        "original": blob_name,
        "rejectedat": f"{now:%Y-%m-%dT%H:%M:%SZ}",
    }
    target.upload_blob(chunks(), overwrite=True, metadata=metadata, length=properties.size)
    copied = target.get_blob_properties()
    if copied.size != properties.size:
        raise OpsError(
            Exit.FAILED,
            f"the copy of {blob_name} has {copied.size} bytes, not {properties.size}; "
            "the original was kept",
        )
    recorded = (properties.metadata or {}).get("sha256")
    if recorded and recorded != digest.hexdigest():
        raise OpsError(Exit.FAILED, f"{blob_name} changed while it was copied; kept")
    source.delete_blob()
    return target_name


def handle_reject(args: argparse.Namespace, ops: Ops) -> int:
    def replace(target_name: str) -> None:
        confirm(args, ops.env, f"{target_name} holds a file rejected earlier today: replace it")

    target = reject(ops, args.blob, args.reason, replace=replace)
    ops.console.print(
        f"{LANDING_CONTAINER}/{args.blob} moved to {LANDING_CONTAINER}/{target} "
        f"(reason: {args.reason}); runs no longer see it"
    )
    return int(Exit.OK)


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    files = subparsers.add_parser("files", help="list, upload, fetch or reject landing files")
    actions = files.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="files in landing")
    listing.add_argument("--prefix", default=None, help="e.g. runs/ or _rejected/")
    listing.set_defaults(handler=handle_list)

    upload = actions.add_parser(
        "upload", parents=[common], help="drop source files in landing (never overwrites)"
    )
    upload.add_argument("files", nargs="+", type=Path)
    upload.add_argument(
        "--folder", default="drops", help="landing folder (drops/ starts PL_Transform)"
    )
    upload.set_defaults(handler=handle_upload)

    get = actions.add_parser("get", parents=[common], help="download one file to inspect it")
    get.add_argument("blob")
    get.add_argument("--to", type=Path, default=Path("."))
    get.set_defaults(handler=handle_get)

    rejecting = actions.add_parser(
        "reject", parents=[common], help="move a bad file to _rejected/ with the reason"
    )
    rejecting.add_argument("blob", help="path in landing, e.g. drops/users.csv")
    rejecting.add_argument("--reason", required=True)
    add_yes(rejecting)
    rejecting.set_defaults(handler=handle_reject)
