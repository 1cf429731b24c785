"""Bronze ingestion's pieces: listing and hashing the landing files (this module's only file
I/O), choosing what to ingest, and the columns every bronze row carries."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from c2c_etl.sources import SourceKind

CORRUPT_COLUMN = "_corrupt_record"
METADATA_COLUMNS = (
    "_source_file",
    "_source_sha256",
    "_release",
    "_run_id",
    "_ingested_at",
    "_parse_error",
)


@dataclass(frozen=True)
class LandedFile:
    """A file found in the landing area."""

    path: str  # absolute path
    name: str  # path relative to the landing folder: the name lineage columns show
    sha256: str
    size: int


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def list_landing(landing: str | Path) -> list[LandedFile]:
    """Every CSV file under the landing folder (recursively), sorted by relative path.

    Folders whose name starts with ``_`` or ``.`` are not data: ``_rejected/`` holds files an
    operator moved aside (``c2c-ops files reject``), ``_logs/`` Data Factory's skipped-row logs.
    """
    root = Path(landing)
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() == ".csv"
        and not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts[:-1])
    )
    return [
        LandedFile(str(p), str(p.relative_to(root)), sha256_of(p), p.stat().st_size) for p in files
    ]


def select_new(
    files: Iterable[LandedFile], known_sha256: set[str]
) -> tuple[list[LandedFile], list[tuple[LandedFile, LandedFile]]]:
    """Split landing files into new ones and re-deliveries of content seen in this same batch.

    Content already ingested (``known_sha256``) is skipped without a trace: that is a re-run.
    Two files with the same content in one delivery: the first by name is ingested, the other
    is returned with its twin so it can be logged as a duplicate delivery.
    """
    new: list[LandedFile] = []
    duplicates: list[tuple[LandedFile, LandedFile]] = []
    first_by_sha: dict[str, LandedFile] = {}
    for f in files:
        if f.sha256 in known_sha256:
            continue
        if f.sha256 in first_by_sha:
            duplicates.append((f, first_by_sha[f.sha256]))
            continue
        first_by_sha[f.sha256] = f
        new.append(f)
    return new, duplicates


def raw_schema(kind: SourceKind, header: tuple[str, ...]) -> StructType:
    """All-string schema in the file's own column order, plus the corrupt-record column."""
    fields = [StructField(c, StringType()) for c in header]
    return StructType([*fields, StructField(CORRUPT_COLUMN, StringType())])


def parse_error(corrupt: Column, expected_columns: int) -> Column:
    return F.when(
        corrupt.isNotNull(),
        F.format_string(
            "malformed row: expected %d comma-separated fields, found %d",
            F.lit(expected_columns),
            F.size(F.split(corrupt, ",")),
        ),
    )


def add_ingestion_metadata(
    raw: DataFrame, kind: SourceKind, landed: LandedFile, run_id: str, ingested_at: str
) -> DataFrame:
    """Source columns as read, in the kind's canonical order, plus lineage columns."""
    return raw.select(
        *[F.col(c) for c in kind.columns],
        F.col(CORRUPT_COLUMN),
        F.lit(landed.name).alias("_source_file"),
        F.lit(landed.sha256).alias("_source_sha256"),
        F.lit(kind.release).cast("string").alias("_release"),
        F.lit(run_id).alias("_run_id"),
        F.lit(ingested_at).cast("timestamp").alias("_ingested_at"),
        parse_error(F.col(CORRUPT_COLUMN), len(kind.columns)).alias("_parse_error"),
    )
